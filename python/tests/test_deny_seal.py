# SPDX-License-Identifier: LGPL-2.1-or-later
"""deny() and seal(): both last for the process, so each test runs in a
fresh interpreter."""
from conftest import run_python


def test_deny_open_makes_open_raise_permission_error():
    proc = run_python("""
        import sys, sysfast
        sysfast.deny("open")
        try:
            open(sys.executable, "rb")
        except PermissionError as e:
            print(e)
        print(sysfast.stats()["denied"])
    """)
    assert proc.stdout.split("\n")[:2] == ["open: denied by a sysfast policy", "1"]


def test_deny_raises_the_chosen_exception_and_message():
    proc = run_python("""
        import sys, sysfast
        class Forbidden(Exception):
            pass
        sysfast.deny(["t.deny.*"], exception=Forbidden, message="not here")
        try:
            sys.audit("t.deny.x", 1)
        except Forbidden as e:
            print(type(e).__name__, e)
        sys.audit("t.denyx")
        print("unmatched ok")
    """)
    assert proc.stdout.split("\n")[:2] == ["Forbidden not here", "unmatched ok"]


def test_deny_runs_no_python_code():
    # A trace function would see any Python frame the refusal ran.
    proc = run_python("""
        import sys, sysfast
        sysfast.deny("t.deny.trace")
        frames = []
        sys.setprofile(lambda frame, event, arg: frames.append(event))
        try:
            sys.audit("t.deny.trace")
        except PermissionError:
            pass
        sys.setprofile(None)
        print([e for e in frames if e == "call"])
    """)
    assert proc.stdout.strip() == "[]"


def test_deny_follows_subscriptions_made_before_it():
    proc = run_python("""
        import sys, sysfast
        seen = []
        sysfast.subscribe(lambda e, a: seen.append("before"), "t.deny.order")
        sysfast.deny("t.deny.order")
        sysfast.subscribe(lambda e, a: seen.append("after"), "t.deny.order")
        try:
            sys.audit("t.deny.order")
        except PermissionError:
            print(seen)
    """)
    assert proc.stdout.strip() == "['before']"


def test_deny_refuses_bad_arguments():
    proc = run_python("""
        import sysfast
        for args in [(None,), ("x", int), ("x", PermissionError, 3)]:
            try:
                sysfast.deny(*args)
            except TypeError:
                print("TypeError")
    """)
    assert proc.stdout.split() == ["TypeError"] * 3


def test_seal_refuses_sys_addaudithook():
    proc = run_python("""
        import sys, sysfast
        sysfast.seal()
        called = []
        print(sys.addaudithook(lambda e, a: called.append(e)))
        sys.audit("t.sealed")
        print(called, sysfast.listening("sys.addaudithook"))
    """)
    assert proc.stdout.split("\n")[:2] == ["None", "[] True"]


def test_seal_refuses_subscribe_deny_and_close():
    proc = run_python("""
        import sys, sysfast
        seen = []
        sub = sysfast.subscribe(lambda e, a: seen.append(e), "t.sealed", removable=True)
        sysfast.seal()
        sysfast.seal()
        for action in [lambda: sysfast.subscribe(print, "x"),
                       lambda: sysfast.deny("x"),
                       sub.close]:
            try:
                action()
            except PermissionError as e:
                print("PermissionError:", e)
        sys.audit("t.sealed")
        print(seen)
    """)
    assert proc.stdout.split("\n")[:4] == [
        "PermissionError: sysfast is sealed: subscribe refused",
        "PermissionError: sysfast is sealed: deny refused",
        "PermissionError: sysfast is sealed: close refused",
        "['t.sealed']",
    ]


def test_sealed_process_goes_on_importing_and_opening():
    proc = run_python("""
        import sys, sysfast
        sysfast.seal()
        import json
        with open(sys.executable, "rb") as f:
            f.read(4)
        print(json.dumps([1]))
    """)
    assert proc.stdout.strip() == "[1]"
