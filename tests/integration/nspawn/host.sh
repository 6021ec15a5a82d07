# Host side of the system tests under a real systemd (test-nspawn.sh, test-readme-service.sh):
# a container (systemd-nspawn, a volatile root over the host's /usr, a private network with only
# loopback) booted into kr-test.target, whose kr-driver.service runs the test's driver script.
# Sourced after top_srcdir and top_builddir are set; sets T (the scratch directory, with a test CA
# in $T/ca) or exits 77 when nspawn cannot run at all.
# shellcheck shell=bash disable=SC2154 # top_srcdir and top_builddir come from the test

skip() {
        echo "SKIP: $*"
        exit 77
}

[ "$(id -u)" = 0 ] || skip "systemd-nspawn needs root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (package systemd-container)"
[ -x /usr/lib/systemd/systemd ] || skip "no /usr/lib/systemd/systemd to boot in the container"
[ -x "$top_builddir/keyrevoked" ] || { echo "FAIL: $top_builddir/keyrevoked is not built"; exit 1; }

T=$(mktemp -d /tmp/keyrevoke-nspawn.XXXXXX)
nspawn_cleanup() {
        if [ "${KR_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap nspawn_cleanup EXIT
NSPAWN=(systemd-nspawn --quiet --directory=/ --volatile=yes --register=no --keep-unit --private-network
        "--machine=keyrevoke-test-$$")

if ! "${NSPAWN[@]}" /bin/true </dev/null >"$T/probe.log" 2>&1; then
        cat "$T/probe.log"
        skip "systemd-nspawn cannot start a container here"
fi

mkdir "$T/out" "$T/ca" "$T/journal"
sh "$top_srcdir/tests/emulator/make-ca.sh" "$T/ca" >/dev/null 2>&1 || { echo "FAIL: make-ca.sh"; exit 1; }

# nspawn_run TIMEOUT DRIVER [NSPAWN-OPTION...]: boots the container with the source tree's tests
# at /kr/tests, $T at /kr/run and DRIVER at /kr/driver; prints the driver's log; fails (exit 1)
# with the journal of the units under test when the driver or the container did.
nspawn_run() {
        local timeout_sec="$1" driver="$2" rc=0 driver_rc
        shift 2
        timeout --kill-after=10 "$timeout_sec" "${NSPAWN[@]}" \
                --bind-ro="$top_srcdir/tests:/kr/tests" \
                --bind="$T:/kr/run" \
                --bind="$T/journal:/var/log/journal" \
                --bind-ro="$top_srcdir/tests/integration/nspawn/kr-test.target:/etc/systemd/system/kr-test.target" \
                --bind-ro="$top_srcdir/tests/integration/nspawn/kr-driver.service:/etc/systemd/system/kr-driver.service" \
                --bind-ro="$driver:/kr/driver" \
                "$@" \
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
}
