"""The pooling page, from ``derivations/ops/pool.py``.

Everything shown is computed here at build time: SymPy's index formulas and derivatives
(``pool.OPS``), the size, divisor and adaptive-window rules, SymPy's own derivative of Max at a
tie, the exact checks of ``derivations.proofs.pool`` (a failed one is printed, not hidden), the
picture of where max_pool's gradient goes (drawn with nnref's own ``max_pool2d_backward``), the
generated code (read from ``nnref/_generated/pool.py``), the benchmark rows
(``benchmarks/conv_bench.json``, key ``pool_rows``) and the cross-check results.

The "How frameworks differ" section (template ``pool_frameworks.md.j2``) is prose: every
statement in it comes from a document or a source file linked next to it, read when this page
was written (the commit is given where the source was read); nothing in it is measured here.

Owns: ``render_page`` for records whose renderer is "pool" (template ``pooling.md.j2``): the
family page, with what all the ops share; ``render_op_page``, each op's own page (its call and
example, arguments, formula, derivation, conventions, exact check, tolerances, kernels,
verification); its exact checks (``checks``), the picture (``PANELS``, ``DRAWN``).  Imports:
``.robustness``, ``derivations`` (ops.pool, proofs.pool), ``nnref``, ``.accuracy``, ``.jobs``,
``.kernels``, ``.latex``, ``.markup``, ``.op_page``, ``.paths``, ``.tables``, ``.templating``,
``.verification``; no other page module.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from derivations.ops import pool
from derivations.ops.pool import PoolConvention, PoolOp
from derivations.proofs import pool as pool_proofs

from . import figure
from .accuracy import op_accuracy
from .jobs import fork_map, profile
from .kernels import generated_kernel, kernel_sources, signature_line
from .latex import tex as base_tex
from .markup import (
    anchor,
    bench_cell,
    cell,
    code_block,
    fmt,
    math_block,
    math_inline,
    md,
    run_misses,
    table,
)
from .op_page import collapsed_code, overview_table, page_head, source_section
from .paths import BENCH
from .robustness import WARM_TURNS, stride_bench
from .tables import arguments_table
from .templating import render
from .verification import verification_section

FIGURE = "pool_gradient_routes.svg"
DRAWN: set[Path] = set()  # the plots this module drew (pages.build keeps them)

# One op per kind carries the formulas; the 2- and 3-D forms repeat the 1-D index per axis.
KIND_TITLES = {
    "max": "max_pool",
    "avg": "avg_pool",
    "lp": "lp_pool",
    "adaptive_avg": "adaptive_avg_pool",
    "adaptive_max": "adaptive_max_pool",
    "max_unpool": "max_unpool",
}



def tex(expr: Any) -> str:
    """SymPy's LaTeX with the primed index of the differentiated entry read as j′, j_0′."""
    out = base_tex(expr)
    # the docs printer spells multi-letter names as text: j_0' arrives as \text{j\_0'}
    out = re.sub(r"\\text\{([A-Za-z])\\_(\d)'\}", r"\1_{\2}'", out)
    return re.sub(r"\\text\{([A-Za-z])'\}", r"\1'", out)


def _unshadow(expr: sp.Expr, bound: frozenset[sp.Symbol] = frozenset()) -> sp.Expr:
    """Rename a summation letter that an enclosing sum already binds (lp_pool's derivative
    holds Σ_k x^P inside a sum over k): same value, but a reader sees two different letters."""
    if isinstance(expr, sp.Sum):
        fn, limits = expr.function, []
        for v, lo, hi in expr.limits:
            if v in bound:
                fresh = sp.Symbol(v.name.replace("k", "kappa", 1), **v.assumptions0)
                fn = fn.xreplace({v: fresh})
                v = fresh
            limits.append((v, lo, hi))
        return sp.Sum(_unshadow(fn, bound | {lim[0] for lim in limits}), *limits)
    if expr.args and not isinstance(expr, (sp.Indexed, sp.Symbol)):
        args = [_unshadow(a, bound) for a in expr.args]
        if any(a is not b for a, b in zip(args, expr.args)):
            return expr.func(*args)
    return expr


def _profile() -> str:
    return profile()


def _ops_of(kind: str) -> list[PoolOp]:
    return [op for op in pool.OPS if op.kind == kind]


def _names(ops: list[PoolOp]) -> str:
    """`max_pool` 1d, 2d, 3d; `adaptive_max_pool` 1d, 2d: short enough for a table column."""
    kinds: dict[str, list[int]] = {}
    for op in ops:
        kinds.setdefault(op.kind, []).append(op.dims)
    return "; ".join(f"`{KIND_TITLES[k]}` " + ", ".join(f"{d}d" for d in dims) for k, dims in kinds.items())


# ----------------------------------------------------------------------------- exact checks (cached)

_CHECKS: dict[str, Any] = {}


