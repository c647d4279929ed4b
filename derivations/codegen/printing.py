"""SymPy -> NumPy source, readable, with the few functions NumPy lacks routed to nnref's runtime.

Owns: ``EnginePrinter``, ``print_block`` and ``into`` (a printed result written into an
output array).  Imports: SymPy, ``.choices``, ``.minmax``.
"""

from __future__ import annotations

import ast
from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .choices import drop_shadowed, merge_outcomes, print_outcomes
from .minmax import Dispatch, choice_free


class EnginePrinter(NumPyPrinter):
    """NumPy printer with nnref's choices.

    * ``erf`` and ``erfc`` go to ``_rt.erf`` / ``_rt.erfc`` (NumPy has none; ``nnref/_special.py``
      evaluates them vectorised, within 1 ulp), and the functions that name a stable
      evaluation (``Ncdf``, ``Npdf``, ``XMinusTanh``, see ``derivations/spec.py``) to theirs.
    * ``IsNaN`` prints as ``numpy.isnan``.
    * ``Heaviside`` keeps SymPy's H(0) = 1/2 (conventions override it where torch differs).
    """

    def __init__(self, settings: dict[str, Any] | None = None, extended: bool = True,
                 arrays: tuple[str, ...] = ()) -> None:
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        # False: constants as float64 (for code that never runs in extended precision)
        self.extended = extended
        self.arrays = arrays
        # True for the pointwise kernels (print_block): they choose with _rt.where (the same
        # bits, branch-free on float64) and combine masks with two-argument logical_and / _or
        self.pointwise = False

    def _print_Piecewise(self, expr: sp.Expr) -> str:
        pw = flatten(expr)
        pairs = list(pw.args)
        if masked(pw, self.extended) and self.arrays:
            # Each branch runs only on the elements that select it (``_rt.pw``): a lambda
            # over the array arguments it reads, handed their selected elements.
            used = sorted({s.name for s in pw.free_symbols} & set(self.arrays))
            params = ", ".join(used)
            conds = ", ".join("True" if c == sp.true else self._print(c) for _, c in pairs)
            fns = ", ".join(f"lambda {params}: {self._print(v)}" if params else f"lambda: {self._print(v)}"
                            for v, _ in pairs)
            return f"_rt.pw(({params}{',' if len(used) == 1 else ''}), ({conds},), ({fns},))"
        if self.arrays and pairs[-1][1] == sp.true and all(not {f.name for f in v.free_symbols} & set(self.arrays)
                                           and not v.has(sp.nan, sp.oo, sp.zoo, -sp.oo) for v, _ in pairs):
            # Constant branches (a derivative that is 0, 1 or a slope): boolean algebra on the
            # conditions (NumPy's where branches per element, 10x slower on mixed signs).
            conds = ", ".join(self._print(c) for _, c in pairs[:-1])
            values = ", ".join(self._print(v) for v, _ in pairs)
            return f"_rt.table(({conds},), ({values},))"
        # Nested numpy.where, each condition computed once.
        out = "numpy.nan"
        for value, cond in reversed(pairs):
            if cond == sp.true:
                out = self._print(value)
            else:
                select = "_rt.where" if self.pointwise else "numpy.where"
                out = f"{select}({self._print(cond)}, {self._print(value)}, {out})"
        return out

    # Exact constants (π, e, √2, p/q) print in extended precision: a kernel evaluated there
    # (``_rt.ext``) would otherwise carry the float64 rounding of every constant, which an
    # exponential amplifies (gelu's tanh form: e^{2u} with u ≈ −300 turns 1e-17 into 30 ulp).
    def _print_Rational(self, expr: sp.Rational) -> str:
        if not self.extended:
            return super()._print_Rational(expr)
        if expr.q == 1:
            return str(expr.p)
        return f"(_rt.L({expr.p})/{expr.q})"

    def _print_Mul(self, expr: sp.Expr) -> str:
        # A rational coefficient p/q in float64 code: multiply by p, then divide by q (one
        # rounding each), rather than multiply by the rounded p/q.
        coeff, rest = expr.as_coeff_Mul()
        if self.extended or not isinstance(coeff, sp.Rational) or coeff.q == 1 or rest == 1:
            return super()._print_Mul(expr)
        body = self.parenthesize(rest, 50)  # Mul's precedence
        num = "" if coeff.p == 1 else ("-" if coeff.p == -1 else f"{coeff.p}*")
        return f"{num}{body}/{coeff.q}"

    def _print_Half(self, expr: sp.Rational) -> str:
        return self._print_Rational(expr)

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "_rt.PI" if self.extended else super()._print_Pi(expr)

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "_rt.E" if self.extended else super()._print_Exp1(expr)

    def _print_Pow(self, expr: sp.Expr, rational: bool = False) -> str:
        if self.extended and expr.base.is_Number and expr.exp == sp.S.Half:
            return f"numpy.sqrt(_rt.L({self._print(expr.base)}))"
        if expr.exp == -1 and not expr.base.is_Number:
            # a reciprocal as a division: NumPy's power with exponent -1.0 costs ~10x.  (Other
            # negative powers stay powers: 1/b**2 would overflow b**2 where b**-2 is a
            # subnormal number, softsign's derivative at |x| = 1e159.)
            base = self.parenthesize(expr.base, 60)  # above Pow's precedence: a sum gets parentheses
            if self.extended and expr.base.is_Symbol and expr.base.name not in self.arrays:
                # a scalar parameter arrives as a float64: its reciprocal taken there would
                # overflow for a subnormal parameter (gaussian_nll_loss's eps = 1e-310)
                return f"_rt.L(1)/{base}"
            return f"1/{base}"
        return super()._print_Pow(expr, rational=rational)

    def _print_erf(self, expr: sp.Expr) -> str:
        return f"_rt.erf({self._print(expr.args[0])})"

    def _print_erfc(self, expr: sp.Expr) -> str:
        return f"_rt.erfc({self._print(expr.args[0])})"

    def _print_Ncdf(self, expr: sp.Expr) -> str:
        return f"_rt.ncdf({self._print(expr.args[0])})"

    def _print_Npdf(self, expr: sp.Expr) -> str:
        return f"_rt.npdf({self._print(expr.args[0])})"

    def _print_SigmoidSlope(self, expr: sp.Expr) -> str:
        return f"_rt.sigmoid_slope({self._print(expr.args[0])})"

    def _print_XMinusTanh(self, expr: sp.Expr) -> str:
        return f"_rt.x_minus_tanh({self._print(expr.args[0])})"

    def _print_Max(self, expr: sp.Expr) -> str:
        return self._fold("numpy.maximum", expr.args)

    def _print_Min(self, expr: sp.Expr) -> str:
        return self._fold("numpy.minimum", expr.args)

    def _fold(self, fn: str, args: tuple[sp.Expr, ...]) -> str:
        # Nested two-argument calls read better than functools.reduce over a list; NaN
        # propagates through numpy.maximum / numpy.minimum as it does through torch's.
        out = self._print(args[0])
        for a in args[1:]:
            out = f"{fn}({out}, {self._print(a)})"
        return out

    # And / Or as nested two-argument calls: logical_and.reduce over a tuple first stacks the
    # masks into a new array (measured 1.3 ns an entry against 0.03 for logical_and itself).
    def _print_And(self, expr: sp.Expr) -> str:
        return self._fold("numpy.logical_and", expr.args) if self.pointwise else super()._print_And(expr)

    def _print_Or(self, expr: sp.Expr) -> str:
        return self._fold("numpy.logical_or", expr.args) if self.pointwise else super()._print_Or(expr)

    # choice-free forms (``.minmax``): max / min, whose proofs rule out ties of opposite zeros, so
    # through nnref/_minmax.py (a scalar operand as a constant array: NumPy's two-array loop), the
    # -0 normalisation, the run-time test
    def _print_FMax(self, expr: sp.Expr) -> str:
        return self._fold("_rt.maximum", expr.args)

    def _print_FMin(self, expr: sp.Expr) -> str:
        return self._fold("_rt.minimum", expr.args)

    def _print_PlusZero(self, expr: sp.Expr) -> str:
        return f"({self._print(expr.args[0])} + 0.0)"

    def _print_Scalar(self, expr: sp.Expr) -> str:
        return f"_rt.scalar({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Outside(self, expr: sp.Expr) -> str:
        return f"{self._print(expr.args[0])}*numpy.logical_not({self._print(expr.args[1])})"

    def _print_Blend(self, expr: sp.Expr) -> str:
        cond, a, b = (self._print(v) for v in expr.args)
        return f"{cond}*({a} - {b}) + {b}"

    def _print_Dispatch(self, expr: sp.Expr) -> str:
        test, fast, slow = expr.args
        return f"({self._print(fast)} if {self._scalar_test(test)} else {self._print(slow)})"

    def _scalar_test(self, test: Any) -> str:
        """A condition on scalars as Python's own operators (NumPy's would make arrays)."""
        if isinstance(test, sp.And):
            return " and ".join(self._scalar_test(a) for a in test.args)
        if type(test).__name__ == "RoundTrips":
            # a finite constant a needs no finiteness test: an infinite a - b plus b is ±inf or NaN
            a, b = (self._print(v) for v in test.args)
            finite = "" if test.args[0].is_Number else f"abs({a} - {b}) < numpy.inf and "
            return f"{finite}({a} - {b}) + {b} == {a}"
        ops = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.Equality: "==", sp.Unequality: "!=",
               sp.StrictGreaterThan: ">", sp.GreaterThan: ">="}
        return f"{self._print(test.lhs)} {ops[type(test)]} {self._print(test.rhs)}"

    def _print_Outcomes(self, expr: sp.Expr) -> str:
        a, b, mask = expr.args
        return print_outcomes(self._print(a), self._print(b), int(mask))

    def _print_Quotient(self, expr: sp.Expr) -> str:
        # parenthesised whole: a factor beside it must not bind to its numerator
        num, den = expr.args
        return f"({self.parenthesize(num, 50)}/{self.parenthesize(den, 51)})"

    def _print_IsInf(self, expr: sp.Expr) -> str:
        return f"numpy.isinf({self._print(expr.args[0])})"

    def _print_IsNaN(self, expr: sp.Expr) -> str:
        return f"numpy.isnan({self._print(expr.args[0])})"

    def _print_xlogy(self, expr: sp.Expr) -> str:
        return f"_rt.xlogy({self._print(expr.args[0])}, {self._print(expr.args[1])})"


