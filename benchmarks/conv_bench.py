"""Convolution and pooling benchmark: nnref against torch on the CPU, forward + backward.

    PYTHONPATH=. .venv/bin/python benchmarks/conv_bench.py [--repeats 9] [--runs 1] [--json FILE]

For each shape and dtype:

* **time** — two worker processes, one running nnref (``conv2d`` then ``conv2d_backward``),
  one running torch (``F.conv2d`` then ``torch.autograd.grad`` for input, weight and bias),
  take turns: after one warm-up each, nnref runs once, then torch once, ``--repeats``
  times, with a short pause between turns so neither library's idle threads are still
  spinning; each turn makes untimed calls for 30 ms (which wake the threads and CPUs that the
  pause put to sleep) and times the next.  Taking turns means both see the same background load on a shared machine;
  the table gives the median of each.  With ``--runs K`` the whole table is timed K times
  (a case's runs are minutes apart), and a case's ratio is the median of its K runs'
  ratios, shown with their range: on a shared machine one run can land on a slow minute.
* **peak memory** — measured the same way for both, in a fresh process per library and
  case: the peak resident set size (VmHWM, reset through /proc/self/clear_refs once the
  inputs exist and a warm-up run is done) minus the resident size at that moment, over one
  forward + backward.  glibc is told to serve every block of 128 KiB or more with mmap
  (MALLOC_MMAP_THRESHOLD_), so freed buffers leave the resident set and the peak counts
  what was live, for both.  For nnref, tracemalloc's peak (NumPy reports its buffers to
  it) is shown as well.  (torch.profiler's memory totals were not used: they net out
  buffers allocated and freed inside one operator, such as the im2col columns of torch's
  float64 path.)

Pooling (max_pool2d and avg_pool2d, forward + backward, the same alternating turns; time
only, as the issue's target is) follows the convolution table; ``--only conv`` or
``--only pool`` runs one of the two.  nnref's pooling backward recomputes the window
choice from the input (it has no saved indices); torch's backward reuses its forward's.

The upstream gradient is all ones; inputs are standard-normal draws.  Nothing is cached
between forward and backward: nnref's backward recomputes what it needs, as torch's
float64 path does.  A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (N, C, H = W, O, k, stride, padding)
CASES = [(8, 64, 56, 64, 3, 1, 1), (32, 3, 32, 16, 5, 1, 2), (8, 32, 64, 64, 3, 2, 1)]
DTYPES = ("float64", "float32")
TARGETS = {"float64": 1.5, "float32": 2.5}
# (op, N, C, H = W, kernel, stride, padding)
POOL_CASES = [(op, 8, 64, 56, k, 2, p) for op in ("max_pool2d", "avg_pool2d") for k, p in ((2, 0), (3, 1))]
POOL_TARGET = 2.0

SETUP = r'''
import numpy as np

def setup(impl, dtype, N, C, H, O, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    w = rng.standard_normal((O, C, k, k)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    Ho = (H + 2 * p - k) // s + 1
    g = np.ones((N, O, Ho, Ho), dtype=dtype)
    if impl == "nnref":
        import nnref

        def run():
            y = nnref.conv2d(x, w, b, stride=s, padding=p)
            return y, nnref.conv2d_backward(g, x, w, b, stride=s, padding=p)
    else:
        import torch
        import torch.nn.functional as F
        xt, wt, bt, gt = (torch.from_numpy(a) for a in (x, w, b, g))
        for t in (xt, wt, bt):
            t.requires_grad_(True)

        def run():
            y = F.conv2d(xt, wt, bt, stride=s, padding=p)
            return y, torch.autograd.grad(y, [xt, wt, bt], gt)
    return run
'''

POOL_SETUP = r'''

def setup_pool(impl, dtype, op, N, C, H, k, s, p):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    Ho = (H + 2 * p - k) // s + 1
    g = np.ones((N, C, Ho, Ho), dtype=dtype)
    if impl == "nnref":
        import nnref
        fwd, bwd = getattr(nnref, op), getattr(nnref, op + "_backward")

        def run():
            return fwd(x, k, s, p), bwd(g, x, k, s, p)
    else:
        import torch
        import torch.nn.functional as F
        xt, gt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)
        fn = getattr(F, op)

        def run():
            y = fn(xt, k, s, p)
            return y, torch.autograd.grad(y, [xt], gt)
    return run
'''

TIMER = SETUP + POOL_SETUP + r'''
import json, sys
impl = sys.argv[1]
sys.path.insert(0, sys.argv[2])  # benchmarks/, for turns.timed_turn
from turns import timed_turn
run = None
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "setup":
        run = setup(impl, cmd["dtype"], *cmd["case"])
        run()
        print(json.dumps({"ok": True}), flush=True)
    elif cmd["op"] == "setup_pool":
        run = setup_pool(impl, cmd["dtype"], *cmd["case"])
        run()
        print(json.dumps({"ok": True}), flush=True)
    else:
        # untimed calls for 30 ms first (turns.timed_turn): after the pause torch's sleeping
        # OpenMP workers sometimes took 10-15 ms to wake on this 2-vCPU VM (about one turn in
        # three), and the first calls on cold CPUs ran up to 1.8x slower; the timed call then
        # measures the kernels, not the wake-up
        elapsed = timed_turn(run)
        print(json.dumps({"s": elapsed}), flush=True)
'''

MEMORY = SETUP + r'''
import json, sys
impl, dtype = sys.argv[1], sys.argv[2]
case = [int(v) for v in sys.argv[3:10]]

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0

run = setup(impl, dtype, *case)
run()
result = {}
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status("VmRSS")
    out = run()
    result["rss_peak"] = status("VmHWM") - base
    del out
except OSError:
    result["rss_peak"] = None
if impl == "nnref":
    import tracemalloc
    tracemalloc.start()
    out = run()
    result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps(result))
'''


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update(extra or {})
    return env


class Worker:
    def __init__(self, impl: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", TIMER, impl, str(Path(__file__).resolve().parent)],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=_env())

    def ask(self, cmd: dict) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def memory(impl: str, dtype: str, case: tuple[int, ...]) -> dict:
    out = subprocess.run([sys.executable, "-c", MEMORY, impl, dtype, *map(str, case)], capture_output=True,
                         text=True, check=True, env=_env({"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}))
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def versions() -> str:
    code = "import numpy, torch; print(numpy.__version__, torch.__version__)"
    np_v, torch_v = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.split()
    return f"NumPy {np_v}, torch {torch_v}, Python {platform.python_version()}"


def mib(v: float | None) -> str:
    return "—" if v is None else f"{v / 2**20:.1f}"


def timed(workers: dict[str, Worker], setup: dict, repeats: int, pause: float) -> dict[str, list[float]]:
    """Median-ready times: after one warm-up each, the two libraries take turns."""
    times: dict[str, list[float]] = {"nnref": [], "torch": []}
    for wk in workers.values():
        wk.ask(setup)
    for _ in range(repeats):
        for impl, wk in workers.items():
            time.sleep(pause)
            times[impl].append(wk.ask({"op": "run"})["s"])
    return times


def _runs(workers: dict[str, Worker], args: argparse.Namespace, op: str,
          cases: list[tuple[str, tuple]]) -> list[dict[str, list[list[float]]]]:
    """Per case, the turn times of each run: ``--runs`` passes over the whole table, so the runs
    of one case are minutes apart and see the machine's drift, not one moment of it."""
    per_case: list[dict[str, list[list[float]]]] = [{"nnref": [], "torch": []} for _ in cases]
    for _ in range(args.runs):
        for slot, (dtype, case) in zip(per_case, cases):
            times = timed(workers, {"op": op, "dtype": dtype, "case": case}, args.repeats, args.pause)
            for impl, ts in times.items():
                slot[impl].append(ts)
    return per_case


