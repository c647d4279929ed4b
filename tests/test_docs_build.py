"""The docs generator: one op page renders everything it promises, family pages link every op's
page, the nav lists them, and the worked examples on the site agree with the sources where the
sources are right.

The worked-example values are recomputed here with plain ``math`` (no nnref, no NumPy
formulas copied from it), so a wrong nnref value and a wrong claim both fail."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from derivations.ops import activations, structured
from derivations.registry import FAMILIES, family_ops, public_ops
from pages import build, examples, family, markup, op_page, sections, worked
from pages.claims import Claim

ROOT = Path(__file__).resolve().parent.parent


def _op(ops: list, name: str):  # noqa: ANN001, ANN202 - small lookup helper
    return next(op for op in ops if op.name == name)


def _generated_source(module: str, func: str) -> str:
    text = (ROOT / "nnref" / "_generated" / f"{module}.py").read_text()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == func)
    seg = ast.get_source_segment(text, node)
    assert seg is not None
    return seg


def test_relu_page_has_definition_proofs_conventions_and_code() -> None:
    section = sections.render_op_page(_op(activations.OPS, "relu"))
    assert "\n# relu {#relu}\n" in section
    assert "`torch.nn.functional.relu`, `F.relu`" in section and "`nnref.relu(input)`" in section
    assert "## Example {#relu-example}" in section and "## Accuracy {#relu-accuracy}" in section
    assert '??? note "The generated code: _relu_forward and _relu_vjp"' in section  # collapsed
    assert "## Source of this description {#relu-source}" in section and "derivations/ops/activations.py" in section
    assert r"\operatorname{relu}(x) = \max\left(0, x\right)" in section  # the definition
    assert "SymPy's derivative" in section and r"H\left(x\right)" in section  # the raw derivative
    # the rewrite that decides relu(-0) (0 where x <= 0, else x) is checked against Max(x, 0)
    assert "**Proofs and checks**" in section and "relu: stable rewrite equals the definition" in section
    # the conventions table, with SymPy's Heaviside(0) = 1/2 shown as differing
    assert "| convention | where | gradient returned |" in section
    assert "relu'(0) = 0" in section and "relu'(NaN) = 1" in section
    assert r"\frac{1}{2}" in section and "**differs**" in section
    assert "float32" in section and "float64" in section  # tolerances
    for func in ("_relu_vjp", "_relu_forward"):  # indented in the collapsed block
        assert "\n".join("    " + ln if ln else "" for ln in _generated_source("activations", func).splitlines()) in section
    markup.check_prose(section, "relu page")


def test_sigmoid_page_shows_rewrite_closed_form_and_proofs() -> None:
    section = sections.render_op_page(_op(activations.OPS, "sigmoid"))
    assert "**Stable rewrite**" in section and "**Closed form**" in section
    assert "- ✔ **proved symbolically**" in section
    markup.check_prose(section, "sigmoid section")


def test_structured_page_has_steps_proofs_and_code() -> None:
    section = sections.render_op_page(_op(structured.OPS, "softmax"))
    assert r"\operatorname{softmax}(x)_i" in section  # definition
    assert r"\begin{aligned}" in section and r"\max_{\text{dim}}" in section  # engine steps
    assert "- ✔ **proved symbolically**" in section  # proofs
    assert "_softmax_vjp" in section and "Not measured in ulps" in section  # no oracle for structured ops
    markup.check_prose(section, "softmax page")


def test_variants_are_shown_under_the_public_op() -> None:
    section = sections.render_op_page(_op(activations.OPS, "gelu"))
    assert '<div id="gelu_tanh"></div>\n\n## Variant `gelu(approximate=\'tanh\')` {#gelu-tanh}' in section
    assert "def _gelu_tanh_vjp" in section


def test_op_pages_link_from_one_folder_down() -> None:
    text = op_page.relink("[a](accuracy.md) ![p](assets/plots/x.png) [b](#x) [c](https://x.org)\n"
                          "```python\n[a](b.md)\n```")
    assert text == ("[a](../accuracy.md) ![p](../assets/plots/x.png) [b](#x) [c](https://x.org)\n"
                    "```python\n[a](b.md)\n```")
    page = sections.render_op_page(_op(activations.OPS, "relu"))
    assert "](accuracy.md" not in page and "](../accuracy.md)" in page


def test_family_overview_links_every_op_page_and_keeps_old_anchors() -> None:
    text, n_ops, _ = family.render_family_page("activation", "Activations", None, None)
    assert n_ops == len(family_ops("activation"))
    for op in family_ops("activation"):
        assert f'<span id="{markup.anchor(op.name)}"></span>' in text  # activations.md#gelu-tanh
        if markup.anchor(op.name) != op.name:
            assert f'<span id="{op.name}"></span>' in text  # activations.md#leaky_relu
    for op in public_ops():
        if op.family == "activation":
            assert f"[`{op.public}`](ops/{op.public}.md)" in text and f"`F.{op.public}`" in text
    assert "## Derivation" not in text  # the ops' material is on their pages


def test_nav_lists_every_op_page_under_its_family() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = {fam.page: [markup.op_page_path(op) for op in family_ops(fam.name)
                        if markup.has_op_page(op) and op.public == op.name] for fam in FAMILIES}
    assert build.with_op_nav(config, pages) == config, "mkdocs.yml's nav is stale: run python -m pages"
    assert "      - gelu: ops/gelu.md" in config and "      - max_pool2d: ops/max_pool2d.md" in config


@pytest.mark.parametrize("name", ["gelu", "cross_entropy", "max_pool2d", "conv1d", "max_unpool1d"])
def test_op_example_runs_as_printed(name: str) -> None:
    block = examples.example_block(name)
    assert block is not None and block.startswith("```python\n")
    code = block.removeprefix("```python\n").removesuffix("\n```")
    exec(compile(code, f"<{name} example>", "exec"), {})  # noqa: S102 - the page's own example


def test_check_prose_rejects_tex_outside_math() -> None:
    markup.check_prose("fine $\\frac{1}{2}$ and\n\n$$\n\\begin{cases} 1 \\end{cases}\n$$\n", "ok")
    with pytest.raises(ValueError, match="outside math"):
        markup.check_prose("a \\frac{1}{2} in prose", "bad")


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    return {c.key: c for c in worked.worked_example_claims()}


def test_e1_one_neuron(claims: dict[str, Claim]) -> None:
    z = 2 * 0.5 + 3 * -0.2 + 0.1
    assert claims["E1.z"].value == pytest.approx(z, abs=1e-15) and claims["E1.z"].ok
    assert round(_sigmoid(z), 3) == 0.622
    assert claims["E1.a"].value == pytest.approx(_sigmoid(z), rel=1e-15) and claims["E1.a"].ok


def test_e2_xavier(claims: dict[str, Claim]) -> None:
    std = math.sqrt(2 / (3 + 2))
    assert claims["E2.var"].value == pytest.approx(0.4) and claims["E2.var"].ok
    assert claims["E2.std"].value == pytest.approx(std) and round(std, 3) == 0.632 and claims["E2.std"].ok
    for key, bound, claimed, digits in (("E2.p68", 0.632, 68, 0), ("E2.p95", 1.26, 95, 0), ("E2.p997", 1.90, 99.7, 1)):
        # P(|W| < k) for W ~ N(0, std²), from the normal CDF Φ(k/std) - Φ(-k/std)
        phi = lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2)))  # noqa: E731
        percent = 100 * (phi(bound / std) - phi(-bound / std))
        assert claims[key].value == pytest.approx(percent, rel=1e-12)
        assert round(percent, digits) == claimed and claims[key].ok
    assert claims["E2.he"].value == pytest.approx(2 / 3) and claims["E2.he"].ok is None


def _e3_by_hand(loss: str, eta: float) -> dict[str, object]:
    """The 2-2-1 network's forward pass, backward pass and one step, in plain math."""
    x, y = [1.0, 1.0], 1.0
    W1, b1, W2, b2 = [[0.5, 0.2], [0.3, 0.8]], [0.1, 0.1], [0.4, 0.7], 0.2

    def forward(W1, b1, W2, b2):  # noqa: ANN001, ANN202
        z1 = [sum(W1[i][k] * x[k] for k in range(2)) + b1[i] for i in range(2)]
        h1 = [max(v, 0.0) for v in z1]
        z2 = sum(W2[i] * h1[i] for i in range(2)) + b2
        return z1, h1, z2, _sigmoid(z2)

    z1, h1, z2, yhat = forward(W1, b1, W2, b2)
    if loss == "mse":
        d_yhat = 2 * (yhat - y)
    else:
        d_yhat = -(y / yhat) + (1 - y) / (1 - yhat)
    d_z2 = d_yhat * yhat * (1 - yhat)
    gW2 = [d_z2 * h for h in h1]
    d_h1 = [d_z2 * w for w in W2]
    d_z1 = [d_h1[i] if z1[i] > 0 else 0.0 for i in range(2)]
    gW1 = [[d_z1[i] * x[k] for k in range(2)] for i in range(2)]
    nW1 = [[W1[i][k] - eta * gW1[i][k] for k in range(2)] for i in range(2)]
    nb1 = [b1[i] - eta * d_z1[i] for i in range(2)]
    nW2 = [W2[i] - eta * gW2[i] for i in range(2)]
    nb2 = b2 - eta * d_z2
    return {"z1": z1, "z2": z2, "yhat": yhat, "d_z2": d_z2, "gW2": gW2, "gW1": gW1, "d_z1": d_z1,
            "W1": nW1, "b1": nb1, "W2": nW2, "b2": nb2, "yhat_new": forward(nW1, nb1, nW2, nb2)[3]}