def check_op(name: str) -> tuple[int, int] | str:
    """(configurations, entries) checked exactly for one op, or the failure as text."""
    op = pool.op_named(name)
    try:
        if op.kind in ("max", "avg", "lp"):
            done = pool_proofs.check_windows(op, _profile())
            return done.configs, done.entries
        if op.kind in ("adaptive_avg", "adaptive_max"):
            grid = pool_proofs.adaptive_grid(op)
            entries = sum(pool_proofs.adaptive_exact_check(op, size, out, seed=k)
                          for k, (size, out) in enumerate(grid))
            return len(grid), entries
        return 1, pool_proofs.unpool_exact_check(op)
    except AssertionError as exc:  # a failed check is shown on the page, not hidden
        return f"AssertionError: {exc}"


def checks() -> dict[str, Any]:
    """Every exact check of the page, once (in parallel where the platform forks: the symbolic
    avg checks of the 2-D and 3-D ops take seconds each)."""
    if _CHECKS:
        return _CHECKS
    names = [op.name for op in pool.OPS]
    results = fork_map(check_op, names)
    _CHECKS["ops"] = dict(zip(names, results))
    try:
        _CHECKS["sizes"] = pool_proofs.size_rule_agrees()
    except AssertionError as exc:
        _CHECKS["sizes"] = f"AssertionError: {exc}"
    _CHECKS["tie"] = pool_proofs.sympy_max_tie()
    return _CHECKS


# ----------------------------------------------------------------------------- the picture

NAN, INF = float("nan"), float("inf")

# (title, input, max_pool2d arguments, caption): each a tiny hand-made input whose windows
# meet one convention.  The gradient shown is nnref.max_pool2d_backward with g = 1 everywhere,
# so a cell's number counts the windows that chose it.
PANELS: tuple[tuple[str, list[list[float]], dict[str, Any], str], ...] = (
    ("tie: first maximum", [[3, 5], [5, 1]], {"kernel_size": 2},
     "a 2×2 window holding 5 twice: the first 5 in row-major order takes the whole gradient"),
    ("NaN wins: the last NaN", [[1, NAN], [NAN, 7]], {"kernel_size": 2},
     "two NaNs: the window's value is NaN and the later NaN takes the gradient; 7 gets nothing"),
    ("padding never wins", [[-INF, -INF, -INF], [2, 4, 1], [0, 3, 5]],
     {"kernel_size": 2, "stride": 2, "padding": 1},
     "padding 1 (hatched): the top windows see only −∞ entries and padding; the first real entry is chosen"),
    ("overlapping windows add", [[1, 0, 2, 1, 0], [0, 9, 1, 0, 2], [2, 1, 0, 1, 7], [0, 2, 1, 3, 1]],
     {"kernel_size": 3, "stride": 1},
     "3×3 windows, stride 1: 9 is the maximum of four windows and 7 of two; each collects their sum"),
    ("ceil_mode: overhanging windows", [[1, 4, 2, 0, 6], [3, 0, 5, 1, 2], [2, 1, 0, 3, 7]],
     {"kernel_size": 2, "stride": 2, "ceil_mode": True},
     "2×2, stride 2 on 3×5: ceil_mode keeps the windows that run off the bottom and right edge (dashed)"),
)


