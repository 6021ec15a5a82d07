#!/bin/sh
# The manual pages: mandoc finds no warning or error in them, and they keep up with the code:
# every configuration key, journal event, metric and keyrevokectl command is documented.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
top_builddir=$(cd "$top_builddir" && pwd)
cd "$top_srcdir"
# The pages as `make` generates them from agent/man/*.in, with the configured paths.
man=$top_builddir/agent/man
status=0
fail() {
        echo "FAIL: $*"
        status=1
}

mandoc -T lint -W warning "$man"/*.[0-9] || fail "mandoc -T lint reports problems"
! grep -n "@[a-z_]*@" "$man"/*.[0-9] || fail "unsubstituted placeholders in the pages"

# Each list below must come out of the code: an empty one would check nothing.
names() { # FILE SED-SCRIPT
        out=$(sed -n "$2" "$1")
        [ -n "$out" ] || { echo "FAIL: found nothing to check in $1 (moved?)"; exit 1; }
        printf '%s\n' "$out"
}

# mdoc escapes: "\-" for a dash, "\&" before punctuation; drop them before searching.
text() { sed -e 's/\\-/-/g' -e 's/\\&//g' "$man/$1"; }

for key in $(names agent/logic/conf.c 's/^ *CONF_KEY("[A-Za-z]*", "\([A-Za-z]*\)".*/\1/p'); do
        text keyrevoke.conf.5 | grep -q "^\.It Cm $key= " || fail "keyrevoke.conf.5 does not document $key="
done
for event in $(names agent/io/report.c 's/.*(struct event_info) { "\([a-z-]*\)".*/\1/p'); do
        text keyrevoked.8 | grep -q "Sy $event\b" || fail "keyrevoked.8 does not document the event $event"
done
for metric in $(names agent/io/metrics.c 's/.*"\([a-z_]*\)", "\(gauge\|counter\)".*/\1/p; s/^ *gauge[_a-z]*(f, "\([a-z_]*\)".*/\1/p'); do
        text keyrevoke.conf.5 | grep -q "keyrevoke_$metric\b" || fail "keyrevoke.conf.5 does not document keyrevoke_$metric"
done
for command in $(names agent/ctl/ctl.c 's/^ *{ "\([a-z]*\)", ctl_[a-z]*, .*/\1/p'); do
        text keyrevokectl.1 | grep -q "^\.It Cm $command\b" || fail "keyrevokectl.1 does not document $command"
done
for option in once dry-run check-config version help config; do
        text keyrevoked.8 | grep -q "Fl -$option\b" || fail "keyrevoked.8 does not document --$option"
done

[ "$status" = 0 ] && echo "PASS: manual pages lint clean and document every key, event, metric and command"
exit "$status"
