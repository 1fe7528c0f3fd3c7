"""Water-filling: share a reservation capacity among ladders, largest marginal benefit first.

For fixed routes this gives the cost-minimal reservations (a separable convex
resource allocation with integer breakpoints); every planner that shares an
arc's capacity among requests calls :func:`waterfill`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["waterfill"]


def waterfill(ptr: np.ndarray, length: np.ndarray, ben: np.ndarray, pairs: np.ndarray,
              groups: np.ndarray, capacity: np.ndarray,
              limit: np.ndarray | None = None) -> np.ndarray:
    """Share each group's capacity among pairs' ladder segments, largest benefit first.

    Parameters
    ----------
    ptr, length, ben : ndarray
        Ladders in CSR form (see :class:`Ladders`).
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
        pair_before = np.repeat(np.concatenate(([0.0], np.cumsum(
            np.bincount(owner, weights=seg_len, minlength=n))))[:-1], counts)
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
