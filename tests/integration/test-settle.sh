#!/bin/bash
# Intents a killed run left DETACHING are settled by evidence only: a complete listing of their
# key pair, or a look at the instance. A pass that could not look (regions, key pairs or lists
# unavailable) promotes nothing; an instance a listing shows still bound, Windows or not, is never
# said to be detached. And a DetachKeyPair batch refused for a hidden Windows instance is split
# until it is isolated, however many instances are still being listed.
. "$(dirname "$0")/lib.sh"

FLEETGEN="$top_srcdir/tests/integration/fleetgen.py"
"$PYTHON3" "$FLEETGEN" "$T/fleet.json" cn-hangzhou:kp-rev-a:4:windows=1 cn-hangzhou:kp-rev-b:3 \
        cn-shanghai:kp-rev-c:120:hidden=1 --other cn-hangzhou:5
kr_start_emulator "$T/fleet.json"
kr_write_config </dev/null

# write_intents ID:KEYPAIR:REGION...: a queue as a run killed right after writing these intents.
write_intents() {
        "$PYTHON3" - "$T/state/queue.json" "$@" <<'PY'
import json, sys
entries = []
for spec in sys.argv[2:]:
    iid, kp, region = spec.split(":")
    entries.append({"instance_id": iid, "region": region, "keypair": kp, "state": "detaching",
                    "detached_usec": 0, "reboot_started_usec": 0, "done_usec": 0,
                    "reboot_failures": 0, "reboot_accepted": False})
json.dump({"version": 1, "entries": entries}, open(sys.argv[1], "w"))
PY
        chmod 0600 "$T/state/queue.json"
}

queue_state() {
        "$PYTHON3" - "$T/state/queue.json" "$1" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1]))["entries"]:
    if e["instance_id"] == sys.argv[2]:
        print(e["state"])
        break
else:
    print("absent")
PY
}

printf 'kp-rev-a\nkp-rev-b\n' >"$T/names.list"
kr_install_list "$T/names.list" names.list

# 1. DescribeRegions fails (Regions= empty): nothing was looked at in a listing; the look at the
#    instance shows it still bound, so its intent stays open and nothing is claimed.
write_intents i-kp-rev-b-0000:kp-rev-b:cn-hangzhou
# MaxRetries=5: six attempts, all refused.
kr_emuctl fault DescribeRegions unavailable 6 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status without regions"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-kp-rev-b-0000)" 0 "detached events for a still-bound instance"
kr_expect_eq "$(kr_count_events reboot-queued INSTANCE=i-kp-rev-b-0000)" 0 "reboot-queued for a still-bound instance"
kr_expect_eq "$(queue_state i-kp-rev-b-0000)" detaching "its intent"
kr_expect_eq "$(kr_count_events lookup-failed ERROR=ServiceUnavailable)" 1 "lookup-failed for DescribeRegions"
kr_pass "regions that cannot be listed: an open intent is not promoted"

# 2. The same with the region named, but its key pairs cannot be listed for a fingerprint entry
#    that was the only entry revoking the key pair.
kr_write_config <<'CONF'
Regions=cn-hangzhou
CONF
rm -f "$T/revoked.d/names.list"
"$PYTHON3" - "$T/fleet.json" >"$T/keys.list" <<'PY'
import base64, hashlib, json, sys
for kp in json.load(open(sys.argv[1]))["keypairs"]:
    if kp["name"] == "kp-rev-b":
        blob = base64.b64decode(kp["public_key"].split()[1])
        print("SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="))
PY
kr_install_list "$T/keys.list" keys.list
kr_emuctl fault DescribeKeyPairs unavailable 6 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status without key pairs"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-kp-rev-b-0000)" 0 "detached events after a failed DescribeKeyPairs"
kr_expect_eq "$(queue_state i-kp-rev-b-0000)" detaching "its intent after a failed DescribeKeyPairs"
kr_pass "key pairs that cannot be listed: an open intent is not promoted"

