# SPDX-License-Identifier: LGPL-2.1-or-later
"""The native hook: CPython's events reach libsysfast, arguments uncopied,
and an import that cannot install the hook fails."""
import inspect
import sys

import pytest

import sysfast
from conftest import run_python


def test_import_exposes_the_api():
    for name in sysfast.__all__:
        assert getattr(sysfast, name).__doc__, name
    assert isinstance(sysfast.libsysfast_version, str)
    assert str(inspect.signature(sysfast.subscribe)) == "(hook, events=None, *, removable=False)"
    assert sysfast.deny.__doc__.startswith(
        "deny(events, exception=PermissionError, message=None)\n")


def test_subscription_handles_come_from_subscribe_only():
    with pytest.raises(TypeError):
        sysfast.Subscription()


def test_every_event_reaches_the_bridge():
    before = sysfast.stats()["seen"]
    sys.audit("sysfast.test.bridge.seen")
    sys.audit("sysfast.test.bridge.seen")
    assert sysfast.stats()["seen"] == before + 2


def test_events_nobody_listens_to_are_not_matched():
    before = sysfast.stats()
    sys.audit("sysfast.test.bridge.unheard", 1)
    after = sysfast.stats()
    assert after["matched"] == before["matched"]
    assert after["seen"] == before["seen"] + 1


def test_an_event_nobody_listened_to_is_heard_once_subscribed(subscribed, recorder):
    # The bridge remembers, per name, that nobody listens, until a hook is
    # added: the memo must not outlive the next subscription.
    other = recorder()
    subscribed(other, "sysfast.test.bridge.other")
    obj = object()
    for _ in range(3):
        address = id(obj)
        sys.audit("sysfast.test.bridge.later", 1)
    assert other.calls == []
    hook = recorder()
    subscribed(hook, ("builtins.id", "sysfast.test.bridge.later"))
    id(obj)
    sys.audit("sysfast.test.bridge.later", 2)
    # builtins.id's argument is the id itself.
    assert hook.calls == [("builtins.id", (address,)), ("sysfast.test.bridge.later", (2,))]


def test_hooks_get_the_tuple_cpython_built_not_a_copy():
    # The same tuple object reaches a sys.addaudithook hook: the bridge
    # passes a pointer to it through libsysfast.
    proc = run_python("""
        import sys, sysfast
        got = {}
        sysfast.subscribe(lambda e, a: got.__setitem__("sysfast", a), "t.args")
        sys.addaudithook(lambda e, a: e == "t.args" and got.__setitem__("python", a))
        sys.audit("t.args", 1, "two", None)
        assert got["sysfast"] == (1, "two", None), got
        assert got["sysfast"] is got["python"]
        print("same tuple")
    """)
    assert proc.stdout.strip() == "same tuple"


def test_names_from_sys_audit_buffers_map_to_their_own_events():
    # sys.audit passes a str's UTF-8 buffer, whose address a later,
    # different name may reuse: the cache must not confuse the two.
    proc = run_python("""
        import sys, sysfast
        seen = []
        sysfast.subscribe(lambda e, a: seen.append(e), "t.cache.*")
        names = ["t.cache.%d" % (i % 7) for i in range(2000)]
        for name in names:
            sys.audit("".join(name))
        assert seen == names, [(a, b) for a, b in zip(seen, names) if a != b][:5]
        print(len(seen))
    """)
    assert proc.stdout.strip() == "2000"


def test_import_fails_when_cpython_refuses_the_native_hook():
    proc = run_python("""
        import sys
        def refuse(event, args):
            if event == "sys.addaudithook":
                raise RuntimeError("no more hooks")
        sys.addaudithook(refuse)
        try:
            import sysfast
        except ImportError as e:
            print("ImportError:", e)
    """)
    assert "ImportError: sysfast: CPython refused the native audit hook" in proc.stdout


def test_import_propagates_a_hook_error_other_than_runtime_error():
    proc = run_python("""
        import sys
        def refuse(event, args):
            if event == "sys.addaudithook":
                raise ValueError("not you")
        sys.addaudithook(refuse)
        try:
            import sysfast
        except ValueError as e:
            print("ValueError:", e)
    """)
    assert proc.stdout.strip() == "ValueError: not you"


def test_a_second_import_adds_no_second_hook():
    proc = run_python("""
        import sys, sysfast
        sysfast.subscribe(lambda e, a: print(e), "t.once")
        del sys.modules["sysfast"], sys.modules["sysfast._sysfast"]
        import sysfast
        sys.audit("t.once")
    """)
    assert proc.stdout.split() == ["t.once"]


def test_a_name_libsysfast_cannot_hold_fails_the_operation(subscribed):
    # Not forwarding it would let a long name slip past a policy on "*".
    subscribed(lambda e, a: None, "sysfast.test.bridge.long")
    with pytest.raises(ValueError):
        sys.audit("sysfast.test.bridge." + "x" * 300)
