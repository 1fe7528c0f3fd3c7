"""Examples too heavy for a docstring (MILP solves), run here with the same assertions.

The docstrings of :class:`~qkdbench.exact.planners.ExactPlanner`,
:func:`~qkdbench.exact.solve_sp`, ``sp_figures`` and
:func:`~qkdbench.experiments.compare.compare` show these calls; their results
are checked here. (The conformance suite of ``qkdbench.testing`` runs in
``test_check_planner.py``.)
"""

from __future__ import annotations

from qkdbench.exact import solve_sp
from qkdbench.exact.sp_figures import sp_figures
from qkdbench.experiments.compare import compare
from qkdbench.heuristics import get_planner
from qkdbench.topologies import make_instance


def test_exact_planner_example_is_proved_optimal() -> None:
    plan = get_planner("exact").plan(make_instance("nsfnet", 3, 2, seed=1))
    assert plan.stats["status"] == "optimal"


def test_solve_sp_example_is_proved_optimal() -> None:
    res = solve_sp(make_instance("nsfnet", 3, 2, seed=1))
    assert res.status == "optimal"


def test_sp_figures_example_orders_ws_rp_eev() -> None:
    fig = sp_figures(make_instance("nsfnet", 3, 4, seed=1), n_scenarios=5, oos_scenarios=0)
    assert fig.ws.mean <= fig.rp <= fig.eev


def test_compare_example_with_the_exact_planner() -> None:
    df = compare(make_instance("nsfnet", 4, 3, seed=1), planners=["coqbn", "exact"])
    assert (list(df["planner"]), list(df["status"])) == (
        ["exact", "coqbn"],
        ["optimal", "heuristic"],
    )
    assert float(df.loc[0, "gap_pct"]) == 0.0
    assert df.loc[0, "gap_ref"] == "optimum"
    assert bool(df.loc[1, "gap_pct"] > 0)
