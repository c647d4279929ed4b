"""Argument checking and the few structural helpers the generated engine calls.

Everything mathematical is in the generated modules; this file only validates input,
casts, and reduces.  Error messages name the op, the argument, what was expected and
what was given.

Owns: ``NNRefError``, argument checks, reductions' plumbing, the precision a kernel runs in
(``wide``, ``ext``).  Imports: NumPy, ``._special`` and ``._minmax`` (re-exported for the kernels).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy
from numpy.typing import NDArray

from ._minmax import maximum, minimum  # noqa: F401 - the kernels call them (and the below) as _rt.*
from ._special import caller_dtype, erf, erfc, ncdf, npdf, sigmoid_slope, x_minus_tanh  # noqa: F401

FLOAT_DTYPES = (numpy.float16, numpy.float32, numpy.float64)
REDUCTIONS = ("none", "mean", "sum")
INT64_MAX = 2**63 - 1


class NNRefError(ValueError):
    """Bad input to an nnref op.  A ValueError, so code written for torch's checks still catches it."""


def quiet() -> Any:
    # A branch not selected may overflow (e^1000 kept for x < 0); tests prove the selected one finite.
    return numpy.errstate(all="ignore")


def pw(arrays: tuple[Any, ...], conds: tuple[Any, ...], branches: tuple[Any, ...]) -> Any:
    """A piecewise formula evaluated branch by branch on the elements that select it: the
    first true condition wins, NaN where none holds (as numpy.select).  ``branches`` are
    functions of ``arrays`` (broadcast together first), called with the selected elements."""
    arrays = numpy.broadcast_arrays(*(numpy.asarray(a) for a in arrays))
    shape = arrays[0].shape
    dtype = numpy.result_type(*arrays, numpy.float64)
    out = numpy.full(shape, numpy.nan, dtype=dtype)
    rest = numpy.ones(shape, dtype=bool)
    for cond, branch in zip(conds, branches):
        take = rest if cond is True else rest & numpy.broadcast_to(cond, shape)
        if take.all():
            out[...] = branch(*arrays)
            break
        if take.any():
            out[take] = branch(*(a[take] for a in arrays))
        if cond is True:
            break
        rest &= ~take
    return out


# unsigned integers of each float's width, for choosing by bit masks
_BITS = {numpy.dtype(numpy.float64): numpy.uint64, numpy.dtype(numpy.float32): numpy.uint32,
         numpy.dtype(numpy.float16): numpy.uint16}


def where(cond: Any, a: Any, b: Any, out: Any = None) -> Any:
    """numpy.where(cond, a, b), the same bits (into ``out`` when given).  A float64, float32 or
    float16 choice is made on bit patterns, b ^ ((a ^ b) & mask): numpy.where branches per entry,
    and on mixed signs mispredicts, ~3.7 ns an entry against ~1.4 ns (2^16 float64, AVX2 EPYC).
    Anything else (scalars, other dtypes) goes to numpy.where."""
    dtype = numpy.result_type(a, b)
    uint = _BITS.get(dtype) if isinstance(cond, numpy.ndarray) and cond.dtype == numpy.bool_ and cond.ndim else None
    if uint is None:
        res = numpy.where(cond, a, b)
        if out is None:
            return res
        out[...] = res
        return out
    bits_a = numpy.asarray(a, dtype=dtype).view(uint)
    bits_b = numpy.asarray(b, dtype=dtype).view(uint)
    mask = cond.astype(uint)
    numpy.negative(mask, out=mask)  # 1 -> all ones (two's complement), 0 stays 0
    bits = numpy.bitwise_xor(bits_a, bits_b)
    bits = numpy.bitwise_and(bits, mask, out=bits if bits.shape == mask.shape else None)
    own = out is not None and out.dtype == dtype and out.shape == bits.shape
    res = numpy.bitwise_xor(bits, bits_b, out=out.view(uint) if own else bits).view(dtype)
    if out is None or own:
        return out if own else res
    out[...] = res
    return out


def slot(out: Any, key: str) -> Any:
    """The output array a kernel writes ``key``'s result into (None: a new array)."""
    return None if out is None else out[key]


