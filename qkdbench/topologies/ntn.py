"""TN-NTN instances: a terrestrial network plus ground stations, satellite and free-space
links with weather-dependent key rates, and providers whose sites serve anycast requests.

One generator, kept in one module: its four steps share the defaults documented here
(docstrings are near half its lines).

:func:`ntn_instance` turns any topology qkdbench loads into a terrestrial /
non-terrestrial (TN-NTN) instance in four steps, each documented below:

1. **Requests.** :func:`~qkdbench.topologies.sample_requests` draws the requests on the
   terrestrial topology (before anything is added), so they join terrestrial nodes
   only and, for one seed, are the very requests of the plain instance.
2. **Ground stations** (:func:`ground_station_sites`, no randomness). ``G`` nodes are
   chosen by farthest-point selection on shortest-path fiber distance: first the two
   ends of the longest shortest path, then, one at a time, the node whose distance to
   the nearest chosen node is largest (ties: the earlier node in the topology's node
   order), all within the largest connected component. Each chosen node gets a new
   node, its optical ground station, joined to it by a fiber *access* link of
   ``access_km`` (default 10 km: stations stand outside the city, away from its light).
   New node ids continue the integer ids (``max + 1, ...``) or, for string ids, are
   ``"GS-<node>"``; their display name is ``"GS <node name>"``.
3. **Non-terrestrial links** (no randomness). The pairs of ground stations are ranked
   by the shortest-path fiber distance between their nodes, longest first; the first
   ``satellite_links`` pairs get a link of kind ``satellite``, the next
   ``free_space_links`` pairs one of kind ``free-space``. A link's ``length_km`` is that
   fiber distance (the ground distance it bridges; it does not price the link). Each
   link carries ``unit_costs`` (prices per wavelength) and a ``key_rate_kbps``
   distribution over the weather states (values > 0).
4. **Providers** (:func:`add_providers`, seeded). ``P`` providers ``"A", "B", ...``
   each get ``sites`` distinct terrestrial nodes (a seeded draw per provider; two
   providers may share a node). Each site's service cost is drawn uniformly in
   ``[(1 - spread) C, (1 + spread) C]`` and rounded to a whole number. A seeded
   ``anycast`` fraction of the requests (``fraction * N`` rounded half up) become
   anycast: their targets are every provider site other than the request's source,
   in provider then site order; the rest stay ordinary requests. Every provider is
   listed with its capacity (``None``: unlimited).

The random steps draw from :func:`~qkdbench.utils.random.derive_rng` ``(seed, k)``
(``numpy.random.default_rng([seed, k])``) with a fixed ``k`` per step, so the same
seed gives the same instance.

Defaults and where they come from
---------------------------------
Key rates (kbps, per weather state; :data:`SATELLITE_RATES`, :data:`FREE_SPACE_RATES`):

- *Satellite, clear night*: 1.0 kbps. The low-Earth-orbit satellite Micius reported
  decoy-state BB84 secret keys from space to ground at kilohertz rates over slant
  ranges up to 1,200 km (Liao et al., "Satellite-to-ground quantum key distribution",
  Nature 549, 43-47, 2017), at night and under clear sky; later passes with an upgraded
  ground segment reached tens of kbps (Chen et al., Nature 589, 214-219, 2021), so
  1 kbps is the conservative order of magnitude. It equals the model's default fiber
  key rate per QKD link, so a clear satellite link needs as many QKD links per kbps
  as one fiber span.
- *Satellite, haze*: 0.1 kbps. Haze and thin cirrus add several dB up to about 10 dB
  of atmospheric attenuation in the near infrared; well below its loss cutoff the
  secret-key rate of decoy-state BB84 falls about in proportion to the channel
  transmittance, hence a tenth of the clear rate.
- *Satellite, cloud*: 0.01 kbps. Thick cloud blocks an optical link (tens of dB); no
  key flows. The model needs a rate > 0, so a token 1% of the clear rate stands for
  "close to nothing": a route over the link in that state pays for about a hundred
  times the QKD links, on demand.
- *Free-space, clear*: 0.5 kbps; haze 0.05; cloud (fog) 0.005. A 144-km horizontal
  free-space link between two Canary Islands gave decoy-state BB84 keys at 12.8 bit/s
  through about 35 dB of loss (Schmitt-Manderbach et al., Phys. Rev. Lett. 98, 010504,
  2007); a link relayed by a high-altitude platform or drone crosses far less dense
  air, so a few hundred bit/s is the planning assumption, with the same
  tenth / hundredth steps for haze and fog as the satellite link.

Weather probabilities (:data:`DEFAULT_WEATHER`): clear 0.89, haze 0.1, cloud 0.01, the
same for every non-terrestrial link, independently of each other link (the model's
assumption). Satellite cloud climatologies (MODIS, ISCCP) put about two thirds of the
globe under cloud at any time; optical ground stations are built at observatory-grade
sites where a night is cloudy perhaps one time in five, and a link's end is served by a
handful of such stations some hundreds of km apart (site diversity): the link is down
only when every station of an end is clouded, about ``0.2^3 ~ 0.01`` for three
stations with independent weather, and hazy when the best clear one is not available,
about 0.1. A single-station end is nearer ``cloud = haze = 0.2``; ``weather`` sets it.

What the weather does: a route over a non-terrestrial link pays, in the cloud state,
for about a hundred times the QKD links it needs in clear weather, bought on demand. At
cloud 0.2 (haze 0.2) that makes a satellite link dearer than the fiber across USNET
coast to coast (about 21 million against 4.6 million for one request of uniform 0..10
kbps with newsvendor reservations), although its *mean* key rate is 0.62 kbps; at the
defaults the satellite route is the cheaper, and optimal plans on USNET use the
satellite links for some requests (CO-QBN, which routes by length, never does). A
planner that prices a link at its mean key rate is misled here.

Prices per wavelength (:data:`SATELLITE_PRICES`, :data:`FREE_SPACE_PRICES`; phases
reservation, reserved use, on demand). No market price exists for a QKD wavelength on a
satellite; the defaults are set against the fiber table (Table I), where one QKD
wavelength of a fiber link of ``e`` km and ``m`` MDI segments costs ``1750 m + e`` to
reserve (about 13,250 for 1,000 km) and one KM wavelength about
``1200 (m + 1) + 150 (m - 1) + 300 (2m - 1) + e``:

- satellite: QKD 15,000 / 15,000 / 60,000 and KM 5,000 / 5,000 / 12,500, so a clear
  satellite link costs about as much as 1,000 km of fiber whatever the distance;
- free-space: QKD 4,000 / 4,000 / 16,000 and KM 2,000 / 2,000 / 5,000.

On demand is 4 times the reservation for QKD wavelengths (transmitters, receivers and
channel are 4 times dearer on demand in Table I) and 2.5 times for KM wavelengths (key
managers are 2.5 times dearer).

Providers: 2 providers with 3 sites each, unlimited capacity, half the requests
anycast, service cost 100,000 per served request with spread 0.5. That is about the
reservation cost of a mean request of ``K = 10`` (5 kbps: 15 QKD and 5 KM wavelengths)
over some 300 km of fiber (two MDI segments: 3,800 per QKD and 4,950 per KM wavelength,
81,750 in all), so a dearer site is worth it only when it saves about one USNET hop and
the choice of a site is a real trade-off between its price and the routing.

Fixed charges (every knob defaults to 0, so the instances above are
unchanged). In the TN-NTN setting the real economies of scale are one-off costs that do
not grow with the keys carried:

- ``station_cost``: node ``fixed_cost`` of every ground-station node, paid once if any
  route passes the station (telescope, tracking mount, adaptive optics, dome, site).
- ``satellite_fixed_cost``, ``free_space_fixed_cost``: link ``fixed_cost`` of every
  satellite / free-space link, paid once if any route uses it (an access or pass fee
  for the satellite's time; a high-altitude platform or drone relay and its operation).
- ``site`` (:func:`ntn_instance`): the cost-table entry of the fixed charges, so every
  *fiber* link, the stations' access links included, costs ``site (2m - 1)`` for its
  ``m - 1`` trusted and ``m`` untrusted relay sites (non-terrestrial links have no
  derived charge); ``tightness`` sets the reservation capacities as in
  :func:`~qkdbench.topologies.design.tight_capacities`.

Magnitudes (:data:`REFERENCE_FIXED_CHARGES`, used by most of the library's fixed-charge
``ntn`` instances; planning assumptions, not prices). No price list for these exists;
they are set against the per-wavelength prices of this module so that a charge is of
the order of the variable cost of the traffic that would share it, which is where
sharing decides the plan:

- a ground station, 1,000,000: the reservation of some 67 satellite QKD wavelengths
  (15,000 each), i.e. of the satellite link for four to five mean requests of
  ``K = 10`` (15 QKD wavelengths each). For scale: an optical ground station
  (telescope of tens of cm to a metre, mount, adaptive optics, dome) costs of the
  order of millions of euros, tens to hundreds of times a commercial fiber QKD
  transmitter/receiver pair; by that device ratio alone it would be some 10^5 to
  10^6 in Table I units (a pair 3,750 there), and 1,000,000 is the top of that
  range, for the site and its operation besides the optics. At 2,000,000 (with 4
  stations and the default weather, or even cloud 0.01) no optimal plan measured
  opened a station: the non-terrestrial layer then only adds dead options;
- a satellite link, 500,000 (half a station: the pass fee is shared by the two
  stations it joins); a free-space link, 200,000 (a platform relay is cheaper than
  satellite time);
- a fiber relay site, 100,000 (the library uses 100,000 to 200,000): a trusted or
  untrusted relay hut (shelter, power, security) is far dearer than the devices in it
  (Table I: 1,500 to 2,250 per device); at 100,000 a 500-km USNET link (``m = 4``,
  7 sites) costs 700,000, about two thirds of a ground station.

Examples
--------
>>> inst = ntn_instance("usnet", 10, max_rate=4, seed=1)
>>> sorted(inst.features)
['link_prices', 'link_states', 'providers']
>>> [ln.kind for ln in inst.links if ln.kind != "fiber"]
['satellite', 'satellite', 'free-space']
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
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
    Target,
    UnitCosts,
)
from ..utils.random import derive_rng
from .design import tight_capacities
from .requests import sample_requests

__all__ = [
    "NTN_SUFFIX",
    "NTN_EXAMPLES",
    "WEATHER_STATES",
    "DEFAULT_WEATHER",
    "SATELLITE_RATES",
    "FREE_SPACE_RATES",
    "SATELLITE_PRICES",
    "FREE_SPACE_PRICES",
    "REFERENCE_FIXED_CHARGES",
    "ntn_base",
    "ground_station_sites",
    "ntn_topology",
    "add_providers",
    "ntn_instance",
    "parse_states",
]

#: A topology name with this suffix (``usnet-ntn``) names its TN-NTN instance family.
NTN_SUFFIX = "-ntn"
#: The built-in TN-NTN example (the paper's USNET with the defaults of this module).
NTN_EXAMPLES: tuple[str, ...] = ("usnet-ntn",)
#: Weather states of the defaults.
WEATHER_STATES: tuple[str, ...] = ("clear", "haze", "cloud")
#: Probability of each weather state on a non-terrestrial link.
DEFAULT_WEATHER: dict[str, float] = {"clear": 0.89, "haze": 0.1, "cloud": 0.01}
#: Secret-key rate (kbps) of a satellite link per weather state.
SATELLITE_RATES: dict[str, float] = {"clear": 1.0, "haze": 0.1, "cloud": 0.01}
#: Secret-key rate (kbps) of a free-space link per weather state.
FREE_SPACE_RATES: dict[str, float] = {"clear": 0.5, "haze": 0.05, "cloud": 0.005}
#: Prices per wavelength of a satellite link (reservation, reserved use, on demand).
SATELLITE_PRICES = UnitCosts(qkd=(15000.0, 15000.0, 60000.0), km=(5000.0, 5000.0, 12500.0))
#: Prices per wavelength of a free-space link.
FREE_SPACE_PRICES = UnitCosts(qkd=(4000.0, 4000.0, 16000.0), km=(2000.0, 2000.0, 5000.0))

#: Reference fixed charges of the library's fixed-charge ``ntn`` instances (planning
#: assumptions, see the module notes); the generator's defaults are 0.
REFERENCE_FIXED_CHARGES: dict[str, float] = {
    "station_cost": 1000000.0,
    "satellite_fixed_cost": 500000.0,
    "free_space_fixed_cost": 200000.0,
    "site": 100000.0,
}

#: Stream numbers of the seeded steps (``derive_rng(seed, k)``).
_SITES, _COSTS, _ANYCAST = 1, 2, 3


def ntn_base(name: str | os.PathLike) -> str | None:
    """The topology a TN-NTN family name is built on, or ``None`` if it is not one.

    A name ending in ``-ntn`` that is not an existing file names the TN-NTN
    instances of the topology before the suffix.

    Parameters
    ----------
    name : str or os.PathLike
        A topology or TN-NTN family name, or a file.

    Returns
    -------
    str or None

    Examples
    --------
    >>> ntn_base("usnet-ntn"), ntn_base("sndlib/germany50-ntn"), ntn_base("usnet")
    ('usnet', 'sndlib/germany50', None)
    """
    text = os.fspath(name)
    if (
        text.lower().endswith(NTN_SUFFIX)
        and len(text) > len(NTN_SUFFIX)
        and not Path(text).exists()
    ):
        return text[: -len(NTN_SUFFIX)]
    return None


def parse_states(text: str, place: str) -> dict[str, float]:
    """Parse ``"clear=0.6,haze=0.2,cloud=0.2"`` into a dict of numbers.

    Parameters
    ----------
    text : str
        Comma-separated ``name=number`` items.
    place : str
        Named in errors (an option such as ``--weather``).

    Returns
    -------
    dict of str to float
        In the order given.

    Raises
    ------
    InputError
        Naming ``place`` for an item that is not ``name=number`` or a repeated name.

    Examples
    --------
    >>> parse_states("clear=0.7, cloud=0.3", "--weather")
    {'clear': 0.7, 'cloud': 0.3}
    """
    out: dict[str, float] = {}
    for item in (s.strip() for s in str(text).split(",")):
        key, sep, val = item.partition("=")
        key = key.strip()
        try:
            num = float(val) if sep and key else math.nan
        except ValueError:
            num = math.nan
        if not math.isfinite(num):
            raise InputError(f"expected name=number items such as clear=0.6, got {item!r}", place)
        if key in out:
            raise InputError(f"state {key!r} given twice", place)
        out[key] = num
    return out


def _check_count(value: Any, place: str, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise InputError(f"must be an integer >= {least}, got {value!r}", place)
    return int(value)


def _check_real(value: Any, place: str, lo: float = 0.0, hi: float = math.inf) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(float(value))
        or not lo <= float(value) <= hi
    ):
        bound = f"in [{lo:g}, {hi:g}]" if math.isfinite(hi) else f">= {lo:g}"
        raise InputError(f"must be a number {bound}, got {value!r}", place)
    return float(value)


def _states(rates: Mapping[str, float], weather: Mapping[str, float], place: str) -> Demand:
    """The key-rate distribution of a link: the rate of each weather state with its probability."""
    if not isinstance(weather, Mapping) or not weather:
        raise InputError("expected state=probability items", "weather")
    if not isinstance(rates, Mapping) or not rates:
        raise InputError("expected state=rate items", place)
    unknown = sorted(set(weather) - set(rates))
    if unknown:
        raise InputError(
            f"weather state {unknown[0]!r} has no {place.replace('_', ' ')[:-1]} "
            f"(given for {', '.join(rates)})",
            "weather",
        )
    probs = {k: _check_real(p, f"weather.{k}", 0.0, 1.0) for k, p in weather.items()}
    total = math.fsum(probs.values())
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"weather probabilities sum to {total:g}, not 1", "weather")
    vals, ps = [], []
    for k, p in probs.items():
        r = rates[k]
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0:
            raise InputError(f"a key rate must be a number > 0, got {r!r}", f"{place}.{k}")
        if p > 0:
            vals.append(float(r))
            ps.append(p)
    if abs(math.fsum(ps) - 1.0) > 1e-9:  # within the tolerance of Demand: kept as given
        ps = [p / total for p in ps]
        ps[-1] = 1.0 - math.fsum(ps[:-1])
    return Demand(tuple(vals), tuple(ps))


def _distances(topology: Instance) -> tuple[list, dict[Any, dict[Any, float]]]:
    """Nodes of the largest connected component (node order) and their fiber distances."""
    g = nx.Graph()
    g.add_nodes_from(topology.nodes)
    for ln in topology.links:
        w = float(ln.length_km)
        if not g.has_edge(ln.u, ln.v) or g[ln.u][ln.v]["w"] > w:
            g.add_edge(ln.u, ln.v, w=w)
    comp = max(nx.connected_components(g), key=len)
    nodes = [n for n in topology.nodes if n in comp]
    return nodes, {n: nx.single_source_dijkstra_path_length(g, n, weight="w") for n in nodes}


def ground_station_sites(topology: Instance, n: int) -> tuple:
    """The ``n`` nodes that get a ground station: farthest-point selection (see the notes).

    Parameters
    ----------
    topology : Instance
    n : int
        Number of ground stations (at most the largest component's size).

    Returns
    -------
    tuple
        Node ids in the order chosen.

    Raises
    ------
    InputError
        If ``n`` is negative or larger than the largest connected component.

    Examples
    --------
    >>> from qkdbench.topologies import load_topology
    >>> ground_station_sites(load_topology("nsfnet"), 3)
    (1, 11, 6)
    """
    n = _check_count(n, "ground_stations")
    nodes, dist = _distances(topology)
    if n > len(nodes):
        raise InputError(
            f"{n} ground stations asked for but the topology's largest connected "
            f"component has {len(nodes)} nodes",
            "ground_stations",
        )
    if n == 0:
        return ()
    order = {v: i for i, v in enumerate(nodes)}
    if n == 1 or len(nodes) == 1:
        first = max(nodes, key=lambda v: (max(dist[v].values()), -order[v]))
        return (first,)
    u, v = max(
        ((a, b) for a in nodes for b in nodes if order[a] < order[b]),
        key=lambda ab: (dist[ab[0]][ab[1]], -order[ab[0]], -order[ab[1]]),
    )
    chosen = [u, v]
    while len(chosen) < n:
        rest = [w for w in nodes if w not in chosen]
        chosen.append(max(rest, key=lambda w: (min(dist[c][w] for c in chosen), -order[w])))
    return tuple(chosen)


def ntn_topology(
    topology: Instance,
    *,
    ground_stations: int = 4,
    satellite_links: int = 2,
    free_space_links: int = 1,
    access_km: float = 10.0,
    weather: Mapping[str, float] | None = None,
    satellite_rates: Mapping[str, float] | None = None,
    free_space_rates: Mapping[str, float] | None = None,
    satellite_prices: UnitCosts | None = None,
    free_space_prices: UnitCosts | None = None,
    station_cost: float = 0.0,
    satellite_fixed_cost: float = 0.0,
    free_space_fixed_cost: float = 0.0,
    name: str | None = None,
) -> Instance:
    """Add ground stations and non-terrestrial links to a topology (steps 2 and 3).

    The topology's requests, if any, are kept; providers are not touched.

    Parameters
    ----------
    topology : Instance
    ground_stations : int
        Number of ground stations ``G`` (default 4).
    satellite_links, free_space_links : int
        Links of each kind between ground-station pairs (default 2 and 1; together at
        most ``G (G - 1) / 2``).
    access_km : float
        Length of each station's fiber access link (> 0; default 10).
    weather : Mapping, optional
        Probability of each weather state (default :data:`DEFAULT_WEATHER`); a state
        of probability 0 is left out.
    satellite_rates, free_space_rates : Mapping, optional
        Key rate (kbps, > 0) per weather state (defaults :data:`SATELLITE_RATES`,
        :data:`FREE_SPACE_RATES`).
    satellite_prices, free_space_prices : UnitCosts, optional
        Prices per wavelength (defaults :data:`SATELLITE_PRICES`,
        :data:`FREE_SPACE_PRICES`).
    station_cost : float
        Fixed charge (node ``fixed_cost``) of every ground-station node, paid once
        if any route passes the station (>= 0; default 0: none). See the module notes.
    satellite_fixed_cost, free_space_fixed_cost : float
        Fixed charge (link ``fixed_cost``) of every satellite / free-space link,
        paid once if any route uses the link (>= 0; default 0: none).
    name : str, optional
        Default: the topology's name plus ``-ntn``.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        For a parameter out of range, naming it.

    Examples
    --------
    >>> from qkdbench.topologies import load_topology
    >>> t = ntn_topology(load_topology("nsfnet"), ground_stations=3, satellite_links=1,
    ...                  free_space_links=0)
    >>> len(t.nodes), [(ln.u, ln.v, ln.kind) for ln in t.links[-1:]]
    (17, [(15, 16, 'satellite')])
    """
    g_count = _check_count(ground_stations, "ground_stations")
    n_sat = _check_count(satellite_links, "satellite_links")
    n_fso = _check_count(free_space_links, "free_space_links")
    access = _check_real(access_km, "access_km")
    g_fixed = _check_real(station_cost, "station_cost")
    sat_fixed = _check_real(satellite_fixed_cost, "satellite_fixed_cost")
    fso_fixed = _check_real(free_space_fixed_cost, "free_space_fixed_cost")
    if access <= 0:
        raise InputError(f"must be a number > 0, got {access_km!r}", "access_km")
    pairs_max = g_count * (g_count - 1) // 2
    if n_sat + n_fso > pairs_max:
        raise InputError(
            f"{n_sat} satellite and {n_fso} free-space links asked for but "
            f"{g_count} ground stations have only {pairs_max} pairs",
            "satellite_links",
        )
    weather = DEFAULT_WEATHER if weather is None else weather
    sat_rate = _states(
        SATELLITE_RATES if satellite_rates is None else satellite_rates, weather, "satellite_rates"
    )
    fso_rate = _states(
        FREE_SPACE_RATES if free_space_rates is None else free_space_rates,
        weather,
        "free_space_rates",
    )
    sat_price = SATELLITE_PRICES if satellite_prices is None else satellite_prices
    fso_price = FREE_SPACE_PRICES if free_space_prices is None else free_space_prices
    for label, price in (("satellite_prices", sat_price), ("free_space_prices", fso_price)):
        if not isinstance(price, UnitCosts):
            raise InputError("expected UnitCosts", label)
    sites = ground_station_sites(topology, g_count)
    _, dist = _distances(topology)
    if all(isinstance(n, (int, np.integer)) for n in topology.nodes):
        top = max(int(n) for n in topology.nodes)
        gs_ids: list[Any] = [top + 1 + i for i in range(g_count)]
    else:
        gs_ids = []
        for s in sites:
            gid = f"GS-{s}"
            while gid in topology.node_index or gid in gs_ids:
                gid += "'"
            gs_ids.append(gid)
    links = list(topology.links)
    names = dict(topology.node_names)
    for s, gid in zip(sites, gs_ids, strict=True):
        links.append(Link(s, gid, access))
        names[gid] = f"GS {topology.node_names.get(s, s)}"
    idx = range(g_count)
    ranked = sorted(
        ((i, j) for i in idx for j in idx if i < j),
        key=lambda ij: (-dist[sites[ij[0]]][sites[ij[1]]], ij),
    )
    for k, (i, j) in enumerate(ranked[: n_sat + n_fso]):
        km = max(0.1, round(dist[sites[i]][sites[j]], 1))
        sat = k < n_sat
        fixed = sat_fixed if sat else fso_fixed
        links.append(
            Link(
                gs_ids[i],
                gs_ids[j],
                km,
                key_rate_kbps=sat_rate if sat else fso_rate,
                kind="satellite" if sat else "free-space",
                unit_costs=sat_price if sat else fso_price,
                fixed_cost=fixed if fixed > 0 else None,
            )
        )
    node_fixed = dict(topology.node_fixed_costs)
    if g_fixed > 0:  # 0 adds nothing, so the default instance is the one without the knob
        node_fixed.update((gid, g_fixed) for gid in gs_ids)
    return replace(
        topology,
        nodes=topology.nodes + tuple(gs_ids),
        links=tuple(links),
        node_names=names,
        node_fixed_costs=node_fixed,
        name=name or f"{topology.name}{NTN_SUFFIX}",
    )


def add_providers(
    instance: Instance,
    *,
    seed: int,
    providers: int = 2,
    sites: int = 3,
    provider_capacity: int | Sequence[int | None] | None = None,
    anycast: float = 0.5,
    service_cost: float = 100000.0,
    service_spread: float = 0.5,
    candidates: Sequence[Any] | None = None,
    name: str | None = None,
) -> Instance:
    """Provider sites, capacities and anycast requests (step 4; seeded).

    Parameters
    ----------
    instance : Instance
        Its requests are the ones turned anycast; its providers are replaced.
    seed : int
    providers : int
        ``P`` (>= 1 when ``anycast > 0``; default 2), ids ``"A"``, ``"B"``, ...
    sites : int
        Sites per provider (distinct nodes; default 3).
    provider_capacity : int, sequence or None
        Requests each provider serves at most: one number for all, one per provider,
        or ``None`` (unlimited, the default). Capacities that cannot serve every
        anycast request are refused.
    anycast : float
        Fraction of the requests made anycast, in [0, 1] (default 0.5).
    service_cost, service_spread : float
        Mean service cost ``C`` of a site (>= 0; default 100,000) and its relative
        spread in [0, 1] (default 0.5).
    candidates : sequence, optional
        Nodes that may host a site (default: every node of ``instance``).
    name : str, optional

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        Naming the parameter out of range, or ``provider_capacity`` when the
        capacities cannot serve every anycast request.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = add_providers(make_instance("nsfnet", 4, 2, seed=1), seed=1, anycast=1.0,
    ...                      provider_capacity=2)
    >>> [p.id for p in inst.providers], all(r.is_anycast for r in inst.requests)
    (['A', 'B'], True)
    """
    n_prov = _check_count(providers, "providers")
    n_sites = _check_count(sites, "sites", least=1)
    frac = _check_real(anycast, "anycast", 0.0, 1.0)
    cost = _check_real(service_cost, "service_cost")
    spread = _check_real(service_spread, "service_spread", 0.0, 1.0)
    if n_prov > 26:
        raise InputError(f"at most 26 providers (ids A..Z), got {n_prov}", "providers")
    nodes = list(instance.nodes if candidates is None else candidates)
    if n_prov and n_sites > len(nodes):
        raise InputError(
            f"{n_sites} sites per provider asked for but only {len(nodes)} nodes may host one",
            "sites",
        )
    if isinstance(provider_capacity, Sequence) and not isinstance(provider_capacity, str):
        caps = list(provider_capacity)
        if len(caps) != n_prov:
            raise InputError(f"{len(caps)} capacities for {n_prov} providers", "provider_capacity")
    else:
        caps = [provider_capacity] * n_prov
    caps = [None if c is None else _check_count(c, "provider_capacity") for c in caps]
    ids = [chr(ord("A") + p) for p in range(n_prov)]
    rng = derive_rng(seed, _SITES)
    site_nodes = {
        pid: [nodes[i] for i in sorted(rng.choice(len(nodes), n_sites, replace=False).tolist())]
        for pid in ids
    }
    rng = derive_rng(seed, _COSTS)
    price = {
        (pid, v): float(round(cost * (1.0 + spread * rng.uniform(-1.0, 1.0))))
        for pid in ids
        for v in site_nodes[pid]
    }
    n_req = instance.n_requests
    n_any = math.floor(frac * n_req + 0.5) if n_prov else 0  # rounded half up
    if frac > 0 and n_prov == 0 and n_req:
        raise InputError("anycast requests need at least one provider", "providers")
    rng = derive_rng(seed, _ANYCAST)
    chosen = set(rng.choice(n_req, n_any, replace=False).tolist()) if n_any else set()
    reqs = []
    for f, req in enumerate(instance.requests):
        targets = tuple(
            Target(v, pid, price[(pid, v)])
            for pid in ids
            for v in site_nodes[pid]
            if v != req.source
        )
        if f in chosen and targets:
            req = Request(req.id, req.source, None, req.demand, targets=targets)
        reqs.append(req)
    try:
        return replace(
            instance,
            requests=tuple(reqs),
            providers=tuple(Provider(pid, c) for pid, c in zip(ids, caps, strict=True)),
            name=name or instance.name,
        )
    except InputError as exc:
        if exc.place == "providers":
            raise InputError(exc.problem, "provider_capacity") from None
        raise


def ntn_instance(
    topology: str | os.PathLike | Instance,
    n_requests: int,
    *,
    max_rate: int,
    seed: int,
    params: Params | None = None,
    ground_stations: int = 4,
    satellite_links: int = 2,
    free_space_links: int = 1,
    access_km: float = 10.0,
    weather: Mapping[str, float] | None = None,
    satellite_rates: Mapping[str, float] | None = None,
    free_space_rates: Mapping[str, float] | None = None,
    satellite_prices: UnitCosts | None = None,
    free_space_prices: UnitCosts | None = None,
    providers: int = 2,
    sites: int = 3,
    provider_capacity: int | Sequence[int | None] | None = None,
    anycast: float = 0.5,
    service_cost: float = 100000.0,
    service_spread: float = 0.5,
    station_cost: float = 0.0,
    satellite_fixed_cost: float = 0.0,
    free_space_fixed_cost: float = 0.0,
    site: float = 0.0,
    tightness: float | None = None,
    name: str | None = None,
) -> Instance:
    """A seeded TN-NTN instance built on any topology (see the module notes for every step).

    Parameters
    ----------
    topology : str, path or Instance
        A topology name, file or topohub key (a ``-ntn`` suffix is dropped), or a
        loaded topology; its own requests and providers are replaced.
    n_requests, max_rate, seed : int
        As :func:`~qkdbench.topologies.sample_requests` (requests on terrestrial nodes).
    params : Params, optional
        Instance parameters when ``topology`` is loaded here.
    ground_stations, satellite_links, free_space_links, access_km, weather,
    satellite_rates, free_space_rates, satellite_prices, free_space_prices, station_cost,
    satellite_fixed_cost, free_space_fixed_cost
        See :func:`ntn_topology`.
    providers, sites, provider_capacity, anycast, service_cost, service_spread
        See :func:`add_providers`.
    site : float
        The cost-table entry ``site`` (>= 0; default 0): every *fiber* link, the
        stations' access links included, then has the fixed charge ``site (2m - 1)``
        of its relay sites (non-terrestrial links have none derived).
    tightness : float, optional
        ``W_qkd`` and ``W_kml`` as this multiple (> 0) of the busiest arc's load under
        shortest-path routing, set after the providers
        (:func:`~qkdbench.topologies.design.tight_capacities`); default: the
        parameters' capacities.
    name : str, optional
        Default ``"{topology}-ntn-r{N}-k{K}-s{seed}"``.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        For a parameter out of range (naming it) or an unknown topology.

    Examples
    --------
    >>> inst = ntn_instance("nsfnet", 6, max_rate=3, seed=2, provider_capacity=2)
    >>> inst.name, sum(r.is_anycast for r in inst.requests), inst.provider_capacity
    ('nsfnet-ntn-r6-k3-s2', 3, {'A': 2, 'B': 2})
    """
    from .loaders import load_topology

    if isinstance(topology, Instance):
        terra = topology
    else:
        base = ntn_base(topology)
        terra = load_topology(base if base is not None else topology, params)
    site_cost = _check_real(site, "site")
    if tightness is not None:
        _check_real(tightness, "tightness")
        if tightness <= 0:
            raise InputError(f"must be a number > 0, got {tightness!r}", "tightness")
    terra = replace(terra, requests=(), providers=())
    inst = sample_requests(terra, n_requests, max_rate=max_rate, seed=seed)
    label = name or f"{terra.name}{NTN_SUFFIX}-r{n_requests}-k{max_rate}-s{seed}"
    inst = ntn_topology(
        inst,
        ground_stations=ground_stations,
        satellite_links=satellite_links,
        free_space_links=free_space_links,
        access_km=access_km,
        weather=weather,
        satellite_rates=satellite_rates,
        free_space_rates=free_space_rates,
        satellite_prices=satellite_prices,
        free_space_prices=free_space_prices,
        station_cost=station_cost,
        satellite_fixed_cost=satellite_fixed_cost,
        free_space_fixed_cost=free_space_fixed_cost,
        name=label,
    )
    inst = add_providers(
        inst,
        seed=seed,
        providers=providers,
        sites=sites,
        provider_capacity=provider_capacity,
        anycast=anycast,
        service_cost=service_cost,
        service_spread=service_spread,
        candidates=terra.nodes,
    )
    if site_cost > 0:  # 0 keeps the cost table as it was
        c = inst.costs
        inst = replace(inst, costs=CostTable(c.r, c.e, c.o, site=site_cost))
    if tightness is not None:
        inst = tight_capacities(inst, float(tightness))
    return inst
