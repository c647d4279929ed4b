"""Initialisation against torch.nn.init, and against the laws it promises.

* The scale: torch's own initialiser runs while ``Tensor.uniform_`` / ``Tensor.normal_``
  record the bound or std they receive; nnref, run on a generator with a known seed,
  must equal that bound or std times the generator's standard draws (NumPy's
  ``uniform(low, high)`` is ``low + (high - low)·random()``, ``normal(0, s)`` is
  ``s·standard_normal()``), for many shapes, modes, slopes and gains.
* The law: a fixed-seed sample of 100 000 values passes a Kolmogorov-Smirnov test at
  α = 1e-3 against the promised distribution, and the same sample is rejected against the
  law with a spread 5% off (a stated power, shown on the very sample, so the test can fail).
* E2: the 68 / 95 / 99.7% fractions of Xavier's normal law, exactly (erf) and by sampling.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pytest
import torch

import nnref
from nnref import init
from nnref._generated.catalog import CATALOG

SHAPES = [(3, 2), (2, 3), (1, 1), (64, 10), (10, 64), (8, 3, 5), (4, 2, 3, 3), (6, 1, 2, 2, 2), (16, 4, 7)]
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


class Capture:
    """Records the (low, high) or (mean, std) each Tensor.uniform_ / Tensor.normal_ call
    receives, by wrapping the two methods while active (torch.nn.init calls them last)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[float, ...]]] = []
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> Capture:
        for name in ("uniform_", "normal_"):
            method = getattr(torch.Tensor, name)
            self._saved[name] = method

            def wrapper(t: Any, *args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
                self.calls.append((_name, tuple(float(v) for v in args[:2])))
                return _method(t, *args, **kwargs)

            setattr(torch.Tensor, name, wrapper)
        return self

    def __exit__(self, *exc: Any) -> None:
        for name, method in self._saved.items():
            setattr(torch.Tensor, name, method)


def torch_scale(fn: Any, shape: tuple[int, ...], **kwargs: Any) -> tuple[str, tuple[float, ...]]:
    with Capture() as cap:
        fn(torch.empty(shape, dtype=torch.float64), **kwargs)
    assert len(cap.calls) == 1, cap.calls
    return cap.calls[0]


def nnref_draw(fn: Any, shape: tuple[int, ...], seed: int, **kwargs: Any) -> np.ndarray:
    return fn(shape, **kwargs, rng=np.random.default_rng(seed))


def expected_from(kind: str, args: tuple[float, ...], shape: tuple[int, ...], seed: int) -> np.ndarray:
    gen = np.random.default_rng(seed)
    if kind == "uniform_":
        low, high = args
        return low + (high - low) * gen.random(shape)
    mean, std = args
    return mean + std * gen.standard_normal(shape)


KAIMING = [(shape, a, mode, nl) for shape in SHAPES for mode in ("fan_in", "fan_out")
           for nl, a in (("leaky_relu", 0.0), ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0.2), ("relu", 0.0),
                         ("tanh", 0.0), ("linear", 0.0), ("selu", 0.0), ("sigmoid", 0.0))]


