"""Known deviations: an implementation's measured results that differ from nnref's, as data.

A deviation (``tests/deviations/<implementation>.json``) names the op, parameters, dtype,
direction (forward or a VJP), the exact input values, the implementation's value there,
nnref's, the mathematical value, the kernel path that gives it, and the evidence.  A
comparison asks ``explained`` which of its mismatching entries a deviation accounts for: an
entry counts only where every listed input has exactly the listed value and the
implementation returned exactly the recorded value (NaN matches NaN).  Nothing else is
excused, so a deviation cannot hide a different bug.

Owns: reading the deviation files and matching entries.  Imports: NumPy only.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent / "deviations"


@cache
def load(implementation: str) -> tuple[dict[str, Any], ...]:
    path = HERE / f"{implementation}.json"
    if not path.exists():
        return ()
    return tuple(json.loads(path.read_text())["deviations"])


def _value(text: str) -> float:
    return float(text)  # 'inf', '-inf', 'nan' and numbers


def _same(a: np.ndarray, v: float) -> np.ndarray:
    return np.isnan(a) if np.isnan(v) else (a == v)


def explained(implementation: str, meta: dict[str, Any], params: dict[str, Any], dtype: str, direction: str,
              inputs: dict[str, np.ndarray], actual: Any) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(mask of the entries of ``actual`` that a listed deviation accounts for, those deviations)."""
    a = np.asarray(actual, dtype=np.float64)
    mask = np.zeros(a.shape, dtype=bool)
    used = []
    defaults = {p["name"]: p["default"] for p in meta["params"]}
    for dev in load(implementation):
        if dev["op"] != meta["name"] or dev["dtype"] != dtype or dev["direction"] != direction:
            continue
        if any(params.get(k, defaults.get(k)) != v for k, v in dev["params"].items()):
            continue
        here = _same(a, _value(dev[implementation]))
        for name, text in dev["input"].items():
            x = np.asarray(inputs[name], dtype=np.float64)
            if x.shape != a.shape:
                here = np.zeros(a.shape, dtype=bool)
                break
            here &= _same(x, _value(text))
        if here.any():
            mask |= here
            used.append(dev)
    return mask, used
