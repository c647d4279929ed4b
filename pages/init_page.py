"""The Initialisation page: each initialiser's law, its variance target, the bound or std SymPy
solves from it, the proof that torch's formula is the same number, and the printed kernels.

Owns: ``render_page`` for records whose renderer is "init" (template ``init.md.j2``).  Imports:
SymPy, ``derivations`` (registry, ops.init, proofs.init), ``.kernels``, ``.latex``, ``.markup``,
``.templating``; no other page module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sympy as sp

from derivations.ops.init import GAIN, a_bound, normal_variance, s_std, uniform_variance
from derivations.proofs.init import prove_gains, prove_init
from derivations.registry import family_ops

from .kernels import generated_kernel
from .latex import tex
from .markup import cell, code_block, math_block, math_inline, md, table, table_math
from .templating import render

LAWS = {"uniform": r"U(-a, a)", "normal": r"N(0, s^2)"}


def _torch_name(op: Any) -> str:
    """torch's name, for the site's search; the two defaults are what Linear and ConvNd do in
    reset_parameters, not functions of torch.nn.init."""
    if op.name.startswith("default_"):
        return ""
    return f" (torch: `torch.nn.init.{op.name}{'' if op.name == 'calculate_gain' else '_'}`)"


def _signature(op: Any) -> str:
    parts = ["shape"] if op.shaped else []
    for p in op.params:
        parts.append(p.name if p.default is None and p.name != "param" else f"{p.name}={p.default!r}")
    if op.shaped:
        parts.append("*, rng=None" if op.law == "constant" else "*, rng")
    return f"nnref.init.{op.name}({', '.join(parts)})"


def _mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def render_page(title: str, verification: dict[str, Any] | None, plots_dir: Path | None) -> tuple[str, int, int]:
    ops = family_ops("init")
    scaled = [op for op in ops if op.variance is not None]
    rows, proofs, kernels = [], [], []
    for op in scaled:
        rows.append([f"`{op.name}`", math_inline(LAWS[op.law]), table_math(tex(op.variance)),
                     table_math(f"{'a' if op.law == 'uniform' else 's'} = {tex(op.spread())}"),
                     table_math(tex(op.quoted))])
        for p in prove_init(op):
            proofs.append(f"- {_mark(p.holds)} `{op.name}`: {md(p.claim)} ({md(p.detail)}).")
        kernels.append(generated_kernel(f"_{op.name}_{op.spread_name}"))
    for p in prove_gains():
        proofs.append(f"- {_mark(p.holds)} {md(p.claim)} ({md(p.detail)}).")
    gains = [[f"`{name}`", table_math(tex(g)), cell(why)] for name, (g, why) in GAIN.items()]
    text = render(
        "init.md.j2", title=title,
        uniform_var=math_block(r"\operatorname{Var}\,U(-a, a) = \int_{-a}^{a} \frac{z^2}{2a}\,dz = "
                               + tex(uniform_variance(a_bound))),
        normal_var=math_block(r"\operatorname{Var}\,N(0, s^2) = \int_{-\infty}^{\infty} z^2\,"
                              r"\frac{e^{-z^2/2s^2}}{s\sqrt{2\pi}}\,dz = " + tex(normal_variance(s_std))),
        table=table(["initialiser", "law", "variance target", "solved by SymPy", "torch's formula"], rows),
        proofs="\n".join(proofs), gains=table(["nonlinearity", "gain", "where it comes from"], gains),
        signatures="\n".join(f'- <span id="{op.name}"></span>`{_signature(op)}`: {md(op.summary)}{_torch_name(op)}'
                              for op in ops),
        notes="\n".join(f"- `{op.name}`: {md(n)}" for op in ops for n in op.notes),
        kernels=code_block(generated_kernel("_leaky_relu_gain") + "\n\n\n" + "\n\n\n".join(kernels)),
        gain_expr=math_inline(r"\text{gain} = 1/\sqrt{\mathbb{E}[f(z)^2]/\sigma^2} = "
                              + tex(GAIN["leaky_relu"][0]) + r",\ z \sim N(0, \sigma^2)"),
        sqrt5=math_inline(sp.latex(sp.sqrt(sp.Rational(2, 6)))),
    )
    return text, len(ops), 0
