"""The main job: every planner on one instance, scored by the one evaluator.

:func:`compare` runs the registered planners (or a chosen few) on one
instance, scores each plan with :func:`qkdbench.evaluation.evaluate` and
returns a :class:`pandas.DataFrame` with one row per planner; a planner that
raises gives a row with status ``error`` and its message, and the comparison
goes on. :func:`format_table` prints it as text or Markdown.

Gaps are measured against the exact optimum when an exact planner proved
optimality, otherwise against the best proven lower bound from any source,
otherwise against the cheapest plan found; the column ``gap_ref`` says which.
Every row's ``bound_source`` says where its bound came from (``solver``: the
MILP solver's dual bound; ``lagrangian``: the Lagrangian dual of the capacities;
``linking-lagrangian``: the strong linking relaxation of the fixed charges;
``relaxation``: the capacity-free relaxation); with ``bound_time`` the comparison
also computes the strongest bound itself (:func:`~qkdbench.exact.linking.best_bound`)
and its bound, labelled :data:`BOUND_ROW`, competes as a reference.

Time limits: each planner gets at most ``time_limit`` seconds
(:data:`DEFAULT_TIME_LIMIT`), and never more than an equal share of what is
left of the whole comparison's ``budget`` (:data:`DEFAULT_BUDGET`), so that the
default comparison ends within two minutes however many planners are plugged in.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> df = compare(make_instance("nsfnet", 4, 3, seed=1), planners=["coqbn", "saa-greedy"])
>>> list(df["planner"]), list(df["status"])
(['coqbn', 'saa-greedy'], ['heuristic', 'heuristic'])
>>> float(df.loc[1, "gap_pct"]), df.loc[1, "gap_ref"], bool(df.loc[0, "gap_pct"] > 0)
(0.0, 'best found', True)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import pandas as pd

from ..model import Instance, Plan
from ..utils.registry import available_planners, proves_optimality
from .gaps import add_gaps, gap_reference
from .runs import RUN_FIELDS, run_planner, warm_up

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "DEFAULT_BUDGET",
    "BOUND_ROW",
    "compare",
    "format_table",
    "planner_order",
]

#: Name under which the comparison's own Lagrangian bound competes as a gap reference.
BOUND_ROW = "lagrangian bound"

#: Seconds one planner may run in :func:`compare` unless told otherwise.
DEFAULT_TIME_LIMIT = 20.0
#: Seconds the whole comparison may take unless told otherwise (split among planners).
DEFAULT_BUDGET = 90.0
#: Least time a planner is given, even when the budget is spent.
MIN_TIME_LIMIT = 1.0


def planner_order(names: Sequence[str]) -> list[str]:
    """Planners in the order a comparison runs them: those that prove optimality first.

    The planners that prove optimality (:func:`~qkdbench.utils.registry.proves_optimality`)
    run first so that a heuristic never waits behind a budget the exact solve
    needs for its proof; then by name.

    Parameters
    ----------
    names : sequence of str
        Registry names; repeats are dropped.

    Returns
    -------
    list of str
    """
    return sorted(dict.fromkeys(names), key=lambda n: (not proves_optimality(n), n))


@overload
def compare(
    instance: Instance,
    planners: Sequence[str] | None = None,
    *,
    seed: int | None = 0,
    time_limit: float | None = None,
    budget: float | None = None,
    progress: bool = False,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    return_plans: Literal[False] = False,
    bound_time: float | None = None,
) -> pd.DataFrame: ...


@overload
def compare(
    instance: Instance,
    planners: Sequence[str] | None = None,
    *,
    seed: int | None = 0,
    time_limit: float | None = None,
    budget: float | None = None,
    progress: bool = False,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    return_plans: Literal[True],
    bound_time: float | None = None,
) -> tuple[pd.DataFrame, dict[str, Plan]]: ...


def compare(
    instance: Instance,
    planners: Sequence[str] | None = None,
    *,
    seed: int | None = 0,
    time_limit: float | None = None,
    budget: float | None = None,
    progress: bool = False,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    return_plans: bool = False,
    bound_time: float | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, Plan]]:
    """Run planners on one instance and score them with the evaluator.

    Parameters
    ----------
    instance : Instance
    planners : sequence of str, optional
        Registry names (default: every registered planner but those marked ``on_request``).
    seed : int, optional
        Seed passed to every planner.
    time_limit : float, optional
        Seconds per planner (default :data:`DEFAULT_TIME_LIMIT`).
    budget : float, optional
        Seconds for the whole comparison (default :data:`DEFAULT_BUDGET`);
        each planner gets ``min(time_limit, left / planners left)``, at least
        :data:`MIN_TIME_LIMIT`.
    progress : bool
        Show a progress bar on standard error.
    params : Mapping, optional
        ``{planner: {constructor keyword: value}}``.
    return_plans : bool
        Also return ``{planner: Plan}`` (planners that raised are missing).
    bound_time : float, optional
        Seconds for a Lagrangian bound computed by the comparison itself (taken
        from the budget before the planners run); it is a gap reference like
        any planner's bound. ``None`` (default): only the planners' bounds.

    Returns
    -------
    pandas.DataFrame
        One row per planner, columns :data:`~qkdbench.experiments.runs.RUN_FIELDS`
        plus ``time_limit_s``; ``df.attrs`` holds ``instance``,
        ``gap_reference`` (value), ``gap_label``, ``gap_source`` (planner, and
        for a bound its source, e.g. ``exact (solver)``) and
        ``gap_contradicted`` (planners whose claimed optimum or bound a cheaper
        feasible plan disproved; see :func:`~qkdbench.experiments.gaps.gap_reference`).
        The column ``bound_source`` says where each row's bound comes from.
    """
    from tqdm.auto import tqdm

    if planners is None:  # every registered planner but those that run only when named
        planners = [n for n, info in available_planners().items() if not info.on_request]
    names = planner_order(planners)
    time_limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    budget = DEFAULT_BUDGET if budget is None else float(budget)
    params = dict(params or {})
    warm_up()
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    plans: dict[str, Plan] = {}
    bar = tqdm(
        total=len(names),
        desc=instance.name,
        unit="planner",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    )
    extra_rows: list[dict[str, Any]] = []
    if bound_time is not None and instance.n_requests:
        extra_rows.append(_bound_row(instance, float(bound_time)))
    try:
        for k, name in enumerate(names):
            left = budget - (time.perf_counter() - start)
            limit = max(MIN_TIME_LIMIT, min(time_limit, left / (len(names) - k)))
            bar.set_postfix_str(f"{name} (<= {limit:.0f} s)")
            row = run_planner(instance, name, seed=seed, time_limit=limit, params=params.get(name))
            row["time_limit_s"] = limit
            plan = row.pop("plan")
            row["bound_source"] = _bound_source(name, plan, row)
            if plan is not None:
                plans[name] = plan
            rows.append(row)
            bar.update(1)
    finally:
        bar.close()
    ref = gap_reference(rows + extra_rows)
    add_gaps(rows, ref)
    source = ref.source
    if ref.label == "bound":
        by_name = {str(r["planner"]): r for r in rows + extra_rows}
        planner = next(
            (n for n in sorted(by_name, key=len, reverse=True) if source.startswith(n)), ""
        )
        if planner and by_name[planner].get("bound_source"):
            source = f"{planner} ({by_name[planner]['bound_source']})" + source[len(planner) :]
    df = pd.DataFrame(rows, columns=[*RUN_FIELDS, "bound_source", "time_limit_s"])
    df.attrs.update(
        instance=instance.name,
        gap_reference=ref.value,
        gap_label=ref.label,
        gap_source=source,
        gap_contradicted=list(ref.contradicted),
        lagrangian_bound=(extra_rows[0]["bound"] if extra_rows else math.nan),
    )
    return (df, plans) if return_plans else df


def _bound_source(name: str, plan: Plan | None, row: Mapping[str, Any]) -> str:
    """Where a run's bound comes from: the plan's ``bound_source``, else the solver's."""
    if not math.isfinite(float(row.get("bound", math.nan))):
        return ""
    label = plan.stats.get("bound_source") if plan is not None else None
    if label:
        return str(label)
    return "solver" if proves_optimality(name) else name


