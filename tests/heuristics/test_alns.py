"""ALNS planner: exact objective, start plan, determinism, operators, budgets, refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.heuristics.alns import ALNSPlanner, _Search, _Solution
from qkdbench.heuristics.saa_greedy import SAAGreedy
from qkdbench.model import Instance, Params, Plan
from qkdbench.testing import feature_instance
from qkdbench.topologies import design_instance, make_instance
from qkdbench.utils.random import check_random_state
from qkdbench.utils.timing import Stopwatch


@pytest.fixture(scope="module")
def fixed_small() -> Instance:
    """The brief's small fixed-charge instance (the greedy is already optimal on it)."""
    return design_instance(
        "nsfnet", 12, max_rate=4, seed=1, fixed_charge_factor=10.0, tightness=0.6, hotspots=2
    )


@pytest.fixture(scope="module")
def fixed_g20() -> Instance:
    """germany50, 20 requests, fixed charges: a greedy plan that ALNS improves on."""
    return design_instance(
        "sndlib/germany50",
        20,
        max_rate=10,
        seed=3,
        fixed_charge_factor=10.0,
        tightness=0.5,
        hotspots=3,
        demand="heavy",
    )


def _routes(state: Any) -> tuple[int, ...]:
    assert all(i is not None for i in state.route)  # a built state routes every request
    return tuple(int(i) for i in state.route)


def _greedy_cost(inst: Instance) -> float:
    return evaluate(inst, get_planner("saa-greedy").plan(inst)).total


def _monotone(log: list[dict[str, float]]) -> bool:
    best = [r["best"] for r in log]
    return all(b <= a for a, b in zip(best, best[1:])) and all(
        r2["evaluations"] >= r1["evaluations"] and r2["seconds"] >= r1["seconds"]
        for r1, r2 in zip(log, log[1:])
    )


def test_fixed_charge_instance_no_worse_than_greedy_with_monotone_trace(
    fixed_small: Instance,
) -> None:
    plan = ALNSPlanner(iterations=40).plan(fixed_small, seed=1)
    cost = evaluate(fixed_small, plan).total
    assert cost <= _greedy_cost(fixed_small)
    log = plan.stats["anytime"]
    assert _monotone(log)
    assert set(log[0]) == {"evaluations", "seconds", "best"}  # the GA's record keys
    assert log[-1]["best"] == pytest.approx(cost, rel=1e-12)
    assert plan.stats["objective"] == pytest.approx(cost, rel=1e-12)
    assert plan.stats["iterations"] == 40 and plan.stats["stop"] == "iterations"
    assert plan.stats["seed"] == 1 and plan.stats["runtime_s"] > 0
    assert log[-1]["evaluations"] == plan.stats["evaluations"]


def test_improves_on_the_greedy_where_the_greedy_is_not_optimal(fixed_g20: Instance) -> None:
    greedy = _greedy_cost(fixed_g20)
    plan = ALNSPlanner(iterations=60).plan(fixed_g20, seed=0)
    cost = evaluate(fixed_g20, plan).total
    assert plan.stats["start_cost"] == pytest.approx(greedy, rel=1e-12)
    assert cost < 0.995 * greedy  # the greedy leaves over 1% here
    assert _monotone(plan.stats["anytime"])
    assert len(plan.stats["anytime"]) >= 3  # start, at least one improvement, end


@pytest.mark.parametrize(
    "inst",
    [
        make_instance("usnet", 30, 10, seed=1, params=Params(W_qkd=45, W_kml=15)),
        make_instance("nsfnet", 10, 6, seed=4),
        feature_instance("providers"),
        feature_instance("link_states"),
    ],
    ids=["usnet-tight", "nsfnet", "providers", "link-states"],
)
def test_never_worse_than_its_start_plan(inst: Instance) -> None:
    start = _greedy_cost(inst)
    plan = ALNSPlanner(iterations=25).plan(inst, seed=3)
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert plan.stats["start_cost"] == pytest.approx(start, rel=1e-12)
    assert ev.total <= start


def test_same_seed_same_plan_with_an_iteration_budget(fixed_g20: Instance) -> None:
    a = ALNSPlanner(iterations=30).plan(fixed_g20, seed=5)
    b = ALNSPlanner(iterations=30).plan(fixed_g20, seed=5)
    assert a.routes == b.routes
    assert a.stats["operators"] == b.stats["operators"]
    assert [(r["evaluations"], r["best"]) for r in a.stats["anytime"]] == [
        (r["evaluations"], r["best"]) for r in b.stats["anytime"]
    ]
    rrt = ALNSPlanner(iterations=20, acceptance="rrt")
    assert rrt.plan(fixed_g20, seed=2).routes == rrt.plan(fixed_g20, seed=2).routes


