"""Every op by name: one lookup for tools and the conformance suite.

Owns: ``Op``, ``get_op``, ``all_ops``.  Imports: ``nnref`` and its generated catalog,
lazily.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALIASES = {"log_sigmoid": "logsigmoid"}


@dataclass(frozen=True)
class Op:
    """An op's forward and backward, and its catalog entry (inputs, parameters, conventions).

    ``backward(grad_output, *inputs, **params)`` returns a dict from each differentiable
    input's name to its gradient; it is None for what has no gradient (initialisers,
    optimizers), whose catalog entry says how it is verified instead (``crosscheck``).
    """

    name: str
    family: str
    forward: Callable[..., Any]
    backward: Callable[..., dict[str, Any]] | None
    meta: dict[str, Any]

    @property
    def inputs(self) -> list[str]:
        return [i["name"] for i in self.meta["inputs"]]

    @property
    def differentiable(self) -> list[str]:
        return list(self.meta["differentiable"])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)


def _build() -> dict[str, Op]:
    # The catalog is large and only the lookup needs it: loaded on first use, not at
    # `import nnref`.
    import nnref

    from ._generated.catalog import CATALOG

    def resolve(path: str | None) -> Any:
        if path is None:
            return None
        obj: Any = nnref
        for part in path.split(".")[1:]:  # the catalog writes "nnref.<name>" or "nnref.<namespace>.<name>"
            obj = getattr(obj, part)
        return obj

    out = {}
    for entry in CATALOG:
        name = entry["name"]
        out[name] = Op(name, entry["family"], resolve(entry["forward"]), resolve(entry["backward"]), entry)
    return out


_OPS: dict[str, Op] | None = None


def all_ops() -> dict[str, Op]:
    """Every op, keyed by its torch.nn.functional name."""
    global _OPS
    if _OPS is None:
        _OPS = _build()
    return _OPS


def get_op(name: str) -> Op:
    """The op called ``name`` (torch.nn.functional spelling; a few aliases accepted)."""
    ops = all_ops()
    key = ALIASES.get(name, name)
    if key not in ops:
        close = difflib.get_close_matches(name, list(ops), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"nnref has no op {name!r}{hint} (python -m nnref ops lists them)")
    return ops[key]
