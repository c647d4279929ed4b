"""Pooling's declared conventions, at hand-built inputs, against the implementation under
test and against nnref.

Each expected value below is worked out by hand from the rule as derivations/ops/pool.py
states it (which entry a window chooses, what its gradient is), not taken from either
engine.  The upstream gradients are distinct powers of two, so every sum says which
windows sent it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import nnref

NAN, INF = math.nan, math.inf

# (label, op, input, params, expected values, expected indices or None, upstream gradient, expected gradient)
CASES: list[tuple[str, str, list[Any], dict[str, Any], list[Any], list[Any] | None, list[Any], list[Any]]] = [
    ("tie: first maximum", "max_pool1d", [[[1.0, 1.0, 3.0, 3.0]]], {"kernel_size": 2, "return_indices": True},
     [[[1.0, 3.0]]], [[[0, 2]]], [[[1.0, 2.0]]], [[[1.0, 0.0, 2.0, 0.0]]]),
    ("tie: first maximum", "max_pool2d", [[[[7.0, 7.0], [7.0, 7.0]]]], {"kernel_size": 2, "return_indices": True},
     [[[[7.0]]]], [[[[0]]]], [[[[4.0]]]], [[[[4.0, 0.0], [0.0, 0.0]]]]),
    ("tie: first maximum", "max_pool2d", [[[[0.0, 2.0], [2.0, 1.0]]]], {"kernel_size": 2, "return_indices": True},
     [[[[2.0]]]], [[[[1]]]], [[[[4.0]]]], [[[[0.0, 4.0], [0.0, 0.0]]]]),
    ("NaN wins: the last NaN", "max_pool1d", [[[NAN, NAN, 5.0]]], {"kernel_size": 3, "return_indices": True},
     [[[NAN]]], [[[1]]], [[[2.0]]], [[[0.0, 2.0, 0.0]]]),
    ("NaN wins: the last NaN", "max_pool2d", [[[[1.0, NAN], [NAN, 9.0]]]], {"kernel_size": 2, "return_indices": True},
     [[[[NAN]]]], [[[[2]]]], [[[[8.0]]]], [[[[0.0, 0.0], [8.0, 0.0]]]]),
    ("NaN wins: the last NaN", "adaptive_max_pool2d", [[[[NAN, 1.0], [9.0, NAN]]]],
     {"output_size": 1, "return_indices": True}, [[[[NAN]]]], [[[[3]]]], [[[[2.0]]]], [[[[0.0, 0.0], [0.0, 2.0]]]]),
    ("padding never wins", "max_pool1d", [[[-INF, -INF, -INF, -INF]]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True},
     [[[-INF, -INF]]], [[[0, 1]]], [[[1.0, 2.0]]], [[[1.0, 2.0, 0.0, 0.0]]]),
    ("padding never wins", "max_pool2d", [[[[-INF, -INF], [-INF, -INF]]]],
     {"kernel_size": 2, "stride": 1, "padding": 1, "return_indices": True},
     [[[[-INF] * 3] * 3]], [[[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]],
     [[[[1.0, 2.0, 4.0], [8.0, 16.0, 32.0], [64.0, 128.0, 256.0]]]],
     [[[[1.0 + 2.0 + 8.0 + 16.0, 4.0 + 32.0], [64.0 + 128.0, 256.0]]]]),
    ("overlapping windows accumulate", "max_pool1d", [[[0.0, 5.0, 0.0, 1.0]]],
     {"kernel_size": 2, "stride": 1, "return_indices": True},
     [[[5.0, 5.0, 1.0]]], [[[1, 1, 3]]], [[[1.0, 2.0, 4.0]]], [[[0.0, 3.0, 0.0, 4.0]]]),
    ("overlapping windows accumulate", "adaptive_max_pool1d", [[[0.0, 5.0, 0.0]]],
     {"output_size": 2, "return_indices": True},  # windows [0, 2) and [1, 3)
     [[[5.0, 5.0]]], [[[1, 1]]], [[[1.0, 2.0]]], [[[0.0, 3.0, 0.0]]]),
    ("ceil_mode keeps an overhanging window", "max_pool1d", [[[1.0, 2.0, 3.0]]],
     {"kernel_size": 2, "stride": 2, "ceil_mode": True, "return_indices": True},
     [[[2.0, 3.0]]], [[[1, 2]]], [[[1.0, 2.0]]], [[[0.0, 1.0, 2.0]]]),
    ("ceil_mode drops a window starting in the padding", "max_pool1d", [[[1.0, 2.0, 3.0, 4.0]]],
     {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True, "return_indices": True},
     # windows start at -1, 1, 3; one at 5 would start in the right padding and is dropped
     [[[1.0, 3.0, 4.0]]], [[[0, 2, 3]]], [[[1.0, 2.0, 4.0]]], [[[1.0, 0.0, 2.0, 4.0]]]),
    ("avg_pool: ceil_mode divisor counts up to the padded edge", "avg_pool1d", [[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
     # windows [-1, 2), [1, 4), [3, 6), [5, 8): divisors 3, 3, 3, min(8, 7) - 5 = 2
     [[[1.0 / 3.0, 2.0, 4.0, 5.0 / 2.0]]], None, [[[3.0, 6.0, 12.0, 4.0]]],
     [[[1.0, 1.0 + 2.0, 2.0, 2.0 + 4.0, 4.0, 4.0 + 2.0]]]),
    ("avg_pool: count_include_pad=False", "avg_pool1d", [[[2.0, 4.0]]],
     {"kernel_size": 2, "stride": 1, "padding": 1, "count_include_pad": False},
     [[[2.0, 3.0, 4.0]]], None, [[[1.0, 2.0, 4.0]]], [[[1.0 + 1.0, 1.0 + 4.0]]]),
    ("zero window: zero gradient", "lp_pool1d", [[[1.0, -1.0, 3.0, 4.0]]], {"norm_type": 1.0, "kernel_size": 2},
     # window 0 sums to 0: torch's relu(|u|) masks it (calculus would give 1, 1)
     [[[0.0, 7.0]]], None, [[[1.0, 2.0]]], [[[0.0, 0.0, 2.0, 2.0]]]),
    ("partial windows are rescaled", "lp_pool1d", [[[1.0, 2.0, 3.0]]],
     {"norm_type": 1.0, "kernel_size": 2, "stride": 2, "ceil_mode": True},
     # the last window holds one entry: (K_tot/D·Σx)^1 = (2/1)·3
     [[[3.0, 6.0]]], None, [[[1.0, 2.0]]], [[[1.0, 1.0, 4.0]]]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[1]}: {c[0]}")
def test_convention(case: tuple[Any, ...], dtype: str, impl: Any) -> None:
    label, op, x, params, want_y, want_i, g, want_g = case
    x, g = np.asarray(x, dtype=dtype), np.asarray(g, dtype=dtype)
    for who, forward, vjp in (
        ("nnref", lambda: nnref.get_op(op).forward(x, **params),
         lambda: nnref.get_op(op).backward(g, x, **params)["input"]),
        (impl.name, lambda: impl.forward(op, {"input": x}, params, "cpu"),
         lambda: impl.vjp(op, {"input": x}, params, g, ["input"], "cpu")["input"]),
    ):
        out = forward()
        values, indices = (out if want_i is not None else (out, None))
        assert np.array_equal(np.asarray(values), np.asarray(want_y, dtype=dtype), equal_nan=True), \
            f"{who} {op} ({label}): values {values}, expected {want_y}"
        if want_i is not None:
            assert np.array_equal(indices, want_i), f"{who} {op} ({label}): indices {indices}, expected {want_i}"
        grad = vjp()
        assert np.array_equal(np.asarray(grad), np.asarray(want_g, dtype=dtype)), \
            f"{who} {op} ({label}): gradient {grad}, expected {want_g}"


def test_unpool_duplicate_indices(impl: Any) -> None:
    """Two inputs recorded at the same index: nnref writes the first (row-major); torch leaves
    the choice unspecified (either is accepted from it).  Both backwards send the output's
    gradient at that index to both inputs."""
    x = np.array([[[1.0, 2.0, 3.0]]])
    ind = np.array([[[1, 1, 3]]], dtype=np.int64)
    g = np.array([[[1.0, 2.0, 4.0, 8.0, 16.0, 32.0]]])
    params = {"kernel_size": 2}
    first, second = [[[0.0, 1.0, 0.0, 3.0, 0.0, 0.0]]], [[[0.0, 2.0, 0.0, 3.0, 0.0, 0.0]]]
    want_g = [[[2.0, 2.0, 8.0]]]
    assert np.array_equal(nnref.max_unpool1d(x, ind, **params), first)
    assert np.array_equal(nnref.max_unpool1d_backward(g, x, ind, **params)["input"], want_g)
    inputs = {"input": x, "indices": ind}
    got = impl.forward("max_unpool1d", inputs, params, "cpu")
    assert np.array_equal(got, first) or np.array_equal(got, second), got
    assert np.array_equal(impl.vjp("max_unpool1d", inputs, params, g, ["input"], "cpu")["input"], want_g)


def test_every_declared_convention_has_a_case() -> None:
    from nnref._generated.catalog import CATALOG

    labels = {c[0] for c in CASES} | {"duplicate indices: first write"}  # test_unpool_duplicate_indices
    declared = {conv["label"] for e in CATALOG if e["family"] == "pooling" for conv in e["conventions"]}
    assert declared <= labels, declared - labels


@pytest.mark.parametrize("params", [
    {"kernel_size": 1},  # no padding, no phase split: the kernel reads x itself
    {"kernel_size": 3, "stride": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 2, "stride": 2},
], ids=str)
@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_backward_leaves_its_arguments_untouched(op: str, params: dict[str, Any]) -> None:
    """max_pool's backward builds the gradient in its split copy of the input: never in the
    input itself, whatever the layout."""
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal((2, 3, 9, 8)), 1)
    y = getattr(nnref, op)(x, **params)
    g = rng.standard_normal(y.shape)
    x0, g0 = x.copy(), g.copy()
    grad = getattr(nnref, op + "_backward")(g, x, **params)["input"]
    assert np.array_equal(x, x0) and np.array_equal(g, g0)
    assert not np.shares_memory(grad, x) and not np.shares_memory(grad, g)


def test_lp_pool_float32_divides_in_float32(impl: Any) -> None:
    """lp_pool is avg_pool(x^P)·K in torch, each step in the input's dtype.  In float32,
    (1e-15)^3 is the smallest subnormal and its mean over two entries rounds to zero, so the
    value and the gradient are 0 (the zero-window convention), not what float64 would give.
    Found by the thorough hypothesis profile."""
    x = np.array([[[[1e-15, 0.0]]]], dtype=np.float32)
    params = {"norm_type": 3.0, "kernel_size": (1, 2)}
    g = np.ones((1, 1, 1, 1), dtype=np.float32)
    assert np.array_equal(nnref.lp_pool2d(x, **params), np.zeros((1, 1, 1, 1), np.float32))
    assert np.array_equal(nnref.lp_pool2d_backward(g, x, **params)["input"], np.zeros_like(x))
    inputs = {"input": x}
    assert np.array_equal(impl.forward("lp_pool2d", inputs, params, "cpu"), np.zeros((1, 1, 1, 1), np.float32))
    assert np.array_equal(impl.vjp("lp_pool2d", inputs, params, g, ["input"], "cpu")["input"], np.zeros_like(x))
    # float64 keeps the power: the same input gives a nonzero value there
    assert nnref.lp_pool2d(x.astype(np.float64), **params)[0, 0, 0, 0] > 0
