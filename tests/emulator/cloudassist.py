"""Cloud Assistant for the ECS emulator (CLOUD-API.md section 1): DescribeCloudAssistantStatus,
RunCommand and DescribeInvocationResults, with one agent per instance that runs each command
asynchronously (Pending -> Running -> final).

Most instances are simulated: the emulator keeps their authorized keys and RevokedKeys set and
answers a containment command (notes/CONTAIN-CONTRACT.md) the way agent/instance/contain.sh does.
An instance with an `instance_root` is real: the command runs there through
tests/instance/run-in-instance.sh ROOT sh -s. Imported by ecs-emulator.py; standard library only.
See README.md in this directory."""

import argparse
import atexit
import base64
import bisect
import hashlib
import heapq
import json
import os
import re
import secrets
import selectors
import signal
import subprocess
import threading
import time
import zlib

DEFAULT_CONTENT_LIMIT = 16 * 1024      # bytes of Base64 content (the oldest documented limit)
DEFAULT_OUTPUT_LIMIT = 24576           # bytes of output kept (the tail)
DEFAULT_RUN_SECONDS = 0.5              # from RunCommand to the final state
DEFAULT_RUNNER = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "..", "instance", "run-in-instance.sh"))
PENDING_SHARE = 0.2                    # part of the run delay an invocation stays Pending
AGENT_VERSION = "2.2.3.398"
HEARTBEAT_SEC = 60
MAX_RUN_INSTANCES = 50
MAX_STATUS_INSTANCES = 100
MAX_PAGE = 50
MAX_TIMEOUT = 86400
MAX_RUN_SECONDS = 3600
MAX_NOISE = 1 << 20
KILLED_EXIT_CODE = -1                  # ExitCode of a killed or interrupted command
DRAIN_SEC = 1.0                        # output still read after a kill
COMMAND_TYPES = {"RunShellScript": "linux", "RunBatScript": "windows",
                 "RunPowerShellScript": "windows"}
OS_NAMES = {"linux": "Linux", "windows": "Windows"}
OS_FILTERS = ("linux", "windows", "freebsd")
BEHAVIOURS = ("ok", "failed", "timeout", "abort", "hang-then-offline")
AGENT_FIELDS = ("cloud_assistant", "ca_behaviour", "ca_run_seconds", "authorized_keys",
                "instance_root")
KEY_TYPES = frozenset(("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256",
                       "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
                       "sk-ecdsa-sha2-nistp256@openssh.com"))
MAX_KEYS = 1000                        # contain.sh's KR_MAX_KEYS and KR_MAX_BLOB_CHARS
MAX_BLOB_CHARS = 16384
BLOB_RE = re.compile(r"\A[A-Za-z0-9+/]+={0,2}\Z")
NUMBERED_ID_RE = re.compile(r"\AInstanceId\.([1-9][0-9]{0,5})\Z")
ASSIGNMENT = "KEYREVOKE_KEYS='"
REVOKED_KEYS_FILE = "/etc/ssh/keyrevoke_revoked_keys"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/00-keyrevoke.conf"
SUMMARY = ("KEYREVOKE-CONTAIN v1 status=%s keys=%d digest=%s removed=%d files=%d unclean=0 "
           "revokedkeys=%s sshd=%s")
FINAL = frozenset(("Success", "Failed", "Timeout", "Aborted", "Error"))
RECORD_STATUS = {"Pending": "Running", "Running": "Running", "Success": "Finished",
                 "Failed": "Finished", "Timeout": "Failed", "Aborted": "Failed", "Error": "Failed"}
RECORD_FILTERS = ("Running", "Finished", "Failed", "Stopped")
ERROR_INFO = {
    "ExitCodeNonzero": "the command execution exit code is not zero",
    "ExecutionTimeout": "the command execution has been timeout",
    "ClientNotRunning": "the aliyun service is not running on the instance",
    "ExecutionInterrupted": "the command execution has been interrupted",
}
# Parameters that do not take part in the ClientToken comparison (they change on every retry).
NOT_IDEMPOTENT = frozenset(("AccessKeyId", "ClientToken", "Format", "SecurityToken", "Signature",
                            "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp",
                            "Version"))


# ---------------------------------------------------------------------------------------------
# Pure helpers (also checked by self_test)


def digest(value):
    """`printf '%s\\n' "$KEYREVOKE_KEYS" | sha256sum | cut -c1-16`."""
    return hashlib.sha256((value + "\n").encode()).hexdigest()[:16]


