"""Exact checks and proofs for convolution (used by the tests and shown on the docs page).

* ``exact_check``: on one small configuration, with arrays of SymPy symbols,
  - the engine's forward equals the stated index formula, entry by entry;
  - the engine's vector-Jacobian products equal SymPy's derivative of ⟨g, y⟩ (y the stated
    formula evaluated on the symbol arrays, differentiated term by term with ``sympy.diff``);
  - the derived index formulas the docs show (SymPy's diff with the deltas summed out)
    give the same derivative.
  Everything is compared as polynomials in the symbols: exactly, no tolerance.
* ``grid``: the configurations checked for each op (sizes, kernels, strides, paddings,
  dilations, groups and, for the transposed ops, output paddings, with different values on
  different axes).
* ``relationship_proofs``: the three relationships people quote, proved symbolically on the
  index formulas and checked on symbol arrays.
* ``size_proofs``: Dumoulin & Visin's output-size relationships against the derived rule.

Owns: the convolution checks.  Imports: the descriptions, ``derivations.affine``,
``derivations.derive``, ``derivations.steps``, ``derivations.codegen.index`` (to compile
formulas) and the engine ``nnref``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.tensor.indexed import Indexed

from .. import affine
from ..codegen.index import IndexPrinter
from ..derive import Proof
from ..ops.conv import (
    C,
    Cg,
    Config,
    ConvOp,
    G,
    N,
    O,
    Og,
    c,
    dumoulin_visin,
    gamma,
    general_size,
    n,
    o,
    op_named,
)
from ..steps import symbol_array

# ----------------------------------------------------------------------------- formulas as Python


class _CodePrinter(IndexPrinter):
    """Integer index arithmetic in plain Python (floor(a/b) as a // b)."""

    def _print_floor(self, expr: sp.Expr) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        return f"(({self.doprint(num)})//({self.doprint(den)}))"


def compile_formula(expr: sp.Expr, free: tuple[sp.Symbol, ...], values: dict[sp.Symbol, int]) -> Any:
    """The formula as a Python function of its free letters, reading arrays by name from a
    dict and zero outside them: nested loops over each Sum's limits, a test per delta, a
    bounds test per array read.  It evaluates exactly what SymPy's expression says."""
    pr = _CodePrinter({})
    expr = expr.xreplace({k: sp.Integer(v) for k, v in values.items()})
    lines = [f"def _f({', '.join(str(s) for s in free)}, arrays):", "    terms = []"]
    names = {s: f"v{k}" for k, s in enumerate(sorted(expr.free_symbols | {lim[0] for t in sp.preorder_traversal(expr)
                                                                       if isinstance(t, sp.Sum) for lim in t.limits},
                                                                       key=str))}
    pr.names = {s.name: names[s] for s in names}
    lines[0] = f"def _f({', '.join(names[s] for s in free)}, arrays):"
    for term in sp.Add.make_args(expr):
        summand, limits = affine.flatten(term)
        ind = "    "
        body = []
        for v, lo, hi in limits:
            body.append(f"{ind}for {names[v]} in range({pr.doprint(lo)}, {pr.doprint(hi)} + 1):")
            ind += "    "
        factors = []
        for f in sp.Mul.make_args(summand):
            if isinstance(f, sp.KroneckerDelta):
                body.append(f"{ind}if ({pr.doprint(f.args[0])}) != ({pr.doprint(f.args[1])}): continue"
                            if limits else f"{ind}if ({pr.doprint(f.args[0])}) != ({pr.doprint(f.args[1])}): pass")
                if not limits:
                    raise ValueError("a delta outside any sum")
            elif isinstance(f, Indexed):
                idx = [pr.doprint(i) for i in f.indices]
                arr = f"arrays[{str(f.base)!r}]"
                tmp = f"_{len(factors)}"
                body.append(f"{ind}{tmp} = ({', '.join(idx)},)")
                cond = " and ".join(f"0 <= {tmp}[{a}] < {arr}.shape[{a}]" for a in range(len(idx)))
                body.append(f"{ind}if not ({cond}):" + (" continue" if limits else ""))
                if not limits:
                    body.append(f"{ind}    pass")
                factors.append(f"{arr}[{tmp}]")
            else:
                factors.append(f"({pr.doprint(f)})")
        if limits:
            body.append(f"{ind}terms.append({' * '.join(factors) or '1'})")
        else:
            # A single read (the bias): inside its range by construction.
            body = [b for b in body if not b.strip().startswith(("if not", "pass"))]
            body.append(f"{ind}terms.append({' * '.join(factors) or '1'})")
        lines += body
    lines.append("    return sp.Add(*terms)")
    scope: dict[str, Any] = {"sp": sp}
    exec("\n".join(lines), scope)  # noqa: S102 - source printed from the formula just above
    return scope["_f"]


# ----------------------------------------------------------------------------- one configuration


def _values(op: ConvOp, cfg: Config) -> tuple[dict[sp.Symbol, int], tuple[int, ...], tuple[int, ...]]:
    """Every size and parameter symbol's value, the output spatial size, the low padding."""
    k = cfg.kernel
    if op.transposed:
        pad_lo = tuple(cfg.padding)
        out_pad = cfg.output_padding or (0,) * op.dims
        m = tuple(cfg.stride[a] * (cfg.size[a] - 1) + cfg.dilation[a] * (k[a] - 1) - 2 * pad_lo[a] + out_pad[a] + 1
                  for a in range(op.dims))
    else:
        if cfg.padding == "same":
            total = tuple(cfg.dilation[a] * (k[a] - 1) for a in range(op.dims))
            pad_lo = tuple(t // 2 for t in total)
        elif cfg.padding == "valid":
            total = pad_lo = (0,) * op.dims
        else:
            pad_lo = tuple(cfg.padding)
            total = tuple(2 * p for p in pad_lo)
        m = tuple((cfg.size[a] + total[a] - cfg.dilation[a] * (k[a] - 1) - 1) // cfg.stride[a] + 1
                  for a in range(op.dims))
    vals = {N: cfg.batch, G: cfg.groups, Cg: cfg.in_channels // cfg.groups, Og: cfg.out_channels // cfg.groups,
            C: cfg.in_channels, O: cfg.out_channels}
    for a, ax in enumerate(op.axes):
        vals.update({ax.s: cfg.stride[a], ax.d: cfg.dilation[a], ax.p: pad_lo[a], ax.L: cfg.size[a], ax.K: k[a],
                     ax.M: m[a]})
    return vals, m, pad_lo


@dataclass
class CheckResult:
    entries: int  # output and gradient entries compared


def _same(a: Any, b: Any) -> bool:
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


def exact_check(op: ConvOp, cfg: Config, chunk: int | None = None) -> CheckResult:
    """Engine == stated formula, engine VJP == SymPy's derivative == derived formulas, exactly."""
    from nnref import _conv

    vals, m, _ = _values(op, cfg)
    cin, cout, grp = cfg.in_channels, cfg.out_channels, cfg.groups
    wshape = ((cin, cout // grp) if op.transposed else (cout, cin // grp)) + cfg.kernel
    xs = symbol_array("x", (cfg.batch, cin) + cfg.size)
    ws = symbol_array("w", wshape)
    bs = symbol_array("b", (cout,))
    arrays = {"x": xs, "w": ws, "b": bs}
    y_engine, vjp = _conv.compute(op.name, xs, ws, bs, cfg.stride, cfg.padding, cfg.dilation, grp,
                                  cfg.output_padding, chunk=chunk)
    out_shape = (cfg.batch, cout) + m
    assert y_engine.shape == out_shape, f"{op.name} {cfg}: engine shape {y_engine.shape}, formula {out_shape}"
    stated = op.stated
    f_fwd = compile_formula(stated.forward.formula, stated.out_index, vals)
    y_def = np.empty(out_shape, dtype=object)
    for idx in itertools.product(*(range(s) for s in out_shape)):
        y_def[idx] = f_fwd(*idx, arrays)
        assert _same(y_engine[idx], y_def[idx]), \
            f"{op.name} {cfg}: forward at {idx}: engine {y_engine[idx]} != formula {y_def[idx]}"
    # SymPy's derivative of <g, y> = Σ g·y, differentiated term by term.
    gs = symbol_array("g", out_shape)
    where = {}
    for name, arr in arrays.items():
        for idx in itertools.product(*(range(s) for s in arr.shape)):
            where[arr[idx]] = (name, idx)
    truth = {name: np.full(arr.shape, sp.S.Zero, dtype=object) for name, arr in arrays.items()}
    pieces: dict[tuple[str, tuple[int, ...]], list[sp.Expr]] = {}
    for idx in itertools.product(*(range(s) for s in out_shape)):
        for term in sp.Add.make_args(y_def[idx]):
            for sym in term.free_symbols:
                pieces.setdefault(where[sym], []).append(gs[idx] * sp.diff(term, sym))
    for (name, idx), parts in pieces.items():
        truth[name][idx] = sp.Add(*parts)
    grads = vjp(gs)
    entries = y_def.size
    for key, name in (("input", "x"), ("weight", "w"), ("bias", "b")):
        got = np.asarray(grads[key]).reshape(truth[name].shape)
        derived = stated.grads[key]
        f_grad = compile_formula(derived.formula, derived.target, vals)
        for idx in itertools.product(*(range(s) for s in truth[name].shape)):
            assert _same(got[idx], truth[name][idx]), \
                f"{op.name} {cfg}: d/d{key} at {idx}: engine {got[idx]} != SymPy {truth[name][idx]}"
            formula_value = f_grad(*idx, {**arrays, "g": gs})
            assert _same(formula_value, truth[name][idx]), \
                f"{op.name} {cfg}: derived formula for d/d{key} at {idx}: {formula_value} != SymPy {truth[name][idx]}"
        entries += 2 * truth[name].size
    return CheckResult(entries)


# ----------------------------------------------------------------------------- the grid


def _valid(op: ConvOp, cfg: Config) -> bool:
    if cfg.in_channels % cfg.groups or cfg.out_channels % cfg.groups:
        return False
    if op.transposed:
        if any(op_ >= max(s, d) for op_, s, d in zip(cfg.output_padding, cfg.stride, cfg.dilation)):
            return False
        return all(m >= 1 for m in _values(op, cfg)[1])
    if cfg.padding == "same" and any(s != 1 for s in cfg.stride):
        return False
    vals, m, _ = _values(op, cfg)
    total = [2 * p for p in cfg.padding] if isinstance(cfg.padding, tuple) else (
        [d * (k - 1) for d, k in zip(cfg.dilation, cfg.kernel)] if cfg.padding == "same" else [0] * op.dims)
    return all(L + t >= d * (k - 1) + 1 for L, t, d, k in zip(cfg.size, total, cfg.dilation, cfg.kernel))


def _tup(v: Any, dims: int) -> Any:
    return v if isinstance(v, (tuple, str)) else (v,) * dims


# The "thorough" grid; the "ci" grid (the default test run) keeps every parameter's extreme
# values and drops middle ones, so it is still a full product, a quarter of the size.
GRID_AXES: dict[str, dict[int, dict[str, list[Any]]]] = {
    "thorough": {
        1: {"size": [(1,), (2,), (3,), (5,)], "kernel": [(1,), (2,), (3,)], "stride": [(1,), (2,), (3,)],
            "dilation": [(1,), (2,)], "padding": [(0,), (1,), (2,), "same", "valid"], "groups": [1, 2]},
        2: {"size": [(3, 4), (2, 1)], "kernel": [(1, 1), (2, 3)], "stride": [(1, 1), (2, 1), (1, 3)],
            "dilation": [(1, 1), (1, 2)], "padding": [(0, 0), (1, 0), "same", "valid"], "groups": [1, 2]},
        3: {"size": [(2, 3, 2)], "kernel": [(1, 1, 1), (2, 1, 2)], "stride": [(1, 1, 1), (1, 2, 1)],
            "dilation": [(1, 1, 1), (2, 1, 1)], "padding": [(0, 0, 0), (1, 0, 1), "same"], "groups": [1, 2]},
    },
    "ci": {
        1: {"size": [(1,), (4,)], "kernel": [(1,), (2,), (3,)], "stride": [(1,), (3,)],
            "dilation": [(1,), (2,)], "padding": [(0,), (2,), "same", "valid"], "groups": [1, 2]},
        2: {"size": [(3, 4)], "kernel": [(1, 1), (2, 3)], "stride": [(1, 1), (2, 3)],
            "dilation": [(1, 1), (1, 2)], "padding": [(1, 0), "same"], "groups": [1, 2]},
        3: {"size": [(2, 3, 2)], "kernel": [(1, 1, 1), (2, 1, 2)], "stride": [(1, 1, 1), (1, 2, 1)],
            "dilation": [(2, 1, 1)], "padding": [(0, 0, 0), (1, 0, 1), "same"], "groups": [1, 2]},
    },
}


def grid(op: ConvOp, profile: str = "thorough") -> list[Config]:
    """Every combination of the profile's axes (minus the invalid ones); for the transposed
    ops the string paddings are skipped and output_padding takes 0 and the largest value
    allowed.  Two input and two or four output channels, so groups = 2 is depthwise."""
    axes = GRID_AXES[profile][op.dims]
    out = []
    batch = 2 if op.dims < 3 else 1
    for size, kernel, stride, dilation, padding, groups in itertools.product(
            axes["size"], axes["kernel"], axes["stride"], axes["dilation"], axes["padding"], axes["groups"]):
        cout = 2 * groups
        if op.transposed:
            if isinstance(padding, str):
                continue
            for opad in sorted({(0,) * op.dims, tuple(max(s, d) - 1 for s, d in zip(stride, dilation))}):
                cfg = Config(op.dims, True, batch, 2, cout, size, kernel, stride, padding, dilation, groups, opad)
                if _valid(op, cfg):
                    out.append(cfg)
        else:
            cfg = Config(op.dims, False, batch, 2, cout, size, kernel, stride, padding, dilation, groups)
            if _valid(op, cfg):
                out.append(cfg)
    return out


def grid_proof(op: ConvOp, profile: str = "thorough") -> Proof:
    """The exact check of the op's grid, as a proof line for the docs."""
    configs, entries = check_grid(op, profile)
    return Proof(f"{op.name}: on every one of {configs} configurations of the grid, the generated engine's"
                 " forward equals the stated index formula, and its gradients equal SymPy's derivative of"
                 " <g, y> and the derived index formulas", "exact",
                 f"arrays of SymPy symbols; {entries} entries compared as polynomials, no tolerance")


def check_grid(op: ConvOp, profile: str = "thorough") -> tuple[int, int]:
    """Run exact_check on the op's grid (every other configuration in batch chunks of one,
    so the chunked path is checked too).  Returns (configurations, entries compared)."""
    configs = grid(op, profile)
    entries = 0
    for k, cfg in enumerate(configs):
        entries += exact_check(op, cfg, chunk=1 if k % 2 else None).entries
    return len(configs), entries


# ----------------------------------------------------------------------------- relationships


def same_sum(a: sp.Expr, b: sp.Expr) -> bool:
    """Two sums of products are the same: same summands term by term, same ranges (in any order)."""
    ta = sorted((affine.flatten(t) for t in sp.Add.make_args(a)), key=str)
    tb = sorted((affine.flatten(t) for t in sp.Add.make_args(b)), key=str)
    if len(ta) != len(tb):
        return False
    for (fa, la), (fb, lb) in zip(ta, tb):
        if sp.expand(fa - fb) != 0 or sorted(map(str, la)) != sorted(map(str, lb)):
            return False
    return True


def _rename_indexed(expr: sp.Expr, base: sp.IndexedBase, new: sp.IndexedBase, perm: tuple[int, ...]) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, Indexed) and e.base == base,
                        lambda e: new[tuple(e.indices[k] for k in perm)])


def _drop_group(expr: sp.Expr) -> sp.Expr:
    """The grouped formula with one group: drop the group index γ from every array."""
    return expr.replace(lambda e: isinstance(e, Indexed) and gamma in e.indices,
                        lambda e: e.base[tuple(i for i in e.indices if i != gamma)]).xreplace({Og: O, Cg: C})


def weight_grad_is_correlation() -> tuple[sp.Expr, sp.Expr, bool]:
    """∂⟨g, y⟩/∂w[o, c, k] = Σ_n Σ_i g[n, o, i] · x[n, c, s·i + d·k − p] is conv1d's own formula
    run on x with batch and channels swapped, with g (batch and channels swapped) as the
    kernel, stride d, dilation s, padding p, read at output position k (groups = 1)."""
    op = op_named("conv1d")
    ax = op.axes[0]
    dw = _drop_group(op.grouped.grads["weight"].formula)
    y = _drop_group(op.grouped.forward.formula)
    body = next(t for t in sp.Add.make_args(y) if isinstance(t, sp.Sum))  # without the bias
    xb, wb, gb = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("g")
    # The convolution's letters and parameters in their new roles: its batch is c, its
    # channels (summed) are n, its position is k, its kernel offset (summed) is i.
    roles = body.xreplace({n: c, c: n, ax.i: ax.k, ax.k: ax.i, ax.s: ax.d, ax.d: ax.s, C: N, ax.K: ax.M})
    # ... and its arrays: input X[c, n, ·] = x[n, c, ·], kernel W[o, n, i] = g[n, o, i].
    as_corr = roles.replace(lambda e: isinstance(e, Indexed) and e.base in (xb, wb),
                            lambda e: (xb if e.base == xb else gb)[(e.indices[1], e.indices[0], *e.indices[2:])])
    return dw, as_corr, same_sum(dw, as_corr)


def input_grad_is_transposed() -> tuple[sp.Expr, sp.Expr, bool]:
    """∂⟨g, y⟩/∂x of conv is conv_transpose's forward applied to g with the same weights
    (same stride, padding, dilation, groups; no bias)."""
    conv, tconv = op_named("conv1d"), op_named("conv_transpose1d")
    dx = conv.grouped.grads["input"].formula
    y = tconv.grouped.forward.formula
    body = next(t for t in sp.Add.make_args(y) if isinstance(t, sp.Sum))
    # conv_transpose: y[n, γ, o, j] = Σ_{c, k, i} x[n, γ, c, i] w[γ, c, o, k] δ(j, s·i + d·k − p);
    # rename its channels c ↔ o and its input x to g, and let its channels run over conv's O_g.
    swapped = body.xreplace({c: o, o: c}).xreplace({sp.IndexedBase("x"): sp.IndexedBase("g"), Cg: Og})
    # conv_transpose's input positions run over its input length, which is conv's output length M
    tax, cax = tconv.axes[0], conv.axes[0]
    swapped = swapped.xreplace({tax.L: cax.M})
    return dx, swapped, same_sum(dx, swapped)


def correlation_is_flipped_convolution() -> tuple[sp.Expr, sp.Expr, bool]:
    """(x ⋆ w)[i] = Σ_k x[i + k] w[k] equals the true convolution (x ∗ w̃)[i + K − 1] with
    w̃[q] = w[K − 1 − q]: Σ_m x[m] w̃[i + K − 1 − m] = Σ_m x[m] w[m − i], m from i to i + K − 1,
    and the change of index m = i + k gives the correlation."""
    xb, wb = sp.IndexedBase("x"), sp.IndexedBase("w")
    i, k, m, K = sp.symbols("i k m K", integer=True)
    corr = sp.Sum(xb[i + k] * wb[k], (k, 0, K - 1))
    flipped = lambda q: wb[K - 1 - q]  # noqa: E731
    true_conv = sp.Sum(xb[m] * flipped(i + K - 1 - m), (m, i, i + K - 1))
    moved = true_conv.change_index(m, m - i, k)
    return corr, true_conv, same_sum(corr, moved)


def relationship_checks(configs: int = 12) -> list[str]:
    """The three relationships on symbol arrays, through the engine: returns one line per check."""
    from nnref import _conv

    out = []
    rng = np.random.default_rng(0)
    chosen = []
    for name, share in (("conv1d", configs - configs // 3), ("conv2d", configs // 3)):
        eligible = [cfg for cfg in grid(op_named(name)) if cfg.groups == 1 and not isinstance(cfg.padding, str)]
        chosen += [eligible[int(k)] for k in rng.choice(len(eligible), size=min(share, len(eligible)), replace=False)]
    for cfg in chosen:
        dims = cfg.dims
        xs = symbol_array("x", (cfg.batch, cfg.in_channels) + cfg.size)
        ws = symbol_array("w", (cfg.out_channels, cfg.in_channels) + cfg.kernel)
        y, vjp = _conv.compute(f"conv{dims}d", xs, ws, None, cfg.stride, cfg.padding, cfg.dilation, 1)
        gs = symbol_array("g", y.shape)
        grads = vjp(gs)
        # weight gradient = correlation of x (batch ↔ channel) with g (batch ↔ channel) as kernel
        corr, _ = _conv.compute(f"conv{dims}d", np.swapaxes(xs, 0, 1), np.swapaxes(gs, 0, 1), None, cfg.dilation,
                                cfg.padding, cfg.stride, 1)
        ksl = (slice(None), slice(None)) + tuple(slice(0, k) for k in cfg.kernel)
        assert all(_same(a, b) for a, b in zip(np.ravel(grads["weight"]), np.ravel(np.swapaxes(corr[ksl], 0, 1)))), cfg
        # input gradient = transposed convolution of g with the same weights
        opad = tuple(cfg.size[a] - (cfg.stride[a] * (y.shape[2 + a] - 1) + cfg.dilation[a] * (cfg.kernel[a] - 1)
                                    - 2 * cfg.padding[a] + 1) for a in range(dims))
        tr, _ = _conv.compute(f"conv_transpose{dims}d", gs, ws, None, cfg.stride, cfg.padding, cfg.dilation, 1,
                              opad)
        assert all(_same(a, b) for a, b in zip(np.ravel(grads["input"]), np.ravel(tr))), cfg
        out.append(f"conv{dims}d {cfg.size} k={cfg.kernel} s={cfg.stride} d={cfg.dilation} p={cfg.padding}")
    # cross-correlation = true convolution with the flipped kernel, on 1-D and 2-D symbol arrays
    for L, K in ((5, 3), (4, 1), (6, 4)):
        xs, ws = symbol_array("x", (1, 1, L)), symbol_array("w", (1, 1, K))
        y, _ = _conv.compute("conv1d", xs, ws, None, (1,), (0,), (1,), 1)
        full = [sp.Add(*(xs[0, 0, mm] * ws[0, 0, ::-1][t - mm] for mm in range(L) if 0 <= t - mm < K))
                for t in range(L + K - 1)]
        assert all(_same(y[0, 0, i], full[i + K - 1]) for i in range(L - K + 1))
    xs, ws = symbol_array("x", (1, 1, 4, 5)), symbol_array("w", (1, 1, 2, 3))
    y, _ = _conv.compute("conv2d", xs, ws, None, (1, 1), (0, 0), (1, 1), 1)
    wf = ws[0, 0, ::-1, ::-1]
    for i, j in itertools.product(range(3), range(3)):
        t, u = i + 1, j + 2
        val = sp.Add(*(xs[0, 0, a, b] * wf[t - a, u - b] for a in range(4) for b in range(5)
                       if 0 <= t - a < 2 and 0 <= u - b < 3))
        assert _same(y[0, 0, i, j], val)
    return out


# ----------------------------------------------------------------------------- output sizes


@dataclass
class SizeProof:
    row: dict[str, Any]
    derived: sp.Expr
    method: str  # 'symbolic' or 'grid'
    detail: str


def size_proofs() -> list[SizeProof]:
    out = []
    for row in dumoulin_visin():
        derived = general_size(row)
        diff = sp.simplify(derived - row["quoted"])
        if diff == 0:
            out.append(SizeProof(row, derived, "symbolic", "SymPy simplifies the difference to 0"))
            continue
        # floor and mod: check every value on a grid instead
        count = 0
        for vals in size_grid(row):
            a = int(derived.subs(vals))
            b = int(row["quoted"].subs(vals))
            assert a == b, (row["number"], vals, a, b)
            count += 1
        out.append(SizeProof(row, derived, "grid", f"equal at all {count} points of a grid"))
    return out


def size_grid(row: dict[str, Any]) -> list[dict[Any, int]]:
    """Concrete settings for a relationship: every (i or i′, k, s, p, d) in small ranges that the
    row allows and torch accepts; for row 13, a is (i + 2p − k) mod s of the conv it inverts."""
    return [dict(zip(_GRID_KEYS[row["number"]], values)) for values in _size_grid(row["number"])]


_GRID_KEYS: dict[int, list[Any]] = {}


@functools.cache
def _size_grid(number: int) -> tuple[tuple[int, ...], ...]:
    row = next(r for r in dumoulin_visin() if r["number"] == number)
    sy = row["symbols"]
    names = ["i", "i'", "k", "s", "p", "d", "n", "a"]
    syms = [sy[nm] for nm in names]
    settings = [(names.index(next(nm for nm in names if sy[nm] == key)), sp.lambdify(syms, value))
                for key, value in row["settings"].items()]
    keys: list[Any] = [*syms, "i_conv"]
    _GRID_KEYS[number] = keys
    pts = []
    for i_, k_, s_, p_, d_, n_ in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(0, 3),
                                                    range(1, 3), range(0, 3)):
        vals = [i_, i_, k_, s_, p_, d_, n_, 0]
        if any(vals[pos] != int(f(*vals)) for pos, f in settings):
            continue
        i_conv = 0
        if number == 13:
            # i′ is the output size of the convolution of an input of size i, and a its remainder.
            q = i_ + 2 * p_ - k_
            if q < 0:
                continue
            vals[1], vals[7], i_conv = q // s_ + 1, q % s_, i_
        if row["transposed"]:
            if vals[7] >= max(s_, d_) or s_ * (vals[1] - 1) + d_ * (k_ - 1) - 2 * p_ + vals[7] + 1 < 1:
                continue
        elif i_ + 2 * p_ < d_ * (k_ - 1) + 1:
            continue
        pts.append((*vals, i_conv))
    return tuple(pts)
