#!/bin/bash
# The emulator's Cloud Assistant (CLOUD-API.md section 1) driven with signed requests:
# DescribeCloudAssistantStatus (string status, paging, limits), RunCommand refused as a whole for
# one unfit instance, the 50-instance and content limits, ClientToken replay and mismatch, faults,
# asynchronous Pending -> Running -> final states, the containment summary and its idempotence on
# simulated instances, nonzero exit, timeouts, an agent going offline, the Base64 output tail with
# Dropped, DescribeInvocationResults paging, commands on a real instance (tests/instance), and the
# call log. A simulated instance answers as agent/instance/contain.sh does on a real instance with
# a running sshd: same summary lines for the same commands.
. "$(dirname "$0")/lib.sh"

REGION=cn-hangzhou
SUMMARY_RE='^KEYREVOKE-CONTAIN v1 status=[a-z-]+ keys=[0-9]+ digest=([0-9a-f]{16}|-) removed=[0-9]+ files=[0-9]+ unclean=0 revokedkeys=[^ ]+ sshd=[a-z-]+$'

INSTANCE="$top_srcdir/tests/instance"
CONTAIN_SH="$T/contain.sh"                              # one version for the whole test
cp "$top_srcdir/agent/instance/contain.sh" "$CONTAIN_SH"
ssh-keygen -q -t ed25519 -N '' -C real@key -f "$T/real-key" || kr_fail "ssh-keygen"
free_port() { "$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sh "$INSTANCE/make-instance.sh" "$T/inst-cmd" "$(free_port)" >/dev/null || kr_fail "make-instance.sh"
sh "$INSTANCE/make-instance.sh" "$T/inst-contain" "$(free_port)" --key root="$T/real-key.pub" --key alice="$T/real-key.pub" \
        >/dev/null || kr_fail "make-instance.sh"
sh "$INSTANCE/start-sshd.sh" "$T/inst-contain" || kr_fail "start-sshd.sh"
KR_PIDS="$KR_PIDS $(cat "$T/inst-contain/run/sshd.pid")"
ROOT_LINE=$(cat "$T/inst-contain/root/.ssh/authorized_keys")
"$PYTHON3" - "$T" "$ROOT_LINE" <<'PY' || kr_fail "fleet"
import base64, json, os, struct, sys
t, root_line = sys.argv[1], sys.argv[2]
real = open(t + "/real-key.pub").read().strip()
def key(kind, n):
    blob = struct.pack(">I", len(kind)) + kind + os.urandom(n)
    return kind.decode() + " " + base64.b64encode(blob).decode()
a, b, c = key(b"ssh-ed25519", 36), key(b"ssh-ed25519", 36), key(b"ssh-rsa", 270)
def inst(iid, **kw):
    return dict({"id": iid, "region": "cn-hangzhou", "key_pair_name": "kp-a"}, **kw)
instances = [inst("i-bulk-%02d" % n) for n in range(1, 56)] + [
    inst("i-off", cloud_assistant="offline"), inst("i-win", os_type="windows"),
    inst("i-stopped", status="Stopped"), inst("i-exit", ca_behaviour="exit:2"),
    inst("i-failed", ca_behaviour="failed"), inst("i-slow", ca_run_seconds=2.5),
    inst("i-timeout", ca_behaviour="timeout"), inst("i-abort", ca_behaviour="abort"),
    inst("i-hang", ca_behaviour="hang-then-offline"), inst("i-noise", ca_behaviour="noise:3000"),
    inst("i-seq", ca_run_seconds=3), inst("i-flip", ca_run_seconds=5),
    inst("i-real", instance_root=t + "/inst-cmd"), inst("i-contain", instance_root=t + "/inst-contain"),
    inst("i-twin", authorized_keys={"root": [root_line], "alice": [real]}),
    inst("i-multi", authorized_keys={
        "root": ['no-port-forwarding,command="echo \'Please login as ecs-user\'" %s root@kp' % a, b],
        "ecs-user": [a + " copy", c]}),
    {"id": "i-sh", "region": "cn-shanghai", "key_pair_name": ""}]
fleet = {"regions": ["cn-hangzhou", "cn-shanghai"],
         "keypairs": [{"region": "cn-hangzhou", "name": "kp-a", "public_key": a + " alice@laptop"}],
         "instances": instances}
json.dump(fleet, open(t + "/fleet.json", "w"))
for name, value in (("a", a), ("b", b), ("c", c)):
    open("%s/key-%s" % (t, name), "w").write(value)
PY
KEY_A=$(cat "$T/key-a")
KEY_B=$(cat "$T/key-b")
KEY_C=$(cat "$T/key-c")
KEY_REAL=$(cut -d' ' -f1,2 "$T/real-key.pub")

# The content limit is the size of the real containment command, so it fits exactly.
LIMIT=$({ printf "KEYREVOKE_KEYS='%s'\n" "$KEY_REAL"; cat "$CONTAIN_SH"; } | base64 -w0 | wc -c)
kr_start_emulator "$T/fleet.json" --ca-run-seconds 0.3 --ca-output-limit 1024 --ca-content-limit "$LIMIT"

# The API client: one process that signs and sends every request of this script. It reads
# NAME NUL Param=Value NUL ... NUL NUL, writes the HTTP status ("reset" without an answer) to
# $T/NAME.code and the answer to $T/NAME.json, then prints "done".
cat >"$T/client.py" <<'PY'
import http.client, importlib.util, os, ssl, sys
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("emu", sys.argv[1] + "/ecs-emulator.py")
emu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emu)
port, ctx, out = int(sys.argv[2]), ssl.create_default_context(cafile=sys.argv[3]), sys.argv[4]


