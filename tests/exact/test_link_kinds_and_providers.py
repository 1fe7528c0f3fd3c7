"""Link kinds (prices, random key rates) and providers (targets, capacities) in the
exact solver (both forms) and the Lagrangian bound, against a brute force on tiny instances.

The brute force enumerates every plan: for every request every target, every simple
path to its node and every reservation on every arc of the path in ``0..min(W, 3 maxP)``
(QKD) and ``0..min(W, maxP)`` (KM), ``maxP`` the largest QKD-link count the request may
need on that arc over its demand and the link's states (reserving more never lowers the
cost and only uses capacity, so the grid holds an optimum). Each one-route option is
priced by the plain-Python twin :func:`reference_evaluate`; without fixed charges a
plan's twin cost is the sum of its routes' (the twin sums route by route), and the
combinations are enumerated with the arc and provider capacities checked, merging
partial plans that use exactly the same capacities (keeping the cheaper one, which is
exact: the rest of the plan sees only the capacities used). The optimal plan found is
scored again as a whole by the twin.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import networkx as nx
import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.evaluation.encoding import route_violations
from qkdbench.evaluation.pricing import qkd_links_needed
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.exact import build_model, relaxation_bound, solve_sp
from qkdbench.exact.decoding import _warm_values
from qkdbench.exact.lagrangian import lagrangian_bound, lagrangian_value, reduced_cost_keep
from qkdbench.exact.sp_milp import capacity_free_bound, relaxed_plan, solve_model
from qkdbench.exceptions import InputError
from qkdbench.model import (
    Demand,
    Instance,
    Link,
    Params,
    Plan,
    Provider,
    Request,
    Route,
    Target,
    UnitCosts,
)
from qkdbench.utils.registry import UNCOUPLED_FEATURES, get_planner

REL = 1e-9


# --------------------------------------------------------------------------- brute force


def _max_links(inst: Instance, req: Request, u: Any, v: Any) -> int:
    """Largest QKD-link count of ``req`` on link ``u - v`` over demand and link states."""
    link = next(ln for ln in inst.links if {ln.u, ln.v} == {u, v})
    rates, _ = link.key_rate_states(inst.params.key_rate_kbps)
    return max(int(qkd_links_needed(k, r)) for k in req.demand.values for r in rates)


def _link_of(inst: Instance, u: Any, v: Any) -> Link:
    return next(ln for ln in inst.links if {ln.u, ln.v} == {u, v})


def _caps(inst: Instance, link: Link) -> tuple[int, int]:
    wq = link.W_qkd if link.W_qkd is not None else inst.params.W_qkd
    wk = link.W_kml if link.W_kml is not None else inst.params.W_kml
    return int(wq), int(wk)


def _options(inst: Instance, req: Request) -> list[Route]:
    """Every route of ``req``: target, simple path to its node, reservations on the grid."""
    out = []
    for t in req.sinks:
        for path in nx.all_simple_paths(inst.graph, req.source, t.node):
            grids = []
            for u, v in itertools.pairwise(path):
                p = _max_links(inst, req, u, v)
                wq, wk = _caps(inst, _link_of(inst, u, v))
                grids.append(
                    [(y, z) for y in range(min(wq, 3 * p) + 1) for z in range(min(wk, p) + 1)]
                )
            for combo in itertools.product(*grids):
                out.append(
                    Route(
                        req.id,
                        tuple(path),
                        tuple(y for y, _ in combo),
                        tuple(z for _, z in combo),
                        t.provider,
                    )
                )
    return out


def _brute_force(inst: Instance) -> tuple[float, Plan]:
    """The optimum over every plan (see the module docstring) and one optimal plan."""
    assert not inst.has_fixed_charges  # the per-route sum below needs no shared charges
    arcs = {(ln.u, ln.v): 2 * k for k, ln in enumerate(inst.links)}
    arcs.update({(ln.v, ln.u): 2 * k + 1 for k, ln in enumerate(inst.links)})
    n_arcs = 2 * len(inst.links)
    provs = list(inst.provider_capacity)
    cap = np.zeros(2 * n_arcs + len(provs))
    for k, ln in enumerate(inst.links):
        wq, wk = _caps(inst, ln)
        cap[[2 * k, 2 * k + 1]] = wq
        cap[[n_arcs + 2 * k, n_arcs + 2 * k + 1]] = wk
    for i, pid in enumerate(provs):
        c = inst.provider_capacity[pid]
        cap[2 * n_arcs + i] = math.inf if c is None else c
    # partial plans: capacities used (rows), cost, chosen option per request so far
    s_use = np.zeros((1, cap.size))
    s_cost = np.zeros(1)
    s_pick = np.zeros((1, 0), dtype=np.int64)
    all_opts = []
    for req in inst.requests:
        routes = _options(inst, req)
        o_use = np.zeros((len(routes), cap.size))
        o_cost = np.empty(len(routes))
        for i, route in enumerate(routes):
            for (u, v), y, z in zip(
                itertools.pairwise(route.path), route.reserve_qkd, route.reserve_km, strict=True
            ):
                o_use[i, arcs[(u, v)]] += y
                o_use[i, n_arcs + arcs[(u, v)]] += z
            if route.provider is not None:
                o_use[i, 2 * n_arcs + provs.index(route.provider)] += 1
            o_cost[i] = reference_evaluate(inst, Plan(inst.name, "bf", (route,)))["total"]
        all_opts.append(routes)
        uses, costs, picks = [], [], []
        for lo in range(0, s_cost.size, 256):  # every partial plan with every option
            tot = s_use[lo : lo + 256, None, :] + o_use[None, :, :]
            ok = np.all(tot <= cap, axis=2)
            si, oi = np.nonzero(ok)
            uses.append(tot[si, oi])
            costs.append(s_cost[lo + si] + o_cost[oi])
            picks.append(np.column_stack([s_pick[lo + si], oi]))
        use, cost, pick = np.concatenate(uses), np.concatenate(costs), np.concatenate(picks)
        # merge partial plans that use the same capacities, keeping the cheapest
        order = np.lexsort((cost, *use.T[::-1]))
        use, cost, pick = use[order], cost[order], pick[order]
        first = np.ones(cost.size, dtype=bool)
        first[1:] = np.any(use[1:] != use[:-1], axis=1)
        s_use, s_cost, s_pick = use[first], cost[first], pick[first]
    k = int(np.argmin(s_cost))
    plan = Plan(inst.name, "bf", tuple(all_opts[f][int(i)] for f, i in enumerate(s_pick[k])))
    whole = reference_evaluate(inst, plan)["total"]
    assert whole == pytest.approx(float(s_cost[k]), rel=REL)  # the twin agrees on the plan
    return float(s_cost[k]), plan


# --------------------------------------------------------------------------- instances

_SAT = UnitCosts((400.0, 400.0, 1600.0), (900.0, 900.0, 3000.0))


def _tiny(seed: int, kinds: bool, anycast: bool) -> Instance:
    """Three or four nodes, two or three requests, capacities that often bind."""
    rng = np.random.default_rng(seed)
    n = 3 + seed % 2
    nodes = tuple(range(1, n + 1))
    pairs = [(1, 2), (2, 3), (1, 3)] + ([(3, 4), (2, 4)] if n == 4 else [])
    links = []
    for k, (u, v) in enumerate(pairs):
        e = float(rng.choice([60.0, 150.0, 200.0, 330.0]))
        kw: dict = {}
        if kinds and k == len(pairs) - 1:  # a satellite link with two weather states
            clear = float(rng.choice([1.0, 2.0]))
            kw = {
                "kind": "satellite",
                "unit_costs": _SAT,
                "key_rate_kbps": Demand((clear, 0.5), (0.7, 0.3)),
            }
        elif kinds and k == 0:  # a priced fiber link
            kw = {"unit_costs": UnitCosts((300.0, 300.0, 1200.0), (700.0, 700.0, 2500.0))}
        links.append(Link(u, v, e, **kw))
    n_req = 2 + int(rng.integers(0, 2)) if n == 3 else 2
    reqs = []
    for f in range(n_req):
        src = int(rng.choice(nodes))
        others = [x for x in nodes if x != src]
        demand = Demand((0.0, 1.0), (0.4, 0.6)) if f % 2 else Demand((0.5, 1.0), (0.5, 0.5))
        if anycast and (f == 0 or rng.random() < 0.5):
            picks = rng.choice(others, size=2, replace=False)
            provs = ["A", "B"] if rng.random() < 0.7 else ["A", "A"]
            targets = tuple(
                Target(int(t), p, float(rng.choice([0.0, 800.0, 5000.0])))
                for t, p in zip(picks, provs, strict=True)
            )
            reqs.append(Request(f"f{f}", src, None, demand, targets))
        else:
            reqs.append(Request(f"f{f}", src, int(rng.choice(others)), demand))
    providers: tuple[Provider, ...] = ()
    if anycast:
        cap_a = 1 if rng.random() < 0.7 else None
        providers = (Provider("A", cap_a), Provider("B", None))
    params = Params(W_qkd=int(rng.choice([3, 3, 4])), W_kml=int(rng.choice([1, 1, 2])))
    try:
        return Instance(
            nodes,
            tuple(links),
            tuple(reqs),
            params,
            providers=providers,
            name=f"tiny-{seed}-{int(kinds)}{int(anycast)}",
        )
    except Exception:  # e.g. provider capacities cannot serve every request: next seed
        return _tiny(seed + 1000, kinds, anycast)


def _check_plan(inst: Instance, plan: Plan, objective: float) -> None:
    """The plan fits the instance, respects provider capacities and costs ``objective``."""
    assert route_violations(inst, plan) == []
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert ev.total == pytest.approx(objective, rel=REL)
    assert reference_evaluate(inst, plan)["total"] == pytest.approx(objective, rel=REL)
    for r in plan.routes:
        req = inst.requests[inst.request_index[r.request_id]]
        if req.is_anycast:
            assert r.provider is not None
            assert any(t.node == r.path[-1] and t.provider == r.provider for t in req.targets)
    for pid, cap in inst.provider_capacity.items():
        served = sum(r.provider == pid for r in plan.routes)
        assert cap is None or served <= cap


CASES = (
    [(s, True, False) for s in range(4)]
    + [(s, False, True) for s in range(5)]
    + [(s, True, True) for s in range(10, 14)]
)


@pytest.mark.parametrize(("seed", "kinds", "anycast"), CASES)
def test_exact_forms_equal_brute_force(seed: int, kinds: bool, anycast: bool) -> None:
    inst = _tiny(seed, kinds, anycast)
    assert ("link_states" in inst.features) == kinds
    assert ("providers" in inst.features) == anycast
    truth, _ = _brute_force(inst)
    for form in ("compact", "extensive"):
        res = solve_sp(inst, form, gap_rel=0.0)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(truth, rel=REL)
        _check_plan(inst, res.plan, res.objective)
        assert res.bound <= res.objective * (1 + REL)
    assert relaxation_bound(inst) <= truth * (1 + REL)
    assert capacity_free_bound(inst) <= truth * (1 + REL)
    dual = lagrangian_bound(inst, iterations=150)
    assert dual.bound <= truth * (1 + REL)
    assert dual.cost >= truth * (1 - REL)  # its plan is feasible: never below the optimum


def _binding_provider_instance(cap_a: int | None) -> Instance:
    """Two requests from 1 that both prefer provider A at node 2; B at node 3 costs more."""
    links = (Link(1, 2, 100.0), Link(2, 3, 100.0), Link(1, 3, 250.0))
    targets = (Target(2, "A", 0.0), Target(3, "B", 2000.0))
    reqs = (
        Request("f0", 1, None, Demand((1.0,), (1.0,)), targets),
        Request("f1", 1, None, Demand((0.0, 1.0), (0.5, 0.5)), targets),
    )
    return Instance(
        (1, 2, 3),
        links,
        reqs,
        Params(W_qkd=6, W_kml=2),
        providers=(Provider("A", cap_a), Provider("B")),
        name=f"cap-{cap_a}",
    )


def test_provider_capacity_binding_changes_the_assignment() -> None:
    free = _binding_provider_instance(None)
    tight = _binding_provider_instance(1)
    res_free = get_planner("exact").plan(free)
    res_tight = get_planner("exact").plan(tight)
    assert [r.provider for r in res_free.routes] == ["A", "A"]
    served = sorted(p for r in res_tight.routes if (p := r.provider) is not None)
    assert served == ["A", "B"]  # capacity 1: one request moves to B
    assert res_tight.stats["objective"] > res_free.stats["objective"] * (1 + 1e-6)
    for inst, plan in ((free, res_free), (tight, res_tight)):
        assert plan.stats["status"] == "optimal"
        _check_plan(inst, plan, plan.stats["objective"])
        assert plan.stats["objective"] == pytest.approx(_brute_force(inst)[0], rel=REL)
    # both forms agree; the Lagrangian bound stays below the optimum where capacity binds
    ext = get_planner("exact-extensive").plan(tight)
    assert ext.stats["objective"] == pytest.approx(res_tight.stats["objective"], rel=REL)
    dual = lagrangian_bound(tight, iterations=300)
    assert dual.bound <= res_tight.stats["objective"] * (1 + REL)
    # the capacity-free bound ignores provider capacity: it is the unlimited optimum here
    assert capacity_free_bound(tight) == pytest.approx(res_free.stats["objective"], rel=REL)
    # the dual ascent prices provider A and closes the gap the capacity-free bound leaves
    assert dual.mu[0] > 0
    assert dual.bound > capacity_free_bound(tight) * (1 + 1e-6)


def test_a_target_node_may_lie_on_the_path_to_another_target() -> None:
    """Line 1 - 2 - 3: target A at 2, B at 3; the route to B passes through A's node."""

    def inst_with(service_a: float) -> Instance:
        return Instance(
            (1, 2, 3),
            (Link(1, 2, 100.0), Link(2, 3, 100.0)),
            (
                Request(
                    "f",
                    1,
                    None,
                    Demand((1.0,), (1.0,)),
                    (Target(2, "A", service_a), Target(3, "B", 0.0)),
                ),
            ),
            name=f"line-{service_a}",
        )

    cheap, dear = inst_with(0.0), inst_with(1e7)
    for form in ("compact", "extensive"):
        a = solve_sp(cheap, form, gap_rel=0.0)
        b = solve_sp(dear, form, gap_rel=0.0)
        assert (a.plan.routes[0].path, a.plan.routes[0].provider) == ((1, 2), "A")
        assert (b.plan.routes[0].path, b.plan.routes[0].provider) == ((1, 2, 3), "B")
        _check_plan(dear, b.plan, b.objective)
        assert b.objective == pytest.approx(_brute_force(dear)[0], rel=REL)


