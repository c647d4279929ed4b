"""Public functions for the ops that mix elements.

The formulas are the generated kernels in ``_generated/structured.py`` (printed from
``derivations/ops/structured.py``).  This module checks arguments and does the bookkeeping
around them: which axis, class indices, ignore_index, label smoothing, and the loss
reductions.  One exception: cross_entropy and nll_loss with class indices gather each
sample's target entry instead of building one-hot rows, written by hand here from the
kernels' own steps; a test holds them to the kernels' bits on one-hot rows
(tests/test_large_and_bad_inputs.py).

Owns: the public functions of the ops that mix elements.  Imports: NumPy, ``._runtime``
and the generated kernels.
"""

from __future__ import annotations

from typing import Any

import numpy
from numpy.typing import ArrayLike, NDArray

from . import _runtime as _rt
from ._generated import structured as _k
from ._runtime import NNRefError

__all__ = [
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "linear", "linear_backward", "cross_entropy", "cross_entropy_backward",
    "nll_loss", "nll_loss_backward", "cosine_embedding_loss", "cosine_embedding_loss_backward",
]

Array = NDArray[numpy.floating]


def _dim(op: str, dim: Any, ndim: int) -> int:
    if dim is None:
        raise NNRefError(f"{op}: dim: expected an int (nnref does not guess the dimension), got None")
    dim = _rt.check_int(op, "dim", dim)
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise NNRefError(f"{op}: dim: expected an int in [{-span}, {span - 1}] for a {ndim}-d input, got {dim}")
    return dim % span


_NO_GRAD = object()


def _normalise(op: str, input: ArrayLike, dim: Any, grad_output: Any = _NO_GRAD) -> tuple[Any, ...]:
    x = _rt.float_array(op, "input", input)
    axis = _dim(op, dim, x.ndim)
    xv = x.reshape(1) if x.ndim == 0 else x
    g = None
    if grad_output is not _NO_GRAD:
        g = _rt.grad_array(op, grad_output, x).reshape(xv.shape)
    return x, xv, axis, g


# A row op makes a dozen passes (the maximum, x − m, its exponential, two masked sums, ...),
# each over the whole array: at (4096, 1000) float64 each temporary is 32 MB, and every pass
# streams it through main memory.  Blocks of rows whose temporaries stay in the cache take the
# same passes several times faster.  Every reduction runs along the op's axis, row by row, so
# a row gets the same operations whichever block holds it: the result is the bits of one call
# on the whole (tests/test_large_and_bad_inputs.py checks it).
ROW_BLOCK = 2**16  # entries in a block of rows (as _runtime.POINTWISE_BLOCK)


# cross_entropy's gathered path makes about 15 NumPy calls a block and keeps one temporary the
# size of its block (and a mask of it): larger blocks, at least one per thread where there are
# enough rows, ran fastest at (4096, 1000), (64, 32000) and (8, 50257) (fwd + bwd 12.2 / 4.7 /
# 1.0 ms, against 16.4 / 11.2 / 3.0 with ROW_BLOCK, 2 threads).
CLASS_ROW_BLOCK = 2**18


