"""Known deviations: an implementation's measured results that differ from nnref's, as data.

A deviation file (``{"implementation": name, "deviations": [...]}``; the repository's own
is ``tests/deviations/torch.json``) names, per deviation, the op, parameters, dtype,
direction (``forward`` or a VJP such as ``d/dinput``), the exact input values, the
implementation's value there (under the implementation's name), nnref's, the mathematical
value, the kernel path that gives it, and the evidence.  ``explained`` says which
mismatching entries a deviation accounts for: an entry counts only where every listed input
has exactly the listed value and the implementation returned exactly the recorded value (NaN
matches NaN).  Nothing else is excused, so a deviation cannot hide a different bug.

A VJP's value scales with the upstream gradient, so for a VJP direction the recorded value
may instead be ``{"times_grad_output": "c"}``: the implementation returned exactly
``grad_output · c`` rounded to the dtype (its local derivative there is c).  Such an entry
matches only when the caller passes the upstream gradient.

Two more optional forms reach derivative conventions (kinks) that move with a drawn value:
an input value may name one of the op's parameters (``{"input": "max_val"}``: the input
equals that parameter's value, in the input's dtype) or another input (``{"input":
"target"}``: equal entry by entry), and an entry of a VJP direction with
``"upstream": "unit"`` records the derivative itself: it counts where the implementation's
entry is the recorded value times the upstream gradient that reaches it (elementwise ops,
whose upstream gradient has the input's shape; for a loss reduced to a scalar, g for 'sum',
g / N for 'mean', times the term's weight where one is given, and g·w / Σw for a weighted
'mean' of an entry with ``"weight_mean": "weight_sum"``).  Being a product of a reduction's
terms, it is matched within the op's tolerance.

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


def _value(text: str, params: dict[str, Any] | None = None, dtype: Any = np.float64) -> float:
    """'inf', '-inf', 'nan', numbers, or the name of a parameter (its value, rounded to ``dtype``)."""
    if params and text in params:
        return float(np.asarray(params[text], dtype=dtype))
    return float(text)


def _reaching(grad_output: Any, shape: tuple[int, ...], params: dict[str, Any], weight_mean: str) -> Any:
    """The upstream gradient that reaches each entry of an elementwise op (None if unknown)."""
    if grad_output is None:
        return None
    g = np.asarray(grad_output, dtype=np.float64)
    reduction = params.get("reduction")
    w = params.get("weight") if reduction is not None else None
    w = None if w is None else np.broadcast_to(np.asarray(w, dtype=np.float64), shape)
    if g.shape == shape:
        return g if w is None else g * w
    if g.shape != () or reduction not in ("sum", "mean"):
        return None
    per = np.broadcast_to(g, shape)
    if reduction == "mean":
        size = int(np.prod(shape))
        per = per / (np.sum(w) if w is not None and weight_mean == "weight_sum" else max(size, 1))
    return per if w is None else per * w


def _same(a: np.ndarray, v: float) -> np.ndarray:
    return np.isnan(a) if np.isnan(v) else (a == v)


def _recorded(value: Any, dtype: str, grad_output: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The implementation's recorded result, elementwise: a constant, or grad_output · c
    rounded to ``dtype``; None where it depends on an upstream gradient not given."""
    if isinstance(value, dict):
        if set(value) != {"times_grad_output"}:
            raise ValueError(f"deviation value: expected a number as text or {{'times_grad_output': c}}, got {value!r}")
        if grad_output is None or np.shape(grad_output) != shape:
            return None
        g = np.asarray(grad_output, dtype=dtype)
        with np.errstate(all="ignore"):
            return np.asarray(g * np.asarray(_value(value["times_grad_output"]), dtype=dtype), dtype=np.float64)
    return np.full(shape, _value(value))


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def explained(deviations: tuple[dict[str, Any], ...], implementation: str, meta: dict[str, Any],
              params: dict[str, Any], dtype: str, direction: str, inputs: dict[str, np.ndarray],
              actual: Any, grad_output: np.ndarray | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(mask of the entries of ``actual`` that a listed deviation accounts for, those deviations).
    ``grad_output`` is a VJP direction's upstream gradient, for entries recorded as a multiple of it."""
    a = np.asarray(actual, dtype=np.float64)
    mask = np.zeros(a.shape, dtype=bool)
    used = []
    defaults = {p["name"]: p["default"] for p in meta["params"]}
    given = {k: v for k, v in {**defaults, **params}.items() if isinstance(v, (int, float)) and v is not None}
    for dev in deviations:
        if dev["op"] != meta["name"] or dev["dtype"] != dtype or dev["direction"] != direction:
            continue
        if any(params.get(k, defaults.get(k)) != v for k, v in dev["params"].items()):
            continue
        if dev.get("upstream") == "unit":
            g = _reaching(grad_output, a.shape, params, dev.get("weight_mean", "numel"))
            if g is None:
                continue
            c = _value(dev[implementation], given, dtype)
            tol = meta["tolerances"][dtype]
            with np.errstate(all="ignore"):
                want = np.float64(c) * g
                here = np.isnan(a) if np.isnan(c) else np.abs(a - want) <= tol["atol"] + tol["rtol"] * np.abs(want)
        else:
            recorded = _recorded(dev[implementation], dtype, grad_output, a.shape)
            if recorded is None:
                continue
            here = _equal(a, recorded)
        for name, text in dev["input"].items():
            x = np.asarray(inputs[name], dtype=np.float64)
            if x.shape != a.shape:
                here = np.zeros(a.shape, dtype=bool)
                break
            if text in inputs and text != name:  # equal to another input, entry by entry
                other = np.asarray(inputs[text], dtype=np.float64)
                here &= (x == other) if other.shape == x.shape else np.zeros(a.shape, dtype=bool)
            else:
                here &= _same(x, _value(text, given, inputs[name].dtype))
        if here.any():
            mask |= here
            used.append(dev)
    return mask, used
