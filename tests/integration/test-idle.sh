#!/bin/bash
# Idle means idle: once its lists are enforced, the daemon makes no wakeups besides its own timers
# (here the rescan is an hour away and there is no watchdog): its context switches are counted.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou cn-shanghai
CONF
sed -i 's/^RescanIntervalSec=0$/RescanIntervalSec=1h/' "$T/keyrevoke.conf"
kr_install_list "$top_srcdir/tests/data/fleet/small.list" small.list

kr_start_daemon
kr_wait_for '[ "$(kr_count_events enforcement-complete)" -ge 1 ]' 20 || kr_fail "no first pass"
sleep 1
switches() { awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { n += $2 } END { print n }' "/proc/$KR_DAEMON/status"; }
cpu() { awk '{ print $14 + $15 }' "/proc/$KR_DAEMON/stat"; }
s0=$(switches); c0=$(cpu)
sleep 10
s1=$(switches); c1=$(cpu)
echo "idle for 10 s: $((s1 - s0)) context switches, $((c1 - c0)) clock ticks of CPU"
[ $((s1 - s0)) -le 2 ] || kr_fail "the idle daemon woke up $((s1 - s0)) times in 10 s"
[ $((c1 - c0)) -le 1 ] || kr_fail "the idle daemon used $((c1 - c0)) ticks of CPU in 10 s"
kr_pass "idle: no wakeups and no CPU besides its own timers"
