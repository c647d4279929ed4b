"""Optimizers (torch.optim's SGD, Adam, AdamW, RMSprop, Adagrad): one update step as a list of
SymPy assignments, in torch 2.13's order of operations (its single-tensor path,
``_single_tensor_<name>`` in torch/optim/<name>.py).

An optimizer is a pure function ``name(param, grad, state=None, *, <hyperparameters>) ->
(new_param, new_state)``.  Its record lists the state it keeps (arrays of the parameter's shape,
with their initial value, plus the step count) and the update as ``Update`` lines: ``target =
expr``, applied in order, each guarded by an optional condition on the hyperparameters (torch's
``if weight_decay != 0:``, ``if nesterov:``).  A scalar line (bias corrections, the decayed
learning rate) is evaluated once in Python floats, as torch evaluates it; an array line
elementwise.  The printer writes each line as one line of NumPy; the proofs
(``derivations/proofs/optim.py``) run the same lines symbolically.

Owns: ``Update``, ``StateVar``, ``OptimOp`` and the optimizers' records ``OPS``.  Imports:
``derivations.spec`` and SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..spec import Arg, Derivation, Param, Tol

FAMILY = "optim"

param, grad = sp.symbols("param grad", real=True)
lr, momentum, dampening, weight_decay = sp.symbols("lr momentum dampening weight_decay", real=True)
beta1, beta2, eps, alpha, lr_decay = sp.symbols("beta1 beta2 eps alpha lr_decay", real=True)
step = sp.Symbol("step", positive=True, integer=True)
buf, exp_avg, exp_avg_sq, max_exp_avg_sq = sp.symbols("momentum_buffer exp_avg exp_avg_sq max_exp_avg_sq",
                                                       real=True)
square_avg, grad_avg, state_sum = sp.symbols("square_avg grad_avg sum", real=True)
bc1, bc2, bc2_sqrt, step_size, denom, avg, clr, std, w = sp.symbols(
    "bias_correction1 bias_correction2 bias_correction2_sqrt step_size denom avg clr std weight", real=True)


@dataclass(frozen=True)
class Update:
    """``target = expr``, when ``when`` (a Python condition over the hyperparameters and the
    step count) holds; ``scalar`` lines are Python floats, the others arrays."""

    target: str
    expr: sp.Expr
    when: str | None = None
    scalar: bool = False
    why: str = ""


@dataclass(frozen=True)
class StateVar:
    """An array the optimizer keeps, of the parameter's shape: its initial value (a number or a
    hyperparameter's name) and when it exists."""

    name: str
    initial: float | str = 0.0
    when: str | None = None


NONNEG = sp.Interval(0, sp.oo)
UNIT = sp.Interval.Ropen(0, 1)


def _p(name: str, default: Any, doc: str, kind: str = "float", domain: sp.Set | None = None) -> Param:
    return Param(name, default, doc, kind=kind, domain=domain)


LR = "learning rate"
WD = _p("weight_decay", 0.0, "L2 penalty coefficient, added to the gradient as weight_decay·param", domain=NONNEG)
MAXIMIZE = _p("maximize", False, "ascend instead of descend (the gradient's sign flips first)", kind="bool")
BETAS = _p("betas", (0.9, 0.999), "(beta1, beta2): decay rates of the first and second moment averages",
           kind="pair", domain=UNIT)
ADAM_EPS = _p("eps", 1e-8, "added to the denominator", domain=NONNEG)
AMSGRAD = _p("amsgrad", False, "divide by the running maximum of the second moment (Reddi et al.)", kind="bool")


def _lerp(target: sp.Symbol, end: sp.Expr, weight: sp.Symbol, base: str = "") -> tuple[Update, ...]:
    """torch's lerp_(end, weight) as its CPU kernel computes it: self + weight·(end - self) for
    weight < 0.5, else end - (end - self)·(1 - weight) (the two forms are one function;
    the proofs check it)."""
    cond = f"{base} and " if base else ""
    return (Update(target.name, target + weight * (end - target), f"{cond}{weight.name} < 0.5"),
            Update(target.name, end - (end - target) * (1 - weight), f"{cond}{weight.name} >= 0.5"))


_FLIP = Update("grad", -grad, "maximize", why="maximize: ascend the objective")
_L2 = Update("grad", grad + weight_decay * param, "weight_decay != 0",
             why="L2 weight decay: the gradient of the penalty weight_decay/2·‖param‖²")


