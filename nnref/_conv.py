"""Public convolution functions: argument checks and channel bookkeeping around the kernels.

The mathematics (every index formula, forward and backward, and the output-size
arithmetic) is printed into ``_generated/conv.py`` from ``derivations/ops/conv.py``.  This
module only validates the arguments the way torch.nn.functional does (errors name the
argument, what was expected and what was given), resolves stride / padding / dilation /
output_padding into one int per spatial axis, and splits the channel axes into
(group, channel in group), which is the layout the kernels are written in.

Owns: the public convolution functions.  Imports: NumPy, ``._runtime``, ``._affine`` and
the generated kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy
from numpy.typing import ArrayLike, NDArray

from . import _runtime as _rt
from ._generated import conv as _k
from ._runtime import NNRefError

__all__ = [
    "conv1d", "conv1d_backward", "conv2d", "conv2d_backward", "conv3d", "conv3d_backward",
    "conv_transpose1d", "conv_transpose1d_backward", "conv_transpose2d", "conv_transpose2d_backward",
    "conv_transpose3d", "conv_transpose3d_backward",
]

Array = NDArray[numpy.floating]


@dataclass
class _Problem:
    """A checked call: grouped views of the arrays, per-axis parameters, output shape."""

    op: str
    dims: int
    transposed: bool
    x: Any  # (N, G, C_g, L...)
    w: Any  # conv: (G, O_g, C_g, K...); transposed: (G, C_g, O_g, K...)
    b: Any  # (G, O_g) or None
    stride: tuple[int, ...]
    pad_lo: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    out_shape: tuple[int, ...]  # (N, G, O_g, M...)
    batched: bool
    dtype: Any

    @property
    def result_shape(self) -> tuple[int, ...]:
        n, grp, og, *spatial = self.out_shape
        shape = (n, grp * og, *spatial)
        return shape if self.batched else shape[1:]


def _check(op: str, dims: int, transposed: bool, input: Any, weight: Any, bias: Any, stride: Any, padding: Any,
           dilation: Any, groups: Any, output_padding: Any = 0) -> _Problem:
    arrays = {"input": input, "weight": weight} if bias is None else {"input": input, "weight": weight, "bias": bias}
    checked = _rt.float_arrays(op, _channel=tuple(arrays)[1:], **arrays)
    x, w = checked[0], checked[1]
    spatial = ", ".join(f"L{a}" for a in range(dims)) if dims > 1 else "L"
    if x.ndim not in (dims + 1, dims + 2):
        raise NNRefError(f"{op}: input: expected a {dims + 2}-d array (N, C_in, {spatial}) or a {dims + 1}-d"
                         f" unbatched one (C_in, {spatial}), got shape {x.shape}")
    kernel = ", ".join(f"K{a}" for a in range(dims)) if dims > 1 else "K"
    wdesc = (f"(C_in, C_out/groups, {kernel})" if transposed else f"(C_out, C_in/groups, {kernel})")
    if w.ndim != dims + 2:
        raise NNRefError(f"{op}: weight: expected a {dims + 2}-d array {wdesc}, got shape {w.shape}")
    batched = x.ndim == dims + 2
    xb = x if batched else x[numpy.newaxis]
    channels = xb.shape[1]
    groups = _rt.check_int(op, "groups", groups)
    if groups < 1:
        raise NNRefError(f"{op}: groups: expected an int >= 1, got {groups}")
    if channels % groups:
        raise NNRefError(f"{op}: groups: expected a divisor of in_channels = {channels} (dim 1 of input, shape"
                         f" {x.shape}), got {groups}")
    stride_t = _rt.int_tuple(op, "stride", stride, dims, 1)
    dilation_t = _rt.int_tuple(op, "dilation", dilation, dims, 1)
    ksize = w.shape[2:]
    if any(k == 0 for k in ksize):
        raise NNRefError(f"{op}: weight: expected every kernel size > 0 (torch: kernel size should be greater than"
                         f" zero), got weight of shape {w.shape}")
    if transposed:
        if w.shape[0] != channels:
            raise NNRefError(f"{op}: weight: expected in_channels = {channels} on dim 0 (the channels of input,"
                             f" shape {x.shape}), got weight of shape {w.shape}")
        out_channels = w.shape[1] * groups
        if isinstance(padding, str):
            raise NNRefError(f"{op}: padding: expected an int or a tuple of ints (a transposed convolution has no"
                             f" 'valid' or 'same'), got {padding!r}")
        pad_t = _rt.int_tuple(op, "padding", padding, dims, 0)
        out_pad = _rt.int_tuple(op, "output_padding", output_padding, dims, 0)
        for a in range(dims):
            if out_pad[a] >= max(stride_t[a], dilation_t[a]):
                raise NNRefError(f"{op}: output_padding: expected each entry < max(stride, dilation) ="
                                 f" {max(stride_t[a], dilation_t[a])} on spatial dim {a}, got {output_padding!r}")
        pad_lo = pad_t
        sizes = tuple(_k.conv_transpose_out_size(xb.shape[2 + a], ksize[a], stride_t[a], dilation_t[a], pad_t[a],
                                                 out_pad[a]) for a in range(dims))
        for a, m in enumerate(sizes):
            if m < 1:
                raise NNRefError(f"{op}: padding: expected at most {(m - 1 + 2 * pad_t[a]) // 2} on spatial dim {a}"
                                 f" (the output would have {m} entries there: input {xb.shape[2 + a]}, kernel"
                                 f" {ksize[a]}, stride {stride_t[a]}, dilation {dilation_t[a]}), got {padding!r}")
    else:
        if w.shape[0] % groups:
            raise NNRefError(f"{op}: groups: expected a divisor of out_channels = {w.shape[0]} (dim 0 of weight, shape"
                             f" {w.shape}), got {groups}")
        if w.shape[1] * groups != channels:
            raise NNRefError(f"{op}: weight: expected in_channels/groups = {channels // groups} on dim 1 (input has"
                             f" {channels} channels, groups = {groups}), got weight of shape {w.shape}")
        out_channels = w.shape[0]
        if isinstance(padding, str):
            if padding == "valid":
                pad_lo, pad_total = (0,) * dims, (0,) * dims
            elif padding == "same":
                if any(s != 1 for s in stride_t):
                    raise NNRefError(f"{op}: padding: 'same' needs stride 1 (torch's rule), got padding='same' with"
                                     f" stride {stride!r}")
                pad_total = tuple(dilation_t[a] * (ksize[a] - 1) for a in range(dims))
                pad_lo = tuple(t // 2 for t in pad_total)
            else:
                raise NNRefError(f"{op}: padding: expected an int, a tuple of ints, 'valid' or 'same', got {padding!r}")
        else:
            pad_lo = _rt.int_tuple(op, "padding", padding, dims, 0)
            pad_total = tuple(2 * p for p in pad_lo)
        for a in range(dims):
            span = dilation_t[a] * (ksize[a] - 1) + 1
            room = xb.shape[2 + a] + pad_total[a]
            if span > room:
                raise NNRefError(f"{op}: weight: expected a kernel no larger than the padded input on spatial dim {a}:"
                                 f" the dilated kernel spans {span} (size {ksize[a]}, dilation {dilation_t[a]}), the"
                                 f" padded input {room} (size {xb.shape[2 + a]}, padding {pad_total[a]} in all)")
        sizes = tuple(_k.conv_out_size(xb.shape[2 + a], ksize[a], stride_t[a], dilation_t[a], pad_total[a])
                      for a in range(dims))
    b = None
    if bias is not None:
        b = checked[2]
        if b.shape != (out_channels,):
            raise NNRefError(f"{op}: bias: expected shape ({out_channels},) (out_channels), got {b.shape}")
    item = x.dtype.itemsize
    _rt.check_size(op, "stride" if transposed else "padding", (xb.shape[0], out_channels) + sizes, item, "the output")
    if not transposed:
        padded = tuple(xb.shape[2 + a] + pad_total[a] for a in range(dims))
        _rt.check_size(op, "padding", xb.shape[:2] + padded, item, "the padded input")
    stride_t, dilation_t = _unused_steps(stride_t, dilation_t, ksize, xb.shape[2:] if transposed else sizes)
    return _grouped(op, dims, transposed, xb, w, b, stride_t, pad_lo, dilation_t, groups, sizes, batched)


def _unused_steps(stride: tuple[int, ...], dilation: tuple[int, ...], ksize: tuple[int, ...],
                  positions: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Stride 1 on an axis with one position (s·i at i = 0 only), dilation 1 on an axis with one
    kernel tap (d·k at k = 0 only): the same indices, so the same result to the bit, while a huge
    step would otherwise size the views and phase splits of the kernels (cost, overflow)."""
    return (tuple(1 if n == 1 else s for s, n in zip(stride, positions)),
            tuple(1 if k == 1 else d for d, k in zip(dilation, ksize)))


