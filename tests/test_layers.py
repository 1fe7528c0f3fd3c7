"""The package's layers import downward only.

``model`` -> ``evaluation`` -> ``heuristics`` / ``exact`` -> ``experiments`` -> ``cli``.
``exact`` may use the planner registry (``heuristics.base``) to register itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import qkdbench

ROOT = Path(qkdbench.__file__).parent
RANK = {"model": 0, "topologies": 1, "evaluation": 1, "heuristics": 2, "exact": 2,
        "testing": 3, "experiments": 3, "cli": 4}
ALLOWED_SIDEWAYS = {("exact", "heuristics.base"), ("exact", "heuristics.coqbn"),
                    ("exact", "heuristics"), ("heuristics", "exact"),
                    ("evaluation", "topologies"), ("topologies", "evaluation")}


def _layer(module: str) -> str:
    return module.split(".")[0]


def _imports(path: Path) -> set[str]:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    pkg = parts if path.name == "__init__.py" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("qkdbench."):
                mod = node.module[len("qkdbench."):]
            else:
                continue
            if mod:
                found.add(mod)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qkdbench."):
                    found.add(alias.name[len("qkdbench."):])
    return found


def test_layers_import_downward():
    wrong = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("__init__.py", "__main__.py"):
            continue
        me = _layer(".".join(rel.with_suffix("").parts))
        if me not in RANK:
            continue
        for mod in _imports(path):
            other = _layer(mod)
            if other == me or other not in RANK:
                continue
            if RANK[other] > RANK[me] or (RANK[other] == RANK[me] and
                                          (me, mod) not in ALLOWED_SIDEWAYS and
                                          (me, other) not in ALLOWED_SIDEWAYS):
                wrong.append(f"{rel} imports {mod}")
    assert wrong == []


def test_model_imports_nothing_of_the_package():
    assert _imports(ROOT / "model.py") == set()