def test_e3_forward_pass(claims: dict[str, Claim]) -> None:
    hand = _e3_by_hand("mse", 0.5)
    assert claims["E3.z1"].value == pytest.approx(hand["z1"]) and claims["E3.z1"].ok
    assert claims["E3.z2"].value == pytest.approx(hand["z2"]) and claims["E3.z2"].ok
    assert claims["E3.yhat"].value == pytest.approx(hand["yhat"], rel=1e-14) and claims["E3.yhat"].ok
    assert round(hand["yhat"], 3) == 0.796
    # The source's e^(-1.36) ≈ 0.256 is truncated: 0.25666 rounds to 0.257.
    assert round(math.exp(-1.36), 3) == 0.257
    assert claims["E3.exp"].ok is False


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_e3_backward_pass_and_step(loss: str) -> None:
    hand = _e3_by_hand(loss, worked.E3_ETA)
    res = worked.compute_e3(loss)
    g, new = res["grads"], res["new"]
    assert g["d_z2"][0] == pytest.approx(hand["d_z2"], rel=1e-12)
    assert list(g["W2"][0]) == pytest.approx(hand["gW2"], rel=1e-12)
    assert list(g["d_z1"]) == pytest.approx(hand["d_z1"], rel=1e-12)
    assert [list(r) for r in g["W1"]] == [pytest.approx(r, rel=1e-12) for r in hand["gW1"]]
    assert [list(r) for r in new["W1"]] == [pytest.approx(r, rel=1e-12) for r in hand["W1"]]
    assert list(new["b1"]) == pytest.approx(hand["b1"], rel=1e-12)
    assert list(new["W2"][0]) == pytest.approx(hand["W2"], rel=1e-12)
    assert new["b2"][0] == pytest.approx(hand["b2"], rel=1e-12)
    assert res["yhat_new"] == pytest.approx(hand["yhat_new"], rel=1e-12)
    # the source's claim: the step moves the prediction towards the label 1
    assert hand["yhat"] < hand["yhat_new"] < 1


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_e3_training_curve_starts_with_the_step_and_descends(loss: str) -> None:
    # the curve's first two losses are the loss before and after the hand-checked step above
    losses = worked.train_e3(loss)
    res = worked.compute_e3(loss)
    assert len(losses) == worked.E3_TRAIN_STEPS
    assert losses[0] == pytest.approx(res["loss"], rel=1e-14) and losses[1] == pytest.approx(res["loss_new"], rel=1e-14)
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_e2_drawn_weights(claims: dict[str, Claim]) -> None:
    # 120,000 draws: the fraction within ±k has standard error < 0.0014, the variance ~0.0016
    for key, normal_fraction in (("E2.draw0.632", math.erf(0.632 / (math.sqrt(0.4) * math.sqrt(2)))),
                                 ("E2.draw1.26", math.erf(1.26 / (math.sqrt(0.4) * math.sqrt(2)))),
                                 ("E2.draw1.9", math.erf(1.90 / (math.sqrt(0.4) * math.sqrt(2))))):
        assert abs(claims[key].value - normal_fraction) < 5 * 0.0014 and claims[key].ok
    assert abs(claims["E2.drawvar"].value - 0.4) < 5 * 0.0016 and claims["E2.drawvar"].ok


