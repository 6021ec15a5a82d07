#!/bin/bash
# CheckLaunchSources=: launch template versions and scaling configurations naming a revoked key
# pair are reported exactly once (and only those, only in the entry's regions), remembered
# across restarts, reported again once fixed and broken again; the ESS call goes to
# ScalingEndpoint= with its own API version; a missing RAM permission is said once and holds no
# detach back; keyrevokectl status and the metrics show them; CheckLaunchSources=no makes none of
# these calls.
. "$(dirname "$0")/lib.sh"
# As under systemd (a oneshot unit): --once writes MetricsFile= then.
export INVOCATION_ID=test-launch-sources

KEY_OPS="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINUall81KPQU5fvIcIqe1sHOyBUVLqof9a/A8BzaNm4 ops@test"
"$PYTHON3" - "$T/fleet.json" "$KEY_OPS" <<'PY'
import json, sys
path, key_ops = sys.argv[1], sys.argv[2]
good = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPT7vsQK7s6D36nSIvN7zxWWstxOrkdb5L51Hv0apJbu good@test"
kps = [{"region": r, "name": n, "public_key": k}
       for r in ("cn-hangzhou", "cn-shanghai")
       for n, k in (("kp-bad", good.replace("good", "bad")), ("kp-good", good), ("kp-ops", key_ops),
                    ("kp-scoped", good.replace("good", "scoped")))]
templates = [
    # v1 revoked, v2 (the default) clean, v3 revoked by its public key
    {"id": "lt-a", "region": "cn-hangzhou", "name": "web",
     "versions": [{"key_pair_name": "kp-bad"}, {"key_pair_name": "kp-good"},
                  {"key_pair_name": "kp-ops"}], "default_version": 2},
    {"id": "lt-b", "region": "cn-hangzhou", "versions": [{"key_pair_name": "kp-good"}]},
    {"id": "lt-c", "region": "cn-hangzhou", "versions": [{"key_pair_name": "kp-bad"}]},
    # kp-scoped is revoked in cn-hangzhou only
    {"id": "lt-s", "region": "cn-shanghai", "versions": [{"key_pair_name": "kp-scoped"}]},
]
# 60 clean templates more: DescribeLaunchTemplates takes two pages of 50 in cn-hangzhou.
templates += [{"id": "lt-x%02d" % i, "region": "cn-hangzhou", "versions": [{}]} for i in range(60)]
configs = [
    {"id": "asc-1", "region": "cn-hangzhou", "key_pair_name": "kp-bad"},
    {"id": "asc-2", "region": "cn-hangzhou", "key_pair_name": "kp-good"},
    {"id": "asc-3", "region": "cn-shanghai", "key_pair_name": "kp-bad", "lifecycle_state": "Inactive"},
    {"id": "asc-4", "region": "cn-shanghai", "key_pair_name": "kp-scoped"},
]
instances = [{"id": "i-hz-1", "region": "cn-hangzhou", "key_pair_name": "kp-bad"},
             {"id": "i-hz-2", "region": "cn-hangzhou", "key_pair_name": "kp-good"}]
json.dump({"regions": ["cn-hangzhou", "cn-shanghai"], "keypairs": kps, "instances": instances,
           "launch_templates": templates, "scaling_configurations": configs}, open(path, "w"))
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<CONF
Regions=cn-hangzhou cn-shanghai
[Agent]
MetricsFile=$T/metrics.prom
CONF
printf 'kp-bad reason="leaked"\nkp-scoped region=cn-hangzhou\n%s\n' "$KEY_OPS" >"$T/launch.list"
kr_install_list "$T/launch.list" launch.list

