"""Proofs and plots, run once per op and in parallel where the platform forks.

Owns: the proof and plot caches (``proofs_for``, ``PLOTTED``), ``run_jobs``, ``fork_map``,
``profile``, which records the generic prover handles (``PROVERS`` by ``op.renderer``,
``proved_ops``), and how proofs read on a page (``proof_lines``, ``claim_md``,
``proof_counts``).  Imports: ``derivations`` (registry, derive, steps), ``.markup``,
``.plots``; no other page module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from derivations.derive import Proof, prove_op
from derivations.registry import all_ops, op_named
from derivations.steps import prove_structured

from .markup import math_inline, md, reader_name
from .plots import make_plot

# The prover of each section renderer; convolution and pooling run their own exact checks
# on their pages (pages/conv.py, pages/pool.py).
PROVERS: dict[str, Callable[[Any], list[Proof]]] = {
    "pointwise": prove_op,
    "structured": prove_structured,
}

# Why an op with nothing to prove still has a correct derivative, per renderer.
NOTHING_TO_PROVE = {
    "pointwise": "the engine uses SymPy's derivative of the definition as it stands",
    "structured": "nothing is claimed beyond the definition",
}


def proved_ops() -> list[Any]:
    """Every record (variants included) whose identities ``PROVERS`` proves."""
    return [op for op in all_ops() if op.renderer in PROVERS]


def is_variant(op: Any) -> bool:
    """A record reached through a parameter of another op (gelu's approximate='tanh')."""
    return op.public != op.name


_PROOFS: dict[str, list[Proof] | str] = {}
# op name -> None when its plot is drawn, else why there is none (filled by run_jobs)
PLOTTED: dict[str, str | None] = {}


def _prove(op: Any) -> list[Proof] | str:
    try:
        return PROVERS[op.renderer](op)
    except AssertionError as exc:  # a claimed identity is false: show it, do not hide it
        return f"{type(exc).__name__}: {exc}"


def proofs_for(op: Any) -> list[Proof] | str:
    """The op's proofs (cached); a string when a proof failed."""
    if op.name not in _PROOFS:
        _PROOFS[op.name] = _prove(op)
    return _PROOFS[op.name]


def _job(job: tuple[str, str, str]) -> tuple[str, str, Any]:
    kind, name, plots_dir = job
    op = op_named(name)
    if kind == "proof":
        return kind, name, _prove(op)
    return kind, name, make_plot(op, Path(plots_dir))


def fork_map(fn: Any, items: list[Any]) -> list[Any]:
    """[fn(item) for item in items], in parallel processes where the platform forks (each
    proof or check is independent and some take seconds)."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers > 1 and sys.platform.startswith("linux"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(fn, items))
    return [fn(item) for item in items]


def profile() -> str:
    """The exact-check grid the docs run: 'thorough' with NNREF_PROFILE=thorough, else 'ci'."""
    return "thorough" if os.environ.get("NNREF_PROFILE") == "thorough" else "ci"


def run_jobs(ops: list[Any], plots_dir: Path | None = None) -> None:
    """Every op's proofs and (with plots_dir) every plot, once, in parallel processes
    where the platform forks; the sections then read the results."""
    jobs = [("proof", op.name, "") for op in ops if op.name not in _PROOFS]
    if plots_dir is not None:
        jobs += [("plot", op.name, str(plots_dir)) for op in ops
                 if not is_variant(op) and op.name not in PLOTTED]
    for kind, name, result in fork_map(_job, jobs):
        (_PROOFS if kind == "proof" else PLOTTED)[name] = result


def claim_md(p: Proof, op: Any) -> str:
    """A proof's claim as Markdown: the closed-form labels it quotes (LaTeX) become math."""
    # Only declared closed forms carry a label; a step list's are (LaTeX, what it says) pairs.
    labels = [cf.label for cf in op.closed_forms if hasattr(cf, "label")]
    for lab in labels:
        if lab in p.claim:
            return md(p.claim.replace(lab, "\x00")).replace("\x00", math_inline(lab))
    return md(p.claim)


# Only a symbolic simplification to 0 is a proof; agreement to many digits at random points is
# strong evidence, and the pages say which of the two each identity has.
METHOD_WORDS = {"symbolic": "proved symbolically", "numeric": "checked numerically"}


def _reader_claim(claim: str, op: Any) -> str:
    """A claim opens with the record's name; a variant's (gelu_tanh) is shown as its call."""
    prefix = f"{op.name}: "
    return reader_name(op) + ": " + claim[len(prefix):] if claim.startswith(prefix) else claim


def proof_lines(proofs: list[Proof] | str, op: Any) -> list[str]:
    if isinstance(proofs, str):
        return [f"- ✘ **proof failed**: {md(proofs)}"]
    if not proofs:
        return [f"- No identity to prove: {NOTHING_TO_PROVE[op.renderer]}; the conventions are checked against"
                " torch at their exact points by the test suite."]
    return [f"- ✔ **{METHOD_WORDS.get(p.method, p.method)}**: {_reader_claim(claim_md(p, op), op)}. *{md(p.detail)}.*"
            for p in proofs]


def proof_counts(ops: list[Any]) -> tuple[int, int, int, list[str]]:
    """(symbolic, numeric, failed ops, the numerically proved claims as Markdown)."""
    sym = num = failed = 0
    numeric: list[str] = []
    for op in ops:
        ps = proofs_for(op)
        if isinstance(ps, str):
            failed += 1
            continue
        for p in ps:
            if p.method == "symbolic":
                sym += 1
            else:
                num += 1
                numeric.append(_reader_claim(claim_md(p, op), op))
    return sym, num, failed, numeric
