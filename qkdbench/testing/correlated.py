"""Capped instances with correlated demands: where the coupled second stage bites.

:func:`correlated_instance` takes a topology's sampled requests (key rates uniform on
``{0, ..., K}``), draws joint scenarios in which every demand rises and falls with a
common factor (a Gaussian copula of correlation ``rho``), and caps the on-demand
wavelengths of every link at a share of the expected on-demand load that a plan
ignoring the caps puts on it. It is what the coupled planners are measured on
(``benchmarks/bench_coupled.py``): a plan made from the marginals alone meets the cap
in the scenarios where every demand is high at once. :func:`decorrelated` keeps the
marginals and the caps but makes the demands independent: a plan made on it knows the
caps but not that demands rise together.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..evaluation.pricing import arc_table, qkd_links_needed
from ..heuristics.saa_greedy import SAAGreedy
from ..model import Instance, Scenarios
from ..topologies import make_instance
from ..utils.random import check_random_state

__all__ = ["correlated_instance", "decorrelated", "on_demand_load"]


def on_demand_load(instance: Instance, routes: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Expected QKD and KM wavelengths a plan buys on demand per arc, with no cap.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    routes : tuple of Route
        One route per request, in the instance's order.

    Returns
    -------
    qkd, km : ndarray (A,)
        ``sum_s p_s sum_f (n_f(s) - min(y_f, n_f(s)))`` per arc.

    Raises
    ------
    ValueError
        If the instance has no scenarios.
    """
    sc = instance.scenarios
    if sc is None:
        raise ValueError("the instance has no joint scenarios")
    A = arc_table(instance).n
    probs = np.asarray(sc.probs)
    out = [np.zeros(A), np.zeros(A)]
    for req, route in zip(instance.requests, routes, strict=True):
        kappa = np.asarray(sc.key_rates[req.id])
        for i, a in enumerate(instance.path_arcs(route.path)):
            k = a // 2
            link_rate = sc.link_key_rates.get(k)
            if link_rate is None:
                rate = instance.links[k].key_rate_kbps
                fixed = float(instance.params.key_rate_kbps if rate is None else rate)  # type: ignore[arg-type]
                p = qkd_links_needed(kappa, fixed)
            else:
                p = np.asarray(
                    [int(qkd_links_needed(x, r)) for x, r in zip(kappa, link_rate, strict=True)]
                )
            for kind, (need, held) in enumerate(
                ((3 * p, route.reserve_qkd[i]), (p, route.reserve_km[i]))
            ):
                out[kind][a] += float(probs @ (need - np.minimum(held, need)))
    return out[0], out[1]


