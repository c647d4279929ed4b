"""`python -m derivations generate|check`: write or verify the generated engine.

Owns: the command line.  Imports: ``.codegen``.
"""

from __future__ import annotations

import sys

from .codegen import ROOT, drift, write_all


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "generate"
    if cmd == "generate":
        changed = write_all()
        for p in changed:
            print(f"  wrote {p.relative_to(ROOT)}")
        print(f"generated engine: {len(changed)} file(s) changed")
        return 0
    if cmd == "check":
        stale = drift()
        for p in stale:
            print(f"  out of date: {p.relative_to(ROOT)}")
        return 1 if stale else 0
    print("usage: python -m derivations generate|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
