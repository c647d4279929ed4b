"""numpy.maximum and numpy.minimum against a scalar, at the speed of two arrays.

NumPy 2.4's SIMD loops for maximum and minimum take two arrays; with a scalar operand (relu's
0, hardtanh's bounds) the loop runs entry by entry: 21 us against 5 us on 2^16 float32 entries,
32 us against 14 in float64 (AMD EPYC, AVX-512).  ``maximum(a, b)`` hands NumPy the scalar as a
read-only array of the other operand's shape and of the call's result dtype, cut from one cached
block of BLOCK copies: the same comparison of the same numbers.  The printer calls these only for
the choice-free forms of ``derivations/codegen/minmax.py``, whose proofs rule out ties of opposite
zeros (the one comparison whose answer may depend on the loop); NaN propagates as through
NumPy's loops.  Arrays of more than BLOCK entries (the blocked kernels see none) and anything
but an array beside a scalar go to NumPy as they are.

Owns: ``maximum``, ``minimum`` and their constant blocks.  Imports: NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy

BLOCK = 2**16  # _runtime.POINTWISE_BLOCK: a block's operands are no larger (tested)
_CONSTANTS: dict[tuple[Any, ...], Any] = {}
_KEEP = 64  # constant blocks kept (a kernel's few parameters in a few dtypes)


def _as_array(a: Any, b: Any) -> tuple[Any, Any]:
    """(a, b) with a scalar beside an array of at most BLOCK entries replaced by an array of
    that shape holding it in the result dtype of numpy.maximum(a, b); else (a, b) unchanged."""
    a_arr, b_arr = isinstance(a, numpy.ndarray) and a.ndim > 0, isinstance(b, numpy.ndarray) and b.ndim > 0
    if a_arr == b_arr:
        return a, b
    arr, scalar = (a, b) if a_arr else (b, a)
    if not 0 < arr.size <= BLOCK or not isinstance(scalar, (int, float, numpy.number, numpy.ndarray)):
        return a, b
    try:  # the scalar's kind (a Python number is weak, NEP 50) and its value, -0.0 and NaN apart
        key = (arr.dtype.char, getattr(scalar, "dtype", type(scalar)), float(scalar).hex())
    except (OverflowError, TypeError, ValueError):  # 10**400, a non-numeric 0-d array
        return a, b
    block = _CONSTANTS.get(key)
    if block is None:
        dtype = numpy.result_type(a, b)
        if dtype.kind != "f":
            return a, b
        with numpy.errstate(all="ignore"):  # a Python float beyond float32 becomes inf, as NumPy casts it
            value = numpy.asarray(scalar).astype(dtype)
        if len(_CONSTANTS) >= _KEEP:
            _CONSTANTS.clear()
        block = numpy.full(BLOCK, value, dtype=dtype)
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
