#!/bin/bash
# The Quick start demo: keyrevoked --once against the bundled ECS emulator on loopback, with a
# generated fleet (Linux, Windows and stopped instances in three regions, a few with their Cloud
# Assistant agent offline) and a revocation list: containment, detaches and reboots.
# Events are printed to the terminal as logfmt lines (journald is kept out of reach for the run).
set -eu
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-/usr/bin/python3}
emu="$top_srcdir/tests/emulator"

if [ -z "${KR_DEMO_NAMESPACE:-}" ]; then
        export KR_DEMO_NAMESPACE=1
        exec unshare -m --propagation private "$0" "$@"
fi
mount -t tmpfs tmpfs /run/systemd 2>/dev/null || true # no journald: events go to stderr

T=$(mktemp -d /tmp/keyrevoke-demo.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
sh "$emu/make-ca.sh" "$T/ca" >/dev/null 2>&1
"$PYTHON3" "$emu/make-fleet.py" --instances 40 --regions 3 --keypairs 12 --revoked 3 --windows-percent 15 \
        --stopped-percent 10 --ca-offline-percent 10 --seed 7 --out "$T/fleet.json" --list-out "$T/revoked.list" >/dev/null
"$PYTHON3" "$emu/ecs-emulator.py" --fleet "$T/fleet.json" --cert "$T/ca/server.pem" --key "$T/ca/server.key" \
        --port-file "$T/port" --control-port-file "$T/control-port" --metadata-port-file "$T/md-port" \
        --reboot-seconds 1,1 --log "$T/calls.log" 2>"$T/emulator.log" &
while [ ! -s "$T/port" ]; do sleep 0.1; done

mkdir -p "$T/revoked.d" "$T/state"
install -m 0644 "$T/revoked.list" "$T/revoked.d/demo.list"
printf '[default]\ntype = access_key\naccess_key_id = testid\naccess_key_secret = testsecret\n' >"$T/credentials"
chmod 0600 "$T/credentials"
cat >"$T/keyrevoke.conf" <<CONF
[Agent]
RevocationDirectory=$T/revoked.d
StateDirectory=$T/state
[Cloud]
Endpoint=https://127.0.0.1:$(cat "$T/port")
ScalingEndpoint=https://127.0.0.1:$(cat "$T/port")/ess
CAFile=$T/ca/ca.pem
CredentialsFile=$T/credentials
[Contain]
Enabled=yes
[Reboot]
Window=always
MaxParallel=3
CONF

echo "== revocation list"
sed 's/\(ssh-ed25519 .\{24\}\).*/\1.../' "$T/revoked.d/demo.list"
echo "== keyrevoked --once (events as logfmt lines)"
rc=0
"$top_builddir/keyrevoked" -c "$T/keyrevoke.conf" --once || rc=$?
echo "== exit status $rc; calls the emulator saw:"
"$PYTHON3" - "$T/calls.log" <<'PY'
import collections, json, sys
calls = collections.Counter(json.loads(l).get("action") for l in open(sys.argv[1]) if '"action"' in l)
for action, n in sorted(calls.items()):
    print(f"  {action:24} {n}")
PY
exit "$rc"
