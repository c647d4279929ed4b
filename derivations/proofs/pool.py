"""Pooling, exactly: the engine against the index formulas and the stated conventions.

* avg_pool and adaptive_avg_pool run on arrays of SymPy symbols, forward and backward, and
  must equal the stated index formula and SymPy's derivative of ⟨g, y⟩ (with the divisor
  rule and the adaptive bounds derived in ``derivations/ops/pool.py``) with no tolerance;
* max_pool and adaptive_max_pool run on small-integer arrays with ties, NaN and −inf, and
  must equal the selector formula Σ_k χ·x and its SymPy derivative, χ taken from
  ``pool.chosen_tap`` (the conventions written as a plain loop over each window), exactly;
* lp_pool's engine is compared with its index formula and SymPy's derivative evaluated
  in exact rational arithmetic at rational points (P = 2 and 3), then rounded once;
* the output-size rule is compared with torch's two-step rule over a grid.

Owns: the pooling checks (torch's size rule as torch writes it lives in
``nnref.conformance.sizes``, where the strategies draw by it).  Imports: the
descriptions, ``derivations.affine``, ``derivations.codegen.pool`` (the einsum letters) and
the engine ``nnref``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from nnref.conformance.sizes import torch_rule  # the rule the strategies draw by; proved equal below

from .. import affine
from ..codegen.pool import KERNEL_LETTERS, POSITION_LETTERS
from ..ops import pool
from ..ops.pool import D, Kt, P, PoolOp, c, chi, g, idx, n, x


@dataclass(frozen=True)
class WindowConfig:
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    count_include_pad: bool = True
    divisor_override: int | None = None


def _out_sizes(cfg: WindowConfig) -> tuple[int, ...]:
    from nnref._generated import pool as k

    return tuple(k.pool_out_size(L, K, s, p, d, cfg.ceil_mode) for L, K, s, p, d in
                 zip(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation))


def _has_empty_window(cfg: WindowConfig) -> bool:
    for L, K, s, p, d, M in zip(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, _out_sizes(cfg)):
        if M < 1 or any(not any(0 <= s * i - p + d * t < L for t in range(K)) for i in range(M)):
            return True
    return False


def window_grid(op: PoolOp, profile: str = "ci") -> list[WindowConfig]:
    """Small configurations that vary every parameter (each axis separately in 2-d)."""
    dims = op.dims
    sizes = {1: [(5,), (7,)], 2: [(5, 4), (4, 6)], 3: [(3, 4, 3)]}[dims]
    kernels = {1: [(1,), (2,), (3,)], 2: [(2, 3), (3, 2), (1, 1)], 3: [(2, 2, 2), (1, 2, 3)]}[dims]
    strides = {1: [(1,), (2,), (4,)], 2: [(1, 2), (2, 1), (3, 3)], 3: [(1, 1, 1), (2, 1, 2)]}[dims]
    out = []
    for size, kernel, stride in itertools.product(sizes, kernels, strides):
        for ceil in (False, True):
            pads = {tuple(k // 2 for k in kernel), (0,) * dims}
            dils = [(1,) * dims] + ([(2,) + (1,) * (dims - 1)] if op.kind == "max" else [])
            for pad, dil in itertools.product(sorted(pads), dils):
                if op.kind == "lp":
                    pad = (0,) * dims
                variants = [(True, None)]
                if op.kind == "avg":
                    variants = [(True, None), (False, None)] + ([(True, 3)] if dims > 1 else [])
                for include, override in variants:
                    cfg = WindowConfig(size, kernel, stride, pad, dil, ceil, include, override)
                    if not _has_empty_window(cfg) and cfg not in out:
                        out.append(cfg)
    if profile != "thorough" and dims == 3:
        # 3-d symbolic checks cost seconds each: two configurations that between them have
        # padding, a stride above 1, ceil_mode overhang, both divisor rules and dilation
        picked = [WindowConfig((3, 4, 3), (2, 2, 2), (2, 1, 2), (1, 1, 1), (1, 1, 1), True, op.kind != "avg"),
                  WindowConfig((3, 4, 3), (1, 2, 3), (1, 2, 1), (0, 1, 1),
                               (2, 1, 1) if op.kind == "max" else (1, 1, 1), False, True,
                               3 if op.kind == "avg" else None)]
        return [c for c in picked if not _has_empty_window(c)]
    if profile != "thorough":
        # an even spread of the full grid: the symbolic avg checks cost ~0.3 s per 2-d configuration
        target = {"avg": {1: 12, 2: 8, 3: 2}, "max": {1: 16, 2: 12, 3: 3}, "lp": {1: 6, 2: 4}}[op.kind][dims]
        picked = out[:: max(1, len(out) // target)][:target]
        # and at least one configuration with each feature the spread may have missed
        features = [lambda c: c.ceil_mode, lambda c: not c.ceil_mode, lambda c: any(c.padding),
                    lambda c: any(d > 1 for d in c.dilation), lambda c: not c.count_include_pad,
                    lambda c: c.divisor_override is not None, lambda c: any(s > k for s, k in zip(c.stride, c.kernel)),
                    # a last window overhanging the input, kept by ceil_mode
                    lambda c: c.ceil_mode and _out_sizes(c) != _out_sizes(replace(c, ceil_mode=False))]
        for has in features:
            if not any(has(c) for c in picked):
                picked += [c for c in out if has(c)][:1]
        out = picked
    return out


def _axis_env(op: PoolOp, cfg: WindowConfig, out: tuple[int, ...]) -> dict[sp.Symbol, int]:
    env: dict[sp.Symbol, int] = {}
    for ax, L, K, s, p, d, M in zip(op.axes, cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, out):
        env.update({ax.L: L, ax.K: K, ax.s: s, ax.p: p, ax.d: d, ax.M: M})
    return env


def _divisor_expr(op: PoolOp, cfg: WindowConfig) -> sp.Lambda:
    """D(i) of the formula for this configuration, from ``pool.divisor_rule``."""
    rule = pool.divisor_rule()
    Ls, Ks, ss, ps, ii = sp.symbols("L K s p i", integer=True)
    key = "include_pad" if (cfg.count_include_pad or op.kind == "lp") else "exclude_pad"
    args = [ax.i for ax in op.axes]
    if cfg.divisor_override is not None and op.kind == "avg":
        return sp.Lambda(tuple(args), sp.Integer(cfg.divisor_override))
    body = sp.Integer(1)
    for ax, L, K, s, p in zip(op.axes, cfg.size, cfg.kernel, cfg.stride, cfg.padding):
        body *= rule[key].xreplace({Ls: L, Ks: K, ss: s, ps: 0 if op.kind == "lp" else p, ii: ax.i})
    return sp.Lambda(tuple(args), body)


@dataclass
class Checked:
    configs: int = 0
    entries: int = 0


def _symbols(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.empty(shape, dtype=object)
    for pos in itertools.product(*(range(m) for m in shape)):
        arr[pos] = sp.Symbol(prefix + "_" + "".join(map(str, pos)))
    return arr


def _engine(op: PoolOp, xv: np.ndarray, cfg: WindowConfig, out: tuple[int, ...], gv: np.ndarray) -> tuple[Any, Any]:
    """The generated kernels on raw arrays (no dtype checks: object arrays allowed)."""
    from nnref._generated import pool as k
    from nnref._pool import _divisor, _Window

    out_shape = xv.shape[:2] + out
    w = _Window(op.name, op.dims, xv, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode, out_shape, True)
    if op.kind == "avg":
        div = _divisor(w, cfg.count_include_pad, cfg.divisor_override)
        fwd = getattr(k, f"_{op.name}_forward")(xv, cfg.kernel, cfg.stride, cfg.padding, div, out_shape)
        return fwd, getattr(k, f"_{op.name}_vjp")(gv, xv, cfg.kernel, cfg.stride, cfg.padding, div)
    if op.kind == "max":
        fwd, chosen = getattr(k, f"_{op.name}_forward")(xv, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation,
                                                        out_shape)
        grad = getattr(k, f"_{op.name}_vjp")(gv, xv, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation)
        return (fwd, chosen), grad
    raise ValueError(op.kind)


def avg_exact_check(op: PoolOp, cfg: WindowConfig) -> int:
    """avg_pool on symbol arrays = the formula, and its VJP = SymPy's derivative, exactly."""
    out = _out_sizes(cfg)
    xv = _symbols("x", (1, 2) + cfg.size)
    gv = _symbols("g", (1, 2) + out)
    fwd, grad = _engine(op, xv, cfg, out, gv)
    env = _axis_env(op, cfg, out)
    env.update({pool.N: 1, pool.C: 2})
    divisor = _divisor_expr(op, cfg)
    formula = op.forward.replace(D, divisor)
    arrays = {"x": xv, "g": gv}
    count = 0
    for pos in itertools.product(range(1), range(2), *(range(m) for m in out)):
        letters = dict(zip((n, c, *[ax.i for ax in op.axes]), pos))
        want = affine.evaluate(formula, arrays, {**env, **letters})
        if sp.expand(fwd[pos] - want) != 0:
            raise AssertionError(f"{op.name} {cfg}: forward at {pos}: engine {fwd[pos]}, formula {want}")
        count += 1
    derived = op.gradient.formula.replace(D, divisor)
    for pos in itertools.product(range(1), range(2), *(range(m) for m in cfg.size)):
        letters = dict(zip(op.gradient.target, pos))
        want = affine.evaluate(derived, arrays, {**env, **letters})
        if sp.expand(grad[pos] - want) != 0:
            raise AssertionError(f"{op.name} {cfg}: gradient at {pos}: engine {grad[pos]}, SymPy {want}")
        count += 1
    return count


