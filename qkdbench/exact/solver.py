"""MILP solvers for the exact planners: HiGHS through highspy, CBC through PuLP as a fallback.

One topic, kept in one module: handing a :class:`~qkdbench.exact.milp.Milp` to a solver
and reading its outcome back.

A :class:`~qkdbench.exact.milp.Milp` (NumPy arrays) goes to HiGHS through
highspy's public API: the model is passed whole, a warm start is set with
``setSolution``, and the model status, primal solution status, objective,
dual bound and gap are read back after the run. :func:`classify_highs` maps
*every* HiGHS model status to one of the plan statuses (``optimal`` only for a
proven optimum; a limit with an incumbent is ``feasible``). CBC is reached
through PuLP's CBC interface (bundled with PuLP 3, ``cbc`` on the ``PATH``
with PuLP 4) and used only when highspy is missing or asked for.

HiGHS writes to the process's standard output: its banner, when the first
``Highs`` object is made, and its log. :func:`new_highs` makes every HiGHS
object of the project with the banner kept off standard output and the log
off unless asked for (``msg``: to standard error; ``log_file``: to a file),
so ``--json`` and ``--csv`` output stays machine-readable.

Errors the caller cannot act on inside a run (no solver installed, the
solver raised) become :class:`SolverError`, whose message is one line.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import SolverError, SolverUnavailableError
from ..utils.statuses import PLAN_STATUSES
from .milp import Milp

__all__ = [
    "SolverError",
    "SolverUnavailableError",
    "SolverOptions",
    "SolveOutcome",
    "SolverRun",
    "classify_highs",
    "model_status",
    "highs_available",
    "cbc_available",
    "new_highs",
    "load_highs",
    "read_highs",
    "run_highs",
    "run_cbc",
    "solve_milp",
    "fix_and_resolve",
    "PLAN_STATUSES",
    "SOLVER_LOG_ENV",
]

#: Environment variable naming a file for the solver log of every HiGHS run
#: (``-`` for standard error); set by ``qkdbench --solver-log FILE``, and seen by
#: Dask worker processes too.
SOLVER_LOG_ENV = "QKDBENCH_SOLVER_LOG"


# HiGHS model statuses that stop a MIP before optimality is proven.
_LIMITS = (
    "kTimeLimit",
    "kIterationLimit",
    "kSolutionLimit",
    "kInterrupt",
    "kHighsInterrupt",
    "kObjectiveBound",
    "kObjectiveTarget",
    "kMemoryLimit",
)
_INFEASIBLE = ("kInfeasible", "kUnboundedOrInfeasible")


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
        Write the solver log to standard error.
    log_file : str, optional
        Write the solver log to this file.
    solver : {"highs", "cbc", "auto"}
        ``auto`` is HiGHS, and CBC only if HiGHS is not installed.
    extra : Mapping
        Further solver options by native name (e.g. ``{"mip_max_nodes": 10}``).
    """

    time_limit: float | None = None
    gap_rel: float = 1e-6
    threads: int | None = None
    msg: bool = False
    log_file: str | None = None
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
        One line for ``error`` outcomes and for ``feasible`` ones that a solver
        failure (not a limit) ended, else empty.
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
        limit stopped the search with an incumbent, or when any other status
        (``kNotset``, ``kSolveError``, ...) left an incumbent (then ``message``
        says which status); ``infeasible``; otherwise ``error`` with a
        one-line ``message``.

    Examples
    --------
    >>> classify_highs("kTimeLimit", True)
    ('feasible', '')
    >>> classify_highs("kTimeLimit", False)[0]
    'error'
    >>> classify_highs("kNotset", True)
    ('feasible', 'HiGHS ended with status Notset; its best solution is returned')
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
    if has_solution:
        # a failure (e.g. kNotset under memory pressure, kSolveError) after HiGHS found an
        # integer-feasible solution: that solution is still a plan; say what happened
        return "feasible", (
            f"HiGHS ended with status {name[1:] or name}; its best solution is returned"
        )
    return "error", f"HiGHS ended with status {name[1:] or name}"


def model_status(highs: Any) -> str:
    """The name of a HiGHS object's model status, e.g. ``"kTimeLimit"``.

    Parameters
    ----------
    highs : highspy.Highs
        A HiGHS object after a run.

    Returns
    -------
    str
    """
    return str(highs.getModelStatus()).rsplit(".", 1)[-1]


def highs_available() -> bool:
    """Whether highspy can be imported.

    Returns
    -------
    bool
    """
    try:
        import highspy  # noqa: F401
    except Exception:  # pragma: no cover - broken installs
        return False
    return True


