"""One example, checked: an op's inputs run through the implementation and through nnref.

The adapter protocol (``Adapter``) is the boundary: arrays cross it as NumPy arrays both
ways.  ``check_case`` runs the forward pass (and, for ops returning indices, compares them
exactly), draws an upstream gradient of the output's shape, runs both vector-Jacobian
products, and measures every comparison (``Comparison``); the runner and
``tests/test_crosscheck.py`` both judge examples by it, so there is one cross-check.

Owns: the adapter protocol, loading an adapter by ``pkg.module:object``, ``check_case``, the
selection of ops by ``--ops`` / ``--family`` (``select``, shared with ``python -m nnref vectors``).
Imports: NumPy, ``nnref``, ``nnref.conformance.compare`` and ``.deviations``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

import nnref
from nnref._generated.catalog import CATALOG

from .compare import max_errors, ulps, wrong_entries
from .deviations import explained

VJP_OPS = [m for m in CATALOG if m["crosscheck"] == "vjp"]


def select(ops: str | None, family: str | None) -> list[dict[str, Any]]:
    """The catalog entries named by ``--ops a,b`` or ``--family f`` (every vjp-checked op by default)."""
    if ops and family:
        raise ValueError(f"--ops / --family: expected one of them, got both ({ops!r}, {family!r})")
    by_name = {m["name"]: m for m in VJP_OPS}
    if ops:
        names = [n.strip() for n in ops.split(",") if n.strip()]
        other = {m["name"]: m["crosscheck"] for m in CATALOG}
        for n in names:
            if n in other and n not in by_name:
                raise ValueError(f"--ops: expected ops checked by forward and VJP, got {n!r}, which nnref verifies"
                                 f" by {other[n]!r} (see its catalog entry)")
            if n not in by_name:
                raise ValueError(f"--ops: expected names from `python -m nnref ops`, got {n!r}")
        return [by_name[n] for n in names]
    if family:
        chosen = [m for m in VJP_OPS if m["family"] == family]
        if not chosen:
            families = sorted({m["family"] for m in VJP_OPS})
            raise ValueError(f"--family: expected one of {', '.join(families)}, got {family!r}")
        return chosen
    return list(VJP_OPS)


class Adapter(Protocol):
    name: str
    #: Devices the adapter can run on, e.g. ("cpu", "cuda"): each is checked separately.
    devices: tuple[str, ...]

    def available(self, device: str) -> str | None:
        """None when ``device`` can be used here, else the reason it cannot (skipped)."""

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any],
                device: str) -> np.ndarray:
        """Run op ``op`` (torch.nn.functional's name) and return its output (a tuple
        (values, int64 indices) where the op returns indices, as max pooling with
        return_indices=True does).  Raise NotImplementedError when the implementation has
        no such op: it is reported as not provided."""

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any],
            grad_output: np.ndarray, wrt: list[str], device: str) -> dict[str, np.ndarray]:
        """Gradient of <grad_output, op(inputs)> with respect to each input named in wrt (an
        array parameter such as a loss's weight may be named too).  For an op returning
        (values, indices), grad_output is the gradient of the values."""


def load(spec: str) -> Adapter:
    """The adapter named ``package.module:object`` (a class is instantiated).  The module is
    imported from the current directory or anywhere on PYTHONPATH."""
    if ":" not in spec:
        raise ValueError(f"--impl: expected 'package.module:object', got {spec!r}")
    module_name, _, attr = spec.partition(":")
    # `python -m` puts the current directory on sys.path, the `nnref` script does not: both
    # find an adapter module sitting beside the user.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"--impl: expected module {module_name!r} importable from the current directory"
                         f" ({os.getcwd()}) or PYTHONPATH, got ModuleNotFoundError: {exc}") from exc
    if not hasattr(module, attr):
        raise ValueError(f"--impl: expected {module_name!r} to define {attr!r}, got a module without it")
    obj = getattr(module, attr)
    adapter = obj() if isinstance(obj, type) else obj
    missing = [m for m in ("name", "devices", "available", "forward", "vjp") if not hasattr(adapter, m)]
    if missing:
        raise ValueError(f"--impl: expected an adapter with name, devices, available, forward and vjp,"
                         f" got {spec!r} lacking {', '.join(missing)}")
    return adapter


@dataclass
class Comparison:
    """One array of the implementation's against nnref's (``what``: forward, indices, d/dX)."""

    what: str
    ok: bool
    message: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    tol_units: float = 0.0
    ulps: float = 0.0
    deviations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CaseResult:
    comparisons: list[Comparison]
    grad_output: np.ndarray | None = None

    @property
    def failed(self) -> bool:
        return any(not c.ok for c in self.comparisons)

    @property
    def deviated(self) -> bool:
        return any(c.deviations for c in self.comparisons)

    @property
    def message(self) -> str:
        return "\n".join(c.message for c in self.comparisons if not c.ok)


@dataclass
class Deviations:
    """Known deviations and the implementation name their recorded values are filed under."""

    implementation: str = ""
    entries: tuple[dict[str, Any], ...] = ()


def _show(name: str, value: Any) -> str:
    # Small inputs are printed whole so a failure can be replayed by hand.
    body = np.array2string(value, precision=17, separator=", ") if value.size <= 8 else f"shape {value.shape}"
    return f"{name}={body}"


def describe(meta: dict[str, Any], inputs: dict[str, np.ndarray], params: dict[str, Any], dtype: str,
             device: str) -> str:
    shown = ", ".join(_show(k, v) for k, v in inputs.items() if v is not None)
    return f"{meta['name']}({shown}, {params}) [{dtype}, {device}]"


def compare(what: str, actual: Any, expected: Any, rtol: float, atol: float, dtype: str, where: str,
            known: Callable[[np.ndarray], tuple[np.ndarray, list[dict[str, Any]]]] | None = None) -> Comparison:
    """``actual`` against nnref's ``expected`` within (rtol, atol); ``known`` gives the mask of
    entries a listed deviation accounts for."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        return Comparison(what, False, f"{what} {where}: shape {a.shape}, expected {e.shape}", tol_units=np.inf)
    wrong = wrong_entries(a, e, rtol, atol)
    mask, used = known(a) if known is not None and wrong.any() else (np.zeros(a.shape, dtype=bool), [])
    keep = ~mask
    abs_err, rel_err, units = max_errors(a[keep], e[keep], rtol, atol)
    result = Comparison(what, True, "", abs_err, rel_err, units, ulps(a[keep], e[keep], dtype),
                        used if (wrong & mask).any() else [])
    bad = wrong & keep
    if bad.any():
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        if not (np.isfinite(a64[bad]) & np.isfinite(e64[bad])).all():
            result.tol_units = np.inf  # NaN or an infinity where nnref has another value
        idx = np.argwhere(bad)[:5]
        samples = "; ".join(f"at {tuple(int(i) for i in ix)}: got {float(a64[tuple(ix)])!r},"
                            f" expected {float(e64[tuple(ix)])!r}" for ix in idx)
        result.ok = False
        result.message = (f"{what} {where}: {int(bad.sum())} of {bad.size} entries differ"
                          f" (rtol={rtol}, atol={atol}); {samples}")
    return result


def _weight_grad_atol(op: Any, inputs: dict[str, np.ndarray], params: dict[str, Any], rtol: float) -> float:
    """Absolute error allowed in a loss's weight gradient.

    With reduction='mean' over the weight sum, d/dw_i = (l_i - L) / Σw: a difference of
    numbers as large as max|l| that cancel (exactly 0 for one element).  Its rounding
    error is therefore about rtol·max|l| / Σw, however small the gradient itself."""
    unweighted = {k: v for k, v in params.items() if k != "weight"}
    unweighted["reduction"] = "none"
    losses = np.abs(np.asarray(op.forward(**inputs, **unweighted), dtype=np.float64))
    scale = float(losses.max()) if losses.size else 0.0
    if params.get("reduction") == "mean":
        total = float(np.sum(params["weight"], dtype=np.float64))
        scale /= max(total, 1e-30) if total else 1.0
    return rtol * scale


def wrt_names(meta: dict[str, Any], inputs: dict[str, np.ndarray], params: dict[str, Any]) -> list[str]:
    # Only floating arrays have gradients (cross_entropy's class-index targets do not).
    wrt = [k for k in meta["differentiable"] if inputs.get(k) is not None and inputs[k].dtype.kind == "f"]
    # Array parameters torch differentiates too (the weight of mse/l1/huber_loss).
    return wrt + [p["name"] for p in meta["params"] if p.get("differentiable") and params.get(p["name"]) is not None]


def check_case(adapter: Adapter, meta: dict[str, Any], dtype: str, device: str, inputs: dict[str, np.ndarray],
               params: dict[str, Any], grad_output: Callable[[tuple[int, ...]], np.ndarray],
               deviations: Deviations | None = None) -> CaseResult:
    """Forward and vector-Jacobian product of one example; ``grad_output(shape)`` gives the
    upstream gradient.  NotImplementedError from the adapter propagates (not provided); any
    other exception it raises is a failed comparison."""
    name = meta["name"]
    op = nnref.get_op(name)
    tol = meta["tolerances"][dtype]
    rtol, atol = float(tol["rtol"]), float(tol["atol"])
    where = describe(meta, inputs, params, dtype, device)
    devs = deviations or Deviations()

    def known(direction: str, g: np.ndarray | None = None
              ) -> Callable[[np.ndarray], tuple[np.ndarray, list[dict[str, Any]]]] | None:
        if not devs.entries:
            return None
        return lambda a: explained(devs.entries, devs.implementation, meta, params, dtype, direction, inputs, a, g)

    expected = op.forward(**inputs, **params)
    comparisons: list[Comparison] = []
    try:
        actual = adapter.forward(name, inputs, params, device)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the implementation raises is its answer
        return CaseResult([Comparison("forward", False, f"forward {where}: {adapter.name} raised"
                                                          f" {type(exc).__name__}: {exc}", tol_units=np.inf)])
    if isinstance(expected, tuple):
        if not (isinstance(actual, tuple) and len(actual) == 2):
            return CaseResult([Comparison("forward", False, f"forward {where}: expected (values, indices), got"
                                                              f" {type(actual).__name__}", tol_units=np.inf)])
        ind = np.asarray(actual[1])
        same = ind.dtype == np.int64 and ind.shape == expected[1].shape and np.array_equal(ind, expected[1])
        comparisons.append(Comparison("indices", bool(same), "" if same else
                                      f"indices {where}: got {ind.dtype} {ind.shape} {ind.ravel()[:8]},"
                                      f" expected int64 {expected[1].shape} {expected[1].ravel()[:8]}",
                                      tol_units=0.0 if same else np.inf))
        actual, expected = actual[0], expected[0]
    if np.asarray(actual).dtype != np.dtype(dtype):
        comparisons.append(Comparison("forward", False, f"forward {where}: output dtype {np.asarray(actual).dtype},"
                                                        f" expected {dtype}", tol_units=np.inf))
    else:
        comparisons.append(compare("forward", actual, expected, rtol, atol, dtype, where, known("forward")))

    g = grad_output(np.shape(expected))
    wrt = wrt_names(meta, inputs, params)
    backward = op.backward
    assert backward is not None, f"{name} is listed for the vjp cross-check but has no backward"
    ref = backward(g, **inputs, **params)
    try:
        got = adapter.vjp(name, inputs, params, g, wrt, device)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001
        comparisons.append(Comparison("vjp", False, f"vjp {where}: {adapter.name} raised {type(exc).__name__}: {exc}",
                                      tol_units=np.inf))
        return CaseResult(comparisons, g)
    for k in wrt:
        if k not in got:
            comparisons.append(Comparison(f"d/d{k}", False, f"d/d{k} {where}: the adapter's vjp returned no {k!r}"
                                                            f" (returned {sorted(got)})", tol_units=np.inf))
            continue
        grad_atol = atol + (_weight_grad_atol(op, inputs, params, rtol) if k not in inputs else 0.0)
        comparisons.append(compare(f"d/d{k}", got[k], ref[k], rtol, grad_atol, dtype, where, known(f"d/d{k}", g)))
    return CaseResult(comparisons, g)
