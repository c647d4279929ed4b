"""What every op's own page (``docs/ops/<op>.md``) has around its mathematics, and the table
that links the pages from their family's overview.

An op page opens the same way whatever renders its body: the op's name, its summary, torch's
names for it, the call as users write it, a runnable example with its output; it closes with
where its description is declared (the source lines, shown collapsed).  The pages live one
folder down, so ``relink`` prefixes the site-relative links that the section builders write.

Owns: ``page_head``, ``source_section`` (with ``source_lines``), ``collapsed_code``, ``relink``,
``overview_table`` and ``with_search_boost``; where an op's page is (``markup.op_page_path``) is markup's.
Imports: ``derivations.registry``, ``.examples``, ``.markup``, ``.paths``; no other page module.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Any

from derivations.registry import MODULES, variants_of

from .examples import example_block
from .markup import anchor, cell, code_block, op_page_path, table, torch_names
from .paths import ROOT

_LINK = re.compile(r"\]\((?!https?:|#|/|\.\./|mailto:)([^)\s]+)\)")


# lunr (the site search) completes a typed word, so "relu" also matches relu6, and ranks by the
# rarest term matched: relu6's page, the rarer word, came first for "relu", tanhshrink's for
# "tanh".  A page whose op name begins another's gets this boost.  Measured over all 61 op
# names as queries in the built site: each finds its own page first; tests/test_site.py keeps
# the pairs.  The boost lifts every section of the page
# for every query: "shrink" and "logit" now list binary_cross_entropy first.
SEARCH_BOOST = 3


def with_search_boost(pages: dict[str, str]) -> dict[str, str]:
    """{path: text} of op pages, where a page whose op name is a prefix of another op page's
    name opens with front matter raising its search rank."""
    stem = {path: path.rsplit("/", 1)[-1].removesuffix(".md") for path in pages}
    front = f"---\nsearch:\n  boost: {SEARCH_BOOST}\n---\n"
    return {path: (front + text if any(o != stem[path] and o.startswith(stem[path]) for o in stem.values())
                   else text) for path, text in pages.items()}


def relink(text: str) -> str:
    """Site-relative Markdown links and images, as written for a page in docs/, made to work
    from docs/ops/ (code blocks are left as they are)."""
    out, fence = [], ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("```"):
            fence = "" if fence else stripped[:3]
        out.append(line if fence or stripped.startswith("```") else _LINK.sub(r"](../\1)", line))
    return "\n".join(out)


def _module_of(op: Any) -> str:
    for m in MODULES:
        if any(o is op for o in m.ops):
            return m.name
    raise KeyError(op.name)


@cache
def _declarations(path: str) -> tuple[list[tuple[str, int, int]], list[tuple[str, set[str], int, int]]]:
    """In one description module: (name, first line, last line) of every call with a string
    ``name=`` keyword (a record's declaration), and (function, its string constants, lines) of
    every top-level function (the builders of records declared through a helper)."""
    tree = ast.parse((ROOT / path).read_text())
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    calls.append((kw.value.value, node.lineno, node.end_lineno or node.lineno))
            first = node.args[0] if node.args else None
            if isinstance(node.func, ast.Name) and isinstance(first, ast.Constant) and isinstance(first.value, str):
                calls.append((f"{node.func.id}({first.value!r})", node.lineno, node.lineno))
    funcs = [(node.name, {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)},
              node.lineno, node.end_lineno or node.lineno)
             for node in tree.body if isinstance(node, ast.FunctionDef)]
    return calls, funcs


def source_lines(op: Any) -> tuple[str, int, int, str] | None:
    """(file, first line, last line, what) of the op's description: its own declaration, else
    the helper function that builds it (its name written in it, or ``_op``, which builds every
    convolution and pooling record); None when neither is found."""
    path = f"derivations/ops/{_module_of(op)}.py"
    calls, funcs = _declarations(path)
    for name, lo, hi in calls:
        if name == op.name:
            return path, lo, hi, f"the declaration of `{op.name}`"
    for fname, _, lo, hi in funcs:  # _poisson("poisson_nll_loss_full", ...): the helper it calls
        call = next((c for c in calls if c[0] == f"{fname}({op.name!r})"), None)
        if call is not None:
            return path, lo, hi, f"`{fname}`, which line {call[1]} calls to build the record `{op.name}`"
    for fname, strings, lo, hi in funcs:
        if op.name in strings or (op.public in strings and op.public == op.name):
            return path, lo, hi, f"`{fname}`, which builds the record `{op.name}`"
    for fname, _, lo, hi in funcs:
        if fname == "_op":
            return path, lo, hi, f"`_op`, which builds every record of `{path}` (`{op.name}` among them)"
    return None


def source_section(op: Any, h: str = "##") -> str:
    parts = [f"{h} Source of this description {{#{anchor(op.name)}-source}}", "",
             "Everything on this page is computed from the op's description (`python -m pages`):", ""]
    seen = set()
    for rec in (op, *variants_of(op)):
        found = source_lines(rec)
        if found is None:
            parts += [f"- `{rec.name}`: declared in `derivations/ops/{_module_of(rec)}.py`.", ""]
            continue
        path, lo, hi, what = found
        if (path, lo) in seen:
            continue
        seen.add((path, lo))
        text = "\n".join((ROOT / path).read_text().splitlines()[lo - 1:hi])
        parts += [f'??? note "{path}, lines {lo}–{hi}: {what}"', "", code_block(text, "    "), ""]
    return "\n".join(parts).rstrip()


def collapsed_code(kernels: list[tuple[str, str, str]]) -> str:
    """Generated kernels, [(name, file, source)], in one collapsed block."""
    names = " and ".join(f"{k[0]}" for k in kernels)
    body = "\n\n\n".join(k[2] for k in kernels)
    return f'??? note "The generated code: {names}"\n\n' + code_block(body, "    ")


def page_head(op: Any, signature: str) -> str:
    """The page's title, summary, torch's names, the call and its example."""
    parts = [f"# {op.public} {{#{anchor(op.public)}}}", "", cell(op.summary) + " " + torch_names(op.public), ""]
    if signature:
        parts += [signature, ""]
    example = example_block(op.public)
    if example:
        parts += [f"## Example {{#{anchor(op.public)}-example}}", "",
                  "Runs as printed; the comments are what nnref returned when this page was built.", "",
                  example, ""]
    return "\n".join(parts).rstrip()


def _summary(op: Any) -> str:
    """The record's one-line summary, as declared (its first sentence would cut "et al.")."""
    return cell(op.summary.strip())


def overview_table(ops: list[Any]) -> str:
    """A family overview's table: each op with its page, what it computes and torch's name.
    The name cell carries the op's old section ids (``#leaky-relu`` and ``#leaky_relu``, its
    variants' too), so links written before the op had a page still land on its row.  The table
    is left out of the site's search index (material's ``data-search-exclude``): a search for
    ``F.gelu`` must find gelu's page, not the overview row that names it."""
    rows = []
    for op in ops:
        ids = []
        for rec in (op, *variants_of(op)):
            ids += [anchor(rec.name)] + ([rec.name] if anchor(rec.name) != rec.name else [])
        spans = "".join(f'<span id="{i}"></span>' for i in ids)
        rows.append([f"{spans}[`{op.public}`]({op_page_path(op)})", _summary(op),
                     f"`F.{op.public}`"])
    body = table(["op", "what it computes", "torch"], rows)
    return f'<div markdown="1" class="nnref-ops" data-search-exclude>\n\n{body}\n\n</div>'

