"""NaN, ±inf and ±0 follow IEEE semantics the way torch does.

Every pointwise op is evaluated on the full grid of special values for each of its
arguments (parameters at their defaults, reduction='none'); the implementation must give
the same values, with NaN exactly where nnref has NaN and infinities of the same sign,
forward and backward.  Ops that mix elements get rows built from special values.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from compare import assert_close
from known_deviations import explained, load, point

import nnref
from nnref._generated.catalog import CATALOG
from nnref.conformance import deviations

NAN, INF = float("nan"), float("inf")
SPECIALS = {
    "real": [NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 2.5],
    "unit": [NAN, 0.0, 1.0, 0.5],
    "positive": [NAN, INF, 1.0, 0.5],
    "nonneg": [NAN, INF, 0.0, 1.0],
    "sign": [NAN, -1.0, 1.0, 0.0],
    "pm1": [-1.0, 1.0],
}
# Required parameters have no default; these values keep the op's kinks away from the grid.
REQUIRED = {"threshold": 0.5, "value": -0.5}


def _pointwise_cases() -> list[tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]]:
    cases = []
    for meta in CATALOG:
        if meta["crosscheck"] != "vjp":  # values drawn or updated, not functions of IEEE inputs
            continue
        if any(i["kind"] != "float" for i in meta["inputs"]) or meta["family"] == "linear":
            continue
        if any(p["name"] == "dim" for p in meta["params"]) or meta["name"] == "cosine_embedding_loss":
            continue
        if meta["family"] == "convolution":  # sums of products: see the conv page on special values
            continue
        if meta["family"] == "pooling":  # NaN and ±inf are in the pooling strategies and convention tests
            continue
        grids = [SPECIALS[i["test_domain"]] if i["layout"] == "elementwise" else [0.25]
                 for i in meta["inputs"]]
        combos = np.array(list(itertools.product(*grids)), dtype=np.float64)
        # Whole SIMD vectors: torch's scalar tail path treats NaN differently (see the
        # TORCH_NAN_PATHS note in derivations/ops/activations.py).
        combos = np.tile(combos, (-(-64 // len(combos)), 1))[: max(64, len(combos))]
        inputs = {}
        for k, spec in enumerate(meta["inputs"]):
            inputs[spec["name"]] = combos[:, k] if spec["layout"] == "elementwise" else np.array([0.25])
        params: dict[str, Any] = {}
        for p in meta["params"]:
            if p["name"] == "reduction":
                params["reduction"] = "none"
            elif p["default"] is None and p["kind"] == "float":
                params[p["name"]] = REQUIRED[p["name"]]
        cases.append((meta, inputs, params))
    return cases


def _row_cases() -> list[tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]]:
    rows = np.array([[NAN, 1.0], [INF, 1.0], [-INF, 1.0], [INF, INF], [-INF, -INF], [1e308, -1e308],
                     [0.0, -0.0]])
    by_name = {m["name"]: m for m in CATALOG}
    cases = []
    for name in ("softmax", "log_softmax"):
        cases.append((by_name[name], {"input": rows}, {"dim": 1}))
    cases.append((by_name["cross_entropy"], {"input": rows, "target": np.zeros(len(rows), dtype=np.int64)},
                  {"reduction": "none"}))
    # Not the ±1e308 row: whether x·w overflows before the sum is a matter of summation
    # order and FMA use, not of IEEE special values.
    cases.append((by_name["linear"], {"input": rows[[0, 1, 2, 3, 4, 6]], "weight": np.array([[1.0, 2.0], [0.0, -1.0]]),
                                      "bias": np.array([0.0, INF])}, {}))
    return cases


CASES = _pointwise_cases() + _row_cases()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("meta,inputs,params", CASES, ids=[c[0]["name"] for c in CASES])
def test_special_values_match(meta: dict[str, Any], inputs: dict[str, np.ndarray], params: dict[str, Any],
                              dtype: str, impl: Any, record_property: Any) -> None:
    name = meta["name"]
    reason = impl.available("cpu")
    if reason:
        pytest.skip(reason)
    with np.errstate(over="ignore"):  # ±1e308 rows become float32 infinities, as intended
        inputs = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in inputs.items()}
    op = nnref.get_op(name)
    try:
        op.forward(**inputs, **params)
    except nnref.NNRefError as exc:
        # nnref rejects some of these values (binary_cross_entropy's input outside [0, 1],
        # NaN included): the implementation must reject them too, and must then agree on
        # the rows that remain valid.
        assert name in str(exc)
        try:
            impl.forward(name, inputs, params, "cpu")
        except NotImplementedError as missing:
            pytest.fail(f"{impl.name} does not provide {name}: {missing}")
        except Exception:  # noqa: BLE001 - any error type of the implementation's is a rejection
            pass
        else:
            pytest.fail(f"{impl.name} accepted {name} inputs that nnref rejects: {exc}")
        valid = ~np.any([np.isnan(v) for v in inputs.values() if v.dtype.kind == "f"], axis=0)
        inputs = {k: v[valid] if v.shape == valid.shape else v for k, v in inputs.items()}
    expected = op.forward(**inputs, **params)
    try:
        actual = impl.forward(name, inputs, params, "cpu")
    except NotImplementedError as exc:
        pytest.fail(f"{impl.name} does not provide {name}: {exc}")
    tol = meta["tolerances"][dtype]
    # Entries a measured deviation of this implementation accounts for are reported, not
    # failed (tests/deviations/); nnref's own value there is judged by test_deviation_points.
    known, devs = explained(impl.name, meta, params, dtype, "forward", inputs, actual)
    if known.any():
        record_property("known_deviations", [f"{d['op']} {d['dtype']} at {d['input']}: {d['path']}" for d in devs])
        actual = np.where(known, expected, actual)
    assert_close(actual, expected, tol["rtol"], tol["atol"], f"{name} forward on special values [{dtype}]")
    grad_output = np.linspace(0.5, 1.5, num=max(np.size(expected), 1)).reshape(np.shape(expected)).astype(dtype)
    # Only floating arrays have gradients (cross_entropy's class-index targets do not).
    wrt = [k for k in meta["differentiable"] if inputs.get(k) is not None and inputs[k].dtype.kind == "f"]
    ref = op.backward(grad_output, **inputs, **params)
    got = impl.vjp(name, inputs, params, grad_output, wrt, "cpu")
    for k in wrt:
        assert_close(got[k], ref[k], tol["rtol"], tol["atol"], f"{name} d/d{k} on special values [{dtype}]")


DEVIATIONS = [d for impl in ("torch",) for d in load(impl)]


def _nnref_at(dev: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """nnref's result at a deviation's input, on ``n`` copies: (values, the upstream gradient
    used, for a VJP direction)."""
    op = nnref.get_op(dev["op"])
    inputs = {k: np.full(n, float(v), dtype=dev["dtype"]) for k, v in dev["input"].items()}
    for i in op.meta["inputs"]:  # inputs the entry leaves free get an ordinary value
        inputs.setdefault(i["name"], np.full(n, 0.5, dtype=dev["dtype"]))
    params = dict(dev["params"])
    if "reduction" in {p["name"] for p in op.meta["params"]}:
        params.setdefault("reduction", "none")
    if dev["direction"] == "forward":
        return np.asarray(op.forward(**inputs, **params)), None
    g = np.linspace(-2, 2, n).astype(dev["dtype"])
    assert op.backward is not None
    with np.errstate(invalid="ignore"):
        return np.asarray(op.backward(g, **inputs, **params)[dev["direction"][len("d/d"):]]), g


def _value(text: Any, g: np.ndarray | None, n: int, dtype: str) -> np.ndarray:
    if isinstance(text, dict):
        assert g is not None
        return (g * np.asarray(float(text["times_grad_output"]), dtype=dtype)).astype(np.float64)
    return np.full(n, float(text))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize("dev", DEVIATIONS, ids=[f"{d['op']}-{d['dtype']}-{d['direction']}" for d in DEVIATIONS])
def test_deviation_points(dev: dict[str, Any]) -> None:
    """Where a framework deviates, nnref must hold the value the entry records for it, and
    that value must be the mathematical one (``mathematics`` opens with it, or with "none"
    where mathematics gives no value and nnref's declared convention decides), so that a
    deviation file can never excuse nnref itself."""
    got, g = _nnref_at(dev, 64)
    assert got.dtype == np.dtype(dev["dtype"])
    assert _same(got, _value(dev["nnref"], g, 64, dev["dtype"])), (got[:3], dev["nnref"])
    if _no_mathematical_value(dev):
        return
    math = dev["mathematics"].split(":")[0]
    if math.startswith("grad_output × "):
        assert g is not None
        want = (g * np.asarray(float(math[len("grad_output × "):]), dtype=dev["dtype"])).astype(np.float64)
    else:
        want = np.full(64, float(math))
    assert _same(got, want), (got[:3], math)


def _no_mathematical_value(dev: dict[str, Any]) -> bool:
    """Whether ``mathematics`` says "none" (no value there: a kink, NaN, 0/0), which only a
    derivative may say and only where nnref's declared convention decides."""
    if dev["mathematics"].split(":")[0] != "none":
        return False
    assert dev["direction"] != "forward" and "convention" in dev["mathematics"], dev["mathematics"]
    return True


JAX = load("jax")
EPS = float(np.float32(1e-12))  # torch's EPSILON in cos (a C++ float), which nnref's convention keeps


def _norm(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(np.asarray(x, dtype=np.float64) ** 2, axis=-1, keepdims=True) + EPS)


# JAX's entries whose nnref value is a formula in words: that value at the entry's point,
# written from the convention the entry names, not taken from nnref.
CONVENTION_VALUES = {
    # the kink of max(0, −y·(x1 − x2) + margin) takes the linear branch's gradient
    ("margin_ranking_loss", "d/dinput1"): lambda i, g: -i["target"] * g,
    ("margin_ranking_loss", "d/dinput2"): lambda i, g: i["target"] * g,
    ("margin_ranking_loss", "d/dtarget"): lambda i, g: -(i["input1"] - i["input2"]) * g,
    # at a zero input, cos = 0 and the gradient of cos is the other input over |x1|_ε·|x2|_ε
    ("cosine_embedding_loss", "d/dinput2"): lambda i, g: i["input1"] / (_norm(i["input1"]) * _norm(i["input2"]))
    * g[:, None],
    ("cosine_embedding_loss", "d/dinput1"): lambda i, g: i["input2"] / (_norm(i["input1"]) * _norm(i["input2"]))
    * g[:, None],
    # a window holding NaN has maximum NaN, and its gradient goes to a NaN of it (the point's NaNs)
    ("max_pool1d", "d/dinput"): lambda i, g: np.repeat(g, 2, axis=-1),
}


@pytest.mark.parametrize("dev", JAX, ids=[f"{d['op']}-{d['dtype']}-{d['direction']}-{d['input']}"
                                          f"{'-where ' + d['where'] if 'where' in d else ''}" for d in JAX])
def test_jax_deviation_points(dev: dict[str, Any]) -> None:
    """As test_deviation_points, for JAX's entries: on a case at the entry's point
    (``known_deviations.point``, which must satisfy the entry's ``where``), nnref holds the
    value the entry records for it (a number, a parameter's value or a multiple of the upstream
    gradient, the derivative times the upstream gradient for ``"upstream": "unit"``, or the
    formula of ``CONVENTION_VALUES``), and that value is the mathematical one or "none"."""
    meta = next(m for m in CATALOG if m["name"] == dev["op"])
    op = nnref.get_op(dev["op"])
    inputs, params, at = point(dev)
    defaults = {p["name"]: p["default"] for p in meta["params"]}
    out = np.asarray(op.forward(**inputs, **params))
    g = None
    if dev["direction"] == "forward":
        got = out
    else:
        g = np.linspace(-2, 2, num=max(out.size, 1)).reshape(out.shape).astype(dev["dtype"])
        with np.errstate(all="ignore"):
            got = np.asarray(op.backward(g, **inputs, **params)[dev["direction"][len("d/d"):]])
    assert got.dtype == np.dtype(dev["dtype"])
    sel = np.ones(got.shape, dtype=bool) if at is None else at
    if "where" in dev:
        assert deviations.holds(dev["where"], inputs, {**defaults, **params}, dev["dtype"], got.shape)[sel].all()
    text = dev["nnref"]
    if (dev["op"], dev["direction"]) in CONVENTION_VALUES:
        fields = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
        want = np.broadcast_to(CONVENTION_VALUES[dev["op"], dev["direction"]](fields, g), got.shape)
    elif isinstance(text, dict):
        want = _value(text, g, got.size, dev["dtype"]).reshape(got.shape)
    else:
        c = float(np.asarray({**defaults, **params}.get(text, np.nan) if text in defaults else float(text),
                             dtype=dev["dtype"]))
        want = c * np.asarray(g, dtype=np.float64) if dev.get("upstream") == "unit" else np.full(got.shape, c)
    tol = meta["tolerances"][dev["dtype"]]
    a = np.asarray(got, dtype=np.float64)[sel]
    w = np.asarray(want, dtype=np.float64)[sel]
    with np.errstate(all="ignore"):
        ok = (a == w) | (np.isnan(a) & np.isnan(w)) | (np.abs(a - w) <= tol["atol"] + tol["rtol"] * np.abs(w))
    assert ok.all(), (a, w, text)
    if not _no_mathematical_value(dev):
        assert _same(a, np.full(a.shape, float(dev["mathematics"].split(":")[0]))), (a, dev["mathematics"])


SCALAR_PATH = [d for d in DEVIATIONS if not d["path"].startswith("oneDNN")]


@pytest.mark.parametrize("dev", SCALAR_PATH, ids=[f"{d['op']}-{d['dtype']}-{d['direction']}" for d in SCALAR_PATH])
def test_torch_still_gives_the_recorded_value(dev: dict[str, Any]) -> None:
    """The evidence, rerun: torch returns the recorded value on a 3-entry tensor (the scalar
    path every listed kernel-path entry names, or every path).  A torch upgrade that fixes
    a deviation fails here, so its entry is removed rather than left to excuse nothing."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from adapters import TorchAdapter

    op = nnref.get_op(dev["op"])
    inputs = {k: np.full(3, float(v), dtype=dev["dtype"]) for k, v in dev["input"].items()}
    for i in op.meta["inputs"]:
        inputs.setdefault(i["name"], np.full(3, 0.5, dtype=dev["dtype"]))
    params = dict(dev["params"])
    if "reduction" in {p["name"] for p in op.meta["params"]}:
        params.setdefault("reduction", "none")
    adapter = TorchAdapter()
    if dev["direction"] == "forward":
        got, g = np.asarray(adapter.forward(dev["op"], inputs, params, "cpu")), None
    else:
        g = np.asarray([1.25, -0.5, 3.0], dtype=dev["dtype"])
        wrt = dev["direction"][len("d/d"):]
        got = np.asarray(adapter.vjp(dev["op"], inputs, params, g, [wrt], "cpu")[wrt])
    assert _same(got, _value(dev["torch"], g, 3, dev["dtype"])), (got, dev["torch"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_tanh_torch_nan_threshold_is_where_the_page_says(dtype: str) -> None:
    """The Activations page states where torch's gelu tanh backward turns NaN (the square root
    of the largest float, where x·x overflows): torch must be finite just below and NaN there."""
    torch = pytest.importorskip("torch")
    from derivations.ops.activations import FLOAT_MAX, GELU_TANH_TORCH_NAN

    edge = FLOAT_MAX[dtype] ** 0.5
    tdt = getattr(torch, dtype)

    def grad(v: float) -> float:
        x = torch.tensor([v], dtype=tdt, requires_grad=True)
        torch.nn.functional.gelu(x, approximate="tanh").backward(torch.ones(1, dtype=tdt))
        return float(x.grad[0])

    assert not np.isnan(grad(edge * 0.999)) and not np.isnan(grad(-edge * 0.999))
    assert np.isnan(grad(edge * 1.001)) and np.isnan(grad(-edge * 1.001))
    assert float(GELU_TANH_TORCH_NAN[dtype]) == pytest.approx(edge, rel=5e-3)


# The sign of a zero result (docs: Conventions, "Signs of zero").  Mathematics gives 0 and
# nothing more; nnref's rule: where an op's value at 0 comes from a constant branch (the
# branch its derivative convention takes there) the result is that constant's own bits, so
# relu(-0) = +0 as relu'(0) = 0 says; elsewhere the formula's IEEE arithmetic decides (x,
# s·x, alpha·expm1(x), x·Phi(x) keep the input's sign; odd functions give -0 at -0).  Each
# row: op, parameters, (sign bit of f(-0), of f(+0)), and why.  torch 2.13 CPU differs at
# relu, relu6 and hardtanh with a zero bound (-0 at -0: its clamp keeps x on a tie), at
# hardtanh(+0) with min_val=-0.0 (+0), at softshrink on its scalar path (-0) and at tanhshrink
# (+0 at -0: x - tanh(x) = -0 - -0 = +0); JAX agrees with nnref's relu and relu6, not celu (+0).
ZERO_SIGNS = [
    ("relu", {}, (False, False), "zero branch x <= 0, its constant +0"),
    ("relu6", {}, (False, False), "lower bound 0 at x <= 0"),
    ("hardtanh", {"min_val": 0.0, "max_val": 6.0}, (False, False), "x at the lower bound: the bound, +0"),
    ("hardtanh", {"min_val": -0.0, "max_val": 1.0}, (True, True), "x at the lower bound: the bound's own bits, -0"),
    ("hardtanh", {"min_val": -1.0, "max_val": 0.0}, (False, False), "x at the upper bound +0"),
    ("hardtanh", {}, (True, False), "inside the bounds: x itself"),
    ("leaky_relu", {}, (True, False), "x <= 0 takes s·x, 0.01·(∓0)"),
    ("leaky_relu", {"negative_slope": -2.0}, (False, True), "s·x with s < 0 flips the zero's sign"),
    ("elu", {}, (True, False), "alpha·expm1(-0) = -0; +0 takes x"),
    ("selu", {}, (True, False), "scale·alpha·expm1(-0) = -0"),
    ("celu", {}, (True, False), "alpha·expm1(-0/alpha) = -0"),
    ("gelu", {}, (True, False), "x·Phi(x)"),
    ("silu", {}, (True, False), "x·sigma(x)"),
    ("mish", {}, (True, False), "x·tanh(softplus(x))"),
    ("hardswish", {}, (True, False), "x·(x + 3)/6"),
    ("tanh", {}, (True, False), "odd: C99's tanh(±0) = ±0"),
    ("softsign", {}, (True, False), "x/(1 + |x|)"),
    ("tanhshrink", {}, (True, False), "odd: x - tanh x taken as x^3 series near 0"),
    ("softshrink", {}, (False, False), "dead zone |x| <= lambda: the constant +0"),
    ("hardshrink", {}, (False, False), "dead zone |x| <= lambda: the constant +0"),
    ("threshold", {"threshold": 0.0, "value": -0.0}, (True, True), "x <= threshold takes value, -0"),
    ("threshold", {"threshold": -1.0, "value": 5.0}, (True, False), "above the threshold: x itself"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params,signs,why", ZERO_SIGNS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ZERO_SIGNS)])
def test_signs_of_zero(name: str, params: dict[str, Any], signs: tuple[bool, bool], why: str, dtype: str) -> None:
    # On short arrays (one call on the whole) and long ones (blocks, SIMD bodies and tails
    # alike): the same sign wherever the zero sits.
    from nnref import _runtime

    f = getattr(nnref, name)
    for n in (1, 7, 64, _runtime.POINTWISE_MIN + 5):
        for first, sign in zip((-0.0, 0.0), signs):
            x = np.full(n, first, dtype=dtype)
            got = np.signbit(f(x, **params))
            assert got.all() if sign else not got.any(), (name, params, n, first, why)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params", [("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.0})])
def test_signs_of_a_zero_gradient_at_input_equal_target(name: str, params: dict[str, Any], dtype: str) -> None:
    # At input == target the derivative's convention is the constant 0: d/dinput is grad·(+0),
    # a zero with grad's sign, and d/dtarget its negation (the kernel negates d/dinput), the
    # zeros torch gives too.  Short and blocked arrays.
    from nnref import _runtime

    for n in (4, _runtime.POINTWISE_MIN + 4):
        x = np.ones(n, dtype=dtype)
        g = np.tile(np.array([1.0, -1.0, 2.0, -0.5], dtype=dtype), n // 4)
        got = getattr(nnref, f"{name}_backward")(g, x, x.copy(), reduction="none", **params)
        assert not got["input"].any() and not got["target"].any()
        assert np.array_equal(np.signbit(got["input"]), np.signbit(g)), (name, n)
        assert np.array_equal(np.signbit(got["target"]), ~np.signbit(g)), (name, n)
