"""Solving one built model of the exact program with HiGHS, and reading its plan back.

:func:`solve_model` hands an :class:`~qkdbench.exact.formulation.SPModel` (uncoupled
or coupled) to the solver (:mod:`qkdbench.exact.solver`) and turns the solution
into an :class:`SPResult`: after the MILP, the integer variables are rounded and
fixed, and the remaining LP is solved again, so the reported objective is the
MILP objective of exactly the returned plan. Statuses follow the solver's
(``optimal`` only for a proven optimum); a run stopped early is ``feasible`` with
the better of the solver's bound and the capacity-free one (:func:`quick_bound`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evaluation import evaluate
from ..model import Instance, Plan, Route
from ..utils.gaps import relative_gap
from ..utils.jsonsafe import finite_or_none
from .bounds import capacity_free_bound
from .coupled import coupled_bound
from .decoding import _decode, _warm_values
from .formulation import SPModel
from .solver import SolverError, SolverOptions, SolverUnavailableError, fix_and_resolve, solve_milp

__all__ = ["SPResult", "solve_model", "quick_bound"]


def quick_bound(instance: Instance) -> float:
    """The capacity-free lower bound of ``instance``, computed in milliseconds.

    :func:`~qkdbench.exact.bounds.capacity_free_bound`, or on a coupled instance
    :func:`~qkdbench.exact.coupled.coupled_bound` (caps lifted too).

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    float
    """
    return coupled_bound(instance) if instance.is_coupled else capacity_free_bound(instance)


@dataclass(frozen=True)
class SPResult:
    """The outcome of an exact solve.

    Attributes
    ----------
    plan : Plan
        The best plan found (no routes if none was); ``plan.stats`` repeats
        the fields below.
    status : str
        ``optimal`` (proven, within ``gap_rel``), ``feasible`` (stopped early
        with an incumbent), ``infeasible`` or ``error``.
    objective : float
        MILP objective of the returned plan (``nan`` if none).
    bound : float
        Best proven lower bound on the optimum (``nan`` if unknown).
    gap : float
        ``(objective - bound) / objective`` (``0`` if both are 0).
    build_s, solve_s, runtime_s : float
        Model building, solver (including the final LP) and total seconds.
    form, solver, native_status, message : str
    extra : Mapping
        Set by :func:`solve_sp`: ``warm_s`` (warm-start seconds) and ``runtime_s``, and
        when a model was built ``pairs`` and ``pairs_all`` (pairs kept in the model, and
        before pruning); empty in a result of :func:`solve_model`.
    """

    plan: Plan
    status: str
    objective: float
    bound: float
    gap: float
    build_s: float
    solve_s: float
    runtime_s: float
    form: str
    solver: str
    native_status: str
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON fields (without the plan).

        Returns
        -------
        dict
            The fields above and ``extra``; ``inf`` and ``nan`` become ``None``.
        """
        num = finite_or_none
        return {
            "status": self.status,
            "objective": num(self.objective),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "build_s": self.build_s,
            "solve_s": self.solve_s,
            "runtime_s": self.runtime_s,
            "form": self.form,
            "solver": self.solver,
            "native_status": self.native_status,
            "message": self.message,
            **dict(self.extra),
        }


def _incumbent_result(
    model: SPModel | tuple[Instance, str],
    plan: Plan | None,
    planner: str,
    t0: float,
    message: str,
    native: str,
    *,
    solver_bound: float = math.nan,
    solver: str = "",
) -> SPResult | None:
    """``plan`` (a known feasible plan) as a ``feasible`` result, or ``None`` if it is not one.

    Used when the solver stopped or failed without a solution of its own: the
    plan is labelled ``feasible`` with the best bound known (the solver's, if
    it reported one, else the capacity-free one) and ``message`` kept.
    ``model`` may be ``(instance, form)`` when no model was built.
    """
    if plan is None:
        return None
    if isinstance(model, tuple):
        inst, form, build_s = model[0], model[1], 0.0
    else:
        inst, form, build_s = model.instance, model.form, model.build_s
    score = evaluate(inst, plan)
    if not score.feasible:
        return None
    objective = float(score.total)
    bound, source = solver_bound, "solver"
    relaxed = quick_bound(inst)
    if not math.isfinite(bound) or relaxed > bound:
        bound, source = relaxed, "relaxation"
    bound = min(bound, objective)
    gap = relative_gap(objective, bound)
    solve_s = time.perf_counter() - t0
    stats = {
        "status": "feasible",
        "objective": objective,
        "bound": bound,
        "bound_source": source,
        "gap": gap,
        "build_s": build_s,
        "solve_s": solve_s,
        "runtime_s": build_s + solve_s,
        "form": form,
        "solver": solver,
        "native_status": native,
        "solver_objective": math.nan,
        "incumbent": "warm start",
    }
    if message:
        stats["message"] = message
    return SPResult(
        Plan(inst.name, planner, plan.routes, stats),
        "feasible",
        objective,
        bound,
        gap,
        build_s,
        solve_s,
        build_s + solve_s,
        form,
        solver,
        native,
        message,
    )


