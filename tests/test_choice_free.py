"""The choice-free kernels (``derivations/codegen/minmax.py``) give the bits of the choices they
replace: each op's public function with today's forward kernel against the same function with
the kernel the printer writes without the rule (the choice, as on main), on special inputs
(±0, subnormals, ±1, the kinks ± 1 ulp, ±inf, NaN, the largest numbers, random normals) for
parameter values at every edge of the rules' run-time tests, float64, float32 and float16.

And the ties: numpy.maximum / numpy.minimum of +0 and -0 may return either zero (NumPy's SIMD
loops differ between CPUs), so each comparison is rerun with a NumPy whose maximum and minimum
break ties first one way and then the other; both must give the choice's bits, which holds only
if no form ever compares two opposite zeros (or any two different-bit equal numbers)."""

from __future__ import annotations

import itertools
import types
from typing import Any

import numpy as np
import pytest

import nnref
import nnref._generated.activations as gen
from derivations import registry
from tests.compare import same_bits

F32_TINY = float(np.float32(2.0**-149))
F16_TINY = 2.0**-24

# op -> the parameter sets: defaults, 0, -0, 1, > 1, negative, subnormal, values that round to 0
# in float32 / float16, ±inf, and one past 2^511 (a _HugeReal in float64)
PARAMS: dict[str, list[dict[str, float]]] = {
    "leaky_relu": [{"negative_slope": s} for s in (
        0.01, 0.0, -0.0, 1.0, np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0), 2.0, 1e10, -0.5, -1.0, -2.0, 0.5,
        F32_TINY, F32_TINY / 2, 5e-324, F16_TINY / 4, float("inf"), -float("inf"), 1e300, 1e-300)],
    "rrelu": [{"lower": lo, "upper": up} for lo, up in (
        (1 / 8, 1 / 3), (0.0, 0.0), (0.0, F32_TINY), (F32_TINY, F32_TINY), (0.0, 5e-324), (1.0, 1.0),
        (0.5, 1.5), (0.9, 1.1), (1.0, 3.0), (-1.0, -0.5), (-1.0, 1.0), (-0.0, 0.0), (2.0, 2.0),
        (0.0, float("inf")), (1e300, 1e300))],
    "hardtanh": [{"min_val": lo, "max_val": hi} for lo, hi in (
        (-1.0, 1.0), (0.0, 6.0), (-0.0, 6.0), (0.0, 0.0), (-0.0, 0.0), (0.0, -0.0), (-1.0, 0.0), (-1.0, -0.0),
        (-float("inf"), float("inf")), (2.0, 2.0), (-3.0, -0.5), (5e-324, 1.0), (-F32_TINY / 2, F32_TINY / 2),
        (-F16_TINY / 4, 1.0), (1e300, 1e300), (-1e300, 1e300), (float("inf"), float("inf")), (0.5, 3.0))],
    "relu": [{}],
    "relu6": [{}],
    "hardsigmoid": [{}],
    "softshrink": [{"lambd": v} for v in (
        0.5, 0.0, 1.0, 2.0, 5e-324, F32_TINY, F32_TINY / 2, F16_TINY / 4, float("inf"), 1e300, 3.0)],
    "hardshrink": [{"lambd": v} for v in (
        0.5, 0.0, -0.0, 1.0, 2.0, 5e-324, F32_TINY, F32_TINY / 2, F16_TINY / 4, float("inf"), 1e300, 3.0)],
    "threshold": [{"threshold": t, "value": v} for t, v in (
        (0.0, 0.0), (-0.0, 0.0), (0.0, -0.0), (0.5, 0.5), (-1.0, -1.0), (1.0, 2.0), (2.0, 1.0),
        (float("inf"), float("inf")), (-float("inf"), -float("inf")), (1e-50, 1e-50), (F32_TINY / 2, F32_TINY / 2),
        (5e-324, 5e-324), (1e300, 1e300), (6.0, 6.0))],
}
DTYPES = (np.float64, np.float32, np.float16)


def _old_kernels() -> dict[str, Any]:
    """Each op's forward kernel as printed without the choice-free rule (main's text)."""
    from derivations.codegen import pointwise, printing

    keep = printing.choice_free
    printing.choice_free = lambda pw, slow, arrays, extended: slow
    try:
        ns: dict[str, Any] = {"numpy": np, "_rt": gen._rt}
        for op in registry.all_ops():
            if op.name in PARAMS:
                exec(pointwise._kernel_source(op, [op]), ns)  # noqa: S102 - our own printed code
    finally:
        printing.choice_free = keep
    return {name: ns[f"_{name}_forward"] for name in PARAMS} | {
        f"{name}_vjp": ns[f"_{name}_vjp"] for name in PARAMS}


