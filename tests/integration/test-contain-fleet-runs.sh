#!/bin/bash
# Scope=fleet when a region's revoked keys are too many for one Cloud Assistant command (24 RSA
# keys and more): an instance bound to no revoked key pair is sent every run of keys, the next as
# soon as one is proved, and is contained (one event, all the keys) only when the last one is;
# between runs status counts it uncontained. A second pass sends nothing; a new revoked key starts
# again at the first run; a SIGKILL between two runs, or while the second runs, loses and repeats
# nothing; a failed run is tried again at the next pass, from that run. An instance bound to a
# revoked key pair is sent every run too (a copy of another revoked key may be on it).
. "$(dirname "$0")/lib.sh"

for n in $(seq -w 1 26); do
        ssh-keygen -q -t rsa -b 2048 -N '' -C "kp-$n" -f "$T/key-$n" >/dev/null
done
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other" >/dev/null
"$PYTHON3" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
pub = lambda f: open(f + ".pub").read().strip()
blob = lambda f: " ".join(pub(f).split()[:2])
keypairs = [{"region": "cn-hangzhou", "name": "kp-%02d" % n, "public_key": pub("%s/key-%02d" % (T, n))} for n in range(1, 25)]
# Copies of a key of the first run and of the last one, beside a key that is not revoked.
keys = {"root": [blob(T + "/key-01"), blob(T + "/key-24"), blob(T + "/other")]}
instances = [{"id": "i-u%d" % k, "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
              "authorized_keys": keys} for k in (1, 2, 3)]
json.dump({"regions": ["cn-hangzhou"],
           "credentials": [{"access_key_id": "testid", "access_key_secret": "testsecret"}],
           "keypairs": keypairs, "instances": instances}, open(T + "/fleet.json", "w"))
with open(T + "/revoked.list", "w") as f:
    for k in keypairs:
        f.write(k["name"] + "\n")
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou
[Contain]
Enabled=yes
Scope=fleet
CONF
kr_install_list "$T/revoked.list" revoked.list

# The number of runs the daemon split the region's keys into (its last pass).
runs_of_keys() {
        sed -n 's/.*too many for one Cloud Assistant command: split into \([0-9]*\) runs.*/\1/p' "$T/daemon.log" | tail -n 1
}

# Every unbound instance blocks all of the first $1 key pairs' keys on the host, and the key that is not
# revoked still logs in.
check_blocked() {
        kr_emuctl ca-state >"$T/ca.json"
        "$PYTHON3" - "$T" "$1" <<'PY' || kr_fail "an unbound instance does not block all the revoked keys"
import json, sys
T, n = sys.argv[1], int(sys.argv[2])
ca = json.load(open(T + "/ca.json"))["instances"]
blob = lambda f: " ".join(open(f + ".pub").read().split()[:2])
want = {blob("%s/key-%02d" % (T, k)) for k in range(1, n + 1)}
bad = [i for i in ("i-u1", "i-u2", "i-u3") if not want <= set(ca[i]["revoked_keys"] or [])
       or ca[i]["authorized_keys"]["root"] != [blob(T + "/other")]]
print("missing keys on: " + " ".join(bad) if bad else "every unbound instance blocks all %d keys" % n)
sys.exit(1 if bad else 0)
PY
}

# Commands delivered to each unbound instance.
ca_runs() {
        kr_emuctl ca-state | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)["instances"]
print(" ".join(str(s[i]["runs"]) for i in ("i-u1", "i-u2", "i-u3")))'
}

# The status of every unbound instance in the record.
record_states() {
        "$PYTHON3" -c '
import json, sys
e = {x["instance_id"]: x["status"] for x in json.load(open(sys.argv[1]))["entries"]}
print(" ".join(e.get(i, "-") for i in ("i-u1", "i-u2", "i-u3")))' "$T/state/contained.json"
}

status_line() {
        "$top_builddir/keyrevokectl" -c "$T/keyrevoke.conf" status 2>/dev/null | grep '^Containment:'
}

# A new revoked key pair $1 in the region and the list.
revoke_more() {
        kr_emuctl add-keypair \
                "{\"region\": \"cn-hangzhou\", \"name\": \"kp-$1\", \"public_key\": \"$(cat "$T/key-$1.pub")\"}" >/dev/null
        echo "kp-$1" >>"$T/revoked.list"
        kr_install_list "$T/revoked.list" revoked.list
}

