"""The accuracy oracle: every pointwise op's own definition, evaluated in arbitrary precision.

Mathematics is the judge.  For every activation (parameterised ones at several parameter
values) and every elementwise loss, the *definition* (not the engine's rewrite) and SymPy's
raw derivative of it are evaluated with mpmath on a fixed sweep of each dtype's finite
domain: a dense core, log-spaced magnitudes out to the overflow limits, points within a few
ulps of every kink and threshold and of exp's overflow and underflow edges, ±0 and
subnormals.  The precision is raised until two evaluations agree.

Each true value is stored as a double-double (hi + lo, hi the value rounded to float64), so
that an error can be measured in ulps of the true value without the truth's own rounding
getting in the way.  ``python -m derivations oracle`` writes ``tests/data/oracle.npz``;
``python -m derivations check`` compares the fingerprint stored there (every definition,
every sweep) with today's, so a changed definition cannot be judged by stale truths.

Owns: the sweep, the truth, the data file and its fingerprint.  Imports: the registry, the
schema, ``.derive``, SymPy, mpmath and NumPy; no printer, no engine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from . import registry
from .derive import raw_derivative
from .spec import IsInf, IsNaN, PointwiseOp

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "oracle.npz"
VERSION = 3
DTYPES = ("float64", "float32")

# The other arguments of a two-argument loss are held at these values while one is swept.
ANCHORS = {
    "real": (-1.5, 0.75, 3.0),
    "unit": (0.0, 0.3, 1.0),
    "positive": (0.5, 2.0),
    "nonneg": (0.0, 1.5, 4.0),
    "sign": (-1.0, 0.5, 1.0),
    "pm1": (-1.0, 1.0),
}
# A truth of exactly 0 is believed at this many digits (float64's smallest subnormal is
# 4.9e-324; a cancellation of two terms near 1 leaves at most ~1100 digits to see).
ZERO_DPS = 1400
# Parameters with no default take these values (as in the tests).
REQUIRED = {"threshold": 0.5, "value": -0.5}


@dataclass(frozen=True)
class Config:
    """One sweep: an op at one parameter setting and dtype, one input swept, the others held."""

    op: PointwiseOp
    params: tuple[tuple[str, float], ...]
    dtype: str
    swept: str
    held: tuple[tuple[str, float], ...]

    @property
    def key(self) -> str:
        p = ",".join(f"{k}={v!r}" for k, v in self.params)
        h = ",".join(f"{k}={v!r}" for k, v in self.held)
        return f"{self.op.name}|{self.dtype}|{self.swept}|{h}|{p}"

    def quantities(self) -> list[str]:
        """'value', then each differentiable elementwise input (its derivative)."""
        return ["value", *[a.name for a in self.op.args if a.grad and a.layout in ("elementwise", "var")]]


def _param_sets(op: PointwiseOp) -> list[dict[str, float]]:
    """The defaults, then each float parameter at both ends of its test range."""
    base: dict[str, float] = {}
    for p in op.params:
        if p.symbol is None:
            continue
        base[p.name] = float(REQUIRED[p.name] if p.default is None else p.default)
    sets = [base]
    for p in op.params:
        if p.symbol is None or p.test_range is None:
            continue
        for end in p.test_range:
            cand = {**base, p.name: float(end)}
            if any(not eval(cond, {}, cand) for _, cond, _ in op.relations):  # noqa: S307 - the record's own condition
                continue
            if cand not in sets:
                sets.append(cand)
    return sets


def configs() -> list[Config]:
    out = []
    for op in registry.all_ops():
        if not isinstance(op, PointwiseOp):
            continue
        arrays = [a for a in op.args if a.optional is None]
        if any(a.layout not in ("elementwise", "channel", "var") for a in arrays):
            continue
        for base in _param_sets(op):
            for dtype in DTYPES:
                # nnref takes a float parameter in the input's dtype (as torch does): the truth
                # of a float32 call is the definition at the float32-rounded parameter
                params = {k: float(np.float32(v)) if dtype == "float32" else v for k, v in base.items()}
                for a in arrays:
                    if a.layout == "channel":
                        continue
                    others = [b for b in arrays if b is not a]
                    holds = _holds(others)
                    for held in holds:
                        out.append(Config(op, tuple(params.items()), dtype, a.name, held))
    return out


def _holds(others: list[Any]) -> list[tuple[tuple[str, float], ...]]:
    """Values for the inputs not swept: each anchor of one other input; with several others,
    their anchors side by side (a diagonal, not every combination, which would multiply the
    sweep without reaching a new regime)."""
    if not others:
        return [()]
    lists = [ANCHORS[b.test_domain] if b.layout != "channel" else (0.25, -0.5) for b in others]
    rows = max(len(v) for v in lists)
    # the k-th other input starts k anchors further on, so that two inputs of one domain are
    # never held equal (margin_ranking_loss would sit on its kink for the whole sweep)
    return [tuple((b.name, float(v[(i + k) % len(v)])) for k, (b, v) in enumerate(zip(others, lists, strict=True)))
            for i in range(rows)]


# ----------------------------------------------------------------------------- the sweep


def _near(values: list[float], dt: type, ulps: int = 3) -> list[float]:
    """Each value, rounded to the dtype, and its neighbours up to ``ulps`` steps away."""
    out = []
    for v in values:
        c = dt(v)
        if not np.isfinite(c):
            continue
        lo = hi = c
        out.append(c)
        for _ in range(ulps):
            lo = np.nextafter(lo, dt(-np.inf))
            hi = np.nextafter(hi, dt(np.inf))
            out += [lo, hi]
    return [float(v) for v in out]


def _kinks(op: PointwiseOp, params: dict[str, float], held: dict[str, float], swept: sp.Symbol) -> list[float]:
    """Where a branch of the definition, or a convention, changes: the roots in the swept
    symbol of every relation in the definition and in the conventions' conditions."""
    subs = {op.symbols[k]: sp.Float(v, 30) for k, v in {**_optional_defaults(op), **params, **held}.items()
            if k in op.symbols}
    rels: list[Any] = list(op.definition.atoms(sp.core.relational.Relational))
    for c in op.conventions:
        if isinstance(c.condition, sp.Basic):
            rels += list(c.condition.atoms(sp.core.relational.Relational))
    points: list[float] = []
    for r in rels:
        expr = (r.lhs - r.rhs).subs(subs)
        if expr.free_symbols != {swept}:
            continue
        try:
            roots = sp.solve(expr, swept)
        except NotImplementedError:
            continue
        points += [float(z) for z in roots if z.is_real]
    for c in op.conventions:
        v = c.point.get(next(a.name for a in op.args if a.symbol == swept), None)
        if v is not None and np.isfinite(v):
            points.append(float(v))
    return points


