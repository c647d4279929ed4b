"""What the pages quote from the engine: generated kernels and nnref's call signatures.

Owns: reading ``nnref/_generated/*.py`` (``generated_kernel``, ``kernel_sources``) and
``nnref``'s public signatures (``call_signature``, ``signature_line``, ``signature_defaults``,
``required_params``), and the tolerances the test suite applies (``applied_tolerances``).
Imports: ``nnref`` (inside functions, so that importing the builder does not load the engine),
``.paths``; no other page module.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

from .paths import GENERATED, ROOT

_FUNCS: dict[str, tuple[str, str]] = {}


def _generated_functions() -> dict[str, tuple[str, str]]:
    """{function name: (module file, exact source)} for every generated module."""
    if not _FUNCS:
        for path in sorted(GENERATED.glob("*.py")):
            text = path.read_text()
            for node in ast.parse(text).body:
                if isinstance(node, ast.FunctionDef):
                    seg = ast.get_source_segment(text, node)
                    if seg is not None:
                        _FUNCS[node.name] = (path.relative_to(ROOT).as_posix(), seg)
    return _FUNCS


def generated_kernel(name: str) -> str:
    """The exact source of one generated function."""
    return _generated_functions()[name][1]


def kernel_sources(op: Any) -> list[tuple[str, str, str]]:
    """[(function name, module path, source)] of the op's forward and VJP kernels."""
    funcs = _generated_functions()
    out = []
    for kind in ("forward", "vjp"):
        name = f"_{op.name}_{kind}"
        if name in funcs:
            out.append((name, *funcs[name]))
    return out


def applied_tolerances(public: str) -> dict[str, dict[str, Any]] | None:
    """{dtype: {rtol, atol, why}} as the cross-check reads them (the generated catalog), which
    holds one entry per public op: the largest tolerance over its variants."""
    from nnref._generated.catalog import CATALOG

    for meta in CATALOG:
        if meta["name"] == public:
            return dict(meta["tolerances"])
    return None


def signature_defaults(name: str) -> dict[str, Any]:
    import nnref

    fn = getattr(nnref, name, None)
    if fn is None:
        return {}
    return {p.name: p.default for p in inspect.signature(fn).parameters.values()
            if p.default is not inspect.Parameter.empty}


def required_params(op: Any) -> set[str]:
    """Parameters the description requires. Some carry a None default in Python only so that
    leaving them out raises nnref's own error (softmax's dim); a reader must not take that
    None for a default."""
    return {p.name for p in getattr(op, "params", ())
            if p.default is None and p.kind not in ("optional_array", "int_tuple", "optional_int")}


def call_signature(name: str, required: frozenset[str] | set[str] = frozenset()) -> str | None:
    import nnref

    fn = getattr(nnref, name, None)
    if fn is None:
        return None
    parts = [p.name if p.default is inspect.Parameter.empty or p.name in required else f"{p.name}={p.default!r}"
             for p in inspect.signature(fn).parameters.values()]
    return f"nnref.{name}({', '.join(parts)})"


def signature_line(op: Any) -> str:
    name = op.public
    required = required_params(op)
    fwd, bwd = call_signature(name, required), call_signature(f"{name}_backward", required)
    if not fwd:
        return ""
    out = f"`{fwd}`"
    if bwd:
        out += f" · `{bwd}` returns a dict of gradients keyed by argument name."
    return out
