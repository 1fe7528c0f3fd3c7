"""A DEAP genetic algorithm (``ga``) over routes and reservation levels.

One algorithm, kept in one module: the genome's decoding and repair
(:class:`GenomeDecoder`) and the search (:class:`GeneticPlanner`) share the notes below.

Genome
------
A list of ``2F`` integers: for request ``f``, gene ``f`` is the index of its
route among its candidates (the ``k`` cheapest stand-alone routes plus the
shortest by length, :mod:`qkdbench.planning.paths`) and gene ``F + f`` a
*reservation level* ``l`` in ``0 .. levels-1``: on every arc of its route the
request asks for at most the fraction ``l / (levels - 1)`` of its newsvendor
reservation (rounded to the nearest wavelength).

Decoding and repair
-------------------
Requests rarely all get what they ask for: on each arc, the reservation
capacity is shared among the requests using it by water-filling
(:func:`~qkdbench.planning.waterfill.waterfill`: wavelengths go to the
largest marginal savings first, each request up to its ask). Every decoded
plan therefore respects every capacity; at full levels the reservations are
the optimal ones for the genome's routes. The level genes let the genome
express plans that under-reserve, such as CO-QBN's.

Fitness
-------
The whole population is decoded into one
:class:`~qkdbench.evaluation.PlanArrays` batch and scored by one
:func:`~qkdbench.evaluation.evaluate_batch` call per generation (expected
cost, plus a penalty per wavelength over capacity that the repair makes
zero). Genomes already scored are looked up, not rescored.

Search
------
Initial population: the genomes of the CO-QBN plan and of the
``saa-greedy`` plan, mutated copies of the greedy genome and random genomes.
The CO-QBN and greedy plans themselves are also scored, so the GA never
returns a plan dearer than either. Each generation keeps the ``n_elite``
best, fills the rest by tournament selection, uniform crossover (a
request's two genes travel together) and mutation (a new route index, a
level one step up or down). A hall of fame keeps the best genomes seen. The
run stops after ``generations``, at the time limit, or after ``stagnation``
generations without a better plan. Whatever stops it (the time limit
included, even before generation 0), the plan returned is the cheapest of
the seed plans and every genome scored, so never dearer than a seed.

Fixed charges (docs/model.md)
-------------------------------------------
The fitness is the evaluator's, so it includes the link and node fixed
charges. The candidates, the greedy seed and the polish come from the
fixed-charge-aware greedy (insertion sees which links are paid for; the
polish also runs one round of its link-closing search). Crossover and repair
keep their structure; mutation gains one move that knows about shared links:
with probability ``mut_close`` per child, a *link-closing mutation* picks a
random open link with a charge and moves every request using it to a random
candidate that avoids it, the only way a single mutation can save a link's
charge when several requests share it. On an instance without fixed charges
the GA draws exactly the random numbers it drew before.

Providers (docs/model.md)
---------------------------------------
An anycast request's candidates are its cheapest routes to *every* one of its
targets (:mod:`qkdbench.planning.paths`), so its route gene chooses the
target too, and a route mutation may switch target. A genome may then ask a
provider to serve more requests than its capacity; before it is scored, the
*provider repair* (:meth:`GenomeDecoder.repair`) moves, one at a time, the
request of an over-full provider whose move to its best candidate with a
provider with room costs least (stand-alone cost with service cost, ties to
the earlier request and candidate), until no provider is over capacity. If
no such single move exists (every other provider of those requests is full),
a min-cost flow (:func:`~qkdbench.planning.providers.assign_providers`)
re-assigns providers keeping as many requests as possible where they are,
and each moved request takes its cheapest candidate of its new provider. The
repaired genome replaces the individual, so the population only holds
capacity-feasible genomes. Random link key rates and ``unit_costs``
need nothing: the fitness is the evaluator's.

Coupled second stage (docs/model.md)
------------------------------------
On a coupled instance (on-demand caps, joint scenarios) the costs of the requests
sharing an arc do not add up, so the decoder does not water-fill separable ladders:
a level asks for ``l / (levels - 1)`` of the request's *largest need* on each arc
(over the scenarios), and each arc's reservations are chosen for the requests on it
within their asks and the capacity by the coupled greedy's arc optimisation
(:func:`~qkdbench.planning.coupled.arc_groups`: coordinate descent on each request's
reservation, whose cost is convex given the others, and unit exchanges). At full
levels that is exactly the greedy's choice, so the greedy's genome decodes to the
greedy's plan. The fitness stays the evaluator's batch score over the joint
scenarios; the seeds, the polish and the repairs come from the coupled greedy
(:class:`~qkdbench.planning.coupled_greedy.CoupledState`).

Randomness
----------
DEAP's own operators draw from the module-level :mod:`random`. The GA uses
its own selection, crossover and mutation, all drawing from a private
``random.Random(seed)``, so it neither reads nor changes the global state;
``seed=None`` means seed 0. Without a time limit, the same seed gives the
same plan. DEAP's ``creator`` classes are made once, at import.

Parallelism: the batch evaluator already runs on all cores (Numba
``prange``); a Dask map is not implemented.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from deap import base, creator, tools

from ..evaluation import PlanArrays, decode_plan, evaluate_batch
from ..evaluation.encoding import target_position
from ..evaluation.pricing import arc_table, fixed_charges, provider_table
from ..exceptions import InputError
from ..model import Instance, Plan
from ..planning.coupled import arc_groups, coupled_arrays
from ..planning.greedy import GreedyState
from ..planning.paths import Candidates
from ..planning.providers import assign_providers
from ..planning.waterfill import waterfill
from ..utils.random import check_seed
from ..utils.registry import check_supports, register_planner
from ..utils.timing import Stopwatch
from .coqbn import CoQBN
from .saa_greedy import SAAGreedy

__all__ = ["GeneticPlanner", "GenomeDecoder"]

if not hasattr(creator, "QkdFitnessMin"):
    creator.create("QkdFitnessMin", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "QkdIndividual"):
    creator.create("QkdIndividual", list, fitness=creator.QkdFitnessMin)

#: Cost added per wavelength over capacity (the repair keeps it at zero).
EXCESS_PENALTY = 1e9


class GenomeDecoder:
    """Turns genomes into plan arrays, with the water-filling repair.

    Parameters
    ----------
    instance : Instance
    state : GreedyState
        A greedy run on ``instance``; its ladders and candidates are used.
    levels : int
        Number of reservation levels (>= 2).
    """

    def __init__(self, instance: Instance, state: GreedyState, levels: int) -> None:
        self.instance = instance
        self.ladders = state.ladders
        self.candidates = state.candidates
        self.levels = levels
        self.F = instance.n_requests
        self.n_arcs = arc_table(instance).n
        self.n_candidates = np.array([len(c) for c in self.candidates.arcs], dtype=np.int64)
        #: whether the second stage is coupled (then no ladders: see the module notes)
        self.coupled = instance.is_coupled
        if self.coupled:  # a level's share is of the largest need over the scenarios
            p_max = coupled_arrays(instance).p_max[:, np.arange(self.n_arcs) // 2]
            self.full_y = (3.0 * p_max).ravel()
            self.full_z = p_max.ravel().astype(float)
        else:
            self.full_y = self.ladders.full("y")
            self.full_z = self.ladders.full("z")
        #: whether the instance has fixed charges
        self.fixed = fixed_charges(instance).active
        self.use_candidates(self.candidates)

    def use_candidates(self, candidates: Candidates) -> None:
        """Switch to ``candidates``, which extend the current ones (indices stay valid).

        The fixed-charge-aware greedy adds routes over the links already paid
        for while it runs (:meth:`GreedyState.network_candidate`).

        Parameters
        ----------
        candidates : Candidates
            The current candidates with routes appended.
        """
        self.candidates = candidates
        self.n_candidates = np.array([len(c) for c in candidates.arcs], dtype=np.int64)
        pt = provider_table(self.instance)
        self.prov = pt
        #: whether some provider has a capacity: then genomes need the provider repair
        self.capacitated = bool(pt.active and np.any(pt.capacity >= 0))
        #: provider index (-1: none) and stand-alone cost (service included) per candidate
        self.cand_provider = [
            [int(pt.provider[pt.ptr[f] + t]) for t in candidates.targets_of(f)]
            for f in range(self.F)
        ]
        self.cand_cost = [
            [
                float(candidates.standalone[f][arcs].sum())
                + float(pt.service_cost[pt.ptr[f] + candidates.target_of(f, i)])
                for i, arcs in enumerate(candidates.arcs[f])
            ]
            for f in range(self.F)
        ]
        #: charged links of each candidate (for the link-closing mutation)
        fc = fixed_charges(self.instance)
        self.charged_links = (
            [
                [frozenset(int(k) for k in arcs // 2 if fc.link[k] > 0) for arcs in per_f]
                for per_f in candidates.arcs
            ]
            if self.fixed
            else []
        )

    def repair(self, genome: list) -> int:
        """Move requests off over-full providers, in place; see the module notes.

        Parameters
        ----------
        genome : list of int
            A genome (``2F`` genes); its route genes may change.

        Returns
        -------
        int
            Route genes changed.
        """
        if not self.capacitated:
            return 0
        F, cap = self.F, self.prov.capacity
        prov = self.cand_provider
        load = np.zeros(cap.size, dtype=np.int64)
        for f in range(F):
            p = prov[f][genome[f]]
            if p >= 0:
                load[p] += 1
        changed = 0
        for p in range(cap.size):
            while cap[p] >= 0 and load[p] > cap[p]:
                best: tuple[float, int, int] | None = None
                for f in range(F):
                    if prov[f][genome[f]] != p:
                        continue
                    here = self.cand_cost[f][genome[f]]
                    for i, q in enumerate(prov[f]):
                        if q == p or q < 0 or (0 <= cap[q] <= load[q]):
                            continue
                        move = (self.cand_cost[f][i] - here, f, i)
                        if best is None or move < best:
                            best = move
                if best is None:
                    return changed + self._repair_by_flow(genome)
                _, f, i = best
                load[p] -= 1
                load[prov[f][i]] += 1
                genome[f] = i
                changed += 1
        return changed

    def _repair_by_flow(self, genome: list) -> int:
        """Provider repair by a min-cost flow, when no single move helps."""
        F, prov = self.F, self.cand_provider
        options: list[dict[int, float]] = []
        for f in range(F):
            opt: dict[int, float] = {}
            for q in prov[f]:
                if q >= 0:
                    opt[q] = 0.0 if q == prov[f][genome[f]] else 1.0
            options.append(opt)
        given = assign_providers(options, self.prov.capacity)
        changed = 0
        for f in range(F):
            if given[f] is None or given[f] == prov[f][genome[f]]:
                continue
            mine = [i for i, q in enumerate(prov[f]) if q == given[f]]
            genome[f] = min(mine, key=lambda i: (self.cand_cost[f][i], i))
            changed += 1
        return changed

    def greedy_genome(self, state: GreedyState) -> list[int]:
        """The genome of a greedy state (its routes, full levels).

        Parameters
        ----------
        state : GreedyState
            A state with every request routed, on the decoder's candidates.

        Returns
        -------
        list of int
            ``2F`` genes: the state's candidate positions, then the top level for each request.
        """
        return [int(i) for i in state.route if i is not None] + [self.levels - 1] * self.F

    def genome_of(self, plan: Plan) -> list[int]:
        """The genome closest to a plan whose routes are candidates.

        A request's level is the one nearest to its share of the newsvendor
        reservations (QKD and KM wavelengths together over its route); on a coupled
        instance, the lowest level whose asks cover its reservations on every arc.

        Parameters
        ----------
        plan : Plan
            A plan with a route for every request.

        Returns
        -------
        list of int
            ``2F`` genes.

        Raises
        ------
        ValueError
            If a route is not among its request's candidates.
        """
        genes, lev = [], []
        by_id = {r.request_id: r for r in plan.routes}
        for f, req in enumerate(self.instance.requests):
            route = by_id[req.id]
            t = target_position(req, route.path[-1], route.provider) if req.is_anycast else None
            i = self.candidates.index_of(f, route.path, t)
            if i is None:  # the seeds are the package's own planners: a bug, not bad input
                raise ValueError(f"route of request {req.id!r} is not a candidate")
            genes.append(i)
            pairs = f * self.n_arcs + self.candidates.arcs[f][i]
            if self.coupled:  # the lowest level whose asks cover the route's reservations
                top = self.levels - 1
                got_y = np.asarray(route.reserve_qkd, float)
                got_z = np.asarray(route.reserve_km, float)
                lev.append(
                    next(
                        (
                            lv
                            for lv in range(top)
                            if np.all(np.floor(lv / top * self.full_y[pairs] + 0.5) >= got_y)
                            and np.all(np.floor(lv / top * self.full_z[pairs] + 0.5) >= got_z)
                        ),
                        top,
                    )
                )
                continue
            full = float(self.full_y[pairs].sum() + self.full_z[pairs].sum())
            got = float(sum(route.reserve_qkd) + sum(route.reserve_km))
            share = got / full if full > 0 else 1.0
            lev.append(int(np.clip(round(share * (self.levels - 1)), 0, self.levels - 1)))
        return genes + lev

    def decode(self, genomes: list[list[int]]) -> PlanArrays:
        """One batch of plan arrays (rows ``b * F + f``) for ``genomes``.

        Parameters
        ----------
        genomes : list of list of int
            ``B`` genomes of ``2F`` genes each.

        Returns
        -------
        PlanArrays
            ``B`` plans; reservations water-filled per plan and arc and rounded (on a
            coupled instance: optimised per plan and arc within the asks), so within
            every capacity; targets only when the instance has providers.
        """
        F, A = self.F, self.n_arcs
        B = len(genomes)
        arcs_list, lvl_list, lens, tgt = [], [], [], []
        for g in genomes:
            for f in range(F):
                tgt.append(self.candidates.target_of(f, g[f]))
                arcs = self.candidates.arcs[f][g[f]]
                arcs_list.append(arcs)
                lens.append(arcs.size)
                lvl_list.append(g[F + f])
        lens_arr = np.asarray(lens, dtype=np.int64)
        arcs = np.concatenate(arcs_list) if arcs_list else np.zeros(0, np.int64)
        row = np.repeat(np.arange(B * F), lens_arr)
        f_of = row % F if F else row
        plan_of = row // F if F else row
        pairs = f_of * A + arcs
        frac = np.repeat(np.asarray(lvl_list, float), lens_arr) / (self.levels - 1)
        groups = plan_of * A + arcs
        ptr = np.zeros(B * F + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(lens_arr)
        target = np.asarray(tgt, dtype=np.int64) if self.prov.active else None
        if self.coupled:
            yr, zr = self._decode_coupled(
                groups,
                f_of,
                np.floor(frac * self.full_y[pairs] + 0.5),
                np.floor(frac * self.full_z[pairs] + 0.5),
            )
            return PlanArrays(ptr, arcs, yr, zr, F, target)
        ladders = self.ladders
        cap_y = np.tile(arc_table(self.instance).W_qkd.astype(float), B)
        cap_z = np.tile(arc_table(self.instance).W_kml.astype(float), B)
        yr = waterfill(
            ladders.y_ptr,
            ladders.y_len,
            ladders.y_ben,
            pairs,
            groups,
            cap_y,
            np.floor(frac * self.full_y[pairs] + 0.5),
        )
        zr = waterfill(
            ladders.z_ptr,
            ladders.z_len,
            ladders.z_ben,
            pairs,
            groups,
            cap_z,
            np.floor(frac * self.full_z[pairs] + 0.5),
        )
        return PlanArrays(ptr, arcs, np.round(yr), np.round(zr), F, target)

    def _decode_coupled(
        self, groups: np.ndarray, f_of: np.ndarray, ask_y: np.ndarray, ask_z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reservations of every entry: each (plan, arc)'s requests optimised together."""
        order = np.argsort(groups, kind="stable")  # within a group: request order
        sorted_groups = groups[order]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        g_ptr = np.append(starts, sorted_groups.size).astype(np.int64)
        y, z, _, _, _ = arc_groups(
            g_ptr,
            (sorted_groups[starts] % self.n_arcs).astype(np.int64),
            f_of[order].astype(np.int64),
            np.ascontiguousarray(ask_y[order]),
            np.ascontiguousarray(ask_z[order]),
            True,
            *coupled_arrays(self.instance).kernel_data,
        )
        yr = np.empty(groups.size)
        zr = np.empty(groups.size)
        yr[order] = y
        zr[order] = z
        return yr, zr


