"""Pooling, exactly: the engine against its index formulas, the conventions and the
output-size rule (derivations/proofs/pool.py), with no tolerance.

avg_pool and adaptive_avg_pool run on arrays of SymPy symbols; max-type ops run on
small-integer arrays with ties, NaN and ±inf and are compared with the selector formula
Σ_k χ·x, χ chosen by the conventions written as a plain loop; lp_pool is compared with its
formula evaluated in rational arithmetic.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derivations.codegen import pool as pool_printer
from derivations.ops import pool
from derivations.proofs import pool as pool_proofs

ROOT = Path(__file__).resolve().parent.parent
WINDOWED = [op for op in pool.OPS if op.kind in ("max", "avg", "lp")]
ADAPTIVE = [op for op in pool.OPS if op.kind.startswith("adaptive")]
UNPOOL = [op for op in pool.OPS if op.kind == "max_unpool"]


@pytest.fixture(scope="module")
def profile(pytestconfig: pytest.Config) -> str:
    return "thorough" if pytestconfig.getoption("--nnref-profile") == "thorough" else "ci"


@pytest.mark.parametrize("op", WINDOWED, ids=lambda o: o.name)
def test_window_engine_equals_index_formula_exactly(op: pool.PoolOp, profile: str) -> None:
    done = pool_proofs.check_windows(op, profile)
    assert done.configs >= 2 and done.entries > 0


@pytest.mark.parametrize("op", ADAPTIVE, ids=lambda o: o.name)
def test_adaptive_engine_equals_index_formula_exactly(op: pool.PoolOp) -> None:
    for seed, (size, out) in enumerate(pool_proofs.adaptive_grid(op)):
        assert pool_proofs.adaptive_exact_check(op, size, out, seed) > 0


@pytest.mark.parametrize("op", UNPOOL, ids=lambda o: o.name)
def test_unpool_gradient_is_the_gather_sympy_derives(op: pool.PoolOp) -> None:
    assert pool_proofs.unpool_exact_check(op) > 0


def test_grid_covers_every_parameter() -> None:
    for op in WINDOWED:
        grid = pool_proofs.window_grid(op, "ci")
        assert {c.ceil_mode for c in grid} == {False, True}, op.name
        assert any(s > k for c in grid for s, k in zip(c.stride, c.kernel)) or op.dims == 3, op.name
        if op.kind != "lp":
            assert any(any(c.padding) for c in grid), op.name
        if op.kind == "max":
            assert any(d > 1 for c in grid for d in c.dilation), op.name
        if op.kind == "avg":
            assert {c.count_include_pad for c in grid} == {False, True}, op.name
            if op.dims > 1:
                assert any(c.divisor_override for c in grid), op.name
    # windows overhanging the input under ceil_mode are in the grid
    overhang = [c for c in pool_proofs.window_grid(pool.op_named("avg_pool1d"), "ci") if c.ceil_mode and
                pool_proofs._out_sizes(c)[0] != pool_proofs.torch_rule(c.size[0], c.kernel[0], c.stride[0],
                                                                        c.padding[0], 1, False)]
    assert overhang


def test_exact_check_catches_a_wrong_tie_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing the last maximum instead of the first fails the check: it is not vacuous."""
    import nnref._window as win

    real = win.taps

    def reversed_taps(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return list(reversed(real(*args, **kwargs)))

    monkeypatch.setattr(win, "taps", reversed_taps)
    op = pool.op_named("max_pool1d")
    cfg = pool_proofs.WindowConfig((6,), (3,), (1,), (0,), (1,), False)
    with pytest.raises(AssertionError):
        pool_proofs.max_exact_check(op, cfg, seed=0)


def test_exact_check_catches_a_wrong_divisor(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnref._generated import pool as kernels

    real = kernels.avg_divisor
    monkeypatch.setattr(kernels, "avg_divisor", lambda *a: real(*a[:-1], not a[-1]))
    op = pool.op_named("avg_pool1d")
    cfg = pool_proofs.WindowConfig((5,), (3,), (2,), (1,), (1,), True, True)
    with pytest.raises(AssertionError):
        pool_proofs.avg_exact_check(op, cfg)


# ----------------------------------------------------------------------------- derivation


def test_sympy_splits_a_tie_and_torch_does_not() -> None:
    """Why max needs a convention: SymPy's d/da max(a, b) at a = b is 1/2; torch gives 1 to the first."""
    assert pool_proofs.sympy_max_tie() == sp.Rational(1, 2)
    import nnref

    g = nnref.max_pool1d_backward(np.ones((1, 1, 1)), np.array([[[1.0, 1.0]]]), 2)["input"]
    assert g.tolist() == [[[1.0, 0.0]]]


@pytest.mark.parametrize("op", WINDOWED, ids=lambda o: o.name)
def test_window_gradients_scatter_through_the_window_index(op: pool.PoolOp) -> None:
    """SymPy's derivative keeps one delta per axis, j′ = s·i + d·k − p: a scatter, which the
    generated VJP prints with the same affine index as the forward's window."""
    deltas = [d for d in sp.preorder_traversal(op.gradient.formula) if isinstance(d, sp.KroneckerDelta)]
    assert len(deltas) == op.dims, op.name
    assert op.gradient.raw.has(sp.KroneckerDelta)
    window = {sp.expand(e) for e in op.window()}
    assert {sp.expand(d.args[1] if d.args[0] in op.gradient.target else d.args[0]) for d in deltas} == window
    text = (ROOT / "nnref" / "_generated" / "pool.py").read_text()
    funcs = {n.name: ast.get_source_segment(text, n) for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    fwd, vjp = funcs[f"_{op.name}_forward"], funcs[f"_{op.name}_vjp"]
    index = pool_printer.index_code(op)
    assert index in fwd and index in vjp
    # the adjoint of the window read: every tap (avg, lp) or the chosen one (max)
    assert "_win.scatter_windows(" in vjp and ("choose_from=x" in vjp) == (op.kind == "max")


def test_size_rule_equals_torchs_two_step_rule() -> None:
    assert pool_proofs.size_rule_agrees() > 500


def test_output_sizes_match_torch() -> None:
    torch = pytest.importorskip("torch")
    from nnref._generated import pool as kernels

    checked = 0
    for L in range(1, 9):
        for K, s, d in ((1, 1, 1), (2, 2, 1), (3, 2, 1), (3, 2, 2), (2, 3, 1), (3, 1, 3)):
            for p in range(K // 2 + 1):
                for ceil in (False, True):
                    want = pool_proofs.torch_rule(L, K, s, p, d, ceil)
                    if want < 1:
                        continue
                    x = torch.zeros(1, 1, L)
                    got = torch.nn.functional.max_pool1d(x, K, s, p, d, ceil_mode=ceil).shape[-1]
                    assert kernels.pool_out_size(L, K, s, p, d, ceil) == got, (L, K, s, p, d, ceil)
                    checked += 1
    assert checked > 100
