"""Sliding windows on NumPy arrays: the runtime of the generated pooling kernels.

A pooling window reads x at the same affine indices as a convolution,

    x[n, c, s·i + d·k − p]        (one ``_affine.At`` per spatial axis),

so this module takes the convolution runtime's index descriptions (``_affine.at``) and its
padding arithmetic, and adds the reductions a convolution does not need:

* ``taps``         — one strided view of the (padded) input per kernel offset k, in
  row-major order of k: a window reduction is a loop over K^D views, never a copy of
  every window;
* ``window_sum``   — Σ_k over those views (avg_pool, lp_pool);
* ``window_max``   — the maximum and *which* tap torch chooses (first maximum, last NaN,
  never padding);
* ``spread``       — avg / lp: every tap of a window gets the window's gradient, laid out
  per tap for ``_affine.scatter`` (the convolution's col2im) to add back into the input;
* ``scatter_chosen`` — max: each window's gradient added at its chosen tap only, through
  the same tap slices as ``taps`` reads.

Everything here also runs on object arrays of SymPy symbols (the sums), which is how the
exact tests compare a kernel with its index formula.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy
from numpy.typing import NDArray

from ._affine import At, _padding, _sizes

__all__ = ["taps", "window_sum", "window_max", "scatter_chosen", "spread", "prod", "lp_root", "lp_root_grad",
           "first_valid", "flat_index"]


def prod(values: Any) -> int:
    return math.prod(int(v) for v in values)


def _padded(x: NDArray[Any], pads: list[tuple[int, int]], fill: Any) -> NDArray[Any]:
    if not any(lo or hi for lo, hi in pads):
        return x
    src = numpy.full(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads)), fill, dtype=x.dtype)
    src[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pads))] = x
    return src


def _tap_slices(index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str
                ) -> tuple[list[tuple[int, int]], list[tuple[tuple[int, ...], tuple[slice, ...]]]]:
    """The zeros to add around an array of ``shape`` so every window tap falls inside, and for
    every kernel offset k (row-major) the slice of that padded array it reads: one slice per
    axis, the position letter's step on an affine axis (s·i + d·k − p, shifted by the padding)."""
    pads = _padding(index, shape, sizes, False)
    kernel = [letter for letter in small if any(isinstance(ax, At) and letter in dict(ax.steps) for ax in index)]
    out = []
    for values in itertools.product(*(range(sizes[letter]) for letter in kernel)):
        fixed = dict(zip(kernel, values))
        view: list[slice] = []
        for ax, (lo, _) in zip(index, pads):
            if isinstance(ax, str):
                view.append(slice(None))
                continue
            (letter, step), = [(v, st) for v, st in ax.steps if v not in small]
            start = ax.offset + lo + sum(st * fixed[v] for v, st in ax.steps if v in small)
            view.append(slice(start, start + step * (sizes[letter] - 1) + 1, step))
        out.append((values, tuple(view)))
    return pads, out


def taps(x: Any, index: tuple[Any, ...], sizes: dict[str, int], small: str,
         fill: Any = 0) -> Iterator[tuple[tuple[int, ...], NDArray[Any]]]:
    """(k, view) for every kernel offset k (the ``small`` letters, row-major), where view is
    x[index] at that k with one axis per axis of x (a plain axis, or the position letter of
    an affine axis); entries outside x read as ``fill``."""
    x = numpy.asarray(x)
    sizes = _sizes(index, x.shape, sizes)
    pads, slices = _tap_slices(index, x.shape, sizes, small)
    src = _padded(x, pads, fill)
    for values, view in slices:
        yield values, src[view]


