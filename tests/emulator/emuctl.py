#!/usr/bin/python3
"""Small client of the ECS emulator's control port (and a request signer) for shell tests.

  emuctl.py --control-port-file F state [--no-instances]
  emuctl.py --control-port-file F calls [--since N]
  emuctl.py --control-port-file F fault ACTION KIND COUNT
  emuctl.py --control-port-file F add-instance JSON
  emuctl.py --control-port-file F add-keypair JSON
  emuctl.py --control-port-file F config JSON
  emuctl.py --control-port-file F wait-idle [--quiet SEC] [--timeout SEC]
  emuctl.py --control-port-file F ca-state [--instance ID]
  emuctl.py --control-port-file F ca-agent ID online|offline
  emuctl.py --control-port-file F ca-set JSON
  emuctl.py --control-port-file F keypairs
  emuctl.py --control-port-file F launch-sources
  emuctl.py --control-port-file F launch-template JSON
  emuctl.py --control-port-file F template-version JSON
  emuctl.py --control-port-file F default-version JSON
  emuctl.py --control-port-file F scaling-config JSON
  emuctl.py sign [--id ID --secret S --token T] [--get] Name=Value...   (prints the signed query)

Prints the JSON answer; exits 1 on an HTTP error or a wait-idle timeout."""

import argparse
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def load_emulator():
    """The emulator module, for its signing code (its file name is not importable as is)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ecs-emulator.py")
    spec = importlib.util.spec_from_file_location("ecs_emulator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Launch source commands (launchsources.py) and their control paths.
LAUNCH_SOURCE_PATHS = {"launch-template": "/launch-templates",
                       "template-version": "/launch-templates/versions",
                       "default-version": "/launch-templates/default",
                       "scaling-config": "/scaling-configurations"}

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # loopback: never a proxy


def request(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with OPENER.open(req, timeout=60) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        sys.stderr.write("emuctl: %s %s: HTTP %d %s\n" % (method, path, e.code, e.read().decode()))
        sys.exit(1)


def wait_idle(port, quiet, timeout):
    """Waits until no reboot is in progress and no API call came for quiet seconds."""
    deadline = time.monotonic() + timeout
    while True:
        idle = request(port, "GET", "/idle")
        if idle["rebooting"] == 0 and idle["last_call_age"] >= quiet:
            return idle
        if time.monotonic() >= deadline:
            sys.stderr.write("emuctl: not idle after %gs: %s\n" % (timeout, json.dumps(idle)))
            sys.exit(1)
        time.sleep(0.1)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--control-port-file")
    ap.add_argument("--control-port", type=int)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("state")
    p.add_argument("--no-instances", action="store_true")
    p = sub.add_parser("calls")
    p.add_argument("--since", type=int, default=0)
    p = sub.add_parser("fault")
    p.add_argument("action")
    p.add_argument("kind")
    p.add_argument("count", type=int)
    for name in ("add-instance", "add-keypair", "config"):
        sub.add_parser(name).add_argument("json")
    p = sub.add_parser("wait-idle")
    p.add_argument("--quiet", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("ca-state")
    p.add_argument("--instance")
    p = sub.add_parser("ca-agent")
    p.add_argument("id")
    p.add_argument("state", choices=("online", "offline"))
    sub.add_parser("ca-set").add_argument("json")
    sub.add_parser("keypairs")
    sub.add_parser("launch-sources")
    for name in LAUNCH_SOURCE_PATHS:
        sub.add_parser(name).add_argument("json")
    p = sub.add_parser("sign")
    p.add_argument("--id", default="testid")
    p.add_argument("--secret", default="testsecret")
    p.add_argument("--token")
    p.add_argument("--get", action="store_true", help="sign for GET instead of POST")
    p.add_argument("params", nargs="*")
    opts = ap.parse_args(argv)

    if opts.cmd == "sign":
        emu = load_emulator()
        params = dict(kv.split("=", 1) for kv in opts.params)
        signed = emu.signed_params(params, opts.id, opts.secret, opts.token,
                                   "GET" if opts.get else "POST")
        print("&".join(emu.percent_encode(k) + "=" + emu.percent_encode(v)
                       for k, v in signed.items()))
        return 0

    port = opts.control_port
    if port is None:
        if not opts.control_port_file:
            ap.error("--control-port-file or --control-port is required")
        with open(opts.control_port_file, encoding="ascii") as f:
            port = int(f.read())
    if opts.cmd == "state":
        out = request(port, "GET", "/state" + ("?instances=0" if opts.no_instances else ""))
    elif opts.cmd == "calls":
        out = request(port, "GET", "/calls?since=%d" % opts.since)
    elif opts.cmd == "fault":
        out = request(port, "POST", "/fault", {"action": opts.action, "kind": opts.kind,
                                               "count": opts.count})
    elif opts.cmd == "wait-idle":
        out = wait_idle(port, opts.quiet, opts.timeout)
    elif opts.cmd == "ca-state":
        query = "?" + urllib.parse.urlencode({"instance": opts.instance}) if opts.instance else ""
        out = request(port, "GET", "/ca" + query)
    elif opts.cmd in ("keypairs", "launch-sources"):
        out = request(port, "GET", "/" + opts.cmd)
    elif opts.cmd == "ca-agent":
        out = request(port, "POST", "/ca/instance", {"id": opts.id, "cloud_assistant": opts.state})
    else:
        path = {"add-instance": "/instances", "add-keypair": "/keypairs", "config": "/config",
                "ca-set": "/ca/instance", **LAUNCH_SOURCE_PATHS}
        out = request(port, "POST", path[opts.cmd], json.loads(opts.json))
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
