#!/bin/bash
# keyrevokectl against the emulator and the real keyrevoked: plan runs the daemon's dry-run pass
# (Describe* calls only) and shows what would be detached, skipped and rebooted; after a --once
# pass, status (text and JSON) shows what the emulator recorded; check reports every kind of bad
# file and line as FILE[:LINE] like --check-config; windows shows the right openings; MetricsFile=
# passes promtool with the pass's counts.
. "$(dirname "$0")/lib.sh"

KEYREVOKECTL="$top_builddir/keyrevokectl"
ctl() { "$KEYREVOKECTL" -c "$T/keyrevoke.conf" "$@"; }
expected="i-hz-b1 i-hz-c1 i-hz-l1 i-hz-l2 i-sh-a1 i-sh-b2 i-sh-e1"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<CONF
Regions=cn-hangzhou cn-shanghai
[Agent]
MetricsFile=$T/metrics/keyrevoke.prom
CONF
mkdir -p "$T/metrics"
kr_install_list "$top_srcdir/tests/data/fleet/small.list" small.list

# Mutating calls (anything but Describe*) in the emulator log.
mutating_calls() {
        "$PYTHON3" - "$T/emu.log" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        c = json.loads(line)
    except ValueError:
        continue
    if "action" in c and not c["action"].startswith("Describe"):
        n += 1
print(n)
PY
}

# ---- plan: a dry-run pass, nothing changed -----------------------------------------------------

rc=0; ctl plan >"$T/plan.txt" 2>"$T/plan.err" || rc=$?
kr_expect_eq "$rc" 0 "plan exit status"
kr_expect_eq "$(mutating_calls)" 0 "mutating API calls made by plan"
[ "$(kr_count_calls DescribeInstances)" -gt 0 ] || kr_fail "plan made no DescribeInstances call"
[ ! -e "$T/state/queue.json" ] || kr_fail "plan wrote the reboot queue"
[ ! -e "$T/metrics/keyrevoke.prom" ] || kr_fail "plan wrote the metrics file"
kr_expect_eq "$(kr_count_events would-detach)" 0 "events sent to the journal by plan"
for i in $expected; do
        grep -qE "^cn-[a-z]+ +kp-[a-z-]+ +$i +would-detach " "$T/plan.txt" || kr_fail "plan does not detach $i: $(cat "$T/plan.txt")"
done
grep -qE '^cn-hangzhou +kp-alice +i-hz-l1 +would-detach +lost laptop +small.list:2$' "$T/plan.txt" ||
        kr_fail "plan row lacks reason or list:line: $(cat "$T/plan.txt")"
grep -qE '^cn-hangzhou +kp-alice +i-hz-w1 +skipped-windows ' "$T/plan.txt" || kr_fail "plan does not skip i-hz-w1"
[ "$(grep -cE ' kp-nonexistent +- +keypair-not-found .*small.list:8$' "$T/plan.txt")" = 2 ] ||
        kr_fail "plan does not report kp-nonexistent in both regions"
grep -qE '^- +- +- +list-error +.*small.list:7$' "$T/plan.txt" || kr_fail "plan does not show the bad line 7"
grep -q "^Would detach 7 instance(s); 1 Windows instance(s) skipped" "$T/plan.txt" || kr_fail "plan summary: $(cat "$T/plan.txt")"
grep -q "^Reboot window: never: no Window= is configured" "$T/plan.txt" || kr_fail "plan reboot window"
! grep -qP '\t|\x1b' "$T/plan.txt" || kr_fail "piped plan output holds tabs or colours"
kr_pass "plan shows would-detach, skipped-windows, keypair-not-found and list-error rows, no mutating call"

ctl plan --json | "$PYTHON3" -c '
import json, sys
p = json.load(sys.stdin)
got = sorted(a["instance"] for a in p["actions"] if a["action"] == "would-detach")
assert got == sys.argv[1].split(), got
assert p["counts"] == {"would_detach": 7, "skipped_windows": 1, "keypairs_not_found": 2, "list_errors": 1,
                       "failed": 0}, p["counts"]
assert p["reboot"]["would_queue"] == 7 and p["reboot"]["queued"] == 0, p["reboot"]
assert p["reboot"]["window"]["state"] == "none", p["reboot"]
' "$expected" || kr_fail "plan --json"
kr_expect_eq "$(mutating_calls)" 0 "mutating API calls after plan --json"
kr_pass "plan --json holds the same actions and counts"

# ---- a real pass, then status --------------------------------------------------------------------

