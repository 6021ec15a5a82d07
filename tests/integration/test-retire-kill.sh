#!/bin/bash
# DeleteRevokedKeyPairs= is crash safe: a DeleteKeyPairs whose answer keyrevoked never recorded
# (SIGKILLed while the call was in flight, or frozen until its answer came and then killed, or the
# answer lost on the wire) still gives exactly one keypair-deleted, from the next run, which finds
# the key pair gone. A deletion that failed is tried again while the key pair is revoked, and
# forgotten, not made, once it no longer is. Never an event for a key pair that still exists.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" <<'PY'
import base64, json, struct, sys
def key(n):
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + bytes([n]) * 32
    return "ssh-ed25519 " + base64.b64encode(blob).decode()
names = ("kp-a", "kp-b", "kp-c", "kp-d", "kp-e", "kp-f", "kp-good")
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": n, "public_key": key(i + 1)} for i, n in enumerate(names)],
           "instances": [{"id": "i-g1", "region": "cn-hangzhou", "key_pair_name": "kp-good"}]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou
MaxRetries=1
DeleteRevokedKeyPairs=yes
CONF

keypairs() { kr_emuctl keypairs | "$PYTHON3" -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["cn-hangzhou"])))'; }
in_flight() { kr_emuctl state --no-instances | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["in_flight"].get("DeleteKeyPairs", 0))'; }
# answered NAME: the emulator has answered a DeleteKeyPairs that deleted NAME.
answered() {
        "$PYTHON3" -c '
import json, sys
sys.exit(not any(c.get("action") == "DeleteKeyPairs" and sys.argv[2] in (c.get("deleted") or [])
                 for c in map(json.loads, open(sys.argv[1]))))' "$T/emu.log" "$1"
}
revoke() {
        printf '%s\n' "$@" >"$T/retire.list"
        kr_install_list "$T/retire.list" retire.list
}
# start_held: keyrevoked --once, its DeleteKeyPairs held 3 s by the emulator; returns once it is in flight.
start_held() {
        kr_emuctl fault DeleteKeyPairs latency:3000 1 >/dev/null
        "$KEYREVOKED" -c "$T/keyrevoke.conf" --once 2>>"$T/daemon.log" &
        held=$!
        kr_wait_for '[ "$(in_flight)" = 1 ]' 20 || kr_fail "no DeleteKeyPairs in flight"
}
killed() {
        kill -KILL "$held"
        rc=0; wait "$held" 2>/dev/null || rc=$?
        kr_expect_eq "$rc" 137 "exit status of the killed keyrevoked"
}
expect_deleted_once() {
        for kp in "$@"; do
                kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR="$kp" REGION=cn-hangzhou)" 1 "keypair-deleted $kp"
        done
}

# 1. Killed while DeleteKeyPairs is in flight: the deletion lands after the kill.
revoke kp-a kp-b
start_held
killed
kr_wait_for 'answered kp-a' 20 || kr_fail "the held DeleteKeyPairs was not applied"
kr_expect_eq "$(kr_count_events keypair-deleted)" 0 "keypair-deleted before the restart"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status after the kill"
expect_deleted_once kp-a kp-b
kr_expect_eq "$(kr_count_calls DeleteKeyPairs)" 1 "DeleteKeyPairs calls (the restart sends none: the key pairs are gone)"
kr_journal | grep -q "Deleted revoked key pair 'kp-a' in cn-hangzhou: .* (found deleted:" ||
        kr_fail "the deletion found after the restart is not said so"
kr_pass "killed with DeleteKeyPairs in flight: the restart reports each deleted key pair once"

# 2. Frozen while it is in flight, killed once the answer has come: the answer is never read.
revoke kp-a kp-b kp-c
start_held
kill -STOP "$held"
kr_wait_for 'answered kp-c' 20 || kr_fail "the held DeleteKeyPairs was not answered"
killed
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-c)" 0 "keypair-deleted kp-c before the restart"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status after the kill"
expect_deleted_once kp-a kp-b kp-c
kr_pass "killed after the answer came, before it was read: reported once by the restart"

# 3. The answer lost on the wire, twice (the call and its retry): the run says it failed; the
#    next one finds the key pair gone.
revoke kp-a kp-b kp-c kp-d
kr_emuctl fault DeleteKeyPairs reset_after 2 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status with the answers lost"
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-d)" 0 "keypair-deleted kp-d with the answers lost"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status of the next run"
expect_deleted_once kp-a kp-b kp-c kp-d
kr_pass "an unanswered DeleteKeyPairs that took effect is reported once by the next run"

# 4. A deletion that failed (kp-e, kp-f): tried again while revoked (kp-e); kp-f, no longer revoked,
#    is not deleted and its saved key forgotten.
revoke kp-a kp-b kp-c kp-d kp-e kp-f
kr_emuctl fault DeleteKeyPairs internal 2 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status with DeleteKeyPairs failing"
kr_expect_eq "$(keypairs)" "kp-e kp-f kp-good" "key pairs left after the failed DeleteKeyPairs"
"$top_builddir/keyrevokectl" -c "$T/keyrevoke.conf" status >"$T/status.txt" || true
grep -qE "^cn-hangzhou +kp-e +deleting +- " "$T/status.txt" || kr_fail "status does not show kp-e deleting: $(cat "$T/status.txt")"
revoke kp-a kp-b kp-c kp-d kp-e
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status of the retry"
kr_expect_eq "$(keypairs)" "kp-f kp-good" "key pairs left after the retry"
expect_deleted_once kp-e
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-f)" 0 "keypair-deleted kp-f (no longer revoked)"
"$PYTHON3" - "$T/state/retired.json" <<'PY' || kr_fail "retired.json is not what was deleted"
import json, sys
r = {k["name"]: k for k in json.load(open(sys.argv[1]))["keypairs"]}
assert sorted(r) == ["kp-a", "kp-b", "kp-c", "kp-d", "kp-e"], sorted(r)
assert all(k["deleted_usec"] > 0 for k in r.values()), r
PY
kr_pass "a failed deletion is tried again while revoked, forgotten once not"

# 5. One more run: nothing new.
calls=$(kr_count_calls DeleteKeyPairs)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status of the last run"
kr_expect_eq "$(kr_count_calls DeleteKeyPairs)" "$calls" "DeleteKeyPairs calls of the last run"
kr_expect_eq "$(kr_count_events keypair-deleted)" 5 "keypair-deleted events in all"
expect_deleted_once kp-a kp-b kp-c kp-d kp-e
kr_pass "exactly one keypair-deleted per deleted key pair, none for one that exists"
