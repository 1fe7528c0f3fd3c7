"""Candidate routes: the k shortest simple paths of a request under per-arc weights.

The sample-average greedy and the GA choose each request's route among the
same candidates: its ``k`` shortest simple paths (Yen's algorithm, with a
compiled Dijkstra for the spur paths; ties between equally long paths go to
the smaller sequence of node positions) under the weight "expected cost of
this request alone on this arc with its newsvendor reservations" (docs/model.md,
property 3), read from the evaluator with :func:`pair_costs`. With loose
capacity the first candidate is therefore the request's optimal route. The
shortest path by fiber length (CO-QBN's route) is appended when it is not
among them, so that every CO-QBN plan can be expressed with the candidates.

Anycast requests: the candidates of a request with targets are
the union over its targets (:attr:`~qkdbench.model.Request.sinks`) of the
``k`` cheapest paths to each target's node (plus the shortest by length to
it), each carrying its target position (:attr:`Candidates.target`) and
ordered by path weight plus the target's service cost (stable: ties keep the
target order). So every target is on offer, and the first candidate is the
request's cheapest stand-alone choice, service included.

Random link key rates need nothing here: the weights are the
evaluator's expected costs per (request, arc), which already average over
the link states.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> inst = make_instance("nsfnet", 2, 4, seed=1)
>>> cands = candidate_paths(inst, k=3)
>>> len(cands.paths[0]) >= 3, cands.paths[0][0][0] == inst.requests[0].source
(True, True)
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..evaluation import newsvendor_reservations, pair_costs
from ..evaluation.pricing import arc_table
from ..exceptions import InputError
from ..model import Instance
from .shortest_paths import adjacency as _adjacency
from .shortest_paths import first_found_path

__all__ = [
    "shortest_path",
    "Candidates",
    "k_shortest_paths",
    "standalone_arc_costs",
    "candidate_paths",
]


def shortest_path(instance: Instance, source: Any, target: Any) -> list:
    """Shortest path by fiber length (networkx Dijkstra): CO-QBN's route.

    Parameters
    ----------
    instance : Instance
        Its :attr:`~qkdbench.model.Instance.graph` is searched.
    source, target : node ids
        Ends of the path.

    Returns
    -------
    list
        Node ids from ``source`` to ``target``.

    Raises
    ------
    networkx.NetworkXNoPath
        If ``target`` cannot be reached from ``source``.
    """
    return nx.dijkstra_path(instance.graph, source, target, weight="length_km")


def _by_length(instance: Instance, source: Any, target: Any) -> tuple:
    """:func:`shortest_path` (the same path: networkx's ties), compiled, memoised per instance."""
    memo = instance.derived("planning.paths.by_length", lambda inst: {})
    key = (source, target)
    if key not in memo:
        out_ptr, out_arc, head, _ = _adjacency(instance)
        idx = instance.node_index
        _, nodes = first_found_path(
            out_ptr, out_arc, head, arc_table(instance).length_km, idx[source], idx[target]
        )
        if nodes.size == 0:
            raise nx.NetworkXNoPath(f"no path from {source!r} to {target!r}")
        memo[key] = tuple(instance.nodes[v] for v in nodes.tolist())
    return memo[key]


def k_shortest_paths(
    instance: Instance, source: Any, target: Any, k: int, weight: np.ndarray | None = None
) -> list[tuple]:
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
    ValueError
        If ``k < 1``.
    networkx.NodeNotFound
        If ``source`` or ``target`` is not a node of the instance.
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    for node in (source, target):
        if node not in instance.node_index:
            raise nx.NodeNotFound(f"node {node!r} is not in the network")
    arcs = arc_table(instance)
    wt = (arcs.length_km if weight is None else np.asarray(weight)).astype(float)
    s, t = instance.node_index[source], instance.node_index[target]
    found = _yen(_adjacency(instance), wt, s, t, k)
    if not found:
        raise nx.NetworkXNoPath(f"no path from {source!r} to {target!r}")
    return [tuple(instance.nodes[v] for v in p) for p in found]


@njit(cache=True)
def _spur_path(
    out_ptr: NDArray[np.int64],
    out_arc: NDArray[np.int64],
    head: NDArray[np.int64],
    tail: NDArray[np.int64],
    weight: NDArray[np.float64],
    source: int,
    target: int,
    banned_node: NDArray[np.bool_],
    banned_arc: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """Dijkstra (O(N^2), ties to the smaller node id) avoiding banned nodes and arcs.

    Returns the arcs of the path, source to target (empty if none).
    """
    n = out_ptr.size - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    dist[source] = 0.0
    while True:
        u = -1
        best = np.inf
        for v in range(n):
            if not done[v] and dist[v] < best:
                best = dist[v]
                u = v
        if u < 0 or u == target:
            break
        done[u] = True
        for k in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[k]
            v = head[a]
            if banned_arc[a] or banned_node[v] or done[v]:
                continue
            nd = best + weight[a]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = a
    if not np.isfinite(dist[target]):
        return np.empty(0, dtype=np.int64)
    m = 0
    v = target
    while v != source:
        m += 1
        v = tail[pred[v]]
    out = np.empty(m, dtype=np.int64)
    v = target
    for i in range(m - 1, -1, -1):
        out[i] = pred[v]
        v = tail[pred[v]]
    return out


def _yen(adj: tuple, weight: np.ndarray, s: int, t: int, k: int) -> list[tuple[int, ...]]:
    """Yen's k shortest simple paths (node-index tuples), cheapest first, ties by path."""
    out_ptr, out_arc, head, tail = adj
    n, n_arcs = out_ptr.size - 1, head.size
    no_node = np.zeros(n, dtype=np.bool_)
    no_arc = np.zeros(n_arcs, dtype=np.bool_)
    first = _spur_path(out_ptr, out_arc, head, tail, weight, s, t, no_node, no_arc)
    if first.size == 0 and s != t:
        return []

    def nodes_of(arc_path: list[int]) -> tuple[int, ...]:
        return (s, *[int(head[a]) for a in arc_path])

    def cost_of(arc_path: list[int]) -> float:
        return float(sum(float(weight[a]) for a in arc_path))

    found: list[list[int]] = [[int(a) for a in first]]
    seen = {nodes_of(found[0])}
    heap: list[tuple[float, tuple[int, ...], list[int]]] = []
    while len(found) < k:
        prev = found[-1]
        prev_nodes = nodes_of(prev)
        for i in range(len(prev)):
            root = prev[:i]
            spur = prev_nodes[i]
            banned_arc = no_arc.copy()
            for p in found:
                if p[:i] == root and len(p) > i:
                    banned_arc[p[i]] = True
            banned_node = no_node.copy()
            banned_node[list(prev_nodes[:i])] = True
            rest = _spur_path(
                out_ptr, out_arc, head, tail, weight, spur, t, banned_node, banned_arc
            )
            if rest.size == 0:
                continue
            path = root + [int(a) for a in rest]
            key = nodes_of(path)
            if key in seen:
                continue
            seen.add(key)
            heapq.heappush(heap, (cost_of(path), key, path))
        if not heap:
            break
        found.append(heapq.heappop(heap)[2])
    return [nodes_of(p) for p in found]


def standalone_arc_costs(instance: Instance) -> np.ndarray:
    """Expected cost of each request alone on each arc, newsvendor reservations.

    Parameters
    ----------
    instance : Instance
        The instance whose evaluator prices the pairs.

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
    target : tuple of tuple of int, optional
        ``target[f][i]``: position in ``requests[f].sinks`` of the target the
        ``i``-th candidate ends at. ``None``: every candidate ends at the
        request's first sink (its only one for an ordinary request).
    """

    paths: tuple[tuple[tuple, ...], ...]
    arcs: tuple[tuple[np.ndarray, ...], ...]
    standalone: np.ndarray
    target: tuple[tuple[int, ...], ...] | None = None

    def target_of(self, f: int, i: int) -> int:
        """Target position (in ``requests[f].sinks``) of request ``f``'s ``i``-th candidate.

        Parameters
        ----------
        f : int
            Request position.
        i : int
            Candidate position.

        Returns
        -------
        int
        """
        return 0 if self.target is None else int(self.target[f][i])

    def targets_of(self, f: int) -> tuple[int, ...]:
        """Target positions of all of request ``f``'s candidates.

        Parameters
        ----------
        f : int
            Request position.

        Returns
        -------
        tuple of int
            One per candidate, in candidate order.
        """
        if self.target is None:
            return (0,) * len(self.paths[f])
        return tuple(self.target[f])

    def index_of(self, f: int, path: Sequence, target: int | None = None) -> int | None:
        """Position of ``path`` (ending at target position ``target``, if given) among
        request ``f``'s candidates, or ``None``.

        Parameters
        ----------
        f : int
            Request position.
        path : sequence of node ids
            The node path to look for.
        target : int, optional
            Target position the candidate must end at; any if ``None``.

        Returns
        -------
        int or None
            The first matching candidate.
        """
        path = tuple(path)
        for i, p in enumerate(self.paths[f]):
            if p == path and (target is None or self.target_of(f, i) == target):
                return i
        return None

    def extended(self, f: int, path: tuple, arcs: np.ndarray, target: int = 0) -> Candidates:
        """A copy with one more candidate for request ``f`` (indices stay valid).

        Parameters
        ----------
        f : int
            Request position.
        path : tuple
            Node path of the new candidate.
        arcs : ndarray of int64
            Its arc ids, in path order.
        target : int, optional
            Position of its target in ``requests[f].sinks`` (default 0).

        Returns
        -------
        Candidates
            The new candidate is last among ``f``'s.
        """
        tg = self.target
        if tg is None and target != 0:
            tg = tuple((0,) * len(p) for p in self.paths)
        if tg is not None:
            tg = tg[:f] + (tuple(tg[f]) + (int(target),),) + tg[f + 1 :]
        return Candidates(
            self.paths[:f] + (self.paths[f] + (tuple(path),),) + self.paths[f + 1 :],
            self.arcs[:f] + (self.arcs[f] + (arcs,),) + self.arcs[f + 1 :],
            self.standalone,
            tg,
        )


def candidate_paths(
    instance: Instance, k: int, weights: np.ndarray | None = None, clock: Any = None
) -> Candidates:
    """The ``k`` cheapest stand-alone routes of every request, plus its shortest by length.

    For a request with targets: the same to each of its targets, merged
    cheapest first with the target's service cost added (see the module notes).
    Requests with the same source, target node and weights share one path search.

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

    Returns
    -------
    Candidates
        ``target`` set only when some request is anycast.

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
    targets: list[tuple[int, ...]] = []
    cache: dict[tuple, tuple[tuple, ...]] = {}
    for f, req in enumerate(instance.requests):
        sinks = req.sinks
        found_all: list[tuple[float, int, tuple]] = []  # (cost, target position, path)
        for t, sink in enumerate(sinks):
            key = (req.source, sink.node, weights[f].tobytes())
            if key not in cache:
                try:
                    k_here = 1 if clock is not None and clock.expired() else k
                    found = k_shortest_paths(instance, req.source, sink.node, k_here, weights[f])
                    shortest = _by_length(instance, req.source, sink.node)
                except nx.NetworkXNoPath:
                    raise nx.NetworkXNoPath(
                        f"request {req.id!r}: no path from {req.source!r} to {sink.node!r}"
                    ) from None
                if shortest not in found:
                    found.append(shortest)
                cache[key] = tuple(found)
            for p in cache[key]:
                ids = instance.path_arcs(p)
                cost = float(weights[f][ids].sum()) + float(sink.service_cost)
                found_all.append((cost, t, p))
        if len(sinks) > 1:  # anycast: cheapest first, service included (stable on ties)
            found_all.sort(key=lambda c: c[0])
        paths.append(tuple(p for _, _, p in found_all))
        targets.append(tuple(t for _, t, _ in found_all))
        arcs.append(
            tuple(np.asarray(instance.path_arcs(p), dtype=np.int64) for _, _, p in found_all)
        )
    anycast = any(req.is_anycast for req in instance.requests)
    return Candidates(tuple(paths), tuple(arcs), weights, tuple(targets) if anycast else None)
