"""`python -m nnref conform`, run as a user runs it: a subprocess, nothing installed, the
adapter module found on PYTHONPATH or beside the user.

(a) torch's adapter on a couple of ops passes; (b) an adapter with relu alone passes relu
and reports every other op once as not provided, exit 0; (c) planted bugs (relu'(0) = 1, a
sign error in mse_loss's gradient) are failures, caught by the fixed cases the run starts
with, with a reproducer whose replay fails again,
and passes against a correct adapter; the README's adapter, as written there, runs green.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nnref._generated.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
VJP_OPS = {m["name"] for m in CATALOG if m["crosscheck"] == "vjp"}


def conform(cwd: Path, *args: str, pythonpath: tuple[Path, ...] = (ROOT, ROOT / "tests")) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run([sys.executable, "-m", "nnref", "conform", "--quiet", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_torch_passes_a_couple_of_ops(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = conform(tmp_path, "--impl", "adapters:TorchAdapter", "--ops", "relu,mse_loss",
                  "--deviations", str(ROOT / "tests" / "deviations" / "torch.json"), "--report", "r.json")
    assert out.returncode == 0, out.stdout + out.stderr
    rows = report(tmp_path / "r.json")["rows"]
    cpu = [r for r in rows if r["device"] == "cpu"]
    assert {(r["op"], r["dtype"]) for r in cpu} == {(o, d) for o in ("relu", "mse_loss") for d in ("float64", "float32")}
    assert all(r["status"] == "pass" and r["examples"] >= 30 for r in cpu), cpu
    assert all(r["status"] in ("pass", "skipped") for r in rows)


def test_an_adapter_with_relu_alone_passes_relu_and_lists_the_rest_once(tmp_path: Path) -> None:
    out = conform(tmp_path, "--impl", "conform_adapters:ReluOnly", "--report", "r.json")
    assert out.returncode == 0, out.stdout + out.stderr
    data = report(tmp_path / "r.json")
    assert set(data["not_provided"]) == VJP_OPS - {"relu"}
    by_status: dict[str, set[str]] = {}
    for r in data["rows"]:
        by_status.setdefault(r["status"], set()).add(r["op"])
    assert by_status == {"pass": {"relu"}, "not provided": VJP_OPS - {"relu"}}
    relu = [r for r in data["rows"] if r["op"] == "relu"]
    # 30 drawn examples after relu's fixed cases (the regimes), special values left out.
    from nnref.conformance.runner import fixed_cases
    meta = next(m for m in CATALOG if m["name"] == "relu")
    fixed = [len(fixed_cases(meta, dtype, special=False)) for dtype in ("float64", "float32")]
    assert [r["examples"] for r in relu] == [30 + n for n in fixed] and all(r["max_ulps"]["forward"] == 0 for r in relu)
    # Not a cascade: each missing op is named once in the summary, which stays short.
    assert out.stdout.count("conv2d,") + out.stdout.count("conv2d\n") == 1
    assert len(out.stdout.splitlines()) < 15, out.stdout


@pytest.mark.parametrize("adapter,op,what", [("ReluBadKink", "relu", "d/dinput"),
                                             ("MseSignBug", "mse_loss", "d/dinput")])
def test_a_planted_bug_fails_with_a_reproducer_that_reruns(tmp_path: Path, adapter: str, op: str, what: str) -> None:
    out = conform(tmp_path, "--impl", f"conform_adapters:{adapter}", "--ops", op, "--report", "r.json")
    assert out.returncode == 1, out.stdout + out.stderr
    rows = report(tmp_path / "r.json")["rows"]
    assert [r["status"] for r in rows] == ["failure", "failure"]
    failure = rows[0]["failure"]
    # Caught by a fixed case (relu's convention point, mse_loss's defaults), named in the message.
    assert failure["message"].startswith("[") and f"] {what}" in failure["message"]
    assert rows[0]["max_tol_units"][what] > 1
    assert f"FAILED {op} float64 cpu" in out.stdout and failure["command"] in out.stdout
    npz = tmp_path / failure["reproducer"]
    assert npz.exists()
    # The command as printed, run where the run was: it fails again on the same comparison.
    command = failure["command"].split()
    assert command[:4] == ["python", "-m", "nnref", "conform"]
    rerun = conform(tmp_path, *command[4:])
    assert rerun.returncode == 1 and f"{what}: FAILED" in rerun.stdout, rerun.stdout + rerun.stderr
    # A correct implementation passes the same reproducer: the bug, not the case, failed.
    good = conform(tmp_path, "--impl", "conform_adapters:" + ("ReluOnly" if op == "relu" else "MseCorrect"),
                   "--replay", str(npz))
    assert good.returncode == 0, good.stdout + good.stderr


def test_the_readme_adapter_runs_green_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Testing your own implementation"):]
    code = re.search(r"```python\n(# mypkg/nnref_adapter\.py.*?)```", section, re.S)
    assert code, "README's adapter example not found"
    command = re.search(r"^python -m nnref conform (--impl \S+)$", section, re.M)
    assert command, "README's conform command not found"
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "nnref_adapter.py").write_text(code.group(1))
    # The README says: run from the folder holding mypkg/, nothing else on the path.
    out = conform(tmp_path, *command.group(1).split(), pythonpath=(ROOT,))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed, 0 known deviation, 0 failed" in out.stdout
    data = report(tmp_path / "nnref-conformance.json")
    assert set(data["not_provided"]) == VJP_OPS - {"relu"}


def test_usage_errors_name_the_argument(tmp_path: Path) -> None:
    out = conform(tmp_path, "--impl", "nosuchmodule:Adapter")
    assert out.returncode == 2 and "--impl" in out.stderr and "nosuchmodule" in out.stderr
    out = conform(tmp_path, "--impl", "conform_adapters:ReluOnly", "--ops", "relu,nosuchop")
    assert out.returncode == 2 and "--ops" in out.stderr and "nosuchop" in out.stderr
    out = conform(tmp_path, "--impl", "conform_adapters:ReluOnly", "--family", "nosuchfamily")
    assert out.returncode == 2 and "--family" in out.stderr and "pooling" in out.stderr


def test_the_sites_toy_adapter_runs_green(tmp_path: Path) -> None:
    (tmp_path / "toyimpl").mkdir()
    (tmp_path / "toyimpl" / "adapter.py").write_text((ROOT / "pages" / "templates" / "conformance_example.py.j2").read_text())
    out = conform(tmp_path, "--impl", "toyimpl.adapter:ToyAdapter", "--report", "report.json", pythonpath=(ROOT,))
    assert out.returncode == 0, out.stdout + out.stderr
    assert report(tmp_path / "report.json")["summary"]["rows"]["pass"] == 2


def test_a_listed_deviation_is_reported_not_failed_and_only_where_listed(tmp_path: Path) -> None:
    listed = {"implementation": "nanzero", "deviations": [
        {"op": "relu", "params": {}, "dtype": "float64", "direction": "forward", "input": {"input": "0.0"},
         "nanzero": "nan", "nnref": "0.0", "path": "planted"}]}
    (tmp_path / "dev.json").write_text(json.dumps(listed))
    out = conform(tmp_path, "--impl", "conform_adapters:ReluNanAtZero", "--ops", "relu", "--deviations", "dev.json",
                  "--report", "r.json")
    rows = {r["dtype"]: r for r in report(tmp_path / "r.json")["rows"]}
    # float64 is listed; float32 is not, so there the same NaN is a failure.
    assert rows["float64"]["status"] == "known deviation" and rows["float64"]["deviations"]
    assert rows["float32"]["status"] == "failure" and out.returncode == 1, out.stdout + out.stderr
    out = conform(tmp_path, "--impl", "conform_adapters:ReluNanAtZero", "--ops", "relu", "--report", "r2.json")
    assert [r["status"] for r in report(tmp_path / "r2.json")["rows"]] == ["failure", "failure"]
