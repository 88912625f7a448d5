#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compares two sysfast-bench runs benchmark by benchmark.

    tools/bench-compare.py BEFORE.json AFTER.json [--threshold 0.10] [--filter REGEX]

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

Noise: on a shared machine, run both sides with the same suite
(tools/bench.sh or tools/bench.sh --full) back to back, and confirm a
flagged slowdown by running again before acting on it.
"""
import argparse
import json
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--threshold", type=float, default=0.10,
                    help="relative slowdown that fails (default 0.10 = 10%%)")
    ap.add_argument("--filter", default="", help="only benchmarks matching this regex")
    args = ap.parse_args()
    if args.threshold < 0:
        ap.error("--threshold must be >= 0")

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
