"""The instances the conformance checks of :mod:`qkdbench.testing` plan.

Small, seeded or hand-made: the five instances of ``valid_plans``
(:func:`check_instances`), one tiny instance per model extension
(:func:`feature_instance`), a tiny one with all of them (:func:`all_features_instance`),
a random instance with link kinds, key-rate states, providers and optionally fixed
charges (:func:`link_kinds_and_providers_instance`), and a random instance with a
coupled second stage (:func:`coupled_instance`). Tests of the package use them too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..exceptions import InputError
from ..model import (
    CostTable,
    Demand,
    Instance,
    Link,
    Params,
    Provider,
    Request,
    Scenarios,
    Target,
    UnitCosts,
)
from ..topologies import make_instance, sample_requests, waxman_topology
from ..utils.random import check_random_state

__all__ = [
    "check_instances",
    "feature_instance",
    "all_features_instance",
    "link_kinds_and_providers_instance",
    "coupled_instance",
]


def check_instances() -> list[Instance]:
    """The small instances of ``valid_plans``: four topologies and a hand-made one.

    Returns
    -------
    list of Instance
        ``usnet``, ``nsfnet`` and ``cost239`` instances, a 12-node Waxman one and
        ``hand-5``, the same on every call.
    """
    wax = sample_requests(
        waxman_topology(12, seed=3), 6, max_rate=4, seed=4, name="waxman12-r6-k4-s4"
    )
    hand = Instance(
        nodes=(1, 2, 3, 4, 5),
        links=(
            Link(1, 2, 120.0),
            Link(2, 3, 90.0, key_rate_kbps=0.5),
            Link(3, 4, 200.0, W_qkd=9, W_kml=3),
            Link(4, 5, 60.0),
            Link(5, 1, 400.0),
            Link(2, 4, 330.0),
        ),
        requests=(
            Request("a", 1, 4, Demand((0.0, 2.0, 5.0), (0.3, 0.5, 0.2))),
            Request("b", 3, 5, Demand.uniform(3)),
            Request("c", 4, 2, Demand.point(1.5)),
            Request("d", 5, 3, Demand.empirical([0.5, 4.0, 4.0, 1.0])),
        ),
        params=Params(W_qkd=12, W_kml=4, hop_cost=25.0),
        name="hand-5",
    )
    return [
        make_instance("usnet", 8, 5, seed=1),
        make_instance("nsfnet", 6, 3, seed=2),
        make_instance("cost239", 5, 8, seed=3),
        wax,
        hand,
    ]


#: The draws of :func:`link_kinds_and_providers_instance` for link kinds, key-rate states and
#: providers use seed ``10_000 + seed`` (not ``seed``, which the requests use), so they do not
#: repeat the request sample's numbers. (Not ``derive_rng(seed, k)``: that would change every
#: instance of this family, and the tests' seeds were chosen on these.)
_EXTENSION_STREAM = 10_000
#: The fixed-charge draws of :func:`link_kinds_and_providers_instance` use seed
#: ``20_000 + seed``: instances without fixed charges stay what they were.
_FIXED_STREAM = 20_000


def link_kinds_and_providers_instance(
    topology: str | Instance = "nsfnet",
    n_requests: int = 5,
    max_rate: int = 4,
    seed: int = 0,
    *,
    providers: bool = True,
    states: bool = True,
    prices: bool = True,
    n_targets: int = 2,
    capacity: bool = True,
    fixed_charges: bool = False,
) -> Instance:
    """A seeded random instance with link kinds, key-rate states and providers (for checks).

    Parameters
    ----------
    topology : str or Instance
        Loaded as :func:`~qkdbench.topologies.make_instance` does.
    n_requests, max_rate, seed :
        As :func:`~qkdbench.topologies.make_instance`.
    providers : bool
        Every other request (from the first) becomes anycast: ``n_targets``
        distinct random nodes other than its source, providers ``"A"`` and
        ``"B"`` alternately, random service costs; with ``capacity``, provider
        ``"A"`` serves at most half of the anycast requests (rounded down; the
        rest may always go to ``"B"``, unlimited).
    states : bool
        A third of the links (at least one) get a random key rate of two or three
        states (link states).
    prices : bool
        A quarter of the links (at least one) become ``free-space`` links priced
        by ``unit_costs`` (link kinds and prices).
    n_targets : int
        Targets per anycast request (fewer when the topology has fewer other nodes).
    capacity : bool
        Give provider ``"A"`` its capacity; without it no provider is declared.
    fixed_charges : bool
        A relay-site cost ``site`` (random, 1000 to 5000) charges every fiber link, and
        a third of the nodes (at least one) get a random node charge (10,000 to 100,000);
        drawn with seed ``20_000 + seed``, so the other draws do not change.

    Returns
    -------
    Instance
        Named ``{base}-kinds-providers`` (``{base}-kinds-providers-fixed`` with fixed
        charges); the extension draws use seed ``10_000 + seed``.

    Examples
    --------
    >>> inst = link_kinds_and_providers_instance("nsfnet", 6, 3, seed=1, fixed_charges=True)
    >>> sorted(inst.features)
    ['fixed_charges', 'link_prices', 'link_states', 'providers']
    """
    from dataclasses import replace

    base = make_instance(topology, n_requests, max_rate, seed=seed)
    rng = check_random_state(_EXTENSION_STREAM + seed)
    links = list(base.links)
    L = len(links)
    if states:
        for k in rng.choice(L, size=max(1, L // 3), replace=False):
            n = int(rng.integers(2, 4))
            vals = tuple(sorted({float(v) for v in np.round(rng.uniform(0.2, 2.0, n), 2)}))
            draw = rng.dirichlet(np.ones(len(vals)))
            probs = tuple(float(x) for x in draw[:-1]) + (1.0 - float(draw[:-1].sum()),)
            links[k] = replace(links[k], key_rate_kbps=Demand(vals, probs))
    if prices:
        for k in rng.choice(L, size=max(1, L // 4), replace=False):
            r = float(rng.uniform(500, 3000))
            uc = UnitCosts((r, r, 4 * r), (0.5 * r, 0.5 * r, 2 * r))
            links[k] = replace(links[k], kind="free-space", unit_costs=uc)
    reqs = list(base.requests)
    provs: tuple[Provider, ...] = ()
    if providers and reqs:
        n_any = 0
        for f in range(0, len(reqs), 2):
            req = reqs[f]
            others = [n for n in base.nodes if n != req.source]
            pick = rng.choice(len(others), size=min(n_targets, len(others)), replace=False)
            tg = tuple(
                Target(others[int(j)], "AB"[t % 2], float(np.round(rng.uniform(0, 2000))))
                for t, j in enumerate(pick)
            )
            reqs[f] = Request(req.id, req.source, None, req.demand, tg)
            n_any += 1
        if capacity:
            provs = (Provider("A", n_any // 2), Provider("B"))
    costs, node_costs, suffix = base.costs, dict(base.node_fixed_costs), ""
    if fixed_charges:
        frng = check_random_state(_FIXED_STREAM + seed)
        c = base.costs
        costs = CostTable(c.r, c.e, c.o, site=float(np.round(frng.uniform(1000, 5000))))
        nodes = list(base.nodes)
        for j in frng.choice(len(nodes), size=max(1, len(nodes) // 3), replace=False):
            node_costs[nodes[int(j)]] = float(np.round(frng.uniform(10_000, 100_000)))
        suffix = "-fixed"
    return replace(
        base,
        links=tuple(links),
        requests=tuple(reqs),
        providers=provs,
        costs=costs,
        node_fixed_costs=node_costs,
        name=f"{base.name}-kinds-providers{suffix}",
    )


def all_features_instance() -> Instance:
    """A tiny hand-made instance with every extension, its provider capacities tight.

    Five nodes, six links: a site cost and two node charges (fixed charges), a
    free-space link priced by ``unit_costs``, a link with two key-rate states, and
    four requests, three with targets. Provider ``"A"`` serves at most 2 and
    ``"B"`` at most 1; request ``"d"`` can only use ``"A"``, so of ``"a"`` and
    ``"c"`` exactly one may take ``"A"``: once one has, ``"A"`` still has room
    but the other must take ``"B"``. Reservation capacities (12 QKD, 4 KM
    wavelengths per arc) are below the largest demand's needs.

    Returns
    -------
    Instance
        Named ``tiny-all-features``.

    Examples
    --------
    >>> inst = all_features_instance()
    >>> sorted(inst.features), inst.provider_capacity
    (['fixed_charges', 'link_prices', 'link_states', 'providers'], {'A': 2, 'B': 1})
    """
    links = (
        Link(1, 2, 120.0),
        Link(2, 3, 90.0, key_rate_kbps=Demand((0.25, 1.0), (0.3, 0.7))),
        Link(
            1,
            3,
            250.0,
            kind="free-space",
            unit_costs=UnitCosts((800.0, 800.0, 3000.0), (400.0, 400.0, 1500.0)),
        ),
        Link(3, 4, 60.0),
        Link(2, 5, 100.0),
        Link(4, 5, 170.0),
    )
    reqs = (
        Request(
            "a",
            1,
            None,
            Demand((0.0, 2.0, 5.0), (0.4, 0.4, 0.2)),
            (Target(3, "A", 100.0), Target(5, "B", 200.0)),
        ),
        Request("b", 2, 4, Demand.uniform(2)),
        Request("c", 4, None, Demand.point(1.0), (Target(3, "A", 0.0), Target(1, "B", 50.0))),
        Request("d", 5, None, Demand.uniform(3), (Target(3, "A", 20.0),)),
    )
    return Instance(
        (1, 2, 3, 4, 5),
        links,
        reqs,
        Params(W_qkd=12, W_kml=4, hop_cost=30.0),
        CostTable(site=300.0),
        name="tiny-all-features",
        node_fixed_costs={3: 1000.0, 5: 700.0},
        providers=(Provider("A", 2), Provider("B", 1)),
    )


def feature_instance(feature: str) -> Instance:
    """A tiny hand-made instance that uses exactly one extension (``FEATURES``).

    Three nodes in a triangle plus a fourth, three requests. ``fixed_charges``:
    a site cost; ``link_prices``: one free-space link priced by ``unit_costs``;
    ``link_states``: one link with two key-rate states; ``providers``: two
    anycast requests and provider ``"A"`` of capacity 1; ``coupled``: three joint
    scenarios in which the demands rise together, and 6 QKD and 2 KM wavelengths on
    demand per arc.

    Parameters
    ----------
    feature : str
        One of :data:`~qkdbench.utils.registry.FEATURES`.

    Returns
    -------
    Instance
        Named ``tiny-{feature}``.

    Raises
    ------
    ValueError
        For another name.
    """
    links = [Link(1, 2, 120.0), Link(2, 3, 90.0), Link(1, 3, 250.0), Link(3, 4, 60.0)]
    costs = CostTable()
    reqs = [
        Request("a", 1, 3, Demand((0.0, 2.0), (0.4, 0.6))),
        Request("b", 2, 4, Demand.uniform(2)),
        Request("c", 4, 1, Demand.point(1.0)),
    ]
    provs: tuple[Provider, ...] = ()
    params = Params(W_qkd=12, W_kml=4)
    scenarios = None
    if feature == "coupled":
        scenarios = Scenarios(
            (0.5, 0.3, 0.2), {"a": (0.0, 2.0, 2.0), "b": (0.0, 1.0, 2.0), "c": (1.0, 1.0, 1.0)}
        )
        reqs = [Request(r.id, r.source, r.target, scenarios.marginal(r.id)) for r in reqs]
        params = Params(W_qkd=12, W_kml=4, O_qkd=6, O_kml=2)
    elif feature == "fixed_charges":
        costs = CostTable(site=500.0)
    elif feature == "link_prices":
        links[2] = Link(
            1,
            3,
            250.0,
            kind="free-space",
            unit_costs=UnitCosts((800.0, 800.0, 3000.0), (400.0, 400.0, 1500.0)),
        )
    elif feature == "link_states":
        links[1] = Link(2, 3, 90.0, key_rate_kbps=Demand((0.25, 1.0), (0.3, 0.7)))
    elif feature == "providers":
        reqs[0] = Request(
            "a", 1, None, reqs[0].demand, (Target(3, "A", 100.0), Target(4, "B", 300.0))
        )
        reqs[2] = Request("c", 4, None, reqs[2].demand, (Target(3, "A", 0.0), Target(2, "B", 50.0)))
        provs = (Provider("A", 1), Provider("B"))
    else:
        raise InputError(f"unknown feature {feature!r}")
    return Instance(
        (1, 2, 3, 4),
        tuple(links),
        tuple(reqs),
        params,
        costs,
        name=f"tiny-{feature}",
        providers=provs,
        scenarios=scenarios,
    )


def coupled_instance(
    seed: int = 0,
    n_requests: int = 3,
    n_scenarios: int = 3,
    link_states: bool = False,
) -> Instance:
    """A seeded random tiny instance with a coupled second stage (for checks).

    Five nodes, six links; joint scenarios of key rates in ``{0, ..., 3}`` kbps with a
    common factor, on-demand caps from 0 to 6 on some links and in ``params``, and a
    random shortfall factor.

    Parameters
    ----------
    seed : int
        Seed of every random choice.
    n_requests, n_scenarios : int
        Requests and joint scenarios.
    link_states : bool
        Whether one link's key rate has two states, listed in the scenarios.

    Returns
    -------
    Instance
        Named ``coupled-{seed}``; its features include ``coupled``.

    Examples
    --------
    >>> inst = coupled_instance(1)
    >>> "coupled" in inst.features, inst.scenarios.n
    (True, 3)
    """
    rng = check_random_state(seed)
    ends = [(1, 2), (2, 3), (3, 4), (4, 5), (1, 5), (2, 4)]
    links = []
    for k, (u, v) in enumerate(ends):
        o_qkd = int(rng.integers(0, 7)) if rng.random() < 0.5 else None
        o_kml = int(rng.integers(0, 3)) if rng.random() < 0.3 else None
        rate: float | Demand | None = None
        if link_states and k == 1:
            rate = Demand((0.5, 1.0), (0.5, 0.5))
        links.append(
            Link(u, v, float(rng.integers(60, 400)), key_rate_kbps=rate, O_qkd=o_qkd, O_kml=o_kml)
        )
    base = rng.integers(0, 3, size=n_scenarios)  # the common factor of every demand
    probs = rng.dirichlet(np.ones(n_scenarios))
    probs = probs / probs.sum()
    rates = {
        f"f{i}": tuple(
            float(min(3, b + x)) for b, x in zip(base, rng.integers(0, 2, n_scenarios), strict=True)
        )
        for i in range(n_requests)
    }
    link_rates = {}
    if link_states:
        col = [0.5, 1.0] + [float(rng.choice([0.5, 1.0])) for _ in range(n_scenarios - 2)]
        link_rates = {1: tuple(col[:n_scenarios])}
    sc = Scenarios(tuple(float(p) for p in probs), rates, link_rates)
    if link_states:
        links[1] = replace(links[1], key_rate_kbps=sc.link_marginal(1))
    nodes = (1, 2, 3, 4, 5)
    reqs = []
    for i in range(n_requests):
        s, t = rng.choice(nodes, size=2, replace=False)
        reqs.append(Request(f"f{i}", int(s), int(t), sc.marginal(f"f{i}")))
    params = Params(
        W_qkd=int(rng.integers(3, 12)),
        W_kml=int(rng.integers(1, 4)),
        O_qkd=int(rng.integers(0, 7)),
        O_kml=None if rng.random() < 0.5 else int(rng.integers(0, 3)),
        shortfall_factor=float(rng.uniform(1.0, 4.0)),
    )
    return Instance(nodes, tuple(links), tuple(reqs), params, name=f"coupled-{seed}", scenarios=sc)
