"""The layer rules of docs/how-it-works.md, checked on the source with ``ast``.

Every import counts: at module level and inside functions (lazy), under ``TYPE_CHECKING``,
``import a.b`` and ``from a import b``, relative imports, and a string naming one of our
modules (what ``importlib.import_module`` is handed). A *unit* is a top-level package
(``match/``) or a top-level module (``config.py``); ``metacurate/__init__.py`` is ``__init__``.

- units form a DAG;
- ``engine/`` and ``storage/`` reach (directly or through others) only the base units below;
- no module imports a private name (``_x``) of another module, or a private module of another
  package (``kernel/_native`` is the kernel package's own);
- no modules import each other (no module-level cycle at all).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

SRC = REPO / "src" / "metacurate"

#: What ``engine/`` and ``storage/`` may reach: no stage (match, balance, count, outputs,
#: report, extract, online, download, metadata, pool, ...). The driver hands an engine what to
#: run and what to preload.
BASE = {"engine", "storage", "config", "options", "errors", "files", "startup", "_version"}

_MODULE_NAME = re.compile(r"metacurate(\.[A-Za-z_]\w*)+")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (the nearest one of ours)
    name: str | None  # the name taken from it (``from target import name``), if not a module
    line: int

    def where(self) -> str:
        name = f".{self.name}" if self.name else ""
        return f"{self.source}:{self.line} -> {self.target}{name}"


def module_files(src: Path) -> dict[str, Path]:
    """``metacurate.a.b`` -> its file, for every module under ``src`` (``.../metacurate``)."""
    out = {}
    for f in sorted(src.rglob("*.py")):
        parts = list(f.relative_to(src.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _nearest(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, text: str, modules: dict[str, Path], is_package: bool) -> list[Import]:
    """Every import of one of our modules by ``module`` (whose source is ``text``)."""
    out: list[Import] = []
    aliases: dict[str, str] = {}  # a local name bound to one of our modules

    def add(target: str, name: str | None, line: int) -> None:
        near = _nearest(target, modules)
        if near is None:
            return
        if near != target:  # ``import a.b.c`` where c is a name: take the module
            name = None
        if near != module:
            out.append(Import(module, near, name, line))

    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "metacurate" or a.name.startswith("metacurate."):
                    add(a.name, None, node.lineno)
                    if a.asname:
                        aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == "metacurate" or target.startswith("metacurate.")):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in modules:
                    add(sub, None, node.lineno)
                    aliases[a.asname or a.name] = sub
                else:
                    add(target, None if a.name == "*" else a.name, node.lineno)
        elif (  # a dynamic import (importlib), unless of its own package (resources)
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _MODULE_NAME.fullmatch(node.value)
            and node.value in modules
            and not module.startswith(node.value + ".")
        ):
            add(node.value, None, node.lineno)
    for node in ast.walk(tree):  # ``mod._private`` through a module bound to a local name
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and aliases[node.value.id] != module
            and _private(node.attr)
        ):
            out.append(Import(module, aliases[node.value.id], node.attr, node.lineno))
    return out


def all_imports(src: Path = SRC) -> list[Import]:
    modules = module_files(src)
    found = []
    for name, f in modules.items():
        found += imports_of(name, f.read_text(), modules, f.name == "__init__.py")
    return found


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def package_cycles(imports: list[Import]) -> list[str]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        if unit(i.source) != unit(i.target):
            graph[unit(i.source)].add(unit(i.target))
    out = []
    for part in cycles(graph):
        inside = [i.where() for i in imports if {unit(i.source), unit(i.target)} <= set(part)]
        out.append(f"{part}: " + "; ".join(w for w in inside if _crosses(w)))
    return out


def _crosses(where: str) -> bool:
    src, _, dst = where.partition(" -> ")
    return unit(src.partition(":")[0]) != unit(dst)


def layer_leaks(imports: list[Import], units: tuple[str, ...] = ("engine", "storage")) -> list[str]:
    """Each way ``units`` reach a unit outside :data:`BASE`, as a chain of imports."""
    by_unit: dict[str, list[Import]] = defaultdict(list)
    for i in imports:
        if unit(i.source) != unit(i.target):
            by_unit[unit(i.source)].append(i)
    leaks = []
    for start in units:
        seen, queue = {start: []}, [start]
        while queue:
            u = queue.pop(0)
            for i in by_unit.get(u, ()):
                v = unit(i.target)
                if v in seen:
                    continue
                seen[v] = seen[u] + [i.where()]
                if v in BASE:
                    queue.append(v)
                else:
                    leaks.append(f"{start} reaches {v}: " + " then ".join(seen[v]))
    return leaks


def private_imports(imports: list[Import], modules: dict[str, Path]) -> list[str]:
    bad = []
    for i in imports:
        if i.name is not None and _private(i.name):
            bad.append(i.where())
        last = i.target.rpartition(".")[2]
        owner = i.target.rpartition(".")[0]
        if _private(last) and not (i.source == owner or i.source.startswith(owner + ".")):
            bad.append(i.where() + " (a private module of another package)")
    return sorted(set(bad))


def module_cycles(imports: list[Import]) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        graph[i.source].add(i.target)
    return cycles(graph)


# --- the rules, on the tree -----------------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


def test_packages_form_a_dag(imports):
    assert not package_cycles(imports), "import cycles between packages:\n" + "\n".join(
        package_cycles(imports)
    )


def test_engine_and_storage_import_no_stage(imports):
    leaks = layer_leaks(imports)
    assert not leaks, "engine/ or storage/ reach a stage:\n" + "\n".join(leaks)


def test_no_private_names_across_modules(imports):
    bad = private_imports(imports, module_files(SRC))
    assert not bad, "private names imported from another module:\n" + "\n".join(bad)


#: The compiled modules, as ``kernel/__init__.py`` names them.
COMPILED = {"native", "worldwide", "htmlscan"}


def test_only_the_kernel_wrapper_calls_the_compiled_modules(imports):
    """``kernel/calls.py``: one typed function per entry point, the error mapping around it."""
    allowed = {"metacurate.kernel", "metacurate.kernel.calls"}
    bad = [
        i.where()
        for i in imports
        if i.source not in allowed
        and (
            (i.target == "metacurate.kernel" and i.name in COMPILED)
            or i.target.rpartition(".")[2] in {f"_{n}" for n in COMPILED}
        )
    ]
    assert not bad, "compiled kernels called around kernel/calls.py:\n" + "\n".join(bad)


def test_no_modules_import_each_other(imports):
    assert not module_cycles(imports), f"modules importing each other: {module_cycles(imports)}"


# --- the checker sees every kind of import ---------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "metacurate"
    for rel, text in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for d in [src, *[p for p in src.rglob("*") if p.is_dir()]]:
        (d / "__init__.py").touch()
    return src


def test_the_checker_counts_lazy_relative_dotted_and_dynamic_imports(tmp_path):
    src = _tree(
        tmp_path,
        {
            "engine/local.py": "def warm():\n    import metacurate.match.task\n",
            "match/task.py": "from ..balance import rule\n",
            "balance/rule.py": "from . import keyed\nfrom metacurate.engine.local import warm\n",
            "balance/keyed.py": "X = 'metacurate.report.html'\n",
            "report/html.py": "",
        },
    )
    got = {i.where() for i in all_imports(src)}
    assert got == {
        "metacurate.engine.local:2 -> metacurate.match.task",
        "metacurate.match.task:1 -> metacurate.balance.rule",
        "metacurate.balance.rule:1 -> metacurate.balance.keyed",
        "metacurate.balance.rule:2 -> metacurate.engine.local.warm",
        "metacurate.balance.keyed:1 -> metacurate.report.html",
    }
    found = all_imports(src)
    assert package_cycles(found) and layer_leaks(found)
    assert module_cycles(found) == [
        ["metacurate.balance.rule", "metacurate.engine.local", "metacurate.match.task"]
    ]


def test_the_checker_finds_private_names_and_modules(tmp_path):
    src = _tree(
        tmp_path,
        {
            "kernel/_native.py": "",
            "kernel/tables.py": "from metacurate.kernel import _native\n",
            "match/matcher.py": "def _helper(): pass\n",
            "match/other.py": (
                "from metacurate.match.matcher import _helper\n"
                "from metacurate.match import matcher\nmatcher._helper()\n"
                "from metacurate.kernel import _native\nfrom metacurate import __version__\n"
            ),
        },
    )
    assert private_imports(all_imports(src), module_files(src)) == [
        "metacurate.match.other:1 -> metacurate.match.matcher._helper",
        "metacurate.match.other:3 -> metacurate.match.matcher._helper",
        "metacurate.match.other:4 -> metacurate.kernel._native (a private module of another "
        "package)",
    ]
