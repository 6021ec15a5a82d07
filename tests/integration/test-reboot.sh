#!/bin/bash
# Reboots inside maintenance windows, from the real clock. Two daemons share one emulator:
#   A: its window opens at the next minute boundary at least 40 s away: it detaches at once, reboots
#      nothing before the window, then reboots its 12 instances with at most MaxParallel=3 at once,
#      skips its Stopped instance (KEYREVOKE_SKIP=stopped) and never touches its Windows instance;
#   D: its window closes at that same boundary (CutoffSec=20s, MaxParallel=1): it reboots some of its
#      40 instances, starts none after the cutoff and leaves the rest pending in queue.json.
# Then on D's queue: --once outside any window exits at once leaving it queued, --once with
# Window=always reboots the rest and waits for them.
. "$(dirname "$0")/lib.sh"

KR_GRACE=1      # seconds a RebootInstance may be applied after the decision (one round trip)

now=$(date +%s)
S=$(( (now + 40 + 59) / 60 * 60 ))
hhmm() { date -u -d "@$1" +%H:%M; }
echo "now $(date -u -d "@$now" +%T) UTC, windows A $(hhmm "$S")-$(hhmm $((S + 120))), D $(hhmm $((S - 120)))-$(hhmm "$S")"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
out, keys = sys.argv[1], sys.argv[2]
def key(name):
    return open("%s/%s.pub" % (keys, name)).read().split("\n")[0]
def inst(iid, kp, os_type="linux", status="Running"):
    return {"id": iid, "region": "cn-hangzhou", "os_type": os_type, "status": status,
            "key_pair_name": kp, "start_time": "2024-01-01T00:00Z"}
instances = [inst("i-a%02d" % n, "kp-a") for n in range(1, 13)]
instances += [inst("i-a-stopped", "kp-a", status="Stopped"), inst("i-a-windows", "kp-a", os_type="windows")]
instances += [inst("i-d%02d" % n, "kp-d") for n in range(1, 41)]
instances += [inst("i-keep", "kp-keep")]
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": "kp-a", "public_key": key("ed25519")},
                        {"region": "cn-hangzhou", "name": "kp-d", "public_key": key("ecdsa256")},
                        {"region": "cn-hangzhou", "name": "kp-keep", "public_key": key("rsa")}],
           "instances": instances}, open(out, "w"))
PY
kr_start_emulator "$T/fleet.json" --reboot-seconds 1,1

# kr_reboot_config FILE LISTDIR STATEDIR [Reboot] lines...
kr_reboot_config() {
        local file="$1" lists="$2" state="$3"
        shift 3
        mkdir -p "$lists" "$state"
        chmod 0700 "$state"
        sed -e "s|^RevocationDirectory=.*|RevocationDirectory=$lists|" \
                -e "s|^StateDirectory=.*|StateDirectory=$state|" \
                "$T/base.conf" >"$file"
        printf '[Reboot]\nTimeZone=UTC\n' >>"$file"
        printf '%s\n' "$@" >>"$file"
}

# kr_count_pending STATEDIR: entries of its queue.json waiting for a reboot.
kr_count_pending() {
        "$PYTHON3" -c 'import json, sys
print(sum(e["state"] == "pending" for e in json.load(open(sys.argv[1]))["entries"]))' "$1/queue.json"
}

# kr_reboot_peak PREFIX: the most instances named PREFIX* rebooting at once in the emulator log (from
# their applied RebootInstance to their reboot-running event).
kr_reboot_peak() {
        "$PYTHON3" - "$T/emu.log" "$1" <<'PY'
import json, sys
rebooting, peak = set(), 0
for c in map(json.loads, open(sys.argv[1])):
    if c.get("action") == "RebootInstance" and c.get("applied") and c["instances"][0].startswith(sys.argv[2]):
        rebooting.add(c["instances"][0])
    elif c.get("event") == "reboot-running":
        rebooting.discard(c["instance"])
    peak = max(peak, len(rebooting))
print(peak)
PY
}

kr_write_config <<'CONF'
Regions=cn-hangzhou
MaxRequestsPerSecond=100
CONF
mv "$T/keyrevoke.conf" "$T/base.conf"
kr_reboot_config "$T/keyrevoke.conf" "$T/revoked.d" "$T/state" "Window=$(hhmm "$S")-$(hhmm $((S + 120)))" \
        MaxParallel=3 CutoffSec=10s
