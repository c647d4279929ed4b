"""Suite-wide options: the implementation under test, the hypothesis profile, and the
recorder that writes what was verified (examples, max errors, provenance) for the site."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from nnref.conformance.runner import PROFILES

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "build" / "verification"

# The conformance runner's profiles, so `python -m nnref conform --profile ci` draws what
# the suite draws.
for _name, _profile in PROFILES.items():
    settings.register_profile(_name, _profile)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nnref")
    group.addoption("--impl", default=os.environ.get("NNREF_IMPL", "torch"),
                    help="implementation under test: 'torch' (default) or 'package.module:object'")
    group.addoption("--nnref-profile", default=os.environ.get("NNREF_PROFILE", "ci"),
                    choices=["ci", "thorough"],
                    help="hypothesis profile: 'ci' (30 examples per test, reproducible) or"
                         " 'thorough' (600 random examples per test)")
    group.addoption("--skip-ops", default=None,
                    help="file listing op names (one per line) whose tests are skipped")


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile(config.getoption("--nnref-profile"))


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Any:
    from adapters import load

    return load(pytestconfig.getoption("--impl"))


@pytest.fixture(scope="session")
def skipped_ops(pytestconfig: pytest.Config) -> set[str]:
    path = pytestconfig.getoption("--skip-ops")
    if not path:
        return set()
    return {line.split("#")[0].strip() for line in Path(path).read_text().splitlines()} - {""}


class Recorder:
    """Collects, per (op, dtype, device), examples run, the largest errors seen, the
    largest fraction of the tolerance used, and whether the test failed."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def _row(self, op: str, dtype: str, device: str) -> dict[str, Any]:
        return self.rows.setdefault((op, dtype, device), {"examples": 0, "failed": False, "max_abs": {},
                                                          "max_rel": {}, "tol_used": {}})

    def add(self, op: str, dtype: str, device: str, comparison: Any) -> None:
        """One ``nnref.conformance.check.Comparison`` of an example."""
        row = self._row(op, dtype, device)
        what = comparison.what
        for key, value in (("max_abs", comparison.max_abs), ("max_rel", comparison.max_rel),
                           ("tol_used", comparison.tol_units)):
            row[key][what] = max(row[key].get(what, 0.0), value)

    def example(self, op: str, dtype: str, device: str) -> None:
        self._row(op, dtype, device)["examples"] += 1

    def failed(self, op: str, dtype: str, device: str) -> None:
        self._row(op, dtype, device)["failed"] = True


_RECORDER = Recorder()


@pytest.fixture(scope="session")
def recorder() -> Recorder:
    return _RECORDER


def _provenance(impl_name: str) -> dict[str, Any]:
    from pages.provenance import provenance

    # nnref's commit, the CPU model and torch's CPU kernel path (capability, oneDNN) decide
    # what torch returns at special values: every published result carries them.
    info: dict[str, Any] = {
        **provenance(),
        "impl": impl_name, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "profile": settings().max_examples,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
    except ImportError:
        pass
    return info


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write this run's rows, merged over earlier runs' (a partial run with -k updates
    only the rows it ran; each row keeps the date it was measured)."""
    if not _RECORDER.rows:
        return
    impl_name = session.config.getoption("--impl")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    safe = impl_name.replace(":", "_").replace(".", "_")
    path = RESULTS_DIR / f"{safe}.json"
    provenance = _provenance(impl_name)
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    if path.exists():
        try:
            for row in json.loads(path.read_text())["rows"]:
                merged[(row["op"], row["dtype"], row["device"])] = row
        except (ValueError, KeyError):
            merged = {}
    for (op, dt, dev), row in _RECORDER.rows.items():
        merged[(op, dt, dev)] = {"op": op, "dtype": dt, "device": dev, **row, "date": provenance["date"],
                                 "max_examples": provenance["profile"]}
    rows = [merged[k] for k in sorted(merged)]
    path.write_text(json.dumps({"provenance": provenance, "rows": rows}, indent=1))
