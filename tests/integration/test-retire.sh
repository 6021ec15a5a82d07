#!/bin/bash
# DeleteRevokedKeyPairs=: a revoked key pair is deleted in a region only once a complete listing
# shows no Linux instance bound to it any more (its detaches confirmed; Windows ones do not hold
# it back), its public key saved first; never a key pair that is not revoked (there); a key pair
# imported again under a new name with the same key is still caught, detached and contained;
# --dry-run, DeleteRevokedKeyPairs=no and a missing RAM permission delete nothing, and the last
# stops no detach; keyrevokectl status lists the deleted key pairs.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$T/keys" <<'PY'
import base64, json, struct, sys
def key(n):
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + bytes([n]) * 32
    return "ssh-ed25519 " + base64.b64encode(blob).decode()
names = ("kp-bad", "kp-two", "kp-unused", "kp-winonly", "kp-good", "kp-dry")
kps = [{"region": "cn-hangzhou", "name": n, "public_key": key(i + 1)} for i, n in enumerate(names)]
kps.append({"region": "cn-shanghai", "name": "kp-bad", "public_key": key(42)})
inst = [("i-l1", "cn-hangzhou", "linux", "kp-bad"), ("i-w1", "cn-hangzhou", "windows", "kp-bad"),
        ("i-l2", "cn-hangzhou", "linux", "kp-two"), ("i-w2", "cn-hangzhou", "windows", "kp-winonly"),
        ("i-g1", "cn-hangzhou", "linux", "kp-good"), ("i-s1", "cn-shanghai", "linux", "kp-bad")]
json.dump({"regions": ["cn-hangzhou", "cn-shanghai"], "keypairs": kps,
           "instances": [{"id": i, "region": r, "os_type": o, "key_pair_name": k} for i, r, o, k in inst]},
          open(sys.argv[1], "w"))
open(sys.argv[2], "w").write(key(1) + "\n")
PY
KEY_BAD=$(cat "$T/keys")
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou cn-shanghai
MaxRetries=1
DeleteRevokedKeyPairs=yes
CONF
printf 'kp-bad region=cn-hangzhou reason="leaked"\nkp-two\nkp-unused\nkp-winonly\n' >"$T/retire.list"
kr_install_list "$T/retire.list" retire.list

keypairs_hz() { kr_emuctl keypairs | "$PYTHON3" -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["cn-hangzhou"])))'; }
deleted_names() {
        "$PYTHON3" -c '
import json, sys
print(" ".join(sorted(n for c in map(json.loads, open(sys.argv[1])) if c.get("action") == "DeleteKeyPairs"
                      for n in c.get("deleted") or [])))' "$T/emu.log"
}

# Pass 1: every detach fails. Only the key pairs no Linux instance is bound to go.
kr_emuctl fault DetachKeyPair internal 100 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status with the detaches failing"
kr_expect_eq "$(deleted_names)" "kp-unused kp-winonly" "key pairs deleted while Linux instances are still bound"
kr_expect_eq "$(kr_count_calls DeleteKeyPairs)" 1 "DeleteKeyPairs calls (one per region and 100 names)"
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-winonly REGION=cn-hangzhou)" 1 "keypair-deleted kp-winonly"
kr_expect_eq "$(keypairs_hz)" "kp-bad kp-dry kp-good kp-two" "key pairs left in cn-hangzhou"
kr_expect_eq "$(kr_emuctl state | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["instances"]["i-w2"]["key_pair_name"])')" \
        kp-winonly "the Windows instance keeps the deleted key pair's name"
"$PYTHON3" - "$T/state/retired.json" "$T/fleet.json" <<'PY' || kr_fail "retired.json does not hold the deleted public keys"
import json, sys
r = {(k["region"], k["name"]): k for k in json.load(open(sys.argv[1]))["keypairs"]}
fleet = {(k["region"], k["name"]): k["public_key"] for k in json.load(open(sys.argv[2]))["keypairs"]}
for name in ("kp-unused", "kp-winonly"):
    e = r[("cn-hangzhou", name)]
    assert e["public_key"] == fleet[("cn-hangzhou", name)] and e["deleted_usec"] > 0, e
