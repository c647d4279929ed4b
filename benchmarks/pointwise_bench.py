"""Pointwise ops (every activation, every elementwise loss): nnref against torch (CPU).

    PYTHONPATH=. .venv/bin/python benchmarks/pointwise_bench.py [--n 1000000] [--repeats 7]
        [--ops relu,gelu] [--threads N] [--runs K] [--json FILE]

For each op and dtype (float64, float32): forward + backward on ``--n`` elements (nnref:
``f`` then ``f_backward``; torch: ``F.f`` then ``torch.autograd.grad``), in one process,
nnref and torch taking turns so both see the same background load; a turn times one call
after 30 ms of untimed ones (``turns.timed_turn`` says why: each library is timed warm and
undisturbed by the other's threads); the table gives each one's median over ``--repeats``
turns and the ratio nnref / torch.
Inputs are drawn from each array argument's test domain; losses run with reduction='mean';
parameters take their defaults (required ones the oracle's values).  torch keeps its own
thread count (``torch.get_num_threads()``, printed).  Before the first turn the process asks
glibc to keep freed memory for reuse (``nnref._runtime.hint_heap``, which nnref's kernels
do on their first large call anyway): both libraries then run with the same allocator state
(without it, whichever runs first pays the page faults of growing the heap, and torch's times
moved by up to 5× depending on whether nnref had already run a large kernel).

The "floor" column is the time of the elementary functions alone (NumPy's exp, log, log1p,
expm1, tanh and nnref's special functions) that the op's forward and VJP kernels call on every
element, each timed on the op's input through the same blocks and threads, in the kernel's
precision: no NumPy evaluation that calls them can be faster, so floor / torch is the lowest
ratio reachable without another way to evaluate those functions.

A benchmark, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import platform
import re
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from turns import timed_turn  # noqa: E402

from derivations import oracle, registry  # noqa: E402
from derivations.spec import PointwiseOp  # noqa: E402


def _inputs(op: PointwiseOp, n: int, dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for a in op.args:
        if a.optional is not None:
            continue
        dom = a.test_domain
        if dom == "unit":
            v = rng.uniform(0.01, 0.99, n)
        elif dom == "positive":
            v = rng.uniform(0.1, 5.0, n)
        elif dom == "nonneg":
            v = rng.uniform(0.0, 5.0, n)
        elif dom in ("sign", "pm1"):
            v = rng.choice([-1.0, 1.0], n)
        else:
            v = rng.standard_normal(n) * 3
        if a.layout == "channel":
            v = v[:1]
        out[a.name] = v.astype(dtype)
    return out


def _params(op: PointwiseOp) -> dict[str, Any]:
    p: dict[str, Any] = {}
    for q in op.params:
        if q.default is None:
            p[q.name] = oracle.REQUIRED[q.name]
    if op.reduction:
        p["reduction"] = "mean"
    return p


def _median_pair(nn: Any, th: Any, repeats: int) -> tuple[float, float]:
    a, b = [], []
    for _ in range(repeats):
        a.append(timed_turn(nn))
        b.append(timed_turn(th))
    return statistics.median(a), statistics.median(b)


def _nnref_turn(fwd: Any, bwd: Any, g: np.ndarray, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> Any:
    def run() -> None:
        fwd(**inputs, **params)
        bwd(g, **inputs, **params)
    return run


def _torch_turn(tfn: Any, tens: dict[str, Any], params: dict[str, Any], wrt: list[str], tg: Any) -> Any:
    import torch

    def run() -> None:
        out = tfn(*tens.values(), **params)
        torch.autograd.grad(out, [tens[k] for k in wrt], tg)
    return run


_ELEMENTARY = re.compile(r"\b(numpy\.(?:exp|log|log1p|expm1|tanh)"
                         r"|_rt\.(?:erfc?|ncdf|npdf|sigmoid_slope|x_minus_tanh|xlogy))\(")


def _elementary_calls(op: PointwiseOp) -> list[tuple[str, str]]:
    """(function, 'ext' or 'wide') for each elementary-function call in the op's kernels."""
    from nnref._generated import activations, losses

    mod = activations if hasattr(activations, f"_{op.name}_forward") else losses
    whole = inspect.getsource(mod)
    calls = []
    for kind in ("forward", "vjp"):
        kernel = f"_{op.name}_{kind}"
        prec = "ext" if re.search(rf"blocked\({kernel}, \([^)]*\), _rt\.ext", whole) else "wide"
        calls += [(name, prec) for name in _ELEMENTARY.findall(inspect.getsource(getattr(mod, kernel)))]
    return calls