def _bound_row(instance: Instance, seconds: float) -> dict[str, Any]:
    """The comparison's own Lagrangian bound, as a record :func:`gap_reference` reads."""
    from ..exact.linking import best_bound

    res = best_bound(instance, time_limit=max(seconds, 0.0))
    return {
        "planner": BOUND_ROW,
        "status": "feasible",
        "total": math.nan,
        "bound": res.bound,
        "feasible": False,
        "bound_source": res.bound_source,
    }


def _money(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return f"{v:,.0f}" if math.isfinite(v) else "-"


def _num(x: Any, fmt: str) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return format(v, fmt) if math.isfinite(v) else "-"


_GAP_NOTES = {
    "optimum": "gap: to the exact optimum ({src}, proven optimal)",
    "bound": "gap: to the best proven lower bound, from {src} (no run proved optimality)",
    "best found": "gap: to the cheapest plan found ({src}); no exact planner ran, "
    "so this proves nothing",
    "": "gap: no reference (no feasible plan)",
}


def format_table(df: pd.DataFrame, *, markdown: bool = False, title: str | None = None) -> str:
    """The comparison as an aligned text table, or a Markdown table.

    Parameters
    ----------
    df : pandas.DataFrame
        As returned by :func:`compare`.
    markdown : bool
        A GitHub-flavoured Markdown table instead of aligned text.
    title : str, optional
        A heading line (the instance name, say).

    Returns
    -------
    str
        The table, then a line saying what the gap is measured against, then
        the message of every planner that failed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame([{"planner": "a", "total": 10.0, "first_stage": 4.0,
    ...                     "second_stage": 6.0, "gap_pct": 0.0, "runtime_s": 0.5,
    ...                     "status": "optimal", "error": ""}])
    >>> df.attrs.update(gap_label="optimum", gap_source="a")
    >>> print(format_table(df, markdown=True))
    | planner | expected cost | first stage | second stage (exp.) | gap % | runtime s | status |
    |:--|--:|--:|--:|--:|--:|:--|
    | a | 10 | 4 | 6 | 0.00 | 0.50 | optimal |
    <BLANKLINE>
    gap: to the exact optimum (a, proven optimal)
    """
    label = df.attrs.get("gap_label", "")
    source = df.attrs.get("gap_source", "")
    gap_head = {"optimum": "gap %", "bound": "gap to bound %", "best found": "gap to best %"}.get(
        label, "gap %"
    )
    head = [
        "planner",
        "expected cost",
        "first stage",
        "second stage (exp.)",
        gap_head,
        "runtime s",
        "status",
    ]
    body: list[list[str]] = []
    notes: list[str] = []
    for _, r in df.iterrows():
        status = str(r.get("status", ""))
        err = str(r.get("error", "") or "")
        if err and err != "nan":
            notes.append(f"{r['planner']}: {status}: {err}")
        body.append(
            [
                str(r["planner"]),
                _money(r.get("total")),
                _money(r.get("first_stage")),
                _money(r.get("second_stage")),
                _num(r.get("gap_pct"), ".2f"),
                _num(r.get("runtime_s"), ".2f"),
                status,
            ]
        )
    footer = [_GAP_NOTES.get(label, _GAP_NOTES[""]).format(src=source)] + notes
    left = {0, 6}
    if markdown:
        lines = [f"**{title}**", ""] if title else []
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(":--" if i in left else "--:" for i in range(len(head))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines + [""] + footer)
    widths = [
        max(len(head[i]), *(len(row[i]) for row in body)) if body else len(head[i])
        for i in range(len(head))
    ]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [title, ""] if title else []
    lines += [fmt(head), fmt(["-" * w for w in widths])] + [fmt(row) for row in body]
    return "\n".join(lines + [""] + footer)
