# SPDX-License-Identifier: LGPL-2.1-or-later
"""python3 -m sysfast run: runs a program with sysfast's log, deny
policies and seal in place before its first line. See "Running a program
under a policy" in docs/python.md."""
import argparse
import builtins
import importlib.machinery
import io
import os
import re
import runpy
import sys
import textwrap
import tomllib
import types

import sysfast

# The most bytes an event name or pattern may have (SYSFAST_EVENT_NAME_MAX).
NAME_MAX = 255

# Options of `run` that take a value: the program starts at the first
# argument that is neither one of these (with its value) nor a flag.
VALUE_OPTIONS = ("--log", "--events", "--deny", "--policy")


class PolicyError(Exception):
    """A policy file that cannot be used; str() is the whole message."""


def check_pattern(pattern):
    """Returns why `pattern` is no event pattern, or None if it is one."""
    if not isinstance(pattern, str):
        return f"an event pattern must be a string, not {type(pattern).__name__}"
    if not pattern:
        return "an event pattern must not be empty"
    if "*" in pattern[:-1]:
        return f"{pattern!r}: '*' is allowed only at the end of a pattern"
    if "\0" in pattern:
        return f"{pattern!r}: an event pattern cannot hold a NUL character"
    try:
        size = len(pattern.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{pattern!r}: an event pattern must be valid Unicode"
    if size > NAME_MAX:
        return f"an event pattern must be at most {NAME_MAX} bytes"
    return None


def split_patterns(values):
    """The patterns of repeated comma-separated option values."""
    return [p.strip() for value in values for p in value.split(",")]


class Policy:
    """A policy file, read and checked: log (the keyword arguments of
    sysfast.log, or None), deny (a list of (patterns, message)) and seal."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise PolicyError(f"{path}: {e.strerror}") from None
        try:
            self.text = data.decode("utf-8")
            doc = tomllib.loads(self.text)
        except UnicodeDecodeError as e:
            raise PolicyError(f"{path}: not UTF-8: {e.reason}") from None
        except tomllib.TOMLDecodeError as e:
            # tomllib's message ends with "(at line N, column M)", or
            # "(at end of document)": the last line.
            line = re.search(r"at line (\d+)", str(e))
            number = line.group(1) if line else len(self.text.splitlines())
            where = f"{path}:{number}" if number else path
            raise PolicyError(f"{where}: {e}") from None
        self.log = None
        self.deny = []
        self.seal = False
        self.read(doc)

    def fail(self, keys, what):
        """Raises PolicyError for the value at `keys` (a path of names and
        [[deny]] indices), naming the line where the key is set."""
        dotted = ".".join(f"[{k}]" if isinstance(k, int) else k for k in keys)
        dotted = dotted.replace(".[", "[")
        line = self.find_line(keys)
        where = f"{self.path}:{line}" if line else self.path
        raise PolicyError(f"{where}: {dotted}: {what}")

    def find_line(self, keys):
        """The line that sets `keys`, by a scan for `key =` under its table
        header, or for the header of the table `keys` names; the nearest
        enclosing key's line when the key itself is not found; None if
        none is."""
        table = ()
        counts = {}
        lines = {}
        for number, line in enumerate(self.text.splitlines(), 1):
            header = re.match(r"\s*(\[\[?)\s*([^\]]+?)\s*\]", line)
            if header:
                names = tuple(n.strip().strip("\"'") for n in header.group(2).split("."))
                if header.group(1) == "[[":
                    index = counts.get(names, 0)
                    counts[names] = index + 1
                    names += (index,)
                table = names
                lines.setdefault(table, number)
                continue
            key = re.match(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.*-]+)\s*=""", line)
            if key:
                name = key.group(1).strip("\"'")
                lines.setdefault(table + (name,), number)
        for end in range(len(keys), 0, -1):
            if tuple(keys[:end]) in lines:
                return lines[tuple(keys[:end])]
        return None

    def check_keys(self, table, keys, allowed):
        for key in table:
            if key not in allowed:
                self.fail(keys + (key,),
                          f"unknown key (expected one of: {', '.join(allowed)})")

    def patterns(self, value, keys):
        """A pattern or a non-empty list of them, as a list."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.fail(keys, "expected an event pattern or a non-empty list of them")
        for i, pattern in enumerate(value):
            why = check_pattern(pattern)
            if why:
                self.fail(keys, why if len(value) == 1 else f"item {i}: {why}")
        return value

    def read(self, doc):
        self.check_keys(doc, (), ("seal", "log", "deny"))
        if "seal" in doc:
            if not isinstance(doc["seal"], bool):
                self.fail(("seal",), "expected true or false")
            self.seal = doc["seal"]
        if "log" in doc:
            self.read_log(doc["log"])
        if "deny" in doc:
            entries = doc["deny"]
            if not isinstance(entries, list):
                self.fail(("deny",), "expected [[deny]] tables")
            for i, entry in enumerate(entries):
                self.read_deny(entry, ("deny", i))

    def read_log(self, table):
        keys = ("log",)
        if not isinstance(table, dict):
            self.fail(keys, "expected a [log] table")
        self.check_keys(table, keys, ("target", "events", "args", "rate_limit"))
        if "target" not in table:
            self.fail(keys, "target is missing")
        target = table["target"]
        if not isinstance(target, str) or not target:
            self.fail(keys + ("target",), "expected a file name")
        # Relative to the policy file, wherever the program runs from.
        target = os.path.join(os.path.dirname(os.path.abspath(self.path)), target)
        log = {"target": target, "events": None}
        if "events" in table:
            log["events"] = self.patterns(table["events"], keys + ("events",))
        if "args" in table:
            log["args"] = self.read_args(table["args"], keys + ("args",))
        if "rate_limit" in table:
            log["rate_limit"] = self.read_rate_limit(table["rate_limit"],
                                                     keys + ("rate_limit",))
        self.log = log

    def read_args(self, value, keys):
        if isinstance(value, bool):
            return value
        if not isinstance(value, dict):
            self.fail(keys, "expected true, false or a table of pattern = "
                      "true | false | [argument indices]")
        for pattern, choice in value.items():
            why = check_pattern(pattern)
            if why:
                self.fail(keys + (pattern,), why)
            if isinstance(choice, bool):
                continue
            if (not isinstance(choice, list)
                    or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                               for i in choice)):
                self.fail(keys + (pattern,),
                          "expected true, false or a list of argument indices (0 or more)")
        return value

    def read_rate_limit(self, value, keys):
        if (not isinstance(value, list) or len(value) != 2
                or not isinstance(value[0], int) or isinstance(value[0], bool)
                or not isinstance(value[1], (int, float)) or isinstance(value[1], bool)):
            self.fail(keys, "expected [lines, seconds]")
        lines, seconds = value
        if lines < 1 or not 0 < seconds <= 1e9:
            self.fail(keys, "lines must be at least 1 and seconds above 0 (at most 1e9)")
        return (lines, float(seconds))

    def read_deny(self, entry, keys):
        if not isinstance(entry, dict):
            self.fail(keys, "expected a [[deny]] table")
        self.check_keys(entry, keys, ("events", "message"))
        if "events" not in entry:
            self.fail(keys, "events is missing")
        patterns = self.patterns(entry["events"], keys + ("events",))
        message = entry.get("message")
        if message is not None and not isinstance(message, str):
            self.fail(keys + ("message",), "expected a string")
        self.deny.append((patterns, message))


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
