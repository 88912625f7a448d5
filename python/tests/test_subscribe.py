# SPDX-License-Identifier: LGPL-2.1-or-later
"""subscribe(), Subscription, listening() and stats()."""
import sys
import threading

import pytest

import sysfast
from conftest import run_python


def test_hook_is_called_with_event_name_and_args(subscribed, recorder):
    hook = recorder()
    subscribed(hook, "sysfast.test.sub.args")
    sys.audit("sysfast.test.sub.args", 1, "x")
    sys.audit("sysfast.test.sub.args")
    assert hook.calls == [("sysfast.test.sub.args", (1, "x")),
                          ("sysfast.test.sub.args", ())]


def test_hook_is_called_only_for_matching_events(subscribed, recorder):
    hook = recorder()
    subscribed(hook, ["sysfast.test.sub.a", "sysfast.test.sub.p.*"])
    for name in ["sysfast.test.sub.a", "sysfast.test.sub.b", "sysfast.test.sub.p.",
                 "sysfast.test.sub.p.x.y", "sysfast.test.sub.px", "sysfast.test.sub.a.b"]:
        sys.audit(name)
    assert hook.events == ["sysfast.test.sub.a", "sysfast.test.sub.p.",
                           "sysfast.test.sub.p.x.y"]


def test_star_and_none_match_every_event(subscribed, recorder):
    star, every = recorder(), recorder()
    subscribed(star, "*")
    subscribed(every, None)
    sys.audit("sysfast.test.sub.any")
    assert "sysfast.test.sub.any" in star.events
    assert "sysfast.test.sub.any" in every.events


def test_cpython_events_reach_subscriptions(subscribed, recorder, tmp_path):
    hook = recorder()
    subscribed(hook, "open")
    path = str(tmp_path / "f")
    with open(path, "w"):
        pass
    event, (name, mode, flags) = hook.calls[0]
    assert (event, name, mode) == ("open", path, "w")
    assert isinstance(flags, int)


def test_subscriptions_run_in_order(subscribed):
    order = []
    for i in range(5):
        subscribed(lambda e, a, i=i: order.append(i), "sysfast.test.sub.order")
    sys.audit("sysfast.test.sub.order")
    assert order == [0, 1, 2, 3, 4]


def test_subscriptions_run_before_every_addaudithook_hook():
    proc = run_python("""
        import sys, sysfast
        order = []
        sys.addaudithook(lambda e, a: e == "t.order" and order.append("py1"))
        sysfast.subscribe(lambda e, a: order.append("sf1"), "t.order")
        sys.addaudithook(lambda e, a: e == "t.order" and order.append("py2"))
        sysfast.subscribe(lambda e, a: order.append("sf2"), "t.order")
        sys.audit("t.order")
        print(order)
    """)
    assert proc.stdout.strip() == "['sf1', 'sf2', 'py1', 'py2']"


class Refused(Exception):
    pass


def test_exception_from_hook_propagates_to_open(subscribed, tmp_path):
    raised = Refused("no open")

    def hook(event, args):
        raise raised

    subscribed(hook, "open")
    with pytest.raises(Refused) as info:
        open(tmp_path / "f", "w")
    assert info.value is raised
    assert not (tmp_path / "f").exists()


def test_exception_stops_later_subscriptions_and_python_hooks():
    proc = run_python("""
        import sys, sysfast
        calls = []
        sys.addaudithook(lambda e, a: e == "t.stop" and calls.append("py"))
        def fail(e, a):
            calls.append("first")
            raise KeyError("stop")
        sysfast.subscribe(fail, "t.stop")
        sysfast.subscribe(lambda e, a: calls.append("second"), "t.stop")
        try:
            sys.audit("t.stop")
        except KeyError as e:
            print(repr(e), calls)
    """)
    assert proc.stdout.strip() == "KeyError('stop') ['first']"


def test_pending_exception_survives_a_dispatch(subscribed, recorder):
    hook = recorder()
    subscribed(hook, "sysfast.test.sub.pending")
    try:
        raise LookupError("handled")
    except LookupError:
        sys.audit("sysfast.test.sub.pending")
        assert sys.exc_info()[0] is LookupError
    assert hook.events == ["sysfast.test.sub.pending"]


def test_runtime_error_on_sys_addaudithook_silently_refuses_the_hook():
    proc = run_python("""
        import sys, sysfast
        def refuse(e, a):
            raise RuntimeError("no")
        sysfast.subscribe(refuse, "sys.addaudithook")
        called = []
        print(sys.addaudithook(lambda e, a: called.append(e)))
        sys.audit("t.after")
        print(called)
    """)
    assert proc.stdout.split("\n")[:2] == ["None", "[]"]


