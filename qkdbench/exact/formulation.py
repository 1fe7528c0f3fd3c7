"""The exact two-stage stochastic program as a MILP: its variables, rows and :func:`build_model`.

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

Link kinds and random key rates (docs/model.md): nothing in the
model is per key rate. A pair's scenarios are the values of its QKD-link count
``P`` over the product of the request's demand and the link's states
(:func:`~qkdbench.evaluation.pricing.support_table`), its breakpoints are those
values, and its prices ``c_y``, ``c_z`` are the link's ``unit_costs`` when given
(:func:`~qkdbench.evaluation.pricing.arc_table`), so both forms are exact for
such links as they are. A non-fiber link's fixed charge is its ``fixed_cost``
or 0 (:meth:`~qkdbench.model.Instance.link_fixed_cost`).

Targets and providers: for a request with ``targets``, a binary
``w_t`` per target, priced at its service cost, with ``sum_t w_t = 1``; flow
conservation ``out - in + sum of w_t of the targets at the node = [node is the
source]`` at every node (a row for every target node, so a target none of
whose arcs is kept cannot be chosen), and at a target node the out-degree row
``out + w <= 1``: a route may pass through one target's node on its way to
another, but does not leave the node where it ends. Arcs out of target nodes
keep their variables. Per provider ``A`` with a capacity, ``sum w_t <= k_A``
over the targets of ``A``. The returned route names the chosen target's
provider; warm starts set ``w`` from the plan's providers.

Fixed charges (docs/model.md): a binary ``u_l`` per link with a
positive charge ``F_l`` and ``v_n`` per node with a positive charge ``G_n``,
objective ``F_l u_l + G_n v_n``, and the strong linking rows ``x_(f,a) <= u_l``
for every pair on either arc of ``l`` and ``x_(f,a) <= v_n`` for every pair whose
arc starts or ends at ``n``. A node that is some request's source or single
target is paid in every plan: its ``v_n`` is fixed at 1 (not a target node of a
request with targets: only the chosen one is touched).

The model is solved, and its solution turned into a plan, by
:mod:`qkdbench.exact.sp_milp`; its size is estimated by
:mod:`qkdbench.exact.sizing`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evaluation.curves import CostCurves
from ..evaluation.pricing import arc_table, fixed_charges, provider_table, support_table
from ..exceptions import InputError
from ..model import KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance
from .bounds import _fixed_ends, _pairs, _pruned
from .linking_dual import LinkingPrices, linking_keep
from .milp import Milp, MilpBuilder
from .sizing import _check_memory

__all__ = ["FORMS", "SPModel", "FirstStage", "build_model", "first_stage_rows", "assemble"]

#: The two forms of the deterministic equivalent.
FORMS: tuple[str, ...] = ("compact", "extensive")

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KML_WAVELENGTHS_PER_LINK)


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
        Columns of the link fixed-charge binaries and their link ids.
    v, v_node : ndarray of int
        Columns of the node fixed-charge binaries and their node positions.
    w, w_pos : ndarray of int
        Columns of the target-choice binaries and their target positions in
        :func:`~qkdbench.evaluation.pricing.provider_table` (requests with
        targets only).
    extra : Mapping of str to ndarray
        Columns of further variable blocks by name (e.g. the recourse variables
        ``theta`` of an L-shaped master).
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
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

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
        (shifts[1], "z", z, _WZ, pairs.kml),
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
    the demand and, for a random key rate, the link state), merged when equal.
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

    For a request with targets the sinks are weighted by the choice
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
    """Target-choice binaries of the requests with targets and their rows.

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
    """Binaries ``u_l``, ``v_n`` with the strong linking rows; their columns and ids."""
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


