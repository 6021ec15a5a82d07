#!/bin/bash
# [Contain] follows a reload (SIGHUP), not only a restart: Enabled=yes starts containment in the
# running daemon (the next list's instances are contained, with the new TimeoutSec=, and those
# detached while it was off: test-contain-late.sh), Enabled=no
# stops it (the next list's instances are detached, no command is sent). Before, the [Contain]
# section of a reloaded configuration was ignored until the next restart.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
key = open("%s/ed25519.pub" % sys.argv[2]).read().split("\n")[0]
inst = lambda iid, kp: {"id": iid, "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                        "key_pair_name": kp, "start_time": "2024-01-01T00:00Z", "ca_run_seconds": 1}
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": kp, "public_key": key} for kp in ("kp-a", "kp-b", "kp-c")],
           "instances": [inst("i-a1", "kp-a"), inst("i-a2", "kp-a"), inst("i-b1", "kp-b"), inst("i-c1", "kp-c")]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json"
contain_section() { # contain_section ENABLED: the config with that [Contain] Enabled=
        kr_write_config <<CONF
Regions=cn-hangzhou
[Reboot]
Enabled=no
[Contain]
Enabled=$1
TimeoutSec=77
CONF
}
reloads() { grep -c "Configuration reloaded" "$T/daemon.log" || true; }
reload() { # reload N: SIGHUP, the Nth reload applied and the pass it starts waited for (so that
        # the next list starts a pass of its own)
        local passes
        passes=$(kr_count_events enforcement-complete)
        kill -HUP "$KR_DAEMON"
        kr_wait_for '[ "$(reloads)" -eq '"$1"' ]' 20 || kr_fail "reload $1 was not applied"
        kr_wait_for '[ "$(kr_count_events enforcement-complete)" -gt '"$passes"' ]' 30 ||
                kr_fail "no pass after reload $1"
}
revoke() { # revoke KEYPAIR: a list of its own, and the pass it starts waited for
        local passes
        passes=$(kr_count_events enforcement-complete)
        printf '%s\n' "$1" >"$T/$1.list"
        kr_install_list "$T/$1.list" "$1.list"
        kr_wait_for '[ "$(kr_count_events enforcement-complete)" -gt '"$passes"' ]' 30 ||
                kr_fail "no pass after the list of $1"
}

contain_section no
kr_start_daemon
kr_wait_for '[ "$(kr_count_events enforcement-complete)" -ge 1 ]' 20 || kr_fail "the daemon did not start"
revoke kp-a
kr_expect_eq "$(kr_count_events detached)" 2 "detached events for kp-a"
kr_expect_eq "$(kr_count_calls RunCommand)" 0 "RunCommand calls with Enabled=no"
kr_pass "Enabled=no at start: kp-a's instances are detached, no command is sent"

contain_section yes
reload 1
revoke kp-b
kr_wait_for '[ "$(kr_count_events contained INSTANCE=i-b1)" -eq 1 ] && [ "$(kr_count_events contained)" -eq 3 ]' 20 ||
        kr_fail "i-b1, i-a1 and i-a2 were not contained"
grep -q "Containment started" "$T/daemon.log" || kr_fail "no 'Containment started' after the reload"
"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "the RunCommand after the reload"
import json, sys
runs = [c for c in map(json.loads, open(sys.argv[1])) if c.get("action") == "RunCommand"]
got = sorted((c["instances"], c["params"].get("Timeout")) for c in runs)
print("RunCommand:", got)
assert got == [(["i-a1", "i-a2"], "77"), (["i-b1"], "77")], got
PY
kr_pass "Enabled=yes by a reload: kp-b's instance and kp-a's detached before are contained, with the new TimeoutSec=77"

contain_section no
reload 2
revoke kp-c
kr_expect_eq "$(kr_count_events detached INSTANCE=i-c1)" 1 "i-c1 detached"
kr_expect_eq "$(kr_count_calls RunCommand)" 2 "RunCommand calls after Enabled=no"
kr_expect_eq "$(kr_count_events contained)" 3 "contained events in all"
grep -q "Containment stopped" "$T/daemon.log" || kr_fail "no 'Containment stopped' after the reload"
kr_pass "Enabled=no by a reload: kp-c's instance is detached, no command is sent"
