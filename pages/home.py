"""The home page (``index.md``).

Owns: ``render_index`` and its quick-start example, computed with nnref, its citation box
(read from ``CITATION.cff``), and ``render_changelog`` (templates ``index.md.j2``,
``changelog.md.j2``).  Imports: NumPy, ``nnref`` (inside a function), ``derivations`` (derive,
registry),
``.jobs``, ``.markup``, ``.paths``, ``.templating``; no other page module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from derivations.derive import PROOF_DIGITS, PROOF_POINTS
from derivations.registry import FAMILIES, family_ops

from .jobs import is_variant
from .markup import has_op_page, op_page_path
from .paths import ROOT
from .templating import render


def version() -> str:
    import nnref

    return str(nnref.__version__)


def _citation() -> dict[str, str]:
    """The fields of CITATION.cff the box quotes: read from the file so that the two cannot
    disagree (tests/test_packaging.py holds the file's version to the package's)."""
    fields: dict[str, str] = {}
    for line in (ROOT / "CITATION.cff").read_text().splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" ") and value.strip():
            fields[key.strip()] = value.strip().strip('"')
    authors = [line.split(":", 1)[1].strip().strip('"') for line in (ROOT / "CITATION.cff").read_text().splitlines()
               if line.strip().startswith("- name:")]
    fields["authors"] = " and ".join(authors)
    return fields


def _examples(data: dict[str, Any] | None) -> str:
    """How many examples the last verification run drew per op and dtype, as it recorded."""
    profile = (data or {}).get("provenance", {}).get("profile")
    return str(profile) if profile else ""


def _usage_example() -> str:
    import nnref

    x = np.array([-2.0, 0.0, 2.0])
    sig = nnref.sigmoid(x)
    back = nnref.get_op("relu").backward(np.ones(3), x)
    with np.printoptions(precision=8):
        return "\n".join([
            "```python",
            "import numpy as np",
            "import nnref",
            "",
            "x = np.array([-2.0, 0.0, 2.0])",
            "nnref.sigmoid(x)",
            f"# {sig!r}",
            "",
            "relu = nnref.get_op('relu')",
            "relu.backward(np.ones(3), x)   # the gradient of sum(relu(x)); relu'(0) = 0 as in torch",
            f"# {back!r}",
            "",
            "nnref.sigmoid_backward(np.ones(3), x)['input']   # σ(x)(1 − σ(x))",
            f"# {nnref.sigmoid_backward(np.ones(3), x)['input']!r}",
            "```",
        ])


def render_index(data: dict[str, Any] | None = None) -> str:
    families = [{"title": fam.title, "page": fam.page,
                 "publics": [(o.public, op_page_path(o) if has_op_page(o) else f"{fam.page}#{o.public}")
                             for o in family_ops(fam.name) if not is_variant(o)]} for fam in FAMILIES]
    cite = _citation()
    bibtex = "\n".join([
        "@software{nnref,",
        f"  title   = {{{cite['title']}}},",
        # Double braces: BibTeX would otherwise split a group's name into first and last names.
        f"  author  = {{{{{cite['authors']}}}}},",
        f"  version = {{{cite['version']}}},",
        "  note    = {MIT licence},",
        "}",
    ])
    return render("index.md.j2", usage=_usage_example(), families=families, version=version(),
                  examples=_examples(data), bibtex=bibtex, proof_digits=PROOF_DIGITS, proof_points=PROOF_POINTS)


def render_changelog() -> str:
    return render("changelog.md.j2", version=version())
