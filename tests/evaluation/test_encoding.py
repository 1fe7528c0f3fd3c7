"""Plan encoding: round trips, batches, and every shape violation found and placed.

The truth for the arrays is the plan itself: each row's arcs must join the
route's consecutive nodes (read back through the arcs' tails and heads), its
reservations must be the route's, and decoding must give the plan back.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qkdbench.evaluation import (
    PlanArrays,
    arc_table,
    decode_plan,
    encode_plan,
    evaluate,
    route_violations,
    stack_plans,
)
from qkdbench.exceptions import InputError
from qkdbench.model import Demand, Instance, Link, Plan, Request, Route
from qkdbench.topologies import builtin_topology, sample_requests, waxman_topology

DETERMINISTIC = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TOPOLOGIES = [
    Instance(
        ("a", "b", "c", "d", "e"),
        (
            Link("a", "b", 100.0),
            Link("b", "d", 100.0),
            Link("a", "c", 120.0),
            Link("c", "d", 80.0),
            Link("b", "c", 20.0),
            Link("d", "e", 50.0),
        ),
        name="tiny",
    ),
    builtin_topology("nsfnet"),
    waxman_topology(6, seed=1),
    waxman_topology(8, seed=4),
]


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    topo = draw(st.sampled_from(TOPOLOGIES))
    n = draw(st.integers(1, 6))
    return sample_requests(
        topo, n, max_rate=draw(st.integers(0, 5)), seed=draw(st.integers(0, 10_000))
    )


def _route(draw: st.DrawFn, inst: Instance, req: Request) -> Route:
    paths = list(islice(nx.all_simple_paths(inst.graph, req.source, req.target), 40))
    path = draw(st.sampled_from(paths))
    m = len(path) - 1
    ys = draw(st.lists(st.integers(0, 30), min_size=m, max_size=m))
    zs = draw(st.lists(st.integers(0, 10), min_size=m, max_size=m))
    return Route(req.id, tuple(path), tuple(ys), tuple(zs))


@st.composite
def plans_of(draw: st.DrawFn, inst: Instance) -> Plan:
    routes = [_route(draw, inst, r) for r in inst.requests]
    order = draw(st.permutations(range(len(routes))))  # any route order in the plan
    return Plan(inst.name, "random", tuple(routes[i] for i in order))


@st.composite
def instance_and_plans(draw: st.DrawFn) -> tuple[Instance, list[Plan]]:
    inst = draw(instances())
    return inst, draw(st.lists(plans_of(inst), min_size=1, max_size=5))


def _assert_arrays_hold(inst: Instance, arrays: PlanArrays, plan: Plan) -> None:
    """Row ``f`` of ``arrays`` is request ``f``'s route of ``plan``, arc by arc."""
    F = inst.n_requests
    assert arrays.n_requests == F
    assert arrays.ptr.shape == (F + 1,)
    assert arrays.ptr[0] == 0
    assert arrays.ptr.dtype == np.int64
    assert arrays.arcs.dtype == np.int64
    assert arrays.yr.dtype == np.float64
    assert arrays.zr.dtype == np.float64
    assert arrays.arcs.size == arrays.yr.size == arrays.zr.size == arrays.ptr[-1]
    by_id = {r.request_id: r for r in plan.routes}
    for f, req in enumerate(inst.requests):
        route = by_id[req.id]
        lo, hi = arrays.ptr[f], arrays.ptr[f + 1]
        arcs = arrays.arcs[lo:hi]
        assert hi - lo == len(route.path) - 1
        tails = [inst.nodes[t] for t in arc_table(inst).tail[arcs]]
        heads = [inst.nodes[h] for h in arc_table(inst).head[arcs]]
        assert tails == list(route.path[:-1])
        assert heads == list(route.path[1:])
        assert arrays.yr[lo:hi].tolist() == list(route.reserve_qkd)
        assert arrays.zr[lo:hi].tolist() == list(route.reserve_km)


def _in_instance_order(inst: Instance, plan: Plan) -> tuple[Route, ...]:
    return tuple(plan.route_of(r.id) for r in inst.requests)


def _same_arrays(a: PlanArrays, b: PlanArrays) -> bool:
    return (
        a.n_requests == b.n_requests
        and np.array_equal(a.ptr, b.ptr)
        and np.array_equal(a.arcs, b.arcs)
        and np.array_equal(a.yr, b.yr)
        and np.array_equal(a.zr, b.zr)
    )


@DETERMINISTIC
@given(instance_and_plans())
def test_encode_decode_round_trip(case: tuple[Instance, list[Plan]]) -> None:
    inst, plans = case
    for plan in plans:
        assert route_violations(inst, plan) == []
        arrays = encode_plan(inst, plan)
        assert arrays.n_plans == 1
        _assert_arrays_hold(inst, arrays, plan)
        back = decode_plan(inst, arrays, "again", {"note": 1})
        assert back.instance_name == inst.name
        assert back.planner == "again"
        assert dict(back.stats) == {"note": 1}
        assert back.routes == _in_instance_order(inst, plan)
        assert all(isinstance(v, int) for r in back.routes for v in r.reserve_qkd + r.reserve_km)
        assert _same_arrays(encode_plan(inst, back), arrays)


