"""The mutation testing record (README, "Mutation testing") agrees with itself: the score in
``tests/mutation/results.json`` follows from its counts, every survivor it counts against the
score and every equivalent one is triaged in ``tests/mutation/survivors.md``, and the two
seeded runtime samples are disjoint, drawn from one population, and tally with their verdicts.
These read files only (mutmut is not run here: it is slow and not part of `make test`), so
they catch a record edited by hand into disagreement, or a run merged without its triage.

Owns: nothing but these tests.  Imports: the standard library, and tools/mutation_summary.py by path
(the survivors.md reader the summary uses).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATION = ROOT / "tests" / "mutation"
RESULTS = json.loads((MUTATION / "results.json").read_text())
SAMPLE = json.loads((MUTATION / "runtime_sample.json").read_text())
REST = json.loads((MUTATION / "runtime_rest.json").read_text())


def _rows() -> dict[str, str]:
    """survivors.md's rows of the counted runs, read as the summary reads them (it refuses a
    mutant listed twice)."""
    spec = importlib.util.spec_from_file_location("mutation_summary", ROOT / "tools" / "mutation_summary.py")
    assert spec is not None and spec.loader is not None
    summary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(summary)
    return summary.triaged()


def test_the_score_follows_from_the_counts_and_meets_the_target() -> None:
    counts = RESULTS["counts"]
    per_file = RESULTS["counts_per_file"]
    for status, n in counts.items():
        assert n == sum(c.get(status, 0) for c in per_file.values()), status
    run = sum(n for k, n in counts.items() if k not in ("not checked", "no tests"))
    assert run == RESULTS["run"]
    # a mutant killed by hand (a test mutmut cannot attribute) counts as killed where mutmut
    # recorded no covering test: the score lies between the two readings
    counted = run - RESULTS["equivalent"]
    assert counts["killed"] / counted - 5e-5 <= RESULTS["score"]
    assert RESULTS["score"] <= (counts["killed"] + len(RESULTS["killed_by_hand"])) / counted + 5e-5
    assert RESULTS["score"] >= 0.95  # the target, of the non-equivalent mutants


def test_every_survivor_counted_is_triaged() -> None:
    rows = _rows()
    for name in RESULTS["survivors_not_equivalent"]:
        assert name in rows, f"{name} survived and has no row in survivors.md"
        assert not rows[name].startswith("equivalent"), name
    verdicts = {v.split(" ")[0] for v in rows.values()}
    assert verdicts <= {"equivalent", "rounding-only", "killed", "bug"}, verdicts


def test_the_runtime_samples_are_disjoint_and_tally() -> None:
    first, rest = set(SAMPLE["sample"]), set(REST["status"])
    assert len(first) == len(SAMPLE["sample"]) == 320
    assert not first & rest
    assert set(SAMPLE["status"]) == first
    assert len(rest) == REST["batch_size"] * len(REST["batches_triaged"])
    excluded = tuple(f"nnref._runtime.x_{f}__" for f in SAMPLE["excluded_functions"])
    assert not any(n.startswith(excluded) for n in first | rest)
    rows = _rows()
    # a function changed after the samples were run is run again in full; its sampled
    # mutants' rows are then replaced by the new run's (mutmut numbers a changed function anew)
    replaced = tuple(f"nnref._runtime.x_{f}__" for f in REST.get("rerun_in_full", {}))
    for name, verdict in {**SAMPLE["status"], **REST["status"]}.items():
        if name.startswith(replaced):
            continue
        if verdict.startswith("survived: equivalent") or verdict.startswith("survived: rounding-only"):
            assert name in rows, f"{name}: {verdict} but no row in survivors.md"
            assert rows[name].split(" ")[0] == verdict.split(": ")[1].split(" ")[0], name
