"""Symbolic definitions of every nnref op, their derivatives, proofs and code generation.

Needs SymPy; the generated engine in ``nnref`` does not.
"""
