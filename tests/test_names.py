"""Names in code and text: dotted references resolve, extensions go by their features.

The changelog is left out: it records names as they were.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Text that speaks of the package: its modules, the docs, the README and CONTRIBUTING.
TEXT_FILES = sorted(
    [*(ROOT / "qkdbench").rglob("*.py"), *(ROOT / "docs").glob("*.md")]
    + [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
)
#: Dotted names that are not Python objects: the entry-point group of plug-in planners.
NOT_OBJECTS = {"qkdbench.planners"}
DOTTED = re.compile(r"(?<![\w/.])(qkdbench(?:\.\w+)+)")


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            fields = getattr(obj, "__dataclass_fields__", {})
            if attr in fields:  # a dataclass field without a class-level default
                return attr == parts[-1]
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _dotted_names() -> list[tuple[str, str]]:
    found = set()
    for path in TEXT_FILES:
        for m in DOTTED.finditer(path.read_text(encoding="utf-8")):
            name = m.group(1)
            if name not in NOT_OBJECTS and not name.endswith((".py", ".json", ".md")):
                found.add((path.relative_to(ROOT).as_posix(), name))
    return sorted(found)


def test_dotted_names_were_found() -> None:
    names = {name for _, name in _dotted_names()}
    assert "qkdbench.exact.lagrangian" in names
    assert "qkdbench.planning.shortest_paths" in names


def test_every_dotted_name_in_the_text_resolves() -> None:
    assert [f"{where}: {name}" for where, name in _dotted_names() if not _resolves(name)] == []


def test_the_resolver_rejects_a_moved_name() -> None:
    assert not _resolves("qkdbench.exact.lagrangian.no_such_function")
    assert not _resolves("qkdbench.rl.no_such_module")


def test_extensions_are_named_by_their_features_not_by_labels() -> None:
    label = re.compile(r"\b[Xx][1-4]\b|\bx\d{2,3}_|\bextension X")
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in TEXT_FILES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if label.search(line)
    ]
    assert hits == []


def test_former_key_management_names_are_aliases() -> None:
    from qkdbench.evaluation import cost_curves
    from qkdbench.exact.lagrangian import lagrangian_bound, lagrangian_value
    from qkdbench.model import KM_WAVELENGTHS_PER_LINK, KML_WAVELENGTHS_PER_LINK
    from qkdbench.testing import check_instances

    assert KM_WAVELENGTHS_PER_LINK == KML_WAVELENGTHS_PER_LINK == 1
    inst = next(i for i in check_instances() if i.n_requests > 0)
    curves = cost_curves(inst, np.array([0]), np.array([0]))
    assert curves.km is curves.kml
    res = lagrangian_bound(inst, iterations=2)
    assert res.lam_km is res.lam_kml
    point = lagrangian_value(inst)
    assert point.usage_km is point.usage_kml
    assert point.subgradient_km is point.subgradient_kml


def test_the_planners_docs_list_for_coupled_instances_is_the_registrys() -> None:
    """docs/model.md names the planners that handle coupled instances in one list."""
    from qkdbench.utils.registry import available_planners, planner_supports

    lines = (ROOT / "docs" / "model.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("**Planners that handle"))
    body = lines[start + 1 :]
    first = next(i for i, line in enumerate(body) if line.startswith("- "))
    listed = set()
    for line in body[first:]:
        if not line.startswith(("- ", "  ")):
            break
        if line.startswith("- "):
            listed.add(re.match(r"- `([^`]+)`", line).group(1))  # type: ignore[union-attr]
    registered = {
        name
        for name, info in available_planners().items()
        if info.origin == "built-in" and "coupled" in planner_supports(info.factory)
    }
    assert listed == registered
