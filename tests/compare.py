"""Comparing an implementation's arrays with nnref's, with IEEE special values respected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


def max_errors(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> tuple[float, float, float]:
    """Over the finite entries of both: the largest absolute difference, the largest
    relative difference (entries with |expected| >= 1e-3 only, where it means something),
    and the largest fraction of the tolerance used, |a - e| / (atol + rtol·|e|)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(e)
    if not both.any():
        return 0.0, 0.0, 0.0
    diff = np.abs(a[both] - e[both])
    mag = np.abs(e[both])
    rel = np.where(mag >= 1e-3, diff / np.maximum(mag, 1e-3), 0.0)
    allowed = atol + rtol * mag
    # An exact tolerance (0, 0): used is 0 where the entries agree, inf where they do not.
    used = np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1.0), np.where(diff > 0, np.inf, 0.0))
    return float(diff.max()), float(rel.max()), float(used.max())


def assert_close(actual: Any, expected: np.ndarray, rtol: float, atol: float, what: str) -> None:
    """|actual - expected| <= atol + rtol·|expected| elementwise; NaN must match NaN, ±inf
    must match the same infinity, and shapes must agree exactly."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {a.shape}, expected {e.shape}")
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    bad = nan_a != nan_e
    inf_mismatch = (np.isinf(a64) | np.isinf(e64)) & ~(nan_a | nan_e) & (a64 != e64)
    finite = np.isfinite(a64) & np.isfinite(e64)
    with np.errstate(invalid="ignore"):
        far = finite & (np.abs(a64 - e64) > atol + rtol * np.abs(e64))
    wrong = bad | inf_mismatch | far
    if wrong.any():
        idx = np.argwhere(wrong)[:5]
        samples = "; ".join(f"at {tuple(int(i) for i in ix)}: got {a64[tuple(ix)]!r},"
                            f" expected {e64[tuple(ix)]!r}" for ix in idx)
        raise AssertionError(f"{what}: {int(wrong.sum())} of {wrong.size} entries differ"
                             f" (rtol={rtol}, atol={atol}); {samples}")


def assert_error_names(call: Callable[[], Any], fragments: list[str],
                       errors: type[BaseException] | tuple[type[BaseException], ...]) -> None:
    """call() raises one of ``errors`` whose message holds every fragment (the op, the
    argument, what was expected and what was given)."""
    with pytest.raises(errors) as info:
        call()
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"error message {message!r} lacks {missing}"
