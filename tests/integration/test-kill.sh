#!/bin/bash
# Crash safety: keyrevoked is SIGKILLed at random moments while it detaches and reboots a generated
# fleet, and restarted each time (as a daemon, sometimes with --once). Every DetachKeyPair and
# RebootInstance is applied 300 ms after it was sent (kills land while calls are in flight, and a
# killed daemon's call still takes effect after its successor started), the first answers to
# DetachKeyPair and RebootInstance are lost after the call was applied, and instances bound to
# revoked key pairs are launched between the rounds (found by the pass of the next start):
#   1. Window=always, KR_KILLS (20) kills;
#   2. no Window= at all, 5 kills: no RebootInstance may happen in this phase;
#   3. Window=always, 5 kills, then it runs to the end.
# In the end every expected Linux instance is detached and rebooted exactly once (emulator counts),
# the queue holds every one as done, and no Windows or unrelated instance was ever sent.
# KR_SEED picks the fleet and the kill times (printed, to replay a failure).
. "$(dirname "$0")/lib.sh"

KR_SEED=${KR_SEED:-$(( $(date +%s) % 100000 ))}
KR_KILLS=${KR_KILLS:-20}
RANDOM=$KR_SEED
echo "seed $KR_SEED"

kr_make_fleet --instances 400 --regions 3 --keypairs 30 --revoked 8 --windows-percent 10 --stopped-percent 0 \
        --seed "$KR_SEED" --expect-out "$T/expect.json"
kr_start_emulator "$T/fleet.json" --reboot-seconds 1,1 --latency-ms 20 --fault DetachKeyPair:reset_after:2 \
        --fault DetachKeyPair:latency:300:100000 --fault RebootInstance:reset_after:5 \
        --fault RebootInstance:latency:300:100000
regions=$("$PYTHON3" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["regions"]))' "$T/fleet.json")
kr_write_config <<CONF
Regions=$regions
MaxRequestsPerSecond=200
MaxConcurrentRequests=8
CONF
cp "$T/keyrevoke.conf" "$T/closed.conf"
printf '[Reboot]\nWindow=always\nMaxParallel=10\n' >>"$T/keyrevoke.conf"
printf '[Reboot]\nMaxParallel=10\n' >>"$T/closed.conf"
kr_install_list "$T/generated.list" generated.list

# Launches an instance bound to a revoked key pair (one in five Windows), as $T/late.jsonl records.
kr_launch() {
        "$PYTHON3" - "$T/expect.json" "$1" "$RANDOM" >>"$T/late.jsonl" <<'PY'
import json, sys
pairs = json.load(open(sys.argv[1]))["revoked_keypairs"]
n, r = int(sys.argv[2]), int(sys.argv[3])
region, kp = pairs[r % len(pairs)]
print(json.dumps({"id": "i-late-%03d" % n, "region": region, "key_pair_name": kp, "status": "Running",
                  "os_type": "windows" if r % 5 == 0 else "linux", "start_time": "2024-06-01T00:00Z"}))
PY
        kr_emuctl add-instance "$(tail -n 1 "$T/late.jsonl")" >/dev/null || kr_fail "add-instance"
}

