"""The exact SP solver against the evaluator, closed forms and brute force."""

from __future__ import annotations

import itertools
import math
from typing import Any

import networkx as nx
import numpy as np
import pytest

from qkdbench.evaluation import arc_table, evaluate, pair_costs, qkd_links_needed
from qkdbench.exact import FORMS, relaxation_bound, relaxed_plan, solve_sp
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.model import Demand, Instance, Link, Params, Request
from qkdbench.topologies import make_instance

EXACT: dict[str, Any] = {"gap_rel": 0.0}  # solve_sp keyword arguments


def random_instance(
    seed: int,
    n_nodes: int = 5,
    n_requests: int = 2,
    max_rate: int = 2,
    W_qkd: int = 6,
    W_kml: int = 2,
    hop: float = 0.0,
) -> Instance:
    """A seeded connected random graph with random demands and tight capacities."""
    rng = np.random.default_rng(seed)
    while True:
        g = nx.gnp_random_graph(n_nodes, 0.6, seed=int(rng.integers(1 << 30)))
        if nx.is_connected(g):
            break
    links = tuple(
        Link(
            int(u),
            int(v),
            float(rng.integers(60, 500)),
            W_qkd=int(rng.integers(0, W_qkd + 1)) if rng.random() < 0.3 else None,
        )
        for u, v in g.edges
    )
    pairs = [(s, t) for s in range(n_nodes) for t in range(n_nodes) if s != t]
    chosen = rng.choice(len(pairs), size=n_requests, replace=False)
    reqs = []
    for i, k in enumerate(chosen):
        values = tuple(float(v) for v in range(max_rate + 1))
        p = rng.random(len(values)) + 0.2
        p = p / p.sum()
        p[-1] = 1.0 - p[:-1].sum()
        reqs.append(Request(f"f{i}", pairs[k][0], pairs[k][1], Demand(values, tuple(p))))
    return Instance(
        tuple(range(n_nodes)),
        links,
        tuple(reqs),
        Params(W_qkd=W_qkd, W_kml=W_kml, hop_cost=hop),
        name=f"rand-{seed}",
    )


def brute_force(instance: Instance) -> float:
    """Exhaustive optimum: every simple path per request, every reservation level.

    For fixed routes the cost separates by arc, so each arc's reservations are
    enumerated jointly (all integers up to the largest need) under its
    capacities; costs come from the evaluator's pair costs.
    """
    routes = []
    for r in instance.requests:
        routes.append(
            [instance.path_arcs(p) for p in nx.all_simple_paths(instance.graph, r.source, r.target)]
        )
    best = math.inf
    cache: dict = {}
    for choice in itertools.product(*routes):
        users: dict[int, list[int]] = {}
        for f, path in enumerate(choice):
            for a in path:
                users.setdefault(a, []).append(f)
        total = 0.0
        for a, fs in users.items():
            key = (a, tuple(fs))
            if key not in cache:
                cache[key] = _arc_optimum(instance, a, fs)
            total += cache[key]
        best = min(best, total)
    return best


def _arc_optimum(instance: Instance, a: int, fs: list[int]) -> float:
    arcs = arc_table(instance)
    rate = arcs.key_rate_kbps[a]
    tops = [int(qkd_links_needed(instance.requests[f].demand.max, rate)) for f in fs]
    out = 0.0
    for width, cap, part in ((3, arcs.W_qkd[a], 0), (1, arcs.W_kml[a], 1)):
        best = math.inf
        for levels in itertools.product(*[range(width * t + 1) for t in tops]):
            if sum(levels) > cap:
                continue
            lv = np.asarray(levels, float)
            zero = np.zeros(len(fs))
            y, z = (lv, zero) if part == 0 else (zero, lv)
            cost = pair_costs(instance, np.asarray(fs), np.full(len(fs), a), y, z)[part]
            best = min(best, float(cost.sum()))
        out += best
    return out


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("seed", [1, 2])
def test_objective_equals_evaluator(form: str, seed: int) -> None:
    inst = make_instance("nsfnet", 8, 6, seed=seed, params=Params(W_qkd=30, W_kml=10))
    res = solve_sp(inst, form, **EXACT)
    assert res.status == "optimal"
    ev = evaluate(inst, res.plan)
    assert ev.feasible, ev.violations
    assert ev.total == pytest.approx(res.objective, rel=1e-9)
    assert res.plan.stats["objective"] == res.objective
    assert res.bound <= res.objective * (1 + 1e-9)


def test_objective_equals_evaluator_with_hop_cost_and_key_rate_classes(triangle: Instance) -> None:
    inst = Instance(
        triangle.nodes,
        triangle.links[:2] + (Link("a", "c", 250.0, W_qkd=4, key_rate_kbps=0.5),),
        triangle.requests,
        triangle.params,
        name="triangle-classes",
    )
    for form in FORMS:
        res = solve_sp(inst, form, **EXACT)
        assert res.status == "optimal"
        assert evaluate(inst, res.plan).total == pytest.approx(res.objective, rel=1e-9)


