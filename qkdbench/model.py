"""The planning model: instances, requests, key-rate demands, costs and plans.

The frozen data objects every other layer reads, and their validation: an
:class:`Instance` that exists is a valid one (see ``docs/model.md``). Pricing
(the per-arc unit costs and the key-rate tables the evaluator reads) lives in
:mod:`qkdbench.evaluation.pricing`; reading and writing files in
:mod:`qkdbench.io`.

It imports nothing of the package but its exceptions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, TypeVar

import networkx as nx
import numpy as np

from .exceptions import InputError

T = TypeVar("T")

__all__ = [
    "PHASES",
    "PHASE_NAMES",
    "COMPONENTS",
    "QKD_WAVELENGTHS_PER_LINK",
    "KM_WAVELENGTHS_PER_LINK",
    "CEIL_TOL",
    "MAX_COUNT",
    "LINK_OVERRIDES",
    "LINK_KINDS",
    "CostTable",
    "UnitCosts",
    "Params",
    "Link",
    "Demand",
    "Target",
    "Provider",
    "Request",
    "Instance",
    "Route",
    "Plan",
    "check_number",
]

#: Phases of Table I as the cost table keys them: reservation, use of a reserved
#: wavelength, on-demand.
PHASES: tuple[str, ...] = ("r", "e", "o")
#: The phases in words, in :data:`PHASES` order (as results name them).
PHASE_NAMES: tuple[str, ...] = ("reservation", "reserved_use", "on_demand")
#: Cost components of Table I (``hop`` is the per-arc route cost, kept apart).
COMPONENTS: tuple[str, ...] = ("tx", "rx", "km", "si", "md", "ch")
#: Wavelengths one QKD link occupies (the paper's ``W_f^qkd``).
QKD_WAVELENGTHS_PER_LINK = 3
#: Wavelengths one KM link occupies (the paper's ``W_f^kml``).
KM_WAVELENGTHS_PER_LINK = 1
#: Tolerance inside the ceilings of Eqs. 1-2 so that ``1.1 / 0.1`` counts 11.
CEIL_TOL = 1e-9
#: Largest MDI-segment count per arc and QKD-link count per request and arc that an
#: instance may imply; beyond it the input is surely a mistake (and counts lose exactness).
MAX_COUNT = 1e9
#: Largest ``K`` of :meth:`Demand.uniform` (its support has ``K + 1`` values).
MAX_UNIFORM_RATE = 100_000


def check_number(
    value: Any, place: str, *, positive: bool = False, nonneg: bool = False, integer: bool = False
) -> float:
    """``float(value)`` after checking it is a finite number (and the options).

    Raises
    ------
    InputError
        Naming ``place`` and the problem.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"expected a number, got {value!r}", place)
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"must be finite, got {value!r}", place)
    if positive and v <= 0:
        raise InputError(f"must be positive, got {value!r}", place)
    if nonneg and v < 0:
        raise InputError(f"must be non-negative, got {value!r}", place)
    if integer and abs(v) > MAX_COUNT:  # a count (capacity) beyond this is surely a mistake
        raise InputError(f"must be at most {MAX_COUNT:.0e}, got {value!r}", place)
    if integer and v != int(v):
        raise InputError(f"must be an integer, got {value!r}", place)
    return v


# --------------------------------------------------------------------------- costs


