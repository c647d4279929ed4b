"""`python -m nnref conform`: check an implementation against nnref from the installed package.

    python -m nnref conform --impl pkg.module:Adapter [--ops relu,conv2d | --family pooling]
        [--deviations FILE] [--report report.json] [--profile ci|thorough]
    python -m nnref conform --impl pkg.module:Adapter --replay reproducer.npz

The adapter module is imported from the current directory or PYTHONPATH.  Exit status 0
when nothing failed (ops the adapter does not provide are reported, not failed), 1 when a
comparison failed, 2 on a usage error.

Owns: the command line of the conformance run, the summary table.  Imports:
``nnref.conformance`` (hypothesis through it).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

SHORT = {"pass": "pass", "known deviation": "known dev", "failure": "FAIL", "not provided": "-", "skipped": "skip"}


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    return f"{value:.3g}"


def summary(report: dict[str, Any]) -> str:
    """The report as a table: one line per op provided, then what was not provided, failures."""
    rows = report["rows"]
    skipped = {r["device"] for r in rows if r["status"] == "skipped"}
    columns = sorted({(r["dtype"], r["device"]) for r in rows if r["device"] not in skipped},
                     key=lambda c: (c[1], c[0] != "float64"))
    by_op: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for r in rows:
        by_op.setdefault(r["op"], {})[(r["dtype"], r["device"])] = r
    width = max([len(op) for op in by_op] + [2])
    head = f"{'op':<{width}}  " + "  ".join(f"{d + '/' + dev:<18}" for d, dev in columns) + "  max ulps    max tol"
    lines = [head, "-" * len(head)]
    for op, cells in by_op.items():
        if op in report["not_provided"]:
            continue
        shown = []
        worst_ulps: float = 0.0
        worst_tol: float = 0.0
        for c in columns:
            r = cells[c]
            shown.append(f"{SHORT[r['status']] + ' (' + str(r['examples']) + ')':<18}")
            for v in r["max_ulps"].values():
                worst_ulps = max(worst_ulps, float(v))
            for v in r["max_tol_units"].values():
                worst_tol = max(worst_tol, float(v))
        lines.append(f"{op:<{width}}  " + "  ".join(shown) + f"  {_fmt(worst_ulps):<10}  {_fmt(worst_tol)}")
    if report["not_provided"]:
        names = sorted(report["not_provided"])
        lines.append(f"not provided ({len(names)} ops): {', '.join(names)}")
    for dev in sorted(skipped):
        reason = next(r["reason"] for r in rows if r["device"] == dev)
        lines.append(f"skipped device {dev}: {reason}")
    counts = report["summary"]["rows"]
    lines.append(f"{counts['pass']} passed, {counts['known deviation']} known deviation,"
                 f" {counts['failure']} failed (op × dtype × device); {report['summary']['ops_not_provided']} of"
                 f" {report['summary']['ops']} ops not provided; {report['seconds']:.1f} s, profile"
                 f" {report['profile']} ({report['max_examples']} examples each)")
    for r in rows:
        if r["status"] == "failure":
            first = r["failure"]["message"].splitlines()[0]
            lines.append(f"FAILED {r['op']} {r['dtype']} {r['device']}: {first[:400]}")
            if "command" in r["failure"]:
                lines.append(f"  reproducer: {r['failure']['reproducer']}\n  rerun: {r['failure']['command']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnref conform", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", required=True, help="the adapter, 'package.module:object'")
    parser.add_argument("--ops", help="comma-separated op names (default: every op checked by forward and VJP)")
    parser.add_argument("--family", help="only this family (activation, loss, linear, convolution, pooling)")
    parser.add_argument("--deviations", help="JSON file of known deviations, as tests/deviations/torch.json")
    parser.add_argument("--report", default="nnref-conformance.json", help="where the JSON report is written")
    parser.add_argument("--reproducers", help="folder for failing cases (default: beside the report)")
    parser.add_argument("--profile", choices=["ci", "thorough"], default="ci",
                        help="ci: 30 reproducible examples per op, dtype and device; thorough: 600 random ones")
    parser.add_argument("--replay", help="rerun one reproducer .npz instead of a run")
    parser.add_argument("--quiet", action="store_true", help="no line per op × dtype × device while running")
    args = parser.parse_args(argv)
    try:
        from . import check, deviations, runner
    except ImportError as exc:
        print(f"python -m nnref conform needs hypothesis: pip install \"nnref[conformance]\" ({exc})", file=sys.stderr)
        return 2
    try:
        adapter = check.load(args.impl)
        known = check.Deviations()
        if args.deviations:
            known = check.Deviations(*deviations.read(args.deviations))
        if args.replay:
            result, info = runner.replay(args.replay, adapter, known)
            print(f"{info['op']} [{info['dtype']}, {info['device']}] with {adapter.name}:"
                  f" {'FAILED' if result.failed else 'passed'}")
            for c in result.comparisons:
                print(f"  {c.what}: {'ok' if c.ok else 'FAILED'}  {c.ulps:.3g} ulps, {c.tol_units:.3g} tolerance units")
            if result.failed:
                print(result.message)
            return 1 if result.failed else 0
        metas = runner.select(args.ops, args.family)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report_path = Path(args.report)
    folder = Path(args.reproducers) if args.reproducers else report_path.with_name(report_path.stem + "-reproducers")
    extra = f" --deviations {shlex.quote(args.deviations)}" if args.deviations else ""

    def command(path: Path) -> str:
        return f"python -m nnref conform --impl {shlex.quote(args.impl)}{extra} --replay {shlex.quote(str(path))}"

    report = runner.run(adapter, args.impl, metas, args.profile, known, folder, command,
                        progress=(lambda _: None) if args.quiet else (lambda line: print(line, flush=True)))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=1))
    print(summary(report))
    print(f"report: {report_path}")
    return 1 if report["summary"]["rows"]["failure"] else 0
