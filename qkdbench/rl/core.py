"""Per-instance tables and the Numba step kernel behind the planning environments.

Everything an episode needs is computed once per instance, priced by the
evaluator, and stored as NumPy arrays (:class:`PlanningTables`); a step is one
call of a Numba kernel that applies the action, prices the next request's
actions and writes the observation and the action mask into preallocated
buffers.

Candidates
----------
Slot ``0`` of every request is its shortest path by fiber length (CO-QBN's
route, :func:`qkdbench.planning.paths.shortest_path`). Slots ``1..k`` are its
``k`` cheapest simple paths other than that one (Yen's algorithm,
:func:`qkdbench.planning.paths.k_shortest_paths`) under the arc weight "expected
cost of this request alone on this arc with its newsvendor reservations", the
weight of :func:`qkdbench.planning.paths.standalone_arc_costs`. A request with
fewer routes has padded slots, masked out.

Levels
------
A level names a reservation on each arc of the chosen route:

* ``"zero"``: nothing reserved (everything on demand);
* ``"mean"``: provision for the expected key rate, ``3 P`` QKD and ``P`` KM
  wavelengths with ``P = ceil(E[kappa] / K_D(a))`` (CO-QBN's level);
* a float ``q`` in ``[0, 1]``: the same for the ``q``-quantile of the key rate;
* ``"max"``: the same for the largest key rate;
* ``"newsvendor"``: the cost-minimising reservation of the request alone on
  that arc (:func:`qkdbench.evaluation.newsvendor_reservations`), per arc.

The QKD and the KM level are chosen separately from the same list.

Pricing
-------
For fixed reservations the expected cost is a sum over (request, arc) pairs
(docs/model.md, property 1), and on one pair it is piecewise linear in the
reservation with breakpoints where the support needs ``3 P`` (QKD) or ``P``
(KM) wavelengths. The tables hold the evaluator's
:func:`~qkdbench.evaluation.pair_costs` at every breakpoint of every pair a
candidate uses; a reservation between two breakpoints (first fit may clip a
level to the remaining capacity) is priced on the segment joining them. The sum
of the step costs of an episode is the evaluator's total of its plan.

Model extensions
----------------
Links priced by ``unit_costs`` (any kind of link) and random link key
rates: the breakpoints of a pair are the distinct values of ``P`` over the
product of the demand and the link's states (the evaluator's
:func:`~qkdbench.evaluation.support_table`), and the costs there are the
evaluator's, so the curves stay exact. The levels ``mean``, quantiles and
``max`` provision against the link's *mean* key rate (as CO-QBN does).

Fixed charges (``docs/model.md``): a link's charge ``F_l`` and a node's
``G_n`` (:func:`~qkdbench.evaluation.pricing.fixed_charges`) are paid by the
first route of the episode that uses an arc of the link or touches the node;
the tables hold them per link and node, and the node path of every
candidate (:attr:`PlanningTables.route_nodes`).

Providers: every target of a request (:attr:`~qkdbench.model.Request.sinks`,
one for an ordinary request) has its own ``S`` candidates (the shortest path
to the target's node and the ``k`` cheapest others), so a request has
``T * S`` route slots, ``T`` the most targets of a request; slot ``t * S + s``
is candidate ``s`` of target ``t``. The target's service cost is paid when
it is chosen. Provider capacities are kept by the mask: the requests not
yet planned are tracked as a feasible assignment to providers, counted by
*signature* (the set of providers a request may use), and a provider is
offered only if the rest can still be served within every capacity (an
augmenting-path test, :func:`~qkdbench.rl.kernels.providers_allowed`), so
the mask never leads into a step without a valid action.

Any other model feature is refused (:data:`SUPPORTED_FEATURES` is an
allow-list).

The kernels themselves (:func:`step_kernel`, :func:`observe_kernel`) live in
:mod:`qkdbench.rl.kernels` and are importable from here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation import newsvendor_reservations, pair_costs
from ..evaluation.pricing import (
    arc_table,
    fixed_charges,
    provider_table,
    qkd_links_needed,
    support_table,
)
from ..exceptions import InputError
from ..model import Instance
from ..planning.paths import k_shortest_paths, shortest_path
from .kernels import OBS_HIGH, level_costs, observe_kernel, providers_add, step_kernel

__all__ = [
    "TRAIN_SEED_BASE",
    "DEFAULT_LEVELS",
    "SUPPORTED_FEATURES",
    "OBS_HIGH",
    "ORDERS",
    "CAPACITY_MODES",
    "N_DEMAND_FEATURES",
    "N_SLOT_FEATURES",
    "PlanningTables",
    "build_tables",
    "check_levels",
    "obs_size",
    "step_kernel",
    "observe_kernel",
]

#: Default reservation levels (QKD and KM each choose one).
#: Request seeds of the training instances start here (held-out ones are 1, 2, ...).
TRAIN_SEED_BASE = 100_000

DEFAULT_LEVELS: tuple = ("zero", 0.25, "mean", "newsvendor", 0.9, "max")
#: Request orders: the instance's, or decreasing stand-alone cost (saa-greedy's).
ORDERS: tuple[str, ...] = ("instance", "cost-desc")
#: ``clip``: a level is reserved first fit, clipped to each arc's remaining capacity (CO-QBN's
#: rule; the rest goes on demand). ``strict``: a level that does not fit on every arc of the
#: route is masked out.
CAPACITY_MODES: tuple[str, ...] = ("clip", "strict")
#: Demand summary per request: mean, std, q50, q90, max (over the instance's largest key
#: rate) and Pr(kappa = 0).
N_DEMAND_FEATURES = 6
#: Per route slot, before the 2 L priced costs: valid, length, hops, QKD and KM
#: bottleneck (least remaining capacity fraction along the route), opening cost (fixed
#: charges of the links and nodes it would open), service cost of its target, and the
#: remaining capacity fraction of the target's provider.
N_SLOT_FEATURES = 8
#: The model features (``Instance.features``) the environments pose in full; any other
#: is refused.
SUPPORTED_FEATURES: frozenset[str] = frozenset(
    {"fixed_charges", "link_prices", "link_states", "providers"}
)

_NAMED_LEVELS = ("zero", "mean", "max", "newsvendor")
_PATH_CACHE: dict[tuple, tuple] = {}
_PATH_CACHE_LIMIT = 200_000


def check_levels(levels: Sequence[Any]) -> tuple[str | float, ...]:
    """Validate a level list (see the module docstring); returns it as a tuple.

    Parameters
    ----------
    levels : sequence
        Names (``"zero"``, ``"mean"``, ``"max"``, ``"newsvendor"``) and quantiles in
        ``[0, 1]``.

    Returns
    -------
    tuple
        The levels in the order given, quantiles as ``float``.

    Raises
    ------
    InputError
        For an empty list, an unknown name, a quantile outside ``[0, 1]`` or a repeat.
    """
    out = []
    for i, lv in enumerate(levels):
        if isinstance(lv, str):
            if lv not in _NAMED_LEVELS:
                raise InputError(
                    f"levels[{i}]: unknown level {lv!r}; use one of "
                    f"{', '.join(_NAMED_LEVELS)} or a quantile in [0, 1]"
                )
        elif (
            isinstance(lv, bool) or not isinstance(lv, (int, float)) or not 0.0 <= float(lv) <= 1.0
        ):
            raise InputError(f"levels[{i}]: a quantile level must lie in [0, 1], got {lv!r}")
        else:
            lv = float(lv)
        if lv in out:
            raise InputError(f"levels[{i}]: level {lv!r} is listed twice")
        out.append(lv)
    if not out:
        raise InputError("at least one reservation level is needed")
    return tuple(out)


def obs_size(
    n_arcs: int,
    n_nodes: int,
    n_slots: int,
    n_levels: int,
    n_targets: int = 1,
    n_providers: int = 0,
) -> int:
    """Length of the observation vector (layout in :class:`~qkdbench.rl.env.PlanningEnv`).

    Parameters
    ----------
    n_arcs, n_nodes : int
        Arcs and nodes of the instance.
    n_slots : int
        Route slots per target, ``k + 1``.
    n_levels : int
        Reservation levels.
    n_targets : int, optional
        Targets per request (the most of any request; 1 without providers).
    n_providers : int, optional
        Providers (0 without).

    Returns
    -------
    int
        ``4 A + 3 N + N_DEMAND_FEATURES + 2 + P + T S (N_SLOT_FEATURES + 2 L)``.

    Examples
    --------
    >>> obs_size(2, 2, 1, 1)  # 4 A + 3 N + 6 + 2 + (8 + 2 L)
    32
    """
    return (
        4 * n_arcs
        + 3 * n_nodes
        + N_DEMAND_FEATURES
        + 2
        + n_providers
        + n_targets * n_slots * (N_SLOT_FEATURES + 2 * n_levels)
    )


@dataclass(frozen=True, eq=False)
class PlanningTables:
    """What an episode on one instance needs, as arrays (built by :func:`build_tables`).

    ``R = T * S`` route slots per request: slot ``r`` is candidate ``r % S`` of target
    ``r // S``.

    Attributes
    ----------
    instance : Instance
    k : int
        Candidates besides the shortest path; ``S = k + 1`` slots per target.
    levels : tuple
    order : ndarray (F,) int64
        Request positions in the order they arrive.
    paths : tuple
        ``paths[f][r]``: node path of request ``f``'s route slot ``r`` (``None`` if padded).
    arc : ndarray (F, R, H) int64
        Arc ids along each candidate (``-1`` past its end).
    hops : ndarray (F, R) int64
    valid : ndarray (F, R) bool
    length : ndarray (F, R) float64
        Fiber length in km.
    pair : ndarray (F, R, H) int64
        Index of the (request, arc) pair in the breakpoint tables.
    ylev, zlev : ndarray (F, R, H, L) int64
        QKD and KM wavelengths each level asks for on each arc.
    cyl, czl : ndarray (F, R, H, L) float64
        Their costs on the pair's QKD and KM curves (what a step prices when the level
        fits; :func:`~qkdbench.rl.kernels.level_costs`).
    by_ptr, by, bcy, bz_ptr, bz, bcz : ndarray
        Per pair, CSR: QKD breakpoints ``by`` (wavelengths) and the evaluator's
        QKD cost there ``bcy`` (with the arc's route cost); the same for KM.
    demand : ndarray (F, N_DEMAND_FEATURES) float64
    src : ndarray (F,) int64
        Source node positions.
    route_nodes : ndarray (F, R, H + 1) int64
        Node positions along each candidate (``-1`` past its end).
    tgt_node, tgt_prov : ndarray (F, T) int64
        Node position and provider (position in ``provider_ids``; ``-1``: none) of
        each target (``tgt_node`` is ``-1`` for a padded target).
    tgt_cost : ndarray (F, T) float64
        Service cost of each target.
    link_fc : ndarray (n_links,) float64
        Fixed charge of each link (link ``l`` owns arcs ``2 l`` and ``2 l + 1``).
    node_fc : ndarray (N,) float64
        Fixed charge of each node.
    provider_ids : tuple of str
    prov_cap : ndarray (P,) int64
        Capacity of each provider (``-1``: unlimited).
    room0 : ndarray (P,) int64
        Requests each provider may still serve at the start (``F + 1`` for unlimited).
    sig : ndarray (F,) int64
        Signature (set of providers the request may use) of each request with targets,
        ``-1`` for an ordinary request.
    sig_mask : ndarray (G, P) bool
        The providers of each signature.
    assign0 : ndarray (G, P) int64
        A feasible assignment of every request with targets to providers, counted by
        signature (the start of the mask's bookkeeping).
    standalone : ndarray (F,) float64
        Cost of the request alone on its cheapest candidate, newsvendor reservations,
        with its target's service cost.
    cost_scale, length_scale : float
        Normalisers of the priced costs and lengths in the observation.
    """

    instance: Instance
    k: int
    levels: tuple
    order: np.ndarray
    paths: tuple
    arc: np.ndarray
    hops: np.ndarray
    valid: np.ndarray
    length: np.ndarray
    pair: np.ndarray
    ylev: np.ndarray
    zlev: np.ndarray
    cyl: np.ndarray
    czl: np.ndarray
    by_ptr: np.ndarray
    by: np.ndarray
    bcy: np.ndarray
    bz_ptr: np.ndarray
    bz: np.ndarray
    bcz: np.ndarray
    demand: np.ndarray
    src: np.ndarray
    route_nodes: np.ndarray
    tgt_node: np.ndarray
    tgt_prov: np.ndarray
    tgt_cost: np.ndarray
    link_fc: np.ndarray
    node_fc: np.ndarray
    provider_ids: tuple
    prov_cap: np.ndarray
    room0: np.ndarray
    sig: np.ndarray
    sig_mask: np.ndarray
    assign0: np.ndarray
    standalone: np.ndarray
    cost_scale: float
    length_scale: float

    @property
    def n_slots(self) -> int:
        """Route slots per target, ``k + 1``: the shortest path and ``k`` other candidates."""
        return self.k + 1

    @property
    def n_targets(self) -> int:
        """Targets per request ``T``: the most of any request (1 without providers)."""
        return int(self.tgt_node.shape[1])

    @property
    def n_providers(self) -> int:
        """Providers ``P`` (0 without)."""
        return len(self.provider_ids)

    @property
    def has_fixed_charges(self) -> bool:
        """Whether any link or node has a positive fixed charge."""
        return bool((self.link_fc > 0).any() or (self.node_fc > 0).any())


def _fingerprint(instance: Instance) -> bytes:
    a = arc_table(instance)
    h = hashlib.sha1(repr(instance.nodes).encode())
    for arr in (a.tail, a.head, a.length_km):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.digest()


def _candidates(
    instance: Instance, fp: bytes, source: Any, target: Any, k: int, weight: np.ndarray
) -> tuple:
    key = (fp, source, target, k, weight.tobytes())
    hit = _PATH_CACHE.get(key)
    if hit is not None:
        return hit
    first = tuple(shortest_path(instance, source, target))
    others = [p for p in k_shortest_paths(instance, source, target, k + 1, weight) if p != first][
        :k
    ]
    out = (first, *others)
    if len(_PATH_CACHE) >= _PATH_CACHE_LIMIT:
        _PATH_CACHE.clear()
    _PATH_CACHE[key] = out
    return out


def _level_rate(demand: Any, level: Any) -> float:
    if level == "zero":
        return 0.0
    if level == "mean":
        return demand.mean
    if level == "max":
        return demand.max
    return demand.quantile(float(level))


def _refuse_unsupported(instance: Instance) -> None:
    """Refuse any model feature not in :data:`SUPPORTED_FEATURES` (never a wrong number)."""
    missing = sorted(set(instance.features) - SUPPORTED_FEATURES)
    if missing:
        raise InputError(
            f"instance {instance.name!r} uses {', '.join(missing)}, which the RL "
            f"environments do not support (they support {', '.join(sorted(SUPPORTED_FEATURES))})"
        )


def _provider_tables(instance: Instance, T: int) -> tuple[np.ndarray, ...]:
    """Targets per request, provider capacities and the signature bookkeeping's start."""
    pt = provider_table(instance)
    F, P = instance.n_requests, len(pt.ids)
    tgt_node = np.full((F, T), -1, dtype=np.int64)
    tgt_prov = np.full((F, T), -1, dtype=np.int64)
    tgt_cost = np.zeros((F, T))
    sig = np.full(F, -1, dtype=np.int64)
    sig_of: dict[tuple[int, ...], int] = {}
    for f in range(F):
        lo, hi = int(pt.ptr[f]), int(pt.ptr[f + 1])
        tgt_node[f, : hi - lo] = pt.node[lo:hi]
        tgt_prov[f, : hi - lo] = pt.provider[lo:hi]
        tgt_cost[f, : hi - lo] = pt.service_cost[lo:hi]
        provs = tuple(sorted({int(p) for p in pt.provider[lo:hi] if p >= 0}))
        if provs:
            sig[f] = sig_of.setdefault(provs, len(sig_of))
    sig_mask = np.zeros((len(sig_of), P), dtype=bool)
    for provs, g in sig_of.items():
        sig_mask[g, list(provs)] = True
    cap = np.asarray(pt.capacity, dtype=np.int64)
    room0 = np.where(cap < 0, F + 1, cap).astype(np.int64)
    assign0 = np.zeros((len(sig_of), P), dtype=np.int64)
    for f in range(F):
        if sig[f] >= 0 and not providers_add(int(sig[f]), assign0, room0, sig_mask):
            raise InputError(
                f"instance {instance.name!r}: provider capacities cannot serve every "
                "request with targets"
            )
    return tgt_node, tgt_prov, tgt_cost, cap, room0, sig, sig_mask, assign0


def build_tables(
    instance: Instance, k: int = 4, levels: Sequence[Any] = DEFAULT_LEVELS, order: str = "instance"
) -> PlanningTables:
    """Candidates, level reservations and evaluator-priced cost curves of an instance.

    Parameters
    ----------
    instance : Instance
        With at least one request.
    k : int
        Candidates besides the shortest path (``>= 0``).
    levels : sequence
        Reservation levels (see the module docstring).
    order : {"instance", "cost-desc"}
        Arrival order of the requests.

    Returns
    -------
    PlanningTables

    Raises
    ------
    InputError
        For bad parameters, an instance without requests, a model feature outside
        :data:`SUPPORTED_FEATURES`, or provider capacities that cannot serve every
        request with targets.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> t = build_tables(make_instance("nsfnet", 3, 4, seed=1), k=2)
    >>> t.arc.shape[:2], t.levels[2]
    ((3, 3), 'mean')
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InputError(f"k must be a non-negative integer, got {k!r}")
    levels = check_levels(levels)
    if order not in ORDERS:
        raise InputError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if instance.n_requests == 0:
        raise InputError(f"instance {instance.name!r} has no requests: nothing to decide")
    _refuse_unsupported(instance)
    F, A = instance.n_requests, arc_table(instance).n
    S, L = int(k) + 1, len(levels)
    T = max(len(req.sinks) for req in instance.requests)
    R = T * S
    arcs = arc_table(instance)
    rate = arcs.key_rate_kbps
    idx = instance.node_index
    tgt_node, tgt_prov, tgt_cost, prov_cap, room0, sig, sig_mask, assign0 = _provider_tables(
        instance, T
    )

    # demand groups: requests with the same distribution share weights and newsvendor levels
    group_of: dict[tuple, int] = {}
    group = np.empty(F, dtype=np.int64)
    reps: list[int] = []
    for f, req in enumerate(instance.requests):
        key = (req.demand.values, req.demand.probs)
        if key not in group_of:
            group_of[key] = len(reps)
            reps.append(f)
        group[f] = group_of[key]
    G = len(reps)
    all_arcs = np.arange(A, dtype=np.int64)
    nv_y = np.zeros((G, A), dtype=np.int64)
    nv_z = np.zeros((G, A), dtype=np.int64)
    weight = np.zeros((G, A))
    for g, f in enumerate(reps):
        req_idx = np.full(A, f, dtype=np.int64)
        nv_y[g], nv_z[g] = newsvendor_reservations(instance, req_idx, all_arcs)
        cy, cz = pair_costs(
            instance, req_idx, all_arcs, nv_y[g].astype(float), nv_z[g].astype(float)
        )
        weight[g] = cy + cz

    fp = _fingerprint(instance)
    paths = []
    for f, req in enumerate(instance.requests):
        row: list[tuple | None] = []
        for t in range(T):
            if t < len(req.sinks):
                cands = _candidates(
                    instance, fp, req.source, req.sinks[t].node, int(k), weight[group[f]]
                )
                row.extend(cands + (None,) * (S - len(cands)))
            else:
                row.extend((None,) * S)
        paths.append(tuple(row))
    H = max(len(p) - 1 for ps in paths for p in ps if p is not None)
    arc = np.full((F, R, H), -1, dtype=np.int64)
    route_nodes = np.full((F, R, H + 1), -1, dtype=np.int64)
    hops = np.zeros((F, R), dtype=np.int64)
    valid = np.zeros((F, R), dtype=bool)
    length = np.zeros((F, R))
    pair = np.full((F, R, H), -1, dtype=np.int64)
    ylev = np.zeros((F, R, H, L), dtype=np.int64)
    zlev = np.zeros((F, R, H, L), dtype=np.int64)
    pair_of: dict[tuple[int, int], int] = {}
    pair_list: list[tuple[int, int]] = []
    standalone = np.full(F, np.inf)
    for f, req in enumerate(instance.requests):
        g = int(group[f])
        kap = [None if lv == "newsvendor" else _level_rate(req.demand, lv) for lv in levels]
        for r, path in enumerate(paths[f]):
            if path is None:
                continue
            ids = np.asarray(instance.path_arcs(path), dtype=np.int64)
            n = ids.size
            arc[f, r, :n] = ids
            route_nodes[f, r, : n + 1] = [idx[v] for v in path]
            hops[f, r] = n
            valid[f, r] = True
            length[f, r] = float(arcs.length_km[ids].sum())
            alone = float(weight[g, ids].sum()) + float(tgt_cost[f, r // S])
            standalone[f] = min(standalone[f], alone)
            for i, a in enumerate(ids):
                pair_key = (g, int(a))
                if pair_key not in pair_of:
                    pair_of[pair_key] = len(pair_list)
                    pair_list.append(pair_key)
                pair[f, r, i] = pair_of[pair_key]
                for li, kv in enumerate(kap):
                    if kv is None:
                        ylev[f, r, i, li] = nv_y[g, a]
                        zlev[f, r, i, li] = nv_z[g, a]
                    else:
                        n_links = int(qkd_links_needed(kv, rate[a]))
                        ylev[f, r, i, li] = 3 * n_links
                        zlev[f, r, i, li] = n_links

    # breakpoints of every pair, priced by the evaluator in two batched calls
    by_ptr = np.zeros(len(pair_list) + 1, dtype=np.int64)
    bz_ptr = np.zeros(len(pair_list) + 1, dtype=np.int64)
    ys, zs, req_y, arc_y = [], [], [], []
    sup = support_table(instance)
    for p, (g, a) in enumerate(pair_list):
        # the distinct QKD-link counts over demand x link state: the curve's breakpoints
        links, _ = sup.link_counts(int(sup.arc_class[a]), reps[g])
        bz = np.unique(np.concatenate(([0], links)))
        by = 3 * bz
        ys.append(by)
        zs.append(bz)
        req_y.append(np.full(by.size, reps[g]))
        arc_y.append(np.full(by.size, a))
        by_ptr[p + 1] = by_ptr[p] + by.size
        bz_ptr[p + 1] = bz_ptr[p] + bz.size
    by_all = np.concatenate(ys).astype(np.int64)
    bz_all = np.concatenate(zs).astype(np.int64)
    rq = np.concatenate(req_y).astype(np.int64)
    ac = np.concatenate(arc_y).astype(np.int64)
    bcy, _ = pair_costs(instance, rq, ac, by_all.astype(float), np.zeros(by_all.size))
    _, bcz = pair_costs(instance, rq, ac, np.zeros(bz_all.size), bz_all.astype(float))

    # demand summary, in units of the instance's largest key rate
    scale = max(max(r.demand.max for r in instance.requests), 1e-12)
    demand = np.zeros((F, N_DEMAND_FEATURES))
    for f, req in enumerate(instance.requests):
        d = req.demand
        v = np.asarray(d.values)
        pr = np.asarray(d.probs)
        std = math.sqrt(max(float(pr @ (v - d.mean) ** 2), 0.0))
        demand[f] = (
            d.mean / scale,
            std / scale,
            d.quantile(0.5) / scale,
            d.quantile(0.9) / scale,
            d.max / scale,
            float(pr[v == 0].sum()),
        )
    if order == "instance":
        seq = np.arange(F, dtype=np.int64)
    else:  # decreasing stand-alone cost, ties in instance order
        seq = np.asarray(sorted(range(F), key=lambda f: (-standalone[f], f)), dtype=np.int64)
    src = np.asarray([idx[r.source] for r in instance.requests], dtype=np.int64)
    fc = fixed_charges(instance)
    cost_scale = float(np.mean(standalone))
    if not math.isfinite(cost_scale) or cost_scale <= 0:
        cost_scale = 1.0
    length_scale = float(length.max()) or 1.0
    return PlanningTables(
        instance,
        int(k),
        levels,
        seq,
        tuple(paths),
        arc,
        hops,
        valid,
        length,
        pair,
        ylev,
        zlev,
        level_costs(pair, ylev, by_ptr, by_all, bcy),
        level_costs(pair, zlev, bz_ptr, bz_all, bcz),
        by_ptr,
        by_all,
        bcy,
        bz_ptr,
        bz_all,
        bcz,
        demand,
        src,
        route_nodes,
        tgt_node,
        tgt_prov,
        tgt_cost,
        np.asarray(fc.link, dtype=np.float64).copy(),
        np.asarray(fc.node, dtype=np.float64).copy(),
        provider_table(instance).ids,
        prov_cap,
        room0,
        sig,
        sig_mask,
        assign0,
        standalone,
        cost_scale,
        length_scale,
    )
