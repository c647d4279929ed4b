"""Known deviations: an implementation's measured results that differ from nnref's, as data.

A deviation file (``{"implementation": name, "deviations": [...]}``; the repository's own
is ``tests/deviations/torch.json``) names, per deviation, the op, parameters, dtype,
direction (``forward`` or a VJP such as ``d/dinput``), the exact input values, the
implementation's value there (under the implementation's name), nnref's, the mathematical
value, the kernel path that gives it, and the evidence.  ``explained`` says which
mismatching entries a deviation accounts for: an entry counts only where every listed input
has exactly the listed value and the implementation returned exactly the recorded value (NaN
matches NaN).  Nothing else is excused, so a deviation cannot hide a different bug.

A VJP's value scales with the upstream gradient, so for a VJP direction the recorded value
may instead be ``{"times_grad_output": "c"}``: the implementation returned exactly
``grad_output · c`` rounded to the dtype (its local derivative there is c).  Such an entry
matches only when the caller passes the upstream gradient.

Two more optional forms reach derivative conventions (kinks) that move with a drawn value:
an input value may name one of the op's parameters (``{"input": "max_val"}``: the input
equals that parameter's value, in the input's dtype) or another input (``{"input":
"target"}``: equal entry by entry), and an entry of a VJP direction with
``"upstream": "unit"`` records the derivative itself: it counts where the implementation's
entry is the recorded value times the upstream gradient that reaches it (elementwise ops,
whose upstream gradient has the input's shape; for a loss reduced to a scalar, g for 'sum',
g / N for 'mean', times the term's weight where one is given, and g·w / Σw for a weighted
'mean' of an entry with ``"weight_mean": "weight_sum"``).  Being a product of a reduction's
terms, it is matched within the op's tolerance.

A point that is a relation among inputs and parameters (a kink at
``−target·(input1 − input2) + margin = 0``, a mean over no weight) is named by an optional
``"where"``: a condition written as an expression, such as ``"-target * (input1 - input2) +
margin == 0"``, over the op's input and parameter names, number literals, ``inf`` and ``nan``,
with ``+ - * /``, comparisons, ``and`` / ``or`` / ``not`` (elementwise), and five functions:
``sum(x)``, ``all(x)``, ``any(x)`` (over every entry), ``where(c, a, b)`` and ``take(a, i)``
(``a[i]``, indices clipped into range, for per-class weights of class-index targets).  It is
evaluated with NumPy in the case's arithmetic: inputs as given, a float parameter rounded to
the dtype, an integer one as an integer.  The entry counts only where the condition holds,
elementwise where it has the result's shape and everywhere where it is one value (a
condition on the whole case, such as ``"all(target == ignore_index)"``).  A condition that
names a parameter or input given as None, indexes with non-integers, combines arrays whose
shapes do not broadcast, or has another shape than the result does not hold.  Other syntax
is refused when the file is read; an unknown name, or an expression that gives numbers
rather than a condition, when the entry is matched.

Owns: reading deviation files and matching entries.  Imports: NumPy, ``ast``.
"""

from __future__ import annotations

import ast
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np


