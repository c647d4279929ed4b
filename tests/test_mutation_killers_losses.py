"""Tests written to kill mutants of the generated losses (nnref/_generated/losses.py) that
survived `make mutation` (README, "Mutation testing"): each asserts a value known
independently of nnref's code (a closed form, exact arithmetic, mpmath, or torch where the
value is a plain float operation), or a property the API promises (a large input computed
block by block gives the bits of one call), at an input the rest of the fast suite does not
reach.  The survivors that no honest test can kill are listed in tests/mutation/survivors.md.

Owns: nothing but these tests.  Imports: nnref, NumPy, mpmath, torch.
"""

from __future__ import annotations

import inspect
import math
import re

import mpmath
import numpy as np
import pytest
from compare import assert_close, same_bits

import nnref
from nnref import NNRefError, _runtime

# ----------------------------------------------------------------------------- the blocked path

def _inputs(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(n) * 3
    x[::97] = 0.0
    x[3::101] = np.inf
    x[5::103] = np.nan
    p = rng.uniform(0, 1, n)
    p[::89] = 0.0
    p[7::89] = 1.0
    lab = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return x.astype(dtype), p.astype(dtype), lab.astype(dtype)


def _calls(x: np.ndarray, p: np.ndarray, lab: np.ndarray) -> list[tuple[str, tuple, dict]]:
    pos = np.abs(x) + np.asarray(0.5, x.dtype)
    pos[np.isnan(pos)] = 1.0
    return [
        ("mse_loss", (x, p), {}), ("l1_loss", (x, p), {}),
        ("smooth_l1_loss", (x, p), {"beta": 0.0}), ("smooth_l1_loss", (x, p), {"beta": 0.75}),
        ("huber_loss", (x, p), {"delta": 0.75}),
        ("binary_cross_entropy", (p, p[::-1].copy()), {}),
        ("binary_cross_entropy_with_logits", (x, p), {"pos_weight": np.asarray(2.5, x.dtype)}),
        ("kl_div", (x, p), {}), ("kl_div", (x, -pos), {"log_target": True}),
        ("poisson_nll_loss", (x, pos), {}), ("poisson_nll_loss", (x, pos), {"full": True}),
        ("poisson_nll_loss", (pos, x), {"log_input": False}),
        ("poisson_nll_loss", (pos, pos[::-1].copy()), {"log_input": False, "full": True}),
        ("hinge_embedding_loss", (x, lab), {"margin": 0.5}), ("soft_margin_loss", (x, lab), {}),
        ("margin_ranking_loss", (x, p, lab), {"margin": 0.25}),
        ("gaussian_nll_loss", (x, p), {"var": pos}), ("gaussian_nll_loss", (x, p), {"var": pos, "full": True}),
    ]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_loss_kernel_gives_the_same_bits_block_by_block(monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    # On the blocked path (large inputs) each kernel writes into its block of the result through
    # `out=` and `_rt.slot(out, key)`; a kernel that names another key fails there only.
    # test_pointwise_blocks.py covers six losses at 400k entries; this covers every kernel of
    # losses.py (each variant: beta 0, log_target, poisson's four, full) at a few thousand entries
    # with small blocks.  Kills the `slot(out, 'XXinputXX')`, `slot(out, None)` mutants.
    x, p, lab = _inputs(3000, dtype)
    for name, args, params in _calls(x, p, lab):
        fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        g = np.linspace(-2, 2, x.size).astype(dtype)
        whole = [fwd(*args, reduction="none", **params), *bwd(g, *args, reduction="none", **params).values()]
        monkeypatch.setenv("NNREF_NUM_THREADS", "2")
        monkeypatch.setattr(_runtime, "POINTWISE_BLOCK", 512)
        monkeypatch.setattr(_runtime, "POINTWISE_MIN", 1024)
        blocks = [fwd(*args, reduction="none", **params), *bwd(g, *args, reduction="none", **params).values()]
        monkeypatch.undo()
        assert len(whole) == len(blocks)
        for a, b in zip(whole, blocks):
            assert same_bits(a, b), (name, params)


# ----------------------------------------------------------------------------- poisson_nll_loss, full=True

TOL64 = (1e-12, 1e-14)  # the losses' declared float64 tolerance (rtol, atol), catalog.py


def _poisson_target_grad(x: float, y: float, log_input: bool, eps: float) -> float:
    # d/dtarget of exp(x) - y·x (log_input) or x - y·log(x + eps), plus Stirling's
    # y·log y - y + log(2πy)/2 where y > 1 (full=True): its derivative log y + 1/(2y).
    # Conventions (derivations/ops/losses.py): NaN at y <= 0, NaN or +inf; y == 1 takes the
    # masked branch (no Stirling term).
    if math.isnan(y) or math.isinf(y) or y <= 0:
        return math.nan
    mpmath.mp.dps = 40
    d = -mpmath.mpf(x) if log_input else -mpmath.log(mpmath.mpf(x) + mpmath.mpf(eps))
    if y > 1:
        d += mpmath.log(y) + 1 / (2 * mpmath.mpf(y))
    return float(d)


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_full_target_gradient_on_each_side_of_its_conventions(log_input: bool) -> None:
    # The target gradient with full=True (the Stirling term's derivative where target > 1, NaN
    # at target <= 0, NaN or +inf, the masked branch at exactly 1) against its derivative in
    # mpmath; rate inputs (log_input=False) include ones where input + eps = 1 (a zero log).
    # Kills mutants that drop one of the NaN conditions, the `target == 1` choice (or compare
    # target with 2), or the Stirling derivative, in poisson_nll_loss_full_vjp and _rate_full_vjp.
    eps = 1e-8
    xs = [0.5, 2.0, 1.0 - eps, 3.0] if not log_input else [0.5, -1.25, 0.0, 3.0]
    ys = [2.0, 5.0, 1.5, 1.0, 0.5, 0.0, -1.0, math.inf, math.nan]
    x = np.array([a for a in xs for _ in ys])
    y = np.array(ys * len(xs))
    got = nnref.poisson_nll_loss_backward(np.ones_like(x), x, y, log_input=log_input, full=True, eps=eps,
                                          reduction="none")["target"]
    want = np.array([_poisson_target_grad(a, b, log_input, eps) for a, b in zip(x, y)])
    assert_close(got, want, *TOL64, "poisson_nll_loss d/dtarget, full=True")


# ----------------------------------------------------------------------------- defaults

LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
          "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "hinge_embedding_loss",
          "soft_margin_loss", "margin_ranking_loss", "gaussian_nll_loss"]
# a value other than torch's default for each optional argument, so that the one left out decides
ELSE = {"reduction": "sum", "beta": 0.5, "delta": 0.5, "log_target": True, "log_input": False, "full": True,
        "eps": 0.5, "margin": 0.5, "weight": np.array([0.5, 1.0, 2.0, 0.25, 3.0, 1.5])}


def _loss_args(name: str) -> tuple[np.ndarray, ...]:
    x = np.array([-2.5, -0.75, 0.0, 0.3, 1.25, 4.0])
    p = np.array([0.0, 0.2, 0.5, 0.9, 1.0, 0.35])
    if name == "binary_cross_entropy":
        return p, p[::-1].copy()
    if name == "poisson_nll_loss":  # log_input=False needs a rate >= 0
        return np.abs(x), np.array([0.0, 1.0, 2.0, 3.0, 0.5, 7.0])
    if name in ("hinge_embedding_loss", "soft_margin_loss"):
        return x, np.array([1.0, -1.0, -1.0, 1.0, -1.0, 1.0])
    if name == "margin_ranking_loss":
        return x, p, np.array([1.0, -1.0, -1.0, 1.0, -1.0, 1.0])
    if name == "gaussian_nll_loss":
        return x, p, np.array([1e-7, 0.1, 2.0, 0.4, 0.0, 9.0])
    return x, p


@pytest.mark.parametrize("name", LOSSES)
def test_an_argument_left_out_takes_torchs_default(name: str) -> None:
    # Each optional argument left out must act as torch.nn.functional's default for it (read
    # from torch's signature), forward and backward, with the other arguments away from their
    # defaults so that the one left out decides.  Kills the mutants of the defaults in the
    # public signatures (reduction='XXmeanXX', beta=2.0, eps=1.00000001e-08, ...).
    import torch.nn.functional as F  # noqa: N812 - torch's own spelling

    fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    torch_defaults = {k: v.default for k, v in inspect.signature(getattr(F, name)).parameters.items()}
    args = _loss_args(name)
    optional = [k for k, v in inspect.signature(fwd).parameters.items() if v.default is not inspect.Parameter.empty]
    for left_out in optional:
        others = {k: ELSE[k] for k in optional if k != left_out and k in ELSE}
        if name == "poisson_nll_loss" and left_out == "log_input":
            others["eps"] = 1e-8  # eps enters only with log_input=False
        default = torch_defaults[left_out]
        g = np.asarray(0.5) if others.get("reduction", default) != "none" else np.full(args[0].shape, 0.5)
        pairs = [(fwd(*args, **others), fwd(*args, **others, **{left_out: default})),
                 *zip(bwd(g, *args, **others).values(), bwd(g, *args, **others, **{left_out: default}).values())]
        for a, b in pairs:
            assert same_bits(a, b), (name, left_out)


# ----------------------------------------------------------------------------- errors name the op and argument


def _refused(message: str, f, *args: object, **kw: object) -> None:  # noqa: ANN001
    with pytest.raises(NNRefError, match="^" + re.escape(message)):
        f(*args, **kw)


@pytest.mark.parametrize("name", LOSSES)
def test_every_argument_check_names_the_loss_and_the_argument(name: str) -> None:
    # Every refusal starts "<op>: <argument>: expected ...", forward and backward alike (the
    # backward's op is the loss's name).  Kills the mutants that drop or change the op's name
    # or an argument's name in float_arrays, check_float, check_bool, broadcast_arg,
    # reduce_loss / unreduce_grad / loss_weight_grad calls.
    args = _loss_args(name)
    arrays = [k for k in inspect.signature(getattr(nnref, name)).parameters][:len(args)]
    params = inspect.signature(getattr(nnref, name)).parameters
    texts = np.array(["a"] * args[0].size)
    g = np.ones(args[0].shape)
    for back in (False, True):
        f = getattr(nnref, f"{name}_backward") if back else getattr(nnref, name)
        pre = (g,) if back else ()
        for i, arg in enumerate(arrays):
            bad = [*args[:i], texts, *args[i + 1:]]
            _refused(f"{name}: {arg}: expected a floating-point array", f, *pre, *bad, reduction="none")
        _refused(f"{name}: reduction: expected one of 'none', ", f, *pre, *args, reduction="bogus")
        for p, spec in params.items():
            if isinstance(spec.default, bool):
                _refused(f"{name}: {p}: expected True or False", f, *pre, *args, reduction="none", **{p: "yes"})
            elif isinstance(spec.default, float):
                _refused(f"{name}: {p}: expected a real number", f, *pre, *args, reduction="none", **{p: "a"})
            elif p in ("weight", "pos_weight", "var") and p not in arrays:
                _refused(f"{name}: {p}: expected ", f, *pre, *args, reduction="none", **{p: np.ones(args[0].size + 1)})
        if back:
            _refused(f"{name}: grad_output: expected shape {args[0].shape}", f, np.ones(args[0].size + 1), *args,
                     reduction="none")
            _refused(f"{name}: grad_output: expected shape ()", f, np.ones(2), *args)


@pytest.mark.parametrize("back", [False, True])
def test_domains_are_checked_at_their_bounds(back: bool) -> None:
    # torch's domains: binary_cross_entropy's input and target in [0, 1] (both ends allowed),
    # gaussian_nll_loss's var >= 0 (0 and NaN allowed: NaN propagates), smooth_l1_loss's
    # beta >= 0 (0 is l1_loss), huber_loss's delta > 0.  Each bound is tried on both sides and
    # the refusal must state the interval.  Kills the mutants of the domain dicts ('lo'/'hi'
    # renamed or moved, lo_open/hi_open flipped) and of nan_ok, and dropped checks.
    def run(name: str, *args: np.ndarray, **kw: object) -> object:
        if back:
            return getattr(nnref, f"{name}_backward")(np.ones(args[0].shape), *args, reduction="none", **kw)
        return getattr(nnref, name)(*args, reduction="none", **kw)

    ok = np.array([0.0, 1.0, 0.5])
    run("binary_cross_entropy", ok, ok[::-1].copy())
    for bad, shown in ((1.5, "1.5"), (-0.5, "-0.5"), (np.nan, "nan"), (1.0 + 2**-52, "1.0000000000000002")):
        arr = np.array([0.5, bad, 0.25])
        for i, arg in enumerate(("input", "target")):
            pair = [ok, ok]
            pair[i] = arr
            _refused(f"binary_cross_entropy: {arg}: expected every element in [0.0, 1.0], got {shown} at index (1,)",
                     run, "binary_cross_entropy", *pair)
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 2.0])
    got = run("gaussian_nll_loss", x, y, var=np.array([0.0, np.nan, 2.0]))
    assert all(np.isnan(np.asarray(v)[1]) for v in (got.values() if back else [got]))
    _refused("gaussian_nll_loss: var: expected every element in [0.0, inf), got -1e-300 at index (1,)",
             run, "gaussian_nll_loss", x, y, var=np.array([1.0, -1e-300, 2.0]))
    _refused("gaussian_nll_loss: var: expected shape (3,)", run, "gaussian_nll_loss", x, y, var=np.ones(4))
    run("smooth_l1_loss", x, y, beta=0.0)
    _refused("smooth_l1_loss: beta: expected a value in [0.0, inf), got -1e-300", run, "smooth_l1_loss", x, y,
             beta=-1e-300)
    run("huber_loss", x, y, delta=1e-300)
    _refused("huber_loss: delta: expected a value in (0.0, inf), got 0.0", run, "huber_loss", x, y, delta=0.0)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_every_loss_result_and_gradient_has_the_inputs_dtype_and_shape(dtype: str) -> None:
    # A loss and each of its gradients come back in the input's dtype and shape (reduction
    # 'none'), or as a 0-d array of that dtype ('mean', 'sum'), as torch's do.  The kernels with
    # elementary functions work in extended precision (float64 inputs as longdouble); a result not
    # rounded back to the input's dtype shows here.  Kills `blocked(..., _rt.ext, None)` for a
    # backward whose reference is the input.
    x, p, lab = _inputs(40, "float64")
    x, p, lab = x.astype(dtype), p.astype(dtype), lab.astype(dtype)
    for name, args, params in _calls(x, p, lab):
        fwd, bwd = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        for reduction, g in (("none", np.ones(x.shape, dtype)), ("mean", np.asarray(1.0, dtype)),
                             ("sum", np.asarray(1.0, dtype))):
            out = fwd(*args, reduction=reduction, **params)
            assert out.dtype == np.dtype(dtype) and out.shape == (x.shape if reduction == "none" else ()), name
            for key, grad in bwd(g, *args, reduction=reduction, **params).items():
                shape = np.shape(params[key]) if key in params else x.shape
                assert isinstance(grad, np.ndarray), (name, key)
                assert grad.dtype == np.dtype(dtype) and grad.shape == shape, (name, key)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_a_broadcast_weight_scales_each_gradient_of_its_row(name: str) -> None:
    # torch broadcasts these losses' weight (a (2, 1) column against (2, 3) inputs); the backward
    # must take it as the forward does.  Weights are powers of two, so w·(dl/dx) is exact and
    # the weighted gradients are the unweighted ones scaled row by row, bit for bit.  Kills
    # weight_layout='broadcast' dropped or changed in the backward's unreduce_grad (the weight
    # is then refused for not having input's shape).
    x = np.array([[0.25, 0.5, 0.75], [0.125, 0.5, 0.875]])
    t = np.array([[0.0, 1.0, 0.5], [1.0, 0.25, 0.0]])
    w = np.array([[2.0], [0.5]])
    f, b = getattr(nnref, name), getattr(nnref, f"{name}_backward")
    g = np.array([[1.0, -2.0, 0.5], [4.0, 1.0, -1.0]])
    plain = b(g, x, t, reduction="none")
    weighted = b(g, x, t, weight=w, reduction="none")
    assert set(weighted) == {"input", "target"}
    for k in plain:
        assert same_bits(weighted[k], plain[k] * w), k
    assert same_bits(f(x, t, weight=w, reduction="none"), f(x, t, reduction="none") * w)
    # 'mean' divides by the element count (6), not by the weights' sum (torch's rule for these)
    assert same_bits(b(np.asarray(6.0), x, t, weight=w)["input"], b(np.ones((2, 3)), x, t, reduction="none")["input"] * w)


