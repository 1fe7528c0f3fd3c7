"""The reservation ladders of one (request, arc) pair, and the blocks reserved on an arc.

The greedy's marginal costs (:meth:`~qkdbench.planning.greedy.GreedyState.pair_delta`)
compare a newcomer's ladder with the benefit blocks of the wavelengths the
requests on an arc hold now; these functions read both from the
:class:`~qkdbench.planning.ladders.Ladders` arrays. :func:`pair_deltas` prices
one newcomer on many arcs in one compiled call (the greedy's batch of
``pair_delta``); :func:`pair_deltas_py` is its plain-Python twin.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .ladders import Ladders
from .waterfill import union_top

__all__ = [
    "ladder_arrays",
    "ladder_of",
    "reserved_blocks",
    "pair_deltas",
    "pair_delta_one",
    "pair_deltas_py",
]


def ladder_arrays(ladders: Ladders, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flat ladder arrays of one wavelength kind.

    Parameters
    ----------
    ladders : Ladders
    kind : str
        ``"y"`` (QKD wavelengths) or ``"z"`` (KM wavelengths).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ptr, length, benefit)``: the segments of pair ``p`` are
        ``ptr[p]:ptr[p + 1]``.
    """
    if kind == "y":
        return ladders.y_ptr, ladders.y_len, ladders.y_ben
    return ladders.z_ptr, ladders.z_len, ladders.z_ben


