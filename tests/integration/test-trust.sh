#!/bin/bash
# CAFile= replaces the system trust store, and the ECS client speaks https only. The emulator's
# certificate is signed by a scratch CA that is added to this test's private copy of the system
# store (/etc/ssl/certs, bind-mounted in the test's own mount namespace: the real one is not
# touched): libcurl trusts it by default. With CAFile= naming a different CA the calls must fail
# (libcurl's built-in CA path must not be searched as well); with CAFile= naming the emulator's CA
# they work. An http:// Endpoint= is refused.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" - "$T/fleet.json" "$top_srcdir/tests/data/keys" <<'PY'
import json, sys
key = open("%s/ed25519.pub" % sys.argv[2]).read().split("\n")[0]
json.dump({"regions": ["cn-hangzhou"],
           "keypairs": [{"region": "cn-hangzhou", "name": "kp-old", "public_key": key}],
           "instances": [{"id": "i-one", "region": "cn-hangzhou", "os_type": "linux", "status": "Running",
                          "key_pair_name": "kp-old", "start_time": "2024-01-01T00:00Z"}]},
          open(sys.argv[1], "w"))
PY
kr_start_emulator "$T/fleet.json"
# The pinned CA: another subject than the emulator's (a store finds a CA by its subject).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/pinned-ca.key" -sha256 \
        -days 2 -subj "/CN=keyrevoke pinned test CA" -addext "basicConstraints=critical,CA:TRUE" \
        -out "$T/pinned-ca.pem" 2>/dev/null || kr_fail "openssl req (pinned CA)"

# The private system store: the real one plus the emulator's CA (hash link and bundle).
cp -a /etc/ssl/certs "$T/system-certs"
cp "$T/ca/ca.pem" "$T/system-certs/keyrevoke-test-ca.pem"
ln -s keyrevoke-test-ca.pem "$T/system-certs/$(openssl x509 -hash -noout -in "$T/ca/ca.pem").0"
cat "$T/ca/ca.pem" >>"$T/system-certs/ca-certificates.crt"
mount --bind "$T/system-certs" /etc/ssl/certs
curl -sS -o /dev/null "https://127.0.0.1:$KR_PORT/" || kr_fail "curl does not trust the emulator through the system store"
kr_pass "the emulator's CA is in this test's system store (curl trusts it without --cacert)"

kr_write_config <<'CONF'
Regions=cn-hangzhou
CONF
sed -i "s|^CAFile=.*|CAFile=$T/pinned-ca.pem|" "$T/keyrevoke.conf"
printf 'kp-old\n' >"$T/a.list"
kr_install_list "$T/a.list" a.list

rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 2 "--once exit status with CAFile= naming another CA"
kr_expect_eq "$(kr_count_calls DescribeRegions)$(kr_count_calls DescribeKeyPairs)$(kr_count_calls DetachKeyPair)" 000 \
        "API calls that reached the emulator through an untrusted certificate"
[ "$(kr_count_events lookup-failed)" -ge 1 ] || kr_fail "no lookup-failed event for the untrusted certificate"
kr_journal | grep -q -i "certificate" || kr_fail "the journal does not say the certificate was not trusted"
kr_pass "CAFile= naming another CA: the system store is not trusted as well, nothing reached the API"

sed -i "s|^CAFile=.*|CAFile=$T/ca/ca.pem|" "$T/keyrevoke.conf"
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 0 "--once exit status with CAFile= naming the emulator's CA"
kr_expect_eq "$(kr_count_calls DetachKeyPair applied)" 1 "DetachKeyPair calls with the right CAFile="
kr_pass "CAFile= naming the emulator's CA: the detach goes through"

sed -i "s|^Endpoint=https://|Endpoint=http://|" "$T/keyrevoke.conf"
calls_before=$(kr_count_calls DescribeRegions)
rc=0; kr_run_once || rc=$?
kr_expect_eq "$rc" 1 "--once exit status with an http:// Endpoint="
grep -q "https" "$T/daemon.log" || kr_fail "the refusal of http:// does not say https is needed"
kr_expect_eq "$(kr_count_calls DescribeRegions)" "$calls_before" "calls sent to an http:// Endpoint="
kr_pass "an http:// Endpoint= is refused before anything is sent"
