#!/bin/bash
# Seeded soak: rounds of keyrevoked (daemon, one in four --once) against a fleet that keeps changing,
# with API faults injected, reloads (SIGHUP with another config swapped in) and a SIGKILL at a
# random moment, containment on, offset paging (a listing shifts under its own detaches). Launched
# between rounds: Linux instances (some with their Cloud Assistant agent offline), stopped ones,
# Windows ones and "hidden" Windows ones that DescribeInstances lists as Linux (DetachKeyPair refuses
# them). At the end one clean run settles everything, then the invariants:
#   nothing lost:   every Linux instance bound to a revoked key pair is detached, every Running one
#                   rebooted once, the queue holds each as done;
#   no double reboot, no reboot of an instance that was not detached before it, none of Windows;
#   no false report: every `detached` event names an instance the API detached; every `contained`
#                   one an instance whose keys are gone from authorized_keys and are in RevokedKeys;
#                   an `enforcement-complete` without failures is only said when, at the end of its
#                   round, no Linux instance was bound to a revoked key pair.
# With Scope=fleet (KR_SCOPE, else odd seeds) the revoked keys are long RSA ones, too many for one
# Cloud Assistant command: every Running Linux instance, bound or not, is sent them in runs, and
# a `contained` event must mean that every revoked key pair's key of its region is blocked there
# and gone from its authorized_keys.
# KR_SEED replays a run (printed first); KR_ROUNDS sets its length.
. "$(dirname "$0")/lib.sh"

KR_SEED=${KR_SEED:-$(( $(date +%s) % 100000 ))}
KR_ROUNDS=${KR_ROUNDS:-14}
KR_SCOPE=${KR_SCOPE:-$([ $((KR_SEED % 2)) -eq 1 ] && echo fleet || echo bound)}
RANDOM=$KR_SEED
echo "seed $KR_SEED, $KR_ROUNDS rounds, Scope=$KR_SCOPE"

if [ "$KR_SCOPE" = fleet ]; then
        shape=(--instances 150 --keypairs 36 --revoked 24 --key-type rsa)
else
        shape=(--instances 300 --keypairs 25 --revoked 6)
fi
kr_make_fleet "${shape[@]}" --regions 3 --windows-percent 10 --stopped-percent 5 \
        --ca-offline-percent 10 --ca-behaviour exit:1:4 --ca-behaviour abort:4 --seed "$KR_SEED" \
        --expect-out "$T/expect.json"
kr_start_emulator "$T/fleet.json" --paging offset --latency-ms 15 --reboot-seconds 1,1 --ca-run-seconds 1
regions=$("$PYTHON3" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["regions"]))' "$T/fleet.json")
kr_write_config <<CONF
Regions=$regions
MaxRequestsPerSecond=200
MaxConcurrentRequests=8
[Contain]
Enabled=yes
TimeoutSec=10s
Scope=$KR_SCOPE
[Reboot]
Window=always
MaxParallel=10
CONF
cp "$T/keyrevoke.conf" "$T/a.conf"
sed 's/^MaxConcurrentRequests=8/MaxConcurrentRequests=3/; s/^MaxParallel=10/MaxParallel=4/' "$T/a.conf" >"$T/b.conf"
kr_install_list "$T/generated.list" generated.list

# Launches instance number $1, bound to a revoked key pair, of a random kind (late.jsonl records it).
kr_launch() {
        "$PYTHON3" - "$T/expect.json" "$1" "$RANDOM" >>"$T/late.jsonl" <<'PY'
import json, sys
pairs = json.load(open(sys.argv[1]))["revoked_keypairs"]
n, r = int(sys.argv[2]), int(sys.argv[3])
region, kp = pairs[r % len(pairs)]
kind = ("linux", "linux", "linux", "offline", "stopped", "windows", "hidden")[r % 7]
spec = {"id": "i-late-%03d" % n, "region": region, "key_pair_name": kp, "start_time": "2024-06-01T00:00Z",
        "status": "Stopped" if kind == "stopped" else "Running",
        "os_type": "windows" if kind in ("windows", "hidden") else "linux", "kind": kind}
if kind == "hidden":
    spec["listed_os_type"] = "linux"
print(json.dumps(spec))
PY
        kr_emuctl add-instance "$(tail -n 1 "$T/late.jsonl")" >/dev/null || kr_fail "add-instance"
        if grep -q '"kind": "offline"' <(tail -n 1 "$T/late.jsonl"); then
                kr_emuctl ca-agent "i-late-$(printf %03d "$1")" offline >/dev/null || kr_fail "ca-agent"
        fi
}

