"""Adaptive large neighbourhood search (``alns``) on the greedy's state.

One algorithm, kept in one module: its destroy and repair operators share the
search state and its bookkeeping (docstrings are a third of its lines).

The search of Ropke and Pisinger (2006), run by the ``alns`` package
(:class:`alns.ALNS`): each iteration a *destroy* operator takes some requests
off their routes and a *repair* operator puts them back; operators are drawn
by a roulette wheel whose weights follow their recent success
(:class:`alns.select.RouletteWheel`), and the new plan becomes the current one
if the acceptance criterion says so.

State and objective
-------------------
A solution is the route (a candidate index) of every request, and its cost
is the evaluator's total of the full plan (:meth:`GreedyState.total_cost
<qkdbench.planning.greedy.GreedyState.total_cost>`: the routes with the
water-filled reservations, the optimal ones for those routes, fixed charges
included), so the objective is exactly the score of the plan returned. One
:class:`~qkdbench.planning.greedy.GreedyState` does the work: before a destroy
it is brought to the current solution by moving only the requests whose
routes differ (the reservations on an arc depend only on the requests using
it, so this gives the state a fresh build would), and every few hundred
iterations it is rebuilt from scratch to keep its caches small.

Start
-----
The ``saa-greedy`` state, built exactly as the GA builds its greedy seed
(:meth:`SAAGreedy.build <qkdbench.heuristics.saa_greedy.SAAGreedy.build>`,
same ``k``). The package keeps the best solution seen, the start included, so
the plan returned is never dearer than the greedy's; the final plan is scored
once more by :func:`~qkdbench.evaluation.evaluate` and the start plan is
returned if it were not cheaper.

Destroy operators
-----------------
``random``
    ``q`` requests drawn uniformly.
``close-link`` (fixed charges only)
    Every request over one open link with a charge, drawn with probability
    proportional to its charge per request using it (the least used dear
    links first); the repair then avoids that link where a request can, so
    the link closes when that is cheaper. The requests of a link cannot leave
    it one at a time, so this is the move a single re-insertion lacks.
``open-link`` (fixed charges only)
    A random closed link with a charge is made to look paid for (a phantom
    user, so its charges do not count in the marginal costs) and the ``q``
    requests routed nearest to it are taken off; after the repair the phantom
    goes, so the link stays open only if some route took it and the evaluator
    prices its charge. The counterpart of ``close-link``: insertion alone
    opens a link only when one request pays for it.
``related``
    A random request and the ``q - 1`` requests most related to it (Shaw
    removal): routes sharing its links, endpoints near its endpoints (hop
    distance).
``worst``
    The ``q`` requests with the largest marginal cost: what removing the
    request saves given all the others (:meth:`GreedyState.path_cost
    <qkdbench.planning.greedy.GreedyState.path_cost>` of its route with it
    taken off, so the charges of links and nodes only it uses count).

``related`` and ``worst`` rank the requests and draw them with Ropke and
Pisinger's randomisation (position ``floor(y ** p * n)`` of the ranked list
left, ``y`` uniform, ``p = determinism``). ``q`` is drawn uniformly between
``min_remove`` and ``min(max_remove, remove_fraction * F)``.

Repair operators
----------------
``greedy``
    The removed requests by decreasing stand-alone cost (the greedy's order),
    each on its cheapest candidate given the others: the greedy's own
    insertion (:meth:`GreedyState.place
    <qkdbench.planning.greedy.GreedyState.place>`), whose marginal cost
    includes the fixed charges of the links and nodes a route would open.
``random``
    The same insertion in a random order.
``regret``
    Regret-2 insertion: the request whose second-best candidate is dearest
    relative to its best goes first, each step re-priced given the requests
    inserted so far.

With fixed charges, every request repaired first gets its route over the
network built so far as a candidate (:meth:`GreedyState.network_candidate
<qkdbench.planning.greedy.GreedyState.network_candidate>`), as in the greedy's
improvement passes (at most once per request and set of links and nodes in
use). Providers with a capacity are respected by the
state's insertion (a full provider's candidates are skipped; a request left
without room goes through :meth:`GreedyState.make_room
<qkdbench.planning.greedy.GreedyState.make_room>`).

Polish
------
Every repaired plan that is a new best goes through ``polish_passes`` of the
greedy's improvement passes (:meth:`GreedyState.improve
<qkdbench.planning.greedy.GreedyState.improve>`: each request moved to its
cheapest candidate given the others) and is scored again; the polished plan
is the candidate if cheaper. In one 60 s run (seed 0) on the germany50
fixed-charge instance of docs/planners.md, the search without it
(``polish_passes=0``) ended 0.47 % above the optimum, with it 0.28 %.

Acceptance and budget
---------------------
Simulated annealing (:class:`alns.accept.SimulatedAnnealing`, the criterion of
Ropke and Pisinger): a candidate ``delta`` dearer than the current plan is
accepted with probability ``exp(-delta / T)``; ``T`` starts where a plan
``start_gap`` (relative to the start cost) dearer is accepted with probability
one half and falls exponentially to where ``end_gap`` is, over ``iterations``
iterations (``schedule`` under a time limit alone), then stays there. Or
``acceptance="rrt"``: record-to-record travel
(:class:`alns.accept.RecordToRecordTravel`), accepting a candidate at most a
threshold above the best cost, the threshold falling linearly from
``start_gap`` to ``end_gap`` times the start cost over the same number of
iterations. In one 60 s run (seed 0) on the germany50 fixed-charge instance of
docs/planners.md, simulated annealing ended 0.28 % above the optimum and
record-to-record travel 0.68 %, so annealing is the default. The run stops
after ``iterations`` iterations (:class:`alns.stop.MaxIterations`) or at the
time limit (:class:`alns.stop.MaxRuntime`, the time the greedy left),
whichever comes first; ``iterations=None`` means
:data:`DEFAULT_ITERATIONS` without a time limit and no count limit with one.
Every random step draws from one :class:`numpy.random.Generator`
(:func:`~qkdbench.utils.random.check_random_state` of the seed, ``None``
meaning 0) handed to the package, so with an iteration budget and no time
limit the same seed gives the same plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from alns import ALNS
from alns.accept import RecordToRecordTravel, SimulatedAnnealing
from alns.select import RouletteWheel
from alns.stop import MaxIterations, MaxRuntime
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path as csgraph_shortest_path

from ..evaluation import evaluate
from ..evaluation.pricing import arc_table
from ..exceptions import InputError
from ..model import Instance, Plan
from ..planning.greedy import GreedyState, insertion_order
from ..utils.random import check_random_state, check_seed
from ..utils.registry import UNCOUPLED_FEATURES, check_supports, register_planner
from ..utils.timing import Stopwatch
from .saa_greedy import SAAGreedy

__all__ = ["ALNSPlanner", "DEFAULT_ITERATIONS", "ACCEPTANCE"]

#: Iterations of a run given neither ``iterations`` nor a time limit.
DEFAULT_ITERATIONS = 500

#: The acceptance criteria ``ALNSPlanner(acceptance=...)`` takes.
ACCEPTANCE = ("sa", "rrt")


@dataclass(frozen=True)
class _Solution:
    """A complete plan: the candidate index of every request and its evaluator cost."""

    route: tuple[int, ...]
    cost: float

    def objective(self) -> float:
        """The evaluator's total (what :class:`alns.ALNS` minimises)."""
        return self.cost


