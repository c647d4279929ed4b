"""The schema: what every op description is made of, and the one protocol every family follows.

An op is declared once, as a record in a family module under ``derivations/ops/``
(``PointwiseOp`` and ``StructuredOp`` here; ``ConvOp`` and ``PoolOp`` beside their
index formulas).  Every record type satisfies ``OpRecord``, so the code printers
(``derivations/codegen/``), the catalog, the tests and the page builder (``pages/``)
iterate over ops through ``derivations/registry.py`` and never over record types.

Owns: the building blocks (``Arg``, ``Param``, ``Convention``, ``Tol``, ``Rewrite``,
``ClosedForm``, ``Step``), the pointwise and step-list record types, ``OpRecord``,
``Module`` and ``Family``.  Imports: SymPy, mpmath and NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.core.function import ArgumentIndexError
from sympy.logic.boolalg import BooleanFunction


class IsNaN(BooleanFunction):
    """Boolean marker for "this input is NaN": lets a convention say what torch does there.

    SymPy cannot reason about NaN, so this only ever appears in a convention's condition;
    the code printer turns it into ``numpy.isnan``.
    """

    def _latex(self, printer: Any) -> str:
        return r"\operatorname{isnan}(%s)" % printer._print(self.args[0])


class xlogy(sp.Function):  # noqa: N801 - torch's name; EnginePrinter._print_xlogy prints it
    """x·log(y), defined as 0 where x == 0 (torch.xlogy), so that kl_div's t·log t is 0 at t = 0.

    SymPy differentiates it as x·log(y) (d/dx = log y, d/dy = x/y); the printer sends it
    to ``_rt.xlogy``.  Where torch's derivative at x == 0 differs, a convention says so.
    """

    nargs = 2

    @classmethod
    def eval(cls, x: sp.Expr, y: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.S.Zero
        if x.is_Number and y.is_Number:
            return x * sp.log(y)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, y = self.args
        if argindex == 1:
            return sp.log(y)
        if argindex == 2:
            return x / y
        raise ArgumentIndexError(self, argindex)

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        x, y = (a.evalf(prec_to_dps(prec)) for a in self.args)
        if not (x.is_Number and y.is_Number):
            return None
        return sp.S.Zero if x.is_zero else (x * sp.log(y)).evalf(prec_to_dps(prec))

    def _latex(self, printer: Any) -> str:
        x, y = self.args
        return rf"{printer.parenthesize(x, 50)}\log {printer.parenthesize(y, 50)}"

    def _mpmathcode(self, printer: Any) -> str:
        # For sympy.lambdify(..., modules="mpmath") (high-precision checks of a definition).
        x, y = (printer._print(a) for a in self.args)
        return f"(0 if ({x}) == 0 else ({x})*{printer._module_format('mpmath.log')}({y}))"


class Ncdf(sp.Function):
    """Φ(x), the standard normal distribution function erfc(−x/√2)/2.

    Written as one function because 1 + erf(x/√2) cancels for x below about −8 (the true
    value is a tiny positive number; the sum rounds to 0), while the engine's
    ``_rt.ncdf`` evaluates erfc at the exactly split argument −x/√2.
    """

    nargs = 1

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_Number:
            return sp.erfc(-x / sp.sqrt(2)) / 2
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return Npdf(self.args[0])

    def _eval_rewrite_as_erf(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return (1 + sp.erf(x / sp.sqrt(2))) / 2

    def _eval_rewrite_as_erfc(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.erfc(-x / sp.sqrt(2)) / 2

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return (sp.erfc(-self.args[0] / sp.sqrt(2)) / 2).evalf(prec_to_dps(prec))

    def _latex(self, printer: Any) -> str:
        return r"\Phi(%s)" % printer._print(self.args[0])

    def _mpmathcode(self, printer: Any) -> str:
        return f"{printer._module_format('mpmath.ncdf')}({printer._print(self.args[0])})"


class Npdf(sp.Function):
    """φ(x) = e^{−x²/2}/√(2π), the standard normal density; ``_rt.npdf`` squares x exactly,
    since e^{−x²/2} turns the rounding of x² into a relative error of x²/2 times as much."""

    nargs = 1

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_Number:
            return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return -self.args[0] * Npdf(self.args[0])

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return (sp.exp(-self.args[0] ** 2 / 2) / sp.sqrt(2 * sp.pi)).evalf(prec_to_dps(prec))

    def _latex(self, printer: Any) -> str:
        return r"\varphi(%s)" % printer._print(self.args[0])

    def _mpmathcode(self, printer: Any) -> str:
        return f"{printer._module_format('mpmath.npdf')}({printer._print(self.args[0])})"


class SigmoidSlope(sp.Function):
    """σ'(z) = σ(z)·σ(−z) = e^{−|z|}/(1 + e^{−|z|})², written as one function so the engine
    can evaluate it in float64 within 2 ulp: ``_rt.sigmoid_slope`` takes one exponential
    (of −|z|, exact and never overflowing) and forms t/(1 + t)² with error-free
    transformations, where the product of two rounded sigmoids costs up to 2.5 ulp."""

    nargs = 1

    @classmethod
    def eval(cls, z: sp.Expr) -> sp.Expr | None:
        if z.is_Number:
            return sp.exp(-sp.Abs(z)) / (1 + sp.exp(-sp.Abs(z))) ** 2
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        z = self.args[0]
        return (sp.exp(-z) - 1) / (sp.exp(-z) + 1) * self.func(z)

    def _eval_rewrite_as_exp(self, z: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.exp(-z) / (1 + sp.exp(-z)) ** 2

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        z = self.args[0]
        return (sp.exp(-sp.Abs(z)) / (1 + sp.exp(-sp.Abs(z))) ** 2).evalf(prec_to_dps(prec))

    def _latex(self, printer: Any) -> str:
        z = printer._print(self.args[0])
        return rf"\sigma'({z})"

    def _mpmathcode(self, printer: Any) -> str:
        z = printer._print(self.args[0])
        e = printer._module_format("mpmath.exp")
        a = printer._module_format("mpmath.fabs")
        return f"({e}(-{a}({z}))/(1 + {e}(-{a}({z})))**2)"


class XMinusTanh(sp.Function):
    """x − tanh(x), written as one function because the difference cancels as x → 0 (it is
    about x³/3): ``_rt.x_minus_tanh`` sums (x·cosh x − sinh x)/cosh x as a series of positive
    terms near 0 instead."""

    nargs = 1

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_Number:
            return x - sp.tanh(x)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sp.tanh(self.args[0]) ** 2

    def _eval_rewrite_as_tanh(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return x - sp.tanh(x)

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return (self.args[0] - sp.tanh(self.args[0])).evalf(prec_to_dps(prec))

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.args[0])
        return rf"({x} - \tanh {x})"

    def _mpmathcode(self, printer: Any) -> str:
        x = printer._print(self.args[0])
        return f"(({x}) - {printer._module_format('mpmath.tanh')}({x}))"


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
class Bound:
    """How far nnref may be from the truth (the definition evaluated in arbitrary precision,
    ``derivations/oracle.py``), in ulps of the true value in the result's dtype."""

    ulps: float
    why: str


