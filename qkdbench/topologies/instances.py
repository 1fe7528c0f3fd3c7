"""One-step instances: a topology by name, file or topohub key plus sampled requests.

It sits above :mod:`qkdbench.topologies.requests`, :mod:`qkdbench.topologies.loaders` and
:mod:`qkdbench.topologies.ntn` (which uses the request sampler), so that a ``-ntn``
name can be dispatched without an import cycle.
"""

from __future__ import annotations

import os

from ..model import Instance, Params
from .loaders import load_topology
from .ntn import ntn_base, ntn_instance
from .requests import sample_requests

__all__ = ["make_instance"]


def make_instance(
    topology: str | os.PathLike | Instance = "usnet",
    n_requests: int = 20,
    max_rate: int = 10,
    seed: int = 1,
    params: Params | None = None,
) -> Instance:
    """Load a topology (name, file, topohub key) and sample requests in one step.

    A name ending in ``-ntn`` (the built-in example ``usnet-ntn``, or e.g.
    ``nsfnet-ntn``, ``sndlib/germany50-ntn``) gives the TN-NTN instance of the
    topology before the suffix with the defaults of :mod:`qkdbench.topologies.ntn`
    (ground stations, satellite and free-space links, providers, anycast requests).

    Parameters
    ----------
    topology : str, path or Instance
        As :func:`~qkdbench.topologies.load_topology` takes it (or a ``-ntn`` name), or a
        loaded topology.
    n_requests : int
        Requests to sample.
    max_rate : int
        ``K``: each key rate is uniform on ``{0, ..., K}`` kbps.
    seed : int
        Seed of the requests (and of the TN-NTN steps).
    params : Params, optional
        Instance parameters of a topology loaded here (default: the paper's).

    Returns
    -------
    Instance

    Examples
    --------
    >>> make_instance("nsfnet", 5, 3, seed=2).n_requests
    5
    >>> sorted(make_instance("usnet-ntn", 5, 3, seed=2).features)
    ['link_prices', 'link_states', 'providers']
    """
    if not isinstance(topology, Instance) and ntn_base(topology) is not None:
        return ntn_instance(topology, n_requests, max_rate=max_rate, seed=seed, params=params)
    topo = topology if isinstance(topology, Instance) else load_topology(topology, params)
    return sample_requests(topo, n_requests, max_rate=max_rate, seed=seed)
