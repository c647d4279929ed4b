"""nnref against mathematics: every pointwise op's value and derivatives, in ulps of the truth.

The truths are the ops' own definitions evaluated in arbitrary precision on a fixed sweep
of each dtype's finite domain (``derivations/oracle.py``; ``python -m derivations oracle``
rewrites ``tests/data/oracle.npz`` and ``python -m derivations check`` fails when it is
stale).  Each op must stay within the bounds declared beside its description: by default
2 ulp in float64 and correctly rounded (0.5 ulp plus the double-rounding allowance) in
float32, wider only where the record says why, and within 2·eps·scale inside a declared
neighbourhood of a zero.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from derivations.proofs import accuracy
from derivations.spec import PointwiseOp


def nnref_call(op: PointwiseOp, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, np.ndarray]:
    return accuracy.nnref_call(op, inputs, params, strict=True)  # no RuntimeWarning anywhere on the sweep


ERRORS = accuracy.measure(nnref_call)
NAMES = sorted({e.cfg.op.name for e in ERRORS})


@pytest.mark.parametrize("name", NAMES)
def test_within_declared_bounds(name: str) -> None:
    bad = accuracy.violations([e for e in ERRORS if e.cfg.op.name == name])
    assert bad == [], "\n".join(bad[:10])


def test_results_keep_their_dtype() -> None:
    for e in ERRORS[:50]:
        got = nnref_call(e.cfg.op, e.inputs, dict(e.cfg.params))
        assert all(v.dtype == np.dtype(e.cfg.dtype) for v in got.values()), e.cfg.key


def test_the_measure_sees_three_ulps() -> None:
    # The check can fail: nnref's own results moved by 3 ulp are caught everywhere the
    # truth is finite and nonzero.
    def off(op: PointwiseOp, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, np.ndarray]:
        out = nnref_call(op, inputs, params)
        with np.errstate(over="ignore"):
            return {k: v + 3 * np.spacing(v) for k, v in out.items()}

    errs = [e for e in accuracy.measure(off) if e.cfg.op.name in ("sigmoid", "mse_loss")]
    assert errs and all(accuracy.violations([e]) for e in errs)


def test_extended_precision_is_declared_only_where_float64_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each kernel declared extended (PointwiseOp.extended, 10-40x slower) must miss its
    # bounds somewhere on the sweep when it runs in float64 instead: a declaration that
    # has become unnecessary fails here, with the kernel named.
    from nnref import _runtime

    monkeypatch.setattr(_runtime, "ext", _runtime.wide)
    declared = {e.cfg.op.name for e in ERRORS if e.cfg.op.extended and e.cfg.dtype == "float64"}
    errs = [e for e in accuracy.measure(accuracy.nnref_call) if e.cfg.op.name in declared and e.cfg.dtype == "float64"]
    missing = []
    for name in sorted(declared):
        op = next(e.cfg.op for e in errs if e.cfg.op.name == name)
        for kernel in op.extended:
            mine = [e for e in errs if e.cfg.op.name == name and (e.quantity == "value") == (kernel == "forward")]
            if not any(accuracy.violations([e]) for e in mine):
                missing.append(f"{name}: {kernel}")
    assert missing == [], f"declared extended but within bounds in float64: {missing}"


def test_the_sweep_is_the_same_in_every_process() -> None:
    # The stored truths are keyed by a fingerprint of the swept points; points that depend on
    # the process (the order SymPy lists a set in, under hash randomisation) or on the CPU
    # (NumPy's SIMD log and power) make `derivations check` fail on the next machine.
    import subprocess
    import sys

    code = ("import hashlib; from derivations import oracle; "
            "print(hashlib.sha256(''.join(oracle.fingerprint(c) for c in oracle.configs()).encode()).hexdigest())")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(seen) == 1, seen


def test_the_sweep_uses_no_simd_transcendentals() -> None:
    # The CPU half of the above: NumPy's log/exp/power pick AVX-512 or AVX2 kernels whose last
    # bits differ, so the sweep computes its logarithmic points with mpmath, correctly rounded.
    import inspect

    from derivations import oracle

    src = inspect.getsource(oracle._sweep)
    assert not any(f"np.{f}(" in src for f in ("log", "exp", "geomspace", "logspace", "power")), src
