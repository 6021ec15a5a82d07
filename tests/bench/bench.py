#!/usr/bin/python3
"""Enforcement benchmark driver: runs keyrevoked against the ECS emulator at the API's rate limit
and prints wall time, calls, throttling, peak RSS and list-to-first-detach latency against their
targets. Called by bench.sh (which provides the mount namespace, the work dir and the CA)."""

import argparse
import collections
import os
import signal
import statistics
import subprocess
import sys
import time

import accounting

REGIONS = 5
WINDOWS_PERCENT = 10
KEYPAIRS = 200
REVOKED = 40
SEED = 1
LATENCY_MS = 30
RATE_LIMIT = 50                  # server-side limit, and the daemon's MaxRequestsPerSecond=
MAX_CONCURRENT = 8
SCALES = {"10k": 10000, "100k": 100000}
RSS_TARGET_MIB = {"10k": 16, "100k": 48}
CALLS_SLACK = 0.01               # calls may exceed the minimum by 1 %
WALL_RATIO_TARGET = 1.05
THROTTLED_TARGET = 0.01          # throttled answers per call
LATENCY_TARGET_SEC = 1.0
LATENCY_REPS = 5
LATENCY_SCALE = "10k"
START_TIMEOUT_SEC = 180          # emulator load of a 100k fleet included
EVENT_TIMEOUT_SEC = 60
POLL_SEC = 0.005


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


# ---- fleet, emulator, config -------------------------------------------------------------------


def make_fleet(opts, scale):
    """Generates (once per work dir) the fleet of a scale; returns its directory."""
    d = os.path.join(opts.workdir, "fleet-" + scale)
    if os.path.exists(os.path.join(d, "expect.json")):
        return d
    os.makedirs(d)
    cmd = [opts.python, os.path.join(opts.emulator, "make-fleet.py"),
           "--instances", str(SCALES[scale]), "--regions", str(REGIONS),
           "--windows-percent", str(WINDOWS_PERCENT), "--keypairs", str(KEYPAIRS),
           "--revoked", str(REVOKED), "--seed", str(SEED),
           "--out", os.path.join(d, "fleet.json"), "--list-out", os.path.join(d, "revoked.list"),
           "--expect-out", os.path.join(d, "expect.json")]
    if subprocess.call(cmd) != 0:
        raise BenchError("make-fleet.py failed")
    return d


