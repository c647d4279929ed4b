"""Regularisation's identities, proved with SymPy on the records' own definitions.

* dropout is unbiased: E[dropout(x)] = x over the mask's Bernoulli(1 - p) law, for 0 <= p < 1,
  and the variance it adds is x²·p/(1 - p);
* dropout's VJP given the mask is the mask times the scale (SymPy's derivative of the record);
* the L2 penalty's gradient is weight_decay·θ, entry by entry, for a vector of symbols;
* adding the penalty to a loss and taking a plain SGD step is SGD's weight_decay
  (that proof lives in ``.optim`` and reads its penalty from the record here, so it is
  stated once).

Owns: ``RegProof`` and ``prove_regularisation``.  Imports: SymPy, the descriptions
(``derivations.ops.regularisation``) and ``.optim`` (the weight-decay proof).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..ops import regularisation as R
from .optim import sgd_weight_decay_is_l2_penalty


@dataclass(frozen=True)
class RegProof:
    op: str
    claim: str
    holds: bool
    detail: str


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


def _unbiased() -> RegProof:
    mean = R.expected_dropout()
    return RegProof("dropout", "E[dropout(x)] = x when the mask is Bernoulli(1 − p), 0 ≤ p < 1",
                    _zero(mean - R.x), f"symbolic: p·0 + (1 − p)·x/(1 − p) = {sp.sstr(mean)}")


def _variance() -> RegProof:
    var = sp.simplify(R.second_moment_dropout() - R.expected_dropout() ** 2)
    return RegProof("dropout", "Var[dropout(x)] = x²·p/(1 − p)", _zero(var - R.x**2 * R.p / (1 - R.p)),
                    f"symbolic: E[y²] − E[y]² = {sp.sstr(sp.factor(var))}")


def _vjp() -> RegProof:
    d = R.DROPOUT.derivation().vjps["input"]
    return RegProof("dropout", "given the mask, ∂dropout(x)ᵢ/∂xᵢ = mᵢ/(1 − p) (a diagonal Jacobian)",
                    _zero(d - R.m / (1 - R.p)), f"symbolic: SymPy's derivative of the record is {sp.sstr(d)}")


def _penalty_gradient(n: int = 4) -> RegProof:
    thetas = sp.symbols(f"theta0:{n}", real=True)
    term = R.L2_PENALTY.definition
    total = sum(term.subs(R.theta, t) for t in thetas)
    grads = [sp.diff(total, t) for t in thetas]
    ok = all(_zero(g - R.lam * t) for g, t in zip(grads, thetas))
    return RegProof("l2_penalty", "∇ (λ/2·‖θ‖²) = λθ, entry by entry", ok,
                    f"symbolic: the record's term summed over {n} symbols and differentiated")


def prove_regularisation() -> list[RegProof]:
    wd = sgd_weight_decay_is_l2_penalty()
    return [_unbiased(), _variance(), _vjp(), _penalty_gradient(),
            RegProof("l2_penalty", wd.claim, wd.holds, wd.detail)]