def _summary(runs: dict[str, list[list[float]]]) -> tuple[dict[str, float], float, list[float]]:
    """Median time per library (median over runs of each run's median), the median of the runs'
    nnref / torch ratios, and every run's ratio."""
    med = {impl: statistics.median(statistics.median(ts) for ts in per_run) for impl, per_run in runs.items()}
    ratios = [statistics.median(a) / statistics.median(b) for a, b in zip(runs["nnref"], runs["torch"])]
    return med, statistics.median(ratios), ratios


def _time_cells(med: dict[str, float], ratio: float, ratios: list[float], target: float) -> list[str]:
    """nnref ms, torch ms, the ratio, its range over the runs and the target mark."""
    spread = f"{min(ratios):.2f}–{max(ratios):.2f}×" if len(ratios) > 1 else "—"
    return [f"{1e3 * med['nnref']:.1f}", f"{1e3 * med['torch']:.1f}", f"{ratio:.2f}×", spread,
            f"≤ {target}× {'✅' if ratio <= target else '❌'}"]


def _print_row(cells: list[str]) -> None:
    print("| " + " | ".join(cells) + " |", flush=True)


def conv_table(workers: dict[str, Worker], args: argparse.Namespace) -> tuple[list[str], list[dict]]:
    header = ["shape: N, C, H×W → O, k, s, p", "dtype", "nnref ms", "torch ms", "nnref / torch",
              f"ratio over {args.runs} runs", "target", "nnref peak MiB", "torch peak MiB", "memory",
              "nnref tracemalloc MiB"]
    cases = [(dtype, case) for dtype in DTYPES for case in CASES]
    per_case = _runs(workers, args, "setup", cases)
    _print_row(header)
    print("|" + "---|" * len(header))
    rows = []
    for (dtype, case), runs in zip(cases, per_case):
        mem = {impl: memory(impl, dtype, case) for impl in workers}
        med, ratio, ratios = _summary(runs)
        target = TARGETS[dtype]
        ours, theirs = mem["nnref"]["rss_peak"], mem["torch"]["rss_peak"]
        mem_ok = ours is not None and theirs is not None and ours <= theirs
        n, c, h, o, k, s, p = case
        cells = [f"{n}, {c}, {h}×{h} → {o}, k={k}, s={s}, p={p}", dtype, *_time_cells(med, ratio, ratios, target),
                 mib(ours), mib(theirs), "✅ ≤ torch" if mem_ok else "❌ > torch",
                 mib(mem["nnref"].get("tracemalloc_peak"))]
        _print_row(cells)
        rows.append({"case": case, "dtype": dtype, "times": runs, "median_s": med, "ratio": ratio,
                     "run_ratios": ratios, "target": target, "memory": mem, "cells": cells})
    return header, rows


