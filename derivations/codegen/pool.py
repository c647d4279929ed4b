"""Print ``nnref/_generated/pool.py``: output sizes, divisors, adaptive bounds and the window kernels.

The window index of every kernel is printed from the op's affine window
(``PoolOp.window`` in ``derivations/ops/pool.py``); the kernels run on ``nnref/_window.py``.

Owns: the einsum letters of the pooling kernels and the printing of that module.
Imports: the pooling descriptions, ``derivations.affine``, ``.index`` and ``.header``.
"""

from __future__ import annotations

import sympy as sp

from ..affine import affine
from ..ops import pool
from ..ops.pool import PoolOp, c, n
from ..spec import Module
from .header import HEADER
from .index import IndexPrinter, Schedule, _index_code

POSITION_LETTERS = "ijh"
KERNEL_LETTERS = "klm"


def affine_text(expr: sp.Expr) -> str:
    """A derived formula as one line of plain text for a docstring."""
    return str(expr).replace("**", "^").replace("*", "·").replace("KroneckerDelta", "δ")


def schedule(op: PoolOp) -> Schedule:
    letters = {n: "n", c: "c"}
    names: dict[str, str] = {}
    for a, ax in enumerate(op.axes):
        letters[ax.i] = POSITION_LETTERS[a]
        letters[ax.k] = KERNEL_LETTERS[a]
        names.update({ax.s.name: f"stride[{a}]", ax.d.name: f"dilation[{a}]", ax.p.name: f"padding[{a}]"})
    return Schedule(letters, small=KERNEL_LETTERS[:op.dims], names=names)

def index_code(op: PoolOp) -> str:
    """The window index of x, printed from the formula: ('n', 'c', _af.at(-p, i=s, k=d), ...)."""
    sched = schedule(op)
    letters = set(sched.letters)
    index = tuple(affine(e, letters) for e in (n, c, *op.window()))
    pr = IndexPrinter(sched.names or {})
    return _index_code(index, sched, pr)

def sizes_code(op: PoolOp, shape: str = "out_shape") -> str:
    parts = []
    for a in range(op.dims):
        parts.append(f"{POSITION_LETTERS[a]!r}: {shape}[{2 + a}], {KERNEL_LETTERS[a]!r}: kernel[{a}]")
    return "{" + ", ".join(parts) + "}"

def kernel_source(op: PoolOp) -> str:
    """The forward and VJP kernels of a windowed op (max, avg, lp), printed from its formulas."""
    d = op.dims
    pos, ker = POSITION_LETTERS[:d], KERNEL_LETTERS[:d]
    letters = "nc" + pos
    index = index_code(op)
    sizes = sizes_code(op)
    grad_tex = affine_text(op.gradient.formula)
    head = f"def _{op.name}"
    if op.kind == "max":
        return "\n".join([
            f"{head}_forward(x, kernel, stride, padding, dilation, out_shape, choose=True):",
            f'    """{op.name}: y[n, c, i] = Σ_k χ[n, c, i, k]·x[n, c, s·i + d·k − p], χ the chosen tap',
            '    (first maximum, last NaN, never padding).  Returns (values, chosen tap per output, or None',
            '    without choose)."""',
            "    with _rt.quiet():",
            f"        return _win.window_max(x, {index}, {letters!r}, {sizes}, small={ker!r}, choose=choose)",
            "", "",
            f"{head}_vjp(grad, x, kernel, stride, padding, dilation, out=None):",
            f'    """SymPy: {grad_tex}, χ chosen from x as in the forward."""',
            "    with _rt.quiet():",
            f"        return _win.scatter_windows(grad, {index}, x.shape, {sizes_code(op, 'grad.shape')},"
            f" small={ker!r}, choose_from=x, out=out)",
            ""])
    if op.kind == "avg":
        return "\n".join([
            f"{head}_forward(x, kernel, stride, padding, divisor, out_shape):",
            f'    """{op.name}: y[n, c, i] = Σ_k x[n, c, s·i + k − p] / D(i)."""',
            "    with _rt.quiet():",
            f"        return _win.window_sum(x, {index}, {letters!r}, {sizes}, small={ker!r}) / divisor",
            "", "",
            f"{head}_vjp(grad, x, kernel, stride, padding, divisor, out=None):",
            f'    """SymPy: {grad_tex}."""',
            "    with _rt.quiet():",
            f"        return _win.scatter_windows(grad / divisor, {index}, x.shape,"
            f" {sizes_code(op, 'grad.shape')}, small={ker!r}, out=out)",
            ""])
    if op.kind == "lp":
        return "\n".join([
            f"{head}_forward(x, norm_type, kernel, stride, divisor, out_shape):",
            f'    """{op.name}: y[n, c, i] = (K_tot/D(i)·Σ_k x[n, c, s·i + k]^P)^(1/P), P = norm_type."""',
            "    with _rt.quiet():",
            f"        u = _win.window_sum(x ** norm_type, {index}, {letters!r}, {sizes}, small={ker!r})"
            " / divisor * _win.prod(kernel)",
            "        return _win.lp_root(u, norm_type)",
            "", "",
            f"{head}_vjp(grad, x, norm_type, kernel, stride, divisor):",
            f'    """SymPy: {grad_tex}."""',
            "    with _rt.quiet():",
            f"        u = _win.window_sum(x ** norm_type, {index}, {letters!r},"
            f" {sizes_code(op, 'grad.shape')}, small={ker!r})"
            " / divisor * _win.prod(kernel)",
            "        v = _win.lp_root_grad(grad, u, norm_type) * _win.prod(kernel) / divisor",
            f"        return _win.scatter_windows(v, {index}, x.shape, {sizes_code(op, 'grad.shape')},"
            f" small={ker!r}) * (norm_type * x ** (norm_type - 1))",
            ""])
    raise ValueError(op.kind)


