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
       ("leaky_relu", {"negative_slope": 0.1}), ("hardtanh", {}), ("elu", {}), ("relu6", {}), ("hardswish", {}),
       ("softshrink", {"lambd": 0.5}), ("hardshrink", {}), ("threshold", {"threshold": 0.1, "value": -2.0})]
# 'mean' and 'sum' hand the kernels one upstream value broadcast over the input (blocked takes
# it as a scalar); 'none' a whole array.
LOSSES = [("mse_loss", {"reduction": "none"}), ("huber_loss", {"reduction": "none", "delta": 0.5}),
          ("binary_cross_entropy_with_logits", {"reduction": "none"}), ("l1_loss", {"reduction": "mean"}),
          ("smooth_l1_loss", {"reduction": "sum", "beta": 0.5}), ("huber_loss", {"reduction": "mean"}),
          ("l1_loss", {"reduction": "none"})]


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
    # Each setting from a fresh thread policy, called twice: a kernel's first large call runs its
    # blocks in threads, its second times the first block alone and then goes on in threads
    # (SLOW_BLOCK_NS 0) or on the calling thread (inf).
    out = []
    for threads, block, minimum, slow in [("1", 10**12, 10**12, 8.0), ("1", 2**16, 2**17, 8.0),
                                          ("2", 2**16, 2**17, 0.0), ("2", 2**16, 2**17, np.inf),
                                          ("3", 4097, 2**10, 0.0)]:
        monkeypatch.setenv("NNREF_NUM_THREADS", threads)
        monkeypatch.setattr(_runtime, "POINTWISE_BLOCK", block)
        monkeypatch.setattr(_runtime, "POINTWISE_MIN", minimum)
        monkeypatch.setattr(_runtime, "SLOW_BLOCK_NS", slow)
        monkeypatch.setattr(_runtime, "_SPREAD", {})
        out += [call(), call()]
    return out


