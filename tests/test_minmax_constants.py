"""nnref/_minmax.py: numpy.maximum / numpy.minimum against a scalar, through a constant array,
give NumPy's own numbers for every kind of entry, scalar and dtype, and leave everything else
to NumPy unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from compare import same_bits

from nnref import _minmax, _runtime

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 6.0, np.inf, -np.inf, np.nan, -np.nan, 1e-300, -1e-300, 5e-324, 3e38, -3e38,
           1e300]
# 0-d arrays of one value in two dtypes (the key must tell them apart: their results' dtypes
# differ), and Python ints at float64's last exact integer and beyond
SCALARS: list[Any] = [0, 0.0, -0.0, 6, -0.5, 1e-300, 1e300, np.inf, -np.inf, np.nan, np.float32(6), np.float64(-0.25),
                      np.float16(0.125), np.array(2.0), np.array(2.0, dtype=np.float32), np.array(-3.0, dtype=np.float32),
                      2**40, 2**53, 2**53 + 1, 2**70]
TAKEN = len(SCALARS) - 2  # all but 2**53 + 1 and 2**70, which are not the float64 in the key


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # each test builds its own constants: a block made by an earlier test (or run) would hide
    # how this one is made
    monkeypatch.setattr(_minmax, "_CONSTANTS", {})


def test_the_block_covers_every_array_a_kernel_gets_whole() -> None:
    # blocked runs a kernel on blocks of POINTWISE_BLOCK, or on the whole below POINTWISE_MIN
    assert _minmax.BLOCK == _runtime.POINTWISE_MIN >= _runtime.POINTWISE_BLOCK


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("fn", ["maximum", "minimum"])
@pytest.mark.parametrize("shape", [(5000,), (80, 64), (_minmax.BLOCK,)])
def test_a_scalar_beside_an_array_gives_numpys_numbers(dtype: Any, fn: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(5)
    with np.errstate(over="ignore"):
        x = np.resize(np.array(SPECIAL + list(rng.standard_normal(40) * 3)), shape).astype(dtype)
    ours, theirs = getattr(_minmax, fn), getattr(np, fn)
    used = 0
    for s in SCALARS:
        for args in ((x, s), (s, x)):
            with np.errstate(all="ignore"):
                want = theirs(*args)
                got = ours(*args)
                out = np.empty_like(want)
                into = ours(*args, out=out)
            assert got.dtype == want.dtype and got.shape == want.shape, (s, args[0] is x)
            # A tie of opposite zeros may resolve either way, by the loop (the printer never
            # makes one): there only the value is compared.
            tie = (x == 0) & (np.float64(s) == 0)
            assert same_bits(np.where(tie, 0, got), np.where(tie, 0, want)), (s, args[0] is x)
            assert into is out and same_bits(np.where(tie, 0, out), np.where(tie, 0, want)), s
            used += _minmax._as_array(*args)[0 if args[0] is not x else 1] is not s
    assert used == 2 * TAKEN


def test_everything_else_is_left_to_numpy() -> None:
    x = np.arange(5000.0)
    cases = [(x, x), (1.0, 2.0), (np.zeros(_minmax.BLOCK + 1), 0.0), (np.zeros(_minmax.MIN - 1), 0.0),
             (np.arange(5000), 3), (np.zeros(0), 1.0), (x, "a"), (x, np.int64(3)), (x, 2**60),
             (x.astype(np.longdouble), 1.0), (x, np.longdouble(1) + np.finfo(np.longdouble).eps)]
    for a, b in cases:
        got = _minmax._as_array(a, b)
        assert got[0] is a and got[1] is b, (type(a), b)


def test_a_block_grows_with_the_arrays_it_serves() -> None:
    _minmax.maximum(np.zeros(5000), 0.5)
    (small,) = _minmax._CONSTANTS.values()
    assert small.size == 8192
    _minmax.maximum(np.zeros(9000), 0.5)
    (grown,) = _minmax._CONSTANTS.values()
    assert grown.size == 16384 and same_bits(_minmax.maximum(np.zeros(9000), 0.5), np.full(9000, 0.5))
    # one past a power of two: the next power of two
    assert same_bits(_minmax.minimum(np.zeros(16385), 0.25), np.full(16385, 0.0))
    assert list(_minmax._CONSTANTS.values())[-1].size == 32768


def test_constant_blocks_are_read_only_and_kept_few() -> None:
    x = np.ones(_minmax.MIN)
    for v in range(2 * _minmax._KEEP):
        _minmax.maximum(x, float(v))
        assert len(_minmax._CONSTANTS) <= _minmax._KEEP
    block = next(iter(_minmax._CONSTANTS.values()))
    assert not block.flags.writeable


def test_a_constant_is_made_once_and_as_small_as_its_array_allows() -> None:
    # made once per scalar and reused while large enough (a block exactly the array's size
    # included), a power of two no larger than it needs
    for n, size in ((8191, 8192), (8192, 8192), (4097, 8192), (2**17, 2**17)):
        _minmax._CONSTANTS.clear()
        x = np.zeros(n)
        _minmax.maximum(x, 0.75)
        (block,) = _minmax._CONSTANTS.values()
        assert block.size == size, n
        _minmax.maximum(x, 0.75)
        _minmax.minimum(x[: n // 2 + 1] if n // 2 + 1 >= _minmax.MIN else x, 0.75)
        assert next(iter(_minmax._CONSTANTS.values())) is block, n
