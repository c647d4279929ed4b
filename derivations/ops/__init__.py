"""Owns: nothing; each module here is one family's records.  Imports: nothing.
"""
