# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs a module as `python3 -m MODULE` would, under a sys.addaudithook
hook that writes events as JSON lines, as an application would log them
in Python: process_bench.py's Python logger.

    python3 pyhook.py (none | native | three | all) LOG -m MODULE [ARGS...]

"none" adds no hook (the baseline, through the same runpy path); "native"
the native no-op hook of _bench_floor (the floor of any native hook, and
so of sysfast: CPython builds every event's tuple once a hook exists); "three"
logs the events open, subprocess.Popen and socket.connect; "all" logs
every event. A line holds what sysfast.log writes: time, pid, thread,
event and the arguments (str, int, float, bool, None, lists as JSON;
bytes as hex; path-likes as their path; anything else as its type name).
"""
import json
import os
import runpy
import sys
import threading
import time

THREE = frozenset({"open", "subprocess.Popen", "socket.connect"})


def render(obj):
    """json's fallback for what it cannot write itself."""
    if isinstance(obj, (bytes, bytearray)):
        return {"bytes": obj.hex()}
    if hasattr(type(obj), "__fspath__"):
        return os.fspath(obj)
    return {"type": type(obj).__name__}


def install(mode, path):
    if mode == "none":
        return
    if mode == "native":
        import _bench_floor
        _bench_floor.install()
        return
    if mode not in ("three", "all"):
        raise SystemExit(f"pyhook: unknown mode {mode!r}")
    out = open(path, "a", encoding="utf-8", errors="surrogateescape")
    encode = json.JSONEncoder(default=render, check_circular=False).encode
    now, ident, pid = time.time, threading.get_ident, os.getpid()
    events = THREE if mode == "three" else None

    def hook(event, args):
        if events is None or event in events:
            out.write(encode({"time": now(), "pid": pid, "thread": ident(),
                              "event": event, "args": args}) + "\n")
    sys.addaudithook(hook)


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "-m":
        raise SystemExit("usage: pyhook.py (none | native | three | all) LOG -m MODULE [ARGS...]")
    mode, path, module = sys.argv[1], sys.argv[2], sys.argv[4]
    sys.argv = [module] + sys.argv[5:]
    # Not this script's directory: the module's imports resolve as
    # under `python3 -m`, which puts the working directory first.
    sys.path[0] = os.getcwd()
    install(mode, path)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
