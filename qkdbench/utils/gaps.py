"""The relative gap between a cost and a lower bound, and the status it proves, defined once."""

from __future__ import annotations

import math

__all__ = ["PROVEN_TOL", "proven_status", "relative_gap"]

#: Relative tolerance within which a cost meets its lower bound (a proof of optimality).
PROVEN_TOL = 1e-9


def relative_gap(cost: float, bound: float) -> float:
    """``max(0, cost - bound) / |cost|``: how far above the bound a cost may be, at most.

    ``0`` when the cost is 0 and the bound not negative; ``inf`` when the cost is
    0 and the bound negative; ``nan`` without a finite pair.

    Parameters
    ----------
    cost : float
        A plan's cost.
    bound : float
        A lower bound on the optimal cost.

    Returns
    -------
    float
        The gap, a fraction of ``|cost|`` (``0.1`` is 10 %).

    Examples
    --------
    >>> relative_gap(110.0, 100.0), relative_gap(0.0, 0.0), relative_gap(5.0, float("nan"))
    (0.09090909090909091, 0.0, nan)
    """
    if not (math.isfinite(cost) and math.isfinite(bound)):
        return math.nan
    if cost == 0:
        return 0.0 if bound >= 0 else math.inf
    return max(0.0, cost - bound) / abs(cost)


def proven_status(cost: float, bound: float, tol: float = PROVEN_TOL) -> str:
    """``"optimal"`` if the cost meets the lower bound within ``tol * |cost|``, else ``"feasible"``.

    The one rule by which a planner with a lower bound labels its plan: a plan is
    ``optimal`` only when proven so.

    Parameters
    ----------
    cost : float
        The evaluator's cost of the plan.
    bound : float
        A valid lower bound on the optimal cost (``nan`` or ``-inf`` proves nothing).
    tol : float
        Relative tolerance (default :data:`PROVEN_TOL`).

    Returns
    -------
    str
        ``"optimal"`` or ``"feasible"``.

    Examples
    --------
    >>> proven_status(100.0, 100.0), proven_status(100.0, 99.0), proven_status(1.0, float("nan"))
    ('optimal', 'feasible', 'feasible')
    """
    if not (math.isfinite(cost) and math.isfinite(bound)):
        return "feasible"
    return "optimal" if cost - bound <= tol * abs(cost) else "feasible"
