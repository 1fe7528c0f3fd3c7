"""``qkdbench report``: performance profiles, gap distributions, win/tie/loss and significance.

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
``mean_gap`` (CSV)
    Per planner the mean gap over the instances it solved, with a seeded
    percentile-bootstrap 95 % interval.
``ranks``, ``pairwise``, ``friedman`` (CSV) and ``cd_diagram`` (PNG)
    With at least :data:`~qkdbench.library.report_stats.MIN_INSTANCES_FOR_TESTS`
    instances and 2 planners: average ranks of the cost per instance, the
    Friedman test, every pair by the Wilcoxon signed-rank test with Holm's
    correction (the ``*`` of the summary: significantly worse than the planner
    of the best average rank), and the Nemenyi critical difference of the
    critical-difference diagram.
``runs`` (CSV)
    With repeated runs (several rows per planner and instance, e.g. one per
    seed): each pair's runs, median, extremes and interquartile range of the
    gap. Everything else then uses each pair's median.
``fixed_target``, ``fixed_budget`` and ``ioh/``
    With a ``traces.csv`` beside the results (:mod:`~qkdbench.library.report_anytime`):
    fixed-target runtime ECDFs over the target gaps 10, 5, 2, 1, 0.5 and 0.1 %,
    the median and interquartile band of the gap against time, and the traces
    as IOHprofiler files for IOHanalyzer.

Each as PNG and CSV unless said, plus ``summary.csv``, ``summary.md``
(Markdown) and ``report.html`` (one page, images embedded).

The numbers come from :mod:`~qkdbench.library.report_stats` and
:mod:`~qkdbench.library.report_anytime`, the figures from
:mod:`~qkdbench.library.report_draw`, the pages from
:mod:`~qkdbench.library.report_html`; this module puts them together.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..exceptions import InputError
from ..experiments.output import output_directory
from ..utils.numbers import check_number
from .bench import TRACES_FILE, read_bench_results
from .report_anytime import (
    TARGET_GAPS_PCT,
    fixed_budget,
    fixed_target_ecdf,
    hitting_times,
    read_traces,
    reference_costs,
    trace_gaps,
    write_ioh,
)
from .report_draw import (
    draw_cd_diagram,
    draw_ecdf,
    draw_fixed_budget,
    draw_fixed_target,
    draw_gap_time,
    draw_profile,
    draw_wtl,
)
from .report_html import figure_html, html_page, html_table, markdown_table, short_names
from .report_stats import (
    DEFAULT_TARGET_PCT,
    MIN_INSTANCES_FOR_TESTS,
    TIE_TOL,
    average_ranks,
    best_known_costs,
    cost_matrix,
    cost_ratios,
    friedman_test,
    gap_ecdf,
    instance_table,
    instances_of,
    mean_gap_table,
    nemenyi_cliques,
    nemenyi_critical_difference,
    performance_profile,
    planners_of,
    rank_table,
    repeated_runs,
    run_spread,
    summary_table,
    wilcoxon_holm,
    win_tie_loss,
    wins,
)

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn
    from matplotlib.figure import Figure

__all__ = [
    "TIE_TOL",
    "DEFAULT_TARGET_PCT",
    "TRACES_FILE",
    "cost_matrix",
    "performance_profile",
    "wins",
    "win_tie_loss",
    "summary_table",
    "make_report",
]


class _Out:
    """The report directory: every file written, PNGs by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: list[str] = []
        self.pngs: dict[str, str] = {}

    def png(self, fig: Figure, name: str) -> None:
        path = self.path / f"{name}.png"
        fig.savefig(path)
        self.files.append(str(path))
        self.pngs[name] = str(path)

    def csv(self, table: pd.DataFrame, name: str) -> None:
        table.to_csv(self.path / f"{name}.csv", index=False)
        self.files.append(str(self.path / f"{name}.csv"))

    def text(self, text: str, name: str) -> None:
        (self.path / name).write_text(text, encoding="utf-8")
        self.files.append(str(self.path / name))

    def img(self, name: str, caption: str) -> str:
        return figure_html(self.pngs[name], name, caption)