MAX_VALUES = [-2.0, -1.0, 0.0, 1.0, 2.0, np.nan, -np.inf, np.inf]


def max_exact_check(op: PoolOp, cfg: WindowConfig, seed: int, specials: bool = True) -> int:
    """max_pool on small-integer arrays with ties, NaN and ±inf = the selector formula with χ
    from the stated conventions (a loop), and the VJP = SymPy's derivative of it, exactly."""
    rng = np.random.default_rng(seed)
    out = _out_sizes(cfg)
    # mostly small integers (ties everywhere), sometimes NaN / ±inf, sometimes all −inf
    # (without NaN the engine takes its fast path, max then first match; with NaN, the scan)
    probs = np.array([4, 4, 4, 4, 4, 1, 1, 1] if specials else [4, 4, 4, 4, 4, 0, 1, 1], dtype=float)
    xv = rng.choice(MAX_VALUES, size=(2, 2) + cfg.size, p=probs / probs.sum())
    xv[1, 1] = -np.inf
    gv = rng.integers(-3, 4, size=(2, 2) + out).astype(np.float64)
    (fwd, chosen), grad = _engine(op, xv, cfg, out, gv)
    want_y, want_i, want_g = pool.reference_max_pool(xv, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, out, gv)
    from nnref._pool import _index, _Window
    from nnref._window import flat_index

    w = _Window(op.name, op.dims, xv, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode,
                xv.shape[:2] + out, True)
    flat = flat_index(chosen, _index(w), "nc" + POSITION_LETTERS[:op.dims], xv.shape,
                      KERNEL_LETTERS[:op.dims], cfg.kernel)
    if not np.array_equal(fwd, want_y, equal_nan=True):
        raise AssertionError(f"{op.name} {cfg}: forward differs from the selector formula")
    if not np.array_equal(flat, want_i):
        raise AssertionError(f"{op.name} {cfg}: indices differ from the conventions")
    if not np.array_equal(grad, want_g):
        raise AssertionError(f"{op.name} {cfg}: gradient differs from the conventions")
    # SymPy's derived formula Σ_i Σ_k g[i]·χ[i, k]·[j = s·i + d·k − p] at every entry, with χ
    # the one-hot of the conventions' choice.
    chi_v = np.zeros(xv.shape[:2] + out + cfg.kernel, dtype=np.int64)
    for pos in itertools.product(*(range(m) for m in xv.shape[:2] + out)):
        chi_v[pos + tuple(np.unravel_index(int(chosen[pos]), cfg.kernel))] = 1
    env = _axis_env(op, cfg, out)
    env.update({pool.N: 2, pool.C: 2})
    count = int(fwd.size * 2)
    for pos in itertools.product(*(range(m) for m in xv.shape)):
        letters = dict(zip(op.gradient.target, pos))
        want = affine.evaluate(op.gradient.formula, {"g": gv, "chi": chi_v}, {**env, **letters})
        if float(want) != grad[pos]:
            raise AssertionError(f"{op.name} {cfg}: gradient at {pos}: engine {grad[pos]}, SymPy {want}")
        count += 1
    return count


