"""Where the page builder reads and writes.

Owns: the repository paths (docs, plots, generated engine, deviation files, verification results, benchmarks).
Imports: nothing from the project.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLOTS = DOCS / "assets" / "plots"
RESULTS = DOCS / "assets" / "results"  # raw results and golden vectors, downloadable from the site
GENERATED = ROOT / "nnref" / "_generated"
DEVIATIONS = ROOT / "tests" / "deviations"
VERIFICATION = ROOT / "build" / "verification" / "torch.json"
PLANTED = ROOT / "build" / "verification" / "planted.json"
BENCH = ROOT / "benchmarks" / "conv_bench.json"
