#!/bin/sh
# Enforcement benchmark: keyrevoked against the ECS emulator at the API's rate limit (see
# tests/bench/README.md). Prints its figures and a target table; exits non-zero only when the
# harness itself fails, never because a target was missed.
# Usage: tests/bench/bench.sh [10k|100k|latency|all] [--keep]
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${PYTHON3:=/usr/bin/python3}"
: "${KEYREVOKED:=$top_builddir/keyrevoked}"
TIME=/usr/bin/time

usage() {
        echo "usage: $0 [10k|100k|latency|all] [--keep]" >&2
        exit 1
}

mode=all
keep=0
for arg in "$@"; do
        case "$arg" in
        10k | 100k | latency | all) mode=$arg ;;
        --keep) keep=1 ;;
        -h | --help) usage ;;
        *) usage ;;
        esac
done

die() {
        echo "bench: $*" >&2
        exit 1
}

[ -x "$KEYREVOKED" ] || die "$KEYREVOKED not found: run ./configure && make"
[ -x "$TIME" ] || die "$TIME not found: install the 'time' package"

# Re-run in a private mount namespace (a user namespace too when not root) whose /run/systemd is
# an empty tmpfs: journald is unreachable, so the daemon's events come as logfmt on stderr.
if [ -z "${KR_BENCH_NAMESPACE:-}" ]; then
        export KR_BENCH_NAMESPACE=1
        if [ "$(id -u)" -eq 0 ]; then
                exec unshare -m --propagation private "$0" "$@"
        fi
        exec unshare -r -m --propagation private "$0" "$@"
fi
if [ -d /run/systemd ]; then
        mount -t tmpfs tmpfs /run/systemd
fi

T=$(mktemp -d /tmp/keyrevoke-bench.XXXXXX)
chmod 0755 "$T"
cleanup() {
        if [ "$keep" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sh "$top_srcdir/tests/emulator/make-ca.sh" "$T/ca" >/dev/null 2>&1 || die "make-ca.sh failed"

"$PYTHON3" -B "$top_srcdir/tests/bench/bench.py" "$mode" --workdir "$T" --ca "$T/ca" \
        --emulator "$top_srcdir/tests/emulator" --keyrevoked "$KEYREVOKED" --time "$TIME" \
        --python "$PYTHON3"
