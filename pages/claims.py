"""Checkable statements of the source articles, with nnref's value (the worked examples).

Owns: ``Claim``, ``numeric_claim``, ``check_claim`` and ``claims_table``.  Imports: NumPy,
``.markup``; no other page module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .markup import cell, fmt, fmt_vec, table


@dataclass
class Claim:
    """One checkable statement of a source article, with nnref's value.

    ``claimed`` is the number as the source states it, rounded to ``decimals`` places;
    ``ok`` is True when nnref's value rounds to it (None: nothing numeric to check)."""

    key: str
    what: str
    inputs: str
    claimed_text: str
    value_text: str
    ok: bool | None
    value: Any = None
    note: str = ""


def numeric_claim(key: str, what: str, inputs: str, claimed: Any, value: Any, decimals: int,
                  note: str = "", claimed_text: str | None = None) -> Claim:
    c = np.atleast_1d(np.asarray(claimed, dtype=float))
    v = np.atleast_1d(np.asarray(value, dtype=float))
    ok = bool(np.all(np.abs(v - c) <= 0.5 * 10.0 ** -decimals + 1e-12))
    vt = fmt_vec(v) if v.size > 1 else fmt(v[0])
    ct = claimed_text or (fmt_vec(c) if c.size > 1 else f"{c[0]:.{decimals}f}")
    return Claim(key, what, inputs, ct, vt, ok, value, note)


def check_claim(key: str, what: str, inputs: str, claimed_text: str, value_text: str, ok: bool | None,
                value: Any = None, note: str = "") -> Claim:
    return Claim(key, what, inputs, claimed_text, value_text, ok, value, note)


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else "✔ agrees" if ok else "✘ **disagrees**"


def claims_table(claims: list[Claim]) -> str:
    rows = [[c.what.replace("|", r"\|"), c.inputs, cell(c.claimed_text), cell(c.value_text), _mark(c.ok)]
            for c in claims]
    out = table(["claim", "inputs", "source says", "nnref", ""], rows)
    notes = [f"- **{c.key}**: {c.note}" for c in claims if c.note]
    return out + ("\n\n" + "\n".join(notes) if notes else "")
