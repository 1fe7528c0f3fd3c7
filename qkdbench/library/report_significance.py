"""The significance tests of ``qkdbench report``: ranks, Friedman, signed ranks, Nemenyi.

Pure functions over a cost table (instances x planners,
:func:`~qkdbench.library.report_tables.cost_matrix`; a failed or infeasible run costs
``inf``): the ranks and the Friedman test over instances, Wilcoxon signed-rank tests
with Holm's correction, Nemenyi's critical difference and its cliques, and bootstrap
intervals of mean gaps. Costs within :data:`~qkdbench.library.report_tables.TIE_TOL`
(relative) tie, as in the descriptive tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..exceptions import InputError
from ..experiments.aggregate import stratified_bootstrap
from ..utils.random import Seed
from .report_tables import _tie

__all__ = [
    "MIN_INSTANCES_FOR_TESTS",
    "FriedmanResult",
    "cost_ranks",
    "average_ranks",
    "friedman_test",
    "holm",
    "relative_differences",
    "wilcoxon_holm",
    "nemenyi_critical_difference",
    "nemenyi_cliques",
    "bootstrap_mean_ci",
    "mean_gap_table",
    "rank_table",
]

#: Fewest instances the signed-rank tests and the Friedman test are run on: with 5
#: the exact two-sided signed-rank p-value is at least 2 / 2**5 = 0.0625.
MIN_INSTANCES_FOR_TESTS = 6


@dataclass(frozen=True)
class FriedmanResult:
    """The Friedman test over instances (blocks), planners as treatments.

    Attributes
    ----------
    statistic : float
        The chi-square statistic, corrected for ties.
    pvalue : float
        Its upper tail under chi-square with ``planners - 1`` degrees of freedom.
    planners, instances : int
        Treatments and blocks.
    """

    statistic: float
    pvalue: float
    planners: int
    instances: int


def _snap_ties(row: np.ndarray) -> np.ndarray:
    """Costs within :data:`TIE_TOL` (relative) of a smaller one made equal to it."""
    out = row.astype(float).copy()
    order = np.argsort(out, kind="stable")
    anchor = math.nan
    for j in order:
        v = out[j]
        if math.isfinite(anchor) and math.isfinite(v) and _tie(anchor, v):
            out[j] = anchor
        else:
            anchor = v
    return out


def cost_ranks(costs: pd.DataFrame) -> pd.DataFrame:
    """Per instance, each planner's rank by cost: 1 the cheapest, ties share the mean rank.

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners (:func:`cost_matrix`); costs within :data:`TIE_TOL`
        tie, failed runs (``inf``) tie among themselves, last.

    Returns
    -------
    pandas.DataFrame
        Same shape, ranks in ``1..planners``.

    Examples
    --------
    >>> c = pd.DataFrame({"a": [1.0, 5.0], "b": [2.0, math.inf], "c": [1.0, 4.0]})
    >>> cost_ranks(c).values.tolist()
    [[1.5, 3.0, 1.5], [2.0, 3.0, 1.0]]
    """
    from scipy.stats import rankdata

    ranks = [rankdata(_snap_ties(r)) for r in costs.to_numpy(dtype=float)]
    shape = (len(costs), len(costs.columns))
    values = np.array(ranks, dtype=float).reshape(shape)
    return pd.DataFrame(values, index=costs.index, columns=costs.columns)


def average_ranks(costs: pd.DataFrame) -> pd.Series:
    """Each planner's rank by cost (:func:`cost_ranks`) averaged over instances.

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners.

    Returns
    -------
    pandas.Series
        Indexed by planner, sorted from the best (lowest) average rank.

    Examples
    --------
    >>> average_ranks(pd.DataFrame({"a": [1.0, 3.0], "b": [2.0, 2.0]})).to_dict()
    {'a': 1.5, 'b': 1.5}
    """
    return cost_ranks(costs).mean(axis=0).sort_values(kind="stable")


def friedman_test(costs: pd.DataFrame) -> FriedmanResult:
    """The Friedman test of equal ranks over instances, corrected for ties.

    ``chi2 = (12 / (n k (k+1)) sum_j R_j**2 - 3 n (k+1)) / (1 - sum(t**3 - t) / (n k (k**2 - 1)))``
    with ``R_j`` the rank sum of planner ``j`` over the ``n`` instances and
    ``t`` the sizes of the groups of tied costs on an instance; the p-value is
    the chi-square upper tail with ``k - 1`` degrees of freedom.

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners, at least 2 of each.

    Returns
    -------
    FriedmanResult
        A p-value of 1 when every instance ties all planners.

    Raises
    ------
    InputError
        With fewer than 2 planners or 2 instances.
    """
    from scipy.stats import chi2

    n, k = costs.shape
    if k < 2 or n < 2:
        raise InputError(f"the Friedman test needs 2 planners and 2 instances, got {k} and {n}")
    ranks = cost_ranks(costs).to_numpy(dtype=float)
    rank_sums = ranks.sum(axis=0)
    ties = 0.0
    for r in ranks:
        _, counts = np.unique(r, return_counts=True)
        ties += float(np.sum(counts.astype(float) ** 3 - counts))
    c = 1.0 - ties / (n * k * (k * k - 1))
    if c <= 0:
        return FriedmanResult(0.0, 1.0, k, n)
    stat = (12.0 / (n * k * (k + 1)) * float(np.sum(rank_sums**2)) - 3.0 * n * (k + 1)) / c
    return FriedmanResult(float(stat), float(chi2.sf(stat, k - 1)), k, n)


def holm(pvalues: Sequence[float] | NDArray[np.float64]) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (same order as given).

    The ``i``-th smallest of ``m`` p-values becomes ``max over j <= i of
    min(1, (m - j + 1) p_(j))``; rejecting where the adjusted value is below
    ``alpha`` keeps the family-wise error rate at ``alpha``.

    Parameters
    ----------
    pvalues : sequence of float

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, j in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[j]))
        adjusted[j] = running
    return adjusted


def relative_differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a - b) / max(|a|, |b|)`` per instance: 0 for a tie, 1 (-1) when only ``a`` (``b``) failed.

    Scale-free, so that instances of different sizes weigh alike in a
    signed-rank test; a failed run (``inf``) is the largest difference there is.

    Parameters
    ----------
    a, b : numpy.ndarray
        Costs of two planners on the same instances.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> relative_differences(np.array([2.0, 4.0, math.inf, 1.0]),
    ...                      np.array([1.0, 4.0, 3.0, math.inf])).tolist()
    [0.5, 0.0, 1.0, -1.0]
    """
    out = np.zeros(len(a))
    for i, (x, y) in enumerate(zip(a.astype(float), b.astype(float), strict=True)):
        if _tie(x, y):
            continue
        if not math.isfinite(x) or not math.isfinite(y):
            out[i] = 1.0 if x > y else -1.0
        else:
            out[i] = (x - y) / max(abs(x), abs(y))
    return out


