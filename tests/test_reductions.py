"""The loss reductions' adjoints are hand-written plumbing in nnref/_runtime.py; here
SymPy differentiates each reduction and the runtime must agree with it.

For elementwise losses l and weights w, each reduction R(l, w) ('none', 'sum', 'mean',
'batchmean', and the weighted mean Σ w l / Σ w) is written symbolically on small arrays;
unreduce_grad must return ∂⟨g, R⟩/∂l and loss_weight_grad ∂⟨g, R⟩/∂w.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from nnref import _runtime as rt

SHAPE = (2, 3)


def _symbolic(reduction: str, weighted: str | None) -> tuple[sp.Expr | sp.Matrix, list[sp.Symbol], list[sp.Symbol]]:
    n = int(np.prod(SHAPE))
    ls = list(sp.symbols(f"l0:{n}", real=True))
    ws = list(sp.symbols(f"w0:{n}", positive=True))
    terms = [l_ * w_ for l_, w_ in zip(ls, ws)] if weighted else ls
    if reduction == "none":
        return sp.Matrix(terms), ls, ws
    total = sum(terms, sp.S.Zero)
    if reduction == "sum":
        return total, ls, ws
    if reduction == "batchmean":
        return total / SHAPE[0], ls, ws
    if weighted == "weight_sum":
        return total / sum(ws, sp.S.Zero), ls, ws
    return total / n, ls, ws


CASES = [(r, w) for r in ("none", "sum", "mean", "batchmean") for w in (None, "numel", "weight_sum")
         if not (w == "weight_sum" and r != "mean")]


@pytest.mark.parametrize("reduction,weighted", CASES, ids=[f"{r}-{w}" for r, w in CASES])
def test_adjoints_match_sympy(reduction: str, weighted: str | None) -> None:
    rng = np.random.default_rng(7)
    losses = rng.uniform(-2, 2, SHAPE)
    weight = rng.uniform(0.1, 2, SHAPE) if weighted else None
    g = rng.uniform(-1, 1, SHAPE) if reduction == "none" else np.array(rng.uniform(-1, 1))
    expr, ls, ws = _symbolic(reduction, weighted)
    gs = sp.symbols(f"g0:{len(ls)}", real=True) if reduction == "none" else [sp.Symbol("g", real=True)]
    pairing = (sum((gi * e for gi, e in zip(gs, expr)), sp.S.Zero) if reduction == "none" else gs[0] * expr)
    subs = {**dict(zip(ls, losses.ravel())), **dict(zip(gs, np.ravel(g)))}
    if weighted:
        subs.update(dict(zip(ws, weight.ravel())))
    else:
        subs.update(dict.fromkeys(ws, 1.0))
    reductions = ("none", "mean", "sum", "batchmean")
    mean = weighted if weighted else "numel"
    got_l = rt.unreduce_grad("test", g, np.empty(SHAPE), reduction, weight, mean, reductions)
    want_l = np.array([float(sp.diff(pairing, v).subs(subs)) for v in ls]).reshape(SHAPE)
    np.testing.assert_allclose(got_l, want_l, rtol=1e-13, atol=1e-15)
    if weighted:
        got_w = rt.loss_weight_grad("test", g, losses, np.empty(SHAPE), reduction, weight, mean)
        want_w = np.array([float(sp.diff(pairing, v).subs(subs)) for v in ws]).reshape(SHAPE)
        np.testing.assert_allclose(got_w, want_w, rtol=1e-12, atol=1e-14)
