"""JAX through the conformance runner, with its measured deviations (``tests/deviations/jax.json``).

(a) The runner on the default (ci) profile, JAX's deviation file given: every row passes, is
a listed deviation, or is an op JAX does not provide, and those are exactly the ones the
adapter names.  A full run of every op takes minutes on 2 cores (each new shape compiles
XLA kernels), so CI runs the ops below: every op with a listed deviation, and one or more
of every family; ``NNREF_JAX_ALL=1`` runs all 61.  (b) Every listed deviation is measured
again: at its input JAX still returns the recorded value, so the file cannot go stale when
the jax pin moves.  Both skip when jax is not installed (``pip install "nnref[jax]"``).

Owns: the JAX conformance tests.  Imports: pytest, NumPy, ``nnref.conformance``, ``jax_adapter``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnref._generated.catalog import CATALOG
from nnref.conformance import deviations, runner
from nnref.conformance.check import Deviations, select

pytest.importorskip("jax", reason="jax is not installed: pip install 'nnref[jax]' (make installs it)")

from jax_adapter import NOT_PROVIDED, JaxAdapter  # noqa: E402 - after the skip

FILE = Path(__file__).resolve().parent / "deviations" / "jax.json"
IMPLEMENTATION, ENTRIES = deviations.read(FILE)
# Every op with a listed deviation, one or more per family, and two JAX does not provide.
CI_OPS = sorted({d["op"] for d in ENTRIES} | {"gelu", "softplus", "softmax", "mse_loss", "cross_entropy", "conv2d",
                                               "conv_transpose1d", "max_pool2d", "avg_pool2d", "rrelu",
                                               "adaptive_avg_pool1d"})


@pytest.fixture(scope="module")
def adapter() -> JaxAdapter:
    return JaxAdapter()


def test_jax_conforms_on_the_ci_profile(adapter: JaxAdapter, tmp_path: Path) -> None:
    ops = None if os.environ.get("NNREF_JAX_ALL") == "1" else ",".join(CI_OPS)
    metas = select(ops, None)
    report = runner.run(adapter, "jax_adapter:JaxAdapter", metas, "ci", Deviations(IMPLEMENTATION, ENTRIES),
                        tmp_path, lambda p: f"python -m nnref conform --impl jax_adapter:JaxAdapter --replay {p}")
    bad = [f"{r['op']} {r['dtype']}: {r['status']} {r['failure']}" for r in report["rows"]
           if r["status"] not in ("pass", "known deviation", "not provided")]
    assert not bad, "\n".join(bad)
    assert set(report["not_provided"]) == {m["name"] for m in metas} & set(NOT_PROVIDED)
    assert all(r["examples"] >= 30 for r in report["rows"] if r["status"] != "not provided")


# Values for deviations whose input is a parameter's name (hardtanh's bounds).
EXAMPLE_PARAMS = {"min_val": -0.25, "max_val": 0.75}


def _case(dev: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    meta = next(m for m in CATALOG if m["name"] == dev["op"])
    params: dict[str, Any] = dict(dev["params"])
    if any(p["name"] == "reduction" for p in meta["params"]):
        params["reduction"] = "none"
    for text in dev["input"].values():
        if text in EXAMPLE_PARAMS:
            params.setdefault(text, EXAMPLE_PARAMS[text])
    inputs: dict[str, np.ndarray] = {}
    for spec in meta["inputs"]:
        text = dev["input"].get(spec["name"])
        if text is None or text in dev["input"] or text in [s["name"] for s in meta["inputs"]]:
            text = "0.5"
        value = params[text] if text in params else float(text)
        inputs[spec["name"]] = np.full(4, value, dtype=dev["dtype"])
    return inputs, params


@pytest.mark.parametrize("dev", ENTRIES, ids=[f"{d['op']}-{d['dtype']}-{d['direction']}-{d['input']}" for d in ENTRIES])
def test_each_listed_deviation_is_what_jax_returns(adapter: JaxAdapter, dev: dict[str, Any]) -> None:
    inputs, params = _case(dev)
    if dev["direction"] == "forward":
        got = adapter.forward(dev["op"], inputs, params, "cpu")
    else:
        wrt = dev["direction"][len("d/d"):]
        got = adapter.vjp(dev["op"], inputs, params, np.ones(4, dtype=dev["dtype"]), [wrt], "cpu")[wrt]
    text = dev[IMPLEMENTATION]
    want = float(params[text]) if text in params else float(text)
    assert got.dtype == np.dtype(dev["dtype"])
    assert (np.all(np.isnan(got)) if np.isnan(want) else np.all(got == np.asarray(want, dtype=dev["dtype"]))), got