def fields(buf=b""):
    while True:
        while b"\0" in buf:
            field, _, buf = buf.partition(b"\0")
            yield field.decode()
        chunk = os.read(0, 65536)
        if not chunk:
            return
        buf += chunk


it = fields()
for name in it:
    params = dict(f.split("=", 1) for f in iter(lambda: next(it), ""))
    signed = emu.signed_params(params, "testid", "testsecret")
    body = "&".join(emu.percent_encode(k) + "=" + emu.percent_encode(v) for k, v in signed.items())
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request("POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        code, data = str(resp.status), resp.read()
    except (OSError, http.client.HTTPException):
        code, data = "reset", b""
    finally:
        conn.close()
    with open("%s/%s.json" % (out, name), "wb") as f:
        f.write(data)
    with open("%s/%s.code" % (out, name), "w") as f:
        f.write(code + "\n")
    print("done", flush=True)
PY
coproc CLIENT { exec "$PYTHON3" "$T/client.py" "$EMULATOR" "$KR_PORT" "$T/ca/ca.pem" "$T" 2>"$T/client.err"; }
KR_PIDS="$KR_PIDS $CLIENT_PID"

declare -A SENT=()
# api NAME Param=Value...: one signed POST (see the client above); counted by Action in SENT.
api() {
        local name=$1 arg reply
        shift
        for arg; do case $arg in Action=*) SENT[${arg#Action=}]=$((${SENT[${arg#Action=}]:-0} + 1)) ;; esac; done
        printf '%s\0' "$name" "$@" "" >&"${CLIENT[1]}"
        read -r reply <&"${CLIENT[0]}" || kr_fail "the API client died: $(cat "$T/client.err")"
        kr_expect_eq "$reply" "done" "API client"
}

# jv NAME EXPR [ARG...]: EXPR over the answer d; res = its InvocationResults, by = them by
# instance, out(row) = the row's decoded Output, st = the CloudAssistantStatus rows, secs(time) =
# unix seconds of an API time, arg = the ARGs.
jv() {
        "$PYTHON3" -c '
import base64, calendar, json, re, sys, time
d = json.load(open(sys.argv[1]))
res = d.get("Invocation", {}).get("InvocationResults", {}).get("InvocationResult", [])
by = {r["InstanceId"]: r for r in res}
st = d.get("InstanceCloudAssistantStatusSet", {}).get("InstanceCloudAssistantStatus", [])
out = lambda r: base64.b64decode(r["Output"]).decode()
secs = lambda text: calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
arg = sys.argv[3:]
print(eval(sys.argv[2]))' "$T/$1.json" "$2" "${@:3}"
}

expect_error() {
        kr_expect_eq "$(cat "$T/$1.code") $(jv "$1" 'd.get("Code")')" "$2 $3" "$1"
}

expect_ok() {
        kr_expect_eq "$(cat "$T/$1.code")" 200 "$1 ($(cat "$T/$1.json"))"
}

# contain KEYS...: Base64 of a containment command for these key lines.
contain() {
        local IFS=$'\n'
        printf "KEYREVOKE_KEYS='%s'\n#!/bin/sh\n# contain.sh stand-in: simulated instances do not run it\n" "$*" | base64 -w0
}

# run NAME BASE64 [Param=Value...] -- ID...: RunCommand (RunShellScript, Base64) on the IDs.
run() {
        local name=$1 i=0
        local args=(Action=RunCommand "RegionId=$REGION" Type=RunShellScript ContentEncoding=Base64 "CommandContent=$2")
        shift 2
        while [ "$1" != -- ]; do args+=("$1"); shift; done
        shift
        for id; do i=$((i + 1)); args+=("InstanceId.$i=$id"); done
        api "$name" "${args[@]}"
}

results() {
        local name=$1 invoke=$2
        shift 2
        api "$name" Action=DescribeInvocationResults RegionId=$REGION InvokeId="$invoke" "$@"
}

# wait_final INVOKE: until no instance of the invocation is Running (10 s at most).
wait_final() {
        local i
        for i in $(seq 100); do
                results wf "$1" InvokeRecordStatus=Running
                [ "$(jv wf 'd["Invocation"]["TotalCount"]')" = 0 ] && return 0
                sleep 0.1
        done
        kr_fail "invocation $1 still running: $(cat "$T/wf.json")"
}

# digest VALUE: the contract's digest, computed as the contract says.
digest() {
        printf '%s\n' "$1" | sha256sum | cut -c1-16
}

ca_state() {
        kr_emuctl ca-state --instance "$1" >"$T/cas.json" || kr_fail "ca-state $1"
        "$PYTHON3" -c 'import json, sys; v = json.load(open(sys.argv[1]))["instances"][sys.argv[2]]; print(eval(sys.argv[3]))' \
                "$T/cas.json" "$1" "$2"
}

CONTENT_A=$(contain "$KEY_A")

# ---- long-running invocations first, checked at the end ---------------------------------------
"$PYTHON3" - "$EMULATOR" "$KR_PORT" "$T/ca/ca.pem" "$CONTENT_A" >"$T/seq.out" 2>&1 <<'PY' &
# Polls one invocation as fast as it can and prints the states it went through.
import importlib.util, json, ssl, sys, time, urllib.parse, urllib.request
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("emu", sys.argv[1] + "/ecs-emulator.py")
emu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emu)
ctx = ssl.create_default_context(cafile=sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
def call(**params):
    body = urllib.parse.urlencode(emu.signed_params(params, "testid", "testsecret")).encode()
    with opener.open("https://127.0.0.1:%s/" % sys.argv[2], data=body, timeout=10) as r:
        return json.load(r)
invoke = call(Action="RunCommand", RegionId="cn-hangzhou", Type="RunShellScript", ContentEncoding="Base64",
              CommandContent=sys.argv[4], **{"InstanceId.1": "i-seq"})["InvokeId"]
states, deadline = [], time.monotonic() + 10
while time.monotonic() < deadline:
    row = call(Action="DescribeInvocationResults", RegionId="cn-hangzhou", InvokeId=invoke)[
        "Invocation"]["InvocationResults"]["InvocationResult"][0]
    if not states or states[-1] != row["InvocationStatus"]:
        states.append(row["InvocationStatus"])
    if row["InvokeRecordStatus"] != "Running":
        break
    time.sleep(0.05)
print(" ".join(states))
PY
SEQ_PID=$!
SENT[RunCommand]=1                      # the poller's
run slow "$CONTENT_A" Timeout=1 -- i-slow i-timeout i-hang
expect_ok slow
SLOW=$(jv slow 'd["InvokeId"]')
run behave "$CONTENT_A" -- i-exit i-failed i-abort i-noise i-multi
expect_ok behave
BEHAVE=$(jv behave 'd["InvokeId"]')
run flip "$CONTENT_A" -- i-flip
expect_ok flip
kr_emuctl ca-agent i-flip offline >/dev/null || kr_fail "ca-agent"
FLIP=$(jv flip 'd["InvokeId"]')

# ---- DescribeCloudAssistantStatus --------------------------------------------------------------
api st1 Action=DescribeCloudAssistantStatus RegionId=$REGION InstanceId.1=i-bulk-01 InstanceId.2=i-off InstanceId.3=i-win
expect_ok st1
kr_expect_eq "$(jv st1 '[(r["InstanceId"], r["CloudAssistantStatus"], bool(r["CloudAssistantVersion"]), r["OSType"]) for r in st]')" \
        "[('i-bulk-01', 'true', True, 'Linux'), ('i-off', 'false', False, 'Linux'), ('i-win', 'true', True, 'Windows')]" "agent status rows"
kr_expect_eq "$(jv st1 'sorted(set(type(r["CloudAssistantStatus"]).__name__ for r in st)), st[0]["LastHeartbeatTime"] != "", st[1]["LastHeartbeatTime"]')" \
        "(['str'], True, '')" "status is a string; heartbeat times"
api st2 Action=DescribeCloudAssistantStatus RegionId=$REGION OSType=linux InstanceId.1=i-bulk-01 InstanceId.2=i-off InstanceId.3=i-win
kr_expect_eq "$(jv st2 '[r["InstanceId"] for r in st]')" "['i-bulk-01', 'i-off']" "OSType filter"
token="" pages=0
: >"$T/st-ids"
while :; do
        api stp Action=DescribeCloudAssistantStatus RegionId=$REGION MaxResults=50 ${token:+NextToken=$token}
        expect_ok stp
        jv stp '"\n".join(r["InstanceId"] for r in st)' >>"$T/st-ids"
        pages=$((pages + 1))
        token=$(jv stp 'd["NextToken"]')
        [ -n "$token" ] || break
        [ "$pages" -lt 5 ] || kr_fail "DescribeCloudAssistantStatus paging does not end"
done
kr_expect_eq "$pages $(sort -u "$T/st-ids" | wc -l) $(wc -l <"$T/st-ids")" "2 71 71" "status pages, distinct and total instances"
if grep -q '^i-sh$' "$T/st-ids"; then kr_fail "another region's instance listed"; fi
api st3 Action=DescribeCloudAssistantStatus RegionId=$REGION MaxResults=51
expect_error st3 400 InvalidParameter
api st4 Action=DescribeCloudAssistantStatus RegionId=$REGION InstanceId.1=i-bulk-01 InstanceId.2=i-nope
expect_error st4 404 InvalidInstance.NotFound
api st5 Action=DescribeCloudAssistantStatus RegionId=$REGION InstanceId.1=i-sh
expect_error st5 404 InvalidInstance.NotFound
mapfile -t many < <(for n in $(seq 101); do echo "InstanceId.$n=i-bulk-01-$n"; done)
api st6 Action=DescribeCloudAssistantStatus RegionId=$REGION "${many[@]}"
expect_error st6 403 InstanceIds.ExceedLimit
kr_pass "DescribeCloudAssistantStatus: string status, version only when online, OSType, paging, 100-id limit, unknown ids"

# ---- RunCommand refused as a whole ------------------------------------------------------------
run nm1 "$CONTENT_A" -- i-bulk-01 i-off
expect_error nm1 403 InvalidInstance.NotMatch
run nm2 "$CONTENT_A" -- i-bulk-01 i-win
expect_error nm2 403 InvalidInstance.NotMatch
run nm3 "$CONTENT_A" -- i-stopped i-bulk-01
expect_error nm3 403 InvalidInstance.NotMatch
run nm4 "$CONTENT_A" Type=RunBatScript -- i-bulk-01
expect_error nm4 403 InvalidInstance.NotMatch
run nf1 "$CONTENT_A" -- i-bulk-01 i-nope
expect_error nf1 404 InvalidInstance.NotFound
run nf2 "$CONTENT_A" -- i-sh
expect_error nf2 404 InvalidInstance.NotFound
run ty "$CONTENT_A" Type=RunFooScript -- i-bulk-01
expect_error ty 403 InvalidCmdType.NotFound
run nm "$CONTENT_A" Name="$(printf 'n%.0s' $(seq 129))" -- i-bulk-01
expect_error nm 403 CmdName.ExceedLimit
run ds "$CONTENT_A" Description="$(printf 'd%.0s' $(seq 513))" -- i-bulk-01
expect_error ds 403 CmdDesc.ExceedLimit
mapfile -t fifty_one < <(seq -f 'i-bulk-%02g' 1 51)
run lim51 "$CONTENT_A" -- "${fifty_one[@]}"
expect_error lim51 403 InstanceIds.ExceedLimit
# pad N: a containment command of N bytes.
pad() { printf "KEYREVOKE_KEYS='%s'\n" "$KEY_B"; head -c "$(($1 - ${#KEY_B} - 18))" /dev/zero | tr '\0' '#'; }
FITS=$((LIMIT * 3 / 4))
kr_expect_eq "$(pad $FITS | base64 -w0 | wc -c) $(pad $((FITS + 1)) | base64 -w0 | wc -c)" "$LIMIT $((LIMIT + 4))" "padded content sizes"
run big "$(pad $((FITS + 1)) | base64 -w0)" -- i-bulk-55
expect_error big 403 CmdContent.ExceedLimit
kr_expect_eq "$(ca_state i-bulk-01 '(v["invocations"], v["runs"])') $(ca_state i-bulk-55 'v["invocations"]')" "(0, 0) 0" \
        "refused calls ran nothing"
run fits "$(pad $FITS | base64 -w0)" -- i-bulk-55
expect_ok fits
kr_pass "RunCommand refused as a whole (agent offline, Windows, Stopped, wrong type, unknown id); 50-instance, name and $LIMIT-byte content limits"

# ---- 50 instances, asynchronous, the containment summary -----------------------------------------
mapfile -t fifty < <(seq -f 'i-bulk-%02g' 1 50)
run bulk "$CONTENT_A" Timeout=30 -- "${fifty[@]}"
expect_ok bulk
BULK=$(jv bulk 'd["InvokeId"]')
kr_expect_eq "$(jv bulk 'd["InvokeId"][:2], d["CommandId"][:2]')" "('t-', 'c-')" "InvokeId/CommandId shapes"
wait_final "$BULK"
DA=$(digest "$KEY_A")
want="KEYREVOKE-CONTAIN v1 status=contained keys=1 digest=$DA removed=1 files=1 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=reloaded"
: >"$T/bulk-ids"
for page in 1 2 3; do
        results bp$page "$BULK" PageSize=20 PageNumber=$page
        expect_ok bp$page
        kr_expect_eq "$(jv bp$page 'len(res), d["Invocation"]["TotalCount"]')" "($((page < 3 ? 20 : 10)), 50)" "page $page"
        kr_expect_eq "$(jv bp$page '{(r["InvocationStatus"], r["InvokeRecordStatus"], r["ExitCode"], r["ErrorCode"], r["Dropped"], out(r).splitlines()[-1], bool(r["StartTime"] and r["FinishedTime"])) for r in res}')" \
                "{('Success', 'Finished', 0, '', 0, '$want', True)}" "page $page rows"
        jv bp$page '"\n".join(r["InstanceId"] for r in res)' >>"$T/bulk-ids"
done
kr_expect_eq "$(sort -u "$T/bulk-ids" | tr '\n' ' ')" "$(printf '%s ' "${fifty[@]}")" "every instance once over the pages"
token="" pages=0
: >"$T/bulk-ids2"
while :; do
        results bt "$BULK" MaxResults=20 ${token:+NextToken=$token}
        expect_ok bt
        jv bt '"\n".join(r["InstanceId"] for r in res)' >>"$T/bulk-ids2"
        pages=$((pages + 1))
        token=$(jv bt 'd["Invocation"]["NextToken"]')
        [ -n "$token" ] || break
        [ "$pages" -lt 5 ] || kr_fail "DescribeInvocationResults paging does not end"
done
kr_expect_eq "$pages $(sort -u "$T/bulk-ids2" | wc -l) $(wc -l <"$T/bulk-ids2")" "3 50 50" "NextToken pages"
results bx "$BULK" PageSize=51
expect_error bx 400 InvalidParam.PageSize
results bx "$BULK" MaxResults=51
expect_error bx 400 InvalidParam.MaxResults
results bx "$BULK" NextToken=0123456789abcdef
expect_error bx 400 InvalidParameter
results bf "$BULK" InvokeRecordStatus=Finished InstanceId=i-bulk-07 ContentEncoding=PlainText
kr_expect_eq "$(jv bf 'len(res), res[0]["Output"].splitlines()[-1]')" "(1, '$want')" "filters and PlainText output"
results bf "$BULK" InvokeRecordStatus=Failed
kr_expect_eq "$(jv bf 'd["Invocation"]["TotalCount"]')" 0 "no failed record"
kr_expect_eq "$(ca_state i-bulk-07 '(v["authorized_keys"], v["revoked_keys"], v["runs"])')" "({'root': []}, ['$KEY_A'], 1)" \
        "the key removed from root and revoked, one run"
kr_pass "50 instances: Success, the contract summary, PageNumber and NextToken paging, filters"

run again "$(printf "KEYREVOKE_KEYS='%s'\n#!/bin/sh\n" "$KEY_A")" ContentEncoding=PlainText -- i-bulk-07
expect_ok again
AGAIN=$(jv again 'd["InvokeId"]')
run more "$(contain "$KEY_A" "$KEY_B")" -- i-bulk-08
MORE=$(jv more 'd["InvokeId"]')
wait_final "$AGAIN"
wait_final "$MORE"
results again "$AGAIN"
kr_expect_eq "$(jv again 'out(res[0]).splitlines()[-1]')" \
        "KEYREVOKE-CONTAIN v1 status=contained keys=1 digest=$DA removed=0 files=0 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=unchanged" \
        "second run (PlainText content)"
results more "$MORE"
kr_expect_eq "$(jv more 'out(res[0]).splitlines()[-1]')" \
        "KEYREVOKE-CONTAIN v1 status=contained keys=2 digest=$(digest "$KEY_A"$'\n'"$KEY_B") removed=0 files=0 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=unchanged" \
        "a second key"
kr_expect_eq "$(ca_state i-bulk-07 '(v["revoked_keys"], v["runs"])') $(ca_state i-bulk-08 'len(v["revoked_keys"])')" "(['$KEY_A'], 2) 2" \
        "idempotent model"
kr_pass "idempotent: the same keys again change nothing (sshd unchanged); a new key extends the set"

# ---- invalid input ----------------------------------------------------------------------------
run bad1 "$(printf 'echo not a containment command\n' | base64 -w0)" -- i-bulk-09
run bad2 "$(printf "KEYREVOKE_KEYS='ssh-foo AAAA'\n#!/bin/sh\n" | base64 -w0)" -- i-bulk-55
wait_final "$(jv bad1 'd["InvokeId"]')"
wait_final "$(jv bad2 'd["InvokeId"]')"
results bad1 "$(jv bad1 'd["InvokeId"]')"
results bad2 "$(jv bad2 'd["InvokeId"]')"
kr_expect_eq "$(jv bad1 'res[0]["InvocationStatus"], res[0]["ExitCode"], res[0]["ErrorCode"], out(res[0]).splitlines()[-1]')" \
        "('Failed', 3, 'ExitCodeNonzero', 'KEYREVOKE-CONTAIN v1 status=invalid-input keys=0 digest=$(digest '') removed=0 files=0 unclean=0 revokedkeys=- sshd=unchanged')" \
        "content without the assignment"
kr_expect_eq "$(jv bad2 'out(res[0]).splitlines()[-1]')" \
        "KEYREVOKE-CONTAIN v1 status=invalid-input keys=0 digest=$(digest 'ssh-foo AAAA') removed=0 files=0 unclean=0 revokedkeys=- sshd=unchanged" \
        "a bad key line"
kr_expect_eq "$(ca_state i-bulk-55 '(v["authorized_keys"], v["revoked_keys"], v["runs"])')" "({'root': ['$KEY_A']}, ['$KEY_B'], 2)" \
        "invalid input changed nothing"
kr_pass "invalid input: status=invalid-input, exit 3, nothing changed"

# ---- ClientToken and faults (the poller is done first: it must not meet the faults) ------------
wait "$SEQ_PID" || kr_fail "poller: $(cat "$T/seq.out")"
run tok1 "$CONTENT_A" ClientToken=batch-1 -- i-bulk-51
run tok2 "$CONTENT_A" ClientToken=batch-1 -- i-bulk-51
expect_ok tok2
kr_expect_eq "$(jv tok2 'd["InvokeId"], d["CommandId"]')" "$(jv tok1 'd["InvokeId"], d["CommandId"]')" "same token, same answer"
run tok3 "$(contain "$KEY_B")" ClientToken=batch-1 -- i-bulk-51
expect_error tok3 400 IdempotentParameterMismatch
kr_emuctl fault RunCommand reset_after 1 >/dev/null
run tok4 "$CONTENT_A" ClientToken=batch-2 -- i-bulk-52
kr_expect_eq "$(cat "$T/tok4.code")" reset "reset after the call was applied"
run tok5 "$CONTENT_A" ClientToken=batch-2 -- i-bulk-52
expect_ok tok5
kr_emuctl fault RunCommand throttle 1 >/dev/null
run thr "$CONTENT_A" -- i-bulk-53
expect_error thr 400 Throttling.User
kr_expect_eq "$(ca_state i-bulk-53 'v["invocations"]')" 0 "a throttled call ran nothing"
kr_emuctl fault DescribeInvocationResults unavailable 1 >/dev/null
kr_emuctl fault DescribeCloudAssistantStatus internal 1 >/dev/null
results f503 "$(jv tok5 'd["InvokeId"]')"
expect_error f503 503 ServiceUnavailable
api f500 Action=DescribeCloudAssistantStatus RegionId=$REGION
expect_error f500 500 InternalError
wait_final "$(jv tok1 'd["InvokeId"]')"
wait_final "$(jv tok5 'd["InvokeId"]')"
kr_expect_eq "$(ca_state i-bulk-51 '(v["invocations"], v["runs"])') $(ca_state i-bulk-52 '(v["invocations"], v["runs"])')" "(1, 1) (1, 1)" \
        "a replayed token runs once"
"$PYTHON3" - "$T/emu.log" <<'PY' || kr_fail "ClientToken calls in the log"
import json, sys
calls = [c for c in map(json.loads, open(sys.argv[1])) if c.get("action") == "RunCommand"
         and c["params"].get("ClientToken") in ("batch-1", "batch-2")]
got = [(c["params"]["ClientToken"], c["status"], c["code"], c["applied"], c.get("fault"), c.get("replayed", False))
       for c in calls]
want = [("batch-1", 200, None, True, None, False), ("batch-1", 200, None, False, None, True),
        ("batch-1", 400, "IdempotentParameterMismatch", False, None, False),
        ("batch-2", None, None, True, "reset_after", False), ("batch-2", 200, None, False, None, True)]
assert got == want, got
PY
kr_pass "ClientToken: replay answers the same InvokeId and runs once (also after a reset), mismatch refused; faults on the new actions"

# ---- agent online/offline at run time --------------------------------------------------------
kr_emuctl ca-agent i-bulk-54 offline >/dev/null
api ag1 Action=DescribeCloudAssistantStatus RegionId=$REGION InstanceId.1=i-bulk-54
run ag2 "$CONTENT_A" -- i-bulk-54
expect_error ag2 403 InvalidInstance.NotMatch
kr_emuctl ca-agent i-bulk-54 online >/dev/null
api ag3 Action=DescribeCloudAssistantStatus RegionId=$REGION InstanceId.1=i-bulk-54
run ag4 "$CONTENT_A" -- i-bulk-54
expect_ok ag4
kr_expect_eq "$(jv ag1 'st[0]["CloudAssistantStatus"], st[0]["CloudAssistantVersion"]') $(jv ag3 'st[0]["CloudAssistantStatus"]')" \
        "('false', '') true" "agent flipped offline and back"
kr_pass "the control API flips an agent offline (RunCommand refused) and online again"

# ---- real instance ----------------------------------------------------------------------------
# shellcheck disable=SC2016
run real1 "$(printf 'echo "hello from $(id -un)"\necho oops >&2\ntouch /root/ran\nexit 7\n' | base64 -w0)" -- i-real
REAL1=$(jv real1 'd["InvokeId"]')
wait_final "$REAL1"
results real1 "$REAL1"
kr_expect_eq "$(jv real1 'res[0]["InvocationStatus"], res[0]["ExitCode"], res[0]["ErrorCode"], out(res[0])')" \
        "('Failed', 7, 'ExitCodeNonzero', 'hello from root\\noops\\n')" "real: exit 7, stdout and stderr"
[ -e "$T/inst-cmd/root/ran" ] || kr_fail "real: the command did not run in the instance"
# shellcheck disable=SC2016
lines='i=0; while [ $i -lt 300 ]; do echo "line $i of the real output"; i=$((i + 1)); done; echo LAST'
run real2 "$(printf '%s\n' "$lines" | base64 -w0)" -- i-real
start=$(date +%s%N)
run real3 "$(printf 'echo $$ >/root/pid\nexec sleep 30\n' | base64 -w0)" Timeout=1 -- i-real
wait_final "$(jv real3 'd["InvokeId"]')"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 3000 ] || kr_fail "real: the timeout took ${elapsed} ms"
results real3 "$(jv real3 'd["InvokeId"]')"
kr_expect_eq "$(jv real3 'res[0]["InvocationStatus"], res[0]["ErrorCode"], res[0]["ExitCode"]')" "('Timeout', 'ExecutionTimeout', -1)" "real: timeout"
if kill -0 "$(cat "$T/inst-cmd/root/pid")" 2>/dev/null; then kr_fail "real: the timed-out command still runs"; fi
wait_final "$(jv real2 'd["InvokeId"]')"
results real2 "$(jv real2 'd["InvokeId"]')"
total=$(sh -c "$lines" | wc -c)
kr_expect_eq "$(jv real2 'res[0]["InvocationStatus"], len(out(res[0])), res[0]["Dropped"], out(res[0]).endswith("\nLAST\n")')" \
        "('Success', 1024, $((total - 1024)), True)" "real: the output tail"
kr_expect_eq "$(ca_state i-real '(v["authorized_keys"], v["runs"])')" "(None, 3)" "real: no simulated keys"
kr_pass "real instance: runs in the instance, exit status, stdout+stderr, killed at Timeout, output tail with Dropped"

# ---- a simulated instance answers as contain.sh on a real one ----------------------------------
# twin ROUND HEAD WANT: HEAD + contain.sh on i-contain (real, sshd running) and i-twin (simulated,
# the same authorized keys): both end with the summary WANT and the same exit status.
twin() {
        local invoke
        run "tw$1" "$({ printf '%s' "$2"; cat "$CONTAIN_SH"; } | base64 -w0)" -- i-contain i-twin
        expect_ok "tw$1"
        invoke=$(jv "tw$1" 'd["InvokeId"]')
        wait_final "$invoke"
        results "tw$1" "$invoke"
        kr_expect_eq "$(jv "tw$1" '[(r["ExitCode"], out(r).splitlines()[-1]) for r in res]')" \
                "$(jv "tw$1" '[(by["i-twin"]["ExitCode"], arg[0])] * 2' "$3")" "round $1: contain.sh, simulated ($(cat "$T/tw$1.json"))"
}
NO_SSHD="removed=0 files=0 unclean=0 revokedkeys=- sshd=unchanged"
twin 1 '' "KEYREVOKE-CONTAIN v1 status=invalid-input keys=0 digest=$(digest '') $NO_SSHD"
twin 2 "KEYREVOKE_KEYS='ssh-ed25519 AAAA"$'\n'"ssh-foo AAAA'"$'\n' \
        "KEYREVOKE-CONTAIN v1 status=invalid-input keys=0 digest=$(digest "ssh-ed25519 AAAA"$'\n'"ssh-foo AAAA") $NO_SSHD"
DR=$(digest "$KEY_REAL")
twin 3 "KEYREVOKE_KEYS='$KEY_REAL'"$'\n' \
        "KEYREVOKE-CONTAIN v1 status=contained keys=1 digest=$DR removed=2 files=2 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=reloaded"
twin 4 "KEYREVOKE_KEYS='$KEY_REAL'"$'\n' \
        "KEYREVOKE-CONTAIN v1 status=contained keys=1 digest=$DR removed=0 files=0 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=unchanged"
kr_expect_eq "$(cat "$T/inst-contain/root/.ssh/authorized_keys" "$T/inst-contain/home/alice/.ssh/authorized_keys" | wc -l) $(ca_state i-twin 'v["authorized_keys"]')" \
        "0 {'root': [], 'alice': []}" "both cleaned"
kr_pass "the simulated instance answers as contain.sh on a real instance (invalid input, contained, idempotent)"

# ---- the long-running invocations -------------------------------------------------------------
kr_expect_eq "$(cat "$T/seq.out")" "Pending Running Success" "i-seq states"
wait_final "$BEHAVE"
results behave "$BEHAVE"
kr_expect_eq "$(jv behave 'by["i-exit"]["InvocationStatus"], by["i-exit"]["InvokeRecordStatus"], by["i-exit"]["ExitCode"], by["i-exit"]["ErrorCode"], by["i-exit"]["ErrorInfo"]')" \
        "('Failed', 'Finished', 2, 'ExitCodeNonzero', 'the command execution exit code is not zero')" "exit:2"
kr_expect_eq "$(ca_state i-exit 'v["authorized_keys"]["root"]')" "['$KEY_A']" "exit:2 changed nothing"
kr_expect_eq "$(jv behave 'by["i-failed"]["ExitCode"], out(by["i-failed"]).splitlines()[-1]')" \
        "(1, 'KEYREVOKE-CONTAIN v1 status=failed keys=1 digest=$DA removed=1 files=1 unclean=0 revokedkeys=- sshd=failed')" "failed"
kr_expect_eq "$(jv behave 'by["i-abort"]["InvocationStatus"], by["i-abort"]["InvokeRecordStatus"], by["i-abort"]["ErrorCode"], by["i-abort"]["StartTime"]')" \
        "('Aborted', 'Failed', 'ClientNotRunning', '')" "abort"
kr_expect_eq "$(jv behave 'by["i-noise"]["InvocationStatus"], len(out(by["i-noise"])), by["i-noise"]["Dropped"] > 2000, bool(re.match(arg[0], out(by["i-noise"]).splitlines()[-1]))' "$SUMMARY_RE")" \
        "('Success', 1024, True, True)" "noise: the tail keeps the summary"
kr_expect_eq "$(jv behave 'out(by["i-multi"]).splitlines()[-1]')" \
        "KEYREVOKE-CONTAIN v1 status=contained keys=1 digest=$DA removed=2 files=2 unclean=0 revokedkeys=/etc/ssh/keyrevoke_revoked_keys sshd=reloaded" "multi-account"
kr_expect_eq "$(ca_state i-multi 'v["authorized_keys"]')" "{'root': ['$KEY_B'], 'ecs-user': ['$KEY_C']}" "multi-account keys left"
results slow "$SLOW"
kr_expect_eq "$(jv slow '[(r["InstanceId"], r["InvocationStatus"], r["InvokeRecordStatus"], r["ErrorCode"]) for r in res if r["InstanceId"] != "i-hang"]')" \
        "[('i-slow', 'Timeout', 'Failed', 'ExecutionTimeout'), ('i-timeout', 'Timeout', 'Failed', 'ExecutionTimeout')]" "timeouts"
kr_expect_eq "$(jv slow 'secs(by["i-slow"]["FinishedTime"]) - secs(by["i-slow"]["StartTime"])')" 1 "killed after Timeout=1"
kr_expect_eq "$(jv slow 'by["i-hang"]["InvocationStatus"], by["i-hang"]["InvokeRecordStatus"]')" "('Running', 'Running')" "hang: still running"
results flip "$FLIP"
kr_expect_eq "$(jv flip 'res[0]["InvocationStatus"], res[0]["ErrorCode"]')" "('Aborted', 'ClientNotRunning')" "agent offline before delivery"
api st7 Action=DescribeCloudAssistantStatus RegionId=$REGION InstanceId.1=i-hang InstanceId.2=i-abort InstanceId.3=i-flip
kr_expect_eq "$(jv st7 '[r["CloudAssistantStatus"] for r in st]')" "['false', 'false', 'false']" "agents gone offline"
kr_expect_eq "$(kr_emuctl ca-state | "$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["active"])')" 1 "only the hung command is active"
kr_pass "Pending -> Running -> Success; exit:N, failed, abort, output tail, multi-account, Timeout, hang-then-offline, offline before delivery"