def lp_exact_check(op: PoolOp, cfg: WindowConfig, p_value: int) -> int:
    """lp_pool at rational points: the engine (float64) against the formula and SymPy's
    derivative evaluated exactly, then rounded: agreement to a few ulp."""
    from nnref import _pool as public

    rng = np.random.default_rng(p_value)
    out = _out_sizes(cfg)
    xr = rng.integers(1, 9, size=(1, 1) + cfg.size)
    gr = rng.integers(-3, 4, size=(1, 1) + out)
    xf, gf = xr.astype(np.float64) / 4, gr.astype(np.float64)
    name = op.name
    y = getattr(public, name)(xf, float(p_value), cfg.kernel, cfg.stride, cfg.ceil_mode)
    gx = getattr(public, f"{name}_backward")(gf, xf, float(p_value), cfg.kernel, cfg.stride, cfg.ceil_mode)["input"]
    env = _axis_env(op, cfg, out)
    env.update({pool.N: 1, pool.C: 1})
    subs = {D: _divisor_expr(op, cfg)}
    xs = np.vectorize(lambda v: sp.Rational(int(v), 4), otypes=[object])(xr)
    gs = np.vectorize(lambda v: sp.Integer(int(v)), otypes=[object])(gr)
    kt = int(np.prod(cfg.kernel))
    formula = op.forward.replace(D, subs[D]).xreplace({P: p_value, Kt: kt})
    count = 0
    for pos in itertools.product(range(1), range(1), *(range(m) for m in out)):
        at = {**env, **dict(zip((n, c, *[a.i for a in op.axes]), pos))}
        want = float(sp.N(affine.evaluate(formula, {"x": xs}, at), 30))
        if abs(y[pos] - want) > 4e-16 * abs(want):
            raise AssertionError(f"{name} {cfg}: forward at {pos}: {y[pos]} vs {want}")
        count += 1
    derived = op.gradient.formula.replace(D, subs[D]).xreplace({P: p_value, Kt: kt})
    for pos in itertools.product(range(1), range(1), *(range(m) for m in cfg.size)):
        at = {**env, **dict(zip(op.gradient.target, pos))}
        want = float(sp.N(affine.evaluate(derived, {"x": xs, "g": gs}, at), 30))
        if abs(gx[pos] - want) > 1e-14 * max(1.0, abs(want)):
            raise AssertionError(f"{name} {cfg}: gradient at {pos}: {gx[pos]} vs {want}")
        count += 1
    return count