calls_before=$(kr_count_calls '*')
# As a unit's --once would run (a manual --once leaves MetricsFile= to the service).
export INVOCATION_ID=0123456789abcdef0123456789abcdef
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
calls_after=$(kr_count_calls '*')

rc=0; ctl status >"$T/status.txt" 2>"$T/status.err" || rc=$?
kr_expect_eq "$rc" 3 "status exit status with problems listed $(cat "$T/status.err")"
for i in $expected; do
        grep -qE "^cn-[a-z]+ +kp-[a-z-]+ +$i +pending +[A-Z][a-z]{2} 20[0-9-]+ [0-9:]+ [A-Z+0-9-]+ +- +- +-$" "$T/status.txt" ||
                kr_fail "status does not show $i detached and pending: $(cat "$T/status.txt")"
done
grep -qE '^kp-alice +small.list:2 +all +lost laptop +3 +cn-hangzhou/kp-alice, cn-shanghai/kp-alice$' "$T/status.txt" ||
        kr_fail "status entry kp-alice: $(cat "$T/status.txt")"
grep -qE '^SHA256:cDiqxV78zkf9kBKHUOMXjrsRua9OYzPnBdQOhAy9zfc +small.list:4 +all +leaked +1 +cn-hangzhou/kp-carol$' "$T/status.txt" ||
        kr_fail "status entry SHA256 (resolved through its reason)"
grep -qE '^kp-nonexistent +small.list:8 +all +- +0 +-$' "$T/status.txt" || kr_fail "status entry kp-nonexistent"
grep -qE '^key SHA256:[A-Za-z0-9+/]{43} +small.list:3 +all +- +2 +cn-hangzhou/kp-bob, cn-shanghai/kp-bob-copy$' "$T/status.txt" ||
        kr_fail "status entry for the public key (attributed by the list:line the queue records)"
grep -q "could have matched" "$T/status.txt" && kr_fail "status left instances unattributed"
grep -q "^  $T/revoked.d/small.list:7: " "$T/status.txt" || kr_fail "status does not show the bad line"
grep -q "^Reboot queue: 7 pending, 0 rebooting, 0 detaching, 0 done$" "$T/status.txt" || kr_fail "status queue counts"
grep -qE "^Oldest exposure: [0-9]+s \(i-[a-z0-9-]+, detached " "$T/status.txt" || kr_fail "status oldest exposure"
grep -q "^Next window: never: no Window= is configured" "$T/status.txt" || kr_fail "status next window"
grep -qE "^Last pass: [A-Z][a-z]{2} 20[0-9-]+ [0-9:]+ [+-][0-9]{4} \([0-9]+s ago, took [0-9]+s\): enforced, 7 detached \(7 newly queued for reboot\), 1 skipped, 0 instance\(s\) failed, 0 of 2 region\(s\) failed$" "$T/status.txt" ||
        kr_fail "status last pass: $(cat "$T/status.txt")"
sed -n '/^Needs attention:$/,$p' "$T/status.txt" >"$T/attention.txt"
grep -qx "  1 list line(s) or file(s) are not enforced (listed above)" "$T/attention.txt" || kr_fail "attention: bad line"
grep -qx "  7 reboot(s) pending, but no Window= is configured: they never start" "$T/attention.txt" ||
        kr_fail "attention: no window: $(cat "$T/attention.txt")"
kr_expect_eq "$(wc -l <"$T/attention.txt")" 3 "lines of the attention section"
! grep -qP '\t|\x1b' "$T/status.txt" || kr_fail "piped status output holds tabs or colours"
kr_pass "status shows every detached instance as pending, the entries' key pairs, the queue and exposure"

ctl status --json | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
inst = {i["instance_id"]: i for i in s["queue"]["instances"]}
assert sorted(inst) == sys.argv[1].split(), sorted(inst)
assert all(i["state"] == "pending" and i["detached"] and i["finished"] is None for i in inst.values()), inst
assert inst["i-hz-l1"]["reason"] == "lost laptop" and inst["i-hz-l1"]["line"] == 2, inst["i-hz-l1"]
assert s["queue"]["counts"] == {"detaching": 0, "pending": 7, "rebooting": 0, "done": 0}, s["queue"]["counts"]
assert s["queue"]["oldest_exposure"]["instance_id"] in inst
assert s["queue"]["oldest_exposure"]["seconds"] >= 0
alice = [e for e in s["entries"] if e["entry"] == "kp-alice"][0]
assert alice["kind"] == "name" and alice["line"] == 2 and alice["reason"] == "lost laptop", alice
assert alice["keypairs"] == [{"region": "cn-hangzhou", "keypair": "kp-alice"},
                             {"region": "cn-shanghai", "keypair": "kp-alice"}], alice
