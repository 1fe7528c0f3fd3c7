"""The greedy's state: routes chosen so far, and every arc's capacity shared by water-filling.

:class:`GreedyState` inserts and removes requests on candidate routes, keeping
on each arc the optimal reservations of the requests using it
(:func:`~qkdbench.planning.waterfill.waterfill`), and runs improvement passes
(re-insert each request on its best candidate given the others). The
sample-average greedy, the GA's repair and polish and the Lagrangian heuristic
all build on it.

Fixed charges (extension X1, docs/model.md)
-------------------------------------------
The state counts the routes using each link and touching each node. The cost
of inserting a request includes the fixed charges of the links and nodes its
route would open (not yet used by any route); removing the last user of a
link or node frees its charge. So insertion sees what is already paid for,
and the improvement passes consolidate routes onto paid links by themselves.
Single-request moves cannot close a link used by several requests, so
:meth:`GreedyState.close_links` adds the classic *link-closing* move of
fixed-charge network design: take every request off one open link, forbid it,
re-insert them on their best candidates, and keep the change only if the
evaluator's total falls. It is chosen over slope scaling (which needs many
re-solves of the whole routing) because one move costs a handful of
insertions plus one evaluation, and it directly attacks what greedy insertion
gets wrong: links opened early for one or two requests that later requests
make unnecessary.

Providers (extension X3, docs/model.md)
---------------------------------------
A candidate of an anycast request ends at one of its targets
(:attr:`~qkdbench.planning.paths.Candidates.target`); its cost includes that
target's service cost. The state counts the requests each provider serves,
and insertion and the improvement passes never place a request on a
candidate whose provider is full (so every move, including a change of
target, keeps every provider within its capacity). When greedy insertion
leaves a request with no candidate whose provider has room,
:meth:`GreedyState.make_room` re-assigns providers by a min-cost flow
(:func:`~qkdbench.planning.providers.assign_providers`) that keeps as many
requests as it can on their current provider, moves the others to their best
candidate of the new provider, and then inserts the request.
Single-request moves cannot exchange two requests' providers when a provider
is full, so :meth:`GreedyState.provider_moves` adds an *ejection* move: a
request takes a cheaper candidate of a full provider and one request served
by that provider moves to its best candidate with room, kept only if the
two together lower the cost (priced exactly by the state's insertion costs).

Random link key rates (X2) need nothing here: the ladders are read from the
evaluator's cost curves, which average over the link states.
"""

from __future__ import annotations

import math

import numpy as np

