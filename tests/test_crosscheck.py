"""Property tests: every op, forward and backward, against the implementation under test.

For each op, dtype and device, hypothesis draws shapes (empty ones included), parameters
and inputs (ordinary values, the op's kink points, ±0, tiny and large magnitudes) and a
random upstream gradient; the implementation must agree with nnref within the op's
declared per-dtype tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from compare import assert_close
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import DTYPES, case_for

import nnref
from nnref._generated.catalog import CATALOG

DEVICES = ("cpu", "cuda")
# Entries verified by forward and vector-Jacobian product on drawn inputs; initialisers,
# optimizers and dropout say in their catalog entry how they are verified instead
# (tests/test_init.py, tests/test_optim.py, tests/test_regularisation.py).
VJP_OPS = [m for m in CATALOG if m["crosscheck"] == "vjp"]


def _show(name: str, value: np.ndarray) -> str:
    # Small inputs are printed whole so a failure can be replayed by hand.
    body = np.array2string(value, precision=17, separator=", ") if value.size <= 8 else f"shape {value.shape}"
    return f"{name}={body}"


def _ids(meta: dict[str, Any]) -> str:
    return str(meta["name"])


def _weight_grad_atol(op: Any, inputs: dict[str, np.ndarray], params: dict[str, Any], rtol: float) -> float:
    """Absolute error allowed in a loss's weight gradient.

    With reduction='mean' over the weight sum, d/dw_i = (l_i - L) / Σw: a difference of
    numbers as large as max|l| that cancel (exactly 0 for one element).  Its rounding
    error is therefore about rtol·max|l| / Σw, however small the gradient itself."""
    unweighted = {k: v for k, v in params.items() if k != "weight"}
    unweighted["reduction"] = "none"
    losses = np.abs(np.asarray(op.forward(**inputs, **unweighted), dtype=np.float64))
    scale = float(losses.max()) if losses.size else 0.0
    if params.get("reduction") == "mean":
        total = float(np.sum(params["weight"], dtype=np.float64))
        scale /= max(total, 1e-30) if total else 1.0
    return rtol * scale


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("meta", VJP_OPS, ids=_ids)
def test_matches_nnref(meta: dict[str, Any], dtype: str, device: str, impl: Any,
                       recorder: Any, skipped_ops: set[str]) -> None:
    name = meta["name"]
    if name in skipped_ops:
        pytest.skip(f"{name} listed in --skip-ops")
    if device not in impl.devices:
        pytest.skip(f"{impl.name} does not run on {device}")
    reason = impl.available(device)
    if reason:
        pytest.skip(reason)
    op = nnref.get_op(name)
    tol = meta["tolerances"][dtype]

    @given(case=case_for(meta, dtype), data=st.data())
    def check(case: Any, data: Any) -> None:
        inputs, params = case
        expected = op.forward(**inputs, **params)
        try:
            actual = impl.forward(name, inputs, params, device)
        except NotImplementedError as exc:
            pytest.fail(f"{impl.name} does not provide {name}: {exc}")
        where = f"{name}({', '.join(_show(k, v) for k, v in inputs.items() if v is not None)}, {params}) [{dtype}, {device}]"
        if isinstance(expected, tuple):
            # (values, indices): the indices must agree exactly, then the values are compared
            assert isinstance(actual, tuple) and len(actual) == 2, f"{where}: expected (values, indices)"
            ind = np.asarray(actual[1])
            assert ind.dtype == np.int64, f"{where}: index dtype {ind.dtype}"
            assert ind.shape == expected[1].shape and np.array_equal(ind, expected[1]), \
                f"indices {where}: got {ind.ravel()[:8]}, expected {expected[1].ravel()[:8]}"
            actual, expected = actual[0], expected[0]
        assert np.asarray(actual).dtype == np.dtype(dtype), f"{where}: output dtype {np.asarray(actual).dtype}"
        assert_close(actual, expected, tol["rtol"], tol["atol"], f"forward {where}")
        recorder.add(name, dtype, device, "forward", actual, expected, tol["rtol"], tol["atol"])

        grad_output = data.draw(hnp.arrays(DTYPES[dtype], np.shape(expected),
                                           elements=st.floats(-2, 2, width=32)), label="grad_output")
        # Only floating arrays have gradients (cross_entropy's class-index targets do not).
        wrt = [k for k in meta["differentiable"] if inputs.get(k) is not None and inputs[k].dtype.kind == "f"]
        # Array parameters torch differentiates too (the weight of mse/l1/huber_loss).
        wrt += [p["name"] for p in meta["params"] if p.get("differentiable") and params.get(p["name"]) is not None]
        ref_grads = op.backward(grad_output, **inputs, **params)
        got = impl.vjp(name, inputs, params, grad_output, wrt, device)
        for k in wrt:
            atol = tol["atol"]
            if k not in inputs:
                atol += _weight_grad_atol(op, inputs, params, tol["rtol"])
            assert_close(got[k], ref_grads[k], tol["rtol"], atol, f"d/d{k} {where}")
            recorder.add(name, dtype, device, f"d/d{k}", got[k], ref_grads[k], tol["rtol"], atol)
        recorder.example(name, dtype, device)

    try:
        check()
    except BaseException:
        recorder.failed(name, dtype, device)
        raise
