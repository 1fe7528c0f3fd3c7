"""Policies as planners: conformance checks, callables, run-time registration."""

from __future__ import annotations

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.heuristics import available_planners, get_planner, unregister_planner
from qkdbench.rl.planners import PolicyPlanner, register_policy
from qkdbench.rl.policies import RandomPolicy
from qkdbench.testing import check_planner
from qkdbench.topologies import make_instance


@pytest.mark.parametrize("name", ["rl-coqbn", "rl-greedy"])
def test_registered_rl_planners_pass_check_planner(name: str) -> None:
    assert name in available_planners()
    check_planner(name)


def test_a_plain_callable_runs_as_a_planner() -> None:
    inst = make_instance("nsfnet", 7, 5, seed=3)
    first_valid = PolicyPlanner(lambda obs, mask: int(np.flatnonzero(mask)[0]), "first", {"k": 2})
    plan = first_valid.plan(inst, seed=0)
    assert plan.planner == "first"
    assert plan.status == "heuristic"
    # the first valid action is slot 0 with nothing reserved: everything on demand
    assert all(set(r.reserve_qkd) == {0} and set(r.reserve_km) == {0} for r in plan.routes)
    assert evaluate(inst, plan).feasible
    assert first_valid.plan(make_instance("nsfnet", 0, 5, seed=3)).routes == ()


def test_register_policy_puts_it_in_the_registry() -> None:
    register_policy("test-rl-random", RandomPolicy(seed=3), {"k": 2})
    try:
        inst = make_instance("cost239", 6, 4, seed=1)
        a = get_planner("test-rl-random").plan(inst, seed=0)
        b = get_planner("test-rl-random").plan(inst, seed=0)
        assert a.routes == b.routes
        assert evaluate(inst, a).feasible
    finally:
        unregister_planner("test-rl-random")
