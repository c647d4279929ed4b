"""Tests written to kill mutants that survived `make mutation` (README, "Mutation testing"): each
asserts a value known independently of nnref's code (a closed form, an identity, mpmath),
at an input the rest of the fast suite does not reach.

Owns: nothing but these tests.  Imports: nnref, NumPy, mpmath.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import nnref
from nnref import NNRefError, _special
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


def test_domain_descriptions_for_every_kind_of_bound() -> None:
    assert rt.describe_domain({"exclude": [0.0, 1.0]}) == "the reals except 0.0, 1.0"
    assert rt.describe_domain({"lo": 0.0, "hi": 1.0, "lo_open": False, "hi_open": True}) == "[0.0, 1.0)"
    assert rt.describe_domain({"lo": -1.0, "hi": 2.0, "lo_open": True, "hi_open": False}) == "(-1.0, 2.0]"
    assert rt.describe_domain({"lo": None, "hi": 2.0, "hi_open": False}) == "(-inf, 2.0]"
    assert rt.describe_domain({"lo": 3.0, "hi": None}) == "[3.0, inf)"


# ----------------------------------------------------------------------------- broadcast weights


def test_a_broadcast_weight_may_have_size_one_axes_and_no_more_dims_than_input() -> None:
    x = np.array([[0.25, 0.5, 0.75], [0.5, 0.5, 0.5]])
    t = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    loss = nnref.binary_cross_entropy(x, t, reduction="none")
    w_col = np.array([[2.0], [3.0]])  # (2, 1): stretched along the last axis
    assert np.array_equal(nnref.binary_cross_entropy(x, t, weight=w_col, reduction="none"), loss * w_col)
    w_row = np.array([1.0, 2.0, 3.0])  # (3,): one dim fewer than input
    assert np.array_equal(nnref.binary_cross_entropy(x, t, weight=w_row, reduction="none"), loss * w_row)
    w_lead = np.array([[[1.0], [2.0]]])  # (1, 2, 1): more dims than input
    with pytest.raises(NNRefError, match="binary_cross_entropy: weight: expected a shape that broadcasts"):
        nnref.binary_cross_entropy(x, t, weight=w_lead, reduction="none")
    with pytest.raises(NNRefError, match="binary_cross_entropy: weight: expected a shape that broadcasts"):
        nnref.binary_cross_entropy(x, t, weight=np.ones((2, 2)), reduction="none")
    # (3, 1) against input (3, 2): the reversed axes line up as (1, 3) against (2, 3)
    x3, t3 = np.full((3, 2), 0.5), np.full((3, 2), 1.0)
    w3 = np.array([[1.0], [2.0], [3.0]])
    assert np.array_equal(nnref.binary_cross_entropy(x3, t3, weight=w3, reduction="none"),
                          nnref.binary_cross_entropy(x3, t3, reduction="none") * w3)
    with pytest.raises(NNRefError, match="expected a shape that broadcasts"):
        nnref.binary_cross_entropy(np.full((2, 3), 0.5), np.ones((2, 3)), weight=np.ones((2, 1, 1)),
                                   reduction="none")


# ----------------------------------------------------------------------------- kl_div of a 0-d input


def test_batchmean_of_a_zero_dim_input_divides_by_one() -> None:
    x, t = np.array(-0.5), np.array(0.25)
    pointwise = 0.25 * (np.log(0.25) - (-0.5))  # target * (log target - input)
    assert np.isclose(nnref.kl_div(x, t, reduction="batchmean"), pointwise, rtol=1e-15, atol=0)
    g = nnref.kl_div_backward(np.array(1.0), x, t, reduction="batchmean")["input"]
    assert g.shape == () and g == -0.25


# ----------------------------------------------------------------------------- prelu's weight gradient


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_prelu_weight_gradient_sums_over_all_but_the_channel_axis(dtype: str) -> None:
    x = -np.arange(1, 13, dtype=dtype).reshape(2, 2, 3)  # every entry negative: d/dweight = x
    g = np.ones_like(x)
    shared = nnref.prelu_backward(g, x, np.array([0.25], dtype=dtype))["weight"]
    assert shared.dtype == dtype and shared.shape == (1,) and shared.tolist() == [-78.0]
    per = nnref.prelu_backward(g, x, np.array([0.25, 0.5], dtype=dtype))["weight"]
    assert per.dtype == dtype and per.shape == (2,)
    assert per.tolist() == [-(1 + 2 + 3 + 7 + 8 + 9), -(4 + 5 + 6 + 10 + 11 + 12)]


def test_prelu_weight_gradient_overflows_to_inf_quietly_in_float32() -> None:
    x = np.full((1, 1, 4), -3e38, dtype=np.float32)
    out = nnref.prelu_backward(np.ones_like(x), x, np.array([0.25], dtype=np.float32))["weight"]
    assert out.dtype == np.float32 and out.tolist() == [-np.inf]


# ----------------------------------------------------------------------------- _runtime.contract


def test_contract_sums_out_leading_batch_axes() -> None:
    g = np.arange(12.0).reshape(2, 3, 2)
    x = np.arange(18.0).reshape(2, 3, 3)
    expected = sum(np.outer(g[a, b], x[a, b]) for a in range(2) for b in range(3))
    assert np.array_equal(rt.contract("...o,...i->oi", g, x), expected)
    assert np.array_equal(rt.contract("...o->o", g), g.sum(axis=(0, 1)))
    assert np.array_equal(rt.contract("...i,oi->...o", x, np.ones((2, 3))), x.sum(axis=-1, keepdims=True).repeat(2, -1))


def test_contract_of_exact_numbers_is_exact() -> None:
    # object arrays (Fractions: the exact tests' arithmetic) take numpy.einsum's plain path
    g = np.array([[[Fraction(1, 3), Fraction(1, 2)]], [[Fraction(2, 3), Fraction(1, 5)]]], dtype=object)
    x = np.array([[[Fraction(1, 7)]], [[Fraction(3, 7)]]], dtype=object)
    out = rt.contract("...o,...i->oi", g, x)
    assert out.tolist() == [[Fraction(1, 21) + Fraction(2, 7)], [Fraction(1, 14) + Fraction(3, 35)]]
    assert rt.contract("...o->o", g).tolist() == [Fraction(1), Fraction(7, 10)]


# ----------------------------------------------------------------------------- erf's small branch


def _worst_ulp(fn, truth, xs: np.ndarray) -> float:  # noqa: ANN001
    got = np.asarray(fn(xs), dtype=np.float64)
    with mpmath.workdps(40):
        errs = [float(abs(mpmath.mpf(float(v)) - truth(mpmath.mpf(float(x))))) / float(np.spacing(abs(v)))
                for x, v in zip(xs, got)]
    assert not np.isnan(errs).any()
    return max(errs)


EXTENDED = pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs x86's extended precision")


@EXTENDED
def test_erf_small_and_middle_branches_round_once() -> None:
    # The rational functions evaluated in extended precision and rounded once: measured within
    # 0.62 ulp on |x| < 0.84375 and 0.52 ulp on [0.84375, 1.25).  Evaluated in float64 they
    # reach 0.84 ulp (x = -0.000795...) and 0.71 ulp, inside the 1 ulp tests/test_special.py
    # asks of the whole range.
    rng = np.random.default_rng(5)
    small = np.concatenate([rng.uniform(-0.84375, 0.84375, 1000), [-0.0007954044716151909, -2.627693315944526e-05]])
    assert _worst_ulp(_special.erf, mpmath.erf, small) <= 0.7
    middle = np.random.default_rng(3).uniform(0.84375, 1.25, 1500)
    assert _worst_ulp(_special.erf, mpmath.erf, middle) <= 0.65


def test_erf_keeps_shape_and_float_dtype() -> None:
    x = np.array([[0.5, -1.0], [2.0, np.nan]], dtype=np.float32)
    out = _special.erf(x)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert np.allclose(out[:, :].ravel()[:3], [math.erf(0.5), math.erf(-1.0), math.erf(2.0)], rtol=1e-7)
    assert np.isnan(out[1, 1])
    ints = _special.erf(np.array([0, 1, -3]))
    assert ints.dtype == np.float64 and ints.tolist() == [0.0, math.erf(1.0), math.erf(-3.0)]


def test_erfc_keeps_shape_and_float_dtype() -> None:
    # as erf: a float array keeps its dtype, anything else comes back as float64 (the engine
    # itself only hands erfc float64, so only this direct call sees the rule)
    x = np.array([[0.5, -1.0], [2.0, np.nan]], dtype=np.float32)
    out = _special.erfc(x)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert np.allclose(out.ravel()[:3], [math.erfc(0.5), math.erfc(-1.0), math.erfc(2.0)], rtol=1e-7)
    assert np.isnan(out[1, 1])
    ints = _special.erfc(np.array([0, 1, -3]))
    assert ints.dtype == np.float64 and np.allclose(ints, [1.0, math.erfc(1.0), math.erfc(-3.0)], rtol=1e-15, atol=0)


def test_sigmoid_slope_within_two_ulp() -> None:
    # its docstring's bound: sigma'(z) = e^-|z| / (1 + e^-|z|)^2 with one rounding and the exponential's error
    z = np.random.default_rng(3).uniform(-40, 40, 2000)
    assert _worst_ulp(_special.sigmoid_slope, lambda v: mpmath.exp(-abs(v)) / (1 + mpmath.exp(-abs(v))) ** 2, z) <= 2.0


def test_sigmoid_slope_within_two_ulp_for_small_arguments() -> None:
    # For |z| < 1, t = e^-|z| is near 1 and the quotient t/(1 + t)² needs its residual
    # t − q·(1 + t)² exactly: a wrong residual costs up to 3.4 ulp there (|z| ≈ 0.47), which
    # 2,000 points spread over [-40, 40] (the test above) rarely hit.
    z = np.random.default_rng(6).uniform(-1, 1, 2000)
    assert _worst_ulp(_special.sigmoid_slope, lambda v: mpmath.exp(-abs(v)) / (1 + mpmath.exp(-abs(v))) ** 2, z) <= 2.0


# ----------------------------------------------------------------------------- memory_bytes


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="reads Linux's /proc/meminfo")
def test_memory_bytes_is_this_machines_memory() -> None:
    total = next(int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    # MemTotal leaves out what the kernel reserves at boot: a few percent below the physical pages
    assert total <= rt.memory_bytes() <= 1.1 * total


def test_memory_bytes_where_the_system_does_not_say(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr(rt.os, "sysconf", unknown)
    assert rt.memory_bytes() == 2**48


def test_check_size_refuses_more_than_a_quarter_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt, "memory_bytes", lambda: 4003)  # a quarter: 1000 bytes (floor)
    rt.check_size("op", "input", (125,), 8, "the output")  # 1000 bytes: allowed
    rt.check_size("op", "input", (1000,), 1, "the output")
    message = ("op: input: the output would have shape (126,), 1.01e+03 bytes, more than a quarter of this"
               " machine's memory (1e+03 bytes) leaves for it; expected a smaller input")
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        rt.check_size("op", "input", (126,), 8, "the output")  # 1008 bytes
    with pytest.raises(NNRefError):
        rt.check_size("op", "input", (7, 13, 11), 1, "the output")  # 1001 bytes


# ----------------------------------------------------------------------------- int_tuple


@pytest.mark.parametrize("call,given", [
    (lambda: nnref.max_pool2d(np.zeros((1, 1, 4, 4)), (2, 2, 2)), "(2, 2, 2)"),
    (lambda: nnref.max_pool2d(np.zeros((1, 1, 4, 4)), (None, 2)), "(None, 2)"),
    (lambda: nnref.max_pool2d(np.zeros((1, 1, 4, 4)), (2, 2.5)), "(2, 2.5)"),
    (lambda: nnref.max_pool2d(np.zeros((1, 1, 4, 4)), (2,)), "(2,)"),
    (lambda: nnref.max_pool2d(np.zeros((1, 1, 4, 4)), 2.0), "2.0"),
])
def test_a_per_axis_argument_is_an_int_or_a_tuple_of_ints(call, given: str) -> None:  # noqa: ANN001
    message = f"max_pool2d: kernel_size: expected an int or a tuple of 2 ints, got {given}"
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        call()


def test_a_one_axis_argument_says_one_int() -> None:
    message = "max_pool1d: kernel_size: expected an int or a tuple of 1 int, got (2, 2)"
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        nnref.max_pool1d(np.zeros((1, 1, 4)), (2, 2))
    assert rt.int_tuple("op", "size", [3, None], 2, 0, none_ok=True) == (3, None)
    assert rt.int_tuple("op", "size", np.int64(3), 2, 0) == (3, 3)


def test_adaptive_output_size_says_none_keeps_an_axis() -> None:
    message = ("adaptive_avg_pool2d: output_size: expected an int or a tuple of 2 ints (None keeps that axis),"
               " got (1.5, 2)")
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        nnref.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), (1.5, 2))


# ----------------------------------------------------------------------------- more broadcast shapes


def test_broadcast_weight_shapes_compared_axis_by_axis_from_the_last() -> None:
    x, t = np.full((2, 5, 3), 0.5), np.ones((2, 5, 3))
    w = np.arange(1.0, 16.0).reshape(5, 3)  # (5, 3) against (2, 5, 3): allowed
    assert np.array_equal(nnref.binary_cross_entropy(x, t, weight=w, reduction="none"),
                          nnref.binary_cross_entropy(x, t, reduction="none") * w)
    with pytest.raises(NNRefError, match="expected a shape that broadcasts"):  # (2, 3) against (4, 3)
        nnref.binary_cross_entropy(np.full((4, 3), 0.5), np.ones((4, 3)), weight=np.ones((2, 3)), reduction="none")


# ----------------------------------------------------------------------------- prelu below two dims


def test_prelu_of_a_zero_dim_and_a_one_dim_input() -> None:
    # below two dims there is one channel: weight (1,) only, and the result keeps input's shape
    out = nnref.prelu(np.array(-2.0), np.array([0.25]))
    assert out.shape == () and out == -0.5
    grads = nnref.prelu_backward(np.array(1.0), np.array(-2.0), np.array([0.25]))
    assert grads["input"].shape == () and grads["input"] == 0.25 and grads["weight"].tolist() == [-2.0]
    assert nnref.prelu(np.array([-2.0, 3.0]), np.array([0.25])).tolist() == [-0.5, 3.0]
    with pytest.raises(NNRefError, match=re.escape("prelu: weight: expected shape (1,) or (1,)")):
        nnref.prelu(np.array([-2.0, 3.0]), np.array([0.25, 0.5]))


def test_sigmoid_slope_works_in_float64_for_a_float32_argument() -> None:
    z = np.random.default_rng(4).uniform(-20, 20, 500).astype(np.float32)
    out = _special.sigmoid_slope(z)
    assert out.dtype == np.float64
    assert _worst_ulp(_special.sigmoid_slope, lambda v: mpmath.exp(-abs(v)) / (1 + mpmath.exp(-abs(v))) ** 2, z) <= 2.0


# ----------------------------------------------------------------------------- smooth_l1 with beta = 0


def test_smooth_l1_with_beta_zero_has_the_gradient_of_l1() -> None:
    # beta = 0 is l1: d/dinput = sign(input - target), d/dtarget its negative, 0 at input ==
    # target and where input - target is NaN (the op's conventions; the fast suite checks
    # only that these are finite)
    x = np.array([-0.5, 2.0, 0.75, np.nan, np.inf, 1.0])
    y = np.array([0.75, 0.75, 0.75, 0.5, np.inf, np.nan])
    grads = nnref.smooth_l1_loss_backward(np.full(6, 2.0), x, y, reduction="none", beta=0.0)
    assert grads["input"].tolist() == [-2.0, 2.0, 0.0, 0.0, 0.0, 0.0]
    assert grads["target"].tolist() == [2.0, -2.0, 0.0, 0.0, 0.0, 0.0]




# ----------------------------------------------------------------------------- pooling, axis by axis


def _pool_by_taps(x: np.ndarray, g: np.ndarray, how: str, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Forward and input gradient of max or average pooling, tap by tap: each axis its own
    kernel, stride, padding and dilation; padding is never the maximum and counts as 0 in the
    average (divisor: the kernel's volume, count_include_pad); the gradient of a maximum goes
    to the first tap holding it, row-major."""
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)]
    y = np.empty(x.shape[:2] + tuple(out))
    dx = np.zeros_like(x)
    for b in np.ndindex(*x.shape[:2]):
        for o in np.ndindex(*out):
            taps = [tuple(s * i + d * k - p for i, k, s, p, d in zip(o, t, stride, padding, dilation))
                    for t in np.ndindex(*kernel)]
            inside = [a for a in taps if all(0 <= c < n for c, n in zip(a, x.shape[2:]))]
            if how == "max":
                first = max(inside, key=lambda a: (x[b + a], -inside.index(a)))
                y[b + o] = x[b + first]
                dx[b + first] += g[b + o]
            else:
                y[b + o] = sum(x[b + a] for a in inside) / np.prod(kernel)
                for a in inside:
                    dx[b + a] += g[b + o] / np.prod(kernel)
    return y, dx


