#!/usr/bin/python3
"""Emulates the Alibaba Cloud ECS API (2014-05-26, RPC style, signature V1) over HTTPS, the ECS
metadata service (hardened mode) and a control API, for keyrevoke's integration tests and benchmark.

Python 3 standard library only. See README.md in this directory for the fleet format, the control
API and the fault kinds."""

import argparse
import base64
import bisect
import datetime
import hashlib
import heapq
import hmac
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
import zlib
from collections import Counter, deque
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

sys.dont_write_bytecode = True             # no __pycache__ next to the sources
import cloudassist  # noqa: E402  (Cloud Assistant: RunCommand and friends, CLOUD-API.md section 1)
import launchsources  # noqa: E402  (launch templates and ESS scaling configurations, section 4)

API_VERSION = "2014-05-26"
TIMESTAMP_SKEW_SEC = 15 * 60
NONCE_WINDOW_SEC = 15 * 60
MAX_BODY_BYTES = 1 << 20
CONNECTION_IDLE_SEC = 120
STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
OS_TYPES = ("linux", "windows")
DETACH_STYLES = ("strings", "native", "legacy")
SIMPLE_FAULTS = ("throttle", "unavailable", "internal", "reset_before", "reset_after")
METADATA_FAULT_ACTION = "Metadata"
INSTANCE_NOT_FOUND = "The specified InstanceId does not exist."
MAX_DELETE_KEYPAIRS = 100
FORBIDDEN_RAM = (403, "Forbidden.RAM",
                 "User not authorized to operate on the specified resource, or this API doesn't "
                 "support RAM.")
FAULT_ERRORS = {
    "throttle": (400, "Throttling.User", "Request was denied due to user flow control."),
    "unavailable": (503, "ServiceUnavailable",
                    "The request has failed due to a temporary failure of the server."),
    "internal": (500, "InternalError",
                 "The request processing has failed due to some unknown error."),
}
LOCK_ERRORS = {
    "security": ("InstanceLockedForSecurity",
                 "The specified operation is denied as your instance is locked for security "
                 "reasons."),
    "financial": ("InstanceExpiredOrInArrears",
                  "The specified operation is denied as your prepay instance is expired (prepay "
                  "mode) or in arrears (afterpay mode)."),
}
LOCAL_NAMES = {
    "cn-hangzhou": "华东1（杭州）", "cn-shanghai": "华东2（上海）", "cn-beijing": "华北2（北京）",
    "cn-shenzhen": "华南1（深圳）", "cn-qingdao": "华北1（青岛）", "cn-hongkong": "中国香港",
    "ap-southeast-1": "新加坡", "us-west-1": "美国（硅谷）", "eu-central-1": "德国（法兰克福）",
}

# Published known answers for signature V1 (ECS-API.md): (method, params, secret, string to sign
# or None, signature).
KNOWN_ANSWERS = (
    ("GET", {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
             "SignatureMethod": "HMAC-SHA1",
             "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
             "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z",
             "Version": "2014-05-26"},
     "testsecret",
     "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3D"
     "HMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26"
     "Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
     "OLeaidS1JvxuMvnyHOwuJ+uX5qY="),
    ("GET", {"AccessKeyId": "testid", "Action": "DescribeDedicatedHosts", "Format": "JSON",
             "RegionId": "cn-beijing", "SignatureMethod": "HMAC-SHA1",
             "SignatureNonce": "edb2b34af0af9a6d14deaf7c1a5315eb", "SignatureVersion": "1.0",
             "Timestamp": "2023-03-13T08:34:30Z", "Version": "2014-05-26"},
     "testsecret", None, "9NaGiOspFP5UPcwX8Iwt2YJXXuk="),
)


# ---------------------------------------------------------------------------------------------
# Signature V1 and small helpers


def percent_encode(text):
    """RFC 3986 encoding of UTF-8 text as signature V1 wants it (space is %20, ~ stays)."""
    return quote(text, safe="-_.~", encoding="utf-8")


def string_to_sign(method, params):
    """StringToSign of signature V1 over every parameter except Signature."""
    canon = "&".join(percent_encode(k) + "=" + percent_encode(v)
                     for k, v in sorted(params.items()) if k != "Signature")
    return method + "&%2F&" + percent_encode(canon)


def sign(method, params, secret):
    """Base64 HMAC-SHA1 signature of params with key secret + '&'."""
    mac = hmac.new((secret + "&").encode(), string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def signed_params(params, access_key_id, secret, security_token=None, method="POST"):
    """Adds the common parameters (fresh nonce and timestamp) and the signature to params."""
    p = {"Format": "JSON", "Version": API_VERSION, "AccessKeyId": access_key_id,
         "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
         "SignatureNonce": uuid.uuid4().hex, "Timestamp": fmt_second(time.time())}
    if security_token:
        p["SecurityToken"] = security_token
    p.update(params)
    p["Signature"] = sign(method, p, secret)
    return p


def fmt_minute(t):
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(t))


