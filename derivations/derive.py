"""Differentiate each op's definition and prove its rewrites and closed forms.

SymPy differentiates the *definition*; nothing here types a derivative in by hand.
The engine then uses, for each argument, the declared closed form when the op marks one
for the engine (after it has been proved equal to the raw derivative), else the raw
derivative, and finally lays the declared conventions over it at their exact points.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from .spec import Convention, PointwiseOp

PROOF_DIGITS = 50
PROOF_POINTS = 120


def raw_derivative(op: PointwiseOp, wrt: str) -> sp.Expr:
    sym = {a.name: a.symbol for a in op.args}[wrt]
    return sp.diff(op.definition, sym)


def engine_forward(op: PointwiseOp) -> sp.Expr:
    return op.rewrite.expr if op.rewrite else op.definition


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
            "sign": (-1.0, 1.0), "nonneg": (0.0, 50.0),
        }[a.test_domain]
    for p in op.params:
        if p.symbol is not None:
            out[p.symbol] = p.test_range or (-3.0, 3.0)
    return out


def prove_equal(lhs: sp.Expr, rhs: sp.Expr, ranges: dict[sp.Symbol, tuple[float, float]],
                claim: str, seed: int = 0, try_symbolic: bool = True) -> Proof:
    """Prove lhs == rhs on the given ranges; raise AssertionError with the witness if not."""
    if try_symbolic:
        try:
            diff = sp.simplify(sp.piecewise_fold(lhs - rhs))
        except Exception:  # noqa: BLE001 - SymPy can raise anything while simplifying
            diff = None
        if diff == 0:
            return Proof(claim, "symbolic", "SymPy simplifies the difference to 0")
    rng = random.Random(seed)
    free = sorted((lhs - rhs).free_symbols, key=str)
    worst = mpmath.mpf(0)
    with mpmath.workdps(PROOF_DIGITS):
        for _ in range(PROOF_POINTS):
            subs = {s: sp.Float(_sample_value(rng, *ranges[s]), PROOF_DIGITS) for s in free}
            a = sp.N(lhs, PROOF_DIGITS, subs=subs)
            b = sp.N(rhs, PROOF_DIGITS, subs=subs)
            if not (a.is_number and b.is_number):
                raise AssertionError(f"{claim}: could not evaluate at {subs}: {a} vs {b}")
            err = abs(mpmath.mpf(str(a)) - mpmath.mpf(str(b)))
            scale = max(abs(mpmath.mpf(str(b))), mpmath.mpf(1))
            rel = err / scale
            if rel > mpmath.mpf(10) ** (-(PROOF_DIGITS - 10)):
                raise AssertionError(f"{claim}: differs at {subs}: {a} vs {b}")
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
