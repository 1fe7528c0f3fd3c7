"""Sample-average greedy (``saa-greedy``): route one request at a time, cheapest first.

The method
----------
1. **Demand model.** By default the *exact* marginal distributions of the key
   rates (``n_scenarios=None``). With ``n_scenarios=N`` a seeded joint sample
   of ``N`` scenarios is drawn and each request's empirical marginal replaces
   its distribution; by docs/model.md, property 2 this gives exactly the
   sample-average cost. The exact marginals are the default because the
   evaluator needs only marginals, they cost nothing extra and a sample only
   adds noise (a finite sample's plan is never better in expectation).
2. **Reservation ladders.** On one arc, the expected cost of one request is
   convex and piecewise linear in its reservation, with breakpoints where the
   support needs ``3P`` (QKD) or ``P`` (KM) wavelengths (docs/model.md, property
   4). The evaluator's :func:`~qkdbench.evaluation.pair_costs` is read at the
   breakpoints only; between two breakpoints each extra wavelength saves the
   same amount (its *marginal benefit*). Segments with no saving are dropped,
   so a request's full ladder ends at its newsvendor reservation.
3. **Candidates.** The ``k`` cheapest stand-alone routes of each request (see
   :mod:`qkdbench.planning.paths`).
4. **Order.** Requests are inserted by decreasing stand-alone cost (the cost
   of the request alone on its cheapest candidate with newsvendor
   reservations, and its target's service cost for a request with targets),
   ties in instance order: the requests with the most at stake
   choose first.
5. **Insertion.** Each request takes the candidate that adds the least
   expected cost given the requests already placed. With ``rebalance=False``
   on each arc the request reserves its
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

7. **Providers**. An anycast request's candidates are the
   ``k`` cheapest routes to each of its targets, costed with the target's
   service cost; insertion and the improvement passes choose among all of
   them (so they choose the target too) but never a provider that is full;
   a request left with no provider with room triggers a min-cost-flow
   re-assignment (:meth:`~qkdbench.planning.greedy.GreedyState.make_room`).
   With ``improve``, ejection moves follow the passes
   (:meth:`~qkdbench.planning.greedy.GreedyState.provider_moves`: a request
   takes a cheaper target of a full provider and pushes one of that
   provider's requests to its best target with room), then passes again.
   Random link key rates and ``unit_costs`` need nothing special: every
   cost comes from the evaluator's per-(request, arc) expected costs.

8. **Fixed charges** (docs/model.md). Insertion and the
   improvement passes charge a route the fixed charges of the links and nodes
   it would open (:class:`~qkdbench.planning.greedy.GreedyState`), so requests
   consolidate onto links already paid for. Each request's candidates are the
   ``k`` cheapest stand-alone routes by expected wavelength cost *and* the
   ``k`` cheapest with every link's and node's fixed charge added, so that
   routes through few, cheap sites are on offer. After the passes, the
   link-closing local search (:meth:`~qkdbench.planning.greedy.GreedyState.close_links`)
   moves every request off one rarely used link at a time when that lowers
   the total, followed by improvement passes again. On an instance without
   fixed charges none of this changes anything.

9. **Coupled second stage** (on-demand caps, joint scenarios; docs/model.md). The
   costs no longer separate by (request, arc), but they still separate by arc: the
   state is a :class:`~qkdbench.planning.coupled_greedy.CoupledState`, which prices
   an insertion by the exact change of the cost of every arc on the route over the
   joint scenarios. With ``rebalance`` (default) each arc's reservations are
   re-optimised for the requests on it (coordinate descent on each request's
   reservation, whose cost is convex given the others, and unit exchanges within the
   capacity: :func:`~qkdbench.planning.coupled.arc_groups`); without, a newcomer takes
   its best reservation given the others (a binary search on the arc's per-scenario
   residuals: :func:`~qkdbench.planning.coupled.newcomer`). The ladders, the
   insertion order and the candidate routes read each request's stand-alone cost on
   each arc over the joint scenarios (its cap and shortfall included). Insertion, the
   passes, ejections and link closing are unchanged. With ``n_scenarios=N`` the
   sample is ``N`` draws of the listed joint scenarios.

The plan returned is scored by :func:`~qkdbench.evaluation.evaluate` only
for its statistics; all costs come from the evaluator.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..evaluation.pricing import arc_table, fixed_charges
from ..evaluation.sampling import resample_listed, sample_scenarios
from ..exceptions import InputError
from ..model import Demand, Instance, Plan
from ..planning.coupled_greedy import CoupledState
from ..planning.greedy import INSERTION_ORDERS, GreedyState, insertion_order
from ..planning.ladders import build_ladders
from ..planning.paths import Candidates, candidate_paths
from ..utils.random import check_seed
from ..utils.registry import check_supports, register_planner
from ..utils.timing import Stopwatch

__all__ = ["sampled_instance", "SAAGreedy", "insert_all", "PATH_SHARE"]


def sampled_instance(instance: Instance, n_scenarios: int, seed: int | None) -> Instance:
    """The instance with each demand replaced by its marginal in a seeded joint sample.

    Scenario ``i`` draws every request's key rate (one ``numpy`` generator
    seeded with ``seed``, requests in instance order); by separability
    (docs/model.md, property 2) the sample-average cost of a plan is its cost
    under these empirical marginals. On a coupled instance, whose cost needs the
    joint scenarios, the sample is ``n_scenarios`` draws (with replacement, by their
    probabilities) of the listed scenarios, each of probability ``1 / n_scenarios``.

    Parameters
    ----------
    instance : Instance
        The instance whose demands are sampled.
    n_scenarios : int
        Joint scenarios to draw (at least 1).
    seed : int or None
        Seed of the sample (``None`` means 0).

    Returns
    -------
    Instance
        The same name, network and targets; each demand the empirical distribution of
        its ``n_scenarios`` draws.

    Raises
    ------
    ValueError
        If ``n_scenarios < 1``.
    """
    if n_scenarios < 1:
        raise InputError(f"n_scenarios must be at least 1, got {n_scenarios}")
    if instance.is_coupled:
        return resample_listed(instance, n_scenarios, check_seed(seed))
    draws = sample_scenarios(instance, n_scenarios, check_seed(seed))
    reqs = [
        replace(r, demand=Demand.empirical(draws[:, f]))  # targets survive
        for f, r in enumerate(instance.requests)
    ]
    return instance.with_requests(reqs, instance.name)


def _merge(first: Candidates, second: Candidates) -> Candidates:
    """``first``'s candidates followed by those of ``second`` it lacks (per request).

    A candidate is its path and its target (two providers may share a node).
    """
    out = first
    for f in range(len(first.paths)):
        for i, (q, b) in enumerate(zip(second.paths[f], second.arcs[f], strict=True)):
            t = second.target_of(f, i)
            if out.index_of(f, q, t) is None:
                out = out.extended(f, q, b, t)
    return out


#: Share of a time limit the candidate path search may use (the rest: insertion, passes).
PATH_SHARE = 0.4


def insert_all(state: GreedyState, order: list[int], clock: Stopwatch | None = None) -> int:
    """Insert the requests in ``order``, each on its cheapest candidate, until the clock.

    Once ``clock`` has expired, the requests left go on their first candidate
    whose provider has room (their cheapest stand-alone route, providers aside)
    without pricing the others, so a plan for every request comes back soon
    after the limit. A request whose providers are all full goes through
    :meth:`~qkdbench.planning.greedy.GreedyState.make_room`.

    Parameters
    ----------
    state : GreedyState
        Changed in place; the requests in ``order`` are not routed in it.
    order : list of int
        Request positions, in insertion order.
    clock : Stopwatch, optional
        Time limit (none by default).

    Returns
    -------
    int
        How many requests were inserted after the limit.
    """
    late = 0
    for f in order:
        if clock is not None and clock.expired():
            late += 1
            free = [
                i
                for i in range(len(state.candidates.arcs[f]))
                if state.has_room(state.provider_of(f, i))
            ]
            if free:
                state.insert(f, free[0])
            else:
                state.make_room(f)
            continue
        state.place(f)
    return late


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
        or clip a newcomer's newsvendor reservation to the capacity left. On a
        coupled instance: re-optimise each arc's reservations for its requests
        (default), or give a newcomer its best reservation given the others.
    improve : bool
        Run improvement passes (re-insert each request given the others).
    max_passes : int
        At most this many improvement passes.
    close_rounds : int
        Rounds of the link-closing search on fixed-charge instances (0: none).

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
    supports = frozenset({"fixed_charges", "link_prices", "link_states", "providers", "coupled"})

    def __init__(
        self,
        k: int = 8,
        n_scenarios: int | None = None,
        order: str = "cost-desc",
        rebalance: bool = True,
        improve: bool = True,
        max_passes: int = 20,
        close_rounds: int = 3,
    ) -> None:
        self.k = k
        self.n_scenarios = n_scenarios
        self.order = order
        self.rebalance = rebalance
        self.improve = improve
        self.max_passes = max_passes
        self.close_rounds = close_rounds

    @property
    def deterministic(self) -> bool:
        """Whether ``seed`` changes nothing: true unless ``n_scenarios`` samples scenarios."""
        return self.n_scenarios is None

    def prepare(
        self, instance: Instance, seed: int | None = None, clock: Stopwatch | None = None
    ) -> GreedyState:
        """An empty state: the demand model, its ladders and the candidate routes.

        With a ``clock`` that has a limit, the path search may use up to
        :data:`PATH_SHARE` of it; requests reached later get only their
        cheapest stand-alone path (and the shortest by length).

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Seed of the sample when ``n_scenarios`` is set (``None`` means 0).
        clock : Stopwatch, optional
            The run's clock; only its limit matters here.

        Returns
        -------
        GreedyState
            No request routed; its instance is ``instance`` or the sampled one.
        """
        model = (
            instance
            if self.n_scenarios is None
            else sampled_instance(instance, int(self.n_scenarios), check_seed(seed))
        )
        ladders = build_ladders(model)
        F, A = model.n_requests, arc_table(model).n
        weights = ladders.best().reshape(F, A)
        paths_clock = None
        if clock is not None and clock.limit is not None:
            paths_clock = Stopwatch(max(0.0, PATH_SHARE * clock.limit - clock.elapsed))
        cands = candidate_paths(model, self.k, weights, paths_clock)
        fc = fixed_charges(model)
        if fc.active and F:
            arcs = arc_table(model)
            loaded = weights + (np.repeat(fc.link, 2) + fc.node[arcs.head])[None, :]
            cands = _merge(cands, candidate_paths(model, self.k, loaded, paths_clock))
        if model.is_coupled:
            return CoupledState(model, ladders, cands, self.rebalance)
        return GreedyState(model, ladders, cands, self.rebalance)

    def build(
        self, instance: Instance, seed: int | None = None, clock: Stopwatch | None = None
    ) -> tuple[GreedyState, dict]:
        """Run the greedy and return its final state and run statistics.

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Seed of the sample when ``n_scenarios`` is set (``None`` means 0).
        clock : Stopwatch, optional
            Time limit (none by default).

        Returns
        -------
        state : GreedyState
            Every request routed.
        info : dict
            ``passes``, ``moves``, ``stop`` and ``late_insertions``, with
            ``provider_moves`` and ``links_closed`` when those searches ran.

        Raises
        ------
        ValueError
            If ``order`` is not one of :data:`~qkdbench.planning.greedy.INSERTION_ORDERS`.
        """
        clock = clock or Stopwatch(None)
        if self.order not in INSERTION_ORDERS:
            raise InputError(f"order must be one of {INSERTION_ORDERS}, got {self.order!r}")
        state = self.prepare(instance, seed, clock)
        F = instance.n_requests
        order = insertion_order(state.candidates, state.ladders, self.order, state.instance)
        late = insert_all(state, order, clock)
        info = {"passes": 0, "moves": 0, "stop": "converged"}
        if late:
            info["stop"] = "time_limit"
        elif self.improve and F > 1:
            info = state.improve(order, clock, self.max_passes)
        info["late_insertions"] = late
        if not late and self.improve and state.prov.active:
            ejected = state.provider_moves(clock)
            info["provider_moves"] = ejected["moves"]
            if ejected["moves"] and F > 1:
                more = state.improve(order, clock, self.max_passes)
                info["moves"] += more["moves"]
        if state.fixed and self.close_rounds > 0:
            closing = state.close_links(clock, self.close_rounds)
            info = {**info, "links_closed": closing["closed"]}
            if closing["closed"] and self.improve and F > 1:
                more = state.improve(order, clock, self.max_passes)
                info["moves"] += more["moves"]
        return state, info

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Plan ``instance``; ``seed`` (``None`` means 0) matters only when sampling.

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Seed of the sample when ``n_scenarios`` is set.
        time_limit : float, optional
            Seconds; past it the requests left are inserted without pricing and the
            searches stop.

        Returns
        -------
        Plan
            Status ``heuristic``; ``stats`` as the class notes say.

        Raises
        ------
        InputError
            If the instance uses an extension the planner does not handle.
        """
        check_supports(self, instance)
        clock = Stopwatch(time_limit)
        state, info = self.build(instance, seed, clock)
        routes = state.routes(instance)
        plan = Plan(instance.name, self.name, routes, {})
        return plan.with_stats(
            runtime_s=clock.elapsed,
            status="heuristic",
            k=self.k,
            n_scenarios=self.n_scenarios,
            order=self.order,
            rebalance=self.rebalance,
            **info,
        )
