"""Comparing an implementation's arrays with nnref's, with IEEE special values respected: the
assertions the tests use, on the conformance suite's own measure (``nnref.conformance.compare``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nnref.conformance.compare import max_errors, wrong_entries

__all__ = ["assert_close", "assert_error_names", "max_errors", "same_bits"]


def assert_close(actual: Any, expected: np.ndarray, rtol: float, atol: float, what: str) -> None:
    """|actual - expected| <= atol + rtol·|expected| elementwise; NaN must match NaN, ±inf
    must match the same infinity, and shapes must agree exactly."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {a.shape}, expected {e.shape}")
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    wrong = wrong_entries(a64, e64, rtol, atol)
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


def same_bits(a: Any, b: Any) -> bool:
    """The same dtype, shape and bits (NaN compared as NaN: its sign and payload follow
    NumPy's loops, not the mathematics)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b))
                and np.array_equal(np.ascontiguousarray(a[~nan]).view(np.uint8),
                                   np.ascontiguousarray(b[~nan]).view(np.uint8)))
