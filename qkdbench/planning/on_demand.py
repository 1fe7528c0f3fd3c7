"""On-demand caps relative to the on-demand load a planner expects, and coupled instances.

A finite on-demand cap ``O_qkd``, ``O_kml`` (``docs/model.md``, "Coupled second stage")
is set here relative to the *expected on-demand load* of each arc: the on-demand
wavelengths that the plan a planner would make without the cap expects to buy there.

The expected on-demand load (:func:`expected_on_demand`)
    Every request is routed on its shortest path by length
    (:func:`~qkdbench.topologies.design.shortest_route_arcs`: CO-QBN's route; an anycast
    request to its nearest target) and reserves, on every arc of it, its newsvendor
    quantities (:func:`~qkdbench.evaluation.newsvendor_reservations`: the optimal
    reservation of the request alone on the arc with unlimited on-demand wavelengths
    and the reservation capacity aside; with Table I the 2/3 quantile of its QKD need).
    The arc's load is the sum over those requests of the expected wavelengths beyond
    the reservation, ``E[(3 P_fa - y_fa)^+]`` QKD and ``E[(P_fa - z_fa)^+]`` KM, under the
    marginals: each request's ``demand`` and each link's key-rate states, as the
    evaluator of an instance without caps prices them. It is what the separable
    optimum on those routes buys on demand, in expectation.
The caps (:func:`on_demand_caps`)
    With factor ``X``, link ``k`` gets ``O_qkd = ceil(X L_qkd)`` and ``O_kml = ceil(X
    L_kml)`` (ceilings with the model's ``1e-9`` tolerance), ``L`` the larger load of
    its two arcs. ``X = 1`` lets an arc buy on demand, in every scenario, what the
    uncapped plan buys on average: the cap binds in the scenarios where demand runs
    high, more often the more the demands move together. ``X = 0`` is no on-demand
    wavelength at all (whatever is not reserved falls short); an arc no shortest path
    uses gets 0 for any ``X`` (a planner that routes over it must reserve what it
    needs there). No cap (``None`` in :func:`scenario_instance`) is unlimited.

Why this load and not the mean need ``E[3 P]`` of the requests on the arc: reserving
is cheaper than buying (Table I prices on demand at four times the reservation), so a
planner reserves most of the need and buys only the tail; a cap set against the whole
need would not bind for any sensible plan, while one set against the tail a planner
expects to buy is what an operator sizing on-demand capacity would provision.

:func:`scenario_instance` is the one place an instance gets its joint scenarios
(:func:`~qkdbench.topologies.joint_scenarios`) and caps together: ``qkdbench instance
--scenarios N --correlation RHO --on-demand-cap X`` and the library's recipes call it.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> inst = scenario_instance(make_instance("nsfnet", 4, 3, seed=1), 10, correlation=0.8,
...                          seed=1, on_demand_cap=1.0)
>>> inst.is_coupled, inst.scenarios.recipe["on_demand_cap"]
(True, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..evaluation import newsvendor_reservations
from ..evaluation.pricing import support_table
from ..exceptions import InputError
from ..model import (
    CEIL_TOL,
    KML_WAVELENGTHS_PER_LINK,
    QKD_WAVELENGTHS_PER_LINK,
    Instance,
    check_number,
)
from ..topologies.design import shortest_route_arcs
from ..topologies.scenarios import joint_scenarios

__all__ = ["uncapped", "expected_on_demand", "on_demand_caps", "scenario_instance"]


def uncapped(instance: Instance) -> Instance:
    """The instance without joint scenarios and on-demand caps: its marginals only.

    Parameters
    ----------
    instance : Instance
        Its requests' ``demand`` and links' ``key_rate_kbps`` are kept (with joint
        scenarios they are the scenarios' marginals).

    Returns
    -------
    Instance
        ``scenarios`` dropped, every ``O_qkd``, ``O_kml`` (links and ``params``) cleared;
        the rest unchanged. Never coupled: the evaluator prices it by (request, arc).

    Examples
    --------
    >>> from qkdbench.testing.instances import coupled_instance
    >>> uncapped(coupled_instance(1)).is_coupled
    False
    """
    return replace(
        instance,
        scenarios=None,
        params=replace(instance.params, O_qkd=None, O_kml=None),
        links=tuple(replace(ln, O_qkd=None, O_kml=None) for ln in instance.links),
    )


def expected_on_demand(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """The expected on-demand load of every arc (see the module notes).

    Parameters
    ----------
    instance : Instance
        Priced by its marginals (:func:`uncapped`); its caps and scenarios play no part.

    Returns
    -------
    load_qkd, load_kml : ndarray (A,) of float
        Expected QKD and KM wavelengths bought on demand per arc when every request takes
        its shortest path with its newsvendor reservations.

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Request
    >>> inst = Instance((1, 2), (Link(1, 2, 200.0),),
    ...                 (Request("f0", 1, 2, Demand((0.0, 1.0, 2.0), (0.2, 0.5, 0.3))),))
    >>> qkd, kml = expected_on_demand(inst)  # reserves 3 QKD and 1 KM wavelength
    >>> qkd.round(9).tolist(), kml.round(9).tolist()
    ([0.9, 0.0], [0.3, 0.0])
    """
    base = uncapped(instance)
    n_arcs = 2 * len(base.links)
    load_y = np.zeros(n_arcs)
    load_z = np.zeros(n_arcs)
    routes = shortest_route_arcs(base)
    req = np.array([f for f, arcs in enumerate(routes) for _ in arcs], dtype=np.int64)
    arc = np.array([a for arcs in routes for a in arcs], dtype=np.int64)
    if arc.size == 0:
        return load_y, load_z
    y, z = newsvendor_reservations(base, req, arc)
    table = support_table(base)
    for f, a, yr, zr in zip(req.tolist(), arc.tolist(), y.tolist(), z.tolist(), strict=True):
        links, prob = table.link_counts(int(table.arc_class[a]), f)
        need = links.astype(float)
        load_y[a] += float(prob @ np.maximum(0.0, QKD_WAVELENGTHS_PER_LINK * need - yr))
        load_z[a] += float(prob @ np.maximum(0.0, KML_WAVELENGTHS_PER_LINK * need - zr))
    return load_y, load_z


def _cap(load: float) -> int:
    return max(0, math.ceil(load - CEIL_TOL))


def on_demand_caps(
    instance: Instance, factor: float, *, shortfall_factor: float | None = None
) -> Instance:
    """Set ``O_qkd``, ``O_kml`` on every link to ``factor`` times its expected on-demand load.

    Parameters
    ----------
    instance : Instance
        With joint scenarios (a finite cap needs them: ``docs/model.md``).
    factor : float
        ``X >= 0``: ``O = ceil(X L)`` per link with ``L`` the larger
        :func:`expected_on_demand` load of its two arcs; ``0`` allows no on-demand
        wavelength at all.
    shortfall_factor : float, optional
        ``params.shortfall_factor`` (``phi >= 1``); default: the instance's.

    Returns
    -------
    Instance
        Every link with its own caps (``params`` caps cleared), the cap factor (and
        shortfall factor, when given) added to ``scenarios.recipe`` as
        ``on_demand_cap`` (``shortfall_factor``), named ``-oc{X:g}`` (``-phi{phi:g}``)
        after the instance's name.

    Raises
    ------
    InputError
        If ``factor`` is not a finite number >= 0 (place ``on_demand_cap``), the
        instance has no joint scenarios (``on_demand_cap``), ``shortfall_factor`` is
        below 1 (``shortfall_factor``), or an arc with a cap would use a reserved
        wavelength at a higher price than one bought on demand (the model's rule).

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Request, Scenarios
    >>> sc = Scenarios((0.2, 0.5, 0.3), {"f0": (0.0, 1.0, 2.0)})
    >>> inst = Instance((1, 2), (Link(1, 2, 200.0),),
    ...                 (Request("f0", 1, 2, sc.marginal("f0")),), scenarios=sc)
    >>> capped = on_demand_caps(inst, 2.0)  # loads 0.9 QKD and 0.3 KM wavelengths
    >>> capped.links[0].O_qkd, capped.links[0].O_kml
    (2, 1)
    """
    x = check_number(factor, "on_demand_cap", nonneg=True)
    if instance.scenarios is None:
        raise InputError(
            "an on-demand cap needs joint scenarios (the coupled second stage is defined by them)",
            "on_demand_cap",
        )
    params = replace(instance.params, O_qkd=None, O_kml=None)
    recipe: dict[str, Any] = {**instance.scenarios.recipe, "on_demand_cap": x}
    name = f"{instance.name}-oc{x:g}"
    if shortfall_factor is not None:
        phi = check_number(shortfall_factor, "shortfall_factor")
        if phi < 1:
            raise InputError(f"must be at least 1, got {shortfall_factor!r}", "shortfall_factor")
        params = replace(params, shortfall_factor=phi)
        recipe["shortfall_factor"] = phi
        name += f"-phi{phi:g}"
    load_y, load_z = expected_on_demand(instance)
    links = tuple(
        replace(
            ln,
            O_qkd=_cap(x * max(load_y[2 * k], load_y[2 * k + 1])),
            O_kml=_cap(x * max(load_z[2 * k], load_z[2 * k + 1])),
        )
        for k, ln in enumerate(instance.links)
    )
    return replace(
        instance,
        params=params,
        links=links,
        scenarios=replace(instance.scenarios, recipe=recipe),
        name=name,
    )


def scenario_instance(
    instance: Instance,
    n_scenarios: int,
    *,
    correlation: float,
    seed: int,
    on_demand_cap: float | None = None,
    shortfall_factor: float | None = None,
    link_correlation: float = 0.0,
    name: str | None = None,
) -> Instance:
    """Joint scenarios (:func:`~qkdbench.topologies.joint_scenarios`), then the caps.

    Parameters
    ----------
    instance : Instance
        The requests (and random links) whose distributions are the marginals.
    n_scenarios : int
        ``N >= 1``.
    correlation : float
        Latent correlation of the requests' key rates, in ``[0, 1]``.
    seed : int
        Seed of the scenarios.
    on_demand_cap : float, optional
        ``X >= 0`` (:func:`on_demand_caps`); ``None``: unlimited on-demand wavelengths.
    shortfall_factor : float, optional
        ``phi >= 1``; only with ``on_demand_cap``.
    link_correlation : float, optional
        Latent correlation of the random links' states, in ``[0, 1]`` (default 0).
    name : str, optional
        Default: the names :func:`~qkdbench.topologies.joint_scenarios` and
        :func:`on_demand_caps` give.

    Returns
    -------
    Instance
        Coupled (``Instance.is_coupled``) when a cap is given or a link is random.

    Raises
    ------
    InputError
        For a value out of range (the place names the parameter), or a
        ``shortfall_factor`` without ``on_demand_cap`` (nothing falls short without a cap).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = scenario_instance(make_instance("nsfnet", 3, 2, seed=1), 4, correlation=0.5,
    ...                          seed=1, on_demand_cap=0.5, shortfall_factor=4)
    >>> inst.name, inst.params.shortfall_factor
    ('nsfnet-r3-k2-s1-sc4-rho0.5-oc0.5-phi4', 4.0)
    """
    if shortfall_factor is not None and on_demand_cap is None:
        raise InputError(
            "a shortfall factor needs an on-demand cap (without a cap nothing falls short)",
            "shortfall_factor",
        )
    out = joint_scenarios(
        instance,
        n_scenarios,
        correlation=correlation,
        seed=seed,
        link_correlation=link_correlation,
    )
    if on_demand_cap is not None:
        out = on_demand_caps(out, on_demand_cap, shortfall_factor=shortfall_factor)
    return out if name is None else replace(out, name=name)
