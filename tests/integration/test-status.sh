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

# ---- help names the manual pages -------------------------------------------------------------------

"$KEYREVOKED" --help | grep -qx "See keyrevoked(8), keyrevoke.conf(5) and keyrevoke.list(5)." || kr_fail "keyrevoked --help"
"$KEYREVOKECTL" --help | grep -qx "See keyrevokectl(1)." || kr_fail "keyrevokectl --help"
kr_pass "--help names the manual pages"

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
# i-off, detached, is tried again by the manual run's pass: its agent is still offline.
kr_expect_eq "$(kr_count_events contain-failed INSTANCE=i-off ERROR=agent-offline)" 2 "contain-failed of i-off (service, manual run)"
rc=0; ctl status >"$T/status.txt" || rc=$?
kr_expect_eq "$rc" 3 "status exit status (i-off is uncontained, the list has a bad line)"
grep -qx "  1 instance(s) uncontained: the revoked key still works there until contained or rebooted" "$T/status.txt" ||
        kr_fail "status does not list the uncontained instance as a problem"
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
# i-plan is new; i-off, detached and uncontained (agent-offline), is tried again at every pass.
grep -q "^Containment: would contain 2 instance(s); 7 contained and 1 uncontained so far.$" "$T/plan.txt" ||
        kr_fail "plan containment: $(cat "$T/plan.txt")"
grep -qE "^cn-hangzhou +kp-alice +i-plan +would-contain " "$T/plan.txt" || kr_fail "plan would-contain row of i-plan"
grep -qE "^cn-hangzhou +kp-alice +i-off +would-contain " "$T/plan.txt" || kr_fail "plan would-contain row of i-off"
ctl plan --json | "$PYTHON3" -c '
import json, sys
c = json.load(sys.stdin)["containment"]
assert c == {"enabled": True, "would_contain": 2, "contained": 7, "uncontained": 1}, c
' || kr_fail "plan --json containment"
kr_expect_eq "$(kr_count_calls RunCommand)" 3 "RunCommand calls (2 by the service, 1 by hand, none by plan)"
kr_pass "plan shows what it would contain (a new instance, an uncontained queued one) and the record's counts, sending no command"


kr_run_once --dry-run || kr_fail "manual --once --dry-run"
cmp -s "$T/metrics/keyrevoke.prom" "$T/service.prom" || kr_fail "a manual or dry run replaced the service's MetricsFile="
INVOCATION_ID=0123456789abcdef0123456789abcdef kr_run_once || kr_fail "--once from a unit"
cmp -s "$T/metrics/keyrevoke.prom" "$T/service.prom" && kr_fail "a --once run by a unit did not write MetricsFile="
kr_pass "manual --once and dry runs leave the service's MetricsFile= alone; a --once of a unit writes it"

# Three real passes and two restarts saw the Windows instance i-hz-w1: one warning; dry runs say
# it each time.
all=$(kr_count_events skipped-windows INSTANCE=i-hz-w1)
dry=$(kr_count_events skipped-windows INSTANCE=i-hz-w1 DRY_RUN=1)
kr_expect_eq "$((all - dry)):$dry" "1:1" "skipped-windows events of i-hz-w1 (real:dry)"
kr_expect_eq "$(($(kr_count_events enforcement-complete SKIPPED=1) - $(kr_count_events enforcement-complete SKIPPED=1 DRY_RUN=1)))" 3 \
        "real passes that still count it as skipped"
"$PYTHON3" -c '
import json, sys
w = json.load(open(sys.argv[1]))
assert [(e["instance"], e["keypair"]) for e in w["instances"]] == [("i-hz-w1", "kp-alice")], w
' "$T/state/windows.json" || kr_fail "windows.json"
kr_pass "a Windows instance is warned about once across passes and restarts (remembered in windows.json)"

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

# ---- health: the last pass, why nothing was enforced, STATUS= ---------------------------------------

# Its own lists and state, on the same emulator.
mkdir -p "$T/h.d" "$T/hstate" && chmod 0700 "$T/hstate"
sed -e "s|^RevocationDirectory=.*|RevocationDirectory=$T/h.d|" -e "s|^StateDirectory=.*|StateDirectory=$T/hstate|" \
        -e "/^MetricsFile=/d" -e "/^Enabled=yes/d" "$T/keyrevoke.conf" >"$T/h.conf"
hctl() { "$KEYREVOKECTL" -c "$T/h.conf" "$@"; }
# hstatus WANT-EXIT: status of h.conf in $T/h.txt, with the expected exit status.
hstatus() {
        local rc=0
        hctl status >"$T/h.txt" 2>&1 || rc=$?
        kr_expect_eq "$rc" "$1" "status exit status: $(cat "$T/h.txt")"
}
hstatus 3
grep -q "^Last pass: none recorded$" "$T/h.txt" || kr_fail "status before any pass: $(cat "$T/h.txt")"
grep -q "^  no enforcement pass recorded in $T/hstate: keyrevoked has not run" "$T/h.txt" || kr_fail "attention before any pass"