def ladder_of(ladders: Ladders, kind: str, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The ladder segments of pair ``p`` (``request * n_arcs + arc``).

    Parameters
    ----------
    ladders : Ladders
    kind : str
        ``"y"`` or ``"z"``.
    p : int
        The pair.

    Returns
    -------
    tuple of numpy.ndarray
        Segment lengths (wavelengths) and benefits (cost saved per wavelength).
    """
    ptr, length, ben = ladder_arrays(ladders, kind)
    return length[ptr[p] : ptr[p + 1]], ben[ptr[p] : ptr[p + 1]]


def reserved_blocks(
    ladders: Ladders, kind: str, pairs: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Benefit blocks of the wavelengths reserved by ``pairs``, largest benefit first.

    Pair ``pairs[j]`` holds ``q[j] > 0`` wavelengths: the first ``q[j]`` of its
    ladder, segment by segment. Array operations over all the pairs at once.

    Parameters
    ----------
    ladders : Ladders
    kind : str
        ``"y"`` or ``"z"``.
    pairs : numpy.ndarray of int64
        The pairs (requests on one arc).
    q : numpy.ndarray of float
        Their reservations (all positive).

    Returns
    -------
    tuple of numpy.ndarray
        Block lengths (reserved wavelengths of each segment) and benefits,
        in stable order of decreasing benefit (as
        :func:`~qkdbench.planning.waterfill.union_top` reads them).
    """
    ptr, length, ben = ladder_arrays(ladders, kind)
    counts = ptr[pairs + 1] - ptr[pairs]
    first = np.cumsum(counts) - counts
    seg = np.repeat(ptr[pairs] - first, counts) + np.arange(int(counts.sum()))
    ln = length[seg]
    upto = np.cumsum(ln) - ln  # wavelengths of earlier segments, all pairs
    start = np.repeat(upto[first[counts > 0]], counts[counts > 0])
    tk, bn = np.clip(np.repeat(q, counts) - (upto - start), 0.0, ln), ben[seg]
    order = np.argsort(-bn, kind="stable")  # by benefit, for union_top
    return tk[order], bn[order]


@njit(cache=True)
def pair_deltas(
    base: NDArray[np.float64],
    pairs: NDArray[np.int64],
    y_ptr: NDArray[np.int64],
    y_len: NDArray[np.float64],
    y_ben: NDArray[np.float64],
    z_ptr: NDArray[np.int64],
    z_len: NDArray[np.float64],
    z_ben: NDArray[np.float64],
    ty_ptr: NDArray[np.int64],
    ty_len: NDArray[np.float64],
    ty_ben: NDArray[np.float64],
    ty_held: NDArray[np.float64],
    tz_ptr: NDArray[np.int64],
    tz_len: NDArray[np.float64],
    tz_ben: NDArray[np.float64],
    tz_held: NDArray[np.float64],
    cap_y: NDArray[np.float64],
    cap_z: NDArray[np.float64],
    rebalance: bool,
) -> NDArray[np.float64]:
    """Marginal cost of a newcomer on several arcs: ``GreedyState.pair_delta``, compiled.

    Entry ``j`` is the pair ``pairs[j]`` (a request on an arc) and the blocks
    reserved on that arc now, ``t?_len[t?_ptr[j]:t?_ptr[j + 1]]`` with their
    benefits (:func:`reserved_blocks` order). With ``rebalance`` the newcomer's
    gain per kind is ``union_top(blocks, its ladder, capacity) - held`` where
    ``held`` is the blocks' benefit now (``t_len @ t_ben``, computed by the
    caller with NumPy); else it fills what is left, ``capacity - held`` with
    ``held`` the blocks' wavelengths (``t_len.sum()``).

    Parameters
    ----------
    base : ndarray (P,) float64
        Each pair's cost with nothing reserved (:class:`~qkdbench.planning.ladders.Ladders`).
    pairs : ndarray (n,) int64
        The pairs priced.
    y_ptr, y_len, y_ben, z_ptr, z_len, z_ben : ndarray
        The ladders in CSR form.
    ty_ptr, ty_len, ty_ben, tz_ptr, tz_len, tz_ben : ndarray
        The reserved blocks of each entry's arc, per kind, in CSR form.
    ty_held, tz_held : ndarray (n,) float64
        Per entry, the blocks' benefit (``rebalance``) or wavelengths.
    cap_y, cap_z : ndarray (n,) float64
        Each entry's arc capacities.
    rebalance : bool
        As the state's.

    Returns
    -------
    ndarray (n,) float64
        ``base - gain_y - gain_z`` per entry, the floats ``pair_delta`` gives.
    """
    n = pairs.size
    out = np.empty(n)
    for j in range(n):
        out[j] = pair_delta_one(
            pairs[j],
            base,
            y_ptr,
            y_len,
            y_ben,
            z_ptr,
            z_len,
            z_ben,
            ty_len[ty_ptr[j] : ty_ptr[j + 1]],
            ty_ben[ty_ptr[j] : ty_ptr[j + 1]],
            ty_held[j],
            tz_len[tz_ptr[j] : tz_ptr[j + 1]],
            tz_ben[tz_ptr[j] : tz_ptr[j + 1]],
            tz_held[j],
            cap_y[j],
            cap_z[j],
            rebalance,
        )
    return out


@njit(cache=True)
def pair_delta_one(
    p: int,
    base: NDArray[np.float64],
    y_ptr: NDArray[np.int64],
    y_len: NDArray[np.float64],
    y_ben: NDArray[np.float64],
    z_ptr: NDArray[np.int64],
    z_len: NDArray[np.float64],
    z_ben: NDArray[np.float64],
    ty_len: NDArray[np.float64],
    ty_ben: NDArray[np.float64],
    ty_held: float,
    tz_len: NDArray[np.float64],
    tz_ben: NDArray[np.float64],
    tz_held: float,
    cap_y: float,
    cap_z: float,
    rebalance: bool,
) -> float:
    """One entry of :func:`pair_deltas`: pair ``p`` given one arc's blocks of each kind.

    Parameters
    ----------
    p : int
        The pair.
    base, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben : ndarray
        The ladders.
    ty_len, ty_ben, tz_len, tz_ben : ndarray float64
        The arc's reserved blocks per kind.
    ty_held, tz_held : float
        What they hold (see :func:`pair_deltas`).
    cap_y, cap_z : float
        The arc's capacities.
    rebalance : bool
        As the state's.

    Returns
    -------
    float
        ``base[p] - gain_y - gain_z``.
    """
    delta = base[p]
    empty = np.zeros(0)
    for kind in range(2):
        if kind == 0:
            ln = y_len[y_ptr[p] : y_ptr[p + 1]]
            bn = y_ben[y_ptr[p] : y_ptr[p + 1]]
            t_len, t_ben, held, cap = ty_len, ty_ben, ty_held, cap_y
        else:
            ln = z_len[z_ptr[p] : z_ptr[p + 1]]
            bn = z_ben[z_ptr[p] : z_ptr[p + 1]]
            t_len, t_ben, held, cap = tz_len, tz_ben, tz_held, cap_z
        if rebalance:
            gain = union_top(t_len, t_ben, ln, bn, cap) - held
        else:
            gain = union_top(empty, empty, ln, bn, cap - held)
        delta -= gain
    return delta


def pair_deltas_py(
    base: NDArray[np.float64],
    pairs: NDArray[np.int64],
    y_ptr: NDArray[np.int64],
    y_len: NDArray[np.float64],
    y_ben: NDArray[np.float64],
    z_ptr: NDArray[np.int64],
    z_len: NDArray[np.float64],
    z_ben: NDArray[np.float64],
    ty_ptr: NDArray[np.int64],
    ty_len: NDArray[np.float64],
    ty_ben: NDArray[np.float64],
    ty_held: NDArray[np.float64],
    tz_ptr: NDArray[np.int64],
    tz_len: NDArray[np.float64],
    tz_ben: NDArray[np.float64],
    tz_held: NDArray[np.float64],
    cap_y: NDArray[np.float64],
    cap_z: NDArray[np.float64],
    rebalance: bool,
) -> list[float]:
    """Plain-Python twin of :func:`pair_deltas` (for tests): one pair at a time.

    The newcomer's ladder and the reserved blocks are merged and filled to the
    capacity in plain Python (largest benefit first, ties to the blocks held),
    as ``union_top`` does.

    Parameters
    ----------
    base, pairs, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben, ty_ptr, ty_len, ty_ben, ty_held,
    tz_ptr, tz_len, tz_ben, tz_held, cap_y, cap_z, rebalance :
        As :func:`pair_deltas`.

    Returns
    -------
    list of float
        The same numbers, bit for bit.
    """

    def top(blocks: list[tuple[float, float]], new: list[tuple[float, float]], cap: float) -> float:
        total, left, i, j = 0.0, cap, 0, 0
        while left > 0 and (i < len(blocks) or j < len(new)):
            if j >= len(new) or (i < len(blocks) and blocks[i][1] >= new[j][1]):
                ln, bn = blocks[i]
                i += 1
            else:
                ln, bn = new[j]
                j += 1
            take = min(ln, left)
            total += take * bn
            left -= take
        return total

    out = []
    for j, p in enumerate(pairs.tolist()):
        delta = float(base[p])
        for ptr, length, ben, t_ptr, t_len, t_ben, held, cap in (
            (y_ptr, y_len, y_ben, ty_ptr, ty_len, ty_ben, ty_held, cap_y),
            (z_ptr, z_len, z_ben, tz_ptr, tz_len, tz_ben, tz_held, cap_z),
        ):
            new = list(
                zip(
                    length[ptr[p] : ptr[p + 1]].tolist(),
                    ben[ptr[p] : ptr[p + 1]].tolist(),
                    strict=True,
                )
            )
            lo, hi = int(t_ptr[j]), int(t_ptr[j + 1])
            blocks = list(zip(t_len[lo:hi].tolist(), t_ben[lo:hi].tolist(), strict=True))
            if rebalance:
                gain = top(blocks, new, float(cap[j])) - float(held[j])
            else:
                gain = top([], new, float(cap[j]) - float(held[j]))
            delta -= gain
        out.append(delta)
    return out