# float32 is evaluated in float64 and rounded once: 0.5 ulp from the final rounding plus
# the float64 result's own error (at most 2 ulp of float64 = 2·2^-52 relative, which is
# 2·2^-28 of a float32 ulp at worst), the double-rounding allowance.
DEFAULT_BOUNDS = {
    "float64": Bound(2.0, "a short chain of correctly or nearly correctly rounded operations"),
    "float32": Bound(0.5 + 2 * 2.0 ** -28, "evaluated in float64 and rounded once: correctly rounded"
                     " up to the float64 result's own error (double rounding)"),
}


@dataclass(frozen=True)
class NearZero:
    """A neighbourhood of a zero of a quantity ('value' or an input's name for its
    derivative), where two terms of size ``scale`` cancel: the result is small and its
    relative error unbounded, so there the error is held to |error| <= 2·eps·scale instead."""

    wrt: str
    condition: Any  # SymPy boolean in the op's symbols: inside the neighbourhood
    scale: Any  # SymPy expression: the size of the cancelling terms
    why: str


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
    # 'real' | 'unit' ([0, 1]) | 'positive' | 'nonneg' | 'sign' (±1 and values between)
    # | 'pm1' (exactly -1 or +1).
    test_domain: str = "real"
    # 'elementwise': same shape as the first argument.  'channel': shape (1,) or (C,),
    # broadcast along dim 1 of the first argument (prelu's weight); its gradient is summed
    # over the other axes.  'broadcast': any shape that broadcasts (NumPy/torch rules) to
    # the first argument's shape without enlarging it, e.g. pos_weight of shape (C,) along
    # the last dim; its gradient is summed back to its shape.  'var': gaussian_nll_loss's
    # rule for var: the first argument's shape, or that shape without its last dim (read
    # with a trailing 1), or one dim of size 1 where the first argument's differs, or a
    # Python number; gradient summed back likewise.
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
    #: the condition in words, for a condition written in an engine step's variables (a step
    #: list's st) that a reader has not met; the page shows these words instead
    where: str = ""


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
    # 'elementwise': weight has the input's shape; 'broadcast': any shape broadcasting to it.
    weight_layout: str = "elementwise"
    # torch differentiates the weight (mse/l1/huber apply it in Python): the backward then
    # also returns 'weight' when one is given.
    weight_grad: bool = False
    # The reductions accepted; kl_div adds 'batchmean' (the sum divided by input.shape[0]).
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    # torch's order of the arguments after the required arrays, where it differs from
    # (params..., optional arrays..., 'weight', 'reduction'); e.g. ('reduction', 'weight').
    signature: tuple[str, ...] = ()
    # Multiply the upstream gradient into each term of the derivative before its other
    # factors, as autograd does, where a factor can overflow while grad·factor does not
    # (kl_div with log_target: grad·(t - x)·e^t is finite, or 0 for grad = 0, when
    # e^t·(t - x) alone overflows float32).
    grad_first: bool = False
    # Largest |input| the torch cross-check draws, per dtype, where torch itself overflows
    # beyond it and nnref deliberately does not (the numerics test covers the rest against
    # 60-digit arithmetic).  Empty: no limit.
    crosscheck_max_abs: dict[str, float] = field(default_factory=dict)
    # Conditions between parameters: (parameter named in the error, Python condition over
    # the parameter names, what was expected), e.g. hardtanh's min_val <= max_val.
    relations: tuple[tuple[str, str, str], ...] = ()
    # Accuracy against the oracle, per (dtype, quantity) where wider than DEFAULT_BOUNDS
    # (each with its reason), and the neighbourhoods of zeros where an absolute bound holds.
    bounds: dict[tuple[str, str], Bound] = field(default_factory=dict)
    near_zero: tuple[NearZero, ...] = ()
    # The kernels ("forward", "vjp") that run in extended precision (numpy.longdouble) for
    # float64 input, with the measured reason.  Every other float64 kernel runs in float64 and
    # every float32 kernel in float64.  Extended precision costs 10-40x in speed (x87
    # arithmetic, no SIMD), so it is declared only where tests/test_accuracy.py shows float64
    # missing the bounds (the oracle sweep run with every kernel in float64, see
    # benchmarks/precision_survey.py).
    extended: tuple[str, ...] = ()
    extended_reason: str = ""

    printer: ClassVar[str] = "pointwise"
    renderer: ClassVar[str] = "pointwise"
    crosscheck: ClassVar[str] = "vjp"

    @property
    def inputs(self) -> tuple[Arg, ...]:
        return self.args

    def derivation(self) -> Derivation:
        """The definition and SymPy's raw derivative with respect to each differentiable input."""
        return Derivation(self.definition, {a.name: sp.diff(self.definition, a.symbol) for a in self.args if a.grad})

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


