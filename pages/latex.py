"""SymPy's LaTeX as the pages print it.

Owns: ``DocLatexPrinter`` (names a reader recognises) and ``tex``, the one way every page turns
a SymPy expression into LaTeX.  Imports: SymPy only; no page module.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter, greek_letters_set

# Parameter and step names that read better as words or as a Greek letter.
SYMBOL_TEX = {"lambd": r"\lambda"}


class DocLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with names a reader recognises.

    * Heaviside prints as H(x) (SymPy's default is θ, easily read as an angle);
    * multi-letter names (negative_slope, class_weight, grad_input) print as text;
    * long floats are shown to 15 digits, and huge exact fractions (a float constant
      held exactly) as a decimal.
    """

    def _print_Heaviside(self, expr: sp.Expr, exp: Any = None) -> str:
        tex = r"H\left(%s\right)" % self._print(expr.args[0])
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        name = expr.name
        if name in SYMBOL_TEX:
            return SYMBOL_TEX[name]
        if re.fullmatch(r"[A-Za-z]\d*|[A-Za-z]_[A-Za-z0-9]+", name) or name in greek_letters_set:
            return super()._print_Symbol(expr, style)
        return r"\text{%s}" % name.replace("_", r"\_")

    def _print_Float(self, expr: sp.Float) -> str:
        if expr._prec > 53:
            expr = sp.Float(float(expr), 15)
        return super()._print_Float(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q > 10 ** 6:
            return self._print_Float(sp.Float(expr, 10))
        return super()._print_Rational(expr)


def tex(expr: Any) -> str:
    # A thin space between factors: names printed as words (class_weight, target) would
    # otherwise run together.
    return DocLatexPrinter({"mul_symbol": r"\,"}).doprint(sp.sympify(expr)).strip()
