"""The home page (``index.md``).

Owns: ``render_index`` and its quick-start example, computed with nnref (template
``index.md.j2``).  Imports: NumPy, ``nnref`` (inside a function), ``derivations.registry``,
``.jobs``, ``.templating``; no other page module.
"""

from __future__ import annotations

import numpy as np

from derivations.registry import FAMILIES, family_ops

from .jobs import is_variant
from .templating import render


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


def render_index() -> str:
    families = [{"title": fam.title, "page": fam.page,
                 "publics": [o.public for o in family_ops(fam.name) if not is_variant(o)]} for fam in FAMILIES]
    return render("index.md.j2", usage=_usage_example(), families=families)