@dataclass(frozen=True)
class Step:
    """One line of the engine: ``name = expr`` elementwise, or reduced over the axis, or
    an einsum contraction of named arrays."""

    name: str
    expr: sp.Expr | None = None
    reduce: str | None = None  # 'sum' | 'max' over `axis`, keepdims
    contract: tuple[str, tuple[str, ...]] | None = None


@dataclass
class StructuredOp:
    name: str
    family: str
    summary: str
    inputs: tuple[Arg, ...]
    params: tuple[Param, ...]
    definition_latex: str
    #: textbook definition on object arrays of symbols: (arrays by symbol name, axis) -> output
    definition: Callable[[dict[str, np.ndarray], int], np.ndarray]
    forward: tuple[Step, ...]
    vjp: tuple[Step, ...]
    #: shapes of the symbol arrays used in the proofs, one dict per instance
    instances: tuple[dict[str, Any], ...]
    axis: int = -1
    closed_forms: tuple[tuple[str, str], ...] = ()  # (LaTeX, what it says)
    conventions: tuple[Convention, ...] = ()
    tolerances: dict[str, Tol] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    reduction: bool = False
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    kind: str = "structured"
    #: symbols of the arrays the kernels take, in order (the engine's argument names)
    kernel_args: tuple[str, ...] = ()

    printer: ClassVar[str] = "steps"
    renderer: ClassVar[str] = "structured"
    crosscheck: ClassVar[str] = "vjp"

    @property
    def public(self) -> str:
        return self.name

    def derivation(self) -> Derivation:
        """The textbook definition (on symbol arrays) and the VJP as engine steps, proved equal
        to SymPy's derivative of it by ``derivations.steps.prove_structured``."""
        return Derivation(self.definition, {a.name: self.vjp for a in self.inputs if a.grad})

    def tol(self, dtype: str) -> Tol:
        return self.tolerances.get(dtype, DEFAULT_TOLS[dtype])

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.inputs if a.grad)


