"""Differentiate each op's definition and prove its rewrites and closed forms.

SymPy differentiates the *definition*; nothing here types a derivative in by hand.
The engine then uses, for each argument, the declared closed form when the op marks one
for the engine (after it has been proved equal to the raw derivative), else the raw
derivative, and finally lays the declared conventions over it at their exact points.

Owns: the pointwise derivatives (raw, engine), the proof machinery (``prove_equal``,
``Proof``) and the simplify time limit.  Imports: ``.spec``, SymPy and mpmath.
"""

from __future__ import annotations

import gc
import random
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

import mpmath
import sympy as sp

from .spec import Convention, PointwiseOp

PROOF_DIGITS = 50
PROOF_POINTS = 120


def raw_derivative(op: PointwiseOp, wrt: str) -> sp.Expr:
    sym = {a.name: a.symbol for a in op.args}[wrt]
    return sp.diff(op.definition, sym)


def engine_forward(op: PointwiseOp) -> sp.Expr:
    base = op.rewrite.expr if op.rewrite else op.definition
    pairs = [(c.value, c.condition) for c in op.conventions if c.value is not None]
    return sp.Piecewise(*pairs, (base, True)) if pairs else base


def apply_conventions(expr: sp.Expr, conventions: tuple[Convention, ...], wrt: str) -> sp.Expr:
    """Override ``expr`` where a convention's condition holds (first declared wins)."""
    pairs = [(c.grads[wrt], c.condition) for c in conventions if wrt in c.grads]
    if not pairs:
        return expr
    return sp.Piecewise(*pairs, (expr, True))


def engine_derivative(op: PointwiseOp, wrt: str) -> sp.Expr:
    chosen = next((c.expr for c in op.closed_forms if c.wrt == wrt and c.use_in_engine), None)
    base = chosen if chosen is not None else raw_derivative(op, wrt)
    return apply_conventions(base, op.conventions, wrt)


@dataclass(frozen=True)
class Proof:
    """How an identity was established: 'symbolic' (SymPy simplified the difference to
    0) or 'numeric' (agreement to PROOF_DIGITS digits at PROOF_POINTS random points)."""

    claim: str
    method: str
    detail: str


def _sample_value(rng: random.Random, lo: float, hi: float) -> float:
    # Mix ordinary magnitudes with the edges of the range, so both branches of every
    # piecewise form get points.
    choice = rng.random()
    if choice < 0.7:
        return rng.uniform(lo, hi)
    if choice < 0.85:
        return rng.uniform(lo, lo + (hi - lo) * 0.1)
    return rng.uniform(hi - (hi - lo) * 0.1, hi)


def _ranges(op: PointwiseOp) -> dict[sp.Symbol, tuple[float, float]]:
    out: dict[sp.Symbol, tuple[float, float]] = {}
    for a in op.args:
        out[a.symbol] = {
            "real": (-40.0, 40.0), "unit": (1e-6, 1 - 1e-6), "positive": (1e-3, 50.0),
            "sign": (-1.0, 1.0), "pm1": (-1.0, 1.0), "nonneg": (0.0, 50.0),
        }[a.test_domain]
    for p in op.params:
        if p.symbol is not None:
            out[p.symbol] = p.test_range or (-3.0, 3.0)
    return out


SIMPLIFY_SECONDS = 3
ALARM_REPEAT = 0.05


class _OutOfTime(Exception):
    pass


