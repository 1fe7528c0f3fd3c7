"""SP figures over listed joint scenarios, and the MMW interval of a plan's gap."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exact.joint_figures import (
    joint_sp_figures,
    mmw_interval,
    one_scenario_instance,
    solve_joint,
)
from qkdbench.exact.sp_figures import sp_figures
from qkdbench.exceptions import InputError
from qkdbench.model import Instance, Scenarios
from qkdbench.testing.instances import coupled_instance, feature_instance


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


def _sampled(base: Instance, n: int, seed: int) -> Instance:
    """``base`` with ``n`` equiprobable scenarios drawn from its scenarios (with replacement)."""
    sc = base.scenarios
    assert sc is not None
    rng = np.random.default_rng(seed)
    pick = rng.choice(sc.n, size=n, p=np.asarray(sc.probs))
    new = Scenarios(
        tuple([1.0 / n] * n),
        {r: tuple(v[i] for i in pick) for r, v in sc.key_rates.items()},
        {k: tuple(v[i] for i in pick) for k, v in sc.link_key_rates.items()},
    )
    reqs = tuple(replace(r, demand=new.marginal(r.id)) for r in base.requests)
    links = tuple(
        replace(ln, key_rate_kbps=new.link_marginal(k)) if k in new.link_key_rates else ln
        for k, ln in enumerate(base.links)
    )
    return replace(base, requests=reqs, links=links, scenarios=new, name=f"{base.name}-s{seed}")


def test_mmw_gap_is_nonnegative_and_covers_a_bad_plan() -> None:
    base = coupled_instance(2, n_requests=2, n_scenarios=4)
    rp, rp_plan, _ = solve_joint(base)
    good = mmw_interval(rp_plan, lambda k: _sampled(base, 6, k), replications=5)
    assert all(math.isfinite(x) for x in (good.upper, good.gaps.mean))
    assert good.gaps.mean >= -1e-9  # each sample's optimum is at most the plan's cost there
    assert good.upper >= good.gaps.mean
    # a plan that reserves nothing has a larger true gap than the optimum's
    bare = replace(
        rp_plan,
        routes=tuple(
            replace(r, reserve_qkd=(0,) * len(r.reserve_qkd), reserve_km=(0,) * len(r.reserve_km))
            for r in rp_plan.routes
        ),
    )
    bad = mmw_interval(bare, lambda k: _sampled(base, 6, k), replications=5)
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