def pool_table(workers: dict[str, Worker], args: argparse.Namespace) -> tuple[list[str], list[dict]]:
    header = ["op", "input N, C, H×W", "kernel / stride / padding", "dtype", "nnref ms", "torch ms",
              "nnref / torch", f"ratio over {args.runs} runs", "target"]
    cases = [(dtype, case) for dtype in DTYPES for case in POOL_CASES]
    per_case = _runs(workers, args, "setup_pool", cases)
    print()
    _print_row(header)
    print("|" + "---|" * len(header))
    rows = []
    for (dtype, case), runs in zip(cases, per_case):
        med, ratio, ratios = _summary(runs)
        op, n, c, h, k, s, p = case
        cells = [op, f"{n}, {c}, {h}×{h}", f"{k}×{k} / {s} / {p}", dtype,
                 *_time_cells(med, ratio, ratios, POOL_TARGET)]
        _print_row(cells)
        rows.append({"case": case, "dtype": dtype, "times": runs, "median_s": med, "ratio": ratio,
                     "run_ratios": ratios, "target": POOL_TARGET, "nnref_ms": 1e3 * med["nnref"],
                     "torch_ms": 1e3 * med["torch"], "cells": cells})
    return header, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=9, help="timed turns per library and case (median reported)")
    ap.add_argument("--pause", type=float, default=0.2, help="seconds between turns")
    ap.add_argument("--runs", type=int, default=1,
                    help="passes over each table; a case's ratio is the median of its runs' ratios")
    ap.add_argument("--only", choices=["conv", "pool", "all"], default="all", help="which table(s) to run")
    ap.add_argument("--json", type=Path, help="also write the results here (a table not run keeps its old rows)")
    args = ap.parse_args(argv)
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"forward + backward; {when}; {machine()}; {versions()}; load average {load:.2f} at start;"
          f" median of {args.repeats} alternating turns, {args.runs} run(s)")
    workers = {impl: Worker(impl) for impl in ("nnref", "torch")}
    result: dict = {}
    if args.json and args.json.exists():
        result = json.loads(args.json.read_text())
    try:
        if args.only in ("conv", "all"):
            header, rows = conv_table(workers, args)
            result.update({"date": when, "machine": machine(), "versions": versions(), "load": load,
                           "repeats": args.repeats, "runs": args.runs, "header": header, "rows": rows})
        if args.only in ("pool", "all"):
            header, rows = pool_table(workers, args)
            result.update({"pool_date": when, "pool_machine": machine(), "pool_versions": versions(),
                           "pool_load": load, "pool_repeats": args.repeats, "pool_runs": args.runs,
                           "pool_header": header, "pool_rows": rows})
    finally:
        for wk in workers.values():
            wk.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
