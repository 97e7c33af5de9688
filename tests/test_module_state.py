"""No module-level mutable state (CONTRIBUTING.md), checked on the source with ``ast``.

Flagged: a module-level name bound to an empty container (``{}``, ``[]``, ``dict()``,
``set()``, ``list()``, ``defaultdict(...)``: a registry or a cache filled later), to a
``threading`` object (``Event()``, ``Lock()``), and any ``global`` statement. A memoized
function (``functools.cache``) is the way to keep what a process computes once.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SRC = REPO / "src" / "metacurate"

#: Each exception, with why it stays.
ALLOWED = {
    # the language matchers of a layout, memory-mapped once per worker process: the key is
    # hashable but the metadata handed to the first call is not (functools.cache needs both)
    "match/worldwide_run.py:_MATCHERS",
}

#: calls that make an empty container when given no arguments (``defaultdict`` always does)
_EMPTY_CALLS = {"dict", "set", "list", "OrderedDict", "deque"}


def _mutable(value: ast.expr) -> bool:
    if isinstance(value, ast.Dict):
        return not value.keys
    if isinstance(value, ast.List | ast.Set):
        return not value.elts
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        base = (
            func.value.id
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            else ""
        )
        return (
            (name in _EMPTY_CALLS and not value.args)
            or name == "defaultdict"
            or base == "threading"
        )
    return False


def module_state(src: Path) -> list[str]:
    """``file:name`` of each module-level mutable binding, ``file:line global`` of each
    ``global`` statement."""
    found = []
    for f in sorted(src.rglob("*.py")):
        rel = f.relative_to(src).as_posix()
        tree = ast.parse(f.read_text(), str(f))
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign) and node.value
                else []
            )
            value = getattr(node, "value", None)
            if value is not None and _mutable(value):
                found += [f"{rel}:{t.id}" for t in targets if isinstance(t, ast.Name)]
        found += [f"{rel}:{n.lineno} global" for n in ast.walk(tree) if isinstance(n, ast.Global)]
    return found


def test_no_module_level_mutable_state():
    assert sorted(set(module_state(SRC)) - ALLOWED) == []


def test_the_checker_sees_caches_events_and_globals(tmp_path):
    (tmp_path / "m.py").write_text(
        "import threading\nfrom collections import defaultdict\n"
        "A = {}\nB: dict[str, int] = {}\nC = threading.Event()\nD = defaultdict(list)\n"
        "E = {'x': 1}\nF = (1, 2)\nG = frozenset()\n__all__ = ['A']\n"
        "def f():\n    global A\n    A = 1\n"
    )
    assert module_state(tmp_path) == ["m.py:A", "m.py:B", "m.py:C", "m.py:D", "m.py:12 global"]
