"""The Numba cost kernels: the one definition of a plan's expected cost.

For a fixed first stage the best recourse is closed-form (docs/model.md,
property 1): on an arc with ``yr`` reserved QKD wavelengths and a scenario
needing ``3P``, the reserved ones used are ``min(yr, 3P)`` (if using a reserved
wavelength is not dearer than buying one on demand) and the rest is bought on
demand; the same for KM with ``P``. The expectation needs
``E[min(y, w P)]``, which these kernels read off per-request sorted supports
with prefix sums in ``O(log |support|)``: the distribution of the QKD-link
count ``P`` per (key-rate class, request), the product of the demand and the
link state.

Array layout (all kernels)
--------------------------
A plan is CSR over requests: request ``f``'s arcs are
``arcs[ptr[f]:ptr[f+1]]`` with reservations ``yr``, ``zr`` at the same
positions. A batch of ``B`` plans over ``F`` requests uses one ``ptr`` of
length ``B * F + 1``; plan ``b``'s request ``f`` is row ``b * F + f``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

__all__ = [
    "expected_used",
    "score_detail",
    "score_batch",
    "fixed_batch",
    "pair_costs",
    "N_QUANTITIES",
]

#: Rows of the per-arc quantity matrix returned by :func:`score_detail`:
#: reserved, expected used, expected on-demand QKD wavelengths; the same for KM;
#: and the number of routes using the arc.
N_QUANTITIES = 7
R_Y, E_Y, O_Y, R_Z, E_Z, O_Z, HOPS = range(N_QUANTITIES)

_W_QKD = 3.0
_W_KML = 1.0

# Array types of the kernels' arguments (Numba itself ignores annotations).
_Floats = NDArray[np.float64]
_Ints = NDArray[np.int64]
_Bools = NDArray[np.bool_]


@njit(cache=True, inline="always")
def expected_used(
    y: float,
    w: float,
    f: int,
    c: int,
    lptr: _Ints,
    links: _Ints,
    survival: _Floats,
    partial: _Floats,
    used_ptr: _Ints,
    used_table: _Floats,
) -> float:
    """``E[min(y, w * P)]`` for request ``f`` on an arc of key-rate class ``c`` (``y >= 0``).

    ``P``'s distribution is ``links[lptr[c, f]:lptr[c, f+1]]`` (distinct values,
    ascending). An integer ``y`` reads the precomputed table (``O(1)``); any
    other value searches the sorted support (``O(log |support|)``).

    Parameters
    ----------
    y : float
        Reserved wavelengths.
    w : float
        Wavelengths per QKD link: 3 for QKD wavelengths, 1 for KM ones.
    f : int
        Request position.
    c : int
        Key-rate class of the arc.
    lptr, links, survival, partial, used_ptr, used_table : ndarray
        The tables of :class:`~qkdbench.evaluation.pricing.SupportArrays`
        (``partial`` is its ``partial_links``).

    Returns
    -------
    float
    """
    t0 = used_ptr[c, f]
    n = used_ptr[c, f + 1] - t0
    if n > 0 and y >= 0.0:
        scale = _W_QKD / w  # the table is in QKD wavelengths; KM reads it at 3 z
        idx = y * scale
        if idx == np.floor(idx):
            if idx < n:
                return used_table[t0 + int(idx)] / scale
            return used_table[t0 + n - 1] / scale
    lo = lptr[c, f]
    hi = lptr[c, f + 1]
    a = lo
    b = hi
    while a < b:  # first position with w * P > y
        mid = (a + b) >> 1
        if w * links[mid] <= y:
            a = mid + 1
        else:
            b = mid
    if a == lo:
        return y
    return w * partial[a - 1] + y * survival[a - 1]


@njit(cache=True, inline="always")
def _pair(
    f: int,
    arc: int,
    yr: float,
    zr: float,
    lptr: _Ints,
    links: _Ints,
    survival: _Floats,
    partial: _Floats,
    used_ptr: _Ints,
    used_table: _Floats,
    mean_links: _Floats,
    arc_class: _Ints,
    c_y: _Floats,
    c_z: _Floats,
) -> tuple[float, float, float, float]:
    """Return (used_y, ondemand_y, used_z, ondemand_z) expected on one (request, arc)."""
    c = arc_class[arc]
    need_y = _W_QKD * mean_links[c, f]
    need_z = _W_KML * mean_links[c, f]
    if c_y[1, arc] <= c_y[2, arc]:
        used_y = expected_used(
            yr, _W_QKD, f, c, lptr, links, survival, partial, used_ptr, used_table
        )
    else:
        used_y = 0.0
    if c_z[1, arc] <= c_z[2, arc]:
        used_z = expected_used(
            zr, _W_KML, f, c, lptr, links, survival, partial, used_ptr, used_table
        )
    else:
        used_z = 0.0
    return used_y, need_y - used_y, used_z, need_z - used_z


@njit(cache=True)
def score_detail(
    ptr: _Ints,
    arcs: _Ints,
    yr: _Floats,
    zr: _Floats,
    n_arcs: int,
    lptr: _Ints,
    links: _Ints,
    survival: _Floats,
    partial: _Floats,
    used_ptr: _Ints,
    used_table: _Floats,
    mean_links: _Floats,
    arc_class: _Ints,
    c_y: _Floats,
    c_z: _Floats,
    hop: _Floats,
) -> tuple[_Floats, _Floats]:
    """Score one plan in detail.

    Parameters
    ----------
    ptr, arcs, yr, zr : ndarray
        One plan in CSR form (see the module notes).
    n_arcs : int
        Arcs of the instance.
    lptr, links, survival, partial, used_ptr, used_table, mean_links, arc_class : ndarray
        The tables of :class:`~qkdbench.evaluation.pricing.SupportArrays`
        (``partial`` is its ``partial_links``).
    c_y, c_z, hop : ndarray
        Unit costs per phase and arc, and route cost per arc, of
        :class:`~qkdbench.evaluation.pricing.ArcArrays`.

    Returns
    -------
    q : ndarray (N_QUANTITIES, n_arcs)
        Per-arc totals over requests: reserved, expected used and expected
        on-demand QKD wavelengths, the same for KM, and routes using the arc.
    request_cost : ndarray (F,)
        Expected cost of each request (first stage plus expected recourse).
    """
    n_req = ptr.size - 1
    q = np.zeros((N_QUANTITIES, n_arcs))
    request_cost = np.zeros(n_req)
    for f in range(n_req):
        acc = 0.0
        for k in range(ptr[f], ptr[f + 1]):
            a = arcs[k]
            uy, oy, uz, oz = _pair(
                f,
                a,
                yr[k],
                zr[k],
                lptr,
                links,
                survival,
                partial,
                used_ptr,
                used_table,
                mean_links,
                arc_class,
                c_y,
                c_z,
            )
            q[R_Y, a] += yr[k]
            q[E_Y, a] += uy
            q[O_Y, a] += oy
            q[R_Z, a] += zr[k]
            q[E_Z, a] += uz
            q[O_Z, a] += oz
            q[HOPS, a] += 1.0
            acc += (
                c_y[0, a] * yr[k]
                + c_y[1, a] * uy
                + c_y[2, a] * oy
                + c_z[0, a] * zr[k]
                + c_z[1, a] * uz
                + c_z[2, a] * oz
                + hop[a]
            )
        request_cost[f] = acc
    return q, request_cost


@njit(cache=True, parallel=True)
def score_batch(
    ptr: _Ints,
    arcs: _Ints,
    yr: _Floats,
    zr: _Floats,
    n_req: int,
    lptr: _Ints,
    links: _Ints,
    survival: _Floats,
    partial: _Floats,
    used_ptr: _Ints,
    used_table: _Floats,
    mean_links: _Floats,
    arc_class: _Ints,
    c_y: _Floats,
    c_z: _Floats,
    hop: _Floats,
    w_qkd: _Ints,
    w_kml: _Ints,
) -> tuple[_Floats, _Floats, _Floats, _Bools]:
    """Score ``B = (ptr.size - 1) // n_req`` plans at once.

    Parameters
    ----------
    ptr, arcs, yr, zr : ndarray
        ``B`` plans in CSR form, rows ``b * n_req + f`` (see the module notes).
    n_req : int
        Requests per plan, ``F >= 1``.
    lptr, links, survival, partial, used_ptr, used_table, mean_links, arc_class : ndarray
        The tables of :class:`~qkdbench.evaluation.pricing.SupportArrays`
        (``partial`` is its ``partial_links``).
    c_y, c_z, hop : ndarray
        Unit costs per phase and arc, and route cost per arc, of
        :class:`~qkdbench.evaluation.pricing.ArcArrays`.
    w_qkd, w_kml : ndarray (A,)
        QKD and KM reservation capacity per arc.

    Returns
    -------
    total, first_stage : ndarray (B,)
        Expected cost and its first-stage part.
    excess : ndarray (B,)
        Wavelengths reserved beyond capacity, summed over arcs (QKD + KM), plus
        the magnitude of any negative reservation: 0 for a capacity-feasible plan.
    fractional : ndarray (B,) bool
        Whether any reservation is not an integer.
    """
    n_plans = (ptr.size - 1) // n_req
    n_arcs = w_qkd.size
    total = np.zeros(n_plans)
    first = np.zeros(n_plans)
    excess = np.zeros(n_plans)
    fractional = np.zeros(n_plans, dtype=np.bool_)
    for b in prange(n_plans):
        ry = np.zeros(n_arcs)
        rz = np.zeros(n_arcs)
        acc = 0.0
        acc_first = 0.0
        bad = 0.0
        frac = False
        for f in range(n_req):
            row = b * n_req + f
            for k in range(ptr[row], ptr[row + 1]):
                a = arcs[k]
                y = yr[k]
                z = zr[k]
                uy, oy, uz, oz = _pair(
                    f,
                    a,
                    y,
                    z,
                    lptr,
                    links,
                    survival,
                    partial,
                    used_ptr,
                    used_table,
                    mean_links,
                    arc_class,
                    c_y,
                    c_z,
                )
                fs = c_y[0, a] * y + c_z[0, a] * z + hop[a]
                acc_first += fs
                acc += fs + c_y[1, a] * uy + c_y[2, a] * oy + c_z[1, a] * uz + c_z[2, a] * oz
                ry[a] += y
                rz[a] += z
                if y < 0:
                    bad -= y
                if z < 0:
                    bad -= z
                if y != np.floor(y) or z != np.floor(z):
                    frac = True
        for a in range(n_arcs):
            if ry[a] > w_qkd[a]:
                bad += ry[a] - w_qkd[a]
            if rz[a] > w_kml[a]:
                bad += rz[a] - w_kml[a]
        total[b] = acc
        first[b] = acc_first
        excess[b] = bad
        fractional[b] = frac
    return total, first, excess, fractional


@njit(cache=True, parallel=True)
def fixed_batch(
    ptr: _Ints,
    arcs: _Ints,
    n_req: int,
    tail: _Ints,
    head: _Ints,
    link_cost: _Floats,
    node_cost: _Floats,
) -> tuple[_Floats, _Floats]:
    """Fixed charges of ``B = (ptr.size - 1) // n_req`` plans.

    A link is charged once if any route of the plan uses either of its arcs
    (arc ``a`` belongs to link ``a // 2``); a node once if any route starts, ends
    or passes through it (it is the tail or head of an arc some route uses).

    Parameters
    ----------
    ptr, arcs : ndarray
        ``B`` plans in CSR form, rows ``b * n_req + f`` (reservations are not needed).
    n_req : int
        Requests per plan, ``F >= 1``.
    tail, head : ndarray (A,) int64
        Node positions of each arc's ends.
    link_cost : ndarray (L,)
        Fixed charge ``F_l`` per link.
    node_cost : ndarray (N,)
        Fixed charge ``G_n`` per node position.

    Returns
    -------
    site, node : ndarray (B,)
        Link charges and node charges per plan.
    """
    n_plans = (ptr.size - 1) // n_req
    site = np.zeros(n_plans)
    node = np.zeros(n_plans)
    for b in prange(n_plans):
        link_seen = np.zeros(link_cost.size, dtype=np.bool_)
        node_seen = np.zeros(node_cost.size, dtype=np.bool_)
        s = 0.0
        g = 0.0
        for k in range(ptr[b * n_req], ptr[(b + 1) * n_req]):
            a = arcs[k]
            lk = a >> 1
            if not link_seen[lk]:
                link_seen[lk] = True
                s += link_cost[lk]
            for n in (tail[a], head[a]):
                if not node_seen[n]:
                    node_seen[n] = True
                    g += node_cost[n]
        site[b] = s
        node[b] = g
    return site, node


@njit(cache=True)
def pair_costs(
    req: _Ints,
    arcs: _Ints,
    yr: _Floats,
    zr: _Floats,
    lptr: _Ints,
    links: _Ints,
    survival: _Floats,
    partial: _Floats,
    used_ptr: _Ints,
    used_table: _Floats,
    mean_links: _Floats,
    arc_class: _Ints,
    c_y: _Floats,
    c_z: _Floats,
    hop: _Floats,
) -> tuple[_Floats, _Floats]:
    """Expected cost of request ``req[i]`` on arc ``arcs[i]``, reservations ``yr[i]``, ``zr[i]``.

    Returns ``(qkd, km)``: the QKD part (reservation, expected use and on-demand,
    plus the arc's route cost) and the KM part, separately, so that a caller can
    optimise the two reservations independently.

    Parameters
    ----------
    req, arcs : ndarray (n,) int64
        Request position and arc id of each pair.
    yr, zr : ndarray (n,) float64
        QKD and KM reservation of each pair.
    lptr, links, survival, partial, used_ptr, used_table, mean_links, arc_class : ndarray
        The tables of :class:`~qkdbench.evaluation.pricing.SupportArrays`
        (``partial`` is its ``partial_links``).
    c_y, c_z, hop : ndarray
        Unit costs per phase and arc, and route cost per arc, of
        :class:`~qkdbench.evaluation.pricing.ArcArrays`.

    Returns
    -------
    qkd, km : ndarray (n,) float64
        The two parts of each pair's expected cost.
    """
    n = arcs.size
    out_y = np.empty(n)
    out_z = np.empty(n)
    for i in range(n):
        a = arcs[i]
        uy, oy, uz, oz = _pair(
            req[i],
            a,
            yr[i],
            zr[i],
            lptr,
            links,
            survival,
            partial,
            used_ptr,
            used_table,
            mean_links,
            arc_class,
            c_y,
            c_z,
        )
        out_y[i] = c_y[0, a] * yr[i] + c_y[1, a] * uy + c_y[2, a] * oy + hop[a]
        out_z[i] = c_z[0, a] * zr[i] + c_z[1, a] * uz + c_z[2, a] * oz
    return out_y, out_z
