#!/bin/bash
# What operators see and what a manual run next to the service does: a second keyrevoked on the
# same StateDirectory is refused, naming the holder; a run as root keeps the state files owned by
# the directory's user; events reach a terminal; manual and dry runs leave MetricsFile= alone.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<CONF
Regions=cn-hangzhou cn-shanghai
[Agent]
MetricsFile=$T/metrics/keyrevoke.prom
CONF
mkdir -p "$T/metrics"
kr_install_list "$top_srcdir/tests/data/fleet/small.list" small.list
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

kr_run_once --dry-run || kr_fail "manual --once --dry-run"
cmp -s "$T/metrics/keyrevoke.prom" "$T/service.prom" || kr_fail "a manual or dry run replaced the service's MetricsFile="
INVOCATION_ID=0123456789abcdef0123456789abcdef kr_run_once || kr_fail "--once from a unit"
cmp -s "$T/metrics/keyrevoke.prom" "$T/service.prom" && kr_fail "a --once run by a unit did not write MetricsFile="
kr_pass "manual --once and dry runs leave the service's MetricsFile= alone; a --once of a unit writes it"

# A terminal (a pty from script(1)) shows the events, as the journal gets them.
kr_emuctl add-instance '{"id": "i-tty", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
script -qec "$KEYREVOKED -c $T/keyrevoke.conf --once --dry-run" /dev/null >"$T/tty.out" || kr_fail "--once --dry-run on a pty"
grep -q "event=would-detach .*instance=i-tty .*dry_run=1 msg=" "$T/tty.out" || kr_fail "no would-detach event on the terminal: $(cat "$T/tty.out")"
grep -q "event=enforcement-complete " "$T/tty.out" || kr_fail "no summary on the terminal"
kr_expect_eq "$(kr_count_events would-detach INSTANCE=i-tty)" 1 "would-detach of i-tty in the journal"
kr_pass "--once --dry-run on a terminal prints its events there and still sends them to the journal"
