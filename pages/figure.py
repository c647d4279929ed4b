"""How every picture on the site is written: SVG, transparent, byte-for-byte reproducible.

SVG keeps lines and numbers sharp at any zoom and on HiDPI screens, where the old 640 px
PNGs blurred.  The background is transparent so the page shows through; in the dark palette
``nnref.css`` inverts the drawing's lightness (and turns the hues back), because a picture
inside an ``<img>`` cannot read the site's palette toggle itself.  Text is kept as SVG text
(``svg.fonttype = 'none'``): a tenth of the size of glyph outlines, and searchable.

Owns: ``EXT`` (the pictures' file extension) and ``save``.  Imports: matplotlib (inside
``save``); no other page module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXT = ".svg"


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` (an ``EXT`` file) and close it."""
    import matplotlib
    import matplotlib.pyplot as plt

    if path.suffix != EXT:
        raise ValueError(f"figure path: expected a {EXT} file, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fixed salt and no date: the same figure gives the same bytes on every build.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "nnref"}):
        fig.savefig(path, format="svg", transparent=True, metadata={"Date": None, "Creator": None})
    plt.close(fig)
