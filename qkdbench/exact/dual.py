"""The Lagrangian dual function of the arc capacities: priced cost curves and ``L(lam)``.

The dual ascent that maximises it is :mod:`qkdbench.exact.ascent`, the plans
built from its priced routings :mod:`qkdbench.exact.primal`; the overview is
:mod:`qkdbench.exact.lagrangian`.

The relaxation
--------------
Dualise every arc capacity row ``sum_f yr_{f,a} <= W_qkd(a)`` and
``sum_f zr_{f,a} <= W_kml(a)`` with multipliers ``lam_qkd[a], lam_kml[a] >= 0``.
What is left separates by request:

    L(lam) = sum_f  min over simple s_f -> d_f paths  sum_{a in path} w_fa(lam)
             - sum_a (lam_qkd[a] W_qkd(a) + lam_kml[a] W_kml(a))

with the *priced newsvendor* weight of request ``f`` on arc ``a``

    w_fa(lam) = min_{0 <= y <= W_qkd(a)} [R^qkd_fa(y) + lam_qkd[a] y]
              + min_{0 <= z <= W_kml(a)} [R^kml_fa(z) + lam_kml[a] z],

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

Targets and providers: the provider capacity rows
``sum_{f, t of A} w_{f,t} <= k_A`` are dualised too, with one multiplier
``mu_A >= 0`` per provider with a capacity. A request with targets then takes
the best (target, path): the shortest path to each target's node plus its
service cost plus ``mu`` of its provider, and ``L`` subtracts ``mu . k``. A
request with a single target is the special case of one target at no cost.
Fixed charges are non-negative and left out, so ``L`` stays a bound.

Weights are non-negative (every cost and price is), so each request's
minimum is a shortest path (Dijkstra), and a shortest path is simple.
Requests with the same key-rate distribution have the same curves, so they
share weights, and requests that also share a source share one Dijkstra
(generated instances have one distribution: 1000 requests on germany50 need
at most 50 shortest-path trees per price). Every ``L(lam)`` with
``lam >= 0`` is a valid lower bound on the optimum (weak duality).
The shortest-path trees are computed by
:func:`~qkdbench.planning.shortest_paths.shortest_path_trees`, several per
call, one per (demand group, source).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evaluation import PlanArrays, pair_costs
from ..evaluation.pricing import arc_table, provider_table, support_table
from ..exceptions import InputError
from ..model import KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance
from ..planning.shortest_paths import adjacency, shortest_path_trees, trace_paths

__all__ = ["PricedCurves", "DualPoint", "priced_curves", "lagrangian_value"]

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KML_WAVELENGTHS_PER_LINK)


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


# --------------------------------------------------------------------------- network


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
    """The adjacency of ``instance`` and one shortest-path job per (demand group, source)."""
    out_ptr, out_arc, head, tail = adjacency(instance)
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
        len(instance.nodes),
        out_ptr,
        out_arc,
        head,
        tail,
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
    usage_qkd, usage_kml : ndarray (A,)
        Reserved wavelengths per arc in ``routing``.
    subgradient_qkd, subgradient_kml : ndarray (A,)
        ``usage - W``: a supergradient of the concave ``L`` at ``lam``.
    load, subgradient_provider : ndarray (providers,)
        Requests served per provider in ``routing``, and ``load - k`` for
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
    usage_kml: np.ndarray
    subgradient_qkd: np.ndarray
    subgradient_kml: np.ndarray
    load: np.ndarray = field(default_factory=lambda: np.zeros(0))
    subgradient_provider: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pred: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))

    @property
    def usage_km(self) -> np.ndarray:
        """The former name of :attr:`usage_kml`, kept for existing code."""
        return self.usage_kml

    @property
    def subgradient_km(self) -> np.ndarray:
        """The former name of :attr:`subgradient_kml`, kept for existing code."""
        return self.subgradient_kml


def _check_prices(lam: Any, n: int, name: str) -> np.ndarray:
    out = np.zeros(n) if lam is None else np.asarray(lam, dtype=float)
    if out.shape != (n,):
        raise InputError(f"{name} must have one price per arc ({n}), got shape {out.shape}")
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise InputError(f"{name} must be finite and non-negative")
    return out


def _check_provider_prices(instance: Instance, mu: Any) -> np.ndarray:
    """Provider prices: one per provider, zero for those without a capacity."""
    pt = provider_table(instance)
    n = len(pt.ids)
    out = np.zeros(n) if mu is None else np.asarray(mu, dtype=float)
    if out.shape != (n,):
        raise InputError(f"mu must have one price per provider ({n}), got shape {out.shape}")
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise InputError("mu must be finite and non-negative")
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
    lam_kml: np.ndarray,
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
            -float(lam_qkd @ W_y + lam_kml @ W_z + mu @ cap),
            empty,
            np.zeros(A),
            np.zeros(A),
            -W_y,
            -W_z,
        )
    py = cur.cy + lam_qkd[None, :, None] * cur.y
    pz = cur.cz + lam_kml[None, :, None] * cur.z
    ky = np.argmin(py, axis=2)  # first minimiser: the smallest reservation
    kz = np.argmin(pz, axis=2)
    wy = np.take_along_axis(py, ky[..., None], 2)[..., 0]
    wz = np.take_along_axis(pz, kz[..., None], 2)[..., 0]
    ystar = np.take_along_axis(cur.y, ky[..., None], 2)[..., 0]
    zstar = np.take_along_axis(cur.z, kz[..., None], 2)[..., 0]
    weight = wy + wz  # (G, A), non-negative
    pred, dist = shortest_path_trees(
        net.n_nodes, net.out_ptr, net.out_arc, net.head, weight, net.job_row, net.job_source
    )
    # each request's cheapest target: priced path + service cost + provider price
    tcost = _target_costs(instance, net, dist, mu)
    target = _first_min(pt.ptr, tcost)
    chosen = pt.ptr[:-1] + target
    ptr, path_arcs, bad = trace_paths(pred, net.tail, net.req_job, net.req_source, pt.node[chosen])
    if bad >= 0:  # Instance validation makes every target reachable; never silently wrong
        raise RuntimeError(f"request {instance.requests[bad].id!r}: no path found")
    g_of = np.repeat(cur.group, np.diff(ptr))
    yr = ystar[g_of, path_arcs]
    zr = zstar[g_of, path_arcs]
    value = math.fsum(tcost[chosen]) - float(lam_qkd @ W_y) - float(lam_kml @ W_z) - float(mu @ cap)
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
    lam_kml: np.ndarray | None = None,
    *,
    curves: PricedCurves | None = None,
    mu: np.ndarray | None = None,
) -> DualPoint:
    """Evaluate the Lagrangian dual function ``L(lam, mu)`` (a valid lower bound).

    Parameters
    ----------
    instance : Instance
    lam_qkd, lam_kml : ndarray (A,), optional
        Non-negative prices of one reserved QKD / KM wavelength on each arc
        (default 0: the capacity-free bound).
    curves : PricedCurves, optional
        :func:`priced_curves` of ``instance``, to reuse across calls.
    mu : ndarray, optional
        Non-negative price of serving one request, per provider of
        :func:`~qkdbench.evaluation.pricing.provider_table` (ignored for a
        provider without a capacity; default 0).

    Returns
    -------
    DualPoint

    Raises
    ------
    InputError
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
    lk = _check_prices(lam_kml, A, "lam_kml")
    cur = curves if curves is not None else priced_curves(instance)
    return _evaluate_dual(
        instance, cur, _network(instance, cur.group), lq, lk, _check_provider_prices(instance, mu)
    )
