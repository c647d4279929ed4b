"""Tests written to kill mutants of the generated activations (``nnref/_generated/activations.py``)
that survived `make mutation` (README, "Mutation testing"): each asserts what the op's definition,
its documented conventions (errors name the op and the argument; the result has the input's dtype
and shape; a large input computed block by block gives the bits of one call on the whole) or
exact arithmetic say, at an input or for an op the rest of the fast suite does not reach.

Owns: nothing but these tests.  Imports: nnref, NumPy, mpmath.
"""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest
from compare import same_bits

import nnref
from nnref import NNRefError
from nnref import _runtime as rt

# Every activation with the parameters it is called with here (threshold has no defaults; prelu's
# weight is an array, handled apart).
ACTIVATIONS = [("sigmoid", {}), ("tanh", {}), ("relu", {}), ("relu6", {}), ("leaky_relu", {"negative_slope": 0.1}),
               ("rrelu", {"lower": 0.1, "upper": 0.3}), ("elu", {"alpha": 1.5}), ("selu", {}),
               ("celu", {"alpha": 1.5}), ("gelu", {"approximate": "none"}), ("gelu", {"approximate": "tanh"}),
               ("silu", {}), ("mish", {}), ("softplus", {"beta": 2.0, "threshold": 10.0}), ("softsign", {}),
               ("hardtanh", {"min_val": -1.5, "max_val": 2.0}), ("hardsigmoid", {}), ("hardswish", {}),
               ("logsigmoid", {}), ("tanhshrink", {}), ("softshrink", {"lambd": 0.5}), ("hardshrink", {"lambd": 0.5}),
               ("threshold", {"threshold": 0.5, "value": -2.0})]
IDS = [f"{n}-{p['approximate']}" if n == "gelu" else n for n, p in ACTIVATIONS]
FLOAT_PARAMS = [(n, k, p) for n, p in ACTIVATIONS for k, v in p.items() if isinstance(v, float)]


def _message(call) -> str:  # noqa: ANN001
    with pytest.raises(NNRefError) as info:
        call()
    return str(info.value)


# ----------------------------------------------------------------------------- errors name op and argument
# The wrappers pass the op's name and each argument's name to the runtime's checks as strings;
# a mutant that changes one of them (None, 'XXreluXX', 'RELU') only changes the message, which
# the errors test checks for a handful of ops only.


@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=IDS)
def test_an_activation_error_names_the_op_and_the_input(name: str, params: dict) -> None:
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    expected = f"{name}: input: expected a floating-point array, got None"
    assert _message(lambda: fwd(None, **params)) == expected
    assert _message(lambda: bwd(np.ones(3), None, **params)) == expected
    assert _message(lambda: bwd(np.ones(2), np.ones(3), **params)) == (
        f"{name}: grad_output: expected shape (3,) (the output's shape), got (2,)")


@pytest.mark.parametrize("name,param,params", FLOAT_PARAMS, ids=[f"{n}-{k}" for n, k, _ in FLOAT_PARAMS])
def test_an_activation_error_names_the_parameter(name: str, param: str, params: dict) -> None:
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    bad = dict(params, **{param: "x"})
    expected = f"{name}: {param}: expected a real number, got str 'x'"
    assert _message(lambda: fwd(np.ones(3), **bad)) == expected
    assert _message(lambda: bwd(np.ones(3), np.ones(3), **bad)) == expected


