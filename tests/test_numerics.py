"""Numerical soundness at extreme magnitudes, judged against 60-digit arithmetic.

For every pointwise op, each argument is pushed through magnitudes from 1e-300 to 1e300
(others held at an ordinary value).  The truth is the op's *definition* (not the
engine's rewrite) and SymPy's raw derivative of it, evaluated with mpmath at 60 digits.
Wherever the true value is a finite float64, nnref must return a finite value close to
it, forward and backward, and must not emit a RuntimeWarning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import sympy as sp

import nnref
from derivations import oracle, registry
from derivations.derive import raw_derivative
from derivations.spec import PointwiseOp

POINTWISE: list[PointwiseOp] = [op for op in registry.all_ops() if isinstance(op, PointwiseOp)]
MAGNITUDES = [1e-300, 1e-8, 0.5, 20.0, 40.0, 700.0, 710.0, 1000.0, 1e4, 1e10, 1e30, 1e300]
EXTREMES = {
    "real": [s * m for m in MAGNITUDES for s in (1.0, -1.0)],
    "unit": [1e-300, 1e-100, 1e-16, 0.5, 1 - 1e-16, 1.0 - 2 ** -53],
    "positive": [1e-300, 1e-30, 1e-8, 1.0, 1e8, 1e30, 1e300],
    "nonneg": [0.0, 1e-300, 1e-8, 1.0, 1e8, 1e300],
    "sign": [-1.0, 1.0],
    "pm1": [-1.0, 1.0],
}
ORDINARY = {"real": 0.75, "unit": 0.25, "positive": 1.5, "nonneg": 1.5, "sign": 1.0, "pm1": 1.0}
REQUIRED = {"threshold": 0.5, "value": -0.5}
FLOAT_MAX = float(np.finfo(np.float64).max)
# Ops whose defining formula cancels near 0 and that say so in their notes.
CANCELS_NEAR_ZERO = {"tanhshrink"}


def _params(op: PointwiseOp) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in op.params:
        if p.kind == "float":
            out[p.name] = REQUIRED.get(p.name, p.default) if p.default is None else p.default
    return out


def _points(op: PointwiseOp) -> list[dict[str, float]]:
    pts = []
    for a in op.args:
        if a.layout != "elementwise":
            continue
        for v in EXTREMES[a.test_domain]:
            pts.append({b.name: (v if b is a else ORDINARY[b.test_domain]) for b in op.args
                        if getattr(b, "optional", None) is None})
    return pts


def _declared_here(op: PointwiseOp, point: dict[str, float], params: dict[str, Any]) -> tuple[set[str], bool]:
    """Quantities a convention decides at this point (gradients by argument, and whether
    the forward value): the truth there is the declared convention, checked elsewhere."""
    subs = {op.symbols[k]: v for k, v in {**point, **params}.items() if k in op.symbols}
    grads: set[str] = set()
    forward = False
    for c in op.conventions:
        try:
            holds = bool(c.condition.subs(subs))
        except TypeError:
            continue  # IsNaN / IsInf markers: never true at these finite points
        if holds:
            grads |= set(c.grads)
            forward |= c.value is not None
    return grads, forward


def _truth(op: PointwiseOp, expr: sp.Expr, point: dict[str, float], params: dict[str, Any]) -> float | None:
    """The exact value rounded to float64, or None when it is not a finite real.  The precision
    is raised until two evaluations agree (derivations/oracle.py): at a fixed 60 digits a
    cancellation such as 1 + erf(−20/√2) reads as 0 where the truth is 5.5e-88."""
    values = {op.symbols[k]: v for k, v in {**point, **params}.items() if k in op.symbols}
    fn = sp.lambdify(list(values), oracle.definite(expr), modules="mpmath")
    hi, _ = oracle.truth(fn, list(values.values()))
    return hi if np.isfinite(hi) else None


CASES = [(op, pt) for op in POINTWISE for pt in _points(op)]


def _call(op: PointwiseOp, point: dict[str, float], params: dict[str, Any]) -> tuple[Any, Any]:
    arrays = {k: np.array([v]) for k, v in point.items()}
    kwargs = dict(params)
    if op.variant_of:
        kwargs.update(op.variant_of[1])
    if op.reduction:
        kwargs["reduction"] = "none"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fwd = getattr(nnref, op.public)(**arrays, **kwargs)
        bwd = getattr(nnref, f"{op.public}_backward")(np.ones(np.shape(fwd)), **arrays, **kwargs)
    return fwd, bwd


def _close(got: float, want: float) -> bool:
    # 1e-7 relative: far looser than float64's 1e-16, because formulas that add a constant
    # to an input (log(x + eps) in poisson_nll_loss, as torch writes it) round that sum
    # first, yet tight enough to catch any overflow or cancellation that loses the answer.
    return abs(got - want) <= 1e-7 * abs(want) + 1e-290


@pytest.mark.parametrize("op,point", CASES, ids=[f"{o.name}-{p}" for o, p in CASES])
def test_finite_where_the_truth_is_finite(op: PointwiseOp, point: dict[str, float]) -> None:
    params = _params(op)
    fwd, bwd = _call(op, point, params)
    declared, forward_declared = _declared_here(op, point, params)
    want = None if forward_declared else _truth(op, op.definition, point, params)
    if want is not None:
        assert np.isfinite(fwd).all(), f"{op.name}{point}: forward {fwd[0]!r}, true value {want!r}"
        if op.name in CANCELS_NEAR_ZERO and abs(point["input"]) < 1e-3:
            # The op's stated limitation (see its notes): absolute accuracy ~ulp(x) only.
            assert abs(float(fwd[0]) - want) <= 4 * np.spacing(abs(point["input"])), f"{op.name}{point}"
        else:
            assert _close(float(fwd[0]), want), f"{op.name}{point}: forward {fwd[0]!r}, true value {want!r}"
    for arg in op.args:
        if not arg.grad or arg.layout != "elementwise" or arg.name in declared:
            continue
        dwant = _truth(op, raw_derivative(op, arg.name), point, params)
        if dwant is None:
            continue
        got = bwd[arg.name]
        assert np.isfinite(got).all(), f"{op.name}{point}: d/d{arg.name} {got[0]!r}, true value {dwant!r}"
        assert _close(float(got[0]), dwant), f"{op.name}{point}: d/d{arg.name} {got[0]!r}, true value {dwant!r}"


NAMED = [
    ("sigmoid(-1000)", lambda: nnref.sigmoid(np.array([-1000.0])), lambda: nnref.sigmoid_backward(np.ones(1), np.array([-1000.0]))),
    ("softplus(1000)", lambda: nnref.softplus(np.array([1000.0]), threshold=1e4),
     lambda: nnref.softplus_backward(np.ones(1), np.array([1000.0]), threshold=1e4)),
    ("log_softmax([1e308, 0, -5e307])", lambda: nnref.log_softmax(np.array([1e308, 0.0, -5e307]), dim=0),
     lambda: nnref.log_softmax_backward(np.ones(3), np.array([1e308, 0.0, -5e307]), dim=0)),
    ("softmax([1e308, 1e308])", lambda: nnref.softmax(np.array([1e308, 1e308]), dim=0),
     lambda: nnref.softmax_backward(np.ones(2), np.array([1e308, 1e308]), dim=0)),
    ("cross_entropy(huge logits)", lambda: nnref.cross_entropy(np.array([[1e4, -1e4, 0.0], [1e300, 0.0, -1e300]]),
                                                               np.array([1, 2])),
     lambda: nnref.cross_entropy_backward(np.array(1.0), np.array([[1e4, -1e4, 0.0], [1e300, 0.0, -1e300]]),
                                          np.array([1, 2]))),
]


@pytest.mark.parametrize("dtype", ["float64"])
@pytest.mark.parametrize("name,forward,backward", NAMED, ids=[n[0] for n in NAMED])
def test_named_extremes_are_finite(name: str, forward: Any, backward: Any, dtype: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = forward()
        grads = backward()
    assert np.isfinite(out).all(), f"{name}: {out}"
    for k, v in grads.items():
        assert np.isfinite(v).all(), f"{name} d/d{k}: {v}"


def test_bce_with_logits_at_plus_minus_1e4() -> None:
    if not hasattr(nnref, "binary_cross_entropy_with_logits"):
        pytest.fail("binary_cross_entropy_with_logits is missing")
    x = np.array([1e4, -1e4, 1e4, -1e4])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nnref.binary_cross_entropy_with_logits(x, y, reduction="none")
        grad = nnref.binary_cross_entropy_with_logits_backward(np.ones(4), x, y, reduction="none")
    np.testing.assert_allclose(loss, [1e4, 1e4, 0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(grad["input"], [1.0, -1.0, 0.0, 0.0], atol=1e-300)
