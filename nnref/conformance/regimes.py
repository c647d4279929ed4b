"""Parameter regimes that every conformance run reaches by construction, not by chance.

Random draws leave regimes to luck: a batch of one or none, every non-default setting at
once, an input on both sides of a kink that a parameter moves (softplus switches where
β·x = threshold, hardtanh at min_val and max_val), class weights together with
``ignore_index`` and ``label_smoothing``, convolution and pooling options combined.  The
cases here name each such regime; ``cases`` adds them to the golden vectors' cases
(``vector_cases.cases_for``), so the vectors hold them, and the conformance runner runs all
of them (special values aside) before its drawn examples.  ``coverage`` tabulates what the
cases reach, per op, and the suite checks that table, so that a new parameter cannot go
undrawn.

Owns: the regime cases, ``cases`` (every deterministic case of an op), ``coverage``.
Imports: NumPy, the catalog, ``.vector_cases``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from nnref._generated.catalog import CATALOG

from .vector_cases import Case, _default_params, _fix, _plane, _pointwise_inputs, cases_for, cast, ordinary, rng_for

# Parameters whose values a regime can change (an int such as softmax's dim or
# ignore_index is set by the family's own cases).
CHANGEABLE = ("choice", "bool", "float", "optional_array")


def _changed(meta: dict[str, Any]) -> dict[str, Any]:
    """Every changeable parameter away from its default at once (floats at 3/4 of their test
    range, the last other choice, booleans flipped); optional arrays are added by the caller."""
    params = _default_params(meta)
    for p in meta["params"]:
        name = p["name"]
        if p["kind"] == "choice":
            params[name] = next(c for c in reversed(p["choices"]) if c != p["default"])
        elif p["kind"] == "bool":
            params[name] = not p["default"]
        elif p["kind"] == "float" and p["test_range"]:
            lo, hi = p["test_range"]
            params[name] = float(lo + 3 * (hi - lo) / 4)
    return params


def kinks(meta: dict[str, Any], params: dict[str, Any]) -> list[float]:
    """Inputs where the op switches branch under ``params`` (the other inputs at 0): the
    float parameters themselves and their negatives (thresholds, λ, min_val / max_val,
    margins, δ and β of the robust losses, which compare |input − target| with them), and
    softplus' switch β·x = threshold."""
    values = [params.get(p["name"]) for p in meta["params"] if p["kind"] == "float"]
    points = [s * v for v in values if isinstance(v, float) and math.isfinite(v) and abs(v) >= 1e-3 for s in (1, -1)]
    if meta["name"] == "softplus":
        points.append(params["threshold"] / params["beta"])
    return sorted(set(points))


def _straddle(points: list[float]) -> np.ndarray:
    # Each kink, and a point each side of it close enough that no other kink lies between.
    step = [2.0 ** -6 * max(abs(k), 1.0) for k in points]
    return np.asarray([v for k, h in zip(points, step, strict=True) for v in (k - h, k, k + h)])


def _pointwise(meta: dict[str, Any]) -> Iterator[Case]:
    rng = rng_for(meta["name"], "regimes")
    base = _default_params(meta)
    for n in (0, 1):
        inputs = _pointwise_inputs(meta, rng, (n, 4))
        _fix(meta, inputs, base)
        yield Case("regime", f"batch of {n}", inputs, dict(base))
    first = meta["inputs"][0]
    if first["test_domain"] == "real":
        # Finite magnitudes where exp overflows (e^89 in float32, e^710 in float64) and where
        # 1 + e^-|x| rounds to 1: naive log(1 + exp(x)) forms turn inf or NaN here.
        big = np.asarray([-1e4, -800.0, -100.0, -30.0, 30.0, 100.0, 800.0, 1e4])
        inputs = _pointwise_inputs(meta, rng, big.shape, {first["name"]: big})
        params = {**base, "reduction": "none"} if "reduction" in base else dict(base)
        _fix(meta, inputs, params)
        yield Case("regime", "large magnitudes (exp overflows, 1 + e^-|x| rounds to 1)", inputs, params)
    if any(spec["layout"] == "channel" for spec in meta["inputs"]):
        # Channels on axis 1 of a 3-D input, not on its last axis.
        inputs = _pointwise_inputs(meta, rng, (2, 3, 4))
        yield Case("regime", "channels on axis 1 of a 3-D input", inputs, dict(base))
    changed = _changed(meta)
    if changed != base or any(p["kind"] == "optional_array" for p in meta["params"]):
        together = dict(changed)
        for p in meta["params"]:
            if p["kind"] == "optional_array":
                together[p["name"]] = rng.uniform(0.25, 2.0, (3, 4))
        if "reduction" in together:
            together["reduction"] = "sum"
        inputs = _pointwise_inputs(meta, rng, (3, 4))
        _fix(meta, inputs, together)
        yield Case("regime", "every parameter changed at once", inputs, together)
    points = kinks(meta, changed)
    if points:
        params = {**changed, "reduction": "none"} if "reduction" in changed else dict(changed)
        x = _straddle(points)
        first = meta["inputs"][0]["name"]
        fill = {first: x}
        for spec in meta["inputs"][1:]:
            if spec["layout"] == "elementwise" and spec["test_domain"] == "real":
                fill[spec["name"]] = np.zeros_like(x)
        inputs = _pointwise_inputs(meta, rng, x.shape, fill)
        _fix(meta, inputs, params)
        yield Case("regime", "inputs either side of every kink at changed parameters", inputs, params)