@register_planner("ga", origin="built-in")
class GeneticPlanner:
    """DEAP GA on route indices and reservation levels, seeded with CO-QBN and the greedy.

    Parameters
    ----------
    k : int
        Candidate routes per request (as ``saa-greedy``).
    population : int
        Individuals per generation.
    generations : int
        At most this many generations.
    stagnation : int
        Stop after this many generations without a better plan.
    levels : int
        Reservation levels per request (>= 2).
    cx_prob : float
        Probability that two parents are crossed.
    mut_route, mut_level : float
        Expected number of route and level genes mutated per child.
    tournament : int
        Tournament size.
    n_elite : int
        Best individuals copied to the next generation.
    hof_size : int
        Size of the hall of fame (``plan.stats["hall_of_fame"]`` lists its costs).
    seeds : tuple of str
        Plans the initial population starts from: ``"coqbn"`` and/or
        ``"saa-greedy"``. Without the greedy, the stand-alone cheapest routes
        at full levels stand in for it.
    polish : bool
        Memetic step: whenever a generation finds a better plan, its routes
        go through the greedy's improvement passes (each request moved to its
        best candidate given the others, full levels; on a fixed-charge
        instance also one round of link closing; with provider capacities
        also one round of ejection moves) and the result replaces the
        generation's last child. On a fixed-charge instance every other
        generation's best child is polished the same way (a memetic GA: with
        fixed charges the greedy's local optima are many and far apart).
    mut_close : float
        Probability per child of the link-closing mutation (fixed-charge
        instances only).

    Notes
    -----
    ``plan.stats`` holds ``runtime_s``, ``status`` (``heuristic``),
    ``generations``, ``evaluations`` (plans scored), ``stop`` (``generations``,
    ``stagnation``, ``time_limit`` or ``trivial``), ``seed_costs`` (of the seed
    plans, by planner), ``hall_of_fame`` and ``anytime``: a list of
    ``{"evaluations", "seconds", "best"}`` records, one per improvement and
    one at the end; ``best`` never increases and ends at the plan's cost.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> from qkdbench.evaluation import evaluate
    >>> inst = make_instance("nsfnet", 6, 5, seed=1)
    >>> plan = GeneticPlanner(generations=5).plan(inst, seed=1)
    >>> plan.stats["anytime"][-1]["best"] == evaluate(inst, plan).total
    True
    """

    name = "ga"
    deterministic = False
    supports = frozenset({"fixed_charges", "link_prices", "link_states", "providers", "coupled"})

    def __init__(
        self,
        k: int = 8,
        population: int = 40,
        generations: int = 300,
        stagnation: int = 100,
        levels: int = 5,
        cx_prob: float = 0.7,
        mut_route: float = 1.5,
        mut_level: float = 0.5,
        tournament: int = 3,
        n_elite: int = 2,
        hof_size: int = 5,
        seeds: tuple[str, ...] = ("coqbn", "saa-greedy"),
        polish: bool = True,
        mut_close: float = 0.3,
    ) -> None:
        self.k = k
        self.population = population
        self.generations = generations
        self.stagnation = stagnation
        self.levels = levels
        self.cx_prob = cx_prob
        self.mut_route = mut_route
        self.mut_level = mut_level
        self.tournament = tournament
        self.n_elite = n_elite
        self.hof_size = hof_size
        self.seeds = tuple(seeds)
        self.polish = polish
        self.mut_close = mut_close

    # ---- operators (private RNG)
    def _mutate(self, ind: list, rng: random.Random, dec: GenomeDecoder) -> None:
        F = dec.F
        p_route = min(1.0, self.mut_route / F)
        p_level = min(1.0, self.mut_level / F)
        for f in range(F):
            n = int(dec.n_candidates[f])
            if n > 1 and rng.random() < p_route:
                j = rng.randrange(n - 1)
                ind[f] = j if j < ind[f] else j + 1
            if rng.random() < p_level:
                ind[F + f] = min(self.levels - 1, max(0, ind[F + f] + rng.choice((-1, 1))))
        if dec.fixed and rng.random() < self.mut_close:
            self._close_link(ind, rng, dec)

    @staticmethod
    def _close_link(ind: list, rng: random.Random, dec: GenomeDecoder) -> None:
        """Link-closing mutation: move every user of one random charged link off it."""
        F = dec.F
        used = sorted(set().union(*(dec.charged_links[f][ind[f]] for f in range(F))))
        if not used:
            return
        link = used[rng.randrange(len(used))]
        for f in range(F):
            if link in dec.charged_links[f][ind[f]]:
                free = [i for i, links in enumerate(dec.charged_links[f]) if link not in links]
                if free:
                    ind[f] = free[rng.randrange(len(free))]

    @staticmethod
    def _crossover(a: list, b: list, rng: random.Random, F: int) -> None:
        for f in range(F):
            if rng.random() < 0.5:
                a[f], b[f] = b[f], a[f]
                a[F + f], b[F + f] = b[F + f], a[F + f]

    def _select(self, pop: list, rng: random.Random) -> Any:
        contenders = [pop[rng.randrange(len(pop))] for _ in range(self.tournament)]
        return min(contenders, key=lambda ind: ind.fitness.values[0])

    def _polish(
        self,
        genome: list,
        state: GreedyState,
        clock: Stopwatch,
        rng: random.Random,
        close: bool = True,
        dec: GenomeDecoder | None = None,
    ) -> list[int]:
        """The genome after greedy improvement passes from its routes (full levels).

        The passes visit the requests in a random order (``rng``), so that
        polishing different genomes reaches different local optima.
        """
        F = len(state.route)
        st = state.fresh()
        for f in range(F):
            st.insert(f, int(genome[f]))
        order = list(range(F))
        rng.shuffle(order)
        st.improve(order, clock, max_passes=5)
        if st.prov.active and st.provider_moves(clock, max_rounds=1)["moves"]:
            st.improve(order, clock, max_passes=5)  # providers: ejections, then passes again
        if close and st.fixed and st.close_links(clock, max_rounds=1)["closed"]:
            st.improve(order, clock, max_passes=5)
        if st.candidates is not state.candidates:  # the passes found new network routes
            state.candidates = st.candidates
            if dec is not None:
                dec.use_candidates(st.candidates)
        return [int(i) for i in st.route if i is not None] + [self.levels - 1] * F

    # ---- the run
    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Plan ``instance``; same seed (and no time limit), same plan.

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Seed of every random choice (``None`` means 0).
        time_limit : float, optional
            Seconds; the search stops at it and returns the best plan found.

        Returns
        -------
        Plan
            Never dearer than the seed plans.

        Raises
        ------
        ValueError
            If ``levels < 2``, ``population < 2`` or ``seeds`` is not a non-empty subset of
            ``("coqbn", "saa-greedy")``.
        InputError
            If the instance uses an extension the planner does not handle.
        """
        check_supports(self, instance)
        if self.levels < 2:
            raise InputError(f"levels must be at least 2, got {self.levels}")
        if self.population < 2:
            raise InputError(f"population must be at least 2, got {self.population}")
        clock = Stopwatch(time_limit)
        rng = random.Random(check_seed(seed))
        F = instance.n_requests
        # seeds: CO-QBN and the greedy (which also builds ladders and candidates)
        unknown = set(self.seeds) - {"coqbn", "saa-greedy"}
        if unknown or not self.seeds:
            raise InputError(
                f"seeds must be a non-empty subset of ('coqbn', 'saa-greedy'), got {self.seeds!r}"
            )
        seed_plans: list[Plan] = []
        greedy = SAAGreedy(k=self.k)
        if "saa-greedy" in self.seeds:
            state, _ = greedy.build(instance, None, clock)
            seed_plans.append(Plan(instance.name, greedy.name, state.routes(instance), {}))
        else:
            state = greedy.prepare(instance)
        co_plan = CoQBN().plan(instance)
        if "coqbn" in self.seeds:
            seed_plans.append(co_plan)
        seed_scores = evaluate_batch(instance, seed_plans)
        seed_total = seed_scores.total + EXCESS_PENALTY * seed_scores.excess
        seed_best = int(np.argmin(seed_total))
        log: list[dict[str, float]] = []
        evaluations = len(seed_plans)
        best_cost = float(seed_total[seed_best])
        log.append({"evaluations": evaluations, "seconds": clock.elapsed, "best": best_cost})
        stats: dict[str, Any] = {
            "seed_costs": {p.planner: float(c) for p, c in zip(seed_plans, seed_total, strict=True)}
        }
        if F == 0:
            return self._finish(
                instance,
                seed_plans[seed_best],
                clock,
                log,
                evaluations,
                0,
                "trivial",
                [best_cost],
                stats,
            )
        if clock.expired():  # no time for a population: the best seed, never worse
            return self._finish(
                instance,
                seed_plans[seed_best],
                clock,
                log,
                evaluations,
                0,
                "time_limit",
                [best_cost],
                stats,
            )

        dec = GenomeDecoder(instance, state, self.levels)
        toolbox = base.Toolbox()
        toolbox.register("individual", lambda genes: creator.QkdIndividual(genes))
        toolbox.register("mutate", self._mutate, rng=rng, dec=dec)
        toolbox.register("mate", self._crossover, rng=rng, F=F)
        toolbox.register("select", self._select, rng=rng)
        cache: dict[tuple, float] = {}
        best_genome: list | None = None

        def score(inds: list) -> None:
            nonlocal evaluations, best_cost, best_genome
            for ind in inds:  # providers over capacity: repaired before scoring
                dec.repair(ind)
            todo = [ind for ind in inds if tuple(ind) not in cache]
            uniq: dict[tuple, list] = {}
            for ind in todo:
                uniq.setdefault(tuple(ind), ind)
            if uniq:
                batch = dec.decode(list(uniq.values()))
                res = evaluate_batch(instance, batch)
                fit = res.total + EXCESS_PENALTY * res.excess
                evaluations += len(uniq)
                for key, val in zip(uniq, fit, strict=True):
                    cache[key] = float(val)
                    if val < best_cost:
                        best_cost = float(val)
                        best_genome = list(key)
                        log.append(
                            {
                                "evaluations": evaluations,
                                "seconds": clock.elapsed,
                                "best": best_cost,
                            }
                        )
            for ind in inds:
                ind.fitness.values = (cache[tuple(ind)],)

        # initial population
        g_genome = (
            dec.greedy_genome(state)
            if "saa-greedy" in self.seeds
            else [0] * F + [self.levels - 1] * F
        )
        pop = [
            toolbox.individual(
                list(g_genome) if dec.coupled and p.planner == greedy.name else dec.genome_of(p)
            )
            for p in seed_plans
        ]  # coupled: the greedy's own genome (full levels) decodes to the greedy's plan
        if "saa-greedy" not in self.seeds:
            pop.append(toolbox.individual(list(g_genome)))
        while len(pop) < self.population:
            if len(pop) % 2 == 0:
                ind = toolbox.individual(list(g_genome))
                for _ in range(3):
                    toolbox.mutate(ind)
            else:
                ind = toolbox.individual(
                    [rng.randrange(int(dec.n_candidates[f])) for f in range(F)]
                    + [rng.randrange(self.levels) for _ in range(F)]
                )
            pop.append(ind)
        score(pop)
        hof = tools.HallOfFame(self.hof_size)
        hof.update(pop)

        gen = since = 0
        stop = "generations"
        while True:
            if gen >= self.generations:
                stop = "generations"
                break
            if since >= self.stagnation:
                stop = "stagnation"
                break
            if clock.expired():
                stop = "time_limit"
                break
            gen += 1
            before = best_cost
            elite = sorted(pop, key=lambda ind: ind.fitness.values[0])[: self.n_elite]
            children: list[Any] = []
            while len(children) < self.population - len(elite):
                a = toolbox.clone(toolbox.select(pop))
                b = toolbox.clone(toolbox.select(pop))
                if rng.random() < self.cx_prob:
                    toolbox.mate(a, b)
                toolbox.mutate(a)
                toolbox.mutate(b)
                del a.fitness.values, b.fitness.values
                children.extend((a, b))
            children = children[: self.population - len(elite)]
            score(children)
            if self.polish and best_cost < before and not clock.expired():
                polished = toolbox.individual(
                    self._polish(best_genome or [], state, clock, rng, dec=dec)
                )
                score([polished])
                children[-1] = polished
            elif self.polish and dec.fixed and not clock.expired():
                # fixed charges: many local optima, so every generation the best child
                # is also polished (an iterated local search over the population)
                child = min(children[:-1], key=lambda ind: ind.fitness.values[0])
                polished = toolbox.individual(
                    self._polish(list(child), state, clock, rng, close=False, dec=dec)
                )
                score([polished])
                children[-1] = polished
            hof.update(children)
            pop = elite + children
            since = 0 if best_cost < before else since + 1

        plan = seed_plans[seed_best]
        if best_genome is not None:  # strictly cheaper than every seed (score() checks)
            plan = decode_plan(instance, dec.decode([best_genome]), self.name)
        return self._finish(
            instance,
            plan,
            clock,
            log,
            evaluations,
            gen,
            stop,
            [ind.fitness.values[0] for ind in hof],
            stats,
        )

    def _finish(
        self,
        instance: Instance,
        plan: Plan,
        clock: Stopwatch,
        log: list,
        evaluations: int,
        generations: int,
        stop: str,
        hof: list,
        stats: dict,
    ) -> Plan:
        log.append({"evaluations": evaluations, "seconds": clock.elapsed, "best": log[-1]["best"]})
        return Plan(
            instance.name,
            self.name,
            plan.routes,
            {
                **stats,
                "runtime_s": clock.elapsed,
                "status": "heuristic",
                "generations": generations,
                "evaluations": evaluations,
                "stop": stop,
                "hall_of_fame": [float(x) for x in hof],
                "anytime": log,
                "k": self.k,
                "population": self.population,
                "levels": self.levels,
            },
        )
