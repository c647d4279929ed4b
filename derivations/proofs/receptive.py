"""The receptive-field recurrence, proved against the composed index maps.

For L = 1, …, 4 layers with symbolic kernel, stride, padding and dilation, the index a unit of the
last layer reads in the input is composed map by map (i_{l-1} = s_l·i_l − p_l + d_l·t_l); SymPy
reads off its coefficient of the unit's index (the jump), its value at the first tap of unit 0
(the start) and its span over all taps (the size), and these must equal both the closed form and
the record's recurrence (``derive_step``) iterated L times.

Owns: ``RFProof`` and ``prove_receptive``.  Imports: SymPy and the description
(``derivations.ops.receptive``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..ops import receptive as RF


@dataclass(frozen=True)
class RFProof:
    claim: str
    holds: bool
    detail: str


def _composed(layers: int) -> tuple[sp.Expr, sp.Symbol, tuple[sp.Symbol, ...], dict[str, sp.Expr]]:
    cf = RF.closed_form(layers)
    ks, ss, ps, ds = cf["symbols"]
    unit = sp.Symbol("i", integer=True, nonnegative=True)
    taps = sp.symbols(f"t1:{layers + 1}", integer=True, nonnegative=True)
    index: sp.Expr = unit
    for l in reversed(range(layers)):  # noqa: E741 - from the last layer down to the input
        index = ss[l] * index - ps[l] + ds[l] * taps[l]
    return sp.expand(index), unit, taps, cf


def _iterated(layers: int, cf: dict[str, sp.Expr]) -> dict[str, sp.Expr]:
    ks, ss, ps, ds = cf["symbols"]
    step = RF.derive_step()
    field: dict[str, sp.Expr] = {"size": sp.S.One, "jump": sp.S.One, "start": sp.S.Zero}
    for l in range(layers):  # noqa: E741
        at = {RF.size: field["size"], RF.jump: field["jump"], RF.start: field["start"], RF.k: ks[l], RF.s: ss[l],
              RF.p: ps[l], RF.d: ds[l]}
        field = {key: sp.expand(expr.subs(at, simultaneous=True)) for key, expr in step.items()}
    return field


def prove_receptive(max_layers: int = 4) -> list[RFProof]:
    ok_closed = ok_step = True
    for layers in range(1, max_layers + 1):
        index, unit, taps, cf = _composed(layers)
        ks = cf["symbols"][0]
        poly = sp.Poly(index, unit, *taps)
        jump = poly.coeff_monomial(unit)
        start = index.subs({unit: 0, **dict.fromkeys(taps, 0)})
        # each tap's coefficient is a product of positive symbols, so the span is reached at t_l = k_l - 1
        span = sum(poly.coeff_monomial(tl) * (kl - 1) for tl, kl in zip(taps, ks))
        measured = {"size": sp.expand(span + 1), "jump": jump, "start": sp.expand(start)}
        ok_closed = ok_closed and all(sp.expand(measured[key] - cf[key]) == 0 for key in measured)
        it = _iterated(layers, cf)
        ok_step = ok_step and all(sp.expand(measured[key] - it[key]) == 0 for key in measured)
    return [RFProof("the closed form size = 1 + Σₗ dₗ(kₗ − 1)·s₁⋯sₗ₋₁, jump = s₁⋯s(L), start = −Σₗ pₗ·s₁⋯sₗ₋₁"
                    " is the composed index map's span, slope and origin", ok_closed,
                    f"symbolic, for 1 to {max_layers} layers"),
            RFProof("the printed recurrence, iterated, gives the same size, jump and start", ok_step,
                    f"symbolic, for 1 to {max_layers} layers")]
