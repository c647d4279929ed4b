"""The one Jinja2 environment every page is rendered through.

Owns: ``ENV`` (templates under ``pages/templates/``) and ``render``.  Imports: Jinja2, ``.markup``
(for the generated-file note every page opens with); no other page module.

The pages' headings carry Markdown anchors such as ``{#relu}``, which Jinja2 would read as the
start of a comment, so comments are spelled ``{##  ##}`` here.  Templates receive finished
strings (LaTeX, table rows, measured numbers) and never escape them: the output is Markdown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .markup import GENERATED_NOTE

TEMPLATES = Path(__file__).resolve().parent / "templates"

ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    keep_trailing_newline=True,
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    comment_start_string="{##",
    comment_end_string="##}",
)
ENV.globals["generated_note"] = GENERATED_NOTE


def render(template: str, /, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def render_part(template: str, /, **context: Any) -> str:
    """A template that is one part of a page, without the newline its file ends with (the
    page joins its parts with blank lines of its own)."""
    out = render(template, **context)
    return out[:-1] if out.endswith("\n") else out
