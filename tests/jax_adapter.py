"""JAX as an implementation under test: the conformance suite's second real framework.

``python -m nnref conform --impl jax_adapter:JaxAdapter --deviations tests/deviations/jax.json``
(with ``tests/`` on PYTHONPATH) runs every op JAX has a counterpart for through nnref's
cross-check; ``tests/test_jax_conform.py`` does so in CI.  Float64 is enabled
(``jax_enable_x64``), arrays cross as NumPy arrays, VJPs come from ``jax.vjp``.

How each op maps, so that a reader knows what is JAX's and what is the adapter's:

- **jax.nn functions** (JAX's own kernels and derivative conventions): sigmoid, relu,
  relu6, leaky_relu, elu, selu, celu, gelu (``approximate`` passed from the op's
  parameter, since JAX's default is the tanh form), silu, mish, softplus (β = 1,
  threshold ≥ 20 only: see below), soft_sign, hard_tanh (bounds −1 and 1),
  hard_sigmoid, hard_swish, log_sigmoid, softmax, log_softmax; ``jnp.tanh``.
- **lax primitives**: convolution through ``lax.conv_general_dilated`` (padding 'same'
  and 'valid' as JAX's 'SAME' / 'VALID'; transposed convolution as an input-dilated
  convolution with the kernel flipped and its channel axes swapped per group), max and
  average pooling through ``lax.reduce_window`` (gradients are JAX's).
- **JAX primitives composed the obvious way** (JAX has no such function; the composition
  follows torch.nn.functional's definition, so a mismatch there is the adapter's or a
  primitive's, and is listed as such): hardtanh with other bounds (``jnp.clip``),
  softplus with β ≠ 1 or threshold, threshold, softshrink, hardshrink, tanhshrink, prelu,
  linear, and every loss (``jnp`` arithmetic with torch's reductions, max(·, 0) as
  ``jax.nn.relu``, log(1 + eˣ) as ``jax.nn.softplus``; cross_entropy and nll_loss via
  ``jax.nn.log_softmax`` and ``jnp.take_along_axis``).  Max pooling's
  ``return_indices`` is computed by a variadic ``lax.reduce_window`` whose comparator the
  adapter writes (first maximum in window order, NaN wins): JAX has no argmax pooling.
- **Not provided** (NotImplementedError, reported once): rrelu, lp_pool1d/2d,
  adaptive_avg/max_pool1d/2d, max_unpool1d/2d: neither jax.nn, jax.numpy nor jax.lax
  has them, and writing them here would test the adapter, not JAX.  binary_cross_entropy
  too: composed as torch's forward (logs clamped at −100), its autodiff gradient is the
  clamped function's (d/dinput = 1/(1 − x) at x = 1e−300, y = 0; NaN at x ∈ {0, 1}), not
  torch's backward with its ε-clamped denominator (1e−288 there), which nnref follows.  max_pool1d/2d/3d are
  reported not provided too, by JAX itself: the drawn cases use dilation, and
  ``lax.reduce_window``'s max has no VJP with window dilation (``NO_DILATED_VJP``); the
  undilated gradient's routing is measured in ``tests/test_jax_conform.py``.

Owns: ``JaxAdapter``.  Imports: NumPy, jax (at construction), ``nnref.conformance.sizes``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnref.conformance.sizes import torch_rule

NOT_PROVIDED = {
    "rrelu": "JAX has no rrelu (randomised leaky ReLU) in jax.nn",
    "lp_pool1d": "JAX has no power-average pooling (lp_pool) in jax.nn or jax.lax",
    "lp_pool2d": "JAX has no power-average pooling (lp_pool) in jax.nn or jax.lax",
    "adaptive_avg_pool1d": "JAX has no adaptive pooling",
    "adaptive_avg_pool2d": "JAX has no adaptive pooling",
    "adaptive_max_pool1d": "JAX has no adaptive pooling",
    "adaptive_max_pool2d": "JAX has no adaptive pooling",
    "max_unpool1d": "JAX has no max unpooling",
    "max_unpool2d": "JAX has no max unpooling",
    "binary_cross_entropy": "JAX has no binary cross-entropy on probabilities; autodiff of torch's clamped forward"
                            " is not torch's backward (its ε-clamped denominator), so a composition would test the"
                            " adapter, not JAX",
}

# Ops whose VJP JAX lacks for dilated windows (the runner then reports them not provided).
NO_DILATED_VJP = ("max_pool1d", "max_pool2d", "max_pool3d")


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * n


class JaxAdapter:
    """jax.nn / jax.lax / jax.numpy with jax.vjp, on CPU, float64 enabled."""

    name = "jax"
    devices = ("cpu",)

    def __init__(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.special  # noqa: F401 - xlogy, for kl_div
        from jax import lax

        self.jax, self.jnp, self.lax, self.nn = jax, jnp, lax, jax.nn
        self.version = jax.__version__
        self.cpu = jax.devices("cpu")[0]
        self.ops: dict[str, Callable[..., Any]] = self._table()

    def available(self, device: str) -> str | None:
        return None if device == "cpu" else f"the JAX adapter runs on CPU only, not {device}"

    # ------------------------------------------------------------------ protocol

    def _split(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> tuple[
            Callable[..., Any], dict[str, Any], dict[str, Any]]:
        if op in NOT_PROVIDED:
            raise NotImplementedError(NOT_PROVIDED[op])
        fn = self.ops.get(op)
        if fn is None:
            raise NotImplementedError(f"the JAX adapter has no mapping for {op}")
        arrays = {k: v for k, v in {**inputs, **params}.items() if isinstance(v, np.ndarray)}
        scalars = {k: v for k, v in params.items() if not isinstance(v, np.ndarray)}
        return fn, arrays, scalars

    def _device(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {k: self.jax.device_put(np.asarray(v), self.cpu) for k, v in arrays.items()}

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], device: str) -> Any:
        fn, arrays, scalars = self._split(op, inputs, params)
        out = fn(self._device(arrays), scalars)
        if isinstance(out, tuple):
            return tuple(np.asarray(o) for o in out)
        return np.asarray(out)

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], grad_output: np.ndarray,
            wrt: list[str], device: str) -> dict[str, np.ndarray]:
        fn, arrays, scalars = self._split(op, inputs, params)
        a = self._device(arrays)
        fixed = {k: v for k, v in a.items() if k not in wrt}

        def values(*free: Any) -> Any:
            out = fn({**fixed, **dict(zip(wrt, free))}, {**scalars, "return_indices": False, "_differentiating": True})
            return out

        _, pullback = self.jax.vjp(values, *[a[k] for k in wrt])
        grads = pullback(self.jnp.asarray(grad_output))
        return {k: np.asarray(g) for k, g in zip(wrt, grads)}

    # ------------------------------------------------------------------ helpers

    def _reduce(self, losses: Any, reduction: str, weight: Any = None, weight_sum: bool = False, ref: Any = None) -> Any:
        jnp = self.jnp
        if weight is not None:
            losses = losses * weight
        if reduction == "none":
            return losses
        if reduction == "sum":
            return jnp.sum(losses)
        if reduction == "batchmean":
            return jnp.sum(losses) / (ref.shape[0] if ref.ndim else 1)
        if weight is not None and weight_sum:
            return jnp.sum(losses) / jnp.sum(jnp.broadcast_to(weight, losses.shape))
        return jnp.mean(losses) if losses.size else jnp.asarray(math.nan, losses.dtype)

    def _table(self) -> dict[str, Callable[..., Any]]:
        jnp, nn = self.jnp, self.nn
        x_ = lambda a: a["input"]  # noqa: E731

        def hardtanh(a: dict[str, Any], p: dict[str, Any]) -> Any:
            lo, hi = p.get("min_val", -1.0), p.get("max_val", 1.0)
            if (lo, hi) == (-1.0, 1.0):
                return nn.hard_tanh(x_(a))
            return jnp.clip(x_(a), lo, hi)

        def softplus(a: dict[str, Any], p: dict[str, Any]) -> Any:
            beta, threshold = p.get("beta", 1.0), p.get("threshold", 20.0)
            x = x_(a)
            # jax.nn.softplus has neither β nor torch's linear switch above the threshold
            bx = x * beta
            return jnp.where(bx > threshold, x, nn.softplus(bx) / beta)

        def prelu(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, w = a["input"], a["weight"]
            if x.ndim >= 2:
                w = w.reshape((-1,) + (1,) * (x.ndim - 2))
            elif x.ndim == 0:
                w = w.reshape(())
            return jnp.where(x > 0, x, w * x)

        # The compositions below follow torch's definitions comparison for comparison, so NaN
        # takes the same branch (x·0 keeps NaN where torch's kernel multiplies by 0).
        def shrink_soft(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, lam = x_(a), p.get("lambd", 0.5)
            return jnp.where(x > lam, x - lam, jnp.where(x < -lam, x + lam, x * 0))

        def shrink_hard(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, lam = x_(a), p.get("lambd", 0.5)
            return jnp.where((x > lam) | (x < -lam), x, x * 0)

        def softmax_like(f: Callable[..., Any]) -> Callable[..., Any]:
            def run(a: dict[str, Any], p: dict[str, Any]) -> Any:
                x = x_(a)
                if x.ndim == 0:
                    return f(x.reshape(1), axis=0).reshape(())
                return f(x, axis=p["dim"])
            return run

        def linear(a: dict[str, Any], p: dict[str, Any]) -> Any:
            out = jnp.matmul(a["input"], a["weight"].T)
            return out + a["bias"] if a.get("bias") is not None else out

        table: dict[str, Callable[..., Any]] = {
            "sigmoid": lambda a, p: nn.sigmoid(x_(a)),
            "tanh": lambda a, p: jnp.tanh(x_(a)),
            "relu": lambda a, p: nn.relu(x_(a)),
            "relu6": lambda a, p: nn.relu6(x_(a)),
            "leaky_relu": lambda a, p: nn.leaky_relu(x_(a), p.get("negative_slope", 0.01)),
            "elu": lambda a, p: nn.elu(x_(a), p.get("alpha", 1.0)),
            "selu": lambda a, p: nn.selu(x_(a)),
            "celu": lambda a, p: nn.celu(x_(a), p.get("alpha", 1.0)),
            "gelu": lambda a, p: nn.gelu(x_(a), approximate=p.get("approximate", "none") == "tanh"),
            "silu": lambda a, p: nn.silu(x_(a)),
            "mish": lambda a, p: nn.mish(x_(a)),
            "softplus": softplus,
            "softsign": lambda a, p: nn.soft_sign(x_(a)),
            "hardtanh": hardtanh,
            "hardsigmoid": lambda a, p: nn.hard_sigmoid(x_(a)),
            "hardswish": lambda a, p: nn.hard_swish(x_(a)),
            "logsigmoid": lambda a, p: nn.log_sigmoid(x_(a)),
            "tanhshrink": lambda a, p: x_(a) - jnp.tanh(x_(a)),
            "softshrink": shrink_soft,
            "hardshrink": shrink_hard,
            "threshold": lambda a, p: jnp.where(x_(a) <= p["threshold"], jnp.full_like(x_(a), p["value"]), x_(a)),
            "prelu": prelu,
            "softmax": softmax_like(nn.softmax),
            "log_softmax": softmax_like(nn.log_softmax),
            "linear": linear,
        }
        table.update(self._losses())
        table.update(self._structured_losses())
        for name in ("conv1d", "conv2d", "conv3d"):
            table[name] = self._conv
        for name in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
            table[name] = self._conv_transpose
        for n in (1, 2, 3):
            table[f"max_pool{n}d"] = lambda a, p, n=n: self._max_pool(a, p, n)
            table[f"avg_pool{n}d"] = lambda a, p, n=n: self._avg_pool(a, p, n)
        return table

    # ------------------------------------------------------------------ losses

    def _losses(self) -> dict[str, Callable[..., Any]]:
        jnp, nn = self.jnp, self.nn
        red = self._reduce

        def mse(a: dict[str, Any], p: dict[str, Any]) -> Any:
            d = a["input"] - a["target"]
            return red(d * d, p.get("reduction", "mean"), a.get("weight"), True, a["input"])

        def l1(a: dict[str, Any], p: dict[str, Any]) -> Any:
            return red(jnp.abs(a["input"] - a["target"]), p.get("reduction", "mean"), a.get("weight"), True)

        def smooth_l1(a: dict[str, Any], p: dict[str, Any]) -> Any:
            beta = p.get("beta", 1.0)
            d = jnp.abs(a["input"] - a["target"])
            if beta == 0:
                return red(d, p.get("reduction", "mean"))
            loss = jnp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
            return red(loss, p.get("reduction", "mean"))

        def huber(a: dict[str, Any], p: dict[str, Any]) -> Any:
            delta = p.get("delta", 1.0)
            d = jnp.abs(a["input"] - a["target"])
            loss = jnp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
            return red(loss, p.get("reduction", "mean"), a.get("weight"))

        def bce_logits(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, y = a["input"], a["target"]
            pw = a.get("pos_weight")
            # softplus(-x) = -log_sigmoid(x); with pos_weight it weighs the y term
            neg = -nn.log_sigmoid(x)
            lw = 1 + (pw - 1) * y if pw is not None else 1.0
            loss = (1 - y) * x + lw * neg
            return red(loss, p.get("reduction", "mean"), a.get("weight"))

        def kl(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, t = a["input"], a["target"]
            if p.get("log_target", False):
                loss = jnp.exp(t) * (t - x)
            else:
                # torch's form: xlogy(t, t) − t·x (0·log 0 = 0; inf − inf = NaN at t = inf, as torch)
                loss = self.jax.scipy.special.xlogy(t, t) - t * x
            return red(loss, p.get("reduction", "mean"), ref=x)

        def poisson(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, y = a["input"], a["target"]
            if p.get("log_input", True):
                loss = jnp.exp(x) - y * x
            else:
                loss = x - y * jnp.log(x + p.get("eps", 1e-8))
            if p.get("full", False):
                # torch's Stirling term, masked where target <= 1 after it is computed
                stirling = y * jnp.log(y) - y + 0.5 * jnp.log(2 * math.pi * y)
                loss = loss + jnp.where(y > 1, stirling, jnp.zeros_like(stirling))
            return red(loss, p.get("reduction", "mean"))

        def hinge(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, y, margin = a["input"], a["target"], p.get("margin", 1.0)
            zero = jnp.zeros_like(x)
            loss = jnp.where(y != 1, nn.relu(margin - x), zero) + jnp.where(y != -1, x, zero)
            return red(loss, p.get("reduction", "mean"))

        def soft_margin(a: dict[str, Any], p: dict[str, Any]) -> Any:
            return red(nn.softplus(-a["target"] * a["input"]), p.get("reduction", "mean"))

        def ranking(a: dict[str, Any], p: dict[str, Any]) -> Any:
            loss = nn.relu(-a["target"] * (a["input1"] - a["input2"]) + p.get("margin", 0.0))
            return red(loss, p.get("reduction", "mean"))

        def gaussian(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, y, var = a["input"], a["target"], a["var"]
            eps = p.get("eps", 1e-6)
            # torch clamps var at eps without letting the clamp reach the gradient
            var = var + self.jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
            loss = 0.5 * (jnp.log(var) + (x - y) ** 2 / var)
            if p.get("full", False):
                loss = loss + 0.5 * math.log(2 * math.pi)
            return red(loss, p.get("reduction", "mean"))

        return {"mse_loss": mse, "l1_loss": l1, "smooth_l1_loss": smooth_l1, "huber_loss": huber,
                "binary_cross_entropy_with_logits": bce_logits, "kl_div": kl,
                "poisson_nll_loss": poisson, "hinge_embedding_loss": hinge, "soft_margin_loss": soft_margin,
                "margin_ranking_loss": ranking, "gaussian_nll_loss": gaussian}

    def _structured_losses(self) -> dict[str, Callable[..., Any]]:
        jnp, nn = self.jnp, self.nn

        def class_axis(x: Any) -> int:
            return 1 if x.ndim >= 2 else 0

        def nll_parts(logp: Any, target: Any, weight: Any, ignore: int) -> tuple[Any, Any, Any]:
            """Per-sample -w[t]·logp[t] (0 where ignored), the per-sample weights, the kept mask."""
            axis = class_axis(logp)
            keep = target != ignore
            safe = jnp.where(keep, target, 0)
            picked = jnp.squeeze(jnp.take_along_axis(logp, jnp.expand_dims(safe, axis), axis=axis), axis)
            w = weight[safe] if weight is not None else jnp.ones_like(picked)
            w = jnp.where(keep, w, jnp.zeros_like(w))
            return -w * picked, w, keep

        def nll(a: dict[str, Any], p: dict[str, Any]) -> Any:
            losses, w, _ = nll_parts(a["input"], a["target"], a.get("weight"), p.get("ignore_index", -100))
            reduction = p.get("reduction", "mean")
            if reduction == "none":
                return losses
            if reduction == "sum":
                return jnp.sum(losses)
            return jnp.sum(losses) / jnp.sum(w)

        def cross_entropy(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x, target, weight = a["input"], a["target"], a.get("weight")
            axis = class_axis(x)
            classes = x.shape[axis]
            eps = p.get("label_smoothing", 0.0)
            reduction = p.get("reduction", "mean")
            logp = nn.log_softmax(x, axis=axis)
            wshape = [1] * x.ndim
            wshape[axis] = classes
            wc = weight.reshape(wshape) if weight is not None else None
            if target.dtype.kind == "f":  # class probabilities
                t = target * (1 - eps) + eps / classes
                terms = t * logp if wc is None else t * logp * wc
                losses = -jnp.sum(terms, axis=axis)
                if reduction == "none":
                    return losses
                if reduction == "sum":
                    return jnp.sum(losses)
                count = x.size // classes if x.size else 0
                return jnp.sum(losses) / count if count else jnp.asarray(math.nan, x.dtype)
            nll_losses, w, keep = nll_parts(logp, target, weight, p.get("ignore_index", -100))
            if eps == 0:
                if reduction == "none":
                    return nll_losses
                if reduction == "sum":
                    return jnp.sum(nll_losses)
                return jnp.sum(nll_losses) / jnp.sum(w)
            smooth = -jnp.sum(logp if wc is None else logp * wc, axis=axis)
            smooth = jnp.where(keep, smooth, jnp.zeros_like(smooth))
            if reduction == "none":
                return (1 - eps) * nll_losses + eps / classes * smooth
            if reduction == "sum":
                return (1 - eps) * jnp.sum(nll_losses) + eps / classes * jnp.sum(smooth)
            denom = jnp.sum(w) if weight is not None else jnp.sum(keep).astype(x.dtype)
            return (1 - eps) * jnp.sum(nll_losses) / jnp.sum(w) + eps / classes * jnp.sum(smooth) / denom

        def cosine(a: dict[str, Any], p: dict[str, Any]) -> Any:
            x1, x2, y = a["input1"], a["input2"], a["target"]
            e = float(np.float32(1e-12))  # torch's EPSILON is a C++ float
            prod = jnp.sum(x1 * x2, axis=-1)
            m1, m2 = jnp.sum(x1 * x1, axis=-1) + e, jnp.sum(x2 * x2, axis=-1) + e
            cos = prod / jnp.sqrt(m1 * m2)
            zero = jnp.zeros_like(cos)
            loss = jnp.where(y == 1, 1 - cos, zero) + jnp.where(y == -1, nn.relu(cos - p.get("margin", 0.0)), zero)
            return self._reduce(loss, p.get("reduction", "mean"))

        return {"nll_loss": nll, "cross_entropy": cross_entropy, "cosine_embedding_loss": cosine}

    # ------------------------------------------------------------------ convolution

    def _numbers(self, n: int) -> tuple[str, str, str]:
        sp = "DHW"[3 - n:]
        return ("NC" + sp, "OI" + sp, "NC" + sp)

    def _conv(self, a: dict[str, Any], p: dict[str, Any]) -> Any:
        lax = self.lax
        x, w, b = a["input"], a["weight"], a.get("bias")
        n = w.ndim - 2
        unbatched = x.ndim == n + 1
        if unbatched:
            x = x[None]
        padding = p.get("padding", 0)
        if isinstance(padding, str):
            pad: Any = padding.upper()  # JAX's own 'SAME' / 'VALID'
        else:
            pad = [(q, q) for q in _tuple(padding, n)]
        out = lax.conv_general_dilated(x, w, window_strides=_tuple(p.get("stride", 1), n), padding=pad,
                                       rhs_dilation=_tuple(p.get("dilation", 1), n),
                                       dimension_numbers=self._numbers(n), feature_group_count=p.get("groups", 1))
        if b is not None:
            out = out + b.reshape((1, -1) + (1,) * n)
        return out[0] if unbatched else out

    def _conv_transpose(self, a: dict[str, Any], p: dict[str, Any]) -> Any:
        jnp, lax = self.jnp, self.lax
        x, w, b = a["input"], a["weight"], a.get("bias")
        n = w.ndim - 2
        unbatched = x.ndim == n + 1
        if unbatched:
            x = x[None]
        g = p.get("groups", 1)
        stride, dilation = _tuple(p.get("stride", 1), n), _tuple(p.get("dilation", 1), n)
        padding, extra = _tuple(p.get("padding", 0), n), _tuple(p.get("output_padding", 0), n)
        cin, og = w.shape[0], w.shape[1]
        k = w.shape[2:]
        # (Cin, Cout/g, k) -> (Cout, Cin/g, k), spatially flipped
        wt = w.reshape((g, cin // g, og) + k).swapaxes(1, 2).reshape((g * og, cin // g) + k)
        wt = jnp.flip(wt, axis=tuple(range(2, 2 + n)))
        pad = [(d * (kk - 1) - q, d * (kk - 1) - q + e) for d, kk, q, e in zip(dilation, k, padding, extra)]
        out = lax.conv_general_dilated(x, wt, window_strides=(1,) * n, padding=pad, lhs_dilation=stride,
                                       rhs_dilation=dilation, dimension_numbers=self._numbers(n),
                                       feature_group_count=g)
        if b is not None:
            out = out + b.reshape((1, -1) + (1,) * n)
        return out[0] if unbatched else out

    # ------------------------------------------------------------------ pooling

    def _windows(self, x: Any, p: dict[str, Any], n: int, dilated: bool) -> tuple[Any, ...]:
        kernel = _tuple(p["kernel_size"], n)
        stride = _tuple(p["stride"], n) if p.get("stride") is not None else kernel
        padding = _tuple(p.get("padding", 0), n)
        dilation = _tuple(p.get("dilation", 1), n) if dilated else (1,) * n
        ceil = bool(p.get("ceil_mode", False))
        lead = x.ndim - n
        pads = []
        for L, k, s, q, d in zip(x.shape[lead:], kernel, stride, padding, dilation):
            out = torch_rule(L, k, s, q, d, ceil)
            pads.append((q, max(q, (out - 1) * s + d * (k - 1) + 1 - L - q)))
        dims = (1,) * lead + kernel
        strides = (1,) * lead + stride
        dil = (1,) * lead + dilation
        full = [(0, 0)] * lead + pads
        return dims, strides, dil, full, padding, lead

    def _max_pool(self, a: dict[str, Any], p: dict[str, Any], n: int) -> Any:
        jnp, lax = self.jnp, self.lax
        x = a["input"]
        dims, strides, dil, full, _, lead = self._windows(x, p, n, True)
        if any(d > 1 for d in dil) and p.get("_differentiating"):
            # JAX raises NotImplementedError itself for this VJP ("VJP not implemented for
            # select_and_gather (MaxPool) with window dilation"): said once, before tracing.
            raise NotImplementedError("JAX has no VJP for max pooling with dilation > 1: lax.reduce_window's max"
                                      " raises 'VJP not implemented for select_and_gather (MaxPool) with window"
                                      " dilation' (jax 0.10.2)")
        init = jnp.array(-jnp.inf, x.dtype)
        values = lax.reduce_window(x, init, lax.max, dims, strides, full, window_dilation=dil)
        if not p.get("return_indices", False):
            return values
        # JAX has no argmax pooling: the adapter's own comparator over (value, flat index)
        plane = math.prod(x.shape[lead:])
        idx = jnp.broadcast_to(jnp.arange(plane, dtype=jnp.int64).reshape(x.shape[lead:]), x.shape)

        def pick(u: tuple[Any, Any], v: tuple[Any, Any]) -> tuple[Any, Any]:
            # torch's rule, as nnref states it: the first maximum, or the last NaN
            (va, ia), (vb, ib) = u, v
            na, nb = jnp.isnan(va), jnp.isnan(vb)
            a_wins = jnp.where(na & nb, ia > ib, jnp.where(na | nb, na, (va > vb) | ((va == vb) & (ia < ib))))
            return jnp.where(a_wins, va, vb), jnp.where(a_wins, ia, ib)

        big = jnp.array(np.iinfo(np.int64).max, jnp.int64)
        _, ind = lax.reduce_window((x, idx), (init, big), pick, dims, strides, full, window_dilation=dil)
        return values, ind

    def _avg_pool(self, a: dict[str, Any], p: dict[str, Any], n: int) -> Any:
        jnp, lax = self.jnp, self.lax
        x = a["input"]
        dims, strides, dil, full, padding, lead = self._windows(x, p, n, False)
        zero = jnp.array(0, x.dtype)
        sums = lax.reduce_window(x, zero, lax.add, dims, strides, full)
        if p.get("divisor_override") is not None:
            return sums / p["divisor_override"]
        shape = x.shape[lead:]
        if p.get("count_include_pad", True):
            # the padded extent counts, a ceil_mode overhang beyond it does not
            ones = np.ones(tuple(n + 2 * q for n, q in zip(shape, padding)))
            count = lax.reduce_window(jnp.asarray(ones, x.dtype), zero, lax.add, dims[lead:], strides[lead:],
                                      [(0, hi - q) for (lo, hi), q in zip(full[lead:], padding)])
        else:
            count = lax.reduce_window(jnp.ones(shape, x.dtype), zero, lax.add, dims[lead:], strides[lead:],
                                      full[lead:])
        return sums / count
