"""Convolution, exactly: the engine against its index formulas on arrays of SymPy symbols,
the relationships people quote, and the output-size arithmetic against torch.

The engine (``nnref/_generated/conv.py``) is printed from SymPy's derived index formulas;
these tests check what it computes, with no tolerance, on a grid of small configurations
(``derivations/proofs/conv.py``): forward = the stated formula, every gradient = SymPy's
derivative of ⟨g, y⟩ = the derived formula shown in the docs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derivations import affine
from derivations.codegen import conv as conv_printer
from derivations.codegen import index as index_printer
from derivations.ops import conv
from derivations.proofs import conv as conv_proofs

OPS = conv.OPS
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def profile(pytestconfig: pytest.Config) -> str:
    return "thorough" if pytestconfig.getoption("--nnref-profile") == "thorough" else "ci"


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_engine_equals_index_formulas_exactly(op: conv.ConvOp, profile: str) -> None:
    configs, entries = conv_proofs.check_grid(op, profile)
    assert configs >= 2 and entries > 0


def test_grid_covers_every_parameter() -> None:
    """The ci grid still varies every parameter, on each axis separately in 2-d."""
    for op in OPS:
        g = conv_proofs.grid(op, "ci")
        assert {c.groups for c in g} == {1, 2}, op.name
        assert any(k != 1 for c in g for k in c.kernel) and any(all(k == 1 for k in c.kernel) for c in g)
        assert any(s > 1 for c in g for s in c.stride) and any(d > 1 for c in g for d in c.dilation)
        if op.transposed:
            assert any(any(c.output_padding) for c in g) and any(not any(c.output_padding) for c in g)
        else:
            assert {"same"} <= {c.padding for c in g if isinstance(c.padding, str)}
    assert any(s > k for c in conv_proofs.grid(conv.op_named("conv1d"), "ci") for s, k in zip(c.stride, c.kernel))
    assert any(k % 2 == 0 for c in conv_proofs.grid(conv.op_named("conv1d"), "ci") if c.padding == "same"
               for k in c.kernel)


def test_exact_check_catches_a_wrong_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact check fails when the engine is off by one tap: it is not vacuous."""
    from nnref._generated import conv as kernels

    real = kernels._conv1d_forward

    def shifted(x, weight, bias, stride, padding, dilation, out_shape, into=None):  # noqa: ANN001, ANN202
        return real(x, weight, bias, stride, tuple(p + 1 for p in padding), dilation, out_shape, into)

    monkeypatch.setattr(kernels, "_conv1d_forward", shifted)
    cfg = conv.Config(1, False, 1, 1, 1, (4,), (2,), (1,), (1,), (1,), 1)
    with pytest.raises(AssertionError, match="forward"):
        conv_proofs.exact_check(conv.op_named("conv1d"), cfg)


