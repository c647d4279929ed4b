"""Hypothesis strategies that build a test case for any op from its catalog entry.

A case is (inputs, params): NumPy arrays keyed by input name in the op's argument order,
and keyword parameters.  Pointwise ops are handled generically from the catalog; ops
that mix elements register a builder in ``BUILDERS``.  Everything is read from the catalog
(``nnref._generated.catalog``), so the installed package can draw cases without SymPy.

Owns: the case strategies, the upstream-gradient strategy.  Imports: NumPy, hypothesis,
``nnref.conformance.sizes``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .sizes import torch_rule

Case = tuple[dict[str, np.ndarray], dict[str, Any]]

DTYPES = {"float64": np.float64, "float32": np.float32}

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def special_points(meta: dict[str, Any], params: dict[str, Any]) -> list[float]:
    """Exact points where the op has a declared convention (kinks, jumps), and the drawn
    float parameters themselves (so x == threshold, x == ±lambd, x == min_val happen)."""
    pts = [0.0, -0.0]
    for c in meta["conventions"]:
        for v in c["point"].values():
            if isinstance(v, float) and np.isfinite(v):
                pts.append(v)
    for v in params.values():
        if isinstance(v, float):
            pts += [v, -v]
    return pts


def _values(draw: Any, domain: str, dtype: str, pts: list[float]) -> st.SearchStrategy[float]:
    width: Literal[32, 64] = 32 if dtype == "float32" else 64
    tiny = 1e-30 if dtype == "float32" else 1e-300

    def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
        # No subnormals: torch computes some gradients as t·(1/t), which overflows or rounds
        # coarsely below the smallest normal (kl_div's target gradient drops a term).  The
        # tiny normal values below stay in, and the special-values and numerics tests cover
        # the rest.
        return st.floats(lo, hi, width=width, allow_subnormal=False)

    if domain == "unit":
        return st.one_of(floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 0.5, tiny, 1 - 1e-6]))
    if domain == "positive":
        low = float(np.float32(1e-3)) if width == 32 else 1e-3
        return st.one_of(floats(low, 100.0), st.sampled_from([1.0, tiny * 1e10, 1e3]))
    if domain == "nonneg":
        return st.one_of(floats(0.0, 100.0), st.sampled_from([0.0, 1.0, tiny]))
    if domain == "pm1":
        return st.sampled_from([-1.0, 1.0])
    if domain == "sign":
        return st.one_of(st.sampled_from([-1.0, 1.0]), floats(-1.0, 1.0))
    cast = [float(np.asarray(p, dtype=DTYPES[dtype])) for p in pts]
    return st.one_of(
        floats(-10.0, 10.0),
        st.sampled_from(cast),
        floats(-1e3, 1e3),
        st.sampled_from([tiny, -tiny, 1e-8, -1e-8]),
    )


def _param(draw: Any, p: dict[str, Any]) -> Any:
    if p["kind"] == "choice":
        return draw(st.sampled_from(p["choices"]))
    if p["kind"] == "bool":
        return draw(st.booleans())
    if p["kind"] == "float":
        lo, hi = p["test_range"] or (-3.0, 3.0)
        # Exactly 0 or at least 1e-30 in magnitude: a Python float below float32's range
        # becomes 0 inside torch's float32 kernels, whose vectorised and scalar paths then
        # disagree with each other (smooth_l1_loss with beta = 1e-173).
        options = [st.floats(lo, hi, allow_subnormal=False).filter(lambda v: v == 0 or abs(v) >= 1e-30)]
        if p["default"] is not None and lo <= p["default"] <= hi:
            options.append(st.just(float(p["default"])))
        return draw(st.one_of(*options))
    raise AssertionError(f"no strategy for parameter kind {p['kind']}")


@st.composite
def pointwise_case(draw: Any, meta: dict[str, Any], dtype: str) -> Case:
    params: dict[str, Any] = {}
    for p in meta["params"]:
        if p["kind"] == "optional_array":
            continue
        params[p["name"]] = _param(draw, p)
    pts = special_points(meta, params)
    shape = draw(SHAPES)
    inputs: dict[str, np.ndarray] = {}
    for spec in meta["inputs"]:
        if spec["layout"] == "channel":
            channels = shape[1] if len(shape) >= 2 else 1
            n = draw(st.sampled_from(sorted({1, channels})))
            arr = draw(hnp.arrays(DTYPES[dtype], (n,), elements=st.floats(-2, 2, width=32)))
        else:
            elements = _values(draw, spec["test_domain"], dtype, pts)
            limit = meta.get("crosscheck_max_abs", {}).get(dtype)
            if limit is not None:
                # The op declares where torch overflows and nnref does not (see its notes).
                def clip(v: float, lim: float = float(limit)) -> float:
                    return max(-lim, min(lim, v))
                elements = elements.map(clip)
            arr = draw(hnp.arrays(DTYPES[dtype], shape, elements=elements))
        inputs[spec["name"]] = arr
    for p in meta["params"]:
        if p["kind"] == "optional_array":
            use = draw(st.booleans())
            weights = st.floats(0, 2, width=32, allow_subnormal=False)
            params[p["name"]] = draw(hnp.arrays(DTYPES[dtype], shape, elements=weights)) if use else None
    if meta["name"] == "poisson_nll_loss" and not params.get("log_input", True):
        # With log_input=False the input is a rate: log(input + eps) has a pole at -eps, where
        # both engines return IEEE infinities and NaNs in different orders.
        inputs["input"] = np.asarray(np.abs(inputs["input"]))
    return inputs, params


BUILDERS: dict[str, Callable[[dict[str, Any], str], st.SearchStrategy[Case]]] = {}


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        BUILDERS[name] = fn
        return fn
    return deco


def grad_outputs(dtype: str, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """A random upstream gradient of the output's shape."""
    return hnp.arrays(DTYPES[dtype], shape, elements=st.floats(-2, 2, width=32))


