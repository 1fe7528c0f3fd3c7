"""Lagrangian relaxation of the arc capacities: a lower bound at any scale, and a planner.

The relaxation
--------------
Dualise every arc capacity row ``sum_f yr_{f,a} <= W_qkd(a)`` and
``sum_f zr_{f,a} <= W_kml(a)`` with multipliers ``lam_qkd[a], lam_km[a] >= 0``.
What is left separates by request:

    L(lam) = sum_f  min over simple s_f -> d_f paths  sum_{a in path} w_fa(lam)
             - sum_a (lam_qkd[a] W_qkd(a) + lam_km[a] W_kml(a))

with the *priced newsvendor* weight of request ``f`` on arc ``a``

    w_fa(lam) = min_{0 <= y <= W_qkd(a)} [R^qkd_fa(y) + lam_qkd[a] y]
              + min_{0 <= z <= W_kml(a)} [R^km_fa(z) + lam_km[a] z],

where ``R`` is the pair's expected cost (reservation, expected use, expected
on-demand, plus the arc's route cost on the QKD part) read from the one
evaluator, :func:`~qkdbench.evaluation.pair_costs`. ``R`` is convex and
piecewise linear with breakpoints at the support's wavelength needs (``3P``
QKD, ``P`` KM; docs/model.md, property 4), so each minimum is attained at one of
those breakpoints clipped to ``[0, W]``: the curves are read once at those
points and every later price costs one vectorised ``min`` over them. The
per-pair bound ``y <= W(a)`` is implied by the capacity row (reservations
are non-negative), so keeping it in the subproblem is valid and makes the
bound a little stronger; with ``lam = 0`` and no single pair's newsvendor
reservation above its arc's capacity, ``L(0)`` is exactly the capacity-free
bound :func:`~qkdbench.exact.relaxation_bound`.

Targets and providers (extension X3): the provider capacity rows
``sum_{f, t of A} w_{f,t} <= k_A`` are dualised too, with one multiplier
``mu_A >= 0`` per provider with a capacity. A request with targets then takes
the best (target, path): the shortest path to each target's node plus its
service cost plus ``mu`` of its provider, and ``L`` subtracts ``mu . k``. A
request with a single target is the special case of one target at no cost.
Fixed charges (X1) are non-negative and left out, so ``L`` stays a bound.

Weights are non-negative (every cost and price is), so each request's
minimum is a shortest path (Dijkstra), and a shortest path is simple.
Requests with the same key-rate distribution have the same curves, so they
share weights, and requests that also share a source share one Dijkstra
(generated instances have one distribution: 1000 requests on germany50 need
at most 50 shortest-path trees per price). Every ``L(lam)`` with
``lam >= 0`` is a valid lower bound on the optimum (weak duality).

Maximising the dual
-------------------
``L`` is concave and piecewise linear; ``g = usage(lam) - W`` (the reserved
wavelengths of the priced solution minus the capacity, per arc) is a
supergradient. We use a **projected, deflected subgradient method with the
Polyak step** ``t = theta (UB - L(lam)) / ||d||^2`` towards the best plan's
cost ``UB``, the direction ``d = g + beta d_prev`` deflected as in
Camerini, Fratta and Maffioli (``beta = -gamma g.d_prev / ||d_prev||^2``
when the two point against each other, else 0) and ``theta`` halved after
``patience`` iterations without a better bound. Why this and not a bundle
method: one evaluation of ``L`` costs milliseconds (a vectorised pricing and
a few dozen shortest-path trees) while a bundle method needs a quadratic
program over up to ``2A`` multipliers per step; the target ``UB`` is
available for free because the primal heuristic below runs at every
iteration, and the deflection removes most of the zig-zag between arcs that
trade load, which is what slows plain subgradient steps here. The method
starts from ``lam = 0`` (the capacity-free solution) and keeps the best
bound seen.

The primal (Lagrangian) heuristic
---------------------------------
At every iteration the priced routing (each request's priced shortest path)
is turned into a feasible plan by the greedy's water-filling
(:func:`~qkdbench.heuristics.saa_greedy.waterfill`): with the routes fixed,
each arc's reservation capacity goes to the largest marginal benefits first,
which is the cost-minimal reservation for those routes. When the priced
targets overfill a provider (X3), the targets are chosen again within the
provider capacities by a min-cost assignment on the priced target costs
(:func:`~qkdbench.planning.providers.assign_targets`) before the reservations are
set. The plan is scored
by the evaluator (:func:`~qkdbench.evaluation.evaluate_batch`) and the
cheapest one is kept. Its cost is the Polyak target; its gap to the best
bound is *certified*: ``(cost - bound) / cost``.

No step is random: ``seed`` is accepted for the planner protocol and changes
nothing. A run stopped by its iteration cap is deterministic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from ..evaluation import (
    PlanArrays,
    decode_plan,
    encode_plan,
    evaluate_batch,
    pair_costs,
    plan_fixed_charges,
)
from ..evaluation.pricing import arc_table, provider_table, support_table
from ..model import KM_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance, Plan
from ..planning import (
    Candidates,
    GreedyState,
    Ladders,
    build_ladders,
    insertion_order,
    standalone_arc_costs,
    waterfill,
)
from ..utils.gaps import relative_gap
from ..utils.jsonsafe import finite_or_none
from ..utils.registry import FEATURES, check_supports, register_planner
from ..utils.timing import Stopwatch

__all__ = [
    "PricedCurves",
    "DualPoint",
    "LagrangianResult",
    "priced_curves",
    "lagrangian_value",
    "lagrangian_bound",
    "improve_with_columns",
    "reduced_cost_keep",
    "LagrangianPlanner",
    "BOUND_SOURCE",
]

#: How a bound from this module is labelled (``plan.stats["bound_source"]``).
BOUND_SOURCE = "lagrangian"

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KM_WAVELENGTHS_PER_LINK)


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True, eq=False)
class PricedCurves:
    """The convex cost curves of every (demand group, arc), read once at their breakpoints.

    Requests with the same key-rate distribution form one *group*; they have
    the same expected cost on every arc, whatever their end points.

    Attributes
    ----------
    group : ndarray (F,) int64
        Group of each request.
    representative : ndarray (G,) int64
        One request of each group (the first in instance order).
    y, cy : ndarray (G, A, K) float64
        Candidate QKD reservations (the breakpoints ``3P``, with 0, clipped to
        ``W_qkd(a)``, ascending; padded by repeating the last) and the pair's
        expected QKD cost there (including the arc's route cost).
    z, cz : ndarray (G, A, K) float64
        The same for KM (breakpoints ``P`` clipped to ``W_kml(a)``).
    """

    group: np.ndarray
    representative: np.ndarray
    y: np.ndarray
    cy: np.ndarray
    z: np.ndarray
    cz: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of demand groups."""
        return int(self.representative.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the curves."""
        return int(self.y.nbytes + self.cy.nbytes + self.z.nbytes + self.cz.nbytes)


def _demand_groups(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    s = support_table(instance)
    keys: dict[tuple, int] = {}
    group = np.empty(instance.n_requests, dtype=np.int64)
    reps: list[int] = []
    for f in range(instance.n_requests):
        sl = slice(s.ptr[f], s.ptr[f + 1])
        key = (s.kappa[sl].tobytes(), s.prob[sl].tobytes())
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(reps)
            reps.append(f)
        group[f] = g
    return group, np.asarray(reps, dtype=np.int64)


def priced_curves(instance: Instance) -> PricedCurves:
    """Read the cost curves of ``instance`` at their breakpoints (one evaluator call).

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    PricedCurves

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> cur = priced_curves(make_instance("nsfnet", 6, 3, seed=1))
    >>> cur.n_groups, cur.y.shape[1:]
    (1, (42, 4))
    """
    group, reps = _demand_groups(instance)
    s = support_table(instance)
    arcs = arc_table(instance)
    G, A = reps.size, arcs.n
    n_cls = s.n_classes
    levels = [
        [np.unique(np.concatenate(([0], s.link_counts(c, f)[0]))) for c in range(n_cls)]
        for f in reps
    ]
    K = max([lv.size for per in levels for lv in per], default=1)
    lv = np.zeros((G, n_cls, K))
    for g in range(G):
        for c in range(n_cls):
            v = levels[g][c].astype(float)
            lv[g, c, : v.size] = v
            lv[g, c, v.size :] = v[-1]
    per_arc = lv[:, s.arc_class, :] if A else np.zeros((G, 0, K))  # (G, A, K)
    y = np.minimum(_WY * per_arc, arcs.W_qkd.astype(float)[None, :, None])
    z = np.minimum(_WZ * per_arc, arcs.W_kml.astype(float)[None, :, None])
    req = np.broadcast_to(reps[:, None, None], y.shape).ravel()
    arc = np.broadcast_to(np.arange(A)[None, :, None], y.shape).ravel()
    if req.size:
        cy, cz = pair_costs(instance, req, arc, y.ravel(), z.ravel())
    else:
        cy = cz = np.zeros(0)
    return PricedCurves(group, reps, y, cy.reshape(y.shape), z, cz.reshape(z.shape))


# --------------------------------------------------------------------------- shortest paths


@njit(cache=True)
def _shortest_path_trees(n_nodes, out_ptr, out_arc, head, weight, job_row, job_source):
    """Dijkstra from ``job_source[j]`` under arc weights ``weight[job_row[j]]``.

    Binary heap with lazy deletion; ties pop the smaller node id first and a
    label changes only on a strict improvement, so the trees are deterministic.
    Returns the predecessor arc of every node per job (-1: source or unreached)
    and the distances (``inf``: unreached).
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
def _trace_paths(pred, tail, req_job, req_source, req_target):
    """The arcs of each request's path, source to target, in CSR form."""
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


@dataclass(frozen=True, eq=False)
class _Network:
    """Adjacency and shortest-path jobs of one instance (built once per run)."""

    n_nodes: int
    out_ptr: np.ndarray
    out_arc: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    job_row: np.ndarray
    job_source: np.ndarray
    req_job: np.ndarray
    req_source: np.ndarray
    req_target: np.ndarray


def _network(instance: Instance, group: np.ndarray) -> _Network:
    arcs = arc_table(instance)
    n = len(instance.nodes)
    order = np.argsort(arcs.tail, kind="stable")
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    out_ptr[1:] = np.cumsum(np.bincount(arcs.tail, minlength=n))
    idx = instance.node_index
    src = np.asarray([idx[r.source] for r in instance.requests], dtype=np.int64)
    dst = np.asarray(
        [-1 if r.is_anycast else idx[r.target] for r in instance.requests], dtype=np.int64
    )
    jobs: dict[tuple[int, int], int] = {}
    req_job = np.empty(instance.n_requests, dtype=np.int64)
    for f in range(instance.n_requests):
        req_job[f] = jobs.setdefault((int(group[f]), int(src[f])), len(jobs))
    keys = np.asarray(list(jobs), dtype=np.int64).reshape(-1, 2)
    return _Network(
        n,
        out_ptr,
        order.astype(np.int64),
        arcs.head.astype(np.int64),
        arcs.tail.astype(np.int64),
        keys[:, 0].copy(),
        keys[:, 1].copy(),
        req_job,
        src,
        dst,
    )


# --------------------------------------------------------------------------- L(lam)


@dataclass(frozen=True, eq=False)
class DualPoint:
    """``L(lam)`` and the priced solution that attains it.

    Attributes
    ----------
    value : float
        ``L(lam)``, a lower bound on the optimal expected cost.
    routing : PlanArrays
        Each request's priced shortest path with its priced reservations
        (those minimising ``R(y) + lam y``; the smallest minimiser). It may
        exceed the capacities: it is the relaxation's solution, not a plan.
    usage_qkd, usage_km : ndarray (A,)
        Reserved wavelengths per arc in ``routing``.
    subgradient_qkd, subgradient_km : ndarray (A,)
        ``usage - W``: a supergradient of the concave ``L`` at ``lam``.
    load, subgradient_provider : ndarray (providers,)
        Requests served per provider (X3) in ``routing``, and ``load - k`` for
        the providers with a capacity (0 for the others).
    target_cost : ndarray
        Per target position of :func:`~qkdbench.evaluation.pricing.provider_table`:
        the priced shortest-path distance from the request's source to the
        target's node plus its service cost and its provider's price ``mu``.
    pred : ndarray (jobs, N)
        The shortest-path trees (predecessor arcs) of the priced weights.
    """

    value: float
    routing: PlanArrays
    usage_qkd: np.ndarray
    usage_km: np.ndarray
    subgradient_qkd: np.ndarray
    subgradient_km: np.ndarray
    load: np.ndarray = field(default_factory=lambda: np.zeros(0))
    subgradient_provider: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pred: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))


