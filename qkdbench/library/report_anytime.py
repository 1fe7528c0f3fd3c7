"""Anytime traces of a bench: fixed-target runtime ECDFs, fixed-budget curves, IOHanalyzer files.

A traces file (``traces.csv`` beside a bench ``results.csv``) holds, for each
run, the moments its best cost improved, one row each:

============== ==========================================================
``planner``    the planner
``instance``   the instance of the set
``seed``       the run's seed (an integer): runs of one pair differ by it
``seconds``    time since the run started
``evaluations`` plans evaluated so far (may be empty, or the column missing)
``best_cost``  best expected cost found so far
``best_bound`` best lower bound proven so far (may be empty or missing)
============== ==========================================================

The gap of a run at a time is ``100 (best_cost - ref) / ref`` for its latest
row up to then (``inf`` before its first row), ``ref`` the instance's
reference cost: the set's best known cost, or a lower cost of the results or
traces. A row's ``best_cost`` above an earlier row's of the same run counts as
the earlier (best so far).

Pure functions on tables, and :func:`write_ioh`, which writes the traces in
the IOHprofiler format IOHanalyzer reads.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..utils.files import read_text
from ..utils.numbers import MAX_MAGNITUDE
from ..utils.records import Column, check_records, csv_rows, refuse_duplicates

__all__ = [
    "TRACE_COLUMNS",
    "REQUIRED_TRACE_COLUMNS",
    "TRACE_SCHEMA",
    "TARGET_GAPS_PCT",
    "read_traces",
    "reference_costs",
    "trace_gaps",
    "hitting_times",
    "fixed_target_ecdf",
    "fixed_budget",
    "write_ioh",
]

#: Columns of a traces file, in order.
TRACE_COLUMNS: tuple[str, ...] = (
    "planner",
    "instance",
    "seed",
    "seconds",
    "evaluations",
    "best_cost",
    "best_bound",
)
#: The columns a traces file must have.
REQUIRED_TRACE_COLUMNS: tuple[str, ...] = ("planner", "instance", "seed", "seconds", "best_cost")
#: Target gaps (percent) of the fixed-target runtime ECDF.
TARGET_GAPS_PCT: tuple[float, ...] = (10.0, 5.0, 2.0, 1.0, 0.5, 0.1)

_RUN = ["planner", "instance", "seed"]


#: What each cell of a traces file may hold.
TRACE_SCHEMA: tuple[Column, ...] = (
    Column("planner", required=True),
    Column("instance", required=True),
    Column("seed", "count", required=True, nonneg=True, maximum=MAX_MAGNITUDE),
    Column("seconds", "number", required=True, nonneg=True),
    Column("evaluations", "count", nonneg=True, maximum=MAX_MAGNITUDE),
    Column("best_cost", "number", required=True, nonneg=True),
    Column("best_bound", "number", nonneg=True),
)


def read_traces(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a traces file.

    Parameters
    ----------
    path : path-like
        A CSV with a header row: the columns of :data:`TRACE_COLUMNS`
        (``evaluations`` and ``best_bound`` may be missing or empty).

    Returns
    -------
    pandas.DataFrame
        All of :data:`TRACE_COLUMNS` (missing ones ``nan``), ``seed`` an
        integer, the numbers as floats; rows ordered by run, then seconds.

    Raises
    ------
    InputError
        A missing file or column, malformed CSV, a row of the wrong length, a cell its
        column cannot hold (:data:`TRACE_SCHEMA`: a number that is not one, or negative,
        or not finite, a non-integer seed or evaluation count), a row given twice, or a
        run whose evaluation counts go down as its time goes up; naming the file and
        the row.
    """
    src = os.fspath(path)
    if Path(src).is_dir():
        raise InputError("is a directory, not a traces file", "", src)
    if not Path(src).is_file():
        raise InputError("no such file", "", src)
    records = csv_rows(read_text(src), src)
    if not records:
        raise InputError("empty file (a header row is needed)", "line 1", src)
    header = [h.strip() for h in records[0][1]]
    missing = [c for c in REQUIRED_TRACE_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", "line 1", src)
    raw_rows = []
    for k, (_, raw) in enumerate(records[1:]):
        if len(raw) != len(header):
            raise InputError(
                f"{len(raw)} fields, the header has {len(header)}", f"row {k + 2}", src
            )
        raw_rows.append(dict(zip(header, (v.strip() for v in raw), strict=True)))
    check_records(raw_rows, TRACE_SCHEMA, src)
    refuse_duplicates(raw_rows, [c for c in TRACE_COLUMNS if c in header], src, what="row")
    rows = []
    for k, r in enumerate(raw_rows):
        evals = r.get("evaluations", "")
        bound = r.get("best_bound", "")
        rows.append(
            (
                r["planner"],
                r["instance"],
                int(float(r["seed"])),
                float(r["seconds"]),
                float(evals) if evals else math.nan,
                float(r["best_cost"]),
                float(bound) if bound else math.nan,
                k + 2,
            )
        )
    if not rows:
        raise InputError("no trace rows", "", src)
    df = pd.DataFrame(rows, columns=[*TRACE_COLUMNS, "_row"])
    df = df.sort_values([*_RUN, "seconds"], kind="stable")
    for _, run in df.groupby(_RUN, sort=False):
        ev = run["evaluations"].to_numpy(dtype=float)
        at = np.nonzero(np.isfinite(ev))[0]
        down = np.nonzero(np.diff(ev[at]) < 0)[0]
        if len(down):
            bad = int(run["_row"].iloc[at[down[0] + 1]])
            raise InputError("evaluations go down as seconds go up", f"row {bad}", src)
    return df.drop(columns="_row").reset_index(drop=True)


def reference_costs(
    traces: pd.DataFrame, best_known: pd.Series | None = None, results: pd.DataFrame | None = None
) -> pd.Series:
    """Per instance of the traces, the cost gaps are measured to.

    Parameters
    ----------
    traces : pandas.DataFrame
        As :func:`read_traces` returns it.
    best_known : pandas.Series, optional
        The set's best known cost per instance (``nan``: none).
    results : pandas.DataFrame, optional
        Instances x planners of result costs (``inf``: failed).

    Returns
    -------
    pandas.Series
        The lowest of the best known cost, the results' costs and the traces'
        costs, per instance in the traces' order of appearance.

    Examples
    --------
    >>> t = pd.DataFrame({"instance": ["i", "i", "j"], "best_cost": [5.0, 4.0, 9.0]})
    >>> reference_costs(t, pd.Series({"i": 4.5, "j": 8.0})).to_dict()
    {'i': 4.0, 'j': 8.0}
    """
    names = list(dict.fromkeys(traces["instance"]))
    ref = traces.groupby("instance")["best_cost"].min().reindex(names)
    if best_known is not None:
        ref = pd.concat([ref, best_known.reindex(names)], axis=1).min(axis=1)
    if results is not None:
        ref = pd.concat([ref, results.min(axis=1).reindex(names)], axis=1).min(axis=1)
    return ref.astype(float)


def trace_gaps(traces: pd.DataFrame, reference: pd.Series) -> pd.DataFrame:
    """The traces with ``gap_pct``: the best-so-far cost's gap to the reference.

    Parameters
    ----------
    traces : pandas.DataFrame
        As :func:`read_traces` returns it (ordered by run, then seconds).
    reference : pandas.Series
        Per instance, a positive reference cost (:func:`reference_costs`).

    Returns
    -------
    pandas.DataFrame
        A copy with ``best_cost`` made best-so-far within each run and
        ``gap_pct = 100 (best_cost - ref) / ref``.

    Raises
    ------
    InputError
        If an instance has no positive reference cost.
    """
    out = traces.copy()
    out["best_cost"] = out.groupby(_RUN, sort=False)["best_cost"].cummin()
    ref = out["instance"].map(reference).astype(float)
    if not (ref > 0).all():
        bad = out.loc[~(ref > 0), "instance"].iloc[0]
        raise InputError(f"instance {bad!r} has no positive reference cost")
    out["gap_pct"] = 100.0 * (out["best_cost"] - ref) / ref
    return out


def _runs(gaps: pd.DataFrame) -> dict[tuple[str, str, int], pd.DataFrame]:
    return {(str(k[0]), str(k[1]), int(k[2])): g for k, g in gaps.groupby(_RUN, sort=False)}


def hitting_times(
    gaps: pd.DataFrame, targets: Sequence[float] = TARGET_GAPS_PCT, tol: float = 1e-9
) -> pd.DataFrame:
    """For every run and target gap, the first time the run's gap is at most the target.

    Parameters
    ----------
    gaps : pandas.DataFrame
        As :func:`trace_gaps` returns it.
    targets : sequence of float
        Target gaps, percent.
    tol : float
        Slack on the target (percentage points), for rounding.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, instance, seed, target_pct, seconds, evaluations``
        (``inf`` seconds and ``nan`` evaluations: never reached).
    """
    rows = []
    for (p, i, s), run in _runs(gaps).items():
        g = run["gap_pct"].to_numpy(dtype=float)
        t = run["seconds"].to_numpy(dtype=float)
        e = run["evaluations"].to_numpy(dtype=float)
        for target in targets:
            hit = np.nonzero(g <= target + tol)[0]
            if len(hit):
                rows.append((p, i, s, float(target), float(t[hit[0]]), float(e[hit[0]])))
            else:
                rows.append((p, i, s, float(target), math.inf, math.nan))
    return pd.DataFrame(
        rows, columns=["planner", "instance", "seed", "target_pct", "seconds", "evaluations"]
    )


def fixed_target_ecdf(
    gaps: pd.DataFrame,
    targets: Sequence[float] = TARGET_GAPS_PCT,
    planners: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per planner, the share of (instance, target) pairs reached against time.

    Each instance of the traces and each target weigh alike; the runs of a
    planner on an instance (its seeds) share the instance's weight, and an
    instance without a run of the planner is never reached by it. The share
    at time ``t`` is the weighted share of pairs whose run reached the target
    by ``t``.

    Parameters
    ----------
    gaps : pandas.DataFrame
        As :func:`trace_gaps` returns it.
    targets : sequence of float
        Target gaps, percent (default :data:`TARGET_GAPS_PCT`).
    planners : sequence of str, optional
        Default: those of the traces, in order.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, seconds, share``: per planner a first row at 0 s,
        then one at each time a pair is reached (the share from then on).
    """
    planners = list(planners) if planners is not None else list(dict.fromkeys(gaps["planner"]))
    instances = list(dict.fromkeys(gaps["instance"]))
    hits = hitting_times(gaps, targets)
    weight = 1.0 / (len(instances) * len(targets))
    rows = []
    for p in planners:
        mine = hits[hits["planner"] == p]
        seeds = mine.groupby("instance")["seed"].nunique()
        events: dict[float, float] = {}
        for r in mine.itertuples():
            if math.isfinite(r.seconds):
                w = weight / seeds[r.instance]
                events[r.seconds] = events.get(r.seconds, 0.0) + w
        share = 0.0
        zero = events.pop(0.0, 0.0)
        share += zero
        rows.append((p, 0.0, share))
        for t in sorted(events):
            share += events[t]
            rows.append((p, float(t), min(share, 1.0)))
    return pd.DataFrame(rows, columns=["planner", "seconds", "share"])


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """The empirical quantile ``inf{x : F(x) >= q}`` of sorted values (no interpolation)."""
    n = len(sorted_values)
    k = max(int(math.ceil(q * n - 1e-12)) - 1, 0)
    return float(sorted_values[min(k, n - 1)])


def fixed_budget(
    gaps: pd.DataFrame,
    times: Sequence[float] | None = None,
    *,
    points: int = 60,
    planners: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per planner, the median and quartiles over its runs of the gap at each time.

    Parameters
    ----------
    gaps : pandas.DataFrame
        As :func:`trace_gaps` returns it.
    times : sequence of float, optional
        The budgets, seconds. Default: ``points`` log-spaced times from the
        earliest positive time of the traces to the latest (and 0 if a trace
        starts at 0).
    points : int
    planners : sequence of str, optional
        Default: those of the traces, in order.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, seconds, runs, solved, median_gap_pct, q25_gap_pct,
        q75_gap_pct``: over the planner's runs (a run counts ``inf`` before its
        first solution; ``solved`` counts those past it), empirical quantiles
        without interpolation, ``inf`` when more than that share of runs has
        no solution yet.
    """
    planners = list(planners) if planners is not None else list(dict.fromkeys(gaps["planner"]))
    if times is None:
        t = gaps["seconds"].to_numpy(dtype=float)
        pos = t[t > 0]
        lo = float(pos.min()) if len(pos) else 1.0
        hi = max(float(t.max()), lo)
        grid = list(np.geomspace(lo, hi, points)) if hi > lo else [lo]
        times = ([0.0] if (t == 0).any() else []) + grid
    runs = _runs(gaps)
    rows = []
    for p in planners:
        mine = [run for (q, _, _), run in runs.items() if q == p]
        if not mine:
            continue
        for budget in times:
            vals = []
            for run in mine:
                k = int(np.searchsorted(run["seconds"].to_numpy(dtype=float), budget, "right"))
                vals.append(float(run["gap_pct"].iloc[k - 1]) if k else math.inf)
            v = np.sort(np.array(vals))
            rows.append(
                (
                    p,
                    float(budget),
                    len(v),
                    int(np.isfinite(v).sum()),
                    _quantile(v, 0.5),
                    _quantile(v, 0.25),
                    _quantile(v, 0.75),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "planner",
            "seconds",
            "runs",
            "solved",
            "median_gap_pct",
            "q25_gap_pct",
            "q75_gap_pct",
        ],
    )


_HEADER = '"function evaluation" "current f(x)" "best-so-far f(x)"'


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-") or "x"


def write_ioh(
    traces: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    suite: str,
    instances: Sequence[str] | None = None,
    dims: Mapping[str, int] | None = None,
    budget: str = "evaluations",
) -> dict[str, list[str]]:
    """Write traces in the IOHprofiler format (meta-data ``.info`` and raw ``.dat`` files).

    Per planner a folder ``out_dir/<planner>``; per instance (function ``f``,
    numbered from 1 in the order of ``instances``) an
    ``IOHprofiler_f<f>_<instance>.info`` with its three lines (``suite, funcId,
    funcName, DIM, maximization = 'F', algId``; a ``%`` comment; the data file
    and each run's ``seed:budget|best``) and a ``data_f<f>_<instance>/
    IOHprofiler_f<f>_DIM<dim>.dat`` with one block per run: the line
    ``"function evaluation" "current f(x)" "best-so-far f(x)"``, then one line per
    improvement, columns separated by one space. ``current f(x)`` is the cost
    the run found at that row, which is its best so far (a traces file holds
    improvements only); ``maximization = 'F'``: the costs are minimised.

    Parameters
    ----------
    traces : pandas.DataFrame
        As :func:`read_traces` returns it.
    out_dir : path-like
        Created if missing.
    suite : str
        The ``suite`` entry (e.g. ``qkdbench-design``).
    instances : sequence of str, optional
        Function numbering; default the traces' order.
    dims : mapping, optional
        ``DIM`` per instance (e.g. its number of requests); default 1.
    budget : {"evaluations", "milliseconds"}
        The ``function evaluation`` column: the evaluations of the traces (runs
        without them are left out), or the time in whole milliseconds (rounded
        up), said in the comment line.

    Returns
    -------
    dict
        ``files`` written and ``skipped`` runs (``planner/instance/seed``, no
        evaluation counts).

    Raises
    ------
    InputError
        An unknown ``budget``, or an instance of the traces missing from ``instances``.
    """
    if budget not in ("evaluations", "milliseconds"):
        raise InputError(f"budget must be 'evaluations' or 'milliseconds', got {budget!r}")
    names = list(instances) if instances is not None else list(dict.fromkeys(traces["instance"]))
    fid = {name: k + 1 for k, name in enumerate(names)}
    unknown = sorted(set(traces["instance"]) - set(fid))
    if unknown:
        raise InputError(f"instances not numbered: {', '.join(unknown)}")
    root = Path(out_dir)
    files: list[str] = []
    skipped: list[str] = []
    for planner, mine in traces.groupby("planner", sort=False):
        folder = root / _safe(str(planner))
        for inst, runs in mine.groupby("instance", sort=False):
            f = fid[str(inst)]
            dim = int(dims.get(str(inst), 1)) if dims else 1
            data_rel = f"data_f{f}_{_safe(str(inst))}/IOHprofiler_f{f}_DIM{dim}.dat"
            blocks, summary = [], []
            for seed, run in runs.groupby("seed", sort=True):
                run = run.sort_values("seconds", kind="stable")
                best = run["best_cost"].cummin().to_numpy(dtype=float)
                if budget == "evaluations":
                    ev = run["evaluations"].to_numpy(dtype=float)
                    if not np.isfinite(ev).all():
                        skipped.append(f"{planner}/{inst}/{seed}")
                        continue
                    counts = ev.astype(np.int64)
                else:
                    ms = np.ceil(run["seconds"].to_numpy(dtype=float) * 1000.0 - 1e-9)
                    counts = np.maximum(ms, 0).astype(np.int64)
                lines = [_HEADER]
                for k in range(len(counts)):
                    if k + 1 < len(counts) and counts[k + 1] == counts[k]:
                        continue  # the same budget: keep the later (better) row
                    lines.append(f"{counts[k]} {best[k]:.10e} {best[k]:.10e}")
                blocks.append("\n".join(lines))
                summary.append(f"{int(seed)}:{counts[-1]}|{best[-1]:.10e}")
            if not blocks:
                continue
            dat = folder / data_rel
            dat.parent.mkdir(parents=True, exist_ok=True)
            dat.write_text("\n".join(blocks) + "\n", encoding="utf-8")
            info = folder / f"IOHprofiler_f{f}_{_safe(str(inst))}.info"
            head = (
                f"suite = '{suite}', funcId = {f}, funcName = '{inst}', DIM = {dim}, "
                f"maximization = 'F', algId = '{planner}'"
            )
            comment = (
                f"% qkdbench traces; f(x): expected cost of the best plan; "
                f"function evaluation: {'plans evaluated' if budget == 'evaluations' else 'ms'}"
            )
            info.write_text(
                f"{head}\n{comment}\n{data_rel}, {', '.join(summary)}\n", encoding="utf-8"
            )
            files += [str(info), str(dat)]
    return {"files": files, "skipped": skipped}