def _grouped(op: str, dims: int, transposed: bool, xb: Any, w: Any, b: Any, stride: tuple[int, ...],
             pad_lo: tuple[int, ...], dilation: tuple[int, ...], groups: int, sizes: tuple[int, ...],
             batched: bool = True) -> _Problem:
    """Views with the channel axes split into (group, channel in group)."""
    n, channels = xb.shape[:2]
    cg = channels // groups
    if transposed:
        og = w.shape[1]
        wg = w.reshape((groups, cg, og) + w.shape[2:])
    else:
        og = w.shape[0] // groups
        wg = w.reshape((groups, og, cg) + w.shape[2:])
    xg = xb.reshape((n, groups, cg) + xb.shape[2:])
    bg = None if b is None else b.reshape(groups, og)
    return _Problem(op, dims, transposed, xg, wg, bg, stride, pad_lo, dilation, groups,
                    (n, groups, og) + tuple(sizes), batched, xb.dtype)


# The largest temporary a kernel call allocates is the im2col (or col2im) buffer.  The batch
# is processed in chunks so that buffer holds about CHUNK_ELEMENTS entries (2 MiB in
# float32, 4 MiB in float64): that bounds the memory and keeps the buffer in cache, while
# each chunk stays large enough for the matrix products to run at BLAS speed.  Each chunk
# also costs three more matrix products (thread hand-offs inside OpenBLAS), fixed Python
# work and, whenever glibc has handed the previous chunk's buffers back to the system, page
# faults on fresh ones; so where a sample carries little arithmetic (few channels) a chunk
# takes enough samples for CHUNK_MACS multiply-adds in its forward product, up to
# FLOAT64_CHUNK_ELEMENTS (16 MiB) in float64 -- well under torch's float64 path, which
# holds the columns of the whole batch -- and no more than CHUNK_ELEMENTS in other dtypes
# (torch's float32 path, oneDNN, needs next to no temporary memory).  The chunks are of
# equal size (within one sample), not full chunks and a small rest.
CHUNK_ELEMENTS = 2**19
CHUNK_MACS = 2**25
FLOAT64_CHUNK_ELEMENTS = 2**21