# A dry run: one would-contain per instance, with all the keys, nothing sent.
rc=0; kr_run_once --dry-run || rc=$?
kr_expect_eq "$rc" 0 "--once --dry-run exit status"
kr_expect_eq "$(kr_count_events would-contain)" 3 "would-contain events"
kr_expect_eq "$(kr_journal | grep -c 'Would block 24 revoked key(s) on i-u')" 3 "would-contain events with all 24 keys"
kr_expect_eq "$(kr_count_calls RunCommand)" 0 "RunCommand calls in a dry run"
kr_pass "dry run: one would-contain per unbound instance, with all 24 keys"

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
k=$(runs_of_keys)
[ "${k:-0}" -ge 2 ] || kr_fail "24 RSA keys were not split into runs (got '${k:-}')"
kr_expect_eq "$(kr_count_events contain-failed)" 0 \
        "contain-failed events ($(kr_journal | grep -o '"KEYREVOKE_ERROR":"[^"]*"' | sort | uniq -c | tr -s ' \n' ' '))"
for i in i-u1 i-u2 i-u3; do
        kr_expect_eq "$(kr_count_events contained INSTANCE=$i REMOVED=2)" 1 "contained events of $i (both copies removed)"
done
kr_expect_eq "$(kr_journal | grep -c 'Blocked 24 revoked key(s) on i-u')" 3 "contained events with all 24 keys"
kr_expect_eq "$(kr_count_calls RunCommand applied)" "$k" "RunCommand calls (one per run of keys)"
kr_expect_eq "$(ca_runs)" "$k $k $k" "commands delivered per instance"
check_blocked 24
kr_expect_eq "$(record_states)" "contained contained contained" "record entries"
# No contained event before the last run was sent.
kr_journal | "$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "an instance was reported contained before its last run"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1]) if '"RunCommand"' in l]
last = max(c["t"] for c in calls if c.get("action") == "RunCommand")
early = [e["KEYREVOKE_INSTANCE"] for e in map(json.loads, sys.stdin)
         if e.get("KEYREVOKE_EVENT") == "contained" and int(e["__REALTIME_TIMESTAMP"]) / 1e6 < last]
print("contained before the last run: " + " ".join(early) if early else "every contained event after the last run")
sys.exit(1 if early else 0)
PY
kr_expect_eq "$(status_line)" "Containment: 3 contained, 0 uncontained" "status after containment"
kr_pass "Scope=fleet, $k runs of keys: every unbound instance is sent all of them and contained once, after the last"

before=$(kr_count_calls RunCommand)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_calls RunCommand)" "$before" "RunCommand calls of a second pass"
kr_expect_eq "$(kr_count_events contained)" 3 "contained events after a second pass"
kr_pass "a second pass with the same keys sends nothing"

# A new revoked key: from the first run again. Killed between two runs (the second one's agent
# check delayed), then restarted: it goes on with the second run, the first one not sent again.
revoke_more 25
for i in i-u1 i-u2 i-u3; do kr_emuctl ca-set "{\"id\": \"$i\", \"ca_run_seconds\": 2}" >/dev/null; done
before=$(kr_count_calls RunCommand applied)
kr_start_daemon
kr_wait_for '[ "$(kr_count_calls RunCommand applied)" -gt '"$before"' ]' 30 || kr_fail "no RunCommand for the new key set"
kr_emuctl fault DescribeCloudAssistantStatus latency:8000 1 >/dev/null
kr_wait_for '[ "$(record_states)" = "partial partial partial" ]' 30 ||
        kr_fail "the first run was not recorded proved: $(record_states)"
kr_expect_eq "$(status_line)" "Containment: 0 contained, 3 uncontained" "status between two runs"
kill -KILL "$KR_DAEMON"
wait "$KR_DAEMON" 2>/dev/null || true
kr_expect_eq "$(kr_count_events contained)" 3 "contained events between two runs"
kr_expect_eq "$(kr_count_calls RunCommand applied)" "$((before + 1))" "RunCommand calls before the kill"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status after the kill between runs"
k2=$(runs_of_keys)
for i in i-u1 i-u2 i-u3; do
        kr_expect_eq "$(kr_count_events contained INSTANCE=$i)" 2 "contained events of $i after the kill between runs"
done
kr_expect_eq "$(kr_journal | grep -c 'Blocked 25 revoked key(s) on i-u')" 3 "contained events with all 25 keys"
kr_expect_eq "$(kr_count_calls RunCommand applied)" "$((before + k2))" "RunCommand calls for the new key set"
n=$((k + k2)); kr_expect_eq "$(ca_runs)" "$n $n $n" "commands delivered per instance"
check_blocked 25
kr_pass "SIGKILL between two runs: the restart sends the next run, none twice, one contained event each"