def check_windows(op: PoolOp, profile: str = "ci") -> Checked:
    done = Checked()
    for k, cfg in enumerate(window_grid(op, profile)):
        if op.kind == "avg":
            done.entries += avg_exact_check(op, cfg)
        elif op.kind == "max":
            done.entries += max_exact_check(op, cfg, seed=k) + max_exact_check(op, cfg, seed=k, specials=False)
        elif op.kind == "lp":
            done.entries += lp_exact_check(op, cfg, 2 + k % 2)
        done.configs += 1
    return done


# ----------------------------------------------------------------------------- adaptive and unpool


def adaptive_exact_check(op: PoolOp, size: tuple[int, ...], out: tuple[int, ...], seed: int = 0) -> int:
    """adaptive_avg on symbols = the formula and its SymPy derivative exactly; adaptive_max
    on small integers with NaN = the selector formula with χ chosen over the window in
    row-major order by the conventions' loop."""
    from nnref import _pool as public

    env: dict[sp.Symbol, int] = {pool.N: 1, pool.C: 1}
    for ax, L, M in zip(op.axes, size, out):
        env.update({ax.L: L, ax.M: M})
    count = 0
    if op.kind == "adaptive_avg":
        xv = _symbols("x", (1, 1) + size)
        gv = _symbols("g", (1, 1) + out)
        from nnref._generated import pool as k
        from nnref._pool import _adaptive_avg, _adaptive_avg_vjp

        bounds = [k.adaptive_bounds(L, M) for L, M in zip(size, out)]
        total, cnt = _adaptive_avg(xv, bounds)
        fwd = total / cnt
        grad = _adaptive_avg_vjp(gv, xv.shape, bounds, cnt)
        for pos in itertools.product(range(1), range(1), *(range(m) for m in out)):
            letters = dict(zip((n, c, *[ax.i for ax in op.axes]), pos))
            want = affine.evaluate(op.forward.replace(pool.W, pool.window_indicator()), {"x": xv},
                                   {**env, **letters})
            if sp.expand(fwd[pos] - want) != 0:
                raise AssertionError(f"{op.name} {size}->{out}: forward at {pos}: {fwd[pos]} vs {want}")
            count += 1
        for pos in itertools.product(range(1), range(1), *(range(m) for m in size)):
            want = affine.evaluate(op.gradient.formula.replace(pool.W, pool.window_indicator()), {"g": gv},
                                   {**env, **dict(zip(op.gradient.target, pos))})
            if sp.expand(grad[pos] - want) != 0:
                raise AssertionError(f"{op.name} {size}->{out}: gradient at {pos}: {grad[pos]} vs {want}")
            count += 1
        return count
    rng = np.random.default_rng(seed)
    xv = rng.choice([-1.0, 0.0, 1.0, np.nan, -np.inf], size=(1, 2) + size, p=[0.3, 0.3, 0.3, 0.05, 0.05])
    gv = rng.integers(-3, 4, size=(1, 2) + out).astype(np.float64)
    y, ind = getattr(public, op.name)(xv, out, return_indices=True)
    gx = getattr(public, f"{op.name}_backward")(gv, xv, out)["input"]
    from nnref._generated import pool as k

    bounds = [k.adaptive_bounds(L, M) for L, M in zip(size, out)]
    want_g = np.zeros(xv.shape)
    chi_v = np.zeros((1, 2) + out + size, dtype=np.int64)
    for b, cc in itertools.product(range(1), range(2)):
        for pos in itertools.product(*(range(m) for m in out)):
            cells = list(itertools.product(*(range(int(bounds[a][0][i]), int(bounds[a][1][i]))
                                             for a, i in enumerate(pos))))
            t = pool.chosen_tap([float(xv[(b, cc, *cell)]) for cell in cells])
            assert t is not None
            cell = cells[t]
            if not (np.array_equal(y[(b, cc, *pos)], xv[(b, cc, *cell)], equal_nan=True)
                    and ind[(b, cc, *pos)] == np.ravel_multi_index(cell, size)):
                raise AssertionError(f"{op.name} {size}->{out}: window {pos} chose {ind[(b, cc, *pos)]}, the"
                                     f" conventions {cell}")
            want_g[(b, cc, *cell)] += gv[(b, cc, *pos)]
            chi_v[(b, cc, *pos, *cell)] = 1
            count += 1
    if not np.array_equal(gx, want_g):
        raise AssertionError(f"{op.name} {size}->{out}: gradient differs from the conventions")
    env[pool.C] = 2
    for pos in itertools.product(range(1), range(2), *(range(m) for m in size)):
        at = {**env, **dict(zip(op.gradient.target, pos))}
        want = affine.evaluate(op.gradient.formula, {"g": gv, "chi": chi_v}, at)
        if float(want) != gx[pos]:
            raise AssertionError(f"{op.name} {size}->{out}: gradient at {pos}: {gx[pos]} vs SymPy {want}")
        count += 1
    return count


