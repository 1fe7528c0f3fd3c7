"""Validation of an instance: every field, every cross-reference, reachability, capacities.

:class:`~qkdbench.model.Instance` calls :func:`validate_instance` on
construction, so that an instance that exists is a valid one
(``docs/model.md``). The parts (:class:`~qkdbench.model.Demand`,
:class:`~qkdbench.model.CostTable`, ...) check their own fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from ..exceptions import InputError
from .constants import CEIL_TOL, LINK_KINDS, MAX_COUNT, QKD_WAVELENGTHS_PER_LINK, check_number
from .costs import UnitCosts
from .demand import Demand
from .network import Provider, Request, Target
from .scenarios import Scenarios

if TYPE_CHECKING:
    from .instance import Instance

__all__ = ["validate_instance"]


def validate_instance(instance: Instance) -> None:
    """Check every field of ``instance``; the first problem found is raised.

    What :class:`~qkdbench.model.Instance` checks on construction (see
    ``docs/model.md``): node ids, links (ends, lengths, overrides, key rates,
    kinds, prices, fixed charges), node fixed charges, providers, requests
    (ids, ends, targets, demands, reachability) and provider capacities.

    Parameters
    ----------
    instance : Instance
        The instance, its fields already normalised to tuples and a dict.

    Raises
    ------
    InputError
        Naming the place (``links[3].length_km``, ``requests[0].target``, ...) and
        the problem, on one line.
    """
    index: dict[Any, int] = {}
    for i, n in enumerate(instance.nodes):
        if isinstance(n, bool) or not isinstance(n, (int, str)):
            raise InputError(f"node id must be an integer or a string, got {n!r}", f"nodes[{i}].id")
        if n in index:
            raise InputError(f"duplicate node id {n!r}", f"nodes[{i}].id")
        index[n] = i
    if not instance.nodes:
        raise InputError("an instance needs at least one node", "nodes")
    seen: dict[frozenset, int] = {}
    for k, link in enumerate(instance.links):
        place = f"links[{k}]"
        for end in ("u", "v"):
            if getattr(link, end) not in index:
                raise InputError(f"unknown node {getattr(link, end)!r}", f"{place}.{end}")
        if link.u == link.v:
            raise InputError(f"self-loop at node {link.u!r}", place)
        key = frozenset((link.u, link.v))
        if key in seen:
            raise InputError(
                f"duplicate link {link.u!r}-{link.v!r} (also links[{seen[key]}])", place
            )
        seen[key] = k
        check_number(link.length_km, f"{place}.length_km", positive=True)
        for attr in ("W_qkd", "W_kml"):
            if getattr(link, attr) is not None:
                check_number(getattr(link, attr), f"{place}.{attr}", nonneg=True, integer=True)
        if link.span_km is not None:
            check_number(link.span_km, f"{place}.span_km", positive=True)
        rate = link.key_rate_kbps
        if isinstance(rate, Demand):
            for i, x in enumerate(rate.values):
                if x <= 0:
                    raise InputError(
                        f"a key-rate state must be positive, got {x!r}",
                        f"{place}.key_rate_kbps.values[{i}]",
                    )
        elif rate is not None:
            check_number(rate, f"{place}.key_rate_kbps", positive=True)
        if link.kind not in LINK_KINDS:
            raise InputError(
                f"unknown link kind {link.kind!r}, expected one of {', '.join(LINK_KINDS)}",
                f"{place}.kind",
            )
        if link.unit_costs is not None and not isinstance(link.unit_costs, UnitCosts):
            raise InputError("unit_costs must be UnitCosts", f"{place}.unit_costs")
        if link.kind != "fiber" and link.unit_costs is None:
            raise InputError(
                f"a {link.kind} link needs unit_costs (Eqs. 3-8 price fiber only)", place
            )
        if link.fixed_cost is not None:
            check_number(link.fixed_cost, f"{place}.fixed_cost", nonneg=True)
        span = link.span_km if link.span_km is not None else instance.params.span_km
        if float(link.length_km) / span > MAX_COUNT:
            raise InputError(
                f"length {link.length_km!r} km over a span of {span!r} km "
                f"gives more than {MAX_COUNT:.0e} MDI segments",
                place,
            )
    for n, g in instance.node_fixed_costs.items():
        if n not in index:
            raise InputError(f"fixed cost for unknown node {n!r}", "nodes")
        check_number(g, f"nodes[{index[n]}].fixed_cost", nonneg=True)
    ids: dict[str, int] = {}
    graph = None
    min_rate = min(
        [instance.params.key_rate_kbps]
        + [
            min(r.values) if isinstance(r, Demand) else float(r)
            for r in (link.key_rate_kbps for link in instance.links)
            if r is not None
        ]
    )
    providers: dict[str, int | None] = {}
    for i, prov in enumerate(instance.providers):
        if not isinstance(prov, Provider):
            raise InputError("expected a Provider", f"providers[{i}]")
        if not isinstance(prov.id, str) or not prov.id:
            raise InputError(
                f"provider id must be a non-empty string, got {prov.id!r}", f"providers[{i}].id"
            )
        if prov.id in providers:
            raise InputError(f"duplicate provider {prov.id!r}", f"providers[{i}].id")
        if prov.capacity is not None:
            check_number(prov.capacity, f"providers[{i}].capacity", nonneg=True, integer=True)
        providers[prov.id] = prov.capacity
    for k, req in enumerate(instance.requests):
        place = f"requests[{k}]"
        if not isinstance(req.id, str) or not req.id:
            raise InputError(
                f"request id must be a non-empty string, got {req.id!r}", f"{place}.id"
            )
        if req.id in ids:
            raise InputError(f"duplicate request id {req.id!r}", f"{place}.id")
        ids[req.id] = k
        if req.source not in index:
            raise InputError(f"unknown node {req.source!r}", f"{place}.source")
        if req.targets:
            if req.target is not None:
                raise InputError("give either 'target' or 'targets', not both", place)
            _check_targets(req, place, index, providers)
        else:
            if req.target not in index:
                raise InputError(f"unknown node {req.target!r}", f"{place}.target")
            if req.source == req.target:
                raise InputError(f"source and target are both {req.source!r}", place)
        if not isinstance(req.demand, Demand):
            raise InputError("demand must be a Demand", f"{place}.demand")
        if req.demand.max / min_rate > MAX_COUNT:
            i = req.demand.values.index(req.demand.max)
            raise InputError(
                f"key rate {req.demand.max!r} kbps needs more than "
                f"{MAX_COUNT:.0e} QKD links of {min_rate!r} kbps",
                f"{place}.demand.values[{i}]",
            )
        if graph is None:
            graph = nx.Graph()
            graph.add_nodes_from(instance.nodes)
            graph.add_edges_from((link.u, link.v) for link in instance.links)
        for t, sink in enumerate(req.sinks):
            if not nx.has_path(graph, req.source, sink.node):
                where = f"{place}.targets[{t}].node" if req.targets else place
                raise InputError(
                    f"target {sink.node!r} is unreachable from source {req.source!r}", where
                )
    if any(cap is not None for cap in providers.values()):
        _check_provider_capacity(instance, providers)
    _check_on_demand_caps(instance)
    if instance.scenarios is not None:
        _check_scenarios(instance)


def _check_on_demand_caps(instance: Instance) -> None:
    """On-demand caps: integers >= 0, only with joint scenarios, only where ``c[e] <= c[o]``."""
    for k, link in enumerate(instance.links):
        for attr in ("O_qkd", "O_kml"):
            if getattr(link, attr) is not None:
                check_number(getattr(link, attr), f"links[{k}].{attr}", nonneg=True, integer=True)
    if not instance.has_on_demand_caps:
        return
    if instance.scenarios is None:
        where = next(
            (
                f"links[{k}].{attr}"
                for k, link in enumerate(instance.links)
                for attr in ("O_qkd", "O_kml")
                if getattr(link, attr) is not None
            ),
            "params.O_qkd" if instance.params.O_qkd is not None else "params.O_kml",
        )
        raise InputError(
            "a finite on-demand cap needs the joint scenarios (a top-level 'scenarios'): "
            "coupled recourse is not defined by per-request marginals",
            where,
        )
    costs = instance.costs.matrix()  # (phases r, e, o) x components
    for k in range(len(instance.links)):
        cap_qkd, cap_kml = instance.on_demand_cap(k)
        prices = _wavelength_prices(instance, k, costs)
        for kind, cap, (_, use, buy) in (("QKD", cap_qkd, prices[0]), ("KM", cap_kml, prices[1])):
            if math.isfinite(cap) and use > buy:
                raise InputError(
                    f"a finite on-demand cap needs a reserved {kind} wavelength no dearer to use "
                    f"than one bought on demand, but c[e] = {use:g} > c[o] = {buy:g}",
                    f"links[{k}]",
                )


def _wavelength_prices(
    instance: Instance, k: int, costs: np.ndarray
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Prices of one QKD and one KM wavelength on link ``k`` per phase (``docs/model.md``)."""
    link = instance.links[k]
    if link.unit_costs is not None:
        return link.unit_costs.qkd, link.unit_costs.km
    e = float(link.length_km)
    span = link.span_km if link.span_km is not None else instance.params.span_km
    m = max(1, math.ceil(e / float(span) - CEIL_TOL))
    w = QKD_WAVELENGTHS_PER_LINK
    # rows in COMPONENTS order: tx, rx, km, si, md, ch
    qkd = costs @ np.array([2.0 * m / w, m / w, 0.0, 0.0, 0.0, e])
    kml = costs @ np.array([0.0, 0.0, m + 1.0, m - 1.0, 2.0 * m - 1.0, e])
    return (
        (float(qkd[0]), float(qkd[1]), float(qkd[2])),
        (float(kml[0]), float(kml[1]), float(kml[2])),
    )