@pytest.mark.parametrize("call,message", [
    (lambda: nnref.celu_backward(np.ones(2), np.ones(2), alpha=0.0),
     "celu: alpha: expected a value in the reals except 0.0, got 0.0"),
    (lambda: nnref.softplus_backward(np.ones(2), np.ones(2), beta=0.0),
     "softplus: beta: expected a value in (0.0, inf), got 0.0"),
    (lambda: nnref.softshrink_backward(np.ones(2), np.ones(2), lambd=-1.0),
     "softshrink: lambd: expected a value in [0.0, inf), got -1.0"),
    (lambda: nnref.hardshrink(np.ones(2), lambd=-1.0), "hardshrink: lambd: expected a value in [0.0, inf), got -1.0"),
    (lambda: nnref.hardshrink_backward(np.ones(2), np.ones(2), lambd=-1.0),
     "hardshrink: lambd: expected a value in [0.0, inf), got -1.0"),
    (lambda: nnref.rrelu(np.ones(2), lower=0.5, upper=0.25), "rrelu: upper: expected a value >= lower, got 0.25"),
    (lambda: nnref.rrelu_backward(np.ones(2), np.ones(2), lower=0.5, upper=0.25),
     "rrelu: upper: expected a value >= lower, got 0.25"),
    (lambda: nnref.hardtanh(np.ones(2), min_val=2.0, max_val=1.0),
     "hardtanh: max_val: expected a value >= min_val, got 1.0"),
    (lambda: nnref.hardtanh_backward(np.ones(2), np.ones(2), min_val=2.0, max_val=1.0),
     "hardtanh: max_val: expected a value >= min_val, got 1.0"),
    (lambda: nnref.gelu(np.ones(2), approximate="fast"), "gelu: approximate: expected one of 'none', 'tanh', got 'fast'"),
    (lambda: nnref.gelu_backward(np.ones(2), np.ones(2), approximate="fast"),
     "gelu: approximate: expected one of 'none', 'tanh', got 'fast'"),
])
def test_an_activation_error_states_the_parameters_domain(call, message: str) -> None:  # noqa: ANN001
    # the backward wrappers check their parameters as the forward ones do, with the same words
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        call()


