"""The measured tables of issue 12: cross_entropy with class indices, and window ops with
large strides, nnref against torch (``benchmarks/issue12_bench.json``, written by
``benchmarks/issue12_bench.py``).

Owns: ``cross_entropy_bench``, ``stride_bench``.  Imports: ``.markup`` and ``.paths``.
"""

from __future__ import annotations

import json
from typing import Any

from .markup import table
from .paths import ROOT

RESULTS = ROOT / "benchmarks" / "issue12_bench.json"
HOW = "`PYTHONPATH=. .venv/bin/python benchmarks/issue12_bench.py --json benchmarks/issue12_bench.json`"


def _data() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def _provenance(data: dict[str, Any]) -> str:
    v = data.get("versions", {})
    return (f"Measured {data.get('date', '?')} on {data.get('machine', '?')} (NumPy {v.get('numpy', '?')}, torch"
            f" {v.get('torch', '?')}), median of {data.get('repeats', '?')} alternating turns, by {HOW}.")


def cross_entropy_bench() -> list[str]:
    data = _data()
    if not data.get("cross_entropy"):
        return [f"Not run yet: {HOW}."]
    rows = [[f"({r['shape'][0]}, {r['shape'][1]})", f"{r['nnref_s'] * 1e3:.1f} / {r['torch_s'] * 1e3:.1f}",
             f"{r['nnref_s'] / r['torch_s']:.2f}", f"{r['nnref_peak'] / 2**20:.1f} / {r['torch_peak'] / 2**20:.1f}",
             f"{r['nnref_peak'] / max(r['torch_peak'], 1):.2f}"] for r in data["cross_entropy"]]
    return ["cross_entropy with class-index targets, float64, forward + backward: nnref gathers each sample's"
            " target term and never builds one-hot rows, so time and memory are O(N·C) as in torch (target:"
            " at most 2× torch in both). " + _provenance(data), "",
            table(["(N, C)", "ms: nnref / torch", "time ratio", "peak MiB: nnref / torch", "memory ratio"], rows)]


def stride_bench() -> list[str]:
    data = _data()
    if not data.get("stride"):
        return [f"Not run yet: {HOW}."]
    rows = [[r["case"], f"{r['nnref_s'] * 1e3:.2f} / {r['torch_s'] * 1e3:.2f}", r["nnref"].replace("|", "/"),
             r["torch"].replace("|", "/")] for r in data["stride"]]
    return ["Large strides, forward + backward (target: at most 10 ms each; with stride 2^31 a result or a clear"
            " error in 10 ms): a window op's cost follows its input and output, not its stride. "
            + _provenance(data), "", table(["case", "ms: nnref / torch", "nnref", "torch"], rows)]