OLD = _old_kernels()
# the ops whose VJP kernel has a choice-free form (mask·(1 - s) + s for the table of 1 and s)
BACKWARD = ("leaky_relu", "rrelu")


def _inputs(dtype: Any, kinks: list[float]) -> np.ndarray:
    info = np.finfo(dtype)
    base = [0.0, -0.0, 1.0, -1.0, float(info.smallest_subnormal), -float(info.smallest_subnormal),
            float(info.smallest_normal), -float(info.smallest_normal), float(info.smallest_subnormal) * 3,
            float(info.max), -float(info.max), float("inf"), -float("inf"), float("nan"), -float("nan"),
            0.5, -0.5, 3.0, -3.0, 6.0, -6.0, 1e-3, -1e-3]
    vals = np.array(base, dtype=dtype)
    with np.errstate(all="ignore"):
        ks = np.array([k for k in kinks if np.isfinite(k)], dtype=dtype)
    near = [ks, np.nextafter(ks, dtype(np.inf)), np.nextafter(ks, dtype(-np.inf)), -ks]
    rng = np.random.default_rng(12)
    normals = (rng.standard_normal(400) * np.array([1e-3, 1, 3, 100])[rng.integers(0, 4, 400)]).astype(dtype)
    return np.concatenate([vals, *near, normals])


def _kinks(name: str, params: dict[str, float]) -> list[float]:
    return [0.0, 3.0, -3.0, 6.0, *params.values(), *(-v for v in params.values())]


class _Ties:
    """NumPy with maximum / minimum that break ties of equal operands one chosen way: ``first``
    returns the first operand where a == b, ``second`` the second.  A form whose bits depend
    on the tie gives different answers under the two."""

    def __init__(self, pick: str) -> None:
        self.pick = pick

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def _tie(self, fn: Any, a: Any, b: Any, out: Any = None) -> Any:
        r = fn(a, b)
        with np.errstate(invalid="ignore"):
            tie = np.asarray(a) == np.asarray(b)
        a_, b_ = np.broadcast_arrays(np.asarray(a, dtype=np.result_type(r)), np.asarray(b, dtype=np.result_type(r)))
        r = np.where(tie, a_ if self.pick == "first" else b_, r)
        if out is None:
            return r
        out[...] = r
        return out

    def maximum(self, a: Any, b: Any, out: Any = None) -> Any:
        return self._tie(np.maximum, a, b, out)

    def minimum(self, a: Any, b: Any, out: Any = None) -> Any:
        return self._tie(np.minimum, a, b, out)


CASES = [(name, params, dtype) for name, sets in PARAMS.items() for params, dtype in itertools.product(sets, DTYPES)]


@pytest.mark.parametrize(("name", "params", "dtype"), CASES,
                         ids=[f"{n}-{p}-{np.dtype(d).name}" for n, p, d in CASES])