def test_blocked_results_keep_the_inputs_shape() -> None:
    # blocked runs on the flattened entries; each result, one array or a dict of them, comes back
    # in the input's shape with the values of the flattened call.
    x = np.random.default_rng(3).standard_normal((3, 5, 2 * _runtime.POINTWISE_MIN // 15 + 1))
    t = np.random.default_rng(4).standard_normal(x.shape)
    g = np.random.default_rng(5).standard_normal(x.shape)
    flat = nnref.mse_loss_backward(g.ravel(), x.ravel(), t.ravel(), reduction="none")
    grads = nnref.mse_loss_backward(g, x, t, reduction="none")
    assert {k: v.shape for k, v in grads.items()} == {"input": x.shape, "target": x.shape}
    for k in grads:
        assert grads[k].tobytes() == flat[k].tobytes()
    assert nnref.relu(x).shape == x.shape and nnref.relu(x).tobytes() == nnref.relu(x.ravel()).tobytes()


@pytest.mark.parametrize("slow, pools", [(0.0, [2, 2, 2]), (np.inf, [2])])
def test_threads_only_for_kernels_slow_per_entry(monkeypatch: pytest.MonkeyPatch, slow: float,
                                                 pools: list[int]) -> None:
    # First call in threads; the second times one block and decides for the rest and later calls.
    maps: list[int] = []
    real = _runtime.parallel_map
    monkeypatch.setattr(_runtime, "parallel_map", lambda call, items: maps.append(len(items)) or real(call, items))
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(_runtime, "SLOW_BLOCK_NS", slow)
    monkeypatch.setattr(_runtime, "_SPREAD", {})
    x = _big("float64")
    first = nnref.relu(x)
    for _ in range(2):
        assert nnref.relu(x).tobytes() == first.tobytes()
    assert maps == pools
    assert list(_runtime._SPREAD.values()) == [slow == 0.0]


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


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,params", LOSSES, ids=[f"{o[0]}-{o[1]['reduction']}" for o in LOSSES])
def test_loss_blocks_give_the_same_bits(monkeypatch: pytest.MonkeyPatch, name: str, params: dict,
                                        dtype: str) -> None:
    x = _big(dtype)
    t = np.random.default_rng(2).uniform(0, 1, x.shape).astype(dtype)
    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    g = np.ones_like(x) if params["reduction"] == "none" else np.asarray(0.75, dtype=dtype)
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


def test_runtime_where_is_numpy_where_bit_for_bit() -> None:
    # _runtime.where chooses float64 values by bit masks; it must give numpy.where's exact bits,
    # dtype and shape: signed zeros, NaN payloads, infinities, subnormals, scalars, broadcasting,
    # an output array of either dtype, and the types it hands to numpy.where.
    rng = np.random.default_rng(11)
    n = 4099
    patterns = np.array([0x7FF8000000000001, 0xFFF0000000000123, 0x8000000000000000, 0x0000000000000001,
                         0x7FF0000000000000, 0xFFF0000000000000], dtype=np.uint64).view(np.float64)
    a = rng.standard_normal(n)
    b = rng.standard_normal(n) * 1e300
    a[::7] = patterns[np.arange(a[::7].size) % patterns.size]
    b[3::11] = -0.0
    cond = rng.random(n) < 0.5
    with np.errstate(all="ignore"):  # casts of a signalling NaN and of 1e300 to float32
        cases = [(a, b), (a, 0.0), (-0.0, b), (2, b), (np.nan, 6), (a, b[:1]), (a[:1], b),
                 (a.astype(np.float32), b.astype(np.float32)), (a.astype(np.float16), -0.0),
                 (a.astype(np.float32), 2.5), (a.astype(np.longdouble), b), (1, 6)]
        for x, y in cases:
            expected = np.where(cond, x, y)
            got = _runtime.where(cond, x, y)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            if got.dtype == np.longdouble:  # 6 of its 16 bytes are padding, whatever they hold
                assert np.array_equal(got, expected, equal_nan=True)
                assert np.array_equal(np.signbit(got), np.signbit(expected))
            else:
                assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (type(x), type(y))
            for dtype in ("float64", "float32"):
                out = np.empty(n, dtype=dtype)
                assert _runtime.where(cond, x, y, out=out) is out
                assert np.array_equal(out.view(np.uint8), expected.astype(dtype).view(np.uint8))
    assert _runtime.where(True, a, b) is not None and np.array_equal(_runtime.where(np.True_, 1.0, 2.0), 1.0)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_native_kernels_give_the_widened_bits(monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    # Kernels that round at most once run in the input's own dtype (_runtime.native, chosen by the
    # generator's rounds_once); their results must be the float64 evaluation rounded once.
    import inspect
    import re

    from nnref._generated import activations, losses

    native = {m for mod in (activations, losses)
              for m in re.findall(r"blocked\(_(\w+?)_(?:forward|vjp), \([^)]*\), _rt\.native", inspect.getsource(mod))}
    assert {"relu", "hardtanh", "leaky_relu", "threshold", "l1_loss"} <= native
    with np.errstate(over="ignore"):
        x = _big("float64").astype(dtype)
        t = (np.random.default_rng(6).standard_normal(x.shape) * 4).astype(dtype)
    t[::5] = x[::5]  # ties: the derivative's choice at x == target
    g = np.random.default_rng(5).standard_normal(x.shape).astype(dtype)
    calls = [(name, params, (x,), g) for name, params in OPS]
    calls += [(name, {**params, "reduction": "none"}, (x, t), g) for name, params in LOSSES]
    for name, params, args, up in calls:
        if name not in native:
            continue
        fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        fast = (fwd(*args, **params), *bwd(up, *args, **params).values())
        monkeypatch.setattr(_runtime, "native", _runtime.wide)
        slow = (fwd(*args, **params), *bwd(up, *args, **params).values())
        monkeypatch.undo()
        for a, b in zip(fast, slow):
            assert a.dtype == b.dtype == x.dtype and _same(a, b), name


def test_table_is_numpy_select() -> None:
    # _runtime.table (piecewise constants from boolean algebra) against numpy.select, bit for bit
    # (the sign of a zero included), for every pattern of 1-4 conditions with values among 0, 1,
    # 0.25, -2 and -0.0, arrays and scalar conditions.
    import itertools

    rng = np.random.default_rng(0)
    for count in range(1, 5):
        conds = tuple(rng.random(1000) < 0.3 for _ in range(count))
        for values in itertools.product([0, 1, 0.25, np.float64(-2.0), -0.0], repeat=count + 1):
            zero_d = tuple(np.asarray(c[7]) for c in conds)  # one entry: 0-d masks throughout
            for cs in (conds, (np.True_, *conds[1:]), (*conds[:-1], np.False_), zero_d):
                expected = np.select(list(np.broadcast_arrays(*cs)), list(values[:-1]), values[-1])
                got = _runtime.table(cs, values)
                assert got.shape == expected.shape and np.array_equal(got, expected), values
                assert np.array_equal(np.signbit(got), np.signbit(expected)), values


def test_a_table_made_for_its_product_gives_the_same_bits() -> None:
    # table(conds, values, like) is printed only as like · table (``into``).  It returns a bool
    # mask for a lone 0/1 mask, constants in like's float32 / float16 where every value is exact
    # there, float64 otherwise; like · table must be the float64 product rounded once to like's
    # dtype (as like · the float64 table is): signed zeros, NaN, ±inf, subnormals, products that
    # overflow, 0-d likes (a mean loss's one upstream value), broadcast conditions.
    import itertools

    rng = np.random.default_rng(12)
    n = 2053
    flat = tuple(rng.random(n) < 0.4 for _ in range(2))
    spread = (rng.random((n, 1)) < 0.4, rng.random((1, 3)) < 0.5)  # broadcast to (n, 3)
    base = rng.standard_normal(n) * np.logspace(-45, 38, n)
    base[::13] = -0.0
    base[1::13] = 0.0
    base[2::17] = np.nan
    base[3::17] = np.inf
    base[4::17] = -np.inf
    slope32 = float(np.float32(0.01))
    kinds: dict[str, int] = {}
    with np.errstate(all="ignore"):
        for dtype in ("float64", "float32", "float16"):
            g = base.astype(dtype)
            scalars = [g[k] for k in (0, 2, 3, 5, 50, 1000)] + [np.asarray(g[1000]), np.asarray(g[2])]
            pairs = itertools.product([0, 1, 0.5, -2.0, 6.0, -0.0, slope32, 1 / 6, 0.01, 1e5], repeat=2)
            for values in itertools.chain(pairs, [(1, 0, 1), (0, 1, 0), (0.5, 1, 0)]):
                for conds, likes in ((flat, [g, *scalars]), (spread, [g[:, None], g[7]])):
                    cs = conds[: len(values) - 1]
                    wide = _runtime.table(cs, values)
                    assert wide.dtype == np.float64
                    for like in likes:
                        made = _runtime.table(cs, values, like)
                        exact = all(float(np.asarray(v, dtype=dtype)) == v for v in values)
                        lone = len({(float(v), np.copysign(1, v)) for v in values} - {(0.0, 1.0)}) == 1
                        if lone and 1 in values and 0 in values and made.dtype == bool:
                            kinds["bool"] = kinds.get("bool", 0) + 1
                        else:
                            assert made.dtype == (np.dtype(dtype) if exact and dtype != "float64" else np.float64), \
                                (dtype, values, made.dtype)
                            kinds[str(made.dtype)] = kinds.get(str(made.dtype), 0) + 1
                        expected = (np.asarray(like, dtype=np.float64) * wide).astype(dtype)
                        got = np.multiply(like, made)
                        assert got.shape == expected.shape and _same(got.astype(dtype), expected), (dtype, values)
    assert {"bool", "float16", "float32", "float64"} <= set(kinds), kinds
    # Outside quiet() too (warnings are errors here): a constant beyond float16's range is no
    # float16 constant, and finding that out casts nothing that overflows.
    made = _runtime.table((np.array([True, False, True]),), (1e5, 0), np.ones(3, dtype=np.float16))
    assert made.dtype == np.float64 and made.tolist() == [1e5, 0.0, 1e5]
