"""Every op description, in one list: what codegen, the catalog, the tests and the pages iterate.

Owns: ``MODULES`` (each description module under ``derivations/ops/`` and the engine
module printed from it, in the order the catalog lists them) and ``FAMILIES`` (the site's
grouping, in navigation order).  Adding a family is one module under ``ops/`` and one line
in each list.  Imports: the descriptions and the schema; nothing that prints or renders.
"""

from __future__ import annotations

from .ops import activations, conv, init, losses, optim, pool, receptive, regularisation, structured
from .spec import Family, Module, OpRecord

MODULES: tuple[Module, ...] = (
    Module("activations", tuple(activations.OPS)),
    Module("losses", tuple(losses.OPS)),
    Module("structured", tuple(structured.OPS)),
    Module("conv", tuple(conv.OPS)),
    Module("pool", tuple(pool.OPS)),
    Module("init", tuple(init.OPS), namespace="init"),
    Module("optim", tuple(optim.OPS), namespace="optim"),
    Module("regularisation", tuple(regularisation.OPS)),
    Module("receptive", tuple(receptive.OPS)),
)

FAMILIES: tuple[Family, ...] = (
    Family("linear", "linear.md", "Neuron / dense layer"),
    Family("activation", "activations.md", "Activations"),
    Family("loss", "losses.md", "Losses"),
    Family("convolution", "convolution.md", "Convolution"),
    Family("pooling", "pooling.md", "Pooling"),
    Family("init", "init.md", "Initialisation"),
    Family("optim", "optim.md", "Optimizers"),
    Family("regularisation", "regularisation.md", "Regularisation"),
    Family("receptive", "receptive-fields.md", "Receptive fields and sizes"),
)


def all_ops() -> list[OpRecord]:
    """Every record, variants included (gelu's approximate='tanh' is a record of its own)."""
    return [op for m in MODULES for op in m.ops]


def namespace_of(op: OpRecord) -> str:
    """Where users call it: "nnref." or "nnref.<namespace>." (initialisers, optimizers)."""
    for m in MODULES:
        if any(o is op for o in m.ops):
            return f"nnref.{m.namespace}." if m.namespace else "nnref."
    raise KeyError(f"no module holds op record {op.name!r}")


def public_ops() -> list[OpRecord]:
    """One record per function users call (variants folded into the op they belong to)."""
    return [op for op in all_ops() if getattr(op, "variant_of", None) is None]


def variants_of(op: OpRecord) -> list[OpRecord]:
    """The records reached through a parameter of ``op`` (e.g. gelu_tanh for gelu)."""
    if getattr(op, "variant_of", None) is not None:
        return []
    return [v for v in all_ops() if (getattr(v, "variant_of", None) or ("",))[0] == op.name]


def family_ops(family: str) -> list[OpRecord]:
    return [op for op in all_ops() if op.family == family]


def family(name: str) -> Family:
    for fam in FAMILIES:
        if fam.name == name:
            return fam
    raise KeyError(f"no family {name!r}; the families are {[f.name for f in FAMILIES]}")


def op_named(name: str) -> OpRecord:
    for op in all_ops():
        if op.name == name:
            return op
    raise KeyError(f"no op record {name!r}")
