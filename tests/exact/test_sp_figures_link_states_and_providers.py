"""Joint scenarios with link states and with provider targets in the SP figures.

A joint scenario draws one key rate per request and one state per link with a
random key rate; the scenario's instance fixes both. Truth comes from the
model's probabilities (sampling frequencies), hand-computed counts, the full
product enumeration against the evaluator's exact expectation, and the
plain-Python twin.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qkdbench.evaluation import arc_table, evaluate, support_table
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.evaluation.sampling import (
    JointScenarios,
    enumerate_scenarios,
    sample_joint_scenarios,
    sample_scenarios,
)
from qkdbench.evaluation.sp_measures import (
    empirical_instance,
    mean_value_instance,
    out_of_sample,
    scenario_costs,
    scenario_instance,
    scenario_mean,
)
from qkdbench.exact.planners import ExactPlanner
from qkdbench.exact.sp_figures import sp_figures
from qkdbench.exact.sp_milp import solve_sp
from qkdbench.exceptions import InputError
from qkdbench.io import write_instance
from qkdbench.model import (
    Demand,
    Instance,
    Link,
    Plan,
    Provider,
    Request,
    Route,
    Target,
    UnitCosts,
)
from qkdbench.utils.registry import planner_supports
from tests.fixture_types import RunCli

L0_STATES = ((0.5, 1.0), (0.3, 0.7))
L1_STATES = ((0.1, 0.4, 1.0), (0.2, 0.3, 0.5))
SAT = UnitCosts(qkd=(400.0, 400.0, 1600.0), km=(300.0, 300.0, 1200.0))


def _links() -> tuple[Link, ...]:
    return (
        Link(1, 2, 100.0, key_rate_kbps=Demand(*L0_STATES)),  # L0 random
        Link(
            2,
            3,
            500.0,
            kind="satellite",
            unit_costs=SAT,
            key_rate_kbps=Demand(*L1_STATES),
            W_qkd=30,
        ),  # L1 random
        Link(1, 3, 400.0),  # L2 fixed
        Link(3, 4, 150.0, key_rate_kbps=2.0),  # L3 fixed
        Link(2, 4, 300.0),  # L4 fixed
    )


@pytest.fixture(scope="module")
def states_net() -> Instance:
    """Two random links (2 and 3 states), one of them a priced satellite link."""
    return Instance(
        nodes=(1, 2, 3, 4),
        links=_links(),
        requests=(
            Request("f0", 1, 3, Demand.uniform(2)),
            Request("f1", 2, 4, Demand((1.0, 3.0), (0.6, 0.4))),
            Request("f2", 1, 4, Demand((0.0, 2.0), (0.5, 0.5))),
        ),
        name="states-tiny",
    )


@pytest.fixture(scope="module")
def providers_net() -> Instance:
    """The link-states network plus a node 5, two anycast requests and providers of capacity 1."""
    return Instance(
        nodes=(1, 2, 3, 4, 5),
        links=_links() + (Link(4, 5, 120.0),),
        requests=(
            Request("f0", 1, 3, Demand.uniform(2)),
            Request(
                "g0",
                1,
                None,
                Demand((1.0, 2.0), (0.5, 0.5)),
                (Target(4, "A", 100.0), Target(5, "B", 50.0)),
            ),
            Request(
                "g1",
                2,
                None,
                Demand((0.0, 3.0), (0.25, 0.75)),
                (Target(4, "A", 80.0), Target(3, "B", 20.0)),
            ),
        ),
        providers=(Provider("A", 1), Provider("B", 1)),
        name="providers-tiny",
    )


def _states_plan(inst: Instance) -> Plan:
    """Routes over both random links (f0 and f1 share the satellite link)."""
    return Plan(
        inst.name,
        "hand",
        (
            Route("f0", (1, 2, 3), (3, 3), (1, 1)),
            Route("f1", (2, 3, 4), (6, 3), (2, 1)),
            Route("f2", (1, 2, 4), (6, 0), (2, 0)),
        ),
    )


def _providers_plan(inst: Instance) -> Plan:
    return Plan(
        inst.name,
        "hand",
        (
            Route("f0", (1, 2, 3), (3, 3), (1, 1)),
            Route("g0", (1, 2, 4), (3, 6), (1, 2), provider="A"),
            Route("g1", (2, 3), (9,), (3,), provider="B"),
        ),
    )


# --------------------------------------------------------------------------- sampling


def _within(freq: float, p: float, n: int, k: float = 5.0) -> bool:
    """``freq`` within ``k`` binomial standard errors of ``p``."""
    return abs(freq - p) <= k * math.sqrt(p * (1.0 - p) / n)


def test_link_states_drawn_with_their_probabilities(states_net: Instance) -> None:
    n = 40_000
    sc = sample_joint_scenarios(states_net, n, seed=5)
    assert sc.random_links == (0, 1)
    assert sc.link_state.shape == (n, 5)
    assert sc.link_rate.shape == (n, 5)
    for k, (rates, probs) in ((0, L0_STATES), (1, L1_STATES)):
        for j, p in enumerate(probs):
            freq = float(np.mean(sc.link_state[:, k] == j))
            assert _within(freq, p, n), (k, j, freq, p)
        # the rate column is the state's rate
        np.testing.assert_array_equal(sc.link_rate[:, k], np.asarray(rates)[sc.link_state[:, k]])
    # links with one state: state 0, their fixed rate (instance default 1.0, or their own)
    assert (sc.link_state[:, 2:] == 0).all()
    assert (sc.link_rate[:, 2] == 1.0).all()
    assert (sc.link_rate[:, 3] == 2.0).all()
    # independence: joint frequencies of two links' states, and of a link state and a demand
    for j0, p0 in enumerate(L0_STATES[1]):
        for j1, p1 in enumerate(L1_STATES[1]):
            freq = float(np.mean((sc.link_state[:, 0] == j0) & (sc.link_state[:, 1] == j1)))
            assert _within(freq, p0 * p1, n)
        for v in (0.0, 1.0, 2.0):
            freq = float(np.mean((sc.link_state[:, 0] == j0) & (sc.demand[:, 0] == v)))
            assert _within(freq, p0 / 3.0, n)
    # demands are those of the demand-only sampler with the same seed
    np.testing.assert_array_equal(sc.demand, sample_scenarios(states_net, n, seed=5))


def test_same_seed_same_scenarios(states_net: Instance) -> None:
    a, b = (sample_joint_scenarios(states_net, 500, seed=[3, 1]) for _ in range(2))
    c = sample_joint_scenarios(states_net, 500, seed=[3, 2])
    for name in ("demand", "link_state", "link_rate"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.link_state, c.link_state)
    with pytest.raises(InputError):
        sample_joint_scenarios(states_net, 0, seed=1)


def test_enumeration_is_the_product_distribution(states_net: Instance) -> None:
    sc = enumerate_scenarios(states_net)
    assert len(sc) == 3 * 2 * 2 * 2 * 3
    assert sc.prob is not None  # enumerated scenarios carry their probabilities
    assert math.isclose(float(sc.prob.sum()), 1.0, rel_tol=1e-12)
    # distinct rows, and the probability of one hand-picked scenario
    rows = {tuple(d) + tuple(s) for d, s in zip(sc.demand, sc.link_state, strict=True)}
    assert len(rows) == len(sc)
    hit = np.flatnonzero(
        (sc.demand[:, 0] == 2.0)
        & (sc.demand[:, 1] == 3.0)
        & (sc.demand[:, 2] == 0.0)
        & (sc.link_state[:, 0] == 0)
        & (sc.link_state[:, 1] == 2)
    )
    assert hit.size == 1
    assert sc.prob[hit[0]] == pytest.approx((1 / 3) * 0.4 * 0.5 * 0.3 * 0.5, rel=1e-12)
    with pytest.raises(InputError, match="more than 10"):
        enumerate_scenarios(states_net, max_scenarios=10)


# --------------------------------------------------------------------------- scenario instances


def test_scenario_instance_shares_each_link_state(states_net: Instance) -> None:
    sc = sample_joint_scenarios(states_net, 50, seed=2)
    i = int(np.flatnonzero((sc.link_state[:, 0] == 0) & (sc.link_state[:, 1] == 0))[0])
    one = scenario_instance(states_net, sc.scenario(i))
    assert one.features == frozenset({"link_prices"})  # no random key rate left
    arcs, sup = arc_table(one), support_table(one)
    for k in (0, 1):
        rate = L0_STATES[0][0] if k == 0 else L1_STATES[0][0]
        assert one.links[k].key_rate_kbps == rate == sc.link_rate[i, k]
        assert arcs.key_rate_kbps[2 * k] == arcs.key_rate_kbps[2 * k + 1] == rate
        for f, req in enumerate(one.requests):
            kappa = float(sc.demand[i, f])
            assert req.demand == Demand.point(kappa)
            need = math.ceil(kappa / rate - 1e-9)
            for a in (2 * k, 2 * k + 1):  # both arcs, every request: one state
                counts, probs = sup.link_counts(int(sup.arc_class[a]), f)
                assert counts.tolist() == [need]
                assert probs.tolist() == [1.0]
    # every other field of a link survives; fixed links are untouched
    assert one.links[1].kind == "satellite"
    assert one.links[1].unit_costs == SAT
    assert one.links[1].W_qkd == 30
    assert one.links[2:] == states_net.links[2:]
    # the scenario's cost of a plan is the twin's cost of the scenario instance
    plan = _states_plan(states_net)
    costs = scenario_costs(states_net, plan, sc)
    for j in (i, 0, 17, 49):
        twin = reference_evaluate(scenario_instance(states_net, sc.scenario(j)), plan)["total"]
        assert costs[j] == pytest.approx(twin, rel=1e-12)


def test_demand_rows_refused_when_links_have_states(states_net: Instance) -> None:
    with pytest.raises(InputError, match="link states"):
        scenario_costs(
            states_net, _states_plan(states_net), sample_scenarios(states_net, 5, seed=1)
        )
    with pytest.raises(InputError, match="one scenario"):
        scenario_instance(states_net, sample_joint_scenarios(states_net, 2, seed=1))


def test_targets_and_providers_survive_derived_instances(providers_net: Instance) -> None:
    sc = sample_joint_scenarios(providers_net, 20, seed=4)
    derived = [
        scenario_instance(providers_net, sc.scenario(3)),
        empirical_instance(providers_net, sc),
        mean_value_instance(providers_net),
        empirical_instance(providers_net, enumerate_scenarios(providers_net)),
    ]
    for inst in derived:
        assert inst.providers == providers_net.providers
        for r, q in zip(providers_net.requests, inst.requests, strict=True):
            assert (q.id, q.source, q.target, q.targets) == (r.id, r.source, r.target, r.targets)
        assert inst.links[1].kind == "satellite"
        assert inst.links[1].unit_costs == SAT
        assert inst.features >= {"providers", "link_prices"}
    # the plan's service costs come along in every scenario, capacities never bind copies
    plan = _providers_plan(providers_net)
    ev = evaluate(providers_net, plan)
    assert ev.feasible
    assert ev.components["service"] == pytest.approx(120.0)
    costs = scenario_costs(providers_net, plan, sc)
    for j in (0, 3, 19):
        one = scenario_instance(providers_net, sc.scenario(j))
        assert costs[j] == pytest.approx(reference_evaluate(one, plan)["total"], rel=1e-12)
        assert costs[j] == pytest.approx(evaluate(one, plan).total, rel=1e-12)


# --------------------------------------------------------------------------- expectation


@pytest.mark.parametrize("which", ["states", "providers"])
def test_enumeration_equals_the_evaluators_expectation(
    which: str, states_net: Instance, providers_net: Instance
) -> None:
    inst, plan = (
        (states_net, _states_plan(states_net))
        if which == "states"
        else (providers_net, _providers_plan(providers_net))
    )
    exact = evaluate(inst, plan).total
    enum = enumerate_scenarios(inst)
    assert scenario_mean(inst, plan, enum) == pytest.approx(exact, rel=1e-12)
    est = out_of_sample(inst, plan, scenarios=enum)
    assert est.mean == pytest.approx(exact, rel=1e-12)
    assert est.half_width == 0.0
    # weighted marginals of the enumeration are the instance's own distributions
    emp = empirical_instance(inst, enum)
    assert evaluate(emp, plan).total == pytest.approx(exact, rel=1e-12)
    for k in (0, 1):
        rates, probs = emp.links[k].key_rate_states(1.0)
        assert rates == inst.links[k].key_rate_states(1.0)[0]
        assert probs == pytest.approx(inst.links[k].key_rate_states(1.0)[1], rel=1e-12)


def test_large_sample_within_standard_errors(states_net: Instance) -> None:
    plan = _states_plan(states_net)
    exact = evaluate(states_net, plan).total
    n = 20_000
    est = out_of_sample(states_net, plan, n_scenarios=n, seed=9)
    assert est.n == n
    assert abs(est.mean - exact) <= 4.0 * est.std / math.sqrt(n)
    assert out_of_sample(states_net, plan, n_scenarios=n, seed=9) == est  # same seed, same estimate


def test_separability_holds_when_each_pair_factorises(states_net: Instance) -> None:
    """Average over scenarios = evaluator on the empirical marginals, for a crossed sample.

    A crossed sample (every demand row with every link-state row) has an empirical
    joint of (kappa_f, K_l) equal to the product of its marginals, so the equality
    of docs/model.md, property 2 holds exactly; a plain joint sample only
    approximately.
    """
    plan = _states_plan(states_net)
    a = sample_joint_scenarios(states_net, 40, seed=1)
    b = sample_joint_scenarios(states_net, 30, seed=2)
    crossed = JointScenarios(
        np.repeat(a.demand, 30, axis=0),
        np.tile(b.link_state, (40, 1)),
        np.tile(b.link_rate, (40, 1)),
        a.random_links,
    )
    costs = scenario_costs(states_net, plan, crossed)
    assert costs.mean() == pytest.approx(
        evaluate(empirical_instance(states_net, crossed), plan).total, rel=1e-12
    )
    # a plain joint sample: close, within its sampling error, but not the same number
    plain = sample_joint_scenarios(states_net, 60, seed=3)
    pc = scenario_costs(states_net, plan, plain)
    marg = evaluate(empirical_instance(states_net, plain), plan).total
    assert abs(pc.mean() - marg) > 1e-6 * marg
    assert abs(pc.mean() - marg) <= 4.0 * pc.std(ddof=1) / math.sqrt(60)


# --------------------------------------------------------------------------- EV


def test_ev_instance_fixes_demands_and_link_rates_at_their_means(states_net: Instance) -> None:
    ev = mean_value_instance(states_net)
    for r, q in zip(states_net.requests, ev.requests, strict=True):
        assert q.demand == Demand.point(r.demand.mean)
    assert ev.links[0].key_rate_kbps == pytest.approx(0.5 * 0.3 + 1.0 * 0.7)
    assert ev.links[1].key_rate_kbps == pytest.approx(0.1 * 0.2 + 0.4 * 0.3 + 1.0 * 0.5)
    assert ev.links[1].unit_costs == SAT
    assert ev.links[1].kind == "satellite"
    assert ev.links[2:] == states_net.links[2:]
    assert "link_states" not in ev.features
    # the mean rate, not the mean link count: f0 (E[kappa] = 1) on L1 needs
    # ceil(1 / 0.64) = 2 links in the EV instance, while in truth
    # E[ceil(kappa / K)] = (0 + (10*.2 + 3*.3 + 1*.5) + (20*.2 + 5*.3 + 2*.5)) / 3 = 3.3
    sup = support_table(ev)
    counts, _ = sup.link_counts(int(sup.arc_class[2]), 0)
    assert counts.tolist() == [2]
    true = support_table(states_net)
    assert true.mean_links[int(true.arc_class[2]), 0] == pytest.approx(3.3)


# --------------------------------------------------------------------------- solver figures


@pytest.fixture(scope="module")
def states_net_small(states_net: Instance) -> Instance:
    """Two requests on the link-states network: 2 * 2 * 2 * 3 = 24 joint scenarios."""
    return states_net.with_requests(
        [
            Request("f0", 1, 3, Demand((1.0, 2.0), (0.5, 0.5))),
            Request("f1", 2, 4, Demand((1.0, 3.0), (0.6, 0.4))),
        ],
        "states-small",
    )


def test_ws_le_rp_and_evpi_nonnegative(states_net_small: Instance) -> None:
    inst = states_net_small
    fig = sp_figures(inst, n_scenarios=6, seed=3, oos_scenarios=300)
    assert fig.rp_status == "optimal"
    assert fig.ws_all_optimal
    rp_plan = fig.details["rp_plan"]
    assert fig.rp == pytest.approx(evaluate(inst, rp_plan).total, rel=1e-9)
    # each WS value is an optimum with the scenario known: never above the RP plan's cost there
    sample = sample_joint_scenarios(inst, 6, seed=3)
    assert np.all(
        np.asarray(fig.details["ws_values"]) <= scenario_costs(inst, rp_plan, sample) * (1 + 1e-9)
    )
    assert fig.eev == pytest.approx(evaluate(inst, fig.details["ev_plan"]).total)
    assert fig.ev == pytest.approx(
        evaluate(mean_value_instance(inst), fig.details["ev_plan"]).total, rel=1e-9
    )
    assert fig.vss == pytest.approx(fig.eev - fig.rp)
    assert fig.vss >= -1e-6 * fig.rp
    # exact WS over the full joint distribution: WS <= RP, EVPI >= 0
    enum = enumerate_scenarios(inst)
    assert enum.prob is not None
    ws = [solve_sp(scenario_instance(inst, enum.scenario(i))).objective for i in range(len(enum))]
    ws_exact = float(np.dot(enum.prob, ws))
    assert ws_exact <= fig.rp * (1 + 1e-9)
    assert fig.rp - ws_exact >= 0.0
    # same seed, same figures
    again = sp_figures(inst, n_scenarios=6, seed=3, oos_scenarios=300, rp=None)
    assert again.ws == fig.ws
    assert again.rp_out_of_sample == fig.rp_out_of_sample


def test_sp_figures_refuses_what_the_solver_does_not_handle(
    providers_net: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ExactPlanner,
        "supports",
        frozenset({"fixed_charges", "link_prices", "link_states"}),
        raising=False,
    )
    with pytest.raises(InputError, match="provider targets"):
        sp_figures(providers_net, n_scenarios=2, oos_scenarios=0)


def test_cli_spfigures_on_a_link_states_instance(
    states_net_small: Instance, providers_net: Instance, tmp_path: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "states.json"
    write_instance(states_net_small, path)
    res = run_cli("spfigures", path, "--scenarios", 3, "--oos-scenarios", 50)
    assert res.returncode == 0, res.stderr
    for key in ("RP ", "EEV", "VSS", "WS ", "EVPI", "RP out of sample"):
        assert key in res.stdout
    runs = [
        json.loads(
            run_cli(
                "spfigures",
                path,
                "--scenarios",
                3,
                "--oos-scenarios",
                50,
                "--scenario-seed",
                4,
                "--json",
            ).stdout
        )
        for _ in range(2)
    ]
    for run in runs:
        run.pop("runtime_s")
    assert runs[0] == runs[1]
    assert runs[0]["ws"]["n"] == 3
    assert runs[0]["evpi"] == pytest.approx(runs[0]["rp"] - runs[0]["ws"]["mean"])
    # providers: figures when the exact solver handles targets, else one line and exit status 2
    p3 = tmp_path / "providers.json"
    write_instance(providers_net, p3)
    res = run_cli("spfigures", p3, "--scenarios", 2, "--oos-scenarios", 20)
    if "providers" in planner_supports(ExactPlanner):
        assert res.returncode == 0, res.stderr
        assert "EVPI" in res.stdout
    else:
        assert res.returncode == 2
        assert len(res.stderr.strip().splitlines()) == 1
        assert "provider" in res.stderr


def test_replace_keeps_provider_targets_in_scenario_start(providers_net: Instance) -> None:
    """The WS warm start keeps each anycast request's chosen target (no solver needed)."""
    from qkdbench.exact.sp_figures import scenario_start

    plan = _providers_plan(providers_net)
    sc = sample_joint_scenarios(providers_net, 3, seed=1)
    one = scenario_instance(providers_net, sc.scenario(0))
    start = scenario_start(one, plan)
    assert isinstance(start, Plan)
    assert [r.provider for r in start.routes] == [None, "A", "B"]
    assert [r.path for r in start.routes] == [r.path for r in plan.routes]
    assert evaluate(one, start).feasible
    # re-optimised reservations cost no more than the plan's own in that scenario
    assert evaluate(one, start).total <= evaluate(one, plan).total * (1 + 1e-12)


