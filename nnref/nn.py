"""Whole networks as functional compositions of nnref ops: the chain rule, visible.

A network is a ``Sequential`` of layers.  Its parameters are a plain dict of arrays named as
torch names a module's (``"0.weight"``, ``"1.body.0.bias"``), created by ``init`` and never
stored in the layers, so every function here is pure.  ``forward(params, x)`` returns the
output and a *tape*: what each layer's backward needs (its input, and nothing more).
``backward(params, tape, grad_output)`` walks the tape in reverse and calls each op's
vector-Jacobian product (``nnref.linear_backward``, ``nnref.relu_backward``, ...), passing the
gradient with respect to each layer's input on to the layer before: that hand-over is the
chain rule.

A ``Residual`` block computes y = x + F(x); its backward returns g + J_Fᵀ g, the identity path's
gradient plus the block's (the identity is derived on the Networks page).

Owns: the layers (``Linear``, ``Conv1d``, ``ReLU``, ``Sigmoid``, ``Tanh``, ``MaxPool1d``,
``AvgPool1d``, ``Flatten``, ``Residual``), ``Sequential``, ``LOSSES``, ``loss_and_grad``,
``fit``, ``parameter_count``.  Imports: NumPy and nnref's own modules (the ops, ``.init``, ``.optim``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy
from numpy.typing import NDArray

from . import _conv, _pool, _structured, init, optim
from ._generated import activations as _act
from ._generated import losses as _losses
from ._runtime import NNRefError

__all__ = ["Linear", "Conv1d", "ReLU", "Sigmoid", "Tanh", "MaxPool1d", "AvgPool1d", "Flatten", "Residual",
           "Sequential", "LOSSES", "loss_and_grad", "fit", "parameter_count"]

Array = NDArray[Any]
Params = dict[str, Array]


class Layer:
    """One step of a network: ``forward(params, x) -> (y, saved)`` and
    ``backward(params, saved, g) -> (grad wrt x, grads wrt its own parameters)``; ``params`` holds
    only this layer's arrays, under their short names ("weight", "bias")."""

    def init(self, rng: numpy.random.Generator, dtype: Any) -> Params:
        return {}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every parameter this layer takes."""
        return {}

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        raise NotImplementedError

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        raise NotImplementedError


def _torch_default(shape: tuple[int, ...], fan_in: int, rng: numpy.random.Generator, dtype: Any) -> Array:
    # torch.nn.Linear / Conv1d's reset_parameters: kaiming_uniform(a=√5) for the weight, which is
    # U(±1/√fan_in), and the same bound for the bias.
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return init.uniform(shape, -bound, bound, rng=rng, dtype=dtype)


@dataclass
class Linear(Layer):
    in_features: int
    out_features: int
    bias: bool = True

    def shapes(self) -> dict[str, tuple[int, ...]]:
        out = {"weight": (self.out_features, self.in_features)}
        return out | ({"bias": (self.out_features,)} if self.bias else {})

    def init(self, rng: numpy.random.Generator, dtype: Any) -> Params:
        out = {"weight": _torch_default((self.out_features, self.in_features), self.in_features, rng, dtype)}
        if self.bias:
            out["bias"] = _torch_default((self.out_features,), self.in_features, rng, dtype)
        return out

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        return _structured.linear(x, params["weight"], params.get("bias")), x

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        grads = _structured.linear_backward(g, saved, params["weight"], params.get("bias"))
        return grads.pop("input"), grads


@dataclass
class Conv1d(Layer):
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: bool = True

    def _kw(self) -> dict[str, int]:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        out = {"weight": (self.out_channels, self.in_channels, self.kernel_size)}
        return out | ({"bias": (self.out_channels,)} if self.bias else {})

    def init(self, rng: numpy.random.Generator, dtype: Any) -> Params:
        fan_in = self.in_channels * self.kernel_size
        out = {"weight": _torch_default((self.out_channels, self.in_channels, self.kernel_size), fan_in, rng, dtype)}
        if self.bias:
            out["bias"] = _torch_default((self.out_channels,), fan_in, rng, dtype)
        return out

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        return _conv.conv1d(x, params["weight"], params.get("bias"), **self._kw()), x

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        grads = _conv.conv1d_backward(g, saved, params["weight"], params.get("bias"), **self._kw())
        return grads.pop("input"), grads


@dataclass
class _Pointwise(Layer):
    fn: Callable[..., Array] = field(repr=False, default=_act.relu)
    vjp: Callable[..., dict[str, Array]] = field(repr=False, default=_act.relu_backward)

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        return self.fn(x), x

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        return self.vjp(g, saved)["input"], {}


def ReLU() -> Layer:  # noqa: N802 - named as the torch module it mirrors
    return _Pointwise(_act.relu, _act.relu_backward)


def Sigmoid() -> Layer:  # noqa: N802
    return _Pointwise(_act.sigmoid, _act.sigmoid_backward)


def Tanh() -> Layer:  # noqa: N802
    return _Pointwise(_act.tanh, _act.tanh_backward)


@dataclass
class MaxPool1d(Layer):
    kernel_size: int
    stride: int | None = None

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        return _pool.max_pool1d(x, self.kernel_size, self.stride), x

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        return _pool.max_pool1d_backward(g, saved, self.kernel_size, self.stride)["input"], {}


@dataclass
class AvgPool1d(Layer):
    kernel_size: int
    stride: int | None = None

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        return _pool.avg_pool1d(x, self.kernel_size, self.stride), x

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        return _pool.avg_pool1d_backward(g, saved, self.kernel_size, self.stride)["input"], {}


@dataclass
class Flatten(Layer):
    """(batch, ...) -> (batch, everything else); its backward only restores the shape."""

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        return g.reshape(saved), {}


def _sub(params: Params, prefix: str) -> Params:
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


class Sequential(Layer):
    """Layers applied in order; parameter names are "<index>.<name>", as torch.nn.Sequential's."""

    def __init__(self, *layers: Layer) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise NNRefError(f"Sequential: layers[{i}]: expected an nnref.nn layer, got {type(layer).__name__}")
        self.layers = tuple(layers)

    def init(self, rng: Any, dtype: Any = numpy.float64) -> Params:
        """Fresh parameters, drawn as torch's modules draw theirs (U(±1/√fan_in))."""
        if not isinstance(rng, numpy.random.Generator):
            raise NNRefError(f"Sequential.init: rng: expected a numpy.random.Generator, got {type(rng).__name__}")
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.init(rng, dtype).items()}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.shapes().items()}

    def check(self, params: Any) -> Params:
        """``params`` as this network needs them: a dict with exactly its parameter names, each a
        floating-point array of the right shape."""
        want = self.shapes()
        if not isinstance(params, dict) or set(params) != set(want):
            got = sorted(params) if isinstance(params, dict) else type(params).__name__
            raise NNRefError(f"Sequential: params: expected a dict with the names {sorted(want)}, got {got}")
        for name, shape in want.items():
            arr = params[name]
            if not isinstance(arr, numpy.ndarray) or arr.dtype.kind != "f" or arr.shape != shape:
                got = f"array of dtype {arr.dtype} and shape {arr.shape}" if isinstance(arr, numpy.ndarray) \
                    else type(arr).__name__
                raise NNRefError(f"Sequential: params[{name!r}]: expected a floating-point array of shape {shape},"
                                 f" got {got}")
        return params

    def forward(self, params: Params, x: Any) -> tuple[Array, Any]:
        """The output, and the tape: each layer's saved inputs, in order."""
        self.check(params)
        tape = []
        x = numpy.asarray(x)
        for i, layer in enumerate(self.layers):
            x, saved = layer.forward(_sub(params, f"{i}."), x)
            tape.append(saved)
        return x, tape

    def __call__(self, params: Params, x: Any) -> Array:
        return self.forward(params, x)[0]

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        """(gradient wrt the input, gradient wrt every parameter by name): each layer's VJP,
        last layer first, handing the gradient wrt its input to the layer before."""
        grads: Params = {}
        for i in reversed(range(len(self.layers))):
            g, own = self.layers[i].backward(_sub(params, f"{i}."), saved[i], g)
            grads |= {f"{i}.{k}": v for k, v in own.items()}
        return g, dict(sorted(grads.items(), key=lambda kv: list(params).index(kv[0])))


