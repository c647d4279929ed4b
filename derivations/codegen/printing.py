"""SymPy -> NumPy source, readable, with the few functions NumPy lacks routed to nnref's runtime.

Owns: ``EnginePrinter`` and ``print_block``.  Imports: SymPy only.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter


class EnginePrinter(NumPyPrinter):
    """NumPy printer with nnref's choices.

    * ``erf`` and ``erfc`` go to ``_rt.erf`` / ``_rt.erfc`` (NumPy has none; ``nnref/_special.py``
      evaluates them vectorised, within 1 ulp), and the functions that name a stable
      evaluation (``Ncdf``, ``Npdf``, ``XMinusTanh``, see ``derivations/spec.py``) to theirs.
    * ``IsNaN`` prints as ``numpy.isnan``.
    * ``Heaviside`` keeps SymPy's H(0) = 1/2 (conventions override it where torch differs).
    """

    def __init__(self, settings: dict[str, Any] | None = None, extended: bool = True) -> None:
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        # False: constants as float64 (for code that never runs in extended precision)
        self.extended = extended

    # Exact constants (π, e, √2, p/q) print in extended precision: a kernel evaluated there
    # (``_rt.ext``) would otherwise carry the float64 rounding of every constant, which an
    # exponential amplifies (gelu's tanh form: e^{2u} with u ≈ −300 turns 1e-17 into 30 ulp).
    def _print_Rational(self, expr: sp.Rational) -> str:
        if not self.extended:
            return super()._print_Rational(expr)
        if expr.q == 1:
            return str(expr.p)
        return f"(_rt.L({expr.p})/{expr.q})"

    def _print_Half(self, expr: sp.Rational) -> str:
        return self._print_Rational(expr)

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "_rt.PI" if self.extended else super()._print_Pi(expr)

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "_rt.E" if self.extended else super()._print_Exp1(expr)

    def _print_Pow(self, expr: sp.Expr, rational: bool = False) -> str:
        if self.extended and expr.base.is_Number and expr.exp == sp.S.Half:
            return f"numpy.sqrt(_rt.L({self._print(expr.base)}))"
        return super()._print_Pow(expr, rational=rational)

    def _print_erf(self, expr: sp.Expr) -> str:
        return f"_rt.erf({self._print(expr.args[0])})"

    def _print_erfc(self, expr: sp.Expr) -> str:
        return f"_rt.erfc({self._print(expr.args[0])})"

    def _print_Ncdf(self, expr: sp.Expr) -> str:
        return f"_rt.ncdf({self._print(expr.args[0])})"

    def _print_Npdf(self, expr: sp.Expr) -> str:
        return f"_rt.npdf({self._print(expr.args[0])})"

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

    def _print_IsInf(self, expr: sp.Expr) -> str:
        return f"numpy.isinf({self._print(expr.args[0])})"

    def _print_IsNaN(self, expr: sp.Expr) -> str:
        return f"numpy.isnan({self._print(expr.args[0])})"

    def _print_xlogy(self, expr: sp.Expr) -> str:
        return f"_rt.xlogy({self._print(expr.args[0])}, {self._print(expr.args[1])})"


def print_block(exprs: dict[str, sp.Expr], indent: str = "        ") -> tuple[list[str], dict[str, str]]:
    """Common-subexpression-eliminated assignments, then one printed expression per key.

    Returns (lines of temporaries, {key: printed expression}).
    """
    printer = EnginePrinter()
    keys = list(exprs)
    temps, reduced = sp.cse([exprs[k] for k in keys], symbols=sp.numbered_symbols("t"),
                            optimizations=None)
    lines = [f"{indent}{printer.doprint(name)} = {printer.doprint(value)}" for name, value in temps]
    return lines, {k: printer.doprint(e) for k, e in zip(keys, reduced)}
