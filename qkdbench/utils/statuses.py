"""The statuses a plan (and a solver run) may carry, and what each one claims.

``optimal``
    Proven optimal (within the solver's relative gap).
``feasible``
    A feasible plan from a run stopped early; ``bound`` and ``gap`` say how far
    from optimal it can be.
``heuristic``
    A plan with no claim about its distance to the optimum.
``infeasible``
    The solver proved the model infeasible.
``error``
    The run failed; the plan has no routes and a one-line ``message``.
"""

from __future__ import annotations

__all__ = [
    "OPTIMAL",
    "FEASIBLE",
    "HEURISTIC",
    "INFEASIBLE",
    "ERROR",
    "PLAN_STATUSES",
    "USABLE_STATUSES",
]

OPTIMAL = "optimal"
FEASIBLE = "feasible"
HEURISTIC = "heuristic"
INFEASIBLE = "infeasible"
ERROR = "error"

#: Every status a plan may carry.
PLAN_STATUSES: tuple[str, ...] = (OPTIMAL, FEASIBLE, HEURISTIC, INFEASIBLE, ERROR)
#: Statuses of a plan that can be used (scored and compared).
USABLE_STATUSES: tuple[str, ...] = (OPTIMAL, FEASIBLE, HEURISTIC)
