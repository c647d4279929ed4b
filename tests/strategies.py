"""Hypothesis strategies that build a test case for any op from its catalog entry.

A case is (inputs, params): NumPy arrays keyed by input name in the op's argument order,
and keyword parameters.  Pointwise ops are handled generically from the catalog; ops
that mix elements register a builder in ``BUILDERS``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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
    width = 32 if dtype == "float32" else 64
    tiny = 1e-30 if dtype == "float32" else 1e-300
    if domain == "unit":
        return st.one_of(st.floats(0.0, 1.0, width=width), st.sampled_from([0.0, 1.0, 0.5, tiny, 1 - 1e-6]))
    if domain == "positive":
        return st.one_of(st.floats(1e-3, 100.0, width=width), st.sampled_from([1.0, tiny * 1e10, 1e3]))
    if domain == "nonneg":
        return st.one_of(st.floats(0.0, 100.0, width=width), st.sampled_from([0.0, 1.0, tiny]))
    if domain == "pm1":
        return st.sampled_from([-1.0, 1.0])
    if domain == "sign":
        return st.one_of(st.sampled_from([-1.0, 1.0]), st.floats(-1.0, 1.0, width=width))
    cast = [float(np.asarray(p, dtype=DTYPES[dtype])) for p in pts]
    return st.one_of(
        st.floats(-10.0, 10.0, width=width),
        st.sampled_from(cast),
        st.floats(-1e3, 1e3, width=width),
        st.sampled_from([tiny, -tiny, 1e-8, -1e-8]),
    )


def _param(draw: Any, p: dict[str, Any]) -> Any:
    if p["kind"] == "choice":
        return draw(st.sampled_from(p["choices"]))
    if p["kind"] == "bool":
        return draw(st.booleans())
    if p["kind"] == "float":
        lo, hi = p["test_range"] or (-3.0, 3.0)
        options = [st.floats(lo, hi)]
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
    if meta["name"] == "hardtanh" and params["min_val"] > params["max_val"]:
        params["min_val"], params["max_val"] = params["max_val"], params["min_val"]
    pts = special_points(meta, params)
    shape = draw(SHAPES)
    inputs: dict[str, np.ndarray] = {}
    for spec in meta["inputs"]:
        if spec["layout"] == "channel":
            channels = shape[1] if len(shape) >= 2 else 1
            n = draw(st.sampled_from(sorted({1, channels})))
            arr = draw(hnp.arrays(DTYPES[dtype], (n,), elements=st.floats(-2, 2, width=32)))
        else:
            arr = draw(hnp.arrays(DTYPES[dtype], shape, elements=_values(draw, spec["test_domain"], dtype, pts)))
        inputs[spec["name"]] = arr
    for p in meta["params"]:
        if p["kind"] == "optional_array":
            use = draw(st.booleans())
            params[p["name"]] = (draw(hnp.arrays(DTYPES[dtype], shape, elements=st.floats(0, 2, width=32)))
                                 if use else None)
    return inputs, params


BUILDERS: dict[str, Callable[[dict[str, Any], str], st.SearchStrategy[Case]]] = {}


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        BUILDERS[name] = fn
        return fn
    return deco


def case_for(meta: dict[str, Any], dtype: str) -> st.SearchStrategy[Case]:
    builder = BUILDERS.get(meta["name"])
    if builder is not None:
        return builder(meta, dtype)
    return pointwise_case(meta, dtype)
