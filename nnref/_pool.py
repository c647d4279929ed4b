"""Public pooling functions: argument checks and plumbing around the generated kernels.

The mathematics (window indices, output sizes, divisors, adaptive bounds and the kernels)
is printed into ``_generated/pool.py`` from ``derivations/ops/pool.py``; the windows run on
``_window.py`` (the windows and the adjoint that adds the gradients back, on the
convolution's affine indices).
This module validates arguments the way torch.nn.functional does (errors name the
argument, what was expected and what was given) and handles unbatched input.

Owns: the public pooling functions and the hand-written adaptive / unpool kernels.
Imports: NumPy, ``._runtime``, ``._window``, ``._affine`` and the generated kernels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy
from numpy.typing import ArrayLike, NDArray

from . import _runtime as _rt
from . import _window as _win
from ._generated import pool as _k
from ._runtime import NNRefError

__all__ = [f"{name}{suffix}" for name in (
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "max_unpool1d", "max_unpool2d") for suffix in ("", "_backward")]

Array = NDArray[Any]
POS, KER = "ijh", "klm"


def _input(op: str, dims: int, value: Any, name: str = "input") -> tuple[Array, bool]:
    x = _rt.float_array(op, name, value)
    spatial = ", ".join(f"L{a}" for a in range(dims)) if dims > 1 else "L"
    if x.ndim not in (dims + 1, dims + 2):
        raise NNRefError(f"{op}: {name}: expected a {dims + 2}-d array (N, C, {spatial}) or a {dims + 1}-d"
                         f" unbatched one (C, {spatial}), got shape {x.shape}")
    batched = x.ndim == dims + 2
    xb = x if batched else x[numpy.newaxis]
    if any(s == 0 for s in xb.shape[1:]):
        raise NNRefError(f"{op}: {name}: expected every dimension but the batch to be non-empty, got shape {x.shape}")
    return xb, batched


def _grad(op: str, grad_output: Any, shape: tuple[int, ...], dtype: Any) -> Array:
    g = _rt.float_array(op, "grad_output", grad_output)
    if g.shape != shape:
        raise NNRefError(f"{op}: grad_output: expected shape {shape} (the output's shape), got {g.shape}")
    return g.astype(dtype, copy=False)


@dataclass
class _Window:
    """A checked windowed call: per-axis parameters and the output shape (batched)."""

    op: str
    dims: int
    x: Array  # (N, C, L...)
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    out_shape: tuple[int, ...]
    batched: bool

    def result(self, arr: Array) -> Array:
        arr = numpy.ascontiguousarray(arr, dtype=self.x.dtype) if arr.dtype.kind == "f" else arr
        return arr if self.batched else arr[0]

    def unbatch(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape if self.batched else shape[1:]


def _window(op: str, dims: int, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
            ceil_mode: Any) -> _Window:
    xb, batched = _input(op, dims, input)
    kernel = _rt.int_tuple(op, "kernel_size", kernel_size, dims, 1)
    stride_t = kernel if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else \
        _rt.int_tuple(op, "stride", stride, dims, 1)
    pad = _rt.int_tuple(op, "padding", padding, dims, 0)
    dil = _rt.int_tuple(op, "dilation", dilation, dims, 1)
    ceil = _rt.check_bool(op, "ceil_mode", ceil_mode)
    for a in range(dims):
        if pad[a] > kernel[a] // 2:
            raise NNRefError(f"{op}: padding: expected at most half of kernel_size ({kernel[a]} // 2 ="
                             f" {kernel[a] // 2}) on spatial dim {a}, got {padding!r}")
    sizes = []
    for a in range(dims):
        length = xb.shape[2 + a]
        too_wide = dil[a] * (kernel[a] - 1) + 1 > length + 2 * pad[a]  # Python ints: no int64 overflow below
        m = ((length + 2 * pad[a] - dil[a] * (kernel[a] - 1) - 1) // stride_t[a] + 1 if too_wide
             else _k.pool_out_size(length, kernel[a], stride_t[a], pad[a], dil[a], ceil))
        if m < 1:
            raise NNRefError(f"{op}: kernel_size: expected a window no larger than the padded input on spatial dim {a}:"
                             f" the dilated window spans {dil[a] * (kernel[a] - 1) + 1} (kernel {kernel[a]}, dilation"
                             f" {dil[a]}), the padded input {length + 2 * pad[a]} (size {length}, padding {pad[a]} each"
                             f" side); the output would have {m} entries")
        # A window whose taps all skip over the input (dilation larger than the input, with
        # padding) has no entry to choose: torch returns -inf and an index outside the
        # input there; nnref refuses.
        starts = numpy.arange(m) * stride_t[a] - pad[a]
        taps = starts[:, None] + dil[a] * numpy.arange(kernel[a])[None, :]
        empty = ~((taps >= 0) & (taps < length)).any(axis=1)
        if empty.any():
            i = int(numpy.argmax(empty))
            raise NNRefError(f"{op}: dilation: expected every window to read at least one input entry, but window {i}"
                             f" on spatial dim {a} reads positions {taps[i].tolist()} of an input of length {length}"
                             f" (dilation {dil[a]}, padding {pad[a]})")
        sizes.append(m)
    # One window on an axis reads s·0 + d·k − p whatever the stride, one tap d·0 − p whatever the
    # dilation: taken as 1 there, the kernels give the same bits, at a cost that follows the input
    # and the output (a stride of 1000 would otherwise split each plane into 1000² phases).
    stride_t = tuple(1 if m == 1 else st for st, m in zip(stride_t, sizes))
    dil = tuple(1 if k == 1 else d for d, k in zip(dil, kernel))
    return _Window(op, dims, xb, kernel, stride_t, pad, dil, ceil, xb.shape[:2] + tuple(sizes), batched)


# ----------------------------------------------------------------------------- planes in parallel

# Every pooling kernel treats the (N, C) planes independently, so large inputs run on blocks
# of planes, in threads (NumPy releases the GIL inside its loops), as torch runs its CPU
# pooling kernels in parallel over planes.  Each block computes exactly what the whole would,
# so the result is the same bits for any number of threads or blocks (a test checks it).  A
# block holds about BLOCK_ENTRIES entries of the largest array: every
# kernel makes a few temporaries of that size (the split copy, the wide arrays), and block
# by block they are reused from the cache instead of streaming whole-input temporaries
# through memory.  Measured on a 2-core machine for max_pool2d 3×3 / 2 / 1 float64 on
# (8, 64, 56, 56), one thread: 2^19 took 0.85× the time of 2 blocks; 2^17 and smaller lost the
# gain to per-call overhead in the backward.
PARALLEL_MIN = 2**18  # input entries below which one call on the whole is faster
BLOCK_ENTRIES = 2**19
_POOL: ThreadPoolExecutor | None = None


def threads() -> int:
    return _rt.threads()


def _blocks(shape: tuple[int, ...], parts: int) -> list[tuple[slice, slice]]:
    """(n, c) slices covering the planes of an array of ``shape`` in about ``parts`` blocks."""
    n, c = shape[0], shape[1]
    if n >= parts:
        cuts = [n * k // parts for k in range(parts + 1)]
        return [(slice(lo, hi), slice(0, c)) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]
    per = -(-parts // n)  # blocks of channels within each sample
    ccuts = [c * k // per for k in range(per + 1)]
    return [(slice(i, i + 1), slice(lo, hi)) for i in range(n) for lo, hi in zip(ccuts, ccuts[1:]) if hi > lo]


def _map_planes(call: Callable[[list[Any]], Any], arrays: list[Any]) -> Any:
    """call(arrays), or call on blocks of planes (in threads), the results written back into one
    array (or a tuple of arrays; None when the calls wrote into an output they were given)."""
    global _POOL
    workers = threads()
    first = arrays[0]
    # the input, the result and a few blocks' temporaries (the split copy, the wide arrays)
    _rt.hint_heap(3 * max(a.nbytes for a in arrays if isinstance(a, numpy.ndarray) and not a.dtype.hasobject))
    size = max(a.size for a in arrays)
    if size < PARALLEL_MIN or first.ndim < 3:
        return call(arrays)
    blocks = _blocks(first.shape, max(workers, -(-size // BLOCK_ENTRIES)))
    if len(blocks) < 2:
        return call(arrays)
    pieces = [[a[where] for a in arrays] for where in blocks]
    if workers == 1:
        results = [call(piece) for piece in pieces]
    else:
        if _POOL is None or _POOL._max_workers < workers:
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nnref-pool")
        results = list(_POOL.map(call, pieces))
    if results[0] is None:
        return None
    single = not isinstance(results[0], tuple)
    rows = [(r,) if single else r for r in results]
    joined: list[Any] = []
    for k, part in enumerate(rows[0]):
        if part is None:
            joined.append(None)
            continue
        whole = numpy.empty(first.shape[:2] + part.shape[2:], dtype=part.dtype)
        for where, row in zip(blocks, rows):
            whole[where] = row[k]
        joined.append(whole)
    return joined[0] if single else tuple(joined)


# ----------------------------------------------------------------------------- max_pool


def _max(w: _Window, choose: bool = True, x: Any = None) -> tuple[Array, Any]:
    fwd = getattr(_k, f"_{w.op}_forward" if w.op.startswith("max_pool") else f"_max_pool{w.dims}d_forward")
    return _map_planes(lambda a: fwd(a[0], w.kernel, w.stride, w.padding, w.dilation,
                                     a[0].shape[:2] + w.out_shape[2:], choose), [w.x if x is None else x])


def _max_vjp(w: _Window, g: Any, x: Any) -> Array:
    """The gradient through the taps chosen from x (recomputed: the backward takes no indices)."""
    vjp = getattr(_k, f"_max_pool{w.dims}d_vjp")
    out = numpy.empty(x.shape, dtype=g.dtype)  # the blocks write their planes here (no joining copy)

    def block(a: list[Any]) -> None:
        vjp(a[0], a[1], w.kernel, w.stride, w.padding, w.dilation, out=a[2])

    _map_planes(block, [g, x, out])
    return out


def _index(w: _Window) -> tuple[Any, ...]:
    from ._affine import at

    return ("n", "c", *[at(-w.padding[a], **{POS[a]: w.stride[a], KER[a]: w.dilation[a]}) for a in range(w.dims)])


def _max_pool(op: str, dims: int, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: Any, return_indices: Any) -> Any:
    w = _window(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
    ret = _rt.check_bool(op, "return_indices", return_indices)
    values, chosen = _max(w, choose=ret)
    if not ret:
        return w.result(values)
    flat = _win.flat_index(chosen, _index(w), "nc" + POS[:dims], w.x.shape, KER[:dims], w.kernel)
    return w.result(values), w.result(flat)


def _max_pool_backward(op: str, dims: int, grad_output: Any, input: Any, kernel_size: Any, stride: Any,
                       padding: Any, dilation: Any, ceil_mode: Any, return_indices: Any) -> dict[str, Array]:
    w = _window(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
    _rt.check_bool(op, "return_indices", return_indices)
    g = _grad(op, grad_output, w.unbatch(w.out_shape), w.x.dtype).reshape(w.out_shape)
    return {"input": w.result(_max_vjp(w, g, w.x))}


# ----------------------------------------------------------------------------- avg_pool


def _outer_product(per_axis: list[Any]) -> Any:
    """c[i_0, i_1, ...] = Π_a c_a[i_a]: a window's count is the product of its per-axis counts."""
    out = numpy.ones((1,) * len(per_axis), dtype=numpy.int64)
    for a, c in enumerate(per_axis):
        shape = [1] * len(per_axis)
        shape[a] = c.size
        out = out * c.reshape(shape)
    return out