def print_block(exprs: dict[str, sp.Expr], indent: str = "        ", extended: bool = True,
                arrays: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """Common-subexpression-eliminated assignments, then one printed expression per key.

    A piecewise formula with a costly branch (``costly``) is set aside before the
    elimination, so that no exponential of a branch is hoisted out and computed on every
    element, and printed as ``_rt.pw``: each branch evaluated only where it is selected.
    ``arrays`` names the kernel's array arguments (the rest are scalars); ``extended``
    prints exact constants in extended precision (for kernels that run there).

    Returns (lines of temporaries, {key: printed expression}).
    """
    printer = EnginePrinter(extended=extended, arrays=arrays)
    printer.pointwise = True
    keys = list(exprs)
    held: dict[sp.Symbol, sp.Piecewise] = {}
    names = sp.numbered_symbols("pw")

    def hold(e: sp.Expr) -> sp.Expr:
        if isinstance(e, sp.Piecewise) and masked(e, extended):
            s = next(names)
            held[s] = flatten(e)
            return s
        if not e.args or isinstance(e, sp.Piecewise):
            return e
        return rebuild(e, [hold(a) for a in e.args])

    def merged(e: sp.Expr) -> sp.Expr:
        if not e.args:
            return e
        if isinstance(e, sp.Piecewise):
            m = merge_outcomes(drop_shadowed(e, set(arrays)), set(arrays))
            slow = sp.Piecewise(*((merged(v), c) for v, c in m.args), evaluate=False)
            return choice_free(e, slow, set(arrays), extended)
        return rebuild(e, [merged(a) for a in e.args])

    # A run-time test's fallback (``Dispatch``) is set aside before the elimination too, and
    # printed in place whole: a temporary hoisted out of it would be computed on every call,
    # also where the choice-free form is taken (softshrink's -x, a pass over the data).
    slows: dict[sp.Symbol, sp.Expr] = {}

    def lazy(e: sp.Expr) -> sp.Expr:
        if isinstance(e, Dispatch) and isinstance(e.args[2], Dispatch):  # a second choice-free form
            return Dispatch(e.args[0], lazy(e.args[1]), lazy(e.args[2]))
        if isinstance(e, Dispatch):
            s = sp.Symbol(f"_fallback{len(slows)}_")
            slows[s] = e.args[2]
            return Dispatch(e.args[0], lazy(e.args[1]), s)
        if not e.args or isinstance(e, sp.Piecewise):
            return e
        return rebuild(e, [lazy(a) for a in e.args])

    reduced_in = [lazy(hold(merged(share_exponentials(flatten_all(exprs[k]))))) for k in keys]
    temps, reduced = sp.cse(reduced_in, symbols=sp.numbered_symbols("t"), optimizations=None)
    # temporaries and set-aside piecewise results are arrays too
    printer.arrays = (*arrays, *(str(name) for name, _ in temps), *(str(name) for name in held))
    lines = [f"{indent}{printer.doprint(name)} = {printer.doprint(pw)}" for name, pw in held.items()]
    lines += [f"{indent}{printer.doprint(name)} = {printer.doprint(value)}" for name, value in temps]
    printed = {k: printer.doprint(e) for k, e in zip(keys, reduced)}
    for s, slow in slows.items():
        printed = {k: v.replace(printer.doprint(s), printer.doprint(slow)) for k, v in printed.items()}
    return lines, printed


# Functions worth not evaluating where their branch is not selected (each costs 10-50 times
# a multiplication); sums, products, comparisons are cheaper to compute everywhere.
_COSTLY = ("exp", "log", "tanh", "erf", "erfc", "Ncdf", "Npdf", "XMinusTanh", "SigmoidSlope", "xlogy", "log1p", "expm1")


def masked(e: sp.Expr, extended: bool) -> bool:
    """Whether a piecewise formula is evaluated branch by branch (``_rt.pw``): where a branch
    calls one of the runtime's special functions.  Selecting elements costs ~5 ns each on
    mixed signs, more than a float64 exponential (SIMD, ~1 ns); and the stable forms share
    their one exponential between branches (e^{-|x|}), which the common-subexpression pass
    computes once, so other branches are evaluated everywhere and chosen by numpy.where.
    ``extended`` is kept for the printers' signature (the choice does not depend on it)."""
    del extended
    return any(type(f).__name__ in _SPECIAL for f in e.atoms(sp.Function))


_SPECIAL = ("erf", "erfc", "Ncdf", "Npdf", "XMinusTanh")


def costly(e: sp.Expr) -> bool:
    if any(type(f).__name__ in _COSTLY for f in e.atoms(sp.Function)):
        return True
    return any(isinstance(a, sp.Pow) and not a.exp.is_Integer for a in e.atoms(sp.Pow))


def flatten(pw: sp.Piecewise) -> sp.Piecewise:
    """One level of branches: a piecewise formula in the last (otherwise) branch is spliced
    in, a condition already tested earlier is dropped (it can no longer be selected), and
    nothing follows an always-true condition."""
    pairs: list[tuple[sp.Expr, Any]] = []
    seen: set[Any] = set()
    todo = list(pw.args)
    while todo:
        value, cond = todo.pop(0)
        if cond == sp.true and isinstance(value, sp.Piecewise):
            todo = list(value.args)
            continue
        if cond in seen:
            continue
        seen.add(cond)
        pairs.append((value, cond))
        if cond == sp.true:
            break
    return sp.Piecewise(*pairs, evaluate=False)


def rebuild(e: sp.Expr, args: list[sp.Expr]) -> sp.Expr:
    """``e`` with new arguments, left unevaluated: SymPy would otherwise distribute a
    stable rewrite's (x + 3)/6 back into x/6 + 1/2, the cancelling form it replaces."""
    if all(a is b for a, b in zip(args, e.args)):
        return e
    try:
        return e.func(*args, evaluate=False)
    except TypeError:
        return e.func(*args)


def flatten_all(e: sp.Expr) -> sp.Expr:
    """``flatten`` at every level, Heaviside spelled out as the piecewise formula it is."""
    e = e.replace(sp.Heaviside, lambda *a: sp.Heaviside(*a).rewrite(sp.Piecewise))
    return _flatten_all(e)


def _flatten_all(e: sp.Expr) -> sp.Expr:
    if not e.args:
        return e
    e = rebuild(e, [_flatten_all(a) for a in e.args]) if not isinstance(e, sp.Piecewise) else sp.Piecewise(
        *((_flatten_all(v), c) for v, c in e.args), evaluate=False)
    return flatten(e) if isinstance(e, sp.Piecewise) else e


# The operator of a printed expression's outermost step, as the ufunc that Python's operator
# calls on arrays: ``a * b`` is numpy.multiply(a, b), evaluated in the same order.
_UFUNC_OF = {ast.Mult: "numpy.multiply", ast.Add: "numpy.add", ast.Sub: "numpy.subtract",
             ast.Div: "numpy.true_divide", ast.Pow: "numpy.power"}
_TAKES_OUT = ("numpy.", "_rt.where", "_rt.maximum", "_rt.minimum")
_NOT_UFUNCS = ("numpy.where", "numpy.select", "numpy.full", "numpy.logical_and.reduce", "numpy.logical_or.reduce")


def into(src: str, out: str) -> str:
    """``src`` (a printed NumPy expression) with its last operation writing into ``out``:
    the outermost ``a * b`` becomes ``numpy.multiply(a, b, out=out)``, a ufunc call (or
    ``_rt.where``, ``_rt.maximum``, ``_rt.minimum``) gets ``out=out``.  The blocked kernels then
    fill the caller's array block by block instead of a temporary that is copied there (one pass
    over the data fewer; for a cheap kernel a quarter of its time).  The same operations in the
    same order, so the same bits; an outermost step that cannot write into an array is left as
    it is (the caller copies)."""
    tree = ast.parse(src, mode="eval").body
    if isinstance(tree, ast.IfExp):  # a run-time test between two forms: each writes into out
        return (f"({into(ast.unparse(tree.body), out)} if {ast.unparse(tree.test)}"
                f" else {into(ast.unparse(tree.orelse), out)})")
    if isinstance(tree, ast.BinOp) and type(tree.op) in _UFUNC_OF:
        right = tree.right
        if (isinstance(tree.op, ast.Mult) and isinstance(tree.left, ast.Name) and isinstance(right, ast.Call)
                and ast.unparse(right.func) == "_rt.table" and len(right.args) == 2 and not right.keywords):
            # a table that only scales an array is made for that product (``_rt.table``'s like):
            # a lone mask stays bools, and constants exact in a float32 (float16) grad are
            # made in its dtype; the same bits
            right = ast.Call(right.func, [*right.args, tree.left], [])
        return f"{_UFUNC_OF[type(tree.op)]}({ast.unparse(tree.left)}, {ast.unparse(right)}, out={out})"
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        return f"numpy.negative({ast.unparse(tree.operand)}, out={out})"
    if isinstance(tree, ast.Call) and not tree.keywords:
        name = ast.unparse(tree.func)
        if name.startswith(_TAKES_OUT) and name not in _NOT_UFUNCS and name.count(".") == 1:
            args = ", ".join(ast.unparse(a) for a in tree.args)
            return f"{name}({args}, out={out})"
    return src


def _sign_said(cond: Any) -> tuple[sp.Expr, int] | None:
    """(u, +1) where ``cond`` says u >= 0 or u > 0, (u, -1) where it says u <= 0 or u < 0."""
    if isinstance(cond, (sp.GreaterThan, sp.StrictGreaterThan, sp.LessThan, sp.StrictLessThan)):
        up = 1 if isinstance(cond, (sp.GreaterThan, sp.StrictGreaterThan)) else -1
        if cond.rhs == 0:
            return cond.lhs, up
        if cond.lhs == 0:
            return cond.rhs, -up
    return None


def share_exponentials(e: sp.Expr) -> sp.Expr:
    """In a branch whose condition fixes the sign of u, e^u (u <= 0) or e^-u (u >= 0) is
    e^-|u|, the same number to the bit (NaN included).  Written so, a stable form's two branches
    (σ(x) = 1/(1 + e^-x) for x >= 0, e^x/(e^x + 1) below) share one exponential, which the
    common-subexpression pass then computes once: NumPy's float64 exp costs ~5-10 ns an entry on
    CPUs without AVX-512, more than everything else in those kernels.  A branch after earlier
    ones also knows their conditions failed (not u >= 0: u < 0 or NaN)."""
    if not e.args:
        return e
    if not isinstance(e, sp.Piecewise):
        return rebuild(e, [share_exponentials(a) for a in e.args])
    pairs, failed = [], []
    for value, cond in e.args:
        value = share_exponentials(value)
        signs = [s for s in [_sign_said(cond)] if s] + [(u, -sign) for u, sign in failed]
        for u, sign in signs:
            shared = value.xreplace({sp.exp(-u if sign > 0 else u): sp.exp(-sp.Abs(u))})
            if shared != value:
                value = _quotients(shared)
        pairs.append((value, cond))
        if (said := _sign_said(cond)) is not None:
            failed.append(said)
    return sp.Piecewise(*pairs, evaluate=False)


class Quotient(sp.Function):
    """a/b as one division.  Once two branches share e^-|u|, their 1/(1 + e) and e/(1 + e)
    have a common reciprocal, which the common-subexpression pass would hoist, computing
    e·(1/(1 + e)) with two roundings where the branch had one; as a Quotient it shares only
    1 + e, and each branch keeps its own single division (the same bits as before sharing)."""

    nargs = 2


def _quotients(e: sp.Expr) -> sp.Expr:
    if not e.args:
        return e
    if isinstance(e, sp.Mul):
        inverse = [f for f in e.args if isinstance(f, sp.Pow) and f.exp == -1 and not f.base.is_Number]
        if len(inverse) == 1 and len(e.args) > 1:
            rest = [_quotients(f) for f in e.args if f is not inverse[0]]
            return Quotient(sp.Mul(*rest, evaluate=False) if len(rest) > 1 else rest[0],
                            _quotients(inverse[0].base))
    return rebuild(e, [_quotients(a) for a in e.args])
