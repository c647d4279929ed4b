"""Write the documentation pages (``docs/*.md``) and their plots from the op descriptions.

``python -m derivations.docs_build`` renders, for every op declared in this package:

* its definition (arguments table and SymPy's LaTeX of the formula),
* the derivation: SymPy's raw derivative, the stable rewrite, the quoted closed forms,
  the derivative the engine uses, and how each identity was proved,
* its conventions at kinks and NaN, its per-dtype tolerances with their reasons,
* the exact generated NumPy kernels (read from ``nnref/_generated/*.py``),
* a plot drawn with nnref's own values, and
* the latest cross-check against torch (``build/verification/torch.json``).

Nothing about an op is typed here: everything comes from its record in
``activations.py``, ``losses.py`` or ``structured.py``, so a new op gets its section by
being declared.  The other pages (home, conventions, verification, conformance, worked
examples) are assembled from the same records and from nnref's results.

Site rule (``tests/test_site.py`` enforces it in a browser): TeX only ever appears inside
``$...$`` / ``$$...$$`` or code; ``check_prose`` refuses a page that breaks it.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter, greek_letters_set

from derivations.derive import Proof, engine_derivative, prove_op, raw_derivative
from derivations.ops import activations, structured
from derivations.spec import Arg, Convention, Param, PointwiseOp, Step, StructuredOp
from derivations.steps import prove_structured

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLOTS = DOCS / "assets" / "plots"
GENERATED = ROOT / "nnref" / "_generated"
VERIFICATION = ROOT / "build" / "verification" / "torch.json"

# SymPy LaTeX longer than this goes into a collapsed block.
RAW_LIMIT = 600

# (family, page, title) in navigation order.
FAMILIES = (
    ("linear", "linear.md", "Neuron / dense layer"),
    ("activation", "activations.md", "Activations"),
    ("loss", "losses.md", "Losses"),
    ("convolution", "convolution.md", "Convolution"),
    ("pooling", "pooling.md", "Pooling"),
)

Op = PointwiseOp | StructuredOp

STRAY_TEX = ("\\frac", "\\(", "\\[", "$$", "\\begin{")


# ----------------------------------------------------------------------------- the ops

def pointwise_ops() -> list[PointwiseOp]:
    from derivations.ops import losses

    return list(activations.OPS) + list(losses.OPS)


def structured_ops() -> list[StructuredOp]:
    return list(structured.OPS)


def all_ops() -> list[Op]:
    return [*pointwise_ops(), *structured_ops()]


def public_name(op: Op) -> str:
    return op.public if isinstance(op, PointwiseOp) else op.name


def variants_of(op: Op) -> list[PointwiseOp]:
    if not isinstance(op, PointwiseOp) or op.variant_of is not None:
        return []
    return [v for v in pointwise_ops() if v.variant_of and v.variant_of[0] == op.name]


def family_ops(family: str) -> list[Op]:
    """Every op record of a family: pointwise first (declaration order), then structured."""
    if family == "convolution":  # their own page: derivations/conv_docs.py
        from derivations.ops import conv

        return list(conv.OPS)  # type: ignore[arg-type]
    if family == "pooling":  # their own page: derivations/pool_docs.py
        from derivations.ops import pool

        return list(pool.OPS)  # type: ignore[arg-type]
    return [op for op in all_ops() if op.family == family]


def family_page(family: str) -> str:
    for fam, page, _ in FAMILIES:
        if fam == family:
            return page
    return "index.md"


def op_link(op: Op) -> str:
    return f"[{op.name}]({family_page(op.family)}#{anchor(op.name)})"


def anchor(name: str) -> str:
    return name.replace("_", "-")


# ----------------------------------------------------------------------------- LaTeX

# Parameter and step names that read better as words or as a Greek letter.
SYMBOL_TEX = {"lambd": r"\lambda"}


class DocLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with names a reader recognises.

    * Heaviside prints as H(x) (SymPy's default is θ, easily read as an angle);
    * multi-letter names (negative_slope, class_weight, grad_input) print as text;
    * long floats are shown to 15 digits, and huge exact fractions (a float constant
      held exactly) as a decimal.
    """

    def _print_Heaviside(self, expr: sp.Expr, exp: Any = None) -> str:
        tex = r"H\left(%s\right)" % self._print(expr.args[0])
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        name = expr.name
        if name in SYMBOL_TEX:
            return SYMBOL_TEX[name]
        if re.fullmatch(r"[A-Za-z]\d*|[A-Za-z]_[A-Za-z0-9]+", name) or name in greek_letters_set:
            return super()._print_Symbol(expr, style)
        return r"\text{%s}" % name.replace("_", r"\_")

    def _print_Float(self, expr: sp.Float) -> str:
        if expr._prec > 53:
            expr = sp.Float(float(expr), 15)
        return super()._print_Float(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q > 10 ** 6:
            return self._print_Float(sp.Float(expr, 10))
        return super()._print_Rational(expr)


def tex(expr: Any) -> str:
    # A thin space between factors: names printed as words (class_weight, target) would
    # otherwise run together.
    return DocLatexPrinter({"mul_symbol": r"\,"}).doprint(sp.sympify(expr)).strip()


def math_inline(t: str) -> str:
    return f"${t.strip()}$"


def math_block(t: str, indent: str = "") -> str:
    return f"{indent}$$\n{indent}{t.strip()}\n{indent}$$"


def table_math(t: str) -> str:
    """Inline math safe inside a Markdown table cell (a bare | would split the cell)."""
    t = t.replace(r"\left|", r"\left\vert ").replace(r"\right|", r"\right\vert ").replace("|", r"\vert ")
    return math_inline(t)


def md(text: str) -> str:
    """Plain prose (summaries, reasons) made safe for Markdown."""
    return str(text).replace("<", "&lt;").replace("*", r"\*")


def cell(text: str) -> str:
    # A pipe splits a table cell except inside a code span, where a backslash would show.
    parts = md(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code spans to spare
        parts = ["`".join(parts)]
    return "`".join(p if k % 2 else p.replace("|", r"\|") for k, p in enumerate(parts)).replace("\n", " ")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def maybe_collapsed(t: str, title: str = "SymPy's raw expression", intro: str = "") -> str:
    """A display equation, or, when SymPy's LaTeX is huge, a collapsed block holding it."""
    if len(t) <= RAW_LIMIT:
        return (intro + "\n\n" if intro else "") + math_block(t)
    body = f'??? note "{title}"\n'
    if intro:
        body += f"    {intro}\n\n"
    return body + math_block(t, indent="    ")


def fmt(v: float, digits: int = 6) -> str:
    if v is None:
        return "—"
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def fmt_err(v: float | None) -> str:
    if v is None:
        return "—"
    return "0" if v == 0 else f"{v:.2e}"


def fmt_vec(v: Any, digits: int = 6) -> str:
    arr = np.atleast_1d(np.asarray(v, dtype=float))
    if arr.ndim > 1:
        return "[" + ", ".join(fmt_vec(row, digits) for row in arr) + "]"
    return "[" + ", ".join(fmt(a, digits) for a in arr) + "]"


def check_prose(text: str, where: str) -> None:
    """Refuse TeX outside math and code (the browser test's rule, checked at build time)."""
    rest = re.sub(r"^( *)```[^\n]*\n.*?^\1```", "", text, flags=re.M | re.S)
    rest = re.sub(r"\$\$.*?\$\$", "", rest, flags=re.S)
    rest = re.sub(r"\$(?!\s)[^$\n]+?(?<!\s)\$", "", rest)
    rest = re.sub(r"`[^`\n]*`", "", rest)
    bad = [t for t in STRAY_TEX if t in rest]
    if bad:
        i = min(rest.index(t) for t in bad)
        raise ValueError(f"{where}: TeX {bad} outside math or code near {rest[max(0, i - 60):i + 60]!r}")


# ----------------------------------------------------------------------------- proofs

_PROOFS: dict[str, list[Proof] | str] = {}


def _prove(op: Op) -> list[Proof] | str:
    try:
        return prove_op(op) if isinstance(op, PointwiseOp) else prove_structured(op)
    except AssertionError as exc:  # a claimed identity is false: show it, do not hide it
        return f"{type(exc).__name__}: {exc}"


def proofs_for(op: Op) -> list[Proof] | str:
    """The op's proofs (cached); a string when a proof failed."""
    if op.name not in _PROOFS:
        _PROOFS[op.name] = _prove(op)
    return _PROOFS[op.name]


def _job(job: tuple[str, str, str]) -> tuple[str, str, Any]:
    kind, name, plots_dir = job
    op = next(o for o in all_ops() if o.name == name)
    if kind == "proof":
        return kind, name, _prove(op)
    return kind, name, make_plot(op, Path(plots_dir))


def bench_cell(text: str) -> str:
    """A benchmark table cell: the script's ✅ / ❌ (emoji, which a browser without an emoji font
    draws as empty boxes) as the text marks the other tables use."""
    return cell(str(text).replace("✅", "✔").replace("❌", "✘"))


def run_misses(rows: list[dict[str, Any]], label: Callable[[dict[str, Any]], str]) -> list[str]:
    """A benchmark note naming the cases some of whose runs missed their target (a table's
    ratio is the median over runs, so a slow run is otherwise hidden)."""
    late = []
    for r in rows:
        over = [x for x in r.get("run_ratios", []) if x > r["target"]]
        if over:
            late.append(f"{label(r)}: {len(over)} of {len(r['run_ratios'])} ({', '.join(f'{x:.2f}×' for x in over)})")
    return ["", "Runs above the target: " + "; ".join(late) + "."] if late else []


def fork_map(fn: Any, items: list[Any]) -> list[Any]:
    """[fn(item) for item in items], in parallel processes where the platform forks (each
    proof or check is independent and some take seconds)."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers > 1 and sys.platform.startswith("linux"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(fn, items))
    return [fn(item) for item in items]


def profile() -> str:
    """The exact-check grid the docs run: 'thorough' with NNREF_PROFILE=thorough, else 'ci'."""
    return "thorough" if os.environ.get("NNREF_PROFILE") == "thorough" else "ci"


def code_block(src: str, indent: str = "") -> str:
    body = "\n".join(indent + line if line else "" for line in src.splitlines())
    return f"{indent}```python\n{body}\n{indent}```"


def generated_kernel(name: str) -> str:
    """The exact source of one generated function."""
    return _generated_functions()[name][1]


def run_jobs(ops: list[Op], plots_dir: Path | None = None) -> None:
    """Every op's proofs and (with plots_dir) every plot, once, in parallel processes
    where the platform forks; the sections then read the results."""
    jobs = [("proof", op.name, "") for op in ops if op.name not in _PROOFS]
    if plots_dir is not None:
        jobs += [("plot", op.name, str(plots_dir)) for op in ops
                 if not (isinstance(op, PointwiseOp) and op.variant_of) and op.name not in _PLOTTED]
    for kind, name, result in fork_map(_job, jobs):
        (_PROOFS if kind == "proof" else _PLOTTED)[name] = result


def proof_lines(proofs: list[Proof] | str, op: Op) -> list[str]:
    if isinstance(proofs, str):
        return [f"- ✘ **proof failed**: {md(proofs)}"]
    if not proofs:
        why = ("the engine uses SymPy's derivative of the definition as it stands"
               if isinstance(op, PointwiseOp) else "nothing is claimed beyond the definition")
        return [f"- No identity to prove: {why}; the conventions are checked against torch at"
                " their exact points by the test suite."]
    return [f"- ✔ **{p.method}**: {claim_md(p, op)}. *{md(p.detail)}.*" for p in proofs]


def claim_md(p: Proof, op: Op) -> str:
    """A proof's claim as Markdown: the closed-form labels it quotes (LaTeX) become math."""
    labels = [cf.label for cf in op.closed_forms] if isinstance(op, PointwiseOp) else []
    for lab in labels:
        if lab in p.claim:
            return md(p.claim.replace(lab, "\x00")).replace("\x00", math_inline(lab))
    return md(p.claim)


# ----------------------------------------------------------------------------- code

_FUNCS: dict[str, tuple[str, str]] = {}


def _generated_functions() -> dict[str, tuple[str, str]]:
    """{function name: (module file, exact source)} for every generated module."""
    if not _FUNCS:
        for path in sorted(GENERATED.glob("*.py")):
            text = path.read_text()
            for node in ast.parse(text).body:
                if isinstance(node, ast.FunctionDef):
                    seg = ast.get_source_segment(text, node)
                    if seg is not None:
                        _FUNCS[node.name] = (path.relative_to(ROOT).as_posix(), seg)
    return _FUNCS


def kernel_sources(op: Op) -> list[tuple[str, str, str]]:
    """[(function name, module path, source)] of the op's forward and VJP kernels."""
    funcs = _generated_functions()
    out = []
    for kind in ("forward", "vjp"):
        name = f"_{op.name}_{kind}"
        if name in funcs:
            out.append((name, *funcs[name]))
    return out


def code_section(op: Op, h: str) -> str:
    found = kernel_sources(op)
    parts = [f"{h} Generated code {{#{anchor(op.name)}-code}}", ""]
    if not found:
        parts.append(f"No kernel named `_{op.name}_forward` in `nnref/_generated/` yet: run"
                     " `python -m derivations generate`.")
        return "\n".join(parts)
    module = found[0][1]
    parts.append(f"The kernels as printed into `{module}` (not edited by hand; a test fails when"
                 " the file differs from what the derivation produces). `_rt` is `nnref/_runtime.py`.")
    for _, _, src in found:
        parts += ["", "```python", src, "```"]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- tables

TEST_DOMAIN_TEX = {"real": r"\mathbb{R}", "unit": r"[0, 1]", "positive": r"(0, \infty)",
                   "nonneg": r"[0, \infty)"}


def _arg_domain(a: Arg) -> str:
    if a.domain is not None:
        return table_math(tex(a.domain))
    if a.kind == "label" or a.test_domain in ("sign", "pm1"):
        return "labels ±1" if a.test_domain in ("sign", "pm1") else "labels"
    return table_math(TEST_DOMAIN_TEX.get(a.test_domain, r"\mathbb{R}"))


def _param_domain(p: Param) -> str:
    if p.kind == "choice":
        return ", ".join(f"`{c!r}`" for c in p.choices)
    if p.kind == "bool":
        return "`True`, `False`"
    if p.kind == "int":
        return "integer"
    if p.kind == "optional_array":
        return "array or `None`"
    if p.kind == "optional_int":
        return "int or `None`"
    if p.kind == "int_tuple":
        return "int or tuple of ints"
    if p.kind == "padding":
        return "int, tuple of ints, `'valid'`, `'same'`"
    if p.domain is not None:
        return table_math(tex(p.domain))
    return table_math(r"\mathbb{R}")


def _signature_defaults(name: str) -> dict[str, Any]:
    import nnref

    fn = getattr(nnref, name, None)
    if fn is None:
        return {}
    return {p.name: p.default for p in inspect.signature(fn).parameters.values()
            if p.default is not inspect.Parameter.empty}


def arguments_table(op: Op) -> str:
    rows = []
    args = op.args if isinstance(op, PointwiseOp) else op.inputs
    optional = _signature_defaults(public_name(op))
    for a in args:
        default = "required"
        if a.optional is not None:
            default = f"`None` (means {fmt(a.optional)})"
        elif a.name in optional:
            default = f"`{optional[a.name]!r}`"
        grad = "" if a.grad else " (not differentiated)"
        rows.append([f"`{a.name}`", table_math(tex(a.symbol)), default, _arg_domain(a), cell(a.doc) + grad])
    for p in op.params:
        sym = table_math(tex(p.symbol)) if p.symbol is not None else "—"
        if p.default is not None:
            default = f"`{p.default!r}`"
        elif p.kind == "optional_array" or (p.kind in ("int_tuple", "optional_int") and p.name in optional):
            default = "`None`"  # pooling's stride, output_size, divisor_override: None in the signature
        else:
            default = "required"
        rows.append([f"`{p.name}`", sym, default, _param_domain(p), cell(p.doc)])
    if getattr(op, "weight", False):
        spread = getattr(op, "weight_layout", "elementwise") == "broadcast"
        grad = "; differentiated" if getattr(op, "weight_grad", False) else ""
        rows.append(["`weight`", "—", "`None`", "array",
                     f"elementwise weight, {'broadcast to' if spread else 'the shape of'} input{grad}"])
    if op.reduction:
        reds = getattr(op, "reductions", ("none", "mean", "sum"))
        rows.append(["`reduction`", "—", f"`{optional.get('reduction', 'mean')!r}`",
                     ", ".join(f"`{r!r}`" for r in reds),
                     "how the elementwise losses combine"])
    return table(["argument", "symbol", "default", "domain", "meaning"], rows)


def tolerance_table(ops: list[Op]) -> str:
    rows = []
    for o in ops:
        for dt in ("float64", "float32"):
            t = o.tol(dt)
            name = f"`{o.name}` " if len(ops) > 1 else ""
            rows.append([f"{name}{dt}", fmt(t.rtol, 3), fmt(t.atol, 3), cell(t.why)])
    return table(["dtype", "rtol", "atol", "why"], rows)


def _point_subs(op: PointwiseOp, c: Convention) -> dict[sp.Symbol, Any] | None:
    subs: dict[sp.Symbol, Any] = {}
    for a in op.args:
        if a.name in c.point:
            v = c.point[a.name]
            if isinstance(v, float) and math.isnan(v):
                return None
            subs[a.symbol] = sp.nsimplify(v)
    for p in op.params:
        if p.symbol is None:
            continue
        v = c.params.get(p.name, p.default)
        if v is None:
            return None
        subs[p.symbol] = sp.nsimplify(v)
    return subs


def _value_tex(v: sp.Expr) -> str | None:
    v = sp.simplify(v)
    if v.free_symbols:
        return None
    if v.is_Rational or v is sp.nan or v.is_infinite:
        return tex(v)
    try:
        return tex(sp.Float(float(v), 6))
    except TypeError:
        return None


def sympy_at_point(op: PointwiseOp, c: Convention) -> str:
    """What SymPy's raw derivative gives at the convention's point, and whether it differs."""
    subs = _point_subs(op, c)
    if subs is None or not c.point:
        if any(isinstance(v, float) and math.isnan(v) for v in c.point.values()):
            return "undefined: SymPy has no NaN"
        return "—"
    out = []
    for wrt, declared in c.grads.items():
        try:
            raw = _value_tex(raw_derivative(op, wrt).subs(subs))
            ours = _value_tex(sp.sympify(declared).subs(subs))
        except Exception:  # noqa: BLE001 - SymPy may fail to evaluate at a kink
            raw, ours = None, None
        label = f"`{wrt}`: " if len(c.grads) > 1 else ""
        if raw is None:
            out.append(f"{label}undefined")
            continue
        same = "same" if ours is not None and raw == ours else "**differs**"
        out.append(f"{label}{table_math(raw)} ({same})")
    return "<br>".join(out)


def conventions_table(op: Op) -> str:
    if not op.conventions:
        return ("None needed: the derivative SymPy gives is what torch returns everywhere,"
                " including at the edges the tests draw.")
    rows = []
    for c in op.conventions:
        point = ", ".join(f"`{k}` = {fmt(v)}" for k, v in {**c.point, **c.params}.items())
        where = table_math(tex(c.condition)) + (f"<br>tested at {point}" if point else "")
        returns = "<br>".join(f"`{k}`: {table_math(tex(v))}" for k, v in c.grads.items())
        if isinstance(op, PointwiseOp):
            returns += "<br>SymPy's raw derivative there: " + sympy_at_point(op, c)
        rows.append([cell(c.label), where, returns, cell(c.why)])
    return table(["convention", "where", "gradient returned", "why"], rows)


# ----------------------------------------------------------------------------- verification

def load_verification(path: Path = VERIFICATION) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


def provenance_line(data: dict[str, Any]) -> str:
    p = data.get("provenance", {})
    parts = [f"{p.get('date', '?')}", f"against {p.get('impl', 'torch')} {p.get('torch', '')}".rstrip(),
             f"NumPy {p.get('numpy', '?')}", f"Python {p.get('python', '?')}", f"machine: {p.get('machine', '?')}"]
    if p.get("cuda_device"):
        parts.append(f"GPU: {p['cuda_device']} (CUDA {p.get('cuda', '?')})")
    profile = p.get("profile")
    if profile is not None:
        name = "ci" if profile == 30 else "thorough" if profile == 600 else "custom"
        parts.append(f"profile: {name} ({profile} examples per test)")
    return "; ".join(parts) + "."


def _rows_for(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in data.get("rows", []) if r["op"] == name]


def _cuda_note(data: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    if any(r["device"] == "cuda" for r in rows):
        return None
    if data.get("provenance", {}).get("cuda_device"):
        return "CUDA: not run in this verification run (a GPU was present; the run was limited to the CPU)."
    return "CUDA: not run — no GPU was available where this page was built."


USED_NOTE = ("*Tolerance used* is the largest |a − b| / (atol + rtol·|b|) over every entry of every"
             " example: an entry passes when it is at most 1. The relative error is taken over entries"
             " with |b| ≥ 1e-3, where it means something; below that atol decides.")


def _status(r: dict[str, Any]) -> str:
    return "**FAILED**" if r.get("failed") else "passed"


def verification_subsections(ops: list[Any], data: dict[str, Any] | None) -> list[str]:
    """One "### op" subsection per op with its verification table (a family page's last section)."""
    parts = []
    for op in ops:
        section = verification_section(op, data, "###").split("\n", 1)
        parts += [f"### {op.name} {{#{anchor(op.name)}}}\n" + (section[1] if len(section) > 1 else ""), ""]
    return parts


def verification_section(op: Op, data: dict[str, Any] | None, h: str) -> str:
    name = public_name(op)
    parts = [f"{h} Verification against torch {{#{anchor(op.name)}-verification}}", ""]
    if data is None:
        parts.append("Not yet run: `make site` runs the verification.")
        return "\n".join(parts)
    rows = sorted(_rows_for(data, name), key=lambda r: (r["device"], r["dtype"] != "float64", r["dtype"]))
    if not rows:
        parts.append(f"No results for `{name}` in `build/verification/torch.json`: the last run did"
                     " not include this op. `make site` runs the verification.")
        return "\n".join(parts)
    keys = ["forward"] + sorted({k for r in rows for k in r["max_abs"] if k != "forward"})
    header = ["dtype", "device", "examples", "result", "quantity", "max abs error", "max rel error",
              "tolerance used"]
    body = []
    for r in rows:
        for i, k in enumerate(keys):
            first = [r["dtype"], r["device"], str(r["examples"]), _status(r)] if i == 0 else ["", "", "", ""]
            body.append(first + [k, fmt_err(r["max_abs"].get(k)), fmt_err(r["max_rel"].get(k)),
                                 fmt_err(r.get("tol_used", {}).get(k))])
    parts += ["Largest differences between torch and nnref over the examples drawn. Run: "
              + provenance_line(data), "", table(header, body), "", USED_NOTE]
    note = _cuda_note(data, rows)
    if note:
        parts += ["", note]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- plots

PLOT_PARAMS: dict[str, dict[str, Any]] = {"threshold": {"threshold": 0.5, "value": -0.5}}
# Fixed values of the other arguments where the generic choice (by test domain) shows less:
# a Poisson count of 2 makes the Stirling term (full=True) visible, which is 0 at counts <= 1.
PLOT_FIXED: dict[str, dict[str, Any]] = {"prelu": {"weight": np.array([0.25])},
                                         "poisson_nll_loss": {"target": 2.0}}
INPUT_RANGE = {"real": (-3.0, 3.0), "unit": (1e-3, 1 - 1e-3), "positive": (1e-2, 4.0),
               "nonneg": (0.0, 4.0), "sign": (-1.0, 1.0)}
FIXED_VALUE = {"real": 0.0, "unit": 1.0, "positive": 1.0, "nonneg": 1.0, "sign": 1.0, "pm1": 1.0}


@dataclass
class Curve:
    label: str
    x: np.ndarray
    y: np.ndarray | None  # None: drawn in the derivative panel only
    dy: np.ndarray | None  # None: drawn in the function panel only
    style: str = "-"


@dataclass
class PlotSpec:
    xlabel: str
    ylabel: str
    dylabel: str
    curves: list[Curve] = field(default_factory=list)
    title: str = ""
    plain: str = ""  # a curve label that needs no legend


def _required_params(op: PointwiseOp) -> dict[str, Any]:
    out = dict(PLOT_PARAMS.get(op.public, {}))
    for p in op.params:
        if p.name not in out and p.default is None and p.kind == "float":
            lo, hi = p.test_range or (0.0, 1.0)
            out[p.name] = (lo + hi) / 2
    return out


def _pointwise_plot(op: PointwiseOp) -> PlotSpec:
    import nnref

    fn, bwd = getattr(nnref, op.public), getattr(nnref, f"{op.public}_backward")
    first = op.args[0]

    def grid(o: PointwiseOp) -> np.ndarray:
        if o.family == "activation":
            return np.linspace(-5.0, 5.0, 801)
        lo, hi = INPUT_RANGE.get(o.args[0].test_domain, (-3.0, 3.0))
        return np.linspace(lo, hi, 601)

    spec = PlotSpec(xlabel=first.name, ylabel=f"{op.public}", dylabel=f"d {op.public} / d {first.name}",
                    plain=op.public)
    if op.reduction:
        spec.ylabel += " (reduction='none')"
    for i, o in enumerate([op, *variants_of(op)]):
        xs = grid(o)
        params = {**_required_params(op), **(o.variant_of[1] if o.variant_of else {})}
        fixed_sets: list[dict[str, Any]] = [{}]
        for a in o.args[1:]:
            if a.optional is not None:
                continue
            if a.name in PLOT_FIXED.get(op.public, {}):
                val = PLOT_FIXED[op.public][a.name]
                fixed_sets = [{**f, a.name: val} for f in fixed_sets]
            elif a.test_domain in ("sign", "pm1"):
                fixed_sets = [{**f, a.name: v} for f in fixed_sets for v in (1.0, -1.0)]
            else:
                fixed_sets = [{**f, a.name: FIXED_VALUE.get(a.test_domain, 0.0)} for f in fixed_sets]
        for fixed in fixed_sets:
            arrays = {k: (v if isinstance(v, np.ndarray) else np.full_like(xs, v)) for k, v in fixed.items()}
            kw = {first.name: xs, **arrays, **params}
            if op.reduction:
                kw["reduction"] = "none"
            y = fn(**kw)
            dy = bwd(np.ones_like(y), **kw)[first.name]
            bits = [f"{k}={v!r}" for k, v in (o.variant_of[1].items() if o.variant_of else [])]
            bits += [f"{k}={fmt_vec(v) if isinstance(v, np.ndarray) else fmt(v)}" for k, v in fixed.items()]
            if i == 0 and not o.variant_of:
                bits += [f"{k}={v}" for k, v in _required_params(op).items()]
            spec.curves.append(Curve(", ".join(bits) or op.public, xs, y, dy, "-" if i == 0 else "--"))
    return spec


def _structured_plot(op: StructuredOp) -> PlotSpec | None:
    import nnref

    name = op.name
    if name in ("softmax", "log_softmax"):
        xs = np.linspace(-5.0, 5.0, 801)
        inp = np.stack([xs, np.zeros_like(xs)], axis=1)
        f, b = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        y = f(inp, dim=1)[:, 0]
        g = np.zeros_like(inp)
        g[:, 0] = 1.0
        dy = b(g, inp, dim=1)["input"][:, 0]
        return PlotSpec("x", f"{name}([x, 0])[0]", f"d {name}([x, 0])[0] / dx",
                        [Curve(f"first component of {name}([x, 0])", xs, y, dy)])
    if name == "linear":
        xs = np.linspace(-5.0, 5.0, 201)
        w, bias = np.array([[0.5]]), np.array([0.1])
        y = nnref.linear(xs[:, None], w, bias)[:, 0]
        gi = np.array([nnref.linear_backward(np.ones((1, 1)), np.array([[v]]), w, bias)["input"][0, 0] for v in xs])
        gw = np.array([nnref.linear_backward(np.ones((1, 1)), np.array([[v]]), w, bias)["weight"][0, 0] for v in xs])
        spec = PlotSpec("x", "y = linear(x, w, b)", "gradients of y", title="one neuron, w = 0.5, b = 0.1")
        spec.curves = [Curve("y = 0.5·x + 0.1", xs, y, None), Curve("dy/dx = w", xs, None, gi),
                       Curve("dy/dw = x", xs, None, gw, "--")]
        return spec
    if name in ("cross_entropy", "nll_loss"):
        xs = np.linspace(-5.0, 5.0, 801)
        inp = np.stack([xs, np.zeros_like(xs)], axis=1)
        target = np.zeros(len(xs), dtype=np.int64)
        f, b = getattr(nnref, name), getattr(nnref, f"{name}_backward")
        y = f(inp, target, reduction="none")
        dy = b(np.ones_like(y), inp, target, reduction="none")["input"][:, 0]
        what = "logits" if name == "cross_entropy" else "log-probabilities"
        return PlotSpec("x", f"{name} (reduction='none')", "d loss / dx",
                        [Curve(f"{what} [x, 0], target class 0", xs, y, dy)])
    if name == "cosine_embedding_loss":
        ts = np.linspace(-math.pi, math.pi, 721)
        x1 = np.stack([np.cos(ts), np.sin(ts)], axis=1)
        x2 = np.tile([1.0, 0.0], (len(ts), 1))
        tangent = np.stack([-np.sin(ts), np.cos(ts)], axis=1)
        spec = PlotSpec("angle t (radians)", "loss (reduction='none')",
                        "d loss / dt  (gradient wrt input1 · dx1/dt)",
                        title="input1 = [cos t, sin t], input2 = [1, 0]")
        for k, label in enumerate((1, -1)):
            target = np.full(len(ts), label)
            y = nnref.cosine_embedding_loss(x1, x2, target, reduction="none")
            g = nnref.cosine_embedding_loss_backward(np.ones_like(y), x1, x2, target, reduction="none")["input1"]
            spec.curves.append(Curve(f"target={label}", ts, y, (g * tangent).sum(axis=1), "-" if k == 0 else "--"))
        return spec
    return None


def plot_spec(op: Op) -> PlotSpec | None:
    if isinstance(op, PointwiseOp):
        return _pointwise_plot(op)
    return _structured_plot(op)


def draw(spec: PlotSpec, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6.4, 3.0), dpi=100)
    for k, c in enumerate(spec.curves):
        color = f"C{k}"
        if c.y is not None:
            ax1.plot(c.x, c.y, c.style, lw=1.6, label=c.label, color=color)
        if c.dy is not None:
            ax2.plot(c.x, c.dy, c.style, lw=1.6, label=c.label, color=color)
    for ax, ylabel, ys in ((ax1, spec.ylabel, [c.y for c in spec.curves if c.y is not None]),
                           (ax2, spec.dylabel, [c.dy for c in spec.curves if c.dy is not None])):
        ax.set_xlabel(spec.xlabel, fontsize=8)
        ax.set_title(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        _robust_ylim(ax, ys)
    # A legend only where it tells something: several curves, or one with settings.
    left = [c for c in spec.curves if c.y is not None]
    if len(left) > 1 or any(c.label != spec.plain for c in left):
        ax1.legend(fontsize=6, loc="best")
    if any(c.y is None for c in spec.curves):
        ax2.legend(fontsize=6, loc="best")
    if spec.title:
        fig.suptitle(spec.title, fontsize=8)
    # Fixed margins: tight_layout would cost a third of the generator's time.
    fig.subplots_adjust(left=0.085, right=0.985, bottom=0.14, top=0.82 if spec.title else 0.9, wspace=0.28)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _robust_ylim(ax: Any, arrays: list[np.ndarray]) -> None:
    """Keep a few huge values (a derivative like 1/p at p -> 0) from flattening the rest."""
    finite = [np.asarray(a, dtype=float)[np.isfinite(a)] for a in arrays]
    v = np.concatenate(finite) if finite else np.array([])
    if v.size == 0:
        return
    qlo, qhi = np.percentile(v, [3, 97])
    span = qhi - qlo
    if span > 0 and v.max() - v.min() > 4 * span:
        ax.set_ylim(qlo - 0.2 * span, qhi + 0.2 * span)


# op name -> None when its plot is drawn, else why there is none (filled by run_jobs)
_PLOTTED: dict[str, str | None] = {}


def make_plot(op: Op, plots_dir: Path) -> str | None:
    """Draw plots_dir/<op>.png; None when drawn, else the reason there is no plot."""
    try:
        spec = plot_spec(op)
    except Exception as exc:  # noqa: BLE001 - a plot must never stop the docs
        return f"nnref could not evaluate a generic example ({exc})"
    if spec is None:
        return "there is no generic one-dimensional picture of this op"
    draw(spec, plots_dir / f"{op.name}.png")
    return None


def plot_section(op: Op, h: str, plots_dir: Path | None) -> tuple[str, bool]:
    """The plot paragraph; draws docs/assets/plots/<op>.png when plots_dir is given (unless
    run_jobs drew it already)."""
    head = f"{h} Plot {{#{anchor(op.name)}-plot}}\n\n"
    if plots_dir is None:
        return "", False
    why = _PLOTTED[op.name] if op.name in _PLOTTED else make_plot(op, plots_dir)
    if why is not None:
        return head + f"No plot: {md(why)}.", False
    caption = ("Left: the function; right: its derivative, both computed with nnref"
               f" (`nnref.{public_name(op)}` and `nnref.{public_name(op)}_backward`).")
    return head + f"![{op.name} and its derivative](assets/plots/{op.name}.png)\n\n{caption}", True


# ----------------------------------------------------------------------------- sections

def call_signature(name: str) -> str | None:
    import nnref

    fn = getattr(nnref, name, None)
    if fn is None:
        return None
    parts = [p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
             for p in inspect.signature(fn).parameters.values()]
    return f"nnref.{name}({', '.join(parts)})"


def _signature_line(op: Op) -> str:
    name = public_name(op)
    fwd, bwd = call_signature(name), call_signature(f"{name}_backward")
    if not fwd:
        return ""
    out = f"`{fwd}`"
    if bwd:
        out += f" · `{bwd}` returns a dict of gradients keyed by argument name."
    return out


def _notes(op: Op) -> str:
    return "\n".join(f"- {md(n)}" for n in op.notes)


def _fn_head(op: PointwiseOp) -> str:
    syms = ", ".join(tex(a.symbol) for a in op.args)
    name = op.latex_name or r"\operatorname{%s}" % op.name.replace("_", r"\_")
    return f"{name}({syms})"


def _heaviside_note(*exprs: sp.Expr) -> str:
    if any(e.has(sp.Heaviside) for e in exprs):
        return (" $H$ is Heaviside's step function; SymPy takes $H(0) = \\tfrac12$, which is"
                " why a convention fixes the value at the kink.")
    return ""


def pointwise_derivation(op: PointwiseOp, h: str) -> str:
    head = _fn_head(op)
    parts = [f"{h} Derivation {{#{anchor(op.name)}-derivation}}", ""]
    if op.rewrite is not None:
        parts += ["**Stable rewrite** used by the engine's forward: " + md(op.rewrite.why), "",
                  maybe_collapsed(f"{head} = {tex(op.rewrite.expr)}")]
    else:
        parts += ["**Forward**: the engine evaluates the definition as it stands (no rewrite needed)."]
    for wrt in op.differentiable:
        sym = tex({a.name: a.symbol for a in op.args}[wrt])
        raw = raw_derivative(op, wrt)
        eng = engine_derivative(op, wrt)
        lhs = rf"\frac{{\partial}}{{\partial {sym}}} {head}"
        parts += ["", f"**SymPy's derivative** with respect to `{wrt}` (symbol {math_inline(sym)}),"
                  " straight from the definition:" + _heaviside_note(raw), "",
                  maybe_collapsed(f"{lhs} = {tex(raw)}")]
        for cf in (c for c in op.closed_forms if c.wrt == wrt):
            used = "used by the engine" if cf.use_in_engine else "quoted only, not used by the engine"
            why = f" {md(cf.why)}" if cf.why else ""
            parts += ["", f"**Closed form** {math_inline(cf.label)} ({used}).{why} As SymPy holds it:", "",
                      maybe_collapsed(f"{lhs} = {tex(cf.expr)}")]
        chosen = any(c.wrt == wrt and c.use_in_engine for c in op.closed_forms)
        source = "the closed form above" if chosen else "SymPy's derivative"
        conv = ", with the conventions below laid over it (first match wins)" if any(
            wrt in c.grads for c in op.conventions) else ""
        parts += ["", f"**Engine derivative** for `{wrt}`: {source}{conv}:", "",
                  maybe_collapsed(f"{lhs} = {tex(eng)}", title="The engine's derivative in full")]
    parts += ["", "**Proofs** that every rewrite and closed form equals what SymPy derives:", ""]
    parts += proof_lines(proofs_for(op), op)
    return "\n".join(parts)


def _subscripts_tex(sub: str, name: str) -> str:
    base = tex(sp.Symbol(name))
    idx = sub.replace("...", r"\ldots ")
    return f"{base}_{{{idx}}}" if idx else base


def step_tex(st: Step) -> str:
    lhs = tex(sp.Symbol(st.name))
    if st.contract is not None:
        subs, operands = st.contract
        ins, out = subs.split("->")
        in_subs = ins.split(",")
        summed = sorted({c for s in in_subs for c in s if c.isalpha()} - set(out))
        if any("..." in s for s in in_subs) and "..." not in out:
            summed.insert(0, r"\ldots")  # summed over the batch dims too
        total = r"\sum_{%s} " % ",".join(summed) if summed else ""
        prod = r"\, ".join(_subscripts_tex(s, o) for s, o in zip(in_subs, operands))
        return rf"{_subscripts_tex(out, st.name)} &= {total}{prod}"
    assert st.expr is not None
    rhs = tex(st.expr)
    if st.reduce == "sum":
        return rf"{lhs} &= \sum_{{\text{{dim}}}} \left({rhs}\right)"
    if st.reduce == "max":
        return rf"{lhs} &= \max_{{\text{{dim}}}} \left({rhs}\right)"
    return f"{lhs} &= {rhs}"


def steps_block(steps: tuple[Step, ...]) -> str:
    body = r" \\ ".join(step_tex(s) for s in steps)
    return maybe_collapsed(r"\begin{aligned} " + body + r" \end{aligned}", title="The steps in full")


def structured_derivation(op: StructuredOp, h: str) -> str:
    parts = [f"{h} Derivation {{#{anchor(op.name)}-derivation}}", "",
             "The engine is a short list of steps; each becomes one line of NumPy. A step is an"
             " elementwise formula, a reduction (sum or max along the op's dimension, keeping it so"
             " the result broadcasts back) or a contraction (an `einsum`). SymPy runs the same steps"
             " on small arrays of symbols and proves them equal to the definition and to its own"
             " derivative of it.", "",
             "**Forward steps** (the result is $\\text{out}$):", "", steps_block(op.forward), "",
             "**Vector-Jacobian steps** ($g$ is the upstream gradient, the shape of the output):", "",
             steps_block(op.vjp)]
    contracts = [s for s in (*op.forward, *op.vjp) if s.contract is not None]
    if contracts:
        parts += ["", "The contractions, as `einsum` subscripts: " + ", ".join(
            f"`{s.name}` = `{s.contract[0]}` over `{', '.join(s.contract[1])}`" for s in contracts
            if s.contract is not None) + "."]
    if op.closed_forms:
        parts += ["", "**Closed forms** as usually quoted:"]
        for latex, what in op.closed_forms:
            parts += ["", math_block(latex), "", md(what[0].upper() + what[1:]) + "."]
    parts += ["", "**Proofs** (on symbol arrays of the shapes named):", ""]
    parts += proof_lines(proofs_for(op), op)
    return "\n".join(parts)


def _definition(op: Op, h: str) -> str:
    parts = [f"{h} Definition {{#{anchor(op.name)}-definition}}", "", arguments_table(op), ""]
    if isinstance(op, PointwiseOp):
        parts.append(maybe_collapsed(f"{_fn_head(op)} = {tex(op.definition)}"))
    else:
        parts.append(math_block(op.definition_latex))
    if op.notes:
        parts += ["", _notes(op)]
    return "\n".join(parts)


def _conventions(op: Op, h: str) -> str:
    return f"{h} Conventions {{#{anchor(op.name)}-conventions}}\n\n" + conventions_table(op)


def _tolerances(op: Op, h: str) -> str:
    return (f"{h} Tolerances {{#{anchor(op.name)}-tolerances}}\n\n"
            "nnref passes when |nnref − torch| ≤ atol + rtol·|torch| for every entry.\n\n"
            + tolerance_table([op]))


def _variant_section(v: PointwiseOp) -> str:
    assert v.variant_of is not None
    how = ", ".join(f"{k}={val!r}" for k, val in v.variant_of[1].items())
    h = "####"
    parts = [f"### Variant `{v.name}`: `{how}` {{#{anchor(v.name)}}}", "", md(v.summary), "",
             _definition(v, h), "", pointwise_derivation(v, h), "", _conventions(v, h), "",
             _tolerances(v, h), "", code_section(v, h)]
    return "\n".join(parts)


def render_op_section(op: Op, verification: dict[str, Any] | None = None,
                      plots_dir: Path | None = None) -> str:
    """The whole section of one op (and its variants): definition, plot, derivation,
    conventions, tolerances, generated code and verification.  Draws the plot into
    ``plots_dir`` when one is given."""
    h = "###"
    parts = [f"## {op.name} {{#{anchor(op.name)}}}", "", md(op.summary)]
    sig = _signature_line(op)
    if sig:
        parts += ["", sig]
    parts += ["", _definition(op, h)]
    plot, _ = plot_section(op, h, plots_dir)
    if plot:
        parts += ["", plot]
    if isinstance(op, PointwiseOp):
        parts += ["", pointwise_derivation(op, h)]
    else:
        parts += ["", structured_derivation(op, h)]
    parts += ["", _conventions(op, h), "", _tolerances(op, h), "", code_section(op, h)]
    for v in variants_of(op):
        parts += ["", _variant_section(v)]
    parts += ["", verification_section(op, verification, h), ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- pages

GENERATED_NOTE = ("<!-- GENERATED by `python -m derivations.docs_build` from derivations/*.py;"
                  " do not edit: change the op's description and rebuild. -->\n\n")

FAMILY_INTRO = {
    "linear": """# The neuron and the dense layer

A single **neuron** takes inputs $x_1, \\dots, x_n$, weighs them, adds a bias and passes the
sum through an activation $\\varphi$:

$$
z = \\sum_i w_i x_i + b, \\qquad a = \\varphi(z).
$$

A **dense layer** is a row of neurons that share their input: neuron $o$ has its own weights
$W_{o,\\cdot}$ and bias $b_o$. Stacked over a batch this is $y = x W^{\\mathsf T} + b$, which is
`nnref.linear` (torch's `linear`, with torch's shapes). The activation is a separate op on the
[activations page](activations.md); [worked example E1](worked-examples.md#e1-one-neuron) puts
the two together for one neuron, and E3 runs a small network forward and backward.
""",
    "activation": """# Activations

Elementwise nonlinearities, in `torch.nn.functional`'s names and defaults, plus softmax and
log-softmax, which normalise along one dimension. Each section shows the formula as
declared, what SymPy derives from it, the convention wherever calculus leaves the value open
(a kink, a jump, NaN), and the kernel the engine runs.
""",
    "loss": """# Losses

Pointwise losses compare each input element with its target, then reduce
(`reduction='none'`, `'mean'` or `'sum'`, with torch's divisors). Cross-entropy, NLL and the
cosine embedding loss mix elements along the class or feature dimension and are derived step
by step. Every derivative is SymPy's; where torch's backward is deliberately not the
derivative of its forward, a convention says what torch returns and why.
""",
}


def render_family_page(family: str, title: str, verification: dict[str, Any] | None,
                       plots_dir: Path | None) -> tuple[str, int, int]:
    """(page text, op records, plots drawn)."""
    if family == "convolution":
        from . import conv as conv_docs

        return conv_docs.render_page(title, verification, plots_dir)
    if family == "pooling":
        from . import pool as pool_docs

        return pool_docs.render_page(title, verification, plots_dir)
    ops = family_ops(family)
    publics = [op for op in ops if not (isinstance(op, PointwiseOp) and op.variant_of)]
    intro = FAMILY_INTRO.get(family, f"# {title}\n")
    listing = ", ".join(f"[{public_name(op)}](#{anchor(op.name)})" for op in publics)
    parts = [GENERATED_NOTE + intro, f"Ops on this page: {listing}.", ""]
    plots = 0
    for op in publics:
        section = render_op_section(op, verification, plots_dir)
        plots += int(f"(assets/plots/{op.name}.png)" in section)
        parts.append(section)
    return "\n".join(parts), len(ops), plots


def _usage_example() -> str:
    import nnref

    x = np.array([-2.0, 0.0, 2.0])
    sig = nnref.sigmoid(x)
    back = nnref.get_op("relu").backward(np.ones(3), x)
    with np.printoptions(precision=8):
        return "\n".join([
            "```python",
            "import numpy as np",
            "import nnref",
            "",
            "x = np.array([-2.0, 0.0, 2.0])",
            "nnref.sigmoid(x)",
            f"# {sig!r}",
            "",
            "relu = nnref.get_op('relu')",
            "relu.backward(np.ones(3), x)   # the gradient of sum(relu(x)); relu'(0) = 0 as in torch",
            f"# {back!r}",
            "",
            "nnref.sigmoid_backward(np.ones(3), x)['input']   # σ(x)(1 − σ(x))",
            f"# {nnref.sigmoid_backward(np.ones(3), x)['input']!r}",
            "```",
        ])


def render_index() -> str:
    fam_lines = []
    for fam, page, title in FAMILIES:
        ops = family_ops(fam)
        publics = [public_name(o) for o in ops if not (isinstance(o, PointwiseOp) and o.variant_of)]
        fam_lines.append(f"- [{title}]({page}): {len(publics)} ops — " + ", ".join(
            f"`{n}`" for n in publics) + ".")
    return GENERATED_NOTE + f"""# nnref

**nnref** is a reference for the mathematics of neural networks that is derived, not typed:
every operation (the neuron, activations, losses) is described once as a SymPy formula, SymPy
differentiates it, and a NumPy engine is printed from the result. That engine is then checked
against PyTorch's autograd on thousands of random and edge-case inputs. The pages of this site
are generated from the same descriptions, so the formula you read, the code that runs and the
numbers that were verified cannot drift apart.

## The pipeline

1. **Describe** — `derivations/activations.py`, `losses.py` and `structured.py` declare each op:
   its definition, parameters with torch's names and defaults, any numerically stable
   rewrite, the closed forms people quote, and the *conventions* at points calculus leaves
   open (see [Conventions](conventions.md)).
2. **Derive and prove** — SymPy differentiates the definition. Each rewrite and closed form is
   proved equal to SymPy's result, symbolically when SymPy can simplify the difference to 0,
   otherwise numerically to 50 digits at 120 random points.
3. **Generate** — SymPy's NumPy printer writes `nnref/_generated/*.py`; the runtime needs only
   NumPy. A test fails when the files differ from what the derivations produce.
4. **Verify** — `tests/test_crosscheck.py` draws inputs with Hypothesis (ordinary values, kinks,
   ±0, tiny and huge magnitudes, NaN) and compares forward values and vector-Jacobian products
   with `torch.autograd` per dtype, within each op's declared tolerance
   ([results](verification.md)). The same suite can test any other implementation
   ([conformance](conformance.md)).
5. **Document** — `python -m derivations.docs_build` writes these pages and plots.

## Two commands

| command | what it does |
|---|---|
| `make site` | regenerate the engine, run the verification against torch, write these pages and build the site |
| `make test` | the whole test suite: proofs, generated-code drift, the torch cross-check, the site checks |

## Quick start

Every op `f` has `f_backward(grad_output, *inputs, **params)`, which returns the gradient of
$\\langle g, f(\\ldots)\\rangle$ for each differentiable input, keyed by name; `nnref.get_op(name)`
finds either by torch's name.

{_usage_example()}

## The families

{chr(10).join(fam_lines)}

[Worked examples](worked-examples.md) reproduce the hand-computed numbers of the source
articles with nnref and mark where a source got one wrong.
"""


def render_conventions() -> str:
    rows = []
    for op in all_ops():
        for c in op.conventions:
            rows.append([op_link(op), cell(c.label), cell(c.why)])
    rewrites = []
    for op in pointwise_ops():
        if op.rewrite is not None:
            rewrites.append(f"- {op_link(op)}: {md(op.rewrite.why)}")
        for cf in op.closed_forms:
            if cf.why and cf.use_in_engine:
                rewrites.append(f"- {op_link(op)}, derivative {math_inline(cf.label)}: {md(cf.why)}")
    structured_notes = [f"- {op_link(op)}: {md(n)}" for op in structured_ops() for n in op.notes
                        if "overflow" in n]
    # Pooling's conventions are shared by several ops (max_pool1d-3d, ...): one row each.
    from derivations.ops import pool

    pooled: dict[str, tuple[Any, list[Any]]] = {}
    for pop in pool.OPS:
        for pc in pop.conventions:
            pooled.setdefault(pc.label, (pc, []))[1].append(pop)
    for pc, pops in pooled.values():
        rows.append([", ".join(op_link(o) for o in pops), cell(pc.label), cell(pc.why)])
    n_conv = len(rows)
    return GENERATED_NOTE + f"""# Conventions

## Why conventions exist

Calculus does not say what the derivative of $\\max(x, 0)$ is at $x = 0$; frameworks must pick
a value. SymPy differentiates $\\max(x, 0)$ to Heaviside's step $H(x)$ and takes
$H(0) = \\tfrac12$; torch's ReLU backward passes no gradient where $x \\le 0$, so its answer is
0. Neither is wrong, but a reference must say which one it gives. nnref matches torch, and
every place where it overrides SymPy is a declared **convention**: a condition, the gradient
returned there, the reason, and an exact point where the test suite checks it against torch.

**NaN.** SymPy cannot reason about NaN, so the piecewise definitions list their branches in
the order torch's kernels test them. NaN fails every comparison, so it falls through to the
same branch it reaches in torch (for example, relu's backward masks with `result <= 0`,
which NaN fails, so the upstream gradient passes through unchanged). Where that is not enough,
a convention with the condition $\\operatorname{{isnan}}(x)$ says what torch does.

**Precedence.** The engine applies conventions on top of the derivative in declaration order;
the first whose condition holds wins.

**Pooling.** A maximum over a window has the same problem with more entries: which of several
equal (or NaN) entries receives the gradient, and whether padding can. The pooling conventions
below (one row per convention, listing the ops that share it) are routed by a selector in the
derived formula rather than laid over a derivative; the [pooling page](pooling.md#pool-conventions)
states each rule and pictures where the gradient goes.

## Every convention ({n_conv})

{table(["op", "convention", "why"], rows)}

## Stable rewrites

A formula that is correct on paper can overflow or cancel in floating point. Where the
definition would, the engine evaluates a rewritten form, proved equal to the definition (see
each op's *Proofs*):

{chr(10).join(rewrites)}
{chr(10).join(structured_notes)}
"""


def _proof_counts(ops: list[Op]) -> tuple[int, int, int, list[str]]:
    sym = num = failed = 0
    numeric: list[str] = []
    for op in ops:
        ps = proofs_for(op)
        if isinstance(ps, str):
            failed += 1
            continue
        for p in ps:
            if p.method == "symbolic":
                sym += 1
            else:
                num += 1
                numeric.append(claim_md(p, op))
    return sym, num, failed, numeric


def render_verification(data: dict[str, Any] | None) -> str:
    ops = all_ops()
    sym, num, failed, numeric = _proof_counts(ops)
    publics = [op for op in ops if not (isinstance(op, PointwiseOp) and op.variant_of)]
    publics += family_ops("convolution") + family_ops("pooling")
    parts = [GENERATED_NOTE + "# Verification", "",
             "Two kinds of evidence stand behind every op: **proofs** that each identity the engine"
             " relies on equals what SymPy derives, and a **cross-check** of the generated engine"
             " against PyTorch autograd on random and edge-case inputs.", "",
             "## Proofs", "",
             f"{sym + num} identities (stable rewrites, closed-form derivatives, structured steps)"
             f" across {len(ops)} op records: **{sym} proved symbolically** (SymPy simplifies the"
             f" difference to 0) and **{num} numerically** (agreement to 50 digits at 120 random"
             " points, where `simplify` could not finish within 3 s)."
             + (f" **{failed} op(s) had a failing proof.**" if failed else ""), ""]
    if numeric:
        parts += ['??? note "The identities proved numerically"', ""]
        parts += [f"    - {c}" for c in numeric]
        parts.append("")
    parts += ["## Cross-check against torch", ""]
    if data is None:
        parts += ["Not yet run: `make site` runs the verification.", ""]
    else:
        parts += [f"Latest run: {provenance_line(data)}", ""]
        rows = []
        for op in publics:
            name = public_name(op)
            got = sorted(_rows_for(data, name), key=lambda r: (r["device"], r["dtype"] != "float64", r["dtype"]))
            if not got:
                rows.append([op_link(op), "—", "not run", "—", "—", "—"])
                continue
            for r in got:
                used = r.get("tol_used", {})
                fwd = used.get("forward")
                bwd = max((v for k, v in used.items() if k != "forward"), default=None)
                rows.append([op_link(op), r["dtype"], r["device"], str(r["examples"]), _status(r),
                             f"{fmt_err(fwd)} / {fmt_err(bwd)}"])
        parts += ["Worst share of the tolerance used, forward and over every gradient (each op's page"
                  " gives its rtol and atol, per dtype, with the reason).", "",
                  table(["op", "dtype", "device", "examples", "result", "tolerance used (fwd / bwd)"], rows),
                  "", USED_NOTE, ""]
        if not any(r["device"] == "cuda" for r in data.get("rows", [])):
            note = _cuda_note(data, [])
            parts += [note or "", ""]
        parts += ["The table records what was measured on the examples that were run; a failing"
                  " example fails the test run itself (pytest reports it with a reproducer).", ""]
    parts += ["## Reproduce", "",
              "```sh",
              "make site                                  # engine, proofs, cross-check (ci profile), pages, site",
              "make test                                  # the whole suite",
              "NNREF_PROFILE=thorough make test           # 600 random examples per op, dtype and device",
              ".venv/bin/python -m pytest tests/test_crosscheck.py -q -k cpu   # the cross-check alone, CPU only",
              "```", "",
              "The `ci` profile is derandomised (the same 30 examples on every run); `thorough` draws"
              " 600 fresh ones per test. Results are written to `build/verification/torch.json`,"
              " which this page reads.", ""]
    return "\n".join(parts)


CONFORMANCE_EXAMPLE = '''"""toyimpl/adapter.py: run nnref's conformance suite against a toy NumPy ReLU."""

from __future__ import annotations

from typing import Any

import numpy as np


class ToyAdapter:
    name = "toy"
    devices = ("cpu",)  # each device becomes a test parameter

    def available(self, device: str) -> str | None:
        # None means "usable here"; a string is the reason the tests skip.
        return None if device == "cpu" else f"toy runs on the CPU only, not {device}"

    def forward(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any],
                device: str) -> np.ndarray:
        if op != "relu":
            raise NotImplementedError(f"toy has no {op}")  # fails only that op's tests
        x = inputs["input"]
        return np.maximum(x, np.zeros_like(x))  # keeps the dtype; NaN stays NaN

    def vjp(self, op: str, inputs: dict[str, np.ndarray], params: dict[str, Any],
            grad_output: np.ndarray, wrt: list[str], device: str) -> dict[str, np.ndarray]:
        if op != "relu":
            raise NotImplementedError(f"toy has no {op}")
        x = inputs["input"]
        # torch's rule: no gradient where x <= 0. Writing the mask this way round
        # lets NaN (which fails x <= 0) pass the gradient, as torch does.
        return {"input": np.where(x <= 0, np.zeros_like(grad_output), grad_output)}
'''


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


def render_conformance() -> str:
    return GENERATED_NOTE + f"""# Conformance suite

The cross-check that verifies nnref against torch works the other way round too: it can test
**any** implementation against nnref. Every op in nnref's catalog becomes a parametrised test
per dtype and device; Hypothesis draws shapes (empty ones included), parameters and inputs
(ordinary values, the op's kink points, ±0, tiny and huge magnitudes, NaN) and a random upstream
gradient, and the implementation must match nnref's forward value and vector-Jacobian product
within the op's declared tolerance.

## The adapter protocol

An implementation is plugged in as an object (or a class, which is instantiated) with
(see `tests/adapters.py`):

{PROTOCOL_TABLE}

Arrays cross the boundary as NumPy arrays in both directions, so an adapter only converts
to and from its own tensor type. Raising `NotImplementedError` for an op fails that op's tests
only; collection never crashes. `python -m nnref ops` lists every op with its inputs and
parameters (`--json` for a machine-readable catalog).

## A complete example

```python
{CONFORMANCE_EXAMPLE.rstrip()}
```

Run it (with `toyimpl` importable, e.g. from the repository root):

```sh
# only relu: skip every other op listed in the catalog
.venv/bin/python -m nnref ops --json | .venv/bin/python -c \\
  "import json, sys; print('\\n'.join(e['name'] for e in json.load(sys.stdin) if e['name'] != 'relu'))" > skip.txt
.venv/bin/python -m pytest tests/test_crosscheck.py --impl toyimpl.adapter:ToyAdapter --skip-ops skip.txt
```

## Options

{OPTIONS_TABLE}

A failure names the op, dtype and device, the inputs (in full when small) and the first
differing entries with both values, and Hypothesis prints a minimal reproducer. The largest
errors seen are written to `build/verification/<impl>.json`.
"""


# ----------------------------------------------------------------------------- worked examples

@dataclass
class Claim:
    """One checkable statement of a source article, with nnref's value.

    ``claimed`` is the number as the source states it, rounded to ``decimals`` places;
    ``ok`` is True when nnref's value rounds to it (None: nothing numeric to check)."""

    key: str
    what: str
    inputs: str
    claimed_text: str
    value_text: str
    ok: bool | None
    value: Any = None
    note: str = ""


def numeric_claim(key: str, what: str, inputs: str, claimed: Any, value: Any, decimals: int,
                  note: str = "", claimed_text: str | None = None) -> Claim:
    c = np.atleast_1d(np.asarray(claimed, dtype=float))
    v = np.atleast_1d(np.asarray(value, dtype=float))
    ok = bool(np.all(np.abs(v - c) <= 0.5 * 10.0 ** -decimals + 1e-12))
    vt = fmt_vec(v) if v.size > 1 else fmt(v[0])
    ct = claimed_text or (fmt_vec(c) if c.size > 1 else f"{c[0]:.{decimals}f}")
    return Claim(key, what, inputs, ct, vt, ok, value, note)


def check_claim(key: str, what: str, inputs: str, claimed_text: str, value_text: str, ok: bool,
                value: Any = None, note: str = "") -> Claim:
    return Claim(key, what, inputs, claimed_text, value_text, ok, value, note)


def compute_e1() -> dict[str, Any]:
    import nnref

    x, w, b = np.array([2.0, 3.0]), np.array([[0.5, -0.2]]), np.array([0.1])
    z = nnref.linear(x, w, b)
    return {"x": x, "w": w, "b": b, "products": x * w[0], "z": float(z[0]), "a": float(nnref.sigmoid(z)[0])}


def compute_e2(n_in: int = 3, n_out: int = 2) -> dict[str, Any]:
    var = 2 / (n_in + n_out)
    std = math.sqrt(var)
    # P(|W| < k) for W ~ Normal(0, std²) is erf(k / (std·√2)).
    within = {k: math.erf(k / (std * math.sqrt(2))) for k in (0.632, 1.26, 1.90)}
    he_var = 2 / n_in
    return {"var": var, "std": std, "within": within, "he_var": he_var, "he_std": math.sqrt(he_var)}


E3 = {"x": [1.0, 1.0], "W1": [[0.5, 0.2], [0.3, 0.8]], "b1": [0.1, 0.1], "W2": [[0.4, 0.7]], "b2": [0.2], "y": [1.0]}
E3_ETA = 0.5


def e3_forward(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> dict[str, np.ndarray]:
    import nnref

    x = np.array(E3["x"])
    z1 = nnref.linear(x, W1, b1)
    h1 = nnref.relu(z1)
    z2 = nnref.linear(h1, W2, b2)
    return {"W1x": nnref.linear(x, W1), "z1": z1, "h1": h1, "z2": z2, "yhat": nnref.sigmoid(z2)}


def compute_e3(loss: str, eta: float = E3_ETA) -> dict[str, Any]:
    """Forward pass, full backward pass with nnref's *_backward functions, one gradient step."""
    import nnref

    x, y = np.array(E3["x"]), np.array(E3["y"])
    W1, b1, W2, b2 = (np.array(E3[k]) for k in ("W1", "b1", "W2", "b2"))
    f = e3_forward(W1, b1, W2, b2)
    loss_fn = {"mse": nnref.mse_loss, "bce": nnref.binary_cross_entropy}[loss]
    loss_bwd = {"mse": nnref.mse_loss_backward, "bce": nnref.binary_cross_entropy_backward}[loss]
    L = float(loss_fn(f["yhat"], y))
    one = np.array(1.0)
    d_yhat = loss_bwd(one, f["yhat"], y)["input"]
    d_z2 = nnref.sigmoid_backward(d_yhat, f["z2"])["input"]
    g2 = nnref.linear_backward(d_z2, f["h1"], W2, b2)
    d_z1 = nnref.relu_backward(g2["input"], f["z1"])["input"]
    g1 = nnref.linear_backward(d_z1, x, W1, b1)
    grads = {"d_yhat": d_yhat, "d_z2": d_z2, "W2": g2["weight"], "b2": g2["bias"], "d_h1": g2["input"],
             "d_z1": d_z1, "W1": g1["weight"], "b1": g1["bias"]}
    new = {"W1": W1 - eta * g1["weight"], "b1": b1 - eta * g1["bias"],
           "W2": W2 - eta * g2["weight"], "b2": b2 - eta * g2["bias"]}
    f_new = e3_forward(new["W1"], new["b1"], new["W2"], new["b2"])
    return {"forward": f, "loss": L, "grads": grads, "new": new, "old": {"W1": W1, "b1": b1, "W2": W2, "b2": b2},
            "yhat_new": float(f_new["yhat"][0]), "loss_new": float(loss_fn(f_new["yhat"], y)), "eta": eta}


E6_GRID = np.array([-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
E6_SHAPES: dict[str, Callable[[Callable[[np.ndarray], np.ndarray], np.ndarray], np.ndarray]] = {
    "peak: relu(z+1) − 2·relu(z) + relu(z−1)": lambda r, z: r(z + 1) - 2 * r(z) + r(z - 1),
    "valley: relu(−z−1) + relu(z−1)": lambda r, z: r(-z - 1) + r(z - 1),
    "plateau: relu(z+1) − relu(z−1)": lambda r, z: r(z + 1) - r(z - 1),
}
E6_KINKS = (-1.0, 0.0, 1.0)


def compute_e6() -> dict[str, Any]:
    import nnref

    fine = np.linspace(-3.0, 3.0, 601)
    segments = [(-3.0, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, 3.0)]
    shapes = {}
    worst = 0.0
    for name, f in E6_SHAPES.items():
        vals = f(nnref.relu, fine)
        slopes = []
        for lo, hi in segments:
            m = (fine >= lo - 1e-12) & (fine <= hi + 1e-12)
            s = np.diff(vals[m]) / np.diff(fine[m])
            worst = max(worst, float(np.ptp(s)))
            slopes.append(float(np.mean(s)))
        shapes[name] = {"grid": f(nnref.relu, E6_GRID), "slopes": slopes}
    grid = np.linspace(-10.0, 10.0, 2001)
    sig, th, rl = nnref.sigmoid(grid), nnref.tanh(grid), nnref.relu(grid)
    big = np.array([1e3, 1e100, 1e300])
    return {"shapes": shapes, "segments": segments, "worst_slope_spread": worst,
            "sigmoid": (float(sig.min()), float(sig.max())), "tanh": (float(th.min()), float(th.max())),
            "relu_big": nnref.relu(big), "big": big, "relu_min": float(rl.min()),
            "sigmoid_one": _first_at_one(nnref.sigmoid), "tanh_one": _first_at_one(nnref.tanh)}


def _first_at_one(f: Callable[[np.ndarray], np.ndarray]) -> float:
    """The smallest x on a 0.01 grid in [0, 60] where f(x) rounds to exactly 1.0 in float64."""
    xs = np.round(np.arange(0.0, 60.0, 0.01), 2)
    return float(xs[np.argmax(f(xs) == 1.0)])


def worked_example_claims() -> list[Claim]:
    """Every checkable claim of the source articles' worked examples, with nnref's value."""
    claims = []
    e1 = compute_e1()
    inp = "$x = [2, 3]$, $w = [0.5, -0.2]$, $b = 0.1$"
    claims.append(numeric_claim("E1.z", "pre-activation $z = w \\cdot x + b$ (`nnref.linear`)", inp, 0.5,
                                e1["z"], 1, claimed_text="1.0 − 0.6 + 0.1 = 0.5"))
    claims.append(numeric_claim("E1.a", "activation $a = \\sigma(z)$ (`nnref.sigmoid`)", "$z = 0.5$", 0.622,
                                e1["a"], 3, claimed_text="≈ 0.622"))

    e2 = compute_e2()
    inp = "$n_{in} = 3$, $n_{out} = 2$"
    claims.append(numeric_claim("E2.var", "Xavier/Glorot variance $2/(n_{in}+n_{out})$", inp, 0.4, e2["var"], 1))
    claims.append(numeric_claim("E2.std", "standard deviation $\\sqrt{0.4}$", inp, 0.632, e2["std"], 3,
                                claimed_text="≈ 0.632"))
    for key, k, claimed, dec, txt in (("E2.p68", 0.632, 68, 0, "about 68%"), ("E2.p95", 1.26, 95, 0, "about 95%"),
                                      ("E2.p997", 1.90, 99.7, 1, "about 99.7%")):
        claims.append(numeric_claim(key, f"fraction of draws within ±{k} (normal CDF via `math.erf`), in %",
                                    f"Normal(0, {fmt(e2['std'], 4)}²)", claimed, 100 * e2["within"][k], dec,
                                    claimed_text=txt))
    claims.append(check_claim("E2.he", "He/Kaiming variance $2/n_{in}$", "$n_{in} = 3$", "formula only",
                              f"{fmt(e2['he_var'], 4)} (std {fmt(e2['he_std'], 4)})", None, e2["he_var"],
                              "The source gives the formula, no number; shown for the same layer."))

    mse = compute_e3("mse")
    bce = compute_e3("bce")
    f = mse["forward"]
    inp = "$W_1 = [[0.5, 0.2], [0.3, 0.8]]$, $b_1 = [0.1, 0.1]$, $x = [1, 1]$"
    claims.append(numeric_claim("E3.W1x", "$W_1 x$ (`nnref.linear` without bias)", inp, [0.7, 1.1], f["W1x"], 1))
    claims.append(numeric_claim("E3.z1", "$z_1 = W_1 x + b_1$", inp, [0.8, 1.2], f["z1"], 1))
    claims.append(numeric_claim("E3.h1", "$h_1 = \\operatorname{relu}(z_1)$", "$z_1$ above", [0.8, 1.2], f["h1"], 1))
    claims.append(numeric_claim("E3.z2", "$z_2 = W_2 h_1 + b_2$", "$W_2 = [0.4, 0.7]$, $b_2 = 0.2$", 1.36,
                                f["z2"], 2, claimed_text="0.32 + 0.84 + 0.2 = 1.36"))
    e_val = float(np.exp(-f["z2"][0]))
    claims.append(numeric_claim(
        "E3.exp", "$e^{-z_2}$ (NumPy's `exp`: a step of the sigmoid, not an nnref op)", "$z_2 = 1.36$", 0.256,
        e_val, 3, claimed_text="≈ 0.256",
        note=f"$e^{{-1.36}} = {e_val:.5f}$, which rounds to 0.257: the source truncated instead of rounding."
             " Its next step, 0.796, is right."))
    claims.append(numeric_claim("E3.yhat", "$\\hat y = \\sigma(z_2)$", "$z_2 = 1.36$", 0.796, f["yhat"], 3,
                                claimed_text="≈ 0.796"))
    for key, res, name in (("E3.learn_mse", mse, "MSE"), ("E3.learn_bce", bce, "binary cross-entropy")):
        y0 = float(res["forward"]["yhat"][0])
        claims.append(check_claim(
            key, f"one gradient step ({name}, η = {res['eta']}) moves the prediction closer to 1",
            "$y = 1$, same input", "slightly closer to 1",
            f"{fmt(y0, 6)} → {fmt(res['yhat_new'], 6)}", res["yhat_new"] > y0 and res["yhat_new"] < 1,
            res["yhat_new"]))

    e6 = compute_e6()
    claims.append(check_claim(
        "E6.hinges", "a sum of ReLU hinges is piecewise linear", "the three sums above, on 601 points in [−3, 3]",
        "piecewise linear", f"slope constant on every segment (spread {fmt(e6['worst_slope_spread'], 2)})",
        e6["worst_slope_spread"] < 1e-9, e6["worst_slope_spread"]))
    lo, hi = e6["sigmoid"]
    claims.append(check_claim("E6.sigmoid", "sigmoid's outputs lie in (0, 1)", "2001 points in [−10, 10]", "(0, 1)",
                              f"[{fmt(lo, 4)}, {fmt(hi, 6)}]", 0 < lo and hi < 1, (lo, hi)))
    lo, hi = e6["tanh"]
    claims.append(check_claim("E6.tanh", "tanh's outputs lie in (−1, 1)", "2001 points in [−10, 10]", "(−1, 1)",
                              f"[{fmt(lo, 10)}, {fmt(hi, 10)}]", -1 < lo and hi < 1, (lo, hi)))
    big = e6["relu_big"]
    claims.append(check_claim("E6.relu", "ReLU is unbounded above (and never negative)",
                              "$z = 10^{3}, 10^{100}, 10^{300}$", "unbounded above",
                              "relu(z) = z: " + ", ".join(f"{v:.0e}" for v in big)
                              + f"; min on the grid {fmt(e6['relu_min'])}",
                              bool(np.all(big == e6["big"])) and e6["relu_min"] >= 0, big))
    from . import conv as conv_docs

    return claims + conv_docs.e4_e5_claims()


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else "✔ agrees" if ok else "✘ **disagrees**"


def _claims_table(claims: list[Claim]) -> str:
    rows = [[c.what.replace("|", r"\|"), c.inputs, cell(c.claimed_text), cell(c.value_text), _mark(c.ok)]
            for c in claims]
    out = table(["claim", "inputs", "source says", "nnref", ""], rows)
    notes = [f"- **{c.key}**: {c.note}" for c in claims if c.note]
    return out + ("\n\n" + "\n".join(notes) if notes else "")


def _e3_tables(res: dict[str, Any]) -> str:
    g, old, new = res["grads"], res["old"], res["new"]
    rows = [
        [r"$\partial L/\partial \hat y$", "loss backward", fmt_vec(g["d_yhat"])],
        [r"$\delta_2 = \partial L/\partial z_2$", "`sigmoid_backward`", fmt_vec(g["d_z2"])],
        [r"$\partial L/\partial W_2$", "`linear_backward` (weight)", fmt_vec(g["W2"])],
        [r"$\partial L/\partial b_2$", "`linear_backward` (bias)", fmt_vec(g["b2"])],
        [r"$\partial L/\partial h_1$", "`linear_backward` (input)", fmt_vec(g["d_h1"])],
        [r"$\delta_1 = \partial L/\partial z_1$", "`relu_backward`", fmt_vec(g["d_z1"])],
        [r"$\partial L/\partial W_1$", "`linear_backward` (weight)", fmt_vec(g["W1"])],
        [r"$\partial L/\partial b_1$", "`linear_backward` (bias)", fmt_vec(g["b1"])],
    ]
    grads = table(["gradient", "nnref call", "value"], rows)
    prow = []
    for k in ("W2", "b2", "W1", "b1"):
        prow.append([f"${k[0]}_{k[1]}$", fmt_vec(old[k]), fmt_vec(g[k]), fmt_vec(new[k])])
    params = table(["parameter", "old", "gradient", f"new = old − {res['eta']} × gradient"], prow)
    y0 = float(res["forward"]["yhat"][0])
    return (f"Loss before the step: $L = {fmt(res['loss'], 6)}$.\n\n{grads}\n\n{params}\n\n"
            f"New prediction for the same input: $\\hat y = {fmt(res['yhat_new'], 6)}$ (was {fmt(y0, 6)}),"
            f" loss {fmt(res['loss'], 6)} → {fmt(res['loss_new'], 6)}.")


def render_worked_examples() -> str:
    from . import conv as conv_docs

    claims = worked_example_claims()
    by = lambda p: [c for c in claims if c.key.startswith(p)]  # noqa: E731
    mse, bce = compute_e3("mse"), compute_e3("bce")
    e6 = compute_e6()
    hinge_rows = []
    for i, z in enumerate(E6_GRID):
        hinge_rows.append([fmt(z)] + [fmt(s["grid"][i], 4) for s in e6["shapes"].values()])
    slope_rows = [[name.split(":")[0]] + [fmt(s, 4) for s in d["slopes"]] for name, d in e6["shapes"].items()]
    n_bad = sum(1 for c in claims if c.ok is False)
    n_ok = sum(1 for c in claims if c.ok)
    return GENERATED_NOTE + f"""# Worked examples

The source articles this project started from work a few examples by hand. Here each one is
recomputed with nnref's verified functions: the inputs, the value the source states, nnref's
value, and a mark — ✔ where nnref's value rounds to the source's (to the digits the source
gave), ✘ where it does not, which means the source is wrong there.

**Summary**: {n_ok} claims agree, {n_bad} disagree{'s' if n_bad == 1 else ''}.

## E1 — one neuron {{#e1-one-neuron}}

A neuron with two inputs and a sigmoid activation: $z = w \\cdot x + b$, $a = \\sigma(z)$,
computed with `nnref.linear` (weights as a 1×2 matrix) and `nnref.sigmoid`. The products are
$2 \\times 0.5 = {fmt(compute_e1()['products'][0])}$ and $3 \\times (-0.2) = {fmt(compute_e1()['products'][1])}$.

{_claims_table(by("E1"))}

## E2 — Xavier/Glorot initialisation {{#e2-xavier}}

For a layer with $n_{{in}} = 3$ inputs and $n_{{out}} = 2$ outputs, Xavier/Glorot draws weights
with variance $2/(n_{{in}} + n_{{out}})$. The fraction of draws within $\\pm k$ of 0 for a
normal distribution with standard deviation $s$ is
$\\operatorname{{erf}}\\big(k / (s\\sqrt2)\\big)$, computed here with Python's `math.erf` at
the bounds the source quotes. He/Kaiming initialisation (for ReLU layers) uses $2/n_{{in}}$;
biases start at 0 or a small constant such as 0.01.

{_claims_table(by("E2"))}

The source also prints one sampled 2×3 matrix; a single draw is not a checkable claim, though
all six of its entries do lie within ±1.90.

## E3 — a 2-2-1 network, forward and backward {{#e3-network}}

Two inputs, a hidden layer of two ReLU units, one sigmoid output:
$z_1 = W_1 x + b_1$, $h_1 = \\operatorname{{relu}}(z_1)$, $z_2 = W_2 h_1 + b_2$,
$\\hat y = \\sigma(z_2)$, with $W_1 = [[0.5, 0.2], [0.3, 0.8]]$ (row $i$ holds hidden unit
$i$'s weights), $b_1 = [0.1, 0.1]$, $W_2 = [0.4, 0.7]$, $b_2 = 0.2$, input $x = [1, 1]$ and
true label $y = 1$.

### Forward pass

{_claims_table([c for c in by("E3") if not c.key.startswith("E3.learn")])}

### Backward pass and one gradient step

The source says one backpropagation step followed by gradient descent,
$w \\leftarrow w - \\eta\\, \\partial L / \\partial w$, moves the prediction for the same input
closer to 1, but names no learning rate. **We choose $\\eta = {E3_ETA}$.** Every gradient below
comes from nnref's `*_backward` functions chained by hand (loss → sigmoid → linear → relu →
linear), exactly as autograd would.

**With the squared error** $L = (\\hat y - y)^2$ (`nnref.mse_loss`, the loss the source introduces):

{_e3_tables(mse)}

**With binary cross-entropy** $L = -\\big(y \\log \\hat y + (1-y)\\log(1-\\hat y)\\big)$
(`nnref.binary_cross_entropy`), whose gradient through the sigmoid simplifies to
$\\delta_2 = \\hat y - y$:

{_e3_tables(bce)}

{_claims_table(by("E3.learn"))}

{conv_docs.render_e4_e5(claims)}
## E6 — activation shapes {{#e6-activation-shapes}}

A ReLU unit turns a line into a hinge; adding hinges gives a piecewise-linear function. Three
sums computed with `nnref.relu`:

{chr(10).join(f"- **{n.split(':')[0]}**: `{n.split(': ')[1]}`" for n in e6["shapes"])}

{table(["z"] + [n.split(":")[0] for n in e6["shapes"]], hinge_rows)}

Slopes measured from nnref's values on 601 points in $[-3, 3]$, per segment between the kinks
at −1, 0 and 1:

{table(["sum"] + [f"({fmt(a)}, {fmt(b)})" for a, b in e6["segments"]], slope_rows)}

{_claims_table(by("E6"))}

The open intervals are properties of the real functions. In floating point both saturate: in
float64, nnref's sigmoid returns exactly 1.0 from $x = {fmt(e6['sigmoid_one'])}$ on (where $e^{{-x}}$
drops below half an ulp of 1) and tanh returns exactly ±1.0 from $|x| = {fmt(e6['tanh_one'])}$
on (both on a 0.01 grid); float32 saturates much sooner.
"""


# ----------------------------------------------------------------------------- main

def write_page(name: str, text: str) -> None:
    check_prose(text, name)
    (DOCS / name).write_text(text)


def main(argv: list[str] | None = None) -> int:
    start = time.perf_counter()
    ops = all_ops()
    print(f"docs: {len(ops)} op records from derivations/")
    t = time.perf_counter()
    PLOTS.mkdir(parents=True, exist_ok=True)
    before = set(PLOTS.glob("*.png"))
    run_jobs(ops, PLOTS)
    sym, num, failed, _ = _proof_counts(ops)
    print(f"  proofs: {sym} symbolic, {num} numeric, {failed} failed; plots: "
          f"{sum(v is None for v in _PLOTTED.values())} ({time.perf_counter() - t:.1f} s)")
    data = load_verification()
    print("  verification: " + (f"{len(data.get('rows', []))} rows from {VERIFICATION.relative_to(ROOT)}"
                                if data else "none yet (build/verification/torch.json missing)"))
    drawn: set[Path] = set()
    for family, page, title in FAMILIES:
        text, n_ops, n_plots = render_family_page(family, title, data, PLOTS)
        write_page(page, text)
        drawn |= {PLOTS / f"{op.name}.png" for op in family_ops(family)}
        if family == "convolution":
            from . import conv as conv_docs

            drawn |= conv_docs.DRAWN
        if family == "pooling":
            from . import pool as pool_docs

            drawn |= pool_docs.DRAWN
        print(f"  page {page} ({n_ops} ops, {n_plots} plots)")
    for stale in before - drawn:
        stale.unlink()
    for page, render in (("index.md", render_index), ("conventions.md", render_conventions),
                         ("conformance.md", render_conformance), ("worked-examples.md", render_worked_examples)):
        write_page(page, render())
        print(f"  page {page}")
    write_page("verification.md", render_verification(data))
    print("  page verification.md")
    print(f"docs written in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
