#!/bin/bash
# Runs inside the test container booted by test-readme-service.sh (PID 1 is systemd): the build
# is installed as `make install` put it (/usr/local bound from the host's staging directory, its
# /etc copied), then README.md's "Running as a service" blocks run as written, with only a
# drop-in that points the daemon at the emulator added. Checks that the service ends up active and
# enforcing, that a bad reload fails and leaves the old config running, that a manual --once next
# to the service is refused and a restart afterwards works, and that each mistake an operator
# makes is reported. Stops at the first failure.
# shellcheck disable=SC2016 # wait_for evals its condition later
set -u

CONF=/etc/keyrevoke
FLEET=/kr/run/fleet.json
# shellcheck source=tests/integration/nspawn/lib.sh
. /kr/tests/integration/nspawn/lib.sh

# readme_block NAME: the command lines of README.md's code block marked <!-- NAME -->.
readme_block() {
        sed -n "/^<!-- $1 -->\$/,/^\`\`\`\$/p" /kr/README.md | sed '1,2d;$d'
}

# show_fail FILE MESSAGE: prints FILE (a command's output), then fails with MESSAGE.
show_fail() {
        cat "$1"
        fail "$2"
}

run_block() {
        local lines
        lines=$(readme_block "$1")
        [ -n "$lines" ] || fail "README.md has no block <!-- $1 -->"
        bash -euc "$lines" >"$OUT/$1.out" 2>&1 || show_fail "$OUT/$1.out" "README block $1 failed"
}

# check_config_says TEXT [STATUS]: keyrevoked --check-config exits STATUS (default 1) and says TEXT.
check_config_says() {
        local rc=0
        keyrevoked --check-config >"$OUT/check.out" 2>&1 || rc=$?
        [ "$rc" = "${2:-1}" ] || show_fail "$OUT/check.out" "--check-config exit status $rc for: $1"
        grep -qF -- "$1" "$OUT/check.out" || show_fail "$OUT/check.out" "--check-config does not say: $1"
}

with_dropin() { # NAME TEXT
        printf '%b' "$2" >"$CONF/keyrevoke.conf.d/$1"
}

install_package() {
        cp -a /kr/stage/etc/. /etc/
        [ -x /usr/local/sbin/keyrevoked ] || fail "no /usr/local/sbin/keyrevoked from make install"
        run_block service-install
        getent passwd keyrevoke >/dev/null || fail "no keyrevoke user"
        [ "$(stat -c '%U %a' $CONF/revoked.d)" = "root 755" ] || fail "$CONF/revoked.d not root-owned 0755"
        [ "$(stat -c '%U %a' $CONF/credentials)" = "root 600" ] || fail "credentials not root-owned 0600"
        pass "README step 1 (users, directories, credentials) runs as written after make install"
}

point_at_emulator() {
        install -m 0644 /kr/run/ca/ca.pem $CONF/ca.pem
        with_dropin 40-emulator.conf \
                "[Cloud]\nEndpoint=https://127.0.0.1:$(cat /run/kr/port)\nCAFile=$CONF/ca.pem\n"
}

check_mistakes() {
        check_config_says "[Reboot] Enabled=yes and no Window=: detached instances are queued but never" 0
        with_dropin 45-typo.conf '[Cloud]\nRegions=cn-hangzhuo\n'
        check_config_says "region 'cn-hangzhuo' does not exist; did you mean cn-hangzhou?"
        rm $CONF/keyrevoke.conf.d/45-typo.conf
        drop_list typo.list 'kp-zed region=cn-shangai'
        check_config_says \
                "$CONF/revoked.d/typo.list:1: region 'cn-shangai' does not exist; did you mean cn-shanghai?"
        rm $CONF/revoked.d/typo.list
        install -m 0644 /kr/run/ca/ca.pem /root/ca.pem
        with_dropin 45-cafile.conf '[Cloud]\nCAFile=/root/ca.pem\n'
        check_config_says \
                "CAFile=/root/ca.pem: the service cannot see it: keyrevoked.service's sandbox hides /root (ProtectHome=yes)"
        rm $CONF/keyrevoke.conf.d/45-cafile.conf
        chmod 0644 $CONF/credentials
        check_config_says "$CONF/credentials: refusing credentials file: mode 0644"
        chmod 0600 $CONF/credentials
        # Judged as the service's user: a list it cannot open fails, one it owns passes.
        drop_list private.list 'kp-zed'
        chmod 0600 $CONF/revoked.d/private.list
        check_config_says "private.list: the service's user keyrevoke (uid $(id -u keyrevoke)) cannot open it"
        chown keyrevoke $CONF/revoked.d/private.list
        keyrevoked --check-config >"$OUT/check.out" 2>&1 ||
                show_fail "$OUT/check.out" "--check-config refuses a list owned by keyrevoke"
        rm $CONF/revoked.d/private.list
        pass "--check-config as root reports no Window=, misspelt regions, a CAFile= the sandbox hides," \
                "a 0644 credentials file, and judges lists as keyrevoke"
}

