"""The convolution page and the worked examples E4 and E5, from ``derivations/ops/conv.py``.

Everything shown is computed here: SymPy's formulas and derivatives, the proofs and exact
checks (``derivations.proofs.conv``), the output-size table, the picture (drawn with nnref's own
gradients), the generated code (read from ``nnref/_generated/conv.py``) and the benchmark table
(``benchmarks/conv_bench.json``, written by ``benchmarks/conv_bench.py``).

Owns: ``render_page`` for records whose renderer is "conv" (template ``convolution.md.j2``):
the family page, with what the six ops share; ``render_op_page``, each op's own page (its call
and example, arguments, formulas, derivation, exact check, tolerances, kernels, verification);
``e4_e5_claims`` / ``render_e4_e5`` for the worked-examples page, ``DRAWN``.  Imports:
``derivations`` (ops.conv, proofs.conv, derive), ``nnref``, ``.accuracy``, ``.claims``, ``.jobs``,
``.kernels``, ``.latex``, ``.markup``, ``.op_page``, ``.paths``, ``.tables``, ``.templating``,
``.verification``; no other page module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from derivations.derive import Proof
from derivations.ops import conv
from derivations.proofs import conv as conv_proofs

from . import figure
from .accuracy import op_accuracy
from .claims import check_claim, claims_table, numeric_claim
from .jobs import fork_map, profile
from .kernels import generated_kernel, kernel_sources, signature_line
from .latex import tex as base_tex
from .markup import (
    anchor,
    bench_cell,
    cell,
    code_block,
    fmt,
    fmt_vec,
    math_block,
    maybe_collapsed,
    md,
    run_misses,
    table,
    table_math,
)
from .op_page import collapsed_code, overview_table, page_head, source_section
from .paths import BENCH
from .robustness import WARM_TURNS
from .tables import arguments_table, tolerance_table
from .templating import render
from .verification import verification_section

FIGURE = "conv_receptive_field.svg"
DRAWN: set[Path] = set()  # the plots this module drew (pages.build keeps them)



def tex(expr: Any) -> str:
    """SymPy's LaTeX, with primed letters (the entry a derivative is taken at) as n′."""
    out = base_tex(expr)
    for name in ("n", "c", "o", "gamma", "j", "k", "i", "j_{0}", "j_{1}", "j_{2}"):
        out = out.replace(r"\text{%s'}" % name, f"{name}'")
    return out.replace(r"\text{gamma'}", r"\gamma'")


# ----------------------------------------------------------------------------- proofs (cached)

_PROOFS: dict[str, Any] = {}


def _profile() -> str:
    return profile()


def _grid_job(name: str) -> Proof | str:
    try:
        return conv_proofs.grid_proof(conv.op_named(name), _profile())
    except AssertionError as exc:  # a failed check is shown, not hidden
        return f"AssertionError: {exc}"


def proofs() -> dict[str, Any]:
    """Every convolution proof and check, once (grid checks in parallel where the platform forks)."""
    if _PROOFS:
        return _PROOFS
    names = [op.name for op in conv.OPS]
    grids = fork_map(_grid_job, names)
    _PROOFS["grid"] = dict(zip(names, grids))
    _PROOFS["relations"] = {
        "weight": conv_proofs.weight_grad_is_correlation(),
        "input": conv_proofs.input_grad_is_transposed(),
        "flip": conv_proofs.correlation_is_flipped_convolution(),
    }
    try:
        _PROOFS["relation_checks"] = conv_proofs.relationship_checks()
    except AssertionError as exc:
        _PROOFS["relation_checks"] = f"AssertionError: {exc}"
    _PROOFS["sizes"] = conv_proofs.size_proofs()
    return _PROOFS


# ----------------------------------------------------------------------------- the picture


