"""Tests written to kill mutants that survived `make mutation` (README, "Mutation testing"): each
asserts a value known independently of nnref's code (a closed form, an identity, mpmath),
at an input the rest of the fast suite does not reach.

Owns: nothing but these tests.  Imports: nnref, NumPy, mpmath, torch (which arguments
torch.optim refuses).
"""

from __future__ import annotations

import inspect
import math
import os
import re
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch

import nnref
from nnref import NNRefError, _special
from nnref import _runtime as rt

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


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_pool_kernel_chooses_taps_by_default_and_only_then(dims: int) -> None:
    # The generated max_pool kernels return (values, chosen tap per output, or None with
    # choose=False); derivations/proofs/pool.py calls them without `choose` and reads the
    # taps.  Expected: the first tap (row-major) holding the window's maximum, by a loop.
    from nnref._generated import pool as kernels

    x = np.random.default_rng(19).integers(-3, 3, (1, 2) + (5, 4, 3)[:dims]).astype(np.float64)  # ties
    kernel, ones, zeros = (2,) * dims, (1,) * dims, (0,) * dims
    out = x.shape[:2] + tuple(n - 1 for n in x.shape[2:])
    fwd = getattr(kernels, f"_max_pool{dims}d_forward")
    values, chosen = fwd(x, kernel, ones, zeros, ones, out)
    want, want_values = np.empty(out, dtype=np.intp), np.empty(out)
    for o in np.ndindex(*out):
        taps = [x[o[:2] + tuple(i + k for i, k in zip(o[2:], t))] for t in np.ndindex(*kernel)]
        want[o], want_values[o] = taps.index(max(taps)), max(taps)
    assert values.tolist() == want_values.tolist()
    assert chosen is not None and chosen.tolist() == want.tolist()
    assert fwd(x, kernel, ones, zeros, ones, out, choose=False)[1] is None


# ----------------------------------------------------------------------------- conv1d, batch in chunks

