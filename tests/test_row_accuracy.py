"""The ops that mix a row (softmax, log_softmax, cross_entropy and their vector-Jacobian
products) against their definitions evaluated in 400-digit arithmetic, in float64.

A row's results cannot all be held to 2 ulp: subtracting the row's maximum m rounds x − m,
and an exponential turns that absolute rounding into a relative one, so the attainable
accuracy of softmax(x)_i is about eps·(|x_i − m| + a few), whoever computes it.  Each bound
below is that condition-number bound, with κ = 4 + C + max_j |x_j − m| (the relative error
any entry of a row's softmax may carry: the exponent's rounding, the exponential, the C-term
sum and the division), and is tight where it matters:

* softmax:      |err_i| <= 2·eps·κ·p_i
* log_softmax:  |err_i| <= 2·eps·(|L_i| + |x_i − m| + κ·(1 − p_max)): for a dominant entry
  (p_max → 1, L_i → −Σ_{j≠i} p_j) the bound shrinks with the true value, so returning 0 for
  −log1p(1e−20) fails it;
* cross_entropy with class indices: as −log_softmax at the target;
  its gradient p − onehot: |err_i| <= 2·eps·κ·p_i off the target and
  2·eps·κ·(1 − p_t) at it (p_t − 1 cancels as p_t → 1: the bound follows the true value);
* softmax VJP p_i·(g_i − ⟨g, p⟩): |err_i| <= 2·eps·κ·p_i·(|d_i| + Σ_j p_j |d_j|) with
  d = g − g_r for any reference g_r (⟨g, p⟩ − g_r = ⟨d, p⟩ since Σ p = 1): an upstream
  gradient that is nearly constant along the row has a tiny true result, which the bound
  follows (computing g_i − ⟨g, p⟩ directly loses it to the rounding of ⟨g, p⟩);
* log_softmax VJP g_i − p_i Σ_j g_j: |err_i| <= 2·eps·(|g_i| + κ·p_i·Σ_j |g_j|).

The rows: random ones of several scales and lengths, dominant entries (gaps of 20 to 700),
ties, large magnitudes, and upstream gradients that are constant or nearly constant.
"""

from __future__ import annotations

from typing import Any

import mpmath as mp
import numpy as np
import pytest

import nnref

EPS = float(np.finfo(np.float64).eps)
# Below the smallest normal number float64 keeps an absolute 2^-1074, not a relative eps: each
# probability in a bound counts as at least 2^-1022 (= 2^-1074 / eps).
FLOOR = 2.0 ** -1022
mp.mp.dps = 400


def _rows() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    rows = [rng.standard_normal(c) * s for c in (2, 5, 16, 100) for s in (0.1, 1.0, 10.0, 300.0)]
    for gap in (20.0, 37.0, 50.0, 200.0, 700.0):
        rows.append(np.array([gap, 0.0, -1.0, 0.5]))
        rows.append(np.array([-3.0, gap - 3.0, -4.0]))
    rows += [np.array([5.0, 5.0, 1.0]), np.array([1e300, 1e300 - 1e284, -1e300]), np.array([-1e300, -1e300, 0.0]),
             np.array([0.0]), np.array([1e-300, -1e-300, 0.0]), np.full(7, 2.5)]
    return rows


def _grads(row: np.ndarray) -> list[np.ndarray]:
    rng = np.random.default_rng(row.size)
    c = row.size
    return [rng.standard_normal(c), np.full(c, 3.0), 1.0 + rng.standard_normal(c) * 1e-12,
            np.where(np.arange(c) == np.argmax(row), 1.0, 0.0), rng.standard_normal(c) * 1e5]


def _truth(row: np.ndarray) -> tuple[list[Any], list[Any]]:
    """softmax and log_softmax at 400 digits (a gap of 700 leaves terms of 1e-304 beside 1)."""
    with mp.workdps(400):
        xs = [mp.mpf(float(v)) for v in row]
        m = max(xs)
        s = mp.fsum(mp.exp(v - m) for v in xs)
        p = [+(mp.exp(v - m) / s) for v in xs]
        logp = [+(v - m - mp.log(s)) for v in xs]
    return p, logp


