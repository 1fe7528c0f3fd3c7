"""Lower bounds on the optimum of the exact model, and the pair pruning they prove.

The (request, arc) *pairs* that may get variables (:func:`_pairs`), the
capacity-free relaxation (:func:`relaxation_bound`: capacities dropped, each
request alone on its cheapest path), the Lagrangian dual at zero prices
(:func:`capacity_free_bound`) and the Lagrangian reduced-cost test
(:func:`reduced_cost_keep`) by which
:func:`~qkdbench.exact.formulation.build_model` drops the pairs that no plan
cheaper than a known one can use (:func:`_pruned`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import networkx as nx
import numpy as np

from ..evaluation.curves import CostCurves, cost_curves
from ..evaluation.pricing import arc_table, provider_table
from ..model import Instance
from ..planning.shortest_paths import all_pairs_distances
from .dual import (
    PricedCurves,
    _check_prices,
    _check_provider_prices,
    lagrangian_value,
    priced_curves,
)

__all__ = ["relaxation_bound", "capacity_free_bound", "reduced_cost_keep"]


# --------------------------------------------------------------------------- pair data


def _pairs(instance: Instance) -> CostCurves:
    """The (request, arc) pairs that may get variables, with their cost curves.

    Arcs into a request's source or out of its target cannot lie on its path.
    A request with targets keeps the arcs out of its target nodes: its
    path may pass one target's node on its way to another.
    """
    arcs = arc_table(instance)
    idx = instance.node_index
    req_l, arc_l = [], []
    for f, r in enumerate(instance.requests):
        s = idx[r.source]
        if r.is_anycast:
            ok = np.flatnonzero(arcs.head != s)
        else:
            ok = np.flatnonzero((arcs.head != s) & (arcs.tail != idx[r.target]))
        req_l.append(np.full(ok.size, f, dtype=np.int64))
        arc_l.append(ok.astype(np.int64))
    req = np.concatenate(req_l) if req_l else np.zeros(0, np.int64)
    arc = np.concatenate(arc_l) if arc_l else np.zeros(0, np.int64)
    return cost_curves(instance, req, arc)


def _endpoint_charges(instance: Instance) -> float:
    """Node fixed charges every plan pays: those of the requests' sources and single targets.

    A request with targets touches only the node of the target it chooses.
    """
    ends = _fixed_ends(instance)
    return math.fsum(float(instance.node_fixed_costs.get(n, 0.0)) for n in ends)


def _fixed_ends(instance: Instance) -> set:
    """Node ids every plan's routes touch: every source and every single target."""
    out = {r.source for r in instance.requests}
    out.update(r.target for r in instance.requests if not r.is_anycast)
    return out


def _sink_costs(instance: Instance, f: int, dist: Mapping[int, float]) -> np.ndarray:
    """Per target of request ``f``: distance to its node (``inf`` if unreached) + service."""
    pt = provider_table(instance)
    sl = slice(pt.ptr[f], pt.ptr[f + 1])
    return np.asarray([dist.get(int(n), math.inf) for n in pt.node[sl]]) + pt.service_cost[sl]


# --------------------------------------------------------------------------- capacity-free bounds


def relaxation_bound(instance: Instance) -> float:
    """A lower bound on the optimum: capacities dropped, each request alone.

    Each request then takes its shortest path under the arc weights "least
    expected cost of the pair" (newsvendor reservations, docs/model.md, property 3);
    a request with targets the cheapest of its targets, path plus service
    cost (provider capacities dropped too).
    Fixed charges are shared by the requests, so none is counted per
    request; the bound adds only the node charges every plan pays (the
    requests' sources and single targets).

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    float
        The bound (``0`` without requests).
    """
    costs, _, _ = _relaxed_paths(instance, _pairs(instance))
    return float(sum(costs)) + _endpoint_charges(instance)


