"""Shortest paths for many sources and weightings at once: the routing kernels planners share.

A *job* is one shortest-path tree: a source node and a row of arc weights.
:func:`shortest_path_trees` runs a compiled Dijkstra per job (binary heap,
deterministic ties), :func:`trace_paths` reads each request's path out of its
job's tree, and :func:`all_pairs_distances` gives the distances between all
nodes per weight row (Floyd-Warshall, vectorised). The arcs are those of
:func:`~qkdbench.evaluation.pricing.arc_table`, in CSR form by tail
(:func:`adjacency`). Weights must be non-negative. The Lagrangian dual of the
exact package (:mod:`qkdbench.exact.dual`) prices every request's route this
way; the k-shortest-path candidates are in :mod:`qkdbench.planning.paths`.
:func:`first_found_path` is one source-target Dijkstra with networkx's ties
(the greedy's network route); :func:`first_found_path_py` is its plain-Python
twin.

Examples
--------
>>> import numpy as np
>>> n, tail, head = 3, np.array([0, 1, 0]), np.array([1, 2, 2])
>>> out_ptr, out_arc = np.array([0, 2, 3, 3]), np.array([0, 2, 1])
>>> weight = np.array([[1.0, 1.0, 5.0]])
>>> pred, dist = shortest_path_trees(
...     n, out_ptr, out_arc, head, weight, np.array([0]), np.array([0])
... )
>>> dist[0].tolist(), pred[0].tolist()
([0.0, 1.0, 2.0], [-1, 0, 1])
>>> ptr, arcs, bad = trace_paths(pred, tail, np.array([0]), np.array([0]), np.array([2]))
>>> ptr.tolist(), arcs.tolist(), bad
([0, 2], [0, 1], -1)
>>> all_pairs_distances(n, tail, head, weight)[0, 0].tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..evaluation.pricing import arc_table
from ..model import Instance

__all__ = [
    "adjacency",
    "shortest_path_trees",
    "trace_paths",
    "all_pairs_distances",
    "first_found_path",
    "first_found_path_py",
]


def adjacency(instance: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arcs of ``instance`` as out-lists: the arrays the kernels below take.

    Computed once per instance and shared with the k-shortest-path search of
    :mod:`qkdbench.planning.paths`; treat the arrays as read-only.

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    out_ptr : ndarray (N + 1,) int64
        Node ``u``'s out-arcs are ``out_arc[out_ptr[u]:out_ptr[u + 1]]``.
    out_arc : ndarray (A,) int64
        Arc ids sorted by tail (stable: by arc id within a tail).
    head, tail : ndarray (A,) int64
        Head and tail node position of every arc id.
    """

    def make(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        arcs = arc_table(inst)
        n = len(inst.nodes)
        order = np.argsort(arcs.tail, kind="stable").astype(np.int64)
        ptr = np.zeros(n + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(np.bincount(arcs.tail, minlength=n))
        return ptr, order, arcs.head.astype(np.int64), arcs.tail.astype(np.int64)

    return instance.derived("planning.paths.adjacency", make)


@njit(cache=True)
def shortest_path_trees(
    n_nodes: int,
    out_ptr: NDArray[np.int64],
    out_arc: NDArray[np.int64],
    head: NDArray[np.int64],
    weight: NDArray[np.float64],
    job_row: NDArray[np.int64],
    job_source: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Dijkstra from ``job_source[j]`` under arc weights ``weight[job_row[j]]``, per job ``j``.

    Binary heap with lazy deletion; ties pop the smaller node id first and a
    label changes only on a strict improvement, so the trees are deterministic.

    Parameters
    ----------
    n_nodes : int
    out_ptr, out_arc : ndarray of int64
        Out-arcs in CSR form (:func:`adjacency`).
    head : ndarray (A,) int64
        Head node of every arc.
    weight : ndarray (rows, A) float64
        Non-negative arc weights, one row per weighting.
    job_row, job_source : ndarray (jobs,) int64
        Weight row and source node of each job.

    Returns
    -------
    pred : ndarray (jobs, N) int64
        Predecessor arc of every node per job (-1: source or unreached).
    dists : ndarray (jobs, N) float64
        Distances from the job's source (``inf``: unreached).
    """
    n_jobs = job_source.size
    n_arcs = head.size
    pred = np.full((n_jobs, n_nodes), -1, dtype=np.int64)
    dists = np.full((n_jobs, n_nodes), np.inf)
    dist = np.empty(n_nodes)
    done = np.zeros(n_nodes, dtype=np.bool_)
    hk = np.empty(n_arcs + 1)
    hn = np.empty(n_arcs + 1, dtype=np.int64)
    for j in range(n_jobs):
        w = weight[job_row[j]]
        dist[:] = np.inf
        done[:] = False
        src = job_source[j]
        dist[src] = 0.0
        size = 1
        hk[0] = 0.0
        hn[0] = src
        while size > 0:
            key = hk[0]
            u = hn[0]
            size -= 1
            if size > 0:  # move the last entry to the root and sift it down
                lk = hk[size]
                ln = hn[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and (
                        hk[c + 1] < hk[c] or (hk[c + 1] == hk[c] and hn[c + 1] < hn[c])
                    ):
                        c += 1
                    if hk[c] < lk or (hk[c] == lk and hn[c] < ln):
                        hk[i] = hk[c]
                        hn[i] = hn[c]
                        i = c
                    else:
                        break
                hk[i] = lk
                hn[i] = ln
            if done[u] or key > dist[u]:
                continue
            done[u] = True
            for k in range(out_ptr[u], out_ptr[u + 1]):
                a = out_arc[k]
                v = head[a]
                if done[v]:
                    continue
                nd = key + w[a]
                if nd < dist[v]:
                    dist[v] = nd
                    pred[j, v] = a
                    i = size  # push (nd, v) and sift it up
                    size += 1
                    while i > 0:
                        p = (i - 1) >> 1
                        if hk[p] > nd or (hk[p] == nd and hn[p] > v):
                            hk[i] = hk[p]
                            hn[i] = hn[p]
                            i = p
                        else:
                            break
                    hk[i] = nd
                    hn[i] = v
        dists[j, :] = dist
    return pred, dists


@njit(cache=True)
def trace_paths(
    pred: NDArray[np.int64],
    tail: NDArray[np.int64],
    req_job: NDArray[np.int64],
    req_source: NDArray[np.int64],
    req_target: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """The arcs of each request's path, source to target, read from its job's tree.

    Parameters
    ----------
    pred : ndarray (jobs, N) int64
        Predecessor arcs (:func:`shortest_path_trees`).
    tail : ndarray (A,) int64
        Tail node of every arc.
    req_job, req_source, req_target : ndarray (requests,) int64
        Each request's job (the tree rooted at its source) and its end nodes.

    Returns
    -------
    ptr : ndarray (requests + 1,) int64
        Request ``f``'s arcs are ``arcs[ptr[f]:ptr[f + 1]]``.
    arcs : ndarray int64
        The path arcs, source to target, request by request.
    bad : int
        ``-1``, or the first request whose target its tree does not reach
        (then ``arcs`` is empty and ``ptr`` incomplete).
    """
    n_req = req_job.size
    ptr = np.zeros(n_req + 1, dtype=np.int64)
    for f in range(n_req):
        n = 0
        v = req_target[f]
        while v != req_source[f]:
            a = pred[req_job[f], v]
            if a < 0:
                return ptr, np.empty(0, dtype=np.int64), f
            v = tail[a]
            n += 1
        ptr[f + 1] = ptr[f] + n
    arcs = np.empty(ptr[n_req], dtype=np.int64)
    for f in range(n_req):
        k = ptr[f + 1]
        v = req_target[f]
        while v != req_source[f]:
            a = pred[req_job[f], v]
            k -= 1
            arcs[k] = a
            v = tail[a]
    return ptr, arcs, -1


def all_pairs_distances(
    n_nodes: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Shortest-path distances between all nodes, per weight row (Floyd-Warshall).

    Parameters
    ----------
    n_nodes : int
    tail, head : ndarray (A,) of int
        End nodes of every arc.
    weight : ndarray (G, A) float64
        Arc weights, one row per weighting (parallel arcs: the lightest counts).

    Returns
    -------
    ndarray (G, N, N) float64
        ``dist[g, u, v]``: distance from ``u`` to ``v`` under row ``g``
        (``inf``: unreachable, ``0`` on the diagonal).
    """
    G = weight.shape[0]
    dist = np.full((G, n_nodes, n_nodes), np.inf)
    for g in range(G):
        np.minimum.at(dist[g], (tail, head), weight[g])
    idx = np.arange(n_nodes)
    dist[:, idx, idx] = 0.0
    for k in range(n_nodes):
        np.minimum(dist, dist[:, :, k, None] + dist[:, None, k, :], out=dist)
    return dist


@njit(cache=True)
def first_found_path(
    out_ptr: NDArray[np.int64],
    out_arc: NDArray[np.int64],
    head: NDArray[np.int64],
    weight: NDArray[np.float64],
    source: int,
    target: int,
) -> tuple[float, NDArray[np.int64]]:
    """Dijkstra from ``source`` to ``target``, ties as networkx's ``single_source_dijkstra``.

    The node popped next is the one with the smallest label, among equal labels
    the one labelled first (networkx's heap of ``(label, push count, node)``);
    a label and its path change only on a strict improvement, the out-arcs of
    a node are relaxed in ``out_arc`` order, and the search stops when
    ``target`` is popped. On a ``DiGraph`` whose edges were added in the order
    of ``out_arc`` within each tail, this gives networkx's distance and path.

    Parameters
    ----------
    out_ptr, out_arc : ndarray of int64
        Out-arcs in CSR form: node ``u``'s are ``out_arc[out_ptr[u]:out_ptr[u + 1]]``.
    head : ndarray of int64
        Head node of every arc.
    weight : ndarray of float64
        Non-negative weight of every arc.
    source, target : int
        End nodes.

    Returns
    -------
    cost : float
        The distance (``inf`` if ``target`` is not reached).
    nodes : ndarray of int64
        The path's nodes, ``source`` first (empty if not reached).
    """
    n = out_ptr.size - 1
    label = np.full(n, np.inf)
    stamp = np.zeros(n, dtype=np.int64)  # push count of the label
    pred = np.full(n, -1, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    done = np.zeros(n, dtype=np.bool_)
    label[source] = 0.0
    seen[source] = True
    pushes = 1
    while True:
        u = -1
        for v in range(n):  # smallest (label, push count) among the labelled
            if (seen[v] and not done[v]) and (
                u < 0 or label[v] < label[u] or (label[v] == label[u] and stamp[v] < stamp[u])
            ):
                u = v
        if u < 0:
            return np.inf, np.empty(0, dtype=np.int64)
        done[u] = True
        if u == target:
            break
        d = label[u]
        for k in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[k]
            v = head[a]
            if done[v]:
                continue
            nd = d + weight[a]
            if not seen[v] or nd < label[v]:
                seen[v] = True
                label[v] = nd
                stamp[v] = pushes
                pushes += 1
                pred[v] = u
    m = 1
    v = target
    while v != source:
        v = pred[v]
        m += 1
    nodes = np.empty(m, dtype=np.int64)
    v = target
    for i in range(m - 1, -1, -1):
        nodes[i] = v
        v = pred[v]
    return label[target], nodes


def first_found_path_py(
    out_ptr: NDArray[np.int64],
    out_arc: NDArray[np.int64],
    head: NDArray[np.int64],
    weight: NDArray[np.float64],
    source: int,
    target: int,
) -> tuple[float, list[int]]:
    """Plain-Python twin of :func:`first_found_path`: networkx's heap, step by step.

    For tests: a heap of ``(label, push count, node)`` with lazy deletion and
    the path as a list per node, as ``networkx``'s ``_dijkstra_multisource``.

    Parameters
    ----------
    out_ptr, out_arc, head, weight, source, target :
        As :func:`first_found_path`.

    Returns
    -------
    cost : float
        The distance (``inf`` if ``target`` is not reached).
    nodes : list of int
        The path's nodes, ``source`` first (empty if not reached).
    """
    import heapq
    from itertools import count

    dist: dict[int, float] = {}
    seen: dict[int, float] = {source: 0.0}
    paths: dict[int, list[int]] = {source: [source]}
    pushes = count()
    fringe: list[tuple[float, int, int]] = [(0.0, next(pushes), source)]
    while fringe:
        d, _, u = heapq.heappop(fringe)
        if u in dist:
            continue
        dist[u] = d
        if u == target:
            return d, paths[u]
        for k in range(int(out_ptr[u]), int(out_ptr[u + 1])):
            a = int(out_arc[k])
            v = int(head[a])
            if v in dist:
                continue
            nd = d + float(weight[a])
            if v not in seen or nd < seen[v]:
                seen[v] = nd
                heapq.heappush(fringe, (nd, next(pushes), v))
                paths[v] = paths[u] + [v]
    return float("inf"), []
