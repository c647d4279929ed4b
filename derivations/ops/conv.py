"""Convolution and transposed convolution in 1, 2 and 3 dimensions: the one description.

Each op is stated once as an index formula with symbolic stride s, dilation d and
(low-side) padding p per spatial axis, every array reading as zero outside its index
range (that is the zero padding):

    conv:            y[n, o, i] = b[o] + Σ_c Σ_k x[n, ⌊o/O_g⌋·C_g + c, s·i + d·k − p] · w[o, c, k]
    conv_transpose:  y[n, o, j] = b[o] + Σ_c Σ_k Σ_i x[n, c, i] · w[c, o − ⌊c/C_g⌋·O_g, k] · [j = s·i + d·k − p]

(C_g input and O_g output channels per group).  Splitting the channel axes into
(group, channel in group) makes every index affine:

    conv:            y[n, γ, o, i] = b[γ, o] + Σ_c Σ_k x[n, γ, c, s·i + d·k − p] · w[γ, o, c, k]

From that single statement:

* SymPy differentiates ⟨g, y⟩ with respect to an entry of x, w and b
  (``derivations/affine.py``: ``sympy.diff``, then the Kronecker deltas are summed out);
* the generated engine (``nnref/_generated/conv.py``) is printed from those derived index
  formulas term by term: gather (im2col) + batched matrix product + scatter (col2im);
* the output-size arithmetic is derived from the same affine index (``out_size``);
* the tests check the engine exactly, on arrays of SymPy symbols, against the stated
  formula and SymPy's derivative of it over a grid of small configurations, and against
  torch on random ones; the docs page shows all of it.

Owns: the convolution records, their index formulas and SymPy's derivatives of them, and
the output-size rule.  Imports: ``derivations.spec``, ``derivations.affine`` and SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import sympy as sp

from .. import affine
from ..spec import Arg, Derivation, Param, Tol

FAMILY = "convolution"


x, w, b, g = (sp.IndexedBase(name) for name in ("x", "w", "b", "g"))
n, gamma, c, o = sp.symbols("n gamma c o", integer=True, nonnegative=True)
N, G, Cg, Og, C, O = sp.symbols("N G C_g O_g C O", integer=True, positive=True)  # noqa: E741


@dataclass(frozen=True)
class AxisSymbols:
    """The symbols of one spatial axis."""

    i: sp.Symbol  # position on the short side
    j: sp.Symbol  # position on the long side
    k: sp.Symbol  # kernel offset
    s: sp.Symbol  # stride
    d: sp.Symbol  # dilation
    p: sp.Symbol  # padding before the first element
    L: sp.Symbol  # input length
    K: sp.Symbol  # kernel length
    M: sp.Symbol  # output length


def axis_symbols(dims: int) -> tuple[AxisSymbols, ...]:
    out = []
    for a in range(dims):
        sub = "" if dims == 1 else f"_{a}"
        idx = dict(integer=True, nonnegative=True)
        out.append(AxisSymbols(
            i=sp.Symbol(f"i{sub}", **idx), j=sp.Symbol(f"j{sub}", **idx), k=sp.Symbol(f"k{sub}", **idx),
            s=sp.Symbol(f"s{sub}", integer=True, positive=True), d=sp.Symbol(f"d{sub}", integer=True, positive=True),
            p=sp.Symbol(f"p{sub}", integer=True, nonnegative=True), L=sp.Symbol(f"L{sub}", integer=True, positive=True),
            K=sp.Symbol(f"K{sub}", integer=True, positive=True), M=sp.Symbol(f"M{sub}", integer=True, positive=True)))
    return tuple(out)


def primed(sym: sp.Symbol) -> sp.Symbol:
    """The index of the entry a derivative is taken at: n → n′."""
    return sp.Symbol(sym.name + "'", **sym.assumptions0)


def _unprime(expr: sp.Expr, target: tuple[sp.Symbol, ...]) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """Rename n′ back to n wherever n no longer occurs (it was summed out), for reading."""
    names = {str(s) for s in expr.free_symbols} | {str(lim[0]) for t in sp.preorder_traversal(expr)
                                                  if isinstance(t, sp.Sum) for lim in t.limits}
    subs = {}
    for t in target:
        if t.name.endswith("'") and t.name[:-1] not in names:
            subs[t] = sp.Symbol(t.name[:-1], **t.assumptions0)
    return expr.xreplace(subs), tuple(subs.get(t, t) for t in target)


@dataclass(frozen=True)
class Derived:
    """A forward formula, or SymPy's derivative of ⟨g, y⟩ at operand[target]."""

    formula: sp.Expr  # deltas summed out
    raw: sp.Expr  # as sympy.diff gives it (for the forward: the formula)
    target: tuple[sp.Symbol, ...]