def _kappa(row: np.ndarray) -> float:
    return 4 + row.size + float(np.max(np.max(row) - row))


def _over(got: np.ndarray, truth: list[Any], bound: np.ndarray) -> list[str]:
    err = np.array([abs(float(mp.mpf(float(g)) - t)) for g, t in zip(got, truth)])
    bad = err > bound
    return [f"entry {i}: error {err[i]:.3g} > bound {bound[i]:.3g} (truth {mp.nstr(truth[i], 8)}, got {got[i]!r})"
            for i in np.flatnonzero(bad)]


ROWS = _rows()
IDS = [f"row{i}-C{r.size}" for i, r in enumerate(ROWS)]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_softmax_and_log_softmax(row: np.ndarray) -> None:
    p, logp = _truth(row)
    k = _kappa(row)
    pf = np.array([float(v) for v in p]) + FLOOR
    bad = _over(nnref.softmax(row, dim=0), p, 2 * EPS * k * pf)
    lf = np.array([float(v) for v in logp])
    rest = float(1 - max(p)) + FLOOR
    bad += _over(nnref.log_softmax(row, dim=0), logp,
                 2 * EPS * (np.abs(lf) + np.abs(row - row.max()) + k * rest))
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_cross_entropy_value_and_gradient(row: np.ndarray) -> None:
    p, logp = _truth(row)
    k = _kappa(row)
    bad = []
    for t in sorted({0, int(np.argmax(row)), row.size - 1}):
        loss = nnref.cross_entropy(row[None, :], np.array([t]), reduction="none")
        bound = 2 * EPS * (abs(float(logp[t])) + abs(row[t] - row.max()) + k * (float(1 - max(p)) + FLOOR))
        bad += [f"target {t}: {b}" for b in _over(loss, [-logp[t]], np.array([bound]))]
        grad = nnref.cross_entropy_backward(np.ones(1), row[None, :], np.array([t]), reduction="none")["input"][0]
        truth = [p[i] - (1 if i == t else 0) for i in range(row.size)]
        scale = np.array([float(1 - p[i]) if i == t else float(p[i]) for i in range(row.size)]) + FLOOR
        bad += [f"target {t} gradient: {b}" for b in _over(grad, truth, 2 * EPS * k * scale)]
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_vector_jacobian_products(row: np.ndarray) -> None:
    p, _ = _truth(row)
    k = _kappa(row)
    pf = np.array([float(v) for v in p]) + FLOOR
    bad = []
    for n, g in enumerate(_grads(row)):
        gm = [mp.mpf(float(v)) for v in g]
        # p_i·(g_i − ⟨g, p⟩) written with d = g − g_r, exactly equal since Σ p = 1 (the sum
        # of the 400-digit p is not exactly 1, which would leave a false residue)
        dm = [v - gm[int(np.argmax(row))] for v in gm]
        dot = mp.fsum(a * b for a, b in zip(dm, p))
        truth = [p[i] * (dm[i] - dot) for i in range(row.size)]
        d = g - g[np.argmax(row)]
        bound = 2 * EPS * k * pf * (np.abs(d) + np.sum(pf * np.abs(d)))
        bad += [f"softmax g{n}: {b}" for b in _over(nnref.softmax_backward(g, row, dim=0)["input"], truth, bound)]
        total = mp.fsum(gm)
        truth = [gm[i] - p[i] * total for i in range(row.size)]
        bound = 2 * EPS * (np.abs(g) + k * pf * np.sum(np.abs(g)))
        bad += [f"log_softmax g{n}: {b}"
                for b in _over(nnref.log_softmax_backward(g, row, dim=0)["input"], truth, bound)]
    assert bad == [], "\n".join(bad)