def _count_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many chunks each convolution call splits its batch into (appended per call)."""
    from nnref import _conv

    parts: list[int] = []
    chunks = _conv._chunks

    def counted(p: _conv._Problem, chunk: int | None) -> list[slice]:
        parts.append(len(chunks(p, chunk)))
        return chunks(p, chunk)

    monkeypatch.setattr(_conv, "_chunks", counted)
    return parts



def _poison_freed_memory(shape: tuple[int, ...]) -> None:
    """Leave a just-freed block of that shape full of NaN: an output the kernel forgot to write
    then shows NaN (or, from fresh pages, 0) instead of whatever an earlier, identical call left
    in the block it reuses, which would pass by luck."""
    block = np.full(shape, np.nan)
    del block


def test_conv1d_without_bias_over_a_batch_split_into_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # A batch too large for one im2col buffer is computed chunk by chunk, each chunk's kernel
    # writing into its block of the result; the fast suite reaches that path only with a bias
    # (whose addition writes the block), so a kernel that forgot to place a bias-free result
    # would leave the block uninitialised.  Reference: the sum over taps, by sliding windows.
    parts = _count_chunks(monkeypatch)
    rng = np.random.default_rng(11)
    x, w = rng.normal(size=(5, 16, 2063)), rng.normal(size=(2, 16, 16))
    _poison_freed_memory((5, 2, 2048))
    y = nnref.conv1d(x, w)
    assert parts and parts[0] > 1  # the batch really was split
    windows = np.lib.stride_tricks.sliding_window_view(x, 16, axis=2)  # (n, c, i, k)
    want = np.einsum("ncik,ock->noi", windows, w)
    assert y.shape == (5, 2, 2048) and np.allclose(y, want, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- optimizers' arguments
# test_optim.py compares the updates with torch.optim; these check that each optimizer refuses
# what torch.optim refuses, takes what it takes, and names itself and the argument when it refuses.

TORCH_OPTIM = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
# the float hyperparameters torch.optim bounds below by 0 (0 itself allowed)
BOUNDED_BELOW = [("sgd", "lr"), ("sgd", "momentum"), ("sgd", "weight_decay"),
                 ("adam", "lr"), ("adam", "eps"), ("adam", "weight_decay"),
                 ("adamw", "lr"), ("adamw", "eps"), ("adamw", "weight_decay"),
                 ("rmsprop", "lr"), ("rmsprop", "alpha"), ("rmsprop", "eps"), ("rmsprop", "weight_decay"),
                 ("rmsprop", "momentum"), ("adagrad", "lr"), ("adagrad", "lr_decay"), ("adagrad", "weight_decay"),
                 ("adagrad", "initial_accumulator_value"), ("adagrad", "eps")]


def _torch_takes(name: str, **hp: object) -> bool:
    try:
        TORCH_OPTIM[name]([torch.zeros(2, requires_grad=True)], **hp)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name,arg", BOUNDED_BELOW)
def test_an_optimizer_refuses_a_negative_hyperparameter_as_torch_does(name: str, arg: str) -> None:
    fn = getattr(nnref.optim, name)
    assert not _torch_takes(name, **{arg: -1.0})
    with pytest.raises(NNRefError) as exc:
        fn(np.ones(2), np.ones(2), **{arg: -1.0})
    assert str(exc.value) == f"{name}: {arg}: expected a value in [0.0, inf), got -1.0"
    for ok in (0.0, 0.5):  # the bound itself is allowed
        assert _torch_takes(name, **{arg: ok})
        param, state = fn(np.ones(2), np.full(2, 0.5), **{arg: ok})
        assert param.shape == (2,) and state["step"] == 1


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_each_beta_must_lie_in_zero_to_one_as_torch_says(name: str) -> None:
    fn = getattr(nnref.optim, name)
    for betas, which, bad in (((1.0, 0.5), "betas[0]", 1.0), ((-0.25, 0.5), "betas[0]", -0.25),
                              ((0.5, 1.0), "betas[1]", 1.0), ((0.5, -0.25), "betas[1]", -0.25)):
        assert not _torch_takes(name, betas=betas)
        with pytest.raises(NNRefError) as exc:
            fn(np.ones(2), np.ones(2), betas=betas)
        assert str(exc.value) == f"{name}: {which}: expected a value in [0.0, 1.0), got {bad!r}"
    for betas in ((0.0, 0.0), (0.5, 0.999)):
        assert _torch_takes(name, betas=betas)
        assert fn(np.ones(2), np.full(2, 0.5), betas=betas)[1]["step"] == 1


@pytest.mark.parametrize("name,flag", [("sgd", "nesterov"), ("sgd", "maximize"), ("adam", "amsgrad"),
                                       ("adam", "maximize"), ("adamw", "amsgrad"), ("adamw", "maximize"),
                                       ("rmsprop", "centered"), ("rmsprop", "maximize"), ("adagrad", "maximize")])
def test_an_optimizer_flag_must_be_a_bool(name: str, flag: str) -> None:
    with pytest.raises(NNRefError) as exc:
        getattr(nnref.optim, name)(np.ones(2), np.ones(2), **{flag: 1})
    assert str(exc.value).startswith(f"{name}: {flag}: expected True or False, got ")


def test_sgd_states_the_nesterov_rule() -> None:
    # torch.optim.SGD: "Nesterov momentum requires a momentum and zero dampening"
    assert not _torch_takes("sgd", nesterov=True, momentum=0.9, dampening=0.1)
    with pytest.raises(NNRefError) as exc:
        nnref.optim.sgd(np.ones(2), np.ones(2), nesterov=True, momentum=0.9, dampening=0.1)
    assert str(exc.value) == "sgd: nesterov: expected nesterov=True only with momentum > 0 and dampening = 0, got True"


@pytest.mark.parametrize("name,hp", [("sgd", {"momentum": 0.9}), ("adam", {"amsgrad": True}), ("adamw", {"amsgrad": True}),
                                     ("rmsprop", {"momentum": 0.5, "centered": True}), ("adagrad", {})])
def test_an_optimizer_names_itself_for_a_bad_array_or_state(name: str, hp: dict) -> None:
    fn = getattr(nnref.optim, name)
    with pytest.raises(NNRefError, match=f"^{name}: grad: expected shape \\(2,\\)"):
        fn(np.ones(2), np.ones(3), **hp)
    # the state keeps the arrays torch.optim's keeps with these hyperparameters (SGD's keeps no step)
    p = torch.ones(2, requires_grad=True)
    opt = TORCH_OPTIM[name]([p], **hp)
    p.grad = torch.full((2,), 0.5)
    opt.step()
    _, state = fn(np.ones(2), np.full(2, 0.5), **hp)
    assert set(state) - {"step"} == set(opt.state[p]) - {"step"} and state["step"] == 1
    for key in set(state) - {"step"}:
        with pytest.raises(NNRefError, match=f"^{name}: state\\[{key!r}\\]: expected an array of param's dtype"):
            fn(np.ones(2), np.ones(2), {**state, key: np.ones(3)}, **hp)
    with pytest.raises(NNRefError, match=f"^{name}: state\\['step'\\]: expected a non-negative int"):
        fn(np.ones(2), np.ones(2), {**state, "step": -1}, **hp)


def test_optimizer_defaults_and_a_step_with_them_are_torch_optims() -> None:
    # test_optim.py passes most hyperparameters explicitly, so a wrong default would pass it
    for name, cls in TORCH_OPTIM.items():
        theirs = inspect.signature(cls.__init__).parameters
        ours = {k: v.default for k, v in inspect.signature(getattr(nnref.optim, name)).parameters.items()
                if v.kind is inspect.Parameter.KEYWORD_ONLY}
        assert ours == {k: theirs[k].default for k in ours}, name
        # and a step with every default is torch.optim's
        tp = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
        opt = cls([tp])
        tp.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
        opt.step()
        param, _ = getattr(nnref.optim, name)(np.array([1.0, -2.0]), np.array([0.5, 0.25]))
        np.testing.assert_allclose(param, tp.detach().numpy(), rtol=1e-12, atol=0)


def test_an_unbounded_hyperparameter_must_still_be_a_real_number() -> None:
    # sgd's dampening has no interval (torch takes any), but a string or NaN is refused, by name
    for bad, got in (("0.1", "got str"), (float("nan"), "got nan")):
        with pytest.raises(NNRefError) as exc:
            nnref.optim.sgd(np.ones(2), np.ones(2), momentum=0.5, dampening=bad)
        assert str(exc.value).startswith("sgd: dampening: expected a real number") and got in str(exc.value)


@pytest.mark.parametrize("name,hp", [
    ("sgd", {"lr": 0.1, "weight_decay": 1.0}), ("adam", {"lr": 0.1, "weight_decay": 1.0}),
    ("adamw", {"lr": 0.1, "weight_decay": 1.0}), ("rmsprop", {"weight_decay": 1.0}), ("adagrad", {"weight_decay": 1.0}),
    ("adam", {"lr": 0.1, "betas": (0.5, 0.9)}), ("adamw", {"lr": 0.1, "betas": (0.5, 0.9)}),
    ("rmsprop", {"alpha": 0.5, "centered": True}), ("sgd", {"lr": 0.1, "momentum": 1.0, "nesterov": True}),
])
def test_optimizer_steps_at_exact_boundary_values_match_torch(name: str, hp: dict) -> None:
    # weight_decay = 1, momentum = 1, and beta1 or alpha = 0.5 (where a moving average's lerp
    # switches formula, as torch's does) are values test_optim.py's drawn hyperparameters never
    # hit exactly
    rng = np.random.default_rng(12)
    param, state = rng.normal(size=(3, 4)), None
    tp = torch.tensor(param.copy(), requires_grad=True)
    opt = TORCH_OPTIM[name]([tp], foreach=False, **hp)
    for grad in rng.normal(size=(4, 3, 4)):
        tp.grad = torch.tensor(grad)
        opt.step()
        param, state = getattr(nnref.optim, name)(param, grad, state, **hp)
        np.testing.assert_allclose(param, tp.detach().numpy(), rtol=1e-12, atol=1e-12)
        for key, value in opt.state[tp].items():
            if key != "step":
                np.testing.assert_allclose(state[key], value.numpy(), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- cosine_embedding_loss near 0


def test_cosine_embedding_loss_of_vectors_as_small_as_its_epsilon_matches_torch() -> None:
    # The epsilon added to each squared norm (torch's 1e-12f) matters only for vectors whose
    # squared norm is near it; the fast suite's vectors are of norm ~1, where it is invisible.
    rng = np.random.default_rng(13)
    x1 = rng.normal(size=(6, 3)) * np.array([[1e-6], [3e-7], [1.0], [2e-6], [1e-6], [1.0]])
    x2 = rng.normal(size=(6, 3)) * np.array([[1.0], [1e-6], [5e-7], [2e-6], [1e-6], [1.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    g = rng.uniform(0.5, 2.0, 6)
    t1, t2 = (torch.tensor(a, requires_grad=True) for a in (x1, x2))
    want = torch.nn.functional.cosine_embedding_loss(t1, t2, torch.tensor(y), margin=-1.0, reduction="none")
    want.backward(torch.tensor(g))
    got = nnref.cosine_embedding_loss(x1, x2, y, margin=-1.0, reduction="none")
    grads = nnref.cosine_embedding_loss_backward(g, x1, x2, y, margin=-1.0, reduction="none")
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=0)
    for ours, theirs in ((grads["input1"], t1.grad), (grads["input2"], t2.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=0)


# ----------------------------------------------------------------------------- cross_entropy, probability targets


def test_cross_entropy_with_one_hot_probabilities_and_tied_maxima_matches_torch() -> None:
    # Class-probability targets with exact 0s and 1s (one-hot rows take the gradient's own
    # branch) and rows whose largest logit is tied (the log-sum-exp counts the ties apart):
    # inputs the fast suite's smoothed, random targets and untied logits never give.
    x = np.array([[1.0, 2.0, 2.0, 0.5], [0.5, -1.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.1, 0.2, 0.3, 0.4]])
    t = np.array([[0.0, 0.25, 0.75, 0.0], [0.0, 0.0, 1.0, 0.0], [0.5, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0]])
    w, g = np.array([1.0, 2.0, 0.5, 1.5]), np.array([1.0, 2.0, 0.5, 1.5])
    tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    want = torch.nn.functional.cross_entropy(tx, tt, weight=torch.tensor(w), reduction="none")
    want.backward(torch.tensor(g))
    got = nnref.cross_entropy(x, t, weight=w, reduction="none")
    grads = nnref.cross_entropy_backward(g, x, t, weight=w, reduction="none")
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(grads["input"], tx.grad.numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(grads["target"], tt.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_cross_entropy_ignores_a_class_of_minus_infinite_logit_and_zero_target() -> None:
    # A logit of -inf is a class of probability 0: with target 0 it adds nothing (0·log 0 taken
    # as 0, where torch's own formula gives NaN), so the loss and gradients are those of the
    # row without that class, as torch computes them there; its input gradient is 0.
    x, t = np.array([[1.0, -np.inf, 2.0, 0.5]]), np.array([[0.25, 0.0, 0.75, 0.0]])
    w, keep = np.array([1.0, 2.0, 0.5, 1.5]), [0, 2, 3]
    tx, tt = torch.tensor(x[:, keep], requires_grad=True), torch.tensor(t[:, keep])
    want = torch.nn.functional.cross_entropy(tx, tt, weight=torch.tensor(w[keep]), reduction="none")
    want.backward(torch.tensor([1.5]))
    got = nnref.cross_entropy(x, t, weight=w, reduction="none")
    grad = nnref.cross_entropy_backward(np.array([1.5]), x, t, weight=w, reduction="none")["input"]
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(grad[:, keep], tx.grad.numpy(), rtol=1e-14, atol=1e-15)
    assert grad[0, 1] == 0.0


@pytest.mark.parametrize("shift", [0.0, 400.0, -800.0])
def test_cross_entropy_with_probabilities_at_large_logits_is_the_definitions(shift: float) -> None:
    # The loss -Σ_c w_c t_c (x_c - log Σ_j e^{x_j}) and its input gradient g·(p·Σ_c w_c t_c - w·t)
    # depend on the logits' differences only; at logits near ±400 or -800 every e^{x} is out of
    # float64's range, so the kernels must shift by the row's maximum (e^{x - m}), not add it
    # (e^{x + m} is mathematically the same, and overflows).  Reference: mpmath at 40 digits.
    x = np.array([[1.0, 2.5, -0.5, 2.5], [0.3, -4.0, 1.2, 0.0]]) + shift
    t = np.array([[0.1, 0.4, 0.2, 0.3], [0.0, 0.5, 0.25, 0.25]])
    w, g = np.array([1.0, 2.0, 0.5, 1.5]), np.array([1.0, -2.0])
    loss = nnref.cross_entropy(x, t, weight=w, reduction="none")
    grad = nnref.cross_entropy_backward(g, x, t, weight=w, reduction="none")["input"]
    with mpmath.workdps(40):
        for i, row in enumerate(x):
            lse = mpmath.log(sum(mpmath.exp(mpmath.mpf(v)) for v in row))
            mass = sum(mpmath.mpf(w[c]) * mpmath.mpf(t[i, c]) for c in range(4))
            want = -sum(mpmath.mpf(w[c]) * mpmath.mpf(t[i, c]) * (mpmath.mpf(row[c]) - lse) for c in range(4))
            dwant = [g[i] * (mpmath.exp(mpmath.mpf(row[c]) - lse) * mass - mpmath.mpf(w[c]) * mpmath.mpf(t[i, c]))
                     for c in range(4)]
            # the loss's terms x_c - lse are shift-free; their rounding is relative to |x_c|
            assert abs(loss[i] - float(want)) <= 1e-15 * (1 + abs(shift)) * float(mass)
            np.testing.assert_allclose(grad[i], [float(v) for v in dwant], rtol=1e-12, atol=1e-15)


def test_cross_entropy_gradient_of_a_nearly_certain_one_hot_row_is_accurate() -> None:
    # With a one-hot probability target whose class already has probability 1 - 1e-13, the
    # gradient there, g·w·(p - 1), is a small number that p - 1 would get by cancellation; the
    # kernel takes it as expm1 of the log-probability.  Reference: mpmath at 30 digits.
    x, t, w, g = np.array([[0.0, -30.0, -31.0]]), np.array([[1.0, 0.0, 0.0]]), np.array([0.5, 1.0, 2.0]), 1.5
    grad = nnref.cross_entropy_backward(np.array([g]), x, t, weight=w, reduction="none")["input"]
    with mpmath.workdps(30):
        z = sum(mpmath.exp(v) for v in x[0])
        want = [g * w[0] * (mpmath.exp(x[0, 0]) / z - 1)] + [g * w[0] * mpmath.exp(v) / z for v in x[0, 1:]]
    np.testing.assert_allclose(grad[0], [float(v) for v in want], rtol=1e-14, atol=0)


def test_cross_entropy_gradient_where_a_weight_over_a_target_equals_the_row_mass() -> None:
    # The gradient's one-hot branch is chosen by Σ w·t == w_c·t_c; a row where Σ w·t happens to
    # equal w_c / t_c instead (w = (1, 3), t = (1/2, 1/2): both 2) must still take the general one.
    x, t, w = np.array([[0.3, -0.2]]), np.array([[0.5, 0.5]]), np.array([1.0, 3.0])
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(t), weight=torch.tensor(w), reduction="none").backward(
        torch.tensor([1.0]))
    grad = nnref.cross_entropy_backward(np.array([1.0]), x, t, weight=w, reduction="none")["input"]
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_cross_entropy_an_ignored_row_of_minus_infinite_logits_has_zero_gradient() -> None:
    # An ignored row (label smoothing on: the kernel sees its all-zero target row) is not part
    # of the loss, so its gradient is 0 even where its log-probabilities are NaN (all logits
    # -inf); the other row's is torch's for that row alone.
    x, target = np.array([[-np.inf, -np.inf], [0.3, -0.2]]), np.array([-100, 1])
    grad = nnref.cross_entropy_backward(np.array([1.0, 2.0]), x, target, reduction="none",
                                        label_smoothing=0.1)["input"]
    tx = torch.tensor(x[1:], requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(target[1:]), reduction="none", label_smoothing=0.1).backward(
        torch.tensor([2.0]))
    assert grad[0].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(grad[1:], tx.grad.numpy(), rtol=1e-14, atol=1e-15)


# ----------------------------------------------------------------------------- conv2d, axis by axis

def _conv_matches_torch(op: str, x: np.ndarray, w: np.ndarray, b: np.ndarray, params: dict,
                        rng: np.random.Generator) -> None:
    """nnref's convolution and its VJP against torch's forward and autograd."""
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    want = getattr(torch.nn.functional, op)(tx, tw, tb, **params)
    g = rng.normal(size=tuple(want.shape))
    want.backward(torch.tensor(g))
    got = getattr(nnref, op)(x, w, b, **params)
    grads = getattr(nnref, f"{op}_backward")(g, x, w, b, **params)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-12)
    for key, t in (("input", tx), ("weight", tw), ("bias", tb)):
        np.testing.assert_allclose(grads[key], t.grad.numpy(), rtol=1e-12, atol=1e-12)



def test_conv2d_takes_each_axis_own_kernel_stride_padding_and_dilation() -> None:
    # the fast suite's conv2d cases use the same numbers on both axes; a swapped axis passes them
    rng = np.random.default_rng(14)
    x, w, b = rng.normal(size=(2, 4, 9, 11)), rng.normal(size=(6, 2, 2, 3)), rng.normal(size=6)
    params = {"stride": (1, 2), "padding": (2, 1), "dilation": (3, 1), "groups": 2}
    _conv_matches_torch("conv2d", x, w, b, params, rng)


def test_conv2d_without_bias_over_a_batch_split_into_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # as the conv1d test above, for conv2d's kernel (reference: torch)
    parts = _count_chunks(monkeypatch)
    rng = np.random.default_rng(15)
    x, w = rng.normal(size=(9, 16, 35, 35)), rng.normal(size=(2, 16, 4, 4))
    _poison_freed_memory((9, 2, 32, 32))
    y = nnref.conv2d(x, w)
    assert parts and parts[0] > 1  # the batch really was split
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    assert y.shape == (9, 2, 32, 32) and np.allclose(y, want, rtol=1e-12, atol=1e-12)


def test_conv3d_takes_each_axis_own_kernel_stride_padding_and_dilation() -> None:
    # as the conv2d test: three axes, each with its own numbers
    rng = np.random.default_rng(16)
    x, w, b = rng.normal(size=(2, 2, 7, 8, 9)), rng.normal(size=(4, 1, 2, 3, 2)), rng.normal(size=4)
    params = {"stride": (1, 2, 3), "padding": (2, 1, 0), "dilation": (3, 1, 2), "groups": 2}
    _conv_matches_torch("conv3d", x, w, b, params, rng)


def test_conv3d_without_bias_over_a_batch_split_into_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # as the conv1d test above, for conv3d's kernel (reference: torch)
    parts = _count_chunks(monkeypatch)
    rng = np.random.default_rng(17)
    x, w = rng.normal(size=(9, 8, 17, 17, 17)), rng.normal(size=(2, 8, 2, 2, 2))
    _poison_freed_memory((9, 2, 16, 16, 16))
    y = nnref.conv3d(x, w)
    assert parts and parts[0] > 1  # the batch really was split
    want = torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w)).numpy()
    assert y.shape == (9, 2, 16, 16, 16) and np.allclose(y, want, rtol=1e-12, atol=1e-12)


def test_conv_transpose1d_without_bias_over_a_batch_split_into_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # as the conv1d test above, for conv_transpose1d's kernel (reference: torch)
    parts = _count_chunks(monkeypatch)
    rng = np.random.default_rng(18)
    x, w = rng.normal(size=(5, 2, 2048)), rng.normal(size=(2, 16, 16))
    _poison_freed_memory((5, 16, 2063))
    y = nnref.conv_transpose1d(x, w)
    assert parts and parts[0] > 1  # the batch really was split
    want = torch.nn.functional.conv_transpose1d(torch.tensor(x), torch.tensor(w)).numpy()
    assert y.shape == (5, 16, 2063) and np.allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("op", "x_shape", "w_shape", "params"), [
    ("conv_transpose2d", (2, 4, 5, 7), (4, 3, 2, 3),
     {"stride": (2, 3), "padding": (1, 0), "dilation": (1, 2), "output_padding": (1, 0), "groups": 2}),
    ("conv_transpose3d", (2, 4, 3, 4, 5), (4, 2, 2, 3, 4),
     {"stride": (1, 2, 3), "padding": (2, 1, 0), "dilation": (3, 1, 2), "output_padding": (2, 1, 0), "groups": 2}),
])
def test_conv_transpose_takes_each_axis_own_sizes_stride_padding_and_dilation(op: str, x_shape: tuple,
                                                                             w_shape: tuple, params: dict) -> None:
    # as the conv2d test: input, kernel, stride, padding, dilation and output_padding all differ
    # from one axis to the next, so a kernel that reads another axis's number fails
    rng = np.random.default_rng(19)
    x, w = rng.normal(size=x_shape), rng.normal(size=w_shape)
    b = rng.normal(size=w_shape[1] * params["groups"])
    _conv_matches_torch(op, x, w, b, params, rng)


@pytest.mark.parametrize(("op", "x_shape", "w_shape"), [
    ("conv_transpose2d", (5, 2, 32, 64), (2, 16, 4, 4)),
    ("conv_transpose3d", (3, 2, 8, 16, 16), (2, 16, 4, 4, 2)),
])
def test_conv_transpose_without_bias_over_a_batch_split_into_chunks(monkeypatch: pytest.MonkeyPatch, op: str,
                                                                    x_shape: tuple, w_shape: tuple) -> None:
    # as the conv_transpose1d test above, for the 2-D and 3-D kernels (reference: torch)
    parts = _count_chunks(monkeypatch)
    rng = np.random.default_rng(20)
    x, w = rng.normal(size=x_shape), rng.normal(size=w_shape)
    shape = x_shape[:1] + w_shape[1:2] + tuple(n + k - 1 for n, k in zip(x_shape[2:], w_shape[2:]))
    _poison_freed_memory(shape)
    y = getattr(nnref, op)(x, w)
    assert parts and parts[0] > 1  # the batch really was split
    want = getattr(torch.nn.functional, op)(torch.tensor(x), torch.tensor(w)).numpy()
    assert y.shape == shape and np.allclose(y, want, rtol=1e-12, atol=1e-12)
