"""The cross-framework table on the Conventions page, generated from the measured deviation files.

Rows are the points where some framework's measured result differs from nnref's (every entry
of ``tests/deviations/*.json``, dtypes merged); columns are nnref, torch on CPU (with the
kernel path its file names), JAX on CPU and torch on CUDA.  A cell holds the recorded value
and links to its evidence (listed below the table, quoted from the file); a framework with
no deviation listed at a point is shown agreeing with nnref, and says where that rests.

Owns: ``framework_table`` (the table and its evidence list).  Imports: ``.markup``, ``.paths``; no
other page module.
"""

from __future__ import annotations

import json
from typing import Any

from .markup import cell, table
from .paths import DEVIATIONS

CUDA = "not measured: no GPU was lent"
FRAMEWORKS = (("torch", "torch CPU"), ("jax", "JAX CPU"))


def _load(name: str) -> dict[str, Any]:
    path = DEVIATIONS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {"deviations": [], "agrees": []}


def _key(dev: dict[str, Any]) -> tuple[str, str, str, str, str]:
    # a "where" condition is part of the point: two entries differing only there are two rows
    return (dev["op"], json.dumps(dev["params"], sort_keys=True), dev["direction"],
            json.dumps(dev["input"], sort_keys=True), dev.get("where", ""))


def _point(dev: dict[str, Any]) -> str:
    # the condition as prose, not a code span: cell() escapes '*', which a code span would show
    at = ", ".join(f"{k} = {v}" for k, v in dev["input"].items())
    where = ([f"at {at}"] if at or "where" not in dev else []) + ([f"where {dev['where']}"] if "where" in dev else [])
    params = ", ".join(f"{k}={v!r}" for k, v in dev["params"].items())
    what = "forward" if dev["direction"] == "forward" else dev["direction"]
    return f"`{dev['op']}`{f' ({params})' if params else ''}, {what} {', '.join(where)}"


def _value(dev: dict[str, Any], name: str) -> str:
    value = dev[name]
    if isinstance(value, dict):  # {"times_grad_output": c}: the VJP entry is c times the upstream gradient
        return f"derivative {value['times_grad_output']} (× upstream gradient)"
    return f"derivative {value} (× upstream gradient)" if dev.get("upstream") == "unit" else str(value)


def framework_table() -> tuple[str, list[str], int]:
    """(the Markdown table, its evidence list, the number of points)."""
    files = {name: _load(name) for name, _ in FRAMEWORKS}
    points: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for name, _ in FRAMEWORKS:
        for kind in ("deviations", "agrees"):
            for dev in files[name].get(kind, []):
                row = points.setdefault(_key(dev), {"first": dev, "dtypes": set(), "cells": {}})
                row["dtypes"].add(dev["dtype"])
                if kind == "deviations" and "mathematics" not in row["first"]:
                    row["first"] = dev
                row["cells"].setdefault(name, {})[dev["dtype"]] = (kind, dev)
    evidence: list[str] = []
    seen: dict[str, int] = {}

    def cite(name: str, dev: dict[str, Any]) -> str:
        text = f"{name}: {dev['evidence']}"
        if text not in seen:
            seen[text] = len(evidence) + 1
            evidence.append(f'{seen[text]}. <span id="evidence-{seen[text]}"></span>{cell(text)}')
        return f"[[{seen[text]}]](#evidence-{seen[text]})"

    rows = []
    for row in points.values():
        first = row["first"]
        dtypes = sorted(row["dtypes"])
        cells = [cell(_point(first)) + f" ({', '.join(dtypes)})", cell(first.get("mathematics", "")),
                 cell(_value(first, "nnref")) if "nnref" in first else ""]
        for name, _ in FRAMEWORKS:
            got = row["cells"].get(name, {})
            if not got:
                cells.append(f"agrees with nnref: no deviation listed in `tests/deviations/{name}.json`"
                             + (" (nnref takes torch's conventions; the torch cross-check runs this point)"
                                if name == "torch" else ""))
                continue
            groups: dict[str, tuple[list[str], list[str]]] = {}  # text: (dtypes, evidence links)
            for dtype in dtypes:
                if dtype not in got:
                    groups.setdefault("agrees with nnref (no deviation listed)", ([], []))[0].append(dtype)
                    continue
                kind, dev = got[dtype]
                label = "agrees: " + dev[name] if kind == "agrees" else _value(dev, name)
                path = f"; {dev['kind']}; path: {dev['path']}" if kind == "deviations" else ""
                where, links = groups.setdefault(cell(label + path), ([], []))
                where.append(dtype)
                links.append(cite(name, dev))
            # the same text for every dtype is said once, with each dtype's evidence
            cells.append("<br>".join(f"{text}{'' if len(groups) == 1 else ' (' + ', '.join(where) + ')'} "
                                     f"{' '.join(dict.fromkeys(links))}".strip()
                                     for text, (where, links) in groups.items()))
        cells.append(CUDA)
        rows.append(cells)
    header = ["point (dtypes)", "mathematics", "nnref", *(label for _, label in FRAMEWORKS), "torch CUDA"]
    return table(header, rows), evidence, len(rows)
