#!/bin/bash
# Containment when a region's revoked keys are too many for one Cloud Assistant command (24 RSA
# keys: over the 16 KB content limit): the keys are split into runs that fit, every bound instance
# is contained with the run that holds its key pair's key (two commands for the region's 48
# instances, not one per key pair), and its events say so; the instances whose key set fits (a
# second region with two revoked key pairs) get the region's whole set as before. An instance whose agent was offline
# is detached (no listing by key pair shows it any more) and contained at a later pass once its
# agent is back, while its reboot is still to come; nothing else is sent again.
. "$(dirname "$0")/lib.sh"

for n in $(seq -w 1 24); do
        ssh-keygen -q -t rsa -b 2048 -N '' -C "kp-$n" -f "$T/key-$n" >/dev/null
done
for n in 1 2; do ssh-keygen -q -t ed25519 -N '' -C "small-$n" -f "$T/small-$n" >/dev/null; done
"$PYTHON3" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
pub = lambda f: open(f + ".pub").read().strip()
inst = lambda i, region, kp: {"id": i, "region": region, "os_type": "linux", "status": "Running", "key_pair_name": kp}
keypairs = [{"region": "cn-hangzhou", "name": "kp-%02d" % n, "public_key": pub("%s/key-%02d" % (T, n))} for n in range(1, 25)]
keypairs += [{"region": "cn-beijing", "name": "small-%d" % n, "public_key": pub("%s/small-%d" % (T, n))} for n in (1, 2)]
instances = [inst("i-%02d-%d" % (n, k), "cn-hangzhou", "kp-%02d" % n) for n in range(1, 25) for k in (1, 2)]
instances += [inst("i-small-%d" % n, "cn-beijing", "small-%d" % n) for n in (1, 2)]
instances += [dict(inst("i-offline", "cn-beijing", "small-1"), cloud_assistant="offline")]
json.dump({"regions": ["cn-hangzhou", "cn-beijing"],
           "credentials": [{"access_key_id": "testid", "access_key_secret": "testsecret"}],
           "keypairs": keypairs, "instances": instances}, open(T + "/fleet.json", "w"))
with open(T + "/revoked.list", "w") as f:
    for k in keypairs:
        f.write(k["name"] + "\n")
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou cn-beijing
[Contain]
Enabled=yes
CONF
kr_install_list "$T/revoked.list" revoked.list

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
kr_expect_eq "$(kr_count_events contain-failed)" 1 "contain-failed events"
kr_expect_eq "$(kr_count_events contain-failed INSTANCE=i-offline ERROR=agent-offline)" 1 "contain-failed of the offline agent"
kr_expect_eq "$(kr_count_events contained REGION=cn-hangzhou)" 48 "contained events in the region with 24 RSA keys"
kr_expect_eq "$(kr_count_events contained REGION=cn-beijing)" 2 "contained events in the region with two keys"
kr_expect_eq "$(kr_count_calls RunCommand applied)" 3 "RunCommand calls (two runs of keys in cn-hangzhou, one set in cn-beijing)"
kr_emuctl ca-state >"$T/ca.json"
"$PYTHON3" - "$T/fleet.json" "$T/ca.json" <<'PY' || kr_fail "an instance does not block the key of its key pair"
import json, sys
fleet, ca = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["instances"]
key = {(k["region"], k["name"]): " ".join(k["public_key"].split()[:2]) for k in fleet["keypairs"]}
bad = []
for i in fleet["instances"]:
    blocked = set(ca[i["id"]]["revoked_keys"] or [])
    want = {key[(i["region"], i["key_pair_name"])]}
    if i["id"] == "i-offline":
        continue
    if i["region"] == "cn-beijing":
        want = {v for (r, _), v in key.items() if r == "cn-beijing"}  # the whole set fits: both keys
    if not want <= blocked or (i["region"] == "cn-hangzhou" and not 1 < len(blocked) < 24):
        bad.append(i["id"])
print("wrong key sets: " + " ".join(bad) if bad else "every instance blocks its keys")
sys.exit(1 if bad else 0)
PY
kr_pass "24 RSA keys in a region: every instance contained with the run of keys that holds its own, two commands; a small set is sent whole"

kr_emuctl ca-agent i-offline online >/dev/null
before=$(kr_count_calls RunCommand)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status of the rescan"
kr_expect_eq "$(kr_count_calls RunCommand)" "$((before + 1))" "RunCommand calls of the rescan"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-offline KEYPAIR=small-1)" 1 "contained event of i-offline, its agent back"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-offline)" 1 "detached events of i-offline"
kr_pass "the detached instance whose agent was offline is contained at the next pass; nothing else is sent again"
