"""Print ``nnref/_generated/receptive.py``: the receptive-field recurrence SymPy read off the
composed index maps, and the parameter counts, as plain integer Python.

The loop over layers, the argument checks and the kernel-size product are hand-written in
``nnref/_receptive.py``; every formula is printed here.

Owns: the formula printer.  Imports: SymPy, the schema and ``.printing``/``.header``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..spec import Module
from .header import HEADER
from .printing import EnginePrinter

#: the order a printed function takes its arguments in
ARG_ORDER = ("size", "jump", "start", "kernel_size", "stride", "padding", "dilation", "in_features",
             "out_features", "out_channels", "channels_per_group", "kernel_taps", "bias")


def function_source(op: Any) -> str:
    printer = EnginePrinter(extended=False)
    names = sorted({sym.name for e in op.formulas.values() for sym in e.free_symbols}, key=ARG_ORDER.index)
    fname = "_receptive_step" if op.name == "receptive_field" else f"_{op.name}"
    body = ", ".join(f"{key!r}: {printer.doprint(expr)}" for key, expr in op.formulas.items())
    why = "; ".join(f"{key} = {sp.sstr(expr)}" for key, expr in op.formulas.items())
    return (f"def {fname}({', '.join(names)}):\n"
            f"    # SymPy: {why}\n"
            f"    return {{{body}}}\n")


def module_source(module: Module) -> str:
    header = HEADER.format(source="receptive")
    header = header.replace("import numpy\nfrom numpy.typing import ArrayLike, NDArray\n\n", "")
    header = header.replace("\nfrom .. import _runtime as _rt\n", "")
    return "\n".join([header, *("\n" + function_source(op) for op in module.ops)]).rstrip() + "\n"
