"""Tests written to kill mutants of the runtime (``nnref/_runtime.py``) that survived
`make mutation` (README, "Mutation testing"): each asserts a value known independently of the
code under test (NumPy's own reference function, IEEE arithmetic, a closed form), at an input
the rest of the fast suite does not reach.

Owns: nothing but these tests.  Imports: nnref, NumPy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nnref
from nnref import _runtime as rt
from nnref import _special

# ----------------------------------------------------------------------------- _runtime.pw
# The printer emits _rt.pw for a piecewise formula whose branch calls a special function; no
# op of the current catalog has one, so its contract is checked here directly.


def test_pw_first_true_condition_wins_and_nan_where_none_holds() -> None:
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = rt.pw((x,), (x <= 0, x <= 1), (lambda v: v * 0 + 10, lambda v: v * 0 + 20))
    assert out.tolist()[:4] == [10.0, 10.0, 10.0, 20.0] and np.isnan(out[4])
    assert out.dtype == np.float64


def test_pw_true_is_the_otherwise_branch_and_stops_the_chain() -> None:
    x = np.array([-2.0, 0.0, 3.0, np.nan])
    out = rt.pw((x,), (x < 0, x == 0, True, x > 0), (lambda v: -v, lambda v: v + 5, lambda v: 2 * v,
                                                       lambda v: v * 0 + 99))
    assert out[:3].tolist() == [2.0, 5.0, 6.0] and np.isnan(out[3])


def test_pw_whole_array_branch_when_every_element_selects_it() -> None:
    x = np.array([[-3.0, -1.0], [-0.5, -2.0]])
    out = rt.pw((x,), (x < 0, True), (lambda v: v * v, lambda v: v * 0 + 7))
    assert out.shape == (2, 2) and out.tolist() == [[9.0, 1.0], [0.25, 4.0]]
    assert rt.pw((x,), (True,), (lambda v: v + 1,)).tolist() == [[-2.0, 0.0], [0.5, -1.0]]


def test_pw_each_branch_sees_only_its_elements() -> None:
    # log of a negative number would warn (an error in this suite) if a branch ran everywhere
    x = np.array([-1.0, 4.0, -8.0, 1.0])
    seen: list[list[float]] = []

    def log_branch(v: np.ndarray) -> np.ndarray:
        seen.append(v.tolist())
        return np.log(v)

    out = rt.pw((x,), (x > 0, True), (log_branch, lambda v: v / 2))
    assert seen == [[4.0, 1.0]]
    assert out.tolist() == [-0.5, float(np.log(4.0)), -4.0, 0.0]


def test_pw_a_false_condition_selects_nothing() -> None:
    x = np.array([1.0, -1.0])
    out = rt.pw((x,), (False, True), (lambda v: v * 0 + 5, lambda v: v * 3))
    assert out.tolist() == [3.0, -3.0]


def test_pw_broadcasts_its_arrays_and_keeps_a_wider_dtype() -> None:
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    out = rt.pw((x, np.float32(10)), (x > 0, True), (lambda v, s: v + s, lambda v, s: v - s))
    assert out.dtype == np.float64 and out.tolist() == [11.0, -12.0, 13.0]
    wide = rt.pw((x.astype(np.longdouble),), (True,), (lambda v: v,))
    assert wide.dtype == np.longdouble


# ----------------------------------------------------------------------------- _runtime._HugeReal


def test_a_huge_float_parameter_raises_to_powers_as_numpy_does() -> None:
    v = rt.check_float("op", "eps", 1e300, None)
    assert v == 1e300 and isinstance(v, float)
    assert v ** 2 == np.inf and v ** -2 == 0.0 and v ** 1 == 1e300
    assert 2.0 ** v == np.inf and 0.5 ** v == 0.0 and 1.0 ** v == 1.0
    assert rt.check_float("op", "eps", -1e300, None) ** 2 == np.inf
    assert rt.check_float("op", "eps", -1e300, None) ** 3 == -np.inf
    small = rt.check_float("op", "eps", 2.0 ** 500, None)
    assert small ** 2 == 2.0 ** 1000


# ----------------------------------------------------------------------------- _runtime.table


def test_table_of_values_that_are_not_finite_numbers_is_numpy_select() -> None:
    # A slope of inf (or a parameter that rounds to float32's infinity) cannot be chosen by
    # masks (inf·False is NaN): table hands such values, and array values, to numpy.select.
    # tests/test_pointwise_blocks.py checks the finite values only.
    rng = np.random.default_rng(2)
    conds = tuple(rng.random(300) < 0.3 for _ in range(3))  # ~1/3 of the entries meet none
    ramp = np.linspace(-1.0, 1.0, 300)
    for values in [(np.inf, 1.0, 0.0, -2.0), (0.0, np.nan, 2.5, 1.0), (1.0, 2.0, 3.0, np.inf),
                   (0.0, 0.0, 0.0, -np.inf), (ramp, 0.5, -ramp, 4.0)]:
        expected = np.select(list(conds), list(values[:-1]), values[-1])
        got = rt.table(conds, values)
        assert got.dtype == np.float64 and got.shape == (300,)
        assert np.array_equal(got, expected, equal_nan=True), values


def test_table_is_float64_when_every_value_is_an_int() -> None:
    # the printer writes the constants 0 and 1 as Python ints; table promises float64
    # (numpy.select would give int64); one nonzero value against 0 is one mask times it
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    for values in [(0, 1), (1, 0), (0, 2), (3, 0), (0, 1, 2), (2, 2)]:
        conds = (x < 0, x == 0)[:len(values) - 1]
        got = rt.table(conds, values)
        expected = np.select(list(conds), [float(v) for v in values[:-1]], float(values[-1]))
        assert got.dtype == np.float64 and np.array_equal(got, expected), values


# ----------------------------------------------------------------------------- _runtime.where


def test_runtime_where_promotes_mixed_dtypes_and_reads_any_condition_as_numpy_where() -> None:
    # numpy.where's dtype is that of both choices together (a Python float is weak: it takes a
    # float32 array's dtype); a condition that is not bool is true where nonzero.
    # tests/test_pointwise_blocks.py checks choices of one dtype with bool conditions only.
    rng = np.random.default_rng(12)
    n = 64
    cond = rng.random(n) < 0.5
    a64, b64 = rng.standard_normal(n), rng.standard_normal(n) * 100
    a32, b16 = a64.astype(np.float32), b64.astype(np.float16)
    cases = [(cond, a32, b64), (cond, a64, a32), (cond, b16, a32), (cond, np.nan, a32), (cond, a32, np.float64(2.5)),
             (rng.integers(-2, 3, n), a64, b64), (rng.integers(0, 3, n).astype(np.uint8), a32, -0.0),
             (rng.integers(-1, 2, n) * 0.5, a64, b64)]
    for c, x, y in cases:
        expected = np.where(c, x, y)
        got = rt.where(c, x, y)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (c.dtype, np.result_type(x), np.result_type(y))


# ----------------------------------------------------------------------------- _runtime.blocked


@pytest.mark.parametrize("size", [10, 5000])  # one call on the whole; blocks in threads
def test_blocked_sets_the_working_precision_from_the_result_dtype(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    # _special's docstring: a float32 call's kernels run inside caller_dtype(float32), so its
    # special functions skip x86's extended precision (~10x slower; the float32 results are the
    # same bits, which is why no value test sees it); a float64 call's keep it.  The setting is
    # per thread: each block's thread must see it.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 2048)
    seen: list[type] = []

    def kernel(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        seen.append(_special._work())
        return a

    for dtype, work in [(np.float32, np.float64), (np.float64, np.longdouble)]:
        x = np.ones(size, dtype=dtype)
        seen.clear()
        assert rt.blocked(kernel, (x,), rt.wide, x).dtype == dtype
        assert seen and set(seen) == {work}
    assert _special._work() is np.longdouble  # and the caller's thread is left as it was


def test_blocked_takes_any_shape_broadcasting_and_strides(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only arrays of one C-contiguous shape are cut into blocks (flattened); a broadcast
    # operand or a transposed view goes as one call on the whole.  Either way the result is
    # the formula applied elementwise (here a·(b + 1), computed by NumPy directly).
    # tests/test_pointwise_blocks.py blocks 1-D arrays of one shape only.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 2048)
    rng = np.random.default_rng(13)
    a = rng.standard_normal((64, 100))

    def kernel(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.multiply(x, y + 1.0, out=out)

    for b in [rng.standard_normal((64, 100)), rng.standard_normal(100), rng.standard_normal((64, 1)),
              rng.standard_normal((100, 64)).T, np.float64(0.5)]:
        got = rt.blocked(kernel, (a, b), rt.wide)
        assert got.shape == (64, 100) and np.array_equal(got, a * (b + 1.0))
        low = rt.blocked(kernel, (a.astype(np.float32), np.asarray(b, dtype=np.float32)), rt.wide, a.astype(np.float32))
        want = (a.astype(np.float32).astype(np.float64) * (np.asarray(b, dtype=np.float32).astype(np.float64) + 1.0))
        assert low.dtype == np.float32 and np.array_equal(low, want.astype(np.float32))


def test_blocked_copies_a_result_the_kernel_did_not_write_and_rounds_it_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    # A kernel may return a new array instead of writing into its block (out=): blocked copies
    # it there, and a float64 value beyond float32's range becomes float32's infinity there
    # without a warning (IEEE rounding), as like() does on the one-call path.
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    monkeypatch.setattr(rt, "POINTWISE_BLOCK", 1024)
    monkeypatch.setattr(rt, "POINTWISE_MIN", 2048)
    x = np.linspace(1e38, 3e38, 5000).astype(np.float32)

    def kernel(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return a.astype(np.float64) * 4.0  # ignores out

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rt.blocked(kernel, (x,), rt.native, x)
    want = x.astype(np.float64) * 4.0
    assert got.dtype == np.float32 and np.array_equal(np.isinf(got), want > np.finfo(np.float32).max)
    finite = want <= np.finfo(np.float32).max
    assert np.array_equal(got[finite], want[finite].astype(np.float32))


# ----------------------------------------------------------------------------- table's signed zeros
# Found by mutation testing (table 39, 41-43 changed only the sign of a zero): table merged a
# value of -0.0 with +0.0 (its distinct values were dict keys, and -0.0 == 0.0), which reached
# the API as leaky_relu's derivative with negative_slope = -0.0 (+0.0 where IEEE and torch
# give -0.0).  Fixed by telling the values apart by their sign too.


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


# ----------------------------------------------------------------------------- argument checks
# Mutation testing (the runtime sample of 2026-12-07) found these checks reached by the fast
# suite only with good arguments: a check that let everything through, or raised with an empty
# message, survived.  The module's docstring promises messages that name the op, the argument,
# what was expected and what was given.


def test_check_domain_refuses_an_element_below_its_lower_bound() -> None:
    # [0, inf): -0.5 lies outside and is named with its index; 0 is inside (closed), and with
    # lo_open it is outside.  (0, 1]: 1 inside, 1.5 outside; NaN passes only with nan_ok.
    rt.check_domain("op", "x", np.array([0.0, 2.0]), {"lo": 0})
    with pytest.raises(nnref.NNRefError, match=r"^op: x: expected every element in \[0, inf\), got -0\.5 at index \(1, 0\)$"):
        rt.check_domain("op", "x", np.array([[1.0, 3.0], [-0.5, 2.0]]), {"lo": 0})
    with pytest.raises(nnref.NNRefError, match=r"got 0\.0 at index \(0,\)"):
        rt.check_domain("op", "x", np.array([0.0, 1.0]), {"lo": 0, "lo_open": True})
    rt.check_domain("op", "x", np.array([0.5, 1.0]), {"lo": 0, "lo_open": True, "hi": 1})
    with pytest.raises(nnref.NNRefError, match=r"in \(0, 1\], got 1\.5 at index \(2,\)"):
        rt.check_domain("op", "x", np.array([0.5, 1.0, 1.5]), {"lo": 0, "lo_open": True, "hi": 1})
    with pytest.raises(nnref.NNRefError, match=r"got nan at index \(0,\)"):
        rt.check_domain("op", "x", np.array([np.nan]), {"lo": 0})
    rt.check_domain("op", "x", np.array([np.nan, 3.0]), {"lo": 0}, nan_ok=True)


def test_check_int_takes_ints_only() -> None:
    # an int or a NumPy integer passes as a Python int; a bool, a float (even integral) or a
    # string is refused (torch refuses them too)
    assert rt.check_int("op", "n", 3) == 3 and rt.check_int("op", "n", np.int64(-4)) == -4
    for bad, shown in [(True, "bool True"), (2.0, "float 2.0"), ("3", "str '3'"), (None, "NoneType None")]:
        with pytest.raises(nnref.NNRefError, match=rf"^op: n: expected an int, got {shown}$"):
            rt.check_int("op", "n", bad)


def test_label_array_takes_numeric_labels_and_refuses_the_rest() -> None:
    # integer and float labels pass, as do labels stored big-endian (taken in native order, the
    # same numbers); an empty bool array (an empty list of labels reads as float64, but one
    # built as bool must pass too); None, a ragged list, strings, complex numbers and a
    # non-empty bool array are refused with the op, the argument and what was given
    for good in [[0, 2, 1], np.array([1.0, -1.0]), np.array([3, 4], dtype=np.uint8), np.zeros(0, dtype=bool)]:
        assert np.array_equal(rt.label_array("op", "target", good), np.asarray(good))
    big = np.array([1, 7, 300], dtype=">i4")
    got = rt.label_array("op", "target", big)
    assert got.dtype.isnative and got.dtype.kind == "i" and got.tolist() == [1, 7, 300]
    with pytest.raises(nnref.NNRefError, match=r"^op: target: expected an array of labels, got None$"):
        rt.label_array("op", "target", None)
    with pytest.raises(nnref.NNRefError, match=r"^op: target: expected a rectangular array of labels, got list \[\[1, 2\], \[3\]\]$"):
        rt.label_array("op", "target", [[1, 2], [3]])
    for bad, kind in [(np.array(["a", "b"]), "<U1"), (np.array([1 + 2j]), "complex128"), (np.array([True, False]), "bool"),
                      (np.zeros(0, dtype="U1"), "<U1")]:
        with pytest.raises(nnref.NNRefError, match=rf"^op: target: expected a numeric array of labels, got dtype {kind}$"):
            rt.label_array("op", "target", bad)


def test_max_along_an_empty_axis_is_minus_infinity() -> None:
    # the docstring: an empty axis gives -inf (the identity of max), the axis kept with size 1,
    # in the array's dtype; a non-empty one is NumPy's max with the axis kept
    got = rt.max_along(np.zeros((3, 0, 2), dtype=np.float32), 1)
    assert got.shape == (3, 1, 2) and got.dtype == np.float32 and np.all(got == -np.inf)
    assert rt.max_along(np.array([[1.0, 5.0], [4.0, 2.0]]), 0).tolist() == [[4.0, 5.0]]


def test_loss_weight_grad_names_the_op_in_a_weight_error() -> None:
    # loss_weight_grad validates its weight itself (as reduce_loss does): a weight of another
    # dtype than input's is refused with the op's name
    ref = np.ones(3)
    with pytest.raises(nnref.NNRefError, match=r"^my_loss: weight: expected dtype float64 \(the dtype of input\), got float32$"):
        rt.loss_weight_grad("my_loss", np.float64(1.0), np.ones(3), ref, "sum", np.ones(3, dtype=np.float32))


# ----------------------------------------------------------------------------- broadcast_arg, unbroadcast
# gaussian_nll_loss's var may have input's shape, input's shape without its last dim, that
# shape with one dim of size 1, or be a Python number (torch's rules); the fast suite passes
# var of input's shape only.  Expected values from the closed form, evaluated by NumPy:
# loss = (log v + (x - y)^2 / v) / 2 (v above eps), d/dx = (x - y) / v,
# d/dv = (1/v - (x - y)^2 / v^2) / 2, summed over the axes var was stretched along.


def _gaussian_nll_expected(x: np.ndarray, y: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    vb = np.broadcast_to(v, x.shape)
    n = x.size
    loss = float(np.mean(0.5 * (np.log(vb) + (x - y) ** 2 / vb)))
    dx = (x - y) / vb / n
    dv = 0.5 * (1.0 / vb - (x - y) ** 2 / vb ** 2) / n
    return loss, dx, dv


@pytest.mark.parametrize(("var_shape", "axes", "keep"), [((2, 3, 4), (), True), ((2, 3), (2,), False), ((2, 3, 1), (2,), True),
                                                      ((2, 1, 4), (1,), True), ((1, 3, 4), (0,), True), ((), None, False)])
def test_gaussian_nll_loss_takes_each_shape_of_var_torch_takes(var_shape: tuple[int, ...], axes: tuple[int, ...] | None,
                                                              keep: bool) -> None:
    rng = np.random.default_rng(21)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    v = rng.uniform(0.5, 2.0, var_shape)
    var = float(v) if var_shape == () else v  # () stands for a Python number
    loss, dx, dv = _gaussian_nll_expected(x, y, v.reshape(var_shape + (1,)) if var_shape == (2, 3) else v)
    assert float(nnref.gaussian_nll_loss(x, y, var)) == pytest.approx(loss, rel=1e-13)
    grads = nnref.gaussian_nll_loss_backward(np.float64(1.0), x, y, var)
    assert np.allclose(grads["input"], dx, rtol=1e-13, atol=0)
    assert np.allclose(grads["target"], -dx, rtol=1e-13, atol=0)
    # var's gradient: d/dv summed over the entries each var entry was stretched over, in var's shape
    want = np.sum(dv, axis=axes, keepdims=keep)
    assert np.shape(grads["var"]) == var_shape and np.allclose(grads["var"], want, rtol=1e-12, atol=0)


def test_gaussian_nll_loss_refuses_a_var_of_another_shape() -> None:
    x = np.ones((2, 3, 4))
    with pytest.raises(nnref.NNRefError, match=r"^gaussian_nll_loss: var: expected shape \(2, 3, 4\) \(the shape of input\),"
                       r" \(2, 3\) \(without its last dim\), or that shape with one dim set to 1; got \(1, 1, 4\)$"):
        nnref.gaussian_nll_loss(x, x, np.ones((1, 1, 4)))
    with pytest.raises(nnref.NNRefError, match=r"^gaussian_nll_loss: var: expected a floating-point array, got None$"):
        nnref.gaussian_nll_loss(x, x, None)
    with pytest.raises(nnref.NNRefError, match=r"^gaussian_nll_loss: var: expected a real number, got nan$"):
        nnref.gaussian_nll_loss(x, x, float("nan"))


def test_bce_with_logits_takes_pos_weight_as_a_number_or_a_broadcast_array() -> None:
    # loss = -(p·y·log σ(x) + (1 - y)·log(1 - σ(x))), with log σ(x) = -log1p(e^-x) and
    # log(1 - σ(x)) = -x - log1p(e^-x) (|x| < 3 here: no overflow); mean over the entries
    rng = np.random.default_rng(22)
    x, y = rng.uniform(-3, 3, (4, 3)), rng.uniform(0, 1, (4, 3))
    for p in [2.5, np.array([0.5, 1.0, 3.0]), np.array([[2.0], [1.0], [0.25], [4.0]])]:
        soft = np.log1p(np.exp(-x))
        want = np.mean(p * y * soft + (1 - y) * (x + soft))
        assert float(nnref.binary_cross_entropy_with_logits(x, y, pos_weight=p)) == pytest.approx(want, rel=1e-13)
    with pytest.raises(nnref.NNRefError, match=r"^binary_cross_entropy_with_logits: pos_weight: expected a shape that"
                       r" broadcasts to \(4, 3\) \(the shape of input\), got \(4,\)$"):
        nnref.binary_cross_entropy_with_logits(x, y, pos_weight=np.ones(4))


# ----------------------------------------------------------------------------- threads


def test_threads_reads_nnref_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # the docstring: NNREF_NUM_THREADS when set (at least 1, not capped at 8), else the CPUs
    monkeypatch.setenv("NNREF_NUM_THREADS", "13")
    assert rt.threads() == 13
    monkeypatch.setenv("NNREF_NUM_THREADS", "0")
    assert rt.threads() == 1
    monkeypatch.setenv("NNREF_NUM_THREADS", "many")
    with pytest.raises(nnref.NNRefError, match=r"^NNREF_NUM_THREADS: expected a positive int"):
        rt.threads()


def test_threads_without_affinity_is_the_cpu_count_at_most_8(monkeypatch: pytest.MonkeyPatch) -> None:
    # where os has no sched_getaffinity (macOS, Windows) the CPUs are os.cpu_count(), capped
    # at 8; with none known, one thread
    monkeypatch.delenv("NNREF_NUM_THREADS", raising=False)
    monkeypatch.delattr(rt.os, "sched_getaffinity", raising=False)
    for cpus, want in [(3, 3), (16, 8), (None, 1)]:
        monkeypatch.setattr(rt.os, "cpu_count", lambda cpus=cpus: cpus)
        assert rt.threads() == want


# ----------------------------------------------------------------------------- ext, reduce_loss, unreduce_grad


def test_ext_passes_what_is_not_an_array_through() -> None:
    # ext widens floating arrays only (float32 -> float64, float64 -> longdouble); a Python
    # number or a NumPy scalar a kernel is handed stays as it is
    assert rt.ext(np.ones(2, dtype=np.float32)).dtype == np.float64
    assert rt.ext(np.ones(2)).dtype == np.longdouble
    v = rt.ext(0.5)
    assert v == 0.5 and type(v) is float
    s = rt.ext(np.float32(0.1))
    assert type(s) is np.float32 and s == np.float32(0.1)


def test_reduce_loss_broadcasts_a_loss_of_another_shape_over_input() -> None:
    # a loss given as one value (a kernel whose loss does not depend on the element) stands
    # for that value at every element of input: 'none' repeats it, 'sum' adds it N times,
    # 'mean' is the value itself
    ref = np.ones((2, 3), dtype=np.float32)
    assert rt.reduce_loss("op", np.float64(1.5), ref, "none").tolist() == [[1.5] * 3] * 2
    assert float(rt.reduce_loss("op", np.float64(1.5), ref, "sum")) == 9.0
    assert float(rt.reduce_loss("op", np.array([1.0, 2.0, 4.0]), ref, "mean")) == pytest.approx(7.0 / 3.0, rel=1e-7)


def test_a_backward_call_names_its_op_in_a_reduction_error() -> None:
    # the backward functions check reduction themselves (unreduce_grad), naming the op
    x = np.ones(3)
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: reduction: expected one of 'none', 'mean', 'sum', got 'avg'$"):
        nnref.mse_loss_backward(np.float64(1.0), x, x, reduction="avg")
    # and its weight check too (the weight's dtype must be input's)
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: weight: expected dtype float64 \(the dtype of input\), got float32$"):
        nnref.mse_loss_backward(np.float64(1.0), x, x, weight=np.ones(3, dtype=np.float32))
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: weight: expected a floating-point array \(float16, float32 or"
                       r" float64\), got dtype int64"):
        nnref.mse_loss(x, x, weight=np.array([1, 2, 3], dtype=np.int64))


def test_unreduce_grad_is_in_input_dtype_for_float16() -> None:
    # float16 sums are taken in float64 (accumulator), but the upstream gradient each loss term
    # gets is input's dtype, g/N rounded to float16 once ('mean'), g itself ('sum')
    ref = np.ones((3, 2), dtype=np.float16)
    g = np.float16(1.0)
    mean = rt.unreduce_grad("op", g, ref, "mean")
    assert mean.dtype == np.float16 and mean.shape == (3, 2) and np.all(mean == np.float16(1.0 / 6.0))
    total = rt.unreduce_grad("op", np.float16(0.1), ref, "sum")
    assert total.dtype == np.float16 and np.all(total == np.float16(0.1))
    # per-element gradients too: 'none' passes g through, a weight multiplies it (0.1·w in
    # float64, rounded once to float16)
    g16 = np.array([[0.5, 0.25], [2.0, 1.0], [3.0, 0.125]], dtype=np.float16)
    assert rt.unreduce_grad("op", g16, ref, "none").dtype == np.float16
    w = np.array([[1.0, 2.0], [3.0, 0.5], [0.25, 4.0]], dtype=np.float16)
    weighted = rt.unreduce_grad("op", np.float16(0.1), ref, "sum", weight=w)
    assert weighted.dtype == np.float16
    assert np.array_equal(weighted, (float(np.float16(0.1)) * w.astype(np.float64)).astype(np.float16))


def test_a_float16_mean_of_large_losses_does_not_overflow() -> None:
    # accumulator's docstring: float16 sums overflow at 65504, so they are taken in float64 and
    # the result cast back: the mean of four losses of 30000 is 30000 (their float16 sum would
    # be inf); float32 and float64 keep their own dtype
    assert rt.accumulator(np.float16) is np.float64 and rt.accumulator(np.float32) is np.float32
    ref = np.ones(4, dtype=np.float16)
    mean = rt.reduce_loss("op", np.full(4, 30000.0, dtype=np.float16), ref, "mean")
    assert mean.dtype == np.float16 and float(mean) == 30000.0


def test_check_float_bounds_and_which_values_are_huge() -> None:
    # a closed upper bound takes the bound itself, an open one refuses it; the message names
    # the domain.  2^512's square is 2^1024, beyond float64: it must be a _HugeReal (inf, as
    # NumPy gives, not OverflowError).  A moderate value stays a plain float, which NumPy takes
    # as a weak scalar: a float32 array times it stays float32 (a float subclass would make it
    # float64, see _HugeReal).
    assert rt.check_float("op", "p", 1.0, {"lo": 0, "hi": 1}) == 1.0
    with pytest.raises(nnref.NNRefError, match=r"^op: p: expected a value in \[0, 1\], got 1\.5$"):
        rt.check_float("op", "p", 1.5, {"lo": 0, "hi": 1})
    with pytest.raises(nnref.NNRefError, match=r"^op: p: expected a value in \[0, 1\), got 1\.0$"):
        rt.check_float("op", "p", 1.0, {"lo": 0, "hi": 1, "hi_open": True})
    assert rt.check_float("op", "p", 2.0 ** 512, None) ** 2 == np.inf
    for v in [2000.0, -3.0e5]:
        assert (np.ones(2, dtype=np.float32) * rt.check_float("op", "p", v, None)).dtype == np.float32


def test_wide_converts_small_float_arrays_only() -> None:
    # float16/float32 arrays become float64; a float64 array passes through uncopied (the
    # docstring); a Python number or a NumPy scalar a kernel is handed stays as it is
    a64 = np.ones(3)
    assert rt.wide(a64) is a64
    assert rt.wide(np.ones(3, dtype=np.float16)).dtype == np.float64
    v = rt.wide(0.5)
    assert v == 0.5 and type(v) is float
    assert type(rt.wide(np.float32(0.1))) is np.float32


def test_like_broadcasts_a_value_to_the_reference_shape() -> None:
    # like's docstring: the result has the reference's dtype and shape (or the shape given); a
    # kernel whose derivative is a constant returns one value, which stands for every element
    ref = np.zeros((2, 3), dtype=np.float32)
    got = rt.like(np.float64(2.5), ref)
    assert got.dtype == np.float32 and got.shape == (2, 3) and np.all(got == 2.5)
    row = rt.like(np.array([1.0, 2.0, 3.0]), ref)
    assert row.shape == (2, 3) and row.tolist() == [[1.0, 2.0, 3.0]] * 2
    assert rt.like(np.float64(4.0), ref, (3,)).tolist() == [4.0] * 3
    # the result is a new, writeable array of its own (as an op's result in torch is a new
    # tensor): never the kernel's broadcast view, nor the caller's array handed back
    assert got.flags.writeable and row.flags.writeable
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    same = rt.like(x, ref)
    assert same.tolist() == x.tolist() and not np.shares_memory(same, x)


def test_float_arrays_take_big_endian_input_and_name_the_first_argument() -> None:
    # numbers stored big-endian (read from a file) are taken as the same numbers in native
    # order; a second array of another dtype is refused naming the first argument's dtype
    big = np.array([1.5, -2.0, 3.25], dtype=">f8")
    got = rt.float_array("op", "input", big)
    assert got.dtype == np.float64 and got.dtype.isnative and got.tolist() == [1.5, -2.0, 3.25]
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: target: expected dtype float64 \(the dtype of input\), got float32$"):
        nnref.mse_loss(np.ones(3), np.ones(3, dtype=np.float32))


# ----------------------------------------------------------------------------- the rest of the runtime's mutants
# Mutation testing (the runtime's remaining 941 mutants, run in seeded batches of 40,
# tests/mutation/runtime_rest.json): the tests below were written for mutants that survived it.


def test_float_array_refuses_text_and_objects_naming_what_was_given() -> None:
    # Text and Python objects are not numbers at all: the message names the value given (as
    # _describe writes it), with no advice to convert a dtype; .astype(numpy.float64) cannot
    # read 'abc' (NumPy raises ValueError), so that advice is for numeric dtypes only.
    with pytest.raises(ValueError):
        np.array("abc").astype(np.float64)
    for bad, shown in [("abc", r"str 'abc'"), (np.array(["1.5", "x"]), r"array of dtype <U3 and shape \(2,\)"),
                       (np.array([None, 1.0], dtype=object), r"array of dtype object and shape \(2,\)"),
                       (b"\x00\x01", r"bytes b'\\x00\\x01'")]:
        with pytest.raises(nnref.NNRefError, match=rf"^op: x: expected a floating-point array, got {shown}$"):
            rt.float_array("op", "x", bad)


def test_a_backward_call_names_grad_output_in_its_dtype_error() -> None:
    # grad_output is checked as every array argument is, and the message names it
    x = np.ones(3)
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: grad_output: expected a floating-point array \(float16, float32"
                       r" or float64\), got dtype int64"):
        nnref.mse_loss_backward(np.int64(1), x, x)
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: grad_output: expected a floating-point array, got str 'one'$"):
        nnref.mse_loss_backward("one", x, x, reduction="none")


def test_weight_gradient_keeps_the_sign_of_a_zero_product() -> None:
    # d/dweight of sum(w·l) is g·l: where the loss is 0 and the upstream gradient negative,
    # IEEE's product is -0.0 (as torch's mul backward gives), with weight of input's shape
    # (nothing to sum back over)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[1.0, 0.0], [3.0, 5.0]])
    w = np.array([[2.0, 1.0], [0.5, 3.0]])
    losses = (x - y) ** 2
    for g, reduction in [(np.full((2, 2), -1.5), "none"), (np.float64(-2.0), "sum")]:
        got = nnref.mse_loss_backward(g, x, y, weight=w, reduction=reduction)["weight"]
        want = g * losses
        assert got.shape == (2, 2) and np.array_equal(got, want)
        assert np.signbit(got).tolist() == np.signbit(want).tolist() == [[True, True], [True, True]]


def test_threads_counts_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # the docstring: without NNREF_NUM_THREADS, the CPUs this process may use (its affinity
    # mask, e.g. under taskset or a container's cpuset), not the machine's count
    monkeypatch.delenv("NNREF_NUM_THREADS", raising=False)
    monkeypatch.setattr(rt.os, "cpu_count", lambda: 64)
    for allowed, want in [({3}, 1), ({0, 5, 9}, 3), (set(range(20)), 8)]:
        monkeypatch.setattr(rt.os, "sched_getaffinity", lambda pid, allowed=allowed: allowed, raising=False)
        assert rt.threads() == want


def test_a_shape_error_names_the_first_argument_as_the_reference() -> None:
    # every array must have the first argument's shape; the message says whose shape that is
    with pytest.raises(nnref.NNRefError, match=r"^mse_loss: target: expected shape \(3,\) \(the shape of input\), got \(4,\)$"):
        nnref.mse_loss(np.ones(3), np.ones(4))
    with pytest.raises(nnref.NNRefError, match=r"^op: c: expected shape \(2,\) \(the shape of a\), got \(1,\)$"):
        rt.float_arrays("op", a=np.ones(2), b=np.ones(2), c=np.ones(1))


def test_a_broadcast_argument_of_another_dtype_is_refused_by_name() -> None:
    x = np.ones((2, 3))
    with pytest.raises(nnref.NNRefError, match=r"^binary_cross_entropy_with_logits: pos_weight: expected dtype float64"
                       r" \(the dtype of input\), got float32$"):
        nnref.binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(3, dtype=np.float32))


def test_gaussian_nll_loss_with_one_dim_input_and_a_number_var() -> None:
    # a Python number var stands for every entry; its gradient is d/dv summed over all of them
    # (the closed form above), a 0-d result; with 1-D input the sum runs over the one axis
    rng = np.random.default_rng(23)
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    v = 1.75
    loss, dx, dv = _gaussian_nll_expected(x, y, np.float64(v))
    assert float(nnref.gaussian_nll_loss(x, y, v)) == pytest.approx(loss, rel=1e-13)
    grads = nnref.gaussian_nll_loss_backward(np.float64(1.0), x, y, v)
    assert np.allclose(grads["input"], dx, rtol=1e-13, atol=0)
    assert np.shape(grads["var"]) == () and float(grads["var"]) == pytest.approx(float(np.sum(dv)), rel=1e-12)


def test_a_float32_weighted_mean_overflows_where_a_product_does() -> None:
    # float32 losses times float32 weights are float32 products (IEEE: 1e37·100 is inf there),
    # as in torch; the mean of terms one of which is inf is inf, though the mean of the exact
    # products would be finite
    with np.errstate(over="ignore"):
        assert np.float32(1e37) * np.float32(100.0) == np.inf
    x = np.array([1e37] + [0.0] * 9, dtype=np.float32)
    y = np.zeros(10, dtype=np.float32)
    w = np.array([100.0] + [1.0] * 9, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for op, d in [(nnref.l1_loss, x), (nnref.huber_loss, x), (nnref.mse_loss, np.sqrt(x))]:
            got = op(d, y, weight=w)
            assert got.dtype == np.float32 and float(got) == np.inf, op


def test_int_tuple_takes_the_largest_int64() -> None:
    # the message's bound is inclusive: 2**63 - 1 (int64's largest) is taken, 2**63 refused
    big = 2**63 - 1
    assert rt.int_tuple("op", "padding", big, 2, 0) == (big, big)
    assert rt.int_tuple("op", "padding", (1, np.int64(big)), 2, 0) == (1, big)
    with pytest.raises(nnref.NNRefError, match=r"^op: padding: expected every entry <= 2\*\*63 - 1 \(an int64\), got \(1, 9223372036854775808\)$"):
        rt.int_tuple("op", "padding", (1, 2**63), 2, 0)


def test_hint_heap_asks_for_a_larger_block_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # a process's first call of a size above the hint so far asks for a block that large (at
    # most HEAP_HINT_LIMIT) and remembers it; a smaller one asks for nothing.  (The hint is
    # process-wide: here it starts from a fresh process's 0.)
    monkeypatch.setattr(rt, "_heap_hint", 0)
    rt.hint_heap(4096)
    assert rt._heap_hint == 4096
    rt.hint_heap(100)
    assert rt._heap_hint == 4096
    rt.hint_heap(2**40)
    assert rt._heap_hint == rt.HEAP_HINT_LIMIT


def test_a_huge_parameter_of_a_float64_call_still_powers_as_numpy_does() -> None:
    # in_dtype leaves a float64 call's parameter as check_float gave it: a huge one stays the
    # float whose ** gives inf (NumPy's power) instead of raising OverflowError; gaussian_nll_loss's
    # backward squares eps.  With var below eps every var is eps, and d/dinput = (x - y)/eps/n
    # (the closed form above).
    x64 = np.ones(2)
    eps = rt.in_dtype(rt.check_float("op", "eps", 1e300, None), x64)
    assert eps == 1e300 and eps ** 2 == np.inf
    x, y, v = np.array([0.5, -1.0, 2.0]), np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0, 0.5])
    grads = nnref.gaussian_nll_loss_backward(np.float64(1.0), x, y, v, eps=1e300)
    assert np.allclose(grads["input"], (x - y) / 1e300 / 3, rtol=1e-15, atol=0)


# Found while writing the test above: the var gradient where var <= eps was printed as
# (eps - d²)/(2·eps²), and eps² overflows float64 for eps > 1.3e154 (a parameter stays a
# float64 in the extended kernel), so the gradient came out 0 (torch: 1/(2·eps)·(1 - d²/eps)).
# Now (1 - d²/eps)/(2·eps) with the reciprocal taken in extended precision, which also keeps a
# subnormal eps's 1/eps (beyond float64's range) from turning 1 - d²/eps into inf - inf.
@pytest.mark.parametrize("eps", [1e150, 1e160, 1e300, 1.7e308, 1e-300, 1e-310])
def test_gaussian_nll_loss_var_gradient_at_an_extreme_eps(eps: float) -> None:
    from fractions import Fraction

    x = np.array([0.5, -1.0, 2.0, 0.0, 1e-160, 3e150])
    y = np.zeros_like(x)
    v = np.zeros_like(x)  # below eps everywhere: the var gradient is the convention's
    got = nnref.gaussian_nll_loss_backward(np.ones_like(x), x, y, v, eps=eps, reduction="none")["var"]
    e = Fraction(eps)
    for xi, gi in zip(x, got):
        exact = (1 - Fraction(float(xi)) ** 2 / e) / (2 * e)
        try:
            want = float(exact)
        except OverflowError:  # beyond float64: rounds to an infinity of its sign
            want = np.inf if exact > 0 else -np.inf
        # within 1 ulp of the exact value (computed in extended precision, then rounded once more)
        assert gi == want or abs(gi - want) <= np.spacing(abs(want)), (xi, gi, want)


def test_check_domain_refuses_an_element_at_an_open_upper_bound() -> None:
    # [0, 1): 1 itself lies outside (named with its index), anything below passes; (-inf, 2]
    # takes 2 (the engine's domains are [0, 1] and [0, inf); the dict's format has open ends)
    rt.check_domain("op", "p", np.array([0.0, 0.999999]), {"lo": 0, "hi": 1, "hi_open": True})
    with pytest.raises(nnref.NNRefError, match=r"^op: p: expected every element in \[0, 1\), got 1\.0 at index \(1,\)$"):
        rt.check_domain("op", "p", np.array([0.5, 1.0]), {"lo": 0, "hi": 1, "hi_open": True})
    rt.check_domain("op", "p", np.array([-5.0, 2.0]), {"hi": 2})


def test_parallel_map_with_one_worker_needs_no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # one worker (one item, or NNREF_NUM_THREADS=1) is a plain loop in the calling thread, even
    # before any pool exists (a pool of 0 threads cannot be made); several items on one thread
    # keep their order; two workers use the pool for all but the first item
    monkeypatch.setattr(rt, "_EXECUTOR", None)
    monkeypatch.setenv("NNREF_NUM_THREADS", "1")
    assert rt.parallel_map(lambda v: v * 2, [3]) == [6]
    assert rt.parallel_map(lambda v: v * 2, [1, 2, 3]) == [2, 4, 6]
    assert rt._EXECUTOR is None
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    assert rt.parallel_map(lambda v: v * 2, [5]) == [10]
    assert rt._EXECUTOR is None
    assert rt.parallel_map(lambda v: v + 1, [1, 2, 3]) == [2, 3, 4]
    assert rt._EXECUTOR is not None and rt._EXECUTOR._max_workers == 1


def test_parallel_map_keeps_one_named_pool_and_grows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # the pool is made once and reused (not a new one, and new threads, per call), grows when a
    # call needs more workers than it has, and its threads are named for nnref (a profiler or
    # a thread dump then says whose they are)
    import threading

    monkeypatch.setattr(rt, "_EXECUTOR", None)
    monkeypatch.setenv("NNREF_NUM_THREADS", "2")
    rt.parallel_map(lambda v: v, [1, 2])
    pool = rt._EXECUTOR
    names = rt.parallel_map(lambda v: threading.current_thread().name, [1, 2])
    assert rt._EXECUTOR is pool and pool._max_workers == 1
    assert names[0] == threading.current_thread().name and names[1].startswith("nnref_")
    monkeypatch.setenv("NNREF_NUM_THREADS", "3")
    assert rt.parallel_map(lambda v: v * 3, [1, 2, 3]) == [3, 6, 9]
    assert rt._EXECUTOR is not pool and rt._EXECUTOR._max_workers == 2
    pool.shutdown()
    rt._EXECUTOR.shutdown()