def wilcoxon_holm(costs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of planners by the Wilcoxon signed-rank test, Holm-corrected as one family.

    The test is two-sided, on :func:`relative_differences` of the costs over
    the instances, ties (zero differences) dropped (SciPy's ``wilcoxon``, exact
    when it can be). Holm's adjustment runs over all ``k (k - 1) / 2`` pairs.

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners.
    alpha : float
        Family-wise level of ``significant``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, opponent, instances, untied, r_plus, r_minus,
        pvalue, pvalue_holm, significant, worse`` (one row per pair, ``planner``
        before ``opponent`` in the table's order): ``r_plus`` the sum of the
        ranks of the instances where ``planner`` costs more, ``worse`` the
        planner of the larger sum (empty on a draw).
    """
    from scipy.stats import rankdata, wilcoxon

    cols = list(costs.columns)
    rows = []
    for x in range(len(cols)):
        for y in range(x + 1, len(cols)):
            p, q = cols[x], cols[y]
            d = relative_differences(costs[p].to_numpy(), costs[q].to_numpy())
            nz = d[d != 0]
            if len(nz):
                r = rankdata(np.abs(nz))
                r_plus, r_minus = float(r[nz > 0].sum()), float(r[nz < 0].sum())
                pv = float(wilcoxon(nz).pvalue)
            else:
                r_plus = r_minus = 0.0
                pv = 1.0
            worse = p if r_plus > r_minus else q if r_minus > r_plus else ""
            rows.append((p, q, len(d), len(nz), r_plus, r_minus, pv, worse))
    out = pd.DataFrame(
        rows,
        columns=[
            "planner",
            "opponent",
            "instances",
            "untied",
            "r_plus",
            "r_minus",
            "pvalue",
            "worse",
        ],
    )
    out.insert(7, "pvalue_holm", holm(out["pvalue"]) if len(out) else [])
    out.insert(8, "significant", out["pvalue_holm"] < alpha)
    return out


def nemenyi_critical_difference(planners: int, instances: int, alpha: float = 0.05) -> float:
    """The Nemenyi critical difference of average ranks (Demsar 2006).

    ``CD = q_alpha sqrt(k (k + 1) / (6 n))`` with ``q_alpha`` the studentized
    range quantile for ``k`` groups and infinite degrees of freedom, over
    ``sqrt(2)``: two planners whose average ranks differ by at least ``CD``
    differ at level ``alpha``.

    Parameters
    ----------
    planners : int
        ``k``, at least 2.
    instances : int
        ``n``, at least 1.
    alpha : float

    Returns
    -------
    float

    Examples
    --------
    >>> round(nemenyi_critical_difference(4, 14), 3)  # Demsar's example: 2.569 sqrt(20 / 84)
    1.254
    """
    from scipy.stats import studentized_range

    q = float(studentized_range.ppf(1.0 - alpha, planners, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(planners * (planners + 1) / (6.0 * instances))


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: Seed | Sequence[int] = 0,
) -> tuple[float, float, float]:
    """The mean of ``values`` and its percentile-bootstrap interval.

    Parameters
    ----------
    values : sequence of float
        Finite values (one per instance).
    level : float
        Coverage of the interval.
    resamples : int
        Bootstrap samples (each ``len(values)`` draws with replacement).
    seed : int or sequence of int
        A seed of :func:`~qkdbench.utils.random.check_random_state`, or ``[s, *keys]``
        for :func:`~qkdbench.utils.random.derive_rng` ``(s, *keys)``.

    Returns
    -------
    (float, float, float)
        Mean, lower and upper end; the ends are ``nan`` with fewer than 2 values.

    Examples
    --------
    >>> bootstrap_mean_ci([2.0, 2.0, 2.0])
    (2.0, 2.0, 2.0)
    """
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(v.mean())
    if len(v) < 2:
        return (mean, math.nan, math.nan)
    # one task of len(v) runs: the stratified bootstrap is the plain one
    _, lo, hi = stratified_bootstrap(
        lambda b: b.mean(axis=(-2, -1)), v[:, None], level=level, resamples=resamples, seed=seed
    )
    return (mean, float(lo), float(hi))


def mean_gap_table(
    gaps: pd.DataFrame, *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Per planner, the mean gap over instances with its bootstrap interval.

    Parameters
    ----------
    gaps : pandas.DataFrame
        Instances x planners of gaps in percent (:func:`cost_matrix` of
        ``gap_to_best_pct``); failed runs (``inf``) are left out of the mean
        and counted in ``failed``.
    level : float
    resamples : int
    seed : int
        Planner ``j`` (0-based, in column order) draws from
        :func:`~qkdbench.utils.random.derive_rng` ``(seed, j)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, instances, failed, mean_gap_pct, ci_low_pct, ci_high_pct``.
    """
    rows = []
    for j, p in enumerate(gaps.columns):
        g = gaps[p].to_numpy(dtype=float)
        fin = g[np.isfinite(g)]
        mean, lo, hi = bootstrap_mean_ci(fin, level=level, resamples=resamples, seed=[seed, j])
        rows.append((p, len(fin), int(len(g) - len(fin)), mean, lo, hi))
    return pd.DataFrame(
        rows,
        columns=["planner", "instances", "failed", "mean_gap_pct", "ci_low_pct", "ci_high_pct"],
    )


def rank_table(costs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per planner, its average rank and whether it is significantly worse than the best.

    The best planner is the one of the lowest average rank; another is
    ``worse_than_best`` when the Holm-corrected signed-rank test of the pair
    (:func:`wilcoxon_holm`) rejects at ``alpha`` and the planner has the larger
    rank sum.

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners.
    alpha : float

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, average_rank, pvalue_holm_vs_best, worse_than_best``,
        from the best average rank (the best's p-value is empty).
    """
    avg = average_ranks(costs)
    best = str(avg.index[0])
    pairs = wilcoxon_holm(costs, alpha)
    rows = []
    for p, r in avg.items():
        if p == best:
            rows.append((p, float(r), math.nan, False))
            continue
        hit = pairs[
            ((pairs["planner"] == p) & (pairs["opponent"] == best))
            | ((pairs["planner"] == best) & (pairs["opponent"] == p))
        ].iloc[0]
        worse = bool(hit["significant"]) and hit["worse"] == p
        rows.append((p, float(r), float(hit["pvalue_holm"]), worse))
    return pd.DataFrame(
        rows, columns=["planner", "average_rank", "pvalue_holm_vs_best", "worse_than_best"]
    )


def nemenyi_cliques(ranks: pd.Series, cd: float) -> list[list[str]]:
    """The groups a critical-difference diagram joins: planners not told apart by Nemenyi.

    Parameters
    ----------
    ranks : pandas.Series
        Average rank per planner (:func:`average_ranks`).
    cd : float
        The critical difference (:func:`nemenyi_critical_difference`).

    Returns
    -------
    list of list of str
        Each a run of two or more planners, in rank order, whose average ranks
        span less than ``cd``; maximal (none inside another).

    Examples
    --------
    >>> nemenyi_cliques(pd.Series({"a": 1.0, "b": 1.5, "c": 2.4, "d": 3.9}), 1.0)
    [['a', 'b'], ['b', 'c']]
    """
    r = ranks.sort_values(kind="stable")
    names, vals = [str(n) for n in r.index], r.to_numpy(dtype=float)
    groups: list[list[str]] = []
    last_end = -1
    for i in range(len(vals)):
        j = i
        while j + 1 < len(vals) and vals[j + 1] - vals[i] < cd:
            j += 1
        if j > i and j > last_end:
            groups.append(names[i : j + 1])
            last_end = j
    return groups