def _divisor(w: _Window, count_include_pad: bool, divisor_override: Any) -> Any:
    if divisor_override is not None:
        return divisor_override
    return _outer_product([_k.avg_divisor(w.x.shape[2 + a], w.kernel[a], w.stride[a], w.padding[a],
                                          w.out_shape[2 + a], count_include_pad) for a in range(w.dims)])


def _adaptive_count(bounds: list[Any]) -> Any:
    return _outer_product([end - start for start, end in bounds])


def _avg_args(op: str, dims: int, input: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: Any,
              count_include_pad: Any, divisor_override: Any) -> tuple[_Window, Any]:
    w = _window(op, dims, input, kernel_size, stride, padding, 1, ceil_mode)
    if dims == 3 and any(w.x.shape[2 + a] < w.kernel[a] for a in range(3)):
        # torch's avg_pool3d (only it) also asks the unpadded input to hold a whole kernel
        raise NNRefError(f"{op}: kernel_size: expected at most the input's spatial size {w.x.shape[2:]} on every"
                         f" axis (avg_pool3d checks the input before padding), got {kernel_size!r}")
    include = _rt.check_bool(op, "count_include_pad", count_include_pad)
    if divisor_override is not None:
        divisor_override = _rt.check_int(op, "divisor_override", divisor_override)
        if divisor_override == 0:
            raise NNRefError(f"{op}: divisor_override: expected a nonzero int or None, got 0")
    return w, _divisor(w, include, divisor_override)


