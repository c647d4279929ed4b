"""Sums over affine indices, on NumPy arrays: the runtime of the generated convolution kernels.

A generated kernel evaluates terms such as

    out[n, g, o, i] = Σ_c Σ_k  x[n, g, c, s·i + d·k − p] · w[g, o, c, k]

where every index of every array is an affine function of the summation and output
letters, and every array reads as zero outside its index range (that is what padding is).
Three moves do all of it:

* ``gather``  — read an array at affine indices into a new contiguous array with one axis
  per letter (for convolution this is im2col): one strided view, one copy;
* ``gemm``    — an einsum of two arrays as one batched matrix product (BLAS);
* ``scatter`` — the adjoint of ``gather``: add an array into a zero target at affine indices
  (col2im), one strided slice per value of the small letters (the kernel offsets), never
  ``numpy.add.at``.

``derivations/affine.py`` prints kernels made of these calls from SymPy's index
expressions.  Everything here also works on object arrays, which is how the tests run a
kernel on arrays of SymPy symbols and compare it with the index formula exactly.

Owns: gather / gemm / scatter on affine indices.  Imports: NumPy only.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

__all__ = ["At", "at", "gather", "scatter", "gemm", "copies", "shared_operand", "align", "total", "add", "place"]


@dataclass(frozen=True)
class At:
    """One axis indexed by ``offset + Σ step·letter`` (steps >= 1)."""

    offset: int
    steps: tuple[tuple[str, int], ...]

    def span(self, sizes: dict[str, int]) -> tuple[int, int]:
        """Smallest and largest index read (or written) on this axis."""
        hi = self.offset + sum(step * (sizes[letter] - 1) for letter, step in self.steps)
        return self.offset, hi


def at(offset: int, **steps: int) -> At:
    """``at(-p, i=s, k=d)`` is the index s·i + d·k − p."""
    for letter, step in steps.items():
        if int(step) < 1:
            raise ValueError(f"affine index step for {letter!r} must be >= 1, got {step}")
    return At(int(offset), tuple((letter, int(step)) for letter, step in steps.items()))


Axis = str | At


def _sizes(index: tuple[Axis, ...], shape: tuple[int, ...], sizes: dict[str, int]) -> dict[str, int]:
    out = dict(sizes)
    for ax, n in zip(index, shape):
        if isinstance(ax, str):
            if out.setdefault(ax, n) != n:
                raise ValueError(f"letter {ax!r} has size {out[ax]} and {n}")
    return out


def _padding(index: tuple[Axis, ...], shape: tuple[int, ...], sizes: dict[str, int],
             empty: bool) -> list[tuple[int, int]]:
    """Zeros needed before and after each axis so every affine index falls inside."""
    pads = []
    for ax, n in zip(index, shape):
        if isinstance(ax, str) or empty:
            pads.append((0, 0))
            continue
        lo, hi = ax.span(sizes)
        pads.append((max(0, -lo), max(0, hi - (n - 1))))
    return pads


def _zeros(shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
    # numpy.zeros of object dtype holds the int 0, which SymPy treats as exact zero.
    return numpy.zeros(shape, dtype=dtype)


def gather(x: Any, index: tuple[Axis, ...], letters: str, sizes: dict[str, int]) -> NDArray[Any]:
    """``out[letters] = x[index(letters)]``, zero where an index falls outside ``x``.

    ``index`` gives, per axis of ``x``, a letter or an affine ``At``; ``sizes`` gives the
    size of every letter that is not a plain axis of ``x``.  The result is a new
    C-contiguous array whose axes follow ``letters``.
    """
    x = numpy.asarray(x)
    if len(index) != x.ndim:
        raise ValueError(f"gather: {len(index)} indices for a {x.ndim}-d array")
    sizes = _sizes(index, x.shape, sizes)
    out_shape = tuple(sizes[letter] for letter in letters)
    out = numpy.empty(out_shape, dtype=x.dtype)
    if out.size == 0:
        return out
    pads = _padding(index, x.shape, sizes, False)
    if any(lo or hi for lo, hi in pads):
        src = _zeros(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads)), x.dtype)
        src[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pads))] = x
    else:
        src = x
    # A strided view with one axis per letter: a plain axis keeps its stride, an affine
    # axis gives each of its letters step × the axis stride, starting at offset + pad.
    start = []
    view_strides = {letter: 0 for letter in letters}
    for ax, stride, (lo, _) in zip(index, src.strides, pads):
        if isinstance(ax, str):
            start.append(slice(None))
            view_strides[ax] += stride
        else:
            start.append(slice(ax.offset + lo, None))
            for letter, step in ax.steps:
                view_strides[letter] += step * stride
    base = src[tuple(start)]
    view = as_strided(base, shape=out_shape, strides=tuple(view_strides[letter] for letter in letters),
                      writeable=False)
    numpy.copyto(out, view)
    return out


def _clip(begin: int, step: int, n: int, size: int) -> tuple[slice, slice] | None:
    """Positions begin + step·t, t = 0 .. n−1, kept inside [0, size): the target and the
    source slices, or None when none is inside."""
    first = -(begin // step) if begin < 0 else 0
    last = min(n - 1, (size - 1 - begin) // step)
    if last < first:
        return None
    return slice(begin + step * first, begin + step * last + 1, step), slice(first, last + 1)


def scatter(v: Any, letters: str, index: tuple[Axis, ...], shape: tuple[int, ...],
            small: str = "", overwrite: bool = False) -> NDArray[Any]:
    """The adjoint of ``gather``: ``out[index(letters)] += v[letters]`` into zeros of ``shape``;
    entries that land outside ``shape`` are dropped.

    On an affine axis several letters can hit the same index, so one letter per axis is
    added as a strided slice (positions distinct, no overlap) and the others, the
    ``small`` ones (kernel offsets), are looped over: K^D slice additions in all, each
    clipped to the part that lands inside ``out``.

    ``overwrite=True`` lets the call change ``v`` (a temporary of the caller's).  It then
    adds whole planes at once where the last two axes allow it (``_planes``).
    """
    v = numpy.asarray(v)
    shape = tuple(shape)
    plain = [ax for ax in index if isinstance(ax, str)]
    if len(plain) + sum(len(ax.steps) for ax in index if isinstance(ax, At)) != len(letters):
        raise ValueError(f"scatter: letters {letters!r} do not match the index")
    if not v.size:
        return _zeros(shape, v.dtype)
    if overwrite:
        plan = _planes(letters, index, shape, small, v.shape, v.strides, v.itemsize)
        if plan is not None:
            return _scatter_planes(v, shape, plan)
    sizes = dict(zip(letters, v.shape))
    loops, vector, order = _scatter_axes(letters, index, sizes, small)
    out = _zeros(shape, v.dtype)
    vt = v.transpose([letters.index(letter) for letter in order + loops])
    affine_axes = [(k, ax) for k, ax in enumerate(index) if isinstance(ax, At)]
    for values in itertools.product(*(range(sizes[letter]) for letter in loops)):
        fixed = dict(zip(loops, values))
        target: list[slice] = [slice(None)] * len(index)
        source: list[slice] = [slice(None)] * len(index)
        for (k, ax), (vec, step) in zip(affine_axes, vector):
            begin = ax.offset + sum(s * fixed[letter] for letter, s in ax.steps if letter != vec)
            clipped = _clip(begin, step, sizes[vec], shape[k])
            if clipped is None:
                break
            target[k], source[k] = clipped
        else:
            block = vt[(Ellipsis,) + values] if values else vt
            out[tuple(target)] += block[tuple(source)]
    return out


def _scatter_axes(letters: str, index: tuple[Axis, ...], sizes: dict[str, int],
                  small: str) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """Per affine axis the letter added as a slice and its step (``vector``), the letters
    looped over (``loops``), and the target's axes as letters (``order``: a plain letter or
    the vector letter)."""
    loops: list[str] = []
    vector: list[tuple[str, int]] = []
    for ax in index:
        if isinstance(ax, At):
            # Vectorise over the letter that is not small (the largest, if none is named).
            cands = [letter for letter, _ in ax.steps if letter not in small] or [letter for letter, _ in ax.steps]
            vec = max(cands, key=lambda letter: sizes[letter])
            vector.append((vec, dict(ax.steps)[vec]))
            loops += [letter for letter, _ in ax.steps if letter != vec]
    order = []
    vec_iter = iter(vector)
    for ax in index:
        order.append(ax if isinstance(ax, str) else next(vec_iter)[0])
    return loops, vector, order


class _PlanesPlan(NamedTuple):
    """What ``_scatter_planes`` does, worked out once per letters, index, shapes and strides."""

    zero: list[tuple[Any, ...]]  # entries of v set to zero first
    perm: tuple[int, ...]  # v's axes as (target's leading axes, loops, row letter, column letter)
    plane: int  # entries of v's (row, column) plane
    steps: tuple[int, int]  # the row and column letters' steps: the phases
    phase: tuple[int, int]  # a phase's (largest) size
    adds: list[tuple[int, int, list[tuple[tuple[Any, ...], tuple[Any, ...]]]]]  # per phase (a, b): (target, source)


@functools.lru_cache(maxsize=256)
def _planes(letters: str, index: tuple[Axis, ...], shape: tuple[int, ...], small: str, v_shape: tuple[int, ...],
            v_strides: tuple[int, ...], itemsize: int) -> _PlanesPlan | None:
    """``scatter`` with each addition one unit-stride run per (row, column) plane: its plan,
    or None where the layout does not allow it.

    This needs the last two axes affine and ``v`` holding each (row letter, column letter)
    plane contiguously.  With steps s_r and s_c on those letters, the target splits into
    s_r·s_c phases (rows ≡ a mod s_r, columns ≡ b mod s_c); a kernel offset writes into one
    phase, at unit steps there.  When ``v``'s rows are exactly as long as a phase's (a
    "same"-size convolution's input gradient: W/s_c columns), an entry of ``v`` at flat
    position t of its plane lands at flat position start + t of the phase's plane, so one
    slice addition per kernel offset does a whole plane, rather than one short run per
    row, once ``v``'s entries whose column falls outside the phase (which would wrap onto
    a neighbouring row) are set to zero; rows outside are cut off the run's ends.  With
    unit steps the one phase is the target itself; else the phases are summed one at a
    time in a buffer of a phase's size and copied into their rows and columns of the target.
    """
    if len(index) < 2 or not all(isinstance(ax, At) for ax in index[-2:]):
        return None
    sizes = dict(zip(letters, v_shape))
    loops, vector, order = _scatter_axes(letters, index, sizes, small)
    ax_r, ax_c = index[-2], index[-1]
    assert isinstance(ax_r, At) and isinstance(ax_c, At)
    (vr, sr), (vc, sc) = vector[-2], vector[-1]
    height, width = shape[-2:]
    rows, cols = -(-height // sr), -(-width // sc)  # a phase's (largest) size
    n_r, n_c = sizes[vr], sizes[vc]
    kr, kc = letters.index(vr), letters.index(vc)
    if vr == vc or n_c != cols or v_strides[kc] != itemsize or (n_r > 1 and v_strides[kr] != n_c * itemsize):
        return None
    # The entries whose column lands outside the phase, per value of the column axis's
    # other letters (the kernel's column offsets).
    zero = []
    col_loops = [letter for letter, _ in ax_c.steps if letter != vc]
    for values in itertools.product(*(range(sizes[letter]) for letter in col_loops)):
        fixed = dict(zip(col_loops, values))
        shift = (ax_c.offset + sum(s * fixed[letter] for letter, s in ax_c.steps if letter != vc)) // sc
        sel: list[Any] = [slice(None)] * len(letters)
        for letter, value in fixed.items():
            sel[letters.index(letter)] = value
        for lo, hi in ((0, min(n_c, -shift)), (max(0, cols - shift), n_c)):
            if lo < hi:
                sel[kc] = slice(lo, hi)
                zero.append(tuple(sel))
    lead = len(index) - 2
    plane = rows * cols
    adds: dict[tuple[int, int], list[tuple[tuple[Any, ...], tuple[Any, ...]]]] = {}
    affine_axes = [(k, ax) for k, ax in enumerate(index) if isinstance(ax, At)]
    for values in itertools.product(*(range(sizes[letter]) for letter in loops)):
        fixed = dict(zip(loops, values))
        target: list[Any] = [slice(None)] * lead
        source: list[slice] = [slice(None)] * lead
        begins = []
        for (k, ax), (vec, step) in zip(affine_axes, vector):
            begin = ax.offset + sum(s * fixed[letter] for letter, s in ax.steps if letter != vec)
            if k < lead:
                clipped = _clip(begin, step, sizes[vec], shape[k])
                if clipped is None:
                    break
                target[k], source[k] = clipped
            else:
                begins.append(begin)
        else:
            (a, q_r), (b, q_c) = (begins[0] % sr, begins[0] // sr), (begins[1] % sc, begins[1] // sc)
            # source rows whose phase row q_r + i is inside [0, rows)
            first, last = max(0, -q_r), min(n_r, rows - q_r)
            start = q_r * cols + q_c  # where the plane's entry 0 lands
            lo, hi = max(first * n_c, -start), min(last * n_c, plane - start)
            if lo < hi:
                adds.setdefault((a, b), []).append((tuple(target) + (slice(start + lo, start + hi),),
                                                    tuple(source) + values + (slice(lo, hi),)))
    perm = tuple([letters.index(letter) for letter in order[:-2] + loops] + [kr, kc])
    # Only the phases a kernel offset writes: the others stay zero (the target starts as zeros),
    # so the work follows the kernel and the target, not s_r·s_c (a stride of 1000 is 10^6 phases).
    phases = [(a, b, adds[a, b]) for a, b in sorted(adds) if a < height and b < width]
    return _PlanesPlan(zero, perm, n_r * n_c, (sr, sc), (rows, cols), phases)


def _scatter_planes(v: NDArray[Any], shape: tuple[int, ...], plan: _PlanesPlan) -> NDArray[Any]:
    for sel in plan.zero:
        v[sel] = 0
    vt = v.transpose(plan.perm)
    flat_v = as_strided(vt, shape=vt.shape[:-2] + (plan.plane,), strides=vt.strides[:-2] + (v.itemsize,),
                        writeable=False)
    (sr, sc), (rows, cols) = plan.steps, plan.phase
    phased = sr * sc > 1
    out = _zeros(shape, v.dtype)
    buffer = _zeros(shape[:-2] + (rows, cols), v.dtype) if phased else out
    flat_out = buffer.reshape(shape[:-2] + (rows * cols,))
    # Whole-plane runs are longer than NumPy's ufunc buffer would be useful for: with a
    # buffer larger than a run, NumPy copies the strided operands through it.
    old_bufsize = numpy.getbufsize()
    numpy.setbufsize(16)
    try:
        for n, (a, b, adds) in enumerate(plan.adds):
            if phased and n:
                buffer.fill(0)
            for target_at, source_at in adds:
                flat_out[target_at] += flat_v[source_at]
            if phased:
                part = out[..., a::sr, b::sc]
                part[...] = buffer[..., :part.shape[-2], :part.shape[-1]]
    finally:
        numpy.setbufsize(old_bufsize)
    return out


def _mergeable(shape: tuple[int, ...], strides: tuple[int, ...], groups: list[list[int]]) -> list[int] | None:
    """The stride of each group of axes merged into one axis, or None when a group cannot be
    viewed as one axis (its memory is not evenly spaced)."""
    out = []
    for group in groups:
        real = [ax for ax in group if shape[ax] != 1]
        for a, b in zip(real, real[1:]):
            if strides[a] != strides[b] * shape[b]:
                return None
        out.append(strides[real[-1]] if real else 0)
    return out


class _Spec(NamedTuple):
    """What the product's plan depends on: an operand's shape and strides."""

    shape: tuple[int, ...]
    strides: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class _Recipe(NamedTuple):
    """How an operand becomes (batch..., rows, cols): size-1 axes appended, a transpose,
    then a reshape that is a view (``swap``: of the (cols, rows) order, the last two axes
    swapped back) or, when ``copy``, a copy."""

    newaxes: int
    perm: tuple[int, ...]
    shape: tuple[int, ...]
    swap: bool
    copy: bool


def _recipe(spec: _Spec, subs: str, batch: list[str], rows: list[str], cols: list[str]) -> _Recipe:
    """``_operand``'s plan: a view when the memory allows (either orientation of the last
    two axes: BLAS takes a transposed matrix as it is), else a copy.  A batch letter the
    array lacks becomes a broadcast axis of size 1."""
    pos = {letter: subs.index(letter) for letter in subs}
    shape, strides = list(spec.shape), list(spec.strides)
    newaxes = 0
    for letter in batch:
        if letter not in pos:
            pos[letter] = len(shape)
            shape.append(1)
            strides.append(0)
            newaxes += 1
    bperm = [pos[letter] for letter in batch]
    r, c = [pos[letter] for letter in rows], [pos[letter] for letter in cols]
    bshape = [shape[ax] for ax in bperm]
    n_r, n_c = math.prod(shape[ax] for ax in r), math.prod(shape[ax] for ax in c)
    bgroups = [[ax] for ax in bperm]
    if _mergeable(tuple(shape), tuple(strides), [*bgroups, r, c]) is not None:
        return _Recipe(newaxes, tuple(bperm + r + c), tuple(bshape + [n_r, n_c]), False, False)
    if _mergeable(tuple(shape), tuple(strides), [*bgroups, c, r]) is not None:
        return _Recipe(newaxes, tuple(bperm + c + r), tuple(bshape + [n_c, n_r]), True, False)
    return _Recipe(newaxes, tuple(bperm + r + c), tuple(bshape + [n_r, n_c]), False, True)


def _apply(rec: _Recipe, arr: NDArray[Any]) -> NDArray[Any]:
    if rec.newaxes:
        arr = arr.reshape(arr.shape + (1,) * rec.newaxes)
    moved = arr.transpose(rec.perm)
    if rec.copy:
        return numpy.ascontiguousarray(moved).reshape(rec.shape)
    view = moved.reshape(rec.shape)  # no copy: the recipe checked that the axes merge
    return view.swapaxes(-1, -2) if rec.swap else view


def _operand(arr: NDArray[Any], subs: str, batch: list[str], rows: list[str], cols: list[str]) -> NDArray[Any]:
    """``arr`` as (batch..., rows, cols), a view when its memory allows (either orientation of
    the last two axes: BLAS takes a transposed matrix as it is), else a copy.  A batch letter
    the array lacks becomes a broadcast axis of size 1."""
    return _apply(_recipe(_Spec(arr.shape, arr.strides), subs, batch, rows, cols), arr)


def _split(out: str, sa: str, sb: str) -> tuple[str, str, str, bool]:
    """Split the output letters into batch + rows + columns (P, M, N) so the matrix product
    lands in the output's order: N is the longest tail of letters from one operand only,
    M the run before it from the other operand only, P the rest.  Returns (P, M, N, swap),
    swap meaning the rows come from ``b``."""
    def owner(letter: str) -> str:
        return "a" if letter not in sb else "b" if letter not in sa else "both"

    end = len(out)
    tail = owner(out[-1]) if out else "both"
    if tail == "both":
        tail = "b"
    else:
        while end and owner(out[end - 1]) == tail:
            end -= 1
    start = end
    head = "a" if tail == "b" else "b"
    while start and owner(out[start - 1]) == head:
        start -= 1
    return out[:start], out[start:end], out[end:], head == "b"


class _Plan(NamedTuple):
    """A product's plan (``_plan``): which operand gives the rows, how each becomes a
    matrix, whether the product runs transposed, how the result is reshaped, which batch
    axes are summed and how its axes are ordered."""

    swap: bool
    left: _Recipe
    right: _Recipe
    transposed: bool
    shape: tuple[int, ...]
    summed: tuple[int, ...]
    perm: tuple[int, ...]


def gemm(subscripts: str, a: Any, b: Any) -> NDArray[Any]:
    """``numpy.einsum(subscripts, a, b)`` for two operands, as one batched matrix product.

    The output letters are split into batch, row and column letters (a batch letter only
    one operand has is broadcast, or joins that operand's rows or columns when the memory
    allows, for fewer and larger products); letters in both operands and not in the output
    are contracted.  An operand whose memory cannot be viewed as a matrix is copied when it
    is small; else the contracted letter in the way becomes a batch letter summed
    afterwards.  The result may be a transposed view.  The plan depends only on the
    subscripts, shapes and strides, and is kept for the next call (a batch chunk's).
    """
    a, b = numpy.asarray(a), numpy.asarray(b)
    lhs, out = subscripts.split("->")
    sa, sb = lhs.split(",")
    for s, arr in ((sa, a), (sb, b)):
        if len(s) != arr.ndim:
            raise ValueError(f"gemm: subscripts {s!r} for a {arr.ndim}-d array")
    # Letters in one operand only and not in the output are summed first.
    for which in (0, 1):
        s, arr, other = (sa, a, sb) if which == 0 else (sb, b, sa)
        alone = [letter for letter in s if letter not in other and letter not in out]
        if alone:
            arr = arr.sum(axis=tuple(s.index(letter) for letter in alone))
            s = "".join(letter for letter in s if letter not in alone)
            if which == 0:
                sa, a = s, arr
            else:
                sb, b = s, arr
    plan = _plan(sa, sb, out, _Spec(a.shape, a.strides), _Spec(b.shape, b.strides))
    if plan.swap:
        a, b = b, a
    left, right = _apply(plan.left, a), _apply(plan.right, b)
    if plan.transposed:
        prod = numpy.matmul(right.swapaxes(-1, -2), left.swapaxes(-1, -2))
    else:
        prod = numpy.matmul(left, right)
    full = prod.reshape(plan.shape)
    if plan.summed:
        full = full.sum(axis=plan.summed)
    return full.transpose(plan.perm)


def _recipes(subscripts: str, a: Any, b: Any) -> tuple[_Recipe, _Recipe]:
    """How ``gemm(subscripts, a, b)`` makes ``a`` and ``b`` into matrices: its plan only,
    nothing is computed (letters in one operand only are not handled here)."""
    lhs, out = subscripts.split("->")
    sa, sb = lhs.split(",")
    plan = _plan(sa, sb, out, _Spec(a.shape, a.strides), _Spec(b.shape, b.strides))
    return (plan.right, plan.left) if plan.swap else (plan.left, plan.right)


def copies(subscripts: str, a: Any, b: Any) -> tuple[bool, bool]:
    """Whether ``gemm(subscripts, a, b)`` would copy ``a`` and ``b`` into matrix order."""
    rec_a, rec_b = _recipes(subscripts, a, b)
    return rec_a.copy, rec_b.copy


def shared_operand(subscripts: str, a: Any, b: Any, k: int) -> NDArray[Any]:
    """Operand ``k`` (0: ``a``, 1: ``b``) of ``gemm(subscripts, a, b)``: where the product
    would copy it into matrix order, that copy, viewed back in the operand's own axis order,
    so this product and any other that wants the same order read it without copying; else
    the operand itself."""
    arr = numpy.asarray((a, b)[k])
    rec = _recipes(subscripts, a, b)[k]
    if not rec.copy:
        return arr
    moved = numpy.ascontiguousarray(arr.reshape(arr.shape + (1,) * rec.newaxes).transpose(rec.perm))
    return moved.transpose(numpy.argsort(rec.perm)).reshape(arr.shape)


@functools.lru_cache(maxsize=1024)
def _plan(sa: str, sb: str, out: str, a: _Spec, b: _Spec) -> _Plan:
    split = _split(out, sa, sb)
    if split[3]:
        a, b, sa, sb = b, a, sb, sa
    batch, rows, cols = list(split[0]), list(split[1]), list(split[2])
    contracted = [letter for letter in sa if letter in sb and letter not in out]
    sizes = {**dict(zip(sa, a.shape)), **dict(zip(sb, b.shape))}
    out_size = math.prod(sizes[letter] for letter in out)
    # Widen the matrices: a batch letter only one operand has joins that operand's rows or
    # columns when its memory allows it (or when that operand is small enough to copy), so
    # one large product replaces many small ones; the result then comes back transposed.
    for letter in reversed(batch[:]):
        for arr, subs, group, other in ((b, sb, cols, sa), (a, sa, rows, sb)):
            if letter in subs and letter not in other:
                wider = [letter, *group]
                fits = _merged_ok(arr, subs, wider, contracted) or 4 * arr.size <= out_size
                if fits:
                    group.insert(0, letter)
                    batch.remove(letter)
                break
    # A contracted letter the memory does not let merge: copy the operand when it is small,
    # else try contracted letters as extra (summed) batch letters, fewest first.
    ok_a, ok_b = _merged_ok(a, sa, rows, contracted), _merged_ok(b, sb, contracted, cols)
    promoted: list[str] = []
    if not (ok_a and ok_b) and not ((ok_b or 4 * b.size <= a.size) and (ok_a or 4 * a.size <= b.size)):
        for count in range(1, len(contracted) + 1):
            found = None
            for extra in itertools.combinations(contracted, count):
                con = [letter for letter in contracted if letter not in extra]
                if _merged_ok(a, sa, rows, con) and _merged_ok(b, sb, con, cols):
                    found = list(extra)
                    break
            if found is not None:
                promoted = found
                break
    bat = [*batch, *promoted]
    con = [letter for letter in contracted if letter not in promoted]
    left, right = _recipe(a, sa, bat, rows, con), _recipe(b, sb, bat, con, cols)
    # A result with fewer rows than columns, smaller than either operand (a long contraction,
    # such as a weight gradient's), is computed transposed, as (many rows) × (few columns).
    # OpenBLAS splits such a product between its threads along the many rows, each thread on
    # its own; the other way round the threads wait on each other many times per call, which
    # costs a scheduler time slice each time another process holds a core.  A result as large
    # as an operand (a forward's) is left as it is: measured, its few rows times many columns
    # run faster than the transposed product.
    transposed = left.shape[-2] < right.shape[-1] and out_size < min(a.size, b.size)
    if transposed:
        rows, cols = cols, rows
    order = [*bat, *rows, *cols]
    summed: tuple[int, ...] = ()
    if promoted:
        summed = tuple(range(len(batch), len(bat)))
        order = [*batch, *rows, *cols]
    return _Plan(split[3], left, right, transposed, tuple(sizes[letter] for letter in [*bat, *rows, *cols]),
                 summed, tuple(order.index(letter) for letter in out))


def _merged_ok(arr: _Spec | NDArray[Any], subs: str, rows: list[str], cols: list[str]) -> bool:
    r, c = [subs.index(letter) for letter in rows], [subs.index(letter) for letter in cols]
    return (_mergeable(arr.shape, arr.strides, [r, c]) is not None
            or _mergeable(arr.shape, arr.strides, [c, r]) is not None)


def add(a: Any, b: Any, into: NDArray[Any] | None = None) -> NDArray[Any]:
    """``a + b``, written into ``into`` when given: a later term of a result that is placed
    into the caller's block of a larger array (``a`` may be ``into`` itself)."""
    if into is None:
        return numpy.add(a, b)
    return numpy.add(a, b, out=into)


def place(a: Any, into: NDArray[Any] | None = None) -> NDArray[Any]:
    """``a`` itself, or copied into ``into`` when that is given and ``a`` is not it already."""
    if into is None or a is into:
        return numpy.asarray(a)
    numpy.copyto(into, a)
    return into


def total(a: Any, letters: str, out: str) -> NDArray[Any]:
    """``a`` summed over the letters ``out`` lacks, axes in ``out``'s order (a bias gradient)."""
    a = numpy.asarray(a)
    summed = tuple(k for k, letter in enumerate(letters) if letter not in out)
    kept = [letter for letter in letters if letter in out]
    reduced = a.sum(axis=summed) if summed else a
    return reduced.transpose([kept.index(letter) for letter in out])


def align(arr: Any, letters: str, target: str) -> NDArray[Any]:
    """``arr`` (axes named by ``letters``) viewed to broadcast against an array with axes
    ``target``: a bias b[g, o] added to out[n, g, o, i] becomes shape (1, G, O, 1)."""
    arr = numpy.asarray(arr)
    perm = sorted(range(len(letters)), key=lambda k: target.index(letters[k]))
    moved = arr.transpose(perm)
    shape = [moved.shape[sorted(letters, key=target.index).index(t)] if t in letters else 1 for t in target]
    return moved.reshape(shape)
