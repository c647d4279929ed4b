"""Print the NumPy engine from the op descriptions.

``python -m derivations generate`` writes ``nnref/_generated/<module>.py`` for every module
of ``derivations.registry.MODULES`` (by the printer its records name) and
``nnref/_generated/catalog.py``; ``python -m derivations check`` fails when the files on
disk differ from what the derivations produce today (a test runs the same check).

Owns: ``PRINTERS`` (printer key -> module printer) and the writer.  Imports: the
registry and the printers beside it; nothing from the page builder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import registry
from ..spec import Module
from . import catalog, conv, init, optim, pointwise, pool, receptive, regularisation, steps
from .header import OUT, ROOT

__all__ = ["OUT", "PRINTERS", "ROOT", "drift", "render_all", "write_all"]

#: How each kind of record is printed: the key is the records' ``printer``.
PRINTERS: dict[str, Callable[[Module], str]] = {
    "pointwise": pointwise.module_source,
    "steps": steps.module_source,
    "conv": conv.module_source,
    "pool": pool.module_source,
    "init": init.module_source,
    "optim": optim.module_source,
    "regularisation": regularisation.module_source,
    "formula": receptive.module_source,
}


def render_all() -> dict[Path, str]:
    files = {OUT / f"{m.name}.py": PRINTERS[m.printer](m) for m in registry.MODULES}
    files[OUT / "catalog.py"] = catalog.module_source()
    files[OUT / "__init__.py"] = '"""Generated engine modules (see derivations/codegen/)."""\n'
    return files


def write_all() -> list[Path]:
    changed = []
    OUT.mkdir(parents=True, exist_ok=True)
    for path, text in render_all().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def drift() -> list[Path]:
    """Generated files whose content differs from what the derivations give today."""
    return [p for p, text in render_all().items() if not p.exists() or p.read_text() != text]
