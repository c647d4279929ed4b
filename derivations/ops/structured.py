"""Ops that mix elements: softmax, log_softmax, the dense layer, class-probability losses.

Each op is described by
* ``definition``: the textbook formula on small arrays of SymPy symbols (what the docs
  show and what SymPy differentiates), and
* ``forward`` / ``vjp``: the engine as a short list of steps.  A step is an elementwise
  SymPy formula, a reduction (sum or max along the op's axis, keeping the axis), or a
  contraction (an einsum over named arrays).  The code printer turns each step into one
  line of NumPy.

``derive.prove_structured`` evaluates the steps on symbol arrays of several small
shapes and proves them equal to the definition and to SymPy's derivative of it.
Argument checking and the class-index plumbing of the losses live in
``nnref/_structured.py``; the mathematics is here only.

Owns: the records of the ops that mix elements (their definitions and engine steps).
Imports: ``derivations.spec``, SymPy and NumPy.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..spec import Arg, Convention, Param, Step, StructuredOp, Tol

x, g, w, b, t, cw = sp.symbols("x g weight bias target class_weight", real=True)
m, e, s, p, gp, sg, st, out = sp.symbols("m e s p gp sg st out", real=True)


def _softmax_def(arrs: dict[str, np.ndarray], axis: int) -> np.ndarray:
    xs = arrs["x"]
    ex = np.vectorize(sp.exp, otypes=[object])(xs)
    return ex / ex.sum(axis=axis, keepdims=True)


def _log_softmax_def(arrs: dict[str, np.ndarray], axis: int) -> np.ndarray:
    return np.vectorize(sp.log, otypes=[object])(_softmax_def(arrs, axis))


def _linear_def(arrs: dict[str, np.ndarray], axis: int) -> np.ndarray:
    xs, ws, bs = arrs["x"], arrs["weight"], arrs["bias"]
    n, i = xs.shape
    o = ws.shape[0]
    return np.array([[sum(xs[a, k] * ws[c, k] for k in range(i)) + bs[c] for c in range(o)] for a in range(n)],
                    dtype=object)


def _class_loss_def(arrs: dict[str, np.ndarray], axis: int) -> np.ndarray:
    logp = _log_softmax_def(arrs, axis)
    return -(arrs["class_weight"] * arrs["target"] * logp).sum(axis=axis, keepdims=True)


def _nll_def(arrs: dict[str, np.ndarray], axis: int) -> np.ndarray:
    return -(arrs["class_weight"] * arrs["target"] * arrs["x"]).sum(axis=axis, keepdims=True)


# torch stores its epsilon as the float32 literal 1e-12f, i.e. 9.99999996e-13; nnref uses
# that exact binary value so both compute the same function (1e-12 itself differs in the
# 9th digit for zero vectors).
COSINE_EPS = sp.Rational(float(np.float32(1e-12)))
x1, x2, y, margin, prod, m1, m2, cos, dcos = sp.symbols("x1 x2 y margin prod m1 m2 cos dcos", real=True)


def _cosine_def(arrs: dict[str, np.ndarray], axis: int) -> np.ndarray:
    a, c = arrs["x1"], arrs["x2"]
    pr = (a * c).sum(axis=axis, keepdims=True)
    n1 = (a * a).sum(axis=axis, keepdims=True) + COSINE_EPS
    n2 = (c * c).sum(axis=axis, keepdims=True) + COSINE_EPS
    cs = pr / np.vectorize(sp.sqrt, otypes=[object])(n1 * n2)
    yy = arrs["y"]
    f = np.vectorize(lambda c_, y_: sp.Piecewise((1 - c_, sp.Eq(y_, 1)), (0, True))
                     + sp.Piecewise((sp.Max(0, c_ - margin), sp.Eq(y_, -1)), (0, True)), otypes=[object])
    return f(cs, yy)


# log Σ_j e^{x_j − m} = log1p(Σ_{x_j < m} e^{x_j − m} + k − 1), k the number of entries equal
# to m: the 1 that the maximum contributes is taken out of the sum, so a dominant entry's
# log-probability −log1p(tiny) keeps its digits (log(1 + tiny) rounds to 0).
# (k − 1 is its own step: SymPy orders a sum's terms itself, and k + sl − 1 would round sl away.)
k, sl, gr, d, ties, hit, z, r, wt = sp.symbols("k sl gr d ties hit z r wt", real=True)
_log_softmax_forward = (
    Step("m", x, reduce="max"),
    # x − m and its exponential once each, shared by the two sums and the result
    Step("z", x - m),
    Step("e", sp.exp(z)),
    Step("sl", sp.Piecewise((e, x < m), (0, True)), reduce="sum"),
    # e^{x − m} = 1 at a maximal entry; summed as such so that a row whose maximum is +inf
    # gets e^{inf − inf} = NaN throughout, as the sum over every entry gives (and torch).
    Step("k", sp.Piecewise((e, sp.Eq(x, m)), (0, True)), reduce="sum"),
    Step("ties", k - 1),
    Step("out", z - log1p(sl + ties)),
)

OPS: list[StructuredOp] = [
    StructuredOp(
        name="softmax", family="activation",
        summary="Normalised exponentials along one dimension.",
        inputs=(Arg("input", x, "input array"),),
        params=(Param("dim", None, "the dimension to normalise over (required)", kind="int"),),
        definition_latex=r"\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}",
        definition=_softmax_def,
        forward=(Step("m", x, reduce="max"), Step("e", sp.exp(x - m)), Step("s", e, reduce="sum"),
                 Step("out", e / s)),
        # p·(g − ⟨g, p⟩) = p·(d − ⟨d, p⟩) with d = g − g_r for any g_r (Σ p = 1): g_r, the
        # largest g among the row's maximal entries (an entry of g, so no rounding), makes d small
        # where g is nearly constant, and the difference keeps the digits that ⟨g, p⟩'s
        # rounding would take.
        vjp=(Step("m", x, reduce="max"), Step("e", sp.exp(x - m)), Step("s", e, reduce="sum"),
             Step("p", e / s), Step("gr", sp.Piecewise((g, sp.Eq(x, m)), (-sp.oo, True)), reduce="max"),
             Step("d", g - gr),
             Step("gp", d * p, reduce="sum"), Step("grad_input", p * (d - gp))),
        instances=({"x": (3,)}, {"x": (2, 3)}, {"x": (1,)}),
        closed_forms=((r"\frac{\partial \langle g, p\rangle}{\partial x_i} = p_i\,(g_i - \textstyle\sum_j g_j p_j)",
                       "the vector-Jacobian product of softmax"),),
        notes=("Subtracting the maximum first leaves the result unchanged (the factor e^{-m}"
               " cancels) and keeps every exponent <= 0, so nothing overflows.",
               "dim is required: torch's implicit choice of dim is deprecated."),
        kernel_args=("x",),
    ),
    StructuredOp(
        name="log_softmax", family="activation",
        summary="Logarithm of softmax, computed without forming softmax.",
        inputs=(Arg("input", x, "input array"),),
        params=(Param("dim", None, "the dimension to normalise over (required)", kind="int"),),
        definition_latex=r"\operatorname{log\_softmax}(x)_i = x_i - \log\sum_j e^{x_j}",
        definition=_log_softmax_def,
        forward=_log_softmax_forward,
        vjp=_log_softmax_forward + (Step("sg", g, reduce="sum"), Step("grad_input", g - sp.exp(out) * sg)),
        instances=({"x": (3,)}, {"x": (2, 3)}, {"x": (1,)}),
        closed_forms=((r"\frac{\partial \langle g, \log p\rangle}{\partial x_i} = g_i - p_i \textstyle\sum_j g_j",
                       "the vector-Jacobian product of log_softmax"),),
        notes=("log-sum-exp with the maximum taken out: x - m - log(sum(e^{x-m})) is finite for"
               " any finite x, including 1e308, where e^x overflows.",),
        kernel_args=("x",),
    ),
    StructuredOp(
        name="linear", family="linear",
        summary="The dense layer (a row of neurons): y = x Wᵀ + b.",
        inputs=(Arg("input", x, "input, shape (..., in_features)"),
                Arg("weight", w, "weights, shape (out_features, in_features)"),
                Arg("bias", b, "optional bias, shape (out_features,)")),
        params=(),
        definition_latex=r"y_{n,o} = \sum_i x_{n,i}\,W_{o,i} + b_o",
        definition=_linear_def,
        forward=(Step("out", contract=("...i,oi->...o", ("x", "weight"))), Step("out", out + b)),
        vjp=(Step("grad_input", contract=("...o,oi->...i", ("g", "weight"))),
             Step("grad_weight", contract=("...o,...i->oi", ("g", "x"))),
             Step("grad_bias", contract=("...o->o", ("g",)))),
        instances=({"x": (2, 3), "weight": (2, 3), "bias": (2,)}, {"x": (1, 1), "weight": (3, 1), "bias": (3,)},
                   {"x": (3, 2), "weight": (1, 2), "bias": (1,)}),
        closed_forms=((r"\frac{\partial L}{\partial W} = \sum_n \delta_n x_n^{\mathsf T}", "weight gradient"),
                      (r"\frac{\partial L}{\partial b} = \sum_n \delta_n", "bias gradient"),
                      (r"\frac{\partial L}{\partial x_n} = W^{\mathsf T}\delta_n", "input gradient")),
        notes=("δ is the upstream gradient ∂L/∂y (grad_output).  The contractions run as"
               " numpy.einsum, which calls BLAS for these shapes.",),
        kernel_args=("x", "weight", "bias"),
    ),
    StructuredOp(
        name="cross_entropy", family="loss",
        summary="Log-softmax followed by the negative log-likelihood of the target classes.",
        inputs=(Arg("input", x, "logits, shape (C,), (N, C) or (N, C, d1, ...)"),
                Arg("target", t, "class indices (N, d1, ...), or class probabilities (shape of input),"
                    " which are differentiable", kind="label")),
        params=(Param("weight", None, "per-class weights, shape (C,)", kind="optional_array"),
                Param("ignore_index", -100, "class index whose samples are skipped", kind="int"),
                Param("label_smoothing", 0.0, "mix targets with the uniform distribution",
                      domain=sp.Interval(0, 1), test_range=(0.0, 1.0))),
        definition_latex=r"\ell_n = -\sum_c w_c\, t_{n,c}\, \log \operatorname{softmax}(x_n)_c",
        definition=_class_loss_def,
        forward=_log_softmax_forward + (Step("out", sp.Piecewise((0, sp.Eq(t, 0)), (-cw * t * out, True)),
                                             reduce="sum"),),
        # At a one-hot target entry (w·t = Σ w t) the gradient w·(p − 1) cancels as p → 1 (a
        # confident right answer); there it is w·expm1(log p), equal and without cancellation.
        # Elsewhere p is e · (1 / Σ_j e_j) (the sum is sl + k; its reciprocal once per row): one
        # product where e^{log p} took a second exponential of every entry, and as accurate (both
        # carry the rounding of x − m, which the exponential makes relative; e^{log p} adds that of
        # log p's own subtraction, the product one rounding of the reciprocal).
        # w·t is 0 where t is, whatever w (0·inf would be NaN: a class weighted inf that a row does
        # not target must not turn the row's gradient into NaN; torch never reads its weight).
        vjp=_log_softmax_forward + (Step("wt", sp.Piecewise((0, sp.Eq(t, 0)), (cw * t, True))),
                                    Step("sg", wt, reduce="sum"), Step("st", t, reduce="sum"),
                                    Step("hit", sg * expm1(out)), Step("r", 1 / (sl + k)), Step("p", e * r),
                                    Step("grad_input", sp.Piecewise((0, sp.Eq(st, 0)),
                                                                    (g * hit, sp.And(sp.Eq(wt, sg), sp.Ne(t, 0))),
                                                                    (g * (p * sg - wt), True))),
                                    Step("grad_target", -g * cw * out)),
        instances=({"x": (2, 3), "target": (2, 3), "class_weight": (1, 3)},
                   {"x": (1, 2, 2), "target": (1, 2, 2), "class_weight": (1, 2, 1)}),
        axis=1,
        closed_forms=((r"\frac{\partial \ell}{\partial x} = p - y",
                       "for one-hot (or any probability) targets and no class weights: softmax"
                       " minus target"),
                      (r"\frac{\partial \ell_n}{\partial x_{n,c}} = p_{n,c} \sum_k w_k t_{n,k} - w_c t_{n,c}",
                       "with class weights")),
        notes=("The gradient with respect to probability targets is -g·w·log p, times (1 - ε) when"
               " label smoothing ε mixed them; class-index targets have none.",
               "Class-index targets become one-hot rows t (and label smoothing mixes in ε/C),"
               " so one formula serves both target kinds; they differ only in the 'mean'"
               " divisor: Σ_n w_{y_n} over non-ignored samples for indices, N for probabilities.",
               "When that divisor is 0 (every sample ignored, or zero weight on every target"
               " class), 'mean' is NaN, as in torch, whose NLL part is then 0/0.",),
        conventions=(
            Convention("a zero target entry contributes exactly 0", sp.Eq(t, 0), {},
                       "0·log 0 = 0: a class the target gives no mass adds nothing, even where its"
                       " log-probability is -inf (logits ±1e308). torch agrees for class-index"
                       " targets (it gathers the target entry); for probability targets it multiplies"
                       " and returns NaN there."),
            Convention("ignored samples get a zero gradient", sp.Eq(st, 0), {"input": sp.S.Zero},
                       "A sample whose target is ignore_index has an all-zero target row; torch"
                       " never writes a gradient into it, so it stays 0 even when 'mean' divides"
                       " by a zero total weight and the upstream gradient is NaN.",
                       where="the sample's target row is all zero (its class is ignore_index)"),
        ),
        reduction=True,
        kernel_args=("x", "target", "class_weight"),
    ),
    StructuredOp(
        name="nll_loss", family="loss",
        summary="Negative log-likelihood of the target class, given log-probabilities.",
        inputs=(Arg("input", x, "log-probabilities, shape (C,), (N, C) or (N, C, d1, ...)"),
                Arg("target", t, "class indices, shape (N, d1, ...)", grad=False, kind="label")),
        params=(Param("weight", None, "per-class weights, shape (C,)", kind="optional_array"),
                Param("ignore_index", -100, "class index whose samples are skipped", kind="int")),
        definition_latex=r"\ell_n = -w_{y_n}\, x_{n, y_n}",
        definition=_nll_def,
        forward=(Step("out", -cw * t * x, reduce="sum"),),
        vjp=(Step("grad_input", sp.Piecewise((0, sp.Eq(t, 0)), (-g * cw * t, True))),),
        instances=({"x": (2, 3), "target": (2, 3), "class_weight": (1, 3)},
                   {"x": (1, 2, 2), "target": (1, 2, 2), "class_weight": (1, 2, 1)}),
        axis=1,
        closed_forms=((r"\frac{\partial \ell_n}{\partial x_{n,c}} = -w_c [c = y_n]", "one-hot gradient"),),
        conventions=(
            Convention("non-target entries get a zero gradient", sp.Eq(t, 0), {"input": sp.S.Zero},
                       "torch scatters the gradient into the target entry only, so every other"
                       " entry (and every ignored sample) is exactly 0, even when 'mean' divides by a"
                       " zero total weight and the target entry's gradient is NaN."),
        ),
        notes=("With every sample ignored (or zero total weight), 'mean' is 0/0 = NaN, as in torch.",),
        reduction=True,
        kernel_args=("x", "target", "class_weight"),
    ),
    StructuredOp(
        name="cosine_embedding_loss", family="loss",
        summary="1 - cos(x1, x2) for similar pairs, max(0, cos - margin) for dissimilar ones.",
        inputs=(Arg("input1", x1, "shape (N, D) or (D,)"), Arg("input2", x2, "shape of input1"),
                Arg("target", y, "labels ±1, shape (N,) or ()", grad=False, kind="label", test_domain="pm1")),
        params=(Param("margin", 0.0, "margin for dissimilar pairs, in [-1, 1]", domain=sp.Interval(-1, 1),
                      symbol=margin, test_range=(-1.0, 1.0)),),
        definition_latex=(r"\cos_n = \frac{\sum_d x_{1,nd} x_{2,nd}}{\sqrt{(\sum_d x_{1,nd}^2 + \epsilon)"
                          r"(\sum_d x_{2,nd}^2 + \epsilon)}},\quad \ell_n = \begin{cases} 1 - \cos_n & y_n = 1"
                          r" \\ \max(0, \cos_n - \text{margin}) & y_n = -1\end{cases}"),
        definition=_cosine_def,
        forward=(Step("prod", x1 * x2, reduce="sum"), Step("m1", x1 ** 2, reduce="sum"),
                 Step("m2", x2 ** 2, reduce="sum"),
                 Step("cos", prod / (sp.sqrt(m1 + COSINE_EPS) * sp.sqrt(m2 + COSINE_EPS))),
                 Step("out", sp.Piecewise((1 - cos, sp.Eq(y, 1)), (0, True))
                      + sp.Piecewise((sp.Max(0, cos - margin), sp.Eq(y, -1)), (0, True)))),
        vjp=(Step("prod", x1 * x2, reduce="sum"), Step("m1", x1 ** 2, reduce="sum"),
             Step("m2", x2 ** 2, reduce="sum"),
             Step("cos", prod / (sp.sqrt(m1 + COSINE_EPS) * sp.sqrt(m2 + COSINE_EPS))),
             Step("dcos", g * (sp.Piecewise((-1, sp.Eq(y, 1)), (0, True))
                               + sp.Piecewise((1, sp.Eq(y, -1) & (cos - margin >= 0)), (0, True)))),
             Step("grad_input1", dcos
                  * (x2 / (sp.sqrt(m1 + COSINE_EPS) * sp.sqrt(m2 + COSINE_EPS)) - cos * x1 / (m1 + COSINE_EPS))),
             Step("grad_input2", dcos * (x1 / (sp.sqrt(m1 + COSINE_EPS) * sp.sqrt(m2 + COSINE_EPS))
                                             - cos * x2 / (m2 + COSINE_EPS)))),
        # Labels are fixed numbers in the proof: a symbolic y would never equal ±1.
        instances=({"x1": (2,), "x2": (2,), "y": np.array([1])}, {"x1": (2,), "x2": (2,), "y": np.array([-1])},
                   {"x1": (2, 3), "x2": (2, 3), "y": np.array([[1], [-1]])}),
        closed_forms=((r"\frac{\partial \cos}{\partial x_1} = \frac{x_2}{\sqrt{m_1 m_2}} - \cos\,\frac{x_1}{m_1}",
                       "with m_k = Σ x_k² + ε"),),
        conventions=(
            Convention("gradient passes at cos = margin", sp.Eq(cos, margin), {"input1": sp.S.One},
                       "torch forms max(0, cos - margin) with clamp_min, whose backward keeps the"
                       " gradient where cos - margin >= 0, boundary included."),
        ),
        tolerances={"float64": Tol(1e-12, 1e-12, "the gradient is a difference of two terms of size"
                                   " ~1/|x| that cancel when x1 and x2 are nearly parallel; float64 keeps"
                                   " ~1e-16/|x| absolute accuracy, <= 1e-14 for |x| >= 1e-2, with headroom"),
                    "float32": Tol(1e-4, 1e-4, "the gradient is a difference of two terms of size"
                                   " ~1/|x| that cancel when x1 and x2 are nearly parallel; float32 keeps"
                                   " ~1e-7/|x| absolute accuracy, and the tests draw |x| >= 1e-2 or 0.")},
        notes=("The engine divides by √(m1+ε)·√(m2+ε) rather than √((m1+ε)(m2+ε)) as torch does: the"
               " product overflows float32 once |x| reaches about 1e10 (torch then returns cos = ±1),"
               " the two roots do not.",
               "ε = float32(1e-12) is added to each squared norm, as torch does, so a zero vector"
               " gives cos = 0 instead of 0/0.", "Labels other than ±1 contribute 0, as in torch."),
        reduction=True,
        kernel_args=("x1", "x2", "y"),
    ),
]
