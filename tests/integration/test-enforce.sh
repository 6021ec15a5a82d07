#!/bin/bash
# The real keyrevoked against the emulator, events read from a real journald: every entry kind
# resolves to the right key pairs, Windows is never sent, a bad line is reported while the rest
# is enforced, a named key pair that exists nowhere is reported, --dry-run mutates nothing.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou cn-shanghai
CONF
kr_install_list "$top_srcdir/tests/data/fleet/small.list" small.list
expected="i-hz-b1 i-hz-c1 i-hz-l1 i-hz-l2 i-sh-a1 i-sh-b2 i-sh-e1"

# --dry-run: events say what would happen, no mutating call reaches the API.
rc=0; kr_run_once --dry-run || rc=$?
kr_expect_eq "$rc" 0 "--dry-run exit status"
kr_expect_eq "$(kr_count_calls DetachKeyPair)" 0 "DetachKeyPair calls in --dry-run"
kr_expect_eq "$(kr_count_events would-detach DRY_RUN=1)" 7 "would-detach events"
kr_expect_eq "$(kr_count_events detached)" 0 "detached events in --dry-run"
kr_pass "--dry-run sends no mutating call"

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
got=$("$PYTHON3" "$top_srcdir/tests/integration/query.py" instances "$T/emu.log" DetachKeyPair | sort | tr '\n' ' ')
kr_expect_eq "$got" "$expected " "instances detached in the emulator"
kr_pass "names, public keys, SHA256 and MD5 fingerprints resolve to the right key pairs"

kr_journal | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("KEYREVOKE_EVENT") == "detached" and not e.get("KEYREVOKE_REQUEST_ID"):
        sys.exit("detached event without request id: %s" % e.get("KEYREVOKE_INSTANCE"))
' || kr_fail "detached events carry the request id"
kr_expect_eq "$(kr_count_events detached)" 7 "detached events"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-hz-l1 KEYPAIR=kp-alice REGION=cn-hangzhou 'REASON=lost laptop')" 1 "detached event fields"
kr_expect_eq "$(kr_count_events reboot-queued)" 7 "reboot-queued events"
kr_pass "one detached and one reboot-queued event per instance, with request id and reason"

"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "a Windows instance was sent to DetachKeyPair"
import json, sys
for line in open(sys.argv[1]):
    c = json.loads(line)
    if c.get("action") == "DetachKeyPair" and "i-hz-w1" in c["params"].get("InstanceIds", ""):
        sys.exit(1)
PY
kr_expect_eq "$(kr_count_events skipped-windows INSTANCE=i-hz-w1)" 2 "skipped-windows events (dry run and real run)"
kr_expect_eq "$(kr_count_events skipped-windows INSTANCE=i-hz-w1 DRY_RUN=1)" 1 "skipped-windows event in the dry run"
kr_pass "Windows instance skipped and reported, never sent"

kr_expect_eq "$(kr_count_events list-error LINE=7)" 2 "list-error for line 7 (dry run and real run)"
kr_expect_eq "$(kr_count_events list-loaded ENTRIES=5)" 2 "list-loaded with 5 entries"
kr_pass "bad line reported with file and line, valid lines enforced"

kr_expect_eq "$(kr_count_events keypair-not-found KEYPAIR=kp-nonexistent DRY_RUN=1)" 2 "keypair-not-found per region (dry run)"
kr_expect_eq "$(kr_count_events keypair-not-found KEYPAIR=kp-alice)" 0 "no keypair-not-found for a name that exists"
kr_pass "a named key pair that exists nowhere is reported per region"

kr_expect_eq "$(kr_count_events enforcement-complete DETACHED=7 SKIPPED=1 FAILED=0 QUEUED=7)" 1 "enforcement-complete counts"
"$PYTHON3" - "$T/state/queue.json" <<'PY' || kr_fail "queue.json does not hold the 7 instances"
import json, sys
q = json.load(open(sys.argv[1]))
ids = sorted(e["instance_id"] for e in q["entries"] if e["state"] == "pending")
assert ids == "i-hz-b1 i-hz-c1 i-hz-l1 i-hz-l2 i-sh-a1 i-sh-b2 i-sh-e1".split(), ids
PY
[ "$(stat -c %a "$T/state/queue.json")" = 600 ] || kr_fail "queue.json mode is not 0600"
kr_pass "every detached instance is in the persistent reboot queue (mode 0600)"

# A second pass finds nothing left to detach: no call is repeated.
before=$(kr_count_calls DetachKeyPair)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "second --once exit status"
kr_expect_eq "$(kr_count_calls DetachKeyPair)" "$before" "DetachKeyPair calls after a second pass"
kr_pass "a second pass re-sends nothing"
