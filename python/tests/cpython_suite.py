# SPDX-License-Identifier: LGPL-2.1-or-later
"""CPython's own audit and sys tests, run with sysfast imported and a
catch-all log sink active, the sink's lines checked against a plain
sys.addaudithook recorder in the same process.

    python3 cpython_suite.py [TEST...]    (default: test_audit test_sys
                                            test_sys_settrace)

sysfast must be importable (PYTHONPATH), and CPython's test package too
(Debian's libpython3.11-testsuite; without it the script exits 77, which
meson counts as skipped). The tests run in a child
interpreter; this process compares what it left and exits non-zero if a
test failed, a hook went quiet or the sink and the recorder disagree.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

TESTS = ["test_audit", "test_sys", "test_sys_settrace"]
# Marks the start and end of each test module, for both hooks.
MARK = "sysfast.cpython_suite"
MAX_DEPTH = 32
HEAPTYPE = 1 << 9


def type_name(obj):
    """The C type's tp_name, as the sink writes it: a static type's holds
    its module; a class statement's is its __name__."""
    t = type(obj)
    if t.__flags__ & HEAPTYPE or t.__module__ == "builtins":
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def render(obj, depth=0):
    """One argument as the sink renders it (docs/python.md), as json.loads
    reads the sink's line back, floats read as {"float": digits}."""
    if obj is None or obj is True or obj is False:
        return obj
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        try:
            return int(int.__repr__(obj))
        except ValueError:
            return {"type": type_name(obj)}
    if isinstance(obj, float):
        if obj != obj:
            return "NaN"
        if obj in (float("inf"), float("-inf")):
            return "Infinity" if obj > 0 else "-Infinity"
        return {"float": float.__repr__(obj)}
    if isinstance(obj, (bytes, bytearray)):
        return {"bytes": bytes(obj).hex()}
    if isinstance(obj, (tuple, list)) and depth < MAX_DEPTH:
        return [render(item, depth + 1) for item in obj]
    if hasattr(type(obj), "__fspath__"):
        try:
            path = os.fspath(obj)
        except Exception:
            return {"type": type_name(obj)}
        return render(path, depth)
    return {"type": type_name(obj)}


def child(log_path, rec_path, tests):
    """The tests, with both hooks in; exits with the worst status."""
    import _thread
    import faulthandler

    import sysfast
    from test.libregrtest.main import main

    sysfast.log(log_path, None)
    records = []
    recording = [True]

    def recorder(event, args):
        if not recording[0]:
            return
        rendered = [render(a) for a in args]
        records.append([_thread.get_ident(), event, rendered])

    sys.addaudithook(recorder)
    # regrtest reads its options from sys.argv.
    sys.argv[1:] = []
    status = 0
    per_test = {}
    for test in tests:
        sys.audit(MARK, "begin", test)
        try:
            main([test])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            status = max(status, code)
        # regrtest arms a faulthandler timer that ends the process unless
        # it exits; the next module runs in the same process.
        faulthandler.cancel_dump_traceback_later()
        sys.audit(MARK, "end", test)
        per_test[test] = sysfast.stats()
    # json.dump calls id(), whose "builtins.id" events the recorder would
    # add to the list being written.
    recording[0] = False
    with open(rec_path, "w", encoding="utf-8") as f:
        json.dump({"pid": os.getpid(), "stats": per_test, "records": records}, f)
    sys.exit(status)


def float_tag(digits):
    return {"float": digits}


def read_log(path, pid):
    """The sink's lines of the tests' own process, parsed."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for text in f:
            line = json.loads(text, parse_float=float_tag)
            if line["pid"] == pid and "event" in line and "suppressed" not in line:
                lines.append([line["thread"], line["event"], line.get("args", [])])
    return lines


def between_marks(entries, test=None):
    """The entries from the first begin mark to the last end mark (of one
    test module, or of all)."""
    begin = end = None
    for i, (_, event, args) in enumerate(entries):
        if event != MARK or (test is not None and args[1] != test):
            continue
        if args[0] == "begin" and begin is None:
            begin = i
        elif args[0] == "end":
            end = i
    if begin is None or end is None:
        return None
    return entries[begin:end + 1]


def same_value(logged, recorded):
    """The sink renders objects of other types by their C type name; the
    recorder's name for one of those is compared by its last part, since a
    type made from a spec has its module in tp_name but not in __name__."""
    if isinstance(logged, dict) and isinstance(recorded, dict) \
            and "type" in logged and "type" in recorded:
        return logged["type"].rpartition(".")[2] == recorded["type"].rpartition(".")[2]
    if isinstance(logged, list) and isinstance(recorded, list):
        return len(logged) == len(recorded) and all(
            same_value(a, b) for a, b in zip(logged, recorded))
    return type(logged) is type(recorded) and logged == recorded


def compare(logged, recorded):
    """Mismatches, thread by thread in order (the two hooks of one event
    run back to back, but another thread may run between them)."""
    by_thread = {}
    for source, entries in (("log", logged), ("rec", recorded)):
        for entry in entries:
            by_thread.setdefault(entry[0], {"log": [], "rec": []})[source].append(entry)
    problems = []
    for thread, pair in by_thread.items():
        log, rec = pair["log"], pair["rec"]
        for i, (a, b) in enumerate(zip(log, rec)):
            if a[1] != b[1] or not same_value(a[2], b[2]):
                problems.append(f"thread {thread}, event {i}: log {a[1:]!r} != recorder {b[1:]!r}")
                break
        if len(log) != len(rec):
            problems.append(f"thread {thread}: {len(log)} logged, {len(rec)} recorded")
    return problems


def main(tests):
    try:
        import test.libregrtest  # noqa: F401
    except ImportError:
        # meson's "skipped"; tools/deps.sh test installs the suite.
        print("cpython_suite: no test.libregrtest (Debian's libpython3.11-testsuite)")
        return 77
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sysfast-cpython-") as tmp:
        log_path = os.path.join(tmp, "audit.jsonl")
        rec_path = os.path.join(tmp, "recorded.json")
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                               log_path, rec_path, *tests])
        elapsed = time.monotonic() - start
        failed = []
        if proc.returncode != 0:
            failed.append(f"the tests exited with status {proc.returncode}")
        if not os.path.exists(rec_path):
            failed.append("the child left no recording")
            return report(failed, elapsed)
        with open(rec_path, encoding="utf-8") as f:
            rec = json.load(f)
        logged = read_log(log_path, rec["pid"])

    stats = rec["stats"]
    before = 0
    for test in tests:
        s = stats.get(test)
        if s is None or s["logged"] <= before:
            failed.append(f"{test}: the sink logged nothing (stats {s})")
            continue
        print(f"cpython_suite: {test}: sysfast.stats() after it: {s}")
        before = s["logged"]

    recorded = rec["records"]
    for scope in [*tests, None]:
        name = scope or "all"
        log_part = between_marks(logged, scope)
        rec_part = between_marks(recorded, scope)
        if log_part is None or rec_part is None:
            failed.append(f"{name}: marks missing (log {log_part is not None}, "
                          f"recorder {rec_part is not None})")
            continue
        problems = compare(log_part, rec_part)
        print(f"cpython_suite: {name}: {len(log_part)} events logged, "
              f"{len(rec_part)} recorded, {len(problems)} mismatches")
        failed.extend(f"{name}: {p}" for p in problems[:20])
    return report(failed, elapsed)


def report(failed, elapsed):
    print(f"cpython_suite: {elapsed:.1f} s")
    for line in failed:
        print(f"cpython_suite: FAIL: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(main(sys.argv[1:] or TESTS))
