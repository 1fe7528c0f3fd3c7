"""SP figures over listed joint scenarios, and the MMW interval of a plan's gap.

Independent truths: each scenario solved alone (WS by hand), the batches drawn again
with ``numpy`` by hand, each batch's optimum by enumerating every plan
(:func:`tests.exact.test_coupled_exact.brute_optimum`) and the Student-t bound from
``scipy.stats``; with one listed scenario every batch is the instance itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from qkdbench.evaluation import evaluate
from qkdbench.evaluation.sampling import resample_listed
from qkdbench.exact.joint_figures import (
    joint_sp_figures,
    listed_sampler,
    mmw_interval,
    one_scenario_instance,
    solve_joint,
)
from qkdbench.exact.sp_figures import sp_figures
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.io import write_instance, write_plan
from qkdbench.model import Plan
from qkdbench.testing.instances import coupled_instance, feature_instance
from tests.exact.test_coupled_exact import brute_optimum
from tests.fixture_types import OneLineError, RunCli


@pytest.mark.parametrize("seed", range(4))
def test_ws_rp_eev_order_and_ws_by_hand(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=2, n_scenarios=3, link_states=seed == 3)
    fig = joint_sp_figures(inst)
    assert fig.all_optimal
    assert fig.ws <= fig.rp * (1 + 1e-9)
    assert fig.rp <= fig.eev * (1 + 1e-9)
    assert fig.vss == pytest.approx(fig.eev - fig.rp)
    sc = inst.scenarios
    assert sc is not None
    # WS by hand: each scenario's optimum, weighted
    by_hand = 0.0
    for s in range(sc.n):
        one = one_scenario_instance(
            inst,
            {r: v[s] for r, v in sc.key_rates.items()},
            {k: v[s] for k, v in sc.link_key_rates.items()},
            "one",
        )
        by_hand += sc.probs[s] * solve_joint(one)[0]
    assert fig.ws == pytest.approx(by_hand, rel=1e-9)
    # RP is the cost of a plan the evaluator scores the same
    assert evaluate(inst, fig.details["rp_plan"]).total == pytest.approx(fig.rp, rel=1e-12)


def test_sp_figures_dispatches_listed_scenarios() -> None:
    inst = feature_instance("coupled")
    fig = sp_figures(inst)
    assert fig.ws.half_width == 0.0
    assert fig.rp_status == "optimal"
    assert fig.ws.mean <= fig.rp <= fig.eev
    assert fig.rp_out_of_sample is None


def test_joint_figures_need_scenarios() -> None:
    with pytest.raises(InputError, match="no joint scenarios"):
        joint_sp_figures(feature_instance("fixed_charges"))


def test_mmw_gap_is_nonnegative_and_covers_a_bad_plan() -> None:
    base = coupled_instance(2, n_requests=2, n_scenarios=4)
    rp, rp_plan, _ = solve_joint(base)
    good = mmw_interval(rp_plan, lambda k: resample_listed(base, 6, k), replications=5)
    assert all(math.isfinite(x) for x in (good.upper, good.gaps.mean))
    assert good.gaps.mean >= -1e-9  # each sample's optimum is at most the plan's cost there
    assert good.upper >= good.gaps.mean
    # a plan that reserves nothing has a larger true gap than the optimum's
    bare = _bare(rp_plan)
    bad = mmw_interval(bare, lambda k: resample_listed(base, 6, k), replications=5)
    true_gap = evaluate(base, bare).total - rp
    assert true_gap > 0
    assert bad.gaps.mean > good.gaps.mean
    with pytest.raises(InputError, match="2 replications"):
        mmw_interval(rp_plan, lambda k: base, replications=1)


def test_one_scenario_instance_scores_like_the_scenario() -> None:
    inst = coupled_instance(4, n_requests=3, n_scenarios=3)
    sc = inst.scenarios
    assert sc is not None
    _, plan, _ = solve_joint(inst)
    total = 0.0
    for s in range(sc.n):
        one = one_scenario_instance(inst, {r: v[s] for r, v in sc.key_rates.items()}, {}, "one")
        total += sc.probs[s] * evaluate(one, replace(plan, instance_name="one")).total
    assert total == pytest.approx(evaluate(inst, plan).total, rel=1e-12)


def _bare(plan: Plan) -> Plan:
    """``plan`` with nothing reserved (its routes kept)."""
    return replace(
        plan,
        routes=tuple(
            replace(r, reserve_qkd=(0,) * len(r.reserve_qkd), reserve_km=(0,) * len(r.reserve_km))
            for r in plan.routes
        ),
    )


def test_listed_batches_are_the_draws_by_hand() -> None:
    base = coupled_instance(3, n_requests=2, n_scenarios=4, link_states=True)
    sc = base.scenarios
    assert sc is not None
    sampler = listed_sampler(base, 7, seed=11)
    _, plan, _ = solve_joint(base)
    for k in range(3):
        pick = np.random.default_rng([11, k]).choice(sc.n, size=7, p=np.asarray(sc.probs))
        rows, counts = np.unique(pick, return_counts=True)
        got = sampler(k).scenarios
        assert got is not None
        assert got.probs == pytest.approx(counts / 7, rel=1e-15)
        for rid, col in sc.key_rates.items():
            assert got.key_rates[rid] == tuple(col[i] for i in rows)
        for link, col in sc.link_key_rates.items():
            assert got.link_key_rates[link] == tuple(col[i] for i in rows)
        # merged or not, a plan costs the same on the batch
        plain = resample_listed(base, 7, np.random.default_rng([11, k]))
        assert plain.scenarios is not None
        assert plain.scenarios.n == 7
        assert evaluate(sampler(k), replace(plan, instance_name=sampler(k).name)).total == (
            pytest.approx(evaluate(plain, plan).total, rel=1e-12)
        )


def test_mmw_statistics_against_brute_force_sample_optima() -> None:
    base = coupled_instance(2, n_requests=2, n_scenarios=4)
    plan = _bare(solve_joint(base)[1])
    sampler = listed_sampler(base, 3, seed=7)
    M = 4
    gaps = []
    for k in range(M):
        batch = sampler(k)
        optimum, _ = brute_optimum(batch)
        gaps.append(evaluate(batch, replace(plan, instance_name=batch.name)).total - optimum)
    res = mmw_interval(plan, sampler, replications=M)
    scale = evaluate(base, plan).total
    assert res.gap_values == pytest.approx(gaps, abs=1e-9 * scale)
    mean, std = float(np.mean(gaps)), float(np.std(gaps, ddof=1))
    assert res.gaps.mean == pytest.approx(mean, abs=1e-9 * scale)
    upper = mean + stats.t.ppf(0.95, M - 1) * std / math.sqrt(M)
    assert res.upper == pytest.approx(upper, abs=1e-9 * scale)
    assert min(gaps) > 0  # reserving nothing is worse on every batch here


def test_mmw_with_one_listed_scenario_is_the_exact_gap() -> None:
    one = resample_listed(coupled_instance(1, n_requests=3, n_scenarios=3), 1, 4, merge=True)
    optimum, best, _ = solve_joint(one)
    sampler = listed_sampler(one, 5, seed=0)
    res = mmw_interval(best, sampler, replications=3)
    assert res.gap_values == pytest.approx((0.0,) * 3, abs=1e-9 * optimum)
    assert res.upper == pytest.approx(0.0, abs=1e-9 * optimum)
    bare = _bare(best)
    true_gap = evaluate(one, bare).total - optimum
    assert true_gap > 0
    res = mmw_interval(bare, sampler, replications=3)
    assert res.gaps.std == pytest.approx(0.0, abs=1e-9 * optimum)
    assert res.upper == pytest.approx(true_gap, rel=1e-9)


def test_listed_sampler_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="no joint scenarios"):
        listed_sampler(feature_instance("fixed_charges"), 3)
    with pytest.raises(InputError, match="at least 1 scenario"):
        listed_sampler(feature_instance("coupled"), 0)


def test_spfigures_mmw_command(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    inst = coupled_instance(2, n_requests=2, n_scenarios=4)
    write_instance(inst, tmp_path / "inst.json")
    _, best, _ = solve_joint(inst)
    write_plan(best, tmp_path / "best.json")
    write_plan(get_planner("coqbn").plan(inst), tmp_path / "coqbn.json")
    common = ["spfigures", tmp_path / "inst.json", "--replications", 3, "--batch", 5]
    res = run_cli(*common, "--mmw", tmp_path / "coqbn.json", "--scenario-seed", 2, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    want = mmw_interval(
        get_planner("coqbn").plan(inst), listed_sampler(inst, 5, seed=2), replications=3
    )
    assert out["gap_values"] == pytest.approx(list(want.gap_values), rel=1e-9, abs=1e-6)
    assert out["upper"] == pytest.approx(want.upper, rel=1e-9, abs=1e-6)
    assert (out["batch"], out["replications"], out["listed_scenarios"]) == (5, 3, 4)
    res = run_cli(*common, "--mmw", tmp_path / "best.json")
    assert res.returncode == 0, res.stderr
    assert "one-sided 95% bound on the true gap" in res.stdout
    one_line_error(run_cli(*common, "--mmw", tmp_path / "missing.json"), "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    one_line_error(run_cli(*common, "--mmw", tmp_path / "bad.json"), "bad.json")
    one_line_error(run_cli(*common, "--mmw", tmp_path / "best.json", "--replications", 0), ">= 2")
    one_line_error(run_cli(*common, "--mmw", tmp_path / "best.json", "--batch", -1), "--batch")
    write_instance(feature_instance("fixed_charges"), tmp_path / "plain.json")
    write_plan(get_planner("coqbn").plan(feature_instance("fixed_charges")), tmp_path / "g.json")
    res = run_cli("spfigures", tmp_path / "plain.json", "--mmw", tmp_path / "g.json")
    one_line_error(res, "--mmw", "no joint scenarios")
