#!/usr/bin/python3
"""Small fleets for the integration tests, written as the emulator's fleet JSON.

fleetgen.py OUT REGION:KEYPAIR:COUNT[:windows=N][:hidden=N] ... [--other REGION:COUNT]
Each spec binds COUNT Linux instances of REGION to KEYPAIR (N of them Windows, and N Windows
ones listed as linux: DetachKeyPair alone tells them); --other adds instances bound to
kp-unrelated. Instance ids are i-KEYPAIR-NNNN.
"""
import base64
import hashlib
import json
import sys


def public_key(name):
    blob = b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + hashlib.sha256(name.encode()).digest()
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


def main(argv):
    out, specs, others = argv[0], [], []
    args = iter(argv[1:])
    for a in args:
        (others if a == "--other" else specs).append(next(args) if a == "--other" else a)
    regions, keypairs, instances = set(), [], []
    for spec in specs:
        region, kp, count, *opts = spec.split(":")
        extra = dict(o.split("=") for o in opts)
        regions.add(region)
        keypairs.append({"region": region, "name": kp, "public_key": public_key(kp)})
        windows, hidden = int(extra.get("windows", 0)), int(extra.get("hidden", 0))
        for n in range(int(count)):
            inst = {"id": "i-%s-%04d" % (kp, n), "region": region, "os_type": "linux", "status": "Running",
                    "key_pair_name": kp}
            if n < windows + hidden:
                inst["os_type"] = "windows"
            if windows <= n < windows + hidden:
                inst["listed_os_type"] = "linux"
            instances.append(inst)
    for spec in others:
        region, count = spec.split(":")
        regions.add(region)
        keypairs.append({"region": region, "name": "kp-unrelated", "public_key": public_key(region)})
        instances += [{"id": "i-other-%s-%04d" % (region, n), "region": region, "os_type": "linux",
                       "status": "Running", "key_pair_name": "kp-unrelated"} for n in range(int(count))]
    fleet = {"regions": sorted(regions),
             "credentials": [{"access_key_id": "testid", "access_key_secret": "testsecret"}],
             "keypairs": keypairs, "instances": instances}
    with open(out, "w") as f:
        json.dump(fleet, f)


if __name__ == "__main__":
    main(sys.argv[1:])
