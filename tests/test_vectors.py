"""`python -m nnref vectors`: golden vectors read back by a loader written here from the
README's description alone (numpy.load + json), not by nnref's own code.

(a) every case reproduces nnref's forward and VJP bit for bit; (b) torch meets them within
the manifest's tolerances; (c) a planted wrong value in a copied file is caught; (d) two runs
write identical bytes; (e) a wrong --ops / --family / --out is a clear error; (f) the command
needs neither hypothesis, SymPy nor torch.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnref
from nnref.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
OPS = "relu,softplus,hardswish,mse_loss,cross_entropy,softmax,conv2d,conv_transpose1d,max_pool2d,lp_pool1d,max_unpool1d"


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vectors")
    assert main(["vectors", "--out", str(out), "--ops", OPS]) == 0
    return out


# ----------------------------------------------------------------------------- the loader


def decode(value: Any, arrays: Any) -> Any:
    """A parameter as the README encodes it: lists are tuples, {"float": ...} a non-finite
    float, {"array": member} an array in the case's file."""
    if isinstance(value, list):
        return tuple(decode(v, arrays) for v in value)
    if isinstance(value, dict):
        if "array" in value:
            return arrays[value["array"]]
        return float(value["float"])
    return value


def load(root: Path) -> list[tuple[str, dict[str, Any], dict[str, Any], dict[str, np.ndarray]]]:
    """(op, case, decoded inputs and params, arrays) for every case of the manifest."""
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format"] == "nnref-golden-vectors" and manifest["format_version"] == 1
    out = []
    for op, entry in sorted(manifest["ops"].items()):
        for case in entry["cases"]:
            with np.load(root / case["file"], allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            args = {i["name"]: None if i["array"] is None else arrays[i["array"]] for i in case["inputs"]}
            for i in case["inputs"]:
                if i["array"] is not None:
                    assert str(arrays[i["array"]].dtype) == i["dtype"] and list(arrays[i["array"]].shape) == i["shape"]
            args.update({k: decode(v, arrays) for k, v in case["params"].items()})
            out.append((op, case, args, arrays))
    return out


def wrong(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """The README's rule, written out again."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        both_nan = np.isnan(a) & np.isnan(e)
        same = (a == e) | both_nan
        finite = np.isfinite(a) & np.isfinite(e)
        near = finite & (np.abs(a - e) <= atol + rtol * np.abs(e))
    return ~(same | near)


def judge(case: dict[str, Any], arrays: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> list[str]:
    """The outputs of ``got`` (keyed by output name) that miss the file's expected values."""
    bad = []
    for o in case["outputs"]:
        exp, act = arrays[o["array"]], np.asarray(got[o["name"]])
        if act.shape != exp.shape or wrong(act, exp, o["rtol"], o["atol"]).any():
            bad.append(f"{case['id']} {o['name']}")
    return bad


def nnref_outputs(op: str, case: dict[str, Any], args: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    f = nnref.get_op(op)
    with np.errstate(all="ignore"):
        fwd = f.forward(**args)
        got: dict[str, Any] = {}
        if isinstance(fwd, tuple):
            fwd, got["indices"] = fwd
        got["forward"] = fwd
        assert f.backward is not None
        grads = f.backward(arrays["grad_output"], **args)
    got.update({f"grad.{k}": grads[k] for k in case["wrt"]})
    return got


# ----------------------------------------------------------------------------- the checks


def test_every_case_reproduces_nnref_bit_for_bit(vectors: Path) -> None:
    cases = load(vectors)
    assert {op for op, *_ in cases} == set(OPS.split(","))
    kinds = {c["kind"] for _, c, _, _ in cases}
    assert kinds == {"ordinary", "convention", "special", "window", "regime"}
    for op, case, args, arrays in cases:
        got = nnref_outputs(op, case, args, arrays)
        assert sorted(o["name"] for o in case["outputs"]) == sorted(got), case["id"]
        for o in case["outputs"]:
            exp, act = arrays[o["array"]], np.asarray(got[o["name"]])
            assert (exp.dtype, exp.shape, exp.tobytes()) == (act.dtype, act.shape, act.tobytes()), (case["id"], o)
        assert judge(case, arrays, got) == []
    # The special cases really hold the special values, and conventions are flagged.
    relu = [(c, a) for op, c, _, a in cases if op == "relu"]
    special = next(a for c, a in relu if c["kind"] == "special" and c["dtype"] == "float32")["input.input"]
    assert np.isnan(special).any() and np.isinf(special).any() and np.signbit(special[special == 0]).any()
    assert (np.abs(special[np.isfinite(special) & (special != 0)]) < np.finfo(np.float32).smallest_normal).any()
    exact = [o for c, _ in relu if c["kind"] == "convention" for o in c["outputs"] if o["exact_point"]]
    assert exact and {o["name"] for o in exact} == {"grad.input"}


def test_the_manifest_says_what_it_holds(vectors: Path) -> None:
    manifest = json.loads((vectors / "manifest.json").read_text())
    assert manifest["nnref_version"] == nnref.__version__
    assert "nnref's own values" in manifest["reference"]
    conv = manifest["ops"]["conv2d"]["cases"]
    labels = " ".join(c["label"] for c in conv)
    for word in ("padding", "dilation", "stride=3 > kernel", "groups"):
        assert word in labels
    pool = " ".join(c["label"] for c in manifest["ops"]["max_pool2d"]["cases"])
    assert "ceil_mode" in pool and "stride 3 > kernel" in pool
    lp = next(c for c in manifest["ops"]["lp_pool1d"]["cases"] if c["kind"] == "special")
    assert lp["params"]["norm_type"] == {"float": "inf"}
    for c in manifest["ops"]["max_pool2d"]["cases"]:
        for o in c["outputs"]:
            if o["name"] == "indices":
                assert (o["rtol"], o["atol"], o["dtype"]) == (0.0, 0.0, "int64")
    with zipfile.ZipFile(vectors / conv[0]["file"]) as z:
        infos = z.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}


def torch_mismatches(root: Path) -> tuple[int, list[str], list[dict[str, Any]]]:
    """Run torch through every case of ``root``: (cases run, the outputs that miss the
    vectors and that no entry of ``tests/deviations/torch.json`` accounts for, the entries
    that accounted for some).  A deviation must match input, dtype, direction and torch's
    value exactly (``nnref.conformance.deviations``); nothing is excused by tolerance."""
    sys.path.insert(0, str(ROOT / "tests"))
    from adapters import TorchAdapter
    from known_deviations import explained

    adapter = TorchAdapter()
    run, unexplained, used = 0, [], []
    for op, case, args, arrays in load(root):
        inputs = {i["name"]: args[i["name"]] for i in case["inputs"]}
        params = {k: v for k, v in args.items() if k not in inputs}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # kl_div's note on reduction='mean'
                fwd = adapter.forward(op, inputs, params, "cpu")
                grads = adapter.vjp(op, inputs, params, arrays["grad_output"], case["wrt"], "cpu")
        except NotImplementedError:
            continue
        got: dict[str, Any] = {}
        if isinstance(fwd, tuple):
            fwd, got["indices"] = fwd
        got["forward"] = fwd
        got.update({f"grad.{k}": grads[k] for k in case["wrt"]})
        run += 1
        meta = nnref.get_op(op).meta
        present = {k: v for k, v in inputs.items() if v is not None}
        for o in case["outputs"]:
            exp, act = arrays[o["array"]], np.asarray(got[o["name"]])
            if act.shape != exp.shape:
                unexplained.append(f"{case['id']} {o['name']}: shape {act.shape}, vectors {exp.shape}")
                continue
            bad = wrong(act, exp, o["rtol"], o["atol"])
            if bad.any() and o["name"] != "indices":
                direction = "forward" if o["name"] == "forward" else "d/d" + o["name"][len("grad."):]
                g = arrays["grad_output"] if direction != "forward" else None
                mask, devs = explained("torch", meta, params, case["dtype"], direction, present, act, g)
                used += [d for d in devs if d not in used]
                bad = bad & ~mask
            if bad.any():
                unexplained.append(f"{case['id']} {o['name']}: torch {np.atleast_1d(act)[np.atleast_1d(bad)][:4]},"
                                   f" vectors {np.atleast_1d(exp)[np.atleast_1d(bad)][:4]}")
    return run, unexplained, used


def test_torch_meets_every_vector_or_a_listed_deviation(tmp_path: Path) -> None:
    """Every op torch provides, over the whole vector set (special values, conventions,
    edge windows): torch is within the stated tolerances, or the mismatch is a measured
    deviation listed with its kernel path.  The set runs on torch's vectorised and scalar
    paths alike (its special-value cases are a few entries long), so the scalar path's NaN
    routing must be listed; tools/kernel_paths.sh repeats this on every CPU capability."""
    pytest.importorskip("torch")
    root = tmp_path / "all"
    assert main(["vectors", "--out", str(root)]) == 0
    run, unexplained, used = torch_mismatches(root)
    assert run >= 500, run
    assert unexplained == []
    # The scalar path's NaN routing shows on every x86 CPU: a special-value case shorter
    # than one vector goes through it whatever the vector width.
    assert {d["op"] for d in used if d["direction"] == "d/dinput" and d["input"] == {"input": "nan"}} >= {
        "elu", "selu", "celu", "hardswish", "hardshrink", "softshrink"}


def test_an_unlisted_torch_mismatch_fails(tmp_path: Path) -> None:
    """The check above can fail: the vectors of one op with one expected value changed."""
    pytest.importorskip("torch")
    root = tmp_path / "relu"
    assert main(["vectors", "--out", str(root), "--ops", "softplus"]) == 0
    manifest = json.loads((root / "manifest.json").read_text())
    case = next(c for c in manifest["ops"]["softplus"]["cases"] if c["kind"] == "ordinary")
    path = root / case["file"]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    name = next(o["array"] for o in case["outputs"] if o["name"] == "forward")
    arrays[name] = arrays[name] + np.asarray(1.0, dtype=arrays[name].dtype)
    np.savez(path, **arrays)
    run, unexplained, _ = torch_mismatches(root)
    assert run > 0 and len(unexplained) == 1 and case["id"] in unexplained[0]


def test_a_planted_wrong_value_is_caught(vectors: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(vectors, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    case = manifest["ops"]["conv2d"]["cases"][1]
    with np.load(copy / case["file"]) as z:
        arrays = {k: z[k] for k in z.files}
    tol = next(o for o in case["outputs"] if o["name"] == "grad.weight")
    planted = arrays["expected.grad.weight"].copy()
    # Just outside the bound at the first entry: atol + rtol·|e| plus a little.
    e = float(planted.flat[0])
    planted.flat[0] = e + 1.01 * (tol["atol"] + tol["rtol"] * abs(e)) + 1e-9
    np.savez(copy / case["file"], **{**arrays, "expected.grad.weight": planted})
    results = {c["id"]: judge(c, a, nnref_outputs(op, c, args, a)) for op, c, args, a in load(copy)}
    assert {k: v for k, v in results.items() if v} == {case["id"]: [f"{case['id']} grad.weight"]}


def test_two_runs_write_the_same_bytes(vectors: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["vectors", "--out", str(again), "--ops", OPS]) == 0
    first = sorted(p.relative_to(vectors) for p in vectors.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second and len(first) > 50
    assert [p for p in first if (vectors / p).read_bytes() != (again / p).read_bytes()] == []


@pytest.mark.parametrize("args,words", [
    (["--ops", "relu,nosuchop"], ["--ops", "expected", "'nosuchop'"]),
    (["--ops", "adam"], ["--ops", "expected ops checked by forward and VJP", "'adam'", "'trajectory'"]),
    (["--family", "nosuch"], ["--family", "expected one of", "pooling", "'nosuch'"]),
    (["--ops", "relu", "--family", "pooling"], ["--ops / --family", "expected one of them", "got both"]),
])
def test_a_bad_selection_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          words: list[str]) -> None:
    assert main(["vectors", "--out", str(tmp_path / "v"), *args]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "v").exists()


def test_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["vectors", "--out", str(tmp_path / "file"), "--ops", "relu"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "expected a folder" in err and "file" in err


def test_the_command_needs_numpy_alone(tmp_path: Path) -> None:
    # hypothesis, SymPy and torch are made unimportable: the command still writes its vectors.
    blocker = tmp_path / "block"
    blocker.mkdir()
    for name in ("hypothesis", "sympy", "torch"):
        (blocker / f"{name}.py").write_text(f"raise ImportError('{name} is blocked')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "nnref", "vectors", "--out", str(tmp_path / "v"), "--ops", "relu"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 ops, 14 cases" in out.stdout
    assert math.isfinite(len((tmp_path / "v" / "manifest.json").read_text()))


def test_the_documented_rule_is_the_suites() -> None:
    # The loader's rule (the README's) and nnref/conformance/compare.py agree entry by entry,
    # NaN, infinities, signed zeros and the exact tolerance included.
    from nnref.conformance.compare import wrong_entries

    values = np.array([0.0, -0.0, 1.0, 1.0 + 1e-9, -1.0, math.inf, -math.inf, math.nan, 1e300, 5e-324])
    a, e = np.meshgrid(values, values)
    for rtol, atol in ((0.0, 0.0), (1e-12, 1e-14), (1e-5, 1e-3)):
        assert np.array_equal(wrong(a, e, rtol, atol), wrong_entries(a, e, rtol, atol)), (rtol, atol)
