# SPDX-License-Identifier: LGPL-2.1-or-later
"""python3 -m sysfast run: runs a program with sysfast's log, deny
policies and seal in place before its first line. See "Running a program
under a policy" in docs/python.md."""
import argparse
import builtins
import importlib.machinery
import io
import os
import runpy
import sys
import textwrap
import types

import sysfast
from sysfast._policy import Policy, PolicyError, check_pattern

# Options of `run` that take a value: the program starts at the first
# argument that is neither one of these (with its value) nor a flag.
VALUE_OPTIONS = ("--log", "--events", "--deny", "--policy")


def split_patterns(values):
    """The patterns of repeated comma-separated option values."""
    return [p.strip() for value in values for p in value.split(",")]


def split_program(argv):
    """Splits `run`'s arguments into (options, module, program argv):
    the program starts at -m MODULE or at the first argument that is not
    an option, as with python3 -m cProfile."""
    options = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            if i + 1 == len(argv):
                return options + [arg], None, []
            return options, argv[i + 1], argv[i + 2:]
        if arg.startswith("-m") and not arg.startswith("--"):
            return options, arg[2:], argv[i + 1:]
        if arg == "--":
            return options, None, argv[i + 1:]
        if not arg.startswith("-") or arg == "-":
            return options, None, argv[i:]
        options.append(arg)
        if arg in VALUE_OPTIONS and i + 1 < len(argv):
            options.append(argv[i + 1])
            i += 1
        i += 1
    return options, None, []


def make_parser():
    parser = argparse.ArgumentParser(
        prog="python3 -m sysfast",
        description="Tools over sysfast, CPython audit hooks dispatched by libsysfast.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run", allow_abbrev=False,
        usage="python3 -m sysfast run [options] (-m MODULE | SCRIPT) [ARGS...]",
        help="run a program with an audit log, deny policies and a seal in place",
        description=(
            "Run a Python program (SCRIPT, or -m MODULE, as python3 -m cProfile "
            "takes it) with sysfast's audit log, deny policies and seal in place "
            "before its first line. A denied operation raises PermissionError in "
            "the program. The program's exit status passes through; a policy "
            "file that cannot be used exits with status 2 before the program runs."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            Event patterns: an exact event name, a prefix ending in '*'
            ('subprocess.*'), or '*' for every event. Options add to what
            --policy sets.

            A policy file (TOML; line numbers in its errors):

              seal = true                  # before any table
              [log]
              target = "audit.jsonl"       # relative to the policy file
              events = ["open", "subprocess.*"]    # default: every event
              args = true                  # or [log.args] pattern = [indices]
              rate_limit = [100, 1.0]      # lines, seconds
              [[deny]]                     # as many as needed
              events = ["socket.*"]
              message = "no network here"  # optional

            See "Running a program under a policy" in libsysfast's
            docs/python.md.
            """))
    run.add_argument("--log", metavar="FILE",
                     help="append each audit event as one JSON line to FILE")
    run.add_argument("--events", metavar="P,...", action="append", default=[],
                     help="the events that --log writes (comma-separated patterns, "
                     "repeatable; default: every event)")
    run.add_argument("--deny", metavar="P,...", action="append", default=[],
                     help="refuse the operations whose events match these patterns "
                     "with PermissionError (repeatable)")
    run.add_argument("--seal", action="store_true",
                     help="seal: no audit hook can be added once the program runs")
    run.add_argument("--policy", metavar="FILE.toml",
                     help="a policy file: [log], [[deny]] and seal")
    run.add_argument("-m", metavar="MODULE", dest="module",
                     help="run library module MODULE as a script (what follows is its argv)")
    run.add_argument("script", metavar="SCRIPT", nargs="?",
                     help="the script to run (what follows is its argv)")
    run.add_argument("args", metavar="ARGS", nargs="*", help="the program's arguments")
    return parser, run


def install(options, run_parser):
    """Puts the policy file's and the options' hooks in place."""
    policy = None
    if options.policy is not None:
        try:
            policy = Policy(options.policy)
        except PolicyError as e:
            run_parser.exit(2, f"sysfast: {e}\n")
    events = split_patterns(options.events) or None
    deny = [split_patterns([value]) for value in options.deny]
    for patterns in ([events] if events else []) + deny:
        for pattern in patterns:
            why = check_pattern(pattern)
            if why:
                run_parser.error(why)
    if events and options.log is None:
        run_parser.error("--events chooses what --log writes: --log FILE is missing")
    try:
        if policy is not None and policy.log is not None:
            sysfast.log(**policy.log)
        if options.log is not None:
            sysfast.log(options.log, events)
    except OSError as e:
        run_parser.exit(2, f"sysfast: can't open log {e.filename or ''!r}: {e.strerror}\n")
    if policy is not None:
        for patterns, message in policy.deny:
            sysfast.deny(patterns, message=message)
    for patterns in deny:
        sysfast.deny(patterns)
    if options.seal or (policy is not None and policy.seal):
        sysfast.seal()


def load_script(path, run_parser):
    """Reads and compiles the script before any hook is in place, so that
    a policy that denies "open" refuses the program's opens, not the
    reading of the program."""
    try:
        with io.open_code(path) as f:
            source = f.read()
    except OSError as e:
        run_parser.exit(2, f"sysfast: can't open file {path!r}: {e.strerror}\n")
    return compile(source, path, "exec")


def run_program(module, code, argv):
    """Runs the program as python3 would run it; its SystemExit passes up."""
    if module is not None:
        sys.argv = [module] + argv
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
    main_module = types.ModuleType("__main__")
    main_module.__file__ = argv[0]
    main_module.__cached__ = None
    main_module.__loader__ = importlib.machinery.SourceFileLoader("__main__", argv[0])
    main_module.__builtins__ = builtins
    # As python3 SCRIPT does: the program is __main__ (pickle, and
    # `import __main__`, find its names there).
    sys.modules["__main__"] = main_module
    exec(code, main_module.__dict__)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser, run_parser = make_parser()
    if not argv or argv[0] != "run":
        parser.parse_args(argv)  # --help, or an error
        return
    options, module, program = split_program(argv[1:])
    parsed = run_parser.parse_args(options)
    if module is None and not program:
        run_parser.error("nothing to run: give -m MODULE or SCRIPT")
    code = None if module is not None else load_script(program[0], run_parser)
    install(parsed, run_parser)
    try:
        run_program(module, code, program)
    finally:
        # The sinks flush at exit too; this writes them before any output
        # of the exit itself, and reports a failed write while it can.
        sysfast.flush()


if __name__ == "__main__":
    main()