def panel_values(x: list[list[float]], kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, flat indices, gradient) of max_pool2d on one hand-made plane, from nnref."""
    import nnref

    xb = np.asarray(x, dtype=np.float64)[None, None]
    y, ind = nnref.max_pool2d(xb, return_indices=True, **kw)
    grad = nnref.max_pool2d_backward(np.ones_like(y), xb, **kw)["input"]
    return y[0, 0], ind[0, 0], grad[0, 0]


def _windows(shape: tuple[int, int], kw: dict[str, Any], out: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """(row, col, height, width) of every window in input coordinates (padding included)."""
    k = kw["kernel_size"]
    s = kw.get("stride", k)
    p = kw.get("padding", 0)
    return [(i * s - p, j * s - p, k, k) for i in range(out[0]) for j in range(out[1])]


def _cell_text(v: float) -> str:
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "−∞" if v < 0 else "∞"
    return f"{v:g}"


def _cells(ax: Any, ox: float, rows: int, cols: int, p: int) -> None:
    """An empty rows × cols grid at x offset ox, with p hatched padding cells around it."""
    from matplotlib.patches import Rectangle

    # matplotlib's y axis points up: row r of the array is drawn at height rows − 1 − r
    for r in range(-p, rows + p):
        for c in range(-p, cols + p):
            inside = 0 <= r < rows and 0 <= c < cols
            ax.add_patch(Rectangle((ox + c, rows - 1 - r), 1, 1, facecolor="white" if inside else "0.92",
                                   hatch=None if inside else "///", edgecolor="0.6", lw=0.6))


def draw_figure(path: Path) -> None:
    """Five panels in a 3×2 grid, each the input with its windows beside the gradient it
    receives: wide enough to read at the page's column width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Rectangle

    fig, axes = plt.subplots(3, 2, figsize=(10.0, 7.6), dpi=100)
    colors = ["C0", "C1", "C2", "C3", "C4", "C5"]
    for ax, (title, x, kw, _) in zip(axes.flat, PANELS):
        xa = np.asarray(x, dtype=np.float64)
        rows, cols = xa.shape
        y, _, grad = panel_values(x, kw)
        p = kw.get("padding", 0)
        extra = 1 if kw.get("ceil_mode") else 0  # room for the windows that overhang
        shift = cols + 2 * p + extra + 2.0  # the gradient grid sits right of the input grid

        _cells(ax, 0.0, rows, cols, p)
        _cells(ax, shift, rows, cols, p)
        for w, (r0, c0, h, wd) in enumerate(_windows(xa.shape, kw, y.shape)):
            inset = 0.05 + 0.06 * (w % 3)
            over = r0 + h > rows + p or c0 + wd > cols + p
            ax.add_patch(Rectangle((c0 + inset, rows - r0 - h + inset), wd - 2 * inset, h - 2 * inset, fill=False,
                                   edgecolor=colors[w % len(colors)], lw=2.0, ls="--" if over else "-"))
        peak = max(float(np.nanmax(grad)), 1.0)
        for r in range(rows):
            for c in range(cols):
                ax.text(c + 0.5, rows - 1 - r + 0.5, _cell_text(xa[r, c]), ha="center", va="center", fontsize=13)
                g = grad[r, c]
                if g:
                    ax.add_patch(Rectangle((shift + c, rows - 1 - r), 1, 1, facecolor=matplotlib.colors.to_rgba(
                        "C3", 0.3 + 0.5 * g / peak), edgecolor="0.6", lw=0.6))
                ax.text(shift + c + 0.5, rows - 1 - r + 0.5, f"{g:g}", ha="center", va="center", fontsize=13,
                        fontweight="bold" if g else "normal", color="black" if g else "0.65")
        mid = rows / 2
        ax.add_patch(FancyArrowPatch((cols + p + extra + 0.3, mid), (shift - p - 0.3, mid), arrowstyle="-|>",
                                     mutation_scale=14, color="0.35", lw=1.2))
        ax.text((cols + p + extra + shift - p) / 2, mid + 0.35, "grad", ha="center", va="bottom", fontsize=10,
                color="0.35")
        ax.set_title(title, fontsize=13)
        ax.set_xlim(-p - 0.2, shift + cols + p + 0.2)
        ax.set_ylim(-p - extra - 0.2, rows + p + 0.2)
        ax.set_aspect("equal")
        ax.axis("off")
    legend = axes.flat[-1]
    legend.axis("off")
    legend.text(0.02, 0.5, "left: the input, every window outlined\n(one colour each; dashed: overhangs)\n"
                "hatched: padding\nright: the gradient each entry receives,\nnnref.max_pool2d_backward with g = 1\n"
                "per window (so: windows that chose it)", ha="left", va="center", fontsize=11,
                transform=legend.transAxes, linespacing=1.5)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.96, wspace=0.08, hspace=0.25)
    figure.save(fig, path)
    DRAWN.add(path)


# ----------------------------------------------------------------------------- page pieces


def _code_block(src: str, indent: str = "") -> str:
    return code_block(src, indent)


def _kernel(name: str) -> str:
    return generated_kernel(name)


def _collapsed_math(title: str, t: str) -> str:
    return f'??? note "{title}"\n\n' + math_block(t, indent="    ")


def _lhs(op: PoolOp) -> str:
    return r"\frac{\partial \langle g, y\rangle}{\partial x_{%s}}" % ",".join(tex(t) for t in op.gradient.target)


def _forward_tex(op: PoolOp) -> str:
    return "y_{%s} = %s" % (",".join(tex(s) for s in op.forward_tex_index()), tex(op.forward))


def _formula_block(op: PoolOp) -> list[str]:
    return [math_block(_forward_tex(op))]


def _derivation_block(op: PoolOp) -> list[str]:
    return [_collapsed_math(f"SymPy's raw derivative ({op.name}): one Kronecker delta per index",
                            f"{_lhs(op)} = {tex(op.gradient.raw)}"), "",
            "with the deltas that fix a summation letter summed out:", "",
            math_block(f"{_lhs(op)} = {tex(_unshadow(op.gradient.formula))}")]


