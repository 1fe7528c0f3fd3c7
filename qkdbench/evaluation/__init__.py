"""The one cost evaluator (Numba), its batch entry point and the plan encoding.

See :func:`evaluate` for one plan, :func:`evaluate_batch` for many (a GA
population), :func:`pair_costs` for the cost of one request on one arc.
"""

from .curves import CostCurves, cost_curves, newsvendor_reservations
from .encoding import PlanArrays, decode_plan, encode_plan, route_violations, stack_plans
from .evaluator import (
    BatchScores,
    Evaluation,
    evaluate,
    evaluate_arrays,
    evaluate_batch,
    pair_costs,
    plan_fixed_charges,
    reservation_violations,
)
from .pricing import (
    ArcArrays,
    FixedCharges,
    SupportArrays,
    arc_table,
    fixed_charges,
    mdi_segments,
    qkd_links_needed,
    support_table,
)

__all__ = [
    "ArcArrays",
    "SupportArrays",
    "arc_table",
    "support_table",
    "mdi_segments",
    "qkd_links_needed",
    "CostCurves",
    "cost_curves",
    "PlanArrays",
    "decode_plan",
    "encode_plan",
    "route_violations",
    "stack_plans",
    "BatchScores",
    "Evaluation",
    "evaluate",
    "evaluate_arrays",
    "evaluate_batch",
    "newsvendor_reservations",
    "pair_costs",
    "reservation_violations",
    "FixedCharges",
    "fixed_charges",
    "plan_fixed_charges",
]
