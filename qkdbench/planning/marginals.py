"""The reservation ladders of one (request, arc) pair, and the blocks reserved on an arc.

The greedy's marginal costs (:meth:`~qkdbench.planning.greedy.GreedyState.pair_delta`)
compare a newcomer's ladder with the benefit blocks of the wavelengths the
requests on an arc hold now; these functions read both from the
:class:`~qkdbench.planning.ladders.Ladders` arrays.
"""

from __future__ import annotations

import numpy as np

from .ladders import Ladders

__all__ = ["ladder_arrays", "ladder_of", "reserved_blocks"]


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
