"""Golden vectors: nnref's forward values and vector-Jacobian products on fixed cases, written
as ``.npz`` files and one JSON manifest, for implementations that cannot run Python.

``python -m nnref vectors --out DIR [--ops relu,conv2d | --family pooling]`` writes, for every
selected op and for float64 and float32, the cases of ``nnref.conformance.vector_cases`` and
``.regimes``:
``DIR/manifest.json`` and ``DIR/<op>/<dtype>-<nn>.npz``.  The expected outputs are nnref's
own values (nnref is the reference); each output carries the tolerance the conformance suite
applies to it (``check.check_case``), so a loader judges exactly as ``python -m nnref
conform`` does.  The format is documented in the README ("Golden vectors").

The bytes depend on nnref's version alone: seeded draws, sorted JSON keys, and zip entries
stored uncompressed with a fixed timestamp (``numpy.savez`` stamps the current time).

Owns: the vectors format (``FORMAT_VERSION``), writing it, the ``vectors`` command line.
Imports: NumPy, ``nnref``, ``nnref.conformance.check``, ``.vector_cases`` and ``.regimes`` (no hypothesis).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import nnref

from . import regimes
from .check import _weight_grad_atol, select, wrt_names
from .vector_cases import Case, grad_output

FORMAT_VERSION = 1
DTYPES = ("float64", "float32")
# 1980-01-01, the earliest time a zip entry can carry: the same for every run.
_EPOCH = (1980, 1, 1, 0, 0, 0)
REFERENCE = ("The expected outputs are nnref's own values (nnref is the reference, not mathematics"
             " evaluated exactly): an implementation conforms where it meets them within each output's"
             " rtol/atol, as `python -m nnref conform` judges.")
RULE = ("an entry is wrong where |actual - expected| > atol + rtol*|expected| (computed in float64),"
        " where NaN meets a number, or where an infinity meets anything but the same infinity;"
        " NaN meets NaN and +inf meets +inf without error; rtol = atol = 0 (indices) means equal")


def encode_param(value: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """A parameter as JSON: numbers, strings, booleans and null as themselves, tuples as lists,
    a non-finite float as {"float": "inf" | "-inf" | "nan"}, an array as {"array": member}."""
    if isinstance(value, np.ndarray):
        arrays[f"param.{name}"] = value
        return {"array": f"param.{name}"}
    if isinstance(value, tuple):
        return [encode_param(v, name, arrays) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    return value


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz: a zip of ``<name>.npy`` members (format 1.0, little-endian, C order), stored
    uncompressed, in sorted order, with a fixed timestamp."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name in sorted(arrays):
            a = np.asarray(arrays[name], order="C")  # not ascontiguousarray, which makes 0-d arrays 1-d
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            member = io.BytesIO()
            np.lib.format.write_array(member, a, version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            z.writestr(info, member.getvalue())
    return buf.getvalue()


def _describe(a: np.ndarray) -> dict[str, Any]:
    return {"dtype": str(a.dtype), "shape": list(a.shape)}


def run_case(meta: dict[str, Any], dtype: str, case: Case, index: int
             ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """nnref on one case: the arrays of its file, and its manifest entry (without ``file``)."""
    op = nnref.get_op(meta["name"])
    inputs = {k: v for k, v in case.inputs.items()}
    params = dict(case.params)
    tol = meta["tolerances"][dtype]
    rtol, atol = float(tol["rtol"]), float(tol["atol"])
    arrays: dict[str, np.ndarray] = {}
    entry_inputs = []
    for spec in meta["inputs"]:
        v = inputs.get(spec["name"])
        if v is None:
            if spec["name"] in inputs:
                entry_inputs.append({"name": spec["name"], "array": None})
            continue
        arrays[f"input.{spec['name']}"] = v
        entry_inputs.append({"name": spec["name"], "array": f"input.{spec['name']}", **_describe(v)})
    encoded = {k: encode_param(v, k, arrays) for k, v in sorted(params.items())}
    with np.errstate(all="ignore"):  # overflow to inf at huge magnitudes is the value itself
        expected = op.forward(**inputs, **params)
        outputs = []
        if isinstance(expected, tuple):
            arrays["expected.indices"] = np.asarray(expected[1])
            outputs.append({"name": "indices", "array": "expected.indices", "rtol": 0.0, "atol": 0.0,
                            **_describe(arrays["expected.indices"])})
            expected = expected[0]
        arrays["expected.forward"] = np.asarray(expected)
        outputs.insert(0, {"name": "forward", "array": "expected.forward", "rtol": rtol, "atol": atol,
                           **_describe(arrays["expected.forward"])})
        g = grad_output(index, dtype, np.shape(expected))
        arrays["grad_output"] = g
        present = {k: v for k, v in inputs.items() if v is not None}
        wrt = wrt_names(meta, present, params)
        assert op.backward is not None, meta["name"]
        grads = op.backward(g, **inputs, **params)
        for k in wrt:
            grad_atol = atol + (_weight_grad_atol(op, present, params, rtol) if k not in inputs else 0.0)
            arrays[f"expected.grad.{k}"] = np.asarray(grads[k])
            outputs.append({"name": f"grad.{k}", "array": f"expected.grad.{k}", "rtol": rtol, "atol": grad_atol,
                            **_describe(arrays[f"expected.grad.{k}"])})
    for o in outputs:
        # At a convention's exact point the gradient is a choice nnref documents, not a rounding:
        # a miss there means another convention.
        o["exact_point"] = case.kind == "convention" and o["name"].startswith("grad.")
    entry = {"kind": case.kind, "label": case.label, "dtype": dtype, "inputs": entry_inputs, "params": encoded,
             "grad_output": {"array": "grad_output", **_describe(g)}, "wrt": wrt, "outputs": outputs}
    return arrays, entry


def write(out: Path, metas: list[dict[str, Any]]) -> dict[str, Any]:
    """Write the vectors of ``metas`` (catalog entries) under ``out``; return the manifest."""
    ops: dict[str, Any] = {}
    for meta in metas:
        cases = []
        folder = out / meta["name"]
        folder.mkdir(parents=True, exist_ok=True)
        for dtype in DTYPES:
            for i, case in enumerate(regimes.cases(meta, dtype)):
                arrays, entry = run_case(meta, dtype, case, i)
                rel = f"{meta['name']}/{dtype}-{i:02d}.npz"
                (out / rel).write_bytes(npz_bytes(arrays))
                cases.append({"id": f"{meta['name']}/{dtype}-{i:02d}", "file": rel, **entry})
        ops[meta["name"]] = {
            "family": meta["family"], "inputs": [s["name"] for s in meta["inputs"]],
            "differentiable": list(meta["differentiable"]),
            "conventions": [{"label": c["label"], "why": c["why"]} for c in meta["conventions"]],
            "tolerances": {d: {"rtol": t["rtol"], "atol": t["atol"], "why": t["why"]}
                           for d, t in meta["tolerances"].items()},
            "cases": cases,
        }
    manifest = {"format": "nnref-golden-vectors", "format_version": FORMAT_VERSION,
                "nnref_version": nnref.__version__, "reference": REFERENCE, "comparison": RULE, "ops": ops}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnref vectors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write manifest.json and <op>/*.npz into")
    parser.add_argument("--ops", help="comma-separated op names (default: every op checked by forward and VJP)")
    parser.add_argument("--family", help="only this family (activation, loss, linear, convolution, pooling)")
    args = parser.parse_args(argv)
    try:
        metas = select(args.ops, args.family)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out: expected a folder, got {str(out)!r}, which is a file", file=sys.stderr)
        return 2
    manifest = write(out, metas)
    count = sum(len(o["cases"]) for o in manifest["ops"].values())
    print(f"{len(metas)} ops, {count} cases: {out / 'manifest.json'}")
    return 0
