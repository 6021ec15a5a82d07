#!/bin/sh
# The pure modules (STYLE.md layer 2) include no I/O headers and read no clock.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$top_srcdir/agent"
pure="conf.c revlist.c sign.c window.c planner.c sshkey.c params.c ratelimit.c ecsparse.c strutil.c diag.c hashmap.c"
status=0
for f in $pure; do
        if grep -nE '#include <(systemd/sd-[a-z]+|curl/curl)\.h>' "$f"; then
                echo "FAIL: $f includes an I/O header"
                status=1
        fi
        if grep -nE '\b(clock_gettime|gettimeofday|sd_event_now)\(|\btime\((NULL|0|&)' "$f"; then
                echo "FAIL: $f reads the clock"
                status=1
        fi
done
[ "$status" = 0 ] && echo "PASS: pure modules include no sd-event/sd-journal/curl header and read no clock"
exit "$status"