def read(path: str | Path) -> tuple[str, tuple[dict[str, Any], ...]]:
    """(the implementation the file is about, its deviations)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--deviations: expected a readable JSON file of deviations, got {str(path)!r} ({exc})") \
            from exc
    if not isinstance(data, dict) or "implementation" not in data or "deviations" not in data:
        raise ValueError(f"--deviations: expected a JSON object with 'implementation' and 'deviations',"
                         f" got {str(path)!r} with keys {sorted(data) if isinstance(data, dict) else type(data)}")
    entries = tuple(data["deviations"])
    for i, dev in enumerate(entries):
        if "where" in dev:
            try:
                _parse(dev["where"])
            except ValueError as exc:
                raise ValueError(f"--deviations: entry {i} of {str(path)!r} ({dev.get('op')}): {exc}") from exc
    return str(data["implementation"]), entries


_FUNCTIONS = {"sum": 1, "all": 1, "any": 1, "where": 3, "take": 2}
_CONSTANTS = {"inf": np.inf, "nan": np.nan}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_COMPARE = {ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
            ast.Gt: np.greater, ast.GtE: np.greater_equal}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Call, ast.Name, ast.Constant,
            ast.Load, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, *_BINARY, *_COMPARE)


class _BadCondition(ValueError):
    """A condition that names nothing the op has, or gives numbers: an error in the file."""


class _Undefined(Exception):
    """The condition cannot be evaluated on this case (a None value, non-integer indices): it does not hold."""


@cache
def _parse(text: Any) -> ast.Expression:
    """A ``where`` condition, checked to use only the documented syntax."""
    if not isinstance(text, str):
        raise ValueError(f"'where': expected a condition as a string, got {text!r}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"'where': expected an expression, got {text!r} ({exc.msg})") from exc
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"'where': {type(node).__name__} is not allowed in a condition, got {text!r}"
                             f" (numbers, names, + - * /, comparisons, and/or/not, {', '.join(_FUNCTIONS)})")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, (int, float))):
            raise ValueError(f"'where': expected number literals only, got {node.value!r} in {text!r}")
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in _FUNCTIONS or len(node.args) != _FUNCTIONS[name] or node.keywords:
                raise ValueError(f"'where': expected a call of {', '.join(f'{f}/{n}' for f, n in _FUNCTIONS.items())},"
                                 f" got {ast.unparse(node)!r} in {text!r}")
    return tree


def _evaluate(node: ast.AST, names: dict[str, Any], text: str) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names, text)
    if isinstance(node, ast.Constant):
        return node.value  # a Python number: weak, so it takes the arrays' dtype
    if isinstance(node, ast.Name):
        if node.id in names:
            if names[node.id] is None:
                raise _Undefined(node.id)
            return names[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise _BadCondition(f"'where': unknown name {node.id!r} in {text!r}, expected one of {sorted(names)},"
                            f" inf, nan")
    if isinstance(node, ast.UnaryOp):
        v = _evaluate(node.operand, names, text)
        return np.logical_not(v) if isinstance(node.op, ast.Not) else (np.negative(v) if isinstance(node.op, ast.USub)
                                                                         else v)
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, names, text), _evaluate(node.right, names, text))
    if isinstance(node, ast.BoolOp):
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = _evaluate(node.values[0], names, text)
        for value in node.values[1:]:
            out = combine(out, _evaluate(value, names, text))
        return out
    if isinstance(node, ast.Compare):
        left, out = _evaluate(node.left, names, text), True
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, names, text)
            out = np.logical_and(out, _COMPARE[type(op)](left, right))
            left = right
        return out
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _parse allowed nothing else
    args = [_evaluate(a, names, text) for a in node.args]
    name = node.func.id
    if name == "take":
        a, i = np.asarray(args[0]), np.asarray(args[1])
        if i.dtype.kind not in "iu" or a.ndim != 1 or a.size == 0:
            raise _Undefined(name)
        return a[np.clip(i, 0, a.size - 1)]  # out-of-range indices only where another term discards them
    if name == "where":
        return np.where(args[0], args[1], args[2])
    if name == "sum":
        return np.sum(args[0])
    return np.all(args[0]) if name == "all" else np.any(args[0])


def holds(text: str, inputs: dict[str, Any], params: dict[str, Any], dtype: str,
          shape: tuple[int, ...]) -> np.ndarray:
    """Where a ``where`` condition holds on a case, as a mask of ``shape``."""
    names: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, float):
            v = np.asarray(v, dtype=dtype)[()]  # the parameter as the implementation holds it
        elif isinstance(v, (list, tuple)):
            v = np.asarray(v)
        elif v is not None and not isinstance(v, (int, np.integer, np.ndarray)):
            v = None  # a choice ('mean') or other non-number: a condition naming it does not hold
        names[k] = v
    names.update({k: (None if v is None else np.asarray(v)) for k, v in inputs.items()})
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(_evaluate(_parse(text), names, text))
    except _BadCondition:
        raise
    except (_Undefined, ValueError, TypeError):  # also inputs whose shapes do not broadcast together
        return np.zeros(shape, dtype=bool)
    if out.dtype != np.bool_:
        raise _BadCondition(f"'where': expected a condition (a comparison), got {text!r}, which gives {out.dtype}"
                            f" values")
    # Only a whole-case value broadcasts: aligning trailing axes would pair an (N,) condition
    # with the class axis of an (N, N) result.
    if out.shape == shape or out.ndim == 0:
        return np.broadcast_to(out, shape).copy()
    return np.zeros(shape, dtype=bool)


def _value(text: str, params: dict[str, Any] | None = None, dtype: Any = np.float64) -> float:
    """'inf', '-inf', 'nan', numbers, or the name of a parameter (its value, rounded to ``dtype``)."""
    if params and text in params:
        return float(np.asarray(params[text], dtype=dtype))
    return float(text)


def _reaching(grad_output: Any, shape: tuple[int, ...], params: dict[str, Any], weight_mean: str) -> Any:
    """The upstream gradient that reaches each entry of an elementwise op (None if unknown)."""
    if grad_output is None:
        return None
    g = np.asarray(grad_output, dtype=np.float64)
    reduction = params.get("reduction")
    w = params.get("weight") if reduction is not None else None
    w = None if w is None else np.broadcast_to(np.asarray(w, dtype=np.float64), shape)
    if g.shape == shape:
        return g if w is None else g * w
    if g.shape != () or reduction not in ("sum", "mean"):
        return None
    per = np.broadcast_to(g, shape)
    if reduction == "mean":
        size = int(np.prod(shape))
        per = per / (np.sum(w) if w is not None and weight_mean == "weight_sum" else max(size, 1))
    return per if w is None else per * w


def _same(a: np.ndarray, v: float) -> np.ndarray:
    return np.isnan(a) if np.isnan(v) else (a == v)


def _recorded(value: Any, dtype: str, grad_output: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The implementation's recorded result, elementwise: a constant, or grad_output · c
    rounded to ``dtype``; None where it depends on an upstream gradient not given."""
    if isinstance(value, dict):
        if set(value) != {"times_grad_output"}:
            raise ValueError(f"deviation value: expected a number as text or {{'times_grad_output': c}}, got {value!r}")
        if grad_output is None or np.shape(grad_output) != shape:
            return None
        g = np.asarray(grad_output, dtype=dtype)
        with np.errstate(all="ignore"):
            return np.asarray(g * np.asarray(_value(value["times_grad_output"]), dtype=dtype), dtype=np.float64)
    return np.full(shape, _value(value))


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def explained(deviations: tuple[dict[str, Any], ...], implementation: str, meta: dict[str, Any],
              params: dict[str, Any], dtype: str, direction: str, inputs: dict[str, np.ndarray],
              actual: Any, grad_output: np.ndarray | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(mask of the entries of ``actual`` that a listed deviation accounts for, those deviations).
    ``grad_output`` is a VJP direction's upstream gradient, for entries recorded as a multiple of it."""
    a = np.asarray(actual, dtype=np.float64)
    mask = np.zeros(a.shape, dtype=bool)
    used = []
    defaults = {p["name"]: p["default"] for p in meta["params"]}
    given = {k: v for k, v in {**defaults, **params}.items() if isinstance(v, (int, float)) and v is not None}
    for dev in deviations:
        if dev["op"] != meta["name"] or dev["dtype"] != dtype or dev["direction"] != direction:
            continue
        if any(params.get(k, defaults.get(k)) != v for k, v in dev["params"].items()):
            continue
        if dev.get("upstream") == "unit":
            g = _reaching(grad_output, a.shape, params, dev.get("weight_mean", "numel"))
            if g is None:
                continue
            c = _value(dev[implementation], given, dtype)
            tol = meta["tolerances"][dtype]
            with np.errstate(all="ignore"):
                want = np.float64(c) * g
                here = np.isnan(a) if np.isnan(c) else np.abs(a - want) <= tol["atol"] + tol["rtol"] * np.abs(want)
        else:
            recorded = _recorded(dev[implementation], dtype, grad_output, a.shape)
            if recorded is None:
                continue
            here = _equal(a, recorded)
        for name, text in dev["input"].items():
            x = np.asarray(inputs[name], dtype=np.float64)
            if x.shape != a.shape:
                here = np.zeros(a.shape, dtype=bool)
                break
            if text in inputs and text != name:  # equal to another input, entry by entry
                other = np.asarray(inputs[text], dtype=np.float64)
                here &= (x == other) if other.shape == x.shape else np.zeros(a.shape, dtype=bool)
            else:
                here &= _same(x, _value(text, given, inputs[name].dtype))
        if "where" in dev:
            here &= holds(dev["where"], inputs, {**defaults, **params}, dtype, a.shape)
        if here.any():
            mask |= here
            used.append(dev)
    return mask, used