def _in_gc_callback(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside one of the garbage collector's callbacks."""
    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _simplifies_to_zero(diff: sp.Expr) -> bool:
    """Try SymPy's simplify for a few seconds; False when it cannot show 0 in that time.

    simplify can run for minutes on nested piecewise forms, and failing to simplify
    proves nothing either way, so the numeric check takes over."""
    done = False

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        # Not inside a garbage-collector callback: Python would print the exception as
        # "Exception ignored" and carry on; the alarm's next repeat lands in simplify.
        if not done and not _in_gc_callback(frame):
            raise _OutOfTime

    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    hook = sys.unraisablehook

    def ours_dropped(args: Any) -> None:
        # An alarm that lands in another callback Python runs from C (a weakref's, during a
        # collection) is dropped there as "Exception ignored": it is ours, and the next
        # repeat stops simplify, so it is not reported.
        if not isinstance(args.exc_value, _OutOfTime):
            hook(args)

    if use_alarm:
        sys.unraisablehook = ours_dropped
        previous = signal.signal(signal.SIGALRM, on_alarm)
        # The alarm repeats every ALARM_REPEAT seconds after the first: an alarm that lands
        # in a garbage-collector callback (seen in CI as "Exception ignored in gc_callback"),
        # or in code that swallows the exception, is followed by another, instead of
        # simplify running on.
        signal.setitimer(signal.ITIMER_REAL, SIMPLIFY_SECONDS, ALARM_REPEAT)
    try:
        # Max and Min as Piecewise first: SymPy folds a difference of piecewise forms branch by
        # branch, but keeps Max(x, 0) - Piecewise((0, x <= 0), (x, True)) as it stands
        folded = diff.rewrite(sp.Piecewise) if diff.has(sp.Max, sp.Min) else diff
        return bool(sp.simplify(sp.piecewise_fold(folded)) == 0)
    except _OutOfTime:
        done = True
        return False
    except Exception:  # noqa: BLE001 - SymPy can raise anything while simplifying
        done = True
        return False
    finally:
        done = True
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            sys.unraisablehook = hook


def prove_equal(lhs: sp.Expr | sp.Matrix, rhs: sp.Expr | sp.Matrix, ranges: dict[sp.Symbol, tuple[float, float]],
                claim: str, seed: int = 0, try_symbolic: bool = True) -> Proof:
    """Prove lhs == rhs (expressions, or matrices entry by entry) on the given ranges;
    raise AssertionError with the witness if not."""
    left = list(lhs) if isinstance(lhs, sp.MatrixBase) else [lhs]
    right = list(rhs) if isinstance(rhs, sp.MatrixBase) else [rhs]
    assert len(left) == len(right), f"{claim}: {len(left)} entries vs {len(right)}"
    if try_symbolic and all(_simplifies_to_zero(a - b) for a, b in zip(left, right)):
        return Proof(claim, "symbolic", "SymPy simplifies the difference to 0")
    rng = random.Random(seed)
    # Both sides' symbols, not the difference's: a difference that cancels a variable (−2y from
    # (p − y) − (p + y)) must still evaluate both sides at a point.
    free = sorted(set().union(*(sp.sympify(a).free_symbols | sp.sympify(b).free_symbols
                                for a, b in zip(left, right))), key=str)
    # lambdify to mpmath evaluates ~100x faster than sp.N with the same working precision.
    f_lhs = sp.lambdify(free, left, modules="mpmath")
    f_rhs = sp.lambdify(free, right, modules="mpmath")
    worst = mpmath.mpf(0)
    with mpmath.workdps(PROOF_DIGITS):
        for _ in range(PROOF_POINTS):
            point = [mpmath.mpf(_sample_value(rng, *ranges[s])) for s in free]
            for a, b in zip(f_lhs(*point), f_rhs(*point)):
                rel = abs(a - b) / max(abs(b), mpmath.mpf(1))
                if not rel <= mpmath.mpf(10) ** (-(PROOF_DIGITS - 10)):
                    raise AssertionError(f"{claim}: differs at {dict(zip(free, point))}: {a} vs {b}")
                worst = max(worst, rel)
    return Proof(claim, "numeric",
                 f"agree to {PROOF_DIGITS} digits at {PROOF_POINTS} random points"
                 f" (worst relative difference {mpmath.nstr(worst, 3)})")


def prove_op(op: PointwiseOp) -> list[Proof]:
    """Every identity the op relies on: its rewrite and each closed form."""
    ranges = _ranges(op)
    proofs = []
    if op.rewrite is not None:
        proofs.append(prove_equal(op.rewrite.expr, op.definition, ranges,
                                  f"{op.name}: stable rewrite equals the definition"))
    for cf in op.closed_forms:
        proofs.append(prove_equal(cf.expr, raw_derivative(op, cf.wrt), ranges,
                                  f"{op.name}: closed form {cf.label} equals d/d{cf.wrt} of"
                                  " the definition"))
    return proofs