def test_e6_activation_shapes(claims: dict[str, Claim]) -> None:
    for key in ("E6.hinges", "E6.sigmoid", "E6.tanh", "E6.relu"):
        assert claims[key].ok, key
    lo, hi = claims["E6.sigmoid"].value
    assert lo == pytest.approx(_sigmoid(-10.0)) and hi == pytest.approx(_sigmoid(10.0))
    e6 = worked.compute_e6()
    peak = e6["shapes"]["peak: relu(z+1) − 2·relu(z) + relu(z−1)"]
    expected = [max(z + 1, 0) - 2 * max(z, 0) + max(z - 1, 0) for z in worked.E6_GRID]
    assert list(peak["grid"]) == pytest.approx(expected)
    assert peak["slopes"] == pytest.approx([0.0, 1.0, -1.0, 0.0], abs=1e-9)


def test_pages_say_checked_for_numeric_identities_and_show_required_args_bare() -> None:
    sigmoid = sections.render_op_page(_op(activations.OPS, "sigmoid"))
    assert "- ✔ **checked numerically**" in sigmoid and "**numeric**" not in sigmoid
    softmax = sections.render_op_page(_op(structured.OPS, "softmax"))
    assert "`nnref.softmax(input, dim)`" in softmax, "dim is required: no default may be shown"


