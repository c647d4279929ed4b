"""Sliding windows on NumPy arrays: the runtime of the generated pooling kernels.

A pooling window reads x at the same affine indices as a convolution,

    x[n, c, s·i + d·k − p]        (one ``_affine.At`` per spatial axis),

so this module takes the convolution runtime's index descriptions (``_affine.at``) and its
padding arithmetic, and adds the reductions a convolution does not need.  x is copied once
into a layout split by stride phase (``_Layout``), where one tap's entries for every output
of every plane are a single contiguous run (``_Runs``, ``taps``); then

* ``window_sum``   — Σ_k over the runs (avg_pool, lp_pool);
* ``window_max``   — the maximum and *which* tap torch chooses (first maximum, last NaN,
  never padding);
* ``scatter_windows`` — the adjoint: each window's gradient added back at every tap (avg,
  lp) or at its chosen tap only (max, the choice made again from x), through the same runs.

Everything here also runs on object arrays of SymPy symbols (the sums), which is how the
exact tests compare a kernel with its index formula.

Owns: window reductions and their scatter.  Imports: NumPy and ``._affine``.
"""

from __future__ import annotations

import functools
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
    starts: tuple[tuple[int, ...], ...]  # per tap (k row-major), where it starts in the split array

    @property
    def split(self) -> bool:
        return any(s > 1 for s in self.steps)

    @functools.cached_property
    def split_shape(self) -> tuple[int, ...]:
        """(phases..., plain axes..., positions per phase...)."""
        phases = tuple(s for s in self.steps if s > 1)
        return phases + tuple((n + lo + hi) // s for n, (lo, hi), s in zip(self.shape, self.pads, self.steps))

    @functools.cached_property
    def parts(self) -> list[tuple[tuple[Any, ...], tuple[slice, ...]]]:
        return list(self._parts())

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
        out = numpy.empty(self.split_shape, dtype=x.dtype)
        lead = len(self.split_shape) - len(self.shape)
        for dst, src in self.parts:
            out[dst] = x[src]
            # the padding: what the part leaves uncovered on each axis of its phase's block
            block = out[dst[:lead]]
            for a, part in enumerate(dst[lead:]):
                if part.start:
                    block[(slice(None),) * a + (slice(0, part.start),)] = fill
                if part.stop < block.shape[a]:
                    block[(slice(None),) * a + (slice(part.stop, None),)] = fill
        return out

    def from_split(self, buf: NDArray[Any], out: NDArray[Any] | None = None) -> NDArray[Any]:
        """The inverse of to_split, the padding cropped (into ``out`` when given)."""
        if out is None:
            out = numpy.empty(self.shape, dtype=buf.dtype)
        for dst, src in self.parts:
            out[src] = buf[dst]
        return out


def _layout(index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str) -> _Layout:
    """The padding around an array of ``shape`` so every window tap falls inside, its phase
    split, and for every kernel offset k (row-major) where that tap starts in the split
    array: s·i + d·k − p on an affine axis, shifted by the padding, at i = 0."""
    pads = _padding(index, shape, sizes, False)
    steps, ext = [], []
    for ax, n, (lo, hi) in zip(index, shape, pads):
        step = 1 if isinstance(ax, str) else _position(ax, small)[1]
        steps.append(step)
        ext.append((lo, hi + (-(n + lo + hi)) % step))
    kernel = [letter for letter in small if any(isinstance(ax, At) and letter in dict(ax.steps) for ax in index)]
    starts = []
    for values in itertools.product(*(range(sizes[letter]) for letter in kernel)):
        fixed = dict(zip(kernel, values))
        phase: list[int] = []
        where: list[int] = []
        for ax, (lo, _), step in zip(index, ext, steps):
            if isinstance(ax, str):
                where.append(0)
                continue
            start = ax.offset + lo + sum(st * fixed[v] for v, st in ax.steps if v in small)
            if step > 1:
                phase.append(start % step)
            where.append(start // step)
        starts.append(tuple(phase) + tuple(where))
    return _Layout(tuple(shape), tuple(ext), tuple(steps), tuple(starts))


@dataclass(frozen=True)
class _Runs:
    """Every tap of a layout as one contiguous run of the flattened split array.

    In the split array a plane (n, c) is a grid of positions q (per affine axis, the padded
    length over the step) in each phase block, and a tap reads the grid shifted by its start
    q₀ and from its phase's block.  Output position i of plane m, read through the whole grid
    (row length G_1, ...), sits at m·P + Σ_a i_a·G_a-stride, so the tap's entries for *every*
    output of *every* plane are the single run  split.flat[start_t : start_t + span]:  one
    long unit-stride loop per tap instead of a short loop per row.  The price is the "wide"
    result: it has an entry for every grid position, of which the first O_a on each axis are
    the outputs and the rest (about d·(K − 1)/s more per axis, the window's reach past
    the last output) are discarded.  Nothing is
    read outside the split array, because a run ends at the last real output.
    """

    starts: tuple[int, ...]  # flat start of each tap, row-major in k
    lead: tuple[int, ...]  # the plain axes (n, c)
    grid: tuple[int, ...]  # positions per affine axis in a plane's grid
    out: tuple[int, ...]  # outputs per affine axis (a corner of the grid)
    span: int  # entries of a wide array up to the last real output

    @property
    def size(self) -> int:
        return prod(self.lead) * prod(self.grid)

    def wide(self, dtype: Any) -> NDArray[Any]:
        return numpy.empty(self.size, dtype=dtype)

    def corner(self, wide: NDArray[Any]) -> NDArray[Any]:
        """The outputs of a wide array (a view)."""
        return wide.reshape(self.lead + self.grid)[(Ellipsis,) + tuple(slice(0, o) for o in self.out)]

    def crop(self, wide: NDArray[Any]) -> NDArray[Any]:
        """The outputs of a wide array, contiguous: the array itself when the grid has no
        other positions, else a copy."""
        if self.grid == self.out:
            return wide.reshape(self.lead + self.grid)
        return numpy.array(self.corner(wide), copy=True)

    def widen(self, a: NDArray[Any]) -> NDArray[Any]:
        """a (outputs) placed in a wide array, zero elsewhere; the first ``span`` entries (a
        itself, flattened, when the grid has no other positions)."""
        if self.grid == self.out:
            return numpy.ascontiguousarray(a).reshape(-1)
        wide = numpy.zeros(self.lead + self.grid, dtype=a.dtype)
        wide[(Ellipsis,) + tuple(slice(0, o) for o in self.out)] = a
        return wide.reshape(-1)[:self.span]


def _runs(layout: _Layout, index: tuple[Any, ...], sizes: dict[str, int], small: str) -> _Runs:
    split_shape = layout.split_shape
    lead_axes = len(split_shape) - len(layout.shape)
    plain = [a for a, ax in enumerate(index) if isinstance(ax, str)]
    if plain != list(range(len(plain))):
        raise ValueError("window runs: the plain axes must lead the index")
    strides = [prod(split_shape[a + 1:]) for a in range(len(split_shape))]
    starts = [sum(i * st for i, st in zip(where, strides)) for where in layout.starts]
    lead = tuple(split_shape[lead_axes:lead_axes + len(plain)])
    grid = tuple(split_shape[lead_axes + len(plain):])
    out = tuple(sizes[_position(ax, small)[0]] for ax in index[len(plain):])
    grid_strides = strides[lead_axes + len(plain):]
    span = 0
    if prod(lead) and prod(out):
        span = (prod(lead) - 1) * prod(grid) + sum((o - 1) * st for o, st in zip(out, grid_strides)) + 1
    return _Runs(tuple(starts), lead, grid, out, span)


def taps(src: NDArray[Any], runs: _Runs) -> list[tuple[int, NDArray[Any]]]:
    """(start, run) for each tap: its run of the flattened split array, row-major in k (the
    order torch scans)."""
    return [(t, src[t:t + runs.span]) for t in runs.starts]


@dataclass(frozen=True)
class _Plan:
    """One window read: the layout of the split input and its tap runs."""

    layout: _Layout
    runs: _Runs
    out_shape: tuple[int, ...]  # (n, c, positions...)
    first: NDArray[Any]  # per output position, its first tap that reads inside x (first_valid)


def _plan(index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str) -> _Plan:
    return _cached_plan(tuple(index), tuple(int(n) for n in shape), tuple(sorted(sizes.items())), small)


@functools.lru_cache(maxsize=256)  # a pooling call runs on blocks of planes: the same plan each time
def _cached_plan(index: tuple[Any, ...], shape: tuple[int, ...], size_items: tuple[tuple[str, int], ...],
                 small: str) -> _Plan:
    sizes = _sizes(index, shape, dict(size_items))
    layout = _layout(index, shape, sizes, small)
    runs = _runs(layout, index, sizes, small)
    first = first_valid(index, sizes, small, tuple(sizes[letter] for letter in small))
    return _Plan(layout, runs, runs.lead + runs.out, first)


def _split(plan: _Plan, x: NDArray[Any], fill: Any) -> tuple[NDArray[Any], bool]:
    """x flattened in the split layout (padding read as ``fill``), and whether that is a copy."""
    src = plan.layout.to_split(x, fill)
    copied = src is not x
    return numpy.ascontiguousarray(src).reshape(-1), copied or not x.flags.c_contiguous


def _window_max(plan: _Plan, src: NDArray[Any], choose: bool) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """The wide maximum and, with ``choose``, the wide chosen tap (see window_max)."""
    runs = plan.runs
    views = [run for _, run in taps(src, runs)]
    wide = runs.wide(src.dtype)
    best = wide[:runs.span]
    numpy.copyto(best, views[0])
    for view in views[1:]:
        numpy.maximum(best, view, out=best)
    if not choose:
        return wide, None
    # The first tap equal to the maximum is the number of taps before it that differ from it:
    # chosen = Σ_t [view_0 ≠ best and … and view_t ≠ best], t < T − 1, branch-free (masked
    # writes with scattered masks are several times slower in NumPy).  A tap number fits in
    # one byte for every kernel up to 255 taps.
    picked = numpy.zeros(runs.size, dtype=numpy.uint8 if len(views) < 256 else numpy.intp)
    count = picked[:runs.span]
    hit = numpy.empty(runs.span, dtype=bool)
    before = numpy.ones(runs.span, dtype=bool)
    for view in views[:-1]:
        numpy.not_equal(view, best, out=hit)
        numpy.logical_and(before, hit, out=before)
        numpy.add(count, before, out=count, casting="unsafe")
    corner = runs.corner(wide)
    if numpy.isnan(corner).any():  # NaN: the last NaN tap (padding is never NaN)
        for t, view in enumerate(views):
            numpy.copyto(count, t, where=numpy.isnan(view), casting="unsafe")
    low = corner == -numpy.inf
    if low.any():  # every real entry −inf (padding may also read −inf): the first in-bounds tap
        first = numpy.broadcast_to(plan.first, plan.out_shape)
        numpy.copyto(runs.corner(picked), first, where=low, casting="unsafe")
    return wide, picked


def _place(flat: NDArray[Any], runs: _Runs, written: set[int], start: int, run: NDArray[Any],
           value: NDArray[Any], hit: NDArray[Any] | None = None, part: NDArray[Any] | None = None) -> None:
    """Add value (times hit, when given; ``part`` is scratch for that product) at one tap's run
    of the split buffer ``flat``.  The first run into a phase block is assigned and the rest of
    that block zeroed, which saves zeroing the whole buffer and one read of it; later runs add
    (windows overlap)."""
    block = start // runs.size
    if block not in written:
        written.add(block)
        flat[block * runs.size:start] = 0
        flat[start + runs.span:(block + 1) * runs.size] = 0
        if hit is None:
            run[...] = value
        else:
            numpy.multiply(value, hit, out=run)
    elif hit is None:
        run += value
    else:
        run += numpy.multiply(value, hit, out=part)


def _zero_unwritten(flat: NDArray[Any], runs: _Runs, written: set[int]) -> None:
    for block in range(flat.size // runs.size if runs.size else 0):
        if block not in written:
            flat[block * runs.size:(block + 1) * runs.size] = 0


def scatter_windows(grad: Any, index: tuple[Any, ...], shape: tuple[int, ...], sizes: dict[str, int], small: str,
                    choose_from: Any = None, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """The adjoint of reading windows: Σ_i Σ_k v[n, c, i, k]·[j = s·i + d·k − p] into zeros of
    ``shape``, through the same layout and tap runs the reads use, where v is the upstream
    gradient at every tap (avg_pool, lp_pool: v[..., k] = grad) or, given ``choose_from``
    (max_pool's input x), only at each window's chosen tap (v = grad·χ, χ chosen from x as
    window_max chooses).  The wide gradient is zero off the outputs, so the discarded grid
    positions add nothing."""
    grad = numpy.asarray(grad)
    plan = _plan(index, tuple(shape), sizes, small)
    runs = plan.runs
    written: set[int] = set()  # phase blocks holding a tap's run already
    if choose_from is None:
        buf = numpy.empty(plan.layout.split_shape, dtype=grad.dtype)
        flat = buf.reshape(-1)
        if runs.span:
            g = runs.widen(grad)
            for start, run in taps(flat, runs):
                _place(flat, runs, written, start, run, g)
    else:
        x = numpy.asarray(choose_from)
        src, private = _split(plan, x, -numpy.inf)
        # Once the choice is made the split copy of x is not read again: the gradient is
        # built in it.  Unless it is x itself (no padding, no phase split) or of another dtype.
        if private and src.dtype == grad.dtype:
            buf = src.reshape(plan.layout.split_shape)
        else:
            direct = out is not None and plan.layout.split_shape == tuple(shape)
            buf = out if out is not None and direct else numpy.empty(plan.layout.split_shape, dtype=grad.dtype)
        flat = buf.reshape(-1)
        if runs.span:
            _, picked = _window_max(plan, src, True)
            assert picked is not None
            g = runs.widen(grad)
            pick = picked[:runs.span]
            hit = numpy.empty(runs.span, dtype=bool)
            if grad.dtype.kind == "f" and not numpy.isfinite(grad).all():
                zero = numpy.zeros((), dtype=grad.dtype)  # where(), as inf·0 would make NaN off the choice
                for k, (start, run) in enumerate(taps(flat, runs)):
                    _place(flat, runs, written, start, run, numpy.where(pick == k, g, zero))
            else:
                part = numpy.empty(runs.span, dtype=grad.dtype)
                for k, (start, run) in enumerate(taps(flat, runs)):
                    numpy.equal(pick, k, out=hit)
                    _place(flat, runs, written, start, run, g, hit, part)
    _zero_unwritten(flat, runs, written)
    if buf is out or (out is None and buf.shape == tuple(shape)):  # no padding, no split: buf is the answer
        return buf
    return plan.layout.from_split(buf, out)


def window_sum(x: Any, index: tuple[Any, ...], letters: str, sizes: dict[str, int], small: str) -> NDArray[Any]:
    """Σ_k x[index] over the kernel offsets (zero outside x), axes in ``letters`` order (the
    order of ``index``)."""
    x = numpy.asarray(x)
    plan = _plan(index, x.shape, sizes, small)
    src, _ = _split(plan, x, 0)
    runs = plan.runs
    wide = runs.wide(x.dtype)
    acc = wide[:runs.span]
    if runs.span:
        views = [run for _, run in taps(src, runs)]
        numpy.copyto(acc, views[0])
        for view in views[1:]:
            numpy.add(acc, view, out=acc)
    return runs.crop(wide)


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
    plan = _plan(index, x.shape, sizes, small)
    if prod(plan.out_shape) == 0:
        return (numpy.empty(plan.out_shape, dtype=x.dtype),
                numpy.empty(plan.out_shape, dtype=numpy.intp) if choose else None)
    src, _ = _split(plan, x, -numpy.inf)  # one padded copy
    wide, picked = _window_max(plan, src, choose)
    return plan.runs.crop(wide), None if picked is None else plan.runs.crop(picked)


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