# ----------------------------------------------------------------------------- gaussian_nll_loss near eps


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_and_its_gradients_on_both_sides_of_eps(full: bool) -> None:
    # torch clamps var at eps in place, without recording it for autograd, so below eps the
    # loss and its gradients are those at var = eps, and d/dvar is still 1/(2 eps) - (x - y)^2/(2 eps^2)
    # (not 0).  Expected values from the definition in mpmath: with v = max(eps, var),
    # loss = (log v + (x - y)^2 / v)/2 (+ log(2 pi)/2 with full=True),
    # d/dinput = (x - y)/v = -d/dtarget, d/dvar = 1/(2v) - (x - y)^2/(2 v^2).
    # Kills the mutants of the var gradient's clamped branch (its condition, its constants,
    # epsilon ** 2) in gaussian_nll_loss_vjp and _full_vjp.
    eps = 0.25
    xs, ys, vs = [1.5, -0.5, 0.0], [0.25, 0.75, 0.0], [0.0, 0.125, 0.25, 0.5, 3.0]
    cases = [(a, b, v) for a in xs for b in ys for v in vs]
    x, y, var = (np.array(c) for c in zip(*cases))
    got = nnref.gaussian_nll_loss(x, y, var, full=full, eps=eps, reduction="none")
    grads = nnref.gaussian_nll_loss_backward(np.ones_like(x), x, y, var, full=full, eps=eps, reduction="none")
    mpmath.mp.dps = 40
    want: dict[str, list[float]] = {"loss": [], "input": [], "target": [], "var": []}
    for a, b, v in cases:
        v = max(mpmath.mpf(eps), mpmath.mpf(v))
        d = mpmath.mpf(a) - mpmath.mpf(b)
        want["loss"].append(float((mpmath.log(v) + d * d / v) / 2 + (mpmath.log(2 * mpmath.pi) / 2 if full else 0)))
        want["input"].append(float(d / v))
        want["target"].append(float(-d / v))
        want["var"].append(float(1 / (2 * v) - d * d / (2 * v * v)))
    assert_close(got, np.array(want["loss"]), *TOL64, "gaussian_nll_loss")
    for k in ("input", "target", "var"):
        assert_close(grads[k], np.array(want[k]), *TOL64, f"gaussian_nll_loss d/d{k}")