kr_reboot_config "$T/d.conf" "$T/revoked-d" "$T/state-d" "Window=$(hhmm $((S - 120)))-$(hhmm "$S")" \
        MaxParallel=1 CutoffSec=20s
printf 'kp-a reason=rotation\n' >"$T/a.list"
printf 'kp-d\n' >"$T/d.list"
kr_install_list "$T/a.list" a.list
install -m 0644 "$T/d.list" "$T/revoked-d/d.list"

kr_start_daemon
"$KEYREVOKED" -c "$T/d.conf" 2>>"$T/daemon-d.log" &
DAEMON_D=$!
KR_PIDS="$KR_PIDS $DAEMON_D"

# ---- (a) A detaches at once, reboots nothing before its window --------------------------------------
kr_wait_for '[ "$(kr_count_events detached KEYPAIR=kp-a)" -eq 13 ] &&
             [ "$(kr_count_events reboot-queued KEYPAIR=kp-a)" -eq 13 ]' 20 ||
        kr_fail "A did not detach its 13 Linux instances at once"
[ "$(date +%s)" -lt "$S" ] || kr_fail "the detach took until the window opened"
kr_expect_eq "$(kr_count_events skipped-windows INSTANCE=i-a-windows)" 1 "skipped-windows for the Windows instance"
kr_pass "the daemon detaches at once, before its window opens"

# ---- (d) D reboots one at a time until its cutoff, the rest stays queued --------------------------
kr_wait_for '[ "$(date +%s)" -ge $((S + 2)) ]' 120 || kr_fail "clock"
kill -TERM "$DAEMON_D"
rc=0; wait "$DAEMON_D" || rc=$?
kr_expect_eq "$rc" 0 "D's exit status after SIGTERM"
"$PYTHON3" - "$T/emu.log" "$T/state-d/queue.json" "$S" "$KR_GRACE" <<'PY' || kr_fail "the closing window (D)"
import json, sys
log, queue, S, grace = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
d = {"i-d%02d" % n for n in range(1, 41)}
calls = [json.loads(l) for l in open(log)]
reboots = [c for c in calls if c.get("action") == "RebootInstance" and c.get("applied")
           and c["instances"][0] in d]
rebooted = [c["instances"][0] for c in reboots]
late = [(c["instances"][0], round(c["t"] - S, 2)) for c in reboots if c["t"] > S - 20 + grace]
q = {e["instance_id"]: e for e in json.load(open(queue))["entries"]}
pending = sorted(i for i in d if q.get(i, {}).get("state") == "pending")
done = sorted(i for i in d if q.get(i, {}).get("state") == "done" and q[i]["outcome"] == "completed")
print("D: %d rebooted before the cutoff, %d pending, %d started after it %s"
      % (len(rebooted), len(pending), len(late), late))
assert not late, "RebootInstance after window end minus CutoffSec"
assert len(set(rebooted)) == len(rebooted), "an instance was rebooted twice"
assert rebooted and pending, "expected some rebooted and some pending"
assert sorted(rebooted) == done, "rebooted != completed in the queue"
assert len(pending) + len(done) == 40, "instances lost from the queue"
PY
kr_expect_eq "$(kr_reboot_peak 'i-d')" 1 "D's instances rebooting at once (MaxParallel=1)"
kr_pass "a window that closes leaves the rest pending; nothing starts after its end minus CutoffSec"

# ---- (e) --once on D's queue: outside any window, then with Window=always ------------------------
pending_before=$(kr_count_pending "$T/state-d")
reboots_before=$(kr_count_calls RebootInstance)
far=$((now + 6 * 3600))
kr_reboot_config "$T/d-outside.conf" "$T/revoked-d" "$T/state-d" "Window=$(hhmm "$far")-$(hhmm $((far + 3600)))" \
        MaxParallel=10 CutoffSec=1min
start=$(date +%s%N)
rc=0; timeout 60 "$KEYREVOKED" -c "$T/d-outside.conf" --once 2>>"$T/daemon-d.log" || rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
kr_expect_eq "$rc" 0 "--once outside any window: exit status"
[ "$took" -lt 10000 ] || kr_fail "--once outside any window took ${took} ms"
kr_expect_eq "$(kr_count_calls RebootInstance)" "$reboots_before" "RebootInstance calls of --once outside any window"
kr_expect_eq "$(kr_count_pending "$T/state-d")" "$pending_before" "pending after --once outside any window"
kr_pass "--once outside any window exits in ${took} ms, leaving $pending_before reboots queued"

