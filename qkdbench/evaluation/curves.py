"""Expected-cost curves of (request, arc) pairs and their newsvendor reservations.

On one arc the expected cost of one request is convex and piecewise linear in
its reservation, with breakpoints where the key-rate support needs ``3P`` QKD
or ``P`` KM wavelengths (``docs/model.md``, properties). :func:`cost_curves`
reads the evaluator (:func:`~qkdbench.evaluation.pair_costs`) at those
breakpoints once, for any set of pairs; every planner that needs a pair's
newsvendor reservation (its cost-minimising reservation alone, capacity
aside), its least cost or its marginal savings reads them from here.

Examples
--------
>>> import numpy as np
>>> from qkdbench.topologies import make_instance
>>> inst = make_instance("nsfnet", 2, 10, seed=1)
>>> curves = cost_curves(inst, np.array([0]), np.array([0]))
>>> y, z = curves.newsvendor()
>>> int(y[0]) % 3, bool(curves.least_cost()[0] <= curves.qkd[0] + curves.kml[0])
(0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..model import KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance
from .evaluator import pair_costs
from .pricing import arc_table, support_table

__all__ = ["CostCurves", "cost_curves", "smallest_minimisers", "newsvendor_reservations"]

#: Relative (and absolute) tolerance within which two costs on a flat stretch tie.
TIE_TOL = 1e-12


@dataclass(frozen=True, eq=False)
class CostCurves:
    """Expected cost of pairs at the breakpoints of their reservations.

    Pair ``i`` is request ``req[i]`` on arc ``arc[i]``. Its breakpoints are
    ``levels[ptr[i]:ptr[i + 1]]``: the distinct QKD-link counts ``P`` its key
    rate may need on the arc, with 0, ascending. ``qkd[j]`` is the pair's QKD
    part (with the arc's route cost) at ``3 P_j`` reserved QKD wavelengths,
    ``kml[j]`` its KM part at ``P_j`` reserved KM wavelengths.

    Attributes
    ----------
    req, arc, ptr : ndarray of int64
    levels, qkd, kml : ndarray of float64
    """

    req: np.ndarray
    arc: np.ndarray
    ptr: np.ndarray
    levels: np.ndarray
    qkd: np.ndarray
    kml: np.ndarray

    @property
    def km(self) -> np.ndarray:
        """The former name of :attr:`kml`, kept for existing code."""
        return self.kml

    @property
    def n(self) -> int:
        """Number of pairs."""
        return int(self.req.size)

    def owner(self) -> np.ndarray:
        """The pair of each breakpoint.

        Returns
        -------
        ndarray of int
            ``owner[j]`` is the pair of breakpoint ``j``, shaped as :attr:`levels`.
        """
        return np.repeat(np.arange(self.n), np.diff(self.ptr))

    def subset(self, keep: np.ndarray) -> CostCurves:
        """The pairs where ``keep`` is true.

        Parameters
        ----------
        keep : ndarray of bool, shape (n,)
            One flag per pair.

        Returns
        -------
        CostCurves
            The kept pairs in their order, with their breakpoints and costs.
        """
        idx = np.flatnonzero(keep)
        counts = np.diff(self.ptr)[idx]
        ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        pos = (
            np.repeat(self.ptr[idx] - ptr[:-1], counts) + np.arange(int(counts.sum()))
            if idx.size
            else np.zeros(0, np.int64)
        )
        return CostCurves(
            self.req[idx], self.arc[idx], ptr, self.levels[pos], self.qkd[pos], self.kml[pos]
        )

    def newsvendor(self) -> tuple[np.ndarray, np.ndarray]:
        """The newsvendor reservations: QKD and KM wavelengths of each pair (int64).

        The smallest minimiser of each part (a flat stretch within rounding
        keeps its left end).

        Returns
        -------
        reserve_qkd, reserve_km : ndarray of int64, shape (n,)
            ``3 P`` and ``P`` at each part's smallest minimiser.
        """
        jy = smallest_minimisers(self.ptr, self.qkd)
        jz = smallest_minimisers(self.ptr, self.kml)
        return (
            (QKD_WAVELENGTHS_PER_LINK * self.levels[jy]).round().astype(np.int64),
            (KML_WAVELENGTHS_PER_LINK * self.levels[jz]).round().astype(np.int64),
        )

    def least_cost(self) -> np.ndarray:
        """Each pair's expected cost at its newsvendor reservations.

        Returns
        -------
        ndarray of float64, shape (n,)
            The least QKD part plus the least KM part of each pair.
        """
        if self.n == 0:
            return np.zeros(0)
        starts = self.ptr[:-1]
        return np.minimum.reduceat(self.qkd, starts) + np.minimum.reduceat(self.kml, starts)


def smallest_minimisers(ptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position (into ``values``) of the first minimum of each CSR segment.

    A value within ``TIE_TOL`` (relative and absolute) of the segment's minimum
    counts as a minimum, so rounding on a flat stretch keeps its left end.

    Parameters
    ----------
    ptr : ndarray of int, shape (n + 1,)
        CSR offsets: segment ``i`` is ``values[ptr[i]:ptr[i + 1]]``, never empty.
    values : ndarray of float
        The values of all segments.

    Returns
    -------
    ndarray of int64, shape (n,)

    Examples
    --------
    >>> smallest_minimisers(np.array([0, 3, 5]), np.array([3.0, 1.0, 1.0, 2.0, 2.0]))
    array([1, 3])
    """
    n = ptr.size - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(n), np.diff(ptr))
    best = np.minimum.reduceat(values, ptr[:-1])
    tied = values <= best[owner] + TIE_TOL * np.abs(best[owner]) + TIE_TOL
    pos = np.flatnonzero(tied)
    _, first = np.unique(owner[pos], return_index=True)
    return pos[first]


