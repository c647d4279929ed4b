"""Affine-indexed sums: SymPy's derivative of an index formula, split into terms, printed as NumPy.

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
* prints every term as NumPy calls to ``nnref/_affine.py`` — ``gather`` for a factor read
  at affine indices (im2col), ``gemm`` for the product of two factors (a batched matrix
  product), ``scatter`` for a target written at affine indices (col2im) — see
  ``print_kernel``;
* evaluates a formula on concrete arrays (``evaluate``), for the exact checks.

Nothing here is specific to convolution: pooling's windows are the same affine reads.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.tensor.indexed import Indexed

from .printing import EnginePrinter

# ----------------------------------------------------------------------------- derivation


def _flatten(expr: sp.Expr) -> tuple[sp.Expr, list[tuple[Any, ...]]]:
    """A product of (nested) sums as one summand and one list of limits."""
    if isinstance(expr, sp.Sum):
        inner, limits = _flatten(expr.function)
        return inner, list(expr.limits) + limits
    if isinstance(expr, sp.Mul):
        factors, limits = [], []
        for arg in expr.args:
            f, lim = _flatten(arg)
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
        summand, limits = _flatten(add_term)
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
        summand, _ = _flatten(add_term)
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


# ----------------------------------------------------------------------------- printing


class IndexPrinter(EnginePrinter):
    """Prints symbolic strides, dilations and paddings as the kernel's argument entries."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.get(expr.name, expr.name)


@dataclass
class Output:
    """One result of a kernel: ``name`` = ``formula`` for ``array[target]``."""

    name: str
    formula: sp.Expr
    target: tuple[sp.Symbol, ...]
    shape: str  # how the kernel spells the result's shape, e.g. 'out_shape' or 'x.shape'
    into: str | None = None  # the kernel's argument naming an array to write the result into, if any


@dataclass
class Schedule:
    """How index letters become einsum letters, which letters are small (looped over by
    scatter: the kernel offsets), which arrays may be None, what each symbol prints as."""

    letters: dict[sp.Symbol, str]
    small: str
    optional: tuple[str, ...] = ()
    names: dict[str, str] | None = None


def index_text(ax: Affine, sched: Schedule) -> str:
    """An affine index as a comment shows it: s·i + d·k − p (long letters first)."""
    big = [(v, c) for v, c in ax.coeffs if sched.letters[v] not in sched.small]
    small = [(v, c) for v, c in ax.coeffs if sched.letters[v] in sched.small]
    parts = [f"{_name(v)}" if c == 1 else f"{_name(c)}·{_name(v)}" for v, c in big + small]
    text = " + ".join(parts)
    if ax.offset != 0:
        off = str(ax.offset).replace("*", "·")
        text = f"{text} - {off[1:]}" if off.startswith("-") else f"{text} + {off}"
    return text or "0"


def _name(e: sp.Expr) -> str:
    return str(e).replace("gamma", "γ").replace("*", "·")


def _index_code(index: tuple[Affine, ...], sched: Schedule, pr: IndexPrinter) -> str:
    parts = []
    for ax in index:
        if ax.letter is not None:
            parts.append(repr(sched.letters[ax.letter]))
        else:
            big = [(v, c) for v, c in ax.coeffs if sched.letters[v] not in sched.small]
            small = [(v, c) for v, c in ax.coeffs if sched.letters[v] in sched.small]
            steps = ", ".join(f"{sched.letters[v]}={pr.doprint(c)}" for v, c in big + small)
            parts.append(f"_af.at({pr.doprint(ax.offset)}, {steps})")
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _letters_of(index: tuple[Affine, ...], sched: Schedule) -> str:
    """An array's letters in its natural order: the plain axes first, then the small
    letters of the affine axes (kernel offsets), then their other letters (positions), so
    a gathered array keeps its long position axes innermost."""
    plain = [sched.letters[ax.letter] for ax in index if ax.letter is not None]
    small, big = [], []
    for ax in index:
        if ax.letter is None:
            for v, _ in ax.coeffs:
                (small if sched.letters[v] in sched.small else big).append(sched.letters[v])
    return "".join(plain + small + big)