md5 = [e for e in s["entries"] if e["kind"] == "md5"][0]
assert md5["regions"] == ["cn-shanghai"], md5
assert len(s["lists"]["files"]) == 1 and s["lists"]["files"][0]["entries"] == 5, s["lists"]
assert len(s["lists"]["problems"]) == 1 and ":7: " in s["lists"]["problems"][0], s["lists"]
assert s["next_window"]["state"] == "none", s["next_window"]
p = s["last_pass"]
assert p["result"] == "enforced" and p["end"] >= p["start"] and p["lists"] == 1 and p["entries"] == 5, p
assert p["counts"] == {"detached": 7, "skipped": 1, "instances_failed": 0, "regions": 2, "regions_failed": 0,
                       "keypairs_not_found": 2, "newly_queued": 7}, p["counts"]
assert len(s["problems"]) == 2 and "no Window=" in s["problems"][1], s["problems"]
' "$expected" || kr_fail "status --json"
kr_pass "status --json holds the same instances, entries, counts and window"

# On a terminal (a pty from script(1)) the states are coloured.
script -qec "$KEYREVOKECTL -c $T/keyrevoke.conf status" /dev/null >"$T/status.tty" || [ $? = 3 ] || kr_fail "status on a pty"
grep -q $'\x1b\\[33mpending' "$T/status.tty" || kr_fail "status on a terminal is not coloured"
kr_pass "colours only on a terminal"

# After the pass, plan finds nothing left to detach and still sends no mutating call.
detach_calls=$(kr_count_calls DetachKeyPair)
ctl plan >"$T/plan2.txt" || kr_fail "second plan failed"
kr_expect_eq "$(kr_count_calls DetachKeyPair)" "$detach_calls" "DetachKeyPair calls after a second plan"
kr_expect_eq "$(kr_count_calls RebootInstance)" 0 "RebootInstance calls"
grep -q "^Would detach 0 instance(s)" "$T/plan2.txt" || kr_fail "plan after the pass: $(cat "$T/plan2.txt")"
grep -q "^Reboots: 0 to queue after their detach, 7 already queued.$" "$T/plan2.txt" || kr_fail "plan queue count"
kr_pass "plan after the pass: nothing left to detach, 7 reboots already queued"

# plan FILE: a list that is not installed yet, instead of the directory's.
printf 'kp-dave reason=offboarded\nkp-nobody\nbad name\n' >"$T/new.list"
chmod 0644 "$T/new.list"
ctl plan "$T/new.list" >"$T/plan3.txt" || kr_fail "plan FILE failed"
grep -qE '^cn-hangzhou +kp-dave +i-hz-d1 +would-detach +offboarded +new.list:1$' "$T/plan3.txt" ||
        kr_fail "plan FILE does not detach i-hz-d1: $(cat "$T/plan3.txt")"
grep -qE '^- +- +- +list-error +unexpected text.* new.list:3$' "$T/plan3.txt" || kr_fail "plan FILE bad line"
grep -q "^Would detach 1 instance(s); 0 Windows instance(s) skipped; 2 key pair name(s) not found; 1 list problem(s)" \
        "$T/plan3.txt" || kr_fail "plan FILE summary: $(cat "$T/plan3.txt")"
kr_expect_eq "$(mutating_calls)" "$detach_calls" "mutating calls after plan FILE"
kr_pass "plan FILE plans for a list before it is installed"

# ---- metrics -----------------------------------------------------------------------------------

