"""How far an implementation's array is from nnref's: which entries are wrong, and by how much.

An entry is wrong where ``|actual - expected| > atol + rtol·|expected|``, where NaN meets a
number, or where an infinity meets anything else.  Sizes of error are measured over the
entries finite in both: absolute, relative (``|expected| >= 1e-3`` only), in units of the
tolerance, and in ulps of nnref's value in the op's dtype (below the smallest normal, the
ulp of the smallest normal, so an error next to 0 is not measured in subnormal steps).

Owns: ``wrong_entries``, ``max_errors``, ``ulps``.  Imports: NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def wrong_entries(actual: Any, expected: Any, rtol: float, atol: float) -> np.ndarray:
    """Boolean mask of the entries outside the tolerance (shapes must already agree)."""
    a64 = np.asarray(actual).astype(np.float64)
    e64 = np.asarray(expected).astype(np.float64)
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    bad = nan_a != nan_e
    inf_mismatch = (np.isinf(a64) | np.isinf(e64)) & ~(nan_a | nan_e) & (a64 != e64)
    finite = np.isfinite(a64) & np.isfinite(e64)
    with np.errstate(invalid="ignore"):
        far = finite & (np.abs(a64 - e64) > atol + rtol * np.abs(e64))
    return np.asarray(bad | inf_mismatch | far)


def max_errors(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> tuple[float, float, float]:
    """Over the finite entries of both: the largest absolute difference, the largest
    relative difference (entries with |expected| >= 1e-3 only, where it means something),
    and the largest fraction of the tolerance used, |a - e| / (atol + rtol·|e|)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(e)
    if not both.any():
        return 0.0, 0.0, 0.0
    diff = np.abs(a[both] - e[both])
    mag = np.abs(e[both])
    rel = np.where(mag >= 1e-3, diff / np.maximum(mag, 1e-3), 0.0)
    allowed = atol + rtol * mag
    # An exact tolerance (0, 0): used is 0 where the entries agree, inf where they do not.
    used = np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1.0), np.where(diff > 0, np.inf, 0.0))
    return float(diff.max()), float(rel.max()), float(used.max())


def ulps(actual: np.ndarray, expected: np.ndarray, dtype: str) -> float:
    """The largest |actual - expected| over the finite entries of both, in ulps of nnref's
    value in ``dtype``."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(e)
    if not both.any():
        return 0.0
    info = np.finfo(np.dtype(dtype))
    mag = np.maximum(np.abs(e[both]), float(info.smallest_normal)).astype(np.dtype(dtype))
    step = np.spacing(mag).astype(np.float64)
    with np.errstate(over="ignore"):  # 1 against 0 is more ulps than a float64 holds: inf
        return float((np.abs(a[both] - e[both]) / step).max())