def _check_prices(lam: Any, n: int, name: str) -> np.ndarray:
    out = np.zeros(n) if lam is None else np.asarray(lam, dtype=float)
    if out.shape != (n,):
        raise ValueError(f"{name} must have one price per arc ({n}), got shape {out.shape}")
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return out


def _check_provider_prices(instance: Instance, mu: Any) -> np.ndarray:
    """Provider prices (X3): one per provider, zero for those without a capacity."""
    pt = provider_table(instance)
    n = len(pt.ids)
    out = np.zeros(n) if mu is None else np.asarray(mu, dtype=float)
    if out.shape != (n,):
        raise ValueError(f"mu must have one price per provider ({n}), got shape {out.shape}")
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ValueError("mu must be finite and non-negative")
    return np.where(pt.capacity >= 0, out, 0.0)


def _target_costs(
    instance: Instance, net: _Network, dist: np.ndarray, mu: np.ndarray
) -> np.ndarray:
    """Per target position: priced distance to its node + service cost + provider price."""
    pt = provider_table(instance)
    owner = np.repeat(np.arange(instance.n_requests), np.diff(pt.ptr))
    price = np.where(pt.provider >= 0, mu[np.maximum(pt.provider, 0)], 0.0) if mu.size else 0.0
    return dist[net.req_job[owner], pt.node] + pt.service_cost + price


