"""Planted bugs: one adapter per real bug from a framework's history, each a correct
implementation (nnref's own, or a plain NumPy formula) with that one defect put back.

Each ``Bug`` names the op, the regime that triggers it, the report it reproduces (the
thread's address; the plant reproduces the symptom, not always the original code) and the
plant itself: a replacement forward, a replacement VJP, or both.  ``Planted(bug)`` is a
conformance adapter (``nnref.conformance.check.Adapter``) that provides the bug's op alone.
tests/test_planted_bugs.py runs every one through the default profile and requires it
caught, and requires each plant to agree with nnref somewhere (it is a bug, not noise).

Owns: ``BUGS``, ``Planted``.  Imports: NumPy, ``nnref``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import nnref

Arrays = dict[str, Any]
Forward = Callable[[Arrays, Arrays], Any]
Vjp = Callable[[Arrays, Arrays, np.ndarray], Arrays]


@dataclass(frozen=True)
class Bug:
    name: str
    op: str
    regime: str
    cite: str
    forward: Forward | None = None
    vjp: Vjp | None = None


def ref(op: str, i: Arrays, p: Arrays) -> Any:
    return nnref.get_op(op).forward(**i, **p)


def grads(op: str, g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    backward = nnref.get_op(op).backward
    assert backward is not None
    with np.errstate(all="ignore"):
        return dict(backward(g, **i, **p))


def like(x: np.ndarray, v: Any) -> np.ndarray:
    return np.asarray(v).astype(np.asarray(x).dtype)


def reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return loss
    return np.asarray(loss.sum() if reduction == "sum" else loss.mean(), dtype=loss.dtype)


def pick(i: Arrays, p: Arrays, name: str, default: Any) -> Any:
    return p.get(name, default) if name not in i else i[name]


BUGS: list[Bug] = []


def bug(name: str, op: str, regime: str, cite: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the plant: named ``forward`` or ``vjp`` by its
    first parameter's name (``i`` for a forward, ``g`` first for a VJP)."""
    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        kind = "vjp" if f.__code__.co_varnames[0] == "g" else "forward"
        BUGS.append(Bug(name, op, regime, cite, **{kind: (lambda i, p, *g: f(*g, i, p)) if kind == "vjp" else f}))
        return f
    return register


# ----------------------------------------------------------------------------- activations


@bug("sigmoid-grad-overflow", "sigmoid", "large negative x: e^-x overflows, inf/inf",
     "https://github.com/huggingface/candle/pull/1722")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    with np.errstate(all="ignore"):
        e = np.exp(-x)
        return {"input": like(x, g * e / (1 + e) ** 2)}


@bug("relu-tie-half", "relu", "x = 0: max(x, 0) splits the tie, relu'(0) = 1/2",
     "https://github.com/jax-ml/jax/pull/2342")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    return {"input": like(x, g * np.where(x > 0, 1.0, np.where(x == 0, 0.5, 0.0)))}


@bug("relu6-tie-half", "relu6", "x = 0 and x = 6: min/max split the ties",
     "https://github.com/jax-ml/jax/pull/14682")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    inside = (x > 0) & (x < 6)
    return {"input": like(x, g * np.where(inside, 1.0, np.where((x == 0) | (x == 6), 0.5, 0.0)))}


@bug("leaky-relu-mask-from-output", "leaky_relu", "negative_slope < 0: the output's sign no longer tells the branch",
     "https://github.com/pytorch/pytorch/issues/31938")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x, slope = i["input"], p.get("negative_slope", 0.01)
    out = nnref.leaky_relu(x, slope)
    return {"input": like(x, g * np.where(out > 0, 1.0, slope))}


@bug("rrelu-random-in-eval", "rrelu", "training=False: slopes still drawn at random",
     "https://github.com/pytorch/pytorch/pull/82678")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    slope = np.random.default_rng().uniform(p.get("lower", 0.125), p.get("upper", 1 / 3), x.shape)
    return like(x, np.where(x >= 0, x, slope * x))