def _empty_result(instance: Instance, form: str, planner: str, t0: float) -> SPResult:
    runtime = time.perf_counter() - t0
    stats = {
        "status": "optimal",
        "objective": 0.0,
        "bound": 0.0,
        "gap": 0.0,
        "build_s": 0.0,
        "solve_s": 0.0,
        "runtime_s": runtime,
        "form": form,
    }
    return SPResult(
        Plan(instance.name, planner, (), stats),
        "optimal",
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        runtime,
        form,
        "none",
        "",
        "",
    )


def solve_model(
    model: SPModel,
    options: SolverOptions | None = None,
    *,
    warm_start: Plan | None = None,
    planner: str = "exact",
) -> SPResult:
    """Solve a built model and turn the solution into a plan.

    Parameters
    ----------
    model : SPModel
    options : SolverOptions, optional
    warm_start : Plan, optional
        A feasible plan handed to the solver as its first incumbent.
    planner : str
        Name written into the plan.

    Returns
    -------
    SPResult

    Raises
    ------
    SolverError
        If no solver is installed or the solver raised (one-line message).
    """
    options = options or SolverOptions()
    t0 = time.perf_counter()
    inst = model.instance
    if inst.n_requests == 0:
        return _empty_result(inst, model.form, planner, t0)
    warm = _warm_values(model, warm_start) if warm_start is not None else None
    try:
        run = solve_milp(model.milp, options, warm)
    except SolverUnavailableError:
        raise
    except SolverError as exc:  # the solver raised: a feasible warm start is still a plan
        if options.solver.lower() not in ("auto", "highs", "cbc"):
            raise  # a bad option, not a failed run
        kept = _incumbent_result(model, warm_start, planner, t0, str(exc), "raised")
        if kept is None:
            raise
        return kept
    outcome = run.outcome
    name = outcome.solver
    objective, bound = math.nan, outcome.bound
    routes: tuple[Route, ...] = ()
    message = outcome.message
    status = outcome.status
    if status in ("optimal", "feasible"):
        assert run.values is not None
        ints = model.integer_cols
        rounded = np.round(run.values[ints])
        n = model.x.size
        xv, yv, zv = rounded[:n], rounded[n : 2 * n], rounded[2 * n : 3 * n]
        try:
            if run.highs is not None:
                objective = fix_and_resolve(run, ints, rounded)
            else:
                values = run.values.copy()
                values[ints] = rounded
                objective = float(model.milp.cost @ values)
            wv = rounded[3 * n + model.u.size + model.v.size :]
            routes = _decode(model, xv, yv, zv, planner, wv)
            if status == "feasible":
                # an incumbent may carry a positive-cost cycle beside its path, which the
                # decoder drops: report the cost of exactly the returned plan. (For a
                # proven optimum the two agree; the tests hold the MILP to that.)
                objective = min(objective, evaluate(inst, Plan(inst.name, planner, routes)).total)
        except SolverError as exc:
            status, message, routes = "error", str(exc), ()
    if status == "error" and not outcome.has_solution and warm_start is not None:
        # the solver stopped or failed before it held a solution of its own (a limit
        # before it took up the warm start, or e.g. kNotset under memory pressure):
        # the warm start is a feasible plan, so return it rather than no plan
        limit = outcome.message.startswith("HiGHS stopped")
        kept = _incumbent_result(
            model,
            warm_start,
            planner,
            t0,
            "" if limit else outcome.message,
            outcome.native_status,
            solver_bound=bound,
            solver=name,
        )
        if kept is not None:
            return kept
    source = "solver"
    if status == "feasible":
        # the capacity-free optimum is a valid bound too; keep the better of the two
        # (a solver stopped early may report none, or a trivial one such as 0)
        relaxed = quick_bound(inst)
        if not math.isfinite(bound) or relaxed > bound:
            bound, source = relaxed, "relaxation"
    if status == "optimal" and not math.isfinite(bound):
        bound = objective
    if (
        status == "optimal"
        and math.isfinite(bound)
        and math.isfinite(objective)
        and relative_gap(objective, bound) > 2 * max(options.gap_rel, 1e-9)
    ):
        # HiGHS can report kOptimal with an objective value that is not its own
        # solution's (seen after a warm start that is already optimal): the returned
        # plan's value is above the dual bound, so optimality is not proven
        relaxed = quick_bound(inst)
        if relaxed > bound:
            bound, source = relaxed, "relaxation"
        if relative_gap(objective, bound) > options.gap_rel:  # the capacity-free bound
            status = "feasible"  # may still prove it
            message = (
                f"HiGHS reported an optimum of {outcome.objective:.10g} but its "
                f"solution costs {objective:.10g}; not proven beyond its bound"
            )
    if math.isfinite(bound) and math.isfinite(objective):
        bound = min(bound, objective)
    gap = relative_gap(objective, bound)
    solve_s = time.perf_counter() - t0
    stats = {
        "status": status,
        "objective": objective,
        "bound": bound,
        "bound_source": source if math.isfinite(bound) else "",
        "gap": gap,
        "build_s": model.build_s,
        "solve_s": solve_s,
        "runtime_s": model.build_s + solve_s,
        "form": model.form,
        "solver": name,
        "native_status": outcome.native_status,
        "solver_objective": outcome.objective,
    }
    if message:
        stats["message"] = message
    plan = Plan(inst.name, planner, routes, stats)
    return SPResult(
        plan,
        status,
        objective,
        bound,
        gap,
        model.build_s,
        solve_s,
        model.build_s + solve_s,
        model.form,
        name,
        outcome.native_status,
        message,
    )
