#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns one sysfast-bench JSON run into the benchmark report.

    tools/bench-report.py RAW.json [--also RAW2.json ...] [--out-dir DIR]
                          [--docs DOCDIR] [--check]

Prints one table: each libsysfast benchmark's median ns/op, its CPython
baseline's, the speed-up (baseline / libsysfast), the slow-down against its
reference limit (libsysfast / limit), allocations per call, its targets
(issue 4) and whether they hold. Writes into DIR (default: next to RAW.json)
report.md (the table, the reference figures and the machine), report.json
(the same, for machines) and report.png (ratios and thread scaling).
--docs DOCDIR also copies them to DOCDIR as table.md, results.json,
plot.png and raw.json (the tree docs/benchmarks.md shows). --check exits 1
when a target fails.

--python-event and --python-process add the CPython module's tables,
"CPython module: per event" and "CPython module: whole process", from
python/bench/event_bench.py and process_bench.py (their --json); with
--python-missing WHY the report says instead why they are missing. Their
PASS/FAIL lines are issue 12's targets; --check does not count them.
--docs copies their JSON too.

--also adds runs of the other ways of loading libsysfast (tools/bench.sh
runs sysfast-bench with the default library first on the library path,
sysfast-bench-dlopen's dlopen/ rows, and its alloc/ rows under glibc's
malloc and under jemalloc). Each run is labelled by what its binary
recorded in the JSON context, never by the file's name: which libsysfast
it loaded (libsysfast_loaded, libsysfast_tls) and whose malloc served it
(malloc). Two more tables come of them: "Loading libsysfast: what each
way costs" (each library-function row linked with the static-TLS
variant, linked with the default library and dlopened, with the ratios to
the first) and "The library's allocations: glibc malloc and jemalloc"
(the alloc/ rows under each allocator). --docs copies these runs too,
under their own names.

Figures are medians over the run's repetitions of CPU time per operation:
Google Benchmark's cpu_time (the thread's CPU time; for threaded runs, the
per-thread time per operation) for in-process benchmarks, and the worker's
thread CPU time (reported as manual time) for CPython's. Ratios are taken
within the one run, so drift of the machine cancels.

Needs only the standard library; the plot needs matplotlib (Debian's
python3-matplotlib) and is skipped with a warning without it.
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys

