"""The planning model: instances, requests, key-rate demands, costs and plans.

This module is the project's statement of ``MODEL.md`` in code. It holds the
frozen data objects every other layer reads, the arrays derived from them once
per instance (per-arc unit costs ``c_y[ph]``, ``c_z[ph]``; per-request sorted
key-rate supports), and the JSON readers and writers of the instance and plan
files (``qkdbench-instance/1``, ``qkdbench-plan/1``).

It imports nothing else of the package.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

__all__ = [
    "InputError",
    "PHASES",
    "COMPONENTS",
    "QKD_WAVELENGTHS_PER_LINK",
    "KM_WAVELENGTHS_PER_LINK",
    "CostTable",
    "Params",
    "Link",
    "Demand",
    "Request",
    "ArcArrays",
    "SupportArrays",
    "Instance",
    "Route",
    "Plan",
    "qkd_links_needed",
    "mdi_segments",
    "read_instance",
    "write_instance",
    "instance_from_dict",
    "instance_to_dict",
    "read_plan",
    "write_plan",
    "plan_from_dict",
    "plan_to_dict",
    "INSTANCE_FORMAT",
    "PLAN_FORMAT",
]

INSTANCE_FORMAT = "qkdbench-instance/1"
PLAN_FORMAT = "qkdbench-plan/1"

#: Phases of Table I: reservation, use of a reserved wavelength, on-demand.
PHASES: tuple[str, ...] = ("r", "e", "o")
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

_STATUSES = ("optimal", "feasible", "heuristic", "infeasible", "error")


class InputError(ValueError):
    """Bad input: a file, a place in it and what is wrong, on one line.

    Parameters
    ----------
    problem : str
        What is wrong.
    place : str, optional
        Where, e.g. ``links[3].length_km``.
    source : str, optional
        The file (or other origin) the input came from.
    """

    def __init__(self, problem: str, place: str = "", source: str = ""):
        self.problem = problem
        self.place = place
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [p for p in (self.source, self.place) if p]
        return ": ".join(parts + [self.problem])

    def located(self, source: str) -> "InputError":
        """Return the same error attributed to ``source`` (a file name)."""
        return InputError(self.problem, self.place, source)


def _check_number(value: Any, place: str, *, positive: bool = False,
                  nonneg: bool = False, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"expected a number, got {value!r}", place)
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"must be finite, got {value!r}", place)
    if positive and v <= 0:
        raise InputError(f"must be positive, got {value!r}", place)
    if nonneg and v < 0:
        raise InputError(f"must be non-negative, got {value!r}", place)
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

    r: Mapping[str, float] = field(default_factory=lambda: {
        "tx": 1500.0, "rx": 2250.0, "km": 1200.0, "si": 150.0, "md": 300.0, "ch": 1.0})
    e: Mapping[str, float] = field(default_factory=lambda: {
        "tx": 1500.0, "rx": 2250.0, "km": 1200.0, "si": 150.0, "md": 300.0, "ch": 1.0})
    o: Mapping[str, float] = field(default_factory=lambda: {
        "tx": 6000.0, "rx": 9000.0, "km": 3000.0, "si": 500.0, "md": 900.0, "ch": 4.0})

    def __post_init__(self) -> None:
        for ph in PHASES:
            table = getattr(self, ph)
            if not isinstance(table, Mapping):
                raise InputError("expected an object of component costs", f"costs.{ph}")
            unknown = set(table) - set(COMPONENTS)
            if unknown:
                raise InputError(f"unknown cost component {sorted(unknown)[0]!r}",
                                 f"costs.{ph}")
            missing = [c for c in COMPONENTS if c not in table]
            if missing:
                raise InputError(f"missing cost component {missing[0]!r}", f"costs.{ph}")
            clean = {c: _check_number(table[c], f"costs.{ph}.{c}", nonneg=True)
                     for c in COMPONENTS}
            object.__setattr__(self, ph, clean)

    def matrix(self) -> np.ndarray:
        """Return the costs as a ``(3, 6)`` array, rows ``PHASES``, columns ``COMPONENTS``."""
        return np.array([[getattr(self, ph)[c] for c in COMPONENTS] for ph in PHASES])

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {ph: dict(getattr(self, ph)) for ph in PHASES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CostTable":
        """Build from ``{"r": {...}, "e": {...}, "o": {...}}``; missing phases default."""
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
        _check_number(self.span_km, "params.span_km", positive=True)
        _check_number(self.key_rate_kbps, "params.key_rate_kbps", positive=True)
        _check_number(self.W_qkd, "params.W_qkd", nonneg=True, integer=True)
        _check_number(self.W_kml, "params.W_kml", nonneg=True, integer=True)
        _check_number(self.hop_cost, "params.hop_cost", nonneg=True)
        object.__setattr__(self, "span_km", float(self.span_km))
        object.__setattr__(self, "key_rate_kbps", float(self.key_rate_kbps))
        object.__setattr__(self, "W_qkd", int(self.W_qkd))
        object.__setattr__(self, "W_kml", int(self.W_kml))
        object.__setattr__(self, "hop_cost", float(self.hop_cost))

    def to_dict(self) -> dict[str, float]:
        return {"span_km": self.span_km, "key_rate_kbps": self.key_rate_kbps,
                "W_qkd": self.W_qkd, "W_kml": self.W_kml, "hop_cost": self.hop_cost}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Params":
        if not isinstance(data, Mapping):
            raise InputError("expected an object", "params")
        known = {"span_km", "key_rate_kbps", "W_qkd", "W_kml", "hop_cost"}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown parameter {sorted(unknown)[0]!r}", "params")
        return cls(**dict(data))


_LINK_OVERRIDES = ("W_qkd", "W_kml", "span_km", "key_rate_kbps")


@dataclass(frozen=True)
class Link:
    """A fiber link ``u - v``; it gives the two arcs ``u->v`` and ``v->u``.

    Parameters
    ----------
    u, v : int or str
        End nodes, as given.
    length_km : float
        Fiber length ``e`` (> 0).
    W_qkd, W_kml, span_km, key_rate_kbps : optional
        Per-link overrides of the instance's :class:`Params`.
    """

    u: Any
    v: Any
    length_km: float
    W_qkd: int | None = None
    W_kml: int | None = None
    span_km: float | None = None
    key_rate_kbps: float | None = None


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
            raise InputError(f"{len(values)} values but {len(probs)} probabilities",
                             "demand.probs")
        v = tuple(_check_number(x, f"demand.values[{i}]", nonneg=True)
                  for i, x in enumerate(values))
        p = tuple(_check_number(x, f"demand.probs[{i}]") for i, x in enumerate(probs))
        for i, x in enumerate(p):
            if x <= 0:
                raise InputError(f"probability must be positive, got {x!r}",
                                 f"demand.probs[{i}]")
        total = math.fsum(p)
        if abs(total - 1.0) > 1e-9:
            raise InputError(f"probabilities sum to {total!r}, not 1", "demand.probs")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "probs", p)

    @classmethod
    def uniform(cls, max_rate: int) -> "Demand":
        """Key rate uniform on ``{0, 1, ..., max_rate}`` kbps (the paper's ``Omega_f``)."""
        if isinstance(max_rate, bool) or int(max_rate) != max_rate or max_rate < 0:
            raise InputError(f"max rate must be a non-negative integer, got {max_rate!r}",
                             "max_rate")
        if max_rate > MAX_UNIFORM_RATE:
            raise InputError(f"max rate {max_rate} is above {MAX_UNIFORM_RATE:,} (a support of "
                             "that many values per request)", "max_rate")
        n = int(max_rate) + 1
        return cls(tuple(float(k) for k in range(n)), tuple([1.0 / n] * n))

    @classmethod
    def empirical(cls, samples: Iterable[float]) -> "Demand":
        """The empirical distribution of observed key rates (equal weight per sample)."""
        arr = np.asarray(list(samples), dtype=float)
        if arr.size == 0:
            raise InputError("no samples", "samples")
        vals, counts = np.unique(arr, return_counts=True)
        return cls(tuple(float(x) for x in vals), tuple(float(c) / arr.size for c in counts))

    @classmethod
    def point(cls, value: float) -> "Demand":
        """A deterministic key rate."""
        return cls((float(value),), (1.0,))

    @property
    def mean(self) -> float:
        """Expected key rate ``E[kappa]`` in kbps."""
        return math.fsum(v * p for v, p in zip(self.values, self.probs))

    @property
    def max(self) -> float:
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
        return {"values": list(self.values), "probs": list(self.probs)}


@dataclass(frozen=True)
class Request:
    """A QKD-FL chain request ``f = (s_f, d_f, P_f)``.

    Parameters
    ----------
    id : str
        Request identifier (unique in an instance).
    source, target : int or str
        Node ids; must differ.
    demand : Demand
        Distribution of the key rate ``kappa_f``.
    """

    id: str
    source: Any
    target: Any
    demand: Demand


def qkd_links_needed(kappa: np.ndarray | float, key_rate_kbps: float) -> np.ndarray:
    """Number of parallel QKD links ``P = ceil(kappa / K_D - 1e-9)`` (Eq. 1).

    Examples
    --------
    >>> int(qkd_links_needed(1.1, 0.1))
    11
    """
    return np.maximum(0, np.ceil(np.asarray(kappa, dtype=float) / key_rate_kbps
                                 - CEIL_TOL)).astype(np.int64)


def mdi_segments(length_km: np.ndarray | float, span_km: np.ndarray | float) -> np.ndarray:
    """MDI segments on an arc, ``m = ceil(e / D - 1e-9)`` (Eqs. 2-8); at least 1."""
    return np.maximum(1, np.ceil(np.asarray(length_km, dtype=float)
                                 / np.asarray(span_km, dtype=float) - CEIL_TOL)).astype(np.int64)


# --------------------------------------------------------------------------- arrays


@dataclass(frozen=True, eq=False)
class ArcArrays:
    """Per-arc arrays of an instance, computed once.

    Arc ``2k`` is ``links[k].u -> links[k].v`` and arc ``2k + 1`` the reverse.

    Attributes
    ----------
    tail, head : ndarray of int64
        Node indices (positions in ``Instance.nodes``).
    length_km, span_km, key_rate_kbps : ndarray of float64
    W_qkd, W_kml : ndarray of int64
        Reservation capacities.
    segments : ndarray of int64
        ``m = ceil(e / D)``.
    coef_y : ndarray (6, A)
        Count of each component (``COMPONENTS`` order) per QKD wavelength:
        ``tx = 2m/3``, ``rx = m/3``, ``ch = e``.
    coef_z : ndarray (6, A)
        Count per KM wavelength: ``km = m+1``, ``si = m-1``, ``md = 2m-1``, ``ch = e``.
    c_y, c_z : ndarray (3, A)
        Unit cost of one QKD / KM wavelength per phase (``PHASES`` order).
    hop : ndarray (A,)
        Route cost per arc used.
    """

    tail: np.ndarray
    head: np.ndarray
    length_km: np.ndarray
    span_km: np.ndarray
    key_rate_kbps: np.ndarray
    W_qkd: np.ndarray
    W_kml: np.ndarray
    segments: np.ndarray
    coef_y: np.ndarray
    coef_z: np.ndarray
    c_y: np.ndarray
    c_z: np.ndarray
    hop: np.ndarray

    @property
    def n(self) -> int:
        return int(self.tail.size)


@dataclass(frozen=True, eq=False)
class SupportArrays:
    """Per-request key-rate supports, sorted, in CSR form, for the evaluator.

    Request ``f`` owns positions ``ptr[f]:ptr[f+1]``. Arcs are grouped into
    classes of equal key rate ``K_D``; ``links[c, s]`` is the number of QKD links
    ``P`` (Eq. 1) needed at support point ``s`` on an arc of class ``c``.

    Attributes
    ----------
    ptr : ndarray (F+1,) int64
    kappa : ndarray (S,) float64
        Support values, ascending within each request.
    prob : ndarray (S,) float64
    survival : ndarray (S,) float64
        ``Pr(kappa > kappa[s])`` within the request (exactly 0 at its largest value).
    rate_classes : ndarray (C,) float64
        Distinct key rates ``K_D``.
    arc_class : ndarray (A,) int64
        Class of each arc.
    links : ndarray (C, S) int64
        ``P`` at each support point, non-decreasing within a request.
    partial_links : ndarray (C, S) float64
        ``sum_{t <= s} prob[t] * links[c, t]`` within the request.
    mean_links : ndarray (C, F) float64
        ``E[P]`` per class and request.
    used_ptr : ndarray (C, F+1) int64
        CSR offsets into :attr:`used_table` per class and request.
    used_table : ndarray float64
        ``used_table[used_ptr[c, f] + y] = E[min(y, 3 P)]`` for integer
        ``y = 0 .. 3 max(P)`` (KM reads it at ``3 z`` and divides by 3). Empty
        for a (class, request) whose table would be too large; the evaluator
        then searches the sorted support instead.
    """

    ptr: np.ndarray
    kappa: np.ndarray
    prob: np.ndarray
    survival: np.ndarray
    rate_classes: np.ndarray
    arc_class: np.ndarray
    links: np.ndarray
    partial_links: np.ndarray
    mean_links: np.ndarray
    used_ptr: np.ndarray
    used_table: np.ndarray


#: Largest total size of the expected-use lookup tables (entries).
USED_TABLE_LIMIT = 4_000_000


# --------------------------------------------------------------------------- instance


@dataclass(frozen=True)
class Instance:
    """A planning instance: topology, parameters, costs and requests.

    Construction validates everything (see ``InputError``); the derived arrays
    (:attr:`arcs`, :attr:`support`, :attr:`graph`) are computed once on first use.

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

    Examples
    --------
    >>> inst = Instance(nodes=(1, 2), links=(Link(1, 2, 200.0),),
    ...                 requests=(Request("f0", 1, 2, Demand.uniform(2)),))
    >>> inst.arcs.n, int(inst.arcs.segments[0])
    (2, 2)
    """

    nodes: tuple
    links: tuple[Link, ...]
    requests: tuple[Request, ...] = ()
    params: Params = field(default_factory=Params)
    costs: CostTable = field(default_factory=CostTable)
    name: str = "instance"
    node_names: Mapping[Any, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "links", tuple(self.links))
        object.__setattr__(self, "requests", tuple(self.requests))
        self._validate()

    # ---- validation
    def _validate(self) -> None:
        index: dict[Any, int] = {}
        for i, n in enumerate(self.nodes):
            if isinstance(n, bool) or not isinstance(n, (int, str)):
                raise InputError(f"node id must be an integer or a string, got {n!r}",
                                 f"nodes[{i}].id")
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
                raise InputError(f"duplicate link {link.u!r}-{link.v!r} "
                                 f"(also links[{seen[key]}])", place)
            seen[key] = k
            _check_number(link.length_km, f"{place}.length_km", positive=True)
            for attr in ("W_qkd", "W_kml"):
                if getattr(link, attr) is not None:
                    _check_number(getattr(link, attr), f"{place}.{attr}", nonneg=True,
                                  integer=True)
            for attr in ("span_km", "key_rate_kbps"):
                if getattr(link, attr) is not None:
                    _check_number(getattr(link, attr), f"{place}.{attr}", positive=True)
            span = link.span_km if link.span_km is not None else self.params.span_km
            if float(link.length_km) / span > MAX_COUNT:
                raise InputError(f"length {link.length_km!r} km over a span of {span!r} km "
                                 f"gives more than {MAX_COUNT:.0e} MDI segments", place)
        ids: dict[str, int] = {}
        graph = None
        min_rate = min([self.params.key_rate_kbps] + [float(link.key_rate_kbps) for link in
                                                       self.links
                                                       if link.key_rate_kbps is not None])
        for k, req in enumerate(self.requests):
            place = f"requests[{k}]"
            if not isinstance(req.id, str) or not req.id:
                raise InputError(f"request id must be a non-empty string, got {req.id!r}",
                                 f"{place}.id")
            if req.id in ids:
                raise InputError(f"duplicate request id {req.id!r}", f"{place}.id")
            ids[req.id] = k
            for end in ("source", "target"):
                if getattr(req, end) not in index:
                    raise InputError(f"unknown node {getattr(req, end)!r}", f"{place}.{end}")
            if req.source == req.target:
                raise InputError(f"source and target are both {req.source!r}", place)
            if not isinstance(req.demand, Demand):
                raise InputError("demand must be a Demand", f"{place}.demand")
            if req.demand.max / min_rate > MAX_COUNT:
                i = req.demand.values.index(req.demand.max)
                raise InputError(f"key rate {req.demand.max!r} kbps needs more than "
                                 f"{MAX_COUNT:.0e} QKD links of {min_rate!r} kbps",
                                 f"{place}.demand.values[{i}]")
            if graph is None:
                graph = nx.Graph()
                graph.add_nodes_from(self.nodes)
                graph.add_edges_from((link.u, link.v) for link in self.links)
            if not nx.has_path(graph, req.source, req.target):
                raise InputError(f"target {req.target!r} is unreachable from "
                                 f"source {req.source!r}", place)

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
    def arcs(self) -> ArcArrays:
        """Per-arc arrays and unit costs (MODEL.md, "Counting")."""
        p = self.params
        idx = self.node_index
        n_arcs = 2 * len(self.links)

        def per_arc(attr: str, default: float, dtype) -> np.ndarray:
            vals = [getattr(link, attr) if getattr(link, attr) is not None else default
                    for link in self.links]
            return np.repeat(np.asarray(vals, dtype=dtype), 2) if vals else np.zeros(0, dtype)

        tail = np.empty(n_arcs, dtype=np.int64)
        head = np.empty(n_arcs, dtype=np.int64)
        for k, link in enumerate(self.links):
            tail[2 * k], head[2 * k] = idx[link.u], idx[link.v]
            tail[2 * k + 1], head[2 * k + 1] = idx[link.v], idx[link.u]
        length = np.repeat(np.asarray([float(l.length_km) for l in self.links], float), 2) \
            if self.links else np.zeros(0)
        span = per_arc("span_km", p.span_km, float)
        rate = per_arc("key_rate_kbps", p.key_rate_kbps, float)
        w_qkd = per_arc("W_qkd", p.W_qkd, np.int64)
        w_kml = per_arc("W_kml", p.W_kml, np.int64)
        m = mdi_segments(length, span).astype(float)
        zero = np.zeros_like(m)
        # rows in COMPONENTS order: tx, rx, km, si, md, ch
        coef_y = np.vstack([2.0 * m / QKD_WAVELENGTHS_PER_LINK, m / QKD_WAVELENGTHS_PER_LINK,
                            zero, zero, zero, length])
        coef_z = np.vstack([zero, zero, m + 1.0, m - 1.0, 2.0 * m - 1.0, length])
        cm = self.costs.matrix()  # (3 phases, 6 components)
        c_y = cm @ coef_y
        c_z = cm @ coef_z
        hop = np.full(n_arcs, p.hop_cost)
        arrays = ArcArrays(tail, head, length, span, rate, w_qkd, w_kml,
                           m.astype(np.int64), coef_y, coef_z, c_y, c_z, hop)
        for a in vars(arrays).values():
            a.setflags(write=False)
        return arrays

    @cached_property
    def support(self) -> SupportArrays:
        """Sorted key-rate supports and QKD-link counts per key-rate class."""
        n_req = len(self.requests)
        ptr = np.zeros(n_req + 1, dtype=np.int64)
        kappas, probs = [], []
        for f, req in enumerate(self.requests):
            order = np.argsort(np.asarray(req.demand.values), kind="stable")
            kappas.append(np.asarray(req.demand.values, float)[order])
            probs.append(np.asarray(req.demand.probs, float)[order])
            ptr[f + 1] = ptr[f] + order.size
        kappa = np.concatenate(kappas) if kappas else np.zeros(0)
        prob = np.concatenate(probs) if probs else np.zeros(0)
        classes, arc_class = np.unique(self.arcs.key_rate_kbps, return_inverse=True)
        if classes.size == 0:
            classes = np.asarray([self.params.key_rate_kbps])
        n_cls = classes.size
        links = np.zeros((n_cls, kappa.size), dtype=np.int64)
        partial = np.zeros((n_cls, kappa.size))
        mean = np.zeros((n_cls, n_req))
        survival = np.zeros(kappa.size)
        for f in range(n_req):
            sl = slice(ptr[f], ptr[f + 1])
            tail = np.cumsum(prob[sl][::-1])[::-1]  # Pr(kappa >= kappa_s)
            survival[sl] = np.append(tail[1:], 0.0)
            for c, rate in enumerate(classes):
                links[c, sl] = qkd_links_needed(kappa[sl], rate)
                partial[c, sl] = np.cumsum(prob[sl] * links[c, sl])
                mean[c, f] = partial[c, ptr[f + 1] - 1]
        # expected QKD wavelengths used out of y reserved, for every integer y
        w = QKD_WAVELENGTHS_PER_LINK
        sizes = np.array([[w * int(links[c, ptr[f + 1] - 1]) + 1 if ptr[f + 1] > ptr[f] else 0
                           for f in range(n_req)] for c in range(n_cls)], dtype=np.int64)
        if sizes.sum() > USED_TABLE_LIMIT:
            sizes[:] = 0
        used_ptr = np.zeros((n_cls, n_req + 1), dtype=np.int64)
        used_ptr[:, 1:] = np.cumsum(sizes.ravel()).reshape(n_cls, n_req)
        used_ptr[1:, 0] = used_ptr[:-1, -1]
        table = np.zeros(int(sizes.sum()))
        for c in range(n_cls):
            for f in range(n_req):
                if sizes[c, f]:
                    sl = slice(ptr[f], ptr[f + 1])
                    y = np.arange(sizes[c, f], dtype=float)
                    table[used_ptr[c, f]:used_ptr[c, f] + sizes[c, f]] = \
                        np.minimum.outer(y, w * links[c, sl].astype(float)) @ prob[sl]
        arrays = SupportArrays(ptr, kappa, prob, survival, classes.astype(float),
                               arc_class.astype(np.int64).reshape(-1), links, partial, mean,
                               used_ptr, table)
        for a in vars(arrays).values():
            a.setflags(write=False)
        return arrays

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Directed graph of the arcs, edge attributes ``arc`` (id) and ``length_km``.

        Treat it as read-only; it is shared by every caller.
        """
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for (u, v), a in self.arc_index.items():
            g.add_edge(u, v, arc=a, length_km=float(self.arcs.length_km[a]))
        return g

    # ---- conveniences
    @property
    def n_requests(self) -> int:
        return len(self.requests)

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
                raise InputError(f"no arc {path[i]!r}->{path[i + 1]!r} in the topology",
                                 f"path[{i}]")
            out.append(a)
        return out

    def with_requests(self, requests: Iterable[Request], name: str | None = None) -> "Instance":
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
    """

    request_id: str
    path: tuple
    reserve_qkd: tuple
    reserve_km: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.path))
        object.__setattr__(self, "reserve_qkd", tuple(self.reserve_qkd))
        object.__setattr__(self, "reserve_km", tuple(self.reserve_km))


