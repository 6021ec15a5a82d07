#!/bin/bash
# A region whose instances could not be listed (lookup-failed) is looked at again soon, with
# RescanIntervalSec=0 too: the daemon retries after 20-40 s (then backs off), and the revoked key
# pair is detached. Before, nothing happened until a list changed or SIGHUP.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
key = open("%s/ed25519.pub" % sys.argv[2]).read().split("\n")[0]
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": "kp-old", "public_key": key}],
           "instances": [{"id": "i-one", "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                          "key_pair_name": "kp-old", "start_time": "2024-01-01T00:00Z"}]},
          open(sys.argv[1], "w"))
PY
# MaxRetries=1: two answers 503 make the region's listing fail.
kr_start_emulator "$T/fleet.json" --fault DescribeInstances:unavailable:2
kr_write_config <<'CONF'
Regions=cn-hangzhou
CONF
sed -i 's/^MaxRetries=5$/MaxRetries=1/' "$T/keyrevoke.conf"
grep -q '^RescanIntervalSec=0$' "$T/keyrevoke.conf" || kr_fail "the config must have RescanIntervalSec=0"
printf 'kp-old\n' >"$T/a.list"
kr_install_list "$T/a.list" a.list
kr_start_daemon

kr_wait_for '[ "$(kr_count_events lookup-failed REGION=cn-hangzhou)" -eq 1 ]' 20 || kr_fail "no lookup-failed event"
failed_at=$(date +%s)
grep -q "region(s) could not be listed; the pass runs again in" "$T/daemon.log" || kr_fail "the retry was not announced"
kr_wait_for '[ "$(kr_count_events detached INSTANCE=i-one)" -eq 1 ]' 50 ||
        kr_fail "the region was not looked at again ($(grep "could not be listed" "$T/daemon.log" | tr "\n" " "))"
took=$(( $(date +%s) - failed_at ))
kr_expect_eq "$(kr_count_events lookup-failed)" 1 "lookup-failed events"
kr_pass "lookup-failed, then ${took} s later the region is listed again and the key pair detached"
kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM"
