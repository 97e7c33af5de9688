"""The layout rules of docs/how-it-works.md that a reader relies on, checked on the source."""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.conftest import REPO

SRC = REPO / "src" / "metacurate"


def _package_imports() -> dict[str, set[str]]:
    """Top-level package -> the other top-level packages it imports (any import, lazy too)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for f in SRC.rglob("*.py"):
        parts = f.relative_to(SRC).parts
        if len(parts) < 2:  # a top-level module (api.py, cli.py, ...): not a package
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("metacurate."):
                other = node.module.split(".")[1]
                if other != parts[0] and (SRC / other).is_dir():
                    edges[parts[0]].add(other)
    return edges


def test_no_import_cycles_between_packages():
    edges = _package_imports()
    seen, stack, cycles = set(), [], []

    def visit(node: str) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node) :] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            visit(nxt)
        stack.pop()

    for pkg in sorted(edges):
        visit(pkg)
    assert not cycles, f"package import cycles: {cycles}"