check_configure() {
        drop_list incident.list 'kp-alice reason=incident-42'
        run_block service-configure
        expect_prop ActiveState active "after README step 2"
        [ "$(systemctl is-enabled $UNIT)" = enabled ] || fail "the unit is not enabled"
        grep -q "i-hz-l1" "$OUT/service-configure.out" ||
                show_fail "$OUT/service-configure.out" "keyrevokectl plan does not show i-hz-l1"
        wait_for '[ "$(events would-detach KEYPAIR=kp-alice DRY_RUN=1)" -eq 3 ]' 20 ||
                fail "the dry run did not say what it would detach"
        [ -z "$(detached_instances)" ] || fail "a dry run detached $(detached_instances)"
        [ "$(logged 'Using credentials from systemd credential aliyun')" -ge 1 ] ||
                fail "credentials not from LoadCredential="
        pass "README step 2: --check-config passes, the service starts in a dry run, keyrevokectl plan shows it"
}

check_enforce() {
        local pid
        run_block service-enforce
        wait_for '[ "$(events detached KEYPAIR=kp-alice REASON=incident-42)" -eq 3 ]' 20 ||
                fail "the list was not enforced after README step 3"
        [ "$(detached_instances)" = "i-hz-l1 i-hz-l2 i-sh-a1 " ] || fail "DetachKeyPair got $(detached_instances)"
        pid=$(prop MainPID)
        expect_prop ActiveState active "after README step 3"
        pass "README step 3: the service enforces (DetachKeyPair in the emulator for the dropped list)"

        with_dropin 60-broken.conf '[Agent]\nNoSuchKey=1\n'
        if systemctl reload $UNIT 2>/dev/null; then
                fail "systemctl reload succeeded with a broken config"
        fi
        [ "$(logged '60-broken.conf:2:')" -ge 1 ] || fail "the failed reload does not name 60-broken.conf:2"
        expect_prop MainPID "$pid" "after a bad reload"
        expect_prop ActiveState active "after a bad reload"
        drop_list bob.list 'kp-bob'
        wait_for '[ "$(events detached KEYPAIR=kp-bob)" -eq 1 ]' 20 ||
                fail "the old config is not running after a bad reload"
        rm $CONF/keyrevoke.conf.d/60-broken.conf
        pass "a bad reload fails systemctl reload, names the file and line, and the old config keeps enforcing"
}

check_manual_run() {
        local rc=0
        keyrevoked --once >"$OUT/once.out" 2>&1 || rc=$?
        [ "$rc" != 0 ] || fail "keyrevoked --once ran next to the service"
        grep -q "refusing to run a second keyrevoked" "$OUT/once.out" || show_fail "$OUT/once.out" "no clear refusal"
        systemctl restart $UNIT || fail "systemctl restart after a manual --once"
        expect_prop ActiveState active "after the restart"
        find /var/lib/keyrevoke -maxdepth 1 ! -user keyrevoke | grep -q . &&
                fail "files not owned by keyrevoke in the state directory"
        pass "a manual keyrevoked --once next to the service is refused (exit $rc) and a restart afterwards works"
}

check_config_error_not_looping() {
        with_dropin 60-broken.conf '[Agent]\nNoSuchKey=1\n'
        systemctl restart $UNIT 2>/dev/null && fail "systemctl restart succeeded with a broken config"
        expect_prop ActiveState failed "a configuration error at start"
        expect_prop NRestarts 0 "a configuration error at start (RestartPreventExitStatus=1)"
        rm $CONF/keyrevoke.conf.d/60-broken.conf
        # The service reads systemd's 0400 copy, but a world-readable source is refused all the same.
        chmod 0644 $CONF/credentials
        systemctl restart $UNIT 2>/dev/null && fail "the service started with a 0644 credentials file"
        expect_prop ActiveState failed "a 0644 credentials file"
        [ "$(logged "$CONF/credentials: refusing credentials file: mode 0644")" -ge 1 ] ||
                fail "the service does not say why it refuses the credentials"
        chmod 0600 $CONF/credentials
        systemctl restart $UNIT || fail "systemctl restart with the fixed config"
        expect_prop ActiveState active "after fixing the config"
        pass "a configuration error or a 0644 credentials file fails the unit at start, not restarted in a loop"
}

start_emulator
install_package
point_at_emulator
check_mistakes
check_configure
check_enforce
check_manual_run
check_config_error_not_looping
log "all checks passed"
