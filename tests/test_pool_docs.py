"""The pooling page and its ops' pages: together they render everything they promise (formulas,
derived gradients, the conventions with their picture, the size rule, the generated code, the
exact checks, the frameworks section), and the picture shows what its captions say.

The exact checks run on a one-configuration grid here to stay fast; tests/test_pool_exact.py
and the docs build run the real one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from derivations.ops import pool
from derivations.proofs import pool as pool_proofs
from pages import kernels, markup
from pages import pool as pool_docs


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, dict[str, str]]:
    """(the family page, the plots folder, {op: its page})."""
    window_grid, adaptive_grid = pool_proofs.window_grid, pool_proofs.adaptive_grid
    pool_proofs.window_grid = lambda op, profile="ci": window_grid(op, profile)[:1]  # type: ignore[assignment]
    pool_proofs.adaptive_grid = lambda op: adaptive_grid(op)[:1]  # type: ignore[assignment]
    pool_docs._CHECKS.clear()
    plots = tmp_path_factory.mktemp("plots")
    try:
        text, n_ops, n_plots = pool_docs.render_page("Pooling", None, plots)
        op_pages = {op.name: pool_docs.render_op_page(op, None) for op in pool.OPS}
    finally:
        pool_proofs.window_grid, pool_proofs.adaptive_grid = window_grid, adaptive_grid
        pool_docs._CHECKS.clear()
    assert n_ops == len(pool.OPS) == 14 and n_plots == 1
    return text, plots, op_pages


Rendered = tuple[str, Path, dict[str, str]]


def _site(rendered: Rendered) -> str:
    """The family page and every op page, as one text."""
    page, _, op_pages = rendered
    return "\n".join([page, *op_pages.values()])


def test_page_is_valid_prose_and_links_every_op(rendered: Rendered) -> None:
    page, _, op_pages = rendered
    markup.check_prose(page, "pooling.md")  # no TeX outside math or code
    assert page.startswith(markup.GENERATED_NOTE) and "# Pooling" in page
    for op in pool.OPS:
        assert f'<span id="{markup.anchor(op.name)}"></span>' in page  # old links land on the op's row
        assert f"(ops/{op.name}.md)" in page  # which links to its page
        text = op_pages[op.name]
        markup.check_prose(text, f"ops/{op.name}.md")
        assert text.startswith(markup.GENERATED_NOTE) and f"\n# {op.name} {{#{markup.anchor(op.name)}}}\n" in text
        assert f"`nnref.{op.name}(" in text and f"`F.{op.name}`" in text and "## Example" in text
        assert "Not yet run" in text  # verification=None says so instead of inventing numbers
    assert "Not yet run" in page


def test_page_shows_formulas_and_derived_gradients(rendered: Rendered) -> None:
    page = _site(rendered)
    for kind in pool_docs.KIND_TITLES:
        op = next(o for o in pool.OPS if o.kind == kind)
        assert pool_docs.tex(op.forward) in page
        assert pool_docs.tex(pool_docs._unshadow(op.gradient.formula)) in page
        assert f"SymPy's raw derivative ({op.name})" in page and pool_docs.tex(op.gradient.raw) in page
    assert r"\delta_{j_{0}', d_{0}\,k_{0}" in page  # 2-D: one delta per axis, primes read as j_0'
    assert r"\kappa" in page  # lp_pool's inner sum no longer reuses the outer k
    div = pool.divisor_rule()
    assert pool_docs.tex(div["include_pad"]) in page and pool_docs.tex(div["exclude_pad"]) in page
    assert r"\left\lceil{\frac{L\,\left(i + 1\right)}{M}}\right\rceil" in page  # adaptive window end
    assert r"H\left(a - b\right)" in page and r"$\frac{1}{2}$" in page  # SymPy's Max at a tie


def test_conventions_table_and_picture(rendered: Rendered) -> None:
    page, plots, op_pages = rendered
    assert "| convention | rule | why | ops |" in page
    for conv, _ in pool_docs._conventions():
        assert markup.cell(conv.label) in page
    assert "ceil_mode drops a window starting in the padding" in page
    assert f"![Where max_pool2d's gradient goes under each convention](assets/plots/{pool_docs.FIGURE})" in page
    svg = plots / pool_docs.FIGURE
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text() and svg in pool_docs.DRAWN
    for title, *_ in pool_docs.PANELS:
        assert f"**{title}**" in page
    for op in pool.OPS:  # each op's page has the conventions it declares
        for conv in op.conventions:
            assert markup.cell(conv.label) in op_pages[op.name]


def test_page_shows_size_rule_code_and_checks(rendered: Rendered) -> None:
    page, _, op_pages = rendered
    rule = pool.size_rule()
    assert pool_docs.tex(rule.floor_mode) in page and pool_docs.tex(rule.ceil_mode) in page
    assert f"on {pool_proofs.size_rule_agrees()} settings" in page
    funcs = kernels._generated_functions()
    for name in ("pool_out_size", "avg_divisor", "adaptive_bounds"):
        assert funcs[name][1] in page, name
    for op in pool.OPS:  # each op's kernels on its page, collapsed; the hand-written ones on the family page
        if f"_{op.name}_forward" in funcs:
            assert f'??? note "The generated code: _{op.name}_forward and _{op.name}_vjp"' in op_pages[op.name]
        else:
            assert "written by hand in `nnref/_pool.py`" in op_pages[op.name]
        assert ("✔ to rounding" if op.kind == "lp" else "✔ exact") in op_pages[op.name]
    assert page.count("| ✔ exact |") == len(pool.OPS) - 2 and page.count("| ✔ to rounding |") == 2  # lp: rounded
    assert "✘" not in page.split("## How frameworks")[0]
    frameworks = page.split("## How frameworks differ")[1].split("## Tolerances")[0]
    for source in ("github.com/pytorch/pytorch", "tensorflow.org", "github.com/tensorflow/tensorflow",
                   "github.com/jax-ml/jax", "github.com/openxla/stablehlo", "onnx.ai"):
        assert source in frameworks, source
    assert "| ops | dtype | rtol | atol | why |" in page


def test_a_failed_check_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(op: pool.PoolOp) -> int:
        raise AssertionError("gradient at (0, 0, 1): engine g_1, SymPy g_2")

    monkeypatch.setattr(pool_proofs, "unpool_exact_check", broken)
    result = pool_docs.check_op("max_unpool1d")
    assert isinstance(result, str) and "engine g_1" in result
    fake = {op.name: (1, 1) for op in pool.OPS} | {"max_unpool1d": result}
    text = "\n".join(pool_docs._exact_section(fake))
    assert "✘ **failed**: AssertionError: gradient at (0, 0, 1)" in text
    assert "**1 op(s) failed an exact check**: max_unpool1d." in text


def test_benchmark_rows_or_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = tmp_path / "conv_bench.json"
    monkeypatch.setattr(pool_docs, "BENCH", bench)
    assert "has not been run" in pool_docs._bench_section()[0]  # no file
    bench.write_text(json.dumps({"date": "2026-01-01", "machine": "test box", "rows": []}))
    assert "has not been run" in pool_docs._bench_section()[0]  # no pool_rows
    rows = [{"case": [8, 64, 56, 56, 2, 2], "dtype": "float64", "nnref_ms": 3.0, "torch_ms": 2.0, "ratio": 1.5,
             "target": 2.0},
            {"case": "avg 3x3", "dtype": "float32", "nnref_ms": 9.0, "torch_ms": 3.0, "ratio": 3.0, "target": 2.5}]
    bench.write_text(json.dumps({"date": "2026-01-01", "machine": "test box", "pool_rows": rows}))
    text = "\n".join(pool_docs._bench_section())
    assert "2026-01-01 on test box" in text
    assert "| 8, 64, 56, 56, 2, 2 | float64 | 3.0 | 2.0 | 1.50× | ≤ 2× ✔ |" in text
    assert "✘ **missed**" in text and "**1 case(s) missed the target in this run.**" in text
    # conv_bench.py's own layout: the pooling table stamped separately, with its header and cells
    rows[0] |= {"cells": ["max_pool2d", "8, 64, 56×56", "2×2 / 2 / 0", "float64", "3.0", "2.0", "1.50×", "≤ 2×"]}
    rows[1] |= {"cells": ["avg_pool2d", "8, 64, 56×56", "3×3 / 1 / 1", "float32", "9.0", "3.0", "3.00×", "≤ 2.5×"]}
    bench.write_text(json.dumps({"date": "old", "machine": "conv box", "pool_date": "2026-02-02",
                                 "pool_machine": "pool box", "pool_repeats": 9, "pool_rows": rows,
                                 "pool_header": ["op", "input", "kernel / stride / padding", "dtype", "nnref ms",
                                                 "torch ms", "nnref / torch", "target"]}))
    text = "\n".join(pool_docs._bench_section())
    assert "2026-02-02 on pool box" in text and "over 9 alternating turns" in text
    assert "| max_pool2d | 8, 64, 56×56 | 2×2 / 2 / 0 | float64 |" in text
    assert "**1 case(s) missed the target in this run.**" in text
    # The benchmark's own header: an input shape shared by every case is said once, not in a column
    data = json.loads(bench.read_text())
    data["pool_header"][1] = "input N, C, H×W"
    bench.write_text(json.dumps(data))
    text = "\n".join(pool_docs._bench_section())
    assert "Input (N, C, H×W) = (8, 64, 56×56) in every case." in text
    assert "input N, C" not in text
    # and the two times share a column, "nnref / torch"
    assert "| ms: nnref / torch |" in text and "| max_pool2d | 2×2 / 2 / 0 | float64 | 3.0 / 2.0 | 1.50× |" in text
    rows[1]["cells"][1] = "4, 64, 56×56"
    bench.write_text(json.dumps(data | {"pool_rows": rows}))
    assert "| max_pool2d | 8, 64, 56×56 | 2×2 / 2 / 0 |" in "\n".join(pool_docs._bench_section())


@pytest.mark.parametrize("panel", range(len(pool_docs.PANELS)))
def test_picture_shows_what_its_caption_says(panel: int) -> None:
    """Each panel's gradient, from nnref, against the convention it illustrates (by hand)."""
    title, x, kw, _ = pool_docs.PANELS[panel]
    y, ind, grad = pool_docs.panel_values(x, kw)
    want = np.zeros(np.shape(x))
    if title.startswith("tie"):
        want[0, 1] = 1  # the first of the two 5s
    elif title.startswith("NaN"):
        want[1, 0] = 1  # the second NaN
        assert np.isnan(y[0, 0])
    elif title.startswith("padding"):
        want[0, 0] = want[0, 1] = 1  # all-−∞ windows choose their first real entry, never padding
        want[1, 0] = want[2, 2] = 1
        assert ind[0].tolist() == [0, 1]
    elif title.startswith("overlapping"):
        want[1, 1], want[2, 4] = 4, 2  # 9 is the maximum of four windows, 7 of two
    else:
        assert y.shape == (2, 3)  # ceil_mode keeps the overhanging last row and column of windows
        want[0, 1] = want[0, 4] = want[1, 2] = want[2, 0] = want[2, 3] = want[2, 4] = 1
    np.testing.assert_array_equal(grad, want)
