"""nnref: neural-network operations as verified reference functions.

Every function here was printed by SymPy from a symbolic derivation (see derivations/)
and is cross-checked against PyTorch autograd by the test suite.  Runtime needs NumPy
only.  Each op ``f`` has ``f_backward(grad_output, *inputs, **params)`` returning a
dict of gradients, and ``get_op(name)`` finds either by name.  Initialisers are in ``nnref.init``, optimizers in
``nnref.optim``, whole networks in ``nnref.nn``.

Owns: the public namespace.  Imports: its own modules and NumPy; never SymPy, torch or
``derivations``.
"""

from . import _conv, _pool, _receptive, _regularisation, _structured, init, nn, optim
from ._conv import *  # noqa: F403
from ._generated import activations as _activations
from ._generated import losses as _losses
from ._generated.activations import *  # noqa: F403
from ._generated.losses import *  # noqa: F403
from ._pool import *  # noqa: F403
from ._receptive import *  # noqa: F403
from ._registry import Op, all_ops, get_op
from ._regularisation import *  # noqa: F403
from ._runtime import NNRefError
from ._structured import *  # noqa: F403

__version__ = "0.1.0"

__all__ = ["Op", "NNRefError", "all_ops", "get_op", "init", "nn", "optim", "__version__",
           *_activations.__all__, *_losses.__all__, *_structured.__all__, *_conv.__all__, *_pool.__all__,
           *_regularisation.__all__, *_receptive.__all__]
