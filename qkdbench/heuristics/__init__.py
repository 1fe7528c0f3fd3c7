"""Planners: the registry, CO-QBN, sample-average greedy, the DEAP GA and ALNS.

Use :func:`get_planner` to build one by name and :func:`available_planners`
to list them (built in, registered and plugged in through the entry-point
group ``qkdbench.planners``).
"""

from ..utils.registry import (
    ENTRY_POINT_GROUP,
    Planner,
    PlannerInfo,
    available_planners,
    get_planner,
    register_planner,
    unregister_planner,
)
from ..utils.timing import Stopwatch

__all__ = [
    "ENTRY_POINT_GROUP",
    "Planner",
    "PlannerInfo",
    "Stopwatch",
    "available_planners",
    "get_planner",
    "register_planner",
    "unregister_planner",
]
