"""The exact two-stage stochastic program as a MILP (NumPy arrays, solved by HiGHS).

Two forms of the deterministic equivalent, with the same optimum:

``extensive``
    The paper's (11)-(23), linearised. Per (request ``f``, arc ``a``): a binary
    route variable ``x``, integer reservations ``yr <= W_qkd(a) x`` and
    ``zr <= W_kml(a) x``; per support point ``s`` of the request's key rate
    (the marginals suffice by separability, docs/model.md, property 2) the
    used / on-demand wavelengths ``ye_s <= yr``, ``ye_s + yo_s >= 3 P_s x`` and
    ``ze_s <= zr``, ``ze_s + zo_s >= P_s x``, priced with the instance's
    ``c_y``, ``c_z``.
``compact`` (default)
    One epigraph variable per (request, arc, QKD | KM), bounded below by one
    cut per linear piece of the convex piecewise-linear expected cost
    ``R(y)`` of the pair (docs/model.md, property 4). The values ``R(b_k)`` at the
    breakpoints (the support's wavelength needs) come from the evaluator's
    :func:`~qkdbench.evaluation.pair_costs`, so there is one definition of
    cost. Cut ``k``: ``theta >= (R(b_k) - s_k b_k) x + s_k y``, which is ``0``
    off the route (``x = y = 0``). Reservations are bounded by
    ``min(W, largest need) x``: reserving beyond the largest need never lowers
    the cost and only uses capacity.

Both have flow conservation and at most one outgoing arc per node per
request, and the arc capacities on the reservations. Arcs into a request's
source or out of its target get no variables. A solution may carry
zero-cost cycles besides the path; the plan keeps the path from the source.

Link kinds and random key rates (extension X2, docs/model.md): nothing in the
model is per key rate. A pair's scenarios are the values of its QKD-link count
``P`` over the product of the request's demand and the link's states
(:func:`~qkdbench.evaluation.pricing.support_table`), its breakpoints are those
values, and its prices ``c_y``, ``c_z`` are the link's ``unit_costs`` when given
(:func:`~qkdbench.evaluation.pricing.arc_table`), so both forms are exact for
such links as they are. A non-fiber link's fixed charge is its ``fixed_cost``
or 0 (:meth:`~qkdbench.model.Instance.link_fixed_cost`).

Targets and providers (extension X3): for a request with ``targets``, a binary
``w_t`` per target, priced at its service cost, with ``sum_t w_t = 1``; flow
conservation ``out - in + sum of w_t of the targets at the node = [node is the
source]`` at every node (a row for every target node, so a target none of
whose arcs is kept cannot be chosen), and at a target node the out-degree row
``out + w <= 1``: a route may pass through one target's node on its way to
another, but does not leave the node where it ends. Arcs out of target nodes
keep their variables. Per provider ``A`` with a capacity, ``sum w_t <= k_A``
over the targets of ``A``. The returned route names the chosen target's
provider; warm starts set ``w`` from the plan's providers.

Fixed charges (extension X1, docs/model.md): a binary ``u_l`` per link with a
positive charge ``F_l`` and ``v_n`` per node with a positive charge ``G_n``,
objective ``F_l u_l + G_n v_n``, and the strong linking rows ``x_(f,a) <= u_l``
for every pair on either arc of ``l`` and ``x_(f,a) <= v_n`` for every pair whose
arc starts or ends at ``n``. A node that is some request's source or single
target is paid in every plan: its ``v_n`` is fixed at 1 (not a target node of a
request with targets, X3: only the chosen one is touched).

After the MILP, the integer variables are rounded and fixed, and the
remaining LP is solved again, so the reported objective is the MILP
objective of exactly the returned plan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np

from ..evaluation import evaluate, pair_costs
from ..evaluation.curves import CostCurves, cost_curves
from ..evaluation.encoding import route_violations, target_position
from ..evaluation.pricing import arc_table, fixed_charges, provider_table, support_table
from ..model import KM_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance, Plan, Route
from ..planning.ladders import ladder_segments
from ..planning.waterfill import waterfill
from ..utils.gaps import relative_gap
from ..utils.jsonsafe import finite_or_none
from ..utils.timing import Stopwatch
from .milp import Milp, MilpBuilder
from .solver import SolverError, SolverOptions, SolverUnavailableError, fix_and_resolve, solve_milp

__all__ = [
    "FORMS",
    "SPModel",
    "SPResult",
    "build_model",
    "solve_model",
    "solve_sp",
    "relaxation_bound",
    "capacity_free_bound",
    "estimate_model",
    "ModelSize",
    "DEFAULT_MEMORY_LIMIT_GB",
    "relaxed_plan",
    "resolve_warm_start",
]

#: The two forms of the deterministic equivalent.
FORMS: tuple[str, ...] = ("compact", "extensive")

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KM_WAVELENGTHS_PER_LINK)


# --------------------------------------------------------------------------- pair data


def _pairs(instance: Instance) -> CostCurves:
    """The (request, arc) pairs that may get variables, with their cost curves.

    Arcs into a request's source or out of its target cannot lie on its path.
    A request with targets (X3) keeps the arcs out of its target nodes: its
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

    A request with targets (X3) touches only the node of the target it chooses.
    """
    ends = _fixed_ends(instance)
    return math.fsum(float(instance.node_fixed_costs.get(n, 0.0)) for n in ends)


def _fixed_ends(instance: Instance) -> set:
    """Node ids every plan's routes touch: every source and every single target."""
    out = {r.source for r in instance.requests}
    out.update(r.target for r in instance.requests if not r.is_anycast)
    return out


def relaxation_bound(instance: Instance) -> float:
    """A lower bound on the optimum: capacities dropped, each request alone.

    Each request then takes its shortest path under the arc weights "least
    expected cost of the pair" (newsvendor reservations, docs/model.md, property 3);
    a request with targets (X3) the cheapest of its targets, path plus service
    cost (provider capacities dropped too).
    Fixed charges (X1) are shared by the requests, so none is counted per
    request; the bound adds only the node charges every plan pays (the
    requests' sources and single targets).
    """
    costs, _, _ = _relaxed_paths(instance, _pairs(instance))
    return float(sum(costs)) + _endpoint_charges(instance)


def _sink_costs(instance: Instance, f: int, dist: Mapping[int, float]) -> np.ndarray:
    """Per target of request ``f``: distance to its node (``inf`` if unreached) + service."""
    pt = provider_table(instance)
    sl = slice(pt.ptr[f], pt.ptr[f + 1])
    return np.asarray([dist.get(int(n), math.inf) for n in pt.node[sl]]) + pt.service_cost[sl]


