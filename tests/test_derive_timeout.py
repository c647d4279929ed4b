"""The simplify time limit in derivations/derive.py must hold even when its first alarm is
swallowed (CI once showed the alarm's exception raised inside a garbage-collector callback,
where Python prints "Exception ignored" and carries on)."""

from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable

import pytest
import sympy as sp

from derivations import derive


def _seconds_to_give_up(monkeypatch: pytest.MonkeyPatch, simplify: Callable[[sp.Expr], sp.Expr]) -> float:
    """How long _simplifies_to_zero takes to return False with this simplify and a 0.2 s limit."""
    monkeypatch.setattr(derive, "SIMPLIFY_SECONDS", 0.2)
    monkeypatch.setattr(derive.sp, "simplify", simplify)
    start = time.monotonic()
    assert derive._simplifies_to_zero(sp.Symbol("x")) is False
    return time.monotonic() - start


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the time limit uses SIGALRM")
def test_time_limit_survives_a_swallowed_alarm(monkeypatch: pytest.MonkeyPatch) -> None:
    def stubborn(expr: sp.Expr) -> sp.Expr:
        try:
            time.sleep(5)
        except derive._OutOfTime:
            pass  # swallowed, as in a gc callback
        time.sleep(5)  # and simplify runs on
        return expr

    # one repeat of the alarm after the swallowed one; without it this takes 10 s
    assert _seconds_to_give_up(monkeypatch, stubborn) < 3
    # and the alarm is off afterwards
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the time limit uses SIGALRM")
def test_alarm_is_not_raised_inside_a_gc_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    """An alarm that lands in a garbage-collector callback is let pass (Python would print the
    exception as "Exception ignored" and drop it); the next repeat stops simplify."""
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def slow_callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            time.sleep(0.4)  # the 0.2 s alarm fires in here

    def simplify_with_a_collection(expr: sp.Expr) -> sp.Expr:
        gc.callbacks.append(slow_callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(slow_callback)
        time.sleep(5)
        return expr

    assert _seconds_to_give_up(monkeypatch, simplify_with_a_collection) < 3
    assert unraisable == []


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the time limit uses SIGALRM")
def test_an_alarm_dropped_in_a_weakref_callback_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """An alarm can land in any callback Python runs from C (a weakref's during a collection,
    seen once in a parallel test run): Python drops it there as "Exception ignored".  It is not
    reported, the next repeat stops simplify, and other unraisable exceptions still are."""
    import weakref

    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    class Thing:
        pass

    def simplify_with_a_slow_weakref_callback(expr: sp.Expr) -> sp.Expr:
        thing = Thing()
        ref = weakref.ref(thing, lambda r: time.sleep(0.4))  # the 0.2 s alarm fires in here
        del thing
        assert ref() is None
        time.sleep(5)
        return expr

    assert _seconds_to_give_up(monkeypatch, simplify_with_a_slow_weakref_callback) < 3
    assert unraisable == []

    def other(r: object) -> None:
        raise RuntimeError("not ours")

    thing = Thing()
    ref = weakref.ref(thing, other)
    del thing
    assert ref() is None and len(unraisable) == 1  # the hook is the test's own again
