"""The planners of the exact package in the registry.

``exact`` (compact form) and ``exact-extensive`` solve the deterministic
equivalent (:func:`~qkdbench.exact.sp_milp.solve_sp`; on a coupled instance the
coupled model of :mod:`qkdbench.exact.coupled_formulation`); ``l-shaped`` solves
it by the L-shaped method (:mod:`qkdbench.exact.lshaped`); ``lagrangian`` runs the
Lagrangian dual ascent with its primal heuristic
(:func:`~qkdbench.exact.ascent.lagrangian_bound`); ``column-generation`` the
strong linking relaxation of the fixed charges by column generation, with the
restricted master solved as a MIP for its plan
(:func:`~qkdbench.exact.linking.linking_bound`).
"""

from __future__ import annotations

from typing import Any

from ..evaluation import decode_plan, evaluate_batch
from ..model import Instance, Plan
from ..utils.gaps import proven_status, relative_gap
from ..utils.registry import (
    FEATURES,
    UNCOUPLED_FEATURES,
    check_supports,
    is_deterministic,
    register_planner,
)
from ..utils.timing import Stopwatch
from .ascent import lagrangian_bound
from .linking_cg import best_bound
from .lshaped import LShapedPlanner
from .primal import improve_with_columns
from .sp_milp import solve_sp

__all__ = [
    "ExactPlanner",
    "ExactExtensivePlanner",
    "LShapedPlanner",
    "LagrangianPlanner",
    "ColumnGenerationPlanner",
]


