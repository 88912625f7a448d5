# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cost per logged event: sysfast.log() against a sys.addaudithook hook
that writes the same JSON line with json.dumps, in one process.

    PYTHONPATH=build/release/python /usr/bin/python3 python/bench/log_bench.py

The sink goes in first, on its own event; the Python hook, which cannot
be removed, goes in last and logs another event, so that neither ever
runs for the other's events (the Python hook still tests the name of
every event, as such a hook must). Prints ns per sys.audit() call, best
of 5 runs.
"""
import json
import os
import sys
import tempfile
import threading
import time

import sysfast

CALLS = 200_000
RUNS = 5
ARGS = ("/usr/lib/python3.11/json/decoder.py", "r", 524288)


def best(event):
    audit = sys.audit
    times = []
    for _ in range(RUNS):
        start = time.perf_counter_ns()
        for _ in range(CALLS):
            audit(event, *ARGS)
        times.append(time.perf_counter_ns() - start)
    return min(times) / CALLS


def main():
    with tempfile.TemporaryDirectory() as tmp:
        idle = best("bench.log.none")
        sink = sysfast.log(os.path.join(tmp, "sysfast.jsonl"), "bench.log.native")
        native = best("bench.log.native")
        sink.close()

        out = open(os.path.join(tmp, "python.jsonl"), "a", encoding="utf-8")
        dumps, now, getpid, ident = json.dumps, time.time, os.getpid, threading.get_ident

        def hook(event, args):
            if event == "bench.log.python":
                out.write(dumps({"time": now(), "pid": getpid(), "thread": ident(),
                                 "event": event, "args": list(args)}) + "\n")

        sys.addaudithook(hook)
        python = best("bench.log.python")
        out.close()
    print(f"no listener (sysfast imported): {idle:.0f} ns")
    print(f"sysfast.log:                    {native:.0f} ns")
    print(f"sys.addaudithook + json.dumps:  {python:.0f} ns")


if __name__ == "__main__":
    main()
