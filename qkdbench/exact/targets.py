"""Target choice of anycast requests (extension X3) under provider capacities.

The exact solver's warm start (:func:`~qkdbench.exact.sp_milp.relaxed_plan`) and
the Lagrangian heuristic (:mod:`qkdbench.exact.lagrangian`) both need, for given
per-target costs (a path cost to the target's node plus its service cost), the
cheapest choice of one target per request that no provider's capacity forbids.
That is a transportation problem: requests to providers, each provider taking at
most its capacity. :func:`assign_targets` solves it as a min-cost flow
(networkx), on costs rounded to a fine integer grid (network simplex needs
integer weights): the assignment is feasible whenever one exists (the instance's
validation guarantees one), and optimal up to that rounding.

Examples
--------
>>> from qkdbench.model import Demand, Instance, Link, Provider, Request, Target
>>> inst = Instance((1, 2, 3), (Link(1, 2, 10.0), Link(1, 3, 10.0)),
...     (Request("f", 1, None, Demand.point(1), (Target(2, "A"), Target(3, "B"))),
...      Request("g", 1, None, Demand.point(1), (Target(2, "A"), Target(3, "B")))),
...     providers=(Provider("A", 1), Provider("B", 1)))
>>> assign_targets(inst, np.array([1.0, 5.0, 1.0, 2.0])).tolist()
[0, 1]
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..evaluation.pricing import provider_table
from ..model import Instance

__all__ = ["assign_targets", "capacitated"]

#: Integer grid of the min-cost flow: costs are scaled so the largest is about this.
_SCALE_TOP = 1e9


def capacitated(instance: Instance) -> bool:
    """Whether some provider named by a target has a finite capacity (X3)."""
    pt = provider_table(instance)
    used = np.unique(pt.provider[pt.provider >= 0])
    return bool(used.size and np.any(pt.capacity[used] >= 0))


def assign_targets(instance: Instance, cost: np.ndarray,
                   allowed: np.ndarray | None = None) -> np.ndarray:
    """One target per request, cheapest in total, within every provider's capacity.

    Parameters
    ----------
    instance : Instance
    cost : ndarray
        Cost of each target position of :func:`~qkdbench.evaluation.pricing.provider_table`
        (``inf``: not allowed).
    allowed : ndarray of bool, optional
        Target positions that may be chosen (default: all with a finite cost).

    Returns
    -------
    ndarray of int64 (F,)
        The chosen position in each request's ``sinks`` (0 for an ordinary request).

    Raises
    ------
    RuntimeError
        If no assignment fits the capacities (never for a validated instance with
        every target allowed).
    """
    pt = provider_table(instance)
    cost = np.asarray(cost, dtype=float)
    ok = np.isfinite(cost) if allowed is None else (np.asarray(allowed, bool) & np.isfinite(cost))
    F = instance.n_requests
    out = np.zeros(F, dtype=np.int64)
    counts = np.diff(pt.ptr)
    if not capacitated(instance):
        for f in range(F):
            if counts[f] > 1:
                sel = np.arange(pt.ptr[f], pt.ptr[f + 1])
                c = np.where(ok[sel], cost[sel], np.inf)
                if not np.isfinite(c).any():
                    raise RuntimeError(f"request {instance.requests[f].id!r}: no target allowed")
                out[f] = int(np.argmin(c))
        return out
    anycast = [f for f in range(F) if instance.requests[f].is_anycast]
    finite = cost[ok & (pt.provider >= 0)]
    top = float(np.max(np.abs(finite))) if finite.size else 1.0
    scale = _SCALE_TOP / max(top, 1.0)
    g = nx.DiGraph()
    g.add_node("s", demand=-len(anycast))
    g.add_node("t", demand=len(anycast))
    best: dict[tuple[int, int], int] = {}
    for f in anycast:
        g.add_edge("s", ("f", f), capacity=1, weight=0)
        for j in range(pt.ptr[f], pt.ptr[f + 1]):
            if not ok[j]:
                continue
            key = (f, int(pt.provider[j]))
            if key not in best or cost[j] < cost[best[key]]:
                best[key] = j
    for (f, a), j in best.items():
        g.add_edge(("f", f), ("p", a), capacity=1, weight=int(round(cost[j] * scale)))
    for a in {a for _, a in best}:
        cap = int(pt.capacity[a])
        g.add_edge(("p", a), "t", capacity=len(anycast) if cap < 0 else cap, weight=0)
    try:
        flow = nx.min_cost_flow(g)
    except nx.NetworkXUnfeasible as exc:
        raise RuntimeError("no choice of targets fits the provider capacities") from exc
    for (f, a), j in best.items():
        if flow[("f", f)].get(("p", a), 0) > 0:
            out[f] = j - pt.ptr[f]
    return out