def receptive_field(layers: list[tuple[int, int]], size: int) -> np.ndarray:
    """How many paths join each input pixel to the centre unit of the last layer, through
    convolutions with all-ones k×k kernels and the given strides, computed with
    nnref.conv2d_backward: nonzero exactly on the receptive field."""
    import nnref

    shapes = [size]
    for k, s in layers:
        shapes.append((shapes[-1] - k) // s + 1)
    g = np.zeros((1, 1, shapes[-1], shapes[-1]))
    g[0, 0, shapes[-1] // 2, shapes[-1] // 2] = 1.0
    for (k, s), n_in in zip(reversed(layers), reversed(shapes[:-1])):
        w = np.ones((1, 1, k, k))
        g = nnref.conv2d_backward(g, np.zeros((1, 1, n_in, n_in)), w, stride=s)["input"]
    return g[0, 0]


def _extent(field: np.ndarray) -> int:
    rows = np.flatnonzero(field.any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def draw_figure(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Rectangle

    import nnref

    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.2), dpi=100, gridspec_kw={"width_ratios": [10.3, 17.6, 9.6]})

    def grid(ax: Any, n: int, ox: float, oy: float, shade: np.ndarray | None = None, color: str = "C0",
             label: str = "") -> None:
        top = shade.max() if shade is not None and shade.max() > 0 else 1.0
        for r in range(n):
            for c in range(n):
                v = 0.0 if shade is None else shade[r, c] / top
                ax.add_patch(Rectangle((ox + c, oy + n - 1 - r), 1, 1, facecolor=matplotlib.colors.to_rgba(color, 0.15
                                       + 0.7 * v) if v > 0 else "white", edgecolor="0.55", lw=0.6))
        if label:
            ax.text(ox + n / 2, oy - 0.6, label, ha="center", va="top", fontsize=10)

    # (a) a 3×3 kernel sliding over a 5×5 input: two positions, their outputs (E4's image).
    image = np.tile(np.array([4.0, 3.0, 2.0, 1.0, 0.0]), (5, 1))
    kernel = np.tile(np.array([1.0, 0.0, -1.0]), (3, 1))
    fmap = nnref.conv2d(image[None, None], kernel[None, None])[0, 0]
    ax = axes[0]
    grid(ax, 5, 0, 0)
    for r in range(5):
        for c in range(5):
            ax.text(c + 0.5, 4 - r + 0.5, f"{image[r, c]:g}", ha="center", va="center", fontsize=10)
    for (r0, c0), color in (((0, 0), "C1"), ((0, 2), "C2")):
        ax.add_patch(Rectangle((c0, 5 - 3 - r0), 3, 3, fill=False, edgecolor=color, lw=2.2))
    grid(ax, 3, 6.5, 1)
    for r in range(3):
        for c in range(3):
            ax.text(6.5 + c + 0.5, 1 + 2 - r + 0.5, f"{fmap[r, c]:g}", ha="center", va="center", fontsize=10)
    ax.add_patch(Rectangle((6.5, 3), 1, 1, fill=False, edgecolor="C1", lw=2.2))
    ax.add_patch(Rectangle((8.5, 3), 1, 1, fill=False, edgecolor="C2", lw=2.2))
    ax.add_patch(FancyArrowPatch((5.1, 2.5), (6.4, 2.5), arrowstyle="->", mutation_scale=10, color="0.3"))
    ax.set_title("a 3×3 kernel slides over the input", fontsize=10)
    ax.text(2.5, -0.6, "input (E4's image)", ha="center", va="top", fontsize=10)
    ax.text(8.0, 0.4, "feature map", ha="center", va="top", fontsize=10)

    # (b) two 3×3 layers: one unit of layer 2 sees 3×3 of layer 1 and 5×5 of the input.
    field1 = receptive_field([(3, 1)], 5)
    field2 = receptive_field([(3, 1), (3, 1)], 7)
    ax = axes[1]
    grid(ax, 7, 0, 0, field2, "C3", "input: 5×5 field")
    grid(ax, 5, 8, 1, field1, "C3", "layer 1: 3×3")
    grid(ax, 3, 14, 2, np.pad(np.ones((1, 1)), 1), "C3", "layer 2: one unit")
    ax.set_title("the receptive field grows over two layers", fontsize=10)
    for start, end in (((14.0, 3.5), (12.6, 3.5)), ((8.0, 3.5), (6.6, 3.5))):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="->", mutation_scale=10, color="0.3"))
    for r in range(7):
        for c in range(7):
            if field2[r, c]:
                ax.text(c + 0.5, 6 - r + 0.5, f"{field2[r, c]:g}", ha="center", va="center", fontsize=9)

    # (c) stride 2 in the first layer widens it further.
    field3 = receptive_field([(3, 2), (3, 1)], 9)
    ax = axes[2]
    grid(ax, 9, 0, 0, field3, "C4", f"input: {_extent(field3)}×{_extent(field3)} field")
    ax.set_title("with stride 2 in layer 1", fontsize=10)
    for a in axes:
        a.set_aspect("equal")
        a.axis("off")
        a.autoscale_view()
    axes[0].set_xlim(-0.3, 10), axes[0].set_ylim(-1.6, 5.3)
    axes[1].set_xlim(-0.3, 17.3), axes[1].set_ylim(-1.6, 7.3)
    axes[2].set_xlim(-0.3, 9.3), axes[2].set_ylim(-1.6, 9.3)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9, wspace=0.08)
    figure.save(fig, path)
    DRAWN.add(path)


