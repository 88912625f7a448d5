#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns a sysfast-bench-scale run into the scaling report.

    tools/bench-scale.py RAW-SCALE.json [--out-dir DIR] [--docs DOCDIR]

For every series (one operation or memory figure, one library) it takes
the median over the repetitions at each size, fits cost = a * size^b by
least squares on log-log axes and says whether the growth is flat,
logarithmic or linear, with b. Prints the tables; writes into DIR (default:
next to the input) scale.md, scale.json, scale.png (cost against size,
log-log, libsysfast beside CPython) and scale-threads.png (per-thread cost
against threads). --docs DOCDIR also copies them to DOCDIR and rewrites the
section of DOCDIR.md between the bench-scale markers.

The fit is also what tools/bench-compare.py --exponents checks between two
runs (series_points and fit). Needs only the standard library; the plots need matplotlib (Debian's
python3-matplotlib) and are skipped with a warning without it.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import sys

# Families: a title, the series drawn together, and the label of the size.
FAMILIES = [
    ("intern", "Interning: cost per call at n live strings", "live strings",
     ["intern/hit", "intern/find", "intern/miss"]),
    ("intern_mem", "Interning: bytes per string beyond its 16-byte payload", "live strings",
     ["intern/mem_rss", "intern/mem_alloc"]),
    ("events", "Event names: cost per call at n known names", "known event names",
     ["events/lookup", "events/first_call", "events/second_call"]),
    ("events_mem", "Event names: bytes per event", "known event names",
     ["events/mem_rss", "events/mem_alloc", "events/interp_mem_rss",
      "events/interp_mem_alloc"]),
    ("hooks", "Hooks: one dispatch with n hooks on the event", "hooks on the event",
     ["hooks/dispatch"]),
    ("hooks_add", "Hooks: adding hook number n (10,000 events known)", "hooks already added",
     ["hooks/add"]),
    ("hooks_add_events", "Hooks: adding a filtered hook with n events known", "known events",
     ["hooks/add_events"]),
    ("interps", "Interpreters: create and destroy, n live", "live sub-interpreters",
     ["interps/create", "interps/destroy"]),
    ("interps_mem", "Interpreters: memory per interpreter", "live sub-interpreters",
     ["interps/rss", "interps/vm"]),
    ("deep", "deepsizeof: time per node", "nodes",
     ["deepsizeof/wide", "deepsizeof/chain"]),
    ("deep_mem", "deepsizeof: peak extra memory per node", "nodes",
     ["deepsizeof/wide_peak", "deepsizeof/chain_peak"]),
    ("trace", "Tracing: what a no-op C tracer adds per event it gets", "lines per call",
     ["trace/overhead"]),
    ("trace_calls", "Tracing: one call of n lines, untraced and traced", "lines per call",
     ["trace/call_untraced", "trace/call_traced"]),
]
THREAD_SERIES = ["threads/dispatch", "threads/intern"]

# What each series should do, as the design says (docs/benchmarks.md,
# "Scaling"): the exponent of the per-operation (or per-item) cost. A key
# "SERIES IMPL" overrides "SERIES" for one library.
EXPECT = {
    "hooks/add cpython": "linear (each add raises sys.addaudithook through every hook)",
    "intern/hit": "flat (hash table; steps up as the strings leave the caches)",
    "intern/find": "flat (as hit)",
    "intern/miss": "flat (as hit, plus one allocation)",
    "intern/mem_rss": "flat",
    "intern/mem_alloc": "flat",
    "events/lookup": "flat",
    "events/first_call": "flat",
    "events/second_call": "flat",
    "events/mem_rss": "flat",
    "events/mem_alloc": "flat",
    "events/interp_mem_rss": "flat",
    "events/interp_mem_alloc": "flat",
    "hooks/dispatch": "linear (every hook is called)",
    "hooks/add": "flat in hooks (linear in known events: each add matches its patterns "
                 "against every known name)",
    "hooks/add_events": "linear (each add matches its patterns against every known name)",
    "interps/create": "flat",
    "interps/destroy": "flat",
    "interps/rss": "flat",
    "interps/vm": "flat",
    "deepsizeof/wide": "flat",
    "deepsizeof/chain": "flat",
    "deepsizeof/wide_peak": "flat",
    "deepsizeof/chain_peak": "flat",
    "trace/overhead": "flat",
    "trace/call_untraced": "linear (one event per line)",
    "trace/call_traced": "linear (one event per line)",
}

