"""The Networks page (``nnref.nn``): composition, the chain rule as the backward pass walks it,
residual blocks, the proofs, the torch cross-checks and the training curves.

Owns: ``render_networks`` (template ``networks.md.j2``), ``draw_curves`` and ``DRAWN``.
Imports: ``derivations.proofs.nn``, ``nnref`` (inside functions), matplotlib (inside
``draw_curves``), ``.markup``, ``.paths``, ``.templating``; no other page module.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from derivations.proofs.nn import prove_nn

from . import figure
from .markup import code_block, md, table
from .paths import PLOTS, ROOT
from .templating import render

RESULTS = ROOT / "build" / "verification" / "nn.json"
FIGURE = "training_curves.svg"
DRAWN: set[Path] = set()


def draw_curves(runs: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(6.4, 2.8), dpi=100, squeeze=False)
    for ax, (name, run) in zip(axes[0], runs.items()):
        ax.plot(run["torch"], color="tab:orange", lw=3, alpha=0.5, label="torch")
        ax.plot(run["nnref"], color="tab:blue", lw=1, label="nnref")
        ax.set_yscale("log")
        ax.set_title(f"{name} (max rel. diff {run['max_rel']:.0e})", fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(which="both", labelsize=7)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("binary cross-entropy", fontsize=8)
    fig.tight_layout()
    figure.save(fig, path)
    DRAWN.add(path)


def _results() -> tuple[str, str]:
    if not RESULTS.exists():
        missing = "*Not measured yet: run `pytest tests/test_nn.py` (part of `make test`).*"
        return missing, missing
    data = json.loads(RESULTS.read_text())
    grads = table(["network", "largest difference of any parameter's gradient, relative to its largest entry"],
                  [[name, f"{v:.1e}"] for name, v in data["gradients"].items()])
    runs = data.get("training", {})
    if not runs:
        return grads, "*Not measured yet.*"
    PLOTS.mkdir(parents=True, exist_ok=True)
    draw_curves(runs, PLOTS / FIGURE)
    rows = [[name, f"`{r['optimizer']}` {r['hyperparameters']}", f"{r['nnref'][0]:.6f}", f"{r['nnref'][-1]:.6f}",
             f"{r['max_rel']:.1e}"] for name, r in runs.items()]
    curves = (table(["run", "optimizer", "loss at step 1", "loss at step 200", "max relative difference, any step"],
                    rows) + f"\n\n![Loss curves of nnref and torch, SGD with momentum and Adam](assets/plots/{FIGURE})")
    return grads, curves


def render_networks() -> str:
    import nnref

    grads, curves = _results()
    proofs = "\n".join(f"- {'✔' if p.holds else '✘'} {md(p.claim)} ({md(p.detail)})." for p in prove_nn())
    code = code_block(inspect.getsource(nnref.nn.Sequential.backward) + "\n"
                      + inspect.getsource(nnref.nn.Residual.backward))
    return render("networks.md.j2", proofs=proofs, code=code, gradients=grads, curves=curves,
                  torch=json.loads(RESULTS.read_text())["torch"] if RESULTS.exists() else "—")
