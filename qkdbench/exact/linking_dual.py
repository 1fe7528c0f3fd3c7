"""The linking relaxation of fixed charges: its Lagrangian function, pricing and pruning.

The relaxation is stated in :mod:`qkdbench.exact.linking` (the overview); this
module evaluates its Lagrangian function at given prices (:func:`linking_value`),
prices one shortest path per request (the column generation's pricing step,
:mod:`qkdbench.exact.linking_cg`) and tests (request, arc) pairs by their reduced
cost (:func:`linking_keep`), which prunes the exact model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..evaluation import PlanArrays
from ..evaluation.pricing import arc_table, fixed_charges, provider_table
from ..model import Instance
from ..planning.shortest_paths import adjacency, shortest_path_trees, trace_paths
from .bounds import _fixed_ends
from .dual import PricedCurves, priced_curves

__all__ = ["BOUND_SOURCE", "LinkingPrices", "linking_keep", "linking_value"]

#: How a bound from this module is labelled (``plan.stats["bound_source"]``).
BOUND_SOURCE = "linking-lagrangian"


@dataclass(frozen=True, eq=False)
class _Data:
    """What pricing needs, built once per instance."""

    curves: PricedCurves
    n_nodes: int
    out_ptr: np.ndarray
    out_arc: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    source: np.ndarray
    link_of_arc: np.ndarray
    link_charge: np.ndarray  # (L,)
    node_charge: np.ndarray  # (N,): 0 for the nodes every plan touches
    constant: float  # charges of the nodes every plan touches
    W_qkd: np.ndarray
    W_kml: np.ndarray


def _data(instance: Instance) -> _Data:
    cur = priced_curves(instance)
    out_ptr, out_arc, head, tail = adjacency(instance)
    arcs = arc_table(instance)
    fc = fixed_charges(instance)
    idx = instance.node_index
    node_charge = np.array(fc.node, dtype=float)
    ends = [idx[n] for n in _fixed_ends(instance)]
    constant = math.fsum(float(node_charge[n]) for n in ends)
    node_charge[ends] = 0.0
    src = np.asarray([idx[r.source] for r in instance.requests], dtype=np.int64)
    return _Data(
        cur,
        len(instance.nodes),
        out_ptr,
        out_arc,
        head,
        tail,
        src,
        np.arange(arcs.n, dtype=np.int64) // 2,
        np.array(fc.link, dtype=float),
        node_charge,
        constant,
        arcs.W_qkd.astype(float),
        arcs.W_kml.astype(float),
    )


@dataclass(frozen=True, eq=False)
class _Priced:
    """The priced best column of every request and ``L`` at the prices."""

    value: float
    priced: np.ndarray  # (F,) priced cost of the best column
    routing: PlanArrays  # best path, target and reservations per request
    cost: np.ndarray  # (F,) true expected cost of that column (service included)


def _weights(
    d: _Data,
    lam_qkd: NDArray[np.float64],
    lam_km: NDArray[np.float64],
    mu: NDArray[np.float64],
    nu: NDArray[np.float64],
) -> tuple[NDArray[np.float64], tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Per request and arc, the priced weight; and the priced reservations' positions."""
    cur = d.curves
    py = cur.cy + lam_qkd[None, :, None] * cur.y
    pz = cur.cz + lam_km[None, :, None] * cur.z
    ky = np.argmin(py, axis=2)  # first minimiser: the smallest reservation
    kz = np.argmin(pz, axis=2)
    wy = np.take_along_axis(py, ky[..., None], 2)[..., 0]
    wz = np.take_along_axis(pz, kz[..., None], 2)[..., 0]
    weight = (wy + wz)[cur.group] + mu[:, d.link_of_arc] + nu[:, d.head]  # (F, A)
    return weight, (ky, kz)