def _weather_instance(p_clear: float) -> Instance:
    """1 - 2 - 3 - 4 fiber (long, Table I prices) or one satellite hop 1 - 4.

    Clear: 2 kbps, so one QKD link carries the 1-kbps demand at a low unit price.
    Cloud: 0.05 kbps, twenty links; the satellite can reserve one link's wavelengths
    only, so the other nineteen are on demand at four times the price. Fiber costs
    98100 (three arcs of two MDI segments, newsvendor reservations), the satellite
    about 4600 + 171000 (1 - p): the switch is near p = 0.45.
    """
    fiber = tuple(Link(u, v, 300.0) for u, v in ((1, 2), (2, 3), (3, 4)))
    sat = Link(
        1,
        4,
        1000.0,
        W_qkd=3,
        W_kml=1,
        kind="satellite",
        unit_costs=UnitCosts((500.0, 500.0, 2000.0), (800.0, 800.0, 3000.0)),
        key_rate_kbps=Demand((2.0, 0.05), (p_clear, 1.0 - p_clear)),
    )
    req = Request("f", 1, 4, Demand((1.0,), (1.0,)))
    return Instance(
        (1, 2, 3, 4), fiber + (sat,), (req,), Params(W_qkd=60, W_kml=20), name=f"weather-{p_clear}"
    )


