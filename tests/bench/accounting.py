"""Call accounting of the benchmark: the minimum number of API calls a fleet and a revocation list
need, and what the emulator's call log says was actually sent. Standard library only."""

import json
import math
import shlex
from collections import Counter

KEYPAIR_PAGE = 50           # DescribeKeyPairs PageSize maximum
INSTANCE_PAGE = 100         # DescribeInstances MaxResults maximum
DETACH_BATCH = 50           # DetachKeyPair InstanceIds maximum
ACTIONS = ("DescribeRegions", "DescribeKeyPairs", "DescribeInstances", "DetachKeyPair")
KEY_PREFIXES = ("ssh-", "ecdsa-sha2-", "sk-")
# Parameters that differ between two sendings of the same request.
VOLATILE_PARAMS = ("SignatureNonce", "Timestamp", "Signature")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def entry_regions(line, all_regions):
    """Regions a revocation list line applies to (its region= option, else every region)."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        return set(all_regions)
    if not tokens or tokens[0].startswith(KEY_PREFIXES):
        return set(all_regions)        # a public key line: the rest is a comment
    for tok in tokens[1:]:
        if tok.startswith("region="):
            return set(tok[len("region="):].split(",")) & set(all_regions)
    return set(all_regions)


def list_regions(list_path, all_regions):
    """Regions in which at least one entry of the list applies."""
    regions = set()
    with open(list_path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if line and not line.startswith("#"):
                regions |= entry_regions(line, all_regions)
    return regions


def minimum_calls(fleet, list_path, expect, regions_configured):
    """The fewest calls that enforce the list on the fleet, per action, with the inputs of each
    term: {"terms": {action: calls}, "regions", "keypairs_by_region", "targets": [...]}."""
    all_regions = fleet["regions"]
    regions = sorted(list_regions(list_path, all_regions))
    kp_count = Counter(kp["region"] for kp in fleet["keypairs"])
    bound, linux = Counter(), Counter()
    for inst in fleet["instances"]:
        key = (inst["region"], inst["key_pair_name"])
        bound[key] += 1
        if inst["os_type"] != "windows":
            linux[key] += 1
    targets = [{"region": r, "keypair": n, "instances": bound[(r, n)], "linux": linux[(r, n)],
                "pages": max(1, math.ceil(bound[(r, n)] / INSTANCE_PAGE)),
                "detaches": math.ceil(linux[(r, n)] / DETACH_BATCH)}
               for r, n in sorted(tuple(x) for x in expect["revoked_keypairs"])]
    terms = {
        "DescribeRegions": 0 if regions_configured else 1,
        "DescribeKeyPairs": sum(max(1, math.ceil(kp_count[r] / KEYPAIR_PAGE)) for r in regions),
        "DescribeInstances": sum(t["pages"] for t in targets),
        "DetachKeyPair": sum(t["detaches"] for t in targets),
    }
    return {"terms": terms, "regions": regions,
            "keypairs_by_region": {r: kp_count[r] for r in regions}, "targets": targets}


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


def detached_instances(calls):
    """Instance ids whose key pair an applied DetachKeyPair removed."""
    ids = set()
    for c in calls:
        if c["action"] == "DetachKeyPair":
            ids.update(c.get("detached") or [])
    return ids


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
