"""Water-filling: share a reservation capacity among ladders, largest marginal benefit first.

For fixed routes this gives the cost-minimal reservations (a separable convex
resource allocation with integer breakpoints); every planner that shares an
arc's capacity among requests calls :func:`waterfill`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["waterfill", "waterfill_group", "union_top"]


def waterfill(
    ptr: np.ndarray,
    length: np.ndarray,
    ben: np.ndarray,
    pairs: np.ndarray,
    groups: np.ndarray,
    capacity: np.ndarray,
    limit: np.ndarray | None = None,
) -> np.ndarray:
    """Share each group's capacity among pairs' ladder segments, largest benefit first.

    Parameters
    ----------
    ptr, length, ben : ndarray
        Ladders in CSR form (see :class:`~qkdbench.planning.ladders.Ladders`).
    pairs : ndarray (n,)
        Pair ids taking part (a pair may appear in several entries, e.g. one
        per plan of a population).
    groups : ndarray (n,)
        Capacity group of each entry (an arc; or plan * A + arc for a batch).
    capacity : ndarray
        ``capacity[g]``: wavelengths group ``g`` may reserve.
    limit : ndarray (n,), optional
        An upper bound on each entry's reservation.

    Returns
    -------
    ndarray (n,)
        Wavelengths reserved by each entry (integers as floats). Within one
        group, the entries' total never exceeds the capacity, each entry fills
        its ladder in order, and no wavelength goes to a smaller benefit while
        a larger one is left out: for fixed routes this is the cost-minimal
        reservation (ties go to the earlier entry).
    """
    pairs = np.asarray(pairs, dtype=np.int64)
    n = pairs.size
    counts = ptr[pairs + 1] - ptr[pairs]
    total = int(counts.sum())
    if total == 0:
        return np.zeros(n)
    first = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(n), counts)
    seg = np.repeat(ptr[pairs] - first, counts) + np.arange(total)
    seg_len = length[seg]
    if limit is not None:
        csum = np.cumsum(seg_len)
        before = csum - seg_len
        pair_before = np.repeat(
            np.concatenate(([0.0], np.cumsum(np.bincount(owner, weights=seg_len, minlength=n))))[
                :-1
            ],
            counts,
        )
        seg_len = np.clip(np.asarray(limit, float)[owner] - (before - pair_before), 0.0, seg_len)
    grp = np.asarray(groups, dtype=np.int64)[owner]
    order = np.lexsort((np.arange(total), -ben[seg], grp))
    ls = seg_len[order]
    gs = grp[order]
    cs = np.cumsum(ls)
    new = np.ones(total, dtype=bool)
    new[1:] = gs[1:] != gs[:-1]
    start_idx = np.flatnonzero(new)
    group_before = np.repeat((cs - ls)[start_idx], np.diff(np.append(start_idx, total)))
    take = np.clip(np.asarray(capacity, float)[gs] - (cs - ls - group_before), 0.0, ls)
    return np.bincount(owner[order], weights=take, minlength=n)


@njit(cache=True)
def waterfill_group(
    ptr: np.ndarray, length: np.ndarray, ben: np.ndarray, pairs: np.ndarray, capacity: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`waterfill` for one capacity group (one arc), compiled: the greedy's hot path.

    Parameters
    ----------
    ptr, length, ben : ndarray
        Ladders in CSR form (see :class:`~qkdbench.planning.ladders.Ladders`).
    pairs : ndarray (n,) int64
        Pair ids taking part, in tie-breaking order.
    capacity : float
        Wavelengths the group may reserve.

    Returns
    -------
    take : ndarray (n,)
        The same as ``waterfill(ptr, length, ben, pairs, zeros, [capacity])``:
        segments are taken by decreasing benefit, ties to the earlier entry.
    taken_len, taken_ben : ndarray
        The wavelengths taken per segment (only those with some) and their
        benefits, largest benefit first: the blocks :func:`union_top` merges.
    """
    n = pairs.size
    total = 0
    for e in range(n):
        total += ptr[pairs[e] + 1] - ptr[pairs[e]]
    seg_len = np.empty(total)
    seg_ben = np.empty(total)
    owner = np.empty(total, dtype=np.int64)
    k = 0
    for e in range(n):
        for s in range(ptr[pairs[e]], ptr[pairs[e] + 1]):
            seg_len[k] = length[s]
            seg_ben[k] = -ben[s]
            owner[k] = e
            k += 1
    order = np.argsort(seg_ben, kind="mergesort")  # stable: ties keep entry order
    out = np.zeros(n)
    taken_len = np.empty(total)
    taken_ben = np.empty(total)
    m = 0
    before = 0.0
    for k in order:
        take = min(max(capacity - before, 0.0), seg_len[k])
        out[owner[k]] += take
        before += seg_len[k]
        if take > 0:
            taken_len[m] = take
            taken_ben[m] = -seg_ben[k]
            m += 1
    return out, taken_len[:m], taken_ben[:m]


@njit(cache=True)
def union_top(
    t_len: np.ndarray, t_ben: np.ndarray, n_len: np.ndarray, n_ben: np.ndarray, capacity: float
) -> float:
    """Largest total benefit of at most ``capacity`` wavelengths from two benefit ladders.

    Both ladders are sorted by non-increasing benefit; they are merged (ties
    to the first) and filled up to ``capacity``.

    Parameters
    ----------
    t_len, t_ben : ndarray
        Lengths and benefits of the first ladder's blocks.
    n_len, n_ben : ndarray
        Lengths and benefits of the second ladder's blocks.
    capacity : float
        Wavelengths to fill; nothing when it is not positive.

    Returns
    -------
    float
        The sum of ``length * benefit`` over what is taken.
    """
    total = 0.0
    left = capacity
    i = 0
    j = 0
    while left > 0 and (i < t_len.size or j < n_len.size):
        if j >= n_len.size or (i < t_len.size and t_ben[i] >= n_ben[j]):
            ln = t_len[i]
            bn = t_ben[i]
            i += 1
        else:
            ln = n_len[j]
            bn = n_ben[j]
            j += 1
        take = min(ln, left)
        total += take * bn
        left -= take
    return total
