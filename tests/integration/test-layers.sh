#!/bin/sh
# agent/ is layered base < logic < io < daemon < ctl: each folder includes only folders below it,
# the pure layers include no sd-event/sd-journal/curl header and read no clock, and no modules
# include each other in a circle. The checker is first shown to catch planted violations.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${PYTHON3:=python3}"
check="$top_srcdir/tests/integration/layers.py"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# expect_caught NAME FILE LINE: plants LINE into a scratch copy's FILE; the checker must object.
expect_caught() {
        rm -rf "$scratch/agent"
        cp -r "$top_srcdir/agent" "$scratch/agent"
        printf '%s\n' "$3" >>"$scratch/agent/$2"
        if "$PYTHON3" "$check" "$scratch/agent" >"$scratch/out"; then
                echo "FAIL: the checker missed $1"
                exit 1
        fi
        echo "ok: the checker catches $1: $(head -n 1 "$scratch/out")"
}
expect_caught "logic/ including io/" logic/window.c '#include "io/http.h"'
expect_caught "io/ including daemon/" io/state.c '#include "daemon/agent.h"'
expect_caught "daemon/ including ctl/" daemon/main.c '#include "ctl/ctl.h"'
expect_caught "curl in logic/" logic/sign.c '#include <curl/curl.h>'
expect_caught "a clock read in logic/" logic/planner.c 'static long f(void) { return time(NULL); }'
expect_caught "an include circle" io/http.h '#include "io/ecs.h"'

if "$PYTHON3" "$check" "$top_srcdir/agent"; then
        echo "PASS: every layer includes only the layers below it, without circles"
else
        echo "FAIL: layering violations above"
        exit 1
fi
