"""How long `import nnref` takes: fresh interpreters, median of repeated runs.

Prints NumPy's own import time beside nnref's, with a warm bytecode cache (what an
installed package has).  With PYTHONDONTWRITEBYTECODE=1 and no cache, Python recompiles
the generated modules on every import, which adds about 0.1 s.

    .venv/bin/python benchmarks/import_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = """
import time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import nnref
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def measure(runs: int, cached: bool) -> tuple[float, float]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as prefix:
        # A private bytecode cache: warm it once when measuring the cached case.
        env["PYTHONPYCACHEPREFIX"] = prefix
        if cached:
            subprocess.run([sys.executable, "-c", "import nnref"], env=env, check=True)
        numpy_times, nnref_times = [], []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
            a, b = map(float, out.stdout.split())
            numpy_times.append(a)
            nnref_times.append(b)
    return statistics.median(numpy_times), statistics.median(nnref_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"import nnref, median of {args.runs} fresh interpreters ({os.cpu_count()} cores)")
    print(f"{'bytecode cache':<16} {'numpy (s)':>10} {'nnref own (s)':>14} {'total (s)':>10}")
    a, b = measure(args.runs, cached=True)
    print(f"{'warm':<16} {a:>10.3f} {b:>14.3f} {a + b:>10.3f}")


if __name__ == "__main__":
    main()