@DETERMINISTIC
@given(instance_and_plans())
def test_stacked_plans_come_apart_as_they_went_in(case: tuple[Instance, list[Plan]]) -> None:
    inst, plans = case
    encoded = [encode_plan(inst, p) for p in plans]
    batch = stack_plans(encoded)
    B, F = len(plans), inst.n_requests
    assert batch.n_plans == B
    assert batch.n_requests == F
    assert batch.ptr.shape == (B * F + 1,)
    assert np.all(np.diff(batch.ptr) >= 1)
    assert batch.arcs.size == sum(e.arcs.size for e in encoded)
    for b, (plan, one) in enumerate(zip(plans, encoded, strict=True)):
        part = batch.plan(b)
        assert _same_arrays(part, one)
        _assert_arrays_hold(inst, part, plan)
        assert decode_plan(inst, part).routes == _in_instance_order(inst, plan)
    # batches stack too, and stacking is associative
    if B >= 2:
        assert _same_arrays(
            stack_plans([stack_plans(encoded[:1]), stack_plans(encoded[1:])]), batch
        )


def test_stacking_routes_of_different_lengths_by_hand() -> None:
    inst = TOPOLOGIES[0].with_requests(
        [Request("f0", "a", "e", Demand.uniform(1)), Request("f1", "c", "b", Demand.uniform(1))]
    )
    short = Plan(
        inst.name,
        "hand",
        (
            Route("f0", ("a", "b", "d", "e"), (1, 2, 3), (0, 0, 1)),
            Route("f1", ("c", "b"), (4,), (1,)),
        ),
    )
    long_ = Plan(
        inst.name,
        "hand",
        (
            Route("f1", ("c", "a", "b"), (5, 6), (0, 2)),
            Route("f0", ("a", "c", "b", "d", "e"), (0, 0, 7, 0), (1,) * 4),
        ),
    )
    batch = stack_plans([encode_plan(inst, p) for p in (short, long_, short)])
    #              f0 (3)  f1 (1)  f0 (4)  f1 (2)  f0 (3)  f1 (1)
    assert batch.ptr.tolist() == [0, 3, 4, 8, 10, 13, 14]
    ab, ba = inst.arc_index[("a", "b")], inst.arc_index[("b", "a")]
    assert batch.arcs[[0, 8, 9, 10]].tolist() == [ab, inst.arc_index[("c", "a")], ab, ab]
    assert ba not in batch.arcs.tolist()  # arcs are directed: a -> b, never b -> a here
    assert batch.yr.tolist() == [1, 2, 3, 4, 0, 0, 7, 0, 5, 6, 1, 2, 3, 4]
    assert batch.zr.tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0, 2, 0, 0, 1, 1]
    assert batch.n_plans == 3
    assert decode_plan(inst, batch.plan(1)).route_of("f0").path == ("a", "c", "b", "d", "e")


def test_stacking_refuses_nothing_and_mixed_instances(
    triangle: Instance, two_node: Instance
) -> None:
    with pytest.raises(InputError, match="empty batch"):
        stack_plans([])
    tri = encode_plan(
        triangle,
        Plan("t", "h", (Route("f0", ("a", "c"), (0,), (0,)), Route("f1", ("c", "b"), (0,), (0,)))),
    )
    two = encode_plan(two_node, Plan("n", "h", (Route("f0", (1, 2), (0,), (0,)),)))
    with pytest.raises(InputError, match="different instances"):
        stack_plans([tri, two])


def test_reservations_given_as_floats_are_kept_and_decoded_to_integers(triangle: Instance) -> None:
    plan = Plan(
        "t",
        "h",
        (
            Route("f0", ("a", "b", "c"), (2.0, 2.5), (0.0, 1.0)),
            Route("f1", ("c", "b"), (3.75,), (1,)),
        ),
    )
    arrays = encode_plan(triangle, plan)
    assert arrays.yr.tolist() == [2.0, 2.5, 3.75]
    assert arrays.zr.tolist() == [0.0, 1.0, 1.0]
    back = decode_plan(triangle, arrays)
    assert back.route_of("f0").reserve_qkd == (2, 2)  # round half to even
    assert back.route_of("f1").reserve_qkd == (4,)


# --------------------------------------------------------------------------- violations


def _plan(*routes: tuple) -> Plan:
    return Plan("triangle", "hand", tuple(Route(*r) for r in routes))


GOOD_F0 = ("f0", ("a", "b", "c"), (0, 0), (0, 0))
GOOD_F1 = ("f1", ("c", "b"), (1,), (0,))

