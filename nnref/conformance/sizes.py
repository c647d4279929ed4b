"""torch's pooling output-size rule, written out as torch's source has it.

The strategies draw only pooling calls torch accepts, and ``derivations/proofs/pool.py``
proves nnref's derived size closed forms equal this rule wherever torch allows the call.

Owns: ``torch_rule``.  Imports: nothing.
"""

from __future__ import annotations


def torch_rule(L: int, K: int, s: int, p: int, d: int, ceil: bool) -> int:
    """torch's pooling_output_shape, as written in its source: round, then drop a last window
    that starts in the right padding."""
    out = (L + 2 * p - d * (K - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= L + p:
        out -= 1
    return out