# ----------------------------------------------------------------------------- worked examples E4, E5

E4_IMAGE = np.tile(np.array([4.0, 3.0, 2.0, 1.0, 0.0]), (5, 1))
E4_KERNEL = np.tile(np.array([1.0, 0.0, -1.0]), (3, 1))
# E5's stated sizes: a 1000×1000 RGB image, a dense layer of 1000 units, or a 3×3 convolution to 64 channels.
E5_IMAGE = (3, 1000, 1000)
E5_UNITS = 1000
E5_CONV_OUT = 64


def compute_e4() -> dict[str, Any]:
    import nnref

    fmap = nnref.conv2d(E4_IMAGE[None, None], E4_KERNEL[None, None])[0, 0]
    true_conv = nnref.conv2d(E4_IMAGE[None, None], E4_KERNEL[::-1, ::-1][None, None])[0, 0]
    products = E4_IMAGE[:3, :3] * E4_KERNEL
    return {"fmap": fmap, "true_conv": true_conv, "products": products}


def compute_e5() -> dict[str, Any]:
    import nnref

    fields = {
        "one 3×3 layer": receptive_field([(3, 1)], 3),
        "two 3×3 layers": receptive_field([(3, 1), (3, 1)], 5),
        "two 3×3 layers, stride 2 in the first": receptive_field([(3, 2), (3, 1)], 9),
        # 2×2 pooling (stride 2) between the layers, as a 2×2 all-ones convolution with
        # stride 2: the same window as max or average pooling, so the same receptive field.
        "3×3, 2×2 pooling, 3×3": receptive_field([(3, 1), (2, 2), (3, 1)], 10),
    }
    c, h, w = E5_IMAGE
    fc = nnref.linear(np.zeros((1, 4)), np.zeros((E5_UNITS, 4)))  # the layer's shapes: weight (out, in)
    del fc
    dense_weights = E5_UNITS * c * h * w
    conv_weight = np.zeros((E5_CONV_OUT, c, 3, 3))
    y = nnref.conv2d(np.zeros((1, c, 8, 8)), conv_weight, np.zeros(E5_CONV_OUT), padding=1)
    return {"fields": {k: (_extent(v), int(np.count_nonzero(v))) for k, v in fields.items()},
            "dense_weights": dense_weights, "dense_biases": E5_UNITS, "conv_weights": conv_weight.size,
            "conv_biases": E5_CONV_OUT, "conv_out_shape": y.shape, "kernels": E5_CONV_OUT * c}


