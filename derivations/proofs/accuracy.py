"""Accuracy against the oracle: any implementation's errors, in ulps of the true value.

``measure(call)`` runs an implementation over every sweep of ``derivations.oracle`` (the
same points the truths were computed at) and returns, per op, dtype and quantity, the
error of every point in ulps of the true value in the result's dtype.  nnref's errors are
held to the bounds declared beside each op (``PointwiseOp.bounds`` and ``near_zero``) by
``tests/test_accuracy.py``; torch's are measured the same way for the Accuracy page.

An error is (computed − hi − lo) / ulp(truth), where hi + lo is the truth as a
double-double and ulp(t) is the spacing of the dtype's numbers at |t|.  Where the truth is
beyond the dtype's largest finite number the result must be the infinity of the same sign;
where the truth is 0 it must be exactly 0.  Points where the truth is undefined, or where a
convention decides the value, are not judged here.

Owns: the error measure, the bound check and nnref's call on a sweep.  Imports: ``derivations.oracle``, the schema,
NumPy and SymPy (to evaluate a declared neighbourhood); the implementation comes as a
callable.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import oracle
from ..spec import DEFAULT_BOUNDS, Bound, PointwiseOp

# call(op, inputs, params, dtype) -> {quantity: array}: the value and the derivatives
Call = Callable[[PointwiseOp, dict[str, np.ndarray], dict[str, Any]], dict[str, np.ndarray]]


@dataclass
class Errors:
    """One config's errors for one quantity."""

    cfg: oracle.Config
    quantity: str
    ulps: np.ndarray  # |error| in ulps (inf where a non-finite result is wrong, 0 where it is right)
    near: np.ndarray  # inside a declared neighbourhood of a derivative's zero
    scaled: np.ndarray  # |error| / (eps · local scale) there, else 0
    inputs: dict[str, np.ndarray]


def load() -> tuple[list[oracle.Config], dict[str, np.ndarray]]:
    cfgs = oracle.configs()
    with np.load(oracle.DATA) as data:
        arrays = {k: data[k] for k in data.files}
    manifest = json.loads(str(arrays.pop("manifest")))
    keys = [c["key"] for c in manifest["configs"]]
    if keys != [c.key for c in cfgs]:
        raise RuntimeError("the oracle data does not match today's sweeps: run python -m derivations oracle")
    return cfgs, arrays


def ulp_of(t: np.ndarray, dtype: str) -> np.ndarray:
    """The spacing of ``dtype``'s numbers at |t| (t already finite in that dtype)."""
    if dtype == "float64":
        return np.spacing(np.abs(t))
    with np.errstate(over="ignore"):
        t32 = np.abs(t).astype(np.float32)
    return np.spacing(t32).astype(np.float64)


def errors_of(got: np.ndarray, hi: np.ndarray, lo: np.ndarray, dtype: str) -> np.ndarray:
    """|error| in ulps of the truth; inf where a non-finite result is wrong."""
    g = np.asarray(got, dtype=np.float64)
    out = np.zeros(g.shape)
    big = float(np.finfo(np.float64 if dtype == "float64" else np.float32).max)
    defined = ~np.isnan(hi)
    with np.errstate(over="ignore", invalid="ignore"):
        # Correct rounding sends a truth beyond the largest finite number (by half an ulp or
        # more) to the infinity of its sign; a truth just above it rounds to the largest.
        # (for float64, hi is already that rounding: the oracle rounds the truth to float64)
        if dtype == "float64":
            overflow = defined & np.isinf(hi)
        else:
            halfway = big + 2.0 ** 103  # half of float32's top spacing, 2^104
            overflow = defined & (np.abs(hi) >= halfway)
        expect_inf = np.sign(hi) * np.inf
        out[overflow] = np.where(g[overflow] == expect_inf[overflow], 0.0, np.inf)
        finite = defined & ~overflow
        bad = finite & ~np.isfinite(g)
        out[bad] = np.inf
        ok = finite & np.isfinite(g)
        unit = ulp_of(hi[ok], dtype)
        err = np.abs((g[ok] - hi[ok]) - lo[ok])
        # A truth of exactly 0 has no ulp: the result must be 0 too.
        out[ok] = np.where(hi[ok] == 0, np.where(g[ok] == 0, 0.0, np.inf), err / unit)
    return out


def _modules() -> list[Any]:
    from nnref import _special

    return [{"Ncdf": _special.ncdf, "Npdf": _special.npdf, "erfc": _special.erfc, "erf": _special.erf,
             "XMinusTanh": _special.x_minus_tanh, "SigmoidSlope": _special.sigmoid_slope}, "numpy"]


_MODULES = _modules()


