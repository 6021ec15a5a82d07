#!/bin/bash
# A reload (SIGHUP) while RebootInstance calls, then while a RunCommand, are in flight: the new
# client is swapped in only once they are answered (no call of the old client is abandoned).
# Before, the abandoned RebootInstance still reached the API, the instance looked untouched after
# the daemon's 20 s grace and was sent a second RebootInstance; an abandoned RunCommand was never
# followed, and containment kept a pointer to the freed client. Slow answers come from the
# emulator's latency faults (RebootInstance 27 s: longer than that grace).
. "$(dirname "$0")/lib.sh"

N=3
"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" "$N" <<'PY'
import json, sys
key = open("%s/ed25519.pub" % sys.argv[2]).read().split("\n")[0]
inst = lambda iid, kp: {"id": iid, "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                        "key_pair_name": kp, "start_time": "2024-01-01T00:00Z"}
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": "kp-old", "public_key": key},
                        {"region": "cn-hangzhou", "name": "kp-later", "public_key": key},
                        {"region": "cn-hangzhou", "name": "kp-last", "public_key": key}],
           "instances": [inst("i-r%d" % n, "kp-old") for n in range(1, int(sys.argv[3]) + 1)]
                        + [inst("i-later", "kp-later"), inst("i-last", "kp-last")]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json" --fault "RebootInstance:latency:27000:$N" --fault RunCommand:latency:3000:3
kr_write_config <<'CONF'
Regions=cn-hangzhou
[Reboot]
Window=always
MaxParallel=5
[Contain]
Enabled=yes
CONF
sed -i "s/^RequestTimeoutSec=5$/RequestTimeoutSec=40/" "$T/keyrevoke.conf"
printf 'kp-old\n' >"$T/old.list"
kr_install_list "$T/old.list" old.list

rebooting() {
        "$PYTHON3" -c 'import json, sys
print(sum(e["state"] == "rebooting" for e in json.load(open(sys.argv[1]))["entries"]))' "$T/state/queue.json" 2>/dev/null || echo 0
}
reloads() { grep -c "Configuration reloaded" "$T/daemon.log" || true; }
kr_start_daemon

# ---- a reload while RebootInstance calls are in flight ----------------------------------------------
kr_wait_for '[ "$(rebooting)" -eq '"$N"' ]' 30 || kr_fail "the reboots did not start"
sed -i 's/^MaxRetries=5$/MaxRetries=4/' "$T/keyrevoke.conf"
kill -HUP "$KR_DAEMON"
kr_wait_for '[ "$(kr_count_events reboot-completed)" -eq '"$N"' ]' 50 || kr_fail "the reboots did not complete"
kr_wait_for '[ "$(reloads)" -eq 1 ]' 10 || kr_fail "the reload was not applied"
# A call is logged when answered: a slow abandoned one shows up later.
kr_emuctl wait-idle --quiet 3 --timeout 40 >/dev/null || kr_fail "the emulator did not become idle"
"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "RebootInstance calls per instance"
import collections, json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
per = collections.Counter(c["instances"][0] for c in calls if c.get("action") == "RebootInstance")
print("RebootInstance calls per instance:", dict(per))
assert per and all(n == 1 for n in per.values()), per
PY
kr_expect_eq "$(kr_count_events reboot-started)" "$N" "reboot-started events (the answers were taken)"
kr_pass "a reload during $N slow RebootInstance calls waits for their answers: one RebootInstance per instance"

# ---- a reload while a RunCommand is in flight --------------------------------------------------------
printf 'kp-later\n' >"$T/later.list"
kr_install_list "$T/later.list" later.list
kr_wait_for '[ "$(kr_count_calls DescribeCloudAssistantStatus)" -ge 2 ]' 20 || kr_fail "containment of i-later did not start"
kr_expect_eq "$(kr_count_calls RunCommand)" 1 "RunCommand calls answered before the second reload"
sed -i 's/^MaxRetries=4$/MaxRetries=5/' "$T/keyrevoke.conf"
kill -HUP "$KR_DAEMON"
kr_wait_for '[ "$(kr_count_events contained INSTANCE=i-later)" -eq 1 ] &&
             [ "$(kr_count_events reboot-completed INSTANCE=i-later)" -eq 1 ]' 30 ||
        kr_fail "the RunCommand in flight at the reload was not followed to its end"
kr_wait_for '[ "$(reloads)" -eq 2 ]' 10 || kr_fail "the second reload was not applied"
kr_expect_eq "$(kr_count_calls RunCommand)" 2 "RunCommand calls"
kr_pass "a reload during a slow RunCommand waits for its answer; the command is followed, then the reboot"

# SIGTERM while a RunCommand is in flight: its batch is freed with the containment (under ASan a
# leak fails the exit).
printf 'kp-last\n' >"$T/last.list"
kr_install_list "$T/last.list" last.list
kr_wait_for '[ "$(kr_count_calls DescribeCloudAssistantStatus)" -ge 3 ]' 20 || kr_fail "containment of i-last did not start"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM with a RunCommand in flight"
kr_pass "SIGTERM with a RunCommand in flight exits cleanly"

# Restarted, it resumes the containment of i-last, then reboots it: SIGTERM while that
# RebootInstance is in flight (its call is freed with the scheduler).
kr_emuctl fault RebootInstance latency:20000 1 >/dev/null
kr_start_daemon
kr_wait_for '[ "$(rebooting)" -eq 1 ]' 30 || kr_fail "the reboot of i-last did not start"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM with a RebootInstance in flight"
kr_pass "SIGTERM with a RebootInstance in flight exits cleanly"