class Residual(Layer):
    """y = x + F(x) for a body F that keeps the shape; parameters "body.<index>.<name>"."""

    def __init__(self, *layers: Layer) -> None:
        self.body = Sequential(*layers)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {f"body.{k}": v for k, v in self.body.shapes().items()}

    def init(self, rng: numpy.random.Generator, dtype: Any) -> Params:
        return {f"body.{k}": v for k, v in self.body.init(rng, dtype).items()}

    def forward(self, params: Params, x: Array) -> tuple[Array, Any]:
        fx, tape = self.body.forward(_sub(params, "body."), x)
        if fx.shape != x.shape:
            raise NNRefError(f"Residual: body: expected an output of the input's shape {x.shape}, got {fx.shape}")
        return x + fx, tape

    def backward(self, params: Params, saved: Any, g: Array) -> tuple[Array, Params]:
        # ∂L/∂x = g + J_Fᵀ g: the skip path hands g on unchanged, the body adds its own VJP.
        g_body, grads = self.body.backward(_sub(params, "body."), saved, g)
        return g + g_body, {f"body.{k}": v for k, v in grads.items()}


def _mse(pred: Array, target: Array) -> tuple[Array, Array]:
    one = numpy.ones((), pred.dtype)
    return (_losses.mse_loss(pred, target),
            _losses.mse_loss_backward(one, pred, target)["input"])


