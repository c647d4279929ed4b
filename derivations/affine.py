"""Affine-indexed sums: SymPy's derivative of an index formula, split into terms.

An op such as convolution is stated as an index formula over SymPy ``IndexedBase`` arrays,

    y[n, γ, o, i] = Σ_c Σ_k x[n, γ, c, s·i + d·k − p] · w[γ, o, c, k] + b[γ, o],

in which every array reads as **zero outside its index range** (that is what zero padding
is) and every index is an affine function of the index letters, with symbolic strides,
dilations and paddings.  This module

* differentiates ⟨g, y⟩ with respect to one entry of an operand with ``sympy.diff`` and
  removes the Kronecker deltas SymPy produces where a summation letter can be solved for
  (``vjp``): what remains is a gather form (the operand's index letters are free) or a
  scatter form (a delta ties the operand's index to an affine index, e.g. j = s·i + d·k − p);
* splits a formula into ``Term``s: a target with affine indices, at most two factors with
  affine indices, the summation letters (``terms``);
* (``derivations/codegen/index.py`` prints every term as NumPy calls to
  ``nnref/_affine.py``: gather, batched matrix product, scatter);
* evaluates a formula on concrete arrays (``evaluate``), for the exact checks.

Nothing here is specific to convolution: pooling's windows are the same affine reads.
Owns: the index algebra (no printing).  Imports: SymPy and NumPy only.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.tensor.indexed import Indexed

# ----------------------------------------------------------------------------- derivation


def flatten(expr: sp.Expr) -> tuple[sp.Expr, list[tuple[Any, ...]]]:
    """A product of (nested) sums as one summand and one list of limits."""
    if isinstance(expr, sp.Sum):
        inner, limits = flatten(expr.function)
        return inner, list(expr.limits) + limits
    if isinstance(expr, sp.Mul):
        factors, limits = [], []
        for arg in expr.args:
            f, lim = flatten(arg)
            factors.append(f)
            limits += lim
        return sp.Mul(*factors), limits
    return expr, []


def _plain_letters(summand: sp.Expr) -> set[sp.Symbol]:
    """Letters that appear alone as an index of some array factor (so their range is that
    array's axis, and reading the array outside it gives zero)."""
    out = set()
    for f in sp.Mul.make_args(summand):
        if isinstance(f, Indexed):
            out |= {i for i in f.indices if isinstance(i, sp.Symbol)}
    return out


def eliminate_deltas(expr: sp.Expr) -> sp.Expr:
    """Sum out every Kronecker delta that fixes a summation letter.

    Σ_v F(v) δ(a, b) with a − b = ±v + (rest free of v) is F(v*) at v* = the solution.  The
    letter's range is dropped: either v* is the index of the entry differentiated at (which
    runs over the same axis as v), or v indexes an array axis of exactly that range and the
    array reads as zero outside it, so F(v*) is already 0 where v* falls outside.  Deltas
    that fix no letter with coefficient ±1 (j = s·i + d·k − p with symbolic s, d) stay:
    they say where the result is written.
    """
    terms = []
    for add_term in sp.Add.make_args(sp.expand(expr, mul=False, multinomial=False, power_exp=False,
                                               power_base=False, log=False, deep=False)):
        summand, limits = flatten(add_term)
        changed = True
        while changed:
            changed = False
            letters = [lim[0] for lim in limits]
            for delta in [f for f in sp.Mul.make_args(summand) if isinstance(f, sp.KroneckerDelta)]:
                diff = delta.args[0] - delta.args[1]
                for v in letters:
                    coeff = sp.diff(diff, v)
                    if coeff not in (1, -1) or sp.diff(diff, v, 2) != 0:
                        continue
                    rest = diff - coeff * v
                    if rest.has(v):
                        continue
                    solution = -rest / coeff
                    # Dropping v's range is sound when the solution is the entry's own index
                    # (it ranges over the same axis), or when v indexes an array axis alone
                    # (which reads zero wherever the solution leaves v's range).
                    assert (isinstance(solution, sp.Symbol) and solution not in letters) or \
                        v in _plain_letters(summand), f"{v} indexes no array axis alone in {summand}"
                    summand = (summand / delta).xreplace({v: solution})
                    limits = [lim for lim in limits if lim[0] != v]
                    changed = True
                    break
                if changed:
                    break
        terms.append(sp.Sum(summand, *limits) if limits else summand)
    return sp.Add(*terms)


def vjp(y: sp.Expr, out_index: tuple[Any, ...], out_limits: list[tuple[Any, ...]],
        operand: sp.IndexedBase, target: tuple[sp.Symbol, ...], g: sp.IndexedBase) -> tuple[sp.Expr, sp.Expr]:
    """SymPy's derivative of ⟨g, y⟩ = Σ g[out]·y[out] with respect to operand[target],
    as SymPy gives it (with Kronecker deltas) and with the deltas summed out."""
    inner = sp.Sum(g[out_index] * y, *out_limits)
    raw = sp.diff(inner, operand[target])
    return raw, eliminate_deltas(raw)


# ----------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Affine:
    """offset + Σ coeff·letter, in index letters (SymPy symbols) with symbolic coefficients."""

    offset: sp.Expr
    coeffs: tuple[tuple[sp.Symbol, sp.Expr], ...]

    @property
    def letter(self) -> sp.Symbol | None:
        """The letter when the index is that letter alone."""
        if self.offset == 0 and len(self.coeffs) == 1 and self.coeffs[0][1] == 1:
            return self.coeffs[0][0]
        return None

    def expr(self) -> sp.Expr:
        return self.offset + sum((c * v for v, c in self.coeffs), sp.S.Zero)


def affine(expr: sp.Expr, letters: set[sp.Symbol]) -> Affine:
    expr = sp.sympify(expr)
    used = sorted((v for v in expr.free_symbols if v in letters), key=str)
    coeffs = []
    for v in used:
        c = sp.diff(expr, v)
        if c.free_symbols & letters:
            raise ValueError(f"index {expr} is not affine in the letters")
        coeffs.append((v, c))
    offset = sp.expand(expr - sum((c * v for v, c in coeffs), sp.S.Zero))
    if offset.free_symbols & letters:
        raise ValueError(f"index {expr} is not affine in the letters")
    return Affine(offset, tuple(coeffs))


@dataclass(frozen=True)
class Factor:
    name: str
    index: tuple[Affine, ...]


@dataclass(frozen=True)
class Term:
    """target[target_index] += Π factors, summed over every letter."""

    factors: tuple[Factor, ...]
    target_index: tuple[Affine, ...]
    coefficient: sp.Expr = sp.S.One


def terms(expr: sp.Expr, target: tuple[sp.Symbol, ...], letters: set[sp.Symbol]) -> list[Term]:
    """Split a formula for target[target...] into terms.  A delta δ(t, e) left in a term
    with a target letter t means that term writes to index e on t's axis."""
    out = []
    for add_term in sp.Add.make_args(expr):
        summand, _ = flatten(add_term)
        factors, coeff, where = [], sp.S.One, {}
        for f in sp.Mul.make_args(summand):
            if isinstance(f, Indexed):
                factors.append(Factor(str(f.base), tuple(affine(i, letters) for i in f.indices)))
            elif isinstance(f, sp.KroneckerDelta):
                a, b = f.args
                t, e = (a, b) if a in target else (b, a)
                if t not in target:
                    raise ValueError(f"delta {f} ties no target letter")
                where[t] = e
            elif not (f.free_symbols & letters):
                coeff *= f
            else:
                raise ValueError(f"cannot print factor {f}")
        index = tuple(affine(where.get(t, t), letters) for t in target)
        out.append(Term(tuple(factors), index, coeff))
    # The product terms first: a term of one array that only broadcasts (a bias) adds into them.
    return sorted(out, key=lambda term: -len(term.factors))


# ----------------------------------------------------------------------------- evaluation


def evaluate(expr: sp.Expr, arrays: dict[str, np.ndarray], env: dict[sp.Symbol, int]) -> Any:
    """The formula's value at concrete letters and parameters (``env``), with the arrays
    given (object arrays of SymPy symbols, or numbers), reading zero outside every array."""
    if isinstance(expr, sp.Sum):
        limits = [(v, int(evaluate(lo, arrays, env)), int(evaluate(hi, arrays, env))) for v, lo, hi in expr.limits]
        total = sp.S.Zero
        for values in itertools.product(*(range(lo, hi + 1) for _, lo, hi in limits)):
            inner = {**env, **{v: val for (v, _, _), val in zip(limits, values)}}
            total += evaluate(expr.function, arrays, inner)
        return total
    if isinstance(expr, Indexed):
        arr = arrays[str(expr.base)]
        idx = [int(evaluate(i, arrays, env)) for i in expr.indices]
        if any(not 0 <= i < n for i, n in zip(idx, arr.shape)):
            return sp.S.Zero
        return arr[tuple(idx)]
    if isinstance(expr, sp.KroneckerDelta):
        a, b = (int(evaluate(v, arrays, env)) for v in expr.args)
        return sp.S.One if a == b else sp.S.Zero
    if isinstance(expr, sp.Add):
        return sp.Add(*(evaluate(a, arrays, env) for a in expr.args))
    if isinstance(expr, sp.Mul):
        out = sp.S.One
        for a in expr.args:
            v = evaluate(a, arrays, env)
            if v == 0:
                return sp.S.Zero
            out *= v
        return out
    if isinstance(expr, sp.Piecewise):
        for value, cond in expr.args:
            if bool(cond.xreplace({k: sp.Integer(v) for k, v in env.items()})):
                return evaluate(value, arrays, env)
        raise ValueError(f"no branch of {expr} holds")
    if isinstance(expr, sp.Pow) and expr.has(Indexed, sp.Sum):
        return evaluate(expr.base, arrays, env) ** evaluate(expr.exp, arrays, env)
    if isinstance(expr, sp.floor):
        return sp.floor(evaluate(expr.args[0], arrays, env))
    if isinstance(expr, sp.Symbol):
        return env[expr]
    if expr.is_Number:
        return expr
    if not expr.has(Indexed, sp.Sum, sp.KroneckerDelta):
        return expr.xreplace({k: sp.Integer(v) for k, v in env.items()})
    raise ValueError(f"cannot evaluate {expr}")
