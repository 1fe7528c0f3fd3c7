"""The greedy's state: routes chosen so far, and every arc's capacity shared by water-filling.

:class:`GreedyState` inserts and removes requests on candidate routes, keeping
on each arc the optimal reservations of the requests using it
(:func:`~qkdbench.planning.waterfill.waterfill`), and runs improvement passes
(re-insert each request on its best candidate given the others). The
sample-average greedy, the GA's repair and polish and the Lagrangian heuristic
all build on it.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.pricing import arc_table
from ..model import Instance, Route
from ..utils.timing import Stopwatch
from .ladders import Ladders
from .paths import Candidates
from .waterfill import union_top, waterfill_group

__all__ = ["GreedyState", "insertion_order", "INSERTION_ORDERS"]

_EMPTY = np.zeros(0)

#: Request orders of :func:`insertion_order`.
INSERTION_ORDERS = ("cost-desc", "instance")


class GreedyState:
    """Routes chosen so far and, per arc, the requests using it and their reservations.

    Parameters
    ----------
    instance : Instance
        The instance whose costs the ladders hold (possibly a sampled one).
    ladders : Ladders
    candidates : Candidates
    rebalance : bool
        Re-share every arc's capacity by :func:`waterfill` (exact for fixed
        routes), or keep the reservations of requests already placed and clip
        the newcomer to what is left.
    """

    def __init__(self, instance: Instance, ladders: Ladders, candidates: Candidates,
                 rebalance: bool = True):
        self.instance = instance
        self.ladders = ladders
        self.candidates = candidates
        self.rebalance = rebalance
        arcs = arc_table(instance)
        A = arcs.n
        self.n_arcs = A
        self.cap = {"y": arcs.W_qkd.astype(float), "z": arcs.W_kml.astype(float)}
        self.route: list[int | None] = [None] * instance.n_requests
        self.on_arc: list[list[int]] = [[] for _ in range(A)]  # requests, ordered
        self.alloc: dict[str, dict[tuple[int, int], float]] = {"y": {}, "z": {}}
        self.version = np.zeros(A, dtype=np.int64)
        self._delta_cache: dict[tuple[int, int, int], float] = {}
        # (kind, arc) -> (version, lengths, benefits) of the blocks reserved there
        self._taken_cache: dict[tuple[str, int], tuple[int, np.ndarray, np.ndarray]] = {}

    # ---- ladders of one pair
    def _ladder(self, kind: str, p: int) -> tuple[np.ndarray, np.ndarray]:
        ladders = self.ladders
        ptr, length, ben = ((ladders.y_ptr, ladders.y_len, ladders.y_ben) if kind == "y"
                            else (ladders.z_ptr, ladders.z_len, ladders.z_ben))
        return length[ptr[p]:ptr[p + 1]], ben[ptr[p]:ptr[p + 1]]

    def _taken(self, kind: str, a: int) -> tuple[np.ndarray, np.ndarray]:
        """Benefit blocks of the wavelengths reserved on arc ``a`` now, largest benefit first.

        Computed once per state of the arc (its ``version``) with array
        operations over all the requests on it, and reused by every
        :meth:`pair_delta` until the arc changes.
        """
        cache = self._taken_cache
        hit = cache.get((kind, a))
        version = int(self.version[a])
        if hit is not None and hit[0] == version:
            return hit[1], hit[2]
        reqs = self.on_arc[a]
        alloc = self.alloc[kind]
        q = np.asarray([alloc.get((f, a), 0.0) for f in reqs], dtype=float)
        live = q > 0
        if not live.any():
            out = (np.zeros(0), np.zeros(0))
        else:
            ladders = self.ladders
            ptr, length, ben = ((ladders.y_ptr, ladders.y_len, ladders.y_ben) if kind == "y"
                                else (ladders.z_ptr, ladders.z_len, ladders.z_ben))
            pairs = np.asarray(reqs, dtype=np.int64)[live] * self.n_arcs + a
            counts = ptr[pairs + 1] - ptr[pairs]
            first = np.cumsum(counts) - counts
            seg = np.repeat(ptr[pairs] - first, counts) + np.arange(int(counts.sum()))
            ln = length[seg]
            upto = np.cumsum(ln) - ln  # wavelengths of earlier segments, all pairs
            start = np.repeat(upto[first[counts > 0]], counts[counts > 0])
            tk, bn = np.clip(np.repeat(q[live], counts) - (upto - start), 0.0, ln), ben[seg]
            order = np.argsort(-bn, kind="stable")  # by benefit, for union_top
            out = (tk[order], bn[order])
        cache[(kind, a)] = (version, out[0], out[1])
        return out

    @staticmethod
    def _top(lens: np.ndarray, bens: np.ndarray, cap: float) -> float:
        """Largest total benefit of at most ``cap`` wavelengths from the blocks."""
        if lens.size == 0 or cap <= 0:
            return 0.0
        order = np.argsort(-bens, kind="stable")
        ls = lens[order]
        before = np.cumsum(ls) - ls
        return float(np.clip(cap - before, 0.0, ls) @ bens[order])

    def pair_delta(self, f: int, a: int) -> float:
        """Expected cost that request ``f`` adds on arc ``a`` in the current state."""
        key = (f, a, int(self.version[a]))
        hit = self._delta_cache.get(key)
        if hit is not None:
            return hit
        p = f * self.n_arcs + a
        delta = float(self.ladders.base[p])
        for kind in ("y", "z"):
            cap = float(self.cap[kind][a])
            ln, bn = self._ladder(kind, p)
            t_len, t_ben = self._taken(kind, a)
            if self.rebalance:
                gain = union_top(t_len, t_ben, ln, bn, cap) - float(t_len @ t_ben)
            else:
                gain = union_top(_EMPTY, _EMPTY, ln, bn, cap - float(t_len.sum()))
            delta -= gain
        self._delta_cache[key] = delta
        return delta

    def path_cost(self, f: int, i: int) -> float:
        """Cost request ``f`` adds on its ``i``-th candidate."""
        return sum(self.pair_delta(f, int(a)) for a in self.candidates.arcs[f][i])

    def best_candidate(self, f: int, prefer: int | None = None) -> tuple[int, float]:
        """The cheapest candidate of ``f`` (``prefer`` wins ties) and its cost."""
        costs = [self.path_cost(f, i) for i in range(len(self.candidates.arcs[f]))]
        best = int(np.argmin(costs))
        if prefer is not None and costs[prefer] <= costs[best] + 1e-9 * (1 + abs(costs[best])):
            best = prefer
        return best, costs[best]

    # ---- changes
    def _reshare(self, a: int) -> None:
        reqs = self.on_arc[a]
        blocks = {"y": (_EMPTY, _EMPTY), "z": (_EMPTY, _EMPTY)}
        for kind in ("y", "z"):
            table = self.alloc[kind]
            if not reqs:
                continue
            ladders = self.ladders
            ptr, length, ben = ((ladders.y_ptr, ladders.y_len, ladders.y_ben) if kind == "y"
                                else (ladders.z_ptr, ladders.z_len, ladders.z_ben))
            pairs = np.asarray(reqs, dtype=np.int64) * self.n_arcs + a
            got, t_len, t_ben = waterfill_group(ptr, length, ben, pairs,
                                                float(self.cap[kind][a]))
            for f, q in zip(reqs, got):
                table[(f, a)] = float(q)
            blocks[kind] = (t_len, t_ben)
        self.version[a] += 1
        for kind, (t_len, t_ben) in blocks.items():  # what _taken would compute
            self._taken_cache[(kind, a)] = (int(self.version[a]), t_len, t_ben)

    def insert(self, f: int, i: int) -> None:
        """Route request ``f`` on its ``i``-th candidate."""
        self.route[f] = i
        for a in (int(x) for x in self.candidates.arcs[f][i]):
            self.on_arc[a].append(f)
            self.on_arc[a].sort()
            if self.rebalance:
                self._reshare(a)
            else:
                for kind in ("y", "z"):
                    used = sum(self.alloc[kind].get((g, a), 0.0) for g in self.on_arc[a]
                               if g != f)
                    ln, _ = self._ladder(kind, f * self.n_arcs + a)
                    self.alloc[kind][(f, a)] = float(min(ln.sum(),
                                                         max(0.0, self.cap[kind][a] - used)))
                self.version[a] += 1

    def remove(self, f: int) -> None:
        """Take request ``f`` off its route."""
        i = self.route[f]
        if i is None:
            return
        self.route[f] = None
        for a in (int(x) for x in self.candidates.arcs[f][i]):
            self.on_arc[a].remove(f)
            for kind in ("y", "z"):
                self.alloc[kind].pop((f, a), None)
            if self.rebalance:
                self._reshare(a)
            else:
                self.version[a] += 1

    def fresh(self) -> GreedyState:
        """An empty state on the same instance, ladders and candidates."""
        return GreedyState(self.instance, self.ladders, self.candidates, self.rebalance)

    def improve(self, order: list[int], clock: Stopwatch | None = None,
                max_passes: int = 20) -> dict:
        """Improvement passes: re-insert each request (in ``order``) given the others.

        A request moves only to a strictly cheaper candidate, so the passes end
        when one pass moves nothing, after ``max_passes`` or at the time limit.

        Returns
        -------
        dict
            ``passes``, ``moves`` and ``stop`` (``converged``, ``max_passes``
            or ``time_limit``).
        """
        clock = clock or Stopwatch(None)
        passes = moves = 0
        stop = "converged"
        while True:
            if passes >= max_passes:
                stop = "max_passes"
                break
            if clock.expired():
                stop = "time_limit"
                break
            passes += 1
            changed = 0
            for f in order:
                if clock.expired():
                    break
                old = self.route[f]
                self.remove(f)
                i, _ = self.best_candidate(f, prefer=old)
                self.insert(f, i)
                changed += int(i != old)
            moves += changed
            if changed == 0:
                break
        return {"passes": passes, "moves": moves, "stop": stop}

    def routes(self, instance: Instance) -> tuple[Route, ...]:
        """The routes with their reservations, for ``instance`` (same requests)."""
        out = []
        for f, req in enumerate(instance.requests):
            i = self.route[f]
            arcs = self.candidates.arcs[f][i]
            out.append(Route(req.id, self.candidates.paths[f][i],
                             tuple(int(round(self.alloc["y"].get((f, int(a)), 0.0)))
                                   for a in arcs),
                             tuple(int(round(self.alloc["z"].get((f, int(a)), 0.0)))
                                   for a in arcs)))
        return tuple(out)


def insertion_order(candidates: Candidates, ladders: Ladders, rule: str) -> list[int]:
    """Request order of the greedy: ``"cost-desc"`` or ``"instance"`` (see module notes)."""
    F = len(candidates.arcs)
    if rule == "instance":
        return list(range(F))
    if rule != "cost-desc":
        raise ValueError(f"order must be one of {INSERTION_ORDERS}, got {rule!r}")
    best = ladders.best()
    A = ladders.n_arcs
    alone = [min(float(best[f * A + arcs].sum()) for arcs in candidates.arcs[f])
             for f in range(F)]
    return sorted(range(F), key=lambda f: (-alone[f], f))
