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
state's methods call them. The compiled :func:`route_costs` prices all the
candidates of one request at once (their marginal costs on the arcs, the
charges they would open, their service costs) with the very floating-point
operations of pricing one candidate at a time with NumPy
(:func:`route_costs_py`, its plain-Python twin): the sums of charges are added
in NumPy's pairwise order (:func:`pairwise_sum`). :func:`cheapest_route`
does all of a request's choice in one call: which candidates may be taken,
their marginal costs on the arcs (as
:func:`~qkdbench.planning.marginals.pair_deltas`), their costs and the
cheapest (:func:`cheapest_route_py`, its twin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .marginals import pair_delta_one, pair_deltas_py
from .shortest_paths import adjacency, first_found_path

if TYPE_CHECKING:
    from .greedy import GreedyState

__all__ = [
    "opening_cost",
    "count_users",
    "network_candidate",
    "pairwise_sum",
    "route_costs",
    "route_costs_py",
    "cheapest_route",
    "cheapest_route_py",
    "NO_PROVIDER_FILTER",
]

#: ``provider`` of :func:`cheapest_route` when every provider's candidates count.
NO_PROVIDER_FILTER = -2


@njit(cache=True)
def _pairwise_block(x: NDArray[np.float64], lo: int, n: int) -> float:
    """NumPy's pairwise sum of at most 128 values (no split)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += x[i]
        return res
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    i = 8
    while i < n - (n % 8):
        j = lo + i
        r0 += x[j]
        r1 += x[j + 1]
        r2 += x[j + 2]
        r3 += x[j + 3]
        r4 += x[j + 4]
        r5 += x[j + 5]
        r6 += x[j + 6]
        r7 += x[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[lo + i]
        i += 1
    return res


@njit(cache=True)
def pairwise_sum(x: NDArray[np.float64], lo: int, n: int) -> float:
    """``x[lo:lo + n].sum()`` added in the order NumPy adds a contiguous float64 array.

    NumPy's pairwise summation: fewer than 8 values one by one; up to 128 in
    eight interleaved partial sums combined as a tree, then the rest one by
    one; more split in two halves (the first a multiple of 8 long), each
    summed so, then added. The halves are walked with a stack, not by
    recursion (cached compiled recursion is fragile).

    Parameters
    ----------
    x : ndarray of float64
    lo, n : int
        The slice: ``n`` values from position ``lo``.

    Returns
    -------
    float
        Bit for bit what ``np.sum`` gives for the slice.
    """
    if n <= 128:
        return _pairwise_block(x, lo, n)
    depth = 2
    m = n
    while m > 128:
        m //= 2
        depth += 1
    f_lo = np.empty(depth, dtype=np.int64)
    f_n = np.empty(depth, dtype=np.int64)
    f_stage = np.empty(depth, dtype=np.int64)
    f_left = np.empty(depth)
    f_lo[0], f_n[0], f_stage[0] = lo, n, 0
    sp = 1
    ret = 0.0
    while sp > 0:
        top = sp - 1
        m = f_n[top]
        if m <= 128:
            ret = _pairwise_block(x, f_lo[top], m)
            sp -= 1
            continue
        n2 = m // 2
        n2 -= n2 % 8
        if f_stage[top] == 0:  # sum the first half
            f_stage[top] = 1
            f_lo[sp], f_n[sp], f_stage[sp] = f_lo[top], n2, 0
            sp += 1
        elif f_stage[top] == 1:  # first half done: the second
            f_left[top] = ret
            f_stage[top] = 2
            f_lo[sp], f_n[sp], f_stage[sp] = f_lo[top] + n2, m - n2, 0
            sp += 1
        else:
            ret = f_left[top] + ret
            sp -= 1
    return ret


@njit(cache=True)
def route_costs(
    ptr: NDArray[np.int64],
    inv: NDArray[np.int64],
    delta: NDArray[np.float64],
    links: NDArray[np.int64],
    node_ptr: NDArray[np.int64],
    nodes: NDArray[np.int64],
    link_users: NDArray[np.int64],
    node_users: NDArray[np.int64],
    link_charge: NDArray[np.float64],
    node_charge: NDArray[np.float64],
    service: NDArray[np.float64],
    want: NDArray[np.bool_],
    fixed: bool,
) -> NDArray[np.float64]:
    """Cost each wanted route adds: arc deltas, charges it would open, service cost.

    Parameters
    ----------
    ptr : ndarray (R + 1,) int64
        Route ``r``'s arcs are positions ``ptr[r]:ptr[r + 1]`` of ``inv`` and ``links``.
    inv : ndarray int64
        Per route arc, the position of its marginal cost in ``delta``.
    delta : ndarray float64
        Marginal costs (:meth:`~qkdbench.planning.greedy.GreedyState.pair_delta`).
    links : ndarray int64
        Per route arc, its link.
    node_ptr, nodes : ndarray int64
        Route ``r``'s nodes, sorted, without repeats: ``nodes[node_ptr[r]:node_ptr[r + 1]]``.
    link_users, node_users : ndarray int64
        Routes using each link and node now (a charge opens where there are none).
    link_charge, node_charge : ndarray float64
        The fixed charges.
    service : ndarray (R,) float64
        Service cost of each route's target.
    want : ndarray (R,) bool
        The routes to price; the others cost ``inf``.
    fixed : bool
        Whether the instance has fixed charges (else none is added).

    Returns
    -------
    ndarray (R,) float64
        ``(sum of deltas + (link charges + node charges)) + service``, each sum in the
        order of :func:`route_costs_py`.
    """
    n_routes = ptr.size - 1
    out = np.full(n_routes, np.inf)
    longest = 0
    for r in range(n_routes):
        longest = max(longest, ptr[r + 1] - ptr[r], node_ptr[r + 1] - node_ptr[r])
    buf = np.empty(longest)
    for r in range(n_routes):
        if not want[r]:
            continue
        total = 0.0
        for k in range(ptr[r], ptr[r + 1]):
            total += delta[inv[k]]
        opening = 0.0
        if fixed:
            m = 0
            for k in range(ptr[r], ptr[r + 1]):
                ln = links[k]
                if link_users[ln] == 0:
                    buf[m] = link_charge[ln]
                    m += 1
            opening = pairwise_sum(buf, 0, m)
            m = 0
            for k in range(node_ptr[r], node_ptr[r + 1]):
                v = nodes[k]
                if node_users[v] == 0:
                    buf[m] = node_charge[v]
                    m += 1
            opening = opening + pairwise_sum(buf, 0, m)
        out[r] = (total + opening) + service[r]
    return out


def route_costs_py(
    ptr: NDArray[np.int64],
    inv: NDArray[np.int64],
    delta: NDArray[np.float64],
    links: NDArray[np.int64],
    node_ptr: NDArray[np.int64],
    nodes: NDArray[np.int64],
    link_users: NDArray[np.int64],
    node_users: NDArray[np.int64],
    link_charge: NDArray[np.float64],
    node_charge: NDArray[np.float64],
    service: NDArray[np.float64],
    want: NDArray[np.bool_],
    fixed: bool,
) -> list[float]:
    """Plain-Python twin of :func:`route_costs`: one route at a time, NumPy's sums.

    For tests: the way the greedy priced a candidate before the kernel (a Python
    sum of the deltas, plus the opening charges as two NumPy sums, plus the
    service cost).

    Parameters
    ----------
    ptr, inv, delta, links, node_ptr, nodes, link_users, node_users,
    link_charge, node_charge, service, want, fixed :
        As :func:`route_costs`.

    Returns
    -------
    list of float
        The same numbers, bit for bit.
    """
    out = []
    for r in range(ptr.size - 1):
        if not want[r]:
            out.append(float("inf"))
            continue
        lo, hi = int(ptr[r]), int(ptr[r + 1])
        total = sum(float(delta[inv[k]]) for k in range(lo, hi))
        opening = 0.0
        if fixed:
            ln = links[lo:hi]
            nd = nodes[node_ptr[r] : node_ptr[r + 1]]
            opening = float(link_charge[ln[link_users[ln] == 0]].sum())
            opening = opening + float(node_charge[nd[node_users[nd] == 0]].sum())
        out.append(total + opening + float(service[r]))
    return out


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
    arcs = np.asarray(arcs, dtype=np.int64)
    nodes = np.unique(np.concatenate([state.tail[arcs], state.head[arcs]]))
    cost = route_costs(
        np.asarray([0, arcs.size], dtype=np.int64),
        np.zeros(arcs.size, dtype=np.int64),
        np.zeros(1),
        arcs // 2,
        np.asarray([0, nodes.size], dtype=np.int64),
        nodes.astype(np.int64),
        state.link_users,
        state.node_users,
        state.link_charge,
        state.node_charge,
        np.zeros(1),
        np.ones(1, dtype=np.bool_),
        True,
    )
    return float(cost[0])


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
    graph of the arcs added in id order (links join distinct node pairs). While
    the same links and nodes are paid for and ``f``'s candidates are the same,
    the answer is remembered.

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
    open_link = state.link_users == 0
    open_node = state.node_users == 0
    paid = (open_link.tobytes(), open_node.tobytes())
    hit = state._network_memo.get(f)
    if hit is not None and hit[0] is state.candidates.arcs[f] and hit[1] == paid:
        return int(hit[2])  # the same weights and candidates as the last time: the same route
    inst = state.instance
    req = inst.requests[f]
    links = np.arange(state.n_arcs) // 2
    head = state.head
    # the arc weights (same operations, so the same floats, as one arc at a time)
    weight = (
        state.candidates.standalone[f]
        + state.link_charge[links] * open_link[links]
        + state.node_charge[head] * open_node[head]
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
    state._network_memo[f] = (state.candidates.arcs[f], paid, best[1])
    return best[1]


@njit(cache=True)
def cheapest_route(
    f: int,
    n_arcs: int,
    uarcs: NDArray[np.int64],
    base: NDArray[np.float64],
    y_ptr: NDArray[np.int64],
    y_len: NDArray[np.float64],
    y_ben: NDArray[np.float64],
    z_ptr: NDArray[np.int64],
    z_len: NDArray[np.float64],
    z_ben: NDArray[np.float64],
    blk_len: NDArray[np.float64],
    blk_ben: NDArray[np.float64],
    meta: NDArray[np.float64],
    cap_y: NDArray[np.float64],
    cap_z: NDArray[np.float64],
    rebalance: bool,
    ptr: NDArray[np.int64],
    inv: NDArray[np.int64],
    links: NDArray[np.int64],
    node_ptr: NDArray[np.int64],
    nodes: NDArray[np.int64],
    link_users: NDArray[np.int64],
    node_users: NDArray[np.int64],
    link_charge: NDArray[np.float64],
    node_charge: NDArray[np.float64],
    service: NDArray[np.float64],
    fixed: bool,
    route_provider: NDArray[np.int64],
    prov_capacity: NDArray[np.int64],
    prov_load: NDArray[np.int64],
    provider: int,
    avoid_link: int,
    prefer: int,
) -> tuple[int, float]:
    """The cheapest candidate of request ``f`` now: ``GreedyState.best_candidate``, compiled.

    A candidate counts if its provider has room (capacity ``< 0``: unlimited;
    route provider ``-1``: none), it belongs to ``provider`` (unless that is
    :data:`NO_PROVIDER_FILTER`) and it avoids the link ``avoid_link`` (unless ``-1``).
    Its cost is :func:`route_costs` of the marginal costs of ``f`` on the
    distinct arcs ``uarcs`` (:func:`~qkdbench.planning.marginals.pair_deltas`
    given the blocks reserved there); the first cheapest wins, or ``prefer``
    (unless ``-1``) when within ``1e-9`` (relative) of it.

    Parameters
    ----------
    f, n_arcs : int
        The request and the number of arcs (pair ``f * n_arcs + arc``).
    uarcs : ndarray (U,) int64
        The distinct arcs of ``f``'s candidates.
    base, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben : ndarray
        The ladders (:class:`~qkdbench.planning.ladders.Ladders`).
    blk_len, blk_ben : ndarray float64
        Per arc of ``uarcs`` in turn, its reserved QKD blocks then its KM blocks.
    meta : ndarray (4U,) float64
        Per arc: the numbers of QKD and KM blocks and what each kind's blocks hold
        (``held`` of :func:`~qkdbench.planning.marginals.pair_deltas`).
    cap_y, cap_z : ndarray (A,) float64
        The arcs' capacities.
    rebalance : bool
        As the state's.
    ptr, inv, links, node_ptr, nodes, link_users, node_users, link_charge, node_charge,
    service, fixed :
        As :func:`route_costs` (``inv`` indexes ``uarcs``).
    route_provider : ndarray (R,) int64
        Each candidate's provider position (``-1``: none).
    prov_capacity, prov_load : ndarray int64
        Each provider's capacity and the requests it serves now.
    provider, avoid_link, prefer : int
        As ``best_candidate``'s arguments (see above for "none").

    Returns
    -------
    i : int
        The candidate, ``-1`` if none counts.
    cost : float
        Its cost (``inf`` if none).
    """
    n_routes = ptr.size - 1
    want = np.zeros(n_routes, dtype=np.bool_)
    for r in range(n_routes):
        p = route_provider[r]
        ok = p < 0 or prov_capacity[p] < 0 or prov_load[p] < prov_capacity[p]
        if provider != NO_PROVIDER_FILTER and p != provider:
            ok = False
        if ok and avoid_link >= 0:
            for k in range(ptr[r], ptr[r + 1]):
                if links[k] == avoid_link:
                    ok = False
                    break
        want[r] = ok
    n_u = uarcs.size
    delta = np.zeros(n_u)
    lo = 0
    for j in range(n_u):
        n_y = int(meta[4 * j])
        n_z = int(meta[4 * j + 1])
        a = uarcs[j]
        delta[j] = pair_delta_one(
            f * n_arcs + a,
            base,
            y_ptr,
            y_len,
            y_ben,
            z_ptr,
            z_len,
            z_ben,
            blk_len[lo : lo + n_y],
            blk_ben[lo : lo + n_y],
            meta[4 * j + 2],
            blk_len[lo + n_y : lo + n_y + n_z],
            blk_ben[lo + n_y : lo + n_y + n_z],
            meta[4 * j + 3],
            cap_y[a],
            cap_z[a],
            rebalance,
        )
        lo += n_y + n_z
    costs = route_costs(
        ptr,
        inv,
        delta,
        links,
        node_ptr,
        nodes,
        link_users,
        node_users,
        link_charge,
        node_charge,
        service,
        want,
        fixed,
    )
    best = 0
    for r in range(1, n_routes):
        if costs[r] < costs[best]:
            best = r
    if not np.isfinite(costs[best]):
        return -1, np.inf
    if prefer >= 0 and costs[prefer] <= costs[best] + 1e-9 * (1 + abs(costs[best])):
        best = prefer
    return best, costs[best]


def cheapest_route_py(
    f: int,
    n_arcs: int,
    uarcs: NDArray[np.int64],
    base: NDArray[np.float64],
    y_ptr: NDArray[np.int64],
    y_len: NDArray[np.float64],
    y_ben: NDArray[np.float64],
    z_ptr: NDArray[np.int64],
    z_len: NDArray[np.float64],
    z_ben: NDArray[np.float64],
    blk_len: NDArray[np.float64],
    blk_ben: NDArray[np.float64],
    meta: NDArray[np.float64],
    cap_y: NDArray[np.float64],
    cap_z: NDArray[np.float64],
    rebalance: bool,
    ptr: NDArray[np.int64],
    inv: NDArray[np.int64],
    links: NDArray[np.int64],
    node_ptr: NDArray[np.int64],
    nodes: NDArray[np.int64],
    link_users: NDArray[np.int64],
    node_users: NDArray[np.int64],
    link_charge: NDArray[np.float64],
    node_charge: NDArray[np.float64],
    service: NDArray[np.float64],
    fixed: bool,
    route_provider: NDArray[np.int64],
    prov_capacity: NDArray[np.int64],
    prov_load: NDArray[np.int64],
    provider: int,
    avoid_link: int,
    prefer: int,
) -> tuple[int, float]:
    """Plain-Python twin of :func:`cheapest_route` (for tests), as the greedy chose before.

    The candidates filtered one by one, the marginal costs by
    :func:`~qkdbench.planning.marginals.pair_deltas_py`, the costs by
    :func:`route_costs_py`, the choice by ``numpy.argmin`` and the ``prefer`` rule.

    Parameters
    ----------
    f, n_arcs, uarcs, base, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben, blk_len, blk_ben,
    meta, cap_y, cap_z, rebalance, ptr, inv, links, node_ptr, nodes, link_users,
    node_users, link_charge, node_charge, service, fixed, route_provider, prov_capacity,
    prov_load, provider, avoid_link, prefer :
        As :func:`cheapest_route`.

    Returns
    -------
    tuple of (int, float)
        The same choice and cost.
    """
    want = []
    for r in range(ptr.size - 1):
        p = int(route_provider[r])
        room = p < 0 or int(prov_capacity[p]) < 0 or int(prov_load[p]) < int(prov_capacity[p])
        other = provider != NO_PROVIDER_FILTER and p != provider
        avoided = avoid_link >= 0 and bool(np.any(links[ptr[r] : ptr[r + 1]] == avoid_link))
        want.append(room and not other and not avoided)
    n_u = uarcs.size
    sizes = meta.reshape(n_u, 4)
    ty_ptr, tz_ptr = [0], [0]
    ty_len: list[float] = []
    ty_ben: list[float] = []
    tz_len: list[float] = []
    tz_ben: list[float] = []
    lo = 0
    for j in range(n_u):
        n_y, n_z = int(sizes[j, 0]), int(sizes[j, 1])
        ty_len += blk_len[lo : lo + n_y].tolist()
        ty_ben += blk_ben[lo : lo + n_y].tolist()
        tz_len += blk_len[lo + n_y : lo + n_y + n_z].tolist()
        tz_ben += blk_ben[lo + n_y : lo + n_y + n_z].tolist()
        ty_ptr.append(len(ty_len))
        tz_ptr.append(len(tz_len))
        lo += n_y + n_z
    delta = pair_deltas_py(
        base,
        f * n_arcs + uarcs,
        y_ptr,
        y_len,
        y_ben,
        z_ptr,
        z_len,
        z_ben,
        np.asarray(ty_ptr, dtype=np.int64),
        np.asarray(ty_len, dtype=float),
        np.asarray(ty_ben, dtype=float),
        sizes[:, 2].copy(),
        np.asarray(tz_ptr, dtype=np.int64),
        np.asarray(tz_len, dtype=float),
        np.asarray(tz_ben, dtype=float),
        sizes[:, 3].copy(),
        cap_y[uarcs],
        cap_z[uarcs],
        rebalance,
    )
    costs = route_costs_py(
        ptr,
        inv,
        np.asarray(delta),
        links,
        node_ptr,
        nodes,
        link_users,
        node_users,
        link_charge,
        node_charge,
        service,
        np.asarray(want, dtype=np.bool_),
        fixed,
    )
    best = int(np.argmin(costs))
    if not np.isfinite(costs[best]):
        return -1, float("inf")
    if prefer >= 0 and costs[prefer] <= costs[best] + 1e-9 * (1 + abs(costs[best])):
        best = prefer
    return best, costs[best]
