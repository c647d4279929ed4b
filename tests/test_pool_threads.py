"""Large pooling inputs run on blocks of planes, in threads (nnref/_pool.py): the result must
be the same bits as one call on the whole input, for any number of threads and any block
size, and agree with torch."""

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
    # (threads, block entries); None: one call on the whole input, no blocks
    setups: dict[str, tuple[str, int] | None] = {"whole": None, "1": ("1", _pool.BLOCK_ENTRIES),
                                                  "2": ("2", _pool.BLOCK_ENTRIES), "3": ("3", _pool.BLOCK_ENTRIES),
                                                  "2, channel blocks": ("2", 2**12)}
    results = {}
    for label, setup in setups.items():
        if setup is None:
            monkeypatch.setattr(_pool, "PARALLEL_MIN", x.size + 1)
        else:
            monkeypatch.setattr(_pool, "PARALLEL_MIN", 2**18)
            monkeypatch.setenv("NNREF_NUM_THREADS", setup[0])
            monkeypatch.setattr(_pool, "BLOCK_ENTRIES", setup[1])
        y = fwd(x, *args, **kwargs)
        values = y[0] if isinstance(y, tuple) else y
        g = np.linspace(-1, 1, values.size).reshape(values.shape)
        results[label] = (y, bwd(g, x, *args, **kwargs)["input"])
    assert len(_pool._blocks(x.shape, -(-x.size // 2**12))) > x.shape[0]  # the last setup cuts channels
    for label in setups:
        (y1, g1), (yn, gn) = results["whole"], results[label]
        for a, b in zip(y1 if isinstance(y1, tuple) else (y1,), yn if isinstance(yn, tuple) else (yn,)):
            assert np.array_equal(a, b, equal_nan=True), (name, label)
        assert np.array_equal(g1, gn), (name, label)


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