def _definition_section() -> list[str]:
    mx1, mx2 = pool.op_named("max_pool1d"), pool.op_named("max_pool2d")
    av1, lp1 = pool.op_named("avg_pool1d"), pool.op_named("lp_pool1d")
    aa1, am1, un1 = (pool.op_named(n) for n in ("adaptive_avg_pool1d", "adaptive_max_pool1d", "max_unpool1d"))
    return [
        "Every pooling op slides a window over each plane $(n, c)$ of the input, as a convolution does, and"
        " reduces it without weights. Output position $i$ reads the input at $s\\,i + d\\,k - p$ for kernel"
        " offsets $k = 0, \\dots, K-1$ ($s$ the stride, $d$ the dilation, $p$ the padding before the first"
        " entry, $L$ the input and $M$ the output length); in 2-D and 3-D every spatial axis has its own, and"
        " the window is the product of the axes' windows. Arrays read as zero outside their index range, and"
        " the conventions below say what padding means for a maximum.", "",
        "**max_pool**: a sum over the window with a one-hot *selector* $\\chi$ that marks the entry torch"
        " chooses (the conventions below say which). $\\chi$ is constant where the input has no ties, so this"
        " form has the derivative of the maximum there; at a tie it *is* the convention.", "",
        *_formula_block(mx1), "", "and in 2-D, as stated in `derivations/ops/pool.py`:", "", *_formula_block(mx2), "",
        "**avg_pool** (no dilation), with the divisor $D(i)$ of the next section:", "", *_formula_block(av1), "",
        "**lp_pool** (no padding, no dilation), as torch defines it: $K_{tot}$ is the number of taps of a full"
        " window and $P$ is `norm_type`, so a full window gives $(\\sum_k x^P)^{1/P}$ and a window cut short by"
        " `ceil_mode` is rescaled to the full count:", "", *_formula_block(lp1), "",
        "**adaptive_avg_pool** and **adaptive_max_pool**: window $i$ of $M$ over $L$ entries is"
        " $[\\lfloor iL/M \\rfloor, \\lceil (i+1)L/M \\rceil)$ and $W$ is its indicator (next section);"
        " `output_size` 1 is global average pooling:", "", *_formula_block(aa1), "", *_formula_block(am1), "",
        "**max_unpool**: each input value is written at its recorded flat index within the output plane"
        " ($j$ runs over the flattened plane), zeros elsewhere:", "", *_formula_block(un1), "",
        "\n".join(f"- {md(note)}" for op in (mx1, av1, lp1, aa1) for note in op.notes), "",
    ]


def _rules_section() -> list[str]:
    div = pool.divisor_rule()
    i, j, L, M = sp.symbols("i j L M", integer=True)
    lo, hi = pool.adaptive_bounds(i, L, M)
    indicator = pool.window_indicator()
    return [
        "**avg_pool's divisor** $D(i)$, per axis, is the number of window positions that count. With"
        " `count_include_pad=True` the window $[s\\,i - p, s\\,i - p + K)$ is clipped to the padded input"
        " $[-p, L + p)$ (so a window that `ceil_mode` lets run past the padding does not count its"
        " overhang); with `False` it is clipped to the input $[0, L)$:", "",
        math_block(r"D_{\text{include pad}}(i) = " + tex(div["include_pad"])), "",
        math_block(r"D_{\text{exclude pad}}(i) = " + tex(div["exclude_pad"])), "",
        "In 2-D and 3-D $D$ is the product of the axes' counts; `divisor_override` replaces it by a constant."
        " lp_pool uses the `count_include_pad` form with $p = 0$. Printed into the engine as `avg_divisor`.", "",
        "**Adaptive windows**: window $i$ of $M$ over an axis of $L$ entries is $[a_i, b_i)$ with", "",
        math_block(f"a_i = {tex(lo)}, \\qquad b_i = {tex(hi)}"), "",
        "(torch's start and end index), so neighbouring windows overlap when $M$ does not divide $L$, and"
        " an entry may sit in two windows. Its indicator, kept as the unevaluated $W$ in the formulas so that"
        " SymPy treats it as the constant it is:", "",
        math_block(f"W(i, j, L, M) = {tex(indicator.expr)}"), "",
        "Printed into the engine as `adaptive_bounds`.",
    ]


def _derivation_section(tie: Any) -> list[str]:
    a, b = sp.symbols("a b", real=True)
    d_max = sp.diff(sp.Max(a, b), a)
    parts = [
        "SymPy differentiates $\\langle g, y\\rangle = \\sum g\\,y$ ($g$ the upstream gradient, the shape of $y$)"
        " with respect to one input entry $x_{n',c',j'}$ (primed: the entry differentiated). Its raw result has"
        " one Kronecker delta per index; the deltas that tie a summation letter to the entry's own index"
        " ($n = n'$, $c = c'$, and $j = j'$ for the adaptive ops) are summed out. The delta that ties the input"
        " position to the window, $j' = s\\,i + d\\,k - p$, stays: it says *where* each output's gradient is"
        " written, which the engine does as the adjoint of its window read (`_window.scatter_windows`).", ""]
    for kind, title in KIND_TITLES.items():
        op = _ops_of(kind)[0]
        parts += [f"**{title}** (`{op.name}`):", "", *_derivation_block(op), ""]
    parts += [
        "max_pool2d, the same with one delta per axis:", "", *_derivation_block(pool.op_named("max_pool2d")), "",
        "For max_pool the derivative is the upstream gradient routed through the selector: each window sends"
        " $g$ to the one entry it chose, and an entry chosen by several windows collects the sum. For lp_pool"
        " SymPy writes $x^{P-1}$ as $x^P / x$; the engine multiplies by $P\\,x^{P-1}$ instead, and a window"
        " whose sum is 0 passes no gradient (a convention below).", "",
        "**Why max needs a convention.** SymPy's own derivative of a maximum is a step function,", "",
        math_block(r"\frac{\partial}{\partial a} \max(a, b) = " + tex(d_max)), "",
        f"and at a tie $a = b$ it evaluates to ${tex(tie)}$ (`pool_proofs.sympy_max_tie()`): the calculus of"
        " SymPy splits a tie's gradient evenly. torch's is all-or-nothing: one entry of the window receives"
        " the whole $g$ and every other entry, tied or not, receives 0. nnref follows torch; the conventions say"
        " which entry.",
    ]
    return parts