def _avg_pool(op: str, dims: int, input: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: Any,
              count_include_pad: Any, divisor_override: Any) -> Array:
    w, div = _avg_args(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    fwd = getattr(_k, f"_{op}_forward")
    return w.result(_map_planes(lambda a: fwd(a[0], w.kernel, w.stride, w.padding, div,
                                              a[0].shape[:2] + w.out_shape[2:]), [w.x]))


def _avg_pool_backward(op: str, dims: int, grad_output: Any, input: Any, kernel_size: Any, stride: Any,
                       padding: Any, ceil_mode: Any, count_include_pad: Any, divisor_override: Any) -> dict[str, Array]:
    w, div = _avg_args(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    g = _grad(op, grad_output, w.unbatch(w.out_shape), w.x.dtype).reshape(w.out_shape)
    vjp = getattr(_k, f"_{op}_vjp")
    out = numpy.empty(w.x.shape, dtype=numpy.result_type(g, div))  # the blocks write their planes here

    def block(a: list[Any]) -> None:
        vjp(a[0], a[1], w.kernel, w.stride, w.padding, div, out=a[2])

    _map_planes(block, [g, w.x, out])
    return {"input": w.result(out)}


# ----------------------------------------------------------------------------- lp_pool


def _norm(op: str, norm_type: Any) -> float:
    bad = NNRefError(f"{op}: norm_type: expected a nonzero real number (inf allowed), got {norm_type!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, numpy.integer, numpy.floating)):
        raise bad
    try:
        p = float(norm_type)
    except OverflowError:
        raise NNRefError(f"{op}: norm_type: expected a real number within float64's range (inf allowed), got an"
                         f" int of {len(str(abs(int(norm_type))))} digits") from None
    if math.isnan(p) or p == 0:
        raise bad
    return p


def _lp_args(op: str, dims: int, input: Any, norm_type: Any, kernel_size: Any, stride: Any,
             ceil_mode: Any) -> tuple[_Window, float, Any]:
    p = _norm(op, norm_type)
    w = _window(op, dims, input, kernel_size, stride, 0, 1, ceil_mode)
    # In the input's dtype, as torch divides: a float32 window mean of tiny powers can round
    # to zero there (and then passes no gradient), which a float64 divisor would not.
    return w, p, numpy.asarray(_divisor(w, True, None), dtype=w.x.dtype)


def _lp_pool(op: str, dims: int, input: Any, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: Any) -> Array:
    w, p, div = _lp_args(op, dims, input, norm_type, kernel_size, stride, ceil_mode)
    if math.isinf(p):
        # torch: max_pool(|x|) for inf, −max_pool(−|x|) for −inf
        sign = 1.0 if p > 0 else -1.0
        values, _ = _max(w, choose=False, x=sign * numpy.abs(w.x))
        return w.result(sign * values)
    fwd = getattr(_k, f"_{op}_forward")
    return w.result(_map_planes(lambda a: fwd(a[0], p, w.kernel, w.stride, div, a[0].shape[:2] + w.out_shape[2:]),
                                [w.x]))


def _lp_pool_backward(op: str, dims: int, grad_output: Any, input: Any, norm_type: Any, kernel_size: Any,
                      stride: Any, ceil_mode: Any) -> dict[str, Array]:
    w, p, div = _lp_args(op, dims, input, norm_type, kernel_size, stride, ceil_mode)
    g = _grad(op, grad_output, w.unbatch(w.out_shape), w.x.dtype).reshape(w.out_shape)
    if math.isinf(p):
        sign = 1.0 if p > 0 else -1.0
        z = sign * numpy.abs(w.x)
        return {"input": w.result(_max_vjp(w, g, z) * numpy.sign(w.x))}
    vjp = getattr(_k, f"_{op}_vjp")
    return {"input": w.result(_map_planes(lambda a: vjp(a[0], a[1], p, w.kernel, w.stride, div), [g, w.x]))}


# ----------------------------------------------------------------------------- adaptive pooling


def _adaptive(op: str, dims: int, input: Any, output_size: Any) -> tuple[Array, bool, tuple[int, ...], list[Any]]:
    xb, batched = _input(op, dims, input)
    sizes = _rt.int_tuple(op, "output_size", output_size, dims, 0, none_ok=True)
    out = tuple(xb.shape[2 + a] if s is None else s for a, s in enumerate(sizes))
    # at least one sample: the window bounds are built per axis even for an empty batch
    _rt.check_size(op, "output_size", (max(xb.shape[0], 1), xb.shape[1]) + out, xb.dtype.itemsize, "the output")
    bounds = [_k.adaptive_bounds(xb.shape[2 + a], out[a]) for a in range(dims)]
    return xb, batched, out, bounds


def _axis_windows(start: Array, end: Array) -> tuple[Array, Array]:
    """(M, T) input positions of every window on one axis, T the longest window; positions past
    a window's end repeat its last entry (harmless for max; masked for sums)."""
    t = numpy.arange(int((end - start).max()) if start.size else 0)
    pos = numpy.minimum(start[:, None] + t[None, :], (end - 1)[:, None])
    return pos, t[None, :] < (end - start)[:, None]


def _adaptive_avg(xb: Array, bounds: list[Any]) -> tuple[Array, Array]:
    """Σ over each adaptive window, one axis at a time (boxes are separable), and the counts."""
    acc = xb
    for a, (start, end) in enumerate(bounds):
        axis = 2 + a
        if start.size == 0:
            shape = list(acc.shape)
            shape[axis] = 0
            acc = numpy.zeros(shape, dtype=xb.dtype)
        else:
            pos, inside = _axis_windows(start, end)
            taken = numpy.take(acc, pos, axis=axis)  # (..., M, T, ...)
            mask = inside.reshape((1,) * axis + inside.shape + (1,) * (acc.ndim - axis - 1))
            acc = numpy.where(mask, taken, numpy.zeros((), xb.dtype)).sum(axis=axis + 1)
    return acc, _adaptive_count(bounds)


def _adaptive_avg_vjp(g: Array, shape: tuple[int, ...], bounds: list[Any], count: Array) -> Array:
    """The adjoint, one axis at a time: each window's g/count added back over its entries."""
    acc = g / count
    for a in reversed(range(len(bounds))):
        start, end = bounds[a]
        axis = 2 + a
        moved = numpy.moveaxis(acc, axis, -1)
        out = numpy.zeros(moved.shape[:-1] + (shape[axis],), dtype=g.dtype)
        if start.size:
            pos, inside = _axis_windows(start, end)
            for t in range(pos.shape[1]):
                keep = inside[:, t]
                where: Any = (Ellipsis, pos[keep, t])
                numpy.add.at(out, where, moved[..., keep])
        acc = numpy.moveaxis(out, -1, axis)
    return acc


def _adaptive_max(xb: Array, bounds: list[Any]) -> tuple[Array, Array]:
    """Window maxima and the flat index torch chooses, one axis at a time from the last: on
    each axis the first maximum (strictly greater replaces) or the last NaN; done from the
    last axis to the first, this picks the row-major first maximum (last NaN) of the box."""
    val = xb
    flat: Array | None = None  # flat index within the plane, for the entries of val
    dims = len(bounds)
    plane = xb.shape[2:]
    for a in reversed(range(dims)):
        start, end = bounds[a]
        axis = 2 + a
        if start.size == 0:
            shape = list(val.shape)
            shape[axis] = 0
            return numpy.zeros(shape[:2] + [len(b[0]) for b in bounds], xb.dtype), \
                numpy.zeros(shape[:2] + [len(b[0]) for b in bounds], numpy.int64)
        pos, _ = _axis_windows(start, end)
        taken = numpy.take(val, pos, axis=axis)  # (..., M, T, ...)
        best = numpy.take(taken, 0, axis=axis + 1)
        pick = numpy.zeros(best.shape, dtype=numpy.intp)
        for t in range(1, pos.shape[1]):
            v = numpy.take(taken, t, axis=axis + 1)
            better = v > best
            numpy.copyto(best, v, where=better)
            numpy.putmask(pick, better, t)
        if xb.dtype.kind == "f":
            for t in range(pos.shape[1]):
                v = numpy.take(taken, t, axis=axis + 1)
                nan = numpy.isnan(v)
                numpy.copyto(best, v, where=nan)
                numpy.putmask(pick, nan, t)
        shape = [1] * best.ndim
        shape[axis] = start.size
        m_idx = numpy.arange(start.size).reshape(shape)
        j = pos[m_idx, pick]  # chosen position on this axis
        stride_a = math.prod(plane[a + 1:])
        if flat is None:
            flat = j * stride_a
        else:
            flat = numpy.take_along_axis(numpy.take(flat, pos, axis=axis),
                                         numpy.expand_dims(pick, axis + 1), axis=axis + 1).squeeze(axis + 1)
            flat = flat + j * stride_a
        val = best
    assert flat is not None
    return val, flat.astype(numpy.int64)


def _scatter_flat(g: Array, flat: Array, shape: tuple[int, ...]) -> Array:
    """out[n, c, flat[n, c, i]] += g[n, c, i]: the adjoint of reading x at flat indices."""
    plane = math.prod(shape[2:])
    nc = shape[0] * shape[1]
    out = numpy.zeros(nc * plane, dtype=g.dtype)
    if g.size:
        offsets = (numpy.arange(nc) * plane).reshape(shape[:2] + (1,) * (g.ndim - 2))
        numpy.add.at(out, (flat + offsets).ravel(), g.ravel())
    return out.reshape(shape)


# ----------------------------------------------------------------------------- max_unpool


def _unpool_args(op: str, dims: int, input: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any,
                 output_size: Any) -> tuple[Array, Array, bool, tuple[int, ...]]:
    xb, batched = _input(op, dims, input)
    ind = numpy.asarray(indices)
    if ind.dtype.kind not in "iu":
        raise NNRefError(f"{op}: indices: expected an integer array (max_pool's return_indices), got dtype {ind.dtype}")
    indb = ind if batched else ind[numpy.newaxis]
    if indb.shape != xb.shape:
        raise NNRefError(f"{op}: indices: expected the input's shape {numpy.shape(input)}, got {ind.shape}")
    kernel = _rt.int_tuple(op, "kernel_size", kernel_size, dims, 1)
    stride_t = kernel if stride is None else _rt.int_tuple(op, "stride", stride, dims, 1)
    pad = _rt.int_tuple(op, "padding", padding, dims, 0)
    default = tuple((xb.shape[2 + a] - 1) * stride_t[a] + kernel[a] - 2 * pad[a] for a in range(dims))
    if output_size is None:
        out = default
    else:
        given = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        if given is not None and len(given) == dims + 2:
            given = given[2:]
        if given is None or len(given) != dims or not all(
                isinstance(v, (int, numpy.integer)) and not isinstance(v, bool) for v in given):
            raise NNRefError(f"{op}: output_size: expected a tuple of {dims} (or {dims + 2}) ints, got {output_size!r}")
        for a in range(dims):
            lo, hi = default[a] - stride_t[a], default[a] + stride_t[a]
            if not lo < given[a] < hi:
                raise NNRefError(f"{op}: output_size: expected dim {a} strictly between {lo} and {hi} (the default"
                                 f" (L − 1)·s − 2p + K = {default[a]} ± stride), got {output_size!r}")
        out = tuple(int(v) for v in given)
    if any(m < 0 for m in out):
        raise NNRefError(f"{op}: output_size: expected non-negative sizes, got {out} (from kernel_size, stride,"
                         " padding)")
    _rt.check_size(op, "output_size" if output_size is not None else "stride", xb.shape[:2] + out,
                   xb.dtype.itemsize, "the output")
    plane = math.prod(out)
    if indb.size and (indb.min() < 0 or indb.max() >= plane):
        bad = int(indb.min()) if indb.min() < 0 else int(indb.max())
        raise NNRefError(f"{op}: indices: expected every index in [0, {plane}) (the output plane {out}), got {bad}")
    return xb, indb.astype(numpy.int64), batched, out


def _unpool(op: str, dims: int, input: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any,
            output_size: Any) -> Array:
    xb, ind, batched, out = _unpool_args(op, dims, input, indices, kernel_size, stride, padding, output_size)
    plane = math.prod(out)
    nb, ch = xb.shape[:2]
    y = numpy.zeros(nb * ch * plane, dtype=xb.dtype)
    src = xb.reshape(-1)
    target = (ind.reshape(nb * ch, math.prod(xb.shape[2:])) + (numpy.arange(nb * ch) * plane)[:, None]).reshape(-1)
    # Duplicate indices: the first input (row-major) is the one written, as torch's CPU kernel
    # does; NumPy leaves the order of repeated assignments unspecified, so assign only firsts.
    _, first = numpy.unique(target, return_index=True)
    y[target[first]] = src[first]
    res = y.reshape((nb, ch) + out)
    return res if batched else res[0]


def _unpool_backward(op: str, dims: int, grad_output: Any, input: Any, indices: Any, kernel_size: Any, stride: Any,
                     padding: Any, output_size: Any) -> dict[str, Array]:
    xb, ind, batched, out = _unpool_args(op, dims, input, indices, kernel_size, stride, padding, output_size)
    shape = (xb.shape[:2] + out) if batched else (xb.shape[1:2] + out)
    g = _grad(op, grad_output, shape, xb.dtype).reshape(xb.shape[:2] + out)
    nb, ch = xb.shape[:2]
    gx = numpy.take_along_axis(g.reshape(nb * ch, math.prod(out)), ind.reshape(nb * ch, math.prod(xb.shape[2:])),
                               axis=1).reshape(xb.shape)
    return {"input": gx if batched else gx[0]}


# ----------------------------------------------------------------------------- public functions


def max_pool1d(input: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-D max pooling with torch.nn.functional.max_pool1d's arguments; with return_indices,
    (values, flat indices)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_backward(grad_output: ArrayLike, input: ArrayLike, kernel_size: Any, stride: Any = None,
                        padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                        return_indices: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, max_pool1d(...)> (of the values) with respect to input."""
    return _max_pool_backward("max_pool1d", 1, grad_output, input, kernel_size, stride, padding, dilation, ceil_mode,
                              return_indices)


def max_pool2d(input: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling with torch.nn.functional.max_pool2d's arguments."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d_backward(grad_output: ArrayLike, input: ArrayLike, kernel_size: Any, stride: Any = None,
                        padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                        return_indices: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, max_pool2d(...)> with respect to input."""
    return _max_pool_backward("max_pool2d", 2, grad_output, input, kernel_size, stride, padding, dilation, ceil_mode,
                              return_indices)


def max_pool3d(input: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """3-D max pooling with torch.nn.functional.max_pool3d's arguments."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d_backward(grad_output: ArrayLike, input: ArrayLike, kernel_size: Any, stride: Any = None,
                        padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                        return_indices: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, max_pool3d(...)> with respect to input."""
    return _max_pool_backward("max_pool3d", 3, grad_output, input, kernel_size, stride, padding, dilation, ceil_mode,
                              return_indices)


def avg_pool1d(input: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Array:
    """1-D average pooling with torch.nn.functional.avg_pool1d's arguments."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool1d_backward(grad_output: ArrayLike, input: ArrayLike, kernel_size: Any, stride: Any = None,
                        padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> dict[str, Array]:
    """Gradient of <grad_output, avg_pool1d(...)> with respect to input."""
    return _avg_pool_backward("avg_pool1d", 1, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, None)


def avg_pool2d(input: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Array:
    """2-D average pooling with torch.nn.functional.avg_pool2d's arguments."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool2d_backward(grad_output: ArrayLike, input: ArrayLike, kernel_size: Any, stride: Any = None,
                        padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: int | None = None) -> dict[str, Array]:
    """Gradient of <grad_output, avg_pool2d(...)> with respect to input."""
    return _avg_pool_backward("avg_pool2d", 2, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)


def avg_pool3d(input: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Array:
    """3-D average pooling with torch.nn.functional.avg_pool3d's arguments."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d_backward(grad_output: ArrayLike, input: ArrayLike, kernel_size: Any, stride: Any = None,
                        padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: int | None = None) -> dict[str, Array]:
    """Gradient of <grad_output, avg_pool3d(...)> with respect to input."""
    return _avg_pool_backward("avg_pool3d", 3, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)


def lp_pool1d(input: ArrayLike, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Array:
    """1-D power-average pooling with torch.nn.functional.lp_pool1d's arguments."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d_backward(grad_output: ArrayLike, input: ArrayLike, norm_type: float, kernel_size: Any,
                       stride: Any = None, ceil_mode: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, lp_pool1d(...)> with respect to input."""
    return _lp_pool_backward("lp_pool1d", 1, grad_output, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: ArrayLike, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Array:
    """2-D power-average pooling with torch.nn.functional.lp_pool2d's arguments."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d_backward(grad_output: ArrayLike, input: ArrayLike, norm_type: float, kernel_size: Any,
                       stride: Any = None, ceil_mode: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, lp_pool2d(...)> with respect to input."""
    return _lp_pool_backward("lp_pool2d", 2, grad_output, input, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_avg_pool(op: str, dims: int, input: Any, output_size: Any) -> Array:
    xb, batched, _, bounds = _adaptive(op, dims, input, output_size)
    with _rt.quiet():
        total, count = _adaptive_avg(xb, bounds)
        y = numpy.ascontiguousarray(total / count, dtype=xb.dtype)
    return y if batched else y[0]


def _adaptive_avg_pool_backward(op: str, dims: int, grad_output: Any, input: Any,
                                output_size: Any) -> dict[str, Array]:
    xb, batched, out, bounds = _adaptive(op, dims, input, output_size)
    shape = xb.shape[:2] + out
    g = _grad(op, grad_output, shape if batched else shape[1:], xb.dtype).reshape(shape)
    with _rt.quiet():
        gx = numpy.ascontiguousarray(_adaptive_avg_vjp(g, xb.shape, bounds, _adaptive_count(bounds)),
                                     dtype=xb.dtype)
    return {"input": gx if batched else gx[0]}


def _adaptive_max_pool(op: str, dims: int, input: Any, output_size: Any, return_indices: Any) -> Any:
    xb, batched, _, bounds = _adaptive(op, dims, input, output_size)
    ret = _rt.check_bool(op, "return_indices", return_indices)
    val, flat = _adaptive_max(xb, bounds)
    val = numpy.ascontiguousarray(val, dtype=xb.dtype)
    if not batched:
        val, flat = val[0], flat[0]
    return (val, flat) if ret else val


def _adaptive_max_pool_backward(op: str, dims: int, grad_output: Any, input: Any, output_size: Any,
                                return_indices: Any) -> dict[str, Array]:
    xb, batched, out, bounds = _adaptive(op, dims, input, output_size)
    _rt.check_bool(op, "return_indices", return_indices)
    shape = xb.shape[:2] + out
    g = _grad(op, grad_output, shape if batched else shape[1:], xb.dtype).reshape(shape)
    _, flat = _adaptive_max(xb, bounds)
    gx = _scatter_flat(g, flat, xb.shape)
    return {"input": gx if batched else gx[0]}


def adaptive_avg_pool1d(input: ArrayLike, output_size: Any) -> Array:
    """1-D adaptive average pooling (output_size 1: global average pooling)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool1d_backward(grad_output: ArrayLike, input: ArrayLike, output_size: Any) -> dict[str, Array]:
    """Gradient of <grad_output, adaptive_avg_pool1d(...)> with respect to input."""
    return _adaptive_avg_pool_backward("adaptive_avg_pool1d", 1, grad_output, input, output_size)


def adaptive_avg_pool2d(input: ArrayLike, output_size: Any) -> Array:
    """2-D adaptive average pooling (output_size 1: global average pooling)."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool2d_backward(grad_output: ArrayLike, input: ArrayLike, output_size: Any) -> dict[str, Array]:
    """Gradient of <grad_output, adaptive_avg_pool2d(...)> with respect to input."""
    return _adaptive_avg_pool_backward("adaptive_avg_pool2d", 2, grad_output, input, output_size)


def adaptive_max_pool1d(input: ArrayLike, output_size: Any, return_indices: bool = False) -> Any:
    """1-D adaptive max pooling; with return_indices, (values, flat indices)."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool1d_backward(grad_output: ArrayLike, input: ArrayLike, output_size: Any,
                                 return_indices: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, adaptive_max_pool1d(...)> with respect to input."""
    return _adaptive_max_pool_backward("adaptive_max_pool1d", 1, grad_output, input, output_size, return_indices)


def adaptive_max_pool2d(input: ArrayLike, output_size: Any, return_indices: bool = False) -> Any:
    """2-D adaptive max pooling; with return_indices, (values, flat indices)."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool2d_backward(grad_output: ArrayLike, input: ArrayLike, output_size: Any,
                                 return_indices: bool = False) -> dict[str, Array]:
    """Gradient of <grad_output, adaptive_max_pool2d(...)> with respect to input."""
    return _adaptive_max_pool_backward("adaptive_max_pool2d", 2, grad_output, input, output_size, return_indices)


def max_unpool1d(input: ArrayLike, indices: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Array:
    """1-D max unpooling with torch.nn.functional.max_unpool1d's arguments."""
    return _unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d_backward(grad_output: ArrayLike, input: ArrayLike, indices: ArrayLike, kernel_size: Any,
                          stride: Any = None, padding: Any = 0, output_size: Any = None) -> dict[str, Array]:
    """Gradient of <grad_output, max_unpool1d(...)> with respect to input: grad_output at the indices."""
    return _unpool_backward("max_unpool1d", 1, grad_output, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: ArrayLike, indices: ArrayLike, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Array:
    """2-D max unpooling with torch.nn.functional.max_unpool2d's arguments."""
    return _unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d_backward(grad_output: ArrayLike, input: ArrayLike, indices: ArrayLike, kernel_size: Any,
                          stride: Any = None, padding: Any = 0, output_size: Any = None) -> dict[str, Array]:
    """Gradient of <grad_output, max_unpool2d(...)> with respect to input."""
    return _unpool_backward("max_unpool2d", 2, grad_output, input, indices, kernel_size, stride, padding, output_size)
