#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compares two sysfast-bench runs benchmark by benchmark.

    tools/bench-compare.py BEFORE.json AFTER.json [--threshold 0.10] [--filter REGEX]
    tools/bench-compare.py --exponents BEFORE-SCALE.json AFTER-SCALE.json
                           [--exp-tolerance 0.2] [--filter REGEX]

Each file is the JSON sysfast-bench writes with --benchmark_out (or the
raw.json that tools/bench.sh keeps). For every benchmark in both runs it
prints the median time per operation before and after and the change, and
flags a slowdown beyond the threshold (default 10%). The exit status is 1
if any benchmark slowed down beyond it, 0 otherwise; benchmarks found in
only one run are listed but do not fail the comparison.

Medians are taken over Google Benchmark's repetitions (from the "median"
aggregate when the file holds only aggregates). The time is
cpu_time, or real_time for benchmarks that report manual time (CPython's,
measured in a worker process). Benchmarks are matched by name, which is why
benchmark names must stay stable.

With --exponents, both files are sysfast-bench-scale runs (raw-scale.json,
which tools/bench.sh writes next to raw.json): for every series in both it
prints the exponent b of the fitted cost = a * size^b (tools/bench-scale.py's
least squares on log-log axes) before and after, and fails (exit 1) when an
exponent grew by more than --exp-tolerance (default 0.2): a cost that
grows faster with the work than it did, whatever its level. Each series
is fitted over the sizes both runs measured. 0.2 is about twice what the
exponents move between two runs on the shared 2-CPU machine; a table that
stops growing (its lookups going from flat to linear) moves one by ~1.

Noise: on a shared machine, run both sides with the same suite
(tools/bench.sh or tools/bench.sh --full) back to back, and confirm a
flagged slowdown by running again before acting on it.
"""
import argparse
import importlib.util
import json
import os
import re
import statistics
import sys


def medians(path):
    """{benchmark name: median ns/op} for one run."""
    with open(path) as f:
        data = json.load(f)
    reps, aggregate = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        manual = name.endswith("/manual_time")
        key = re.sub(r"/(manual_time|real_time)$", "", name)
        unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        t = (b["real_time"] if manual else b["cpu_time"]) * unit
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                aggregate[key] = t
        else:
            reps.setdefault(key, []).append(t)
    out = dict(aggregate)
    out.update({k: statistics.median(v) for k, v in reps.items()})
    order = list(dict.fromkeys(list(reps) + list(aggregate)))
    return {k: out[k] for k in order}


def fmt(v):
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def scale_module():
    """tools/bench-scale.py, which owns the fit."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-scale.py")
    spec = importlib.util.spec_from_file_location("bench_scale", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compare_exponents(before, after, tolerance, pattern):
    """The --exponents comparison; returns the exit status."""
    scale = scale_module()
    pa, pb = scale.series_points(before), scale.series_points(after)
    a, b = {}, {}
    # Each series is fitted over the sizes both runs measured, so that a
    # quick run compares with a full one on the quick sizes.
    for n in set(pa) & set(pb):
        common = set(x for x, _ in pa[n]) & set(x for x, _ in pb[n])
        fa = scale.fit([p for p in pa[n] if p[0] in common])
        fb = scale.fit([p for p in pb[n] if p[0] in common])
        if fa and fb:
            a[n], b[n] = fa[0], fb[0]
    for n in set(pa) ^ set(pb):
        (a if n in pa else b)[n] = None
    names = sorted(n for n in set(a) | set(b) if pattern.search(n))
    if not names:
        print("bench-compare: no scaling series to compare", file=sys.stderr)
        return 2
    width = max(len(n) for n in names)
    print(f"{'series':<{width}}  {'before b':>8}  {'after b':>8}  {'change':>7}")
    steeper = []
    for n in names:
        if a.get(n) is None or b.get(n) is None:
            where = "after" if n not in a else "before" if n not in b else "neither, or one size"
            print(f"{n:<{width}}  {'(only in ' + where + ')':>25}")
            continue
        d = b[n] - a[n]
        flag = ""
        if d > tolerance:
            flag = "  STEEPER"
            steeper.append(n)
        print(f"{n:<{width}}  {a[n]:>+8.2f}  {b[n]:>+8.2f}  {d:>+7.2f}{flag}")
    print()
    if steeper:
        print(f"{len(steeper)} series grow faster than before (exponent up by more than "
              f"{tolerance:g}): " + ", ".join(steeper))
        return 1
    print(f"no series grows faster than before (tolerance {tolerance:g} on the exponent)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--threshold", type=float, default=0.10,
                    help="relative slowdown that fails (default 0.10 = 10%%)")
    ap.add_argument("--filter", default="", help="only benchmarks matching this regex")
    ap.add_argument("--exponents", action="store_true",
                    help="compare the fitted exponents of two sysfast-bench-scale runs")
    ap.add_argument("--exp-tolerance", type=float, default=0.2,
                    help="exponent growth that fails with --exponents (default 0.2)")
    args = ap.parse_args()
    if args.threshold < 0:
        ap.error("--threshold must be >= 0")
    if args.exp_tolerance < 0:
        ap.error("--exp-tolerance must be >= 0")
    if args.exponents:
        return compare_exponents(args.before, args.after, args.exp_tolerance,
                                 re.compile(args.filter))

    a, b = medians(args.before), medians(args.after)
    pat = re.compile(args.filter)
    names = [n for n in list(dict.fromkeys(list(a) + list(b))) if pat.search(n)]
    if not names:
        print("bench-compare: no benchmark to compare", file=sys.stderr)
        return 2

    width = max(len(n) for n in names)
    print(f"{'benchmark':<{width}}  {'before ns':>10}  {'after ns':>10}  {'change':>8}")
    slower = []
    for n in names:
        if n not in a or n not in b:
            where = "after" if n in b else "before"
            print(f"{n:<{width}}  {'(only in ' + where + ')':>32}")
            continue
        change = b[n] / a[n] - 1 if a[n] > 0 else 0.0
        flag = ""
        if change > args.threshold:
            flag = "  SLOWER"
            slower.append(n)
        elif change < -args.threshold:
            flag = "  faster"
        print(f"{n:<{width}}  {fmt(a[n]):>10}  {fmt(b[n]):>10}  {change:>+8.1%}{flag}")
    print()
    if slower:
        print(f"{len(slower)} benchmark(s) slower by more than {args.threshold:.0%}: "
              + ", ".join(slower))
        return 1
    print(f"no benchmark slower by more than {args.threshold:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
