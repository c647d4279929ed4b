"""Receptive fields and parameter counts of conv / pool stacks.

The formulas are printed from SymPy into ``nnref/_generated/receptive.py`` (the recurrence read
off the composed index maps, derivations/ops/receptive.py); this module checks the arguments and
runs the recurrence over the layers.

Owns: ``receptive_field``, ``linear_parameter_count``, ``conv_parameter_count``.  Imports:
``._runtime`` and the generated ``._generated.receptive``.
"""

from __future__ import annotations

import math
from typing import Any

from . import _runtime as _rt
from ._generated import receptive as _k

__all__ = ["receptive_field", "linear_parameter_count", "conv_parameter_count"]

_KEYS = ("kernel_size", "stride", "padding", "dilation")
_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1}
_LOW = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}


def _layer(i: int, layer: Any) -> dict[str, int]:
    where = f"layers[{i}]"
    if isinstance(layer, dict):
        unknown = set(layer) - set(_KEYS)
        if unknown or "kernel_size" not in layer:
            raise _rt.NNRefError(f"receptive_field: {where}: expected a dict with kernel_size and optionally"
                                 f" stride, padding, dilation, got keys {sorted(layer)}")
        values = _DEFAULTS | dict(layer)
    elif isinstance(layer, (tuple, list)) and 1 <= len(layer) <= 4:
        values = _DEFAULTS | dict(zip(_KEYS, layer))
    else:
        raise _rt.NNRefError(f"receptive_field: {where}: expected a dict or a tuple (kernel_size, stride, padding,"
                             f" dilation), got {_rt._describe(layer)}")
    out = {}
    for key in _KEYS:
        v = _rt.check_int("receptive_field", f"{where}.{key}", values[key])
        if v < _LOW[key]:
            raise _rt.NNRefError(f"receptive_field: {where}.{key}: expected an int >= {_LOW[key]}, got {v}")
        out[key] = v
    return out


def receptive_field(layers: Any) -> dict[str, int]:
    """What a unit of the last layer reads along one axis of the input: ``size`` (the extent, first
    to last index read), ``jump`` (the distance between neighbouring units' fields) and ``start``
    (the first input index unit 0 reads; negative where it starts in the padding).  Unit i reads
    within [start + jump·i, start + jump·i + size - 1].

    ``layers``: input side first, each {"kernel_size": k, "stride": s, "padding": p, "dilation": d}
    or (k, s, p, d) cut short anywhere (defaults 1, 0, 1).  Pooling layers count the same way
    (give their stride: torch's default is the kernel size).  receptive_field([(3,), (3,)]) is
    {'size': 5, 'jump': 1, 'start': 0}.
    """
    if not isinstance(layers, (list, tuple)):
        raise _rt.NNRefError(f"receptive_field: layers: expected a list of layers, got {_rt._describe(layers)}")
    field = {"size": 1, "jump": 1, "start": 0}
    for i, layer in enumerate(layers):
        field = _k._receptive_step(field["size"], field["jump"], field["start"], **_layer(i, layer))
    return {key: int(v) for key, v in field.items()}


def _positive(op: str, name: str, value: Any) -> int:
    v = _rt.check_int(op, name, value)
    if v < 1:
        raise _rt.NNRefError(f"{op}: {name}: expected an int >= 1, got {v}")
    return v


def linear_parameter_count(in_features: int, out_features: int, bias: bool = True) -> int:
    """out·in weights plus out biases (torch.nn.Linear's weight (out, in) and bias (out,))."""
    op = "linear_parameter_count"
    n_in, n_out = _positive(op, "in_features", in_features), _positive(op, "out_features", out_features)
    return int(_k._linear_parameter_count(n_in, n_out, int(_rt.check_bool(op, "bias", bias)))["count"])


def conv_parameter_count(in_channels: int, out_channels: int, kernel_size: Any, groups: int = 1,
                         bias: bool = True) -> int:
    """out·(in/groups)·Πkernel_size weights plus out biases, for any input size."""
    op = "conv_parameter_count"
    c_in, c_out = _positive(op, "in_channels", in_channels), _positive(op, "out_channels", out_channels)
    g = _positive(op, "groups", groups)
    if c_in % g or c_out % g:
        raise _rt.NNRefError(f"{op}: groups: expected a divisor of in_channels {c_in} and out_channels {c_out},"
                             f" got {g}")
    sizes = (kernel_size,) if isinstance(kernel_size, (int,)) and not isinstance(kernel_size, bool) else kernel_size
    if not isinstance(sizes, (tuple, list)) or not sizes:
        raise _rt.NNRefError(f"{op}: kernel_size: expected an int or a tuple of ints, got {_rt._describe(kernel_size)}")
    taps = math.prod(_positive(op, f"kernel_size[{i}]", v) for i, v in enumerate(sizes))
    return int(_k._conv_parameter_count(c_out, c_in // g, taps, int(_rt.check_bool(op, "bias", bias)))["count"])