def _grid(*figures: str) -> str:
    return '<div class="grid">' + "".join(figures) + "</div>"


def _note(text: str) -> str:
    import html

    return f'<p class="note">{html.escape(text)}</p>'


def _significance(
    out: _Out, costs: pd.DataFrame, gaps: pd.DataFrame, alpha: float, seed: int
) -> dict[str, Any]:
    """Mean gaps with intervals always; ranks, Friedman, pairs and the CD diagram if enough data."""
    mean_gap = mean_gap_table(gaps, seed=seed)
    out.csv(mean_gap, "mean_gap")
    n, k = costs.shape
    res: dict[str, Any] = {"mean_gap": mean_gap, "tested": False}
    if k < 2 or n < MIN_INSTANCES_FOR_TESTS:
        res["why_not"] = (
            f"No significance tests: they need at least 2 planners and "
            f"{MIN_INSTANCES_FOR_TESTS} instances (with 5 the exact two-sided signed-rank "
            f"p-value is at least 0.0625); this bench has {k} and {n}."
        )
        return res
    ranks = rank_table(costs, alpha)
    pairs = wilcoxon_holm(costs, alpha)
    fr = friedman_test(costs)
    cd = nemenyi_critical_difference(k, n, alpha)
    avg = average_ranks(costs)
    diff = [abs(avg[p] - avg[q]) for p, q in zip(pairs["planner"], pairs["opponent"], strict=True)]
    pairs["rank_difference"] = diff
    pairs["nemenyi_significant"] = [d >= cd for d in diff]
    cliques = nemenyi_cliques(avg, cd)
    friedman = pd.DataFrame(
        [
            {
                "planners": fr.planners,
                "instances": fr.instances,
                "statistic": fr.statistic,
                "pvalue": fr.pvalue,
                "alpha": alpha,
                "critical_difference": cd,
            }
        ]
    )
    out.csv(ranks, "ranks")
    out.csv(pairs, "pairwise")
    out.csv(friedman, "friedman")
    worse = list(ranks.loc[ranks["worse_than_best"], "planner"])
    out.png(
        draw_cd_diagram(
            avg,
            cd,
            cliques,
            marked=worse,
            title=f"Average rank of the cost over {n} instances (Friedman p = {fr.pvalue:.2g})",
        ),
        "cd_diagram",
    )
    res.update(
        tested=True,
        ranks=ranks,
        pairs=pairs,
        friedman=fr,
        cd=cd,
        cliques=cliques,
        worse=worse,
    )
    return res


def _anytime(
    out: _Out,
    traces_path: Path,
    set_name: str,
    df: pd.DataFrame,
    costs: pd.DataFrame,
    planners: list[str],
    ioh_budget: str,
) -> dict[str, Any]:
    """The fixed-target and fixed-budget figures and the IOHprofiler files of a traces file."""
    traces = read_traces(traces_path)
    known = set(instances_of(df))
    for name in dict.fromkeys(traces["instance"]):
        if name not in known:
            raise InputError(
                f"instance {name!r} is not in the results", "instance", str(traces_path)
            )
    ref = reference_costs(traces, best_known_costs(df), costs)
    if not (ref > 0).all():
        bad = ref.index[~(ref > 0)][0]
        raise InputError(f"no positive cost to measure gaps to on {bad!r}", "", str(traces_path))
    gaps = trace_gaps(traces, ref)
    order = planners + [p for p in dict.fromkeys(traces["planner"]) if p not in planners]
    order = [p for p in order if p in set(traces["planner"])]
    ecdf = fixed_target_ecdf(gaps, TARGET_GAPS_PCT, order)
    fb = fixed_budget(gaps, planners=order)
    out.csv(hitting_times(gaps, TARGET_GAPS_PCT), "hitting_times")
    out.csv(ecdf, "fixed_target")
    out.csv(fb, "fixed_budget")
    out.png(draw_fixed_target(ecdf, order, TARGET_GAPS_PCT), "fixed_target")
    out.png(draw_fixed_budget(fb, order), "fixed_budget")
    dims: dict[str, int] = {}
    if "requests" in df:
        for name, r in zip(df["instance"], df["requests"], strict=True):
            if pd.notna(r):
                dims[str(name)] = int(r)
    ioh = write_ioh(
        traces,
        out.path / "ioh",
        suite=f"qkdbench-{set_name}",
        instances=instances_of(df),
        dims=dims,
        budget=ioh_budget,
    )
    out.files += ioh["files"]
    runs = traces.drop_duplicates(["planner", "instance", "seed"])
    return {
        "traces": str(traces_path),
        "runs": len(runs),
        "planners": order,
        "ioh_files": len(ioh["files"]),
        "ioh_skipped": ioh["skipped"],
    }


