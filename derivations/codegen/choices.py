"""Piecewise formulas whose conditions all compare the same two things, rewritten with one
condition per distinct value.

A convention laid over a derivative often leaves a chain such as relu's
``0 if x == 0, 1 if isnan(x), 0 if x < 0, else 1``: three comparisons of x with 0 and a NaN
test, where the answer depends only on how x and 0 are ordered.  Two numbers compare in one of
four ways (less, equal, greater, or unordered when one is NaN), so the chain is a map from
those four outcomes to values, and each value needs at most one condition: relu's derivative
is ``1 where not x <= 0`` (greater or NaN), ``0`` elsewhere.  Conditions are kept as
``Outcomes`` (never SymPy's relations, which SymPy would simplify as real numbers: it turns
``not (x <= 0)`` into ``x > 0``, false for NaN).

A condition can also be shadowed: hardtanh's derivative says ``0 if x == max or x == min,
1 if min < x < max, else 0``; where the first holds the second never does, and the last
value is 0 anyway, so the first test can go (``drop_shadowed``).

Owns: ``merge_outcomes``, ``drop_shadowed`` and the ``Outcomes`` condition.  Imports: SymPy only.
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanFunction

LT, EQ, GT, UN = 1, 2, 4, 8  # a < b, a == b, a > b, unordered (a NaN on either side)
_ALL = LT | EQ | GT | UN
# which outcomes each relation (read as a OP b) holds for, NumPy's semantics: False for NaN
# except !=
_HOLDS = {sp.StrictLessThan: LT, sp.LessThan: LT | EQ, sp.Equality: EQ, sp.GreaterThan: GT | EQ,
          sp.StrictGreaterThan: GT, sp.Unequality: LT | GT | UN}
_SWAP = {LT: GT, GT: LT, EQ: EQ, UN: UN}


class Outcomes(BooleanFunction):
    """True where a and b compare in one of the outcomes of ``mask`` (LT | EQ | GT | UN bits)."""

    @classmethod
    def eval(cls, *args: Any) -> None:  # never evaluated: SymPy would reason as for real numbers
        return None


def _pairs(conds: list[Any]) -> list[tuple[Any, Any]]:
    seen: dict[frozenset[Any], tuple[Any, Any]] = {}
    for c in conds:
        for r in c.atoms(sp.core.relational.Relational):
            seen.setdefault(frozenset((r.lhs, r.rhs)), (r.lhs, r.rhs))
    return list(seen.values())


def _truth(cond: Any, pairs: list[tuple[Any, Any]], outcomes: tuple[int, ...], arrays: set[str]) -> bool | None:
    """cond's value when each pair compares as its outcome; None if cond looks at anything
    else.  isnan(a) reads the first pair with a as a side (every pair with a NaN side is
    unordered, so each real input is among the combinations tried)."""
    if cond in (sp.true, sp.false):
        return bool(cond)
    if isinstance(cond, sp.Not):
        inner = _truth(cond.args[0], pairs, outcomes, arrays)
        return None if inner is None else not inner
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [_truth(c, pairs, outcomes, arrays) for c in cond.args]
        if None in parts:
            return None
        return all(parts) if isinstance(cond, sp.And) else any(parts)
    for pair, outcome in zip(pairs, outcomes):
        if type(cond) in _HOLDS and frozenset((cond.lhs, cond.rhs)) != frozenset(pair):
            continue
        if type(cond).__name__ == "IsNaN" and cond.args[0] not in pair:
            continue
        return _atom(cond, pair, outcome, arrays)
    return None


def drop_shadowed(pw: sp.Piecewise, arrays: set[str]) -> sp.Piecewise:
    """``pw`` without the conditions whose value is the last one's and that no later
    condition with another value can share an input with (then those inputs fall through to
    the same value).  Decided over every combination of outcomes of the compared pairs, a
    superset of what real inputs can do, so a test is dropped only when it cannot matter."""
    conds = [c for _, c in pw.args[:-1]]
    pairs = _pairs(conds)
    if not conds or pw.args[-1][1] != sp.true or not 0 < len(pairs) <= 3:
        return pw
    combos = list(itertools.product((LT, EQ, GT, UN), repeat=len(pairs)))
    table = []
    for c in conds:
        row = [_truth(c, pairs, o, arrays) for o in combos]
        if None in row:
            return pw
        table.append(row)
    default = pw.args[-1][0]
    keep = []
    for i, (value, cond) in enumerate(pw.args[:-1]):
        shadowed = value == default and all(
            not any(a and b for a, b in zip(table[i], table[j]))
            for j in range(i + 1, len(conds)) if pw.args[j][0] != value)
        if not shadowed:
            keep.append((value, cond))
    if len(keep) == len(conds):
        return pw
    return sp.Piecewise(*keep, (default, True), evaluate=False)


def _flip(mask: int) -> int:
    return sum(_SWAP[bit] for bit in (LT, EQ, GT, UN) if mask & bit)


def _atom(cond: Any, pair: tuple[Any, Any], outcome: int, arrays: set[str]) -> bool | None:
    """A relation's or NaN test's value when pair[0] and pair[1] compare as ``outcome``;
    None if it looks at anything else."""
    if type(cond) in _HOLDS:
        mask = _HOLDS[type(cond)]
        if (cond.lhs, cond.rhs) == pair:
            return bool(mask & outcome)
        if (cond.rhs, cond.lhs) == pair:
            return bool(_flip(mask) & outcome)
        return None
    if type(cond).__name__ == "IsNaN":
        # isnan(a) is "unordered" only where b cannot be NaN: a number or a (checked) parameter
        u = cond.args[0]
        other = pair[1] if u == pair[0] else pair[0] if u == pair[1] else None
        if other is None or not (other.is_Number or (other.is_Symbol and other.name not in arrays)):
            return None
        return outcome == UN
    return None


def _pair(conds: list[Any]) -> tuple[Any, Any] | None:
    """The two things every relation among the conditions compares, if there is one pair."""
    pairs = {frozenset((r.lhs, r.rhs)) for c in conds for r in c.atoms(sp.core.relational.Relational)}
    if len(pairs) != 1:
        return None
    first = next(r for c in conds for r in c.atoms(sp.core.relational.Relational))
    return first.lhs, first.rhs


def _atoms(conds: list[Any]) -> int:
    return sum(len(c.atoms(sp.core.relational.Relational)) + sum(
        1 for a in sp.preorder_traversal(c) if type(a).__name__ == "IsNaN") for c in conds)


def merge_outcomes(pw: sp.Piecewise, arrays: set[str]) -> sp.Piecewise:
    """``pw`` with one ``Outcomes`` condition per distinct value, where all its conditions
    compare one pair (and test it for NaN) and that takes fewer tests; else ``pw`` itself."""
    conds = [c for _, c in pw.args]
    pair = _pair(conds)
    if pair is None or pw.args[-1][1] != sp.true:
        return pw
    chosen: dict[Any, int] = {}
    for outcome in (LT, EQ, GT, UN):
        for value, cond in pw.args:
            truth = _truth(cond, [pair], (outcome,), arrays)
            if truth is None:
                return pw
            if truth:
                chosen[value] = chosen.get(value, 0) | outcome
                break
    values = list(chosen)
    if len(values) - 1 >= _atoms(conds[:-1]):
        return pw
    # the value left without a condition is best one whose outcomes need two tests (or a not)
    values.sort(key=lambda v: chosen[v] not in _ONE)
    pairs = [(v, Outcomes(*pair, sp.Integer(chosen[v]))) for v in values[:-1]]
    return sp.Piecewise(*pairs, (values[-1], True), evaluate=False)


# the outcome sets one NumPy comparison tests
_ONE = {LT: "numpy.less", LT | EQ: "numpy.less_equal", EQ: "numpy.equal", GT | EQ: "numpy.greater_equal",
        GT: "numpy.greater", LT | GT | UN: "numpy.not_equal"}


def print_outcomes(a: str, b: str, mask: int) -> str:
    """NumPy source for "a and b compare in one of ``mask``'s outcomes", one or two tests."""
    one = _ONE
    if mask in one:
        return f"{one[mask]}({a}, {b})"
    if _ALL & ~mask in one:
        return f"numpy.logical_not({one[_ALL & ~mask]}({a}, {b}))"
    if mask == UN:
        return f"numpy.logical_not(numpy.logical_or(numpy.less_equal({a}, {b}), numpy.greater({a}, {b})))"
    if mask == _ALL & ~UN:
        return f"numpy.logical_or(numpy.less_equal({a}, {b}), numpy.greater({a}, {b}))"
    if mask == LT | GT:
        return f"numpy.logical_or(numpy.less({a}, {b}), numpy.greater({a}, {b}))"
    if mask == EQ | UN:
        return f"numpy.logical_not(numpy.logical_or(numpy.less({a}, {b}), numpy.greater({a}, {b})))"
    raise ValueError(f"no outcomes to test: {mask}")  # 0 and all four are not conditions
