#!/bin/bash
# Runs inside the test container booted by test-nspawn.sh (PID 1 is systemd): installs keyrevoked
# as a package would, starts the ECS emulator on the container's private loopback, then drives the
# service with systemctl and checks what systemd and the journal see. Stops at the first failure.
#
# /kr/tests and /kr/systemd are the source tree's, read-only; /kr/run is the host's scratch
# directory (the unit and tmpfiles.d entry made for /etc, the test CA); results go to /kr/run/out,
# the container's journal to /kr/run/journal (its /var/log/journal).
# shellcheck disable=SC2016 # wait_for evals its condition later
set -u

CONF=/etc/keyrevoke
# shellcheck source=tests/integration/nspawn/lib.sh
. /kr/tests/integration/nspawn/lib.sh

reloads_done() {
        echo $(($(logged 'Configuration reloaded') + $(logged 'keeping the running one')))
}

# reload_and_wait N: systemctl reload, then wait for the daemon's N-th reload outcome message.
reload_and_wait() {
        systemctl reload "$UNIT" || fail "systemctl reload failed"
        wait_for "[ \$(reloads_done) -ge $1 ]" 20 || fail "the daemon did not act on reload $1"
}

install_package() {
        install -m 0644 /kr/run/keyrevoked.service /etc/systemd/system/$UNIT
        # /etc is the only writable configuration directory here: a binary built with another
        # --sysconfdir is pointed at it, as an operator would do.
        if [ "$(cat /kr/run/default-config)" != $CONF/keyrevoke.conf ]; then
                mkdir -p /etc/systemd/system/$UNIT.d
                printf '[Service]\nExecStart=\nExecStart=%s -c %s\n' \
                        "$(sed -n 's/^ExecStart=//p' /kr/run/keyrevoked.service)" $CONF/keyrevoke.conf \
                        >/etc/systemd/system/$UNIT.d/10-config-path.conf
        fi
        install -D -m 0644 /kr/systemd/keyrevoke.sysusers /etc/sysusers.d/keyrevoke.conf
        install -D -m 0644 /kr/run/keyrevoke.tmpfiles /etc/tmpfiles.d/keyrevoke.conf
        systemd-sysusers keyrevoke.conf || fail "systemd-sysusers keyrevoke.conf"
        systemd-tmpfiles --create keyrevoke.conf || fail "systemd-tmpfiles --create keyrevoke.conf"
        systemctl daemon-reload
        getent passwd keyrevoke >/dev/null || fail "no keyrevoke user after systemd-sysusers"
        [ "$(stat -c '%U %a' $CONF/revoked.d)" = "root 755" ] || fail "$CONF/revoked.d not root-owned 0755"
}

write_config() {
        install -m 0644 /kr/run/ca/ca.pem $CONF/ca.pem
        (umask 077 && printf '[default]\ntype = access_key\naccess_key_id = %s\naccess_key_secret = %s\n' \
                testid testsecret >$CONF/credentials)
        cat >$CONF/keyrevoke.conf <<EOF
[Agent]
RevocationDirectory=$CONF/revoked.d
RescanIntervalSec=0
[Cloud]
Endpoint=https://127.0.0.1:$(cat /run/kr/port)
ScalingEndpoint=https://127.0.0.1:$(cat /run/kr/port)/ess
CAFile=$CONF/ca.pem
Regions=cn-hangzhou cn-shanghai
RequestTimeoutSec=5
EOF
}

