"""Choice-free forms of piecewise formulas: numpy.maximum / numpy.minimum where they give the
bits of the choice, proved here per form; the choice itself everywhere else.

A choice between two computed arrays costs ~1.4 ns an entry even as bit masks (``_rt.where``:
five passes), a ufunc pass ~0.3 ns.  Some piecewise formulas are a maximum or a minimum of
their branches: leaky_relu is max(x, s·x) for 0 < s <= 1, hardtanh min(max(x, lo), hi).  Each
rule below rewrites a formula of one shape, with a written proof that the new form gives the
same bits as the choice for every input (±0, subnormals, ±inf, NaN) and every parameter value
it is used for.  Where that needs a condition on a parameter, the rule prints a test at run
time (``Dispatch``: the choice-free form if the test holds, else the choice as before), on the
parameter as the ufuncs take it beside the array (``_rt.scalar``: a float32 kernel multiplies
by the slope rounded to float32, and the proof is about that number).

**Ties of opposite zeros.**  numpy.maximum(-0.0, +0.0) may return either zero: NumPy's SIMD
loops differ between CPUs (AVX2, AVX-512, NEON).  Every rule here makes sure that where its
max / min compares two numbers that are equal, they have the same bits: equal non-zero floats
do; equal zeros must have the same sign, which each proof shows, or the zero is normalised
before the comparison (x + 0.0 is x except that -0 becomes +0), or the rule is not used (a
parameter that is zero falls back to the choice).  NaN: max and min return a NaN where either
operand is one, as the choices do; the tests compare NaN as NaN (its payload follows NumPy's
loops, ``tests/compare.same_bits``).

Owns: ``choice_free`` and the nodes it prints (``FMax``, ``FMin``, ``PlusZero``, ``Scalar``,
``Outside``, ``Blend``, ``RoundTrips``, ``Dispatch``).  Imports: SymPy only.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanFunction


class FMax(sp.Function):
    """numpy.maximum(a, b), unevaluated (SymPy's Max would reason about real numbers)."""

    nargs = 2


class FMin(sp.Function):
    """numpy.minimum(a, b), unevaluated."""

    nargs = 2


class PlusZero(sp.Function):
    """a + 0.0: a itself except -0.0, which becomes +0.0 (round to nearest: -0 + +0 = +0)."""

    nargs = 1


class Scalar(sp.Function):
    """A scalar parameter as the ufuncs take it beside the array (``_rt.scalar(k, x)``)."""

    nargs = 2


class Outside(sp.Function):
    """x · not cond (the mask converted by the product): x where cond fails, ±0 where it holds."""

    nargs = 2


class Blend(sp.Function):
    """cond·(a - b) + b, a and b scalars: a where cond holds, b elsewhere (see ``_blend``)."""

    nargs = 3


class RoundTrips(BooleanFunction):
    """True where a - b is finite and (a - b) + b == a in float64: a scalar test at run time."""

    @classmethod
    def eval(cls, *args: Any) -> None:  # never evaluated: SymPy would reason as for real numbers
        return None


class Dispatch(sp.Function):
    """``fast if test else slow``: test is a condition on scalars, decided once per call."""

    nargs = 3


def _dispatch(test: Any, fast: sp.Expr, slow: sp.Expr) -> sp.Expr:
    """Decided at print time where the test is (a constant slope, bounds 0 and 6)."""
    if test == sp.true:
        return fast
    if test == sp.false:
        return slow
    return Dispatch(test, fast, slow)


def _scalar(e: sp.Expr, arrays: set[str]) -> bool:
    return not any(s.name in arrays for s in e.free_symbols) and not e.has(sp.nan, sp.oo, -sp.oo, sp.zoo)


def _compares(cond: Any, x: sp.Symbol) -> tuple[str, sp.Expr] | None:
    """("<=", a) where cond says x <= a, (">=", a) for x >= a, (">", a) for x > a; either
    side's spelling (a >= x is x <= a)."""
    flip = {sp.LessThan: sp.GreaterThan, sp.GreaterThan: sp.LessThan,
            sp.StrictLessThan: sp.StrictGreaterThan, sp.StrictGreaterThan: sp.StrictLessThan}
    if type(cond) not in flip:
        return None
    kind, lhs, rhs = type(cond), cond.lhs, cond.rhs
    if rhs == x and lhs != x:
        kind, lhs, rhs = flip[kind], rhs, lhs
    if lhs != x or rhs.has(x):
        return None
    return {sp.LessThan: "<=", sp.GreaterThan: ">=", sp.StrictGreaterThan: ">", sp.StrictLessThan: "<"}[kind], rhs


def choice_free(pw: sp.Piecewise, slow: sp.Expr, arrays: set[str], extended: bool) -> sp.Expr:
    """``pw`` in a choice-free form where a rule below applies (with ``slow``, the choice as
    it is printed otherwise, where a run-time test fails); else ``slow``.  Not in kernels
    printed for extended precision (their constants print otherwise than the proofs read)."""
    if extended:
        return slow
    for rule in (_ramp, _clamp, _dead_zone, _zero_band):
        fast = rule(pw, slow, arrays)
        if fast is not None:
            return fast
    return _blend(slow, arrays) or slow


def _blend(slow: sp.Expr, arrays: set[str]) -> sp.Expr | None:
    """a where cond, else b, two scalars of which one is a parameter (leaky_relu's derivative
    1 or negative_slope): mask·(a - b) + b where b != 0 and a - b is finite and (a - b) + b == a
    (tested at run time, in float64 as the arrays compute: the mask times a Python float is a
    float64 array), else the table as before.

    Proof.  Where cond holds the mask is 1, 1·(a - b) is a - b exactly, and (a - b) + b is a
    (the test, the same float64 operations); elsewhere it is 0, 0·(a - b) = ±0 (a - b is
    finite), and ±0 + b = b exactly for b != 0.  So the array holds a and b with their bits,
    as the table's, and grad times it is the same product.  The test fails for b = 0 (the
    table is then a mask conversion already), a - b infinite (0·inf would be NaN; for a
    finite constant a the round trip already fails there: ±inf + b is ±inf or NaN), or a - b
    rounded so that adding b back misses a (leaky_relu with a slope of 1e-20)."""
    if not isinstance(slow, sp.Piecewise) or len(slow.args) != 2 or slow.args[1][1] != sp.true:
        return None
    (a, cond), (b, _) = slow.args
    if not (_scalar(a, arrays) and _scalar(b, arrays)) or (a.is_Number and b.is_Number):
        return None
    if not any(s.name in arrays for s in cond.free_symbols):
        return None
    return Dispatch(sp.And(RoundTrips(a, b), sp.Ne(b, 0)), Blend(cond, a, b), slow)


def _ramp(pw: sp.Piecewise, slow: sp.Expr, arrays: set[str]) -> sp.Expr | None:
    """x where x > 0, else k·x (leaky_relu, rrelu), k a scalar: max(x, k·x) for 0 < k <= 1,
    min(x, k·x) for k >= 1 (with k as the product takes it, k > 0 is not a subnormal that
    rounds to 0 in float32).

    Proof for 0 < k <= 1 (k >= 1 is the mirror image; k = +inf included there: k·x is NaN
    at x = ±0 in both forms, and min returns the NaN).  Rounding is monotone and keeps x,
    so x > 0 gives 0 <= k·x <= x, and x < 0 gives x <= k·x <= 0: max picks x where the choice
    does, k·x where it does, and where the two are equal they are one number; x = ±0 gives
    k·x = ±0 with x's sign (k > 0), the same bits as x, so max never meets two opposite
    zeros; x = ±inf gives ±inf (k > 0; k = 0 would give NaN at +inf, so it takes the choice);
    NaN gives NaN in both.  k < 0 takes the choice: at x = +0 it is k·x = -0 against x = +0,
    a tie of opposite zeros."""
    if len(pw.args) != 2 or pw.args[1][1] != sp.true:
        return None
    (first, cond), (other, _) = pw.args
    x = first
    if not (isinstance(x, sp.Symbol) and x.name in arrays) or _compares(cond, x) != (">", sp.S.Zero):
        return None
    # k exactly as the product holds it (a rewritten k could round otherwise than the one used),
    # and the product one rounding of k·x: two factors, k computed first (a parameter
    # expression in Python), or a constant that prints as k*x or x/q (p*x/q would round twice,
    # and 3*x overflows where 3*x/4 should not)
    k, rest = other.as_independent(x, as_Add=False)
    if rest != x or not _scalar(k, arrays) or not isinstance(other, sp.Mul) or len(other.args) != 2:
        return None
    if k.is_Number and not (k.is_Integer and abs(k) < 2**11 or k.is_Rational and k.p == 1 and k.q < 2**11):
        return None
    used = Scalar(k, x) if not k.is_Number else k
    return _dispatch(sp.And(sp.StrictLessThan(0, used), sp.LessThan(used, 1)), FMax(x, other),
                     _dispatch(sp.LessThan(1, used), FMin(x, other), slow))


def _monotone(e: sp.Expr, x: sp.Symbol) -> bool:
    """Whether e is x, e + c or c·e (c > 0 a number) of such: non-decreasing in x after
    rounding, each step a rounded +, ×, ÷ by a positive constant, all monotone."""
    if e == x:
        return True
    if isinstance(e, sp.Add) and len(e.args) == 2:
        const = [a for a in e.args if a.is_Number]
        return len(const) == 1 and _monotone(next(a for a in e.args if not a.is_Number), x)
    if isinstance(e, sp.Mul) and len(e.args) == 2:
        const = [a for a in e.args if a.is_Number]
        return len(const) == 1 and const[0] > 0 and _monotone(next(a for a in e.args if not a.is_Number), x)
    return False


def _exactly(e: sp.Expr, x: sp.Symbol, at: sp.Expr) -> sp.Expr | None:
    """e's value at x = at when every step of its float evaluation there is exact (each
    intermediate value a small integer, exact in float16 too); None otherwise."""
    if e == x:
        return at
    inner = next(a for a in e.args if not a.is_Number)
    c = next(a for a in e.args if a.is_Number)
    v = _exactly(inner, x, at)
    if v is None:
        return None
    # c·v prints as v·p/q (two exact steps here), v + c as one
    steps = [v + c] if isinstance(e, sp.Add) else [v * sp.Rational(c).p, v * c]
    return steps[-1] if all(s.is_Integer and abs(s) < 2**11 for s in steps) else None


def _shifted(e: sp.Expr, x: sp.Symbol) -> bool:
    """e is (x + c)·p/q with c a non-zero integer and 0 < p/q, q < 2^11: never -0.  x + c is
    +0 where it is zero (round to nearest), and otherwise at least half an ulp of 1, 2^-11 in
    float16 (2^-53 in float64); after ·p/q that is at least 2^-22 (2^-64), above the smallest
    subnormal 2^-24 (2^-1074), so no negative value underflows to -0."""
    if isinstance(e, sp.Mul):
        c = next(a for a in e.args if a.is_Number)
        if not (c.is_Rational and c > 0 and c.q < 2**11):
            return False
        e = next(a for a in e.args if not a.is_Number)
    return isinstance(e, sp.Add) and len(e.args) == 2 and x in e.args and all(
        a == x or a.is_Integer and a != 0 for a in e.args)


def _clamp(pw: sp.Piecewise, slow: sp.Expr, arrays: set[str]) -> sp.Expr | None:
    """lo where x <= a, [hi where x >= b,] else E(x), E non-decreasing with E(a) = lo,
    E(b) = hi exactly (hardtanh, relu6, hardsigmoid; threshold where value = threshold):
    min(max(E, lo), hi).

    Proof.  x <= a gives E(x) <= E(a) = lo, so max gives lo (lo <= hi, so min keeps it);
    x >= b (and not x <= a) gives E(x) >= hi >= lo, and min gives hi; between them
    lo <= E(x) <= hi and both keep E(x); NaN fails both tests and E(NaN) is NaN, which
    max and min return.  Where max or min compares two equal numbers they are one number
    unless both are zeros: so lo and hi must not be 0 (tested at run time for parameters),
    except a constant lo = +0 where E can never be -0: E = x is normalised (x + 0.0; x = -0
    lies in x <= a = 0, where the result is lo = +0 anyway), and E = (x + c)·p/q with c a
    non-zero integer is never -0 (``_shifted``)."""
    if pw.args[-1][1] != sp.true or len(pw.args) not in (2, 3):
        return None
    e = pw.args[-1][0]
    xs = [s for s in e.free_symbols if s.name in arrays]
    if len(xs) != 1 or not _monotone(e, xs[0]):
        return None
    x = xs[0]
    tests = []
    bounds = []
    for (value, cond), side in zip(pw.args[:-1], ("<=", ">=")):
        said = _compares(cond, x)
        if said is None or said[0] != side or not _scalar(value, arrays) or not _scalar(said[1], arrays):
            return None
        at = said[1]
        if e == x and value != at:
            if value.is_Number and at.is_Number:
                return None
            tests.append(sp.Eq(Scalar(value, x), Scalar(at, x)))  # threshold: value = threshold
        elif e != x and (not at.is_Number or _exactly(e, x, at) != value):
            return None
        bounds.append(value)
    lo, hi = bounds[0], (bounds[1] if len(bounds) == 2 else None)
    if hi is not None and not (lo.is_Number and hi.is_Number):
        tests.append(sp.LessThan(Scalar(lo, x), Scalar(hi, x)))
    elif hi is not None and not lo <= hi:
        return None
    low = e
    for i, bound in enumerate(bounds):
        if bound.is_Number and bound == 0:
            if i or len(bounds) == 2 and hi == 0:
                return None  # only a lower bound +0 is handled, below
            if e == x:
                low = PlusZero(x)
            elif not _shifted(e, x):
                return None
        elif not bound.is_Number:
            tests.append(sp.Ne(Scalar(bound, x), 0))
    fast = FMax(low, lo) if hi is None else FMin(FMax(low, lo), hi)
    return _dispatch(sp.And(*tests), fast, slow)


def _dead_zone(pw: sp.Piecewise, slow: sp.Expr, arrays: set[str]) -> sp.Expr | None:
    """NaN where x is NaN, x - l where x > l, x + l where x < -l, else 0 (softshrink):
    x - min(max(x, -l), l) for 0 < l < inf.

    Proof.  x > l: the clamp is l (x > l > -l, no ties), and x - l is the choice's value
    (its printing (-l) - (-x) is the same exact difference, rounded the same way);
    x < -l: the clamp is -l, and x - (-l) = x + l; |x| <= l: the clamp is x itself (a tie
    x = ±l is one non-zero number, l > 0), and x - x = +0 for finite x (|x| <= l < inf),
    the choice's 0; NaN: the clamp is NaN and so is x - NaN.  l = 0 takes the choice (the
    clamp would compare ±0 with ∓0), and so does l = inf (x - x at x = ±inf is NaN)."""
    args = list(pw.args)
    # the NaN branch is required: without it the choice gives 0 at NaN, the clamp NaN
    if len(args) != 4 or args[0][0] is not sp.nan or type(args[0][1]).__name__ != "IsNaN":
        return None
    args = args[1:]
    if args[-1] != (sp.S.Zero, sp.true):
        return None
    (above, c1), (below, c2) = args[0], args[1]
    x = next((s for s in c1.free_symbols if s.name in arrays), None)
    if x is None or pw.args[0][1].args[0] != x:
        return None
    said = _compares(c1, x)
    if said is None or said[0] != ">" or not _scalar(said[1], arrays):
        return None
    lam = said[1]
    # l < -x is x < -l (negating both sides of a comparison is exact, NaN fails both)
    low = _compares(c2, x)
    if low is None and isinstance(c2, sp.StrictLessThan) and c2.rhs == -x:
        low = ("<", -c2.lhs)
    if low != ("<", -lam) or sp.expand(above - (x - lam)) != 0 or sp.expand(below - (x + lam)) != 0:
        return None
    used = Scalar(lam, x)
    fast = x - FMin(FMax(x, -lam), lam)
    return _dispatch(sp.And(sp.StrictLessThan(0, used), sp.StrictLessThan(used, sp.oo)), fast, slow)


def _zero_band(pw: sp.Piecewise, slow: sp.Expr, arrays: set[str]) -> sp.Expr | None:
    """0 where -l <= x <= l (as l >= x and l >= -x), else x (hardshrink): x · not(that) + 0.0
    for 0 <= l < inf.

    Proof.  Inside the band the mask is 0, x is finite (|x| <= l < inf), x · 0 is ±0 and
    ±0 + 0.0 is +0, the choice's 0; outside (NaN included: it fails both tests) the mask is
    1, x · 1 is x, and x + 0.0 is x, since x is not a zero there (±0 lies in the band, l >= 0).
    No max or min, so no ties.  l = inf takes the choice (inf · 0 is NaN)."""
    if len(pw.args) != 2 or pw.args[0][0] != 0 or pw.args[1][1] != sp.true:
        return None
    (_, cond), (x, _) = pw.args
    if not (isinstance(x, sp.Symbol) and x.name in arrays) or not isinstance(cond, sp.And) or len(cond.args) != 2:
        return None
    sides = {_compares(c, x) for c in cond.args}
    neg = [c for c in cond.args if _compares(c, x) is None]
    # l >= -x is -x <= l, i.e. x >= -l (negation is exact; NaN fails both spellings)
    for c in neg:
        if isinstance(c, sp.GreaterThan) and c.rhs == -x:
            sides = (sides - {None}) | {(">=", -c.lhs)}
    lam = next((a for side, a in (t for t in sides if t) if side == "<="), None)
    if lam is None or sides != {("<=", lam), (">=", -lam)} or not _scalar(lam, arrays):
        return None
    used = Scalar(lam, x)
    return _dispatch(sp.And(sp.LessThan(0, used), sp.StrictLessThan(used, sp.oo)),
                     PlusZero(Outside(x, cond)), slow)