# What each libsysfast benchmark is held to (issue 4, "Targets").
#   base: CPython baseline, min: least speed-up (base / sysfast)
#   limit: reference limit, max: most slow-down (sysfast / limit)
SPEC = {
    "sysfast/audit/nohook": dict(
        base="cpython/audit/nohook", min=8.0, limit="limit/flag_branch", max=1.5),
    "sysfast/audit/other_events": dict(
        base="cpython/audit/filter_other", min=60.0, limit="limit/flag_branch"),
    "sysfast/audit/hooks:1/args:2": dict(
        base="cpython/audit/hooks:1", min=20.0,
        limit="limit/fnptr_array/hooks:1/args:2", max=1.5),
    "sysfast/audit/hooks:8/args:2": dict(
        base="cpython/audit/hooks:8", min=5.0, limit="limit/fnptr_array/hooks:8/args:2"),
    # sysfast_audit, a function (issue 13): called by name, and through a
    # pointer; its speed comes from the library's per-thread memo.
    "sysfast/audit_format/hooks:1": dict(
        base="cpython/audit/hooks:1", min=5.0, limit="limit/varargs_rcu/hooks:1/args:2"),
    "sysfast/audit_format_fn/hooks:1": dict(
        base="cpython/audit/hooks:1", min=5.0, limit="limit/varargs_rcu/hooks:1/args:2"),
    "sysfast/audit_args/hooks:1": dict(
        base="cpython/audit/hooks:1", limit="limit/fnptr_array/hooks:1/args:2"),
    "sysfast/audit_args/hooks:8": dict(
        base="cpython/audit/hooks:8", limit="limit/fnptr_array/hooks:8/args:2"),
    "sysfast/audit_args/nohook": dict(base="cpython/audit/nohook", limit="limit/flag_branch"),
    # The same call sites in SYSFAST_AUDIT's default form (without
    # SYSFAST_INLINE): shown, not held to a target.
    "sysfast/audit_call/nohook": dict(base="cpython/audit/nohook", limit="limit/flag_branch"),
    "sysfast/audit_call/hooks:1/args:2": dict(
        base="cpython/audit/hooks:1", limit="limit/fnptr_array/hooks:1/args:2"),
    "sysfast/audit_call/hooks:8/args:2": dict(
        base="cpython/audit/hooks:8", limit="limit/fnptr_array/hooks:8/args:2"),
    "sysfast/audit/filtered_of_50": dict(limit="limit/fnptr_array/hooks:1/args:2"),
    "sysfast/workload": dict(base="cpython/workload"),
    # Interning (bench_objects.c): no targets yet.
    "sysfast/intern/known": dict(base="cpython/intern/known", limit="limit/intern_floor"),
    "sysfast/intern/find": dict(base="cpython/intern/known"),
    # getsizeof with a constant sizeof_fn (issue 15): held on the
    # SYSFAST_INLINE form, as the audit targets are; the library's function
    # (the default form) is shown beside it, not held to a target.
    "sysfast/getsizeof_inline/str": dict(base="cpython/getsizeof/str", min=10.0),
    "sysfast/getsizeof/str": dict(base="cpython/getsizeof/str"),
    # Frame events (no CPython entry point to compare with).
    "sysfast/trace/enter_leave/none": {},
    "sysfast/trace/enter_leave/profiler": {},
    # The frame chain with nothing tracing (bench_frames.c): enter, two
    # lines, leave, against the same body as a runtime's own inline code
    # (its chain and its three flags), the "limit" of these rows.
    "sysfast/frames/untraced": dict(limit="limit/frames/runtime_own", max=1.5),
    # The same through the exported functions: shown, no target.
    "sysfast/frames/untraced_call": dict(limit="limit/frames/runtime_own"),
}
for _n in (1, 2, 4, 8):
    for _a in (0, 4):
        SPEC.setdefault(f"sysfast/audit/hooks:{_n}/args:{_a}", {})
    SPEC.setdefault(f"sysfast/audit/hooks:{_n}/args:2", {})
    if _n in (1, 8):
        SPEC[f"sysfast/audit/hooks:{_n}/args:0"].setdefault(
            "limit", f"limit/fnptr_array/hooks:{_n}/args:2")
        SPEC[f"sysfast/audit/hooks:{_n}/args:4"].setdefault(
            "limit", f"limit/fnptr_array/hooks:{_n}/args:2")

THREADS_RE = re.compile(r"^(sysfast/audit_threads/.*)/threads:(\d+)$")
THREAD_TARGET = {2: 1.2}  # threads -> most per-thread slow-down against 1 thread


def fmt_ns(v):
    if v is None:
        return "—"
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:.0f}"


def fmt_ratio(v):
    if v is None:
        return "—"
    return f"{v:.2f}×" if v < 10 else f"{v:.1f}×" if v < 100 else f"{v:.0f}×"


def fmt_count(v):
    if v is None:
        return "—"
    if v == 0:
        return "0"
    if v < 0:
        return "n/a"
    return f"{v:.3g}"


def base_name(name):
    """The stable key of a benchmark: its name without Google Benchmark's
    time-mode suffixes."""
    return re.sub(r"/(manual_time|real_time)$", "", name)


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    order = []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            key = base_name(b.get("run_name", b["name"]))
            runs.setdefault(key, {"reps": [], "median": None, "error": b.get("error_message")})
            continue
        key = base_name(b.get("run_name", b["name"]))
        manual = b.get("run_name", b["name"]).endswith("/manual_time")
        if b.get("time_unit", "ns") != "ns":
            raise SystemExit(f"{path}: {b['name']}: time unit {b['time_unit']}, want ns")
        t = b["real_time"] if manual else b["cpu_time"]
        r = runs.get(key)
        if r is None:
            r = runs[key] = {"reps": [], "median": None, "error": None,
                             "pos": (b.get("family_index", 0),
                                     b.get("per_family_instance_index", 0))}
            order.append(key)
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                r["median"] = t
            if b.get("aggregate_name") == "cv":
                r["cv"] = b.get("cpu_time") if not manual else b.get("real_time")
            continue
        r["reps"].append({
            "ns": t,
            "wall_ns": b["real_time"],
            "allocs": b.get("allocs/op"),
            "frees": b.get("frees/op"),
            "bytes": b.get("B/op"),
            "threads": b.get("threads", 1),
        })
    for r in runs.values():
        if r["reps"]:
            r["median"] = statistics.median(x["ns"] for x in r["reps"])
    # Registration order, whatever order random interleaving ran them in.
    order.sort(key=lambda k: runs[k]["pos"])
    return data, runs, order


