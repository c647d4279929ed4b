"""Bad input gets a clear error naming the op, the argument, what was expected and what was given."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from compare import assert_error_names

import nnref
from nnref import NNRefError

X = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]])

CASES: list[tuple[str, Callable[[], Any], list[str]]] = [
    ("integer array", lambda: nnref.relu(np.array([1, 2, 3])), ["relu", "input", "floating-point", "int64"]),
    ("bool array", lambda: nnref.sigmoid(np.array([True])), ["sigmoid", "input", "bool"]),
    ("string", lambda: nnref.tanh("abc"), ["tanh", "input", "floating-point"]),
    ("None input", lambda: nnref.tanh(None), ["tanh", "input", "None"]),
    ("mismatched dtypes", lambda: nnref.mse_loss(X, X.astype(np.float32)), ["mse_loss", "target", "float64", "float32"]),
    ("mismatched shapes", lambda: nnref.mse_loss(X, X[0]), ["mse_loss", "target", "(2, 3)", "(3,)"]),
    ("negative beta", lambda: nnref.softplus(X, beta=-1.0), ["softplus", "beta", "-1.0"]),
    ("celu alpha = 0", lambda: nnref.celu(X, alpha=0.0), ["celu", "alpha", "0.0"]),
    ("negative lambd", lambda: nnref.softshrink(X, lambd=-0.5), ["softshrink", "lambd", "-0.5"]),
    ("NaN parameter", lambda: nnref.leaky_relu(X, negative_slope=float("nan")), ["leaky_relu", "negative_slope", "nan"]),
    ("string parameter", lambda: nnref.elu(X, alpha="1"), ["elu", "alpha", "real number", "str"]),
    ("unknown approximate", lambda: nnref.gelu(X, approximate="fast"), ["gelu", "approximate", "'none'", "'tanh'", "fast"]),
    ("unknown reduction", lambda: nnref.mse_loss(X, X, reduction="avg"), ["mse_loss", "reduction", "'mean'", "avg"]),
    ("grad_output shape", lambda: nnref.relu_backward(np.ones(3), X), ["relu", "grad_output", "(2, 3)", "(3,)"]),
    ("prelu weight size", lambda: nnref.prelu(X, np.ones(2)), ["prelu", "weight", "(1,) or (3,)", "(2,)"]),
    ("softmax without dim", lambda: nnref.softmax(X), ["softmax", "dim", "None"]),
    ("softmax dim out of range", lambda: nnref.softmax(X, dim=2), ["softmax", "dim", "[-2, 1]", "2"]),
    ("linear in_features", lambda: nnref.linear(X, np.ones((4, 2))), ["linear", "weight", "in_features = 3", "(4, 2)"]),
    ("linear weight rank", lambda: nnref.linear(X, np.ones(3)), ["linear", "weight", "(out_features, in_features)", "(3,)"]),
    ("linear bias shape", lambda: nnref.linear(X, np.ones((4, 3)), np.ones(3)), ["linear", "bias", "(4,)", "(3,)"]),
    ("class index out of range", lambda: nnref.cross_entropy(X, np.array([0, 3])),
     ["cross_entropy", "target", "3", "out of range", "3 classes"]),
    ("negative class index", lambda: nnref.nll_loss(X, np.array([-1, 0])), ["nll_loss", "target", "-1", "out of range"]),
    ("target batch mismatch", lambda: nnref.cross_entropy(X, np.array([0, 1, 2])),
     ["cross_entropy", "target", "(2,)", "(3,)"]),
    ("float targets for nll", lambda: nnref.nll_loss(X, X), ["nll_loss", "target", "integer class indices", "float64"]),
    ("class weight shape", lambda: nnref.cross_entropy(X, np.array([0, 1]), weight=np.ones(2)),
     ["cross_entropy", "weight", "(3,)", "(2,)"]),
    ("label smoothing > 1", lambda: nnref.cross_entropy(X, np.array([0, 1]), label_smoothing=1.5),
     ["cross_entropy", "label_smoothing", "1.5"]),
    ("cosine target shape", lambda: nnref.cosine_embedding_loss(X, X, np.ones(3)),
     ["cosine_embedding_loss", "target", "(2,)", "(3,)"]),
    ("hardtanh bounds reversed", lambda: nnref.hardtanh(X, min_val=2.0, max_val=1.0),
     ["hardtanh", "max_val", ">= min_val", "1.0"]),
    ("ignore_index with probabilities", lambda: nnref.cross_entropy(X, np.full((2, 3), 1 / 3), ignore_index=0),
     ["cross_entropy", "ignore_index", "-100", "0"]),
    ("unknown op", lambda: nnref.get_op("relu7"), ["relu7", "relu"]),
]


@pytest.mark.parametrize("call,fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_names_argument_expected_and_given(call: Callable[[], Any], fragments: list[str]) -> None:
    assert_error_names(call, fragments, (NNRefError, KeyError))


def test_errors_are_value_errors() -> None:
    """Code written against torch's checks (ValueError) catches nnref's too."""
    with pytest.raises(ValueError, match=re.escape("relu: input")):
        nnref.relu(np.array([1, 2]))


def test_float16_is_accepted_and_preserved() -> None:
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float16)
    for name in ("relu", "sigmoid", "gelu", "softplus"):
        op = nnref.get_op(name)
        out = op.forward(x)
        grads = op.backward(np.ones(3, dtype=np.float16), x)
        assert out.dtype == np.float16 and grads["input"].dtype == np.float16, name
        np.testing.assert_allclose(out.astype(np.float64), op.forward(x.astype(np.float64)), rtol=2e-3, atol=1e-3)
    assert nnref.softmax(x, dim=0).dtype == np.float16


def test_inputs_are_never_modified() -> None:
    x = X.copy()
    for name in ("relu", "softmax", "log_softmax"):
        op = nnref.get_op(name)
        kwargs = {"dim": 1} if "softmax" in name else {}
        op.forward(x, **kwargs)
        op.backward(np.ones_like(x), x, **kwargs)
    np.testing.assert_array_equal(x, X)
