"""Large pointwise inputs run block by block, in threads (``nnref._runtime.blocked``): the
result must be the same bits as one call on the whole input, for any block size and thread
count, forward and backward, in both dtypes, with special values spread through the blocks,
and in a forked child of a process that has run them.
(NaN is compared as NaN: its sign and payload depend on whether NumPy's vectorised or scalar
loop produced it, which follows the block boundaries, and carry no meaning.)"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import nnref
from nnref import _runtime

OPS = [("sigmoid", {}), ("gelu", {}), ("silu", {}), ("softplus", {"beta": 2.0}), ("relu", {}),
       ("leaky_relu", {"negative_slope": 0.1}), ("hardtanh", {}), ("elu", {})]
LOSSES = [("mse_loss", {"reduction": "none"}), ("huber_loss", {"reduction": "none", "delta": 0.5}),
          ("binary_cross_entropy_with_logits", {"reduction": "none"})]


def _big(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(3 * _runtime.POINTWISE_MIN + 17) * 4).astype(dtype)
    x[::977] = 0.0
    x[5::4099] = np.nan
    x[7::8191] = np.inf
    x[9::8191] = -np.inf
    return x


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b))
                and np.array_equal(a[~nan].view(np.uint8), np.ascontiguousarray(b[~nan]).view(np.uint8)))


def _runs(monkeypatch: pytest.MonkeyPatch, call) -> list:
    out = []
    for threads, block, minimum in [("1", 10**12, 10**12), ("1", 2**16, 2**17), ("2", 2**16, 2**17),
                                    ("3", 4097, 2**10)]:
        monkeypatch.setenv("NNREF_NUM_THREADS", threads)
        monkeypatch.setattr(_runtime, "POINTWISE_BLOCK", block)
        monkeypatch.setattr(_runtime, "POINTWISE_MIN", minimum)
        out.append(call())
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params", OPS, ids=[o[0] for o in OPS])
def test_activation_blocks_give_the_same_bits(monkeypatch: pytest.MonkeyPatch, name: str, params: dict,
                                              dtype: str) -> None:
    x = _big(dtype)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    runs = _runs(monkeypatch, lambda: (fwd(x, **params), bwd(g, x, **params)["input"]))
    whole = runs[0]
    for other in runs[1:]:
        for a, b in zip(whole, other):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert _same(a, b), name


@pytest.mark.parametrize("name,params", LOSSES, ids=[o[0] for o in LOSSES])
def test_loss_blocks_give_the_same_bits(monkeypatch: pytest.MonkeyPatch, name: str, params: dict) -> None:
    x = _big("float64")
    t = np.random.default_rng(2).uniform(0, 1, x.shape)
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    g = np.ones_like(x)
    runs = _runs(monkeypatch, lambda: (fwd(x, t, **params), *bwd(g, x, t, **params).values()))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert _same(a, b), name


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_runs_blocks_in_its_own_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # The child inherits the parent's thread pool object without its threads (multiprocessing's
    # fork, a data loader's workers); a blocked kernel there must not wait on them forever.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(_runtime, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(_runtime, "POINTWISE_MIN", 2**10)
    x = _big("float64")  # 3 * 2**10 + 17 entries: 4 blocks
    expected = nnref.sigmoid(x)  # starts the parent's pool
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if it finished with the same bits, 3 if it failed
        signal.alarm(20)  # hung: SIGALRM ends it
        try:
            os._exit(0 if _same(nnref.sigmoid(x), expected) else 3)
        except BaseException:  # noqa: BLE001 - any failure in the child is a failed test
            os._exit(3)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
