#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks tools/bench-report.py and tools/bench-compare.py on made-up runs.

Usage: bench-tools.py SOURCE_ROOT

Each case writes a small Google Benchmark JSON file (the fields
sysfast-bench writes: repetitions, cpu_time or real_time for manual time,
the allocation counters) and runs the tool on it as tools/bench.sh would,
then looks at its exit status and output. Standard library only; the
report's plot is not looked at.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
REPORT = os.path.join(ROOT, "tools", "bench-report.py")
COMPARE = os.path.join(ROOT, "tools", "bench-compare.py")
MERGE = os.path.join(ROOT, "tools", "bench-merge.py")
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)


def run_json(path, times, allocs=0.0, context=None):
    """Writes a run: {name: ns} with three repetitions each; names ending
    in /manual_time report real_time, as CPython's baselines do. `context`
    adds to the JSON context (what the binary recorded it loaded)."""
    benchmarks = []
    for family, (name, ns) in enumerate(times.items()):
        manual = name.endswith("/manual_time")
        for rep in range(3):
            t = ns * (1.0 + 0.01 * (rep - 1))
            benchmarks.append({
                "name": name, "run_name": name, "run_type": "iteration",
                "family_index": family, "per_family_instance_index": 0,
                "repetitions": 3, "repetition_index": rep, "threads": 1,
                "iterations": 1000, "time_unit": "ns",
                "real_time": t if manual else t * 1.01,
                "cpu_time": 0.001 if manual else t,
                "allocs/op": allocs, "frees/op": allocs, "B/op": 0.0,
            })
    with open(path, "w") as f:
        json.dump({"context": {"date": "2026-11-21T00:00:00+00:00", "num_cpus": 2,
                               "mhz_per_cpu": 2500, **(context or {})},
                   "benchmarks": benchmarks}, f)