def _marked_summary(summary: pd.DataFrame, worse: list[str]) -> pd.DataFrame:
    marked = summary.copy()
    marked["planner"] = [p + " *" if p in worse else p for p in marked["planner"]]
    return marked


def make_report(
    results: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    target_pct: float = DEFAULT_TARGET_PCT,
    traces: str | os.PathLike | None = None,
    alpha: float = 0.05,
    seed: int = 0,
    ioh_budget: str = "evaluations",
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
    traces : path-like, optional
        Anytime traces (:mod:`~qkdbench.library.report_anytime`); default the
        :data:`TRACES_FILE` beside ``results`` if there is one.
    alpha : float
        Family-wise level of the significance tests.
    seed : int
        Seed of the bootstrap intervals.
    ioh_budget : {"evaluations", "milliseconds"}
        The budget column of the IOHprofiler files.

    Returns
    -------
    dict
        ``set``, ``instances``, ``planners``, ``summary`` (rows of
        :func:`summary_table`), ``mean_gap`` (rows), ``significance`` (the
        Friedman test, critical difference and ranks, or why there is none),
        ``anytime`` (what the traces gave, or None) and ``files`` written.

    Raises
    ------
    InputError
        A ``target_pct`` that is not a finite number >= 0; as
        :func:`qkdbench.library.bench.read_bench_results` and
        :func:`~qkdbench.library.report_anytime.read_traces`; traces of an
        instance not in the results; an ``out_dir`` that is a file; a
        ``traces`` file that does not exist.
    """
    target_pct = check_number(target_pct, "--target-gap", nonneg=True)
    set_name, df = read_bench_results(results)
    traces_path = Path(results).parent / TRACES_FILE if traces is None else Path(traces)
    if traces is not None and not traces_path.is_file():
        raise InputError("no such file", "", str(traces_path))
    out = _Out(output_directory(out_dir, "-o", "the report"))
    planners, instances = planners_of(df), instances_of(df)
    costs = cost_matrix(df)

    prof = performance_profile(cost_ratios(costs, costs.min(axis=1)))
    base_known = pd.concat([best_known_costs(df).fillna(math.inf), costs.min(axis=1)], axis=1)
    prof_known = performance_profile(cost_ratios(costs, base_known.min(axis=1)))
    gaps = cost_matrix(df, "gap_to_best_pct")
    times = cost_matrix(df, "runtime_s").where(gaps <= target_pct, math.inf)
    prof_time = performance_profile(cost_ratios(times, times.min(axis=1)))
    ecdf = gap_ecdf(gaps)
    wtl = win_tie_loss(costs)
    cols = ["instance", "planner", "runtime_s", "gap_to_best_pct", "status"]
    if repeated_runs(df) and "seed" in df:
        cols.insert(2, "seed")
    pts = df[cols].copy()
    summary = summary_table(df, target_pct)
    per = instance_table(df)

    out.png(
        draw_profile(
            prof, planners, "tau: cost / best cost of the planners", "Performance profile: cost"
        ),
        "profile_cost",
    )
    out.png(
        draw_profile(
            prof_known,
            planners,
            "tau: cost / best known cost",
            "Performance profile: cost against the best known",
        ),
        "profile_cost_known",
    )
    out.png(
        draw_profile(
            prof_time,
            planners,
            f"tau: time to reach {target_pct:g} % gap / fastest",
            f"Performance profile: time to a {target_pct:g} % gap",
            log=True,
        ),
        "profile_time",
    )
    out.png(draw_ecdf(ecdf, planners, target_pct), "ecdf_gap")
    out.png(draw_wtl(wtl, planners), "wtl")
    out.png(draw_gap_time(pts, planners, target_pct), "gap_time")
    out.csv(prof, "profile_cost")
    out.csv(prof_known, "profile_cost_known")
    out.csv(prof_time, "profile_time")
    out.csv(ecdf, "ecdf_gap")
    out.csv(wtl, "wtl")
    out.csv(pts, "gap_time")
    out.csv(per, "instances")
    out.csv(summary, "summary")
    spread = run_spread(df) if repeated_runs(df) else None
    if spread is not None:
        out.csv(spread, "runs")
    sig = _significance(out, costs, gaps, alpha, seed)
    anytime = (
        _anytime(out, traces_path, set_name, df, costs, planners, ioh_budget)
        if traces_path.is_file()
        else None
    )

    version = str(df["qkdbench_version"].iloc[0])
    limit = df["time_limit_s"].dropna()
    limit_text = f"{limit.max():g} s per run" if len(limit) else "no time limit"
    head = (
        f"Set `{set_name}`: {len(instances)} instances, planners "
        f"{', '.join(planners)}; qkdbench {version}, {limit_text}. Gaps are to the set's "
        f"best known costs; wins count ties; target gap {target_pct:g} %."
    )
    if spread is not None:
        head += " Repeated runs: each planner and instance counts with the median of its runs."
    worse = sig.get("worse", [])
    star = (
        f"`*`: significantly worse than {sig['ranks']['planner'].iloc[0]} (best average "
        f"rank) by the Wilcoxon signed-rank test over instances, Holm-corrected over all "
        f"pairs, at {alpha:g}."
        if sig["tested"]
        else sig["why_not"]
    )
    mean_gap = sig["mean_gap"]
    md = [
        f"# qkdbench report: set {set_name}",
        "",
        head,
        "",
        markdown_table(_marked_summary(summary, worse), 3),
        "",
        star,
        "",
        "Mean gap over the instances each planner solved, percentile-bootstrap 95 % "
        f"interval (seed {seed}):",
        "",
        markdown_table(mean_gap, 3),
        "",
    ]
    if sig["tested"]:
        fr = sig["friedman"]
        md += [
            f"Friedman test over {fr.instances} instances: chi2 = {fr.statistic:.3f}, "
            f"p = {fr.pvalue:.3g}; Nemenyi critical difference {sig['cd']:.3f} at {alpha:g}.",
            "",
            markdown_table(_p_values(sig["ranks"]), 3),
            "",
        ]
    out.text("\n".join(md), "summary.md")

    sections = [
        (
            "Summary",
            f'<div class="scroll">{html_table(short_names(_marked_summary(summary, worse)), 3)}'
            f"</div>{_note(star.replace('`', ''))}",
        ),
        (
            "Performance profiles",
            _grid(
                out.img(
                    "profile_cost",
                    "Share of instances within a factor tau of the best planner's cost "
                    "(at tau = 1: share of wins).",
                ),
                out.img("profile_cost_known", "The same against the set's best known cost."),
                out.img(
                    "profile_time",
                    f"Time to reach a {target_pct:g} % gap to the best known cost, "
                    "relative to the fastest planner that reached it.",
                ),
            ),
        ),
        (
            "Gaps",
            _grid(
                out.img(
                    "ecdf_gap",
                    "Empirical distribution of each planner's gap to the best known cost.",
                ),
                out.img("gap_time", "Gap against run time."),
            ),
        ),
        ("Significance", _significance_html(out, sig, alpha, seed)),
        (
            "Wins, ties and losses",
            _grid(
                out.img(
                    "wtl",
                    "Row planner against column planner, instance by instance; "
                    "colour: wins minus losses.",
                )
            ),
        ),
    ]
    if anytime is not None:
        sections.append(("Anytime behaviour", _anytime_html(out, anytime)))
    if spread is not None:
        sections.append(
            (
                "Repeated runs",
                _note(
                    "Each planner and instance: its runs, how many were feasible, the median, "
                    "lowest and highest cost and the interquartile range of the gap (a failed "
                    "run counts as infinite)."
                )
                + f'<div class="scroll">{html_table(spread, 3)}</div>',
            )
        )
    sections.append(("Per instance", f'<div class="scroll">{html_table(per)}</div>'))
    page = html_page(
        f"qkdbench report: {set_name}",
        f"qkdbench report: set {set_name}",
        head.replace("`", ""),
        sections,
    )
    out.text(page, "report.html")
    significance: dict[str, Any] = {"tested": sig["tested"]}
    if sig["tested"]:
        fr = sig["friedman"]
        significance.update(
            friedman_statistic=fr.statistic,
            friedman_pvalue=fr.pvalue,
            critical_difference=sig["cd"],
            ranks=sig["ranks"].to_dict(orient="records"),
        )
    else:
        significance["why_not"] = sig["why_not"]
    return {
        "set": set_name,
        "instances": len(instances),
        "planners": planners,
        "summary": summary.to_dict(orient="records"),
        "mean_gap": mean_gap.to_dict(orient="records"),
        "significance": significance,
        "anytime": anytime,
        "files": out.files,
    }


def _p_values(table: pd.DataFrame) -> pd.DataFrame:
    """A table for display: p-values with 3 significant digits (``0.0000`` hides too much)."""
    shown = table.copy()
    for c in shown.columns:
        if c.startswith("pvalue"):
            shown[c] = [f"{v:.3g}" if pd.notna(v) else "" for v in shown[c]]
    return shown


def _significance_html(out: _Out, sig: dict[str, Any], alpha: float, seed: int) -> str:
    parts = [
        _note(
            "Mean gap to the best known cost over the instances each planner solved "
            f"(failed runs counted apart), with a percentile-bootstrap 95 % interval over "
            f"instances (2000 resamples, seed {seed})."
        ),
        f'<div class="scroll">{html_table(short_names(sig["mean_gap"]), 3)}</div>',
    ]
    if not sig["tested"]:
        return "".join(parts) + _note(sig["why_not"])
    fr = sig["friedman"]
    parts += [
        _note(
            f"Friedman test over {fr.instances} instances (planners ranked by cost on each, "
            f"ties sharing the mean rank): chi2 = {fr.statistic:.3f}, p = {fr.pvalue:.3g}. "
            f"Pairs: Wilcoxon signed-rank test on the relative cost differences, two-sided, "
            f"Holm-corrected over all pairs at {alpha:g}; the critical-difference diagram "
            f"joins planners whose average ranks differ by less than the Nemenyi critical "
            f"difference ({sig['cd']:.3f}); * as in the summary."
        ),
        f'<div class="scroll">{html_table(short_names(_p_values(sig["ranks"])), 3)}</div>',
        _grid(
            out.img(
                "cd_diagram",
                "Average ranks (1: cheapest); bars join planners the Nemenyi test does not "
                "tell apart.",
            )
        ),
        f'<div class="scroll">{html_table(short_names(_p_values(sig["pairs"])), 3)}</div>',
    ]
    return "".join(parts)


def _anytime_html(out: _Out, anytime: dict[str, Any]) -> str:
    skipped = anytime["ioh_skipped"]
    ioh = (
        f"IOHprofiler files for IOHanalyzer in ioh/ ({anytime['ioh_files']} files)"
        + (f"; {len(skipped)} runs without evaluation counts left out" if skipped else "")
        + "."
    )
    return _note(
        f"From {anytime['traces']}: {anytime['runs']} runs. Gaps to the best known cost (or "
        f"a lower cost of the results or traces). {ioh}"
    ) + _grid(
        out.img(
            "fixed_target",
            "Share of (instance, target) pairs reached against time, targets 10, 5, 2, 1, "
            "0.5 and 0.1 % gap; the seeds of an instance share its weight.",
        ),
        out.img(
            "fixed_budget",
            "Median gap over a planner's runs against time, interquartile band shaded "
            "(a run without a solution yet counts as infinite).",
        ),
    )
