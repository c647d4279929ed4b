"""Print ``nnref/_generated/regularisation.py``: each regularisation term's elementwise value and
SymPy's derivative of it, as NumPy kernels.

Dropout's 1/(1 - p) is printed as ``scale``, a number the engine rounds to the input's dtype
before the product (torch's CPU path does the same), so the kernel is one exact product with the
0/1 mask and one rounded product with the scale.  The argument checks, the mask's draw and the
penalty's sum are hand-written in ``nnref/_regularisation.py``.

Owns: the regularisation printer.  Imports: SymPy, the schema, the descriptions
(``derivations.ops.regularisation``) and ``.printing``/``.header``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..ops.regularisation import p
from ..spec import Module
from .header import HEADER
from .printing import EnginePrinter

SCALE = sp.Symbol("scale", positive=True)


def _kernel_expr(expr: sp.Expr) -> sp.Expr:
    return expr.subs(1 / (1 - p), SCALE)


def _order(op: Any) -> list[sp.Symbol]:
    return [a.symbol for a in op.args] + [q.symbol for q in op.params if q.symbol is not None] + [SCALE]


def _names(op: Any, *exprs: sp.Expr) -> list[str]:
    used = set().union(*(e.free_symbols for e in exprs))
    return [s.name for s in _order(op) if s in used]


def function_source(op: Any) -> str:
    printer = EnginePrinter(extended=False)
    d = op.derivation()
    fwd = _kernel_expr(d.forward)
    summed = ", elementwise (the engine sums it)" if op.reduce == "sum" else ""
    out = [f"def _{op.name}_forward({', '.join(_names(op, fwd))}):",
           f"    # SymPy: {sp.sstr(d.forward)}{summed}",
           f"    return {printer.doprint(fwd)}", "", ""]
    vjps = {k: _kernel_expr(v) for k, v in d.vjps.items()}
    body = ", ".join(f"{k!r}: grad_output*({printer.doprint(v)})" for k, v in vjps.items())
    why = "; ".join(f"d/d{k} = {sp.sstr(v)}" for k, v in d.vjps.items())
    out += [f"def _{op.name}_vjp(grad_output, {', '.join(_names(op, *vjps.values()))}):",
            f"    # grad_output times SymPy's derivative: {why}",
            f"    return {{{body}}}", ""]
    return "\n".join(out)


def module_source(module: Module) -> str:
    header = HEADER.format(source="regularisation")
    header = header.replace("import numpy\nfrom numpy.typing import ArrayLike, NDArray\n\n", "")
    header = header.replace("\nfrom .. import _runtime as _rt\n", "")
    out = [header]
    for op in module.ops:
        out.append("\n" + function_source(op))
    return "\n".join(out).rstrip() + "\n"
