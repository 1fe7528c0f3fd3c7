"""Solver choice for the exact planners: HiGHS through highspy, CBC as a fallback.

PuLP's HiGHS interface reports a time-limited MIP run as status "Optimal"
with ``sol_status == LpSolutionIntegerFeasible``, and raises ``KeyError`` on
HiGHS model statuses it does not know (``kSolutionLimit``, ``kMemoryLimit``,
``kHighsInterrupt`` in highspy 1.15). :class:`HighsSolver` therefore reads the
HiGHS model status itself and maps *every* status to one of the plan
statuses of ``FORMATS.md`` with :func:`classify_highs`; it also loads a warm
start into HiGHS before the run (PuLP's HiGHS class ignores ``warmStart``).

Errors the caller cannot act on inside a run (no solver installed, the
solver raised) become :class:`SolverError`, whose message is one line.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulp

__all__ = [
    "SolverError",
    "SolverUnavailableError",
    "SolverOptions",
    "SolveOutcome",
    "HighsSolver",
    "classify_highs",
    "model_status",
    "highs_available",
    "cbc_available",
    "make_solver",
    "PLAN_STATUSES",
]

#: Statuses a plan may carry (``FORMATS.md``).
PLAN_STATUSES: tuple[str, ...] = ("optimal", "feasible", "heuristic", "infeasible", "error")

# HiGHS model statuses that stop a MIP before optimality is proven.
_LIMITS = ("kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt",
           "kHighsInterrupt", "kObjectiveBound", "kObjectiveTarget", "kMemoryLimit")
_INFEASIBLE = ("kInfeasible", "kUnboundedOrInfeasible")


class SolverError(RuntimeError):
    """The MILP solver is missing or failed; the message is one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class SolverUnavailableError(SolverError):
    """No usable MILP solver is installed."""


@dataclass(frozen=True)
class SolverOptions:
    """Options of one MILP solve.

    Parameters
    ----------
    time_limit : float, optional
        Seconds for the solver (model building is not included).
    gap_rel : float
        Relative MIP gap at which the solver stops and reports optimality.
        ``0`` asks for a proof to the solver's numerical tolerances.
    threads : int, optional
        Solver threads (HiGHS: the process-wide scheduler is sized by the
        first solve; later values can only lower the count used).
    msg : bool
        Show the solver log.
    solver : {"highs", "cbc", "auto"}
        ``auto`` is HiGHS, and CBC only if HiGHS is not installed.
    extra : Mapping
        Further solver options by native name (e.g. ``{"mip_max_nodes": 10}``).
    """

    time_limit: float | None = None
    gap_rel: float = 1e-6
    threads: int | None = None
    msg: bool = False
    solver: str = "auto"
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SolveOutcome:
    """What a solver run left behind, before any plan is built.

    Attributes
    ----------
    status : str
        One of :data:`PLAN_STATUSES` (never ``heuristic``).
    solver : str
        ``"highs"`` or ``"cbc"``.
    native_status : str
        The solver's own status name (e.g. ``kTimeLimit``).
    has_solution : bool
        A primal (integer-feasible) solution is available.
    objective : float
        Solver objective of that solution (``nan`` if none).
    bound : float
        Best proven lower bound (``nan`` if unknown).
    gap : float
        ``(objective - bound) / |objective|`` as the solver reports it
        (``nan`` if unknown).
    message : str
        One line for ``error`` outcomes, else empty.
    """

    status: str
    solver: str
    native_status: str
    has_solution: bool
    objective: float = math.nan
    bound: float = math.nan
    gap: float = math.nan
    message: str = ""


def classify_highs(model_status: str, has_solution: bool) -> tuple[str, str]:
    """Map a HiGHS model status to a plan status.

    Parameters
    ----------
    model_status : str
        Name of a ``highspy.HighsModelStatus`` member, e.g. ``"kTimeLimit"``.
    has_solution : bool
        Whether HiGHS holds a feasible primal solution.

    Returns
    -------
    status, message : str
        ``optimal`` only for a proven optimum (``kOptimal``); ``feasible`` when a
        limit stopped the search with an incumbent; ``infeasible``; otherwise
        ``error`` with a one-line ``message``.

    Examples
    --------
    >>> classify_highs("kTimeLimit", True)
    ('feasible', '')
    >>> classify_highs("kTimeLimit", False)[0]
    'error'
    """
    name = model_status.rsplit(".", 1)[-1]
    if name == "kOptimal":
        if has_solution:
            return "optimal", ""
        return "error", "HiGHS reported an optimum but returned no solution"
    if name in _LIMITS:
        if has_solution:
            return "feasible", ""
        return "error", f"HiGHS stopped ({name[1:]}) before finding a feasible solution"
    if name in _INFEASIBLE:
        return "infeasible", ""
    if name == "kModelEmpty":
        return "error", "the model is empty"
    return "error", f"HiGHS ended with status {name[1:] or name}"


def model_status(highs: Any) -> str:
    """The name of a HiGHS object's model status, e.g. ``"kTimeLimit"``."""
    return str(highs.getModelStatus()).rsplit(".", 1)[-1]


def highs_available() -> bool:
    """Whether highspy can be used through PuLP."""
    try:
        return bool(pulp.HiGHS(msg=False).available())
    except Exception:  # pragma: no cover - broken installs
        return False


def cbc_available() -> bool:
    """Whether PuLP's CBC command-line solver is installed."""
    cbc = getattr(pulp, "PULP_CBC_CMD", None)
    if cbc is None:
        return False
    try:
        with warnings.catch_warnings():  # PuLP 3 deprecates PULP_CBC_CMD (removed in 4)
            warnings.simplefilter("ignore", DeprecationWarning)
            return bool(cbc(msg=False).available())
    except Exception:  # pragma: no cover
        return False


