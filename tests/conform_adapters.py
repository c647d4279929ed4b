"""Adapters the conformance runner's tests plug in: NumPy relu alone, and planted bugs.

Owns: ``ReluOnly``, ``ReluBadKink`` (relu'(0) = 1), ``ReluNanAtZero``, ``MseCorrect`` and ``MseSignBug``
(mse_loss's gradient with the wrong sign).  Imports: NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ReluOnly:
    """The README's adapter, as written there."""

    name = "mylib"
    devices = ("cpu",)

    def available(self, device: str) -> str | None:
        return None

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], device: str) -> np.ndarray:
        if op != "relu":
            raise NotImplementedError(op)
        return np.maximum(inputs["input"], 0)

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], grad_output: np.ndarray,
            wrt: list[str], device: str) -> dict[str, np.ndarray]:
        if op != "relu":
            raise NotImplementedError(op)
        return {"input": grad_output * ~(inputs["input"] <= 0)}


class ReluBadKink(ReluOnly):
    name = "badkink"

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], grad_output: np.ndarray,
            wrt: list[str], device: str) -> dict[str, np.ndarray]:
        if op != "relu":
            raise NotImplementedError(op)
        # The planted bug: relu'(0) = 1 (nnref, as torch, says 0).
        return {"input": grad_output * ~(inputs["input"] < 0)}


class MseCorrect:
    """mse_loss through nnref itself: the planted bug's control."""

    name = "msecorrect"
    devices = ("cpu",)

    def available(self, device: str) -> str | None:
        return None

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], device: str) -> Any:
        import nnref

        if op != "mse_loss":
            raise NotImplementedError(op)
        return nnref.mse_loss(**inputs, **params)

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], grad_output: np.ndarray,
            wrt: list[str], device: str) -> dict[str, np.ndarray]:
        import nnref

        grads = nnref.mse_loss_backward(grad_output, **inputs, **params)
        return {k: grads[k] for k in wrt}


class MseSignBug(MseCorrect):
    """mse_loss with the gradient's sign flipped with respect to input."""

    name = "msesign"

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], grad_output: np.ndarray,
            wrt: list[str], device: str) -> dict[str, np.ndarray]:
        grads = super().vjp(op, inputs, params, grad_output, wrt, device)
        return {k: (-v if k == "input" else v) for k, v in grads.items()}


class ReluNanAtZero(ReluOnly):
    """relu(0) = NaN: a deviation a file can list (and only there is it excused)."""

    name = "nanzero"

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], device: str) -> np.ndarray:
        out = super().forward(op, inputs, params, device)
        return np.where(inputs["input"] == 0, np.nan, out).astype(out.dtype)
