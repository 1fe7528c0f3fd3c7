"""The numbers of ``qkdbench report``: pure functions over a bench results table.

Nothing here draws or writes a file. The input is the table
:func:`qkdbench.library.bench.read_bench_results` returns (one row per run);
the tables out are those the report writes as CSV and draws
(:mod:`qkdbench.library.report_draw`).

Costs are compared per (instance, planner): a run that failed or is infeasible
counts as cost ``inf``.

The functions live by topic and are all importable from here:
:mod:`~qkdbench.library.report_tables` (cost tables, ratios and profiles, wins,
gap distributions, the instance and summary tables) and
:mod:`~qkdbench.library.report_significance` (ranks, the Friedman test, signed-rank
tests with Holm's correction, Nemenyi's critical difference, bootstrap intervals).
"""

from __future__ import annotations

from .report_significance import (
    MIN_INSTANCES_FOR_TESTS,
    FriedmanResult,
    average_ranks,
    bootstrap_mean_ci,
    cost_ranks,
    friedman_test,
    holm,
    mean_gap_table,
    nemenyi_cliques,
    nemenyi_critical_difference,
    rank_table,
    relative_differences,
    wilcoxon_holm,
)
from .report_tables import (
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
    repeated_runs,
    run_spread,
    summary_table,
    win_tie_loss,
    wins,
)

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