IMPLS = [("sysfast", "libsysfast"), ("cpython", "CPython 3.11")]


def load(path):
    """(context, {(series, impl): {"metric": m, "sizes": {n: [values]}}})"""
    with open(path) as f:
        data = json.load(f)
    series, errors = {}, []
    for b in data.get("benchmarks", []):
        key = (b.get("scale_series"), b.get("scale_impl", "sysfast"))
        if key[0] is None:
            continue
        if b.get("error_occurred"):
            errors.append(f"{b['name']}: {b.get('error_message', 'error')}")
            continue
        s = series.setdefault(key, {"metric": b.get("scale_metric", "ns/op"), "sizes": {}})
        s["sizes"].setdefault(int(b["scale_size"]), []).append(float(b["cpu_time"]))
    return data.get("context", {}), series, errors


def medians(s):
    """[(size, median)] in size order."""
    return sorted((n, statistics.median(v)) for n, v in s["sizes"].items())


def fit(points):
    """Least squares of log(cost) on log(size): (exponent, r2), or None
    with fewer than two positive points."""
    pts = [(math.log(n), math.log(v)) for n, v in points if n > 0 and v > 0]
    if len(pts) < 2:
        return None
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in pts) / sxx
    ss = sum((y - my) ** 2 for _, y in pts)
    res = sum((y - (my + b * (x - mx))) ** 2 for x, y in pts)
    return b, (1 - res / ss) if ss > 0 else 1.0


def log_fit_r2(points):
    """R² of cost = a + c * ln(size), the logarithmic model."""
    pts = [(math.log(n), v) for n, v in points if n > 0]
    if len(pts) < 3:
        return None
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    ss = sum((y - my) ** 2 for _, y in pts)
    if sxx == 0 or ss == 0:
        return None
    c = sum((x - mx) * (y - my) for x, y in pts) / sxx
    return 1 - sum((y - (my + c * (x - mx))) ** 2 for x, y in pts) / ss


# |b| below this is flat: over four decades a cost that changes by less
# than 2.5x (10^(4*0.1)) is as good as constant on a shared machine.
FLAT = 0.1
LOG_MIN_B = 0.05
LOG_R2 = 0.9


def growth(points, b):
    """'flat', 'logarithmic', 'sub-linear', 'linear', 'super-linear' or
    'falling'. Logarithmic: the model a + c ln(n) explains the points
    (R² at least LOG_R2, and no worse than the power law) and the cost
    does rise (b at least LOG_MIN_B); a + c ln(n) with a large a has a
    small power-law exponent, so this is asked before 'flat'."""
    if b is None:
        return "?"
    if b >= 0.8:
        return "linear" if b <= 1.2 else "super-linear"
    if b < -FLAT:
        return "falling"
    r_log, r_pow = log_fit_r2(points), fit(points)[1]
    if b >= LOG_MIN_B and r_log is not None and r_log >= LOG_R2 and r_log >= r_pow:
        return "logarithmic"
    if b < FLAT:
        return "flat"
    return "sub-linear"


def analyse(series):
    """One entry per series: its medians, fit and growth."""
    out = []
    for (name, impl), s in sorted(series.items()):
        pts = medians(s)
        f = fit(pts)
        out.append({
            "series": name, "impl": impl, "metric": s["metric"],
            "points": pts,
            "exponent": f[0] if f else None, "r2": f[1] if f else None,
            "growth": growth(pts, f[0] if f else None),
            "expect": EXPECT.get(f"{name} {impl}", EXPECT.get(name, "")),
        })
    return out


def series_points(path):
    """{"series impl": [(size, median)]} of a run, the thread series left
    out (their size is a thread count): what bench-compare fits."""
    _, series, _ = load(path)
    return {f"{name} {impl}": medians(s) for (name, impl), s in series.items()
            if not name.startswith("threads/")}


