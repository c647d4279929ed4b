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
* ``scatter_windows`` — the adjoint: each window's gradient added back at every tap (avg,
  lp) or at its chosen tap only (max), through the same tap slices ``taps`` reads.

Everything here also runs on object arrays of SymPy symbols (the sums), which is how the
exact tests compare a kernel with its index formula.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy
from numpy.typing import NDArray

from ._affine import At, _padding, _sizes

__all__ = ["taps", "window_sum", "window_max", "scatter_windows", "prod", "lp_root", "lp_root_grad",
           "first_valid", "flat_index"]


def prod(values: Any) -> int:
    return math.prod(int(v) for v in values)


def _position(ax: At, small: str) -> tuple[str, int, int]:
    """A window axis s·i + d·k − p: its position letter i, the stride s and the dilation d."""
    (pos, step), = [(v, st) for v, st in ax.steps if v not in small]
    (_, dil), = [(v, st) for v, st in ax.steps if v in small]
    return pos, step, dil


@dataclass(frozen=True)
class _Layout:
    """x padded for every tap to fall inside, and split by stride phase on each affine axis.

    On an affine axis with position step s, padded entry j lives at phase j mod s, position
    ⌊j/s⌋, and the phase axes lead.  A tap's positions s·i + o (o its offset) are then phase
    o mod s, positions ⌊o/s⌋ + i: a unit-stride slice, which NumPy's loops run several times
    faster than the stride-s view of the unsplit array.
    """

    shape: tuple[int, ...]  # of x
    pads: tuple[tuple[int, int], ...]  # zeros before and after, the end rounded up to a multiple of the step
    steps: tuple[int, ...]  # position step per axis (1 on plain axes)
    slices: tuple[tuple[tuple[int, ...], tuple[Any, ...]], ...]  # (k, index into the split array) per tap

    @property
    def split(self) -> bool:
        return any(s > 1 for s in self.steps)

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.shape, self.pads))

    def _split_shape(self) -> tuple[int, ...]:
        padded = self.padded_shape
        phases = tuple(s for s in self.steps if s > 1)
        return phases + tuple(n // s for n, s in zip(padded, self.steps))

    def _parts(self) -> Iterator[tuple[tuple[Any, ...], tuple[slice, ...]]]:
        """(where in the split array, which entries of x) for every phase combination: on an
        axis with step s and padding lo, x's entries m ≡ ph − lo (mod s) go to phase ph,
        from position ⌊(m + lo)/s⌋ on."""
        per_axis: list[list[tuple[int | None, slice, slice]]] = []
        for n, (lo, _), s in zip(self.shape, self.pads, self.steps):
            if s == 1:
                per_axis.append([(None, slice(lo, lo + n), slice(None))])
                continue
            options: list[tuple[int | None, slice, slice]] = []
            for ph in range(s):
                m0 = (ph - lo) % s
                count = len(range(m0, n, s))
                q0 = (m0 + lo) // s
                options.append((ph, slice(q0, q0 + count), slice(m0, n, s)))
            per_axis.append(options)
        for combo in itertools.product(*per_axis):
            phases = tuple(ph for ph, _, _ in combo if ph is not None)
            yield phases + tuple(dst for _, dst, _ in combo), tuple(src for _, _, src in combo)

    def to_split(self, x: NDArray[Any], fill: Any) -> NDArray[Any]:
        """x in the split layout, padding read as ``fill``: one pass over x, no padded copy."""
        if not self.split and not any(lo or hi for lo, hi in self.pads):
            return x
        out = numpy.empty(self._split_shape(), dtype=x.dtype)
        lead = len(self._split_shape()) - len(self.shape)
        for dst, src in self._parts():
            out[dst] = x[src]
            # the padding: what the part leaves uncovered on each axis of its phase's block
            block = out[dst[:lead]]
            for a, part in enumerate(dst[lead:]):
                if part.start:
                    block[(slice(None),) * a + (slice(0, part.start),)] = fill
                if part.stop < block.shape[a]:
                    block[(slice(None),) * a + (slice(part.stop, None),)] = fill
        return out

    def zeros(self, dtype: Any) -> NDArray[Any]:
        return numpy.zeros(self._split_shape(), dtype=dtype)

    def from_split(self, buf: NDArray[Any], out: NDArray[Any] | None = None) -> NDArray[Any]:
        """The inverse of to_split, the padding cropped (into ``out`` when given)."""
        if out is None:
            out = numpy.empty(self.shape, dtype=buf.dtype)
        for dst, src in self._parts():
            out[src] = buf[dst]
        return out

    @property
    def inner(self) -> tuple[slice, ...]:
        return tuple(slice(lo, lo + n) for n, (lo, _) in zip(self.shape, self.pads))


def _layout(index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str,
            split: bool = True) -> _Layout:
    """The padding around an array of ``shape`` so every window tap falls inside, its phase
    split, and for every kernel offset k (row-major) the part of the split array that tap
    reads: s·i + d·k − p on an affine axis, shifted by the padding."""
    pads = _padding(index, shape, sizes, False)
    steps, ext = [], []
    for ax, n, (lo, hi) in zip(index, shape, pads):
        step = 1 if isinstance(ax, str) else _position(ax, small)[1]
        steps.append(step if split else 1)
        ext.append((lo, hi + (-(n + lo + hi)) % step))
    kernel = [letter for letter in small if any(isinstance(ax, At) and letter in dict(ax.steps) for ax in index)]
    out = []
    for values in itertools.product(*(range(sizes[letter]) for letter in kernel)):
        fixed = dict(zip(kernel, values))
        phase: list[int] = []
        view: list[slice] = []
        for ax, (lo, _), step in zip(index, ext, steps):
            if isinstance(ax, str):
                view.append(slice(None))
                continue
            letter, stride, _ = _position(ax, small)
            start = ax.offset + lo + sum(st * fixed[v] for v, st in ax.steps if v in small)
            if step > 1:
                phase.append(start % step)
                view.append(slice(start // step, start // step + sizes[letter]))
            else:
                view.append(slice(start, start + stride * (sizes[letter] - 1) + 1, stride))
        out.append((values, tuple(phase) + tuple(view)))
    return _Layout(tuple(shape), tuple(ext), tuple(steps), tuple(out))


def taps(x: Any, index: tuple[Any, ...], sizes: dict[str, int], small: str,
         fill: Any = 0) -> Iterator[tuple[tuple[int, ...], NDArray[Any]]]:
    """(k, view) for every kernel offset k (the ``small`` letters, row-major), where view is
    x[index] at that k with one axis per axis of x (a plain axis, or the position letter of
    an affine axis); entries outside x read as ``fill``."""
    x = numpy.asarray(x)
    sizes = _sizes(index, x.shape, sizes)
    layout = _layout(index, x.shape, sizes, small, split=True)
    src = layout.to_split(x, fill)
    for values, view in layout.slices:
        yield values, src[view]


def scatter_windows(grad: Any, index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str,
                    chosen: NDArray[Any] | None = None, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """The adjoint of reading windows: Σ_i Σ_k v[n, c, i, k]·[j = s·i + d·k − p] into zeros of
    ``shape``, through the same layout and tap slices ``taps`` reads, where v is the
    upstream gradient at every tap (avg_pool, lp_pool: v[..., k] = grad) or, given
    ``chosen``, only at each window's chosen tap (max_pool: v = grad·χ)."""
    grad = numpy.asarray(grad)
    sizes = _sizes(index, shape, sizes)
    layout = _layout(index, shape, sizes, small)
    buf = layout.zeros(grad.dtype)
    if grad.size and chosen is None:
        for _, view in layout.slices:
            buf[view] += grad
    elif grad.size and chosen is not None:
        hit = numpy.empty(grad.shape, dtype=bool)
        part = numpy.empty(grad.shape, dtype=grad.dtype)
        finite = grad.dtype.kind == "f" and bool(numpy.isfinite(grad).all())
        for t, (_, view) in enumerate(layout.slices):
            numpy.equal(chosen, t, out=hit)
            if finite:  # g·[chosen = t], branch-free; where() keeps inf·0 from making NaN otherwise
                numpy.multiply(grad, hit, out=part)
            else:
                part = numpy.where(hit, grad, numpy.zeros((), dtype=grad.dtype))
            buf[view] += part
    return layout.from_split(buf, out)


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


def first_valid(index: tuple[Any, ...], sizes: dict[str, int], small: str, kernel: tuple[int, ...]) -> NDArray[Any]:
    """Per output position, the first kernel offset (flat, row-major) that reads inside x:
    offset + s·i + d·k >= 0  ⇔  k >= ⌈−(offset + s·i)/d⌉ on every axis."""
    flat = numpy.zeros((), dtype=numpy.intp)
    for ax, kern in zip([ax for ax in index if not isinstance(ax, str)], kernel):
        pos, step, dil = _position(ax, small)
        start = ax.offset + step * numpy.arange(sizes[pos])
        k = numpy.maximum(0, -(start // dil))  # ⌈−start/d⌉ for start < 0, else 0
        flat = flat[..., numpy.newaxis] * kern + k
    return flat


def window_max(x: Any, index: tuple[Any, ...], letters: str, sizes: dict[str, int],
               small: str, choose: bool = True) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """The window maximum and the tap torch chooses (flat kernel offset, row-major), for a
    floating-point x.

    torch scans each window in row-major order from its first in-bounds tap, with the
    value −inf, and moves its choice to a tap whose value is strictly greater or NaN.  So
    the value is the maximum (NaN when the window holds one), and the choice is the first
    tap equal to the maximum, or the last NaN, and never padding.  That is computed here
    as: the maximum over the taps (padding reads −inf, NaN propagates); the first tap equal
    to it; where the maximum is −inf (every real entry −inf), the first in-bounds tap; where
    it is NaN, the last NaN tap.  With ``choose=False`` only the value is computed.
    """
    x = numpy.asarray(x)
    sizes = _sizes(index, x.shape, sizes)
    kernel = tuple(sizes[letter] for letter in small)
    out_shape = tuple(sizes[letter] for letter in letters)
    if prod(out_shape) == 0:
        return numpy.empty(out_shape, dtype=x.dtype), numpy.empty(out_shape, dtype=numpy.intp) if choose else None
    views = [view for _, view in taps(x, index, sizes, small, fill=-numpy.inf)]  # one padded copy
    best = numpy.array(views[0], copy=True)
    for view in views[1:]:
        numpy.maximum(best, view, out=best)
    if not choose:
        return best, None
    # The first tap equal to the maximum is the number of taps before it that differ from it:
    # chosen = Σ_t [view_0 ≠ best and … and view_t ≠ best], t < T − 1, branch-free (masked
    # writes with scattered masks are several times slower in NumPy).  A tap number fits in
    # one byte for every kernel up to 255 taps.
    chosen = numpy.zeros(out_shape, dtype=numpy.uint8 if len(views) < 256 else numpy.intp)
    hit = numpy.empty(out_shape, dtype=bool)
    before = numpy.ones(out_shape, dtype=bool)
    for view in views[:-1]:
        numpy.not_equal(view, best, out=hit)
        numpy.logical_and(before, hit, out=before)
        numpy.add(chosen, before, out=chosen, casting="unsafe")
    numpy.equal(best, -numpy.inf, out=hit)
    if hit.any():  # every real entry −inf (padding may also read −inf): the first in-bounds tap
        first = numpy.broadcast_to(first_valid(index, sizes, small, kernel), out_shape)
        numpy.copyto(chosen, first, where=hit, casting="unsafe")
    numpy.isnan(best, out=hit)
    if hit.any():  # NaN: the last NaN tap (padding is never NaN)
        for t, view in enumerate(views):
            numpy.copyto(chosen, t, where=numpy.isnan(view), casting="unsafe")
    return best, chosen


def flat_index(chosen: NDArray[Any], index: tuple[Any, ...], letters: str, shape: tuple[int, ...],
               small: str, kernel: tuple[int, ...]) -> NDArray[Any]:
    """The flat index (within each plane of x) of the chosen tap: Σ_a (s·i + d·k − p)_a · stride_a."""
    ks = numpy.unravel_index(chosen, kernel) if chosen.size else [chosen] * len(kernel)
    spatial = [(ax, n) for ax, n in zip(index, shape) if not isinstance(ax, str)]
    flat = numpy.zeros(chosen.shape, dtype=numpy.int64)
    for (ax, length), k in zip(spatial, ks):
        pos, step, dil = _position(ax, small)
        i = numpy.arange(chosen.shape[letters.index(pos)])
        shp = [1] * chosen.ndim
        shp[letters.index(pos)] = i.size
        j = ax.offset + step * i.reshape(shp) + dil * numpy.asarray(k, dtype=numpy.int64)
        flat = flat * length + j
    return flat


def lp_root(u: Any, p: float) -> Any:
    """(sign(u)·relu(|u|))^(1/p), torch's lp_pool tail: u^(1/p), with NaN for u < 0 and
    non-integer 1/p, as torch.pow gives."""
    return numpy.power(u, 1.0 / p)


def lp_root_grad(grad: Any, u: Any, p: float) -> Any:
    """grad·(1/p)·u^(1/p − 1), and 0 where u == 0 (torch's relu(|u|) has derivative 0 there,
    which masks the infinite power)."""
    return numpy.where(u == 0, numpy.zeros((), dtype=numpy.asarray(u).dtype),
                       grad * (numpy.power(u, 1.0 / p - 1.0) / p))
