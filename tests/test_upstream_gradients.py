"""Non-finite upstream gradients: IEEE semantics, declared and tested for every pointwise op.

nnref's convention: the vector-Jacobian product of a pointwise op is grad_output times the
local derivative, multiplied under IEEE rules.  A NaN upstream gradient gives NaN at every
element it reaches, also where the local derivative is 0 (NaN·0 = NaN: a NaN upstream is a
fault upstream, and passing 0 on would hide it); ±inf gives ±inf where the derivative is
nonzero and NaN where it is 0 (inf·0).  So, for every op and input, backward(g, x) equals
g · backward(1, x) elementwise, NaN for NaN.

torch differs (measured, torch 2.13 CPU): its masked backward kernels (relu, relu6,
hardtanh, the shrinks, threshold, margin_ranking_loss) return 0 where the mask is off, for
any upstream value; and for softsign, tanhshrink, kl_div, poisson_nll_loss,
gaussian_nll_loss an infinite upstream gradient comes back NaN where nnref's is ±inf.
The README lists this among the deliberate differences.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import nnref
from nnref._generated.catalog import CATALOG

ORDINARY = {"real": [-2.5, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 3.0, 6.0], "unit": [0.0, 0.1, 0.5, 0.9, 1.0],
            "positive": [0.25, 0.5, 1.0, 2.0, 5.0], "nonneg": [0.0, 0.5, 1.0, 2.0, 5.0],
            "sign": [-1.0, 0.0, 0.5, 1.0], "pm1": [-1.0, 1.0]}
UPSTREAM = [np.nan, np.inf, -np.inf, 0.0, -0.0, 2.0]
REQUIRED = {"threshold": 0.5, "value": -0.5}


def _pointwise() -> list[dict[str, Any]]:
    out = []
    for meta in CATALOG:
        if meta.get("crosscheck", "vjp") != "vjp" or meta["family"] not in ("activation", "loss"):
            continue
        if any(i["kind"] != "float" for i in meta["inputs"]) or any(p["name"] == "dim" for p in meta["params"]):
            continue
        if meta["name"] in ("cosine_embedding_loss", "prelu"):
            continue
        out.append(meta)
    return out


OPS = _pointwise()


def _case(meta: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    grids = [ORDINARY[i["test_domain"]] for i in meta["inputs"]]
    n = int(np.prod([len(g) for g in grids])) * len(UPSTREAM)
    idx = np.arange(n)
    inputs, stride = {}, len(UPSTREAM)
    for spec, grid in zip(meta["inputs"], grids):
        inputs[spec["name"]] = np.array(grid)[(idx // stride) % len(grid)]
        stride *= len(grid)
    params: dict[str, Any] = {}
    for p in meta["params"]:
        if p["name"] == "reduction":
            params["reduction"] = "none"
        elif p["default"] is None and p["kind"] == "float":
            params[p["name"]] = REQUIRED[p["name"]]
    return inputs, params


@pytest.mark.parametrize("meta", OPS, ids=[m["name"] for m in OPS])
def test_vjp_is_upstream_times_the_local_derivative(meta: dict[str, Any]) -> None:
    inputs, params = _case(meta)
    op = nnref.get_op(meta["name"])
    n = len(next(iter(inputs.values())))
    g = np.array(UPSTREAM)[np.arange(n) % len(UPSTREAM)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        local = op.backward(np.ones(n), **inputs, **params)
        got = op.backward(g, **inputs, **params)
        with np.errstate(invalid="ignore"):
            for k, d in local.items():
                want = g * d
                assert np.array_equal(np.isnan(got[k]), np.isnan(want)), (k, got[k], want)
                fin = ~np.isnan(want)
                assert np.array_equal(got[k][fin], want[fin]), (k, got[k][fin], want[fin])
