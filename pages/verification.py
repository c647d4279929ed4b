"""The cross-check results against torch, as the pages show them.

Owns: reading ``build/verification/torch.json`` (``load_verification``), the run's provenance
line, an op's rows, and the per-op verification section (``verification_section``,
``verification_subsections``; template ``verification_section.md.j2``).  Imports: ``.paths``,
``.markup``, ``.templating``; no other page module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .markup import anchor, fmt_err, name_target, table, torch_names
from .paths import VERIFICATION
from .templating import render_part

USED_NOTE = ("*Tolerance used* is the largest |a − b| / (atol + rtol·|b|) over every entry of every"
             " example: an entry passes when it is at most 1. The relative error is taken over entries"
             " with |b| ≥ 1e-3, where it means something; below that atol decides.")


def load_verification(path: Path = VERIFICATION) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


def provenance_line(data: dict[str, Any]) -> str:
    p = data.get("provenance", {})
    parts = [f"{p.get('date', '?')}", f"against {p.get('impl', 'torch')} {p.get('torch', '')}".rstrip(),
             f"NumPy {p.get('numpy', '?')}", f"Python {p.get('python', '?')}", f"machine: {p.get('machine', '?')}"]
    if p.get("cpu"):
        parts.append(f"CPU: {p['cpu']}, torch kernels ATen {p.get('torch_cpu_capability', '?')}"
                     f" with oneDNN {p.get('torch_onednn', '?')}")
    if p.get("nnref_commit"):
        parts.append(f"nnref commit `{p['nnref_commit']}`")
    if p.get("hypothesis"):
        parts.append(f"hypothesis {p['hypothesis']}")
    if p.get("cuda_device"):
        parts.append(f"GPU: {p['cuda_device']} (CUDA {p.get('cuda', '?')})")
    profile = p.get("profile")
    if profile is not None:
        name = "ci" if profile == 30 else "thorough" if profile == 600 else "custom"
        parts.append(f"profile: {name} ({profile} examples per test)")
    return "; ".join(parts) + "."


def rows_for(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """An op's result rows, CPU before CUDA and float64 first."""
    rows = [r for r in data.get("rows", []) if r["op"] == name]
    return sorted(rows, key=lambda r: (r["device"], r["dtype"] != "float64", r["dtype"]))


def cuda_note(data: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    if any(r["device"] == "cuda" for r in rows):
        return None
    if data.get("provenance", {}).get("cuda_device"):
        return "CUDA: not run in this verification run (a GPU was present; the run was limited to the CPU)."
    return "CUDA: not run — no GPU was available where this page was built."


def status(r: dict[str, Any]) -> str:
    return "**FAILED**" if r.get("failed") else "passed"


def _results_table(rows: list[dict[str, Any]]) -> str:
    keys = ["forward"] + sorted({k for r in rows for k in r["max_abs"] if k != "forward"})
    header = ["dtype", "device", "examples", "result", "quantity", "max abs error", "max rel error",
              "tolerance used"]
    body = []
    for r in rows:
        for i, k in enumerate(keys):
            first = [r["dtype"], r["device"], str(r["examples"]), status(r)] if i == 0 else ["", "", "", ""]
            body.append(first + [k, fmt_err(r["max_abs"].get(k)), fmt_err(r["max_rel"].get(k)),
                                 fmt_err(r.get("tol_used", {}).get(k))])
    return table(header, body)


def verification_section(op: Any, data: dict[str, Any] | None, h: str) -> str:
    name = op.public
    rows = rows_for(data, name) if data is not None else []
    return render_part(
        "verification_section.md.j2", h=h, anchor=anchor(op.name), name=name, data_missing=data is None,
        table=_results_table(rows) if rows else "", provenance=provenance_line(data) if rows else "",
        used_note=USED_NOTE, cuda_note=cuda_note(data, rows) if rows else None)


def verification_subsections(ops: list[Any], data: dict[str, Any] | None) -> list[str]:
    """One "### op" subsection per op with its verification table (a family page's last section)."""
    parts = []
    for op in ops:
        section = verification_section(op, data, "###").split("\n", 1)
        parts += [name_target(op.name) + f"### {op.name} {{#{anchor(op.name)}}}\n\n" + torch_names(op.public) + "\n"
                  + (section[1] if len(section) > 1 else ""), ""]
    return parts