def adaptive_grid(op: PoolOp) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    if op.dims == 1:
        return [((5,), (1,)), ((5,), (3,)), ((7,), (3,)), ((3,), (5,)), ((4,), (4,))]
    return [((4, 5), (1, 1)), ((5, 4), (3, 2)), ((3, 2), (4, 3)), ((5, 5), (2, 4))]


def unpool_exact_check(op: PoolOp) -> int:
    """max_unpool's VJP = SymPy's derivative g[n, c, idx[n, c, i]], exactly, at symbols."""
    from nnref import _pool as public

    size = (3,) * op.dims
    out = (7,) if op.dims == 1 else (5, 6)  # kernel 2, stride 2: between 4 and 8 (exclusive)
    rng = np.random.default_rng(1)
    plane = int(np.prod(out))
    ind = np.stack([rng.permutation(plane)[: int(np.prod(size))] for _ in range(2)]).reshape((1, 2) + size)
    gv = _symbols("g", (1, 2) + out)
    gflat = gv.reshape(1, 2, plane)
    grad = np.take_along_axis(gflat, ind.reshape(1, 2, -1), axis=2).reshape((1, 2) + size)
    env: dict[Any, int] = {pool.N: 1, pool.C: 2, sp.Symbol("M", integer=True, positive=True): plane}
    for ax, L in zip(op.axes, size):
        env[ax.L] = L
    count = 0
    for pos in itertools.product(range(1), range(2), *(range(m) for m in size)):
        letters = dict(zip(op.gradient.target, pos))
        want = affine.evaluate(op.gradient.formula, {"g": gflat, "idx": ind}, {**env, **letters})
        if want != grad[pos]:
            raise AssertionError(f"{op.name}: gradient at {pos}: engine {grad[pos]}, SymPy {want}")
        count += 1
    # and the public function agrees with the same gather on numbers
    gnum = rng.standard_normal((1, 2) + out)
    xnum = rng.standard_normal((1, 2) + size)
    got = getattr(public, f"{op.name}_backward")(gnum, xnum, ind, (2,) * op.dims, output_size=out)["input"]
    if not np.array_equal(got, np.take_along_axis(gnum.reshape(1, 2, plane), ind.reshape(1, 2, -1),
                                                  axis=2).reshape(xnum.shape)):
        raise AssertionError(f"{op.name}: the public backward is not g at the indices")
    return count


