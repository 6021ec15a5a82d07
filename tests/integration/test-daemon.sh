#!/bin/bash
# keyrevoked as a daemon: a list dropped while it runs is enforced (inotify), an instance launched
# later with a revoked key pair is caught by the rescan, SIGHUP with a bad config keeps the old
# one, SIGTERM exits cleanly with the queue saved.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou cn-shanghai
CONF
sed -i 's/^RescanIntervalSec=0$/RescanIntervalSec=3s/' "$T/keyrevoke.conf"

kr_start_daemon
kr_wait_for '[ "$(kr_count_events enforcement-complete)" -ge 1 ]' 20 || kr_fail "no first pass"
kr_expect_eq "$(kr_count_calls DetachKeyPair)" 0 "DetachKeyPair before any list"

printf 'kp-alice reason=incident-42\n' >"$T/list.tmp"
chmod 0644 "$T/list.tmp"
mv "$T/list.tmp" "$T/revoked.d/dropped.list"
kr_wait_for '[ "$(kr_count_events detached KEYPAIR=kp-alice)" -eq 3 ]' 20 || kr_fail "dropped list not enforced"
kr_pass "a list dropped while the daemon runs is enforced"

kr_emuctl add-instance '{"id": "i-late", "region": "cn-shanghai", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
kr_wait_for '[ "$(kr_count_events detached INSTANCE=i-late)" -eq 1 ]' 20 || kr_fail "late instance not caught by the rescan"
kr_pass "an instance launched later with a revoked key pair is caught by the rescan"

cp "$T/keyrevoke.conf" "$T/good.conf"
printf '[Agent]\nNoSuchKey=1\n' >>"$T/keyrevoke.conf"
kill -HUP "$KR_DAEMON"
kr_wait_for 'grep -q "NoSuchKey" "$T/daemon.log"' 10 || kr_fail "bad config on reload not reported"
grep -q "keyrevoke.conf:[0-9]*: " "$T/daemon.log" || kr_fail "reload error lacks FILE:LINE"
kill -0 "$KR_DAEMON" || kr_fail "daemon died on a bad reload"
cp "$T/good.conf" "$T/keyrevoke.conf"
kr_emuctl add-instance '{"id": "i-later", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
kr_wait_for '[ "$(kr_count_events detached INSTANCE=i-later)" -eq 1 ]' 20 || kr_fail "old config not kept running"
kr_pass "a bad config on SIGHUP is reported with FILE:LINE and the old one keeps running"

kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM"
"$PYTHON3" -c 'import json,sys; q=json.load(open(sys.argv[1])); assert len(q["entries"]) == 5, q' "$T/state/queue.json" ||
        kr_fail "queue not saved on SIGTERM"
kr_pass "SIGTERM exits cleanly with the queue saved"
