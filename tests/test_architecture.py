"""The house plan, checked: no import circles anywhere, each floor imports only the floors
below it, no hand-written module too long to read in one sitting, every module says what it
owns and what it may import, and every op reaches codegen and the pages through the one
protocol.  ``docs/architecture.md`` describes the same plan for people.

Imports are read with ``ast`` (nothing is executed), function-level imports included: an
import inside a function is still an edge that can close a circle when that function runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("derivations", "nnref", "pages")
# Scripts and the test modules are imported by their bare file name (pytest's pythonpath
# puts tests/ on sys.path; the benchmarks run as scripts).
FLAT_DIRS = ("tests", "benchmarks")
MAX_LINES = 800


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    if rel.parts[0] in FLAT_DIRS:
        return rel.parts[-1]
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def repo_modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for top in (*PACKAGES, *FLAT_DIRS):
        for path in sorted((root / top).rglob("*.py")):
            out[_module_name(path) if root == ROOT else _relative_name(path, root)] = path
    return out


def _relative_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _with_parents(name: str, known: Iterable[str]) -> set[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ too: an edge to each that exists."""
    known = set(known)
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the repository modules it imports (anywhere in its body)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path, node)
                # `from pkg import sub` imports the submodule when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                edges |= _with_parents(t, modules)
        edges.discard(name)
        # A module importing its own package's __init__ is the normal way a package is entered.
        graph[name] = {e for e in edges if not name.startswith(e + ".")}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = import_graph(repo_modules())


def test_no_import_circles_anywhere() -> None:
    assert circles(GRAPH) == []


def test_the_circle_finder_finds_circles(tmp_path: Path) -> None:
    # The check above can fail: a two-module circle through a function-level import, and a
    # circle through a package __init__, are both found.
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from .a import f\n")
    (pkg / "sub" / "__init__.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text("from ..d import x\n")
    (pkg / "d.py").write_text("import pkg.sub\nx = 1\n")
    modules = {_relative_name(p, tmp_path): p for p in sorted(pkg.rglob("*.py"))}
    assert circles(import_graph(modules)) == [["pkg.a", "pkg.b"], ["pkg.d", "pkg.sub", "pkg.sub.c"]]


# (who, may not import): each floor imports only the floors below it.  Descriptions
# (derivations.ops) sit on the schema and the index algebra; the derivation core does not
# reach up into printers, proofs or pages; printers do not reach into proofs or pages; the
# engine imports nothing of the rest.
FORBIDDEN = [
    ("nnref", ("derivations", "pages", "tests")),
    ("derivations", ("pages",)),
    ("derivations.ops", ("derivations.codegen", "derivations.proofs", "derivations.derive",
                         "derivations.steps", "derivations.registry", "nnref")),
    ("derivations.spec", ("derivations.ops", "derivations.codegen", "derivations.proofs", "derivations.registry")),
    ("derivations.affine", ("derivations.ops", "derivations.codegen", "derivations.proofs", "derivations.registry")),
    ("derivations.derive", ("derivations.ops", "derivations.codegen", "derivations.proofs", "derivations.registry")),
    ("derivations.steps", ("derivations.ops", "derivations.codegen", "derivations.proofs", "derivations.registry")),
    ("derivations.registry", ("derivations.codegen", "derivations.proofs")),
    ("derivations.codegen", ("derivations.proofs",)),
    ("derivations.oracle", ("derivations.codegen", "derivations.proofs", "nnref")),
]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("who,banned", FORBIDDEN, ids=[w for w, _ in FORBIDDEN])
def test_each_floor_imports_only_floors_below(who: str, banned: tuple[str, ...]) -> None:
    bad = sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if _under(m, who)
                 for t in ts if any(_under(t, b) for b in banned))
    assert bad == []


def test_the_floor_rules_cover_every_package() -> None:
    assert {m.split(".")[0] for m in GRAPH} >= set(PACKAGES)
    assert any(_under(m, "derivations.ops") for m in GRAPH) and any(_under(m, "derivations.codegen") for m in GRAPH)


def _hand_written() -> list[Path]:
    return [p for p in repo_modules().values() if "_generated" not in p.parts]


def test_no_hand_written_module_is_too_long() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _hand_written()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_says_what_it_owns_and_may_import(package: str) -> None:
    missing = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "_generated" in path.parts:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if "Owns:" not in doc or "Imports:" not in doc:
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_every_record_follows_the_op_protocol() -> None:
    from derivations import registry
    from derivations.codegen import PRINTERS
    from derivations.spec import OpRecord

    families = {f.name for f in registry.FAMILIES}
    for op in registry.all_ops():
        assert isinstance(op, OpRecord), op.name
        assert op.family in families, (op.name, op.family)
        assert op.printer in PRINTERS, (op.name, op.printer)
        derived = op.derivation()
        assert set(derived.vjps) == set(op.differentiable), op.name
    for m in registry.MODULES:
        assert m.printer in PRINTERS  # one printer per module, or Module.printer raises


def test_every_renderer_has_a_page_section() -> None:
    from derivations import registry
    from pages import sections

    assert {op.renderer for op in registry.all_ops()} <= set(sections.RENDERERS)


# Outside packages the engine may import: NumPy everywhere; hypothesis only inside
# nnref.conformance (the installed conformance runner, the [conformance] extra); never
# SymPy, torch or pytest.  The standard library is free.
ENGINE_THIRD_PARTY = {"nnref": {"numpy"}, "nnref.conformance": {"numpy", "hypothesis"}}


def _third_party(path: Path) -> list[tuple[str, bool]]:
    """(top-level module, imported at module level?) for every absolute import of ``path``."""
    import sys

    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in PACKAGES and top != "__future__":
                found.append((top, id(node) in top_level))
    return found


def test_the_engine_imports_numpy_only_and_the_conformance_package_hypothesis() -> None:
    bad = []
    for name, path in repo_modules().items():
        if not _under(name, "nnref"):
            continue
        allowed = ENGINE_THIRD_PARTY["nnref.conformance" if _under(name, "nnref.conformance") else "nnref"]
        bad += [f"{name} -> {top}" for top, _ in _third_party(path) if top not in allowed]
    assert bad == []


def test_only_the_command_line_enters_the_conformance_package_and_lazily() -> None:
    # `import nnref` must not pull in hypothesis: outside nnref.conformance, only
    # nnref.__main__ may import it, and only inside a function (for `conform`).
    outside = {m: ts for m, ts in GRAPH.items() if _under(m, "nnref") and not _under(m, "nnref.conformance")}
    users = sorted(m for m, ts in outside.items() if any(_under(t, "nnref.conformance") for t in ts))
    assert users == ["nnref.__main__"]
    tree = ast.parse((ROOT / "nnref" / "__main__.py").read_text())
    assert not [n for n in tree.body if isinstance(n, ast.ImportFrom) and "conformance" in (n.module or "")]


def test_the_import_rule_reads_function_level_imports(tmp_path: Path) -> None:
    # The check above can fail: a lazy `import torch` inside a function is found.
    module = tmp_path / "m.py"
    module.write_text("import numpy\n\ndef f():\n    import torch\n    from hypothesis import given\n")
    assert _third_party(module) == [("numpy", True), ("torch", False), ("hypothesis", False)]