def newsvendor_cost(instance: Instance, a: int, demand: Demand) -> tuple[float, int, int]:
    """Least expected cost on one arc and its reservations, from the closed form."""
    arcs = arc_table(instance)
    P = np.asarray([int(qkd_links_needed(v, arcs.key_rate_kbps[a])) for v in demand.values])
    p = np.asarray(demand.probs)
    out, res = 0.0, []
    for width, c in ((3, arcs.c_y[:, a]), (1, arcs.c_z[:, a])):
        need = width * P
        ratio = c[0] / (c[2] - c[1])
        levels = sorted(set(range(int(need.max()) + 1)))
        y = next(v for v in levels if p[need > v].sum() <= ratio + 1e-12)
        used = np.minimum(need, y)
        out += c[0] * y + float(p @ (c[1] * used + c[2] * (need - used)))
        res.append(y)
    return out + float(arcs.hop[a]), res[0], res[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_request_is_newsvendor_shortest_path(seed: int) -> None:
    rng = np.random.default_rng(seed)
    topo = make_instance(
        "nsfnet",
        1,
        5,
        seed=seed,
        params=Params(
            W_qkd=10_000, W_kml=10_000, key_rate_kbps=0.7, hop_cost=float(rng.integers(0, 5000))
        ),
    )
    values = tuple(float(v) for v in np.sort(rng.choice(20, size=5, replace=False)))
    probs = rng.random(5) + 0.1
    probs = probs / probs.sum()
    probs[-1] = 1 - probs[:-1].sum()
    req = topo.requests[0]
    inst = topo.with_requests([Request("f0", req.source, req.target, Demand(values, tuple(probs)))])
    g = nx.DiGraph()
    nv = {}
    for (u, v), a in inst.arc_index.items():
        cost, y, z = newsvendor_cost(inst, a, inst.requests[0].demand)
        g.add_edge(u, v, w=cost)
        nv[(u, v)] = (y, z)
    expected = nx.shortest_path_length(g, req.source, req.target, weight="w")
    res = solve_sp(inst, **EXACT)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-9)
    route = res.plan.routes[0]
    for i, (u, v) in enumerate(itertools.pairwise(route.path)):
        assert (route.reserve_qkd[i], route.reserve_km[i]) == nv[(u, v)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_brute_force_tiny(seed: int) -> None:
    inst = random_instance(seed, n_nodes=5 if seed % 2 else 4, W_qkd=5, W_kml=2, hop=100.0 * seed)
    expected = brute_force(inst)
    for form in FORMS:
        res = solve_sp(inst, form, warm_start=None, prune=False, **EXACT)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(expected, rel=1e-9)
    assert solve_sp(inst, **EXACT).objective == pytest.approx(expected, rel=1e-9)


def test_brute_force_instance_has_binding_capacity() -> None:
    # the tiny instances are meant to make requests compete: the capacity-free
    # bound must be strictly below the optimum on at least one of them
    gaps = [
        brute_force(inst) - relaxation_bound(inst)
        for inst in (
            random_instance(s, n_nodes=5 if s % 2 else 4, W_qkd=5, W_kml=2, hop=100.0 * s)
            for s in range(4)
        )
    ]
    assert max(gaps) > 1.0
    assert min(gaps) >= -1e-6


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_forms_agree(seed: int) -> None:
    inst = make_instance("usnet", 10, 6, seed=seed, params=Params(W_qkd=24, W_kml=8))
    objs = [solve_sp(inst, form, warm_start=None, prune=False, **EXACT).objective for form in FORMS]
    objs.append(solve_sp(inst, "compact", **EXACT).objective)  # pruned, warm-started
    objs.append(solve_sp(inst, "extensive", warm_start="coqbn", **EXACT).objective)
    assert objs == pytest.approx([objs[0]] * len(objs), rel=1e-9)
    assert relaxation_bound(inst) <= objs[0] * (1 + 1e-12)
    heuristic = evaluate(inst, relaxed_plan(inst))
    assert heuristic.feasible
    assert heuristic.total >= objs[0] * (1 - 1e-12)


def test_registered_planners() -> None:
    inst = make_instance("nsfnet", 4, 3, seed=7)
    totals = []
    for name in ("exact", "exact-extensive"):
        planner = get_planner(name)
        assert planner.name == name
        plan = planner.plan(inst, seed=1)
        assert plan.planner == name
        assert plan.stats["status"] == "optimal"
        for key in ("objective", "bound", "gap", "build_s", "solve_s", "runtime_s"):
            assert key in plan.stats
        totals.append(evaluate(inst, plan).total)
    assert totals[0] == pytest.approx(totals[1], rel=1e-9)
    assert get_planner("exact").plan(inst).routes == get_planner("exact").plan(inst).routes


def test_no_requests_is_an_empty_optimal_plan() -> None:
    inst = make_instance("nsfnet", 0, 3, seed=1)
    res = solve_sp(inst)
    assert res.status == "optimal"
    assert res.objective == 0.0
    assert res.plan.routes == ()
    assert evaluate(inst, res.plan).total == 0.0


def test_warm_start_must_fit_the_instance() -> None:
    inst = make_instance("nsfnet", 3, 3, seed=1)
    other = make_instance("nsfnet", 3, 3, seed=2)
    with pytest.raises(InputError, match="warm-start"):
        solve_sp(inst, warm_start=get_planner("coqbn").plan(other))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reduced_cost_pruning_keeps_every_pair_of_an_optimal_plan(seed: int) -> None:
    """With the tightest legal upper bound (the optimum itself), no optimal pair is dropped."""
    from qkdbench.exact.lagrangian import lagrangian_bound, reduced_cost_keep

    inst = random_instance(seed, n_nodes=5 if seed % 2 else 4, W_qkd=5, W_kml=2, hop=100.0 * seed)
    opt = solve_sp(inst, warm_start=None, prune=False, lagrangian=False, **EXACT)
    assert opt.objective == pytest.approx(brute_force(inst), rel=1e-9)
    dual = lagrangian_bound(inst, iterations=300)
    F, A = inst.n_requests, arc_table(inst).n
    req, arc = np.repeat(np.arange(F), A), np.tile(np.arange(A), F)
    keep = reduced_cost_keep(inst, req, arc, dual.lam_qkd, dual.lam_kml, opt.objective)
    keep0 = reduced_cost_keep(inst, req, arc, None, None, opt.objective)
    for route in opt.plan.routes:
        f = inst.request_index[route.request_id]
        for a in inst.path_arcs(route.path):
            assert keep[f * A + a]
            assert keep0[f * A + a]
    # the same holds for the solver run with pruning on: same optimum
    pruned = solve_sp(inst, **EXACT)
    assert pruned.objective == pytest.approx(opt.objective, rel=1e-9)
    assert pruned.plan.stats["pairs"] <= pruned.plan.stats["pairs_all"]


def test_priced_pruning_drops_more_pairs_when_capacity_binds() -> None:
    inst = make_instance("usnet", 30, 10, seed=1, params=Params(W_qkd=45, W_kml=15))
    res = solve_sp(inst, **EXACT)
    plain = solve_sp(inst, lagrangian=False, **EXACT)
    assert res.objective == pytest.approx(plain.objective, rel=1e-7)
    assert res.plan.stats["pairs"] < plain.plan.stats["pairs"] < res.plan.stats["pairs_all"]


def test_model_above_the_memory_limit_is_refused_in_one_line() -> None:
    from qkdbench.exact import SolverError
    from qkdbench.exact.bounds import _pairs
    from qkdbench.exact.sizing import estimate_model

    inst = make_instance("usnet", 8, 10, seed=1)
    size = estimate_model(inst, _pairs(inst))
    assert size.nonzeros > 0
    assert size.gigabytes > 0
    with pytest.raises(SolverError) as info:
        solve_sp(inst, prune=False, memory_limit_gb=size.gigabytes / 2)
    text = str(info.value)
    assert "\n" not in text
    assert "GB" in text
    assert f"{size.nonzeros:,} nonzeros" in text


def test_estimate_counts_the_built_model() -> None:
    from qkdbench.exact import build_model
    from qkdbench.exact.bounds import _pairs
    from qkdbench.exact.sizing import estimate_model

    inst = make_instance("nsfnet", 6, 6, seed=2, params=Params(W_qkd=20, W_kml=6))
    for form in FORMS:
        model = build_model(inst, form)
        size = estimate_model(inst, _pairs(inst), form)
        # upper estimates (routing rows; the extensive form also counts support
        # points that need no wavelength), never far above
        if form == "compact":
            assert size.columns == model.milp.num_col
        assert model.milp.num_col <= size.columns <= 1.3 * model.milp.num_col
        assert model.milp.index.size <= size.nonzeros <= 1.3 * model.milp.index.size


def test_no_time_to_build_returns_the_best_plan_known() -> None:
    inst = make_instance("usnet", 30, 10, seed=1, params=Params(W_qkd=45, W_kml=15))
    res = solve_sp(inst, time_limit=0.0)
    assert res.status == "feasible"
    assert evaluate(inst, res.plan).feasible
    assert "before the model was built" in res.message
    assert res.bound <= res.objective
    assert res.plan.stats["bound_source"]
