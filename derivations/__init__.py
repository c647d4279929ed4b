"""Symbolic definitions of every nnref op, their derivatives, proofs and code generation.

Needs SymPy; the generated engine in ``nnref`` does not.

Owns: nothing but this map.  Floors, each importing only those below it: ``spec``
(the schema) and ``affine`` (index algebra) -> ``ops/`` (the descriptions) and ``derive`` /
``steps`` (differentiation, proofs of rewrites) -> ``registry`` (every op) -> ``codegen/``
(printers, writes ``nnref/_generated/``) -> ``proofs/`` (exact checks of the printed engine).
Imports: nothing at import time.
"""