@pytest.mark.parametrize("name", ["kaiming_uniform", "kaiming_normal"])
@pytest.mark.parametrize("shape,a,mode,nl", KAIMING)
def test_kaiming_scale_is_torchs(name: str, shape: tuple[int, ...], a: float, mode: str, nl: str) -> None:
    kind, args = torch_scale(getattr(torch.nn.init, name + "_"), shape, a=a, mode=mode, nonlinearity=nl)
    got = nnref_draw(getattr(init, name), shape, 5, a=a, mode=mode, nonlinearity=nl)
    np.testing.assert_allclose(got, expected_from(kind, args, shape, 5), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", ["xavier_uniform", "xavier_normal"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 0.5, math.sqrt(2), 5 / 3])
def test_xavier_scale_is_torchs(name: str, shape: tuple[int, ...], gain: float) -> None:
    kind, args = torch_scale(getattr(torch.nn.init, name + "_"), shape, gain=gain)
    got = nnref_draw(getattr(init, name), shape, 11, gain=gain)
    np.testing.assert_allclose(got, expected_from(kind, args, shape, 11), rtol=1e-14, atol=0)


@pytest.mark.parametrize("module", [lambda: torch.nn.Linear(7, 3), lambda: torch.nn.Linear(1, 4),
                                    lambda: torch.nn.Conv1d(3, 5, 4), lambda: torch.nn.Conv2d(2, 6, (3, 2)),
                                    lambda: torch.nn.Conv3d(1, 2, 2), lambda: torch.nn.Conv2d(4, 4, 3, groups=2)])
def test_default_layer_initialisation_is_torchs(module: Any) -> None:
    layer = module().double()
    with Capture() as cap:
        layer.reset_parameters()
    (wk, wargs), (bk, bargs) = cap.calls
    shape = tuple(layer.weight.shape)
    np.testing.assert_allclose(nnref_draw(init.default_weight, shape, 3), expected_from(wk, wargs, shape, 3),
                               rtol=1e-14, atol=0)
    fan_in, _ = init.fan_in_and_fan_out(shape)
    bias = init.default_bias(tuple(layer.bias.shape), fan_in, rng=np.random.default_rng(4))
    np.testing.assert_allclose(bias, expected_from(bk, bargs, tuple(layer.bias.shape), 4), rtol=1e-14, atol=0)
    # the a = √5 story: the weight's bound is 1/√fan_in
    assert wargs[1] == pytest.approx(1 / math.sqrt(fan_in), rel=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_are_torchs(shape: tuple[int, ...]) -> None:
    assert init.fan_in_and_fan_out(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("nl", NONLINEARITIES)
@pytest.mark.parametrize("param", [None, 0.0, 0.2, 1.0, 3.0])
def test_calculate_gain_is_torchs(nl: str, param: float | None) -> None:
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=4e-16)


def test_uniform_normal_constant_are_torchs() -> None:
    for fn, kw in ((init.uniform, {"a": -0.3, "b": 2.0}), (init.normal, {"mean": 1.5, "std": 0.25})):
        kind, args = torch_scale(getattr(torch.nn.init, fn.__name__ + "_"), (4, 5), **kw)
        np.testing.assert_array_equal(nnref_draw(fn, (4, 5), 9, **kw), expected_from(kind, args, (4, 5), 9))
    assert np.array_equal(init.constant((2, 3), -0.5), torch.nn.init.constant_(torch.empty(2, 3), -0.5).numpy())
    assert np.array_equal(init.zeros((2, 3)), np.zeros((2, 3))) and np.array_equal(init.ones((3,)), np.ones(3))


# --- the laws ------------------------------------------------------------------------------

N = 100_000
KS_CRITICAL = 1.9495 / math.sqrt(N)  # Kolmogorov's asymptotic critical value at α = 1e-3
_erf = np.vectorize(math.erf)


def normal_cdf(x: np.ndarray, std: float, mean: float = 0.0) -> np.ndarray:
    return 0.5 * (1 + _erf((x - mean) / (std * math.sqrt(2))))


def uniform_cdf(x: np.ndarray, bound: float) -> np.ndarray:
    return np.clip((x + bound) / (2 * bound), 0, 1)


def ks_distance(sample: np.ndarray, cdf: Any) -> float:
    x = np.sort(sample.ravel())
    f = cdf(x)
    n = x.size
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


# (initialiser, keyword arguments, shape of 100 000 values, law, promised spread from the
# variance target written out here by hand)
LAWS = [
    (init.xavier_uniform, {}, (400, 250), "uniform", math.sqrt(6 / 650)),
    (init.xavier_normal, {"gain": 2.0}, (400, 250), "normal", 2 * math.sqrt(2 / 650)),
    (init.kaiming_uniform, {"nonlinearity": "relu"}, (500, 200), "uniform", math.sqrt(3 * 2 / 200)),
    (init.kaiming_normal, {"nonlinearity": "relu", "mode": "fan_out"}, (200, 50, 10), "normal", math.sqrt(2 / 2000)),
    (init.default_weight, {}, (100, 100, 10), "uniform", 1 / math.sqrt(1000)),
    (init.normal, {"std": 0.3}, (N,), "normal", 0.3),
    (init.uniform, {"a": -0.7, "b": 0.7}, (N,), "uniform", 0.7),
]


@pytest.mark.parametrize("fn,kwargs,shape,law,spread", LAWS, ids=[f"{f.__name__}-{k}" for f, k, *_ in LAWS])
def test_sample_follows_the_law_with_stated_power(fn: Any, kwargs: dict[str, Any], shape: tuple[int, ...],
                                                  law: str, spread: float) -> None:
    """Fixed seed, so the outcome is fixed; the second assertion shows this sample is large
    enough to reject a spread 5% off (the KS distance between the laws is ≈ 0.012 for the
    normal and 0.024 for the uniform, against a critical value of 0.0062)."""
    sample = fn(shape, **kwargs, rng=np.random.default_rng(2024))
    assert sample.size == N
    cdf = normal_cdf if law == "normal" else uniform_cdf
    assert ks_distance(sample, lambda x: cdf(x, spread)) < KS_CRITICAL
    assert ks_distance(sample, lambda x: cdf(x, 1.05 * spread)) > KS_CRITICAL


def test_trunc_normal_follows_its_law() -> None:
    mean, std, a, b = 0.5, 1.5, -1.0, 2.5
    sample = init.trunc_normal((N,), mean, std, a, b, rng=np.random.default_rng(5))
    assert sample.min() >= a and sample.max() <= b
    lo, hi = normal_cdf(np.array(a), std, mean), normal_cdf(np.array(b), std, mean)

    def cdf(x: np.ndarray, s: float = std) -> np.ndarray:
        lo_, hi_ = normal_cdf(np.array(a), s, mean), normal_cdf(np.array(b), s, mean)
        return (normal_cdf(x, s, mean) - lo_) / (hi_ - lo_)

    assert hi > lo
    assert ks_distance(sample, cdf) < KS_CRITICAL
    assert ks_distance(sample, lambda x: cdf(x, 1.15 * std)) > KS_CRITICAL


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (2, 3, 2), (6, 2, 2)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape: tuple[int, ...]) -> None:
    q = init.orthogonal(shape, gain=1.5, rng=np.random.default_rng(1)).reshape(shape[0], -1)
    gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(gram, 2.25 * np.eye(gram.shape[0]), atol=1e-13)
    torch_q = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=1.5).reshape(shape[0], -1)
    assert np.allclose((torch_q @ torch_q.T if q.shape[0] <= q.shape[1] else torch_q.T @ torch_q).numpy(), gram)


