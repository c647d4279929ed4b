"""The conventions page: every declared convention and every stable rewrite, from the records.

Owns: ``render_conventions`` (template ``conventions.md.j2``).  Imports:
``derivations.registry``, ``.frameworks``, ``.jobs``, ``.markup``, ``.templating``; no other page module.
"""

from __future__ import annotations

from typing import Any

from derivations.registry import all_ops

from .frameworks import framework_table
from .jobs import proved_ops
from .markup import cell, math_inline, md, op_link, table
from .templating import render


def render_conventions() -> str:
    ops = proved_ops()
    rows = [[op_link(op), cell(c.label), cell(c.why)] for op in ops for c in op.conventions]
    rewrites = []
    for op in ops:
        if getattr(op, "rewrite", None) is not None:
            rewrites.append(f"- {op_link(op)}: {md(op.rewrite.why)}")
        for cf in op.closed_forms:
            # declared closed forms say why the engine uses them; a step list's are quotes only
            if getattr(cf, "why", "") and cf.use_in_engine:
                rewrites.append(f"- {op_link(op)}, derivative {math_inline(cf.label)}: {md(cf.why)}")
    structured_notes = [f"- {op_link(op)}: {md(n)}" for op in ops if op.renderer == "structured"
                        for n in op.notes if "overflow" in n]
    # Conventions shared by several records (pooling's, by max_pool1d-3d, ...): one row each,
    # listing the ops that declare it.
    pooled: dict[str, tuple[Any, list[Any]]] = {}
    for pop in (op for op in all_ops() if op.renderer == "pool"):
        for pc in pop.conventions:
            pooled.setdefault(pc.label, (pc, []))[1].append(pop)
    for pc, pops in pooled.values():
        rows.append([", ".join(op_link(o) for o in pops), cell(pc.label), cell(pc.why)])
    frameworks, evidence, points = framework_table()
    return render("conventions.md.j2", rows=rows, table=table(["op", "convention", "why"], rows),
                  rewrites=rewrites, structured_notes=structured_notes, frameworks=frameworks,
                  framework_evidence=evidence, framework_points=points)
