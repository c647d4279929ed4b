"""Pooling in 1, 2 and 3 dimensions: the one description.

Pooling is convolution's sliding window with another reduction and no weights.  With the
same affine index as ``derivations/ops/conv.py`` (stride s, dilation d, low-side padding p per
spatial axis, every array reading as zero outside its index range),

    sum window:   S[n, c, i] = Σ_k x[n, c, s·i + d·k − p]
    avg_pool:     y[n, c, i] = S[n, c, i] / D(i)                    (d = 1, D the divisor)
    lp_pool:      y[n, c, i] = (K_tot / D(i) · Σ_k x[n, c, s·i + k]^P)^(1/P)
    max_pool:     y[n, c, i] = Σ_k χ[n, c, i, k] · x[n, c, s·i + d·k − p]

where χ is the one-hot *selector* of the window entry the tie rule picks: its first maximum
in row-major order (a NaN wins; padding never wins; see ``MAX_CONVENTIONS``, which also says
why this is torch's choice too).  χ is
piecewise constant in x, so away from ties ∂χ/∂x = 0 and the selector form has max's
derivative; at ties it *is* the convention.  Adaptive pooling replaces the affine window by
[⌊i·L/M⌋, ⌈(i+1)·L/M⌉), and max_unpool writes each value at its recorded index.

From this module:

* SymPy differentiates ⟨g, y⟩ with respect to an input entry (``derivations/affine.py``:
  ``sympy.diff`` then the Kronecker deltas summed out): the derived formulas in the docs;
* the output-size rule (with ceil_mode and dilation), the divisor D(i) as a piecewise count
  and the adaptive window bounds are SymPy expressions printed into
  ``nnref/_generated/pool.py``, and so are the window indices of every kernel;
* the kernels run on ``nnref/_window.py``, which reads windows with the same affine
  ``At`` indices as the convolution's gather and writes gradients back with the
  convolution's ``scatter`` (col2im): one piece of code for both.

Owns: the pooling records, their conventions, index formulas and derivatives, the size,
divisor and adaptive-window rules, and the reference loop for the tie rule.  Imports:
``derivations.spec``, ``derivations.affine``, ``.conv`` (shared axis symbols), SymPy, NumPy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from .. import affine
from ..spec import Arg, Derivation, Param, Tol
from .conv import AxisSymbols, Derived, axis_symbols, primed

FAMILY = "pooling"

x, g, chi, idx = (sp.IndexedBase(name) for name in ("x", "g", "chi", "idx"))
n, c = sp.symbols("n c", integer=True, nonnegative=True)
N, C = sp.symbols("N C", integer=True, positive=True)
P = sp.Symbol("P", positive=True)  # lp_pool's norm_type
D = sp.Function("D")  # the divisor of avg_pool at an output position
W = sp.Function("W")  # adaptive pooling's window indicator (see window_indicator)
Kt = sp.Symbol("K_tot", integer=True, positive=True)  # lp_pool: the number of taps of a full window


# ----------------------------------------------------------------------------- conventions


@dataclass(frozen=True)
class PoolConvention:
    """A rule calculus leaves open (which tied entry receives the gradient), torch's choice,
    and why; ``tests/test_pool_conventions.py`` checks each at hand-built inputs."""

    label: str
    rule: str
    why: str
    point: dict[str, float] = field(default_factory=dict)  # (pointwise-style points: none here)
    params: dict[str, float] = field(default_factory=dict)


MAX_CONVENTIONS = (
    PoolConvention(
        "tie: first maximum",
        "Among entries equal to the window's maximum, the first in row-major order (over the kernel"
        " offsets k) is chosen; it receives the whole gradient and its index is returned.",
        "torch's CPU kernel (aten/src/ATen/native/cpu/MaxPoolKernel.cpp) scans the window in row-major order"
        " and replaces the current choice only when a value is strictly greater. SymPy's derivative of Max"
        " splits a tie evenly (d/da max(a, b) = Heaviside(a − b), which is 1/2 at a = b)."),
    PoolConvention(
        "NaN wins: the last NaN",
        "A window containing NaN has the value NaN; the last NaN in row-major order is chosen and"
        " receives the gradient.",
        "torch replaces the choice when `val > maxval || isnan(val)`: after a NaN nothing compares"
        " greater, and every later NaN replaces it again (found by experiment on torch 2.13, CPU)."),
    PoolConvention(
        "padding never wins",
        "Padding is outside the window's candidates (not a −inf value): a window whose real entries"
        " are all −inf chooses its first real entry, never a padded position.",
        "torch starts each window at its first in-bounds entry with maxval = −inf and compares strictly."),
    PoolConvention(
        "overlapping windows accumulate",
        "When windows overlap (stride < kernel, or ceil_mode), an input entry chosen by several windows"
        " receives the sum of their gradients.",
        "The backward is the adjoint (scatter-add) of the forward's selection: Σ_i g[i]·χ[i, k]·[j = s·i + d·k − p]."),
)

LP_CONVENTIONS = (
    PoolConvention(
        "zero window: zero gradient",
        "Where a window's K_tot/D·Σx^P is exactly 0 (or negative), that window passes no gradient back.",
        "torch evaluates (sign(u)·relu(|u|))^(1/P); relu's derivative at 0 is 0, which masks the"
        " infinite (1/P)·u^(1/P − 1) there. For P = 1 this differs from the calculus answer (1)."),
    PoolConvention(
        "partial windows are rescaled",
        "With ceil_mode, a last window that overhangs the input is averaged over its in-bounds count"
        " D(i) and multiplied by the full kernel size K_tot: y = (K_tot/D(i)·Σ x^P)^(1/P), not (Σ x^P)^(1/P).",
        "torch computes lp_pool as avg_pool(x^P)·K_tot, and avg_pool with padding 0 divides an"
        " overhanging window by the entries inside the input."),
)

UNPOOL_CONVENTIONS = (
    PoolConvention(
        "duplicate indices: first write",
        "When two inputs of one plane carry the same index, nnref's output holds the first of them in"
        " row-major order; the backward sends the output's gradient at that index to both.",
        "torch leaves the choice unspecified: on torch 2.13's CPU kernel, [1, 2] at indices [1, 1] keeps 1"
        " and [1, 2, 3] at [1, 1, 3] keeps 2. Its backward gathers grad[indices] for every input, which"
        " is SymPy's derivative of the sum form Σ_i x[i]·[j = idx[i]]; nnref's backward does the same."
        " Indices from max_pool repeat only where windows overlap, and then carry equal values."),
)

CEIL_CONVENTION = PoolConvention(
    "ceil_mode drops a window starting in the padding",
    "ceil_mode rounds the output size up, so a last window may overhang the input; but a last window"
    " that would start in the right padding (s·(M − 1) − p >= L) is dropped, and every kept window"
    " reads at least one input entry.",
    "torch sizes pooling outputs this way (ONNX's current MaxPool text states the same rule); the closed form"
    " min(⌈(L + 2p − d(K − 1) − 1)/s⌉ + 1, ⌈(L + p)/s⌉) is derived in size_rule and checked against"
    " torch's two-step rule and its output shapes.")

ADAPTIVE_MAX_CONVENTIONS = MAX_CONVENTIONS[:2] + MAX_CONVENTIONS[3:]


# ----------------------------------------------------------------------------- tolerances

# Pooling's arithmetic is a selection (max: exact), or a sum of at most 64 window entries and
# one division (avg, adaptive avg), or that plus one power and one root (lp).  Finite values
# in the tests are at most 10 in magnitude (inputs) and 2 (upstream gradients); nnref adds a
# window's taps in row-major order, as torch's loops do, so the sums usually agree exactly.
TOLERANCES = {
    "exact": {dt: Tol(0.0, 0.0, "a copy: every output entry, and every gradient entry, is one input or"
                      " upstream-gradient entry (or 0)") for dt in ("float64", "float32")},
    "avg": {
        "float64": Tol(1e-13, 5e-12, "a sum of at most 64 window entries and a division, possibly added in"
                       " another order than torch's: at most 64·u·Σ|x| = 64·1.1e-16·640 ≈ 4.5e-12 (|x| <= 10),"
                       " which atol covers for windows that cancel; rtol a few ulp for the division"),
        "float32": Tol(2e-6, 3e-3, "the same worst case in float32 (u = 6e-8): 64·6e-8·640 ≈ 2.5e-3;"
                       " rtol covers the division's rounding (a few ulp)"),
    },
    "lp": {
        "float64": Tol(1e-12, 1e-12, "the avg bound plus x^P, the root and u^(1/P − 1), each within a few ulp"
                       " of the correctly rounded value; relative errors add (P <= 3, |x| <= 3 in the tests)"),
        "float32": Tol(2e-5, 2e-5, "as for float64 with float32's u = 6e-8 and torch's vectorised powf, which"
                       " differs from NumPy's by a few ulp; about 150 ulp allowed over the chain"),
    },
}


# Max-type ops: forward and indices are copies.  The backward sums, for an input entry
# chosen by several overlapping windows, at most 27 upstream-gradient entries (|g| <= 2 in
# the tests), in another order than torch: at most 27·u·54 in the worst case.
TOLERANCES["max"] = {
    "float64": Tol(1e-13, 1e-13, "forward and indices are copies (exact); the gradient of an entry chosen by"
                   " several overlapping windows is a sum of at most 27 upstream entries |g| <= 2 in another order"
                   " than torch's: <= 27·1.1e-16·54 ≈ 1.6e-13 in the worst case"),
    "float32": Tol(1e-5, 1e-5, "as for float64 with u = 6e-8: <= 27·6e-8·54 ≈ 8.7e-5 worst case, about"
                   " u·√27·54 ≈ 1.7e-5 typical; sums in the tests have a few terms"),
}


# ----------------------------------------------------------------------------- the ops


@dataclass
class PoolOp:
    name: str
    dims: int
    kind: str  # 'max' | 'avg' | 'lp' | 'adaptive_avg' | 'adaptive_max' | 'max_unpool'
    summary: str
    inputs: tuple[Arg, ...]
    params: tuple[Param, ...]
    tolerances: dict[str, Tol]
    conventions: tuple[PoolConvention, ...] = ()
    notes: tuple[str, ...] = ()
    family: str = FAMILY
    reduction: bool = False
    closed_forms: tuple[Any, ...] = ()

    printer: ClassVar[str] = "pool"
    renderer: ClassVar[str] = "pool"
    crosscheck: ClassVar[str] = "vjp"

    @property
    def public(self) -> str:
        return self.name

    def derivation(self) -> Derivation:
        """The index formula and SymPy's derivative of ⟨g, y⟩ at an input entry."""
        return Derivation(self.forward, {"input": self.gradient.formula})

    def tol(self, dtype: str) -> Tol:
        return self.tolerances[dtype]

    @property
    def differentiable(self) -> tuple[str, ...]:
        return ("input",)

    @cached_property
    def axes(self) -> tuple[AxisSymbols, ...]:
        return axis_symbols(self.dims)

    # ------------------------------------------------------------------ formulas

    def out_index(self) -> tuple[sp.Expr, ...]:
        return (n, c, *[ax.i for ax in self.axes])

    def out_limits(self) -> list[tuple[Any, ...]]:
        return [(n, 0, N - 1), (c, 0, C - 1), *[(ax.i, 0, ax.M - 1) for ax in self.axes]]

    def window(self) -> list[sp.Expr]:
        """The input index read by kernel offset k at output position i, per axis."""
        if self.kind in ("avg", "lp"):
            # avg_pool has no dilation; lp_pool neither, nor padding
            return [ax.s * ax.i + ax.k - (0 if self.kind == "lp" else ax.p) for ax in self.axes]
        return [ax.s * ax.i + ax.d * ax.k - ax.p for ax in self.axes]

    def kernel_limits(self) -> list[tuple[Any, ...]]:
        return [(ax.k, 0, ax.K - 1) for ax in self.axes]

    @cached_property
    def forward(self) -> sp.Expr:
        """y[n, c, i...] as an index formula (the form differentiated)."""
        A = self.axes
        ii = [ax.i for ax in A]
        kk = [ax.k for ax in A]
        win = x[(n, c, *self.window())]
        if self.kind == "max":
            return sp.Sum(chi[(n, c, *ii, *kk)] * win, *self.kernel_limits())
        if self.kind == "avg":
            return sp.Sum(win, *self.kernel_limits()) / D(*ii)
        if self.kind == "lp":
            return (Kt / D(*ii) * sp.Sum(win ** P, *self.kernel_limits())) ** (1 / P)
        if self.kind == "adaptive_avg":
            jj = [ax.j for ax in A]
            # W(i, j, L, M) = [⌊i·L/M⌋ ≤ j < ⌈(i+1)·L/M⌉], kept unevaluated so that sympy.diff
            # treats it as the constant it is (window_indicator gives its value)
            ind = sp.Mul(*(W(ax.i, ax.j, ax.L, ax.M) for ax in A))
            count = sp.Mul(*(e - b for b, e in (adaptive_bounds(ax.i, ax.L, ax.M) for ax in A)))
            return sp.Sum(x[(n, c, *jj)] * ind, *[(ax.j, 0, ax.L - 1) for ax in A]) / count
        if self.kind == "adaptive_max":
            jj = [ax.j for ax in A]
            return sp.Sum(chi[(n, c, *ii, *jj)] * x[(n, c, *jj)], *[(ax.j, 0, ax.L - 1) for ax in A])
        if self.kind == "max_unpool":
            # y[n, c, j] = Σ_i x[n, c, i]·[j = idx[n, c, i]] (j flat over the output plane)
            jflat = sp.Symbol("j", integer=True, nonnegative=True)
            return sp.Sum(x[(n, c, *ii)] * sp.KroneckerDelta(jflat, idx[(n, c, *ii)]),
                          *[(ax.i, 0, ax.L - 1) for ax in A])
        raise ValueError(self.kind)

    def forward_tex_index(self) -> tuple[sp.Expr, ...]:
        if self.kind == "max_unpool":
            return (n, c, sp.Symbol("j", integer=True, nonnegative=True))
        return self.out_index()

    @cached_property
    def gradient(self) -> Derived:
        """SymPy's derivative of ⟨g, y⟩ with respect to x[n', c', j'...] (raw, and with the
        Kronecker deltas summed out)."""
        A = self.axes
        if self.kind == "max_unpool":
            jflat = sp.Symbol("j", integer=True, nonnegative=True)
            Mflat = sp.Symbol("M", integer=True, positive=True)
            out_index = (n, c, jflat)
            out_limits = [(n, 0, N - 1), (c, 0, C - 1), (jflat, 0, Mflat - 1)]
            target = tuple(primed(s) for s in (n, c, *[ax.i for ax in A]))
        else:
            out_index = self.out_index()
            out_limits = self.out_limits()
            target = tuple(primed(s) for s in (n, c, *[ax.j for ax in A]))
        raw = sp.diff(sp.Sum(g[out_index] * self.forward, *out_limits), x[target])
        # Sum out the deltas that tie a summation letter to the entry's own index (n = n′,
        # c = c′, and for max_unpool j = idx[n, c, i′]); the one tying the input position to
        # the window, j′ = s·i + d·k − p, stays: it says where the gradient is written.
        return Derived(_sum_out_index_delta(raw), raw, target)


