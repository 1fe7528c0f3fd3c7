"""The Numba step kernel of the planning environments: apply an action, price, observe.

A step is one call of :func:`step_kernel`: it applies the action to the current
request (first fit on each arc of the chosen route), prices the next request's
actions on the breakpoint curves of :class:`~qkdbench.rl.core.PlanningTables`
(exact at breakpoints, linear between) and writes the observation and the action
mask into preallocated buffers. :func:`observe_kernel` writes them for the first
step. Layout of the observation: :class:`~qkdbench.rl.env.PlanningEnv`.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

# Array types of the kernels' arguments (Numba itself ignores annotations).
_Floats = NDArray[np.float64]
_Ints = NDArray[np.int64]
_Bools = NDArray[np.bool_]

__all__ = ["OBS_HIGH", "observe_kernel", "step_kernel"]

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
    dst: _Ints,
    n_nodes: int,
    cost_scale: float,
    length_scale: float,
    w_qkd: _Ints,
    w_kml: _Ints,
    strict: bool,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    qcost: _Floats,
    kcost: _Floats,
    obs: _Floats,
    mask: _Bools,
) -> None:
    """Price request ``order[t]``'s actions and write the observation and the mask."""
    F = order.size
    A = free_y.size
    S = arc.shape[1]
    L = ylev.shape[3]
    obs[:] = 0.0
    for a in range(A):
        obs[a] = free_y[a] / w_qkd[a] if w_qkd[a] > 0 else 0.0
        obs[A + a] = free_z[a] / w_kml[a] if w_kml[a] > 0 else 0.0
        obs[2 * A + a] = used[a]
    o = 3 * A
    mask[:] = False
    if t >= F:  # terminal: no request left; action 0 stands for "nothing"
        obs[o + 2 * n_nodes + demand.shape[1]] = 1.0
        mask[0] = True
        return
    f = order[t]
    obs[o + src[f]] = 1.0
    obs[o + n_nodes + dst[f]] = 1.0
    o += 2 * n_nodes
    for j in range(demand.shape[1]):
        obs[o + j] = demand[f, j]
    o += demand.shape[1]
    obs[o] = t / F
    obs[o + 1] = min(np.log1p(F) / 5.0, OBS_HIGH)
    o += 2
    H = arc.shape[2]
    for s in range(S):
        base = o + s * (5 + 2 * L)
        if not valid[f, s]:
            for li in range(L):
                qcost[s, li] = np.inf
                kcost[s, li] = np.inf
            continue
        n = hops[f, s]
        bott_y = 1.0
        bott_z = 1.0
        for i in range(n):
            a = arc[f, s, i]
            fy = free_y[a] / w_qkd[a] if w_qkd[a] > 0 else 0.0
            fz = free_z[a] / w_kml[a] if w_kml[a] > 0 else 0.0
            bott_y = min(bott_y, fy)
            bott_z = min(bott_z, fz)
        obs[base] = 1.0
        obs[base + 1] = length[f, s] / length_scale
        obs[base + 2] = n / H
        obs[base + 3] = bott_y
        obs[base + 4] = bott_z
        for li in range(L):
            cq = 0.0
            ck = 0.0
            fit_q = True
            fit_k = True
            for i in range(n):
                a = arc[f, s, i]
                p = pair[f, s, i]
                y = ylev[f, s, i, li]
                z = zlev[f, s, i, li]
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
            qcost[s, li] = cq if (fit_q or not strict) else np.inf
            kcost[s, li] = ck if (fit_k or not strict) else np.inf
            obs[base + 5 + li] = min(cq / cost_scale, OBS_HIGH)
            obs[base + 5 + L + li] = min(ck / cost_scale, OBS_HIGH)
        for qi in range(L):
            if qcost[s, qi] == np.inf:
                continue
            for ki in range(L):
                if kcost[s, ki] != np.inf:
                    mask[(s * L + qi) * L + ki] = True


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
    dst: _Ints,
    n_nodes: int,
    cost_scale: float,
    length_scale: float,
    w_qkd: _Ints,
    w_kml: _Ints,
    strict: bool,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    qcost: _Floats,
    kcost: _Floats,
    obs: _Floats,
    mask: _Bools,
) -> None:
    """Write the observation and mask of step ``t`` (used by ``reset``).

    Parameters
    ----------
    t : int
        Step, ``0 <= t <= F`` (``F``: the terminal observation).
    order, arc, hops, valid, length, pair, ylev, zlev, by_ptr, by, bcy,
    bz_ptr, bz, bcz, demand, src, dst : ndarray
        The arrays of :class:`~qkdbench.rl.core.PlanningTables` of the same names.
    n_nodes : int
        Nodes of the instance.
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
    qcost, kcost : ndarray (S, L)
        Written: priced QKD and KM cost of each (slot, level), ``inf`` where not allowed.
    obs : ndarray
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
        dst,
        n_nodes,
        cost_scale,
        length_scale,
        w_qkd,
        w_kml,
        strict,
        free_y,
        free_z,
        used,
        qcost,
        kcost,
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
    dst: _Ints,
    n_nodes: int,
    cost_scale: float,
    length_scale: float,
    w_qkd: _Ints,
    w_kml: _Ints,
    strict: bool,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    qcost: _Floats,
    kcost: _Floats,
    obs: _Floats,
    mask: _Bools,
    chosen: _Ints,
    yres: _Ints,
    zres: _Ints,
) -> float:
    """Apply ``action`` to request ``order[t]``, then observe step ``t + 1``.

    Returns the increase of the plan's expected cost (the priced cost of the action).

    Parameters
    ----------
    action : int
        A valid flat action ``(slot * L + qkd_level) * L + km_level``.
    t : int
        Step, ``0 <= t < F``.
    order, arc, hops, valid, length, pair, ylev, zlev, by_ptr, by, bcy,
    bz_ptr, bz, bcz, demand, src, dst : ndarray
        The arrays of :class:`~qkdbench.rl.core.PlanningTables` of the same names.
    n_nodes : int
        Nodes of the instance.
    cost_scale, length_scale : float
        The normalisers of :class:`~qkdbench.rl.core.PlanningTables`.
    w_qkd, w_kml : ndarray (A,) int64
        Reservation capacity per arc.
    strict : bool
        ``capacity="strict"``: a level that does not fit is masked out, not clipped.
    free_y, free_z, used : ndarray (A,)
        Capacity left and arcs used, updated.
    qcost, kcost : ndarray (S, L)
        Priced costs of step ``t`` on entry, of step ``t + 1`` on return.
    obs, mask : ndarray
        Written: the observation and mask of step ``t + 1``.
    chosen : ndarray (F,) int64
        Written: the slot of request ``order[t]``.
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
    s = action // (L * L)
    f = order[t]
    delta = qcost[s, qi] + kcost[s, ki]
    chosen[f] = s
    for i in range(hops[f, s]):
        a = arc[f, s, i]
        y = min(ylev[f, s, i, qi], free_y[a])
        z = min(zlev[f, s, i, ki], free_z[a])
        free_y[a] -= y
        free_z[a] -= z
        yres[f, i] = y
        zres[f, i] = z
        used[a] = 1.0
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
        dst,
        n_nodes,
        cost_scale,
        length_scale,
        w_qkd,
        w_kml,
        strict,
        free_y,
        free_z,
        used,
        qcost,
        kcost,
        obs,
        mask,
    )
    return delta