def _conventions() -> list[tuple[PoolConvention, list[PoolOp]]]:
    """Every declared convention once, with the ops that declare it (declaration order)."""
    seen: dict[str, tuple[PoolConvention, list[PoolOp]]] = {}
    for op in pool.OPS:
        for conv in op.conventions:
            seen.setdefault(conv.label, (conv, []))[1].append(op)
    return list(seen.values())


def _conventions_section(sizes: Any, plots: bool) -> list[str]:
    rule = pool.size_rule()
    rows = [[cell(c.label), cell(c.rule), cell(c.why), _names(ops)] for c, ops in _conventions()]
    n_sizes = f"on {sizes} settings" if isinstance(sizes, int) else "(check failed, see Output size)"
    parts = [
        "Calculus leaves open which entry of a window receives the gradient when the maximum is not unique;"
        " IEEE arithmetic adds NaN, and the windows add padding, overlaps and overhangs. Each choice is"
        " declared in `derivations/ops/pool.py` (torch's, with the reason) and the exact checks below compare the"
        " engine with the conventions written as a plain loop (`pool.chosen_tap`).", "",
        table(["convention", "rule", "why", "ops"], rows), "",
        "The ceil_mode row in symbols: " + math_inline("M = " + tex(rule.ceil_mode)) + ", equal to torch's"
        f" two-step rule {n_sizes} (see [Output size](#pool-output-size)). The kept overhang is not a candidate"
        " for the maximum and not counted in avg_pool's divisor.", ""]
    if plots:
        parts += [f"![Where max_pool2d's gradient goes under each convention](assets/plots/{FIGURE})", "",
                  "Each panel: a tiny hand-made input with every window of `max_pool2d` outlined (one colour per"
                  " window; hatched cells are padding, dashed windows overhang the input), and on its right the"
                  " gradient each input entry receives, computed with `nnref.max_pool2d_backward` for an upstream"
                  " gradient of 1 in every window, so the number counts the windows that chose the entry:", ""]
        parts += [f"{k + 1}. **{title}** — {caption}." for k, (title, _, _, caption) in enumerate(PANELS)]
        parts.append("")
    return parts


def _size_section(sizes: Any) -> list[str]:
    rule = pool.size_rule()
    L, K, s, d, p, i = sp.symbols("L K s d p i", integer=True)
    lines = [
        "Output position $i$ reads $s\\,i + d\\,k - p$ for $k = 0, \\dots, K-1$, so a window spans"
        " $d\\,(K-1) + 1$ input positions: the dilation term. **Floor mode** keeps every window whose last tap"
        " stays inside the padded input; SymPy solves", "",
        math_block(tex(sp.Eq(s * i + d * (K - 1) - p, L - 1 + p))), "",
        "for $i$ and counts the positions up to it:", "",
        math_block("M = " + tex(rule.floor_mode)), "",
        "**ceil_mode** rounds the same count up,", "",
        math_block(r"M_{\text{ceil}} = " + tex(rule.ceil_raw)), "",
        "but drops a last window that would *start* in the right padding: $s\\,(M-1) - p < L$, that is"
        f" $M \\le {tex(rule.ceil_limit)}$. Together:", "",
        math_block("M = " + tex(rule.ceil_mode)), "",
        "Both are printed into `pool_out_size`. torch computes the size in two steps (round up, then take one"
        " off when the last window starts at or past $L + p$), as `pool_proofs.torch_rule` writes it:", "",
        _code_block(inspect.getsource(pool_proofs.torch_rule).rstrip()), ""]
    if isinstance(sizes, int):
        lines.append(f"- ✔ **exact**: the derived closed forms equal torch's two-step rule on {sizes} settings"
                     " (`pool_proofs.size_rule_agrees`: $L = 1, \\dots, 8$, $K = 1, \\dots, 4$,"
                     " $s = 1, \\dots, 4$, $d = 1, 2, 3$, $p \\le K/2$, floor and ceil mode, every nonempty"
                     " output). *Compared as integers.*")
    else:
        lines.append(f"- ✘ **check failed**: {md(sizes)}")
    return lines