def fmt_second(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


TIMESTAMP_RE = re.compile(r"\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?Z\Z")


def parse_utc(text, seconds_required=True):
    """Unix time of 'yyyy-MM-ddTHH:mm:ssZ' (or minute form when allowed), None when malformed."""
    m = TIMESTAMP_RE.match(text)
    if not m or (seconds_required and m.group(6) is None):
        return None
    try:
        d = datetime.datetime(*(int(g or 0) for g in m.groups()), tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return d.timestamp()


def new_request_id():
    return str(uuid.uuid4()).upper()


@lru_cache(maxsize=1024)
def wildcard_regex(pattern):
    """Key pair name pattern: '*' matches any run of characters, everything else is literal."""
    return re.compile("\\A" + ".*".join(re.escape(p) for p in pattern.split("*")) + "\\Z", re.S)


def key_blob(public_key):
    """Decoded key blob of an OpenSSH one-line public key, or None."""
    fields = public_key.split()
    if len(fields) < 2:
        return None
    try:
        return base64.b64decode(fields[1], validate=True)
    except ValueError:
        return None


def md5_fingerprint(public_key):
    blob = key_blob(public_key)
    return hashlib.md5(blob if blob is not None else public_key.encode()).hexdigest()


def parse_fault_spec(text):
    """'ACTION:KIND:COUNT' (KIND may be 'latency:MS') -> (action, kind, count)."""
    head, _, count = text.rpartition(":")
    action, _, kind = head.partition(":")
    if not action or not kind:
        raise ValueError("expected ACTION:KIND:COUNT, got %r" % text)
    return action, kind, int(count)


def fault_delay(kind):
    """Extra seconds of delay a fault kind asks for."""
    return int(kind.split(":", 1)[1]) / 1000.0 if kind.startswith("latency:") else 0.0


def check_fault_kind(kind):
    if kind in SIMPLE_FAULTS:
        return
    if kind.startswith("latency:") and kind[8:].isdigit():
        return
    raise ValueError("unknown fault kind %r" % kind)


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


def missing(name):
    return ApiError(400, "MissingParameter",
                    'The input parameter "%s" that is mandatory for processing this request is not '
                    "supplied." % name)


def invalid(name, code="InvalidParameter"):
    return ApiError(400, code, 'The specified parameter "%s" is not valid.' % name)


def int_param(params, name, default, lo, hi):
    text = params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise invalid(name)
    return int(text)


def bool_param(params, name):
    text = params.get(name, "false").lower()
    if text not in ("true", "false"):
        raise invalid(name)
    return text == "true"


def id_array_param(params, name, limit, code):
    """A JSON array of strings parameter (InstanceIds) -> list, None when absent."""
    text = params.get(name)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise invalid(name, code) from None
    if (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            or len(value) > limit):
        raise invalid(name, code)
    return value


# ---------------------------------------------------------------------------------------------
# Fleet model


class Instance:
    __slots__ = ("seq", "id", "region", "name", "zone", "os_type", "status", "key_pair_name",
                 "start_time", "creation_time", "locks", "reboots", "detached_from", "gen",
                 "listed_os_type")

    def to_api(self):
        return {"InstanceId": self.id, "InstanceName": self.name, "Status": self.status,
                "OSType": self.listed_os_type or self.os_type, "KeyPairName": self.key_pair_name,
                "RegionId": self.region,
                "ZoneId": self.zone, "StartTime": fmt_minute(self.start_time),
                "CreationTime": fmt_minute(self.creation_time),
                "OperationLocks": {"LockReason": [{"LockReason": r} for r in self.locks]}}

    def to_state(self):
        return {"region": self.region, "status": self.status, "os_type": self.os_type,
                "key_pair_name": self.key_pair_name, "start_time": fmt_minute(self.start_time),
                "reboots": self.reboots, "detached_from": list(self.detached_from)}


class KeyPair:
    __slots__ = ("region", "name", "public_key", "fingerprint", "creation_time")

    def to_api(self, include_public_key):
        d = {"KeyPairName": self.name, "KeyPairFingerPrint": self.fingerprint,
             "CreationTime": fmt_minute(self.creation_time)}
        if include_public_key:
            d["PublicKey"] = self.public_key
        return d


def fleet_time(value, default):
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    t = parse_utc(value, seconds_required=False)
    if t is None:
        raise ValueError("bad time %r" % value)
    return t


class Emulator:
    """All emulated state; every method whose name starts with '_' runs with self.lock held."""

    def __init__(self, fleet, opts):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.latency = opts.latency_ms / 1000.0
        self.offset_paging = opts.paging == "offset"
        self.reboot_stop, self.reboot_start = opts.reboot_seconds
        self.regions = list(fleet.get("regions") or [])
        if not self.regions:
            raise ValueError("fleet has no regions")
        creds = fleet.get("credentials") or [{"access_key_id": "testid",
                                              "access_key_secret": "testsecret"}]
        self.credentials = {c["access_key_id"]: c["access_key_secret"] for c in creds}
        self.roles = list(fleet.get("ram_roles", ["KeyrevokeRole"]))
        self.sts_lifetime = int(fleet.get("sts_lifetime_seconds", 3600))
        self.detach_style = fleet.get("detach_answer_style", "strings")
        if self.detach_style not in DETACH_STYLES:
            raise ValueError("detach_answer_style must be one of %s" % ", ".join(DETACH_STYLES))
        self.sts = {}                      # AccessKeyId -> (secret, token, expiry)
        self.signatures = []               # every Signature received, for the secret-hygiene test
        self.metadata_tokens = {}          # token -> expiry
        self.keypairs = {r: {} for r in self.regions}
        self.instances = {}
        self.by_seq = []
        self.by_region = {r: [] for r in self.regions}
        self.by_kp = {}                    # (region, name) -> sorted seqs
        self.nonces = {}
        self.nonce_order = deque()
        self.faults = {}                   # action -> deque of [kind, remaining]
        self.rate = opts.rate_limit
        self.tokens = float(self.rate)
        self.tokens_at = time.monotonic()
        self.heap = []                     # (due, n, instance id, gen, new status)
        self.heap_n = 0
        self.rebooting = set()
        self.max_rebooting = 0
        self.calls = []
        self.calls_by_action = Counter()
        self.in_flight = Counter()      # calls received, not yet run (latency)
        self.errors_by_code = Counter()
        self.throttled = 0
        self.metadata_calls = 0
        self.internal_errors = 0
        self.last_call = time.monotonic()
        self.stopping = False
        self.log_file = open(opts.log, "a", encoding="utf-8") if opts.log else None
        self.actions = {
            "DescribeRegions": self._describe_regions,
            "DescribeKeyPairs": self._describe_keypairs,
            "DescribeInstances": self._describe_instances,
            "DetachKeyPair": self._detach_keypair,
            "RebootInstance": self._reboot_instance,
            "DescribeInstanceStatus": self._describe_instance_status,
            "DeleteKeyPairs": self._delete_keypairs,
        }
        self.denied = set(fleet.get("denied_actions", []))   # answered 403 Forbidden.RAM
        now = time.time()
        for kp in fleet.get("keypairs", []):
            self._add_keypair(kp, now)
        for inst in fleet.get("instances", []):
            self._add_instance(inst, now)
        self.ca = cloudassist.CloudAssist(self, fleet, opts, ApiError)
        self.actions.update(self.ca.actions())
        self.sources = launchsources.LaunchSources(self, fleet, ApiError, missing, invalid,
                                                   int_param, bool_param)
        self.actions.update(self.sources.actions())
        # Auto Scaling (ESS) is another product: its own path and API version.
        self.ess_actions = self.sources.ess_actions()
        for spec in opts.fault:
            self._add_fault(*parse_fault_spec(spec))

    # --- fleet changes ------------------------------------------------------------------------

    def _add_keypair(self, spec, now):
        region, name, public_key = spec.get("region"), spec.get("name"), spec.get("public_key")
        if region not in self.keypairs:
            raise ValueError("key pair in unknown region %r" % region)
        if not isinstance(name, str) or not name or not isinstance(public_key, str):
            raise ValueError("key pair needs a name and a public_key")
        kp = KeyPair()
        kp.region, kp.name, kp.public_key = region, name, public_key.strip()
        kp.fingerprint = md5_fingerprint(kp.public_key)
        kp.creation_time = fleet_time(spec.get("creation_time"), now)
        self.keypairs[region][name] = kp

    def _kp_index_add(self, inst):
        if inst.key_pair_name:
            bisect.insort(self.by_kp.setdefault((inst.region, inst.key_pair_name), []), inst.seq)

    def _kp_index_remove(self, inst):
        seqs = self.by_kp.get((inst.region, inst.key_pair_name))
        if not seqs:
            return
        i = bisect.bisect_left(seqs, inst.seq)
        if i < len(seqs) and seqs[i] == inst.seq:
            del seqs[i]

    def _add_instance(self, spec, now):
        """Adds an instance, or updates status/os_type/key_pair_name/locks of an existing one."""
        iid = spec.get("id")
        if not isinstance(iid, str) or not iid:
            raise ValueError("instance needs an id")
        status = spec.get("status", "Running")
        os_type = str(spec.get("os_type", "linux")).lower()
        kp_name = spec.get("key_pair_name") or ""
        if status not in STATUSES or os_type not in OS_TYPES or not isinstance(kp_name, str):
            raise ValueError("instance %s: bad status, os_type or key_pair_name" % iid)
        inst = self.instances.get(iid)
        if inst is not None:
            if spec.get("region", inst.region) != inst.region:
                raise ValueError("instance %s: region cannot change" % iid)
            self._kp_index_remove(inst)
            inst.status, inst.os_type, inst.key_pair_name = status, os_type, kp_name
            inst.locks = list(spec.get("lock_reasons", inst.locks))
            inst.gen += 1
            self.rebooting.discard(iid)
            self._kp_index_add(inst)
            return
        region = spec.get("region")
        if region not in self.by_region:
            raise ValueError("instance %s: unknown region %r" % (iid, region))
        inst = Instance()
        inst.seq = len(self.by_seq)
        inst.id, inst.region, inst.status, inst.os_type, inst.key_pair_name = (
            iid, region, status, os_type, kp_name)
        inst.name = spec.get("name") or "host-" + iid[-8:]
        inst.zone = spec.get("zone") or region + "-a"
        inst.start_time = fleet_time(spec.get("start_time"), now)
        inst.creation_time = fleet_time(spec.get("creation_time"), inst.start_time)
        inst.locks = list(spec.get("lock_reasons", []))
        inst.listed_os_type = spec.get("listed_os_type")
        inst.reboots = 0
        inst.detached_from = []
        inst.gen = 0
        self.instances[iid] = inst
        self.by_seq.append(inst)
        self.by_region[region].append(inst.seq)
        self._kp_index_add(inst)

    def _add_fault(self, action, kind, count):
        check_fault_kind(kind)
        if count <= 0:
            self.faults.pop(action, None)
            return
        self.faults.setdefault(action, deque()).append([kind, count])

    def _take_fault(self, action):
        for key in (action, "*"):
            queue = self.faults.get(key)
            if queue:
                head = queue[0]
                head[1] -= 1
                if head[1] <= 0:
                    queue.popleft()
                    if not queue:
                        del self.faults[key]
                return head[0]
        return None

    # --- reboots ------------------------------------------------------------------------------

    def _schedule(self, due, inst, status):
        self.heap_n += 1
        heapq.heappush(self.heap, (due, self.heap_n, inst.id, inst.gen, status))
        self.cond.notify()

    def _advance(self, now):
        """Applies every reboot transition due by now, in order."""
        while self.heap and self.heap[0][0] <= now:
            due, _, iid, gen, status = heapq.heappop(self.heap)
            inst = self.instances[iid]
            if inst.gen != gen:
                continue
            inst.status = status
            if status == "Running":
                inst.start_time = due
                self.rebooting.discard(iid)
                self._write_log({"t": due, "event": "reboot-running", "instance": iid,
                                 "region": inst.region})

    def scheduler_loop(self):
        with self.cond:
            while not self.stopping:
                now = time.time()
                self._advance(now)
                self.cond.wait(self.heap[0][0] - now if self.heap else None)

    # --- logging ------------------------------------------------------------------------------

    def _write_log(self, entry):
        self.calls.append(entry)
        if self.log_file:
            self.log_file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log_file.flush()

    def _finish(self, entry, status, code):
        now = time.time()
        self._advance(now)
        entry["t"] = now
        entry["status"] = status
        entry["code"] = code
        self.last_call = time.monotonic()
        self.calls_by_action[entry["action"] or "(none)"] += 1
        if code:
            self.errors_by_code[code] += 1
            if code.startswith("Throttling"):
                self.throttled += 1
        self._write_log(entry)

    # --- authentication -----------------------------------------------------------------------

    def _secret_for(self, params, now):
        key_id = params["AccessKeyId"]
        token = params.get("SecurityToken")
        if key_id in self.credentials:
            if token is not None:
                raise ApiError(400, "InvalidSecurityToken.Mismatch",
                               "A SecurityToken was given with a permanent AccessKey.")
            return self.credentials[key_id]
        if key_id not in self.sts:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        secret, expected, expiry = self.sts[key_id]
        if now >= expiry:
            raise ApiError(400, "InvalidSecurityToken.Expired",
                           "Specified SecurityToken is expired.")
        if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
            raise ApiError(400, "InvalidSecurityToken.Mismatch",
                           "Specified SecurityToken is not valid for this AccessKey.")
        return secret

    def _authenticate(self, method, params, now):
        secret = self._secret_for(params, now)
        wanted = sign(method, params, secret)
        if not hmac.compare_digest(wanted.encode(), params["Signature"].encode()):
            raise ApiError(400, "SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation. server string "
                           "to sign is:" + string_to_sign(method, params))
        while self.nonce_order and self.nonce_order[0][0] < now - NONCE_WINDOW_SEC:
            _, old = self.nonce_order.popleft()
            self.nonces.pop(old, None)
        nonce = params["SignatureNonce"]
        if nonce in self.nonces:
            raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces[nonce] = now
        self.nonce_order.append((now, nonce))

    def _take_token(self):
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(float(self.rate), self.tokens + (now - self.tokens_at) * self.rate)
        self.tokens_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    # --- the API call path --------------------------------------------------------------------

    def api_call(self, method, path, query, body, content_type, host):
        """Runs one API request. Returns (http status, JSON bytes or None to reset, request id)."""
        rid = new_request_id()
        entry = {"t": time.time(), "action": None, "region": None, "params": {}, "status": None,
                 "code": None, "request_id": rid, "fault": None, "applied": False, "host": host}
        host_id = host.split(":")[0] if host else "ecs.aliyuncs.com"
        try:
            if path == "/":
                version, actions = API_VERSION, self.actions
            elif path in launchsources.ESS_PATHS:
                version, actions = launchsources.ESS_API_VERSION, self.ess_actions
                host_id = host.split(":")[0] if host else "ess.aliyuncs.com"
                entry["api"] = "ess"
            else:
                raise ApiError(404, "InvalidAction.NotFound",
                               "Requests go to path / (ECS) or /ess/ (Auto Scaling), not %s." % path)
            params = parse_request_params(query, body if method == "POST" else b"", content_type)
            entry["action"] = params.get("Action")
            entry["region"] = params.get("RegionId")
            entry["params"] = {k: ("<redacted>" if k == "SecurityToken" else v)
                               for k, v in params.items() if k != "Signature"}
            if "Signature" in params and len(self.signatures) < 100000:
                self.signatures.append(params["Signature"])
            check_common_params(params, version)
            action = actions.get(params["Action"])
            if action is None:
                raise ApiError(404, "InvalidAction.NotFound",
                               "Specified api is not found, please check your url and method.")
            with self.lock:
                self._authenticate(method, params, time.time())
                if not self._take_token():
                    raise ApiError(*FAULT_ERRORS["throttle"])
                if params["Action"] in self.denied:
                    raise ApiError(*FORBIDDEN_RAM)
                fault = self._take_fault(params["Action"])
        except ApiError as e:
            if self.latency > 0:
                time.sleep(self.latency)
            with self.lock:
                self._finish(entry, e.status, e.code)
            return e.status, error_body(rid, host_id, e), rid
        entry["fault"] = fault
        delay = self.latency + (fault_delay(fault) if fault else 0.0)
        with self.lock:
            self.in_flight[params["Action"]] += 1
        if delay > 0:
            time.sleep(delay)
        with self.lock:
            self.in_flight[params["Action"]] -= 1
            return self._run(action, params, entry, fault, rid, host_id)

    def _run(self, action, params, entry, fault, rid, host_id):
        if fault == "reset_before":
            self._finish(entry, None, None)
            return None, None, rid
        self._advance(time.time())
        try:
            if fault in FAULT_ERRORS:
                raise ApiError(*FAULT_ERRORS[fault])
            answer = action(params, entry)
            answer = dict(RequestId=rid, **answer)
            status, code, payload = 200, None, json_bytes(answer)
        except ApiError as e:
            status, code, payload = e.status, e.code, error_body(rid, host_id, e)
        except Exception:                       # an emulator bug: make it loud
            traceback.print_exc()
            self.internal_errors += 1
            e = ApiError(500, "InternalError", "emulator bug, see its stderr")
            status, code, payload = e.status, e.code, error_body(rid, host_id, e)
        if fault == "reset_after":
            self._finish(entry, None, code)
            return None, None, rid
        self._finish(entry, status, code)
        return status, payload, rid

    def _region(self, params):
        region = params.get("RegionId")
        if not region:
            raise missing("RegionId")
        if region not in self.by_region:
            raise ApiError(404, "InvalidRegionId.NotFound",
                           "The specified RegionId does not exist.")
        return region

    # --- actions (each returns the answer without RequestId; entry is the log line) -----------

    def _describe_regions(self, params, entry):
        return {"Regions": {"Region": [
            {"RegionId": r, "LocalName": LOCAL_NAMES.get(r, r),
             "RegionEndpoint": "ecs.%s.aliyuncs.com" % r} for r in self.regions]}}

    def _describe_keypairs(self, params, entry):
        region = self._region(params)
        page_number = int_param(params, "PageNumber", 1, 1, 1 << 30)
        page_size = int_param(params, "PageSize", 10, 1, 50)
        include = bool_param(params, "IncludePublicKey")
        pattern = params.get("KeyPairName", "")
        fingerprint = params.get("KeyPairFingerPrint", "")
        table = self.keypairs[region]
        if pattern and "*" not in pattern:
            found = [table[pattern]] if pattern in table else []
        elif pattern:
            rx = wildcard_regex(pattern)
            found = [kp for kp in table.values() if rx.match(kp.name)]
        else:
            found = list(table.values())
        if fingerprint:
            found = [kp for kp in found if kp.fingerprint == fingerprint]
        page = found[(page_number - 1) * page_size:page_number * page_size]
        return {"TotalCount": len(found), "PageNumber": page_number, "PageSize": page_size,
                "KeyPairs": {"KeyPair": [kp.to_api(include) for kp in page]}}

    def _describe_instances(self, params, entry):
        region = self._region(params)
        ids = id_array_param(params, "InstanceIds", 100, "InvalidInstanceIds.Malformed")
        kp_name = params.get("KeyPairName", "")
        status = params.get("Status", "")
        if status and status not in STATUSES:
            raise invalid("Status", "InvalidStatus.ValueNotSupported")
        if ids is not None:
            cands = sorted({self.instances[i].seq for i in ids
                            if i in self.instances and self.instances[i].region == region})
        elif kp_name:
            cands = self.by_kp.get((region, kp_name), [])
        else:
            cands = self.by_region[region]
        filtered = bool(status) or (ids is not None and bool(kp_name))

        def wanted(inst):
            return ((not kp_name or inst.key_pair_name == kp_name)
                    and (not status or inst.status == status))

        if "PageNumber" in params or "PageSize" in params:
            page_number = int_param(params, "PageNumber", 1, 1, 1 << 30)
            page_size = int_param(params, "PageSize", 10, 1, 100)
            matches = [s for s in cands if wanted(self.by_seq[s])] if filtered else cands
            page = [self.by_seq[s] for s in matches[(page_number - 1) * page_size:
                                                    page_number * page_size]]
            return {"Instances": {"Instance": [i.to_api() for i in page]}, "NextToken": "",
                    "TotalCount": len(matches), "PageNumber": page_number, "PageSize": page_size}
        max_results = int_param(params, "MaxResults", 10, 1, 100)
        query_key = "%s|%s|%s|%s" % (region, kp_name, status, ids)
        if self.offset_paging:
            return self._instances_page_at_offset(cands, filtered, wanted, max_results, params,
                                                  query_key)
        i = bisect.bisect_left(cands, decode_next_token(params.get("NextToken", ""), query_key))
        page, next_token = [], ""
        while i < len(cands):
            inst = self.by_seq[cands[i]]
            if not filtered or wanted(inst):
                if len(page) == max_results:
                    next_token = encode_next_token(inst.seq, query_key)
                    break
                page.append(inst)
            i += 1
        # TotalCount is meaningless in NextToken mode (as documented): the candidate count.
        return {"Instances": {"Instance": [i.to_api() for i in page]}, "NextToken": next_token,
                "TotalCount": len(cands), "MaxResults": max_results}

    def _instances_page_at_offset(self, cands, filtered, wanted, max_results, params, query_key):
        """--paging offset: NextToken is a position in the current listing, like PageNumber, so
        instances that leave the listing between two pages shift the later ones forward."""
        matches = [s for s in cands if wanted(self.by_seq[s])] if filtered else cands
        offset = decode_next_token(params.get("NextToken", ""), query_key)
        page = [self.by_seq[s] for s in matches[offset:offset + max_results]]
        end = offset + max_results
        next_token = encode_next_token(end, query_key) if end < len(matches) else ""
        return {"Instances": {"Instance": [i.to_api() for i in page]}, "NextToken": next_token,
                "TotalCount": len(cands), "MaxResults": max_results}

    def _detach_keypair(self, params, entry):
        region = self._region(params)
        kp_name = params.get("KeyPairName")
        if not kp_name:
            raise missing("KeyPairName")
        entry["key_pair"] = kp_name
        if not params.get("InstanceIds"):
            raise missing("InstanceIds")
        ids = id_array_param(params, "InstanceIds", 50, "InvalidInstanceIds.ValueNotSupported")
        entry["instances"] = ids
        if not ids:
            raise invalid("InstanceIds", "InvalidInstanceIds.ValueNotSupported")
        if kp_name not in self.keypairs[region]:
            raise ApiError(404, "InvalidKeyPairName.NotFound",
                           "The specified KeyPairName does not exist.")
        found = [self.instances.get(i) for i in ids]
        found = [i if i is not None and i.region == region else None for i in found]
        if any(i is not None and i.os_type == "windows" for i in found):
            raise ApiError(403, "DependencyViolation.WindowsInstance",
                           "The instance creating by window system image is not supported.")
        results, detached = [], []
        for iid, inst in zip(ids, found):
            if inst is None:
                results.append((iid, "InvalidInstanceId.NotFound", INSTANCE_NOT_FOUND, False))
            elif inst.key_pair_name != kp_name:
                results.append((iid, "InvalidKeyPairName.NotBound",
                                "The specified instance is not bound to the specified KeyPairName.",
                                False))
            else:
                self._kp_index_remove(inst)
                inst.key_pair_name = ""
                inst.detached_from.append(kp_name)
                detached.append(iid)
                results.append((iid, "200", "successful", True))
        entry["detached"] = detached
        entry["applied"] = bool(detached)
        return detach_answer(self.detach_style, kp_name, results)

    def _delete_keypairs(self, params, entry):
        region = self._region(params)
        if not params.get("KeyPairNames"):
            raise missing("KeyPairNames")
        names = id_array_param(params, "KeyPairNames", MAX_DELETE_KEYPAIRS,
                               "InvalidKeyPairNames.ValueNotSupported")
        if not names:
            raise invalid("KeyPairNames", "InvalidKeyPairNames.ValueNotSupported")
        entry["key_pairs"] = names
        # Bound instances keep the name (DescribeInstances still shows it); names that do not
        # exist are ignored.
        deleted = [n for n in names if self.keypairs[region].pop(n, None) is not None]
        entry["deleted"] = deleted
        entry["applied"] = bool(deleted)
        return {}

    def _reboot_instance(self, params, entry):
        iid = params.get("InstanceId")
        if not iid:
            raise missing("InstanceId")
        entry["instances"] = [iid]
        force = bool_param(params, "ForceStop")
        dry_run = bool_param(params, "DryRun")
        inst = self.instances.get(iid)
        if inst is None:
            raise ApiError(404, "InvalidInstanceId.NotFound", INSTANCE_NOT_FOUND)
        entry["region"] = inst.region
        for reason in inst.locks:
            if reason in LOCK_ERRORS:
                raise ApiError(403, *LOCK_ERRORS[reason])
        if inst.status != "Running":
            raise ApiError(403, "IncorrectInstanceStatus",
                           "The current status of the resource does not support this operation.")
        if dry_run:
            raise ApiError(400, "DryRunOperation",
                           "Request validation has been passed with DryRun flag set.")
        now = time.time()
        inst.status = "Stopping"
        inst.reboots += 1
        inst.gen += 1
        entry["applied"] = True
        entry["force_stop"] = force
        self.rebooting.add(iid)
        self.max_rebooting = max(self.max_rebooting, len(self.rebooting))
        self._schedule(now + self.reboot_stop, inst, "Starting")
        self._schedule(now + self.reboot_stop + self.reboot_start, inst, "Running")
        return {}

    def _describe_instance_status(self, params, entry):
        region = self._region(params)
        page_number = int_param(params, "PageNumber", 1, 1, 1 << 30)
        page_size = int_param(params, "PageSize", 10, 1, 50)
        numbered = []
        for k, v in params.items():
            m = re.fullmatch(r"InstanceId\.([1-9][0-9]*)", k)
            if m:
                if int(m.group(1)) > 100:
                    raise invalid(k)
                numbered.append((int(m.group(1)), v))
        if numbered:
            seqs = [self.instances[v].seq for _, v in sorted(numbered)
                    if v in self.instances and self.instances[v].region == region]
        else:
            seqs = self.by_region[region]
        page = seqs[(page_number - 1) * page_size:page_number * page_size]
        return {"TotalCount": len(seqs), "PageNumber": page_number, "PageSize": page_size,
                "InstanceStatuses": {"InstanceStatus": [
                    {"InstanceId": self.by_seq[s].id, "Status": self.by_seq[s].status}
                    for s in page]}}

    # --- metadata service ---------------------------------------------------------------------

    def metadata_request(self, method, path, headers):
        """Returns (status, content type, bytes), or None to reset the connection."""
        with self.lock:
            self.metadata_calls += 1
            fault = self._take_fault(METADATA_FAULT_ACTION)
        if fault:
            time.sleep(fault_delay(fault))
            if fault.startswith("reset"):
                return None
            if fault in FAULT_ERRORS:
                return FAULT_ERRORS[fault][0], "text/plain", FAULT_ERRORS[fault][2].encode()
        now = time.time()
        with self.lock:
            self.metadata_tokens = {t: e for t, e in self.metadata_tokens.items() if e > now}
            if path == "/latest/api/token":
                if method != "PUT":
                    return 405, "text/plain", b"Method Not Allowed\n"
                ttl = headers.get("X-aliyun-ecs-metadata-token-ttl-seconds", "")
                if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                    return 400, "text/plain", b"Bad Request\n"
                token = base64.urlsafe_b64encode(secrets.token_bytes(40)).decode()
                self.metadata_tokens[token] = now + int(ttl)
                return 200, "text/plain", token.encode()
            if method != "GET":
                return 405, "text/plain", b"Method Not Allowed\n"
            if headers.get("X-aliyun-ecs-metadata-token", "") not in self.metadata_tokens:
                return 401, "text/plain", b"Unauthorized\n"
            prefix = "/latest/meta-data/ram/security-credentials/"
            if path == prefix:
                if not self.roles:
                    return 404, "text/plain", b"Not Found\n"
                return 200, "text/plain", "\n".join(self.roles).encode()
            if path.startswith(prefix) and path[len(prefix):] in self.roles:
                return 200, "application/json", json_bytes(self._issue_sts(now))
            return 404, "text/plain", b"Not Found\n"

    def _issue_sts(self, now):
        key_id = "STS.NT" + secrets.token_hex(10)
        secret = base64.b64encode(secrets.token_bytes(24)).decode()
        token = base64.b64encode(secrets.token_bytes(240)).decode()
        expiry = now + self.sts_lifetime
        self.sts[key_id] = (secret, token, expiry)
        return {"AccessKeyId": key_id, "AccessKeySecret": secret, "SecurityToken": token,
                "Expiration": fmt_second(expiry), "LastUpdated": fmt_second(now), "Code": "Success"}

    # --- control API --------------------------------------------------------------------------

    def control_get(self, path, query):
        with self.lock:
            self._advance(time.time())
            if path == "/state":
                state = {"calls_by_action": dict(self.calls_by_action),
                         "errors_by_code": dict(self.errors_by_code),
                         "max_concurrent_rebooting": self.max_rebooting,
                         "rebooting": sorted(self.rebooting), "throttled": self.throttled,
                         "metadata_calls": self.metadata_calls, "calls": len(self.calls),
                         "internal_errors": self.internal_errors,
                         "in_flight": {a: n for a, n in self.in_flight.items() if n > 0}}
                if query.get("instances", "1") != "0":
                    state["instances"] = {i.id: i.to_state() for i in self.by_seq}
                return 200, state
            if path == "/calls":
                return 200, self.calls[int(query.get("since", "0")):]
            if path == "/ca":
                return 200, self.ca._control_state(query)
            if path == "/launch-sources":
                return 200, self.sources._control_state()
            if path == "/keypairs":
                return 200, {r: {kp.name: {"public_key": kp.public_key,
                                           "fingerprint": kp.fingerprint}
                                 for kp in t.values()} for r, t in self.keypairs.items()}
            if path == "/secrets":
                return 200, {"access_key_secrets": list(self.credentials.values()),
                             "sts": [{"access_key_id": k, "access_key_secret": v[0],
                                      "security_token": v[1]} for k, v in self.sts.items()],
                             "metadata_tokens": list(self.metadata_tokens),
                             "signatures": list(self.signatures)}
            if path == "/idle":
                return 200, {"rebooting": len(self.rebooting),
                             "pending_transitions": len(self.heap),
                             "last_call_age": time.monotonic() - self.last_call}
        return 404, {"error": "unknown path %s" % path}

    def control_post(self, path, body):
        with self.lock:
            if path == "/fault":
                self._add_fault(body["action"], body["kind"], int(body.get("count", 1)))
                return 200, {"faults": {k: list(map(list, v)) for k, v in self.faults.items()}}
            if path == "/instances":
                self._add_instance(body, time.time())
                self.ca._instance_spec(body)
                return 200, self.instances[body["id"]].to_state()
            if path == "/ca/instance":
                return 200, self.ca._control_set(body)
            if path == "/keypairs":
                self._add_keypair(body, time.time())
                return 200, {"region": body["region"], "name": body["name"],
                             "fingerprint": self.keypairs[body["region"]][body["name"]].fingerprint}
            if path == "/config":
                return 200, self._configure(body)
            answer = self.sources._control_post(path, body)
            if answer is not None:
                return answer
        return 404, {"error": "unknown path %s" % path}

    def _configure(self, body):
        if "detach_answer_style" in body:
            if body["detach_answer_style"] not in DETACH_STYLES:
                raise ValueError("bad detach_answer_style")
            self.detach_style = body["detach_answer_style"]
        if "latency_ms" in body:
            self.latency = int(body["latency_ms"]) / 1000.0
        if "rate_limit" in body:
            self.rate = int(body["rate_limit"])
            self.tokens = float(self.rate)
        if "sts_lifetime_seconds" in body:
            self.sts_lifetime = int(body["sts_lifetime_seconds"])
        if "denied_actions" in body:
            self.denied = set(body["denied_actions"])
        return {"detach_answer_style": self.detach_style, "latency_ms": int(self.latency * 1000),
                "rate_limit": self.rate, "sts_lifetime_seconds": self.sts_lifetime,
                "denied_actions": sorted(self.denied)}


def detach_answer(style, kp_name, results):
    """DetachKeyPair answer body (without RequestId) in one of the answer styles."""
    if style == "legacy":
        return {}
    strings = style == "strings"
    fails = sum(1 for r in results if not r[3])
    return {"KeyPairName": kp_name,
            "TotalCount": str(len(results)) if strings else len(results),
            "FailCount": str(fails) if strings else fails,
            "Results": {"Result": [
                {"InstanceId": iid, "Code": code, "Message": msg,
                 "Success": ("true" if ok else "false") if strings else ok}
                for iid, code, msg, ok in results]}}


def encode_next_token(seq, query_key):
    return "%x%08x" % (seq, zlib.crc32(query_key.encode()))


def decode_next_token(token, query_key):
    """Sequence number a NextToken resumes at (0 for none); the token must belong to the query."""
    if not token:
        return 0
    if (len(token) < 9 or not re.fullmatch(r"[0-9a-f]+", token)
            or int(token[-8:], 16) != zlib.crc32(query_key.encode())):
        raise invalid("NextToken")
    return int(token[:-8], 16)


def parse_request_params(query, body, content_type):
    """Query and form-body parameters as one dict (body wins on duplicates)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        if body:
            if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
                raise ApiError(400, "InvalidParameter",
                               "POST bodies must be application/x-www-form-urlencoded.")
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ApiError(400, "InvalidParameter", "Parameters must be UTF-8.") from None
    return dict(pairs)


def check_common_params(params, version=API_VERSION):
    """Common parameters present and valid (signature and credentials are checked later)."""
    for name in ("Action", "Format", "Version", "AccessKeyId", "SignatureMethod",
                 "SignatureVersion", "SignatureNonce", "Timestamp", "Signature"):
        if not params.get(name):
            raise missing(name)
    for name, value in (("Format", "JSON"), ("Version", version),
                        ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0")):
        if params[name] != value:
            raise invalid(name)
    ts = parse_utc(params["Timestamp"])
    if ts is None:
        raise ApiError(400, "InvalidTimeStamp.Format",
                       "Specified time stamp or date value is not well formatted.")
    if abs(time.time() - ts) > TIMESTAMP_SKEW_SEC:
        raise ApiError(400, "InvalidTimeStamp.Expired",
                       "Specified time stamp or date value is expired.")


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(rid, host_id, e):
    return json_bytes({"RequestId": rid, "HostId": host_id, "Code": e.code, "Message": e.message,
                       "Recommend": "https://api.aliyun.com/troubleshoot?q=%s&product=Ecs"
                                    "&requestId=%s" % (e.code, rid)})


# ---------------------------------------------------------------------------------------------
# HTTP servers


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_IDLE_SEC

    def version_string(self):
        return "ecs-emulator"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.server.label, fmt % args))

    def reply(self, status, content_type, payload, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def read_body(self):
        """The request body, or None after answering an unacceptable one."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self.reply(411, "text/plain", b"Length Required\n")
            return None
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            self.reply(413, "text/plain", b"Payload Too Large\n")
            return None
        return self.rfile.read(int(length))


class ApiHandler(QuietHandler):
    reset = False

    def do_GET(self):
        self.api("GET")

    def do_POST(self):
        self.api("POST")

    def api(self, method):
        body = self.read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        status, payload, rid = self.server.emu.api_call(
            method, url.path, url.query, body, self.headers.get("Content-Type", ""),
            self.headers.get("Host", ""))
        if payload is None:
            self.reset = True
            self.close_connection = True
            return
        self.reply(status, "application/json;charset=utf-8", payload, (("x-acs-request-id", rid),))


class MetadataHandler(QuietHandler):
    reset = False

    def do_GET(self):
        self.metadata("GET")

    def do_PUT(self):
        self.metadata("PUT")

    def metadata(self, method):
        if self.read_body() is None:
            return
        answer = self.server.emu.metadata_request(method, urlsplit(self.path).path, self.headers)
        if answer is None:
            self.reset = True
            self.close_connection = True
            return
        self.reply(*answer)


class ControlHandler(QuietHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        self.answer(lambda: self.server.emu.control_get(url.path, dict(parse_qsl(url.query))))

    def do_POST(self):
        body = self.read_body()
        if body is not None:
            path = urlsplit(self.path).path
            self.answer(lambda: self.server.emu.control_post(path, json.loads(body or b"{}")))

    def answer(self, fn):
        try:
            status, obj = fn()
        except (ValueError, KeyError, TypeError) as e:
            status, obj = 400, {"error": "%s: %s" % (type(e).__name__, e)}
        self.reply(status, "application/json", json_bytes(obj))


def server_class(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(ThreadingHTTPServer):
        address_family = family
        daemon_threads = True
        request_queue_size = 512
        ssl_ctx = None

        def finish_request(self, request, client_address):
            conn = request
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_ctx is not None:
                request.settimeout(CONNECTION_IDLE_SEC)
                try:
                    conn = self.ssl_ctx.wrap_socket(request, server_side=True)
                except OSError:
                    return
            handler = None
            try:
                handler = self.RequestHandlerClass(conn, client_address, self)
            finally:
                if getattr(handler, "reset", False):
                    # An RST, not an orderly close: the call gets no answer at all.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                elif conn is not request:
                    conn.close()

        def handle_error(self, request, client_address):
            if self.verbose or not isinstance(sys.exc_info()[1], (OSError, ssl.SSLError)):
                super().handle_error(request, client_address)

    return Server


def make_server(host, port, handler, emu, label, verbose, ssl_ctx=None):
    srv = server_class(host)((host, port), handler)
    srv.emu, srv.label, srv.verbose, srv.ssl_ctx = emu, label, verbose, ssl_ctx
    return srv


def write_atomically(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def self_test():
    ok = True
    for method, params, secret, want_sts, want_sig in KNOWN_ANSWERS:
        if want_sts is not None and string_to_sign(method, params) != want_sts:
            print("FAIL string to sign for %s" % params["Action"])
            ok = False
        got = sign(method, params, secret)
        print("%s %s: %s" % ("ok  " if got == want_sig else "FAIL", params["Action"], got))
        ok = ok and got == want_sig
    checks = (
        (percent_encode("a b*~/+é"), "a%20b%2A~%2F%2B%C3%A9"),
        (bool(wildcard_regex("kp-*-prod").match("kp-12-prod")), True),
        (bool(wildcard_regex("kp-*").match("kq-1")), False),
        (bool(wildcard_regex("kp.1").match("kpx1")), False),
        (parse_fault_spec("DetachKeyPair:latency:250:3"), ("DetachKeyPair", "latency:250", 3)),
        (parse_utc("2016-02-23T12:46:24Z"), 1456231584.0),
        (parse_utc("2016-02-23T12:46Z"), None),
        (decode_next_token(encode_next_token(1234, "q"), "q"), 1234),
    )
    for i, (got, want) in enumerate(checks):
        if got != want:
            print("FAIL check %d: %r != %r" % (i, got, want))
            ok = False
    ok = cloudassist.self_test() and ok
    ok = launchsources.self_test() and ok
    print("self-test: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def loopback(host):
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fleet")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--control-port-file")
    ap.add_argument("--metadata-port-file")
    ap.add_argument("--log")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--rate-limit", type=int, default=0)
    ap.add_argument("--paging", choices=("cursor", "offset"), default="cursor")
    ap.add_argument("--reboot-seconds", default="1,1")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    cloudassist.add_arguments(ap)
    opts = ap.parse_args(argv)
    if opts.self_test:
        return opts
    if not (opts.fleet and opts.cert and opts.key):
        ap.error("--fleet, --cert and --key are required")
    if not loopback(opts.listen):
        ap.error("--listen must be a loopback address")
    try:
        stop, start = (float(x) for x in opts.reboot_seconds.split(","))
    except ValueError:
        ap.error("--reboot-seconds wants STOP,START")
    opts.reboot_seconds = (stop, start)
    for spec in opts.fault:
        try:
            check_fault_kind(parse_fault_spec(spec)[1])
        except ValueError as e:
            ap.error(str(e))
    return opts


def main(argv):
    opts = parse_args(argv)
    if opts.self_test:
        return self_test()
    with open(opts.fleet, encoding="utf-8") as f:
        emu = Emulator(json.load(f), opts)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)
    api = make_server(opts.listen, opts.port, ApiHandler, emu, "api", opts.verbose, ctx)
    control = make_server("127.0.0.1", 0, ControlHandler, emu, "control", opts.verbose)
    metadata = make_server("127.0.0.1", 0, MetadataHandler, emu, "metadata", opts.verbose)

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    for target in (emu.scheduler_loop, control.serve_forever, metadata.serve_forever):
        threading.Thread(target=target, daemon=True).start()
    # The API port file comes last: once it exists, every listener is up.
    for path, srv in ((opts.metadata_port_file, metadata), (opts.control_port_file, control),
                      (opts.port_file, api)):
        if path:
            write_atomically(path, "%d\n" % srv.server_address[1])
    if opts.verbose:
        sys.stderr.write("ecs-emulator: api %d control %d metadata %d, %d instances\n"
                         % (api.server_address[1], control.server_address[1],
                            metadata.server_address[1], len(emu.instances)))
    try:
        api.serve_forever(poll_interval=0.2)
    finally:
        with emu.lock:
            emu.stopping = True
            emu.cond.notify()
            if emu.log_file:
                emu.log_file.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
