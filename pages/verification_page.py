"""The verification page: proof counts and the cross-check summary over every op.

Owns: ``render_verification`` (template ``verification.md.j2``).  Imports:
``derivations`` (derive, registry), ``.jobs``, ``.markup``, ``.templating``, ``.verification``; no other
page module.
"""

from __future__ import annotations

from typing import Any

from derivations.derive import PROOF_DIGITS, PROOF_POINTS
from derivations.registry import public_ops

from .jobs import proof_counts, proved_ops
from .markup import fmt_err, op_link, table
from .templating import render
from .verification import USED_NOTE, cuda_note, provenance_line, rows_for, status


def _summary_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for op in public_ops():
        if op.crosscheck != "vjp":  # verified on their own pages (initialisers, optimizers, dropout)
            continue
        got = rows_for(data, op.public)
        if not got:
            rows.append([op_link(op), "—", "not run", "—", "—", "—"])
            continue
        for r in got:
            used = r.get("tol_used", {})
            fwd = used.get("forward")
            bwd = max((v for k, v in used.items() if k != "forward"), default=None)
            rows.append([op_link(op), r["dtype"], r["device"], str(r["examples"]), status(r),
                         f"{fmt_err(fwd)} / {fmt_err(bwd)}"])
    return rows


def render_verification(data: dict[str, Any] | None) -> str:
    ops = proved_ops()
    sym, num, failed, numeric = proof_counts(ops)
    context: dict[str, Any] = {"sym": sym, "num": num, "failed": failed, "numeric": numeric, "n_ops": len(ops),
                               "data_missing": data is None, "used_note": USED_NOTE,
                               "proof_digits": PROOF_DIGITS, "proof_points": PROOF_POINTS}
    if data is not None:
        header = ["op", "dtype", "device", "examples", "result", "tolerance used (fwd / bwd)"]
        no_cuda = not any(r["device"] == "cuda" for r in data.get("rows", []))
        context |= {"provenance": provenance_line(data), "table": table(header, _summary_rows(data)),
                    "no_cuda": no_cuda, "cuda_note": (cuda_note(data, []) or "") if no_cuda else ""}
    return render("verification.md.j2", **context)
