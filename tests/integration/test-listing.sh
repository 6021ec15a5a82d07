#!/bin/bash
# Every listing is paged to its end before anything it lists is detached, so a NextToken (or a
# PageNumber) that is an offset into a listing the daemon itself changes skips no instance; and a
# pass that could not list something never says it enforced everything.
. "$(dirname "$0")/lib.sh"

FLEETGEN="$top_srcdir/tests/integration/fleetgen.py"

# run_scenario NAME "FLEET SPECS..." "LIST NAMES..." EXPECTED [emulator options...]
run_scenario() {
        local name="$1" specs="$2" names="$3" expected="$4"
        shift 4
        rm -rf "$T/$name" && mkdir -p "$T/$name"
        # shellcheck disable=SC2086
        "$PYTHON3" "$FLEETGEN" "$T/$name/fleet.json" $specs
        rm -f "$T/port" "$T/control-port" "$T/emu.log" "$T/revoked.d"/* "$T/state"/*.json
        kr_start_emulator "$T/$name/fleet.json" "$@"
        EMULATOR_PID=$!
        kr_write_config </dev/null
        printf '%s\n' $names >"$T/$name/revoked.list"
        kr_install_list "$T/$name/revoked.list" revoked.list
        rc=0; kr_run_once || rc=$?
        kr_expect_eq "$rc" 0 "$name: --once exit status"
        kr_expect_eq "$(kr_count_calls DetachKeyPair applied | tr -d ' ')" "$(kr_count_calls DetachKeyPair | tr -d ' ')" \
                "$name: every DetachKeyPair applied"
        got=$("$PYTHON3" "$top_srcdir/tests/integration/query.py" instances "$T/emu.log" DetachKeyPair | sort -u | wc -l)
        kr_expect_eq "$got" "$expected" "$name: instances detached"
        kr_expect_eq "$(kr_emuctl state | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(1 for i in s["instances"].values() if i.get("key_pair_name", "").startswith("kp-rev") and i.get("os_type") == "linux"))
')" 0 "$name: Linux instances still bound to a revoked key pair"
}

stop_emulator() {
        kill "$EMULATOR_PID"
        wait "$EMULATOR_PID" 2>/dev/null || true
}

for paging in cursor offset; do
        run_scenario "one-$paging" "cn-hangzhou:kp-rev-a:201" "kp-rev-a" 201 --paging "$paging"
        kr_pass "$paging paging: 201 instances of one key pair, all detached"
        stop_emulator
done

specs=""
names=""
for k in 0 1 2 3 4 5 6 7 8 9; do
        specs="$specs cn-hangzhou:kp-rev-$k:120"
        names="$names kp-rev-$k"
done
run_scenario ten-slow "$specs" "$names" 1200 --paging offset --latency-ms 30
kr_pass "offset paging, 30 ms per call: 10 key pairs of 120 instances, all 1200 detached"
stop_emulator

# Many names in a small region: the region is listed once (PageNumber pages, fetched together)
# and matched locally; detaches wait for the whole listing.
specs="--other cn-shanghai:300"
names=""
for k in $(seq 0 29); do
        specs="$specs cn-shanghai:kp-rev-$k:7"
        names="$names kp-rev-$k"
done
run_scenario region "$specs" "$names" 210 --paging offset
pages=$("$PYTHON3" - "$T/emu.log" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    c = json.loads(line)
    if c.get("action") == "DescribeInstances" and "PageNumber" in c["params"] and "KeyPairName" not in c["params"]:
        n += 1
print(n)
PY
)
kr_expect_eq "$pages" 6 "region listing pages (510 instances)"
kr_expect_eq "$(kr_count_calls DescribeKeyPairs)" 0 "DescribeKeyPairs calls for names that all had instances"
kr_pass "30 names in a region of 510 instances: 6 listing pages instead of 30, no DescribeKeyPairs, all 210 detached"
stop_emulator

# A listing that fails half-way: what it found is detached, the pass is not complete (exit 2),
# and lookup-failed names the region and the error.
"$PYTHON3" "$FLEETGEN" "$T/fail.json" cn-hangzhou:kp-rev-a:250
rm -f "$T/port" "$T/control-port" "$T/emu.log" "$T/revoked.d"/* "$T/state"/*.json
kr_start_emulator "$T/fail.json"
EMULATOR_PID=$!
kr_write_config </dev/null
printf 'kp-rev-a\n' >"$T/fail.list"
kr_install_list "$T/fail.list" revoked.list
kr_emuctl fault DescribeInstances latency:1 1 >/dev/null
kr_emuctl fault DescribeInstances unavailable 20 >/dev/null
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status when a listing failed"
kr_expect_eq "$(kr_count_events lookup-failed REGION=cn-hangzhou ERROR=ServiceUnavailable)" 1 "lookup-failed events"
kr_expect_eq "$(kr_count_events enforcement-complete REGIONS_FAILED=1)" 1 "enforcement-complete counting the region that failed"
kr_pass "a listing that cannot be completed is reported (lookup-failed, exit 2), never as complete"
stop_emulator

# The region sizes a pass saw are kept in the state directory: a later --once knows that listing
# this region (1010 instances) costs more than naming its two key pairs, and spends no probe page.
"$PYTHON3" "$FLEETGEN" "$T/memory.json" cn-hangzhou:kp-rev-a:5 cn-hangzhou:kp-rev-b:5 --other cn-hangzhou:1000
rm -f "$T/port" "$T/control-port" "$T/emu.log" "$T/revoked.d"/* "$T/state"/*.json
kr_start_emulator "$T/memory.json"
EMULATOR_PID=$!
kr_write_config </dev/null
printf 'kp-rev-a\nkp-rev-b\n' >"$T/memory.list"
kr_install_list "$T/memory.list" revoked.list
# describe_calls: DescribeInstances calls in the emulator's log so far.
describe_calls() {
        kr_count_calls DescribeInstances | tr -d ' '
}
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "first --once exit status"
kr_expect_eq "$(describe_calls)" 3 "first run: the probe page and one page per key pair"
[ -s "$T/state/discovery.json" ] || kr_fail "no discovery.json in the state directory after a pass"
kr_expect_eq "$(stat -c %a "$T/state/discovery.json")" 600 "discovery.json mode"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "second --once exit status"
kr_expect_eq "$(describe_calls)" 5 "second run: one page per key pair, no probe"
kr_pass "a second --once remembers the region's size: 2 DescribeInstances instead of 3"

# A corrupt file is reported (path and why), ignored, and replaced after the pass.
printf '{"version":1,"regions":' >"$T/state/discovery.json"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with a corrupt discovery.json"
grep -q "$T/state/discovery.json is corrupt: not JSON" "$T/daemon.log" || kr_fail "the corrupt file was not reported"
kr_expect_eq "$(describe_calls)" 8 "with the memory lost, the region is probed again"
"$PYTHON3" -c 'import json, sys; json.load(open(sys.argv[1]))["regions"]["cn-hangzhou"]["instances"]' \
        "$T/state/discovery.json" || kr_fail "discovery.json was not replaced by a valid one"
kr_pass "a corrupt discovery.json is reported, ignored and replaced"