def e4_e5_claims() -> list[Any]:
    e4 = compute_e4()
    inp = "I: every row [4, 3, 2, 1, 0]; K: every row [1, 0, −1]"
    claims = [
        numeric_claim("E4.00", "$(I * K)(0, 0) = \\sum_m \\sum_n I(m, n)\\,K(m, n)$ (`nnref.conv2d`)", inp, 10.0,
                         e4["fmap"][0, 0], 0, claimed_text="(4·1)+(3·0)+(2·−1) three times = 10",
                         note="The nine products are 4, 0, −2 in each of the three rows: 2 per row, 6 in all. The"
                              " source's 10 is an arithmetic slip; its formula is right."),
        check_claim("E4.map", "sliding the 3×3 filter over the 5×5 image gives the feature map", inp,
                       "a feature map", f"3×3, every entry {fmt(e4['fmap'][0, 0])}: {fmt_vec(e4['fmap'])}",
                       e4["fmap"].shape == (3, 3), e4["fmap"],
                       "Every 3×3 window of this image holds the same three columns up to a shift of 1, and the"
                       " filter's columns sum to 0, so every position gives 6."),
        check_claim("E4.corr", "the formula is cross-correlation; true convolution flips the kernel", inp,
                       "cross-correlation (called convolution)",
                       f"true convolution (kernel flipped) gives {fmt(e4['true_conv'][0, 0])} everywhere",
                       bool(np.all(e4["true_conv"] == -e4["fmap"])), e4["true_conv"]),
    ]
    e5 = compute_e5()
    f = e5["fields"]
    claims += [
        numeric_claim("E5.rf1", "input pixels one unit of a 3×3 layer sees", "one 3×3 convolution", 9,
                         f["one 3×3 layer"][1], 0, claimed_text="9"),
        check_claim("E5.rf2", "a unit of a second 3×3 layer is influenced by a larger region",
                       "two 3×3 convolutions, stride 1", "larger than 3×3",
                       f"{f['two 3×3 layers'][0]}×{f['two 3×3 layers'][0]} = {f['two 3×3 layers'][1]} pixels",
                       f["two 3×3 layers"][1] > 9, f["two 3×3 layers"][1]),
        check_claim("E5.rf_stride", "… with stride 2 in the first layer", "3×3 stride 2, then 3×3",
                       "(computed only)", f"{f['two 3×3 layers, stride 2 in the first'][0]}×"
                       f"{f['two 3×3 layers, stride 2 in the first'][0]}", None,
                       f["two 3×3 layers, stride 2 in the first"][0]),
        check_claim("E5.rf_pool", "… with 2×2 pooling (stride 2) between the layers", "3×3, pool 2×2, 3×3",
                       "(computed only)", f"{f['3×3, 2×2 pooling, 3×3'][0]}×{f['3×3, 2×2 pooling, 3×3'][0]}", None,
                       f["3×3, 2×2 pooling, 3×3"][0]),
        check_claim("E5.dense", "a dense layer on a multi-million-pixel image with a thousand units needs"
                       " billions of weights", f"{E5_IMAGE[1]}×{E5_IMAGE[2]} RGB image, {E5_UNITS} units",
                       "billions", f"{e5['dense_weights']:,} weights (+{e5['dense_biases']:,} biases)",
                       e5["dense_weights"] >= 1e9, e5["dense_weights"]),
        check_claim("E5.conv", "a convolutional layer shares one small kernel per (input, output channel) pair",
                       f"3 → {E5_CONV_OUT} channels, 3×3 kernels", "one kernel per pair",
                       f"{e5['kernels']} kernels of 9 weights = {e5['conv_weights']:,} weights (+{e5['conv_biases']}"
                       " biases), whatever the image size", e5["conv_weights"] == e5["kernels"] * 9,
                       e5["conv_weights"]),
    ]
    return claims


def render_e4_e5(claims: list[Any]) -> str:
    e4 = compute_e4()
    by = lambda p: [c for c in claims if c.key.startswith(p)]  # noqa: E731
    prod = e4["products"]
    rows = [[f"row {r}"] + [fmt(v) for v in prod[r]] + [fmt(prod[r].sum())] for r in range(3)]
    e5 = compute_e5()
    fields = [[name, f"{ext}×{ext}", str(count)] for name, (ext, count) in e5["fields"].items()]
    return f"""## E4 — a 3×3 filter over a 5×5 image {{#e4-convolution}}

Every row of the image $I$ is $[4, 3, 2, 1, 0]$, every row of the filter $K$ is $[1, 0, -1]$,
and the source's formula is $(I * K)(i, j) = \\sum_m \\sum_n I(i+m, j+n)\\,K(m, n)$: what deep
learning calls convolution, and what mathematics calls cross-correlation (no kernel flip);
`nnref.conv2d` computes exactly that. The nine products at position $(0, 0)$:

{table(["", "n = 0", "n = 1", "n = 2", "row sum"], rows)}

{claims_table(by("E4"))}

The [convolution page](convolution.md#conv-relationships) proves in general that
cross-correlation is true convolution with the kernel flipped.

## E5 — receptive fields and parameter counts {{#e5-receptive-fields}}

The receptive field of one unit is the set of input pixels its value depends on: the
pixels where the gradient of that unit with respect to the input is nonzero. Below it is
computed with `nnref.conv2d_backward` (all-ones kernels, so nothing cancels), centre unit of
the last layer; a 2×2 pooling step is a 2×2 window with stride 2, the same window max or
average pooling reads.

{table(["layers", "receptive field", "input pixels"], fields)}

Parameter counts for stated sizes: a {E5_IMAGE[1]}×{E5_IMAGE[2]} RGB image
({E5_IMAGE[0] * E5_IMAGE[1] * E5_IMAGE[2]:,} inputs) into a dense layer of {E5_UNITS} units
(`nnref.linear`'s weight has shape (out, in)), against a 3×3 convolution from 3 to
{E5_CONV_OUT} channels (`nnref.conv2d`'s weight has shape ({E5_CONV_OUT}, 3, 3, 3), and the
same weights serve an image of any size).

{claims_table(by("E5"))}
"""