# kr_round CONFIG: launches an instance, starts keyrevoked (one time in four with --once), SIGKILLs it
# after a random delay.
kr_round() {
        local conf="$1" mode="" pid rc=0 delay
        kr_launch "$KR_ROUND"
        [ $((RANDOM % 4)) -eq 0 ] && mode=--once
        delay=$(kr_random_seconds 200 2800)
        "$KEYREVOKED" -c "$conf" $mode 2>>"$T/daemon.log" &
        pid=$!
        sleep "$delay"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || rc=$?
        # 137: killed; an --once run may have ended by itself (0, or 2 with something pending).
        case "$rc/$mode" in
        137/*|0/--once|2/--once) ;;
        *) kr_fail "keyrevoked $mode exited with $rc before it was killed (round $KR_ROUND)" ;;
        esac
        KR_ROUND=$((KR_ROUND + 1))
        printf '%s%s ' "$delay" "${mode:+(once)}"
}

# Lines in the emulator log once the calls of a killed process are over (20 ms latency).
kr_log_mark() {
        sleep 0.5
        wc -l <"$T/emu.log"
}

start=$(date +%s)
KR_ROUND=1
printf 'phase 1 (Window=always), kills after: '
for _ in $(seq "$KR_KILLS"); do kr_round "$T/keyrevoke.conf"; done
echo

mark=$(kr_log_mark)
printf 'phase 2 (no Window=), kills after: '
for _ in 1 2 3 4 5; do kr_round "$T/closed.conf"; done
echo
closed=$(tail -n +"$((mark + 1))" "$T/emu.log" | head -n "$(( $(kr_log_mark) - mark ))" |
        "$PYTHON3" -c 'import json,sys; print(sum(json.loads(l).get("action") == "RebootInstance" for l in sys.stdin))')
kr_expect_eq "$closed" 0 "RebootInstance calls while no window was open"

printf 'phase 3 (Window=always), kills after: '
for _ in 1 2 3 4 5; do kr_round "$T/keyrevoke.conf"; done
echo
passes=$(kr_count_events enforcement-complete)
kr_start_daemon

# The end: a pass of the last start is over, nothing is left in flight in the queue, the emulator
# is idle (what is missing from the queue then is lost: the checks below tell). When that does not
# happen, the counts are still printed before the test fails.
settled=yes
kr_wait_for '[ "$(kr_count_events enforcement-complete)" -gt "$passes" ]' 30 || settled="no pass after the last start"
kr_wait_for kr_queue_settled 120 || settled="the queue did not settle"
kr_emuctl wait-idle --quiet 1 --timeout 30 >/dev/null || settled="the emulator did not go idle"
kr_queue_settled || settled="the queue did not settle"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM"
echo "$((KR_ROUND - 1)) kills, $(( $(date +%s) - start )) s from the first start to the end"

kr_emuctl state >"$T/state.json"
kr_journal >"$T/journal.jsonl"
kr_check() {
        "$PYTHON3" - "$T/expect.json" "$T/state.json" "$T/emu.log" "$T/state/queue.json" "$T/late.jsonl"
}
kr_check <<'PY' || kr_fail "crash safety (seed $KR_SEED)"
import json, sys
expect = json.load(open(sys.argv[1]))
inst = json.load(open(sys.argv[2]))["instances"]
calls = [json.loads(l) for l in open(sys.argv[3])]
queue = {e["instance_id"]: e for e in json.load(open(sys.argv[4]))["entries"]}
detach, reboot, windows = set(expect["detach"]), set(expect["reboot"]), set(expect["skip_windows"])
for line in open(sys.argv[5]):
    late = json.loads(line)
    (windows if late["os_type"] == "windows" else detach).add(late["id"])
    if late["os_type"] != "windows":
        reboot.add(late["id"])

detached = [i for i in detach if inst[i]["key_pair_name"] == "" and inst[i]["detached_from"]]
once = [i for i in reboot if inst[i]["reboots"] == 1]
twice = sorted(i for i in reboot if inst[i]["reboots"] >= 2)
lost = sorted(i for i in reboot if inst[i]["reboots"] == 0)
sent = {i for c in calls if c.get("action") in ("DetachKeyPair", "RebootInstance") for i in c.get("instances") or []}
windows_touched = sorted(windows & sent)
others_touched = sorted(i for i in inst if i not in detach and (inst[i]["reboots"] or inst[i]["detached_from"]))
not_done = sorted(i for i in detach if queue.get(i, {}).get("state") != "done"
                  or queue[i].get("outcome") != "completed")
print("detached %d/%d, rebooted once %d/%d, rebooted twice %d, lost %d, windows touched %d/%d, "
      "others touched %d, queue not completed %d"
      % (len(detached), len(detach), len(once), len(reboot), len(twice), len(lost), len(windows_touched),
         len(windows), len(others_touched), len(not_done)))
for name, ids in (("twice", twice), ("lost", lost), ("windows touched", windows_touched),
                  ("others touched", others_touched), ("queue not completed", not_done)):
    if ids:
        print("  %s: %s" % (name, " ".join(ids[:10])))
ok = (len(detached) == len(detach) and len(once) == len(reboot) and not twice and not lost
      and not windows_touched and not others_touched and not not_done and reboot == detach)
sys.exit(0 if ok else 1)
PY
[ "$settled" = yes ] || kr_fail "$settled"
kr_pass "$((KR_ROUND - 1)) SIGKILLs: every Linux instance detached and rebooted exactly once, nothing lost"