@bug("selu-negative-branch", "selu", "x <= 0: (out + alpha)·scale instead of out + scale·alpha",
     "https://github.com/RubixML/ML/pull/427")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    out = nnref.selu(x)
    return {"input": like(x, g * np.where(x > 0, scale, (out + alpha) * scale))}


@bug("gelu-tanh-backward-uses-erf", "gelu", "approximate='tanh': the backward ignores it",
     "https://github.com/kulinseth/pytorch/pull/284")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    return grads("gelu", g, i, {**p, "approximate": "none"})


@bug("gelu-half-precision-table", "gelu", "every input: rounded to float16 before evaluation",
     "https://github.com/ggml-org/llama.cpp/issues/29252")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    with np.errstate(all="ignore"):
        return like(x, ref("gelu", {"input": x.astype(np.float16).astype(x.dtype)}, p))


@bug("softplus-backward-tests-output", "softplus", "beta != 1 near the threshold: out·beta > threshold tested",
     "https://github.com/pytorch/pytorch/issues/55587")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x, beta, threshold = i["input"], p.get("beta", 1.0), p.get("threshold", 20.0)
    out = nnref.softplus(x, beta, threshold)
    smooth = grads("softplus", g, i, {**p, "threshold": math.inf})["input"]
    return {"input": like(x, np.where(out * beta > threshold, g, smooth))}


@bug("softplus-linear-branch-times-beta", "softplus", "beta != 1: linear branch x·beta, switch at x > threshold",
     "https://github.com/brainpy/BrainPy/issues/580")
def _(i: Arrays, p: Arrays) -> Any:
    x, beta, threshold = i["input"], p.get("beta", 1.0), p.get("threshold", 20.0)
    return like(x, np.where(x > threshold, x * beta, nnref.softplus(x, beta, math.inf)))


@bug("softplus-no-threshold", "softplus", "large beta·x: log1p(exp(beta·x)) overflows; no linear branch",
     "https://github.com/tracel-ai/burn/issues/5373")
def _(i: Arrays, p: Arrays) -> Any:
    x, beta = i["input"], p.get("beta", 1.0)
    with np.errstate(all="ignore"):
        return like(x, np.log1p(np.exp(beta * x)) / beta)


@bug("hardtanh-closed-interval", "hardtanh", "x = min_val or max_val: the gradient passes",
     "https://github.com/torch/nn/pull/1180")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    return {"input": like(x, g * ((x >= p.get("min_val", -1.0)) & (x <= p.get("max_val", 1.0))))}


@bug("hardsigmoid-closed-interval", "hardsigmoid", "x = ±3: slope 1/6 kept at the ends",
     "https://github.com/pytorch/pytorch/issues/49922")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    return {"input": like(x, g * np.where((x >= -3) & (x <= 3), 1 / 6, 0.0))}


@bug("hardswish-boundaries", "hardswish", "x = ±3: the middle formula used at both ends (-0.5 and 1.5)",
     "https://github.com/pytorch/pytorch/issues/147801")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    return {"input": like(x, g * np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0)))}


@bug("hardswish-rounded-slope", "hardswish", "-3 < x < 3: slope constant 0.3333 for 1/3",
     "https://github.com/tenstorrent/tt-metal/issues/55291")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    d = grads("hardswish", g, i, p)["input"]
    return {"input": like(x, np.where((x > -3) & (x < 3), g * (x * 0.3333 + 0.5), d))}


@bug("logsigmoid-naive", "logsigmoid", "large negative x: -log1p(exp(-x)) overflows to -inf",
     "https://github.com/pytorch/pytorch/issues/20972")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    with np.errstate(all="ignore"):
        return like(x, -np.log1p(np.exp(-x)))


