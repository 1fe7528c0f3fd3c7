"""The heuristic planners on link kinds (link prices, random key rates) and on providers.

Costs are checked against the evaluator and its plain-Python twin; provider
capacities are counted here, independently of the evaluator; the GA's optimum
on a tiny instance with providers is checked against a brute force over every target and
simple path with newsvendor reservations (the optimum when reservation
capacity is loose: docs/model.md, property 3).
"""

from __future__ import annotations

import itertools
from collections import Counter

import networkx as nx
import numpy as np
import pytest

from qkdbench.evaluation import evaluate, newsvendor_reservations
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.exceptions import InputError
from qkdbench.heuristics import available_planners, get_planner
from qkdbench.heuristics.coqbn import CoQBN, choose_targets
from qkdbench.heuristics.ga import GeneticPlanner, GenomeDecoder
from qkdbench.heuristics.saa_greedy import SAAGreedy, sampled_instance
from qkdbench.model import (
    Demand,
    Instance,
    Link,
    Plan,
    Provider,
    Request,
    Route,
    Target,
    UnitCosts,
)
from qkdbench.planning import candidate_paths, standalone_arc_costs
from qkdbench.planning.providers import assign_providers
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.utils.registry import BUILTIN_MODULES, Planner, check_supports, planner_supports

SEEDS = (0, 1, 2)


def _planner(name: str) -> Planner:
    if name == "ga":
        return GeneticPlanner(generations=12, population=16, stagnation=6)
    return get_planner(name)


def _served(inst: Instance, plan: Plan) -> Counter:
    """Requests per provider, counted from the routes (checking each route's target)."""
    out: Counter = Counter()
    by_id = {r.request_id: r for r in plan.routes}
    for req in inst.requests:
        route = by_id[req.id]
        if req.is_anycast:
            assert route.provider is not None, req.id
            assert any(
                t.node == route.path[-1] and t.provider == route.provider for t in req.targets
            ), (req.id, route)
            out[route.provider] += 1
        else:
            assert route.provider is None
            assert route.path[-1] == req.target
    return out


def _within_capacity(inst: Instance, plan: Plan) -> bool:
    return all(
        (cap := inst.provider_capacity.get(p)) is None or n <= cap
        for p, n in _served(inst, plan).items()
    )


# --------------------------------------------------------------------------- all planners


@pytest.mark.parametrize("name", ["coqbn", "saa-greedy", "ga"])
@pytest.mark.parametrize("seed", SEEDS)
def test_heuristics_plan_link_kinds_and_providers_instances_feasibly(name: str, seed: int) -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=seed)
    assert inst.features == {"link_prices", "link_states", "providers"}
    plan = _planner(name).plan(inst, seed=seed)
    ev = evaluate(inst, plan)
    assert ev.feasible, ev.violations
    assert ev.total == pytest.approx(reference_evaluate(inst, plan)["total"], rel=1e-9)
    assert _within_capacity(inst, plan)
    # provider A serves at most half the anycast requests (3 here)
    assert inst.provider_capacity["A"] == 1
    if name == "ga":
        assert plan.stats["anytime"][-1]["best"] == pytest.approx(ev.total, rel=1e-12)


def test_capacity_binds_in_the_random_instances() -> None:
    """Without the capacity, some planner would put more requests on A (so the check bites)."""
    over = 0
    for seed in range(6):
        loose = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=seed, capacity=False)
        tight = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=seed)
        cap_a = tight.provider_capacity["A"]
        assert cap_a is not None
        for name in ("coqbn", "saa-greedy"):
            if _served(loose, get_planner(name).plan(loose))["A"] > cap_a:
                over += 1
                assert _within_capacity(tight, get_planner(name).plan(tight))
    assert over > 0


@pytest.mark.parametrize("name", ["rl-coqbn", "rl-greedy"])
@pytest.mark.parametrize("seed", SEEDS)
def test_rl_planners_price_link_kinds_exactly_and_serve_providers(name: str, seed: int) -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=seed, providers=False)
    assert inst.features == {"link_prices", "link_states"}
    plan = get_planner(name).plan(inst, seed=0)
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert ev.total == pytest.approx(reference_evaluate(inst, plan)["total"], rel=1e-9)
    if name == "rl-coqbn":  # the environment reproduces CO-QBN, mean link rate included
        assert plan.routes == CoQBN().plan(inst).routes
    with_providers = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=seed)
    assert "providers" in with_providers.features
    plan = get_planner(name).plan(with_providers, seed=0)
    ev = evaluate(with_providers, plan)
    assert ev.feasible
    assert ev.total == pytest.approx(reference_evaluate(with_providers, plan)["total"], rel=1e-9)