def parse_assignment(text):
    """(value, keys, problem) of a containment command's first line KEYREVOKE_KEYS='...', checked
    as contain.sh checks it. keys is a list of (type, blob); problem is None or why the input is
    invalid. value is "" without an assignment (the script then sees KEYREVOKE_KEYS unset)."""
    if not text.startswith(ASSIGNMENT):
        return "", [], "KEYREVOKE_KEYS is unset or empty"
    end = text.find("'", len(ASSIGNMENT))
    if end < 0 or text[end + 1:end + 2] != "\n":
        return "", [], "KEYREVOKE_KEYS is not one quoted value followed by a newline"
    value = text[len(ASSIGNMENT):end]
    if not value:
        return value, [], "KEYREVOKE_KEYS is unset or empty"
    lines = value.split("\n")
    if len(lines) > MAX_KEYS:
        return value, [], "more than %d keys" % MAX_KEYS
    keys = []
    for n, line in enumerate(lines, 1):
        key_type, sep, blob = line.partition(" ")
        if not sep or key_type not in KEY_TYPES:
            return value, [], "key line %d: not a known key type" % n
        if not BLOB_RE.match(blob) or len(blob) > MAX_BLOB_CHARS:
            return value, [], "key line %d: the key is not base64" % n
        keys.append((key_type, blob))
    return value, keys, None


def line_key(line):
    """(type, blob) of an authorized_keys line, whatever options precede them, or None."""
    fields = line.split()
    for i in range(len(fields) - 1):
        if fields[i] in KEY_TYPES:
            return fields[i], fields[i + 1]
    return None


def parse_behaviour(text):
    """ok | failed | timeout | abort | hang-then-offline | exit:N | noise:BYTES -> (kind, n)."""
    if not isinstance(text, str):
        raise ValueError("ca_behaviour must be a string")
    kind, sep, arg = text.partition(":")
    if kind in BEHAVIOURS and not sep:
        return kind, 0
    if kind == "exit" and arg.isdigit() and int(arg) <= 255:
        return kind, int(arg)
    if kind == "noise" and arg.isdigit() and int(arg) <= MAX_NOISE:
        return kind, int(arg)
    raise ValueError("bad ca_behaviour %r" % text)


def tail(data, limit):
    """(the last limit bytes of data, bytes dropped from the beginning)."""
    dropped = max(0, len(data) - limit)
    return data[dropped:], dropped


def home_of(account):
    return "/root" if account == "root" else "/home/" + account


def fmt_second(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t is not None else ""


def page_token(seq, query_key):
    return "%x%08x" % (seq, zlib.crc32(query_key.encode()))


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % text)
    return int(text)


def run_seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_RUN_SECONDS:
        raise argparse.ArgumentTypeError("expected 0..%d seconds, got %r" % (MAX_RUN_SECONDS, text))
    return value


def add_arguments(ap):
    g = ap.add_argument_group("Cloud Assistant")
    g.add_argument("--ca-content-limit", type=positive_int, default=DEFAULT_CONTENT_LIMIT,
                   metavar="BYTES", help="RunCommand content limit, Base64 bytes")
    g.add_argument("--ca-output-limit", type=positive_int, default=DEFAULT_OUTPUT_LIMIT,
                   metavar="BYTES", help="output kept per instance (the tail)")
    g.add_argument("--ca-run-seconds", type=run_seconds, default=DEFAULT_RUN_SECONDS,
                   metavar="S", help="RunCommand to final state, per instance")
    g.add_argument("--ca-runner", default=DEFAULT_RUNNER, metavar="PATH",
                   help="runs a command on a real instance: PATH ROOT sh -s")


# ---------------------------------------------------------------------------------------------
# Model


class Agent:
    """The Cloud Assistant agent of one instance, and (simulated instances) its sshd keys."""
    __slots__ = ("online", "behaviour", "run_seconds", "root", "accounts", "revoked",
                 "sshd_configured", "runs", "removed", "beat", "results", "last_invoked")


class Invocation:
    __slots__ = ("invoke_id", "command_id", "region", "type", "data", "timeout", "username",
                 "results")


class Result:
    """One instance's part of an invocation."""
    __slots__ = ("seq", "inv", "iid", "status", "exit_code", "output", "dropped", "error_code",
                 "start", "finish", "gen")


