#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sums up `meson test` results over several build directories.

    tools/ci-summary.py BUILDDIR...

Reads BUILDDIR/meson-logs/testlog.json (one JSON object per line, one line
per test) for each build, prints one line of counts per build and, as the
last line, "N passed, M failed" (", K skipped" appended when K > 0).

A build that could not be configured or compiled counts as one failed test:
tools/test.sh leaves BUILDDIR/meson-logs/ci-build-failed (holding the failed
step) in that case, and a build with no test log at all counts the same way.

Exit status: 0 if nothing failed and at least one test ran (skips do not
count as run), else 1.
"""

import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}
# Everything else (FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR, INTERRUPT, or a
# value a later meson adds) counts as failed: an unknown result is not a pass.


def summarise(builddir):
    """Returns (passed, failed, skipped, notes) for one build directory."""
    logs = os.path.join(builddir, "meson-logs")
    marker = os.path.join(logs, "ci-build-failed")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8", errors="replace") as f:
            step = f.read().strip() or "build"
        return 0, 1, 0, [f"{step} failed"]

    path = os.path.join(logs, "testlog.json")
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return 0, 1, 0, ["no test log (tests did not run)"]

    passed = failed = skipped = 0
    notes = []
    with f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                failed += 1
                notes.append(f"testlog.json:{lineno}: unreadable line")
                continue
            result = str(entry.get("result", "")).upper()
            if result in PASSED:
                passed += 1
            elif result in SKIPPED:
                skipped += 1
            else:
                failed += 1
                notes.append(f"{entry.get('name', '?')}: {result or 'no result'}")
    return passed, failed, skipped, notes


def counts(passed, failed, skipped):
    text = f"{passed} passed, {failed} failed"
    if skipped:
        text += f", {skipped} skipped"
    return text


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2

    total = [0, 0, 0]
    for builddir in argv[1:]:
        passed, failed, skipped, notes = summarise(builddir)
        total[0] += passed
        total[1] += failed
        total[2] += skipped
        print(f"{builddir}: {counts(passed, failed, skipped)}")
        for note in notes:
            print(f"    {note}")

    passed, failed, skipped = total
    # Skipped tests did not run: a suite that skips everything fails too.
    ran = passed + failed
    if ran == 0:
        print("no tests ran")
    print(counts(passed, failed, skipped))
    return 0 if failed == 0 and ran > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
