"""Print affine-indexed terms as NumPy calls to ``nnref/_affine.py``.

``derivations/affine.py`` splits a derived index formula into ``Term``s; this module
prints each term as ``gather`` for a factor read at affine indices (im2col), ``gemm`` for
the product of two factors (a batched matrix product) and ``scatter`` for a target
written at affine indices (col2im), see ``print_outputs``.

Owns: the index printer and the kernel-body printer of convolution and pooling.
Imports: ``derivations.affine`` (the algebra) and ``.printing``; no op description.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..affine import Affine, Factor, Term, terms
from .printing import EnginePrinter

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


