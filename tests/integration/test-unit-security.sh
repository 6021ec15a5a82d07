#!/bin/sh
# The shipped unit verifies cleanly and `systemd-analyze security` rates its exposure 1.1 or lower;
# the sysusers.d and tmpfiles.d snippets parse.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
MAX_EXPOSURE=1.1

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed"; exit 77; }
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
        { echo "SKIP: systemd-analyze has no --offline (systemd >= 250 needed)"; exit 77; }
for built in keyrevoked systemd/keyrevoked.service systemd/keyrevoke.tmpfiles; do
        [ -e "$top_builddir/$built" ] || { echo "FAIL: $top_builddir/$built is not built"; exit 1; }
done

T=$(mktemp -d /tmp/keyrevoke-unit.XXXXXX)
trap 'rm -rf "$T"' EXIT

# The unit and the tmpfiles.d entry as `make` generates them.
cp "$top_builddir/systemd/keyrevoked.service" "$T/generated.service"
if grep -n '@[a-z_]*@' "$T/generated.service" "$top_builddir/systemd/keyrevoke.tmpfiles"; then
        echo "FAIL: unsubstituted placeholders"
        exit 1
fi

# verify checks that ExecStart= is executable: point it at the built binary.
mkdir "$T/unit"
sed -e "s|^\(Exec[A-Za-z]*=[-@:+!]*\)[^ ]*/keyrevoked|\1$top_builddir/keyrevoked|" \
        "$T/generated.service" >"$T/unit/keyrevoked.service"
grep -qFx "ExecStart=$top_builddir/keyrevoked" "$T/unit/keyrevoked.service" ||
        { echo "FAIL: no ExecStart=.../keyrevoked line in the unit"; exit 1; }
if ! systemd-analyze verify "$T/unit/keyrevoked.service" >"$T/verify.log" 2>&1 || [ -s "$T/verify.log" ]; then
        cat "$T/verify.log"
        echo "FAIL: systemd-analyze verify complains about the unit"
        exit 1
fi
echo "PASS: systemd-analyze verify accepts the unit"

systemd-analyze security --offline=true --no-pager "$T/unit/keyrevoked.service" >"$T/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for keyrevoked\.service: \([0-9]*\.[0-9]\).*/\1/p' "$T/security.log")
if [ -z "$score" ]; then
        cat "$T/security.log"
        echo "FAIL: no exposure level in the output of systemd-analyze security"
        exit 1
fi
echo "exposure level: $score (limit $MAX_EXPOSURE)"
if ! awk -v s="$score" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= max + 0) }'; then
        grep '✗' "$T/security.log" || true
        echo "FAIL: the unit is exposed above the limit"
        exit 1
fi
echo "PASS: systemd-analyze security --offline=true rates the unit within the limit"

mkdir -p "$T/root/etc"
systemd-sysusers --root="$T/root" "$top_srcdir/systemd/keyrevoke.sysusers" >"$T/sysusers.log" 2>&1 ||
        { cat "$T/sysusers.log"; echo "FAIL: systemd-sysusers rejects keyrevoke.sysusers"; exit 1; }
grep -q '^keyrevoke:x:[0-9]*:[0-9]*:[^:]*:[^:]*:[^:]*nologin$' "$T/root/etc/passwd" ||
        { cat "$T/sysusers.log"; echo "FAIL: no keyrevoke system user created"; exit 1; }
systemd-tmpfiles --root="$T/root" --create "$top_builddir/systemd/keyrevoke.tmpfiles" >"$T/tmpfiles.log" 2>&1 ||
        { cat "$T/tmpfiles.log"; echo "FAIL: systemd-tmpfiles rejects keyrevoke.tmpfiles"; exit 1; }
revoked_d=$(awk '$2 ~ /\/revoked\.d$/ { print $2 }' "$top_builddir/systemd/keyrevoke.tmpfiles")
[ "$(stat -c %a "$T/root$revoked_d")" = 755 ] || { echo "FAIL: $revoked_d not created 0755"; exit 1; }
echo "PASS: the sysusers.d and tmpfiles.d snippets apply"