class Emulator:
    """The ECS emulator on a fleet, with its own call log, for one run."""

    def __init__(self, opts, fleet_dir, run_dir):
        self.log = os.path.join(run_dir, "calls.jsonl")
        self.stderr = os.path.join(run_dir, "emulator.log")
        port_file = os.path.join(run_dir, "api.port")
        cmd = [opts.python, os.path.join(opts.emulator, "ecs-emulator.py"),
               "--fleet", os.path.join(fleet_dir, "fleet.json"),
               "--cert", os.path.join(opts.ca, "server.pem"),
               "--key", os.path.join(opts.ca, "server.key"), "--listen", "127.0.0.1",
               "--port-file", port_file,
               "--control-port-file", os.path.join(run_dir, "control.port"),
               "--metadata-port-file", os.path.join(run_dir, "metadata.port"),
               "--log", self.log, "--latency-ms", str(LATENCY_MS),
               "--rate-limit", str(RATE_LIMIT)]
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)

        def up():
            if self.proc.poll() is not None:
                raise BenchError("the emulator exited (%d):\n%s" % (self.proc.returncode,
                                                                    tail(self.stderr)))
            return os.path.exists(port_file)

        wait_until(up, START_TIMEOUT_SEC, "the emulator")
        with open(port_file, encoding="ascii") as f:
            self.port = int(f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()
        if "Traceback" in tail(self.stderr, 200):
            raise BenchError("the emulator hit an internal error:\n%s" % tail(self.stderr))


def write_config(opts, run_dir, port):
    """Writes the daemon's config (and credentials, dirs) into run_dir; returns its path."""
    revoked, state = os.path.join(run_dir, "revoked.d"), os.path.join(run_dir, "state")
    os.makedirs(revoked, mode=0o755)
    os.makedirs(state, mode=0o700)
    creds = os.path.join(run_dir, "credentials")
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("[default]\ntype = access_key\naccess_key_id = testid\n"
                "access_key_secret = testsecret\n")
    conf = os.path.join(run_dir, "keyrevoke.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("[Agent]\nRevocationDirectory=%s\nStateDirectory=%s\nRescanIntervalSec=0\n"
                % (revoked, state))
        f.write("[Cloud]\nEndpoint=https://127.0.0.1:%d\nRegions=\nCAFile=%s\nCredentialsFile=%s\n"
                % (port, os.path.join(opts.ca, "ca.pem"), creds))
        f.write("MaxConcurrentRequests=%d\nMaxRequestsPerSecond=%d\nRequestTimeoutSec=10\n"
                % (MAX_CONCURRENT, RATE_LIMIT))
        # No Window=: reboots are queued and never started, only enforcement is measured.
        f.write("[Reboot]\nEnabled=yes\n")
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


# ---- the daemon --------------------------------------------------------------------------------


class Daemon:
    """keyrevoked under /usr/bin/time (whose %M is the daemon's own peak RSS: a child spawned from
    this Python process would inherit its high-water mark through vfork)."""

    def __init__(self, opts, run_dir, conf, once):
        self.stderr = os.path.join(run_dir, "daemon.log")
        self.rss_file = os.path.join(run_dir, "rss.txt")
        cmd = [opts.time, "-f", "%M", "-o", self.rss_file, opts.keyrevoked, "-c", conf]
        if once:
            cmd.append("--once")
        os.sync()       # earlier steps' dirty data must not slow the daemon's fsyncs
        self.t0 = time.time()
        self.m0 = time.monotonic()
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err)
        self.wall = None
        self.stderr_pos = 0
        self.counts = collections.Counter()

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError("keyrevoked did not finish within %gs:\n%s" % (timeout,
                                                                            tail(self.stderr)))
        self.wall = time.monotonic() - self.m0
        rc = self.proc.returncode
        if rc not in (0, 2):
            raise BenchError("keyrevoked exited with status %d:\n%s" % (rc, tail(self.stderr)))
        return rc

    def child_pid(self):
        """The pid of keyrevoked itself (the child of time), or None."""
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


# ---- report ------------------------------------------------------------------------------------


class Table:
    """The final target-vs-measured table."""

    def __init__(self):
        self.rows = []

    def add(self, figure, target, measured, ok):
        self.rows.append((figure, target, measured, "PASS" if ok else "MISS"))

    def print(self):
        say("\n== summary (targets of the issue; a MISS is a finding, not a harness error)")
        widths = [max(len(r[i]) for r in self.rows + [("figure", "target", "measured", "")])
                  for i in range(3)]
        fmt = "%%-%ds  %%-%ds  %%-%ds  %%s" % tuple(widths)
        say(fmt % ("figure", "target", "measured", "result"))
        for row in self.rows:
            say(fmt % row)


def mib(kib):
    return kib / 1024.0


def print_minimum(m):
    terms = m["terms"]
    total = sum(terms.values())
    say("minimum calls:")
    say("  DescribeRegions    %5d   (Regions= is empty: one call lists the regions)"
        % terms["DescribeRegions"])
    say("  DescribeKeyPairs   %5d   sum over %d regions with entries of ceil(key pairs/%d): %s"
        % (terms["DescribeKeyPairs"], len(m["regions"]), accounting.KEYPAIR_PAGE,
           ", ".join("%s %d" % kv for kv in sorted(m["keypairs_by_region"].items()))))
    bound = sum(t["instances"] for t in m["targets"])
    linux = sum(t["linux"] for t in m["targets"])
    say("  DescribeInstances  %5d   sum over %d revoked (region, key pair) of "
        "max(1, ceil(bound/%d)); %d instances bound"
        % (terms["DescribeInstances"], len(m["targets"]), accounting.INSTANCE_PAGE, bound))
    say("  DetachKeyPair      %5d   sum of ceil(linux/%d); %d Linux instances to detach"
        % (terms["DetachKeyPair"], accounting.DETACH_BATCH, linux))
    say("  total              %5d   lower bound %d / %d req/s = %.2f s"
        % (total, total, RATE_LIMIT, total / RATE_LIMIT))
    return total


