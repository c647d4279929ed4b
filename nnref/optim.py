"""Optimizers as pure functions: ``sgd``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``, each
``name(param, grad, state=None, *, <torch.optim's hyperparameters>) -> (new_param, new_state)``.

The functions are printed from their SymPy update rules into ``nnref/_generated/optim.py``;
this module only names them.

Owns: the ``nnref.optim`` namespace.  Imports: the generated ``._generated.optim``.
"""

from __future__ import annotations

from ._generated.optim import adagrad, adam, adamw, rmsprop, sgd

__all__ = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
