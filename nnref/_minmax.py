"""numpy.maximum and numpy.minimum against a scalar, at the speed of two arrays.

NumPy 2.4's SIMD loops for maximum and minimum take two arrays; with a scalar operand (relu's
0, hardtanh's bounds) the loop runs entry by entry: 21 us against 5 us on 2^16 float32 entries,
32 us against 13 in float64 (AMD EPYC, AVX-512).  ``maximum(a, b)`` hands NumPy the scalar as a
read-only array of the other operand's shape and of the call's result dtype, cut from a cached
block of copies: the same comparison of the same numbers.  The printer calls these only for
the choice-free forms of ``derivations/codegen/minmax.py``, whose proofs rule out ties of
opposite zeros (the one comparison whose answer may depend on the loop); NaN propagates as
through NumPy's loops.  Arrays of MIN to BLOCK entries take this path (the blocked kernels call
theirs on blocks, or below POINTWISE_MIN on the whole); smaller ones, larger ones, float
scalars wider than float64 (the cache's key is a float64) and anything but an array beside a
scalar go to NumPy as they are.

Owns: ``maximum``, ``minimum`` and their constant blocks.  Imports: NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy

BLOCK = 2**17  # _runtime.POINTWISE_MIN: no larger array reaches a kernel whole (tested)
MIN = 2**12  # below, the lookup costs more than the scalar loop loses (~1 us)
_CONSTANTS: dict[tuple[Any, ...], Any] = {}
_KEEP = 64  # constant blocks kept (a kernel's few parameters in a few dtypes)
_NARROW = (numpy.float16, numpy.float32, numpy.float64)


def _as_array(a: Any, b: Any) -> tuple[Any, Any]:
    """(a, b) with a scalar beside an array of MIN to BLOCK entries replaced by an array of that
    shape holding it in the result dtype of numpy.maximum(a, b); else (a, b) unchanged."""
    a_arr, b_arr = isinstance(a, numpy.ndarray) and a.ndim > 0, isinstance(b, numpy.ndarray) and b.ndim > 0
    if a_arr == b_arr:
        return a, b
    arr, scalar = (a, b) if a_arr else (b, a)
    if not MIN <= arr.size <= BLOCK or arr.dtype.type not in _NARROW:
        return a, b
    if isinstance(scalar, (numpy.ndarray, numpy.number)):
        if scalar.dtype.type not in _NARROW:
            return a, b
    elif not isinstance(scalar, (int, float)) or (isinstance(scalar, int) and abs(scalar) > 2**53):
        return a, b  # a Python int beyond 2^53 is not the float64 in the key
    # the scalar's kind (a Python number is weak, NEP 50) and its value, -0.0 and NaN apart
    key = (arr.dtype.char, getattr(scalar, "dtype", type(scalar)), float(scalar).hex())
    block = _CONSTANTS.get(key)
    if block is None or block.size < arr.size:
        dtype = numpy.result_type(a, b)
        with numpy.errstate(all="ignore"):  # a Python float beyond float32 becomes inf, as NumPy casts it
            value = numpy.asarray(scalar).astype(dtype)
        if len(_CONSTANTS) >= _KEEP:
            _CONSTANTS.clear()
        # as large as the array asks (a power of two), not a whole BLOCK for every new scalar
        block = numpy.full(min(BLOCK, 1 << (arr.size - 1).bit_length()), value, dtype=dtype)
        block.flags.writeable = False
        _CONSTANTS[key] = block
    spread = block[:arr.size].reshape(arr.shape)
    return (arr, spread) if a_arr else (spread, arr)


def maximum(a: Any, b: Any, out: Any = None) -> Any:
    """numpy.maximum(a, b, out=out), the same numbers."""
    return numpy.maximum(*_as_array(a, b), out=out)


def minimum(a: Any, b: Any, out: Any = None) -> Any:
    """numpy.minimum(a, b, out=out), the same numbers."""
    return numpy.minimum(*_as_array(a, b), out=out)