def _neighbourhood(op: PointwiseOp, quantity: str, values: dict[str, np.ndarray],
                   params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    n = len(next(iter(values.values())))
    mask = np.zeros(n, dtype=bool)
    scale = np.zeros(n)
    env = {**oracle._optional_defaults(op), **{k: np.asarray(v, dtype=np.float64) for k, v in values.items()}, **params}
    syms = {s.name: env[k] for k, s in op.symbols.items() if k in env}
    for nz in op.near_zero:
        if nz.wrt != quantity:
            continue
        args = sorted(syms)
        cond = sp.lambdify([sp.Symbol(a, real=True) for a in args],
                           nz.condition.subs({s: sp.Symbol(s.name, real=True) for s in nz.condition.free_symbols}),
                           modules=_MODULES)
        size = sp.lambdify([sp.Symbol(a, real=True) for a in args],
                           nz.scale.subs({s: sp.Symbol(s.name, real=True) for s in nz.scale.free_symbols}),
                           modules=_MODULES)
        with np.errstate(all="ignore"):
            here = np.broadcast_to(np.asarray(cond(*(syms[a] for a in args)), dtype=bool), (n,))
            s = np.broadcast_to(np.abs(np.asarray(size(*(syms[a] for a in args)), dtype=np.float64)), (n,))
        mask |= here
        scale = np.where(here, np.maximum(scale, s), scale)
    return mask, scale


def measure(call: Call) -> list[Errors]:
    cfgs, arrays = load()
    out = []
    for index, cfg in enumerate(cfgs):
        inputs = oracle.inputs_of(cfg)
        params = dict(cfg.params)
        results = call(cfg.op, inputs, params)
        for q in cfg.quantities():
            hi, lo = arrays[f"{index}:{q}.hi"], arrays[f"{index}:{q}.lo"]
            got = results[q]
            ulps = errors_of(got, hi, lo, cfg.dtype)
            near, scale = _neighbourhood(cfg.op, q, inputs, params)
            eps = float(np.finfo(np.float64 if cfg.dtype == "float64" else np.float32).eps)
            with np.errstate(all="ignore"):
                err_abs = np.abs(np.asarray(got, dtype=np.float64) - hi - lo)
                scaled = np.where(near & np.isfinite(err_abs), err_abs / (eps * scale), np.where(near, np.inf, 0.0))
            # where the truth is undefined (or a convention decides) nothing is judged
            scaled = np.where(np.isnan(hi), 0.0, scaled)
            out.append(Errors(cfg, q, ulps, near, scaled, inputs))
    return out


def nnref_call(op: PointwiseOp, inputs: dict[str, np.ndarray], params: dict[str, Any],
               strict: bool = False) -> dict[str, np.ndarray]:
    """nnref's value and derivatives (upstream gradient 1) at a sweep: the measure's ``call``.
    ``strict`` turns any warning into an error (the test suite's setting)."""
    import nnref

    kwargs: dict[str, Any] = dict(params)
    if op.variant_of:
        kwargs.update(op.variant_of[1])
    if op.reduction:
        kwargs["reduction"] = "none"
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore")
        value = getattr(nnref, op.public)(**inputs, **kwargs)
        grads = getattr(nnref, f"{op.public}_backward")(np.ones_like(value), **inputs, **kwargs)
    return {"value": value, **grads}


def bound(op: PointwiseOp, dtype: str, quantity: str) -> Bound:
    return op.bounds.get((dtype, quantity), DEFAULT_BOUNDS[dtype])


def violations(errs: list[Errors], near_factor: float = 2.0) -> list[str]:
    """Every point outside its declared bound, as readable lines (worst first per sweep)."""
    lines = []
    for e in errs:
        b = bound(e.cfg.op, e.cfg.dtype, e.quantity).ulps
        bad = np.where(e.near, e.scaled > near_factor, e.ulps > b)
        if bad.any():
            worst = int(np.argmax(np.where(bad, np.where(e.near, e.scaled, e.ulps), -1)))
            x = {k: float(v[worst if v.size > 1 else 0]) for k, v in e.inputs.items()}
            lines.append(f"{e.cfg.key} {e.quantity}: {int(bad.sum())} point(s) over {b} ulp; worst at {x}:"
                         f" {e.ulps[worst]:.3g} ulp" + (" (near a zero)" if e.near[worst] else ""))
    return lines


def table(errs: list[Errors]) -> dict[tuple[str, str, str], tuple[float, dict[str, float]]]:
    """(op name, dtype, quantity) -> (max ulps outside declared neighbourhoods, where)."""
    out: dict[tuple[str, str, str], tuple[float, dict[str, float]]] = {}
    for e in errs:
        key = (e.cfg.op.name, e.cfg.dtype, e.quantity)
        u = np.where(e.near, 0.0, e.ulps)
        if not u.size:
            continue
        i = int(np.argmax(u))
        where = {**{k: float(v[i if v.size > 1 else 0]) for k, v in e.inputs.items()}, **dict(e.cfg.params)}
        if key not in out or u[i] > out[key][0]:
            out[key] = (float(u[i]), where)
    return out
