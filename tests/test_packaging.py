"""Run-time promises of the package: NumPy only, fast import, every op listed by the CLI, and
the [conformance] extra that runs the conformance suite without SymPy or torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nnref._generated.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
IMPORT_PROBE = """
import sys, time
t0 = time.perf_counter()
import nnref
elapsed = time.perf_counter() - t0
heavy = sorted(m for m in ("sympy", "torch", "mpmath", "matplotlib", "hypothesis", "pytest") if m in sys.modules)
print(elapsed, ",".join(heavy))
"""


def _probe() -> tuple[float, str]:
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True)
    elapsed, heavy = out.stdout.split(" ")
    return float(elapsed), heavy.strip()


# Import *time* is measured by benchmarks/import_time.py, not here: a timed test flakes on
# a busy machine.


def test_import_pulls_in_neither_sympy_nor_torch() -> None:
    _, heavy = _probe()
    assert heavy == "", f"import nnref imported {heavy}"


def test_cli_lists_every_op_with_its_backward() -> None:
    out = subprocess.run([sys.executable, "-m", "nnref", "ops", "--json"], capture_output=True,
                         text=True, check=True)
    listed = json.loads(out.stdout)
    assert [e["name"] for e in listed] == [e["name"] for e in CATALOG]
    import nnref

    def resolve(path: str) -> object:
        obj: object = nnref
        for part in path.split(".")[1:]:
            obj = getattr(obj, part)
        return obj

    for e in listed:
        assert {"name", "family", "inputs", "params", "differentiable", "conventions", "crosscheck"} <= set(e)
        assert callable(resolve(e["forward"])) and nnref.get_op(e["name"]).forward is resolve(e["forward"])
        if e["crosscheck"] != "vjp":
            # initialisers and optimizers have no gradient; dropout (mask-checked) has one
            assert e["backward"] is None or callable(resolve(e["backward"]))
            continue
        assert e["differentiable"], f"{e['name']} lists no differentiable input"
        assert e["forward"] == f"nnref.{e['name']}"
        assert callable(getattr(nnref, e["name"])) and callable(getattr(nnref, e["name"] + "_backward"))
        assert nnref.get_op(e["name"]).backward is getattr(nnref, e["name"] + "_backward")


def test_cli_lists_the_training_functions_with_their_parameters() -> None:
    out = subprocess.run([sys.executable, "-m", "nnref", "ops", "--json", "--family", "init"], capture_output=True,
                         text=True, check=True)
    listed = {e["name"]: e for e in json.loads(out.stdout)}
    assert {"xavier_uniform", "kaiming_normal", "orthogonal", "calculate_gain"} <= set(listed)
    assert [(p["name"], p["default"]) for p in listed["kaiming_uniform"]["params"]] == \
        [("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu")]


def _extras() -> dict[str, list[str]]:
    import tomllib  # Python 3.11+; the suite's venv has it

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_conformance_extra_has_the_runner_needs_and_nothing_heavy() -> None:
    extra = _extras().get("conformance")
    assert extra is not None, "pyproject.toml has no [conformance] extra"
    names = {req.split(">")[0].split("=")[0].split("<")[0].strip().lower() for req in extra}
    assert names == {"hypothesis", "pytest"}, f"[conformance] should be hypothesis and pytest only, got {sorted(names)}"


def test_the_wheel_carries_the_conformance_package() -> None:
    # setuptools' find includes nnref* : the runner ships with the engine, data-free
    # (the catalog is a module), so `pip install nnref[conformance]` can run it.
    from setuptools import find_packages

    found = find_packages(str(ROOT), include=["nnref*"])
    assert "nnref.conformance" in found, found


def test_version_licence_and_citation_agree() -> None:
    """pyproject.toml, nnref.__version__, CITATION.cff and LICENSE say the same thing (the home
    page quotes the version and the citation)."""
    import re
    from pathlib import Path

    import nnref

    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M)
    assert version is not None and version.group(1) == nnref.__version__
    cff = (root / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(nnref.__version__)}"$', cff, re.M), "CITATION.cff's version"
    assert re.search(r"^license: MIT$", cff, re.M) and re.search(r'^license = "MIT"$', pyproject, re.M)
    assert (root / "LICENSE").read_text().startswith("MIT License")
