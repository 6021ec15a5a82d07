#!/bin/bash
# [Contain] Enabled=yes: keyrevoked blocks the revoked keys on every reachable running Linux
# instance through Cloud Assistant, next to the detaches: a real sshd refuses the revoked key
# afterwards on every account; an offline agent gets contain-failed and its detach still happens;
# Windows and stopped instances are never sent a command; a rescan with the same keys sends
# nothing new; a dry run sends nothing; a kill in the middle loses and repeats nothing; with
# Scope=fleet a key copied onto an instance of another key pair is cleaned too.
. "$(dirname "$0")/lib.sh"

INSTANCE="$top_srcdir/tests/instance"
SSH_OPTS="-o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5"

ssh-keygen -q -t ed25519 -N '' -C revoked -f "$T/revoked" >/dev/null
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other" >/dev/null
REVOKED_PUB=$(cut -d' ' -f1,2 "$T/revoked.pub")

# A real instance: its own sshd on a loopback port, the revoked key for root and alice.
PORT=$((20000 + RANDOM % 20000))
sh "$INSTANCE/make-instance.sh" "$T/real" "$PORT" --key root="$T/revoked.pub" --key alice="$T/revoked.pub" \
        --key bob="$T/other.pub" >/dev/null
sh "$INSTANCE/start-sshd.sh" "$T/real" || kr_fail "sshd did not start"
trap 'sh "$INSTANCE/stop-sshd.sh" "$T/real" 2>/dev/null || true; kr_cleanup' EXIT

unset SSH_AUTH_SOCK
login() { # login USER KEY: ok (authenticated; root's forced command exits 142), refused, or what happened
        local out rc=0
        # shellcheck disable=SC2086
        out=$(ssh $SSH_OPTS -o LogLevel=ERROR -i "$2" -p "$PORT" "$1@127.0.0.1" true 2>&1 </dev/null) || rc=$?
        case $rc in
        0 | 142) echo ok ;;
        255) case $out in *"Permission denied"*) echo refused ;; *) echo "error: $out" ;; esac ;;
        *) echo "error $rc: $out" ;;
        esac
}
kr_expect_eq "$(login root "$T/revoked")" ok "the revoked key as root before containment"
kr_expect_eq "$(login alice "$T/revoked")" ok "the revoked key as alice before containment"
kr_expect_eq "$(login bob "$T/other")" ok "the other key as bob"
kr_pass "before: the revoked key logs in as root and alice on the real instance"

