"""Lagrangian relaxation of the arc capacities: a lower bound at any scale, and a planner.

Dualising the arc capacity rows (and the provider capacity rows) splits
the exact model into one shortest-path problem per request. The method lives
in four modules:

* :mod:`qkdbench.exact.dual`: the priced cost curves and the dual function
  ``L(lam)`` (:func:`~qkdbench.exact.dual.lagrangian_value`), with the
  relaxation stated;
* :mod:`qkdbench.exact.ascent`: its maximisation, a deflected subgradient
  ascent with the Polyak step (:func:`~qkdbench.exact.ascent.lagrangian_bound`);
* :mod:`qkdbench.exact.primal`: the feasible plans built from the priced
  routings, and the improvement passes over the priced paths
  (:func:`~qkdbench.exact.primal.improve_with_columns`);
* :mod:`qkdbench.exact.bounds`: the reduced-cost test that prunes the exact
  model (:func:`~qkdbench.exact.bounds.reduced_cost_keep`).

The ``lagrangian`` planner is :class:`~qkdbench.exact.planners.LagrangianPlanner`.
The shortest-path kernels are those of :mod:`qkdbench.planning.shortest_paths`.

This module holds no code of its own: it re-exports the public names of the
method, so that ``from qkdbench.exact.lagrangian import lagrangian_bound``
and the like keep working.
"""

from __future__ import annotations

from .ascent import BOUND_SOURCE, LagrangianResult, lagrangian_bound
from .bounds import reduced_cost_keep
from .dual import DualPoint, PricedCurves, lagrangian_value, priced_curves
from .planners import LagrangianPlanner
from .primal import improve_with_columns

__all__ = [
    "PricedCurves",
    "DualPoint",
    "LagrangianResult",
    "priced_curves",
    "lagrangian_value",
    "lagrangian_bound",
    "improve_with_columns",
    "reduced_cost_keep",
    "LagrangianPlanner",
    "BOUND_SOURCE",
]
