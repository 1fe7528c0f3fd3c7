"""The evaluator against hand-computed costs, its plain-Python twin and itself in batch."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qkdbench.evaluation import (
    arc_table,
    encode_plan,
    evaluate,
    evaluate_batch,
    newsvendor_reservations,
    pair_costs,
    stack_plans,
    support_table,
)
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.model import CostTable, Demand, Instance, Link, Params, Plan, Request, Route
from qkdbench.topologies import make_instance, waxman_topology

#: A route as Route's positional arguments: request id, node path, QKD and KM reservations.
RouteSpec = tuple[str, tuple[Any, ...], tuple[float, ...], tuple[float, ...]]


def plan_of(instance: Instance, *routes: RouteSpec) -> Plan:
    return Plan(instance.name, "hand", tuple(Route(*r) for r in routes))


def test_two_node_hand_computed(two_node: Instance) -> None:
    # m = 2: c_y[r] = c_y[e] = (4*1500 + 2*2250)/3 + 200 = 3700, c_y[o] = 14800
    #        c_z[r] = c_z[e] = 3*1200 + 150 + 3*300 + 200 = 4850, c_z[o] = 13000
    # reserve 3 QKD, 1 KM; P = 0, 1, 2 w.p. 0.2, 0.5, 0.3
    # QKD used 0,3,3 (E 2.4), on demand 0,0,3 (E 0.9); KM used 0,1,1 (E 0.8), on demand (E 0.3)
    ev = evaluate(two_node, plan_of(two_node, ("f0", (1, 2), (3,), (1,))))
    assert ev.feasible
    assert ev.violations == ()
    assert ev.first_stage == pytest.approx(3 * 3700 + 4850, rel=1e-12)
    assert ev.second_stage == pytest.approx(
        2.4 * 3700 + 0.9 * 14800 + 0.8 * 4850 + 0.3 * 13000, rel=1e-12
    )
    assert ev.total == pytest.approx(45930.0, rel=1e-12)
    # tx: 4/3 per QKD wavelength: 4 reserved (r), 3.2 used (e), 1.2 on demand (o)
    assert ev.phase_components["reservation"]["tx"] == pytest.approx(4 * 1500)
    assert ev.phase_components["reserved_use"]["tx"] == pytest.approx(3.2 * 1500)
    assert ev.phase_components["on_demand"]["tx"] == pytest.approx(1.2 * 6000)
    assert ev.components["tx"] == pytest.approx(18000.0)
    # km: m + 1 = 3 per KM wavelength
    assert ev.components["km"] == pytest.approx(3 * 1200 + 3 * 0.8 * 1200 + 3 * 0.3 * 3000)
    assert ev.wavelengths["used_qkd"] == pytest.approx(2.4)
    assert ev.wavelengths["on_demand_km"] == pytest.approx(0.3)
    assert sum(ev.components.values()) == pytest.approx(ev.total)
    assert sum(ev.phases.values()) + ev.components["hop"] == pytest.approx(ev.total)


def test_nothing_reserved_is_all_on_demand(two_node: Instance) -> None:
    ev = evaluate(two_node, plan_of(two_node, ("f0", (1, 2), (0,), (0,))))
    # E[P] = 1.1 -> 3.3 QKD and 1.1 KM wavelengths on demand
    assert ev.first_stage == 0.0
    assert ev.total == pytest.approx(3.3 * 14800 + 1.1 * 13000)


def test_triangle_hand_computed_with_hop_cost(triangle: Instance) -> None:
    # f1: c -> b on one 100 km arc (m = 1): c_y = (2*1500 + 2250)/3 + 100 = 1850 (r, e),
    # (2*6000 + 9000)/3 + 400 = 7400 (o); c_z = 2*1200 + 0 + 300 + 100 = 2800 (r, e),
    # 2*3000 + 900 + 400 = 7300 (o). kappa 0.5 w.p. .75 (P = 1), 3 w.p. .25 (P = 3).
    # reserve 6 QKD, 2 KM: QKD used 3 / 6, on demand 0 / 3; KM used 1 / 2, on demand 0 / 1
    plan = plan_of(
        triangle, ("f0", ("a", "b", "c"), (0, 0), (0, 0)), ("f1", ("c", "b"), (6,), (2,))
    )
    ev = evaluate(triangle, plan)
    f1 = (
        6 * 1850
        + 2 * 2800
        + 10
        + 0.75 * (3 * 1850 + 1 * 2800)
        + 0.25 * (6 * 1850 + 3 * 7400 + 2 * 2800 + 1 * 7300)
    )
    # f0: two 100 km arcs, nothing reserved; E[P] = 1 on each
    f0 = 2 * (3 * 7400 + 7300 + 10)
    assert ev.request_costs == pytest.approx((f0, f1))
    assert ev.total == pytest.approx(f0 + f1)
    assert ev.components["hop"] == pytest.approx(30.0)
    assert ev.first_stage == pytest.approx(6 * 1850 + 2 * 2800 + 30)


def test_infeasible_reservations_are_reported_not_scored_feasible(triangle: Instance) -> None:
    plan = plan_of(
        triangle,
        ("f0", ("a", "c"), (5,), (0,)),  # capacity of a-c is 4
        ("f1", ("c", "b"), (-1,), (2.5,)),
    )
    ev = evaluate(triangle, plan)
    assert not ev.feasible
    text = " | ".join(ev.violations)
    assert "requests[1].reserve_qkd[0]: reservation -1" in text
    assert "requests[1].reserve_km[0]: reservation 2.5 is not an integer" in text
    assert "arc 'a'->'c': 5 QKD wavelengths reserved, capacity 4" in text
    assert math.isfinite(ev.total)


@pytest.mark.parametrize(
    ("routes", "fragment"),
    [
        ((("f0", ("a", "b", "c"), (0, 0), (0, 0)),), "request 'f1' has no route"),
        (
            (("f0", ("a", "c"), (0,), (0,)), ("f1", ("c", "a", "b", "c", "b"), (0,) * 4, (0,) * 4)),
            "visited twice",
        ),
        (
            (("f0", ("a", "b"), (0,), (0,)), ("f1", ("c", "b"), (0,), (0,))),
            "not at the request's target",
        ),
        (
            (
                ("f0", ("a", "c"), (0,), (0,)),
                ("f1", ("c", "b"), (0,), (0,)),
                ("f1", ("c", "b"), (0,), (0,)),
            ),
            "routed twice",
        ),
        (
            (
                ("f0", ("a", "c"), (0,), (0,)),
                ("f1", ("c", "b"), (0,), (0,)),
                ("zz", ("c", "b"), (0,), (0,)),
            ),
            "not in the instance",
        ),
    ],
)
def test_malformed_routes_are_never_feasible(
    triangle: Instance, routes: tuple[RouteSpec, ...], fragment: str
) -> None:
    ev = evaluate(triangle, plan_of(triangle, *routes))
    assert not ev.feasible
    assert ev.total == math.inf
    assert any(fragment in v for v in ev.violations)


def test_path_skipping_an_arc() -> None:
    inst = make_instance("usnet", 1, 3, seed=0).with_requests(
        [Request("f0", 1, 23, Demand.uniform(3))]
    )
    ev = evaluate(inst, plan_of(inst, ("f0", (1, 6, 12, 16, 22, 23), (0,) * 5, (0,) * 5)))
    assert not ev.feasible
    assert ev.total == math.inf
    assert ev.violations == ("requests[0].path[1]: no arc 6->12 in the topology",)


# ----------------------------------------------------------------- twin agreement


def _random_instance(draw: st.DrawFn) -> Instance:
    n = draw(st.integers(3, 7))
    topo = waxman_topology(n, seed=draw(st.integers(0, 10_000)), side_km=600.0)
    links = []
    for link in topo.links:
        over: dict[str, Any] = {}  # Link keyword arguments
        if draw(st.booleans()):
            over["key_rate_kbps"] = draw(st.sampled_from([0.1, 0.3, 0.5, 2.0]))
        if draw(st.booleans()):
            over["span_km"] = draw(st.sampled_from([40.0, 75.5, 160.0]))
        links.append(Link(link.u, link.v, link.length_km, **over))
    costs = CostTable()
    if draw(st.booleans()):  # sometimes using a reservation is dearer than on demand
        costs = CostTable(e={**CostTable().o, "tx": 9000.0}, o=dict(CostTable().e))
    n_req = draw(st.integers(1, 4))
    reqs = []
    for i in range(n_req):
        s, t = draw(st.lists(st.sampled_from(topo.nodes), min_size=2, max_size=2, unique=True))
        k = draw(st.integers(1, 5))
        values = draw(
            st.lists(
                st.floats(0, 6, allow_nan=False).map(lambda x: round(x, 2)), min_size=k, max_size=k
            )
        )
        weights = draw(st.lists(st.integers(1, 9), min_size=k, max_size=k))
        probs = [w / sum(weights) for w in weights]
        probs[-1] = 1.0 - sum(probs[:-1])
        reqs.append(Request(f"f{i}", s, t, Demand(tuple(values), tuple(probs))))
    params = Params(hop_cost=draw(st.sampled_from([0.0, 25.0])), W_qkd=12, W_kml=4)
    return Instance(topo.nodes, tuple(links), tuple(reqs), params, costs, name="random")


def _random_plan(draw: st.DrawFn, inst: Instance) -> Plan:
    routes = []
    for r in inst.requests:
        paths = list(nx.all_simple_paths(inst.graph, r.source, r.target))
        path = draw(st.sampled_from(paths))
        m = len(path) - 1
        # mostly integers (the lookup table), sometimes halves (the sorted-support search)
        step = draw(st.sampled_from([1.0, 1.0, 0.5]))
        ys = draw(st.lists(st.integers(0, 40), min_size=m, max_size=m))
        zs = draw(st.lists(st.integers(0, 16), min_size=m, max_size=m))
        routes.append(
            Route(r.id, tuple(path), tuple(v * step for v in ys), tuple(v * step for v in zs))
        )
    return Plan(inst.name, "random", tuple(routes))


@st.composite
def instance_and_plans(draw: st.DrawFn, n_plans: int = 1) -> tuple[Instance, list[Plan]]:
    inst = _random_instance(draw)
    return inst, [_random_plan(draw, inst) for _ in range(n_plans)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance_and_plans())
def test_numba_kernel_agrees_with_plain_python_twin(case: tuple[Instance, list[Plan]]) -> None:
    inst, (plan,) = case
    ev = evaluate(inst, plan)
    ref = reference_evaluate(inst, plan)
    assert ev.total == pytest.approx(ref["total"], rel=1e-9, abs=1e-6)
    assert ev.first_stage == pytest.approx(ref["first_stage"], rel=1e-9, abs=1e-6)
    assert ev.second_stage == pytest.approx(ref["second_stage"], rel=1e-9, abs=1e-6)
    for comp, val in ref["components"].items():
        assert ev.components.get(comp, 0.0) == pytest.approx(val, rel=1e-9, abs=1e-6), comp
    for ph, val in ref["phases"].items():
        assert ev.phases[ph] == pytest.approx(val, rel=1e-9, abs=1e-6), ph
    for key, val in ref["wavelengths"].items():
        assert ev.wavelengths[key] == pytest.approx(val, rel=1e-9, abs=1e-9), key


def test_without_lookup_tables_the_search_gives_the_same_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import qkdbench.evaluation.pricing as model

    inst = make_instance("usnet", 8, 10, seed=5)
    from qkdbench.heuristics import get_planner

    plan = get_planner("coqbn").plan(inst)
    with_tables = evaluate(inst, plan).total
    monkeypatch.setattr(model, "USED_TABLE_LIMIT", 0)
    bare = make_instance("usnet", 8, 10, seed=5)
    assert support_table(bare).used_table.size == 0
    assert evaluate(bare, plan).total == pytest.approx(with_tables, rel=1e-12)
    assert reference_evaluate(bare, plan)["total"] == pytest.approx(with_tables, rel=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance_and_plans(n_plans=5))
def test_batch_agrees_with_single_calls(case: tuple[Instance, list[Plan]]) -> None:
    inst, plans = case
    batch = evaluate_batch(inst, plans)
    for b, plan in enumerate(plans):
        ev = evaluate(inst, plan)
        assert batch.total[b] == pytest.approx(ev.total, rel=1e-12)
        assert batch.first_stage[b] == pytest.approx(ev.first_stage, rel=1e-12)
        assert bool(batch.feasible[b]) == ev.feasible
        assert (batch.excess[b] > 0) == any("capacity" in v for v in ev.violations)


def test_batch_of_encoded_arrays_and_fractional_flag() -> None:
    inst = make_instance("nsfnet", 6, 4, seed=2)
    from qkdbench.heuristics import get_planner

    plan = get_planner("coqbn").plan(inst)
    arrays = encode_plan(inst, plan)
    frac = encode_plan(inst, plan)
    frac.yr[0] += 0.5
    scores = evaluate_batch(inst, stack_plans([arrays, frac, arrays]))
    assert scores.feasible.tolist() == [True, False, True]
    assert scores.total[0] == scores.total[2] == pytest.approx(evaluate(inst, plan).total)


def test_cost_does_not_depend_on_support_order_or_duplicates() -> None:
    base = Instance(
        (1, 2),
        (Link(1, 2, 300.0),),
        (Request("f0", 1, 2, Demand((0.0, 2.0, 5.0), (0.3, 0.3, 0.4))),),
    )
    shuffled = base.with_requests(
        [Request("f0", 1, 2, Demand((5.0, 2.0, 0.0, 2.0), (0.4, 0.1, 0.3, 0.2)))]
    )
    plan = Plan("x", "hand", (Route("f0", (1, 2), (7,), (2,)),))
    assert evaluate(shuffled, plan).total == pytest.approx(evaluate(base, plan).total, rel=1e-12)


def test_newsvendor_reservation_closed_form() -> None:
    # Property 3 of docs/model.md: smallest y with Pr(3P > y) <= c_r / (c_o - c_e)
    inst = make_instance("usnet", 4, 10, seed=3)
    s, a = support_table(inst), arc_table(inst)
    for f in range(inst.n_requests):
        arcs = np.arange(0, a.n, 7)
        y, z = newsvendor_reservations(inst, f, arcs)
        links, probs = s.link_counts(0, f)
        for i, arc in enumerate(arcs):
            for w, c, got in ((3, a.c_y, y[i]), (1, a.c_z, z[i])):
                ratio = c[0, arc] / (c[2, arc] - c[1, arc])
                best = next(
                    v
                    for v in range(0, w * int(links.max()) + 1)
                    if probs[w * links > v].sum() <= ratio + 1e-12
                )
                assert got == best


def test_pair_costs_sum_to_the_plan_cost(triangle: Instance) -> None:
    plan = plan_of(
        triangle, ("f0", ("a", "b", "c"), (2, 1), (1, 0)), ("f1", ("c", "b"), (4,), (1,))
    )
    arr = encode_plan(triangle, plan)
    req = np.repeat(np.arange(triangle.n_requests), np.diff(arr.ptr))
    qkd, km = pair_costs(triangle, req, arr.arcs, arr.yr, arr.zr)
    assert qkd.sum() + km.sum() == pytest.approx(evaluate(triangle, plan).total, rel=1e-12)


def test_batch_of_plans_for_no_requests() -> None:
    inst = make_instance("usnet", 0, 10, seed=1)
    empty = Plan(inst.name, "none", ())
    scores = evaluate_batch(inst, [empty, empty, empty])
    assert scores.total.tolist() == [0.0, 0.0, 0.0]
    assert scores.feasible.tolist() == [True, True, True]
    assert evaluate(inst, empty).total == 0.0