def test_rl_episode_cost_is_the_evaluators_on_random_key_rates() -> None:
    from qkdbench.rl.env import PlanningEnv

    inst = link_kinds_and_providers_instance("cost239", 5, 4, seed=3, providers=False)
    env = PlanningEnv(inst)
    _, info = env.reset(seed=0)
    total, done, rng = 0.0, False, np.random.default_rng(0)
    while not done:
        act = int(rng.choice(np.flatnonzero(info["action_mask"])))
        _, reward, done, _, info = env.step(act)
        total += reward
    assert -total == pytest.approx(evaluate(inst, info["plan"]).total, rel=1e-9)


def _builtin_names() -> list[str]:
    return sorted(
        n
        for n, info in available_planners().items()
        if info.origin == "built-in" and not info.on_request  # ph: tests/exact/test_smps.py
    )


@pytest.mark.parametrize("name", _builtin_names())
def test_every_builtin_planner_handles_or_refuses_providers(name: str) -> None:
    assert BUILTIN_MODULES  # the registry's built-ins are what is listed
    inst = link_kinds_and_providers_instance("nsfnet", 4, 3, seed=4, states=False, prices=False)
    planner = get_planner(name)
    if "providers" not in planner_supports(planner):
        with pytest.raises(InputError, match="provider targets"):
            check_supports(planner, inst)
        return
    plan = planner.plan(inst, seed=0, time_limit=60)
    assert evaluate(inst, plan).feasible
    assert _within_capacity(inst, plan)


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_and_ga_never_worse_than_coqbn(seed: int) -> None:
    inst = link_kinds_and_providers_instance("cost239", 6, 4, seed=seed)
    co = evaluate(inst, CoQBN().plan(inst)).total
    greedy = evaluate(inst, SAAGreedy().plan(inst)).total
    ga = evaluate(inst, GeneticPlanner(generations=10, population=12).plan(inst, seed=0)).total
    assert greedy <= co + 1e-6 * co
    assert ga <= co + 1e-6 * co
    assert ga <= greedy + 1e-6 * greedy


@pytest.mark.parametrize(
    "planner",
    [SAAGreedy(n_scenarios=20), GeneticPlanner(generations=8, population=12)],
    ids=["saa-greedy-sampled", "ga"],
)
def test_same_seed_same_plan(planner: Planner) -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=5)
    a = planner.plan(inst, seed=3)
    b = planner.plan(inst, seed=3)
    assert a.routes == b.routes
    assert any(r.provider is not None for r in a.routes)


# --------------------------------------------------------------------------- CO-QBN's rule


def _line() -> tuple[tuple, tuple]:
    # 1 -100- 2 -100- 3 -100- 4 -100- 5, and 2 -250- 5
    nodes = (1, 2, 3, 4, 5)
    links = (
        Link(1, 2, 100.0),
        Link(2, 3, 100.0),
        Link(3, 4, 100.0),
        Link(4, 5, 100.0),
        Link(2, 5, 250.0),
    )
    return nodes, links


def test_coqbn_takes_the_nearest_target_with_capacity() -> None:
    nodes, links = _line()
    d = Demand.uniform(2)
    inst = Instance(
        nodes,
        links,
        (
            # nearest of f: node 3 (200 km, A); node 5 is 350 km (B)
            Request("f", 1, None, d, (Target(5, "B", 0.0), Target(3, "A", 900.0))),
            # nearest of g: node 3 (100 km, A), but A is full: node 4 (200 km, B)
            Request("g", 2, None, d, (Target(3, "A", 0.0), Target(4, "B", 0.0))),
            # h: both targets at 200 km from 1? node 3 (A, 200 km) and node 5 via 2 (350 km):
            # A full, so B
            Request("h", 1, None, d, (Target(3, "A", 0.0), Target(5, "B", 0.0))),
        ),
        providers=(Provider("A", 1), Provider("B")),
    )
    assert choose_targets(inst) == ([1, 1, 1], 0)
    plan = CoQBN().plan(inst)
    got = {r.request_id: (r.path, r.provider) for r in plan.routes}
    assert got["f"] == ((1, 2, 3), "A")
    assert got["g"] == ((2, 3, 4), "B")
    assert got["h"] == ((1, 2, 5), "B")
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert ev.components["service"] == pytest.approx(900.0)


def test_coqbn_breaks_distance_ties_by_service_cost_then_order() -> None:
    nodes, links = _line()
    d = Demand.point(1.0)
    inst = Instance(
        nodes,
        links,
        (
            Request("f", 3, None, d, (Target(2, "A", 50.0), Target(4, "B", 10.0))),
            Request("g", 3, None, d, (Target(2, "A", 10.0), Target(4, "B", 10.0))),
        ),
    )
    assert choose_targets(inst) == ([1, 0], 0)


