"""``qkdbench.rl`` sits beside heuristics/exact: it imports only lower layers, and only the
command line imports it (the planner registry loads it by name)."""

from __future__ import annotations

import ast
from pathlib import Path

import qkdbench

ROOT = Path(qkdbench.__file__).parent
ALLOWED = {"model", "evaluation", "heuristics", "topologies", "rl"}


def _qkdbench_imports(path: Path) -> set[str]:
    rel = path.relative_to(ROOT).with_suffix("")
    pkg = list(rel.parts if path.name == "__init__.py" else rel.parts[:-1])
    if path.name == "__init__.py":
        pkg = pkg[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module and node.module.startswith("qkdbench"):
                found.add(node.module.removeprefix("qkdbench").lstrip("."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("qkdbench").lstrip(".") for a in node.names
                      if a.name.startswith("qkdbench")}
    return {m for m in found if m}


def test_rl_imports_only_lower_layers():
    wrong = [f"{p.relative_to(ROOT)} imports {m}" for p in (ROOT / "rl").rglob("*.py")
             for m in _qkdbench_imports(p) if m.split(".")[0] not in ALLOWED]
    assert wrong == []


def test_only_the_cli_imports_rl():
    users = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                   if p.relative_to(ROOT).parts[0] != "rl"
                   and any(m.split(".")[0] == "rl" for m in _qkdbench_imports(p)))
    assert users == ["cli.py"]
