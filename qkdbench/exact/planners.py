"""The exact planners of the registry: ``exact`` (compact form) and ``exact-extensive``."""

from __future__ import annotations

from typing import Any

from ..model import Instance, Plan
from ..utils.registry import FEATURES, check_supports, register_planner
from .sp_milp import solve_sp

__all__ = ["ExactPlanner", "ExactExtensivePlanner"]


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
    Every model extension is handled (``supports``): fixed charges (X1), link
    prices and random key rates (X2, through the pricing tables), and targets
    with provider capacities (X3, choice binaries; see :mod:`qkdbench.exact.sp_milp`).

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
    ):
        self.gap_rel = gap_rel
        self.threads = threads
        self.warm_start = warm_start
        self.prune = prune
        self.solver = solver
        self.msg = msg

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Solve ``instance`` to optimality (or until ``time_limit`` seconds).

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
    """Exact two-stage SP, the paper's extensive MILP form (HiGHS); same optimum as ``exact``."""

    name = "exact-extensive"
    form = "extensive"
