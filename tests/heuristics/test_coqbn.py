"""CO-QBN: shortest paths, deterministic provisioning, first-fit reservations."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.heuristics.coqbn import CoQBN
from qkdbench.model import Demand, Instance, Link, Params, Request
from qkdbench.topologies import make_instance


def test_routes_are_shortest_paths_with_mean_provisioning() -> None:
    inst = make_instance("usnet", 12, 10, seed=4)
    plan = CoQBN().plan(inst)
    for req, route in zip(inst.requests, plan.routes, strict=True):
        assert route.request_id == req.id
        assert list(route.path) == nx.dijkstra_path(
            inst.graph, req.source, req.target, weight="length_km"
        )
    # first request meets free capacity: ceil(E[kappa]) = 5 links -> 15 QKD, 5 KM
    assert set(plan.routes[0].reserve_qkd) == {15}
    assert set(plan.routes[0].reserve_km) == {5}
    assert evaluate(inst, plan).feasible
    assert plan.status == "heuristic"


def test_first_fit_respects_capacity_in_request_order() -> None:
    demand = Demand.point(3.0)  # 3 links: 9 QKD, 3 KM wavelengths per arc
    inst = Instance(
        (1, 2),
        (Link(1, 2, 100.0),),
        tuple(Request(f"f{i}", 1, 2, demand) for i in range(3)),
        Params(W_qkd=20, W_kml=7),
    )
    plan = CoQBN().plan(inst)
    assert [r.reserve_qkd[0] for r in plan.routes] == [9, 9, 2]
    assert [r.reserve_km[0] for r in plan.routes] == [3, 3, 1]
    assert evaluate(inst, plan).feasible


@pytest.mark.parametrize(("level", "links"), [("mean", 2), ("max", 4), (0.5, 1), (0.9, 4)])
def test_provisioning_level(level: str | float, links: int) -> None:
    demand = Demand((0.0, 1.0, 4.0), (0.3, 0.3, 0.4))  # mean 1.9 -> 2 links
    inst = Instance((1, 2), (Link(1, 2, 100.0, key_rate_kbps=1.0),), (Request("f0", 1, 2, demand),))
    plan = CoQBN(level=level).plan(inst)
    assert plan.routes[0].reserve_qkd == (3 * links,)
    assert plan.routes[0].reserve_km == (links,)


def test_per_arc_key_rate_changes_the_link_count() -> None:
    inst = Instance(
        (1, 2, 3),
        (Link(1, 2, 100.0, key_rate_kbps=0.5), Link(2, 3, 100.0)),
        (Request("f0", 1, 3, Demand.point(1.5)),),
    )
    plan = get_planner("coqbn").plan(inst)
    assert plan.routes[0].reserve_qkd == (3 * math.ceil(1.5 / 0.5), 3 * 2)


def test_unknown_level_is_an_error() -> None:
    inst = make_instance("cost239", 2, 3, seed=1)
    with pytest.raises(InputError, match="provisioning level"):
        CoQBN(level="median").plan(inst)