@bug("hardshrink-open-band", "hardshrink", "x = ±lambd: kept instead of zeroed",
     "https://github.com/BobMcDear/attorch/issues/15")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    return like(x, np.where(np.abs(x) < p.get("lambd", 0.5), 0.0, x))


@bug("threshold-inverted-mask", "threshold", "every input: the gradient kept where x <= threshold",
     "https://github.com/pytorch/pytorch/issues/1860")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    return {"input": like(x, g * (x <= p["threshold"]))}


@bug("threshold-mask-from-output", "threshold", "value > threshold: replaced entries look like kept ones",
     "https://github.com/pytorch/pytorch/pull/85634")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    out = nnref.threshold(x, p["threshold"], p["value"])
    return {"input": like(x, g * (out > p["threshold"]))}


@bug("prelu-weight-on-last-axis", "prelu", "per-channel weight: indexed along the last axis, not axis 1",
     "https://github.com/flagos-ai/FlagGems/issues/4992")
def _(i: Arrays, p: Arrays) -> Any:
    x, w = i["input"], np.asarray(i["weight"])
    if w.size == 1 or x.ndim < 2 or x.size == 0:
        return ref("prelu", i, p)
    w_last = w[np.arange(x.shape[-1]) % w.size]
    return like(x, np.where(x > 0, x, w_last * x))


@bug("prelu-mask-from-output", "prelu", "negative weight, x < 0: the output is positive and the branch is lost",
     "https://github.com/PaddlePaddle/Paddle/pull/12538")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x = i["input"]
    out = nnref.prelu(x, i["weight"])
    right = grads("prelu", g, i, p)
    return {**right, "input": like(x, np.where((out > 0) & (x <= 0), g, right["input"]))}


# ----------------------------------------------------------------------------- elementwise losses


def _scale(g: np.ndarray, x: np.ndarray, p: Arrays) -> np.ndarray:
    """d(reduced loss)/d(elementwise loss): the upstream gradient spread by the reduction."""
    r = p.get("reduction", "mean")
    if r == "none":
        return np.asarray(g, dtype=np.float64)
    return np.full(x.shape, float(g) / (max(x.size, 1) if r == "mean" else 1))


@bug("mse-none-still-reduced", "mse_loss", "reduction='none': the mean is returned anyway",
     "https://github.com/pytorch/pytorch/issues/10009")
def _(i: Arrays, p: Arrays) -> Any:
    return ref("mse_loss", i, {**p, "reduction": "mean"}) if p.get("reduction") == "none" else ref("mse_loss", i, p)


@bug("l1-sign-at-zero", "l1_loss", "input = target: sign taken as +1 (>= 0) instead of 0",
     "https://github.com/pytorch/pytorch/issues/7172")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x, t = i["input"], i["target"]
    right = grads("l1_loss", g, i, p)
    plus = grads("l1_loss", g, {**i, "input": np.where(x == t, t + 1, x)}, p)
    return {k: like(v, np.where(x == t, plus[k], v)) if k == "input" else v for k, v in right.items()}


@bug("smooth-l1-beta0-divides", "smooth_l1_loss", "beta = 0 and input = target: diff/beta = 0/0",
     "https://github.com/pytorch/pytorch/issues/96813")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x, t = i["input"], i["target"]
    right = grads("smooth_l1_loss", g, i, p)
    if p.get("beta", 1.0) == 0:
        right["input"] = like(x, np.where(x == t, np.nan, right["input"]))
    return right


@bug("huber-one-sided", "huber_loss", "input - target < -delta: the quadratic branch kept",
     "https://github.com/marlbenchmark/on-policy/issues/47")
def _(i: Arrays, p: Arrays) -> Any:
    x, t, delta = i["input"], i["target"], p.get("delta", 1.0)
    e = x - t
    loss = np.where(e > delta, delta * (np.abs(e) - 0.5 * delta), 0.5 * e * e)
    if p.get("weight") is not None:
        loss = loss * p["weight"]
    return like(x, reduce(loss, p.get("reduction", "mean")))


