"""One op's own page (``docs/ops/<op>.md``): the call and its example, definition, plot,
derivation, conventions, tolerances, accuracy, generated code, variants, verification and the
source of its description.

Owns: ``render_op_page`` and ``RENDERERS``, keyed by ``op.renderer``: the formula and
derivation of the "pointwise" and "structured" op pages, the op pages of "conv" and "pool"
records (built by ``.conv`` and ``.pool`` around their family-wide pages), and the family
pages that "conv", "pool", "init", "optim", "regularisation" and "receptive" records get;
templates ``op_page.md.j2``, ``op_definition.md.j2``, ``op_body.md.j2``,
``pointwise_derivation.md.j2`` and ``structured_derivation.md.j2``.  Imports: SymPy,
``derivations`` (registry, derive, spec), ``.accuracy``, ``.conv``, ``.pool``, ``.init_page``,
``.optim_page``, ``.regularisation_page``, ``.receptive_page``, ``.jobs``, ``.kernels``, ``.latex``, ``.markup``,
``.op_page``, ``.plots``, ``.tables``, ``.templating``, ``.verification``; no other page module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp

from derivations.derive import engine_derivative, raw_derivative
from derivations.registry import variants_of
from derivations.spec import Step

from . import conv, init_page, optim_page, pool, receptive_page, regularisation_page
from .accuracy import op_accuracy
from .jobs import PLOTTED, proof_lines, proofs_for
from .kernels import kernel_sources, signature_line
from .latex import tex
from .markup import anchor, math_block, math_inline, maybe_collapsed, md, name_target, reader_name
from .op_page import collapsed_code, page_head, relink, source_section
from .plots import make_plot
from .tables import arguments_table, conventions_table, tolerance_table
from .templating import render, render_part
from .verification import verification_section


def _fn_head(op: Any) -> str:
    syms = ", ".join(tex(a.symbol) for a in op.args)
    name = op.latex_name or r"\operatorname{%s}" % op.name.replace("_", r"\_")
    return f"{name}({syms})"


def pointwise_derivation(op: Any, h: str) -> str:
    head = _fn_head(op)
    symbols = {a.name: a.symbol for a in op.args}
    rewrite = None
    if op.rewrite is not None:
        rewrite = {"why": md(op.rewrite.why), "math": maybe_collapsed(f"{head} = {tex(op.rewrite.expr)}")}
    wrts = []
    for wrt in op.differentiable:
        sym = tex(symbols[wrt])
        raw = raw_derivative(op, wrt)
        lhs = rf"\frac{{\partial}}{{\partial {sym}}} {head}"
        closed = [{"label": math_inline(cf.label), "used": cf.use_in_engine, "why": md(cf.why) if cf.why else "",
                   "math": maybe_collapsed(f"{lhs} = {tex(cf.expr)}"), "tex": tex(cf.expr)}
                  for cf in op.closed_forms if cf.wrt == wrt]
        engine = tex(engine_derivative(op, wrt))
        wrts.append({
            "wrt": wrt, "sym": math_inline(sym), "heaviside": raw.has(sp.Heaviside),
            "raw": maybe_collapsed(f"{lhs} = {tex(raw)}"), "closed_forms": closed,
            "chosen": any(c.wrt == wrt and c.use_in_engine for c in op.closed_forms),
            "conventions": any(wrt in c.grads for c in op.conventions),
            "engine": maybe_collapsed(f"{lhs} = {engine}", title="The engine's derivative in full"),
            # The engine's derivative printed again would repeat a formula just shown.
            "engine_repeats": ('the closed form marked "used by the engine" above'
                               if any(c["used"] and c["tex"] == engine for c in closed)
                               else "SymPy's derivative above" if engine == tex(raw) else ""),
        })
    return render_part("pointwise_derivation.md.j2", h=h, anchor=anchor(op.name), rewrite=rewrite, wrts=wrts,
                       proofs=proof_lines(proofs_for(op), op))


def _subscripts_tex(sub: str, name: str) -> str:
    base = tex(sp.Symbol(name))
    idx = sub.replace("...", r"\ldots ")
    return f"{base}_{{{idx}}}" if idx else base


def step_tex(st: Step) -> str:
    lhs = tex(sp.Symbol(st.name))
    if st.contract is not None:
        subs, operands = st.contract
        ins, out = subs.split("->")
        in_subs = ins.split(",")
        summed = sorted({c for s in in_subs for c in s if c.isalpha()} - set(out))
        if any("..." in s for s in in_subs) and "..." not in out:
            summed.insert(0, r"\ldots")  # summed over the batch dims too
        total = r"\sum_{%s} " % ",".join(summed) if summed else ""
        prod = r"\, ".join(_subscripts_tex(s, o) for s, o in zip(in_subs, operands))
        return rf"{_subscripts_tex(out, st.name)} &= {total}{prod}"
    assert st.expr is not None
    rhs = tex(st.expr)
    if st.reduce == "sum":
        return rf"{lhs} &= \sum_{{\text{{dim}}}} \left({rhs}\right)"
    if st.reduce == "max":
        return rf"{lhs} &= \max_{{\text{{dim}}}} \left({rhs}\right)"
    return f"{lhs} &= {rhs}"


def steps_block(steps: tuple[Step, ...]) -> str:
    body = r" \\ ".join(step_tex(s) for s in steps)
    return maybe_collapsed(r"\begin{aligned} " + body + r" \end{aligned}", title="The steps in full")


def structured_derivation(op: Any, h: str) -> str:
    contracts = [{"name": s.name, "subscripts": s.contract[0], "operands": ", ".join(s.contract[1])}
                 for s in (*op.forward, *op.vjp) if s.contract is not None]
    closed = [{"math": math_block(latex), "what": md(what[0].upper() + what[1:])} for latex, what in op.closed_forms]
    return render_part("structured_derivation.md.j2", h=h, anchor=anchor(op.name), forward=steps_block(op.forward),
                       vjp=steps_block(op.vjp), contracts=contracts, closed_forms=closed,
                       proofs=proof_lines(proofs_for(op), op))


def _pointwise_formula(op: Any) -> str:
    return maybe_collapsed(f"{_fn_head(op)} = {tex(op.definition)}")


def _structured_formula(op: Any) -> str:
    return math_block(op.definition_latex)


@dataclass(frozen=True)
class Renderer:
    """How the records of one ``op.renderer`` key are shown: either an op page built here (its
    definition's display formula and its derivation subsection), or a family page of their own,
    (title, verification, plots_dir) -> (page text, op records, plots drawn), with, where the
    family's ops have pages, the builder of those: (op, verification) -> op page text."""

    formula: Callable[[Any], str] | None = None
    derivation: Callable[[Any, str], str] | None = None
    page: Callable[[str, dict[str, Any] | None, Path | None], tuple[str, int, int]] | None = None
    op_page: Callable[[Any, dict[str, Any] | None], str] | None = None


RENDERERS: dict[str, Renderer] = {
    "pointwise": Renderer(formula=_pointwise_formula, derivation=pointwise_derivation),
    "structured": Renderer(formula=_structured_formula, derivation=structured_derivation),
    "conv": Renderer(page=conv.render_page, op_page=conv.render_op_page),
    "pool": Renderer(page=pool.render_page, op_page=pool.render_op_page),
    "init": Renderer(page=init_page.render_page),
    "optim": Renderer(page=optim_page.render_page),
    "regularisation": Renderer(page=regularisation_page.render_page),
    "receptive": Renderer(page=receptive_page.render_page),
}


def _part(op: Any, h: str, accuracy: dict[str, Any] | None) -> dict[str, Any]:
    """What the templates show of one record (the op or one of its variants)."""
    renderer = RENDERERS[op.renderer]
    assert renderer.formula is not None and renderer.derivation is not None, f"{op.name} has a page of its own"
    formula, derivation = renderer.formula, renderer.derivation
    return {
        "name": op.name, "public": op.public, "anchor": anchor(op.name), "h": h, "summary": md(op.summary),
        "reader_name": reader_name(op), "target": name_target(op.name),
        "arguments": arguments_table(op), "formula": formula(op), "notes": [md(n) for n in op.notes],
        "derivation": derivation(op, h), "conventions": conventions_table(op),
        "tolerances": tolerance_table([op]), "accuracy": op_accuracy(op, accuracy),
        "kernels": kernel_sources(op), "code": collapsed_code(kernel_sources(op)) if kernel_sources(op) else "",
    }


def _plot(op: Any, plots_dir: Path | None) -> dict[str, Any] | None:
    """Draws docs/assets/plots/<op>.svg when plots_dir is given (unless run_jobs drew it)."""
    if plots_dir is None:
        return None
    why = PLOTTED[op.name] if op.name in PLOTTED else make_plot(op, plots_dir)
    return {"drawn": why is None, "why": md(why) if why is not None else ""}


def render_op_page(op: Any, verification: dict[str, Any] | None = None, plots_dir: Path | None = None,
                   accuracy: dict[str, Any] | None = None) -> str:
    """The page of one op (and its variants), for docs/ops/: the call and its example,
    definition, plot, derivation, conventions, tolerances, accuracy, generated code,
    verification and source.  Draws the plot into ``plots_dir`` when one is given."""
    renderer = RENDERERS[op.renderer]
    if renderer.op_page is not None:
        return relink(renderer.op_page(op, verification))
    main = _part(op, "##", accuracy)
    variants = [_part(v, "###", accuracy) for v in variants_of(op)]
    text = render("op_page.md.j2", head=page_head(op, signature_line(op)), op=main, plot=_plot(op, plots_dir),
                  variants=variants, verification=verification_section(op, verification, "##"),
                  source=source_section(op))
    return relink(text)