def test_coqbn_repairs_a_stuck_first_fit_by_max_flow() -> None:
    nodes, links = _line()
    d = Demand.uniform(2)
    inst = Instance(
        nodes,
        links,
        (
            Request("f", 1, None, d, (Target(3, "A"), Target(5, "B"))),
            Request("g", 2, None, d, (Target(3, "A"),)),
        ),
        providers=(Provider("A", 1), Provider("B")),
    )
    targets, moved = choose_targets(inst)
    assert targets == [1, 0]
    assert moved == 1  # f moved to B so that g gets A
    plan = CoQBN().plan(inst)
    assert [r.provider for r in plan.routes] == ["B", "A"]
    assert plan.stats["provider_repairs"] == 1
    assert evaluate(inst, plan).feasible


def test_coqbn_provisions_for_the_mean_link_key_rate() -> None:
    # one link, two states 0.5 and 2.0 kbps with probs 0.5: mean 1.25 kbps;
    # E[kappa] = 5 kbps: ceil(5 / 1.25) = 4 QKD links (E[P] would be (10 + 3) / 2 = 6.5)
    inst = Instance(
        (1, 2),
        (Link(1, 2, 100.0, key_rate_kbps=Demand((0.5, 2.0), (0.5, 0.5))),),
        (Request("f", 1, 2, Demand.point(5.0)),),
    )
    route = CoQBN().plan(inst).routes[0]
    assert route.reserve_qkd == (12,)
    assert route.reserve_km == (4,)


def test_saa_greedy_gets_unstuck_and_respects_capacity() -> None:
    nodes, links = _line()
    d = Demand.uniform(4)
    inst = Instance(
        nodes,
        links,
        (
            Request("f", 1, None, Demand.uniform(8), (Target(2, "A"), Target(5, "B"))),
            Request("g", 4, None, d, (Target(3, "A"),)),
            Request("h", 4, None, d, (Target(3, "A"), Target(5, "B"))),
        ),
        providers=(Provider("A", 1), Provider("B")),
    )
    for planner in (SAAGreedy(), SAAGreedy(improve=False), SAAGreedy(order="instance")):
        plan = planner.plan(inst)
        assert evaluate(inst, plan).feasible
        assert [r.provider for r in plan.routes] == ["B", "A", "B"]


def test_greedy_ejection_move_swaps_providers() -> None:
    """f (inserted first) takes A; g then pays a huge service cost at B unless f yields A."""
    nodes, links = _line()
    inst = Instance(
        nodes,
        links,
        (
            Request("f", 1, None, Demand.uniform(8), (Target(3, "A"), Target(5, "B", 100.0))),
            Request("g", 4, None, Demand.uniform(2), (Target(3, "A"), Target(5, "B", 1e6))),
        ),
        providers=(Provider("A", 1), Provider("B")),
    )
    stuck = SAAGreedy(improve=False).plan(inst)
    assert [r.provider for r in stuck.routes] == ["A", "B"]
    plan = SAAGreedy().plan(inst)
    assert [r.provider for r in plan.routes] == ["B", "A"]
    assert plan.stats["provider_moves"] == 1
    assert evaluate(inst, plan).total == pytest.approx(_brute_force(inst), rel=1e-9)
    assert evaluate(inst, plan).total < evaluate(inst, stuck).total - 1e5


# --------------------------------------------------------------------------- machinery


def test_candidates_cover_every_target_cheapest_first_with_service() -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 4, 3, seed=2)
    w = standalone_arc_costs(inst)
    cands = candidate_paths(inst, k=3, weights=w)
    for f, req in enumerate(inst.requests):
        tg = cands.targets_of(f)
        assert set(tg) == set(range(len(req.sinks)))
        costs = []
        for i, path in enumerate(cands.paths[f]):
            sink = req.sinks[tg[i]]
            assert path[0] == req.source
            assert path[-1] == sink.node
            costs.append(float(w[f][inst.path_arcs(path)].sum()) + sink.service_cost)
        if req.is_anycast:
            assert costs == sorted(costs)


def test_sampled_instance_keeps_targets() -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 4, 3, seed=1)
    samp = sampled_instance(inst, 10, seed=2)
    assert [r.targets for r in samp.requests] == [r.targets for r in inst.requests]
    assert samp.providers == inst.providers