def test_objective_is_the_evaluators_total_and_the_state_stays_consistent(
    fixed_g20: Instance,
) -> None:
    """Run every destroy/repair pair by hand: cost == evaluate(plan), no phantom users left."""
    state, _ = SAAGreedy().build(fixed_g20)
    planner = ALNSPlanner(polish_passes=0)
    search = _Search(planner, state, Stopwatch(None))
    rng = check_random_state(0)
    F = fixed_g20.n_requests
    sol = _Solution(_routes(state), search.score().cost)
    destroys = [
        search.destroy_random,
        search.destroy_close_link,
        search.destroy_open_link,
        search.destroy_related,
        search.destroy_worst,
    ]
    repairs = [search.repair_greedy, search.repair_random, search.repair_regret]
    for d_op in destroys:
        for r_op in repairs:
            destroyed = d_op(sol, rng)
            assert destroyed.removed
            assert all(search.work.route[f] is None for f in destroyed.removed)
            cand = r_op(destroyed, rng)
            work = search.work
            plan = Plan(fixed_g20.name, "alns", work.routes(fixed_g20), {})
            assert cand.cost == pytest.approx(evaluate(fixed_g20, plan).total, rel=1e-12)
            users = np.zeros_like(work.link_users)
            for f in range(F):
                users[np.unique(work.candidates.arcs[f][cand.route[f]] // 2)] += 1
            assert np.array_equal(work.link_users, users)
            if destroyed.avoid_link is not None:  # close-link: every user left the link
                assert destroyed.removed == tuple(
                    f
                    for f in range(F)
                    if np.any(work.candidates.arcs[f][sol.route[f]] // 2 == destroyed.avoid_link)
                )
            sol = cand


def test_close_link_empties_the_link_and_open_link_pays_nothing_for_it(fixed_g20: Instance) -> None:
    state, _ = SAAGreedy().build(fixed_g20)
    search = _Search(ALNSPlanner(), state, Stopwatch(None))
    sol = _Solution(_routes(state), search.score().cost)
    d = search.destroy_close_link(sol, check_random_state(1))
    assert d.avoid_link is not None and search.work.link_users[d.avoid_link] == 0
    search.repair_greedy(d, check_random_state(1))
    d = search.destroy_open_link(sol, check_random_state(2))
    link = d.open_link
    assert link is not None and search.work.link_users[link] == 1  # the phantom user
    arcs = np.array([2 * link], dtype=np.int64)
    assert search.work.opening_cost(arcs) == 0.0
    search.repair_random(d, check_random_state(2))
    routed = sum(
        (
            int(np.any(search.work.candidates.arcs[f][i] // 2 == link))
            for f, i in enumerate(search.work.route)
            if i is not None
        ),
        0,
    )
    assert search.work.link_users[link] == routed  # the phantom is gone


def test_time_limit_alone_runs_until_the_clock() -> None:
    inst = make_instance("nsfnet", 8, 5, seed=2)
    plan = ALNSPlanner().plan(inst, seed=0, time_limit=1.5)
    assert plan.stats["stop"] == "time_limit"
    assert plan.stats["iterations"] > 0
    assert evaluate(inst, plan).feasible


def test_refuses_what_it_does_not_declare_with_the_packages_error() -> None:
    class Narrow(ALNSPlanner):
        supports = frozenset({"link_prices"})

    with pytest.raises(InputError, match="planner 'alns' does not handle fixed charges"):
        Narrow(iterations=1).plan(feature_instance("fixed_charges"))
    for feature in ("fixed_charges", "link_prices", "link_states", "providers"):
        assert feature in ALNSPlanner.supports


def test_bad_parameters_are_refused() -> None:
    inst = make_instance("nsfnet", 3, 3, seed=1)
    with pytest.raises(InputError, match="acceptance"):
        ALNSPlanner(acceptance="greedy").plan(inst)
    with pytest.raises(InputError, match="end_gap"):
        ALNSPlanner(start_gap=0.001, end_gap=0.01).plan(inst)
    with pytest.raises(InputError, match="iterations"):
        ALNSPlanner(iterations=-1).plan(inst)
