"""Seeded random topologies."""

from __future__ import annotations

import math

import networkx as nx

from ..exceptions import InputError
from ..model import Instance, Link, Params
from ..utils.random import check_random_state

__all__ = ["waxman_topology"]


def waxman_topology(
    n: int,
    *,
    seed: int,
    alpha: float = 0.4,
    beta: float = 0.3,
    side_km: float = 2000.0,
    params: Params | None = None,
) -> Instance:
    """A connected Waxman graph on a ``side_km`` square, lengths = Euclidean km.

    Nodes are numbered ``1..n``. If the Waxman draw is disconnected, its
    components are joined by their closest node pairs, so the result is
    connected and depends on ``seed`` only.

    Parameters
    ----------
    n : int
        Number of nodes (>= 2).
    seed : int
    alpha, beta : float
        Waxman parameters (networkx's: ``beta`` scales the probability,
        ``alpha`` the distance decay).
    side_km : float
    params : Params, optional

    Returns
    -------
    Instance
        Without requests, named ``waxman{n}-s{seed}``; lengths at least 1 km, rounded to
        0.1 km.

    Raises
    ------
    ValueError
        If ``n < 2``.

    Examples
    --------
    >>> t = waxman_topology(10, seed=3)
    >>> len(t.nodes)
    10
    """
    if n < 2:
        raise InputError("a topology needs at least 2 nodes")
    rng = check_random_state(seed)
    g = nx.waxman_graph(n, beta=beta, alpha=alpha, seed=int(rng.integers(2**31)))
    pos = nx.get_node_attributes(g, "pos")

    def dist(u: int, v: int) -> float:
        (ux, uy), (vx, vy) = pos[u], pos[v]
        return max(1.0, round(math.hypot(ux - vx, uy - vy) * side_km, 1))

    comps = [sorted(c) for c in nx.connected_components(g)]
    comps.sort(key=lambda c: c[0])
    while len(comps) > 1:
        first = comps[0]
        best = min(
            (
                (dist(u, v), u, v, j)
                for j, c in enumerate(comps[1:], start=1)
                for u in first
                for v in c
            )
        )
        _, u, v, j = best
        g.add_edge(u, v)
        comps[0] = sorted(first + comps[j])
        del comps[j]
    links = tuple(Link(u + 1, v + 1, dist(u, v)) for u, v in sorted(g.edges))
    return Instance(
        tuple(range(1, n + 1)), links, (), params or Params(), name=f"waxman{n}-s{seed}"
    )
