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
      held exactly) as a decimal;
    * a fraction that is a short decimal (gelu's 8943/200000) prints as that decimal,
      0.044715, the number papers and torch quote; small ones (1/2, 3/4) stay fractions.
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
        decimal = _short_decimal(expr)
        return decimal if decimal is not None else super()._print_Rational(expr)

    def _print_Mul(self, expr: sp.Expr, **kwargs: Any) -> str:
        coeff, rest = expr.as_coeff_Mul()
        decimal = _short_decimal(coeff) if isinstance(coeff, sp.Rational) else None
        # A pure denominator (3/(1000 x)) reads better as SymPy's one fraction.
        if decimal is None or rest == 1 or sp.fraction(rest)[0] == 1:
            return super()._print_Mul(expr, **kwargs)
        if isinstance(rest, sp.Mul):
            body = super()._print_Mul(rest, **kwargs)
        elif self._needs_mul_brackets(rest, last=True):  # a sum, a Mod, a Piecewise: bracketed
            body = r"\left(%s\right)" % self._print(rest)
        else:
            body = self._print(rest)
        return f"- {decimal[1:]}\\,{body}" if decimal.startswith("-") else f"{decimal}\\,{body}"


def _short_decimal(q: sp.Rational) -> str | None:
    """q as its exact decimal when that is short (at most 6 significant digits) and the
    denominator is between 1000 and 10**6 (8943/200000 -> 0.044715, not 7/1024 nor 1/10**9,
    which ``_print_Rational`` writes in scientific notation); None otherwise."""
    if not 1000 <= q.q <= 10 ** 6:
        return None
    places = next((k for k in range(13) if 10 ** k % q.q == 0), None)
    if places is None:
        return None
    scaled = abs(q.p) * 10 ** places // q.q
    if len(str(scaled).strip("0")) > 6:
        return None
    whole, frac = divmod(scaled, 10 ** places)
    return ("-" if q.p < 0 else "") + f"{whole}.{frac:0{places}d}"


def tex(expr: Any) -> str:
    # A thin space between factors: names printed as words (class_weight, target) would
    # otherwise run together.
    return DocLatexPrinter({"mul_symbol": r"\,"}).doprint(sp.sympify(expr)).strip()
