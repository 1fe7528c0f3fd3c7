"""Machinery shared by the planners: candidate routes, reservation ladders, water-filling,
the greedy's insertion state and the provider assignment.

It sits between the evaluator and the planner packages (heuristics, exact, rl):
every cost it uses comes from :mod:`qkdbench.evaluation`.
"""

from .greedy import INSERTION_ORDERS, GreedyState, insertion_order
from .ladders import Ladders, build_ladders
from .paths import Candidates, candidate_paths, k_shortest_paths, standalone_arc_costs
from .providers import assign_providers
from .waterfill import waterfill

__all__ = [
    "INSERTION_ORDERS",
    "GreedyState",
    "insertion_order",
    "Ladders",
    "build_ladders",
    "Candidates",
    "candidate_paths",
    "k_shortest_paths",
    "standalone_arc_costs",
    "waterfill",
    "assign_providers",
]
