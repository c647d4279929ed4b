"""A family's page (linear, activations, losses, convolution, pooling, ...) and its ops' pages.

Owns: ``render_family_page`` and ``render_op_pages``.  A family whose records' renderer has a
page of its own (``sections.RENDERERS``: convolution, pooling, init, ...) gets that page, any
other an overview (template ``family.md.j2``): its introduction, a table linking each op's
page, and what belongs to the family as a whole (the speed tables).  Every op with a page
(``markup.has_op_page``) gets ``docs/ops/<op>.md`` from ``sections.render_op_page``.
Imports: ``derivations.registry``, ``.jobs``, ``.markup``, ``.op_page``, ``.robustness`` (the speed
tables), ``.sections``, ``.templating``; no other page module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from derivations.registry import family_ops

from .jobs import is_variant
from .markup import has_op_page, op_page_path
from .op_page import overview_table
from .robustness import cross_entropy_bench, pointwise_bench
from .sections import RENDERERS, render_op_page
from .templating import render


def render_family_page(family: str, title: str, verification: dict[str, Any] | None,
                       plots_dir: Path | None) -> tuple[str, int, int]:
    """(page text, op records, plots drawn)."""
    ops = family_ops(family)
    pages = {RENDERERS[op.renderer].page for op in ops} - {None}
    if pages:
        (page,) = pages
        assert page is not None
        return page(title, verification, plots_dir)
    publics = [op for op in ops if not is_variant(op)]
    sections = []
    if family in ("activation", "loss"):
        sections.append("\n".join(["## Speed {#pointwise-benchmark}", "",
                                   *pointwise_bench([op.public for op in publics]), ""]))
    if family == "loss":
        sections.append("\n".join(["## cross_entropy: speed and memory {#cross-entropy-benchmark}", "",
                                   *cross_entropy_bench(), ""]))
    text = render("family.md.j2", family=family, title=title, listing=overview_table(publics), sections=sections)
    return text, len(ops), 0


def render_op_pages(family: str, verification: dict[str, Any] | None, plots_dir: Path | None,
                    accuracy: dict[str, Any] | None) -> dict[str, str]:
    """{path under docs/: page text} for every op of the family that has a page (its variants
    are on it); draws the ops' plots into ``plots_dir`` when one is given."""
    return {op_page_path(op): render_op_page(op, verification, plots_dir, accuracy)
            for op in family_ops(family) if has_op_page(op) and not is_variant(op)}
