"""Issue 12: class-index losses without one-hot rows, window ops whose cost follows their sizes
(not the stride), and the bad-input classes the sweep found, each a clear NNRefError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from compare import assert_error_names

import nnref
from nnref import NNRefError, _affine, _structured
from nnref._generated import structured as _k

X = np.random.default_rng(0).standard_normal((3, 4))


def _dense_rows(x: np.ndarray, t: np.ndarray, ignore: int) -> np.ndarray:
    """One-hot rows as the engine built them before (numpy.eye), the reference for the gathered path."""
    keep = t != ignore
    rows = np.moveaxis(np.eye(x.shape[1], dtype=x.dtype)[np.where(keep, t, 0)], -1, 1)
    return rows * np.expand_dims(keep, 1).astype(x.dtype)


# (6, 40) and (2, 20, 3): more than 8 classes, where NumPy's sums along a contiguous axis are
# pairwise and along a strided one sequential, so a change of summation order would show
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3), (5, 1), (6, 40), (2, 20, 3)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", ["plain", "special", "weights", "fortran"])
def test_gathered_class_indices_give_the_dense_kernels_bits(shape: tuple[int, ...], weighted: bool, dtype: Any,
                                                            rows: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if rows == "weights" and not (weighted and shape[1] > 2):
        pytest.skip("weights of 0, < 0 and inf need weights and three classes")
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    t = rng.integers(0, shape[1], shape[:1] + shape[2:])
    t.flat[0] = -100
    cw = rng.random(shape[1]).astype(dtype) if weighted else np.ones(shape[1], dtype)
    if rows == "weights":
        # a target weighted 0, one weighted < 0 beside other negative weights and probabilities
        # that underflow to 0 (signs of zero), a class weighted inf that other rows do not target
        cw[:3] = [0.0, -1.5, np.inf]
        cw[3:] *= -1
        t.flat[1:4] = [0, 1, 2]
        x[1] *= 300
    dense_vjp = _k._cross_entropy_vjp
    dense_calls: list[tuple[int, ...]] = []

    def counted(kernel: Callable[..., Any]) -> Callable[..., Any]:
        def call(*a: Any, **k: Any) -> Any:
            dense_calls.append(a[0].shape)
            return kernel(*a, **k)
        return call
    for name in ("_log_softmax_forward", "_cross_entropy_vjp"):
        monkeypatch.setattr(_k, name, counted(getattr(_k, name)))
    if rows == "special":
        # samples with tied maxima, a +inf, a NaN, a -inf beside a finite maximum, a maximum
        # at -0.0 tied with +0.0: each sample its own block, so those with tied or non-finite
        # maxima take the kernels and the others the gathered path, in one call
        monkeypatch.setattr(_structured, "ROW_BLOCK", 1)
        monkeypatch.setattr(_structured, "CLASS_ROW_BLOCK", 1)
        if shape[1] > 1:
            x[1, 0] = x[1, 1] = x[1].max() + 1
        if shape[1] > 1 and shape[0] > 2:
            x[2, 1] = np.inf
        if shape[1] > 1 and shape[0] > 5:
            x[3, 0] = np.nan
            x[4] = -np.abs(x[4])
            x[4, 0], x[4, 1] = -0.0, 0.0
            x[5, 1] = -np.inf
    if rows == "fortran":  # nnref works in C order whatever the layout: the reference too
        x = np.asfortranarray(x)
    view = [1] * x.ndim
    view[1] = shape[1]
    onehot = _dense_rows(x, t, -100)
    x_c = np.ascontiguousarray(x)
    per = np.squeeze(_k._cross_entropy_forward(x_c, onehot, cw.reshape(view), 1), 1)
    ours = nnref.cross_entropy(x, t, weight=cw if weighted else None, reduction="none")
    assert ours.tobytes() == per.tobytes()
    g = rng.standard_normal(per.shape).astype(dtype)
    dense = dense_vjp(np.expand_dims(g, 1), x_c, onehot, cw.reshape(view), 1)["input"]
    got = nnref.cross_entropy_backward(g, x, t, weight=cw if weighted else None, reduction="none")["input"]
    assert got.tobytes() == dense.astype(dtype).tobytes()
    dense_nll = _k._nll_loss_vjp(np.expand_dims(g, 1), x_c, onehot, cw.reshape(view), 1)["input"]
    got_nll = nnref.nll_loss_backward(g, x, t, weight=cw if weighted else None, reduction="none")["input"]
    assert got_nll.tobytes() == dense_nll.astype(dtype).tobytes()
    # the gathered path ran: nnref called the kernels only for the samples with tied or non-finite
    # maxima (one forward, one VJP each)
    special = shape[1] > 1 and rows == "special"
    assert len(dense_calls) == (2 * min(shape[0] - 1, 4) if special else 0), dense_calls


@pytest.mark.parametrize("shape, dim", [((300, 500), 1), ((3, 50000), 1), ((40, 7, 600), 1), ((40, 600, 7), 1),
                                        ((40, 7, 600), 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_blocks_give_the_bits_of_one_call(shape: tuple[int, ...], dim: int, dtype: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Large row ops run on blocks of rows (_structured.ROW_BLOCK entries); each row's operations,
    # so its bits, must not depend on the block that holds it.  The reference is one call on the
    # whole array: the same functions with a block larger than the array.
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    x.flat[::97] = x.max()  # tied maxima
    x[1] = np.inf  # rows of NaN
    x[2].flat[5] = np.nan
    g = rng.standard_normal(shape).astype(dtype)
    samples = shape[:1] + shape[2:]
    t = rng.integers(0, shape[1], samples)
    t.flat[::5] = -100
    gl = rng.standard_normal(samples).astype(dtype)
    w = rng.random(shape[1]).astype(dtype)
    p = rng.random(shape).astype(dtype)
    calls: dict[str, Callable[[], Any]] = {
        "softmax": lambda: nnref.softmax(x, dim),
        "softmax_backward": lambda: nnref.softmax_backward(g, x, dim)["input"],
        "log_softmax": lambda: nnref.log_softmax(x, dim),
        "log_softmax_backward": lambda: nnref.log_softmax_backward(g, x, dim)["input"],
    }
    if dim == 1:
        calls |= {
            "cross_entropy": lambda: nnref.cross_entropy(x, t, weight=w, reduction="none"),
            "cross_entropy mean": lambda: nnref.cross_entropy(x, t),
            "cross_entropy_backward": lambda: nnref.cross_entropy_backward(gl, x, t, weight=w, reduction="none"),
            "cross_entropy_backward mean": lambda: nnref.cross_entropy_backward(np.array(1.0), x, t),
            "smoothed": lambda: nnref.cross_entropy(x, t, label_smoothing=0.1, reduction="none"),
            "smoothed backward": lambda: nnref.cross_entropy_backward(gl, x, t, label_smoothing=0.1,
                                                                      reduction="none"),
            "probabilities": lambda: nnref.cross_entropy(x, p, reduction="none"),
        }
    blocks = _structured._row_blocks(x, dim)
    assert len(blocks) > 1
    # cross_entropy's class-index path cuts its own, larger blocks: small ones here, whatever the threads
    monkeypatch.setattr(_structured, "CLASS_ROW_BLOCK", 2**14)
    assert len(_structured._row_blocks(x, dim, _structured.CLASS_ROW_BLOCK, spread=True)) > 2
    blocked = {name: call() for name, call in calls.items()}
    monkeypatch.setattr(_structured, "ROW_BLOCK", 2**40)
    monkeypatch.setattr(_structured, "CLASS_ROW_BLOCK", 2**40)
    assert _structured._row_blocks(x, dim) == [slice(None)]
    assert _structured._row_blocks(x, dim, _structured.CLASS_ROW_BLOCK, spread=True) == [slice(None)]
    for name, call in calls.items():
        whole = call()
        if isinstance(whole, dict):
            assert blocked[name].keys() == whole.keys(), name
            for key in whole:
                assert blocked[name][key].tobytes() == whole[key].tobytes(), (name, key)
        else:
            assert blocked[name].dtype == whole.dtype and blocked[name].tobytes() == whole.tobytes(), name


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}, {"ignore_index": 3}, {"weight": "w"},
                                    {"weight": "w", "label_smoothing": 0.1, "ignore_index": 7}])
def test_cross_entropy_with_many_classes_agrees_with_torch(kwargs: dict[str, Any]) -> None:
    # 50257 classes: the (C, C) identity the engine used to build would take 20 GB
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 50257))
    t = rng.integers(0, 50257, 4)
    t[0] = kwargs.get("ignore_index", 0)
    kw = dict(kwargs)
    if kw.get("weight") == "w":
        kw["weight"] = rng.random(50257)
    tk = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    xt = torch.from_numpy(x).requires_grad_(True)
    loss = F.cross_entropy(xt, torch.from_numpy(t), **tk)
    (grad,) = torch.autograd.grad(loss, xt)
    np.testing.assert_allclose(nnref.cross_entropy(x, t, **kw), loss.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(nnref.cross_entropy_backward(np.array(1.0), x, t, **kw)["input"], grad.numpy(),
                               rtol=1e-10, atol=1e-16)


def test_nll_loss_ignores_infinite_non_target_entries_as_torch() -> None:
    x = np.array([[-np.inf, -1.0, -2.0], [-0.5, np.inf, -0.25]])
    t = np.array([1, 2])
    expected = F.nll_loss(torch.from_numpy(x), torch.from_numpy(t), reduction="none").numpy()
    np.testing.assert_array_equal(nnref.nll_loss(x, t, reduction="none"), expected)


@pytest.mark.parametrize("stride", [1000, 2**31, 2**62])
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_one_window_per_axis_at_any_stride(stride: int, pool: str) -> None:
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    window = x[:, :, :3, :3].reshape(2, 3, -1)
    if pool == "max":
        np.testing.assert_array_equal(nnref.max_pool2d(x, 3, stride=stride)[..., 0, 0], window.max(-1))
        grad = nnref.max_pool2d_backward(np.ones((2, 3, 1, 1)), x, 3, stride=stride)["input"]
        assert grad.sum() == 6 and (grad[:, :, :3, :3].reshape(2, 3, -1).argmax(-1) == window.argmax(-1)).all()
    else:
        np.testing.assert_allclose(nnref.avg_pool2d(x, 3, stride=stride)[..., 0, 0], window.mean(-1), rtol=1e-14)
        grad = nnref.avg_pool2d_backward(np.ones((2, 3, 1, 1)), x, 3, stride=stride)["input"]
        assert (grad[:, :, :3, :3] == 1 / 9).all() and grad[:, :, 3:].sum() == 0 and grad[:, :, :, 3:].sum() == 0


def test_conv_transpose_with_a_large_stride_agrees_with_torch() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 2, 2, 2)), rng.standard_normal((2, 3, 3, 3))
    ours = nnref.conv_transpose2d(x, w, stride=1000)
    theirs = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=1000).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    with pytest.raises(NNRefError, match="stride"):
        nnref.conv_transpose2d(x, w, stride=2**31)


@pytest.mark.parametrize("stride", [(2, 3), (5, 1), (7, 7)])
def test_plane_scatter_gives_the_slice_scatters_bits(stride: tuple[int, int]) -> None:
    # the plane scatter now visits only the phases a kernel offset writes; the plain scatter is
    # the reference, and both add the same terms in the same order into zeros
    rng = np.random.default_rng(5)
    sr, sc = stride
    n_r, n_c, k = 4, 5, 3
    index = ("n", _affine.at(-1, i=sr, k=1), _affine.at(0, j=sc, l=1))
    shape = (2, sr * n_r + 2, sc * n_c)
    v = rng.standard_normal((2, k, k, n_r, n_c))
    plain = _affine.scatter(v.copy(), "nklij", index, shape, small="kl")
    planes = _affine.scatter(v.copy(), "nklij", index, shape, small="kl", overwrite=True)
    assert planes.tobytes() == plain.tobytes()


BAD: list[tuple[str, Callable[[], Any], list[str]]] = [
    ("softmax_backward None", lambda: nnref.softmax_backward(None, X, dim=1), ["softmax", "grad_output", "None"]),
    ("log_softmax_backward None", lambda: nnref.log_softmax_backward(None, X, dim=1),
     ["log_softmax", "grad_output", "None"]),
    ("ragged target", lambda: nnref.cross_entropy(X, [[0, 1], [1]]), ["cross_entropy", "target", "rectangular"]),
    ("huge int parameter", lambda: nnref.leaky_relu(X, 10**400), ["leaky_relu", "negative_slope", "401 digits"]),
    ("huge int stride", lambda: nnref.max_pool1d(X[None], 2, stride=2**64), ["max_pool1d", "stride", "int64"]),
    ("zero-width kernel", lambda: nnref.conv1d(X[None], np.ones((1, 4, 0))), ["conv1d", "weight", "greater than zero"]),
    ("zero-width kernel, transposed", lambda: nnref.conv_transpose2d(X[None, None], np.ones((1, 1, 2, 0))),
     ["conv_transpose2d", "weight", "(1, 1, 2, 0)"]),
    ("padding beyond memory", lambda: nnref.conv1d(X[None], np.ones((1, 3, 1)), padding=2**60),
     ["conv1d", "padding", "memory"]),
    ("unpool output beyond memory", lambda: nnref.max_unpool1d(X[None], np.zeros((1, 3, 4), np.int64), 2,
                                                               stride=2**61), ["max_unpool1d", "stride", "memory"]),
    ("adaptive output beyond memory", lambda: nnref.adaptive_avg_pool1d(X[None], 2**61),
     ["adaptive_avg_pool1d", "output_size", "memory"]),
    ("float32 class weights", lambda: nnref.cross_entropy(X, np.array([0, 1, 2]), weight=np.ones(4, np.float32)),
     ["cross_entropy", "weight", "float64", "float32"]),
    ("float32 loss weights", lambda: nnref.mse_loss(X, X, weight=np.ones((3, 4), np.float32)),
     ["mse_loss", "weight", "float64", "float32"]),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_named(case: tuple[str, Callable[[], Any], list[str]]) -> None:
    _, call, words = case
    assert_error_names(call, words, NNRefError)


def test_threads_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNREF_NUM_THREADS", "abc")
    with pytest.raises(NNRefError, match="NNREF_NUM_THREADS.*'abc'"):
        nnref.max_pool2d(np.ones((64, 64, 16, 16)), 2)


def test_byte_swapped_input_is_taken_as_its_numbers() -> None:
    swapped = X.astype(">f8")
    np.testing.assert_array_equal(nnref.relu(swapped), nnref.relu(X))
    np.testing.assert_array_equal(nnref.mse_loss(swapped, X + 1), nnref.mse_loss(X, X + 1))


def test_huge_eps_gives_a_finite_gradient_as_torch() -> None:
    x, y, v = X, X + 1, np.ones_like(X)
    ours = nnref.gaussian_nll_loss_backward(np.array(1.0), x, y, v, eps=1e308)
    tensors = [torch.from_numpy(a).requires_grad_(True) for a in (x, y, v)]
    grads = torch.autograd.grad(F.gaussian_nll_loss(*tensors, eps=1e308), tensors)
    for name, theirs in zip(("input", "target", "var"), grads):
        np.testing.assert_allclose(ours[name], theirs.numpy(), rtol=1e-12, atol=1e-300)