completed_before=$(kr_count_events reboot-completed KEYPAIR=kp-d)
kr_reboot_config "$T/d-always.conf" "$T/revoked-d" "$T/state-d" Window=always MaxParallel=10
rc=0; timeout 120 "$KEYREVOKED" -c "$T/d-always.conf" --once 2>>"$T/daemon-d.log" || rc=$?
kr_expect_eq "$rc" 0 "--once with Window=always: exit status"
kr_expect_eq "$(( $(kr_count_events reboot-completed KEYPAIR=kp-d) - completed_before ))" "$pending_before" \
        "reboot-completed events of --once"
"$PYTHON3" - "$T/state-d/queue.json" "$(kr_emuctl state)" <<'PY' || kr_fail "--once did not finish D's reboots"
import json, sys
q = json.load(open(sys.argv[1]))["entries"]
st = json.loads(sys.argv[2])["instances"]
assert len(q) == 40 and all(e["state"] == "done" and e["outcome"] == "completed" for e in q), q
bad = {i: st[i]["reboots"] for i in st if i.startswith("i-d") and st[i]["reboots"] != 1}
assert not bad, "reboot counts: %s" % bad
PY
kr_pass "--once inside a window starts the due reboots and waits for them"

# ---- (a), (b), (c): A's window -----------------------------------------------------------------
kr_wait_for '[ "$(kr_count_events reboot-completed KEYPAIR=kp-a)" -ge 12 ]' 90 || kr_fail "A's reboots did not complete"
"$PYTHON3" - "$T/emu.log" "$S" "$(kr_emuctl state)" <<'PY' || kr_fail "A's reboots"
import json, sys
log, S, st = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])["instances"]
a = {"i-a%02d" % n for n in range(1, 13)}
calls = [json.loads(l) for l in open(log)]
reboots = [c for c in calls if c.get("action") == "RebootInstance" and c["instances"][0] in a and c.get("applied")]
early = [(c["instances"][0], round(c["t"] - S, 2)) for c in reboots if c["t"] < S]
print("A: first reboot %.2fs after the window start" % (min(c["t"] for c in reboots) - S))
assert not early, "RebootInstance before the window: %s" % early
bad = {i: st[i]["reboots"] for i in a if st[i]["reboots"] != 1}
assert not bad, "reboot counts %s" % bad
def named(action, ids):
    return [c for c in calls if c.get("action") == action and set(ids) & set(c.get("instances") or [])]
assert not named("DetachKeyPair", ["i-a-windows", "i-keep"]), "DetachKeyPair sent for an instance to leave alone"
assert not named("RebootInstance", ["i-a-windows", "i-keep", "i-a-stopped"]), "RebootInstance for one to leave alone"
assert st["i-a-stopped"]["reboots"] == 0 and st["i-a-stopped"]["status"] == "Stopped"
assert st["i-a-windows"]["key_pair_name"] == "kp-a" and st["i-keep"]["key_pair_name"] == "kp-keep"
PY
kr_expect_eq "$(kr_reboot_peak 'i-a')" 3 "A's instances rebooting at once (MaxParallel=3)"
kr_pass "no reboot before the window; inside it every instance rebooted once, never more than MaxParallel at once"

kr_expect_eq "$(kr_count_events reboot-skipped INSTANCE=i-a-stopped SKIP=stopped REASON=rotation)" 1 \
        "reboot-skipped with KEYREVOKE_SKIP=stopped and the list's KEYREVOKE_REASON"
kr_expect_eq "$(kr_count_events reboot-started INSTANCE=i-a-stopped)" 0 "reboot-started for the Stopped instance"
kr_expect_eq "$(kr_count_events reboot-started KEYPAIR=kp-a REASON=rotation)" 12 "reboot-started with the list's reason"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "A's exit status after SIGTERM"
"$PYTHON3" - "$T/state/queue.json" <<'PY' || kr_fail "A's queue"
import json, sys
q = {e["instance_id"]: e for e in json.load(open(sys.argv[1]))["entries"]}
assert q["i-a-stopped"]["state"] == "done" and q["i-a-stopped"]["outcome"] == "stopped", q["i-a-stopped"]
assert "i-a-windows" not in q
assert all(q["i-a%02d" % n]["outcome"] == "completed" for n in range(1, 13))
PY
kr_pass "a Stopped instance is skipped (reboot-skipped, KEYREVOKE_SKIP=stopped, the list's reason kept), a Windows one never queued"
