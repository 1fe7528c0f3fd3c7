"""SP figures (RP, EV/EEV, VSS, WS, EVPI) and out-of-sample scoring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.evaluation.sp_measures import (
    empirical_instance,
    mean_ci,
    mean_value_instance,
    out_of_sample,
    sample_scenarios,
    scenario_costs,
    scenario_instance,
    t_quantile,
)
from qkdbench.exact.sp_figures import sp_figures
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.model import Demand, Instance, Params, Request
from qkdbench.topologies import make_instance


@pytest.fixture(scope="module")
def inst() -> Instance:
    return make_instance("nsfnet", 6, 6, seed=2, params=Params(W_qkd=24, W_kml=8))


@pytest.mark.parametrize(
    ("seed", "params"),
    [(1, Params()), (2, Params(W_qkd=18, W_kml=6)), (3, Params(W_qkd=9, W_kml=3, hop_cost=500.0))],
)
def test_ws_le_rp_le_eev(seed: int, params: Params) -> None:
    instance = make_instance("nsfnet", 5, 5, seed=seed, params=params)
    fig = sp_figures(instance, n_scenarios=8, seed=seed, oos_scenarios=200)
    assert fig.rp_status == "optimal"
    assert fig.ws_all_optimal
    assert fig.ws.mean <= fig.rp <= fig.eev * (1 + 1e-12)
    assert fig.vss == pytest.approx(fig.eev - fig.rp)
    assert fig.evpi == pytest.approx(fig.rp - fig.ws.mean)
    assert fig.evpi_lo <= fig.evpi <= fig.evpi_hi
    assert fig.eev == pytest.approx(evaluate(instance, fig.details["ev_plan"]).total)
    assert fig.rp == pytest.approx(evaluate(instance, fig.details["rp_plan"]).total, rel=1e-9)
    # every scenario's optimum costs no more than the RP plan in that scenario
    costs = scenario_costs(instance, fig.details["rp_plan"], sample_scenarios(instance, 8, seed))
    assert np.all(np.asarray(fig.details["ws_values"]) <= costs * (1 + 1e-9))
    json.dumps(fig.to_dict())


def test_deterministic_demand_has_no_value_of_information() -> None:
    base = make_instance("nsfnet", 4, 3, seed=5)
    instance = base.with_requests(
        [Request(r.id, r.source, r.target, Demand.point(2.0)) for r in base.requests]
    )
    fig = sp_figures(instance, n_scenarios=3, oos_scenarios=10)
    assert fig.eev == pytest.approx(fig.rp, rel=1e-12)
    assert fig.ws.mean == pytest.approx(fig.rp, rel=1e-12)
    assert fig.ws.half_width == 0.0
    assert fig.vss == pytest.approx(0.0, abs=1e-6)
    assert fig.evpi == pytest.approx(0.0, abs=1e-6)


def test_scenario_costs_average_to_empirical_marginals(inst: Instance) -> None:
    plan = get_planner("coqbn").plan(inst)
    sc = sample_scenarios(inst, 300, seed=4)
    costs = scenario_costs(inst, plan, sc)
    assert costs.shape == (300,)
    emp = evaluate(empirical_instance(inst, sc), plan).total
    assert costs.mean() == pytest.approx(emp, rel=1e-12)
    # one scenario alone: its point-demand instance
    one = evaluate(scenario_instance(inst, sc[7]), plan).total
    assert costs[7] == pytest.approx(one, rel=1e-12)


def test_out_of_sample_is_seeded_and_consistent(inst: Instance) -> None:
    plan = get_planner("coqbn").plan(inst)
    a = out_of_sample(inst, plan, n_scenarios=4000, seed=11)
    b = out_of_sample(inst, plan, n_scenarios=4000, seed=11)
    c = out_of_sample(inst, plan, n_scenarios=4000, seed=12)
    assert a == b
    assert a != c
    exact = evaluate(inst, plan).total
    assert abs(a.mean - exact) <= 4 * a.half_width
    assert a.lo < a.mean < a.hi


def test_out_of_sample_of_unfit_plan_is_inf(inst: Instance) -> None:
    other = make_instance("nsfnet", 6, 6, seed=9)
    plan = get_planner("coqbn").plan(other)
    assert np.isinf(out_of_sample(inst, plan, n_scenarios=5, seed=0).mean)


def test_sample_scenarios_marginals(inst: Instance) -> None:
    sc = sample_scenarios(inst, 20000, seed=3)
    assert sc.shape == (20000, inst.n_requests)
    for f, r in enumerate(inst.requests):
        assert set(np.unique(sc[:, f])) <= set(r.demand.values)
        assert sc[:, f].mean() == pytest.approx(r.demand.mean, abs=0.1)
    with pytest.raises(InputError):
        sample_scenarios(inst, 0, seed=1)


def test_mean_value_instance(inst: Instance) -> None:
    ev = mean_value_instance(inst)
    for r, q in zip(inst.requests, ev.requests, strict=True):
        assert q.demand.values == (pytest.approx(r.demand.mean),)


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        (1, 12.706),
        (2, 4.303),
        (3, 3.182),
        (5, 2.571),
        (10, 2.228),
        (30, 2.042),
        (1000, 1.962),
        (1001, 1.962),
    ],
)
def test_t_quantile(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=6e-4)


def test_mean_ci() -> None:
    e = mean_ci([2.0, 4.0, 6.0, 8.0], confidence=0.9)
    assert e.mean == 5.0
    assert e.n == 4
    assert e.half_width == pytest.approx(t_quantile(0.95, 3) * np.std([2, 4, 6, 8], ddof=1) / 2)
    assert mean_ci([3.0]).half_width == np.inf
    with pytest.raises(InputError):
        mean_ci([])
