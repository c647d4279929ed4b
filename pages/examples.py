"""An op's runnable example, as its page shows it: the call, with inputs written out, and what
nnref returned, forward and backward.

The inputs are the first ordinary case the golden vectors hold for the op
(``nnref.conformance.vector_cases``, seeded by the op's name, so the example is the same on
every build), rounded so that they can be read and typed; the outputs are computed here, with
nnref, from those rounded inputs.  Convolution and pooling keep one sample of the batch.

Owns: ``example_block``.  Imports: NumPy, ``nnref`` and its conformance cases (inside the
function, so importing the builder does not load the engine); no page module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Arrays up to this many entries keep two decimals, larger ones one.
SMALL = 24
# Output arrays longer than this are summarised by NumPy ("...").
THRESHOLD = 60


def _literal(a: np.ndarray, indent: int) -> str:
    if a.dtype.kind in "iub":
        body = np.array2string(a, separator=", ", max_line_width=88, threshold=a.size + 1)
    else:
        body = np.array2string(a, separator=", ", max_line_width=88, threshold=a.size + 1,
                               floatmode="maxprec", precision=2)
    body = body.replace("\n", "\n" + " " * indent)
    dtype = "" if a.dtype == np.float64 else f", dtype=np.{a.dtype}"
    return f"np.array({body}{dtype})"


def _shown(v: Any) -> str:
    a = np.asarray(v)
    if a.ndim == 0:
        return repr(a.item())
    return np.array2string(a, separator=", ", precision=4, threshold=THRESHOLD, max_line_width=84,
                           suppress_small=True)


def _comment(text: str) -> list[str]:
    return ["# " + line for line in text.splitlines()]


def example_block(name: str) -> str | None:
    """A Python block that runs as printed; None for an op the golden vectors have no
    ordinary case for."""
    import nnref
    from nnref._generated.catalog import CATALOG
    from nnref.conformance.vector_cases import cases_for

    meta = next((m for m in CATALOG if m["name"] == name), None)
    if meta is None or meta.get("backward") is None:
        return None
    case = next((c for c in cases_for(meta, "float64") if c.kind == "ordinary"), None)
    if case is None:
        return None
    batched = meta["family"] in ("convolution", "pooling")
    inputs: dict[str, np.ndarray | None] = {}
    for k, v in case.inputs.items():
        if v is None:
            continue
        if batched and k in ("input", "indices"):
            v = v[:1, :1] if meta["family"] == "pooling" else v[:1]  # one sample (and one plane)
        inputs[k] = v if v.dtype.kind != "f" else np.round(v, 2 if v.size <= SMALL else 1)
    params = {k: v for k, v in case.params.items() if not isinstance(v, np.ndarray)}
    fwd = getattr(nnref, name)
    bwd = getattr(nnref, f"{name}_backward")
    with np.errstate(all="ignore"):
        out = fwd(**inputs, **params)
        y = out[0] if isinstance(out, tuple) else out
        grads = bwd(np.ones_like(y), **inputs, **params)
    args = ", ".join([*inputs, *(f"{k}={v!r}" for k, v in params.items())])
    lines = ["import numpy as np", "import nnref", ""]
    lines += [f"{k} = {_literal(v, len(k) + 13)}" for k, v in inputs.items()]
    lines += [""]
    if isinstance(out, tuple):  # return_indices=True: (values, indices)
        lines += [f"y, indices = nnref.{name}({args})", "y", *_comment(_shown(out[0])), "indices",
                  *_comment(_shown(out[1]))]
    else:
        lines += [f"y = nnref.{name}({args})", "y", *_comment(_shown(out))]
    lines += ["", "# the gradient of sum(y), keyed by argument name",
              f"grads = nnref.{name}_backward(np.ones_like(y), {args})"]
    for k, g in grads.items():
        lines += [f"grads[{k!r}]", *_comment(_shown(g))]
    return "```python\n" + "\n".join(lines) + "\n```"
