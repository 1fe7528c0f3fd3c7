"""On-demand caps relative to the expected on-demand load, against hand and brute force.

Truth: a hand-computed one-link case; a plain-Python twin that routes every request by
networkx's Dijkstra, finds its newsvendor reservation on each arc by trying every
integer reservation against the scenarios directly, and sums what is left on demand;
and the evaluator's own on-demand and shortfall totals of plans on these instances.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from qkdbench.evaluation import arc_table, evaluate
from qkdbench.exceptions import InputError
from qkdbench.model import CEIL_TOL, Demand, Instance, Link, Plan, Request, Route, Scenarios
from qkdbench.planning.on_demand import (
    expected_on_demand,
    on_demand_caps,
    scenario_instance,
    uncapped,
)
from qkdbench.topologies import joint_scenarios, make_instance
from qkdbench.utils.registry import get_planner


def _one_link() -> Instance:
    """200 km (m = 2); key rate 0, 1, 2 kbps with 0.2, 0.5, 0.3 in three scenarios."""
    sc = Scenarios((0.2, 0.5, 0.3), {"f0": (0.0, 1.0, 2.0)})
    return Instance(
        (1, 2), (Link(1, 2, 200.0),), (Request("f0", 1, 2, sc.marginal("f0")),), scenarios=sc
    )


def test_one_link_by_hand() -> None:
    """QKD: Pr(3P > 3) = 0.3 <= c_r / (c_o - c_e) = 1/3, so 3 reserved, 0.3 x 3 = 0.9 on demand.

    KM (m = 2): c_r = c_e = 3 x 1200 + 150 + 3 x 300 + 200 = 4850 and
    c_o = 3 x 3000 + 500 + 3 x 900 + 800 = 13000, so the ratio is 4850 / 8150 = 0.595:
    Pr(P > 0) = 0.8 is above it, Pr(P > 1) = 0.3 is not; 1 reserved, 0.3 on demand.
    """
    load_y, load_z = expected_on_demand(_one_link())
    assert load_y.tolist() == pytest.approx([0.9, 0.0])
    assert load_z.tolist() == pytest.approx([0.3, 0.0])
    for x, want in ((0.0, (0, 0)), (1.0, (1, 1)), (2.0, (2, 1)), (10.0, (9, 3))):
        link = on_demand_caps(_one_link(), x).links[0]
        assert (link.O_qkd, link.O_kml) == want, x


def _brute_loads(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """Shortest paths by networkx, newsvendor by trying every integer, over the scenarios."""
    sc = inst.scenarios
    assert sc is not None
    prices = arc_table(inst)
    load = {"y": np.zeros(2 * len(inst.links)), "z": np.zeros(2 * len(inst.links))}
    for req in inst.requests:
        path = nx.dijkstra_path(inst.graph, req.source, req.target, weight="length_km")
        for i in range(len(path) - 1):
            a = inst.arc_index[(path[i], path[i + 1])]
            rate = inst.params.key_rate_kbps
            links = [max(0, math.ceil(k / rate - CEIL_TOL)) for k in sc.key_rates[req.id]]
            for kind, per, c in (("y", 3, prices.c_y[:, a]), ("z", 1, prices.c_z[:, a])):
                need = [per * p for p in links]

                def cost(y: int, need: list[int] = need, c: np.ndarray = c) -> float:
                    return float(c[0]) * y + math.fsum(
                        p * (c[1] * min(y, n) + c[2] * (n - min(y, n)))
                        for p, n in zip(sc.probs, need, strict=True)
                    )

                costs = [cost(y) for y in range(max(need) + 1)]
                best = min(costs)
                y = next(y for y, v in enumerate(costs) if v <= best * (1 + 1e-12))
                load[kind][a] += math.fsum(
                    p * max(0, n - y) for p, n in zip(sc.probs, need, strict=True)
                )
    return load["y"], load["z"]


@pytest.mark.parametrize(("topology", "n", "k", "seed"), [("nsfnet", 6, 5, 1), ("usnet", 8, 10, 2)])
def test_loads_and_caps_against_brute_force(topology: str, n: int, k: int, seed: int) -> None:
    inst = joint_scenarios(make_instance(topology, n, k, seed=seed), 9, correlation=0.6, seed=3)
    load_y, load_z = expected_on_demand(inst)
    brute_y, brute_z = _brute_loads(inst)
    assert load_y == pytest.approx(brute_y, abs=1e-9)
    assert load_z == pytest.approx(brute_z, abs=1e-9)
    assert load_y.sum() > 0
    assert load_z.sum() > 0
    capped = on_demand_caps(inst, 0.7)
    for j, link in enumerate(capped.links):
        assert link.O_qkd == math.ceil(0.7 * max(brute_y[2 * j], brute_y[2 * j + 1]) - 1e-9)
        assert link.O_kml == math.ceil(0.7 * max(brute_z[2 * j], brute_z[2 * j + 1]) - 1e-9)
    assert capped.is_coupled
    assert capped.scenarios is not None
    assert capped.scenarios.recipe["on_demand_cap"] == 0.7


def test_the_load_is_what_the_uncapped_newsvendor_plan_buys_on_demand() -> None:
    """The evaluator's expected on-demand wavelengths of that plan, summed over arcs."""
    from qkdbench.evaluation import newsvendor_reservations

    inst = joint_scenarios(make_instance("usnet", 10, 10, seed=4), 15, correlation=0.8, seed=1)
    routes = []
    for f, req in enumerate(inst.requests):
        path = nx.dijkstra_path(inst.graph, req.source, req.target, weight="length_km")
        arcs = inst.path_arcs(path)
        y, z = newsvendor_reservations(inst, f, arcs)
        routes.append(Route(req.id, tuple(path), tuple(y.tolist()), tuple(z.tolist())))
    ev = evaluate(inst, Plan(inst.name, "newsvendor", tuple(routes)))
    load_y, load_z = expected_on_demand(inst)
    assert load_y.sum() == pytest.approx(ev.wavelengths["on_demand_qkd"], rel=1e-12)
    assert load_z.sum() == pytest.approx(ev.wavelengths["on_demand_km"], rel=1e-12)