"$PYTHON3" - "$T/fleet.json" "$T/real" "$REVOKED_PUB" <<'PY'
import json, sys
out, root, pub = sys.argv[1:4]
inst = lambda i, **kw: dict({"id": i, "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                             "key_pair_name": "kp-rev"}, **kw)
fleet = {"regions": ["cn-hangzhou"],
         "credentials": [{"access_key_id": "testid", "access_key_secret": "testsecret"}],
         "keypairs": [{"region": "cn-hangzhou", "name": "kp-rev", "public_key": pub},
                      {"region": "cn-hangzhou", "name": "kp-ok",
                       "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}],
         "instances": [inst("i-real", instance_root=root)]
                      + [inst("i-sim-%d" % n, ca_run_seconds=2) for n in range(4)]
                      + [inst("i-offline", cloud_assistant="offline"),
                         inst("i-win", os_type="windows"),
                         inst("i-stopped", status="Stopped"),
                         inst("i-copied", key_pair_name="kp-ok",
                              authorized_keys={"root": [pub + " copied"], "alice": [pub]})]}
json.dump(fleet, open(out, "w"))
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou
[Contain]
Enabled=yes
[Reboot]
Window=always
MaxParallel=10
CONF
printf 'kp-rev reason="laptop lost"\n' >"$T/revoked.list"
kr_install_list "$T/revoked.list" revoked.list

sent_to() { # instances RunCommand was applied to, sorted, one line
        "$PYTHON3" - "$T/emu.log" <<'PY'
import json, sys
ids = set()
for line in open(sys.argv[1]):
    c = json.loads(line)
    if c.get("action") == "RunCommand" and c.get("applied") and not c.get("replayed"):
        ids |= {v for k, v in c["params"].items() if k.startswith("InstanceId.")}
print(" ".join(sorted(ids)))
PY
}

# Dry run: would-contain, no RunCommand.
rc=0; kr_run_once --dry-run || rc=$?
kr_expect_eq "$rc" 0 "--dry-run exit status"
kr_expect_eq "$(kr_count_calls RunCommand)" 0 "RunCommand calls in a dry run"
kr_expect_eq "$(kr_count_events would-contain DRY_RUN=1)" 6 "would-contain events"
kr_pass "a dry run says what it would contain and sends no command"

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status (a containment failure does not change it)"
kr_expect_eq "$(sent_to)" "i-real i-sim-0 i-sim-1 i-sim-2 i-sim-3" "instances sent the command"
kr_expect_eq "$(kr_count_events contained)" 5 "contained events"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-real KEYPAIR=kp-rev 'REASON=laptop lost')" 1 "contained event of the real instance"
[ "$(kr_journal | "$PYTHON3" -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("KEYREVOKE_EVENT") == "contained" and e.get("KEYREVOKE_INSTANCE") == "i-real":
        print(e.get("KEYREVOKE_INVOCATION", "")[:2], e.get("KEYREVOKE_REMOVED"))
')" = "t- 2" ] || kr_fail "contained event of i-real without its invocation or with the wrong removed count"
[ "$(kr_journal | "$PYTHON3" -c '
import json, sys
contained, early = set(), []
for l in sys.stdin:
    e = json.loads(l)
    what, who = e.get("KEYREVOKE_EVENT"), e.get("KEYREVOKE_INSTANCE")
    if what in ("contained", "contain-failed"):
        contained.add(who)
    elif what == "reboot-started" and who not in contained:
        early.append(who)
print(" ".join(early) or "none")
')" = none ] || kr_fail "an instance was rebooted while its containment ran (the reboot cuts the command off)"
kr_expect_eq "$(kr_count_calls RebootInstance applied)" 6 "reboots (every detached Running instance, after its containment)"
kr_expect_eq "$(kr_count_events contain-failed INSTANCE=i-offline ERROR=agent-offline)" 1 "contain-failed for the offline agent"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-offline)" 1 "detach of the instance whose agent is offline"
kr_expect_eq "$(kr_count_events detached)" 7 "detached events (Linux, running or not)"
kr_pass "every reachable instance contained, the offline one reported and still detached, Windows and stopped never sent"

kr_expect_eq "$(login root "$T/revoked")" refused "the revoked key as root after containment"
kr_expect_eq "$(login alice "$T/revoked")" refused "the revoked key as alice after containment"
kr_expect_eq "$(login bob "$T/other")" ok "the other key as bob after containment"
kr_pass "after: a real sshd refuses the revoked key for root and alice; another key still logs in"

# A rescan with the same revoked keys sends nothing new (the offline agent is looked at again).
before=$(kr_count_calls RunCommand)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_calls RunCommand)" "$before" "RunCommand calls after a rescan with the same keys"
kr_pass "a rescan with an unchanged key set sends no command"

# Killed while the commands run, then restarted: nothing lost, each instance cleaned once.
kr_emuctl add-instance '{"id": "i-late-1", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-rev"}' >/dev/null
kr_emuctl add-instance '{"id": "i-late-2", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-rev"}' >/dev/null
kr_emuctl ca-set '{"id": "i-late-1", "ca_run_seconds": 3}' >/dev/null
kr_emuctl ca-set '{"id": "i-late-2", "ca_run_seconds": 3}' >/dev/null
kr_start_daemon
kr_wait_for '[ "$(kr_count_calls RunCommand applied)" -gt "$before" ]' 20 || kr_fail "no RunCommand for the late instances"
kill -9 "$KR_DAEMON"
wait "$KR_DAEMON" 2>/dev/null || true
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status after the kill"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-late-1)" 1 "contained events of i-late-1 after the kill"
kr_expect_eq "$(kr_count_events contained INSTANCE=i-late-2)" 1 "contained events of i-late-2 after the kill"
runs=$(kr_emuctl ca-state | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)["instances"]
print(s["i-late-1"]["runs"], s["i-late-2"]["runs"])
')
kr_expect_eq "$runs" "1 1" "command runs on the late instances"
kr_pass "SIGKILL while commands run: after the restart each instance was contained once"

# Scope=fleet: the revoked key copied onto an instance of another key pair is removed there.
kr_write_config <<'CONF'
Regions=cn-hangzhou
[Contain]
Enabled=yes
Scope=fleet
CONF
rc=0; kr_run_once || rc=$?
kr_expect_eq "$(kr_count_events contained INSTANCE=i-copied)" 1 "contained event of the instance with a copied key"
left=$(kr_emuctl ca-state --instance i-copied | "$PYTHON3" -c '
import json, sys
keys = json.load(sys.stdin)["instances"]["i-copied"]["authorized_keys"]
print(sum(len(v) for v in keys.values()))
')
kr_expect_eq "$left" 0 "revoked keys left in i-copied's authorized_keys"
kr_pass "Scope=fleet cleans a revoked key copied onto an instance bound to another key pair"