referenced() { kr_count_events keypair-referenced "$@"; }
expected="launch-template:lt-a:1 launch-template:lt-a:3 launch-template:lt-c:1 scaling-configuration:asc-1 scaling-configuration:asc-3"

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status"
got=$(kr_journal | "$PYTHON3" -c '
import json, sys
print(" ".join(sorted(e["KEYREVOKE_SOURCE"] for e in map(json.loads, sys.stdin)
                      if e.get("KEYREVOKE_EVENT") == "keypair-referenced")))')
kr_expect_eq "$got" "$expected" "sources reported"
kr_expect_eq "$(referenced SOURCE=launch-template:lt-a:1 KEYPAIR=kp-bad REGION=cn-hangzhou REASON=leaked)" 1 \
        "fields of the event about lt-a version 1"
kr_expect_eq "$(referenced SOURCE=launch-template:lt-a:3 KEYPAIR=kp-ops)" 1 "a version revoked by its public key"
kr_expect_eq "$(referenced SOURCE=scaling-configuration:asc-3 REGION=cn-shanghai KEYPAIR=kp-bad)" 1 \
        "an inactive scaling configuration in another region"
kr_journal | "$PYTHON3" -c '
import json, sys
m = {e["KEYREVOKE_SOURCE"]: e["MESSAGE"] for e in map(json.loads, sys.stdin)
     if e.get("KEYREVOKE_EVENT") == "keypair-referenced"}
assert "default version" in m["launch-template:lt-c:1"], m
assert "default version" not in m["launch-template:lt-a:1"], m
assert "web" in m["launch-template:lt-a:1"], m
' || kr_fail "the default version is marked as such in MESSAGE, and only it"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-hz-1)" 1 "the bound instance is detached alongside"
kr_pass "exactly the offending versions and configurations are reported, the default version marked"

"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "calls of the launch source check"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
ess = [c for c in calls if c.get("action") == "DescribeScalingConfigurations"]
assert len(ess) == 2 and all(c.get("api") == "ess" and c["status"] == 200 for c in ess), ess
assert all(c["params"]["Version"] == "2014-08-28" for c in ess), ess
lt = [c for c in calls if c.get("action") == "DescribeLaunchTemplates"]
hz = sorted(c["params"]["PageNumber"] for c in lt if c["region"] == "cn-hangzhou")
assert hz == ["1", "2"] and all(c["params"]["PageSize"] == "50" for c in lt), lt
versions = [c for c in calls if c.get("action") == "DescribeLaunchTemplateVersions"]
assert len(versions) == 64 and all(c["params"].get("DetailFlag") == "true" for c in versions), len(versions)
assert all(c["params"]["Version"] == "2014-05-26" for c in lt + versions)
PY
kr_pass "ESS on ScalingEndpoint= with API 2014-08-28; templates paged by 50; every template's versions with DetailFlag=true"

grep -q 'keyrevoke_launch_sources_referencing{kind="launch-template"} 3$' "$T/metrics.prom" &&
        grep -q 'keyrevoke_launch_sources_referencing{kind="scaling-configuration"} 2$' "$T/metrics.prom" ||
        kr_fail "metrics: $(grep launch_sources "$T/metrics.prom")"
status=$("$top_builddir/keyrevokectl" -c "$T/keyrevoke.conf" status) || [ $? = 3 ] # 3: it lists problems (no Window=)
for s in $expected; do
        echo "$status" | grep -q "$s" || kr_fail "keyrevokectl status does not list $s"
done
"$top_builddir/keyrevokectl" -c "$T/keyrevoke.conf" --json status | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)["launch_sources"]
assert s["checked"] and len(s["sources"]) == 5, s
assert [x["default"] for x in s["sources"] if x["source"] == "launch-template:lt-c:1"] == [True], s
' || kr_fail "keyrevokectl --json status launch_sources"
[ "$(stat -c %a "$T/state/referenced.json")" = 600 ] || kr_fail "referenced.json mode is not 0600"
kr_pass "keyrevokectl status and the metrics list them"

# A clean rescan (a new process: what was reported is read back from the state) reports nothing.
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "second --once exit status"
kr_expect_eq "$(referenced)" 5 "keypair-referenced events after a second pass"
kr_pass "a rescan after a restart reports nothing new"

