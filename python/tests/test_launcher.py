# SPDX-License-Identifier: LGPL-2.1-or-later
"""sysfast-python: python3 with the bridge in before CPython starts
(docs/python.md, "The launcher"). meson passes its path in
SYSFAST_LAUNCHER."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

import sysfast

LAUNCHER = os.environ.get("SYSFAST_LAUNCHER")

pytestmark = pytest.mark.skipif(not LAUNCHER, reason="SYSFAST_LAUNCHER is not set")

SYSFAST_VARS = ("SYSFAST_LOG", "SYSFAST_EVENTS", "SYSFAST_POLICY")


def run(argv, interpreter=None, cwd=None, **variables):
    """Runs `interpreter` (the launcher by default) with `argv` and the
    SYSFAST_* `variables`, sysfast importable as in this process."""
    env = {k: v for k, v in os.environ.items() if k not in SYSFAST_VARS}
    if interpreter is None:
        # In the ASan build the launcher carries its own sanitizer
        # runtime, linked in; the one preloaded for python3 would clash.
        env.pop("LD_PRELOAD", None)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(sysfast.__file__))
    env.update(variables)
    return subprocess.run([interpreter or LAUNCHER] + argv, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def read_log(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_runs_a_command_as_python3_does():
    code = "import sys; print(sys.argv[1:], sys.flags.optimize, __name__); sys.exit(7)"
    ours = run(["-O", "-c", code, "a", "--b"])
    theirs = run(["-O", "-c", code, "a", "--b"], interpreter=sys.executable)
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout)
    assert ours.returncode == 7
    assert ours.stdout == "['a', '--b'] 1 __main__\n"


def test_runs_a_script_and_a_module_as_python3_does(tmp_path):
    (tmp_path / "prog.py").write_text(
        "import sys, helper\nprint(sys.argv, helper.__name__, __name__)\n")
    (tmp_path / "helper.py").write_text("print('helper', __name__)\n")
    for argv in (["prog.py", "x"], ["-m", "prog", "y"]):
        ours = run(argv, cwd=tmp_path)
        theirs = run(argv, interpreter=sys.executable, cwd=tmp_path)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == theirs.stdout
        assert ours.stderr == theirs.stderr


def test_an_error_in_the_program_is_reported_as_python3_does():
    ours = run(["-c", "1/0"])
    theirs = run(["-c", "1/0"], interpreter=sys.executable)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr


def test_start_up_events_are_logged_before_the_program(tmp_path):
    log = tmp_path / "audit.jsonl"
    proc = run(["-c", "pass"], SYSFAST_LOG=str(log))
    assert proc.returncode == 0, proc.stderr
    lines = read_log(log)
    events = [line["event"] for line in lines]
    start = events.index("cpython.run_command")
    site = [i for i, line in enumerate(lines)
            if line["event"] == "import" and line["args"][0] == "site"]
    assert site and site[0] < start
    assert all(line["pid"] == lines[0]["pid"] for line in lines)
    # Exit flushes the sink.
    assert events[-1] == "cpython.PyInterpreterState_Clear"


def test_events_choose_what_the_log_writes(tmp_path):
    log = tmp_path / "audit.jsonl"
    proc = run(["-c", "import sys; sys.audit('launcher.x', 1)"], SYSFAST_LOG=str(log),
               SYSFAST_EVENTS=" launcher.* , import")
    assert proc.returncode == 0, proc.stderr
    lines = read_log(log)
    assert {line["event"] for line in lines} == {"import", "launcher.x"}
    assert lines[-1]["args"] == [1]


def test_import_sysfast_shares_the_launchers_runtime(tmp_path):
    log = tmp_path / "audit.jsonl"
    code = textwrap.dedent("""\
        import json, sys, sysfast
        before = sysfast.stats()
        seen = []
        sysfast.subscribe(lambda event, args: seen.append(args), "launcher.y")
        sys.audit("launcher.y", 2)
        sysfast.flush()
        print(json.dumps({
            "origin": sysfast._sysfast.__spec__.origin,
            "listening": sysfast.listening("open"),
            "before": before, "after": sysfast.stats(), "seen": seen}))
        """)
    proc = run(["-c", code], SYSFAST_LOG=str(log), SYSFAST_EVENTS="open,launcher.y")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["origin"] == "built-in"
    # The launcher's sink, which no Python code made, listens.
    assert out["listening"] is True
    # The counters began before the import: the start-up's opens.
    assert out["before"]["logged"] > 0
    assert out["before"]["seen"] > out["before"]["logged"]
    # One dispatch: the subscription and the launcher's sink both saw it.
    assert out["seen"] == [[2]]
    lines = read_log(log)
    assert len(lines) == out["after"]["logged"]
    assert lines[-1]["event"] == "launcher.y" and lines[-1]["args"] == [2]


def test_the_import_check_finds_the_bridge_in():
    # Without a sink the bridge is in anyway: it counted the start-up.
    proc = run(["-c", "import sysfast; print(sysfast.stats()['seen'])"])
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 20
    plain = run(["-c", "import sysfast; print(sysfast.stats()['seen'])"],
                interpreter=sys.executable)
    assert int(plain.stdout) < int(proc.stdout)


def test_a_policy_is_in_place_before_the_first_line(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(textwrap.dedent("""\
        seal = true
        [log]
        target = "policy.jsonl"
        events = ["socket.*"]
        [[deny]]
        events = ["socket.*"]
        message = "no network here"
        """))
    code = textwrap.dedent("""\
        import socket, sys
        try:
            socket.socket()
        except PermissionError as e:
            print("denied:", e)
        sys.addaudithook(lambda *a: None)
        """)
    proc = run(["-c", code], SYSFAST_POLICY=str(policy))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "denied: no network here\n"
    lines = read_log(tmp_path / "policy.jsonl")
    assert [line["event"] for line in lines] == ["socket.__new__"]
    # Sealed: the program's sys.addaudithook added nothing (no error
    # either, as CPython refuses in silence).
    sealed = run(["-c", "import sysfast; print(sysfast.listening('sys.addaudithook'))"],
                 SYSFAST_POLICY=str(policy))
    assert sealed.stdout == "True\n"


def test_a_bad_policy_exits_2_naming_the_line(tmp_path):
    policy = tmp_path / "bad.toml"
    policy.write_text('seal = true\n[log]\ntarget = 3\n')
    proc = run(["-c", "print('ran')"], SYSFAST_POLICY=str(policy))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (f"sysfast-python: SYSFAST_POLICY: {policy}:3: log.target: "
                           "expected a file name\n")


def test_a_missing_policy_exits_2(tmp_path):
    missing = tmp_path / "missing.toml"
    proc = run(["-c", "print('ran')"], SYSFAST_POLICY=str(missing))
    assert proc.returncode == 2
    assert proc.stderr == f"sysfast-python: SYSFAST_POLICY: {missing}: No such file or directory\n"


def test_an_unwritable_log_exits_2_before_python_starts(tmp_path):
    target = tmp_path / "no-such-dir" / "audit.jsonl"
    proc = run(["-c", "print('ran')"], SYSFAST_LOG=str(target))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (f"sysfast-python: SYSFAST_LOG: can't open log '{target}': "
                           "No such file or directory\n")


@pytest.mark.parametrize("events, why", [
    ("open,,import", "SYSFAST_EVENTS: an empty pattern in 'open,,import'"),
    ("os.*x", "SYSFAST_EVENTS: hook options: events[0]: '*' is allowed only at the end"),
])
def test_bad_events_exit_2(tmp_path, events, why):
    proc = run(["-c", "print('ran')"], SYSFAST_LOG=str(tmp_path / "a.jsonl"),
               SYSFAST_EVENTS=events)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"sysfast-python: {why}\n")


def test_events_without_a_log_exit_2():
    proc = run(["-c", "print('ran')"], SYSFAST_EVENTS="open")
    assert proc.returncode == 2
    assert "SYSFAST_LOG is not set" in proc.stderr