# ---- the call log -----------------------------------------------------------------------------
for action in RunCommand DescribeCloudAssistantStatus; do
        kr_expect_eq "$(kr_count_calls "$action")" "${SENT[$action]}" "$action calls logged"
done
[ "$(kr_count_calls DescribeInvocationResults)" -gt "${SENT[DescribeInvocationResults]}" ] ||
        kr_fail "DescribeInvocationResults calls not logged"
kr_emuctl state --no-instances >"$T/state.json"
"$PYTHON3" - "$T/state.json" "$T/emu.log" <<'PY' || kr_fail "state counters and events"
import json, sys
state = json.load(open(sys.argv[1]))
log = [json.loads(l) for l in open(sys.argv[2])]
for action in ("RunCommand", "DescribeCloudAssistantStatus", "DescribeInvocationResults"):
    assert state["calls_by_action"][action] == sum(1 for c in log if c.get("action") == action), action
assert state["internal_errors"] == 0
finished = [e for e in log if e.get("event") == "ca-finished"]
assert len(finished) == len({(e["invoke_id"], e["instance"]) for e in finished}), "an instance finished twice"
ts = [e["t"] for e in log]
assert ts == sorted(ts), "log times decrease"
PY
kr_pass "every call in the call log and the counters; one ca-finished event per instance run"