def case_for(meta: dict[str, Any], dtype: str) -> st.SearchStrategy[Case]:
    builder = BUILDERS.get(meta["name"])
    if builder is not None:
        return builder(meta, dtype)
    return pointwise_case(meta, dtype)


def _floats(dtype: str, lo: float = -10.0, hi: float = 10.0) -> st.SearchStrategy[float]:
    if dtype == "float32":
        # Bounds must be float32 values themselves; round them inwards.
        lo32, hi32 = float(np.float32(lo)), float(np.float32(hi))
        lo = lo32 if lo32 >= lo else float(np.nextafter(np.float32(lo), np.float32(np.inf)))
        hi = hi32 if hi32 <= hi else float(np.nextafter(np.float32(hi), np.float32(-np.inf)))
        # No subnormals (see _values): torch's kernels overflow 1/w for tiny w.
        return st.floats(lo, hi, width=32, allow_subnormal=False)
    return st.floats(lo, hi, allow_subnormal=False)


@st.composite
def _normalised(draw: Any, meta: dict[str, Any], dtype: str) -> Case:
    shape = draw(SHAPES)
    span = max(len(shape), 1)
    dim = draw(st.integers(-span, span - 1))
    # Large spreads and exact ties both matter for the max-shifted forms.
    elements = st.one_of(_floats(dtype), st.sampled_from([0.0, 1.0, -1e3, 1e3]))
    x = draw(hnp.arrays(DTYPES[dtype], shape, elements=elements))
    return {"input": x}, {"dim": dim}


register("softmax")(_normalised)
register("log_softmax")(_normalised)


@register("linear")
@st.composite
def _linear(draw: Any, meta: dict[str, Any], dtype: str) -> Case:
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    n_in, n_out = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    arr = lambda shape: draw(hnp.arrays(DTYPES[dtype], shape, elements=_floats(dtype)))  # noqa: E731
    bias = arr((n_out,)) if draw(st.booleans()) else None
    return {"input": arr(batch + (n_in,)), "weight": arr((n_out, n_in)), "bias": bias}, {}


