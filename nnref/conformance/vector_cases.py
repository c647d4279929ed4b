"""The cases golden vectors hold, built with NumPy alone: for every op checked by forward and
VJP, ordinary inputs (each reduction, each choice, optional arrays present and absent), the
exact points of its conventions (from the catalog), special values (±0, ±inf, NaN,
subnormal, tiny and huge magnitudes) where the op's domain allows them, and for convolution
and pooling a few edge windows (padding, dilation, ceil_mode, stride larger than the kernel).

Every random draw comes from a generator seeded by the op's name, so the same nnref version
builds the same cases on every machine.  A case is (kind, label, inputs, params); the
vectors writer (``nnref.conformance.vectors``) runs nnref on it and writes the files.

Owns: ``cases_for``, ``cast``, ``grad_output`` and the per-family builders.  Imports: NumPy, the standard library.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Case:
    kind: str  # "ordinary", "convention", "special", "window"
    label: str
    inputs: dict[str, np.ndarray | None]
    params: dict[str, Any]


def rng_for(name: str, salt: str = "") -> np.random.Generator:
    # crc32, not hash(): Python salts str hashes per process.
    return np.random.default_rng(zlib.crc32(f"{name}/{salt}".encode()))


def specials(domain: str, dtype: str) -> list[float]:
    """The special values ``domain`` admits, in ``dtype``'s range."""
    f = np.finfo(np.dtype(dtype))
    sub, tiny, huge = float(f.smallest_subnormal), float(f.smallest_normal), float(f.max) / 4
    if domain == "unit":
        return [0.0, 1.0, sub, tiny, 0.5, 1.0 - float(f.eps)]
    if domain == "nonneg":
        return [0.0, sub, tiny, 1.0, huge, math.inf]
    if domain == "positive":
        return [sub, tiny, 1.0, huge, math.inf]
    if domain in ("sign", "pm1"):
        return [-1.0, 1.0]
    return [0.0, -0.0, math.inf, -math.inf, math.nan, sub, -sub, tiny, -tiny, huge, -huge, 1.0, -1.0]


def ordinary(rng: np.random.Generator, domain: str, shape: tuple[int, ...]) -> np.ndarray:
    if domain == "unit":
        return rng.uniform(0.05, 0.95, shape)
    if domain == "nonneg":
        return rng.uniform(0.0, 3.0, shape)
    if domain == "positive":
        return rng.uniform(0.1, 3.0, shape)
    if domain in ("sign", "pm1"):
        return rng.choice([-1.0, 1.0], shape)
    return rng.uniform(-4.0, 4.0, shape)


def _domain(spec: dict[str, Any]) -> str:
    return "positive" if spec.get("layout") == "var" else spec["test_domain"]


# ----------------------------------------------------------------------------- pointwise


