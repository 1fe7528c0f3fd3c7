"""The coupled second stage in the exact methods: needs, curves, pairs, bound and warm start.

On a coupled instance (``docs/model.md``, "Coupled second stage") the requests
routed over an arc compete within a scenario for its capped on-demand
wavelengths, so the per-(request, arc) costs of the evaluator
(:func:`~qkdbench.evaluation.pair_costs`) are not defined. What stays per pair is
the need in each joint scenario, :func:`scenario_links` (``P``, read from
:func:`~qkdbench.evaluation.pricing.scenario_table` with the evaluator's rule), and
the pair's cost **with the caps lifted**: :func:`coupled_curves`. That cost is
exact on an (arc, kind) without a cap, and a lower bound everywhere else, because
a capped arc pays ``c[o] min(D, O) + phi c[o] max(0, D - O) >= c[o] D`` (``phi >=
1``). Hence:

- :func:`coupled_priced_curves` gives the Lagrangian machinery of
  :mod:`qkdbench.exact.dual` its curves, so ``L(0)`` over them is a valid
  lower bound (:func:`coupled_bound`) and its reduced-cost test prunes pairs
  (:func:`coupled_pairs`);
- :func:`coupled_relaxed_plan` is the relaxation's routing (each request on its
  capacity-free cheapest path with its newsvendor reservations) made feasible,
  the warm start of the exact methods.

:func:`coupled_pairs` also drops the arcs that lie on no simple path of a request
(:func:`simple_path_arcs`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from ..evaluation import PlanArrays, decode_plan
from ..evaluation.curves import CostCurves
from ..evaluation.pricing import arc_table, provider_table, scenario_table
from ..model import CEIL_TOL, KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance, Plan
from ..planning.coupled import arc_groups, coupled_arrays
from ..planning.providers import assign_targets
from ..planning.shortest_paths import trace_paths
from .bounds import _endpoint_charges, reduced_cost_keep
from .dual import PricedCurves, _network, lagrangian_value

__all__ = [
    "scenario_links",
    "uncapped_cost",
    "coupled_curves",
    "coupled_priced_curves",
    "simple_path_arcs",
    "coupled_pairs",
    "coupled_bound",
    "coupled_relaxed_plan",
    "fit_reservations",
]

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KML_WAVELENGTHS_PER_LINK)
_CHUNK = 1 << 22  # entries x scenarios per vectorised step


def scenario_links(instance: Instance, req: np.ndarray, arc: np.ndarray) -> np.ndarray:
    """QKD-link counts ``P`` of each pair in each joint scenario.

    ``P = max(0, ceil(kappa_f(s) / K_l(s) - 1e-9))`` with ``l`` the arc's link, as the
    coupled kernels count.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    req, arc : ndarray of int
        Request positions and arc ids of the pairs.

    Returns
    -------
    ndarray (S, n) float64

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> inst = feature_instance("coupled")
    >>> scenario_links(inst, np.array([0, 1]), np.array([0, 0])).tolist()
    [[0.0, 0.0], [2.0, 1.0], [2.0, 2.0]]
    """
    t = scenario_table(instance)
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    p = np.ceil(t.kappa[:, req] / t.rate[:, arc // 2] - CEIL_TOL)
    return np.maximum(p, 0.0) + 0.0  # + 0.0: no negative zeros


def uncapped_cost(
    instance: Instance,
    req: np.ndarray,
    arc: np.ndarray,
    reserve: np.ndarray,
    kind: str,
    links: np.ndarray | None = None,
) -> np.ndarray:
    """Expected cost of each pair's QKD or KM part with unlimited on-demand wavelengths.

    ``c[r] y + sum_s p_s [c[e] e_s + c[o] (n_s - e_s)]`` with ``n_s`` the need
    (``3 P`` or ``P``) and ``e_s = min(y, n_s)`` (0 where using a reserved
    wavelength is dearer than buying one); the QKD part adds the arc's route cost.
    This is the evaluator's cost of a pair when its arc has no cap, and a lower
    bound on its share otherwise.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    req, arc : ndarray of int
        The pairs (one entry each).
    reserve : ndarray of float
        The reservation of each entry.
    kind : {"qkd", "km"}
    links : ndarray (S, n), optional
        :func:`scenario_links` of the entries, if known.

    Returns
    -------
    ndarray (n,) float64
    """
    t = scenario_table(instance)
    arcs = arc_table(instance)
    if kind == "qkd":
        width, c, use, extra = _WY, arcs.c_y, t.use_y, arcs.hop[arc]
    else:
        width, c, use, extra = _WZ, arcs.c_z, t.use_z, np.zeros(arc.size)
    y = np.asarray(reserve, dtype=float)
    out = c[0, arc] * y + extra
    n_sc = t.probs.size
    step = max(1, _CHUNK // max(n_sc, 1))
    for lo in range(0, arc.size, step):
        sl = slice(lo, lo + step)
        p = links[:, sl] if links is not None else scenario_links(instance, req[sl], arc[sl])
        need = width * p
        used = np.where(use[arc[sl]], np.minimum(y[sl], need), 0.0)
        a = arc[sl]
        cost = c[1, a] * used + c[2, a] * (need - used)
        out[sl] += t.probs @ cost
    return out


def _levels(links: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of each column of ``links`` with 0, ascending: CSR ``ptr``, levels, owner."""
    n = links.shape[1]
    vals = np.sort(np.vstack([np.zeros((1, n)), links]), axis=0).T  # (n, S + 1)
    keep = np.ones(vals.shape, dtype=bool)
    keep[:, 1:] = vals[:, 1:] != vals[:, :-1]
    counts = keep.sum(axis=1)
    ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return ptr, vals[keep], np.repeat(np.arange(n), counts)