def worst(reps, field):
    vals = [x[field] for x in reps if x.get(field) is not None]
    return max(vals) if vals else None


def build_rows(runs, order):
    rows = []
    for key in order:
        if not key.startswith("sysfast/"):
            continue
        r = runs[key]
        spec = SPEC.get(key, {})
        row = {
            "benchmark": key,
            "ns": r["median"],
            "cv": r.get("cv"),
            "allocs": worst(r["reps"], "allocs"),
            "frees": worst(r["reps"], "frees"),
            "bytes": worst(r["reps"], "bytes"),
            "baseline": spec.get("base"),
            "baseline_ns": None,
            "ratio": None,
            "limit": spec.get("limit"),
            "limit_ns": None,
            "limit_ratio": None,
            "targets": [],
        }
        m = THREADS_RE.match(key)
        limit_what = "limit"
        if m and int(m.group(2)) > 1:
            row["limit"] = f"{m.group(1)}/threads:1"
            limit_what = "1 thread"
            mx = THREAD_TARGET.get(int(m.group(2)))
            if mx:
                spec = dict(spec, max=mx)
        if row["baseline"] and runs.get(row["baseline"], {}).get("median"):
            row["baseline_ns"] = runs[row["baseline"]]["median"]
            row["ratio"] = row["baseline_ns"] / row["ns"]
        if row["limit"] and runs.get(row["limit"], {}).get("median"):
            row["limit_ns"] = runs[row["limit"]]["median"]
            row["limit_ratio"] = row["ns"] / row["limit_ns"]
        # ok is None when the run lacks the figure to judge (e.g. filtered out).
        if "min" in spec:
            row["targets"].append({
                "what": f"≥{spec['min']:g}× vs CPython",
                "ok": None if row["ratio"] is None else row["ratio"] >= spec["min"]})
        if "max" in spec:
            row["targets"].append({
                "what": f"≤{spec['max']:g}× {limit_what}",
                "ok": None if row["limit_ratio"] is None else row["limit_ratio"] <= spec["max"]})
        # Rule 9: no audit call allocates or frees, and neither does
        # interning a known name nor a frame event with nothing set.
        row["targets"].append({
            "what": "0 allocs",
            "ok": row["allocs"] == 0 and row["frees"] == 0 and row["bytes"] == 0})
        judged = [t["ok"] for t in row["targets"] if t["ok"] is not None]
        row["ok"] = all(judged) if len(judged) == len(row["targets"]) or not all(judged) \
            else None
        if r.get("error"):
            row["error"] = r["error"]
            row["ok"] = False
        rows.append(row)
    return rows


def table_lines(rows, markdown):
    head = ["benchmark", "libsysfast ns/op", "baseline ns/op", "ratio", "limit ratio",
            "allocs/op", "target", "ok?"]
    body = []
    for r in rows:
        body.append([
            r["benchmark"].removeprefix("sysfast/"),
            fmt_ns(r["ns"]) if not r.get("error") else "error",
            fmt_ns(r["baseline_ns"]),
            fmt_ratio(r["ratio"]),
            fmt_ratio(r["limit_ratio"]),
            fmt_count(r["allocs"]),
            ", ".join(t["what"] for t in r["targets"]),
            {True: "yes", False: "NO", None: "?"}[r["ok"]],
        ])
    if markdown:
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join(["---", "--:", "--:", "--:", "--:", "--:", "---", "---"]) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return lines
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    right = {1, 2, 3, 4, 5}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(head), line(["-" * w for w in widths])]
    out += [line(row) for row in body]
    return out


def reference_lines(runs, order, markdown):
    names = [k for k in order if k.startswith(("cpython/", "limit/"))]
    if not names:
        return []
    parts = [f"{('`' + k + '`') if markdown else k} {fmt_ns(runs[k]['median'])} ns" for k in names]
    return ["Baselines and limits (median ns/op): " + "; ".join(parts) + "."]


# Above this, indirect calls cost this much more than the same direct calls
# in the run: the machine was in a slow spell (docs/benchmarks.md, "Noise").
SPELL_RATIO = 1.5
SPELL_PAIR = ("limit/fnptr_array/hooks:8/args:2", "limit/direct_calls/hooks:8/args:2")


