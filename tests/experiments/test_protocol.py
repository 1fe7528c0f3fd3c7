"""The protocol table of several runs against other planners, from hand-made frames."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from qkdbench.exceptions import InputError
from qkdbench.experiments.protocol import (
    add_gap_to_best,
    profile_table,
    protocol_table,
    score_matrices,
)


def _frame() -> pd.DataFrame:
    """Two instances: ``i`` with a proven optimum of 100, ``j`` without (best found 80)."""
    rows = []
    costs = {
        "i": {("agent", 0): 110.0, ("agent", 1): 101.0, ("agent", 2): 130.0},
        "j": {("agent", 0): 80.0, ("agent", 1): 96.0, ("agent", 2): 88.0},
    }
    base = {"i": {"coqbn": 105.0, "exact": 100.0}, "j": {"coqbn": 84.0, "exact": 90.0}}
    status = {"i": "optimal", "j": "time_limit"}
    for inst in ("i", "j"):
        for (planner, run), cost in costs[inst].items():
            rows.append((inst, planner, run, cost, "heuristic"))
        rows.append((inst, "coqbn", 0, base[inst]["coqbn"], "heuristic"))
        rows.append((inst, "exact", 0, base[inst]["exact"], status[inst]))
    return pd.DataFrame(rows, columns=["instance", "planner", "run", "cost", "status"])


def test_the_gap_is_to_the_optimum_else_to_the_best_plan_found() -> None:
    df = add_gap_to_best(_frame())
    by = df.set_index(["instance", "planner", "run"])
    assert by.loc[("i", "agent", 0), "gap_to_best_pct"] == pytest.approx(10.0)
    assert by.loc[("i", "agent", 0), "reference"] == "optimum"
    assert by.loc[("j", "coqbn", 0), "gap_to_best_pct"] == pytest.approx(5.0)  # 84 / 80
    assert by.loc[("j", "agent", 0), "gap_to_best_pct"] == 0.0
    assert set(df.loc[df["instance"] == "j", "reference"]) == {"best found"}


def test_score_matrices_are_runs_by_instances() -> None:
    mats = score_matrices(add_gap_to_best(_frame()))
    assert list(mats) == ["agent", "coqbn", "exact"]
    assert mats["agent"] == pytest.approx(np.array([[10.0, 0.0], [1.0, 20.0], [30.0, 10.0]]))
    assert mats["coqbn"].shape == (1, 2)


def test_a_missing_run_is_an_input_error() -> None:
    df = add_gap_to_best(_frame())
    df = df.drop(df.index[(df["planner"] == "agent") & (df["run"] == 1) & (df["instance"] == "j")])
    with pytest.raises(InputError, match="agent lacks a run"):
        score_matrices(df)


def test_protocol_table_by_hand() -> None:
    t = protocol_table(_frame(), resamples=500).set_index("planner")
    agent = [10.0, 0.0, 1.0, 20.0, 30.0, 10.0]  # n = 6: one cut from each end
    assert t.loc["agent", "iqm_gap_pct"] == pytest.approx(np.mean(sorted(agent)[1:5]))
    assert t.loc["agent", "iqm_low_pct"] <= t.loc["agent", "iqm_gap_pct"]
    assert t.loc["agent", "iqm_gap_pct"] <= t.loc["agent", "iqm_high_pct"]
    assert t.loc["agent", "iqm_low_pct"] < t.loc["agent", "iqm_high_pct"]
    assert t.loc["coqbn", "iqm_gap_pct"] == pytest.approx(np.mean([5.0, 5.0]))
    # one run per instance: the interval is the point
    assert t.loc["coqbn", "iqm_low_pct"] == t.loc["coqbn", "iqm_high_pct"]
    # P(agent's gap < coqbn's), pair by pair: i: 10, 1, 30 against 5; j: 0, 20, 10 against 5
    coqbn = {"i": 5.0, "j": 5.0}
    gaps = {"i": [10.0, 1.0, 30.0], "j": [0.0, 20.0, 10.0]}
    per_task = [
        np.mean([1.0 if g < coqbn[k] else 0.5 if g == coqbn[k] else 0.0 for g in gaps[k]])
        for k in gaps
    ]
    assert t.loc["agent", "p_better_than_coqbn"] == pytest.approx(np.mean(per_task))
    assert t.loc["coqbn", "p_better_than_coqbn"] == 0.5
    assert t.loc["exact", "p_better_than_coqbn"] == pytest.approx((1.0 + 0.0) / 2)
    assert list(t["runs"]) == [3, 1, 1]


def test_protocol_table_is_seeded_and_has_no_probability_without_the_baseline() -> None:
    a = protocol_table(_frame(), seed=3, resamples=300)
    pd.testing.assert_frame_equal(a, protocol_table(_frame(), seed=3, resamples=300))
    df = _frame()
    t = protocol_table(df[df["planner"] != "coqbn"], resamples=100)
    assert t["p_better_than_coqbn"].isna().all()


def test_more_runs_narrow_the_interval() -> None:
    """Runs drawn from one distribution: 40 runs give a narrower IQM interval than 4."""
    rng = np.random.default_rng(0)

    def frame(runs: int) -> pd.DataFrame:
        rows = [
            (f"i{t}", "agent", r, 100.0 + abs(rng.normal(5.0, 3.0)), "heuristic")
            for t, r in itertools.product(range(5), range(runs))
        ]
        rows += [(f"i{t}", "exact", 0, 100.0, "optimal") for t in range(5)]
        return pd.DataFrame(rows, columns=["instance", "planner", "run", "cost", "status"])

    def width(runs: int) -> float:
        t = protocol_table(frame(runs), resamples=1000).set_index("planner")
        return float(t.loc["agent", "iqm_high_pct"] - t.loc["agent", "iqm_low_pct"])

    assert width(40) < width(4)


def test_profile_is_the_fraction_of_gaps_within_each_threshold() -> None:
    df = _frame()
    prof = profile_table(df, [0.0, 5.0, 10.0, 30.0], resamples=200)
    agent = prof[prof["planner"] == "agent"]
    gaps = [10.0, 0.0, 1.0, 20.0, 30.0, 10.0]
    expected = [sum(g <= tau for g in gaps) / 6 for tau in (0.0, 5.0, 10.0, 30.0)]
    assert agent["fraction"].tolist() == pytest.approx(expected)
    assert (agent["low"] <= agent["fraction"]).all()
    assert (agent["fraction"] <= agent["high"]).all()
    coqbn = prof[prof["planner"] == "coqbn"]
    assert coqbn["fraction"].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert (coqbn["low"] == coqbn["high"]).all()  # one run: zero width
    assert len(profile_table(df, resamples=10)) == 3 * 21  # default: 21 thresholds