m="$T/metrics/keyrevoke.prom"
[ -f "$m" ] || kr_fail "no metrics file after the pass"
kr_expect_eq "$(stat -c %a "$m")" 644 "metrics file mode"
promtool check metrics <"$m" >"$T/promtool.out" 2>&1 || kr_fail "promtool rejects the metrics: $(cat "$T/promtool.out")"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$m"; }
kr_expect_eq "$(metric 'keyrevoke_last_pass_instances{result="detached"}')" 7 "detached metric"
kr_expect_eq "$(metric 'keyrevoke_last_pass_instances{result="skipped"}')" 1 "skipped metric"
kr_expect_eq "$(metric 'keyrevoke_last_pass_instances{result="failed"}')" 0 "failed metric"
kr_expect_eq "$(metric keyrevoke_last_pass_keypairs_not_found)" 2 "not-found metric"
kr_expect_eq "$(metric keyrevoke_revoked_entries)" 5 "revoked entries metric"
kr_expect_eq "$(metric keyrevoke_revocation_lists)" 1 "lists metric"
kr_expect_eq "$(metric keyrevoke_reboot_queue_length)" 7 "queue length metric"
kr_expect_eq "$(metric 'keyrevoke_queue_entries{state="pending"}')" 7 "pending queue entries metric"
kr_expect_eq "$(metric keyrevoke_last_pass_dry_run)" 0 "dry-run metric"
kr_expect_eq "$(metric 'keyrevoke_api_requests_total{action="DetachKeyPair"}')" "$detach_calls" "DetachKeyPair requests metric"
total=$(awk '$1 ~ /^keyrevoke_api_requests_total/ { n += $2 } END { print n }' "$m")
kr_expect_eq "$total" "$((calls_after - calls_before))" "API requests metric against the emulator log"
grep -q '^keyrevoke_api_errors_total' "$m" && kr_fail "API errors counted in a clean run"
"$PYTHON3" -c '
import sys, time
v = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if not l.startswith("#")}
assert abs(v["keyrevoke_last_pass_timestamp_seconds"] - time.time()) < 120, v
assert 0 < v["keyrevoke_last_pass_duration_seconds"] < 60, v
assert 0 <= v["keyrevoke_oldest_exposure_seconds"] < 60, v
' "$m" || kr_fail "metrics times"
[ -z "$(find "$T/metrics" -name '.*')" ] || kr_fail "metrics temp file left behind"
kr_pass "metrics file passes promtool check metrics and holds the pass's counts"

# ---- reboots: status shows their outcome and times ------------------------------------------------

printf '[Reboot]\nWindow=always\n' >>"$T/keyrevoke.conf"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once with reboots exit status"
kr_expect_eq "$(kr_count_calls RebootInstance applied)" 6 "RebootInstance calls (the stopped instance is left alone)"
rc=0; ctl status >"$T/status2.txt" || rc=$?
kr_expect_eq "$rc" 3 "status after the reboots (the bad list line is still there)"
grep -qE '^cn-hangzhou +kp-alice +i-hz-l1 +done +[A-Z][a-z]{2} [0-9: -]+ [+-][0-9]{4} +[A-Z][a-z]{2} [0-9: -]+ [+-][0-9]{4} +[A-Z][a-z]{2} [0-9: -]+ [+-][0-9]{4} +completed$' \
        "$T/status2.txt" || kr_fail "status after the reboots: $(cat "$T/status2.txt")"
grep -qE '^cn-hangzhou +kp-carol +i-hz-c1 +done +.* +- +[A-Z][a-z]{2} [0-9: -]+ [+-][0-9]{4} +stopped$' "$T/status2.txt" ||
        kr_fail "status of the stopped instance"
grep -q "^Reboot queue: 0 pending, 0 rebooting, 0 detaching, 7 done$" "$T/status2.txt" || kr_fail "status queue after reboots"
grep -q "^Oldest exposure: none$" "$T/status2.txt" || kr_fail "exposure after the reboots"
grep -q "^Next window: always (Window=always)$" "$T/status2.txt" || kr_fail "next window with Window=always"
ctl status --json | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
inst = {i["instance_id"]: i for i in s["queue"]["instances"]}
done = sorted(i for i, e in inst.items() if e["outcome"] == "completed" and e["reboot_started"] and e["finished"])
assert done == "i-hz-b1 i-hz-l1 i-hz-l2 i-sh-a1 i-sh-b2 i-sh-e1".split(), done
assert inst["i-hz-c1"]["outcome"] == "stopped" and inst["i-hz-c1"]["reboot_started"] is None, inst["i-hz-c1"]
assert s["queue"]["oldest_exposure"] is None and s["next_window"]["state"] == "always", s
' || kr_fail "status --json after the reboots"
kr_pass "status shows the rebooted instances (started, finished, completed) and the stopped one"

# ---- check -------------------------------------------------------------------------------------

