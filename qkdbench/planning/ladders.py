"""Reservation ladders: each (request, arc) pair's expected cost as marginal benefits.

On one arc the expected cost of one request is convex and piecewise linear in
its reservation, with breakpoints where the key-rate support needs ``3P`` (QKD)
or ``P`` (KM) wavelengths (``docs/model.md``). The evaluator's
:func:`~qkdbench.evaluation.pair_costs` is read at the breakpoints only; between
two breakpoints each extra wavelength saves the same amount (its *marginal
benefit*). Segments with no saving are dropped, so a pair's full ladder ends at
its newsvendor reservation.

On a coupled instance (``docs/model.md``, "Coupled second stage") the costs of the
pairs sharing an arc do not add up; :func:`build_ladders` then gives each pair's
*stand-alone* cost (the request alone on the arc, over the joint scenarios, its
on-demand cap and shortfall included) in the same form
(:func:`~qkdbench.planning.coupled.standalone_points`), which the greedy reads to
order its insertions and weigh its candidate routes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluation.curves import cost_curves
from ..evaluation.pricing import arc_table
from ..model import Instance
from .coupled import coupled_arrays, standalone_points

__all__ = ["Ladders", "build_ladders", "ladder_segments"]


@dataclass(frozen=True, eq=False)
class Ladders:
    """Marginal-benefit ladders of every (request, arc) pair.

    Pair ``p = f * A + a`` is request ``f`` on arc ``a``. Its QKD segments are
    ``y_ptr[p]:y_ptr[p+1]``: segment ``j`` is ``y_len[j]`` wavelengths, each
    lowering the pair's expected cost by ``y_ben[j] > 0`` (non-increasing
    along the ladder). The same for KM with ``z_*``.

    Attributes
    ----------
    n_arcs : int
    base : ndarray (P,)
        Expected cost of the pair with nothing reserved (QKD and KM parts plus
        the arc's route cost), from :func:`~qkdbench.evaluation.pair_costs`.
    y_ptr, y_len, y_ben, z_ptr, z_len, z_ben : ndarray
    """

    n_arcs: int
    base: np.ndarray
    y_ptr: np.ndarray
    y_len: np.ndarray
    y_ben: np.ndarray
    z_ptr: np.ndarray
    z_len: np.ndarray
    z_ben: np.ndarray

    def best(self) -> np.ndarray:
        """Cost of each pair at its newsvendor reservations (capacity aside), ``(P,)``.

        Returns
        -------
        ndarray of float
            ``base`` less the benefit of every segment of both ladders.
        """
        gain_y = np.bincount(
            _owner(self.y_ptr), weights=self.y_len * self.y_ben, minlength=self.base.size
        )
        gain_z = np.bincount(
            _owner(self.z_ptr), weights=self.z_len * self.z_ben, minlength=self.base.size
        )
        return self.base - gain_y - gain_z

    def full(self, kind: str) -> np.ndarray:
        """Newsvendor reservation of each pair, ``kind`` ``"y"`` (QKD) or ``"z"`` (KM).

        Parameters
        ----------
        kind : {"y", "z"}
            The ladder: ``y`` for QKD, anything else for KM.

        Returns
        -------
        ndarray of float, shape (P,)
            The length of the pair's whole ladder.
        """
        ptr, length = (self.y_ptr, self.y_len) if kind == "y" else (self.z_ptr, self.z_len)
        return np.bincount(_owner(ptr), weights=length, minlength=self.base.size)


def _owner(ptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(ptr.size - 1), np.diff(ptr))


def ladder_segments(
    levels_ptr: np.ndarray, width: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positive-benefit segments between consecutive breakpoints of every pair.

    Parameters
    ----------
    levels_ptr : ndarray of int, shape (P + 1,)
        CSR offsets of each pair's breakpoints (at least one per pair).
    width : ndarray of float
        Wavelengths at each breakpoint, ascending within a pair.
    cost : ndarray of float
        The pair's cost part at each breakpoint.

    Returns
    -------
    ptr : ndarray of int64, shape (P + 1,)
        CSR offsets of each pair's segments.
    length : ndarray of float
        Wavelengths of each segment.
    ben : ndarray of float
        Saving per wavelength of each segment, positive and non-increasing within a pair.
    """
    n_pairs = levels_ptr.size - 1
    last = np.zeros(width.size, dtype=bool)
    last[levels_ptr[1:] - 1] = True
    keep = ~last  # a segment starts at every breakpoint but a pair's last
    length = (np.roll(width, -1) - width)[keep]
    drop = (cost - np.roll(cost, -1))[keep]
    owner = _owner(levels_ptr)[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        ben = np.where(length > 0, drop / np.maximum(length, 1), 0.0)
    # exact convexity makes benefits non-increasing; enforce it against rounding
    starts = np.zeros(n_pairs + 1, dtype=np.int64)
    starts[1:] = np.cumsum(np.bincount(owner, minlength=n_pairs))
    for p in np.flatnonzero(np.diff(starts) > 1):
        sl = slice(starts[p], starts[p + 1])
        ben[sl] = np.minimum.accumulate(ben[sl])
    # a flat stretch (within rounding) saves nothing: the smallest minimiser is kept
    scale = 1e-12 * (1.0 + np.abs(cost[keep]))
    good = (ben * length > scale) & (length > 0)
    ptr = np.zeros(n_pairs + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(owner[good], minlength=n_pairs))
    return ptr, length[good].astype(float), ben[good]


def build_ladders(instance: Instance) -> Ladders:
    """The ladders of every (request, arc) pair of ``instance``.

    Breakpoints come from the instance's key-rate supports (``P`` per support
    point on the arc's key-rate class); costs at the breakpoints from one
    :func:`~qkdbench.evaluation.pair_costs` call. On a coupled instance, each
    pair's stand-alone cost over the joint scenarios
    (:func:`~qkdbench.planning.coupled.standalone_points`): the pairs' costs then
    do not add up to a plan's.

    Parameters
    ----------
    instance : Instance
        The instance whose evaluator prices the pairs.

    Returns
    -------
    Ladders
    """
    F, A = instance.n_requests, arc_table(instance).n
    if F * A == 0:
        empty_ptr = np.zeros(F * A + 1, dtype=np.int64)
        return Ladders(
            A,
            np.zeros(F * A),
            empty_ptr,
            np.zeros(0),
            np.zeros(0),
            empty_ptr.copy(),
            np.zeros(0),
            np.zeros(0),
        )
    if instance.is_coupled:
        arr = coupled_arrays(instance)
        y_ptr, y_w, y_c, z_ptr, z_w, z_c = standalone_points(
            F,
            A,
            arr.kappa_t,
            arr.rate_t,
            arr.probs,
            arr.c_y,
            arr.c_z,
            arr.cap_y,
            arr.cap_z,
            arr.use_y,
            arr.use_z,
            arr.phi,
        )
        base = y_c[y_ptr[:-1]] + z_c[z_ptr[:-1]] + np.tile(arr.hop, F)
        y_ptr, y_len, y_ben = ladder_segments(y_ptr, y_w, y_c)
        z_ptr, z_len, z_ben = ladder_segments(z_ptr, z_w, z_c)
        return Ladders(A, base, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben)
    curves = cost_curves(instance)
    ptr, levels, gy, gz = curves.ptr, curves.levels, curves.qkd, curves.kml
    base = (gy + gz)[ptr[:-1]]
    y_ptr, y_len, y_ben = ladder_segments(ptr, 3.0 * levels, gy)
    z_ptr, z_len, z_ben = ladder_segments(ptr, levels, gz)
    return Ladders(A, base, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben)