def _class_loss(meta: dict[str, Any]) -> Iterator[Case]:
    rng = rng_for(meta["name"], "regimes")
    smoothing = meta["name"] == "cross_entropy"

    def logits(n: int) -> np.ndarray:
        x = rng.uniform(-3, 3, (n, 3))
        return x if smoothing or n == 0 else x - np.log(np.exp(x).sum(axis=1, keepdims=True))

    for n in (0, 1):
        yield Case("regime", f"batch of {n}", {"input": logits(n), "target": rng.integers(0, 3, n).astype(np.int64)},
                   {"reduction": "sum"})
    weight = np.array([0.5, 1.0, 2.0])
    target = np.array([0, 2, 1, 2, 1], dtype=np.int64)
    extra = {"label_smoothing": 0.2} if smoothing else {}
    for r in ("mean", "sum", "none"):
        label = f"weight, ignore_index=2{', label_smoothing=0.2' if smoothing else ''}, reduction={r}"
        yield Case("regime", label, {"input": logits(5), "target": target},
                   {"weight": weight, "ignore_index": 2, "reduction": r, **extra})
    yield Case("regime", "ignore_index=-1 on a negative target, weight", {"input": logits(5),
                                                                          "target": np.array([0, -1, 2, -1, 1])},
               {"weight": weight, "ignore_index": -1, "reduction": "mean"})