def test_satellite_used_in_clear_weather_avoided_under_cloud() -> None:
    probs = [0.05, 0.3, 0.45, 0.5, 0.6, 0.8, 0.99]
    uses = []
    for p in probs:
        inst = _weather_instance(p)
        res = solve_sp(inst, "compact", gap_rel=0.0)
        assert res.status == "optimal"
        _check_plan(inst, res.plan, res.objective)
        uses.append(res.plan.routes[0].path == (1, 4))
    assert not uses[0]
    assert uses[-1]  # cloud likely: fiber; clear likely: satellite
    assert uses == sorted(uses)  # one switch, from fiber to satellite
    for p in (probs[0], probs[-1]):  # brute force and both forms at both ends
        inst = _weather_instance(p)
        truth, best = _brute_force(inst)
        assert (best.routes[0].path == (1, 4)) == (p == probs[-1])
        for form in ("compact", "extensive"):
            assert solve_sp(inst, form, gap_rel=0.0).objective == pytest.approx(truth, rel=REL)


def test_warm_start_sets_choice_binaries_and_names_providers() -> None:
    inst = _binding_provider_instance(1)
    warm = relaxed_plan(inst)
    assert evaluate(inst, warm).feasible
    assert sorted(p for r in warm.routes if (p := r.provider) is not None) == ["A", "B"]
    model = build_model(inst)
    _, vals = _warm_values(model, warm)
    wv = vals[-model.w.size :]
    for f, r in enumerate(warm.routes):
        # request f's targets are positions 2f, 2f + 1 (two targets each)
        ks = [k for k, j in enumerate(model.w_pos) if 2 * f <= j < 2 * f + 2]
        chosen = [
            inst.requests[f].sinks[model.w_pos[k] - 2 * f].provider for k in ks if wv[k] == 1.0
        ]
        assert chosen == [r.provider]
    assert wv.sum() == 2
    res = solve_model(model, warm_start=warm)
    assert res.objective == pytest.approx(_brute_force(inst)[0], rel=REL)