# ----------------------------------------------------------------------------- the page


def _code_block(src: str, indent: str = "") -> str:
    return code_block(src, indent)


def _kernel(name: str) -> str:
    return generated_kernel(name)


def _proof_line(p: Proof | str) -> str:
    if isinstance(p, str):
        return f"- ✘ **check failed**: {md(p)}"
    return f"- ✔ **{p.method}**: {md(p.claim)}. *{md(p.detail)}.*"


def _formula_section(op: conv.ConvOp) -> list[str]:
    st = op.stated
    name = op.name
    parts = [f"**{name}**, as stated (channels numbered across groups; $C_g$, $O_g$ channels per group):", "",
             math_block(r"y_{" + ",".join(tex(s) for s in st.out_index) + "} = " + tex(st.forward.formula)),
             "", "and as the engine runs it, the channel axes split into (group $\\gamma$, channel in group), so"
             " every index is affine:", "",
             math_block(r"y_{" + ",".join(tex(s) for s in op.grouped.out_index) + "} = "
                           + tex(op.grouped.forward.formula))]
    return parts


def _derivation_section(op: conv.ConvOp) -> list[str]:
    parts = []
    st = op.stated
    ax = op.axes[0]
    sym = {"input": "x", "weight": "w", "bias": "b"}
    for key, d in st.grads.items():
        lhs = r"\frac{\partial \langle g, y\rangle}{\partial %s_{%s}}" % (sym[key], ",".join(tex(t) for t in d.target))
        raw_lhs = r"\frac{\partial \langle g, y\rangle}{\partial %s_{%s}}" % (
            sym[key], ",".join(tex(conv.primed(t)) if not str(t).endswith("'") else tex(t) for t in d.target))
        parts += ["", f"**With respect to `{key}`** — SymPy's `diff` of $\\langle g, y\\rangle ="
                  " \\sum g\\,y$ gives Kronecker deltas, one per index:", "",
                  maybe_collapsed(f"{raw_lhs} = {tex(d.raw)}", title="SymPy's raw derivative"), "",
                  "and with every delta that fixes a summation letter summed out:", "",
                  math_block(f"{lhs} = {tex(d.formula)}")]
    del ax
    return parts


def _relationships_section(pf: dict[str, Any]) -> list[str]:
    rel = pf["relations"]
    w_dw, w_corr, w_ok = rel["weight"]
    i_dx, i_tr, i_ok = rel["input"]
    f_corr, f_true, f_ok = rel["flip"]
    checks = pf["relation_checks"]
    mark = lambda ok: "✔ **symbolic**" if ok else "✘ **not shown**"  # noqa: E731
    lines = [
        "Each is proved on the index formulas (SymPy: the two sides are the same sum after renaming, term by"
        " term and range by range) and checked through the engine on arrays of symbols.", "",
        "**1. The weight gradient is a correlation of the input with the output gradient.** The derived"
        " weight gradient (groups = 1)", "", math_block(r"\frac{\partial \langle g, y\rangle}{\partial w_{o,c,k}}"
                                                            " = " + tex(w_dw)), "",
        "is conv1d's own formula with the roles renamed — its batch is $c$, its channels (summed) are $n$,"
        " its kernel is $g$ (with batch and channels swapped) read at offsets $i$, its stride is $d$ and its"
        " dilation $s$ — evaluated at output position $k$:", "", math_block(tex(w_corr)), "",
        f"- {mark(w_ok)}: the two sums are identical.",
        "", "**2. The input gradient is a transposed convolution of the output gradient with the same"
        " weights** (same stride, padding, dilation and groups; output_padding picks the input length back):", "",
        math_block(r"\frac{\partial \langle g, y\rangle}{\partial x_{n,\gamma,c,j}} = " + tex(i_dx)), "",
        "is conv_transpose1d's forward (without bias) with its channel letters swapped and $g$ as its input:", "",
        math_block(tex(i_tr)), "", f"- {mark(i_ok)}: the two sums are identical.",
        "", "**3. Cross-correlation is true convolution with the kernel flipped.** With"
        " $\\tilde w_q = w_{K-1-q}$, the true convolution at $i + K - 1$ is", "",
        math_block(tex(f_true) + r" = " + tex(f_corr)), "",
        "(substitute $m = i + k$).", "", f"- {mark(f_ok)}: SymPy's `change_index` turns the left sum into the right.",
    ]
    if isinstance(checks, str):
        lines += ["", f"- ✘ **check failed**: {md(checks)}"]
    else:
        lines += ["", f"- ✔ **exact**: on arrays of SymPy symbols, through the engine: relationships 1 and 2 on"
                  f" {len(checks)} configurations of conv1d and conv2d (strides, paddings, dilations, kernel sizes),"
                  " relationship 3 on three 1-D and one 2-D kernel. *Compared as polynomials, no tolerance.*"]
    return lines