def _relaxed_paths(
    instance: Instance, pairs: CostCurves
) -> tuple[list[float], list[list[int]], list[int]]:
    """Per request: capacity-free optimal cost, its pair indices along the path, its target.

    The target is a position in the request's ``sinks`` (the cheapest by
    path plus service cost, provider capacities ignored).
    """
    weight = pairs.least_cost()
    tails, heads = arc_table(instance).tail, arc_table(instance).head
    pt = provider_table(instance)
    costs, paths, chosen = [], [], []
    order = np.argsort(pairs.req, kind="stable")
    bounds = np.searchsorted(pairs.req[order], np.arange(instance.n_requests + 1))
    for f, r in enumerate(instance.requests):
        sel = order[bounds[f] : bounds[f + 1]]
        g = nx.DiGraph()
        g.add_edges_from(
            (
                int(tails[pairs.arc[i]]),
                int(heads[pairs.arc[i]]),
                {"w": float(weight[i]), "pair": int(i)},
            )
            for i in sel
        )
        src = instance.node_index[r.source]
        dist, route = nx.single_source_dijkstra(g, src, weight="w")
        total = _sink_costs(instance, f, dist)
        k = int(np.argmin(total))
        path = route[int(pt.node[pt.ptr[f] + k])]
        costs.append(float(total[k]))
        paths.append([g.edges[u, v]["pair"] for u, v in itertools.pairwise(path)])
        chosen.append(k)
    return costs, paths, chosen


def capacity_free_bound(instance: Instance) -> float:
    """The Lagrangian dual at zero prices: a valid lower bound, computed in milliseconds.

    Equal to :func:`relaxation_bound` (capacities dropped) unless a single
    pair's newsvendor reservation exceeds its arc's capacity, where it is
    larger (still valid: a reservation never exceeds the capacity). Uses the
    vectorised shortest paths of :func:`~qkdbench.exact.dual.lagrangian_value`.

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    float
        ``L(0)``, a lower bound on the optimum.
    """
    return float(lagrangian_value(instance).value)


# --------------------------------------------------------------------------- reduced-cost pruning


def reduced_cost_keep(
    instance: Instance,
    req: np.ndarray,
    arc: np.ndarray,
    lam_qkd: np.ndarray | None,
    lam_kml: np.ndarray | None,
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

    With targets, ``t_f`` is whichever target the plan chooses: the path
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
    lam_qkd, lam_kml : ndarray (A,) or None
        Non-negative prices (``None``: zero).
    upper_bound : float
        Cost of a known feasible plan.
    curves : PricedCurves, optional
        :func:`~qkdbench.exact.dual.priced_curves` of ``instance``, to reuse.
    mu : ndarray, optional
        Non-negative provider prices, as in :func:`~qkdbench.exact.dual.lagrangian_value`.

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
    lk = _check_prices(lam_kml, A, "lam_kml")
    cur = curves if curves is not None else priced_curves(instance)
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    if instance.n_requests == 0 or req.size == 0:
        return np.ones(req.size, dtype=bool)
    py = cur.cy + lq[None, :, None] * cur.y
    pz = cur.cz + lk[None, :, None] * cur.z
    weight = py.min(axis=2) + pz.min(axis=2)  # (G, A), w_fa(lam) per demand group
    n = len(instance.nodes)
    dist = all_pairs_distances(n, arcs.tail, arcs.head, weight)
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


def _pruned(
    instance: Instance, pairs: CostCurves, upper_bound: float, prices: tuple | None
) -> CostCurves:
    """The pairs a plan costing at most ``upper_bound`` may use (capacity-free and priced)."""
    keep = reduced_cost_keep(instance, pairs.req, pairs.arc, None, None, upper_bound)
    if prices is not None:
        keep &= reduced_cost_keep(
            instance,
            pairs.req,
            pairs.arc,
            prices[0],
            prices[1],
            upper_bound,
            mu=prices[2] if len(prices) > 2 else None,
        )
    return pairs.subset(keep)