def test_pruning_keeps_every_pair_of_an_optimal_plan() -> None:
    inst = _tiny(2, False, True)
    truth, best = _brute_force(inst)
    dual = lagrangian_bound(inst, iterations=100)
    req, arc = [], []
    for r in best.routes:
        f = inst.request_index[r.request_id]
        for a in inst.path_arcs(r.path):
            req.append(f)
            arc.append(a)
    for prices in ((None, None, None), (dual.lam_qkd, dual.lam_kml, dual.mu)):
        keep = reduced_cost_keep(
            inst, np.asarray(req), np.asarray(arc), prices[0], prices[1], truth, mu=prices[2]
        )
        assert keep.all()
    pruned = build_model(inst, upper_bound=truth, prices=(dual.lam_qkd, dual.lam_kml, dual.mu))
    assert solve_model(pruned).objective == pytest.approx(truth, rel=REL)


def test_lagrangian_value_is_a_lower_bound_at_any_prices() -> None:
    inst = _binding_provider_instance(1)
    truth, _ = _brute_force(inst)
    rng = np.random.default_rng(0)
    A = 2 * len(inst.links)
    for _ in range(20):
        lq, lk = rng.exponential(50.0, A), rng.exponential(200.0, A)
        mu = rng.exponential(3000.0, len(inst.provider_capacity))
        assert lagrangian_value(inst, lq, lk, mu=mu).value <= truth * (1 + REL)
    with pytest.raises(InputError, match="mu"):
        lagrangian_value(inst, mu=np.array([-1.0, 0.0]))


