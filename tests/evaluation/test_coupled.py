"""The coupled second stage: on-demand caps, shortfall and joint scenarios.

Independent truths: the plain-Python twin (which walks the scenarios per arc), a
brute-force enumeration of every second-stage decision per (scenario, arc), a
hand-computed case, and the marginal kernel where no coupling is left.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from qkdbench.evaluation import evaluate, evaluate_batch
from qkdbench.evaluation.pricing import arc_table, qkd_links_needed
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.exceptions import InputError
from qkdbench.io import instance_from_dict, instance_to_dict
from qkdbench.model import Demand, Instance, Link, Params, Plan, Request, Route, Scenarios
from qkdbench.testing.instances import coupled_instance, feature_instance
from qkdbench.utils.random import check_random_state


def random_plan(inst: Instance, seed: int, top: int = 6) -> Plan:
    """Random simple paths (a random walk to the target) with random reservations."""
    import networkx as nx

    rng = check_random_state(seed)
    routes = []
    for req in inst.requests:
        paths = list(nx.all_simple_paths(inst.graph, req.source, req.target))
        path = paths[int(rng.integers(len(paths)))]
        n = len(path) - 1
        routes.append(
            Route(
                req.id,
                tuple(path),
                tuple(int(x) for x in rng.integers(0, top + 1, n)),
                tuple(int(x) for x in rng.integers(0, top // 3 + 2, n)),
            )
        )
    return Plan(inst.name, "random", tuple(routes))


def brute_second_stage(inst: Instance, plan: Plan) -> float:
    """Expected recourse by enumerating every integer second stage per (scenario, arc).

    Per arc and scenario: how many reserved wavelengths each request uses (0 up to its
    reservation and need) and how many the arc buys on demand (0 up to the cap); the
    rest falls short. Nothing of the closed form is used.
    """
    arcs = arc_table(inst)
    sc = inst.scenarios
    assert sc is not None
    phi = inst.params.shortfall_factor
    on_arc: dict[int, list[tuple[str, float, float]]] = {}
    for route in plan.routes:
        for i, a in enumerate(inst.path_arcs(route.path)):
            on_arc.setdefault(a, []).append(
                (route.request_id, route.reserve_qkd[i], route.reserve_km[i])
            )
    total = 0.0
    for s, prob in enumerate(sc.probs):
        for a, users in on_arc.items():
            k = a // 2
            rate = (
                sc.link_key_rates[k][s]
                if k in sc.link_key_rates
                else float(inst.links[k].key_rate_kbps or inst.params.key_rate_kbps)  # type: ignore[arg-type]
            )
            caps = inst.on_demand_cap(k)
            for kind, (c_row, w) in enumerate(((arcs.c_y, 3), (arcs.c_z, 1))):
                needs = [w * int(qkd_links_needed(sc.key_rates[r][s], rate)) for r, _, _ in users]
                reserved = [int(u[1 + kind]) for u in users]
                cap = caps[kind]
                best = math.inf
                for used in itertools.product(
                    *(range(min(r, n) + 1) for r, n in zip(reserved, needs, strict=True))
                ):
                    residual = sum(needs) - sum(used)
                    top = residual if math.isinf(cap) else min(residual, int(cap))
                    for bought in range(top + 1):
                        cost = (
                            c_row[1, a] * sum(used)
                            + c_row[2, a] * bought
                            + phi * c_row[2, a] * (residual - bought)
                        )
                        best = min(best, cost)
                total += prob * best
    return total


@pytest.mark.parametrize("seed", range(12))
def test_kernel_equals_twin_and_brute_force(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=2 + seed % 3, link_states=seed % 2 == 1)
    plan = random_plan(inst, seed)
    ev = evaluate(inst, plan)
    ref = reference_evaluate(inst, plan)
    assert ev.total == pytest.approx(ref["total"], rel=1e-12)
    assert ev.first_stage == pytest.approx(ref["first_stage"], rel=1e-12)
    assert ev.second_stage == pytest.approx(brute_second_stage(inst, plan), rel=1e-12)
    for comp, value in ref["components"].items():
        assert ev.components.get(comp, 0.0) == pytest.approx(value, rel=1e-12, abs=1e-9)
    for key, value in ref["wavelengths"].items():
        assert ev.wavelengths[key] == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert ev.phases["shortfall"] == pytest.approx(ref["phases"]["shortfall"], rel=1e-12, abs=1e-9)
    assert math.fsum(ev.request_costs) == pytest.approx(ev.total, rel=1e-12)


def test_hand_computed_arc() -> None:
    # one arc of 100 km (m = 1); two requests; QKD cap 4 on demand, KM unlimited.
    sc = Scenarios((0.5, 0.5), {"f0": (0.0, 2.0), "f1": (1.0, 2.0)})
    reqs = tuple(Request(r, 1, 2, sc.marginal(r)) for r in ("f0", "f1"))
    inst = Instance(
        (1, 2), (Link(1, 2, 100.0),), reqs, Params(O_qkd=4, shortfall_factor=2.0), scenarios=sc
    )
    plan = Plan(
        inst.name, "hand", (Route("f0", (1, 2), (3,), (0,)), Route("f1", (1, 2), (0,), (0,)))
    )
    cy = arc_table(inst).c_y[:, 0]
    cz = arc_table(inst).c_z[:, 0]
    # scenario 1: f0 needs 0, f1 needs 3 QKD (1 KM): residual 3 <= 4, all bought on demand.
    s1 = cy[2] * 3 + cz[2] * 1
    # scenario 2: f0 needs 6 and uses its 3 reserved; f1 needs 6: residual 9, 4 bought, 5 short.
    s2 = cy[1] * 3 + cy[2] * 4 + 2.0 * cy[2] * 5 + cz[2] * 4
    expected = cy[0] * 3 + 0.5 * s1 + 0.5 * s2
    ev = evaluate(inst, plan)
    assert ev.total == pytest.approx(expected, rel=1e-14)
    assert ev.wavelengths["shortfall_qkd"] == pytest.approx(2.5)
    assert ev.components["shortfall"] == pytest.approx(0.5 * 2.0 * cy[2] * 5)


@pytest.mark.parametrize("seed", range(6))
def test_batch_equals_single(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=3, n_scenarios=4, link_states=seed % 2 == 0)
    plans = [random_plan(inst, 100 * seed + b) for b in range(5)]
    batch = evaluate_batch(inst, plans)
    for b, plan in enumerate(plans):
        ev = evaluate(inst, plan)
        assert batch.total[b] == pytest.approx(ev.total, rel=1e-12)
        assert batch.first_stage[b] == pytest.approx(ev.first_stage, rel=1e-12)
        assert bool(batch.feasible[b]) == ev.feasible


def _uncapped(inst: Instance) -> Instance:
    links = tuple(replace(ln, O_qkd=None, O_kml=None) for ln in inst.links)
    params = replace(inst.params, O_qkd=None, O_kml=None)
    return replace(inst, links=links, params=params)


def _marginal_only(inst: Instance) -> Instance:
    return replace(inst, scenarios=None)


@pytest.mark.parametrize("seed", range(6))
def test_no_cap_scores_as_marginals(seed: int) -> None:
    """Without a finite cap and without listed link states the scenarios change nothing."""
    inst = _uncapped(coupled_instance(seed, n_requests=3, n_scenarios=5))
    assert "coupled" not in inst.features
    marg = _marginal_only(inst)
    for b in range(4):
        plan = random_plan(inst, 7 * seed + b)
        assert evaluate(inst, plan).total == pytest.approx(evaluate(marg, plan).total, rel=1e-12)
        # and the coupled kernel itself, through the twin that walks every scenario
        assert reference_evaluate(inst, plan)["total"] == pytest.approx(
            evaluate(marg, plan).total, rel=1e-12
        )


def test_coupled_kernel_with_independent_link_states_matches_marginal_kernel() -> None:
    """Listed link states make the instance coupled; as a product they equal the marginals."""
    demand = {"f0": (0.0, 1.0, 3.0), "f1": (2.0, 2.0, 1.0)}
    dprob = (0.2, 0.5, 0.3)
    states, sprob = (0.5, 1.0), (0.4, 0.6)
    probs: list[float] = []
    link: list[float] = []
    rates: dict[str, list[float]] = {"f0": [], "f1": []}
    for (i, p), (j, q) in itertools.product(enumerate(dprob), enumerate(sprob)):
        probs.append(p * q)
        for r in rates:
            rates[r].append(demand[r][i])
        link.append(states[j])
    sc = Scenarios(tuple(probs), {r: tuple(v) for r, v in rates.items()}, {1: tuple(link)})
    links = (
        Link(1, 2, 150.0),
        Link(2, 3, 220.0, key_rate_kbps=Demand(states, sprob)),
        Link(1, 3, 500.0),
    )
    reqs = tuple(Request(r, 1, 3, sc.marginal(r)) for r in ("f0", "f1"))
    inst = Instance((1, 2, 3), links, reqs, scenarios=sc)
    assert "coupled" in inst.features
    # the marginal instance: every demand independent of the link state
    marg = Instance(
        (1, 2, 3), links, tuple(Request(r, 1, 3, Demand(demand[r], dprob)) for r in ("f0", "f1"))
    )
    plan = Plan(
        inst.name, "hand", (Route("f0", (1, 2, 3), (4, 2), (1, 1)), Route("f1", (1, 3), (5,), (2,)))
    )
    assert evaluate(inst, plan).total == pytest.approx(evaluate(marg, plan).total, rel=1e-12)


def test_pair_costs_refuse_coupled() -> None:
    from qkdbench.evaluation import pair_costs

    inst = feature_instance("coupled")
    with pytest.raises(InputError, match="coupled"):
        pair_costs(inst, np.array([0]), np.array([0]), np.array([1.0]), np.array([0.0]))


def test_round_trip_file() -> None:
    inst = coupled_instance(3, link_states=True)
    data = instance_to_dict(inst)
    assert data["format"] == "qkdbench-instance/2"
    assert all("demand" not in r for r in data["requests"])
    back = instance_from_dict(data)
    assert back == inst
    plan = random_plan(inst, 3)
    assert evaluate(back, plan).total == evaluate(inst, plan).total


def _file() -> dict:
    return {
        "format": "qkdbench-instance/2",
        "params": {"O_qkd": 2},
        "nodes": [{"id": 1}, {"id": 2}],
        "links": [{"u": 1, "v": 2, "length_km": 100}],
        "requests": [{"id": "f0", "source": 1, "target": 2}],
        "scenarios": {"probs": [0.5, 0.5], "key_rates": {"f0": [0, 2]}},
    }


@pytest.mark.parametrize(
    ("edit", "place", "words"),
    [
        (lambda d: d.update(format="qkdbench-instance/1"), "scenarios", "needs format"),
        (
            lambda d: (d.update(format="qkdbench-instance/1"), d.pop("scenarios")),
            "params.O_qkd",
            "needs format",
        ),
        (
            lambda d: d["requests"][0].update(demand={"values": [1], "probs": [1]}),
            "requests[0].demand",
            "not both",
        ),
        (lambda d: d.pop("scenarios"), "requests[0]", "missing key 'demand'"),
        (lambda d: d["scenarios"]["key_rates"].pop("f0"), "scenarios.key_rates", "not listed"),
        (
            lambda d: d["scenarios"]["key_rates"].update(g=[1, 1]),
            "scenarios.key_rates.g",
            "unknown request",
        ),
        (lambda d: d["scenarios"].update(probs=[0.5, 0.6]), "scenarios.probs", "sum to"),
        (
            lambda d: d["scenarios"]["key_rates"].update(f0=[1]),
            "scenarios.key_rates.f0",
            "1 values for 2",
        ),
        (lambda d: d["scenarios"]["key_rates"].update(f0=[1, -1]), "scenarios.key_rates.f0[1]", ""),
        (lambda d: d["params"].update(O_qkd=1.5), "params.O_qkd", "integer"),
        (lambda d: d["params"].update(O_qkd=-1), "params.O_qkd", ""),
        (
            lambda d: d["params"].update(shortfall_factor=0.5),
            "params.shortfall_factor",
            "at least 1",
        ),
        (lambda d: d["links"][0].update(O_kml=-2), "links[0].O_kml", ""),
        (
            lambda d: d["scenarios"].update(link_key_rates={"0": [1, 1]}),
            "scenarios.link_key_rates.0",
            "fixed key rate",
        ),
        (
            lambda d: d["scenarios"].update(link_key_rates={"01": [1, 1]}),
            "scenarios.link_key_rates.01",
            "0-based",
        ),
        (lambda d: d["scenarios"].update(extra=1), "scenarios.extra", "unknown key"),
        (
            lambda d: d["links"][0].update(key_rate_kbps={"values": [0.5, 1], "probs": [0.5, 0.5]}),
            "scenarios.link_key_rates",
            "not listed",
        ),
        (
            lambda d: (
                d["links"][0].update(key_rate_kbps={"values": [0.5, 1], "probs": [0.5, 0.5]}),
                d["scenarios"].update(link_key_rates={"0": [0.5, 0.5]}),
            ),
            "links[0].key_rate_kbps",
            "marginal",
        ),
        (
            lambda d: d["links"][0].update(
                kind="free-space",
                unit_costs={"qkd": {"r": 1, "e": 5, "o": 3}, "km": {"r": 1, "e": 1, "o": 2}},
            ),
            "links[0]",
            "c[e]",
        ),
    ],
)
def test_bad_files_are_refused(edit: Callable[[dict], object], place: str, words: str) -> None:
    data = _file()
    edit(data)
    with pytest.raises(InputError) as err:
        instance_from_dict(data)
    assert err.value.place == place, str(err.value)
    assert words in str(err.value)


def test_cap_without_scenarios_refused() -> None:
    data = _file()
    data.pop("scenarios")
    data["requests"][0]["demand"] = {"values": [0, 2], "probs": [0.5, 0.5]}
    with pytest.raises(InputError, match="needs the joint scenarios") as err:
        instance_from_dict(data)
    assert err.value.place == "params.O_qkd"


def test_planners_without_support_refuse_coupled() -> None:
    from qkdbench.heuristics import get_planner

    inst = feature_instance("coupled")
    with pytest.raises(InputError, match="coupled second stage"):
        get_planner("lagrangian").plan(inst)
    plan = get_planner("coqbn").plan(inst)
    assert evaluate(inst, plan).feasible


#: Every built-in planner that plans an uncoupled instance, with a small budget.
_PLANNERS: dict[str, dict[str, object]] = {
    "coqbn": {},
    "saa-greedy": {},
    "ga": {"population": 8, "generations": 5},
    "alns": {"iterations": 20},
    "exact": {},
    "column-generation": {},
    "lagrangian": {},
    "l-shaped": {},
    "rl-greedy": {},
}


@pytest.mark.parametrize("name", sorted(_PLANNERS))
def test_no_cap_scores_each_planners_plan_as_marginals(name: str) -> None:
    """Each planner's plan of an instance with scenarios but no cap: the coupled twin,
    walking every scenario, gives the marginal kernel's total."""
    from qkdbench.heuristics import get_planner

    inst = _uncapped(coupled_instance(2, n_requests=3, n_scenarios=5))
    assert "coupled" not in inst.features
    plan = get_planner(name, **_PLANNERS[name]).plan(inst, seed=0)
    marginal = evaluate(_marginal_only(inst), plan).total
    assert evaluate(inst, plan).total == pytest.approx(marginal, rel=1e-12)
    assert reference_evaluate(inst, plan)["total"] == pytest.approx(marginal, rel=1e-12)