# ---- make-fleet.py agent options --------------------------------------------------------------
"$PYTHON3" "$EMULATOR/make-fleet.py" --instances 400 --seed 3 --out "$T/mf1.json" --list-out "$T/mf1.list" || kr_fail "make-fleet"
"$PYTHON3" "$EMULATOR/make-fleet.py" --instances 400 --seed 3 --out "$T/mf2.json" --list-out "$T/mf2.list" \
        --ca-offline-percent 20 --ca-behaviour exit:1:10 --ca-behaviour timeout:5 --expect-out "$T/mf2.exp" || kr_fail "make-fleet CA options"
"$PYTHON3" - "$T/mf1.json" "$T/mf2.json" "$T/mf2.exp" <<'PY' || kr_fail "make-fleet agent fields"
import collections, json, sys
plain, ca = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
exp = json.load(open(sys.argv[3]))
strip = lambda i: {k: v for k, v in i.items() if k not in ("cloud_assistant", "ca_behaviour")}
assert [strip(i) for i in ca["instances"]] == plain["instances"], "agent options changed the fleet"
assert not any("cloud_assistant" in i or "ca_behaviour" in i for i in plain["instances"])
n = collections.Counter(i.get("cloud_assistant") or i.get("ca_behaviour") for i in ca["instances"])
assert 50 <= n["offline"] <= 110 and 15 <= n["exit:1"] <= 60 and 5 <= n["timeout"] <= 35, n
offline = {i["id"] for i in ca["instances"] if i.get("cloud_assistant") == "offline"}
assert exp["contain_agent_offline"] and set(exp["contain_agent_offline"]) <= offline
assert not set(exp["contain"]) & offline
PY
if "$PYTHON3" "$EMULATOR/make-fleet.py" --out "$T/x" --list-out "$T/y" --ca-behaviour sometimes:5 2>/dev/null; then
        kr_fail "make-fleet accepted an unknown behaviour"
fi
kr_pass "make-fleet.py: offline agents and behaviours without changing the rest of the fleet"