def test_planners_declare_every_extension_and_name_providers() -> None:
    inst = _tiny(11, True, True)
    assert {"providers", "link_states", "link_prices"} <= inst.features
    for name in ("exact", "exact-extensive", "lagrangian"):
        planner = get_planner(name)
        assert frozenset(UNCOUPLED_FEATURES) <= getattr(planner, "supports", frozenset())
        plan = planner.plan(inst)
        assert route_violations(inst, plan) == []
        assert evaluate(inst, plan).total == pytest.approx(plan.stats["objective"], rel=REL)


def test_pruned_and_unpruned_models_agree_on_a_larger_instance_with_targets() -> None:
    """NSFNET, twelve requests, half with three targets, provider capacities binding."""
    import dataclasses

    from qkdbench.topologies import make_instance

    base = make_instance("nsfnet", 12, 4, seed=3, params=Params(W_qkd=12, W_kml=4))
    rng = np.random.default_rng(0)
    reqs = []
    for i, r in enumerate(base.requests):
        if i % 2:
            reqs.append(r)
            continue
        others = [n for n in base.nodes if n != r.source]
        picks = rng.choice(len(others), 3, replace=False)
        reqs.append(
            Request(
                r.id,
                r.source,
                None,
                r.demand,
                tuple(
                    Target(others[k], "ABC"[j], float(rng.choice([0.0, 2000.0, 8000.0])))
                    for j, k in enumerate(picks)
                ),
            )
        )
    inst = dataclasses.replace(
        base,
        requests=tuple(reqs),
        name="nsfnet-targets",
        providers=(Provider("A", 1), Provider("B", 2), Provider("C", 3)),
    )
    full = solve_sp(inst, gap_rel=0.0, prune=False, lagrangian=False, warm_start=None)
    pruned = solve_sp(inst, gap_rel=0.0)
    assert full.status == pruned.status == "optimal"
    assert pruned.extra["pairs"] < pruned.extra["pairs_all"]  # pruning did something
    assert pruned.objective == pytest.approx(full.objective, rel=REL)
    _check_plan(inst, pruned.plan, pruned.objective)
    assert lagrangian_bound(inst, iterations=200).bound <= full.objective * (1 + REL)


