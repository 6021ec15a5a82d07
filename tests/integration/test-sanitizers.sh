#!/bin/bash
# The whole test suite once more, built with AddressSanitizer and UndefinedBehaviorSanitizer in a
# separate build directory: any sanitizer report fails a test there, and so this one.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -n "${KEYREVOKE_SANITIZED_BUILD:-}" ]; then
        echo "PASS: already inside the sanitized build"
        exit 0
fi
build=$(mktemp -d /tmp/keyrevoke-asan.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$build"' EXIT
# A copy of the sources: the tree itself is configured in place, which rules out a VPATH build.
(cd "$top_srcdir" && git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$build")
cd "$build"
# Variables of the make running this test (TEST_LOGS among them) must not leak into ours.
unset MAKEFLAGS MFLAGS MAKELEVEL
autoreconf -fi >/dev/null 2>&1
./configure -q --enable-sanitizers CC="${CC:-gcc}" >/dev/null
make -s -j"$(nproc)" >/dev/null
export KEYREVOKE_SANITIZED_BUILD=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
make -s -j"$(nproc)" check TESTS='$(unit_tests) $(daemon_tests)' >/dev/null 2>&1 || rc=$?
grep -h '^\(PASS\|FAIL\|ERROR\)' tests/unit/*.log tests/integration/*.log 2>/dev/null | sed 's/^/  asan: /' || true
if [ "$rc" -ne 0 ] || grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' -r --include='*.log' tests >/dev/null 2>&1; then
        grep -h -A20 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' -r --include='*.log' tests 2>/dev/null | head -60 || true
        echo "FAIL: the sanitized build reported problems"
        exit 1
fi
echo "PASS: unit and integration tests are ASan/UBSan clean"