# ----------------------------------------------------------------------------- sizes


def size_rule_agrees(limit: int = 9) -> int:
    """The derived closed forms equal torch's two-step rule wherever torch allows the call
    (p <= K/2) and the output is not empty."""
    from nnref._generated import pool as k

    count = 0
    for L, K, s, d in itertools.product(range(1, limit), range(1, 5), range(1, 5), range(1, 4)):
        for p in range(0, K // 2 + 1):
            for ceil in (False, True):
                want = torch_rule(L, K, s, p, d, ceil)
                if want < 1:
                    continue
                got = k.pool_out_size(L, K, s, p, d, ceil)
                if got != want:
                    raise AssertionError(f"L={L} K={K} s={s} p={p} d={d} ceil={ceil}: derived {got}, torch {want}")
                count += 1
    return count


def sympy_max_tie() -> sp.Expr:
    """SymPy's derivative of max(a, b) with respect to a, at a = b: Heaviside(0) = 1/2."""
    a, b = sp.symbols("a b", real=True)
    return sp.diff(sp.Max(a, b), a).subs({a: 1, b: 1})


__all__ = ["WindowConfig", "window_grid", "check_windows", "adaptive_exact_check", "adaptive_grid",
           "unpool_exact_check", "size_rule_agrees", "torch_rule", "sympy_max_tie", "chi", "g", "idx", "x"]
