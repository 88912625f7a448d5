# SPDX-License-Identifier: LGPL-2.1-or-later
"""Whole-process cost of audit logging, on workloads nobody here wrote:
`python3 -m test test_pickle`, `-m test test_json`, and `-m compileall -f
-q` over a copy of the standard library.

    PYTHONPATH=build/bench/python:build/bench/python/bench \\
        /usr/bin/python3 python/bench/process_bench.py \\
        [--workloads test_json,test_pickle,compileall] [--reps 5] [--json FILE]

Each workload runs under six configurations, each a fresh /usr/bin/python3
(this interpreter):

    none          no hook (pyhook.py none: the same runpy path as the others)
    native        a native no-op hook (pyhook.py native, _bench_floor): what
                  any native hook costs, sysfast's bridge included, since
                  CPython then builds every event's argument tuple
    python_three  a sys.addaudithook hook writing open, subprocess.Popen
                  and socket.connect as JSON lines (pyhook.py three)
    sysfast_three the same events with sysfast.log
                  (python3 -m sysfast run --log FILE --events ...)
    python_all    every event, by the Python hook (pyhook.py all)
    sysfast_all   every event, by sysfast.log (python3 -m sysfast run --log FILE)

The configurations are interleaved, in a shuffled order in each
repetition (the host's speed varies in spells). The figures are the
medians over the repetitions of the wall time and of the CPU time (user
and system, of the run and the processes it waited for), each with its
overhead over "none". The targets are judged on CPU time: on a shared
host, other processes stretch the wall time of a run by whole seconds
(test_pickle: 4.2 to 5.7 s with no hook, in one session), and its CPU
time less. Where a result is closer to its limit than the runs of the
configurations it compares are to each other (the largest spread of
their CPU times: "noise"), the verdict is n/a. Logs go to a
temporary directory and are deleted after each run; the lines of
sysfast_all's log give the events per second.

Targets (issue 12): logging the 3 events adds at most 0.5% on test_pickle;
logging every event with sysfast.log costs at most half of what the
Python logger costs (on every workload run). Both configurations of
sysfast pay for `-m sysfast run` (its imports: argparse, tomllib), the
others for pyhook.py's (json, runpy): the figures are what a user of
each would see.
"""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
THREE = "open,subprocess.Popen,socket.connect"

# (name, label)
CONFIGS = [
    ("none", "no hook"),
    ("native", "native no-op hook (the floor)"),
    ("python_three", "Python hook, 3 events as JSON"),
    ("sysfast_three", "sysfast.log, 3 events"),
    ("python_all", "Python hook, every event as JSON"),
    ("sysfast_all", "sysfast.log, every event"),
]

WORKLOADS = {
    "test_pickle": ["-m", "test", "test_pickle"],
    "test_json": ["-m", "test", "test_json"],
    "compileall": None,  # made in main(): needs the copy of the stdlib
}

# The most that logging 3 events may add on test_pickle.
THREE_LIMIT = 0.005


def copy_stdlib(dest):
    """A copy of the standard library without site-packages, the tests
    and compiled files: compileall's input."""
    src = sysconfig.get_paths()["stdlib"]
    skip = {"site-packages", "dist-packages", "test", "__pycache__"}
    shutil.copytree(src, dest, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in skip])
    return dest


def command(config, workload, log):
    py = sys.executable
    if config.startswith("sysfast_"):
        events = ["--events", THREE] if config == "sysfast_three" else []
        return [py, "-m", "sysfast", "run", "--log", log] + events + workload
    mode = {"none": "none", "native": "native", "python_three": "three",
            "python_all": "all"}[config]
    return [py, os.path.join(HERE, "pyhook.py"), mode, log] + workload


def child_env():
    """This environment, with PYTHONPATH's entries made absolute: the
    runs start in a temporary directory."""
    env = dict(os.environ)
    paths = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def count_lines(path):
    if not os.path.exists(path):
        return 0
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def run_one(config, workload, tmp):
    """(wall seconds, CPU seconds, exit status, lines logged, stderr) of
    one run."""
    log = os.path.join(tmp, f"{config}.jsonl")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command(config, workload, log), cwd=tmp, env=child_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    lines = count_lines(log)
    if os.path.exists(log):
        os.unlink(log)
    return seconds, cpu, proc.returncode, lines, proc.stderr.decode(errors="replace")


def measure(workloads, reps, seed, tmp):
    rng = random.Random(seed)
    results = {w: {c: {"seconds": [], "cpu": [], "status": [], "lines": []}
                   for c, _ in CONFIGS}
               for w in workloads}
    # Untimed: the first run pays for the page cache and compiled files.
    for argv in workloads.values():
        run_one("none", argv, tmp)
    for rep in range(reps):
        for name, argv in workloads.items():
            order = [c for c, _ in CONFIGS]
            rng.shuffle(order)
            for config in order:
                seconds, cpu, status, lines, err = run_one(config, argv, tmp)
                r = results[name][config]
                r["seconds"].append(seconds)
                r["cpu"].append(cpu)
                r["status"].append(status)
                r["lines"].append(lines)
                print(f"  {name} {config} run {rep + 1}/{reps}: {seconds:.2f} s, "
                      f"CPU {cpu:.2f} s, "
                      f"status {status}, {lines} lines", file=sys.stderr)
                # regrtest fails when a test does: no figure from a broken
                # run. compileall's status is compared across configurations
                # (summarise), as the copy may hold files that do not compile.
                if status != 0 and name != "compileall":
                    raise SystemExit(f"process_bench: {name} under {config} failed "
                                     f"(status {status}):\n{err[-2000:]}")
    return results


