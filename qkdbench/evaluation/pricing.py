"""Pricing: the per-arc unit costs and the key-rate tables the evaluator reads.

One topic, kept in one module: the per-instance tables every cost is computed from.

From an :class:`~qkdbench.model.Instance` this module derives, once per
instance, the arrays every cost in qkdbench is computed from (see
``docs/model.md``, "Counting" and "Expected cost"):

* :func:`arc_table`: per arc, its ends, length, span, key rate, reservation
  capacities, MDI-segment count ``m``, the component counts of one QKD and one KM
  wavelength, and their unit cost per phase (reservation, reserved-use,
  on-demand) from the cost table;
* :func:`support_table`: per request, its key-rate support sorted, in CSR form,
  with the QKD links needed at each support point per key-rate class, partial
  sums and the expected-use lookup tables.

Examples
--------
>>> from qkdbench.model import Demand, Instance, Link, Request
>>> inst = Instance(nodes=(1, 2), links=(Link(1, 2, 200.0),),
...                 requests=(Request("f0", 1, 2, Demand.uniform(2)),))
>>> arcs = arc_table(inst)
>>> arcs.n, int(arcs.segments[0])
(2, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ..model import CEIL_TOL, QKD_WAVELENGTHS_PER_LINK, Instance

__all__ = [
    "ArcArrays",
    "SupportArrays",
    "FixedCharges",
    "arc_table",
    "support_table",
    "fixed_charges",
    "qkd_links_needed",
    "mdi_segments",
    "link_rate_states",
    "ProviderArrays",
    "provider_table",
    "ScenarioArrays",
    "scenario_table",
    "USED_TABLE_LIMIT",
]


def qkd_links_needed(kappa: np.ndarray | float, key_rate_kbps: float) -> np.ndarray:
    """Number of parallel QKD links ``P = ceil(kappa / K_D - 1e-9)`` (Eq. 1).

    Parameters
    ----------
    kappa : float or ndarray
        Key rates (kbps).
    key_rate_kbps : float
        ``K_D``, the key rate of one QKD link (> 0).

    Returns
    -------
    ndarray of int64
        Shaped as ``kappa``; 0 for a key rate of 0.

    Examples
    --------
    >>> int(qkd_links_needed(1.1, 0.1))
    11
    """
    return np.maximum(0, np.ceil(np.asarray(kappa, dtype=float) / key_rate_kbps - CEIL_TOL)).astype(
        np.int64
    )


def mdi_segments(length_km: np.ndarray | float, span_km: np.ndarray | float) -> np.ndarray:
    """MDI segments on an arc, ``m = ceil(e / D - 1e-9)`` (Eqs. 2-8); at least 1.

    Parameters
    ----------
    length_km : float or ndarray
        Arc lengths ``e``.
    span_km : float or ndarray
        Spans ``D`` (> 0), broadcast against ``length_km``.

    Returns
    -------
    ndarray of int64
    """
    return np.maximum(
        1, np.ceil(np.asarray(length_km, dtype=float) / np.asarray(span_km, dtype=float) - CEIL_TOL)
    ).astype(np.int64)


@dataclass(frozen=True, eq=False)
class ArcArrays:
    """Per-arc arrays of an instance (:func:`arc_table`), computed once.

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
    priced : ndarray (A,) bool
        Arcs of links whose ``unit_costs`` replace the Table I derivation;
        their component counts are 0 and their cost is reported as ``unit``.

    ``key_rate_kbps`` holds each arc's *mean* key rate; the distribution of a
    random key rate is in :func:`support_table`.
    """

    tail: NDArray[np.int64]
    head: NDArray[np.int64]
    length_km: NDArray[np.float64]
    span_km: NDArray[np.float64]
    key_rate_kbps: NDArray[np.float64]
    W_qkd: NDArray[np.int64]
    W_kml: NDArray[np.int64]
    segments: NDArray[np.int64]
    coef_y: NDArray[np.float64]
    coef_z: NDArray[np.float64]
    c_y: NDArray[np.float64]
    c_z: NDArray[np.float64]
    hop: NDArray[np.float64]
    priced: NDArray[np.bool_]

    @property
    def n(self) -> int:
        """Number of arcs."""
        return int(self.tail.size)


@dataclass(frozen=True, eq=False)
class SupportArrays:
    """Key-rate supports and the QKD-link counts they imply, in CSR form, for the evaluator.

    Request ``f`` owns positions ``ptr[f]:ptr[f+1]`` of its sorted demand
    support. Arcs are grouped into *key-rate classes*: arcs whose links have the
    same key-rate distribution (a fixed ``K_D`` is a one-state distribution; a
    random link may have several states). For class ``c`` and request ``f`` the number
    of QKD links ``P = ceil(kappa / K - 1e-9)`` (Eq. 1) has a discrete
    distribution over the product of the demand and the link state; its distinct
    values, ascending, are ``links[lptr[c, f]:lptr[c, f+1]]`` with probabilities
    ``link_prob`` at the same positions.

    Attributes
    ----------
    ptr : ndarray (F+1,) int64
    kappa : ndarray (S,) float64
        Demand support values, ascending within each request.
    prob : ndarray (S,) float64
    class_ptr : ndarray (C+1,) int64
        Class ``c``'s key-rate states are ``class_rates[class_ptr[c]:class_ptr[c+1]]``.
    class_rates, class_probs : ndarray float64
        Key-rate states (kbps) and their probabilities, per class.
    arc_class : ndarray (A,) int64
        Class of each arc (both arcs of a link share it).
    lptr : ndarray (C, F+1) int64
        CSR offsets of the distribution of ``P`` per (class, request).
    links : ndarray int64
        Distinct values of ``P``, ascending within each (class, request).
    link_prob : ndarray float64
        ``Pr(P = links[i])``.
    survival : ndarray float64
        ``Pr(P > links[i])`` within the (class, request) (exactly 0 at its largest).
    partial_links : ndarray float64
        ``sum_{j <= i} link_prob[j] * links[j]`` within the (class, request).
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

    ptr: NDArray[np.int64]
    kappa: NDArray[np.float64]
    prob: NDArray[np.float64]
    class_ptr: NDArray[np.int64]
    class_rates: NDArray[np.float64]
    class_probs: NDArray[np.float64]
    arc_class: NDArray[np.int64]
    lptr: NDArray[np.int64]
    links: NDArray[np.int64]
    link_prob: NDArray[np.float64]
    survival: NDArray[np.float64]
    partial_links: NDArray[np.float64]
    mean_links: NDArray[np.float64]
    used_ptr: NDArray[np.int64]
    used_table: NDArray[np.float64]

    @property
    def n_classes(self) -> int:
        """Number of key-rate classes."""
        return int(self.class_ptr.size - 1)

    def link_counts(self, c: int, f: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct QKD-link counts ``P`` of request ``f`` on class ``c``, with probabilities.

        Parameters
        ----------
        c : int
            Key-rate class.
        f : int
            Request position.

        Returns
        -------
        links : ndarray of int64
            Distinct values of ``P``, ascending.
        link_prob : ndarray of float64
            Their probabilities (views into :attr:`links` and :attr:`link_prob`).
        """
        sl = slice(self.lptr[c, f], self.lptr[c, f + 1])
        return self.links[sl], self.link_prob[sl]

    def rates(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Key-rate states of class ``c`` and their probabilities.

        Parameters
        ----------
        c : int
            Key-rate class.

        Returns
        -------
        rates : ndarray of float64
            Key rates (kbps), ascending.
        probs : ndarray of float64
            Their probabilities.
        """
        sl = slice(self.class_ptr[c], self.class_ptr[c + 1])
        return self.class_rates[sl], self.class_probs[sl]


#: Largest total size of the expected-use lookup tables (entries).
USED_TABLE_LIMIT = 4_000_000


def link_rate_states(instance: Instance, k: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Key-rate states of link ``k`` and their probabilities (one state when fixed).

    Parameters
    ----------
    instance : Instance
        Its ``params.key_rate_kbps`` is the default rate.
    k : int
        Link position.

    Returns
    -------
    rates, probs : tuple of float
        As :meth:`~qkdbench.model.Link.key_rate_states`.
    """
    return instance.links[k].key_rate_states(instance.params.key_rate_kbps)


def _make_arc_table(instance: Instance) -> ArcArrays:
    p = instance.params
    idx = instance.node_index
    n_arcs = 2 * len(instance.links)

    def per_arc(attr: str, default: float, dtype: DTypeLike) -> np.ndarray:
        vals = [
            getattr(link, attr) if getattr(link, attr) is not None else default
            for link in instance.links
        ]
        return np.repeat(np.asarray(vals, dtype=dtype), 2) if vals else np.zeros(0, dtype)

    tail = np.empty(n_arcs, dtype=np.int64)
    head = np.empty(n_arcs, dtype=np.int64)
    for k, link in enumerate(instance.links):
        tail[2 * k], head[2 * k] = idx[link.u], idx[link.v]
        tail[2 * k + 1], head[2 * k + 1] = idx[link.v], idx[link.u]
    length = (
        np.repeat(np.asarray([float(ln.length_km) for ln in instance.links], float), 2)
        if instance.links
        else np.zeros(0)
    )
    span = per_arc("span_km", p.span_km, float)
    # mean key rate (a fixed rate is its own mean): a summary for reports and heuristics
    rate = (
        np.repeat(
            np.asarray(
                [
                    float(np.dot(*link_rate_states(instance, k)[::-1]))
                    for k in range(len(instance.links))
                ],
                float,
            ),
            2,
        )
        if instance.links
        else np.zeros(0)
    )
    w_qkd = per_arc("W_qkd", p.W_qkd, np.int64)
    w_kml = per_arc("W_kml", p.W_kml, np.int64)
    m = mdi_segments(length, span).astype(float)
    zero = np.zeros_like(m)
    # rows in COMPONENTS order: tx, rx, km, si, md, ch
    coef_y = np.vstack(
        [2.0 * m / QKD_WAVELENGTHS_PER_LINK, m / QKD_WAVELENGTHS_PER_LINK, zero, zero, zero, length]
    )
    coef_z = np.vstack([zero, zero, m + 1.0, m - 1.0, 2.0 * m - 1.0, length])
    priced = np.zeros(n_arcs, dtype=bool)
    for k, link in enumerate(instance.links):
        if link.unit_costs is not None:  # link prices: given directly, no Table I counts
            priced[2 * k : 2 * k + 2] = True
    coef_y[:, priced] = 0.0
    coef_z[:, priced] = 0.0
    cm = instance.costs.matrix()  # (3 phases, 6 components)
    c_y = cm @ coef_y
    c_z = cm @ coef_z
    for k, link in enumerate(instance.links):
        if link.unit_costs is not None:
            for a in (2 * k, 2 * k + 1):
                c_y[:, a] = link.unit_costs.qkd
                c_z[:, a] = link.unit_costs.km
    hop = np.full(n_arcs, p.hop_cost)
    arrays = ArcArrays(
        tail,
        head,
        length,
        span,
        rate,
        w_qkd,
        w_kml,
        m.astype(np.int64),
        coef_y,
        coef_z,
        c_y,
        c_z,
        hop,
        priced,
    )
    for a in vars(arrays).values():
        a.setflags(write=False)
    return arrays


def arc_table(instance: Instance) -> ArcArrays:
    """Per-arc arrays and unit costs of ``instance`` (``docs/model.md``, "Counting").

    Computed once per instance and shared (read-only arrays).

    Parameters
    ----------
    instance : Instance
        The instance to price.

    Returns
    -------
    ArcArrays
    """
    return instance.derived("arc_table", _make_arc_table)


def _make_support_table(instance: Instance) -> SupportArrays:
    n_req = len(instance.requests)
    ptr = np.zeros(n_req + 1, dtype=np.int64)
    kappas, probs = [], []
    for f, req in enumerate(instance.requests):
        order = np.argsort(np.asarray(req.demand.values), kind="stable")
        kappas.append(np.asarray(req.demand.values, float)[order])
        probs.append(np.asarray(req.demand.probs, float)[order])
        ptr[f + 1] = ptr[f] + order.size
    kappa = np.concatenate(kappas) if kappas else np.zeros(0)
    prob = np.concatenate(probs) if probs else np.zeros(0)
    # key-rate classes: links with the same key-rate distribution
    states = [link_rate_states(instance, k) for k in range(len(instance.links))]
    if not states:
        states = [((instance.params.key_rate_kbps,), (1.0,))]
    class_of: dict[tuple, int] = {}
    link_class = np.asarray(
        [class_of.setdefault(st, len(class_of)) for st in states], dtype=np.int64
    )
    arc_class = np.repeat(link_class, 2) if instance.links else np.zeros(0, np.int64)
    classes = list(class_of)
    n_cls = len(classes)
    class_ptr = np.zeros(n_cls + 1, dtype=np.int64)
    class_ptr[1:] = np.cumsum([len(v) for v, _ in classes])
    class_rates = np.asarray([x for v, _ in classes for x in v], float)
    class_probs = np.asarray([x for _, p in classes for x in p], float)
    # distribution of P = ceil(kappa / K) per (class, request): product of the marginals
    lptr = np.zeros((n_cls, n_req + 1), dtype=np.int64)
    vals_out: list[np.ndarray] = []
    prob_out: list[np.ndarray] = []
    offset = 0
    for c, (rates, rprobs) in enumerate(classes):
        lptr[c, 0] = offset
        for f in range(n_req):
            sl = slice(ptr[f], ptr[f + 1])
            n = np.concatenate([qkd_links_needed(kappa[sl], r) for r in rates])
            pw = np.concatenate([prob[sl] * q for q in rprobs])
            uniq, inv = np.unique(n, return_inverse=True)
            vals_out.append(uniq)
            prob_out.append(np.bincount(inv.reshape(-1), weights=pw, minlength=uniq.size))
            offset += uniq.size
            lptr[c, f + 1] = offset
    links = np.concatenate(vals_out).astype(np.int64) if vals_out else np.zeros(0, np.int64)
    link_prob = np.concatenate(prob_out) if prob_out else np.zeros(0)
    survival = np.zeros(links.size)
    partial = np.zeros(links.size)
    mean = np.zeros((n_cls, n_req))
    last = np.zeros((n_cls, n_req), dtype=np.int64)
    for c in range(n_cls):
        for f in range(n_req):
            lo, hi = lptr[c, f], lptr[c, f + 1]
            if hi == lo:
                continue
            pr = link_prob[lo:hi]
            tail = np.cumsum(pr[::-1])[::-1]  # Pr(P >= links[i])
            survival[lo:hi] = np.append(tail[1:], 0.0)
            partial[lo:hi] = np.cumsum(pr * links[lo:hi])
            mean[c, f] = partial[hi - 1]
            last[c, f] = links[hi - 1]
    # expected QKD wavelengths used out of y reserved, for every integer y
    w = QKD_WAVELENGTHS_PER_LINK
    sizes = np.where(lptr[:, 1:] > lptr[:, :-1], w * last + 1, 0).astype(np.int64)
    if sizes.sum() > USED_TABLE_LIMIT:
        sizes[:] = 0
    used_ptr = np.zeros((n_cls, n_req + 1), dtype=np.int64)
    used_ptr[:, 1:] = np.cumsum(sizes.ravel()).reshape(n_cls, n_req)
    used_ptr[1:, 0] = used_ptr[:-1, -1]
    table = np.zeros(int(sizes.sum()))
    for c in range(n_cls):
        for f in range(n_req):
            if sizes[c, f]:
                lo, hi = lptr[c, f], lptr[c, f + 1]
                y = np.arange(sizes[c, f], dtype=float)
                table[used_ptr[c, f] : used_ptr[c, f] + sizes[c, f]] = (
                    np.minimum.outer(y, w * links[lo:hi].astype(float)) @ link_prob[lo:hi]
                )
    arrays = SupportArrays(
        ptr,
        kappa,
        prob,
        class_ptr,
        class_rates,
        class_probs,
        arc_class.astype(np.int64).reshape(-1),
        lptr,
        links,
        link_prob,
        survival,
        partial,
        mean,
        used_ptr,
        table,
    )
    for a in vars(arrays).values():
        a.setflags(write=False)
    return arrays


def support_table(instance: Instance) -> SupportArrays:
    """Sorted key-rate supports and QKD-link counts per key-rate class of ``instance``.

    Computed once per instance and shared (read-only arrays).

    Parameters
    ----------
    instance : Instance
        The instance whose demands and link key rates are tabulated.

    Returns
    -------
    SupportArrays
    """
    return instance.derived("support_table", _make_support_table)


@dataclass(frozen=True, eq=False)
class FixedCharges:
    """One-off first-stage charges of links and nodes (``docs/model.md``).

    Attributes
    ----------
    link : ndarray (L,) float64
        ``F_l`` per link (link ``k`` owns arcs ``2k`` and ``2k + 1``): the link's
        ``fixed_cost``, else ``site * (2m - 1)``.
    node : ndarray (N,) float64
        ``G_n`` per node position.
    active : bool
        Whether any charge is positive (when not, scoring skips the marking).
    """

    link: NDArray[np.float64]
    node: NDArray[np.float64]
    active: bool


def _make_fixed_charges(instance: Instance) -> FixedCharges:
    link = np.asarray([instance.link_fixed_cost(k) for k in range(len(instance.links))], float)
    node = np.zeros(len(instance.nodes))
    for n, g in instance.node_fixed_costs.items():
        node[instance.node_index[n]] = float(g)
    link.setflags(write=False)
    node.setflags(write=False)
    return FixedCharges(link, node, bool((link > 0).any() or (node > 0).any()))


def fixed_charges(instance: Instance) -> FixedCharges:
    """Per-link and per-node fixed charges of ``instance``, computed once.

    Parameters
    ----------
    instance : Instance
        The instance whose links and nodes are charged.

    Returns
    -------
    FixedCharges

    Examples
    --------
    >>> from qkdbench.model import CostTable, Instance, Link
    >>> inst = Instance((1, 2, 3), (Link(1, 2, 200.0), Link(2, 3, 100.0, fixed_cost=4.0)),
    ...                 costs=CostTable(site=1.0), node_fixed_costs={3: 2.0})
    >>> fc = fixed_charges(inst)
    >>> fc.link.tolist(), fc.node.tolist(), fc.active
    ([3.0, 4.0], [0.0, 0.0, 2.0], True)
    """
    return instance.derived("fixed_charges", _make_fixed_charges)


@dataclass(frozen=True, eq=False)
class ProviderArrays:
    """Targets of every request and provider capacities.

    Attributes
    ----------
    ptr : ndarray (F+1,) int64
        Request ``f``'s targets are positions ``ptr[f]:ptr[f+1]``, in the order of
        :attr:`~qkdbench.model.Request.sinks` (one target at no cost for an
        ordinary request).
    node : ndarray int64
        Target node positions.
    provider : ndarray int64
        Provider position in :attr:`ids` (``-1`` for an ordinary request's target).
    service_cost : ndarray float64
    ids : tuple of str
        Provider ids.
    capacity : ndarray int64
        Requests each provider can serve (``-1``: unlimited).
    active : bool
        Whether any request has targets.
    """

    ptr: NDArray[np.int64]
    node: NDArray[np.int64]
    provider: NDArray[np.int64]
    service_cost: NDArray[np.float64]
    ids: tuple[str, ...]
    capacity: NDArray[np.int64]
    active: bool


def _make_provider_table(instance: Instance) -> ProviderArrays:
    caps = instance.provider_capacity
    ids = tuple(caps)
    pos = {pid: i for i, pid in enumerate(ids)}
    ptr = np.zeros(instance.n_requests + 1, dtype=np.int64)
    node, provider, cost = [], [], []
    for f, req in enumerate(instance.requests):
        for t in req.sinks:
            node.append(instance.node_index[t.node])
            provider.append(-1 if t.provider is None else pos[t.provider])
            cost.append(float(t.service_cost))
        ptr[f + 1] = len(node)
    arrays = ProviderArrays(
        ptr,
        np.asarray(node, np.int64),
        np.asarray(provider, np.int64),
        np.asarray(cost, float),
        ids,
        np.asarray([-1 if caps[i] is None else caps[i] for i in ids], np.int64),
        "providers" in instance.features,
    )
    for a in (arrays.ptr, arrays.node, arrays.provider, arrays.service_cost, arrays.capacity):
        a.setflags(write=False)
    return arrays


def provider_table(instance: Instance) -> ProviderArrays:
    """Targets, service costs and provider capacities of ``instance``, computed once.

    Parameters
    ----------
    instance : Instance
        The instance whose requests and providers are tabulated.

    Returns
    -------
    ProviderArrays

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Provider, Request, Target
    >>> inst = Instance((1, 2, 3), (Link(1, 2, 10.0), Link(1, 3, 10.0)),
    ...     (Request("f", 1, None, Demand.point(1), (Target(2, "A", 4.0), Target(3, "B"))),),
    ...     providers=(Provider("A", 1), Provider("B")))
    >>> pt = provider_table(inst)
    >>> pt.ids, pt.capacity.tolist(), pt.service_cost.tolist()
    (('A', 'B'), [1, -1], [4.0, 0.0])
    """
    return instance.derived("provider_table", _make_provider_table)


@dataclass(frozen=True, eq=False)
class ScenarioArrays:
    """The joint scenarios and on-demand caps of a coupled instance, for its kernels.

    Attributes
    ----------
    probs : ndarray (S,) float64
        Scenario probabilities.
    kappa : ndarray (S, F) float64
        Key rate of each request (instance order) in each scenario.
    rate : ndarray (S, L) float64
        Key rate of one QKD link on each link in each scenario (a fixed rate in every
        scenario for a link not listed).
    cap_y, cap_z : ndarray (A,) float64
        QKD and KM wavelengths that can be bought on demand per arc and scenario
        (``inf``: unlimited).
    use_y, use_z : ndarray (A,) bool
        Whether using a reserved wavelength is no dearer than buying one (``c[e] <= c[o]``).
    phi : float
        ``params.shortfall_factor``.
    """

    probs: NDArray[np.float64]
    kappa: NDArray[np.float64]
    rate: NDArray[np.float64]
    cap_y: NDArray[np.float64]
    cap_z: NDArray[np.float64]
    use_y: NDArray[np.bool_]
    use_z: NDArray[np.bool_]
    phi: float


def _make_scenario_table(instance: Instance) -> ScenarioArrays:
    sc = instance.scenarios
    if sc is None:
        raise ValueError("the instance has no scenarios")
    n_sc = sc.n
    kappa = sc.rate_matrix(tuple(r.id for r in instance.requests))
    rate = np.empty((n_sc, len(instance.links)))
    for k in range(len(instance.links)):
        if k in sc.link_key_rates:
            rate[:, k] = sc.link_key_rates[k]
        else:
            rate[:, k] = link_rate_states(instance, k)[0][0]
    caps = np.array([instance.on_demand_cap(k) for k in range(len(instance.links))], float)
    caps = caps.reshape(len(instance.links), 2)
    arcs = arc_table(instance)
    out = ScenarioArrays(
        np.asarray(sc.probs, float),
        kappa,
        np.ascontiguousarray(rate),
        np.repeat(caps[:, 0], 2),
        np.repeat(caps[:, 1], 2),
        arcs.c_y[1] <= arcs.c_y[2],
        arcs.c_z[1] <= arcs.c_z[2],
        float(instance.params.shortfall_factor),
    )
    for a in vars(out).values():
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    return out


def scenario_table(instance: Instance) -> ScenarioArrays:
    """The scenario arrays of an instance with joint scenarios, computed once.

    Parameters
    ----------
    instance : Instance
        An instance with :attr:`~qkdbench.model.Instance.scenarios`.

    Returns
    -------
    ScenarioArrays

    Raises
    ------
    ValueError
        If the instance has no scenarios.

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Params, Request, Scenarios
    >>> sc = Scenarios((0.5, 0.5), {"f0": (0.0, 2.0)})
    >>> inst = Instance((1, 2), (Link(1, 2, 100.0),), (Request("f0", 1, 2, sc.marginal("f0")),),
    ...                 params=Params(O_qkd=4), scenarios=sc)
    >>> t = scenario_table(inst)
    >>> t.kappa.tolist(), t.cap_y.tolist(), t.cap_z.tolist()
    ([[0.0], [2.0]], [4.0, 4.0], [inf, inf])
    """
    return instance.derived("scenario_table", _make_scenario_table)
