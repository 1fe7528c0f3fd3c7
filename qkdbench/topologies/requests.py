"""Seeded request sampling: distinct source/target pairs, key rates uniform on {0..K}.

:func:`~qkdbench.topologies.make_instance` (module ``instances``) loads a topology and
samples requests in one step.
"""

from __future__ import annotations

import networkx as nx

from ..exceptions import InputError
from ..model import Demand, Instance, Request
from ..utils.random import check_random_state

__all__ = ["sample_requests"]


def sample_requests(
    topology: Instance, n_requests: int, *, max_rate: int, seed: int, name: str | None = None
) -> Instance:
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

    Returns
    -------
    Instance
        The topology with requests ``f0 .. f{N-1}``.

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
    pairs = [(s, t) for comp in nx.connected_components(g) for s in comp for t in comp if s != t]
    order = {n: i for i, n in enumerate(topology.nodes)}
    pairs.sort(key=lambda st: (order[st[0]], order[st[1]]))
    if n_requests > len(pairs):
        raise InputError(
            f"{n_requests} requests asked for but the topology has only "
            f"{len(pairs)} distinct source/target pairs",
            "requests",
        )
    rng = check_random_state(seed)
    chosen = rng.choice(len(pairs), size=n_requests, replace=False)
    reqs = tuple(Request(f"f{i}", pairs[k][0], pairs[k][1], demand) for i, k in enumerate(chosen))
    return topology.with_requests(
        reqs, name or f"{topology.name}-r{n_requests}-k{max_rate}-s{seed}"
    )