class HighsSolver(pulp.HiGHS):
    """PuLP's HiGHS interface with a warm start and a complete status mapping.

    Parameters
    ----------
    warm_start : Mapping[pulp.LpVariable, float], optional
        Values of (some) integer variables to hand HiGHS as a starting
        solution; HiGHS completes the rest.
    **kwargs
        Passed to :class:`pulp.HiGHS` (``timeLimit``, ``gapRel``, ``threads``,
        ``msg``, native options).
    """

    def __init__(self, *, warm_start: Mapping[Any, float] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.warm_values = dict(warm_start or {})
        self.outcome: SolveOutcome | None = None

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        """Load the model into HiGHS in two vectorised calls (PuLP adds it row by row)."""
        import highspy
        import numpy as np

        h = lp.solverModel
        inf = highspy.kHighsInf
        sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0
        variables = lp.variables()
        n = len(variables)
        cost = np.zeros(n)
        lower = np.empty(n)
        upper = np.empty(n)
        integer = []
        objective = lp.objective or {}
        for i, var in enumerate(variables):
            var.index = i
            cost[i] = sign * objective.get(var, 0.0)
            lower[i] = -inf if var.lowBound is None else var.lowBound
            upper[i] = inf if var.upBound is None else var.upBound
            if var.cat == pulp.LpInteger and self.mip:
                integer.append(i)
        h.addCols(n, cost, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32),
                  np.zeros(0))
        if integer:
            idx = np.asarray(integer, dtype=np.int32)
            h.changeColsIntegrality(idx.size, idx,
                                    np.full(idx.size, highspy.HighsVarType.kInteger))
        rows = list(lp._constraints.values())
        m = len(rows)
        row_lo = np.empty(m)
        row_up = np.empty(m)
        starts = np.empty(m, dtype=np.int32)
        index: list[int] = []
        value: list[float] = []
        for r, con in enumerate(rows):
            con.index = r
            starts[r] = len(index)
            for var, coef in con.items():
                if coef != 0:
                    index.append(var.index)
                    value.append(coef)
            lo, up = con.getLb(), con.getUb()
            row_lo[r] = -inf if lo is None else lo
            row_up[r] = inf if up is None else up
        if m:
            h.addRows(m, row_lo, row_up, len(index), starts,
                      np.asarray(index, dtype=np.int32), np.asarray(value, dtype=float))
        if lp.objective is not None and lp.objective.constant:
            h.changeObjectiveOffset(sign * lp.objective.constant)

    def callSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        if self.warm_values:
            import numpy as np

            index = np.asarray([v.index for v in self.warm_values], dtype=np.int32)
            value = np.asarray(list(self.warm_values.values()), dtype=float)
            lp.solverModel.setSolution(int(index.size), index, value)
        super().callSolver(lp)

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:  # noqa: N802
        h = lp.solverModel
        info = h.getInfo()
        name = model_status(h)
        has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
        status, message = classify_highs(name, has_solution)
        objective = float(info.objective_function_value) if has_solution else math.nan
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap)
        if status == "optimal" and not math.isfinite(bound):
            bound = objective  # an LP-only model (no integer columns)
        self.outcome = SolveOutcome(status, "highs", name, has_solution, objective,
                                    bound if math.isfinite(bound) else math.nan,
                                    gap if math.isfinite(gap) else math.nan, message)
        if has_solution:
            solution = h.getSolution()
            values = list(solution.col_value)
            for var in lp.variables():
                var.varValue = values[var.index]
        pulp_status = {"optimal": (pulp.LpStatusOptimal, pulp.LpSolutionOptimal),
                       "feasible": (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible),
                       "infeasible": (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible)}
        return pulp_status.get(status, (pulp.LpStatusNotSolved,
                                        pulp.LpSolutionNoSolutionFound))


def make_solver(options: SolverOptions,
                warm_start: Mapping[Any, float] | None = None) -> tuple[str, Any]:
    """The solver object for ``options``.

    Returns
    -------
    name, solver : str, pulp solver
        ``("highs", HighsSolver)`` or ``("cbc", PULP_CBC_CMD)``.

    Raises
    ------
    SolverUnavailableError
        If the requested solver (or, for ``auto``, neither) is installed.
    """
    choice = options.solver.lower()
    if choice not in ("auto", "highs", "cbc"):
        raise SolverError(f"unknown solver {options.solver!r}; use 'highs', 'cbc' or 'auto'")
    if choice in ("auto", "highs") and highs_available():
        kwargs: dict[str, Any] = {"msg": options.msg, "gapRel": options.gap_rel}
        if options.time_limit is not None:
            kwargs["timeLimit"] = max(float(options.time_limit), 1e-3)
        if options.threads is not None:
            kwargs["threads"] = int(options.threads)
        return "highs", HighsSolver(warm_start=warm_start, **kwargs, **dict(options.extra))
    if choice in ("auto", "cbc") and cbc_available():
        kwargs = {"msg": options.msg, "gapRel": options.gap_rel,
                  "warmStart": bool(warm_start)}
        if options.time_limit is not None:
            kwargs["timeLimit"] = max(float(options.time_limit), 1.0)
        if options.threads is not None:
            kwargs["threads"] = int(options.threads)
        if options.extra:
            kwargs["options"] = [f"{k} {v}" for k, v in options.extra.items()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return "cbc", pulp.PULP_CBC_CMD(**kwargs)
    wanted = {"auto": "HiGHS (highspy) or CBC", "highs": "HiGHS (highspy)",
              "cbc": "CBC"}[choice]
    raise SolverUnavailableError(f"no MILP solver available: install {wanted} "
                                 "(pip install highspy)")