def table(conds: tuple[Any, ...], values: tuple[float, ...], like: Any = None) -> Any:
    """A piecewise constant: values[i] where conds[i] is the first true condition, values[-1]
    where none is, as float64 (but see ``like``).  No per-element branch: for each value but one
    the mask where it is chosen (one bool operation per condition), then one conversion of a
    mask (two values, one of them 0) or bit-mask choices between the constants (``where``).
    Plain Python, as it runs per block (NumPy's scalar checks cost 54 us a call).  ``like``: the
    array the printer multiplies the table by, its only use (``into``).  A lone 0/1 mask then
    stays bools, converted on the fly by the product, and constants exact in like's float32 (or
    float16) are made in it: the float64 product of two such numbers is exact, so rounding it
    once gives the narrow product's bits, at half the traffic."""
    if not all(isinstance(v, (int, float, numpy.integer, numpy.floating)) and math.isfinite(v) for v in values):
        return numpy.select(list(conds), list(values[:-1]), values[-1])  # inf·False would be NaN
    arrays = [numpy.asarray(c, dtype=bool) for c in conds]
    shape = arrays[0].shape
    if any(c.shape != shape for c in arrays):
        arrays = list(numpy.broadcast_arrays(*arrays))
        shape = arrays[0].shape
    keys = [_key(v) for v in values]  # told apart by their bits: -0.0 == 0.0 must not merge them
    distinct = list(dict.fromkeys(keys))
    kind = numpy.dtype(numpy.float64) if like is None else numpy.asarray(like).dtype
    narrow = kind.kind == "f" and kind.itemsize < 8
    exact = narrow and all(abs(v) <= float(numpy.finfo(kind).max) and float(kind.type(v)) == v for v in values)
    dtype = kind if exact else numpy.dtype(numpy.float64)
    if len(distinct) == 1:
        return numpy.full(shape, distinct[0][0], dtype=dtype)
    # +0 is the background where it is a value (the other's mask then needs no choice), else the last
    background = _key(0.0) if _key(0.0) in distinct else keys[-1]
    masks = {k: _chosen(arrays, keys, k, shape) for k in distinct if k != background}
    if len(masks) == 1 and background == _key(0.0):
        (((value, sign), mask),) = masks.items()
        if value == 1:
            return mask if like is not None else mask.astype(numpy.float64)
        if sign > 0:  # False * value is +0.0 only for a value whose sign bit is clear
            return numpy.multiply(mask, dtype.type(value))
    out: Any = numpy.full(shape, background[0], dtype=dtype)
    for (value, _), mask in masks.items():
        out = where(mask, value, out, out=out)
    return out


def _key(v: Any) -> tuple[float, float]:
    return float(v), math.copysign(1.0, float(v))