def _window(meta: dict[str, Any]) -> Iterator[Case]:
    name = meta["name"]
    rng = rng_for(name, "regimes")
    d = int(name[-2])
    if meta["family"] == "convolution":
        transposed = name.startswith("conv_transpose")
        size = {1: (7,), 2: (5, 6), 3: (5, 5, 6)}[d]
        wshape = (4, 1) if transposed else (2, 2)
        for n in (0, 1):
            yield Case("regime", f"batch of {n}", {"input": rng.uniform(-2, 2, (n, 4) + size),
                                                   "weight": rng.uniform(-2, 2, wshape + (2,) * d),
                                                   "bias": rng.uniform(-2, 2, (2,))}, {"groups": 2})
        params: dict[str, Any] = {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}
        if transposed:
            params["output_padding"] = 1
        yield Case("regime", "stride, padding, dilation and groups at once",
                   {"input": rng.uniform(-2, 2, (2, 4) + size), "weight": rng.uniform(-2, 2, wshape + (3,) * d),
                    "bias": rng.uniform(-2, 2, (2,))}, params)
        return
    if "unpool" in name:
        plane = {1: (3,), 2: (2, 3)}[d]
        for n in (0, 1):
            x = rng.uniform(-4, 4, (n, 2) + plane)
            idx = np.broadcast_to(np.arange(math.prod(plane), dtype=np.int64).reshape(plane) * 2, x.shape).copy()
            yield Case("regime", f"batch of {n}", {"input": x, "indices": idx}, {"kernel_size": 2})
        return
    kind = name[: name.index("pool") + 4]
    options: dict[str, dict[str, Any]] = {
        "max_pool": {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True,
                     "return_indices": True},
        "avg_pool": {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False,
                     **({"divisor_override": 2} if d > 1 else {})},
        "lp_pool": {"norm_type": 3.0, "kernel_size": 3, "stride": 2, "ceil_mode": True},
        "adaptive_avg_pool": {"output_size": 4},
        "adaptive_max_pool": {"output_size": 4, "return_indices": True}}
    params = options[kind]
    base = {k: v for k, v in params.items() if k in ("kernel_size", "norm_type", "output_size")}
    for n in (0, 1):
        yield Case("regime", f"batch of {n}", {"input": _plane(rng, d, False)[:n]}, dict(base))
    if kind not in ("adaptive_avg_pool", "adaptive_max_pool"):
        yield Case("regime", "every window option at once", {"input": _plane(rng, d, kind == "max_pool")}, params)
    if kind in ("max_pool", "avg_pool"):
        # Length 5, kernel 2, stride 2, padding 1, ceil_mode: the ceil rule makes a fourth
        # window that would start in the right padding, and the rule that drops it applies.
        yield Case("regime", "ceil_mode drops a window that would start in the padding",
                   {"input": rng.uniform(-4, 4, (2, 2) + (5,) * d)},
                   {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True})
    if kind == "avg_pool":
        # Length 4, kernel 3, stride 2, padding 1, ceil_mode: the last window runs past the
        # padded input, so even with count_include_pad its divisor is 2, not the kernel's 3.
        yield Case("regime", "ceil_mode window overhanging the padding, count_include_pad=True",
                   {"input": rng.uniform(-4, 4, (2, 2) + (4,) * d)},
                   {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": True})


def _rows(meta: dict[str, Any]) -> Iterator[Case]:
    rng = rng_for(meta["name"], "regimes")
    for n in (0, 1):
        if meta["name"] in ("softmax", "log_softmax"):
            yield Case("regime", f"batch of {n}", {"input": ordinary(rng, "real", (n, 5))}, {"dim": -1})
        elif meta["name"] == "linear":
            yield Case("regime", f"batch of {n}", {"input": rng.uniform(-2, 2, (n, 4)),
                                                   "weight": rng.uniform(-2, 2, (2, 4)),
                                                   "bias": rng.uniform(-2, 2, (2,))}, {})
        else:  # cosine_embedding_loss
            yield Case("regime", f"batch of {n}", {"input1": rng.uniform(-2, 2, (n, 3)),
                                                   "input2": rng.uniform(-2, 2, (n, 3)),
                                                   "target": rng.choice([-1.0, 1.0], n)},
                       {"margin": 0.5, "reduction": "sum"})


ROWS = ("softmax", "log_softmax", "linear", "cosine_embedding_loss")
CLASS = ("cross_entropy", "nll_loss")
POINTWISE = {m["name"] for m in CATALOG if m["crosscheck"] == "vjp" and m["family"] not in ("pooling", "convolution")
             and m["name"] not in ROWS + CLASS}


def regime_cases(meta: dict[str, Any]) -> Iterator[Case]:
    if meta["family"] in ("pooling", "convolution"):
        yield from _window(meta)
    elif meta["name"] in CLASS:
        yield from _class_loss(meta)
    elif meta["name"] in ROWS:
        yield from _rows(meta)
    else:
        yield from _pointwise(meta)


def cases(meta: dict[str, Any], dtype: str) -> list[Case]:
    """Every deterministic case of op ``meta`` in ``dtype``: the golden vectors' cases, then
    the regimes, arrays cast to ``dtype`` (class indices stay int64)."""
    return cases_for(meta, dtype) + [cast(case, dtype) for case in regime_cases(meta)]


def _same(a: Any, b: Any) -> bool:
    return a is b or (not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray) and a == b)


def _label(p: dict[str, Any], v: Any) -> str:
    if p["kind"] == "optional_array":
        return "absent" if v is None else "present"
    return repr(v)


def coverage(meta: dict[str, Any]) -> dict[str, Any]:
    """What the deterministic cases of ``meta`` reach, in float64: every value each parameter
    takes (optional arrays as present / absent), the batch sizes of the first input, whether
    one case moves every parameter that varies (``reduction`` aside) off its default at once
    (None where fewer than two vary), and whether a case puts inputs at, below and above
    every kink that the changed parameters move (None where no parameter moves a kink)."""
    all_cases = cases(meta, "float64")
    params = [p for p in meta["params"] if p["kind"] not in ("rng", "layers")]
    values: dict[str, set[str]] = {p["name"]: set() for p in params}
    batches: set[int] = set()
    first = meta["inputs"][0]["name"]
    for case in all_cases:
        for p in params:
            values[p["name"]].add(_label(p, case.params.get(p["name"], p["default"])))
        x = case.inputs.get(first)
        if x is not None and x.ndim >= 1:
            batches.add(int(x.shape[0]))
    varying = [p for p in params if len(values[p["name"]]) > 1 and p["name"] != "reduction"]
    together = None if len(varying) < 2 else any(
        all(_label(p, c.params.get(p["name"], p["default"])) != _label(p, p["default"]) for p in varying)
        for c in all_cases)
    crossed = None
    changed = _changed(meta)
    points = kinks(meta, changed) if meta["name"] in POINTWISE else []
    if points:
        crossed = False
        for case in all_cases:
            x = case.inputs.get(first)
            if x is None or not all(_same(case.params.get(k), v) for k, v in changed.items() if k != "reduction"):
                continue
            xs = np.asarray(x, dtype=np.float64).ravel()
            crossed = crossed or all((xs < k).any() and (xs > k).any() and (xs == k).any() for k in points)
    return {"op": meta["name"], "values": {k: sorted(v) for k, v in values.items()}, "batch_sizes": sorted(batches),
            "together": together, "kinks_crossed": crossed, "cases": len(all_cases)}