@dataclass(frozen=True)
class Statement:
    """The forward formula of one form (as stated, or grouped) and its derivatives."""

    forward: Derived
    out_index: tuple[sp.Symbol, ...]
    grads: dict[str, Derived]


@dataclass
class ConvOp:
    name: str
    dims: int
    transposed: bool
    summary: str
    inputs: tuple[Arg, ...]
    params: tuple[Param, ...]
    tolerances: dict[str, Tol]
    notes: tuple[str, ...] = ()
    family: str = FAMILY
    kind: str = "conv"
    reduction: bool = False
    conventions: tuple[Any, ...] = ()
    closed_forms: tuple[Any, ...] = ()

    printer: ClassVar[str] = "conv"
    renderer: ClassVar[str] = "conv"
    crosscheck: ClassVar[str] = "vjp"

    @property
    def public(self) -> str:
        return self.name

    def derivation(self) -> Derivation:
        """The stated index formula and SymPy's derivative of ⟨g, y⟩ at each operand."""
        st = self.stated
        return Derivation(st.forward.formula, {k: d.formula for k, d in st.grads.items()})

    def tol(self, dtype: str) -> Tol:
        return self.tolerances[dtype]

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.inputs if a.grad)

    @cached_property
    def axes(self) -> tuple[AxisSymbols, ...]:
        return axis_symbols(self.dims)

    # ------------------------------------------------------------------ the formulas

    def _window(self, pos: str) -> list[sp.Expr]:
        """s·i + d·k − p on every axis, with i the short-side position (or its primed copy)."""
        return [ax.s * (primed(ax.i) if pos == "primed" else ax.i) + ax.d * ax.k - ax.p for ax in self.axes]

    def _kernel_limits(self) -> list[tuple[Any, ...]]:
        return [(ax.k, 0, ax.K - 1) for ax in self.axes]

    def _statement(self, grouped: bool) -> Statement:
        A = self.axes
        ii = [ax.i for ax in A]
        jj = [ax.j for ax in A]
        kk = [ax.k for ax in A]
        if grouped:
            chan_x = lambda cc: (gamma, cc)  # noqa: E731
            chan_y = (gamma, o)
            bias = b[gamma, o]
            out_chan_limits = [(gamma, 0, G - 1), (o, 0, Og - 1)]
        else:
            chan_x = None
            chan_y = (o,)
            bias = b[o]
            out_chan_limits = [(o, 0, O - 1)]
        if not self.transposed:
            # y[n, o, i] = b[o] + Σ_c Σ_k x[n, ⌊o/O_g⌋·C_g + c, s·i + d·k − p] · w[o, c, k]
            xc = chan_x(c) if grouped else (sp.floor(o / Og) * Cg + c,)
            wc = (gamma, o, c) if grouped else (o, c)
            body = x[(n, *xc, *self._window("plain"))] * w[(*wc, *kk)]
            y = sp.Sum(body, (c, 0, Cg - 1), *self._kernel_limits()) + bias
            out_index = (n, *chan_y, *ii)
            out_limits = [(n, 0, N - 1), *out_chan_limits, *[(ax.i, 0, ax.M - 1) for ax in A]]
        else:
            # y[n, o, j] = b[o] + Σ_c Σ_k Σ_i x[n, c, i] · w[c, o − ⌊c/C_g⌋·O_g, k] · [j = s·i + d·k − p]
            xc = chan_x(c) if grouped else (c,)
            wc = (gamma, c, o) if grouped else (c, o - sp.floor(c / Cg) * Og)
            deltas = sp.Mul(*(sp.KroneckerDelta(ax.j, e) for ax, e in zip(A, self._window("plain"))))
            body = x[(n, *xc, *ii)] * w[(*wc, *kk)] * deltas
            c_hi = Cg - 1 if grouped else C - 1
            y = sp.Sum(body, (c, 0, c_hi), *self._kernel_limits(), *[(ax.i, 0, ax.L - 1) for ax in A]) + bias
            out_index = (n, *chan_y, *jj)
            out_limits = [(n, 0, N - 1), *out_chan_limits, *[(ax.j, 0, ax.M - 1) for ax in A]]
        grads = {}
        operand_index = {
            "input": (n, *(chan_x(c) if grouped else (c,)), *(jj if not self.transposed else ii)),
            "weight": ((gamma, c, o) if self.transposed else (gamma, o, c)) if grouped
            else ((c, o) if self.transposed else (o, c)),
            "bias": chan_y,
        }
        operand_index["weight"] = (*operand_index["weight"], *kk)
        for name, base in (("input", x), ("weight", w), ("bias", b)):
            target = tuple(primed(s) for s in operand_index[name])
            raw, formula = affine.vjp(y, out_index, out_limits, base, target, g)
            formula, target = _unprime(formula, target)
            grads[name] = Derived(formula, raw, target)
        return Statement(Derived(y, y, out_index), out_index, grads)

    @cached_property
    def stated(self) -> Statement:
        """As one writes it, channels numbered across groups (what the docs show)."""
        return self._statement(grouped=False)

    @cached_property
    def grouped(self) -> Statement:
        """Channels split into (group, channel in group): every index affine (what the engine runs)."""
        return self._statement(grouped=True)


