"""The conformance run: every selected op × dtype × device, judged on drawn examples.

For each op (its catalog entry names inputs, parameters, tolerances), a probe first runs
one example: an adapter raising NotImplementedError there has not provided the op, which is
reported once and not run further.  Each dtype and device then runs the fixed cases of
``.regimes`` (every parameter regime, reached by construction), and hypothesis draws
``max_examples`` cases more; a failing drawn case is shrunk to a minimal one.  A failing
case is saved as ``.npz`` (inputs, array parameters, the upstream gradient, and the rest as
JSON) with the command that replays it.
The report is JSON, one row per op × dtype × device: examples run, status (pass, known
deviation, failure, not provided, skipped), the largest errors in ulps of nnref's value and
in tolerance units per comparison, and each failure's reproducer.

Owns: the profiles, the run, the report and its summary table, reproducers and their replay.
Imports: NumPy, hypothesis, ``nnref``, ``nnref.conformance.check``, ``.regimes``, ``.strategies``,
``.deviations``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import nnref
from nnref._generated.catalog import CATALOG

from . import regimes
from .check import VJP_OPS, Adapter, CaseResult, Deviations, check_case, select  # noqa: F401 - cli's entry points
from .strategies import DTYPES, case_for, grad_outputs
from .vector_cases import Case, grad_output

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.differing_executors]
# ci: 30 examples per op, dtype and device, the same ones on every run; thorough: 600 random ones.
# Both start with the fixed cases of ``regimes`` (thorough adds their special values).
PROFILES = {
    "ci": settings(max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET),
    "thorough": settings(max_examples=600, deadline=None, database=None, suppress_health_check=_QUIET),
}
STATUSES = ("pass", "known deviation", "failure", "not provided", "skipped")
@dataclass
class Row:
    op: str
    dtype: str
    device: str
    status: str = "pass"
    examples: int = 0
    seconds: float = 0.0
    max_ulps: dict[str, float] = field(default_factory=dict)
    max_tol_units: dict[str, float] = field(default_factory=dict)
    max_abs: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    deviations: list[str] = field(default_factory=list)
    failure: dict[str, Any] | None = None

    def absorb(self, result: CaseResult) -> None:
        for c in result.comparisons:
            for key, value in ((self.max_ulps, c.ulps), (self.max_tol_units, c.tol_units), (self.max_abs, c.max_abs)):
                key[c.what] = max(key.get(c.what, 0.0), value)
            for d in c.deviations:
                where = f" where {d['where']}" if "where" in d else ""
                text = f"{d['op']} {d['dtype']} {d['direction']} at {d['input']}{where}: {d.get('path', '')}"
                if text not in self.deviations:
                    self.deviations.append(text)


def _grad(data: Any, dtype: str) -> Callable[[tuple[int, ...]], np.ndarray]:
    return lambda shape: data.draw(grad_outputs(dtype, shape), label="grad_output")


def probe(adapter: Adapter, meta: dict[str, Any], dtype: str, device: str, profile: settings) -> str | None:
    """None when the adapter answers one example of the op, else why it does not provide it."""
    missing: list[str] = []

    @settings(profile, max_examples=1, phases=[Phase.generate])
    @given(case=case_for(meta, dtype), data=st.data())
    def once(case: Any, data: Any) -> None:
        try:
            check_case(adapter, meta, dtype, device, case[0], case[1], _grad(data, dtype))
        except NotImplementedError as exc:
            missing.append(str(exc) or "NotImplementedError")

    try:
        once()
    except Exception:  # noqa: BLE001 - a wrong answer is the full run's to find and shrink
        pass
    return missing[0] if missing else None


class _Mismatch(AssertionError):
    pass


def fixed_cases(meta: dict[str, Any], dtype: str, special: bool) -> list[Case]:
    """The deterministic cases a run starts with: the golden vectors' ordinary, convention
    and edge-window cases and the regimes (``.regimes``); special values only if asked."""
    return [c for c in regimes.cases(meta, dtype) if special or c.kind != "special"]


def run_fixed(adapter: Adapter, meta: dict[str, Any], dtype: str, device: str, deviations: Deviations, row: Row,
              special: bool) -> dict[str, Any] | None:
    """Fill ``row`` from the fixed cases; the first failing one, if any (already small: no
    shrinking)."""
    for i, case in enumerate(fixed_cases(meta, dtype, special)):
        def grad(shape: tuple[int, ...], i: int = i) -> np.ndarray:
            return grad_output(i, dtype, shape)

        inputs: dict[str, Any] = dict(case.inputs)  # an absent optional array (a bias) is None, as drawn cases have it
        result = check_case(adapter, meta, dtype, device, inputs, dict(case.params), grad, deviations)
        row.examples += 1
        row.absorb(result)
        if result.failed:
            return {"inputs": dict(case.inputs), "params": dict(case.params), "grad_output": result.grad_output,
                    "message": f"[{case.kind} case: {case.label}] {result.message}"}
    return None


def run_row(adapter: Adapter, meta: dict[str, Any], dtype: str, device: str, profile: settings,
            deviations: Deviations, row: Row) -> dict[str, Any] | None:
    """Fill ``row`` from the fixed cases, then ``max_examples`` drawn examples; the first
    failing fixed case or the minimal failing drawn one, if any."""
    fixed = run_fixed(adapter, meta, dtype, device, deviations, row, special=profile.max_examples > 100)
    if fixed is not None:
        return fixed
    failing: dict[str, Any] = {}

    @settings(profile)
    @given(case=case_for(meta, dtype), data=st.data())
    def body(case: Any, data: Any) -> None:
        inputs, params = case
        result = check_case(adapter, meta, dtype, device, inputs, params, _grad(data, dtype), deviations)
        row.examples += 1
        row.absorb(result)
        if result.failed:
            # hypothesis replays the minimal example last: what stays here is the shrunk case.
            failing.update(inputs=inputs, params=params, grad_output=result.grad_output, message=result.message)
            raise _Mismatch(result.message)

    try:
        body()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - hypothesis' own errors (no valid example drawn) included
        if not failing:
            failing.update(message=f"{type(exc).__name__}: {exc}")
    return failing or None


def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"tuple"}:
        return tuple(_decode(v) for v in value["tuple"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def save_reproducer(path: Path, impl: str, meta: dict[str, Any], dtype: str, device: str,
                    failing: dict[str, Any]) -> None:
    arrays = {f"input.{k}": v for k, v in failing["inputs"].items() if v is not None}
    arrays.update({f"param.{k}": v for k, v in failing["params"].items() if isinstance(v, np.ndarray)})
    if failing["grad_output"] is not None:
        arrays["grad_output"] = failing["grad_output"]
    scalars = {k: _encode(v) for k, v in failing["params"].items() if not isinstance(v, np.ndarray)}
    info = {"op": meta["name"], "dtype": dtype, "device": device, "impl": impl, "params": scalars,
            "none": [k for k, v in {**failing["inputs"], **failing["params"]}.items() if v is None],
            "order": list(failing["inputs"]), "message": failing["message"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, case=np.array(json.dumps(info)), **arrays)


def replay(path: str, adapter: Adapter, deviations: Deviations) -> tuple[CaseResult, dict[str, Any]]:
    """The saved case run again through ``adapter``."""
    with np.load(path, allow_pickle=False) as data:
        info = json.loads(str(data["case"]))
        arrays = {k: data[k] for k in data.files if k != "case"}
    inputs: dict[str, Any] = {}
    for name in info["order"]:
        inputs[name] = arrays.get(f"input.{name}")
    params = {k: _decode(v) for k, v in info["params"].items()}
    params.update({k[len("param."):]: v for k, v in arrays.items() if k.startswith("param.")})
    params.update({k: None for k in info["none"] if k not in inputs})
    meta = next(m for m in CATALOG if m["name"] == info["op"])
    stored = arrays.get("grad_output")

    def grad(shape: tuple[int, ...]) -> np.ndarray:
        if stored is None or stored.shape != tuple(shape):
            return np.ones(shape, dtype=DTYPES[info["dtype"]])
        return stored

    return check_case(adapter, meta, info["dtype"], info["device"], inputs, params, grad, deviations), info


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def run(adapter: Adapter, impl: str, metas: list[dict[str, Any]], profile_name: str, deviations: Deviations,
        reproducers: Path, replay_command: Callable[[Path], str],
        progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every op of ``metas`` × dtype × device of the adapter: the report."""
    profile = PROFILES[profile_name]
    rows: list[Row] = []
    not_provided: dict[str, str] = {}
    started = time.perf_counter()
    devices = {d: adapter.available(d) for d in adapter.devices}
    usable = [d for d, why in devices.items() if not why]
    for meta in metas:
        name = meta["name"]
        why = probe(adapter, meta, "float64", usable[0], profile) if usable else None
        if why is not None:
            not_provided[name] = why
        for dtype in DTYPES:
            for device in adapter.devices:
                row = Row(name, dtype, device)
                rows.append(row)
                if devices[device]:
                    row.status, row.reason = "skipped", str(devices[device])
                    continue
                if why is not None:
                    row.status, row.reason = "not provided", why
                    continue
                t0 = time.perf_counter()
                try:
                    failing = run_row(adapter, meta, dtype, device, profile, deviations, row)
                except NotImplementedError as exc:
                    row.status, row.reason = "not provided", str(exc) or "NotImplementedError"
                    not_provided.setdefault(name, row.reason)
                    continue
                finally:
                    row.seconds = round(time.perf_counter() - t0, 3)
                if failing is not None:
                    row.status = "failure"
                    row.failure = {"message": failing["message"]}
                    if "inputs" in failing:
                        path = reproducers / f"{name}-{dtype}-{device}.npz"
                        save_reproducer(path, impl, meta, dtype, device, failing)
                        row.failure.update(reproducer=str(path), command=replay_command(path))
                elif row.deviations:
                    row.status = "known deviation"
                progress(f"{name} {dtype} {device}: {row.status} ({row.examples} examples)")
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return _finite({
        "nnref": nnref.__version__, "impl": impl, "adapter": adapter.name,
        "profile": profile_name, "max_examples": profile.max_examples,
        "seconds": round(time.perf_counter() - started, 3),
        "devices": {d: why or "available" for d, why in devices.items()},
        "summary": {"rows": counts, "ops": len(metas), "ops_not_provided": len(not_provided)},
        "not_provided": not_provided,
        "rows": [asdict(r) for r in rows],
    })
