"""The convolution page, its ops' pages and the worked examples E4 and E5.

The worked-example values are recomputed here by hand (plain Python loops and the
receptive-field recurrence), so a wrong nnref value and a wrong claim both fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from derivations.ops import conv
from derivations.proofs import conv as conv_proofs
from pages import conv as conv_docs
from pages import kernels, markup
from pages.claims import Claim

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    return {c.key: c for c in conv_docs.e4_e5_claims()}


def test_e4_the_source_adds_wrong(claims: dict[str, Claim]) -> None:
    image = [[4, 3, 2, 1, 0]] * 5
    kernel = [[1, 0, -1]] * 3
    fmap = [[sum(image[i + m][j + n] * kernel[m][n] for m in range(3) for n in range(3)) for j in range(3)]
            for i in range(3)]
    assert fmap == [[6] * 3] * 3
    assert claims["E4.00"].value == 6 and claims["E4.00"].ok is False  # the source says 10
    assert claims["E4.map"].ok and claims["E4.map"].value.tolist() == fmap
    assert claims["E4.corr"].ok and claims["E4.corr"].value.tolist() == [[-6] * 3] * 3


def _field(layers: list[tuple[int, int]]) -> int:
    """Receptive-field width by the recurrence r ← r + (k − 1)·j, j ← j·s."""
    r, j = 1, 1
    for k, s in layers:
        r, j = r + (k - 1) * j, j * s
    return r


def test_e5_receptive_fields_and_counts(claims: dict[str, Claim]) -> None:
    e5 = conv_docs.compute_e5()
    assert e5["fields"]["one 3×3 layer"] == (3, 9) and claims["E5.rf1"].ok
    assert e5["fields"]["two 3×3 layers"] == (_field([(3, 1), (3, 1)]), 25) and claims["E5.rf2"].ok
    assert e5["fields"]["two 3×3 layers, stride 2 in the first"][0] == _field([(3, 2), (3, 1)]) == 7
    assert e5["fields"]["3×3, 2×2 pooling, 3×3"][0] == _field([(3, 1), (2, 2), (3, 1)]) == 8
    assert e5["dense_weights"] == 1000 * 3 * 1000 * 1000 and claims["E5.dense"].ok
    assert e5["conv_weights"] == 64 * 3 * 3 * 3 and claims["E5.conv"].ok


def test_e4_e5_section_renders() -> None:
    cl = conv_docs.e4_e5_claims()
    text = conv_docs.render_e4_e5(cl)
    markup.check_prose(text, "E4/E5")
    assert "✘ **disagrees**" in text and "✔ agrees" in text
    assert "## E4" in text and "## E5" in text


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The family page, then each op's page."""
    # A one-configuration grid per op keeps this fast; tests/test_conv_exact.py runs the real one.
    small = {dims: {key: values[:1] for key, values in axes.items()}
             for dims, axes in conv_proofs.GRID_AXES["ci"].items()}
    saved = conv_proofs.GRID_AXES["ci"]
    conv_proofs.GRID_AXES["ci"] = small
    conv_docs._PROOFS.clear()
    try:
        text, n_ops, n_plots = conv_docs.render_page("Convolution", None, tmp_path_factory.mktemp("plots"))
        op_pages = [conv_docs.render_op_page(op, None) for op in conv.OPS]
    finally:
        conv_proofs.GRID_AXES["ci"] = saved
        conv_docs._PROOFS.clear()
    assert n_ops == 6 and n_plots == 1
    for op, op_text in zip(conv.OPS, op_pages):
        markup.check_prose(op_text, f"ops/{op.name}.md")
        assert f"\n# {op.name} {{#{markup.anchor(op.name)}}}\n" in op_text and f"`nnref.{op.name}(" in op_text
        assert f'??? note "The generated code: _{op.name}_forward and _{op.name}_vjp"' in op_text
        assert "✔ **" in op_text.split("## Exact check")[1].split("##")[0]  # its grid check
        assert "Not yet run" in op_text
    return "\n".join([text, *op_pages])


def test_page_shows_derived_formulas_proofs_sizes_code(page: str) -> None:
    markup.check_prose(page, "convolution.md")
    op = conv.op_named("conv1d")
    for key in ("input", "weight", "bias"):
        assert conv_docs.tex(op.stated.grads[key].formula) in page  # the derived index formulas
    assert r"\delta_{" in page  # SymPy's raw derivative, with its deltas
    assert page.count("✔ **symbolic**") >= 3  # the three relationships
    assert "relationship" not in page or "Dumoulin" in page
    for sp_ in conv_proofs.size_proofs():
        assert conv_docs.tex(sp_.row["quoted"]) in page
    text = (ROOT / "nnref" / "_generated" / "conv.py").read_text()
    vjp = kernels._generated_functions()["_conv2d_vjp"][1]  # on conv2d's page, in its collapsed block
    assert "\n".join("    " + ln if ln else "" for ln in vjp.splitlines()) in page and "_conv2d_vjp" in text
    assert "printed from those" in page and "checked exactly" in page  # says which engine route it is
    assert "assets/plots/conv_receptive_field.svg" in page
    for op_ in conv.OPS:
        assert f'<span id="{markup.anchor(op_.name)}"></span>' in page  # old links land on the op's row
        assert f"(ops/{op_.name}.md)" in page


def test_benchmark_table_is_split_into_time_and_memory() -> None:
    """The eleven benchmark columns become a time table and a memory table, each row keeping
    its case and dtype, so neither is wider than the page."""
    header = ["shape", "dtype", "nnref ms", "torch ms", "nnref / torch", "range", "target", "nnref peak MiB",
              "torch peak MiB", "memory", "nnref tracemalloc MiB"]
    row = ["8, 64", "float64", "1.0", "2.0", "0.50×", "0.4–0.6×", "≤ 1.5× ✅", "3.0", "4.0", "✅ ≤ torch", "3.1"]
    time_table, _, _, _, memory_table = conv_docs._split_table(header, [row])
    assert time_table.splitlines()[0].count("|") == 8 and "peak" not in time_table
    assert "| 8, 64 | float64 | 1.0 | 2.0 | 0.50× | 0.4–0.6× | ≤ 1.5× ✔ |" in time_table
    assert "| 8, 64 | float64 | 3.0 | 4.0 | ✔ ≤ torch | 3.1 |" in memory_table and "nnref ms" not in memory_table