@dataclass(frozen=True)
class _Destroyed:
    """What a destroy operator took off (the shared state holds the rest)."""

    removed: tuple[int, ...]
    avoid_link: int | None = None
    open_link: int | None = None

    def objective(self) -> float:
        """A partial plan has no cost (the package never asks)."""
        return math.inf


class _AnyStop:
    """Stop when any of the package's stopping criteria says so (each called every time)."""

    def __init__(self, criteria: list) -> None:
        self.criteria = criteria
        self.reason = ""

    def __call__(self, rng: np.random.Generator, best: Any, current: Any) -> bool:
        hits = [(name, crit(rng, best, current)) for name, crit in self.criteria]
        for name, hit in hits:
            if hit:
                self.reason = name
                return True
        return False


class _Search:
    """The operators of one run, sharing one greedy state and the run's counters."""

    def __init__(self, planner: ALNSPlanner, state: GreedyState, clock: Stopwatch) -> None:
        self.p = planner
        self.work = state
        self.clock = clock
        inst = state.instance
        self.F = inst.n_requests
        self.fixed = state.fixed
        order = insertion_order(state.candidates, state.ladders, "cost-desc", inst)
        self.order = order
        self.rank = {f: r for r, f in enumerate(order)}
        self.gains: dict[int, tuple[tuple, float]] = {}  # f -> (what it depends on, gain)
        self.networked: set[tuple[int, bytes]] = set()  # (f, what was open) priced already
        self.evaluations = 0
        self.best = math.inf
        self.log: list[dict[str, float]] = []
        self.since_rebuild = 0
        # hop distances between nodes, for the relatedness of endpoints
        arcs = arc_table(inst)
        n = len(inst.nodes)
        adj = csr_matrix((np.ones(arcs.n), (arcs.tail, arcs.head)), shape=(n, n))
        hops = csgraph_shortest_path(adj, unweighted=True, directed=False)
        hops[~np.isfinite(hops)] = n
        self.hops = hops
        self.diameter = max(1.0, float(hops.max()))
        self.source = np.array([inst.node_index[r.source] for r in inst.requests], dtype=np.int64)

    # ---- the shared state
    def sync(self, route: tuple[int, ...]) -> None:
        """Bring the shared state to ``route`` (moving only the requests that differ)."""
        work = self.work
        self.since_rebuild += 1
        if self.since_rebuild >= self.p.rebuild_every:
            self.since_rebuild = 0
            work = self.work = work.fresh()
        diff = [f for f in range(self.F) if work.route[f] != route[f]]
        for f in diff:
            work.remove(f)
        for f in diff:
            work.insert(f, route[f])

    def score(self, polish: bool = True) -> _Solution:
        """The shared state as a solution, scored by the evaluator.

        A new best is first polished (``polish_passes``): the greedy's
        improvement passes over every request, kept if cheaper.
        """
        route = tuple(int(i) for i in self.work.route)  # type: ignore[arg-type]
        cost = self.work.total_cost()
        self.evaluations += 1
        if cost < self.best and polish and self.p.polish_passes > 0 and not self.clock.expired():
            self.work.improve(self.order, self.clock, self.p.polish_passes)
            better = self.score(polish=False)
            if better.cost < cost:
                return better
            self.sync(route)
        if cost < self.best:
            self.best = cost
            self.log.append(
                {"evaluations": self.evaluations, "seconds": self.clock.elapsed, "best": cost}
            )
        return _Solution(route, cost)

    def size(self, rng: np.random.Generator) -> int:
        """How many requests a destroy takes off."""
        hi = min(self.F, self.p.max_remove, max(1, math.ceil(self.p.remove_fraction * self.F)))
        lo = min(hi, max(1, self.p.min_remove))
        return int(rng.integers(lo, hi + 1))

    def ranked_pick(self, ranked: list[int], q: int, rng: np.random.Generator) -> list[int]:
        """``q`` requests of ``ranked`` (best first), Ropke and Pisinger's randomised rule."""
        left = list(ranked)
        out: list[int] = []
        while left and len(out) < q:
            out.append(left.pop(int(rng.random() ** self.p.determinism * len(left))))
        return out

    def take_off(
        self, removed: list[int], avoid_link: int | None = None, open_link: int | None = None
    ) -> _Destroyed:
        """Remove ``removed``; with ``open_link``, the link counts as paid until the repair ends."""
        for f in removed:
            self.work.remove(f)
        if open_link is not None:
            self.phantom(open_link, 1)
        return _Destroyed(tuple(sorted(removed)), avoid_link, open_link)

    def phantom(self, link: int, step: int) -> None:
        """Add ``step`` phantom users to ``link`` and its end nodes (so its charges look paid)."""
        work = self.work
        work.link_users[link] += step
        work.node_users[work.tail[2 * link]] += step
        work.node_users[work.head[2 * link]] += step

    def repaired(self, d: _Destroyed) -> _Solution:
        """End of a repair: drop the phantom user, score."""
        if d.open_link is not None:
            self.phantom(d.open_link, -1)
        return self.score()

    def links_of(self, f: int, i: int) -> np.ndarray:
        return self.work.candidates.arcs[f][i] // 2

    def route_nodes(self, f: int, i: int) -> np.ndarray:
        """Node positions of ``f``'s ``i``-th candidate, source first."""
        arcs = self.work.candidates.arcs[f][i]
        return np.append(self.work.tail[arcs], self.work.head[arcs[-1]])

    def end_node(self, f: int, i: int) -> int:
        return int(self.work.head[self.work.candidates.arcs[f][i][-1]])

    # ---- destroy operators
    def destroy_random(self, sol: _Solution, rng: np.random.Generator, **_: Any) -> _Destroyed:
        """``q`` requests drawn uniformly."""
        self.sync(sol.route)
        q = self.size(rng)
        return self.take_off([int(f) for f in rng.choice(self.F, size=q, replace=False)])

    def destroy_close_link(self, sol: _Solution, rng: np.random.Generator, **_: Any) -> _Destroyed:
        """Every request over one open charged link, drawn by charge per user."""
        self.sync(sol.route)
        work = self.work
        links = np.flatnonzero((work.link_users > 0) & (work.link_charge > 0))
        if links.size == 0:
            return self.take_off([int(f) for f in rng.choice(self.F, self.size(rng), False)])
        weight = work.link_charge[links] / work.link_users[links]
        link = int(links[rng.choice(links.size, p=weight / weight.sum())])
        users = [f for f in range(self.F) if np.any(self.links_of(f, sol.route[f]) == link)]
        return self.take_off(users, link)

    def destroy_open_link(self, sol: _Solution, rng: np.random.Generator, **_: Any) -> _Destroyed:
        """A random closed charged link made free, and the requests routed nearest to it."""
        self.sync(sol.route)
        work = self.work
        links = np.flatnonzero((work.link_users == 0) & (work.link_charge > 0))
        if links.size == 0:
            return self.take_off([int(f) for f in rng.choice(self.F, self.size(rng), False)])
        link = int(links[rng.integers(links.size)])
        ends = [int(work.tail[2 * link]), int(work.head[2 * link])]
        h = self.hops[ends].min(axis=0)  # hops of every node to the link
        far = [float(h[self.route_nodes(f, sol.route[f])].min()) for f in range(self.F)]
        ranked = sorted(range(self.F), key=lambda f: (far[f], f))
        return self.take_off(self.ranked_pick(ranked, self.size(rng), rng), open_link=link)

    def destroy_related(self, sol: _Solution, rng: np.random.Generator, **_: Any) -> _Destroyed:
        """A random request and the requests most related to it (shared links, near ends)."""
        self.sync(sol.route)
        q = self.size(rng)
        r = int(rng.integers(self.F))
        ends = np.array([self.end_node(f, sol.route[f]) for f in range(self.F)], dtype=np.int64)
        src, h = self.source, self.hops
        near = np.minimum(h[src, src[r]] + h[ends, ends[r]], h[src, ends[r]] + h[ends, src[r]]) / (
            2 * self.diameter
        )
        mine = set(self.links_of(r, sol.route[r]).tolist())
        shared = np.array(
            [len(mine.intersection(self.links_of(f, sol.route[f]).tolist())) for f in range(self.F)]
        ) / max(1, len(mine))
        relatedness = near - shared  # lower is more related
        others = sorted((f for f in range(self.F) if f != r), key=lambda f: (relatedness[f], f))
        return self.take_off([r] + self.ranked_pick(others, q - 1, rng))

    def destroy_worst(self, sol: _Solution, rng: np.random.Generator, **_: Any) -> _Destroyed:
        """The requests whose removal saves most (marginal cost given the others)."""
        self.sync(sol.route)
        work = self.work
        gain = np.zeros(self.F)
        for f in range(self.F):
            i = sol.route[f]
            arcs = work.candidates.arcs[f][i]
            # what the gain depends on: the requests on the route's links (both ways)
            key: tuple = (i, tuple(tuple(work.on_arc[int(a) ^ j]) for a in arcs for j in (0, 1)))
            if work.node_charge.any():  # and on the users of its nodes
                key += tuple(work.node_users[self.route_nodes(f, i)].tolist())
            hit = self.gains.get(f)
            if hit is not None and hit[0] == key:
                gain[f] = hit[1]
                continue
            work.remove(f)
            gain[f] = work.path_cost(f, i)
            work.insert(f, i)
            self.gains[f] = (key, float(gain[f]))
        ranked = sorted(range(self.F), key=lambda f: (-gain[f], f))
        return self.take_off(self.ranked_pick(ranked, self.size(rng), rng))

    # ---- repair operators
    def network_route(self, f: int) -> None:
        """With fixed charges, give ``f`` its route over the network built so far.

        :meth:`GreedyState.network_candidate
        <qkdbench.planning.greedy.GreedyState.network_candidate>` (a shortest
        path search) only when the links and nodes in use have changed since
        ``f`` last got one: the route depends on nothing else.
        """
        if not self.fixed:
            return
        work = self.work
        key = (
            f,
            np.packbits(work.link_users == 0).tobytes()
            + np.packbits(work.node_users == 0).tobytes(),
        )
        if key not in self.networked:
            self.networked.add(key)
            work.network_candidate(f)

    def place(self, f: int, avoid_link: int | None) -> None:
        """The greedy's insertion of ``f``, avoiding ``avoid_link`` where ``f`` can."""
        work = self.work
        self.network_route(f)
        if avoid_link is not None:
            i, _ = work.best_candidate(f, avoid_link=avoid_link)
            if i >= 0:
                work.insert(f, i)
                return
        work.place(f)

    def repair_greedy(self, d: _Destroyed, rng: np.random.Generator, **_: Any) -> _Solution:
        """The removed requests in the greedy's order, each on its cheapest candidate."""
        for f in sorted(d.removed, key=self.rank.__getitem__):
            self.place(f, d.avoid_link)
        return self.repaired(d)

    def repair_random(self, d: _Destroyed, rng: np.random.Generator, **_: Any) -> _Solution:
        """The removed requests in a random order, each on its cheapest candidate."""
        for f in rng.permutation(np.asarray(d.removed, dtype=np.int64)):
            self.place(int(f), d.avoid_link)
        return self.repaired(d)

    def two_best(self, f: int, avoid_link: int | None) -> tuple[float, float, int]:
        """Cost of ``f``'s best and second-best candidates with room, and the best one.

        Candidates over ``avoid_link`` count only when ``f`` has no other.
        """
        work = self.work
        n = len(work.candidates.arcs[f])
        cost = np.array(
            [
                work.path_cost(f, i) if work.has_room(work.provider_of(f, i)) else math.inf
                for i in range(n)
            ]
        )
        if avoid_link is not None:
            over = np.array([np.any(self.links_of(f, i) == avoid_link) for i in range(n)])
            if np.isfinite(cost[~over]).any():
                cost[over] = math.inf
        order = np.argsort(cost, kind="stable")
        second = float(cost[order[1]]) if n > 1 else math.inf
        return float(cost[order[0]]), second, int(order[0])

    def repair_regret(self, d: _Destroyed, rng: np.random.Generator, **_: Any) -> _Solution:
        """Regret-2 insertion: the request that loses most by waiting goes first."""
        work = self.work
        pending = list(d.removed)
        for f in pending:
            self.network_route(f)
        n_nodes = len(work.instance.nodes)
        touches = {}
        for f in pending:
            mask = np.zeros(n_nodes, dtype=bool)
            for arcs in work.candidates.arcs[f]:
                mask[work.tail[arcs]] = True
                mask[work.head[arcs]] = True
            touches[f] = mask
        every = bool(work.prov.active and np.any(work.prov.capacity >= 0))
        price = {f: self.two_best(f, d.avoid_link) for f in pending}

        def regret(g: int) -> tuple[float, float, int]:
            first, second = price[g][:2]
            if not math.isfinite(first):  # no candidate with room: re-assign first
                return (math.inf, 0.0, -g)
            gap = second - first if math.isfinite(second) else math.inf
            return (gap, -first, -g)

        while pending:
            f = max(pending, key=regret)
            pending.remove(f)
            cheapest, _second, i = price.pop(f)
            if math.isfinite(cheapest):
                work.insert(f, i)
                arcs = work.candidates.arcs[f][i]
                hit = np.zeros(n_nodes, dtype=bool)
                hit[work.tail[arcs]] = True
                hit[work.head[arcs]] = True
                stale = [g for g in pending if every or np.any(touches[g] & hit)]
            else:  # every provider of f is full: the state's re-assignment
                work.make_room(f)
                stale = list(pending)
            for g in stale:
                price[g] = self.two_best(g, d.avoid_link)
        return self.repaired(d)