def test_other_errors_on_sys_addaudithook_propagate():
    proc = run_python("""
        import sys, sysfast
        def refuse(e, a):
            raise KeyboardInterrupt
        sysfast.subscribe(refuse, "sys.addaudithook")
        try:
            sys.addaudithook(lambda e, a: None)
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
    """)
    assert proc.stdout.strip() == "KeyboardInterrupt"


def test_subscribe_refused_by_a_subscription_returns_none(subscribed):
    def refuse(event, args):
        raise RuntimeError("no")

    subscribed(refuse, "sys.addaudithook")
    assert sysfast.subscribe(lambda e, a: None, "sysfast.test.sub.refused") is None
    assert not sysfast.listening("sysfast.test.sub.refused")


def test_closed_subscription_is_not_called(recorder):
    hook = recorder()
    sub = sysfast.subscribe(hook, "sysfast.test.sub.close", removable=True)
    sys.audit("sysfast.test.sub.close")
    assert not sub.closed
    sub.close()
    sub.close()
    sys.audit("sysfast.test.sub.close")
    assert sub.closed
    assert hook.events == ["sysfast.test.sub.close"]


def test_close_refuses_a_subscription_that_is_not_removable():
    sub = sysfast.subscribe(lambda e, a: None, "sysfast.test.sub.fixed")
    assert not sub.removable
    with pytest.raises(PermissionError):
        sub.close()
    assert not sub.closed


def test_subscription_describes_itself(subscribed):
    sub = subscribed(lambda e, a: None, ("sysfast.test.sub.d", "sysfast.test.sub.e.*"))
    assert sub.events == ("sysfast.test.sub.d", "sysfast.test.sub.e.*")
    assert sub.removable
    assert "removable" in repr(sub)


@pytest.mark.parametrize("hook, events, exc", [
    (42, "x", TypeError),
    (print, [1], TypeError),
    (print, (), ValueError),
    (print, "a*b", ValueError),
    (print, "", ValueError),
])
def test_bad_arguments_are_refused(hook, events, exc):
    with pytest.raises(exc):
        sysfast.subscribe(hook, events, removable=True)


def test_listening_follows_subscriptions(subscribed):
    assert not sysfast.listening("sysfast.test.sub.listen.x")
    subscribed(lambda e, a: None, "sysfast.test.sub.listen.*")
    assert sysfast.listening("sysfast.test.sub.listen.x")
    assert not sysfast.listening("sysfast.test.sub.listenx")
    with pytest.raises(TypeError):
        sysfast.listening(b"bytes")


def test_stats_count_matched_events(subscribed):
    subscribed(lambda e, a: None, "sysfast.test.sub.stats")
    before = sysfast.stats()
    sys.audit("sysfast.test.sub.stats")
    after = sysfast.stats()
    assert set(after) == {"seen", "matched", "denied", "logged", "suppressed"}
    assert after["matched"] == before["matched"] + 1
    assert after["seen"] == before["seen"] + 1


def test_hooks_see_events_of_every_thread(subscribed):
    seen = []
    lock = threading.Lock()

    def hook(event, args):
        with lock:
            seen.append(args[0])

    subscribed(hook, "sysfast.test.sub.thread")

    def work(k):
        for i in range(200):
            sys.audit("sysfast.test.sub.thread", (k, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == [(k, i) for k in range(8) for i in range(200)]


def test_exception_in_a_thread_propagates_in_that_thread(subscribed):
    def hook(event, args):
        raise Refused(threading.current_thread().name)

    subscribed(hook, "sysfast.test.sub.thread.fail")
    caught = []

    def work():
        try:
            sys.audit("sysfast.test.sub.thread.fail")
        except Refused as e:
            caught.append(str(e))

    threads = [threading.Thread(target=work, name="t%d" % k) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(caught) == ["t0", "t1", "t2", "t3"]


def test_subscriptions_belong_to_their_interpreter():
    proc = run_python("""
        import sys, sysfast, _xxsubinterpreters as interpreters
        seen = []
        sysfast.subscribe(lambda e, a: seen.append(e), "t.interp")
        interp = interpreters.create()
        interpreters.run_string(interp, "import sys; sys.audit('t.interp')")
        sys.audit("t.interp")
        interpreters.destroy(interp)
        print(seen)
    """)
    assert proc.stdout.strip() == "['t.interp']"


def test_sub_interpreter_imports_sysfast_and_subscribes():
    proc = run_python("""
        import os, sysfast, _xxsubinterpreters as interpreters
        r, w = os.pipe()
        interp = interpreters.create()
        interpreters.run_string(interp, '''if 1:
            import os, sys, sysfast
            seen = []
            sysfast.subscribe(lambda e, a: seen.append(e), "t.sub")
            sys.audit("t.sub")
            os.write(%d, repr(seen).encode())
        ''' % w)
        interpreters.destroy(interp)
        print(os.read(r, 100).decode())
    """)
    assert proc.stdout.strip() == "['t.sub']"
