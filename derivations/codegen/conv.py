"""Print ``nnref/_generated/conv.py``: output sizes and every convolution's forward and VJP kernels.

The kernels are printed term by term from the index formulas SymPy derived in
``derivations/ops/conv.py`` (``ConvOp.grouped``): gather + batched product + scatter.

Owns: the einsum letters of the convolution kernels and the printing of that module.
Imports: the convolution descriptions, ``.index`` and ``.header``.
"""

from __future__ import annotations

import sympy as sp

from ..ops import conv
from ..ops.conv import ConvOp, c, gamma, n, o
from ..spec import Module
from .header import HEADER
from .index import IndexPrinter, Output, Schedule, print_outputs

# Einsum letters of the index symbols in the generated code.
POSITION_LETTERS = "ijh"   # positions on the short side (conv output, conv_transpose input)
TARGET_LETTERS = "tuv"     # positions on the long side (conv input, conv_transpose output)
KERNEL_LETTERS = "klm"     # kernel offsets: the small letters, looped over by scatter


def schedule(op: ConvOp) -> Schedule:
    letters = {n: "n", gamma: "g", c: "c", o: "o"}
    names: dict[str, str] = {}
    for a, ax in enumerate(op.axes):
        letters[ax.i] = POSITION_LETTERS[a]
        letters[ax.j] = TARGET_LETTERS[a]
        letters[ax.k] = KERNEL_LETTERS[a]
        names.update({ax.s.name: f"stride[{a}]", ax.d.name: f"dilation[{a}]", ax.p.name: f"padding[{a}]"})
    return Schedule(letters, small=KERNEL_LETTERS[:op.dims], optional=("b",), names=names)


def kernel_source(op: ConvOp) -> str:
    st = op.grouped
    arrays = {"x": "x", "w": "weight", "b": "bias", "g": "grad"}
    sched = schedule(op)
    shape_of = {"input": "x.shape", "weight": "weight.shape", "bias": "grad.shape[1:3]"}
    fwd = print_outputs([Output("out", st.forward.formula, st.forward.target, "out_shape",
                                               into="into")],
                               sched, arrays)
    vjp = print_outputs([Output(f"grad_{k}", d.formula, d.target, shape_of[k])
                                for k, d in st.grads.items()], sched, arrays)
    layout = ("x (N, G, C_g, L...), weight (G, C_g, O_g, K...), bias (G, O_g) or None" if op.transposed
              else "x (N, G, C_g, L...), weight (G, O_g, C_g, K...), bias (G, O_g) or None")
    src = [f"def _{op.name}_forward(x, weight, bias, stride, padding, dilation, out_shape, into=None):",
           f'    """{op.name} on grouped arrays: {layout}; out_shape (N, G, O_g, M...); the result'
           ' is written into ``into`` when given."""',
           "    with _rt.quiet():", *fwd, "        return out", "", "",
           f"def _{op.name}_vjp(grad, x, weight, stride, padding, dilation):",
           f'    """Gradients of <grad, {op.name}(x, weight, bias)>, each term derived by SymPy'
           ' (derivations/ops/conv.py)."""',
           "    with _rt.quiet():", *vjp,
           "        return {'input': grad_input, 'weight': grad_weight, 'bias': grad_bias}", ""]
    return "\n".join(src)


SIZE_NAMES = {"L": "size", "K": "kernel", "s": "stride", "d": "dilation", "P": "pad_total", "p": "padding",
              "a": "output_padding"}


class _SizePrinter(IndexPrinter):
    """Integer arithmetic: floor(a/b) prints as Python's floor division."""

    def _print_floor(self, expr: sp.Expr) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        return f"({self.doprint(num)})//{self.doprint(den)}"


def size_source() -> str:
    rule = conv.size_rule()
    pr = _SizePrinter(SIZE_NAMES)
    return "\n".join([
        "def conv_out_size(size, kernel, stride, dilation, pad_total):",
        '    """Output length of a convolution, derived in derivations/ops/conv.py: the last output position is',
        '    the largest i with s·i + d·(K − 1) − p <= L − 1 + (P − p), P the total padding."""',
        f"    return {pr.doprint(rule.conv)}",
        "",
        "",
        "def conv_transpose_out_size(size, kernel, stride, dilation, padding, output_padding):",
        '    """Output length of a transposed convolution: the last write s·(L − 1) + d·(K − 1) − p, plus',
        '    one, minus the padding cropped at the end, plus output_padding."""',
        f"    return {pr.doprint(rule.transposed)}",
        "",
    ])


def module_source(module: Module) -> str:
    """nnref/_generated/conv.py: the output sizes and every op's forward and VJP kernels."""
    head = HEADER.format(source="conv").replace("import numpy\nfrom numpy.typing import ArrayLike, NDArray\n\n", "")
    head = head.replace("from .. import _runtime as _rt\n",
                        "from .. import _affine as _af\nfrom .. import _runtime as _rt\n")
    parts = [head, "\n\n" + size_source()]
    for op in module.ops:
        assert isinstance(op, ConvOp)
        parts.append("\n\n" + kernel_source(op))
    return "".join(parts)