# Fixed, then broken again: reported again. A new version naming a revoked key pair is new.
kr_emuctl scaling-config '{"id": "asc-1", "key_pair_name": "kp-good"}' >/dev/null
kr_emuctl template-version '{"id": "lt-b", "key_pair_name": "kp-bad", "default": true}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced)" 6 "events after asc-1 was fixed and lt-b got a revoked version"
kr_expect_eq "$(referenced SOURCE=launch-template:lt-b:2)" 1 "the new version of lt-b"
grep -q 'keyrevoke_launch_sources_referencing{kind="scaling-configuration"} 1$' "$T/metrics.prom" ||
        kr_fail "the fixed configuration is still counted"
kr_emuctl scaling-config '{"id": "asc-1", "key_pair_name": "kp-bad"}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced SOURCE=scaling-configuration:asc-1)" 2 "asc-1 reported again once broken again"
kr_expect_eq "$(referenced)" 7 "events after asc-1 was broken again"
kr_pass "a source fixed and broken again is reported again, and only it"

# The revoked set changes: nothing revoked for a pass, then the list again: reported again.
printf '# nothing revoked for now\n' >"$T/empty.list"
kr_install_list "$T/empty.list" launch.list
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced)" 7 "events with nothing revoked"
kr_install_list "$T/launch.list" launch.list
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(referenced)" 13 "events once the list is back (the six sources remembered before)"
kr_pass "a change of the revoked set reports its sources again"

# A missing RAM permission: said once, clearly; the detaches go on; nothing is forgotten.
kr_emuctl config '{"denied_actions": ["DescribeScalingConfigurations"]}' >/dev/null
kr_emuctl add-instance '{"id": "i-hz-3", "region": "cn-hangzhou", "key_pair_name": "kp-bad"}' >/dev/null
: >"$T/daemon.log"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "exit status with DescribeScalingConfigurations refused"
kr_expect_eq "$(grep -c 'Missing RAM permission ess:DescribeScalingConfigurations (Forbidden.RAM' "$T/daemon.log")" 1 \
        "warnings about the missing permission (two regions refused)"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-hz-3)" 1 "detach with the permission missing"
kr_expect_eq "$(referenced)" 13 "events with the permission missing"
grep -q 'keyrevoke_launch_sources_referencing{kind="scaling-configuration"} 2$' "$T/metrics.prom" ||
        kr_fail "a refused listing made the configurations be forgotten"
kr_emuctl config '{"denied_actions": []}' >/dev/null
kr_pass "a missing RAM permission is reported once and stops no detach"

# --dry-run reports the same way and writes nothing.
kr_emuctl template-version '{"id": "lt-x00", "key_pair_name": "kp-bad"}' >/dev/null
cp "$T/state/referenced.json" "$T/referenced.before"
rc=0; kr_run_once --dry-run || rc=$?
kr_expect_eq "$(referenced SOURCE=launch-template:lt-x00:2 DRY_RUN=1)" 1 "dry-run event of a new revoked version"
cmp -s "$T/state/referenced.json" "$T/referenced.before" || kr_fail "--dry-run changed referenced.json"
kr_pass "--dry-run reports and records nothing"

# CheckLaunchSources=no: none of these calls.
printf '[Cloud]\nCheckLaunchSources=no\n' >>"$T/keyrevoke.conf"
before=$(( $(kr_count_calls DescribeLaunchTemplates) + $(kr_count_calls DescribeLaunchTemplateVersions) + \
        $(kr_count_calls DescribeScalingConfigurations) ))
kr_emuctl add-instance '{"id": "i-hz-4", "region": "cn-hangzhou", "key_pair_name": "kp-bad"}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with CheckLaunchSources=no"
after=$(( $(kr_count_calls DescribeLaunchTemplates) + $(kr_count_calls DescribeLaunchTemplateVersions) + \
        $(kr_count_calls DescribeScalingConfigurations) ))
kr_expect_eq "$after" "$before" "launch source calls with CheckLaunchSources=no"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-hz-4)" 1 "detach with CheckLaunchSources=no"
"$top_builddir/keyrevokectl" -c "$T/keyrevoke.conf" status | grep -q "CheckLaunchSources=no" ||
        kr_fail "keyrevokectl status does not say launch sources are not checked"
kr_pass "CheckLaunchSources=no makes none of these calls"