check_start_waits_for_daemon() {
        printf '[Agent]\nNoSuchKey=1\n' >$CONF/keyrevoke.conf.d/99-broken.conf
        if systemctl start "$UNIT"; then
                fail "systemctl start succeeded with a broken config"
        fi
        expect_prop ActiveEnterTimestampMonotonic 0 "a daemon that fails before READY=1"
        systemctl stop "$UNIT"
        rm $CONF/keyrevoke.conf.d/99-broken.conf
        pass "a daemon failing before READY=1 fails 'systemctl start' and never becomes active"

        expect_prop Type notify "the unit"
        [ "$(prop WatchdogUSec)" != 0 ] || fail "the unit sets no WatchdogSec="
        systemctl start "$UNIT" || fail "systemctl start"
        expect_prop ActiveState active "after systemctl start"
        expect_prop SubState running "after systemctl start"
        [ -n "$(prop StatusText)" ] || fail "no STATUS= text from the daemon"
        # The config has no Window=: the status says that reboots stay queued, and the start why.
        prop StatusText | grep -qF "next window: never (no Window=: reboots stay queued)" ||
                fail "STATUS= does not say that no Window= is set: $(prop StatusText)"
        [ "$(logged 'No Window= in [Reboot]')" -ge 1 ] || fail "no warning about the missing Window= at start"
        [ "$(logged 'Using credentials from systemd credential aliyun')" -eq 1 ] ||
                fail "the credentials did not come from LoadCredential=aliyun"
        pass "systemctl start returns once the daemon is ready: active, status '$(prop StatusText)'"
}

check_sandbox() {
        local pid status
        pid=$(prop MainPID)
        status=$(cat /proc/"$pid"/status)
        grep -q "^Uid:[[:space:]]*$(id -u keyrevoke)[[:space:]]" <<<"$status" || fail "not running as keyrevoke"
        grep -q '^CapEff:[[:space:]]*0000000000000000$' <<<"$status" || fail "effective capabilities left"
        grep -q '^CapBnd:[[:space:]]*0000000000000000$' <<<"$status" || fail "bounding set not empty"
        grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$status" || fail "NoNewPrivs not set"
        grep -q '^Seccomp:[[:space:]]*2$' <<<"$status" || fail "no seccomp filter"
        [ "$(stat -c '%U %a' /var/lib/keyrevoke)" = "keyrevoke 700" ] || fail "state directory not keyrevoke 0700"
        pass "runs as keyrevoke without capabilities, with NoNewPrivs and a seccomp filter"
}

check_enforcement() {
        wait_for '[ "$(events enforcement-complete)" -ge 1 ]' 20 || fail "no first pass"
        drop_list incident.list 'kp-alice reason=incident-42'
        wait_for '[ "$(events detached KEYPAIR=kp-alice REASON=incident-42)" -eq 3 ]' 20 ||
                fail "the dropped list was not enforced"
        [ "$(detached_instances)" = "i-hz-l1 i-hz-l2 i-sh-a1 " ] || fail "DetachKeyPair got $(detached_instances)"
        [ "$(events skipped-windows INSTANCE=i-hz-w1)" -ge 1 ] || fail "no skipped-windows event"
        journalctl --no-pager -o json KEYREVOKE_EVENT=detached KEYREVOKE_INSTANCE=i-hz-l1 | grep -q '"MESSAGE_ID"' ||
                fail "the detached event has no MESSAGE_ID"
        pass "a list dropped into $CONF/revoked.d is enforced: DetachKeyPair in the emulator, detached events in the journal"
}

