"""Tests written to kill mutants that survived `make mutation` (README, "Mutation testing"): each
asserts a value known independently of nnref's code (a closed form, an identity, mpmath),
at an input the rest of the fast suite does not reach.

Owns: nothing but these tests.  Imports: nnref, NumPy, mpmath.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import nnref
from nnref import NNRefError
from nnref import _runtime as rt

# ----------------------------------------------------------------------------- _runtime.pw
# The printer emits _rt.pw for a piecewise formula whose branch calls a special function; no
# op of the current catalog has one, so its contract is checked here directly.


def test_pw_first_true_condition_wins_and_nan_where_none_holds() -> None:
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = rt.pw((x,), (x <= 0, x <= 1), (lambda v: v * 0 + 10, lambda v: v * 0 + 20))
    assert out.tolist()[:4] == [10.0, 10.0, 10.0, 20.0] and np.isnan(out[4])
    assert out.dtype == np.float64


def test_pw_true_is_the_otherwise_branch_and_stops_the_chain() -> None:
    x = np.array([-2.0, 0.0, 3.0, np.nan])
    out = rt.pw((x,), (x < 0, x == 0, True, x > 0), (lambda v: -v, lambda v: v + 5, lambda v: 2 * v,
                                                       lambda v: v * 0 + 99))
    assert out[:3].tolist() == [2.0, 5.0, 6.0] and np.isnan(out[3])


def test_pw_whole_array_branch_when_every_element_selects_it() -> None:
    x = np.array([[-3.0, -1.0], [-0.5, -2.0]])
    out = rt.pw((x,), (x < 0, True), (lambda v: v * v, lambda v: v * 0 + 7))
    assert out.shape == (2, 2) and out.tolist() == [[9.0, 1.0], [0.25, 4.0]]
    assert rt.pw((x,), (True,), (lambda v: v + 1,)).tolist() == [[-2.0, 0.0], [0.5, -1.0]]


def test_pw_each_branch_sees_only_its_elements() -> None:
    # log of a negative number would warn (an error in this suite) if a branch ran everywhere
    x = np.array([-1.0, 4.0, -8.0, 1.0])
    seen: list[list[float]] = []

    def log_branch(v: np.ndarray) -> np.ndarray:
        seen.append(v.tolist())
        return np.log(v)

    out = rt.pw((x,), (x > 0, True), (log_branch, lambda v: v / 2))
    assert seen == [[4.0, 1.0]]
    assert out.tolist() == [-0.5, float(np.log(4.0)), -4.0, 0.0]


def test_pw_broadcasts_its_arrays_and_keeps_a_wider_dtype() -> None:
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    out = rt.pw((x, np.float32(10)), (x > 0, True), (lambda v, s: v + s, lambda v, s: v - s))
    assert out.dtype == np.float64 and out.tolist() == [11.0, -12.0, 13.0]
    wide = rt.pw((x.astype(np.longdouble),), (True,), (lambda v: v,))
    assert wide.dtype == np.longdouble


# ----------------------------------------------------------------------------- _runtime._HugeReal


def test_a_huge_float_parameter_raises_to_powers_as_numpy_does() -> None:
    v = rt.check_float("op", "eps", 1e300, None)
    assert v == 1e300 and isinstance(v, float)
    assert v ** 2 == np.inf and v ** -2 == 0.0 and v ** 1 == 1e300
    assert 2.0 ** v == np.inf and 0.5 ** v == 0.0 and 1.0 ** v == 1.0
    assert rt.check_float("op", "eps", -1e300, None) ** 2 == np.inf
    assert rt.check_float("op", "eps", -1e300, None) ** 3 == -np.inf
    small = rt.check_float("op", "eps", 2.0 ** 500, None)
    assert small ** 2 == 2.0 ** 1000


# ----------------------------------------------------------------------------- domains in errors


@pytest.mark.parametrize("call,message", [
    (lambda: nnref.celu(np.ones(2), alpha=0.0), "celu: alpha: expected a value in the reals except 0.0, got 0.0"),
    (lambda: nnref.softplus(np.ones(2), beta=0.0), "softplus: beta: expected a value in (0.0, inf), got 0.0"),
    (lambda: nnref.softshrink(np.ones(2), lambd=-1.0), "softshrink: lambd: expected a value in [0.0, inf), got -1.0"),
    (lambda: nnref.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0])),
     "binary_cross_entropy: input: expected every element in [0.0, 1.0], got 1.5 at index (1,)"),
])
def test_an_error_states_the_domain_in_interval_notation(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        call()
