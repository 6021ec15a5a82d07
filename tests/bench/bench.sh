#!/bin/sh
# Enforcement benchmark: keyrevoked --once raced against a hand-written script on Alibaba's SDK
# (@alicloud/pop-core), each on a fresh ECS emulator at the API's rate limit (see
# tests/bench/README.md). Prints the figures and a markdown table; exits non-zero only when the
# harness itself fails, never because a goal was missed.
# Usage: tests/bench/bench.sh [smoke|incident|rotation|large|all|latency|exposure] [--keep]
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${PYTHON3:=/usr/bin/python3}"
: "${KEYREVOKED:=$top_builddir/keyrevoked}"
: "${NODE:=$(command -v node || true)}"
: "${NPM:=$(command -v npm || true)}"
: "${POP_CORE:=@alicloud/pop-core@1.8.0}"
TIME=/usr/bin/time

usage() {
        echo "usage: $0 [smoke|incident|rotation|large|all|latency|exposure] [--keep]" >&2
        exit 1
}

mode=all
keep=0
for arg in "$@"; do
        case "$arg" in
        smoke | incident | rotation | large | all | latency | exposure) mode=$arg ;;
        --keep) keep=1 ;;
        *) usage ;;
        esac
done

die() {
        echo "bench: $*" >&2
        exit 1
}

# Outside the namespaces: check the tools, make the work dir, install the SDK (the only step that
# needs the network: the npm registry), then re-run in private mount and network namespaces.
if [ -z "${KR_BENCH_NAMESPACE:-}" ]; then
        [ -x "$KEYREVOKED" ] || die "$KEYREVOKED not found: run ./configure && make"
        [ -x "$TIME" ] || die "$TIME not found: install the 'time' package"
        command -v ip >/dev/null || [ -x /usr/sbin/ip ] || die "ip not found: install iproute2"
        T=$(mktemp -d /tmp/keyrevoke-bench.XXXXXX)
        chmod 0755 "$T"
        echo "keyrevoked: $("$KEYREVOKED" --version | head -n 1) ($KEYREVOKED)"
        if rev=$(git -C "$top_srcdir" describe --always --dirty 2>/dev/null); then
                echo "source tree: $top_srcdir at $rev"
        fi
        if [ "$mode" != latency ] && [ "$mode" != exposure ]; then
                if [ -z "$NODE" ] || [ -z "$NPM" ]; then
                        rm -rf "$T"
                        die "node and npm are needed for the SDK contestant: install nodejs and npm"
                fi
                # A scratch prefix: the SDK is the benchmark's opponent, not a project dependency.
                if ! "$NPM" install --prefix "$T/sdk" --no-audit --no-fund --loglevel=error \
                        "$POP_CORE" >"$T/npm.log" 2>&1; then
                        cat "$T/npm.log" >&2
                        rm -rf "$T"
                        die "npm install $POP_CORE failed"
                fi
                echo "SDK contestant: node $("$NODE" --version), $POP_CORE in $T/sdk"
        fi
        export KR_BENCH_NAMESPACE=1 KR_BENCH_WORKDIR="$T" NODE
        if [ "$(id -u)" -eq 0 ]; then
                exec unshare -m -n --propagation private "$0" "$@"
        fi
        exec unshare -r -m -n --propagation private "$0" "$@"
fi

T=$KR_BENCH_WORKDIR
cleanup() {
        if [ "$keep" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The network namespace has nothing but loopback: no contestant can reach another address.
PATH=$PATH:/usr/sbin:/sbin ip link set lo up || die "cannot bring up loopback in the namespace"
# journald unreachable (empty /run/systemd): the daemon's events come as logfmt on stderr.
if [ -d /run/systemd ]; then
        mount -t tmpfs tmpfs /run/systemd
fi

sh "$top_srcdir/tests/emulator/make-ca.sh" "$T/ca" >/dev/null 2>&1 || die "make-ca.sh failed"

set -- "$mode" --workdir "$T" --ca "$T/ca" --emulator "$top_srcdir/tests/emulator" \
        --bench "$top_srcdir/tests/bench" --keyrevoked "$KEYREVOKED" --time "$TIME" \
        --python "$PYTHON3"
if [ "$mode" != latency ] && [ "$mode" != exposure ]; then
        set -- "$@" --node "$NODE" --sdk "$T/sdk"
fi
"$PYTHON3" -B "$top_srcdir/tests/bench/bench.py" "$@"