@pytest.mark.parametrize("call,message", [
    (lambda: nnref.prelu(None, np.ones(1)), "prelu: input: expected a floating-point array, got None"),
    (lambda: nnref.prelu_backward(np.ones(3), None, np.ones(1)), "prelu: input: expected a floating-point array, got None"),
    (lambda: nnref.prelu(np.ones((2, 3)), np.ones(1, np.float32)),
     "prelu: weight: expected dtype float64 (the dtype of input), got float32"),
    (lambda: nnref.prelu_backward(np.ones((2, 3)), np.ones((2, 3)), np.ones(1, np.float32)),
     "prelu: weight: expected dtype float64 (the dtype of input), got float32"),
    (lambda: nnref.prelu(np.ones((2, 3)), np.ones(2)),
     "prelu: weight: expected shape (1,) or (3,) (the channels on dim 1 of input, shape (2, 3)), got (2,)"),
    (lambda: nnref.prelu_backward(np.ones((2, 3)), np.ones((2, 3)), np.ones(2)),
     "prelu: weight: expected shape (1,) or (3,) (the channels on dim 1 of input, shape (2, 3)), got (2,)"),
    (lambda: nnref.prelu_backward(np.ones(2), np.ones((2, 3)), np.ones(3)),
     "prelu: grad_output: expected shape (2, 3) (the output's shape), got (2,)"),
])
def test_a_prelu_error_names_the_op_and_the_argument(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(NNRefError, match=re.escape(message) + "$"):
        call()


def test_equal_bounds_are_allowed() -> None:
    # rrelu's domain is upper >= lower, hardtanh's max_val >= min_val: equal bounds are allowed
    # (a check with > in place of >= refuses them).  rrelu with lower = upper = s is leaky_relu
    # with slope s; hardtanh with min_val = max_val = c is the constant c, with zero gradient.
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    assert nnref.rrelu(x, lower=0.25, upper=0.25).tolist() == [-0.5, -0.125, 0.0, 1.5]
    assert nnref.rrelu_backward(np.ones(4), x, lower=0.25, upper=0.25)["input"].tolist() == [0.25, 0.25, 0.25, 1.0]
    assert nnref.hardtanh(x, min_val=0.5, max_val=0.5).tolist() == [0.5] * 4
    assert nnref.hardtanh_backward(np.ones(4), x, min_val=0.5, max_val=0.5)["input"].tolist() == [0.0] * 4


def test_a_shrink_with_lambd_zero_is_allowed() -> None:
    # lambd's domain is [0, inf): 0 is in it (a check with an open lower end refuses it).
    # With lambd = 0 both shrinks are the identity, with derivative 1 away from 0.
    x = np.array([-2.0, -0.5, 0.25, 3.0])
    for name in ("softshrink", "hardshrink"):
        assert getattr(nnref, name)(x, lambd=0.0).tolist() == x.tolist()
        assert getattr(nnref, f"{name}_backward")(np.ones(4), x, lambd=0.0)["input"].tolist() == [1.0] * 4


def test_relu6_is_six_from_six_on() -> None:
    # relu6(x) = min(max(0, x), 6): exactly 6 for every x >= 6, the points just above 6 included
    # (a cap moved to x >= 7 leaves (6, 7) unclipped)
    x = np.array([6.0, np.nextafter(6.0, 7.0), 6.5, 6.999, 7.0, 1e300])
    assert nnref.relu6(x).tolist() == [6.0] * 6


def test_softplus_default_threshold_is_twenty() -> None:
    # softplus's documented default (torch's): threshold = 20, above which beta·x is returned as x
    # and its derivative as 1.  At x = 20.5 the smooth formula gives x + log1p(e^{-20.5}) and
    # σ(20.5) = 1 − 1.25e-9, both distinct from 20.5 and 1 in float64.
    x = np.array([20.5])
    assert nnref.softplus(x).tolist() == [20.5]
    assert nnref.softplus_backward(np.ones(1), x)["input"].tolist() == [1.0]


def test_elu_derivative_away_from_zero_with_alpha_not_one() -> None:
    # elu(x) = x for x > 0 and alpha·(e^x − 1) for x <= 0: the derivative is 1 at x = 1 and
    # alpha·e^x below 0, whatever alpha is (with alpha = 1 a mutant that moves the breakpoint
    # to x = 1 and returns alpha there is not seen)
    x = np.array([-1.0, 1.0, 2.0])
    got = nnref.elu_backward(np.ones(3), x, alpha=0.5)["input"]
    assert got[1:].tolist() == [1.0, 1.0]
    assert abs(got[0] - float(0.5 * mpmath.exp(-1))) <= 2 * np.spacing(got[0])  # within 2 ulp


# ----------------------------------------------------------------------------- dtype and shape kept
# Each wrapper hands `blocked` the input as the reference for the result's dtype and shape; a
# mutant that drops it returns the kernel's working precision (float64 for a float32 input,
# x86's extended precision for the kernels that compute in it).


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=IDS)
def test_an_activation_keeps_the_dtype_and_shape_of_its_input(name: str, params: dict, dtype: str) -> None:
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    for shape in [(), (2, 3)]:
        x = np.full(shape, -0.75, dtype=dtype)
        y, g = fwd(x, **params), bwd(np.ones(shape, dtype=dtype), x, **params)
        assert type(y) is np.ndarray and y.dtype == np.dtype(dtype) and y.shape == shape
        assert list(g) == ["input"]
        assert type(g["input"]) is np.ndarray and g["input"].dtype == np.dtype(dtype) and g["input"].shape == shape


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_prelu_keeps_the_dtype_and_shapes(dtype: str) -> None:
    x = np.full((2, 3, 2), -0.75, dtype=dtype)
    for w in (np.full(1, 0.25, dtype=dtype), np.full(3, 0.25, dtype=dtype)):
        y, g = nnref.prelu(x, w), nnref.prelu_backward(np.ones(x.shape, dtype=dtype), x, w)
        assert y.dtype == np.dtype(dtype) and y.shape == x.shape
        assert list(g) == ["input", "weight"]
        assert g["input"].dtype == np.dtype(dtype) and g["input"].shape == x.shape
        assert g["weight"].dtype == np.dtype(dtype) and g["weight"].shape == w.shape


# ----------------------------------------------------------------------------- 0-d inputs
# A 0-d input reaches the kernels as 0-d arrays, whose comparisons are NumPy scalars: `_rt.where`
# then goes to numpy.where, which takes a Python None as an object, not as NaN (a mutant that
# writes None for numpy.nan gives the same floats for arrays of one dimension or more).  An
# elementwise op's value at a point cannot depend on the rank of the array holding it.

POINTS = [np.nan, np.inf, -np.inf, 0.0, -0.0, -3.0, 3.0, -0.5, 6.0]