def test_tolerance_shown_is_the_one_the_suite_applies() -> None:
    from nnref._generated.catalog import CATALOG

    applied = next(m for m in CATALOG if m["name"] == "gelu")["tolerances"]["float32"]
    gelu = sections.render_op_page(_op(activations.OPS, "gelu"))
    row = next(line for line in gelu.splitlines() if line.startswith("| float32 |"))
    assert row.split(" | ")[1:3] == [markup.fmt(applied["rtol"], 3), markup.fmt(applied["atol"], 3)]


# Zensical (the successor of mkdocs-material, which is in maintenance mode) reads mkdocs.yml,
# runs its own implementations of the plugins it supports and silently skips any other.  These
# are the plugins and Markdown extensions its compatibility pages list that this site uses;
# the site was built with zensical 0.0.73 on 2026-12-06 (no issues, no remote assets, search
# index written).  Adding a plugin or extension outside these sets needs that check redone.
ZENSICAL_PLUGINS = {"search"}
ZENSICAL_EXTENSIONS = {"admonition", "attr_list", "md_in_html", "tables", "toc", "pymdownx.arithmatex",
                       "pymdownx.details", "pymdownx.highlight", "pymdownx.superfences"}


def test_site_config_stays_zensical_compatible() -> None:
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parent.parent / "mkdocs.yml").read_text())
    names = [next(iter(p)) if isinstance(p, dict) else p for p in config.get("plugins", [])]
    assert set(names) <= ZENSICAL_PLUGINS, names
    extensions = [next(iter(e)) if isinstance(e, dict) else e for e in config.get("markdown_extensions", [])]
    assert set(extensions) <= ZENSICAL_EXTENSIONS, extensions
    assert config["theme"]["name"] == "material"


def test_an_op_name_that_begins_another_gets_a_search_boost() -> None:
    pages = op_page.with_search_boost({"ops/relu.md": "# relu", "ops/relu6.md": "# relu6", "ops/tanh.md": "# tanh",
                               "ops/elu.md": "# elu", "ops/celu.md": "# celu"})
    assert pages["ops/relu.md"] == f"---\nsearch:\n  boost: {op_page.SEARCH_BOOST}\n---\n# relu"
    assert pages["ops/relu6.md"] == "# relu6" and pages["ops/tanh.md"] == "# tanh"
    assert pages["ops/elu.md"] == "# elu"  # celu contains elu but does not begin with it


