"""CO-QBN: shortest-path routing with deterministic provisioning (the paper's baseline).

Each request is routed on its shortest path by fiber length. Its QKD links are
provisioned for one demand level (default: the expected key rate, i.e.
``ceil(E[kappa] / K_D)`` links, ``3`` QKD and ``1`` KM wavelength per link on
every arc), reserved first-fit within each arc's remaining reservation
capacity, requests in instance order. What does not fit is left to on-demand.

Fixed charges are ignored when routing, as in the paper: CO-QBN
knows nothing of relay sites or key servers. The evaluator charges every link
and node its plan uses, so its score on a fixed-charge instance is honest.

Random link key rates
------------------------------------
CO-QBN is a deterministic planner: it replaces every random quantity by one
value. On a link whose key rate is a distribution of states it provisions
``ceil(E[kappa] / K)`` QKD links with ``K`` the link's **mean** key rate
(``arc_table(...).key_rate_kbps``). This is chosen over ``ceil(E[P])``
(the expected number of links over demand and link state) because it keeps
CO-QBN's rule "provision for the expected value" the same for both random
quantities (the expected demand over the expected link), needs no
distribution at all, as a planner that ignores uncertainty would, and
coincides with the paper's rule when the key rate is fixed. (So the
planner under-provisions a link whose rate is often low: the stochastic
planners' advantage there is real, not an artefact.) Links priced by
``unit_costs`` change nothing in the rule; the evaluator prices them.

Providers
------------------------
For a request with targets, CO-QBN takes the target whose shortest path (by
fiber length, as its routes) is shortest among the targets whose provider
still has capacity; ties go to the smaller service cost, then to the earlier
target. Requests are assigned first fit in instance order. If first fit gets
stuck (a request whose every provider is full, although the instance's
validation guarantees that some assignment serves everyone), the providers of
all anycast requests are re-assigned by a min-cost flow
(:func:`~qkdbench.planning.providers.assign_providers`, networkx) in which a
request's cost for a provider is the rank of that provider's best target in
the request's first-fit preference order, and the first-fit choices are kept
where the flow allows (cost 0 for the provider first fit gave a request).
Each request then takes its preferred target of the provider it was given.
Targets are chosen before any reservation, so routes and reservations then
follow the paper's rule unchanged.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.pricing import arc_table, qkd_links_needed
from ..exceptions import InputError
from ..model import (
    KML_WAVELENGTHS_PER_LINK,
    QKD_WAVELENGTHS_PER_LINK,
    Demand,
    Instance,
    Plan,
    Route,
)
from ..planning.paths import shortest_path
from ..planning.providers import choose_targets
from ..utils.registry import check_supports, register_planner
from ..utils.timing import Stopwatch

__all__ = ["CoQBN", "provisioning_level", "choose_targets"]


def provisioning_level(demand: Demand, level: str | float) -> float:
    """Key rate (kbps) a deterministic planner provisions for.

    Parameters
    ----------
    demand : Demand
    level : "mean", "max" or float in [0, 1]
        The expected key rate, the largest, or that quantile.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a string other than ``"mean"`` or ``"max"`` (and, from
        :meth:`~qkdbench.model.Demand.quantile`, a level outside ``[0, 1]``).
    """
    if level == "mean":
        return demand.mean
    if level == "max":
        return demand.max
    if isinstance(level, str):
        raise InputError(f"provisioning level must be 'mean', 'max' or a quantile, got {level!r}")
    return demand.quantile(float(level))


@register_planner("coqbn", origin="built-in")
class CoQBN:
    """Shortest path, reservations for the expected key rate, first-fit (paper's baseline).

    Parameters
    ----------
    level : "mean", "max" or float
        Demand level provisioned for (see :func:`provisioning_level`).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("usnet", 3, 10, seed=1)
    >>> plan = CoQBN().plan(inst)
    >>> plan.routes[0].reserve_qkd[0]
    15
    """

    name = "coqbn"
    deterministic = True
    #: provisioning reads each request's marginal and each arc's mean key rate, so a
    #: coupled second stage changes nothing in the plan; the evaluator scores it exactly
    supports = frozenset({"fixed_charges", "link_prices", "link_states", "providers", "coupled"})

    def __init__(self, level: str | float = "mean") -> None:
        self.level = level

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Plan ``instance`` (deterministic: ``seed`` and ``time_limit`` change nothing).

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Ignored.
        time_limit : float, optional
            Ignored (only ``runtime_s`` is measured).

        Returns
        -------
        Plan
            Status ``heuristic``; ``stats`` holds ``runtime_s``, ``level`` and, for an
            instance with targets, ``provider_repairs``.

        Raises
        ------
        InputError
            If the instance uses an extension the planner does not handle
            (:func:`~qkdbench.utils.registry.check_supports`).
        """
        check_supports(self, instance)
        clock = Stopwatch(time_limit)
        arcs = arc_table(instance)
        free_y = arcs.W_qkd.astype(np.int64).copy()
        free_z = arcs.W_kml.astype(np.int64).copy()
        targets, repaired = choose_targets(instance)
        routes = []
        for f, req in enumerate(instance.requests):
            sink = req.sinks[targets[f]]
            path = shortest_path(instance, req.source, sink.node)
            ids = instance.path_arcs(path)
            kappa = provisioning_level(req.demand, self.level)
            ys, zs = [], []
            for a in ids:
                n_links = int(qkd_links_needed(kappa, arcs.key_rate_kbps[a]))
                y = min(QKD_WAVELENGTHS_PER_LINK * n_links, int(free_y[a]))
                z = min(KML_WAVELENGTHS_PER_LINK * n_links, int(free_z[a]))
                free_y[a] -= y
                free_z[a] -= z
                ys.append(y)
                zs.append(z)
            routes.append(Route(req.id, tuple(path), tuple(ys), tuple(zs), sink.provider))
        stats = {"runtime_s": clock.elapsed, "status": "heuristic", "level": self.level}
        if "providers" in instance.features:
            stats["provider_repairs"] = repaired
        return Plan(instance.name, self.name, tuple(routes), stats)