def sweep(domain: str, dtype: str, kinks: list[float]) -> np.ndarray:
    """The points of one swept input: sorted, unique, every one exactly a ``dtype`` value."""
    with np.errstate(over="ignore", under="ignore"):
        return _sweep(domain, np.float64 if dtype == "float64" else np.float32, kinks)


def _ln(v: float) -> float:
    """log, correctly rounded: NumPy's log picks a SIMD kernel by CPU (AVX-512 and AVX2 differ
    in the last bit), and the sweep, hence the stored truths' fingerprints, must not."""
    with mpmath.workprec(160):
        return float(mpmath.log(mpmath.mpf(v)))


def _geomspace(a: float, b: float, n: int) -> list[float]:
    """``n`` points from ``a`` to ``b`` (both > 0) in geometric progression, each correctly
    rounded (numpy.geomspace's digits depend on the CPU's SIMD kernels, see ``_ln``)."""
    with mpmath.workprec(160):
        la, lb = mpmath.log(mpmath.mpf(a)), mpmath.log(mpmath.mpf(b))
        inner = [float(mpmath.exp(la + (lb - la) * i / (n - 1))) for i in range(1, n - 1)]
    return [a, *inner, b]


def _sweep(domain: str, dt: Any, kinks: list[float]) -> np.ndarray:
    fi = np.finfo(dt)
    tiny_sub = float(np.nextafter(dt(0), dt(1)))
    big = float(fi.max)
    # exp's edges in this dtype: where e^x overflows, turns subnormal, and underflows to 0
    edges = [_ln(big), _ln(float(fi.tiny)), _ln(tiny_sub)]
    pts: list[float] = []
    if domain == "real":
        pts += list(np.linspace(-10.0, 10.0, 201))
        mags = _geomspace(tiny_sub, big, 90)
        pts += [float(s * m) for m in mags for s in (1.0, -1.0)]
        pts += _near([0.0, -0.0, tiny_sub, -tiny_sub, float(fi.tiny), -float(fi.tiny), big, -big], dt, 1)
        pts += _near([s * e for e in edges for s in (1.0, -1.0)], dt, 2)
        pts += _near(kinks, dt, 3)
    elif domain == "unit":
        pts += list(np.linspace(0.0, 1.0, 101))
        small = _geomspace(tiny_sub, 0.5, 70)
        pts += [float(m) for m in small] + [float(1.0 - m) for m in small]
        pts += _near([0.0, 1.0, 0.5], dt, 3) + _near(kinks, dt, 3)
    elif domain in ("positive", "nonneg"):
        pts += list(np.linspace(0.0, 10.0, 101)[1:])
        pts += [float(m) for m in _geomspace(tiny_sub, big, 120)]
        pts += _near([tiny_sub, float(fi.tiny), 1.0, big], dt, 2) + _near([e for e in edges if e > 0], dt, 2)
        pts += _near([k for k in kinks if k > 0], dt, 3)
        if domain == "nonneg":
            pts.append(0.0)
    elif domain == "sign":
        pts += list(np.linspace(-1.0, 1.0, 41))
    elif domain == "pm1":
        pts += [-1.0, 1.0]
    else:
        raise ValueError(f"no sweep for test domain {domain!r}")
    arr = np.array([p for p in pts if np.isfinite(p)], dtype=np.float64).astype(dt)
    arr = arr[np.isfinite(arr)]
    if domain in ("unit",):
        arr = arr[(arr >= 0) & (arr <= 1)]
    if domain == "positive":
        arr = arr[arr > 0]
    # np.unique merges -0.0 with 0.0 and keeps whichever came first, which follows the order
    # SymPy happened to list the kinks in (set order, so per process): the merged zero is +0,
    # and -0.0 comes back only where the domain has it
    out = np.unique(arr)
    out[out == 0] = 0.0
    if domain == "real":
        out = np.concatenate([out, np.array([-0.0], dtype=dt)])
    return out


