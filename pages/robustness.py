"""The measured speed tables, nnref against torch: cross_entropy with class indices and window
ops with large strides (``benchmarks/issue12_bench.json``, written by
``benchmarks/issue12_bench.py``), and the pointwise ops (``benchmarks/pointwise_bench.json``,
written by ``benchmarks/pointwise_bench.py``).

Owns: ``cross_entropy_bench``, ``stride_bench``, ``pointwise_bench``.  Imports: ``.markup``
and ``.paths``.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from .markup import table
from .paths import ROOT

RESULTS = ROOT / "benchmarks" / "issue12_bench.json"
# how every benchmark here, conv_bench's included, times a turn (benchmarks/turns.py: timed_turn)
WARM_TURNS = "each timing one call after 30 ms of untimed ones"
HOW = "`PYTHONPATH=. .venv/bin/python benchmarks/issue12_bench.py --json benchmarks/issue12_bench.json`"


def _data() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def _provenance(data: dict[str, Any]) -> str:
    v = data.get("versions", {})
    return (f"Measured {data.get('date', '?')} on {data.get('machine', '?')} (NumPy {v.get('numpy', '?')}, torch"
            f" {v.get('torch', '?')}), median of {data.get('repeats', '?')} alternating turns, {WARM_TURNS} (both"
            f" libraries warm, neither's threads running beside the other's), by {HOW}.")


def cross_entropy_bench() -> list[str]:
    data = _data()
    if not data.get("cross_entropy"):
        return [f"Not run yet: {HOW}."]
    rows = [[f"({r['shape'][0]}, {r['shape'][1]})", f"{r['nnref_s'] * 1e3:.2f} / {r['torch_s'] * 1e3:.2f}",
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


POINTWISE = ROOT / "benchmarks" / "pointwise_bench.json"
POINTWISE_HOW = ("`PYTHONPATH=. .venv/bin/python benchmarks/pointwise_bench.py --runs 3 --json"
                 " benchmarks/pointwise_bench.json`")


def pointwise_bench(publics: list[str]) -> list[str]:
    """The pointwise benchmark's rows for these ops: forward + backward on 10^6 elements."""
    data = json.loads(POINTWISE.read_text()) if POINTWISE.exists() else {}
    rows = [r for r in data.get("rows", []) if r["op"] in publics]
    if not rows:
        return [f"Not run yet: {POINTWISE_HOW}."]
    m = data["meta"]
    by_op: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_op.setdefault(r["op"], {})[r["dtype"]] = r

    def cell(r: dict[str, Any] | None) -> list[str]:
        if r is None:
            return ["", ""]
        floor = f" ({r['floor_ratio']:.2f})" if r.get("floor_ms") else ""
        return [f"{r['nnref_ms']:.2f} / {r['torch_ms']:.2f}", f"{r['ratio']:.2f}{floor}"]

    body = [[f"`{op}`", *cell(d.get("float64")), *cell(d.get("float32"))] for op, d in by_op.items()]
    med = {dt: statistics.median(r["ratio"] for r in rows if r["dtype"] == dt) for dt in ("float64", "float32")
           if any(r["dtype"] == dt for r in rows)}
    summary = ", ".join(f"median ratio {v:.2f} in {k}" for k, v in med.items())
    return [f"Forward + backward on {m['n']:,} elements (reduction='mean' for losses), nnref / torch in one"
            f" process, taking turns, {WARM_TURNS}; median of {m['repeats']} turns"
            + (f", each number then the median over {m['runs']} runs of the whole table, one after another"
               if m.get("runs", 1) > 1 else "")
            + f" ({summary}). Measured"
            f" {m['date'][:10]} on {m.get('cpu', m['machine'])} (torch CPU capability"
            f" {m['torch_cpu_capability']}, {m['torch_threads']} torch threads; NumPy {m['numpy']}, torch"
            f" {m['torch']}) by {POINTWISE_HOW}. Target: at most 2× torch in float64 and 3× in float32 by"
            f" the median over all pointwise ops, no op above 4×; {_over(rows)}", "",
            *([] if not any("floor_ms" in r for r in rows) else [
                "In brackets, the floor: the time of the elementary functions alone (exp, log, tanh,"
                " erf, … as NumPy and nnref's special functions evaluate them) that the op's kernels call"
                " on every element, over torch's whole forward + backward. No evaluation that calls"
                " them can do better; without AVX-512, NumPy's float64 exp and log are scalar libm"
                " calls (5–10 ns an element), and a float32 result that must be correctly rounded is"
                " computed in float64.", ""]),
            table(["op", "float64 ms: nnref / torch", "ratio", "float32 ms: nnref / torch", "ratio"], body)]


def _over(rows: list[dict[str, Any]]) -> str:
    slow = sorted(f"{r['op']} ({r['dtype']}, {r['ratio']:.1f}×)" for r in rows if r["ratio"] > 4)
    return f"above 4× here: {', '.join(slow)}." if slow else "no op here is above 4×."