CHECK_METHOD = {
    "avg": "arrays of SymPy symbols: forward = the index formula with $D$ from the divisor rule, VJP = SymPy's"
           " derivative; compared as polynomials",
    "max": "small integers with ties and ±∞ (one plane all −∞), once with NaN and once without (the engine's"
           " two paths): values, indices and gradient = the selector formula and SymPy's derivative with"
           " $\\chi$ from the conventions' loop; compared exactly",
    "lp": "rational inputs, $P = 2$ and $3$: the formula and SymPy's derivative evaluated in exact arithmetic"
          " and rounded once; the engine must agree to within rounding error (`lp_exact_check` states the bound)",
    "adaptive_avg": "arrays of SymPy symbols against the formula with $W$ and SymPy's derivative; polynomials",
    "adaptive_max": "small integers with NaN and −∞ against the selector formula with $\\chi$ from the"
                    " conventions' loop; compared exactly",
    "max_unpool": "symbols for $g$: the VJP = SymPy's $g_{n',c',\\text{idx}_{n',c',i'}}$, then the public"
                  " function on numbers",
}


def _exact_section(results: dict[str, Any]) -> list[str]:
    rows = []
    for op in pool.OPS:
        res = results[op.name]
        if isinstance(res, str):
            rows.append([f"`{op.name}`", "—", "—", f"✘ **failed**: {cell(res)}"])
        else:
            rows.append([f"`{op.name}`", str(res[0]), f"{res[1]:,}", "✔ to rounding" if op.kind == "lp" else "✔ exact"])
    failed = [op.name for op in pool.OPS if isinstance(results[op.name], str)]
    methods = [f"- **{title}**: {CHECK_METHOD[kind]}." for kind, title in KIND_TITLES.items()]
    return [
        f"Run when this page was built (`derivations/proofs/pool.py`, `{_profile()}` profile;"
        " `NNREF_PROFILE=thorough` runs the full grid). The window ops run over small configurations that vary"
        " size, kernel, stride, padding (0 and kernel/2), dilation (max_pool), ceil_mode, count_include_pad and"
        " divisor_override (avg_pool) — each axis on its own in 2-D — and skip configurations with an empty"
        " window (in 3-D two hand-picked configurations that between them have every feature); the adaptive"
        " ops over output sizes that do and do not divide the input (and larger than it);"
        " max_unpool over one 2-channel plane per rank. An *entry* is one output value or one gradient entry"
        " compared.", "",
        *methods, "",
        table(["op", "configurations", "entries", "result"], rows), "",
        (f"**{len(failed)} op(s) failed an exact check**: {', '.join(failed)}." if failed
         else "Every entry agreed: exactly, and lp_pool's to within rounding of the exact value."),
    ]


def _code_section() -> list[str]:
    from nnref import _pool as public

    def collapsed(title: str, src: str) -> list[str]:
        return [f'??? note "{title}"', "", _code_block(src, "    "), ""]

    parts = [
        "Printed into `nnref/_generated/pool.py` by `python -m derivations generate` (never edited; a test"
        " fails when the file differs from what the derivations produce). `_win` is `nnref/_window.py` (windows"
        " read with the same affine `At` indices as the convolution's gather), `_af` is `nnref/_affine.py`"
        " (the convolution's affine index `at`), `_rt` is `nnref/_runtime.py`. The docstring of each VJP is SymPy's"
        " derived formula. Each op's page shows its own forward and VJP kernels (max_pool2d's forward returns"
        " `chosen`, the tap each window chose; its VJP takes no indices, makes the same choice again from `x`"
        " and routes the gradient to it). The size, divisor and window-bound rules that all of them call,"
        " printed from the SymPy expressions above:", "",
        _code_block("\n\n\n".join(_kernel(n) for n in ("pool_out_size", "avg_divisor", "adaptive_bounds"))), ""]
    hand = [f for f in ("_adaptive_avg", "_adaptive_avg_vjp", "_adaptive_max", "_scatter_flat") if hasattr(public, f)]
    if hand:
        parts += ["The adaptive ops and max_unpool have no affine window, so their kernels are written by hand in"
                  " `nnref/_pool.py` on the generated `adaptive_bounds`; the exact checks above hold them to the"
                  " same formulas:", ""]
        parts += collapsed("adaptive pooling and max_unpool (hand-written)",
                           "\n\n\n".join(inspect.getsource(getattr(public, f)).rstrip() for f in hand))
    return parts


def _tolerance_section() -> list[str]:
    groups: dict[int, list[PoolOp]] = {}
    for op in pool.OPS:
        groups.setdefault(id(op.tolerances), []).append(op)
    rows = []
    for ops in groups.values():
        for k, dt in enumerate(("float64", "float32")):
            t = ops[0].tol(dt)
            rows.append([_names(ops) if k == 0 else "", dt, fmt(t.rtol, 3), fmt(t.atol, 3), cell(t.why)])
    return ["nnref passes when |nnref − torch| ≤ atol + rtol·|torch| for every entry; the ops in a row share"
            " their tolerances:", "", table(["ops", "dtype", "rtol", "atol", "why"], rows)]


