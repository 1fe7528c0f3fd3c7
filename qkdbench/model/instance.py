"""The planning instance: topology, parameters, costs and requests, valid once built."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, TypeVar

import networkx as nx

from ..exceptions import InputError
from .constants import CEIL_TOL
from .costs import CostTable, Params
from .demand import Demand
from .network import Link, Provider, Request
from .scenarios import Scenarios
from .validation import validate_instance

T = TypeVar("T")

__all__ = ["Instance"]


@dataclass(frozen=True)
class Instance:
    """A planning instance: topology, parameters, costs and requests.

    Construction validates everything (see ``InputError``); the derived data
    (:attr:`node_index`, :attr:`graph`, and what other layers keep through
    :meth:`derived`) is computed once on first use.

    Parameters
    ----------
    nodes : tuple
        Node ids (int or str), as given.
    links : tuple of Link
        Fiber links; each gives two arcs.
    requests : tuple of Request
    params : Params
    costs : CostTable
    name : str
    node_names : Mapping, optional
        Optional display names by node id.
    node_fixed_costs : Mapping, optional
        One-off first-stage cost ``G_n`` by node id, paid if any route starts,
        ends or passes through the node (absent nodes cost 0).
    providers : tuple of Provider, optional
        Provider capacities. When given, every provider a target names
        must be listed; when empty, providers are unlimited.
    scenarios : Scenarios, optional
        The joint scenarios of the requests' key rates and the random links'
        states. Each request's ``demand`` must then be the marginal of its column
        (:meth:`Scenarios.marginal`), and each random link's ``key_rate_kbps`` the
        marginal of its column. Required when an on-demand cap is finite.

    Examples
    --------
    >>> inst = Instance(nodes=(1, 2), links=(Link(1, 2, 200.0),),
    ...                 requests=(Request("f0", 1, 2, Demand.uniform(2)),))
    >>> inst.arc_index[(2, 1)], inst.n_requests
    (1, 1)
    """

    nodes: tuple
    links: tuple[Link, ...]
    requests: tuple[Request, ...] = ()
    params: Params = field(default_factory=Params)
    costs: CostTable = field(default_factory=CostTable)
    name: str = "instance"
    node_names: Mapping[Any, str] = field(default_factory=dict, compare=False)
    node_fixed_costs: Mapping[Any, float] = field(default_factory=dict)
    providers: tuple[Provider, ...] = ()
    scenarios: Scenarios | None = None
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "links", tuple(self.links))
        object.__setattr__(self, "requests", tuple(self.requests))
        object.__setattr__(self, "node_fixed_costs", dict(self.node_fixed_costs))
        object.__setattr__(self, "providers", tuple(self.providers))
        validate_instance(self)

    # ---- derived data
    @cached_property
    def node_index(self) -> dict[Any, int]:
        """Position of each node id in :attr:`nodes`."""
        return {n: i for i, n in enumerate(self.nodes)}

    @cached_property
    def request_index(self) -> dict[str, int]:
        """Position of each request id in :attr:`requests`."""
        return {r.id: i for i, r in enumerate(self.requests)}

    @cached_property
    def arc_index(self) -> dict[tuple[Any, Any], int]:
        """Arc id of each ``(u, v)`` node-id pair."""
        out = {}
        for k, link in enumerate(self.links):
            out[(link.u, link.v)] = 2 * k
            out[(link.v, link.u)] = 2 * k + 1
        return out

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Directed graph of the arcs, edge attributes ``arc`` (id) and ``length_km``.

        Treat it as read-only; it is shared by every caller.
        """
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for (u, v), a in self.arc_index.items():
            g.add_edge(u, v, arc=a, length_km=float(self.links[a // 2].length_km))
        return g

    def derived(self, key: str, make: Callable[[Instance], T]) -> T:
        """``make(self)``, computed once per instance and kept under ``key``.

        Other layers keep the arrays they derive from an instance here (the
        evaluator's per-arc prices and key-rate tables, for example), so that
        every caller shares one copy. A copy made with
        :func:`dataclasses.replace` starts with none.

        Parameters
        ----------
        key : str
            Name of the derived object, by convention the deriving module's dotted name
            and a word (``"planning.paths.adjacency"``).
        make : callable
            ``make(instance)`` builds it; called only on the first request for ``key``.

        Returns
        -------
        object
            What ``make`` returned, the same object on every call.
        """
        memo = self._derived
        if key not in memo:
            memo[key] = make(self)
        return memo[key]

    # ---- conveniences
    @property
    def n_requests(self) -> int:
        """Number of requests."""
        return len(self.requests)

    def link_fixed_cost(self, k: int) -> float:
        """Fixed charge ``F_l`` of link ``k``: its ``fixed_cost``, else ``site * (2m - 1)``.

        ``m = ceil(e / D - 1e-9)`` (at least 1) is the link's MDI-segment count; its
        chain has ``m`` untrusted-relay sites (MDI-QRx) and ``m - 1`` trusted-relay
        sites (the SI between segments), ``2m - 1`` sites in all.

        Parameters
        ----------
        k : int
            Link index in :attr:`links`.

        Returns
        -------
        float
            0 for a link without ``fixed_cost`` when ``costs.site`` is 0 or the link is
            not fiber.

        Examples
        --------
        >>> inst = Instance((1, 2), (Link(1, 2, 400.0),), costs=CostTable(site=10.0))
        >>> inst.link_fixed_cost(0)  # m = 3 segments of 160 km: 5 sites
        50.0
        """
        link = self.links[k]
        if link.fixed_cost is not None:
            return float(link.fixed_cost)
        if not self.costs.site or link.kind != "fiber":
            return 0.0
        span = link.span_km if link.span_km is not None else self.params.span_km
        m = max(1, math.ceil(float(link.length_km) / float(span) - CEIL_TOL))
        return float(self.costs.site) * (2 * m - 1)

    @cached_property
    def uses_extensions(self) -> bool:
        """Whether the instance uses an extension key (so its file is ``qkdbench-instance/2``)."""
        return bool(
            self.costs.site
            or self.node_fixed_costs
            or self.providers
            or self.scenarios is not None
            or self.params.uses_extensions
            or any(
                link.fixed_cost is not None
                or link.kind != "fiber"
                or link.unit_costs is not None
                or isinstance(link.key_rate_kbps, Demand)
                or link.O_qkd is not None
                or link.O_kml is not None
                for link in self.links
            )
            or any(req.targets for req in self.requests)
        )

    @cached_property
    def features(self) -> frozenset[str]:
        """The model extensions this instance uses, as planners declare support for them.

        ``fixed_charges`` (a positive fixed charge), ``link_prices`` (a link
        priced by ``unit_costs``), ``link_states`` (a key rate with more than
        one state), ``providers`` (a request with ``targets``) and ``coupled``
        (the second stage needs the joint scenarios: see :attr:`is_coupled`).
        """
        out = set()
        if self.has_fixed_charges:
            out.add("fixed_charges")
        if any(link.unit_costs is not None for link in self.links):
            out.add("link_prices")
        if any(link.has_random_key_rate for link in self.links):
            out.add("link_states")
        if any(req.targets for req in self.requests):
            out.add("providers")
        if self.is_coupled:
            out.add("coupled")
        return frozenset(out)

    def on_demand_cap(self, k: int) -> tuple[float, float]:
        """On-demand capacity ``(O_qkd, O_kml)`` of each arc of link ``k`` in one scenario.

        Parameters
        ----------
        k : int
            Link index in :attr:`links`.

        Returns
        -------
        tuple of float
            The link's value, else the instance's ``params`` value; ``inf`` when unlimited.
        """
        link = self.links[k]
        out = []
        for attr in ("O_qkd", "O_kml"):
            value = getattr(link, attr)
            if value is None:
                value = getattr(self.params, attr)
            out.append(math.inf if value is None else float(value))
        return out[0], out[1]

    @cached_property
    def has_on_demand_caps(self) -> bool:
        """Whether any arc has a finite on-demand capacity."""
        return any(math.isfinite(c) for k in range(len(self.links)) for c in self.on_demand_cap(k))

    @cached_property
    def is_coupled(self) -> bool:
        """Whether the second stage needs the joint scenarios, not only the marginals.

        True when the instance has :attr:`scenarios` and either an on-demand cap is
        finite (requests then compete within a scenario) or the scenarios list link
        states (a request's key rate and a link's state may then be dependent). Without
        either, the expectation over the scenarios equals the expectation over each
        request's marginal (``docs/model.md``), and the instance is not coupled.
        """
        return self.scenarios is not None and (
            self.has_on_demand_caps or bool(self.scenarios.link_key_rates)
        )

    @cached_property
    def provider_capacity(self) -> dict[str, int | None]:
        """Capacity of each provider named by a target or listed (``None``: unlimited)."""
        out: dict[str, int | None] = {}
        for req in self.requests:
            for t in req.targets:
                out.setdefault(str(t.provider), None)
        for prov in self.providers:
            out[prov.id] = None if prov.capacity is None else int(prov.capacity)
        return out

    @cached_property
    def has_fixed_charges(self) -> bool:
        """Whether any link or node has a positive fixed charge."""
        return any(v > 0 for v in self.node_fixed_costs.values()) or any(
            self.link_fixed_cost(k) > 0 for k in range(len(self.links))
        )

    def path_arcs(self, path: Sequence[Any]) -> list[int]:
        """Arc ids along a node path.

        Parameters
        ----------
        path : sequence of node ids
            Source to target.

        Returns
        -------
        list of int
            ``len(path) - 1`` arc ids, in path order.

        Raises
        ------
        InputError
            If two consecutive nodes are not joined by an arc.
        """
        out = []
        for i in range(len(path) - 1):
            a = self.arc_index.get((path[i], path[i + 1]))
            if a is None:
                raise InputError(
                    f"no arc {path[i]!r}->{path[i + 1]!r} in the topology", f"path[{i}]"
                )
            out.append(a)
        return out

    def with_requests(self, requests: Iterable[Request], name: str | None = None) -> Instance:
        """A copy of this instance with other requests.

        Parameters
        ----------
        requests : iterable of Request
            They replace the instance's requests.
        name : str, optional
            Name of the copy (default this instance's).

        Returns
        -------
        Instance
            The same network, parameters and costs; derived objects are not shared.
        """
        return replace(self, requests=tuple(requests), name=name or self.name)