def fmt(v):
    if v is None:
        return "—"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def size_label(n):
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if n >= div and n % div == 0:
            return f"{n // int(div)}{unit}"
    return str(n)


def grid(head, body, markdown):
    if markdown:
        return ["| " + " | ".join(head) + " |",
                "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"] + \
            ["| " + " | ".join(row) + " |" for row in body]
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(head), line(["-" * w for w in widths])] + [line(r) for r in body]


def family_lines(title, rows, markdown):
    sizes = sorted({n for r in rows for n, _ in r["points"]})
    head = ["series"] + [size_label(n) for n in sizes] + ["exponent", "growth", "expected"]
    body = []
    by = {(r["series"], r["impl"]): r for r in rows}
    for r in rows:
        vals = dict(r["points"])
        label = f"{r['series']} {dict(IMPLS).get(r['impl'], r['impl'])} ({r['metric']})"
        body.append([label] + [fmt(vals.get(n)) for n in sizes] + [
            "—" if r["exponent"] is None else f"{r['exponent']:+.2f}",
            r["growth"], r["expect"]])
        other = by.get((r["series"], "sysfast"))
        if r["impl"] == "cpython" and other:
            mine = dict(other["points"])
            body.append([f"{r['series']} CPython / libsysfast"] +
                        [f"{vals[n] / mine[n]:.2f}×" if vals.get(n) and mine.get(n) else "—"
                         for n in sizes] + ["", "", ""])
    return [f"**{title}**" if markdown else title, ""] + grid(head, body, markdown) + [""]


def thread_lines(rows, markdown):
    rows = [r for r in rows if r["series"] in THREAD_SERIES]
    if not rows:
        return []
    counts = sorted({n for r in rows for n, _ in r["points"]})
    head = ["series"] + [f"{n} thr" for n in counts] + [f"{counts[-1]} thr / 1 thr"]
    body = []
    for r in rows:
        vals = dict(r["points"])
        body.append([f"{r['series']} ({r['metric']} per thread)"] +
                    [fmt(vals.get(n)) for n in counts] +
                    [f"{vals[counts[-1]] / vals[1]:.2f}×" if vals.get(1) else "—"])
    title = "Threads: CPU time per operation, per thread, with n threads at once"
    return [f"**{title}**" if markdown else title, ""] + grid(head, body, markdown) + [""]


def report_lines(ctx, rows, errors, markdown):
    lines = []
    for key, title, _, names in FAMILIES:
        fam = [r for r in rows if r["series"] in names]
        fam.sort(key=lambda r: (names.index(r["series"]), [i for i, _ in IMPLS].index(r["impl"])
                                if r["impl"] in dict(IMPLS) else 9))
        if fam:
            lines += family_lines(title, fam, markdown)
    lines += thread_lines(rows, markdown)
    for e in errors:
        lines.append(("- " if markdown else "") + "error: " + e)
    lines.append(f"Machine: {ctx.get('cpu_model', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
                 f"{int(ctx.get('mem_total_kib', 0)) // 1024} MiB; load average at the start "
                 f"{', '.join(str(x) for x in ctx.get('load_avg', []))}; suite "
                 f"{ctx.get('suite', '?')}; {ctx.get('date', '?')}; CPython "
                 f"{ctx.get('cpython_version', '?')}, libsysfast "
                 f"{ctx.get('libsysfast_version', '?')}.")
    return lines


