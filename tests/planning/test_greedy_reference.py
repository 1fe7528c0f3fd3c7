"""The greedy's plans on fixed-charge instances equal those of the slow reference state.

:mod:`tests.planning.greedy_reference` is the state as it was before the
fixed-charge speed-up (reservations in a dict, networkx's Dijkstra, no arc
memo, link closing undone request by request). The planners build their
state through ``SAAGreedy.prepare``; with the reference class in its place
they must return the very same routes and reservations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from qkdbench.heuristics import saa_greedy
from qkdbench.heuristics.alns import ALNSPlanner
from qkdbench.heuristics.saa_greedy import SAAGreedy
from qkdbench.model import Instance, Plan
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.topologies.design import design_instance

from .greedy_reference import ReferenceState

KNOBS: dict[str, Any] = {
    "demand": "heavy",
    "hotspots": 3,
    "fixed_charge_factor": 10.0,
    "tightness": 0.5,
}


def _charged_providers() -> Instance:
    """Providers, link states and prices, and fixed charges on links and nodes."""
    base = link_kinds_and_providers_instance("usnet", 18, 5, seed=4, n_targets=3)
    rng = np.random.default_rng(7)
    links = tuple(
        replace(ln, fixed_cost=float(rng.uniform(2e3, 2e4))) if k % 3 else ln
        for k, ln in enumerate(base.links)
    )
    nodes = {n: float(rng.uniform(1e3, 5e3)) for n in base.nodes[::4]}
    return replace(base, links=links, node_fixed_costs=nodes, name=base.name + "-charged")


INSTANCES = {
    "nsfnet-14": lambda: design_instance("nsfnet", 14, max_rate=4, seed=2, fixed_charge_factor=8.0),
    "usnet-30": lambda: design_instance("usnet", 30, max_rate=10, seed=1, **KNOBS),
    "germany50-40": lambda: design_instance("sndlib/germany50", 40, max_rate=10, seed=5, **KNOBS),
    "cost239-25-site": lambda: design_instance("cost239", 25, max_rate=6, seed=3, site=40000.0),
    "usnet-providers-charged": _charged_providers,
}


def _fingerprint(plan: Plan) -> list[tuple[object, ...]]:
    return [
        (r.request_id, tuple(r.path), r.reserve_qkd, r.reserve_km, r.provider) for r in plan.routes
    ]


def _both(monkeypatch: pytest.MonkeyPatch, make: object, inst: Instance) -> tuple[Plan, Plan]:
    """The plan of ``make()`` with the package's state, then with the reference state."""
    assert callable(make)
    new = make().plan(inst, seed=3)
    with monkeypatch.context() as m:
        m.setattr(saa_greedy, "GreedyState", ReferenceState)
        old = make().plan(inst, seed=3)
    return new, old


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_saa_greedy_plans_equal_the_reference(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    inst = INSTANCES[name]()
    assert inst.has_fixed_charges
    new, old = _both(monkeypatch, SAAGreedy, inst)
    assert old.stats["links_closed"] >= 0  # the reference ran the link closing
    assert _fingerprint(new) == _fingerprint(old)
    for key in ("passes", "moves", "links_closed", "stop"):
        assert new.stats[key] == old.stats[key], key


@pytest.mark.parametrize("name", ["nsfnet-14", "usnet-30"])
def test_without_rebalancing_too(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    inst = INSTANCES[name]()
    new, old = _both(monkeypatch, lambda: SAAGreedy(rebalance=False), inst)
    assert _fingerprint(new) == _fingerprint(old)


def test_alns_on_the_state_equals_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = INSTANCES["usnet-30"]()
    new, old = _both(monkeypatch, lambda: ALNSPlanner(iterations=40, rebuild_every=15), inst)
    assert _fingerprint(new) == _fingerprint(old)
    assert new.stats["iterations"] == old.stats["iterations"] == 40


@pytest.mark.parametrize("name", ["nsfnet-14", "germany50-40", "usnet-providers-charged"])
def test_close_links_reports_what_the_reference_does(name: str) -> None:
    """The link-closing search on the same built state: the same counts and routes."""
    from qkdbench.heuristics.saa_greedy import insert_all
    from qkdbench.planning.greedy import insertion_order

    inst = INSTANCES[name]()
    planner = SAAGreedy()
    outs, routes = [], []
    for cls in (None, ReferenceState):
        state = planner.prepare(inst)
        if cls is not None:
            state = cls(state.instance, state.ladders, state.candidates, state.rebalance)  # type: ignore[assignment]
        order = insertion_order(state.candidates, state.ladders, "cost-desc", state.instance)
        insert_all(state, order)
        state.improve(order)
        outs.append(state.close_links(None, 3))
        routes.append(list(state.route))
    assert outs[0] == outs[1]
    assert routes[0] == routes[1]
    assert outs[0]["tried"] >= 1
