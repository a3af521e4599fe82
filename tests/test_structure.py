"""The package's shape: no import cycles, modules of a readable size, a README that lists them.

Imports are read from the source (ast), at any depth: an import inside a function is still a
dependency, and a cycle hidden behind one is still a cycle (it only fails later, at run time).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
from conftest import REPO

PACKAGE = REPO / "src" / "llmwiki"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules that `path` imports: `from a.b import c` is a.b.c when that is a
    module, else a.b."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.add(f"{base}.{alias.name}")
                elif base in known:
                    found.add(base)
    found.discard(module_name(path))
    return found


def import_graph() -> nx.DiGraph:
    known = set(modules())
    graph = nx.DiGraph()
    for name, path in modules().items():
        graph.add_node(name)
        graph.add_edges_from((name, target) for target in imports(path, known))
    return graph


def test_the_import_graph_is_read() -> None:
    graph = import_graph()
    assert graph.has_edge("llmwiki.ingest", "llmwiki.vault")
    assert graph.has_edge("llmwiki.engines", "llmwiki.engines.extractive")  # inside a function


def test_there_are_no_import_cycles() -> None:
    cycles = sorted(sorted(c) for c in nx.simple_cycles(import_graph()))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_readme_layout_names_every_module() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.find("\n## ", 4)] if "\n## " in layout[4:] else layout
    listed = set(re.findall(r"`([^`\n]+)`", layout))
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if path.name == "__init__.py":
            rel = rel.removesuffix("__init__.py") or "llmwiki/"
        if rel not in listed and rel != "llmwiki/" and path.name != "__main__.py":
            missing.append(rel)
    assert not missing, f"README's Layout section does not list: {missing}"
