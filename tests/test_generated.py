"""The generated engine is exactly what the derivations produce today."""

from __future__ import annotations

from derivations.codegen import drift


def test_generated_files_match_derivations() -> None:
    stale = drift()
    assert not stale, (f"generated files out of date: {[str(p) for p in stale]};"
                       " run `python -m derivations generate` (never edit them by hand)")


# ``into`` rewrites a kernel's last step to write into the output array; the rewritten source
# must compute the same bits as the original, in the same order, whatever it is handed.
_INTO_CASES = [
    ("x*(lower/2 + upper/2)", "numpy.multiply"),
    ("grad * (x/3 + 1/2)", "numpy.multiply"),
    ("abs(x - y) - beta/2", "numpy.subtract"),
    ("x + y*x", "numpy.add"),
    ("x/(abs(x) + 1)", "numpy.true_divide"),
    ("(x - y)**2", "numpy.power"),
    ("-(x*y)", "numpy.negative"),
    ("numpy.maximum(0, x)", "numpy.maximum"),
    ("_rt.where(numpy.greater(x, 0), x, 0.25*x)", "_rt.where"),
    ("numpy.where(numpy.greater(x, 0), x, y)", None),  # numpy.where takes no out
    ("_rt.table((numpy.less(x, 0),), (0, 1))", None),
    ("numpy.logical_and.reduce((numpy.isnan(x), numpy.less(x, 0)))", None),
]


def test_into_writes_the_same_bits_into_the_output() -> None:
    import ast

    import numpy as np

    from derivations.codegen.printing import into
    from nnref import _runtime as _rt

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(200) * 3, [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310]])
    y = rng.standard_normal(x.size)
    env = {"numpy": np, "_rt": _rt, "x": x, "y": y, "grad": y, "lower": 0.125, "upper": 0.3, "beta": 0.5}
    for src, fn in _INTO_CASES:
        rewritten = into(src, "out")
        if fn is None:
            assert rewritten == src
            continue
        call = ast.parse(rewritten, mode="eval").body
        assert isinstance(call, ast.Call) and ast.unparse(call.func) == fn, rewritten
        with np.errstate(all="ignore"):
            expected = np.asarray(eval(src, env))  # noqa: S307 - our own test expressions
            for dtype in ("float64", "float32"):
                out = np.full(x.shape, 7.0, dtype=dtype)
                got = eval(rewritten, {**env, "out": out})  # noqa: S307
                assert got is out, src
                assert np.array_equal(out.view(np.uint8), expected.astype(dtype).view(np.uint8)), (src, dtype)


def test_shared_exponentials_give_the_same_bits() -> None:
    # share_exponentials rewrites e^u (where the branch has u <= 0) and e^-u (u >= 0) as e^-|u|;
    # evaluated everywhere and selected, the rewritten formula must give the original's bits.
    import numpy as np
    import sympy as sp

    from derivations.codegen.printing import Quotient, flatten_all, share_exponentials

    x, beta = sp.symbols("x beta", real=True)
    bx = beta * x
    exprs = [
        sp.Piecewise((1 / (1 + sp.exp(-x)), x >= 0), (sp.exp(x) / (sp.exp(x) + 1), True)),
        sp.Piecewise((1, bx > 20), (1 / (1 + sp.exp(-bx)), bx >= 0), (sp.exp(bx) / (sp.exp(bx) + 1), True)),
        x * sp.Piecewise((1 / (sp.exp(x) + 1), x <= 0), (sp.exp(-x) / (sp.exp(-x) + 1), True)),
        sp.Piecewise((sp.exp(x), 0 > x), (2 * sp.exp(-x), True)),
    ]
    xs = np.concatenate([np.linspace(-800, 800, 4001), [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324]])
    for e in exprs:
        shared = share_exponentials(flatten_all(e))
        assert shared != e and shared.has(sp.exp(-sp.Abs(x)), sp.exp(-sp.Abs(bx)), sp.exp(-beta * sp.Abs(x)))
        plain = shared.replace(Quotient, lambda a, b: sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False))
        f0, f1 = (sp.lambdify((x, beta), g, modules="numpy") for g in (e, plain))
        with np.errstate(all="ignore"):
            for b in (1.0, 0.3, 7.0):
                a0, a1 = np.broadcast_to(f0(xs, b), xs.shape), np.broadcast_to(f1(xs, b), xs.shape)
                assert np.array_equal(np.isnan(a0), np.isnan(a1))
                ok = ~np.isnan(a0)
                assert np.array_equal(a0[ok].view(np.uint64), a1[ok].view(np.uint64)), e