def inputs_of(cfg: Config) -> dict[str, np.ndarray]:
    """The arrays nnref is called with for this config (every one in the config's dtype)."""
    op = cfg.op
    args = {a.name: a for a in op.args}
    swept = args[cfg.swept]
    kinks = _kinks(op, dict(cfg.params), dict(cfg.held), swept.symbol)
    x = sweep(swept.test_domain, cfg.dtype, kinks)
    out = {cfg.swept: x}
    for k, v in cfg.held:
        # a per-channel argument (prelu's weight) is one value for the one channel of a 1-D input
        shape = (1,) if args[k].layout == "channel" else x.shape
        out[k] = np.full(shape, v, dtype=x.dtype)
    return out


# ----------------------------------------------------------------------------- the truth


def definite(expr: sp.Expr) -> sp.Expr:
    """Heaviside(0) has no value a truth could use (conventions decide there, and those points
    are skipped); elsewhere it is 0 or 1."""
    return expr.replace(sp.Heaviside, lambda *a: sp.Piecewise((0, a[0] < 0), (1, True)))


def _expression(op: PointwiseOp, quantity: str) -> sp.Expr:
    return definite(op.definition if quantity == "value" else raw_derivative(op, quantity))


def _compile(op: PointwiseOp, quantity: str) -> tuple[Any, list[sp.Symbol]]:
    syms = sorted(op.symbols.values(), key=lambda s: s.name)
    return sp.lambdify(syms, _expression(op, quantity), modules="mpmath"), syms


def _exact(fn: Any, values: list[float], dps: int) -> Any:
    with mpmath.workdps(dps):
        try:
            v = fn(*(mpmath.mpf(float(a)) for a in values))
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            return None
        if isinstance(v, (int, float)):
            v = mpmath.mpf(v)
        if not isinstance(v, mpmath.mpf) or not mpmath.isfinite(v):
            return None
        return +v


def truth(fn: Any, values: list[float]) -> tuple[float, float]:
    """(hi, lo): the exact value as a double-double; NaN, NaN where it is not a finite real
    number (undefined, or a pole)."""
    # The first check is at 40 digits against 400: a sum can absorb a tiny term exactly at any
    # precision too short to hold it (1 + e^x at x = -709 needs 309 digits), and then two short
    # evaluations agree on a wrong value.  400 digits hold every term whose effect reaches a
    # float64 result (whose smallest subnormal is 4.9e-324).
    dps = 40
    prev = _exact(fn, values, dps)
    first = True
    while True:
        dps = 400 if first else dps * 2
        first = False
        cur = _exact(fn, values, dps)
        if prev is None and cur is None:
            return float("nan"), float("nan")
        if prev is not None and cur is not None:
            with mpmath.workdps(dps):
                if cur == 0 or prev == 0:
                    # An exact 0 at two precisions may be a cancellation both precisions
                    # were too short to see (e^x − 1 at x = 1e-83): 0 is accepted only at
                    # far more digits than any float64 input has significant ones.
                    if dps < ZERO_DPS:
                        dps = ZERO_DPS // 2
                        prev = _exact(fn, values, dps)
                        continue
                    if cur == 0 and prev == 0:
                        break
                elif abs(cur - prev) <= abs(cur) * mpmath.mpf(2) ** -120:
                    break
        if dps > 3 * ZERO_DPS:
            raise ArithmeticError(f"the truth does not settle at {values} (last {cur}, {prev})")
        prev = cur
    with mpmath.workdps(dps):
        hi = float(cur) if abs(cur) < mpmath.mpf(2) ** 1024 else float(mpmath.sign(cur)) * float("inf")
        lo = float(cur - hi) if np.isfinite(hi) else 0.0
    return hi, lo