assert ("cn-hangzhou", "kp-bad") not in r, r
PY
[ "$(stat -c %a "$T/state/retired.json")" = 600 ] || kr_fail "retired.json mode is not 0600"
kr_pass "no deletion while a Linux instance is still bound; Windows ones do not hold it back; keys saved (0600)"

# Pass 2: the detaches succeed, then the key pairs go, after the last detach, in their region only.
kr_emuctl fault DetachKeyPair internal 0 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
kr_expect_eq "$(deleted_names)" "kp-bad kp-two kp-unused kp-winonly" "key pairs deleted after the detaches"
"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "a key pair was deleted before its last Linux detach"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
last = max(i for i, c in enumerate(calls) if c.get("action") == "DetachKeyPair" and c.get("applied"))
dels = [i for i, c in enumerate(calls) if c.get("action") == "DeleteKeyPairs" and "kp-bad" in (c.get("deleted") or [])]
assert len(dels) == 1 and dels[0] > last, (dels, last)
assert all(c["region"] == "cn-hangzhou" for c in calls if c.get("action") == "DeleteKeyPairs")
assert all(json.loads(c["params"]["KeyPairNames"]) for c in calls if c.get("action") == "DeleteKeyPairs")
PY
kr_expect_eq "$(kr_emuctl keypairs | "$PYTHON3" -c 'import json,sys; print(" ".join(json.load(sys.stdin)["cn-shanghai"]))')" \
        kp-bad "key pairs left in cn-shanghai (kp-bad is revoked in cn-hangzhou only)"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-s1)" 0 "detaches in cn-shanghai"
kr_pass "deleted after the last Linux detach, and only where it is revoked; kp-good never"

# Pass 3: the same key imported under a new name, on a new instance: found, detached, contained;
# the Windows instance of the deleted key pair is still skipped (warned about once, earlier); its
# name is not "not found".
kr_emuctl add-keypair "{\"region\": \"cn-hangzhou\", \"name\": \"kp-new\", \"public_key\": \"$KEY_BAD\"}" >/dev/null
kr_emuctl add-instance '{"id": "i-l3", "region": "cn-hangzhou", "key_pair_name": "kp-new"}' >/dev/null
printf '[Contain]\nEnabled=yes\n' >>"$T/keyrevoke.conf"
skipped=$(kr_count_events skipped-windows INSTANCE=i-w1)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status after the re-import"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-l3 KEYPAIR=kp-new REGION=cn-hangzhou)" 1 \
        "detach of the instance launched with the re-imported key"
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-new)" 1 "the re-imported key pair is deleted too"
last_skipped=$(kr_journal | "$PYTHON3" -c '
import json, sys
print([json.loads(l) for l in sys.stdin if "enforcement-complete" in l][-1]["KEYREVOKE_SKIPPED"])')
[ "$last_skipped" -ge 1 ] || kr_fail "the Windows instance of kp-bad is no longer found and skipped"
kr_expect_eq "$(kr_count_events skipped-windows INSTANCE=i-w1)" "$skipped" "skipped-windows again for a reported instance"
kr_expect_eq "$(kr_count_events keypair-not-found KEYPAIR=kp-bad)" 0 "keypair-not-found for the deleted kp-bad"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-l3)" 1 "containment of the instance with the re-imported key"
"$PYTHON3" - "$T/emu.log" "$KEY_BAD" <<'PY' || kr_fail "containment does not block the deleted key pair's key"
import base64, json, sys
blob = sys.argv[2].split()[1]
runs = [c for c in map(json.loads, open(sys.argv[1])) if c.get("action") == "RunCommand" and c["status"] == 200]
assert runs, "no RunCommand"
for c in runs:
    head = base64.b64decode(c["params"]["CommandContent"]).decode().split("\n", 1)[0]
    assert blob in head, head
PY
sed -i '/^\[Contain\]$/,$d' "$T/keyrevoke.conf"
kr_pass "a re-import under a new name with the same key is still detached, contained and deleted"

