#!/bin/bash
# Builds the libFuzzer targets (config, list, ECS answer and UserData parsers) with clang and
# -fsanitize=fuzzer,address,undefined, and runs each for a fixed time on a seed corpus from
# tests/data. Any crash, leak or sanitizer report fails the test.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
seconds=${KEYREVOKE_FUZZ_SECONDS:-20}
out="$top_builddir/tests/fuzz"
work=$(mktemp -d /tmp/keyrevoke-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

command -v clang >/dev/null || { echo "FAIL: clang is needed for the fuzz targets"; exit 1; }
mkdir -p "$out"
flags="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -I$top_srcdir/agent -I$top_builddir/agent"
libs="$(pkg-config --cflags --libs libcrypto inih jansson)"
base="$top_srcdir/agent/base/strutil.c $top_srcdir/agent/base/diag.c $top_srcdir/agent/base/fileio.c"

build() { # name sources...
        local name="$1"
        shift
        # shellcheck disable=SC2086
        clang $flags "$top_srcdir/tests/fuzz/$name.c" "$@" $base $libs -o "$out/$name"
}
build fuzz-conf "$top_srcdir/agent/logic/conf.c" "$top_srcdir/agent/logic/window.c"
build fuzz-revlist "$top_srcdir/agent/logic/revlist.c" "$top_srcdir/agent/logic/sshkey.c" "$top_srcdir/agent/logic/base64.c"
build fuzz-ecsparse "$top_srcdir/agent/logic/ecsparse.c"
build fuzz-userdata "$top_srcdir/agent/logic/userdata.c" "$top_srcdir/agent/logic/base64.c"

run() { # name corpus-dir
        local name="$1" seeds="$2"
        mkdir -p "$work/$name"
        cp "$seeds"/* "$work/$name/" 2>/dev/null || true
        if ! "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
                -artifact_prefix="$work/$name-" "$work/$name" >"$work/$name.log" 2>&1; then
                tail -n 40 "$work/$name.log"
                echo "FAIL: $name found a problem"
                exit 1
        fi
        echo "PASS: $name ran ${seconds}s: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') inputs, no finding"
}
run fuzz-conf "$top_srcdir/tests/data/conf"
run fuzz-revlist "$top_srcdir/tests/data/lists"
run fuzz-ecsparse "$top_srcdir/tests/data/ecs"
run fuzz-userdata "$top_srcdir/tests/data/userdata"
