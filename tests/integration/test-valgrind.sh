#!/bin/bash
# Every unit test program under valgrind's memcheck: no error, no leak.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
command -v valgrind >/dev/null || { echo "FAIL: valgrind is needed"; exit 1; }
status=0
cd "$top_srcdir"
for t in "$top_builddir"/tests/unit/test-*; do
        case "$t" in *.c | *.h | *.o | *.log | *.trs) continue ;; esac
        [ -x "$t" ] || continue
        log=$(mktemp)
        if valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
                --errors-for-leak-kinds=definite,indirect "$t" >"$log" 2>&1; then
                echo "PASS: $(basename "$t") is valgrind clean"
        else
                tail -n 40 "$log"
                echo "FAIL: $(basename "$t") under valgrind"
                status=1
        fi
        rm -f "$log"
done
exit "$status"