check_reload() {
        local pid
        pid=$(prop MainPID)
        printf '[Agent]\nDryRun=yes\n' >$CONF/keyrevoke.conf.d/50-dry-run.conf
        reload_and_wait 1
        [ "$(logged 'Configuration reloaded')" -eq 1 ] || fail "the new config was not applied"
        expect_prop ActiveState active "after reload"
        expect_prop MainPID "$pid" "after reload"
        drop_list bob.list 'kp-bob'
        wait_for '[ "$(events would-detach KEYPAIR=kp-bob DRY_RUN=1)" -eq 1 ]' 20 || fail "DryRun=yes not in effect"
        [ "$(detached_instances)" = "i-hz-l1 i-hz-l2 i-sh-a1 " ] || fail "a dry run detached $(detached_instances)"
        pass "systemctl reload applies a changed config (DryRun=yes) in the running process"

        printf '[Agent]\nNoSuchKey=1\n' >$CONF/keyrevoke.conf.d/60-broken.conf
        if systemctl reload "$UNIT"; then
                fail "systemctl reload succeeded with a broken config"
        fi
        [ "$(logged '60-broken.conf:2:')" -ge 1 ] || fail "the bad config is not reported as FILE:LINE"
        expect_prop ActiveState active "after a bad reload"
        expect_prop MainPID "$pid" "after a bad reload"
        drop_list dave.list 'kp-dave'
        wait_for '[ "$(events would-detach KEYPAIR=kp-dave DRY_RUN=1)" -eq 1 ]' 20 ||
                fail "the old config is not running after a bad reload"
        pass "a bad config fails systemctl reload, is reported with FILE:LINE and the old one keeps running"

        rm $CONF/keyrevoke.conf.d/50-dry-run.conf $CONF/keyrevoke.conf.d/60-broken.conf
        reload_and_wait 2
        wait_for '[ "$(events detached KEYPAIR=kp-dave)" -eq 1 ] && [ "$(events detached KEYPAIR=kp-bob)" -eq 1 ]' 20 ||
                fail "lists not enforced after reloading without DryRun="
        pass "reloading the fixed config resumes enforcement"
}

check_watchdog() {
        local pid restarts
        mkdir -p /etc/systemd/system/$UNIT.d
        printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' >/etc/systemd/system/$UNIT.d/50-watchdog.conf
        systemctl daemon-reload
        systemctl restart "$UNIT" || fail "systemctl restart"
        pid=$(prop MainPID)
        restarts=$(prop NRestarts)
        sleep 7
        expect_prop MainPID "$pid" "a daemon answering the 3 s watchdog"
        expect_prop NRestarts "$restarts" "a daemon answering the 3 s watchdog"
        [ "$(prop WatchdogTimestampMonotonic)" -gt 0 ] || fail "no watchdog ping seen"
        pass "the daemon pings the watchdog (WatchdogSec=3s, alive after 7 s)"

        kill -STOP "$pid"
        wait_for "[ \"\$(prop NRestarts)\" -gt $restarts ] && [ \"\$(prop ActiveState)\" = active ]" 20 ||
                fail "the hung daemon was not restarted"
        [ "$(prop MainPID)" != "$pid" ] || fail "same main PID after the watchdog restart"
        journalctl --no-pager -o cat _PID=1 | grep -q "$UNIT: Watchdog timeout" || fail "no watchdog timeout logged"
        pass "a hung (SIGSTOPped) daemon is killed by the watchdog and restarted (NRestarts=$(prop NRestarts))"
        rm /etc/systemd/system/$UNIT.d/50-watchdog.conf
        systemctl daemon-reload
}

check_stop() {
        systemctl stop "$UNIT" || fail "systemctl stop"
        expect_prop ActiveState inactive "after systemctl stop"
        expect_prop Result success "after systemctl stop"
        expect_prop ExecMainStatus 0 "after systemctl stop"
        [ "$(logged 'Received SIGTERM, stopping')" -ge 1 ] || fail "SIGTERM not logged"
        [ "$(stat -c '%U %a' /var/lib/keyrevoke/queue.json)" = "keyrevoke 600" ] || fail "queue.json not keyrevoke 0600"
        /usr/bin/python3 -c 'import json, sys; q = json.load(open(sys.argv[1])); assert len(q["entries"]) == 5, q' \
                /var/lib/keyrevoke/queue.json || fail "reboot queue not saved"
        pass "systemctl stop is clean (exit status 0, inactive) and the reboot queue is saved"
}

install_package
start_emulator
write_config
check_start_waits_for_daemon
check_sandbox
check_enforcement
check_reload
check_watchdog
check_stop
log "all checks passed"
