"""The package's layers import downward only, and no module imports itself in a cycle.

``exceptions`` -> ``utils`` -> ``model`` -> ``io`` -> ``evaluation`` / ``topologies`` ->
``planning`` -> ``heuristics`` / ``exact`` / ``rl`` -> ``testing`` / ``experiments`` -> ``library``
-> ``cli``.
Packages of one rank do not import each other. Imports under ``if TYPE_CHECKING:`` are
for type checkers only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

import qkdbench

ROOT = Path(qkdbench.__file__).parent
RANK = {
    "exceptions": 0,
    "utils": 1,
    "model": 2,
    "io": 3,
    "evaluation": 4,
    "topologies": 4,
    "planning": 5,
    "heuristics": 6,
    "exact": 6,
    "rl": 6,
    "testing": 7,
    "experiments": 7,
    "library": 8,
    "cli": 9,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports (relative to the package, dotted)."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    pkg = parts[:-1]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [] if node.module else [a.name for a in node.names]
            elif node.module and node.module.startswith("qkdbench."):
                mod = node.module[len("qkdbench.") :]
                names = []
            elif node.module == "qkdbench":
                mod, names = "", [a.name for a in node.names]
            else:
                continue
            if names:  # `from . import kernels`: the submodules themselves
                found.update(f"{mod}.{n}" if mod else n for n in names)
            elif mod:
                found.add(mod)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qkdbench."):
                    found.add(alias.name[len("qkdbench.") :])
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def test_every_top_level_module_has_a_rank() -> None:
    tops = {name.split(".")[0] for name in _modules() if name and name != "__main__"}
    assert tops <= set(RANK), sorted(tops - set(RANK))


def test_layers_import_downward() -> None:
    wrong = []
    for name, path in _modules().items():
        if not name or name == "__main__":
            continue
        me = name.split(".")[0]
        for mod in _imports(path):
            other = mod.split(".")[0]
            if other == me or other not in RANK:
                continue
            if RANK[other] >= RANK[me]:
                wrong.append(f"{name} imports {mod}")
    assert wrong == []


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for mod in _imports(path):
            # `from .x import y` may name a submodule x.y or an object y of x
            target = mod if mod in modules else mod.rsplit(".", 1)[0]
            if target in modules and target != name:
                graph.add_edge(name, target)
    # a package's __init__ importing its own submodules is how packages work; a cycle
    # between two modules (or through a package) is not
    cycles = [
        c
        for c in nx.simple_cycles(graph)
        if not all(n == c[0] or n.startswith(c[0] + ".") for n in c)
        and not any(all(m == n or m.startswith(n + ".") for m in c) for n in c)
    ]
    assert cycles == []


def _model_files() -> list[Path]:
    files = sorted((ROOT / "model").glob("*.py"))
    assert files, "the model package has modules"
    return files


def test_model_imports_only_the_exceptions() -> None:
    """And the one checked number reader, which itself imports only the exceptions."""
    for path in _model_files():
        outside = {m for m in _imports(path) if m.split(".")[0] != "model"}
        assert outside <= {"exceptions", "utils.numbers"}, path.name
    assert _imports(ROOT / "utils" / "numbers.py") <= {"exceptions"}


def test_model_has_no_cost_arithmetic_and_no_file_io() -> None:
    for path in _model_files():
        text = path.read_text()
        for needle in ("open(", "json.", "c_y", "c_z", "coef_y", "costs.matrix() @"):
            assert needle not in text, (path.name, needle)
