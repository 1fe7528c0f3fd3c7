"""The Numba kernels of the coupled second stage: exact recourse per (scenario, arc).

With a cap on on-demand wavelengths the requests routed over an arc compete within a
scenario (``docs/model.md``, "Coupled second stage"). For a fixed first stage the best
recourse on arc ``a`` in scenario ``s`` (QKD shown; KM the same with ``z``, ``P`` and
``O_kml``) is: each request ``f`` on the arc needs ``n_f = 3 P_fa(s)`` wavelengths and
uses ``e_f = min(yr_fa, n_f)`` of its reserved ones (none if using a reserved
wavelength is dearer than buying one); the residual ``D_a = sum_f (n_f - e_f)`` is
bought on demand up to the cap ``O_a`` and the rest falls short::

    cost_a(s) = sum_f c[e] e_f + c[o] min(D_a, O_a) + phi c[o] max(0, D_a - O_a)

These kernels sum that over the listed scenarios, weighted by their probabilities.
The plan layout is that of :mod:`qkdbench.evaluation.kernels` (CSR over requests).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from .kernels import N_QUANTITIES

__all__ = ["coupled_detail", "coupled_batch", "N_COUPLED_QUANTITIES", "S_Y", "S_Z"]

#: Rows of the per-arc quantity matrix of :func:`coupled_detail`: those of
#: :func:`~qkdbench.evaluation.kernels.score_detail`, then the expected QKD and KM
#: shortfall.
N_COUPLED_QUANTITIES = N_QUANTITIES + 2
S_Y, S_Z = N_QUANTITIES, N_QUANTITIES + 1
R_Y, E_Y, O_Y, R_Z, E_Z, O_Z, HOPS = range(N_QUANTITIES)

_CEIL_TOL = 1e-9

_Floats = NDArray[np.float64]
_Ints = NDArray[np.int64]
_Bools = NDArray[np.bool_]


@njit(cache=True, inline="always")
def _links_needed(kappa: float, rate: float) -> float:
    """``P = max(0, ceil(kappa / K - 1e-9))`` (Eq. 1), as a float."""
    p = np.ceil(kappa / rate - _CEIL_TOL)
    return p if p > 0.0 else 0.0


@njit(cache=True)
def coupled_detail(
    ptr: _Ints,
    arcs: _Ints,
    yr: _Floats,
    zr: _Floats,
    n_arcs: int,
    probs: _Floats,
    kappa: _Floats,
    rate: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    hop: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    phi: float,
) -> tuple[_Floats, _Floats]:
    """Score one plan exactly over the scenarios, in detail.

    Parameters
    ----------
    ptr, arcs, yr, zr : ndarray
        One plan in CSR form.
    n_arcs : int
        Arcs of the instance.
    probs : ndarray (S,)
        Scenario probabilities.
    kappa : ndarray (S, F)
        Key rate of each request in each scenario.
    rate : ndarray (S, L)
        Key rate of one QKD link on each link in each scenario (arc ``a`` is on link
        ``a // 2``).
    c_y, c_z : ndarray (3, A)
        Unit prices per phase (reservation, reserved use, on demand) and arc.
    hop : ndarray (A,)
        Route cost per arc.
    cap_y, cap_z : ndarray (A,)
        On-demand capacity per arc and scenario (``inf``: unlimited).
    use_y, use_z : ndarray (A,) bool
        Whether a reserved wavelength is used before buying one (``c[e] <= c[o]``).
    phi : float
        Shortfall factor.

    Returns
    -------
    q : ndarray (N_COUPLED_QUANTITIES, n_arcs)
        Per-arc totals: reserved, expected used, expected on-demand QKD wavelengths,
        the same for KM, routes using the arc, expected QKD and KM shortfall.
    request_cost : ndarray (F,)
        Expected cost of each request: its first stage and reserved use, and its share
        of each arc's on-demand and shortfall cost in proportion to its residual.
    """
    n_req = ptr.size - 1
    n_sc = probs.size
    q = np.zeros((N_COUPLED_QUANTITIES, n_arcs))
    request_cost = np.zeros(n_req)
    nnz = arcs.size
    res_y = np.zeros(nnz)
    res_z = np.zeros(nnz)
    for f in range(n_req):
        for k in range(ptr[f], ptr[f + 1]):
            a = arcs[k]
            q[R_Y, a] += yr[k]
            q[R_Z, a] += zr[k]
            q[HOPS, a] += 1.0
            request_cost[f] += c_y[0, a] * yr[k] + c_z[0, a] * zr[k] + hop[a]
    d_y = np.zeros(n_arcs)
    d_z = np.zeros(n_arcs)
    unit_y = np.zeros(n_arcs)
    unit_z = np.zeros(n_arcs)
    for s in range(n_sc):
        p = probs[s]
        d_y[:] = 0.0
        d_z[:] = 0.0
        for f in range(n_req):
            for k in range(ptr[f], ptr[f + 1]):
                a = arcs[k]
                links = _links_needed(kappa[s, f], rate[s, a // 2])
                ny = 3.0 * links
                ey = min(yr[k], ny) if use_y[a] else 0.0
                ez = min(zr[k], links) if use_z[a] else 0.0
                res_y[k] = ny - ey
                res_z[k] = links - ez
                d_y[a] += ny - ey
                d_z[a] += links - ez
                q[E_Y, a] += p * ey
                q[E_Z, a] += p * ez
                request_cost[f] += p * (c_y[1, a] * ey + c_z[1, a] * ez)
        for a in range(n_arcs):
            unit_y[a] = 0.0
            unit_z[a] = 0.0
            if d_y[a] > 0.0:
                oy = min(d_y[a], cap_y[a])
                sy = d_y[a] - oy
                q[O_Y, a] += p * oy
                q[S_Y, a] += p * sy
                unit_y[a] = (c_y[2, a] * oy + phi * c_y[2, a] * sy) / d_y[a]
            if d_z[a] > 0.0:
                oz = min(d_z[a], cap_z[a])
                sz = d_z[a] - oz
                q[O_Z, a] += p * oz
                q[S_Z, a] += p * sz
                unit_z[a] = (c_z[2, a] * oz + phi * c_z[2, a] * sz) / d_z[a]
        for f in range(n_req):
            acc = 0.0
            for k in range(ptr[f], ptr[f + 1]):
                a = arcs[k]
                acc += res_y[k] * unit_y[a] + res_z[k] * unit_z[a]
            request_cost[f] += p * acc
    return q, request_cost


@njit(cache=True, parallel=True)
def coupled_batch(
    ptr: _Ints,
    arcs: _Ints,
    yr: _Floats,
    zr: _Floats,
    n_req: int,
    probs: _Floats,
    kappa: _Floats,
    rate: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    hop: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    phi: float,
    w_qkd: _Ints,
    w_kml: _Ints,
) -> tuple[_Floats, _Floats, _Floats, _Bools]:
    """Score ``B = (ptr.size - 1) // n_req`` plans at once, exactly over the scenarios.

    Parameters
    ----------
    ptr, arcs, yr, zr : ndarray
        ``B`` plans in CSR form, rows ``b * n_req + f``.
    n_req : int
        Requests per plan, ``F >= 1``.
    probs, kappa, rate, c_y, c_z, hop, cap_y, cap_z, use_y, use_z, phi
        As :func:`coupled_detail`.
    w_qkd, w_kml : ndarray (A,)
        Reservation capacity per arc.

    Returns
    -------
    total, first_stage : ndarray (B,)
        Expected cost and its first-stage part (without fixed charges and service
        costs, which the caller adds).
    excess : ndarray (B,)
        Wavelengths reserved beyond capacity plus negative reservations.
    fractional : ndarray (B,) bool
        Whether any reservation is not an integer.
    """
    n_plans = (ptr.size - 1) // n_req
    n_arcs = w_qkd.size
    n_sc = probs.size
    total = np.zeros(n_plans)
    first = np.zeros(n_plans)
    excess = np.zeros(n_plans)
    fractional = np.zeros(n_plans, dtype=np.bool_)
    for b in prange(n_plans):
        ry = np.zeros(n_arcs)
        rz = np.zeros(n_arcs)
        d_y = np.zeros(n_arcs)
        d_z = np.zeros(n_arcs)
        touched = np.zeros(n_arcs, dtype=np.bool_)
        lo = ptr[b * n_req]
        hi = ptr[(b + 1) * n_req]
        acc_first = 0.0
        bad = 0.0
        frac = False
        for k in range(lo, hi):
            a = arcs[k]
            y = yr[k]
            z = zr[k]
            acc_first += c_y[0, a] * y + c_z[0, a] * z + hop[a]
            ry[a] += y
            rz[a] += z
            touched[a] = True
            if y < 0:
                bad -= y
            if z < 0:
                bad -= z
            if y != np.floor(y) or z != np.floor(z):
                frac = True
        second = 0.0
        for s in range(n_sc):
            d_y[:] = 0.0
            d_z[:] = 0.0
            acc = 0.0
            for f in range(n_req):
                row = b * n_req + f
                kap = kappa[s, f]
                for k in range(ptr[row], ptr[row + 1]):
                    a = arcs[k]
                    links = _links_needed(kap, rate[s, a // 2])
                    ny = 3.0 * links
                    ey = min(yr[k], ny) if use_y[a] else 0.0
                    ez = min(zr[k], links) if use_z[a] else 0.0
                    d_y[a] += ny - ey
                    d_z[a] += links - ez
                    acc += c_y[1, a] * ey + c_z[1, a] * ez
            for a in range(n_arcs):
                if not touched[a]:
                    continue
                oy = min(d_y[a], cap_y[a])
                oz = min(d_z[a], cap_z[a])
                acc += c_y[2, a] * (oy + phi * (d_y[a] - oy))
                acc += c_z[2, a] * (oz + phi * (d_z[a] - oz))
            second += probs[s] * acc
        for a in range(n_arcs):
            if ry[a] > w_qkd[a]:
                bad += ry[a] - w_qkd[a]
            if rz[a] > w_kml[a]:
                bad += rz[a] - w_kml[a]
        total[b] = acc_first + second
        first[b] = acc_first
        excess[b] = bad
        fractional[b] = frac
    return total, first, excess, fractional
