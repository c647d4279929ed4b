"""Property tests: every op, forward and backward, against the implementation under test.

For each op, dtype and device, hypothesis draws shapes (empty ones included), parameters
and inputs (ordinary values, the op's kink points, ±0, tiny and large magnitudes) and a
random upstream gradient; the implementation must agree with nnref within the op's
declared per-dtype tolerance.  Each example is judged by ``nnref.conformance.check`` with
the strategies of ``nnref.conformance.strategies``: the same cross-check ``python -m nnref
conform`` runs from the installed package.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from known_deviations import load as load_deviations

from nnref._generated.catalog import CATALOG
from nnref.conformance.check import Deviations, check_case
from nnref.conformance.strategies import DTYPES, case_for, grad_outputs

DEVICES = ("cpu", "cuda")
# Entries verified by forward and vector-Jacobian product on drawn inputs; initialisers,
# optimizers and dropout say in their catalog entry how they are verified instead
# (tests/test_init.py, tests/test_optim.py, tests/test_regularisation.py).
VJP_OPS = [m for m in CATALOG if m["crosscheck"] == "vjp"]


def _ids(meta: dict[str, Any]) -> str:
    return str(meta["name"])


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
    # Entries a measured deviation of this implementation accounts for (tests/deviations/)
    # are reported, not failed.
    deviations = Deviations(impl.name, load_deviations(impl.name))

    @given(case=case_for(meta, dtype), data=st.data())
    def check(case: Any, data: Any) -> None:
        inputs, params = case
        try:
            result = check_case(impl, meta, dtype, device, inputs, params,
                                lambda shape: data.draw(grad_outputs(dtype, shape), label="grad_output"),
                                deviations)
        except NotImplementedError as exc:
            pytest.fail(f"{impl.name} does not provide {name}: {exc}")
        for c in result.comparisons:
            recorder.add(name, dtype, device, c)
        assert not result.failed, result.message
        recorder.example(name, dtype, device)

    try:
        check()
    except BaseException:
        recorder.failed(name, dtype, device)
        raise