@dataclass(frozen=True)
class CostTable:
    """Unit costs of Table I per phase (``r``, ``e``, ``o``) and component.

    Parameters
    ----------
    r, e, o : Mapping[str, float]
        Cost of one MDI-QTx (``tx``), MDI-QRx (``rx``), LKM (``km``), SI
        (``si``), MUX/DEMUX pair (``md``) and wavelength-km of fiber (``ch``)
        in the reservation, reserved-use and on-demand phase.

    Examples
    --------
    >>> CostTable().o["tx"]
    6000.0
    """

    r: Mapping[str, float] = field(
        default_factory=lambda: {
            "tx": 1500.0,
            "rx": 2250.0,
            "km": 1200.0,
            "si": 150.0,
            "md": 300.0,
            "ch": 1.0,
        }
    )
    e: Mapping[str, float] = field(
        default_factory=lambda: {
            "tx": 1500.0,
            "rx": 2250.0,
            "km": 1200.0,
            "si": 150.0,
            "md": 300.0,
            "ch": 1.0,
        }
    )
    o: Mapping[str, float] = field(
        default_factory=lambda: {
            "tx": 6000.0,
            "rx": 9000.0,
            "km": 3000.0,
            "si": 500.0,
            "md": 900.0,
            "ch": 4.0,
        }
    )
    site: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "site", check_number(self.site, "costs.r.site", nonneg=True))
        for ph in PHASES:
            table = getattr(self, ph)
            if not isinstance(table, Mapping):
                raise InputError("expected an object of component costs", f"costs.{ph}")
            unknown = set(table) - set(COMPONENTS)
            if unknown:
                raise InputError(f"unknown cost component {sorted(unknown)[0]!r}", f"costs.{ph}")
            missing = [c for c in COMPONENTS if c not in table]
            if missing:
                raise InputError(f"missing cost component {missing[0]!r}", f"costs.{ph}")
            clean = {c: check_number(table[c], f"costs.{ph}.{c}", nonneg=True) for c in COMPONENTS}
            object.__setattr__(self, ph, clean)

    def matrix(self) -> np.ndarray:
        """Return the costs as a ``(3, 6)`` array, rows ``PHASES``, columns ``COMPONENTS``."""
        return np.array([[getattr(self, ph)[c] for c in COMPONENTS] for ph in PHASES])

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{"r": {...}, "e": {...}, "o": {...}}``; ``r`` holds ``site`` when it is not 0."""
        out = {ph: dict(getattr(self, ph)) for ph in PHASES}
        if self.site:
            out["r"]["site"] = self.site
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostTable:
        """Build from ``{"r": {...}, "e": {...}, "o": {...}}``; missing phases default.

        ``r`` may hold ``site`` (X1); ``e`` and ``o`` may not.
        """
        if not isinstance(data, Mapping):
            raise InputError("expected an object", "costs")
        unknown = set(data) - set(PHASES)
        if unknown:
            raise InputError(f"unknown phase {sorted(unknown)[0]!r}", "costs")
        default = cls()
        tables = {}
        for ph in PHASES:
            given = data.get(ph, {})
            if not isinstance(given, Mapping):
                raise InputError("expected an object of component costs", f"costs.{ph}")
            given = dict(given)
            if "site" in given:
                if ph != "r":
                    raise InputError(
                        "'site' is a one-off reservation cost: it belongs to phase 'r' only",
                        f"costs.{ph}.site",
                    )
                tables["site"] = given.pop("site")
            tables[ph] = {**getattr(default, ph), **given}
        return cls(**tables)


@dataclass(frozen=True)
class Params:
    """Instance-wide defaults for every arc, and the per-arc route cost.

    Parameters
    ----------
    span_km : float
        ``D``, distance between two MDI-QTx (Eq. 2). Paper: 160 km.
    key_rate_kbps : float
        ``K_D``, secret-key rate of one QKD link over ``D`` (Eq. 1). Default 1.0.
    W_qkd, W_kml : int
        QKD and KM wavelengths that may be reserved on an arc (150 and 50).
    hop_cost : float
        Cost per arc a route uses (the paper's energy ``B_eng``); default 0.
    """

    span_km: float = 160.0
    key_rate_kbps: float = 1.0
    W_qkd: int = 150
    W_kml: int = 50
    hop_cost: float = 0.0

    def __post_init__(self) -> None:
        check_number(self.span_km, "params.span_km", positive=True)
        check_number(self.key_rate_kbps, "params.key_rate_kbps", positive=True)
        check_number(self.W_qkd, "params.W_qkd", nonneg=True, integer=True)
        check_number(self.W_kml, "params.W_kml", nonneg=True, integer=True)
        check_number(self.hop_cost, "params.hop_cost", nonneg=True)
        object.__setattr__(self, "span_km", float(self.span_km))
        object.__setattr__(self, "key_rate_kbps", float(self.key_rate_kbps))
        object.__setattr__(self, "W_qkd", int(self.W_qkd))
        object.__setattr__(self, "W_kml", int(self.W_kml))
        object.__setattr__(self, "hop_cost", float(self.hop_cost))

    def to_dict(self) -> dict[str, float]:
        """The ``params`` object of an instance file."""
        return {
            "span_km": self.span_km,
            "key_rate_kbps": self.key_rate_kbps,
            "W_qkd": self.W_qkd,
            "W_kml": self.W_kml,
            "hop_cost": self.hop_cost,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Params:
        """Build from a ``params`` object; unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise InputError("expected an object", "params")
        known = {"span_km", "key_rate_kbps", "W_qkd", "W_kml", "hop_cost"}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown parameter {sorted(unknown)[0]!r}", "params")
        return cls(**dict(data))


LINK_OVERRIDES = ("W_qkd", "W_kml", "span_km", "key_rate_kbps")
#: Kinds of link (X2): Eqs. 3-8 (the MDI chain) describe ``fiber`` only.
LINK_KINDS: tuple[str, ...] = ("fiber", "free-space", "satellite")


@dataclass(frozen=True)
class UnitCosts:
    """Prices of one wavelength on a link, per phase, given directly (X2).

    They replace the Table I derivation (Eqs. 3-8) for the link they belong to.

    Parameters
    ----------
    qkd, km : tuple of 3 float
        Price of one QKD / KM wavelength in the reservation, reserved-use and
        on-demand phases (``PHASES`` order).

    Examples
    --------
    >>> UnitCosts.from_dict({"qkd": {"r": 1, "e": 1, "o": 3}, "km": {"r": 2, "e": 2, "o": 5}}).km
    (2.0, 2.0, 5.0)
    """

    qkd: tuple[float, float, float]
    km: tuple[float, float, float]

    def __post_init__(self) -> None:
        for part in ("qkd", "km"):
            vals = tuple(getattr(self, part))
            if len(vals) != len(PHASES):
                raise InputError(
                    f"expected {len(PHASES)} phase prices, got {len(vals)}", f"unit_costs.{part}"
                )
            object.__setattr__(
                self,
                part,
                tuple(
                    check_number(v, f"unit_costs.{part}.{ph}", nonneg=True)
                    for ph, v in zip(PHASES, vals)
                ),
            )

    @classmethod
    def from_dict(cls, data: Any) -> UnitCosts:
        """Build from ``{"qkd": {"r", "e", "o"}, "km": {"r", "e", "o"}}`` (every key required)."""
        if not isinstance(data, Mapping):
            raise InputError('expected an object {"qkd": {...}, "km": {...}}', "unit_costs")
        for part in sorted(set(data) - {"qkd", "km"}):
            raise InputError(f"unknown key {part!r}", f"unit_costs.{part}")
        out = {}
        for part in ("qkd", "km"):
            table = data.get(part)
            if not isinstance(table, Mapping):
                raise InputError(
                    'missing or not an object of phase prices {"r", "e", "o"}', f"unit_costs.{part}"
                )
            for key in sorted(set(table) - set(PHASES)):
                raise InputError(f"unknown phase {key!r}", f"unit_costs.{part}.{key}")
            for ph in PHASES:
                if ph not in table:
                    raise InputError(f"missing phase {ph!r}", f"unit_costs.{part}")
            out[part] = tuple(table[ph] for ph in PHASES)
        return cls(out["qkd"], out["km"])

    def to_dict(self) -> dict[str, dict[str, float]]:
        """The link's ``unit_costs`` object."""
        return {part: dict(zip(PHASES, getattr(self, part))) for part in ("qkd", "km")}


@dataclass(frozen=True)
class Link:
    """A link ``u - v``; it gives the two arcs ``u->v`` and ``v->u``.

    Parameters
    ----------
    u, v : int or str
        End nodes, as given.
    length_km : float
        Length ``e`` (> 0).
    W_qkd, W_kml, span_km : optional
        Per-link overrides of the instance's :class:`Params`.
    key_rate_kbps : float or Demand, optional
        The link's key rate ``K_D``: a number, or a discrete distribution of link
        *states* (values > 0; weather, pass geometry), independent of every
        demand and of the other links, shared by both arcs in a scenario (X2).
    fixed_cost : float, optional
        One-off first-stage cost paid if any route uses either arc (X1). ``None``:
        derived, ``costs.site * (2m - 1)`` for a fiber link, 0 for another kind
        (see :meth:`Instance.link_fixed_cost`).
    kind : str
        ``fiber`` (default), ``free-space`` or ``satellite`` (X2).
    unit_costs : UnitCosts, optional
        Wavelength prices given directly, replacing Eqs. 3-8; required for a link
        that is not ``fiber`` (X2).
    """

    u: Any
    v: Any
    length_km: float
    W_qkd: int | None = None
    W_kml: int | None = None
    span_km: float | None = None
    key_rate_kbps: float | Demand | None = None
    fixed_cost: float | None = None
    kind: str = "fiber"
    unit_costs: UnitCosts | None = None

    def key_rate_states(self, default: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Key-rate states (ascending) and their probabilities; ``default`` when not set.

        Examples
        --------
        >>> Link(1, 2, 10.0, key_rate_kbps=Demand((1.0, 0.1), (0.7, 0.3))).key_rate_states(1.0)
        ((0.1, 1.0), (0.3, 0.7))
        """
        rate = self.key_rate_kbps
        if rate is None:
            return (float(default),), (1.0,)
        if isinstance(rate, Demand):
            pairs = sorted(zip(rate.values, rate.probs), key=lambda vp: vp[0])
            return tuple(v for v, _ in pairs), tuple(p for _, p in pairs)
        return (float(rate),), (1.0,)

    @property
    def has_random_key_rate(self) -> bool:
        """Whether the key rate is a distribution of more than one state (X2)."""
        return isinstance(self.key_rate_kbps, Demand) and len(self.key_rate_kbps.values) > 1


# --------------------------------------------------------------------------- demand


@dataclass(frozen=True)
class Demand:
    """A discrete distribution of a request's secret-key rate ``kappa`` (kbps).

    Parameters
    ----------
    values : tuple of float
        Support values (kbps, >= 0).
    probs : tuple of float
        Their probabilities (> 0, summing to 1 within 1e-9).

    Examples
    --------
    >>> d = Demand.uniform(2)
    >>> d.values, round(d.mean, 6)
    ((0.0, 1.0, 2.0), 1.0)
    >>> Demand.empirical([3, 1, 3, 3]).probs
    (0.25, 0.75)
    """

    values: tuple[float, ...]
    probs: tuple[float, ...]

    def __post_init__(self) -> None:
        values = tuple(self.values)
        probs = tuple(self.probs)
        if len(values) == 0:
            raise InputError("a demand needs at least one value", "demand.values")
        if len(values) != len(probs):
            raise InputError(f"{len(values)} values but {len(probs)} probabilities", "demand.probs")
        v = tuple(check_number(x, f"demand.values[{i}]", nonneg=True) for i, x in enumerate(values))
        p = tuple(check_number(x, f"demand.probs[{i}]") for i, x in enumerate(probs))
        for i, x in enumerate(p):
            if x <= 0:
                raise InputError(f"probability must be positive, got {x!r}", f"demand.probs[{i}]")
        total = math.fsum(p)
        if abs(total - 1.0) > 1e-9:
            raise InputError(f"probabilities sum to {total!r}, not 1", "demand.probs")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "probs", p)

    @classmethod
    def uniform(cls, max_rate: int) -> Demand:
        """Key rate uniform on ``{0, 1, ..., max_rate}`` kbps (the paper's ``Omega_f``)."""
        if isinstance(max_rate, bool) or int(max_rate) != max_rate or max_rate < 0:
            raise InputError(
                f"max rate must be a non-negative integer, got {max_rate!r}", "max_rate"
            )
        if max_rate > MAX_UNIFORM_RATE:
            raise InputError(
                f"max rate {max_rate} is above {MAX_UNIFORM_RATE:,} (a support of "
                "that many values per request)",
                "max_rate",
            )
        n = int(max_rate) + 1
        return cls(tuple(float(k) for k in range(n)), tuple([1.0 / n] * n))

    @classmethod
    def empirical(cls, samples: Iterable[float]) -> Demand:
        """The empirical distribution of observed key rates (equal weight per sample)."""
        arr = np.asarray(list(samples), dtype=float)
        if arr.size == 0:
            raise InputError("no samples", "samples")
        vals, counts = np.unique(arr, return_counts=True)
        return cls(tuple(float(x) for x in vals), tuple(float(c) / arr.size for c in counts))

    @classmethod
    def point(cls, value: float) -> Demand:
        """A deterministic key rate."""
        return cls((float(value),), (1.0,))

    @property
    def mean(self) -> float:
        """Expected key rate ``E[kappa]`` in kbps."""
        return math.fsum(v * p for v, p in zip(self.values, self.probs))

    @property
    def max(self) -> float:
        """Largest key rate of the support."""
        return max(self.values)

    def quantile(self, q: float) -> float:
        """Smallest support value ``v`` with ``Pr(kappa <= v) >= q``."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile level must lie in [0, 1], got {q}")
        order = sorted(zip(self.values, self.probs))
        acc = 0.0
        for v, p in order:
            acc += p
            if acc >= q - 1e-12:
                return v
        return order[-1][0]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` key rates with ``rng``."""
        return rng.choice(np.asarray(self.values), size=size, p=np.asarray(self.probs))

    def to_dict(self) -> dict[str, list[float]]:
        """The ``demand`` object of an instance file."""
        return {"values": list(self.values), "probs": list(self.probs)}


@dataclass(frozen=True)
class Target:
    """One way to serve an anycast request (X3): a provider's site and its price.

    Parameters
    ----------
    node : int or str
        The site's node; the route ends there.
    provider : str or None
        The provider's id (``None`` only for the single target of an ordinary request).
    service_cost : float
        First-stage cost paid if this target serves the request (>= 0).
    """

    node: Any
    provider: str | None = None
    service_cost: float = 0.0


@dataclass(frozen=True)
class Provider:
    """A provider of services (X3) and how many requests it can serve.

    Parameters
    ----------
    id : str
    capacity : int or None
        Largest number of requests it serves; ``None``: unlimited.
    """

    id: str
    capacity: int | None = None


@dataclass(frozen=True)
class Request:
    """A QKD-FL chain request ``f = (s_f, d_f, P_f)``.

    Parameters
    ----------
    id : str
        Request identifier (unique in an instance).
    source, target : int or str
        Node ids; must differ. ``target`` is ``None`` for an anycast request.
    demand : Demand
        Distribution of the key rate ``kappa_f``.
    targets : tuple of Target, optional
        Instead of ``target`` (X3): the provider sites that may serve the
        request; a plan chooses one and routes to its node.

    Examples
    --------
    >>> r = Request("f0", 1, None, Demand.point(1.0),
    ...             targets=(Target(2, "A", 5.0), Target(3, "B", 0.0)))
    >>> [t.node for t in r.sinks], r.is_anycast
    ([2, 3], True)
    """

    id: str
    source: Any
    target: Any
    demand: Demand
    targets: tuple[Target, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))

    @property
    def is_anycast(self) -> bool:
        """Whether the request chooses among provider targets (X3)."""
        return bool(self.targets)

    @property
    def sinks(self) -> tuple[Target, ...]:
        """The targets a route may end at: ``targets``, or the one ``target`` at no cost."""
        return self.targets if self.targets else (Target(self.target),)


# --------------------------------------------------------------------------- instance


@dataclass(frozen=True)
class Instance:
    """A planning instance: topology, parameters, costs and requests.

    Construction validates everything (see ``InputError``); the derived data
    (:attr:`node_index`, :attr:`graph`, and what other layers keep through
    :meth:`derived`) is computed once on first use.

    Parameters
    ----------
    nodes : tuple
        Node ids (int or str), as given.
    links : tuple of Link
        Fiber links; each gives two arcs.
    requests : tuple of Request
    params : Params
    costs : CostTable
    name : str
    node_names : Mapping, optional
        Optional display names by node id.
    node_fixed_costs : Mapping, optional
        One-off first-stage cost ``G_n`` by node id, paid if any route starts,
        ends or passes through the node (X1; absent nodes cost 0).
    providers : tuple of Provider, optional
        Provider capacities (X3). When given, every provider a target names
        must be listed; when empty, providers are unlimited.

    Examples
    --------
    >>> inst = Instance(nodes=(1, 2), links=(Link(1, 2, 200.0),),
    ...                 requests=(Request("f0", 1, 2, Demand.uniform(2)),))
    >>> inst.arc_index[(2, 1)], inst.n_requests
    (1, 1)
    """

    nodes: tuple
    links: tuple[Link, ...]
    requests: tuple[Request, ...] = ()
    params: Params = field(default_factory=Params)
    costs: CostTable = field(default_factory=CostTable)
    name: str = "instance"
    node_names: Mapping[Any, str] = field(default_factory=dict, compare=False)
    node_fixed_costs: Mapping[Any, float] = field(default_factory=dict)
    providers: tuple[Provider, ...] = ()
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "links", tuple(self.links))
        object.__setattr__(self, "requests", tuple(self.requests))
        object.__setattr__(self, "node_fixed_costs", dict(self.node_fixed_costs))
        object.__setattr__(self, "providers", tuple(self.providers))
        self._validate()

    # ---- validation
    def _validate(self) -> None:
        index: dict[Any, int] = {}
        for i, n in enumerate(self.nodes):
            if isinstance(n, bool) or not isinstance(n, (int, str)):
                raise InputError(
                    f"node id must be an integer or a string, got {n!r}", f"nodes[{i}].id"
                )
            if n in index:
                raise InputError(f"duplicate node id {n!r}", f"nodes[{i}].id")
            index[n] = i
        if not self.nodes:
            raise InputError("an instance needs at least one node", "nodes")
        seen: dict[frozenset, int] = {}
        for k, link in enumerate(self.links):
            place = f"links[{k}]"
            for end in ("u", "v"):
                if getattr(link, end) not in index:
                    raise InputError(f"unknown node {getattr(link, end)!r}", f"{place}.{end}")
            if link.u == link.v:
                raise InputError(f"self-loop at node {link.u!r}", place)
            key = frozenset((link.u, link.v))
            if key in seen:
                raise InputError(
                    f"duplicate link {link.u!r}-{link.v!r} (also links[{seen[key]}])", place
                )
            seen[key] = k
            check_number(link.length_km, f"{place}.length_km", positive=True)
            for attr in ("W_qkd", "W_kml"):
                if getattr(link, attr) is not None:
                    check_number(getattr(link, attr), f"{place}.{attr}", nonneg=True, integer=True)
            if link.span_km is not None:
                check_number(link.span_km, f"{place}.span_km", positive=True)
            rate = link.key_rate_kbps
            if isinstance(rate, Demand):
                for i, x in enumerate(rate.values):
                    if x <= 0:
                        raise InputError(
                            f"a key-rate state must be positive, got {x!r}",
                            f"{place}.key_rate_kbps.values[{i}]",
                        )
            elif rate is not None:
                check_number(rate, f"{place}.key_rate_kbps", positive=True)
            if link.kind not in LINK_KINDS:
                raise InputError(
                    f"unknown link kind {link.kind!r}, expected one of {', '.join(LINK_KINDS)}",
                    f"{place}.kind",
                )
            if link.unit_costs is not None and not isinstance(link.unit_costs, UnitCosts):
                raise InputError("unit_costs must be UnitCosts", f"{place}.unit_costs")
            if link.kind != "fiber" and link.unit_costs is None:
                raise InputError(
                    f"a {link.kind} link needs unit_costs (Eqs. 3-8 price fiber only)", place
                )
            if link.fixed_cost is not None:
                check_number(link.fixed_cost, f"{place}.fixed_cost", nonneg=True)
            span = link.span_km if link.span_km is not None else self.params.span_km
            if float(link.length_km) / span > MAX_COUNT:
                raise InputError(
                    f"length {link.length_km!r} km over a span of {span!r} km "
                    f"gives more than {MAX_COUNT:.0e} MDI segments",
                    place,
                )
        for n, g in self.node_fixed_costs.items():
            if n not in index:
                raise InputError(f"fixed cost for unknown node {n!r}", "nodes")
            check_number(g, f"nodes[{index[n]}].fixed_cost", nonneg=True)
        ids: dict[str, int] = {}
        graph = None
        min_rate = min(
            [self.params.key_rate_kbps]
            + [
                min(r.values) if isinstance(r, Demand) else float(r)
                for r in (link.key_rate_kbps for link in self.links)
                if r is not None
            ]
        )
        providers: dict[str, int | None] = {}
        for i, prov in enumerate(self.providers):
            if not isinstance(prov, Provider):
                raise InputError("expected a Provider", f"providers[{i}]")
            if not isinstance(prov.id, str) or not prov.id:
                raise InputError(
                    f"provider id must be a non-empty string, got {prov.id!r}", f"providers[{i}].id"
                )
            if prov.id in providers:
                raise InputError(f"duplicate provider {prov.id!r}", f"providers[{i}].id")
            if prov.capacity is not None:
                check_number(prov.capacity, f"providers[{i}].capacity", nonneg=True, integer=True)
            providers[prov.id] = prov.capacity
        for k, req in enumerate(self.requests):
            place = f"requests[{k}]"
            if not isinstance(req.id, str) or not req.id:
                raise InputError(
                    f"request id must be a non-empty string, got {req.id!r}", f"{place}.id"
                )
            if req.id in ids:
                raise InputError(f"duplicate request id {req.id!r}", f"{place}.id")
            ids[req.id] = k
            if req.source not in index:
                raise InputError(f"unknown node {req.source!r}", f"{place}.source")
            if req.targets:
                if req.target is not None:
                    raise InputError("give either 'target' or 'targets', not both", place)
                self._validate_targets(req, place, index, providers)
            else:
                if req.target not in index:
                    raise InputError(f"unknown node {req.target!r}", f"{place}.target")
                if req.source == req.target:
                    raise InputError(f"source and target are both {req.source!r}", place)
            if not isinstance(req.demand, Demand):
                raise InputError("demand must be a Demand", f"{place}.demand")
            if req.demand.max / min_rate > MAX_COUNT:
                i = req.demand.values.index(req.demand.max)
                raise InputError(
                    f"key rate {req.demand.max!r} kbps needs more than "
                    f"{MAX_COUNT:.0e} QKD links of {min_rate!r} kbps",
                    f"{place}.demand.values[{i}]",
                )
            if graph is None:
                graph = nx.Graph()
                graph.add_nodes_from(self.nodes)
                graph.add_edges_from((link.u, link.v) for link in self.links)
            for t, sink in enumerate(req.sinks):
                if not nx.has_path(graph, req.source, sink.node):
                    where = f"{place}.targets[{t}].node" if req.targets else place
                    raise InputError(
                        f"target {sink.node!r} is unreachable from source {req.source!r}", where
                    )
        if any(cap is not None for cap in providers.values()):
            self._check_provider_capacity(providers)

    def _validate_targets(
        self,
        req: Request,
        place: str,
        index: Mapping[Any, int],
        providers: Mapping[str, int | None],
    ) -> None:
        seen: dict[tuple[Any, str], int] = {}
        for t, tgt in enumerate(req.targets):
            tp = f"{place}.targets[{t}]"
            if not isinstance(tgt, Target):
                raise InputError("expected a Target", tp)
            if tgt.node not in index:
                raise InputError(f"unknown node {tgt.node!r}", f"{tp}.node")
            if tgt.node == req.source:
                raise InputError(f"target node {tgt.node!r} is the request's source", f"{tp}.node")
            if not isinstance(tgt.provider, str) or not tgt.provider:
                raise InputError(
                    f"provider must be a non-empty string, got {tgt.provider!r}", f"{tp}.provider"
                )
            if providers and tgt.provider not in providers:
                raise InputError(
                    f"unknown provider {tgt.provider!r} (not in providers)", f"{tp}.provider"
                )
            check_number(tgt.service_cost, f"{tp}.service_cost", nonneg=True)
            key = (tgt.node, tgt.provider)
            if key in seen:
                raise InputError(
                    f"duplicate target (node {tgt.node!r}, provider "
                    f"{tgt.provider!r}), also targets[{seen[key]}]",
                    tp,
                )
            seen[key] = t

    def _check_provider_capacity(self, providers: Mapping[str, int | None]) -> None:
        """Reject capacities that cannot serve every anycast request (a bipartite matching)."""
        g = nx.DiGraph()
        n_any = 0
        for req in self.requests:
            if not req.targets:
                continue
            n_any += 1
            g.add_edge("_src", ("req", req.id), capacity=1)
            for tgt in req.targets:
                g.add_edge(("req", req.id), ("prov", tgt.provider), capacity=1)
        for pid, cap in providers.items():
            if g.has_node(("prov", pid)):
                g.add_edge(("prov", pid), "_sink", capacity=n_any if cap is None else int(cap))
        if n_any == 0:
            return
        served = nx.maximum_flow_value(g, "_src", "_sink")
        if served < n_any:
            raise InputError(
                f"provider capacities can serve at most {served} of the {n_any} "
                "requests with targets",
                "providers",
            )

    # ---- derived data
    @cached_property
    def node_index(self) -> dict[Any, int]:
        """Position of each node id in :attr:`nodes`."""
        return {n: i for i, n in enumerate(self.nodes)}

    @cached_property
    def request_index(self) -> dict[str, int]:
        """Position of each request id in :attr:`requests`."""
        return {r.id: i for i, r in enumerate(self.requests)}

    @cached_property
    def arc_index(self) -> dict[tuple[Any, Any], int]:
        """Arc id of each ``(u, v)`` node-id pair."""
        out = {}
        for k, link in enumerate(self.links):
            out[(link.u, link.v)] = 2 * k
            out[(link.v, link.u)] = 2 * k + 1
        return out

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Directed graph of the arcs, edge attributes ``arc`` (id) and ``length_km``.

        Treat it as read-only; it is shared by every caller.
        """
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for (u, v), a in self.arc_index.items():
            g.add_edge(u, v, arc=a, length_km=float(self.links[a // 2].length_km))
        return g

    def derived(self, key: str, make: Callable[[Instance], T]) -> T:
        """``make(self)``, computed once per instance and kept under ``key``.

        Other layers keep the arrays they derive from an instance here (the
        evaluator's per-arc prices and key-rate tables, for example), so that
        every caller shares one copy. A copy made with
        :func:`dataclasses.replace` starts with none.
        """
        memo = self._derived
        if key not in memo:
            memo[key] = make(self)
        return memo[key]

    # ---- conveniences
    @property
    def n_requests(self) -> int:
        """Number of requests."""
        return len(self.requests)

    def link_fixed_cost(self, k: int) -> float:
        """Fixed charge ``F_l`` of link ``k`` (X1): its ``fixed_cost``, else ``site * (2m - 1)``.

        ``m = ceil(e / D - 1e-9)`` (at least 1) is the link's MDI-segment count; its
        chain has ``m`` untrusted-relay sites (MDI-QRx) and ``m - 1`` trusted-relay
        sites (the SI between segments), ``2m - 1`` sites in all.

        Examples
        --------
        >>> inst = Instance((1, 2), (Link(1, 2, 400.0),), costs=CostTable(site=10.0))
        >>> inst.link_fixed_cost(0)  # m = 3 segments of 160 km: 5 sites
        50.0
        """
        link = self.links[k]
        if link.fixed_cost is not None:
            return float(link.fixed_cost)
        if not self.costs.site or link.kind != "fiber":
            return 0.0
        span = link.span_km if link.span_km is not None else self.params.span_km
        m = max(1, math.ceil(float(link.length_km) / float(span) - CEIL_TOL))
        return float(self.costs.site) * (2 * m - 1)

    @cached_property
    def uses_extensions(self) -> bool:
        """Whether the instance uses an extension key (so its file is ``qkdbench-instance/2``)."""
        return bool(
            self.costs.site
            or self.node_fixed_costs
            or self.providers
            or any(
                link.fixed_cost is not None
                or link.kind != "fiber"
                or link.unit_costs is not None
                or isinstance(link.key_rate_kbps, Demand)
                for link in self.links
            )
            or any(req.targets for req in self.requests)
        )

    @cached_property
    def features(self) -> frozenset[str]:
        """The model extensions this instance uses, as planners declare support for them.

        ``fixed_charges`` (X1: a positive fixed charge), ``link_prices`` (X2: a link
        priced by ``unit_costs``), ``link_states`` (X2: a key rate with more than
        one state) and ``providers`` (X3: a request with ``targets``).
        """
        out = set()
        if self.has_fixed_charges:
            out.add("fixed_charges")
        if any(link.unit_costs is not None for link in self.links):
            out.add("link_prices")
        if any(link.has_random_key_rate for link in self.links):
            out.add("link_states")
        if any(req.targets for req in self.requests):
            out.add("providers")
        return frozenset(out)

    @cached_property
    def provider_capacity(self) -> dict[str, int | None]:
        """Capacity of each provider named by a target or listed (``None``: unlimited)."""
        out: dict[str, int | None] = {}
        for req in self.requests:
            for t in req.targets:
                out.setdefault(str(t.provider), None)
        for prov in self.providers:
            out[prov.id] = None if prov.capacity is None else int(prov.capacity)
        return out

    @cached_property
    def has_fixed_charges(self) -> bool:
        """Whether any link or node has a positive fixed charge (X1)."""
        return any(v > 0 for v in self.node_fixed_costs.values()) or any(
            self.link_fixed_cost(k) > 0 for k in range(len(self.links))
        )

    def path_arcs(self, path: Sequence[Any]) -> list[int]:
        """Arc ids along a node path.

        Raises
        ------
        InputError
            If two consecutive nodes are not joined by an arc.
        """
        out = []
        for i in range(len(path) - 1):
            a = self.arc_index.get((path[i], path[i + 1]))
            if a is None:
                raise InputError(
                    f"no arc {path[i]!r}->{path[i + 1]!r} in the topology", f"path[{i}]"
                )
            out.append(a)
        return out

    def with_requests(self, requests: Iterable[Request], name: str | None = None) -> Instance:
        """A copy of this instance with other requests."""
        return replace(self, requests=tuple(requests), name=name or self.name)


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Route:
    """One request's first-stage decision: its path and per-arc reservations.

    Parameters
    ----------
    request_id : str
    path : tuple
        Node ids from source to target.
    reserve_qkd, reserve_km : tuple of int
        Wavelengths reserved on arc ``path[i] -> path[i+1]`` (the paper's
        ``y^r`` and ``z^r``).
    provider : str, optional
        For an anycast request (X3), the provider of the chosen target; the path
        ends at that target's node.
    """

    request_id: str
    path: tuple
    reserve_qkd: tuple
    reserve_km: tuple
    provider: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.path))
        object.__setattr__(self, "reserve_qkd", tuple(self.reserve_qkd))
        object.__setattr__(self, "reserve_km", tuple(self.reserve_km))


@dataclass(frozen=True)
class Plan:
    """A complete first-stage plan: a route with reservations for every request.

    Parameters
    ----------
    instance_name : str
        Name of the instance the plan is for (the plan file's ``instance`` key).
    planner : str
        Name of the planner that made it.
    routes : tuple of Route
    stats : Mapping
        Free-form run information: ``runtime_s``, ``status`` (one of
        ``optimal``, ``feasible``, ``heuristic``, ``infeasible``, ``error``), and
        for exact plans ``bound`` and ``gap``.
    """

    instance_name: str
    planner: str
    routes: tuple[Route, ...]
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(self.routes))

    @property
    def status(self) -> str:
        """``stats['status']`` (``heuristic`` if absent)."""
        return str(self.stats.get("status", "heuristic"))

    def route_of(self, request_id: str) -> Route:
        """The route of a request id (``KeyError`` if absent)."""
        for r in self.routes:
            if r.request_id == request_id:
                return r
        raise KeyError(request_id)

    def with_stats(self, **stats: Any) -> Plan:
        """A copy with ``stats`` updated."""
        return replace(self, stats={**self.stats, **stats})