def plot(rows, path, threads_path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-scale: no matplotlib (python3-matplotlib): no plots", file=sys.stderr)
        return False
    fams = [f for f in FAMILIES if any(r["series"] in f[3] for r in rows)]
    cols = 2
    nrow = max(1, (len(fams) + cols - 1) // cols)
    fig, axes = plt.subplots(nrow, cols, figsize=(14, 4.2 * nrow), squeeze=False)
    styles = {"sysfast": "-", "cpython": "--"}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (_, title, xlabel, names) in zip(axes.flat, fams):
        # One colour per operation, solid for libsysfast, dashed for CPython.
        for r in sorted((r for r in rows if r["series"] in names),
                        key=lambda r: (names.index(r["series"]), r["impl"] != "sysfast")):
            pts = [(n, v) for n, v in r["points"] if v > 0]
            if not pts:
                continue
            b = "" if r["exponent"] is None else f", n^{r['exponent']:+.2f} {r['growth']}"
            ax.plot([n for n, _ in pts], [v for _, v in pts], styles.get(r["impl"], ":"),
                    color=colors[names.index(r["series"]) % len(colors)],
                    marker="o" if r["impl"] == "sysfast" else "s",
                    label=f"{r['series'].split('/', 1)[1]} "
                          f"{dict(IMPLS).get(r['impl'], r['impl'])}{b}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(next((r["metric"] for r in rows if r["series"] in names), ""))
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(fams):]:
        ax.axis("off")
    fig.suptitle("libsysfast (solid) and CPython 3.11 (dashed): cost against size, log-log; "
                 "fitted exponent per series", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=90)
    plt.close(fig)

    trows = [r for r in rows if r["series"] in THREAD_SERIES]
    if trows:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for r in trows:
            ax.plot([n for n, _ in r["points"]], [v for _, v in r["points"]], "o-",
                    label=r["series"].split("/", 1)[1])
        counts = sorted({n for r in trows for n, _ in r["points"]})
        ax.set_xticks(counts)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("threads at once")
        ax.set_ylabel("CPU ns per operation, per thread")
        ax.set_title("libsysfast: per-thread cost against threads")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(threads_path, dpi=90)
        plt.close(fig)
    return True


BEGIN = "<!-- BEGIN bench-scale"
END = "<!-- END bench-scale -->"


def update_page(page, docdir, md):
    """Rewrites the section of the docs page between the bench-scale
    markers with the latest tables and plots."""
    with open(page) as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        print(f"bench-scale: no bench-scale markers in {page}", file=sys.stderr)
        return False
    start = text.index("\n", start) + 1
    section = md + [
        "",
        f"![Cost against size, log-log, libsysfast beside CPython]({docdir}/scale.png)",
        "",
        f"![Per-thread cost against threads]({docdir}/scale-threads.png)",
        "",
        f"Files: [{docdir}/scale.md]({docdir}/scale.md), "
        f"[{docdir}/scale.json]({docdir}/scale.json), "
        f"[{docdir}/raw-scale.json]({docdir}/raw-scale.json) (every repetition).",
        "",
    ]
    with open(page, "w") as f:
        f.write(text[:start] + "\n".join(section) + text[end:])
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("raw", help="JSON written by sysfast-bench-scale --out")
    ap.add_argument("--out-dir", help="where to write scale.{md,json,png}")
    ap.add_argument("--docs", metavar="DOCDIR", help="also copy the report to DOCDIR")
    args = ap.parse_args()

    ctx, series, errors = load(args.raw)
    if not series:
        raise SystemExit(f"bench-scale: no scaling series in {args.raw}")
    rows = analyse(series)
    print("\n".join(report_lines(ctx, rows, errors, markdown=False)))
    md = report_lines(ctx, rows, errors, markdown=True)
    out = args.out_dir or os.path.dirname(os.path.abspath(args.raw))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "scale.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(out, "scale.json"), "w") as f:
        json.dump({"machine": ctx, "series": rows, "errors": errors}, f, indent=1,
                  ensure_ascii=False)
    have_plot = plot(rows, os.path.join(out, "scale.png"),
                     os.path.join(out, "scale-threads.png"))
    print(f"Wrote {out}/scale.md, scale.json" + (", scale.png, scale-threads.png"
                                                  if have_plot else ""))
    if args.docs:
        os.makedirs(args.docs, exist_ok=True)
        for name in ("scale.md", "scale.json", "scale.png", "scale-threads.png"):
            if os.path.exists(os.path.join(out, name)):
                shutil.copyfile(os.path.join(out, name), os.path.join(args.docs, name))
        shutil.copyfile(args.raw, os.path.join(args.docs, "raw-scale.json"))
        page = args.docs.rstrip("/") + ".md"
        if os.path.exists(page) and update_page(
                page, os.path.basename(args.docs.rstrip("/")), md):
            print(f"Updated {page}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
