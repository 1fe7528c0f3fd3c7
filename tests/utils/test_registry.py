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
    assert isinstance(a, _Dummy)
    assert isinstance(b, _Dummy)
    assert a is not b
    assert a.knob == 5
    assert b.knob == 1
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


def test_deterministic_declarations_hold_for_two_seeds() -> None:
    """Each planner declaring that the seed changes nothing plans alike for seeds 1 and 2."""
    from qkdbench.evaluation import evaluate
    from qkdbench.topologies import design_instance

    inst = design_instance("nsfnet", 6, max_rate=4, seed=3, fixed_charge_factor=3.0)
    declared = [n for n in available_planners() if base.is_deterministic(n)]
    expected = {"coqbn", "saa-greedy", "exact", "exact-extensive", "lagrangian"}
    expected |= {"column-generation", "rl-coqbn", "rl-greedy"}
    assert expected <= set(declared)
    assert not {"ga", "alns"} & set(declared)
    for name in sorted(expected - {"rl-coqbn", "rl-greedy"}):  # the rl-* refuse fixed charges
        a, b = (get_planner(name).plan(inst, seed=s) for s in (1, 2))
        assert a.routes == b.routes, name
        assert evaluate(inst, a).total == evaluate(inst, b).total


def test_deterministic_follows_the_parameters(dummy: None) -> None:
    assert not base.is_deterministic("ga")
    assert not base.is_deterministic("test-dummy")  # declares nothing: stochastic
    assert not base.is_deterministic("saa-greedy", {"n_scenarios": 20})
    assert base.is_deterministic("exact", {"warm_start": "coqbn"})
    assert not base.is_deterministic("exact", {"warm_start": "ga"})
    assert not base.is_deterministic("no-such-planner")
    assert not base.is_deterministic("coqbn", {"no_such_knob": 1})
    # a sampling greedy does depend on its seed: the declaration is not vacuous
    from qkdbench.topologies import make_instance

    inst = make_instance("nsfnet", 6, 5, seed=1)
    p = get_planner("saa-greedy", n_scenarios=5)
    plans = {p.plan(inst, seed=s).routes for s in range(6)}
    assert len(plans) > 1
