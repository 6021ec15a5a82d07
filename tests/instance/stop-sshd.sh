#!/bin/sh
# Stops the sshd that start-sshd.sh started in the fake instance DIR (the pid in DIR/run/sshd.pid,
# checked to be an sshd) and waits until it is gone. No sshd running is not an error.
#
# stop-sshd.sh DIR

set -eu

if [ $# -ne 1 ]; then
        echo "usage: stop-sshd.sh DIR" >&2
        exit 2
fi
PIDFILE="$1/run/sshd.pid"
[ -s "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")
case $pid in '' | *[!0-9]*) echo "stop-sshd.sh: bad pid in $PIDFILE" >&2; exit 1 ;; esac
# Gone, or a zombie its parent (init) has not reaped yet.
alive() {
        awk '$1 == "State:" { live = $2 != "Z" } END { exit !live }' "/proc/$1/status" 2>/dev/null
}
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ]; then
        kill "$pid"
        i=0
        while alive "$pid"; do
                i=$((i + 1))
                if [ "$i" -gt 50 ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
                sleep 0.1
        done
fi
rm -f "$PIDFILE"
