#!/bin/bash
# System test of README.md's "Running as a service", as a new operator follows it: the build is
# installed with `make install` (into a staging directory whose /usr/local the container binds,
# as a package would put it in place), then nspawn/readme-driver.sh runs the README's marked
# blocks as written in a container with a real systemd, pointed at the ECS emulator by one
# drop-in, and checks the service, reloads, a manual run next to it and the operators' mistakes.
# Exits 77 when nspawn cannot run, or when the build was configured with options that give it
# other paths than the README's.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
TIMEOUT_SEC=90

# shellcheck source=tests/integration/nspawn/host.sh
. "$top_srcdir/tests/integration/nspawn/host.sh"

# The README's paths are those of a plain ./configure: that one must give them; a build configured
# with options may have others, and is not what the README describes.
for pair in prefix=/usr/local sysconfdir=/etc localstatedir=/var; do
        want=${pair#*=}
        got=$(sed -n "s|^${pair%%=*} = ||p" "$top_builddir/Makefile")
        [ "$got" = "$want" ] && continue
        [ -n "$("$top_builddir/config.status" --config)" ] ||
                { echo "FAIL: a plain ./configure gives ${pair%%=*}=$got, the README says $want"; exit 1; }
        skip "configured with ${pair%%=*}=$got ($("$top_builddir/config.status" --config)); the README's route is a plain ./configure"
done

# Variables of the make running this test (TESTS among them) must not leak into this one.
unset MAKEFLAGS MFLAGS MAKELEVEL
# make install, as the README says, into a staging directory; the unit goes where systemd looks
# in /usr/local (the host's systemd unit directory is the container's read-only /usr).
make -C "$top_builddir" -s install DESTDIR="$T/stage" >"$T/install.log" 2>&1 ||
        { cat "$T/install.log"; echo "FAIL: make install"; exit 1; }
unit=$(find "$T/stage" -name keyrevoked.service -path '*/systemd/system/*' | head -n 1)
[ -n "$unit" ] || { echo "FAIL: make install installed no keyrevoked.service"; exit 1; }
mkdir -p "$T/stage/usr/local/lib/systemd/system"
[ "$unit" = "$T/stage/usr/local/lib/systemd/system/keyrevoked.service" ] ||
        mv "$unit" "$T/stage/usr/local/lib/systemd/system/"

# The small fleet, whose API credentials are the README's placeholders.
"${PYTHON3:-python3}" - "$top_srcdir/tests/data/fleet/small.json" "$T/fleet.json" <<'EOF'
import json, sys
fleet = json.load(open(sys.argv[1]))
fleet["credentials"] = [{"access_key_id": "LTAI...", "access_key_secret": "..."}]
json.dump(fleet, open(sys.argv[2], "w"))
EOF

nspawn_run "$TIMEOUT_SEC" "$top_srcdir/tests/integration/nspawn/readme-driver.sh" \
        --bind-ro="$top_srcdir/README.md:/kr/README.md" \
        --bind-ro="$T/stage:/kr/stage" \
        --bind-ro="$T/stage/usr/local:/usr/local"