@dataclass(frozen=True)
class Plan:
    """A complete first-stage plan: a route with reservations for every request.

    Parameters
    ----------
    instance : str
        Name of the instance the plan is for.
    planner : str
        Name of the planner that made it.
    routes : tuple of Route
    stats : Mapping
        Free-form run information: ``runtime_s``, ``status`` (one of
        ``optimal``, ``feasible``, ``heuristic``, ``infeasible``, ``error``), and
        for exact plans ``bound`` and ``gap``.
    """

    instance: str
    planner: str
    routes: tuple[Route, ...]
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(self.routes))

    @property
    def status(self) -> str:
        return str(self.stats.get("status", "heuristic"))

    def route_of(self, request_id: str) -> Route:
        for r in self.routes:
            if r.request_id == request_id:
                return r
        raise KeyError(request_id)

    def with_stats(self, **stats: Any) -> "Plan":
        """A copy with ``stats`` updated."""
        return replace(self, stats={**self.stats, **stats})


# --------------------------------------------------------------------------- JSON


def _load_json(path: str | os.PathLike) -> Any:
    src = os.fspath(path)
    try:
        with open(src, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", "", src) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", "", src) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}",
                         src) from None


def _require(obj: Mapping, key: str, place: str) -> Any:
    if not isinstance(obj, Mapping):
        raise InputError("expected an object", place)
    if key not in obj:
        raise InputError(f"missing key {key!r}", place)
    return obj[key]


