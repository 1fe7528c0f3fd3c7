"""The strong bound for fixed charges: the linking rows relaxed, solved by column generation.

The capacity Lagrangian of :mod:`qkdbench.exact.dual` leaves the fixed charges
out, so on instances where shared links and nodes carry most of the cost it is
far below the optimum. This module gives the bound the fixed-charge network
design literature uses: the *strong linking relaxation*.

The relaxation
--------------
Keep every row of the exact model (:mod:`qkdbench.exact.formulation`) and make
the link and node binaries continuous in ``[0, 1]``. Then dualise the capacity
rows (prices ``lam_qkd[a], lam_km[a] >= 0``), the provider capacity rows
(``rho[A] >= 0``) and the strong linking rows

    x_{2l,f} + x_{2l+1,f} <= u_l      (request f uses either arc of link l)
    sum_{a into n} x_{a,f} <= v_n      (request f passes node n)

with prices ``mu[f, l] >= 0`` and ``nu[f, n] >= 0``. What is left separates by
request and by link and node:

    L = sum_f  min over (target t, simple path p to t)
               [ sum_{a in p} (w_fa(lam) + mu[f, link(a)] + nu[f, head(a)])
                 + service(t) + rho(provider of t) ]
      + sum_l min(0, F_l - sum_f mu[f, l]) + sum_n min(0, G_n - sum_f nu[f, n])
      - lam . W - rho . k + (charges of the nodes every plan touches),

with ``w_fa`` the priced newsvendor weight of :mod:`qkdbench.exact.dual`.
Every ``L`` at non-negative prices is a lower bound on the optimum (weak
duality); the best over the prices equals the linear relaxation of the strong
model, which is what makes the bound strong: a request that uses a link is
charged its share of the link's opening.

Node charges: a simple path enters every node it passes exactly once, except
its source, so ``nu`` is added to the arcs into the node. A request's source
and single target are touched by every plan, so their charges are a constant
and get no price.

How it is maximised
-------------------
Column generation over paths (Dantzig-Wolfe): a restricted master LP over the
known (path, reservation) columns of each request, solved by HiGHS, gives
prices; pricing is one shortest path per request under the priced weights
(:func:`~qkdbench.planning.shortest_paths.shortest_path_trees`), which both
finds the columns with negative reduced cost and evaluates ``L`` at the
master's prices. The reported bound is always that evaluation, never the LP's
own value, so it is valid whatever the LP's tolerances. Linking rows enter the
master lazily, when a column of the request first uses the link or node.
Capacity rows carry a penalised slack, so the master is feasible from the
first column; a warm plan's routes are added as columns when given.

Column generation was chosen over a subgradient or bundle method on the same
dual because the dual has one price per (request, charged link), 88,000 on
germany50 with 1,000 requests, where subgradient steps converge slowly; the
master's simplex prices are exact for the columns known, and the bound it
certifies at each iteration is the same Lagrangian function.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..evaluation import PlanArrays, evaluate_batch, pair_costs
from ..evaluation.pricing import arc_table, fixed_charges, provider_table
from ..model import Instance
from ..planning.shortest_paths import adjacency, shortest_path_trees, trace_paths
from ..utils.gaps import relative_gap
from ..utils.jsonsafe import finite_or_none
from ..utils.timing import Stopwatch
from .bounds import _fixed_ends
from .dual import PricedCurves, priced_curves
from .solver import silent_highs

__all__ = [
    "BOUND_SOURCE",
    "BestBound",
    "LinkingBoundResult",
    "best_bound",
    "LinkingPrices",
    "linking_bound",
    "linking_keep",
    "linking_value",
]

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


# --------------------------------------------------------------------------- master


class _Master:
    """The restricted master LP in HiGHS, grown by columns and linking rows."""

    def __init__(self, instance: Instance, d: _Data, scale: float) -> None:
        import highspy

        self.inf = highspy.kHighsInf
        self.h = h = silent_highs()
        h.setOptionValue("threads", 1)
        self.d = d
        self.scale = scale  # costs enter the LP divided by it (HiGHS wants them near 1)
        # per wavelength over capacity, in units of the largest request cost; raised
        # by :meth:`raise_penalty` while an optimal master still uses a slack
        self.penalty = penalty = 10.0
        pt = provider_table(instance)
        F, A = instance.n_requests, d.head.size
        self.F, self.A = F, A
        # rows: convexity (F, = 1), QKD capacity (A), KM capacity (A), providers
        self.capped = np.flatnonzero(pt.capacity >= 0)
        n_rows = F + 2 * A + self.capped.size
        lower = np.concatenate((np.ones(F), np.full(2 * A + self.capped.size, -self.inf)))
        upper = np.concatenate(
            (np.ones(F), d.W_qkd, d.W_kml, pt.capacity[self.capped].astype(float))
        )
        h.addRows(
            n_rows, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        self.n_rows = n_rows
        # penalised slacks on the capacity rows keep the master feasible
        n_slack = 2 * A + self.capped.size
        h.addCols(
            n_slack,
            np.full(n_slack, penalty),
            np.zeros(n_slack),
            np.full(n_slack, self.inf),
            n_slack,
            np.arange(n_slack, dtype=np.int32),
            np.arange(F, n_rows, dtype=np.int32),
            np.full(n_slack, -1.0),
        )
        self.n_cols = n_slack
        # design binaries, relaxed: one per charged link and node
        self.u_col: dict[int, int] = {}
        for l_ in np.flatnonzero(d.link_charge > 0):
            self.u_col[int(l_)] = self._add_col(float(d.link_charge[l_]) / scale, 1.0, [], [])
        self.v_col: dict[int, int] = {}
        for n_ in np.flatnonzero(d.node_charge > 0):
            self.v_col[int(n_)] = self._add_col(float(d.node_charge[n_]) / scale, 1.0, [], [])
        self.link_row: dict[tuple[int, int], int] = {}
        self.node_row: dict[tuple[int, int], int] = {}
        self.columns: list[set[tuple[int, bytes, bytes, bytes]]] = [set() for _ in range(F)]
        self.col_info: list[tuple[int, np.ndarray, int, np.ndarray, np.ndarray]] = []
        self.path_col: list[int] = []
        self.pt = pt

    def _add_col(self, cost: float, upper: float, rows: list[int], vals: list[float]) -> int:
        self.h.addCol(
            cost, 0.0, upper, len(rows), np.asarray(rows, np.int32), np.asarray(vals, float)
        )
        self.n_cols += 1
        return self.n_cols - 1

    def _linking(self, key: tuple[int, int], col: int, table: dict[tuple[int, int], int]) -> int:
        row = table.get(key)
        if row is None:
            self.h.addRow(-self.inf, 0.0, 1, np.asarray([col], np.int32), np.asarray([-1.0]))
            row = table[key] = self.n_rows
            self.n_rows += 1
        return row

    def add(
        self, f: int, arcs: np.ndarray, target: int, y: np.ndarray, z: np.ndarray, cost: float
    ) -> bool:
        """Add request ``f``'s column (path ``arcs`` to ``target``, reservations); new or not."""
        key = (
            target,
            arcs.tobytes(),
            np.asarray(y, float).tobytes(),
            np.asarray(z, float).tobytes(),
        )
        if key in self.columns[f]:
            return False
        self.columns[f].add(key)
        d, A = self.d, self.A
        rows = [f]
        vals = [1.0]
        for a, ya, za in zip(arcs.tolist(), y.tolist(), z.tolist(), strict=True):
            if ya:
                rows.append(self.F + a)
                vals.append(ya)
            if za:
                rows.append(self.F + A + a)
                vals.append(za)
            lk = int(d.link_of_arc[a])
            if lk in self.u_col:
                rows.append(self._linking((f, lk), self.u_col[lk], self.link_row))
                vals.append(1.0)
            n = int(d.head[a])
            if n in self.v_col:
                rows.append(self._linking((f, n), self.v_col[n], self.node_row))
                vals.append(1.0)
        prov = int(self.pt.provider[self.pt.ptr[f] + target])
        if prov >= 0:
            pos = np.flatnonzero(self.capped == prov)
            if pos.size:
                rows.append(self.F + 2 * A + int(pos[0]))
                vals.append(1.0)
        self.path_col.append(self._add_col(cost / self.scale, self.inf, rows, vals))
        self.col_info.append(
            (f, np.asarray(arcs, np.int64), target, np.asarray(y, float), np.asarray(z, float))
        )
        return True

    def slack_used(self) -> bool:
        """Whether the last solution puts any capacity row over its capacity."""
        n_slack = 2 * self.A + self.capped.size
        return bool(np.any(np.asarray(self.h.getSolution().col_value)[:n_slack] > 1e-9))

    def raise_penalty(self) -> bool:
        """Multiply the slacks' price by 100; ``False`` once it is past ``1e8``."""
        if self.penalty > 1e8:
            return False
        self.penalty *= 100.0
        n_slack = 2 * self.A + self.capped.size
        idx = np.arange(n_slack, dtype=np.int32)
        self.h.changeColsCost(n_slack, idx, np.full(n_slack, self.penalty))
        return True

    def integer_plan(self, time_limit: float) -> PlanArrays | None:
        """The restricted master as a MIP: one known column per request, links opened whole.

        Slacks are fixed at 0, so a solution is a feasible plan; ``None`` when
        HiGHS finds none within ``time_limit``. The master is changed: call last.
        """
        import highspy

        h = self.h
        n_slack = 2 * self.A + self.capped.size
        idx = np.arange(n_slack, dtype=np.int32)
        h.changeColsBounds(n_slack, idx, np.zeros(n_slack), np.zeros(n_slack))
        ints = np.asarray(
            [*self.u_col.values(), *self.v_col.values(), *self.path_col], dtype=np.int32
        )
        h.changeColsIntegrality(ints.size, ints, np.full(ints.size, highspy.HighsVarType.kInteger))
        h.setOptionValue("time_limit", max(float(time_limit), 1e-3))
        h.setOptionValue("mip_rel_gap", 1e-6)
        h.run()
        if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
            return None
        val = np.asarray(h.getSolution().col_value)
        pick: dict[int, int] = {}
        for k, c in enumerate(self.path_col):
            if val[c] > 0.5:
                pick[self.col_info[k][0]] = k
        if len(pick) != self.F:
            return None
        ptr, arcs, yr, zr, tg = [0], [], [], [], []
        for f in range(self.F):
            _, a, t, y, z = self.col_info[pick[f]]
            arcs.append(a)
            yr.append(y)
            zr.append(z)
            tg.append(t)
            ptr.append(ptr[-1] + a.size)
        return PlanArrays(
            np.asarray(ptr, np.int64),
            np.concatenate(arcs).astype(np.int64),
            np.concatenate(yr),
            np.concatenate(zr),
            self.F,
            np.asarray(tg, np.int64) if self.pt.active else None,
        )

    def solve(self) -> tuple[float, np.ndarray]:
        """Solve; the LP value (charges every plan pays included), the row duals (HiGHS signs)."""
        self.h.run()
        info = self.h.getInfo()
        status = self.h.getModelStatus()
        if status != self.h.getModelStatus().__class__.kOptimal:
            raise RuntimeError(f"the master LP was not solved: {status}")
        sol = self.h.getSolution()
        return (
            float(info.objective_function_value) * self.scale + self.d.constant,
            np.asarray(sol.row_dual) * self.scale,
        )

    def prices(
        self, dual: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Non-negative Lagrangian prices read from the master's duals."""
        F, A, d = self.F, self.A, self.d
        lam_q = np.maximum(0.0, -dual[F : F + A])
        lam_k = np.maximum(0.0, -dual[F + A : F + 2 * A])
        rho = np.zeros(len(self.pt.ids))
        rho[self.capped] = np.maximum(0.0, -dual[F + 2 * A : F + 2 * A + self.capped.size])
        mu = np.zeros((F, d.link_charge.size))
        nu = np.zeros((F, d.n_nodes))
        for (f, lk), row in self.link_row.items():
            mu[f, lk] = max(0.0, -dual[row])
        for (f, n), row in self.node_row.items():
            nu[f, n] = max(0.0, -dual[row])
        return lam_q, lam_k, rho, mu, nu


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True, eq=False)
class LinkingBoundResult:
    """The outcome of :func:`linking_bound`.

    Attributes
    ----------
    bound : float
        The best Lagrangian value found: a valid lower bound on the optimum.
    bound_source : str
        ``"linking-lagrangian"``.
    lp_value : float
        The last restricted master's value (the strong LP relaxation once
        ``stop == "converged"``; not itself certified).
    iterations : int
        Pricing rounds.
    columns : int
        Path columns in the final master.
    stop : str
        ``"converged"`` (no column prices out: the bound is the strong LP
        relaxation), ``"infeasible"`` (converged, but even the relaxation
        needs more capacity than the arcs have: no plan exists; the bound
        stays valid), ``"gap"`` (the bound met ``target`` within ``tol``),
        ``"iterations"`` or ``"time_limit"``.
    runtime_s : float
        Seconds in all.
    history : list of tuple
        ``(seconds, iteration, bound, lp_value)`` per round.
    link_open : ndarray (L,)
        The master's last value of each link's relaxed opening (1 for links
        without a charge that some column uses, 0 for unused ones).
    plan : PlanArrays or None
        With ``primal_time``: the best plan of the restricted master solved as
        a MIP (each request one known column, links and nodes opened whole).
    cost : float
        Its expected cost by the evaluator (``inf`` without a plan).
    prices : LinkingPrices or None
        The prices of the best bound (for :func:`linking_keep`).
    """

    bound: float
    bound_source: str
    lp_value: float
    iterations: int
    columns: int
    stop: str
    runtime_s: float
    history: list[tuple[float, int, float, float]] = field(default_factory=list)
    link_open: np.ndarray = field(default_factory=lambda: np.zeros(0))
    plan: PlanArrays | None = None
    cost: float = math.inf
    prices: LinkingPrices | None = None

    def to_dict(self) -> dict[str, Any]:
        """The scalar facts as plain JSON values.

        Returns
        -------
        dict
            ``bound``, ``bound_source``, ``lp_value``, ``iterations``,
            ``columns``, ``stop`` and ``runtime_s``.
        """
        return {
            "bound": self.bound,
            "bound_source": self.bound_source,
            "lp_value": self.lp_value,
            "iterations": self.iterations,
            "columns": self.columns,
            "stop": self.stop,
            "runtime_s": self.runtime_s,
        }