good="$T/good.list"
printf '# good\nkp-alice reason="lost laptop"\nSHA256:cDiqxV78zkf9kBKHUOMXjrsRua9OYzPnBdQOhAy9zfc region=cn-hangzhou\n' >"$good"
cat "$top_srcdir/tests/data/keys/ed25519.pub" >>"$good"
chmod 0644 "$good"
out=$("$KEYREVOKECTL" check "$good" "$top_srcdir/tests/data/lists/keys.list" 2>&1 | grep good.list || true)
[ -z "$out" ] || kr_fail "check reports a good file: $out"
rc=0; out=$("$KEYREVOKECTL" check "$good") || rc=$?
kr_expect_eq "$rc:$out" "0:" "check of a good file"
# Ansible's validate: a temp file with another name, mode 0600.
tmp="$T/.ansible_tmp.XXXX"
install -m 0600 "$good" "$tmp"
"$KEYREVOKECTL" check "$tmp" || kr_fail "check refuses an Ansible temp file"
kr_pass "check accepts good files (exit 0, no output), Ansible temp files included"

export LC_ALL=C # globs sort like lists_load() does
b="$T/bad"
mkdir -p "$b"
printf 'kp-ok\n' >"$b/foreign.list"; chown 12345:12345 "$b/foreign.list"
printf 'kp-ok\n' >"$b/group-writable.list"; chmod 0664 "$b/group-writable.list"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$b/huge.list"
printf 'kp-ok\n\0\n' >"$b/nul.list"
mkdir "$b/dir.list"
{
        printf 'kp-ok\n'
        head -c $((16 * 1024 + 1)) /dev/zero | tr '\0' 'x'
        printf '\nkp-\xff\n'
} >"$b/lines.list"
for i in $(seq 1 102); do printf 'bad name %d\n' "$i"; done >"$b/many.list"
"$PYTHON3" -c 'import sys; sys.stdout.write("ab\n" * (1024 * 1024) + "kp-last\n")' >"$b/entries.list"
chmod go-w "$b"/*.list 2>/dev/null; chmod 0664 "$b/group-writable.list"
for f in "$top_srcdir"/tests/data/lists/*.list; do install -m 0644 "$f" "$b/"; done

rc=0; "$KEYREVOKECTL" check "$b"/*.list "$b/missing.list" >"$T/check.out" 2>"$T/check.err" || rc=$?
kr_expect_eq "$rc" 1 "check exit status on bad files"
expect() { # FILE[:LINE] message-substring
        grep -F "$b/$1: " "$T/check.out" | grep -qF "$2" || kr_fail "check does not report '$1: $2': $(head -50 "$T/check.out")"
}
expect foreign.list "owned by uid 12345"
expect group-writable.list "writable by group or others"
expect huge.list "larger than 16 MiB"
expect nul.list "contains NUL bytes"
expect dir.list "not a regular file (a directory)"
expect missing.list "cannot open: No such file or directory"
expect lines.list:2 "line longer than 16 KiB"
expect lines.list:3 "line is not valid UTF-8"
expect many.list:100 "unexpected text"
expect many.list:101 "more than 100 bad lines"
expect entries.list:1048577 "too many entries in one file"
expect basic.list:11 'unexpected text "name": options are region=R1,R2 and reason=TEXT'
expect options.list:32 'unexpected text "laptop": a reason with spaces goes in double quotes'
expect options.list:33 'unknown option "regoin=": did you mean region=R1,R2?'
expect names.list:3 "invalid key pair name: must be 2 to 128 characters long"
expect names.list:6 "must start with a letter"
expect names.list:8 "must not start with http:// or https://"
expect names.list:12 "only letters, digits"
expect names.list:17 "certificates are not supported"
expect keys.list:11 "key data does not match the key type"
expect keys.list:12 "key data is truncated"
expect keys.list:13 "key data is not valid base64"
expect keys.list:15 "key data missing after the key type"
expect keys.list:17 "invalid fingerprint: expected SHA256:"
expect keys.list:19 "invalid fingerprint: expected MD5:"
expect options.list:7 "unterminated quote"
expect options.list:8 "empty option value"
expect options.list:11 "invalid region= value"
expect options.list:14 "unknown option"
expect options.list:15 "region= given twice"
expect options.list:16 "reason= given twice"
expect options.list:17 "text right after a closing quote"
expect options.list:18 "quote inside an unquoted value"
expect options.list:21 "reason= contains a control character"
grep -qv "^$b/[a-z.-]*\.list\(:[0-9]*\)\?: " "$T/check.out" && kr_fail "check output line not FILE[:LINE]: message"
kr_pass "check reports every kind of bad file and line as FILE[:LINE]: message, exit 1"

# The same code path as keyrevoked --check-config: the same problems, word for word.
rm -rf "$b/dir.list"
sed "s|^RevocationDirectory=.*|RevocationDirectory=$b|" "$T/keyrevoke.conf" >"$T/check.conf"
"$KEYREVOKED" -c "$T/check.conf" --check-config >"$T/check-config.out" 2>/dev/null && kr_fail "--check-config accepted bad lists"
"$KEYREVOKECTL" check "$b"/*.list >"$T/check2.out" && kr_fail "check accepted bad lists"
diff "$T/check-config.out" "$T/check2.out" >"$T/check.diff" || kr_fail "check and --check-config differ: $(head "$T/check.diff")"
kr_pass "check prints exactly what keyrevoked --check-config prints for the same lists"

"$KEYREVOKECTL" --json check "$good" "$b/options.list" | "$PYTHON3" -c '
import json, sys
c = json.load(sys.stdin)
assert c["ok"] is False
good, bad = c["files"]
assert good["problems"] == [] and good["entries"] == 3, good
assert {"line": 7, "message": "unterminated quote"} in bad["problems"], bad
' || kr_fail "check --json"
kr_pass "check --json lists each file's entries and problems"

# ---- windows -----------------------------------------------------------------------------------

printf '[Reboot]\nWindow=Sat,Sun 02:00-04:00\nTimeZone=Asia/Shanghai\n' >"$T/windows.conf"
"$KEYREVOKECTL" -c "$T/windows.conf" windows 3 >"$T/windows.out" || kr_fail "windows failed"
"$PYTHON3" - "$T/windows.out" <<'PY' || kr_fail "windows 3: $(cat "$T/windows.out")"
import datetime, sys, zoneinfo
tz = zoneinfo.ZoneInfo("Asia/Shanghai")
now = datetime.datetime.now(tz)
spans = []
for d in range(-1, 15):
    day = (now + datetime.timedelta(days=d)).date()
    if day.weekday() in (5, 6):
        start = datetime.datetime(day.year, day.month, day.day, 2, 0, tzinfo=tz)
        if start + datetime.timedelta(hours=2) > now:
            spans.append(start)
want = ["%s  %s  2h 0min" % (s.strftime("%a %Y-%m-%d %H:%M +0800"),
                             (s + datetime.timedelta(hours=2)).strftime("%a %Y-%m-%d %H:%M +0800")) for s in spans[:3]]
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "Time zone: Asia/Shanghai", lines
rows = lines[lines.index(next(l for l in lines if l.startswith("START"))) + 1:]
assert rows == want, (rows, want)
PY
"$KEYREVOKECTL" -c "$T/windows.conf" --json windows 2 | "$PYTHON3" -c '
import json, sys
w = json.load(sys.stdin)
assert w["time_zone"] == "Asia/Shanghai" and len(w["windows"]) == 2, w
assert all(x["start"].endswith("T02:00:00+08:00") and x["end"].endswith("T04:00:00+08:00") for x in w["windows"]), w
' || kr_fail "windows --json"
kr_pass "windows 3 lists the next Sat/Sun 02:00-04:00 openings in Asia/Shanghai"

rc=0; "$KEYREVOKECTL" -c "$T/windows.conf" windows 0 2>/dev/null || rc=$?
kr_expect_eq "$rc" 1 "windows 0 exit status"
rc=0; "$KEYREVOKECTL" -c "$T/windows.conf" frobnicate 2>/dev/null || rc=$?
kr_expect_eq "$rc" 1 "unknown command exit status"
rc=0; "$KEYREVOKECTL" -c "$T/nonexistent.conf" status 2>/dev/null || rc=$?
kr_expect_eq "$rc" 1 "status with a missing config"
kr_pass "usage and config errors exit 1"

# ---- bash completion ---------------------------------------------------------------------------

"$BASH" -c '
. /usr/share/bash-completion/bash_completion || exit 1
. "$1/conf/keyrevokectl.bash-completion" || exit 1
cd "$2"
complete_words() { # the words of a command line, the last one being completed
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
        _keyrevokectl keyrevokectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
}
[ "$(complete_words keyrevokectl "")" = "check plan status windows " ] || exit 2
[ "$(complete_words keyrevokectl --js)" = "--json " ] || exit 3
[ "$(complete_words keyrevokectl -c keyrevoke.co)" = "keyrevoke.conf " ] || exit 4
[ "$(complete_words keyrevokectl --json check go)" = "good.list " ] || exit 5
' - "$top_srcdir" "$T" || kr_fail "bash completion (status $?)"
kr_pass "bash completion offers the commands, options, config and list files"
