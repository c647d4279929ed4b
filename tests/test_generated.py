"""The generated engine is exactly what the derivations produce today."""

from __future__ import annotations

from derivations.codegen import drift


def test_generated_files_match_derivations() -> None:
    stale = drift()
    assert not stale, (f"generated files out of date: {[str(p) for p in stale]};"
                       " run `python -m derivations generate` (never edit them by hand)")