def scatter_chosen(grad: Any, chosen: NDArray[Any], index: tuple[Any, ...], shape: tuple[int, ...],
                   sizes: dict[str, int], small: str) -> NDArray[Any]:
    """Σ_i Σ_k g[n, c, i]·χ[n, c, i, k]·[j = s·i + d·k − p] into zeros of ``shape``: for each tap
    k, the upstream gradient of the windows that chose k is added at the entries k reads
    (the same slices ``taps`` reads), with no per-tap temporary but the mask."""
    grad = numpy.asarray(grad)
    sizes = _sizes(index, shape, sizes)
    pads, slices = _tap_slices(index, shape, sizes, small)
    buf = numpy.zeros(tuple(n + lo + hi for n, (lo, hi) in zip(shape, pads)), dtype=grad.dtype)
    if grad.size:
        hit = numpy.empty(grad.shape, dtype=bool)
        zero = numpy.zeros((), dtype=grad.dtype)
        for t, (_, view) in enumerate(slices):
            numpy.equal(chosen, t, out=hit)
            # where(), not grad·hit (inf·0 would be NaN), and not add(..., where=hit), which
            # NumPy runs several times slower on a strided target
            buf[view] += numpy.where(hit, grad, zero)
    return buf[tuple(slice(lo, lo + n) for n, (lo, _) in zip(shape, pads))]


def window_sum(x: Any, index: tuple[Any, ...], letters: str, sizes: dict[str, int], small: str) -> NDArray[Any]:
    """Σ_k x[index] over the kernel offsets (zero outside x), axes in ``letters`` order (the
    order of ``index``)."""
    x = numpy.asarray(x)
    acc: Any = None
    for _, view in taps(x, index, sizes, small, fill=0):
        acc = numpy.array(view, copy=True) if acc is None else acc + view
    if acc is None:  # no taps: an empty kernel cannot happen (kernel_size >= 1 is checked)
        raise ValueError("window_sum: no kernel offsets")
    return acc