def _per_sample(p: _Problem) -> tuple[int, int]:
    """Entries of the im2col (col2im) buffer per sample, and multiply-adds of the forward
    product per sample."""
    if p.transposed:
        per_sample = p.out_shape[1] * p.out_shape[2] * math.prod(p.w.shape[3:]) * math.prod(p.x.shape[3:])
        return per_sample, per_sample * p.x.shape[2]
    per_sample = p.x.shape[1] * p.x.shape[2] * math.prod(p.w.shape[3:]) * math.prod(p.out_shape[3:])
    return per_sample, per_sample * p.out_shape[2]


def _chunks(p: _Problem, chunk: int | None) -> list[slice]:
    n = p.x.shape[0]
    if chunk is None:
        per_sample, macs = _per_sample(p)
        dtype = numpy.dtype(p.dtype)
        most = FLOAT64_CHUNK_ELEMENTS if dtype.kind == "f" and dtype.itemsize >= 8 else CHUNK_ELEMENTS
        samples = max(CHUNK_ELEMENTS // max(1, per_sample), -(-CHUNK_MACS // max(1, macs)))
        samples = max(1, min(samples, most // max(1, per_sample)))
        count = -(-n // samples)
        return [slice(k * n // count, (k + 1) * n // count) for k in range(count)] if n else [slice(0, 0)]
    return [slice(start, min(n, start + chunk)) for start in range(0, max(n, 1), chunk)] if n else [slice(0, 0)]


def _hint_heap(p: _Problem, parts: list[slice]) -> None:
    dtype = numpy.dtype(p.dtype)
    if dtype.hasobject:
        return
    per_sample, _ = _per_sample(p)
    chunk = max((part.stop - part.start for part in parts), default=0)
    _rt.hint_heap(dtype.itemsize * (p.x.size + math.prod(p.out_shape) + 2 * per_sample * chunk))


def _forward(p: _Problem, chunk: int | None = None) -> Any:
    kernel = getattr(_k, f"_{p.op}_forward")
    parts = _chunks(p, chunk)
    _hint_heap(p, parts)
    if len(parts) == 1:
        # One chunk: the result is allocated by the kernel, after its im2col buffer is freed.
        out = kernel(p.x, p.w, p.b, p.stride, p.pad_lo, p.dilation, p.out_shape)
        return out.reshape(p.result_shape)
    # Several: each chunk's kernel writes its block of the result (bias added on the way), so
    # no copy joins the blocks and none reorders a product that comes back transposed.
    out = numpy.empty(p.out_shape, dtype=p.x.dtype)
    for part in parts:
        rows = part.stop - part.start
        kernel(p.x[part], p.w, p.b, p.stride, p.pad_lo, p.dilation, (rows,) + p.out_shape[1:], into=out[part])
    return out.reshape(p.result_shape)


def _vjp(p: _Problem, grad: Any, chunk: int | None = None) -> dict[str, Any]:
    kernel = getattr(_k, f"_{p.op}_vjp")
    g = grad.reshape(p.out_shape)
    parts = _chunks(p, chunk)
    _hint_heap(p, parts)
    if len(parts) == 1:
        grads = kernel(g, p.x, p.w, p.stride, p.pad_lo, p.dilation)
    else:
        # The input gradient is per sample; the weight and bias gradients sum over samples.
        grads = {"input": numpy.empty(p.x.shape, dtype=p.x.dtype)}
        for k, part in enumerate(parts):
            one = kernel(g[part], p.x[part], p.w, p.stride, p.pad_lo, p.dilation)
            grads["input"][part] = one["input"]
            if k == 0:
                grads["weight"], grads["bias"] = one["weight"], one["bias"]
            else:
                grads["weight"] = grads["weight"] + one["weight"]
                grads["bias"] = grads["bias"] + one["bias"]
    xshape = p.x.shape[:1] + (p.x.shape[1] * p.x.shape[2],) + p.x.shape[3:]
    wshape = (p.w.shape[0] * p.w.shape[1],) + p.w.shape[2:]
    return {"input": grads["input"].reshape(xshape if p.batched else xshape[1:]),
            "weight": grads["weight"].reshape(wshape), "bias": grads["bias"].reshape(-1)}


def _result(value: Any, dtype: Any) -> Array:
    return numpy.ascontiguousarray(value, dtype=dtype)


def _run(op: str, dims: int, transposed: bool, input: Any, weight: Any, bias: Any, stride: Any, padding: Any,
         dilation: Any, groups: Any, output_padding: Any = 0) -> Array:
    p = _check(op, dims, transposed, input, weight, bias, stride, padding, dilation, groups, output_padding)
    return _result(_forward(p), p.dtype)


def _run_backward(op: str, dims: int, transposed: bool, grad_output: Any, input: Any, weight: Any, bias: Any,
                  stride: Any, padding: Any, dilation: Any, groups: Any, output_padding: Any = 0) -> dict[str, Array]:
    p = _check(op, dims, transposed, input, weight, bias, stride, padding, dilation, groups, output_padding)
    g = _rt.float_array(op, "grad_output", grad_output)
    if g.shape != p.result_shape:
        raise NNRefError(f"{op}: grad_output: expected shape {p.result_shape} (the output's shape), got {g.shape}")
    grads = _vjp(p, g.astype(p.dtype, copy=False))
    out = {"input": _result(grads["input"], p.dtype), "weight": _result(grads["weight"], p.dtype)}
    if bias is not None:
        out["bias"] = _result(grads["bias"], p.dtype)
    return out


def conv1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Array:
    """1-D convolution (cross-correlation) with torch.nn.functional.conv1d's arguments."""
    return _run("conv1d", 1, False, input, weight, bias, stride, padding, dilation, groups)


def conv1d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                    stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> dict[str, Array]:
    """Gradients of <grad_output, conv1d(...)> with respect to input, weight and (when given) bias."""
    return _run_backward("conv1d", 1, False, grad_output, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Array:
    """2-D convolution (cross-correlation) with torch.nn.functional.conv2d's arguments."""
    return _run("conv2d", 2, False, input, weight, bias, stride, padding, dilation, groups)


def conv2d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                    stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> dict[str, Array]:
    """Gradients of <grad_output, conv2d(...)> with respect to input, weight and (when given) bias."""
    return _run_backward("conv2d", 2, False, grad_output, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Array:
    """3-D convolution (cross-correlation) with torch.nn.functional.conv3d's arguments."""
    return _run("conv3d", 3, False, input, weight, bias, stride, padding, dilation, groups)


def conv3d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                    stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> dict[str, Array]:
    """Gradients of <grad_output, conv3d(...)> with respect to input, weight and (when given) bias."""
    return _run_backward("conv3d", 3, False, grad_output, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Array:
    """1-D transposed convolution with torch.nn.functional.conv_transpose1d's arguments (note: groups
    comes before dilation there)."""
    return _run("conv_transpose1d", 1, True, input, weight, bias, stride, padding, dilation, groups, output_padding)


def conv_transpose1d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike,
                              bias: ArrayLike | None = None, stride: Any = 1, padding: Any = 0,
                              output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> dict[str, Array]:
    """Gradients of <grad_output, conv_transpose1d(...)> with respect to input, weight and (when given) bias."""
    return _run_backward("conv_transpose1d", 1, True, grad_output, input, weight, bias, stride, padding, dilation,
                         groups, output_padding)


def conv_transpose2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Array:
    """2-D transposed convolution with torch.nn.functional.conv_transpose2d's arguments."""
    return _run("conv_transpose2d", 2, True, input, weight, bias, stride, padding, dilation, groups, output_padding)


def conv_transpose2d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike,
                              bias: ArrayLike | None = None, stride: Any = 1, padding: Any = 0,
                              output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> dict[str, Array]:
    """Gradients of <grad_output, conv_transpose2d(...)> with respect to input, weight and (when given) bias."""
    return _run_backward("conv_transpose2d", 2, True, grad_output, input, weight, bias, stride, padding, dilation,
                         groups, output_padding)


def conv_transpose3d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Array:
    """3-D transposed convolution with torch.nn.functional.conv_transpose3d's arguments."""
    return _run("conv_transpose3d", 3, True, input, weight, bias, stride, padding, dilation, groups, output_padding)


def conv_transpose3d_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike,
                              bias: ArrayLike | None = None, stride: Any = 1, padding: Any = 0,
                              output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> dict[str, Array]:
    """Gradients of <grad_output, conv_transpose3d(...)> with respect to input, weight and (when given) bias."""
    return _run_backward("conv_transpose3d", 3, True, grad_output, input, weight, bias, stride, padding, dilation,
                         groups, output_padding)


def compute(op: str, x: Any, w: Any, b: Any, stride: tuple[int, ...], padding: Any, dilation: tuple[int, ...],
            groups: int, output_padding: tuple[int, ...] = (), chunk: int | None = None) -> tuple[Any, Any]:
    """The forward and the VJP closure without dtype checks, for arrays of any dtype
    (object arrays of SymPy symbols in the exact tests).  Batched input only; ``chunk`` forces
    the batch into chunks of that many samples."""
    dims = x.ndim - 2
    transposed = op.startswith("conv_transpose")
    ksize = w.shape[2:]
    if any(k == 0 for k in ksize):
        raise NNRefError(f"{op}: weight: expected every kernel size > 0 (torch: kernel size should be greater than"
                         f" zero), got weight of shape {w.shape}")
    if transposed:
        pad_lo = tuple(padding)
        sizes = tuple(_k.conv_transpose_out_size(x.shape[2 + a], ksize[a], stride[a], dilation[a], pad_lo[a],
                                                 (output_padding or (0,) * dims)[a]) for a in range(dims))
    else:
        if padding == "same":
            total = tuple(dilation[a] * (ksize[a] - 1) for a in range(dims))
            pad_lo = tuple(t // 2 for t in total)
        elif padding == "valid":
            total = pad_lo = (0,) * dims
        else:
            pad_lo = tuple(padding)
            total = tuple(2 * p for p in pad_lo)
        sizes = tuple(_k.conv_out_size(x.shape[2 + a], ksize[a], stride[a], dilation[a], total[a]) for a in range(dims))
    p = _grouped(op, dims, transposed, x, w, b, tuple(stride), pad_lo, tuple(dilation), groups, sizes)
    return _forward(p, chunk), lambda g: _vjp(p, g, chunk)
