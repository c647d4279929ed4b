"""Known deviations of the implementations this repository measures, read from
``tests/deviations/<implementation>.json`` and matched by ``nnref.conformance.deviations``
(the same matching ``python -m nnref conform --deviations FILE`` does).

Owns: where the repository keeps its deviation files.  Imports: ``nnref.conformance.deviations``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from nnref.conformance import deviations

HERE = Path(__file__).resolve().parent / "deviations"


@cache
def load(implementation: str) -> tuple[dict[str, Any], ...]:
    path = HERE / f"{implementation}.json"
    if not path.exists():
        return ()
    return deviations.read(path)[1]


def explained(implementation: str, meta: dict[str, Any], params: dict[str, Any], dtype: str, direction: str,
              inputs: dict[str, np.ndarray], actual: Any,
              grad_output: np.ndarray | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(mask of the entries of ``actual`` that a listed deviation accounts for, those deviations)."""
    return deviations.explained(load(implementation), implementation, meta, params, dtype, direction, inputs, actual,
                                grad_output)