def indirect_penalty(runs):
    """Eight indirect calls over the same eight direct, or None."""
    ind, direct = (runs.get(k, {}).get("median") for k in SPELL_PAIR)
    return ind / direct if ind and direct else None


def spell_line(runs):
    """A warning when the run's indirect calls were unusually dear."""
    p = indirect_penalty(runs)
    if p is None or p <= SPELL_RATIO:
        return []
    ind, direct = (runs[k]["median"] for k in SPELL_PAIR)
    return [f"Note: eight indirect calls took {p:.1f}x the same eight direct calls "
            f"({fmt_ns(ind)} against {fmt_ns(direct)} ns): this run fell in one of the "
            f"machine's slow spells, so every figure that calls hooks is inflated, the "
            f"limits' included (docs/benchmarks.md, \"Noise\")."]


def machine(data):
    c = data.get("context", {})
    return {
        "cpu_model": c.get("cpu_model", "unknown"),
        "num_cpus": c.get("num_cpus"),
        "mhz_per_cpu": c.get("mhz_per_cpu"),
        "date": c.get("date"),
        "load_avg": c.get("load_avg"),
        "host_name": c.get("host_name"),
        "cpython_version": c.get("cpython_version", "").split(" ")[0],
        "libsysfast_version": c.get("libsysfast_version"),
        "jemalloc_version": c.get("jemalloc_version", "").split("-")[0],
        "compiler": c.get("compiler"),
        "suite": c.get("suite", "custom"),
        "library_build_type": c.get("library_build_type"),
        "processes": c.get("processes", 1),
    }


def machine_line(m):
    load = m["load_avg"]
    load_s = ", ".join(f"{x:.2f}" for x in load) if load else "?"
    return (f"{m['cpu_model']}, {m['num_cpus']} CPUs at {m['mhz_per_cpu']} MHz; "
            f"CPython {m['cpython_version']}, jemalloc {m['jemalloc_version']}, "
            f"{m['compiler']}; suite {m['suite']} ({processes_text(m)}); {m['date']}; "
            f"load average {load_s}")


def processes_text(m):
    n = m["processes"]
    return "1 process" if n == 1 else f"{n} processes, repetitions pooled"


def summary_line(rows):
    checks = [t for r in rows for t in r["targets"]]
    failed = [f"{r['benchmark'].removeprefix('sysfast/')} ({t['what']})"
              for r in rows for t in r["targets"] if t["ok"] is False]
    unjudged = sum(1 for t in checks if t["ok"] is None)
    held = len(checks) - len(failed) - unjudged
    s = f"targets: {held} of {len(checks)} hold"
    if unjudged:
        s += f" ({unjudged} not judged: figure missing from this run)"
    return s + (": every target holds." if not failed and not unjudged
                else "; failing: " + ", ".join(failed) if failed else ".")


def target_color(row, kind):
    """Green: the row's targets of this kind hold; red: one fails; grey:
    the row has none (the figure is shown for information)."""
    ts = [t for t in row["targets"] if kind in t["what"] and t["ok"] is not None]
    if not ts:
        return "tab:gray"
    return "tab:green" if all(t["ok"] for t in ts) else "tab:red"


def ratio_panel(ax, rows, key, side, tick):
    """One horizontal bar per row: its `key` ratio, coloured by the target
    on `side`, with a black tick at the target's `tick` bound."""
    labels = [r["benchmark"].removeprefix("sysfast/") for r in rows]
    vals = [r[key] for r in rows]
    y = range(len(rows))
    ax.barh(y, vals, color=[target_color(r, side) for r in rows])
    for i, r in enumerate(rows):
        spec = SPEC.get(r["benchmark"], {})
        if tick in spec:
            ax.plot([spec[tick]] * 2, [i - 0.4, i + 0.4], color="black", lw=2)
        ax.text(vals[i], i, " " + fmt_ratio(vals[i]), va="center", fontsize=8)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1, color="grey", lw=0.8)


