"""`make mutation`'s summary: reads mutmut's per-file results (mutants/**/*.meta), the triage of
survivors (tests/mutation/survivors.md) and writes tests/mutation/results.json.

Score = killed / (run - equivalent), over the mutants mutmut ran tests against: killed,
survived, timed out or crashed (timeouts and crashes are not counted as killed).  A survivor
that survivors.md does not list as equivalent (a rounding-only one too) counts against it;
one that survivors.md lists as killed by a test mutmut cannot attribute counts as killed.
Mutants of functions no test of the killer set reaches ("no tests") and mutants not yet
run are counted per file, outside the score.

Several mutants/ folders (runs made in separate git worktrees, one file each) can be read
together: ``--mutants DIR ...``; a mutant's result is the one any of them records.

``--keep-earlier FILE ...`` adds, for those files, the earlier counts to the new ones (for a
run of the mutants of a file that the earlier runs left out, such as the runtime sample of
December 2026).  The earlier runs' survivors are then the survivors.md rows of the mutants this
run did not run (every survivor has a row), so a row of a mutant that no longer exists is an
error.  Where this run ran again mutants that an earlier run had run (a function the earlier
run stopped in), ``--rerun FUNCTION=N:S[:O]`` says so: the earlier run's N results of FUNCTION, S
of them survivors and O of them neither killed nor survived (a run ended by a signal, counted as
"suspicious"), leave the earlier counts, and this run's results stand.

A file of which mutants/ holds no run mutant (a fresh mutants/, or runs that left the file
out) keeps its counts from the results file being replaced, with that file's date under
"carried_over": mutmut keeps no per-mutant record of killed mutants outside mutants/, and
survivors.md names every survivor, so the score still covers the earlier runs.

Owns: the mutation results file.  Imports: the standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SURVIVORS = ROOT / "tests" / "mutation" / "survivors.md"
RESULTS = ROOT / "tests" / "mutation" / "results.json"
# survivors.md's rows below this heading are of mutants outside the counted runs
OUTSIDE = "## Triaged in an earlier round"

# mutmut 3.8.1's exit codes (mutmut/stats.py): 1 and 3 are a failing test run.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
          -9: "segfault", -11: "segfault", 37: "type check", None: "not checked"}


def _counts(data: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for code in data["exit_code_by_key"].values():
        status = STATUS.get(code, "suspicious")
        counts[status] = counts.get(status, 0) + 1
    return counts


def triaged() -> dict[str, str]:
    """mutant id -> verdict from survivors.md's table rows (| `id` | verdict | change | why |)."""
    out: dict[str, str] = {}
    if SURVIVORS.exists():
        for line in SURVIVORS.read_text().splitlines():
            if line.startswith(OUTSIDE):
                break
            m = re.match(r"\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|", line)
            if m:
                if m.group(1) in out:
                    raise ValueError(f"survivors.md lists {m.group(1)} twice")
                out[m.group(1)] = m.group(2)
    return out


def _ran(counts: dict[str, int]) -> int:
    return sum(n for k, n in counts.items() if k not in ("not checked", "no tests"))


def _module(path: str) -> str:
    """nnref/_runtime.py -> 'nnref._runtime.' (the prefix of its mutants' names)"""
    return path.removesuffix(".py").replace("/", ".") + "."


def _rows(verdicts: dict[str, str], module: str) -> list[str]:
    """The survivors.md rows of a module's survivors (not those killed by a test): the
    survivors of runs whose per-mutant records are gone."""
    return [n for n, v in verdicts.items() if n.startswith(module) and not v.startswith("killed")]


