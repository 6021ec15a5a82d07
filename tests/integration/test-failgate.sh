#!/bin/bash
# Window=always: MaxFailures counts failed reboots over a sliding hour. A locked instance whose
# reboots fail closes the gate (said once in the log and in STATUS=); an instance detached then
# stays queued; an hour later (CLOCK_BOOTTIME moved ahead by an LD_PRELOAD shim, the wall clock
# untouched) reboots resume. Before, the count was never reset under Window=always: after
# MaxFailures failures, even weeks apart, no reboot ever started again.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
key = open("%s/ed25519.pub" % sys.argv[2]).read().split("\n")[0]
inst = lambda iid, kp, **kw: dict({"id": iid, "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                                   "key_pair_name": kp, "start_time": "2024-01-01T00:00Z"}, **kw)
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": n, "public_key": key} for n in ("kp-a", "kp-b", "kp-c")],
           "instances": [inst("i-locked", "kp-a", lock_reasons=["security"]), inst("i-b", "kp-b"),
                         inst("i-c", "kp-c")]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou
[Reboot]
Window=always
MaxFailures=2
MaxParallel=1
CONF
cc -shared -fPIC -o "$T/boottime-shift.so" "$top_srcdir/tests/integration/boottime-shift.c" -ldl ||
        kr_fail "cannot build the boottime shim"
echo 0 >"$T/shift"

# STATUS= as systemd would get it: a datagram socket of our own.
"$PYTHON3" - "$T/notify" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode(errors="replace") + "\n")
        out.flush()
PY
KR_PIDS="$KR_PIDS $!"
kr_wait_for '[ -S "$T/notify" ]' 10 || kr_fail "notify socket"

printf 'kp-a\n' >"$T/a.list"
kr_install_list "$T/a.list" a.list
NOTIFY_SOCKET="$T/notify" LD_PRELOAD="$T/boottime-shift.so" KR_BOOTTIME_SHIFT_FILE="$T/shift" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" kr_start_daemon

# ---- the gate closes, says so, and stays closed ---------------------------------------------------------
kr_wait_for '[ "$(kr_count_events reboot-failed INSTANCE=i-locked)" -eq 2 ]' 30 || kr_fail "the locked instance's reboots did not fail twice"
kr_wait_for 'grep -q "2 reboots failed within the last hour (MaxFailures=2): no reboot starts before" "$T/daemon.log"' 10 ||
        kr_fail "the closing of the gate was not logged"
kr_wait_for 'grep -q "next window: closed by MaxFailures=2 failed reboots in an hour until" "$T/notify.log"' 10 ||
        kr_fail "STATUS= does not say the gate is closed"
printf 'kp-b\n' >"$T/b.list"
kr_install_list "$T/b.list" b.list
kr_wait_for '[ "$(kr_count_events reboot-queued INSTANCE=i-b)" -eq 1 ]' 20 || kr_fail "i-b was not detached"
kr_emuctl wait-idle --quiet 4 --timeout 30 >/dev/null || kr_fail "the daemon kept calling with the gate closed"
kr_expect_eq "$(kr_count_calls RebootInstance)" 2 "RebootInstance calls while the gate is closed"
kr_expect_eq "$(grep -c "no reboot starts before" "$T/daemon.log")" 1 "times the closing was logged"
kr_pass "2 failed reboots close the gate: logged once, in STATUS=, and a newly detached instance waits"

# ---- an hour later reboots resume ---------------------------------------------------------------------------
echo 3700 >"$T/shift"
printf 'kp-c\n' >"$T/c.list"
kr_install_list "$T/c.list" c.list
kr_wait_for '[ "$(kr_count_events reboot-completed INSTANCE=i-b)" -eq 1 ] &&
             [ "$(kr_count_events reboot-completed INSTANCE=i-c)" -eq 1 ]' 40 ||
        kr_fail "reboots did not resume an hour after the gate closed"
kr_pass "an hour later the gate is open again: i-b and i-c are rebooted"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM"
