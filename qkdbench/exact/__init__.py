"""Exact planners: the two-stage stochastic program as a MILP (NumPy arrays, HiGHS).

:func:`solve_sp` builds and solves the deterministic equivalent in its
``compact`` (default) or ``extensive`` form; the planners ``exact`` and
``exact-extensive`` wrap it. :func:`~qkdbench.exact.sp_figures.sp_figures`
computes the stochastic-programming figures (RP, EV/EEV, VSS, WS, EVPI).

Modules, one topic each: :mod:`~qkdbench.exact.formulation` (the MILP's
variables and rows, :func:`build_model`), :mod:`~qkdbench.exact.sizing` (its
size and memory, estimated before building), :mod:`~qkdbench.exact.sp_milp`
(solving: :func:`solve_model`, :func:`solve_sp`, warm starts) with
:mod:`~qkdbench.exact.decoding` (plans to columns and back),
:mod:`~qkdbench.exact.bounds` (capacity-free bounds, reduced-cost pruning),
:mod:`~qkdbench.exact.rerouting` (the warm-start heuristic
:func:`relaxed_plan`), the Lagrangian method in :mod:`~qkdbench.exact.dual`,
:mod:`~qkdbench.exact.ascent` and :mod:`~qkdbench.exact.primal` (overview and
public names: :mod:`~qkdbench.exact.lagrangian`), the MILP arrays and solver
interface in :mod:`~qkdbench.exact.milp` and :mod:`~qkdbench.exact.solver`,
and the registry's planners in :mod:`~qkdbench.exact.planners`.
"""

from .bounds import relaxation_bound
from .formulation import FORMS, SPModel, build_model
from .rerouting import relaxed_plan
from .solver import SolverError, SolverOptions, SolverUnavailableError
from .sp_milp import SPResult, solve_model, solve_sp

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
