"""Fixed-charge bookkeeping of the greedy's state (docs/model.md).

The state counts the routes using each link and touching each node. The cost
of inserting a request includes the fixed charges of the links and nodes its
route would open (not yet used by any route, :func:`opening_cost`); removing the
last user of a link or node frees its charge (:func:`count_users`). So insertion
sees what is already paid for, and the improvement passes consolidate routes
onto paid links by themselves, helped by :func:`network_candidate` (a route over
the network built so far). The link-closing move is in
:mod:`~qkdbench.planning.local_search`.

Each function takes a :class:`~qkdbench.planning.greedy.GreedyState`; the
state's methods call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .shortest_paths import adjacency, first_found_path

if TYPE_CHECKING:
    from .greedy import GreedyState

__all__ = ["opening_cost", "count_users", "network_candidate"]


def opening_cost(state: GreedyState, arcs: np.ndarray) -> float:
    """Fixed charges that a route over ``arcs`` would open in the current state.

    Parameters
    ----------
    state : GreedyState
    arcs : numpy.ndarray
        Arc ids of the route.

    Returns
    -------
    float
        The charges of its links and nodes no route uses now (0 without fixed charges).
    """
    if not state.fixed:
        return 0.0
    links = arcs // 2
    cost = float(state.link_charge[links[state.link_users[links] == 0]].sum())
    nodes = np.unique(np.concatenate([state.tail[arcs], state.head[arcs]]))
    return cost + float(state.node_charge[nodes[state.node_users[nodes] == 0]].sum())


def count_users(state: GreedyState, arcs: np.ndarray, step: int) -> None:
    """Add ``step`` to the users of the route's links and nodes (fixed-charge bookkeeping).

    Parameters
    ----------
    state : GreedyState
        Its ``link_users`` and ``node_users`` change in place.
    arcs : numpy.ndarray
        Arc ids of the route (at least one).
    step : int
        ``1`` when the route is added, ``-1`` when it is taken off.
    """
    state.link_users[arcs // 2] += step
    state.node_users[state.tail[arcs]] += step
    state.node_users[state.head[arcs[-1]]] += step


def network_candidate(state: GreedyState, f: int) -> int:
    """Add request ``f``'s cheapest route given the links and nodes already paid.

    A shortest path under the arc weights "stand-alone expected cost of the
    pair, plus the link's fixed charge if no route uses it yet, plus the head
    node's charge if none touches it": a route that rides on the network
    built so far, which the precomputed candidates may lack. It joins ``f``'s
    candidates (if new); its position is returned. The search is the compiled
    :func:`~qkdbench.planning.shortest_paths.first_found_path` over the
    out-arcs in id order, which finds the path networkx's Dijkstra finds on the
    graph of the arcs added in id order (links join distinct node pairs).

    Parameters
    ----------
    state : GreedyState
        Its candidates gain the route (the state's ``candidates`` is replaced).
    f : int
        The request, not routed now.

    Returns
    -------
    int
        Position of the route among ``f``'s candidates.
    """
    inst = state.instance
    req = inst.requests[f]
    links = np.arange(state.n_arcs) // 2
    head = state.head
    # the arc weights (same operations, so the same floats, as one arc at a time)
    weight = (
        state.candidates.standalone[f]
        + state.link_charge[links] * (state.link_users == 0)[links]
        + state.node_charge[head] * (state.node_users == 0)[head]
    ).astype(np.float64, copy=False)
    out_ptr, out_arc, arc_head, _ = adjacency(inst)
    idx = inst.node_index
    best: tuple[float, int] | None = None
    for t, sink in enumerate(req.sinks):  # one network route per target
        cost, nodes = first_found_path(
            out_ptr, out_arc, arc_head, weight, idx[req.source], idx[sink.node]
        )
        if nodes.size == 0:
            continue
        path = tuple(inst.nodes[n] for n in nodes.tolist())
        have = state.candidates.index_of(f, path, t if req.is_anycast else None)
        if have is None:
            arcs = np.asarray(inst.path_arcs(path), dtype=np.int64)
            state.candidates = state.candidates.extended(f, path, arcs, t)
            have = len(state.candidates.paths[f]) - 1
        cost = float(cost) + float(sink.service_cost)
        if best is None or cost < best[0]:
            best = (cost, have)
    assert best is not None, "validation: every target is reachable"
    return best[1]
