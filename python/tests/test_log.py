# SPDX-License-Identifier: LGPL-2.1-or-later
"""sysfast.log(): the native JSON Lines sink. Each test closes its sinks;
the ones that need a process of their own (exit, seal) run one."""
import inspect
import json
import math
import os
import pathlib
import sys
import threading
import time

import pytest

from conftest import run_python
import sysfast


@pytest.fixture
def logfile(tmp_path):
    """A log() that writes to a fresh file and is closed when the test
    ends; returns (log, lines), lines() parsing what the file holds."""
    path = tmp_path / "audit.jsonl"
    made = []

    def log(events, **kwargs):
        sink = sysfast.log(path, events, **kwargs)
        made.append(sink)
        return sink

    def lines():
        sysfast.flush()
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    yield log, lines
    for sink in made:
        sink.close()


class Opaque:
    pass


class Place:
    def __init__(self, path):
        self.path = path

    def __fspath__(self):
        return self.path


def test_each_argument_type_renders_as_documented(logfile):
    log, lines = logfile
    log("t.log.types")
    sys.audit("t.log.types", "plain", 'q"b\\s\n\t\x01é€😀', "\udcff",
              b"\x00\xffab", bytearray(b"\x01"), 7, -2**63, 2**100, -(2**70),
              1.5, 0.1, 1e300, -0.0, float("inf"), float("-inf"), float("nan"),
              True, False, None, (1, [2, (3, [])]), [],
              pathlib.PurePosixPath("/etc/hosts"), Place(b"/b\xff"), Opaque())
    (line,) = lines()
    assert line["args"] == [
        "plain", 'q"b\\s\n\t\x01é€😀', "\udcff",
        {"bytes": "00ff6162"}, {"bytes": "01"}, 7, -2**63, 2**100, -(2**70),
        1.5, 0.1, 1e300, -0.0, "Infinity", "-Infinity", "NaN",
        True, False, None, [1, [2, [3, []]]], [],
        "/etc/hosts", {"bytes": "2f62ff"}, {"type": "Opaque"}]
    assert math.copysign(1, line["args"][12]) == -1


def test_logging_runs_no_python_code(logfile):
    # A profile function would see any Python frame the sink ran.
    log, lines = logfile
    log("t.log.noframes")
    frames = []
    sys.setprofile(lambda frame, event, arg: frames.append(event))
    sys.audit("t.log.noframes", "s", b"b", 1, 2.5, None, (1, [2]), Opaque())
    sys.setprofile(None)
    assert [e for e in frames if e == "call"] == []
    assert len(lines()) == 1


def test_a_line_has_time_pid_thread_event_and_args(logfile):
    log, lines = logfile
    before = time.time()
    log("t.log.fields")
    sys.audit("t.log.fields", 1)
    (line,) = lines()
    assert list(line) == ["time", "pid", "thread", "event", "args"]
    assert before <= line["time"] <= time.time() + 1
    assert line["pid"] == os.getpid()
    assert line["thread"] == threading.get_ident()
    assert line["event"] == "t.log.fields"


def test_an_int_too_long_for_str_renders_as_its_type(logfile):
    log, lines = logfile
    log("t.log.hugeint")
    sys.audit("t.log.hugeint", 10**5000)
    assert lines()[0]["args"] == [{"type": "int"}]


def test_a_list_that_holds_itself_ends_in_its_type_name(logfile):
    log, lines = logfile
    log("t.log.cycle")
    loop = []
    loop.append(loop)
    sys.audit("t.log.cycle", loop)
    depth, value = 0, lines()[0]["args"][0]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert value == {"type": "list"}
    assert depth == 32


def test_only_the_matching_events_are_written(logfile):
    log, lines = logfile
    log(("t.log.pat.*", "t.log.exact"))
    for name in ("t.log.pat.a", "t.log.pat.", "t.log.exact", "t.log.exactly",
                 "t.log.pa"):
        sys.audit(name)
    assert [line["event"] for line in lines()] == [
        "t.log.pat.a", "t.log.pat.", "t.log.exact"]


def test_args_false_writes_no_arguments(logfile):
    log, lines = logfile
    log("t.log.noargs", args=False)
    sys.audit("t.log.noargs", 1, 2)
    assert "args" not in lines()[0]