@st.composite
def _class_loss(draw: Any, meta: dict[str, Any], dtype: str, probabilities: bool, smoothing: bool) -> Case:
    classes = draw(st.integers(1, 5))
    if draw(st.booleans()):
        shape: tuple[int, ...] = (classes,)
    else:
        shape = (draw(st.integers(0, 4)), classes) + draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1,
                                                                           max_side=3))
    axis = 1 if len(shape) >= 2 else 0
    sample_shape = shape[:axis] + shape[axis + 1:]
    x = draw(hnp.arrays(DTYPES[dtype], shape, elements=st.one_of(_floats(dtype), st.sampled_from([0.0, 50.0]))))
    params: dict[str, Any] = {"reduction": draw(st.sampled_from(["none", "mean", "sum"]))}
    if draw(st.booleans()):
        # 0 or >= 1e-3: a weight near float32's smallest normal (1.2e-38) makes the 'mean'
        # divisor so small that torch's float32 intermediates overflow where the mean itself
        # (nnref divides in float64) is a representable float32.
        weights = st.one_of(st.just(0.0), _floats(dtype, 1e-3, 2.0))
        params["weight"] = draw(hnp.arrays(DTYPES[dtype], (classes,), elements=weights))
    if smoothing and draw(st.booleans()):
        params["label_smoothing"] = draw(st.floats(0.0, 1.0))
    if probabilities and draw(st.booleans()):
        target = draw(hnp.arrays(DTYPES[dtype], shape, elements=_floats(dtype, 0.0, 1.0)))
    else:
        target = draw(hnp.arrays(np.int64, sample_shape, elements=st.integers(0, classes - 1)))
        if draw(st.booleans()):
            params["ignore_index"] = draw(st.integers(0, classes - 1))
    return {"input": x, "target": target}, params


register("cross_entropy")(lambda meta, dtype: _class_loss(meta, dtype, True, True))
register("nll_loss")(lambda meta, dtype: _class_loss(meta, dtype, False, False))


@register("cosine_embedding_loss")
@st.composite
def _cosine(draw: Any, meta: dict[str, Any], dtype: str) -> Case:
    dims = draw(st.integers(1, 4))
    shape = (dims,) if draw(st.booleans()) else (draw(st.integers(0, 4)), dims)
    # Exact zeros (the ε case) or magnitudes >= 1e-2: below that, float32 gradients of nearly
    # parallel vectors lose every digit in both engines (see the op's float32 tolerance).
    mag = st.one_of(st.just(0.0), _floats(dtype, 1e-2, 10.0), _floats(dtype, -10.0, -1e-2))
    arr = lambda: draw(hnp.arrays(DTYPES[dtype], shape, elements=mag))  # noqa: E731
    target = draw(hnp.arrays(DTYPES[dtype], shape[:-1], elements=st.sampled_from([-1.0, 1.0])))
    params = {"margin": draw(st.one_of(st.just(0.0), st.floats(-1.0, 1.0))),
              "reduction": draw(st.sampled_from(["none", "mean", "sum"]))}
    return {"input1": arr(), "input2": arr(), "target": target}, params


# ----------------------------------------------------------------------------- convolution


