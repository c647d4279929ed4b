"""Activation functions: one record each, in torch.nn.functional's names and defaults.

Piecewise definitions list their branches in the order torch's kernels test them, so a
point on a boundary (and NaN, which fails every comparison) lands in the same branch as
in torch.  Where SymPy's own answer at a kink differs from torch's, a ``Convention``
overrides it and says why.

Owns: the activation records.  Imports: ``derivations.spec`` and SymPy; no printer,
no page code, no engine.
"""

from __future__ import annotations

import sys

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..spec import (
    Arg,
    Bound,
    ClosedForm,
    Convention,
    IsInf,
    IsNaN,
    Ncdf,
    NearZero,
    Npdf,
    Param,
    PointwiseOp,
    Rewrite,
    SigmoidSlope,
    Tol,
    XMinusTanh,
)

x = sp.Symbol("x", real=True)
INPUT = (Arg("input", x, "input tensor, any shape"),)

# Where torch 2.13's gelu(approximate='tanh') backward turns NaN: the square root of the
# largest finite number, where x·x overflows (not x³, as one might guess from the cubic).
# tests/test_special_values.py measures torch on both sides of each value.
FLOAT_MAX = {"float32": (2 - 2.0**-23) * 2.0**127, "float64": sys.float_info.max}


def _sqrt_max(dtype: str) -> str:
    mantissa, exponent = f"{FLOAT_MAX[dtype] ** 0.5:.3g}".split("e+")
    return f"{mantissa}e{int(exponent)}"


GELU_TANH_TORCH_NAN = {dtype: _sqrt_max(dtype) for dtype in FLOAT_MAX}

FAMILY = "activation"
R = sp.S.Reals
POSITIVE = sp.Interval.open(0, sp.oo)
NONNEG = sp.Interval(0, sp.oo)

alpha = sp.Symbol("alpha", real=True)
beta = sp.Symbol("beta", positive=True)
lambd = sp.Symbol("lambd", real=True)
slope = sp.Symbol("negative_slope", real=True)
lower, upper = sp.symbols("lower upper", real=True)
lo = sp.Symbol("min_val", real=True)
hi = sp.Symbol("max_val", real=True)
thr = sp.Symbol("threshold", real=True)
val = sp.Symbol("value", real=True)
w = sp.Symbol("weight", real=True)


def sigmoid_expr(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


def stable_sigmoid(z: sp.Expr) -> sp.Expr:
    # exp only ever sees a non-positive argument in the branch that is selected, so the
    # result cannot overflow.  (One e^{-|z|} for both branches would save an exponential, but
    # the shared 1/(1 + t) turns t/(1 + t) into a product with a rounded reciprocal: 2.1 ulp.)
    return sp.Piecewise((1 / (1 + sp.exp(-z)), z >= 0), (sp.exp(z) / (1 + sp.exp(z)), True))


def stable_softplus(z: sp.Expr) -> sp.Expr:
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): exp's argument is never positive, and
    # log1p keeps the digits of e^-|z| that log(1 + ...) would round away.
    return sp.Max(z, 0) + log1p(sp.exp(-sp.Abs(z)))


# torch 2.13's CPU kernels disagree with themselves at NaN: the vectorised path (whole
# vectors of 8 float64 / 16 float32 elements) and the scalar path (short arrays, tails)
# route a NaN input to different branches.  nnref follows the vectorised path, which is
# what tensors of realistic size get; the special-values test feeds whole vectors.
TORCH_NAN_PATHS = (" (torch's vectorised CPU kernel; its scalar path, used for arrays"
                   " shorter than one vector and for tails, gives the other branch's value)")


def _tol32(rtol: float, atol: float, why: str) -> dict[str, Tol]:
    return {"float32": Tol(rtol, atol, why)}


GELU_U = sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 1000000) * x ** 3)
GELU_TANH = x * (1 + sp.tanh(GELU_U)) / 2
SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 40)
SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 40)
# sigmoid_slope serves a float32 result with the plain float64 quotient t/(1+t)^2: exp's error
# (NumPy's, about an ulp) and three roundings, of which the square doubles one.  Measured at
# most 3.87 float64 ulps over 125,000 float32 inputs (the compensated form: 1.49), so the
# float32 bound's double-rounding allowance is taken as 5 float64 ulps instead of 2.
SLOPE_FLOAT32 = Bound(0.5 + 5 * 2.0 ** -28, "float32 results take sigmoid_slope's plain float64 quotient"
                      " (up to 3.87 float64 ulps measured, 5 allowed): correctly rounded up to that error")