def first_valid(index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str,
                kernel: tuple[int, ...]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Per output position: the first kernel offset (flat, row-major) that reads inside x, and
    whether one exists on every axis.  offset + step·i + d·k >= 0  ⇔  k >= ⌈−(offset + step·i)/d⌉."""
    firsts, ok = [], []
    for ax, length in zip(index, shape):
        if isinstance(ax, str):
            continue
        (pos, step), = [(v, st) for v, st in ax.steps if v not in small]
        (_, dil), = [(v, st) for v, st in ax.steps if v in small]
        i = numpy.arange(sizes[pos])
        start = ax.offset + step * i
        k = numpy.maximum(0, -(start // dil))  # ⌈−start/d⌉ for start < 0, else 0
        firsts.append(k)
        ok.append((k < kernel[len(firsts) - 1]) & (start + dil * k < length))
    dims = len(firsts)
    flat = numpy.zeros([1] * dims, dtype=numpy.intp)
    valid = numpy.ones([1] * dims, dtype=bool)
    for a, (k, v) in enumerate(zip(firsts, ok)):
        shape_a = [1] * dims
        shape_a[a] = k.size
        flat = flat * kernel[a] + k.reshape(shape_a)
        valid = valid & v.reshape(shape_a)
    return flat, valid


def window_max(x: Any, index: tuple[Any, ...], letters: str, sizes: dict[str, int],
               small: str, choose: bool = True) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """The window maximum and the tap torch chooses (flat kernel offset, row-major).

    torch scans each window in row-major order from its first in-bounds tap, with the
    value −inf, and moves its choice to a tap whose value is strictly greater or NaN.  So
    the choice is the first maximum, or the last NaN when there is one, and never padding.
    Without NaN in x this is computed as the maximum (padding read as NaN, which fmax
    skips) and then the first tap equal to it; with NaN, by the scan itself.  With
    ``choose=False`` only the maximum is computed (the choice comes back as None).
    """
    x = numpy.asarray(x)
    sizes = _sizes(index, x.shape, sizes)
    kernel = tuple(sizes[letter] for letter in small)
    out_shape = tuple(sizes[letter] for letter in letters)
    # a tap number fits in one byte for every kernel up to 255 taps (less memory traffic)
    chosen = numpy.empty(out_shape, dtype=numpy.uint8 if prod(kernel) < 256 else numpy.intp)
    if prod(out_shape) == 0:
        return numpy.empty(out_shape, dtype=x.dtype), chosen
    if x.dtype.kind != "f" or numpy.isnan(x).any():
        return _window_max_scan(x, index, sizes, small, kernel, out_shape, chosen)
    views = [view for _, view in taps(x, index, sizes, small, fill=numpy.nan)]  # one padded copy
    best = numpy.array(views[0], copy=True)
    for view in views[1:]:
        numpy.fmax(best, view, out=best)
    if not choose:
        return best, None
    # the first tap equal to the maximum: scan backwards so the earliest match is written last
    hit = numpy.empty(out_shape, dtype=bool)
    for t in range(len(views) - 1, -1, -1):
        numpy.equal(views[t], best, out=hit)
        numpy.copyto(chosen, t, where=hit, casting="unsafe")
    return best, chosen


def _window_max_scan(x: NDArray[Any], index: tuple[Any, ...], sizes: dict[str, int], small: str,
                     kernel: tuple[int, ...], out_shape: tuple[int, ...],
                     chosen: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """torch's scan, vectorised over windows: start at the first in-bounds tap with −inf,
    take strictly greater values (padding reads −inf and never is), then every NaN in order."""
    best = numpy.full(out_shape, -numpy.inf, dtype=x.dtype)
    chosen[...] = first_valid(index, x.shape, sizes, small, kernel)[0]
    for t, (_, view) in enumerate(taps(x, index, sizes, small, fill=-numpy.inf)):
        better = view > best
        numpy.copyto(best, view, where=better)
        numpy.putmask(chosen, better, t)
    if x.dtype.kind == "f":
        for t, (_, view) in enumerate(taps(x, index, sizes, small, fill=-numpy.inf)):
            nan = numpy.isnan(view)
            numpy.copyto(best, view, where=nan)
            numpy.putmask(chosen, nan, t)
    return best, chosen


def flat_index(chosen: NDArray[Any], index: tuple[Any, ...], letters: str, shape: tuple[int, ...],
               small: str, kernel: tuple[int, ...]) -> NDArray[Any]:
    """The flat index (within each plane of x) of the chosen tap: Σ_a (s·i + d·k − p)_a · stride_a."""
    ks = numpy.unravel_index(chosen, kernel) if chosen.size else [chosen] * len(kernel)
    spatial = [(ax, n) for ax, n in zip(index, shape) if not isinstance(ax, str)]
    flat = numpy.zeros(chosen.shape, dtype=numpy.int64)
    for (ax, length), k in zip(spatial, ks):
        (pos, step), = [(v, st) for v, st in ax.steps if v not in small]
        (_, dil), = [(v, st) for v, st in ax.steps if v in small]
        i = numpy.arange(chosen.shape[letters.index(pos)])
        shp = [1] * chosen.ndim
        shp[letters.index(pos)] = i.size
        j = ax.offset + step * i.reshape(shp) + dil * numpy.asarray(k, dtype=numpy.int64)
        flat = flat * length + j
    return flat


def spread(v: Any, small: str, kernel: tuple[int, ...]) -> NDArray[Any]:
    """v[n, c, i] repeated over the kernel offsets as leading axes (small + letters; a
    broadcast view, no copy): every tap of a window receives the same gradient."""
    v = numpy.asarray(v)
    return numpy.broadcast_to(v, tuple(kernel) + v.shape)


def lp_root(u: Any, p: float) -> Any:
    """(sign(u)·relu(|u|))^(1/p), torch's lp_pool tail: u^(1/p), with NaN for u < 0 and
    non-integer 1/p, as torch.pow gives."""
    return numpy.power(u, 1.0 / p)


def lp_root_grad(grad: Any, u: Any, p: float) -> Any:
    """grad·(1/p)·u^(1/p − 1), and 0 where u == 0 (torch's relu(|u|) has derivative 0 there,
    which masks the infinite power)."""
    return numpy.where(u == 0, numpy.zeros((), dtype=numpy.asarray(u).dtype),
                       grad * (numpy.power(u, 1.0 / p - 1.0) / p))
