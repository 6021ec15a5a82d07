#!/bin/bash
# RAM-role credentials through metadata.c against the emulator's metadata service: token-guarded
# fetch, retry after faults, a new token after a 401, a refresh before Expiration, and the
# credentials accepted by the ECS API (DescribeRegions signed with them).
. "$(dirname "$0")/lib.sh"

PROBE="${METADATA_PROBE:-$top_builddir/tests/integration/metadata-probe}"
[ -x "$PROBE" ] || kr_fail "$PROBE not built"

cat >"$T/fleet.json" <<JSON
{"regions": ["cn-hangzhou", "cn-shanghai"], "ram_roles": ["KeyrevokeRole"],
 "sts_lifetime_seconds": 90, "keypairs": [], "instances": []}
JSON
kr_start_emulator "$T/fleet.json"
kr_wait_for '[ -s "$T/metadata-port" ]' 20 || kr_fail "no metadata port"
MD="http://127.0.0.1:$(cat "$T/metadata-port")"
CTL() { "$PYTHON3" "$EMULATOR/emuctl.py" --control-port-file "$T/control-port" "$@" >/dev/null; }
API=(--endpoint "https://127.0.0.1:$KR_PORT" --ca "$T/ca/ca.pem" --region cn-hangzhou)

# 1. Token, credentials, and the API accepts them.
"$PROBE" --metadata "$MD/" --role KeyrevokeRole "${API[@]}" >"$T/p1.out" 2>"$T/p1.err" ||
        kr_fail "probe failed: $(cat "$T/p1.out" "$T/p1.err")"
grep -qE '^ok STS\.[A-Za-z0-9]+ expires [0-9-]+T[0-9:]+Z$' "$T/p1.out" || kr_fail "no credentials: $(cat "$T/p1.out")"
grep -q '^api ok regions=2 ' "$T/p1.out" || kr_fail "API refused the credentials: $(cat "$T/p1.out")"
kr_pass "token-guarded fetch; DescribeRegions accepted the RAM-role credentials"

# 2. Faults on the metadata service are retried with backoff.
CTL fault Metadata unavailable 1
CTL fault Metadata internal 1
"$PROBE" --metadata "$MD" --role KeyrevokeRole --timeout 40 >"$T/p2.out" 2>"$T/p2.err" ||
        kr_fail "no recovery after faults: $(cat "$T/p2.out" "$T/p2.err")"
[ "$(grep -c '^error ' "$T/p2.out")" = 2 ] || kr_fail "expected 2 failed attempts: $(cat "$T/p2.out")"
grep -q 'HTTP 503' "$T/p2.err" && grep -q 'retrying in 10 s' "$T/p2.err" || kr_fail "no backoff: $(cat "$T/p2.err")"
kr_pass "metadata faults retried with backoff"

# 3. Unknown role: a clear failure, retried, never credentials.
if "$PROBE" --metadata "$MD" --role NoSuchRole --timeout 3 >"$T/p3.out" 2>"$T/p3.err"; then
        kr_fail "credentials for an unknown role"
fi
grep -q 'credentials request (HTTP 404)' "$T/p3.err" || kr_fail "no 404 report: $(cat "$T/p3.err")"
kr_pass "unknown role reported"

# 4. Refresh before Expiration (90 s lifetime: refreshed after 60 s), the token expiring in between
#    (2 s TTL: the refresh gets a 401 and fetches a new token), the API still accepting.
"$PROBE" --metadata "$MD" --role KeyrevokeRole --token-ttl 2 --rounds 2 --timeout 120 "${API[@]}" \
        >"$T/p4.out" 2>"$T/p4.err" || kr_fail "refresh failed: $(cat "$T/p4.out" "$T/p4.err")"
grep -q '^refreshed [0-9]* s before expiry$' "$T/p4.out" || kr_fail "no refresh before expiry: $(cat "$T/p4.out")"
[ "$(grep -c '^api ok' "$T/p4.out")" = 2 ] || kr_fail "API refused refreshed credentials: $(cat "$T/p4.out")"
[ "$(grep -c '^ok STS' "$T/p4.out")" = 2 ] || kr_fail "expected two credentials: $(cat "$T/p4.out")"
kr_pass "refreshed before Expiration with a new token after a 401"