def correlated_instance(
    topology: str | Instance = "usnet",
    n_requests: int = 40,
    n_scenarios: int = 30,
    rho: float = 0.8,
    cap_share: float = 0.5,
    max_rate: int = 10,
    seed: int = 1,
    shortfall_factor: float = 10.0,
) -> Instance:
    """A capped instance whose demands move together (see the module notes).

    Parameters
    ----------
    topology : str or Instance
        As :func:`~qkdbench.topologies.make_instance` takes it.
    n_requests, max_rate : int
        Requests and their largest key rate ``K`` (each marginal is close to uniform on
        ``{0, ..., K}``).
    n_scenarios : int
        Joint scenarios, each of probability ``1 / n_scenarios``.
    rho : float
        Correlation of the copula, in ``[0, 1]``: ``kappa_f(s) = floor((K + 1)
        Phi(sqrt(rho) Z_s + sqrt(1 - rho) E_fs))`` with standard normal ``Z``, ``E``.
    cap_share : float
        Each link's on-demand caps (QKD and KM) are this share of the expected on-demand
        load on its busier arc under the plan ``saa-greedy`` makes for the uncapped
        instance (rounded; a link that plan leaves unused gets the median of the others).
    seed : int
        Seed of the requests and of the scenarios.
    shortfall_factor : float
        ``params.shortfall_factor``.

    Returns
    -------
    Instance
        Named ``{topology instance name}-rho{rho}-cap{cap_share}``; coupled when some cap
        is finite. Its scenarios' recipe records every parameter.

    Raises
    ------
    ValueError
        If ``rho`` is not in ``[0, 1]``, ``cap_share < 0`` or ``n_scenarios < 1``.

    Examples
    --------
    >>> inst = correlated_instance("nsfnet", 6, 8, seed=2)
    >>> inst.is_coupled, inst.scenarios.n
    (True, 8)
    """
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1], got {rho!r}")
    if cap_share < 0:
        raise ValueError(f"cap_share must be >= 0, got {cap_share!r}")
    if n_scenarios < 1:
        raise ValueError(f"n_scenarios must be at least 1, got {n_scenarios}")
    base = make_instance(topology, n_requests, max_rate, seed)
    rng = check_random_state(seed + 7919)
    common = rng.standard_normal(n_scenarios)
    own = rng.standard_normal((n_requests, n_scenarios))
    x = math.sqrt(rho) * common[None, :] + math.sqrt(1.0 - rho) * own
    u = 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    kappa = np.minimum(max_rate, np.floor(u * (max_rate + 1)))
    recipe = {
        "generator": "correlated_instance",
        "rho": rho,
        "cap_share": cap_share,
        "seed": seed,
        "max_rate": max_rate,
    }
    sc = Scenarios(
        (1.0 / n_scenarios,) * n_scenarios,
        {r.id: tuple(float(v) for v in kappa[f]) for f, r in enumerate(base.requests)},
        {},
        recipe,
    )
    params = replace(base.params, shortfall_factor=shortfall_factor)
    reqs = tuple(replace(r, demand=sc.marginal(r.id)) for r in base.requests)
    free = replace(base, requests=reqs, params=params, scenarios=sc)
    plan = SAAGreedy().plan(free)
    qkd, km = on_demand_load(free, plan.routes)
    caps: list[list[int | None]] = []
    for load in (qkd, km):
        per_link = np.maximum(load[0::2], load[1::2])
        used = per_link > 0
        vals = np.round(cap_share * per_link).astype(int)
        fill = int(np.median(vals[used])) if used.any() else 0
        caps.append([int(v) if u else fill for v, u in zip(vals, used, strict=True)])
    links = tuple(
        replace(link, O_qkd=caps[0][k], O_kml=caps[1][k]) for k, link in enumerate(free.links)
    )
    name = f"{base.name}-rho{rho:g}-cap{cap_share:g}"
    return replace(free, links=links, name=name)


def decorrelated(instance: Instance, seed: int = 0) -> Instance:
    """The instance with each request's scenario column shuffled on its own.

    With equally likely scenarios every marginal stays exactly as it is, and so do the
    caps; only the dependence between the requests' key rates is lost.

    Parameters
    ----------
    instance : Instance
        An instance whose scenarios are equally likely and list no link states.
    seed : int
        Seed of the shuffles (requests in instance order).

    Returns
    -------
    Instance
        Named ``{name}-indep``.

    Raises
    ------
    ValueError
        If the instance has no scenarios, scenarios of unequal probability or link
        states in its scenarios.

    Examples
    --------
    >>> inst = correlated_instance("nsfnet", 6, 8, seed=2)
    >>> ind = decorrelated(inst)
    >>> [r.demand for r in ind.requests] == [r.demand for r in inst.requests]
    True
    """
    sc = instance.scenarios
    if sc is None or sc.link_key_rates or len(set(sc.probs)) > 1:
        raise ValueError("expected equally likely scenarios of request key rates only")
    rng = check_random_state(seed)
    cols = {}
    for req in instance.requests:
        col = sc.key_rates[req.id]
        cols[req.id] = tuple(col[i] for i in rng.permutation(sc.n).tolist())
    new = Scenarios(sc.probs, cols, {}, {**sc.recipe, "decorrelated": seed})
    return replace(instance, scenarios=new, name=f"{instance.name}-indep")
