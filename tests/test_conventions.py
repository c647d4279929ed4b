"""Every declared convention, at its exact point, against the implementation under test.

The cross-check meets kinks only when hypothesis happens to draw them; here each
convention's point (and parameters) is evaluated directly, forward and backward, as a
whole SIMD vector of copies (torch's scalar tail path differs at NaN, see
derivations/ops/activations.py), and the implementation must agree with nnref exactly up to
the op's tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from compare import assert_close

import nnref
from nnref._generated.catalog import CATALOG

ORDINARY = {"real": 0.5, "unit": 0.5, "positive": 1.5, "nonneg": 1.5, "sign": 1.0, "pm1": 1.0}
COPIES = 64


def _cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for meta in (m for m in CATALOG if m["crosscheck"] == "vjp"):
        seen = set()
        for conv in meta["conventions"]:
            key = (conv["label"], repr(conv["point"]), repr(conv["params"]))
            if conv["point"] and key not in seen:
                seen.add(key)
                out.append((meta, conv))
    return out


CASES = _cases()


def _inputs(meta: dict[str, Any], conv: dict[str, Any], dtype: str) -> dict[str, np.ndarray]:
    arrays = {}
    for spec in meta["inputs"]:
        if spec["layout"] == "channel":
            arrays[spec["name"]] = np.array([0.25], dtype=dtype)
            continue
        value = conv["point"].get(spec["name"], ORDINARY[spec["test_domain"]])
        arrays[spec["name"]] = np.full(COPIES, value, dtype=dtype)
    return arrays


def _params(meta: dict[str, Any], conv: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in meta["params"]:
        if p["name"] == "reduction":
            params["reduction"] = "none"
        elif p["default"] is None and p["kind"] == "float":
            params[p["name"]] = conv["params"][p["name"]]
    params.update({k: v for k, v in conv["params"].items() if not isinstance(v, float) or math.isfinite(v)})
    return params


# ASCII ids: pytest escapes other characters in an id (± as \xb1), and a pytest run started
# in the same process as an earlier one (mutmut's `make mutation`) cannot select escaped ids.
ASCII = str.maketrans({"±": "+-", "·": "*", "∂": "d", "−": "-"})


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("meta,conv", CASES, ids=[f"{m['name']}: {c['label']}".translate(ASCII) for m, c in CASES])
def test_convention_matches_implementation(meta: dict[str, Any], conv: dict[str, Any], dtype: str,
                                           impl: Any) -> None:
    reason = impl.available("cpu")
    if reason:
        pytest.skip(reason)
    name = meta["name"]
    inputs, params = _inputs(meta, conv, dtype), _params(meta, conv)
    op = nnref.get_op(name)
    tol = meta["tolerances"][dtype]
    expected = op.forward(**inputs, **params)
    try:
        actual = impl.forward(name, inputs, params, "cpu")
    except NotImplementedError as exc:
        pytest.fail(f"{impl.name} does not provide {name}: {exc}")
    what = f"{name} at {conv['point']} {params} [{dtype}] ({conv['label']})"
    assert_close(actual, expected, tol["rtol"], tol["atol"], f"forward {what}")
    grad_output = np.ones(np.shape(expected), dtype=dtype)
    wrt = [k for k in meta["differentiable"] if k in inputs]
    ref = op.backward(grad_output, **inputs, **params)
    got = impl.vjp(name, inputs, params, grad_output, wrt, "cpu")
    for k in wrt:
        assert_close(got[k], ref[k], tol["rtol"], tol["atol"], f"d/d{k} {what}")