def test_binary_cross_entropy_with_logits_target_gradient_with_pos_weight_two() -> None:
    # d/dtarget of pos_weight·y·softplus(-x) + (1 - y)·softplus(x) is pos_weight·softplus(-x) - softplus(x)
    # (mpmath); pos_weight == 1 alone takes the shortcut -x.  Kills the mutant that sends pos_weight == 2
    # down that shortcut (numpy.equal(p_w, 2)).
    x = np.array([-3.0, -0.5, 0.0, 0.75, 4.0])
    y = np.array([0.0, 0.25, 0.5, 1.0, 0.75])
    got = nnref.binary_cross_entropy_with_logits_backward(np.ones_like(x), x, y, pos_weight=np.asarray(2.0),
                                                          reduction="none")["target"]
    mpmath.mp.dps = 40
    want = [float(2 * mpmath.log1p(mpmath.exp(-mpmath.mpf(a))) - mpmath.log1p(mpmath.exp(mpmath.mpf(a)))) for a in x]
    assert_close(got, np.array(want), *TOL64, "binary_cross_entropy_with_logits d/dtarget, pos_weight=2")


# A beta above 0 that float32 cannot hold (1e-300, 1e-46) is 0 for a float32 call, as torch takes a
# Python scalar: the loss must then be the beta = 0 variant (l1, whose derivative at
# input == target is 0 by the declared convention).  The dispatch once tested the float64 beta, and
# the beta > 0 kernel's "|input - target| == beta" convention (±1) fired at input == target.
# Kills nothing new: it pins the bug that smooth_l1_vjp's mutants 11, 12, 13, 33 and 66 showed.
@pytest.mark.parametrize("beta", [1e-300, 1e-46])
def test_a_beta_that_rounds_to_zero_in_float32_is_the_beta_zero_loss(beta: float) -> None:
    x = np.array([2.0, 0.5, -1.0], dtype=np.float32)
    y = np.array([2.0, 0.5, 1.0], dtype=np.float32)
    g = np.ones(3, dtype=np.float32)
    got = nnref.smooth_l1_loss_backward(g, x, y, reduction="none", beta=beta)
    # d|x - y|/dx: 0 where x == y (the convention), sign(x - y) elsewhere
    assert got["input"].tolist() == [0.0, 0.0, -1.0]
    assert got["target"].tolist() == [0.0, 0.0, 1.0]
    assert nnref.smooth_l1_loss(x, y, reduction="none", beta=beta).tolist() == [0.0, 0.0, 2.0]
