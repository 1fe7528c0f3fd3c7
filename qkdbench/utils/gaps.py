"""The relative gap between a plan's cost and a lower bound, defined once."""

from __future__ import annotations

import math

__all__ = ["relative_gap"]


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
