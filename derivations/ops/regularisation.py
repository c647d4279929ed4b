"""Regularisation: dropout (inverted scaling) and the L2 penalty as a loss term.

Dropout keeps each entry with probability 1 - p and scales the kept ones by 1/(1 - p), so its
expectation over the mask is the input itself (``expected_dropout`` derives it with SymPy from the
Bernoulli law of the mask).  Given the mask, dropout is a pointwise product, so its
vector-Jacobian product is SymPy's derivative of that product.  The L2 penalty
weight_decay/2·Σθ² is a loss term whose gradient weight_decay·θ is exactly what SGD's
``weight_decay`` adds to the gradient (proved in ``derivations/proofs/optim.py`` from this
record's definition).

Owns: ``RegOp`` and its two kinds ``DropoutOp`` (verified through a shared mask) and
``PenaltyOp`` (verified against torch autograd of the same sum), ``expected_dropout`` and the
records ``OPS``.  Imports: ``derivations.spec`` and SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..spec import DEFAULT_TOLS, Arg, Convention, Derivation, Param, Tol

FAMILY = "regularisation"

x = sp.Symbol("input", real=True)
m = sp.Symbol("mask", nonnegative=True)  # 0 (dropped) or 1 (kept)
p = sp.Symbol("p", nonnegative=True)
theta = sp.Symbol("param", real=True)
lam = sp.Symbol("weight_decay", nonnegative=True)


@dataclass
class RegOp:
    """A regularisation term: ``definition`` is the elementwise value in the args' symbols;
    ``reduce`` says whether the engine sums it over every entry (the penalty) or not (dropout)."""

    name: str
    summary: str
    args: tuple[Arg, ...]
    params: tuple[Param, ...]
    definition: sp.Expr
    latex: str
    reduce: str = "none"
    conventions: tuple[Convention, ...] = ()
    notes: tuple[str, ...] = ()
    #: the order of everything after the required arrays, as users call it
    signature: tuple[str, ...] = ()
    family: str = FAMILY
    closed_forms: tuple[Any, ...] = ()
    reduction: bool = False

    printer: ClassVar[str] = "regularisation"
    renderer: ClassVar[str] = "regularisation"

    @property
    def public(self) -> str:
        return self.name

    @property
    def inputs(self) -> tuple[Arg, ...]:
        return self.args

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args if a.grad)

    def derivation(self) -> Derivation:
        """The elementwise definition and SymPy's derivative with respect to each differentiable
        input (the summed penalty's gradient is the derivative of its own term)."""
        return Derivation(self.definition, {a.name: sp.diff(self.definition, a.symbol) for a in self.args if a.grad})

    def tol(self, dtype: str) -> Tol:
        return DEFAULT_TOLS[dtype]


@dataclass
class DropoutOp(RegOp):
    crosscheck: ClassVar[str] = "mask"

    def tol(self, dtype: str) -> Tol:
        return Tol(0.0, 0.0, "bit for bit: given the same mask, both multiply the input by the scale 1/(1 - p)"
                   " rounded once to the input's dtype (torch's CPU path divides its 0/1 noise by 1 - p, then"
                   " multiplies), and a product with 0 or 1 is exact")


@dataclass
class PenaltyOp(RegOp):
    crosscheck: ClassVar[str] = "penalty"


def expected_dropout() -> sp.Expr:
    """E[dropout(x)] over the mask's Bernoulli(1 - p) law: Σ_m P(m)·m·x/(1 - p), for 0 <= p < 1."""
    law = {sp.S.Zero: p, sp.S.One: 1 - p}
    term = DROPOUT.definition
    return sp.simplify(sum(prob * term.subs(m, value) for value, prob in law.items()))


def second_moment_dropout() -> sp.Expr:
    """E[dropout(x)²]: the variance it adds is this minus x², x²·p/(1 - p)."""
    law = {sp.S.Zero: p, sp.S.One: 1 - p}
    return sp.simplify(sum(prob * (DROPOUT.definition**2).subs(m, value) for value, prob in law.items()))


UNIT = sp.Interval(0, 1)

DROPOUT = DropoutOp(
    name="dropout",
    summary="Dropout with inverted scaling: each entry kept with probability 1 - p and scaled by 1/(1 - p),"
            " so its expectation is the input; the identity when training is False.",
    args=(Arg("input", x, "the activations", test_domain="real"),
          Arg("mask", m, "which entries are kept: a boolean array of input's shape (True = kept); drawn from"
              " rng when not given", grad=False, kind="mask", optional=1.0)),
    params=(Param("p", 0.5, "probability of dropping an entry", domain=UNIT, symbol=p),
            Param("training", True, "apply dropout (False: return the input unchanged)", kind="bool"),
            Param("rng", None, "numpy.random.Generator to draw the mask from when mask is not given"
                  " (default: a fresh numpy.random.default_rng())", kind="rng")),
    definition=m * x / (1 - p),
    latex=r"\operatorname{dropout}(x)_i = \frac{m_i\, x_i}{1 - p},\quad m_i \sim \operatorname{Bernoulli}(1 - p)",
    signature=("p", "training", "rng", "mask"),
    conventions=(
        Convention("dropout(x; p = 1) = 0, gradient 0", sp.Eq(p, 1), {"input": sp.S.Zero},
                   "every entry is dropped; 1/(1 - p) has no value there, and torch returns zeros (value and"
                   " gradient) rather than 0·∞", point={"input": 1.0}, params={"p": 1.0}, value=sp.S.Zero),
        Convention("training = False: the identity, gradient 1", sp.true, {"input": sp.S.One},
                   "evaluation mode passes the input through (a new array: nnref never aliases its input)",
                   point={"input": 1.0}, params={"p": 0.5}),
    ),
    notes=("torch draws the mask from its own generator, which NumPy cannot reproduce; the tests recover"
           " torch's mask from its own draw (dropout of an all-ones array under the same seed) and pass it"
           " here, so value and gradient are compared entry by entry.",
           "dropout_backward needs the mask the forward used: draw it once (nnref.dropout_mask) and pass"
           " it to both."),
)

L2_PENALTY = PenaltyOp(
    name="l2_penalty",
    summary="The L2 penalty weight_decay/2·‖θ‖² as a loss term (summed over every entry); its gradient"
            " weight_decay·θ is what SGD's weight_decay adds to the gradient.",
    args=(Arg("param", theta, "the parameter array", test_domain="real"),),
    params=(Param("weight_decay", 0.0, "the penalty's coefficient λ", domain=sp.Interval(0, sp.oo), symbol=lam),),
    definition=lam / 2 * theta**2,
    latex=r"R(\theta) = \frac{\lambda}{2}\sum_i \theta_i^2",
    reduce="sum",
    notes=("Adding l2_penalty(θ, λ) to a loss and stepping with plain SGD gives the same parameters as"
           " SGD with weight_decay=λ on the loss alone; with Adam the two differ (AdamW's decoupled decay"
           " is a third rule), see the Optimizers page.",),
)

OPS: list[RegOp] = [DROPOUT, L2_PENALTY]
