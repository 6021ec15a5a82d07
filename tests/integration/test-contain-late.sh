#!/bin/bash
# Containment also covers the instances detached before it was switched on: they wait in the
# reboot queue, still open to the revoked key, and no listing by key pair shows them any more.
# Switched on by a reload (one revoked key pair: discovery by key pair, so they are looked at by
# id) and by a restart with the new configuration (two key pairs: the region is listed, which
# shows them), the Running ones are contained (their key pair in the events), the command runs
# once on each per key set, also across a SIGKILL during the catch-up, and a stopped one is sent
# nothing.
# Before, they stayed exposed until their reboot window.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
keys = [open("%s/%s.pub" % (sys.argv[2], k)).read().split("\n")[0] for k in ("ed25519", "rsa")]
inst = lambda iid, kp, status="Running", run=1: {
        "id": iid, "region": "cn-hangzhou", "os_type": "linux", "status": status, "key_pair_name": kp,
        "start_time": "2024-01-01T00:00Z", "ca_run_seconds": run}
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": "kp-a", "public_key": keys[0]},
                        {"region": "cn-hangzhou", "name": "kp-b", "public_key": keys[1]}],
           "instances": [inst("i-a1", "kp-a"), inst("i-a2", "kp-a"), inst("i-a3", "kp-a", "Stopped"),
                         inst("i-b1", "kp-b", run=3), inst("i-b2", "kp-b", run=3), inst("i-z1", None)]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json"
config() { # config ENABLED: the config with that [Contain] Enabled=
        kr_write_config <<CONF
Regions=cn-hangzhou
[Reboot]
Enabled=no
[Contain]
Enabled=$1
CONF
}
passes() { kr_count_events enforcement-complete; }
next_pass() { # next_pass BEFORE WHAT: waits for a pass after BEFORE passes
        kr_wait_for '[ "$(passes)" -gt '"$1"' ]' 30 || kr_fail "no pass after $2"
}
revoke() { # revoke KEYPAIR: a list of its own, and the pass it starts waited for
        local before
        before=$(passes)
        printf '%s\n' "$1" >"$T/$1.list"
        kr_install_list "$T/$1.list" "$1.list"
        next_pass "$before" "the list of $1"
}
runs() { # runs ID: how many times the containment command ran on the instance
        kr_emuctl ca-state --instance "$1" | "$PYTHON3" -c \
                'import json, sys; print(json.load(sys.stdin)["instances"][sys.argv[1]]["runs"])' "$1"
}
looks_by_id() { # DescribeInstances calls by InstanceIds
        "$PYTHON3" - "$T/emu.log" <<'PY'
import json, sys
print(sum(1 for c in map(json.loads, open(sys.argv[1]))
          if c.get("action") == "DescribeInstances" and "InstanceIds" in c.get("params", {})))
PY
}

# Containment off: kp-a's three instances are detached and queued, no command is sent.
config no
kr_start_daemon
kr_wait_for '[ "$(passes)" -ge 1 ]' 20 || kr_fail "the daemon did not start"
revoke kp-a
kr_expect_eq "$(kr_count_events detached KEYPAIR=kp-a)" 3 "detached events for kp-a"
kr_expect_eq "$(kr_count_calls RunCommand)" 0 "RunCommand calls with Enabled=no"

# Switched on by a reload: the pass it starts contains the two Running ones.
config yes
before=$(passes)
kill -HUP "$KR_DAEMON"
next_pass "$before" "the reload"
kr_wait_for '[ "$(kr_count_events contained)" -ge 2 ]' 30 || kr_fail "kp-a's queued instances were not contained"
for i in i-a1 i-a2; do
        kr_expect_eq "$(kr_count_events contained INSTANCE=$i KEYPAIR=kp-a REGION=cn-hangzhou)" 1 "contained events of $i"
        kr_expect_eq "$(runs $i)" 1 "command runs on $i"
done
kr_expect_eq "$(runs i-a3)" 0 "command runs on the stopped i-a3"
kr_expect_eq "$(kr_count_events contain-failed)" 0 "contain-failed events"
kr_expect_eq "$(looks_by_id)" 1 "looks by id at the queued instances"
kr_pass "Enabled=yes by a reload: the instances detached before are contained, the stopped one is sent nothing"

# The next pass sends nothing again (the record says contained with these keys).
calls=$(kr_count_calls RunCommand)
before=$(passes)
kill -HUP "$KR_DAEMON"
next_pass "$before" "the second reload"
kr_expect_eq "$(kr_count_calls RunCommand)" "$calls" "RunCommand calls at the next pass"
kr_expect_eq "$(kr_count_events contained)" 2 "contained events after the next pass"
looks=$(looks_by_id)
kr_pass "the next pass sends the contained instances nothing"

# Containment off again: kp-b's instances are detached and queued; then a restart with it on,
# killed (SIGKILL) once its RunCommand is out, and started again.
config no
before=$(passes)
kill -HUP "$KR_DAEMON"
next_pass "$before" "the third reload"
revoke kp-b
kr_expect_eq "$(kr_count_events detached KEYPAIR=kp-b)" 2 "detached events for kp-b"
kr_expect_eq "$(kr_count_calls RunCommand)" "$calls" "RunCommand calls with Enabled=no again"
kill "$KR_DAEMON"
wait "$KR_DAEMON" || kr_fail "the daemon did not stop cleanly"
config yes
kr_start_daemon
kr_wait_for '[ "$(kr_count_calls RunCommand)" -gt '"$calls"' ]' 30 || kr_fail "no RunCommand after the restart"
kill -KILL "$KR_DAEMON"
wait "$KR_DAEMON" 2>/dev/null || true
kr_start_daemon
# The resumed command's events name the key pair too (from the reboot queue).
kr_wait_for '[ "$(kr_count_events contained KEYPAIR=kp-b)" -ge 2 ]' 30 || kr_fail "kp-b's queued instances were not contained"
for i in i-b1 i-b2; do
        kr_expect_eq "$(kr_count_events contained INSTANCE=$i KEYPAIR=kp-b REGION=cn-hangzhou)" 1 "contained events of $i"
        kr_expect_eq "$(runs $i)" 1 "command runs on $i"
done
# kp-a's are sent the region's new key set once (kp-b's key may have been copied there too).
for i in i-a1 i-a2; do
        kr_expect_eq "$(runs $i)" 2 "command runs on $i after the restarts (one per key set)"
        kr_expect_eq "$(kr_count_events contained INSTANCE=$i)" 2 "contained events of $i (one per key set)"
done
kr_expect_eq "$(runs i-a3)" 0 "command runs on the stopped i-a3 after the restarts"
kr_expect_eq "$(runs i-z1)" 0 "command runs on i-z1 (no revoked key pair)"
kr_expect_eq "$(looks_by_id)" "$looks" "looks by id (the listing of the region shows the queued ones)"
kr_expect_eq "$(kr_count_events contain-failed)" 0 "contain-failed events"
kr_pass "Enabled=yes by a restart, killed during the catch-up: kp-b's queued instances are contained, the command ran once on each"

kill "$KR_DAEMON"
wait "$KR_DAEMON" || kr_fail "the daemon did not stop cleanly (under ASan: a leak or an error)"
