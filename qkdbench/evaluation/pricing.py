"""Pricing: the per-arc unit costs and the key-rate tables the evaluator reads.

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

from ..model import CEIL_TOL, QKD_WAVELENGTHS_PER_LINK, Instance

__all__ = ["ArcArrays", "SupportArrays", "FixedCharges", "arc_table", "support_table",
           "fixed_charges", "qkd_links_needed", "mdi_segments", "USED_TABLE_LIMIT"]


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
        """Number of arcs."""
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


def _make_arc_table(instance: Instance) -> ArcArrays:
    p = instance.params
    idx = instance.node_index
    n_arcs = 2 * len(instance.links)

    def per_arc(attr: str, default: float, dtype) -> np.ndarray:
        vals = [getattr(link, attr) if getattr(link, attr) is not None else default
                for link in instance.links]
        return np.repeat(np.asarray(vals, dtype=dtype), 2) if vals else np.zeros(0, dtype)

    tail = np.empty(n_arcs, dtype=np.int64)
    head = np.empty(n_arcs, dtype=np.int64)
    for k, link in enumerate(instance.links):
        tail[2 * k], head[2 * k] = idx[link.u], idx[link.v]
        tail[2 * k + 1], head[2 * k + 1] = idx[link.v], idx[link.u]
    length = np.repeat(np.asarray([float(ln.length_km) for ln in instance.links], float), 2) \
        if instance.links else np.zeros(0)
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
    cm = instance.costs.matrix()  # (3 phases, 6 components)
    c_y = cm @ coef_y
    c_z = cm @ coef_z
    hop = np.full(n_arcs, p.hop_cost)
    arrays = ArcArrays(tail, head, length, span, rate, w_qkd, w_kml,
                       m.astype(np.int64), coef_y, coef_z, c_y, c_z, hop)
    for a in vars(arrays).values():
        a.setflags(write=False)
    return arrays


def arc_table(instance: Instance) -> ArcArrays:
    """Per-arc arrays and unit costs of ``instance`` (``docs/model.md``, "Counting").

    Computed once per instance and shared (read-only arrays).
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
    classes, arc_class = np.unique(arc_table(instance).key_rate_kbps, return_inverse=True)
    if classes.size == 0:
        classes = np.asarray([instance.params.key_rate_kbps])
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


def support_table(instance: Instance) -> SupportArrays:
    """Sorted key-rate supports and QKD-link counts per key-rate class of ``instance``.

    Computed once per instance and shared (read-only arrays).
    """
    return instance.derived("support_table", _make_support_table)


@dataclass(frozen=True, eq=False)
class FixedCharges:
    """One-off first-stage charges of links and nodes (extension X1, ``docs/model.md``).

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

    link: np.ndarray
    node: np.ndarray
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
    """Per-link and per-node fixed charges of ``instance`` (X1), computed once.

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