def _adam_updates(decoupled: bool) -> tuple[Update, ...]:
    decay = (Update("param", param * (1 - lr * weight_decay), "weight_decay != 0",
                    why="decoupled weight decay: the parameter shrinks before the adaptive step")
             if decoupled else _L2)
    return (
        _FLIP, decay,
        Update("weight", 1 - beta1, scalar=True),
        *_lerp(exp_avg, grad, w),
        Update("exp_avg_sq", beta2 * exp_avg_sq + (1 - beta2) * grad * grad),
        Update("bias_correction1", 1 - beta1**step, scalar=True),
        Update("bias_correction2", 1 - beta2**step, scalar=True),
        Update("step_size", lr / bc1, scalar=True),
        Update("bias_correction2_sqrt", sp.sqrt(bc2), scalar=True),
        Update("max_exp_avg_sq", sp.Max(max_exp_avg_sq, exp_avg_sq), "amsgrad"),
        Update("denom", sp.sqrt(max_exp_avg_sq) / bc2_sqrt + eps, "amsgrad"),
        Update("denom", sp.sqrt(exp_avg_sq) / bc2_sqrt + eps, "not amsgrad"),
        Update("param", param - step_size * exp_avg / denom),
    )


@dataclass
class OptimOp:
    """An optimizer: the state it keeps and one step's updates (see the module docstring)."""

    name: str
    summary: str
    params: tuple[Param, ...]
    state: tuple[StateVar, ...]
    updates: tuple[Update, ...]
    #: (parameter named in the error, Python condition, what was expected), as torch checks
    relations: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = ()
    latex_rule: str = ""
    family: str = FAMILY
    conventions: tuple[Any, ...] = ()
    closed_forms: tuple[Any, ...] = ()
    reduction: bool = False

    printer: ClassVar[str] = "optim"
    renderer: ClassVar[str] = "optim"
    crosscheck: ClassVar[str] = "trajectory"

    @property
    def public(self) -> str:
        return self.name

    @property
    def inputs(self) -> tuple[Arg, ...]:
        return (Arg("param", param, "the parameter array", grad=False),
                Arg("grad", grad, "its gradient (of the loss to minimise)", grad=False))

    @property
    def differentiable(self) -> tuple[str, ...]:
        return ()

    def derivation(self) -> Derivation:
        """The update lines are the definition; an optimizer has no gradient of its own."""
        return Derivation(self.updates, {})

    def tol(self, dtype: str) -> Tol:
        if dtype == "float64":
            return Tol(1e-12, 1e-300, "the same operations in the same order as torch; what remains is torch's"
                       " fused multiply-adds and vectorised division, a few ulp per step, and the steps"
                       " contract rather than amplify them")
        return Tol(1e-5, 1e-6, "float32 rounds each of ~10 operations per step to 6e-8, and torch's fused"
                   " multiply-adds round differently from NumPy's separate passes; over 100 steps these"
                   " differences accumulate like a random walk, ~√100·10·6e-8 ≈ 6e-6 relative to the"
                   " parameters' size (the normwise floor); measured: at most 3e-7")


