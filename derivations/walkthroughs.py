"""Derivations written as a person works them, each step checked by SymPy.

A walkthrough is a chain of equations ``lhs = rhs``, each with a sentence saying what the
step does.  The right-hand sides are SymPy expressions over indexed symbols and symbolic
sums, so the equation shown on the page *is* the expression checked: ``check`` expands the
sums at concrete sizes (``sizes``) and proves each step equal to the one before it, or, for a
step that differentiates, equal to SymPy's derivative of the one before (``derive``).  An
assumption a step uses (the targets sum to one, which entry is the largest) is a
substitution stated in the step, applied to both sides before the comparison.

Walkthroughs: softmax cross-entropy down to p − y; max pooling's backward through the
selector the tie rule defines; a 1-D convolution's weight gradient as a correlation of the
input with the upstream gradient, and its input gradient as a full convolution.

Owns: ``Step``, ``Walkthrough``, ``WALKTHROUGHS``, ``check``.  Imports: SymPy, ``.derive``
(``prove_equal``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from .derive import Proof, prove_equal

Subs = dict[sp.Expr, sp.Expr]
Size = dict[sp.Symbol, int]


@dataclass(frozen=True)
class Step:
    say: str                          # what this step does, in words
    lhs: str                          # the left side, as LaTeX
    rhs: sp.Expr                      # the right side: what is shown and what is checked
    derive: sp.Expr | None = None     # this step differentiates an earlier one by this variable
    of: int | None = None             # which earlier step it differentiates (default: the previous)
    times: sp.Expr | None = None      # this step multiplies the previous one by this (a chain rule)
    assume: Callable[[Size], Subs] | None = None  # what the step relies on, from here on
    show: str | None = None           # LaTeX shown instead of SymPy's printing of rhs


@dataclass(frozen=True)
class Walkthrough:
    key: str
    title: str
    intro: str
    steps: tuple[Step, ...]
    sizes: tuple[Size, ...]                      # concrete sizes the sums are expanded at
    index: sp.Symbol                             # the free index of the derivative steps
    indices: Callable[[Size], range]             # its values at a size
    ranges: dict[str, tuple[float, float]]       # sampling range by symbol-name prefix
    define: Callable[[Size], Subs] = field(default=lambda n: {})  # symbols that abbreviate others
    region: Callable[[Size], Subs] = field(default=lambda n: {})  # where the chain holds
    outro: str = ""
    order: str | None = None  # SymPy's term order when printing ('none': as the expression was built)


# ----------------------------------------------------------------------------- softmax cross-entropy

_z, _y, _p = sp.IndexedBase("z", real=True), sp.IndexedBase("y", real=True), sp.IndexedBase("p", real=True)
_k, _j, _i = sp.symbols("k j i", integer=True)
_C = sp.Symbol("C", integer=True, positive=True)
_S = sp.Sum(sp.exp(_z[_j]), (_j, 1, _C))

CROSS_ENTROPY = Walkthrough(
    "softmax-cross-entropy",
    "Softmax cross-entropy: the gradient is p − y",
    r"The logits $z_1, \dots, z_C$ go through softmax, $p_k = e^{z_k} / \sum_j e^{z_j}$, and the loss"
    r" compares $p$ with a target distribution $y$ ($y_k \ge 0$, $\sum_k y_k = 1$; a class index is"
    r" the one-hot $y$). The loss for one sample is $L = -\sum_k y_k \log p_k$.",
    (
        Step("Write $p_k$ out, so that $L$ is a function of the logits alone.", "L",
             -sp.Sum(_y[_k] * sp.log(sp.exp(_z[_k]) / _S), (_k, 1, _C))),
        Step(r"The logarithm of a quotient is a difference, and $\log e^{z_k} = z_k$.", "L",
             -sp.Sum(sp.Mul(_y[_k], sp.Add(_z[_k], -sp.log(_S), evaluate=False), evaluate=False), (_k, 1, _C))),
        Step(r"Split the sum; $\log \sum_j e^{z_j}$ does not depend on $k$, so it leaves the second sum.", "L",
             -sp.Sum(_y[_k] * _z[_k], (_k, 1, _C)) + sp.Sum(_y[_k], (_k, 1, _C)) * sp.log(_S)),
        Step("The targets sum to one.", "L",
             -sp.Sum(_y[_k] * _z[_k], (_k, 1, _C)) + sp.log(_S),
             assume=lambda n: {_y[n[_C]]: 1 - sum(_y[m] for m in range(1, n[_C]))}),
        Step("Differentiate by one logit $z_i$. In the first sum only the term $k = i$ contains $z_i$;"
             " the logarithm's derivative is the inner derivative $e^{z_i}$ over the sum.",
             r"\frac{\partial L}{\partial z_i}", sp.Add(sp.exp(_z[_i]) / _S, -_y[_i], evaluate=False), derive=_z[_i]),
        Step("The quotient is $p_i$ itself.", r"\frac{\partial L}{\partial z_i}",
             sp.Add(_p[_i], -_y[_i], evaluate=False)),
    ),
    ({_C: 3}, {_C: 4}), _i, lambda n: range(1, n[_C] + 1),
    {"z": (-6.0, 6.0), "y": (0.0, 1.0)},
    define=lambda n: {_p[m]: sp.exp(_z[m]) / sum(sp.exp(_z[j]) for j in range(1, n[_C] + 1))
                      for m in range(1, n[_C] + 1)},
    order="none",
    outro="So the backward of softmax followed by cross-entropy needs no Jacobian of softmax: subtract"
    " the target from the probabilities. For a class index $t$, $y$ is one-hot and the gradient is $p$"
    " with 1 taken off entry $t$.",
)


# ----------------------------------------------------------------------------- max pooling

_x, _s, _g = sp.IndexedBase("x", real=True), sp.IndexedBase("s", real=True), sp.IndexedBase("g", real=True)
_K = sp.Symbol("K", integer=True, positive=True)
_m = sp.Symbol("m", integer=True, positive=True)

_a2, _a3 = sp.symbols("a_2 a_3", positive=True)

MAX_POOL = Walkthrough(
    "max-pool-selector",
    "Max pooling: the gradient goes to the selected entry",
    r"A window holds $x_1, \dots, x_K$ and max pooling outputs their largest value. Let $m$ be the"
    r" entry the tie rule selects: the first (in row-major order) of the entries equal to the maximum."
    r" The selector $s_k$ is 1 for $k = m$ and 0 for every other $k$. (SymPy checks the chain at"
    r" $K = 3$ where $x_1$ is the largest: $x_2 = x_1 - a_2$, $x_3 = x_1 - a_3$ with $a_2, a_3 > 0$.)",
    (
        Step("The output is the maximum.", "y", sp.Max(*[_x[k] for k in range(1, 4)]),
             show=r"\max_{1 \le k \le K} x_k"),
        Step("Write it with the selector: every term but $k = m$ vanishes, so the sum is $x_m$.", "y",
             sp.Sum(_s[_k] * _x[_k], (_k, 1, _K)), assume=lambda n: {_s[1]: 1, _s[2]: 0, _s[3]: 0}),
        Step("Differentiate the maximum by one entry $x_i$. Where the maximum is unique, a small change"
             " of $x$ does not change which entry is largest, so the derivative is the selector. (At a"
             " tie the maximum has no derivative; the tie rule is the convention that picks $m$.)",
             r"\frac{\partial y}{\partial x_i}", _s[_i], derive=_x[_i], of=0),
        Step(r"A loss $L$ reaches $x_i$ only through $y$, so the chain rule multiplies by the upstream"
             r" gradient $g = \partial L / \partial y$: the selected entry receives all of it, the others"
             r" nothing. When windows overlap, $x_i$ adds up what it receives from every window that"
             r" selected it.",
             r"\frac{\partial L}{\partial x_i}", _g[1] * _s[_i], times=_g[1], show=r"g \, s_i"),
    ),
    ({_K: 3},), _i, lambda n: range(1, 4),
    {"x": (-6.0, 6.0), "g": (-2.0, 2.0), "a": (0.01, 6.0)},
    region=lambda n: {_x[2]: _x[1] - _a2, _x[3]: _x[1] - _a3},
    outro="nnref and torch's CPU kernels follow the same rule, first maximum wins; an"
    " implementation that differentiates max as SymPy does splits a tie evenly instead"
    " (the Conventions page).",
)


# ----------------------------------------------------------------------------- convolution

_w, _xc, _gc = sp.IndexedBase("w", real=True), sp.IndexedBase("x", real=True), sp.IndexedBase("g", real=True)
_n, _q = sp.symbols("n q", integer=True)
_N, _KW = sp.Symbol("N", integer=True, positive=True), sp.Symbol("K", integer=True, positive=True)
_st = sp.Symbol("S", integer=True, positive=True)
_Y = sp.Sum(_w[_k] * _xc[_st * _n + _k], (_k, 0, _KW - 1))

CONV_WEIGHT = Walkthrough(
    "conv-weight-gradient",
    "Convolution: the weight gradient is a correlation",
    r"A 1-D convolution with stride $S$ (no padding, one channel; more channels add sums over them)"
    r" computes $y_n = \sum_k w_k x_{Sn+k}$ for $n = 0, \dots, N-1$ and $k = 0, \dots, K-1$. Its"
    r" backward receives the upstream gradient $g_n = \partial L / \partial y_n$.",
    (
        Step(r"A loss reaches the weights only through the outputs, so near the current weights it"
             r" changes as $\ell = \sum_n g_n y_n$ does.",
             r"\ell", sp.Sum(_gc[_n] * _Y, (_n, 0, _N - 1))),
        Step("Differentiate by one weight $w_q$: in the inner sum only $k = q$ contains $w_q$.",
             r"\frac{\partial \ell}{\partial w_q}", sp.Sum(_gc[_n] * _xc[_st * _n + _q], (_n, 0, _N - 1)),
             derive=_w[_q]),
    ),
    ({_N: 3, _KW: 3, _st: 2}, {_N: 2, _KW: 2, _st: 1}), _q, lambda n: range(n[_KW]),
    {"x": (-3.0, 3.0), "w": (-3.0, 3.0), "g": (-3.0, 3.0)},
    outro=r"That is the input correlated with $g$, whose entries are spaced $S$ apart:"
    r" $\partial L / \partial w_q$ pairs each $g_n$ with the input entry that $w_q$ met when it produced"
    r" $y_n$. In the same way $\partial \ell / \partial x_j$ collects $g_n w_k$ over every $(n, k)$ with"
    r" $Sn + k = j$: a full convolution of the stride-spread $g$ with $w$ flipped, which is why the"
    r" input gradient of a convolution is a transposed convolution.",
)

WALKTHROUGHS = (CROSS_ENTROPY, MAX_POOL, CONV_WEIGHT)


# ----------------------------------------------------------------------------- checking


def _ranges(exprs: list[sp.Expr], by_prefix: dict[str, tuple[float, float]]) -> dict[sp.Symbol, tuple[float, float]]:
    free = set().union(*(sp.sympify(e).free_symbols for e in exprs))
    return {s: next((r for p, r in by_prefix.items() if str(s).startswith(p)), (-3.0, 3.0)) for s in free}


def check(w: Walkthrough) -> list[Proof]:
    """Prove every step of ``w`` from the one before it (or from the step it differentiates),
    at each concrete size and each value of the free index.  Assumptions accumulate: once a
    step states one, every later comparison holds under it."""
    proofs: list[Proof] = []
    for size in w.sizes:
        for index in w.indices(size):
            def at(e: sp.Expr, size: Size = size, index: int = index) -> sp.Expr:
                return sp.sympify(sp.sympify(e).subs(size).doit()).subs({w.index: index}).subs(w.define(size))

            assumed: Subs = {}
            for n, step in enumerate(w.steps[1:], start=1):
                if step.assume is not None:
                    assumed.update(step.assume(size))
                after = at(step.rhs).subs(assumed)
                if step.derive is not None:
                    source = at(w.steps[n - 1 if step.of is None else step.of].rhs)
                    before = sp.diff(source, at(step.derive)).subs(assumed)
                else:
                    before = at(w.steps[n - 1].rhs).subs(assumed) * (step.times if step.times is not None else 1)
                before, after = before.subs(w.region(size)), after.subs(w.region(size))
                # Plain symbols for the indexed ones: the numeric fallback evaluates with lambdify.
                plain = {e: sp.Symbol(str(e).replace("[", "_").replace("]", ""), real=True)
                         for e in sp.sympify(before).atoms(sp.Indexed) | sp.sympify(after).atoms(sp.Indexed)}
                before, after = sp.sympify(before).subs(plain), sp.sympify(after).subs(plain)
                claim = f"{w.key}, {', '.join(f'{k}={v}' for k, v in size.items())}, {w.index}={index}: step {n}"
                proofs.append(prove_equal(before, after, _ranges([before, after], w.ranges), claim))
    return proofs
