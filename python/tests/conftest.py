# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the sysfast tests.

Subscriptions that are not removable, deny policies, sys.addaudithook
hooks and seal() last as long as the process: tests that make them run
their code in a fresh interpreter (run_python), the others close their
removable subscriptions before they end (subscribed).
"""
import os
import subprocess
import sys
import textwrap

import pytest

import sysfast


def run_python(code, check=True):
    """Runs `code` in a new interpreter that imports sysfast from the same
    place as this one; returns the CompletedProcess (text, both streams)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(sysfast.__file__))]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def subscribed():
    """subscribe() for one test: every subscription is removable and is
    closed when the test ends."""
    made = []

    def subscribe(hook, events=None):
        sub = sysfast.subscribe(hook, events, removable=True)
        made.append(sub)
        return sub

    yield subscribe
    for sub in made:
        sub.close()


class Recorder:
    """A hook that records (event, args) and raises `exc` if set."""

    def __init__(self, exc=None):
        self.calls = []
        self.exc = exc

    def __call__(self, event, args):
        self.calls.append((event, args))
        if self.exc is not None:
            raise self.exc

    @property
    def events(self):
        return [event for event, _ in self.calls]


@pytest.fixture
def recorder():
    return Recorder