def _relaxed_paths(
    instance: Instance, pairs: CostCurves
) -> tuple[list[float], list[list[int]], list[int]]:
    """Per request: capacity-free optimal cost, its pair indices along the path, its target.

    The target is a position in the request's ``sinks`` (X3: the cheapest by
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
        paths.append([g.edges[u, v]["pair"] for u, v in zip(path[:-1], path[1:])])
        chosen.append(k)
    return costs, paths, chosen


def relaxed_plan(
    instance: Instance, planner: str = "relaxed", passes: int = 3, clock: Any = None
) -> Plan:
    """A feasible plan by capacity-aware rerouting; the exact solver's warm start.

    Requests are routed one at a time on a shortest path whose arc weights
    are the pair's expected cost (evaluator) with the reservation
    ``min(newsvendor, capacity left)`` (the best one for the pair alone, by
    convexity). Then, for ``passes`` rounds, each request is taken out and
    routed again the same way against the others; no step raises the total.
    Optimal when no capacity binds (docs/model.md, property 3). With a
    ``clock`` (a :class:`~qkdbench.utils.timing.Stopwatch`), no rerouting
    round starts after it has expired.

    A request with targets (X3) is first given the target of the cheapest
    assignment within the provider capacities (capacity-free path cost plus
    service cost, :func:`~qkdbench.planning.providers.assign_targets`); each
    rerouting then picks the cheapest target (path plus service cost) among
    those whose provider has room besides this request. The routes name
    their provider.
    """
    from ..planning.providers import assign_targets

    pairs = _pairs(instance)
    ny, nz = (v.astype(float) for v in pairs.newsvendor())
    arcs = arc_table(instance)
    pt = provider_table(instance)
    tails, heads = arcs.tail, arcs.head
    free_y = arcs.W_qkd.astype(float).copy()
    free_z = arcs.W_kml.astype(float).copy()
    order = np.argsort(pairs.req, kind="stable")
    bounds = np.searchsorted(pairs.req[order], np.arange(instance.n_requests + 1))
    chosen: list[list[tuple[int, float, float]]] = [[] for _ in instance.requests]
    sink = np.zeros(instance.n_requests, dtype=np.int64)  # position in req.sinks
    load = np.zeros(len(pt.ids), dtype=np.int64)
    if pt.active:  # the first targets: cheapest assignment within the provider capacities
        cost = np.full(pt.node.size, np.inf)
        weight = pairs.least_cost()
        for f in range(instance.n_requests):
            if instance.requests[f].is_anycast:
                sel = order[bounds[f] : bounds[f + 1]]
                g = nx.DiGraph()
                g.add_edges_from(
                    (int(tails[pairs.arc[i]]), int(heads[pairs.arc[i]]), {"w": float(weight[i])})
                    for i in sel
                )
                dist = nx.single_source_dijkstra_path_length(
                    g, instance.node_index[instance.requests[f].source], weight="w"
                )
                cost[pt.ptr[f] : pt.ptr[f + 1]] = _sink_costs(instance, f, dist)
            else:
                cost[pt.ptr[f]] = 0.0
        sink = assign_targets(instance, cost)

    def route(f: int, allowed: list[int]) -> tuple[list[tuple[int, float, float]], int]:
        sel = order[bounds[f] : bounds[f + 1]]
        a = pairs.arc[sel]
        y = np.minimum(ny[sel], free_y[a])
        z = np.minimum(nz[sel], free_z[a])
        cy, cz = pair_costs(instance, pairs.req[sel], a, y, z)
        g = nx.DiGraph()
        g.add_edges_from(
            (int(tails[a[k]]), int(heads[a[k]]), {"w": float(cy[k] + cz[k]), "k": k})
            for k in range(sel.size)
        )
        r = instance.requests[f]
        dist, paths = nx.single_source_dijkstra(g, instance.node_index[r.source], weight="w")
        total = _sink_costs(instance, f, dist)
        k_best = min(allowed, key=lambda k: (total[k], k))
        path = paths[int(pt.node[pt.ptr[f] + k_best])]
        out = []
        for u, v in zip(path[:-1], path[1:]):
            k = g.edges[u, v]["k"]
            out.append((int(a[k]), float(y[k]), float(z[k])))
        return out, k_best

    def take(f: int, sign: int) -> None:
        for a, y, z in chosen[f]:
            free_y[a] -= sign * y
            free_z[a] -= sign * z
        prov = int(pt.provider[pt.ptr[f] + sink[f]])
        if prov >= 0:
            load[prov] += sign

    def room(f: int) -> list[int]:
        """Targets of ``f`` whose provider can take it (``f`` taken out)."""
        n = pt.ptr[f + 1] - pt.ptr[f]
        provs = pt.provider[pt.ptr[f] : pt.ptr[f + 1]]
        return [
            k
            for k in range(n)
            if provs[k] < 0 or pt.capacity[provs[k]] < 0 or load[provs[k]] < pt.capacity[provs[k]]
        ]

    for f in range(instance.n_requests):
        chosen[f], sink[f] = route(f, [int(sink[f])])
        take(f, 1)
    for _ in range(passes):
        if clock is not None and clock.expired():  # the first routing is already a plan
            break
        for f in range(instance.n_requests):
            take(f, -1)
            chosen[f], sink[f] = route(f, room(f))
            take(f, 1)
    # with the routes fixed, share each arc's capacity optimally (separable convex)
    where = {(int(f), int(a)): i for i, (f, a) in enumerate(zip(pairs.req, pairs.arc))}
    entries = [
        (f, k, a) for f in range(instance.n_requests) for k, (a, _, _) in enumerate(chosen[f])
    ]
    pair_ids = np.asarray([where[(f, a)] for f, _, a in entries], dtype=np.int64)
    groups = np.asarray([a for _, _, a in entries], dtype=np.int64)
    res_y = [[0] * len(c) for c in chosen]
    res_z = [[0] * len(c) for c in chosen]
    for values, width, cap, out in (
        (pairs.qkd, _WY, arcs.W_qkd, res_y),
        (pairs.km, _WZ, arcs.W_kml, res_z),
    ):
        ptr, length, ben = ladder_segments(pairs.ptr, width * pairs.levels, values)
        shares = waterfill(ptr, length, ben, pair_ids, groups, cap.astype(float))
        for (f, k, _), t in zip(entries, shares):
            out[f][k] = int(round(t))
    routes = []
    for f, r in enumerate(instance.requests):
        path = [r.source] + [instance.nodes[heads[a]] for a, _, _ in chosen[f]]
        routes.append(
            Route(
                r.id, tuple(path), tuple(res_y[f]), tuple(res_z[f]), r.sinks[int(sink[f])].provider
            )
        )
    return Plan(instance.name, planner, tuple(routes), {"status": "heuristic"})


# --------------------------------------------------------------------------- model

#: Default most memory (GB) a model may need before :func:`build_model` refuses it.
DEFAULT_MEMORY_LIMIT_GB = 4.0

#: Seconds per constraint-matrix nonzero that a HiGHS run takes beyond its own time limit
#: (passing the model, setup, the LP re-solve with the integers fixed). Measured on
#: germany50 with 1000 requests: about 6.5 s for 3.0 M nonzeros, rounded up.
SECONDS_PER_NONZERO = 2.5e-6

#: Bytes of peak memory per constraint-matrix nonzero of a compact model, building and
#: solving (HiGHS: matrix copies, presolve, LP factors, search). Calibrated on
#: germany50 with K = 10 (see :func:`estimate_model`).
BYTES_PER_NONZERO = 1400.0


@dataclass(frozen=True)
class ModelSize:
    """The size of a deterministic-equivalent MILP, estimated before building it.

    Attributes
    ----------
    pairs, columns, rows, nonzeros : int
    gigabytes : float
        ``nonzeros * BYTES_PER_NONZERO / 1e9``: the peak memory expected for
        building and solving the model.
    """

    pairs: int
    columns: int
    rows: int
    nonzeros: int
    gigabytes: float


def estimate_model(instance: Instance, pairs: CostCurves, form: str = "compact") -> ModelSize:
    """Columns, rows and nonzeros of the model over ``pairs``, and its memory, without building.

    The counts follow the builders row block by row block (an upper estimate
    for the routing rows). Memory is ``nonzeros * BYTES_PER_NONZERO``: peak
    memory of HiGHS grows linearly with the matrix; germany50 with 1000
    requests (11.7 M nonzeros unpruned) reached 15.7 GB, about 1340 bytes per
    nonzero, rounded up.
    """
    n = pairs.n
    counts = np.diff(pairs.ptr)
    per_kind = int(np.maximum(counts - 1, 1).sum()) if n else 0
    cols, rows = 3 * n, 2 * n + 2 * len(instance.nodes) * instance.n_requests
    nnz = 4 * n + 3 * n + 2 * n  # linking, routing (in, out, out-degree), capacity
    if form == "compact":
        cols += 2 * n
        rows += 2 * per_kind
        nnz += 6 * per_kind + 2 * n
    else:
        sup = support_table(instance)
        cls = sup.arc_class[pairs.arc]
        points = int((sup.lptr[cls, pairs.req + 1] - sup.lptr[cls, pairs.req]).sum()) if n else 0
        cols += 4 * points
        rows += 4 * points
        nnz += 10 * points
    pt = provider_table(instance)
    if pt.active:  # X3: a choice binary per target, its choice, flow, out and capacity rows
        n_w = int(sum(np.diff(pt.ptr)[f] for f, r in enumerate(instance.requests) if r.is_anycast))
        cols += n_w
        rows += instance.n_requests + len(pt.ids) + n_w
        nnz += 4 * n_w
    return ModelSize(n, int(cols), int(rows), int(nnz), nnz * BYTES_PER_NONZERO / 1e9)


@dataclass(frozen=True, eq=False)
class SPModel:
    """A built deterministic-equivalent MILP.

    Attributes
    ----------
    instance : Instance
    form : str
        ``compact`` or ``extensive``.
    milp : Milp
        The model as arrays; tests and callers may add rows
        (:meth:`Milp.with_row`) before solving.
    req, arc : ndarray
        Request position and arc id of each pair ``i``.
    x, y, z : ndarray of int
        Column of the route, QKD-reservation and KM-reservation variable of
        each pair.
    y_ub, z_ub : ndarray
        Upper bounds of the reservations (``ub * x`` is a constraint).
    build_s : float
        Seconds spent building.
    n_pairs_all : int
        Pairs before pruning (``len(x)`` after).
    u, u_link : ndarray of int
        Columns of the link fixed-charge binaries (X1) and their link ids.
    v, v_node : ndarray of int
        Columns of the node fixed-charge binaries and their node positions.
    w, w_pos : ndarray of int
        Columns of the target-choice binaries (X3) and their target positions in
        :func:`~qkdbench.evaluation.pricing.provider_table` (requests with
        targets only).
    """

    instance: Instance
    form: str
    milp: Milp
    req: np.ndarray
    arc: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    y_ub: np.ndarray
    z_ub: np.ndarray
    build_s: float
    n_pairs_all: int = 0
    u: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    u_link: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    v: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    v_node: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    w: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    w_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def integer_cols(self) -> np.ndarray:
        """Columns of the route and reservation variables, the fixed-charge binaries, the choices.

        In the order ``x, y, z, u, v, w``.
        """
        return np.concatenate([self.x, self.y, self.z, self.u, self.v, self.w])


def _names(prefix: str, *parts: np.ndarray) -> np.ndarray:
    """Column names ``prefix + parts[0] + "_" + parts[1] ...`` (fix the column order)."""
    out = np.char.add(prefix, parts[0].astype(str))
    for part in parts[1:]:
        out = np.char.add(np.char.add(out, "_"), part.astype(str))
    return out


def _link_rows(
    b: MilpBuilder, x: np.ndarray, y: np.ndarray, z: np.ndarray, y_ub: np.ndarray, z_ub: np.ndarray
) -> None:
    """``y <= y_ub x`` and ``z <= z_ub x``, two rows per pair."""
    n = x.size
    col = np.stack([np.stack([y, x], 1), np.stack([z, x], 1)], 1)  # (n, 2, 2)
    val = np.stack([np.stack([np.ones(n), -y_ub], 1), np.stack([np.ones(n), -z_ub], 1)], 1)
    b.add_rows(
        lower=np.full(2 * n, -np.inf),
        upper=0.0,
        row=np.repeat(np.arange(2 * n), 2),
        col=col.ravel(),
        value=val.ravel(),
    )


def _cut_rows(
    b: MilpBuilder,
    pairs: CostCurves,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    names: list[np.ndarray],
) -> None:
    """Epigraph variables and one cut per linear piece of each pair's expected cost."""
    n = pairs.n
    counts = np.diff(pairs.ptr)
    per_kind = np.maximum(counts - 1, 1)
    first = np.concatenate(([0], np.cumsum(2 * per_kind)))[:-1]
    pair_of = np.repeat(np.arange(n), counts)
    k = np.arange(pairs.levels.size) - pairs.ptr[pair_of]
    seg = np.flatnonzero((counts[pair_of] > 1) & (k < counts[pair_of] - 1))
    single = pairs.ptr[:-1][counts == 1]
    rows, cols, vals = [], [], []
    shifts: tuple[Any, Any] = (np.zeros(n, np.int64), per_kind)
    for shift, kind, var, width, values in (
        (shifts[0], "y", y, _WY, pairs.qkd),
        (shifts[1], "z", z, _WZ, pairs.km),
    ):
        theta = b.add_cols(n, lower=0.0, cost=1.0)
        names.append(_names(f"t{kind}_", pairs.req, pairs.arc))
        i = pair_of[seg]
        lo_b = width * pairs.levels[seg]
        slope = (values[seg + 1] - values[seg]) / (width * pairs.levels[seg + 1] - lo_b)
        r_seg = first[i] + shift[i] + k[seg]
        i1 = pair_of[single]
        r_one = first[i1] + shift[i1]
        # entries in the order theta, x, reservation within each row
        rows += [r_seg, r_one, r_seg, r_one, r_seg]
        cols += [theta[i], theta[i1], x[i], x[i1], var[i]]
        vals += [
            np.ones(seg.size),
            np.ones(single.size),
            -(values[seg] - slope * lo_b),
            -values[single],
            -slope,
        ]
    m = int(2 * per_kind.sum())
    b.add_rows(
        lower=np.zeros(m),
        upper=np.inf,
        row=np.concatenate(rows),
        col=np.concatenate(cols),
        value=np.concatenate(vals),
    )