def _plan_columns(
    instance: Instance, plan: PlanArrays
) -> list[tuple[int, np.ndarray, int, np.ndarray, np.ndarray, float]]:
    pt = provider_table(instance)
    F = instance.n_requests
    seg = np.repeat(np.arange(F), np.diff(plan.ptr[: F + 1]))
    n = int(plan.ptr[F])
    cy, cz = pair_costs(instance, seg, plan.arcs[:n], plan.yr[:n], plan.zr[:n])
    per = np.bincount(seg, weights=cy + cz, minlength=F)
    tg = plan.targets()[:F]
    out = []
    for f in range(F):
        sl = slice(plan.ptr[f], plan.ptr[f + 1])
        cost = float(per[f] + pt.service_cost[pt.ptr[f] + tg[f]])
        out.append((f, plan.arcs[sl], int(tg[f]), plan.yr[sl], plan.zr[sl], cost))
    return out


def linking_bound(
    instance: Instance,
    *,
    plans: Sequence[PlanArrays] = (),
    target: float | None = None,
    tol: float = 1e-6,
    iterations: int = 500,
    time_limit: float | None = None,
    clock: Stopwatch | None = None,
    callback: Callable[[float, int, float], None] | None = None,
    primal_time: float | None = None,
    mip_share: float = 1.0,
) -> LinkingBoundResult:
    """Maximise the strong linking relaxation's Lagrangian by column generation.

    Parameters
    ----------
    instance : Instance
        The instance (fixed charges, capacities, providers, link states and
        node charges all allowed).
    plans : sequence of PlanArrays
        Feasible plans whose routes seed the master (optional; speeds it up).
    target : float, optional
        A known plan cost: stop once ``target - bound <= tol * target``.
    tol : float
        Relative tolerance of convergence and of ``target``.
    iterations : int
        Most pricing rounds (at least one always runs).
    time_limit : float, optional
        Seconds for the whole call; read before every round after the first.
    clock : Stopwatch, optional
        A running clock to charge (overrides ``time_limit``).
    callback : callable, optional
        Called as ``callback(seconds, iteration, bound)`` after every round.
    primal_time : float, optional
        Seconds for solving the final restricted master as a MIP (a plan);
        default none (bound only).
    mip_share : float
        With a time limit, the MIP takes at most this share of what is left
        (and at most ``primal_time``).

    Returns
    -------
    LinkingBoundResult

    Raises
    ------
    ValueError
        If ``iterations`` is below 1.

    Examples
    --------
    >>> from qkdbench.topologies import design_instance
    >>> inst = design_instance("nsfnet", 8, max_rate=4, seed=1, fixed_charge_factor=3.0)
    >>> res = linking_bound(inst)
    >>> res.bound_source, res.stop
    ('linking-lagrangian', 'converged')
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    clock = clock or Stopwatch(time_limit)
    start = time.perf_counter()
    d = _data(instance)
    F, A = instance.n_requests, d.head.size
    zero_a = np.zeros(A)
    pt = provider_table(instance)
    rho = np.zeros(len(pt.ids))
    mu = np.zeros((F, d.link_charge.size))
    nu = np.zeros((F, d.n_nodes))
    first = _price(instance, d, zero_a, zero_a, rho, mu, nu)
    best = first.value
    best_prices = LinkingPrices(zero_a, zero_a, rho, mu, nu)
    history: list[tuple[float, int, float, float]] = []
    if F == 0:
        return LinkingBoundResult(
            best, BOUND_SOURCE, best, 1, 0, "converged", time.perf_counter() - start, history
        )
    scale = max(float(first.cost.max()), 1.0)
    master = _Master(instance, d, scale)
    for warm in plans:
        for col in _plan_columns(instance, warm):
            master.add(*col)
    point, it, stop, lp = first, 1, "iterations", math.nan
    while True:
        r = point.routing
        added = 0
        for f in range(F):
            sl = slice(r.ptr[f], r.ptr[f + 1])
            tg = int(r.targets()[f])
            added += master.add(f, r.arcs[sl], tg, r.yr[sl], r.zr[sl], float(point.cost[f]))
        lp, dual = master.solve()
        history.append((time.perf_counter() - start, it, best, lp))
        if callback is not None:
            callback(time.perf_counter() - start, it, best)
        if lp - best <= tol * abs(lp):
            if not (master.slack_used() and master.raise_penalty()):
                stop = "converged" if not master.slack_used() else "infeasible"
                break
            lp, dual = master.solve()
        if target is not None and target - best <= tol * abs(target):
            stop = "gap"
            break
        if it >= iterations:
            break
        if clock.expired():
            stop = "time_limit"
            break
        lam_q, lam_k, rho, mu, nu = master.prices(dual)
        point = _price(instance, d, lam_q, lam_k, rho, mu, nu)
        it += 1
        if point.value > best:
            best = point.value
            best_prices = LinkingPrices(lam_q, lam_k, rho, mu, nu)
    sol = np.asarray(master.h.getSolution().col_value)
    link_open = np.zeros(d.link_charge.size)
    for lk, c in master.u_col.items():
        link_open[lk] = sol[c]
    plan: PlanArrays | None = None
    cost = math.inf
    if primal_time is not None:
        left = clock.remaining
        rest = primal_time if left is None else min(primal_time, mip_share * left)
        if rest > 0:
            plan = master.integer_plan(rest)
        if plan is not None:
            cost = float(evaluate_batch(instance, plan).total[0])
    return LinkingBoundResult(
        best,
        BOUND_SOURCE,
        lp,
        it,
        len(master.col_info),
        stop,
        time.perf_counter() - start,
        history,
        link_open,
        plan,
        cost,
        best_prices,
    )


@dataclass(frozen=True, eq=False)
class BestBound:
    """The strongest lower bound qkdbench computes for an instance, and the best plan met.

    Attributes
    ----------
    bound : float
        The larger of the capacity Lagrangian bound and, on instances with
        fixed charges, the linking bound.
    bound_source : str
        Where ``bound`` comes from: ``"lagrangian"`` or ``"linking-lagrangian"``.
    bounds : dict
        Every bound computed, by source.
    plan : PlanArrays or None
        The cheapest feasible plan either method found.
    cost : float
        Its expected cost by the evaluator (``inf`` without one).
    gap : float
        Certified ``(cost - bound) / cost``.
    iterations : int
        Dual iterations plus pricing rounds.
    stop : str
        Why the last method stopped.
    runtime_s : float
        Seconds in all.
    """

    bound: float
    bound_source: str
    bounds: dict[str, float]
    plan: PlanArrays | None
    cost: float
    gap: float
    iterations: int
    stop: str
    runtime_s: float

    def to_dict(self) -> dict[str, Any]:
        """The scalar facts as plain JSON values (``inf`` and ``nan`` become ``None``).

        Returns
        -------
        dict
            ``bound``, ``bound_source``, ``bounds``, ``cost``, ``gap``,
            ``iterations``, ``stop`` and ``runtime_s``.
        """
        num = finite_or_none
        return {
            "bound": num(self.bound),
            "bound_source": self.bound_source,
            "bounds": {k: num(v) for k, v in self.bounds.items()},
            "cost": num(self.cost),
            "gap": num(self.gap),
            "iterations": self.iterations,
            "stop": self.stop,
            "runtime_s": self.runtime_s,
        }


def best_bound(
    instance: Instance,
    *,
    iterations: int = 2000,
    time_limit: float | None = None,
    linking: bool | None = None,
    rounds: int = 500,
    mip_share: float = 0.5,
    mip_seconds: float = 60.0,
) -> BestBound:
    """The capacity Lagrangian bound, then (with fixed charges) the linking bound; the best.

    Parameters
    ----------
    instance : Instance
        The instance.
    iterations : int
        Most dual iterations of the capacity Lagrangian
        (:func:`~qkdbench.exact.ascent.lagrangian_bound`).
    time_limit : float, optional
        Seconds for both together.
    linking : bool, optional
        Whether to run the linking bound (:func:`linking_bound`); default only
        when the instance has fixed charges (without them it equals the best
        capacity Lagrangian bound, but its MIP may still find a better plan).
    rounds : int
        Most pricing rounds of the column generation.
    mip_share : float
        Share of the time left after the column generation for the
        restricted-master MIP.
    mip_seconds : float
        Seconds for that MIP without a time limit.

    Returns
    -------
    BestBound

    Examples
    --------
    >>> from qkdbench.topologies import design_instance
    >>> inst = design_instance("nsfnet", 8, max_rate=4, seed=1, fixed_charge_factor=3.0)
    >>> res = best_bound(inst, iterations=100)
    >>> res.bound_source, res.bound >= res.bounds["lagrangian"]
    ('linking-lagrangian', True)
    """
    from .ascent import lagrangian_bound

    clock = Stopwatch(time_limit)
    first = lagrangian_bound(instance, iterations=iterations, clock=clock)
    bounds = {first.bound_source: first.bound}
    bound, source, plan, cost = first.bound, first.bound_source, first.plan, first.cost
    its, stop = first.iterations, first.stop
    if linking is None:
        linking = fixed_charges(instance).active
    if linking and instance.n_requests and not clock.expired():
        res = linking_bound(
            instance,
            plans=[plan] if plan is not None else [],
            target=cost,
            tol=1e-9,
            iterations=rounds,
            clock=clock,
            primal_time=mip_seconds,
            mip_share=mip_share,
        )
        bounds[res.bound_source] = res.bound
        its, stop = its + res.iterations, res.stop
        if res.bound > bound:
            bound, source = res.bound, res.bound_source
        if res.plan is not None and res.cost < cost:
            plan, cost = res.plan, res.cost
    return BestBound(
        bound, source, bounds, plan, cost, relative_gap(cost, bound), its, stop, clock.elapsed
    )