def test_rounds_once_counts_roundings() -> None:
    # The generator runs a kernel in float32 itself only where its formula rounds once at most.
    import sympy as sp

    from derivations.codegen.pointwise import rounds_once
    from derivations.spec import IsInf, IsNaN

    x, y, s = sp.symbols("x y s", real=True)
    once = [sp.Max(0, x), s * x, x - y, sp.Piecewise((x, x > 0), (s * x, True)), sp.Abs(x - y),
            sp.Piecewise((0, sp.Eq(x, 3)), (x / 2, x < 3), (1, True)), x**2, 1 / x, sp.Symbol("grad") * sp.sign(x),
            s * sp.sign(x - y), sp.Piecewise((0, IsNaN(x - y)), (s, True))]
    more = [x * (x + 3), (x + 3) / 6, x / 6, sp.Piecewise((x, x - y > 0), (y, True)), sp.exp(x), x**3,
            sp.Piecewise((x, x > sp.Rational(1, 10)), (0, True)), s * x + y,
            s * sp.sign(x * y), s * sp.sign(x - y + 1), sp.Piecewise((0, IsInf(x - y)), (s, True))]
    assert all(rounds_once(e) for e in once), [e for e in once if not rounds_once(e)]
    assert not any(rounds_once(e) for e in more), [e for e in more if rounds_once(e)]


def test_merged_outcomes_choose_the_same_values() -> None:
    # merge_outcomes rewrites a piecewise formula over one compared pair with one condition per
    # value; on every input (NaN, infinities, signed zeros, ties) it must choose the same value.
    import random

    import numpy as np
    import sympy as sp

    from derivations.codegen.choices import Outcomes, drop_shadowed, merge_outcomes
    from derivations.codegen.printing import EnginePrinter
    from derivations.spec import IsNaN
    from nnref import _runtime as _rt

    x, s = sp.symbols("x s", real=True)
    rng = random.Random(4)
    xs = np.array([np.nan, -np.inf, -3.0, -0.5, -0.0, 0.0, 0.5, 0.75, 3.0, np.inf])
    printer = EnginePrinter(arrays=("x",))
    printer.pointwise = True
    merged_count = dropped = 0

    def atoms_for(other: sp.Expr) -> list:
        return [sp.Eq(x, other), sp.Lt(x, other), sp.Le(x, other), sp.Gt(x, other), sp.Ge(x, other),
                sp.Ne(x, other), sp.Lt(other, x), sp.Ge(other, x), IsNaN(x)]

    # one compared pair (merged), and two pairs with x (conditions a later one can shadow)
    for atoms in (atoms_for(sp.Integer(0)), atoms_for(s), atoms_for(sp.Integer(0)) + atoms_for(s)[:-1]):
        for _ in range(300):
            conds = []
            for _ in range(rng.randint(1, 4)):
                a, b = rng.sample(atoms, 2)
                conds.append(rng.choice([a, sp.Or(a, b, evaluate=False), sp.And(a, b, evaluate=False),
                                         sp.Not(a, evaluate=False)]))
            values = [sp.Integer(rng.randint(0, 2)) for _ in conds] + [sp.Integer(rng.randint(0, 2))]
            pw = sp.Piecewise(*zip(values, conds), (values[-1], True), evaluate=False)
            kept = drop_shadowed(pw, {"x"})
            dropped += kept is not pw
            new = merge_outcomes(kept, {"x"})
            merged_count += new is not kept and new.has(Outcomes)
            env = {"numpy": np, "_rt": _rt, "x": xs, "s": 0.75}
            with np.errstate(all="ignore"):
                want = np.broadcast_to(eval(printer.doprint(pw), env), xs.shape)  # noqa: S307
                got = np.broadcast_to(eval(printer.doprint(new), env), xs.shape)  # noqa: S307
            assert np.array_equal(want, got), (pw, new)
    assert merged_count > 100 and dropped > 30  # the rewrites were exercised, not just declined


def test_mirrors_finds_exactly_the_negated_derivatives() -> None:
    # A derivative printed as the negation of an earlier one must be that negation, branch by
    # branch (the kernel then negates the earlier result); anything else is printed in full.
    import sympy as sp

    from derivations.codegen.pointwise import mirrors

    x, y, b = sp.symbols("x y b", real=True)
    d = sp.Piecewise((sp.Piecewise((1, x - y > 0), (-1, True)), sp.Eq(sp.Abs(x - y), b)),
                     ((x - y) / b, sp.Abs(x - y) < b), (sp.sign(x - y), True))
    negated = sp.Piecewise((sp.Piecewise((-1, x - y > 0), (1, True)), sp.Eq(sp.Abs(x - y), b)),
                           (-(x - y) / b, sp.Abs(x - y) < b), (-sp.sign(x - y), True))
    assert mirrors({"input": d, "target": -d}) == {"target": "input"}
    assert mirrors({"input": d, "target": negated}) == {"target": "input"}
    assert mirrors({"input": 2 * x - 2 * y, "target": 2 * y - 2 * x, "other": x}) == {"target": "input"}
    near_misses = [d, -d.subs(b, 2 * b), sp.Piecewise((-1, x - y > 0), (1, True)),
                   sp.Piecewise((sp.Piecewise((-1, x - y > 0), (1, True)), sp.Eq(sp.Abs(x - y), b)),
                                (-(x - y) / b, sp.Abs(x - y) < b), (sp.sign(x - y), True))]
    for other in near_misses:
        assert mirrors({"input": d, "target": other}) == {}, other
    # the first of two equal candidates is the one negated, and a mirror is never a source
    assert mirrors({"a": x, "b": -x, "c": x}) == {"b": "a"}