@register_planner("alns", origin="built-in")
class ALNSPlanner:
    """Adaptive large neighbourhood search (alns package) from the greedy's plan.

    Parameters
    ----------
    k : int
        Candidate routes per request (as ``saa-greedy``).
    iterations : int or None
        At most this many iterations; ``None``: :data:`DEFAULT_ITERATIONS`
        without a time limit, no count limit with one.
    min_remove, max_remove : int
        Requests a destroy takes off: at least ``min_remove``, at most
        ``max_remove`` (``close-link`` takes every user of its link).
    remove_fraction : float
        And at most this share of the requests.
    determinism : float
        Ropke and Pisinger's ``p`` of the ranked removals (larger: greedier).
    acceptance : {"sa", "rrt"}
        Simulated annealing or record-to-record travel (module notes).
    start_gap, end_gap : float
        The gap accepted with probability one half (SA) or the acceptance
        threshold (RRT), relative to the start cost, at the start and the end.
    polish_passes : int
        Improvement passes of the greedy run on every new best (0: none).
    schedule : int
        Iterations over which the threshold falls under a time limit alone.
    scores : tuple of 4 floats
        Roulette-wheel scores of a new best, a better, an accepted and a
        rejected candidate.
    decay : float
        Roulette-wheel decay (weight kept per use).
    rebuild_every : int
        Iterations between rebuilds of the shared greedy state.

    Notes
    -----
    ``plan.stats`` holds ``objective`` (the evaluator's cost of the plan),
    ``start_cost`` (the greedy's), ``iterations``, ``seed``, ``runtime_s``,
    ``status`` (``heuristic``), ``stop`` (``iterations``, ``time_limit`` or
    ``trivial``), ``evaluations`` (plans scored), ``operators`` (per
    operator: how often its candidate was a new best, better, accepted,
    rejected) and ``anytime``: ``{"evaluations", "seconds", "best"}``
    records as the GA's, one per new best and one at the end; ``best`` never
    increases and ends at ``objective``.

    References
    ----------
    S. Ropke and D. Pisinger (2006). An adaptive large neighborhood search
    heuristic for the pickup and delivery problem with time windows.
    *Transportation Science* 40(4): 455-472. The ``alns`` package:
    N. A. Wouda and L. Lan (2023), ALNS: a Python implementation of the
    adaptive large neighbourhood search metaheuristic, *Journal of Open
    Source Software* 8(81): 5028.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> from qkdbench.evaluation import evaluate
    >>> inst = make_instance("nsfnet", 6, 5, seed=1)
    >>> plan = ALNSPlanner(iterations=20).plan(inst, seed=1)
    >>> plan.stats["anytime"][-1]["best"] == evaluate(inst, plan).total
    True
    """

    name = "alns"
    deterministic = False
    supports = frozenset(UNCOUPLED_FEATURES)

    def __init__(
        self,
        k: int = 8,
        iterations: int | None = None,
        min_remove: int = 2,
        max_remove: int = 30,
        remove_fraction: float = 0.15,
        determinism: float = 4.0,
        acceptance: str = "sa",
        start_gap: float = 0.002,
        end_gap: float = 0.0002,
        schedule: int = 1000,
        scores: tuple[float, float, float, float] = (33.0, 9.0, 13.0, 0.0),
        decay: float = 0.8,
        rebuild_every: int = 200,
        polish_passes: int = 2,
    ) -> None:
        self.k = k
        self.iterations = iterations
        self.min_remove = min_remove
        self.max_remove = max_remove
        self.remove_fraction = remove_fraction
        self.determinism = determinism
        self.acceptance = acceptance
        self.start_gap = start_gap
        self.end_gap = end_gap
        self.schedule = schedule
        self.scores = tuple(scores)
        self.decay = decay
        self.rebuild_every = rebuild_every
        self.polish_passes = polish_passes

    def _accept(self, start: float, n: int) -> Any:
        scale = max(abs(start), 1e-9)
        if self.acceptance == "rrt":
            return RecordToRecordTravel.autofit(scale, self.start_gap, self.end_gap, n)
        t0 = self.start_gap * scale / math.log(2.0)
        t1 = max(self.end_gap * scale / math.log(2.0), 1e-12)
        return SimulatedAnnealing(t0, min(t0, t1), (min(t0, t1) / t0) ** (1.0 / n))

    def _check(self) -> None:
        if self.acceptance not in ACCEPTANCE:
            raise InputError(f"acceptance must be one of {ACCEPTANCE}, got {self.acceptance!r}")
        if self.iterations is not None and self.iterations < 0:
            raise InputError(f"iterations must be >= 0, got {self.iterations}")
        if not 0 <= self.end_gap <= self.start_gap or (
            self.acceptance == "sa" and self.end_gap <= 0
        ):
            raise InputError(
                f"need 0 <= end_gap <= start_gap (end_gap > 0 for sa), "
                f"got {self.start_gap}, {self.end_gap}"
            )
        if self.min_remove < 1 or self.max_remove < 1 or not 0 < self.remove_fraction <= 1:
            raise InputError("min_remove, max_remove >= 1 and 0 < remove_fraction <= 1 needed")

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Plan ``instance``; same seed (and no time limit), same plan.

        Parameters
        ----------
        instance : Instance
            The instance to plan.
        seed : int, optional
            Seed of every random step (``None`` means 0).
        time_limit : float, optional
            Seconds; with ``iterations=None`` the search runs until then.

        Returns
        -------
        Plan
            The best plan seen (never worse than the greedy start), with the
            statistics of the class notes.

        Raises
        ------
        InputError
            For an unsupported feature or a parameter out of range.
        """
        check_supports(self, instance)
        self._check()
        clock = Stopwatch(time_limit)
        seed_int = check_seed(seed)
        rng = check_random_state(seed_int)
        state, _ = SAAGreedy(k=self.k).build(instance, None, clock)
        start_plan = Plan(instance.name, self.name, state.routes(instance), {})
        F = instance.n_requests
        search = _Search(self, state, clock) if F else None
        if search is not None:
            start_cost = search.score(polish=False).cost  # the greedy's plan, as it is
        else:
            start_cost = evaluate(instance, start_plan).total
        if search is None or clock.expired():
            return self._finish(instance, start_plan, start_cost, clock, seed_int, search, 0, {})
        limit = self.iterations
        if limit is None and time_limit is None:
            limit = DEFAULT_ITERATIONS
        criteria: list = []
        if limit is not None:
            criteria.append(("iterations", MaxIterations(limit)))
        if clock.remaining is not None:
            criteria.append(("time_limit", MaxRuntime(clock.remaining)))
        stop = _AnyStop(criteria)
        engine = ALNS(rng)
        engine.add_destroy_operator(search.destroy_random, "random")
        if search.fixed:
            engine.add_destroy_operator(search.destroy_close_link, "close-link")
            engine.add_destroy_operator(search.destroy_open_link, "open-link")
        engine.add_destroy_operator(search.destroy_related, "related")
        engine.add_destroy_operator(search.destroy_worst, "worst")
        engine.add_repair_operator(search.repair_greedy, "greedy")
        engine.add_repair_operator(search.repair_random, "random")
        engine.add_repair_operator(search.repair_regret, "regret")
        select = RouletteWheel(list(self.scores), self.decay, len(engine.destroy_operators), 3)
        initial = _Solution(tuple(int(i) for i in state.route), start_cost)  # type: ignore[arg-type]
        n = max(1, limit if limit is not None else self.schedule)
        result = engine.iterate(initial, select, self._accept(start_cost, n), stop)
        best: _Solution = result.best_state
        st = result.statistics
        operators = {
            f"{kind}:{name}": [int(c) for c in counts]
            for kind, table in (
                ("destroy", st.destroy_operator_counts),
                ("repair", st.repair_operator_counts),
            )
            for name, counts in table.items()
        }
        search.sync(best.route)
        plan = Plan(instance.name, self.name, search.work.routes(instance), {})
        if evaluate(instance, plan).total > start_cost:  # never dearer than the greedy
            plan = start_plan
        iters = len(st.objectives) - 1
        return self._finish(
            instance,
            plan,
            start_cost,
            clock,
            seed_int,
            search,
            iters,
            {"stop": stop.reason or "iterations", "operators": operators},
        )

    def _finish(
        self,
        instance: Instance,
        plan: Plan,
        start_cost: float,
        clock: Stopwatch,
        seed: int,
        search: _Search | None,
        iterations: int,
        extra: dict,
    ) -> Plan:
        cost = float(evaluate(instance, plan).total)
        evaluations = search.evaluations if search else 1
        log = list(search.log) if search else []
        if not log:
            log.append({"evaluations": evaluations, "seconds": clock.elapsed, "best": cost})
        log.append({"evaluations": evaluations, "seconds": clock.elapsed, "best": cost})
        stop = "trivial" if not instance.n_requests else "time_limit"
        return Plan(
            instance.name,
            self.name,
            plan.routes,
            {
                "stop": stop,
                **extra,
                "objective": cost,
                "start_cost": float(start_cost),
                "iterations": iterations,
                "seed": seed,
                "runtime_s": clock.elapsed,
                "status": "heuristic",
                "evaluations": evaluations,
                "anytime": log,
                "k": self.k,
                "acceptance": self.acceptance,
            },
        )
