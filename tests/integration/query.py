#!/usr/bin/python3
"""Counts journal events (JSON lines on stdin) or emulator calls (its JSON-lines log).

query.py events EVENT [FIELD=VALUE ...]      FIELD without the KEYREVOKE_ prefix, e.g. INSTANCE=i-1
query.py calls LOG ACTION [applied|failed]   ACTION may be '*'
query.py instances LOG ACTION                 instance ids the applied calls touched, one per line
"""
import json
import sys


def events(argv):
    kind, filters = argv[0], [a.split("=", 1) for a in argv[1:]]
    n = 0
    for line in sys.stdin:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("KEYREVOKE_EVENT") != kind:
            continue
        if all(e.get("KEYREVOKE_" + k) == v for k, v in filters):
            n += 1
    print(n)


def log_lines(path):
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def calls(argv):
    path, action = argv[0], argv[1]
    which = argv[2] if len(argv) > 2 else None
    n = 0
    for c in log_lines(path):
        if "action" not in c or (action != "*" and c["action"] != action):
            continue
        if which == "applied" and not c.get("applied"):
            continue
        if which == "failed" and c.get("applied"):
            continue
        n += 1
    print(n)


def instances(argv):
    path, action = argv[0], argv[1]
    for c in log_lines(path):
        if c.get("action") == action and c.get("applied"):
            for i in c.get("instances") or []:
                print(i)


if __name__ == "__main__":
    {"events": events, "calls": calls, "instances": instances}[sys.argv[1]](sys.argv[2:])