from ..evaluation import encode_plan, evaluate_arrays
from ..evaluation.pricing import arc_table, fixed_charges, provider_table
from ..model import Instance, Plan, Route
from ..utils.timing import Stopwatch
from .ladders import Ladders
from .paths import Candidates
from .providers import assign_providers
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

    def __init__(
        self, instance: Instance, ladders: Ladders, candidates: Candidates, rebalance: bool = True
    ):
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
        fc = fixed_charges(instance)
        self.fixed = fc.active
        self.link_charge = fc.link
        self.node_charge = fc.node
        self.tail, self.head = arcs.tail, arcs.head
        self.link_users = np.zeros(len(instance.links), dtype=np.int64)
        self.node_users = np.zeros(len(instance.nodes), dtype=np.int64)
        # (kind, arc) -> (version, lengths, benefits) of the blocks reserved there
        self._taken_cache: dict[tuple[str, int], tuple[int, np.ndarray, np.ndarray]] = {}
        pt = provider_table(instance)
        self.prov = pt
        #: requests each provider serves now (X3); capacity -1 is unlimited
        self.prov_load = np.zeros(len(pt.ids), dtype=np.int64)

    # ---- targets (X3)
    def provider_of(self, f: int, i: int) -> int:
        """Provider index of request ``f``'s ``i``-th candidate (``-1``: none)."""
        pt = self.prov
        return int(pt.provider[pt.ptr[f] + self.candidates.target_of(f, i)])

    def service_cost(self, f: int, i: int) -> float:
        """Service cost of the target request ``f``'s ``i``-th candidate ends at (X3)."""
        pt = self.prov
        return float(pt.service_cost[pt.ptr[f] + self.candidates.target_of(f, i)])

    def has_room(self, p: int) -> bool:
        """Whether provider ``p`` can serve one more request (always for ``-1``)."""
        if p < 0:
            return True
        cap = int(self.prov.capacity[p])
        return cap < 0 or int(self.prov_load[p]) < cap

    # ---- ladders of one pair
    def _ladder(self, kind: str, p: int) -> tuple[np.ndarray, np.ndarray]:
        ladders = self.ladders
        ptr, length, ben = (
            (ladders.y_ptr, ladders.y_len, ladders.y_ben)
            if kind == "y"
            else (ladders.z_ptr, ladders.z_len, ladders.z_ben)
        )
        return length[ptr[p] : ptr[p + 1]], ben[ptr[p] : ptr[p + 1]]

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
            ptr, length, ben = (
                (ladders.y_ptr, ladders.y_len, ladders.y_ben)
                if kind == "y"
                else (ladders.z_ptr, ladders.z_len, ladders.z_ben)
            )
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

    def opening_cost(self, arcs: np.ndarray) -> float:
        """Fixed charges (X1) that a route over ``arcs`` would open in the current state."""
        if not self.fixed:
            return 0.0
        links = arcs // 2
        cost = float(self.link_charge[links[self.link_users[links] == 0]].sum())
        nodes = np.unique(np.concatenate([self.tail[arcs], self.head[arcs]]))
        return cost + float(self.node_charge[nodes[self.node_users[nodes] == 0]].sum())

    def path_cost(self, f: int, i: int) -> float:
        """Cost request ``f`` adds on its ``i``-th candidate (with the fixed charges it opens)."""
        arcs = self.candidates.arcs[f][i]
        return (
            sum(self.pair_delta(f, int(a)) for a in arcs)
            + self.opening_cost(arcs)
            + self.service_cost(f, i)
        )

    def network_candidate(self, f: int) -> int:
        """Add request ``f``'s cheapest route given the links and nodes already paid (X1).

        A shortest path under the arc weights "stand-alone expected cost of the
        pair, plus the link's fixed charge if no route uses it yet, plus the head
        node's charge if none touches it": a route that rides on the network
        built so far, which the precomputed candidates may lack. It joins ``f``'s
        candidates (if new); its position is returned.
        """
        import networkx as nx

        req = self.instance.requests[f]
        open_link = self.link_users == 0
        open_node = self.node_users == 0
        w = self.candidates.standalone[f]
        tail, head = self.tail, self.head
        g = nx.DiGraph()
        g.add_weighted_edges_from(
            (
                int(tail[a]),
                int(head[a]),
                float(
                    w[a]
                    + self.link_charge[a // 2] * open_link[a // 2]
                    + self.node_charge[head[a]] * open_node[head[a]]
                ),
            )
            for a in range(self.n_arcs)
        )
        idx = self.instance.node_index
        best: tuple[float, int] | None = None
        for t, sink in enumerate(req.sinks):  # one network route per target (X3)
            try:
                cost, nodes = nx.single_source_dijkstra(g, idx[req.source], idx[sink.node])
            except nx.NetworkXNoPath:
                continue
            path = tuple(self.instance.nodes[n] for n in nodes)
            have = self.candidates.index_of(f, path, t if req.is_anycast else None)
            if have is None:
                arcs = np.asarray(self.instance.path_arcs(path), dtype=np.int64)
                self.candidates = self.candidates.extended(f, path, arcs, t)
                have = len(self.candidates.paths[f]) - 1
            cost = float(cost) + float(sink.service_cost)
            if best is None or cost < best[0]:
                best = (cost, have)
        assert best is not None, "validation: every target is reachable"
        return best[1]

    def best_candidate(
        self,
        f: int,
        prefer: int | None = None,
        avoid_link: int | None = None,
        provider: int | None = None,
    ) -> tuple[int, float]:
        """The cheapest candidate of ``f`` (``prefer`` wins ties) and its cost.

        Candidates whose provider is full (X3) are left out. With
        ``avoid_link``, candidates using that link are left out too; with
        ``provider``, only candidates of that provider are considered. The
        result is ``(-1, inf)`` when no candidate is left.
        """
        costs = []
        for i in range(len(self.candidates.arcs[f])):
            p = self.provider_of(f, i)
            if (
                (not self.has_room(p))
                or (provider is not None and p != provider)
                or (
                    avoid_link is not None and np.any(self.candidates.arcs[f][i] // 2 == avoid_link)
                )
            ):
                costs.append(math.inf)
            else:
                costs.append(self.path_cost(f, i))
        best = int(np.argmin(costs))
        if not math.isfinite(costs[best]):
            return -1, math.inf
        if prefer is not None and costs[prefer] <= costs[best] + 1e-9 * (1 + abs(costs[best])):
            best = prefer
        return best, costs[best]

    def make_room(self, f: int) -> int:
        """Insert request ``f`` when every provider it could use is full (X3).

        A min-cost flow re-assigns providers to ``f`` and the requests already
        placed, each keeping its current provider when it can (cost 0, a change
        costs 1); the requests that change provider are moved to their cheapest
        candidate of the new one, then ``f`` is inserted on its cheapest
        candidate with room.

        Returns
        -------
        int
            The candidate ``f`` was inserted on.

        Raises
        ------
        ValueError
            If no assignment within the capacities exists (validation rules it out).
        """
        F = len(self.route)
        options: list[dict[int, float]] = []
        for g in range(F):
            provs = {self.provider_of(g, i) for i in range(len(self.candidates.arcs[g]))}
            provs.discard(-1)
            if g != f and self.route[g] is None:
                options.append({})
                continue
            cur = self.provider_of(g, self.route[g]) if g != f else None  # type: ignore[arg-type]
            options.append({p: (0.0 if g == f or p == cur else 1.0) for p in provs})
        new = assign_providers(options, self.prov.capacity)
        moved = [
            g
            for g in range(F)
            if g != f
            and self.route[g] is not None
            and new[g] is not None
            and new[g] != self.provider_of(g, self.route[g])  # type: ignore[arg-type]
        ]
        for g in moved:
            self.remove(g)
        for g in moved:
            i, _ = self.best_candidate(g, provider=new[g])
            self.insert(g, i)
        i, _ = self.best_candidate(f, provider=new[f])
        if i < 0:
            i, _ = self.best_candidate(f)
        self.insert(f, i)
        return i

    def place(self, f: int) -> int:
        """Insert request ``f`` on its cheapest candidate with room (:meth:`make_room` if none)."""
        i, _ = self.best_candidate(f)
        if i < 0:
            return self.make_room(f)
        self.insert(f, i)
        return i

    # ---- changes
    def _reshare(self, a: int) -> None:
        reqs = self.on_arc[a]
        blocks = {"y": (_EMPTY, _EMPTY), "z": (_EMPTY, _EMPTY)}
        for kind in ("y", "z"):
            table = self.alloc[kind]
            if not reqs:
                continue
            ladders = self.ladders
            ptr, length, ben = (
                (ladders.y_ptr, ladders.y_len, ladders.y_ben)
                if kind == "y"
                else (ladders.z_ptr, ladders.z_len, ladders.z_ben)
            )
            pairs = np.asarray(reqs, dtype=np.int64) * self.n_arcs + a
            got, t_len, t_ben = waterfill_group(ptr, length, ben, pairs, float(self.cap[kind][a]))
            for f, q in zip(reqs, got):
                table[(f, a)] = float(q)
            blocks[kind] = (t_len, t_ben)
        self.version[a] += 1
        for kind, (t_len, t_ben) in blocks.items():  # what _taken would compute
            self._taken_cache[(kind, a)] = (int(self.version[a]), t_len, t_ben)

    def _count(self, arcs: np.ndarray, step: int) -> None:
        """Add ``step`` to the users of the route's links and nodes (X1 bookkeeping)."""
        self.link_users[arcs // 2] += step
        self.node_users[self.tail[arcs]] += step
        self.node_users[self.head[arcs[-1]]] += step

    def insert(self, f: int, i: int) -> None:
        """Route request ``f`` on its ``i``-th candidate."""
        self.route[f] = i
        p = self.provider_of(f, i)
        if p >= 0:
            self.prov_load[p] += 1
        self._count(self.candidates.arcs[f][i], 1)
        for a in (int(x) for x in self.candidates.arcs[f][i]):
            self.on_arc[a].append(f)
            self.on_arc[a].sort()
            if self.rebalance:
                self._reshare(a)
            else:
                for kind in ("y", "z"):
                    used = sum(self.alloc[kind].get((g, a), 0.0) for g in self.on_arc[a] if g != f)
                    ln, _ = self._ladder(kind, f * self.n_arcs + a)
                    self.alloc[kind][(f, a)] = float(
                        min(ln.sum(), max(0.0, self.cap[kind][a] - used))
                    )
                self.version[a] += 1

    def remove(self, f: int) -> None:
        """Take request ``f`` off its route."""
        i = self.route[f]
        if i is None:
            return
        self.route[f] = None
        p = self.provider_of(f, i)
        if p >= 0:
            self.prov_load[p] -= 1
        self._count(self.candidates.arcs[f][i], -1)
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

    def improve(
        self, order: list[int], clock: Stopwatch | None = None, max_passes: int = 20
    ) -> dict:
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
                if self.fixed:
                    self.network_candidate(f)
                i, _ = self.best_candidate(f, prefer=old)
                self.insert(f, i)
                changed += int(i != old)
            moves += changed
            if changed == 0:
                break
        return {"passes": passes, "moves": moves, "stop": stop}

    def provider_moves(self, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
        """Ejection moves for full providers (X3); see the module notes.

        For each request with targets (instance order) whose cheapest candidate
        given the others belongs to a full provider ``P``, each request ``g``
        served by ``P`` is tried in turn: ``g`` leaves, the request takes that
        candidate, ``g`` takes its cheapest candidate with room. The first pair
        that lowers the cost is kept. Rounds repeat until one keeps nothing,
        ``max_rounds`` or the time limit.

        Returns
        -------
        dict
            ``moves`` (ejections kept), ``rounds``.

        Examples
        --------
        >>> from qkdbench.heuristics.saa_greedy import SAAGreedy
        >>> from qkdbench.topologies import make_instance
        >>> state, _ = SAAGreedy(improve=False).build(make_instance("nsfnet", 4, 3, seed=1))
        >>> state.provider_moves()["moves"]  # no providers: nothing to move
        0
        """
        clock = clock or Stopwatch(None)
        out = {"moves": 0, "rounds": 0}
        pt = self.prov
        if not pt.active or not np.any(pt.capacity >= 0):
            return out
        anycast = [f for f, req in enumerate(self.instance.requests) if req.is_anycast]
        while out["rounds"] < max_rounds and not clock.expired():
            out["rounds"] += 1
            kept = 0
            for f in anycast:
                if clock.expired():
                    break
                cur = self.route[f]
                if cur is None:
                    continue
                self.remove(f)
                cost_cur = self.path_cost(f, cur)
                blocked = sorted(
                    (self.path_cost(f, i), i)
                    for i in range(len(self.candidates.arcs[f]))
                    if not self.has_room(self.provider_of(f, i))
                )
                done = False
                for cost_i, i in blocked[:1]:  # the cheapest candidate of a full provider
                    if cost_i >= cost_cur - 1e-9 * (1 + abs(cost_cur)):
                        break
                    p = self.provider_of(f, i)
                    for g in [
                        g
                        for g in anycast
                        if g != f
                        and self.route[g] is not None
                        and self.provider_of(g, self.route[g]) == p  # type: ignore[arg-type]
                    ]:
                        old = self.route[g]
                        assert old is not None
                        self.remove(g)
                        keep_g = self.path_cost(g, old)
                        self.insert(g, old)
                        before = keep_g + self.path_cost(f, cur)
                        self.remove(g)
                        new_f = self.path_cost(f, i)
                        self.insert(f, i)
                        j, new_g = self.best_candidate(g)
                        if j >= 0 and new_f + new_g < before - 1e-9 * (1 + abs(before)):
                            self.insert(g, j)
                            done = True
                            kept += 1
                            break
                        self.remove(f)
                        self.insert(g, old)
                if not done:
                    self.insert(f, cur)
            out["moves"] += kept
            if kept == 0:
                break
        return out

    def total_cost(self) -> float:
        """Expected cost of the current routes and reservations (evaluator, state's instance)."""
        inst = self.instance
        plan = Plan(inst.name, "state", self.routes(inst))
        return float(evaluate_arrays(inst, encode_plan(inst, plan), plan).total)

    def close_links(self, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
        """Link-closing local search for fixed charges (X1).

        For each open link with a positive charge, fewest users first (then
        dearest first), every request using it is taken off, the link is
        forbidden and the requests are re-inserted (dearest first) on their best
        candidates avoiding it. The change is kept if the evaluator's total
        falls, undone otherwise. Rounds repeat until one keeps nothing,
        ``max_rounds`` or the time limit.

        Parameters
        ----------
        clock : Stopwatch, optional
        max_rounds : int

        Returns
        -------
        dict
            ``closed`` (links closed), ``tried`` (moves evaluated), ``rounds``.

        Examples
        --------
        >>> from qkdbench.heuristics.saa_greedy import SAAGreedy
        >>> from qkdbench.topologies import make_instance
        >>> state, _ = SAAGreedy(improve=False).build(make_instance("nsfnet", 4, 3, seed=1))
        >>> state.close_links()["closed"]  # no fixed charges: nothing to close
        0
        """
        clock = clock or Stopwatch(None)
        out = {"closed": 0, "tried": 0, "rounds": 0}
        if not self.fixed or all(r is None for r in self.route):
            return out
        current = self.total_cost()
        while out["rounds"] < max_rounds and not clock.expired():
            out["rounds"] += 1
            kept = 0
            links = np.flatnonzero((self.link_users > 0) & (self.link_charge > 0))
            order = sorted(links, key=lambda k: (self.link_users[k], -self.link_charge[k], k))
            for link in order:
                if clock.expired():
                    break
                if self.link_users[link] == 0:
                    continue
                users = [
                    f
                    for f, i in enumerate(self.route)
                    if i is not None and np.any(self.candidates.arcs[f][i] // 2 == link)
                ]
                saved = {f: self.route[f] for f in users}
                for f in users:
                    self.remove(f)
                ok = True
                for f in users:
                    i, _ = self.best_candidate(f, avoid_link=int(link))
                    if i < 0:
                        ok = False
                        break
                    self.insert(f, i)
                if ok:
                    out["tried"] += 1
                    new = self.total_cost()
                    if new < current - 1e-9 * abs(current):
                        current = new
                        kept += 1
                        continue
                for f in users:
                    self.remove(f)
                for f in users:
                    self.insert(f, saved[f])  # type: ignore[arg-type]
            out["closed"] += kept
            if kept == 0:
                break
        return out

    def routes(self, instance: Instance) -> tuple[Route, ...]:
        """The routes with their reservations, for ``instance`` (same requests)."""
        out = []
        for f, req in enumerate(instance.requests):
            i = self.route[f]
            assert i is not None, "every request is routed"
            arcs = self.candidates.arcs[f][i]
            provider = req.sinks[self.candidates.target_of(f, i)].provider
            out.append(
                Route(
                    req.id,
                    self.candidates.paths[f][i],
                    tuple(int(round(self.alloc["y"].get((f, int(a)), 0.0))) for a in arcs),
                    tuple(int(round(self.alloc["z"].get((f, int(a)), 0.0))) for a in arcs),
                    provider,
                )
            )
        return tuple(out)


def insertion_order(
    candidates: Candidates, ladders: Ladders, rule: str, instance: Instance | None = None
) -> list[int]:
    """Request order of the greedy: ``"cost-desc"`` or ``"instance"`` (see module notes).

    With ``instance`` given and requests with targets (X3), a candidate's
    stand-alone cost includes its target's service cost.
    """
    F = len(candidates.arcs)
    if rule == "instance":
        return list(range(F))
    if rule != "cost-desc":
        raise ValueError(f"order must be one of {INSERTION_ORDERS}, got {rule!r}")
    best = ladders.best()
    A = ladders.n_arcs
    pt = provider_table(instance) if instance is not None else None
    if pt is None or not pt.active:
        alone = [
            min(float(best[f * A + arcs].sum()) for arcs in candidates.arcs[f]) for f in range(F)
        ]
    else:
        alone = [
            min(
                float(best[f * A + arcs].sum())
                + float(pt.service_cost[pt.ptr[f] + candidates.target_of(f, i)])
                for i, arcs in enumerate(candidates.arcs[f])
            )
            for f in range(F)
        ]
    return sorted(range(F), key=lambda f: (-alone[f], f))