def window_indicator() -> sp.Lambda:
    """W(i, j, L, M) = [⌊i·L/M⌋ ≤ j < ⌈(i+1)·L/M⌉]: input entry j is in adaptive window i."""
    i, j, L, M = sp.symbols("i j L M", integer=True)
    lo, hi = adaptive_bounds(i, L, M)
    return sp.Lambda((i, j, L, M), sp.Piecewise((1, sp.And(j >= lo, j < hi)), (0, True)))


def _sum_out_index_delta(expr: sp.Expr) -> sp.Expr:
    """Σ_v F(v)·δ(v, e) = F(e) for a summation letter v standing alone on one side of a delta,
    where e is the differentiated entry's own index (primed, so it ranges over v's axis) or
    a recorded index idx[...] (which max_unpool checks lies in v's range)."""
    out = []
    for term in sp.Add.make_args(expr):
        body, limits = affine.flatten(term)
        changed = True
        while changed:
            changed = False
            for delta in [f for f in sp.Mul.make_args(body) if isinstance(f, sp.KroneckerDelta)]:
                a, b = delta.args
                for v in [lim[0] for lim in limits]:
                    other = b if a == v else a if b == v else None
                    if other is None or other.has(v):
                        continue
                    if not (isinstance(other, sp.Symbol) and other.name.endswith("'")) and \
                            not isinstance(other, sp.Indexed):
                        continue
                    body = (body / delta).xreplace({v: other})
                    limits = [lim for lim in limits if lim[0] != v]
                    changed = True
                    break
                if changed:
                    break
        out.append(sp.Sum(body, *limits) if limits else body)
    return sp.Add(*out)