def test_scenario_costs_match_each_scenario_instance_on_a_larger_network() -> None:
    """Many random links, fixed charges: the priced terms add up to each scenario's cost."""
    from qkdbench.heuristics import get_planner
    from qkdbench.model import CostTable
    from qkdbench.topologies import make_instance

    base = make_instance("nsfnet", 6, 4, seed=3)
    links = tuple(
        replace(ln, key_rate_kbps=Demand((0.2, 0.6, 1.0), (0.2, 0.3, 0.5)))
        if k % 2 == 0
        else replace(ln, key_rate_kbps=Demand((0.5, 1.5), (0.5, 0.5)))
        if k % 3 == 0
        else ln
        for k, ln in enumerate(base.links)
    )
    inst = replace(base, links=links, costs=CostTable(site=50.0), name="states-nsfnet")
    plan = get_planner("coqbn").plan(inst)
    sc = sample_joint_scenarios(inst, 25, seed=8)
    costs = scenario_costs(inst, plan, sc)
    for i in range(25):
        one = scenario_instance(inst, sc.scenario(i))
        assert costs[i] == pytest.approx(evaluate(one, plan).total, rel=1e-12)
    assert evaluate(inst, plan).components["site"] > 0
    used = {a // 2 for r in plan.routes for a in inst.path_arcs(r.path)}
    assert len(used & set(sc.random_links)) >= 2
