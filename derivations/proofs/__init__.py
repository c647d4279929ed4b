"""Owns: nothing; the exact checks of the printed engine against the descriptions live in
the modules here.  Imports: nothing.
"""
