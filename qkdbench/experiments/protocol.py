"""The evaluation protocol of several runs (training seeds) against other planners.

From the per-instance frame of :func:`qkdbench.rl.heldout.evaluate_agents` (a row
per instance, planner and run), after Agarwal et al. (NeurIPS 2021):

* :func:`add_gap_to_best` -- each row's gap to the best known cost of its
  instance: the exact optimum when one was proven, else the cheapest plan found
  by any planner or run (:func:`~qkdbench.experiments.gaps.gap_reference`);
* :func:`score_matrices` -- per planner, the ``runs x instances`` matrix of gaps;
* :func:`protocol_table` -- per planner, the interquartile mean of its gaps with
  a stratified-bootstrap interval, and the probability that it has a lower gap
  than a baseline (CO-QBN) with its interval (:mod:`qkdbench.experiments.aggregate`);
* :func:`profile_table` -- per planner, the fraction of its gaps within each
  threshold (a performance profile) with intervals.

The instances are the tasks and are held fixed: the intervals show how much the
result depends on the training seeds. A planner run once per instance (every
planner but the agent) has a zero-width interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError
from .aggregate import (
    iqm,
    performance_profile,
    probability_of_improvement,
    stratified_bootstrap,
)
from .gaps import gap_reference

__all__ = ["add_gap_to_best", "score_matrices", "protocol_table", "profile_table"]


def add_gap_to_best(df: Any) -> Any:
    """The frame with ``best_known``, ``reference`` and ``gap_to_best_pct`` columns.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of ``instance``, ``planner``, ``cost`` and ``status`` (every plan
        feasible, scored by the evaluator).

    Returns
    -------
    pandas.DataFrame
        A copy: ``best_known`` is the instance's proven optimum (``reference``
        ``"optimum"``), else its cheapest cost found (``"best found"``);
        ``gap_to_best_pct = 100 (cost - best_known) / best_known`` (``nan`` when the
        best known cost is not positive).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"instance": ["i", "i"], "planner": ["a", "b"],
    ...                    "cost": [110.0, 100.0], "status": ["heuristic", "heuristic"]})
    >>> add_gap_to_best(df)["gap_to_best_pct"].round(6).tolist()
    [10.0, 0.0]
    """
    out = df.copy()
    best, label = {}, {}
    for name, g in out.groupby("instance", sort=False):
        rows = [
            {"planner": p, "status": s, "total": float(c), "feasible": True}
            for p, s, c in zip(g["planner"], g["status"], g["cost"], strict=True)
        ]
        ref = gap_reference(rows)
        best[name], label[name] = ref.value, ref.label
    out["best_known"] = out["instance"].map(best).astype(float)
    out["reference"] = out["instance"].map(label)
    usable = out["best_known"] > 0
    gap = 100.0 * (out["cost"] - out["best_known"]) / out["best_known"]
    out["gap_to_best_pct"] = gap.where(usable, np.nan)
    return out


def score_matrices(df: Any, column: str = "gap_to_best_pct") -> dict[str, np.ndarray]:
    """Per planner, its ``runs x instances`` matrix of ``column``.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of ``instance``, ``planner``, ``run`` and ``column``.
    column : str
        The score.

    Returns
    -------
    dict of str to ndarray
        In the planners' order of appearance; the instances in their order of
        appearance; the runs in increasing ``run``. Instances where some row's
        score is ``nan`` are left out for every planner.

    Raises
    ------
    InputError
        If a planner lacks a run on some instance, or no instance has every score.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"instance": ["i", "i", "i", "j", "j", "j"],
    ...                    "planner": ["a", "a", "b"] * 2, "run": [0, 1, 0] * 2,
    ...                    "gap": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    >>> score_matrices(df, "gap")["a"].tolist()
    [[1.0, 4.0], [2.0, 5.0]]
    """
    bad = set(df.loc[df[column].isna(), "instance"])
    kept = df[~df["instance"].isin(bad)]
    if kept.empty:
        raise InputError(f"no instance where every planner has a {column}", "rl evaluate")
    instances = list(dict.fromkeys(kept["instance"]))
    out = {}
    for planner, g in kept.groupby("planner", sort=False):
        table = g.pivot_table(index="run", columns="instance", values=column, aggfunc="first")
        missing = [i for i in instances if i not in table.columns]
        if missing or table.isna().to_numpy().any():
            raise InputError(
                f"{planner} lacks a run on some instance ({', '.join(missing) or 'a run'})",
                "rl evaluate",
            )
        out[str(planner)] = table[instances].sort_index().to_numpy(dtype=float)
    return out


def protocol_table(
    df: Any,
    *,
    baseline: str = "coqbn",
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Any:
    """Per planner, the IQM of its gap to the best known and ``P(gap < baseline's)``.

    Parameters
    ----------
    df : pandas.DataFrame
        The per-instance frame (:func:`~qkdbench.rl.heldout.evaluate_agents`), with
        or without :func:`add_gap_to_best`'s columns (added if missing).
    baseline : str
        The planner the probability of improvement is against.
    level : float
        Coverage of the intervals.
    resamples : int
        Bootstrap resamples.
    seed : int
        Planner ``j`` (0-based, in order of appearance) draws its IQM interval from
        :func:`~qkdbench.utils.random.derive_rng` ``(seed, j, 0)`` and its probability's
        from ``(seed, j, 1)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, runs, instances, iqm_gap_pct, iqm_low_pct, iqm_high_pct,
        p_better_than_<baseline>, p_low, p_high`` (the probability columns ``nan``
        without a baseline row). A lower gap is better; ``P = 0.5`` is a draw.

    Raises
    ------
    InputError
        As :func:`score_matrices`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"instance": ["i", "i", "i", "j", "j", "j"],
    ...                    "planner": ["agent", "agent", "coqbn"] * 2, "run": [0, 1, 0] * 2,
    ...                    "cost": [100.0, 104.0, 102.0, 100.0, 100.0, 105.0],
    ...                    "status": ["heuristic"] * 6})
    >>> t = protocol_table(df, resamples=200)
    >>> float(t.loc[0, "p_better_than_coqbn"])  # (1 + 0) / 2 on i, 1 on j
    0.75
    """
    import pandas as pd

    if "gap_to_best_pct" not in df.columns:
        df = add_gap_to_best(df)
    mats = score_matrices(df)
    base = mats.get(baseline)
    p_col = f"p_better_than_{baseline}"
    rows = []
    for j, (planner, m) in enumerate(mats.items()):
        point, lo, hi = stratified_bootstrap(
            iqm, m, level=level, resamples=resamples, seed=[seed, j, 0]
        )
        row: dict[str, Any] = {
            "planner": planner,
            "runs": int(m.shape[0]),
            "instances": int(m.shape[1]),
            "iqm_gap_pct": point,
            "iqm_low_pct": lo,
            "iqm_high_pct": hi,
        }
        p = plo = phi = float("nan")
        if base is not None:  # lower gaps are better: P(-gap > -gap of the baseline)
            p, plo, phi = stratified_bootstrap(
                probability_of_improvement,
                -m,
                -base,
                level=level,
                resamples=resamples,
                seed=[seed, j, 1],
            )
        row.update({p_col: p, "p_low": plo, "p_high": phi})
        rows.append(row)
    return pd.DataFrame(rows)


def profile_table(
    df: Any,
    thresholds: Any = None,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Any:
    """Per planner and threshold ``tau``, the fraction of its gaps within ``tau`` %.

    A performance profile (the run-score distribution of Agarwal et al.):
    ``P(gap_to_best_pct <= tau)`` over all runs and instances, with its
    stratified-bootstrap interval.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`protocol_table`.
    thresholds : array_like, optional
        Gaps in percent (default: 21 from 0 to the largest gap).
    level, resamples : float, int
        As for :func:`protocol_table`.
    seed : int
        Planner ``j`` draws from :func:`~qkdbench.utils.random.derive_rng` ``(seed, j, 2)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, gap_pct, fraction, low, high``, one row per planner and
        threshold.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"instance": ["i", "i", "j", "j"], "planner": ["a", "b"] * 2,
    ...                    "run": [0] * 4, "cost": [100.0, 110.0, 120.0, 100.0],
    ...                    "status": ["heuristic"] * 4})
    >>> profile_table(df, [0.0, 15.0])["fraction"].tolist()  # a: gaps 0, 20; b: 10, 0
    [0.5, 0.5, 0.5, 1.0]
    """
    import pandas as pd

    if "gap_to_best_pct" not in df.columns:
        df = add_gap_to_best(df)
    mats = score_matrices(df)
    if thresholds is None:
        top = max(float(m.max()) for m in mats.values())
        thresholds = np.linspace(0.0, top, 21)
    taus = np.atleast_1d(np.asarray(thresholds, dtype=float))

    def within(batch: np.ndarray) -> Any:  # P(gap <= tau) = 1 - P(gap > tau)
        return 1.0 - performance_profile(batch, taus)

    rows = []
    for j, (planner, m) in enumerate(mats.items()):
        point, lo, hi = stratified_bootstrap(
            within, m, level=level, resamples=resamples, seed=[seed, j, 2]
        )
        rows += [
            (planner, float(t), float(p), float(a), float(b))
            for t, p, a, b in zip(taus, point, lo, hi, strict=True)
        ]
    return pd.DataFrame(rows, columns=["planner", "gap_pct", "fraction", "low", "high"])