def test_fixed_charges_with_targets_equal_a_full_enumeration() -> None:
    """Fixed charges with providers: only the chosen target's node is paid; the twin scores all."""
    links = (
        Link(1, 2, 100.0, fixed_cost=3000.0),
        Link(2, 3, 100.0),
        Link(1, 3, 250.0, fixed_cost=500.0),
    )
    targets = (Target(2, "A", 0.0), Target(3, "B", 1000.0))
    reqs = (
        Request("f0", 1, None, Demand((1.0,), (1.0,)), targets),
        Request("f1", 3, 1, Demand((0.0, 1.0), (0.5, 0.5))),
    )
    inst = Instance(
        (1, 2, 3),
        links,
        reqs,
        Params(W_qkd=3, W_kml=1),
        node_fixed_costs={2: 4000.0, 3: 700.0},
        providers=(Provider("A", 1), Provider("B")),
        name="fixed-charges-and-providers",
    )
    best = math.inf
    for combo in itertools.product(*(_options(inst, r) for r in reqs)):
        plan = Plan(inst.name, "bf", combo)
        if evaluate(inst, plan).feasible:  # arc capacities
            best = min(best, reference_evaluate(inst, plan)["total"])
    for form in ("compact", "extensive"):
        res = solve_sp(inst, form, gap_rel=0.0)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(best, rel=REL)
        _check_plan(inst, res.plan, res.objective)
    # node 2 (target A's) is paid only when chosen: its binary is not fixed
    model = build_model(inst)
    assert model.v_node.tolist() == [1, 2]  # node positions of 2 and 3
    assert model.milp.col_lower[model.v].tolist() == [0.0, 1.0]  # 3 is f1's source
    # the Lagrangian planner: a feasible plan at least the optimum, its improvement passes
    # (with the greedy's network moves, one route per target) keeping targets and providers
    lag = get_planner("lagrangian").plan(inst)
    _check_plan(inst, lag, lag.stats["objective"])
    assert lag.stats["objective"] >= best * (1 - REL)
    assert lag.stats["stop_passes"] != "off"
    assert lag.stats["bound"] <= best * (1 + REL)
    assert relaxation_bound(inst) <= best * (1 + REL)