@bug("bce-clipped-probabilities", "binary_cross_entropy", "input near 0 or 1: clipped to [1e-7, 1 - 1e-7]",
     "https://github.com/keras-team/keras/issues/9664")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    return like(x, ref("binary_cross_entropy", {**i, "input": np.clip(x, 1e-7, 1 - 1e-7)}, p))


@bug("bce-logits-abs-at-zero", "binary_cross_entropy_with_logits", "logit exactly 0: abs'(0) = 0 drops the sigmoid",
     "https://github.com/pytorch/pytorch/issues/2298")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x, t = i["input"], i["target"]
    right = grads("binary_cross_entropy_with_logits", g, i, p)
    s = _scale(g, x, p) * (1.0 if p.get("weight") is None else np.asarray(p["weight"]))
    right["input"] = like(x, np.where(x == 0, s * (1 - t), right["input"]))
    return right


@bug("bce-logits-pos-weight-dropped", "binary_cross_entropy_with_logits", "pos_weight given: it is ignored",
     "https://github.com/PaddlePaddle/Paddle/pull/65859")
def _(i: Arrays, p: Arrays) -> Any:
    return ref("binary_cross_entropy_with_logits", i, {**p, "pos_weight": None})


@bug("kl-batchmean-over-elements", "kl_div", "reduction='batchmean': divided by every element, not the batch",
     "https://github.com/pytorch/pytorch/pull/14457")
def _(i: Arrays, p: Arrays) -> Any:
    r = p.get("reduction", "mean")
    return ref("kl_div", i, {**p, "reduction": "mean" if r == "batchmean" else r})


def _stirling(t: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)


@bug("poisson-full-no-stirling", "poisson_nll_loss", "full=True: the Stirling term left out",
     "https://github.com/pytorch/pytorch/issues/28575")
def _(i: Arrays, p: Arrays) -> Any:
    return ref("poisson_nll_loss", i, {**p, "full": False})


@bug("poisson-stirling-mask", "poisson_nll_loss", "full=True: Stirling term masked on its own value, not target <= 1",
     "https://github.com/PaddlePaddle/Paddle/issues/56733")
def _(i: Arrays, p: Arrays) -> Any:
    if not p.get("full", False):
        return ref("poisson_nll_loss", i, p)
    t = i["target"]
    base = ref("poisson_nll_loss", i, {**p, "full": False, "reduction": "none"})
    st = _stirling(t)
    return like(base, reduce(base + np.where(st > 1, st, 0.0), p.get("reduction", "mean")))


@bug("poisson-rate-without-eps", "poisson_nll_loss", "log_input=False, input 0: log(input) without eps",
     "https://github.com/pytorch/pytorch/pull/3336")
def _(i: Arrays, p: Arrays) -> Any:
    if p.get("log_input", True):
        return ref("poisson_nll_loss", i, p)
    x, t = i["input"], i["target"]
    with np.errstate(all="ignore"):
        loss = x - t * np.log(x)
        if p.get("full", False):
            loss = loss + np.where(t > 1, _stirling(t), 0.0)
    return like(x, reduce(loss, p.get("reduction", "mean")))


@bug("gaussian-nll-none-summed", "gaussian_nll_loss", "reduction='none' on (N, D): summed over D",
     "https://github.com/pytorch/pytorch/pull/56469")
def _(i: Arrays, p: Arrays) -> Any:
    out = ref("gaussian_nll_loss", i, p)
    return out.sum(axis=-1) if p.get("reduction") == "none" and np.ndim(out) >= 2 else out


@bug("hinge-mask-misaligned", "hinge_embedding_loss", "target -1: the zeroing mask read one entry off",
     "https://github.com/pytorch/pytorch/pull/3773")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    x, t, margin = i["input"], i["target"], p.get("margin", 1.0)
    s = _scale(g, x, p)
    shifted = np.roll(x.reshape(-1), 1).reshape(x.shape)
    return {"input": like(x, np.where(t == 1, s, np.where(shifted < margin, -s, 0.0)))}