# ----------------------------------------------------------------------------- output sizes


@dataclass(frozen=True)
class SizeRule:
    """How long the output is, derived from the affine index of the first and last window."""

    conv: sp.Expr  # output length of a convolution, total padding P
    transposed: sp.Expr  # output length of a transposed convolution, padding p each side
    last_window: sp.Expr  # the equation solved for the last output position
    last_write: sp.Expr  # the last index a transposed convolution writes


def size_rule() -> SizeRule:
    """Derive both output lengths with SymPy.

    Convolution: output position i reads input indices s·i + d·k − p for k = 0..K−1.  The
    last position is the largest i whose last tap s·i + d·(K−1) − p stays at or below
    the last padded index L − 1 + (P − p), P the total padding: solve for i, round down.
    Transposed: input position i writes s·i + d·k − p; the last write is at i = L − 1,
    k = K − 1; torch crops p at the end as well and appends output_padding rows.
    """
    L, K, s, d, p, P, i, a = sp.symbols("L K s d p P i a", integer=True)
    last_tap = s * i + d * (K - 1) - p
    eq = sp.Eq(last_tap, L - 1 + (P - p))
    i_last = sp.solve(eq, i)[0]
    conv = sp.floor(sp.simplify(i_last)) + 1
    window = s * i + d * sp.Symbol("k", integer=True) - p
    last_write = window.subs({i: L - 1, sp.Symbol("k", integer=True): K - 1})
    transposed = sp.expand(last_write + 1 - p + a)
    return SizeRule(conv, transposed, eq, last_write)