def test_args_dict_selects_arguments_per_event(logfile):
    log, lines = logfile
    log("t.log.sel.*", args={"t.log.sel.a": [2, 0, 9], "t.log.sel.b": True,
                             "t.log.sel.*": False, "t.log.sel.c": [0]})
    sys.audit("t.log.sel.a", "zero", "one", "two")
    sys.audit("t.log.sel.b", "zero", "one")
    sys.audit("t.log.sel.c", "zero")
    got = lines()
    assert got[0]["args"] == ["two", "zero"]
    assert got[1]["args"] == ["zero", "one"]
    # The first matching pattern wins: "t.log.sel.*" comes before.
    assert "args" not in got[2]


def test_an_event_no_args_key_matches_gets_no_arguments(logfile):
    log, lines = logfile
    log("t.log.unsel", args={"other": True})
    sys.audit("t.log.unsel", 1)
    assert "args" not in lines()[0]


def test_lines_from_many_threads_never_interleave(logfile):
    log, lines = logfile
    log("t.log.threads")
    # Long enough lines that the 64 KiB buffer fills many times.
    text = "x" * 300

    def work(n):
        for i in range(2000):
            sys.audit("t.log.threads", n, i, text)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = lines()
    assert len(got) == 8000
    for n in range(4):
        mine = [line["args"][1] for line in got if line["args"][0] == n]
        assert mine == list(range(2000))