def _same_distribution(a: Demand, b: Demand) -> bool:
    pa = dict(zip(a.values, a.probs, strict=True))
    pb = dict(zip(b.values, b.probs, strict=True))
    return set(pa) == set(pb) and all(abs(pa[v] - pb[v]) <= 1e-9 for v in pa)


def _check_scenarios(instance: Instance) -> None:
    """The joint scenarios name every request and random link, and agree with their marginals."""
    sc = instance.scenarios
    if not isinstance(sc, Scenarios):
        raise InputError("expected a Scenarios", "scenarios")
    ids = {r.id for r in instance.requests}
    for rid in sc.key_rates:
        if rid not in ids:
            raise InputError(f"unknown request {rid!r}", f"scenarios.key_rates.{rid}")
    for k, req in enumerate(instance.requests):
        if req.id not in sc.key_rates:
            raise InputError(f"request {req.id!r} is not listed", "scenarios.key_rates")
        if not _same_distribution(req.demand, sc.marginal(req.id)):
            raise InputError(
                f"the demand of request {req.id!r} is not the marginal of its scenario column",
                f"requests[{k}].demand",
            )
    for k in sc.link_key_rates:
        if k >= len(instance.links):
            raise InputError(
                f"no link at position {k} ({len(instance.links)} links)",
                f"scenarios.link_key_rates.{k}",
            )
        if not isinstance(instance.links[k].key_rate_kbps, Demand):
            raise InputError(
                f"links[{k}] has a fixed key rate: only links whose key_rate_kbps is a "
                "distribution are listed",
                f"scenarios.link_key_rates.{k}",
            )
    for k, link in enumerate(instance.links):
        rate = link.key_rate_kbps
        if not isinstance(rate, Demand):
            continue
        if k not in sc.link_key_rates:
            raise InputError(
                f"links[{k}] has a key-rate distribution and is not listed",
                "scenarios.link_key_rates",
            )
        if not _same_distribution(rate, sc.link_marginal(k)):
            raise InputError(
                "the key-rate distribution is not the marginal of the link's scenario column",
                f"links[{k}].key_rate_kbps",
            )