"$KEYREVOKED" -c "$T/h.conf" --once 2>>"$T/daemon.log" || kr_fail "--once without lists"
hstatus 3
grep -qE "^Last pass: .*: no-lists, nothing enforced: no revocation list \(\*\.list\) found$" "$T/h.txt" ||
        kr_fail "status without lists: $(cat "$T/h.txt")"
grep -qx "  the last pass enforced nothing: no revocation list (\*.list) found" "$T/h.txt" || kr_fail "attention without lists"
[ "$(hctl status --json | "$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["last_pass"]["result"])')" = no-lists ] ||
        kr_fail "status --json without lists"

printf '# nothing yet\n' >"$T/h.d/empty.list"; chmod 0644 "$T/h.d/empty.list"
"$KEYREVOKED" -c "$T/h.conf" --once 2>>"$T/daemon.log" || kr_fail "--once with an empty list"
hstatus 3
grep -qE "^Last pass: .*: no-entries, nothing enforced: the 1 list\(s\) hold no valid entry$" "$T/h.txt" ||
        kr_fail "status with an empty list: $(cat "$T/h.txt")"
kr_expect_eq "$(kr_count_events enforcement-complete RESULT=no-entries)" 1 "summary event of the pass with an empty list"

printf 'kp-alice\n' >"$T/h.d/empty.list"
sed -i "s|^Regions=.*|Regions=cn-nowhere|" "$T/h.conf"
rc=0; "$KEYREVOKED" -c "$T/h.conf" --once 2>>"$T/daemon.log" || rc=$?
kr_expect_eq "$rc" 2 "--once when every region fails"
hstatus 3
grep -qE "^Last pass: .*: all-regions-failed, nothing enforced: no region could be listed \(1 failed\)$" "$T/h.txt" ||
        kr_fail "status when every region failed: $(cat "$T/h.txt")"
kr_pass "status says why nothing was enforced (no pass yet, no lists, no entries, every region failed) and exits 3"

# A healthy pass: exit 0, nothing listed.
sed -i "s|^Regions=.*|Regions=cn-hangzhou|" "$T/h.conf"
printf 'kp-dave\n' >"$T/h.d/empty.list"
printf '[Reboot]\nWindow=always\n' >>"$T/h.conf"
"$KEYREVOKED" -c "$T/h.conf" --once 2>>"$T/daemon.log" || kr_fail "--once, healthy"
hstatus 0
grep -qE "^Last pass: .*: enforced, [1-9][0-9]* detached \([1-9][0-9]* newly queued for reboot\), 0 skipped, 0 instance\(s\) failed, 0 of 1 region\(s\) failed$" "$T/h.txt" ||
        kr_fail "healthy status: $(cat "$T/h.txt")"
grep -q "Needs attention" "$T/h.txt" && kr_fail "a healthy status lists problems"
kr_expect_eq "$(kr_count_events enforcement-complete RESULT=enforced REGIONS=1 INSTANCES_FAILED=0 REGIONS_FAILED=0)" 1 \
        "summary event of the healthy pass"
kr_pass "a healthy pass: status exits 0, the summary separates newly queued from the queue and instances from regions"

# STATUS= as systemd gets it: a listener on $NOTIFY_SOCKET keeps every datagram.
"$PYTHON3" - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
log = open(sys.argv[2], "a")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with log:
    while True:
        log.write(s.recv(65536).decode().replace("\n", " ") + "\n")
        log.flush()
PY
notify_pid=$!
KR_PIDS="$KR_PIDS $notify_pid"
kr_wait_for '[ -S "$T/notify.sock" ]' 10 || kr_fail "notify listener"
kr_emuctl add-instance '{"id": "i-hz-new", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-dave"}' >/dev/null
NOTIFY_SOCKET="$T/notify.sock" "$KEYREVOKED" -c "$T/h.conf" 2>>"$T/daemon.log" &
KR_DAEMON=$!
KR_PIDS="$KR_PIDS $KR_DAEMON"
kr_wait_for '[ "$(kr_count_events reboot-completed INSTANCE=i-hz-new)" -ge 1 ]' 30 || kr_fail "i-hz-new not rebooted"
kr_wait_for 'grep -q "STATUS=Idle: last pass .* UTC: enforced, 1 detached (1 newly queued for reboot), .*; 0 reboot(s) pending, 0 rebooting; next window: open now" "$T/notify.log"' 30 ||
        kr_fail "STATUS= after the reboots settled: $(tail -3 "$T/notify.log"; ls -l "$T"/notify.*; kill -0 "$notify_pid" || echo listener gone)"
grep -q "STATUS=Idle: last pass .*; 1 reboot(s) pending, 0 rebooting" "$T/notify.log" || grep -q "STATUS=.*0 reboot(s) pending, 1 rebooting" "$T/notify.log" ||
        kr_fail "STATUS= never showed the reboot queued or running: $(cat "$T/notify.log")"
kill -TERM "$KR_DAEMON"; wait "$KR_DAEMON" || kr_fail "daemon exit"
kr_pass "STATUS= carries the last pass's time and result and follows the reboots until they settle"
