"""Known deviations of the implementations this repository measures, read from
``tests/deviations/<implementation>.json`` and matched by ``nnref.conformance.deviations``
(the same matching ``python -m nnref conform --deviations FILE`` does), and a concrete case
at each entry's point, on which the tests measure the implementation and nnref again.

Owns: where the repository keeps its deviation files; each entry's point as a case (``point``).
Imports: NumPy, ``nnref._generated.catalog``, ``nnref.conformance.deviations``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from nnref._generated.catalog import CATALOG
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


# Values for entries whose input is a parameter's name, off the defaults so that a bound
# other than hardtanh's ±1 takes JAX's jnp.clip path (hinge's margin too).
EXAMPLE_PARAMS = {"min_val": -0.25, "max_val": 0.75, "margin": 0.5}

# Entries whose point is not one value per input (rows, windows, a relation named by
# "where"), keyed by (op, the entry's input, its where): the case written out, and which
# entries of the direction's result the entry is about (None: all of them).  A kept sample
# whose class weighs 0 is NaN in every framework (0/0), so there only the ignored rows differ.
_ROWS = [[0.0, 1.0], [2.0, -1.0]]
STRUCTURED: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any], Any]] = {
    ("cross_entropy", "{}", "all(target == ignore_index)"):
        ({"input": _ROWS, "target": [1, 1]}, {"ignore_index": 1, "reduction": "mean"}, None),
    ("nll_loss", "{}", "all(target == ignore_index)"):
        ({"input": _ROWS, "target": [1, 1]}, {"ignore_index": 1, "reduction": "mean"}, None),
    ("cross_entropy", "{}", "sum(where(target == ignore_index, 0, take(weight, target))) == 0"):
        ({"input": _ROWS, "target": [1, 0]}, {"weight": [1.0, 0.0], "ignore_index": 0, "reduction": "mean"},
         [[False, False], [True, True]]),
    ("nll_loss", "{}", "sum(where(target == ignore_index, 0, take(weight, target))) == 0"):
        ({"input": _ROWS, "target": [1, 0]}, {"weight": [1.0, 0.0], "ignore_index": 0, "reduction": "mean"},
         [[False, False], [True, True]]),
    ("margin_ranking_loss", "{}", "-target * (input1 - input2) + margin == 0"):
        ({"input1": [1.0, 0.0], "input2": [0.0, 1.0], "target": [1.0, -1.0]}, {"margin": 1.0, "reduction": "none"},
         None),
    ("cosine_embedding_loss", "{'input2': '0.0'}", ""):
        ({"input1": [[1.0, 2.0]], "input2": [[0.0, 0.0]], "target": [-1.0]}, {"margin": 0.0, "reduction": "none"}, None),
    ("cosine_embedding_loss", "{'input1': '0.0'}", ""):
        ({"input1": [[0.0, 0.0]], "input2": [[1.0, 2.0]], "target": [-1.0]}, {"margin": 0.0, "reduction": "none"}, None),
    ("max_pool1d", "{'input': 'nan'}", ""):
        ({"input": [[[float("nan"), 1.0, float("nan"), 2.0]]]}, {"kernel_size": 2, "stride": 2},
         [[[True, False, True, False]]]),
}


def point(dev: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any], np.ndarray | None]:
    """(inputs, parameters, the entries the deviation is about or None for all) of a case at
    ``dev``'s point: one value per input on 4 entries, reduction 'none' where the op has one,
    or the case written out above."""
    meta = next(m for m in CATALOG if m["name"] == dev["op"])
    key = (dev["op"], str(dev["input"]), dev.get("where", ""))
    if key in STRUCTURED:
        values, fixed, at = STRUCTURED[key]
        kinds = {i["name"]: i["kind"] for i in meta["inputs"]}
        inputs = {k: np.asarray(v, dtype=np.int64 if kinds[k] == "label" else dev["dtype"]) for k, v in values.items()}
        params = {k: (np.asarray(v, dtype=dev["dtype"]) if isinstance(v, list) else v) for k, v in fixed.items()}
        return inputs, params, None if at is None else np.asarray(at)
    if "where" in dev:
        raise KeyError(f"dev: no case written out for {key} (add it to STRUCTURED)")
    params: dict[str, Any] = dict(dev["params"])
    if any(p["name"] == "reduction" for p in meta["params"]):
        params["reduction"] = "none"
    for text in dev["input"].values():
        if text in EXAMPLE_PARAMS:
            params.setdefault(text, EXAMPLE_PARAMS[text])
    inputs: dict[str, np.ndarray] = {}
    names = [s["name"] for s in meta["inputs"]]
    defaults = {p["name"]: p["default"] for p in meta["params"]}
    for name in names:
        text = dev["input"].get(name)
        if text is None or text in names:  # free, or equal to another input: both an ordinary value
            text = "0.5"
        value = params.get(text, defaults.get(text)) if text in defaults else float(text)
        inputs[name] = np.full(4, value, dtype=dev["dtype"])
    return inputs, params, None
