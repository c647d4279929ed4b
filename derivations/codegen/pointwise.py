"""Print a module of pointwise ops (activations, elementwise losses) as NumPy.

Each op becomes a private forward and VJP kernel printed from SymPy's expressions (the
stable rewrite, the derivative with the op's conventions laid over it) and a public
function that checks its arguments and dispatches to the kernels (and to variants).

Owns: the pointwise printer and ``domain_spec`` (a SymPy set as plain data).
Imports: the schema, ``derivations.derive`` and ``.printing``/``.header``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..derive import engine_derivative, engine_forward
from ..spec import Module, PointwiseOp
from .header import HEADER
from .printing import flatten_all, into, print_block


def domain_spec(dom: sp.Set | None) -> Any:
    """A SymPy set as plain data the runtime can check without SymPy."""
    if dom is None or dom == sp.S.Reals:
        return None
    if isinstance(dom, sp.Interval):
        lo = None if dom.start == -sp.oo else float(dom.start)
        hi = None if dom.end == sp.oo else float(dom.end)
        return {"lo": lo, "hi": hi, "lo_open": bool(dom.left_open), "hi_open": bool(dom.right_open)}
    excluded = sp.S.Reals - dom
    if isinstance(excluded, sp.FiniteSet):
        return {"exclude": [float(v) for v in excluded]}
    raise ValueError(f"cannot express domain {dom} for the runtime")


def _param_sig(op: PointwiseOp) -> list[str]:
    out = []
    for p in op.params:
        if p.default is None and p.kind == "float":
            out.append(f"{p.name}: float")
        elif p.kind == "choice":
            out.append(f"{p.name}: str = {p.default!r}")
        elif p.kind == "bool":
            out.append(f"{p.name}: bool = {p.default!r}")
        else:
            out.append(f"{p.name}: float = {p.default!r}")
    return out


def _param_checks(op: PointwiseOp, indent: str) -> list[str]:
    lines = []
    for p in op.params:
        if p.kind == "choice":
            lines.append(f"{indent}_rt.check_choice({op.public!r}, {p.name!r}, {p.name}, {p.choices!r})")
        elif p.kind == "bool":
            lines.append(f"{indent}{p.name} = _rt.check_bool({op.public!r}, {p.name!r}, {p.name})")
        else:
            lines.append(f"{indent}{p.name} = _rt.check_float({op.public!r}, {p.name!r}, {p.name},"
                         f" {domain_spec(p.domain)!r})")
    for name, condition, expected in op.relations:
        lines.append(f"{indent}_rt.check_relation({op.public!r}, {name!r}, {name}, {condition}, {expected!r})")
    return lines


def _signs_inward(e: sp.Expr, negate: bool = False) -> sp.Expr:
    """e (negated if ``negate``) with every minus in front of a Piecewise moved into its
    branches, recursively, and each branch's value expanded: SymPy keeps -Piecewise(...) as a
    product, so a derivative and its negation compare equal only in this form (for comparing;
    the kernels print the derivatives as they are)."""
    if isinstance(e, sp.Mul) and e.args[0] == -1 and len(e.args) == 2 and isinstance(e.args[1], sp.Piecewise):
        return _signs_inward(e.args[1], not negate)
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*((_signs_inward(v, negate), c) for v, c in e.args), evaluate=False)
    return sp.expand(-e if negate else e)  # -(x - y)/b and (y - x)/b alike


def mirrors(grads: dict[str, sp.Expr]) -> dict[str, str]:
    """{key: earlier key} for each derivative that is the negation of an earlier one (a loss's
    d/dtarget = -d/dinput): its kernel negates that result, grad·(-E) = -(grad·E) to the bit
    in round-to-nearest (the sign of a NaN aside), instead of evaluating E a second time.  One
    sign of zero moves: where a branch is the constant 0, SymPy's -0 is 0 and the target used
    to be grad·(+0); it is now -(grad·0), the other zero (l1_loss and smooth_l1_loss with
    beta = 0 at input == target), which is torch's (tests/test_special_values.py)."""
    found: dict[str, str] = {}
    for i, k in enumerate(grads):
        mine = _signs_inward(grads[k])
        for j in list(grads)[:i]:
            if j not in found and mine == _signs_inward(grads[j], negate=True):
                found[k] = j
                break
    return found


