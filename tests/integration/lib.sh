# Shared harness of the integration tests: a private journald, the ECS emulator over TLS on
# loopback, a config pointing at it, and helpers to read events and the emulator's call log.
# Sourced by each test-*.sh; every test runs in its own mount namespace and temp directory.

set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${PYTHON3:=/usr/bin/python3}"
KEYREVOKED="$top_builddir/keyrevoked"
EMULATOR="$top_srcdir/tests/emulator"

# Re-run the test in a private mount namespace, so journald's sockets and files are our own.
if [ -z "${KR_IN_NAMESPACE:-}" ]; then
        export KR_IN_NAMESPACE=1
        exec unshare -m --propagation private "$0" "$@"
fi

T=$(mktemp -d /tmp/keyrevoke-test.XXXXXX)
chmod 0755 "$T"
KR_PIDS=""

kr_cleanup() {
        for pid in $KR_PIDS; do kill "$pid" 2>/dev/null || true; done
        wait 2>/dev/null || true
        if [ "${KR_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap kr_cleanup EXIT

kr_fail() {
        echo "FAIL: $*" >&2
        if [ -f "$T/daemon.log" ]; then echo "--- daemon stderr (tail)" >&2; tail -n 30 "$T/daemon.log" >&2; fi
        exit 1
}

kr_pass() {
        echo "PASS: $*"
}

# Waits up to $2 seconds (default 20) for the shell condition $1 to hold.
kr_wait_for() {
        local cond="$1" limit="${2:-20}" i=0
        while ! eval "$cond"; do
                i=$((i + 1))
                [ "$i" -le $((limit * 10)) ] || return 1
                sleep 0.1
        done
}

kr_start_journald() {
        mount -t tmpfs tmpfs /run/systemd
        mkdir -p /run/systemd/journal /run/log/journal
        mount -t tmpfs tmpfs /run/log/journal
        if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
        /lib/systemd/systemd-journald >/dev/null 2>&1 &
        KR_PIDS="$KR_PIDS $!"
        kr_wait_for '[ -S /run/systemd/journal/socket ]' 10 || kr_fail "journald did not start"
}

# kr_start_emulator FLEET.json [extra emulator options...]
kr_start_emulator() {
        local fleet="$1"
        shift
        mkdir -p "$T/ca"
        sh "$EMULATOR/make-ca.sh" "$T/ca" >/dev/null 2>&1 || kr_fail "make-ca.sh failed"
        "$PYTHON3" "$EMULATOR/ecs-emulator.py" --fleet "$fleet" --cert "$T/ca/server.pem" --key "$T/ca/server.key" \
                --listen 127.0.0.1 --port-file "$T/port" --control-port-file "$T/control-port" \
                --metadata-port-file "$T/metadata-port" --log "$T/emu.log" "$@" 2>"$T/emulator.log" &
        KR_PIDS="$KR_PIDS $!"
        kr_wait_for '[ -s "$T/port" ] && [ -s "$T/control-port" ]' 20 || kr_fail "emulator did not start"
        KR_PORT=$(cat "$T/port")
}

# kr_make_fleet [make-fleet.py options...]: writes $T/fleet.json and $T/generated.list
kr_make_fleet() {
        "$PYTHON3" "$EMULATOR/make-fleet.py" --out "$T/fleet.json" --list-out "$T/generated.list" "$@" >/dev/null ||
                kr_fail "make-fleet.py failed"
}

# Writes $T/keyrevoke.conf for the emulator; extra lines (sections included) come from stdin.
kr_write_config() {
        mkdir -p "$T/revoked.d" "$T/state"
        chmod 0700 "$T/state"
        printf '[default]\ntype = access_key\naccess_key_id = testid\naccess_key_secret = testsecret\n' >"$T/credentials"
        chmod 0600 "$T/credentials"
        {
                printf '[Agent]\nRevocationDirectory=%s\nStateDirectory=%s\nRescanIntervalSec=0\n' "$T/revoked.d" "$T/state"
                printf '[Cloud]\nEndpoint=https://127.0.0.1:%s\nCAFile=%s\nCredentialsFile=%s\n' "$KR_PORT" "$T/ca/ca.pem" "$T/credentials"
                printf 'ScalingEndpoint=https://127.0.0.1:%s/ess\n' "$KR_PORT"
                printf 'RequestTimeoutSec=5\nMaxRetries=5\n'
                cat
        } >"$T/keyrevoke.conf"
}

# Installs a list file (mode 0644, root-owned) into the revocation directory.
kr_install_list() {
        install -m 0644 "$1" "$T/revoked.d/$2"
}

kr_run_once() {
        "$KEYREVOKED" -c "$T/keyrevoke.conf" --once "$@" 2>>"$T/daemon.log"
}

kr_start_daemon() {
        "$KEYREVOKED" -c "$T/keyrevoke.conf" "$@" 2>>"$T/daemon.log" &
        KR_DAEMON=$!
        KR_PIDS="$KR_PIDS $KR_DAEMON"
}

# Prints the journal entries of keyrevoked as JSON lines.
kr_journal() {
        journalctl --no-pager -o json SYSLOG_IDENTIFIER=keyrevoked 2>/dev/null || true
}

# kr_count_events EVENT [FIELD=VALUE...]: number of journal events matching.
kr_count_events() {
        kr_journal | "$PYTHON3" "$top_srcdir/tests/integration/query.py" events "$@"
}

# kr_count_calls ACTION [applied|failed]: number of API calls in the emulator log.
kr_count_calls() {
        "$PYTHON3" "$top_srcdir/tests/integration/query.py" calls "$T/emu.log" "$@"
}

kr_emuctl() {
        "$PYTHON3" "$EMULATOR/emuctl.py" --control-port-file "$T/control-port" "$@"
}

# kr_random_seconds MIN SPAN: a random duration in [MIN, MIN + SPAN) milliseconds (from $RANDOM,
# which a test seeds), printed as seconds.
kr_random_seconds() {
        local r=$(($1 + RANDOM % $2))
        printf '%d.%03d' $((r / 1000)) $((r % 1000))
}

# Whether every entry of the reboot queue is done.
kr_queue_settled() {
        "$PYTHON3" -c 'import json, sys
sys.exit(any(e["state"] != "done" for e in json.load(open(sys.argv[1]))["entries"]))' "$T/state/queue.json"
}

kr_expect_eq() {
        [ "$1" = "$2" ] || kr_fail "$3: got '$1', expected '$2'"
}

kr_start_journald
