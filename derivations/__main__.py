"""`python -m derivations generate|check|oracle`: write or verify the generated engine and the
accuracy oracle's truths.

Owns: the command line.  Imports: ``.codegen`` and ``.oracle``.
"""

from __future__ import annotations

import sys
import time

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
        from . import oracle

        stale = drift()
        for p in stale:
            print(f"  out of date: {p.relative_to(ROOT)}")
        old = oracle.stale()
        for key in old[:20]:
            print(f"  oracle truth out of date: {key}")
        if old:
            print(f"  ({len(old)} oracle sweep(s) out of date: python -m derivations oracle)")
        return 1 if stale or old else 0
    if cmd == "oracle":
        from . import oracle

        t0 = time.perf_counter()
        n = oracle.write()
        print(f"oracle: {n} sweeps written to {oracle.DATA.relative_to(ROOT)} in {time.perf_counter() - t0:.0f} s")
        return 0
    print("usage: python -m derivations generate|check|oracle", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
