#!/usr/bin/python3
"""Enforcement benchmark driver: races keyrevoked --once against a hand-written script on
Alibaba's SDK, each on a fresh ECS emulator with the same fleet, latency and rate limit, and prints
calls, throttling, wall time and peak RSS against the minimum and the lower bound. Called by
bench.sh (which provides the namespaces, the work dir, the CA and the SDK)."""

import argparse
import collections
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

import accounting

REGIONS = 5
WINDOWS_PERCENT = 10
KEYPAIRS = 200
SEED = 1
# name: (instances, revoked key pairs out of KEYPAIRS)
SHAPES = {"smoke": (500, 40), "incident": (10000, 40), "rotation": (10000, 200),
          "large": (100000, 40)}
ALL_SHAPES = ("incident", "rotation", "large")
LATENCY_MS = 30
RATE_LIMIT = 50                  # server-side limit, and the daemon's MaxRequestsPerSecond=
BURST = RATE_LIMIT               # the server's bucket holds one second and starts full
MAX_CONCURRENT = 8
CALLS_GOAL = 1.02                # calls <= 1.02 x minimum (retries and throttled calls counted)
WALL_GOAL = 1.10                 # wall <= 1.10 x bound
LATENCY_TARGET_SEC = 1.0
LATENCY_REPS = 5
LATENCY_SHAPE = "incident"
# Exposure (issue 10): name: (instances, key pairs, all of them revoked, so every instance is
# bound). 20 key pairs: a region's revoked keys then fit one command (16 KB of content holds about
# 60 keys besides the script).
EXPOSURE_SHAPES = {"exposure-1k": (1000, 20), "exposure-10k": (10000, 20)}
CA_RUN_SECONDS = 1.0             # the emulator's command run time (RunCommand to final)
CA_OFFLINE_PERCENT = 2           # instances whose agent is offline: contain-failed, not waited for
EXPOSURE_GOAL = 1.2              # exposure <= 1.2 x bound
START_TIMEOUT_SEC = 180          # emulator load of a 100k fleet included
EVENT_TIMEOUT_SEC = 60
POLL_SEC = 0.005
THROTTLES_SHOWN = 5
CREDENTIALS = ("testid", "testsecret")


class BenchError(Exception):
    """A harness failure: the figures of the run cannot be trusted."""


def say(text=""):
    print(text, flush=True)