def _price(
    instance: Instance,
    d: _Data,
    lam_qkd: np.ndarray,
    lam_km: np.ndarray,
    rho: np.ndarray,
    mu: np.ndarray,
    nu: np.ndarray,
) -> _Priced:
    cur = d.curves
    pt = provider_table(instance)
    F = instance.n_requests
    weight, (ky, kz) = _weights(d, lam_qkd, lam_km, mu, nu)
    ystar = np.take_along_axis(cur.y, ky[..., None], 2)[..., 0]
    zstar = np.take_along_axis(cur.z, kz[..., None], 2)[..., 0]
    true = (
        np.take_along_axis(cur.cy, ky[..., None], 2)[..., 0]
        + np.take_along_axis(cur.cz, kz[..., None], 2)[..., 0]
    )
    rows = np.arange(F, dtype=np.int64)
    pred, dist = shortest_path_trees(
        d.n_nodes, d.out_ptr, d.out_arc, d.head, weight, rows, d.source
    )
    owner = np.repeat(np.arange(F), np.diff(pt.ptr))
    price = np.where(pt.provider >= 0, rho[np.maximum(pt.provider, 0)], 0.0) if rho.size else 0.0
    tcost = dist[owner, pt.node] + pt.service_cost + price
    target = np.zeros(F, dtype=np.int64)
    for f in np.flatnonzero(np.diff(pt.ptr) > 1):
        target[f] = int(np.argmin(tcost[pt.ptr[f] : pt.ptr[f + 1]]))
    chosen = pt.ptr[:-1] + target
    ptr, path_arcs, bad = trace_paths(pred, d.tail, rows, d.source, pt.node[chosen])
    if bad >= 0:
        raise RuntimeError(f"request {instance.requests[bad].id!r}: no path found")
    g_of = np.repeat(cur.group, np.diff(ptr))
    seg = np.repeat(np.arange(F), np.diff(ptr))
    cost = np.bincount(seg, weights=true[g_of, path_arcs], minlength=F) + pt.service_cost[chosen]
    priced = tcost[chosen]
    cap = np.where(pt.capacity >= 0, pt.capacity, 0).astype(float)
    design = (
        np.minimum(0.0, d.link_charge - mu.sum(axis=0)).sum()
        + np.minimum(0.0, d.node_charge - nu.sum(axis=0)).sum()
    )
    value = (
        math.fsum(priced)
        + float(design)
        - float(lam_qkd @ d.W_qkd)
        - float(lam_km @ d.W_kml)
        - float(rho @ cap)
        + d.constant
    )
    routing = PlanArrays(
        ptr,
        path_arcs,
        ystar[g_of, path_arcs],
        zstar[g_of, path_arcs],
        F,
        target if pt.active else None,
    )
    return _Priced(value, priced, routing, cost)