@register_planner("exact", origin="built-in")
class ExactPlanner:
    """Exact two-stage SP, compact MILP (HiGHS): optimal, or feasible with a proven gap.

    Parameters
    ----------
    gap_rel : float
        Relative gap at which the solver stops and reports ``optimal``.
    threads : int, optional
        Solver threads.
    warm_start : str or Plan or None
        ``"relaxed"`` (default), a registered planner's name, a plan, or ``None``.
    prune : bool
        Drop (request, arc) pairs that cannot beat the warm start.
    solver : {"auto", "highs", "cbc"}
    msg : bool
        Show the solver log.

    Notes
    -----
    ``plan.stats`` holds ``status``, ``objective``, ``bound``, ``gap``,
    ``build_s``, ``solve_s``, ``warm_s`` and ``runtime_s``. A missing or failing
    solver raises :class:`~qkdbench.exact.solver.SolverError` (one-line message).
    Every model extension is handled (``supports``): fixed charges, link
    prices and random key rates (through the pricing tables), targets
    with provider capacities (choice binaries; see :mod:`qkdbench.exact.formulation`),
    and the coupled second stage (on-demand caps, joint scenarios: the model of
    :mod:`qkdbench.exact.coupled_formulation`, over the joint scenarios).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> plan = ExactPlanner().plan(make_instance("nsfnet", 3, 2, seed=1))  # doctest: +SKIP
    >>> plan.stats["status"]  # doctest: +SKIP
    'optimal'
    """

    name = "exact"
    form = "compact"
    proves_optimality = True
    supports = frozenset(FEATURES)

    def __init__(
        self,
        gap_rel: float = 1e-6,
        threads: int | None = None,
        warm_start: Any = "relaxed",
        prune: bool = True,
        solver: str = "auto",
        msg: bool = False,
    ) -> None:
        self.gap_rel = gap_rel
        self.threads = threads
        self.warm_start = warm_start
        self.prune = prune
        self.solver = solver
        self.msg = msg

    @property
    def deterministic(self) -> bool:
        """Whether ``seed`` changes nothing: unless ``warm_start`` names a seeded planner.

        ``"relaxed"``, ``None`` and a plan draw nothing; a registered planner's
        name is as deterministic as that planner with its defaults.
        """
        ws = self.warm_start
        if ws is None or ws == "relaxed" or not isinstance(ws, str):
            return True
        return is_deterministic(ws)

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Solve ``instance`` to optimality (or until ``time_limit`` seconds).

        Parameters
        ----------
        instance : Instance
        seed : int, optional
            Passed to a warm-start planner named by ``warm_start``.
        time_limit : float, optional
            Seconds for the whole solve (see :func:`~qkdbench.exact.sp_milp.solve_sp`).

        Returns
        -------
        Plan
            ``optimal`` when proven, else ``feasible`` with its proven gap.

        Raises
        ------
        InputError
            If ``instance`` uses an extension the planner does not handle (none today).
        SolverError
            If no solver is installed or the solver failed with no plan.
        """
        check_supports(self, instance)
        return solve_sp(
            instance,
            self.form,
            time_limit=time_limit,
            gap_rel=self.gap_rel,
            threads=self.threads,
            warm_start=self.warm_start,
            prune=self.prune,
            msg=self.msg,
            solver=self.solver,
            planner=self.name,
            seed=seed,
        ).plan


@register_planner("exact-extensive", origin="built-in")
class ExactExtensivePlanner(ExactPlanner):
    """Exact two-stage SP, the paper's extensive MILP form (HiGHS); same optimum as ``exact``.

    Parameters
    ----------
    gap_rel, threads, warm_start, prune, solver, msg :
        As :class:`ExactPlanner`.
    """

    name = "exact-extensive"
    form = "extensive"


@register_planner("lagrangian", origin="built-in")
class LagrangianPlanner:
    """Lagrangian heuristic: priced routes, water-filled reservations, a certified gap.

    Parameters
    ----------
    iterations : int
        Most dual iterations (each evaluates ``L`` and repairs one plan).
    theta, patience, gamma, min_theta :
        Step rule of :func:`~qkdbench.exact.ascent.lagrangian_bound`.
    improve : bool
        Finish with the greedy's improvement passes from the best plan, each
        request choosing among the paths the dual priced for it
        (:func:`~qkdbench.exact.primal.improve_with_columns`), within what is
        left of the time limit.
    max_passes : int
        At most this many improvement passes.

    Notes
    -----
    ``plan.stats`` holds ``status`` (``optimal`` only when the plan's cost
    meets the bound within ``1e-9`` relative, else ``feasible``),
    ``objective`` (the plan's expected cost), ``bound`` (best Lagrangian
    bound), ``bound_source`` (``"lagrangian"``), ``gap`` (certified,
    ``(cost - bound) / cost``), ``iterations``, ``stop`` (why the dual
    ascent ended), ``passes``, ``moves``, ``stop_passes`` (the improvement
    passes), ``setup_s``, ``dual_s`` and ``runtime_s``. ``seed`` changes nothing (no step
    is random).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> plan = LagrangianPlanner(iterations=50).plan(make_instance("nsfnet", 5, 3, seed=1))
    >>> plan.stats["bound_source"], plan.stats["bound"] <= plan.stats["objective"]
    ('lagrangian', True)
    """

    name = "lagrangian"
    deterministic = True
    supports = frozenset(UNCOUPLED_FEATURES)

    def __init__(
        self,
        iterations: int = 2000,
        theta: float = 1.0,
        patience: int = 20,
        gamma: float = 1.5,
        min_theta: float = 1e-5,
        improve: bool = True,
        max_passes: int = 20,
    ) -> None:
        self.iterations = iterations
        self.improve = improve
        self.max_passes = max_passes
        self.theta = theta
        self.patience = patience
        self.gamma = gamma
        self.min_theta = min_theta

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Run the dual ascent with its primal heuristic; return the best plan found.

        Parameters
        ----------
        instance : Instance
        seed : int, optional
            Recorded in ``plan.stats``; changes nothing (no step is random).
        time_limit : float, optional
            Seconds for the dual ascent and the improvement passes together.

        Returns
        -------
        Plan
            With the statistics listed in the class notes (no routes when
            there are no requests).

        Raises
        ------
        InputError
            If ``instance`` uses an extension the planner does not handle (none today).
        """
        check_supports(self, instance)
        clock = Stopwatch(time_limit)
        res = lagrangian_bound(
            instance,
            iterations=self.iterations,
            theta=self.theta,
            patience=self.patience,
            gamma=self.gamma,
            min_theta=self.min_theta,
            clock=clock,
        )
        best, cost = res.plan, res.cost
        info = {"passes": 0, "moves": 0, "stop_passes": "off"}
        tol = 1e-9 * abs(cost)
        if (
            self.improve
            and best is not None
            and instance.n_requests > 1
            and cost - res.bound > tol
            and not clock.expired()
        ):
            arrays, done = improve_with_columns(instance, best, res.columns, clock, self.max_passes)
            new_cost = float(evaluate_batch(instance, arrays).total[0])
            info = {"passes": done["passes"], "moves": done["moves"], "stop_passes": done["stop"]}
            if new_cost < cost:
                best, cost = arrays, new_cost
        status = proven_status(cost, res.bound)
        stats = {
            "status": status,
            "objective": cost,
            "bound": res.bound,
            "bound_source": res.bound_source,
            "gap": relative_gap(cost, res.bound),
            "iterations": res.iterations,
            "stop": res.stop,
            "setup_s": res.setup_s,
            "dual_s": res.runtime_s,
            **info,
            "runtime_s": clock.elapsed,
            "seed": seed,
        }
        if best is None or instance.n_requests == 0:
            return Plan(instance.name, self.name, (), stats)
        return decode_plan(instance, best, self.name, stats)