def test_each_line_names_the_thread_that_raised_it(logfile):
    # The pid and thread fields are rendered once per run of one
    # thread's events: switching threads must switch them.
    log, lines = logfile
    log("t.log.whose")
    idents = {}

    def work(n):
        idents[n] = threading.get_ident()
        for i in range(50):
            sys.audit("t.log.whose", n)
            time.sleep(0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    sys.audit("t.log.whose", "main")
    for t in threads:
        t.join()
    idents["main"] = threading.get_ident()
    got = lines()
    assert len(got) == 151
    for line in got:
        assert line["thread"] == idents[line["args"][0]]
        assert line["pid"] == os.getpid()


def test_event_names_are_escaped_as_json_strings(logfile):
    log, lines = logfile
    names = ['t.log.name"quote', "t.log.name\\back", "t.log.name\ttab", "t.log.nameé€😀",
             "t.log.name\x7f"]
    log("t.log.name*")
    for name in names:
        sys.audit(name)
    assert [line["event"] for line in lines()] == names


def test_rate_limit_counts_each_suppressed_line_in_a_summary(logfile):
    log, lines = logfile
    before = sysfast.stats()
    log("t.log.rate.*", rate_limit=(3, 3600))
    for i in range(10):
        sys.audit("t.log.rate.a", i)
    for i in range(4):
        sys.audit("t.log.rate.b", i)
    got = lines()
    after = sysfast.stats()
    assert [line["args"][0] for line in got if "args" in line] == [0, 1, 2, 0, 1, 2]
    summaries = {line["event"]: line for line in got if "suppressed" in line}
    assert summaries["t.log.rate.a"]["suppressed"] == 7
    assert summaries["t.log.rate.b"]["suppressed"] == 1
    assert summaries["t.log.rate.a"]["rate_limit"] == [3, 3600.0]
    assert after["suppressed"] - before["suppressed"] == 8
    assert after["logged"] - before["logged"] == 6


def test_rate_limit_summary_comes_when_the_window_ends(logfile):
    log, lines = logfile
    log("t.log.window", rate_limit=(1, 0.05))
    for i in range(3):
        sys.audit("t.log.window", i)
    time.sleep(0.1)
    sys.audit("t.log.window", 3)
    got = lines()
    assert got[0]["args"] == [0]
    assert got[1]["suppressed"] == 2
    assert got[2]["args"] == [3]
    assert len(got) == 3


def test_close_writes_what_is_buffered_and_stops(tmp_path):
    path = tmp_path / "a.jsonl"
    sink = sysfast.log(str(path), "t.log.close")
    sys.audit("t.log.close", 1)
    assert path.read_text() == ""
    sink.close()
    sink.close()
    assert sink.closed
    sys.audit("t.log.close", 2)
    sysfast.flush()
    assert [json.loads(l)["args"] for l in path.read_text().splitlines()] == [[1]]


def test_flush_writes_to_a_file_descriptor_and_a_fileno_object(tmp_path):
    path = tmp_path / "fd.jsonl"
    with open(path, "ab") as f:
        by_fd = sysfast.log(f.fileno(), "t.log.fd")
        by_object = sysfast.log(f, "t.log.fd")
        sys.audit("t.log.fd")
        sysfast.flush()
        by_fd.close()
        by_object.close()
    assert len(path.read_text().splitlines()) == 2


def test_an_appended_path_keeps_what_it_held(tmp_path):
    path = tmp_path / "keep.jsonl"
    path.write_text('{"old": 1}\n')
    sink = sysfast.log(path, "t.log.append")
    sys.audit("t.log.append")
    sink.close()
    assert len(path.read_text().splitlines()) == 2


def test_the_log_is_written_at_exit_without_flush(tmp_path):
    path = tmp_path / "exit.jsonl"
    run_python(f"""
        import sys, sysfast
        sysfast.log({str(path)!r}, "t.log.exit", rate_limit=(1, 3600))
        for i in range(3):
            sys.audit("t.log.exit", i)
    """)
    got = [json.loads(l) for l in path.read_text().splitlines()]
    assert got[0]["args"] == [0]
    assert got[1]["suppressed"] == 2


def test_sealed_refuses_new_sinks_and_closing(tmp_path):
    proc = run_python(f"""
        import sysfast
        sink = sysfast.log({str(tmp_path / "s.jsonl")!r}, "t.log.seal")
        sysfast.seal()
        for f in (lambda: sysfast.log(1), sink.close):
            try:
                f()
            except PermissionError as e:
                print(e)
        sysfast.flush()
    """)
    assert proc.stdout.splitlines() == ["sysfast is sealed: log refused",
                                        "sysfast is sealed: close refused"]


def test_a_sink_makes_its_events_listened_to(logfile):
    log, _ = logfile
    assert not sysfast.listening("t.log.listen")
    sink = log("t.log.listen")
    assert sysfast.listening("t.log.listen")
    sink.close()
    assert not sysfast.listening("t.log.listen")


@pytest.mark.parametrize("target", [None, 1.5, True, object()])
def test_a_target_of_another_kind_is_a_type_error(target):
    with pytest.raises(TypeError, match="target"):
        sysfast.log(target)


def test_a_negative_or_closed_descriptor_is_refused():
    with pytest.raises(ValueError, match="target"):
        sysfast.log(-1)
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        sysfast.log(w)


@pytest.mark.parametrize("args, exc", [
    (None, TypeError), (1, TypeError), ([0], TypeError),
    ({1: [0]}, TypeError), ({"e": "0"}, TypeError), ({"e": [1.0]}, TypeError),
    ({"e": [True]}, TypeError), ({"e": [-1]}, ValueError),
])
def test_bad_args_name_the_argument(tmp_path, args, exc):
    with pytest.raises(exc, match="args"):
        sysfast.log(tmp_path / "x", "e", args=args)


@pytest.mark.parametrize("rate, exc", [
    (5, TypeError), ((1,), TypeError), (("1", 1), TypeError), ((True, 1), TypeError),
    ((0, 1), ValueError), ((1, 0), ValueError), ((1, float("inf")), ValueError),
    ((1, float("nan")), ValueError),
])
def test_bad_rate_limit_names_the_argument(tmp_path, rate, exc):
    with pytest.raises(exc, match="rate_limit"):
        sysfast.log(tmp_path / "x", "e", rate_limit=rate)


def test_a_refused_sink_leaves_no_file_descriptor_open(tmp_path):
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError):
        sysfast.log(tmp_path / "x", "e", rate_limit=(0, 1))
    assert len(os.listdir("/proc/self/fd")) == before


def test_log_sink_cannot_be_made_directly():
    with pytest.raises(TypeError):
        sysfast.LogSink()


def test_log_signature_is_introspectable():
    assert str(inspect.signature(sysfast.log)) == (
        "(target, events=None, *, args=True, rate_limit=None)")
    assert str(inspect.signature(sysfast.flush)) == "()"


def test_a_forked_child_does_not_write_the_parents_lines_again(logfile):
    log, lines = logfile
    log("t.log.fork.*")
    sys.audit("t.log.fork.parent")
    pid = os.fork()
    if pid == 0:
        sys.audit("t.log.fork.child")
        sysfast.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    got = lines()
    assert sorted((line["event"], line["pid"]) for line in got) == [
        ("t.log.fork.child", pid), ("t.log.fork.parent", os.getpid())]