def _node_id(value: Any, place: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"node id must be an integer or a string, got {value!r}", place)
    return value


def instance_from_dict(data: Mapping[str, Any]) -> Instance:
    """Build an :class:`Instance` from a ``qkdbench-instance/1`` object.

    Raises
    ------
    InputError
        Naming the place (e.g. ``links[3].length_km``) and the problem.
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a JSON object at the top level")
    fmt = data.get("format")
    if fmt != INSTANCE_FORMAT:
        raise InputError(f"unsupported format {fmt!r}, expected {INSTANCE_FORMAT!r}", "format")
    params = Params.from_dict(data.get("params", {}))
    costs = CostTable.from_dict(data.get("costs", {}))
    raw_nodes = _require(data, "nodes", "")
    if not isinstance(raw_nodes, list):
        raise InputError("expected a list", "nodes")
    nodes, names = [], {}
    for i, n in enumerate(raw_nodes):
        nid = _node_id(_require(n, "id", f"nodes[{i}]"), f"nodes[{i}].id")
        nodes.append(nid)
        if isinstance(n, Mapping) and n.get("name") is not None:
            names[nid] = str(n["name"])
    raw_links = _require(data, "links", "")
    if not isinstance(raw_links, list):
        raise InputError("expected a list", "links")
    links = []
    for k, ln in enumerate(raw_links):
        place = f"links[{k}]"
        u = _node_id(_require(ln, "u", place), f"{place}.u")
        v = _node_id(_require(ln, "v", place), f"{place}.v")
        length = _check_number(_require(ln, "length_km", place), f"{place}.length_km",
                               positive=True)
        extra = {}
        for attr in _LINK_OVERRIDES:
            if attr in ln:
                integer = attr.startswith("W_")
                val = _check_number(ln[attr], f"{place}.{attr}", nonneg=integer,
                                    positive=not integer, integer=integer)
                extra[attr] = int(val) if integer else val
        unknown = set(ln) - {"u", "v", "length_km", *_LINK_OVERRIDES}
        if unknown:
            raise InputError(f"unknown key {sorted(unknown)[0]!r}", place)
        links.append(Link(u, v, length, **extra))
    raw_reqs = data.get("requests", [])
    if not isinstance(raw_reqs, list):
        raise InputError("expected a list", "requests")
    reqs = []
    for k, rq in enumerate(raw_reqs):
        place = f"requests[{k}]"
        rid = _require(rq, "id", place)
        if isinstance(rid, bool) or not isinstance(rid, (str, int)):
            raise InputError(f"request id must be a string, got {rid!r}", f"{place}.id")
        src = _node_id(_require(rq, "source", place), f"{place}.source")
        dst = _node_id(_require(rq, "target", place), f"{place}.target")
        dem = _require(rq, "demand", place)
        values = _require(dem, "values", f"{place}.demand")
        probs = _require(dem, "probs", f"{place}.demand")
        if not isinstance(values, list) or not isinstance(probs, list):
            raise InputError("values and probs must be lists", f"{place}.demand")
        try:
            demand = Demand(tuple(values), tuple(probs))
        except InputError as exc:
            raise InputError(exc.problem, f"{place}.{exc.place}") from None
        reqs.append(Request(str(rid) if not isinstance(rid, str) else rid, src, dst, demand))
    return Instance(tuple(nodes), tuple(links), tuple(reqs), params, costs,
                    str(data.get("name", "instance")), names)


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    """The ``qkdbench-instance/1`` object of an instance."""
    links = []
    for link in instance.links:
        d = {"u": link.u, "v": link.v, "length_km": link.length_km}
        for attr in _LINK_OVERRIDES:
            if getattr(link, attr) is not None:
                d[attr] = getattr(link, attr)
        links.append(d)
    nodes = []
    for n in instance.nodes:
        d = {"id": n}
        if n in instance.node_names:
            d["name"] = instance.node_names[n]
        nodes.append(d)
    return {
        "format": INSTANCE_FORMAT,
        "name": instance.name,
        "params": instance.params.to_dict(),
        "costs": instance.costs.to_dict(),
        "nodes": nodes,
        "links": links,
        "requests": [{"id": r.id, "source": r.source, "target": r.target,
                      "demand": r.demand.to_dict()} for r in instance.requests],
    }


def _read(path: str | os.PathLike, from_dict) -> Any:
    data = _load_json(path)
    try:
        return from_dict(data)
    except InputError as exc:
        raise exc.located(os.fspath(path)) from None


def _write(data: dict, path: str | os.PathLike) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
    except OSError as exc:
        raise InputError(f"cannot write file ({exc.strerror or exc})", "",
                         os.fspath(path)) from None


def read_instance(path: str | os.PathLike) -> Instance:
    """Read and validate an instance file.

    Raises
    ------
    InputError
        ``FILE: PLACE: problem`` for an unreadable, malformed or invalid file.
    """
    return _read(path, instance_from_dict)


def write_instance(instance: Instance, path: str | os.PathLike) -> None:
    """Write an instance file."""
    _write(instance_to_dict(instance), path)


def _to_jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.ndarray):
        return _to_jsonable(obj.tolist())
    return obj


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The ``qkdbench-plan/1`` object of a plan."""
    return {
        "format": PLAN_FORMAT,
        "instance": plan.instance,
        "planner": plan.planner,
        "requests": [{"id": r.request_id, "path": list(r.path),
                      "reserve_qkd": _to_jsonable(list(r.reserve_qkd)),
                      "reserve_km": _to_jsonable(list(r.reserve_km))} for r in plan.routes],
        "stats": _to_jsonable(dict(plan.stats)),
    }


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """Build a :class:`Plan` from a ``qkdbench-plan/1`` object (structure only).

    Whether the plan fits an instance (paths on existing arcs, capacities) is
    the evaluator's question, not the reader's.
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a JSON object at the top level")
    fmt = data.get("format")
    if fmt != PLAN_FORMAT:
        raise InputError(f"unsupported format {fmt!r}, expected {PLAN_FORMAT!r}", "format")
    raw = _require(data, "requests", "")
    if not isinstance(raw, list):
        raise InputError("expected a list", "requests")
    routes = []
    for k, rq in enumerate(raw):
        place = f"requests[{k}]"
        rid = _require(rq, "id", place)
        path = _require(rq, "path", place)
        if not isinstance(path, list) or len(path) < 2:
            raise InputError("path must list at least two nodes", f"{place}.path")
        for i, n in enumerate(path):
            _node_id(n, f"{place}.path[{i}]")
        res = {}
        for key in ("reserve_qkd", "reserve_km"):
            vals = rq.get(key, [0] * (len(path) - 1))
            if not isinstance(vals, list) or len(vals) != len(path) - 1:
                raise InputError(f"expected a list of {len(path) - 1} numbers, one per arc",
                                 f"{place}.{key}")
            clean = []
            for i, x in enumerate(vals):
                v = _check_number(x, f"{place}.{key}[{i}]")
                clean.append(int(v) if v == int(v) else v)
            res[key] = tuple(clean)
        routes.append(Route(str(rid), tuple(path), res["reserve_qkd"], res["reserve_km"]))
    stats = data.get("stats", {})
    if not isinstance(stats, Mapping):
        raise InputError("expected an object", "stats")
    status = stats.get("status")
    if status is not None and status not in _STATUSES:
        raise InputError(f"unknown status {status!r}", "stats.status")
    return Plan(str(data.get("instance", "")), str(data.get("planner", "")), tuple(routes),
                dict(stats))


def read_plan(path: str | os.PathLike) -> Plan:
    """Read a plan file.

    Raises
    ------
    InputError
        ``FILE: PLACE: problem`` for an unreadable, malformed or invalid file.
    """
    return _read(path, plan_from_dict)


def write_plan(plan: Plan, path: str | os.PathLike) -> None:
    """Write a plan file."""
    _write(plan_to_dict(plan), path)
