"""Every solver outcome maps to a plan status; a missing or failing solver is a clear error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

import highspy
import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exact import SolverError, SolverUnavailableError, build_model, solve_sp
from qkdbench.exact import solver as solver_mod
from qkdbench.exact.milp import Milp
from qkdbench.exact.solver import PLAN_STATUSES, SolverOptions, classify_highs
from qkdbench.exact.sp_milp import relaxation_bound, solve_model
from qkdbench.heuristics import get_planner
from qkdbench.model import Instance, Params
from qkdbench.topologies import make_instance

ALL_HIGHS_STATUSES = [m for m in dir(highspy.HighsModelStatus) if m.startswith("k")]


@pytest.fixture(scope="module")
def binding60() -> Instance:
    """USNET, 60 requests: capacity binds, so the capacity-free bound is not tight."""
    return make_instance("usnet", 60, 10, 1)


@pytest.fixture
def small() -> Instance:
    return make_instance("nsfnet", 5, 4, seed=3, params=Params(W_qkd=20, W_kml=6))


@pytest.mark.parametrize("name", ALL_HIGHS_STATUSES)
@pytest.mark.parametrize("has_solution", [True, False])
def test_every_highs_status_maps_to_a_plan_status(name: str, has_solution: bool) -> None:
    status, message = classify_highs(name, has_solution)
    assert status in PLAN_STATUSES and status != "heuristic"
    if status == "optimal":
        assert name == "kOptimal" and has_solution
    if status == "error":
        assert message and "\n" not in message
    if (
        name in ("kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt", "kMemoryLimit")
        and has_solution
    ):
        assert status == "feasible"


def test_short_time_limit_is_feasible_with_bound_and_gap(binding60: Instance) -> None:
    res = solve_sp(binding60, time_limit=1e-3)
    assert res.status == "feasible"
    assert res.plan.stats["status"] == "feasible"
    assert res.bound < res.objective
    assert 0 < res.gap < 0.1
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)
    assert evaluate(binding60, res.plan).total == pytest.approx(res.objective, rel=1e-9)


def test_time_limit_without_warm_start_and_without_solution_is_error(binding60: Instance) -> None:
    res = solve_sp(binding60, time_limit=1e-3, warm_start=None, prune=False)
    assert res.status in ("error", "feasible")  # HiGHS may or may not find one in time
    if res.status == "error":
        assert res.plan.routes == () and "TimeLimit" in res.message
    else:
        assert res.bound < res.objective


def test_node_limit_is_feasible_not_optimal(binding60: Instance) -> None:
    # a limit that HiGHS reports as kSolutionLimit (PuLP's own HiGHS class fails on it)
    res = solve_sp(binding60, extra={"mip_max_nodes": 0}, prune=False)
    assert res.native_status == "kSolutionLimit"
    assert res.status == "feasible"
    assert res.bound <= res.objective
    assert evaluate(binding60, res.plan).feasible
    # never weaker than the capacity-free bound (HiGHS may report a trivial one)
    assert res.bound >= relaxation_bound(binding60) * (1 - 1e-12)


def test_infeasible_model(small: Instance) -> None:
    model = build_model(small)
    model = replace(model, milp=model.milp.with_row(model.y, 1.0, lower=10**9))
    res = solve_model(model, SolverOptions())
    assert res.status == "infeasible"
    assert res.plan.routes == () and res.plan.stats["status"] == "infeasible"


@pytest.mark.parametrize(
    "forced, expected",
    [
        ("kSolveError", "feasible"),
        ("kNotset", "feasible"),
        ("kInfeasible", "infeasible"),
        ("kUnknown", "feasible"),
        ("kMemoryLimit", "feasible"),
        ("kHighsInterrupt", "feasible"),
    ],
)
def test_forced_highs_statuses(
    small: Instance, monkeypatch: pytest.MonkeyPatch, forced: str, expected: str
) -> None:
    monkeypatch.setattr(solver_mod, "model_status", lambda h: forced)
    res = solve_sp(small)
    proven = res.objective - res.bound <= 1e-9 * abs(res.objective)
    # a failed solve's incumbent is `feasible`, unless a Lagrangian bound proves it
    assert res.status == ("optimal" if expected == "feasible" and proven else expected)
    assert res.native_status == forced
    if expected == "error":
        assert res.message and "\n" not in res.message and res.plan.routes == ()
    if expected == "feasible":
        # HiGHS held a solution when it "failed": that incumbent comes back, labelled
        assert evaluate(small, res.plan).total == pytest.approx(res.objective, rel=1e-9)
        assert res.plan.stats["status"] == res.status
        assert 0 <= res.bound <= res.objective
        assert res.plan.stats["bound_source"] in ("solver", "relaxation", "lagrangian")
        if forced not in ("kMemoryLimit", "kHighsInterrupt"):  # a failure, not a limit
            assert forced[1:] in res.message and "\n" not in res.message


def _failed_run(native: str) -> Callable[..., solver_mod.SolverRun]:
    """A stand-in for ``run_highs``: the solver ended with ``native`` and no solution."""

    def run(
        milp: Milp,
        options: SolverOptions,
        warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> solver_mod.SolverRun:
        status, message = solver_mod.classify_highs(native, False)
        outcome = solver_mod.SolveOutcome(status, "highs", native, False, message=message)
        return solver_mod.SolverRun(outcome, None)

    return run


@pytest.mark.parametrize("native", ["kNotset", "kSolveError", "kMemoryLimit", "kTimeLimit"])
def test_failure_without_solution_returns_the_warm_start(
    small: Instance, monkeypatch: pytest.MonkeyPatch, native: str
) -> None:
    warm = get_planner("saa-greedy").plan(small)
    monkeypatch.setattr(solver_mod, "run_highs", _failed_run(native))
    res = solve_sp(small, warm_start=warm, lagrangian=False)
    assert res.status == "feasible" and res.native_status == native
    assert [r.path for r in res.plan.routes] == [r.path for r in warm.routes]
    assert res.objective == pytest.approx(evaluate(small, warm).total, rel=1e-12)
    # the bound is the capacity-free one (the stand-in solver reported none): valid
    assert res.bound == pytest.approx(relaxation_bound(small), rel=1e-9)
    assert res.plan.stats["bound_source"] == "relaxation"
    assert res.plan.stats["incumbent"] == "warm start"
    if native in ("kNotset", "kSolveError"):
        assert native[1:] in res.message


def test_failure_without_any_incumbent_is_error(
    small: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(solver_mod, "run_highs", _failed_run("kNotset"))
    res = solve_sp(small, warm_start=None)
    assert res.status == "error" and res.plan.routes == ()
    assert "Notset" in res.message


def test_solver_that_raises_after_a_warm_start_returns_it(
    small: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(
        milp: Milp,
        options: SolverOptions,
        warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> NoReturn:
        raise MemoryError("out of memory")

    monkeypatch.setattr(solver_mod, "run_highs", boom)
    res = solve_sp(small)  # the relaxed warm start is the incumbent
    assert res.status == "feasible" and res.plan.routes
    assert "MemoryError" in res.message and evaluate(small, res.plan).feasible
    with pytest.raises(SolverError, match="MemoryError"):
        solve_sp(small, warm_start=None)


def test_missing_solver_is_a_one_line_error(
    small: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(solver_mod, "highs_available", lambda: False)
    monkeypatch.setattr(solver_mod, "cbc_available", lambda: False)
    with pytest.raises(SolverUnavailableError) as info:
        get_planner("exact").plan(small)
    assert "no MILP solver available" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(SolverUnavailableError, match="CBC"):
        solve_sp(small, solver="cbc")


def test_failing_solver_is_a_one_line_error(
    small: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(
        milp: Milp,
        options: SolverOptions,
        warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> NoReturn:
        raise RuntimeError("solver crashed\nwith a second line")

    monkeypatch.setattr(solver_mod, "run_highs", boom)
    with pytest.raises(SolverError) as info:
        solve_sp(small, warm_start=None)  # no incumbent to fall back on
    assert "crashed" in str(info.value) and "\n" not in str(info.value)


def test_unknown_solver_name(small: Instance) -> None:
    with pytest.raises(SolverError, match="unknown solver"):
        solve_sp(small, solver="gurobi-please")


@pytest.mark.skipif(not solver_mod.cbc_available(), reason="CBC not installed")
def test_cbc_fallback_agrees(small: Instance) -> None:
    highs = solve_sp(small, gap_rel=0.0)
    cbc = solve_sp(small, solver="cbc", gap_rel=0.0)
    assert cbc.solver == "cbc" and cbc.status == "optimal"
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-7)
    assert evaluate(small, cbc.plan).total == pytest.approx(cbc.objective, rel=1e-7)


def test_an_optimum_the_solution_does_not_reach_is_not_optimal(
    small: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HiGHS may report kOptimal with an objective its own solution does not have."""
    real = solver_mod.run_highs

    def optimistic(
        milp: Milp,
        options: SolverOptions,
        warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> solver_mod.SolverRun:
        run = real(milp, options, warm_start)
        low = 0.95 * run.outcome.objective
        outcome = replace(run.outcome, objective=low, bound=low, gap=0.0)
        return solver_mod.SolverRun(outcome, run.values, run.highs)

    binding = make_instance("usnet", 30, 10, seed=1, params=Params(W_qkd=45, W_kml=15))
    assert relaxation_bound(binding) < 0.99 * solve_sp(binding, lagrangian=False).objective
    monkeypatch.setattr(solver_mod, "run_highs", optimistic)
    res = solve_sp(binding, lagrangian=False)
    small = binding
    assert res.status == "feasible" and "not proven" in res.message
    assert res.objective == pytest.approx(evaluate(small, res.plan).total, rel=1e-9)
    assert res.bound <= res.objective and res.gap > 0
