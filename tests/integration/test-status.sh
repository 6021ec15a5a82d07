#!/bin/bash
# What operators see and what a manual run next to the service does: a second keyrevoked on the
# same StateDirectory is refused, naming the holder; a run as root keeps the state files owned by
# the directory's user; events reach a terminal; manual and dry runs leave MetricsFile= alone;
# status, plan and the metrics show contained and uncontained instances and the oldest exposure.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<CONF
Regions=cn-hangzhou cn-shanghai
[Agent]
MetricsFile=$T/metrics/keyrevoke.prom
[Contain]
Enabled=yes
CONF
mkdir -p "$T/metrics"
kr_install_list "$top_srcdir/tests/data/fleet/small.list" small.list
KEYREVOKECTL="$top_builddir/keyrevokectl"
ctl() { "$KEYREVOKECTL" -c "$T/keyrevoke.conf" "$@"; }
kr_emuctl add-instance '{"id": "i-off", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice", "cloud_assistant": "offline"}' >/dev/null
# The service's user owns its StateDirectory (systemd's StateDirectory= does that).
svc_uid=4242
chown "$svc_uid:$svc_uid" "$T/state"

# ---- manual runs next to the service -------------------------------------------------------------

kr_start_daemon
kr_wait_for '[ "$(kr_count_events enforcement-complete)" -ge 1 ]' 30 || kr_fail "no first pass"
kr_wait_for '[ -s "$T/metrics/keyrevoke.prom" ]' 10 || kr_fail "the service wrote no metrics"
rc=0; kr_run_once 2>"$T/second.err" || rc=$?
kr_expect_eq "$rc" 2 "exit status of a second keyrevoked on the same StateDirectory"
grep -q "$T/state is in use by pid $KR_DAEMON ($KEYREVOKED -c $T/keyrevoke.conf)" "$T/daemon.log" ||
        kr_fail "the refusal does not name the holder: $(tail -3 "$T/daemon.log")"
kr_expect_eq "$(kr_count_events enforcement-complete)" 1 "passes run by the refused --once"
kr_pass "a --once next to the running service is refused (exit 2), naming the holder's pid and command"

kr_wait_for '[ "$(kr_count_events contained)" -ge 6 ]' 30 || kr_fail "the service did not contain the 6 reachable instances"
kill -TERM "$KR_DAEMON"
wait "$KR_DAEMON" || kr_fail "the service did not stop cleanly"
for f in queue.json keyrevoked.lock; do
        kr_expect_eq "$(stat -c %u "$T/state/$f")" "$svc_uid" "owner of $f written by root"
done
cp -p "$T/metrics/keyrevoke.prom" "$T/service.prom"
kr_emuctl add-instance '{"id": "i-manual", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "manual --once after the service stopped"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-manual)" 1 "the manual run's detach"
for f in queue.json keyrevoked.lock; do
        kr_expect_eq "$(stat -c %u:%g "$T/state/$f")" "$svc_uid:$svc_uid" "owner of $f after a manual run as root"
done
[ -z "$(find "$T/state" ! -user "$svc_uid")" ] || kr_fail "files the service's user does not own: $(find "$T/state" ! -user "$svc_uid")"
kr_pass "state files written by root (service and manual run) belong to the StateDirectory's user"

# ---- containment in status, plan and the metrics ---------------------------------------------------

kr_expect_eq "$(kr_count_events contained)" 7 "contained events (6 by the service, i-manual by hand)"
kr_expect_eq "$(kr_count_events contain-failed INSTANCE=i-off ERROR=agent-offline)" 1 "contain-failed of i-off"
ctl status >"$T/status.txt" || kr_fail "status: $(cat "$T/status.txt")"
grep -q "^Containment: 7 contained, 1 uncontained$" "$T/status.txt" || kr_fail "status containment: $(cat "$T/status.txt")"
grep -qE "^Oldest uncontained: [0-9]+s \(i-off, found [A-Z][a-z]{2} 20[0-9-]+ [0-9:]+ .*, agent-offline\)$" "$T/status.txt" ||
        kr_fail "status oldest uncontained: $(cat "$T/status.txt")"
grep -qE "^cn-hangzhou +i-off +failed +[A-Z][a-z]{2} .* +[0-9]+s +0 +agent-offline$" "$T/status.txt" ||
        kr_fail "status uncontained table: $(cat "$T/status.txt")"
