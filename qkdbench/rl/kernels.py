"""The Numba step kernel of the planning environments: apply an action, price, observe.

A step is one call of :func:`step_kernel`: it applies the action to the current
request (first fit on each arc of the chosen route, the links and nodes it
touches opened, its target's provider charged), prices the next request's
actions on the breakpoint curves of :class:`~qkdbench.rl.core.PlanningTables`
(exact at breakpoints, linear between) with the fixed charges they would open
and their service costs, and writes the observation and the action mask into
preallocated buffers. :func:`observe_kernel` writes them for the first step.
Layout of the observation: :class:`~qkdbench.rl.env.PlanningEnv`.

Providers
---------
The requests not yet planned that have targets are kept assigned to providers
within the capacities left, as counts ``assign[g, p]`` of requests of
signature ``g`` (the set of providers a request may use) on provider ``p``.
:func:`providers_allowed` says which providers the current request may take
so that the others can still be served (an augmenting-path search over
providers: a provider is allowed if it has room once the request leaves the
assignment, or if some request on it can move to another allowed provider,
and so on); :func:`providers_take` charges the choice and repairs the
assignment along such a path; :func:`providers_add` builds the first
assignment. Every choice the mask offers therefore leaves a step with a valid
action, and a provider is never over its capacity.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

# Array types of the kernels' arguments (Numba itself ignores annotations).
_Floats = NDArray[np.float64]
_Ints = NDArray[np.int64]
_Bools = NDArray[np.bool_]
_Floats32 = NDArray[np.float32]

__all__ = [
    "OBS_HIGH",
    "observe_kernel",
    "step_kernel",
    "apply_route",
    "providers_add",
    "providers_allowed",
    "providers_take",
]

#: Upper bound of every observation entry (priced costs are capped there).
OBS_HIGH = 100.0


@njit(cache=True, inline="always")
def _curve(ptr: _Ints, bp: _Ints, bc: _Floats, p: int, y: float) -> float:
    """Cost of pair ``p`` at reservation ``y``: exact at breakpoints, linear between."""
    lo = ptr[p]
    hi = ptr[p + 1] - 1
    if y <= bp[lo]:
        return bc[lo]
    if y >= bp[hi]:
        return bc[hi]
    a = lo
    b = hi
    while b - a > 1:  # bp[a] < y < bp[b]
        m = (a + b) >> 1
        if bp[m] <= y:
            a = m
        else:
            b = m
    if bp[a] == y:
        return bc[a]
    return bc[a] + (y - bp[a]) * (bc[b] - bc[a]) / (bp[b] - bp[a])


@njit(cache=True)
def _slack(assign: _Ints, room: _Ints, out: _Ints) -> None:
    """``out[p]``: room left on provider ``p`` beyond the requests assigned to it."""
    for p in range(room.size):
        load = 0
        for g in range(assign.shape[0]):
            load += assign[g, p]
        out[p] = room[p] - load


@njit(cache=True)
def _repair(src: int, assign: _Ints, room: _Ints, sig_mask: _Bools) -> bool:
    """Bring provider ``src`` (one request over its room) back within it along a path.

    Moves one request from ``src`` to a provider it may use, one from there on, ...,
    until a provider with room takes the last; returns ``False`` (nothing moved) if
    no such path exists.
    """
    P = room.size
    G = assign.shape[0]
    slack = np.empty(P, dtype=np.int64)
    _slack(assign, room, slack)
    if slack[src] >= 0:
        return True
    parent = np.full(P, -1, dtype=np.int64)
    via = np.full(P, -1, dtype=np.int64)
    seen = np.zeros(P, dtype=np.bool_)
    queue = np.empty(P, dtype=np.int64)
    queue[0] = src
    seen[src] = True
    head, tail, found = 0, 1, -1
    while head < tail and found < 0:
        u = queue[head]
        head += 1
        for g in range(G):
            if assign[g, u] == 0:
                continue
            for v in range(P):
                if sig_mask[g, v] and not seen[v]:
                    seen[v] = True
                    parent[v] = u
                    via[v] = g
                    if slack[v] > 0:
                        found = v
                        break
                    queue[tail] = v
                    tail += 1
            if found >= 0:
                break
    if found < 0:
        return False
    v = found
    while v != src:
        u = parent[v]
        assign[via[v], u] -= 1
        assign[via[v], v] += 1
        v = u
    return True


@njit(cache=True)
def providers_add(g: int, assign: _Ints, room: _Ints, sig_mask: _Bools) -> bool:
    """Add a request of signature ``g`` to the assignment (for the first one).

    Parameters
    ----------
    g : int
        Signature of the request.
    assign : ndarray (G, P) int64
        Requests of each signature assigned to each provider; updated.
    room : ndarray (P,) int64
        Requests each provider may serve (a number above the request count for an
        unlimited one).
    sig_mask : ndarray (G, P) bool
        The providers of each signature.

    Returns
    -------
    bool
        Whether the request fits (with requests moved along a path if needed);
        ``assign`` is unchanged when it does not.

    Examples
    --------
    >>> assign = np.zeros((2, 2), dtype=np.int64)
    >>> mask = np.array([[True, True], [True, False]])
    >>> room = np.array([1, 1])
    >>> providers_add(0, assign, room, mask), providers_add(1, assign, room, mask)
    (True, True)
    >>> assign.tolist()  # the first moved to provider 1 to make room
    [[0, 1], [1, 0]]
    """
    for p in range(room.size):
        if sig_mask[g, p]:
            assign[g, p] += 1
            if _repair(p, assign, room, sig_mask):
                return True
            assign[g, p] -= 1
    return False


@njit(cache=True)
def providers_allowed(
    g: int, assign: _Ints, room: _Ints, sig_mask: _Bools, allowed: _Bools
) -> None:
    """The providers a request of signature ``g`` may take with the rest still served.

    Parameters
    ----------
    g : int
        Signature of the current request (one of the requests ``assign`` counts).
    assign : ndarray (G, P) int64
        The assignment of the requests not yet planned (left as it was).
    room : ndarray (P,) int64
        Requests each provider may still serve.
    sig_mask : ndarray (G, P) bool
        The providers of each signature.
    allowed : ndarray (P,) bool
        Written: ``allowed[p]`` iff ``p`` is one of the request's providers and the
        other requests can still be assigned within every capacity once it takes ``p``.
    """
    P = room.size
    G = assign.shape[0]
    q = 0
    while assign[g, q] == 0:  # the request's stand-in in the assignment
        q += 1
    assign[g, q] -= 1
    slack = np.empty(P, dtype=np.int64)
    _slack(assign, room, slack)
    reach = slack > 0
    changed = True
    while changed:
        changed = False
        for u in range(P):
            if reach[u]:
                continue
            for h in range(G):
                if assign[h, u] == 0:
                    continue
                for v in range(P):
                    if sig_mask[h, v] and reach[v]:
                        reach[u] = True
                        changed = True
                        break
                if reach[u]:
                    break
    assign[g, q] += 1
    for p in range(P):
        allowed[p] = reach[p] and sig_mask[g, p]


@njit(cache=True)
def providers_take(g: int, p: int, assign: _Ints, room: _Ints, sig_mask: _Bools) -> None:
    """The current request (signature ``g``) takes provider ``p`` (which must be allowed).

    Parameters
    ----------
    g : int
        Signature of the request.
    p : int
        The provider it takes (:func:`providers_allowed`).
    assign : ndarray (G, P) int64
        Updated: the request leaves it, and requests move so that ``p``'s room is kept.
    room : ndarray (P,) int64
        Updated: one less on ``p``.
    sig_mask : ndarray (G, P) bool
        The providers of each signature.
    """
    q = 0
    while assign[g, q] == 0:
        q += 1
    assign[g, q] -= 1
    room[p] -= 1
    _repair(p, assign, room, sig_mask)


@njit(cache=True)
def _observe(
    t: int,
    order: _Ints,
    arc: _Ints,
    hops: _Ints,
    valid: _Bools,
    length: _Floats,
    pair: _Ints,
    ylev: _Ints,
    zlev: _Ints,
    by_ptr: _Ints,
    by: _Ints,
    bcy: _Floats,
    bz_ptr: _Ints,
    bz: _Ints,
    bcz: _Floats,
    demand: _Floats,
    src: _Ints,
    route_nodes: _Ints,
    tgt_node: _Ints,
    tgt_prov: _Ints,
    tgt_cost: _Floats,
    link_fc: _Floats,
    node_fc: _Floats,
    prov_cap: _Ints,
    sig: _Ints,
    sig_mask: _Bools,
    n_slots: int,
    n_nodes: int,
    n_prov_obs: int,
    cost_scale: float,
    length_scale: float,
    w_qkd: _Ints,
    w_kml: _Ints,
    strict: bool,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
    allowed: _Bools,
    qcost: _Floats,
    kcost: _Floats,
    ocost: _Floats,
    obs: _Floats32,
    mask: _Bools,
) -> None:
    """Price request ``order[t]``'s actions and write the observation and the mask."""
    F = order.size
    A = free_y.size
    R = arc.shape[1]
    L = ylev.shape[3]
    P = room.size
    NSF = 8  # N_SLOT_FEATURES
    charged = link_fc.size > 0  # empty charge arrays: nothing is charged
    obs[:] = 0.0
    for a in range(A):
        obs[a] = free_y[a] / w_qkd[a] if w_qkd[a] > 0 else 0.0
        obs[A + a] = free_z[a] / w_kml[a] if w_kml[a] > 0 else 0.0
        obs[2 * A + a] = used[a]
        obs[3 * A + a] = lopen[a >> 1]
    o = 4 * A
    for n in range(n_nodes):
        obs[o + n] = nopen[n]
    o += n_nodes
    # provider room, as a fraction of the capacity (1 for an unlimited provider)
    po = o + 2 * n_nodes + demand.shape[1] + 2
    for p in range(P):
        if prov_cap[p] < 0:
            obs[po + p] = 1.0
        elif prov_cap[p] > 0:
            obs[po + p] = room[p] / prov_cap[p]
    mask[:] = False
    if t >= F:  # terminal: no request left; action 0 stands for "nothing"
        obs[o + 2 * n_nodes + demand.shape[1]] = 1.0
        mask[0] = True
        return
    f = order[t]
    obs[o + src[f]] = 1.0
    for ti in range(tgt_node.shape[1]):
        if tgt_node[f, ti] >= 0:
            obs[o + n_nodes + tgt_node[f, ti]] = 1.0
    o += 2 * n_nodes
    for j in range(demand.shape[1]):
        obs[o + j] = demand[f, j]
    o += demand.shape[1]
    obs[o] = t / F
    obs[o + 1] = min(np.log1p(F) / 5.0, OBS_HIGH)
    o += 2 + n_prov_obs
    g = sig[f]
    for p in range(P):
        allowed[p] = True
    if g >= 0:
        providers_allowed(g, assign, room, sig_mask, allowed)
    H = arc.shape[2]
    for r in range(R):
        base = o + r * (NSF + 2 * L)
        ti = r // n_slots
        prov = tgt_prov[f, ti]
        if not valid[f, r]:
            for li in range(L):
                qcost[r, li] = np.inf
                kcost[r, li] = np.inf
            ocost[r] = np.inf
            continue
        n = hops[f, r]
        bott_y = 1.0
        bott_z = 1.0
        oc = 0.0
        for i in range(n):
            a = arc[f, r, i]
            fy = free_y[a] / w_qkd[a] if w_qkd[a] > 0 else 0.0
            fz = free_z[a] / w_kml[a] if w_kml[a] > 0 else 0.0
            bott_y = min(bott_y, fy)
            bott_z = min(bott_z, fz)
        if charged:  # the fixed charges this route would be the first to pay
            for i in range(n):
                a = arc[f, r, i]
                if lopen[a >> 1] == 0.0:
                    oc += link_fc[a >> 1]
            for i in range(n + 1):
                v = route_nodes[f, r, i]
                if nopen[v] == 0.0:
                    oc += node_fc[v]
        ocost[r] = oc
        obs[base] = 1.0
        obs[base + 1] = length[f, r] / length_scale
        obs[base + 2] = n / H
        obs[base + 3] = bott_y
        obs[base + 4] = bott_z
        obs[base + 5] = min(oc / cost_scale, OBS_HIGH)
        obs[base + 6] = min(tgt_cost[f, ti] / cost_scale, OBS_HIGH)
        if prov < 0 or prov_cap[prov] < 0:
            obs[base + 7] = 1.0
        elif prov_cap[prov] > 0:
            obs[base + 7] = room[prov] / prov_cap[prov]
        for li in range(L):
            cq = 0.0
            ck = 0.0
            fit_q = True
            fit_k = True
            for i in range(n):
                a = arc[f, r, i]
                p = pair[f, r, i]
                y = ylev[f, r, i, li]
                z = zlev[f, r, i, li]
                if y > free_y[a]:
                    fit_q = False
                    if not strict:
                        y = free_y[a]
                if z > free_z[a]:
                    fit_k = False
                    if not strict:
                        z = free_z[a]
                cq += _curve(by_ptr, by, bcy, p, y)
                ck += _curve(bz_ptr, bz, bcz, p, z)
            qcost[r, li] = cq if (fit_q or not strict) else np.inf
            kcost[r, li] = ck if (fit_k or not strict) else np.inf
            obs[base + NSF + li] = min(cq / cost_scale, OBS_HIGH)
            obs[base + NSF + L + li] = min(ck / cost_scale, OBS_HIGH)
        if prov >= 0 and not allowed[prov]:  # its provider cannot take the request
            for li in range(L):
                qcost[r, li] = np.inf
                kcost[r, li] = np.inf
            continue
        for qi in range(L):
            if qcost[r, qi] == np.inf:
                continue
            for ki in range(L):
                if kcost[r, ki] != np.inf:
                    mask[(r * L + qi) * L + ki] = True