def test_the_golden_vectors_archive_is_whole_and_reproducible(tmp_path: Path) -> None:
    import json
    import zipfile

    from pages import conformance

    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    # Two ops keep it quick; the site build writes every op through the same code.
    conformance.write_vectors_archive(first, "relu,conv2d")
    conformance.write_vectors_archive(second, "relu,conv2d")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as z:
        assert z.testzip() is None
        manifest = json.loads(z.read("nnref-golden-vectors/manifest.json"))
        files = {c["file"] for o in manifest["ops"].values() for c in o["cases"]}
        assert {f"nnref-golden-vectors/{f}" for f in files} == {n for n in z.namelist() if n.endswith(".npz")}
    line = conformance.vectors_download(first)
    assert f"{len(files):,} cases" in line and "2 ops" in line and len(manifest["ops"]) == 2
    assert "(assets/results/a.zip)" in line


def test_figures_are_reproducible_transparent_svg_with_no_address(tmp_path: Path) -> None:
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pages import figure

    def draw(path: Path) -> str:
        fig, ax = plt.subplots()
        ax.plot([0.0, 1.0], [0.0, 1.0])
        figure.save(fig, path)
        return path.read_text()

    first, second = draw(tmp_path / "a.svg"), draw(tmp_path / "b.svg")
    assert first == second and "<svg" in first and "<!DOCTYPE" not in first
    patch = re.search(r'<g id="patch_1">\s*<path [^>]*style="([^"]*)"', first)
    assert patch and patch.group(1) == "fill: none"  # the page shows through, in either palette
    assert set(re.findall(r'"(https?://[^"]*)"', first)) <= {"http://www.w3.org/2000/svg",
                                                           "http://www.w3.org/1999/xlink"}
    with pytest.raises(ValueError, match="figure path: expected a .svg file"):
        figure.save(plt.figure(), tmp_path / "c.png")



def test_short_fractions_print_as_their_exact_decimal() -> None:
    import sympy as sp

    from pages.latex import _short_decimal, tex

    x, y = sp.symbols("x y")
    q = sp.Rational
    # every decimal printed is the fraction exactly
    for den in (1000, 1024, 1250, 2000, 3125, 5000, 8000, 10**5, 200000, 10**6):
        for num in (1, -1, 3, 7, 8943, -26829, 999999):
            d = _short_decimal(q(num, den))
            if d is not None:
                assert sp.Rational(d) == q(num, den) and not d.endswith("0"), (num, den, d)
    assert _short_decimal(q(8943, 200000)) == "0.044715"
    assert _short_decimal(q(7, 1024)) is None  # 0.0068359375: longer than the fraction
    assert _short_decimal(q(1, 2)) is None and _short_decimal(q(1, 10**9)) is None
    assert tex(q(8943, 200000) * x**3 + x) == r"0.044715\,x^{3} + x"
    assert tex(-q(8943, 200000) * x**3 * sp.tanh(x)) == r"- 0.044715\,x^{3}\,\tanh{\left(x \right)}"
    assert tex(sp.Mul(q(-1, 1000), x + 1, evaluate=False)) == r"- 0.001\,\left(x + 1\right)"
    # a factor that needs brackets keeps them: (0.001 x) mod 3 is not 0.001 (x mod 3)
    assert tex(q(1, 1000) * sp.Mod(x, 3)) == r"0.001\,\left(x \bmod 3\right)"
    assert tex(q(1, 1000) * sp.Piecewise((x, x > 0), (0, True))).startswith(r"0.001\,\left(\begin{cases}")
    assert tex(x / 10**9) == r"\frac{x}{1000000000}" and tex(q(3, 1000) / x) == r"\frac{3}{1000\,x}"
    assert tex(y - x / 1000) == r"- 0.001\,x + y"


def test_the_engine_derivative_is_not_printed_twice() -> None:
    from derivations.registry import op_named

    gelu = sections.pointwise_derivation(op_named("gelu"), "##")
    assert gelu.count(r"\frac{\partial}{\partial x} \operatorname{gelu}(x) = x\,\varphi") == 1
    assert 'the closed form marked "used by the engine" above' in gelu
    relu = sections.pointwise_derivation(op_named("relu"), "##")  # conventions laid over it: shown
    assert "with the conventions below laid over it" in relu
    mse = sections.pointwise_derivation(op_named("mse_loss"), "##")  # no closed form: SymPy's own
    assert "SymPy's derivative above, exactly as displayed" in mse