ctl status --json | "$PYTHON3" -c '
import json, sys
c = json.load(sys.stdin)["containment"]
assert c["enabled"] is True and c["contained"] == 7 and c["uncontained"] == 1, c
o = c["oldest_uncontained"]
assert o["instance_id"] == "i-off" and o["error"] == "agent-offline" and o["seconds"] >= 0 and o["found"], o
assert [i["instance_id"] for i in c["instances"]] == ["i-off"], c
' || kr_fail "status --json containment"
kr_pass "status (text and JSON) shows 7 contained, 1 uncontained, and the oldest uncontained instance with its error"

kr_emuctl add-instance '{"id": "i-plan", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
ctl plan >"$T/plan.txt" || kr_fail "plan: $(cat "$T/plan.txt")"
grep -q "^Containment: would contain 1 instance(s); 7 contained and 1 uncontained so far.$" "$T/plan.txt" ||
        kr_fail "plan containment: $(cat "$T/plan.txt")"
grep -qE "^cn-hangzhou +kp-alice +i-plan +would-contain " "$T/plan.txt" || kr_fail "plan would-contain row of i-plan"
ctl plan --json | "$PYTHON3" -c '
import json, sys
c = json.load(sys.stdin)["containment"]
assert c == {"enabled": True, "would_contain": 1, "contained": 7, "uncontained": 1}, c
' || kr_fail "plan --json containment"
kr_expect_eq "$(kr_count_calls RunCommand)" 3 "RunCommand calls (2 by the service, 1 by hand, none by plan)"
kr_pass "plan shows what it would contain (a new instance) and the record's counts, sending no command"


kr_run_once --dry-run || kr_fail "manual --once --dry-run"
cmp -s "$T/metrics/keyrevoke.prom" "$T/service.prom" || kr_fail "a manual or dry run replaced the service's MetricsFile="
INVOCATION_ID=0123456789abcdef0123456789abcdef kr_run_once || kr_fail "--once from a unit"
cmp -s "$T/metrics/keyrevoke.prom" "$T/service.prom" && kr_fail "a --once run by a unit did not write MetricsFile="
kr_pass "manual --once and dry runs leave the service's MetricsFile= alone; a --once of a unit writes it"

# The unit's --once wrote the metrics once its containment was final, not only at the pass end.
m="$T/metrics/keyrevoke.prom"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$m"; }
kr_expect_eq "$(metric 'keyrevoke_contained_instances{state="contained"}')" 8 "contained metric (i-plan too)"
kr_expect_eq "$(metric 'keyrevoke_contained_instances{state="uncontained"}')" 1 "uncontained metric"
"$PYTHON3" - "$m" "$T/state/queue.json" <<'PY' || kr_fail "exposure timestamps in the metrics"
import json, sys, time
v = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if not l.startswith("#")}
q = json.load(open(sys.argv[2]))
entries = q["entries"] if isinstance(q, dict) else q
oldest = min(e["detached_usec"] for e in entries if e["state"] in ("pending", "rebooting")) / 1e6
assert abs(v["keyrevoke_oldest_exposure_timestamp_seconds"] - oldest) < 1e-3, (v, oldest)
assert 0 < time.time() - v["keyrevoke_oldest_uncontained_timestamp_seconds"] < 120, v
assert v["keyrevoke_oldest_uncontained_seconds"] >= 0, v
PY
promtool check metrics <"$m" >"$T/promtool.out" 2>&1 || kr_fail "promtool: $(cat "$T/promtool.out")"
kr_pass "metrics: contained and uncontained instances, Unix times of the oldest exposure and the oldest uncontained one"

# A terminal (a pty from script(1)) shows the events, as the journal gets them.
kr_emuctl add-instance '{"id": "i-tty", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
script -qec "$KEYREVOKED -c $T/keyrevoke.conf --once --dry-run" /dev/null >"$T/tty.out" || kr_fail "--once --dry-run on a pty"
grep -q "event=would-detach .*instance=i-tty .*dry_run=1 msg=" "$T/tty.out" || kr_fail "no would-detach event on the terminal: $(cat "$T/tty.out")"
grep -q "event=enforcement-complete " "$T/tty.out" || kr_fail "no summary on the terminal"
kr_expect_eq "$(kr_count_events would-detach INSTANCE=i-tty)" 1 "would-detach of i-tty in the journal"
kr_pass "--once --dry-run on a terminal prints its events there and still sends them to the journal"