@bug("soft-margin-naive", "soft_margin_loss", "large -target·input: log(1 + exp(.)) overflows",
     "https://github.com/tracel-ai/burn/pull/5374")
def _(i: Arrays, p: Arrays) -> Any:
    x, t = i["input"], i["target"]
    with np.errstate(all="ignore"):
        return like(x, reduce(np.log(1 + np.exp(-t * x)), p.get("reduction", "mean")))


@bug("cosine-margin-not-checked", "cosine_embedding_loss", "target -1 with cos below the margin: gradient kept",
     "https://github.com/torch/nn/pull/169")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    return grads("cosine_embedding_loss", g, i, {**p, "margin": -2.0})


# ----------------------------------------------------------------------------- rows and classes


@bug("softmax-odd-tail-dropped", "softmax", "odd length along dim: the last entry left out of the sum",
     "https://github.com/pytorch/pytorch/issues/147284")
def _(i: Arrays, p: Arrays) -> Any:
    x, dim = i["input"], p.get("dim", -1)
    if x.ndim == 0 or x.shape[dim] < 3 or x.shape[dim] % 2 == 0:
        return ref("softmax", i, p)
    with np.errstate(all="ignore"):
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        head = np.delete(e, -1, axis=dim)
        return like(x, e / head.sum(axis=dim, keepdims=True))


@bug("log-softmax-unshifted-sum", "log_softmax", "large magnitudes: x - (max + log Σ) rounds the max first",
     "https://github.com/pytorch/pytorch/issues/38839")
def _(i: Arrays, p: Arrays) -> Any:
    x, dim = i["input"], p.get("dim", -1)
    if x.size == 0:
        return ref("log_softmax", i, p)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=dim, keepdims=True)
        lse = np.log(np.exp(x - m).sum(axis=dim, keepdims=True))
        return like(x, x - (m + lse).astype(x.dtype))


@bug("linear-bias-dropped", "linear", "bias given: not added",
     "https://github.com/tenstorrent/tt-metal/issues/5237")
def _(i: Arrays, p: Arrays) -> Any:
    return ref("linear", {**i, "bias": None}, p)


