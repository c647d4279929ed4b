"""The default conformance profile catches every planted bug (tests/planted_bugs.py: real
bugs from framework histories, each cited), and each plant is a bug, not noise: it agrees
with nnref on some of the fixed cases its op runs.

Runs in-process through ``nnref.conformance.runner.run`` with profile ``ci``, one op each,
float64 and float32: what ``python -m nnref conform --impl ... --ops OP`` does.  Writes
``build/verification/planted.json`` (each bug with the failure that caught it) for the
Conformance page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from planted_bugs import BUGS, Planted

from nnref._generated.catalog import CATALOG
from nnref.conformance import runner
from nnref.conformance.check import Deviations, check_case

META = {m["name"]: m for m in CATALOG}
RESULTS = Path(__file__).resolve().parent.parent / "build" / "verification" / "planted.json"
_CAUGHT: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _write_results() -> Any:
    """The Conformance page's table of planted bugs: each with the failure that caught it."""
    yield
    if len(_CAUGHT) == len(BUGS):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps([{"name": b.name, "op": b.op, "regime": b.regime, "cite": b.cite,
                                        "caught_by": _CAUGHT[b.name]} for b in BUGS], indent=1))


def test_there_are_at_least_forty_cited_bugs() -> None:
    assert len(BUGS) >= 40 and len({b.name for b in BUGS}) == len(BUGS)
    assert all(b.cite.startswith("https://github.com/") and (b.forward or b.vjp) for b in BUGS)
    assert len({b.op for b in BUGS}) >= 30


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_the_default_profile_catches_it(bug: Any, tmp_path: Path) -> None:
    report = runner.run(Planted(bug), bug.name, [META[bug.op]], "ci", Deviations(), tmp_path, lambda p: str(p))
    failures = [r["failure"]["message"] for r in report["rows"] if r["status"] == "failure"]
    assert failures, (bug.regime, report["rows"])
    # Caught by a wrong value or shape, not by the plant crashing on some input.
    assert not any(f" {bug.name} raised " in m for m in failures), failures
    _CAUGHT[bug.name] = failures[0]


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_the_plant_is_right_outside_its_regime(bug: Any) -> None:
    meta, adapter = META[bug.op], Planted(bug)
    passed = 0
    for n, case in enumerate(runner.fixed_cases(meta, "float64", special=False)):
        def grad(shape: tuple[int, ...], n: int = n) -> np.ndarray:
            return np.random.default_rng(n).uniform(-2.0, 2.0, shape)

        result = check_case(adapter, meta, "float64", "cpu", dict(case.inputs), dict(case.params), grad)
        passed += not result.failed
    assert passed >= 1, f"{bug.name} fails every fixed case of {bug.op}: a broken plant, not the bug"
