"""The warm-start heuristic of the exact solver: capacity-aware rerouting (:func:`relaxed_plan`).

Requests are routed one at a time on their cheapest path given the capacity
left, rerouted against each other for a few passes, and the reservations of
the final routes are shared out by water-filling; see :func:`relaxed_plan`.
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx
import numpy as np

from ..evaluation import pair_costs
from ..evaluation.pricing import arc_table, provider_table
from ..model import KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance, Plan, Route
from ..planning.ladders import ladder_segments
from ..planning.providers import assign_targets
from ..planning.waterfill import waterfill
from .bounds import _pairs, _sink_costs

__all__ = ["relaxed_plan"]

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KML_WAVELENGTHS_PER_LINK)


def relaxed_plan(
    instance: Instance, planner: str = "relaxed", passes: int = 3, clock: Any = None
) -> Plan:
    """A feasible plan by capacity-aware rerouting; the exact solver's warm start.

    Requests are routed one at a time on a shortest path whose arc weights
    are the pair's expected cost (evaluator) with the reservation
    ``min(newsvendor, capacity left)`` (the best one for the pair alone, by
    convexity). Then, for ``passes`` rounds, each request is taken out and
    routed again the same way against the others; no step raises the total.
    Optimal when no capacity binds (docs/model.md, property 3). With a
    ``clock`` (a :class:`~qkdbench.utils.timing.Stopwatch`), no rerouting
    round starts after it has expired.

    A request with targets is first given the target of the cheapest
    assignment within the provider capacities (capacity-free path cost plus
    service cost, :func:`~qkdbench.planning.providers.assign_targets`); each
    rerouting then picks the cheapest target (path plus service cost) among
    those whose provider has room besides this request. The routes name
    their provider.

    Parameters
    ----------
    instance : Instance
    planner : str
        Name written into the plan.
    passes : int
        Most rerouting rounds after the first routing.
    clock : Stopwatch, optional
        No rerouting round starts after it has expired.

    Returns
    -------
    Plan
        Within every capacity; ``stats`` is ``{"status": "heuristic"}``.
    """
    pairs = _pairs(instance)
    ny, nz = (v.astype(float) for v in pairs.newsvendor())
    arcs = arc_table(instance)
    pt = provider_table(instance)
    tails, heads = arcs.tail, arcs.head
    free_y = arcs.W_qkd.astype(float).copy()
    free_z = arcs.W_kml.astype(float).copy()
    order = np.argsort(pairs.req, kind="stable")
    bounds = np.searchsorted(pairs.req[order], np.arange(instance.n_requests + 1))
    chosen: list[list[tuple[int, float, float]]] = [[] for _ in instance.requests]
    sink = np.zeros(instance.n_requests, dtype=np.int64)  # position in req.sinks
    load = np.zeros(len(pt.ids), dtype=np.int64)
    if pt.active:  # the first targets: cheapest assignment within the provider capacities
        cost = np.full(pt.node.size, np.inf)
        weight = pairs.least_cost()
        for f in range(instance.n_requests):
            if instance.requests[f].is_anycast:
                sel = order[bounds[f] : bounds[f + 1]]
                g = nx.DiGraph()
                g.add_edges_from(
                    (int(tails[pairs.arc[i]]), int(heads[pairs.arc[i]]), {"w": float(weight[i])})
                    for i in sel
                )
                dist = nx.single_source_dijkstra_path_length(
                    g, instance.node_index[instance.requests[f].source], weight="w"
                )
                cost[pt.ptr[f] : pt.ptr[f + 1]] = _sink_costs(instance, f, dist)
            else:
                cost[pt.ptr[f]] = 0.0
        sink = assign_targets(instance, cost)

    def route(f: int, allowed: list[int]) -> tuple[list[tuple[int, float, float]], int]:
        sel = order[bounds[f] : bounds[f + 1]]
        a = pairs.arc[sel]
        y = np.minimum(ny[sel], free_y[a])
        z = np.minimum(nz[sel], free_z[a])
        cy, cz = pair_costs(instance, pairs.req[sel], a, y, z)
        g = nx.DiGraph()
        g.add_edges_from(
            (int(tails[a[k]]), int(heads[a[k]]), {"w": float(cy[k] + cz[k]), "k": k})
            for k in range(sel.size)
        )
        r = instance.requests[f]
        dist, paths = nx.single_source_dijkstra(g, instance.node_index[r.source], weight="w")
        total = _sink_costs(instance, f, dist)
        k_best = min(allowed, key=lambda k: (total[k], k))
        path = paths[int(pt.node[pt.ptr[f] + k_best])]
        out = []
        for u, v in itertools.pairwise(path):
            k = g.edges[u, v]["k"]
            out.append((int(a[k]), float(y[k]), float(z[k])))
        return out, k_best

    def take(f: int, sign: int) -> None:
        for a, y, z in chosen[f]:
            free_y[a] -= sign * y
            free_z[a] -= sign * z
        prov = int(pt.provider[pt.ptr[f] + sink[f]])
        if prov >= 0:
            load[prov] += sign

    def room(f: int) -> list[int]:
        """Targets of ``f`` whose provider can take it (``f`` taken out)."""
        n = pt.ptr[f + 1] - pt.ptr[f]
        provs = pt.provider[pt.ptr[f] : pt.ptr[f + 1]]
        return [
            k
            for k in range(n)
            if provs[k] < 0 or pt.capacity[provs[k]] < 0 or load[provs[k]] < pt.capacity[provs[k]]
        ]

    for f in range(instance.n_requests):
        chosen[f], sink[f] = route(f, [int(sink[f])])
        take(f, 1)
    for _ in range(passes):
        if clock is not None and clock.expired():  # the first routing is already a plan
            break
        for f in range(instance.n_requests):
            take(f, -1)
            chosen[f], sink[f] = route(f, room(f))
            take(f, 1)
    # with the routes fixed, share each arc's capacity optimally (separable convex)
    where = {(int(f), int(a)): i for i, (f, a) in enumerate(zip(pairs.req, pairs.arc, strict=True))}
    entries = [
        (f, k, a) for f in range(instance.n_requests) for k, (a, _, _) in enumerate(chosen[f])
    ]
    pair_ids = np.asarray([where[(f, a)] for f, _, a in entries], dtype=np.int64)
    groups = np.asarray([a for _, _, a in entries], dtype=np.int64)
    res_y = [[0] * len(c) for c in chosen]
    res_z = [[0] * len(c) for c in chosen]
    for values, width, cap, out in (
        (pairs.qkd, _WY, arcs.W_qkd, res_y),
        (pairs.kml, _WZ, arcs.W_kml, res_z),
    ):
        ptr, length, ben = ladder_segments(pairs.ptr, width * pairs.levels, values)
        shares = waterfill(ptr, length, ben, pair_ids, groups, cap.astype(float))
        for (f, k, _), t in zip(entries, shares, strict=True):
            out[f][k] = int(round(t))
    routes = []
    for f, r in enumerate(instance.requests):
        path = [r.source] + [instance.nodes[heads[a]] for a, _, _ in chosen[f]]
        routes.append(
            Route(
                r.id, tuple(path), tuple(res_y[f]), tuple(res_z[f]), r.sinks[int(sink[f])].provider
            )
        )
    return Plan(instance.name, planner, tuple(routes), {"status": "heuristic"})
