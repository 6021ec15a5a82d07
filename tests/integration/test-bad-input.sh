#!/bin/bash
# Bad input gets a clear error and loses nothing: a symlink to a list owned by another user, a
# world-writable list, a 20 MiB list, a binary file, a 100 KiB line, invalid UTF-8 and a config
# with a missing ']' are each rejected with FILE[:LINE], while every valid entry is enforced.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou cn-shanghai
CONF
d="$T/revoked.d"

printf 'kp-carol\n' >"$T/foreign.list"
chown 12345:12345 "$T/foreign.list"
ln -s "$T/foreign.list" "$d/symlink-foreign.list"
printf 'kp-dave\n' >"$d/world-writable.list"
head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$d/huge.list"
cp /bin/true "$d/binary.list"
{
        printf 'kp-alice\n'
        head -c $((100 * 1024)) /dev/zero | tr '\0' 'x'
        printf '\nkp-b\xff\xfeob\nkp-bob\n'
} >"$d/lines.list"
chmod 0644 "$d"/*.list
chmod 0666 "$d/world-writable.list"

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with bad lists next to good entries"

expect_error() { # file [line] pattern
        local file="$1" line="$2" pattern="$3" n
        if [ -n "$line" ]; then
                n=$(kr_count_events list-error "LIST=$d/$file" "LINE=$line")
        else
                n=$(kr_journal | "$PYTHON3" -c '
import json, sys
n = 0
for l in sys.stdin:
    e = json.loads(l)
    if e.get("KEYREVOKE_EVENT") == "list-error" and e.get("KEYREVOKE_LIST") == sys.argv[1] and "KEYREVOKE_LINE" not in e:
        n += 1
print(n)' "$d/$file")
        fi
        [ "$n" = 1 ] || kr_fail "$file${line:+:$line}: expected one list-error, got $n"
        kr_journal | grep -q "$pattern" || kr_fail "$file: no message matching '$pattern'"
        kr_pass "$file${line:+:$line} rejected: $(kr_journal | grep -o "$pattern[^\"]*" | head -1)"
}
expect_error symlink-foreign.list "" "owned by uid 12345"
expect_error world-writable.list "" "writable by group or others"
expect_error huge.list "" "larger than 16 MiB"
expect_error binary.list "" "contains NUL bytes"
expect_error lines.list 2 "longer than"
expect_error lines.list 3 "UTF-8"

got=$("$PYTHON3" "$top_srcdir/tests/integration/query.py" instances "$T/emu.log" DetachKeyPair | sort | tr '\n' ' ')
kr_expect_eq "$got" "i-hz-b1 i-hz-l1 i-hz-l2 i-sh-a1 " "instances detached next to the bad input"
kr_pass "every valid entry is still enforced (kp-alice, kp-bob); kp-carol and kp-dave untouched"

printf '[Agent\nDryRun=no\n' >"$T/broken.conf"
out=$("$KEYREVOKED" -c "$T/broken.conf" --check-config) && kr_fail "--check-config accepted a missing ']'"
echo "$out" | grep -q "^$T/broken.conf:1: " || kr_fail "--check-config output lacks FILE:LINE: $out"
rc=0; "$KEYREVOKED" -c "$T/broken.conf" --once 2>"$T/broken.err" || rc=$?
kr_expect_eq "$rc" 1 "keyrevoked exit status on a broken config"
grep -q "broken.conf:1: " "$T/broken.err" || kr_fail "daemon error lacks FILE:LINE"
kr_pass "a config with a missing ']' is rejected as FILE:LINE ($out)"

out=$("$KEYREVOKED" -c "$T/keyrevoke.conf" --check-config) && kr_fail "--check-config accepted bad lists"
for f in symlink-foreign.list world-writable.list huge.list binary.list "lines.list:2" "lines.list:3"; do
        echo "$out" | grep -q "^$d/$f" || kr_fail "--check-config does not report $f: $out"
done
kr_pass "--check-config reports every bad list and line, exit 1"