def build_model(
    instance: Instance,
    form: str = "compact",
    *,
    upper_bound: float | None = None,
    prices: tuple | None = None,
    memory_limit_gb: float | None = None,
    linking: LinkingPrices | None = None,
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
    prices : (lam_qkd, lam_kml) or (lam_qkd, lam_kml, mu), optional
        Lagrangian prices of the capacities, ``mu`` those of the provider
        capacities (e.g. of the best bound of
        :func:`~qkdbench.exact.ascent.lagrangian_bound`). With
        ``upper_bound``, pairs are also pruned by their Lagrangian reduced
        cost (:func:`~qkdbench.exact.bounds.reduced_cost_keep`, which
        states the argument); the optimum is unchanged.
    memory_limit_gb : float, optional
        Refuse to build a model whose estimated memory
        (:func:`~qkdbench.exact.sizing.estimate_model`) exceeds this.
    linking : LinkingPrices, optional
        Prices of the linking relaxation (e.g. of the best bound of
        :func:`~qkdbench.exact.linking.linking_bound`). With ``upper_bound``,
        pairs are also pruned by their reduced cost under them
        (:func:`~qkdbench.exact.linking.linking_keep`); the optimum is unchanged.

    Returns
    -------
    SPModel

    Raises
    ------
    InputError
        For an unknown form.
    SolverError
        If the model would need more than ``memory_limit_gb`` (one line
        with the estimate).
    """
    if form not in FORMS:
        raise InputError(f"unknown form {form!r}; use one of {', '.join(FORMS)}")
    t0 = time.perf_counter()
    arcs = arc_table(instance)
    pairs = _pairs(instance)
    n_all = pairs.n
    if upper_bound is not None and math.isfinite(upper_bound):
        pairs = _pruned(instance, pairs, upper_bound, prices)
        if linking is not None:
            pairs = pairs.subset(linking_keep(instance, pairs.req, pairs.arc, linking, upper_bound))
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
    first = first_stage_rows(b, instance, pairs, (x, y, z), names)
    return assemble(b, names, instance, form, pairs, (x, y, z), (y_ub, z_ub), first, t0, n_all)


@dataclass(frozen=True, eq=False)
class FirstStage:
    """Columns of the first-stage binaries beyond routes and reservations (as built).

    Attributes
    ----------
    u, u_link : ndarray
        Link fixed-charge binaries and their link ids.
    v, v_node : ndarray
        Node fixed-charge binaries and their node positions.
    w, w_pos : ndarray
        Target-choice binaries and their target positions.
    """

    u: np.ndarray
    u_link: np.ndarray
    v: np.ndarray
    v_node: np.ndarray
    w: np.ndarray
    w_pos: np.ndarray


def first_stage_rows(
    b: MilpBuilder,
    instance: Instance,
    pairs: CostCurves,
    cols: tuple[np.ndarray, np.ndarray, np.ndarray],
    names: list[np.ndarray],
) -> FirstStage:
    """The first stage's rows and binaries besides the pair columns, in the order built.

    Target choices and provider capacities, flow conservation and out-degrees,
    the arc reservation capacities, and the fixed charges.

    Parameters
    ----------
    b : MilpBuilder
        The model being built.
    instance : Instance
    pairs : CostCurves
        The pairs of the model (only ``req``, ``arc`` and ``n`` are read).
    cols : (x, y, z)
        Route, QKD- and KM-reservation columns of the pairs.
    names : list of ndarray
        Column names, extended in place.

    Returns
    -------
    FirstStage
    """
    x, y, z = cols
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
    return FirstStage(u, u_link, v, v_node, w, w_pos)


def assemble(
    b: MilpBuilder,
    names: list[np.ndarray],
    instance: Instance,
    form: str,
    pairs: CostCurves,
    cols: tuple[np.ndarray, np.ndarray, np.ndarray],
    bounds: tuple[np.ndarray, np.ndarray],
    first: FirstStage,
    t0: float,
    n_all: int,
    extra: Mapping[str, np.ndarray] | None = None,
) -> SPModel:
    """The :class:`SPModel` of a built model, its columns sorted by name.

    Parameters
    ----------
    b : MilpBuilder
    names : list of ndarray
        One name per column, in the order the columns were added.
    instance : Instance
    form : str
        Recorded in the model.
    pairs : CostCurves
    cols : (x, y, z)
        Route and reservation columns of the pairs (as added).
    bounds : (y_ub, z_ub)
        Reservation bounds of the pairs.
    first : FirstStage
    t0 : float
        ``time.perf_counter()`` when building began.
    n_all : int
        Pairs before pruning.
    extra : Mapping, optional
        Further named column blocks (as added), mapped to their sorted positions.

    Returns
    -------
    SPModel
    """
    x, y, z = cols
    n = pairs.n
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
        bounds[0],
        bounds[1],
        time.perf_counter() - t0,
        n_all,
        new[first.u],
        first.u_link,
        new[first.v],
        first.v_node,
        new[first.w],
        first.w_pos,
        {key: new[c] for key, c in (extra or {}).items()},
    )
