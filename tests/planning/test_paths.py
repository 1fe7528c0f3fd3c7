"""Candidate routes against brute force: every simple path, enumerated and ranked.

The truth here is :func:`networkx.all_simple_paths` (no ranking, no Yen),
each path's weight summed by hand over its arcs, and the plain-Python twin of
the evaluator for the stand-alone arc costs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import pytest
from numpy.typing import NDArray

from qkdbench.evaluation import arc_table, newsvendor_reservations
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.exceptions import InputError
from qkdbench.model import CostTable, Demand, Instance, Link, Params, Plan, Request, Route
from qkdbench.planning.paths import (
    Candidates,
    candidate_paths,
    k_shortest_paths,
    standalone_arc_costs,
)
from qkdbench.topologies import builtin_topology, make_instance


@pytest.fixture(scope="module")
def tiny() -> Instance:
    """Five nodes with a chord and ties, plus a separate two-node island."""
    links = (
        Link("a", "b", 100.0),
        Link("b", "d", 100.0),
        Link("a", "c", 120.0),
        Link("c", "d", 80.0),
        Link("b", "c", 20.0),
        Link("d", "e", 50.0),
        Link("x", "y", 10.0),
    )
    return Instance(
        ("a", "b", "c", "d", "e", "x", "y"),
        links,
        (Request("f0", "a", "e", Demand.uniform(3)),),
        name="tiny",
    )


def _topology(name: str) -> Instance:
    return builtin_topology(name)


def _weight(
    instance: Instance, path: Sequence[Any], weight: NDArray[np.float64] | None = None
) -> float:
    arcs = [instance.arc_index[(path[i], path[i + 1])] for i in range(len(path) - 1)]
    if weight is None:
        return float(sum(arc_table(instance).length_km[a] for a in arcs))
    return float(sum(weight[a] for a in arcs))


def _assert_k_shortest(
    instance: Instance, s: Any, t: Any, k: int, weight: NDArray[np.float64] | None = None
) -> list[tuple[Any, ...]]:
    """Check ``k_shortest_paths`` against every simple path, ranked by hand."""
    got = k_shortest_paths(instance, s, t, k, weight)
    every = [tuple(p) for p in nx.all_simple_paths(instance.graph, s, t)]
    truth = sorted(_weight(instance, p, weight) for p in every)
    assert len(got) == min(k, len(every))
    assert len(set(got)) == len(got)
    for p in got:
        assert p in every  # simple, from s to t, over existing arcs
        assert p[0] == s
        assert p[-1] == t
        assert len(set(p)) == len(p)
    w = [_weight(instance, p, weight) for p in got]
    assert w == pytest.approx(truth[: len(got)], rel=1e-12, abs=1e-12)
    assert all(a <= b + 1e-9 * max(1.0, abs(b)) for a, b in itertools.pairwise(w))
    if got:  # every path strictly cheaper than the last one returned is among them
        cutoff = w[-1] - 1e-9 * max(1.0, abs(w[-1]))
        assert {p for p in every if _weight(instance, p, weight) < cutoff} <= set(got)
    return got


@pytest.mark.parametrize("name", ["nsfnet", "cost239"])
@pytest.mark.parametrize("k", [1, 4, 15])
def test_k_shortest_by_length_match_brute_force(name: str, k: int) -> None:
    topo = _topology(name)
    rng = np.random.default_rng(7)
    for _ in range(6):
        s, t = rng.choice(len(topo.nodes), size=2, replace=False)
        _assert_k_shortest(topo, topo.nodes[s], topo.nodes[t], k)


@pytest.mark.parametrize("name", ["nsfnet", "cost239"])
def test_k_shortest_under_arc_weights_match_brute_force(name: str) -> None:
    topo = _topology(name)
    rng = np.random.default_rng(11)
    for _ in range(4):
        # direction matters: arc 2j and arc 2j + 1 get unrelated weights; some are zero
        weight = rng.integers(0, 20, size=arc_table(topo).n).astype(float)
        s, t = rng.choice(len(topo.nodes), size=2, replace=False)
        _assert_k_shortest(topo, topo.nodes[s], topo.nodes[t], 6, weight)


def test_weights_are_read_per_arc_direction(tiny: Instance) -> None:
    weight = np.ones(arc_table(tiny).n)
    weight[tiny.arc_index[("b", "c")]] = 0.0  # b -> c is free, c -> b is not
    weight[tiny.arc_index[("c", "b")]] = 50.0
    assert k_shortest_paths(tiny, "b", "c", 1, weight) == [("b", "c")]
    (back,) = k_shortest_paths(tiny, "c", "b", 1, weight)
    assert back in {("c", "a", "b"), ("c", "d", "b")}  # two arcs of weight 1, not 50
    _assert_k_shortest(tiny, "c", "b", 10, weight)


def test_hand_ranked_routes_on_the_tiny_graph(tiny: Instance) -> None:
    # a -> e: a-b-c-d-e 250, a-b-d-e 250, a-c-d-e 250, a-c-b-d-e 290
    got = k_shortest_paths(tiny, "a", "e", 10)
    assert sorted(got[:3]) == [
        ("a", "b", "c", "d", "e"),
        ("a", "b", "d", "e"),
        ("a", "c", "d", "e"),
    ]
    assert got[3:] == [("a", "c", "b", "d", "e")]


def test_k_beyond_the_number_of_paths_gives_every_path(tiny: Instance) -> None:
    got = _assert_k_shortest(tiny, "a", "e", 1000)
    assert set(got) == {tuple(p) for p in nx.all_simple_paths(tiny.graph, "a", "e")}
    assert k_shortest_paths(tiny, "x", "y", 5) == [("x", "y")]


def test_same_call_same_paths_even_on_a_fresh_instance() -> None:
    a = make_instance("cost239", 3, 4, seed=2)
    b = make_instance("cost239", 3, 4, seed=2)
    w = np.random.default_rng(3).random(arc_table(a).n)
    for req in a.requests:
        first = k_shortest_paths(a, req.source, req.target, 8, w)
        assert k_shortest_paths(a, req.source, req.target, 8, w) == first
        assert k_shortest_paths(b, req.source, req.target, 8, w) == first
    assert candidate_paths(a, 5).paths == candidate_paths(b, 5).paths


def test_unreachable_unknown_and_bad_k(tiny: Instance) -> None:
    with pytest.raises(nx.NetworkXNoPath):
        k_shortest_paths(tiny, "a", "x", 3)
    with pytest.raises(nx.NodeNotFound):
        k_shortest_paths(tiny, "a", "nowhere", 3)
    with pytest.raises(InputError, match="k must be at least 1"):
        k_shortest_paths(tiny, "a", "e", 0)
    with pytest.raises(InputError, match="k must be at least 1"):
        candidate_paths(tiny, 0)


def test_the_model_rules_out_requests_that_cannot_be_routed(tiny: Instance) -> None:
    # so candidate_paths never meets them: source == target, or an unreachable target
    with pytest.raises(InputError, match="source and target are both"):
        tiny.with_requests([Request("f0", "a", "a", Demand.uniform(1))])
    with pytest.raises(InputError, match="unreachable"):
        tiny.with_requests([Request("f0", "a", "y", Demand.uniform(1))])


def test_graph_is_left_as_it_was(tiny: Instance) -> None:
    before = nx.to_dict_of_dicts(tiny.graph)
    k_shortest_paths(tiny, "a", "e", 5, np.arange(arc_table(tiny).n, dtype=float))
    candidate_paths(tiny, 3)
    assert nx.to_dict_of_dicts(tiny.graph) == before


# --------------------------------------------------------------------------- stand-alone costs


@pytest.fixture(scope="module")
def mixed() -> Instance:
    """Two requests, arcs of unequal length, key rate and span, a route cost per arc."""
    links = (
        Link(1, 2, 210.0, key_rate_kbps=0.5),
        Link(2, 3, 90.0, span_km=40.0),
        Link(1, 3, 330.0),
    )
    reqs = (
        Request("f0", 1, 3, Demand((0.0, 1.2, 2.5), (0.3, 0.5, 0.2))),
        Request("f1", 3, 2, Demand.uniform(2)),
    )
    return Instance(
        (1, 2, 3), links, reqs, Params(hop_cost=40.0, W_qkd=60, W_kml=20), CostTable(), name="mixed"
    )


def _alone_on_arc(inst: Instance, f: int, a: int, y: int, z: int) -> float:
    """Cost of request ``f`` alone on arc ``a``, by the plain-Python twin."""
    req = inst.requests[f]
    u, v = inst.nodes[arc_table(inst).tail[a]], inst.nodes[arc_table(inst).head[a]]
    one = Instance(
        inst.nodes,
        inst.links,
        (Request("x", u, v, req.demand),),
        inst.params,
        inst.costs,
        name="alone",
    )
    return reference_evaluate(one, Plan("alone", "hand", (Route("x", (u, v), (y,), (z,)),)))[
        "total"
    ]


def test_standalone_costs_are_the_cheapest_reservations_by_enumeration(mixed: Instance) -> None:
    got = standalone_arc_costs(mixed)
    assert got.shape == (mixed.n_requests, arc_table(mixed).n)
    for f, a in itertools.product(range(mixed.n_requests), range(arc_table(mixed).n)):
        # the cost separates into a QKD part in y and a KM part in z: minimise each
        y_best = min(range(0, 31), key=lambda y: _alone_on_arc(mixed, f, a, y, 0))
        z_best = min(range(0, 11), key=lambda z: _alone_on_arc(mixed, f, a, y_best, z))
        assert got[f, a] == pytest.approx(_alone_on_arc(mixed, f, a, y_best, z_best), rel=1e-9)


def test_standalone_costs_of_no_requests() -> None:
    topo = builtin_topology("nsfnet")
    assert standalone_arc_costs(topo).shape == (0, arc_table(topo).n)
    assert candidate_paths(topo, 3).paths == ()


# --------------------------------------------------------------------------- candidates


def test_candidates_are_the_cheapest_stand_alone_routes_plus_the_shortest() -> None:
    inst = make_instance("nsfnet", 6, 5, seed=4)
    k = 3
    cands = candidate_paths(inst, k)
    assert isinstance(cands, Candidates)
    alone = standalone_arc_costs(inst)
    assert np.array_equal(cands.standalone, alone)
    for f, req in enumerate(inst.requests):
        paths = cands.paths[f]
        every = [tuple(p) for p in nx.all_simple_paths(inst.graph, req.source, req.target)]
        truth = sorted(_weight(inst, p, alone[f]) for p in every)
        ranked = [_weight(inst, p, alone[f]) for p in paths[:k]]
        assert ranked == pytest.approx(truth[:k], rel=1e-12)
        by_length = min(_weight(inst, p) for p in every)
        shortest = [p for p in paths if _weight(inst, p) == pytest.approx(by_length)]
        assert shortest, "the shortest route by length is a candidate"
        # k candidates, plus the shortest by length only when it is not among them
        if len(paths) == k + 1:
            assert paths[-1] not in paths[:k]
            assert _weight(inst, paths[-1]) == pytest.approx(by_length)
        else:
            assert len(paths) == k
        assert len(set(paths)) == len(paths)
        assert set(paths) <= set(every)
        for i, p in enumerate(paths):
            assert cands.arcs[f][i].dtype == np.int64
            assert cands.arcs[f][i].tolist() == inst.path_arcs(p)
            assert cands.index_of(f, list(p)) == i
        assert cands.index_of(f, (req.source, req.target, req.source)) is None


def test_first_candidate_is_the_optimal_route_of_a_lone_request_by_enumeration() -> None:
    # loose capacity: the best plan of one request is its cheapest simple path, each arc
    # with its newsvendor reservations; the twin scores every path
    topo = builtin_topology("nsfnet", Params(W_qkd=500, W_kml=200, hop_cost=30.0))
    for s, t in ((1, 14), (5, 12)):
        inst = topo.with_requests([Request("f0", s, t, Demand.uniform(4))], name="lone")
        costs = {}
        for p in nx.all_simple_paths(inst.graph, s, t):
            arcs = np.asarray(inst.path_arcs(p))
            y, z = newsvendor_reservations(inst, np.zeros_like(arcs), arcs)
            plan = Plan(
                "lone",
                "hand",
                (Route("f0", tuple(p), tuple(int(v) for v in y), tuple(int(v) for v in z)),),
            )
            costs[tuple(p)] = reference_evaluate(inst, plan)["total"]
        first = candidate_paths(inst, 1).paths[0][0]
        assert costs[first] == pytest.approx(min(costs.values()), rel=1e-9)


def test_requests_with_the_same_ends_share_their_candidates(tiny: Instance) -> None:
    inst = tiny.with_requests(
        [
            Request("f0", "a", "e", Demand.uniform(2)),
            Request("f1", "e", "a", Demand.uniform(2)),
            Request("f2", "a", "e", Demand.uniform(2)),
            Request("f3", "a", "e", Demand((0.0, 9.0), (0.5, 0.5))),
        ]
    )
    cands = candidate_paths(inst, 2)
    assert cands.paths[0] == cands.paths[2]
    assert all(p[0] == "e" and p[-1] == "a" for p in cands.paths[1])
    # explicit weights are used as given, one row per request
    w = np.ones((inst.n_requests, arc_table(inst).n))
    w[3, inst.arc_index[("a", "c")]] = 1e6
    w[3, inst.arc_index[("b", "d")]] = 1e6
    got = candidate_paths(inst, 2, w)
    assert np.array_equal(got.standalone, w)
    for f in (0, 2):  # unit weights: the fewest hops first (a-b-d-e and a-c-d-e)
        assert set(got.paths[f][:2]) == {("a", "b", "d", "e"), ("a", "c", "d", "e")}
    # same ends as f0 but other weights, so no shared search: the detour is cheapest
    assert got.paths[3][0] == ("a", "b", "c", "d", "e")
    assert [_weight(inst, p, w[3]) for p in got.paths[3][:2]] == [4.0, 1e6 + 2]