def _bench_section() -> list[str]:
    data = json.loads(BENCH.read_text()) if BENCH.exists() else {}
    rows = data.get("pool_rows")
    if not rows:
        return ["The pooling benchmark has not been run yet: `benchmarks/conv_bench.json` has no `pool_rows`"
                " (`PYTHONPATH=. .venv/bin/python benchmarks/conv_bench.py --only pool --json"
                " benchmarks/conv_bench.json`)."]
    # conv_bench.py stamps the pooling table on its own (it can run alone); older files only have date/machine
    when = data.get("pool_date", data.get("date", "?"))
    where = data.get("pool_machine", data.get("machine", "?"))
    versions = data.get("pool_versions", data.get("versions"))
    header = data.get("pool_header")
    shared = ""
    if header and all("cells" in r for r in rows):
        cells = [r["cells"] for r in rows]
        keep = list(range(len(header)))
        # The input's shape is the same in every case: said once above the table, the column goes,
        # so the ratios' range and the verdict fit on the page.
        if "input N, C, H×W" in header:
            k = header.index("input N, C, H×W")
            if len({c[k] for c in cells}) == 1:
                keep.remove(k)
                shared = f" Input (N, C, H×W) = ({cells[0][k]}) in every case."
        heads = [header[k] for k in keep]
        body = [[c[k] for k in keep] for c in cells]
        if "nnref ms" in heads and heads.index("torch ms") == heads.index("nnref ms") + 1:
            # the two times as one column, "nnref / torch": one column fewer, the same numbers
            k = heads.index("nnref ms")
            heads[k:k + 2] = ["ms: nnref / torch"]
            for r in body:
                r[k:k + 2] = [f"{r[k]} / {r[k + 1]}"]
        bench_table = table([cell(h) for h in heads], [[bench_cell(c) for c in r] for r in body])
    else:
        body = []
        for r in rows:
            case = r["case"]
            case_text = ", ".join(map(str, case)) if isinstance(case, (list, tuple)) else str(case)
            ratio, target = float(r["ratio"]), float(r["target"])
            body.append([cell(case_text), r["dtype"], f"{float(r['nnref_ms']):.1f}",
                         f"{float(r['torch_ms']):.1f}", f"{ratio:.2f}×",
                         f"≤ {target:g}× " + ("✔" if ratio <= target else "✘ **missed**")])
        bench_table = table(["case", "dtype", "nnref ms", "torch ms", "nnref / torch", "target"], body)
    missed = [r for r in rows if float(r["ratio"]) > float(r["target"])]
    repeats = data.get("pool_repeats")
    runs = int(data.get("pool_runs", 1))
    return [f"Measured {when} on {where}" + (f" ({versions})" if versions else "")
            + " by `benchmarks/conv_bench.py`: forward then backward, median time per library"
            + (f" over {repeats} alternating turns, {WARM_TURNS}" if repeats else "")
            + (f", in each of {runs} runs over the whole table; a case's ratio is the median of its runs' ratios"
               " (their range is shown)" if runs > 1 else "") + "." + shared, "",
            bench_table, "",
            f"**{len(missed)} case(s) missed the target in this run.**" if missed
            else "Every case met its target" + (" (median over runs)." if runs > 1 else "."),
            *run_misses(rows, lambda r: f"{r['cells'][0]} {r['cells'][2]} {r['dtype']}"),
            "", "Target: forward + backward within 2× torch. How nnref gets there (`nnref/_window.py`): the input is"
            " copied once into a layout split by stride phase, in which each tap's entries for every output of every"
            " plane form one contiguous run, so a window reduction is a handful of long NumPy loops (one per tap);"
            " the few grid positions that are not outputs are computed and dropped. max_pool's backward takes no"
            " indices, so it makes the forward's choice again (the maximum, then the first tap equal to it) and then"
            " builds the gradient inside that same split copy, assigning the first tap of each phase and adding the"
            " rest, before copying it back to the input's layout. Large inputs run in blocks of planes, so the"
            " temporaries of one block are reused while still in the cache, in threads. Two costs remain nnref's"
            " own: the recomputed choice (torch's backward reuses the indices its forward saved), and a separate"
            " NumPy pass per step where torch's kernel makes one pass per window. On this 2-core virtual machine"
            " the second thread helps back to back (max_pool2d 3×3 float64: 0.77× the one-thread time) but not"
            " after the benchmark's 0.2 s pause between turns (1.02×), so these numbers are close to one thread's."]


# ----------------------------------------------------------------------------- the page