def _size_section(pf: dict[str, Any]) -> list[str]:
    rule = conv.size_rule()
    L, K, s, d, P, p, a = sp.symbols("L K s d P p a", integer=True)
    rows = []
    for sp_ in pf["sizes"]:
        row = sp_.row
        lhs = "o'" if row["transposed"] else "o"
        settings = ", ".join(f"${tex(k)} = {tex(v)}$" for k, v in row["settings"].items()) or "—"
        rows.append([str(row["number"]), cell(row["case"]), settings,
                     table_math(f"{lhs} = {tex(row['quoted'])}"), table_math(tex(sp_.derived)),
                     f"✔ {sp_.method}", str(len(conv_proofs.size_grid(row)))])
    return [
        "A convolution's output position $i$ reads input indices $s\\,i + d\\,k - p$ for $k = 0, \\dots, K-1$"
        " (with $p$ zeros before the input and $P - p$ after, $P$ the total padding). The last position is the"
        " largest $i$ whose last tap is still inside; SymPy solves", "",
        math_block(tex(rule.last_window)), "",
        "for $i$ and rounds down, so the output length is", "",
        math_block(f"M = {tex(rule.conv)}"), "",
        "A transposed convolution writes input position $i$ to $s\\,i + d\\,k - p$; its last write, at"
        f" $i = L - 1$, $k = K - 1$, is ${tex(rule.last_write)}$, torch crops $p$ at the end too and appends"
        " output_padding $a$:", "", math_block(f"M = {tex(rule.transposed)}"), "",
        "`padding='same'` is $P = d\\,(K-1)$ with $\\lfloor P/2 \\rfloor$ zeros before and the rest after, which"
        " gives $M = L$ at stride 1. Dumoulin & Visin's relationships (*A guide to convolution arithmetic for deep"
        " learning*, numbered as there; $i$ is the input size, $k$ the kernel, $i'$ a transposed convolution's"
        " input size) are the derived rule with their settings substituted: SymPy proves each equal. The last"
        " column counts the settings on which `tests/test_conv_exact.py` checks the quoted size against torch's"
        " output shape and nnref's (relationship 13 also checks that the transposed convolution restores the"
        " input size $i$ when $a = (i + 2p - k) \\bmod s$).", "",
        table(["#", "case", "settings", "quoted", "derived rule, substituted", "proof", "torch checks"], rows),
    ]