# ----------------------------------------------------------------------------- derivation


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_derivatives_have_the_expected_shape(op: conv.ConvOp) -> None:
    """After the deltas are summed out, the weight and bias gradients are gather forms (no
    delta left); conv's input gradient keeps one delta per spatial axis (it scatters:
    j = s·i + d·k − p); conv_transpose's input gradient gathers g at s·i + d·k − p."""
    for form in (op.stated, op.grouped):
        for key in ("weight", "bias"):
            assert not form.grads[key].formula.has(sp.KroneckerDelta), (op.name, key)
            assert form.grads[key].raw.has(sp.KroneckerDelta)  # SymPy's diff gives deltas
        deltas = [d for d in sp.preorder_traversal(form.grads["input"].formula) if isinstance(d, sp.KroneckerDelta)]
        assert len(deltas) == (0 if op.transposed else op.dims), op.name
    text = str(op.grouped.grads["weight"].formula)
    ax = op.axes[0]
    assert str(ax.s * ax.i + ax.d * ax.k - ax.p) in text


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_generated_kernels_are_the_derived_terms(op: conv.ConvOp) -> None:
    """Every term of every derived formula appears, as its comment, in the generated
    kernel, followed by the gather / gemm / scatter lines printed from it."""
    text = (ROOT / "nnref" / "_generated" / "conv.py").read_text()
    funcs = {n.name: ast.get_source_segment(text, n) for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    sched = conv_printer.schedule(op)
    letters = set(sched.letters)
    arrays = {"x": "x", "w": "weight", "b": "bias", "g": "grad"}
    fwd, vjp = funcs[f"_{op.name}_forward"], funcs[f"_{op.name}_vjp"]
    st = op.grouped
    for term in affine.terms(st.forward.formula, st.forward.target, letters):
        assert index_printer.describe(term, "out", sched, arrays) in fwd
    for key, d in st.grads.items():
        for term in affine.terms(d.formula, d.target, letters):
            assert index_printer.describe(term, f"grad_{key}", sched, arrays) in vjp
    assert "_af.gemm(" in fwd and "_af.gemm(" in vjp
    assert ("_af.scatter(" in fwd) == op.transposed and ("_af.scatter(" in vjp) == (not op.transposed)


# ----------------------------------------------------------------------------- relationships


def test_weight_gradient_is_a_correlation_of_input_with_output_gradient() -> None:
    dw, as_corr, same = conv_proofs.weight_grad_is_correlation()
    assert same, f"{dw} != {as_corr}"


def test_input_gradient_is_the_transposed_convolution_of_the_output_gradient() -> None:
    dx, tconv, same = conv_proofs.input_grad_is_transposed()
    assert same, f"{dx} != {tconv}"


def test_cross_correlation_is_true_convolution_with_the_flipped_kernel() -> None:
    corr, true_conv, same = conv_proofs.correlation_is_flipped_convolution()
    assert same, f"{corr} != {true_conv}"


def test_relationships_on_symbol_arrays() -> None:
    checked = conv_proofs.relationship_checks()
    assert len(checked) >= 8 and any(c.startswith("conv2d") for c in checked)


def test_same_sum_is_not_vacuous() -> None:
    dw, as_corr, _ = conv_proofs.weight_grad_is_correlation()
    ax = conv.op_named("conv1d").axes[0]
    assert not conv_proofs.same_sum(dw, as_corr.xreplace({ax.s: ax.d, ax.d: ax.s}))


def test_true_convolution_without_the_flip_differs() -> None:
    import nnref

    x = np.array([[[4.0, 3.0, 2.0, 1.0, 0.0]]])
    w = np.array([[[1.0, 0.0, -1.0]]])
    corr = nnref.conv1d(x, w)[0, 0]
    true_conv = np.convolve(x[0, 0], w[0, 0], mode="valid")  # flips the kernel
    flipped = np.convolve(x[0, 0], w[0, 0, ::-1], mode="valid")
    assert np.array_equal(corr, flipped) and np.array_equal(corr, -true_conv) and corr[0] != true_conv[0]


# ----------------------------------------------------------------------------- output sizes


def test_size_rule_derivation() -> None:
    rule = conv.size_rule()
    L, K, s, d, P, p, a = sp.symbols("L K s d P p a", integer=True)
    assert sp.simplify(rule.conv - (sp.floor((L + P - d * (K - 1) - 1) / s) + 1)) == 0
    assert sp.expand(rule.transposed - (s * (L - 1) - 2 * p + d * (K - 1) + a + 1)) == 0


@pytest.mark.parametrize("proof", conv_proofs.size_proofs(), ids=lambda p: f"relationship-{p.row['number']}")
def test_dumoulin_visin_relationship(proof: conv_proofs.SizeProof) -> None:
    """Each quoted relationship equals the derived rule, and torch's output sizes agree."""
    import torch
    import torch.nn.functional as F

    import nnref
    from nnref._generated import conv as kernels

    row = proof.row
    sy = row["symbols"]
    points = conv_proofs.size_grid(row)
    assert len(points) >= 3
    names = ["i", "i'", "k", "s", "p", "d", "n", "a"]
    quoted_of = sp.lambdify([sy[nm] for nm in names], row["quoted"])
    for vals in points:
        quoted = int(quoted_of(*(vals[sy[nm]] for nm in names)))
        i_, k_, s_, p_, d_ = (vals[sy[key]] for key in ("i", "k", "s", "p", "d"))
        if row["transposed"]:
            ip, a_ = vals[sy["i'"]], vals[sy["a"]]
            x, w = np.zeros((1, 1, ip)), np.zeros((1, 1, k_))
            got = F.conv_transpose1d(torch.from_numpy(x), torch.from_numpy(w), stride=s_, padding=p_,
                                     output_padding=a_, dilation=d_).shape[-1]
            ours = nnref.conv_transpose1d(x, w, stride=s_, padding=p_, output_padding=a_, dilation=d_).shape[-1]
            assert kernels.conv_transpose_out_size(ip, k_, s_, d_, p_, a_) == got
            if row["number"] == 13:
                assert got == vals["i_conv"]  # the transposed convolution restores the input size
        else:
            x, w = np.zeros((1, 1, i_)), np.zeros((1, 1, k_))
            got = F.conv1d(torch.from_numpy(x), torch.from_numpy(w), stride=s_, padding=p_, dilation=d_).shape[-1]
            ours = nnref.conv1d(x, w, stride=s_, padding=p_, dilation=d_).shape[-1]
            assert kernels.conv_out_size(i_, k_, s_, d_, 2 * p_) == got
        assert quoted == got == ours, (row["number"], vals, quoted, got, ours)


def test_same_padding_keeps_the_size_and_puts_the_extra_zero_at_the_end() -> None:
    import torch
    import torch.nn.functional as F

    import nnref

    rng = np.random.default_rng(0)
    for k, d, n in ((2, 1, 5), (4, 1, 3), (2, 3, 4), (3, 2, 6)):
        x, w = rng.standard_normal((1, 1, n)), rng.standard_normal((1, 1, k))
        ours = nnref.conv1d(x, w, padding="same", dilation=d)
        theirs = F.conv1d(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=d).numpy()
        assert ours.shape == theirs.shape == (1, 1, n)
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-13)
        total = d * (k - 1)
        explicit = nnref.conv1d(np.pad(x, ((0, 0), (0, 0), (total // 2, total - total // 2))), w, dilation=d)
        np.testing.assert_allclose(ours, explicit, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("shape", "laid_out"), [((16, 3, 32, 16, 5), True), ((8, 3, 16, 16, 3), False),
                                               ((2, 32, 8, 64, 3), True), ((1, 4, 8, 4, 3), False)])
def test_copies_says_what_gemm_does(shape: tuple[int, ...], laid_out: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """``_affine.copies``, which decides whether the backward lays out each chunk's output
    gradient once, reports the operand copies the product it plans makes: the samples go into
    the product's columns (a copy) when its result is large against g, as in the benchmark's
    small-channel case, and the product is batched over samples (no copy) otherwise."""
    from nnref import _affine

    n, c, h, o, k = shape
    rng = np.random.default_rng(0)
    g, w = rng.standard_normal((n, 1, o, h, h)), rng.standard_normal((1, o, c, k, k))
    made: list[tuple[tuple[int, ...], bool]] = []
    real = _affine._apply
    monkeypatch.setattr(_affine, "_apply", lambda rec, arr: made.append((arr.shape, rec.copy)) or real(rec, arr))
    _affine.gemm("ngoij,gockl->ngcklij", g, w)
    said = _affine.copies("ngoij,gockl->ngcklij", g, w)
    assert sorted(made) == sorted([(g.shape, said[0]), (w.shape, said[1])])
    assert said[0] is laid_out
