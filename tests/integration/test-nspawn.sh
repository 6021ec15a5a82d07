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
# shellcheck source=tests/integration/nspawn/host.sh
. "$top_srcdir/tests/integration/nspawn/host.sh"

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

nspawn_run "$TIMEOUT_SEC" "$top_srcdir/tests/integration/nspawn/driver.sh" \
        --bind-ro="$top_srcdir/systemd:/kr/systemd" \
        --bind-ro="$T/keyrevoked:/opt/keyrevoke/sbin/keyrevoked"
