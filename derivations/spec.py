"""The one description of an operation.

Every op in nnref is a ``PointwiseOp`` or a ``StructuredOp`` declared once in a family
module (``activations.py``, ``losses.py``, ``linear.py``).  From that single record:

* ``derive.py`` differentiates the definition with SymPy and proves every rewrite and
  every quoted closed form equal to the raw derivative;
* ``codegen.py`` prints the engine (``nnref/_generated/*.py``) with SymPy's NumPy printer;
* the tests read the conventions, domains and tolerances from the generated catalog;
* ``docs_build.py`` renders the docs page.

Nothing about an op is written anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanFunction


class IsNaN(BooleanFunction):
    """Boolean marker for "this input is NaN": lets a convention say what torch does there.

    SymPy cannot reason about NaN, so this only ever appears in a convention's condition;
    the code printer turns it into ``numpy.isnan``.
    """

    def _latex(self, printer: Any) -> str:
        return r"\operatorname{isnan}(%s)" % printer._print(self.args[0])


class IsInf(BooleanFunction):
    """Boolean marker for "this input is +inf or -inf" (combine with x > 0 / x < 0 for a sign)."""

    def _latex(self, printer: Any) -> str:
        return r"\operatorname{isinf}(%s)" % printer._print(self.args[0])


@dataclass(frozen=True)
class Tol:
    """Per-dtype tolerance for comparing nnref with torch: |a - b| <= atol + rtol * |b|."""

    rtol: float
    atol: float
    why: str


# Defaults used when an op declares nothing more specific.  Both engines evaluate the
# same formula with correctly rounded or near-correctly rounded elementary functions, so
# disagreement is a few ulp per operation, amplified by the formula's condition number.
DEFAULT_TOLS = {
    "float64": Tol(1e-12, 1e-14, "a few ulp (2.2e-16) per elementary function, with headroom for"
                   " a short chain of them; atol covers results that cancel to ~0"),
    "float32": Tol(2e-5, 2e-6, "torch's vectorised float32 exp/log/tanh differ from NumPy's by"
                   " up to a few ulp (1.2e-7); rtol allows ~150 ulp over a short chain"),
}


@dataclass(frozen=True)
class Param:
    """A non-array argument, with torch's name and default.

    ``domain`` is a SymPy set; the engine rejects values outside it with an error naming
    the parameter.  ``symbol`` is set when the value enters the formula.
    """

    name: str
    default: Any
    doc: str
    kind: str = "float"  # 'float' | 'int' | 'bool' | 'choice' | 'optional_array'
    domain: sp.Set | None = None
    choices: tuple[Any, ...] = ()
    symbol: sp.Symbol | None = None
    # Where hypothesis should draw values from when testing (a sub-range of domain).
    test_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Arg:
    """An array argument.  ``kind`` is 'float' (differentiable when ``grad``) or 'label'."""

    name: str
    symbol: sp.Symbol
    doc: str
    grad: bool = True
    kind: str = "float"
    # Values the tests draw for this argument (beyond the generic strategies), e.g. the
    # labels {-1, 1} of hinge_embedding_loss, or probabilities in [0, 1] for BCE.
    test_domain: str = "real"  # 'real' | 'unit' | 'positive' | 'sign' | 'nonneg'
    # 'elementwise': same shape as the first argument.  'channel': shape (1,) or (C,),
    # broadcast along dim 1 of the first argument (prelu's weight); its gradient is summed
    # over the other axes.
    layout: str = "elementwise"
    # Values outside this set raise an error naming the argument, where torch raises too
    # (binary_cross_entropy's input and target in [0, 1]; gaussian_nll_loss's var >= 0).
    domain: sp.Set | None = None
    # Whether NaN passes the domain check (torch's check is `var < 0` for gaussian_nll_loss,
    # which NaN passes, but `0 <= p <= 1` for binary_cross_entropy, which NaN fails).
    domain_nan_ok: bool = False
    # An optional keyword array (pos_weight): torch's None means this constant.  Such an
    # argument is listed among the parameters (kind 'optional_array') in the catalog.
    optional: float | None = None


@dataclass(frozen=True)
class Convention:
    """What the op returns where calculus does not decide (a kink, a jump, NaN).

    ``condition`` is a SymPy boolean in the op's symbols; ``grads`` maps an argument name
    to the derivative declared there.  The engine applies it on top of SymPy's raw
    derivative, and a test checks it against torch at the exact point ``point``.
    """

    label: str
    condition: Any
    grads: dict[str, sp.Expr]
    why: str
    point: dict[str, float] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    #: the forward value there, when the convention overrides the forward too (IEEE
    #: special values, where torch's formula gives NaN although a limit exists)
    value: Any = None


@dataclass(frozen=True)
class Rewrite:
    """A numerically stable form, proved equal to the definition by a test."""

    expr: sp.Expr
    why: str


@dataclass(frozen=True)
class ClosedForm:
    """A derivative as people quote it (σ' = σ(1-σ)), proved equal to SymPy's raw one."""

    wrt: str
    expr: sp.Expr
    label: str
    # Use this closed form (not the raw derivative) in the generated engine.
    use_in_engine: bool = True
    why: str = ""


@dataclass
class PointwiseOp:
    """An op whose every output element depends only on the matching input elements.

    Activations are pointwise ops of one argument.  Most losses are pointwise in
    (input, target) followed by a reduction, declared by ``reduction=True``.
    """

    name: str
    family: str
    summary: str
    args: tuple[Arg, ...]
    params: tuple[Param, ...]
    definition: sp.Expr
    latex_name: str = ""
    rewrite: Rewrite | None = None
    closed_forms: tuple[ClosedForm, ...] = ()
    conventions: tuple[Convention, ...] = ()
    tolerances: dict[str, Tol] = field(default_factory=dict)
    reduction: bool = False  # losses: add reduction='mean'|'sum'|'none'
    weight: bool = False  # losses: optional elementwise `weight` broadcast to the loss
    notes: tuple[str, ...] = ()
    kind: str = "pointwise"
    # A different formula reached through a parameter of another op, e.g. gelu's
    # approximate='tanh': (public op name, {param: value}).
    variant_of: tuple[str, dict[str, Any]] | None = None
    # With a `weight`, reduction='mean' divides by the number of elements ('numel') or by
    # the sum of the weights ('weight_sum'); torch differs per loss, so each loss says.
    weight_mean: str = "numel"

    @property
    def public(self) -> str:
        return self.variant_of[0] if self.variant_of else self.name

    def tol(self, dtype: str) -> Tol:
        return self.tolerances.get(dtype, DEFAULT_TOLS[dtype])

    @property
    def symbols(self) -> dict[str, sp.Symbol]:
        out = {a.name: a.symbol for a in self.args}
        out.update({p.name: p.symbol for p in self.params if p.symbol is not None})
        return out

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args if a.grad)


@dataclass
class StructuredOp:
    """An op that mixes elements (softmax along a dim, the dense layer, class-index losses).

    Its derivation is carried out on concrete small shapes with arrays of SymPy symbols;
    the engine kernel lives in a hand-reviewed template module named by ``kernel`` and is
    proved equal to SymPy's derivative by running it *on those symbol arrays*.
    """

    name: str
    family: str
    summary: str
    inputs: tuple[Arg, ...]
    params: tuple[Param, ...]
    definition_latex: str
    kernel: str
    closed_forms_latex: dict[str, str] = field(default_factory=dict)
    conventions: tuple[Convention, ...] = ()
    tolerances: dict[str, Tol] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    kind: str = "structured"
    reduction: bool = False

    def tol(self, dtype: str) -> Tol:
        return self.tolerances.get(dtype, DEFAULT_TOLS[dtype])

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.inputs if a.grad)