def _split_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The benchmark's row as two tables, time then peak memory, each with the case's shape and
    dtype: one table of eleven columns is wider than the page."""
    split = header.index("nnref peak MiB")
    time_cols, mem_cols = list(range(split)), [0, 1, *range(split, len(header))]
    return [table([cell(header[k]) for k in time_cols], [[bench_cell(r[k]) for k in time_cols] for r in rows]),
            "", "Peak memory, the same cases:", "",
            table([cell(header[k]) for k in mem_cols], [[bench_cell(r[k]) for k in mem_cols] for r in rows])]


def _bench_section() -> list[str]:
    if not BENCH.exists():
        return ["Not run yet: `PYTHONPATH=. .venv/bin/python benchmarks/conv_bench.py"
                " --json benchmarks/conv_bench.json`."]
    data = json.loads(BENCH.read_text())
    rows = [r["cells"] for r in data["rows"]]
    lines = [
        f"Measured {data['date']} on {data['machine']} ({data['versions']}; load average"
        f" {data['load']:.2f} at the start), median of {data['repeats']} alternating turns per library"
        " (`benchmarks/conv_bench.py`; the method is in its docstring: nnref and torch take turns so they see"
        f" the same background load, {WARM_TURNS}, so that both are timed warm; peak memory is the rise of the"
        " resident set over one forward + backward, in a fresh process per library, measured the same way for"
        " both). conv2d, forward then the backward"
        " for input, weight and bias"
        + (f". The table was timed {data['runs']} times, minutes apart; a case's ratio is the median of its"
           " runs' ratios, and their range is shown" if data.get("runs", 1) > 1 else "") + ":", "",
        *_split_table(data["header"], rows), "",
        "Targets: forward + backward within 1.5× torch in float64 and 2.5× in float32, peak memory no more than"
        " torch's. torch runs float32 through oneDNN and float64 through im2col + MKL; nnref runs both through"
        " its generated gather + batched matrix product + scatter on OpenBLAS, the batch in chunks of equal size"
        " whose im2col buffer holds about 2^19 entries, more where a sample carries little arithmetic (up to"
        " 2^21 in float64), and col2im adds one slice per kernel offset over whole planes (`nnref/_conv.py`,"
        " `nnref/_affine.py`). The machine is shared: numbers move with the load (OpenBLAS's threads wait on"
        " each other inside each matrix product, which costs most when another process holds a core); the"
        " ratios are what the targets are about.",
    ]
    missed = [f"{r['dtype']} ({', '.join(map(str, r['case']))})" for r in data["rows"]
              if r["ratio"] > r["target"]]
    over = [f"{r['dtype']} ({', '.join(map(str, r['case']))})" for r in data["rows"]
            if r["memory"]["nnref"]["rss_peak"] > r["memory"]["torch"]["rss_peak"]]
    lines += run_misses(data["rows"], lambda r: f"{r['cells'][0]} {r['dtype']}")
    if missed or over:
        lines += ["", "**Not met in this run**: " + "; ".join(
            ([f"time for {', '.join(missed)}"] if missed else []) + ([f"memory for {', '.join(over)}"] if over else []))
            + "."]
    lines += [
        "", "**The small-channel case** (3 → 16 channels, 5×5 kernel, float64) is where this engine's design"
        " costs most against torch's; an analysis of 2026-11-21, with its own numbers (the table above may be"
        " newer). Where one call of nnref's spends its time (after the same 0.2 s pause, median"
        " of 40; about 15–16 ms in all): 7.4–8.0 ms in its six matrix products (three per chunk of 16"
        " samples, each within about 10% of a bare NumPy matmul of the same shape), 3.2–3.5 ms in the four"
        " im2col gathers, 1.9–2.2 ms in col2im, and about 2.5 ms in the rest (the bias and its gradient,"
        " argument checks, Python). The products are small (16 output channels, 75 im2col rows) and bound by"
        " memory traffic, and the gathers and col2im run on one core. torch's float64 path"
        " (`aten/src/ATen/native/ConvolutionMM2d.cpp`, in the version read) unfolds, multiplies and folds back"
        " one sample at a time, in parallel over the batch, with buffers that stay in cache. What was tried:"
        " chunk sizes from 2 to 32 samples (16 is best within the memory target; one chunk of 32 would need"
        " about 28 MiB, more than torch's 23.4), copies and products split between two Python threads"
        " (no faster: copies on this machine are bound by memory bandwidth, and two threads calling"
        " OpenBLAS at once wait on each other), and products split one sample at a time (slower). What"
        " helped (2026-11-21): each chunk's forward writes its block of the output with the bias added on the"
        " way, the backward lays out each chunk's output gradient once for both of its products (where its"
        " input-gradient product would copy it anyway), and a"
        " forward-sized product is no longer computed transposed; five A/B runs against the previous code"
        " (the two taking turns with torch, 20–40 turns each) put the gain between −3% and 8%, within this"
        " machine's noise. The spread of this case's ratio over runs comes"
        " mostly from torch's side: its time for this case moved between about 11 and 19 ms over the day,"
        " with the load of the shared machine, while nnref's moved between about 15 and 24 ms. Three other"
        " full runs of this table on 2026-11-21 after the change (20:18 UTC, 5 runs; 20:27, 7 runs; 20:57, 5"
        " runs) gave this case medians of 1.49× (1.27–1.74×), 1.34× (1.13–1.58×) and 1.38× (1.16–1.81×), and"
        " the stride-2 float64 case 1.33× (1.26–1.50×), 1.37× (0.94–1.51×) and 1.42× (1.07–1.62×): within the"
        " target by the median each time, with single runs above it.",
    ]
    return lines


def render_page(title: str, verification: dict[str, Any] | None, plots_dir: Path | None) -> tuple[str, int, int]:
    pf = proofs()
    ops = conv.OPS
    plots = 0
    if plots_dir is not None:
        draw_figure(plots_dir / FIGURE)
        plots = 1
    conv2, tconv2 = conv.op_named("conv2d"), conv.op_named("conv_transpose2d")

    def stated(op: conv.ConvOp) -> str:
        index = ",".join(tex(s) for s in op.stated.out_index)
        return math_block(r"y_{" + index + "} = " + tex(op.stated.forward.formula))

    axes = conv_proofs.GRID_AXES[_profile()]
    grid_rows = [[f"{dims}-d", *(cell(", ".join(str(v) for v in axes[dims][key]))
                                 for key in ("size", "kernel", "stride", "dilation", "padding", "groups"))]
                 for dims in (1, 2, 3)]
    text = render(
        "convolution.md.j2", title=title, plots=bool(plots), figure=FIGURE,
        listing=overview_table(ops),
        formulas="\n".join(_formula_section(conv.op_named("conv1d")) + [""]
                           + _formula_section(conv.op_named("conv_transpose1d"))),
        stated_2d=stated(conv2), stated_t2d=stated(tconv2), arguments=arguments_table(conv2),
        notes="\n".join(f"- {md(n)}" for n in conv.OPS[0].notes + conv.OPS[3].notes[2:]),
        derivation_1d="\n".join(_derivation_section(conv.op_named("conv1d"))),
        derivation_t1d="\n".join(_derivation_section(conv.op_named("conv_transpose1d"))),
        relationships="\n".join(_relationships_section(pf)), sizes="\n".join(_size_section(pf)),
        size_code=code_block(_kernel("conv_out_size") + "\n\n\n" + _kernel("conv_transpose_out_size")),
        profile=_profile(),
        grid_table=table(["", "size", "kernel", "stride", "dilation", "padding", "groups"], grid_rows),
        proof_lines="\n".join(_proof_line(pf["grid"][op.name]) for op in ops),
        tolerances=tolerance_table([conv.OPS[0]]), bench="\n".join(_bench_section()),
        verification=("Not yet run: `make site` runs the verification." if verification is None else
                      "Each op's page has its table, forward and the three gradients per dtype, with the run's"
                      " provenance; the [verification page](verification.md) lists every op's result."))
    return text, len(ops), plots


def render_op_page(op: conv.ConvOp, verification: dict[str, Any] | None) -> str:
    """One convolution op's page (links written from docs/; ``sections.render_op_page`` relinks)."""
    a = anchor(op.name)
    pf = proofs()
    notes = [f"- {md(n)}" for n in op.notes]
    parts = [
        page_head(op, signature_line(op)), "",
        f"## Definition {{#{a}-definition}}", "", arguments_table(op), "",
        *_formula_section(op), "", *notes, "",
        "Zero padding, `'same'`, the output size and the three relationships between the ops are the family's:"
        " [Definition](convolution.md#conv-definition), [Output size](convolution.md#conv-output-size),"
        " [Proved relationships](convolution.md#conv-relationships).", "",
        f"## Derivation {{#{a}-derivation}}",
        *_derivation_section(op), "",
        f"## Exact check {{#{a}-exact}}", "", _proof_line(pf["grid"][op.name]), "",
        f"The `{_profile()}` grid of small configurations is on the [family page](convolution.md#conv-exact).", "",
        f"## Conventions and tolerances {{#{a}-tolerances}}", "",
        "A sum of products, linear in each operand: no kinks, so no convention at a point; `padding='same'`,"
        " empty outputs and IEEE special values are the [family's choices](convolution.md#conv-conventions)."
        " nnref passes when |nnref − torch| ≤ atol + rtol·|torch| for every entry:", "",
        tolerance_table([op]), "",
        f"## Accuracy {{#{a}-accuracy}}", "", op_accuracy(op, None), "",
        f"## Generated code {{#{a}-code}}", "",
        "Printed into `nnref/_generated/conv.py` from the derivation (never edited; a test fails when the file"
        " differs). `_af` is `nnref/_affine.py`, `_rt` is `nnref/_runtime.py`; `nnref/_conv.py` checks the"
        " arguments, splits the channels into groups and runs the batch in chunks. The comment above each block"
        " is the derived term it computes.", "", collapsed_code(kernel_sources(op)), "",
        verification_section(op, verification, "##"), "",
        source_section(op), ""]
    return render("op_sections.md.j2", body="\n".join(parts))