def print_calls(calls, m):
    counts = accounting.by_action(calls)
    throttled = {a: sum(1 for c in calls if c["action"] == a and accounting.is_throttled(c))
                 for a in counts}
    repeats = accounting.repeated_requests(calls)
    say("API calls by action    measured  minimum  extra  throttled  repeated-identical")
    for a in list(accounting.ACTIONS) + sorted(set(counts) - set(accounting.ACTIONS)):
        want = m["terms"].get(a, 0)
        say("  %-20s %8d %8d %6d %10d %10d" % (a, counts[a], want, counts[a] - want,
                                               throttled.get(a, 0), repeats[a]))
    total, want = sum(counts.values()), sum(m["terms"].values())
    say("  %-20s %8d %8d %6d %10d %10d" % ("total", total, want, total - want,
                                           sum(throttled.values()), sum(repeats.values())))
    errors = sorted({c["code"] for c in calls if c.get("code")})
    if errors:
        say("error codes seen: %s" % ", ".join(errors))


def check_outcome(calls, expect):
    """Whether the detaches match the fleet's expectation; prints what differs."""
    done = accounting.detached_instances(calls)
    want, windows = set(expect["detach"]), set(expect["skip_windows"])
    missing, extra = want - done, done - want
    say("enforcement: %d detached of %d expected, %d missing, %d unexpected, %d Windows skipped"
        % (len(done & want), len(want), len(missing), len(extra), len(windows)))
    return not missing and not extra


# ---- modes -------------------------------------------------------------------------------------


def scale_plan(opts, scale):
    """Generates the fleet of a scale and prints the minimum; returns (fleet dir, expectation,
    minimum per action)."""
    say("\n== %s: %d instances in %d regions, %d%% Windows, %d key pairs (%d revoked); "
        "%d ms per call, server limit %d req/s"
        % (scale, SCALES[scale], REGIONS, WINDOWS_PERCENT, KEYPAIRS, REVOKED, LATENCY_MS,
           RATE_LIMIT))
    fleet_dir = make_fleet(opts, scale)
    fleet = accounting.load_json(os.path.join(fleet_dir, "fleet.json"))
    expect = accounting.load_json(os.path.join(fleet_dir, "expect.json"))
    m = accounting.minimum_calls(fleet, os.path.join(fleet_dir, "revoked.list"), expect, False)
    minimum = print_minimum(m)
    say("expected duration of the daemon run: about %.0f s (the lower bound)"
        % (minimum / RATE_LIMIT))
    return fleet_dir, expect, m


def scale_run(opts, scale, fleet_dir, bound):
    """keyrevoked --once with the fleet's list; returns (daemon, exit status, API calls)."""
    run_dir = os.path.join(opts.workdir, "run-" + scale)
    os.makedirs(run_dir)
    emu = Emulator(opts, fleet_dir, run_dir)
    try:
        conf = write_config(opts, run_dir, emu.port)
        install_list(fleet_dir, run_dir)
        daemon = Daemon(opts, run_dir, conf, once=True)
        rc = daemon.wait(max(120.0, 5 * bound + 60))
    finally:
        emu.stop()
    return daemon, rc, accounting.read_log(emu.log)


def print_timeline(calls, t0):
    span = accounting.busy_span(calls)
    if span and span[1] > span[0]:
        say("timeline: first call answered %.3f s after start, last %.3f s; %.1f calls/s between"
            % (span[0] - t0, span[1] - t0, (len(calls) - 1) / (span[1] - span[0])))
    say("calls answered per second since start: %s"
        % " ".join(str(n) for n in accounting.calls_per_second(calls, t0)))
    sizes = sorted(accounting.detach_batch_sizes(calls).items())
    say("DetachKeyPair batch sizes: %s" % ", ".join("%d x%d" % kv for kv in sizes))


