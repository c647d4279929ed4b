"""Receptive fields and parameter counts of conv / pool stacks, derived from the index maps.

A convolution or pooling layer (kernel k, stride s, padding p, dilation d) reads, for output
index i', the input indices s·i' − p + d·t for taps t = 0, …, k − 1.  Describe what a unit i of
some layer sees in the network's input as the interval start + jump·i + u, u = 0, …, size − 1.
Substituting the next layer's index map i = s·i' − p + d·t and collecting terms (SymPy's
``Poly``), the unit i' of the next layer sees start' + jump'·i' + u' with

    jump' = jump·s,   start' = start − p·jump,   size' = size + d·(k − 1)·jump,

starting from the input itself (size 1, jump 1, start 0).  ``derive_step`` does that
substitution; ``closed_form`` unrolls L layers (size = 1 + Σₗ dₗ(kₗ − 1)·Πₘ₍ₗ sₘ), and the proofs
check both against the composition of the index maps.  A unit may not read every index of its
interval (dilation, or a stride larger than the kernel, leaves holes); the interval is its extent.

Parameter counts come from the weight shapes torch gives: a dense layer in → out holds out·in
weights and out biases; a convolution holds out·(in/groups)·Πk weights (channels_per_group =
in/groups, kernel_taps = Πk) and out biases, whatever the image size.

Owns: ``FormulaOp`` (a record whose engine is a derived formula, not an array op), ``derive_step``,
``closed_form`` and the records ``OPS``.  Imports: ``derivations.spec`` and SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..spec import DEFAULT_TOLS, Arg, Derivation, Param, Tol

FAMILY = "receptive"

size, jump, start = sp.symbols("size jump start", integer=True)
k, s, p, d = sp.symbols("kernel_size stride padding dilation", integer=True, positive=True)
i_next, t, u = sp.symbols("i_next t u", integer=True, nonnegative=True)
n_in, n_out = sp.symbols("in_features out_features", integer=True, positive=True)
c_out, c_group, taps = sp.symbols("out_channels channels_per_group kernel_taps", integer=True, positive=True)
has_bias = sp.Symbol("bias", integer=True, nonnegative=True)


def derive_step() -> dict[str, sp.Expr]:
    """The next layer's (size, jump, start), read off the composed index by SymPy."""
    i = sp.Symbol("i", integer=True)
    seen = start + jump * i + u                     # what unit i of this layer sees, u in [0, size - 1]
    composed = sp.expand(seen.subs(i, s * i_next - p + d * t))
    poly = sp.Poly(composed, i_next, t, u)
    new_jump = poly.coeff_monomial(i_next)
    new_start = poly.coeff_monomial(1)
    # every coefficient of t and u is positive, so the largest index is at t = k - 1, u = size - 1
    reach = poly.coeff_monomial(t) * (k - 1) + poly.coeff_monomial(u) * (size - 1)
    return {"size": sp.expand(reach + 1), "jump": new_jump, "start": new_start}


def closed_form(layers: int) -> dict[str, sp.Expr]:
    """(size, jump, start) after ``layers`` layers with symbolic k_l, s_l, p_l, d_l, unrolled."""
    ks, ss, ps, ds = (sp.symbols(f"{n}1:{layers + 1}", integer=True, positive=True) for n in "kspd")
    total = 1
    jmp: sp.Expr = sp.S.One
    st: sp.Expr = sp.S.Zero
    for l in range(layers):  # noqa: E741
        total += ds[l] * (ks[l] - 1) * jmp
        st -= ps[l] * jmp
        jmp *= ss[l]
    return {"size": sp.expand(total), "jump": jmp, "start": sp.expand(st), "symbols": (ks, ss, ps, ds)}


@dataclass
class FormulaOp:
    """A function whose engine is a formula SymPy derived (no arrays, no gradient)."""

    name: str
    summary: str
    params: tuple[Param, ...]
    formulas: dict[str, sp.Expr]
    latex: str
    notes: tuple[str, ...] = ()
    family: str = FAMILY
    conventions: tuple[Any, ...] = ()
    closed_forms: tuple[Any, ...] = ()
    reduction: bool = False

    printer: ClassVar[str] = "formula"
    renderer: ClassVar[str] = "receptive"
    crosscheck: ClassVar[str] = "backprop"

    @property
    def public(self) -> str:
        return self.name

    @property
    def inputs(self) -> tuple[Arg, ...]:
        return ()

    @property
    def differentiable(self) -> tuple[str, ...]:
        return ()

    def derivation(self) -> Derivation:
        return Derivation(self.formulas, {})

    def tol(self, dtype: str) -> Tol:
        return Tol(0.0, 0.0, "integer arithmetic: exact") if dtype == "float64" else DEFAULT_TOLS[dtype]


_LAYERS = Param("layers", None, "the stack, input side first: each layer a dict with kernel_size and optionally"
                " stride (1), padding (0), dilation (1), or a tuple (kernel_size, stride, padding, dilation)"
                " cut short anywhere; for pooling pass its stride (torch's default stride is kernel_size)",
                kind="layers")

OPS: list[FormulaOp] = [
    FormulaOp(
        name="receptive_field",
        summary="The extent of input a unit of the last layer of a conv / pool stack reads: its size, the"
                " jump between neighbouring units' fields, and where unit 0's field starts (negative: padding).",
        params=(_LAYERS,),
        formulas=derive_step(),
        latex=r"j' = j\,s,\quad \text{start}' = \text{start} - p\,j,\quad r' = r + d\,(k - 1)\,j",
        notes=("Per spatial axis: for a 2-D stack, call it once per axis.",
               "The size is the extent from the first to the last index read; dilation, or a stride larger"
               " than the kernel, leaves indices inside it unread."),
    ),
    FormulaOp(
        name="linear_parameter_count",
        summary="Numbers held by a dense layer in_features → out_features: out·in weights and out biases.",
        params=(Param("in_features", None, "inputs per example", kind="int"),
                Param("out_features", None, "units", kind="int"),
                Param("bias", True, "whether the layer has biases", kind="bool")),
        formulas={"count": n_out * n_in + n_out * has_bias},
        latex=r"N = n_{out}\, n_{in} + n_{out}\,[\text{bias}]",
    ),
    FormulaOp(
        name="conv_parameter_count",
        summary="Numbers held by a convolution: out·(in/groups)·Πkernel weights and out biases, for any"
                " input size (the kernel is shared across positions).",
        params=(Param("in_channels", None, "input channels", kind="int"),
                Param("out_channels", None, "output channels", kind="int"),
                Param("kernel_size", None, "an int, or a tuple with one entry per spatial axis", kind="int_tuple"),
                Param("groups", 1, "channel groups (in_channels and out_channels divisible by it)", kind="int"),
                Param("bias", True, "whether the layer has biases", kind="bool")),
        formulas={"count": c_out * c_group * taps + c_out * has_bias},
        latex=r"N = c_{out}\,\frac{c_{in}}{g}\,\prod_a k_a + c_{out}\,[\text{bias}]",
    ),
]
