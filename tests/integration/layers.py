"""Checks agent/'s layering: each folder includes only folders below it, the pure layer includes
no I/O header and reads no clock, and no two modules include each other (directly or around a
circle). Usage: layers.py AGENT_DIR; prints one line per violation, exits 1 if there is any."""

import os
import re
import sys

LAYERS = ["base", "logic", "io", "daemon", "ctl"]
IO_HEADERS = re.compile(r'#include <(systemd/sd-[a-z]+|curl/curl)\.h>')
CLOCK_READS = re.compile(r'\b(clock_gettime|gettimeofday|sd_event_now)\(|\btime\((NULL|0|&)')
LOCAL_INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def module_of(path):
    """'daemon/enforce-internal.h' and 'daemon/enforce.c' are both module 'daemon/enforce'."""
    base = os.path.splitext(path)[0]
    return base[:-len("-internal")] if base.endswith("-internal") else base


def sources(agent):
    for layer in sorted(os.listdir(agent)):
        folder = os.path.join(agent, layer)
        if not os.path.isdir(folder) or layer == "man":
            continue
        for name in sorted(os.listdir(folder)):
            if name.endswith((".c", ".h")):
                yield layer, f"{layer}/{name}"


def check(agent):
    problems = []
    graph = {}
    for layer, rel in sources(agent):
        if layer not in LAYERS:
            if layer != "instance":
                problems.append(f"{rel}: folder '{layer}' is not a layer ({', '.join(LAYERS)})")
            continue
        with open(os.path.join(agent, rel), encoding="utf-8") as f:
            text = f.read()
        rank = LAYERS.index(layer)
        for inc in LOCAL_INCLUDE.findall(text):
            target = inc.split("/")[0]
            if "/" not in inc or target not in LAYERS:
                problems.append(f"{rel}: includes \"{inc}\", which names no layer folder")
                continue
            if LAYERS.index(target) > rank:
                problems.append(f"{rel}: {layer}/ includes \"{inc}\" from {target}/, a higher layer")
            if module_of(inc) != module_of(rel):
                graph.setdefault(module_of(rel), set()).add(module_of(inc))
        if layer in ("base", "logic"):
            for m in IO_HEADERS.finditer(text):
                problems.append(f"{rel}: the pure layers include no I/O header ({m.group(0)})")
            if rel.endswith(".c") and CLOCK_READS.search(text):
                problems.append(f"{rel}: the pure layers read no clock")
    problems += [f"include circle: {' -> '.join(c)}" for c in circles(graph)]
    return problems


def circles(graph):
    """One circle per strongly connected group of modules (iterative DFS, Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        group.append(m)
                        if m == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group) + [sorted(group)[0]])
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


if __name__ == "__main__":
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
