"""The two-panel plots (the function and its derivative) of an op section.

Owns: what each plot shows (``plot_spec``, chosen by ``op.renderer``), how it is drawn
(``draw``) and ``make_plot``.  Imports: NumPy, matplotlib and ``nnref`` (inside functions),
``derivations.registry``, ``.markup``; no other page module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from derivations.registry import variants_of

from . import figure
from .markup import fmt, fmt_vec

PLOT_PARAMS: dict[str, dict[str, Any]] = {"threshold": {"threshold": 0.5, "value": -0.5}}
# Fixed values of the other arguments where the generic choice (by test domain) shows less:
# a Poisson count of 2 makes the Stirling term (full=True) visible, which is 0 at counts <= 1.
PLOT_FIXED: dict[str, dict[str, Any]] = {"prelu": {"weight": np.array([0.25])},
                                         "poisson_nll_loss": {"target": 2.0}}
INPUT_RANGE = {"real": (-3.0, 3.0), "unit": (1e-3, 1 - 1e-3), "positive": (1e-2, 4.0),
               "nonneg": (0.0, 4.0), "sign": (-1.0, 1.0)}
FIXED_VALUE = {"real": 0.0, "unit": 1.0, "positive": 1.0, "nonneg": 1.0, "sign": 1.0, "pm1": 1.0}


@dataclass
class Curve:
    label: str
    x: np.ndarray
    y: np.ndarray | None  # None: drawn in the derivative panel only
    dy: np.ndarray | None  # None: drawn in the function panel only
    style: str = "-"


@dataclass
class PlotSpec:
    xlabel: str
    ylabel: str
    dylabel: str
    curves: list[Curve] = field(default_factory=list)
    title: str = ""
    plain: str = ""  # a curve label that needs no legend


def _required_params(op: Any) -> dict[str, Any]:
    out = dict(PLOT_PARAMS.get(op.public, {}))
    for p in op.params:
        if p.name not in out and p.default is None and p.kind == "float":
            lo, hi = p.test_range or (0.0, 1.0)
            out[p.name] = (lo + hi) / 2
    return out


def _pointwise_plot(op: Any) -> PlotSpec:
    import nnref

    fn, bwd = getattr(nnref, op.public), getattr(nnref, f"{op.public}_backward")
    first = op.args[0]

    def grid(o: Any) -> np.ndarray:
        if o.family == "activation":
            return np.linspace(-5.0, 5.0, 801)
        lo, hi = INPUT_RANGE.get(o.args[0].test_domain, (-3.0, 3.0))
        return np.linspace(lo, hi, 601)

    spec = PlotSpec(xlabel=first.name, ylabel=f"{op.public}", dylabel=f"d {op.public} / d {first.name}",
                    plain=op.public)
    if op.reduction:
        spec.ylabel += " (reduction='none')"
    for i, o in enumerate([op, *variants_of(op)]):
        xs = grid(o)
        params = {**_required_params(op), **(o.variant_of[1] if o.variant_of else {})}
        fixed_sets: list[dict[str, Any]] = [{}]
        for a in o.args[1:]:
            if a.optional is not None:
                continue
            if a.name in PLOT_FIXED.get(op.public, {}):
                val = PLOT_FIXED[op.public][a.name]
                fixed_sets = [{**f, a.name: val} for f in fixed_sets]
            elif a.test_domain in ("sign", "pm1"):
                fixed_sets = [{**f, a.name: v} for f in fixed_sets for v in (1.0, -1.0)]
            else:
                fixed_sets = [{**f, a.name: FIXED_VALUE.get(a.test_domain, 0.0)} for f in fixed_sets]
        for fixed in fixed_sets:
            arrays = {k: (v if isinstance(v, np.ndarray) else np.full_like(xs, v)) for k, v in fixed.items()}
            kw = {first.name: xs, **arrays, **params}
            if op.reduction:
                kw["reduction"] = "none"
            y = fn(**kw)
            dy = bwd(np.ones_like(y), **kw)[first.name]
            bits = [f"{k}={v!r}" for k, v in (o.variant_of[1].items() if o.variant_of else [])]
            bits += [f"{k}={fmt_vec(v) if isinstance(v, np.ndarray) else fmt(v)}" for k, v in fixed.items()]
            if i == 0 and not o.variant_of:
                bits += [f"{k}={v}" for k, v in _required_params(op).items()]
            spec.curves.append(Curve(", ".join(bits) or op.public, xs, y, dy, "-" if i == 0 else "--"))
    return spec


def _structured_plot(op: Any) -> PlotSpec | None:
    import nnref

    name = op.name
    if name in ("softmax", "log_softmax"):
        xs = np.linspace(-5.0, 5.0, 801)
        inp = np.stack([xs, np.zeros_like(xs)], axis=1)
        f, b = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        y = f(inp, dim=1)[:, 0]
        g = np.zeros_like(inp)
        g[:, 0] = 1.0
        dy = b(g, inp, dim=1)["input"][:, 0]
        return PlotSpec("x", f"{name}([x, 0])[0]", f"d {name}([x, 0])[0] / dx",
                        [Curve(f"first component of {name}([x, 0])", xs, y, dy)])
    if name == "linear":
        xs = np.linspace(-5.0, 5.0, 201)
        w, bias = np.array([[0.5]]), np.array([0.1])
        y = nnref.linear(xs[:, None], w, bias)[:, 0]
        gi = np.array([nnref.linear_backward(np.ones((1, 1)), np.array([[v]]), w, bias)["input"][0, 0] for v in xs])
        gw = np.array([nnref.linear_backward(np.ones((1, 1)), np.array([[v]]), w, bias)["weight"][0, 0] for v in xs])
        spec = PlotSpec("x", "y = linear(x, w, b)", "gradients of y", title="one neuron, w = 0.5, b = 0.1")
        spec.curves = [Curve("y = 0.5·x + 0.1", xs, y, None), Curve("dy/dx = w", xs, None, gi),
                       Curve("dy/dw = x", xs, None, gw, "--")]
        return spec
    if name in ("cross_entropy", "nll_loss"):
        xs = np.linspace(-5.0, 5.0, 801)
        inp = np.stack([xs, np.zeros_like(xs)], axis=1)
        target = np.zeros(len(xs), dtype=np.int64)
        f, b = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        y = f(inp, target, reduction="none")
        dy = b(np.ones_like(y), inp, target, reduction="none")["input"][:, 0]
        what = "logits" if name == "cross_entropy" else "log-probabilities"
        return PlotSpec("x", f"{name} (reduction='none')", "d loss / dx",
                        [Curve(f"{what} [x, 0], target class 0", xs, y, dy)])
    if name == "cosine_embedding_loss":
        ts = np.linspace(-math.pi, math.pi, 721)
        x1 = np.stack([np.cos(ts), np.sin(ts)], axis=1)
        x2 = np.tile([1.0, 0.0], (len(ts), 1))
        tangent = np.stack([-np.sin(ts), np.cos(ts)], axis=1)
        spec = PlotSpec("angle t (radians)", "loss (reduction='none')",
                        "d loss / dt  (gradient wrt input1 · dx1/dt)",
                        title="input1 = [cos t, sin t], input2 = [1, 0]")
        for k, label in enumerate((1, -1)):
            target = np.full(len(ts), label)
            y = nnref.cosine_embedding_loss(x1, x2, target, reduction="none")
            g = nnref.cosine_embedding_loss_backward(np.ones_like(y), x1, x2, target, reduction="none")["input1"]
            spec.curves.append(Curve(f"target={label}", ts, y, (g * tangent).sum(axis=1), "-" if k == 0 else "--"))
        return spec
    return None


# A plot per section renderer; a renderer missing here has its own page and pictures.
PLOTTERS: dict[str, Callable[[Any], PlotSpec | None]] = {
    "pointwise": _pointwise_plot,
    "structured": _structured_plot,
}


def plot_spec(op: Any) -> PlotSpec | None:
    plotter = PLOTTERS.get(op.renderer)
    return plotter(op) if plotter is not None else None


def draw(spec: PlotSpec, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6.4, 3.0), dpi=100)
    for k, c in enumerate(spec.curves):
        color = f"C{k}"
        if c.y is not None:
            ax1.plot(c.x, c.y, c.style, lw=1.6, label=c.label, color=color)
        if c.dy is not None:
            ax2.plot(c.x, c.dy, c.style, lw=1.6, label=c.label, color=color)
    for ax, ylabel, ys in ((ax1, spec.ylabel, [c.y for c in spec.curves if c.y is not None]),
                           (ax2, spec.dylabel, [c.dy for c in spec.curves if c.dy is not None])):
        ax.set_xlabel(spec.xlabel, fontsize=9)
        ax.set_title(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        _robust_ylim(ax, ys)
    # A legend only where it tells something: several curves, or one with settings.
    left = [c for c in spec.curves if c.y is not None]
    if len(left) > 1 or any(c.label != spec.plain for c in left):
        ax1.legend(fontsize=7, loc="best")
    if any(c.y is None for c in spec.curves):
        ax2.legend(fontsize=7, loc="best")
    if spec.title:
        fig.suptitle(spec.title, fontsize=9)
    # Fixed margins: tight_layout would cost a third of the generator's time.
    fig.subplots_adjust(left=0.085, right=0.985, bottom=0.14, top=0.82 if spec.title else 0.9, wspace=0.28)
    figure.save(fig, path)


def _robust_ylim(ax: Any, arrays: list[np.ndarray]) -> None:
    """Keep a few huge values (a derivative like 1/p at p -> 0) from flattening the rest."""
    finite = [np.asarray(a, dtype=float)[np.isfinite(a)] for a in arrays]
    v = np.concatenate(finite) if finite else np.array([])
    if v.size == 0:
        return
    qlo, qhi = np.percentile(v, [3, 97])
    span = qhi - qlo
    if span > 0 and v.max() - v.min() > 4 * span:
        ax.set_ylim(qlo - 0.2 * span, qhi + 0.2 * span)


def make_plot(op: Any, plots_dir: Path) -> str | None:
    """Draw plots_dir/<op>.svg; None when drawn, else the reason there is no plot."""
    try:
        spec = plot_spec(op)
    except Exception as exc:  # noqa: BLE001 - a plot must never stop the docs
        return f"nnref could not evaluate a generic example ({exc})"
    if spec is None:
        return "there is no generic one-dimensional picture of this op"
    draw(spec, plots_dir / f"{op.name}.svg")
    return None
