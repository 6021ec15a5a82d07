#!/bin/bash
# System test under a real systemd: boots a container (systemd-nspawn, a volatile root over the
# host's /usr, a private network with only loopback) with the built keyrevoked, the generated unit,
# the sysusers.d/tmpfiles.d snippets and the ECS emulator bound in. nspawn/driver.sh runs inside
# and checks readiness (READY=1), enforcement of a dropped list, reload (good and bad config), the
# watchdog, a clean stop, and the journal events. Exits 77 only when nspawn cannot run at all.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
TIMEOUT_SEC=150

skip() {
        echo "SKIP: $*"
        exit 77
}

[ "$(id -u)" = 0 ] || skip "systemd-nspawn needs root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (package systemd-container)"
[ -x /usr/lib/systemd/systemd ] || skip "no /usr/lib/systemd/systemd to boot in the container"
[ -x "$top_builddir/keyrevoked" ] || { echo "FAIL: $top_builddir/keyrevoked is not built"; exit 1; }

T=$(mktemp -d /tmp/keyrevoke-nspawn.XXXXXX)
cleanup() {
        if [ "${KR_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
MACHINE=keyrevoke-test-$$
NSPAWN=(systemd-nspawn --quiet --directory=/ --volatile=yes --register=no --keep-unit --private-network
        "--machine=$MACHINE")

if ! "${NSPAWN[@]}" /bin/true </dev/null >"$T/probe.log" 2>&1; then
        cat "$T/probe.log"
        skip "systemd-nspawn cannot start a container here"
fi

mkdir "$T/out" "$T/ca" "$T/journal"
sh "$top_srcdir/tests/emulator/make-ca.sh" "$T/ca" >/dev/null 2>&1 || { echo "FAIL: make-ca.sh"; exit 1; }
# A copy, so that a rebuild while the test runs cannot change the binary under test.
install -m 0755 "$top_builddir/keyrevoked" "$T/keyrevoked"
"$T/keyrevoked" --help | sed -n 's/.*configuration file (default \(.*\))$/\1/p' >"$T/default-config"
[ -s "$T/default-config" ] || { echo "FAIL: keyrevoked --help shows no default config path"; exit 1; }
# The unit and the tmpfiles.d entry for /etc (the container's only writable configuration
# directory), whatever this build was configured with: test-readme-service.sh tests the build's own.
for f in keyrevoked.service keyrevoke.tmpfiles; do
        sed -e 's|@sbindir@|/opt/keyrevoke/sbin|g' -e 's|@sysconfdir@|/etc|g' -e 's|@localstatedir@|/var|g' \
                -e 's|@credentialfile@|/etc/keyrevoke/credentials|g' "$top_srcdir/systemd/$f.in" >"$T/$f"
done

rc=0
timeout --kill-after=10 "$TIMEOUT_SEC" "${NSPAWN[@]}" \
        --bind-ro="$top_srcdir/tests:/kr/tests" \
        --bind-ro="$top_srcdir/systemd:/kr/systemd" \
        --bind="$T:/kr/run" \
        --bind="$T/journal:/var/log/journal" \
        --bind-ro="$T/keyrevoked:/opt/keyrevoke/sbin/keyrevoked" \
        --bind-ro="$top_srcdir/tests/integration/nspawn/kr-test.target:/etc/systemd/system/kr-test.target" \
        --bind-ro="$top_srcdir/tests/integration/nspawn/kr-driver.service:/etc/systemd/system/kr-driver.service" \
        --boot systemd.unit=kr-test.target systemd.firstboot=off \
        systemd.mask=systemd-networkd-wait-online.service </dev/null >"$T/console.log" 2>&1 || rc=$?

[ -f "$T/out/driver.log" ] && cat "$T/out/driver.log"
driver_rc=$(cat "$T/out/rc" 2>/dev/null || echo none)
if [ "$rc" != 0 ] || [ "$driver_rc" != 0 ]; then
        echo "FAIL: container exit status $rc, driver exit status $driver_rc"
        echo "--- container journal of the units under test (tail; KR_KEEP=1 keeps all of it)"
        journalctl --no-pager -o short-monotonic -D "$T/journal" -u keyrevoked.service -u kr-driver.service \
                -u kr-emulator.service | tail -n 60
        exit 1
fi
