# SPDX-License-Identifier: LGPL-2.1-or-later
"""The core's layers: fails on an upward edge or a cycle.

    layers.py CORE_SRC_DIR NM LIBSYSFAST.A

Two graphs of core/src, each mapped onto the layers below (bottom first):
the include graph of its files ("x.h" includes), and the link graph of
the static library's objects (an edge from the object that references a
symbol, `nm` U, to the one that defines it). Each must go only down or
sideways, and have no cycle, not even within a layer. A file of core/src
that is in no layer fails too, so that a new one is placed on purpose.
See core/src/base.h for the order and docs/architecture.md, "Layers".
"""
import os
import re
import subprocess
import sys

LAYERS = [
    ("base", ["base.h", "alloc.c", "siphash.h", "siphash.c", "version.c"]),
    ("thread", ["thread.h", "thread.c"]),
    ("errors", ["errors.h", "error.c"]),
    ("data", ["data.h", "event.c", "args.c", "intern.c", "object.c"]),
    ("interp", ["interp.h", "interp.c"]),
    ("dispatch", ["dispatch.h", "audit.c", "trace.c"]),
    ("runtime", ["runtime.c"]),
    # For the tests, fuzzers and benchmarks only: no file of the library
    # may include it.
    ("umbrella", ["internal.h"]),
]
RANK = {f: i for i, (_, files) in enumerate(LAYERS) for f in files}
NAME = {f: name for name, files in LAYERS for f in files}


def problems(edges):
    """Upward edges and cycles of a graph {node: {node: why}}."""
    out = []
    for a in sorted(edges):
        for b, why in sorted(edges[a].items()):
            if RANK[b] > RANK[a]:
                out.append(f"upward: {a} ({NAME[a]}) -> {b} ({NAME[b]}): {why}")
    # Cycles: depth-first search, reporting each back edge's cycle.
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                out.append("cycle: " + " -> ".join(cycle))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    return out


def include_graph(src):
    edges, unplaced = {}, []
    for f in sorted(os.listdir(src)):
        if not f.endswith((".c", ".h")):
            continue
        if f not in RANK:
            unplaced.append(f)
            continue
        edges.setdefault(f, {})
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            for line in fh:
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if m:
                    h = os.path.basename(m.group(1))
                    if h not in RANK:
                        unplaced.append(f"{h} (included by {f})")
                        continue
                    edges[f][h] = "#include"
    if any("internal.h" in e for n, e in edges.items() if n != "internal.h"):
        unplaced.append("internal.h is included by a file of the library")
    return edges, unplaced


def link_graph(nm, lib):
    out = subprocess.run([nm, "-A", lib], check=True, capture_output=True, text=True).stdout
    defined, undefined = {}, {}
    for line in out.splitlines():
        m = re.match(r"[^:]*:([^:]+\.o):\s*(?:[0-9a-f]+\s+)?([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        # Objects are named after their source: src_audit.c.o -> audit.c.
        src = re.sub(r"^src_", "", os.path.basename(obj))[: -len(".o")]
        if kind == "U":
            undefined.setdefault(src, set()).add(sym)
        elif kind.isupper():
            defined[sym] = src
    edges, unplaced = {}, []
    for src, syms in undefined.items():
        if src not in RANK:
            unplaced.append(f"{src} (object in {os.path.basename(lib)})")
            continue
        for sym in sorted(syms):
            to = defined.get(sym)
            if to and to != src:
                edges.setdefault(src, {}).setdefault(to, sym)
    for src in set(defined.values()):
        edges.setdefault(src, {})
    return edges, unplaced


def self_check():
    """The checker itself must see an upward edge and a cycle."""
    up = {"alloc.c": {"audit.c": "x"}, "audit.c": {}}
    cyc = {"event.c": {"args.c": "x"}, "args.c": {"event.c": "y"}}
    return (any(p.startswith("upward") for p in problems(up))
            and any(p.startswith("cycle") for p in problems(cyc))
            and not problems({"audit.c": {"alloc.c": "x"}, "alloc.c": {}}))


def main():
    src, nm, lib = sys.argv[1:4]
    if not self_check():
        print("layers: the checker misses a planted upward edge or cycle")
        return 1
    failed = False
    for label, (edges, unplaced) in (("include graph", include_graph(src)),
                                     ("link graph (nm)", link_graph(nm, lib))):
        found = [f"not in any layer: {u}" for u in unplaced] + problems(edges)
        n = sum(len(e) for e in edges.values())
        if found:
            failed = True
            print(f"layers: {label}: {len(found)} problem(s)")
            for p in found:
                print("    " + p)
        else:
            print(f"layers: {label}: {len(edges)} files, {n} edges, all downward, no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