def _metas(dirs: list[Path]) -> dict[str, dict]:
    """path -> mutmut's meta data, the exit codes of every folder merged (a run result wins
    over "not checked")."""
    merged: dict[str, dict] = {}
    for folder in dirs:
        for meta in sorted(folder.rglob("*.py.meta")):
            data = json.loads(meta.read_text())
            path = str(meta.relative_to(folder)).removesuffix(".meta")
            codes = merged.setdefault(path, {"exit_code_by_key": {}})["exit_code_by_key"]
            for name, code in data["exit_code_by_key"].items():
                if codes.get(name) is None:
                    codes[name] = code
    return merged


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, help="the run's wall time, recorded")
    parser.add_argument("--mutants", nargs="+", type=Path, default=[ROOT / "mutants"])
    parser.add_argument("--keep-earlier", nargs="+", default=[], metavar="FILE")
    parser.add_argument("--rerun", nargs="+", default=[], metavar="FUNCTION=N:S[:O]")
    args = parser.parse_args(argv)
    seconds, dirs, keep = args.seconds, args.mutants, args.keep_earlier
    rerun = {f: (tuple(int(v) for v in ns.split(":")) + (0,))[:3] for f, ns in (item.split("=") for item in args.rerun)}
    verdicts = triaged()
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    files: dict[str, dict[str, int]] = {}
    carried: dict[str, str] = dict(previous.get("carried_over", {}))
    survivors, equivalent, no_tests = [], [], set()
    for path, data in sorted(_metas(dirs).items()):
        earlier = previous.get("counts_per_file", {}).get(path, {})
        if not _ran(_counts(data)) and _ran(earlier):
            # Nothing of this file run in mutants/: the earlier counts stand; its survivors are
            # the survivors.md rows of its module (every survivor has one).
            files[path] = earlier
            carried.setdefault(path, previous["date"])
            module = _module(path)
            for name in _rows(verdicts, module):
                (equivalent if verdicts[name].startswith("equivalent") else survivors).append(name)
            no_tests |= {n for n in previous.get("killed_by_hand", []) if n.startswith(module)}
            continue
        counts: dict[str, int] = {}
        if path in keep and _ran(earlier):
            counts = {k: n for k, n in earlier.items() if k != "not checked"}
            since = carried.get(path, previous["date"]).split(",")[0]
            carried[path] = f"{since}, with this run's other mutants added"
            codes = data["exit_code_by_key"]
            rows = _rows(verdicts, _module(path))
            stale = [n for n in rows if n not in codes]
            if stale:
                sys.exit(f"survivors.md names mutants that no longer exist: {', '.join(stale)}")
            # the earlier runs' survivors: the rows of mutants that did not run here
            for name in rows:
                if codes[name] is None:
                    (equivalent if verdicts[name].startswith("equivalent") else survivors).append(name)
            for function, (n, survived, other) in rerun.items():
                if function.startswith(_module(path)):
                    counts["survived"] -= survived
                    counts["suspicious"] = counts.get("suspicious", 0) - other
                    counts["killed"] -= n - survived - other
                    if not counts["suspicious"]:
                        del counts["suspicious"]
        else:
            carried.pop(path, None)
        for name, code in data["exit_code_by_key"].items():
            status = STATUS.get(code, "suspicious")
            counts[status] = counts.get(status, 0) + 1
            if status == "no tests":
                no_tests.add(name)
            if status == "survived":
                (equivalent if verdicts.get(name, "").startswith("equivalent") else survivors).append(name)
        if path in keep and _ran(earlier) and counts.get("not checked"):
            # the earlier run's mutants are "not checked" in this folder, but for those of a
            # function run again here (--rerun), whose earlier results left the counts above
            again = sum(n for function, (n, *_) in rerun.items() if function.startswith(_module(path)))
            # ("no tests" results stand too: mutmut does not run those mutants again either)
            standing = _ran(earlier) + earlier.get("no tests", 0) - again
            counts["not checked"] = max(0, counts["not checked"] - standing)
            if not counts["not checked"]:
                del counts["not checked"]
        files[path] = counts
    total = {k: sum(c.get(k, 0) for c in files.values()) for k in sorted({k for c in files.values() for k in c})}
    manual = sorted(n for n, v in verdicts.items() if v.startswith("killed"))
    run = sum(n for k, n in total.items() if k not in ("not checked", "no tests"))
    killed = total.get("killed", 0) + sum(1 for n in manual if n in no_tests)
    denominator = run + sum(1 for n in manual if n in no_tests) - len(equivalent)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs, one mutmut worker",
        "python": platform.python_version(),
        "mutmut": "3.8.1",
        "scope": sorted(files),
        "counts_per_file": files,
        "counts": total,
        "run": run,
        "equivalent": len(equivalent),
        "killed_by_hand": manual,
        "score": round(killed / denominator, 4) if denominator else None,
        "score_rule": "killed / (run - equivalent); rounding-only survivors, timeouts and crashes count as not"
                      " killed; 'no tests' and 'not checked' are outside it",
        "survivors_not_equivalent": sorted(survivors),
        "carried_over": dict(sorted(carried.items())),
        "wall_seconds": seconds,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("counts", "run", "equivalent", "score")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
