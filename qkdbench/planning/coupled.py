"""Reservations on a coupled second stage: the cost of the requests sharing one arc.

With an on-demand cap the requests routed over an arc compete within a scenario
(``docs/model.md``, "Coupled second stage"), so costs no longer separate by
(request, arc). What still separates is the *arc*: for fixed routes the expected
cost is a sum over arcs, each depending only on the requests on it and their
reservations. This module prices one arc at a time (QKD shown; KM the same with
``z``, ``P`` and ``O_kml``). Request ``f`` on arc ``a`` needs ``n_f(s) = 3 P_fa(s)``
wavelengths in scenario ``s``; with reservations ``y`` the arc costs::

    C_a(y) = c[r] sum_f y_f + sum_s p_s (c[e] sum_f e_f(s) + g(D(s)))
    e_f(s) = min(y_f, n_f(s)),   D(s) = sum_f (n_f(s) - e_f(s))
    g(D) = c[o] min(D, O) + phi c[o] max(0, D - O)

(``e_f = 0`` where using a reserved wavelength is dearer than buying one). ``g`` is
convex and increasing with slope at least ``c[o] >= c[e]``, and ``D`` is a sum of
the convex ``max(0, n_f - y_f)``, so ``C_a`` is convex in each request's reservation
with the others fixed (and jointly, relaxed to reals): between integers its forward
difference ``c[r] + sum_{s: n_f(s) > y} p_s (c[e] - slope_g(D_-f(s) + n_f(s) - y))``
is non-decreasing in ``y``, so a binary search on it finds a request's best
reservation given the others (:func:`newcomer`).

Two ways of choosing an arc's reservations follow:

* :func:`newcomer` -- a request joins the arc: its best reservation with the others
  fixed, and the exact change of the arc's cost, from the arc's per-scenario
  residual ``D(s)`` (kept by the caller);
* :func:`arc_groups` -- the reservations of a set of requests on an arc, from
  nothing: coordinate descent (each request's best reservation given the others, in
  request order, until none improves) and unit exchanges (one more wavelength for
  one request, one fewer for another), within the arc's reservation capacity and
  each request's ask. Being a function of the set alone, it can be remembered per
  set, and the greedy's state stays a function of its routes.

Every kernel is compiled with Numba and has a plain-Python twin (``*_py``) that the
tests compare against it. :func:`standalone_points` gives each request's stand-alone
cost on each arc (alone on it, over the joint scenarios) as the greedy's
:class:`~qkdbench.planning.ladders.Ladders`, which order the insertions and weigh
the candidate routes (:func:`~qkdbench.planning.ladders.build_ladders` reads
:func:`standalone_points`). :func:`marginal_instance` drops the coupling (each request's
marginal, no caps): the plan a marginal-only planner would make.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..evaluation.coupled_kernels import _links_needed
from ..evaluation.pricing import arc_table, scenario_table
from ..exceptions import InputError
from ..model import Instance

__all__ = [
    "CoupledArrays",
    "coupled_arrays",
    "marginal_instance",
    "need_table",
    "newcomer",
    "newcomer_py",
    "arc_groups",
    "arc_groups_py",
    "standalone_points",
    "standalone_points_py",
    "MAX_ROUNDS",
    "N_TOP",
]

_Floats = NDArray[np.float64]
_Ints = NDArray[np.int64]
_Bools = NDArray[np.bool_]

#: A move must lower a cost by more than this (relative) to be taken.
_TOL = 1e-12

#: At most this many rounds (a coordinate-descent sweep or one exchange) per arc and kind.
MAX_ROUNDS = 200

#: Exchanges are tried between the this many requests a unit helps most and the this
#: many it costs least.
N_TOP = 6


# --------------------------------------------------------------------------- instance arrays


@dataclass(frozen=True, eq=False)
class CoupledArrays:
    """The arrays of a coupled instance the reservation kernels read, computed once.

    Attributes
    ----------
    probs : ndarray (S,)
        Scenario probabilities.
    kappa_t : ndarray (F, S)
        Key rate of each request in each scenario (a row per request).
    rate_t : ndarray (L, S)
        Key rate of one QKD link on each link in each scenario (arc ``a`` on ``a // 2``).
    c_y, c_z : ndarray (3, A)
        Unit prices per phase (reservation, reserved use, on demand).
    hop : ndarray (A,)
        Route cost per arc.
    cap_y, cap_z : ndarray (A,)
        On-demand caps (``inf``: unlimited).
    use_y, use_z : ndarray (A,) bool
        Whether a reserved wavelength is used before one is bought (``c[e] <= c[o]``).
    w_y, w_z : ndarray (A,) float
        Reservation capacities.
    phi : float
        Shortfall factor.
    p_max : ndarray (F, L) int64
        Most QKD links request ``f`` needs on link ``l`` in any scenario: no request
        reserves more than ``3 p_max`` QKD or ``p_max`` KM wavelengths on an arc.
    """

    probs: _Floats
    kappa_t: _Floats
    rate_t: _Floats
    c_y: _Floats
    c_z: _Floats
    hop: _Floats
    cap_y: _Floats
    cap_z: _Floats
    use_y: _Bools
    use_z: _Bools
    w_y: _Floats
    w_z: _Floats
    phi: float
    p_max: _Ints

    @property
    def kernel_data(self) -> tuple:
        """The instance arrays every kernel of this module takes, in their order."""
        return (
            self.kappa_t,
            self.rate_t,
            self.probs,
            self.c_y,
            self.c_z,
            self.cap_y,
            self.cap_z,
            self.use_y,
            self.use_z,
            self.w_y,
            self.w_z,
            self.phi,
        )


def _make_arrays(instance: Instance) -> CoupledArrays:
    t = scenario_table(instance)
    a = arc_table(instance)
    kappa_t = np.ascontiguousarray(t.kappa.T)
    rate_t = np.ascontiguousarray(t.rate.T)
    out = CoupledArrays(
        np.ascontiguousarray(t.probs),
        kappa_t,
        rate_t,
        a.c_y,
        a.c_z,
        a.hop,
        np.ascontiguousarray(t.cap_y),
        np.ascontiguousarray(t.cap_z),
        np.ascontiguousarray(t.use_y),
        np.ascontiguousarray(t.use_z),
        a.W_qkd.astype(float),
        a.W_kml.astype(float),
        float(t.phi),
        need_table(kappa_t, rate_t),
    )
    for arr in vars(out).values():
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    return out


def coupled_arrays(instance: Instance) -> CoupledArrays:
    """The reservation kernels' arrays of a coupled instance, computed once per instance.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.

    Returns
    -------
    CoupledArrays

    Raises
    ------
    InputError
        If the instance has no scenarios.

    Examples
    --------
    >>> from qkdbench.testing.instances import coupled_instance
    >>> arr = coupled_arrays(coupled_instance(1))
    >>> arr.kappa_t.shape, arr.p_max.shape
    ((3, 3), (3, 6))
    """
    if instance.scenarios is None:
        raise InputError(f"instance {instance.name!r} has no joint scenarios")
    return instance.derived("planning.coupled.arrays", _make_arrays)


def marginal_instance(instance: Instance) -> Instance:
    """The instance with its coupling dropped: each request's marginal, no on-demand caps.

    Parameters
    ----------
    instance : Instance
        Any instance.

    Returns
    -------
    Instance
        Without ``scenarios`` and with every ``O_qkd``, ``O_kml`` unset (the requests
        and random links already carry their marginals); the same name. An instance
        without scenarios comes back as it is.

    Examples
    --------
    >>> from qkdbench.testing.instances import coupled_instance
    >>> marginal_instance(coupled_instance(1)).features
    frozenset()
    """
    if instance.scenarios is None:
        return instance
    links = tuple(replace(link, O_qkd=None, O_kml=None) for link in instance.links)
    params = replace(instance.params, O_qkd=None, O_kml=None)
    return replace(instance, links=links, params=params, scenarios=None)


# --------------------------------------------------------------------------- compiled pieces


@njit(cache=True)
def need_table(kappa_t: _Floats, rate_t: _Floats) -> _Ints:
    """Most QKD links each request needs on each link over the scenarios.

    Parameters
    ----------
    kappa_t : ndarray (F, S)
        Key rates per request and scenario.
    rate_t : ndarray (L, S)
        Key rate of one QKD link per link and scenario.

    Returns
    -------
    ndarray (F, L) int64
        ``max_s P = max_s max(0, ceil(kappa / K - 1e-9))``.
    """
    n_req, n_sc = kappa_t.shape
    n_links = rate_t.shape[0]
    out = np.zeros((n_req, n_links), dtype=np.int64)
    for f in range(n_req):
        for k in range(n_links):
            best = 0.0
            for s in range(n_sc):
                p = _links_needed(kappa_t[f, s], rate_t[k, s])
                if p > best:
                    best = p
            out[f, k] = int(best)
    return out


@njit(cache=True, inline="always")
def _g(d: float, c_o: float, cap: float, phi: float) -> float:
    """Cost of a residual ``d``: on demand up to the cap, the rest short (the evaluator's)."""
    o = min(d, cap)
    return c_o * (o + phi * (d - o))


@njit(cache=True, inline="always")
def _slope(x: float, c_o: float, cap: float, phi: float) -> float:
    """``g(x) - g(x - 1)`` for an integer residual ``x >= 1`` and an integer cap."""
    return c_o if x <= cap else phi * c_o


@njit(cache=True)
def _user_cost(
    y: float,
    need: _Floats,
    others: _Floats,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    use: bool,
) -> float:
    """The arc's cost with one request reserving ``y`` and the others' residual ``others``.

    Leaves out the others' reservations and reserved use (constants here).
    """
    acc = 0.0
    for s in range(probs.size):
        e = min(y, need[s]) if use else 0.0
        acc += probs[s] * (c_e * e + _g(others[s] + need[s] - e, c_o, cap, phi))
    return c_r * y + acc


@njit(cache=True)
def _forward(
    y: float,
    need: _Floats,
    others: _Floats,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
) -> float:
    """``_user_cost(y + 1) - _user_cost(y)`` (reserved wavelengths used); non-decreasing."""
    acc = 0.0
    for s in range(probs.size):
        if need[s] > y:
            acc += probs[s] * (c_e - _slope(others[s] + need[s] - y, c_o, cap, phi))
    return c_r + acc


@njit(cache=True)
def _best_reservation(
    need: _Floats,
    others: _Floats,
    top: int,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    use: bool,
) -> int:
    """The smallest minimiser of :func:`_user_cost` over ``0 .. top``, by binary search."""
    if not use or top <= 0:
        return 0
    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi) // 2
        if _forward(float(mid), need, others, probs, c_r, c_e, c_o, cap, phi) >= 0.0:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _kind_cost(
    need: _Floats,
    y: _Floats,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    use: bool,
    d_out: _Floats,
) -> float:
    """One kind's cost of an arc (``need`` (n, S), reservations ``y``); residual into ``d_out``."""
    n_u, n_sc = need.shape
    first = 0.0
    for j in range(n_u):
        first += c_r * y[j]
    acc = 0.0
    for s in range(n_sc):
        used = 0.0
        res = 0.0
        for j in range(n_u):
            e = min(y[j], need[j, s]) if use else 0.0
            used += e
            res += need[j, s] - e
        d_out[s] = res
        acc += probs[s] * (c_e * used + _g(res, c_o, cap, phi))
    return first + acc


@njit(cache=True)
def _pair_move(
    need: _Floats,
    y: _Floats,
    d: _Floats,
    up: int,
    down: int,
    step: float,
    probs: _Floats,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    apply: bool,
) -> float:
    """Exact change of the arc's cost when ``up`` reserves ``step`` more and ``down`` fewer.

    With ``apply`` the move is made (``y`` and the residual ``d`` change).
    """
    acc = 0.0
    for s in range(probs.size):
        a = min(y[up] + step, need[up, s]) - min(y[up], need[up, s])
        b = min(y[down], need[down, s]) - min(y[down] - step, need[down, s])
        if a != b:
            acc += probs[s] * (
                c_e * (a - b) + _g(d[s] - a + b, c_o, cap, phi) - _g(d[s], c_o, cap, phi)
            )
            if apply:
                d[s] = d[s] - a + b
    if apply:
        y[up] += step
        y[down] -= step
    return acc


@njit(cache=True)
def _exchange(
    need: _Floats,
    y: _Floats,
    ask: _Floats,
    d: _Floats,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    scale: float,
) -> bool:
    """Apply the best exchange, if it lowers the cost; whether one was applied.

    One request reserves ``t`` more and another ``t`` fewer, ``t`` the best step (the
    cost is convex along the move, so the steps are tried up to the first that does
    not improve); the pairs tried are the :data:`N_TOP` requests a unit helps most
    times the :data:`N_TOP` it costs least.
    """
    n_u = y.size
    if n_u < 2:
        return False
    up_val = np.full(n_u, np.inf)
    down_val = np.full(n_u, np.inf)
    for j in range(n_u):
        if y[j] < ask[j]:
            acc = 0.0
            for s in range(probs.size):
                if need[j, s] > y[j]:
                    acc += probs[s] * (c_e - _slope(d[s], c_o, cap, phi))
            up_val[j] = c_r + acc
        if y[j] > 0.0:
            acc = 0.0
            for s in range(probs.size):
                if need[j, s] > y[j] - 1.0:
                    acc += probs[s] * (_slope(d[s] + 1.0, c_o, cap, phi) - c_e)
            down_val[j] = acc - c_r
    ups = np.argsort(up_val, kind="mergesort")[:N_TOP]
    downs = np.argsort(down_val, kind="mergesort")[:N_TOP]
    best = -_TOL * scale
    bi = -1
    bj = -1
    bt = 0.0
    for i in ups:
        if not np.isfinite(up_val[i]):
            break
        for j in downs:
            if not np.isfinite(down_val[j]):
                break
            if i == j:
                continue
            last = 0.0
            step = 1.0
            while y[i] + step <= ask[i] and y[j] - step >= 0.0:
                delta = _pair_move(need, y, d, i, j, step, probs, c_e, c_o, cap, phi, False)
                if delta >= last:  # convex along the move: no larger step does better
                    break
                last = delta
                if delta < best:
                    best = delta
                    bi = i
                    bj = j
                    bt = step
                step += 1.0
    if bi < 0:
        return False
    _pair_move(need, y, d, bi, bj, bt, probs, c_e, c_o, cap, phi, True)
    return True


@njit(cache=True, inline="always")
def _gain(
    need: _Floats,
    y: _Floats,
    d: _Floats,
    j: int,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
) -> float:
    """What one more reserved wavelength for request ``j`` saves (the residual ``d`` now)."""
    acc = 0.0
    for s in range(probs.size):
        if need[j, s] > y[j]:
            acc += probs[s] * (_slope(d[s], c_o, cap, phi) - c_e)
    return acc - c_r


@njit(cache=True)
def _allocate(
    need: _Floats,
    ask: _Floats,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    capacity: float,
    scale: float,
    y: _Floats,
    d: _Floats,
) -> float:
    """Marginal allocation from nothing: a wavelength at a time to the largest saving.

    Within the capacity and the asks, while some saving is positive (ties to the earlier
    request). A saving changes only with the request's own reservation or when a
    scenario's residual falls to the cap, so only those are recomputed. Returns the
    wavelengths reserved; ``y`` and the residual ``d`` change in place.
    """
    n_u = y.size
    ben = np.empty(n_u)
    for j in range(n_u):
        ben[j] = _gain(need, y, d, j, probs, c_r, c_e, c_o, cap, phi)
    held = 0.0
    while held < capacity:
        pick = -1
        top = _TOL * scale
        for j in range(n_u):
            if y[j] < ask[j] and ben[j] > top:
                top = ben[j]
                pick = j
        if pick < 0:
            break
        crossed = False
        for s in range(probs.size):
            if need[pick, s] > y[pick]:
                d[s] -= 1.0
                if d[s] == cap:  # the next wavelength short of the cap is bought, not short
                    crossed = True
        y[pick] += 1.0
        held += 1.0
        if crossed:
            for j in range(n_u):
                ben[j] = _gain(need, y, d, j, probs, c_r, c_e, c_o, cap, phi)
        else:
            ben[pick] = _gain(need, y, d, pick, probs, c_r, c_e, c_o, cap, phi)
    return held


@njit(cache=True)
def _reserve(
    need: _Floats,
    ask: _Floats,
    probs: _Floats,
    c_r: float,
    c_e: float,
    c_o: float,
    cap: float,
    phi: float,
    capacity: float,
    use: bool,
    y: _Floats,
) -> None:
    """One kind's reservations of the requests on an arc, from nothing, into ``y``.

    Marginal allocation (:func:`_allocate`), then coordinate descent in request order
    (each request's best reservation given the others, within its ask and what the
    others leave of the capacity), and an exchange (:func:`_exchange`) whenever a sweep
    changes nothing; every change lowers the cost.
    """
    n_u, n_sc = need.shape
    y[:] = 0.0
    if not use or capacity <= 0.0 or n_u == 0:
        return
    d = np.zeros(n_sc)
    for j in range(n_u):
        for s in range(n_sc):
            d[s] += need[j, s]
    others = np.empty(n_sc)
    scale = 1.0
    for s in range(n_sc):
        scale += probs[s] * _g(d[s], c_o, cap, phi)
    held = _allocate(need, ask, probs, c_r, c_e, c_o, cap, phi, capacity, scale, y, d)
    for _ in range(MAX_ROUNDS):
        changed = False
        for j in range(n_u):
            yj = y[j]
            for s in range(n_sc):
                others[s] = d[s] - max(0.0, need[j, s] - yj)
            top = int(min(ask[j], capacity - (held - yj)))
            new = float(
                _best_reservation(need[j], others, top, probs, c_r, c_e, c_o, cap, phi, use)
            )
            if new == yj:
                continue
            old_c = _user_cost(yj, need[j], others, probs, c_r, c_e, c_o, cap, phi, use)
            new_c = _user_cost(new, need[j], others, probs, c_r, c_e, c_o, cap, phi, use)
            if new_c < old_c - _TOL * scale:
                y[j] = new
                held += new - yj
                for s in range(n_sc):
                    d[s] = others[s] + max(0.0, need[j, s] - new)
                changed = True
        if not changed and not _exchange(need, y, ask, d, probs, c_r, c_e, c_o, cap, phi, scale):
            return


@njit(cache=True)
def _needs(
    users: _Ints, lo: int, hi: int, link: int, mult: float, kappa_t: _Floats, rate_t: _Floats
) -> _Floats:
    """Wavelengths ``users[lo:hi]`` need on a link per scenario: ``mult * P``, shape (n, S)."""
    n_sc = kappa_t.shape[1]
    out = np.empty((hi - lo, n_sc))
    for j in range(hi - lo):
        f = users[lo + j]
        for s in range(n_sc):
            out[j, s] = mult * _links_needed(kappa_t[f, s], rate_t[link, s])
    return out


@njit(cache=True)
def arc_groups(
    g_ptr: _Ints,
    g_arc: _Ints,
    users: _Ints,
    ask_y: _Floats,
    ask_z: _Floats,
    optimise: bool,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    w_y: _Floats,
    w_z: _Floats,
    phi: float,
) -> tuple[_Floats, _Floats, _Floats, _Floats, _Floats]:
    """Reservations and cost of groups of requests, each group on one arc.

    Parameters
    ----------
    g_ptr : ndarray (G + 1,) int64
        Group ``g`` is ``users[g_ptr[g]:g_ptr[g + 1]]`` (request positions).
    g_arc : ndarray (G,) int64
        The arc of each group.
    users : ndarray int64
        Request positions, grouped.
    ask_y, ask_z : ndarray float
        Per entry: with ``optimise``, the most it may reserve (``inf``: no limit but its
        largest need); without, its reservations, scored as they are.
    optimise : bool
        Whether to choose the reservations (from nothing, see the module notes).
    kappa_t, rate_t, probs, c_y, c_z, cap_y, cap_z, use_y, use_z, w_y, w_z, phi
        As :class:`CoupledArrays`.

    Returns
    -------
    y, z : ndarray float
        Per entry, its QKD and KM reservations (integers).
    cost : ndarray (G,)
        Each group's expected cost on its arc: reservations, reserved use, on demand and
        shortfall (no route cost).
    d_y, d_z : ndarray (G, S)
        Each group's QKD and KM residual per scenario.
    """
    n_g = g_arc.size
    n_sc = probs.size
    y_out = np.zeros(users.size)
    z_out = np.zeros(users.size)
    cost = np.zeros(n_g)
    d_y = np.zeros((n_g, n_sc))
    d_z = np.zeros((n_g, n_sc))
    for g in range(n_g):
        lo, hi = g_ptr[g], g_ptr[g + 1]
        a = g_arc[g]
        link = a // 2
        for kind in range(2):
            mult = 3.0 if kind == 0 else 1.0
            c = c_y if kind == 0 else c_z
            cap = cap_y[a] if kind == 0 else cap_z[a]
            use = use_y[a] if kind == 0 else use_z[a]
            capacity = w_y[a] if kind == 0 else w_z[a]
            asks = ask_y if kind == 0 else ask_z
            out = y_out if kind == 0 else z_out
            need = _needs(users, lo, hi, link, mult, kappa_t, rate_t)
            y = np.empty(hi - lo)
            if optimise:
                ask = np.empty(hi - lo)
                for j in range(hi - lo):
                    top = 0.0
                    for s in range(n_sc):
                        top = max(top, need[j, s])
                    ask[j] = min(asks[lo + j], top)
                _reserve(need, ask, probs, c[0, a], c[1, a], c[2, a], cap, phi, capacity, use, y)
            else:
                for j in range(hi - lo):
                    y[j] = asks[lo + j]
            d = d_y[g] if kind == 0 else d_z[g]
            cost[g] += _kind_cost(need, y, probs, c[0, a], c[1, a], c[2, a], cap, phi, use, d)
            for j in range(hi - lo):
                out[lo + j] = y[j]
    return y_out, z_out, cost, d_y, d_z


@njit(cache=True)
def newcomer(
    f: int,
    arcs: _Ints,
    d_y: _Floats,
    d_z: _Floats,
    held_y: _Floats,
    held_z: _Floats,
    hop: _Floats,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    w_y: _Floats,
    w_z: _Floats,
    phi: float,
) -> tuple[_Floats, _Floats, _Floats]:
    """Request ``f`` joins each of ``arcs``: its best reservations and the cost it adds.

    Parameters
    ----------
    f : int
        Request position.
    arcs : ndarray (m,) int64
        Arc ids.
    d_y, d_z : ndarray (m, S)
        Each arc's QKD and KM residual per scenario now (the requests already on it).
    held_y, held_z : ndarray (m,)
        Wavelengths those requests reserve on each arc.
    hop : ndarray (A,)
        Route cost per arc.
    kappa_t, rate_t, probs, c_y, c_z, cap_y, cap_z, use_y, use_z, w_y, w_z, phi
        As :class:`CoupledArrays`.

    Returns
    -------
    y, z : ndarray (m,)
        ``f``'s best reservation on each arc with the others fixed (the smallest
        minimiser, within its largest need and the capacity left).
    delta : ndarray (m,)
        The exact change of each arc's expected cost, its route cost included.
    """
    m = arcs.size
    n_sc = probs.size
    y_out = np.zeros(m)
    z_out = np.zeros(m)
    delta = np.zeros(m)
    need = np.empty(n_sc)
    for i in range(m):
        a = arcs[i]
        link = a // 2
        total = hop[a]
        for kind in range(2):
            mult = 3.0 if kind == 0 else 1.0
            c = c_y if kind == 0 else c_z
            cap = cap_y[a] if kind == 0 else cap_z[a]
            use = use_y[a] if kind == 0 else use_z[a]
            left = (w_y[a] - held_y[i]) if kind == 0 else (w_z[a] - held_z[i])
            d = d_y[i] if kind == 0 else d_z[i]
            top = 0.0
            for s in range(n_sc):
                need[s] = mult * _links_needed(kappa_t[f, s], rate_t[link, s])
                top = max(top, need[s])
            r = _best_reservation(
                need, d, int(min(top, left)), probs, c[0, a], c[1, a], c[2, a], cap, phi, use
            )
            acc = 0.0
            for s in range(n_sc):
                e = min(float(r), need[s]) if use else 0.0
                acc += probs[s] * (
                    c[1, a] * e
                    + _g(d[s] + need[s] - e, c[2, a], cap, phi)
                    - _g(d[s], c[2, a], cap, phi)
                )
            total += c[0, a] * r + acc
            if kind == 0:
                y_out[i] = r
            else:
                z_out[i] = r
        delta[i] = total
    return y_out, z_out, delta


@njit(cache=True)
def _standalone_kind(
    kind: int,
    n_req: int,
    n_arcs: int,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c: _Floats,
    caps: _Floats,
    uses: _Bools,
    phi: float,
) -> tuple[_Ints, _Floats, _Floats]:
    """:func:`standalone_points` for one kind (0: QKD, 1: KM)."""
    n_sc = probs.size
    n_pairs = n_req * n_arcs
    mult = 3.0 if kind == 0 else 1.0
    need = np.empty(n_sc)
    zero = np.zeros(n_sc)
    pts = np.empty(2 * n_sc + 1)
    ptr = np.zeros(n_pairs + 1, dtype=np.int64)
    width = np.empty(n_pairs * (2 * n_sc + 1))
    cost = np.empty(n_pairs * (2 * n_sc + 1))
    pos = 0
    for f in range(n_req):
        for a in range(n_arcs):
            cap = caps[a]
            use = uses[a]
            link = a // 2
            top = 0.0
            for s in range(n_sc):
                need[s] = mult * _links_needed(kappa_t[f, s], rate_t[link, s])
                top = max(top, need[s])
            m = 1
            pts[0] = 0.0
            if use:
                for s in range(n_sc):
                    pts[m] = need[s]
                    m += 1
                    kink = need[s] - cap
                    if kink > 0.0 and kink < top:
                        pts[m] = kink
                        m += 1
            for v in np.unique(pts[:m]):
                width[pos] = v
                cost[pos] = _user_cost(
                    v, need, zero, probs, c[0, a], c[1, a], c[2, a], cap, phi, use
                )
                pos += 1
            ptr[f * n_arcs + a + 1] = pos
    return ptr, width[:pos].copy(), cost[:pos].copy()


@njit(cache=True)
def standalone_points(
    n_req: int,
    n_arcs: int,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    phi: float,
) -> tuple[_Ints, _Floats, _Floats, _Ints, _Floats, _Floats]:
    """Each (request, arc) pair's stand-alone cost at the breakpoints of its reservation.

    Pair ``p = f * A + a`` alone on its arc: its cost is piecewise linear in its
    reservation, with breakpoints at ``0``, at every need ``n(s)`` and, with a finite
    cap ``O``, at every ``n(s) - O`` in between (only ``0`` where reserved wavelengths
    are not used). The reservation capacity is left aside, as the marginal ladders do.

    Parameters
    ----------
    n_req, n_arcs : int
        ``F`` and ``A``.
    kappa_t, rate_t, probs, c_y, c_z, cap_y, cap_z, use_y, use_z, phi
        As :class:`CoupledArrays`.

    Returns
    -------
    y_ptr : ndarray (F A + 1,) int64
        Pair ``p``'s QKD breakpoints are ``y_width[y_ptr[p]:y_ptr[p + 1]]``, ascending.
    y_width, y_cost : ndarray float
        Reservation and the pair's QKD cost there (reservation, use, on demand, shortfall).
    z_ptr, z_width, z_cost : ndarray
        The same for KM.
    """
    y_ptr, y_w, y_c = _standalone_kind(
        0, n_req, n_arcs, kappa_t, rate_t, probs, c_y, cap_y, use_y, phi
    )
    z_ptr, z_w, z_c = _standalone_kind(
        1, n_req, n_arcs, kappa_t, rate_t, probs, c_z, cap_z, use_z, phi
    )
    return y_ptr, y_w, y_c, z_ptr, z_w, z_c


# --------------------------------------------------------------------------- plain-Python twins


def _links_py(kappa: float, rate: float) -> float:
    p = math.ceil(kappa / rate - 1e-9)
    return float(p) if p > 0 else 0.0


def _g_py(d: float, c_o: float, cap: float, phi: float) -> float:
    o = min(d, cap)
    return c_o * (o + phi * (d - o))


def _slope_py(x: float, c_o: float, cap: float, phi: float) -> float:
    return c_o if x <= cap else phi * c_o


def _user_cost_py(
    y: float, need: list, others: list, probs: list, c: tuple, cap: float, phi: float, use: bool
) -> float:
    acc = 0.0
    for s, p in enumerate(probs):
        e = min(y, need[s]) if use else 0.0
        acc += p * (c[1] * e + _g_py(others[s] + need[s] - e, c[2], cap, phi))
    return c[0] * y + acc


def _best_py(
    need: list, others: list, top: int, probs: list, c: tuple, cap: float, phi: float, use: bool
) -> int:
    """The smallest minimiser over ``0 .. top``, by scanning every reservation."""
    if not use or top <= 0:
        return 0
    costs = [_user_cost_py(float(y), need, others, probs, c, cap, phi, use) for y in range(top + 1)]
    best = 0
    for y in range(1, top + 1):  # forward differences, as the kernel's binary search reads them
        step = c[0] + sum(
            p * (c[1] - _slope_py(others[s] + need[s] - (y - 1), c[2], cap, phi))
            for s, p in enumerate(probs)
            if need[s] > y - 1
        )
        if step >= 0.0:
            break
        best = y
    assert costs[best] <= min(costs) + 1e-9 * (1.0 + abs(min(costs)))
    return best


def _move_py(
    need: list[list[float]],
    y: list[float],
    d: list[float],
    i: int,
    j: int,
    step: float,
    probs: list,
    c: tuple,
    cap: float,
    phi: float,
) -> float:
    """The arc's cost with ``i`` reserving ``step`` more and ``j`` fewer, less its cost now."""
    acc = 0.0
    for s, p in enumerate(probs):
        a = min(y[i] + step, need[i][s]) - min(y[i], need[i][s])
        b = min(y[j], need[j][s]) - min(y[j] - step, need[j][s])
        if a != b:
            acc += p * (
                c[1] * (a - b) + _g_py(d[s] - a + b, c[2], cap, phi) - _g_py(d[s], c[2], cap, phi)
            )
    return acc


def _reserve_py(
    need: list[list[float]],
    ask: list[float],
    probs: list,
    c: tuple,
    cap: float,
    phi: float,
    capacity: float,
    use: bool,
) -> list[float]:
    n_u = len(need)
    y = [0.0] * n_u
    if not use or capacity <= 0.0 or n_u == 0:
        return y
    n_sc = len(probs)
    d = [sum(need[j][s] for j in range(n_u)) for s in range(n_sc)]
    held = 0.0
    scale = 1.0
    for s in range(n_sc):
        scale += probs[s] * _g_py(d[s], c[2], cap, phi)

    def gain(j: int) -> float:
        acc = 0.0
        for s in range(n_sc):
            if need[j][s] > y[j]:
                acc += probs[s] * (_slope_py(d[s], c[2], cap, phi) - c[1])
        return acc - c[0]

    while held < capacity:  # marginal allocation, every saving recomputed
        gains = [gain(j) if y[j] < ask[j] else -math.inf for j in range(n_u)]
        first = max(range(n_u), key=lambda j: (gains[j], -j))
        if not gains[first] > _TOL * scale:
            break
        for s in range(n_sc):
            if need[first][s] > y[first]:
                d[s] -= 1.0
        y[first] += 1.0
        held += 1.0
    for _ in range(MAX_ROUNDS):
        changed = False
        for j in range(n_u):
            yj = y[j]
            others = [d[s] - max(0.0, need[j][s] - yj) for s in range(n_sc)]
            top = int(min(ask[j], capacity - (held - yj)))
            new = float(_best_py(need[j], others, top, probs, c, cap, phi, use))
            if new == yj:
                continue
            old_c = _user_cost_py(yj, need[j], others, probs, c, cap, phi, use)
            new_c = _user_cost_py(new, need[j], others, probs, c, cap, phi, use)
            if new_c < old_c - _TOL * scale:
                y[j] = new
                held += new - yj
                d = [others[s] + max(0.0, need[j][s] - new) for s in range(n_sc)]
                changed = True
        if changed:
            continue
        if n_u < 2:
            return y
        up_val, down_val = [], []
        for j in range(n_u):
            up = math.inf
            if y[j] < ask[j]:
                up = c[0] + sum(
                    probs[s] * (c[1] - _slope_py(d[s], c[2], cap, phi))
                    for s in range(n_sc)
                    if need[j][s] > y[j]
                )
            down = math.inf
            if y[j] > 0.0:
                down = (
                    sum(
                        probs[s] * (_slope_py(d[s] + 1.0, c[2], cap, phi) - c[1])
                        for s in range(n_sc)
                        if need[j][s] > y[j] - 1.0
                    )
                    - c[0]
                )
            up_val.append(up)
            down_val.append(down)
        ups = sorted(range(n_u), key=lambda j: up_val[j])[:N_TOP]
        downs = sorted(range(n_u), key=lambda j: down_val[j])[:N_TOP]
        best = -_TOL * scale
        pick: tuple[int, int, float] | None = None
        for i in ups:
            if not math.isfinite(up_val[i]):
                break
            for j in downs:
                if not math.isfinite(down_val[j]):
                    break
                if i == j:
                    continue
                last, step = 0.0, 1.0
                while y[i] + step <= ask[i] and y[j] - step >= 0.0:
                    delta = _move_py(need, y, d, i, j, step, probs, c, cap, phi)
                    if delta >= last:
                        break
                    last = delta
                    if delta < best:
                        best, pick = delta, (i, j, step)
                    step += 1.0
        if pick is None:
            return y
        i, j, step = pick
        for s in range(n_sc):
            a = min(y[i] + step, need[i][s]) - min(y[i], need[i][s])
            b = min(y[j], need[j][s]) - min(y[j] - step, need[j][s])
            d[s] = d[s] - a + b
        y[i] += step
        y[j] -= step
    return y


def _kind_cost_py(
    need: list[list[float]],
    y: list[float],
    probs: list,
    c: tuple,
    cap: float,
    phi: float,
    use: bool,
) -> tuple[float, list[float]]:
    cost = sum(c[0] * v for v in y)
    d = []
    for s, p in enumerate(probs):
        used = sum(min(y[j], need[j][s]) if use else 0.0 for j in range(len(y)))
        res = sum(need[j][s] for j in range(len(y))) - used
        d.append(res)
        cost += p * (c[1] * used + _g_py(res, c[2], cap, phi))
    return cost, d


def arc_groups_py(
    g_ptr: _Ints,
    g_arc: _Ints,
    users: _Ints,
    ask_y: _Floats,
    ask_z: _Floats,
    optimise: bool,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    w_y: _Floats,
    w_z: _Floats,
    phi: float,
) -> tuple[_Floats, _Floats, _Floats, _Floats, _Floats]:
    """Plain-Python twin of :func:`arc_groups` (for tests): lists, a scan for each best reservation.

    Parameters
    ----------
    g_ptr, g_arc, users, ask_y, ask_z, optimise, kappa_t, rate_t, probs, c_y, c_z, cap_y,
    cap_z, use_y, use_z, w_y, w_z, phi :
        As :func:`arc_groups`.

    Returns
    -------
    tuple of ndarray
        As :func:`arc_groups`.
    """
    pr = [float(p) for p in probs]
    n_sc = len(pr)
    y_out = np.zeros(len(users))
    z_out = np.zeros(len(users))
    cost = np.zeros(len(g_arc))
    d_out = [np.zeros((len(g_arc), n_sc)), np.zeros((len(g_arc), n_sc))]
    for g, a in enumerate(g_arc.tolist()):
        lo, hi = int(g_ptr[g]), int(g_ptr[g + 1])
        mine = users[lo:hi].tolist()
        for kind, (mult, c_row, caps, uses, w, asks, out) in enumerate(
            (
                (3.0, c_y, cap_y, use_y, w_y, ask_y, y_out),
                (1.0, c_z, cap_z, use_z, w_z, ask_z, z_out),
            )
        ):
            c = (float(c_row[0, a]), float(c_row[1, a]), float(c_row[2, a]))
            need = [
                [
                    mult * _links_py(float(kappa_t[f, s]), float(rate_t[a // 2, s]))
                    for s in range(n_sc)
                ]
                for f in mine
            ]
            if optimise:
                ask = [min(float(asks[lo + j]), max(need[j])) for j in range(hi - lo)]
                y = _reserve_py(need, ask, pr, c, float(caps[a]), phi, float(w[a]), bool(uses[a]))
            else:
                y = [float(v) for v in asks[lo:hi]]
            part, d = _kind_cost_py(need, y, pr, c, float(caps[a]), phi, bool(uses[a]))
            cost[g] += part
            d_out[kind][g] = d
            out[lo:hi] = y
    return y_out, z_out, cost, d_out[0], d_out[1]


def newcomer_py(
    f: int,
    arcs: _Ints,
    d_y: _Floats,
    d_z: _Floats,
    held_y: _Floats,
    held_z: _Floats,
    hop: _Floats,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    w_y: _Floats,
    w_z: _Floats,
    phi: float,
) -> tuple[_Floats, _Floats, _Floats]:
    """Plain-Python twin of :func:`newcomer` (for tests): every reservation scanned.

    Parameters
    ----------
    f, arcs, d_y, d_z, held_y, held_z, hop, kappa_t, rate_t, probs, c_y, c_z, cap_y, cap_z,
    use_y, use_z, w_y, w_z, phi :
        As :func:`newcomer`.

    Returns
    -------
    tuple of ndarray
        As :func:`newcomer`.
    """
    pr = [float(p) for p in probs]
    n_sc = len(pr)
    y_out, z_out, delta = np.zeros(arcs.size), np.zeros(arcs.size), np.zeros(arcs.size)
    for i, a in enumerate(arcs.tolist()):
        total = float(hop[a])
        for kind, (mult, c_row, caps, uses, w, held, d_all, out) in enumerate(
            (
                (3.0, c_y, cap_y, use_y, w_y, held_y, d_y, y_out),
                (1.0, c_z, cap_z, use_z, w_z, held_z, d_z, z_out),
            )
        ):
            del kind
            c = (float(c_row[0, a]), float(c_row[1, a]), float(c_row[2, a]))
            cap, use = float(caps[a]), bool(uses[a])
            need = [
                mult * _links_py(float(kappa_t[f, s]), float(rate_t[a // 2, s]))
                for s in range(n_sc)
            ]
            d = [float(v) for v in d_all[i]]
            top = int(min(max(need), float(w[a]) - float(held[i])))
            r = _best_py(need, d, top, pr, c, cap, phi, use)
            base = sum(p * _g_py(d[s], c[2], cap, phi) for s, p in enumerate(pr))
            total += _user_cost_py(float(r), need, d, pr, c, cap, phi, use) - base
            out[i] = r
        delta[i] = total
    return y_out, z_out, delta


def standalone_points_py(
    n_req: int,
    n_arcs: int,
    kappa_t: _Floats,
    rate_t: _Floats,
    probs: _Floats,
    c_y: _Floats,
    c_z: _Floats,
    cap_y: _Floats,
    cap_z: _Floats,
    use_y: _Bools,
    use_z: _Bools,
    phi: float,
) -> tuple[_Ints, _Floats, _Floats, _Ints, _Floats, _Floats]:
    """Plain-Python twin of :func:`standalone_points` (for tests): every reservation priced.

    The breakpoints are found as the reservations where the cost's slope changes.

    Parameters
    ----------
    n_req, n_arcs, kappa_t, rate_t, probs, c_y, c_z, cap_y, cap_z, use_y, use_z, phi :
        As :func:`standalone_points`.

    Returns
    -------
    tuple of ndarray
        As :func:`standalone_points`, up to the breakpoints where the slope does not change
        (the kernel lists every candidate breakpoint; both describe the same function).
    """
    pr = [float(p) for p in probs]
    n_sc = len(pr)
    out: list = []
    for mult, c_row, caps, uses in ((3.0, c_y, cap_y, use_y), (1.0, c_z, cap_z, use_z)):
        ptr, width, cost = [0], [], []
        for f in range(n_req):
            for a in range(n_arcs):
                c = (float(c_row[0, a]), float(c_row[1, a]), float(c_row[2, a]))
                cap, use = float(caps[a]), bool(uses[a])
                need = [
                    mult * _links_py(float(kappa_t[f, s]), float(rate_t[a // 2, s]))
                    for s in range(n_sc)
                ]
                top = int(max(need)) if use else 0
                vals = [
                    _user_cost_py(float(y), need, [0.0] * n_sc, pr, c, cap, phi, use)
                    for y in range(top + 1)
                ]
                for y in range(top + 1):
                    inner = 0 < y < top
                    bend = inner and abs(vals[y + 1] - 2 * vals[y] + vals[y - 1]) > 1e-9 * (
                        1.0 + abs(vals[y])
                    )
                    if not inner or bend:
                        width.append(float(y))
                        cost.append(vals[y])
                ptr.append(len(width))
        out += [np.asarray(ptr, dtype=np.int64), np.asarray(width), np.asarray(cost)]
    return out[0], out[1], out[2], out[3], out[4], out[5]