def _row_blocks(x: NDArray[Any], axis: int, entries: int | None = None, spread: bool = False) -> list[slice]:
    """Slices of x's first dim, each about ``entries`` (default ROW_BLOCK) entries (at least one
    row), and with ``spread`` at least one per thread (when there are as many rows); one slice
    for all of x when it is small (below 2·entries, or with ``spread`` ROW_BLOCK) or when the
    op's axis is the first."""
    entries = ROW_BLOCK if entries is None else entries
    if x.ndim < 2 or axis == 0 or x.size < (ROW_BLOCK if spread else 2 * entries):
        return [slice(None)]
    rows = max(1, entries * x.shape[0] // x.size)
    if spread:
        rows = min(rows, -(-x.shape[0] // _rt.threads()))
    return [slice(s, s + rows) for s in range(0, x.shape[0], rows)]


def _by_rows(block: Any, blocks: list[slice], shape: tuple[int, ...], ref: NDArray[Any],
             into: bool = False) -> NDArray[Any]:
    """An array of ``shape`` and ref's dtype holding ``block(rows)`` at the first-dim slice
    ``rows``, for each of ``blocks``, rounded once to that dtype (as ``_rt.like`` rounds).
    ``into``: the block is called as ``block(rows, dest)`` with dest its part of the result, and
    may write there and return it (no copy: a pass of the result's size saved)."""
    if len(blocks) == 1 and not into:
        return _rt.like(block(blocks[0]), ref, shape)
    out = numpy.empty(shape, dtype=ref.dtype)
    # a block's dozen temporaries (float64 at most) from reused pages, not faulted in afresh
    # each block (see _rt.hint_heap): at (4096, 1000) this made the forward 2.7x faster
    _rt.hint_heap(16 * 8 * ref[blocks[0]].size)

    def run(span: list[slice]) -> None:
        for rows in span:
            with numpy.errstate(over="ignore"):  # a float64 value beyond float32 rounds to its infinity
                dest = out[rows]
                part = block(rows, dest) if into else block(rows)
                if part is not dest:
                    dest[...] = part

    workers = min(_rt.threads(), len(blocks))
    cuts = [len(blocks) * i // workers for i in range(workers + 1)]
    _rt.parallel_map(run, [blocks[a:b] for a, b in zip(cuts[:-1], cuts[1:])])
    return out


def softmax(input: ArrayLike, dim: int | None = None) -> Array:
    """Softmax along ``dim``: exp(x - max) / sum(exp(x - max))."""
    x, xv, axis, _ = _normalise("softmax", input, dim)
    return _by_rows(lambda r: _k._softmax_forward(xv[r], axis), _row_blocks(xv, axis), xv.shape, x).reshape(x.shape)


def softmax_backward(grad_output: ArrayLike, input: ArrayLike, dim: int | None = None) -> dict[str, Array]:
    """Vector-Jacobian product of softmax: {'input': p * (g - sum(g * p))}."""
    x, xv, axis, g = _normalise("softmax", input, dim, grad_output)
    grad = _by_rows(lambda r: _k._softmax_vjp(g[r], xv[r], axis)["input"], _row_blocks(xv, axis), xv.shape, x)
    return {"input": grad.reshape(x.shape)}


def log_softmax(input: ArrayLike, dim: int | None = None) -> Array:
    """log(softmax(x)) along ``dim``, as x - max - log(sum(exp(x - max)))."""
    x, xv, axis, _ = _normalise("log_softmax", input, dim)
    return _by_rows(lambda r: _k._log_softmax_forward(xv[r], axis), _row_blocks(xv, axis), xv.shape, x
                    ).reshape(x.shape)


def log_softmax_backward(grad_output: ArrayLike, input: ArrayLike, dim: int | None = None) -> dict[str, Array]:
    """Vector-Jacobian product of log_softmax: {'input': g - softmax(x) * sum(g)}."""
    x, xv, axis, g = _normalise("log_softmax", input, dim, grad_output)
    grad = _by_rows(lambda r: _k._log_softmax_vjp(g[r], xv[r], axis)["input"], _row_blocks(xv, axis), xv.shape, x)
    return {"input": grad.reshape(x.shape)}


# ---------------------------------------------------------------------------- linear

def _linear_args(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None) -> tuple[Any, Any, Any]:
    op = "linear"
    arrays = {"input": input, "weight": weight} if bias is None else {"input": input, "weight": weight, "bias": bias}
    checked = _rt.float_arrays(op, _channel=tuple(arrays)[1:], **arrays)
    x, w = checked[0], checked[1]
    if x.ndim < 1:
        raise NNRefError(f"{op}: input: expected at least 1 dimension (..., in_features), got shape {x.shape}")
    if w.ndim != 2:
        raise NNRefError(f"{op}: weight: expected shape (out_features, in_features), got {w.shape}")
    if w.shape[1] != x.shape[-1]:
        raise NNRefError(f"{op}: weight: expected in_features = {x.shape[-1]} (the last dim of input,"
                         f" shape {x.shape}), got weight of shape {w.shape}")
    b = None
    if bias is not None:
        b = checked[2]
        if b.shape != (w.shape[0],):
            raise NNRefError(f"{op}: bias: expected shape ({w.shape[0]},) (out_features of weight), got {b.shape}")
    return x, w, b


def linear(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> Array:
    """The dense layer y = x Wᵀ + b, with torch's shapes: x (..., in), W (out, in), b (out,)."""
    x, w, b = _linear_args(input, weight, bias)
    out = _k._linear_forward(x, w, 0.0 if b is None else b, -1)
    return _rt.like(out, x, x.shape[:-1] + (w.shape[0],))


def linear_backward(grad_output: ArrayLike, input: ArrayLike, weight: ArrayLike,
                    bias: ArrayLike | None = None) -> dict[str, Array]:
    """Gradients of <g, linear(x, W, b)>: input g W, weight Σ gᵀx, bias Σ g (when bias is given)."""
    x, w, b = _linear_args(input, weight, bias)
    g = _rt.grad_array("linear", grad_output, x, x.shape[:-1] + (w.shape[0],))
    grads = _k._linear_vjp(g, x, w, 0.0 if b is None else b, -1)
    out = {"input": _rt.like(grads["input"], x), "weight": _rt.like(grads["weight"], w)}
    if b is not None:
        out["bias"] = _rt.like(grads["bias"], b)
    return out


# ------------------------------------------------------------- class-probability losses

class _ClassProblem:
    """Logits / log-probabilities with their target rows, class weights and the 'mean' divisor."""

    def __init__(self, op: str, input: ArrayLike, target: ArrayLike, weight: Any, ignore_index: Any,
                 label_smoothing: float, allow_probabilities: bool) -> None:
        # C order whatever the caller's layout: NumPy sums a contiguous axis pairwise and a strided
        # one in sequence, so the bits would follow the layout; and the gathered path's flat
        # positions (softmax_rows) address a C-ordered block
        x = numpy.ascontiguousarray(_rt.float_array(op, "input", input))
        if x.ndim == 0:
            raise NNRefError(f"{op}: input: expected shape (C,), (N, C) or (N, C, d1, ...), got a 0-d array")
        self.op, self.x, self.weighted = op, x, weight is not None
        self.axis = 1 if x.ndim >= 2 else 0
        classes = x.shape[self.axis]
        sample_shape = x.shape[:self.axis] + x.shape[self.axis + 1:]
        ignore_index = _rt.check_int(op, "ignore_index", ignore_index)
        tgt = _rt.label_array(op, "target", target)
        cw = numpy.ones(classes, dtype=x.dtype)
        if weight is not None:
            cw = _rt.float_array(op, "weight", weight)
            if cw.shape != (classes,):
                raise NNRefError(f"{op}: weight: expected shape ({classes},) (one weight per class), got {cw.shape}")
            if cw.dtype != x.dtype:
                raise NNRefError(f"{op}: weight: expected dtype {x.dtype} (the dtype of input), got {cw.dtype}")
        view = [1] * x.ndim
        view[self.axis] = classes
        self.class_weight = cw.reshape(view)
        if tgt.dtype.kind in "iu":
            if tgt.shape != sample_shape:
                raise NNRefError(f"{op}: target: expected class indices of shape {sample_shape} (input {x.shape}"
                                 f" without the class dim {self.axis}), got {tgt.shape}")
            keep = tgt != ignore_index
            bad = keep & ((tgt < 0) | (tgt >= classes))
            if bad.any():
                raise NNRefError(f"{op}: target: class index {int(tgt[bad].flat[0])} is out of range for"
                                 f" {classes} classes (expected 0 <= index < {classes}, or ignore_index"
                                 f" = {ignore_index})")
            safe = numpy.where(keep, tgt, 0)
            self.divisor = numpy.sum(cw[safe] * keep) if weight is not None else numpy.sum(keep)
            # Class indices are gathered, never spread into one-hot rows: memory O(N·C) at most, as in
            # torch.  Without label smoothing the kernels' sums over classes have one nonzero term
            # (the target's), so the gathered term is the same number (``_gathered``); with smoothing
            # every class has mass and the smoothed rows are the formula's operand, built directly.
            self.keep = numpy.expand_dims(keep, self.axis)
            self.index: Any = numpy.expand_dims(safe, self.axis)
            self.target_weight = numpy.expand_dims(cw[safe], self.axis)
            self.t: Any = None
            if label_smoothing or not classes:
                # the rows onehot·(1 − ε) + ε/C, times the mask, entry for entry as that formula rounds
                hit = numpy.ones((), dtype=x.dtype) * (1 - label_smoothing) + label_smoothing / max(classes, 1)
                off = numpy.zeros((), dtype=x.dtype) * (1 - label_smoothing) + label_smoothing / max(classes, 1)
                # classes last, then moved to the class axis: the memory order the one-hot rows had,
                # which sets the order (so the rounding) of the kernels' sums over classes
                rows = numpy.full(sample_shape + (classes,), off, dtype=x.dtype)
                if classes:
                    numpy.put_along_axis(rows, safe[..., None], hit, -1)
                rows *= keep[..., None]
                self.t = numpy.moveaxis(rows, -1, self.axis)
        elif tgt.dtype.kind == "f" and allow_probabilities:
            if ignore_index != -100:
                raise NNRefError(f"{op}: ignore_index: expected the default -100 with class-probability"
                                 f" targets (only class indices can be ignored), got {ignore_index}")
            t = _rt.float_array(op, "target", target)
            if t.shape != x.shape:
                raise NNRefError(f"{op}: target: class probabilities must have the shape of input {x.shape},"
                                 f" got {t.shape}")
            if t.dtype != x.dtype:
                raise NNRefError(f"{op}: target: expected dtype {x.dtype} (the dtype of input), got {t.dtype}")
            self.t = t * (1 - label_smoothing) + label_smoothing / classes
            self.divisor = x.size / classes if classes else 0
            self.index = None
        else:
            kinds = "integer class indices" + (" or floating-point class probabilities" if allow_probabilities else "")
            raise NNRefError(f"{op}: target: expected {kinds}, got dtype {tgt.dtype}")
        self.sample_shape = sample_shape
        self.probabilities = tgt.dtype.kind == "f"

    def at_target(self, values: Any, rows: slice = slice(None)) -> Any:
        """The entries of ``values`` (the samples ``rows`` of the first dim) at each sample's
        target class, the class axis kept."""
        return numpy.take_along_axis(values, self.index[rows], self.axis)

    def gathered_loss(self, logp_y: Any, rows: slice = slice(None)) -> Any:
        """Per sample -w_y·logp_y (0 where ignored): the kernels' Σ_c over one-hot rows, whose only
        nonzero term is the target's, -w_y·logp_y·1.  That sum turns a -0 into +0, and so does
        ``+ 0.0`` here.  ``logp_y`` holds the target's log-probability of the samples ``rows`` (of
        the first dim), the class axis kept."""
        with _rt.quiet():
            term = -self.target_weight[rows] * logp_y + 0.0
            return numpy.where(self.keep[rows], term, numpy.zeros((), dtype=term.dtype))

    def gathered_grad(self, g: Any) -> Any:
        """nll_loss's input gradient for one-hot rows t, as its kernel prints it, without t:
        g·(−w·t), which is 0 off the target; ignored samples (t all 0) get 0."""
        with _rt.quiet():
            grad = numpy.zeros(self.x.shape, dtype=numpy.result_type(self.x, g))
            numpy.put_along_axis(grad, self.index, -self.target_weight * g, self.axis)
            if not self.keep.all():  # not a product: g is NaN there when 'mean' divides by 0
                numpy.copyto(grad, 0, where=~self.keep)
            return grad

    def one_hot(self, rows: slice) -> Any:
        """The target rows of the samples ``rows`` (of the first dim), one-hot (all 0 where ignored):
        a block's worth, for the kernels on rows with tied or non-finite maxima."""
        t = numpy.zeros(self.x[rows].shape, dtype=self.x.dtype)
        numpy.put_along_axis(t, self.index[rows], self.keep[rows].astype(t.dtype), self.axis)
        return t

    def softmax_rows(self, x: Any, rows: slice) -> Any:
        """The log-softmax quantities that cross_entropy's kernels use at the targets of the samples
        ``rows`` (whose logits are ``x``), from one exponential per entry and no per-entry log-
        probability: (e, sl, logp_y, first, at_y), e = e^{x − m} but 0 at the row's first maximal
        entry, sl = Σ e, logp_y = (x_y − m) − log1p(sl); ``first`` and ``at_y`` are the flat
        positions of that maximum and of the target in e.  For a row whose maximum is finite and
        single these are the kernels' own numbers (m, x − m and e entry for entry, and sl sums the
        same array: the kernels zero every maximal entry, ties − 1 = 0), so the results keep their
        bits.  None when some row of the block has tied or non-finite maxima, where the kernels'
        k and NaN routing apply: the caller then runs the kernel.  Flat positions, not
        take/put_along_axis: those cost ~20 us a call, as much as a small block's arithmetic."""
        if not x.size:  # no sample or no class: the kernels' empty sums and maxima
            return None
        n, c = (x.shape[0], x.shape[1]) if self.axis else (1, x.shape[0])
        xs = x.reshape(n, c, -1)
        r = xs.shape[2]
        # flat position of entry (i, 0, j) of the (n, c, r) view, plus r times the class
        base = numpy.arange(n)[:, None] * (c * r) + numpy.arange(r)
        first = base + numpy.argmax(xs, axis=1) * r
        at_y = base + self.index[rows].reshape(n, r) * r
        flat = xs.reshape(-1)
        m = flat[first]
        with _rt.quiet():
            e = numpy.subtract(xs, m[:, None, :])
            ef = e.reshape(-1)
            ef[first] = -numpy.inf  # its e^{x - m} = 1 is kept out of sl
            if not numpy.isfinite(m).all() or numpy.equal(e, 0).any():  # a NaN, an infinity, a tie
                return None
            zy = flat[at_y] - m
            numpy.exp(e, out=e)
            sl = numpy.sum(e, axis=1)
            return e, sl, zy - numpy.log1p(sl), first, at_y

    def gathered_softmax_grad(self, g: Any, rows: tuple[Any, ...], r: slice, dest: Any) -> Any:
        """cross_entropy's input gradient from ``softmax_rows``, as its kernel prints it for one-hot
        rows: g·hit at the target (hit = sg·expm1(logp_y), sg = w_y), g·(p·sg − 0) = g·(p·sg)
        elsewhere with p = e·(1 / (k + sl)), k = 1 (unweighted sg = 1: the product is p itself), 0
        for ignored samples; written into ``dest`` (x's dtype), each entry rounded once."""
        e, sl, logp_y, first, at_y = rows
        n, _, k = e.shape
        keep = self.keep[r].reshape(n, 1, k)
        with _rt.quiet():
            sg = self.target_weight[r].reshape(n, 1, k) + 0.0  # Σ_c w·t over one-hot t: w_y, but -0 made +0
            hit = sg[:, 0] * numpy.expm1(logp_y)
            ef = e.reshape(-1)
            ef[first] = 1  # e^0 at the first maximum
            p = numpy.multiply(e, (1 / (1.0 + sl))[:, None, :], out=e)
            if self.weighted:
                numpy.multiply(p, sg, out=p)
            ef[at_y] = hit
            grad = numpy.multiply(numpy.reshape(g, (n, 1, k)), p, out=dest.reshape(e.shape), casting="same_kind")
            if not keep.all():
                numpy.copyto(grad, 0, where=~keep)
            return dest

    def reduce(self, per_sample: Any, reduction: str) -> Array:
        values = numpy.squeeze(per_sample, axis=self.axis).astype(_rt.accumulator(self.x.dtype))
        with _rt.quiet():
            if reduction == "none":
                out = values
            elif reduction == "sum":
                out = numpy.sum(values)
            elif self.divisor == 0:
                # torch divides its NLL part 0/0 here, so the mean is NaN even when label
                # smoothing makes the numerator nonzero (which alone would give ±inf).
                out = numpy.float64("nan")
            else:
                out = numpy.sum(values) / numpy.asarray(self.divisor, dtype=numpy.float64)
        return _rt.like(out, self.x, numpy.shape(out))

    def upstream(self, grad_output: Any, reduction: str) -> Any:
        shape = self.sample_shape if reduction == "none" else ()
        g = _rt.grad_array(self.op, grad_output, self.x, shape).astype(_rt.accumulator(self.x.dtype))
        with _rt.quiet():
            if reduction == "mean":
                # A zero divisor makes the mean NaN (see reduce), and so its gradient.
                g = g / numpy.asarray(self.divisor, dtype=numpy.float64) if self.divisor else g * numpy.nan
            g = numpy.broadcast_to(g, self.sample_shape)
        return numpy.expand_dims(g, self.axis)



def cross_entropy(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Array:
    """Cross-entropy of logits against class indices or class probabilities (torch's semantics)."""
    _rt.check_reduction("cross_entropy", reduction)
    ls = _rt.check_float("cross_entropy", "label_smoothing", label_smoothing, {"lo": 0.0, "hi": 1.0})
    pb = _ClassProblem("cross_entropy", input, target, weight, ignore_index, ls, allow_probabilities=True)
    x, shape = pb.x, pb.x.shape[:pb.axis] + (1,) + pb.x.shape[pb.axis + 1:]
    if pb.t is None:
        blocks = _row_blocks(x, pb.axis, CLASS_ROW_BLOCK, spread=True)

        def block(r: slice) -> Any:
            rows = pb.softmax_rows(x[r], r)
            if rows is None:
                return pb.gathered_loss(pb.at_target(_k._log_softmax_forward(x[r], pb.axis), r), r)
            return pb.gathered_loss(rows[2].reshape(pb.index[r].shape), r)
    else:
        blocks = _row_blocks(x, pb.axis)

        def block(r: slice) -> Any:
            return _k._cross_entropy_forward(x[r], pb.t[r], pb.class_weight, pb.axis)
    return pb.reduce(_by_rows(block, blocks, shape, x), reduction)


def cross_entropy_backward(grad_output: ArrayLike, input: ArrayLike, target: ArrayLike,
                           weight: ArrayLike | None = None, ignore_index: int = -100, reduction: str = "mean",
                           label_smoothing: float = 0.0) -> dict[str, Array]:
    """{'input': g · (softmax(x) Σ_c w_c t_c - w t)} with g the per-sample upstream gradient, and
    for probability targets {'target': -(1 - label_smoothing) · g · w · log_softmax(x)}."""
    _rt.check_reduction("cross_entropy", reduction)
    ls = _rt.check_float("cross_entropy", "label_smoothing", label_smoothing, {"lo": 0.0, "hi": 1.0})
    pb = _ClassProblem("cross_entropy", input, target, weight, ignore_index, ls, allow_probabilities=True)
    g, x = pb.upstream(grad_output, reduction), pb.x
    if pb.t is None:
        def grad_block(r: slice, dest: Any) -> Any:
            rows = pb.softmax_rows(x[r], r)
            if rows is None:
                return _k._cross_entropy_vjp(g[r], x[r], pb.one_hot(r), pb.class_weight, pb.axis)["input"]
            return pb.gathered_softmax_grad(g[r], rows, r, dest)
        return {"input": _by_rows(grad_block, _row_blocks(x, pb.axis, CLASS_ROW_BLOCK, spread=True), x.shape, x,
                                  into=True)}
    if not pb.probabilities:
        return {"input": _by_rows(lambda r: _k._cross_entropy_vjp(g[r], x[r], pb.t[r], pb.class_weight, pb.axis)
                                  ["input"], _row_blocks(x, pb.axis), x.shape, x)}
    grads = _k._cross_entropy_vjp(g, x, pb.t, pb.class_weight, pb.axis)
    # The kernel differentiates the smoothed rows t(1 - ε) + ε/C; chain back to t.
    return {"input": _rt.like(grads["input"], x), "target": _rt.like(grads["target"] * (1 - ls), x)}


def nll_loss(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Array:
    """Negative log-likelihood -w[y] x[y] of class indices, given log-probabilities."""
    _rt.check_reduction("nll_loss", reduction)
    pb = _ClassProblem("nll_loss", input, target, weight, ignore_index, 0.0, allow_probabilities=False)
    if pb.t is None:
        return pb.reduce(pb.gathered_loss(pb.at_target(pb.x)), reduction)
    return pb.reduce(_k._nll_loss_forward(pb.x, pb.t, pb.class_weight, pb.axis), reduction)


def nll_loss_backward(grad_output: ArrayLike, input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                      ignore_index: int = -100, reduction: str = "mean") -> dict[str, Array]:
    """{'input': -g w_c [c = y]}."""
    _rt.check_reduction("nll_loss", reduction)
    pb = _ClassProblem("nll_loss", input, target, weight, ignore_index, 0.0, allow_probabilities=False)
    g = pb.upstream(grad_output, reduction)
    if pb.t is None:
        return {"input": _rt.like(pb.gathered_grad(g), pb.x)}
    return {"input": _rt.like(_k._nll_loss_vjp(g, pb.x, pb.t, pb.class_weight, pb.axis)["input"], pb.x)}


# ------------------------------------------------------------------------- cosine

def _cosine_args(input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: Any) -> tuple[Any, ...]:
    op = "cosine_embedding_loss"
    a, b = _rt.float_arrays(op, input1=input1, input2=input2)
    if a.ndim not in (1, 2):
        raise NNRefError(f"{op}: input1: expected shape (N, D) or (D,), got {a.shape}")
    y = _rt.label_array(op, "target", target)
    if y.dtype.kind not in "iuf":
        raise NNRefError(f"{op}: target: expected labels 1 or -1 (a numeric array), got dtype {y.dtype}")
    if y.shape != a.shape[:-1]:
        raise NNRefError(f"{op}: target: expected shape {a.shape[:-1]} (one label per row of input1 {a.shape}),"
                         f" got {y.shape}")
    # in the inputs' dtype, as torch takes a Python scalar (a float32 call compares cos with
    # the float32 margin: 2e-120 is 0 there)
    margin = _rt.in_dtype(_rt.check_float(op, "margin", margin, None), a)
    return a, b, numpy.expand_dims(y.astype(a.dtype), -1), margin


def cosine_embedding_loss(input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = 0.0,
                          reduction: str = "mean") -> Array:
    """1 - cos(x1, x2) where target is 1, max(0, cos - margin) where target is -1."""
    _rt.check_reduction("cosine_embedding_loss", reduction)
    a, b, y, margin = _cosine_args(input1, input2, target, margin)
    per = numpy.squeeze(_k._cosine_embedding_loss_forward(a, b, y, margin, -1), -1)
    return _rt.reduce_loss("cosine_embedding_loss", per, numpy.empty(per.shape, a.dtype), reduction)


def cosine_embedding_loss_backward(grad_output: ArrayLike, input1: ArrayLike, input2: ArrayLike, target: ArrayLike,
                                   margin: float = 0.0, reduction: str = "mean") -> dict[str, Array]:
    """Gradients with respect to input1 and input2."""
    _rt.check_reduction("cosine_embedding_loss", reduction)
    a, b, y, margin = _cosine_args(input1, input2, target, margin)
    ref = numpy.empty(a.shape[:-1], a.dtype)
    g = numpy.expand_dims(_rt.unreduce_grad("cosine_embedding_loss", grad_output, ref, reduction), -1)
    grads = _k._cosine_embedding_loss_vjp(g, a, b, y, margin, -1)
    return {"input1": _rt.like(grads["input1"], a), "input2": _rt.like(grads["input2"], a)}