def _skip(op: PointwiseOp, quantity: str, point: dict[str, float]) -> bool:
    """A convention decides this quantity here: its truth is the convention, tested elsewhere."""
    subs = {op.symbols[k]: v for k, v in point.items() if k in op.symbols}
    for c in op.conventions:
        if quantity == "value" and c.value is None:
            continue
        if quantity != "value" and quantity not in c.grads:
            continue
        # The sweep's points are finite: the NaN and infinity markers are false there (left
        # unevaluated they would not compare, or would read as true).
        cond = c.condition.replace(IsNaN, lambda *a: sp.false).replace(IsInf, lambda *a: sp.false) \
            if isinstance(c.condition, sp.Basic) else c.condition
        try:
            if bool(cond.subs(subs)):
                return True
        except TypeError:
            # SymPy will not compare log(0) = zoo with a number; mpmath's log(0) is -inf
            if not isinstance(c.condition, sp.Basic):
                continue
            syms = sorted(cond.free_symbols, key=lambda q: q.name)
            fn = sp.lambdify(syms, cond, modules="mpmath")
            try:
                if bool(fn(*(mpmath.mpf(float(subs[q])) for q in syms))):
                    return True
            except (TypeError, ValueError, KeyError):
                continue
    return False


def _optional_defaults(op: PointwiseOp) -> dict[str, float]:
    """An optional array left out (pos_weight) means its constant (torch's None)."""
    return {a.name: float(a.optional) for a in op.args if a.optional is not None}


def evaluate(cfg: Config) -> dict[str, np.ndarray]:
    """hi and lo arrays of every quantity of one config (NaN where skipped or undefined)."""
    inputs = inputs_of(cfg)
    n = len(inputs[cfg.swept])
    out: dict[str, np.ndarray] = {}
    for q in cfg.quantities():
        fn, syms = _compile(cfg.op, q)
        hi = np.full(n, np.nan)
        lo = np.full(n, np.nan)
        for i in range(n):
            point = {**_optional_defaults(cfg.op), **dict(cfg.params),
                     **{k: float(v[i if v.size > 1 else 0]) for k, v in inputs.items()}}
            if _skip(cfg.op, q, point):
                continue
            names = {s.name: s for s in syms}
            by_symbol = {cfg.op.symbols[k].name: v for k, v in point.items() if k in cfg.op.symbols}
            hi[i], lo[i] = truth(fn, [by_symbol[s] for s in names])
        out[f"{q}.hi"] = hi
        out[f"{q}.lo"] = lo
    return out


# ----------------------------------------------------------------------------- the data file


def fingerprint(cfg: Config) -> str:
    """What the truth of a config depends on: the definition, its derivatives' inputs, the
    conventions that skip points, and the swept points themselves."""
    h = hashlib.sha256()
    h.update(sp.srepr(cfg.op.definition).encode())
    for c in cfg.op.conventions:
        h.update(sp.srepr(c.condition).encode() if isinstance(c.condition, sp.Basic) else b"")
        h.update(repr(sorted(c.grads)).encode())
    for k, v in sorted(inputs_of(cfg).items()):
        h.update(k.encode())
        h.update(np.ascontiguousarray(v).tobytes())
    h.update(cfg.key.encode())
    return h.hexdigest()[:16]


def _job(index: int) -> tuple[int, dict[str, np.ndarray]]:
    return index, evaluate(configs()[index])


def write(path: Path = DATA, jobs: int = 2) -> int:
    from concurrent.futures import ProcessPoolExecutor

    cfgs = configs()
    arrays: dict[str, np.ndarray] = {}
    with ProcessPoolExecutor(jobs) as pool:
        for index, result in pool.map(_job, range(len(cfgs)), chunksize=1):
            for k, v in result.items():
                arrays[f"{index}:{k}"] = v
    manifest = {"version": VERSION, "configs": [{"key": c.key, "fingerprint": fingerprint(c)} for c in cfgs]}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, manifest=np.array(json.dumps(manifest)), **arrays)
    return len(cfgs)


def stale(path: Path = DATA) -> list[str]:
    """Configs whose stored truths do not match today's definitions and sweeps."""
    if not path.exists():
        return ["(no oracle data: run python -m derivations oracle)"]
    with np.load(path) as data:
        manifest = json.loads(str(data["manifest"]))
    stored = {c["key"]: c["fingerprint"] for c in manifest["configs"]}
    out = []
    for c in configs():
        if stored.get(c.key) != fingerprint(c):
            out.append(c.key)
    if manifest["version"] != VERSION:
        out.append(f"(version {manifest['version']}, expected {VERSION})")
    extra = set(stored) - {c.key for c in configs()}
    return out + sorted(extra)