def _gather_layout(f: Factor, other: str, out: str, sched: Schedule) -> str:
    """Axis order for a gathered factor so its product with ``other`` is few large matrix
    products without copying it: the batch letters (in the output's order), then the
    contracted letters (in the other factor's order, so both merge alike) and the free ones
    (in the output's order), whichever group holds the positions (the long letters of the
    affine indices) last, so the copy runs along them."""
    own = _letters_of(f.index, sched)
    positions = {sched.letters[v] for ax in f.index if ax.letter is None for v, _ in ax.coeffs
                 if sched.letters[v] not in sched.small}
    batch = [letter for letter in out if letter in own and letter in other]
    contracted = [letter for letter in other if letter in own and letter not in out]
    free = [letter for letter in out if letter in own and letter not in other]
    alone = [letter for letter in own if letter not in out and letter not in other]
    groups = [free, contracted] if positions & set(contracted) else [contracted, free]
    return "".join(alone + batch + groups[0] + groups[1])


def _sizes_code(letters: list[str], sizes: dict[str, str]) -> str:
    return "{" + ", ".join(f"{letter!r}: {sizes[letter]}" for letter in letters) + "}"


def _size_sources(sched: Schedule, arrays: dict[str, str],
                  all_terms: list[tuple[Output, list[Term]]]) -> dict[str, str]:
    """Where the kernel reads each letter's size: an axis of an array it gets, where the
    letter indexes that axis alone, else an axis of the result."""
    sizes: dict[str, str] = {}
    for _, ts in all_terms:
        for t in ts:
            for f in t.factors:
                for axis, ax in enumerate(f.index):
                    if ax.letter is not None:
                        sizes.setdefault(sched.letters[ax.letter], f"{arrays.get(f.name, f.name)}.shape[{axis}]")
    for out, ts in all_terms:
        for t in ts:
            for axis, ax in enumerate(t.target_index):
                if ax.letter is not None:
                    sizes.setdefault(sched.letters[ax.letter], f"{out.shape}[{axis}]")
    return sizes


def describe(term: Term, result: str, sched: Schedule, arrays: dict[str, str]) -> str:
    """The term as a comment: result[index] += Σ over letters of factor·factor."""
    def idx(index: tuple[Affine, ...]) -> str:
        return ", ".join(index_text(ax, sched) for ax in index)

    plain_target = {ax.letter for ax in term.target_index if ax.letter is not None}
    summed = sorted({_name(v) for f in term.factors for ax in f.index for v, _ in ax.coeffs
                     if v not in plain_target})
    prod = " · ".join(f"{arrays.get(f.name, f.name)}[{idx(f.index)}]" for f in term.factors)
    over = f"Σ_({', '.join(summed)}) " if summed else ""
    coeff = "" if term.coefficient == 1 else f"{term.coefficient}·"
    return f"# {result}[{idx(term.target_index)}] += {over}{coeff}{prod}"


@dataclass
class _TermCode:
    gathers: list[tuple[str, str]]  # (key, line without the assignment target)
    lines: list[str]  # may use {gather key} placeholders
    temps: list[str]
    guard: str


