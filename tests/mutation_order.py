"""A pytest plugin for `make mutation` (registered by tests/conftest.py under
``--mutation-order``): runs the selected tests file by file in the order of FILES, cheapest
and broadest first, whatever order mutmut passes them in.
mutmut stops a mutant's run at its first failing test (``-x``), so a killed mutant costs the
tests up to the first that catches it; this order makes that early.

Owns: the order of the mutation run's tests.  Imports: nothing.
"""

from __future__ import annotations

from typing import Any

# Per test, fastest first (measured on 2 shared cores): errors and upstream gradients take
# milliseconds a test, the mpmath comparisons and the golden vectors' fixture seconds.
FILES = (
    "test_errors.py",
    "test_upstream_gradients.py",
    "test_conventions.py",
    "test_special_values.py",
    "test_numerics.py",
    "test_reductions.py",
    "test_mutation_killers.py",
    "test_row_accuracy.py",
    "test_special.py",
    "test_pointwise_blocks.py",
    "test_vectors.py",
)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    def rank(item: Any) -> int:
        name = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        return FILES.index(name) if name in FILES else len(FILES)

    items.sort(key=rank)  # stable: each file keeps its own order