# ----------------------------------------------------------------------------- sizes, divisors, windows


def adaptive_bounds(i: sp.Expr, L: sp.Expr, M: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Adaptive window i of M over L entries: [⌊i·L/M⌋, ⌈(i+1)·L/M⌉) (torch's start_index / end_index)."""
    return sp.floor(i * L / M), sp.ceiling((i + 1) * L / M)


@dataclass(frozen=True)
class PoolSizeRule:
    floor_mode: sp.Expr
    ceil_raw: sp.Expr  # ceiling division before torch's "last window starts inside" check
    ceil_limit: sp.Expr  # the largest count whose last window starts before L + p
    ceil_mode: sp.Expr


def size_rule() -> PoolSizeRule:
    """Derive the output length of a pooling window with SymPy.

    Output position i reads s·i + d·k − p, k = 0..K−1.  Floor mode keeps the positions whose
    last tap s·i + d·(K−1) − p stays at or below the last padded index L − 1 + p; ceil mode
    keeps those whose *first* tap is at or below it, rounded up, but (torch and ONNX) drops
    a last window that would start in the right padding: s·(M−1) − p < L.
    """
    L, K, s, d, p, i = sp.symbols("L K s d p i", integer=True)
    last_full = sp.solve(sp.Eq(s * i + d * (K - 1) - p, L - 1 + p), i)[0]
    floor_mode = sp.floor(sp.simplify(last_full)) + 1
    ceil_raw = sp.ceiling(sp.simplify(last_full)) + 1
    # (M − 1)·s − p < L  ⇔  M − 1 < (L + p)/s  ⇔  M ≤ ⌈(L + p)/s⌉
    ceil_limit = sp.ceiling((L + p) / s)
    return PoolSizeRule(floor_mode, ceil_raw, ceil_limit, sp.Min(ceil_raw, ceil_limit))


def divisor_rule() -> dict[str, sp.Expr]:
    """avg_pool's divisor per axis at output position i: the window [s·i − p, s·i − p + K)
    clipped to the padded input [−p, L + p) (count_include_pad) or to the input [0, L)."""
    L, K, s, p, i = sp.symbols("L K s p i", integer=True)
    start = s * i - p
    return {
        "include_pad": sp.Min(start + K, L + p) - start,
        "exclude_pad": sp.Min(start + K, L) - sp.Max(start, 0),
    }


# ----------------------------------------------------------------------------- records


def _tuple_doc(dims: int) -> str:
    return "an int or a tuple of " + ("one int" if dims == 1 else f"{dims} ints")


def _input(dims: int, what: str = "input") -> Arg:
    spatial = ", ".join(f"L{a}" for a in range(dims)) if dims > 1 else "L"
    return Arg(what, sp.Symbol("x"), f"(N, C, {spatial}) or unbatched (C, {spatial})")


def _window_params(dims: int, kind: str) -> tuple[Param, ...]:
    tup = _tuple_doc(dims)
    kernel = Param("kernel_size", None, f"window size: {tup}, each >= 1", kind="int_tuple")
    stride = Param("stride", None, f"step between windows: {tup}, each >= 1; None means kernel_size",
                   kind="int_tuple")
    padding = Param("padding", 0, f"implicit padding on both sides: {tup}, each <= kernel_size/2", kind="int_tuple")
    dilation = Param("dilation", 1, f"spacing between window taps: {tup}, each >= 1", kind="int_tuple")
    ceil = Param("ceil_mode", False, "round the output size up (a last window overhanging the input is kept"
                 " when it starts inside the input or the left padding)", kind="bool")
    if kind == "max":
        ret = Param("return_indices", False, "also return the flat index (within each plane) of each chosen"
                    " entry", kind="bool")
        return (kernel, stride, padding, dilation, ceil, ret)
    if kind == "avg":
        out: tuple[Param, ...] = (kernel, stride, padding, ceil,
                                  Param("count_include_pad", True, "count padded positions in the divisor",
                                        kind="bool"))
        if dims > 1:
            out += (Param("divisor_override", None, "divide every window by this int (>= 1) instead",
                          kind="optional_int"),)
        return out
    if kind == "lp":
        return (Param("norm_type", None, "the power P of the norm (a positive float; inf gives max_pool of |x|)",
                      kind="float", domain=sp.Interval.open(0, sp.oo), test_range=(1.0, 3.0)),
                kernel, stride, ceil)
    raise ValueError(kind)


def _op(kind: str, dims: int) -> PoolOp:
    if kind == "max":
        return PoolOp(f"max_pool{dims}d", dims, "max", f"{dims}-D max pooling.", (_input(dims),),
                      _window_params(dims, "max"), TOLERANCES["max"], MAX_CONVENTIONS + (CEIL_CONVENTION,),
                      ("The gradient goes to one entry per window: the first maximum in row-major order (the"
                       " selector; its derivation step by step is on the page Derivations, step by step),"
                       " with NaN and padding as the conventions say.",))
    if kind == "avg":
        return PoolOp(f"avg_pool{dims}d", dims, "avg", f"{dims}-D average pooling.", (_input(dims),),
                      _window_params(dims, "avg"), TOLERANCES["avg"], (CEIL_CONVENTION,),
                      ("D(i) is a count that depends on the position: padded positions count when"
                       " count_include_pad, a window overhanging the padded input (ceil_mode) never counts"
                       " its overhang, and divisor_override replaces D by a constant.",))
    if kind == "lp":
        return PoolOp(f"lp_pool{dims}d", dims, "lp", f"{dims}-D power-average (Lp) pooling.", (_input(dims),),
                      _window_params(dims, "lp"), TOLERANCES["lp"], LP_CONVENTIONS + (CEIL_CONVENTION,),
                      ("No padding and no dilation; defined as torch defines it: (K_tot·avg_pool(x^P))^(1/P).",))
    tup = _tuple_doc(dims)
    if kind == "adaptive_avg":
        return PoolOp(f"adaptive_avg_pool{dims}d", dims, "adaptive_avg",
                      f"{dims}-D adaptive average pooling (output_size 1: global average pooling).",
                      (_input(dims),),
                      (Param("output_size", None, f"the output's spatial size: {tup} (None keeps that axis)",
                             kind="int_tuple"),), TOLERANCES["avg"], (),
                      ("Global average pooling is the case output_size = 1: one window, the whole plane.",))
    if kind == "adaptive_max":
        return PoolOp(f"adaptive_max_pool{dims}d", dims, "adaptive_max", f"{dims}-D adaptive max pooling.",
                      (_input(dims),),
                      (Param("output_size", None, f"the output's spatial size: {tup} (None keeps that axis)",
                             kind="int_tuple"),
                       Param("return_indices", False, "also return the flat index of each chosen entry", kind="bool")),
                      TOLERANCES["max"], ADAPTIVE_MAX_CONVENTIONS)
    if kind == "max_unpool":
        return PoolOp(f"max_unpool{dims}d", dims, "max_unpool",
                      f"{dims}-D max unpooling: each value written at its recorded flat index, zeros elsewhere.",
                      (_input(dims), Arg("indices", sp.Symbol("idx"), "int64 flat indices within each output"
                                         " plane, the input's shape (max_pool's return_indices)", grad=False,
                                         kind="label")),
                      (Param("kernel_size", None, f"{tup}", kind="int_tuple"),
                       Param("stride", None, f"{tup}; None means kernel_size", kind="int_tuple"),
                       Param("padding", 0, f"{tup}", kind="int_tuple"),
                       Param("output_size", None, "the output's spatial size (default (L − 1)·s − 2p + K per axis)",
                             kind="int_tuple")),
                      TOLERANCES["exact"], UNPOOL_CONVENTIONS)
    raise ValueError(kind)


OPS: list[PoolOp] = ([_op("max", d) for d in (1, 2, 3)] + [_op("avg", d) for d in (1, 2, 3)]
                     + [_op("lp", d) for d in (1, 2)] + [_op("adaptive_avg", d) for d in (1, 2)]
                     + [_op("adaptive_max", d) for d in (1, 2)] + [_op("max_unpool", d) for d in (1, 2)])


def op_named(name: str) -> PoolOp:
    return next(op for op in OPS if op.name == name)


# ----------------------------------------------------------------------------- the reference rule


def chosen_tap(values: list[float]) -> int | None:
    """Torch's choice in one window, as the conventions state it, by a plain loop (the exact
    tests compare the engine with this): values in row-major order, None for padding."""
    best, choice = -np.inf, None
    for t, v in enumerate(values):
        if v is None:
            continue
        if choice is None or v > best or np.isnan(v):
            best, choice = v, t
    return choice


def reference_max_pool(xv: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
                       dilation: tuple[int, ...], out: tuple[int, ...], grad: np.ndarray) -> tuple[Any, Any, Any]:
    """max_pool evaluated from its index formula with loops: values, flat indices, and the
    gradient Σ_i g[i]·χ[i, k]·[j = s·i + d·k − p]."""
    nb, ch, *size = xv.shape
    y = np.zeros((nb, ch, *out), dtype=xv.dtype)
    ind = np.zeros((nb, ch, *out), dtype=np.int64)
    gx = np.zeros(xv.shape, dtype=np.float64)
    for b, cc in itertools.product(range(nb), range(ch)):
        for pos in itertools.product(*(range(m) for m in out)):
            taps, where = [], []
            for k in itertools.product(*(range(kk) for kk in kernel)):
                j = tuple(s * i + d * kk - p for s, i, d, kk, p in zip(stride, pos, dilation, k, padding))
                inside = all(0 <= jj < L for jj, L in zip(j, size))
                taps.append(float(xv[(b, cc, *j)]) if inside else None)
                where.append(j)
            t = chosen_tap(taps)
            assert t is not None, "a window with no input entry"
            j = where[t]
            y[(b, cc, *pos)] = xv[(b, cc, *j)]
            ind[(b, cc, *pos)] = int(np.ravel_multi_index(j, size))
            gx[(b, cc, *j)] += float(grad[(b, cc, *pos)])
    return y, ind, gx
