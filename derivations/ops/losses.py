"""Losses whose value at each element depends only on the matching elements, followed by a
reduction: one record each, in torch.nn.functional's names, argument order and defaults
(the deprecated ``size_average`` / ``reduce`` arguments are left out).

Each definition is torch's own elementwise formula, clamps included; SymPy differentiates
it.  Where torch's backward is not the derivative of its forward (binary_cross_entropy's
floored denominator, gaussian_nll_loss's clamp taken under ``no_grad``), a ``Convention``
says what torch returns there and why.  Piecewise definitions list their branches in the
order torch's kernels test them, so a point on a boundary lands in torch's branch.

Owns: the elementwise loss records.  Imports: ``derivations.spec``, ``.activations``
(the stable sigmoid) and SymPy.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ..spec import Arg, ClosedForm, Convention, IsInf, IsNaN, NearZero, Param, PointwiseOp, Rewrite, xlogy
from .activations import stable_sigmoid

FAMILY = "loss"
R = sp.S.Reals
UNIT = sp.Interval(0, 1)
POSITIVE = sp.Interval.open(0, sp.oo)
NONNEG = sp.Interval(0, sp.oo)

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
x1 = sp.Symbol("x1", real=True)
x2 = sp.Symbol("x2", real=True)
v = sp.Symbol("v", real=True)
pw = sp.Symbol("p_w", real=True)
beta = sp.Symbol("beta", nonnegative=True)
delta = sp.Symbol("delta", positive=True)
margin = sp.Symbol("margin", real=True)
eps = sp.Symbol("epsilon", positive=True)

INPUT = Arg("input", x, "predictions, any shape")
TARGET = Arg("target", y, "targets, the shape of input")


def stable_log_sigmoid(z: sp.Expr) -> sp.Expr:
    # log σ(z) = min(z, 0) - log1p(e^{-|z|}), the form of torch's log_sigmoid kernel.
    return sp.Min(z, 0) - log1p(sp.exp(-sp.Abs(z)))


# margin_ranking_loss: z = margin - target·(input1 - input2); torch's clamp_min backward is
# the mask [z >= 0] (0 where z is NaN), then multiplied by the other factor of each product.
MR_MASK = sp.Piecewise((1, -y * (x1 - x2) + margin >= 0), (0, True))
MR_WHY = ("torch's form: the clamp's mask times the other factor, so a NaN or infinite factor"
          " gives NaN where the mask is 0 (0·inf), as torch does; SymPy's Heaviside(NaN) would"
          " print as 1. Equal to the raw derivative off the kink.")


SMOOTH_L1_BETA = Param("beta", 1.0, "where the quadratic turns linear, >= 0 (0 gives l1_loss)",
                       domain=NONNEG, symbol=beta, test_range=(0.0, 3.0))


# torch's binary_cross_entropy backward divides by max((1 - p)·p, EPSILON) with EPSILON =
# 1e-12 held as a float: the value used is 1e-12 rounded to float32 (measured: the input
# gradient at p = 0, y = 0.5 is -0.5/9.999999960041972e-13 = -500000001997.9, not -5e11).
BCE_EPS = sp.Float("9.9999999600419720e-13", 17)


L1_NAN = Convention("l1' = 0 where input - target is NaN", IsNaN(x - y), {"input": sp.S.Zero, "target": sp.S.Zero},
                    "torch's backward is sign(input - target), and torch.sign(NaN) = 0 (on the"
                    " vectorised and the scalar path alike), so a NaN input or target, or"
                    " inf - inf, passes no gradient; NumPy's sign(NaN) is NaN.",
                    point={"input": float("nan"), "target": 0.5})


def _poisson_stirling() -> sp.Expr:
    # Stirling's approximation of log(target!), added by full=True where target > 1 only
    # (torch masks it with masked_fill(target <= 1, 0)).
    return sp.Piecewise((y * sp.log(y) - y + sp.log(2 * sp.pi * y) / 2, y > 1), (0, True))


def _poisson(name: str, log_input: bool, full: bool) -> PointwiseOp:
    base = sp.exp(x) - y * x if log_input else x - y * sp.log(x + eps)
    d_target_masked = -x if log_input else -sp.log(x + eps)
    conventions: tuple[Convention, ...] = ()
    if full:
        conventions = (
            Convention("d/dtarget is NaN at target <= 0, NaN or +inf (full=True)",
                       sp.Or(y <= 0, IsNaN(y), IsInf(y)), {"target": sp.nan},
                       "torch computes the Stirling term everywhere and masks it with"
                       " masked_fill(target <= 1, 0); the masked zero gradient is then"
                       " multiplied by log(target) = -inf (and divided by target = 0) inside"
                       " the term's backward, and 0·inf = NaN; at target = NaN the mask passes"
                       " 0·NaN, and at +inf the term's own backward has inf/inf.",
                       point={"input": 0.5, "target": 0.0}),
            Convention("d/dtarget at target == 1 takes the masked branch (full=True)", sp.Eq(y, 1),
                       {"target": d_target_masked},
                       "the Stirling term is masked where target <= 1 (closed), so at 1 it adds"
                       " nothing to the gradient; the loss itself jumps there by"
                       " log(2π)/2 - 1 ≈ -0.081.", point={"input": 0.5, "target": 1.0}),
        )
    formula = ("exp(input) - target·input, input = log(rate)" if log_input
               else "input - target·log(input + eps), input = rate (log_input=False)")
    stirling = ", plus Stirling's log(target!) where target > 1 (full=True)" if full else ""
    return PointwiseOp(
        name=name, family=FAMILY, latex_name=r"\operatorname{poisson\_nll}",
        extended=("forward", "vjp"),
        extended_reason="e^{input} - target·input and its Stirling term cancel (408 ulp in float64)"
                        " and e^{input} overflows float64 where the loss does not.",
        summary=f"Poisson negative log-likelihood {formula}{stirling}.",
        args=(Arg("input", x, "log of the rate (log_input=True) or the rate itself",
                  test_domain="real" if log_input else "nonneg"),
              Arg("target", y, "counts, the shape of input", test_domain="nonneg")),
        params=(Param("log_input", True, "input is log(rate) (True) or the rate (False)", kind="bool"),
                Param("full", False, "add the Stirling approximation of log(target!)", kind="bool"),
                Param("eps", 1e-8, "added to the rate inside the log when log_input=False",
                      symbol=eps, test_range=(1e-10, 1e-6))),
        definition=base + _poisson_stirling() if full else base,
        conventions=conventions,
        near_zero=() if log_input else (
            NearZero("input", sp.Abs(x + eps - y) < y / 16, sp.S.One,
                     "1 − target/(input + eps) is 0 where input + eps = target: the sum input + eps is"
                     " rounded first (eps is a float added to input, as torch adds it), an error of"
                     " eps·1 there."),
            NearZero("target", sp.Abs(x + eps - 1) < sp.Rational(1, 16), sp.S.One,
                     "−log(input + eps) is 0 where input + eps = 1: the rounding of the sum is an"
                     " absolute error of eps·1 in the log."),
            NearZero("value",
                     sp.Abs(x - y * sp.log(x + eps)) < (sp.Abs(x) + sp.Abs(y * sp.log(x + eps))) / 16,
                     sp.Abs(x) + sp.Abs(y * sp.log(x + eps)) + sp.Abs(y),
                     "input − target·log(input + eps) cancels where its terms are equal; the rounding of"
                     " input + eps costs target·eps/(input + eps) besides."),
        ),
        reduction=True,
        variant_of=None if (log_input, full) == (True, False)
        else ("poisson_nll_loss", {"log_input": log_input, "full": full}),
        notes=("Reached as poisson_nll_loss(..., log_input=..., full=...); each combination is a"
               " different formula with its own derivative.",) if (log_input, full) != (True, False) else (),
    )


def _kl(log_target: bool) -> PointwiseOp:
    if log_target:
        definition = sp.exp(y) * (y - x)
        conventions: tuple[Convention, ...] = ()
    else:
        definition = xlogy(y, y) - y * x
        conventions = (
            Convention("d/dtarget is NaN at target == 0", sp.Eq(y, 0), {"target": sp.nan},
                       "torch differentiates xlogy(t, t) through both of its arguments; the"
                       " second gives t/t = 0/0 = NaN at t = 0 (the first gives 0 there), so"
                       " the target gradient is NaN where target == 0, though the loss is 0.",
                       point={"input": 0.5, "target": 0.0}),
            Convention("d/dtarget is NaN at target = ±inf", IsInf(y), {"target": sp.nan},
                       "the same two-argument xlogy backward adds t/t = inf/inf = NaN there (the"
                       " derivative log t + 1 - input would be +inf at t = +inf).",
                       point={"input": 0.5, "target": float("inf")}),
        )
    return PointwiseOp(
        name="kl_div_log_target" if log_target else "kl_div", family=FAMILY,
        extended=("vjp",) if log_target else ("forward", "vjp"),
        extended_reason="target·(log target - input) cancels where input ≈ log target (786 ulp in"
                        " float64), and e^t overflows float64 where the loss does not.",
        latex_name=r"\operatorname{kl\_div}",
        summary=("Pointwise KL divergence term exp(t)·(t - input) with target given as log-probabilities."
                 if log_target else
                 "Pointwise KL divergence term target·(log target - input), 0 where target == 0;"
                 " input holds log-probabilities."),
        args=(Arg("input", x, "log-probabilities, any shape"),
              Arg("target", y, "log-probabilities (log_target=True), the shape of input" if log_target
                  else "probabilities, the shape of input", test_domain="real" if log_target else "nonneg")),
        params=(Param("log_target", False, "target holds log-probabilities", kind="bool"),),
        definition=definition,
        conventions=conventions,
        reduction=True,
        reductions=("none", "batchmean", "sum", "mean"),
        signature=("reduction", "log_target"),
        variant_of=("kl_div", {"log_target": True}) if log_target else None,
        grad_first=log_target,
        # log_target=True: torch's float32 e^target overflows above 88.72 (0·inf = NaN in its
        # backward, inf in its loss) where nnref, evaluating in float64 and rounding once,
        # returns the true value; both records carry it because the catalog lists kl_div once.
        crosscheck_max_abs={"float32": 85.0},
        notes=(("Reached as kl_div(..., log_target=True).",
                "Deliberate difference from torch in float32: where target > 88.72, torch's float32"
                " e^target overflows (its loss is inf, its gradient inf or NaN); nnref evaluates in"
                " float64, rounds once, and returns the true value where it is a float32 number.")
               if log_target else
               ("reduction='batchmean' divides the sum by input.shape[0] (by 1 for a 0-d input), which"
                " is the KL divergence when dim 0 is the batch; 'mean' divides by the element count"
                " (torch warns that 'mean' will change to 'batchmean').",
                "target < 0 gives NaN (t·log t), as in torch.")),
    )


def _gaussian(full: bool) -> PointwiseOp:
    vc = sp.Max(v, eps)
    definition = (sp.log(vc) + (x - y) ** 2 / vc) / 2
    if full:
        definition = definition + sp.log(2 * sp.pi) / 2
    return PointwiseOp(
        name="gaussian_nll_loss_full" if full else "gaussian_nll_loss", family=FAMILY,
        # (with the constant log(2π)/2 added, the value's float64 rounding stays within bounds)
        extended=("vjp",) if full else ("forward", "vjp"),
        extended_reason="(input - target)² overflows float64 where the derivative does not, and"
                        " log var + d²/var cancels (57 ulp in float64).",
        latex_name=r"\operatorname{gaussian\_nll}",
        summary="Negative log-likelihood of a Gaussian target with predicted mean input and variance"
                " var (clamped below at eps)" + (", with the constant log(2π)/2 (full=True)." if full else "."),
        args=(Arg("input", x, "predicted means, any shape"),
              Arg("target", y, "observations, the shape of input"),
              Arg("var", v, "predicted variances >= 0: the shape of input, or that shape without its"
                  " last dim, or with one dim of size 1, or a Python number", test_domain="positive",
                  layout="var", domain=NONNEG, domain_nan_ok=True)),
        params=(Param("full", False, "add the constant log(2π)/2", kind="bool"),
                Param("eps", 1e-6, "lower clamp for var", symbol=eps, test_range=(1e-8, 1e-4))),
        definition=definition,
        closed_forms=(ClosedForm("var", (1 / vc - (x - y) ** 2 / vc ** 2) / 2,
                                 r"\frac{\partial \ell}{\partial v} = \frac12\Bigl(\frac1{\max(v,\epsilon)}"
                                 r" - \frac{(x-y)^2}{\max(v,\epsilon)^2}\Bigr)",
                                 why="Equal to SymPy's derivative where var > eps; below eps it is"
                                 " what torch returns (see the convention)."),),
        conventions=(
            Convention("d/dvar where var <= eps is taken at eps, not 0", v <= eps,
                       # (1 - d²/eps)/(2·eps), not (eps - d²)/(2·eps²): eps² overflows for
                       # eps > 1.3e154 (a float parameter), and the gradient came out 0 there
                       {"var": (1 - (x - y) ** 2 / eps) / (2 * eps)},
                       "torch clamps var to eps in place under torch.no_grad(), on a clone, so"
                       " autograd never sees the clamp: the gradient reaching var is the"
                       " derivative at the clamped value eps, where the derivative of the clamped"
                       " definition is 0 (and Heaviside(0) = 1/2 at var == eps).",
                       point={"input": 1.0, "target": 0.0, "var": 1e-8}),
        ),
        reduction=True,
        variant_of=("gaussian_nll_loss", {"full": True}) if full else None,
        notes=(("Reached as gaussian_nll_loss(..., full=True).",) if full else
               ("var < 0 raises, naming var (torch raises ValueError too); NaN passes, as in torch.",
                "var may have input's shape, input's shape without the last dim, input's shape with"
                " one dim of size 1, or be a Python number; its gradient is summed over the"
                " broadcast axes.")),
    )


OPS: list[PointwiseOp] = [
    PointwiseOp(
        name="mse_loss", family=FAMILY, latex_name=r"\operatorname{mse}",
        summary="Squared error (input - target)^2.",
        args=(INPUT, TARGET), params=(),
        definition=(x - y) ** 2,
        reduction=True, weight=True, weight_mean="weight_sum", weight_grad=True,
        signature=("reduction", "weight"),
        notes=("With weight, torch (Python code in torch.nn.functional) returns sum(w·l)/sum(w) for"
               " reduction='mean', and differentiates the weight as well.",),
    ),
    PointwiseOp(
        name="l1_loss", family=FAMILY, latex_name=r"\operatorname{l1}",
        summary="Absolute error |input - target|.",
        args=(INPUT, TARGET), params=(),
        definition=sp.Abs(x - y),
        conventions=(
            Convention("l1'(0) = 0 where input == target", sp.Eq(x, y),
                       {"input": sp.S.Zero, "target": sp.S.Zero},
                       "torch's backward is sign(input - target) and sign(0) = 0 (SymPy's sign"
                       " agrees; declared so the kink is checked at the exact point).",
                       point={"input": 0.5, "target": 0.5}),
            L1_NAN,
        ),
        reduction=True, weight=True, weight_mean="weight_sum", weight_grad=True,
        signature=("reduction", "weight"),
        notes=("With weight, reduction='mean' is sum(w·l)/sum(w), as for mse_loss; the weight is"
               " differentiated too.",),
    ),
    PointwiseOp(
        name="smooth_l1_loss", family=FAMILY, latex_name=r"\operatorname{smooth\_l1}",
        summary="Squared error / (2 beta) for |input - target| < beta, |input - target| - beta/2 beyond.",
        args=(INPUT, TARGET),
        params=(SMOOTH_L1_BETA,),
        definition=sp.Piecewise(((x - y) ** 2 / (2 * beta), sp.Abs(x - y) < beta),
                                (sp.Abs(x - y) - beta / 2, True)),
        closed_forms=(
            ClosedForm("input", sp.Piecewise(((x - y) / beta, sp.Abs(x - y) < beta), (sp.sign(x - y), True)),
                       r"\frac{\partial\ell}{\partial x} = \frac{x - y}{\beta}\ (|x - y| < \beta),"
                       r"\ \operatorname{sign}(x - y)\ \text{beyond}",
                       why="SymPy's raw form multiplies by 1/(2 beta), computed alone on the Python"
                       " float beta: for beta < 1.5e-39 that factor overflows float32 to inf, and"
                       " 0·inf = NaN at input == target; dividing the array by beta, as torch does,"
                       " gives 0."),
            ClosedForm("target", -sp.Piecewise(((x - y) / beta, sp.Abs(x - y) < beta), (sp.sign(x - y), True)),
                       r"\frac{\partial\ell}{\partial y} = -\frac{\partial\ell}{\partial x}"),
        ),
        conventions=(
            Convention("smooth_l1' = ±1 at |input - target| == beta", sp.Eq(sp.Abs(x - y), beta),
                       {"input": sp.Piecewise((1, x - y > 0), (-1, True)),
                        "target": sp.Piecewise((-1, x - y > 0), (1, True))},
                       "the loss is C^1 there, both branches giving ±1 = (input - target)/beta."
                       " The value is written as torch's vectorised kernel computes it where"
                       " |d| >= beta: d > 0 ? 1 : -1, which also decides the one case where it"
                       " matters, beta so small that it rounds to 0 in float32, at d = 0: -1 (its"
                       " scalar path, used for short arrays and tails, gives 0 there).",
                       point={"input": 1.5, "target": 0.5}, params={"beta": 1.0}),
        ),
        reduction=True,
        signature=("reduction", "beta"),
        notes=("beta < 0 raises, as in torch; beta == 0 is l1_loss (torch switches to it, and so"
               " does nnref: see its variant smooth_l1_loss(beta=0.0) below).",
               "torch itself is inconsistent for float32 input when 0 < beta < 7e-46 (beta rounds"
               " to 0 in float32 but is not 0.0): at input == target its vectorised kernel returns"
               " -1 and its scalar tail 0, depending on the element's position; nnref follows the"
               " vectorised kernel.",),
    ),
    PointwiseOp(
        name="smooth_l1_loss_beta0", family=FAMILY, latex_name=r"\operatorname{smooth\_l1}_{\beta=0}",
        summary="smooth_l1_loss with beta == 0: the absolute error |input - target|.",
        args=(INPUT, TARGET),
        params=(SMOOTH_L1_BETA,),
        definition=sp.Abs(x - y),
        conventions=(
            Convention("smooth_l1'(0) = 0 when beta == 0", sp.Eq(x, y),
                       {"input": sp.S.Zero, "target": sp.S.Zero},
                       "torch computes beta == 0 as l1_loss, whose derivative at 0 is sign(0) = 0.",
                       point={"input": 0.5, "target": 0.5}),
            L1_NAN,
        ),
        reduction=True,
        signature=("reduction", "beta"),
        variant_of=("smooth_l1_loss", {"beta": 0.0}),
        notes=("torch.nn.functional.smooth_l1_loss calls l1_loss when beta == 0.0, so the general"
               " formula (which divides by beta) is never evaluated there.",),
    ),
    PointwiseOp(
        name="huber_loss", family=FAMILY, latex_name=r"\operatorname{huber}",
        summary="Squared error / 2 for |input - target| < delta, delta·(|input - target| - delta/2) beyond.",
        args=(INPUT, TARGET),
        params=(Param("delta", 1.0, "where the quadratic turns linear, > 0", domain=POSITIVE,
                      symbol=delta, test_range=(0.1, 3.0)),),
        definition=sp.Piecewise(((x - y) ** 2 / 2, sp.Abs(x - y) < delta),
                                (delta * (sp.Abs(x - y) - delta / 2), True)),
        conventions=(
            Convention("huber' = ±delta at |input - target| == delta", sp.Eq(sp.Abs(x - y), delta),
                       {"input": delta * sp.sign(x - y), "target": -delta * sp.sign(x - y)},
                       "the loss is C^1 there: torch's backward uses input - target on the closed"
                       " interval, which is ±delta at the ends, the slope of the linear branch.",
                       point={"input": 1.5, "target": 0.5}, params={"delta": 1.0}),
        ),
        reduction=True, weight=True, weight_mean="numel", weight_grad=True,
        signature=("reduction", "delta", "weight"),
        notes=("With weight, torch's reduction='mean' is (w·l).mean(): it divides by the element"
               " count, not by sum(w) as mse_loss and l1_loss do; the weight is differentiated too.",),
    ),
    PointwiseOp(
        name="binary_cross_entropy", family=FAMILY, latex_name=r"\operatorname{bce}",
        extended=("vjp",),
        extended_reason="the derivative's quotient of differences rounds to 2.8 ulp in float64.",
        summary="Binary cross-entropy -(y·log p + (1 - y)·log(1 - p)), each log clamped at >= -100.",
        args=(Arg("input", x, "probabilities p in [0, 1], any shape", test_domain="unit", domain=UNIT),
              Arg("target", y, "targets in [0, 1], the shape of input", test_domain="unit", domain=UNIT)),
        params=(),
        definition=(y - 1) * sp.Max(sp.log(1 - x), -100) - y * sp.Max(sp.log(x), -100),
        rewrite=Rewrite((y - 1) * sp.Max(log1p(-x), -100) - y * sp.Max(sp.log(x), -100),
                        "log(1 - p) loses relative precision as p shrinks (all of it for"
                        " p < 1.1e-16, where 1 - p rounds to 1: the loss at y = 0 would be 0, not"
                        " p); log1p(-p) keeps it, as torch's kernel does."),
        closed_forms=(
            ClosedForm("input", (x - y) / (x * (1 - x)), r"\frac{\partial\ell}{\partial p} = \frac{p - y}{p(1-p)}",
                       why="Equal to SymPy's derivative of the clamped definition wherever neither log"
                       " is clamped (e^{-100} < p < 1 - e^{-100}); torch's floor on the denominator"
                       " is the first convention."),
            ClosedForm("target", -sp.log(x / (1 - x)), r"\frac{\partial\ell}{\partial y} = -\operatorname{logit}(p)",
                       why="torch's target gradient, -logit(p) = -log(p/(1-p)), computed without the"
                       " -100 clamps; equal to SymPy's derivative where no clamp is active."),
        ),
        conventions=(
            Convention("d/dinput divides by max(p(1-p), 1e-12)", x * (1 - x) < BCE_EPS,
                       {"input": (x - y) / sp.Max(x * (1 - x), BCE_EPS)},
                       "torch's backward is (p - y)/max((1 - p)·p, EPSILON), EPSILON = 1e-12 (held"
                       " as float32: 9.999999960041972e-13); this is not the derivative of its"
                       " clamped forward, whose logs are clamped only below e^{-100}: for"
                       " p(1-p) < 1e-12 torch's gradient is finite and large, e.g. -5.00000002e11 at"
                       " p = 0, y = 0.5.", point={"input": 0.0, "target": 0.25}),
            Convention("d/dtarget ignores the -100 clamps", sp.Or(sp.log(x) < -100, sp.log(1 - x) < -100),
                       {"target": -sp.log(x / (1 - x))},
                       "torch's target gradient is -logit(p), unclamped: +inf at p = 0, -inf at"
                       " p = 1, 115.13 at p = 1e-50, where the derivative of the clamped forward"
                       " would be ±100.", point={"input": 1e-50, "target": 0.5}),
        ),
        reduction=True, weight=True, weight_layout="broadcast",
        near_zero=(NearZero("target", sp.Abs(x - sp.Rational(1, 2)) < sp.Rational(1, 16),
                            sp.Abs(sp.log(x)) + sp.Abs(sp.log(1 - x)),
                            "−logit(p) = log(1 − p) − log(p) is 0 at p = 1/2, where the two logs (each"
                            " ≈ 0.69) cancel: the error there is held to 2·eps times their size."),),
        notes=("input or target outside [0, 1] (or NaN) raises, naming the argument; torch raises"
               " RuntimeError('all elements of input should be between 0 and 1') likewise.",
               "weight broadcasts to input and is not differentiated (torch refuses a weight that"
               " requires grad); reduction='mean' divides by the element count."),
    ),
    PointwiseOp(
        name="binary_cross_entropy_with_logits", family=FAMILY, latex_name=r"\operatorname{bce\_logits}",
        extended=("vjp",),
        extended_reason="σ(x) - y cancels where y ≈ σ(x) (4.1 ulp in float64).",
        summary="Binary cross-entropy of sigmoid(input): (1 - y)·x - (1 + (pos_weight - 1)·y)·log σ(x).",
        args=(Arg("input", x, "logits, any shape"),
              Arg("target", y, "targets (usually in [0, 1]), the shape of input", test_domain="unit"),
              Arg("pos_weight", pw, "weight of the positive term, broadcast to input (shape (C,) for"
                  " input (..., C)); None means 1", grad=False, test_domain="positive",
                  layout="broadcast", optional=1.0)),
        params=(),
        definition=(1 - y) * x - (1 + (pw - 1) * y) * sp.log(1 / (1 + sp.exp(-x))),
        rewrite=Rewrite((1 - y) * (log1p(sp.exp(-sp.Abs(x))) + sp.Max(x, 0))
                        + pw * y * (log1p(sp.exp(-sp.Abs(x))) + sp.Max(-x, 0)),
                        "(1 − y)·softplus(x) + p_w·y·softplus(−x), each softplus as max(z, 0) +"
                        " log1p(e^{−|z|}): no exponential of a positive number (e^{−x} overflows for"
                        " x < −709), and no difference of large terms (torch's (1 − y)·x + …·softplus(−x)"
                        " cancels to 0 for y = 0, x = −708 where the loss is e^{−708})."),
        closed_forms=(
            ClosedForm("input", (1 - y) * stable_sigmoid(x) - pw * y * stable_sigmoid(-x),
                       r"\frac{\partial\ell}{\partial x} = (1 - y)\,\sigma(x) - p_w y\,\sigma(-x)",
                       why="The raw derivative contains e^{-x}/(1 + e^{-x}), inf/inf = NaN at"
                       " x = -1e4; torch's (p_w y + 1 − y)σ(x) − p_w y cancels for y = 1 at large x"
                       " (σ(x) − 1 rounds to 0 where the truth is −σ(−x)); this form does neither."),
            ClosedForm("target", sp.Piecewise((-x, sp.Eq(pw, 1)),
                                              (stable_log_sigmoid(-x) - pw * stable_log_sigmoid(x), True)),
                       r"\frac{\partial\ell}{\partial y} = \log\sigma(-x) - p_w\log\sigma(x)"
                       r"\ (= -x \text{ for } p_w = 1)",
                       why="torch's two forms: -x without pos_weight, log σ(-x) - p_w log σ(x) with"
                       " it (they agree at p_w = 1, also at x = ±inf, where -x - (p_w - 1) log σ(x)"
                       " would give inf - 0·inf = NaN); the raw derivative contains"
                       " log(1/(1 + e^{-x})) = log(0) at x = -1e4, the stable log σ does not."),
        ),
        reduction=True, weight=True, weight_layout="broadcast",
        signature=("weight", "reduction", "pos_weight"),
        near_zero=(NearZero("input", (y > 0) & (y < 1)
                            & (sp.Abs((1 - y) * stable_sigmoid(x) - pw * y * stable_sigmoid(-x))
                               < ((1 - y) + pw * y) / 16),
                            (1 - y) * stable_sigmoid(x) + pw * y * stable_sigmoid(-x),
                            "for a target strictly between 0 and 1 the gradient is 0 where σ(x) equals the"
                            " (weighted) target: its two terms cancel there, and the error is held to"
                            " 2·eps times their size."),),
        notes=("weight and pos_weight broadcast to input and are not differentiated (torch refuses"
               " them with requires_grad); reduction='mean' divides by the element count.",),
    ),
    _kl(False),
    _kl(True),
    _poisson("poisson_nll_loss", True, False),
    _poisson("poisson_nll_loss_full", True, True),
    _poisson("poisson_nll_loss_rate", False, False),
    _poisson("poisson_nll_loss_rate_full", False, True),
    PointwiseOp(
        name="hinge_embedding_loss", family=FAMILY, latex_name=r"\operatorname{hinge\_embedding}",
        summary="input where target == 1, max(0, margin - input) where target == -1.",
        args=(INPUT, Arg("target", y, "labels: 1 or -1 (other values take both terms, as in torch)",
                         grad=False, test_domain="sign")),
        params=(Param("margin", 1.0, "margin for the target == -1 term", domain=R, symbol=margin,
                      test_range=(-1.0, 2.0)),),
        definition=sp.Piecewise((sp.Max(margin - x, 0), sp.Ne(y, 1)), (0, True))
        + sp.Piecewise((x, sp.Ne(y, -1)), (0, True)),
        rewrite=Rewrite(sp.Piecewise((x, sp.Eq(y, 1)), (sp.Max(margin - x, 0), sp.Eq(y, -1)),
                                     (sp.Max(margin, x), True)),
                        "the same function: for a target other than ±1 both terms apply and"
                        " max(margin − x, 0) + x = max(margin, x), which torch's sum loses to"
                        " cancellation (margin 1, x = −1e74 gives 0 instead of 1)."),
        conventions=(
            Convention("hinge(−inf) = NaN for a target other than ±1",
                       IsInf(x) & (x < 0) & sp.Ne(y, 1) & sp.Ne(y, -1), {},
                       "torch adds the two terms, inf + (−inf) = NaN; nnref keeps IEEE's value there"
                       " (the limit would be margin).", point={"input": float("-inf"), "target": 0.0},
                       value=sp.nan),
            Convention("hinge' = -1 at input == margin (target != 1)", sp.Eq(x, margin),
                       {"input": sp.Piecewise((-1, sp.Ne(y, 1)), (0, True))
                        + sp.Piecewise((1, sp.Ne(y, -1)), (0, True))},
                       "torch computes (margin - input).clamp_min(0), whose backward passes the"
                       " gradient where margin - input >= 0 (closed), so the slope at the kink is"
                       " -1, not SymPy's Heaviside(0) = 1/2.",
                       point={"input": 1.0, "target": -1.0}, params={"margin": 1.0}),
            Convention("hinge'(NaN) takes no gradient from the margin term", IsNaN(x),
                       {"input": sp.Piecewise((1, sp.Ne(y, -1)), (0, True))},
                       "clamp_min's backward tests margin - input >= 0, which NaN fails, so only"
                       " the identity term (target != -1) passes the upstream gradient.",
                       point={"input": float("nan"), "target": 1.0}),
        ),
        reduction=True,
        notes=("torch writes it as where(target != 1, clamp_min(margin - x, 0), 0) +"
               " where(target != -1, x, 0); the definition keeps those tests, so a target that is"
               " neither 1 nor -1 gets both terms, as in torch.",
               "target is not differentiated: it only enters through comparisons."),
    ),
    PointwiseOp(
        name="soft_margin_loss", family=FAMILY, latex_name=r"\operatorname{soft\_margin}",
        extended=("vjp",),
        extended_reason="-y·σ(-yx) rounds to 2.9 ulp in float64 through its chain of operations.",
        summary="Logistic loss log(1 + exp(-target·input)) for labels ±1.",
        args=(INPUT, Arg("target", y, "labels, usually 1 or -1, the shape of input", grad=False,
                         test_domain="sign")),
        params=(),
        definition=sp.log(1 + sp.exp(-y * x)),
        rewrite=Rewrite(sp.Max(-y * x, 0) + log1p(sp.exp(-sp.Abs(y * x))),
                        "log(1 + e^{-yx}) overflows e^{-yx} for -yx > 709.78 (float64) and > 88.72"
                        " (float32): torch's kernel returns inf there (and a NaN gradient); this"
                        " form returns the finite value."),
        closed_forms=(ClosedForm("input", -y * stable_sigmoid(-y * x),
                                 r"\frac{\partial\ell}{\partial x} = -y\,\sigma(-yx)",
                                 why="The raw derivative -y e^{-yx}/(1 + e^{-yx}) is inf/inf = NaN"
                                 " where e^{-yx} overflows."),),
        conventions=(
            Convention("soft_margin' is NaN where -target·input = +inf", IsInf(x * y) & (x * y < 0),
                       {"input": sp.nan},
                       "IEEE special values follow torch: its backward -y·z/(1 + z) with"
                       " z = e^{-y x} = inf is inf/inf = NaN at an infinite input (the limit"
                       " would be -y).", point={"input": float("-inf"), "target": 1.0}),
        ),
        reduction=True,
        crosscheck_max_abs={"float64": 700.0, "float32": 85.0},
        notes=("Deliberate difference from torch: where -target·input exceeds log(float max)"
               " (709.78 in float64, 88.72 in float32), torch's log1p(exp(z)) returns inf and its"
               " backward NaN; nnref returns the exact finite loss and gradient.",
               "target is not differentiated (torch refuses a target that requires grad)."),
    ),
    PointwiseOp(
        name="margin_ranking_loss", family=FAMILY, latex_name=r"\operatorname{margin\_ranking}",
        summary="max(0, -target·(input1 - input2) + margin): target 1 wants input1 ranked higher.",
        args=(Arg("input1", x1, "first scores, any shape"),
              Arg("input2", x2, "second scores, the shape of input1"),
              Arg("target", y, "1 or -1, the shape of input1", test_domain="sign")),
        params=(Param("margin", 0.0, "required gap", domain=R, symbol=margin, test_range=(-1.0, 2.0)),),
        definition=sp.Max(-y * (x1 - x2) + margin, 0),
        closed_forms=tuple(
            ClosedForm(name, factor * MR_MASK, label, why=MR_WHY if name == "input1" else "")
            for name, factor, label in (
                ("input1", -y, r"\frac{\partial\ell}{\partial x_1} = -y\,[z \ge 0]"),
                ("input2", y, r"\frac{\partial\ell}{\partial x_2} = y\,[z \ge 0]"),
                ("target", -(x1 - x2), r"\frac{\partial\ell}{\partial y} = -(x_1 - x_2)\,[z \ge 0]"))),
        conventions=(
            Convention("margin_ranking' passes the gradient at the kink", sp.Eq(-y * (x1 - x2) + margin, 0),
                       {"input1": -y, "input2": y, "target": -(x1 - x2)},
                       "torch computes (-target·(input1 - input2) + margin).clamp_min_(0), whose"
                       " backward passes the gradient where its argument >= 0 (closed), so the"
                       " slopes at the kink are those of the linear branch, not Heaviside(0) = 1/2"
                       " of them.", point={"input1": 1.0, "input2": 0.0, "target": 1.0},
                       params={"margin": 1.0}),
        ),
        reduction=True,
        near_zero=(NearZero("value",
                            sp.Abs(-y * (x1 - x2) + margin) < (sp.Abs(x1) + sp.Abs(x2) + sp.Abs(margin)) / 8,
                            sp.Abs(x1) + sp.Abs(x2) + sp.Abs(margin),
                            "near the kink −target·(input1 − input2) + margin sums terms that cancel: its"
                            " rounding is up to eps times their size, held to 2·eps·(|x₁| + |x₂| + |margin|)."),),
        notes=("target is differentiated, as torch does (the loss is a product in it).",
               "With a NaN argument the mask [z >= 0] is 0 and each gradient is that 0 times the"
               " product's other factor: 0 (signed) where that factor is finite, NaN where it is"
               " NaN or infinite, as in torch.",),
    ),
    _gaussian(False),
    _gaussian(True),
]
