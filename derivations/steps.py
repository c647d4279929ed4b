"""Run a structured op's engine steps on arrays of SymPy symbols, print them as NumPy,
and prove them equal to the op's definition and to SymPy's derivative of it.

Owns: evaluating engine steps on symbol arrays and proving them.  Imports: ``.spec``,
``.derive`` and ``nnref._runtime.contract`` (the einsum the engine runs).
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from nnref._runtime import contract

from .derive import Proof, prove_equal
from .spec import Step, StructuredOp

GRAD = sp.Symbol("g", real=True)


def symbol_array(name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.empty(shape, dtype=object)
    for idx in itertools.product(*(range(n) for n in shape)):
        arr[idx] = sp.Symbol(f"{name}_{'_'.join(map(str, idx))}" if idx else name, real=True)
    return arr


def _elementwise(expr: sp.Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    syms = sorted((s for s in expr.free_symbols if s.name in env), key=lambda s: s.name)
    if not syms:
        return np.array(expr, dtype=object)
    arrays = np.broadcast_arrays(*(np.asarray(env[s.name], dtype=object) for s in syms))
    out = np.empty(arrays[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = expr.xreplace({s: sp.sympify(a[idx]) for s, a in zip(syms, arrays)})
    return out


def run_steps(steps: tuple[Step, ...], env: dict[str, np.ndarray], axis: int) -> dict[str, np.ndarray]:
    """Evaluate steps on object arrays; returns the environment with every step's result."""
    env = dict(env)
    for st in steps:
        if st.contract is not None:
            subscripts, operands = st.contract
            env[st.name] = contract(subscripts, *(np.asarray(env[o], dtype=object) for o in operands))
        elif st.reduce is not None:
            assert st.expr is not None
            vals = _elementwise(st.expr, env)
            if st.reduce == "sum":
                env[st.name] = vals.sum(axis=axis, keepdims=True)
            else:
                env[st.name] = np.apply_along_axis(lambda v: sp.Max(*v), axis, vals)
                env[st.name] = np.expand_dims(env[st.name], axis)
        else:
            assert st.expr is not None
            env[st.name] = _elementwise(st.expr, env)
    return env


def _instance_env(op: StructuredOp, inst: dict[str, object]) -> dict[str, np.ndarray]:
    env = {}
    for name, spec in inst.items():
        env[name] = np.asarray(spec, dtype=object) if isinstance(spec, np.ndarray) else symbol_array(name, spec)
    return env


def prove_structured(op: StructuredOp) -> list[Proof]:
    proofs = []
    wrt = {a.name: a.symbol.name for a in op.inputs if a.grad}
    for n, inst in enumerate(op.instances):
        env = _instance_env(op, inst)
        shape_txt = ", ".join(f"{k}{np.shape(v)}" for k, v in env.items())
        definition = op.definition(env, op.axis)
        engine = run_steps(op.forward, env, op.axis)["out"]
        free = set().union(*(sp.sympify(v).free_symbols for v in np.ravel(definition)))
        ranges = {s: (-3.0, 3.0) for s in free}
        proofs.append(prove_equal(sp.Matrix(np.ravel(engine)), sp.Matrix(np.ravel(definition)), ranges,
                                  f"{op.name} [{shape_txt}]: engine forward equals the definition",
                                  seed=n))
        gsyms = symbol_array("g", np.shape(definition))
        loss = sum(np.ravel(gsyms * definition), sp.S.Zero)
        back = run_steps(op.vjp, {**env, "g": gsyms}, op.axis)
        for arg, sym_name in wrt.items():
            raw = np.vectorize(lambda v, total=loss: sp.diff(total, v), otypes=[object])(env[sym_name])
            got = np.broadcast_to(np.asarray(back[f"grad_{arg}"], dtype=object), raw.shape)
            free = set().union(*(sp.sympify(v).free_symbols for v in np.ravel(raw)),
                               *(sp.sympify(v).free_symbols for v in np.ravel(got)))
            ranges = {s: (-3.0, 3.0) for s in free}
            proofs.append(prove_equal(sp.Matrix(np.ravel(got)), sp.Matrix(np.ravel(raw)), ranges,
                                      f"{op.name} [{shape_txt}]: engine VJP for {arg} equals SymPy's"
                                      f" derivative of <g, definition>", seed=100 + n))
    return proofs