@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=IDS)
def test_a_zero_dim_input_gives_the_value_of_a_one_element_array(name: str, params: dict) -> None:
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    for v in POINTS:
        for dtype in ("float64", "float32"):
            x0, x1 = np.array(v, dtype=dtype), np.array([v], dtype=dtype)
            g0, g1 = np.array(1.5, dtype=dtype), np.array([1.5], dtype=dtype)
            assert same_bits(fwd(x0, **params).reshape(1), fwd(x1, **params)), (v, dtype)
            assert same_bits(bwd(g0, x0, **params)["input"].reshape(1), bwd(g1, x1, **params)["input"]), (v, dtype)


# ----------------------------------------------------------------------------- blocks
# Every activation (test_pointwise_blocks.py runs 13 of them on larger inputs): a large input runs block by block, the kernel
# writing each block into its slot of the result (`out=`, `_rt.slot(out, 'input')`); a mutant
# that names another slot fails there only.  Small blocks keep the test fast.

BLOCKED = ACTIVATIONS


def _x(dtype: str, n: int = 1000) -> np.ndarray:
    x = np.linspace(-8.0, 8.0, n).astype(dtype)
    x[::97] = 0.0
    x[5::101] = np.nan
    x[7::211] = np.inf
    x[9::211] = -np.inf
    return x


def _whole_and_blocked(monkeypatch: pytest.MonkeyPatch, call) -> tuple:  # noqa: ANN001
    monkeypatch.setenv("NNREF_NUM_THREADS", "1")
    monkeypatch.setattr(rt, "POINTWISE_MIN", 10**12)
    whole = call()
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 64)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 128)
    return whole, call()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params", BLOCKED, ids=IDS)
def test_an_activation_in_blocks_gives_the_bits_of_one_call(monkeypatch: pytest.MonkeyPatch, name: str,
                                                             params: dict, dtype: str) -> None:
    x = _x(dtype)
    g = np.cos(np.arange(x.size)).astype(dtype)
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    whole, blocks = _whole_and_blocked(monkeypatch, lambda: (fwd(x, **params), bwd(g, x, **params)["input"]))
    assert same_bits(whole[0], blocks[0]) and same_bits(whole[1], blocks[1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_prelu_in_blocks_gives_the_bits_of_one_call(monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    # a 1-D input with one shared slope: the slope enters the kernels as a scalar, so both run in
    # blocks (the result of the input's dtype: float32 in float32, not the blocks' float64)
    x, w = _x(dtype), np.array([-0.25], dtype=dtype)
    g = np.cos(np.arange(x.size)).astype(dtype)
    whole, blocks = _whole_and_blocked(monkeypatch, lambda: (nnref.prelu(x, w), nnref.prelu_backward(g, x, w)))
    assert same_bits(whole[0], blocks[0])
    assert same_bits(whole[1]["input"], blocks[1]["input"]) and same_bits(whole[1]["weight"], blocks[1]["weight"])


# Mutation testing (the rerun of the choice-free kernels, 2026-12-07): the blend
# mask·(1 - s) + s gives the table of 1 and s only where (1 - s) + s rounds to 1, which the
# kernel tests per call.  A test that read "== 2" survived every drawn slope: it holds for
# s = ±(2^53 + 2), where 1 - s rounds to a number two away, and the blend then gives 2 where
# x > 0.  The derivative is 1 there and s below 0, whatever s.
@pytest.mark.parametrize("slope", [2.0**53 + 2, -(2.0**53 + 2), 2.0**54 + 4, 3e16])
def test_leaky_and_rrelu_derivative_is_one_above_zero_for_a_huge_slope(slope: float) -> None:
    x = np.array([1.0, -1.0, 2.5, -0.5])
    want = np.array([1.0, slope, 1.0, slope])
    got = nnref.leaky_relu_backward(np.ones(4), x, negative_slope=slope)["input"]
    assert got.tolist() == want.tolist(), got
    got = nnref.rrelu_backward(np.ones(4), x, lower=slope, upper=slope)["input"]  # slope (lower + upper)/2
    assert got.tolist() == want.tolist(), got
