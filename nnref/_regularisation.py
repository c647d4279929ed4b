"""Regularisation: dropout with inverted scaling, and the L2 penalty as a loss term.

The arithmetic is printed from SymPy into ``nnref/_generated/regularisation.py``; this module
checks the arguments, draws dropout's mask when none is given, and sums the penalty.

Owns: ``dropout``, ``dropout_backward``, ``dropout_mask``, ``l2_penalty``,
``l2_penalty_backward``.  Imports: NumPy, ``._runtime`` and the generated
``._generated.regularisation``.
"""

from __future__ import annotations

from typing import Any

import numpy
from numpy.typing import ArrayLike, NDArray

from . import _runtime as _rt
from ._generated import regularisation as _k

__all__ = ["dropout", "dropout_backward", "dropout_mask", "l2_penalty", "l2_penalty_backward"]

Array = NDArray[Any]
_UNIT = {"lo": 0.0, "hi": 1.0}


def _rng(op: str, rng: Any) -> numpy.random.Generator:
    if rng is None:
        return numpy.random.default_rng()
    if not isinstance(rng, numpy.random.Generator):
        raise _error(op, "rng", "None or a numpy.random.Generator (numpy.random.default_rng(seed))", rng)
    return rng


def _error(op: str, name: str, expected: str, got: Any) -> _rt.NNRefError:
    return _rt.NNRefError(f"{op}: {name}: expected {expected}, got {_rt._describe(got)}")


def dropout_mask(shape: Any, p: float = 0.5, *, rng: Any = None) -> NDArray[numpy.bool_]:
    """A boolean mask of ``shape``, each entry True (kept) with probability 1 - p, independently."""
    p = _rt.check_float("dropout_mask", "p", p, _UNIT)
    if isinstance(shape, (int, numpy.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(n, (int, numpy.integer)) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise _error("dropout_mask", "shape", "a tuple of non-negative ints", shape)
    # rng.random() lies in [0, 1): below 1 - p with probability exactly 1 - p, so p = 0 keeps all
    # and p = 1 keeps none.
    return _rng("dropout_mask", rng).random(tuple(int(n) for n in shape)) < 1.0 - p


def _check_mask(op: str, mask: Any, x: Array) -> NDArray[numpy.bool_]:
    if not isinstance(mask, numpy.ndarray) or mask.dtype != numpy.bool_:
        raise _error(op, "mask", f"a boolean array of input's shape {x.shape} (True = kept)", mask)
    if mask.shape != x.shape:
        raise _rt.NNRefError(f"{op}: mask: expected input's shape {x.shape}, got shape {mask.shape}")
    return mask


def _args(op: str, input: Any, p: Any, training: Any) -> tuple[Array, float, bool]:
    x = _rt.float_array(op, "input", input)
    return x, _rt.check_float(op, "p", p, _UNIT), _rt.check_bool(op, "training", training)


def _scale(p: float, x: Array) -> Any:
    # torch's CPU dropout divides its 0/1 noise by 1 - p in the input's arithmetic type (float for
    # float16 and float32, double for float64), then rounds to the input's dtype: the scale is
    # rounded once, before the product, and so it is here.
    work = numpy.float64 if x.dtype == numpy.float64 else numpy.float32
    return x.dtype.type(work(1) / work(1.0 - p))


def dropout(input: ArrayLike, p: float = 0.5, training: bool = True, *, rng: Any = None,
            mask: Any = None) -> Array:
    """Each entry kept with probability 1 - p and scaled by 1/(1 - p), else 0: E[dropout(x)] = x.

    ``mask`` (boolean, input's shape, True = kept) fixes which entries are kept; without it one
    is drawn from ``rng`` (dropout_mask).  p = 1 gives zeros, as torch; training=False returns a
    copy of the input.  Pass the same mask to dropout_backward.
    """
    x, p, training = _args("dropout", input, p, training)
    if rng is not None:
        rng = _rng("dropout", rng)
    if mask is not None:
        mask = _check_mask("dropout", mask, x)
    if not training:
        return x.copy()
    if p == 1.0:
        return numpy.zeros_like(x)
    if mask is None:
        mask = dropout_mask(x.shape, p, rng=rng)
    return _rt.like(_k._dropout_forward(x, mask.astype(x.dtype), _scale(p, x)), x)


def dropout_backward(grad_output: ArrayLike, input: ArrayLike, p: float = 0.5, training: bool = True, *,
                     rng: Any = None, mask: Any = None) -> dict[str, Array]:
    """Gradient of <g, dropout(x)> given the mask the forward used: g·mask/(1 - p) (g for
    training=False, 0 for p = 1).  ``rng`` is accepted for a signature like dropout's and unused."""
    x, p, training = _args("dropout_backward", input, p, training)
    g = _rt.grad_array("dropout_backward", grad_output, x)
    if mask is not None:
        mask = _check_mask("dropout_backward", mask, x)
    if not training:
        return {"input": g.copy()}
    if p == 1.0:
        return {"input": numpy.zeros_like(x)}
    if mask is None:
        raise _rt.NNRefError("dropout_backward: mask: expected the boolean mask the forward pass used (draw one"
                             " with nnref.dropout_mask and pass it to both), got None")
    return {"input": _rt.like(_k._dropout_vjp(g, mask.astype(x.dtype), _scale(p, x))["input"], x)}


def _penalty_args(op: str, param: Any, weight_decay: Any) -> tuple[Array, float]:
    theta = _rt.float_array(op, "param", param)
    return theta, _rt.check_float(op, "weight_decay", weight_decay, {"lo": 0.0})


def l2_penalty(param: ArrayLike, weight_decay: float = 0.0) -> Array:
    """weight_decay/2 · Σ param², a 0-d array of param's dtype (summed in float64)."""
    theta, lam = _penalty_args("l2_penalty", param, weight_decay)
    terms = _k._l2_penalty_forward(theta.astype(numpy.float64), lam)
    return _rt.like(numpy.sum(terms), theta, ())


def l2_penalty_backward(grad_output: ArrayLike, param: ArrayLike, weight_decay: float = 0.0) -> dict[str, Array]:
    """Gradient of g·l2_penalty(θ): g·weight_decay·θ (SGD's weight_decay term, for g = 1)."""
    theta, lam = _penalty_args("l2_penalty_backward", param, weight_decay)
    g = _rt.grad_array("l2_penalty_backward", grad_output, theta, ())
    grad = _k._l2_penalty_vjp(g.astype(numpy.float64), theta.astype(numpy.float64), lam)["param"]
    return {"param": _rt.like(grad, theta)}