@register_planner("column-generation", origin="built-in")
class ColumnGenerationPlanner:
    """Strong bound and plan for fixed charges: column generation, then the master as a MIP.

    The capacity Lagrangian (:class:`LagrangianPlanner`) gives the first plan
    and columns; :func:`~qkdbench.exact.linking.linking_bound` then prices
    paths until the strong linking relaxation is solved, and solves the
    restricted master (each request one generated column, links and nodes
    opened whole) with HiGHS for a plan: a price-and-branch heuristic. The
    best plan of both is returned, with the best of both bounds.

    Parameters
    ----------
    iterations : int
        Most pricing rounds of the column generation.
    ascent_iterations : int
        Dual iterations of the capacity Lagrangian that gives the first plan.
    mip_share : float
        Share of the time limit (of what is left after the column generation)
        the restricted-master MIP may take; without a time limit it gets
        ``mip_seconds``.
    mip_seconds : float
        Seconds for the MIP when no time limit is given.

    Notes
    -----
    ``plan.stats`` holds ``status`` (``optimal`` only when the plan's cost
    meets the bound within ``1e-9`` relative, else ``feasible``),
    ``objective``, ``bound``, ``bound_source`` (``"linking-lagrangian"``, or
    ``"lagrangian"`` when the capacity bound is the better one), ``bounds``
    (both, by source), ``gap``, ``iterations`` (dual iterations and pricing
    rounds), ``stop`` (of the column generation), ``runtime_s`` and
    ``anytime``: ``{"seconds", "best", "bound"}`` records. ``seed`` changes
    nothing (no step is random).

    Examples
    --------
    >>> from qkdbench.topologies import design_instance
    >>> inst = design_instance("nsfnet", 8, max_rate=4, seed=1, fixed_charge_factor=3.0)
    >>> plan = ColumnGenerationPlanner().plan(inst)
    >>> plan.stats["bound_source"], plan.stats["bound"] <= plan.stats["objective"]
    ('linking-lagrangian', True)
    """

    name = "column-generation"
    deterministic = True
    supports = frozenset(UNCOUPLED_FEATURES)

    def __init__(
        self,
        iterations: int = 500,
        ascent_iterations: int = 200,
        mip_share: float = 0.8,
        mip_seconds: float = 60.0,
    ) -> None:
        self.iterations = iterations
        self.ascent_iterations = ascent_iterations
        self.mip_share = mip_share
        self.mip_seconds = mip_seconds

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Run the capacity ascent, the column generation and the restricted-master MIP.

        Parameters
        ----------
        instance : Instance
            The instance (every feature is handled).
        seed : int, optional
            Recorded in ``plan.stats``; changes nothing.
        time_limit : float, optional
            Seconds for the three steps together.

        Returns
        -------
        Plan
            The best plan found, with the statistics of the class notes.

        Raises
        ------
        InputError
            If ``instance`` uses an extension the planner does not handle (none today).
        """
        check_supports(self, instance)
        clock = Stopwatch(time_limit)
        res = best_bound(
            instance,
            iterations=self.ascent_iterations,
            time_limit=time_limit,
            linking=True,
            rounds=self.iterations,
            mip_share=self.mip_share,
            mip_seconds=self.mip_seconds,
        )
        best, cost, bound = res.plan, res.cost, res.bound
        status = proven_status(cost, bound)
        stats = {
            "status": status,
            "objective": cost,
            "bound": bound,
            "bound_source": res.bound_source,
            "gap": res.gap,
            "bounds": res.bounds,
            "iterations": res.iterations,
            "stop": res.stop,
            "runtime_s": clock.elapsed,
            "anytime": [{"seconds": clock.elapsed, "best": cost, "bound": bound}],
            "seed": seed,
        }
        if best is None or instance.n_requests == 0:
            return Plan(instance.name, self.name, (), stats)
        return decode_plan(instance, best, self.name, stats)
