"""Initialisation, as torch.nn.init names it without the trailing underscore: each function takes
a shape and a ``numpy.random.Generator`` (keyword ``rng``) and returns a new array.

Hand-written, because random draws are not formulas: the argument checks, the fans and the
draws live here.  Every bound and standard deviation they scale by is printed by SymPy into
``nnref/_generated/init.py`` from the initialiser's variance target (derivations/ops/init.py).

Owns: the public initialisers, ``calculate_gain`` and ``fan_in_and_fan_out``.  Imports: NumPy,
``._runtime`` and the generated ``._generated.init``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy
from numpy.typing import NDArray

from . import _runtime as _rt
from ._generated import init as _g
from ._runtime import NNRefError

__all__ = ["calculate_gain", "fan_in_and_fan_out", "uniform", "normal", "trunc_normal", "constant", "zeros",
           "ones", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
           "default_weight", "default_bias"]

NONLINEARITIES = (*_g.GAIN, "leaky_relu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps the variance through ``nonlinearity`` (torch.nn.init.calculate_gain)."""
    _rt.check_choice("calculate_gain", "nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else _rt.check_float("calculate_gain", "param", param, None)
        return float(_g._leaky_relu_gain(slope))
    return float(_g.GAIN[nonlinearity])


def _shape(op: str, shape: Any, min_dims: int = 0) -> tuple[int, ...]:
    if isinstance(shape, (int, numpy.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(s, (int, numpy.integer)) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise NNRefError(f"{op}: shape: expected a tuple of non-negative ints, got {shape!r}")
    if len(shape) < min_dims:
        raise NNRefError(f"{op}: shape: expected at least {min_dims} dimensions (fan_in and fan_out are read from"
                         f" dims 0 and 1), got {tuple(shape)!r}")
    return tuple(int(s) for s in shape)


def fan_in_and_fan_out(shape: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape, as torch counts them: a linear weight is
    (out_features, in_features); a conv weight (out_channels, in_channels/groups, *kernel) adds
    the kernel's size (its receptive field) to both."""
    shape = _shape("fan_in_and_fan_out", shape, min_dims=2)
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _rng(op: str, rng: Any) -> numpy.random.Generator:
    if not isinstance(rng, numpy.random.Generator):
        raise NNRefError(f"{op}: rng: expected a numpy.random.Generator (numpy.random.default_rng(seed)),"
                         f" got {type(rng).__name__} {rng!r}")
    return rng


def _dtype(op: str, dtype: Any) -> numpy.dtype[Any]:
    dt = numpy.dtype(dtype)
    if dt.type not in _rt.FLOAT_DTYPES:
        raise NNRefError(f"{op}: dtype: expected float16, float32 or float64, got {dt}")
    return dt


def _uniform(rng: numpy.random.Generator, low: float, high: float, shape: tuple[int, ...],
             dtype: Any) -> NDArray[Any]:
    return rng.uniform(low, high, shape).astype(dtype)


def uniform(shape: Any, a: float = 0.0, b: float = 1.0, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """Values drawn from U(a, b)."""
    a = _rt.check_float("uniform", "a", a, None)
    b = _rt.check_float("uniform", "b", b, None)
    _rt.check_relation("uniform", "b", b, a <= b, ">= a")
    return _uniform(_rng("uniform", rng), a, b, _shape("uniform", shape), _dtype("uniform", dtype))


def normal(shape: Any, mean: float = 0.0, std: float = 1.0, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """Values drawn from N(mean, std²)."""
    mean = _rt.check_float("normal", "mean", mean, None)
    std = _rt.check_float("normal", "std", std, {"lo": 0.0})
    return _rng("normal", rng).normal(mean, std, _shape("normal", shape)).astype(_dtype("normal", dtype))


def trunc_normal(shape: Any, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, *, rng: Any,
                 dtype: Any = numpy.float64) -> NDArray[Any]:
    """N(mean, std²) conditioned on [a, b]: values outside are drawn again until none is."""
    mean = _rt.check_float("trunc_normal", "mean", mean, None)
    std = _rt.check_float("trunc_normal", "std", std, {"lo": 0.0, "lo_open": True})
    a = _rt.check_float("trunc_normal", "a", a, None)
    b = _rt.check_float("trunc_normal", "b", b, None)
    _rt.check_relation("trunc_normal", "b", b, a < b, "> a")
    mass = (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))) / 2
    if mass < 1e-6:
        # rejection would need more than a million draws per value
        raise NNRefError(f"trunc_normal: a, b: expected an interval holding at least 1e-6 of N({mean}, {std}²),"
                         f" got [{a}, {b}] holding {mass:.3g}")
    gen, shape = _rng("trunc_normal", rng), _shape("trunc_normal", shape)
    dt = _dtype("trunc_normal", dtype)
    lo, hi = dt.type(a), dt.type(b)
    out = gen.normal(mean, std, shape).astype(dt)
    bad = (out < lo) | (out > hi)
    while bad.any():
        out[bad] = gen.normal(mean, std, int(bad.sum())).astype(dt)
        bad = (out < lo) | (out > hi)
    return out


def constant(shape: Any, val: float, *, rng: Any = None, dtype: Any = numpy.float64) -> NDArray[Any]:
    """Every entry ``val`` (rng is accepted for a uniform call signature and not used)."""
    val = _rt.check_float("constant", "val", val, None)
    return numpy.full(_shape("constant", shape), val, dtype=_dtype("constant", dtype))


def zeros(shape: Any, *, rng: Any = None, dtype: Any = numpy.float64) -> NDArray[Any]:
    """Every entry 0."""
    return numpy.zeros(_shape("zeros", shape), dtype=_dtype("zeros", dtype))


def ones(shape: Any, *, rng: Any = None, dtype: Any = numpy.float64) -> NDArray[Any]:
    """Every entry 1."""
    return numpy.ones(_shape("ones", shape), dtype=_dtype("ones", dtype))


def _gain(op: str, gain: Any) -> float:
    return _rt.check_float(op, "gain", gain, {"lo": 0.0})


def xavier_uniform(shape: Any, gain: float = 1.0, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """U(-a, a) with a = gain·√(6/(fan_in + fan_out)), so Var = 2·gain²/(fan_in + fan_out)."""
    shape = _shape("xavier_uniform", shape, min_dims=2)
    fi, fo = fan_in_and_fan_out(shape)
    bound = float(_g._xavier_uniform_bound(fi, fo, _gain("xavier_uniform", gain))) if fi + fo else 0.0
    return _uniform(_rng("xavier_uniform", rng), -bound, bound, shape, _dtype("xavier_uniform", dtype))


def xavier_normal(shape: Any, gain: float = 1.0, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """N(0, std²) with std = gain·√(2/(fan_in + fan_out))."""
    shape = _shape("xavier_normal", shape, min_dims=2)
    fi, fo = fan_in_and_fan_out(shape)
    std = float(_g._xavier_normal_std(fi, fo, _gain("xavier_normal", gain))) if fi + fo else 0.0
    return _rng("xavier_normal", rng).normal(0.0, std, shape).astype(_dtype("xavier_normal", dtype))


def _kaiming(op: str, shape: Any, a: Any, mode: Any, nonlinearity: Any) -> tuple[tuple[int, ...], float, float]:
    shape = _shape(op, shape, min_dims=2)
    _rt.check_choice(op, "mode", mode, ("fan_in", "fan_out"))
    _rt.check_choice(op, "nonlinearity", nonlinearity, NONLINEARITIES)
    a = _rt.check_float(op, "a", a, None)
    fi, fo = fan_in_and_fan_out(shape)
    return shape, float(fi if mode == "fan_in" else fo), calculate_gain(nonlinearity, a)


def kaiming_uniform(shape: Any, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                    rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """U(-b, b) with b = gain·√(3/fan), gain = calculate_gain(nonlinearity, a): Var = gain²/fan."""
    shape, fan, gain = _kaiming("kaiming_uniform", shape, a, mode, nonlinearity)
    bound = float(_g._kaiming_uniform_bound(fan, gain)) if fan else 0.0
    return _uniform(_rng("kaiming_uniform", rng), -bound, bound, shape, _dtype("kaiming_uniform", dtype))


def kaiming_normal(shape: Any, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                   rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """N(0, std²) with std = gain/√fan."""
    shape, fan, gain = _kaiming("kaiming_normal", shape, a, mode, nonlinearity)
    std = float(_g._kaiming_normal_std(fan, gain)) if fan else 0.0
    return _rng("kaiming_normal", rng).normal(0.0, std, shape).astype(_dtype("kaiming_normal", dtype))


def orthogonal(shape: Any, gain: float = 1.0, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """gain·Q, Q with orthonormal rows or columns (whichever fit), from the QR factorisation of a
    normal draw viewed as (shape[0], the rest), with the signs of diag(R) moved into Q."""
    shape = _shape("orthogonal", shape, min_dims=2)
    gain = _gain("orthogonal", gain)
    gen, dt = _rng("orthogonal", rng), _dtype("orthogonal", dtype)
    rows = shape[0]
    cols = math.prod(shape) // rows if rows else 0
    if rows * cols == 0:
        return numpy.zeros(shape, dtype=dt)
    flat = gen.normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = numpy.linalg.qr(flat)
    q = q * numpy.sign(numpy.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(dt)


def default_weight(shape: Any, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """torch's default Linear / ConvNd weight: kaiming_uniform(a=√5), i.e. U(±1/√fan_in)."""
    shape = _shape("default_weight", shape, min_dims=2)
    fi, _ = fan_in_and_fan_out(shape)
    bound = float(_g._default_weight_bound(fi)) if fi else 0.0
    return _uniform(_rng("default_weight", rng), -bound, bound, shape, _dtype("default_weight", dtype))


def default_bias(shape: Any, fan_in: int, *, rng: Any, dtype: Any = numpy.float64) -> NDArray[Any]:
    """torch's default Linear / ConvNd bias: U(±1/√fan_in), 0 when fan_in is 0."""
    fi = _rt.check_int("default_bias", "fan_in", fan_in)
    if fi < 0:
        raise NNRefError(f"default_bias: fan_in: expected a non-negative int, got {fi}")
    bound = float(_g._default_bias_bound(fi)) if fi else 0.0
    return _uniform(_rng("default_bias", rng), -bound, bound, _shape("default_bias", shape),
                    _dtype("default_bias", dtype))
