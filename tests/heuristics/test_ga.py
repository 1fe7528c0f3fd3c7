"""DEAP GA: anytime log, reproducibility, batch fitness, repair, stopping rules."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import BatchScores, PlanArrays, evaluate, evaluate_batch
from qkdbench.exceptions import InputError
from qkdbench.heuristics import ga as ga_module
from qkdbench.heuristics import get_planner
from qkdbench.heuristics.ga import GeneticPlanner, GenomeDecoder
from qkdbench.heuristics.saa_greedy import SAAGreedy
from qkdbench.model import Instance, Params, Plan
from qkdbench.topologies import make_instance


@pytest.fixture(scope="module")
def tight() -> Instance:
    """USNET, 40 requests, reservation capacity scarce enough that routes compete."""
    return make_instance("usnet", 40, 10, seed=1, params=Params(W_qkd=45, W_kml=15))


def test_anytime_log_is_non_increasing_and_ends_at_the_returned_cost(tight: Instance) -> None:
    plan = GeneticPlanner(seeds=("coqbn",), generations=60).plan(tight, seed=3)
    log = plan.stats["anytime"]
    best = [r["best"] for r in log]
    assert len(log) >= 3  # the GA improved on its seed
    assert all(b2 <= b1 for b1, b2 in itertools.pairwise(best))
    assert all(
        r2["evaluations"] >= r1["evaluations"] and r2["seconds"] >= r1["seconds"]
        for r1, r2 in itertools.pairwise(log)
    )
    assert best[-1] == pytest.approx(evaluate(tight, plan).total, rel=1e-12)
    assert log[-1]["evaluations"] == plan.stats["evaluations"]
    hof = plan.stats["hall_of_fame"]
    assert hof == sorted(hof)
    assert hof[0] == pytest.approx(best[-1], rel=1e-12)


def test_ga_is_never_above_its_seeds_and_improves_on_coqbn(tight: Instance) -> None:
    co = evaluate(tight, get_planner("coqbn").plan(tight)).total
    greedy = evaluate(tight, get_planner("saa-greedy").plan(tight)).total
    full = evaluate(tight, GeneticPlanner(generations=40).plan(tight, seed=1)).total
    assert full <= greedy <= co
    from_co = GeneticPlanner(seeds=("coqbn",), generations=60).plan(tight, seed=1)
    assert from_co.stats["seed_costs"] == {"coqbn": pytest.approx(co, rel=1e-12)}
    assert evaluate(tight, from_co).total < 0.98 * co  # the search itself does the work


def test_same_seed_same_plan_and_global_random_untouched() -> None:
    inst = make_instance("nsfnet", 12, 8, seed=2, params=Params(W_qkd=30, W_kml=10))
    random.seed(123)
    state = random.getstate()
    a = GeneticPlanner(seeds=("coqbn",), generations=25).plan(inst, seed=5)
    assert random.getstate() == state
    b = GeneticPlanner(seeds=("coqbn",), generations=25).plan(inst, seed=5)
    assert a.routes == b.routes
    assert a.stats["anytime"][-1]["best"] == b.stats["anytime"][-1]["best"]
    assert [r["evaluations"] for r in a.stats["anytime"]] == [
        r["evaluations"] for r in b.stats["anytime"]
    ]


def test_a_count_budget_gives_the_same_plan_whatever_the_non_binding_time_limit() -> None:
    """docs/planners.md: bound the GA by generations, not by the clock, for repeatable plans."""
    inst = make_instance("nsfnet", 12, 8, seed=2, params=Params(W_qkd=30, W_kml=10))
    ga = GeneticPlanner(seeds=("coqbn",), generations=12, stagnation=1000)
    free = ga.plan(inst, seed=5)
    capped = ga.plan(inst, seed=5, time_limit=3600.0)  # a safety net that does not bind
    assert free.stats["stop"] == capped.stats["stop"] == "generations"
    assert free.routes == capped.routes
    assert free.stats["evaluations"] == capped.stats["evaluations"]


def test_fitness_is_one_batch_call_per_generation(
    tight: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = []

    def spy(instance: Instance, plans: Sequence[Plan | PlanArrays]) -> BatchScores:
        res = evaluate_batch(instance, plans)
        sizes.append(res.total.size)
        return res

    monkeypatch.setattr(ga_module, "evaluate_batch", spy)
    plan = GeneticPlanner(population=30, generations=5, stagnation=100, polish=False).plan(
        tight, seed=2
    )
    assert plan.stats["generations"] == 5
    assert sizes[0] == 2  # the CO-QBN and greedy plans themselves
    assert sizes[1] == 30  # the initial population in one call
    assert len(sizes) == 2 + 5  # then one call per generation
    assert all(1 <= s <= 28 for s in sizes[2:])
    assert sum(sizes) == plan.stats["evaluations"]


def test_repair_makes_every_genome_feasible(tight: Instance) -> None:
    state = SAAGreedy().prepare(tight)
    dec = GenomeDecoder(tight, state, levels=4)
    rng = np.random.default_rng(0)
    F = tight.n_requests
    genomes = [
        [int(rng.integers(n)) for n in dec.n_candidates] + [int(rng.integers(4)) for _ in range(F)]
        for _ in range(20)
    ]
    genomes.append([0] * F + [0] * F)  # level 0: reserve nothing
    batch = dec.decode(genomes)
    res = evaluate_batch(tight, batch)
    assert np.all(res.feasible)
    assert np.all(res.excess == 0)
    last = batch.plan(len(genomes) - 1)
    assert not last.yr.any()
    assert not last.zr.any()
    # full levels on the greedy's routes reproduce the greedy's cost
    greedy_state, _ = SAAGreedy().build(tight)
    g = dec.decode([dec.greedy_genome(greedy_state)])
    greedy = get_planner("saa-greedy").plan(tight)
    assert evaluate_batch(tight, g).total[0] == pytest.approx(
        evaluate(tight, greedy).total, rel=1e-12
    )


def test_coqbn_genome_is_close_to_coqbn(tight: Instance) -> None:
    state = SAAGreedy().prepare(tight)
    dec = GenomeDecoder(tight, state, levels=5)
    co = get_planner("coqbn").plan(tight)
    genome = dec.genome_of(co)
    assert [state.candidates.paths[f][i] for f, i in enumerate(genome[: tight.n_requests])] == [
        r.path for r in co.routes
    ]
    assert set(genome[tight.n_requests :]) <= set(range(5))


@pytest.mark.parametrize(
    ("kwargs", "limit", "stop"),
    [
        ({"generations": 3, "stagnation": 100}, None, "generations"),
        ({"generations": 500, "stagnation": 4}, None, "stagnation"),
        ({"generations": 500, "stagnation": 500}, 0.0, "time_limit"),
    ],
)
def test_stopping_rules(kwargs: dict[str, Any], limit: float | None, stop: str) -> None:
    inst = make_instance("nsfnet", 10, 6, seed=3)
    plan = GeneticPlanner(**kwargs).plan(inst, seed=1, time_limit=limit)
    assert plan.stats["stop"] == stop
    if stop == "generations":
        assert plan.stats["generations"] == 3
    if stop == "time_limit":
        assert plan.stats["generations"] == 0
    assert evaluate(inst, plan).feasible


def test_bad_parameters_are_clear_errors() -> None:
    inst = make_instance("nsfnet", 3, 3, seed=1)
    with pytest.raises(InputError, match="levels"):
        GeneticPlanner(levels=1).plan(inst)
    with pytest.raises(InputError, match="seeds"):
        GeneticPlanner(seeds=("exact",)).plan(inst)


@pytest.mark.parametrize("time_limit", [0.0, None])
def test_ga_with_any_time_limit_is_never_worse_than_the_greedy(
    tight: Instance, time_limit: float | None
) -> None:
    """Whatever stops it, even before generation 0, the GA keeps its seeds' best."""
    greedy = evaluate(tight, SAAGreedy().plan(tight, time_limit=time_limit)).total
    plan = GeneticPlanner(generations=5).plan(tight, seed=1, time_limit=time_limit)
    cost = evaluate(tight, plan).total
    assert evaluate(tight, plan).feasible
    assert cost <= greedy * (1 + 1e-12)
    assert cost <= min(plan.stats["seed_costs"].values()) * (1 + 1e-12)
    if time_limit == 0.0:
        assert plan.stats["stop"] == "time_limit"
        assert plan.stats["generations"] == 0


@pytest.mark.parametrize("time_limit", [1e-3, 0.05, 0.3])
def test_ga_stopped_by_the_clock_is_never_above_its_seed_costs(
    tight: Instance, time_limit: float
) -> None:
    plan = GeneticPlanner().plan(tight, seed=2, time_limit=time_limit)
    assert evaluate(tight, plan).total <= min(plan.stats["seed_costs"].values()) * (1 + 1e-12)