def _kernel_source(op: PointwiseOp, group: list[PointwiseOp]) -> str:
    """Private forward and VJP kernels: pure formulas over broadcast-compatible arrays.
    ``group`` is the op with its variants (they share a public function, so a precision)."""
    syms = [a.symbol.name for a in op.args]
    psyms = [p.symbol.name for p in op.params if p.symbol is not None]
    sig = ", ".join(syms + psyms)
    ext = {k: _precision(group, k) == "ext" for k in KERNELS}
    fwd_lines, fwd = print_block({"out": engine_forward(op)}, extended=ext["forward"], arrays=tuple(syms))
    grads = {a.name: engine_derivative(op, a.name) for a in op.args if a.grad}
    if op.grad_first:
        # The upstream gradient multiplies each term first, as autograd does (see spec).
        g = sp.Symbol("grad")
        grads = {k: sp.Add(*(g * term for term in sp.Add.make_args(v))) for k, v in grads.items()}
    mirrored = {} if op.grad_first else mirrors(grads)
    bwd_lines, bwd = print_block({k: v for k, v in grads.items() if k not in mirrored}, extended=ext["vjp"],
                                 arrays=(*syms, "grad"))
    src = [f"def _{op.name}_forward({sig}, out=None):",
           f"    # {op.name}(x) as printed from its {'stable rewrite' if op.rewrite else 'definition'}",
           "    with _rt.quiet():"]
    src += fwd_lines + [f"        return {into(fwd['out'], 'out')}", "", ""]
    src += [f"def _{op.name}_vjp(grad, {sig}, out=None):",
            "    # derivative: " + ("declared closed form" if any(c.use_in_engine for c in op.closed_forms)
                                   else "SymPy's derivative of the definition")
            + (" with the op's conventions laid over it" if op.conventions else ""),
            "    with _rt.quiet():"]
    src += bwd_lines
    results = {k: into(v if op.grad_first else f"grad * ({v})", f"_rt.slot(out, {k!r})") for k, v in bwd.items()}
    named = {j: f"d_{j}" for j in mirrored.values()}  # results another one negates
    src += [f"        {named[k]} = {v}" for k, v in results.items() if k in named]
    results = {k: named.get(k, v) for k, v in results.items()}
    results.update({k: f"numpy.negative({named[j]}, out=_rt.slot(out, {k!r}))" for k, j in mirrored.items()})
    src += ["        return {"]
    src += [f"            {k!r}: {results[k]}," for k in grads]
    src += ["        }", "", ""]
    return "\n".join(src)


KERNELS = ("forward", "vjp")


def _precision(ops: list[PointwiseOp], kernel: str) -> str:
    """'ext' where the op (or any of its variants, which share the public function) declares
    that kernel extended, 'native' where every variant's kernel rounds at most once (then the
    input's own dtype gives the correctly rounded result, see ``rounds_once``), else 'wide'
    (float32 to float64, float64 as it is)."""
    for op in ops:
        bad = set(op.extended) - set(KERNELS)
        if bad or (op.extended and not op.extended_reason):
            raise ValueError(f"{op.name}: extended must name kernels among {KERNELS} and give its reason,"
                             f" got {op.extended!r} / {op.extended_reason!r}")
    if any(kernel in op.extended for op in ops):
        return "ext"
    return "native" if all(rounds_once(_kernel_expr(op, kernel)) for op in ops) else "wide"


def _kernel_expr(op: PointwiseOp, kernel: str) -> sp.Expr:
    """The formula a kernel evaluates: the forward, or grad times each derivative (summed)."""
    if kernel == "forward":
        return flatten_all(engine_forward(op))
    g = sp.Symbol("grad")
    terms = [g * engine_derivative(op, a.name) for a in op.args if a.grad]
    return sp.Tuple(*(flatten_all(t) for t in terms))


# Operations that give an exact result (no rounding) on floating-point inputs.
_EXACT = ("Abs", "Max", "Min", "sign", "IsNaN", "IsInf")