def test_e2_fractions_exactly_and_by_sampling() -> None:
    """Xavier normal for n_in = 3, n_out = 2: Var = 0.4; P(|w| < k·std) = erf(k/√2)."""
    exact = [math.erf(k / math.sqrt(2)) for k in (1, 2, 3)]
    assert [round(100 * p, 1) for p in exact] == [68.3, 95.4, 99.7]
    rng = np.random.default_rng(0)
    draws = np.concatenate([init.xavier_normal((2, 3), rng=rng).ravel() for _ in range(20_000)])
    std = math.sqrt(0.4)
    assert draws.var() == pytest.approx(0.4, rel=0.02)
    for k, p in zip((1, 2, 3), exact):
        frac = float(np.mean(np.abs(draws) < k * std))
        # 5 binomial standard deviations of a fraction over 120 000 draws
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / draws.size), (k, frac, p)


def test_signatures_match_the_catalog() -> None:
    for meta in (m for m in CATALOG if m["family"] == "init"):
        fn = getattr(init, meta["name"])
        params = inspect.signature(fn).parameters
        for p in meta["params"]:
            default = params[p["name"]].default
            # the catalog writes None for a required parameter and for a default of None
            want = None if default is inspect.Parameter.empty else default
            assert want == p["default"], (meta["name"], p["name"])


@pytest.mark.parametrize("call,words", [
    (lambda: init.xavier_uniform((3,), rng=np.random.default_rng(0)), ["xavier_uniform", "shape", "at least 2", "(3,)"]),
    (lambda: init.kaiming_normal((3, 2), mode="fan", rng=np.random.default_rng(0)), ["kaiming_normal", "mode", "fan"]),
    (lambda: init.normal((3, 2), rng=0), ["normal", "rng", "numpy.random.Generator", "int"]),
    (lambda: init.calculate_gain("gelu"), ["calculate_gain", "nonlinearity", "gelu"]),
    (lambda: init.uniform((2,), a=1.0, b=0.0, rng=np.random.default_rng(0)), ["uniform", "b", ">= a", "0.0"]),
])
def test_errors_name_the_argument(call: Any, words: list[str]) -> None:
    with pytest.raises(nnref.NNRefError) as exc:
        call()
    for w in words:
        assert w in str(exc.value)


def test_spreads_and_gains_are_proved() -> None:
    from derivations.ops.init import OPS
    from derivations.proofs.init import prove_gains, prove_init

    proofs = [p for op in OPS for p in prove_init(op)] + prove_gains()
    assert len(proofs) == 2 * 6 + 3
    assert all(p.holds for p in proofs), [p for p in proofs if not p.holds]
