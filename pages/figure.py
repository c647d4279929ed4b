"""How every picture on the site is written: SVG, transparent, byte-for-byte reproducible.

SVG keeps lines and numbers sharp at any zoom and on HiDPI screens, where the old 640 px
PNGs blurred.  The background is transparent so the page shows through; in the dark palette
``nnref.css`` inverts the drawing's lightness (and turns the hues back), because a picture
inside an ``<img>`` cannot read the site's palette toggle itself.  Text is drawn as glyph
outlines (``svg.fonttype = 'path'``): a third larger than SVG text, but the same on every
reader's machine, where SVG text would fall back to whatever fonts are installed while its
positions were computed for matplotlib's own.

Owns: ``EXT`` (the pictures' file extension) and ``save``.  Imports: matplotlib (inside
``save``); no other page module.
"""

from __future__ import annotations

import re
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
    # No metadata block, and no DOCTYPE: its DTD address is the only URL a reader's tools would
    # flag (the xmlns names that remain are identifiers, never fetched).
    none = {"Date": None, "Creator": None, "Format": None, "Type": None}
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "nnref"}):
        fig.savefig(path, format="svg", transparent=True, metadata=none)
    plt.close(fig)
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, count=1), encoding="utf-8")
