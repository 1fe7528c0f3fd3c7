"""The one cost evaluator (Numba), its batch entry point and the plan encoding.

See :func:`evaluate` for one plan, :func:`evaluate_batch` for many (a GA
population), :func:`pair_costs` for the cost of one request on one arc.
"""

from .encoding import PlanArrays, decode_plan, encode_plan, route_violations, stack_plans
from .evaluator import (BatchScores, Evaluation, evaluate, evaluate_arrays, evaluate_batch,
                        newsvendor_reservations, pair_costs, reservation_violations)

__all__ = [
    "PlanArrays", "decode_plan", "encode_plan", "route_violations", "stack_plans",
    "BatchScores", "Evaluation", "evaluate", "evaluate_arrays", "evaluate_batch",
    "newsvendor_reservations", "pair_costs", "reservation_violations",
]