def rounds_once(e: sp.Expr) -> bool:
    """Whether ``e`` rounds at most once on every path (one +, −, ×, ÷ or square of exact
    values; choices, comparisons, |x|, max, min, negation and small dyadic constants are
    exact).  Such a formula evaluated in float32 (or float16) gives the float64 evaluation
    rounded to float32 bit for bit: one operation rounded to 53 bits and then to 24 is rounded
    correctly (53 >= 2·24 + 2), so the kernel can skip the widening copy."""
    return (_roundings(e) or 0) <= 1 and _roundings(e) is not None


def _roundings(e: Any) -> int | None:
    """The most roundings on a path from ``e`` to a leaf; None where one is not allowed."""
    if isinstance(e, sp.Tuple):
        parts = [_roundings(a) for a in e.args]
        return None if None in parts else max(parts, default=0)
    if e.is_Symbol or e in (sp.nan, sp.oo, -sp.oo) or e in (sp.true, sp.false):
        return 0
    if e.is_Number:
        ok = e.is_Rational and abs(e.p) < 2**11 and e.q & (e.q - 1) == 0 and e.q < 2**11
        return 0 if ok else None
    if isinstance(e, (sp.Piecewise, sp.logic.boolalg.Boolean, sp.core.relational.Relational)) \
            or type(e).__name__ in _EXACT:
        parts = [_roundings(a) for a in e.args]
        if None in parts:
            return None
        if (isinstance(e, sp.sign) or type(e).__name__ == "IsNaN") and isinstance(e.args[0], sp.Add) \
                and len(e.args[0].args) == 2 and parts == [1]:
            # a sum of two exact terms rounds to 0 only when it is 0 (a sum cannot underflow),
            # keeps its sign otherwise, and is NaN only when the exact sum is (overflow gives
            # inf): its sign and its NaN test are exact
            return 0
        if not isinstance(e, sp.Piecewise) and type(e).__name__ in _EXACT:
            return max(parts, default=0)
        # conditions must be exact: a rounded operand could move a comparison's answer
        conds = [_roundings(c) for _, c in e.args] if isinstance(e, sp.Piecewise) else parts
        return max(parts, default=0) if not any(conds) else None
    args = [a for a in e.args if not (isinstance(e, sp.Mul) and a == -1)]
    parts = [_roundings(a) for a in args]
    if None in parts:
        return None
    if isinstance(e, (sp.Add, sp.Mul)):
        return max(parts) + len(args) - 1
    if isinstance(e, sp.Pow) and e.exp in (-1, 2):
        return parts[0] + 1
    return None


