"""Print the step-list ops (softmax, the dense layer, class-probability losses) as NumPy.

A step is one line of the engine: an elementwise SymPy formula, a reduction along the
op's axis, or an einsum contraction; ``derivations/steps.py`` proves the steps equal to
the op's definition and to SymPy's derivative of it.

Owns: the step printer.  Imports: the schema, ``.printing`` and ``.header``.
"""

from __future__ import annotations

from ..spec import Module, Step, StructuredOp
from .header import HEADER
from .printing import EnginePrinter


def kernel_source(op: StructuredOp) -> str:
    """The op's forward and VJP kernels as NumPy source."""
    printer = EnginePrinter()
    params = [p.symbol.name for p in op.params if p.symbol is not None]
    args = list(op.kernel_args) + params + ["axis"]

    def body(steps: tuple[Step, ...]) -> list[str]:
        lines = []
        for st in steps:
            if st.contract is not None:
                subs, operands = st.contract
                rhs = f"_rt.contract({subs!r}, {', '.join(operands)})"
            elif st.reduce is not None:
                assert st.expr is not None
                fn = "_rt.sum_along" if st.reduce == "sum" else "_rt.max_along"
                rhs = f"{fn}({printer.doprint(st.expr)}, axis)"
            else:
                assert st.expr is not None
                rhs = printer.doprint(st.expr)
            lines.append(f"        {st.name} = {rhs}")
        return lines

    grads = [a for a in op.inputs if a.grad]
    src = [f"def _{op.name}_forward({', '.join(args)}):", "    with _rt.quiet():"]
    src += body(op.forward) + ["        return out", "", ""]
    src += [f"def _{op.name}_vjp({', '.join(['g'] + args)}):", "    with _rt.quiet():"]
    src += body(op.vjp)
    src += ["        return {"] + [f"            {a.name!r}: grad_{a.name}," for a in grads] + ["        }", ""]
    return "\n".join(src)


def module_source(module: Module) -> str:
    """nnref/_generated/<module>.py: the forward and VJP kernels of every step-list op."""
    ops = [op for op in module.ops if isinstance(op, StructuredOp)]
    head = HEADER.format(source=module.name).replace("from numpy.typing import ArrayLike, NDArray\n", "")
    return head + "".join("\n\n" + kernel_source(op) for op in ops)
