"""Receptive fields and parameter counts, measured rather than trusted.

The formula's answer for a stack of conv / pool layers is checked by back-propagating a one-hot
gradient at one output unit through nnref's own conv1d / avg_pool1d / max_pool1d (all-ones
kernels and a positive input, so no contribution cancels) and reading where the gradient lands in
the input: its first and last nonzero index must be the field's ends.  Max pooling sends the
gradient to one entry per window only, so it can only be checked to stay inside the field; its
extent is measured with average pooling, which reads the same window.  E5's numbers are measured
the same way in 2-D with conv2d.  Parameter counts are compared with torch's modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import nnref
from pages.conv import receptive_field as receptive_field_picture  # the picture the Convolution page draws

N = 400  # long enough that the middle unit's field never reaches an edge


def measured_extent(stack: list[tuple[str, int, int, int, int]], n: int = N) -> tuple[int, int, int, np.ndarray]:
    """(unit index, first, last) input index reached from the middle unit of the last layer."""
    x = np.ones((1, 1, n))
    inputs = []
    for kind, k, s, p, d in stack:
        inputs.append(x)
        if kind == "conv":
            x = nnref.conv1d(x, np.ones((1, 1, k)), stride=s, padding=p, dilation=d)
        elif kind == "avg":
            x = nnref.avg_pool1d(x, k, s, p)
        else:
            x = nnref.max_pool1d(x, k, s, p, d)
    unit = x.shape[-1] // 2
    g = np.zeros_like(x)
    g[..., unit] = 1.0
    for (kind, k, s, p, d), inp in zip(reversed(stack), reversed(inputs)):
        if kind == "conv":
            g = nnref.conv1d_backward(g, inp, np.ones((1, 1, k)), stride=s, padding=p, dilation=d)["input"]
        elif kind == "avg":
            g = nnref.avg_pool1d_backward(g, inp, k, s, p)["input"]
        else:
            g = nnref.max_pool1d_backward(g, inp, k, s, p, d)["input"]
    hit = np.flatnonzero(g[0, 0])
    return unit, int(hit[0]), int(hit[-1]), hit


def random_stack(rng: np.random.Generator) -> list[tuple[str, int, int, int, int]]:
    stack = []
    for _ in range(int(rng.integers(1, 5))):
        kind = str(rng.choice(["conv", "conv", "avg", "max"]))
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 4))
        d = int(rng.integers(1, 4)) if kind in ("conv", "max") else 1
        p = int(rng.integers(0, k // 2 + 1)) if kind != "conv" else int(rng.integers(0, 3))
        stack.append((kind, k, s, p, d))
    return stack


@pytest.mark.parametrize("seed", range(40))
def test_formula_matches_backpropagation_through_conv_and_pool(seed: int) -> None:
    stack = random_stack(np.random.default_rng(seed))
    field = nnref.receptive_field([(k, s, p, d) for _, k, s, p, d in stack])
    measure = [("avg" if kind == "max" and d == 1 else kind, k, s, p, d) for kind, k, s, p, d in stack]
    unit, first, last, _ = measured_extent(measure)
    lo, hi = field["start"] + field["jump"] * unit, field["start"] + field["jump"] * unit + field["size"] - 1
    if all(kind != "max" for kind, *_ in measure):
        # the extremes of the field are reached: every layer's first and last tap carry weight 1
        assert (first, last) == (lo, hi), (stack, field, unit, first, last)
    else:
        assert lo <= first and last <= hi, (stack, field, unit, first, last)
    # max pooling sends the gradient to one entry per window: inside the field, never outside it
    _, mfirst, mlast, _ = measured_extent(stack)
    assert lo <= mfirst and mlast <= hi


def test_full_coverage_without_holes() -> None:
    # dilation 1 and strides no larger than the kernels: every index inside the extent is read
    stack = [("conv", 3, 1, 1, 1), ("conv", 3, 2, 0, 1), ("avg", 2, 2, 0, 1), ("conv", 3, 1, 0, 1)]
    field = nnref.receptive_field([(k, s, p, d) for _, k, s, p, d in stack])
    _, first, last, hit = measured_extent(stack)
    assert last - first + 1 == field["size"] == hit.size


# E5 (seed 000): (layers as (kernel, stride), pixels the source states or None where it only says
# "larger"); 2×2 pooling with stride 2 is a 2×2 window, read here as avg pooling reads it.
E5 = [([(3, 1)], 9), ([(3, 1), (3, 1)], None), ([(3, 2), (3, 1)], None), ([(3, 1), (2, 2), (3, 1)], None)]


@pytest.mark.parametrize("layers,claimed", E5)
def test_e5_receptive_fields_in_2d(layers: list[tuple[int, int]], claimed: int | None) -> None:
    size = nnref.receptive_field(layers)["size"]
    field = receptive_field_picture(layers, 12)
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    assert rows[-1] - rows[0] + 1 == size and cols[-1] - cols[0] + 1 == size
    assert np.count_nonzero(field) == size * size
    if claimed is not None:
        assert size * size == claimed
    else:
        assert size * size > 9


def test_parameter_counts_match_torch_modules() -> None:
    for n_in, n_out, bias in ((3, 2, True), (7, 5, False), (1, 1, True)):
        m = torch.nn.Linear(n_in, n_out, bias=bias)
        assert nnref.linear_parameter_count(n_in, n_out, bias) == sum(p.numel() for p in m.parameters())
    for c_in, c_out, k, g, bias in ((3, 64, (3, 3), 1, True), (4, 6, 5, 2, False), (6, 6, (3, 2, 2), 3, True)):
        mod = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[1 if isinstance(k, int) else len(k)]
        m = mod(c_in, c_out, k, groups=g, bias=bias)
        assert nnref.conv_parameter_count(c_in, c_out, k, g, bias) == sum(p.numel() for p in m.parameters())
    # E5's stated sizes: a 1000×1000 RGB image into 1000 dense units, or a 3×3 conv to 64 channels
    assert nnref.linear_parameter_count(3 * 1000 * 1000, 1000) == 3_000_001_000
    assert nnref.conv_parameter_count(3, 64, (3, 3)) == 64 * 27 + 64


@pytest.mark.parametrize("call,words", [
    (lambda: nnref.receptive_field([(0,)]), ["receptive_field", "layers[0].kernel_size", ">= 1", "0"]),
    (lambda: nnref.receptive_field([(3, 1, -1)]), ["layers[0].padding", ">= 0", "-1"]),
    (lambda: nnref.receptive_field([{"kernel": 3}]), ["layers[0]", "kernel_size", "['kernel']"]),
    (lambda: nnref.receptive_field([3]), ["layers[0]", "dict or a tuple", "int 3"]),
    (lambda: nnref.receptive_field(3), ["layers", "list of layers", "int 3"]),
    (lambda: nnref.conv_parameter_count(3, 64, 3, groups=2), ["groups", "divisor", "got 2"]),
    (lambda: nnref.linear_parameter_count(0, 3), ["in_features", ">= 1", "0"]),
])
def test_errors_name_the_argument(call: Any, words: list[str]) -> None:
    with pytest.raises(nnref.NNRefError) as exc:
        call()
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_recurrence_is_proved() -> None:
    from derivations.proofs.receptive import prove_receptive

    assert all(p.holds for p in prove_receptive())