def plot(rows, runs, order, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-report: no matplotlib (python3-matplotlib): no plot", file=sys.stderr)
        return False
    speed = [r for r in rows if r["ratio"]]
    limit = [r for r in rows if r["limit_ratio"] and not THREADS_RE.match(r["benchmark"])]
    threads = []
    for k in order:
        m = THREADS_RE.match(k)
        if m and runs[k]["median"]:
            threads.append((int(m.group(2)), runs[k]["median"],
                            statistics.median(x["wall_ns"] for x in runs[k]["reps"])
                            if runs[k]["reps"] else None))
    threads.sort()

    fig, axes = plt.subplots(1, 3, figsize=(17, 6.5),
                             gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
    ratio_panel(axes[0], speed, "ratio", "CPython", "min")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("speed-up over CPython 3.11 doing the same (×, log)\n"
                       "black tick: target; grey: no target")
    axes[0].set_title("libsysfast vs CPython")

    ratio_panel(axes[1], limit, "limit_ratio", "limit", "max")
    axes[1].set_xlabel("time over the reference limit (×)\nblack tick: target; grey: no target")
    axes[1].set_title("libsysfast vs reference limits")

    ax = axes[2]
    if threads:
        xs = [t[0] for t in threads]
        ax.plot(xs, [t[1] for t in threads], "o-", label="per-thread CPU ns/op")
        ax.plot(xs, [threads[0][1]] * len(xs), "--", color="grey", label="perfect scaling")
        ax.plot(xs, [threads[0][1] * 1.2] * len(xs), ":", color="black",
                label="target (1.2× of 1 thread)")
        ax.set_xticks(xs)
        ax.set_ylim(0, max(t[1] for t in threads) * 1.5)
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("threads dispatching at once")
    ax.set_ylabel("ns per dispatch, per thread")
    ax.set_title("thread scaling (1 hook, 2 args)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---- the ways of loading libsysfast, and the allocators (--also) ----

# Each way, as its binary records it in the context (bench/loaded.c:
# libsysfast_loaded, libsysfast_tls), with the prefix of its rows' names.
WAYS = [
    (("linked", "initial-exec"), "linked, static-TLS", "sysfast/"),
    (("linked", "descriptors"), "linked, default", "sysfast/"),
    (("dlopen", "descriptors"), "dlopened", "dlopen/"),
]
# The library-function rows of sysfast-bench-dlopen (bench_dlopen.c), then
# call sites that only a linked program has (the macros reach symbols of
# the library), kept to show what moves with the TLS model and what not.
LOADING_ROWS = [
    "audit_args/nohook", "audit_args/hooks:1", "audit_args/hooks:8",
    "audit_format_fn/hooks:1", "event_intern/known", "intern/known",
    "audit_call/hooks:1/args:2", "audit_call/hooks:8/args:2",
    "audit/nohook", "audit/hooks:1/args:2",
]
ALLOCATORS = ["glibc", "jemalloc"]


def way_of(data):
    c = data.get("context", {})
    return (c.get("libsysfast_loaded"), c.get("libsysfast_tls"))


def allocator_of(data):
    """'glibc' or 'jemalloc' from the context's malloc, else None."""
    m = data.get("context", {}).get("malloc", "")
    return next((a for a in ALLOCATORS if m.startswith(a)), None)


def loading_section(runs_by_way):
    """The loading table's rows, or None with fewer than two ways."""
    if sum(1 for w, _, _ in WAYS if w in runs_by_way) < 2:
        return None
    rows = []
    for name in LOADING_ROWS:
        row = {"benchmark": name, "ns": {}, "ratio": {}}
        for way, label, prefix in WAYS:
            r = runs_by_way.get(way, {}).get(prefix + name)
            row["ns"][label] = r["median"] if r else None
        ref = row["ns"][WAYS[0][1]]
        for _, label, _ in WAYS[1:]:
            v = row["ns"][label]
            row["ratio"][label] = v / ref if v and ref else None
        if any(v is not None for v in row["ns"].values()):
            rows.append(row)
    return rows


def loading_lines(rows, files, markdown):
    labels = [label for _, label, _ in WAYS]
    head = ["benchmark"] + [f"{x} ns/op" for x in labels] + \
        [f"{x} / static-TLS" for x in labels[1:]]
    body = [[r["benchmark"]] + [fmt_ns(r["ns"][x]) for x in labels] +
            [fmt_ratio(r["ratio"][x]) for x in labels[1:]] for r in rows]
    notes = [bold("Loading libsysfast: what each way costs", markdown) +
             " (median ns/op; — where a way has no such call: the macros need the "
             "library linked). The file each way loaded:"]
    notes += [item(f"{label}: {code(short_path(files[label]), markdown)}", markdown)
              for label in labels if label in files]
    return notes + [""] + grid(head, body, markdown)


def bold(text, markdown):
    return f"**{text}**" if markdown else text


def code(text, markdown):
    return f"`{text}`" if markdown else text


def item(text, markdown):
    """A list item in Markdown, a line on the console."""
    return f"- {text}" if markdown else text


def short_path(path):
    """`path` relative to the working directory (the source tree, where
    tools/bench.sh runs) when it lies inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def allocator_section(runs_by_alloc):
    """The allocator table's rows, or None unless both allocators ran."""
    if not all(a in runs_by_alloc for a in ALLOCATORS):
        return None
    names = []
    for a in ALLOCATORS:
        names += [k for k in runs_by_alloc[a] if k.startswith("alloc/") and k not in names]
    rows = []
    for name in names:
        ns = {a: runs_by_alloc[a].get(name, {}).get("median") for a in ALLOCATORS}
        rows.append({"benchmark": name, "ns": ns,
                     "ratio": ns["glibc"] / ns["jemalloc"]
                     if ns["glibc"] and ns["jemalloc"] else None})
    return rows


def allocator_lines(rows, proofs, markdown):
    head = ["benchmark", "glibc malloc ns/op", "jemalloc ns/op", "glibc / jemalloc"]
    body = [[r["benchmark"], fmt_ns(r["ns"]["glibc"]), fmt_ns(r["ns"]["jemalloc"]),
             fmt_ratio(r["ratio"])] for r in rows]
    notes = [bold("The library's allocations: glibc malloc and jemalloc", markdown) +
             " (median ns/op, libsysfast dlopened, the allocator chosen at start-up). "
             "Which allocator served each run:"]
    notes += [item(f"{a}: {proofs[a]}", markdown) for a in ALLOCATORS if proofs.get(a)]
    return notes + [""] + grid(head, body, markdown)


def grid(head, body, markdown):
    """A table: Markdown, or columns aligned for the console (the first
    left, the others right)."""
    if markdown:
        return ["| " + " | ".join(head) + " |",
                "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"] + \
            ["| " + " | ".join(row) + " |" for row in body]
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(head), line(["-" * w for w in widths])] + [line(row) for row in body]


def extra_sections(main_data, main_runs, also):
    """The loading and allocator tables (their report.json parts and their
    lines for the console and Markdown) from the main run and --also runs."""
    by_way, files, by_alloc, proofs = {}, {}, {}, {}
    for data, runs, path in [(main_data, main_runs, "main run")] + also:
        way = way_of(data)
        label, prefix = next(((lb, p) for w, lb, p in WAYS if w == way), (None, None))
        # A run counts as its way's only if it has rows of that way (the
        # glibc run of sysfast-bench-dlopen has only alloc/ rows).
        if label and any(k.startswith(prefix) for k in runs):
            if way in by_way:
                raise SystemExit(f"bench-report: {path} and {files[label]} are both "
                                 f"'{label}' runs: cannot tell them apart")
            by_way[way] = runs
            files[label] = data["context"].get("libsysfast_file", "?")
        alloc = allocator_of(data)
        if alloc and any(k.startswith("alloc/") for k in runs):
            if alloc in by_alloc:
                raise SystemExit(f"bench-report: two {alloc} runs of the alloc/ rows")
            by_alloc[alloc] = runs
            proofs[alloc] = data["context"].get("malloc_proof")
            # The counting hooks put jemalloc on its slow path: say so.
            if data["context"].get("jemalloc_hooks") == "installed":
                proofs[alloc] += " (allocation counting hooks installed)"
    out = {}
    lines = {True: [], False: []}
    loading = loading_section(by_way)
    if loading:
        out["loading"] = {"files": files, "rows": loading}
        for md in (True, False):
            lines[md] += [""] + loading_lines(loading, files, md)
    allocs = allocator_section(by_alloc)
    if allocs:
        out["allocators"] = {"proof": proofs, "rows": allocs}
        for md in (True, False):
            lines[md] += [""] + allocator_lines(allocs, proofs, md)
    return out, lines


# ---- the CPython module: python/bench/event_bench.py and process_bench.py ----

def load_python(event_path, process_path, missing):
    """The two python/bench results (None where not given), or why there
    are none."""
    def read(path):
        if not path:
            return None
        with open(path) as f:
            return json.load(f)
    return {"event": read(event_path), "process": read(process_path), "missing": missing}


def verdict(ok):
    return {True: "PASS", False: "FAIL", None: "n/a"}[ok]


def python_event_lines(result, markdown):
    head = ["configuration", "ns/event", "added over no hook"]
    body = [[r["label"], f"{r['ns']:.1f}", f"{r['added_ns']:+.1f}"] for r in result["rows"]]
    notes = [bold("CPython module: per event", markdown) +
             f" (`{result['event']}` raised by `id()`, CPython {result['python']}; median ns "
             f"per call, loop included, of {result['rounds']} processes per configuration x "
             f"{result['reps']} runs of {result['calls']:,} calls; "
             f"{code('python/bench/event_bench.py', markdown)})."]
    verdicts = [item(f"{verdict(t['ok'])}: {t['target']} ({t['measured']})", markdown)
                for t in result["targets"]]
    return notes + [""] + grid(head, body, markdown) + [""] + verdicts


def python_process_lines(result, markdown):
    labels = [r["label"] for r in result["workloads"][0]["rows"]]
    head = ["configuration"]
    for w in result["workloads"]:
        head += [f"{w['name']} wall", f"{w['name']} CPU"]
    body = []
    for i, label in enumerate(labels):
        cells = []
        for w in result["workloads"]:
            r = w["rows"][i]
            if r["name"] == "none":
                cells += [f"{r['seconds']:.2f} s", f"{r['cpu']:.2f} s"]
            else:
                cells += [f"{r['seconds']:.2f} s ({r['overhead']:+.1%})",
                          f"{r['cpu']:.2f} s ({r['cpu_overhead']:+.1%})"]
        body.append([label] + cells)
    rates = ", ".join(f"{w['name']} {w['events_per_second']:,.0f} events/s"
                      for w in result["workloads"] if w.get("events_per_second"))
    notes = [bold("CPython module: whole process", markdown) +
             f" (CPython {result['python']}; median wall and CPU time of {result['reps']} "
             f"interleaved runs, overhead over no hook; targets judged on CPU time; "
             f"{code('python/bench/process_bench.py', markdown)}). Events: {rates}."]
    odd = [w["name"] for w in result["workloads"] if not w["same_status"]]
    if odd:
        notes.append(f"Exit statuses differ between configurations: {', '.join(odd)}.")
    verdicts = [item(f"{verdict(t['ok'])}: {t['target']} ({t['measured']})", markdown)
                for t in result["targets"]]
    return notes + [""] + grid(head, body, markdown) + [""] + verdicts


def python_sections(py):
    """The two CPython module tables (report.json's part and the lines for
    the console and Markdown), or a line saying why they are missing."""
    lines = {True: [], False: []}
    if py["event"] is None and py["process"] is None and py["missing"] is None:
        return None, lines
    for md in (True, False):
        if py["event"]:
            lines[md] += [""] + python_event_lines(py["event"], md)
        if py["process"]:
            lines[md] += [""] + python_process_lines(py["process"], md)
        if py["missing"]:
            lines[md] += ["", bold("CPython module", md) + f": not measured: {py['missing']}."]
    return {k: v for k, v in py.items() if v is not None}, lines


BEGIN = "<!-- BEGIN bench-report"
END = "<!-- END bench-report -->"


def update_page(page, docdir, md, m):
    """Rewrites the section of the docs page between the bench-report
    markers with the latest table, plot and machine."""
    with open(page) as f:
        text = f.read()
    start = text.find(BEGIN)
    end = text.find(END)
    if start < 0 or end < start:
        print(f"bench-report: no bench-report markers in {page}", file=sys.stderr)
        return
    start = text.index("\n", start) + 1
    section = [
        f"Suite `{m['suite']}` ({processes_text(m)}), run {m['date']} on {m['cpu_model']} "
        f"({m['num_cpus']} CPUs, {m['mhz_per_cpu']} MHz; `lscpu`: "
        f"{lscpu_summary()}), CPython {m['cpython_version']}, "
        f"jemalloc {m['jemalloc_version']}, {m['compiler']}.",
        "",
    ] + md[:-3] + [
        "",
        md[-1],
        "",
        f"![Speed-ups over CPython, ratios to the reference limits and thread scaling]"
        f"({docdir}/plot.png)",
        "",
        f"Files: [{docdir}/table.md]({docdir}/table.md), "
        f"[{docdir}/results.json]({docdir}/results.json), "
        f"[{docdir}/raw.json]({docdir}/raw.json) (Google Benchmark's JSON: every repetition of every process).",
        "",
    ]
    with open(page, "w") as f:
        f.write(text[:start] + "\n".join(section) + text[end:])


def lscpu_summary():
    """CPU model, sockets, cores and threads per core, from lscpu."""
    try:
        import subprocess
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unavailable"
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    get = lambda k: info.get(k, "?").strip()
    return (f"{get('CPU(s)')} CPUs, {get('Socket(s)')} socket, "
            f"{get('Core(s) per socket')} cores per socket, "
            f"{get('Thread(s) per core')} thread per core, {get('Hypervisor vendor')} guest, "
            f"L2 {get('L2 cache')}, L3 {get('L3 cache')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("raw", help="JSON written by sysfast-bench --benchmark_out")
    ap.add_argument("--also", action="append", default=[], metavar="RAW",
                    help="a run of another way of loading libsysfast (repeatable)")
    ap.add_argument("--out-dir", help="where to write report.{md,json,png}")
    ap.add_argument("--docs", metavar="DOCDIR", help="also copy the report to DOCDIR")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    ap.add_argument("--python-event", metavar="JSON",
                    help="python/bench/event_bench.py's result: the per-event table")
    ap.add_argument("--python-process", metavar="JSON",
                    help="python/bench/process_bench.py's result: the whole-process table")
    ap.add_argument("--python-missing", metavar="WHY",
                    help="say why the CPython module was not measured")
    args = ap.parse_args()

    data, runs, order = load(args.raw)
    rows = build_rows(runs, order)
    if not rows:
        raise SystemExit(f"bench-report: no libsysfast benchmark in {args.raw}")
    m = machine(data)
    summary = summary_line(rows)
    also = []
    for path in args.also:
        a_data, a_runs, _ = load(path)
        also.append((a_data, a_runs, path))
    extra, extra_lines = extra_sections(data, runs, also)
    py_json, py_lines = python_sections(
        load_python(args.python_event, args.python_process, args.python_missing))
    if py_json:
        extra["python"] = py_json
    for md in (True, False):
        extra_lines[md] += py_lines[md]

    print()
    print("\n".join(table_lines(rows, markdown=False)))
    print()
    for line in reference_lines(runs, order, markdown=False) + spell_line(runs):
        print(line)
    if extra_lines[False]:
        print("\n".join(extra_lines[False] + [""]))
    print("Machine: " + machine_line(m))
    print(summary)

    out = args.out_dir or os.path.dirname(os.path.abspath(args.raw))
    os.makedirs(out, exist_ok=True)
    md = table_lines(rows, markdown=True) + [""] + reference_lines(runs, order, True)
    for line in spell_line(runs):
        md += ["", line]
    md += extra_lines[True]
    md += ["", "Machine: " + machine_line(m), "", summary[0].upper() + summary[1:]]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump({"machine": m, "rows": rows,
                   "references": {k: runs[k]["median"] for k in order
                                  if k.startswith(("cpython/", "limit/"))},
                   "indirect_call_penalty": indirect_penalty(runs),
                   **extra,
                   "summary": summary}, f, indent=1, ensure_ascii=False)
    have_plot = plot(rows, runs, order, os.path.join(out, "report.png"))
    print(f"Wrote {out}/report.md, report.json" + (", report.png" if have_plot else ""))

    if args.docs:
        os.makedirs(args.docs, exist_ok=True)
        for src, dst in (("report.md", "table.md"), ("report.json", "results.json"),
                         ("report.png", "plot.png")):
            if os.path.exists(os.path.join(out, src)):
                shutil.copyfile(os.path.join(out, src), os.path.join(args.docs, dst))
        shutil.copyfile(args.raw, os.path.join(args.docs, "raw.json"))
        for path in args.also + [p for p in (args.python_event, args.python_process) if p]:
            shutil.copyfile(path, os.path.join(args.docs, os.path.basename(path)))
        print(f"Copied the report to {args.docs}/")
        page = args.docs.rstrip("/") + ".md"
        if os.path.exists(page):
            update_page(page, os.path.basename(args.docs.rstrip("/")), md, m)
            print(f"Updated {page}")

    failed = any(r["ok"] is False for r in rows)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