def coupled_curves(instance: Instance, req: np.ndarray, arc: np.ndarray) -> CostCurves:
    """The pairs' cost curves with the caps lifted (:func:`uncapped_cost`) at their breakpoints.

    The breakpoints are the distinct QKD-link counts of the pair over the joint
    scenarios, with 0 (as :class:`~qkdbench.evaluation.curves.CostCurves` of an
    uncoupled instance; the QKD part carries the route cost). Each part is convex
    and piecewise linear in its reservation between them.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    req, arc : ndarray of int
        The pairs.

    Returns
    -------
    CostCurves

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> cur = coupled_curves(feature_instance("coupled"), np.array([0]), np.array([0]))
    >>> cur.levels.tolist()
    [0.0, 2.0]
    """
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    links = scenario_links(instance, req, arc)
    ptr, levels, owner = _levels(links)
    r, a, lk = req[owner], arc[owner], links[:, owner]
    qkd = uncapped_cost(instance, r, a, _WY * levels, "qkd", lk)
    kml = uncapped_cost(instance, r, a, _WZ * levels, "km", lk)
    return CostCurves(req, arc, ptr, levels, qkd, kml)


def coupled_priced_curves(instance: Instance) -> PricedCurves:
    """The :class:`~qkdbench.exact.dual.PricedCurves` of every (request, arc), caps lifted.

    Requests with the same key rate in every scenario form one group. The
    candidate reservations are the breakpoints clipped to the reservation
    capacity, priced by :func:`uncapped_cost`; ``L(0)`` over these curves
    (:func:`~qkdbench.exact.dual.lagrangian_value`) is a lower bound on the
    coupled optimum, and the reduced-cost test over them
    (:func:`~qkdbench.exact.bounds.reduced_cost_keep`) is valid.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.

    Returns
    -------
    PricedCurves
    """
    t = scenario_table(instance)
    arcs = arc_table(instance)
    F, A = instance.n_requests, arcs.n
    if F == 0:
        empty = np.zeros((0, A, 1))
        return PricedCurves(
            np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty, empty, empty
        )
    _, reps, group = np.unique(t.kappa.T, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(reps)  # groups numbered in order of their first request
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[np.asarray(group).ravel()].astype(np.int64)
    reps = np.sort(reps).astype(np.int64)
    G = reps.size
    req = np.repeat(reps, A)
    arc = np.tile(np.arange(A, dtype=np.int64), G)
    links = scenario_links(instance, req, arc)
    ptr, levels, _ = _levels(links)
    counts = np.diff(ptr)
    K = int(counts.max()) if counts.size else 1
    lv = np.zeros((G * A, K))
    col = np.arange(levels.size) - np.repeat(ptr[:-1], counts)
    lv[np.repeat(np.arange(G * A), counts), col] = levels
    last = levels[ptr[1:] - 1] if levels.size else np.zeros(G * A)
    lv = np.where(np.arange(K)[None, :] < counts[:, None], lv, last[:, None])
    y = np.minimum(_WY * lv, arcs.W_qkd.astype(float)[arc][:, None])
    z = np.minimum(_WZ * lv, arcs.W_kml.astype(float)[arc][:, None])
    rr, aa = np.repeat(req, K), np.repeat(arc, K)
    lk = np.repeat(links, K, axis=1) if links.size else links
    cy = uncapped_cost(instance, rr, aa, y.ravel(), "qkd", lk).reshape(G * A, K)
    cz = uncapped_cost(instance, rr, aa, z.ravel(), "km", lk).reshape(G * A, K)
    shape = (G, A, K)
    return PricedCurves(
        group, reps, y.reshape(shape), cy.reshape(shape), z.reshape(shape), cz.reshape(shape)
    )


def _priced(instance: Instance) -> PricedCurves:
    return instance.derived("exact.coupled.priced_curves", coupled_priced_curves)


def simple_path_arcs(instance: Instance) -> np.ndarray:
    """Which arcs may lie on a simple path of each request: a necessary test.

    Arc ``u -> v`` may lie on a simple path from ``s`` to a target ``t`` only if
    ``v != s``, ``u != t``, ``s`` reaches ``u`` without ``v`` and ``t`` (or ``u = s``)
    and ``v`` reaches ``t`` without ``s`` and ``u`` (or ``v = t``); a request with
    targets keeps the arc if some target passes. Fibers give both arcs, so
    reaching is being connected once the nodes are removed. The test keeps
    every arc of every simple path (it may keep a few more: two paths that
    exist separately may cross), so the optimum over the kept arcs is the same.

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    ndarray (F, A) of bool

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Request
    >>> line = Instance((1, 2, 3), (Link(1, 2, 10.0), Link(2, 3, 10.0)),
    ...                 (Request("f", 1, 3, Demand.point(1.0)),))
    >>> simple_path_arcs(line).astype(int).tolist()  # arcs 1->2, 2->1, 2->3, 3->2
    [[1, 0, 1, 0]]
    """
    arcs = arc_table(instance)
    n = len(instance.nodes)
    adj = csr_matrix((np.ones(arcs.n), (arcs.tail, arcs.head)), shape=(n, n)).toarray() > 0
    idx = instance.node_index
    pt = provider_table(instance)
    tail, head = arcs.tail.astype(np.int64), arcs.head.astype(np.int64)
    cache: dict[tuple[int, int], np.ndarray] = {}

    def labels(removed: tuple[int, ...]) -> np.ndarray:
        keep = np.ones(n, dtype=bool)
        keep[list(removed)] = False
        sub = np.where(keep[:, None] & keep[None, :], adj, False)
        _, lab = connected_components(csr_matrix(sub), directed=False)
        lab = lab.astype(np.int64)
        lab[~keep] = -1 - np.arange(int((~keep).sum()))  # removed nodes reach nothing
        return lab

    def through(s: int, t: int) -> np.ndarray:
        key = (s, t)
        if key not in cache:
            fwd = np.stack([labels((v, t)) for v in range(n)])  # fwd[v, u]: G - {v, t}
            back = np.stack([labels((s, u)) for u in range(n)])  # back[u, v]: G - {s, u}
            reach_u = (tail == s) | (fwd[head, tail] == fwd[head, s])
            reach_t = (head == t) | (back[tail, head] == back[tail, t])
            cache[key] = (head != s) & (tail != t) & reach_u & reach_t
        return cache[key]

    out = np.zeros((instance.n_requests, arcs.n), dtype=bool)
    for f, r in enumerate(instance.requests):
        s = idx[r.source]
        for t in pt.node[pt.ptr[f] : pt.ptr[f + 1]]:
            out[f] |= through(s, int(t))
    return out


def coupled_pairs(instance: Instance, upper_bound: float | None = None) -> CostCurves:
    """The (request, arc) pairs of the coupled models, with their caps-lifted curves.

    The arcs of :func:`simple_path_arcs`; with ``upper_bound`` (the cost of a
    known feasible plan) also only the pairs that a plan costing at most that
    may use, by the capacity-free reduced-cost test over the caps-lifted curves
    (:func:`~qkdbench.exact.bounds.reduced_cost_keep`; valid since they bound the
    coupled cost from below). The optimum over the kept pairs is unchanged.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    upper_bound : float, optional

    Returns
    -------
    CostCurves
        Pairs ordered by request, then arc.
    """
    ok = simple_path_arcs(instance)
    req, arc = np.nonzero(ok)
    req, arc = req.astype(np.int64), arc.astype(np.int64)
    if upper_bound is not None and math.isfinite(upper_bound) and req.size:
        keep = reduced_cost_keep(
            instance, req, arc, None, None, upper_bound, curves=_priced(instance)
        )
        req, arc = req[keep], arc[keep]
    return coupled_curves(instance, req, arc)


def coupled_bound(instance: Instance) -> float:
    """A lower bound on the coupled optimum: capacities and caps lifted, requests alone.

    ``L(0)`` over :func:`coupled_priced_curves` plus the node fixed charges every
    plan pays.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.

    Returns
    -------
    float

    Examples
    --------
    >>> from qkdbench.evaluation import evaluate
    >>> from qkdbench.heuristics import get_planner
    >>> from qkdbench.testing.instances import feature_instance
    >>> inst = feature_instance("coupled")
    >>> coupled_bound(inst) <= evaluate(inst, get_planner("coqbn").plan(inst)).total
    True
    """
    if instance.n_requests == 0:
        return 0.0
    return float(lagrangian_value(instance, curves=_priced(instance)).value) + _endpoint_charges(
        instance
    )


def coupled_relaxed_plan(instance: Instance, planner: str = "relaxed") -> Plan:
    """A feasible plan from the caps-lifted, capacity-free relaxation's routes.

    Each request takes its cheapest path under the caps-lifted newsvendor
    weights (:func:`coupled_priced_curves`) to the target of the cheapest
    assignment within the provider capacities
    (:func:`~qkdbench.planning.providers.assign_targets`); the reservations are
    then chosen for these routes with the caps in view (:func:`fit_reservations`).

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    planner : str
        Name written into the plan.

    Returns
    -------
    Plan
    """
    if instance.n_requests == 0:
        return Plan(instance.name, planner, ())
    cur = _priced(instance)
    point = lagrangian_value(instance, curves=cur)
    pt = provider_table(instance)
    routing = point.routing
    if pt.active and np.any((pt.capacity >= 0) & (point.load > pt.capacity)):
        target = assign_targets(instance, point.target_cost)
        net = _network(instance, cur.group)
        ptr, path_arcs, _ = trace_paths(
            point.pred, net.tail, net.req_job, net.req_source, pt.node[pt.ptr[:-1] + target]
        )
        zero = np.zeros(path_arcs.size)
        routing = PlanArrays(ptr, path_arcs, zero, zero, instance.n_requests, target)
    return decode_plan(instance, fit_reservations(instance, routing), planner)


def fit_reservations(instance: Instance, arrays: PlanArrays) -> PlanArrays:
    """Reservations for fixed routes, chosen with the caps in view, arc by arc.

    The requests on each arc get the reservations of
    :func:`~qkdbench.planning.coupled.arc_groups` (coordinate descent and unit
    exchanges on the arc's exact coupled cost, within its capacity): the
    coupled greedy's own arc optimisation.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    arrays : PlanArrays
        One plan; its routes are kept, its reservations replaced.

    Returns
    -------
    PlanArrays
    """
    owner = np.repeat(np.arange(arrays.n_requests), np.diff(arrays.ptr))
    order = np.argsort(arrays.arcs, kind="stable")
    g_arc, counts = np.unique(arrays.arcs[order], return_counts=True)
    g_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    ask = np.full(order.size, np.inf)
    y, z, *_ = arc_groups(
        g_ptr,
        g_arc.astype(np.int64),
        owner[order].astype(np.int64),
        ask,
        ask,
        True,
        *coupled_arrays(instance).kernel_data,
    )
    yr, zr = np.zeros(order.size), np.zeros(order.size)
    yr[order], zr[order] = y, z
    return PlanArrays(arrays.ptr, arrays.arcs, yr, zr, arrays.n_requests, arrays.target)
