"""Initialisation (torch.nn.init without the trailing underscore): what each initialiser draws,
and the variance argument that fixes its bound or standard deviation.

Each record states its law (uniform, normal, truncated normal, constant, orthogonal) and, for
the scaled ones, the *variance target* Var(w) as the literature argues it (Glorot and Bengio:
keep the variance of activations and of gradients, 2/(fan_in + fan_out); He et al.: keep it
through a rectifier, 2/fan_in, generalised by torch's gain as gain²/fan).  SymPy computes the
variance of the law (Var U(-a, a) = a²/3, Var N(0, s²) = s²) and solves for the bound ``a`` or
the std ``s``; that solution is what the engine prints, and torch's own formula, as its source
writes it, is proved equal to it.  The gains of relu and leaky_relu are derived the same way,
from E[f(z)²] for z ~ N(0, σ²).

Owns: ``InitOp`` (the record type of an initialiser), ``GAIN`` (calculate_gain's table) and the
initialisers' records ``OPS``.  Imports: ``derivations.spec`` and SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..spec import DEFAULT_TOLS, Arg, Derivation, Param, Tol

FAMILY = "init"

fan_in, fan_out, fan = sp.symbols("fan_in fan_out fan", positive=True, integer=True)
gain = sp.Symbol("gain", positive=True)
slope = sp.Symbol("negative_slope", real=True)
a_bound = sp.Symbol("a", positive=True)
s_std = sp.Symbol("s", positive=True)
z = sp.Symbol("z", real=True)
sigma = sp.Symbol("sigma", positive=True)


def uniform_variance(a: sp.Expr = a_bound) -> sp.Expr:
    """Var U(-a, a): the second moment of the density 1/(2a) on [-a, a] (its mean is 0)."""
    return sp.integrate(z**2 / (2 * a), (z, -a, a))


def normal_variance(s: sp.Expr = s_std) -> sp.Expr:
    """Var N(0, s²), integrated from the density."""
    density = sp.exp(-z**2 / (2 * s**2)) / (s * sp.sqrt(2 * sp.pi))
    return sp.integrate(z**2 * density, (z, -sp.oo, sp.oo))


def solve_spread(law: str, target: sp.Expr) -> sp.Expr:
    """The positive bound (uniform) or std (normal) whose variance is ``target``."""
    sym, var = (a_bound, uniform_variance()) if law == "uniform" else (s_std, normal_variance())
    roots = [r for r in sp.solve(sp.Eq(var, target), sym) if r.is_positive is not False]
    assert len(roots) == 1, (law, target, roots)
    return sp.simplify(roots[0])


def second_moment_ratio(f: sp.Expr) -> sp.Expr:
    """E[f(z)²] / σ² for z ~ N(0, σ²): how much of the pre-activation variance f passes on."""
    density = sp.exp(-z**2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    return sp.simplify(sp.integrate(f**2 * density, (z, -sp.oo, sp.oo)) / sigma**2)


def derived_gain(f: sp.Expr) -> sp.Expr:
    """The gain g with g²·E[f(z)²] = σ²: the factor that keeps the variance through f."""
    return sp.simplify(1 / sp.sqrt(second_moment_ratio(f)))


RELU = sp.Piecewise((z, z > 0), (0, True))
LEAKY_RELU = sp.Piecewise((z, z > 0), (slope * z, True))

#: calculate_gain's table: nonlinearity -> (gain, where it comes from).  relu and leaky_relu
#: are derived; the others are torch's declared values.
GAIN: dict[str, tuple[sp.Expr, str]] = {
    **{name: (sp.S.One, "linear: the identity passes the variance unchanged")
       for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                    "conv_transpose3d")},
    "sigmoid": (sp.S.One, "torch's declared value (sigmoid is not variance-preserving; no derivation is claimed)"),
    "tanh": (sp.Rational(5, 3), "torch's declared value, chosen empirically; no derivation is claimed"),
    "relu": (derived_gain(RELU), "derived: E[relu(z)²] = σ²/2, so the gain is √2"),
    "leaky_relu": (derived_gain(LEAKY_RELU),
                   "derived: E[leaky_relu(z)²] = (1 + negative_slope²)·σ²/2; negative_slope defaults to 0.01"),
    "selu": (sp.Rational(3, 4), "torch's declared value, found empirically (pytorch/pytorch#50664)"),
}

NONLINEARITIES = tuple(GAIN)

_SHAPE = Arg("shape", sp.Symbol("shape"), "shape of the new array (a tuple of ints)", grad=False, kind="shape")


@dataclass
class InitOp:
    """An initialiser: a shape and a random generator in, a new array out.

    ``variance`` is the target Var(w) in ``fan_in``, ``fan_out``, ``fan`` (the one chosen by
    ``mode``) and ``gain``; ``law`` says which distribution is scaled to meet it; ``quoted``
    is torch's formula for the bound or std as its source writes it.
    """

    name: str
    summary: str
    params: tuple[Param, ...]
    law: str  # 'uniform' | 'normal' | 'trunc_normal' | 'constant' | 'orthogonal' | 'gain'
    variance: sp.Expr | None = None
    quoted: sp.Expr | None = None
    latex_target: str = ""
    notes: tuple[str, ...] = ()
    #: True when the function takes an array shape (all but calculate_gain)
    shaped: bool = True
    family: str = FAMILY
    conventions: tuple[Any, ...] = ()
    reduction: bool = False

    printer: ClassVar[str] = "init"
    renderer: ClassVar[str] = "init"
    crosscheck: ClassVar[str] = "distribution"

    @property
    def public(self) -> str:
        return self.name

    @property
    def inputs(self) -> tuple[Arg, ...]:
        return (_SHAPE,) if self.shaped else ()

    @property
    def differentiable(self) -> tuple[str, ...]:
        return ()

    @property
    def spread_name(self) -> str:
        return "bound" if self.law == "uniform" else "std"

    def spread(self) -> sp.Expr | None:
        """The bound or std SymPy solves for from the variance target."""
        return None if self.variance is None else solve_spread(self.law, self.variance)

    @property
    def closed_forms(self) -> tuple[tuple[str, sp.Expr], ...]:
        return () if self.quoted is None else ((f"torch's {self.spread_name}", self.quoted),)

    def derivation(self) -> Derivation:
        if self.variance is None:
            return Derivation({}, {})
        return Derivation({"variance": self.variance, self.spread_name: self.spread()}, {})

    def tol(self, dtype: str) -> Tol:
        # The bound or std is one short formula in double precision: torch's and nnref's
        # agree to a few ulp; the draws themselves are judged by distribution tests.
        return DEFAULT_TOLS[dtype]


def _gain_param(default: float = 1.0) -> Param:
    return Param("gain", default, "scaling factor (calculate_gain gives one per nonlinearity)",
                 domain=sp.Interval(0, sp.oo))


_A = Param("a", 0.0, "negative slope of the rectifier after this layer (leaky_relu's param)")
_MODE = Param("mode", "fan_in", "'fan_in' keeps the forward variance, 'fan_out' the backward one",
              kind="choice", choices=("fan_in", "fan_out"))
_NONLIN = Param("nonlinearity", "leaky_relu", "the nonlinearity after this layer (calculate_gain's names)",
                kind="choice", choices=NONLINEARITIES)

XAVIER = 2 * gain**2 / (fan_in + fan_out)
KAIMING = gain**2 / fan

OPS: list[InitOp] = [
    InitOp(
        name="calculate_gain", law="gain", shaped=False,
        summary="The recommended gain for a nonlinearity: the factor that keeps Var through it.",
        params=(Param("nonlinearity", None, "torch.nn.functional's name of the nonlinearity", kind="choice",
                      choices=NONLINEARITIES),
                Param("param", None, "leaky_relu's negative_slope (default 0.01)")),
        notes=("relu and leaky_relu are derived from E[f(z)²] for z ~ N(0, σ²); tanh's 5/3 and selu's 3/4 are"
               " torch's empirical values, declared as such.",),
    ),
    InitOp(
        name="uniform", law="uniform_ab",
        summary="U(a, b): every value equally likely in [a, b).",
        params=(Param("a", 0.0, "lower bound"), Param("b", 1.0, "upper bound")),
    ),
    InitOp(
        name="normal", law="normal_ms",
        summary="N(mean, std²).",
        params=(Param("mean", 0.0, "mean"), Param("std", 1.0, "standard deviation", domain=sp.Interval(0, sp.oo))),
    ),
    InitOp(
        name="trunc_normal", law="trunc_normal",
        summary="N(mean, std²) conditioned on [a, b] (redrawn until inside).",
        params=(Param("mean", 0.0, "mean"), Param("std", 1.0, "standard deviation", domain=sp.Interval(0, sp.oo)),
                Param("a", -2.0, "lower cut-off"), Param("b", 2.0, "upper cut-off")),
        notes=("Drawn by rejection: each value outside [a, b] is drawn again, as torch does when the"
               " interval holds more than 30% of the mass; below that torch switches to an inverse-CDF"
               " method, and nnref keeps rejecting (same law, slower).",),
    ),
    InitOp(name="constant", law="constant", summary="Every entry equal to val.",
           params=(Param("val", None, "the value"),)),
    InitOp(name="zeros", law="constant", summary="Every entry 0.", params=()),
    InitOp(name="ones", law="constant", summary="Every entry 1.", params=()),
    InitOp(
        name="xavier_uniform", law="uniform", variance=XAVIER,
        quoted=sp.sqrt(3) * gain * sp.sqrt(2 / (fan_in + fan_out)),
        latex_target=r"\operatorname{Var}(w) = \frac{2\,\text{gain}^2}{\text{fan\_in} + \text{fan\_out}}",
        summary="Glorot/Xavier uniform: U(-a, a) with Var = 2·gain²/(fan_in + fan_out).",
        params=(_gain_param(),),
        notes=("The target averages the forward condition fan_in·Var = 1 and the backward one"
               " fan_out·Var = 1.",),
    ),
    InitOp(
        name="xavier_normal", law="normal", variance=XAVIER,
        quoted=gain * sp.sqrt(2 / (fan_in + fan_out)),
        latex_target=r"\operatorname{Var}(w) = \frac{2\,\text{gain}^2}{\text{fan\_in} + \text{fan\_out}}",
        summary="Glorot/Xavier normal: N(0, std²) with Var = 2·gain²/(fan_in + fan_out).",
        params=(_gain_param(),),
    ),
    InitOp(
        name="kaiming_uniform", law="uniform", variance=KAIMING,
        quoted=sp.sqrt(3) * gain / sp.sqrt(fan),
        latex_target=r"\operatorname{Var}(w) = \frac{\text{gain}^2}{\text{fan}}",
        summary="He/Kaiming uniform: U(-a, a) with Var = gain²/fan, gain = calculate_gain(nonlinearity, a).",
        params=(_A, _MODE, _NONLIN),
        notes=("With relu's gain √2 and mode='fan_in' the target is 2/fan_in, He et al.'s condition for"
               " a rectifier, which passes half of the variance.",),
    ),
    InitOp(
        name="kaiming_normal", law="normal", variance=KAIMING,
        quoted=gain / sp.sqrt(fan),
        latex_target=r"\operatorname{Var}(w) = \frac{\text{gain}^2}{\text{fan}}",
        summary="He/Kaiming normal: N(0, std²) with Var = gain²/fan.",
        params=(_A, _MODE, _NONLIN),
    ),
    InitOp(
        name="orthogonal", law="orthogonal",
        summary="A (semi-)orthogonal matrix, scaled by gain: QR of a normal draw, signs fixed by R's diagonal.",
        params=(_gain_param(),),
        notes=("The array is viewed as (shape[0], product of the rest). Multiplying Q by the signs of"
               " diag(R) makes the law the Haar measure (Mezzadri, 2007), as torch does.",),
    ),
    InitOp(
        name="default_weight", law="uniform",
        variance=KAIMING.subs(gain, GAIN["leaky_relu"][0].subs(slope, sp.sqrt(5))).subs(fan, fan_in),
        quoted=1 / sp.sqrt(fan_in),
        latex_target=r"\operatorname{Var}(w) = \frac{\text{gain}^2}{\text{fan\_in}},\quad"
                     r" \text{gain} = \sqrt{\tfrac{2}{1 + 5}}",
        summary="torch's default Linear / ConvNd weight: kaiming_uniform with a = √5, i.e. U(±1/√fan_in).",
        params=(),
        notes=("torch.nn.Linear and ConvNd call kaiming_uniform_(weight, a=math.sqrt(5)); SymPy shows the bound"
               " is exactly 1/√fan_in.",),
    ),
    InitOp(
        name="default_bias", law="uniform", variance=1 / (3 * fan_in), quoted=1 / sp.sqrt(fan_in),
        latex_target=r"\operatorname{Var}(b) = \frac{1}{3\,\text{fan\_in}}",
        summary="torch's default Linear / ConvNd bias: U(±1/√fan_in), fan_in read from the weight's shape.",
        params=(Param("fan_in", None, "the layer's fan_in (from its weight's shape)", kind="int"),),
        notes=("A layer with fan_in = 0 gets bound 0, as in torch.",),
    ),
]
