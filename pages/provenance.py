"""Where a measurement was made: nnref's commit, the CPU, torch's CPU kernel path, versions.

The same record is written into the verification results by the test suite
(``tests/conftest.py``) and into the Accuracy page's results, so every published number says
which code on which machine produced it.

Owns: ``provenance``.  Imports: the standard library, NumPy and (when installed) torch and
hypothesis; no other page module.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nnref_commit": _commit(), "cpu": _cpu(), "cores": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(), "numpy": np.__version__,
        "longdouble_bits": int(np.finfo(np.longdouble).nmant) + 1,
    }
    try:
        import torch

        out["torch"] = torch.__version__
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        out["torch_onednn"] = "on" if torch.backends.mkldnn.enabled else "off"
        out["aten_cpu_capability_env"] = os.environ.get("ATEN_CPU_CAPABILITY", "")
    except ImportError:
        pass
    try:
        import hypothesis

        out["hypothesis"] = hypothesis.__version__
    except ImportError:
        pass
    return out
