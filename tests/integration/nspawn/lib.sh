# Helpers of the drivers that run inside the test containers (driver.sh, readme-driver.sh):
# results go to $OUT (the host's scratch directory), the emulator runs as a transient unit with
# $FLEET (default: the small fleet), lists are dropped into $CONF/revoked.d.
# shellcheck shell=bash disable=SC2016 # wait_for evals its condition later

OUT=/kr/run/out
UNIT=keyrevoked.service
QUERY=(/usr/bin/python3 /kr/tests/integration/query.py)

log() {
        echo "$*" | tee -a "$OUT/driver.log"
}

fail() {
        log "FAIL: $*"
        exit 1
}

pass() {
        log "PASS: $*"
}

trap 'echo "$?" >"$OUT/rc"' EXIT

# Waits up to $2 seconds (default 20) for the shell condition $1 to hold.
wait_for() {
        local cond="$1" limit="${2:-20}" i=0
        while ! eval "$cond"; do
                i=$((i + 1))
                [ "$i" -le $((limit * 10)) ] || return 1
                sleep 0.1
        done
}

prop() {
        systemctl show --value -p "$1" "$UNIT"
}

expect_prop() {
        local got
        got=$(prop "$1")
        [ "$got" = "$2" ] || fail "$3: $1=$got, expected $2"
}

# events EVENT [FIELD=VALUE...]: number of keyrevoked journal events matching.
events() {
        journalctl --no-pager -o json SYSLOG_IDENTIFIER=keyrevoked | "${QUERY[@]}" events "$@"
}

# logged TEXT: number of keyrevoked journal messages containing TEXT.
logged() {
        journalctl --no-pager -o cat SYSLOG_IDENTIFIER=keyrevoked | grep -cF -- "$1"
}

# The instances that applied DetachKeyPair calls in the emulator's log touched.
detached_instances() {
        "${QUERY[@]}" instances "$OUT/emu.log" DetachKeyPair | sort | tr '\n' ' '
}

# drop_list NAME TEXT: installs a root-owned 0644 list atomically, as config management would.
drop_list() {
        printf '%s\n' "$2" >"$CONF/.$1.tmp"
        chmod 0644 "$CONF/.$1.tmp"
        mv "$CONF/.$1.tmp" "$CONF/revoked.d/$1"
}

start_emulator() {
        mkdir -p /run/kr
        systemd-run --quiet --unit=kr-emulator /usr/bin/python3 /kr/tests/emulator/ecs-emulator.py \
                --fleet "${FLEET:-/kr/tests/data/fleet/small.json}" \
                --cert /kr/run/ca/server.pem --key /kr/run/ca/server.key \
                --listen 127.0.0.1 --port-file /run/kr/port --control-port-file /run/kr/control-port \
                --metadata-port-file /run/kr/metadata-port --log "$OUT/emu.log" ||
                fail "cannot start the emulator"
        wait_for '[ -s /run/kr/port ]' 20 || fail "the emulator did not start"
}