def render_page(title: str, verification: dict[str, Any] | None, plots_dir: Path | None) -> tuple[str, int, int]:
    ck = checks()
    plots = 0
    if plots_dir is not None:
        draw_figure(plots_dir / FIGURE)
        plots = 1
    ops = pool.OPS

    def lines(parts: list[str]) -> str:
        return "\n".join(parts)

    text = render(
        "pooling.md.j2", title=title, listing=overview_table(ops),
        definition=lines(_definition_section()), rules=lines(_rules_section()),
        derivation=lines(_derivation_section(ck["tie"])),
        conventions=lines(_conventions_section(ck["sizes"], bool(plots))),
        sizes=lines(_size_section(ck["sizes"])), code=lines(_code_section()), exact=lines(_exact_section(ck["ops"])),
        tolerances=lines(_tolerance_section()), bench=lines(_bench_section() + ["", *stride_bench()]),
        verification=_verification_summary(verification))
    return text, len(ops), plots


def _verification_summary(verification: dict[str, Any] | None) -> str:
    if verification is None:
        return "Not yet run: `make site` runs the verification."
    return ("Each op's page has its table: the largest differences between torch and nnref, per dtype, forward"
            " and input gradient, with the run's provenance; the [verification page](verification.md) lists"
            " every op's result in one table.")


# ----------------------------------------------------------------------------- one op's page


def _op_conventions(op: PoolOp) -> str:
    if not op.conventions:
        return ("None needed: the op is a sum (or a copy) of its window's entries, with the derivative SymPy"
                " derives everywhere; NaN and ±∞ propagate as through any sum.")
    rows = [[cell(c.label), cell(c.rule), cell(c.why)] for c in op.conventions]
    return "\n".join([f"Declared for `{op.name}` in `derivations/ops/pool.py` (torch's choice, with the reason);"
                      " the [family page](pooling.md#pool-conventions) pictures them and says why a maximum needs"
                      " them:", "", table(["convention", "rule", "why"], rows)])


def _op_check(op: PoolOp) -> str:
    res = checks()["ops"][op.name]
    how = f"{CHECK_METHOD[op.kind][0].upper()}{CHECK_METHOD[op.kind][1:]}."
    if isinstance(res, str):
        return f"- ✘ **failed**: {md(res)}\n\n{how}"
    done = "✔ to rounding" if op.kind == "lp" else "✔ exact"
    return (f"- {done}: {res[0]} configurations, {res[1]:,} entries compared (`derivations/proofs/pool.py`,"
            f" `{_profile()}` profile; the [family page](pooling.md#pool-exact) describes the grid).\n\n{how}")


def render_op_page(op: PoolOp, verification: dict[str, Any] | None) -> str:
    """One pooling op's page (links written from docs/; ``sections.render_op_page`` relinks)."""
    a = anchor(op.name)
    tol = [[dt, fmt(op.tol(dt).rtol, 3), fmt(op.tol(dt).atol, 3), cell(op.tol(dt).why)]
           for dt in ("float64", "float32")]
    kernels = kernel_sources(op)
    if kernels:
        code = ("Printed into `nnref/_generated/pool.py` from the derivation above (never edited; a test fails when"
                " the file differs). The shared size, divisor and window rules are on the"
                f" [family page](pooling.md#pool-code).\n\n{collapsed_code(kernels)}")
    else:
        code = ("No affine window, so the kernel is written by hand in `nnref/_pool.py` on the generated"
                " `adaptive_bounds` and held to the formula above by the exact check; the"
                " [family page](pooling.md#pool-code) shows it.")
    parts = [
        page_head(op, signature_line(op)), "",
        f"## Definition {{#{a}-definition}}", "", arguments_table(op), "", *_formula_block(op), "",
        *[f"- {md(n)}" for n in op.notes], "",
        "The window, padding, divisor and adaptive-window rules are the family's:"
        " [Definition](pooling.md#pool-definition), [Divisor and adaptive windows](pooling.md#pool-windows),"
        " [Output size](pooling.md#pool-output-size).", "",
        f"## Derivation {{#{a}-derivation}}", "",
        "SymPy differentiates $\\langle g, y\\rangle = \\sum g\\,y$ ($g$ the upstream gradient) with respect to one"
        " input entry (primed); the deltas that fix a summation letter are summed out, and the one that ties"
        " the entry to its window stays ([how, for the whole family](pooling.md#pool-derivation)):", "",
        *_derivation_block(op), "",
        f"## Conventions {{#{a}-conventions}}", "", _op_conventions(op), "",
        f"## Exact check {{#{a}-exact}}", "", _op_check(op), "",
        f"## Tolerances {{#{a}-tolerances}}", "",
        "nnref passes when |nnref − torch| ≤ atol + rtol·|torch| for every entry.", "",
        table(["dtype", "rtol", "atol", "why"], tol), "",
        f"## Accuracy {{#{a}-accuracy}}", "", op_accuracy(op, None), "",
        f"## Generated code {{#{a}-code}}", "", code, "",
        verification_section(op, verification, "##"), "",
        source_section(op), ""]
    return render("op_sections.md.j2", body="\n".join(parts))