@dataclass(frozen=True)
class Derivation:
    """What SymPy works from and what it derived: the forward definition and, per
    differentiable input, the vector-Jacobian product (a SymPy expression or index formula;
    for step-list ops, the engine steps proved equal to it)."""

    forward: Any
    vjps: dict[str, Any]


@runtime_checkable
class OpRecord(Protocol):
    """The one op protocol.  Every family's record type has these members, so nothing
    downstream needs to know which record type it holds:

    * ``name`` (the record's own name; ``public`` is the function users call, which differs
      for variants such as gelu's approximate='tanh'), ``family`` (its page), ``summary``;
    * ``inputs`` (array arguments), ``params`` (everything else), ``differentiable``;
    * ``derivation()``: the forward definition and the derived VJPs;
    * ``conventions``, ``closed_forms``, ``notes`` and ``tol(dtype)``;
    * ``printer``: the key of the code printer that writes its engine
      (``derivations.codegen.PRINTERS``), and ``renderer``: the key of the page section
      that shows it (``pages``);
    * ``crosscheck``: how the suite verifies it against torch, which the catalog carries so
      that each test picks its entries by it: ``"vjp"`` (forward and vector-Jacobian product
      on drawn inputs: tests/test_crosscheck.py and the convention and special-value tests),
      ``"distribution"`` (initialisation: torch's bound or std, and the sample's law),
      ``"trajectory"`` (optimizers: whole runs against torch.optim), ``"mask"`` (dropout:
      torch's own draw of the mask, reused), ``"penalty"`` (the L2 penalty against torch
      autograd of the same sum), ``"backprop"`` (receptive fields and parameter counts:
      measured by back-propagation through conv and pool, and against torch's modules).
    """

    name: str
    family: str
    summary: str
    inputs: tuple[Arg, ...]
    params: tuple[Param, ...]
    conventions: tuple[Any, ...]
    closed_forms: tuple[Any, ...]
    notes: tuple[str, ...]
    reduction: bool
    printer: ClassVar[str]
    renderer: ClassVar[str]
    crosscheck: ClassVar[str]

    @property
    def public(self) -> str: ...

    @property
    def differentiable(self) -> tuple[str, ...]: ...

    def derivation(self) -> Derivation: ...

    def tol(self, dtype: str) -> Tol: ...


@dataclass(frozen=True)
class Module:
    """A description module under ``derivations/ops/`` and the engine module printed from
    it (``nnref/_generated/<name>.py``), by the printer its records name."""

    name: str
    ops: tuple[OpRecord, ...]
    #: where users find its functions: ``nnref.<namespace>`` ("init", "optim"); "" for ``nnref``
    namespace: str = ""

    @property
    def printer(self) -> str:
        kinds = {op.printer for op in self.ops}
        if len(kinds) != 1:
            raise ValueError(f"module {self.name}: its ops name several printers {sorted(kinds)}")
        return kinds.pop()


@dataclass(frozen=True)
class Family:
    """A family of ops as the site groups them: ``name`` is what ``op.family`` says."""

    name: str
    page: str
    title: str