# The relationships of Dumoulin & Visin, "A guide to convolution arithmetic for deep learning"
# (2016), as they quote them: (number, case, settings, quoted output size).  i is the input
# size, k the kernel, s the stride, p the padding, d the dilation; the transposed ones
# are for a transposed convolution with the same k, s, p whose input size is i′ and
# output_padding a.
def dumoulin_visin() -> list[dict[str, Any]]:
    i, k, s, p, d, a, ip, nn = sp.symbols("i k s p d a i' n", integer=True)
    rows = [
        (1, "no zero padding, unit strides", {s: 1, p: 0, d: 1}, i - k + 1, False),
        (2, "zero padding, unit strides", {s: 1, d: 1}, i - k + 2 * p + 1, False),
        (3, "half (same) padding: k = 2n + 1, p = n", {s: 1, d: 1, k: 2 * nn + 1, p: nn}, i, False),
        (4, "full padding: p = k − 1", {s: 1, d: 1, p: k - 1}, i + k - 1, False),
        (5, "no zero padding, non-unit strides", {p: 0, d: 1}, sp.floor((i - k) / s) + 1, False),
        (6, "zero padding, non-unit strides", {d: 1}, sp.floor((i + 2 * p - k) / s) + 1, False),
        (7, "transposed: no zero padding, unit strides", {s: 1, p: 0, d: 1, a: 0}, ip + (k - 1), True),
        (8, "transposed: zero padding, unit strides", {s: 1, d: 1, a: 0}, ip + (k - 1) - 2 * p, True),
        (9, "transposed: half padding", {s: 1, d: 1, a: 0, k: 2 * nn + 1, p: nn}, ip, True),
        (10, "transposed: full padding", {s: 1, d: 1, a: 0, p: k - 1}, ip - (k - 1), True),
        (11, "transposed: no zero padding, non-unit strides", {p: 0, d: 1, a: 0}, s * (ip - 1) + k, True),
        (12, "transposed: zero padding, non-unit strides", {d: 1, a: 0}, s * (ip - 1) + k - 2 * p, True),
        (13, "transposed: zero padding, non-unit strides, a = (i + 2p − k) mod s", {d: 1},
         s * (ip - 1) + a + k - 2 * p, True),
        (15, "dilated convolution", {}, sp.floor((i + 2 * p - k - (k - 1) * (d - 1)) / s) + 1, False),
    ]
    return [{"number": num, "case": case, "settings": settings, "quoted": quoted, "transposed": tr,
             "symbols": {"i": i, "k": k, "s": s, "p": p, "d": d, "a": a, "i'": ip, "n": nn}}
            for num, case, settings, quoted, tr in rows]


def general_size(row: dict[str, Any]) -> sp.Expr:
    """The derived output length in the row's symbols (symmetric padding p, as torch's int padding)."""
    rule = size_rule()
    sy = row["symbols"]
    L, K, s, d, p, P, a = sp.symbols("L K s d p P a", integer=True)
    if row["transposed"]:
        expr = rule.transposed.subs({L: sy["i'"], K: sy["k"], s: sy["s"], d: sy["d"], p: sy["p"], a: sy["a"]})
    else:
        expr = rule.conv.subs({L: sy["i"], K: sy["k"], s: sy["s"], d: sy["d"], P: 2 * sy["p"]})
    return expr.subs(row["settings"])


# ----------------------------------------------------------------------------- the ops

# Each output entry and each gradient entry is a sum of products.  In the tests every value
# is at most 2 in magnitude (inputs, weights, biases, upstream gradients) and no sum has
# more than K = 200 terms (the longest: a weight or bias gradient summed over batch and
# output positions, N·ΠM <= 3·64); the two engines sum in different orders (BLAS blocking
# here; oneDNN, or im2col and MKL, in torch), so the bound is on their distance.
TOLERANCES = {
    "float64": Tol(1e-12, 5e-11, "Higham's worst case for a sum of K products, K·u·Σ|terms| <= 200·1.1e-16·800"
                   " ≈ 1.8e-11 in the tests (values |v| <= 2, K <= 200); rtol covers large results (K·u ≈ 2e-14"
                   " relative without cancellation)"),
    "float32": Tol(1e-5, 1e-3, "float32 rounding errors of a K-term sum add up like a random walk:"
                   " about u·√K·(largest partial sum) <= 6e-8·√200·800 ≈ 7e-4 in the tests (|v| <= 2, K <= 200)."
                   " Higham's worst case, K·u·Σ|terms| ≈ 1e-2, needs every rounding error to point the same way,"
                   " which blocked sums do not do"),
}