def summarise(results, reps):
    out = {"python": sys.version.split()[0], "reps": reps, "workloads": []}
    for name, by_config in results.items():
        base = statistics.median(by_config["none"]["seconds"])
        base_cpu = statistics.median(by_config["none"]["cpu"])
        statuses = {c: sorted(set(r["status"])) for c, r in by_config.items()}
        rows = []
        for config, label in CONFIGS:
            r = by_config[config]
            med = statistics.median(r["seconds"])
            cpu = statistics.median(r["cpu"])
            rows.append({"name": config, "label": label, "seconds": med,
                         "overhead": med / base - 1, "samples": r["seconds"],
                         "cpu": cpu, "cpu_overhead": cpu / base_cpu - 1, "cpu_samples": r["cpu"],
                         # How far apart its runs are (CPU time, relative to
                         # the median); None with one run.
                         "spread": (max(r["cpu"]) - min(r["cpu"])) / cpu if reps > 1 else None,
                         "status": statuses[config], "lines": max(r["lines"])})
        events = next(r["lines"] for r in rows if r["name"] == "sysfast_all")
        out["workloads"].append({
            "name": name, "rows": rows,
            "events_per_second": events / base if base else None,
            # Every configuration must end as the plain run does.
            "same_status": all(s == statuses["none"] for s in statuses.values()),
        })
    out["targets"] = targets(out["workloads"])
    return out


def judged(ok, difference, noise, measured):
    """A verdict, or None ("n/a") when `difference` (from the limit) is
    within the noise; and the measured text saying so."""
    if noise is None:
        return ok, measured + " (one run: noise unknown)"
    measured += f" (noise {noise:.1%})"
    if abs(difference) <= noise:
        return None, measured + ": within the noise"
    return ok, measured


def noise(rows, *names):
    """The largest spread among the configurations a target compares: a
    difference smaller than this says nothing. None with one run."""
    spreads = [rows[n]["spread"] for n in names]
    return None if None in spreads else max(spreads)


def targets(workloads):
    by_name = {w["name"]: {r["name"]: r for r in w["rows"]} for w in workloads}
    three = f"sysfast.log of 3 events adds <= {THREE_LIMIT:.1%} on test_pickle"
    result = []
    pickle = by_name.get("test_pickle")
    if pickle:
        over = pickle["sysfast_three"]["cpu_overhead"]
        ok, measured = judged(over <= THREE_LIMIT, over - THREE_LIMIT,
                              noise(pickle, "none", "sysfast_three"),
                              f"{over:+.2%} CPU time; the native floor "
                              f"{pickle['native']['cpu_overhead']:+.2%}")
        result.append({"target": three, "measured": measured, "ok": ok})
    else:
        result.append({"target": three, "measured": "not run (test_pickle not in this suite)",
                       "ok": None})
    for name, rows in by_name.items():
        ours, theirs = rows["sysfast_all"]["cpu_overhead"], rows["python_all"]["cpu_overhead"]
        ok, measured = judged(ours <= theirs / 2, ours - theirs / 2,
                              noise(rows, "none", "sysfast_all", "python_all"),
                              f"{ours:+.1%} vs {theirs:+.1%} CPU time")
        result.append({"target": f"every event: sysfast.log <= half the Python logger's "
                       f"overhead ({name})", "measured": measured, "ok": ok})
    return result


def verdict(ok):
    return {True: "PASS", False: "FAIL", None: "n/a"}[ok]


def print_table(summary):
    print(f"Whole process (CPython {summary['python']}; median wall and CPU time of "
          f"{summary['reps']} interleaved runs):")
    for w in summary["workloads"]:
        rate = w["events_per_second"]
        print(f"  {w['name']}" + (f" ({rate:,.0f} events/s)" if rate else "")
              + ("" if w["same_status"] else "  [exit statuses differ between configurations]"))
        width = max(len(r["label"]) for r in w["rows"])
        for r in w["rows"]:
            print(f"    {r['label']:<{width}}  {r['seconds']:8.2f} s  {r['overhead']:+7.1%}"
                  f"  CPU {r['cpu']:8.2f} s  {r['cpu_overhead']:+7.1%}")
    for t in summary["targets"]:
        print(f"  {verdict(t['ok'])}: {t['target']} ({t['measured']})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default="test_pickle,test_json,compileall",
                    help="comma-separated, of: " + ", ".join(WORKLOADS))
    ap.add_argument("--reps", type=int, default=5, help="runs of each configuration")
    ap.add_argument("--seed", type=int, default=12, help="seed of the shuffled order")
    ap.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = ap.parse_args()
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown or not names:
        ap.error(f"--workloads: unknown {', '.join(unknown) or '(none given)'}; "
                 f"choose from {', '.join(WORKLOADS)}")
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    with tempfile.TemporaryDirectory(prefix="process_bench-") as tmp:
        workloads = {}
        for name in names:
            if name == "compileall":
                lib = copy_stdlib(os.path.join(tmp, "stdlib"))
                workloads[name] = ["-m", "compileall", "-f", "-q", lib]
            else:
                workloads[name] = WORKLOADS[name]
        summary = summarise(measure(workloads, args.reps, args.seed, tmp), args.reps)
    print_table(summary)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
