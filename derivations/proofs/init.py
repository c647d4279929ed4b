"""Exact checks of the initialisers: SymPy's bound or std, solved from the variance target,
equals torch's formula as its source writes it; the printed engine returns that value.

Owns: ``InitProof`` and ``prove_init``.  Imports: SymPy, the initialisation descriptions
(``derivations.ops.init``), and the engine's generated module (inside a function).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..ops.init import GAIN, LEAKY_RELU, RELU, InitOp, second_moment_ratio, slope


@dataclass(frozen=True)
class InitProof:
    name: str
    claim: str
    holds: bool
    detail: str


def prove_init(op: InitOp) -> list[InitProof]:
    """torch's quoted formula minus SymPy's solution simplifies to 0, and the printed kernel
    gives the solution's value at a grid of fans and gains."""
    if op.variance is None or op.quoted is None:
        return []
    from nnref._generated import init as generated

    solved = op.spread()
    diff = sp.simplify(solved - op.quoted)
    kernel = getattr(generated, f"_{op.name}_{op.spread_name}")
    args = sorted(solved.free_symbols, key=lambda s: s.name)
    worst = 0.0
    for k in range(1, 6):
        values = {s: (k + 2 if s.name != "gain" else sp.Rational(k, 3)) for s in args}
        exact = float(solved.subs(values))
        got = float(kernel(**{s.name: float(v) for s, v in values.items()}))
        worst = max(worst, abs(got - exact) / abs(exact))
    return [InitProof(op.name, f"torch's {op.spread_name} equals the one solved from the variance target",
                      diff == 0, "symbolic: the difference simplifies to 0"),
            InitProof(op.name, "the printed kernel returns it", worst < 4e-16,
                      f"largest relative difference {worst:.1e} over 5 points")]


def prove_gains() -> list[InitProof]:
    """E[relu(z)²] = σ²/2 and E[leaky_relu(z)²] = (1 + slope²)σ²/2, hence the gains."""
    relu = second_moment_ratio(RELU)
    leaky = second_moment_ratio(LEAKY_RELU)
    return [InitProof("relu", "E[relu(z)²]/σ² = 1/2", sp.simplify(relu - sp.Rational(1, 2)) == 0, "symbolic"),
            InitProof("leaky_relu", "E[leaky_relu(z)²]/σ² = (1 + negative_slope²)/2",
                      sp.simplify(leaky - (1 + slope**2) / 2) == 0, "symbolic"),
            InitProof("relu", "the relu gain is √2", sp.simplify(GAIN["relu"][0] - sp.sqrt(2)) == 0, "symbolic")]