def _public_source(op: PointwiseOp, variants: list[PointwiseOp]) -> str:
    arg_names = [a.name for a in op.args if a.optional is None]
    sig = ", ".join([f"{n}: ArrayLike" for n in arg_names] + _keyword_sig(op))
    # The kernels run in float64 whatever the input dtype (in extended precision for float64
    # where the op declares it, see _precision): a float32 result is the float64 value
    # rounded once by _rt.like.
    widen = {k: _precision([op, *variants], k) for k in KERNELS}
    arrays = ", ".join(a.symbol.name for a in op.args)
    # A float parameter is taken in the input's dtype, as torch takes a Python scalar: a
    # float32 call compares with threshold rounded to float32 (then evaluated exactly).
    first = op.args[0].symbol.name
    psyms = ", ".join(f"{p.symbol.name}={_as_kernels_take(p.name, op)}" for p in op.params if p.symbol is not None)
    # _rt.blocked(kernel, (arrays,), widen, ref, params...): the kernel on cache-sized blocks
    # (each widened as it is read), in threads; with ref, the results come back rounded to its
    # dtype.  A loss's forward stays float64 for its reduction, and a gradient that is reduced
    # afterwards (prelu's weight, a broadcast target) is rounded after that.
    plain = all(a.layout not in SPREAD and a.layout != "channel" for a in op.args if a.grad)
    ref = {"forward": "None" if op.reduction else first, "vjp": first if plain else "None"}
    pre = {"forward": "", "vjp": "grad, "}
    # 'native' needs the result rounded to the input's dtype (a loss's float64 forward is not)
    widen = {k: "wide" if v == "native" and ref[k] == "None" else v for k, v in widen.items()}
    call = {k: f"({pre[k]}{arrays},), _rt.{widen[k]}, {ref[k]}" + (f", {psyms}" if psyms else "") for k in KERNELS}
    source = {"activation": "activations", "loss": "losses"}[op.family]
    doc = (f'    """{op.summary}\n\n    Generated from derivations/ops/{source}.py; see the docs page for the\n'
           f'    derivation, conventions and verification.\n    """')
    body = [f"def {op.public}({sig}) -> NDArray[numpy.floating]:", doc]
    body += _unpack(op)
    body += _param_checks(op, "    ")
    body += _dispatch(op, variants, call["forward"], "forward", "    ")
    if op.reduction:
        body.append(f"    return _rt.reduce_loss({op.public!r}, out, {op.args[0].symbol.name},"
                    f" {_reduce_args(op)})")
    else:
        body.append("    return out")
    body += ["", ""]

    bsig = ", ".join(["grad_output: ArrayLike"] + [sig])
    body.append(f"def {op.public}_backward({bsig}) -> dict[str, NDArray[numpy.floating]]:")
    body.append(f'    """Vector-Jacobian product of {op.public}: the gradient of <grad_output, {op.public}(...)>\n'
                f'    with respect to each differentiable input, keyed by argument name."""')
    body += _unpack(op, backward=True)
    body += _param_checks(op, "    ")
    first = op.args[0].symbol.name
    if op.reduction:
        body.append(f"    grad = _rt.unreduce_grad({op.public!r}, grad_output, {first}, {_reduce_args(op)})")
    else:
        body.append(f"    grad = _rt.grad_array({op.public!r}, grad_output, {first})")
    body += _dispatch(op, variants, call["vjp"], "vjp", "    ", target="grads")
    body.append("    result = {" if op.weight_grad else "    return {")
    for a in op.args:
        if not a.grad:
            continue
        if a.layout == "channel":
            body.append(f"        {a.name!r}: _rt.channel_reduce(grads[{a.name!r}], {first}, {a.symbol.name}_shape),")
        elif a.layout in SPREAD:
            body.append(f"        {a.name!r}: _rt.unbroadcast(grads[{a.name!r}], {first}, {a.symbol.name}.shape,"
                        f" numpy.shape({a.name})),")
        else:
            value = f"grads[{a.name!r}]" if plain else f"_rt.like(grads[{a.name!r}], {first})"
            body.append(f"        {a.name!r}: {value},")
    body.append("    }")
    if op.weight_grad:
        # torch differentiates the weight too: d/dweight needs the elementwise losses.
        body.append("    if weight is not None:")
        body += _dispatch(op, variants, call["forward"], "forward", "        ", target="losses")
        body.append(f"        result['weight'] = _rt.loss_weight_grad({op.public!r}, grad_output, losses, {first},"
                    f" reduction, weight, {op.weight_mean!r}{_weight_layout_arg(op)})")
        body.append("    return result")
    body += ["", ""]
    return "\n".join(body)


def _unpack(op: PointwiseOp, backward: bool = False) -> list[str]:
    """Validate the array arguments, view per-channel and broadcast ones for broadcasting,
    and check restricted ranges.  The backward also keeps per-channel shapes, to sum the
    gradient back to them."""
    plain = [a for a in op.args if a.layout not in SPREAD]
    syms = ", ".join(a.symbol.name for a in plain) + ("," if len(plain) == 1 else "")
    arrays = ", ".join(f"{a.name}={a.name}" for a in plain)
    channel = tuple(a.name for a in op.args if a.layout == "channel")
    extra = f"_channel={channel!r}, " if channel else ""
    lines = [f"    {syms} = _rt.float_arrays({op.public!r}, {extra}{arrays})"]
    first = op.args[0].symbol.name
    for a in op.args:
        s = a.symbol.name
        if a.layout == "channel":
            lines += [f"    {s}_shape = {s}.shape"] if backward else []
            lines += [f"    {s} = _rt.channel_broadcast({op.public!r}, {a.name!r}, {s}, {first})"]
        elif a.layout in SPREAD:
            # The argument keeps its own name, so the backward can read its shape from it.
            assert s != a.name, f"{op.name}: give {a.name} a symbol named otherwise"
            default = "" if a.optional is None else f", {a.optional!r}"
            lines.append(f"    {s} = _rt.broadcast_arg({op.public!r}, {a.name!r}, {a.name}, {first},"
                         f" {a.layout!r}{default})")
    for a in op.args:
        if a.domain is not None:
            nan = ", nan_ok=True" if a.domain_nan_ok else ""
            lines.append(f"    _rt.check_domain({op.public!r}, {a.name!r}, {a.symbol.name},"
                         f" {domain_spec(a.domain)!r}{nan})")
    return lines


