"""Known deviations: an implementation's measured results that differ from nnref's, as data.

A deviation file (``{"implementation": name, "deviations": [...]}``; the repository's own
is ``tests/deviations/torch.json``) names, per deviation, the op, parameters, dtype,
direction (``forward`` or a VJP such as ``d/dinput``), the exact input values, the
implementation's value there (under the implementation's name), nnref's, the mathematical
value, the kernel path that gives it, and the evidence.  ``explained`` says which
mismatching entries a deviation accounts for: an entry counts only where every listed input
has exactly the listed value and the implementation returned exactly the recorded value (NaN
matches NaN).  Nothing else is excused, so a deviation cannot hide a different bug.

Owns: reading deviation files and matching entries.  Imports: NumPy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def read(path: str | Path) -> tuple[str, tuple[dict[str, Any], ...]]:
    """(the implementation the file is about, its deviations)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--deviations: expected a readable JSON file of deviations, got {str(path)!r} ({exc})") \
            from exc
    if not isinstance(data, dict) or "implementation" not in data or "deviations" not in data:
        raise ValueError(f"--deviations: expected a JSON object with 'implementation' and 'deviations',"
                         f" got {str(path)!r} with keys {sorted(data) if isinstance(data, dict) else type(data)}")
    return str(data["implementation"]), tuple(data["deviations"])


def _value(text: str) -> float:
    return float(text)  # 'inf', '-inf', 'nan' and numbers


def _same(a: np.ndarray, v: float) -> np.ndarray:
    return np.isnan(a) if np.isnan(v) else (a == v)


def explained(deviations: tuple[dict[str, Any], ...], implementation: str, meta: dict[str, Any],
              params: dict[str, Any], dtype: str, direction: str, inputs: dict[str, np.ndarray],
              actual: Any) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(mask of the entries of ``actual`` that a listed deviation accounts for, those deviations)."""
    a = np.asarray(actual, dtype=np.float64)
    mask = np.zeros(a.shape, dtype=bool)
    used = []
    defaults = {p["name"]: p["default"] for p in meta["params"]}
    for dev in deviations:
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
