"""How the in-process benchmarks (pointwise_bench.py, issue12_bench.py) time one turn.

Owns: ``timed_turn`` and its warm-up length.  A helper of the benchmark scripts, not a test.
"""

from __future__ import annotations

import time
from typing import Any

WARM = 0.03  # seconds of untimed calls before each timed one


def timed_turn(f: Any, warm: float = WARM) -> float:
    """Seconds of one call of f, after calls of it (untimed) for ``warm`` seconds.

    Timed straight after the other library's turn, a call was disturbed by it: torch's OpenMP
    workers spin for milliseconds after a call and took a core from nnref's threads (nnref's
    cross_entropy at (8, 50257) took 1.5 ms instead of 1.0).  Timed after a pause instead, it met
    cold CPUs: the first calls after 50 ms idle ran up to 1.8x slower on this 2-vCPU VM, and
    torch's sleeping workers sometimes took 10-15 ms to wake (which once put torch's median at
    11 ms for a 0.7 ms cross_entropy).  Calls back to back for ``warm`` seconds outlast the
    other library's spinning and wake this one's threads: each library is timed warm and
    undisturbed, as in a loop of its own calls."""
    end = time.perf_counter() + warm
    f()
    while time.perf_counter() < end:
        f()
    start = time.perf_counter()
    f()
    return time.perf_counter() - start
