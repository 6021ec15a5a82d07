#!/bin/bash
# Secret hygiene: after runs with a static key (with faults), with a wrong secret (the API answers
# SignatureDoesNotMatch, whose text echoes the string to sign) and with RAM-role credentials from
# the metadata service, no secret, security token, metadata token or request signature the
# emulator handed out or received appears in the whole journal, the daemon's stderr, the state
# directory or the metrics file. Also: a credentials file with loose permissions is refused.
. "$(dirname "$0")/lib.sh"

kr_start_emulator "$top_srcdir/tests/data/fleet/small.json" --fault DetachKeyPair:reset_after:1 \
        --fault DescribeKeyPairs:throttle:1
kr_write_config <<CONF
Regions=cn-hangzhou cn-shanghai
CONF
printf '[Agent]\nMetricsFile=%s\n' "$T/state/metrics.prom" >"$T/metrics.conf"
mkdir -p "$T/keyrevoke.conf.d"
cp "$T/metrics.conf" "$T/keyrevoke.conf.d/50-metrics.conf"
kr_install_list "$top_srcdir/tests/data/fleet/small.list" small.list

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "static-key run"
kr_pass "a run with a static key and faults"

# A wrong secret: every call is refused with SignatureDoesNotMatch.
sed 's/testsecret/wrong-secret-0123456789abcdef/' "$T/credentials" >"$T/wrong-credentials"
chmod 0600 "$T/wrong-credentials"
sed "s|^CredentialsFile=.*|CredentialsFile=$T/wrong-credentials|" "$T/keyrevoke.conf" >"$T/wrong.conf"
kr_emuctl add-instance '{"id": "i-after", "region": "cn-hangzhou", "os_type": "linux", "status": "Running", "key_pair_name": "kp-alice"}' >/dev/null
rc=0; "$KEYREVOKED" -c "$T/wrong.conf" --once 2>>"$T/daemon.log" || rc=$?
kr_expect_eq "$rc" 2 "wrong-secret run (nothing could be enforced)"
grep -q "SignatureDoesNotMatch" "$T/daemon.log" || kr_journal | grep -q SignatureDoesNotMatch ||
        kr_fail "the signature error is not reported"
kr_pass "a wrong secret is reported as SignatureDoesNotMatch"

# RAM-role credentials through the metadata service, for the same pending instance.
grep -v '^CredentialsFile=' "$T/keyrevoke.conf" >"$T/role.conf"
printf 'RamRole=KeyrevokeRole\nMetadataEndpoint=http://127.0.0.1:%s\n' "$(cat "$T/metadata-port")" >>"$T/role.conf"
rc=0; "$KEYREVOKED" -c "$T/role.conf" --once 2>>"$T/daemon.log" || rc=$?
kr_expect_eq "$rc" 0 "RAM-role run"
kr_expect_eq "$(kr_count_events detached INSTANCE=i-after)" 1 "detach with RAM-role credentials"
grep -q "RAM role KeyrevokeRole" "$T/daemon.log" || kr_fail "the RAM role was not used"
kr_pass "keyrevoked detaches with RAM-role credentials (token-guarded metadata, SecurityToken)"

journalctl --no-pager -o export >"$T/journal.export" 2>/dev/null
"$PYTHON3" - "$(cat "$T/control-port")" "$T" <<'PY' || kr_fail "a secret leaked"
import json, os, sys, urllib.parse, urllib.request
port, top = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
s = json.load(opener.open("http://127.0.0.1:%s/secrets" % port))
secrets = s["access_key_secrets"] + ["wrong-secret-0123456789abcdef"] + s["metadata_tokens"]
for sts in s["sts"]:
    secrets += [sts["access_key_secret"], sts["security_token"]]
secrets += s["signatures"]
needles = set()
for x in secrets:
    needles.add(x)
    needles.add(urllib.parse.quote(x, safe=""))
    needles.add(urllib.parse.quote(urllib.parse.quote(x, safe=""), safe=""))
files = [os.path.join(top, "journal.export"), os.path.join(top, "daemon.log")]
for d, _, names in os.walk(os.path.join(top, "state")):
    files += [os.path.join(d, n) for n in names]
checked = 0
for f in files:
    data = open(f, "rb").read()
    checked += len(data)
    for n in needles:
        if n and n.encode() in data:
            sys.exit("%s contains a secret (%s...)" % (f, n[:6]))
assert len(s["sts"]) >= 1 and len(s["signatures"]) >= 20, (len(s["sts"]), len(s["signatures"]))
print("searched %d bytes of journal, stderr, state and metrics for %d secrets, tokens and signatures: none found"
      % (checked, len(secrets)))
PY
kr_pass "no secret, token or signature in the journal, stderr, state or metrics"

chmod 0644 "$T/credentials"
rc=0; out=$("$KEYREVOKED" -c "$T/keyrevoke.conf" --check-config) || rc=$?
kr_expect_eq "$rc" 1 "--check-config with a world-readable credentials file"
echo "$out" | grep -q "^$T/credentials: " || kr_fail "the refusal does not name the file: $out"
echo "$out" | grep -q testsecret && kr_fail "the refusal shows the secret"
kr_pass "a credentials file readable by others is refused: $out"