def _bce(pred: Array, target: Array) -> tuple[Array, Array]:
    one = numpy.ones((), pred.dtype)
    return (_losses.binary_cross_entropy(pred, target),
            _losses.binary_cross_entropy_backward(one, pred, target)["input"])


def _ce(pred: Array, target: Array) -> tuple[Array, Array]:
    one = numpy.ones((), pred.dtype)
    return _structured.cross_entropy(pred, target), _structured.cross_entropy_backward(one, pred, target)["input"]


#: loss name -> (value, gradient wrt the prediction), each the op's mean reduction
LOSSES: dict[str, Callable[[Array, Array], tuple[Array, Array]]] = {
    "mse_loss": _mse, "binary_cross_entropy": _bce, "cross_entropy": _ce}


def loss_and_grad(net: Sequential, params: Params, x: Any, target: Any, loss: str) -> tuple[Array, Params]:
    """The loss of ``net`` on (x, target) and its gradient with respect to every parameter."""
    if loss not in LOSSES:
        raise NNRefError(f"loss_and_grad: loss: expected one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
    pred, tape = net.forward(params, x)
    value, g = LOSSES[loss](pred, numpy.asarray(target))
    _, grads = net.backward(params, tape, g)
    return value, grads


def fit(net: Sequential, params: Params, x: Any, target: Any, loss: str, optimizer: str, steps: int,
        **hyper: Any) -> tuple[Params, list[float]]:
    """Full-batch training: ``steps`` times, the loss and its gradient, then one step of
    ``nnref.optim.<optimizer>`` for every parameter.  Returns the final parameters and the loss
    before each step."""
    if optimizer not in optim.__all__:
        raise NNRefError(f"fit: optimizer: expected one of {', '.join(optim.__all__)}, got {optimizer!r}")
    step = getattr(optim, optimizer)
    states: dict[str, Any] = dict.fromkeys(params)
    losses = []
    for _ in range(steps):
        value, grads = loss_and_grad(net, params, x, target, loss)
        losses.append(float(value))
        new = {}
        for name in params:
            new[name], states[name] = step(params[name], grads[name], states[name], **hyper)
        params = new
    return params, losses


def parameter_count(params: Params) -> int:
    """How many numbers the parameters hold."""
    return sum(int(v.size) for v in params.values())
