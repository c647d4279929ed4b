"""The site builder: ``docs/*.md`` and their plots, from the op records and nnref's results.

Owns: nothing but the package; ``build.main`` writes the pages.
Imports: nothing.
"""
