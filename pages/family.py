"""A family's page (linear, activations, losses, convolution, pooling).

Owns: ``render_family_page``: a family whose records' renderer has a page of its own
(``sections.RENDERERS``: convolution, pooling) gets that page, any other the page of op
sections (template ``family.md.j2``).  Imports: ``derivations.registry``, ``.jobs``,
``.markup``, ``.robustness`` (the speed tables), ``.sections``,
``.templating``; no other page module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from derivations.registry import family_ops

from .jobs import is_variant
from .markup import anchor
from .robustness import cross_entropy_bench, pointwise_bench
from .sections import RENDERERS, render_op_section
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
    sections = [render_op_section(op, verification, plots_dir) for op in publics]
    if family in ("activation", "loss"):
        sections.append("\n".join(["## Speed {#pointwise-benchmark}", "",
                                   *pointwise_bench([op.public for op in publics]), ""]))
    if family == "loss":
        sections.append("\n".join(["## cross_entropy: speed and memory {#cross-entropy-benchmark}", "",
                                   *cross_entropy_bench(), ""]))
    plots = sum(f"(assets/plots/{op.name}.png)" in s for op, s in zip(publics, sections))
    listing = ", ".join(f"[{op.public}](#{anchor(op.name)})" for op in publics)
    text = render("family.md.j2", family=family, title=title, listing=listing, sections=sections)
    return text, len(ops), plots
