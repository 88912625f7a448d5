# SPDX-License-Identifier: LGPL-2.1-or-later
"""Policy files (TOML): read, checked and put in place, for
`python3 -m sysfast run --policy` and sysfast-python's SYSFAST_POLICY.
See "The policy file" in docs/python.md."""
import os
import re

from . import _sysfast as sysfast

# The most bytes an event name or pattern may have (SYSFAST_EVENT_NAME_MAX).
NAME_MAX = 255


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


class Policy:
    """A policy file, read and checked: log (the keyword arguments of
    sysfast.log, or None), deny (a list of (patterns, message)) and seal."""

    def __init__(self, path):
        # Here, not at the top: `python3 -m sysfast run` without a policy
        # file starts faster without it (about 10 ms).
        import tomllib

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


def apply(policy):
    """Puts `policy`'s log sink, deny policies and seal in place, in that
    order. OSError if the log cannot be opened."""
    if policy.log is not None:
        sysfast.log(**policy.log)
    for patterns, message in policy.deny:
        sysfast.deny(patterns, message=message)
    if policy.seal:
        sysfast.seal()


def launch(path):
    """sysfast-python's SYSFAST_POLICY: reads the policy file at `path` and
    puts it in place. Returns None, or why it could not (the launcher
    then exits with status 2)."""
    try:
        apply(Policy(path))
    except PolicyError as e:
        return str(e)
    except OSError as e:
        return f"can't open log {e.filename or ''!r}: {e.strerror}"
    return None
