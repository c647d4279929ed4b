"""A known bug, left failing on purpose until the runtime is fixed (found by mutation testing,
tests/mutation/survivors.md): ``_runtime.table`` merges a value of −0.0 with +0.0 (its
distinct values are dict keys, and −0.0 == 0.0), so a −0.0 it should choose comes back as
+0.0, where numpy.select (its stated meaning) and IEEE arithmetic keep the sign.  It reaches
the API through a parameter: leaky_relu with negative_slope = −0.0 has the derivative −0.0
for x < 0, and grad·(−0.0) is −0.0 for a positive grad (torch returns −0.0 there).

Not in the mutation killer set (a failing test there would stop ``make mutation``'s clean run).

Owns: nothing but these tests.  Imports: nnref, NumPy.
"""

from __future__ import annotations

import numpy as np

import nnref
from nnref import _runtime as rt


def test_table_keeps_the_sign_of_a_negative_zero_value() -> None:
    x = np.array([-1.0, 2.0, -3.0, 0.5])
    for conds, values in [((x < 0,), (-0.0, 1.0)), ((x > 1,), (1.0, -0.0)), ((x < 0, x > 1), (-0.0, 0.5, 2.0))]:
        expected = np.select(list(conds), list(values[:-1]), values[-1])
        got = rt.table(conds, values)
        assert np.array_equal(got, expected) and np.array_equal(np.signbit(got), np.signbit(expected)), values


def test_leaky_relu_backward_with_a_negative_zero_slope() -> None:
    x = np.array([-1.0, 2.0, -3.0])
    g = nnref.leaky_relu_backward(np.ones(3), x, negative_slope=-0.0)["input"]
    # d/dx of (−0.0)·x is −0.0 for x < 0 and 1 for x > 0; times the upstream 1.0
    assert g.tolist() == [0.0, 1.0, 0.0] and np.signbit(g).tolist() == [True, False, True]
