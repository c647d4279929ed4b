"""Argument checking and the few structural helpers the generated engine calls.

Everything mathematical is in the generated modules; this file only validates input,
casts, and reduces.  Error messages name the op, the argument, what was expected and
what was given.
"""

from __future__ import annotations

import math
from typing import Any

import numpy
from numpy.typing import NDArray

FLOAT_DTYPES = (numpy.float16, numpy.float32, numpy.float64)
REDUCTIONS = ("none", "mean", "sum")


class NNRefError(ValueError):
    """Bad input to an nnref op.  A ValueError, so code written for torch's checks still catches it."""


def quiet() -> Any:
    # numpy.select evaluates every branch of a piecewise formula on every element; a branch
    # that is not selected may overflow (e^1000 in the branch kept for x < 0).  The tests
    # prove the selected branch is finite wherever the true value is.
    return numpy.errstate(all="ignore")


_erf = numpy.vectorize(math.erf, otypes=[numpy.float64])


def erf(x: Any) -> Any:
    """Error function (NumPy has none): libm's erf per element, correctly rounded to ~1 ulp."""
    arr = numpy.asarray(x)
    return _erf(arr.astype(numpy.float64)).astype(arr.dtype) if arr.size else arr.copy()


def xlogy(x: Any, y: Any) -> Any:
    """x·log(y), defined as 0 where x == 0 (also for y == 0), as torch.xlogy does."""
    x, y = numpy.broadcast_arrays(x, y)
    return numpy.where(x == 0, numpy.zeros_like(x * y), x * numpy.log(y))


def _describe(value: Any) -> str:
    if isinstance(value, numpy.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    return f"{type(value).__name__} {value!r}"


def float_array(op: str, name: str, value: Any) -> NDArray[Any]:
    if value is None:
        raise NNRefError(f"{op}: {name}: expected a floating-point array, got None")
    try:
        arr = numpy.asarray(value)
    except Exception as exc:  # noqa: BLE001 - anything NumPy cannot take
        raise NNRefError(f"{op}: {name}: expected a floating-point array, got {_describe(value)}") from exc
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise NNRefError(f"{op}: {name}: expected a floating-point array, got {_describe(value)}")
    if arr.dtype.type not in FLOAT_DTYPES:
        raise NNRefError(f"{op}: {name}: expected a floating-point array (float16, float32 or"
                         f" float64), got dtype {arr.dtype}; convert it with .astype(numpy.float64)")
    return arr


def float_arrays(op: str, _channel: tuple[str, ...] = (), **arrays: Any) -> tuple[NDArray[Any], ...]:
    """Validate array arguments: floating dtype, one dtype for all, one shape for all
    elementwise ones (the first argument's)."""
    out = {name: float_array(op, name, value) for name, value in arrays.items()}
    names = list(out)
    first = out[names[0]]
    for name in names[1:]:
        arr = out[name]
        if arr.dtype != first.dtype:
            raise NNRefError(f"{op}: {name}: expected dtype {first.dtype} (the dtype of {names[0]}),"
                             f" got {arr.dtype}")
        if name not in _channel and arr.shape != first.shape:
            raise NNRefError(f"{op}: {name}: expected shape {first.shape} (the shape of {names[0]}),"
                             f" got {arr.shape}")
    return tuple(out.values())


def check_float(op: str, name: str, value: Any, domain: dict[str, Any] | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)):
        raise NNRefError(f"{op}: {name}: expected a real number, got {_describe(value)}")
    v = float(value)
    if math.isnan(v):
        raise NNRefError(f"{op}: {name}: expected a real number, got nan")
    if domain:
        lo, hi = domain.get("lo"), domain.get("hi")
        bad = (lo is not None and (v < lo or (domain.get("lo_open") and v == lo))) or \
              (hi is not None and (v > hi or (domain.get("hi_open") and v == hi))) or \
              v in domain.get("exclude", ())
        if bad:
            raise NNRefError(f"{op}: {name}: expected a value in {describe_domain(domain)}, got {v!r}")
    return v


def describe_domain(domain: dict[str, Any]) -> str:
    if "exclude" in domain:
        return "the reals except " + ", ".join(repr(v) for v in domain["exclude"])
    lo, hi = domain.get("lo"), domain.get("hi")
    left = "(" if lo is None or domain.get("lo_open") else "["
    right = ")" if hi is None or domain.get("hi_open") else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def check_choice(op: str, name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise NNRefError(f"{op}: {name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")


def check_bool(op: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, numpy.bool_)):
        raise NNRefError(f"{op}: {name}: expected True or False, got {_describe(value)}")
    return bool(value)