@st.composite
def _conv(draw: Any, meta: dict[str, Any], dtype: str) -> Case:
    """A convolution with every parameter drawn: groups (depthwise too), per-axis stride,
    padding (ints, tuples, 'valid', 'same' with even kernels), dilation, output_padding,
    1×1 kernels, strides larger than the kernel, batch 0 and unbatched input.  Sizes keep
    every sum at most 200 terms and every value at most 2 in magnitude (the tolerances'
    assumptions, see derivations/ops/conv.py)."""
    name = meta["name"]
    transposed = name.startswith("conv_transpose")
    dims = int(name[-2])
    ints = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(dims))  # noqa: E731
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    depthwise = draw(st.booleans())
    cg = 1 if depthwise else draw(st.integers(1, 3))
    og = draw(st.integers(1, 3))
    cin, cout = groups * cg, groups * og
    # Transposed 3-d outputs grow fast (s·(L − 1) + d·(K − 1) + 1 per axis): smaller steps there.
    small = transposed and dims == 3
    kernel = ints(1, 4 if dims == 1 else 2 if small else 3)
    stride, dilation = ints(1, 2 if small else 3), ints(1, 2 if small else 3)
    extra = {1: 6, 2: 3, 3: 1}[dims]
    params: dict[str, Any] = {}
    if transposed:
        padding: Any = ints(0, 2)
        out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        # the output length s·(L − 1) + d·(K − 1) − 2p + output_padding + 1 must be >= 1
        low = [max(1, -(-(2 * p - d * (k - 1) - a) // s) + 1) for p, d, k, a, s in
               zip(padding, dilation, kernel, out_pad, stride)]
        params["output_padding"] = out_pad
    else:
        kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
        if kind == "same":
            stride = (1,) * dims
            padding, total = "same", [d * (k - 1) for d, k in zip(dilation, kernel)]
        elif kind == "valid":
            padding, total = "valid", [0] * dims
        else:
            padding = ints(0, 2) if kind == "tuple" else (draw(st.integers(0, 2)),) * dims
            total = [2 * p for p in padding]
        low = [max(1, d * (k - 1) + 1 - t) for d, k, t in zip(dilation, kernel, total)]
    size = [lo + draw(st.integers(0, extra)) for lo in low]
    if transposed:
        # At most 64 output positions, so no sum (the bias gradient's, over batch and
        # positions) has more than 3·64 terms.
        def positions() -> int:
            return math.prod(s * (n - 1) + d * (k - 1) - 2 * p + a + 1 for s, n, d, k, p, a in
                             zip(stride, size, dilation, kernel, padding, params["output_padding"]))
        for a in range(dims):
            while positions() > 64 and size[a] > low[a]:
                size[a] -= 1
        assume(positions() <= 64)
    whole = tuple(size)
    batch = draw(st.sampled_from([0, 1, 2, 3]))
    unbatched = draw(st.integers(0, 5)) == 0
    elements = st.one_of(st.sampled_from([k / 4 for k in range(-8, 9)]), _floats(dtype, -2.0, 2.0))
    arr = lambda shape: draw(hnp.arrays(DTYPES[dtype], shape, elements=elements))  # noqa: E731
    x = arr(((cin,) if unbatched else (batch, cin)) + whole)
    w = arr(((cin, og) if transposed else (cout, cg)) + kernel)
    b = arr((cout,)) if draw(st.booleans()) else None
    for key, value in (("stride", stride), ("padding", padding), ("dilation", dilation)):
        # An int where every axis agrees, half of the time, as torch accepts both.
        same = isinstance(value, tuple) and len(set(value)) == 1
        params[key] = value[0] if same and draw(st.booleans()) else value
    params["groups"] = groups
    return {"input": x, "weight": w, "bias": b}, params


for _name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
    register(_name)(_conv)


# ----------------------------------------------------------------------------- pooling


def _pool_values(dtype: str, specials: bool, lo: float = -10.0, hi: float = 10.0) -> st.SearchStrategy[float]:
    """Small integers most of the time, so windows tie on purpose; ordinary floats; and, where
    the op is defined for them, NaN and ±inf."""
    options = [st.sampled_from([v for v in (-2.0, -1.0, 0.0, -0.0, 1.0, 2.0) if lo <= v <= hi]), _floats(dtype, lo, hi)]
    if specials:
        options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    return st.one_of(*options)


@st.composite
def _pool(draw: Any, meta: dict[str, Any], dtype: str) -> Case:
    """A pooling call with every parameter drawn: per-axis kernel, stride (larger than the
    kernel too), padding up to half the kernel, dilation, ceil_mode with overhanging last
    windows, count_include_pad / divisor_override, adaptive sizes smaller and larger than
    the input, batch 0 and unbatched input; values tie on purpose and include NaN and ±inf
    (finite values only for lp_pool, whose torch gradient mixes inf and 0 in other orders)."""
    name = meta["name"]
    dims = int(name[-2])
    kind = name[: name.index("pool") + 4] if "unpool" not in name else "max_unpool"
    ints = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(dims))  # noqa: E731
    batch = draw(st.sampled_from([0, 1, 2]))
    channels = draw(st.integers(1, 3))
    unbatched = draw(st.integers(0, 5)) == 0
    params: dict[str, Any] = {}

    def as_param(value: tuple[int, ...]) -> Any:
        same = len(set(value)) == 1
        return value[0] if same and draw(st.booleans()) else value

    def array(size: tuple[int, ...], values: st.SearchStrategy[float]) -> np.ndarray:
        shape = ((channels,) if unbatched else (batch, channels)) + size
        return draw(hnp.arrays(DTYPES[dtype], shape, elements=values))

    if kind in ("max_pool", "avg_pool", "lp_pool"):
        kernel = ints(1, 2 if dims == 3 else 3)
        stride = ints(1, 3 if dims < 3 else 2)
        dilation = ints(1, 2) if kind == "max_pool" else (1,) * dims
        padding = tuple(draw(st.integers(0, k // 2)) for k in kernel) if kind != "lp_pool" else (0,) * dims
        ceil = draw(st.booleans())
        extra = {1: 6, 2: 3, 3: 2}[dims]
        size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, extra))
                     for k, d, p in zip(kernel, dilation, padding))
        if kind == "avg_pool" and dims == 3:  # torch's avg_pool3d wants a whole kernel before padding
            size = tuple(max(n, k) for n, k in zip(size, kernel))
        # Every window must read an input entry (nnref refuses the others, see nnref/_pool.py).
        for k, s, d, p, n in zip(kernel, stride, dilation, padding, size):
            out = torch_rule(n, k, s, p, d, ceil)
            assume(out >= 1)
            assume(all(any(0 <= s * i - p + d * t < n for t in range(k)) for i in range(out)))
        if kind == "lp_pool":
            # ±inf: torch's max_pool of |x| (and minus that of −|x|)
            params["norm_type"] = draw(st.one_of(st.sampled_from([1.0, 2.0, 3.0, 1.5, math.inf, -math.inf]),
                                                 st.floats(1.0, 3.0)))
        params["kernel_size"] = as_param(kernel)
        if draw(st.integers(0, 3)) > 0:
            params["stride"] = as_param(stride)
        if name == "lp_pool1d":  # torch's lp_pool1d multiplies by kernel_size: it must be an int
            params["kernel_size"] = kernel[0]
        else:
            stride = kernel
        if kind != "lp_pool":
            params["padding"] = as_param(padding)
        if kind == "max_pool":
            params["dilation"] = as_param(dilation)
            params["return_indices"] = draw(st.booleans())
        params["ceil_mode"] = ceil
        if kind == "avg_pool":
            params["count_include_pad"] = draw(st.booleans())
            if dims > 1 and draw(st.integers(0, 3)) == 0:
                params["divisor_override"] = draw(st.integers(1, 7))
        if kind == "lp_pool":
            # Negative bases only for integer powers: x^P is NaN for x < 0 otherwise, and torch's
            # float32 kernel raises to the double P where NumPy rounds P to float32 first
            # (P = 1.0000000000000002 is 1.0 in float32, so (-1)^P is -1 there and NaN in torch).
            values = _pool_values(dtype, False, 0.0 if params["norm_type"] % 1 else -3.0, 3.0)
        else:
            values = _pool_values(dtype, True)
        return {"input": array(size, values)}, params
    if kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        size = ints(1, 7 if dims == 1 else 5)
        out_size: Any = tuple(draw(st.one_of(st.integers(1, 8), st.none())) if dims > 1 else draw(st.integers(1, 8))
                              for _ in range(dims))
        if dims == 1 or draw(st.booleans()):
            out_size = out_size[0] if dims == 1 else out_size
        params["output_size"] = out_size
        if kind == "adaptive_max_pool":
            params["return_indices"] = draw(st.booleans())
        return {"input": array(size, _pool_values(dtype, True))}, params
    # max_unpool: indices as max_pool returns them (possibly repeated where windows overlap),
    # or distinct positions of each output plane.
    kernel, stride = ints(1, 3), ints(1, 3)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = ints(1, 4)
    default = [(n - 1) * s + k - 2 * p for n, s, k, p in zip(size, stride, kernel, padding)]
    assume(all(m >= 1 for m in default))
    out_shape = tuple(m + draw(st.integers(-s + 1, s - 1)) if draw(st.booleans()) else m
                      for m, s in zip(default, stride))
    assume(all(m >= 1 for m in out_shape))
    x = array(size, _pool_values(dtype, True))
    plane = math.prod(out_shape)
    lead = x.shape[:-dims]
    count = math.prod(size)
    assume(count <= plane)
    rows = [draw(st.permutations(range(plane)))[:count] for _ in range(math.prod(lead))]
    indices = np.asarray(rows, dtype=np.int64).reshape(x.shape)
    params.update(kernel_size=as_param(kernel), stride=as_param(stride), padding=as_param(padding))
    if out_shape != tuple(default) or draw(st.booleans()):
        params["output_size"] = out_shape
    return {"input": x, "indices": indices}, params


for _name in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d",
              "lp_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
              "max_unpool1d", "max_unpool2d"):
    register(_name)(_pool)