def _default_params(meta: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in meta["params"]:
        if p["kind"] == "optional_array":
            continue
        value = p["default"]
        if value is None and p["kind"] == "float":
            lo, hi = p["test_range"] or (-1.0, 1.0)
            value = float(lo + (hi - lo) / 4)  # not the midpoint, which is 0 for symmetric ranges
        params[p["name"]] = value
    return params


def _pointwise_inputs(meta: dict[str, Any], rng: np.random.Generator, shape: tuple[int, ...],
                      fill: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray | None]:
    inputs: dict[str, np.ndarray | None] = {}
    for spec in meta["inputs"]:
        if fill and spec["name"] in fill:
            inputs[spec["name"]] = fill[spec["name"]]
        elif spec["layout"] == "channel":
            inputs[spec["name"]] = rng.uniform(-1.0, 1.0, (shape[1] if len(shape) >= 2 else 1,))
        else:
            inputs[spec["name"]] = ordinary(rng, _domain(spec), shape)
    return inputs


def _variants(meta: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(label, params, with optional arrays): the defaults, then one change at a time."""
    base = _default_params(meta)
    yield "defaults", base, False
    for p in meta["params"]:
        name = p["name"]
        if p["kind"] == "choice":
            for c in p["choices"]:
                if c != base[name]:
                    yield f"{name}={c}", {**base, name: c}, False
        elif p["kind"] == "bool":
            yield f"{name}={not base[name]}", {**base, name: not base[name]}, False
        elif p["kind"] == "float" and p["test_range"]:
            lo, hi = p["test_range"]
            value = float(lo + 3 * (hi - lo) / 4)
            if value != base[name]:
                yield f"{name}={value!r}", {**base, name: value}, False
    if any(p["kind"] == "optional_array" for p in meta["params"]):
        for r in ("none", "mean") if "reduction" in base else (None,):
            params = dict(base) if r is None else {**base, "reduction": r}
            yield "with " + ", ".join(p["name"] for p in meta["params"] if p["kind"] == "optional_array") + (
                f", reduction={r}" if r else ""), params, True


def _fix(meta: dict[str, Any], inputs: dict[str, np.ndarray | None], params: dict[str, Any]) -> None:
    # poisson_nll_loss with log_input=False takes a rate: log(input + eps) has a pole at -eps.
    if meta["name"] == "poisson_nll_loss" and not params.get("log_input", True) and inputs["input"] is not None:
        inputs["input"] = np.abs(inputs["input"])


def pointwise_cases(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    rng = rng_for(meta["name"], dtype)
    shape = (3, 4)
    for label, params, arrays in _variants(meta):
        inputs = _pointwise_inputs(meta, rng, shape)
        params = dict(params)
        if arrays:
            for p in meta["params"]:
                if p["kind"] == "optional_array":
                    params[p["name"]] = rng.uniform(0.0, 2.0, shape)
        _fix(meta, inputs, params)
        yield Case("ordinary", label, inputs, params)
    base = _default_params(meta)
    if "reduction" in base:
        base["reduction"] = "none"  # one loss per entry, so each exact point is its own output entry
    for conv in meta["conventions"]:
        point = conv["point"]
        if not point:
            continue
        params = {**base, **conv["params"]}
        fill = {k: np.full((4,), v) for k, v in point.items()}
        inputs = _pointwise_inputs(meta, rng, (4,), fill)
        _fix(meta, inputs, params)
        yield Case("convention", conv["label"], inputs, params)
    first = next(s for s in meta["inputs"] if s["layout"] != "channel")
    for spec in meta["inputs"]:
        if _domain(spec) == "real" and spec["layout"] == "elementwise":
            first = spec
            break
    values = np.asarray(specials(_domain(first), dtype))
    inputs = _pointwise_inputs(meta, rng, values.shape, {first["name"]: values})
    _fix(meta, inputs, base)
    yield Case("special", f"special values of {first['name']}", inputs, dict(base))


# ----------------------------------------------------------------------------- structured


def _softmax(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    rng = rng_for(meta["name"], dtype)
    for dim in (-1, 0):
        yield Case("ordinary", f"dim={dim}", {"input": rng.uniform(-4, 4, (3, 5))}, {"dim": dim})
    f = np.finfo(np.dtype(dtype))
    rows = np.array([[0.0, -0.0, 1.0, -1.0], [math.inf, 1.0, 2.0, 3.0], [-math.inf, 1.0, 2.0, 3.0],
                     [math.nan, 1.0, 2.0, 3.0], [float(f.max) / 4, 0.0, -float(f.max) / 4, 1.0],
                     [float(f.smallest_subnormal), 0.0, -float(f.smallest_normal), 1e3]])
    yield Case("special", "special values along dim=1", {"input": rows}, {"dim": 1})


def _linear(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    rng = rng_for(meta["name"], dtype)
    x, w, b = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (2, 4)), rng.uniform(-2, 2, (2,))
    yield Case("ordinary", "with bias", {"input": x, "weight": w, "bias": b}, {})
    yield Case("ordinary", "no bias, batch (2, 3)", {"input": rng.uniform(-2, 2, (2, 3, 4)), "weight": w,
                                                     "bias": None}, {})
    s = np.asarray(specials("real", dtype)[:8]).reshape(2, 4)
    yield Case("special", "special values of input", {"input": s, "weight": w, "bias": b}, {})


def _class_loss(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    rng = rng_for(meta["name"], dtype)
    smoothing = meta["name"] == "cross_entropy"
    x = rng.uniform(-3, 3, (4, 3))
    if not smoothing:
        x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))  # log-probabilities, as nll_loss expects
    target = np.array([0, 2, 1, 2], dtype=np.int64)
    weight = np.array([0.5, 1.0, 2.0])
    for r in ("mean", "sum", "none"):
        yield Case("ordinary", f"reduction={r}", {"input": x, "target": target}, {"reduction": r})
    yield Case("ordinary", "weight, ignore_index=1", {"input": x, "target": target},
               {"reduction": "mean", "weight": weight, "ignore_index": 1})
    yield Case("ordinary", "(N, C, d) input", {"input": rng.uniform(-3, 3, (2, 3, 2)),
                                               "target": np.array([[0, 2], [1, 1]], dtype=np.int64)},
               {"reduction": "mean"})
    if smoothing:
        yield Case("ordinary", "label_smoothing=0.1, weight", {"input": x, "target": target},
                   {"reduction": "mean", "weight": weight, "label_smoothing": 0.1})
        probs = rng.uniform(0, 1, (4, 3))
        yield Case("ordinary", "probability targets", {"input": x, "target": probs / probs.sum(1, keepdims=True)},
                   {"reduction": "mean"})
    big = np.array([[1e3, 0.0, -1e3], [0.0, -0.0, 0.0], [-math.inf, 1.0, 2.0], [50.0, 50.0, 50.0]])
    if not smoothing:
        big = np.array([[0.0, -0.0, -1e3], [-math.inf, -1.0, -2.0], [-1.0, -math.inf, -1.0], [-5e2, 0.0, 0.0]])
    yield Case("special", "special values of input", {"input": big, "target": target}, {"reduction": "none"})


def _cosine(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    rng = rng_for(meta["name"], dtype)
    a, b = rng.uniform(-2, 2, (4, 3)), rng.uniform(-2, 2, (4, 3))
    target = np.array([1.0, -1.0, 1.0, -1.0])
    for r in ("mean", "sum", "none"):
        yield Case("ordinary", f"reduction={r}", {"input1": a, "input2": b, "target": target},
                   {"margin": 0.0, "reduction": r})
    yield Case("ordinary", "margin=0.5", {"input1": a, "input2": b, "target": target},
               {"margin": 0.5, "reduction": "none"})
    z = a.copy()
    z[0] = 0.0
    z[1] = -0.0
    z[2] = b[2]  # parallel: cos = 1 exactly
    yield Case("special", "zero and parallel vectors", {"input1": z, "input2": b, "target": target},
               {"margin": 0.0, "reduction": "none"})


# ----------------------------------------------------------------------------- windows


def _conv(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    name = meta["name"]
    rng = rng_for(name, dtype)
    d = int(name[-2])
    transposed = name.startswith("conv_transpose")
    size = {1: (7,), 2: (5, 6), 3: (4, 4, 5)}[d]

    def arrays(cin: int, cout: int, groups: int, k: int, bias: bool) -> dict[str, np.ndarray | None]:
        wshape = (cin, cout // groups) if transposed else (cout, cin // groups)
        return {"input": rng.uniform(-2, 2, (2, cin) + size), "weight": rng.uniform(-2, 2, wshape + (k,) * d),
                "bias": rng.uniform(-2, 2, (cout,)) if bias else None}

    yield Case("ordinary", "defaults", arrays(2, 3, 1, 3, True), {})
    yield Case("window", "padding=1, stride=2", arrays(2, 3, 1, 3, True), {"padding": 1, "stride": 2})
    yield Case("window", "dilation=2, padding=1", arrays(2, 2, 1, 2, False), {"dilation": 2, "padding": 1})
    yield Case("window", "stride=3 > kernel 2, groups=2", arrays(4, 2, 2, 2, True), {"stride": 3, "groups": 2})
    if transposed:
        yield Case("window", "stride=2, output_padding=1", arrays(2, 3, 1, 3, True),
                   {"stride": 2, "output_padding": 1, "padding": 1})
    else:
        yield Case("window", "padding='same', dilation=2, even kernel", arrays(2, 3, 1, 2, True),
                   {"padding": "same", "dilation": 2})
        per_axis = tuple(range(1, d + 1))
        yield Case("window", "per-axis padding and stride", arrays(2, 3, 1, 3, True),
                   {"padding": per_axis, "stride": tuple(reversed(per_axis))})
    f = np.finfo(np.dtype(dtype))
    case = arrays(2, 3, 1, 2, True)
    x = case["input"]
    assert x is not None
    flat = x.reshape(-1)
    flat[: 6] = [0.0, -0.0, float(f.smallest_subnormal), -float(f.smallest_subnormal), float(f.smallest_normal), 0.0]
    yield Case("special", "±0 and subnormal inputs", case, {})


def _plane(rng: np.random.Generator, d: int, ties: bool) -> np.ndarray:
    size = {1: (7,), 2: (5, 6), 3: (4, 4, 5)}[d]
    if ties:  # small integers, so windows tie on purpose
        return rng.integers(-2, 3, (2, 3) + size).astype(np.float64)
    return rng.uniform(-4, 4, (2, 3) + size)


def _with_specials(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    flat = x.reshape(-1)
    flat[[0, 3, 5, 8, 13]] = [math.nan, math.inf, -math.inf, -0.0, 0.0]
    return x


def _pool(meta: dict[str, Any], dtype: str) -> Iterator[Case]:
    name = meta["name"]
    rng = rng_for(name, dtype)
    d = int(name[-2])
    kind = name[: name.index("pool") + 4] if "unpool" not in name else "max_unpool"
    if kind == "max_pool":
        yield Case("ordinary", "kernel 2", {"input": _plane(rng, d, False)}, {"kernel_size": 2})
        yield Case("window", "kernel 3, stride 2, padding 1, ceil_mode", {"input": _plane(rng, d, True)},
                   {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True})
        yield Case("window", "kernel 2, dilation 2, padding 1", {"input": _plane(rng, d, True)},
                   {"kernel_size": 2, "dilation": 2, "padding": 1})
        yield Case("window", "stride 3 > kernel 2, return_indices", {"input": _plane(rng, d, False)},
                   {"kernel_size": 2, "stride": 3, "return_indices": True})
        yield Case("special", "NaN, ±inf, ±0 and ties", {"input": _with_specials(_plane(rng, d, True))},
                   {"kernel_size": 2, "return_indices": True})
    elif kind == "avg_pool":
        yield Case("ordinary", "kernel 2", {"input": _plane(rng, d, False)}, {"kernel_size": 2})
        yield Case("window", "kernel 3, stride 2, padding 1, ceil_mode, count_include_pad=False",
                   {"input": _plane(rng, d, False)},
                   {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False})
        yield Case("window", "stride 3 > kernel 2", {"input": _plane(rng, d, False)}, {"kernel_size": 2, "stride": 3})
        if d > 1:
            yield Case("window", "divisor_override=3, padding 1", {"input": _plane(rng, d, False)},
                       {"kernel_size": 2, "padding": 1, "divisor_override": 3})
        yield Case("special", "NaN, ±inf, ±0", {"input": _with_specials(_plane(rng, d, True))}, {"kernel_size": 2})
    elif kind == "lp_pool":
        k2: Any = 2
        yield Case("ordinary", "norm_type 2, kernel 2", {"input": _plane(rng, d, False)},
                   {"norm_type": 2.0, "kernel_size": k2})
        yield Case("window", "norm_type 3, kernel 3, stride 2, ceil_mode", {"input": _plane(rng, d, False)},
                   {"norm_type": 3.0, "kernel_size": 3, "stride": 2, "ceil_mode": True})
        yield Case("window", "norm_type 1.5 (non-negative input), stride 3 > kernel 2",
                   {"input": np.abs(_plane(rng, d, False))}, {"norm_type": 1.5, "kernel_size": 2, "stride": 3})
        yield Case("special", "norm_type inf, ±0 and ties", {"input": _plane(rng, d, True)},
                   {"norm_type": math.inf, "kernel_size": 2})
    elif kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        extra = {"return_indices": True} if kind == "adaptive_max_pool" else {}
        yield Case("ordinary", "output smaller than input", {"input": _plane(rng, d, False)},
                   {"output_size": 3, **extra})
        yield Case("window", "output larger than input (overlapping windows)", {"input": _plane(rng, d, True)},
                   {"output_size": 9 if d == 1 else (7, None)})
        yield Case("special", "NaN, ±inf, ±0", {"input": _with_specials(_plane(rng, d, True))},
                   {"output_size": 2, **extra})
    else:
        yield from _unpool(meta, dtype, d)


def _unpool(meta: dict[str, Any], dtype: str, d: int) -> Iterator[Case]:
    rng = rng_for(meta["name"], dtype)
    plane = {1: (8,), 2: (4, 6)}[d]
    choices: tuple[tuple[str, dict[str, Any], str | None], ...] = (
        ("kernel 2", {"kernel_size": 2}, None),
                                ("kernel 3, stride 2, padding 1, output_size", {"kernel_size": 3, "stride": 2,
                                                                        "padding": 1}, "grow"))
    for label, params, pick in choices:
        k = params["kernel_size"]
        s, p = params.get("stride", k), params.get("padding", 0)
        size = tuple((n + 2 * p - k) // s + 1 for n in plane)
        default = tuple((n - 1) * s + k - 2 * p for n in size)
        out = tuple(m + 1 for m in default) if pick else default
        total = math.prod(out)
        x = rng.uniform(-4, 4, (2, 3) + size)
        rows = [rng.permutation(total)[: math.prod(size)] for _ in range(6)]
        indices = np.sort(np.asarray(rows, dtype=np.int64), axis=1).reshape(x.shape)
        if pick:
            params = {**params, "output_size": out}
        yield Case("window" if pick else "ordinary", label, {"input": x, "indices": indices}, params)
    x = _with_specials(rng.uniform(-4, 4, (2, 3) + tuple(n // 2 for n in plane)))
    idx = np.tile(np.arange(math.prod(x.shape[2:]), dtype=np.int64) * 2, 6).reshape(x.shape)
    yield Case("special", "NaN, ±inf, ±0 values", {"input": x, "indices": idx}, {"kernel_size": 2})


BUILDERS: dict[str, Callable[[dict[str, Any], str], Iterator[Case]]] = {
    "softmax": _softmax, "log_softmax": _softmax, "linear": _linear, "cross_entropy": _class_loss,
    "nll_loss": _class_loss, "cosine_embedding_loss": _cosine,
}
for _n in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
    BUILDERS[_n] = _conv


def cases_for(meta: dict[str, Any], dtype: str) -> list[Case]:
    """Every case of op ``meta`` (a catalog entry) in ``dtype``, arrays cast to it (class
    indices stay int64)."""
    if meta["family"] == "pooling":
        builder: Callable[[dict[str, Any], str], Iterator[Case]] = _pool
    else:
        builder = BUILDERS.get(meta["name"], pointwise_cases)
    return [cast(case, dtype) for case in builder(meta, dtype)]


def cast(case: Case, dtype: str) -> Case:
    """``case`` with its arrays in ``dtype`` (class indices stay int64)."""
    inputs = {k: (None if v is None else v if v.dtype.kind == "i" else np.asarray(v, dtype=dtype))
              for k, v in case.inputs.items()}
    params = {k: np.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v for k, v in case.params.items()}
    return Case(case.kind, case.label, inputs, params)


def grad_output(index: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient of a dtype's ``index``-th case: seeded by its position, so the
    vectors and the conformance run's fixed cases use the same one."""
    seed = index + (0 if dtype == "float64" else 1000)
    return np.asarray(np.random.default_rng(seed).uniform(-2.0, 2.0, shape), dtype=dtype)