def _chosen(conds: list[Any], values: list[tuple[float, float]], value: tuple[float, float],
            shape: tuple[int, ...]) -> Any:
    """Where ``value`` is the one chosen: built from the last condition back ("first true
    condition wins" read backwards is each condition overriding what follows it)."""
    chosen: Any = bool(values[-1] == value)
    for cond, v in zip(conds[::-1], values[-2::-1]):
        if isinstance(chosen, bool):
            # (an array even for 0-d masks, where ~ gives a NumPy scalar that out= cannot take)
            chosen = chosen if (v == value) == chosen else numpy.array(cond if v == value else ~cond)
        elif v == value:
            numpy.logical_or(chosen, cond, out=chosen)
        else:
            numpy.greater(chosen, cond, out=chosen)  # chosen and not cond
    return numpy.full(shape, chosen) if isinstance(chosen, bool) else chosen


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
    if not arr.dtype.isnative:
        # Same numbers in the other byte order (read from a big-endian file): taken in native order,
        # as torch.from_numpy takes them, so the dtype checks compare numbers, not byte orders.
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def label_array(op: str, name: str, value: Any) -> NDArray[Any]:
    """An array of labels (class indices, ±1): anything NumPy reads as one rectangular numeric array."""
    if value is None:
        raise NNRefError(f"{op}: {name}: expected an array of labels, got None")
    try:
        arr = numpy.asarray(value)
    except Exception as exc:  # noqa: BLE001 - a ragged list, or an object NumPy cannot take
        raise NNRefError(f"{op}: {name}: expected a rectangular array of labels, got {_describe(value)}") from exc
    if arr.dtype.kind not in "iuf" and not (arr.dtype.kind == "b" and arr.size == 0):
        raise NNRefError(f"{op}: {name}: expected a numeric array of labels, got dtype {arr.dtype}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def memory_bytes() -> int:
    """Physical memory of this machine (2^48 where the system does not say): no array larger
    than it can be computed, so a size beyond it is refused before anything is allocated."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 2**48


def check_size(op: str, name: str, shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Refuse an array of ``shape`` that memory cannot hold with the kernels' temporaries (each
    about its size, a few at a time: a quarter of the memory is the most one array may take),
    naming the argument that asked for it, before anything is allocated."""
    total = math.prod(int(n) for n in shape) * itemsize
    most = memory_bytes() // 4
    if total > most:
        raise NNRefError(f"{op}: {name}: {what} would have shape {tuple(shape)}, {total:.3g} bytes, more than a"
                         f" quarter of this machine's memory ({most:.3g} bytes) leaves for it; expected a smaller"
                         f" {name}")


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


class _HugeReal(float):
    """A float parameter so large that its square overflows (|v| > 2^511).  The generated kernels
    raise such a parameter to a power in Python (gaussian_nll_loss: eps**2), where float's ** raises
    OverflowError; this one gives ±inf or 0 there, as NumPy's power does.  NumPy takes a float
    subclass as a float64 array would be taken, not as a weak Python scalar, so a float32 input
    computes the terms holding the parameter in float64: the results are cast back to input's dtype
    (``like``), and a parameter beyond float32's range is infinite there anyway."""

    def __pow__(self, other: Any, mod: Any = None) -> Any:
        with numpy.errstate(all="ignore"):
            return float(numpy.power(float(self), float(other)))

    def __rpow__(self, other: Any, mod: Any = None) -> Any:
        with numpy.errstate(all="ignore"):
            return float(numpy.power(float(other), float(self)))


def check_float(op: str, name: str, value: Any, domain: dict[str, Any] | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)):
        raise NNRefError(f"{op}: {name}: expected a real number, got {_describe(value)}")
    try:
        v = float(value)
    except OverflowError:
        raise NNRefError(f"{op}: {name}: expected a real number within float64's range (|value| < 1.8e308),"
                         f" got an int of {len(str(abs(int(value))))} digits") from None
    if math.isnan(v):
        raise NNRefError(f"{op}: {name}: expected a real number, got nan")
    if domain:
        lo, hi = domain.get("lo"), domain.get("hi")
        bad = (lo is not None and (v < lo or (domain.get("lo_open") and v == lo))) or \
              (hi is not None and (v > hi or (domain.get("hi_open") and v == hi))) or \
              v in domain.get("exclude", ())
        if bad:
            raise NNRefError(f"{op}: {name}: expected a value in {describe_domain(domain)}, got {v!r}")
    return _HugeReal(v) if abs(v) > 2.0**511 else v


