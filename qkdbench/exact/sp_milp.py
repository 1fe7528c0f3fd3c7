"""Solving the exact two-stage stochastic program (HiGHS) and reading its plan.

:func:`solve_sp` is the whole run: the Lagrangian dual ascent
(:func:`~qkdbench.exact.ascent.lagrangian_bound`), the warm start
(:func:`resolve_warm_start`; by default
:func:`~qkdbench.exact.rerouting.relaxed_plan`), the model
(:func:`~qkdbench.exact.formulation.build_model`, pruned by the bounds of
:mod:`qkdbench.exact.bounds`) and :func:`~qkdbench.exact.solving.solve_model`,
which hands it to the solver and turns the solution into an
:class:`~qkdbench.exact.solving.SPResult`.

On a coupled instance (``docs/model.md``, "Coupled second stage") the run is the
warm start :func:`~qkdbench.exact.coupled.coupled_relaxed_plan`, the model of
:func:`~qkdbench.exact.coupled_formulation.build_coupled_model` (pruned by the
caps-lifted bound) and the same :func:`~qkdbench.exact.solving.solve_model`; the
Lagrangian steps, which price pairs alone, are skipped.

After the MILP, the integer variables are rounded and fixed, and the
remaining LP is solved again, so the reported objective is the MILP
objective of exactly the returned plan.

This module is the home of the whole run. It re-exports, for the
imports that name it, the rest of what it used to hold:
:class:`~qkdbench.exact.solving.SPResult` and
:func:`~qkdbench.exact.solving.solve_model` (one model's solve);
:data:`~qkdbench.exact.formulation.FORMS`,
:class:`~qkdbench.exact.formulation.SPModel` and
:func:`~qkdbench.exact.formulation.build_model` (the formulation, described
there); :func:`~qkdbench.exact.bounds.relaxation_bound` and
:func:`~qkdbench.exact.bounds.capacity_free_bound`;
:func:`~qkdbench.exact.sizing.estimate_model`,
:class:`~qkdbench.exact.sizing.ModelSize` and
:data:`~qkdbench.exact.sizing.DEFAULT_MEMORY_LIMIT_GB`; and
:func:`~qkdbench.exact.rerouting.relaxed_plan`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..evaluation import decode_plan, evaluate
from ..evaluation.encoding import route_violations
from ..evaluation.pricing import fixed_charges
from ..exceptions import InputError
from ..model import Instance, Plan
from ..utils.gaps import proven_status, relative_gap
from ..utils.registry import get_planner
from ..utils.timing import Stopwatch
from .ascent import lagrangian_bound
from .bounds import capacity_free_bound, relaxation_bound
from .coupled import coupled_relaxed_plan
from .coupled_formulation import build_coupled_model
from .formulation import FORMS, SPModel, build_model
from .linking_cg import linking_bound
from .rerouting import relaxed_plan
from .sizing import DEFAULT_MEMORY_LIMIT_GB, SECONDS_PER_NONZERO, ModelSize, estimate_model
from .solver import SolverError, SolverOptions
from .solving import SPResult, _incumbent_result, solve_model

__all__ = [
    "FORMS",
    "SPModel",
    "SPResult",
    "build_model",
    "solve_model",
    "solve_sp",
    "relaxation_bound",
    "capacity_free_bound",
    "estimate_model",
    "ModelSize",
    "DEFAULT_MEMORY_LIMIT_GB",
    "relaxed_plan",
    "resolve_warm_start",
]


def resolve_warm_start(
    instance: Instance, warm_start: Plan | str | None, seed: int | None = None
) -> Plan | None:
    """The warm-start plan for ``warm_start``.

    ``"relaxed"`` is :func:`~qkdbench.exact.rerouting.relaxed_plan` (on a
    coupled instance :func:`~qkdbench.exact.coupled.coupled_relaxed_plan`); another
    string names a registered planner (run with ``seed``); a :class:`Plan` is
    used as given; ``None`` means no warm start.

    Parameters
    ----------
    instance : Instance
    warm_start : Plan, str or None
    seed : int, optional
        Passed to a registered planner.

    Returns
    -------
    Plan or None

    Raises
    ------
    KeyError
        If ``warm_start`` names no registered planner.
    """
    if warm_start is None or isinstance(warm_start, Plan):
        return warm_start
    if warm_start == "relaxed":
        return coupled_relaxed_plan(instance) if instance.is_coupled else relaxed_plan(instance)
    return get_planner(warm_start).plan(instance, seed=seed)


def solve_sp(
    instance: Instance,
    form: str = "compact",
    *,
    time_limit: float | None = None,
    gap_rel: float = 1e-6,
    threads: int | None = None,
    warm_start: Plan | str | None = "relaxed",
    prune: bool = True,
    msg: bool = False,
    log_file: str | None = None,
    solver: str = "auto",
    planner: str = "exact",
    extra: Mapping[str, Any] | None = None,
    seed: int | None = None,
    lagrangian: bool = True,
    lagrangian_share: float = 0.25,
    lagrangian_iterations: int = 300,
    memory_limit_gb: float | None = DEFAULT_MEMORY_LIMIT_GB,
) -> SPResult:
    """Build and solve the deterministic equivalent of ``instance``.

    Parameters
    ----------
    instance : Instance
    form : {"compact", "extensive"}
    time_limit : float, optional
        Seconds for warm start, build and solve together (the solver gets
        what is left, at least 1 ms).
    gap_rel : float
        Relative gap at which the solver stops and reports ``optimal``
        (default ``1e-6``; ``0`` for a proof to the solver's tolerances).
    threads : int, optional
    warm_start : Plan, str or None
        First incumbent: a plan, ``"relaxed"`` (default,
        :func:`~qkdbench.exact.rerouting.relaxed_plan`), a registered
        planner's name, or ``None``.
    prune : bool
        Drop the (request, arc) pairs that no plan cheaper than the warm
        start can use (see :func:`~qkdbench.exact.formulation.build_model`);
        needs a feasible warm start.
    msg : bool
        Write the solver log to standard error.
    log_file : str, optional
        Append the solver log to this file.
    solver : {"auto", "highs", "cbc"}
    planner : str
        Name written into the plan.
    extra : Mapping, optional
        Native solver options (e.g. ``{"mip_max_nodes": 0}``).
    seed : int, optional
        Passed to a warm-start planner.
    lagrangian : bool
        First run the Lagrangian dual ascent
        (:func:`~qkdbench.exact.ascent.lagrangian_bound`, at most
        ``lagrangian_iterations`` iterations and ``lagrangian_share`` of the
        time limit): its plan becomes the incumbent handed to the solver when
        it is cheaper than the warm start, its prices prune pairs by reduced
        cost (with ``prune``), and its bound is reported when it beats the
        solver's (``bound_source`` says which). With fixed charges the linking
        bound follows (:func:`~qkdbench.exact.linking.linking_bound`, the same
        share of the time limit): its restricted-master plan, its prices and
        its bound are used the same way, and a bound that meets the plan's
        cost proves it ``optimal``.
    lagrangian_share : float
        Share of the time limit the ascent may use (default 0.25).
    lagrangian_iterations : int
        At most this many ascent iterations (default 300).
    memory_limit_gb : float, optional
        Refuse (:class:`SolverError`) a model estimated to need more
        (:func:`~qkdbench.exact.sizing.estimate_model`); ``None``: no limit.

    Returns
    -------
    SPResult
        ``runtime_s = warm_s + build_s + solve_s`` (``warm_s`` in ``extra``).

    Raises
    ------
    SolverError
        If no solver is installed, the solver failed with no incumbent, or
        the model would exceed ``memory_limit_gb`` (one-line message).

    Notes
    -----
    The time limit covers the whole call: the Lagrangian ascent and the
    relaxed warm start stop on the clock, the solver gets what is left, and
    when nothing is left after the warm start or the build, the best plan
    known is returned (``feasible``) without solving. The warm starts
    share at most half of the limit; the solver gets what is left minus its
    expected setup and final LP
    (:data:`~qkdbench.exact.sizing.SECONDS_PER_NONZERO` per nonzero), and is
    not called when that leaves nothing. The overrun is what one
    uninterruptible step takes (reading the curves, one rerouting round of
    the relaxed warm start, the vectorised build, HiGHS's setup beyond the
    estimate).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> res = solve_sp(make_instance("nsfnet", 3, 2, seed=1))  # doctest: +SKIP
    >>> res.status  # doctest: +SKIP
    'optimal'
    """
    if instance.is_coupled:
        return _solve_coupled(
            instance,
            form,
            time_limit=time_limit,
            warm_start=warm_start,
            prune=prune,
            planner=planner,
            seed=seed,
            memory_limit_gb=memory_limit_gb,
            options=SolverOptions(
                gap_rel=gap_rel,
                threads=threads,
                msg=msg,
                log_file=log_file,
                solver=solver,
                extra=dict(extra or {}),
            ),
        )
    t0 = time.perf_counter()
    clock = Stopwatch(time_limit)
    dual = None
    if lagrangian and instance.n_requests:
        share = None if time_limit is None else lagrangian_share * time_limit
        dual = lagrangian_bound(instance, iterations=lagrangian_iterations, time_limit=share)
    link = None
    if dual is not None and fixed_charges(instance).active:
        share = None if time_limit is None else lagrangian_share * time_limit
        link = linking_bound(
            instance,
            plans=[dual.plan] if dual.plan is not None else [],
            target=dual.cost,
            tol=1e-9,
            time_limit=share,
            primal_time=60.0 if share is None else 0.5 * share,
        )
    warm_clock = (
        clock if time_limit is None else Stopwatch(max(0.0, 0.5 * time_limit - clock.elapsed))
    )
    warm = _best_start(instance, warm_start, seed, dual, warm_clock)
    if (
        warm_start is not None
        and link is not None
        and link.plan is not None
        and (warm is None or link.cost < evaluate(instance, warm).total)
    ):
        warm = decode_plan(instance, link.plan, "column-generation")
    upper = None
    if warm is not None and prune:
        score = evaluate(instance, warm)
        if score.feasible:
            upper = score.total
    warm_s = time.perf_counter() - t0
    prices = (dual.lam_qkd, dual.lam_kml, dual.mu) if dual is not None else None
    res = None
    if clock.expired():  # no time left to build: the best plan known
        res = _incumbent_result(
            (instance, form),
            warm,
            planner,
            t0,
            "time limit reached before the model was built",
            "none",
        )
    if res is None:
        model = build_model(
            instance,
            form,
            upper_bound=upper,
            prices=prices,
            memory_limit_gb=memory_limit_gb,
            linking=link.prices if link is not None else None,
        )
        overhead = SECONDS_PER_NONZERO * model.milp.index.size
        if time_limit is not None and (clock.remaining or 0.0) < overhead:
            res = _incumbent_result(
                model,
                warm,
                planner,
                t0,
                "time limit: too little time left after the model build "
                f"(a solve needs about {overhead:.1f} s of setup)",
                "none",
            )
        if res is None:
            remaining = (
                None if time_limit is None else max((clock.remaining or 0.0) - overhead, 1e-3)
            )
            options = SolverOptions(
                time_limit=remaining,
                gap_rel=gap_rel,
                threads=threads,
                msg=msg,
                log_file=log_file,
                solver=solver,
                extra=dict(extra or {}),
            )
            res = solve_model(model, options, warm_start=warm, planner=planner)
        more: dict[str, Any] = {"pairs": len(model.x), "pairs_all": model.n_pairs_all}
    else:
        more = {}
    res = _with_dual_bound(_with_dual_bound(res, dual), link)
    runtime = time.perf_counter() - t0
    more.update(warm_s=warm_s, runtime_s=runtime)
    return replace(
        res, runtime_s=runtime, extra={**res.extra, **more}, plan=res.plan.with_stats(**more)
    )


def _solve_coupled(
    instance: Instance,
    form: str,
    *,
    time_limit: float | None,
    warm_start: Plan | str | None,
    prune: bool,
    planner: str,
    seed: int | None,
    memory_limit_gb: float | None,
    options: SolverOptions,
) -> SPResult:
    """:func:`solve_sp` on a coupled instance: warm start, pruned coupled model, solve."""
    t0 = time.perf_counter()
    clock = Stopwatch(time_limit)
    if isinstance(warm_start, Plan):
        problems = route_violations(instance, warm_start)
        if problems:
            raise InputError(f"warm-start plan does not fit the instance: {problems[0]}")
    warm = resolve_warm_start(instance, warm_start, seed) if instance.n_requests else None
    upper = None
    if warm is not None:
        score = evaluate(instance, warm)
        if not score.feasible:
            warm = None
        elif prune:
            upper = score.total
    warm_s = time.perf_counter() - t0
    more: dict[str, Any] = {}
    res = None
    if clock.expired():
        res = _incumbent_result(
            (instance, form),
            warm,
            planner,
            t0,
            "time limit reached before the model was built",
            "none",
        )
    if res is None:
        model = build_coupled_model(
            instance, form, upper_bound=upper, memory_limit_gb=memory_limit_gb
        )
        more = {"pairs": len(model.x), "pairs_all": model.n_pairs_all}
        overhead = SECONDS_PER_NONZERO * model.milp.index.size
        if time_limit is not None and (clock.remaining or 0.0) < overhead:
            res = _incumbent_result(
                model,
                warm,
                planner,
                t0,
                "time limit: too little time left after the model build "
                f"(a solve needs about {overhead:.1f} s of setup)",
                "none",
            )
        if res is None:
            remaining = (
                None if time_limit is None else max((clock.remaining or 0.0) - overhead, 1e-3)
            )
            res = solve_model(
                model, replace(options, time_limit=remaining), warm_start=warm, planner=planner
            )
    if res is None:
        raise SolverError("the time limit left neither a model nor a feasible warm start")
    runtime = time.perf_counter() - t0
    more.update(warm_s=warm_s, runtime_s=runtime)
    return replace(
        res, runtime_s=runtime, extra={**res.extra, **more}, plan=res.plan.with_stats(**more)
    )


def _best_start(
    instance: Instance, warm_start: Plan | str | None, seed: int | None, dual: Any, clock: Stopwatch
) -> Plan | None:
    """The cheaper of the warm start and the Lagrangian heuristic's plan (if any)."""
    if isinstance(warm_start, Plan):
        problems = route_violations(instance, warm_start)
        if problems:
            raise InputError(f"warm-start plan does not fit the instance: {problems[0]}")
    warm: Plan | None
    if warm_start == "relaxed":
        warm = relaxed_plan(instance, clock=clock)
    else:
        warm = resolve_warm_start(instance, warm_start, seed)
    if warm_start is None or dual is None or dual.plan is None:
        return warm
    if warm is None or dual.cost < evaluate(instance, warm).total:
        return decode_plan(instance, dual.plan, "lagrangian")
    return warm


def _with_dual_bound(res: SPResult, dual: Any) -> SPResult:
    """``res`` with a Lagrangian bound when it beats the one reported (``feasible`` only).

    A bound that meets the objective (relative ``1e-9``) proves it: the status
    becomes ``optimal``.
    """
    if (
        dual is None
        or res.status != "feasible"
        or not math.isfinite(dual.bound)
        or (math.isfinite(res.bound) and dual.bound <= res.bound)
    ):
        return res
    bound = min(dual.bound, res.objective)
    gap = relative_gap(res.objective, bound)
    status = "optimal" if proven_status(res.objective, bound) == "optimal" else res.status
    plan = res.plan.with_stats(bound=bound, gap=gap, bound_source=dual.bound_source, status=status)
    return replace(res, bound=bound, gap=gap, plan=plan, status=status)
