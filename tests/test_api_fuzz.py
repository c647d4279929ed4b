"""Every op from the catalog, called with wrong types, dtypes, ranks, shapes, layouts and
out-of-range or huge parameters: the answer is an NNRefError or a result, never another
exception, and never slower than a second.  Where nnref returns a result and torch accepts the
same float64 call, the two agree (shape, and values within the op's float64 tolerance).

Arguments are drawn mostly near what the op takes (the right rank, small valid sizes, the
default parameters) with one or two things wrong, so the calls reach past the first check.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnref
from nnref import NNRefError
from nnref import _runtime as _rt
from nnref._generated.catalog import CATALOG

# The ops called as nnref.<name>(arrays, params) with a backward (initialisers and optimizers
# take shapes and states: their own tests cover their arguments).
OPS = {op["name"]: op for op in CATALOG if op.get("crosscheck", "vjp") == "vjp"}
SECOND = 1.0
# Ops whose torch counterpart takes other arguments than nnref's (documented differences:
# rrelu has no training flag, lp_pool's norm_type is positional), or none at all.
NO_TORCH = {"rrelu", "max_unpool1d", "max_unpool2d"}

HUGE_INTS = [2**31, 2**62, 2**63 - 1, 2**63, 10**400, -(2**63)]
BAD_VALUES: list[Any] = [None, "x", -1, 0, 1.5, float("nan"), float("inf"), -1e308, 1e308, True, (), (1,),
                         (1, 2, 3, 4), [2, 2], np.float32(2.0), object()] + HUGE_INTS


def _spatial(op: dict[str, Any]) -> int:
    name = op["name"]
    return int(name[-2]) if name[-2:] in ("1d", "2d", "3d") else 0


@st.composite
def arrays(draw: Any, rank: int) -> Any:
    kind = draw(st.sampled_from(["float64"] * 6 + ["float32", "float16", ">f8", "int64", "bool", "object", "list",
                                                   "ragged", "none", "transposed", "scalar"]))
    shape = tuple(draw(st.lists(st.integers(0, 4) if draw(st.booleans()) else st.integers(1, 4),
                                min_size=rank, max_size=rank)))
    if kind == "none":
        return None
    if kind == "ragged":
        return [[1.0, 2.0], [3.0]]
    if kind == "scalar":
        return draw(st.sampled_from([1.0, 2, "a"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape) * draw(st.sampled_from([1.0, 1.0, 1e-300, 1e300]))
    if kind == "transposed":
        return x.T
    if kind == "list":
        return x.tolist()
    if kind == "object":
        return x.astype(object)
    if kind == "bool":
        return x > 0
    # Wrong dtypes on purpose: out-of-range values cast to inf / garbage, so NumPy's cast
    # warnings are expected here and silenced (the suite turns RuntimeWarnings into errors).
    with np.errstate(all="ignore"):
        if kind == "int64":
            return np.round(x).astype(np.int64)
        return x.astype(kind)


@st.composite
def labels(draw: Any, rank: int) -> Any:
    kind = draw(st.sampled_from(["index"] * 4 + ["float", "ragged", "huge", "negative", "none"]))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    if kind == "none":
        return None
    if kind == "ragged":
        return [[0, 1], [1]]
    if kind == "float":
        return draw(arrays(rank))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 3, shape)
    if kind == "huge":
        values = values.astype(np.uint64) + np.uint64(2**63)
    elif kind == "negative":
        values = values - 5
    else:
        values = np.where(values > 1, 1, -1) if draw(st.booleans()) else values
    return values


def _param(draw: Any, p: dict[str, Any], dims: int) -> Any:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(BAD_VALUES))
    kind = p["kind"]
    if kind == "int_tuple":
        if p["name"] in ("kernel_size",):
            return draw(st.sampled_from([1, 2, 3, (2,) * max(dims, 1), 2**62]))
        return draw(st.sampled_from([p["default"], 1, 2, 2**31, 2**62, 10**400, (1,) * max(dims, 1)]))
    if kind == "float":
        r = p.get("test_range") or (-2.0, 2.0)
        return draw(st.sampled_from([p["default"], r[0], r[1], 10**400, 1e308, -1e308, 1e-320]))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "choice":
        return draw(st.sampled_from(list(p["choices"]) + ["nope"]))
    if kind == "int":
        return draw(st.sampled_from([p["default"], 0, 1, -1, 2**63, 10**400]))
    if kind == "optional_array":
        return draw(st.sampled_from([None, None, "array"]))
    return p["default"]


@st.composite
def calls(draw: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    op = OPS[name]
    dims = _spatial(op)
    base_rank = dims + 2 if dims else 2
    inputs: dict[str, Any] = {}
    for a in op["inputs"]:
        rank = draw(st.sampled_from([base_rank] * 4 + [0, 1, base_rank - 1, base_rank + 1]))
        if a["kind"] == "label":
            inputs[a["name"]] = draw(labels(max(rank - 1, 0)))
        elif a["name"] == "input" or not inputs:
            inputs[a["name"]] = draw(arrays(max(rank, 0)))
        else:
            first = next(iter(inputs.values()))
            same = isinstance(first, np.ndarray) and draw(st.booleans())
            inputs[a["name"]] = (np.random.default_rng(1).standard_normal(first.shape).astype(first.dtype)
                                 if same else draw(arrays(max(rank, 0))))
    params = {}
    for p in op["params"]:
        if draw(st.integers(0, 2)) == 0 and p["default"] is not None:
            continue
        value = _param(draw, p, dims)
        if isinstance(value, str) and value == "array":
            value = draw(arrays(1))
        params[p["name"]] = value
    return inputs, params


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None]:
    start = time.perf_counter()
    try:
        result, error = fn(*args, **kwargs), None
    except NNRefError as exc:
        result, error = None, exc
    except Exception as exc:  # noqa: BLE001 - the point of the test: only NNRefError may come out
        raise AssertionError(f"{fn.__name__}: {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - start
    assert elapsed < SECOND, f"{fn.__name__} took {elapsed:.2f} s (limit {SECOND} s)"
    return result, error


def _agrees_with_torch(name: str, inputs: dict[str, Any], params: dict[str, Any], ours: Any) -> None:
    if name in NO_TORCH or not all(isinstance(v, np.ndarray) and v.dtype == np.float64 and v.dtype.isnative
                                   and np.isfinite(v).all() and np.abs(v).max(initial=0) < 1e6
                                   for v in inputs.values() if v is not None and np.asarray(v).dtype.kind == "f"):
        return
    if any(isinstance(v, (float, int)) and not isinstance(v, bool) and abs(v) > 1e6 for v in params.values()):
        return
    from adapters import TorchAdapter

    try:
        theirs = TorchAdapter().forward(name, inputs, params, "cpu")
    except Exception:  # noqa: BLE001 - torch refuses the call: nothing to compare
        return
    ours_t = ours if isinstance(ours, tuple) else (ours,)
    theirs_t = theirs if isinstance(theirs, tuple) else (theirs,)
    tol = OPS[name]["tolerances"].get("float64", {"rtol": 1e-12, "atol": 1e-12})
    for a, b in zip(ours_t, theirs_t):
        assert np.shape(a) == np.shape(b), f"{name}: shape {np.shape(a)}, torch {np.shape(b)} ({params})"
        if np.asarray(a).dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=max(tol["rtol"], 1e-9), atol=max(tol["atol"], 1e-9),
                                       equal_nan=True, err_msg=f"{name} {params}")


@pytest.fixture(autouse=True)
def _small_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # The memory check refuses any array over a quarter of the machine's memory; a fuzzed stride
    # of 2**31 on a 2-long input asks for 16 GiB, which a large machine would hold and take
    # minutes to fill.  Here every machine claims 256 MiB, so such calls end in the check.
    monkeypatch.setattr(_rt, "memory_bytes", lambda: 2**28)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_bad_input_is_an_nnref_error_or_a_result(name: str, data: Any) -> None:
    inputs, params = data.draw(calls(name))
    forward = getattr(nnref, name)
    out, error = _timed(forward, *inputs.values(), **params)
    if error is not None:
        assert name in str(error), f"{name}: the error does not name the op: {error}"
        return
    _agrees_with_torch(name, inputs, params, out)
    values = out[0] if isinstance(out, tuple) else out
    grad_kind = data.draw(st.sampled_from(["ones", "ones", "none", "wrong"]))
    grad = {"ones": np.ones_like(values), "none": None, "wrong": np.ones(np.shape(values) + (2,))}[grad_kind]
    _timed(getattr(nnref, f"{name}_backward"), grad, *inputs.values(), **params)
