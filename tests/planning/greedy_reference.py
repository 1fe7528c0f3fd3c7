"""The greedy's state as it was before the fixed-charge speed-up: a slow reference.

A frozen copy of :class:`qkdbench.planning.greedy.GreedyState` and of the
functions it called (fixed-charge bookkeeping, network routes by networkx,
improvement passes, link closing) from before the state kept its
reservations per arc, memoised arc states and ran the compiled kernels.
Every reservation lives in a ``(request, arc)`` dict, every change of an arc
re-shares it, the network route is networkx's Dijkstra and link closing
undoes a move by re-inserting the old routes one by one. The tests plan with
it (in place of the state the planner builds) and compare the routes.

Provider ejections and the min-cost-flow re-assignment are unchanged
functions of the state and are shared.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from qkdbench.evaluation import encode_plan, evaluate_arrays
from qkdbench.evaluation.pricing import arc_table, fixed_charges, provider_table
from qkdbench.model import Instance, Plan, Route
from qkdbench.planning import greedy_providers, local_search, marginals
from qkdbench.planning.ladders import Ladders
from qkdbench.planning.paths import Candidates
from qkdbench.planning.waterfill import union_top, waterfill_group
from qkdbench.utils.timing import Stopwatch

__all__ = ["ReferenceState"]

_EMPTY = np.zeros(0)


class ReferenceState:
    """The greedy's state before the speed-up (same constructor as ``GreedyState``)."""

    def __init__(
        self, instance: Instance, ladders: Ladders, candidates: Candidates, rebalance: bool = True
    ) -> None:
        self.instance = instance
        self.ladders = ladders
        self.candidates = candidates
        self.rebalance = rebalance
        arcs = arc_table(instance)
        A = arcs.n
        self.n_arcs = A
        self.cap = {"y": arcs.W_qkd.astype(float), "z": arcs.W_kml.astype(float)}
        self.route: list[int | None] = [None] * instance.n_requests
        self.on_arc: list[list[int]] = [[] for _ in range(A)]
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
        self._taken_cache: dict[tuple[str, int], tuple[int, np.ndarray, np.ndarray]] = {}
        self.prov = provider_table(instance)
        self.prov_load = np.zeros(len(self.prov.ids), dtype=np.int64)

    def provider_of(self, f: int, i: int) -> int:
        pt = self.prov
        return int(pt.provider[pt.ptr[f] + self.candidates.target_of(f, i)])

    def service_cost(self, f: int, i: int) -> float:
        pt = self.prov
        return float(pt.service_cost[pt.ptr[f] + self.candidates.target_of(f, i)])

    def has_room(self, p: int) -> bool:
        if p < 0:
            return True
        cap = int(self.prov.capacity[p])
        return cap < 0 or int(self.prov_load[p]) < cap

    def _taken(self, kind: str, a: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._taken_cache.get((kind, a))
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
            pairs = np.asarray(reqs, dtype=np.int64)[live] * self.n_arcs + a
            out = marginals.reserved_blocks(self.ladders, kind, pairs, q[live])
        self._taken_cache[(kind, a)] = (version, out[0], out[1])
        return out

    def pair_delta(self, f: int, a: int) -> float:
        key = (f, a, int(self.version[a]))
        hit = self._delta_cache.get(key)
        if hit is not None:
            return hit
        p = f * self.n_arcs + a
        delta = float(self.ladders.base[p])
        for kind in ("y", "z"):
            cap = float(self.cap[kind][a])
            ln, bn = marginals.ladder_of(self.ladders, kind, p)
            t_len, t_ben = self._taken(kind, a)
            if self.rebalance:
                gain = union_top(t_len, t_ben, ln, bn, cap) - float(t_len @ t_ben)
            else:
                gain = union_top(_EMPTY, _EMPTY, ln, bn, cap - float(t_len.sum()))
            delta -= gain
        self._delta_cache[key] = delta
        return delta

    def opening_cost(self, arcs: np.ndarray) -> float:
        if not self.fixed:
            return 0.0
        links = arcs // 2
        cost = float(self.link_charge[links[self.link_users[links] == 0]].sum())
        nodes = np.unique(np.concatenate([self.tail[arcs], self.head[arcs]]))
        return cost + float(self.node_charge[nodes[self.node_users[nodes] == 0]].sum())

    def path_cost(self, f: int, i: int) -> float:
        arcs = self.candidates.arcs[f][i]
        return (
            sum(self.pair_delta(f, int(a)) for a in arcs)
            + self.opening_cost(arcs)
            + self.service_cost(f, i)
        )

    def network_candidate(self, f: int) -> int:
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
        for t, sink in enumerate(req.sinks):
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
        assert best is not None
        return best[1]

    def best_candidate(
        self,
        f: int,
        prefer: int | None = None,
        avoid_link: int | None = None,
        provider: int | None = None,
    ) -> tuple[int, float]:
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
        return greedy_providers.make_room(self, f)  # type: ignore[arg-type]

    def place(self, f: int) -> int:
        i, _ = self.best_candidate(f)
        if i < 0:
            return self.make_room(f)
        self.insert(f, i)
        return i

    def _reshare(self, a: int) -> None:
        reqs = self.on_arc[a]
        blocks = {"y": (_EMPTY, _EMPTY), "z": (_EMPTY, _EMPTY)}
        for kind in ("y", "z"):
            table = self.alloc[kind]
            if not reqs:
                continue
            ptr, length, ben = marginals.ladder_arrays(self.ladders, kind)
            pairs = np.asarray(reqs, dtype=np.int64) * self.n_arcs + a
            got, t_len, t_ben = waterfill_group(ptr, length, ben, pairs, float(self.cap[kind][a]))
            for f, q in zip(reqs, got, strict=True):
                table[(f, a)] = float(q)
            blocks[kind] = (t_len, t_ben)
        self.version[a] += 1
        for kind, (t_len, t_ben) in blocks.items():
            self._taken_cache[(kind, a)] = (int(self.version[a]), t_len, t_ben)

    def _count(self, arcs: np.ndarray, step: int) -> None:
        self.link_users[arcs // 2] += step
        self.node_users[self.tail[arcs]] += step
        self.node_users[self.head[arcs[-1]]] += step

    def insert(self, f: int, i: int) -> None:
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
                    ln, _ = marginals.ladder_of(self.ladders, kind, f * self.n_arcs + a)
                    self.alloc[kind][(f, a)] = float(
                        min(ln.sum(), max(0.0, self.cap[kind][a] - used))
                    )
                self.version[a] += 1

    def remove(self, f: int) -> None:
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

    def fresh(self) -> ReferenceState:
        return ReferenceState(self.instance, self.ladders, self.candidates, self.rebalance)

    def improve(
        self, order: list[int], clock: Stopwatch | None = None, max_passes: int = 20
    ) -> dict:
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
        return local_search.provider_moves(self, clock, max_rounds)  # type: ignore[arg-type]

    def total_cost(self) -> float:
        inst = self.instance
        plan = Plan(inst.name, "state", self.routes(inst))
        return float(evaluate_arrays(inst, encode_plan(inst, plan), plan).total)

    def close_links(self, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
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
                saved = {f: i for f in users if (i := self.route[f]) is not None}
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
                    self.insert(f, saved[f])
            out["closed"] += kept
            if kept == 0:
                break
        return out

    def routes(self, instance: Instance) -> tuple[Route, ...]:
        out = []
        for f, req in enumerate(instance.requests):
            i = self.route[f]
            assert i is not None
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
