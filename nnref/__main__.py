"""`python -m nnref ops [--json]`: list every op with its inputs, parameters and backward;
`python -m nnref conform --impl pkg.module:Adapter ...`: check an implementation against nnref;
`python -m nnref vectors --out DIR`: write golden vectors (NumPy only) for loaders in other languages.

Owns: the command line.  Imports: ``nnref``; ``nnref.conformance`` only inside ``main``, for
``conform`` (hypothesis is needed there alone, from the ``[conformance]`` extra) and ``vectors``.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._generated.catalog import CATALOG


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["conform"]:
        from .conformance.cli import main as conform

        return conform(argv[1:])
    if argv[:1] == ["vectors"]:
        from .conformance.vectors import main as vectors

        return vectors(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m nnref", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ops = sub.add_parser("ops", help="list the ops")
    ops.add_argument("--json", action="store_true", help="machine-readable output")
    ops.add_argument("--family", help="only this family (activation, loss, linear, ...)")
    sub.add_parser("conform", help="check an implementation against nnref (python -m nnref conform --help)")
    sub.add_parser("vectors", help="write golden vectors, .npz and a JSON manifest (python -m nnref vectors --help)")
    args = parser.parse_args(argv)
    entries = [e for e in CATALOG if args.family in (None, e["family"])]
    if args.json:
        json.dump(entries, sys.stdout, indent=2, default=str)
        print()
        return 0
    width = max(len(e["name"]) for e in entries) if entries else 0
    for e in entries:
        params = ", ".join(f"{p['name']}={p['default']!r}" for p in e["params"])
        grads = ", ".join(e["differentiable"])
        print(f"{e['name']:<{width}}  {e['family']:<10}  inputs: {', '.join(i['name'] for i in e['inputs'])}"
              f"  params: {params or '-'}  backward wrt: {grads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
