#!/bin/bash
# A replaced RevocationDirectory stays watched (RescanIntervalSec=0: no rescan, no SIGHUP): after
# each replacement a list dropped into the new directory is enforced.
#   (a) renamed away and created anew, (b) a copy renamed over it (the atomic way to deploy a
#   directory), (c) turned into a symlink that is then switched with ln -sfn;
# and (d) removed for a while: the watch comes back once the directory does.
# Before, the watch died with the first directory and new lists were ignored until SIGHUP.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
key = open("%s/ed25519.pub" % sys.argv[2]).read().split("\n")[0]
names = ["kp-%d" % n for n in range(7)]
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": n, "public_key": key} for n in names],
           "instances": [{"id": "i-%d" % n, "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                          "key_pair_name": "kp-%d" % n, "start_time": "2024-01-01T00:00Z"} for n in range(7)]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json"
kr_write_config <<'CONF'
Regions=cn-hangzhou
CONF
grep -q '^RescanIntervalSec=0$' "$T/keyrevoke.conf" || kr_fail "the config must have RescanIntervalSec=0"
D="$T/revoked.d"
# list N [DIR]: a list revoking kp-N in DIR (default the revocation directory)
list() { printf 'kp-%s\n' "$1" >"$T/l$1"; install -m 0644 "$T/l$1" "${2:-$D}/l$1.list"; }
detached() { kr_wait_for '[ "$(kr_count_events detached INSTANCE=i-'"$1"')" -eq 1 ]' 20; }
# settled: the passes the last change caused are over (a list dropped now is news to the daemon)
passes() { kr_count_events enforcement-complete; }
settled() { kr_emuctl wait-idle --quiet 1 --timeout 20 >/dev/null && [ "$(passes)" -ge "$1" ] || kr_fail "no pass after the change"; }

list 0
kr_start_daemon
detached 0 || kr_fail "the first list was not enforced"

n=$(passes)
mv "$D" "$T/old.d"
mkdir "$D"
kr_wait_for '[ "$(passes)" -gt '"$n"' ]' 20 || kr_fail "(a) no pass after the directory was renamed"
settled $((n + 1))
list 1
detached 1 || kr_fail "(a) a list in a directory renamed away and created anew was ignored"
kr_pass "(a) renamed and created anew: a new list is enforced"

mkdir "$T/copy.d"
list 2 "$T/copy.d"
rm -f "$D"/*
mv -T "$T/copy.d" "$D"
detached 2 || kr_fail "(b) a list in a copy renamed over the directory was ignored"
list 3
detached 3 || kr_fail "(b) a list dropped into the copy afterwards was ignored"
kr_pass "(b) a copy renamed over it: its list and one dropped afterwards are enforced"

mv "$D" "$T/v1.d"
ln -s v1.d "$D"
mkdir "$T/v2.d"
list 4 "$T/v2.d"
ln -sfn v2.d "$D"
detached 4 || kr_fail "(c) a list behind a switched symlink was ignored"
n=$(passes)
ln -sfn v1.d "$D"
kr_wait_for '[ "$(passes)" -gt '"$n"' ]' 20 || kr_fail "(c) no pass after the symlink was switched back"
settled $((n + 1))
list 6 "$T/v1.d"
detached 6 || kr_fail "(c) a list behind a switched symlink was ignored"
kr_pass "(c) a symlink switched with ln -sfn: the list of the new target is enforced"

said() { grep -c "Cannot watch $D (trying again" "$T/daemon.log" || true; }
said_before=$(said)
rm "$D"
kr_wait_for '[ "$(said)" -eq $((said_before + 1)) ]' 10 || kr_fail "(d) the missing directory was not reported"
mkdir "$T/v3.d"
list 5 "$T/v3.d"
mv "$T/v3.d" "$D"
detached 5 || kr_fail "(d) a directory that came back was not watched again"
kr_expect_eq "$(said)" $((said_before + 1)) "times the missing directory was reported (retries every 2 s are not)"
kr_pass "(d) removed for a while, then back: watched again, its list enforced"

kill -TERM "$KR_DAEMON"
rc=0; wait "$KR_DAEMON" || rc=$?
kr_expect_eq "$rc" 0 "exit status after SIGTERM"
