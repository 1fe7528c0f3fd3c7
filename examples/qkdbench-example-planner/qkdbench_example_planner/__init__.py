"""An example qkdbench plug-in: fewest-hop routes, newsvendor reservations, first fit.

Only public qkdbench API is used: the model's :class:`~qkdbench.model.Plan`
and :class:`~qkdbench.model.Route`, and the evaluator's
:func:`~qkdbench.evaluation.newsvendor_reservations` (costs always come from
the evaluator).
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

from qkdbench.evaluation import arc_table, newsvendor_reservations
from qkdbench.model import Instance, Plan, Route

__all__ = ["MinHopPlanner"]


class MinHopPlanner:
    """Fewest-hop routes (ties: shortest km), newsvendor reservations clipped first-fit.

    Parameters
    ----------
    order : {"instance", "reverse"}
        Order in which requests take reservation capacity.
    """

    name = "example-minhop"

    def __init__(self, order: str = "instance"):
        self.order = order

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Plan ``instance`` (deterministic: ``seed`` and ``time_limit`` are not needed)."""
        if self.order not in ("instance", "reverse"):
            raise ValueError(f"order must be 'instance' or 'reverse', got {self.order!r}")
        start = time.perf_counter()
        arcs = arc_table(instance)
        free_y = arcs.W_qkd.astype(np.int64).copy()
        free_z = arcs.W_kml.astype(np.int64).copy()
        big = 1.0 + float(arcs.length_km.sum())  # one hop outweighs any length

        def weight(u, v, d):
            return big + d["length_km"]

        index = list(range(instance.n_requests))
        if self.order == "reverse":
            index.reverse()
        routes: dict[int, Route] = {}
        for f in index:
            req = instance.requests[f]
            path = nx.dijkstra_path(instance.graph, req.source, req.target, weight=weight)
            ids = np.asarray(instance.path_arcs(path), dtype=np.int64)
            want_y, want_z = newsvendor_reservations(instance, np.full(ids.size, f), ids)
            y = np.minimum(want_y, free_y[ids])
            z = np.minimum(want_z, free_z[ids])
            free_y[ids] -= y
            free_z[ids] -= z
            routes[f] = Route(
                req.id, tuple(path), tuple(int(v) for v in y), tuple(int(v) for v in z)
            )
        return Plan(
            instance.name,
            self.name,
            tuple(routes[f] for f in range(instance.n_requests)),
            {"runtime_s": time.perf_counter() - start, "status": "heuristic"},
        )