def _scenario_rows(
    b: MilpBuilder,
    instance: Instance,
    pairs: CostCurves,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    names: list[np.ndarray],
) -> None:
    """The extensive form's used / on-demand wavelengths per scenario of each pair.

    A pair's scenarios are the values of its QKD-link count ``P`` (the product of
    the demand and, for a random key rate, the link state: X2), merged when equal.
    """
    arcs, sup = arc_table(instance), support_table(instance)
    cls = sup.arc_class[pairs.arc]
    start = sup.lptr[cls, pairs.req]
    per_pair = sup.lptr[cls, pairs.req + 1] - start
    pair_of = np.repeat(np.arange(pairs.n), per_pair)
    s = start[pair_of] + (
        np.arange(pair_of.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    )
    a = pairs.arc[pair_of]
    need = sup.links[s].astype(float)
    keep = need != 0
    pair_of, s, a, need = pair_of[keep], s[keep], a[keep], need[keep]
    e = pair_of.size
    p = sup.link_prob[s]
    f = pairs.req[pair_of]
    row_base = 4 * np.arange(e)
    rows, cols, vals = [], [], []
    for shift, kind, res, width, cost in ((0, "y", y, _WY, arcs.c_y), (2, "z", z, _WZ, arcs.c_z)):
        used = b.add_cols(e, lower=0.0, cost=p * cost[1, a])
        names.append(_names(f"{kind}e_", f, a, s))
        ondemand = b.add_cols(e, lower=0.0, cost=p * cost[2, a])
        names.append(_names(f"{kind}o_", f, a, s))
        use_row, need_row = row_base + shift, row_base + shift + 1
        rows += [use_row, use_row, need_row, need_row, need_row]
        cols += [used, res[pair_of], used, ondemand, x[pair_of]]
        vals += [np.ones(e), -np.ones(e), np.ones(e), np.ones(e), -width * need]
    lower = np.tile([-np.inf, 0.0], 2 * e)
    upper = np.tile([0.0, np.inf], 2 * e)
    b.add_rows(
        lower=lower,
        upper=upper,
        row=np.concatenate(rows),
        col=np.concatenate(cols),
        value=np.concatenate(vals),
    )


def _routing_rows(
    b: MilpBuilder,
    instance: Instance,
    pairs: CostCurves,
    x: np.ndarray,
    w: np.ndarray,
    w_pos: np.ndarray,
) -> None:
    """Flow conservation and at most one outgoing arc per node, per request.

    For a request with targets (X3) the sinks are weighted by the choice
    binaries ``w`` (columns of the target positions ``w_pos``): at each node
    ``out - in + sum of w of the targets there = [node is the source]``, with a
    row for every target node (so a target none of whose arcs is kept cannot be
    chosen). At a target node, the out-degree row is ``out + w <= 1``: the path
    passes the node only if it does not end there, so the arcs from the source
    hold exactly one simple path to the chosen target plus cycles apart.
    """
    n_nodes = len(instance.nodes)
    pt = provider_table(instance)
    tail = arc_table(instance).tail[pairs.arc].astype(np.int64)
    head = arc_table(instance).head[pairs.arc].astype(np.int64)
    w_req = np.searchsorted(pt.ptr, w_pos, side="right") - 1
    key_out = pairs.req * n_nodes + tail
    key_in = pairs.req * n_nodes + head
    key_w = w_req * n_nodes + pt.node[w_pos]
    keys = np.unique(np.concatenate([key_out, key_in, key_w]))
    out_deg = np.bincount(np.searchsorted(keys, key_out), minlength=keys.size)
    sink = np.zeros(keys.size, dtype=bool)
    sink[np.searchsorted(keys, key_w)] = True
    need_out = (out_deg > 1) | (sink & (out_deg > 0))
    # rows: one flow row per (request, node) present, followed by its out row if needed
    width = 1 + need_out
    flow_row = np.concatenate(([0], np.cumsum(width)))[:-1]
    m = int(width.sum())
    lower = np.empty(m)
    upper = np.empty(m)
    req, node = keys // n_nodes, keys % n_nodes
    idx = instance.node_index
    src = np.asarray([idx[r.source] for r in instance.requests], np.int64)
    dst = np.asarray([-1 if r.is_anycast else idx[r.target] for r in instance.requests], np.int64)
    rhs = np.where(node == src[req], 1.0, np.where(node == dst[req], -1.0, 0.0))
    lower[flow_row] = upper[flow_row] = rhs
    has_out = flow_row[need_out] + 1
    lower[has_out], upper[has_out] = -np.inf, 1.0
    r_out = flow_row[np.searchsorted(keys, key_out)]
    r_in = flow_row[np.searchsorted(keys, key_in)]
    multi = need_out[np.searchsorted(keys, key_out)]
    k_w = np.searchsorted(keys, key_w)
    r_w = flow_row[k_w]
    w_out = need_out[k_w]
    b.add_rows(
        lower=lower,
        upper=upper,
        row=np.concatenate([r_out, r_in, r_out[multi] + 1, r_w, r_w[w_out] + 1]),
        col=np.concatenate([x, x, x[multi], w, w[w_out]]),
        value=np.concatenate(
            [
                np.ones(x.size),
                -np.ones(x.size),
                np.ones(int(multi.sum())),
                np.ones(w.size),
                np.ones(int(w_out.sum())),
            ]
        ),
    )


def _provider_rows(
    b: MilpBuilder, instance: Instance, names: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Target-choice binaries of the requests with targets (X3) and their rows.

    One binary ``w`` per target, priced at its service cost; ``sum w = 1`` per
    request; ``sum w <= k_A`` over the targets of each provider ``A`` with a
    capacity. Returns the columns and their target positions.
    """
    pt = provider_table(instance)
    w_pos = np.concatenate(
        [
            np.arange(pt.ptr[f], pt.ptr[f + 1])
            for f, r in enumerate(instance.requests)
            if r.is_anycast
        ]
    ).astype(np.int64)
    w_req = np.searchsorted(pt.ptr, w_pos, side="right") - 1
    w = b.add_cols(w_pos.size, lower=0.0, upper=1.0, cost=pt.service_cost[w_pos], integer=True)
    names.append(_names("w_", w_req, w_pos))
    reqs, rank = np.unique(w_req, return_inverse=True)
    b.add_rows(lower=np.ones(reqs.size), upper=1.0, row=rank, col=w, value=1.0)
    prov = pt.provider[w_pos]
    capped = np.flatnonzero(pt.capacity >= 0)
    sel = np.flatnonzero(np.isin(prov, capped))
    if sel.size:
        used, prow = np.unique(prov[sel], return_inverse=True)
        b.add_rows(
            lower=np.full(used.size, -np.inf),
            upper=pt.capacity[used].astype(float),
            row=prow,
            col=w[sel],
            value=1.0,
        )
    return w, w_pos


def _capacity_rows(
    b: MilpBuilder, instance: Instance, pairs: CostCurves, y: np.ndarray, z: np.ndarray
) -> None:
    """The arc reservation capacities, a QKD and a KM row per arc in use."""
    arcs = arc_table(instance)
    used = np.unique(pairs.arc)
    rank = np.searchsorted(used, pairs.arc)
    upper = np.stack([arcs.W_qkd[used], arcs.W_kml[used]], 1).astype(float).ravel()
    b.add_rows(
        lower=np.full(upper.size, -np.inf),
        upper=upper,
        row=np.concatenate([2 * rank, 2 * rank + 1]),
        col=np.concatenate([y, z]),
        value=1.0,
    )


def _fixed_charge_rows(
    b: MilpBuilder, instance: Instance, pairs: CostCurves, x: np.ndarray, names: list[np.ndarray]
) -> tuple[np.ndarray, ...]:
    """Binaries ``u_l``, ``v_n`` (X1) with the strong linking rows; their columns and ids."""
    fc = fixed_charges(instance)
    arcs = arc_table(instance)
    link = pairs.arc // 2
    links = np.unique(link[fc.link[link] > 0])
    u = b.add_cols(links.size, lower=0.0, upper=1.0, cost=fc.link[links], integer=True)
    names.append(_names("u_", links))
    sel = np.flatnonzero(fc.link[link] > 0)
    rows_r, rows_c, rows_v = (
        [np.arange(sel.size)] * 2,
        [x[sel], u[np.searchsorted(links, link[sel])]],
        [np.ones(sel.size), -np.ones(sel.size)],
    )
    n_rows = sel.size
    ends = np.concatenate([arcs.tail[pairs.arc], arcs.head[pairs.arc]])
    pair2 = np.concatenate([np.arange(pairs.n), np.arange(pairs.n)])
    paid = ends[fc.node[ends] > 0]
    nodes = np.unique(paid)
    always = {instance.node_index[n] for n in _fixed_ends(instance)}
    lower = np.asarray([1.0 if int(n) in always else 0.0 for n in nodes])
    v = b.add_cols(nodes.size, lower=lower, upper=1.0, cost=fc.node[nodes], integer=True)
    names.append(_names("v_", nodes))
    sel2 = np.flatnonzero(fc.node[ends] > 0)
    rows_r += [n_rows + np.arange(sel2.size)] * 2
    rows_c += [x[pair2[sel2]], v[np.searchsorted(nodes, ends[sel2])]]
    rows_v += [np.ones(sel2.size), -np.ones(sel2.size)]
    n_rows += sel2.size
    if n_rows:
        b.add_rows(
            lower=np.full(n_rows, -np.inf),
            upper=0.0,
            row=np.concatenate(rows_r),
            col=np.concatenate(rows_c),
            value=np.concatenate(rows_v),
        )
    return u, links, v, nodes


def _pruned(
    instance: Instance, pairs: CostCurves, upper_bound: float, prices: tuple | None
) -> CostCurves:
    """The pairs a plan costing at most ``upper_bound`` may use (capacity-free and priced)."""
    from .lagrangian import reduced_cost_keep

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


def _check_memory(
    instance: Instance, pairs: CostCurves, form: str, limit: float | None, n_all: int
) -> None:
    if limit is None:
        return
    size = estimate_model(instance, pairs, form)
    if size.gigabytes > limit:
        raise SolverError(
            f"the {form} model of {instance.name} would need about {size.gigabytes:.1f} GB "
            f"({size.nonzeros:,} nonzeros, {size.columns:,} columns, {size.pairs:,} of "
            f"{n_all:,} (request, arc) pairs after pruning), above the {limit:g} GB limit "
            "(memory_limit_gb); use a heuristic or the lagrangian planner"
        )


def build_model(
    instance: Instance,
    form: str = "compact",
    *,
    upper_bound: float | None = None,
    prices: tuple | None = None,
    memory_limit_gb: float | None = None,
) -> SPModel:
    """Build the deterministic equivalent of ``instance`` in one of :data:`FORMS`.

    Parameters
    ----------
    instance : Instance
    form : {"compact", "extensive"}
    upper_bound : float, optional
        The cost of a known feasible plan. Pairs (request, arc) that no plan
        costing at most this can use (by the capacity-free bound) get no
        variables; the optimum is unchanged.
    prices : (lam_qkd, lam_km) or (lam_qkd, lam_km, mu), optional
        Lagrangian prices of the capacities, ``mu`` those of the provider
        capacities (X3) (e.g. of the best bound of
        :func:`~qkdbench.exact.lagrangian.lagrangian_bound`). With
        ``upper_bound``, pairs are also pruned by their Lagrangian reduced
        cost (:func:`~qkdbench.exact.lagrangian.reduced_cost_keep`, which
        states the argument); the optimum is unchanged.
    memory_limit_gb : float, optional
        Refuse to build a model whose estimated memory
        (:func:`estimate_model`) exceeds this.

    Returns
    -------
    SPModel

    Raises
    ------
    ValueError
        For an unknown form.
    SolverError
        If the model would need more than ``memory_limit_gb`` (one line
        with the estimate).
    """
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; use one of {', '.join(FORMS)}")
    t0 = time.perf_counter()
    arcs = arc_table(instance)
    pairs = _pairs(instance)
    n_all = pairs.n
    if upper_bound is not None and math.isfinite(upper_bound):
        pairs = _pruned(instance, pairs, upper_bound, prices)
    _check_memory(instance, pairs, form, memory_limit_gb, n_all)
    n = pairs.n
    top = pairs.levels[pairs.ptr[1:] - 1] if n else np.zeros(0)  # largest P per pair
    w_qkd = arcs.W_qkd[pairs.arc].astype(float)
    w_kml = arcs.W_kml[pairs.arc].astype(float)
    if form == "compact":
        y_ub = np.minimum(w_qkd, _WY * top)
        z_ub = np.minimum(w_kml, _WZ * top)
        cost_x = cost_y = cost_z = np.zeros(n)
    else:
        y_ub, z_ub = w_qkd, w_kml
        cost_x = arcs.hop[pairs.arc].astype(float)
        cost_y = arcs.c_y[0, pairs.arc].astype(float)
        cost_z = arcs.c_z[0, pairs.arc].astype(float)
    b = MilpBuilder()
    x = b.add_cols(n, lower=0.0, upper=1.0, cost=cost_x, integer=True)
    y = b.add_cols(n, lower=0.0, upper=y_ub, cost=cost_y, integer=True)
    z = b.add_cols(n, lower=0.0, upper=z_ub, cost=cost_z, integer=True)
    names = [_names(p, pairs.req, pairs.arc) for p in ("x_", "yr_", "zr_")]
    _link_rows(b, x, y, z, y_ub, z_ub)
    if form == "compact":
        _cut_rows(b, pairs, x, y, z, names)
    else:
        _scenario_rows(b, instance, pairs, x, y, z, names)
    if provider_table(instance).active:
        w, w_pos = _provider_rows(b, instance, names)
    else:
        w, w_pos = np.zeros(0, np.int32), np.zeros(0, np.int64)
    _routing_rows(b, instance, pairs, x, w, w_pos)
    _capacity_rows(b, instance, pairs, y, z)
    if fixed_charges(instance).active:
        u, u_link, v, v_node = _fixed_charge_rows(b, instance, pairs, x, names)
    else:
        u = v = np.zeros(0, np.int32)
        u_link = v_node = np.zeros(0, np.int64)
    # columns sorted by name: the order a name-keyed modelling layer would hand the solver
    order = np.argsort(np.concatenate(names), kind="stable") if n else None
    milp = b.build(col_order=order)
    new = np.empty(b.num_col, dtype=np.int32)
    new[order if order is not None else slice(None)] = np.arange(b.num_col, dtype=np.int32)
    return SPModel(
        instance,
        form,
        milp,
        pairs.req,
        pairs.arc,
        new[x],
        new[y],
        new[z],
        y_ub,
        z_ub,
        time.perf_counter() - t0,
        n_all,
        new[u],
        u_link,
        new[v],
        v_node,
        new[w],
        w_pos,
    )


# --------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class SPResult:
    """The outcome of an exact solve.

    Attributes
    ----------
    plan : Plan
        The best plan found (no routes if none was); ``plan.stats`` repeats
        the fields below.
    status : str
        ``optimal`` (proven, within ``gap_rel``), ``feasible`` (stopped early
        with an incumbent), ``infeasible`` or ``error``.
    objective : float
        MILP objective of the returned plan (``nan`` if none).
    bound : float
        Best proven lower bound on the optimum (``nan`` if unknown).
    gap : float
        ``(objective - bound) / objective`` (``0`` if both are 0).
    build_s, solve_s, runtime_s : float
        Model building, solver (including the final LP) and total seconds.
    form, solver, native_status, message : str
    """

    plan: Plan
    status: str
    objective: float
    bound: float
    gap: float
    build_s: float
    solve_s: float
    runtime_s: float
    form: str
    solver: str
    native_status: str
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON fields (without the plan)."""
        num = finite_or_none
        return {
            "status": self.status,
            "objective": num(self.objective),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "build_s": self.build_s,
            "solve_s": self.solve_s,
            "runtime_s": self.runtime_s,
            "form": self.form,
            "solver": self.solver,
            "native_status": self.native_status,
            "message": self.message,
            **dict(self.extra),
        }


def _warm_values(model: SPModel, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of every integer variable for a plan (reservations clipped)."""
    inst = model.instance
    problems = route_violations(inst, plan)
    if problems:
        raise ValueError(f"warm-start plan does not fit the instance: {problems[0]}")
    where = {(int(f), int(a)): i for i, (f, a) in enumerate(zip(model.req, model.arc))}
    n = model.x.size
    xv, yv, zv = np.zeros(n), np.zeros(n), np.zeros(n)
    for route in plan.routes:
        f = inst.request_index[route.request_id]
        for a, yq, zk in zip(inst.path_arcs(route.path), route.reserve_qkd, route.reserve_km):
            i = where.get((f, a))
            if i is None:
                raise ValueError(
                    f"warm-start route of {route.request_id!r} uses arc {a} "
                    "that cannot lie on a simple path of the request"
                )
            xv[i] = 1.0
            yv[i] = float(min(max(round(yq), 0), model.y_ub[i]))
            zv[i] = float(min(max(round(zk), 0), model.z_ub[i]))
    # fixed charges (X1): a link or node is open iff some route of the plan uses it
    on = model.arc[xv > 0.5]
    uv = np.isin(model.u_link, on // 2).astype(float)
    arcs = arc_table(inst)
    vv = np.isin(model.v_node, np.concatenate([arcs.tail[on], arcs.head[on]])).astype(float)
    # targets (X3): the choice binary of the target each route names
    wv = np.zeros(model.w.size)
    if model.w.size:
        pt = provider_table(inst)
        col_of = {int(j): k for k, j in enumerate(model.w_pos)}
        for route in plan.routes:
            f = inst.request_index[route.request_id]
            req = inst.requests[f]
            if req.is_anycast:
                pos = target_position(req, route.path[-1], route.provider)
                assert pos is not None  # route_violations checked it
                wv[col_of[int(pt.ptr[f]) + pos]] = 1.0
    return model.integer_cols, np.concatenate([xv, yv, zv, uv, vv, wv])


def _decode(
    model: SPModel,
    xv: np.ndarray,
    yv: np.ndarray,
    zv: np.ndarray,
    planner: str,
    wv: np.ndarray | None = None,
) -> tuple[Route, ...]:
    """The routes of a rounded solution: each request's path from its source.

    A request with targets (X3) ends at the node of the target whose choice
    binary is set (``wv``), and its route names that target's provider.
    """
    inst = model.instance
    tails, heads = arc_table(inst).tail, arc_table(inst).head
    pt = provider_table(inst)
    w_req = np.searchsorted(pt.ptr, model.w_pos, side="right") - 1
    routes = []
    for f, r in enumerate(inst.requests):
        sel = np.flatnonzero((model.req == f) & (xv > 0.5))
        nxt = {int(tails[model.arc[i]]): i for i in sel}
        provider = None
        if r.is_anycast:
            mine = np.flatnonzero(w_req == f)
            if wv is None or not mine.size:
                raise SolverError(f"solver solution has no target for request {r.id!r}")
            j = int(model.w_pos[mine[int(np.argmax(wv[mine]))]])
            t = int(pt.node[j])
            provider = r.sinks[j - int(pt.ptr[f])].provider
        else:
            t = inst.node_index[r.target]
        v = inst.node_index[r.source]
        path, ys, zs = [r.source], [], []
        while v != t:
            if v not in nxt or len(path) > len(inst.nodes):
                raise SolverError(f"solver solution has no path for request {r.id!r}")
            i = nxt[v]
            v = int(heads[model.arc[i]])
            path.append(inst.nodes[v])
            ys.append(int(yv[i]))
            zs.append(int(zv[i]))
        routes.append(Route(r.id, tuple(path), tuple(ys), tuple(zs), provider))
    return tuple(routes)


def capacity_free_bound(instance: Instance) -> float:
    """The Lagrangian dual at zero prices: a valid lower bound, computed in milliseconds.

    Equal to :func:`relaxation_bound` (capacities dropped) unless a single
    pair's newsvendor reservation exceeds its arc's capacity, where it is
    larger (still valid: a reservation never exceeds the capacity). Uses the
    vectorised shortest paths of :mod:`qkdbench.exact.lagrangian`.
    """
    from .lagrangian import lagrangian_value

    return float(lagrangian_value(instance).value)


def _incumbent_result(
    model: SPModel | tuple[Instance, str],
    plan: Plan | None,
    planner: str,
    t0: float,
    message: str,
    native: str,
    *,
    solver_bound: float = math.nan,
    solver: str = "",
) -> SPResult | None:
    """``plan`` (a known feasible plan) as a ``feasible`` result, or ``None`` if it is not one.

    Used when the solver stopped or failed without a solution of its own: the
    plan is labelled ``feasible`` with the best bound known (the solver's, if
    it reported one, else the capacity-free one) and ``message`` kept.
    ``model`` may be ``(instance, form)`` when no model was built.
    """
    if plan is None:
        return None
    if isinstance(model, tuple):
        inst, form, build_s = model[0], model[1], 0.0
    else:
        inst, form, build_s = model.instance, model.form, model.build_s
    score = evaluate(inst, plan)
    if not score.feasible:
        return None
    objective = float(score.total)
    bound, source = solver_bound, "solver"
    relaxed = capacity_free_bound(inst)
    if not math.isfinite(bound) or relaxed > bound:
        bound, source = relaxed, "relaxation"
    bound = min(bound, objective)
    gap = relative_gap(objective, bound)
    solve_s = time.perf_counter() - t0
    stats = {
        "status": "feasible",
        "objective": objective,
        "bound": bound,
        "bound_source": source,
        "gap": gap,
        "build_s": build_s,
        "solve_s": solve_s,
        "runtime_s": build_s + solve_s,
        "form": form,
        "solver": solver,
        "native_status": native,
        "solver_objective": math.nan,
        "incumbent": "warm start",
    }
    if message:
        stats["message"] = message
    return SPResult(
        Plan(inst.name, planner, plan.routes, stats),
        "feasible",
        objective,
        bound,
        gap,
        build_s,
        solve_s,
        build_s + solve_s,
        form,
        solver,
        native,
        message,
    )


def _empty_result(instance: Instance, form: str, planner: str, t0: float) -> SPResult:
    runtime = time.perf_counter() - t0
    stats = {
        "status": "optimal",
        "objective": 0.0,
        "bound": 0.0,
        "gap": 0.0,
        "build_s": 0.0,
        "solve_s": 0.0,
        "runtime_s": runtime,
        "form": form,
    }
    return SPResult(
        Plan(instance.name, planner, (), stats),
        "optimal",
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        runtime,
        form,
        "none",
        "",
        "",
    )


def solve_model(
    model: SPModel,
    options: SolverOptions | None = None,
    *,
    warm_start: Plan | None = None,
    planner: str = "exact",
) -> SPResult:
    """Solve a built model and turn the solution into a plan.

    Parameters
    ----------
    model : SPModel
    options : SolverOptions, optional
    warm_start : Plan, optional
        A feasible plan handed to the solver as its first incumbent.
    planner : str
        Name written into the plan.

    Returns
    -------
    SPResult

    Raises
    ------
    SolverError
        If no solver is installed or the solver raised (one-line message).
    """
    options = options or SolverOptions()
    t0 = time.perf_counter()
    inst = model.instance
    if inst.n_requests == 0:
        return _empty_result(inst, model.form, planner, t0)
    warm = _warm_values(model, warm_start) if warm_start is not None else None
    try:
        run = solve_milp(model.milp, options, warm)
    except SolverUnavailableError:
        raise
    except SolverError as exc:  # the solver raised: a feasible warm start is still a plan
        if options.solver.lower() not in ("auto", "highs", "cbc"):
            raise  # a bad option, not a failed run
        kept = _incumbent_result(model, warm_start, planner, t0, str(exc), "raised")
        if kept is None:
            raise
        return kept
    outcome = run.outcome
    name = outcome.solver
    objective, bound = math.nan, outcome.bound
    routes: tuple[Route, ...] = ()
    message = outcome.message
    status = outcome.status
    if status in ("optimal", "feasible"):
        assert run.values is not None
        ints = model.integer_cols
        rounded = np.round(run.values[ints])
        n = model.x.size
        xv, yv, zv = rounded[:n], rounded[n : 2 * n], rounded[2 * n : 3 * n]
        try:
            if run.highs is not None:
                objective = fix_and_resolve(run, ints, rounded)
            else:
                values = run.values.copy()
                values[ints] = rounded
                objective = float(model.milp.cost @ values)
            wv = rounded[3 * n + model.u.size + model.v.size :]
            routes = _decode(model, xv, yv, zv, planner, wv)
            if status == "feasible":
                # an incumbent may carry a positive-cost cycle beside its path, which the
                # decoder drops: report the cost of exactly the returned plan. (For a
                # proven optimum the two agree; the tests hold the MILP to that.)
                objective = min(objective, evaluate(inst, Plan(inst.name, planner, routes)).total)
        except SolverError as exc:
            status, message, routes = "error", str(exc), ()
    if status == "error" and not outcome.has_solution and warm_start is not None:
        # the solver stopped or failed before it held a solution of its own (a limit
        # before it took up the warm start, or e.g. kNotset under memory pressure):
        # the warm start is a feasible plan, so return it rather than no plan
        limit = outcome.message.startswith("HiGHS stopped")
        kept = _incumbent_result(
            model,
            warm_start,
            planner,
            t0,
            "" if limit else outcome.message,
            outcome.native_status,
            solver_bound=bound,
            solver=name,
        )
        if kept is not None:
            return kept
    source = "solver"
    if status == "feasible":
        # the capacity-free optimum is a valid bound too; keep the better of the two
        # (a solver stopped early may report none, or a trivial one such as 0)
        relaxed = capacity_free_bound(inst)
        if not math.isfinite(bound) or relaxed > bound:
            bound, source = relaxed, "relaxation"
    if status == "optimal" and not math.isfinite(bound):
        bound = objective
    if (
        status == "optimal"
        and math.isfinite(bound)
        and math.isfinite(objective)
        and relative_gap(objective, bound) > 2 * max(options.gap_rel, 1e-9)
    ):
        # HiGHS can report kOptimal with an objective value that is not its own
        # solution's (seen after a warm start that is already optimal): the returned
        # plan's value is above the dual bound, so optimality is not proven
        relaxed = capacity_free_bound(inst)
        if relaxed > bound:
            bound, source = relaxed, "relaxation"
        if relative_gap(objective, bound) > options.gap_rel:  # the capacity-free bound
            status = "feasible"  # may still prove it
            message = (
                f"HiGHS reported an optimum of {outcome.objective:.10g} but its "
                f"solution costs {objective:.10g}; not proven beyond its bound"
            )
    if math.isfinite(bound) and math.isfinite(objective):
        bound = min(bound, objective)
    gap = relative_gap(objective, bound)
    solve_s = time.perf_counter() - t0
    stats = {
        "status": status,
        "objective": objective,
        "bound": bound,
        "bound_source": source if math.isfinite(bound) else "",
        "gap": gap,
        "build_s": model.build_s,
        "solve_s": solve_s,
        "runtime_s": model.build_s + solve_s,
        "form": model.form,
        "solver": name,
        "native_status": outcome.native_status,
        "solver_objective": outcome.objective,
    }
    if message:
        stats["message"] = message
    plan = Plan(inst.name, planner, routes, stats)
    return SPResult(
        plan,
        status,
        objective,
        bound,
        gap,
        model.build_s,
        solve_s,
        model.build_s + solve_s,
        model.form,
        name,
        outcome.native_status,
        message,
    )


def resolve_warm_start(
    instance: Instance, warm_start: Plan | str | None, seed: int | None = None
) -> Plan | None:
    """The warm-start plan for ``warm_start``.

    ``"relaxed"`` is :func:`relaxed_plan`; another string names a registered
    planner (run with ``seed``); a :class:`Plan` is used as given; ``None``
    means no warm start.
    """
    if warm_start is None or isinstance(warm_start, Plan):
        return warm_start
    if warm_start == "relaxed":
        return relaxed_plan(instance)
    from ..utils.registry import get_planner

    return get_planner(warm_start).plan(instance, seed=seed)


def solve_sp(
    instance: Instance,
    form: str = "compact",
    *,
    time_limit: float | None = None,
    gap_rel: float = 1e-6,
    threads: int | None = None,
    warm_start: Plan | str | None = "relaxed",
    prune: bool = True,
    msg: bool = False,
    log_file: str | None = None,
    solver: str = "auto",
    planner: str = "exact",
    extra: Mapping[str, Any] | None = None,
    seed: int | None = None,
    lagrangian: bool = True,
    lagrangian_share: float = 0.25,
    lagrangian_iterations: int = 300,
    memory_limit_gb: float | None = DEFAULT_MEMORY_LIMIT_GB,
) -> SPResult:
    """Build and solve the deterministic equivalent of ``instance``.

    Parameters
    ----------
    instance : Instance
    form : {"compact", "extensive"}
    time_limit : float, optional
        Seconds for warm start, build and solve together (the solver gets
        what is left, at least 1 ms).
    gap_rel : float
        Relative gap at which the solver stops and reports ``optimal``
        (default ``1e-6``; ``0`` for a proof to the solver's tolerances).
    threads : int, optional
    warm_start : Plan, str or None
        First incumbent: a plan, ``"relaxed"`` (default,
        :func:`relaxed_plan`), a registered planner's name, or ``None``.
    prune : bool
        Drop the (request, arc) pairs that no plan cheaper than the warm
        start can use (see :func:`build_model`); needs a feasible warm start.
    msg : bool
        Write the solver log to standard error.
    log_file : str, optional
        Append the solver log to this file.
    solver : {"auto", "highs", "cbc"}
    planner : str
        Name written into the plan.
    extra : Mapping, optional
        Native solver options (e.g. ``{"mip_max_nodes": 0}``).
    seed : int, optional
        Passed to a warm-start planner.
    lagrangian : bool
        First run the Lagrangian dual ascent
        (:func:`~qkdbench.exact.lagrangian.lagrangian_bound`, at most
        ``lagrangian_iterations`` iterations and ``lagrangian_share`` of the
        time limit): its plan becomes the incumbent handed to the solver when
        it is cheaper than the warm start, its prices prune pairs by reduced
        cost (with ``prune``), and its bound is reported when it beats the
        solver's (``bound_source`` says which).
    memory_limit_gb : float, optional
        Refuse (:class:`SolverError`) a model estimated to need more
        (:func:`estimate_model`); ``None``: no limit.

    Returns
    -------
    SPResult
        ``runtime_s = warm_s + build_s + solve_s`` (``warm_s`` in ``extra``).

    Raises
    ------
    SolverError
        If no solver is installed, the solver failed with no incumbent, or
        the model would exceed ``memory_limit_gb`` (one-line message).

    Notes
    -----
    The time limit covers the whole call: the Lagrangian ascent and the
    relaxed warm start stop on the clock, the solver gets what is left, and
    when nothing is left after the warm start or the build, the best plan
    known is returned (``feasible``) without solving. The warm starts
    share at most half of the limit; the solver gets what is left minus its
    expected setup and final LP (:data:`SECONDS_PER_NONZERO` per nonzero), and
    is not called when that leaves nothing. The overrun is what one
    uninterruptible step takes (reading the curves, one rerouting round of
    the relaxed warm start, the vectorised build, HiGHS's setup beyond the
    estimate).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> res = solve_sp(make_instance("nsfnet", 3, 2, seed=1))  # doctest: +SKIP
    >>> res.status  # doctest: +SKIP
    'optimal'
    """
    t0 = time.perf_counter()
    clock = Stopwatch(time_limit)
    dual = None
    if lagrangian and instance.n_requests:
        from .lagrangian import lagrangian_bound

        share = None if time_limit is None else lagrangian_share * time_limit
        dual = lagrangian_bound(instance, iterations=lagrangian_iterations, time_limit=share)
    warm_clock = (
        clock if time_limit is None else Stopwatch(max(0.0, 0.5 * time_limit - clock.elapsed))
    )
    warm = _best_start(instance, warm_start, seed, dual, warm_clock)
    upper = None
    if warm is not None and prune:
        score = evaluate(instance, warm)
        if score.feasible:
            upper = score.total
    warm_s = time.perf_counter() - t0
    prices = (dual.lam_qkd, dual.lam_km, dual.mu) if dual is not None else None
    res = None
    if clock.expired():  # no time left to build: the best plan known
        res = _incumbent_result(
            (instance, form),
            warm,
            planner,
            t0,
            "time limit reached before the model was built",
            "none",
        )
    if res is None:
        model = build_model(
            instance, form, upper_bound=upper, prices=prices, memory_limit_gb=memory_limit_gb
        )
        overhead = SECONDS_PER_NONZERO * model.milp.index.size
        if time_limit is not None and (clock.remaining or 0.0) < overhead:
            res = _incumbent_result(
                model,
                warm,
                planner,
                t0,
                "time limit: too little time left after the model build "
                f"(a solve needs about {overhead:.1f} s of setup)",
                "none",
            )
        if res is None:
            remaining = (
                None if time_limit is None else max((clock.remaining or 0.0) - overhead, 1e-3)
            )
            options = SolverOptions(
                time_limit=remaining,
                gap_rel=gap_rel,
                threads=threads,
                msg=msg,
                log_file=log_file,
                solver=solver,
                extra=dict(extra or {}),
            )
            res = solve_model(model, options, warm_start=warm, planner=planner)
        more: dict[str, Any] = {"pairs": len(model.x), "pairs_all": model.n_pairs_all}
    else:
        more = {}
    res = _with_dual_bound(res, dual)
    runtime = time.perf_counter() - t0
    more.update(warm_s=warm_s, runtime_s=runtime)
    return replace(
        res, runtime_s=runtime, extra={**res.extra, **more}, plan=res.plan.with_stats(**more)
    )


def _best_start(
    instance: Instance, warm_start: Plan | str | None, seed: int | None, dual: Any, clock: Stopwatch
) -> Plan | None:
    """The cheaper of the warm start and the Lagrangian heuristic's plan (if any)."""
    if isinstance(warm_start, Plan):
        problems = route_violations(instance, warm_start)
        if problems:
            raise ValueError(f"warm-start plan does not fit the instance: {problems[0]}")
    warm: Plan | None
    if warm_start == "relaxed":
        warm = relaxed_plan(instance, clock=clock)
    else:
        warm = resolve_warm_start(instance, warm_start, seed)
    if warm_start is None or dual is None or dual.plan is None:
        return warm
    from ..evaluation import decode_plan

    if warm is None or dual.cost < evaluate(instance, warm).total:
        return decode_plan(instance, dual.plan, "lagrangian")
    return warm


def _with_dual_bound(res: SPResult, dual: Any) -> SPResult:
    """``res`` with the Lagrangian bound when it beats the one reported (``feasible`` only)."""
    if (
        dual is None
        or res.status != "feasible"
        or not math.isfinite(dual.bound)
        or (math.isfinite(res.bound) and dual.bound <= res.bound)
    ):
        return res
    bound = min(dual.bound, res.objective)
    gap = relative_gap(res.objective, bound)
    plan = res.plan.with_stats(bound=bound, gap=gap, bound_source="lagrangian")
    return replace(res, bound=bound, gap=gap, plan=plan)