def tail(path, n=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise BenchError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(POLL_SEC)


def child_env(extra=None):
    """The environment for the contestants: no proxy settings (loopback only, and a proxy would
    change what is measured), no credentials but the ones given."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("ALIBABA_CLOUD_")
           and k != "CREDENTIALS_DIRECTORY"}
    env.update(extra or {})
    return env


def rss_goal_mib(shape):
    return 16 if (SHAPES.get(shape) or EXPOSURE_SHAPES[shape])[0] <= 10000 else 48


# ---- fleet, emulator ---------------------------------------------------------------------------


def make_fleet(opts, shape):
    """Generates (once per work dir) the fleet of a shape; returns its directory."""
    d = os.path.join(opts.workdir, "fleet-" + shape)
    if os.path.exists(os.path.join(d, "expect.json")):
        return d
    os.makedirs(d)
    if shape in EXPOSURE_SHAPES:
        instances, keypairs = EXPOSURE_SHAPES[shape]
        revoked, extra = keypairs, ["--ca-offline-percent", str(CA_OFFLINE_PERCENT)]
    else:
        (instances, revoked), keypairs, extra = SHAPES[shape], KEYPAIRS, []
    cmd = [opts.python, os.path.join(opts.emulator, "make-fleet.py"),
           "--instances", str(instances), "--regions", str(REGIONS),
           "--windows-percent", str(WINDOWS_PERCENT), "--keypairs", str(keypairs),
           "--revoked", str(revoked), "--seed", str(SEED),
           "--out", os.path.join(d, "fleet.json"), "--list-out", os.path.join(d, "revoked.list"),
           "--expect-out", os.path.join(d, "expect.json")] + extra
    if subprocess.call(cmd) != 0:
        raise BenchError("make-fleet.py failed")
    return d


class Emulator:
    """The ECS emulator on a fleet, with its own call log, for one run."""

    def __init__(self, opts, fleet_dir, run_dir, extra=()):
        self.log = os.path.join(run_dir, "calls.jsonl")
        self.stderr = os.path.join(run_dir, "emulator.log")
        port_file = os.path.join(run_dir, "api.port")
        control_file = os.path.join(run_dir, "control.port")
        cmd = [opts.python, os.path.join(opts.emulator, "ecs-emulator.py"),
               "--fleet", os.path.join(fleet_dir, "fleet.json"),
               "--cert", os.path.join(opts.ca, "server.pem"),
               "--key", os.path.join(opts.ca, "server.key"), "--listen", "127.0.0.1",
               "--port-file", port_file, "--control-port-file", control_file,
               "--metadata-port-file", os.path.join(run_dir, "metadata.port"),
               "--log", self.log, "--latency-ms", str(LATENCY_MS),
               "--rate-limit", str(RATE_LIMIT)] + list(extra)
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                         env=child_env())

        def up():
            if self.proc.poll() is not None:
                raise BenchError("the emulator exited (%d):\n%s" % (self.proc.returncode,
                                                                    tail(self.stderr)))
            return os.path.exists(port_file)

        wait_until(up, START_TIMEOUT_SEC, "the emulator")
        with open(port_file, encoding="ascii") as f:
            self.port = int(f.read())
        with open(control_file, encoding="ascii") as f:
            self.control_port = int(f.read())

    def state(self):
        """The control API's GET /state: every instance's key pair and detach history."""
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=60)
        try:
            conn.request("GET", "/state")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise BenchError("emulator control API: GET /state answered %d" % resp.status)
        return json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()
        if "Traceback" in tail(self.stderr, 200):
            raise BenchError("the emulator hit an internal error:\n%s" % tail(self.stderr))


# ---- the contestants ---------------------------------------------------------------------------


class Timed:
    """A contestant's process under /usr/bin/time, whose %M is the process's own peak RSS (a child
    spawned from this Python process would inherit its high-water mark through vfork)."""

    def __init__(self, opts, run_dir, cmd, env, stdout=None):
        self.stderr = os.path.join(run_dir, "stderr.log")
        self.rss_file = os.path.join(run_dir, "rss.txt")
        os.sync()       # earlier steps' dirty data must not slow the contestant's fsyncs
        self.t0 = time.time()
        self.m0 = time.monotonic()
        out = open(stdout, "w") if stdout else subprocess.DEVNULL
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen([opts.time, "-f", "%M", "-o", self.rss_file] + cmd,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        if stdout:
            out.close()
        self.wall = None

    def wait(self, timeout, what):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError("%s did not finish within %gs:\n%s" % (what, timeout,
                                                                    tail(self.stderr)))
        self.wall = time.monotonic() - self.m0
        rc = self.proc.returncode
        if rc not in (0, 2):
            raise BenchError("%s exited with status %d:\n%s" % (what, rc, tail(self.stderr)))
        return rc

    def child_pid(self):
        """The pid of the contestant itself (the child of time), or None."""
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name, encoding="ascii", errors="replace") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                return int(name)
        return None

    def kill(self):
        pid = self.child_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        self.proc.wait()

    def peak_rss_kib(self):
        lines = tail(self.rss_file).split()
        if not lines or not lines[-1].isdigit():
            raise BenchError("no peak RSS from time: %r" % tail(self.rss_file))
        return int(lines[-1])


def write_config(opts, run_dir, port, contain=False):
    """Writes the daemon's config (and credentials, dirs) into run_dir; returns its path."""
    revoked, state = os.path.join(run_dir, "revoked.d"), os.path.join(run_dir, "state")
    os.makedirs(revoked, mode=0o755)
    os.makedirs(state, mode=0o700)
    creds = os.path.join(run_dir, "credentials")
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("[default]\ntype = access_key\naccess_key_id = %s\naccess_key_secret = %s\n"
                % CREDENTIALS)
    conf = os.path.join(run_dir, "keyrevoke.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("[Agent]\nRevocationDirectory=%s\nStateDirectory=%s\nRescanIntervalSec=0\n"
                % (revoked, state))
        f.write("[Cloud]\nEndpoint=https://127.0.0.1:%d\nRegions=\nCAFile=%s\nCredentialsFile=%s\n"
                % (port, os.path.join(opts.ca, "ca.pem"), creds))
        f.write("MaxConcurrentRequests=%d\nMaxRequestsPerSecond=%d\nRequestTimeoutSec=10\n"
                % (MAX_CONCURRENT, RATE_LIMIT))
        # Detaches are measured against the SDK script, which reads no launch source.
        f.write("CheckLaunchSources=no\nScalingEndpoint=https://127.0.0.1:%d/ess\n" % port)
        # No Window=: reboots are queued and never started, only enforcement is measured.
        f.write("[Reboot]\nEnabled=yes\n")
        if contain:
            f.write("[Contain]\nEnabled=yes\nScope=bound\n")
    return conf


def install_list(fleet_dir, run_dir):
    """Puts the fleet's list into the revocation directory: written aside, renamed into place
    (as configuration management does). Returns time.time() taken just before the rename."""
    with open(os.path.join(fleet_dir, "revoked.list"), "rb") as f:
        data = f.read()
    revoked = os.path.join(run_dir, "revoked.d")
    tmp = os.path.join(revoked, ".bench.list.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    t = time.time()
    os.rename(tmp, os.path.join(revoked, "bench.list"))
    return t


def start_keyrevoked(opts, run_dir, fleet_dir, port, known=None):
    """keyrevoked --once; known: a state file to start with (copied into its state directory)."""
    conf = write_config(opts, run_dir, port)
    if known:
        shutil.copy(known, os.path.join(run_dir, "state"))
    install_list(fleet_dir, run_dir)
    return Timed(opts, run_dir, [opts.keyrevoked, "-c", conf, "--once"], child_env())


def start_keyrevoked_warm(opts, run_dir, fleet_dir, port):
    """keyrevoked again on a fresh fleet, with only the region sizes its first run saved
    (StateDirectory/discovery.json): what a host that has run before knows."""
    cold = os.path.join(os.path.dirname(run_dir),
                        os.path.basename(run_dir).replace("-keyrevoked-warm", "-keyrevoked"))
    return start_keyrevoked(opts, run_dir, fleet_dir, port,
                            known=os.path.join(cold, "state", "discovery.json"))


def start_sdk(opts, run_dir, fleet_dir, port):
    env = child_env({"NODE_EXTRA_CA_CERTS": os.path.join(opts.ca, "ca.pem"),
                     "ALIBABA_CLOUD_ACCESS_KEY_ID": CREDENTIALS[0],
                     "ALIBABA_CLOUD_ACCESS_KEY_SECRET": CREDENTIALS[1]})
    cmd = [opts.node, os.path.join(opts.bench, "sdk-revoke.js"), "--sdk", opts.sdk,
           "--endpoint", "https://127.0.0.1:%d" % port,
           "--list", os.path.join(fleet_dir, "revoked.list"), "--concurrency", str(MAX_CONCURRENT)]
    return Timed(opts, run_dir, cmd, env, stdout=os.path.join(run_dir, "summary.json"))


# (key, label, starter)
CONTESTANTS = (("keyrevoked", "keyrevoked --once", start_keyrevoked),
               ("keyrevoked-warm", "keyrevoked --once, warm", start_keyrevoked_warm),
               ("sdk", "SDK script (pop-core)", start_sdk))


# ---- report ------------------------------------------------------------------------------------


def mib(kib):
    return kib / 1024.0


def bound_sec(minimum):
    """The lower bound on the wall time: the calls beyond the server's one-second burst at the
    rate, plus the latency of the last call."""
    return max(0, minimum - BURST) / RATE_LIMIT + LATENCY_MS / 1000.0


def print_minimum(m):
    terms = m["terms"]
    total = sum(terms.values())
    say("minimum calls (best discovery strategy per region):")
    say("  %-12s %8s %9s %7s %6s %7s %8s %6s  %s" % ("region", "keypairs", "instances",
                                                       "revoked", "linux", "DescKP", "DescInst",
                                                       "Detach", "strategy"))
    for r, x in m["regions"].items():
        say("  %-12s %8d %9d %7d %6d %7d %8d %6d  %s"
            % (r, x["keypairs"], x["instances"], x["revoked"], x["linux"],
               x["DescribeKeyPairs"], x["DescribeInstances"], x["DetachKeyPair"], x["strategy"]))
    say("  (DescKP: ceil(key pairs/%d); DescInst: per revoked key pair max(1, ceil(bound/%d)), "
        "or ceil(region/%d); Detach: per revoked key pair ceil(linux/%d))"
        % (accounting.KEYPAIR_PAGE, accounting.INSTANCE_PAGE, accounting.INSTANCE_PAGE,
           accounting.DETACH_BATCH))
    say("  DescribeRegions %d (Regions= is empty), DescribeKeyPairs %d, DescribeInstances %d, "
        "DetachKeyPair %d: total %d"
        % (terms["DescribeRegions"], terms["DescribeKeyPairs"], terms["DescribeInstances"],
           terms["DetachKeyPair"], total))
    say("  lower bound: max(0, %d - %d burst) / %d req/s + %d ms = %.3f s"
        % (total, BURST, RATE_LIMIT, LATENCY_MS, bound_sec(total)))
    say("  a first run, which does not know the region sizes, needs %d page(s) more to learn them "
        "(one per region where listing by key pair wins): %d calls, bound %.3f s"
        % (m["probes"], total + m["probes"], bound_sec(total + m["probes"])))
    return total


def print_calls(calls, m):
    counts = accounting.by_action(calls)
    throttled = {a: sum(1 for c in calls if c["action"] == a and accounting.is_throttled(c))
                 for a in counts}
    repeats = accounting.repeated_requests(calls)
    say("  API calls by action    measured  minimum  extra  throttled  repeated-identical")
    for a in list(accounting.ACTIONS) + sorted(set(counts) - set(accounting.ACTIONS)):
        want = m["terms"].get(a, 0)
        say("    %-20s %8d %8d %6d %10d %10d" % (a, counts[a], want, counts[a] - want,
                                                 throttled.get(a, 0), repeats[a]))
    total, want = sum(counts.values()), sum(m["terms"].values())
    say("    %-20s %8d %8d %6d %10d %10d" % ("total", total, want, total - want,
                                             sum(throttled.values()), sum(repeats.values())))
    errors = sorted({c["code"] for c in calls if c.get("code")})
    if errors:
        say("  error codes seen: %s" % ", ".join(errors))
    return counts


def print_timeline(calls, t0, wall):
    span = accounting.busy_span(calls)
    if span and span[1] > span[0]:
        say("  timeline: first call answered %.3f s after start, last %.3f s (exit %.3f s after "
            "it); %.1f calls/s between" % (span[0] - t0, span[1] - t0, t0 + wall - span[1],
                                          (len(calls) - 1) / (span[1] - span[0])))
    throttled = [c for c in calls if accounting.is_throttled(c)]
    if throttled:
        shown = ", ".join("%s %s +%.3f s" % (c["action"], c["region"] or "-", c["t"] - t0)
                          for c in throttled[:THROTTLES_SHOWN])
        say("  throttled answers: %s%s" % (shown, " ..." if len(throttled) > THROTTLES_SHOWN
                                           else ""))
    say("  calls answered per second since start: %s"
        % " ".join(str(n) for n in accounting.calls_per_second(calls, t0)))
    sizes = sorted(accounting.detach_batch_sizes(calls).items())
    say("  DetachKeyPair batch sizes: %s" % ", ".join("%d x%d" % kv for kv in sizes))


def print_own_count(path):
    """The SDK script's own summary (a cross-check of the emulator's log), when it wrote one."""
    try:
        with open(path, encoding="utf-8") as f:
            own = json.loads(f.read() or "null")
    except (OSError, ValueError):
        return
    if own:
        say("  its own count: %d calls (%d throttled), %d failed %s, %d detached, %d Windows "
            "skipped" % (sum(own["calls"].values()), own["throttled"], own["failed"],
                         json.dumps(own["errors"]), own["detached"], own["windows_skipped"]))


def run_contestant(opts, shape, fleet_dir, key, start, bound):
    """One contestant on a fresh emulator; returns (process, exit status, calls, final state)."""
    run_dir = os.path.join(opts.workdir, "%s-%s" % (shape, key))
    os.makedirs(run_dir)
    emu = Emulator(opts, fleet_dir, run_dir)
    try:
        proc = start(opts, run_dir, fleet_dir, emu.port)
        rc = proc.wait(max(180.0, 10 * bound + 60), key)
        state = emu.state()
    finally:
        emu.stop()
    return proc, rc, accounting.read_log(emu.log), state


def run_shape(opts, shape, results):
    instances, revoked = SHAPES[shape]
    say("\n== %s: %d instances in %d regions, %d%% Windows, %d of %d key pairs revoked; "
        "%d ms per call, server limit %d req/s (bucket of %d, full at start)"
        % (shape, instances, REGIONS, WINDOWS_PERCENT, revoked, KEYPAIRS, LATENCY_MS, RATE_LIMIT,
           BURST))
    fleet_dir = make_fleet(opts, shape)
    fleet = accounting.load_json(os.path.join(fleet_dir, "fleet.json"))
    expect = accounting.load_json(os.path.join(fleet_dir, "expect.json"))
    m = accounting.minimum_calls(fleet, os.path.join(fleet_dir, "revoked.list"), expect, False)
    del fleet       # a 100k fleet is ~100 MB of Python objects: not kept during the race
    minimum = print_minimum(m)
    bound = bound_sec(minimum)
    first_minimum = minimum + m["probes"]
    for key, label, start in CONTESTANTS:
        proc, rc, calls, state = run_contestant(opts, shape, fleet_dir, key, start, bound)
        wall, rss = proc.wall, proc.peak_rss_kib()
        say("\n-- %s: wall %.3f s (exit status %d), peak RSS %.1f MiB"
            % (label, wall, rc, mib(rss)))
        counts = print_calls(calls, m)
        print_timeline(calls, proc.t0, wall)
        print_own_count(os.path.join(opts.workdir, "%s-%s" % (shape, key), "summary.json"))
        out = accounting.outcome(state["instances"], expect)
        complete = not out["missing"] and not out["unexpected"]
        say("  enforcement (emulator state): %d of %d expected instances detached, %d missing, "
            "%d unexpected, %d Windows instances left alone"
            % (out["detached"], out["expected"], len(out["missing"]), len(out["unexpected"]),
               len(expect["skip_windows"])))
        throttled = sum(1 for c in calls if accounting.is_throttled(c))
        say("  calls/minimum %.3f (%d / %d); wall/bound %.3f (%.3f s / %.3f s); throttled %d"
            % (len(calls) / minimum, len(calls), minimum, wall / bound, wall, bound, throttled))
        results.append({"shape": shape, "key": key, "label": label, "counts": counts,
                        "calls": len(calls), "throttled": throttled, "minimum": minimum,
                        "wall": wall, "bound": bound, "rss": rss, "complete": complete,
                        "first_minimum": first_minimum if key == "keyrevoked" else None})
    sdk = results[-1]
    for ours in results[-len(CONTESTANTS):-1]:
        say("\n%s: %s / SDK wall = %.3f (%.3f s / %.3f s); calls %d / %d"
            % (shape, ours["label"], ours["wall"] / sdk["wall"], ours["wall"], sdk["wall"],
               ours["calls"], sdk["calls"]))


def print_tables(results):
    say("\n== results (markdown)\n")
    say("| shape | contestant | calls R/K/I/D | calls (throttled) | minimum | calls/min | wall s "
        "| bound s | wall/bound | wall vs SDK | peak RSS MiB | all detached |")
    say("|---|---|---|---|---|---|---|---|---|---|---|---|")
    sdk_wall = {r["shape"]: r["wall"] for r in results if r["key"] == "sdk"}
    for r in results:
        c = r["counts"]
        actions = "/".join(str(c[a]) for a in accounting.ACTIONS)
        versus = "%.2f" % (r["wall"] / sdk_wall[r["shape"]]) if r["key"] != "sdk" else ""
        say("| %s | %s | %s | %d (%d) | %d | %.3f | %.2f | %.2f | %.3f | %s | %.1f | %s |"
            % (r["shape"], r["label"], actions, r["calls"], r["throttled"], r["minimum"],
               r["calls"] / r["minimum"], r["wall"], r["bound"], r["wall"] / r["bound"], versus,
               mib(r["rss"]), "yes" if r["complete"] else "NO"))
    say("\n| goal (keyrevoked) | shape | target | measured | result |")
    say("|---|---|---|---|---|")
    for r in results:
        if r["key"] == "sdk":
            continue
        s = r["shape"]
        label = s if r["key"] == "keyrevoked" else "%s (warm)" % s
        rows = (("calls", "<= %.2f x minimum" % CALLS_GOAL, "%.3f" % (r["calls"] / r["minimum"]),
                 r["calls"] <= CALLS_GOAL * r["minimum"]),
                ("wall", "<= %.2f x bound" % WALL_GOAL, "%.3f" % (r["wall"] / r["bound"]),
                 r["wall"] <= WALL_GOAL * r["bound"]),
                ("wall", "<= SDK script's", "%.3f" % (r["wall"] / sdk_wall[s]),
                 r["wall"] <= sdk_wall[s]),
                ("peak RSS", "<= %d MiB" % rss_goal_mib(s), "%.1f MiB" % mib(r["rss"]),
                 mib(r["rss"]) <= rss_goal_mib(s)),
                ("detached", "all expected, nothing else", "yes" if r["complete"] else "no",
                 r["complete"]))
        if r["first_minimum"] and r["first_minimum"] != r["minimum"]:
            first, first_bound = r["first_minimum"], bound_sec(r["first_minimum"])
            rows += (("calls", "<= %.2f x first-run minimum (%d)" % (CALLS_GOAL, first),
                      "%.3f" % (r["calls"] / first), r["calls"] <= CALLS_GOAL * first),
                     ("wall", "<= %.2f x first-run bound (%.3f s)" % (WALL_GOAL, first_bound),
                      "%.3f" % (r["wall"] / first_bound), r["wall"] <= WALL_GOAL * first_bound))
        for figure, target, measured, ok in rows:
            say("| %s | %s | %s | %s | %s |" % (figure, label, target, measured,
                                                "PASS" if ok else "MISS"))


# ---- list-to-first-detach latency --------------------------------------------------------------


class Daemon(Timed):
    """keyrevoked running as a service (not --once), with its logfmt events on stderr."""

    def __init__(self, opts, run_dir, conf):
        super().__init__(opts, run_dir, [opts.keyrevoked, "-c", conf], child_env())
        self.stderr_pos = 0
        self.counts = collections.Counter()

    def terminate(self, timeout):
        pid = self.child_pid()
        if pid is None:
            raise BenchError("keyrevoked is gone:\n%s" % tail(self.stderr))
        os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError("keyrevoked ignored SIGTERM for %gs" % timeout)

    def events(self, kind):
        """Number of logfmt events of this kind on the daemon's stderr so far (read on from
        where the last look stopped, so that polling stays cheap)."""
        with open(self.stderr, "rb") as f:
            f.seek(self.stderr_pos)
            data = f.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.stderr_pos += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            if line.startswith("event="):
                self.counts[line.split(" ", 1)[0][len("event="):]] += 1
        return self.counts[kind]

    def wait_event(self, kind, count, timeout):
        def seen():
            if self.proc.poll() is not None:
                raise BenchError("keyrevoked exited (%d):\n%s" % (self.proc.returncode,
                                                                  tail(self.stderr)))
            return self.events(kind) >= count

        wait_until(seen, timeout, "%d %s event(s) from keyrevoked" % (count, kind))


def first_detach_after(log, since, timeout):
    """Times of the first DetachKeyPair answer and of the first call logged at or after since."""
    found = {"first": None, "detach": None}
    pos = [0]

    def scan():
        if not os.path.exists(log):
            return False
        with open(log, "rb") as f:
            f.seek(pos[0])
            data = f.read()
        complete = data[:data.rfind(b"\n") + 1]      # a line being written waits for next time
        pos[0] += len(complete)
        for c in accounting.parse_calls(complete.decode("utf-8").splitlines()):
            if c["t"] < since:
                continue
            found["first"] = found["first"] or c["t"]
            if c["action"] == "DetachKeyPair":
                found["detach"] = c["t"]
                return True
        return False

    wait_until(scan, timeout, "a DetachKeyPair call")
    return found["detach"], found["first"]


def latency_once(opts, rep, fleet_dir):
    run_dir = os.path.join(opts.workdir, "latency-%d" % rep)
    os.makedirs(run_dir)
    emu = Emulator(opts, fleet_dir, run_dir)
    try:
        conf = write_config(opts, run_dir, emu.port)
        daemon = Daemon(opts, run_dir, conf)
        try:
            daemon.wait_event("enforcement-complete", 1, EVENT_TIMEOUT_SEC)
            t_rename = install_list(fleet_dir, run_dir)
            t_detach, t_first = first_detach_after(emu.log, t_rename, EVENT_TIMEOUT_SEC)
            daemon.wait_event("enforcement-complete", 2, EVENT_TIMEOUT_SEC)
            daemon.terminate(EVENT_TIMEOUT_SEC)
        except BaseException:
            if daemon.proc.poll() is None:
                daemon.kill()
            raise
    finally:
        emu.stop()
    latency = t_detach - t_rename
    say("  run %d: list renamed in; first API call answered +%.3f s, first DetachKeyPair answered "
        "+%.3f s; peak RSS %.1f MiB" % (rep + 1, t_first - t_rename, latency,
                                        mib(daemon.peak_rss_kib())))
    return latency


def run_latency(opts):
    say("\n== latency: daemon running idle on the %s fleet, list file renamed into the directory,"
        " time to the first DetachKeyPair answer (%d runs, fresh emulator and state each)"
        % (LATENCY_SHAPE, LATENCY_REPS))
    fleet_dir = make_fleet(opts, LATENCY_SHAPE)
    samples = [latency_once(opts, rep, fleet_dir) for rep in range(LATENCY_REPS)]
    med, worst = statistics.median(samples), max(samples)
    say("list-to-first-DetachKeyPair: median %.3f s, max %.3f s (target <= %.0f s: %s)"
        % (med, worst, LATENCY_TARGET_SEC,
           "PASS" if worst <= LATENCY_TARGET_SEC else "MISS"))


# ---- exposure: list drop to the last contained ---------------------------------------------


def exposure_bound(opts, fleet_dir):
    """The calls of the run's one request budget (discovery, then per 50 instances the agents, the
    command and one look at its results, and the detaches, which share the budget and may not
    starve) and the bound on the exposure: those calls beyond the server's burst at the rate, the
    command's run time and one latency. The bound of containment alone is printed too."""
    fleet = accounting.load_json(os.path.join(fleet_dir, "fleet.json"))
    expect = accounting.load_json(os.path.join(fleet_dir, "expect.json"))
    m = accounting.minimum_calls(fleet, os.path.join(fleet_dir, "revoked.list"), expect, False,
                                 contain=True)
    c = accounting.containment_calls(fleet, expect)
    del fleet
    terms = {a: m["terms"][a] for a in accounting.ACTIONS[:3]}
    for a in accounting.CONTAIN_ACTIONS:
        terms[a] = sum(x[a] for x in c.values())
    terms["DetachKeyPair"] = m["terms"]["DetachKeyPair"]
    say("calls of the budget (best discovery strategy per region, 50 instances a call):")
    say("  %-12s %9s %8s %7s %6s %8s %6s %8s %7s %6s" % ("region", "instances", "in scope",
                                                       "online", "DescKP", "DescInst", "Status",
                                                       "RunCmd", "Results", "Detach"))
    for r, x in c.items():
        g = m["regions"][r]
        say("  %-12s %9d %8d %7d %6d %8d %6d %8d %7d %6d"
            % (r, g["instances"], x["instances"], x["online"], g["DescribeKeyPairs"],
               g["DescribeInstances"], x["DescribeCloudAssistantStatus"], x["RunCommand"],
               x["DescribeInvocationResults"], g["DetachKeyPair"]))
    needed = sum(terms.values())

    def bound_of(calls):
        return max(0, calls - BURST) / RATE_LIMIT + CA_RUN_SECONDS + LATENCY_MS / 1000.0

    bound = bound_of(needed)
    say("  %s: total %d" % (", ".join("%s %d" % kv for kv in terms.items()), needed))
    say("  bound: max(0, %d - %d burst) / %d req/s + %.1f s run time + %d ms = %.3f s "
        "(containment alone, without the detaches: %.3f s)"
        % (needed, BURST, RATE_LIMIT, CA_RUN_SECONDS, LATENCY_MS, bound,
           bound_of(needed - terms["DetachKeyPair"])))
    return terms, needed, bound, expect


def exposure_once(opts, shape):
    say("\n== %s: %d instances in %d regions, %d%% Windows, all %d key pairs revoked, %d%% of the "
        "agents offline; %d ms per call, server limit %d req/s, command run time %.1f s"
        % ((shape,) + EXPOSURE_SHAPES[shape][:1] + (REGIONS, WINDOWS_PERCENT)
           + EXPOSURE_SHAPES[shape][1:] + (CA_OFFLINE_PERCENT, LATENCY_MS, RATE_LIMIT,
                                           CA_RUN_SECONDS)))
    fleet_dir = make_fleet(opts, shape)
    terms, needed, bound, expect = exposure_bound(opts, fleet_dir)
    want, offline = len(expect["contain"]), len(expect["contain_agent_offline"])
    run_dir = os.path.join(opts.workdir, shape)
    os.makedirs(run_dir)
    emu = Emulator(opts, fleet_dir, run_dir, ["--ca-run-seconds", str(CA_RUN_SECONDS)])
    try:
        daemon = Daemon(opts, run_dir, write_config(opts, run_dir, emu.port, contain=True))
        try:
            daemon.wait_event("enforcement-complete", 1, EVENT_TIMEOUT_SEC)
            t_rename = install_list(fleet_dir, run_dir)
            timeout = 10 * bound + EVENT_TIMEOUT_SEC
            daemon.wait_event("contained", 1, timeout)
            t_first = time.time()
            daemon.wait_event("contained", want, timeout)
            t_last = time.time()
            daemon.wait_event("contain-failed", offline, timeout)
            daemon.wait_event("enforcement-complete", 2, timeout)
            daemon.terminate(EVENT_TIMEOUT_SEC)
        except BaseException:
            if daemon.proc.poll() is None:
                daemon.kill()
            raise
    finally:
        emu.stop()
    calls = [c for c in accounting.read_log(emu.log) if c["t"] >= t_rename]
    exposure = t_last - t_rename
    counts = accounting.by_action(calls)
    say("\n-- keyrevoked (running, [Contain] Enabled=yes): list renamed in; first contained +%.3f s,"
        " last of %d contained +%.3f s; %d contain-failed (agent offline); peak RSS %.1f MiB"
        % (t_first - t_rename, want, exposure, daemon.counts["contain-failed"],
           mib(daemon.peak_rss_kib())))
    say("  API calls by action    measured  minimum  throttled")
    for a in tuple(terms) + tuple(sorted(set(counts) - set(terms))):
        say("    %-28s %6d %8s %10d" % (a, counts[a], terms.get(a, "-"),
                                        sum(1 for c in calls if c["action"] == a
                                            and accounting.is_throttled(c))))
    span = accounting.busy_span(calls)
    say("  calls answered per second since the rename: %s"
        % " ".join(str(n) for n in accounting.calls_per_second(calls, t_rename)))
    if span:
        detaches = [c["t"] for c in calls if c["action"] == "DetachKeyPair"]
        say("  last call answered +%.3f s; last DetachKeyPair +%.3f s"
            % (span[1] - t_rename, (max(detaches) - t_rename) if detaches else 0))
    say("  exposure/bound %.3f (%.3f s / %.3f s): %s"
        % (exposure / bound, exposure, bound, "PASS" if exposure <= EXPOSURE_GOAL * bound
           else "MISS"))
    return {"shape": shape, "contained": want, "offline": daemon.counts["contain-failed"],
            "counts": counts, "calls": len(calls), "needed": needed, "exposure": exposure,
            "bound": bound, "rss": daemon.peak_rss_kib()}


def run_exposure(opts):
    results = [exposure_once(opts, shape) for shape in EXPOSURE_SHAPES]
    say("\n== exposure (markdown)\n")
    say("| shape | contained (offline) | calls Status/Run/Results/Detach | calls (needed) | "
        "exposure s | bound s | exposure/bound | peak RSS MiB | goal <= %.1f x bound |"
        % EXPOSURE_GOAL)
    say("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        c = r["counts"]
        actions = "/".join(str(c[a]) for a in accounting.CONTAIN_ACTIONS + ("DetachKeyPair",))
        say("| %s | %d (%d) | %s | %d (%d) | %.2f | %.2f | %.3f | %.1f | %s |"
            % (r["shape"], r["contained"], r["offline"], actions, r["calls"], r["needed"],
               r["exposure"], r["bound"], r["exposure"] / r["bound"], mib(r["rss"]),
               "PASS" if r["exposure"] <= EXPOSURE_GOAL * r["bound"] else "MISS"))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=tuple(SHAPES) + ("all", "latency", "exposure"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--ca", required=True, help="directory made by make-ca.sh")
    ap.add_argument("--emulator", required=True, help="tests/emulator directory")
    ap.add_argument("--bench", required=True, help="tests/bench directory")
    ap.add_argument("--keyrevoked", required=True)
    ap.add_argument("--node", default="node")
    ap.add_argument("--sdk", help="npm prefix holding node_modules/@alicloud/pop-core")
    ap.add_argument("--time", default="/usr/bin/time")
    ap.add_argument("--python", default=sys.executable)
    opts = ap.parse_args(argv)
    if opts.mode not in ("latency", "exposure") and not opts.sdk:
        ap.error("--sdk is required for the race")
    results = []
    try:
        if opts.mode == "latency":
            run_latency(opts)
            return 0
        if opts.mode == "exposure":
            run_exposure(opts)
            return 0
        for shape in ALL_SHAPES if opts.mode == "all" else (opts.mode,):
            run_shape(opts, shape, results)
    except BenchError as e:
        say("bench: error: %s" % e)
        return 1
    print_tables(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