def test_cap_zero_leaves_nothing_on_demand_and_the_rest_falls_short() -> None:
    base = joint_scenarios(make_instance("nsfnet", 8, 10, seed=1), 12, correlation=0.5, seed=2)
    zero = on_demand_caps(base, 0.0, shortfall_factor=3.0)
    assert all((ln.O_qkd, ln.O_kml) == (0, 0) for ln in zero.links)
    plan = get_planner("coqbn").plan(zero)
    ev, free = evaluate(zero, plan), evaluate(uncapped(zero), plan)
    assert ev.phases["on_demand"] == 0.0
    assert ev.wavelengths["shortfall_qkd"] == pytest.approx(free.wavelengths["on_demand_qkd"])
    assert ev.wavelengths["shortfall_km"] == pytest.approx(free.wavelengths["on_demand_km"])
    assert ev.phases["shortfall"] == pytest.approx(3.0 * free.phases["on_demand"])
    assert ev.total == pytest.approx(free.total + 2.0 * free.phases["on_demand"])


def test_no_cap_scores_as_the_marginals_and_a_cap_costs_at_least_as_much() -> None:
    base = make_instance("nsfnet", 8, 10, seed=1)
    free = scenario_instance(base, 12, correlation=0.9, seed=2)
    capped = scenario_instance(base, 12, correlation=0.9, seed=2, on_demand_cap=0.5)
    assert not free.is_coupled
    assert capped.is_coupled
    plan = get_planner("coqbn").plan(capped)
    marg = evaluate(uncapped(free), plan).total
    assert evaluate(free, plan).total == pytest.approx(marg, rel=1e-12)
    assert evaluate(capped, plan).total >= marg


def test_random_links_and_anycast_requests_get_caps() -> None:
    inst = scenario_instance(
        make_instance("usnet-ntn", 8, 10, seed=1), 20, correlation=0.5, seed=1, on_demand_cap=1.0
    )
    assert {"coupled", "link_states", "providers"} <= inst.features
    assert all(ln.O_qkd is not None and ln.O_kml is not None for ln in inst.links)
    assert sum(ln.O_qkd or 0 for ln in inst.links) > 0
    ev = evaluate(inst, get_planner("coqbn").plan(inst))
    assert ev.feasible
    assert math.isfinite(ev.total)


def test_bad_caps_are_refused_naming_the_parameter() -> None:
    inst = _one_link()
    for bad in (-1.0, float("nan"), float("inf"), True):
        with pytest.raises(InputError) as exc:
            on_demand_caps(inst, bad)
        assert exc.value.place == "on_demand_cap"
    with pytest.raises(InputError) as exc:
        on_demand_caps(inst, 1.0, shortfall_factor=0.5)
    assert exc.value.place == "shortfall_factor"
    no_scenarios = Instance((1, 2), (Link(1, 2, 100.0),), (Request("f0", 1, 2, Demand.uniform(2)),))
    with pytest.raises(InputError, match="needs joint scenarios") as exc:
        on_demand_caps(no_scenarios, 1.0)
    assert exc.value.place == "on_demand_cap"
    with pytest.raises(InputError, match="needs an on-demand cap") as exc:
        scenario_instance(make_instance("nsfnet", 2, 2, seed=1), 3, correlation=0.0, seed=1,
                          shortfall_factor=2.0)  # fmt: skip
    assert exc.value.place == "shortfall_factor"