# --dry-run, then DeleteRevokedKeyPairs=no: no DeleteKeyPairs.
printf 'kp-dry\n' >>"$T/retire.list"
kr_install_list "$T/retire.list" retire.list
calls=$(kr_count_calls DeleteKeyPairs)
rc=0; kr_run_once --dry-run || rc=$?
kr_expect_eq "$(kr_count_calls DeleteKeyPairs)" "$calls" "DeleteKeyPairs calls in --dry-run"
grep -q "Would delete key pair 'kp-dry' in cn-hangzhou" "$T/daemon.log" || kr_fail "--dry-run does not say what it would delete"
printf '[Cloud]\nDeleteRevokedKeyPairs=no\n' >>"$T/keyrevoke.conf"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_calls DeleteKeyPairs)" "$calls" "DeleteKeyPairs calls with DeleteRevokedKeyPairs=no"
kr_expect_eq "$(keypairs_hz)" "kp-dry kp-good" "key pairs left in cn-hangzhou"
head -n -2 "$T/keyrevoke.conf" >"$T/conf.tmp" && mv "$T/conf.tmp" "$T/keyrevoke.conf"
kr_pass "--dry-run and DeleteRevokedKeyPairs=no delete nothing"

# A missing RAM permission: said once, the detaches go on; granted again, the key pair goes.
kr_emuctl config '{"denied_actions": ["DeleteKeyPairs"]}' >/dev/null
kr_emuctl add-instance '{"id": "i-l4", "region": "cn-hangzhou", "key_pair_name": "kp-dry"}' >/dev/null
: >"$T/daemon.log"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status without the permission"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-l4)" 1 "detach without the permission"
kr_expect_eq "$(grep -c 'Missing RAM permission ecs:DeleteKeyPairs (Forbidden.RAM' "$T/daemon.log")" 1 "permission warnings"
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-dry)" 0 "keypair-deleted without the permission"
kr_emuctl config '{"denied_actions": []}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_events keypair-deleted KEYPAIR=kp-dry)" 1 "keypair-deleted once permitted"
kr_expect_eq "$(keypairs_hz)" "kp-good" "key pairs left in cn-hangzhou"
kr_pass "a missing permission is said once and stops no detach"

# keyrevokectl status lists the deleted key pairs: region, key pair, when, reason.
KEYREVOKECTL="$top_builddir/keyrevokectl"
"$KEYREVOKECTL" -c "$T/keyrevoke.conf" status >"$T/status.txt" || true
grep -qx "Revoked key pairs deleted (their public keys stay revoked):" "$T/status.txt" ||
        kr_fail "status does not list the deleted key pairs: $(cat "$T/status.txt")"
for kp in kp-dry kp-new kp-two kp-unused kp-winonly; do
        grep -qE "^cn-hangzhou +$kp +deleted +[A-Z][a-z]{2} 20[0-9-]+ [0-9:]+ " "$T/status.txt" ||
                kr_fail "status does not show $kp deleted: $(cat "$T/status.txt")"
done
grep -qE "^cn-hangzhou +kp-bad +deleted +[A-Z][a-z]{2} 20[0-9-]+ [0-9:]+ [^ ]+ +leaked$" "$T/status.txt" ||
        kr_fail "status does not show kp-bad deleted, with its reason: $(cat "$T/status.txt")"
"$KEYREVOKECTL" -c "$T/keyrevoke.conf" --json status >"$T/status.json" || true
"$PYTHON3" - "$T/status.json" <<'PY' || kr_fail "status --json deleted_keypairs"
import json, sys
d = json.load(open(sys.argv[1]))["deleted_keypairs"]
assert d["enabled"] is True, d
kps = [(k["region"], k["keypair"], k["state"]) for k in d["keypairs"]]
assert kps == [("cn-hangzhou", n, "deleted") for n in ("kp-bad", "kp-dry", "kp-new", "kp-two", "kp-unused",
                                                      "kp-winonly")], kps
assert all(k["deleted"].startswith("20") for k in d["keypairs"]), d
assert [k["reason"] for k in d["keypairs"] if k["keypair"] == "kp-bad"] == ["leaked"], d
PY
kr_pass "keyrevokectl status (and --json) lists the deleted key pairs with when and why"