# Array layouts that broadcast to the first argument by NumPy's rules (after a view).
SPREAD = ("broadcast", "var")


def _keyword_sig(op: PointwiseOp) -> list[str]:
    """The signature after the required arrays: params, optional arrays, weight, reduction,
    in torch's order where the op gives one (``op.signature``)."""
    pieces = dict(zip((p.name for p in op.params), _param_sig(op)))
    pieces.update({a.name: f"{a.name}: ArrayLike | None = None" for a in op.args if a.optional is not None})
    if op.weight:
        pieces["weight"] = "weight: ArrayLike | None = None"
    if op.reduction:
        pieces["reduction"] = "reduction: str = 'mean'"
    order = [k for k in op.signature if k in pieces] + [k for k in pieces if k not in op.signature]
    return [pieces[k] for k in order]


def _weight_layout_arg(op: PointwiseOp) -> str:
    return "" if op.weight_layout == "elementwise" else f", weight_layout={op.weight_layout!r}"


def _reduce_args(op: PointwiseOp) -> str:
    """Arguments after the reference array for reduce_loss / unreduce_grad."""
    out = "reduction, " + (f"weight, {op.weight_mean!r}" if op.weight else "None")
    if tuple(op.reductions) != ("none", "mean", "sum"):
        out += f", reductions={tuple(op.reductions)!r}"
    return out + _weight_layout_arg(op)


def _as_kernels_take(param: str, op: PointwiseOp) -> str:
    """A float parameter as the kernels receive it: in the dtype of the op's first input."""
    return f"_rt.in_dtype({param}, {op.args[0].symbol.name})"


def _dispatch(op: PointwiseOp, variants: list[PointwiseOp], call: str, kind: str, indent: str,
              target: str = "out") -> list[str]:
    # A bool parameter is tested by truth value (ruff's E712 rejects `== True`).  A float
    # parameter is tested as the kernels receive it, in the input's dtype: a beta of 1e-300
    # is 0 for a float32 call, and must take the beta = 0 variant there.
    def test(k: str, val: object) -> str:
        if val is True or val is False:
            return k if val else f"not {k}"
        return f"{_as_kernels_take(k, op)} == {val!r}" if isinstance(val, float) else f"{k} == {val!r}"

    lines = []
    for v in variants:
        assert v.variant_of is not None
        cond = " and ".join(test(k, val) for k, val in v.variant_of[1].items())
        lines += [f"{indent}if {cond}:", f"{indent}    {target} = _rt.blocked(_{v.name}_{kind}, {call})",
                  f"{indent}else:"]
        indent += "    "
    lines.append(f"{indent}{target} = _rt.blocked(_{op.name}_{kind}, {call})")
    return lines


def module_source(module: Module) -> str:
    """nnref/_generated/<module>.py: every op's private kernels, then the public functions."""
    module_name, ops = module.name, [op for op in module.ops if isinstance(op, PointwiseOp)]
    public = [op.public for op in ops if op.variant_of is None]
    names = [n for p in public for n in (p, f"{p}_backward")]
    parts = [HEADER.format(source=module_name), "\n__all__ = [\n" + "".join(f"    {n!r},\n" for n in names) + "]\n"]
    def group(op: PointwiseOp) -> list[PointwiseOp]:
        base = op.variant_of[0] if op.variant_of else op.name
        return [o for o in ops if o.name == base or (o.variant_of and o.variant_of[0] == base)]

    for op in ops:
        parts.append("\n\n" + _kernel_source(op, group(op)).rstrip() + "\n")
    for op in ops:
        if op.variant_of is not None:
            continue
        variants = [v for v in ops if v.variant_of and v.variant_of[0] == op.name]
        parts.append("\n\n" + _public_source(op, variants).rstrip() + "\n")
    return "".join(parts)
