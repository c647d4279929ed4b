"""Write the documentation pages (``docs/*.md``) and their plots from the op descriptions.

``python -m pages`` renders every family page (an overview of its ops, or the convolution,
pooling, ... pages), a page per op (``docs/ops/<op>.md``, listed under its family in
``mkdocs.yml``'s nav, which ``with_op_nav`` keeps in step with the registry), the home,
changelog, conventions, verification, conformance and worked-examples pages, and the plots.
Nothing about an op is typed in this package: everything comes from its record, reached
through ``derivations.registry``, so a new op gets its page by being declared.  Site rule
(``tests/test_site.py`` enforces it in a browser): TeX only ever appears inside ``$...$`` /
``$$...$$`` or code; ``check_prose`` refuses a page that breaks it.

Owns: ``main`` (the order pages are written in, stale plots and op pages removed),
``write_page`` and ``with_op_nav``.
Imports: ``derivations.registry`` and every page module (``.family``, ``.home``,
``.conventions``, ``.conformance``, ``.worked``, ``.verification_page``,
``.networks_page``, ``.accuracy``) with the helpers
``.jobs``, ``.markup``, ``.paths``, ``.verification``; no page module imports this one.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from derivations.registry import FAMILIES, family_ops

from . import conv, figure, networks_page, pool, worked
from .accuracy import measured, render_accuracy
from .conformance import render_conformance, write_vectors_archive
from .conventions import render_conventions
from .family import render_family_page, render_op_pages
from .home import render_changelog, render_index
from .jobs import PLOTTED, proof_counts, proved_ops, run_jobs
from .markup import OP_DIR, check_prose
from .op_page import with_search_boost
from .paths import DOCS, PLOTS, ROOT, VERIFICATION
from .verification import load_verification
from .verification_page import render_verification
from .walkthrough_page import render_walkthroughs
from .worked import render_worked_examples

# Pictures drawn by the pages of their own (beyond one plot per op), to keep when pruning.
EXTRA_PLOTS = (conv.DRAWN, pool.DRAWN, networks_page.DRAWN, worked.DRAWN)


MKDOCS = ROOT / "mkdocs.yml"


def write_page(name: str, text: str) -> None:
    check_prose(text, name)
    (DOCS / name).parent.mkdir(parents=True, exist_ok=True)
    (DOCS / name).write_text(text)


def with_op_nav(config: str, op_pages: dict[str, list[str]]) -> str:
    """mkdocs.yml with each family that has op pages as a nav section: its overview, then its
    ops' pages in declaration order.  The other entries are
    kept as written; ``op_pages`` maps a family page to its op pages."""
    head, sep, nav = config.partition("\nnav:\n")
    assert sep, "mkdocs.yml has no top-level nav"
    items: list[list[str]] = []
    for line in nav.splitlines():
        if line.startswith("  - ") or not items:
            items.append([line])
        else:
            items[-1].append(line)
    pages = {fam.title: fam.page for fam in FAMILIES}
    out = []
    for item in items:
        title = item[0][4:].split(":", 1)[0]
        page = pages.get(title)
        if page is None or not op_pages.get(page):
            out += item
            continue
        out += [f"  - {title}:", f"      - {page}"]  # untitled: the page keeps its own title
        out += [f"      - {Path(p).stem}: {p}" for p in op_pages[page]]
    return head + sep + "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    start = time.perf_counter()
    ops = proved_ops()
    print(f"docs: {len(ops)} op records from derivations/")
    t = time.perf_counter()
    PLOTS.mkdir(parents=True, exist_ok=True)
    # PNGs are what builds before the switch to SVG left behind: stale too.
    before = set(PLOTS.glob("*" + figure.EXT)) | set(PLOTS.glob("*.png"))
    run_jobs(ops, PLOTS)
    sym, num, failed, _ = proof_counts(ops)
    print(f"  proofs: {sym} symbolic, {num} numeric, {failed} failed; plots: "
          f"{sum(v is None for v in PLOTTED.values())} ({time.perf_counter() - t:.1f} s)")
    data = load_verification()
    if VERIFICATION.exists():  # the raw results, published beside the pages that summarise them
        (DOCS / "assets" / "results").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VERIFICATION, DOCS / "assets" / "results" / "verification.json")
    print("  verification: " + (f"{len(data.get('rows', []))} rows from {VERIFICATION.relative_to(ROOT)}"
                                if data else "none yet (build/verification/torch.json missing)"))
    t = time.perf_counter()
    accuracy = measured()
    print(f"  accuracy: nnref and torch against the oracle, {len(accuracy['rows'])} rows"
          f" ({time.perf_counter() - t:.1f} s)")
    drawn: set[Path] = set()
    op_pages: dict[str, list[str]] = {}
    every: dict[str, str] = {}  # op page path -> text, written once all are known (search boosts)
    for fam in FAMILIES:
        text, n_ops, _ = render_family_page(fam.name, fam.title, data, PLOTS)
        write_page(fam.page, text)
        ops = render_op_pages(fam.name, data, PLOTS, accuracy)
        op_pages[fam.page] = list(ops)
        every.update(ops)
        drawn |= {PLOTS / f"{op.name}{figure.EXT}" for op in family_ops(fam.name)}
        print(f"  page {fam.page} ({n_ops} op records, {len(ops)} op pages)")
    for name, page in with_search_boost(every).items():
        write_page(name, page)
    written = {DOCS / p for ps in op_pages.values() for p in ps}
    for stale in set((DOCS / OP_DIR).glob("*.md")) - written:
        stale.unlink()
    config = MKDOCS.read_text()
    if with_op_nav(config, op_pages) != config:
        MKDOCS.write_text(with_op_nav(config, op_pages))
        print("  mkdocs.yml: nav updated to the op pages")
    for extra in EXTRA_PLOTS:
        drawn |= extra
    for stale in before - drawn:
        stale.unlink()
    t = time.perf_counter()
    write_vectors_archive()
    print(f"  golden vectors: assets/results/ ({time.perf_counter() - t:.1f} s)")
    for page, render in (("index.md", lambda: render_index(data)), ("changelog.md", render_changelog),
                         ("conventions.md", render_conventions),
                         ("conformance.md", render_conformance), ("worked-examples.md", render_worked_examples),
                         ("networks.md", networks_page.render_networks), ("derivations.md", render_walkthroughs)):
        write_page(page, render())
        print(f"  page {page}")
    write_page("verification.md", render_verification(data))
    print("  page verification.md")
    write_page("accuracy.md", render_accuracy())
    print("  page accuracy.md")
    print(f"docs written in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