def linking_value(
    instance: Instance,
    lam_qkd: np.ndarray | None = None,
    lam_km: np.ndarray | None = None,
    *,
    rho: np.ndarray | None = None,
    mu: np.ndarray | None = None,
    nu: np.ndarray | None = None,
) -> float:
    """Evaluate the Lagrangian function of the strong linking relaxation (a lower bound).

    Parameters
    ----------
    instance : Instance
        The instance.
    lam_qkd, lam_km : ndarray (A,), optional
        Non-negative prices of a reserved QKD / KM wavelength per arc (default 0).
    rho : ndarray (providers,), optional
        Non-negative price of serving one request, per provider of
        :func:`~qkdbench.evaluation.pricing.provider_table` (ignored for a
        provider without a capacity; default 0).
    mu : ndarray (F, L), optional
        Non-negative price of request ``f`` using link ``l`` (default 0).
    nu : ndarray (F, N), optional
        Non-negative price of request ``f`` passing node ``n`` (default 0;
        ignored for nodes without a charge and nodes every plan touches).

    Returns
    -------
    float
        ``L`` at the given prices: a valid lower bound on the optimum.

    Raises
    ------
    ValueError
        If a price array has the wrong shape, a negative or a non-finite entry.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> from qkdbench.exact import relaxation_bound
    >>> inst = make_instance("nsfnet", 6, 3, seed=1)
    >>> abs(linking_value(inst) - relaxation_bound(inst)) <= 1e-9 * relaxation_bound(inst)
    True
    """
    d = _data(instance)
    F, A, L, N = instance.n_requests, d.head.size, d.link_charge.size, d.n_nodes
    pt = provider_table(instance)

    def check(x: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
        out = np.zeros(shape) if x is None else np.asarray(x, dtype=float)
        if out.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
        if not np.all(np.isfinite(out)) or np.any(out < 0):
            raise ValueError(f"{name} must be finite and non-negative")
        return out

    lq = check(lam_qkd, (A,), "lam_qkd")
    lk = check(lam_km, (A,), "lam_km")
    r = np.where(pt.capacity >= 0, check(rho, (len(pt.ids),), "rho"), 0.0)
    m = check(mu, (F, L), "mu")
    n = check(nu, (F, N), "nu") * (d.node_charge > 0)[None, :]
    return _price(instance, d, lq, lk, r, m, n).value


@dataclass(frozen=True, eq=False)
class LinkingPrices:
    """Non-negative prices of the linking relaxation (one point of its Lagrangian).

    Attributes
    ----------
    lam_qkd, lam_kml : ndarray (A,)
        Per arc, the price of a reserved QKD / KM wavelength.
    rho : ndarray (providers,)
        Per provider, the price of serving one request.
    mu : ndarray (F, L)
        Per request and link, the price of using the link.
    nu : ndarray (F, N)
        Per request and node, the price of passing the node.
    """

    lam_qkd: NDArray[np.float64]
    lam_kml: NDArray[np.float64]
    rho: NDArray[np.float64]
    mu: NDArray[np.float64]
    nu: NDArray[np.float64]


def linking_keep(
    instance: Instance,
    req: NDArray[np.int64],
    arc: NDArray[np.int64],
    prices: LinkingPrices,
    upper_bound: float,
) -> NDArray[np.bool_]:
    """Which (request, arc) pairs a plan costing at most ``upper_bound`` may use.

    The reduced-cost argument of
    :func:`~qkdbench.exact.bounds.reduced_cost_keep`, with the linking
    relaxation's prices: for any feasible plan ``x``,
    ``cost(x) >= L(prices) - SP_f + priced cost of f's path``, since every
    other request's priced path costs at least its shortest one and every
    link's and node's relaxed term at least its minimum. A path through arc
    ``a`` costs at least ``d_f(s_f, tail a) + W_f(a) + min_t [d_f(head a, t) +
    service(t) + rho(t)]`` under request ``f``'s priced weights ``W_f``; a
    pair where ``L - SP_f`` plus that exceeds ``upper_bound`` (beyond a
    relative ``1e-9``) is used by no plan costing at most ``upper_bound``.

    Parameters
    ----------
    instance : Instance
        The instance.
    req, arc : ndarray of int
        The pairs to test (request position, arc id).
    prices : LinkingPrices
        Non-negative prices, e.g. :attr:`LinkingBoundResult.prices`.
    upper_bound : float
        Cost of a known feasible plan.

    Returns
    -------
    ndarray of bool
        ``True`` for the pairs to keep.
    """
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    F = instance.n_requests
    if F == 0 or req.size == 0:
        return np.ones(req.size, dtype=bool)
    d = _data(instance)
    nu = prices.nu * (d.node_charge > 0)[None, :]
    weight, _ = _weights(d, prices.lam_qkd, prices.lam_kml, prices.mu, nu)
    point = _price(instance, d, prices.lam_qkd, prices.lam_kml, prices.rho, prices.mu, nu)
    rows = np.arange(F, dtype=np.int64)
    _, dist = shortest_path_trees(d.n_nodes, d.out_ptr, d.out_arc, d.head, weight, rows, d.source)
    # distances to the targets: Dijkstra from each (request, target) on the reversed arcs
    pt = provider_table(instance)
    order = np.argsort(d.head, kind="stable")
    in_ptr = np.zeros(d.n_nodes + 1, dtype=np.int64)
    np.add.at(in_ptr, d.head + 1, 1)
    in_ptr = np.cumsum(in_ptr)
    owner = np.repeat(rows, np.diff(pt.ptr))
    _, back = shortest_path_trees(
        d.n_nodes, in_ptr, order.astype(np.int64), d.tail, weight, owner, pt.node
    )
    price = (
        np.where(pt.provider >= 0, prices.rho[np.maximum(pt.provider, 0)], 0.0)
        if prices.rho.size
        else np.zeros(pt.node.size)
    )
    rest = np.full((F, d.n_nodes), np.inf)
    extra = (pt.service_cost + price)[:, None] + back  # (targets, N)
    for f in range(F):
        rest[f] = extra[pt.ptr[f] : pt.ptr[f + 1]].min(axis=0)
    sp = point.priced
    through = dist[req, d.tail[arc]] + weight[req, arc] + rest[req, d.head[arc]]
    lower = point.value - sp[req] + through
    tol = 1e-9 * max(abs(upper_bound), 1.0)
    return np.asarray(lower <= upper_bound + tol)