def run_scale(opts, scale, table):
    """--once on a fleet of this scale; prints its figures and adds its rows to the table."""
    fleet_dir, expect, m = scale_plan(opts, scale)
    minimum = sum(m["terms"].values())
    bound = minimum / RATE_LIMIT
    daemon, rc, calls = scale_run(opts, scale, fleet_dir, bound)
    wall, rss, total = daemon.wall, daemon.peak_rss_kib(), len(calls)
    throttled = sum(1 for c in calls if accounting.is_throttled(c))
    share = throttled / max(total, 1)
    say("wall time: %.3f s (keyrevoked --once exit status %d)" % (wall, rc))
    print_calls(calls, m)
    print_timeline(calls, daemon.t0)
    say("throttled responses: %d (%.2f %% of calls)" % (throttled, 100 * share))
    say("lower bound: %.3f s; wall/bound: %.3f" % (bound, wall / bound))
    say("peak RSS: %.1f MiB (%d KiB)" % (mib(rss), rss))
    correct = check_outcome(calls, expect)

    table.add("%s calls (retries counted)" % scale, "<= %d (min %d +1%%)"
              % (int(minimum * (1 + CALLS_SLACK)), minimum),
              "%d (%+.1f%%)" % (total, 100.0 * (total - minimum) / minimum),
              total <= minimum * (1 + CALLS_SLACK))
    table.add("%s wall/bound" % scale, "<= %.2f" % WALL_RATIO_TARGET,
              "%.3f (%.2f s / %.2f s)" % (wall / bound, wall, bound),
              wall / bound <= WALL_RATIO_TARGET)
    table.add("%s throttled/calls" % scale, "<= %.0f%%" % (100 * THROTTLED_TARGET),
              "%.2f%% (%d)" % (100 * share, throttled), share <= THROTTLED_TARGET)
    table.add("%s peak RSS" % scale, "<= %d MiB" % RSS_TARGET_MIB[scale], "%.1f MiB" % mib(rss),
              mib(rss) <= RSS_TARGET_MIB[scale])
    table.add("%s detached = expected" % scale, "all, nothing else",
              "yes" if correct else "no", correct)


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
        daemon = Daemon(opts, run_dir, conf, once=False)
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


def run_latency(opts, table):
    say("\n== latency: daemon running idle on the %s fleet, list file renamed into the directory,"
        " time to the first DetachKeyPair answer (%d runs, fresh emulator and state each)"
        % (LATENCY_SCALE, LATENCY_REPS))
    fleet_dir = make_fleet(opts, LATENCY_SCALE)
    samples = [latency_once(opts, rep, fleet_dir) for rep in range(LATENCY_REPS)]
    med, worst = statistics.median(samples), max(samples)
    say("list-to-first-DetachKeyPair: median %.3f s, max %.3f s" % (med, worst))
    table.add("list-to-first-detach median", "<= %.0f s" % LATENCY_TARGET_SEC, "%.3f s" % med,
              med <= LATENCY_TARGET_SEC)
    table.add("list-to-first-detach max", "<= %.0f s" % LATENCY_TARGET_SEC, "%.3f s" % worst,
              worst <= LATENCY_TARGET_SEC)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("10k", "100k", "latency", "all"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--ca", required=True, help="directory made by make-ca.sh")
    ap.add_argument("--emulator", required=True, help="tests/emulator directory")
    ap.add_argument("--keyrevoked", required=True)
    ap.add_argument("--time", default="/usr/bin/time")
    ap.add_argument("--python", default=sys.executable)
    opts = ap.parse_args(argv)
    modes = ("10k", "100k", "latency") if opts.mode == "all" else (opts.mode,)
    table = Table()
    try:
        for mode in modes:
            if mode == "latency":
                run_latency(opts, table)
            else:
                run_scale(opts, mode, table)
    except BenchError as e:
        say("bench: error: %s" % e)
        return 1
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