@pytest.mark.parametrize("op,kernel,stride,padding,dilation", [
    ("max_pool1d", (3,), (2,), (1,), (2,)),
    ("max_pool2d", (2, 3), (1, 2), (1, 0), (2, 1)),
    ("max_pool2d", (3, 2), (2, 1), (0, 1), (1, 2)),
    ("max_pool3d", (2, 3, 2), (1, 2, 3), (1, 0, 1), (2, 1, 2)),
    ("avg_pool1d", (3,), (2,), (1,), (1,)),
    ("avg_pool2d", (2, 3), (1, 2), (1, 0), (1, 1)),
    ("avg_pool2d", (3, 2), (2, 1), (0, 1), (1, 1)),
    ("avg_pool3d", (2, 3, 2), (1, 2, 3), (1, 0, 1), (1, 1, 1)),
])
def test_pooling_takes_each_axis_own_kernel_stride_padding_and_dilation(op: str, kernel: tuple, stride: tuple,
                                                                        padding: tuple, dilation: tuple) -> None:
    # the fast suite pools with the same numbers on every axis; a swapped axis would pass it
    rng = np.random.default_rng(8)
    x = rng.integers(-8, 8, (2, 2, 7, 6, 9)[:2 + len(kernel)]).astype(np.float64)  # ties: the first tap wins
    params = {"stride": stride, "padding": padding}
    if op.startswith("max"):
        params["dilation"] = dilation
    y = getattr(nnref, op)(x, kernel, **params)
    g = rng.integers(1, 5, y.shape).astype(np.float64)
    want_y, want_dx = _pool_by_taps(x, g, op[:3], kernel, stride, padding, dilation)
    assert y.shape == want_y.shape and np.allclose(y, want_y, rtol=1e-15, atol=0)
    dx = getattr(nnref, f"{op}_backward")(g, x, kernel, **params)["input"]
    assert np.allclose(dx, want_dx, rtol=1e-15, atol=1e-15)