def test_choice_free_forward_keeps_the_choices_bits(name: str, params: dict[str, float], dtype: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    x = _inputs(dtype, _kinks(name, params))
    fn = getattr(nnref, name)
    with np.errstate(all="ignore"):
        new = fn(x, **params)
        for pick in ("first", "second"):
            with monkeypatch.context() as m:
                m.setattr(gen, "numpy", _Ties(pick))
                tied = fn(x, **params)
            assert same_bits(tied, new), f"{name}{params} {np.dtype(dtype).name}: depends on max/min ties ({pick})"
        monkeypatch.setattr(gen, f"_{name}_forward", OLD[name])
        old = fn(x, **params)
    assert new.dtype == old.dtype == x.dtype
    bad = ~((new.view(f"u{x.itemsize}") == old.view(f"u{x.itemsize}")) | (np.isnan(new) & np.isnan(old)))
    assert same_bits(new, old), (f"{name}{params} {np.dtype(dtype).name}: differs at"
                                 f" {x[bad][:6]!r}: new {new[bad][:6]!r}, old {old[bad][:6]!r}")


def test_large_arrays_take_the_same_path() -> None:
    """The blocked path (2^16-entry blocks) gives the unblocked bits: every block runs the test."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(300_000) * 4
    x[::7] = 0.0
    x[1::7] = -0.0
    for name, params in (("leaky_relu", {"negative_slope": 0.2}), ("relu6", {}), ("hardsigmoid", {}), ("hardshrink", {}),
                         ("hardtanh", {}), ("softshrink", {}), ("threshold", {"threshold": 1.0, "value": 1.0})):
        fn = getattr(nnref, name)
        whole = fn(x, **params)
        parts = np.concatenate([fn(x[i:i + 1000], **params) for i in range(0, x.size, 1000)])
        assert same_bits(whole, parts), name


def test_the_rule_is_used_where_proved_and_not_elsewhere() -> None:
    """The kernels print max / min (the forms the tests above judge), and the rule declines
    what it cannot prove: a ramp that tests x >= 0, a clamp whose middle decreases, an upper
    bound 0, a dead zone without its zero."""
    import inspect

    import sympy as sp

    from derivations.codegen.minmax import choice_free

    for name in PARAMS:
        form = "numpy.logical_not" if name == "hardshrink" else "_rt.maximum"
        assert form in inspect.getsource(getattr(gen, f"_{name}_forward")), name
    for name in BACKWARD:
        assert "numpy.greater(x, 0) * (1 - " in inspect.getsource(getattr(gen, f"_{name}_vjp")), name
    x, s, a = sp.Symbol("x", real=True), sp.Symbol("s", real=True), sp.Symbol("a", real=True)
    slow = sp.Symbol("slow")
    arrays = {"x"}
    refused = [
        sp.Piecewise((x, x >= 0), (s * x, True)),              # at x = -0 the choice returns x
        sp.Piecewise((x, x > 1), (s * x, True)),               # kink away from 0
        sp.Piecewise((0, x <= 0), (-x, True)),                 # decreasing middle
        sp.Piecewise((-1, x <= -1), (0, x >= 0), (x, True)),   # upper bound 0: ties of zeros
        sp.Piecewise((x - a, x > a), (x + a, x < -a), (1, True)),
        sp.Piecewise((x - a, x > a), (x + a, x < -a), (0, True)),  # no NaN branch: the choice gives 0
        sp.Piecewise((1, x <= 0), (x, True)),                  # bound 1 is not the middle's value at 0
        sp.Piecewise((0, (a >= x) & (a >= -x)), (-x, True)),   # band of -x: -0 outside at x = +0 ...
        sp.Piecewise((0, (a >= x) & (a >= 2 * x)), (x, True)),  # not a band
        sp.Piecewise((1, (a >= x) & (a >= -x)), (x, True)),    # 1 inside
        sp.Piecewise((x, x > 0), (sp.Rational(3, 4) * x, True)),   # 3*x/4: 3*x overflows at x = 1e308
        sp.Piecewise((x, x > 0), (s * x / 2, True)),               # (s*x)/2 rounds twice
        sp.Piecewise((0, x <= sp.Rational(-1, 2)), (1, x >= sp.Rational(1, 2)),
                     (x + sp.Rational(1, 2), True)),               # a shift by a non-integer: not proved
    ]
    for pw in refused:
        assert choice_free(pw, slow, arrays, extended=False) == slow, pw
    assert choice_free(sp.Piecewise((x, x > 0), (s * x, True)), slow, arrays, extended=True) == slow


def test_tie_proxy_can_fail() -> None:
    """The tie-breaking NumPy above does tell the two zeros apart (else the test proves nothing)."""
    a, b = np.array([-0.0]), np.array([0.0])
    assert np.signbit(_Ties("first").maximum(a, b))[0] and not np.signbit(_Ties("second").maximum(a, b))[0]
    assert isinstance(gen.numpy, types.ModuleType)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_kernels_test_the_parameter_as_the_ufuncs_take_it(dtype: Any) -> None:
    """Called directly, with parameters not rounded to the array's dtype first (the public
    functions round them; rrelu's mean slope is computed inside), each kernel still gives
    the choice's bits: its run-time test reads the parameter as NumPy converts it beside the
    array (``_rt.scalar``), where a positive float64 slope below the dtype's smallest
    subnormal is 0 and max(x, 0·x) would be NaN at +inf."""
    x = _inputs(dtype, [0.0, 1.0])
    calls = {"leaky_relu": [(s,) for s in (F32_TINY / 2, F16_TINY / 4, 1e-300, 0.5, 1e39)],
             "rrelu": [(0.0, F32_TINY), (0.0, F16_TINY / 2), (0.0, 1e-300), (1e39, 1e39)],
             "hardtanh": [(-F32_TINY / 2, 1.0), (-1.0, F16_TINY / 4), (-1.0, 1e-300)],
             "softshrink": [(F32_TINY / 2,), (F16_TINY / 4,), (1e-300,), (1e39,)],
             "hardshrink": [(F32_TINY / 2,), (1e-300,), (1e39,), (-0.0,)],
             "threshold": [(F32_TINY / 2, F32_TINY / 2), (1e-300, 1e-300)]}
    with np.errstate(all="ignore"):
        for name, args in calls.items():
            for a in args:
                new = getattr(gen, f"_{name}_forward")(x, *a)
                old = OLD[name](x, *a)
                assert new.dtype == old.dtype and same_bits(new, old), (name, a, np.dtype(dtype).name)


BCASES = [(name, params, dtype) for name in BACKWARD for params, dtype in itertools.product(PARAMS[name], DTYPES)]


@pytest.mark.parametrize(("name", "params", "dtype"), BCASES,
                         ids=[f"{n}-{p}-{np.dtype(d).name}" for n, p, d in BCASES])
def test_choice_free_backward_keeps_the_tables_bits(name: str, params: dict[str, float], dtype: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The VJP's derivative as mask·(1 - s) + s holds 1 and s with their bits (-0.0 among
    the slopes: the test falls back there), so grad times it is the table's product: every
    grad (±0, ±inf, NaN, subnormals) against every input."""
    x = _inputs(dtype, _kinks(name, params))
    rng = np.random.default_rng(3)
    g = _inputs(dtype, [1.0, 0.5])
    g = np.resize(g[rng.permutation(g.size)], x.size)
    x, g = np.repeat(x, 3), np.concatenate([g, np.roll(g, 7), np.roll(g, 31)])
    fn = getattr(nnref, f"{name}_backward")
    with np.errstate(all="ignore"):
        new = fn(g, x, **params)["input"]
        monkeypatch.setattr(gen, f"_{name}_vjp", OLD[f"{name}_vjp"])
        old = fn(g, x, **params)["input"]
    assert new.dtype == old.dtype == x.dtype
    assert same_bits(new, old), f"{name}_backward{params} {np.dtype(dtype).name}"


def test_into_writes_both_sides_of_a_run_time_test() -> None:
    """A kernel's last step with a run-time test: each side writes into the output."""
    from derivations.codegen.printing import into

    src = "(numpy.maximum(x, y) if 0 < t else (x * y if t < 1 else _rt.where(c, x, y)))"
    assert into(src, "o") == ("(numpy.maximum(x, y, out=o) if 0 < t else (numpy.multiply(x, y, out=o) if t < 1"
                              " else _rt.where(c, x, y, out=o)))")


def _draw(rng: np.random.Generator) -> float:
    """A parameter from everywhere: signs, magnitudes 1e-320 to 1e300, near 1, 0, ±inf."""
    kind = rng.integers(0, 5)
    if kind == 0:
        return float(rng.choice([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf]))
    if kind == 1:
        return float(np.nextafter(1.0, rng.choice([0.0, 2.0])) * rng.choice([1, -1]))
    if kind == 2:
        return float(rng.uniform(-3, 3))
    return float(rng.choice([1, -1]) * 10.0 ** rng.uniform(-320, 300))


@pytest.mark.parametrize("seed", range(4))
def test_drawn_parameters(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parameters drawn across signs and magnitudes (the ones an op's checks allow), every op,
    forward and (leaky_relu, rrelu) backward, float64 / float32 / float16: the choice's bits."""
    rng = np.random.default_rng(100 + seed)
    with np.errstate(all="ignore"):
        for _ in range(25):
            a, b = sorted([_draw(rng), _draw(rng)])
            same = _draw(rng)
            sets = {"leaky_relu": {"negative_slope": a}, "rrelu": {"lower": a, "upper": b},
                    "hardtanh": {"min_val": a, "max_val": b}, "softshrink": {"lambd": abs(a)},
                    "hardshrink": {"lambd": abs(b)}, "threshold": {"threshold": same, "value": same}}
            for name, params in sets.items():
                for dtype in DTYPES:
                    x = _inputs(dtype, _kinks(name, params))
                    g = x[rng.permutation(x.size)]
                    fn, bw = getattr(nnref, name), getattr(nnref, f"{name}_backward")
                    new, new_g = fn(x, **params), bw(g, x, **params)["input"]
                    with monkeypatch.context() as m:
                        m.setattr(gen, f"_{name}_forward", OLD[name])
                        m.setattr(gen, f"_{name}_vjp", OLD[f"{name}_vjp"])
                        old, old_g = fn(x, **params), bw(g, x, **params)["input"]
                    assert same_bits(new, old), (name, params, np.dtype(dtype).name)
                    assert same_bits(new_g, old_g), (name, params, np.dtype(dtype).name, "backward")