def _cbc_class() -> Any:
    """PuLP's CBC interface class (``PULP_CBC_CMD`` in PuLP 3, ``COIN_CMD`` in PuLP 4)."""
    try:
        import pulp
    except Exception:  # pragma: no cover - PuLP missing
        return None
    return getattr(pulp, "PULP_CBC_CMD", None) or getattr(pulp, "COIN_CMD", None)


def cbc_available() -> bool:
    """Whether PuLP can run the CBC solver.

    Returns
    -------
    bool
        ``False`` also when PuLP is missing or the check itself fails.
    """
    cbc = _cbc_class()
    if cbc is None:
        return False
    try:
        with warnings.catch_warnings():  # PuLP 3 deprecates PULP_CBC_CMD
            warnings.simplefilter("ignore", DeprecationWarning)
            return bool(cbc(msg=False).available())
    except Exception:  # pragma: no cover
        return False


@dataclass(frozen=True, eq=False)
class SolverRun:
    """A finished solver run.

    Attributes
    ----------
    outcome : SolveOutcome
    values : ndarray or None
        Column values of the solution (``None`` without one).
    highs : highspy.Highs or None
        The HiGHS object of the run, for :func:`fix_and_resolve`.
    """

    outcome: SolveOutcome
    values: np.ndarray | None
    highs: Any = None