@njit(cache=True)
def _apply(
    f: int,
    r: int,
    ids: _Ints,
    nodes: _Ints,
    ys: _Ints,
    zs: _Ints,
    tgt_prov: _Ints,
    sig: _Ints,
    sig_mask: _Bools,
    n_slots: int,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
) -> None:
    """Reserve ``ys``, ``zs`` on arcs ``ids``, open their links and ``nodes``, charge a provider."""
    for i in range(ids.size):
        a = ids[i]
        free_y[a] -= ys[i]
        free_z[a] -= zs[i]
        used[a] = 1.0
        lopen[a >> 1] = 1.0
    for i in range(nodes.size):
        nopen[nodes[i]] = 1.0
    prov = tgt_prov[f, r // n_slots]
    if prov >= 0:
        providers_take(sig[f], prov, assign, room, sig_mask)


@njit(cache=True)
def apply_route(
    f: int,
    r: int,
    ids: _Ints,
    nodes: _Ints,
    ys: _Ints,
    zs: _Ints,
    tgt_prov: _Ints,
    sig: _Ints,
    sig_mask: _Bools,
    n_slots: int,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
) -> None:
    """Apply an explicit route of request ``f`` to target ``r // n_slots`` (a replay).

    Parameters
    ----------
    f : int
        Request position.
    r : int
        A route slot of the target the route ends at (``target * n_slots``).
    ids, nodes : ndarray of int64
        Arc ids and node positions of the route.
    ys, zs : ndarray of int64
        Its QKD and KM reservations per arc (within what is left).
    tgt_prov, sig, sig_mask : ndarray
        The arrays of :class:`~qkdbench.rl.core.PlanningTables` of the same names.
    n_slots : int
        Slots per target.
    free_y, free_z, used, lopen, nopen, room, assign : ndarray
        The episode's state, updated.
    """
    _apply(
        f,
        r,
        ids,
        nodes,
        ys,
        zs,
        tgt_prov,
        sig,
        sig_mask,
        n_slots,
        free_y,
        free_z,
        used,
        lopen,
        nopen,
        room,
        assign,
    )


@njit(cache=True)
def observe_kernel(
    t: int,
    order: _Ints,
    arc: _Ints,
    hops: _Ints,
    valid: _Bools,
    length: _Floats,
    pair: _Ints,
    ylev: _Ints,
    zlev: _Ints,
    by_ptr: _Ints,
    by: _Ints,
    bcy: _Floats,
    bz_ptr: _Ints,
    bz: _Ints,
    bcz: _Floats,
    demand: _Floats,
    src: _Ints,
    route_nodes: _Ints,
    tgt_node: _Ints,
    tgt_prov: _Ints,
    tgt_cost: _Floats,
    link_fc: _Floats,
    node_fc: _Floats,
    prov_cap: _Ints,
    sig: _Ints,
    sig_mask: _Bools,
    n_slots: int,
    n_nodes: int,
    n_prov_obs: int,
    cost_scale: float,
    length_scale: float,
    w_qkd: _Ints,
    w_kml: _Ints,
    strict: bool,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
    allowed: _Bools,
    qcost: _Floats,
    kcost: _Floats,
    ocost: _Floats,
    obs: _Floats32,
    mask: _Bools,
) -> None:
    """Write the observation and mask of step ``t`` (used by ``reset``).

    Parameters
    ----------
    t : int
        Step, ``0 <= t <= F`` (``F``: the terminal observation).
    order, arc, hops, valid, length, pair, ylev, zlev, by_ptr, by, bcy,
    bz_ptr, bz, bcz, demand, src, route_nodes, tgt_node, tgt_prov, tgt_cost,
    link_fc, node_fc, prov_cap, sig, sig_mask : ndarray
        The arrays of :class:`~qkdbench.rl.core.PlanningTables` of the same names
        (``link_fc`` and ``node_fc`` may be empty when nothing is charged: the opening
        costs are then skipped).
    n_slots : int
        Route slots per target, ``S``.
    n_nodes : int
        Nodes of the instance.
    n_prov_obs : int
        Entries of the observation's provider block (at least the providers).
    cost_scale, length_scale : float
        The normalisers of :class:`~qkdbench.rl.core.PlanningTables`.
    w_qkd, w_kml : ndarray (A,) int64
        Reservation capacity per arc.
    strict : bool
        ``capacity="strict"``: a level that does not fit is masked out, not clipped.
    free_y, free_z : ndarray (A,)
        QKD and KM capacity left per arc.
    used : ndarray (A,)
        1 on arcs some route uses, else 0.
    lopen, nopen : ndarray
        1 on links and nodes some route opened (their fixed charges paid), else 0.
    room : ndarray (P,) int64
        Requests each provider may still serve.
    assign : ndarray (G, P) int64
        The provider assignment of the requests not yet planned.
    allowed : ndarray (P,) bool
        Written: the providers the current request may take.
    qcost, kcost : ndarray (R, L)
        Written: priced QKD and KM cost of each (route slot, level), ``inf`` where not
        allowed.
    ocost : ndarray (R,)
        Written: fixed charges each route slot would pay now.
    obs : ndarray of float32
        Written: the observation.
    mask : ndarray of bool
        Written: the valid flat actions.
    """
    _observe(
        t,
        order,
        arc,
        hops,
        valid,
        length,
        pair,
        ylev,
        zlev,
        by_ptr,
        by,
        bcy,
        bz_ptr,
        bz,
        bcz,
        demand,
        src,
        route_nodes,
        tgt_node,
        tgt_prov,
        tgt_cost,
        link_fc,
        node_fc,
        prov_cap,
        sig,
        sig_mask,
        n_slots,
        n_nodes,
        n_prov_obs,
        cost_scale,
        length_scale,
        w_qkd,
        w_kml,
        strict,
        free_y,
        free_z,
        used,
        lopen,
        nopen,
        room,
        assign,
        allowed,
        qcost,
        kcost,
        ocost,
        obs,
        mask,
    )


@njit(cache=True)
def step_kernel(
    action: int,
    t: int,
    order: _Ints,
    arc: _Ints,
    hops: _Ints,
    valid: _Bools,
    length: _Floats,
    pair: _Ints,
    ylev: _Ints,
    zlev: _Ints,
    by_ptr: _Ints,
    by: _Ints,
    bcy: _Floats,
    bz_ptr: _Ints,
    bz: _Ints,
    bcz: _Floats,
    demand: _Floats,
    src: _Ints,
    route_nodes: _Ints,
    tgt_node: _Ints,
    tgt_prov: _Ints,
    tgt_cost: _Floats,
    link_fc: _Floats,
    node_fc: _Floats,
    prov_cap: _Ints,
    sig: _Ints,
    sig_mask: _Bools,
    n_slots: int,
    n_nodes: int,
    n_prov_obs: int,
    cost_scale: float,
    length_scale: float,
    w_qkd: _Ints,
    w_kml: _Ints,
    strict: bool,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
    allowed: _Bools,
    qcost: _Floats,
    kcost: _Floats,
    ocost: _Floats,
    obs: _Floats32,
    mask: _Bools,
    chosen: _Ints,
    yres: _Ints,
    zres: _Ints,
) -> float:
    """Apply ``action`` to request ``order[t]``, then observe step ``t + 1``.

    Returns the increase of the plan's expected cost (the priced cost of the action,
    with the fixed charges it opens and its target's service cost).

    Parameters
    ----------
    action : int
        A valid flat action ``(route_slot * L + qkd_level) * L + km_level``.
    t : int
        Step, ``0 <= t < F``.
    order, arc, hops, valid, length, pair, ylev, zlev, by_ptr, by, bcy,
    bz_ptr, bz, bcz, demand, src, route_nodes, tgt_node, tgt_prov, tgt_cost,
    link_fc, node_fc, prov_cap, sig, sig_mask : ndarray
        The arrays of :class:`~qkdbench.rl.core.PlanningTables` of the same names
        (``link_fc`` and ``node_fc`` may be empty when nothing is charged: the opening
        costs are then skipped).
    n_slots, n_nodes, n_prov_obs : int
        As for :func:`observe_kernel`.
    cost_scale, length_scale : float
        The normalisers of :class:`~qkdbench.rl.core.PlanningTables`.
    w_qkd, w_kml : ndarray (A,) int64
        Reservation capacity per arc.
    strict : bool
        ``capacity="strict"``: a level that does not fit is masked out, not clipped.
    free_y, free_z, used, lopen, nopen, room, assign : ndarray
        The episode's state (as for :func:`observe_kernel`), updated.
    allowed : ndarray (P,) bool
        Scratch: the providers of the next request.
    qcost, kcost, ocost : ndarray
        Priced costs of step ``t`` on entry, of step ``t + 1`` on return.
    obs, mask : ndarray (float32, bool)
        Written: the observation and mask of step ``t + 1``.
    chosen : ndarray (F,) int64
        Written: the route slot of request ``order[t]``.
    yres, zres : ndarray (F, H) int64
        Written: its reservations per route arc (first fit: clipped to what is left).

    Returns
    -------
    float
        The increase of the plan's expected cost.
    """
    L = ylev.shape[3]
    ki = action % L
    qi = (action // L) % L
    r = action // (L * L)
    f = order[t]
    delta = qcost[r, qi] + kcost[r, ki] + ocost[r] + tgt_cost[f, r // n_slots]
    chosen[f] = r
    n = hops[f, r]
    for i in range(n):
        a = arc[f, r, i]
        yres[f, i] = min(ylev[f, r, i, qi], free_y[a])
        zres[f, i] = min(zlev[f, r, i, ki], free_z[a])
    _apply(
        f,
        r,
        arc[f, r, :n],
        route_nodes[f, r, : n + 1],
        yres[f, :n],
        zres[f, :n],
        tgt_prov,
        sig,
        sig_mask,
        n_slots,
        free_y,
        free_z,
        used,
        lopen,
        nopen,
        room,
        assign,
    )
    _observe(
        t + 1,
        order,
        arc,
        hops,
        valid,
        length,
        pair,
        ylev,
        zlev,
        by_ptr,
        by,
        bcy,
        bz_ptr,
        bz,
        bcz,
        demand,
        src,
        route_nodes,
        tgt_node,
        tgt_prov,
        tgt_cost,
        link_fc,
        node_fc,
        prov_cap,
        sig,
        sig_mask,
        n_slots,
        n_nodes,
        n_prov_obs,
        cost_scale,
        length_scale,
        w_qkd,
        w_kml,
        strict,
        free_y,
        free_z,
        used,
        lopen,
        nopen,
        room,
        assign,
        allowed,
        qcost,
        kcost,
        ocost,
        obs,
        mask,
    )
    return delta