def _inputs(dims: int, transposed: bool) -> tuple[Arg, ...]:
    spatial = ", ".join(f"L{a}" for a in range(dims)) if dims > 1 else "L"
    ksp = ", ".join(f"K{a}" for a in range(dims)) if dims > 1 else "K"
    wshape = (f"(in_channels, out_channels/groups, {ksp})" if transposed
              else f"(out_channels, in_channels/groups, {ksp})")
    return (Arg("input", sp.Symbol("x"), f"(N, in_channels, {spatial}) or unbatched (in_channels, {spatial})"),
            Arg("weight", sp.Symbol("w"), wshape),
            Arg("bias", sp.Symbol("b"), "optional, shape (out_channels,)"))


def _params(dims: int, transposed: bool) -> tuple[Param, ...]:
    tup = "an int or a tuple of " + ("one int" if dims == 1 else f"{dims} ints")
    stride = Param("stride", 1, f"step between output positions: {tup}, each >= 1", kind="int_tuple")
    dilation = Param("dilation", 1, f"spacing between kernel taps: {tup}, each >= 1", kind="int_tuple")
    groups = Param("groups", 1, "split channels into this many independent groups (in_channels for depthwise)",
                   kind="int")
    if transposed:
        padding = Param("padding", 0, f"zeros cropped from each end of the output: {tup}, each >= 0",
                        kind="int_tuple")
        out_pad = Param("output_padding", 0, f"extra output rows at the end: {tup}, each < max(stride, dilation)",
                        kind="int_tuple")
        return (stride, padding, out_pad, groups, dilation)
    padding = Param("padding", 0, f"zeros added to each side: {tup} (>= 0), 'valid' (none) or 'same' (stride 1;"
                    " the extra zero of an even kernel goes at the end)", kind="padding")
    return (stride, padding, dilation, groups)


def _op(dims: int, transposed: bool) -> ConvOp:
    name = f"conv_transpose{dims}d" if transposed else f"conv{dims}d"
    what = (f"{dims}-D transposed convolution (the adjoint of conv{dims}d in its input)" if transposed
            else f"{dims}-D convolution (cross-correlation, as in deep learning)")
    notes = [
        "Zero padding is the convention that every array reads as zero outside its index range;"
        " nothing else in the formula mentions it.",
        "groups split the channels into independent blocks: output channel o reads input channels"
        " ⌊o/O_g⌋·C_g to ⌊o/O_g⌋·C_g + C_g − 1. groups = in_channels is a depthwise convolution.",
    ]
    if transposed:
        notes.append("padding crops p entries from both ends of the full output; output_padding adds entries"
                     " at the end (they receive only the bias): it picks one of the input lengths that a"
                     " strided convolution maps to the same output length.")
    else:
        notes.append("padding='same' pads d·(K−1) zeros in total, ⌊d·(K−1)/2⌋ before and the rest after (torch's"
                     " choice for even kernels); it needs stride 1.")
    return ConvOp(name=name, dims=dims, transposed=transposed, summary=what[0].upper() + what[1:] + ".",
                  inputs=_inputs(dims, transposed), params=_params(dims, transposed), tolerances=TOLERANCES,
                  notes=tuple(notes))


OPS: list[ConvOp] = [_op(dims, tr) for tr in (False, True) for dims in (1, 2, 3)]


def op_named(name: str) -> ConvOp:
    return next(op for op in OPS if op.name == name)


@dataclass(frozen=True)
class Config:
    """One small configuration of the exact checks."""

    dims: int
    transposed: bool
    batch: int
    in_channels: int
    out_channels: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Any  # tuple of ints, or 'same' / 'valid'
    dilation: tuple[int, ...]
    groups: int
    output_padding: tuple[int, ...] = field(default=())

    @property
    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                               "groups": self.groups}
        if self.transposed:
            out["output_padding"] = self.output_padding or (0,) * self.dims
        return out
