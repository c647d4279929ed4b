"""cross_entropy with class indices, and window ops with large strides: nnref against torch (CPU).

    PYTHONPATH=. .venv/bin/python benchmarks/issue12_bench.py [--repeats 7] [--json FILE]

* **time** — forward + backward (nnref: ``f`` then ``f_backward``; torch: ``F.f`` then
  ``torch.autograd.grad``), in one process, nnref and torch taking turns after one warm-up
  each, so both see the same background load; a turn times one call after 30 ms of untimed
  ones (``turns.timed_turn`` says why); the median of ``--repeats`` turns.
* **peak memory** (cross_entropy) — as ``conv_bench.py`` measures it: a fresh process per
  library and case, the peak resident set (VmHWM, reset through /proc/self/clear_refs after
  the inputs exist and a warm-up run) minus the resident size then, over one forward +
  backward, with glibc serving blocks of 128 KiB or more by mmap so freed buffers leave.

A benchmark, not a test.
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
from pathlib import Path
from typing import Any

from turns import timed_turn

CE_SHAPES = [(4096, 1000), (64, 32000), (8, 50257)]
# (label, op, input shape, weight shape or None, kwargs)
STRIDE_CASES = [
    ("max_pool2d k3 s1000", "max_pool2d", (2, 3, 7, 6), None, {"kernel_size": 3, "stride": 1000}),
    ("avg_pool2d k3 s1000", "avg_pool2d", (2, 3, 7, 6), None, {"kernel_size": 3, "stride": 1000}),
    ("max_pool1d k3 s1e6", "max_pool1d", (2, 3, 7), None, {"kernel_size": 3, "stride": 10**6}),
    ("conv_transpose2d 2×2 s1000", "conv_transpose2d", (1, 1, 2, 2), (1, 1, 3, 3), {"stride": 1000}),
    ("max_pool2d k3 s2^31", "max_pool2d", (2, 3, 7, 6), None, {"kernel_size": 3, "stride": 2**31}),
    ("conv_transpose2d 2×2 s2^31", "conv_transpose2d", (1, 1, 2, 2), (1, 1, 3, 3), {"stride": 2**31}),
]


def _ce_nnref(x: Any, t: Any) -> None:
    import numpy as np

    import nnref
    nnref.cross_entropy(x, t)
    nnref.cross_entropy_backward(np.array(1.0), x, t)


def _ce_torch(x: Any, t: Any) -> None:
    import torch
    import torch.nn.functional as F
    xt = x.requires_grad_(True) if not x.requires_grad else x
    torch.autograd.grad(F.cross_entropy(xt, t), xt)


def _rss() -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def memory_worker(lib: str, n: int, c: int) -> None:
    import numpy as np
    x = np.random.default_rng(0).standard_normal((n, c))
    t = np.random.default_rng(1).integers(0, c, n)
    if lib == "torch":
        import torch
        args: tuple[Any, ...] = (torch.from_numpy(x), torch.from_numpy(t))
        run = _ce_torch
    else:
        args, run = (x, t), _ce_nnref
    run(*args)
    Path("/proc/self/clear_refs").write_text("5")
    before, _ = _rss()
    run(*args)
    _, peak = _rss()
    print(json.dumps({"peak": peak - before}))


def _peak(lib: str, n: int, c: int) -> int:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(128 * 1024), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, __file__, "--memory-worker", lib, str(n), str(c)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(json.loads(out.strip().splitlines()[-1])["peak"])


def _turns(ours: Any, theirs: Any, repeats: int) -> tuple[float, float]:
    a, b = [], []
    for _ in range(repeats):
        for f, acc in ((ours, a), (theirs, b)):
            acc.append(timed_turn(f))
    return statistics.median(a), statistics.median(b)


def _stride_call(lib: str, op: str, shape: tuple[int, ...], wshape: Any, kw: dict[str, Any]) -> Any:
    import numpy as np
    import torch
    import torch.nn.functional as F

    import nnref
    x = np.random.default_rng(0).standard_normal(shape)
    w = None if wshape is None else np.random.default_rng(1).standard_normal(wshape)
    args = (x,) if w is None else (x, w)

    def ours() -> str:
        try:
            out = getattr(nnref, op)(*args, **kw)
            getattr(nnref, f"{op}_backward")(np.ones_like(out), *args, **kw)
            return "result"
        except nnref.NNRefError as exc:
            return "NNRefError: " + str(exc)[:90]

    def theirs() -> str:
        ts = [torch.from_numpy(a).requires_grad_(True) for a in args]
        try:
            out = getattr(F, op)(*ts, **kw)
            torch.autograd.grad(out, ts, torch.ones_like(out))
            return "result"
        except Exception as exc:  # noqa: BLE001 - reported in the table
            return f"{type(exc).__name__}: " + str(exc)[:90]

    return ours if lib == "nnref" else theirs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--memory-worker", nargs=3)
    args = ap.parse_args()
    if args.memory_worker:
        lib, n, c = args.memory_worker
        memory_worker(lib, int(n), int(c))
        return
    import numpy as np
    import torch

    from nnref import _runtime
    # Both libraries with the same allocator state from the first turn, as in pointwise_bench.py:
    # glibc keeps this much freed memory for reuse from the start, instead of after whichever
    # ran a large kernel first.
    _runtime.hint_heap(_runtime.HEAP_HINT_LIMIT)
    rows = []
    print(f"{'cross_entropy (N, C) float64':<30} {'nnref ms':>9} {'torch ms':>9} {'ratio':>6}"
          f" {'nnref MiB':>10} {'torch MiB':>10} {'ratio':>6}")
    for n, c in CE_SHAPES:
        x = np.random.default_rng(0).standard_normal((n, c))
        t = np.random.default_rng(1).integers(0, c, n)
        xt, tt = torch.from_numpy(x.copy()).requires_grad_(True), torch.from_numpy(t)
        ours, theirs = _turns(lambda x=x, t=t: _ce_nnref(x, t), lambda xt=xt, tt=tt: _ce_torch(xt, tt), args.repeats)
        mo, mt = _peak("nnref", n, c), _peak("torch", n, c)
        rows.append({"shape": [n, c], "nnref_s": ours, "torch_s": theirs, "nnref_peak": mo, "torch_peak": mt})
        print(f"{str((n, c)):<30} {ours * 1e3:9.2f} {theirs * 1e3:9.2f} {ours / theirs:6.2f}"
              f" {mo / 2**20:10.1f} {mt / 2**20:10.1f} {mo / max(mt, 1):6.2f}")
    stride_rows = []
    print(f"\n{'large stride, forward + backward':<30} {'nnref ms':>9} {'torch ms':>9}  outcome (nnref / torch)")
    for label, op, shape, wshape, kw in STRIDE_CASES:
        ours_f, theirs_f = _stride_call("nnref", op, shape, wshape, kw), _stride_call("torch", op, shape, wshape, kw)
        a, b = _turns(ours_f, theirs_f, args.repeats)
        outcome = (ours_f(), theirs_f())
        stride_rows.append({"case": label, "nnref_s": a, "torch_s": b, "nnref": outcome[0], "torch": outcome[1]})
        print(f"{label:<30} {a * 1e3:9.2f} {b * 1e3:9.2f}  {outcome[0][:60]} / {outcome[1][:40]}")
    if args.json:
        args.json.write_text(json.dumps({
            "date": dt.date.today().isoformat(),
            "machine": f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} CPUs",
            "versions": {"numpy": np.__version__, "torch": torch.__version__, "python": platform.python_version()},
            "repeats": args.repeats, "cross_entropy": rows, "stride": stride_rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
