"""The Optimizers page: each optimizer's update lines as declared (in torch's order), the proved
identities, the printed functions and the measured agreement with torch.optim.

Owns: ``render_page`` for records whose renderer is "optim" (template ``optim.md.j2``).
Imports: ``derivations`` (registry, proofs.optim), ``.kernels``, ``.latex``, ``.markup``,
``.paths``, ``.templating``; no other page module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sympy as sp

from derivations.proofs.optim import adam_vs_adamw, prove_optim
from derivations.registry import family_ops

from .kernels import generated_kernel
from .latex import tex
from .markup import cell, code_block, math_block, md, table, table_math
from .paths import ROOT
from .templating import render

RESULTS = ROOT / "build" / "verification" / "optim.json"


def _lines(op: Any) -> str:
    rows = []
    for u in op.updates:
        rows.append([f"`{u.target}`", table_math(f"{tex(sp.Symbol(u.target))} \\leftarrow {tex(u.expr)}"),
                     f"`{u.when}`" if u.when else "always", "scalar" if u.scalar else "array",
                     cell(u.why) if u.why else ""])
    return table(["line", "update", "when", "kind", "why"], rows)


def _agreement() -> str:
    if not RESULTS.exists():
        return "*Not measured yet: run `pytest tests/test_optim.py` (part of `make test`).*"
    data = json.loads(RESULTS.read_text())
    rows = [[f"`{r['optimizer']}`", cell(", ".join(f"{k}={v}" for k, v in r["hyperparameters"].items()) or "defaults"),
             r["dtype"], f"{r['elementwise']:.1e}", f"{r['normwise']:.1e}", f"{r['rtol']:.0e}"]
            for r in sorted(data["rows"], key=lambda r: (r["optimizer"], str(r["hyperparameters"]), r["dtype"]))]
    return (f"{data['steps']} steps on a 3×4 parameter with a seeded random gradient sequence, torch"
            f" {data['torch']}; largest difference over all steps, parameter and state arrays:\n\n"
            + table(["optimizer", "hyperparameters", "dtype", "max relative (elementwise)",
                     "max relative to max\\|θ\\| (normwise)", "tolerance"], rows))


def render_page(title: str, verification: dict[str, Any] | None, plots_dir: Path | None) -> tuple[str, int, int]:
    ops = family_ops("optim")
    sections = []
    for op in ops:
        hyper = ", ".join(f"{p.name}={p.default!r}" for p in op.params)
        sections.append({
            "name": op.name, "summary": md(op.summary), "rule": math_block(op.latex_rule),
            "signature": f"nnref.optim.{op.name}(param, grad, state=None, *, {hyper})",
            "state": ", ".join(f"`{v.name}`" + (f" (when `{v.when}`)" if v.when else "") for v in op.state),
            "lines": _lines(op), "code": code_block(generated_kernel(op.name)),
            "tol32": md(op.tol("float32").why), "tol64": md(op.tol("float64").why),
        })
    proofs = [f"- {'✔' if p.holds else '✘'} `{p.optimizer}`: {md(p.claim)} ({md(p.detail)})." for p in prove_optim()]
    diff, _, _ = adam_vs_adamw()
    text = render("optim.md.j2", title=title, sections=sections, proofs="\n".join(proofs),
                  adam_diff=math_block(r"\theta^{\text{AdamW}}_1 - \theta^{\text{Adam}}_1 = " + tex(diff)),
                  agreement=_agreement())
    return text, len(ops), 0