def print_outputs(outputs: list[Output], sched: Schedule, arrays: dict[str, str]) -> list[str]:
    """Lines of NumPy computing every output (indented for a kernel body).

    Each term becomes: a ``gather`` for every factor read at affine indices, one ``gemm``
    for the product of two factors (or a sum / broadcast for one), and a ``scatter`` when
    the target index is affine.  A gather two terms share is done once; every temporary
    is deleted after its last use, so one large buffer is alive at a time.  An output with
    ``into`` adds its later terms into that array when the caller passes one (its block of
    a larger result) and is placed there, so no copy joins the blocks afterwards.
    """
    pr = IndexPrinter(sched.names or {})
    letter_syms = set(sched.letters)
    all_terms = [(o, terms(o.formula, o.target, letter_syms)) for o in outputs]
    sizes = _size_sources(sched, arrays, all_terms)
    codes: list[tuple[Output, Term, _TermCode, bool]] = []
    products: list[tuple[str, str, str]] = []  # (subscripts, a, b) of the unguarded two-array terms
    for out, ts in all_terms:
        for k_term, term in enumerate(ts):
            started = k_term > 0
            guard = " and ".join(f"{arrays.get(f.name, f.name)} is not None" for f in term.factors
                                 if f.name in sched.optional)
            if guard and not started:
                raise ValueError(f"{out.name}: the first term may not use an optional array")
            gathers, operands = [], []
            out_letters = _letters_of(term.target_index, sched)
            for k_factor, f in enumerate(term.factors):
                name = arrays.get(f.name, f.name)
                own = _letters_of(f.index, sched)
                if all(ax.letter is not None for ax in f.index):
                    operands.append((name, own))
                    continue
                if len(term.factors) == 2:
                    other = _letters_of(term.factors[1 - k_factor].index, sched)
                    own = _gather_layout(f, other, out_letters, sched)
                window = [sched.letters[v] for ax in f.index if ax.letter is None for v, _ in ax.coeffs]
                call = (f"_af.gather({name}, {_index_code(f.index, sched, pr)}, {own!r},"
                        f" {_sizes_code(window, sizes)})")
                key = f"{name}|{call}"
                gathers.append((key, call))
                operands.append(("{" + key + "}", own))
            if len(operands) == 2:
                (a, la), (b, lb) = operands
                expr = f"_af.gemm('{la},{lb}->{out_letters}', {a}, {b})"
                if not guard:
                    products.append((f"{la},{lb}->{out_letters}", a, b))
            elif len(operands) == 1:
                (a, la), = operands
                if set(la) < set(out_letters):
                    expr = f"_af.align({a}, {la!r}, {out_letters!r})"
                elif la == out_letters:
                    expr = a
                else:
                    expr = f"_af.total({a}, {la!r}, {out_letters!r})"
            else:
                raise ValueError(f"{out.name}: a term of {len(operands)} arrays")
            if term.coefficient != 1:
                expr = f"{pr.doprint(term.coefficient)} * {expr}"
            lines, temps = [], []
            if any(ax.letter is None for ax in term.target_index):
                cols = f"{out.name}_cols"
                # A product is a new array, which scatter may then use as its work space.
                fresh = ", overwrite=True" if len(operands) == 2 or term.coefficient != 1 else ""
                lines.append(f"{cols} = {expr}")
                temps.append(cols)
                expr = (f"_af.scatter({cols}, {out_letters!r}, {_index_code(term.target_index, sched, pr)},"
                        f" {out.shape}, small={sched.small!r}{fresh})")
            if not started:
                lines.append(f"{out.name} = {expr}")
            elif out.into:
                lines.append(f"{out.name} = _af.add({out.name}, {expr}, {out.into})")
            else:
                lines.append(f"{out.name} = {out.name} + {expr}")
            codes.append((out, term, _TermCode(gathers, lines, temps, guard), started))
    last_use: dict[str, int] = {}
    for t, (_, _, code, _) in enumerate(codes):
        for key, _ in code.gathers:
            last_use[key] = t
    names: dict[str, str] = {}
    ind = "        "
    body = _shared_operands(products, ind)
    for t, (out, term, code, _) in enumerate(codes):
        pad = ind + ("    " if code.guard else "")
        chunk = [pad + describe(term, out.name, sched, arrays)]
        for key, call in code.gathers:
            if key in names:
                continue
            base = key.split("|")[0] + "_at"
            name = base
            while name in names.values():
                name += "_"
            names[key] = name
            chunk.append(f"{pad}{name} = {call}")
        for line in code.lines:
            for key, name in names.items():
                line = line.replace("{" + key + "}", name)
            chunk.append(pad + line)
        dead = code.temps + [names.pop(key) for key, _ in code.gathers if last_use[key] == t and key in names]
        if dead:
            chunk.append(f"{pad}del {', '.join(dict.fromkeys(dead))}")
        if code.guard:
            chunk.insert(0, f"{ind}if {code.guard}:")
        if out.into and all(other is not out for other, *_ in codes[t + 1:]):
            chunk.append(f"{ind}{out.name} = _af.place({out.name}, {out.into})")
        body += chunk
    return body


def _shared_operands(products: list[tuple[str, str, str]], ind: str) -> list[str]:
    """Lines laying out, once, a kernel argument that several products read: in the order the
    first of them would copy it into (when it would), so the later ones read that copy rather
    than each making their own (a convolution's output gradient, read by the input- and the
    weight-gradient products).  Only where the first product's other operand is an argument
    too, so the layout can be chosen before any work."""
    lines: list[str] = []
    plain = [name for _, a, b in products for name in (a, b) if not name.startswith("{")]
    for name in dict.fromkeys(plain):
        if plain.count(name) < 2:
            continue
        subscripts, a, b = next(p for p in products if name in p[1:])
        if a.startswith("{") or b.startswith("{"):
            continue
        lines += [f"{ind}# {name} is read by several products: laid out once, as the first would copy it",
                  f"{ind}{name} = _af.shared_operand({subscripts!r}, {a}, {b}, {(a, b).index(name)})"]
    return lines


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
