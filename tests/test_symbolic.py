"""The derivations themselves: every stable rewrite and quoted closed form is proved equal
to the raw SymPy expression, and every declared convention is what the engine returns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import nnref
from derivations import registry
from derivations.derive import prove_op, raw_derivative
from derivations.spec import PointwiseOp

POINTWISE: list[PointwiseOp] = [op for op in registry.all_ops() if isinstance(op, PointwiseOp)]


@pytest.mark.parametrize("op", POINTWISE, ids=lambda o: o.name)
def test_rewrites_and_closed_forms_are_proved(op: PointwiseOp) -> None:
    proofs = prove_op(op)
    expected = (1 if op.rewrite else 0) + len(op.closed_forms)
    assert len(proofs) == expected
    assert all(p.method in ("symbolic", "numeric") for p in proofs)


def _param_values(op: PointwiseOp, overrides: dict[str, float]) -> dict[str, float]:
    vals = {p.name: p.default for p in op.params if p.symbol is not None}
    vals.update(overrides)
    missing = [k for k, v in vals.items() if v is None]
    assert not missing, f"{op.name}: convention needs values for required params {missing}"
    return vals


CONVENTIONS = [(op, c) for op in POINTWISE for c in op.conventions]


@pytest.mark.parametrize("op,conv", CONVENTIONS, ids=lambda v: getattr(v, "label", getattr(v, "name", "")))
def test_engine_returns_the_declared_convention(op: PointwiseOp, conv) -> None:
    """At the convention's exact point, the generated backward returns the declared value."""
    params = _param_values(op, conv.params)
    point = {a.name: conv.point.get(a.name, 0.5) for a in op.args}
    subs = {op.symbols[k]: v for k, v in {**params, **point}.items() if math.isfinite(v)}
    if all(math.isfinite(v) for v in point.values()):
        assert bool(conv.condition.subs(subs)), f"{conv.label}: its point {point} does not satisfy {conv.condition}"
    arrays = {k: np.array([v]) for k, v in point.items()}
    kwargs = {p.name: params[p.name] for p in op.params if p.name in params}
    if op.variant_of:
        kwargs.update(op.variant_of[1])
    if op.reduction:
        kwargs["reduction"] = "none"
    fn = getattr(nnref, f"{op.public}_backward")
    got = fn(np.ones(1), **arrays, **kwargs)
    for wrt, value in conv.grads.items():
        want = float(sp.sympify(value).subs(subs))
        assert got[wrt][0] == pytest.approx(want, rel=1e-15, abs=0, nan_ok=True), f"{conv.label}: d/d{wrt}"
    if conv.value is not None:
        forward = getattr(nnref, op.public)(**arrays, **kwargs)
        want = float(sp.sympify(conv.value).subs(subs))
        assert forward[0] == pytest.approx(want, rel=1e-15, abs=0, nan_ok=True), f"{conv.label}: value"


def test_sympy_default_differs_from_torch_at_relu_kink() -> None:
    """Why conventions exist: SymPy's d/dx max(x, 0) is Heaviside(x), 1/2 at 0; torch uses 0."""
    relu = next(op for op in POINTWISE if op.name == "relu")
    raw = raw_derivative(relu, "input")
    assert raw.subs(relu.args[0].symbol, 0) == sp.Rational(1, 2)
    assert nnref.relu_backward(np.ones(1), np.zeros(1))["input"][0] == 0.0
