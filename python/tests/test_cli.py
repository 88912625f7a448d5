# SPDX-License-Identifier: LGPL-2.1-or-later
"""python3 -m sysfast run: each test runs the command in a process of its
own, with sysfast importable from where this interpreter imports it."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

import sysfast


def sysfast_run(*args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(sysfast.__file__))]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-m", "sysfast", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def read_log(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_a_scripts_open_is_logged_with_its_arguments(tmp_path):
    write(tmp_path / "prog.py", """\
        open(__file__).close()
        """)
    proc = sysfast_run("run", "--log", "audit.jsonl", "--events", "open", "prog.py",
                       cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = read_log(tmp_path / "audit.jsonl")
    assert [line["event"] for line in lines] == ["open"]
    assert lines[0]["args"][:2] == ["prog.py", "r"]


def test_the_programs_first_line_is_heard(tmp_path):
    write(tmp_path / "prog.py", """\
        import sys; sys.audit("t.cli.first", 1)
        """)
    proc = sysfast_run("run", "--log", "audit.jsonl", "--events", "t.cli.*", "prog.py",
                       cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert read_log(tmp_path / "audit.jsonl")[0]["args"] == [1]


def test_a_script_gets_its_arguments_and_directory_on_sys_path(tmp_path):
    (tmp_path / "d").mkdir()
    write(tmp_path / "d" / "helper.py", "VALUE = 'helper'\n")
    write(tmp_path / "d" / "prog.py", """\
        import sys, helper
        print(sys.argv, helper.VALUE, __name__)
        """)
    proc = sysfast_run("run", "d/prog.py", "-x", "--log", "y", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['d/prog.py', '-x', '--log', 'y'] helper __main__\n"


def test_a_module_runs_as_main_with_its_arguments(tmp_path):
    write(tmp_path / "mod.py", """\
        import sys
        print(sys.argv[1:], __name__)
        """)
    proc = sysfast_run("run", "--seal", "-m", "mod", "a", "--b", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['a', '--b'] __main__\n"


def test_the_programs_exit_status_passes_through(tmp_path):
    write(tmp_path / "prog.py", "raise SystemExit(7)\n")
    assert sysfast_run("run", "prog.py", cwd=tmp_path).returncode == 7


@pytest.mark.parametrize("deny,line", [
    ("open", "open('/dev/null')"),
    ("socket.*", "import socket; socket.socket()"),
])
def test_a_denied_operation_ends_the_program_with_permission_error(tmp_path, deny, line):
    write(tmp_path / "prog.py", line + "\nprint('not reached')\n")
    proc = sysfast_run("run", "--deny", deny, "prog.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "PermissionError" in proc.stderr.splitlines()[-1]
    assert 'File "prog.py", line 1' in proc.stderr


def test_seal_refuses_a_later_sys_addaudithook(tmp_path):
    write(tmp_path / "prog.py", """\
        import sys
        heard = []
        sys.addaudithook(lambda event, args: heard.append(event))
        sys.audit("t.cli.after")
        print(heard)
        """)
    proc = sysfast_run("run", "--seal", "prog.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"


def test_a_policy_file_sets_log_deny_and_seal(tmp_path):
    write(tmp_path / "policy.toml", """\
        seal = true

        [log]
        target = "audit.jsonl"
        events = ["t.cli.*"]
        rate_limit = [1, 60]

        [log.args]
        "t.cli.some" = [1]
        "t.cli.*" = false

        [[deny]]
        events = "socket.*"
        message = "no network here"
        """)
    write(tmp_path / "prog.py", """\
        import socket, sys
        sys.audit("t.cli.some", "a", "b")
        sys.audit("t.cli.none", "a")
        sys.audit("t.cli.none", "a")
        heard = []
        sys.addaudithook(lambda event, args: heard.append(event))
        sys.audit("t.cli.x")
        print(heard)
        socket.socket()
        """)
    proc = sysfast_run("run", "--policy", "policy.toml", "prog.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "[]\n"
    assert proc.stderr.splitlines()[-1] == "PermissionError: no network here"
    lines = read_log(tmp_path / "audit.jsonl")
    assert [(line["event"], line.get("args")) for line in lines[:3]] == [
        ("t.cli.some", ["b"]), ("t.cli.none", None), ("t.cli.x", None)]
    assert (lines[3]["event"], lines[3]["suppressed"]) == ("t.cli.none", 1)


def test_a_policy_files_log_target_is_relative_to_the_file(tmp_path):
    (tmp_path / "etc").mkdir()
    write(tmp_path / "etc" / "policy.toml", """\
        [log]
        target = "audit.jsonl"
        events = "t.cli.*"
        """)
    write(tmp_path / "prog.py", "import sys; sys.audit('t.cli.where')\n")
    proc = sysfast_run("run", "--policy", "etc/policy.toml", "prog.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [line["event"] for line in read_log(tmp_path / "etc" / "audit.jsonl")] == [
        "t.cli.where"]


def test_options_add_to_the_policy_file(tmp_path):
    write(tmp_path / "policy.toml", """\
        [[deny]]
        events = ["t.cli.policy"]
        """)
    write(tmp_path / "prog.py", """\
        import sys
        for event in ("t.cli.policy", "t.cli.option"):
            try:
                sys.audit(event)
            except PermissionError:
                print("denied", event)
        """)
    proc = sysfast_run("run", "--policy", "policy.toml", "--deny", "t.cli.option",
                       "prog.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "denied t.cli.policy\ndenied t.cli.option\n"


@pytest.mark.parametrize("policy,where,what", [
    ('[log]\ntarget = "a.jsonl"\nevents = [open]\n', ":3:", "at line 3"),
    ('[log]\ntarget = "a.jsonl"\nevents = [\n', ":3:", "at end of document"),
    ('seal = false\n[log]\ntarget = "a.jsonl"\nformat = "json"\n', ":4:",
     "log.format: unknown key"),
    ('[[deny]]\nevents = ["open"]\n[[deny]]\nmessage = 3\nevents = "x"\n', ":4:",
     "deny[1].message: expected a string"),
    ('seal = "yes"\n', ":1:", "seal: expected true or false"),
    ('[[deny]]\nevents = ["sub*process"]\n', ":2:",
     "deny[0].events: 'sub*process': '*' is allowed only at the end"),
    ('[log]\ntarget = "a"\nargs = {"open" = [-1]}\n', ":3:",
     "log.args.open: expected true, false or a list of argument indices"),
])
def test_a_bad_policy_file_is_refused_naming_file_and_line(tmp_path, policy, where, what):
    (tmp_path / "bad.toml").write_text(policy)
    write(tmp_path / "prog.py", "print('ran')\n")
    proc = sysfast_run("run", "--policy", "bad.toml", "prog.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("sysfast: bad.toml" + where), proc.stderr
    assert what in proc.stderr


def test_a_missing_program_is_a_usage_error(tmp_path):
    proc = sysfast_run("run", "--seal", cwd=tmp_path)
    assert proc.returncode == 2
    assert "-m MODULE or SCRIPT" in proc.stderr


def test_help_describes_the_run_command(tmp_path):
    top = sysfast_run("--help", cwd=tmp_path)
    run = sysfast_run("run", "--help", cwd=tmp_path)
    assert top.returncode == run.returncode == 0
    assert "run" in top.stdout
    for option in ("--log", "--events", "--deny", "--seal", "--policy", "-m MODULE"):
        assert option in run.stdout
