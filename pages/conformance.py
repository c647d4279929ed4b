"""The conformance page: how to run nnref's suite against another implementation.

Owns: ``render_conformance`` and its tables (template ``conformance.md.j2``, the adapter
example in ``conformance_example.py.j2``): the protocol, the options, the regime coverage
(from ``nnref.conformance.regimes``) and the planted bugs (from the test's results); the
golden vectors' archive the page offers for download (``write_vectors_archive``).
Imports: ``nnref.conformance.regimes`` and ``.vectors``, ``.markup``, ``.paths``,
``.templating``; no other page module.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from nnref._generated.catalog import CATALOG
from nnref.conformance import regimes

from .markup import cell, table
from .paths import PLANTED, RESULTS
from .templating import render

PROTOCOL_TABLE = table(["member", "meaning"], [
    ["`name: str`", "shown in messages"],
    ["`devices: tuple[str, ...]`", 'devices to test, e.g. `("cpu", "cuda")`; each becomes a test parameter'],
    ["`available(device) -> Optional[str]`",
     "`None` when the device can be used here, otherwise the reason (the tests skip)"],
    ["`forward(op, inputs, params, device) -> ndarray`",
     "run op `op` (torch.nn.functional's name); `inputs` maps input names to NumPy arrays,"
     " `params` holds keyword parameters"],
    ["`vjp(op, inputs, params, grad_output, wrt, device) -> dict`",
     r"the gradient of $\langle g, \operatorname{op}(\ldots)\rangle$ for each input named in `wrt`,"
     " as NumPy arrays"],
])

OPTIONS_TABLE = table(["option", "meaning"], [
    ["`--impl package.module:object`", "the implementation under test (default `torch`; also `$NNREF_IMPL`)"],
    ["`--skip-ops FILE`", "op names, one per line (`#` starts a comment), whose tests are skipped"],
    ["`--nnref-profile {ci,thorough}`", "`ci` (default): 30 derandomised examples per test; `thorough`: 600"
     " random ones (also `$NNREF_PROFILE`)"],
])

RUNNER_TABLE = table(["`python -m nnref conform` option", "meaning"], [
    ["`--impl package.module:object`", "the adapter (required); the module is imported from the current directory"
     " or `PYTHONPATH`"],
    ["`--ops a,b` / `--family f`", "only these ops, or this family (default: every op checked by forward and VJP)"],
    ["`--deviations FILE`", "known deviations (as `tests/deviations/torch.json`): exactly matching entries are"
     " reported, not failed"],
    ["`--report FILE`", "the JSON report (default `nnref-conformance.json`)"],
    ["`--profile {ci,thorough}`", "`ci` (default): 30 reproducible examples per op, dtype and device;"
     " `thorough`: 600 random ones"],
    ["`--replay FILE.npz`", "rerun one saved failing case; exit 1 while it still fails"],
])


def _short(v: str) -> str:
    try:
        return f"{float(v):.6g}" if "." in v or "e" in v else v.strip("'")
    except ValueError:
        return v.strip("'")


def _values(row: dict[str, Any]) -> str:
    parts = []
    for name, seen in row["values"].items():
        shown = ", ".join(_short(v) for v in seen[:6]) + (", …" if len(seen) > 6 else "")
        parts.append(f"`{name}`: {shown}")
    return "; ".join(parts) or "none"


def _yes(v: bool | None) -> str:
    return "n/a" if v is None else ("yes" if v else "**no**")


def coverage_table() -> str:
    """What the fixed cases of every op reach: the table tests/test_regimes.py checks."""
    rows = [regimes.coverage(m) for m in CATALOG if m["crosscheck"] == "vjp"]
    return table(["op", "fixed cases", "batch sizes", "parameter values reached", "all at once", "kinks straddled"],
                 [[f"`{r['op']}`", str(r["cases"]), ", ".join(map(str, r["batch_sizes"])), cell(_values(r)),
                   _yes(r["together"]), _yes(r["kinks_crossed"])] for r in rows])


def planted_table() -> str:
    if not PLANTED.exists():
        return "*Not run in this build (`tests/test_planted_bugs.py` writes `build/verification/planted.json`).*"
    bugs = json.loads(PLANTED.read_text())
    rows = []
    for b in bugs:
        caught = b["caught_by"]
        case = caught[1:caught.index("]")] if caught.startswith("[") else "a drawn example (shrunk)"
        where = caught.split("]", 1)[1].strip() if caught.startswith("[") else caught
        rows.append([f"`{b['op']}`", cell(b["regime"]), f"[report]({b['cite']})", cell(case),
                     where.split(" ")[0] if where else ""])
    return (f"{len(bugs)} planted bugs over {len({b['op'] for b in bugs})} ops, all caught.\n\n"
            + table(["op", "bug (the regime that triggers it)", "source", "caught by", "comparison"], rows))


VECTORS_ZIP = RESULTS / "nnref-golden-vectors.zip"


def write_vectors_archive(path: Path = VECTORS_ZIP, ops: str | None = None) -> None:
    """The golden vectors (``python -m nnref vectors``; every op, or the comma-separated
    ``ops``) as one zip, the same bytes for the same nnref and zlib: entries sorted, each
    dated 1980 (DEFLATE's output can differ between zlib builds; the contents cannot)."""
    from nnref.conformance import vectors

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "nnref-golden-vectors"
        vectors.write(folder, vectors.select(ops, None))
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(folder.rglob("*")):
                if f.is_file():
                    info = zipfile.ZipInfo(f.relative_to(tmp).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    info.create_system = 3  # Unix, whatever builds it (the default follows the OS)
                    z.writestr(info, f.read_bytes())


def vectors_download(path: Path = VECTORS_ZIP) -> str:
    """The download line for the archive: what it holds, its size and SHA-256, read from the file."""
    if not path.exists():
        return "*The archive is written by the site build (`python -m pages`); not in this build.*"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        manifest = json.loads(z.read("nnref-golden-vectors/manifest.json"))
    cases = sum(1 for n in names if n.endswith(".npz"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return (f"[Download the golden vectors](assets/results/{path.name}) (zip, "
            f"{path.stat().st_size / 1e6:.1f} MB): {len(manifest['ops'])} ops, {cases:,} cases, format version "
            f"{manifest['format_version']}, written by nnref {manifest['nnref_version']}; SHA-256 `{digest}`.")


def render_conformance() -> str:
    return render("conformance.md.j2", protocol_table=PROTOCOL_TABLE, options_table=OPTIONS_TABLE,
                  runner_table=RUNNER_TABLE, coverage_table=coverage_table(), planted_table=planted_table(),
                  vectors_download=vectors_download())