OPS: list[OptimOp] = [
    OptimOp(
        name="sgd",
        summary="Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay.",
        params=(_p("lr", 1e-3, LR, domain=NONNEG), _p("momentum", 0.0, "momentum factor", domain=NONNEG),
                _p("dampening", 0.0, "dampening of the gradient's share of the momentum"), WD,
                _p("nesterov", False, "Nesterov momentum (needs momentum > 0 and dampening = 0)", kind="bool"),
                MAXIMIZE),
        state=(StateVar("momentum_buffer", 0.0, "momentum != 0"),),
        updates=(
            _FLIP, _L2,
            Update("momentum_buffer", grad, "momentum != 0 and step == 1",
                   why="the first step stores the gradient itself"),
            Update("momentum_buffer", momentum * buf + (1 - dampening) * grad, "momentum != 0 and step > 1"),
            Update("grad", grad + momentum * buf, "momentum != 0 and nesterov"),
            Update("grad", buf, "momentum != 0 and not nesterov"),
            Update("param", param - lr * grad),
        ),
        relations=(("nesterov", "not nesterov or (momentum > 0 and dampening == 0)",
                    "nesterov=True only with momentum > 0 and dampening = 0"),),
        latex_rule=r"b_t = \mu b_{t-1} + (1 - \tau) g_t,\quad \theta_t = \theta_{t-1} - \eta\, b_t",
    ),
    OptimOp(
        name="adam",
        summary="Adam: steps scaled by bias-corrected running averages of the gradient and its square;"
                " weight_decay is an L2 term added to the gradient.",
        params=(_p("lr", 1e-3, LR, domain=NONNEG), BETAS, ADAM_EPS, WD, AMSGRAD, MAXIMIZE),
        state=(StateVar("exp_avg"), StateVar("exp_avg_sq"), StateVar("max_exp_avg_sq", 0.0, "amsgrad")),
        updates=_adam_updates(decoupled=False),
        latex_rule=r"\theta_t = \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}\,"
                   r"\frac{m_t}{\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon}",
    ),
    OptimOp(
        name="adamw",
        summary="AdamW: Adam with decoupled weight decay (the parameter shrinks by lr·weight_decay"
                " before the adaptive step).",
        params=(_p("lr", 1e-3, LR, domain=NONNEG), BETAS, ADAM_EPS,
                _p("weight_decay", 1e-2, "decoupled weight decay coefficient", domain=NONNEG), AMSGRAD, MAXIMIZE),
        state=(StateVar("exp_avg"), StateVar("exp_avg_sq"), StateVar("max_exp_avg_sq", 0.0, "amsgrad")),
        updates=_adam_updates(decoupled=True),
        latex_rule=r"\theta_t = \theta_{t-1}(1 - \eta\lambda) - \frac{\eta}{1 - \beta_1^t}\,"
                   r"\frac{m_t}{\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon}",
    ),
    OptimOp(
        name="rmsprop",
        summary="RMSprop: steps divided by the root of a running average of the squared gradient"
                " (optionally centred, optionally with momentum).",
        params=(_p("lr", 1e-2, LR, domain=NONNEG), _p("alpha", 0.99, "smoothing constant", domain=NONNEG),
                _p("eps", 1e-8, "added to the denominator", domain=NONNEG), WD,
                _p("momentum", 0.0, "momentum factor", domain=NONNEG),
                _p("centered", False, "divide by the estimated standard deviation instead", kind="bool"),
                MAXIMIZE),
        state=(StateVar("square_avg"), StateVar("momentum_buffer", 0.0, "momentum > 0"),
               StateVar("grad_avg", 0.0, "centered")),
        updates=(
            _FLIP, _L2,
            Update("square_avg", alpha * square_avg + (1 - alpha) * grad * grad),
            Update("weight", 1 - alpha, scalar=True),
            *_lerp(grad_avg, grad, w, "centered"),
            Update("avg", sp.sqrt(square_avg - grad_avg * grad_avg) + eps, "centered"),
            Update("avg", sp.sqrt(square_avg) + eps, "not centered"),
            Update("momentum_buffer", momentum * buf + grad / avg, "momentum > 0"),
            Update("param", param - lr * buf, "momentum > 0"),
            Update("param", param - lr * grad / avg, "not momentum > 0"),
        ),
        latex_rule=r"v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2,\quad"
                   r" \theta_t = \theta_{t-1} - \eta\,\frac{g_t}{\sqrt{v_t} + \epsilon}",
    ),
    OptimOp(
        name="adagrad",
        summary="Adagrad: steps divided by the root of the sum of all squared gradients so far.",
        params=(_p("lr", 1e-2, LR, domain=NONNEG), _p("lr_decay", 0.0, "learning-rate decay", domain=NONNEG), WD,
                _p("initial_accumulator_value", 0.0, "starting value of the sum", domain=NONNEG),
                _p("eps", 1e-10, "added to the denominator", domain=NONNEG), MAXIMIZE),
        state=(StateVar("sum", "initial_accumulator_value"),),
        updates=(
            _FLIP, _L2,
            Update("clr", lr / (1 + (step - 1) * lr_decay), scalar=True, why="the decayed learning rate"),
            Update("sum", state_sum + grad * grad),
            Update("std", sp.sqrt(state_sum) + eps),
            Update("param", param - clr * grad / std),
        ),
        latex_rule=r"s_t = s_{t-1} + g_t^2,\quad \theta_t = \theta_{t-1} - \frac{\eta}{1 + (t-1)\delta}\,"
                   r"\frac{g_t}{\sqrt{s_t} + \epsilon}",
    ),
]