class CloudAssist:
    """Cloud Assistant state; every method whose name starts with '_' runs with emu.lock held."""

    def __init__(self, emu, fleet, opts, api_error):
        self.emu = emu
        self.ApiError = api_error
        self.cond = threading.Condition(emu.lock)
        self.content_limit = opts.ca_content_limit
        self.output_limit = opts.ca_output_limit
        self.run_seconds = opts.ca_run_seconds
        self.runner = opts.ca_runner
        self.agents = {}                   # instance id -> Agent
        self.invocations = {}              # InvokeId -> Invocation
        self.results = []                  # every Result, by seq
        self.by_region = {r: [] for r in emu.regions}
        self.tokens = {}                   # ClientToken -> (parameters, CommandId, InvokeId)
        self.kept_commands = 0
        self.heap = []                     # (due, n, kind, Result or instance id)
        self.heap_n = 0
        self.procs = set()                 # real instances' running processes
        now = time.time()
        for spec in fleet.get("instances", []):
            if any(k in spec for k in AGENT_FIELDS):     # the others get theirs when needed
                self._instance_spec(spec, now)
        atexit.register(self.kill_all)
        threading.Thread(target=self.loop, daemon=True, name="cloudassist").start()

    def actions(self):
        return {"DescribeCloudAssistantStatus": self._describe_status,
                "RunCommand": self._run_command,
                "DescribeInvocationResults": self._describe_results}

    # --- errors -------------------------------------------------------------------------------

    def error(self, status, code, message):
        return self.ApiError(status, code, message)

    def missing(self, name):
        return self.error(400, "MissingParameter",
                          'The input parameter "%s" that is mandatory for processing this '
                          "request is not supplied." % name)

    def invalid(self, name, code="InvalidParameter"):
        return self.error(400, code, 'The specified parameter "%s" is not valid.' % name)

    def int_param(self, params, name, default, lo, hi, code="InvalidParameter"):
        text = params.get(name)
        if text is None or text == "":
            return default
        if not text.isdigit() or not lo <= int(text) <= hi:
            raise self.invalid(name, code)
        return int(text)

    def page_start(self, params, query_key):
        """Sequence number a NextToken resumes at (0 without one); it must belong to the query."""
        token = params.get("NextToken", "")
        if not token:
            return 0
        if (len(token) < 9 or not re.fullmatch(r"[0-9a-f]+", token)
                or int(token[-8:], 16) != zlib.crc32(query_key.encode())):
            raise self.invalid("NextToken")
        return int(token[:-8], 16)

    # --- instances ----------------------------------------------------------------------------

    def _instance_spec(self, spec, now=None):
        """Creates the agent of a fleet or control-API instance, or updates the fields given."""
        iid = spec.get("id")
        inst = self.emu.instances.get(iid)
        if inst is None:
            raise ValueError("unknown instance %r" % iid)
        now = time.time() if now is None else now
        state = spec.get("cloud_assistant")
        if state not in (None, "online", "offline"):
            raise ValueError("instance %s: cloud_assistant must be online or offline" % iid)
        agent = self.agents.get(iid)
        if agent is None:
            agent = Agent()
            agent.online = state != "offline"
            agent.beat = now if agent.online else None        # offline from the start: never seen
            agent.behaviour, agent.run_seconds, agent.root = "ok", None, None
            agent.accounts = {"root": self._default_keys(inst)}
            agent.revoked = {}
            agent.sshd_configured = False
            agent.runs = agent.removed = 0
            agent.results = []
            agent.last_invoked = None
            self.agents[iid] = agent
        elif state is not None and (state == "online") != agent.online:
            agent.online, agent.beat = state == "online", now
        if "ca_behaviour" in spec:
            parse_behaviour(spec["ca_behaviour"])
            agent.behaviour = spec["ca_behaviour"]
        if "ca_run_seconds" in spec:
            value = spec["ca_run_seconds"]
            if value is not None and (not isinstance(value, (int, float))
                                      or not 0 <= value <= MAX_RUN_SECONDS):
                raise ValueError("instance %s: ca_run_seconds must be 0..%d or null"
                                 % (iid, MAX_RUN_SECONDS))
            agent.run_seconds = value
        if "instance_root" in spec:
            root = spec["instance_root"]
            if root is not None and (not isinstance(root, str) or not os.path.isabs(root)):
                raise ValueError("instance %s: instance_root must be an absolute path or null"
                                 % iid)
            agent.root = root
        if "authorized_keys" in spec:
            keys = spec["authorized_keys"]
            if (not isinstance(keys, dict)
                    or not all(isinstance(a, str) and a and "/" not in a and isinstance(v, list)
                               and all(isinstance(line, str) and "\n" not in line for line in v)
                               for a, v in keys.items())):
                raise ValueError("instance %s: authorized_keys must map accounts to lists of "
                                 "lines" % iid)
            agent.accounts = {a: list(v) for a, v in keys.items()}
        return agent

    def _agent(self, iid):
        agent = self.agents.get(iid)
        return agent if agent is not None else self._instance_spec({"id": iid})

    def _default_keys(self, inst):
        """Root's authorized keys at first boot: its first key pair's public key (TYPE BLOB)."""
        first = inst.detached_from[0] if inst.detached_from else inst.key_pair_name
        kp = self.emu.keypairs[inst.region].get(first)
        fields = kp.public_key.split() if kp else []
        return [" ".join(fields[:2])] if len(fields) >= 2 else []

    def _alive(self, iid):
        """Heartbeats arrive: the agent is online and the instance Running."""
        return self._agent(iid).online and self.emu.instances[iid].status == "Running"

    def _lookup(self, iid, region):
        inst = self.emu.instances.get(iid)
        if inst is None or inst.region != region:
            raise self.error(404, "InvalidInstance.NotFound",
                             "The specified instance does not exist: %s." % iid)
        return inst

    def numbered_ids(self, params, limit):
        """InstanceId.N values in N order, without duplicates."""
        numbered = []
        for k, v in params.items():
            m = NUMBERED_ID_RE.match(k)
            if m:
                if not v:
                    raise self.invalid(k)
                numbered.append((int(m.group(1)), v))
        ids = list(dict.fromkeys(v for _, v in sorted(numbered)))
        if len(ids) > limit:
            raise self.error(403, "InstanceIds.ExceedLimit",
                             "The number of instance IDs exceeds the upper limit of %d." % limit)
        return ids

    # --- scheduling ---------------------------------------------------------------------------

    def _schedule(self, due, kind, target):
        self.heap_n += 1
        heapq.heappush(self.heap, (due, self.heap_n, kind, target))
        self.cond.notify()

    def _advance(self, now):
        """Applies every transition due by now, in order."""
        while self.heap and self.heap[0][0] <= now:
            due, _, kind, target = heapq.heappop(self.heap)
            if kind == "deliver":
                self._deliver(target, due)
            elif kind == "finish":
                self._finish_simulated(target, due)
            elif kind == "timeout":
                self._final(target, due, "Timeout", KILLED_EXIT_CODE, b"", "ExecutionTimeout")
            elif kind == "offline":
                agent = self.agents[target]
                agent.online, agent.beat = False, due

    def loop(self):
        with self.cond:
            while True:
                now = time.time()
                self._advance(now)
                self.cond.wait(self.heap[0][0] - now if self.heap else None)

    def _delay(self, agent):
        return self.run_seconds if agent.run_seconds is None else agent.run_seconds

    def _start(self, inv, iid, now):
        agent = self._agent(iid)
        r = Result()
        r.seq, r.inv, r.iid, r.status = len(self.results), inv, iid, "Pending"
        r.exit_code, r.output, r.dropped, r.error_code = 0, b"", 0, None
        r.start = r.finish = None
        r.gen = None
        self.results.append(r)
        self.by_region[inv.region].append(r.seq)
        agent.results.append(r)
        agent.last_invoked = now
        inv.results.append(r)
        if agent.behaviour == "abort":
            agent.online, agent.beat = False, now
        self._schedule(now + self._delay(agent) * PENDING_SHARE, "deliver", r)

    def _deliver(self, r, due):
        agent, inst = self.agents[r.iid], self.emu.instances[r.iid]
        if not agent.online or inst.status != "Running":
            self._final(r, due, "Aborted", 0, b"", "ClientNotRunning")
            return
        r.status, r.start, r.gen = "Running", due, inst.gen
        agent.runs += 1
        if agent.root is not None:
            threading.Thread(target=self.run_real, daemon=True,
                             args=(r, agent.root, r.inv.data, r.inv.timeout)).start()
            return
        kind = parse_behaviour(agent.behaviour)[0]
        run_time = self._delay(agent) * (1 - PENDING_SHARE)
        if kind == "hang-then-offline":
            self._schedule(due + run_time, "offline", r.iid)
        elif kind == "timeout" or run_time > r.inv.timeout:
            self._schedule(due + r.inv.timeout, "timeout", r)
        else:
            self._schedule(due + run_time, "finish", r)

    def _finish_simulated(self, r, due):
        inst = self.emu.instances[r.iid]
        if inst.gen != r.gen or inst.status != "Running":
            self._final(r, due, "Error", KILLED_EXIT_CODE, b"", "ExecutionInterrupted")
            return
        output, code = self._simulate(self.agents[r.iid], r.inv)
        self._final(r, due, "Success" if code == 0 else "Failed", code, output,
                    None if code == 0 else "ExitCodeNonzero")

    def _final(self, r, t, status, exit_code, output, error_code, dropped=0):
        """Final state; output is what the agent kept, dropped what it already discarded."""
        r.status, r.exit_code, r.error_code, r.finish = status, exit_code, error_code, t
        r.output, more = tail(output, self.output_limit)
        r.dropped = dropped + more
        now = time.time()
        self.emu._advance(now)
        self.emu._write_log({"t": now, "event": "ca-finished", "instance": r.iid,
                             "region": r.inv.region, "invoke_id": r.inv.invoke_id,
                             "status": status, "exit_code": exit_code})

    # --- simulated execution ------------------------------------------------------------------

    def _simulate(self, agent, inv):
        """(output, exit code) of the command on a simulated instance; applies its effect."""
        if inv.type != "RunShellScript":
            return b"", 0
        kind, n = parse_behaviour(agent.behaviour)
        if kind == "exit":
            return ("emulated exit status %d\n" % n).encode(), n
        lines = ["noise %06d %s" % (i, "x" * 66) for i in range((n + 79) // 80)]   # 80 bytes
        value, keys, problem = parse_assignment(inv.data.decode("utf-8", "replace"))
        if problem:
            lines += [problem,
                      SUMMARY % ("invalid-input", 0, digest(value), 0, 0, "-", "unchanged")]
            return ("\n".join(lines) + "\n").encode(), 3
        lines += self._revoke(agent, keys, kind == "failed")
        revoked = set(keys)
        removed = files = 0
        for account, entries in agent.accounts.items():
            kept = [e for e in entries if line_key(e) not in revoked]
            if len(kept) != len(entries):
                lines.append("cleaned %s/.ssh/authorized_keys: removed %d line(s)"
                             % (home_of(account), len(entries) - len(kept)))
                removed += len(entries) - len(kept)
                files += 1
                agent.accounts[account] = kept
        agent.removed += removed
        if kind == "failed":
            lines.append(SUMMARY % ("failed", len(keys), digest(value), removed, files, "-",
                                    "failed"))
            return ("\n".join(lines) + "\n").encode(), 1
        sshd = "unchanged" if agent.sshd_configured else "reloaded"
        agent.sshd_configured = True
        lines.append(SUMMARY % ("contained", len(keys), digest(value), removed, files,
                                REVOKED_KEYS_FILE, sshd))
        return ("\n".join(lines) + "\n").encode(), 0

    @staticmethod
    def _revoke(agent, keys, fail):
        """contain.sh's RevokedKeys step (before it cleans the accounts): its detail lines."""
        lines = [] if agent.sshd_configured else [
            "sshd has no RevokedKeys file: using " + REVOKED_KEYS_FILE]
        added = [k for k in dict.fromkeys(keys) if k not in agent.revoked]
        if fail:
            return lines + ["sshd -t rejected the new config:",
                            "%s line 1: emulated rejection" % SSHD_DROPIN,
                            "rolled back: removed " + SSHD_DROPIN]
        for k in added:
            agent.revoked[k] = None
        if added:
            lines.append("RevokedKeys %s (flat): added %d key(s)" % (REVOKED_KEYS_FILE, len(added)))
        else:
            lines.append("RevokedKeys %s (flat) already revokes every key" % REVOKED_KEYS_FILE)
        if not agent.sshd_configured:
            lines += ["wrote " + SSHD_DROPIN, "systemctl reload ssh.service: reloaded"]
        return lines

    # --- real execution -----------------------------------------------------------------------

    def run_real(self, r, root, data, timeout):
        """Worker thread: runs the command in the instance root, then records the result."""
        output = OutputTail(self.output_limit)
        try:
            code, timed_out = self.execute([self.runner, root, "sh", "-s"], data, timeout, output)
        except OSError as e:
            code, timed_out = 127, False
            output.add(("ecs-emulator: cannot run %s: %s\n" % (self.runner, e.strerror)).encode())
        with self.emu.lock:
            if timed_out:
                status, error_code = "Timeout", "ExecutionTimeout"
            else:
                status, error_code = (("Success", None) if code == 0
                                      else ("Failed", "ExitCodeNonzero"))
            self._final(r, time.time(), status, KILLED_EXIT_CODE if timed_out else code,
                        bytes(output.data), error_code, output.dropped)

    def execute(self, argv, data, timeout, output):
        """(exit code, timed out) of argv fed data; stdout and stderr go to output."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.add(proc)
        try:
            threading.Thread(target=feed, args=(proc.stdin, data), daemon=True).start()
            deadline = time.monotonic() + timeout
            timed_out = not read_until(proc.stdout, deadline, output)
            if not timed_out:
                try:
                    proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    timed_out = True
            if timed_out:
                kill_group(proc)
                read_until(proc.stdout, time.monotonic() + DRAIN_SEC, output)
            proc.stdout.close()
            code = proc.wait()
        finally:
            self.procs.discard(proc)
        return (KILLED_EXIT_CODE if code < 0 else code), timed_out

    def kill_all(self):
        for proc in list(self.procs):
            kill_group(proc)

    # --- actions (with emu.lock held; each returns the answer without RequestId) ---------------

    def _describe_status(self, params, entry):
        now = time.time()
        self._advance(now)
        region = self.emu._region(params)
        ids = self.numbered_ids(params, MAX_STATUS_INSTANCES)
        entry["instances"] = ids
        os_filter = params.get("OSType", "").lower()
        if os_filter and os_filter not in OS_FILTERS:
            raise self.invalid("OSType")
        max_results = self.int_param(params, "MaxResults", 10, 1, MAX_PAGE)
        if ids:
            found = [self._lookup(i, region) for i in ids]
        else:
            found = [self.emu.by_seq[s] for s in self.emu.by_region[region]]
        if os_filter:
            found = [i for i in found if i.os_type == os_filter]
        query_key = "%s|%s|%s" % (region, os_filter, ids)
        start = self.page_start(params, query_key)
        end = start + max_results
        return {"TotalCount": len(found),
                "NextToken": page_token(end, query_key) if end < len(found) else "",
                "InstanceCloudAssistantStatusSet": {"InstanceCloudAssistantStatus": [
                    self._status_row(i, now) for i in found[start:end]]}}

    def _status_row(self, inst, now):
        agent = self._agent(inst.id)
        alive = self._alive(inst.id)
        beat = now - (now - agent.beat) % HEARTBEAT_SEC if alive else agent.beat
        return {"InstanceId": inst.id, "CloudAssistantStatus": "true" if alive else "false",
                "CloudAssistantVersion": AGENT_VERSION if alive else "",
                "LastHeartbeatTime": fmt_second(beat), "OSType": OS_NAMES[inst.os_type],
                "ActiveTaskCount": sum(1 for r in agent.results if r.status not in FINAL),
                "InvocationCount": len(agent.results),
                "LastInvokedTime": fmt_second(agent.last_invoked),
                "SupportSessionManager": alive}

    def _run_command(self, params, entry):
        now = time.time()
        self._advance(now)
        region = self.emu._region(params)
        cmd_type = params.get("Type")
        if not cmd_type:
            raise self.missing("Type")
        if cmd_type not in COMMAND_TYPES:
            raise self.error(403, "InvalidCmdType.NotFound",
                             "The specified command type does not exist.")
        content = params.get("CommandContent")
        if not content:
            raise self.missing("CommandContent")
        if params.get("ContentEncoding", "PlainText").lower() == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except ValueError:
                raise self.invalid("CommandContent") from None
        else:                                    # PlainText, and any invalid value
            data = content.encode()
        if len(base64.b64encode(data)) > self.content_limit:
            raise self.error(403, "CmdContent.ExceedLimit",
                             "The maximum length of a command is exceeded.")
        for name, limit, code in (("Name", 128, "CmdName.ExceedLimit"),
                                  ("Description", 512, "CmdDesc.ExceedLimit"),
                                  ("Username", 255, "Username.ExceedLimit")):
            if len(params.get(name, "")) > limit:
                raise self.error(403, code, "The %s exceeds %d characters." % (name, limit))
        timeout = self.int_param(params, "Timeout", 60, 1, MAX_TIMEOUT)
        keep = params.get("KeepCommand", "false").lower()
        if keep not in ("true", "false"):
            raise self.invalid("KeepCommand")
        ids = self.numbered_ids(params, MAX_RUN_INSTANCES)
        entry["instances"] = ids
        if not ids:
            raise self.missing("InstanceId.1")
        token = params.get("ClientToken", "")
        if len(token) > 64 or not all(" " < c < "\x7f" for c in token):
            raise self.invalid("ClientToken")
        fingerprint = json.dumps(sorted((k, v) for k, v in params.items()
                                        if k not in NOT_IDEMPOTENT))
        if token in self.tokens:
            earlier, command_id, invoke_id = self.tokens[token]
            if earlier != fingerprint:
                raise self.error(400, "IdempotentParameterMismatch",
                                 "The request uses the same client token as a previous, but "
                                 "non-identical request.")
            entry["invoke_id"], entry["replayed"] = invoke_id, True
            return {"CommandId": command_id, "InvokeId": invoke_id}
        found = [self._lookup(i, region) for i in ids]
        for inst in found:
            if inst.status != "Running":
                reason = "it is %s" % inst.status
            elif inst.os_type != COMMAND_TYPES[cmd_type]:
                reason = "%s does not run on %s" % (cmd_type, OS_NAMES[inst.os_type])
            elif not self._agent(inst.id).online:
                reason = "its Cloud Assistant agent is not online"
            else:
                continue
            raise self.error(403, "InvalidInstance.NotMatch",
                             "The instance %s cannot run this command: %s." % (inst.id, reason))
        inv = Invocation()
        inv.invoke_id, inv.command_id = "t-" + secrets.token_hex(9), "c-" + secrets.token_hex(9)
        inv.region, inv.type, inv.data, inv.timeout = region, cmd_type, data, timeout
        inv.username = params.get("Username") or "root"
        inv.results = []
        self.invocations[inv.invoke_id] = inv
        if keep == "true":
            self.kept_commands += 1
        if token:
            self.tokens[token] = (fingerprint, inv.command_id, inv.invoke_id)
        for iid in ids:
            self._start(inv, iid, now)
        entry["invoke_id"], entry["applied"] = inv.invoke_id, True
        return {"CommandId": inv.command_id, "InvokeId": inv.invoke_id}

    def _describe_results(self, params, entry):
        self._advance(time.time())
        region = self.emu._region(params)
        invoke_id = params.get("InvokeId", "")
        instance_id = params.get("InstanceId", "")
        command_id = params.get("CommandId", "")
        record = params.get("InvokeRecordStatus", "")
        if record and record not in RECORD_FILTERS:
            raise self.invalid("InvokeRecordStatus")
        plain = params.get("ContentEncoding", "Base64").lower() == "plaintext"
        entry["invoke_id"] = invoke_id or None
        if invoke_id:
            inv = self.invocations.get(invoke_id)
            seqs = [r.seq for r in inv.results] if inv and inv.region == region else []
        else:
            seqs = self.by_region[region]

        def wanted(r):
            return ((not instance_id or r.iid == instance_id)
                    and (not command_id or r.inv.command_id == command_id)
                    and (not record or RECORD_STATUS[r.status] == record))

        if "MaxResults" in params or "NextToken" in params:
            max_results = self.int_param(params, "MaxResults", 10, 1, MAX_PAGE,
                                         "InvalidParam.MaxResults")
            query_key = "%s|%s|%s|%s|%s" % (region, invoke_id, instance_id, command_id, record)
            i = bisect.bisect_left(seqs, self.page_start(params, query_key))
            page, next_token = [], ""
            total = sum(1 for s in seqs if wanted(self.results[s]))
            while i < len(seqs):
                r = self.results[seqs[i]]
                if wanted(r):
                    if len(page) == max_results:
                        next_token = page_token(r.seq, query_key)
                        break
                    page.append(r)
                i += 1
            paging = {"TotalCount": total, "NextToken": next_token, "MaxResults": max_results}
        else:
            number = self.int_param(params, "PageNumber", 1, 1, 1 << 30, "InvalidParam.PageNumber")
            size = self.int_param(params, "PageSize", 10, 1, MAX_PAGE, "InvalidParam.PageSize")
            matches = [self.results[s] for s in seqs if wanted(self.results[s])]
            page = matches[(number - 1) * size:number * size]
            paging = {"TotalCount": len(matches), "NextToken": "", "PageNumber": number,
                      "PageSize": size}
        rows = [self.result_row(r, plain) for r in page]
        return {"Invocation": dict(paging, InvocationResults={"InvocationResult": rows})}

    def result_row(self, r, plain):
        output = (r.output.decode("utf-8", "replace") if plain
                  else base64.b64encode(r.output).decode())
        return {"InstanceId": r.iid, "InvokeId": r.inv.invoke_id, "CommandId": r.inv.command_id,
                "InvocationStatus": r.status, "InvokeRecordStatus": RECORD_STATUS[r.status],
                "ExitCode": r.exit_code, "Output": output, "Dropped": r.dropped,
                "ErrorCode": r.error_code or "", "ErrorInfo": ERROR_INFO.get(r.error_code, ""),
                "StartTime": fmt_second(r.start), "FinishedTime": fmt_second(r.finish),
                "Username": r.inv.username, "Repeats": 1}

    # --- control API --------------------------------------------------------------------------

    def _control_state(self, query):
        self._advance(time.time())
        ids = [query["instance"]] if "instance" in query else [i.id for i in self.emu.by_seq]
        for iid in ids:
            if iid not in self.emu.instances:
                raise ValueError("unknown instance %r" % iid)
        return {"instances": {iid: self._agent_view(iid) for iid in ids},
                "invocations": len(self.invocations), "results": len(self.results),
                "active": sum(1 for r in self.results if r.status not in FINAL),
                "kept_commands": self.kept_commands, "client_tokens": len(self.tokens)}

    def _control_set(self, body):
        self._advance(time.time())
        self._instance_spec(body)
        return self._agent_view(body["id"])

    def _agent_view(self, iid):
        agent = self._agent(iid)
        simulated = agent.root is None
        return {"cloud_assistant": "online" if agent.online else "offline",
                "alive": self._alive(iid), "ca_behaviour": agent.behaviour,
                "ca_run_seconds": agent.run_seconds, "instance_root": agent.root,
                "authorized_keys": ({a: list(v) for a, v in agent.accounts.items()}
                                    if simulated else None),
                "revoked_keys": [" ".join(k) for k in agent.revoked] if simulated else None,
                "sshd_configured": agent.sshd_configured, "runs": agent.runs,
                "removed": agent.removed, "invocations": len(agent.results),
                "active": sum(1 for r in agent.results if r.status not in FINAL)}


class OutputTail:
    """The last limit bytes of a stream (kept in at most twice that), and how many were dropped."""

    def __init__(self, limit):
        self.limit, self.data, self.dropped = limit, bytearray(), 0

    def add(self, chunk):
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            cut = len(self.data) - self.limit
            del self.data[:cut]
            self.dropped += cut


def read_until(stream, deadline, output):
    """Reads stream into output until EOF (True) or the deadline (False)."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not sel.select(left):
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return True
            output.add(chunk)


def feed(stream, data):
    try:
        stream.write(data)
        stream.close()
    except OSError:                     # the command did not read all of it
        pass


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:                     # already gone
        pass


def self_test():
    """Known answers of the containment parsing and output helpers; True when all hold."""
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyrevokeSelfTestKeyBlob0000000000000"
    two = key + "\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ=="
    checks = (
        (digest(key), "95cd40bff615fc60"),
        (digest(two), "5cec8d9adb5ef0b4"),
        (parse_assignment("KEYREVOKE_KEYS='%s'\nscript\n" % two)[1:],
         ([tuple(key.split()), ("ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQ==")], None)),
        (parse_assignment("KEYREVOKE_KEYS=''\n")[2], "KEYREVOKE_KEYS is unset or empty"),
        (parse_assignment("KEYREVOKE_KEYS='ssh-foo AAAA'\n")[2],
         "key line 1: not a known key type"),
        (parse_assignment("KEYREVOKE_KEYS='%s\n'\n" % key)[2], "key line 2: not a known key type"),
        (parse_assignment("KEYREVOKE_KEYS='ssh-rsa AA=A'\n")[2],
         "key line 1: the key is not base64"),
        (parse_assignment("KEYREVOKE_KEYS='%s' x\n" % key)[:2], ("", [])),
        (parse_assignment("echo hi\n")[:2], ("", [])),
        (digest(""), "01ba4719c80b6fe9"),
        (line_key('no-pty,command="echo \'hi there\'" %s me@host' % key), tuple(key.split())),
        (line_key("# " + key.split()[1]), None),
        (parse_behaviour("exit:7"), ("exit", 7)),
        (parse_behaviour("hang-then-offline"), ("hang-then-offline", 0)),
        (tail(b"abcdef", 4), (b"cdef", 2)),
        (tail(b"ab", 4), (b"ab", 0)),
    )
    ok = True
    for i, (got, want) in enumerate(checks):
        if got != want:
            print("FAIL cloudassist check %d: %r != %r" % (i, got, want))
            ok = False
    for bad in ("exit:256", "exit:", "noise:x", "ok:1", "sometimes"):
        try:
            parse_behaviour(bad)
        except ValueError:
            continue
        print("FAIL cloudassist: behaviour %r accepted" % bad)
        ok = False
    return ok
