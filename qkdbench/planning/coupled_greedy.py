"""The greedy's state on a coupled second stage: every arc priced as a whole.

With an on-demand cap the requests on an arc compete within a scenario, so a
request's cost on an arc depends on who else is there (``docs/model.md``, "Coupled
second stage"). :class:`CoupledState` is the greedy's state
(:class:`~qkdbench.planning.greedy.GreedyState`: routes, candidates, fixed charges,
providers, the local searches) with the pricing of :mod:`qkdbench.planning.coupled`:

* ``rebalance=True`` (default): each arc's reservations are those
  :func:`~qkdbench.planning.coupled.arc_groups` chooses for the requests on it, from
  nothing (coordinate descent on each request's reservation given the others, unit
  exchanges within the reservation capacity). An arc's state is then a function of
  the requests on it, remembered per set as the marginal greedy remembers its
  water-filled arcs, and the cost a request adds on an arc is the exact change of
  the arc's cost when it joins (the arc optimised with it, less the arc without it).
  So every price is exact, a request moves in the improvement passes only when the
  plan gets strictly cheaper, and an undone move restores the state exactly.
* ``rebalance=False``: the requests already on an arc keep their reservations; a
  newcomer takes its best reservation given them
  (:func:`~qkdbench.planning.coupled.newcomer`, a binary search of its convex cost),
  read from the arc's per-scenario residuals, which the state keeps. Its price is the
  exact change too; re-inserting a request (an improvement pass) re-optimises its
  reservations given the others.

In both modes the state's cost is the evaluator's for the plan it holds
(:meth:`CoupledState.model_cost` adds the arcs' costs, route costs, fixed charges and
service costs; the tests check it against the evaluator).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from itertools import accumulate, chain

import numpy as np

from ..evaluation import plan_fixed_charges
from ..model import Instance
from .coupled import arc_groups, coupled_arrays, newcomer
from .greedy import ARC_MEMO, GreedyState
from .ladders import Ladders
from .paths import Candidates

__all__ = ["CoupledState"]

_EMPTY = np.zeros(0)


class CoupledState(GreedyState):
    """Routes and reservations on a coupled instance, each arc priced over the joint scenarios.

    Parameters
    ----------
    instance : Instance
        A coupled instance (its joint scenarios are read).
    ladders : Ladders
        Its stand-alone ladders (:func:`~qkdbench.planning.ladders.build_ladders`), for
        the insertion order.
    candidates : Candidates
    rebalance : bool
        Re-optimise every arc's reservations for the requests on it (default), or keep
        those of the requests placed and give a newcomer its best reservation given them.

    Notes
    -----
    An arc's state is ``(stamp, share y, share z, cost, residual y, residual z, None,
    None)``: the reservations of the arc's requests in their order, the arc's expected
    cost without route costs, and (without ``rebalance``) its QKD and KM residual per
    scenario. The pricing methods (:meth:`pair_delta`, :meth:`best_candidate`) and the
    changes (:meth:`insert`, :meth:`remove`) are this class's; the rest is the marginal
    greedy's.

    Examples
    --------
    >>> from qkdbench.heuristics.saa_greedy import SAAGreedy
    >>> from qkdbench.testing.instances import coupled_instance
    >>> from qkdbench.evaluation import evaluate
    >>> inst = coupled_instance(2)
    >>> state, _ = SAAGreedy().build(inst)
    >>> abs(state.model_cost() - evaluate(inst, SAAGreedy().plan(inst)).total) < 1e-6
    True
    """

    coupled = True

    def __init__(
        self, instance: Instance, ladders: Ladders, candidates: Candidates, rebalance: bool = True
    ) -> None:
        super().__init__(instance, ladders, candidates, rebalance)
        self.arrays = coupled_arrays(instance)
        self._data = self.arrays.kernel_data
        n_sc = self.arrays.probs.size
        zeros = None if rebalance else np.zeros(n_sc)
        empty = (0, _EMPTY, _EMPTY, 0.0, zeros, zeros, None, None)
        self._arcs[:] = [empty] * self.n_arcs  # the Reservations views read this list

    # ---- pricing
    def pair_delta(self, f: int, a: int) -> float:
        """Expected cost that request ``f`` adds on arc ``a`` in the current state.

        Parameters
        ----------
        f : int
            Request position, not on the arc.
        a : int
            Arc id.

        Returns
        -------
        float
            The exact change of the arc's expected cost (its route cost included) when
            ``f`` joins: with ``rebalance``, the arc re-optimised with ``f`` less the arc
            now; without, ``f`` at its best reservation given the others.
        """
        hit = self._delta_cache.get((f, a, self._stamps[a]))
        if hit is not None:
            return hit
        return float(self._pair_deltas(f, [a])[0])

    def _pair_deltas(self, f: int, arcs: list[int]) -> np.ndarray:
        """:meth:`pair_delta` of ``f`` on each of ``arcs`` in one compiled call (cached)."""
        hop = self.arrays.hop
        states, stamps, cache = self._arcs, self._stamps, self._delta_cache
        out = np.empty(len(arcs))
        if not self.rebalance:
            idx = np.asarray(arcs, dtype=np.int64)
            recs = [states[a] for a in arcs]
            _, _, delta = newcomer(
                f,
                idx,
                np.stack([rec[4] for rec in recs]),
                np.stack([rec[5] for rec in recs]),
                np.asarray([float(rec[1].sum()) for rec in recs]),
                np.asarray([float(rec[2].sum()) for rec in recs]),
                hop,
                *self._data,
            )
            for j, a in enumerate(arcs):
                cache[(f, a, stamps[a])] = float(delta[j])
            return delta
        miss: list[tuple[int, int, tuple[int, ...]]] = []
        for j, a in enumerate(arcs):
            users = self.on_arc[a]
            pos = bisect_left(users, f)
            key = (*users[:pos], f, *users[pos:])
            rec = self._arc_memo[a].get(key)
            if rec is None:
                miss.append((j, a, key))
            else:
                out[j] = hop[a] + rec[3] - states[a][3]
        if miss:
            recs = self._optimise([(a, key) for _, a, key in miss])
            for (j, a, key), rec in zip(miss, recs, strict=True):
                self._remember(a, key, rec)
                out[j] = hop[a] + rec[3] - states[a][3]
        for j, a in enumerate(arcs):
            cache[(f, a, stamps[a])] = float(out[j])
        return out

    def best_candidate(
        self,
        f: int,
        prefer: int | None = None,
        avoid_link: int | None = None,
        provider: int | None = None,
    ) -> tuple[int, float]:
        """The cheapest candidate of ``f`` (``prefer`` wins ties) and its cost.

        The same rules as :meth:`GreedyState.best_candidate
        <qkdbench.planning.greedy.GreedyState.best_candidate>` (full providers, ``avoid_link``
        and ``provider`` leave candidates out; ``prefer`` is kept within ``1e-9``
        relative), with this state's prices.

        Parameters
        ----------
        f : int
            Request position, not routed now.
        prefer : int, optional
            A candidate kept when within ``1e-9`` (relative) of the cheapest.
        avoid_link : int, optional
            A link position no candidate may use.
        provider : int, optional
            The only provider position whose candidates count.

        Returns
        -------
        i : int
            Candidate position, ``-1`` if none is left.
        cost : float
            Its :meth:`path_cost`.
        """
        t = self._table(f)
        want = np.zeros(len(t.providers), dtype=np.bool_)
        for i, p in enumerate(t.providers):
            if provider is not None and p != provider:
                continue
            if not self.has_room(p):
                continue
            if avoid_link is not None and bool(np.any(t.route_links[i] == avoid_link)):
                continue
            want[i] = True
        if not want.any():
            return -1, math.inf
        costs = self._route_costs(f, want)
        best = int(np.argmin(costs))
        if not np.isfinite(costs[best]):
            return -1, math.inf
        if (
            prefer is not None
            and want[prefer]
            and costs[prefer] <= costs[best] + 1e-9 * (1 + abs(costs[best]))
        ):
            best = prefer
        return best, float(costs[best])

    # ---- arc states
    def _optimise(self, todo: list[tuple[int, tuple[int, ...]]]) -> list[tuple]:
        """New arc states for each ``(arc, requests)``, reservations chosen from nothing."""
        up = [0, *accumulate(len(key) for _, key in todo)]
        users = np.fromiter(chain.from_iterable(key for _, key in todo), np.int64, up[-1])
        inf = np.full(up[-1], np.inf)
        y, z, cost, _, _ = arc_groups(
            np.asarray(up, dtype=np.int64),
            np.asarray([a for a, _ in todo], dtype=np.int64),
            users,
            inf,
            inf,
            True,
            *self._data,
        )
        out = []
        for j in range(len(todo)):
            self._stamp += 1
            lo, hi = up[j], up[j + 1]
            out.append((self._stamp, y[lo:hi], z[lo:hi], float(cost[j]), None, None, None, None))
        return out

    def _remember(self, a: int, key: tuple[int, ...], rec: tuple) -> None:
        memo = self._arc_memo[a]
        if len(memo) >= ARC_MEMO:
            del memo[next(iter(memo))]  # the oldest out
        memo[key] = rec

    def _reshare_arcs(self, arcs: Iterable[int]) -> None:
        """Re-optimise each arc for the requests on it, or bring back a remembered state."""
        miss: list[tuple[int, tuple[int, ...]]] = []
        on_arc, memos, states, stamps = self.on_arc, self._arc_memo, self._arcs, self._stamps
        for a in arcs:
            key = tuple(on_arc[a])
            rec = memos[a].get(key)
            if rec is None:
                miss.append((a, key))
            else:
                states[a] = rec
                stamps[a] = rec[0]
        if not miss:
            return
        for (a, key), rec in zip(miss, self._optimise(miss), strict=True):
            self._remember(a, key, rec)
            states[a] = rec
            stamps[a] = rec[0]

    def _score_arcs(self, arcs: list[int], shares: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """New states of ``arcs`` with the given reservations (``rebalance=False``)."""
        up = [0, *accumulate(len(self.on_arc[a]) for a in arcs)]
        users = np.fromiter(chain.from_iterable(self.on_arc[a] for a in arcs), np.int64, up[-1])
        ys = np.concatenate([sy for sy, _ in shares]) if arcs else _EMPTY
        zs = np.concatenate([sz for _, sz in shares]) if arcs else _EMPTY
        _, _, cost, d_y, d_z = arc_groups(
            np.asarray(up, dtype=np.int64),
            np.asarray(arcs, dtype=np.int64),
            users,
            ys,
            zs,
            False,
            *self._data,
        )
        for j, a in enumerate(arcs):
            self._stamp += 1
            sy, sz = shares[j]
            self._arcs[a] = (self._stamp, sy, sz, float(cost[j]), d_y[j], d_z[j], None, None)
            self._stamps[a] = self._stamp

    # ---- changes
    def insert(self, f: int, i: int) -> None:
        """Route request ``f`` on its ``i``-th candidate.

        Parameters
        ----------
        f : int
            Request position, not routed now.
        i : int
            Candidate position. With ``rebalance`` every arc of the route is re-optimised;
            without, ``f`` takes its best reservations given the others.
        """
        if self.rebalance:
            super().insert(f, i)
            return
        arcs = self.candidates.arcs[f][i].tolist()
        recs = [self._arcs[a] for a in arcs]
        y, z, _ = newcomer(
            f,
            np.asarray(arcs, dtype=np.int64),
            np.stack([rec[4] for rec in recs]),
            np.stack([rec[5] for rec in recs]),
            np.asarray([float(rec[1].sum()) for rec in recs]),
            np.asarray([float(rec[2].sum()) for rec in recs]),
            self.arrays.hop,
            *self._data,
        )
        self._attach(f, i)
        shares = []
        for j, a in enumerate(arcs):
            pos = bisect_left(self.on_arc[a], f)
            shares.append((np.insert(recs[j][1], pos, y[j]), np.insert(recs[j][2], pos, z[j])))
        self._score_arcs(arcs, shares)

    def remove(self, f: int) -> None:
        """Take request ``f`` off its route.

        Parameters
        ----------
        f : int
            Request position; nothing happens if it is not routed. With ``rebalance`` every
            arc it leaves is re-optimised; without, the others keep their reservations.
        """
        i = self.route[f]
        if i is None:
            return
        if self.rebalance:
            super().remove(f)
            return
        arcs = self.candidates.arcs[f][i].tolist()
        pos = [bisect_left(self.on_arc[a], f) for a in arcs]
        self._detach(f)
        shares = []
        for j, a in enumerate(arcs):
            rec = self._arcs[a]
            shares.append((np.delete(rec[1], pos[j]), np.delete(rec[2], pos[j])))
        self._score_arcs(arcs, shares)

    # ---- cost
    def model_cost(self) -> float:
        """The expected cost of the routes and reservations held, from the state's own arrays.

        Returns
        -------
        float
            The arcs' costs, the route costs, the fixed charges opened and the chosen
            targets' service costs; every request must be routed. It equals the
            evaluator's total for :meth:`plan_arrays` (the tests check it).
        """
        assert None not in self.route, "every request is routed"
        hop = self.arrays.hop
        total = math.fsum(rec[3] for rec in self._arcs)
        total += math.fsum(hop[a] * len(users) for a, users in enumerate(self.on_arc))
        if self.fixed:
            used = [a for a, users in enumerate(self.on_arc) if users]
            site, node = plan_fixed_charges(self.instance, np.asarray(used, dtype=np.int64))
            total += site + node
        if self.prov.active:
            total += math.fsum(
                self.service_cost(f, i) for f, i in enumerate(self.route) if i is not None
            )
        return float(total)