def cost_curves(
    instance: Instance, requests: np.ndarray | None = None, arcs: np.ndarray | None = None
) -> CostCurves:
    """The cost curves of the pairs ``(requests[i], arcs[i])`` (default: every pair).

    With no pairs given, pair ``f * A + a`` is request ``f`` on arc ``a``.
    The costs come from one :func:`~qkdbench.evaluation.pair_costs` call.

    Parameters
    ----------
    instance : Instance
        The instance whose evaluator prices the pairs.
    requests : array of int, optional
        Request positions of the pairs.
    arcs : array of int, optional
        Arc ids of the pairs, one per entry of ``requests``; without both, every pair.

    Returns
    -------
    CostCurves
    """
    n_arcs = arc_table(instance).n
    if requests is None or arcs is None:
        req = np.repeat(np.arange(instance.n_requests, dtype=np.int64), n_arcs)
        arc = np.tile(np.arange(n_arcs, dtype=np.int64), instance.n_requests)
    else:
        req = np.asarray(requests, dtype=np.int64).ravel()
        arc = np.asarray(arcs, dtype=np.int64).ravel()
    s = support_table(instance)
    levels_of: dict[tuple[int, int], np.ndarray] = {}
    lists = []
    for f, c in zip(req.tolist(), s.arc_class[arc].tolist(), strict=True):
        lv = levels_of.get((f, c))
        if lv is None:
            lv = np.unique(np.concatenate(([0], s.link_counts(c, f)[0])))
            levels_of[(f, c)] = lv.astype(float)
            lv = levels_of[(f, c)]
        lists.append(lv)
    counts = np.fromiter((lv.size for lv in lists), dtype=np.int64, count=len(lists))
    ptr = np.zeros(req.size + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    levels = np.concatenate(lists) if lists else np.zeros(0)
    rep_req = np.repeat(req, counts)
    rep_arc = np.repeat(arc, counts)
    qkd, kml = pair_costs(
        instance,
        rep_req,
        rep_arc,
        QKD_WAVELENGTHS_PER_LINK * levels,
        KML_WAVELENGTHS_PER_LINK * levels,
    )
    return CostCurves(req, arc, ptr, levels, qkd, kml)


def newsvendor_reservations(
    instance: Instance, requests: ArrayLike, arcs: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Cost-minimising reservations of each (request, arc) pair alone, capacity aside.

    The smallest minimiser among ``0`` and the breakpoints of the pair's cost
    curve (:func:`cost_curves`).

    Parameters
    ----------
    instance : Instance
        The instance whose evaluator prices the pairs.
    requests : array of int
        Request positions, broadcast to the shape of ``arcs``.
    arcs : array of int
        Arc ids.

    Returns
    -------
    reserve_qkd, reserve_km : ndarray of int64
        Shaped as ``arcs``.
    """
    arc = np.asarray(arcs, dtype=np.int64)
    req = np.broadcast_to(np.asarray(requests, dtype=np.int64), arc.shape)
    y, z = cost_curves(instance, req.ravel(), arc.ravel()).newsvendor()
    return y.reshape(arc.shape), z.reshape(arc.shape)