# Killed while the second run runs, one instance failing it: the restart follows the run (its
# ClientToken replays it), that instance fails, and the next pass sends it that run alone.
revoke_more 26
for i in i-u1 i-u2 i-u3; do kr_emuctl ca-set "{\"id\": \"$i\", \"ca_run_seconds\": 3}" >/dev/null; done
before=$(kr_count_calls RunCommand applied)
kr_start_daemon
kr_wait_for '[ "$(kr_count_calls RunCommand applied)" -ge '"$((before + 2))"' ]' 40 || kr_fail "the second run was not sent"
kr_emuctl ca-set '{"id": "i-u3", "ca_behaviour": "exit:1"}' >/dev/null
kill -KILL "$KR_DAEMON"
wait "$KR_DAEMON" 2>/dev/null || true
kr_expect_eq "$(status_line)" "Containment: 0 contained, 3 uncontained" "status while the second run runs"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status after the kill during a run"
k3=$(runs_of_keys)
kr_expect_eq "$k3" 2 "runs of 26 keys"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-u1)" 3 "contained events of i-u1 after the kill during a run"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-u2)" 3 "contained events of i-u2 after the kill during a run"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-u3)" 2 "contained events of i-u3, its run failed"
kr_expect_eq "$(kr_count_events contain-failed INSTANCE=i-u3 ERROR=ExitCodeNonzero)" 1 "contain-failed of i-u3"
kr_expect_eq "$(kr_count_calls RunCommand applied)" "$((before + 2))" \
        "RunCommand calls (the second run followed, not sent again)"
n=$((k + k2 + k3)); kr_expect_eq "$(ca_runs)" "$n $n $n" "commands delivered per instance"
kr_expect_eq "$(status_line)" "Containment: 2 contained, 1 uncontained" "status with one run failed"
kr_emuctl ca-set '{"id": "i-u3", "ca_behaviour": "ok", "ca_run_seconds": 0.5}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_events contained INSTANCE=i-u3)" 3 "contained events of i-u3 at the next pass"
kr_expect_eq "$(kr_count_calls RunCommand applied)" "$((before + 3))" "RunCommand calls at the next pass (the failed run alone)"
kr_expect_eq "$(ca_runs)" "$n $n $((n + 1))" "commands delivered per instance at the next pass"
check_blocked 26
kr_expect_eq "$(status_line)" "Containment: 3 contained, 0 uncontained" "status at the end"
before=$(kr_count_calls RunCommand)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_calls RunCommand)" "$before" "RunCommand calls of the last pass"
kr_pass "SIGKILL during the second run: followed after the restart; a failed run is sent again alone at the next pass"

# An instance bound to a revoked key pair (its key in the first run) with a copy of a key of the
# last run: Scope=fleet sends it every run too, and it is contained when the last is proved.
kr_emuctl add-instance "$("$PYTHON3" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
blob = lambda f: " ".join(open(f + ".pub").read().split()[:2])
print(json.dumps({"id": "i-b1", "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                  "key_pair_name": "kp-01",
                  "authorized_keys": {"root": [blob(T + "/key-01"), blob(T + "/key-26"), blob(T + "/other")]}}))
PY
)" >/dev/null
before=$(kr_count_calls RunCommand applied)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with a bound instance"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-b1)" 1 "the bound instance is detached"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-b1 KEYPAIR=kp-01 REMOVED=2)" 1 "contained events of the bound instance"
kr_expect_eq "$(kr_journal | grep -c 'Blocked 26 revoked key(s) on i-b1')" 1 "its contained event names all 26 keys"
kr_expect_eq "$(kr_count_calls RunCommand applied)" "$((before + k3))" "RunCommand calls (one per run, for it alone)"
kr_emuctl ca-state | "$PYTHON3" -c '
import json, sys
T = sys.argv[1]
a = json.load(sys.stdin)["instances"]["i-b1"]
blob = lambda f: " ".join(open(f + ".pub").read().split()[:2])
want = {blob("%s/key-%02d" % (T, k)) for k in range(1, 27)}
assert want <= set(a["revoked_keys"] or []), "not all 26 keys blocked"
assert a["authorized_keys"]["root"] == [blob(T + "/other")], a["authorized_keys"]
' "$T" || kr_fail "the bound instance does not block every revoked key"
kr_pass "Scope=fleet: an instance bound to a revoked key pair is sent every run and contained after the last"