def tool(*args):
    p = subprocess.run([sys.executable] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def row(out, name, after=None):
    """The report's table line for `name`, split into cells; with `after`,
    the first such line after the line that starts with `after`."""
    lines = out.splitlines()
    if after:
        lines = lines[next((i for i, x in enumerate(lines) if x.startswith(after)),
                           len(lines)):]
    for line in lines:
        cells = line.split()
        if cells and cells[0] == name:
            return cells
    return None


BASE = {
    "limit/flag_branch": 0.5,
    "limit/fnptr_array/hooks:1/args:2": 10.0,
    "limit/fnptr_array/hooks:8/args:2": 40.0,
    "limit/direct_calls/hooks:8/args:2": 38.0,
    "sysfast/audit/nohook": 0.5,
    "cpython/audit/nohook/manual_time": 15.0,
    "sysfast/audit/hooks:1/args:2": 12.0,
    "cpython/audit/hooks:1/manual_time": 300.0,
}

with tempfile.TemporaryDirectory() as tmp:
    # Every target of these rows holds: 30x, 1.0x the limit, 25x, 1.2x.
    good = os.path.join(tmp, "good.json")
    run_json(good, BASE)
    rc, out = tool(REPORT, good, "--out-dir", tmp, "--check")
    check(rc == 0, "report --check exits 0 when every target holds")
    cells = row(out, "audit/hooks:1/args:2")
    check(cells is not None and "25.0×" in cells and cells[-1] == "yes",
          "report computes the 1-hook ratio (300 / 12 = 25.0x) and judges it")
    check("slow spells" not in out, "no slow-spell note when indirect ~ direct calls")
    with open(os.path.join(tmp, "report.json")) as f:
        rep = json.load(f)
    check(abs(rep["indirect_call_penalty"] - 40.0 / 38.0) < 0.01,
          "report.json gives the indirect-call penalty (40 / 38)")

    # The 1-hook dispatch at 20 ns: 15x CPython (< 20x) and 2x the limit.
    slow = dict(BASE, **{"sysfast/audit/hooks:1/args:2": 20.0})
    bad = os.path.join(tmp, "bad.json")
    run_json(bad, slow)
    rc, out = tool(REPORT, bad, "--out-dir", tmp, "--check")
    check(rc == 1, "report --check exits 1 when a target fails")
    cells = row(out, "audit/hooks:1/args:2")
    check(cells is not None and cells[-1] == "NO", "the failing row says NO")
    check("failing: audit/hooks:1/args:2 (≥20× vs CPython)" in out,
          "the summary names the failed target")

    # Allocations on an audit path fail the 0-allocs target.
    alloc = os.path.join(tmp, "alloc.json")
    run_json(alloc, BASE, allocs=1.0)
    rc, out = tool(REPORT, alloc, "--out-dir", tmp, "--check")
    check(rc == 1 and row(out, "audit/nohook")[-1] == "NO",
          "an allocation per call fails the 0-allocs target")

    # A slow spell: indirect calls 2.5x the direct ones.
    spell = os.path.join(tmp, "spell.json")
    run_json(spell, dict(BASE, **{"limit/fnptr_array/hooks:8/args:2": 95.0}))
    rc, out = tool(REPORT, spell, "--out-dir", tmp)
    check("2.5x the same eight direct calls" in out and "slow spells" in out,
          "a slow spell is named with its ratio")
    with open(os.path.join(tmp, "report.md")) as f:
        check("slow spells" in f.read(), "... in the Markdown report too")

    # The frame chain: libsysfast at most 1.5x the runtime's own code.
    frames = dict(BASE, **{"limit/frames/runtime_own": 2.0, "sysfast/frames/untraced": 2.8,
                           "sysfast/frames/untraced_call": 9.0})
    fr = os.path.join(tmp, "frames.json")
    run_json(fr, frames)
    rc, out = tool(REPORT, fr, "--out-dir", tmp, "--check")
    cells = row(out, "frames/untraced")
    check(rc == 0 and cells is not None and "1.40×" in cells and "≤1.5×" in cells
          and cells[-1] == "yes",
          "report holds the frame chain to 1.5x the runtime's own (2.8 / 2.0 = 1.40x)")
    cells = row(out, "frames/untraced_call")
    check(cells is not None and "4.50×" in cells and "≤1.5×" not in cells,
          "the exported functions' row shows its ratio with no target")
    run_json(fr, dict(frames, **{"sysfast/frames/untraced": 3.2}))
    rc, out = tool(REPORT, fr, "--out-dir", tmp, "--check")
    check(rc == 1 and "failing: frames/untraced (≤1.5× limit)" in out,
          "1.6x the runtime's own fails the frame chain's target")

    # The ways of loading: each run labelled by the library its binary says
    # it loaded, whatever the order of --also.
    def ctx(loaded, tls, malloc="jemalloc 5.3.0", path="/x/libsysfast.so.0"):
        return {"libsysfast_loaded": loaded, "libsysfast_tls": tls,
                "libsysfast_file": path, "malloc": malloc,
                "malloc_proof": f"{malloc} moved"}
    static_run = os.path.join(tmp, "static.json")
    run_json(static_run, dict(BASE, **{"sysfast/audit_args/hooks:1": 7.0,
                                       "sysfast/intern/known": 20.0}),
             context=ctx("linked", "initial-exec", path="/x/static-tls/libsysfast.so.0"))
    default_run = os.path.join(tmp, "default.json")
    run_json(default_run, {"sysfast/audit_args/hooks:1": 14.0, "sysfast/intern/known": 25.0,
                           "sysfast/audit/hooks:1/args:2": 12.0},
             context=ctx("linked", "descriptors"))
    dlopen_run = os.path.join(tmp, "dlopen.json")
    run_json(dlopen_run, {"dlopen/audit_args/hooks:1": 28.0, "dlopen/intern/known": 40.0,
                          "alloc/intern/new": 200.0,
                          "alloc/add_audit_hook/manual_time": 5000.0},
             context=ctx("dlopen", "descriptors"))
    glibc_run = os.path.join(tmp, "glibc.json")
    run_json(glibc_run, {"alloc/intern/new": 300.0,
                         "alloc/add_audit_hook/manual_time": 6000.0},
             context=ctx("dlopen", "descriptors", malloc="glibc 2.36"))
    rc, out = tool(REPORT, static_run, "--out-dir", tmp, "--also", glibc_run,
                   "--also", dlopen_run, "--also", default_run)
    check(rc == 0 and "Loading libsysfast: what each way costs" in out,
          "report shows the loading table given the other ways' runs")
    cells = row(out, "audit_args/hooks:1", after="Loading libsysfast")
    check(cells == ["audit_args/hooks:1", "7.00", "14.0", "28.0", "2.00×", "4.00×"],
          "the loading row has each way's ns/op and the ratios to static TLS (2x, 4x)")
    cells = row(out, "audit/hooks:1/args:2", after="Loading libsysfast")
    check(cells is not None and cells[3] == "—",
          "a macro row has no dlopen figure")
    check("linked, static-TLS: /x/static-tls/libsysfast.so.0" in out,
          "the loading table names the file each way loaded")
    cells = row(out, "alloc/intern/new")
    check(cells == ["alloc/intern/new", "300", "200", "1.50×"],
          "the allocator table has glibc's and jemalloc's figures and their ratio")
    check(row(out, "alloc/add_audit_hook") is not None and "glibc 2.36 moved" in out,
          "... the manual-time row by its stable name, and each allocator's proof")
    with open(os.path.join(tmp, "report.json")) as f:
        rep = json.load(f)
    check(rep["loading"]["rows"][0]["benchmark"] == "audit_args/hooks:1"
          and abs(rep["loading"]["rows"][0]["ratio"]["dlopened"] - 4.0) < 1e-9
          and rep["allocators"]["rows"][0]["ns"]["glibc"] == 300.0,
          "report.json carries both tables")
    with open(os.path.join(tmp, "report.md")) as f:
        md = f.read()
    check("| audit_args/hooks:1 | 7.00 | 14.0 | 28.0 | 2.00× | 4.00× |" in md,
          "the Markdown report has the loading table")
    rc, out = tool(REPORT, static_run, "--out-dir", tmp, "--also", static_run)
    check(rc != 0 and "cannot tell them apart" in out,
          "two runs that loaded the same way are refused")
    rc, out = tool(REPORT, good, "--out-dir", tmp)
    check(rc == 0 and "Loading libsysfast" not in out,
          "no loading table from a run that recorded no library")

    # The regression guard: 15% slower fails at the default 10%, 5% does not.
    after = os.path.join(tmp, "after.json")
    run_json(after, dict(BASE, **{"sysfast/audit/hooks:1/args:2": 12.0 * 1.15}))
    rc, out = tool(COMPARE, good, after)
    check(rc == 1 and "sysfast/audit/hooks:1/args:2" in out,
          "compare exits 1 on a 15% slowdown and names the benchmark")
    rc, out = tool(COMPARE, good, after, "--threshold", "0.20")
    check(rc == 0, "compare passes the same change at --threshold 0.20")
    run_json(after, dict(BASE, **{"sysfast/audit/hooks:1/args:2": 12.0 * 1.05}))
    rc, out = tool(COMPARE, good, after)
    check(rc == 0, "compare passes a 5% change at the default threshold")

    # Several processes: bench-merge pools their repetitions and drops
    # each process's own aggregates.
    p1, p2 = os.path.join(tmp, "p1.json"), os.path.join(tmp, "p2.json")
    merged = os.path.join(tmp, "merged.json")
    run_json(p1, BASE)
    run_json(p2, dict(BASE, **{"sysfast/audit/hooks:1/args:2": 30.0}))
    with open(p1) as f:
        data = json.load(f)
    data["benchmarks"].append({
        "name": "sysfast/audit/hooks:1/args:2_median",
        "run_name": "sysfast/audit/hooks:1/args:2", "run_type": "aggregate",
        "aggregate_name": "median", "time_unit": "ns", "real_time": 999.0,
        "cpu_time": 999.0, "family_index": 0, "per_family_instance_index": 0})
    with open(p1, "w") as f:
        json.dump(data, f)
    rc, out = tool(MERGE, p1, p2, "-o", merged)
    check(rc == 0, "merge exits 0 on two runs")
    with open(merged) as f:
        data = json.load(f)
    reps = [b for b in data["benchmarks"]
            if b.get("run_name") == "sysfast/audit/hooks:1/args:2"]
    check(data["context"].get("processes") == 2 and data["context"].get("num_cpus") == 2,
          "the merged context is the first run's, with processes = 2")
    check(len(reps) == 6 and all(b["run_type"] == "iteration" for b in reps),
          "the merged run has every repetition of both and no aggregate")
    rc, out = tool(REPORT, merged, "--out-dir", tmp)
    cells = row(out, "audit/hooks:1/args:2")
    check(rc == 0 and cells is not None and cells[1] == "20.9",
          "the report's median is over both processes' repetitions (20.9)")
    check("2 processes, repetitions pooled" in out, "the report says how many processes")
    rc, out = tool(MERGE, p1, os.path.join(tmp, "missing.json"), "-o", merged)
    check(rc != 0 and "missing.json" in out, "merge names a file it cannot read")
    rc, out = tool(MERGE, REPORT, "-o", merged)
    check(rc != 0 and "bench-report.py" in out, "merge refuses a file that is not JSON")

SCALE = os.path.join(ROOT, "tools", "bench-scale.py")


def scale_json(path, series):
    """Writes a sysfast-bench-scale run: {(series, impl): {size: value}},
    three repetitions each, 1% apart."""
    benchmarks = []
    for (name, impl), points in series.items():
        for n, v in points.items():
            for rep in range(3):
                t = v * (1.0 + 0.01 * (rep - 1))
                benchmarks.append({
                    "name": f"scale/{name}/{impl}/size:{n}", "run_type": "iteration",
                    "repetitions": 3, "repetition_index": rep, "time_unit": "ns",
                    "real_time": t, "cpu_time": t, "scale_series": name,
                    "scale_impl": impl, "scale_size": n, "scale_metric": "ns/op"})
    with open(path, "w") as f:
        json.dump({"context": {"suite": "full", "num_cpus": 2}, "benchmarks": benchmarks}, f)


def scale_cases(tmp):
    """bench-scale.py's fits and bench-compare.py --exponents."""
    sizes = [1000, 10000, 100000, 1000000]
    flat = {n: 30.0 for n in sizes}
    linear = {n: 30.0 * n / 1000 for n in sizes}
    log = {n: 30.0 + 10.0 * math.log(n) for n in sizes}
    before = os.path.join(tmp, "scale-before.json")
    scale_json(before, {("intern/hit", "sysfast"): flat, ("intern/hit", "cpython"): log,
                        ("hooks/dispatch", "sysfast"): linear})
    rc, out = tool(SCALE, before, "--out-dir", tmp)
    check(rc == 0, "bench-scale exits 0 on a run without errors")
    with open(os.path.join(tmp, "scale.json")) as f:
        rows = {(r["series"], r["impl"]): r for r in json.load(f)["series"]}
    hit, py, hooks = (rows[("intern/hit", "sysfast")], rows[("intern/hit", "cpython")],
                      rows[("hooks/dispatch", "sysfast")])
    check(abs(hit["exponent"]) < 1e-9 and hit["growth"] == "flat",
          "a constant cost fits exponent 0, flat")
    check(abs(hooks["exponent"] - 1.0) < 1e-9 and hooks["growth"] == "linear",
          "a cost proportional to the size fits exponent 1, linear")
    check(0 < py["exponent"] < 0.5 and py["growth"] == "logarithmic",
          "a + c ln(n) is told logarithmic")
    cells = row(out, "intern/hit", after="Interning")
    check(cells is not None and "+0.00" in cells and "flat" in cells,
          "the table prints the exponent and the growth")
    check(any(line.startswith("intern/hit CPython / libsysfast") for line in out.splitlines()),
          "the table has CPython's ratio where both ran")

    # The exponent check: the same run passes, a flat cost turned linear
    # fails and names it, a small change passes, a quick run (fewer
    # sizes) is compared on the sizes both have.
    after = os.path.join(tmp, "scale-after.json")
    rc, out = tool(COMPARE, "--exponents", before, before)
    check(rc == 0 and "no series grows faster" in out, "--exponents passes the same run")
    scale_json(after, {("intern/hit", "sysfast"): linear, ("intern/hit", "cpython"): log,
                       ("hooks/dispatch", "sysfast"): linear})
    rc, out = tool(COMPARE, "--exponents", before, after)
    check(rc == 1 and "STEEPER" in out and "intern/hit sysfast" in out
          and "hooks/dispatch sysfast" not in out.split("grow faster than before")[-1],
          "--exponents fails on a flat cost turned linear and names only that series")
    rc, out = tool(COMPARE, "--exponents", before, after, "--exp-tolerance", "1.5")
    check(rc == 0, "... and passes it under a tolerance above the change")
    scale_json(after, {("intern/hit", "sysfast"): {n: 30.0 * (n / 1000) ** 0.1 for n in sizes},
                       ("intern/hit", "cpython"): log, ("hooks/dispatch", "sysfast"): linear})
    rc, out = tool(COMPARE, "--exponents", before, after)
    check(rc == 0, "--exponents passes an exponent 0.1 up at the default tolerance")
    scale_json(after, {("intern/hit", "sysfast"): {1000: 30.0, 1000000: 30000.0},
                       ("hooks/dispatch", "sysfast"): {1000: 30.0, 1000000: 30000.0}})
    rc, out = tool(COMPARE, "--exponents", before, after, "--filter", "^hooks")
    check(rc == 0 and "intern/hit" not in out,
          "--exponents fits the sizes both runs have and honours --filter")


with tempfile.TemporaryDirectory() as scale_tmp:
    scale_cases(scale_tmp)

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
