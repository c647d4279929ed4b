"""The optimizers' plumbing: their state dicts and the betas pair.  The update rules themselves
are printed into ``nnref/_generated/optim.py``.

Owns: ``check_state``, ``new_state``, ``check_pair``.  Imports: NumPy and ``._runtime``.
"""

from __future__ import annotations

from typing import Any

import numpy
from numpy.typing import NDArray

from ._runtime import NNRefError, check_float


def check_pair(op: str, name: str, value: Any, domain: dict[str, Any] | None) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise NNRefError(f"{op}: {name}: expected a pair (beta1, beta2), got {value!r}")
    return check_float(op, f"{name}[0]", value[0], domain), check_float(op, f"{name}[1]", value[1], domain)


def check_state(op: str, state: Any, param: NDArray[Any], kept: dict[str, tuple[float, bool]]) -> dict[str, Any]:
    """A fresh state (step 0, every kept array at its initial value) for None; otherwise the given
    state, checked: a step count, and every array this configuration keeps, of param's shape and
    dtype."""
    wanted = [k for k, (_, keep) in kept.items() if keep]
    if state is None:
        return {"step": 0, **{k: numpy.full_like(param, kept[k][0]) for k in wanted}}
    if not isinstance(state, dict):
        raise NNRefError(f"{op}: state: expected None or the dict a previous step returned, got"
                         f" {type(state).__name__}")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, (int, numpy.integer)) or step < 0:
        raise NNRefError(f"{op}: state['step']: expected a non-negative int, got {step!r}")
    out: dict[str, Any] = {"step": int(step)}
    for k in wanted:
        arr = state.get(k)
        if not isinstance(arr, numpy.ndarray) or arr.shape != param.shape or arr.dtype != param.dtype:
            got = f"array of dtype {arr.dtype} and shape {arr.shape}" if isinstance(arr, numpy.ndarray) else repr(arr)
            raise NNRefError(f"{op}: state[{k!r}]: expected an array of param's dtype {param.dtype} and shape"
                             f" {param.shape} (these hyperparameters keep {wanted}), got {got}")
        out[k] = arr
    return out


def new_state(step: int, arrays: dict[str, Any]) -> dict[str, Any]:
    """The state returned: the step count and the arrays this configuration keeps."""
    return {"step": step, **{k: v for k, v in arrays.items() if v is not None}}
