"""The Receptive fields page: the recurrence SymPy reads off the composed index maps, its proofs,
the printed formulas, parameter counts and E5's numbers.

Owns: ``render_page`` for records whose renderer is "receptive" (template
``receptive.md.j2``).  Imports: SymPy, ``derivations`` (ops.receptive, proofs.receptive,
registry), ``nnref`` (inside the function), ``.kernels``, ``.latex``, ``.markup``,
``.templating``; no other page module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sympy as sp

from derivations.ops import receptive as RF
from derivations.proofs.receptive import prove_receptive
from derivations.registry import family_ops

from .kernels import call_signature, generated_kernel
from .latex import tex
from .markup import code_block, math_block, md, table
from .templating import render

# E5 (seed 000) and the MNIST-1D-shaped network of the Networks page, per axis: (kernel, stride)
STACKS = {
    "one 3×3 convolution": [(3, 1)],
    "two 3×3 convolutions": [(3, 1), (3, 1)],
    "3×3 stride 2, then 3×3": [(3, 2), (3, 1)],
    "3×3, 2×2 pooling (stride 2), 3×3": [(3, 1), (2, 2), (3, 1)],
    "MNIST-1D shape: conv 3 stride 2, conv 3 stride 2, pool 2": [(3, 2), (3, 2), (2, 2)],
    "3×3 dilation 2, then 3×3 padding 1": [(3, 1, 0, 2), (3, 1, 1)],
}


def render_page(title: str, verification: dict[str, Any] | None, plots_dir: Path | None) -> tuple[str, int, int]:
    import nnref

    ops = family_ops("receptive")
    step = RF.derive_step()
    cf = RF.closed_form(3)
    rows = []
    for name, layers in STACKS.items():
        f = nnref.receptive_field(layers)
        rows.append([name, f"`{layers}`", str(f["size"]), str(f["jump"]), str(f["start"])])
    counts = [
        ["dense: 1000×1000 RGB image → 1000 units", "`linear_parameter_count(3_000_000, 1000)`",
         f"{nnref.linear_parameter_count(3_000_000, 1000):,}"],
        ["3×3 convolution, 3 → 64 channels", "`conv_parameter_count(3, 64, (3, 3))`",
         f"{nnref.conv_parameter_count(3, 64, (3, 3)):,}"],
        ["the fruit network's first layer (E3)", "`linear_parameter_count(2, 2)`",
         f"{nnref.linear_parameter_count(2, 2)}"],
    ]
    sections = [{"name": op.name, "summary": md(op.summary), "signature": call_signature(op.name) or op.name,
                 "formula": math_block(op.latex), "notes": [md(n) for n in op.notes],
                 "code": code_block(generated_kernel("_receptive_step" if op.name == "receptive_field"
                                                     else f"_{op.name}"))} for op in ops]
    proofs = "\n".join(f"- {'✔' if p.holds else '✘'} {md(p.claim)} ({md(p.detail)})." for p in prove_receptive())
    step_tex = r"\begin{aligned} " + r" \\ ".join(
        f"{tex(sp.Symbol(key))}' &= {tex(expr)}" for key, expr in step.items()) + r" \end{aligned}"
    closed = r"\begin{aligned} " + r" \\ ".join(
        f"{tex(sp.Symbol(key))}_3 &= {tex(cf[key])}" for key in ("size", "jump", "start")) + r" \end{aligned}"
    text = render("receptive.md.j2", title=title, step=math_block(step_tex), closed=math_block(closed),
                  proofs=proofs, sections=sections,
                  table=table(["stack", "layers (kernel, stride, padding, dilation)", "size", "jump", "start"], rows),
                  counts=table(["layer", "call", "parameters"], counts))
    return text, len(ops), 0