SIZE_NAMES = {"L": "size", "K": "kernel", "s": "stride", "d": "dilation", "p": "padding", "i": "i", "M": "out"}


class _IntPrinter(IndexPrinter):
    """Integer arithmetic on Python ints and NumPy integer arrays: floor(a/b) as a//b,
    ceiling(a/b) as −((−a)//b), Min / Max as numpy.minimum / numpy.maximum."""

    def _print_floor(self, expr: sp.Expr) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        return f"(({self.doprint(num)})//({self.doprint(den)}))"

    def _print_ceiling(self, expr: sp.Expr) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        return f"(-((-({self.doprint(num)}))//({self.doprint(den)})))"

    def _print_Min(self, expr: sp.Expr) -> str:
        a, b = expr.args
        return f"numpy.minimum({self.doprint(a)}, {self.doprint(b)})"

    def _print_Max(self, expr: sp.Expr) -> str:
        a, b = expr.args
        return f"numpy.maximum({self.doprint(a)}, {self.doprint(b)})"


def size_source() -> str:
    rule = pool.size_rule()
    div = pool.divisor_rule()
    pr = _IntPrinter(SIZE_NAMES)
    i, L, M = sp.symbols("i L M", integer=True)
    lo, hi = pool.adaptive_bounds(i, L, M)
    return "\n".join([
        "def pool_out_size(size, kernel, stride, padding, dilation, ceil_mode):",
        '    """Output length of a pooling window, derived in derivations/ops/pool.py (size_rule): floor mode',
        '    keeps windows whose last tap is inside the padded input; ceil mode rounds up but drops a last',
        '    window that would start in the right padding."""',
        "    if ceil_mode:",
        f"        return int({pr.doprint(rule.ceil_mode)})",
        f"    return {pr.doprint(rule.floor_mode)}",
        "",
        "",
        "def avg_divisor(size, kernel, stride, padding, out, count_include_pad):",
        '    """avg_pool\'s divisor at each output position of one axis (derivations/ops/pool.py: divisor_rule)."""',
        "    i = numpy.arange(out)",
        "    if count_include_pad:",
        f"        return {pr.doprint(div['include_pad'])}",
        f"    return {pr.doprint(div['exclude_pad'])}",
        "",
        "",
        "def adaptive_bounds(size, out):",
        '    """Adaptive window i: [start, end) = [⌊i·L/M⌋, ⌈(i+1)·L/M⌉), for every i of one axis."""',
        "    i = numpy.arange(out)",
        f"    return {_IntPrinter({'L': 'size', 'M': 'out'}).doprint(lo)}, "
        f"{_IntPrinter({'L': 'size', 'M': 'out'}).doprint(hi)}",
        "",
    ])


def module_source(module: Module) -> str:
    """nnref/_generated/pool.py: output sizes, divisors, adaptive bounds and the window kernels."""
    head = HEADER.format(source="pool").replace("from numpy.typing import ArrayLike, NDArray\n", "")
    head = head.replace("from .. import _runtime as _rt\n",
                        "from .. import _affine as _af\nfrom .. import _runtime as _rt\n"
                        "from .. import _window as _win\n")
    parts = [head, "\n\n" + size_source()]
    for op in module.ops:
        # adaptive pooling and max_unpool run on hand-written kernels in nnref/_pool.py
        if isinstance(op, PoolOp) and op.kind in ("max", "avg", "lp"):
            parts.append("\n\n" + kernel_source(op))
    return "".join(parts)
