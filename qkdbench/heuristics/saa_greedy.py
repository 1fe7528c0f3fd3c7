"""Sample-average greedy (``saa-greedy``): route one request at a time, cheapest first.

The method
----------
1. **Demand model.** By default the *exact* marginal distributions of the key
   rates (``n_scenarios=None``). With ``n_scenarios=N`` a seeded joint sample
   of ``N`` scenarios is drawn and each request's empirical marginal replaces
   its distribution; by MODEL.md consequence 2 this gives exactly the
   sample-average cost. The exact marginals are the default because the
   evaluator needs only marginals, they cost nothing extra and a sample only
   adds noise (a finite sample's plan is never better in expectation).
2. **Reservation ladders.** On one arc, the expected cost of one request is
   convex and piecewise linear in its reservation, with breakpoints where the
   support needs ``3P`` (QKD) or ``P`` (KM) wavelengths (MODEL.md, consequence
   4). The evaluator's :func:`~qkdbench.evaluation.pair_costs` is read at the
   breakpoints only; between two breakpoints each extra wavelength saves the
   same amount (its *marginal benefit*). Segments with no saving are dropped,
   so a request's full ladder ends at its newsvendor reservation.
3. **Candidates.** The ``k`` cheapest stand-alone routes of each request (see
   :mod:`qkdbench.heuristics.paths`).
4. **Order.** Requests are inserted by decreasing stand-alone cost (the cost
   of the request alone on its cheapest candidate with newsvendor
   reservations), ties in instance order: the requests with the most at stake
   choose first.
5. **Insertion.** Each request takes the candidate that adds the least
   expected cost given the requests already placed. With ``rebalance=False``
   that is the rule of the issue: on each arc the request reserves its
   newsvendor quantity clipped to the remaining capacity (optimal for that
   arc, the others fixed, since the cost is convex in the reservation). With
   ``rebalance=True`` (default) every arc's reservation capacity is re-shared
   among the requests using it by *water-filling*: wavelengths go to the
   largest marginal benefits first. For fixed routes this is the exact
   optimum of the reservations (a separable convex resource allocation with
   integer breakpoints), so the insertion cost is the exact change of the
   optimal cost.
6. **Improvement pass** (``improve=True``): each request in turn is taken out
   and re-inserted on its best candidate given all the others; passes repeat
   until none changes a route (a route only changes for a strictly cheaper
   plan, so this ends), ``max_passes`` or the time limit.

The plan returned is scored by :func:`~qkdbench.evaluation.evaluate` only
for its statistics; all costs come from the evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluation import pair_costs
from ..model import Demand, Instance, Plan, Request, Route
from .base import Stopwatch, register_planner
from .paths import Candidates, candidate_paths

__all__ = ["Ladders", "build_ladders", "waterfill", "sampled_instance", "GreedyState",
           "SAAGreedy"]

_ORDERS = ("cost-desc", "instance")


# --------------------------------------------------------------------------- ladders


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
        """Cost of each pair at its newsvendor reservations (capacity aside), ``(P,)``."""
        gain_y = np.bincount(_owner(self.y_ptr), weights=self.y_len * self.y_ben,
                             minlength=self.base.size)
        gain_z = np.bincount(_owner(self.z_ptr), weights=self.z_len * self.z_ben,
                             minlength=self.base.size)
        return self.base - gain_y - gain_z

    def full(self, kind: str) -> np.ndarray:
        """Newsvendor reservation of each pair, ``kind`` ``"y"`` (QKD) or ``"z"`` (KM)."""
        ptr, length = (self.y_ptr, self.y_len) if kind == "y" else (self.z_ptr, self.z_len)
        return np.bincount(_owner(ptr), weights=length, minlength=self.base.size)


def _owner(ptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(ptr.size - 1), np.diff(ptr))


def _segments(levels_ptr: np.ndarray, width: np.ndarray, cost: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positive-benefit segments between consecutive breakpoints of every pair."""
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
    :func:`~qkdbench.evaluation.pair_costs` call.
    """
    F, A = instance.n_requests, instance.arcs.n
    if F * A == 0:
        empty_ptr = np.zeros(F * A + 1, dtype=np.int64)
        return Ladders(A, np.zeros(F * A), empty_ptr, np.zeros(0), np.zeros(0),
                       empty_ptr.copy(), np.zeros(0), np.zeros(0))
    s = instance.support
    levels_of: dict[tuple[int, int], np.ndarray] = {}
    lv_list = []
    for f in range(F):
        for a in range(A):
            c = int(s.arc_class[a])
            lv = levels_of.get((f, c))
            if lv is None:
                lv = np.unique(np.concatenate(([0], s.links[c, s.ptr[f]:s.ptr[f + 1]])))
                levels_of[(f, c)] = lv
            lv_list.append(lv)
    counts = np.array([lv.size for lv in lv_list], dtype=np.int64)
    ptr = np.zeros(F * A + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    levels = np.concatenate(lv_list).astype(float) if lv_list else np.zeros(0)
    req = np.repeat(np.repeat(np.arange(F), A), counts)
    arc = np.repeat(np.tile(np.arange(A), F), counts)
    gy, gz = pair_costs(instance, req, arc, 3.0 * levels, levels)
    base = (gy + gz)[ptr[:-1]] if F * A else np.zeros(0)
    y_ptr, y_len, y_ben = _segments(ptr, 3.0 * levels, gy)
    z_ptr, z_len, z_ben = _segments(ptr, levels, gz)
    return Ladders(A, base, y_ptr, y_len, y_ben, z_ptr, z_len, z_ben)


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


def sampled_instance(instance: Instance, n_scenarios: int, seed: int | None) -> Instance:
    """The instance with each demand replaced by its marginal in a seeded joint sample.

    Scenario ``i`` draws every request's key rate (one ``numpy`` generator
    seeded with ``seed``, requests in instance order); by separability
    (MODEL.md, consequence 2) the sample-average cost of a plan is its cost
    under these empirical marginals.
    """
    if n_scenarios < 1:
        raise ValueError(f"n_scenarios must be at least 1, got {n_scenarios}")
    rng = np.random.default_rng(seed)
    reqs = []
    for r in instance.requests:
        draws = r.demand.sample(rng, n_scenarios)
        reqs.append(Request(r.id, r.source, r.target, Demand.empirical(draws)))
    return instance.with_requests(reqs, instance.name)


# --------------------------------------------------------------------------- greedy state


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
        self.lad = ladders
        self.cands = candidates
        self.rebalance = rebalance
        A = instance.arcs.n
        self.A = A
        self.cap = {"y": instance.arcs.W_qkd.astype(float), "z": instance.arcs.W_kml.astype(float)}
        self.route: list[int | None] = [None] * instance.n_requests
        self.on_arc: list[list[int]] = [[] for _ in range(A)]  # requests, ordered
        self.alloc: dict[str, dict[tuple[int, int], float]] = {"y": {}, "z": {}}
        self.version = np.zeros(A, dtype=np.int64)
        self._delta_cache: dict[tuple[int, int, int], float] = {}

    # ---- ladders of one pair
    def _ladder(self, kind: str, p: int) -> tuple[np.ndarray, np.ndarray]:
        lad = self.lad
        ptr, length, ben = ((lad.y_ptr, lad.y_len, lad.y_ben) if kind == "y"
                            else (lad.z_ptr, lad.z_len, lad.z_ben))
        return length[ptr[p]:ptr[p + 1]], ben[ptr[p]:ptr[p + 1]]

    def _taken(self, kind: str, a: int) -> tuple[np.ndarray, np.ndarray]:
        """Benefit blocks of the wavelengths reserved on arc ``a`` now."""
        lens, bens = [], []
        for f in self.on_arc[a]:
            q = self.alloc[kind].get((f, a), 0.0)
            if q <= 0:
                continue
            ln, bn = self._ladder(kind, f * self.A + a)
            before = np.cumsum(ln) - ln
            tk = np.clip(q - before, 0.0, ln)
            lens.append(tk)
            bens.append(bn)
        if not lens:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(lens), np.concatenate(bens)

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
        p = f * self.A + a
        delta = float(self.lad.base[p])
        for kind in ("y", "z"):
            cap = float(self.cap[kind][a])
            ln, bn = self._ladder(kind, p)
            t_len, t_ben = self._taken(kind, a)
            if self.rebalance:
                gain = (self._top(np.concatenate((t_len, ln)), np.concatenate((t_ben, bn)), cap)
                        - float(t_len @ t_ben))
            else:
                gain = self._top(ln, bn, cap - float(t_len.sum()))
            delta -= gain
        self._delta_cache[key] = delta
        return delta

    def path_cost(self, f: int, i: int) -> float:
        """Cost request ``f`` adds on its ``i``-th candidate."""
        return sum(self.pair_delta(f, int(a)) for a in self.cands.arcs[f][i])

    def best_candidate(self, f: int, prefer: int | None = None) -> tuple[int, float]:
        """The cheapest candidate of ``f`` (``prefer`` wins ties) and its cost."""
        costs = [self.path_cost(f, i) for i in range(len(self.cands.arcs[f]))]
        best = int(np.argmin(costs))
        if prefer is not None and costs[prefer] <= costs[best] + 1e-9 * (1 + abs(costs[best])):
            best = prefer
        return best, costs[best]

    # ---- changes
    def _reshare(self, a: int) -> None:
        reqs = self.on_arc[a]
        for kind in ("y", "z"):
            table = self.alloc[kind]
            if not reqs:
                continue
            lad = self.lad
            ptr, length, ben = ((lad.y_ptr, lad.y_len, lad.y_ben) if kind == "y"
                                else (lad.z_ptr, lad.z_len, lad.z_ben))
            pairs = np.asarray([f * self.A + a for f in reqs], dtype=np.int64)
            got = waterfill(ptr, length, ben, pairs, np.zeros(len(reqs), np.int64),
                            self.cap[kind][a:a + 1])
            for f, q in zip(reqs, got):
                table[(f, a)] = float(q)
        self.version[a] += 1

    def insert(self, f: int, i: int) -> None:
        """Route request ``f`` on its ``i``-th candidate."""
        self.route[f] = i
        for a in (int(x) for x in self.cands.arcs[f][i]):
            self.on_arc[a].append(f)
            self.on_arc[a].sort()
            if self.rebalance:
                self._reshare(a)
            else:
                for kind in ("y", "z"):
                    used = sum(self.alloc[kind].get((g, a), 0.0) for g in self.on_arc[a]
                               if g != f)
                    ln, _ = self._ladder(kind, f * self.A + a)
                    self.alloc[kind][(f, a)] = float(min(ln.sum(),
                                                         max(0.0, self.cap[kind][a] - used)))
                self.version[a] += 1

    def remove(self, f: int) -> None:
        """Take request ``f`` off its route."""
        i = self.route[f]
        if i is None:
            return
        self.route[f] = None
        for a in (int(x) for x in self.cands.arcs[f][i]):
            self.on_arc[a].remove(f)
            for kind in ("y", "z"):
                self.alloc[kind].pop((f, a), None)
            if self.rebalance:
                self._reshare(a)
            else:
                self.version[a] += 1

    def fresh(self) -> "GreedyState":
        """An empty state on the same instance, ladders and candidates."""
        return GreedyState(self.instance, self.lad, self.cands, self.rebalance)

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
            arcs = self.cands.arcs[f][i]
            out.append(Route(req.id, self.cands.paths[f][i],
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
        raise ValueError(f"order must be one of {_ORDERS}, got {rule!r}")
    best = ladders.best()
    A = ladders.n_arcs
    alone = [min(float(best[f * A + arcs].sum()) for arcs in candidates.arcs[f])
             for f in range(F)]
    return sorted(range(F), key=lambda f: (-alone[f], f))


# --------------------------------------------------------------------------- planner


@register_planner("saa-greedy", origin="built-in")
class SAAGreedy:
    """Sample-average greedy: cheapest-first insertion on k candidate routes, water-filling.

    Parameters
    ----------
    k : int
        Candidate routes per request (the ``k`` cheapest stand-alone routes,
        plus the shortest by length if it is not among them).
    n_scenarios : int or None
        ``None`` (default): exact marginal distributions. ``N``: a seeded
        sample of ``N`` joint scenarios (sample-average approximation).
    order : {"cost-desc", "instance"}
        Insertion order: decreasing stand-alone cost (default) or instance order.
    rebalance : bool
        Re-share each arc's capacity optimally among its requests (default),
        or clip a newcomer's newsvendor reservation to the capacity left.
    improve : bool
        Run improvement passes (re-insert each request given the others).
    max_passes : int
        At most this many improvement passes.

    Notes
    -----
    ``plan.stats`` holds ``runtime_s``, ``status`` (``heuristic``),
    ``passes``, ``moves`` (route changes in the improvement passes), ``stop``
    (why the passes ended) and the planner's parameters.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> from qkdbench.evaluation import evaluate
    >>> inst = make_instance("nsfnet", 6, 5, seed=1)
    >>> plan = SAAGreedy().plan(inst)
    >>> evaluate(inst, plan).feasible
    True
    """

    name = "saa-greedy"

    def __init__(self, k: int = 8, n_scenarios: int | None = None, order: str = "cost-desc",
                 rebalance: bool = True, improve: bool = True, max_passes: int = 20):
        self.k = k
        self.n_scenarios = n_scenarios
        self.order = order
        self.rebalance = rebalance
        self.improve = improve
        self.max_passes = max_passes

    def prepare(self, instance: Instance, seed: int | None = None) -> GreedyState:
        """An empty state: the demand model, its ladders and the candidate routes."""
        model = (instance if self.n_scenarios is None
                 else sampled_instance(instance, int(self.n_scenarios),
                                       0 if seed is None else seed))
        lad = build_ladders(model)
        F, A = model.n_requests, model.arcs.n
        cands = candidate_paths(model, self.k, lad.best().reshape(F, A))
        return GreedyState(model, lad, cands, self.rebalance)

    def build(self, instance: Instance, seed: int | None = None,
              clock: Stopwatch | None = None) -> tuple[GreedyState, dict]:
        """Run the greedy and return its final state and run statistics."""
        clock = clock or Stopwatch(None)
        if self.order not in _ORDERS:
            raise ValueError(f"order must be one of {_ORDERS}, got {self.order!r}")
        state = self.prepare(instance, seed)
        F = instance.n_requests
        order = insertion_order(state.cands, state.lad, self.order)
        for f in order:
            i, _ = state.best_candidate(f)
            state.insert(f, i)
        info = {"passes": 0, "moves": 0, "stop": "converged"}
        if self.improve and F > 1:
            info = state.improve(order, clock, self.max_passes)
        return state, info

    def plan(self, instance: Instance, *, seed: int | None = None,
             time_limit: float | None = None) -> Plan:
        """Plan ``instance``; ``seed`` (``None`` means 0) matters only when sampling."""
        clock = Stopwatch(time_limit)
        state, info = self.build(instance, seed, clock)
        routes = state.routes(instance)
        plan = Plan(instance.name, self.name, routes, {})
        return plan.with_stats(runtime_s=clock.elapsed, status="heuristic", k=self.k,
                               n_scenarios=self.n_scenarios, order=self.order,
                               rebalance=self.rebalance, **info)