def test_lp_pool2d_takes_each_axis_own_kernel_and_stride() -> None:
    # (Σ x^p)^(1/p) over each window and its gradient x_i^(p-1)·(Σ x^p)^(1/p - 1), tap by tap,
    # for positive x (kernel and stride differ between the axes)
    x = np.random.default_rng(9).uniform(0.5, 2.0, (2, 2, 6, 9))
    kernel, stride, p = (2, 3), (1, 2), 2.0
    y = nnref.lp_pool2d(x, p, kernel, stride=stride)
    g = np.random.default_rng(10).uniform(1.0, 2.0, y.shape)
    dx = nnref.lp_pool2d_backward(g, x, p, kernel, stride=stride)["input"]
    want_y, want_dx = np.empty(y.shape), np.zeros_like(x)
    for b in np.ndindex(2, 2):
        for i, j in np.ndindex(*y.shape[2:]):
            win = (*b, slice(stride[0] * i, stride[0] * i + kernel[0]), slice(stride[1] * j, stride[1] * j + kernel[1]))
            total = (x[win] ** p).sum()
            want_y[(*b, i, j)] = total ** (1 / p)
            want_dx[win] += g[(*b, i, j)] * x[win] ** (p - 1) * total ** (1 / p - 1)
    assert y.shape == (2, 2, 5, 4) and np.allclose(y, want_y, rtol=1e-14, atol=0)
    assert np.allclose(dx, want_dx, rtol=1e-14, atol=0)


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
