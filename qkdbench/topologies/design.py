"""Instance generator with difficulty knobs: fixed charges, tightness, demand shapes, hot spots.

:func:`design_instance` samples requests like :func:`~qkdbench.topologies.sample_requests`
and then turns four knobs, each seeded and each off by default (so that with
no knob it returns the paper's instance):

``demand``
    The key-rate distribution on ``{0, ..., K}``: ``uniform`` (the paper's),
    ``binomial`` (``Binomial(K, 1/2)``), ``geometric`` (``p(k) ~ 0.6^k``, most
    mass near 0), ``heavy`` (``p(k) ~ (k + 1)^-1.5``, a heavy tail) or
    ``empirical`` (per request, the empirical distribution of 30 seeded draws
    of a rounded log-normal with mean ``K / 2``, clipped to ``{0, ..., 2K}``).
``hotspots``
    ``H`` seeded hub nodes; a source/target pair is drawn with weight
    ``1 + 10 [s is a hub] + 10 [t is a hub]``, so hubs appear in many requests.
``site`` / ``fixed_charge_factor``
    ``site``: the cost-table entry (every link then costs ``site * (2m - 1)``).
    ``fixed_charge_factor = F``: every link's ``fixed_cost`` is ``F`` times its
    *expected wavelength cost*, the expected reservation cost of the mean
    request alone on the link at Table I reservation prices:
    ``c_y[r] * 3 E[P] + c_z[r] * E[P]`` with ``E[P]`` the mean QKD links the
    requests need on that link.
``tightness = T``
    Route every request on its shortest path by length and count the
    wavelengths its mean need puts on each arc (``3 ceil(E[kappa] / K_D)`` QKD
    and ``ceil(E[kappa] / K_D)`` KM); ``W_qkd`` and ``W_kml`` become ``T`` times
    the largest such load (rounded up, at least 1). ``T < 1`` makes the
    busiest arcs too small for shortest-path routing.

It uses the model only (no evaluator), so it sits with the topologies.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

import networkx as nx
import numpy as np

from ..exceptions import InputError
from ..model import CEIL_TOL, CostTable, Demand, Instance, Link, Params, Request
from ..utils.random import check_random_state

__all__ = [
    "DEMAND_SHAPES",
    "demand_shape",
    "design_instance",
    "tight_capacities",
    "shortest_route_arcs",
]

#: Demand shapes :func:`demand_shape` knows.
DEMAND_SHAPES = ("uniform", "binomial", "geometric", "heavy", "empirical")


def demand_shape(shape: str, max_rate: int, rng: np.random.Generator | None = None) -> Demand:
    """A key-rate distribution of the given shape on ``{0, ..., max_rate}`` kbps.

    Parameters
    ----------
    shape : str
        One of :data:`DEMAND_SHAPES` (see the module notes).
    max_rate : int
        ``K``.
    rng : numpy.random.Generator, optional
        Needed for ``empirical`` only.

    Returns
    -------
    Demand

    Raises
    ------
    InputError
        For an unknown shape or a negative ``max_rate``.

    Examples
    --------
    >>> d = demand_shape("binomial", 2)
    >>> d.values, d.probs
    ((0.0, 1.0, 2.0), (0.25, 0.5, 0.25))
    """
    if shape not in DEMAND_SHAPES:
        raise InputError(
            f"unknown demand shape {shape!r}; use one of {', '.join(DEMAND_SHAPES)}", "demand"
        )
    if shape == "uniform":
        return Demand.uniform(max_rate)
    K = int(max_rate)
    if K < 0:
        raise InputError(f"max rate must be >= 0, got {max_rate}", "max_rate")
    k = np.arange(K + 1, dtype=float)
    if shape == "empirical":
        rng = check_random_state(rng)  # None: seed 0
        mean = max(K / 2.0, 0.5)
        sigma = 0.6
        draws = rng.lognormal(math.log(mean) - sigma**2 / 2, sigma, size=30)
        return Demand.empirical(np.clip(np.round(draws), 0, 2 * K))
    if shape == "binomial":
        w = np.array([math.comb(K, int(i)) for i in k], dtype=float)
    elif shape == "geometric":
        w = 0.6**k
    else:  # heavy
        w = (k + 1.0) ** -1.5
    p = w / w.sum()
    p[-1] = 1.0 - p[:-1].sum()
    return Demand(tuple(float(x) for x in k), tuple(float(x) for x in p))


def _pairs(topology: Instance) -> list[tuple]:
    g = nx.Graph()
    g.add_nodes_from(topology.nodes)
    g.add_edges_from((ln.u, ln.v) for ln in topology.links)
    order = {n: i for i, n in enumerate(topology.nodes)}
    pairs = [(s, t) for comp in nx.connected_components(g) for s in comp for t in comp if s != t]
    pairs.sort(key=lambda st: (order[st[0]], order[st[1]]))
    return pairs


def _segments(link: Link, params: Params) -> int:
    span = link.span_km if link.span_km is not None else params.span_km
    return max(1, math.ceil(float(link.length_km) / float(span) - CEIL_TOL))


def _mean_links(link: Link, params: Params, reqs: tuple[Request, ...]) -> float:
    """Mean over requests of ``E[P]`` on the link (Eq. 1 at the link's key rate)."""
    rates, rprobs = link.key_rate_states(params.key_rate_kbps)
    vals = [
        math.fsum(
            p * q * max(0, math.ceil(v / k - CEIL_TOL))
            for v, p in zip(r.demand.values, r.demand.probs, strict=True)
            for k, q in zip(rates, rprobs, strict=True)
        )
        for r in reqs
    ]
    return math.fsum(vals) / len(vals) if vals else 0.0


def design_instance(
    topology: str | os.PathLike | Instance,
    n_requests: int,
    *,
    max_rate: int,
    seed: int,
    demand: str = "uniform",
    hotspots: int = 0,
    site: float | None = None,
    fixed_charge_factor: float | None = None,
    tightness: float | None = None,
    name: str | None = None,
) -> Instance:
    """A seeded instance with difficulty knobs (see the module notes).

    Parameters
    ----------
    topology : str, path or Instance
        A topology name, file or topohub key, or a loaded topology.
    n_requests : int
        Requests (distinct source/target pairs).
    max_rate : int
        ``K``: the demand support is ``{0, ..., K}`` (``empirical``: up to ``2K``).
    seed : int
        One seed for every random step.
    demand : str
        One of :data:`DEMAND_SHAPES`.
    hotspots : int
        Number of hub nodes (0: none).
    site : float, optional
        The cost-table entry ``site``.
    fixed_charge_factor : float, optional
        Every link's ``fixed_cost`` as a multiple of its expected wavelength cost.
    tightness : float, optional
        ``W_qkd``, ``W_kml`` as a multiple of the busiest arc's shortest-path load.
    name : str, optional
        Default ``"{topology}-r{N}-k{K}-s{seed}"`` plus a suffix per knob turned.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        For a knob out of range, an unknown demand shape, or more requests
        than distinct pairs.

    Examples
    --------
    >>> inst = design_instance("nsfnet", 6, max_rate=4, seed=1, demand="geometric",
    ...                        hotspots=2, fixed_charge_factor=2.0, tightness=0.8)
    >>> inst.has_fixed_charges, inst.n_requests
    (True, 6)
    """
    from .loaders import load_topology

    topo = topology if isinstance(topology, Instance) else load_topology(topology)
    if n_requests < 0:
        raise InputError(f"number of requests must be >= 0, got {n_requests}", "requests")
    if hotspots < 0 or hotspots > len(topo.nodes):
        raise InputError(f"hot spots must lie in 0..{len(topo.nodes)}, got {hotspots}", "hotspots")
    for label, val in (("site", site), ("fixed_charge_factor", fixed_charge_factor)):
        if val is not None and (not math.isfinite(val) or val < 0):
            raise InputError(f"must be a finite number >= 0, got {val!r}", label)
    if tightness is not None and (not math.isfinite(tightness) or tightness <= 0):
        raise InputError(f"must be a finite number > 0, got {tightness!r}", "tightness")
    if site is not None and fixed_charge_factor is not None:
        raise InputError("give site or fixed_charge_factor, not both", "fixed_charge_factor")
    rng = check_random_state(seed)
    pairs = _pairs(topo)
    if n_requests > len(pairs):
        raise InputError(
            f"{n_requests} requests asked for but the topology has only "
            f"{len(pairs)} distinct source/target pairs",
            "requests",
        )
    weights = np.ones(len(pairs))
    if hotspots:
        hubs = set(rng.choice(len(topo.nodes), size=hotspots, replace=False).tolist())
        hub_ids = {topo.nodes[i] for i in hubs}
        weights += np.array([10.0 * (s in hub_ids) + 10.0 * (t in hub_ids) for s, t in pairs])
    chosen = rng.choice(len(pairs), size=n_requests, replace=False, p=weights / weights.sum())
    reqs = tuple(
        Request(f"f{i}", pairs[k][0], pairs[k][1], demand_shape(demand, max_rate, rng))
        for i, k in enumerate(chosen)
    )
    label = name or f"{topo.name}-r{n_requests}-k{max_rate}-s{seed}"
    if name is None:
        parts = [
            (demand != "uniform", lambda: f"-{demand}"),
            (hotspots > 0, lambda: f"-h{hotspots}"),
            (site is not None, lambda: f"-site{site:g}"),
            (fixed_charge_factor is not None, lambda: f"-fc{fixed_charge_factor:g}"),
            (tightness is not None, lambda: f"-t{tightness:g}"),
        ]
        label += "".join(text() for on, text in parts if on)
    inst = topo.with_requests(reqs, label)
    params, links, costs = inst.params, list(inst.links), inst.costs
    if site is not None:
        costs = CostTable(costs.r, costs.e, costs.o, site=float(site))
    if fixed_charge_factor is not None:
        r = costs.r
        for k, ln in enumerate(links):
            m = _segments(ln, params)
            e = float(ln.length_km)
            c_y = (2 * m * r["tx"] + m * r["rx"]) / 3 + e * r["ch"]
            c_z = (m + 1) * r["km"] + (m - 1) * r["si"] + (2 * m - 1) * r["md"] + e * r["ch"]
            p_mean = _mean_links(ln, params, reqs)
            links[k] = replace(
                ln, fixed_cost=float(fixed_charge_factor) * (c_y * 3 * p_mean + c_z * p_mean)
            )
    if tightness is not None and reqs:
        inst = replace(inst, params=params, links=tuple(links), costs=costs)
        return tight_capacities(inst, tightness)
    return replace(inst, params=params, links=tuple(links), costs=costs)


def tight_capacities(instance: Instance, tightness: float) -> Instance:
    """``W_qkd``, ``W_kml`` as ``tightness`` times the busiest arc's shortest-path load.

    Every request is routed on its shortest path by ``length_km`` (an anycast request
    to the nearest of its target nodes, ties to the earlier target) and puts
    ``3 E_K[ceil(E[kappa] / K)]`` QKD and ``E_K[ceil(E[kappa] / K)]`` KM wavelengths on
    each arc of it (``K`` over the link's key-rate states). The instance-wide
    ``W_qkd`` and ``W_kml`` become ``tightness`` times the largest load (rounded up, at
    least 1) and every link's own capacities are cleared.

    Parameters
    ----------
    instance : Instance
    tightness : float
        ``T > 0``.

    Returns
    -------
    Instance
        Unchanged if it has no requests.

    Raises
    ------
    InputError
        If ``tightness`` is not a finite number > 0.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = tight_capacities(make_instance("nsfnet", 5, 4, seed=1), 0.5)
    >>> inst.params.W_qkd, inst.params.W_kml
    (3, 1)
    """
    if (
        isinstance(tightness, bool)
        or not isinstance(tightness, (int, float))
        or not math.isfinite(tightness)
        or tightness <= 0
    ):
        raise InputError(f"must be a finite number > 0, got {tightness!r}", "tightness")
    reqs = instance.requests
    if not reqs:
        return instance
    params, links = instance.params, instance.links
    load_y = np.zeros(2 * len(links))
    load_z = np.zeros(2 * len(links))
    for rq, arcs in zip(reqs, shortest_route_arcs(instance), strict=True):
        for a in arcs:
            ln = links[a // 2]
            rates, rprobs = ln.key_rate_states(params.key_rate_kbps)
            need = math.fsum(
                q * max(0, math.ceil(rq.demand.mean / k - CEIL_TOL))
                for k, q in zip(rates, rprobs, strict=True)
            )
            load_y[a] += 3 * need
            load_z[a] += need
    params = replace(
        params,
        W_qkd=max(1, math.ceil(tightness * load_y.max() - CEIL_TOL)),
        W_kml=max(1, math.ceil(tightness * load_z.max() - CEIL_TOL)),
    )
    return replace(
        instance, params=params, links=tuple(replace(ln, W_qkd=None, W_kml=None) for ln in links)
    )


def shortest_route_arcs(instance: Instance) -> list[list[int]]:
    """The arcs of every request's shortest path by ``length_km``: the generators' routing.

    An ordinary request goes to its target by networkx's Dijkstra (CO-QBN's route, the
    same ties); an anycast request to the nearest of its target nodes (ties to the
    earlier target). :func:`tight_capacities` and the on-demand caps of
    :func:`qkdbench.planning.on_demand.on_demand_caps` load these routes.

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    list of list of int
        Arc ids of each request's path, in request order.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 2, 3, seed=1)
    >>> [len(arcs) > 0 for arcs in shortest_route_arcs(inst)]
    [True, True]
    """
    g = instance.graph
    out = []
    for rq in instance.requests:
        if rq.target is not None:
            path = nx.dijkstra_path(g, rq.source, rq.target, weight="length_km")
        else:
            dist, paths = nx.single_source_dijkstra(g, rq.source, weight="length_km")
            sink = min((t.node for t in rq.sinks if t.node in dist), key=lambda n: dist[n])
            path = paths[sink]
        out.append(instance.path_arcs(path))
    return out
