"""Tests written to kill mutants of the runtime (``nnref/_runtime.py``) that survived
`make mutation` (README, "Mutation testing"): each asserts a value known independently of the
code under test (NumPy's own reference function, IEEE arithmetic, a closed form), at an input
the rest of the fast suite does not reach.

Owns: nothing but these tests.  Imports: nnref, NumPy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nnref
from nnref import _runtime as rt
from nnref import _special

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


def test_pw_a_false_condition_selects_nothing() -> None:
    x = np.array([1.0, -1.0])
    out = rt.pw((x,), (False, True), (lambda v: v * 0 + 5, lambda v: v * 3))
    assert out.tolist() == [3.0, -3.0]


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


# ----------------------------------------------------------------------------- _runtime.table


def test_table_of_values_that_are_not_finite_numbers_is_numpy_select() -> None:
    # A slope of inf (or a parameter that rounds to float32's infinity) cannot be chosen by
    # masks (inf·False is NaN): table hands such values, and array values, to numpy.select.
    # tests/test_pointwise_blocks.py checks the finite values only.
    rng = np.random.default_rng(2)
    conds = tuple(rng.random(300) < 0.3 for _ in range(3))  # ~1/3 of the entries meet none
    ramp = np.linspace(-1.0, 1.0, 300)
    for values in [(np.inf, 1.0, 0.0, -2.0), (0.0, np.nan, 2.5, 1.0), (1.0, 2.0, 3.0, np.inf),
                   (0.0, 0.0, 0.0, -np.inf), (ramp, 0.5, -ramp, 4.0)]:
        expected = np.select(list(conds), list(values[:-1]), values[-1])
        got = rt.table(conds, values)
        assert got.dtype == np.float64 and got.shape == (300,)
        assert np.array_equal(got, expected, equal_nan=True), values


def test_table_is_float64_when_every_value_is_an_int() -> None:
    # the printer writes the constants 0 and 1 as Python ints; table promises float64
    # (numpy.select would give int64); one nonzero value against 0 is one mask times it
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    for values in [(0, 1), (1, 0), (0, 2), (3, 0), (0, 1, 2), (2, 2)]:
        conds = (x < 0, x == 0)[:len(values) - 1]
        got = rt.table(conds, values)
        expected = np.select(list(conds), [float(v) for v in values[:-1]], float(values[-1]))
        assert got.dtype == np.float64 and np.array_equal(got, expected), values


# ----------------------------------------------------------------------------- _runtime.where


def test_runtime_where_promotes_mixed_dtypes_and_reads_any_condition_as_numpy_where() -> None:
    # numpy.where's dtype is that of both choices together (a Python float is weak: it takes a
    # float32 array's dtype); a condition that is not bool is true where nonzero.
    # tests/test_pointwise_blocks.py checks choices of one dtype with bool conditions only.
    rng = np.random.default_rng(12)
    n = 64
    cond = rng.random(n) < 0.5
    a64, b64 = rng.standard_normal(n), rng.standard_normal(n) * 100
    a32, b16 = a64.astype(np.float32), b64.astype(np.float16)
    cases = [(cond, a32, b64), (cond, a64, a32), (cond, b16, a32), (cond, np.nan, a32), (cond, a32, np.float64(2.5)),
             (rng.integers(-2, 3, n), a64, b64), (rng.integers(0, 3, n).astype(np.uint8), a32, -0.0),
             (rng.integers(-1, 2, n) * 0.5, a64, b64)]
    for c, x, y in cases:
        expected = np.where(c, x, y)
        got = rt.where(c, x, y)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (c.dtype, np.result_type(x), np.result_type(y))


# ----------------------------------------------------------------------------- _runtime.blocked


@pytest.mark.parametrize("size", [10, 5000])  # one call on the whole; blocks in threads
def test_blocked_sets_the_working_precision_from_the_result_dtype(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    # _special's docstring: a float32 call's kernels run inside caller_dtype(float32), so its
    # special functions skip x86's extended precision (~10x slower; the float32 results are the
    # same bits, which is why no value test sees it); a float64 call's keep it.  The setting is
    # per thread: each block's thread must see it.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 2048)
    seen: list[type] = []

    def kernel(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        seen.append(_special._work())
        return a

    for dtype, work in [(np.float32, np.float64), (np.float64, np.longdouble)]:
        x = np.ones(size, dtype=dtype)
        seen.clear()
        assert rt.blocked(kernel, (x,), rt.wide, x).dtype == dtype
        assert seen and set(seen) == {work}
    assert _special._work() is np.longdouble  # and the caller's thread is left as it was


def test_blocked_takes_any_shape_broadcasting_and_strides(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only arrays of one C-contiguous shape are cut into blocks (flattened); a broadcast
    # operand or a transposed view goes as one call on the whole.  Either way the result is
    # the formula applied elementwise (here a·(b + 1), computed by NumPy directly).
    # tests/test_pointwise_blocks.py blocks 1-D arrays of one shape only.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 2048)
    rng = np.random.default_rng(13)
    a = rng.standard_normal((64, 100))

    def kernel(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.multiply(x, y + 1.0, out=out)

    for b in [rng.standard_normal((64, 100)), rng.standard_normal(100), rng.standard_normal((64, 1)),
              rng.standard_normal((100, 64)).T, np.float64(0.5)]:
        got = rt.blocked(kernel, (a, b), rt.wide)
        assert got.shape == (64, 100) and np.array_equal(got, a * (b + 1.0))
        low = rt.blocked(kernel, (a.astype(np.float32), np.asarray(b, dtype=np.float32)), rt.wide, a.astype(np.float32))
        want = (a.astype(np.float32).astype(np.float64) * (np.asarray(b, dtype=np.float32).astype(np.float64) + 1.0))
        assert low.dtype == np.float32 and np.array_equal(low, want.astype(np.float32))


def test_blocked_copies_a_result_the_kernel_did_not_write_and_rounds_it_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    # A kernel may return a new array instead of writing into its block (out=): blocked copies
    # it there, and a float64 value beyond float32's range becomes float32's infinity there
    # without a warning (IEEE rounding), as like() does on the one-call path.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 2048)
    x = np.linspace(1e38, 3e38, 5000).astype(np.float32)

    def kernel(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return a.astype(np.float64) * 4.0  # ignores out

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rt.blocked(kernel, (x,), rt.native, x)
    want = x.astype(np.float64) * 4.0
    assert got.dtype == np.float32 and np.array_equal(np.isinf(got), want > np.finfo(np.float32).max)
    finite = want <= np.finfo(np.float32).max
    assert np.array_equal(got[finite], want[finite].astype(np.float32))


# ----------------------------------------------------------------------------- table's signed zeros
# Found by mutation testing (table 39, 41-43 changed only the sign of a zero): table merged a
# value of -0.0 with +0.0 (its distinct values were dict keys, and -0.0 == 0.0), which reached
# the API as leaky_relu's derivative with negative_slope = -0.0 (+0.0 where IEEE and torch
# give -0.0).  Fixed by telling the values apart by their sign too.


def test_table_keeps_the_sign_of_a_negative_zero_value() -> None:
    x = np.array([-1.0, 2.0, -3.0, 0.5])
    for conds, values in [((x < 0,), (-0.0, 1.0)), ((x > 1,), (1.0, -0.0)), ((x < 0, x > 1), (-0.0, 0.5, 2.0))]:
        expected = np.select(list(conds), list(values[:-1]), values[-1])
        got = rt.table(conds, values)
        assert np.array_equal(got, expected) and np.array_equal(np.signbit(got), np.signbit(expected)), values


def test_leaky_relu_backward_with_a_negative_zero_slope() -> None:
    x = np.array([-1.0, 2.0, -3.0])
    g = nnref.leaky_relu_backward(np.ones(3), x, negative_slope=-0.0)["input"]
    # d/dx of (−0.0)·x is −0.0 for x < 0 and 1 for x > 0; times the upstream 1.0
    assert g.tolist() == [0.0, 1.0, 0.0] and np.signbit(g).tolist() == [True, False, True]
