"""Every parameter regime of every op is reached by construction (``nnref.conformance.regimes``),
and the conformance run reaches it in its default profile.

(a) The coverage table: for every op checked by forward and VJP, each choice and reduction,
both values of each flag, optional arrays present and absent, each float parameter away from
its default, window parameters (stride, padding, dilation, groups, kernel and output sizes)
at more than one value, batches of 0, 1 and more, one case moving every varying parameter
at once, and inputs at and either side of every kink a changed parameter moves.  A parameter
added to an op without a case that reaches it fails here.  (b) A bug only those regimes
expose (softplus switching at x > threshold instead of β·x > threshold) is caught by the
default profile, which it escapes without the fixed cases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnref
from nnref._generated.catalog import CATALOG
from nnref.conformance import regimes, runner
from nnref.conformance.check import Deviations

VJP = [m for m in CATALOG if m["crosscheck"] == "vjp"]


def table() -> list[dict[str, Any]]:
    return [regimes.coverage(m) for m in VJP]


@pytest.fixture(scope="module")
def coverage() -> dict[str, dict[str, Any]]:
    return {row["op"]: row for row in table()}


@pytest.mark.parametrize("meta", VJP, ids=[m["name"] for m in VJP])
def test_every_regime_is_reached(meta: dict[str, Any], coverage: dict[str, dict[str, Any]]) -> None:
    row = coverage[meta["name"]]
    sizes = row["batch_sizes"]
    assert 0 in sizes and 1 in sizes and max(sizes) > 1, sizes
    for p in meta["params"]:
        if p["kind"] in ("rng", "layers"):
            continue
        seen = set(row["values"][p["name"]])
        if p["kind"] == "choice":
            assert seen >= {repr(c) for c in p["choices"]}, (p["name"], seen)
        elif p["kind"] == "bool":
            assert seen == {"True", "False"}, (p["name"], seen)
        elif p["kind"] == "optional_array":
            assert seen == {"present", "absent"}, (p["name"], seen)
        elif p["kind"] == "int" and p["name"] == "dim":
            assert len(seen) >= 2, (p["name"], seen)
        else:  # floats, ints, int tuples, padding, optional ints: more than one value
            assert len(seen) >= 2, (p["name"], seen)
        if p["kind"] == "float" and p["default"] is not None:
            assert seen - {repr(p["default"])}, (p["name"], seen)
    assert row["together"] is not False, "no case moves every varying parameter at once"
    assert row["kinks_crossed"] is not False, "no case straddles the kinks at changed parameters"


def test_kinks_are_straddled_where_parameters_move_them(coverage: dict[str, dict[str, Any]]) -> None:
    moved = {op for op, row in coverage.items() if row["kinks_crossed"]}
    assert moved >= {"softplus", "hardtanh", "softshrink", "hardshrink", "threshold", "huber_loss",
                     "smooth_l1_loss", "hinge_embedding_loss", "margin_ranking_loss"}


def test_softplus_switch_point_follows_beta() -> None:
    meta = next(m for m in VJP if m["name"] == "softplus")
    changed = {"beta": 3.0625, "threshold": 22.75}
    assert 22.75 / 3.0625 in regimes.kinks(meta, changed)


class _SoftplusSwitchBug:
    """softplus that switches to the identity at x > threshold, ignoring β: right at β = 1,
    wrong only where β ≠ 1 and β·x and x fall on opposite sides of the threshold."""

    name = "softplus-switch"
    devices = ("cpu",)

    def available(self, device: str) -> str | None:
        return None

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], device: str) -> np.ndarray:
        if op != "softplus":
            raise NotImplementedError(op)
        x, beta, threshold = inputs["input"], params.get("beta", 1.0), params.get("threshold", 20.0)
        smooth = np.asarray(nnref.softplus(x, beta=beta, threshold=np.inf))
        return np.where(x > threshold, x, smooth).astype(x.dtype)

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], grad_output: np.ndarray,
            wrt: list[str], device: str) -> dict[str, np.ndarray]:
        if op != "softplus":
            raise NotImplementedError(op)
        x, beta, threshold = inputs["input"], params.get("beta", 1.0), params.get("threshold", 20.0)
        smooth = nnref.softplus_backward(grad_output, x, beta=beta, threshold=np.inf)["input"]
        return {"input": np.where(x > threshold, grad_output, smooth).astype(x.dtype)}


def test_a_regime_only_bug_is_caught_by_the_default_profile(tmp_path: Any) -> None:
    meta = next(m for m in VJP if m["name"] == "softplus")
    report = runner.run(_SoftplusSwitchBug(), "softplus-switch", [meta], "ci", Deviations(), tmp_path,
                        lambda p: f"replay {p}")
    failed = [r for r in report["rows"] if r["status"] == "failure"]
    assert failed and "regime case" in failed[0]["failure"]["message"], report["rows"]
    # The drawn examples alone let it through: the fixed cases are what catch it.
    row = runner.Row("softplus", "float64", "cpu")
    assert runner.run_fixed(_SoftplusSwitchBug(), meta, "float64", "cpu", Deviations(), row, special=False)
    drawn = runner.Row("softplus", "float64", "cpu")
    saved = runner.run_fixed
    try:
        runner.run_fixed = lambda *a, **k: None  # type: ignore[assignment]
        assert runner.run_row(_SoftplusSwitchBug(), meta, "float64", "cpu", runner.PROFILES["ci"], Deviations(),
                              drawn) is None
    finally:
        runner.run_fixed = saved  # type: ignore[assignment]
