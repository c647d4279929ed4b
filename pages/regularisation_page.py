"""The Regularisation page: dropout and the L2 penalty, their derivations and proofs, the printed
kernels and the measured agreement with torch.

Owns: ``render_page`` for records whose renderer is "regularisation" (template
``regularisation.md.j2``).  Imports: SymPy, ``derivations`` (registry, ops.regularisation,
proofs.regularisation), ``.kernels``, ``.latex``, ``.markup``, ``.paths``,
``.templating``; no other page module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sympy as sp

from derivations.ops import regularisation as R
from derivations.proofs.regularisation import prove_regularisation
from derivations.registry import family_ops

from .kernels import call_signature, generated_kernel
from .latex import tex
from .markup import cell, code_block, math_block, md, table
from .paths import ROOT
from .templating import render

RESULTS = ROOT / "build" / "verification" / "regularisation.json"


def _agreement() -> str:
    if not RESULTS.exists():
        return "*Not measured yet: run `pytest tests/test_regularisation.py` (part of `make test`).*"
    data = json.loads(RESULTS.read_text())
    rows = [[f"`{r['op']}`", r["dtype"], "—" if r["p"] is None else f"{r['p']}", f"{r['max_abs_value']:.1e}",
             f"{r['max_abs_grad']:.1e}", f"{r['tolerance']:.0e}"]
            for r in sorted(data["rows"], key=lambda r: (r["op"], r["dtype"], r["p"] or 0.0))]
    return (f"torch {data['torch']}; largest differences over every entry (dropout: absolute, through torch's"
            " own mask; l2_penalty: relative, of the gradient):\n\n"
            + table(["op", "dtype", "p", "value", "gradient", "tolerance (rtol)"], rows))


def _arguments(op: Any) -> str:
    rows = [[f"`{a.name}`", "`None`" if a.optional is not None else "required", cell(a.doc)] for a in op.args]
    rows += [[f"`{q.name}`", f"`{q.default!r}`", cell(q.doc)] for q in op.params]
    return table(["argument", "default", "meaning"], rows)


def _conventions(op: Any) -> str:
    if not op.conventions:
        return "None: the formula has a value everywhere."
    return table(["where", "value / gradient", "why"],
                 [[cell(c.label), cell(", ".join(f"{k}: {v}" for k, v in c.grads.items())), cell(c.why)]
                  for c in op.conventions])


def render_page(title: str, verification: dict[str, Any] | None, plots_dir: Path | None) -> tuple[str, int, int]:
    ops = family_ops("regularisation")
    sections = []
    for op in ops:
        d = op.derivation()
        wrt = op.differentiable[0]
        sym = next(a.symbol for a in op.args if a.name == wrt)
        sections.append({
            "name": op.name, "summary": md(op.summary), "definition": math_block(op.latex),
            "signature": call_signature(op.name) or op.name, "arguments": _arguments(op),
            "derivative": math_block(rf"\frac{{\partial}}{{\partial {tex(sym)}}}\left({tex(d.forward)}\right) = "
                                     + tex(d.vjps[wrt])),
            "conventions": _conventions(op), "notes": [md(n) for n in op.notes],
            "code": code_block(generated_kernel(f"_{op.name}_forward") + "\n\n\n"
                               + generated_kernel(f"_{op.name}_vjp")),
            "tol64": md(op.tol("float64").why), "tol32": md(op.tol("float32").why),
        })
    proofs = "\n".join(f"- {'✔' if p.holds else '✘'} `{p.op}`: {md(p.claim)} ({md(p.detail)})."
                       for p in prove_regularisation())
    mean = math_block(r"\mathbb{E}[y] = p\cdot 0 + (1 - p)\,\frac{x}{1 - p} = " + tex(R.expected_dropout()))
    # SymPy writes the variance as −x²p/(p − 1); shown with both signs flipped, x²p/(1 − p)
    num, den = sp.fraction(sp.factor(R.second_moment_dropout() - R.expected_dropout()**2))
    var = math_block(r"\operatorname{Var}[y] = \frac{" + tex(-num) + "}{" + tex(-den) + "}")
    text = render("regularisation.md.j2", title=title, sections=sections, proofs=proofs, mean=mean, var=var,
                  agreement=_agreement())
    return text, len(ops), 0
