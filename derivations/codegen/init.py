"""Print ``nnref/_generated/init.py``: each initialiser's bound or std as SymPy solved it from
its variance target, and calculate_gain's table.

The random draws, the fans and the argument checks are hand-written in ``nnref/init.py``; what
is printed here is every number an initialiser scales by.

Owns: the initialisation printer.  Imports: the schema, ``derivations.ops.init`` (the gain
table) and ``.printing``/``.header``.
"""

from __future__ import annotations

import sympy as sp

from ..ops.init import GAIN, slope
from ..spec import Module
from .header import HEADER
from .printing import EnginePrinter

#: the order a printed spread function takes its arguments in
ARG_ORDER = ("fan_in", "fan_out", "fan", "gain")


def spread_function(op: object) -> str:
    """``def _<name>_<bound|std>(...)``: the solved spread, printed."""
    expr = op.spread()  # type: ignore[attr-defined]
    names = sorted((s.name for s in expr.free_symbols), key=ARG_ORDER.index)
    target = sp.sstr(op.variance)  # type: ignore[attr-defined]
    return (f"def _{op.name}_{op.spread_name}({', '.join(names)}):\n"  # type: ignore[attr-defined]
            f"    # solved by SymPy from Var(w) = {target}\n"
            f"    return {EnginePrinter(extended=False).doprint(expr)}\n")


def module_source(module: Module) -> str:
    printer = EnginePrinter(extended=False)
    # only NumPy is used here: the header's typing and runtime imports are dropped
    header = HEADER.format(source="init")
    header = header.replace("from numpy.typing import ArrayLike, NDArray\n", "")
    header = header.replace("\nfrom .. import _runtime as _rt\n", "")
    out = [header, ""]
    table = ",\n".join(f"    {name!r}: {printer.doprint(g)}" for name, (g, _) in GAIN.items() if not g.free_symbols)
    out.append("# calculate_gain's constant gains (leaky_relu's depends on its slope: _leaky_relu_gain)\n"
               f"GAIN = {{\n{table},\n}}\n\n")
    leaky = GAIN["leaky_relu"][0]
    assert leaky.free_symbols == {slope}
    out.append(f"def _leaky_relu_gain({slope.name}):\n"
               "    # derived by SymPy: 1/sqrt(E[leaky_relu(z)^2]/sigma^2) for z ~ N(0, sigma^2)\n"
               f"    return {printer.doprint(leaky)}\n")
    for op in module.ops:
        if getattr(op, "variance", None) is not None:
            out.append("\n" + spread_function(op))
    return "\n".join(out).rstrip() + "\n"
