"""The report's statistics against independent truth.

Friedman against SciPy's ``friedmanchisquare``; Holm by hand; the signed-rank
p-values against an exact enumeration of sign patterns; the Nemenyi critical
difference against Demsar's (2006) table; the bootstrap interval's coverage by
simulation; repeated runs against medians and quartiles worked out by hand.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from scipy.stats import friedmanchisquare

from qkdbench.exceptions import InputError
from qkdbench.library.report_draw import draw_profile
from qkdbench.library.report_stats import (
    average_ranks,
    bootstrap_mean_ci,
    cost_matrix,
    cost_ranks,
    friedman_test,
    holm,
    mean_gap_table,
    nemenyi_cliques,
    nemenyi_critical_difference,
    rank_table,
    relative_differences,
    repeated_runs,
    run_spread,
    summary_table,
    wilcoxon_holm,
)

# --------------------------------------------------------------------------- ranks, Friedman


def test_ranks_tie_within_the_tolerance_and_failed_runs_come_last() -> None:
    costs = pd.DataFrame(
        {"a": [10.0, 1.0, math.inf], "b": [10.0 * (1 + 1e-12), 2.0, math.inf], "c": [9.0, 3.0, 5.0]}
    )
    assert cost_ranks(costs).values.tolist() == [[2.5, 2.5, 1.0], [1.0, 2.0, 3.0], [2.5, 2.5, 1.0]]
    assert average_ranks(costs).to_dict() == {"c": pytest.approx(5 / 3), "a": 2.0, "b": 7 / 3}


@pytest.mark.parametrize("seed", [0, 1])
def test_friedman_equals_scipy_on_a_fixed_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = rng.integers(1, 6, size=(12, 4)).astype(float)  # small integers: many ties
    costs = pd.DataFrame(table, columns=list("abcd"))
    res = friedman_test(costs)
    ref = friedmanchisquare(*table.T)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    assert (res.planners, res.instances) == (4, 12)


def test_friedman_by_hand_without_ties() -> None:
    # 3 instances, every one ranks a < b < c: rank sums 3, 6, 9
    costs = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 3.0, 4.0], "c": [3.0, 4.0, 5.0]})
    res = friedman_test(costs)
    # 12 / (3 * 3 * 4) * (9 + 36 + 81) - 3 * 3 * 4 = 42 - 36 = 6; chi2(2) tail: exp(-3)
    assert res.statistic == pytest.approx(6.0)
    assert res.pvalue == pytest.approx(math.exp(-3.0))


def test_friedman_of_all_ties_is_p_one_and_needs_two_of_each() -> None:
    assert friedman_test(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]})).pvalue == 1.0
    with pytest.raises(InputError):
        friedman_test(pd.DataFrame({"a": [1.0, 2.0]}))


# --------------------------------------------------------------------------- Holm


def test_holm_by_hand() -> None:
    # sorted 0.005 (x4), 0.01 (x3), 0.03 (x2) -> 0.06, 0.04 (x1) -> 0.04 but never below 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]  # 2 x 0.5 = 1, and 0.9 may not undercut it
    assert holm([0.02, 0.9]).tolist() == [0.04, 0.9]
    assert holm([0.6, 0.7, 0.1]).tolist() == pytest.approx([1.0, 1.0, 0.3])


def test_holm_rejects_as_the_step_down_procedure() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = rng.uniform(0, 0.08, size=rng.integers(1, 8))
        m = len(p)
        rejected = set()
        for step, j in enumerate(np.argsort(p, kind="stable")):  # the textbook procedure
            if p[j] > 0.05 / (m - step):
                break
            rejected.add(int(j))
        assert {int(j) for j in np.nonzero(holm(p) <= 0.05)[0]} == rejected


# --------------------------------------------------------------------------- signed ranks


def _exact_signed_rank_p(d: np.ndarray) -> float:
    """Two-sided exact p of the signed-rank statistic by enumerating all 2**n sign patterns."""
    ranks = np.argsort(np.argsort(np.abs(d))) + 1.0  # |d| distinct here
    w = ranks[d > 0].sum()
    all_w = [
        sum(r for r, s in zip(ranks, signs, strict=True) if s)
        for signs in itertools.product([False, True], repeat=len(d))
    ]
    lo = np.mean([x <= w for x in all_w])
    hi = np.mean([x >= w for x in all_w])
    return min(1.0, 2 * min(lo, hi))


def test_relative_differences_are_scale_free_and_failures_are_the_largest() -> None:
    d = relative_differences(
        np.array([200.0, 1.0, math.inf, 5.0, math.inf]),
        np.array([100.0, 2.0, 1e9, math.inf, math.inf]),
    )
    assert d.tolist() == [0.5, -0.5, 1.0, -1.0, 0.0]


def test_signed_rank_p_values_equal_an_exact_enumeration() -> None:
    rng = np.random.default_rng(5)
    for _ in range(5):
        base = rng.uniform(100, 1000, size=9)
        a = base * (1 + rng.normal(0.01, 0.02, size=9))
        costs = pd.DataFrame({"a": a, "b": base})
        row = wilcoxon_holm(costs).iloc[0]
        d = relative_differences(a, base)
        assert row["pvalue"] == pytest.approx(_exact_signed_rank_p(d), rel=1e-12)
        assert row["pvalue_holm"] == row["pvalue"]  # one pair: nothing to adjust
        assert row["r_plus"] + row["r_minus"] == 9 * 10 / 2


def _noise_and_worse(seed: int, n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.uniform(1e6, 1e8, size=n)
    return pd.DataFrame(
        {
            "a": base * (1 + rng.normal(0, 1e-3, size=n)),
            "b": base * (1 + rng.normal(0, 1e-3, size=n)),
            "worse": base * 1.02,
        }
    )


def test_noise_is_not_a_difference_and_two_percent_worse_everywhere_is() -> None:
    costs = _noise_and_worse(11)
    pairs = wilcoxon_holm(costs).set_index(["planner", "opponent"])
    assert not pairs.loc[("a", "b"), "significant"]
    for other in ("a", "b"):
        row = pairs.loc[(other, "worse")]
        assert row["significant"]
        assert row["worse"] == "worse"
        # every instance favours the other: the smallest exact p of 20 pairs, times Holm's 3
        assert row["pvalue_holm"] <= 3 * 2 / 2**20 + 1e-15
    ranks = rank_table(costs).set_index("planner")
    assert ranks.loc["worse", "worse_than_best"]
    assert ranks.loc["worse", "average_rank"] == 3.0
    assert not ranks.drop(index="worse")["worse_than_best"].any()
    assert friedman_test(costs).pvalue < 0.05


def test_noise_is_declared_a_difference_in_at_most_about_five_percent_of_benches() -> None:
    flagged = [
        bool(wilcoxon_holm(_noise_and_worse(seed)[["a", "b"]]).iloc[0]["significant"])
        for seed in range(200)
    ]
    assert np.mean(flagged) <= 0.09


# --------------------------------------------------------------------------- critical difference


@pytest.mark.parametrize(
    ("k", "q"),
    [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (8, 3.031), (10, 3.164)],
)
def test_nemenyi_critical_difference_is_demsars_table(k: int, q: float) -> None:
    n = 17
    cd = nemenyi_critical_difference(k, n)
    assert cd == pytest.approx(q * math.sqrt(k * (k + 1) / (6 * n)), abs=6e-4)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    true_mean, hits = 3.0, 0
    sims = 200
    for s in range(sims):
        sample = rng.normal(true_mean, 2.0, size=40)
        _, lo, hi = bootstrap_mean_ci(sample, resamples=1000, seed=s)
        hits += lo <= true_mean <= hi
    assert 0.90 <= hits / sims <= 0.99


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    v = np.arange(10.0)
    a = bootstrap_mean_ci(v, seed=7)
    assert a == bootstrap_mean_ci(v, seed=7)
    assert a != bootstrap_mean_ci(v, seed=8)
    mean, lo, hi = a
    assert mean == 4.5
    assert lo < mean < hi
    assert bootstrap_mean_ci([5.0])[0] == 5.0
    assert math.isnan(bootstrap_mean_ci([5.0])[1])


def test_mean_gap_table_leaves_failed_runs_out_and_counts_them() -> None:
    gaps = pd.DataFrame({"a": [1.0, 3.0, math.inf], "b": [0.0, 0.0, 0.0]})
    t = mean_gap_table(gaps, seed=1).set_index("planner")
    assert t.loc["a", "mean_gap_pct"] == 2.0
    assert t.loc["a", "failed"] == 1
    assert t.loc["a", "instances"] == 2
    assert 1.0 <= t.loc["a", "ci_low_pct"] <= 2.0 <= t.loc["a", "ci_high_pct"] <= 3.0
    assert (t.loc["b", ["mean_gap_pct", "ci_low_pct", "ci_high_pct"]] == 0.0).all()


# --------------------------------------------------------------------------- repeated runs


def _rows(spec: Sequence[tuple[str, str, int, float | None]]) -> pd.DataFrame:
    """Bench-like rows from (instance, planner, seed, total or None for a failed run)."""
    rows = []
    for inst, planner, seed, total in spec:
        best = 100.0
        rows.append(
            {
                "instance": inst,
                "planner": planner,
                "seed": seed,
                "total": total if total is not None else math.nan,
                "feasible": total is not None,
                "status": "heuristic" if total is not None else "error",
                "gap_to_best_pct": 100 * (total - best) / best if total is not None else math.nan,
                "gap_to_bound_pct": 0.0 if total is not None else math.nan,
                "runtime_s": 1.0,
            }
        )
    return pd.DataFrame(rows)


def test_repeated_runs_aggregate_to_the_median_with_their_spread() -> None:
    df = _rows(
        [
            ("i", "a", 1, 101.0),
            ("i", "a", 2, 104.0),
            ("i", "a", 3, 102.0),
            ("i", "a", 4, 110.0),
            ("i", "b", 1, 100.0),
            ("i", "b", 2, None),
            ("i", "b", 3, None),
            ("j", "a", 1, 100.0),
            ("j", "b", 1, 120.0),
        ]
    )
    assert repeated_runs(df)
    assert not repeated_runs(df.drop_duplicates(["instance", "planner"]))
    costs = cost_matrix(df)
    assert costs.loc["i", "a"] == 103.0  # median of 101, 102, 104, 110
    assert costs.loc["i", "b"] == math.inf  # two of three runs failed
    assert costs.loc["j"].tolist() == [100.0, 120.0]
    spread = run_spread(df).set_index(["planner", "instance"])
    ia = spread.loc[("a", "i")]
    assert (ia["runs"], ia["feasible"], ia["min_total"], ia["max_total"]) == (4, 4, 101.0, 110.0)
    # gaps 1, 2, 4, 10: linear quartiles 1.75 and 5.5
    assert ia["iqr_gap_pct"] == pytest.approx(5.5 - 1.75)
    ib = spread.loc[("b", "i")]
    assert ib["feasible"] == 1
    assert ib["iqr_gap_pct"] == math.inf
    assert spread.loc[("a", "j"), "iqr_gap_pct"] == 0.0
    summ = summary_table(df).set_index("planner")
    assert summ.loc["a", "runs"] == 5
    assert summ.loc["b", "feasible"] == 2
    assert summ.loc["a", "median_gap_pct"] == pytest.approx((3.0 + 0.0) / 2)
    assert summ.loc["a", "runs_per_instance"] == 2.5
    assert summ.loc["a", "median_iqr_gap_pct"] == pytest.approx((3.75 + 0.0) / 2)


def test_one_run_per_pair_keeps_the_summary_columns() -> None:
    df = _rows([("i", "a", 1, 101.0), ("i", "b", 1, 100.0)])
    assert "median_iqr_gap_pct" not in summary_table(df).columns
    assert run_spread(df)["iqr_gap_pct"].tolist() == [0.0, 0.0]


# --------------------------------------------------------------------------- cliques, ticks


def test_nemenyi_cliques_hold_every_close_pair_and_nothing_else() -> None:
    rng = np.random.default_rng(8)
    for _ in range(100):
        k = int(rng.integers(2, 9))
        ranks = pd.Series(rng.uniform(1, k, size=k), index=[f"p{j}" for j in range(k)])
        cd = float(rng.uniform(0.2, 3.0))
        cliques = nemenyi_cliques(ranks, cd)
        for group in cliques:
            span = ranks[group].max() - ranks[group].min()
            assert len(group) >= 2
            assert span < cd
        for a, b in itertools.combinations(cliques, 2):
            assert not set(a) <= set(b)
            assert not set(b) <= set(a)
        for p, q in itertools.combinations(ranks.index, 2):
            close = abs(ranks[p] - ranks[q]) < cd
            assert close == any(p in g and q in g for g in cliques)


@pytest.mark.parametrize("top", [1.004, 4.2, 60.0, 5000.0])
def test_log_axes_read_in_plain_decimals(top: float) -> None:
    profile = pd.DataFrame(
        {"planner": ["a", "a", "b"], "tau": [1.0, top, 1.0], "rho": [0.5, 1.0, 1.0]}
    )
    fig = draw_profile(profile, ["a", "b"], "tau", "time", log=True)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(labels) >= 2
    for text in labels:
        assert re.fullmatch(r"[0-9,]+(\.[0-9]+)?", text), text