def _first_min(ptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position (within its segment) of the first minimum of each CSR segment."""
    n = ptr.size - 1
    out = np.zeros(n, dtype=np.int64)
    counts = np.diff(ptr)
    for f in np.flatnonzero(counts > 1):
        out[f] = int(np.argmin(values[ptr[f] : ptr[f + 1]]))
    return out


def _provider_load(instance: Instance, target: np.ndarray) -> np.ndarray:
    """Requests served per provider when request ``f`` takes its target ``target[f]``."""
    pt = provider_table(instance)
    prov = pt.provider[pt.ptr[:-1] + target]
    return np.bincount(prov[prov >= 0], minlength=len(pt.ids)).astype(float)


def _evaluate_dual(
    instance: Instance,
    cur: PricedCurves,
    net: _Network,
    lam_qkd: np.ndarray,
    lam_km: np.ndarray,
    mu: np.ndarray | None = None,
) -> DualPoint:
    arcs = arc_table(instance)
    pt = provider_table(instance)
    F = instance.n_requests
    A = arcs.n
    W_y = arcs.W_qkd.astype(float)
    W_z = arcs.W_kml.astype(float)
    mu = np.zeros(len(pt.ids)) if mu is None else mu
    cap = np.where(pt.capacity >= 0, pt.capacity, 0).astype(float)
    if F == 0:
        empty = PlanArrays(
            np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), 0
        )
        return DualPoint(
            -float(lam_qkd @ W_y + lam_km @ W_z + mu @ cap),
            empty,
            np.zeros(A),
            np.zeros(A),
            -W_y,
            -W_z,
        )
    py = cur.cy + lam_qkd[None, :, None] * cur.y
    pz = cur.cz + lam_km[None, :, None] * cur.z
    ky = np.argmin(py, axis=2)  # first minimiser: the smallest reservation
    kz = np.argmin(pz, axis=2)
    wy = np.take_along_axis(py, ky[..., None], 2)[..., 0]
    wz = np.take_along_axis(pz, kz[..., None], 2)[..., 0]
    ystar = np.take_along_axis(cur.y, ky[..., None], 2)[..., 0]
    zstar = np.take_along_axis(cur.z, kz[..., None], 2)[..., 0]
    weight = wy + wz  # (G, A), non-negative
    pred, dist = _shortest_path_trees(
        net.n_nodes, net.out_ptr, net.out_arc, net.head, weight, net.job_row, net.job_source
    )
    # each request's cheapest target (X3): priced path + service cost + provider price
    tcost = _target_costs(instance, net, dist, mu)
    target = _first_min(pt.ptr, tcost)
    chosen = pt.ptr[:-1] + target
    ptr, path_arcs, bad = _trace_paths(pred, net.tail, net.req_job, net.req_source, pt.node[chosen])
    if bad >= 0:  # Instance validation makes every target reachable; never silently wrong
        raise RuntimeError(f"request {instance.requests[bad].id!r}: no path found")
    g_of = np.repeat(cur.group, np.diff(ptr))
    yr = ystar[g_of, path_arcs]
    zr = zstar[g_of, path_arcs]
    value = math.fsum(tcost[chosen]) - float(lam_qkd @ W_y) - float(lam_km @ W_z) - float(mu @ cap)
    use_y = np.bincount(path_arcs, weights=yr, minlength=A)
    use_z = np.bincount(path_arcs, weights=zr, minlength=A)
    load = _provider_load(instance, target)
    routing = PlanArrays(ptr, path_arcs, yr, zr, F, target if pt.active else None)
    return DualPoint(
        value,
        routing,
        use_y,
        use_z,
        use_y - W_y,
        use_z - W_z,
        load,
        np.where(pt.capacity >= 0, load - cap, 0.0),
        tcost,
        pred,
    )


def lagrangian_value(
    instance: Instance,
    lam_qkd: np.ndarray | None = None,
    lam_km: np.ndarray | None = None,
    *,
    curves: PricedCurves | None = None,
    mu: np.ndarray | None = None,
) -> DualPoint:
    """Evaluate the Lagrangian dual function ``L(lam, mu)`` (a valid lower bound).

    Parameters
    ----------
    instance : Instance
    lam_qkd, lam_km : ndarray (A,), optional
        Non-negative prices of one reserved QKD / KM wavelength on each arc
        (default 0: the capacity-free bound).
    curves : PricedCurves, optional
        :func:`priced_curves` of ``instance``, to reuse across calls.
    mu : ndarray, optional
        Non-negative price of serving one request, per provider of
        :func:`~qkdbench.evaluation.pricing.provider_table` (X3; ignored for a
        provider without a capacity; default 0).

    Returns
    -------
    DualPoint

    Raises
    ------
    ValueError
        If a price vector has the wrong length or a negative entry.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> from qkdbench.exact import relaxation_bound
    >>> inst = make_instance("nsfnet", 6, 3, seed=1)
    >>> point = lagrangian_value(inst)
    >>> abs(point.value - relaxation_bound(inst)) <= 1e-9 * point.value
    True
    """
    A = arc_table(instance).n
    lq = _check_prices(lam_qkd, A, "lam_qkd")
    lk = _check_prices(lam_km, A, "lam_km")
    cur = curves if curves is not None else priced_curves(instance)
    return _evaluate_dual(
        instance, cur, _network(instance, cur.group), lq, lk, _check_provider_prices(instance, mu)
    )


# --------------------------------------------------------------------------- pruning


def _all_pairs_distances(
    n_nodes: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Shortest-path distances between all nodes, per weight row (Floyd-Warshall), (G, N, N)."""
    G = weight.shape[0]
    dist = np.full((G, n_nodes, n_nodes), np.inf)
    for g in range(G):
        np.minimum.at(dist[g], (tail, head), weight[g])
    idx = np.arange(n_nodes)
    dist[:, idx, idx] = 0.0
    for k in range(n_nodes):
        np.minimum(dist, dist[:, :, k, None] + dist[:, None, k, :], out=dist)
    return dist


def reduced_cost_keep(
    instance: Instance,
    req: np.ndarray,
    arc: np.ndarray,
    lam_qkd: np.ndarray | None,
    lam_km: np.ndarray | None,
    upper_bound: float,
    *,
    curves: PricedCurves | None = None,
    mu: np.ndarray | None = None,
) -> np.ndarray:
    """Which (request, arc) pairs a plan costing at most ``upper_bound`` may use.

    The argument (Lagrangian reduced costs). For prices ``lam >= 0`` and any
    feasible plan ``x`` (reservations within every capacity),

        cost(x) >= cost(x) + sum_a lam_a (usage_a(x) - W_a)
                 = sum_f sum_{a in path_f} [R_fa(y_fa) + lam_a y_fa] - lam . W
                 >= sum_f sum_{a in path_f} w_fa(lam) - lam . W,

    (the added term is ``<= 0``; each pair's priced cost is at least its
    priced-newsvendor weight ``w_fa(lam)``, whose minimum is over
    ``0 <= y <= W(a)`` as for any feasible reservation). If ``x`` routes
    request ``f`` over arc ``a``, its path costs at least
    ``d_f(s_f, tail a) + w_fa + d_f(head a, t_f)`` under these weights and
    every other request's path at least its shortest path ``SP_g(lam)``, so

        cost(x) >= L(lam) - SP_f(lam) + [d_f(s_f, tail a) + w_fa + d_f(head a, t_f)].

    A pair where the right-hand side exceeds ``upper_bound`` (beyond a
    relative ``1e-9`` tolerance) is used by no plan that costs at most
    ``upper_bound``; with ``upper_bound`` the cost of a known feasible plan,
    every optimal plan keeps all its pairs, so dropping the others leaves the
    optimum unchanged. ``lam = 0`` gives the capacity-free test.

    With targets (X3), ``t_f`` is whichever target the plan chooses: the path
    to target ``t`` then costs at least its service cost ``c_t`` more, and with
    provider prices ``mu >= 0`` on the provider capacity rows the same
    argument adds ``mu_A(t)`` per request served by ``A`` and subtracts
    ``mu . k``. So ``SP_f`` becomes ``min_t [d_f(s_f, t) + c_t + mu_A(t)]`` and
    the last term ``min_t [d_f(head a, t) + c_t + mu_A(t)]``: every target is
    kept in reach.

    Parameters
    ----------
    instance : Instance
    req, arc : ndarray of int
        The pairs to test (request position, arc id).
    lam_qkd, lam_km : ndarray (A,) or None
        Non-negative prices (``None``: zero).
    upper_bound : float
        Cost of a known feasible plan.
    curves : PricedCurves, optional
        :func:`priced_curves` of ``instance``, to reuse.
    mu : ndarray, optional
        Non-negative provider prices (X3), as in :func:`lagrangian_value`.

    Returns
    -------
    ndarray of bool
        ``True`` for the pairs to keep.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 4, 3, seed=1)
    >>> A = arc_table(inst).n
    >>> req, arc = np.repeat(np.arange(4), A), np.tile(np.arange(A), 4)
    >>> keep = reduced_cost_keep(inst, req, arc, None, None, lagrangian_value(inst).value)
    >>> bool(keep.any()), bool(keep.all())
    (True, False)
    """
    arcs = arc_table(instance)
    A = arcs.n
    lq = _check_prices(lam_qkd, A, "lam_qkd")
    lk = _check_prices(lam_km, A, "lam_km")
    cur = curves if curves is not None else priced_curves(instance)
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    if instance.n_requests == 0 or req.size == 0:
        return np.ones(req.size, dtype=bool)
    py = cur.cy + lq[None, :, None] * cur.y
    pz = cur.cz + lk[None, :, None] * cur.z
    weight = py.min(axis=2) + pz.min(axis=2)  # (G, A), w_fa(lam) per demand group
    n = len(instance.nodes)
    dist = _all_pairs_distances(n, arcs.tail, arcs.head, weight)
    idx = instance.node_index
    src = np.asarray([idx[r.source] for r in instance.requests], dtype=np.int64)
    grp = cur.group
    # targets per request, padded: node and extra cost (service + provider price)
    pt = provider_table(instance)
    m = _check_provider_prices(instance, mu)
    counts = np.diff(pt.ptr)
    T = int(counts.max())
    tnode = np.zeros((instance.n_requests, T), dtype=np.int64)
    extra = np.full((instance.n_requests, T), np.inf)
    col = np.arange(pt.node.size) - np.repeat(pt.ptr[:-1], counts)
    row = np.repeat(np.arange(instance.n_requests), counts)
    tnode[row, col] = pt.node
    price = np.where(pt.provider >= 0, m[np.maximum(pt.provider, 0)], 0.0) if m.size else 0.0
    extra[row, col] = pt.service_cost + price
    cap = np.where(pt.capacity >= 0, pt.capacity, 0).astype(float)
    sp = (dist[grp[:, None], src[:, None], tnode] + extra).min(axis=1)  # SP_f, per request
    value = math.fsum(sp) - float(lq @ arcs.W_qkd) - float(lk @ arcs.W_kml) - float(m @ cap)
    g = grp[req]
    rest = (dist[g[:, None], arcs.head[arc][:, None], tnode[req]] + extra[req]).min(axis=1)
    through = dist[g, src[req], arcs.tail[arc]] + weight[g, arc] + rest
    lower = value - sp[req] + through
    tol = 1e-9 * max(abs(upper_bound), 1.0)
    return lower <= upper_bound + tol


# --------------------------------------------------------------------------- repair


def _repair(
    instance: Instance, ladders: Ladders, group: np.ndarray, routing: PlanArrays
) -> PlanArrays:
    """The cost-minimal reservations for the routing's paths (water-filling per arc)."""
    arcs = arc_table(instance)
    A = arcs.n
    if routing.arcs.size == 0:
        return routing
    owner = np.repeat(group, np.diff(routing.ptr))
    pairs = owner * A + routing.arcs
    y = waterfill(
        ladders.y_ptr, ladders.y_len, ladders.y_ben, pairs, routing.arcs, arcs.W_qkd.astype(float)
    )
    z = waterfill(
        ladders.z_ptr, ladders.z_len, ladders.z_ben, pairs, routing.arcs, arcs.W_kml.astype(float)
    )
    return PlanArrays(
        routing.ptr, routing.arcs, np.round(y), np.round(z), routing.n_requests, routing.target
    )


def _fit_providers(instance: Instance, net: _Network, point: DualPoint) -> PlanArrays:
    """The priced routing with targets that respect the provider capacities (X3).

    When a provider serves more requests than its capacity, the targets are
    chosen again by :func:`~qkdbench.planning.providers.assign_targets` on the
    point's priced target costs, and each request follows its priced
    shortest-path tree to its new target (reservations are set by
    :func:`_repair`).
    """
    from ..planning.providers import assign_targets

    pt = provider_table(instance)
    capped = pt.capacity >= 0
    if not np.any(capped & (point.load > pt.capacity)):
        return point.routing
    target = assign_targets(instance, point.target_cost)
    ptr, arcs, bad = _trace_paths(
        point.pred, net.tail, net.req_job, net.req_source, pt.node[pt.ptr[:-1] + target]
    )
    if bad >= 0:
        raise RuntimeError(f"request {instance.requests[bad].id!r}: no path found")
    zeros = np.zeros(arcs.size)
    return PlanArrays(ptr, arcs, zeros, zeros.copy(), instance.n_requests, target)


def _plan_cost(instance: Instance, plan: PlanArrays) -> float:
    """Expected cost of one plan: the evaluator's pair costs summed over its routes.

    With the chosen targets' service costs (X3) and the fixed charges of the
    links and nodes it uses (X1). Equal to
    :func:`~qkdbench.evaluation.evaluate_batch` up to the order of summation,
    without the batch kernel's thread start-up on every iteration.
    """
    if plan.arcs.size == 0:
        return 0.0
    req = np.repeat(np.arange(plan.n_requests), np.diff(plan.ptr))
    cy, cz = pair_costs(instance, req, plan.arcs, plan.yr, plan.zr)
    pt = provider_table(instance)
    service = pt.service_cost[pt.ptr[:-1] + plan.targets()] if pt.active else np.zeros(0)
    site, node = plan_fixed_charges(instance, plan.arcs)
    return math.fsum(cy) + math.fsum(cz) + math.fsum(service) + site + node


# --------------------------------------------------------------------------- dual ascent


@dataclass(frozen=True, eq=False)
class LagrangianResult:
    """The outcome of :func:`lagrangian_bound`.

    Attributes
    ----------
    bound : float
        The best ``L(lam)`` found: a valid lower bound on the optimum.
    bound_source : str
        ``"lagrangian"``.
    iterations : int
        Evaluations of ``L``.
    lam_qkd, lam_km : ndarray (A,)
        The prices of the best bound.
    plan : PlanArrays or None
        The cheapest feasible plan found by the primal heuristic.
    cost : float
        Its expected cost (evaluator), ``inf`` without a plan.
    gap : float
        Certified relative gap ``(cost - bound) / cost`` (0 when both are 0).
    stop : str
        ``"proven"`` (plan cost meets the bound), ``"stationary"`` (a zero
        projected supergradient: the dual optimum), ``"step"`` (the step
        size fell below its floor), ``"iterations"`` or ``"time_limit"``.
    runtime_s, setup_s : float
        Seconds in all, and for reading the curves and ladders.
    history : list of tuple
        ``(iteration, L(lam), best bound, best cost)`` per iteration.
    columns : list of tuple
        Per request, the distinct priced paths (arc-id tuples) seen, in order.
    mu : ndarray (providers,)
        The provider prices of the best bound (X3; 0 for providers without a
        capacity).
    """

    bound: float
    bound_source: str
    iterations: int
    lam_qkd: np.ndarray
    lam_km: np.ndarray
    plan: PlanArrays | None
    cost: float
    gap: float
    stop: str
    runtime_s: float
    setup_s: float
    history: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    mu: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict[str, Any]:
        """The scalar facts, as plain JSON values (``inf`` and ``nan`` become ``None``)."""
        num = finite_or_none
        return {
            "bound": num(self.bound),
            "bound_source": self.bound_source,
            "iterations": self.iterations,
            "cost": num(self.cost),
            "gap": num(self.gap),
            "stop": self.stop,
            "runtime_s": self.runtime_s,
            "setup_s": self.setup_s,
        }


def lagrangian_bound(
    instance: Instance,
    *,
    iterations: int = 2000,
    time_limit: float | None = None,
    theta: float = 1.0,
    patience: int = 20,
    gamma: float = 1.5,
    min_theta: float = 1e-5,
    tol: float = 1e-9,
    callback: Callable[[int, float, float], None] | None = None,
    clock: Stopwatch | None = None,
) -> LagrangianResult:
    """Maximise the Lagrangian dual of the capacity rows; keep the best bound and plan.

    Parameters
    ----------
    instance : Instance
    iterations : int
        Most evaluations of ``L`` (at least one always runs).
    time_limit : float, optional
        Seconds for the whole call, setup included; the clock is read before
        every iteration after the first.
    theta : float
        Initial Polyak step factor (in ``(0, 2]``).
    patience : int
        Iterations without a better bound after which ``theta`` is halved.
    gamma : float
        Deflection strength (0 turns deflection off: plain projected subgradient).
    min_theta : float
        Stop when ``theta`` falls below this.
    tol : float
        Stop (``"proven"``) once ``cost - bound <= tol * cost``.
    callback : callable, optional
        Called as ``callback(iteration, bound, cost)`` after each iteration.
    clock : Stopwatch, optional
        A running clock to charge (overrides ``time_limit``).

    Returns
    -------
    LagrangianResult

    Examples
    --------
    >>> from qkdbench.model import Params
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 8, 4, seed=1, params=Params(W_qkd=20, W_kml=6))
    >>> res = lagrangian_bound(inst, iterations=200)
    >>> res.bound_source, res.bound <= res.cost, res.gap < 0.05
    ('lagrangian', True, True)
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    clock = clock or Stopwatch(time_limit)
    start = time.perf_counter()
    arcs = arc_table(instance)
    A = arcs.n
    cur = priced_curves(instance)
    net = _network(instance, cur.group)
    reps = instance.with_requests([instance.requests[f] for f in cur.representative])
    ladders = build_ladders(reps)
    setup_s = time.perf_counter() - start
    pt = provider_table(instance)
    capped = np.flatnonzero(pt.capacity >= 0)  # X3: priced provider capacity rows
    mu = np.zeros(len(pt.ids))
    lam = np.zeros(2 * A + capped.size)
    best_bound, best_lam = -math.inf, lam.copy()
    best_cost, best_plan = math.inf, None
    d_prev: np.ndarray | None = None
    last_key: tuple[bytes, bytes] | None = None
    columns: list[dict[tuple, None]] = [{} for _ in range(instance.n_requests)]
    stall, it, stop = 0, 0, "iterations"
    history: list[tuple[int, float, float, float]] = []
    while it < iterations:
        if it > 0 and clock.expired():
            stop = "time_limit"
            break
        it += 1
        mu[capped] = lam[2 * A :]
        point = _evaluate_dual(instance, cur, net, lam[:A], lam[A : 2 * A], mu)
        if it == 1 or point.value > best_bound + 1e-12 * abs(best_bound):
            best_bound, best_lam = point.value, lam.copy()
            stall = 0
        else:
            stall += 1
        routing = _fit_providers(instance, net, point)
        key = (routing.arcs.tobytes(), routing.targets().tobytes())
        if last_key is None or key != last_key:
            last_key, last_arcs = key, routing.arcs  # same paths, same repaired plan
            rptr = routing.ptr
            for f in range(instance.n_requests):
                columns[f].setdefault(tuple(last_arcs[rptr[f] : rptr[f + 1]].tolist()), None)
            plan = _repair(instance, ladders, cur.group, routing)
            cost = _plan_cost(instance, plan)
            if cost < best_cost:
                best_cost, best_plan = cost, plan
        history.append((it, point.value, best_bound, best_cost))
        if callback is not None:
            callback(it, best_bound, best_cost)
        if best_cost - best_bound <= tol * abs(best_cost):
            stop = "proven"
            break
        g = np.concatenate(
            (point.subgradient_qkd, point.subgradient_km, point.subgradient_provider[capped])
        )
        g[(lam <= 0) & (g < 0)] = 0.0  # projected: these components cannot move
        if not np.any(g):
            stop = "stationary"
            break
        if stall >= patience:
            theta *= 0.5
            stall = 0
            lam = best_lam.copy()  # restart from the best prices with shorter steps
            d_prev = None
            if theta < min_theta:
                stop = "step"
                break
            continue
        d = g
        if gamma > 0 and d_prev is not None:
            dot = float(g @ d_prev)
            if dot < 0:
                d = g - gamma * dot / float(d_prev @ d_prev) * d_prev
        step = theta * (best_cost - point.value) / float(d @ d)
        lam = np.maximum(0.0, lam + step * d)
        d_prev = d
    if best_plan is not None and instance.n_requests:
        best_cost = float(evaluate_batch(instance, best_plan).total[0])  # the evaluator's sum
    runtime = time.perf_counter() - start
    best_mu = np.zeros(len(pt.ids))
    best_mu[capped] = best_lam[2 * A :]
    return LagrangianResult(
        best_bound,
        BOUND_SOURCE,
        it,
        best_lam[:A].copy(),
        best_lam[A : 2 * A].copy(),
        best_plan,
        best_cost,
        relative_gap(best_cost, best_bound),
        stop,
        runtime,
        setup_s,
        history,
        [tuple(c) for c in columns],
        best_mu,
    )


# --------------------------------------------------------------------------- improvement


def improve_with_columns(
    instance: Instance,
    plan: PlanArrays,
    columns: list,
    clock: Stopwatch | None = None,
    max_passes: int = 20,
) -> tuple[PlanArrays, dict]:
    """The greedy's improvement passes from ``plan``, over the priced paths seen.

    Each request's candidate routes are the distinct paths the dual ascent
    priced for it (its *columns*; for a request with targets, X3, those that
    end at the node of the plan's target, so targets and providers stay); the greedy's
    :meth:`~qkdbench.heuristics.saa_greedy.GreedyState.improve` re-inserts each
    request on its cheapest column given all the others (water-filled
    reservations) until a pass moves nothing, ``max_passes`` or the clock.

    Returns
    -------
    plan : PlanArrays
        Never dearer than ``plan`` (a move needs a strictly cheaper plan).
    info : dict
        ``passes``, ``moves``, ``stop`` of the passes.
    """
    F = instance.n_requests
    tails, heads = arc_table(instance).tail, arc_table(instance).head
    arcs_of, paths_of, start, target_of = [], [], [], []
    chosen = plan.targets()
    for f in range(F):
        mine = tuple(plan.arcs[plan.ptr[f] : plan.ptr[f + 1]].tolist())
        cols = list(columns[f]) if f < len(columns) else []
        if instance.requests[f].is_anycast:  # X3: keep the plan's target (and provider)
            cols = [c for c in cols if c and heads[c[-1]] == heads[mine[-1]]]
        if mine not in cols:
            cols.append(mine)
        arcs_of.append(tuple(np.asarray(c, dtype=np.int64) for c in cols))
        paths_of.append(
            tuple(
                tuple([instance.nodes[tails[c[0]]]] + [instance.nodes[heads[a]] for a in c])
                for c in cols
            )
        )
        start.append(cols.index(mine))
        target_of.append((int(chosen[f]),) * len(cols))
    # the greedy's network moves (X1) route on the stand-alone arc costs: give the real ones
    cands = Candidates(
        tuple(paths_of), tuple(arcs_of), standalone_arc_costs(instance), tuple(target_of)
    )
    ladders = build_ladders(instance)
    state = GreedyState(instance, ladders, cands)
    for f in range(F):
        state.insert(f, start[f])
    info = state.improve(insertion_order(cands, ladders, "cost-desc"), clock, max_passes)
    better = Plan(instance.name, "", state.routes(instance))
    return encode_plan(instance, better), info


# --------------------------------------------------------------------------- planner


@register_planner("lagrangian", origin="built-in")
class LagrangianPlanner:
    """Lagrangian heuristic: priced routes, water-filled reservations, a certified gap.

    Parameters
    ----------
    iterations : int
        Most dual iterations (each evaluates ``L`` and repairs one plan).
    theta, patience, gamma, min_theta :
        Step rule of :func:`lagrangian_bound`.
    improve : bool
        Finish with the greedy's improvement passes from the best plan, each
        request choosing among the paths the dual priced for it
        (:func:`improve_with_columns`), within what is left of the time limit.
    max_passes : int
        At most this many improvement passes.

    Notes
    -----
    ``plan.stats`` holds ``status`` (``optimal`` only when the plan's cost
    meets the bound within ``1e-9`` relative, else ``feasible``),
    ``objective`` (the plan's expected cost), ``bound`` (best Lagrangian
    bound), ``bound_source`` (``"lagrangian"``), ``gap`` (certified,
    ``(cost - bound) / cost``), ``iterations``, ``stop`` (why the dual
    ascent ended), ``passes``, ``moves``, ``stop_passes`` (the improvement
    passes), ``setup_s``, ``dual_s`` and ``runtime_s``. ``seed`` changes nothing (no step
    is random).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> plan = LagrangianPlanner(iterations=50).plan(make_instance("nsfnet", 5, 3, seed=1))
    >>> plan.stats["bound_source"], plan.stats["bound"] <= plan.stats["objective"]
    ('lagrangian', True)
    """

    name = "lagrangian"
    supports = frozenset(FEATURES)

    def __init__(
        self,
        iterations: int = 2000,
        theta: float = 1.0,
        patience: int = 20,
        gamma: float = 1.5,
        min_theta: float = 1e-5,
        improve: bool = True,
        max_passes: int = 20,
    ):
        self.iterations = iterations
        self.improve = improve
        self.max_passes = max_passes
        self.theta = theta
        self.patience = patience
        self.gamma = gamma
        self.min_theta = min_theta

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Run the dual ascent with its primal heuristic; return the best plan found."""
        check_supports(self, instance)
        clock = Stopwatch(time_limit)
        res = lagrangian_bound(
            instance,
            iterations=self.iterations,
            theta=self.theta,
            patience=self.patience,
            gamma=self.gamma,
            min_theta=self.min_theta,
            clock=clock,
        )
        best, cost = res.plan, res.cost
        info = {"passes": 0, "moves": 0, "stop_passes": "off"}
        tol = 1e-9 * abs(cost)
        if (
            self.improve
            and best is not None
            and instance.n_requests > 1
            and cost - res.bound > tol
            and not clock.expired()
        ):
            arrays, done = improve_with_columns(instance, best, res.columns, clock, self.max_passes)
            new_cost = float(evaluate_batch(instance, arrays).total[0])
            info = {"passes": done["passes"], "moves": done["moves"], "stop_passes": done["stop"]}
            if new_cost < cost:
                best, cost = arrays, new_cost
        tol = 1e-9 * abs(cost)
        status = "optimal" if cost - res.bound <= tol else "feasible"
        stats = {
            "status": status,
            "objective": cost,
            "bound": res.bound,
            "bound_source": res.bound_source,
            "gap": relative_gap(cost, res.bound),
            "iterations": res.iterations,
            "stop": res.stop,
            "setup_s": res.setup_s,
            "dual_s": res.runtime_s,
            **info,
            "runtime_s": clock.elapsed,
            "seed": seed,
        }
        if best is None or instance.n_requests == 0:
            return Plan(instance.name, self.name, (), stats)
        return decode_plan(instance, best, self.name, stats)