def describe_domain(domain: dict[str, Any]) -> str:
    if "exclude" in domain:
        return "the reals except " + ", ".join(repr(v) for v in domain["exclude"])
    lo, hi = domain.get("lo"), domain.get("hi")
    left = "(" if lo is None or domain.get("lo_open") else "["
    right = ")" if hi is None or domain.get("hi_open") else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def check_relation(op: str, name: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise NNRefError(f"{op}: {name}: expected {expected}, got {value!r}")


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


def int_tuple(op: str, name: str, value: Any, dims: int, low: int, none_ok: bool = False) -> tuple[Any, ...]:
    """An int or a tuple of ``dims`` ints, each >= low, as a tuple (the per-axis arguments of
    convolution and pooling); with ``none_ok``, None entries pass through (adaptive sizes)."""
    def ok(v: Any) -> bool:
        return (isinstance(v, (int, numpy.integer)) and not isinstance(v, bool)) or (none_ok and v is None)

    tup = "an int or a tuple of " + ("1 int" if dims == 1 else f"{dims} ints")
    if value is not None and ok(value):
        values: tuple[Any, ...] = (int(value),) * dims
    elif isinstance(value, (tuple, list)) and len(value) == dims and all(ok(v) for v in value):
        values = tuple(None if v is None else int(v) for v in value)
    else:
        extra = " (None keeps that axis)" if none_ok else ""
        raise NNRefError(f"{op}: {name}: expected {tup}{extra}, got {value!r}")
    if any(v is not None and v < low for v in values):
        raise NNRefError(f"{op}: {name}: expected every entry >= {low}, got {value!r}")
    if any(v is not None and v > INT64_MAX for v in values):
        # torch takes these as int64; beyond that no size or index is meaningful
        raise NNRefError(f"{op}: {name}: expected every entry <= 2**63 - 1 (an int64), got {value!r}")
    return values


# Exact constants of the kernels, in extended precision (the printer writes p/q as L(p)/q).
L = numpy.longdouble
PI = numpy.longdouble("3.14159265358979323846264338327950288")
E = numpy.longdouble("2.71828182845904523536028747135266250")


def wide(a: Any) -> Any:
    """float32 (or float16) as float64, for the pointwise kernels: their float64 result is then
    rounded once to the input's dtype by ``like``.  float64 passes through, uncopied."""
    if isinstance(a, numpy.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize < 8:
        return a.astype(numpy.float64)
    return a


def native(a: Any) -> Any:
    """The array as it is, for the kernels that round at most once (the generator's
    ``rounds_once``): in float32 they give the float64 result rounded to float32, bit for bit."""
    return a


def in_dtype(value: Any, ref: NDArray[Any]) -> Any:
    """A float parameter as the input's dtype holds it (a float32 call rounds threshold or
    negative_slope to float32, as torch does with a Python scalar), as a Python float."""
    if isinstance(value, float) and ref.dtype.kind == "f" and ref.dtype.itemsize < 8:
        with numpy.errstate(over="ignore"):
            return float(ref.dtype.type(value))
    return value


def scalar(value: Any, ref: Any) -> Any:
    """A scalar parameter as a ufunc takes it beside the array ``ref``: a Python float in ref's
    dtype (NEP 50), so a float32 kernel's test reads the slope it multiplies by (a positive
    float64 below float32's smallest subnormal is 0 there).  For the generated kernels' run-time
    choice of a choice-free form (``derivations/codegen/minmax.py``)."""
    return numpy.result_type(ref, value).type(value)


def ext(a: Any) -> Any:
    """Like ``wide``, and float64 as x86's extended precision (numpy.longdouble: a 64-bit
    significand and a 15-bit exponent), for the kernels with elementary functions: 11 more
    bits absorb their chains of roundings, and the wider exponent the underflow of e^x below
    x = −708 where x·e^x is still a float64 number; ``like`` rounds the result once."""
    if isinstance(a, numpy.ndarray) and a.dtype.kind == "f":
        return a.astype(numpy.longdouble if a.dtype.itemsize == 8 else numpy.float64)
    return a


def like(value: Any, ref: NDArray[Any], shape: tuple[int, ...] | None = None) -> NDArray[Any]:
    """The result as an ndarray of the reference's dtype (and of ``shape``, default the reference's).
    A float64 result beyond a float32's range rounds to its infinity, as IEEE rounding does."""
    arr = numpy.asarray(value)
    target = ref.shape if shape is None else shape
    if arr.shape != target:
        arr = numpy.broadcast_to(arr, target)
    with numpy.errstate(over="ignore"):
        return numpy.array(arr, dtype=ref.dtype, copy=True)


def grad_array(op: str, grad_output: Any, ref: NDArray[Any], shape: tuple[int, ...] | None = None) -> NDArray[Any]:
    g = float_array(op, "grad_output", grad_output)
    expected = ref.shape if shape is None else shape
    if g.shape != expected:
        raise NNRefError(f"{op}: grad_output: expected shape {expected} (the output's shape), got {g.shape}")
    return g.astype(ref.dtype, copy=False)


def check_reduction(op: str, reduction: Any, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    check_choice(op, "reduction", reduction, allowed)


def _loss_weight(op: str, weight: Any, ref: NDArray[Any], layout: str = "elementwise") -> NDArray[Any] | None:
    if weight is None:
        return None
    w = float_array(op, "weight", weight)
    if w.dtype != ref.dtype:
        # One rule for every loss (cross_entropy and nll_loss too): all arrays share input's dtype.
        raise NNRefError(f"{op}: weight: expected dtype {ref.dtype} (the dtype of input), got {w.dtype}")
    if layout == "broadcast":
        if not _broadcasts_to(w.shape, ref.shape):
            raise NNRefError(f"{op}: weight: expected a shape that broadcasts to {ref.shape} (the shape"
                             f" of input), got {w.shape}")
        return numpy.broadcast_to(w.astype(ref.dtype, copy=False), ref.shape)
    if w.shape != ref.shape:
        raise NNRefError(f"{op}: weight: expected shape {ref.shape} (the shape of input), got {w.shape}")
    return w.astype(ref.dtype, copy=False)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without enlarging it."""
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def _batch(ref: NDArray[Any]) -> int:
    # 'batchmean' divides by input.shape[0]; torch divides by nothing for a 0-d input.
    return ref.shape[0] if ref.ndim else 1


def accumulator(dtype: Any) -> Any:
    """The dtype sums are taken in: float16 sums and element counts overflow at 65504, so
    they accumulate in float64 (results are cast back); float32 and float64 keep their own,
    as torch's CPU reductions do."""
    return numpy.float64 if numpy.dtype(dtype) == numpy.float16 else numpy.dtype(dtype).type


def reduce_loss(op: str, losses: Any, ref: NDArray[Any], reduction: str, weight: Any = None,
                weight_mean: str = "numel", reductions: tuple[str, ...] = REDUCTIONS,
                weight_layout: str = "elementwise") -> NDArray[Any]:
    """Combine elementwise losses: 'none' keeps them, 'sum' adds them, 'mean' divides the
    sum by the element count (or, for losses that say so, by the sum of the weights),
    'batchmean' (kl_div) divides the sum by input.shape[0]."""
    check_reduction(op, reduction, reductions)
    w = _loss_weight(op, weight, ref, weight_layout)
    with numpy.errstate(over="ignore"):  # a float64 loss beyond float32's range is inf there
        values = numpy.asarray(losses, dtype=accumulator(ref.dtype))
    if values.shape != ref.shape:
        values = numpy.broadcast_to(values, ref.shape)
    out: Any
    with quiet():  # a weighted loss may overflow to inf, as the same product does in torch
        if w is not None:
            values = values * w
        if reduction == "none":
            out = values
        elif reduction == "sum":
            out = numpy.sum(values)
        elif reduction == "batchmean":
            out = numpy.sum(values) / _batch(ref)
        elif w is not None and weight_mean == "weight_sum":
            out = numpy.sum(values) / numpy.sum(w)
        else:
            out = numpy.sum(values) / values.size if values.size else numpy.float64("nan")
    return like(out, ref, numpy.shape(out))


def unreduce_grad(op: str, grad_output: Any, ref: NDArray[Any], reduction: str, weight: Any = None,
                  weight_mean: str = "numel", reductions: tuple[str, ...] = REDUCTIONS,
                  weight_layout: str = "elementwise") -> NDArray[Any]:
    """The upstream gradient of each elementwise loss term (the adjoint of reduce_loss)."""
    check_reduction(op, reduction, reductions)
    w = _loss_weight(op, weight, ref, weight_layout)
    g = grad_array(op, grad_output, ref, ref.shape if reduction == "none" else ()).astype(accumulator(ref.dtype))
    with quiet():
        if reduction == "none":
            per = g
        elif reduction == "sum":
            per = numpy.broadcast_to(g, ref.shape)
        elif reduction == "batchmean":
            per = numpy.broadcast_to(g / _batch(ref), ref.shape)
        elif w is not None and weight_mean == "weight_sum":
            per = numpy.broadcast_to(g / numpy.sum(w), ref.shape)
        else:
            per = numpy.broadcast_to(g / ref.size if ref.size else g, ref.shape)
        if w is not None:
            per = per * w
    per = numpy.asarray(per)
    if per.ndim and per.size and not any(per.strides):
        # one value broadcast: rounded to ref's dtype once, not copied into a whole array
        return numpy.broadcast_to(numpy.asarray(per[(0,) * per.ndim], dtype=ref.dtype), ref.shape)
    return numpy.asarray(per, dtype=ref.dtype)


def loss_weight_grad(op: str, grad_output: Any, losses: Any, ref: NDArray[Any], reduction: str,
                     weight: Any, weight_mean: str = "numel",
                     weight_layout: str = "elementwise") -> NDArray[Any]:
    """d/dweight of the reduced weighted loss, for losses whose weight torch differentiates.

    With l the elementwise losses: 'none' gives g·l, 'sum' g·l, 'mean' g·l/N, and the
    weighted mean sum(l·w)/sum(w) gives g·l/S - g·sum(l·w)/S², in the order torch's
    autograd evaluates it (the quotient rule of torch's division)."""
    w = _loss_weight(op, weight, ref, weight_layout)
    assert w is not None
    g = grad_array(op, grad_output, ref, ref.shape if reduction == "none" else ()).astype(accumulator(ref.dtype))
    values = numpy.broadcast_to(numpy.asarray(losses, dtype=accumulator(ref.dtype)), ref.shape)
    with quiet():
        if reduction in ("none", "sum"):
            out = g * values
        elif reduction == "batchmean":
            out = (g / _batch(ref)) * values
        elif weight_mean == "weight_sum":
            total = numpy.sum(w)
            out = (g / total) * values + (-g * numpy.sum(values * w) / (total * total))
        else:
            out = (g / ref.size) * values if ref.size else values.copy()
    return unbroadcast(out, ref, numpy.shape(weight), numpy.shape(weight))


def broadcast_arg(op: str, name: str, value: Any, ref: NDArray[Any], layout: str,
                  default: float | None = None) -> NDArray[Any]:
    """An array argument that broadcasts to ``ref`` (layouts 'broadcast' and 'var'),
    viewed so NumPy broadcasting lines it up; None means ``default`` where there is one,
    and a Python number is taken in ref's dtype."""
    if value is None and default is not None:
        return numpy.asarray(default, dtype=ref.dtype)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return numpy.asarray(check_float(op, name, value, None), dtype=ref.dtype)
    arr = float_array(op, name, value)
    if arr.dtype != ref.dtype:
        raise NNRefError(f"{op}: {name}: expected dtype {ref.dtype} (the dtype of input), got {arr.dtype}")
    if layout == "var":
        # gaussian_nll_loss: same shape; input's shape without its last dim (unsqueezed);
        # or the same ndim with exactly one dim of size 1 where input's differs.
        if arr.shape == ref.shape:
            return arr
        if arr.shape == ref.shape[:-1]:
            return arr.reshape(arr.shape + (1,))
        mismatched = [(a, r) for a, r in zip(arr.shape, ref.shape) if a != r]
        if arr.ndim == ref.ndim and len(mismatched) == 1 and mismatched[0][0] == 1:
            return arr
        raise NNRefError(f"{op}: {name}: expected shape {ref.shape} (the shape of input), {ref.shape[:-1]}"
                         f" (without its last dim), or that shape with one dim set to 1; got {arr.shape}")
    if not _broadcasts_to(arr.shape, ref.shape):
        raise NNRefError(f"{op}: {name}: expected a shape that broadcasts to {ref.shape} (the shape of"
                         f" input), got {arr.shape}")
    return arr


def unbroadcast(grad: Any, ref: NDArray[Any], view: tuple[int, ...], shape: tuple[int, ...]) -> NDArray[Any]:
    """Sum a gradient of ref's shape back over the axes a broadcast argument was stretched
    along (``view``: its shape as broadcast_arg returned it), then to its own ``shape``."""
    g = numpy.broadcast_to(numpy.asarray(grad), ref.shape)
    lead = g.ndim - len(view)
    if lead > 0:
        g = numpy.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(view) if n == 1 and g.shape[i] != 1)
    if axes:
        g = numpy.sum(g, axis=axes, keepdims=True)
    with numpy.errstate(over="ignore"):
        return numpy.array(g, dtype=ref.dtype).reshape(shape)


def check_domain(op: str, name: str, arr: NDArray[Any], domain: dict[str, Any], nan_ok: bool = False) -> None:
    """Raise, naming the argument, where an element lies outside ``domain`` (torch raises too)."""
    lo, hi = domain.get("lo"), domain.get("hi")
    with quiet():
        ok = numpy.ones(arr.shape, dtype=bool)
        if lo is not None:
            ok &= (arr > lo) if domain.get("lo_open") else (arr >= lo)
        if hi is not None:
            ok &= (arr < hi) if domain.get("hi_open") else (arr <= hi)
        if nan_ok:
            ok |= numpy.isnan(arr)
    if not ok.all():
        where = tuple(int(i) for i in numpy.argwhere(~ok)[0])
        raise NNRefError(f"{op}: {name}: expected every element in {describe_domain(domain)}, got"
                         f" {arr[where].item()!r} at index {where}")


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
    with numpy.errstate(over="ignore"):
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


# glibc's malloc maps blocks of at least its mmap threshold (128 KiB, rising up to 32 MiB to the
# size of each larger mapped block freed) and trims its heap's top beyond twice that.  A call's
# temporaries (several MiB) would be faulted in afresh on every call (~4 us per 4 KiB page on
# this VM: 4000 faults in a 45 ms float64 conv2d forward + backward).  So before its first call
# of a size a kernel allocates one block as large as a call's working set and frees it untouched:
# glibc then keeps that much for reuse.  (With fixed thresholds or another allocator, nothing.)
HEAP_HINT_LIMIT = 31 * 2**20  # glibc raises its threshold for freed blocks of at most 32 MiB
_heap_hint = 0


def hint_heap(nbytes: int) -> None:
    """Let the allocator keep about ``nbytes`` (at most HEAP_HINT_LIMIT) for reuse (see above)."""
    global _heap_hint
    nbytes = min(int(nbytes), HEAP_HINT_LIMIT)
    if nbytes > _heap_hint:
        _heap_hint = nbytes
        numpy.empty(nbytes, dtype=numpy.uint8)


# ----------------------------------------------------------------------------- pointwise blocks

# A pointwise kernel is a chain of NumPy passes, each over the whole array: on 1e6 float64
# entries every temporary is 8 MB and each pass streams through main memory, ~1 ms where one over
# cached data takes ~0.2 ms.  ``blocked`` runs the kernel on blocks of POINTWISE_BLOCK entries,
# whose temporaries stay in the cache, spread over threads (NumPy releases the GIL in its
# loops).  An elementwise formula gives each entry the same operations in any block: the same
# bits for any block size or thread count (tests/test_pointwise_blocks.py).  On 2 cores (AMD
# EPYC), 1e6 float64 entries, sigmoid and relu ran 2-4x faster in blocks of 2^16 and 2^18
# entries than in one call; 2^12 lost it to NumPy's ~1 us a call.
POINTWISE_BLOCK = 2**16
POINTWISE_MIN = 2**17  # entries below which one call on the whole is faster
_EXECUTOR: Any = None
# Threads pay for all but the cheapest kernels: timed warm and without torch's spinning OpenMP
# workers beside them (benchmarks/turns.py), two threads took 0.62-0.96 of one's time for 16 of
# 20 op/dtype pairs (relu6, huber_loss, ..., fwd + bwd, 1e6 entries, 2 cores), 0.99-1.04 for
# float64 smooth_l1_loss, mse_loss and hardswish, 1.16 for float32 relu (~0.5 ns an entry).
# So a kernel's second large call (the first warms pages and caches) times its first block, and
# its blocks use threads from then on only above SLOW_BLOCK_NS an entry; the same bits.
SLOW_BLOCK_NS = 1.0
_SPREAD: dict[Any, bool | None] = {}  # kernel key -> threads or not; None: seen once, not timed


def threads() -> int:
    """Threads for the blocked kernels (pooling, pointwise): NNREF_NUM_THREADS, else the CPUs
    this process may use (at most 8)."""
    env = os.environ.get("NNREF_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise NNRefError(f"NNREF_NUM_THREADS: expected a positive int (worker threads), got {env!r}") from None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 8))


def _forget_executor() -> None:
    # A forked child inherits the pool object but none of its threads: a map on it would hang.
    global _EXECUTOR
    _EXECUTOR = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


def parallel_map(call: Any, items: list[Any]) -> list[Any]:
    """[call(item) for item in items] in up to ``threads()`` threads, the caller running the first."""
    global _EXECUTOR
    workers = min(threads(), len(items))
    if workers <= 1:
        return [call(item) for item in items]
    if _EXECUTOR is None or _EXECUTOR._max_workers < workers - 1:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="nnref")
    rest: list[Any] = []
    try:  # submitting inside: a submit that fails still waits for those made
        rest.extend(_EXECUTOR.submit(call, item) for item in items[1:])
        first = call(items[0])
    finally:  # the others finish (or fail) before this returns or raises
        for f in rest:
            f.exception()
    return [first] + [f.result() for f in rest]


def blocked(kernel: Any, arrays: tuple[Any, ...], widen: Any, ref: NDArray[Any] | None = None,
            **params: Any) -> Any:
    """kernel(*map(widen, arrays), **params) (an array, or a dict of arrays), computed block by
    block when the arrays are large, share one C-contiguous shape (or are scalars), and are
    not tiny.  ``widen`` (``wide`` or ``ext``) is applied block by block too, so the widened
    copy of a float32 input never exists whole.

    With ``ref``, each result comes back as ``like(result, ref)`` would give it: a new array of
    ref's dtype and shape, rounded once.  The blocks write straight into it (no joined float64
    array, no second pass to round it: on 1e6 entries a pass is ~1-2 ms of fresh pages, as much
    as a cheap kernel).  On the blocked path the kernel is handed ``out=`` (its block of the
    result, or a dict of them by key, ``slot``), into which the generated kernels' last step
    writes; a result that is not that array is copied there."""
    arrs = [numpy.asarray(a) for a in arrays]
    shape = numpy.broadcast_shapes(*(a.shape for a in arrs))
    size = int(numpy.prod(shape))
    # One value broadcast over the shape (a mean loss's upstream gradient) enters as that value,
    # not as a zero-stride view, which would send the call down the unblocked path.
    arrs = [a[(0,) * a.ndim][()] if a.ndim and a.size and not any(a.strides) else a for a in arrs]
    arrs = [numpy.asarray(a) for a in arrs]
    arrays = tuple(arrs)
    # the special functions' precision follows the result's dtype (caller_dtype, on each thread)
    target = ref.dtype if ref is not None else None
    inner = kernel

    def run_kernel(*a: Any, **k: Any) -> Any:
        with caller_dtype(target):
            return inner(*a, **k)

    kernel = run_kernel

    if size < POINTWISE_MIN or any(a.ndim and (a.shape != shape or not a.flags.c_contiguous) for a in arrs):
        whole = kernel(*(widen(a) for a in arrays), **params)
        if ref is None:
            return whole
        return {k: like(v, ref) for k, v in whole.items()} if isinstance(whole, dict) else like(whole, ref)
    flats = [a.reshape(-1) if a.ndim else a for a in arrs]
    step = POINTWISE_BLOCK
    starts = list(range(0, size, step))
    outs: dict[Any, NDArray[Any]] = {}
    # the outputs and a block's temporaries (a dozen of them per thread) from reused pages
    hint_heap(16 * size + 12 * 16 * step * threads())

    def run(span: tuple[int, int]) -> None:
        for start in range(span[0], span[1], step):
            dest = {k: o[start:start + step] for k, o in outs.items()}
            part = kernel(*(widen(f[start:start + step]) if f.ndim else f for f in flats),
                          out=dest if keyed else dest[None], **params)
            parts = part if keyed else {None: part}
            with numpy.errstate(over="ignore"):  # a float64 value beyond float32 rounds to its infinity
                for k, v in parts.items():
                    if v is not dest[k]:  # the kernel's last step did not write into it
                        dest[k][...] = v

    probe = kernel(*(widen(f[:1]) if f.ndim else f for f in flats), **params)
    keyed = isinstance(probe, dict)
    keys = list(probe) if keyed else [None]
    for k in keys:
        v = probe[k] if isinstance(probe, dict) else probe
        dtype = ref.dtype if ref is not None else numpy.result_type(numpy.asarray(v).dtype, numpy.float64)
        outs[k] = numpy.empty(size, dtype=dtype)
    workers = min(threads(), len(starts))
    key = (inner, widen, target, tuple(str(f.dtype) for f in flats))
    spread = workers > 1 and _SPREAD.get(key, True)  # threads on a kernel's first call
    if spread is None:  # its second call: the first block alone, timed
        tick = time.perf_counter_ns()
        run((0, step))
        spread = _SPREAD[key] = (time.perf_counter_ns() - tick) / step > SLOW_BLOCK_NS
        starts = starts[1:]
    _SPREAD.setdefault(key, None)
    if spread:
        # One contiguous run of whole blocks per thread: a pool task per block cost ~20-50 us of
        # scheduling each (futures, locks, GIL hand-offs), as much as a cheap kernel's block itself.
        workers = min(workers, len(starts))
        cuts = [starts[len(starts) * i // workers] for i in range(workers)] + [size]
        parallel_map(run, list(zip(cuts[:-1], cuts[1:])))
    else:
        run((starts[0], size))
    if isinstance(probe, dict):
        return {k: outs[k].reshape(shape) for k in keys}
    return outs[None].reshape(shape)
