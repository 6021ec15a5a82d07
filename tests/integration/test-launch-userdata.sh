#!/bin/bash
# CheckLaunchSources= looks into UserData too: a launch template version or scaling configuration
# whose UserData carries a revoked public key (a cloud-config ssh_authorized_keys item, an echo
# into authorized_keys) brings that key back under any key pair name. Each is reported once
# (keypair-referenced, KEYREVOKE_REFERENCE=user-data, the key's fingerprint, its key pair when it
# is one's), beside the sources that name a revoked key pair; a key that only starts like a
# revoked one is not; gzip-compressed UserData is said once to be unsearched; a restart
# reports nothing again, a new version carrying the key is new.
. "$(dirname "$0")/lib.sh"

for k in bad lone good ops; do ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/$k" >/dev/null; done
"$PYTHON3" - "$T" <<'PY'
import base64, gzip, json, sys
T = sys.argv[1]
pub = lambda k: " ".join(open("%s/%s.pub" % (T, k)).read().split()[:2])
b64 = lambda s: base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()
cloud_config = lambda key: b64("#cloud-config\nssh_authorized_keys:\n  - %s someone@laptop\n" % key)
script = lambda key: b64("#!/bin/sh\necho '%s' >> /root/.ssh/authorized_keys\n" % key)
# A key whose blob starts with the revoked blob is another key.
longer = pub("lone") + "AAAA"
kps = [{"region": "cn-hangzhou", "name": "kp-" + k, "public_key": pub(k)} for k in ("bad", "good", "ops")]
templates = [
    {"id": "lt-cc", "region": "cn-hangzhou", "name": "web",
     "versions": [{"key_pair_name": "kp-good", "user_data": cloud_config(pub("ops"))}]},
    {"id": "lt-sh", "region": "cn-hangzhou",
     "versions": [{"key_pair_name": "kp-good", "user_data": b64("echo hello\n")},
                  {"key_pair_name": "kp-good", "user_data": script(pub("bad"))}]},
    {"id": "lt-both", "region": "cn-hangzhou",
     "versions": [{"key_pair_name": "kp-bad", "user_data": cloud_config(pub("lone"))}]},
    {"id": "lt-clean", "region": "cn-hangzhou",
     "versions": [{"key_pair_name": "kp-good", "user_data": cloud_config(pub("good"))},
                  {"key_pair_name": "kp-good", "user_data": cloud_config(longer)}]},
    {"id": "lt-gz", "region": "cn-hangzhou",
     "versions": [{"key_pair_name": "kp-good",
                   "user_data": b64(gzip.compress(cloud_config(pub("ops")).encode()))}]},
]
configs = [{"id": "asc-1", "region": "cn-hangzhou", "key_pair_name": "kp-good",
            "user_data": script(pub("lone"))},
           {"id": "asc-2", "region": "cn-hangzhou", "key_pair_name": "kp-good",
            "user_data": script(pub("good"))}]
instances = [{"id": "i-1", "region": "cn-hangzhou", "key_pair_name": "kp-bad"}]
json.dump({"regions": ["cn-hangzhou"], "keypairs": kps, "instances": instances,
           "launch_templates": templates, "scaling_configurations": configs},
          open(T + "/fleet.json", "w"))
# Revoked: kp-bad by name, kp-ops and a key of no key pair by their public keys.
with open(T + "/ud.list", "w") as f:
    f.write("kp-bad\n%s\n%s\n" % (pub("ops"), pub("lone")))
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou
CONF
kr_install_list "$T/ud.list" ud.list
fingerprint() { ssh-keygen -lf "$T/$1.pub" | awk '{print $2}'; }

referenced() { kr_count_events keypair-referenced "$@"; }
sources() {
        kr_journal | "$PYTHON3" -c '
import json, sys
print(" ".join(sorted("%s/%s" % (e["KEYREVOKE_SOURCE"], e.get("KEYREVOKE_REFERENCE", "name"))
                      for e in map(json.loads, sys.stdin) if e.get("KEYREVOKE_EVENT") == "keypair-referenced")))'
}

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
kr_expect_eq "$(sources)" "launch-template:lt-both:1/name launch-template:lt-both:1/user-data launch-template:lt-cc:1/user-data launch-template:lt-sh:2/user-data scaling-configuration:asc-1/user-data" \
        "sources reported"
kr_expect_eq "$(referenced SOURCE=launch-template:lt-cc:1 REFERENCE=user-data KEYPAIR=kp-ops FINGERPRINT="$(fingerprint ops)")" 1 \
        "a cloud-config key of a key pair revoked by its public key"
kr_expect_eq "$(referenced SOURCE=launch-template:lt-sh:2 REFERENCE=user-data KEYPAIR=kp-bad FINGERPRINT="$(fingerprint bad)")" 1 \
        "a script echoing the key of a key pair revoked by name"
kr_expect_eq "$(referenced SOURCE=scaling-configuration:asc-1 REFERENCE=user-data FINGERPRINT="$(fingerprint lone)")" 1 \
        "a scaling configuration's UserData with a key of no key pair"
kr_journal | "$PYTHON3" -c '
import json, sys
e = [e for e in map(json.loads, sys.stdin) if e.get("KEYREVOKE_SOURCE") == "scaling-configuration:asc-1"]
assert len(e) == 1 and "KEYREVOKE_KEYPAIR" not in e[0] and "UserData" in e[0]["MESSAGE"], e
' || kr_fail "the event of a key of no key pair names no key pair, and says UserData"
kr_expect_eq "$(grep -c 'compressed (gzip) UserData' "$T/daemon.log")" 1 "notices of unsearched compressed UserData"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-1)" 1 "the bound instance is detached alongside"
kr_pass "UserData carrying a revoked key is reported, with its fingerprint and key pair; nothing else"

status=$("$top_builddir/keyrevokectl" -c "$T/keyrevoke.conf" status) || [ $? = 3 ]
echo "$status" | grep -q "user-data:$(fingerprint lone)" || kr_fail "keyrevokectl status does not list asc-1's key"
kr_pass "keyrevokectl status lists them"

rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced)" 5 "keypair-referenced events after a restart"
kr_pass "a rescan after a restart reports nothing new"

kr_emuctl template-version "{\"id\": \"lt-clean\", \"key_pair_name\": \"kp-good\", \"user_data\": \"$(base64 -w0 <<<"ssh-ed25519 $(awk '{print $2}' "$T/ops.pub")")\"}" >/dev/null
kr_emuctl scaling-config '{"id": "asc-1", "user_data": ""}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced SOURCE=launch-template:lt-clean:3 REFERENCE=user-data KEYPAIR=kp-ops)" 1 "the new version"
kr_expect_eq "$(referenced)" 6 "events after a new version carrying the key and asc-1 cleaned"
kr_emuctl scaling-config "{\"id\": \"asc-1\", \"user_data\": \"$(base64 -w0 <<<"$(cat "$T/lone.pub")")\"}" >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced SOURCE=scaling-configuration:asc-1)" 2 "asc-1 reported again once it carries the key again"
kr_pass "a new version carrying a revoked key is reported; a source cleaned and broken again is reported again"
