"""The descriptive numbers of ``qkdbench report``: cost tables, profiles, wins, gaps, summaries.

Pure functions over a bench results table (the one
:func:`qkdbench.library.bench.read_bench_results` returns, one row per run); the
tables out are those the report writes as CSV and draws
(:mod:`qkdbench.library.report_draw`). The significance tests over the same cost
tables are in :mod:`qkdbench.library.report_significance`; both are importable
from :mod:`qkdbench.library.report_stats`.

Costs are compared per (instance, planner): a run that failed or is infeasible
counts as cost ``inf``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..utils.statuses import USABLE_STATUSES

__all__ = [
    "TIE_TOL",
    "DEFAULT_TARGET_PCT",
    "planners_of",
    "instances_of",
    "cost_matrix",
    "repeated_runs",
    "run_spread",
    "cost_ratios",
    "performance_profile",
    "wins",
    "win_tie_loss",
    "gap_ecdf",
    "best_known_costs",
    "instance_table",
    "summary_table",
]

#: Relative difference under which two costs tie.
TIE_TOL = 1e-9
#: Target gap to the best known cost (percent) of the time profile.
DEFAULT_TARGET_PCT = 1.0


def planners_of(df: pd.DataFrame) -> list[str]:
    """The planners of a results table, in their first order of appearance.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows (a ``planner`` column).

    Returns
    -------
    list of str
    """
    return list(dict.fromkeys(df["planner"]))


def instances_of(df: pd.DataFrame) -> list[str]:
    """The instances of a results table, in their first order of appearance.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows (an ``instance`` column).

    Returns
    -------
    list of str
    """
    return list(dict.fromkeys(df["instance"]))


def cost_matrix(df: pd.DataFrame, column: str = "total") -> pd.DataFrame:
    """Instances x planners of ``column`` for usable feasible runs, ``inf`` otherwise.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows.
    column : str
        The value to tabulate (``total``, ``gap_to_best_pct``, ``runtime_s``...).

    Returns
    -------
    pandas.DataFrame
        Rows in the instances' order, columns in the planners' order; a run
        that failed or is infeasible counts as ``inf``. Repeated runs of a pair
        (several rows, e.g. one per seed) give their median; a pair without a
        row is ``inf``.

    Examples
    --------
    >>> df = pd.DataFrame({"instance": ["i"] * 4, "planner": ["a", "b", "b", "b"],
    ...     "total": [3.0, 4.0, 6.0, 5.0], "feasible": [True, True, False, True],
    ...     "status": ["heuristic"] * 4})
    >>> cost_matrix(df).values.tolist()
    [[3.0, 5.0]]
    """
    ok = df["feasible"] & df["status"].isin(list(USABLE_STATUSES)) & df[column].notna()
    vals = df[column].where(ok, math.inf).astype(float)
    m = pd.DataFrame({"instance": df["instance"], "planner": df["planner"], "v": vals})
    m = m.groupby(["instance", "planner"], sort=False)["v"].agg(_median).unstack("planner")
    return m.reindex(index=instances_of(df), columns=planners_of(df)).fillna(math.inf)


def _median(values: pd.Series) -> float:
    """The median, ``inf`` counting as the largest value (numpy's, not pandas' nan-skipping)."""
    return float(np.median(values.to_numpy(dtype=float)))


def repeated_runs(df: pd.DataFrame) -> bool:
    """Whether some (instance, planner) pair has more than one row (repeated runs).

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows.

    Returns
    -------
    bool
    """
    return bool(df.duplicated(["instance", "planner"]).any())


def run_spread(df: pd.DataFrame) -> pd.DataFrame:
    """Per (planner, instance), the spread of repeated runs.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows, several per pair (a ``seed`` column telling them apart).

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, instance, runs, feasible, median_total, min_total,
        max_total, median_gap_pct, iqr_gap_pct`` (a failed run counts as cost and
        gap ``inf``; ``iqr_gap_pct`` is the interquartile range of the gap over
        the pair's runs, numpy's linear quantiles; ``inf`` when a quartile is).
    """
    ok = df["feasible"] & df["status"].isin(list(USABLE_STATUSES)) & df["total"].notna()
    total = df["total"].where(ok, math.inf).astype(float)
    gap = df["gap_to_best_pct"].where(ok & df["gap_to_best_pct"].notna(), math.inf)
    rows = []
    for p in planners_of(df):
        for i in instances_of(df):
            sel = ((df["planner"] == p) & (df["instance"] == i)).to_numpy()
            if not sel.any():
                continue
            t = total[sel].to_numpy(dtype=float)
            g = np.sort(gap[sel].to_numpy(dtype=float))
            q1, q3 = (_quantile_inf(g, q) for q in (0.25, 0.75))
            rows.append(
                {
                    "planner": p,
                    "instance": i,
                    "runs": int(sel.sum()),
                    "feasible": int(np.isfinite(t).sum()),
                    "median_total": float(np.median(t)),
                    "min_total": float(t.min()),
                    "max_total": float(t.max()),
                    "median_gap_pct": float(np.median(g)),
                    "iqr_gap_pct": q3 - q1 if math.isfinite(q3) else math.inf,
                }
            )
    return pd.DataFrame(rows)


def _quantile_inf(sorted_values: np.ndarray, q: float) -> float:
    """The linear quantile (numpy's) of sorted values that may hold ``inf`` (no ``nan`` from it)."""
    n = len(sorted_values)
    h = (n - 1) * q
    lo, hi = int(math.floor(h)), int(math.ceil(h))
    a, b = float(sorted_values[lo]), float(sorted_values[hi])
    if lo == hi or a == b:
        return a
    return a + (h - lo) * (b - a)


def cost_ratios(values: pd.DataFrame, base: pd.Series) -> pd.DataFrame:
    """``values / base`` per row, the ratios of a performance profile.

    Parameters
    ----------
    values : pandas.DataFrame
        Instances x planners, non-negative or ``inf``.
    base : pandas.Series
        Per instance (the index of ``values``), the reference value.

    Returns
    -------
    pandas.DataFrame
        Each ratio ``>= 1`` (a value within :data:`TIE_TOL` of the base is 1);
        ``inf`` where the value or the base is; 1 where both are 0.

    Examples
    --------
    >>> v = pd.DataFrame({"a": [2.0, 0.0], "b": [3.0, math.inf]}, index=["i", "j"])
    >>> cost_ratios(v, pd.Series({"i": 2.0, "j": 0.0})).values.tolist()
    [[1.0, 1.5], [1.0, inf]]
    """
    out = values.copy()
    for inst in values.index:
        b = base[inst]
        for p in values.columns:
            v = values.at[inst, p]
            if not math.isfinite(v) or not math.isfinite(b):
                out.at[inst, p] = math.inf
            elif b == 0:
                out.at[inst, p] = 1.0 if v == 0 else math.inf
            else:
                out.at[inst, p] = max(v / b, 1.0) if v <= b * (1 + TIE_TOL) else v / b
    return out


def performance_profile(ratios: pd.DataFrame) -> pd.DataFrame:
    """The Dolan-More profile of a ratio table: ``rho_p(tau)`` at every breakpoint.

    Parameters
    ----------
    ratios : pandas.DataFrame
        Instances x planners, each ``>= 1`` or ``inf``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, tau, rho``: ``rho`` the share of instances with ratio
        ``<= tau``; the first row of each planner is ``tau = 1``.

    Examples
    --------
    >>> r = pd.DataFrame({"a": [1.0, 2.0], "b": [1.5, 1.0]})
    >>> performance_profile(r).values.tolist()
    [['a', 1.0, 0.5], ['a', 2.0, 1.0], ['b', 1.0, 0.5], ['b', 1.5, 1.0]]
    """
    n = len(ratios)
    rows = []
    for p in ratios.columns:
        r = np.sort(ratios[p].to_numpy(dtype=float))
        taus = [1.0] + [t for t in np.unique(r[np.isfinite(r)]) if t > 1.0]
        for t in taus:
            rows.append((p, float(t), float(np.sum(r <= t)) / n if n else math.nan))
    return pd.DataFrame(rows, columns=["planner", "tau", "rho"])


def wins(costs: pd.DataFrame) -> pd.Series:
    """Per planner, the share of instances on which its cost is the lowest (ties count).

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners (:func:`cost_matrix`).

    Returns
    -------
    pandas.Series
        Indexed by planner, each in ``[0, 1]``.

    Examples
    --------
    >>> wins(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 3.0]})).to_dict()
    {'a': 1.0, 'b': 0.5}
    """
    best = costs.min(axis=1)
    won = costs.apply(lambda col: np.isfinite(col) & (col <= best * (1 + TIE_TOL)))
    return won.sum(axis=0) / max(len(costs), 1)


def _tie(a: float, b: float) -> bool:
    return a == b or (
        math.isfinite(a) and math.isfinite(b) and abs(a - b) <= TIE_TOL * max(abs(a), abs(b))
    )


def win_tie_loss(costs: pd.DataFrame) -> pd.DataFrame:
    """Pairwise counts: row planner's wins, ties and losses against the column planner.

    Parameters
    ----------
    costs : pandas.DataFrame
        Instances x planners (:func:`cost_matrix`).

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, opponent, wins, ties, losses`` (a failed run loses to
        any scored run; two failed runs tie).
    """
    rows = []
    for p in costs.columns:
        for q in costs.columns:
            if p == q:
                continue
            w = t = loss = 0
            for a, b in zip(costs[p], costs[q], strict=True):
                if _tie(a, b):
                    t += 1
                elif a < b:
                    w += 1
                else:
                    loss += 1
            rows.append((p, q, w, t, loss))
    return pd.DataFrame(rows, columns=["planner", "opponent", "wins", "ties", "losses"])


def gap_ecdf(gaps: pd.DataFrame) -> pd.DataFrame:
    """The empirical distribution of each planner's gap, one row per instance.

    Parameters
    ----------
    gaps : pandas.DataFrame
        Instances x planners of gaps in percent (``inf`` for a failed run).

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, gap_pct, share``: the gaps sorted, ``share`` the
        share of instances with a gap up to this one.

    Examples
    --------
    >>> gap_ecdf(pd.DataFrame({"a": [2.0, 0.0]})).values.tolist()
    [['a', 0.0, 0.5], ['a', 2.0, 1.0]]
    """
    rows = []
    for p in gaps.columns:
        g = np.sort(gaps[p].to_numpy(dtype=float))
        for k, v in enumerate(g):
            rows.append((p, float(v), (k + 1) / len(g)))
    return pd.DataFrame(rows, columns=["planner", "gap_pct", "share"])


def best_known_costs(df: pd.DataFrame) -> pd.Series:
    """Per instance, the set's best known cost the rows were scored against.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows (a ``best_cost`` column; empty: ``nan``).

    Returns
    -------
    pandas.Series
        Indexed by instance, in the instances' order.
    """
    return (
        df.drop_duplicates("instance")
        .set_index("instance")["best_cost"]
        .reindex(instances_of(df))
        .astype(float)
    )


def instance_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per instance the best known values and every planner's total and gap.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``instance, best_cost, best_status, best_bound``, then
        ``<planner> total`` and ``<planner> gap %`` per planner (empty where
        the run failed).
    """
    costs = cost_matrix(df)
    gaps = cost_matrix(df, "gap_to_best_pct")
    per = (
        df.drop_duplicates("instance")
        .set_index("instance")[["best_cost", "best_status", "best_bound"]]
        .reindex(instances_of(df))
    )
    for p in planners_of(df):
        per[f"{p} total"] = costs[p].replace(math.inf, math.nan)
        per[f"{p} gap %"] = gaps[p].replace(math.inf, math.nan)
    return per.reset_index()


def summary_table(df: pd.DataFrame, target_pct: float = DEFAULT_TARGET_PCT) -> pd.DataFrame:
    """Per planner: runs, feasible runs, share of wins, median and worst gap, time.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows.
    target_pct : float
        The target gap (percent) of ``within_target_pct``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, runs, feasible, wins_pct, at_best_known_pct,
        within_target_pct, median_gap_pct, worst_gap_pct, median_gap_to_bound_pct,
        mean_runtime_s`` (gaps of feasible runs to the best known cost; a planner with
        a failed run has worst gap ``inf``). ``runs`` and ``feasible`` count rows;
        the gaps and wins are over instances, of the median of repeated runs. With
        repeated runs two more columns give their spread: ``runs_per_instance``
        (median count) and ``median_iqr_gap_pct`` (median over instances of the
        interquartile range of the gap, :func:`run_spread`).
    """
    costs = cost_matrix(df)
    gaps = cost_matrix(df, "gap_to_best_pct")
    bgaps = cost_matrix(df, "gap_to_bound_pct")
    share = wins(costs)
    ok = df["feasible"] & df["status"].isin(list(USABLE_STATUSES)) & df["total"].notna()
    spread = run_spread(df) if repeated_runs(df) else None
    rows = []
    for p in costs.columns:
        mine = df[df["planner"] == p]
        g = gaps[p].to_numpy(dtype=float)
        n = len(g)
        row = {
            "planner": p,
            "runs": len(mine),
            "feasible": int(ok[mine.index].sum()),
            "wins_pct": 100.0 * share[p],
            "at_best_known_pct": 100.0 * float(np.sum(g <= 100 * TIE_TOL)) / n,
            "within_target_pct": 100.0 * float(np.sum(g <= target_pct)) / n,
            "median_gap_pct": float(np.median(g)),
            "worst_gap_pct": float(np.max(g)),
            "median_gap_to_bound_pct": float(np.median(bgaps[p].to_numpy(dtype=float))),
            "mean_runtime_s": float(mine["runtime_s"].mean()),
        }
        if spread is not None:
            sp = spread[spread["planner"] == p]
            row["runs_per_instance"] = float(sp["runs"].median())
            row["median_iqr_gap_pct"] = float(np.median(sp["iqr_gap_pct"].to_numpy(dtype=float)))
        rows.append(row)
    return pd.DataFrame(rows)