# each case: routes, then the (place, words in the message) expected, in order
VIOLATIONS: dict[str, tuple[list[tuple[Any, ...]], list[tuple[str, str]]]] = {
    "unknown request": (
        [GOOD_F0, GOOD_F1, ("f9", ("a", "c"), (0,), (0,))],
        [("requests[2].id", "'f9' is not in the instance")],
    ),
    "routed twice": (
        [GOOD_F0, GOOD_F1, ("f0", ("a", "c"), (0,), (0,))],
        [("requests[2].id", "'f0' is routed twice")],
    ),
    "missing route": ([GOOD_F1], [("requests", "'f0' has no route")]),
    "no routes at all": (
        [],
        [("requests", "'f0' has no route"), ("requests", "'f1' has no route")],
    ),
    "one-node path": (
        [("f0", ("a",), (), ()), GOOD_F1],
        [("requests[0].path", "at least two nodes")],
    ),
    "wrong source": (
        [GOOD_F0, ("f1", ("b", "a", "b"), (0, 0), (0, 0))],
        [
            ("requests[1].path[0]", "starts at 'b', not at the request's source 'c'"),
            ("requests[1].path[2]", "node 'b' visited twice (also path[0])"),
        ],
    ),
    "wrong target": (
        [("f0", ("a", "b"), (0,), (0,)), GOOD_F1],
        [("requests[0].path[1]", "ends at 'b', not at the request's target 'c'")],
    ),
    "non-simple path": (
        [("f0", ("a", "b", "c", "b", "c"), (0,) * 4, (0,) * 4), GOOD_F1],
        [
            ("requests[0].path[3]", "node 'b' visited twice (also path[1])"),
            ("requests[0].path[4]", "node 'c' visited twice (also path[2])"),
        ],
    ),
    "unknown node": (
        [("f0", ("a", "z", "c"), (0, 0), (0, 0)), GOOD_F1],
        [("requests[0].path[1]", "unknown node 'z'")],
    ),
    "too few QKD reservations": (
        [("f0", ("a", "b", "c"), (0,), (0, 0)), GOOD_F1],
        [("requests[0].reserve_qkd", "1 reservations for 2 arcs")],
    ),
    "too many KM reservations": (
        [GOOD_F0, ("f1", ("c", "b"), (1,), (0, 0, 0))],
        [("requests[1].reserve_km", "3 reservations for 1 arcs")],
    ),
}


def _triangle_without_ca() -> Instance:
    """The triangle of conftest without its a-c link (so c -> a is no arc)."""
    return Instance(
        ("a", "b", "c"),
        (Link("a", "b", 100.0), Link("b", "c", 100.0)),
        (
            Request("f0", "a", "c", Demand.uniform(2)),
            Request("f1", "c", "b", Demand((0.5, 3.0), (0.75, 0.25))),
        ),
        name="triangle",
    )


@pytest.mark.parametrize("kind", list(VIOLATIONS))
def test_each_violation_is_found_and_placed(triangle: Instance, kind: str) -> None:
    routes, expected = VIOLATIONS[kind]
    plan = _plan(*routes)
    problems = route_violations(triangle, plan)
    assert all(isinstance(p, InputError) for p in problems)
    assert len(problems) == len(expected)
    for p, (place, words) in zip(problems, expected, strict=True):
        assert p.place == place, (p, place, words)
        assert words in p.problem, (p, place, words)
        assert str(p) == f"{place}: {p.problem}"
    # encoding refuses with the first of them; the evaluator scores the plan as infeasible
    with pytest.raises(InputError) as err:
        encode_plan(triangle, plan)
    assert str(err.value) == str(problems[0])
    ev = evaluate(triangle, plan)
    assert not ev.feasible
    assert ev.total == np.inf
    assert list(ev.violations) == [str(p) for p in problems]


def test_a_path_over_a_missing_link_is_placed_at_its_arc() -> None:
    inst = _triangle_without_ca()
    problems = route_violations(
        inst,
        _plan(("f0", ("a", "b", "c"), (0, 0), (0, 0)), ("f1", ("c", "a", "b"), (0, 0), (0, 0))),
    )
    assert [(p.place, p.problem) for p in problems] == [
        ("requests[1].path[0]", "no arc 'c'->'a' in the topology")
    ]
    # next to an unknown node only the unknown node is reported
    problems = route_violations(
        inst, _plan(("f0", ("a", "q", "c"), (0, 0), (0, 0)), ("f1", ("c", "b"), (0,), (0,)))
    )
    assert [(p.place, p.problem) for p in problems] == [("requests[0].path[1]", "unknown node 'q'")]


def test_several_problems_of_one_plan_are_all_reported(triangle: Instance) -> None:
    plan = _plan(("f0", ("b", "a", "b", "z"), (0,), (0, 0, 0)), ("f7", ("a", "b"), (0,), (0,)))
    places = [p.place for p in route_violations(triangle, plan)]
    assert places == [
        "requests[0].path[0]",
        "requests[0].path[3]",
        "requests[0].path[2]",
        "requests[0].path[3]",
        "requests[0].reserve_qkd",
        "requests[1].id",
        "requests",
    ]


def test_a_valid_plan_has_no_violations_in_any_route_order(triangle: Instance) -> None:
    assert route_violations(triangle, _plan(GOOD_F0, GOOD_F1)) == []
    assert route_violations(triangle, _plan(GOOD_F1, GOOD_F0)) == []
    assert _same_arrays(
        encode_plan(triangle, _plan(GOOD_F0, GOOD_F1)),
        encode_plan(triangle, _plan(GOOD_F1, GOOD_F0)),
    )
