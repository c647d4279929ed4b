"""Large pooling inputs run in threads over blocks of planes (nnref/_pool.py): the result
must be the same bits as one thread, and agree with torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnref
from nnref import _pool

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("max_pool2d", (3, 2, 1), {"return_indices": True}),
    ("max_pool2d", (2,), {"ceil_mode": True, "dilation": 2}),
    ("avg_pool2d", (3, 2, 1), {"count_include_pad": False, "ceil_mode": True}),
    ("lp_pool2d", (2.0, 3, 2), {}),
]


@pytest.fixture(scope="module")
def big() -> np.ndarray:
    rng = np.random.default_rng(7)
    # above PARALLEL_MIN, with ties (rounded values) and a batch of 3 (uneven blocks)
    x = np.round(rng.standard_normal((3, 5, 150, 131)), 1)
    assert x.size >= _pool.PARALLEL_MIN
    return x


@pytest.mark.parametrize("name,args,kwargs", CALLS, ids=[c[0] + str(c[2]) for c in CALLS])
def test_threads_give_the_same_bits(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], big: np.ndarray,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.abs(big) if name.startswith("lp") else big
    fwd, bwd = getattr(nnref, name), getattr(nnref, name + "_backward")
    results = {}
    for n in ("1", "2", "3"):
        monkeypatch.setenv("NNREF_NUM_THREADS", n)
        y = fwd(x, *args, **kwargs)
        values = y[0] if isinstance(y, tuple) else y
        g = np.linspace(-1, 1, values.size).reshape(values.shape)
        results[n] = (y, bwd(g, x, *args, **kwargs)["input"])
    for n in ("2", "3"):
        (y1, g1), (yn, gn) = results["1"], results[n]
        for a, b in zip(y1 if isinstance(y1, tuple) else (y1,), yn if isinstance(yn, tuple) else (yn,)):
            assert np.array_equal(a, b, equal_nan=True), (name, n)
        assert np.array_equal(g1, gn), (name, n)


def test_threaded_path_agrees_with_torch(big: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    xt = torch.from_numpy(big.copy()).requires_grad_(True)
    yt, it = torch.nn.functional.max_pool2d(xt, 3, 2, 1, return_indices=True)
    g = np.linspace(-1, 1, yt.numel()).reshape(tuple(yt.shape))
    (gt,) = torch.autograd.grad(yt, xt, torch.from_numpy(g))
    y, ind = nnref.max_pool2d(big, 3, 2, 1, return_indices=True)
    assert np.array_equal(y, yt.detach().numpy()) and np.array_equal(ind, it.numpy())
    np.testing.assert_allclose(nnref.max_pool2d_backward(g, big, 3, 2, 1)["input"], gt.numpy(), rtol=1e-13, atol=1e-13)