def _check_targets(
    req: Request,
    place: str,
    index: Mapping[Any, int],
    providers: Mapping[str, int | None],
) -> None:
    """Check the targets of an anycast request."""
    seen: dict[tuple[Any, str], int] = {}
    for t, tgt in enumerate(req.targets):
        tp = f"{place}.targets[{t}]"
        if not isinstance(tgt, Target):
            raise InputError("expected a Target", tp)
        if tgt.node not in index:
            raise InputError(f"unknown node {tgt.node!r}", f"{tp}.node")
        if tgt.node == req.source:
            raise InputError(f"target node {tgt.node!r} is the request's source", f"{tp}.node")
        if not isinstance(tgt.provider, str) or not tgt.provider:
            raise InputError(
                f"provider must be a non-empty string, got {tgt.provider!r}", f"{tp}.provider"
            )
        if providers and tgt.provider not in providers:
            raise InputError(
                f"unknown provider {tgt.provider!r} (not in providers)", f"{tp}.provider"
            )
        check_number(tgt.service_cost, f"{tp}.service_cost", nonneg=True)
        key = (tgt.node, tgt.provider)
        if key in seen:
            raise InputError(
                f"duplicate target (node {tgt.node!r}, provider "
                f"{tgt.provider!r}), also targets[{seen[key]}]",
                tp,
            )
        seen[key] = t


def _check_provider_capacity(instance: Instance, providers: Mapping[str, int | None]) -> None:
    """Reject capacities that cannot serve every anycast request (a bipartite matching)."""
    g = nx.DiGraph()
    n_any = 0
    for req in instance.requests:
        if not req.targets:
            continue
        n_any += 1
        g.add_edge("_src", ("req", req.id), capacity=1)
        for tgt in req.targets:
            g.add_edge(("req", req.id), ("prov", tgt.provider), capacity=1)
    for pid, cap in providers.items():
        if g.has_node(("prov", pid)):
            g.add_edge(("prov", pid), "_sink", capacity=n_any if cap is None else int(cap))
    if n_any == 0:
        return
    served = nx.maximum_flow_value(g, "_src", "_sink")
    if served < n_any:
        raise InputError(
            f"provider capacities can serve at most {served} of the {n_any} requests with targets",
            "providers",
        )