# One or two faults for the next calls of a random action.
kr_inject_faults() {
        local faults=(DescribeInstances:unavailable:2 DescribeInstances:reset_after:1 DescribeKeyPairs:internal:1
                DetachKeyPair:reset_after:1 DetachKeyPair:throttle:2 RebootInstance:reset_after:1
                RunCommand:reset_after:1 DescribeInvocationResults:unavailable:1
                DescribeCloudAssistantStatus:reset_before:1 DescribeRegions:unavailable:1) i spec
        for i in $(seq $((1 + RANDOM % 2))); do
                spec=${faults[$((RANDOM % ${#faults[@]}))]}
                kr_emuctl fault "${spec%%:*}" "$(echo "$spec" | cut -d: -f2)" "${spec##*:}" >/dev/null
                printf '%s ' "$spec" >>"$T/rounds.txt"
        done
}

# kr_round N: launch, faults, start (a quarter --once), maybe reloads, SIGKILL; then the emulator's
# state at the end of the round is kept for the no-false-report check.
kr_round() {
        local n="$1" mode="" pid rc=0 conf
        kr_launch "$n"
        printf 'round %d: ' "$n" >>"$T/rounds.txt"
        kr_inject_faults
        [ $((RANDOM % 4)) -eq 0 ] && mode=--once
        "$KEYREVOKED" -c "$T/keyrevoke.conf" $mode 2>>"$T/daemon.log" &
        pid=$!
        echo "$n $pid" >>"$T/pids.txt"
        for _ in $(seq $((RANDOM % 3))); do
                sleep "$(kr_random_seconds 200 1500)"
                conf=$([ $((RANDOM % 2)) -eq 0 ] && echo a || echo b)
                cp "$T/$conf.conf" "$T/keyrevoke.conf"
                kill -HUP "$pid" 2>/dev/null || true
                printf 'reload(%s) ' "$conf" >>"$T/rounds.txt"
        done
        sleep "$(kr_random_seconds 300 3000)"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || rc=$?
        case "$rc/$mode" in
        137/*|0/--once|2/--once) ;;
        *) kr_fail "keyrevoked $mode exited with $rc before it was killed (round $n)" ;;
        esac
        echo "${mode:+(once) }exit $rc" >>"$T/rounds.txt"
        sleep 0.5 # calls of the killed process still in flight land (15 ms latency)
        kr_emuctl state >"$T/state-$n.json"
}

start=$(date +%s)
for n in $(seq "$KR_ROUNDS"); do kr_round "$n"; done
cat "$T/rounds.txt"

# The settling run: no new faults (what is left is used up), the last config; it runs until the queue and containment are
# done and the emulator is idle.
passes=$(kr_count_events enforcement-complete)
kr_start_daemon
settled=yes
kr_wait_for '[ "$(kr_count_events enforcement-complete)" -gt "$passes" ]' 60 || settled="no pass after the last start"
kr_wait_for kr_queue_settled 120 || settled="the queue did not settle"
kr_emuctl wait-idle --quiet 2 --timeout 60 >/dev/null || settled="the emulator did not go idle"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM"
echo "$KR_ROUNDS rounds, $(( $(date +%s) - start )) s"

kr_emuctl state >"$T/state.json"
kr_emuctl ca-state >"$T/ca.json"
kr_journal >"$T/journal.jsonl"
"$PYTHON3" - "$T" "$KR_SCOPE" <<'PY' || kr_fail "soak invariants (seed $KR_SEED, replay with KR_SEED=$KR_SEED)"
import glob, json, os, sys
T, scope = sys.argv[1], sys.argv[2]
fleet = json.load(open(T + "/fleet.json"))
expect = json.load(open(T + "/expect.json"))
inst = json.load(open(T + "/state.json"))["instances"]
ca = json.load(open(T + "/ca.json"))["instances"]
calls = [json.loads(l) for l in open(T + "/emu.log")]
queue = {e["instance_id"]: e for e in json.load(open(T + "/state/queue.json"))["entries"]}
journal = [json.loads(l) for l in open(T + "/journal.jsonl")]
revoked = {tuple(p) for p in expect["revoked_keypairs"]}
keys = {(k["region"], k["name"]): " ".join(k["public_key"].split()[:2]) for k in fleet["keypairs"]}
late = [json.loads(l) for l in open(T + "/late.jsonl")] if os.path.exists(T + "/late.jsonl") else []
kind = {l["id"]: l["kind"] for l in late}

def linux(i):
    return inst[i]["os_type"] == "linux"

def bound_linux(state):
    return sorted(i for i, s in state.items() if s["os_type"] == "linux" and (s["region"], s["key_pair_name"]) in revoked)

problems = []
def check(ok, what, ids=()):
    if not ok:
        problems.append("%s%s" % (what, (": " + " ".join(sorted(ids)[:10])) if ids else ""))

# Nothing lost.
expected = set(expect["detach"]) | {l["id"] for l in late if l["os_type"] == "linux"}
running = set(expect["reboot"]) | {l["id"] for l in late if l["os_type"] == "linux" and l["status"] == "Running"}
check(not bound_linux(inst), "Linux instances still bound to a revoked key pair", bound_linux(inst))
lost = [i for i in running if inst[i]["reboots"] == 0]
check(not lost, "detached Running instances never rebooted", lost)
undone = [i for i in expected if queue.get(i, {}).get("state") != "done"]
check(not undone, "queue entries not done", undone)

# No double reboot; no reboot without a detach before it; nothing of Windows.
twice = [i for i in inst if inst[i]["reboots"] > 1]
check(not twice, "instances rebooted more than once", twice)
seen_detach, early = set(), []
for c in calls:
    ids = c.get("instances") or []
    if c.get("action") == "DetachKeyPair" and c.get("applied"):
        seen_detach |= set(ids)
    if c.get("action") == "RebootInstance" and c.get("applied"):
        early += [i for i in ids if i not in seen_detach]
check(not early, "RebootInstance of an instance not detached before", early)
win = [i for i in inst if not linux(i) and (inst[i]["reboots"] or inst[i]["detached_from"])]
check(not win, "Windows instances detached or rebooted", win)
win_sent = [i for c in calls if c.get("action") in ("DetachKeyPair", "RebootInstance", "RunCommand")
            for i in (c.get("instances") or []) if not linux(i) and kind.get(i) != "hidden"]
check(not win_sent, "Windows instances (listed as such) sent a mutating call", win_sent)

# No false report.
events = lambda name: [e for e in journal if e.get("KEYREVOKE_EVENT") == name and not e.get("KEYREVOKE_DRY_RUN")]
false_detached = [e["KEYREVOKE_INSTANCE"] for e in events("detached")
                  if inst[e["KEYREVOKE_INSTANCE"]]["key_pair_name"] or not inst[e["KEYREVOKE_INSTANCE"]]["detached_from"]]
check(not false_detached, "detached events for instances the API did not detach", false_detached)
false_contained, unbound_contained = [], 0
for e in events("contained"):
    i = e["KEYREVOKE_INSTANCE"]
    mine = {keys[(inst[i]["region"], kp)] for kp in inst[i]["detached_from"] + [inst[i]["key_pair_name"]]
            if (inst[i]["region"], kp) in revoked}
    unbound_contained += not mine
    if scope == "fleet":
        # Sent the whole set, in runs, bound or not; contained only once the last one is proved.
        mine = {keys[rk] for rk in revoked if rk[0] == inst[i]["region"]}
    a = ca.get(i) or {}
    held = {" ".join(l.split()[-2:]) for lines in (a.get("authorized_keys") or {}).values() for l in lines}
    blocked = set(a.get("revoked_keys") or [])
    if not mine <= blocked or mine & held:
        false_contained.append(i)
check(not false_contained, "contained events for instances whose key is not removed and blocked", false_contained)
if scope == "fleet":
    split = "too many for one Cloud Assistant command: split into" in open(T + "/daemon.log").read()
    check(split and unbound_contained > 0, "Scope=fleet: no key set was sent in runs to an instance bound to none")
pids = dict(l.split()[::-1] for l in open(T + "/pids.txt"))
complete = 0
for e in events("enforcement-complete"):
    n = pids.get(e.get("_PID"))
    if n is None or e.get("KEYREVOKE_FAILED") != "0" or e.get("KEYREVOKE_REGIONS_FAILED") != "0":
        continue
    complete += 1
    left = bound_linux(json.load(open("%s/state-%s.json" % (T, n)))["instances"])
    check(not left, "round %s: a pass said complete while Linux instances stayed bound" % n, left)

print("%d expected detaches, %d reboots, %d detached events, %d contained events (%d of instances bound to "
      "none), %d late launches, %d passes complete without failures in a killed round"
      % (len(expected), sum(s["reboots"] for s in inst.values()), len(events("detached")),
         len(events("contained")), unbound_contained, len(late), complete))
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
PY
[ "$settled" = yes ] || kr_fail "$settled"
kr_pass "$KR_ROUNDS rounds of faults, reloads and SIGKILLs: nothing lost, no double reboot, no false report"