OPS: list[PointwiseOp] = [
    PointwiseOp(
        name="sigmoid", family=FAMILY, latex_name=r"\sigma",
        summary="Logistic function, squashing the real line into (0, 1).",
        args=INPUT, params=(),
        definition=sigmoid_expr(x),
        rewrite=Rewrite(stable_sigmoid(x),
                        "1/(1+e^{-x}) overflows e^{-x} for x < -709 (float64); the branch"
                        " for x < 0 uses e^{x}/(1+e^{x}) instead."),
        closed_forms=(ClosedForm("input", sigmoid_expr(x) * (1 - sigmoid_expr(x)),
                                 r"\sigma'(x) = \sigma(x)\,(1-\sigma(x))", use_in_engine=False,
                                 why="The form everyone quotes (and torch computes); 1 - σ(x) cancels"
                                 " for x > 20, losing every digit by x = 37."),
                      ClosedForm("input", stable_sigmoid(x) * stable_sigmoid(-x),
                                 r"\sigma'(x) = \sigma(x)\,\sigma(-x)", use_in_engine=False,
                                 why="Equal to σ(1-σ) since 1 - σ(x) = σ(-x), with no cancellation"
                                 " and no overflow: the raw derivative e^{-x}/(1+e^{-x})^2 is"
                                 " inf/inf = NaN at x = -1000.  In float64 the two rounded sigmoids"
                                 " cost up to 2.5 ulp."),
                      ClosedForm("input", SigmoidSlope(x),
                                 r"\sigma'(x) = \frac{e^{-|x|}}{(1+e^{-|x|})^2}",
                                 why="The same with one exponential of a non-positive argument, and"
                                 " t/(1+t)^2 formed exactly (_rt.sigmoid_slope): within 2 ulp in"
                                 " float64 without extended precision."),),
        bounds={("float32", "input"): SLOPE_FLOAT32},
    ),
    PointwiseOp(
        name="tanh", family=FAMILY, latex_name=r"\tanh",
        summary="Hyperbolic tangent, odd and bounded in (-1, 1).",
        args=INPUT, params=(), definition=sp.tanh(x),
        closed_forms=(ClosedForm("input", 1 - sp.tanh(x) ** 2, r"\tanh'(x) = 1 - \tanh^2(x)",
                                 use_in_engine=False,
                                 why="The quoted form (torch computes it from the output); it cancels"
                                 " for |x| > 10 and is exactly 0 beyond |x| = 19."),
                      ClosedForm("input", 4 * sp.exp(-2 * sp.Abs(x)) / (1 + sp.exp(-2 * sp.Abs(x))) ** 2,
                                 r"\tanh'(x) = \operatorname{sech}^2 x = \frac{4e^{-2|x|}}{(1+e^{-2|x|})^2}",
                                 use_in_engine=False,
                                 why="sech² written with a non-positive exponent: no cancellation, no"
                                 " overflow."),
                      ClosedForm("input", 4 * SigmoidSlope(2 * x),
                                 r"\tanh'(x) = 4\,\sigma'(2x)",
                                 why="The same quotient, 4t/(1+t)^2 with t = e^{-2|x|}, formed exactly"
                                 " by _rt.sigmoid_slope (2x is exact): within 2 ulp in float64."),),
        bounds={("float32", "input"): SLOPE_FLOAT32},
    ),
    PointwiseOp(
        name="relu", family=FAMILY, latex_name=r"\operatorname{relu}",
        summary="Rectified linear unit: the identity for positive inputs, zero otherwise.",
        args=INPUT, params=(), definition=sp.Max(x, 0),
        rewrite=Rewrite(sp.Piecewise((0, x <= 0), (x, True)),
                        "Same function; the zero branch takes x <= 0, as the derivative's"
                        " convention relu'(0) = 0 does, so relu(-0) is that branch's +0 (as"
                        " relu6(-0) and IEEE 754-2019's maximum(-0, +0)), on every CPU: max(x, 0)"
                        " printed as it stands compares -0 with +0, a tie whose result differs"
                        " between NumPy's SIMD loops (x86 returns the second operand, NEON +0)."),
        conventions=(
            Convention("relu'(0) = 0", sp.Eq(x, 0), {"input": sp.S.Zero},
                       "SymPy differentiates Max(x, 0) to Heaviside(x), which is 1/2 at 0;"
                       " torch's threshold_backward passes no gradient where x <= 0.",
                       point={"input": 0.0}),
            Convention("relu'(NaN) = 1", IsNaN(x), {"input": sp.S.One},
                       "torch masks the gradient with (result <= 0); NaN fails that test,"
                       " so the upstream gradient passes through unchanged.",
                       point={"input": float("nan")}),
        ),
    ),
    PointwiseOp(
        name="relu6", family=FAMILY, latex_name=r"\operatorname{relu6}",
        summary="ReLU capped at 6 (hardtanh with bounds 0 and 6).",
        args=INPUT, params=(), definition=sp.Min(sp.Max(x, 0), 6),
        rewrite=Rewrite(sp.Piecewise((0, x <= 0), (6, x >= 6), (x, True)),
                        "Same function; the branch order is torch's (the lower bound is tested"
                        " first), so NaN falls through to the identity branch as in torch."),
        closed_forms=(ClosedForm("input", sp.Piecewise((1, (x > 0) & (x < 6)), (0, True)),
                                 r"\operatorname{relu6}'(x) = [0 < x < 6]",
                                 why="torch passes the gradient only where 0 < x < 6, so NaN gets 0"
                                 + TORCH_NAN_PATHS + "."),),
        conventions=(
            Convention("relu6'(0) = 0", sp.Eq(x, 0), {"input": sp.S.Zero},
                       "hardtanh_backward zeroes the gradient where x <= min_val.",
                       point={"input": 0.0}),
            Convention("relu6'(6) = 0", sp.Eq(x, 6), {"input": sp.S.Zero},
                       "hardtanh_backward zeroes the gradient where x >= max_val.",
                       point={"input": 6.0}),
        ),
    ),
    PointwiseOp(
        name="leaky_relu", family=FAMILY, latex_name=r"\operatorname{leaky\_relu}",
        summary="ReLU with a small slope for negative inputs.",
        args=INPUT,
        params=(Param("negative_slope", 0.01, "slope for x <= 0", domain=R, symbol=slope,
                      test_range=(-2.0, 2.0)),),
        definition=sp.Piecewise((x, x > 0), (slope * x, True)),
        conventions=(
            Convention("leaky_relu'(0) = negative_slope", sp.Eq(x, 0), {"input": slope},
                       "torch's backward tests x > 0, so x = 0 takes the negative branch.",
                       point={"input": 0.0}),
        ),
    ),
    PointwiseOp(
        name="rrelu", family=FAMILY, latex_name=r"\operatorname{rrelu}",
        summary="Randomized leaky ReLU in evaluation mode: leaky ReLU with the mean slope (lower + upper)/2.",
        args=INPUT,
        params=(Param("lower", 1 / 8, "lower end of the range of negative slopes", domain=R, symbol=lower,
                      test_range=(0.0, 0.2)),
                Param("upper", 1 / 3, "upper end of the range of negative slopes", domain=R, symbol=upper,
                      test_range=(0.25, 0.6))),
        relations=(("upper", "lower <= upper", "a value >= lower"),),
        definition=sp.Piecewise((x, x > 0), ((lower + upper) / 2 * x, True)),
        conventions=(
            Convention("rrelu'(0) = (lower + upper)/2", sp.Eq(x, 0), {"input": (lower + upper) / 2},
                       "in evaluation mode torch computes leaky_relu with the mean slope, whose backward"
                       " tests x > 0, so x = 0 takes the negative branch.", point={"input": 0.0}),
        ),
        notes=("Evaluation mode only, torch's default (training=False). In training mode torch draws each"
               " negative slope uniformly from [lower, upper], a random stream a deterministic reference"
               " cannot reproduce, so nnref.rrelu has no training argument.",),
    ),
    PointwiseOp(
        name="elu", family=FAMILY, latex_name=r"\operatorname{elu}",
        summary="Exponential linear unit.",
        args=INPUT,
        params=(Param("alpha", 1.0, "scale of the negative branch", domain=R, symbol=alpha,
                      test_range=(0.0, 3.0)),),
        definition=sp.Piecewise((alpha * (sp.exp(x) - 1), x <= 0), (x, True)),
        rewrite=Rewrite(sp.Piecewise((alpha * expm1(x), x <= 0), (x, True)),
                        "e^x - 1 cancels for small |x| (elu(-1e-8) loses 8 digits); expm1 does not."),
        conventions=(
            Convention("elu'(0) = alpha", sp.Eq(x, 0), {"input": alpha},
                       "torch's elu_backward uses the x <= 0 branch at 0, so the derivative"
                       " there is alpha·e^0 = alpha, not 1.", point={"input": 0.0}),
            Convention("elu'(NaN) = NaN", IsNaN(x), {"input": sp.nan},
                       "torch's vectorised elu kernel evaluates both branches and the NaN"
                       " propagates; the branch test alone would pick the linear branch"
                       + TORCH_NAN_PATHS + ".",
                       point={"input": float("nan")}),
        ),
    ),
    PointwiseOp(
        name="selu", family=FAMILY, latex_name=r"\operatorname{selu}",
        summary="Scaled ELU with the self-normalising constants of Klambauer et al.",
        args=INPUT, params=(),
        definition=sp.Piecewise((SELU_SCALE * SELU_ALPHA * (sp.exp(x) - 1), x <= 0),
                                (SELU_SCALE * x, True)),
        rewrite=Rewrite(sp.Piecewise((SELU_SCALE * SELU_ALPHA * expm1(x), x <= 0), (SELU_SCALE * x, True)),
                        "e^x - 1 cancels for small |x|; expm1 does not."),
        conventions=(
            Convention("selu'(0) = scale·alpha", sp.Eq(x, 0), {"input": SELU_SCALE * SELU_ALPHA},
                       "selu is elu with alpha and scale fixed; torch takes the x <= 0 branch.",
                       point={"input": 0.0}),
            Convention("selu'(NaN) = NaN", IsNaN(x), {"input": sp.nan},
                       "torch's vectorised elu kernel evaluates both branches and the NaN"
                       " propagates; the branch test alone would pick the linear branch"
                       + TORCH_NAN_PATHS + ".",
                       point={"input": float("nan")}),
        ),
    ),
    PointwiseOp(
        name="celu", family=FAMILY, latex_name=r"\operatorname{celu}",
        extended=("vjp",),
        extended_reason="e^{x/α}: the rounding of x/α is multiplied by |x/α| (97 ulp at α = 3,"
                        " x = -1314 when the derivative runs in float64).",
        summary="Continuously differentiable ELU: max(0,x) + min(0, alpha(e^{x/alpha} - 1)).",
        args=INPUT,
        params=(Param("alpha", 1.0, "scale, must be nonzero", domain=R - sp.FiniteSet(0),
                      symbol=alpha, test_range=(0.1, 3.0)),),
        definition=sp.Piecewise((alpha * (sp.exp(x / alpha) - 1), x <= 0), (x, True)),
        rewrite=Rewrite(sp.Piecewise((alpha * expm1(x / alpha), x <= 0), (x, True)),
                        "e^{x/alpha} - 1 cancels for small |x|; expm1 does not."),
        tolerances={"float64": Tol(1e-7, 1e-7, "torch's float64 celu passes 1/alpha to its elu"
                                   " kernel rounded to float32 (relative error <= 6e-8): its derivative"
                                   " alpha·fl32(1/alpha)·e^{x·fl32(1/alpha)} is off by up to 6e-8 relative"
                                   " (rtol), and e^{x/alpha} by |x/alpha|e^{x/alpha}·6e-8 <= 2.2e-8"
                                   " absolute, times alpha <= 3 in the forward (atol).")},
        notes=("For alpha > 0 this equals max(0,x) + min(0, alpha(e^{x/alpha}-1)); torch"
               " evaluates it as elu with input scale 1/alpha, which is the piecewise form"
               " here for every nonzero alpha.",),
        conventions=(
            Convention("celu'(0) = 1", sp.Eq(x, 0), {"input": sp.S.One},
                       "Both branches have slope 1 at 0, so the function is C^1 there.",
                       point={"input": 0.0}),
            Convention("celu'(NaN) = NaN", IsNaN(x), {"input": sp.nan},
                       "torch's vectorised elu kernel evaluates both branches and the NaN"
                       " propagates; the branch test alone would pick the linear branch"
                       + TORCH_NAN_PATHS + ".",
                       point={"input": float("nan")}),
        ),
    ),
    PointwiseOp(
        name="gelu", family=FAMILY, latex_name=r"\operatorname{gelu}",
        summary="Gaussian error linear unit x·Φ(x), exact (erf) form.",
        args=INPUT,
        params=(Param("approximate", "none", "'none' for the erf form, 'tanh' for the"
                      " tanh approximation", kind="choice", choices=("none", "tanh")),),
        definition=x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
        rewrite=Rewrite(x * Ncdf(x), "1 + erf(x/√2) cancels below x ≈ −8.3 (the sum rounds to 0 where the true"
                        " value is a tiny positive number); Φ(x) = erfc(−x/√2)/2 keeps every digit, with"
                        " −x/√2 split exactly (see _rt.ncdf)."),
        closed_forms=(ClosedForm("input", Ncdf(x) + x * Npdf(x),
                                 r"\operatorname{gelu}'(x) = \Phi(x) + x\,\varphi(x)",
                                 why="Φ through erfc and φ with x² taken exactly, for the same reason."),),
        near_zero=(NearZero("input", (x > -1.0) & (x < -0.5), Ncdf(x),
                            "gelu' has a zero at x ≈ −0.7518 where Φ(x) ≈ 0.226 and x·φ(x) ≈ −0.226"
                            " cancel: the error there is held to 2·eps·Φ(x)."),),
    ),
    PointwiseOp(
        name="gelu_tanh", family=FAMILY, latex_name=r"\operatorname{gelu}_{\tanh}",
        extended=("forward", "vjp"),
        extended_reason="e^{2u}: the roundings of u = √(2/π)(x + 0.044715x³) are multiplied by |2u|"
                        " (189 ulp at x = -9 in float64), and the derivative's x³ overflows float64"
                        " where the result does not.",
        summary="GELU with the tanh approximation (gelu(input, approximate='tanh')).",
        args=INPUT, params=(),
        definition=GELU_TANH,
        rewrite=Rewrite(x * stable_sigmoid(2 * GELU_U),
                        "(1 + tanh u)/2 = σ(2u): 1 + tanh u cancels below x ≈ −12.7 (the sum rounds to 0"
                        " where the true value is tiny); σ(2u) keeps every digit and never overflows."),
        closed_forms=(ClosedForm(
            "input",
            stable_sigmoid(2 * GELU_U)
            + 2 * x * sp.diff(GELU_U, x) * stable_sigmoid(2 * GELU_U) * stable_sigmoid(-2 * GELU_U),
            r"\operatorname{gelu}_{\tanh}'(x) = \sigma(2u) + 2x\,u'(x)\,\sigma(2u)\,\sigma(-2u)",
            why="The derivative of the sigmoid form: no cancellation, and the product σ(2u)σ(−2u)"
            " underflows to 0 before x·u'(x) overflows, so the limits 0 and 1 come out at huge |x|"
            " (the tanh form evaluates x³·sech²(u) = inf·0 = NaN beyond |x| ≈ 5.64e102, where x³ overflows)."),),
        near_zero=(NearZero("input", (x > -0.9) & (x < -0.6), stable_sigmoid(2 * GELU_U),
                            "the derivative has a zero at x ≈ −0.7522 where its two terms (each ≈ 0.23)"
                            " cancel: the error there is held to 2·eps·σ(2u)."),),
        variant_of=("gelu", {"approximate": "tanh"}),
        notes=("Difference from torch at huge magnitudes: torch's backward returns NaN from |x| ="
               f" {GELU_TANH_TORCH_NAN['float32']} (float32) or {GELU_TANH_TORCH_NAN['float64']} (float64) on,"
               " where its x² overflows to inf and meets sech² = 0; nnref returns the limit 0 or 1.",
               "Reached as gelu(input, approximate='tanh'); listed separately because it is a"
               " different formula with its own derivative.",),
        tolerances=_tol32(5e-5, 5e-6, "the cubic inside tanh amplifies the float32 rounding of"
                          " x by up to 3x before tanh; torch and NumPy round it differently."),
    ),
    PointwiseOp(
        name="silu", family=FAMILY, latex_name=r"\operatorname{silu}",
        extended=("vjp",),
        extended_reason="1 + x·σ(-x) cancels around the derivative's zero at x ≈ -1.28 (17 ulp at"
                        " x = -1.3 when it runs in float64).",
        summary="Sigmoid-weighted linear unit x·σ(x) (swish).",
        args=INPUT, params=(), definition=x * sigmoid_expr(x),
        rewrite=Rewrite(x * stable_sigmoid(x), "uses the overflow-free sigmoid."),
        closed_forms=(ClosedForm("input", stable_sigmoid(x) * (1 + x * stable_sigmoid(-x)),
                                 r"\operatorname{silu}'(x) = \sigma(x)\,(1 + x\,\sigma(-x))"),),
    ),
    PointwiseOp(
        name="mish", family=FAMILY, latex_name=r"\operatorname{mish}",
        extended=("vjp",),
        extended_reason="the derivative's two terms cancel around its zero at x ≈ -1.19 (57 ulp at"
                        " x = -1.2 in float64).",
        summary="x·tanh(softplus(x)).",
        args=INPUT, params=(), definition=x * sp.tanh(sp.log(1 + sp.exp(x))),
        rewrite=Rewrite(x * sp.tanh(stable_softplus(x)),
                        "log(1+e^x) overflows e^x for x > 709; the stable softplus does not."),
        closed_forms=(ClosedForm(
            "input",
            sp.tanh(stable_softplus(x)) + x * stable_sigmoid(x) * (1 - sp.tanh(stable_softplus(x)) ** 2),
            r"\operatorname{mish}'(x) = \tanh(\operatorname{sp}(x)) + x\,\sigma(x)\,"
            r"\operatorname{sech}^2(\operatorname{sp}(x))"),),
        tolerances=_tol32(5e-5, 5e-6, "three chained transcendental functions in float32."),
    ),
    PointwiseOp(
        name="softplus", family=FAMILY, latex_name=r"\operatorname{softplus}",
        summary="Smooth ReLU log(1 + e^{beta x})/beta, linear above a threshold.",
        args=INPUT,
        params=(Param("beta", 1.0, "sharpness, > 0", domain=POSITIVE, symbol=beta,
                      test_range=(0.25, 4.0)),
                Param("threshold", 20.0, "above beta·x > threshold the output is x", domain=R,
                      symbol=thr, test_range=(1.0, 30.0))),
        definition=sp.Piecewise((x, beta * x > thr), (sp.log(1 + sp.exp(beta * x)) / beta, True)),
        rewrite=Rewrite(sp.Piecewise((x, beta * x > thr), (stable_softplus(beta * x) / beta, True)),
                        "when threshold is large (or beta·x > 709 below it) e^{beta x}"
                        " overflows; max(z,0) + log1p(e^{-|z|}) does not."),
        closed_forms=(ClosedForm("input", sp.Piecewise((1, beta * x > thr), (stable_sigmoid(beta * x), True)),
                                 r"\operatorname{softplus}'(x) = \sigma(\beta x)"
                                 r"\ (\text{or } 1 \text{ above the threshold})"),),
        conventions=(
            Convention("softplus' = 1 where beta·x > threshold", beta * x > thr,
                       {"input": sp.S.One},
                       "The linear branch is used for the derivative too (torch does the"
                       " same), so the derivative jumps from σ(threshold) to 1.",
                       point={"input": 25.0}),
        ),
    ),
    PointwiseOp(
        name="softsign", family=FAMILY, latex_name=r"\operatorname{softsign}",
        summary="x / (1 + |x|).",
        args=INPUT, params=(), definition=x / (1 + sp.Abs(x)),
        closed_forms=(ClosedForm("input", 1 / (1 + sp.Abs(x)) ** 2,
                                 r"\operatorname{softsign}'(x) = \frac{1}{(1+|x|)^2}"),),
        conventions=(
            Convention("softsign'(±inf) = NaN", IsInf(x), {"input": sp.nan},
                       "torch differentiates the composite x/(1+|x|): at ±inf that is"
                       " 1/(1+|x|) - |x|/(1+|x|)^2 = 0 - inf/inf = NaN under IEEE rules. nnref"
                       " returns the same so the two agree; the limit is 0.",
                       point={"input": float("inf")}),
        ),
    ),
    PointwiseOp(
        name="hardtanh", family=FAMILY, latex_name=r"\operatorname{hardtanh}",
        summary="Clamp to [min_val, max_val].",
        args=INPUT,
        params=(Param("min_val", -1.0, "lower bound", domain=R, symbol=lo, test_range=(-3.0, -0.5)),
                Param("max_val", 1.0, "upper bound, >= min_val", domain=R, symbol=hi,
                      test_range=(0.5, 3.0))),
        definition=sp.Min(sp.Max(x, lo), hi),
        relations=(("max_val", "min_val <= max_val", "a value >= min_val"),),
        rewrite=Rewrite(sp.Piecewise((lo, x <= lo), (hi, x >= hi), (x, True)),
                        "Same function for min_val <= max_val; torch's branch order, so NaN"
                        " passes through."),
        closed_forms=(ClosedForm("input", sp.Piecewise((1, (x > lo) & (x < hi)), (0, True)),
                                 r"\operatorname{hardtanh}'(x) = [\text{min\_val} < x <"
                                 r" \text{max\_val}]"),),
        conventions=(
            Convention("hardtanh'(min_val) = 0", sp.Eq(x, lo), {"input": sp.S.Zero},
                       "torch zeroes the gradient where x <= min_val.", point={"input": -1.0}),
            Convention("hardtanh'(max_val) = 0", sp.Eq(x, hi), {"input": sp.S.Zero},
                       "torch zeroes the gradient where x >= max_val.", point={"input": 1.0}),
        ),
    ),
    PointwiseOp(
        name="hardsigmoid", family=FAMILY, latex_name=r"\operatorname{hardsigmoid}",
        summary="Piecewise-linear sigmoid relu6(x + 3) / 6.",
        args=INPUT, params=(), definition=sp.Min(sp.Max(x + 3, 0), 6) / 6,
        rewrite=Rewrite(sp.Piecewise((0, x <= -3), (1, x >= 3),
                                     (sp.Mul(sp.Rational(1, 6), x + 3, evaluate=False), True)),
                        "Same function, in torch's branch order, and (x + 3)/6 as torch computes it: x/6 + 1/2"
                        " cancels just above x = −3."),
        closed_forms=(ClosedForm("input", sp.Piecewise((sp.Rational(1, 6), (x > -3) & (x < 3)), (0, True)),
                                 r"\operatorname{hardsigmoid}'(x) = \tfrac16\,[-3 < x < 3]",
                                 why="torch tests -3 < x < 3, so NaN gets 0."),),
        tolerances={"float64": Tol(1e-7, 1e-14, "torch's float64 hardsigmoid backward multiplies by"
                                   " the float32 constant 1.0f/6.0f (relative error 3e-8); nnref uses"
                                   " 1/6 rounded to float64.")},
        conventions=(
            Convention("hardsigmoid'(-3) = 0", sp.Eq(x, -3), {"input": sp.S.Zero},
                       "torch's backward passes grad/6 only for -3 < x < 3.", point={"input": -3.0}),
            Convention("hardsigmoid'(3) = 0", sp.Eq(x, 3), {"input": sp.S.Zero},
                       "torch's backward passes grad/6 only for -3 < x < 3.", point={"input": 3.0}),
        ),
    ),
    PointwiseOp(
        name="hardswish", family=FAMILY, latex_name=r"\operatorname{hardswish}",
        summary="x · relu6(x + 3) / 6.",
        args=INPUT, params=(), definition=x * sp.Min(sp.Max(x + 3, 0), 6) / 6,
        rewrite=Rewrite(sp.Piecewise((0, x <= -3), (x, x >= 3), (x * (x + 3) / 6, True)),
                        "Same function, in torch's branch order. For x >= 3 it returns x itself; torch's"
                        " x·6/6 overflows float32 above 5.7e37 and returns inf there."),
        closed_forms=(ClosedForm("input", sp.Piecewise((0, x <= -3), (x / 3 + sp.Rational(1, 2), x < 3), (1, True)),
                                 r"\operatorname{hardswish}'(x) = \tfrac{x}{3} + \tfrac12"
                                 r"\ \text{on } (-3, 3)",
                                 why="Written in torch's branch order (x <= -3, then x < 3), so"
                                 " the edges and NaN take torch's branches."),),
        conventions=(
            Convention("hardswish'(-3) = 0", sp.Eq(x, -3), {"input": sp.S.Zero},
                       "torch 2.13's backward tests x <= -3 first, so -3 takes the zero branch"
                       " (the one-sided derivatives there are 0 and -1/2).", point={"input": -3.0}),
            Convention("hardswish'(3) = 1", sp.Eq(x, 3), {"input": sp.S.One},
                       "the middle branch is x < 3, so 3 takes the identity branch (one-sided"
                       " derivatives 3/2 and 1).", point={"input": 3.0}),
            Convention("hardswish(-inf) = NaN", IsInf(x) & (x < 0), {},
                       "torch evaluates x·relu6(x+3)/6, which at -inf is -inf·0 = NaN under IEEE"
                       " rules; nnref returns the same (the limit is 0).",
                       point={"input": float("-inf")}, value=sp.nan),
            Convention("hardswish'(NaN) = NaN", IsNaN(x), {"input": sp.nan},
                       "the NaN propagates through the blended branches" + TORCH_NAN_PATHS + ".",
                       point={"input": float("nan")}),
        ),
    ),
    PointwiseOp(
        name="logsigmoid", family=FAMILY, latex_name=r"\log\sigma",
        summary="log σ(x) = -softplus(-x).",
        args=INPUT, params=(), definition=sp.log(sigmoid_expr(x)),
        rewrite=Rewrite(sp.Min(x, 0) - log1p(sp.exp(-sp.Abs(x))),
                        "log(1/(1+e^{-x})) overflows e^{-x} for x < -709."),
        closed_forms=(ClosedForm("input", 1 - sigmoid_expr(x), r"(\log\sigma)'(x) = 1 - \sigma(x)",
                                 use_in_engine=False),
                      ClosedForm("input", stable_sigmoid(-x), r"(\log\sigma)'(x) = \sigma(-x)",
                                 why="1 - σ(x) cancels for large x; σ(-x) is the same number without"
                                 " cancellation."),),
        notes=("torch.nn.functional names this logsigmoid; log_sigmoid is accepted as an alias"
               " in the lookup.",),
    ),
    PointwiseOp(
        name="tanhshrink", family=FAMILY, latex_name=r"\operatorname{tanhshrink}",
        summary="x - tanh(x).",
        args=INPUT, params=(), definition=x - sp.tanh(x),
        rewrite=Rewrite(XMinusTanh(x), "x − tanh(x) cancels as x → 0 (the value is about x³/3);"
                        " _rt.x_minus_tanh sums (x·cosh x − sinh x)/cosh x from a series of positive"
                        " terms for |x| < 1 instead."),
        closed_forms=(ClosedForm("input", sp.tanh(x) ** 2, r"\operatorname{tanhshrink}'(x) = \tanh^2(x)"),),
        notes=("torch computes x − tanh(x) as written, which cancels near 0: its value there is"
               " accurate to about one ulp of x in absolute terms only (the Accuracy page measures it).",),
        tolerances={
            "float64": Tol(1e-12, 1e-15, "torch's x - tanh(x) cancels for small |x|; its absolute error"
                           " is ~ulp(|x|), covered by atol for |x| <= 10."),
            "float32": Tol(2e-5, 1e-5, "the same cancellation in torch's float32: ~ulp(|x|) = 1e-6"
                           " for |x| near 10; atol 1e-5 covers it."),
        },
    ),
    PointwiseOp(
        name="softshrink", family=FAMILY, latex_name=r"\operatorname{softshrink}",
        summary="Shrink towards zero by lambd, zero inside [-lambd, lambd].",
        args=INPUT,
        params=(Param("lambd", 0.5, "half-width of the dead zone, >= 0", domain=NONNEG,
                      symbol=lambd, test_range=(0.0, 2.0)),),
        definition=sp.Piecewise((x - lambd, x > lambd), (x + lambd, x < -lambd), (0, True)),
        conventions=(
            Convention("softshrink'(±lambd) = 0", sp.Eq(sp.Abs(x), lambd), {"input": sp.S.Zero},
                       "torch passes no gradient where -lambd <= x <= lambd (closed interval).",
                       point={"input": 0.5}),
            Convention("softshrink(NaN) = NaN", IsNaN(x), {},
                       "NaN fails both comparisons, so the branch order alone would return 0;"
                       " torch's kernel returns NaN there, and so does nnref.",
                       point={"input": float("nan")}, value=sp.nan),
        ),
    ),
    PointwiseOp(
        name="hardshrink", family=FAMILY, latex_name=r"\operatorname{hardshrink}",
        summary="Zero inside [-lambd, lambd], identity outside.",
        args=INPUT,
        params=(Param("lambd", 0.5, "half-width of the dead zone, >= 0", domain=NONNEG,
                      symbol=lambd, test_range=(0.0, 2.0)),),
        definition=sp.Piecewise((0, (x >= -lambd) & (x <= lambd)), (x, True)),
        conventions=(
            Convention("hardshrink'(±lambd) = 0", sp.Eq(sp.Abs(x), lambd), {"input": sp.S.Zero},
                       "the function jumps at ±lambd; torch takes the zero branch there.",
                       point={"input": 0.5}),
            Convention("hardshrink'(NaN) = 0", IsNaN(x), {"input": sp.S.Zero},
                       "torch's backward passes the gradient only where x < -lambd or x > lambd,"
                       " which NaN fails" + TORCH_NAN_PATHS + ".", point={"input": float("nan")}),
        ),
    ),
    PointwiseOp(
        name="threshold", family=FAMILY, latex_name=r"\operatorname{threshold}",
        summary="x where x > threshold, else value.",
        args=INPUT,
        params=(Param("threshold", None, "the threshold (required)", domain=R, symbol=thr,
                      test_range=(-2.0, 2.0)),
                Param("value", None, "the replacement value (required)", domain=R, symbol=val,
                      test_range=(-2.0, 2.0))),
        definition=sp.Piecewise((val, x <= thr), (x, True)),
        conventions=(
            Convention("threshold'(threshold) = 0", sp.Eq(x, thr), {"input": sp.S.Zero},
                       "torch's backward zeroes the gradient where x <= threshold.",
                       point={"input": 0.0}, params={"threshold": 0.0, "value": 0.5}),
        ),
    ),
    PointwiseOp(
        name="prelu", family=FAMILY, latex_name=r"\operatorname{prelu}",
        summary="Leaky ReLU with a learnable slope per channel (dim 1) or one shared slope.",
        args=(Arg("input", x, "input, channels on dim 1 when weight has more than one element"),
              Arg("weight", w, "slopes: shape (1,) or (C,)", layout="channel")),
        params=(),
        definition=sp.Piecewise((x, x > 0), (w * x, True)),
        conventions=(
            Convention("prelu'(0) = weight; ∂/∂weight at 0 = 0", sp.Eq(x, 0),
                       {"input": w, "weight": sp.S.Zero},
                       "torch's prelu backward tests x > 0, so 0 uses the negative branch.",
                       point={"input": 0.0}),
        ),
        notes=("The weight gradient sums over every axis except the channel axis.",),
    ),
]
