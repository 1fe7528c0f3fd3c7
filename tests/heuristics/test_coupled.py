"""The greedy and the GA on a coupled second stage (on-demand caps, joint scenarios).

Independent truths: brute force over every plan of the tiniest instances
(:mod:`tests.heuristics.coupled_brute`, scored by ``evaluate_batch``), the evaluator's
score of every plan, CO-QBN's plan, and the plan made from the marginals alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qkdbench.evaluation import decode_plan, evaluate
from qkdbench.heuristics import get_planner
from qkdbench.heuristics.ga import GenomeDecoder
from qkdbench.heuristics.saa_greedy import SAAGreedy, sampled_instance
from qkdbench.model import Demand, Instance, Plan, Scenarios
from qkdbench.planning.coupled import marginal_instance
from qkdbench.planning.coupled_greedy import CoupledState
from qkdbench.testing import check_planner
from qkdbench.testing.correlated import correlated_instance
from qkdbench.testing.instances import coupled_instance, link_kinds_and_providers_instance
from qkdbench.utils.random import check_random_state

from .coupled_brute import brute_force

#: Greedy and GA against brute force on the tiniest instances: measured 0 on all 46
#: instances with 2-4 requests and 3-4 scenarios (seeds 0-7 with 2 and 3 requests,
#: seeds 0-29 with 4 requests and 4 scenarios); the bound leaves room for rounding.
BRUTE_GAP = 1e-9
GA_PARAMS = {"generations": 40, "stagnation": 20}


def _cost(inst: Instance, plan: Plan) -> float:
    ev = evaluate(inst, plan)
    assert ev.feasible, ev.violations
    return ev.total


@pytest.mark.parametrize("seed", range(12))
def test_greedy_plan_is_feasible_scored_and_no_dearer_than_coqbn(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=3 + seed % 4, n_scenarios=4, link_states=seed % 2 == 1)
    assert "coupled" in inst.features
    greedy = SAAGreedy()
    state, _ = greedy.build(inst)
    assert isinstance(state, CoupledState)
    plan = greedy.plan(inst)
    cost = _cost(inst, plan)
    assert state.model_cost() == pytest.approx(cost, rel=1e-12)
    assert plan.stats["status"] == "heuristic"
    assert cost <= _cost(inst, get_planner("coqbn").plan(inst)) * (1 + 1e-12)
    again = greedy.plan(inst)
    assert again.routes == plan.routes  # same instance, same plan


@pytest.mark.parametrize(("seed", "n"), [(s, n) for s in range(6) for n in (2, 3)])
def test_greedy_and_ga_reach_the_brute_force_optimum(seed: int, n: int) -> None:
    inst = coupled_instance(seed, n_requests=n, n_scenarios=3, link_states=seed % 2 == 1)
    best, brute_plan = brute_force(inst)
    assert _cost(inst, brute_plan) == pytest.approx(best, rel=1e-12)
    greedy = _cost(inst, SAAGreedy().plan(inst))
    assert best <= greedy * (1 + 1e-12)
    assert greedy <= best * (1 + BRUTE_GAP)
    ga = _cost(inst, get_planner("ga", **GA_PARAMS).plan(inst, seed=seed))
    assert best <= ga * (1 + 1e-12)
    assert ga <= best * (1 + BRUTE_GAP)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_greedy_reaches_the_brute_force_optimum_with_four_requests(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=4, n_scenarios=4, link_states=seed % 2 == 1)
    best, _ = brute_force(inst)
    assert _cost(inst, SAAGreedy().plan(inst)) <= best * (1 + BRUTE_GAP)


def test_without_rebalance_prices_stay_exact_but_plans_can_be_dearer() -> None:
    """Keeping the others' reservations: feasible and scored, measured up to 17% dearer."""
    inst = coupled_instance(2, n_requests=3, n_scenarios=3)
    best, _ = brute_force(inst)
    greedy = SAAGreedy(rebalance=False)
    state, _ = greedy.build(inst)
    assert isinstance(state, CoupledState)
    cost = _cost(inst, greedy.plan(inst))
    assert state.model_cost() == pytest.approx(cost, rel=1e-12)
    assert best < cost <= 1.2 * best


@pytest.mark.parametrize("seed", range(6))
def test_ga_is_scored_by_the_evaluator_and_never_dearer_than_its_seeds(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=5, n_scenarios=6, link_states=seed % 2 == 0)
    plan = get_planner("ga", **GA_PARAMS).plan(inst, seed=seed)
    cost = _cost(inst, plan)
    assert plan.stats["anytime"][-1]["best"] == pytest.approx(cost, rel=1e-12)
    for seed_cost in plan.stats["seed_costs"].values():
        assert cost <= seed_cost * (1 + 1e-12)
    again = get_planner("ga", **GA_PARAMS).plan(inst, seed=seed)
    assert again.routes == plan.routes


