#!/bin/sh
# Starts the real /usr/sbin/sshd inside the fake instance DIR (see make-instance.sh) and waits
# until it listens: it daemonizes in its own mount namespace, logs to DIR/run/sshd.log and writes
# DIR/run/sshd.pid (its PidFile /run/sshd.pid as the instance sees it) once its socket is open.
#
# start-sshd.sh DIR

set -eu

if [ $# -ne 1 ]; then
        echo "usage: start-sshd.sh DIR" >&2
        exit 2
fi
DIR=$(cd "$1" && pwd -P)
HERE=$(cd "$(dirname "$0")" && pwd -P)

rm -f "$DIR/run/sshd.pid"
"$HERE/run-in-instance.sh" "$DIR" /usr/sbin/sshd -E /run/sshd.log </dev/null
i=0
while [ ! -s "$DIR/run/sshd.pid" ]; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
                echo "start-sshd.sh: sshd wrote no pid file in 10 s; its log:" >&2
                tail -n 20 "$DIR/run/sshd.log" >&2 || true
                exit 1
        fi
        sleep 0.1
done
