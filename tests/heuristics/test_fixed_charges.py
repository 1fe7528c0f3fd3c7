"""Planners on fixed-charge instances: the greedy and the GA see shared links."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exact import solve_sp
from qkdbench.exceptions import InputError
from qkdbench.heuristics.ga import GeneticPlanner
from qkdbench.heuristics.saa_greedy import SAAGreedy
from qkdbench.model import Demand, Instance, Link, Request
from qkdbench.topologies import design_instance


def _diamond(charge: float) -> Instance:
    """Two requests 1->4 and 2->4; a shared trunk 3-4 (charged) vs private direct links."""
    links = (
        Link(1, 3, 100.0),
        Link(2, 3, 100.0),
        Link(3, 4, 100.0, fixed_cost=charge),
        Link(1, 4, 150.0, fixed_cost=charge),
        Link(2, 4, 150.0, fixed_cost=charge),
    )
    reqs = (Request("f0", 1, 4, Demand.point(1.0)), Request("f1", 2, 4, Demand.point(1.0)))
    return Instance((1, 2, 3, 4), links, reqs, name=f"diamond{charge:g}")


def test_greedy_consolidates_onto_a_shared_link() -> None:
    # without charges each request takes its direct 150 km link (one hop, cheaper)
    free = SAAGreedy().plan(_diamond(0.0))
    assert all(len(r.path) == 2 for r in free.routes)
    # with a large charge per link, sharing the trunk pays one charge instead of two
    inst = _diamond(1e6)
    plan = SAAGreedy().plan(inst)
    assert all(r.path[-2:] == (3, 4) for r in plan.routes)
    assert evaluate(inst, plan).components["site"] == 1e6
    assert evaluate(inst, plan).total == pytest.approx(
        solve_sp(inst, gap_rel=0.0).objective, rel=1e-9
    )


def test_greedy_state_counts_the_users_of_links_and_nodes() -> None:
    inst = design_instance("nsfnet", 12, max_rate=4, seed=2, fixed_charge_factor=5.0, tightness=0.6)
    state, _ = SAAGreedy().build(inst)
    links = np.zeros(len(inst.links), int)
    nodes = np.zeros(len(inst.nodes), int)
    for f, i in enumerate(state.route):
        assert i is not None  # a built state routes every request
        arcs = state.candidates.arcs[f][i]
        links[arcs // 2] += 1
        for n in state.candidates.paths[f][i]:
            nodes[inst.node_index[n]] += 1
    assert state.link_users.tolist() == links.tolist()
    assert state.node_users.tolist() == nodes.tolist()
    # removing every request frees every link and node
    for f in range(inst.n_requests):
        state.remove(f)
    assert not state.link_users.any()
    assert not state.node_users.any()


def test_link_closing_never_raises_the_cost_and_the_ga_never_loses_to_its_seeds() -> None:
    inst = design_instance(
        "cost239", 15, max_rate=6, seed=1, fixed_charge_factor=10.0, tightness=0.5, hotspots=2
    )
    plain = SAAGreedy(close_rounds=0).plan(inst)
    closing = SAAGreedy().plan(inst)
    assert evaluate(inst, closing).total <= evaluate(inst, plain).total * (1 + 1e-12)
    ga = GeneticPlanner(generations=15, population=16).plan(inst, seed=3)
    assert ga == GeneticPlanner(generations=15, population=16).plan(inst, seed=3)
    cost = evaluate(inst, ga).total
    assert cost <= min(ga.stats["seed_costs"].values()) * (1 + 1e-12)
    assert ga.stats["anytime"][-1]["best"] == pytest.approx(cost, rel=1e-12)
    exact = solve_sp(inst, warm_start=closing)
    assert exact.status == "optimal"
    assert exact.objective <= cost * (1 + 1e-9)


def test_rl_environments_take_derived_and_node_charges_and_refuse_coupled() -> None:
    from qkdbench.rl.core import build_tables
    from qkdbench.testing.instances import feature_instance

    charges: tuple[dict[str, Any], ...] = ({"site": 100.0}, {})  # design_instance keywords
    for kw in charges:
        inst = design_instance("nsfnet", 4, max_rate=3, seed=1, **kw)
        if not kw:  # a node charge only
            from dataclasses import replace

            inst = replace(inst, node_fixed_costs={inst.nodes[0]: 5.0})
        assert "fixed_charges" in inst.features
        build_tables(inst)  # the environments pose fixed charges now
    with pytest.raises(InputError, match="coupled"):
        build_tables(feature_instance("coupled"))


def test_lagrangian_planner_on_fixed_charges_sits_between_its_bound_and_above_the_optimum() -> None:
    """Its column pool feeds the greedy's network moves (they route on stand-alone arc costs);
    the plan it returns is feasible, no cheaper than the exact optimum, and its bound is below."""
    from qkdbench.exact.lagrangian import LagrangianPlanner

    inst = design_instance(
        "nsfnet",
        8,
        max_rate=6,
        seed=2,
        demand="heavy",
        hotspots=2,
        fixed_charge_factor=10.0,
        tightness=0.5,
    )
    plan = LagrangianPlanner(iterations=100).plan(inst, seed=0)
    ev = evaluate(inst, plan)
    opt = solve_sp(inst, time_limit=120)
    assert ev.feasible
    assert opt.status == "optimal"
    assert plan.stats["bound"] <= opt.objective * (1 + 1e-6) <= ev.total * (1 + 1e-6)
