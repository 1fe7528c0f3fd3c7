"""Provider assignment (extension X3): which provider serves each anycast request.

A provider's capacity is the one constraint of the model that ties requests
together through their *targets* rather than their arcs. The planners choose
targets greedily (first fit, cheapest with room); when a greedy choice leaves
a request with no provider that has room, :func:`assign_providers` computes a
capacity-feasible assignment as a min-cost flow (networkx), the classic
augmenting-path repair of a bipartite b-matching: requests on one side,
providers on the other, each provider's capacity on its edge to the sink.
Instance validation guarantees such an assignment exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np

__all__ = ["assign_providers", "COST_SCALE"]

#: Costs are scaled to integers in ``0 .. COST_SCALE`` for networkx's min-cost flow.
COST_SCALE = 1_000_000


def assign_providers(options: Sequence[Mapping[int, float]], capacity: np.ndarray
                     ) -> list[int | None]:
    """A least-cost assignment of requests to providers within the providers' capacities.

    Parameters
    ----------
    options : sequence of mapping
        ``options[f]`` maps each provider (index) request ``f`` may use to the
        cost of using it; an empty mapping means the request needs no provider.
    capacity : ndarray
        Requests each provider may serve (``-1``: unlimited).

    Returns
    -------
    list
        The provider of each request (``None`` where ``options[f]`` is empty).
        Costs are scaled to integers before the min-cost flow, so among
        assignments whose costs differ by less than ``max cost / COST_SCALE``
        any may be returned.

    Raises
    ------
    ValueError
        If no assignment within the capacities exists.

    Examples
    --------
    >>> assign_providers([{0: 1.0, 1: 2.0}, {0: 1.0}], np.array([1, -1]))
    [1, 0]
    """
    need = [f for f, opt in enumerate(options) if opt]
    out: list[int | None] = [None] * len(options)
    if not need:
        return out
    top = max(max(opt.values()) for opt in options if opt)
    scale = COST_SCALE / top if top > 0 else 0.0
    g = nx.DiGraph()
    n = len(need)
    g.add_node("_src", demand=-n)
    g.add_node("_sink", demand=n)
    for f in need:
        g.add_edge("_src", ("f", f), capacity=1, weight=0)
        for p, cost in options[f].items():
            g.add_edge(("f", f), ("p", int(p)), capacity=1,
                       weight=int(round(max(0.0, float(cost)) * scale)))
    for p in sorted({int(p) for f in need for p in options[f]}):
        cap = int(capacity[p])
        g.add_edge(("p", p), "_sink", capacity=n if cap < 0 else cap, weight=0)
    try:
        flow = nx.min_cost_flow(g)
    except nx.NetworkXUnfeasible:
        raise ValueError("provider capacities cannot serve every request with targets") from None
    for f in need:
        for node, amount in flow[("f", f)].items():
            if amount > 0:
                out[f] = int(node[1])
    return out
