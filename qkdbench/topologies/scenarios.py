"""Joint scenarios from marginals: a Gaussian copula with one common factor.

:func:`joint_scenarios` turns an instance's requests (key rates uniform on
``{0, ..., K}``, or any other distribution) into ``N`` equally likely joint scenarios
of every request's key rate, and of every random link's state, in the column form of
:class:`~qkdbench.model.Scenarios` (``docs/model.md``, "Coupled second stage").

The copula
    In scenario ``s`` request ``f`` draws the latent
    ``z_{s,f} = sqrt(rho) g_s + sqrt(1 - rho) e_{s,f}``, with ``g_s`` (the common factor
    of scenario ``s``) and ``e_{s,f}`` independent standard normals, so that every two
    latents have correlation ``rho``. Its key rate is the quantile of the request's
    distribution at ``u = Phi(z_{s,f})``: the smallest support value ``v`` with
    ``Pr(kappa_f <= v) >= u``. Each ``kappa_{s,f}`` is therefore distributed as the
    request's ``demand``; ``rho = 0`` gives independent requests, ``rho = 1`` the
    comonotone ones (one ``u`` per scenario: every request at the same quantile, the
    federated-learning round in which every demand is high together).
Random links
    Every link whose ``key_rate_kbps`` is a distribution draws its state the same way
    from its own latents, ``sqrt(rho_L) h_s + sqrt(1 - rho_L) d_{s,l}``, with a common
    factor ``h_s`` of its own: states are independent of the demands (weather does not
    follow the key demand) and, with the default ``rho_L = 0``, of each other, as the
    TN-NTN generator assumes (:mod:`qkdbench.topologies.ntn`); ``rho_L > 0`` is weather
    that spans the network.
Marginals
    The model requires each request's ``demand`` (each random link's
    ``key_rate_kbps``) to be the marginal of its scenario column, so both are replaced
    by the sample's marginal (:meth:`~qkdbench.model.Scenarios.marginal`): the
    distinct values drawn with their shares of the ``N`` scenarios. A support value no
    scenario drew leaves the distribution.
Seeds
    The demand latents draw from :func:`~qkdbench.utils.random.derive_rng`
    ``(seed, 1)``, the link latents from ``(seed, 2)``, so the requests (which
    :func:`~qkdbench.topologies.sample_requests` draws from the seed itself) and the
    scenarios are independent streams of one seed, and the same seed gives the same
    scenarios.

How the scenarios were made is kept in the instance file as ``scenarios.recipe``
(:data:`GENERATOR` and its parameters). On-demand caps relative to the load a
planner expects are set by :func:`qkdbench.planning.on_demand.on_demand_caps`, which
needs the evaluator and so sits above this layer.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> inst = joint_scenarios(make_instance("nsfnet", 4, 3, seed=1), 5, correlation=1.0, seed=2)
>>> inst.scenarios.n, len({col[0] for col in inst.scenarios.key_rates.values()})
(5, 1)
>>> inst.requests[0].demand == inst.scenarios.marginal("f0")
True
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.special import ndtr

from ..exceptions import InputError
from ..model import Demand, Instance, Scenarios, check_number
from ..utils.random import check_seed, derive_rng

__all__ = ["GENERATOR", "joint_scenarios", "quantiles", "check_correlation"]

#: The name :func:`joint_scenarios` records in ``scenarios.recipe["generator"]``.
GENERATOR = "gaussian-copula"

#: Stream keys of :func:`~qkdbench.utils.random.derive_rng` for the two kinds of latent.
_DEMAND_STREAM, _LINK_STREAM = 1, 2


def check_correlation(value: Any, place: str = "correlation") -> float:
    """A copula correlation: a number in ``[0, 1]``.

    Parameters
    ----------
    value : Any
        The value given.
    place : str, optional
        Named in the message.

    Returns
    -------
    float

    Raises
    ------
    InputError
        If ``value`` is not a finite number in ``[0, 1]``.

    Examples
    --------
    >>> check_correlation(0.5)
    0.5
    """
    rho = check_number(value, place)
    if not 0.0 <= rho <= 1.0:
        raise InputError(f"must lie in [0, 1], got {value!r}", place)
    return rho


def quantiles(dist: Demand, u: np.ndarray) -> np.ndarray:
    """The quantiles of a discrete distribution: the smallest value whose CDF reaches ``u``.

    Parameters
    ----------
    dist : Demand
        Values (any order, repeats allowed) and their probabilities.
    u : ndarray of float
        Levels in ``[0, 1]``.

    Returns
    -------
    ndarray of float
        ``min {v : Pr(X <= v) >= u}`` for each level, shaped as ``u``; a level above the
        last cumulative probability (which may fall short of 1 by rounding) gives the
        largest value.

    Examples
    --------
    >>> quantiles(Demand((2.0, 0.0, 1.0), (0.3, 0.2, 0.5)), np.array([0.1, 0.2, 0.21, 0.99]))
    array([0., 0., 1., 2.])
    """
    order = np.argsort(np.asarray(dist.values, dtype=float), kind="stable")
    values = np.asarray(dist.values, dtype=float)[order]
    cum = np.cumsum(np.asarray(dist.probs, dtype=float)[order])
    idx = np.searchsorted(cum, u, side="left")
    return values[np.minimum(idx, values.size - 1)]


def _copula_levels(rng: np.random.Generator, n: int, k: int, rho: float) -> np.ndarray:
    """``(n, k)`` levels ``Phi(sqrt(rho) g_s + sqrt(1 - rho) e_{s,j})``, common factor first."""
    g = rng.standard_normal(n)
    e = rng.standard_normal((n, k))
    return np.asarray(ndtr(math.sqrt(rho) * g[:, None] + math.sqrt(1.0 - rho) * e))


def joint_scenarios(
    instance: Instance,
    n_scenarios: int,
    *,
    correlation: float,
    seed: int,
    link_correlation: float = 0.0,
    name: str | None = None,
) -> Instance:
    """``N`` equally likely joint scenarios of the key rates through a Gaussian copula.

    See the module notes: one common factor per scenario with latent correlation
    ``correlation`` between every two requests, quantiles of each request's own
    distribution; random link states likewise, independent of the demands; then every
    request's ``demand`` (and random link's ``key_rate_kbps``) becomes the sample's
    marginal of its column.

    Parameters
    ----------
    instance : Instance
        Its requests' distributions are the marginals sampled (joint scenarios it may
        have are replaced, sampling from the marginals they give).
    n_scenarios : int
        ``N >= 1``.
    correlation : float
        ``rho`` in ``[0, 1]``: 0 independent requests, 1 comonotone.
    seed : int
        Seed of the latents.
    link_correlation : float, optional
        ``rho_L`` in ``[0, 1]`` between the random links' states (default 0: independent).
    name : str, optional
        Default: the instance's name and ``-sc{N}-rho{rho:g}``.

    Returns
    -------
    Instance
        With :attr:`~qkdbench.model.Instance.scenarios` (probabilities ``1 / N``) whose
        ``recipe`` is ``{"generator": GENERATOR, "scenarios": N, "correlation": rho,
        "seed": seed}`` (and ``"link_correlation"`` when a link is random). Without a
        finite on-demand cap or a random link it scores as the instance of the sample
        marginals (``docs/model.md``).

    Raises
    ------
    InputError
        If ``n_scenarios`` is not an integer >= 1 (place ``scenarios``), a correlation
        lies outside ``[0, 1]`` (``correlation``, ``link_correlation``) or the seed is not
        an integer >= 0 (``seed``).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = joint_scenarios(make_instance("nsfnet", 3, 2, seed=1), 4, correlation=0.5, seed=1)
    >>> inst.name, inst.scenarios.recipe["generator"], inst.is_coupled
    ('nsfnet-r3-k2-s1-sc4-rho0.5', 'gaussian-copula', False)
    """
    if isinstance(n_scenarios, bool) or not isinstance(n_scenarios, (int, np.integer)):
        raise InputError(f"must be an integer >= 1, got {n_scenarios!r}", "scenarios")
    n = int(check_number(n_scenarios, "scenarios", integer=True))
    if n < 1:
        raise InputError(f"must be an integer >= 1, got {n_scenarios!r}", "scenarios")
    rho = check_correlation(correlation)
    rho_links = check_correlation(link_correlation, "link_correlation")
    seed = check_seed(seed)
    demand_rng = derive_rng(seed, _DEMAND_STREAM)
    link_rng = derive_rng(seed, _LINK_STREAM)
    reqs = instance.requests
    u = _copula_levels(demand_rng, n, len(reqs), rho)
    key_rates = {
        r.id: tuple(float(x) for x in quantiles(r.demand, u[:, j])) for j, r in enumerate(reqs)
    }
    states = {
        k: ln.key_rate_kbps
        for k, ln in enumerate(instance.links)
        if isinstance(ln.key_rate_kbps, Demand)
    }
    link_rates: dict[int, tuple[float, ...]] = {}
    if states:
        w = _copula_levels(link_rng, n, len(states), rho_links)
        for j, (k, rate) in enumerate(states.items()):
            link_rates[k] = tuple(float(x) for x in quantiles(rate, w[:, j]))
    recipe: dict[str, Any] = {
        "generator": GENERATOR,
        "scenarios": n,
        "correlation": rho,
        "seed": seed,
    }
    if states:
        recipe["link_correlation"] = rho_links
    sc = Scenarios(tuple([1.0 / n] * n), key_rates, link_rates, recipe)
    links = tuple(
        replace(ln, key_rate_kbps=sc.link_marginal(k)) if k in link_rates else ln
        for k, ln in enumerate(instance.links)
    )
    requests = tuple(replace(r, demand=sc.marginal(r.id)) for r in reqs)
    return replace(
        instance,
        links=links,
        requests=requests,
        scenarios=sc,
        name=name or f"{instance.name}-sc{n}-rho{rho:g}",
    )
