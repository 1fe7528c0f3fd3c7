"""Water-filling: share a reservation capacity among ladders, largest marginal benefit first.

For fixed routes this gives the cost-minimal reservations (a separable convex
resource allocation with integer breakpoints); every planner that shares an
arc's capacity among requests calls :func:`waterfill`. The greedy re-shares
one arc with :func:`waterfill_group`, or several arcs and both wavelength
kinds in one compiled call with :func:`waterfill_arcs` (its plain-Python
twin: :func:`waterfill_arcs_py`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["waterfill", "waterfill_group", "waterfill_arcs", "waterfill_arcs_py", "union_top"]


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


@njit(cache=True)
def waterfill_arcs(
    y_ptr: np.ndarray,
    y_len: np.ndarray,
    y_ben: np.ndarray,
    z_ptr: np.ndarray,
    z_len: np.ndarray,
    z_ben: np.ndarray,
    n_arcs: int,
    arcs: np.ndarray,
    users_ptr: np.ndarray,
    users: np.ndarray,
    cap_y: np.ndarray,
    cap_z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`waterfill_group` on several arcs, QKD and KM wavelengths, in one call.

    Parameters
    ----------
    y_ptr, y_len, y_ben, z_ptr, z_len, z_ben : ndarray
        The QKD (``y``) and KM (``z``) ladders in CSR form.
    n_arcs : int
        Arcs of the instance (pair id = request * n_arcs + arc).
    arcs : ndarray (n,) int64
        The arcs re-shared.
    users_ptr, users : ndarray int64
        Arc ``arcs[j]``'s requests, in tie-breaking order:
        ``users[users_ptr[j]:users_ptr[j + 1]]``.
    cap_y, cap_z : ndarray (n,) float64
        Each arc's capacities.

    Returns
    -------
    take : ndarray (2, len(users)) float64
        Row 0 QKD, row 1 KM: each user's wavelengths on its arc.
    blocks_ptr : ndarray (2n + 1,) int64
        Arc ``j``'s blocks of kind ``k`` (0: QKD, 1: KM) are positions
        ``blocks_ptr[2j + k]:blocks_ptr[2j + k + 1]`` of the next two.
    blocks_len, blocks_ben : ndarray float64
        The blocks :func:`waterfill_group` returns, concatenated.
    """
    n = arcs.size
    take = np.zeros((2, users.size))
    blocks_ptr = np.zeros(2 * n + 1, dtype=np.int64)
    size = 0
    for j in range(n):
        for e in range(users_ptr[j], users_ptr[j + 1]):
            p = users[e] * n_arcs + arcs[j]
            size += (y_ptr[p + 1] - y_ptr[p]) + (z_ptr[p + 1] - z_ptr[p])
    blocks_len = np.empty(size)
    blocks_ben = np.empty(size)
    m = 0
    for j in range(n):
        lo, hi = users_ptr[j], users_ptr[j + 1]
        pairs = users[lo:hi] * n_arcs + arcs[j]
        for k in range(2):
            if k == 0:
                got, t_len, t_ben = waterfill_group(y_ptr, y_len, y_ben, pairs, cap_y[j])
            else:
                got, t_len, t_ben = waterfill_group(z_ptr, z_len, z_ben, pairs, cap_z[j])
            take[k, lo:hi] = got
            blocks_len[m : m + t_len.size] = t_len
            blocks_ben[m : m + t_len.size] = t_ben
            m += t_len.size
            blocks_ptr[2 * j + k + 1] = m
    return take, blocks_ptr, blocks_len[:m], blocks_ben[:m]


def waterfill_arcs_py(
    y_ptr: np.ndarray,
    y_len: np.ndarray,
    y_ben: np.ndarray,
    z_ptr: np.ndarray,
    z_len: np.ndarray,
    z_ben: np.ndarray,
    n_arcs: int,
    arcs: np.ndarray,
    users_ptr: np.ndarray,
    users: np.ndarray,
    cap_y: np.ndarray,
    cap_z: np.ndarray,
) -> tuple[list[list[list[float]]], list[list[list[float]]], list[list[list[float]]]]:
    """Plain-Python twin of :func:`waterfill_arcs` (for tests), by arc and kind.

    Each arc and kind: every user's ladder segments sorted by decreasing
    benefit (ties keep the users' order), taken while capacity is left.

    Parameters
    ----------
    y_ptr, y_len, y_ben, z_ptr, z_len, z_ben, n_arcs, arcs, users_ptr, users, cap_y, cap_z :
        As :func:`waterfill_arcs`.

    Returns
    -------
    take, blocks_len, blocks_ben : list
        ``take[k][j]``: the wavelengths of arc ``j``'s users, kind ``k``;
        ``blocks_len[k][j]``, ``blocks_ben[k][j]``: the blocks taken there.
    """
    take: list[list[list[float]]] = [[], []]
    b_len: list[list[list[float]]] = [[], []]
    b_ben: list[list[list[float]]] = [[], []]
    ladders = ((y_ptr, y_len, y_ben, cap_y), (z_ptr, z_len, z_ben, cap_z))
    for j, a in enumerate(arcs.tolist()):
        reqs = users[users_ptr[j] : users_ptr[j + 1]].tolist()
        for k, (ptr, length, ben, cap) in enumerate(ladders):
            segs = []
            for e, f in enumerate(reqs):
                p = f * n_arcs + a
                segs += [(-float(ben[s]), e, float(length[s])) for s in range(ptr[p], ptr[p + 1])]
            segs.sort(key=lambda t: (t[0], t[1]))  # by benefit, ties by user
            got = [0.0] * len(reqs)
            lens, bens = [], []
            before = 0.0
            for neg_ben, e, ln in segs:
                t = min(max(float(cap[j]) - before, 0.0), ln)
                got[e] += t
                before += ln
                if t > 0:
                    lens.append(t)
                    bens.append(-neg_ben)
            take[k].append(got)
            b_len[k].append(lens)
            b_ben[k].append(bens)
    return take, b_len, b_ben
