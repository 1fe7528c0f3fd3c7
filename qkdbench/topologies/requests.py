"""Seeded request sampling: distinct source/target pairs, key rates uniform on {0..K}."""

from __future__ import annotations

import os

import networkx as nx
import numpy as np

from ..exceptions import InputError
from ..model import Demand, Instance, Params, Request

__all__ = ["sample_requests", "make_instance"]


def sample_requests(topology: Instance, n_requests: int, *, max_rate: int, seed: int,
                    name: str | None = None) -> Instance:
    """Add ``n_requests`` seeded random requests to a topology.

    Ordered pairs ``(s, t)``, ``s != t``, ``t`` reachable from ``s``, are drawn
    without replacement, so no pair repeats; each request's key rate is uniform
    on ``{0, ..., max_rate}`` kbps.

    Parameters
    ----------
    topology : Instance
        Its requests, if any, are replaced.
    n_requests : int
    max_rate : int
        ``K``.
    seed : int
    name : str, optional
        Default ``"{topology}-r{N}-k{K}-s{seed}"``.

    Raises
    ------
    InputError
        If the topology has fewer distinct pairs than requests asked for.
    """
    if n_requests < 0:
        raise InputError(f"number of requests must be >= 0, got {n_requests}", "requests")
    demand = Demand.uniform(max_rate)
    g = nx.Graph()
    g.add_nodes_from(topology.nodes)
    g.add_edges_from((link.u, link.v) for link in topology.links)
    pairs = [(s, t) for comp in nx.connected_components(g)
             for s in comp for t in comp if s != t]
    order = {n: i for i, n in enumerate(topology.nodes)}
    pairs.sort(key=lambda st: (order[st[0]], order[st[1]]))
    if n_requests > len(pairs):
        raise InputError(f"{n_requests} requests asked for but the topology has only "
                         f"{len(pairs)} distinct source/target pairs", "requests")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), size=n_requests, replace=False)
    reqs = tuple(Request(f"f{i}", pairs[k][0], pairs[k][1], demand)
                 for i, k in enumerate(chosen))
    return topology.with_requests(
        reqs, name or f"{topology.name}-r{n_requests}-k{max_rate}-s{seed}")


def make_instance(topology: str | os.PathLike | Instance = "usnet", n_requests: int = 20,
                  max_rate: int = 10, seed: int = 1, params: Params | None = None) -> Instance:
    """Load a topology (name, file, topohub key) and sample requests in one step.

    A name ending in ``-ntn`` (the built-in example ``usnet-ntn``, or e.g.
    ``nsfnet-ntn``, ``sndlib/germany50-ntn``) gives the TN-NTN instance of the
    topology before the suffix with the defaults of :mod:`qkdbench.topologies.ntn`
    (ground stations, satellite and free-space links, providers, anycast requests).

    Examples
    --------
    >>> make_instance("nsfnet", 5, 3, seed=2).n_requests
    5
    >>> sorted(make_instance("usnet-ntn", 5, 3, seed=2).features)
    ['link_prices', 'link_states', 'providers']
    """
    from .loaders import load_topology
    from .ntn import ntn_base, ntn_instance

    if not isinstance(topology, Instance) and ntn_base(topology) is not None:
        return ntn_instance(topology, n_requests, max_rate=max_rate, seed=seed, params=params)

    topo = topology if isinstance(topology, Instance) else load_topology(topology, params)
    return sample_requests(topo, n_requests, max_rate=max_rate, seed=seed)
