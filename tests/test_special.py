"""The runtime's special functions against mpmath: erf and erfc within 1 ulp, Φ, φ and
x − tanh x within the bounds their docstrings state, over the whole float64 range."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from nnref import _special

RNG = np.random.default_rng(20261206)
POINTS = np.concatenate([
    RNG.uniform(-7, 7, 1500), RNG.uniform(-30, 30, 500), np.geomspace(1e-300, 1, 150), -np.geomspace(1e-300, 1, 150),
    [0.0, -0.0, 0.84375, 1.25, 1 / 0.35, 6.0, -6.0, 27.9, 28.0, -38.0, 5e-324],
])
CASES = [
    ("erf", _special.erf, mpmath.erf, 1.0, POINTS),
    ("erfc", _special.erfc, mpmath.erfc, 1.0, POINTS),
    ("ncdf", _special.ncdf, mpmath.ncdf, 1.5, POINTS[POINTS > -38.5]),
    ("npdf", _special.npdf, mpmath.npdf, 1.0, POINTS),
    ("x_minus_tanh", _special.x_minus_tanh, lambda v: v - mpmath.tanh(v), 1.0, POINTS),
]


@pytest.mark.parametrize("name,fn,truth,ulps,xs", CASES, ids=[c[0] for c in CASES])
def test_within_ulps_of_mpmath(name: str, fn, truth, ulps: float, xs: np.ndarray) -> None:  # noqa: ANN001
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("this platform's numpy.longdouble has no extended precision (the bounds are x86-64's)")
    got = np.asarray(fn(xs), dtype=np.float64)
    errs: list[float] = []
    with mpmath.workdps(400):  # x − tanh x at 1e-300 cancels 600 digits deep: 400 do for the rest
        for x, v in zip(xs, got):
            t = truth(mpmath.mpf(float(x))) if abs(x) > 1e-100 or name != "x_minus_tanh" else mpmath.mpf(float(x)) ** 3 / 3
            th = float(t)
            if th == 0:
                assert v == 0, f"{name}({x!r}) = {v!r}, truth 0"
                continue
            errs.append(float(abs(mpmath.mpf(float(v)) - t)) / float(np.spacing(abs(th))))
    # a NaN result gives a NaN error, which max() would pass over
    assert not np.isnan(errs).any(), f"{name}: NaN where the truth is a number"
    worst = max(errs, default=0.0)
    assert worst <= ulps, f"{name}: {worst:.3f} ulp"


def test_two_prod_is_exact() -> None:
    a = RNG.uniform(-1e3, 1e3, 200)
    b = RNG.uniform(-1e3, 1e3, 200)
    hi, lo = _special.two_prod(a, b)
    for x, y, h, low in zip(a, b, hi, lo):
        assert mpmath.mpf(float(h)) + mpmath.mpf(float(low)) == mpmath.mpf(float(x)) * mpmath.mpf(float(y))


def test_working_precision_follows_the_callers_dtype_per_thread() -> None:
    """A float32 result is served in float64 (extended precision is ~10x slower in NumPy and
    buys nothing after the rounding to float32), a float64 one in extended precision; the
    setting belongs to the thread that made it."""
    import threading

    x = np.linspace(-5, 5, 11)
    assert _special.ncdf(x).dtype == np.longdouble
    seen: list[np.dtype] = []
    with _special.caller_dtype(np.float32):
        assert _special.ncdf(x).dtype == np.float64 and _special.npdf(x).dtype == np.float64
        assert _special.x_minus_tanh(x).dtype == np.float64
        other = threading.Thread(target=lambda: seen.append(_special.ncdf(x).dtype))
        other.start()
        other.join()
    assert seen == [np.longdouble]
    assert _special.ncdf(x).dtype == np.longdouble
    # Rounded to float32, both precisions give the same values here.
    with _special.caller_dtype(np.float32):
        fast = _special.ncdf(x).astype(np.float32)
    assert np.array_equal(fast, _special.ncdf(x).astype(np.float32))


def test_sigmoid_slope_is_plain_for_a_float32_caller_only() -> None:
    """sigmoid_slope forms t/(1 + t)² plainly in float64 for a float32 caller (its accuracy is
    declared for that: SLOPE_FLOAT32) and compensated otherwise, also on a thread that never
    named a caller's dtype.  The two differ in the last bits on many points."""
    import threading

    z = np.random.default_rng(9).standard_normal(5000) * 8
    t = np.exp(-np.abs(z))
    plain = t / ((1.0 + t) * (1.0 + t))
    fresh: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: fresh.append(_special.sigmoid_slope(z)))
    worker.start()
    worker.join()
    compensated = _special.sigmoid_slope(z)
    assert np.array_equal(fresh[0], compensated)
    assert (compensated != plain).sum() > 100  # the check below can tell the two apart
    with _special.caller_dtype(np.float32):
        assert np.array_equal(_special.sigmoid_slope(z), plain)
    with _special.caller_dtype(np.float64):
        assert np.array_equal(_special.sigmoid_slope(z), compensated)
    with mpmath.workprec(120):
        exact = [mpmath.exp(-abs(mpmath.mpf(float(v)))) / (1 + mpmath.exp(-abs(mpmath.mpf(float(v))))) ** 2
                 for v in z[:300]]
        err = [abs(mpmath.mpf(float(c)) - e) / np.spacing(float(e)) for c, e in zip(compensated[:300], exact)]
    assert max(err) <= 2  # the compensated form's own bound, in float64 ulps