def _floor(calls: list[tuple[str, str]], x: np.ndarray, repeats: int) -> float:
    """Seconds the elementary calls take on x, each through blocked (min over repeats)."""
    from nnref import _runtime, _special

    total = 0.0
    for name, prec in calls:
        lib, fn = name.split(".")
        f = getattr(np if lib == "numpy" else _special if hasattr(_special, fn) else _runtime, fn)
        arity = 2 if fn == "xlogy" else 1
        widen = _runtime.ext if prec == "ext" else _runtime.wide
        takes_out = isinstance(f, np.ufunc)
        # logarithms on positive arguments, as the kernels call them (log of a negative number
        # takes another path through libm)
        arg = np.abs(x) + np.asarray(0.5, dtype=x.dtype) if fn in ("log", "log1p", "xlogy") else x

        def kernel(a: Any, out: Any = None, f: Any = f, arity: int = arity, takes_out: bool = takes_out) -> Any:
            return f(*([a] * arity), out=out) if takes_out else f(*([a] * arity))
        with np.errstate(all="ignore"):
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                _runtime.blocked(kernel, (arg,), widen, x)
                times.append(time.perf_counter() - t)
        total += min(times)
    return total


def bench(names: list[str] | None, n: int, repeats: int) -> list[dict[str, Any]]:
    import torch
    import torch.nn.functional as F

    import nnref

    rows = []
    ops = [op for op in registry.all_ops() if isinstance(op, PointwiseOp) and op.variant_of is None]
    for op in ops:
        if names and op.public not in names:
            continue
        tfn = getattr(F, op.public, None)
        if tfn is None:
            continue
        for dtype in ("float64", "float32"):
            rng = np.random.default_rng(0)
            inputs = _inputs(op, n, dtype, rng)
            params = _params(op)
            wrt = [a.name for a in op.args if a.grad and a.name in inputs]
            fwd, bwd = getattr(nnref, op.public), getattr(nnref, f"{op.public}_backward")
            g = np.ones_like(fwd(**inputs, **params))

            tens = {k: torch.from_numpy(v).requires_grad_(k in wrt) for k, v in inputs.items()}
            run_nnref = _nnref_turn(fwd, bwd, g, inputs, params)
            run_torch = _torch_turn(tfn, tens, params, wrt, torch.from_numpy(g))
            t_nn, t_th = _median_pair(run_nnref, run_torch, repeats)
            floor = _floor(_elementary_calls(op), next(iter(inputs.values())), repeats)
            rows.append({"op": op.public, "dtype": dtype, "nnref_ms": t_nn * 1e3, "torch_ms": t_th * 1e3,
                         "ratio": t_nn / t_th, "floor_ms": floor * 1e3, "floor_ratio": floor / t_th})
            print(f"{op.public:32s} {dtype:8s} nnref {t_nn * 1e3:8.2f} ms  torch {t_th * 1e3:8.2f} ms"
                  f"  ratio {t_nn / t_th:6.2f}  floor {floor * 1e3:8.2f} ms ({floor / t_th:5.2f})", flush=True)
    return rows


def _combine(passes: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per op and dtype: the median over runs of each number, with the runs' ratios."""
    rows = []
    for same in zip(*passes):
        row = {"op": same[0]["op"], "dtype": same[0]["dtype"]}
        for key in ("nnref_ms", "torch_ms", "ratio", "floor_ms", "floor_ratio"):
            row[key] = statistics.median(r[key] for r in same)
        if len(same) > 1:
            row["run_ratios"] = [r["ratio"] for r in same]
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--ops", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--runs", type=int, default=1,
                    help="time the whole table this many times; a row's numbers are the medians over runs")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for both libraries (default: each its own; 1 compares kernels alone,"
                         " and is steadier when another job holds a core)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)  # torch's notice about kl_div's reduction
    import os

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["NNREF_NUM_THREADS"] = str(args.threads)

    from nnref import _runtime

    _runtime.hint_heap(_runtime.HEAP_HINT_LIMIT)
    names = [s for s in args.ops.split(",") if s] or None
    passes = []
    for k in range(args.runs):
        if args.runs > 1:
            print(f"-- run {k + 1} of {args.runs}", flush=True)
        passes.append(bench(names, args.n, args.repeats))
    rows = _combine(passes)
    summary = {}
    for dtype in ("float64", "float32"):
        r = [row["ratio"] for row in rows if row["dtype"] == dtype]
        if r:
            worst = max((row for row in rows if row["dtype"] == dtype), key=lambda x: x["ratio"])
            summary[dtype] = {"median": statistics.median(r), "max": max(r), "worst": worst["op"]}
            print(f"{dtype}: median ratio {summary[dtype]['median']:.2f}, max {summary[dtype]['max']:.2f}"
                  f" ({summary[dtype]['worst']})")
    if args.json:
        meta = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
                "numpy": np.__version__, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                "nnref_threads": _runtime.threads(),
                "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "n": args.n,
                "repeats": args.repeats, "runs": args.runs}
        try:
            meta["cpu"] = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                               if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows, "summary": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
