"""``qkdbench report``: performance profiles, gap distributions and win/tie/loss of a bench.

From a bench ``results.csv`` (:mod:`qkdbench.library.bench`), into a directory:

``profile_cost``
    Dolan-More performance profiles of the cost: for each planner, the share of
    instances on which its cost is within a factor ``tau`` of the best cost any
    planner of the table reached (``tau = 1``: its share of wins, ties counting
    as wins for each), and the same against the best known cost of the set
    (``profile_cost_known``). A run that failed or is infeasible has ratio
    infinity.
``profile_time``
    Profiles of the time to reach the target gap (default 1 %) to the best
    known cost: ratio of a planner's run time to the fastest run that reached
    the target on that instance (infinity if it did not reach it).
``ecdf_gap``
    The empirical distribution of each planner's gap to the best known cost.
``wtl``
    Win/tie/loss matrix: row planner against column planner, instance by instance
    (a tie is a cost equal within :data:`TIE_TOL` relative).
``gap_time``
    Gap to the best known cost against run time, one point per run.
``instances``
    Per instance the best known values and every planner's cost and gap.

Each as PNG and CSV (``instances`` as CSV only), plus ``summary.csv``,
``summary.md`` (Markdown) and ``report.html`` (one page, images embedded).

The numbers come from :mod:`~qkdbench.library.report_stats`, the figures from
:mod:`~qkdbench.library.report_draw`, the pages from
:mod:`~qkdbench.library.report_html`; this module puts them together.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from ..experiments.output import output_directory
from .bench import read_bench_results
from .report_draw import draw_ecdf, draw_gap_time, draw_profile, draw_wtl
from .report_html import figure_html, html_page, html_table, markdown_table, short_names
from .report_stats import (
    DEFAULT_TARGET_PCT,
    TIE_TOL,
    best_known_costs,
    cost_matrix,
    cost_ratios,
    gap_ecdf,
    instance_table,
    instances_of,
    performance_profile,
    planners_of,
    summary_table,
    win_tie_loss,
    wins,
)

__all__ = [
    "TIE_TOL",
    "DEFAULT_TARGET_PCT",
    "cost_matrix",
    "performance_profile",
    "wins",
    "win_tie_loss",
    "summary_table",
    "make_report",
]


def make_report(
    results: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    target_pct: float = DEFAULT_TARGET_PCT,
) -> dict[str, Any]:
    """Write the report of a bench results file.

    Parameters
    ----------
    results : path-like
        A bench ``results.csv`` (one set, this qkdbench version).
    out_dir : path-like
        Created if missing.
    target_pct : float
        Target gap (percent) of the time profile.

    Returns
    -------
    dict
        ``set``, ``instances``, ``planners``, ``summary`` (rows of
        :func:`summary_table`) and ``files`` written.

    Raises
    ------
    InputError
        As :func:`qkdbench.library.bench.read_bench_results`; an ``out_dir``
        that is a file.
    """
    set_name, df = read_bench_results(results)
    out = output_directory(out_dir, "-o", "the report")
    planners, instances = planners_of(df), instances_of(df)
    costs = cost_matrix(df)
    files: list[str] = []
    pngs: dict[str, str] = {}

    def save(fig, name: str) -> None:
        path = out / f"{name}.png"
        fig.savefig(path)
        files.append(str(path))
        pngs[name] = str(path)

    def csv(table: pd.DataFrame, name: str) -> None:
        table.to_csv(out / f"{name}.csv", index=False)
        files.append(str(out / f"{name}.csv"))

    prof = performance_profile(cost_ratios(costs, costs.min(axis=1)))
    base_known = pd.concat([best_known_costs(df).fillna(math.inf), costs.min(axis=1)], axis=1)
    prof_known = performance_profile(cost_ratios(costs, base_known.min(axis=1)))
    gaps = cost_matrix(df, "gap_to_best_pct")
    times = cost_matrix(df, "runtime_s").where(gaps <= target_pct, math.inf)
    prof_time = performance_profile(cost_ratios(times, times.min(axis=1)))
    ecdf = gap_ecdf(gaps)
    wtl = win_tie_loss(costs)
    pts = df[["instance", "planner", "runtime_s", "gap_to_best_pct", "status"]].copy()
    summary = summary_table(df, target_pct)
    per = instance_table(df)

    save(
        draw_profile(
            prof, planners, "tau: cost / best cost of the planners", "Performance profile: cost"
        ),
        "profile_cost",
    )
    save(
        draw_profile(
            prof_known,
            planners,
            "tau: cost / best known cost",
            "Performance profile: cost against the best known",
        ),
        "profile_cost_known",
    )
    save(
        draw_profile(
            prof_time,
            planners,
            f"tau: time to reach {target_pct:g} % gap / fastest",
            f"Performance profile: time to a {target_pct:g} % gap",
            log=True,
        ),
        "profile_time",
    )
    save(draw_ecdf(ecdf, planners, target_pct), "ecdf_gap")
    save(draw_wtl(wtl, planners), "wtl")
    save(draw_gap_time(pts, planners, target_pct), "gap_time")
    csv(prof, "profile_cost")
    csv(prof_known, "profile_cost_known")
    csv(prof_time, "profile_time")
    csv(ecdf, "ecdf_gap")
    csv(wtl, "wtl")
    csv(pts, "gap_time")
    csv(per, "instances")
    csv(summary, "summary")

    version = str(df["qkdbench_version"].iloc[0])
    limit = df["time_limit_s"].dropna()
    limit_text = f"{limit.max():g} s per run" if len(limit) else "no time limit"
    head = (
        f"Set `{set_name}`: {len(instances)} instances, planners "
        f"{', '.join(planners)}; qkdbench {version}, {limit_text}. Gaps are to the set's "
        f"best known costs; wins count ties; target gap {target_pct:g} %."
    )
    md = [f"# qkdbench report: set {set_name}", "", head, "", markdown_table(summary, 3), ""]
    (out / "summary.md").write_text("\n".join(md), encoding="utf-8")
    files.append(str(out / "summary.md"))

    def img(name: str, caption: str) -> str:
        return figure_html(pngs[name], name, caption)

    sections = [
        ("Summary", f'<div class="scroll">{html_table(short_names(summary), 3)}</div>'),
        (
            "Performance profiles",
            '<div class="grid">'
            + img(
                "profile_cost",
                "Share of instances within a factor tau of the best planner's cost "
                "(at tau = 1: share of wins).",
            )
            + img("profile_cost_known", "The same against the set's best known cost.")
            + img(
                "profile_time",
                f"Time to reach a {target_pct:g} % gap to the best known cost, "
                "relative to the fastest planner that reached it.",
            )
            + "</div>",
        ),
        (
            "Gaps",
            '<div class="grid">'
            + img(
                "ecdf_gap", "Empirical distribution of each planner's gap to the best known cost."
            )
            + img("gap_time", "Gap against run time.")
            + "</div>",
        ),
        (
            "Wins, ties and losses",
            '<div class="grid">'
            + img(
                "wtl",
                "Row planner against column planner, instance by instance; "
                "colour: wins minus losses.",
            )
            + "</div>",
        ),
        ("Per instance", f'<div class="scroll">{html_table(per)}</div>'),
    ]
    page = html_page(
        f"qkdbench report: {set_name}",
        f"qkdbench report: set {set_name}",
        head.replace("`", ""),
        sections,
    )
    (out / "report.html").write_text(page, encoding="utf-8")
    files.append(str(out / "report.html"))
    return {
        "set": set_name,
        "instances": len(instances),
        "planners": planners,
        "summary": summary.to_dict(orient="records"),
        "files": files,
    }