def check_int(op: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise NNRefError(f"{op}: {name}: expected an int, got {_describe(value)}")
    return int(value)


def like(value: Any, ref: NDArray[Any], shape: tuple[int, ...] | None = None) -> NDArray[Any]:
    """The result as an ndarray of the reference's dtype (and of ``shape``, default the reference's)."""
    arr = numpy.asarray(value)
    target = ref.shape if shape is None else shape
    if arr.shape != target:
        arr = numpy.broadcast_to(arr, target)
    return numpy.array(arr, dtype=ref.dtype, copy=True)


def grad_array(op: str, grad_output: Any, ref: NDArray[Any], shape: tuple[int, ...] | None = None) -> NDArray[Any]:
    g = float_array(op, "grad_output", grad_output)
    expected = ref.shape if shape is None else shape
    if g.shape != expected:
        raise NNRefError(f"{op}: grad_output: expected shape {expected} (the output's shape), got {g.shape}")
    return g.astype(ref.dtype, copy=False)


def _check_reduction(op: str, reduction: Any, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    check_choice(op, "reduction", reduction, allowed)


def _loss_weight(op: str, weight: Any, ref: NDArray[Any]) -> NDArray[Any] | None:
    if weight is None:
        return None
    w = float_array(op, "weight", weight)
    if w.shape != ref.shape:
        raise NNRefError(f"{op}: weight: expected shape {ref.shape} (the shape of input), got {w.shape}")
    return w.astype(ref.dtype, copy=False)


def reduce_loss(op: str, losses: Any, ref: NDArray[Any], reduction: str, weight: Any = None,
                weight_mean: str = "numel") -> NDArray[Any]:
    """Combine elementwise losses: 'none' keeps them, 'sum' adds them, 'mean' divides the
    sum by the element count (or, for losses that say so, by the sum of the weights)."""
    _check_reduction(op, reduction)
    w = _loss_weight(op, weight, ref)
    values = numpy.asarray(losses)
    if values.shape != ref.shape:
        values = numpy.broadcast_to(values, ref.shape)
    if w is not None:
        values = values * w
    out: Any
    with quiet():
        if reduction == "none":
            out = values
        elif reduction == "sum":
            out = numpy.sum(values)
        elif w is not None and weight_mean == "weight_sum":
            out = numpy.sum(values) / numpy.sum(w)
        else:
            out = numpy.sum(values) / values.size if values.size else numpy.float64("nan")
    return like(out, ref, numpy.shape(out))


def unreduce_grad(op: str, grad_output: Any, ref: NDArray[Any], reduction: str, weight: Any = None,
                  weight_mean: str = "numel") -> NDArray[Any]:
    """The upstream gradient of each elementwise loss term (the adjoint of reduce_loss)."""
    _check_reduction(op, reduction)
    w = _loss_weight(op, weight, ref)
    g = grad_array(op, grad_output, ref, ref.shape if reduction == "none" else ())
    with quiet():
        if reduction == "none":
            per = g
        elif reduction == "sum":
            per = numpy.broadcast_to(g, ref.shape)
        elif w is not None and weight_mean == "weight_sum":
            per = numpy.broadcast_to(g / numpy.sum(w), ref.shape)
        else:
            per = numpy.broadcast_to(g / ref.size if ref.size else g, ref.shape)
        if w is not None:
            per = per * w
    return numpy.asarray(per, dtype=ref.dtype)


def channel_broadcast(op: str, name: str, weight: NDArray[Any], ref: NDArray[Any]) -> NDArray[Any]:
    """A per-channel parameter of shape (1,) or (C,), viewed to broadcast along dim 1."""
    channels = ref.shape[1] if ref.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise NNRefError(f"{op}: {name}: expected shape (1,) or ({channels},) (the channels on dim 1"
                         f" of input, shape {ref.shape}), got {weight.shape}")
    if ref.ndim < 2:
        return weight.reshape(()) if weight.shape[0] == 1 else weight
    return weight.reshape((1, -1) + (1,) * (ref.ndim - 2))


def channel_reduce(grad: Any, ref: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    """Sum a broadcast gradient back to the per-channel parameter's shape."""
    g = numpy.broadcast_to(numpy.asarray(grad), ref.shape)
    if shape == (1,):
        return numpy.asarray(numpy.sum(g), dtype=ref.dtype).reshape(1)
    axes = tuple(i for i in range(g.ndim) if i != 1)
    return numpy.asarray(numpy.sum(g, axis=axes), dtype=ref.dtype).reshape(shape)


def contract(subscripts: str, *operands: Any) -> Any:
    """numpy.einsum, where '...' may also be summed out (numpy.einsum refuses that):
    the leading '...' axes are flattened into one named axis first."""
    inputs, _, output = subscripts.partition("->")
    if "..." in inputs and "..." not in output:
        terms = inputs.split(",")
        flat = []
        for term, op in zip(terms, operands):
            arr = numpy.asarray(op)
            if term.startswith("..."):
                rest = len(term) - 3
                lead = int(numpy.prod(arr.shape[:arr.ndim - rest]))
                arr = arr.reshape((lead,) + arr.shape[arr.ndim - rest:])
            flat.append(arr)
        subscripts = ",".join(t.replace("...", "z") for t in terms) + "->" + output
        operands = tuple(flat)
    if any(numpy.asarray(o).dtype == object for o in operands):
        return numpy.einsum(subscripts, *operands)
    return numpy.einsum(subscripts, *operands, optimize=True)


def sum_along(values: Any, axis: int) -> Any:
    return numpy.sum(values, axis=axis, keepdims=True)


def max_along(values: Any, axis: int) -> Any:
    """Maximum along an axis, kept; an empty axis gives -inf (numpy.max would raise)."""
    arr = numpy.asarray(values)
    if arr.shape[axis] == 0:
        shape = list(arr.shape)
        shape[axis] = 1
        return numpy.full(shape, -numpy.inf, dtype=arr.dtype)
    return numpy.max(arr, axis=axis, keepdims=True)
