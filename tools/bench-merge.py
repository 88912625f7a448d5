#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Merges the Google Benchmark JSON files of several sysfast-bench processes
into one run.

Usage: bench-merge.py RAW.json [RAW.json ...] -o OUT.json

tools/bench.sh starts the suite as several processes, each with its share
of the repetitions: on the project's machine the cost of an indirect call
is decided per process and per call site (docs/benchmarks.md, "Noise"),
so one process's figures are one draw. The merged file keeps the first
file's context, with "processes" set to the number of files, and every
repetition of every file, in file order; Google Benchmark's aggregate
rows (mean, median, ...) are dropped, since each covers one process only:
tools/bench-report.py and tools/bench-compare.py take their medians over
the repetitions themselves. Error rows are kept. Standard library only.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("raw", nargs="+", help="sysfast-bench --benchmark_out files")
    ap.add_argument("-o", "--out", required=True, help="merged JSON to write")
    args = ap.parse_args()

    context = None
    benchmarks = []
    for path in args.raw:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"bench-merge.py: {path}: {e}")
        if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
            sys.exit(f"bench-merge.py: {path}: not a Google Benchmark JSON file")
        if context is None:
            context = dict(data.get("context", {}))
        benchmarks += [b for b in data["benchmarks"] if b.get("run_type") != "aggregate"]
    context["processes"] = len(args.raw)
    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=1)


if __name__ == "__main__":
    main()
