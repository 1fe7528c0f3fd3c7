"""check_planner: every built-in planner passes; broken planners fail the right check."""

from __future__ import annotations

import time

import pytest

from qkdbench.heuristics import get_planner
from qkdbench.model import Instance, Plan, Route
from qkdbench.testing import CHECKS, PlannerCheckError, check_planner, planner_checks


@pytest.mark.parametrize(
    "name", ["coqbn", "saa-greedy", "ga", "alns", "exact", "column-generation"]
)
def test_builtin_planners_pass(name: str) -> None:
    done = check_planner(name)
    assert list(done) == list(CHECKS)


def test_sampling_greedy_passes() -> None:
    check_planner("saa-greedy", params={"n_scenarios": 25}, checks=["valid_plans", "deterministic"])


class _Base:
    name = "test-broken"

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        return get_planner("coqbn").plan(instance).with_stats(status="heuristic")


class _Mutates(_Base):
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        u, v = next(iter(instance.graph.edges))
        instance.graph.edges[u, v]["length_km"] += 1.0
        return super().plan(instance)


class _Unseeded(_Base):
    calls = 0

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        type(self).calls += 1
        plan = super().plan(instance)
        r = plan.routes[0]
        bump = Route(
            r.request_id,
            r.path,
            tuple(max(0, q - self.calls % 2) for q in r.reserve_qkd),
            r.reserve_km,
        )
        return Plan(plan.instance_name, plan.planner, (bump,) + plan.routes[1:], plan.stats)


class _Slow(_Base):
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        time.sleep(0.6)
        return super().plan(instance)


class _OverCapacity(_Base):
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        plan = super().plan(instance)
        routes = tuple(
            Route(r.request_id, r.path, tuple(10**6 for _ in r.reserve_qkd), r.reserve_km)
            for r in plan.routes
        )
        return Plan(plan.instance_name, plan.planner, routes, plan.stats)


class _Backwards(_Base):
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        plan = super().plan(instance)
        routes = tuple(
            Route(r.request_id, r.path[::-1], r.reserve_qkd[::-1], r.reserve_km[::-1])
            for r in plan.routes
        )
        return Plan(plan.instance_name, plan.planner, routes, plan.stats)


class _Unserialisable(_Base):
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        return super().plan(instance).with_stats(extra={1, 2})


class _CrashesWhenEmpty(_Base):
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        if not instance.requests:
            raise IndexError("list index out of range")
        return super().plan(instance)


class _Nameless:
    name = ""

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> None:
        return None


@pytest.mark.parametrize(
    "planner, check, match",
    [
        (_Mutates, "no_mutation", "graph changed"),
        (_Unseeded, "deterministic", "different plans"),
        (_OverCapacity, "valid_plans", "infeasible plan.*capacity"),
        (_Backwards, "valid_plans", "invalid plan.*source"),
        (_Unserialisable, "valid_plans", "JSON"),
        (_CrashesWhenEmpty, "edge_cases", "zero requests: IndexError"),
        (_Nameless, "protocol", "non-empty string"),
    ],
)
def test_broken_planners_fail_the_named_check(planner: type, check: str, match: str) -> None:
    with pytest.raises(PlannerCheckError, match=match) as err:
        check_planner(planner)
    assert err.value.check == check


def test_slow_planner_fails_the_time_limit() -> None:
    with pytest.raises(PlannerCheckError, match=r"took .* time_limit=0.1") as err:
        check_planner(
            _Slow, checks=["time_limit"], time_limit=0.1, time_factor=1.0, time_margin=0.2
        )
    assert err.value.check == "time_limit"


def test_planner_object_and_subset_of_checks() -> None:
    done = check_planner(get_planner("coqbn"), checks=["protocol", "roundtrip"])
    assert list(done) == ["protocol", "roundtrip"]


def test_planner_checks_yields_each_check_and_rejects_unknown_ones() -> None:
    names = [name for name, _ in planner_checks("coqbn")]
    assert names == list(CHECKS)
    with pytest.raises(KeyError, match="unknown check 'speed'"):
        list(planner_checks("coqbn", checks=["speed"]))
