"""Candidate routes: the k shortest simple paths of a request under per-arc weights.

The sample-average greedy and the GA choose each request's route among the
same candidates: its ``k`` shortest simple paths (Yen's algorithm, through
:func:`networkx.shortest_simple_paths`) under the weight "expected cost of
this request alone on this arc with its newsvendor reservations" (docs/model.md,
property 3), read from the evaluator with :func:`pair_costs`. With loose
capacity the first candidate is therefore the request's optimal route. The
shortest path by fiber length (CO-QBN's route) is appended when it is not
among them, so that every CO-QBN plan can be expressed with the candidates.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> inst = make_instance("nsfnet", 2, 4, seed=1)
>>> cands = candidate_paths(inst, k=3)
>>> len(cands.paths[0]) >= 3, cands.paths[0][0][0] == inst.requests[0].source
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import networkx as nx
import numpy as np

from ..evaluation import newsvendor_reservations, pair_costs
from ..evaluation.pricing import arc_table
from ..model import Instance

__all__ = ["shortest_path", "Candidates", "k_shortest_paths", "standalone_arc_costs",
           "candidate_paths"]


def shortest_path(instance: Instance, source: Any, target: Any) -> list:
    """Shortest path by fiber length (networkx Dijkstra): CO-QBN's route."""
    return nx.dijkstra_path(instance.graph, source, target, weight="length_km")


def k_shortest_paths(instance: Instance, source: Any, target: Any, k: int,
                     weight: np.ndarray | None = None) -> list[tuple]:
    """The ``k`` shortest simple paths from ``source`` to ``target``.

    Parameters
    ----------
    instance : Instance
        Its :attr:`~qkdbench.model.Instance.graph` is read, never modified.
    source, target : node ids
    k : int
        At most this many paths (fewer when fewer exist).
    weight : ndarray (A,), optional
        Weight per arc id (non-negative); default the fiber length.

    Returns
    -------
    list of tuple
        Node paths, shortest first; ties keep networkx's deterministic order.

    Raises
    ------
    networkx.NetworkXNoPath
        If ``target`` cannot be reached from ``source``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    g = instance.graph
    if weight is None:
        w: str | Callable = "length_km"
    else:
        wt = np.asarray(weight, dtype=float)

        def w(u: Any, v: Any, d: dict) -> float:
            return float(wt[d["arc"]])
    return [tuple(p) for p in islice(nx.shortest_simple_paths(g, source, target, weight=w), k)]


def standalone_arc_costs(instance: Instance) -> np.ndarray:
    """Expected cost of each request alone on each arc, newsvendor reservations.

    Returns
    -------
    ndarray (F, A)
        ``pair_costs`` (QKD part with the arc's route cost, plus KM part) at the
        reservations of :func:`newsvendor_reservations`; capacity aside.
    """
    F, A = instance.n_requests, arc_table(instance).n
    if F == 0 or A == 0:
        return np.zeros((F, A))
    req = np.repeat(np.arange(F), A)
    arc = np.tile(np.arange(A), F)
    y, z = newsvendor_reservations(instance, req, arc)
    cy, cz = pair_costs(instance, req, arc, y.astype(float), z.astype(float))
    return (cy + cz).reshape(F, A)


@dataclass(frozen=True)
class Candidates:
    """Candidate routes of every request.

    Attributes
    ----------
    paths : tuple of tuple of tuple
        ``paths[f][i]``: node path of request ``f``'s ``i``-th candidate.
    arcs : tuple of tuple of ndarray
        ``arcs[f][i]``: its arc ids, in path order.
    standalone : ndarray (F, A)
        The arc weights used (see :func:`standalone_arc_costs`).
    """

    paths: tuple[tuple[tuple, ...], ...]
    arcs: tuple[tuple[np.ndarray, ...], ...]
    standalone: np.ndarray

    def index_of(self, f: int, path: Sequence) -> int | None:
        """Position of ``path`` among request ``f``'s candidates, or ``None``."""
        try:
            return self.paths[f].index(tuple(path))
        except ValueError:
            return None


def candidate_paths(instance: Instance, k: int,
                    weights: np.ndarray | None = None, clock: Any = None) -> Candidates:
    """The ``k`` cheapest stand-alone routes of every request, plus its shortest by length.

    Requests with the same source, target and weights share one path search.

    Parameters
    ----------
    instance : Instance
    k : int
    weights : ndarray (F, A), optional
        Per-request arc weights; default :func:`standalone_arc_costs`.
    clock : Stopwatch, optional
        Once it has expired, the requests still without candidates get only
        their shortest path under their weights (and by length): Yen's
        algorithm is what costs time at scale, and a time-limited planner
        still needs a route for every request.

    Raises
    ------
    networkx.NetworkXNoPath
        If some request's target cannot be reached from its source (the
        message names the request).
    """
    if weights is None:
        weights = standalone_arc_costs(instance)
    weights = np.asarray(weights, dtype=float)
    paths: list[tuple[tuple, ...]] = []
    arcs: list[tuple[np.ndarray, ...]] = []
    cache: dict[tuple, tuple[tuple, ...]] = {}
    for f, req in enumerate(instance.requests):
        key = (req.source, req.target, weights[f].tobytes())
        if key not in cache:
            try:
                k_here = 1 if clock is not None and clock.expired() else k
                found = k_shortest_paths(instance, req.source, req.target, k_here, weights[f])
                shortest = tuple(nx.dijkstra_path(instance.graph, req.source, req.target,
                                                  weight="length_km"))
            except nx.NetworkXNoPath:
                raise nx.NetworkXNoPath(
                    f"request {req.id!r}: no path from {req.source!r} to {req.target!r}"
                ) from None
            if shortest not in found:
                found.append(shortest)
            cache[key] = tuple(found)
        paths.append(cache[key])
        arcs.append(tuple(np.asarray(instance.path_arcs(p), dtype=np.int64)
                          for p in cache[key]))
    return Candidates(tuple(paths), tuple(arcs), weights)
