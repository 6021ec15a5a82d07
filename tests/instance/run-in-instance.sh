#!/bin/sh
# Runs CMD... inside the fake instance DIR (see make-instance.sh): in a private mount namespace
# where DIR's etc/passwd, etc/group, etc/shadow, etc/ssh, root, home, run and var/lib are bind
# mounted over the host's paths. Nothing changes outside that namespace. stdin, stdout, stderr
# and the exit status are CMD's. The emulator runs a RunCommand script on an instance with
#     run-in-instance.sh DIR sh -s < content
#
# run-in-instance.sh DIR CMD [ARG]...

set -eu

if [ $# -lt 2 ]; then
        echo "usage: run-in-instance.sh DIR CMD [ARG]..." >&2
        exit 2
fi
DIR=$(cd "$1" && pwd -P)
shift
for p in etc/passwd etc/group etc/shadow etc/ssh root home run var/lib; do
        if [ ! -e "$DIR/$p" ]; then
                echo "run-in-instance.sh: $DIR is not an instance (no $p)" >&2
                exit 2
        fi
done

# The inner shell mounts and then execs CMD, so CMD keeps this process (and its pid).
# shellcheck disable=SC2016 # $1 and $p belong to the inner shell
exec unshare --mount --propagation private -- /bin/sh -euc '
dir=$1
shift
for p in /etc/passwd /etc/group /etc/shadow /etc/ssh /root /home /run /var/lib; do
        # Bind mounts need an existing mount point of the same kind; we never create one on the host.
        if [ -d "$dir$p" ]; then [ -d "$p" ]; else [ -f "$p" ]; fi || {
                echo "run-in-instance.sh: host has no mount point $p of the right kind" >&2
                exit 2
        }
        mount --bind "$dir$p" "$p"
done
exec "$@"
' run-in-instance "$DIR" "$@"
