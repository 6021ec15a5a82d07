"""Call accounting of the benchmark: the minimum number of API calls a fleet and a revocation list
need, and what the emulator's call log says was actually sent. Standard library only."""

import json
import math
import shlex
from collections import Counter

KEYPAIR_PAGE = 50           # DescribeKeyPairs PageSize maximum
INSTANCE_PAGE = 100         # DescribeInstances MaxResults maximum
DETACH_BATCH = 50           # DetachKeyPair InstanceIds maximum
CONTAIN_BATCH = 50          # RunCommand InstanceId.N, DescribeCloudAssistantStatus and
                            # DescribeInvocationResults page maximum
CONTAIN_ACTIONS = ("DescribeCloudAssistantStatus", "RunCommand", "DescribeInvocationResults")
ACTIONS = ("DescribeRegions", "DescribeKeyPairs", "DescribeInstances", "DetachKeyPair")
KEY_PREFIXES = ("ssh-", "ecdsa-sha2-", "sk-")
# Parameters that differ between two sendings of the same request.
VOLATILE_PARAMS = ("SignatureNonce", "Timestamp", "Signature")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def list_entries(list_path, all_regions):
    """The list's entries as (kind, name or None, regions it applies to); kind is "name" or "key"
    (a public key or a fingerprint, resolved through DescribeKeyPairs)."""
    entries = []
    with open(list_path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                tokens = shlex.split(line)
            except ValueError:
                tokens = line.split()
            if tokens[0].startswith(KEY_PREFIXES):
                entries.append(("key", None, set(all_regions)))   # the rest is a comment
                continue
            regions = set(all_regions)
            for tok in tokens[1:]:
                if tok.startswith("region="):
                    regions = set(tok[len("region="):].split(",")) & set(all_regions)
            is_fp = tokens[0].startswith(("SHA256:", "MD5:"))
            entries.append(("key" if is_fp else "name", None if is_fp else tokens[0], regions))
    return entries


def pages(n, size):
    """Calls to read n items at size per page: an empty answer is one call too."""
    return max(1, math.ceil(n / size))


def region_minimum(r, entries, kp_count, region_size, targets, bound, contain):
    """The cheapest way to discover a region's revoked instances: {"strategy", "DescribeKeyPairs",
    "DescribeInstances"}. Key and fingerprint entries need the key pair list; with it, the revoked
    key pairs are known and listed one by one, or the whole region is listed and matched locally.
    Names alone can go without it: each name is listed (a missing one costs an empty page); not
    with containment, which sends the key pairs' public keys. "probe" is the page a first run,
    which does not know the region's size, spends to learn it where listing by key pair wins
    (where the listing wins, that page is its first; with one key pair to list, listing it by
    name never costs more, so nothing needs to be learnt)."""
    applies = [e for e in entries if r in e[2]]
    if not applies:
        return {"strategy": "none", "DescribeKeyPairs": 0, "DescribeInstances": 0, "probe": 0}
    whole = pages(region_size, INSTANCE_PAGE)
    per_kp = sum(pages(bound[(r, n)], INSTANCE_PAGE) for n in targets)
    dkp = pages(kp_count, KEYPAIR_PAGE)
    options = [(dkp + per_kp, "key pairs listed, then by key pair", dkp, per_kp),
               (dkp + whole, "key pairs listed, then whole region", dkp, whole)]
    if not contain and all(e[0] == "name" for e in applies):
        by_name = sum(pages(bound[(r, n)], INSTANCE_PAGE) for n in {e[1] for e in applies})
        options += [(by_name, "by key pair name", 0, by_name), (whole, "whole region", 0, whole)]
    _, strategy, dkp_calls, di_calls = min(options, key=lambda o: o[0])
    listed = len(targets) if dkp_calls else len({e[1] for e in applies})
    return {"strategy": strategy, "DescribeKeyPairs": dkp_calls, "DescribeInstances": di_calls,
            "probe": 1 if "by key pair" in strategy and listed > 1 else 0}


def minimum_calls(fleet, list_path, expect, regions_configured, contain=False):
    """The fewest calls that enforce the list on the fleet, with the best discovery strategy in
    each region: {"terms": {action: calls}, "regions": {region: {...its terms and inputs}},
    "targets": [{"region", "keypair", "instances", "linux", "pages", "detaches"}], "probes": the
    pages a first run adds to learn the region sizes}. With contain, the key pairs are listed in
    every region the list applies to (their keys are sent)."""
    all_regions = fleet["regions"]
    entries = list_entries(list_path, all_regions)
    kp_count = Counter(kp["region"] for kp in fleet["keypairs"])
    region_size, bound, linux = Counter(), Counter(), Counter()
    for inst in fleet["instances"]:
        key = (inst["region"], inst["key_pair_name"])
        region_size[inst["region"]] += 1
        bound[key] += 1
        if inst["os_type"] != "windows":
            linux[key] += 1
    targets = [{"region": r, "keypair": n, "instances": bound[(r, n)], "linux": linux[(r, n)],
                "pages": pages(bound[(r, n)], INSTANCE_PAGE),
                "detaches": math.ceil(linux[(r, n)] / DETACH_BATCH)}
               for r, n in sorted(tuple(x) for x in expect["revoked_keypairs"])]
    regions = {}
    for r in all_regions:
        mine = [t for t in targets if t["region"] == r]
        m = region_minimum(r, entries, kp_count[r], region_size[r], [t["keypair"] for t in mine],
                           bound, contain)
        m.update({"DetachKeyPair": sum(t["detaches"] for t in mine), "keypairs": kp_count[r],
                  "instances": region_size[r], "revoked": len(mine),
                  "linux": sum(t["linux"] for t in mine)})
        regions[r] = m
    terms = {"DescribeRegions": 0 if regions_configured else 1}
    for a in ACTIONS[1:]:
        terms[a] = sum(m[a] for m in regions.values())
    return {"terms": terms, "regions": regions, "targets": targets,
            "probes": sum(m["probe"] for m in regions.values())}


def containment_calls(fleet, expect):
    """The fewest Cloud Assistant calls that contain the expected instances ([Contain] Scope=bound:
    one key set per region): per region, the agents of every Running Linux instance in scope
    looked at, and the online ones sent the command and their results read once, 50 a call.
    {region: {action: calls, "instances": in scope, "online": ...}}."""
    region_of = {i["id"]: i["region"] for i in fleet["instances"]}
    online = Counter(region_of[i] for i in expect["contain"])
    scope = online + Counter(region_of[i] for i in expect["contain_agent_offline"])
    out = {}
    for r in fleet["regions"]:
        batches = math.ceil(online[r] / CONTAIN_BATCH)
        out[r] = {"DescribeCloudAssistantStatus": math.ceil(scope[r] / CONTAIN_BATCH),
                  "RunCommand": batches, "DescribeInvocationResults": batches,
                  "instances": scope[r], "online": online[r]}
    return out


def parse_calls(lines):
    """The API call lines among emulator log lines (reboot events and torn lines left out)."""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "action" in entry:
            yield entry


def read_log(path):
    with open(path, encoding="utf-8") as f:
        return list(parse_calls(f))


def is_throttled(call):
    return (call.get("code") or "").startswith("Throttling")


def by_action(calls):
    return Counter(c["action"] or "(none)" for c in calls)


def request_key(call):
    params = call.get("params") or {}
    return (call["action"], call.get("region"),
            tuple(sorted((k, v) for k, v in params.items() if k not in VOLATILE_PARAMS)))


def repeated_requests(calls):
    """Per action, how many calls repeated an earlier identical request (retries, re-reads)."""
    seen, repeats = set(), Counter()
    for c in calls:
        key = request_key(c)
        if key in seen:
            repeats[c["action"]] += 1
        seen.add(key)
    return repeats


def outcome(instances, expect):
    """The emulator's final instance state against the expectation: {"detached": expected ones
    detached, "expected", "missing": [ids], "unexpected": [ids detached that should not be]}."""
    want = set(expect["detach"])
    done = {i for i, s in instances.items() if s["detached_from"]}
    return {"detached": len(done & want), "expected": len(want), "missing": sorted(want - done),
            "unexpected": sorted(done - want)}


def detach_batch_sizes(calls):
    """Histogram of the InstanceIds count of the DetachKeyPair calls that were answered 200."""
    return Counter(len(c.get("instances") or []) for c in calls
                   if c["action"] == "DetachKeyPair" and c.get("status") == 200)


def calls_per_second(calls, t0):
    """Calls answered in each whole second after t0 (the pacing, second by second)."""
    if not calls:
        return []
    per = Counter(int(c["t"] - t0) for c in calls)
    return [per[i] for i in range(max(per) + 1)]


def busy_span(calls):
    """(first, last) call time of the log, or None when it is empty."""
    if not calls:
        return None
    times = [c["t"] for c in calls]
    return min(times), max(times)
