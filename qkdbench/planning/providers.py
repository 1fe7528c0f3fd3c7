"""Provider assignment: which provider serves each anycast request.

A provider's capacity is the one constraint of the model that ties requests
together through their *targets* rather than their arcs. The planners choose
targets greedily (first fit, cheapest with room); when a greedy choice leaves
a request with no provider that has room, :func:`assign_providers` computes a
capacity-feasible assignment as a min-cost flow (networkx), the classic
augmenting-path repair of a bipartite b-matching: requests on one side,
providers on the other, each provider's capacity on its edge to the sink.
Instance validation guarantees such an assignment exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np

from ..evaluation.pricing import provider_table
from ..exceptions import InputError
from ..model import Instance

__all__ = ["assign_providers", "assign_targets", "choose_targets", "COST_SCALE"]

#: Costs are scaled to integers in ``0 .. COST_SCALE`` for networkx's min-cost flow.
COST_SCALE = 1_000_000


def assign_providers(
    options: Sequence[Mapping[int, float]], capacity: np.ndarray
) -> list[int | None]:
    """A least-cost assignment of requests to providers within the providers' capacities.

    Parameters
    ----------
    options : sequence of mapping
        ``options[f]`` maps each provider (index) request ``f`` may use to the
        cost of using it; an empty mapping means the request needs no provider.
    capacity : ndarray
        Requests each provider may serve (``-1``: unlimited).

    Returns
    -------
    list
        The provider of each request (``None`` where ``options[f]`` is empty).
        Costs are scaled to integers before the min-cost flow, so among
        assignments whose costs differ by less than ``max cost / COST_SCALE``
        any may be returned.

    Raises
    ------
    InputError
        If no assignment within the capacities exists.

    Examples
    --------
    >>> assign_providers([{0: 1.0, 1: 2.0}, {0: 1.0}], np.array([1, -1]))
    [1, 0]
    """
    need = [f for f, opt in enumerate(options) if opt]
    out: list[int | None] = [None] * len(options)
    if not need:
        return out
    top = max(max(opt.values()) for opt in options if opt)
    scale = COST_SCALE / top if top > 0 else 0.0
    g = nx.DiGraph()
    n = len(need)
    g.add_node("_src", demand=-n)
    g.add_node("_sink", demand=n)
    for f in need:
        g.add_edge("_src", ("f", f), capacity=1, weight=0)
        for p, cost in options[f].items():
            g.add_edge(
                ("f", f),
                ("p", int(p)),
                capacity=1,
                weight=int(round(max(0.0, float(cost)) * scale)),
            )
    for p in sorted({int(p) for f in need for p in options[f]}):
        cap = int(capacity[p])
        g.add_edge(("p", p), "_sink", capacity=n if cap < 0 else cap, weight=0)
    try:
        flow = nx.min_cost_flow(g)
    except nx.NetworkXUnfeasible:
        raise InputError("provider capacities cannot serve every request with targets") from None
    for f in need:
        for node, amount in flow[("f", f)].items():
            if amount > 0:
                out[f] = int(node[1])
    return out


def assign_targets(
    instance: Instance, cost: np.ndarray, allowed: np.ndarray | None = None
) -> np.ndarray:
    """One target per request, cheapest in total, within every provider's capacity.

    Each request's cheapest allowed target of each provider stands for that
    provider in :func:`assign_providers`.

    Parameters
    ----------
    instance : Instance
    cost : ndarray
        Cost of each target position of
        :func:`~qkdbench.evaluation.pricing.provider_table` (for example a path
        cost to the target's node plus its service cost; ``inf``: not allowed).
    allowed : ndarray of bool, optional
        Target positions that may be chosen (default: all with a finite cost).

    Returns
    -------
    ndarray of int64 (F,)
        The chosen position in each request's ``sinks`` (0 for an ordinary request).

    Raises
    ------
    InputError
        If a request has no allowed target, or no assignment fits the capacities
        (never for a validated instance with every target allowed).

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Provider, Request, Target
    >>> inst = Instance((1, 2, 3), (Link(1, 2, 10.0), Link(1, 3, 10.0)),
    ...     (Request("f", 1, None, Demand.point(1), (Target(2, "A"), Target(3, "B"))),
    ...      Request("g", 1, None, Demand.point(1), (Target(2, "A"), Target(3, "B")))),
    ...     providers=(Provider("A", 1), Provider("B", 1)))
    >>> assign_targets(inst, np.array([1.0, 5.0, 1.0, 2.0])).tolist()
    [0, 1]
    """
    pt = provider_table(instance)
    cost = np.asarray(cost, dtype=float)
    ok = np.isfinite(cost) if allowed is None else (np.asarray(allowed, bool) & np.isfinite(cost))
    F = instance.n_requests
    best: list[dict[int, int]] = []  # per request: provider -> cheapest allowed position
    for f in range(F):
        by_provider: dict[int, int] = {}
        if instance.requests[f].is_anycast:
            for j in range(pt.ptr[f], pt.ptr[f + 1]):
                p = int(pt.provider[j])
                if ok[j] and (p not in by_provider or cost[j] < cost[by_provider[p]]):
                    by_provider[p] = j
            if not by_provider:
                raise InputError(f"request {instance.requests[f].id!r}: no target allowed")
        best.append(by_provider)
    chosen = assign_providers(
        [{p: float(cost[j]) for p, j in b.items()} for b in best], pt.capacity
    )
    out = np.zeros(F, dtype=np.int64)
    for f, prov in enumerate(chosen):
        if prov is not None:
            out[f] = best[f][prov] - pt.ptr[f]
    return out


def choose_targets(instance: Instance) -> tuple[list[int], int]:
    """CO-QBN's target of every request: nearest with capacity, first fit.

    Parameters
    ----------
    instance : Instance
        The instance whose requests choose; a request is sent to its targets in order
        of fiber distance (then service cost, then position), first fit by capacity.

    Returns
    -------
    targets : list of int
        Position in ``requests[f].sinks`` of each request's target (0 for an
        ordinary request).
    repaired : int
        How many requests the min-cost-flow repair moved from their first-fit
        provider (0 when first fit never got stuck).

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Provider, Request, Target
    >>> inst = Instance((1, 2, 3), (Link(1, 2, 10.0), Link(1, 3, 50.0)),
    ...     (Request("f", 1, None, Demand.point(1), (Target(3, "B"), Target(2, "A"))),
    ...      Request("g", 1, None, Demand.point(1), (Target(2, "A"), Target(3, "B")))),
    ...     providers=(Provider("A", 1), Provider("B")))
    >>> choose_targets(inst)
    ([1, 1], 0)
    """
    pt = provider_table(instance)
    cap = pt.capacity
    load = np.zeros(len(pt.ids), dtype=np.int64)
    prefs: list[list[int]] = []
    chosen: list[int | None] = []
    stuck = False
    for f, req in enumerate(instance.requests):
        if not req.is_anycast:
            prefs.append([0])
            chosen.append(0)
            continue
        dist = nx.single_source_dijkstra_path_length(instance.graph, req.source, weight="length_km")
        order = sorted(
            range(len(req.targets)),
            key=lambda t: (dist[req.targets[t].node], float(req.targets[t].service_cost), t),
        )
        prefs.append(order)
        pick = None
        for t in order:
            p = int(pt.provider[pt.ptr[f] + t])
            if cap[p] < 0 or load[p] < cap[p]:
                pick = t
                load[p] += 1
                break
        stuck = stuck or pick is None
        chosen.append(pick)
    if not stuck:
        return [int(t) for t in chosen if t is not None], 0  # not stuck: none is None
    options: list[dict[int, float]] = []
    for f, req in enumerate(instance.requests):
        if not req.is_anycast:
            options.append({})
            continue
        opt: dict[int, float] = {}
        for rank, t in enumerate(prefs[f]):
            p = int(pt.provider[pt.ptr[f] + t])
            opt.setdefault(p, float(rank + 1))
        first_fit = chosen[f]
        if first_fit is not None:
            opt[int(pt.provider[pt.ptr[f] + first_fit])] = 0.0
        options.append(opt)
    given = assign_providers(options, cap)
    out, moved = [], 0
    for f, req in enumerate(instance.requests):
        if not req.is_anycast:
            out.append(0)
            continue
        t = next(t for t in prefs[f] if int(pt.provider[pt.ptr[f] + t]) == given[f])
        moved += int(chosen[f] is not None and t != chosen[f])
        out.append(t)
    return out, moved
