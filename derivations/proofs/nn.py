"""Whole networks, symbolically: the residual block's gradient identity, and the fruit network's
full gradient (worked example E3) against the chained vector-Jacobian products.

* ``residual_identity``: for y = x + F(x) and any loss L(y), SymPy differentiates L(x + F(x))
  with respect to each xⱼ and finds gⱼ + Σᵢ (∂Fᵢ/∂xⱼ) gᵢ, i.e. ∂L/∂x = g + J_Fᵀ g, where g = ∂L/∂y.
* ``fruit_gradient``: the 2 → 2 (ReLU) → 1 (sigmoid) network with every weight a symbol; SymPy
  differentiates the whole loss (MSE or binary cross-entropy) with respect to each of the nine
  weights, and the chain rule written layer by layer (each op's VJP: loss, sigmoid, linear, relu,
  linear) gives the same nine expressions; both are then evaluated exactly at E3's numbers and
  compared with what ``nnref.nn`` computes.

Owns: ``NetProof``, ``residual_identity``, ``fruit_symbols``, ``fruit_gradient`` and
``prove_nn``.  Imports: SymPy, NumPy and the engine (``nnref``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

E3 = {"x": [1, 1], "W1": [[sp.Rational(1, 2), sp.Rational(1, 5)], [sp.Rational(3, 10), sp.Rational(4, 5)]],
      "b1": [sp.Rational(1, 10), sp.Rational(1, 10)], "W2": [[sp.Rational(2, 5), sp.Rational(7, 10)]],
      "b2": [sp.Rational(1, 5)], "y": 1}


@dataclass(frozen=True)
class NetProof:
    claim: str
    holds: bool
    detail: str


def residual_identity(n: int = 3) -> NetProof:
    xs = sp.symbols(f"x0:{n}", real=True)
    ys = sp.symbols(f"y0:{n}", real=True)
    F = [sp.Function(f"F{i}")(*xs) for i in range(n)]
    L = sp.Function("L")(*ys)
    at = {ys[i]: xs[i] + F[i] for i in range(n)}
    whole = L.subs(at, simultaneous=True)
    g = [sp.diff(L, ys[i]).subs(at, simultaneous=True) for i in range(n)]
    ok = all(sp.simplify(sp.diff(whole, xs[j]) - (g[j] + sum(sp.diff(F[i], xs[j]) * g[i] for i in range(n)))) == 0
             for j in range(n))
    return NetProof("residual block y = x + F(x): ∂L/∂x = g + J_Fᵀ g with g = ∂L/∂y", ok,
                    f"symbolic: L and F arbitrary functions of {n} variables; the chain rule on L(x + F(x))")


def fruit_symbols() -> dict[str, Any]:
    W1 = sp.Matrix(2, 2, sp.symbols("w1_00 w1_01 w1_10 w1_11", real=True))
    b1 = sp.Matrix(sp.symbols("b1_0 b1_1", real=True))
    W2 = sp.Matrix(1, 2, sp.symbols("w2_00 w2_01", real=True))
    b2 = sp.Matrix([sp.Symbol("b2_0", real=True)])
    x = sp.Matrix(sp.symbols("x0 x1", real=True))
    y = sp.Symbol("y", real=True)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "x": x, "y": y}


def _relu(z: sp.Expr) -> sp.Expr:
    return sp.Piecewise((0, z <= 0), (z, True))


def _relu_slope(z: sp.Expr) -> sp.Expr:
    return sp.Piecewise((0, z <= 0), (1, True))  # nnref's relu'(0) = 0


def _sigmoid(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


def _loss(kind: str, yhat: sp.Expr, y: sp.Expr) -> sp.Expr:
    return (yhat - y) ** 2 if kind == "mse" else -(y * sp.log(yhat) + (1 - y) * sp.log(1 - yhat))


def fruit_gradient(kind: str) -> tuple[dict[str, sp.Matrix], dict[str, sp.Matrix], dict[sp.Symbol, Any]]:
    """(SymPy's gradient of the whole loss, the chained VJPs), per parameter as matrices, and the
    substitution of E3's numbers."""
    s = fruit_symbols()
    W1, b1, W2, b2, x, y = (s[k] for k in ("W1", "b1", "W2", "b2", "x", "y"))
    z1 = W1 * x + b1
    h1 = z1.applyfunc(_relu)
    z2 = (W2 * h1 + b2)[0]
    yhat = _sigmoid(z2)
    L = _loss(kind, yhat, y)
    whole = {name: M.applyfunc(lambda w: sp.diff(L, w)) for name, M in (("W1", W1), ("b1", b1), ("W2", W2),
                                                                          ("b2", b2))}
    # the chain rule, one op at a time, as nnref.nn.Sequential.backward hands gradients on
    yh = sp.Symbol("yhat")
    d_yhat = sp.diff(_loss(kind, yh, y), yh).subs(yh, yhat)        # loss backward
    d_z2 = d_yhat * yhat * (1 - yhat)                               # sigmoid backward
    d_W2, d_b2 = d_z2 * h1.T, sp.Matrix([d_z2])                     # linear backward (weight, bias)
    d_h1 = W2.T * d_z2                                              # linear backward (input)
    d_z1 = sp.Matrix([d_h1[i] * _relu_slope(z1[i]) for i in range(2)])  # relu backward
    d_W1, d_b1 = d_z1 * x.T, d_z1                                   # linear backward
    chained = {"W1": d_W1, "b1": d_b1, "W2": d_W2, "b2": d_b2}
    at = {s["x"][i]: E3["x"][i] for i in range(2)} | {y: E3["y"]}
    for name in ("W1", "W2"):
        at |= {s[name][i, j]: E3[name][i][j] for i in range(s[name].rows) for j in range(s[name].cols)}
    for name in ("b1", "b2"):
        at |= {s[name][i]: E3[name][i] for i in range(s[name].rows)}
    return whole, chained, at


def _same_in_every_region(whole: dict[str, sp.Matrix], chained: dict[str, sp.Matrix]) -> bool:
    """Equal as functions in each of the four regions the hidden units' signs cut the weights'
    space into (each unit on, z1 > 0, or off, z1 <= 0, where nnref's relu'(0) = 0 applies): in each,
    every relu and relu' is replaced by its branch there and the difference simplifies to 0."""
    s = fruit_symbols()
    z1 = list(s["W1"] * s["x"] + s["b1"])
    ok = True
    for on in ((True, True), (True, False), (False, True), (False, False)):
        def branch(*pairs: Any, on: tuple[bool, bool] = on) -> sp.Expr:
            unit = next(i for i in range(2) if sp.simplify(pairs[0][1].lhs - z1[i]) == 0)
            return pairs[-1][0] if on[unit] else pairs[0][0]

        for name in whole:
            for a, b in zip(whole[name], chained[name]):
                ok = ok and sp.simplify((a - b).replace(sp.Piecewise, branch)) == 0
    return ok


def fruit_nnref(kind: str) -> dict[str, np.ndarray]:
    """The gradient nnref.nn computes for E3 (float64)."""
    import nnref

    net = nnref.nn.Sequential(nnref.nn.Linear(2, 2), nnref.nn.ReLU(), nnref.nn.Linear(2, 1), nnref.nn.Sigmoid())
    params = {"0.weight": np.array(E3["W1"], dtype=float), "0.bias": np.array(E3["b1"], dtype=float),
              "2.weight": np.array(E3["W2"], dtype=float), "2.bias": np.array(E3["b2"], dtype=float)}
    loss = {"mse": "mse_loss", "bce": "binary_cross_entropy"}[kind]
    _, grads = nnref.nn.loss_and_grad(net, params, np.array([E3["x"]], dtype=float), np.array([[1.0]]), loss)
    return {"W1": grads["0.weight"], "b1": grads["0.bias"], "W2": grads["2.weight"], "b2": grads["2.bias"]}


def prove_fruit(kind: str) -> list[NetProof]:
    whole, chained, at = fruit_gradient(kind)
    same = _same_in_every_region(whole, chained)
    got = fruit_nnref(kind)
    worst = 0.0
    for name in whole:
        exact = np.array(whole[name].subs(at).evalf(30).tolist(), dtype=float).reshape(got[name].shape)
        worst = max(worst, float(np.max(np.abs(got[name] - exact) / np.maximum(np.abs(exact), 1e-300))))
    label = {"mse": "MSE", "bce": "binary cross-entropy"}[kind]
    return [NetProof(f"E3 with {label}: SymPy's gradient of the whole loss equals the chained VJPs (loss → sigmoid →"
                     " linear → relu → linear) for all nine weights", same,
                     "symbolic, in each of the four regions the two hidden units' signs define"),
            NetProof(f"E3 with {label}: nnref.nn's gradient equals the exact one at E3's numbers", worst < 1e-14,
                     f"largest relative difference {worst:.1e} (float64 rounding; bound 1e-14)")]


def prove_nn() -> list[NetProof]:
    return [residual_identity(), *prove_fruit("mse"), *prove_fruit("bce")]