# 3. The list directory cannot be read: no entry at all, nothing promoted.
chmod 0000 "$T/revoked.d"
mv "$T/revoked.d" "$T/revoked.d.hidden"
rc=0; kr_run_once || rc=$?
mv "$T/revoked.d.hidden" "$T/revoked.d"
chmod 0755 "$T/revoked.d"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-kp-rev-b-0000)" 0 "detached events without lists"
kr_expect_eq "$(queue_state i-kp-rev-b-0000)" detaching "its intent without lists"
kr_pass "an unreadable list directory: an open intent is not promoted"

# 4. A listing shows the instances still bound: the Linux one is detached again (and only then
#    queued), the Windows one is skipped and its intent dropped, never promoted.
rm -f "$T/revoked.d/keys.list"
kr_install_list "$T/names.list" names.list
write_intents i-kp-rev-a-0000:kp-rev-a:cn-hangzhou i-kp-rev-a-0001:kp-rev-a:cn-hangzhou
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with intents of bound instances"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-kp-rev-a-0000)" 0 "detached events for the Windows instance"
kr_expect_eq "$(kr_count_events reboot-queued INSTANCE=i-kp-rev-a-0000)" 0 "reboot-queued for the Windows instance"
kr_expect_eq "$(queue_state i-kp-rev-a-0000)" absent "the Windows instance's intent"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-kp-rev-a-0001)" 1 "detached events for the Linux instance"
"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "the Linux instance was not detached by a call"
import json, sys
assert any(c.get("action") == "DetachKeyPair" and c.get("applied") and "i-kp-rev-a-0001" in c.get("instances", [])
           for c in map(json.loads, open(sys.argv[1])))
PY
kr_pass "a listing that shows an intent's instance still bound: re-detached if Linux, dropped if Windows"

# 5. Evidence that a detach happened: a complete listing without the instance, or a look at an
#    instance whose key pair is no longer revoked.
#    (Pass 4 detached i-kp-rev-b-0001 already: this intent is as if it had been killed then.)
write_intents i-kp-rev-b-0001:kp-rev-b:cn-hangzhou i-other-cn-hangzhou-0000:kp-gone:cn-hangzhou
before=$(kr_count_events detached INSTANCE=i-kp-rev-b-0001)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with intents of detached instances"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-kp-rev-b-0001)" $((before + 1)) "promoted after a complete listing"
kr_expect_eq "$(queue_state i-kp-rev-b-0001)" pending "queued after a complete listing"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-other-cn-hangzhou-0000)" 1 "promoted after a look"
kr_expect_eq "$(queue_state i-other-cn-hangzhou-0000)" pending "queued after a look"
kr_pass "intents with evidence of their detach are promoted and queued"

# 6. A hidden Windows instance in the first batch of 120, the second page slow: the batch is split
#    until the Windows instance is alone; every Linux instance is detached, no crash.
printf 'kp-rev-c\n' >"$T/c.list"
kr_install_list "$T/c.list" c.list
kr_write_config <<'CONF'
Regions=cn-shanghai
CONF
kr_emuctl fault DescribeInstances latency:1500 1 >/dev/null
kr_emuctl fault DescribeInstances latency:0 1 >/dev/null
kr_emuctl fault DescribeInstances latency:1500 1 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with a hidden Windows instance"
kr_expect_eq "$(kr_count_events skipped-windows INSTANCE=i-kp-rev-c-0000 ERROR=DependencyViolation.WindowsInstance)" 1 \
        "the hidden Windows instance isolated and skipped"
got=$("$PYTHON3" "$top_srcdir/tests/integration/query.py" instances "$T/emu.log" DetachKeyPair | grep -c '^i-kp-rev-c-')
kr_expect_eq "$got" 119 "Linux instances of kp-rev-c detached"
kr_pass "a batch refused for a hidden Windows instance is split until it is isolated"
