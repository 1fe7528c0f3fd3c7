"""Exact planners: the two-stage stochastic program as a MILP (NumPy arrays, HiGHS).

:func:`solve_sp` builds and solves the deterministic equivalent in its
``compact`` (default) or ``extensive`` form; the planners ``exact`` and
``exact-extensive`` wrap it. :func:`~qkdbench.exact.sp_figures.sp_figures`
computes the stochastic-programming figures (RP, EV/EEV, VSS, WS, EVPI).
"""

from .solver import SolverError, SolverOptions, SolverUnavailableError
from .sp_milp import (
    FORMS,
    SPModel,
    SPResult,
    build_model,
    relaxation_bound,
    relaxed_plan,
    solve_model,
    solve_sp,
)

__all__ = [
    "FORMS",
    "SPModel",
    "SPResult",
    "SolverError",
    "SolverOptions",
    "SolverUnavailableError",
    "build_model",
    "relaxation_bound",
    "relaxed_plan",
    "solve_model",
    "solve_sp",
]
