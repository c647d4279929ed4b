"""The Conventions page's cross-framework table is generated from the deviation files: one
row per listed point (dtypes merged), every listed value in its framework's column with a
link to its evidence, and the unmeasured torch CUDA column saying so.

Owns: the cross-framework table's test.  Imports: ``pages.frameworks``, ``pages.markup``, ``pages.paths``.
"""

from __future__ import annotations

import json

from pages.frameworks import CUDA, framework_table
from pages.markup import cell
from pages.paths import DEVIATIONS


def test_every_listed_point_is_a_row_citing_its_evidence() -> None:
    text, evidence, points = framework_table()
    rows = [line for line in text.splitlines()[2:] if line.startswith("| ")]
    keys = set()
    for name in ("torch", "jax"):
        data = json.loads((DEVIATIONS / f"{name}.json").read_text())
        for dev in data["deviations"] + data.get("agrees", []):
            keys.add((dev["op"], json.dumps(dev["params"], sort_keys=True), dev["direction"],
                      json.dumps(dev["input"], sort_keys=True), dev.get("where", "")))
            assert any(cell(dev["evidence"]) in item for item in evidence), dev
    assert points == len(rows) == len(keys)
    # a point given by a condition (a kink that moves with a parameter) says so in its row
    conditions = {k[4] for k in keys if k[4]}
    assert conditions and all(any(f"where {cell(c)}" in row.split(" | ")[0] for row in rows) for c in conditions), conditions
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[-1] == CUDA
        # a framework's cell either cites evidence or says it agrees with nnref
        for c in cells[3:5]:
            assert "(#evidence-" in c or c.startswith("agrees with nnref"), c
