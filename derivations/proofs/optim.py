"""The optimizers' identities, proved with SymPy on the records' own update lines.

``symbolic_step`` runs a record's lines on symbols (conditions evaluated for given flags), so
each claim is about the rule the engine prints, not a retyped copy of it:

* SGD's weight_decay adds exactly the gradient of the L2-penalised loss L + λ/2·‖θ‖², the
  penalty read from its record (``derivations/ops/regularisation.py``: ``l2_penalty``);
* torch's two lerp forms are one function;
* bias correction: with a constant gradient g, m_t = (1 - β₁ᵗ)·g and v_t = (1 - β₂ᵗ)·g², so
  m_t/(1 - β₁ᵗ) = g and v_t/(1 - β₂ᵗ) = g² exactly;
* Adam's L2 weight decay and AdamW's decoupled decay differ (the difference after one step, in
  closed form), and the difference vanishes for λ = 0 or θ = 0; for plain SGD the two coincide;
* torch's Nesterov form equals Sutskever et al.'s look-ahead form under φ = θ + μv, b = -v/η.

Owns: ``OptimProof``, ``symbolic_step`` and ``prove_optim``.  Imports: SymPy, the optimizer
descriptions (``derivations.ops.optim``) and the L2 penalty's (``derivations.ops.regularisation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..ops import optim as O
from ..ops import regularisation as R


@dataclass(frozen=True)
class OptimProof:
    optimizer: str
    claim: str
    holds: bool
    detail: str


def symbolic_step(op: O.OptimOp, values: dict[str, Any], flags: dict[str, Any]) -> dict[str, sp.Expr]:
    """The record's lines applied in order to symbolic values; ``flags`` decides the conditions
    (hyperparameters and step count as Python values)."""
    env = dict(values)
    for u in op.updates:
        if u.when is not None and not eval(u.when, {}, {**flags, **{"weight": flags.get("weight", 0.1)}}):  # noqa: S307
            continue
        env[u.target] = u.expr.subs({s: env[s.name] for s in u.expr.free_symbols if s.name in env},
                                    simultaneous=True)
    return env


def _op(name: str) -> O.OptimOp:
    return next(op for op in O.OPS if op.name == name)


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


def sgd_weight_decay_is_l2_penalty() -> OptimProof:
    """SGD with weight_decay = λ on L is plain SGD on L + l2_penalty(θ, λ), the penalty taken from
    its record (``derivations/ops/regularisation.py``), for a parameter of several entries."""
    n = 3
    thetas = sp.symbols(f"theta0:{n}", real=True)
    lam, eta = sp.symbols("lambda eta", real=True)
    L = sp.Function("L")(*thetas)
    term = R.L2_PENALTY.definition.subs(R.lam, lam)
    penalised = L + sum(term.subs(R.theta, t) for t in thetas)
    flags = {"maximize": False, "weight_decay": 1, "momentum": 0, "nesterov": False, "step": 1}
    ok = True
    for t in thetas:
        env = symbolic_step(_op("sgd"), {"param": t, "grad": sp.diff(L, t), "lr": eta, "weight_decay": lam}, flags)
        ok = ok and _zero(env["param"] - (t - eta * sp.diff(penalised, t)))
    return OptimProof("sgd", "weight_decay = λ is gradient descent on L(θ) + l2_penalty(θ, λ) = L(θ) + λ/2·‖θ‖²",
                      ok, f"symbolic: for each of {n} entries the two updates subtract to 0")


def _lerp_forms() -> OptimProof:
    m, g, wt = sp.symbols("m g w", real=True)
    return OptimProof("adam", "torch's lerp forms m + w(g - m) and g - (g - m)(1 - w) are one function",
                      _zero((m + wt * (g - m)) - (g - (g - m) * (1 - wt))), "symbolic")


def _bias_correction() -> list[OptimProof]:
    g, b1, b2 = sp.symbols("g beta1 beta2", positive=True)
    m = v = sp.S.Zero
    out = []
    adam = _op("adam")
    for t in range(1, 6):
        flags = {"maximize": False, "weight_decay": 0, "amsgrad": False, "weight": 0.1, "step": t}
        env = symbolic_step(adam, {"param": sp.Symbol("theta"), "grad": g, "exp_avg": m, "exp_avg_sq": v,
                                   "beta1": b1, "beta2": b2, "step": t, "lr": sp.Symbol("eta"),
                                   "eps": sp.Symbol("epsilon")}, flags)
        m, v = env["exp_avg"], env["exp_avg_sq"]
        out.append(_zero(m / (1 - b1**t) - g) and _zero(v / (1 - b2**t) - g**2))
    # and for every t, from the closed-form sum of the recurrence m_t = β m_{t-1} + (1 - β) g
    t, i, beta = sp.symbols("t i beta", positive=True, integer=True)
    total = sp.summation((1 - beta) * beta**(t - i), (i, 1, t))
    general = _zero(total - (1 - beta**t))
    return [OptimProof("adam", "bias correction: with a constant gradient, m_t/(1 - β₁ᵗ) = g and v_t/(1 - β₂ᵗ) = g²",
                       all(out) and general,
                       "symbolic: the record's lines run for t = 1..5, and Σᵢ(1 - β)βᵗ⁻ⁱ = 1 - βᵗ for every t")]


def adam_vs_adamw() -> tuple[sp.Expr, OptimProof, OptimProof]:
    """One step from a fresh state: AdamW's parameter minus Adam-with-L2's."""
    theta, g, lam, eta, e = sp.symbols("theta g lambda eta epsilon", real=True)
    b1, b2 = sp.Rational(9, 10), sp.Rational(999, 1000)
    common = {"param": theta, "grad": g, "exp_avg": 0, "exp_avg_sq": 0, "beta1": b1, "beta2": b2, "step": 1,
              "lr": eta, "eps": e, "weight_decay": lam}
    flags = {"maximize": False, "weight_decay": 1, "amsgrad": False, "weight": 0.1, "step": 1}
    adam = symbolic_step(_op("adam"), common, flags)["param"]
    adamw = symbolic_step(_op("adamw"), common, flags)["param"]
    diff = sp.simplify(adamw - adam)
    vanishes = _zero(diff.subs(lam, 0)) and _zero(diff.subs(theta, 0))
    sample = diff.subs({theta: 1, g: 1, lam: sp.Rational(1, 10), eta: sp.Rational(1, 100), e: 0})
    differs = sp.nsimplify(sample) != 0
    return (diff,
            OptimProof("adam", "Adam's L2 decay and AdamW's decoupled decay differ after one step", bool(differs),
                       f"symbolic: at θ = g = 1, λ = 0.1, η = 0.01, ε = 0 the difference is {sp.nsimplify(sample)}"),
            OptimProof("adamw", "the difference vanishes when λ = 0 or θ = 0", vanishes, "symbolic"))


def _sgd_decoupled_is_l2() -> OptimProof:
    theta, g, lam, eta = sp.symbols("theta g lambda eta", real=True)
    flags = {"maximize": False, "weight_decay": 1, "momentum": 0, "nesterov": False, "step": 1}
    l2 = symbolic_step(_op("sgd"), {"param": theta, "grad": g, "lr": eta, "weight_decay": lam}, flags)["param"]
    return OptimProof("sgd", "for plain SGD, L2 decay and decoupled decay θ(1 - ηλ) - ηg coincide",
                      _zero(l2 - (theta * (1 - eta * lam) - eta * g)), "symbolic")


def _nesterov() -> OptimProof:
    """torch: b_t = μb_{t-1} + g_t, θ_t = θ_{t-1} - η(g_t + μb_t), with g_t the gradient at θ_{t-1}.
    Sutskever: v_t = μv_{t-1} - η∇f(φ_{t-1}), φ = θ + μv the look-ahead point.  Under
    θ_torch = φ and b = -v/η both give the same next point and the same next buffer."""
    phi, v, g, mu, eta = sp.symbols("phi v g mu eta", real=True)
    theta = phi - mu * v  # the textbook iterate behind the look-ahead point
    v_new = mu * v - eta * g  # g = ∇f at the look-ahead point φ
    theta_new = theta + v_new
    phi_new = theta_new + mu * v_new
    flags = {"maximize": False, "weight_decay": 0, "momentum": 1, "nesterov": True, "step": 2}
    env = symbolic_step(_op("sgd"), {"param": phi, "grad": g, "lr": eta, "momentum": mu, "dampening": 0,
                                     "momentum_buffer": -v / eta}, flags)
    same_point = _zero(env["param"] - phi_new)
    same_buffer = _zero(env["momentum_buffer"] - (-v_new / eta))
    return OptimProof("sgd", "torch's Nesterov step is the look-ahead form under φ = θ + μv, b = -v/η",
                      same_point and same_buffer, "symbolic: same next point and same next buffer")


def prove_optim() -> list[OptimProof]:
    _, differs, vanishes = adam_vs_adamw()
    return [sgd_weight_decay_is_l2_penalty(), _sgd_decoupled_is_l2(), _nesterov(), _lerp_forms(), *_bias_correction(),
            differs, vanishes]