def test_ga_decodes_the_greedy_genome_to_the_greedy_plan() -> None:
    inst = coupled_instance(7, n_requests=5, n_scenarios=5)
    greedy = SAAGreedy()
    state, _ = greedy.build(inst)
    dec = GenomeDecoder(inst, state, 5)
    plan = decode_plan(inst, dec.decode([dec.greedy_genome(state)]), "ga")
    assert plan.routes == greedy.plan(inst).routes
    # a seed's genome keeps its routes
    co = get_planner("coqbn").plan(inst)
    back = decode_plan(inst, dec.decode([dec.genome_of(co)]), "ga")
    assert [r.path for r in back.routes] == [r.path for r in co.routes]
    _cost(inst, back)


def test_sampling_draws_the_joint_scenarios() -> None:
    inst = coupled_instance(3, n_requests=4, n_scenarios=6, link_states=True)
    sample = sampled_instance(inst, 10, seed=2)
    assert sample.is_coupled
    assert sample.scenarios is not None
    assert sample.scenarios.n == 10
    cols = {tuple(inst.scenarios.key_rates[r.id][s] for r in inst.requests) for s in range(6)}  # type: ignore[union-attr]
    for s in range(10):
        assert tuple(sample.scenarios.key_rates[r.id][s] for r in inst.requests) in cols
    greedy = SAAGreedy(n_scenarios=10)
    a, b = greedy.plan(inst, seed=2), greedy.plan(inst, seed=2)
    assert a.routes == b.routes
    _cost(inst, a)


def test_conformance_on_coupled_instances() -> None:
    insts = [coupled_instance(s, n_requests=4, n_scenarios=4, link_states=s == 1) for s in range(3)]
    for name, params in (
        ("saa-greedy", {}),
        ("saa-greedy", {"rebalance": False}),
        ("ga", GA_PARAMS),
    ):
        check_planner(
            name,
            params=params,
            instances=insts,
            checks=["valid_plans", "deterministic", "no_mutation", "extensions"],
        )


def test_the_coupling_bites_on_capped_correlated_demand() -> None:
    """Planning from the marginals (caps dropped) meets the caps when demands rise together."""
    inst = correlated_instance("nsfnet", 12, 12, rho=0.9, cap_share=0.5, seed=3)
    assert inst.is_coupled
    marginal = _cost(inst, SAAGreedy().plan(marginal_instance(inst)))
    coupled = _cost(inst, SAAGreedy().plan(inst))
    assert coupled < 0.9 * marginal
    assert coupled <= _cost(inst, get_planner("coqbn").plan(inst))


def _quantile(values: tuple, probs: tuple, u: float) -> float:
    acc = 0.0
    for v, p in zip(values, probs, strict=True):
        acc += p
        if u <= acc:
            return float(v)
    return float(values[-1])


def _coupled_version(inst: Instance, n_sc: int, cap: int, seed: int) -> Instance:
    """``inst`` with joint scenarios (a common factor), its marginals and on-demand caps."""
    rng = check_random_state(seed)
    common = rng.random(n_sc)
    randomised = [k for k, link in enumerate(inst.links) if isinstance(link.key_rate_kbps, Demand)]

    def column(values: tuple, probs: tuple) -> tuple[float, ...]:
        u = np.where(rng.random(n_sc) < 0.7, common, rng.random(n_sc))
        return tuple(_quantile(values, probs, float(x)) for x in u)

    rates = {r.id: column(r.demand.values, r.demand.probs) for r in inst.requests}
    links_kr = {}
    for k in randomised:
        d = inst.links[k].key_rate_kbps
        assert isinstance(d, Demand)
        links_kr[k] = column(d.values, d.probs)
    sc = Scenarios((1.0 / n_sc,) * n_sc, rates, links_kr)
    reqs = tuple(replace(r, demand=sc.marginal(r.id)) for r in inst.requests)
    links = tuple(
        replace(link, key_rate_kbps=sc.link_marginal(k)) if k in links_kr else link
        for k, link in enumerate(inst.links)
    )
    params = replace(inst.params, O_qkd=cap, O_kml=max(1, cap // 3), shortfall_factor=4.0)
    return replace(inst, links=links, requests=reqs, params=params, scenarios=sc)


@pytest.mark.parametrize("seed", range(3))
def test_coupled_with_link_kinds_providers_and_fixed_charges(seed: int) -> None:
    base = link_kinds_and_providers_instance("nsfnet", 8, 4, seed=seed)
    base = replace(base, costs=replace(base.costs, site=400.0))
    inst = _coupled_version(base, 6, 6, seed)
    assert {"coupled", "providers", "fixed_charges", "link_states"} <= inst.features
    greedy = SAAGreedy()
    state, info = greedy.build(inst)
    plan = greedy.plan(inst)
    cost = _cost(inst, plan)
    assert isinstance(state, CoupledState)
    assert state.model_cost() == pytest.approx(cost, rel=1e-12)
    assert "links_closed" in info
    assert cost <= _cost(inst, get_planner("coqbn").plan(inst)) * (1 + 1e-12)
    ga = get_planner("ga", generations=15, stagnation=10).plan(inst, seed=seed)
    assert _cost(inst, ga) <= cost * (1 + 1e-12)
    check_planner("saa-greedy", instances=[inst], checks=["valid_plans"])
