"""The tables an op's section shows: arguments, tolerances and conventions.

Owns: ``arguments_table``, ``tolerance_table``, ``conventions_table`` and what they need
(domains as LaTeX, SymPy's raw derivative at a convention's point).  Imports: SymPy,
``derivations.derive``, ``derivations.spec``, ``.kernels``, ``.latex``, ``.markup``; no other
page module.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from derivations.derive import raw_derivative
from derivations.spec import Arg, Convention, Param

from .kernels import applied_tolerances, signature_defaults
from .latex import tex
from .markup import cell, fmt, table, table_math

TEST_DOMAIN_TEX = {"real": r"\mathbb{R}", "unit": r"[0, 1]", "positive": r"(0, \infty)",
                   "nonneg": r"[0, \infty)"}


def _arg_domain(a: Arg) -> str:
    if a.domain is not None:
        return table_math(tex(a.domain))
    if a.kind == "label" or a.test_domain in ("sign", "pm1"):
        return "labels ±1" if a.test_domain in ("sign", "pm1") else "labels"
    return table_math(TEST_DOMAIN_TEX.get(a.test_domain, r"\mathbb{R}"))


# How a parameter kind reads in the domain column, where its values are not a SymPy set.
PARAM_KIND_DOMAIN = {
    "bool": "`True`, `False`",
    "int": "integer",
    "optional_array": "array or `None`",
    "optional_int": "int or `None`",
    "int_tuple": "int or tuple of ints",
    "padding": "int, tuple of ints, `'valid'`, `'same'`",
}


def _param_domain(p: Param) -> str:
    if p.kind == "choice":
        return ", ".join(f"`{c!r}`" for c in p.choices)
    if p.kind in PARAM_KIND_DOMAIN:
        return PARAM_KIND_DOMAIN[p.kind]
    if p.domain is not None:
        return table_math(tex(p.domain))
    return table_math(r"\mathbb{R}")


def arguments_table(op: Any) -> str:
    rows = []
    optional = signature_defaults(op.public)
    for a in op.inputs:
        default = "required"
        if a.optional is not None:
            default = f"`None` (means {fmt(a.optional)})"
        elif a.name in optional:
            default = f"`{optional[a.name]!r}`"
        grad = "" if a.grad else " (not differentiated)"
        rows.append([f"`{a.name}`", table_math(tex(a.symbol)), default, _arg_domain(a), cell(a.doc) + grad])
    for p in op.params:
        sym = table_math(tex(p.symbol)) if p.symbol is not None else "—"
        if p.default is not None:
            default = f"`{p.default!r}`"
        elif p.kind == "optional_array" or (p.kind in ("int_tuple", "optional_int") and p.name in optional):
            default = "`None`"  # pooling's stride, output_size, divisor_override: None in the signature
        else:
            default = "required"
        rows.append([f"`{p.name}`", sym, default, _param_domain(p), cell(p.doc)])
    if getattr(op, "weight", False):
        spread = getattr(op, "weight_layout", "elementwise") == "broadcast"
        grad = "; differentiated" if getattr(op, "weight_grad", False) else ""
        rows.append(["`weight`", "—", "`None`", "array",
                     f"elementwise weight, {'broadcast to' if spread else 'the shape of'} input{grad}"])
    if op.reduction:
        reds = getattr(op, "reductions", ("none", "mean", "sum"))
        rows.append(["`reduction`", "—", f"`{optional.get('reduction', 'mean')!r}`",
                     ", ".join(f"`{r!r}`" for r in reds),
                     "how the elementwise losses combine"])
    return table(["argument", "symbol", "default", "domain", "meaning"], rows)


def tolerance_table(ops: list[Any]) -> str:
    rows = []
    for o in ops:
        # The page shows what the suite applies, read where the suite reads it; a record's own
        # declaration can be smaller when a variant of the same public op needs more.
        applied = applied_tolerances(o.public) or {}
        for dt in ("float64", "float32"):
            t = o.tol(dt)
            used = applied.get(dt, {"rtol": t.rtol, "atol": t.atol})
            why = t.why
            if (used["rtol"], used["atol"]) != (t.rtol, t.atol):
                why = why.rstrip(".") + (f". The suite tests `{o.public}` as one op, at the largest"
                                          f" tolerance of its variants (declared here: rtol {fmt(t.rtol, 3)},"
                                          f" atol {fmt(t.atol, 3)}).")
            name = f"`{o.name}` " if len(ops) > 1 else ""
            rows.append([f"{name}{dt}", fmt(used["rtol"], 3), fmt(used["atol"], 3), cell(why)])
    return table(["dtype", "rtol", "atol", "why"], rows)


def _point_subs(op: Any, c: Convention) -> dict[sp.Symbol, Any] | None:
    subs: dict[sp.Symbol, Any] = {}
    for a in op.inputs:
        if a.name in c.point:
            v = c.point[a.name]
            if isinstance(v, float) and math.isnan(v):
                return None
            subs[a.symbol] = sp.nsimplify(v)
    for p in op.params:
        if p.symbol is None:
            continue
        v = c.params.get(p.name, p.default)
        if v is None:
            return None
        subs[p.symbol] = sp.nsimplify(v)
    return subs


def _value_tex(v: sp.Expr) -> str | None:
    v = sp.simplify(v)
    if v.free_symbols:
        return None
    if v.is_Rational or v is sp.nan or v.is_infinite:
        return tex(v)
    try:
        return tex(sp.Float(float(v), 6))
    except TypeError:
        return None


def sympy_at_point(op: Any, c: Convention) -> str:
    """What SymPy's raw derivative gives at the convention's point, and whether it differs
    (for ops whose derivative is one SymPy expression)."""
    subs = _point_subs(op, c)
    if subs is None or not c.point:
        if any(isinstance(v, float) and math.isnan(v) for v in c.point.values()):
            return "undefined: SymPy has no NaN"
        return "—"
    out = []
    for wrt, declared in c.grads.items():
        try:
            raw = _value_tex(raw_derivative(op, wrt).subs(subs))
            ours = _value_tex(sp.sympify(declared).subs(subs))
        except Exception:  # noqa: BLE001 - SymPy may fail to evaluate at a kink
            raw, ours = None, None
        label = f"`{wrt}`: " if len(c.grads) > 1 else ""
        if raw is None:
            out.append(f"{label}undefined")
            continue
        same = "same" if ours is not None and raw == ours else "**differs**"
        out.append(f"{label}{table_math(raw)} ({same})")
    return "<br>".join(out)


# Renderers whose records hold one SymPy derivative per input, so a convention's point can be
# compared with SymPy's raw value there (a step list has no single expression to evaluate).
RAW_AT_POINT = {"pointwise"}


def conventions_table(op: Any) -> str:
    if not op.conventions:
        return ("None needed: the derivative SymPy gives is what torch returns everywhere,"
                " including at the edges the tests draw.")
    rows = []
    for c in op.conventions:
        point = ", ".join(f"`{k}` = {fmt(v)}" for k, v in {**c.point, **c.params}.items())
        where = cell(c.where) if c.where else table_math(tex(c.condition))
        where += f"<br>tested at {point}" if point else ""
        returns = "<br>".join(f"`{k}`: {table_math(tex(v))}" for k, v in c.grads.items())
        if op.renderer in RAW_AT_POINT:
            returns += "<br>SymPy's raw derivative there: " + sympy_at_point(op, c)
        rows.append([cell(c.label), where, returns, cell(c.why)])
    return table(["convention", "where", "gradient returned", "why"], rows)
