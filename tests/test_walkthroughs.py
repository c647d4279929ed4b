"""The step-by-step derivations (``derivations/walkthroughs.py``, the page "Derivations, step
by step"): every step follows from the one before it, and a wrong step is caught.

Each broken copy changes one step the way a student's slip would (a sign, a dropped
assumption, the wrong index, a selector that splits the tie) and must fail the check.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from derivations import walkthroughs as W


@pytest.mark.parametrize("w", W.WALKTHROUGHS, ids=[w.key for w in W.WALKTHROUGHS])
def test_every_step_follows(w: W.Walkthrough) -> None:
    proofs = W.check(w)
    assert len(proofs) >= len(w.steps) - 1
    assert sum(p.method == "symbolic" for p in proofs) >= len(proofs) // 2


def _broken(w: W.Walkthrough, n: int, **change: object) -> W.Walkthrough:
    steps = list(w.steps)
    steps[n] = dataclasses.replace(steps[n], **change)  # type: ignore[arg-type]
    return dataclasses.replace(w, steps=tuple(steps))


ce, mp, cv = W.CROSS_ENTROPY, W.MAX_POOL, W.CONV_WEIGHT
BROKEN = {
    "p plus y": _broken(ce, 5, rhs=W._p[W._i] + W._y[W._i]),
    "targets not summing to one": _broken(ce, 3, assume=None),
    "logarithm of a sum split wrongly": _broken(ce, 1, rhs=-sp.Sum(W._y[W._k] * W._z[W._k], (W._k, 1, W._C))),
    "gradient split over a tie-free window": _broken(mp, 1, assume=lambda n: {W._s[1]: sp.Rational(1, 2),
                                                                              W._s[2]: sp.Rational(1, 2),
                                                                              W._s[3]: 0}),
    "chain rule without g": _broken(mp, 3, rhs=W._s[W._i]),
    "weight gradient read at the wrong offset": _broken(
        cv, 1, rhs=sp.Sum(W._gc[W._n] * W._xc[W._n + W._q], (W._n, 0, W._N - 1))),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_wrong_step_is_caught(name: str) -> None:
    with pytest.raises(AssertionError):
        W.check(BROKEN[name])


def test_the_page_prints_the_checked_expressions() -> None:
    from pages.walkthrough_page import render_walkthroughs

    page = render_walkthroughs()
    for w in W.WALKTHROUGHS:
        assert f"{{#{w.key}}}" in page
        for step in w.steps:
            assert (step.show or sp.latex(step.rhs, order=w.order)) in page
    assert page.count("Checked while this page was built") == len(W.WALKTHROUGHS)
