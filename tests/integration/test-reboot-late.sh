#!/bin/bash
# A RebootInstance the client gave up on (RequestTimeoutSec=5s) that reaches the API only 30 s
# after it was sent, later than the 20 s a reboot takes to show: the daemon must not conclude
# "not sent" and reboot again while the first request may still land. Each instance is rebooted
# once, and reported completed once.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
out, keys = sys.argv[1], sys.argv[2]
key = open("%s/ed25519.pub" % keys).read().split("\n")[0]
json.dump({"regions": ["cn-hangzhou"],
           "credentials": [{"access_key_id": "testid", "access_key_secret": "testsecret"}],
           "keypairs": [{"region": "cn-hangzhou", "name": "kp-late", "public_key": key}],
           "instances": [{"id": "i-late", "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                          "key_pair_name": "kp-late", "start_time": "2024-01-01T00:00Z"}]}, open(out, "w"))
PY
kr_start_emulator "$T/fleet.json" --reboot-seconds 1,1 --fault RebootInstance:latency:30000:1
kr_write_config <<'CONF'
Regions=cn-hangzhou
[Reboot]
Window=always
CONF
sed -i 's/^RequestTimeoutSec=.*/RequestTimeoutSec=5s/' "$T/keyrevoke.conf"
printf 'kp-late\n' >"$T/revoked.list"
kr_install_list "$T/revoked.list" revoked.list

kr_start_daemon
kr_wait_for '[ "$(kr_count_events reboot-completed INSTANCE=i-late)" -ge 1 ]' 80 || kr_fail "no reboot-completed for i-late"
sleep 4 # a second RebootInstance, had one been sent at 20 s, would have landed by now
kr_emuctl state >"$T/state.json"
reboots=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["instances"]["i-late"]["reboots"])' "$T/state.json")
kr_expect_eq "$reboots" 1 "reboots of i-late"
kr_expect_eq "$(kr_count_calls RebootInstance)" 1 "RebootInstance calls"
kr_expect_eq "$(kr_count_events reboot-completed INSTANCE=i-late)" 1 "reboot-completed events"
! grep -q "The reboot of i-late did not take effect" "$T/daemon.log" ||
        kr_fail "concluded that the reboot was not sent while its request could still reach the API"
kr_pass "a RebootInstance that lands 30 s after a 5 s timeout: rebooted once, never sent again"