def _ce_rows(x: np.ndarray, t: np.ndarray, w: np.ndarray, ii: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-row smoothed cross-entropy of a (N, C) input with the smoothing term taken over
    every row, ignored ones too (the bug), and the per-row weight of the denominator."""
    logp = nnref.log_softmax(x, dim=1)
    valid = t != ii
    safe = np.where(valid, t, 0)
    nll = -w[safe] * np.take_along_axis(logp, safe[:, None], 1)[:, 0] * valid
    smooth = -(w * logp).sum(axis=1) / x.shape[1]
    return (1 - eps) * nll + eps * smooth, w[safe] * valid


@bug("cross-entropy-smoothing-counts-ignored-rows", "cross_entropy",
     "label_smoothing with ignore_index: the smoothing term includes ignored rows",
     "https://github.com/pytorch/pytorch/issues/73205")
def _(i: Arrays, p: Arrays) -> Any:
    x, t = i["input"], np.asarray(i["target"])
    eps, ii = p.get("label_smoothing", 0.0), p.get("ignore_index", -100)
    if x.ndim != 2 or t.ndim != 1 or eps == 0 or not (t == ii).any():
        return ref("cross_entropy", i, p)
    w = np.ones(x.shape[1]) if p.get("weight") is None else np.asarray(p["weight"], dtype=np.float64)
    loss, denom = _ce_rows(x.astype(np.float64), t, w, ii, eps)
    r = p.get("reduction", "mean")
    return like(x, loss if r == "none" else loss.sum() / (denom.sum() if r == "mean" else 1))


@bug("nll-mean-over-batch", "nll_loss", "ignore_index or weights with reduction='mean': divided by the batch size",
     "https://github.com/pytorch/xla/pull/896")
def _(i: Arrays, p: Arrays) -> Any:
    if p.get("reduction", "mean") != "mean" or np.ndim(i["target"]) == 0:
        return ref("nll_loss", i, p)
    total = ref("nll_loss", i, {**p, "reduction": "sum"})
    return like(total, total / np.asarray(i["target"]).size)


@bug("nll-backward-stale-total-weight", "nll_loss", "ignore_index with reduction='mean': backward counts ignored rows",
     "https://github.com/pytorch/pytorch/issues/64163")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    right = grads("nll_loss", g, i, p)
    t = np.asarray(i["target"])
    if p.get("reduction", "mean") != "mean" or t.ndim == 0:
        return right
    w = np.ones(i["input"].shape[1]) if p.get("weight") is None else np.asarray(p["weight"], dtype=np.float64)
    ii = p.get("ignore_index", -100)
    kept = (w[np.where(t == ii, 0, t)] * (t != ii)).sum()
    every = w[np.where(t == ii, 0, t)].sum()
    return {**right, "input": like(right["input"], right["input"] * (kept / every if every else 1.0))}


# ----------------------------------------------------------------------------- windows


@bug("conv2d-groups-read-group-0", "conv2d", "groups > 1: every group reads the first group's input channels",
     "https://github.com/pytorch/pytorch/issues/19912")
def _(i: Arrays, p: Arrays) -> Any:
    x, groups = i["input"], p.get("groups", 1)
    if groups == 1:
        return ref("conv2d", i, p)
    per = x.shape[1] // groups
    return ref("conv2d", {**i, "input": np.concatenate([x[:, :per]] * groups, axis=1)}, p)


@bug("conv2d-weight-grad-last-row", "conv2d", "stride > 1: the last input row left out of the weight gradient",
     "https://github.com/pytorch/pytorch/issues/50042")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    right = grads("conv2d", g, i, p)
    stride = p.get("stride", 1)
    if max(np.atleast_1d(stride)) == 1 or "weight" not in right:
        return right
    x = i["input"].copy()
    x[..., -1, :] = 0
    return {**right, "weight": grads("conv2d", g, {**i, "input": x}, p)["weight"]}


def _transpose_bug(name: str) -> None:
    @bug(f"{name}-dilation-ignored", name, "stride > 1 with dilation > 1: the kernel's dilation dropped",
         "https://github.com/microsoft/onnxruntime/issues/2518")
    def _(i: Arrays, p: Arrays) -> Any:
        return ref(name, i, {**p, "dilation": 1})


_transpose_bug("conv_transpose2d")


@bug("conv-transpose2d-stride-grad-shift", "conv_transpose2d", "stride > 1: input gradient read one place off",
     "https://github.com/pytorch/pytorch/issues/63314")
def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
    right = grads("conv_transpose2d", g, i, p)
    if max(np.atleast_1d(p.get("stride", 1))) == 1:
        return right
    return {**right, "input": np.roll(right["input"], 1, axis=-1)}


def _out_len(n: int, k: int, s: int, pad: int, d: int, ceil: bool) -> tuple[int, bool]:
    """Output length of a pooling window axis, and whether the ceil rule's extra window was
    dropped for starting in the padding."""
    span = n + 2 * pad - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + pad:
        return out - 1, True
    return out, False


def _tuple(v: Any, d: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, tuple | list) else (int(v),) * d


def _max_pool_extra_window(name: str, d: int) -> None:
    @bug(f"{name}-ceil-keeps-window-in-padding", name, "ceil_mode: a last window starting in the padding is kept",
         "https://github.com/pytorch/pytorch/issues/45357")
    def _(i: Arrays, p: Arrays) -> Any:
        out = ref(name, i, p)
        values, idx = out if isinstance(out, tuple) else (out, None)
        if not p.get("ceil_mode", False):
            return out
        x = i["input"]
        k = _tuple(p["kernel_size"], d)
        s = _tuple(p.get("stride") or p["kernel_size"], d)
        pad, dil = _tuple(p.get("padding", 0), d), _tuple(p.get("dilation", 1), d)
        for axis in range(d):
            _, dropped = _out_len(x.shape[-d + axis], k[axis], s[axis], pad[axis], dil[axis], True)
            if dropped:
                widths = [(0, 0)] * values.ndim
                widths[values.ndim - d + axis] = (0, 1)
                values = np.pad(values, widths, constant_values=-np.inf)
                if idx is not None:
                    idx = np.pad(idx, widths, constant_values=0)
        return (values, idx) if idx is not None else values


for _n, _d in (("max_pool1d", 1), ("max_pool2d", 2)):
    _max_pool_extra_window(_n, _d)


@bug("max-pool2d-nan-ignored", "max_pool2d", "NaN in a window: skipped by max (val > max is false for NaN)",
     "https://github.com/pytorch/pytorch/issues/7645")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    return ref("max_pool2d", {**i, "input": np.where(np.isnan(x), -np.inf, x)}, p)


@bug("max-pool1d-padding-dilated", "max_pool1d", "dilation > 1 with padding: the padding scaled by the dilation",
     "https://github.com/microsoft/onnxruntime/issues/29637")
def _(i: Arrays, p: Arrays) -> Any:
    d = p.get("dilation", 1)
    if _tuple(d, 1)[0] == 1:
        return ref("max_pool1d", i, p)
    # Every window starts (dilation - 1)·padding further left: -inf laid in front.
    pad = _tuple(p.get("padding", 0), 1)[0]
    x = i["input"]
    extra = [(0, 0)] * (x.ndim - 1) + [(pad * (_tuple(d, 1)[0] - 1), 0)]
    return ref("max_pool1d", {**i, "input": np.pad(x, extra, constant_values=-np.inf)}, p)


def _avg_overhang(name: str, d: int, where: str) -> None:
    # Dividing every window by the kernel's size is divisor_override = prod(kernel): the same
    # as the right divisor except for windows clipped by the padded input's end.
    def wrong(i: Arrays, p: Arrays) -> Arrays:
        if not (p.get("ceil_mode") and p.get("count_include_pad", True)) or p.get("divisor_override"):
            return p
        return {**p, "divisor_override": int(np.prod(_tuple(p["kernel_size"], d)))}

    if where == "forward":
        @bug(f"{name}-overhang-divided-by-kernel", name, "ceil_mode, count_include_pad: overhanging window / kernel size",
             "https://github.com/microsoft/onnxruntime/issues/16203")
        def _(i: Arrays, p: Arrays) -> Any:
            return ref(name, i, wrong(i, p))
    else:
        @bug(f"{name}-backward-overhang-divided-by-kernel", name,
             "ceil_mode, count_include_pad: the backward divides the overhanging window by the kernel size",
             "https://github.com/pytorch/pytorch/issues/198119")
        def _(g: np.ndarray, i: Arrays, p: Arrays) -> Arrays:
            return grads(name, g, i, wrong(i, p))


_avg_overhang("avg_pool2d", 2, "forward")
_avg_overhang("avg_pool2d", 2, "backward")


@bug("avg-pool2d-divisor-override-ignored", "avg_pool2d", "divisor_override with count_include_pad=False: ignored",
     "https://github.com/pytorch/executorch/pull/18616")
def _(i: Arrays, p: Arrays) -> Any:
    if p.get("divisor_override") and not p.get("count_include_pad", True):
        return ref("avg_pool2d", i, {**p, "divisor_override": None})
    return ref("avg_pool2d", i, p)


def _adaptive_windows(n: int, out: int, floor_end: bool) -> list[tuple[int, int]]:
    return [(i * n // out, ((i + 1) * n // out) if floor_end else -(-(i + 1) * n // out)) for i in range(out)]


@bug("adaptive-avg-pool1d-floor-end", "adaptive_avg_pool1d", "length not divisible by the output: window end floored",
     "https://github.com/flagos-ai/FlagGems/issues/4915")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    out = _tuple(p["output_size"], 1)[0]
    with np.errstate(all="ignore"):
        cols = [x[..., a:b].mean(axis=-1) for a, b in _adaptive_windows(x.shape[-1], out, True)]
    return like(x, np.stack(cols, axis=-1))


@bug("adaptive-max-pool1d-fixed-kernel", "adaptive_max_pool1d", "sizes not divisible: one kernel ceil(n/out), stride floor(n/out)",
     "https://github.com/pytorch/pytorch/issues/190064")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    n, out = x.shape[-1], _tuple(p["output_size"], 1)[0]
    if n % out == 0:
        return ref("adaptive_max_pool1d", i, p)
    k, s = -(-n // out), max(n // out, 1)
    return nnref.max_pool1d(x, kernel_size=k, stride=s, return_indices=p.get("return_indices", False))


@bug("adaptive-max-pool2d-batch-offset", "adaptive_max_pool2d", "batch > 1: every sample reads the first one",
     "https://github.com/pytorch/pytorch/issues/107842")
def _(i: Arrays, p: Arrays) -> Any:
    x = i["input"]
    if x.ndim < 4 or x.shape[0] < 2:
        return ref("adaptive_max_pool2d", i, p)
    return ref("adaptive_max_pool2d", {**i, "input": np.broadcast_to(x[:1], x.shape).copy()}, p)


@bug("max-unpool2d-output-size-width", "max_unpool2d", "output_size larger than the default: indices decoded too narrow",
     "https://github.com/pytorch/pytorch/issues/36710")
def _(i: Arrays, p: Arrays) -> Any:
    if p.get("output_size") is None:
        return ref("max_unpool2d", i, p)
    x, idx = i["input"], np.asarray(i["indices"])
    k = _tuple(p["kernel_size"], 2)
    st = _tuple(p.get("stride") or p["kernel_size"], 2)
    pad = _tuple(p.get("padding", 0), 2)
    narrow = (x.shape[-1] - 1) * st[1] - 2 * pad[1] + k[1]  # the default plane's width
    h, w = _tuple(p["output_size"], 2)[-2:]
    row, col = np.divmod(idx, narrow)
    pos = (row * w + col).reshape(x.shape[:-2] + (-1,))
    out = np.zeros(x.shape[:-2] + (h * w,), dtype=x.dtype)
    vals = x.reshape(pos.shape)
    for lead in np.ndindex(*pos.shape[:-1]):
        keep = pos[lead] < h * w
        out[lead][pos[lead][keep]] = vals[lead][keep]
    return out.reshape(x.shape[:-2] + (h, w))


class Planted:
    """A conformance adapter that provides one op, with one planted bug."""

    devices = ("cpu",)

    def __init__(self, bug: Bug) -> None:
        self.bug = bug
        self.name = bug.name

    def available(self, device: str) -> str | None:
        return None

    def forward(self, op: str, inputs: Arrays, params: Arrays, device: str) -> Any:
        if op != self.bug.op:
            raise NotImplementedError(op)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a mean over an empty batch is NaN, as in torch
            return (self.bug.forward or (lambda i, p: ref(op, i, p)))(dict(inputs), dict(params))

    def vjp(self, op: str, inputs: Arrays, params: Arrays, grad_output: np.ndarray, wrt: list[str],
            device: str) -> Arrays:
        if op != self.bug.op:
            raise NotImplementedError(op)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.bug.vjp is not None:
                out = self.bug.vjp(dict(inputs), dict(params), grad_output)
            else:
                out = grads(op, grad_output, dict(inputs), dict(params))
        return {k: out[k] for k in wrt}