@contextlib.contextmanager
def _stdout_to(fd: int | None) -> Iterator[None]:
    """Point file descriptor 1 at ``fd`` (``None``: the null device) inside the block."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY) if fd is None else None
    target = null if fd is None else fd
    assert target is not None
    try:
        os.dup2(target, 1)
        yield
    finally:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)  # C stdio buffers go where they were meant to
        os.dup2(saved, 1)
        os.close(saved)
        if null is not None:
            os.close(null)


def silent_highs() -> Any:
    """A new ``highspy.Highs`` with its output off (its banner kept off stdout too).

    Returns
    -------
    highspy.Highs
    """
    import highspy

    with _stdout_to(None):
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


_LOG_HANDLES: dict[str, Any] = {}


def _log_handle(path: str) -> Any:
    """An append-mode handle on ``path``, opened once per process."""
    handle = _LOG_HANDLES.get(path)
    if handle is None or handle.closed:
        try:
            handle = Path(path).open("a", encoding="utf-8")  # noqa: SIM115 - kept for the process
        except OSError as exc:
            raise SolverError(f"cannot write the solver log {path}: {exc.strerror}") from None
        _LOG_HANDLES[path] = handle
    return handle


def new_highs(options: SolverOptions | None = None) -> Any:
    """A ``highspy.Highs`` object that writes nothing to standard output.

    HiGHS prints a banner on standard output when a process makes its first
    ``Highs`` object; it goes to standard error if the log is on, else
    nowhere. The solver log goes to standard error (``options.msg``, or a log
    file named ``-``) and/or to ``options.log_file`` (default: the file named
    by the environment variable :data:`SOLVER_LOG_ENV`); by default it is off.

    Parameters
    ----------
    options : SolverOptions, optional
        Its ``msg`` and ``log_file`` are read (default: log off).

    Returns
    -------
    highspy.Highs
        With ``log_to_console`` off and ``output_flag`` on only when the log goes somewhere.

    Raises
    ------
    SolverUnavailableError
        If highspy is not installed.
    SolverError
        If the log file cannot be opened for appending.
    """
    options = options or SolverOptions()
    try:
        import highspy
    except Exception as exc:  # pragma: no cover - exercised through highs_available
        raise SolverUnavailableError(f"highspy cannot be imported: {exc}") from None
    log_file = options.log_file or os.environ.get(SOLVER_LOG_ENV) or None
    to_stderr = options.msg or log_file == "-"
    if log_file == "-":
        log_file = None
    with _stdout_to(2 if to_stderr else None):
        h = highspy.Highs()
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("output_flag", bool(to_stderr or log_file))
    if to_stderr or log_file:
        sinks: list[Any] = [sys.stderr] if to_stderr else []
        if log_file:
            sinks.append(_log_handle(str(log_file)))

        def write_log(event: Any) -> None:
            for sink in sinks:
                sink.write(event.message)
                sink.flush()

        h.cbLogging += write_log
    return h


def load_highs(milp: Milp, options: SolverOptions) -> Any:
    """A ``highspy.Highs`` holding ``milp`` with the options set, not yet run.

    Parameters
    ----------
    milp : Milp
    options : SolverOptions

    Returns
    -------
    highspy.Highs
        Rows may be added and the model run again (as the L-shaped master is).
    """
    import highspy

    h = new_highs(options)
    h.setOptionValue("mip_rel_gap", float(options.gap_rel))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", max(float(options.time_limit), 1e-3))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    for key, value in dict(options.extra).items():
        h.setOptionValue(str(key), value)
    lp = highspy.HighsLp()
    lp.num_col_ = milp.num_col
    lp.num_row_ = milp.num_row
    lp.col_cost_ = milp.cost
    lp.col_lower_ = np.where(np.isfinite(milp.col_lower), milp.col_lower, -highspy.kHighsInf)
    lp.col_upper_ = np.where(np.isfinite(milp.col_upper), milp.col_upper, highspy.kHighsInf)
    lp.row_lower_ = np.where(np.isfinite(milp.row_lower), milp.row_lower, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(milp.row_upper), milp.row_upper, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = milp.num_col
    lp.a_matrix_.num_row_ = milp.num_row
    lp.a_matrix_.start_ = milp.start
    lp.a_matrix_.index_ = milp.index
    lp.a_matrix_.value_ = milp.value
    if milp.integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in milp.integer
        ]
    h.passModel(lp)
    return h


def read_highs(h: Any, mip: bool) -> SolverRun:
    """The outcome of a finished HiGHS run.

    Parameters
    ----------
    h : highspy.Highs
        After ``run()``.
    mip : bool
        Whether the model run had integer columns (an LP reports no MIP bound: its
        bound is its optimum).

    Returns
    -------
    SolverRun
    """
    info = h.getInfo()
    name = model_status(h)
    has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
    status, message = classify_highs(name, has_solution)
    objective = float(info.objective_function_value) if has_solution else math.nan
    bound = float(info.mip_dual_bound)
    gap = float(info.mip_gap)
    if not mip:  # an LP: HiGHS reports no MIP bound
        bound = objective if status == "optimal" else math.nan
        gap = 0.0 if status == "optimal" else math.nan
    outcome = SolveOutcome(
        status,
        "highs",
        name,
        has_solution,
        objective,
        bound if math.isfinite(bound) else math.nan,
        gap if math.isfinite(gap) else math.nan,
        message,
    )
    values = np.asarray(h.getSolution().col_value, dtype=float) if has_solution else None
    return SolverRun(outcome, values, h)


def run_highs(
    milp: Milp, options: SolverOptions, warm_start: tuple[np.ndarray, np.ndarray] | None = None
) -> SolverRun:
    """Solve ``milp`` with HiGHS.

    Parameters
    ----------
    milp : Milp
    options : SolverOptions
    warm_start : (index, value), optional
        Values of some columns (integer ones) handed to HiGHS as a start;
        HiGHS completes the rest.

    Returns
    -------
    SolverRun
    """
    h = load_highs(milp, options)
    if warm_start is not None and len(warm_start[0]):
        index = np.asarray(warm_start[0], dtype=np.int32)
        h.setSolution(int(index.size), index, np.asarray(warm_start[1], dtype=float))
    h.run()
    return read_highs(h, bool(milp.integer.any()))


def fix_and_resolve(run: SolverRun, columns: np.ndarray, values: np.ndarray) -> float:
    """Fix ``columns`` at ``values`` in the run's HiGHS model, solve the LP left; its objective.

    Parameters
    ----------
    run : SolverRun
        A HiGHS run (its ``highs`` is changed in place: columns fixed, made continuous,
        no time limit).
    columns : array of int
        Columns to fix.
    values : array of float
        Their values.

    Returns
    -------
    float
        The LP's optimal objective.

    Raises
    ------
    SolverError
        If the LP does not solve to optimality.
    """
    import highspy

    h = run.highs
    idx = np.asarray(columns, dtype=np.int32)
    val = np.asarray(values, dtype=float)
    h.changeColsBounds(idx.size, idx, val, val)
    h.changeColsIntegrality(idx.size, idx, np.full(idx.size, highspy.HighsVarType.kContinuous))
    h.setOptionValue("time_limit", highspy.kHighsInf)
    h.run()
    lp_status = str(h.getModelStatus()).rsplit(".", 1)[-1]
    if lp_status != "kOptimal":
        raise SolverError(
            f"the LP with the rounded integer solution did not solve to optimality ({lp_status})"
        )
    return float(h.getInfo().objective_function_value)


def run_cbc(
    milp: Milp, options: SolverOptions, warm_start: tuple[np.ndarray, np.ndarray] | None = None
) -> SolverRun:
    """Solve ``milp`` with CBC through PuLP's public modelling API.

    Parameters
    ----------
    milp : Milp
        The model.
    options : SolverOptions
        ``msg``, ``gap_rel``, ``time_limit`` (at least 1 s for CBC), ``threads`` and
        ``extra`` (CBC options as ``key value``) are passed on.
    warm_start : (index, value), optional
        Initial values of some columns.

    Returns
    -------
    SolverRun
        Without a ``highs`` object; ``bound`` and ``gap`` are known only for an optimum.
    """
    import pulp

    cbc = _cbc_class()
    prob = pulp.LpProblem("qkdbench", pulp.LpMinimize)
    cols = [
        prob.add_variable(
            f"c{j}",
            None if not math.isfinite(lo) else float(lo),
            None if not math.isfinite(up) else float(up),
            "Integer" if integer else "Continuous",
        )
        for j, (lo, up, integer) in enumerate(
            zip(milp.col_lower, milp.col_upper, milp.integer, strict=True)
        )
    ]
    prob += pulp.lpSum(float(c) * cols[j] for j, c in enumerate(milp.cost) if c != 0)
    for r in range(milp.num_row):
        idx, val = milp.row(r)
        expr = pulp.lpSum(float(v) * cols[j] for j, v in zip(idx, val, strict=True))
        lo, up = float(milp.row_lower[r]), float(milp.row_upper[r])
        if lo == up:
            prob.addConstraint(expr == lo, f"r{r}")
            continue
        if math.isfinite(lo):
            prob.addConstraint(expr >= lo, f"r{r}l")
        if math.isfinite(up):
            prob.addConstraint(expr <= up, f"r{r}u")
    kwargs: dict[str, Any] = {"msg": options.msg, "gapRel": options.gap_rel}
    if warm_start is not None and len(warm_start[0]):
        for j, v in zip(*warm_start, strict=True):
            cols[int(j)].setInitialValue(float(v))
        kwargs["warmStart"] = True
    if options.time_limit is not None:
        kwargs["timeLimit"] = max(float(options.time_limit), 1.0)
    if options.threads is not None:
        kwargs["threads"] = int(options.threads)
    if options.extra:
        kwargs["options"] = [f"{k} {v}" for k, v in options.extra.items()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prob.solve(cbc(**kwargs))
    st, sol = prob.status, prob.sol_status
    native = f"{pulp.LpStatus.get(st, st)}/{pulp.LpSolution.get(sol, sol)}"
    if st == pulp.LpStatusOptimal and sol == pulp.LpSolutionOptimal:
        status, msg = "optimal", ""
    elif sol == pulp.LpSolutionIntegerFeasible:
        status, msg = "feasible", ""
    elif st == pulp.LpStatusInfeasible:
        status, msg = "infeasible", ""
    else:
        status, msg = "error", f"CBC ended with status {native}"
    has = status in ("optimal", "feasible")
    values = np.asarray([v.varValue or 0.0 for v in cols], dtype=float) if has else None
    obj = float(milp.cost @ values) if values is not None else math.nan
    outcome = SolveOutcome(
        status,
        "cbc",
        native,
        has,
        obj,
        obj if status == "optimal" else math.nan,
        0.0 if status == "optimal" else math.nan,
        msg,
    )
    return SolverRun(outcome, values)


def solve_milp(
    milp: Milp,
    options: SolverOptions | None = None,
    warm_start: tuple[np.ndarray, np.ndarray] | None = None,
) -> SolverRun:
    """Solve ``milp`` with the solver ``options.solver`` names.

    ``auto`` is HiGHS, and CBC only if highspy is not installed.

    Parameters
    ----------
    milp : Milp
        The model.
    options : SolverOptions, optional
        Solver, limits and log (default :class:`SolverOptions`).
    warm_start : (index, value), optional
        Values of some columns, handed to the solver as a start.

    Returns
    -------
    SolverRun

    Raises
    ------
    SolverUnavailableError
        If the requested solver (or, for ``auto``, neither) is installed.
    SolverError
        For an unknown solver name, or when the solver itself raised.
    """
    options = options or SolverOptions()
    choice = options.solver.lower()
    if choice not in ("auto", "highs", "cbc"):
        raise SolverError(f"unknown solver {options.solver!r}; use 'highs', 'cbc' or 'auto'")
    if choice in ("auto", "highs") and highs_available():
        name, run = "highs", run_highs
    elif choice in ("auto", "cbc") and cbc_available():
        name, run = "cbc", run_cbc
    else:
        wanted = {"auto": "HiGHS (highspy) or CBC", "highs": "HiGHS (highspy)", "cbc": "CBC"}[
            choice
        ]
        raise SolverUnavailableError(
            f"no MILP solver available: install {wanted} (pip install highspy)"
        )
    try:
        return run(milp, options, warm_start)
    except SolverError:
        raise
    except Exception as exc:  # the solver itself failed
        raise SolverError(f"{name} failed: {type(exc).__name__}: {exc}") from None
