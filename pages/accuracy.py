"""The Accuracy page: nnref and torch measured against mathematics, per op, dtype and quantity.

Both implementations run over the oracle's sweep (``derivations/oracle.py``: each op's
definition in arbitrary precision) and are scored by the same measure
(``derivations/proofs/accuracy.py``): the largest error in ulps of the true value, outside the
neighbourhoods of zeros the op declares, with the point where it occurs.  The raw numbers are
written beside the site (``assets/results/accuracy.json``) with their provenance.

Owns: ``render_accuracy``, the measurement it shows (``measured``, run once per build) and the
torch call it measures, and one op's rows as its page shows them (``op_accuracy``); template
``accuracy.md.j2``.
Imports: ``derivations`` (proofs.accuracy, spec), NumPy, torch (at build time), ``.markup``,
``.paths``, ``.provenance``, ``.templating``; no other page module.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from derivations.proofs import accuracy
from derivations.spec import PointwiseOp

from .markup import anchor, op_page_path, reader_name, table
from .paths import DOCS
from .provenance import provenance
from .templating import render

RESULTS = DOCS / "assets" / "results"


def torch_call(op: PointwiseOp, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, np.ndarray]:
    import torch
    import torch.nn.functional as F

    kwargs: dict[str, Any] = dict(params)
    if op.variant_of:
        kwargs.update(op.variant_of[1])
    if op.reduction:
        kwargs["reduction"] = "none"
    wanted = [a.name for a in op.args if a.grad and a.name in inputs]
    # positional, in the op's argument order (a sweep lists its swept input first)
    tensors = {a.name: torch.tensor(inputs[a.name], requires_grad=a.name in wanted)
               for a in op.args if a.name in inputs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, op.public)(*tensors.values(), **kwargs)
        if out.requires_grad and wanted:
            grads = torch.autograd.grad(out, [tensors[k] for k in wanted], torch.ones_like(out), allow_unused=True)
        else:  # e.g. an output that no differentiable input reaches for these values
            grads = tuple(None for _ in wanted)
    res = {"value": out.detach().numpy()}
    for k, g in zip(wanted, grads):
        res[k] = np.zeros_like(inputs[k]) if g is None else g.numpy()
    return res


def _cell(u: float) -> str:
    if not np.isfinite(u):
        return "∞"
    return f"{u:.3g}" if u >= 0.01 else "0" if u == 0 else f"{u:.1e}"


def _where(w: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:.6g}" for k, v in w.items())


def measure_all() -> dict[str, Any]:
    ours = accuracy.table(accuracy.measure(accuracy.nnref_call))
    theirs = accuracy.table(accuracy.measure(torch_call))
    ops = {e.name: e for e in _records()}
    rows = []
    for key in sorted(ours):
        name, dtype, q = key
        op = ops[name]
        b = accuracy.bound(op, dtype, q)
        u, where = ours[key]
        t, twhere = theirs.get(key, (float("nan"), {}))
        rows.append({"op": name, "dtype": dtype, "quantity": q, "nnref_ulps": u, "nnref_where": where,
                     "bound": b.ulps, "bound_why": b.why, "torch_ulps": t, "torch_where": twhere})
    return {"provenance": provenance(), "rows": rows}


_MEASURED: dict[str, Any] = {}


def measured() -> dict[str, Any]:
    """``measure_all()``, once per build: the Accuracy page and every op page show the same run."""
    if not _MEASURED:
        _MEASURED.update(measure_all())
    return _MEASURED


def _label(quantity: str) -> str:
    return "value" if quantity == "value" else f"∂/∂{quantity}"


def op_accuracy(op: Any, data: dict[str, Any] | None) -> str:
    """One record's rows of the Accuracy page (nnref's and torch's worst error in ulps, beside
    nnref's bound), as its page shows them; a sentence where there are none."""
    link = "the [Accuracy page](accuracy.md)"
    if not isinstance(op, PointwiseOp):
        return (f"Not measured in ulps: {link} covers the pointwise ops, whose definitions the oracle"
                " evaluates in arbitrary precision; this op is held to the tolerances above.")
    if data is None:
        return f"Not measured in this build: {link} has the numbers."
    rows = [r for r in data["rows"] if r["op"] == op.name]
    if not rows:
        return f"No rows for this op in the accuracy run: see {link}."
    body = [[r["dtype"], _label(r["quantity"]), _cell(r["nnref_ulps"]), _cell(r["bound"]), _cell(r["torch_ulps"]),
             _where(r["torch_where"]) if r["torch_ulps"] > r["bound"] else ""] for r in rows]
    return "\n".join([
        "The largest error over the oracle's sweep, in ulps of the true value (the op's definition in"
        f" arbitrary precision), nnref beside torch; from {link}, measured {data['provenance'].get('date', '?')}"
        " ([accuracy.json](assets/results/accuracy.json)).", "",
        table(["dtype", "quantity", "nnref max ulp", "nnref's bound", "torch max ulp",
               "torch's worst point (where over the bound)"], body)])


def _records() -> list[PointwiseOp]:
    from derivations import registry

    return [op for op in registry.all_ops() if isinstance(op, PointwiseOp)]


def render_accuracy() -> str:
    data = measured()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "accuracy.json").write_text(json.dumps(data, indent=1, default=float) + "\n")
    body = []
    # each op's name links to its page (a variant to its section there)
    names = {op.name: f"[`{reader_name(op)}`]({op_page_path(op)}" + (f"#{anchor(op.name)})" if op.public != op.name
                                                                    else ")") for op in _records()}
    for r in data["rows"]:
        label = _label(r["quantity"])
        body.append([names.get(r["op"], f"`{r['op']}`"), r["dtype"], label, _cell(r["nnref_ulps"]), _cell(r["bound"]),
                     _cell(r["torch_ulps"]), _where(r["torch_where"]) if r["torch_ulps"] > r["bound"] else ""])
    rewrites = [[f"`{reader_name(op)}`", op.rewrite.why] for op in _records() if op.rewrite is not None]
    extended = [[f"`{reader_name(op)}`", ", ".join(op.extended), op.extended_reason]
                for op in _records() if op.extended]
    zeros = [[f"`{reader_name(op)}`", "value" if z.wrt == "value" else f"∂/∂{z.wrt}", z.why]
             for op in _records() for z in op.near_zero]
    return render("accuracy.md.j2", provenance=data["provenance"],
                  table=table(["op", "dtype", "quantity", "nnref max ulp", "bound", "torch max ulp",
                               "torch's worst point (where over the bound)"], body),
                  rewrites=table(["op", "the stable form and what it fixes"], rewrites),
                  zeros=table(["op", "quantity", "why an absolute bound there"], zeros),
                  extended=table(["op", "kernels", "why float64 is not enough"], extended),
                  n_over=sum(r["nnref_ulps"] > r["bound"] for r in data["rows"]),
                  n_rows=len(data["rows"]),
                  torch_over=sum(r["torch_ulps"] > r["bound"] for r in data["rows"]))
