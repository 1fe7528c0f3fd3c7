"""The planner registry: built-ins, run-time registration, entry-point plug-ins."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from qkdbench.exceptions import InputError
from qkdbench.heuristics import (
    ENTRY_POINT_GROUP,
    Planner,
    available_planners,
    get_planner,
    register_planner,
    unregister_planner,
)
from qkdbench.model import Instance, Plan
from qkdbench.utils import registry as base


class _Dummy:
    """A dummy planner for the registry tests."""

    name = "test-dummy"

    def __init__(self, knob: int = 1) -> None:
        self.knob = knob

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        raise NotImplementedError


@pytest.fixture
def dummy() -> Iterator[None]:
    register_planner("test-dummy", origin="tests")(_Dummy)
    yield
    unregister_planner("test-dummy")


def test_builtins_are_listed_as_built_in() -> None:
    infos = available_planners()
    for name in ("coqbn", "saa-greedy", "ga", "alns", "exact"):
        assert infos[name].origin == "built-in"
        assert infos[name].summary  # first docstring line
        assert isinstance(get_planner(name), Planner)
    assert "qkdbench.heuristics.saa_greedy" in base.BUILTIN_MODULES
    assert "qkdbench.heuristics.ga" in base.BUILTIN_MODULES
    assert "qkdbench.heuristics.alns" in base.BUILTIN_MODULES


def test_duplicate_name_is_refused(dummy: None) -> None:
    with pytest.raises(InputError, match="'test-dummy' is already registered"):
        register_planner("test-dummy")(_Dummy)
    with pytest.raises(InputError, match="already registered"):
        register_planner("coqbn")(_Dummy)
    assert available_planners()["test-dummy"].factory is _Dummy  # the first one stays


def test_get_planner_builds_fresh_objects_with_params(dummy: None) -> None:
    a = get_planner("test-dummy", knob=5)
    b = get_planner("test-dummy")
    assert isinstance(a, _Dummy) and isinstance(b, _Dummy)
    assert a is not b and a.knob == 5 and b.knob == 1
    assert available_planners()["test-dummy"].summary == "A dummy planner for the registry tests."


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown planner 'nope'.*coqbn"):
        get_planner("nope")


def test_factory_that_is_not_a_planner_is_refused() -> None:
    register_planner("test-notaplanner")(lambda: object())
    try:
        with pytest.raises(TypeError, match="does not provide name and plan"):
            get_planner("test-notaplanner")
    finally:
        unregister_planner("test-notaplanner")


def test_unregister_removes(dummy: None) -> None:
    unregister_planner("test-dummy")
    assert "test-dummy" not in available_planners()


def test_entry_points_are_discovered_and_loaded_lazily(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mod = tmp_path / "fake_qkd_plugin.py"
    mod.write_text(
        "class Fake:\n    '''A fake plug-in.'''\n    name = 'test-fake-ep'\n"
        "    def plan(self, instance, *, seed=None, time_limit=None):\n"
        "        return None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [
        EntryPoint("test-fake-ep", "fake_qkd_plugin:Fake", ENTRY_POINT_GROUP),
        EntryPoint("coqbn", "fake_qkd_plugin:Fake", ENTRY_POINT_GROUP),
    ]
    seen_groups = []

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        seen_groups.append(group)
        return eps

    monkeypatch.setattr(base, "entry_points", fake_entry_points)
    monkeypatch.setattr(base, "_entry_points_loaded", False)
    try:
        infos = available_planners()
        assert seen_groups == ["qkdbench.planners"]
        assert infos["test-fake-ep"].origin == "plug-in"
        assert infos["test-fake-ep"].factory is None  # not imported yet
        assert infos["coqbn"].origin == "built-in"  # a built-in wins a name clash
        planner = get_planner("test-fake-ep")
        assert type(planner).__name__ == "Fake"
        assert available_planners()["test-fake-ep"].summary == "A fake plug-in."
    finally:
        unregister_planner("test-fake-ep")
