"""Special functions NumPy lacks, vectorised: erf and erfc, and exact products for arguments
that feed an exponential.

erf and erfc follow the piecewise rational approximations of Sun's fdlibm (s_erf.c, 1993):
on [0, 0.84375) an odd rational function of x²; on [0.84375, 1.25) a rational function of
|x| − 1 around erf(1) ≈ 0.845062911510467529297 (``ERX``); beyond, erfc(x) =
exp(−z² − 0.5625 + (z − x)(z + x) + R(1/x²)/S(1/x²))/x, where z is x with the low 32
bits of its significand cleared, so that z² is exact and the large part of the exponent
carries no rounding error.  fdlibm states each rational fit's error below 2^−57.  Here the
rational functions, the sum in the exponent and the exponential are evaluated in x86's
extended precision (numpy.longdouble) and rounded to float64 once: measured against mpmath
(``tests/test_special.py``) erf and erfc stay within 1 ulp.  Every branch is evaluated only
on the elements that take it.

``two_prod(a, b)`` returns hi + lo = a·b exactly (Dekker's product with Veltkamp's
splitting; NumPy has no fused multiply-add): an exponential of a product amplifies the
product's rounding error by the size of the exponent, so callers pass the low part on.

The working precision follows the caller: extended precision serves float64 results, but a
float32 result needs only float64 (an error of a few float64 ulps moves a float32 result only
where it lies within 2^-27 ulp of a rounding midpoint, inside the declared double-rounding
allowance).  The pointwise runtime (``_runtime.blocked``) runs a float32 call's kernels
inside ``caller_dtype(float32)``, a per-thread setting, and x86's extended precision, about
ten times slower than float64 in NumPy, is then skipped.

Owns: erf, erfc, ncdf, npdf, x_minus_tanh, two_prod, sigmoid_slope, caller_dtype.  Imports:
NumPy only.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy

ERX = 8.45062911510467529297e-01
EFX = 1.28379167095512586316e-01
PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
      -5.77027029648944159157e-03, -2.37630166566501626084e-05)
QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
      1.32494738004321644526e-04, -3.96022827877536812320e-06)
PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
      3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
      -2.16637559486879084300e-03)
QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
      1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
      -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
      -8.12874355063065934246e+01, -9.81432934416914548592e+00)
SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
      6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
      6.57024977031928170135e+00, -6.04244152148580987438e-02)
RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
      -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
      -4.83519191608651397019e+02)
SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
      3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
      -2.24409524465858183362e+01)


# The rational functions are evaluated in x86's extended precision (64-bit significand) and
# rounded to float64 once: their float64 evaluation alone costs up to 1.3 ulp of erfc near 1.
# For a float32 caller float64 is enough (see the module's docstring).
_STATE = threading.local()


@contextlib.contextmanager
def caller_dtype(dtype: Any) -> Iterator[None]:
    """On this thread, evaluate for a result of ``dtype``: float64 working precision when it
    is float32 or narrower, extended precision otherwise."""
    before = getattr(_STATE, "single", False)
    _STATE.single = dtype is not None and numpy.dtype(dtype).kind == "f" and numpy.dtype(dtype).itemsize < 8
    try:
        yield
    finally:
        _STATE.single = before


def _work() -> Any:
    return numpy.float64 if getattr(_STATE, "single", False) else numpy.longdouble


def _poly(coeffs: tuple[float, ...], z: Any) -> Any:
    out = numpy.full_like(z, coeffs[-1])
    for c in coeffs[-2::-1]:
        out = out * z + c
    return out


def _tail(a: Any) -> Any:
    """exp(−a² − 0.5625 + R/S)/a for a >= 1.25: erfc(a) (the asymptotic branches)."""
    s = 1.0 / (a * a)
    near = a < 1 / 0.35
    r, q = numpy.empty_like(s), numpy.empty_like(s)
    for at, num, den in ((_at(near), RA, SA), (_at(~near), RB, SB)):  # each fit only where it holds
        part = s.take(at)
        r[at], q[at] = _poly(num, part), _poly(den, part)
    z = (a.view(numpy.uint64) & numpy.uint64(0xFFFFFFFF00000000)).view(numpy.float64)
    # -z² - 0.5625 is exact; the small rest is added in extended precision (x86's 64-bit
    # significand), so that the one exponential and the division round once more only when
    # the result is rounded to float64: below 0.51 ulp where fdlibm's two float64
    # exponentials give up to 1.9 ulp through NumPy's exp.
    w = _work()
    big = (-(z * z) - 0.5625).astype(w)
    rest = ((z - a) * (z + a) + r / q).astype(w)
    return (numpy.exp(big + rest) / a.astype(w)).astype(numpy.float64)


def _at(mask: Any) -> Any:
    """The positions where a 1-D mask holds, for take and for assignment: NumPy's boolean
    indexing branches on every entry, ~3.6 ns an entry on a mixed mask against ~0.8 ns for
    the positions, a gather and a scatter (2^16 float64 entries, AVX-512 EPYC)."""
    return numpy.flatnonzero(mask)


def _pieces(x: Any) -> tuple[Any, Any, Any, Any, Any]:
    a = numpy.abs(x)
    small = a < 0.84375
    mid = (a >= 0.84375) & (a < 1.25)
    big = a >= 1.25
    return a, small, mid, big, numpy.isnan(x)


def erf(x: Any) -> Any:
    """The error function, elementwise, float64 (other float dtypes are evaluated in float64)."""
    arr = numpy.asarray(x)
    xs = arr.astype(numpy.float64).ravel()
    out = numpy.empty_like(xs)
    w = _work()
    with numpy.errstate(all="ignore"):
        a, small, mid, big, nan = _pieces(xs)
        if small.any():
            i = _at(small)
            v = xs.take(i).astype(w)
            z = v * v
            out[i] = v + v * (_poly(PP, z) / _poly(QQ, z))
        if mid.any():
            i = _at(mid)
            s = (a.take(i) - 1.0).astype(w)
            out[i] = numpy.copysign(ERX + _poly(PA, s) / _poly(QA, s), xs.take(i))
        if big.any():
            i = _at(big)
            v = a.take(i)
            res = numpy.where(v < 6.0, 1.0 - _tail(numpy.minimum(v, 6.0)), 1.0)
            out[i] = numpy.copysign(res, xs.take(i))
        if nan.any():
            out[_at(nan)] = numpy.nan
    return out.reshape(arr.shape).astype(arr.dtype if arr.dtype.kind == "f" else numpy.float64)


def erfc(x: Any) -> Any:
    """The complementary error function 1 − erf(x), elementwise, without cancellation for
    large x (float64; other float dtypes are evaluated in float64)."""
    arr = numpy.asarray(x)
    xs = arr.astype(numpy.float64).ravel()
    out = numpy.empty_like(xs)
    w = _work()
    with numpy.errstate(all="ignore"):
        a, small, mid, big, nan = _pieces(xs)
        if small.any():
            i = _at(small)
            v = xs.take(i).astype(w)
            z = v * v
            y = v * (_poly(PP, z) / _poly(QQ, z))
            # below 1/4 the sum 1 − (x + x·y) loses nothing; above, 0.5 − ((x − 0.5) + x·y)
            # keeps the digits of a result near 1/2
            out[i] = numpy.where(v < 0.25, 1.0 - (v + y), 0.5 - ((v - 0.5) + y))
        if mid.any():
            i = _at(mid)
            s = (a.take(i) - 1.0).astype(w)
            p = _poly(PA, s) / _poly(QA, s)
            out[i] = numpy.where(xs.take(i) > 0, (1.0 - ERX) - p, 1.0 + (ERX + p))
        if big.any():
            i = _at(big)
            v = xs.take(i)
            av = numpy.minimum(a.take(i), 28.0)
            r = _tail(av)
            out[i] = numpy.where(v > 0, numpy.where(v < 28.0, r, 0.0), numpy.where(v > -6.0, 2.0 - r, 2.0))
        if nan.any():
            out[_at(nan)] = numpy.nan
    return out.reshape(arr.shape).astype(arr.dtype if arr.dtype.kind == "f" else numpy.float64)


_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's splitting constant for float64


def _split(a: Any) -> tuple[Any, Any]:
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def two_prod(a: Any, b: Any) -> tuple[Any, Any]:
    """(hi, lo) with hi = fl(a·b) and hi + lo = a·b exactly (barring overflow and underflow)."""
    a = numpy.asarray(a, dtype=numpy.float64)
    b = numpy.asarray(b, dtype=numpy.float64)
    with numpy.errstate(all="ignore"):
        hi = a * b
        ah, al = _split(a)
        bh, bl = _split(b)
        lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl
    return hi, numpy.where(numpy.isfinite(lo), lo, 0.0)


# 1/√2 and 1/√(2π) as a float64 and the float64 nearest the rest (for the exact splits),
# and 2/√π in extended precision.
_R2_HI = 0.7071067811865476
_R2_LO = -4.833646656726457e-17
_INV_SQRT_2PI = numpy.longdouble("0.39894228040143267793994605993438186848")
_TWO_OVER_SQRT_PI = numpy.longdouble("1.12837916709551257389615890312154517169")


def ncdf(x: Any) -> Any:
    """Φ(x) = erfc(−x/√2)/2, with −x/√2 split into hi + lo exactly: erfc amplifies a relative
    error of its argument t by about 2t², so the rounding of −x/√2 alone would cost ~40 ulp
    at x = −9.  erfc(hi + lo) = erfc(hi) − (2/√π)·e^{−hi²}·lo to far below an ulp (|lo| is
    under an ulp of hi).  Returned in extended precision, for one final rounding."""
    x64 = numpy.asarray(x, dtype=numpy.float64)
    with numpy.errstate(all="ignore"):
        hi, lo = two_prod(-x64, _R2_HI)
        lo = numpy.where(numpy.isfinite(x64), lo - x64 * _R2_LO, 0.0)
        w = _work()
        e = erfc(hi).astype(w)
        slope = w(_TWO_OVER_SQRT_PI) * numpy.exp(-(hi.astype(w) ** 2))
        return (e - slope * lo) / 2


def npdf(x: Any) -> Any:
    """φ(x) = e^{−x²/2}/√(2π), with x² exact as hi + lo (two_prod) and the exponential taken
    in extended precision, returned there for one final rounding."""
    x64 = numpy.asarray(x, dtype=numpy.float64)
    with numpy.errstate(all="ignore"):
        hi, lo = two_prod(x64, x64)
        w = _work()
        arg = -(hi.astype(w) + lo) / 2
        return numpy.exp(arg) * w(_INV_SQRT_2PI)


# 2k/(2k+1)! for k = 1..18: x·cosh x − sinh x = Σ_k 2k·x^(2k+1)/(2k+1)!, every term positive.
_XCS = [numpy.longdouble(2 * k) / numpy.longdouble(float(math.factorial(2 * k + 1)))
        for k in range(1, 19)]


def x_minus_tanh(x: Any) -> Any:
    """x − tanh(x) without cancellation: for |x| < 1 as (x·cosh x − sinh x)/cosh x, the
    numerator summed from its series of positive terms (18 terms reach 2^-64 relative at
    |x| = 1); elsewhere x − tanh x loses at most 2 of extended precision's 64 bits.
    Computed in extended precision, returned there for one final rounding."""
    a = numpy.asarray(x)
    w = _work()
    xl = a.astype(w).ravel()  # 1-D, so that the small entries can be replaced
    with numpy.errstate(all="ignore"):
        out = xl - numpy.tanh(xl)
        small = numpy.abs(xl) < 1
        if small.any():
            i = _at(small)
            v = xl.take(i)
            z = v * v
            s = numpy.full_like(v, _XCS[-1])
            for c in _XCS[-2::-1]:
                s = s * z + w(c)
            out[i] = v * z * s / numpy.cosh(v)
    return out.reshape(a.shape)


def sigmoid_slope(z: Any) -> Any:
    """σ'(z) = t/(1 + t)² with t = e^{−|z|} (one exponential, never overflowing), in float64:
    1 + t and its square are kept exactly as hi + lo pairs and the quotient is corrected by
    its own residual, so the result carries the exponential's error (NumPy's is under an
    ulp) and one rounding: within 2 ulp in float64 (tests/test_accuracy.py).  For a float32
    caller (``caller_dtype``) the quotient is formed plainly in float64 (see below)."""
    a = numpy.asarray(z, dtype=numpy.float64)
    with numpy.errstate(all="ignore"):
        t = numpy.exp(-numpy.abs(a))
        if getattr(_STATE, "single", False):
            # A float32 result: the plain quotient (up to ~4 float64 ulps, where the compensated
            # one below keeps 2) moves it across a rounding midpoint only within 5·2^-28 ulp of
            # one, the allowance sigmoid and tanh declare for it; a quarter of the work.
            d = 1.0 + t
            return t / (d * d)
        hi = 1.0 + t
        lo = t - (hi - 1.0)  # Fast2Sum: 1 >= t, so hi + lo = 1 + t exactly
        # Every operand below lies in [0, 4] (NaN only where z is NaN, and NaN then): the exact
        # products need no overflow guard, and hi's square splits hi once.
        p = hi * hi
        hh, hl = _split(hi)
        pl = ((hh * hh - p) + 2.0 * hh * hl) + hl * hl
        d_lo = pl + 2.0 * hi * lo  # (1 + t)² = p + d_lo to far below an ulp of p
        q = t / p
        qp = q * p
        qh, ql = _split(q)
        ph, plo = _split(p)
        qpl = ((qh * ph - qp) + qh * plo + ql * ph) + ql * plo
        r = (t - qp) - qpl  # t − q·p exactly
        return q + (r - q * d_lo) / p