def test_assign_providers_is_a_least_cost_feasible_assignment() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        cap = np.array([1, 2, -1])
        options = [
            {
                int(p): float(rng.integers(0, 10))
                for p in rng.choice(3, size=int(rng.integers(1, 4)), replace=False)
            }
            for _ in range(4)
        ]
        best: float | None = None
        for combo in itertools.product(*[list(o) for o in options]):
            load = np.bincount(combo, minlength=3)
            if np.all((cap < 0) | (load <= cap)):
                c = sum(o[p] for o, p in zip(options, combo, strict=True))
                best = c if best is None else min(best, c)
        if best is None:
            with pytest.raises(InputError):
                assign_providers(options, cap)
            continue
        got = [p for p in assign_providers(options, cap) if p is not None]
        assert len(got) == len(options)  # every request is assigned
        load = np.bincount(got, minlength=3)
        assert np.all((cap < 0) | (load <= cap))
        assert sum(o[p] for o, p in zip(options, got, strict=True)) == best


def test_ga_repair_moves_requests_off_a_full_provider() -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=0)
    state, _ = SAAGreedy(improve=False).build(inst)
    dec = GenomeDecoder(inst, state, 3)
    F = inst.n_requests
    # every anycast request on a candidate of provider A: over capacity
    genome = []
    for f in range(F):
        on_a = [i for i, p in enumerate(dec.cand_provider[f]) if p == 0]
        genome.append(on_a[0] if on_a else 0)
    genome += [2] * F
    load_a = sum(1 for f in range(F) if dec.cand_provider[f][genome[f]] == 0)
    assert load_a > dec.prov.capacity[0]
    assert dec.repair(genome) == load_a - dec.prov.capacity[0]
    plan_arrays = dec.decode([genome])
    from qkdbench.evaluation import decode_plan

    plan = decode_plan(inst, plan_arrays, "ga")
    assert evaluate(inst, plan).feasible
    assert _within_capacity(inst, plan)


# --------------------------------------------------------------------------- brute force


def _tiny_providers() -> Instance:
    links = (
        Link(1, 2, 100.0),
        Link(2, 3, 150.0),
        Link(1, 3, 300.0),
        Link(3, 4, 80.0, key_rate_kbps=Demand((0.4, 1.5), (0.3, 0.7))),
        Link(
            2,
            4,
            200.0,
            kind="free-space",
            unit_costs=UnitCosts((900.0, 900.0, 3500.0), (400.0, 400.0, 1600.0)),
        ),
    )
    reqs = (
        Request("a", 1, None, Demand.uniform(2), (Target(3, "A", 100.0), Target(4, "B", 70000.0))),
        Request(
            "b",
            2,
            None,
            Demand((1.0, 3.0), (0.5, 0.5)),
            (Target(3, "A", 0.0), Target(4, "B", 60000.0)),
        ),
        Request("c", 4, 1, Demand.uniform(3)),
    )
    return Instance(
        (1, 2, 3, 4),
        links,
        reqs,
        providers=(Provider("A", 1), Provider("B")),
        name="tiny-providers",
    )


def _brute_force(inst: Instance) -> float:
    """Least expected cost over every target and simple path, newsvendor reservations."""
    g = nx.Graph(inst.graph)
    per_request = []
    for f, req in enumerate(inst.requests):
        opts = []
        for sink in req.sinks:
            for path in nx.all_simple_paths(g, req.source, sink.node):
                ids = np.asarray(inst.path_arcs(path), dtype=np.int64)
                y, z = newsvendor_reservations(inst, np.full(ids.size, f), ids)
                opts.append(
                    Route(
                        req.id,
                        tuple(path),
                        tuple(int(v) for v in y),
                        tuple(int(v) for v in z),
                        sink.provider,
                    )
                )
        per_request.append(opts)
    best = np.inf
    for combo in itertools.product(*per_request):
        plan = Plan(inst.name, "brute", combo)
        ev = evaluate(inst, plan)
        if ev.feasible:
            best = min(best, ev.total)
    return float(best)


def test_ga_finds_the_brute_force_optimum_on_a_tiny_providers_instance() -> None:
    inst = _tiny_providers()
    assert inst.features == {"link_prices", "link_states", "providers"}
    best = _brute_force(inst)
    # the capacity binds: without it, both a and b would choose provider A
    loose = Instance(inst.nodes, inst.links, inst.requests, name="loose")
    assert _brute_force(loose) < best - 1.0
    co = evaluate(inst, CoQBN().plan(inst)).total
    assert co > best + 1.0  # so the GA seeded with CO-QBN alone has to search
    for ga in (
        GeneticPlanner(generations=40, population=20),
        GeneticPlanner(generations=40, population=20, seeds=("coqbn",)),
        GeneticPlanner(generations=40, population=20, seeds=("coqbn",), polish=False),
    ):
        plan = ga.plan(inst, seed=0)
        ev = evaluate(inst, plan)
        assert ev.feasible
        assert ev.total == pytest.approx(best, rel=1e-9)
    assert evaluate(inst, SAAGreedy().plan(inst)).total >= best - 1e-6
