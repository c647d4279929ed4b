"""Bad convolution input gets an error naming the op, the argument, what was expected and what was given."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from compare import assert_error_names

import nnref
from nnref import NNRefError

X = np.zeros((2, 4, 6, 6))  # N, C, H, W
W = np.zeros((6, 2, 3, 3))  # O, C/groups, kH, kW (groups = 2)
X1 = np.zeros((2, 3, 5))
W1 = np.zeros((4, 3, 3))
WT = np.zeros((3, 2, 3))  # conv_transpose1d: C_in, C_out/groups, K

# (what, function, positional arrays, keyword arguments, fragments the message must contain)
CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any], list[str]]] = [
    ("channel mismatch", "conv1d", (X1, np.zeros((4, 2, 3))), {},
     ["conv1d", "weight", "in_channels/groups = 3", "(4, 2, 3)"]),
    ("channel mismatch with groups", "conv2d", (X, W), {"groups": 1},
     ["conv2d", "weight", "in_channels/groups = 4", "groups = 1", "(6, 2, 3, 3)"]),
    ("transposed channel mismatch", "conv_transpose1d", (np.zeros((2, 4, 5)), WT), {},
     ["conv_transpose1d", "weight", "in_channels = 4", "(3, 2, 3)"]),
    ("groups not dividing in_channels", "conv2d", (X, W), {"groups": 3},
     ["conv2d", "groups", "divisor of in_channels = 4", "3"]),
    ("groups not dividing out_channels", "conv2d", (X, np.zeros((5, 2, 3, 3))), {"groups": 2},
     ["conv2d", "groups", "divisor of out_channels = 5", "2"]),
    ("groups zero", "conv2d", (X, W), {"groups": 0}, ["conv2d", "groups", ">= 1", "0"]),
    ("groups not an int", "conv2d", (X, W), {"groups": 2.0}, ["conv2d", "groups", "an int", "2.0"]),
    ("kernel larger than padded input", "conv1d", (np.zeros((1, 3, 2)), W1), {},
     ["conv1d", "weight", "no larger than the padded input", "spans 3", "padded input 2"]),
    ("dilated kernel larger than padded input", "conv1d", (X1, W1), {"dilation": 3},
     ["conv1d", "weight", "spans 7", "padded input 5", "dilation 3"]),
    ("stride zero", "conv2d", (X, W), {"groups": 2, "stride": 0}, ["conv2d", "stride", ">= 1", "0"]),
    ("negative stride in a tuple", "conv2d", (X, W), {"groups": 2, "stride": (1, -2)},
     ["conv2d", "stride", ">= 1", "(1, -2)"]),
    ("dilation zero", "conv1d", (X1, W1), {"dilation": 0}, ["conv1d", "dilation", ">= 1", "0"]),
    ("negative padding", "conv1d", (X1, W1), {"padding": -1}, ["conv1d", "padding", ">= 0", "-1"]),
    ("negative transposed padding", "conv_transpose1d", (X1, WT), {"padding": (-1,)},
     ["conv_transpose1d", "padding", ">= 0", "(-1,)"]),
    ("'same' with stride 2", "conv1d", (X1, W1), {"padding": "same", "stride": 2},
     ["conv1d", "padding", "'same' needs stride 1", "stride 2"]),
    ("unknown padding string", "conv1d", (X1, W1), {"padding": "full"},
     ["conv1d", "padding", "'valid' or 'same'", "'full'"]),
    ("string padding for transposed", "conv_transpose1d", (X1, WT), {"padding": "same"},
     ["conv_transpose1d", "padding", "no 'valid' or 'same'", "'same'"]),
    ("tuple of the wrong length", "conv2d", (X, W), {"groups": 2, "stride": (1, 1, 1)},
     ["conv2d", "stride", "a tuple of 2 ints", "(1, 1, 1)"]),
    ("float stride", "conv1d", (X1, W1), {"stride": 1.5}, ["conv1d", "stride", "an int", "1.5"]),
    ("output_padding too large", "conv_transpose1d", (X1, WT), {"stride": 2, "output_padding": 2},
     ["conv_transpose1d", "output_padding", "< max(stride, dilation) = 2", "2"]),
    ("transposed output too small", "conv_transpose1d", (np.zeros((1, 3, 1)), WT), {"padding": 2},
     ["conv_transpose1d", "padding", "at most 1", "2"]),
    ("input rank too low", "conv2d", (np.zeros((4, 6)), W), {"groups": 2},
     ["conv2d", "input", "4-d array", "3-d unbatched", "(4, 6)"]),
    ("input rank too high", "conv1d", (np.zeros((1, 2, 3, 5)), W1), {},
     ["conv1d", "input", "3-d array", "(1, 2, 3, 5)"]),
    ("weight rank", "conv2d", (X, np.zeros((6, 2, 3))), {"groups": 2},
     ["conv2d", "weight", "4-d array", "(6, 2, 3)"]),
    ("bias shape", "conv1d", (X1, W1, np.zeros(3)), {}, ["conv1d", "bias", "(4,)", "(3,)"]),
    ("mismatched dtypes", "conv1d", (X1, W1.astype(np.float32)), {}, ["conv1d", "weight", "float64", "float32"]),
    ("mismatched bias dtype", "conv1d", (X1, W1, np.zeros(4, dtype=np.float32)), {},
     ["conv1d", "bias", "float64", "float32"]),
    ("integer input", "conv1d", (X1.astype(np.int64), W1), {}, ["conv1d", "input", "floating-point", "int64"]),
    ("grad_output shape", "conv1d_backward", (np.zeros((2, 4, 4)), X1, W1), {},
     ["conv1d", "grad_output", "(2, 4, 3)", "(2, 4, 4)"]),
    ("transposed grad_output shape", "conv_transpose1d_backward", (np.zeros((2, 2, 5)), X1, WT), {},
     ["conv_transpose1d", "grad_output", "(2, 2, 7)", "(2, 2, 5)"]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("fn,args,kwargs,fragments", [c[1:] for c in CASES], ids=IDS)
def test_error_names_argument_expected_and_given(fn: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                                                 fragments: list[str]) -> None:
    assert_error_names(lambda: getattr(nnref, fn)(*args, **kwargs), fragments, NNRefError)


@pytest.mark.parametrize("fn,args,kwargs", [c[1:4] for c in CASES], ids=IDS)
def test_torch_refuses_the_same_input(fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Every case is one torch refuses too: nnref is no stricter than the reference."""
    import torch
    import torch.nn.functional as F

    tensors = [torch.from_numpy(a) for a in args]
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        if fn.endswith("_backward"):
            grad, *inputs = tensors
            for t in inputs:
                t.requires_grad_(True)
            out = getattr(F, fn[: -len("_backward")])(*inputs, **kwargs)
            torch.autograd.grad(out, inputs, grad)
        else:
            getattr(F, fn)(*tensors, **kwargs)


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="conv2d: groups"):
        nnref.conv2d(X, W, groups=3)


def test_batch_zero_and_unbatched_input() -> None:
    """Batch 0 gives empty results of the right shapes; an unbatched input works as batch 1."""
    y = nnref.conv2d(np.zeros((0, 4, 6, 6)), W, groups=2)
    assert y.shape == (0, 6, 4, 4)
    grads = nnref.conv2d_backward(np.zeros((0, 6, 4, 4)), np.zeros((0, 4, 6, 6)), W, np.ones(6), groups=2)
    assert grads["input"].shape == (0, 4, 6, 6) and not grads["weight"].any() and not grads["bias"].any()
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 5)), rng.standard_normal((4, 3, 3))
    np.testing.assert_array_equal(nnref.conv1d(x, w), nnref.conv1d(x[None], w)[0])


def test_float32_stays_float32_and_inputs_are_untouched() -> None:
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 6, 6), (6, 2, 3, 3), (6,)))
    copies = [a.copy() for a in (x, w, b)]
    y = nnref.conv2d(x, w, b, groups=2, padding=1)
    grads = nnref.conv2d_backward(np.ones_like(y), x, w, b, groups=2, padding=1)
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)
