"""Implementations under test: torch's adapter, and the loader of ``--impl``.

The suite compares an *implementation* with nnref.  torch is the default one; anyone can
plug in their own with ``pytest tests --impl package.module:object`` (or, from the installed
package, ``python -m nnref conform --impl package.module:object``), where the object (or the
class, which is instantiated) follows the protocol ``nnref.conformance.check.Adapter``.

Arrays cross the boundary as NumPy arrays in both directions, so an adapter only has to
convert to and from its own tensor type.  torch's adapter lives here, not in the package:
the engine never imports torch.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from nnref.conformance import check
from nnref.conformance.check import Adapter

__all__ = ["Adapter", "TorchAdapter", "load"]


class TorchAdapter:
    """torch.nn.functional with torch.autograd.grad, on CPU and on CUDA when present."""

    name = "torch"
    devices = ("cpu", "cuda")

    def __init__(self) -> None:
        import torch
        import torch.nn.functional as F

        self.torch = torch
        self.F = F
        # NNREF_TORCH_ONEDNN=off sends torch's CPU kernels down its ATen paths instead of
        # oneDNN's (they differ at special values: oneDNN's float32 gelu(+inf) is NaN), so
        # that one machine can exercise every path (tools/kernel_paths.sh).
        if os.environ.get("NNREF_TORCH_ONEDNN", "on") == "off":
            torch.backends.mkldnn.enabled = False

    @property
    def path(self) -> str:
        """Which CPU kernels torch runs here: its CPU capability and whether oneDNN is on."""
        return (f"ATen {self.torch.backends.cpu.get_cpu_capability()},"
                f" oneDNN {'on' if self.torch.backends.mkldnn.enabled else 'off'}")

    def available(self, device: str) -> str | None:
        if device == "cuda" and not self.torch.cuda.is_available():
            return "no CUDA device here (torch.cuda.is_available() is False)"
        return None

    def _tensor(self, value: Any, device: str, grad: bool = False) -> Any:
        if isinstance(value, np.ndarray):
            t = self.torch.from_numpy(np.array(value, copy=True, order="C")).to(device)
            if grad:
                t.requires_grad_(True)
            return t
        return value

    def _call(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any], device: str,
              wrt: tuple[str, ...] = ()) -> tuple[Any, dict[str, Any]]:
        fn = getattr(self.F, op, None)
        if fn is None:
            raise NotImplementedError(f"torch.nn.functional has no {op}")
        tensors = {k: self._tensor(v, device, grad=k in wrt) for k, v in inputs.items()}
        kwargs = {k: self._tensor(v, device, grad=k in wrt) for k, v in params.items()}
        return fn(*tensors.values(), **kwargs), {**tensors, **kwargs}

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any],
                device: str) -> np.ndarray:
        with self.torch.no_grad():
            out, _ = self._call(op, inputs, params, device)
        if isinstance(out, tuple):  # (values, indices): max pooling with return_indices
            return tuple(t.detach().cpu().numpy() for t in out)
        return out.detach().cpu().numpy()

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any],
            grad_output: np.ndarray, wrt: list[str], device: str) -> dict[str, np.ndarray]:
        out, tensors = self._call(op, inputs, params, device, tuple(wrt))
        if isinstance(out, tuple):  # the gradient flows through the values, not the indices
            out = out[0]
        g = self._tensor(grad_output, device)
        grads = self.torch.autograd.grad(out, [tensors[k] for k in wrt], g, allow_unused=True)
        result = {}
        for k, gr in zip(wrt, grads):
            result[k] = (np.zeros_like({**inputs, **params}[k]) if gr is None else gr.detach().cpu().numpy())
        return result


def load(spec: str) -> Adapter:
    """``torch`` or ``package.module:object``."""
    if spec == "torch":
        return TorchAdapter()
    return check.load(spec)
