"""Bad pooling input gets an error naming the op, the argument, what was expected and what
was given; every case is one torch refuses too, except where nnref says it is stricter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from compare import assert_error_names

import nnref
from nnref import NNRefError

X1 = np.zeros((2, 3, 8))
X2 = np.zeros((2, 3, 6, 6))
IDX = np.zeros((2, 3, 4), dtype=np.int64)

# (what, function, positional arrays, keyword arguments, fragments the message must contain)
CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any], list[str]]] = [
    ("padding above half the kernel", "max_pool1d", (X1,), {"kernel_size": 3, "padding": 2},
     ["max_pool1d", "padding", "at most half of kernel_size", "2"]),
    ("padding above half the kernel (avg)", "avg_pool2d", (X2,), {"kernel_size": 2, "padding": (0, 2)},
     ["avg_pool2d", "padding", "(0, 2)"]),
    ("negative padding", "max_pool2d", (X2,), {"kernel_size": 2, "padding": -1},
     ["max_pool2d", "padding", ">= 0", "-1"]),
    ("kernel larger than the padded input", "max_pool1d", (np.zeros((1, 1, 3)),), {"kernel_size": 5},
     ["max_pool1d", "kernel_size", "no larger than the padded input", "spans 5", "padded input 3"]),
    ("dilated kernel larger than the padded input", "max_pool1d", (np.zeros((1, 1, 4)),),
     {"kernel_size": 3, "dilation": 2}, ["max_pool1d", "kernel_size", "spans 5", "padded input 4"]),
    ("kernel larger than the input (avg_pool2d)", "avg_pool2d", (np.zeros((1, 1, 3, 3)),), {"kernel_size": 5},
     ["avg_pool2d", "kernel_size", "spans 5", "padded input 3"]),
    ("avg_pool3d kernel larger than the unpadded input", "avg_pool3d", (np.zeros((1, 1, 1, 1, 1)),),
     {"kernel_size": (1, 1, 2), "padding": (0, 0, 1)}, ["avg_pool3d", "kernel_size", "(1, 1, 1)", "(1, 1, 2)"]),
    ("kernel zero", "max_pool1d", (X1,), {"kernel_size": 0}, ["max_pool1d", "kernel_size", ">= 1", "0"]),
    ("stride zero", "max_pool1d", (X1,), {"kernel_size": 2, "stride": 0}, ["max_pool1d", "stride", ">= 1", "0"]),
    ("negative stride", "avg_pool2d", (X2,), {"kernel_size": 2, "stride": (1, -1)},
     ["avg_pool2d", "stride", ">= 1", "(1, -1)"]),
    ("dilation zero", "max_pool2d", (X2,), {"kernel_size": 2, "dilation": 0}, ["max_pool2d", "dilation", ">= 1"]),
    ("float kernel", "max_pool1d", (X1,), {"kernel_size": 2.0}, ["max_pool1d", "kernel_size", "an int", "2.0"]),
    ("tuple of the wrong length", "max_pool2d", (X2,), {"kernel_size": (2, 2, 2)},
     ["max_pool2d", "kernel_size", "a tuple of 2 ints", "(2, 2, 2)"]),
    ("input rank too low", "max_pool2d", (np.zeros(5),), {"kernel_size": 2},
     ["max_pool2d", "input", "4-d array", "3-d unbatched", "(5,)"]),
    ("input rank too high", "avg_pool1d", (X2,), {"kernel_size": 2}, ["avg_pool1d", "input", "3-d array", "(2, 3, 6, 6)"]),
    ("empty channel axis", "max_pool2d", (np.zeros((1, 0, 4, 4)),), {"kernel_size": 2},
     ["max_pool2d", "input", "non-empty", "(1, 0, 4, 4)"]),
    ("integer input", "max_pool1d", (X1.astype(np.int64),), {"kernel_size": 2},
     ["max_pool1d", "input", "floating-point", "int64"]),
    ("divisor_override zero", "avg_pool2d", (X2,), {"kernel_size": 2, "divisor_override": 0},
     ["avg_pool2d", "divisor_override", "nonzero", "0"]),
    ("norm_type zero", "lp_pool1d", (X1, 0.0), {"kernel_size": 2}, ["lp_pool1d", "norm_type", "nonzero", "0.0"]),
    ("adaptive output size negative", "adaptive_avg_pool2d", (X2,), {"output_size": -1},
     ["adaptive_avg_pool2d", "output_size", ">= 0", "-1"]),
    ("adaptive output size of the wrong length", "adaptive_max_pool2d", (X2,), {"output_size": (2, 2, 2)},
     ["adaptive_max_pool2d", "output_size", "a tuple of 2 ints", "(2, 2, 2)"]),
    ("adaptive input with an empty axis", "adaptive_avg_pool2d", (np.zeros((1, 2, 0, 5)),), {"output_size": 2},
     ["adaptive_avg_pool2d", "input", "non-empty", "(1, 2, 0, 5)"]),
    ("unpool index past the plane", "max_unpool1d", (np.zeros((1, 1, 2)), np.array([[[0, 9]]])), {"kernel_size": 2},
     ["max_unpool1d", "indices", "[0, 4)", "9"]),
    ("unpool negative index", "max_unpool1d", (np.zeros((1, 1, 2)), np.array([[[0, -1]]])), {"kernel_size": 2},
     ["max_unpool1d", "indices", "[0, 4)", "-1"]),
    ("unpool indices of another shape", "max_unpool1d", (np.zeros((1, 1, 2)), np.array([[[0, 1, 2]]])),
     {"kernel_size": 2}, ["max_unpool1d", "indices", "(1, 1, 2)", "(1, 1, 3)"]),
    ("unpool output_size out of range", "max_unpool1d", (np.zeros((1, 1, 2)), np.array([[[0, 1]]])),
     {"kernel_size": 2, "output_size": (9,)}, ["max_unpool1d", "output_size", "between 2 and 6", "(9,)"]),
    ("unpool float indices", "max_unpool1d", (np.zeros((1, 1, 2)), np.array([[[0.0, 1.0]]])), {"kernel_size": 2},
     ["max_unpool1d", "indices", "integer", "float64"]),
    ("grad_output shape", "max_pool1d_backward", (np.zeros((2, 3, 5)), X1), {"kernel_size": 2},
     ["max_pool1d", "grad_output", "(2, 3, 4)", "(2, 3, 5)"]),
]
IDS = [c[0] for c in CASES]

# nnref refuses these where torch returns something: a window with no input entry (torch:
# -inf, and an index outside the input).
STRICTER = [
    ("window reading no input entry", "max_pool1d", (np.arange(4.0).reshape(1, 1, 4),),
     {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 5},
     ["max_pool1d", "dilation", "window 0", "[-1, 4]", "length 4"]),
]


@pytest.mark.parametrize("fn,args,kwargs,fragments", [c[1:] for c in CASES + STRICTER],
                         ids=IDS + [c[0] for c in STRICTER])
def test_error_names_argument_expected_and_given(fn: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                                                 fragments: list[str]) -> None:
    assert_error_names(lambda: getattr(nnref, fn)(*args, **kwargs), fragments, NNRefError)


@pytest.mark.parametrize("fn,args,kwargs", [c[1:4] for c in CASES], ids=IDS)
def test_torch_refuses_the_same_input(fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """nnref is no stricter than the reference on these."""
    import torch
    import torch.nn.functional as F

    tensors = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    with pytest.raises((RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError)):
        if fn.endswith("_backward"):
            grad, x = tensors
            x.requires_grad_(True)
            out = getattr(F, fn[: -len("_backward")])(x, **kwargs)
            torch.autograd.grad(out, [x], grad)
        else:
            getattr(F, fn)(*tensors, **kwargs)


def test_torch_returns_garbage_where_nnref_refuses() -> None:
    """The STRICTER case: torch gives −inf and an index outside the input, so refusing is right."""
    import torch
    import torch.nn.functional as F

    _, _, args, kwargs, _ = STRICTER[0]
    y, ind = F.max_pool1d(torch.from_numpy(args[0]), return_indices=True, **kwargs)
    assert y.flatten()[0].item() == -float("inf") and not 0 <= ind.flatten()[0].item() < 4


def test_batch_zero_and_unbatched_input() -> None:
    y = nnref.max_pool2d(np.zeros((0, 3, 6, 6)), 2)
    assert y.shape == (0, 3, 3, 3)
    assert nnref.max_pool2d_backward(np.zeros((0, 3, 3, 3)), np.zeros((0, 3, 6, 6)), 2)["input"].shape == (0, 3, 6, 6)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7))
    np.testing.assert_array_equal(nnref.avg_pool1d(x, 3, 2, 1), nnref.avg_pool1d(x[None], 3, 2, 1)[0])
    v, i = nnref.max_pool1d(x, 2, return_indices=True)
    assert v.shape == i.shape == (3, 3) and i.dtype == np.int64


def test_float32_stays_float32() -> None:
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 5)).astype(np.float32)
    for fn, kw in ((nnref.max_pool2d, {}), (nnref.avg_pool2d, {}), (nnref.adaptive_avg_pool2d, {})):
        args = (x, 2) if fn is not nnref.adaptive_avg_pool2d else (x, 2)
        assert fn(*args, **kw).dtype == np.float32
