"""Print ``nnref/_generated/optim.py``: one pure function per optimizer, its update lines
printed from SymPy in the record's order, each under its condition.

Owns: the optimizer printer.  Imports: SymPy, the schema, ``.pointwise.domain_spec``,
``.printing`` and ``.header``.
"""

from __future__ import annotations

from typing import Any

from sympy.printing.pycode import PythonCodePrinter

from ..spec import Module
from .header import HEADER
from .pointwise import domain_spec
from .printing import EnginePrinter


class ScalarPrinter(PythonCodePrinter):
    """Scalar lines stay Python floats (math.sqrt, not numpy.sqrt), as torch computes them, so a
    float32 parameter is never promoted by a float64 NumPy scalar."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True})


def _default(p: Any) -> str:
    return repr(p.default)


def _signature(op: Any) -> str:
    hyper = ", ".join(f"{p.name}={_default(p)}" for p in op.params)
    # param and grad are Any (array-likes, rebound to checked arrays on the first line)
    return (f"def {op.name}(param: Any, grad: Any, state: dict[str, Any] | None = None, *, {hyper})"
            " -> tuple[NDArray[Any], dict[str, Any]]:")


def _checks(op: Any) -> list[str]:
    out = [f"    param, grad = _rt.float_arrays({op.name!r}, param=param, grad=grad)"]
    for p in op.params:
        if p.kind == "bool":
            out.append(f"    {p.name} = _rt.check_bool({op.name!r}, {p.name!r}, {p.name})")
        elif p.kind == "pair":
            out.append(f"    beta1, beta2 = _opt.check_pair({op.name!r}, {p.name!r}, {p.name},"
                       f" {domain_spec(p.domain)!r})")
        else:
            out.append(f"    {p.name} = _rt.check_float({op.name!r}, {p.name!r}, {p.name}, {domain_spec(p.domain)!r})")
    for name, condition, expected in op.relations:
        out.append(f"    _rt.check_relation({op.name!r}, {name!r}, {name}, {condition}, {expected!r})")
    return out


def _state(op: Any) -> list[str]:
    kept = ", ".join(f"{v.name!r}: ({v.initial if isinstance(v.initial, str) else repr(v.initial)},"
                     f" {v.when or 'True'})" for v in op.state)
    out = ["    # the arrays kept between steps: name -> (initial value, whether this configuration keeps it)",
           f"    state = _opt.check_state({op.name!r}, state, param, {{{kept}}})",
           "    step = state['step'] + 1"]
    out += [f"    {v.name}: Any = state.get({v.name!r})" for v in op.state]
    return out


def _lines(op: Any) -> list[str]:
    arrays, scalars = EnginePrinter(extended=False), ScalarPrinter()
    out = []
    for u in op.updates:
        printer = scalars if u.scalar else arrays
        code = f"{u.target} = {printer.doprint(u.expr)}"
        why = f"  # {u.why}" if u.why else ""
        if u.when:
            out.append(f"    if {u.when}:{why}")
            out.append(f"        {code}")
        else:
            out.append(f"    {code}{why}")
    return out


def _doc(op: Any) -> list[str]:
    hyper = ", ".join(p.name for p in op.params)
    return [f'    """{op.summary}',
            "",
            f"    One step of torch.optim.{_TORCH[op.name]} ({hyper}), in torch 2.13's order of operations."
            "  Returns",
            "    (new_param, new_state); nothing passed in is modified.  state is None on the first step.",
            '    """']


_TORCH = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def function_source(op: Any) -> str:
    kept = ", ".join(f"{v.name!r}: {v.name}" for v in op.state)
    body = [_signature(op), *_doc(op), *_checks(op), *_state(op), *_lines(op),
            f"    return param, _opt.new_state(step, {{{kept}}})"]
    return "\n".join(body) + "\n"


def module_source(module: Module) -> str:
    future = "from __future__ import annotations\n"
    header = HEADER.format(source="optim").replace(future, future + "\nimport math\nfrom typing import Any\n")
    header = header.replace("from numpy.typing import ArrayLike, NDArray", "from numpy.typing import NDArray")
    header += "from .. import _optim as _opt\n"
    names = ", ".join(repr(op.name) for op in module.ops)
    out = [header, f"__all__ = [{names}]", ""]
    for op in module.ops:
        out.append("\n" + function_source(op))
    return "\n".join(out)
