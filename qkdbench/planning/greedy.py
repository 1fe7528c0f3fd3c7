"""The greedy's state: routes chosen so far, and every arc's capacity shared by water-filling.

:class:`GreedyState` inserts and removes requests on candidate routes, keeping
on each arc the optimal reservations of the requests using it
(:func:`~qkdbench.planning.waterfill.waterfill`), prices an insertion by its
marginal cost given the others, and runs improvement passes (re-insert each
request on its best candidate given the others). The sample-average greedy,
the GA's repair and polish and the Lagrangian heuristic all build on it.

The state's pieces live by topic, and its methods call them:

* :mod:`~qkdbench.planning.marginals` -- the ladders of one pair and the blocks
  reserved on an arc, from which :meth:`GreedyState.pair_delta` prices a newcomer;
* :mod:`~qkdbench.planning.greedy_fixed` -- fixed charges: the
  routes using each link and node, the charges a route would open, a route over
  the network built so far;
* :mod:`~qkdbench.planning.greedy_providers` -- providers: the
  re-assignment when every provider a request could use is full;
* :mod:`~qkdbench.planning.local_search` -- the three local searches:
  improvement passes, ejections for full providers and link closing.

Random link key rates need nothing here: the ladders are read from the
evaluator's cost curves, which average over the link states.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate, chain

import numpy as np

from ..evaluation import PlanArrays, evaluate_arrays
from ..evaluation.pricing import arc_table, fixed_charges, provider_table
from ..exceptions import InputError
from ..model import Instance, Route
from ..utils.timing import Stopwatch
from . import greedy_fixed, greedy_providers, local_search, marginals
from .ladders import Ladders
from .paths import Candidates
from .waterfill import union_top, waterfill_arcs

__all__ = ["GreedyState", "Reservations", "insertion_order", "INSERTION_ORDERS", "ARC_MEMO"]

_EMPTY = np.zeros(0)
_NO_ARCS = np.zeros(0, dtype=np.int64)

#: Marginal costs missing before :meth:`GreedyState.path_cost` computes them in one call.
_BATCH = 3

#: Water-filled states remembered per arc (the oldest goes first), see :class:`GreedyState`.
ARC_MEMO = 128


class Reservations(Mapping[tuple[int, int], float]):
    """Read-only view ``{(request, arc): wavelengths}`` of one kind's reservations.

    The state keeps, per arc, one array of reservations aligned with the
    sorted requests on the arc; this view reads them as the ``(request, arc)``
    table the state's ``alloc`` once was: a key for every request on every
    arc of its route.

    Parameters
    ----------
    on_arc : list of list of int
        The requests on each arc, sorted (the state's own lists).
    states : list of tuple
        The state's arc states: ``states[a][k][j]`` is the reservation of
        ``on_arc[a][j]``.
    k : int
        Position of the kind's reservations in an arc state (1: QKD, 2: KM).
    """

    def __init__(self, on_arc: list[list[int]], states: list[tuple], k: int) -> None:
        self._on_arc = on_arc
        self._states = states
        self._k = k

    def __getitem__(self, key: tuple[int, int]) -> float:
        f, a = key
        if not 0 <= a < len(self._on_arc):
            raise KeyError(key)
        reqs = self._on_arc[a]
        pos = bisect_left(reqs, f)
        if pos == len(reqs) or reqs[pos] != f:
            raise KeyError(key)
        return float(self._states[a][self._k][pos])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for a, reqs in enumerate(self._on_arc):
            for f in reqs:
                yield (f, a)

    def __len__(self) -> int:
        return sum(len(reqs) for reqs in self._on_arc)


#: Request orders of :func:`insertion_order`.
INSERTION_ORDERS = ("cost-desc", "instance")


@dataclass(frozen=True, eq=False)
class _RouteTable:
    """One request's candidates as flat arrays (for :func:`greedy_fixed.route_costs`)."""

    arcs: tuple[np.ndarray, ...]  # the candidates' arcs these were made from
    ptr: np.ndarray  # candidate i: positions ptr[i]:ptr[i + 1] of inv and links
    lens: np.ndarray  # arcs per candidate
    uarcs: list[int]  # the distinct arcs, sorted
    uarcs_array: np.ndarray  # the same as an array
    inv: np.ndarray  # per candidate arc, its position in uarcs
    links: np.ndarray  # per candidate arc, its link
    node_ptr: np.ndarray
    nodes: np.ndarray  # per candidate, its nodes sorted
    service: np.ndarray  # per candidate, its target's service cost
    provider: np.ndarray  # per candidate, its provider position (-1: none)
    providers: list[int]  # the same as ints
    arc_lists: list[list[int]]  # per candidate, its arcs
    route_links: list[np.ndarray]  # per candidate, its links
    route_nodes: list[np.ndarray]  # per candidate, its nodes (sorted)


class GreedyState:
    """Routes chosen so far and, per arc, the requests using it and their reservations.

    Parameters
    ----------
    instance : Instance
        The instance whose costs the ladders hold (possibly a sampled one).
    ladders : Ladders
    candidates : Candidates
    rebalance : bool
        Re-share every arc's capacity by
        :func:`~qkdbench.planning.waterfill.waterfill` (exact for fixed
        routes), or keep the reservations of requests already placed and clip
        the newcomer to what is left.

    Raises
    ------
    InputError
        For a coupled instance (its costs do not separate by (request, arc)):
        :class:`~qkdbench.planning.coupled_greedy.CoupledState` prices those.

    Notes
    -----
    Each arc holds its requests (``on_arc``, sorted) and an array of their
    reservations per kind; ``alloc[kind]`` reads them as a ``(request, arc)``
    table (:class:`Reservations`). Every state of an arc gets a stamp
    (``version``) unique in the state's life, which keys the caches of
    :meth:`pair_delta`. With ``rebalance``, an arc's water-filled reservations
    depend only on the requests on it, so the last :data:`ARC_MEMO` of them
    are remembered per arc: taking a request off and putting it back (an
    improvement pass that keeps its route, an undone move) brings back the
    arc's stamp and, with it, every cached price. Arcs changed together are
    water-filled in one compiled call
    (:func:`~qkdbench.planning.waterfill.waterfill_arcs`), and
    :meth:`best_candidate` is one compiled call too
    (:func:`~qkdbench.planning.greedy_fixed.cheapest_route`), reading each arc's
    reserved blocks as they were stored. Every number is the one the
    one-pair-at-a-time methods (:meth:`pair_delta`, :meth:`path_cost`) give.
    """

    #: Whether the state prices a coupled second stage (see
    #: :class:`~qkdbench.planning.coupled_greedy.CoupledState`); this one does not.
    coupled = False

    def __init__(
        self, instance: Instance, ladders: Ladders, candidates: Candidates, rebalance: bool = True
    ) -> None:
        if instance.is_coupled and not self.coupled:
            raise InputError(
                f"instance {instance.name!r} has a coupled second stage: its costs do not "
                "separate by (request, arc); use CoupledState"
            )
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
        self._stamps = [0] * A  # the stamp of each arc's state (see version)
        self._stamp = 0  # the last stamp given to an arc state
        # per arc, its state: (stamp, share y, share z, blocks y, blocks z, lengths,
        # benefits, meta); the shares are the reservations of on_arc[a]'s requests in
        # that order, the blocks (t_len, t_ben, held) as _blocks gives them, then both
        # kinds' blocks end to end and (n_y, n_z, held_y, held_z) (None: not computed yet)
        self._arcs: list[tuple] = [(0, _EMPTY, _EMPTY, None, None, None, None, None)] * A
        self.alloc: dict[str, Reservations] = {
            kind: Reservations(self.on_arc, self._arcs, k) for k, kind in ((1, "y"), (2, "z"))
        }
        # per arc: requests on it -> its water-filled state, oldest first
        self._arc_memo: list[dict[tuple[int, ...], tuple]] = [{} for _ in range(A)]
        self._delta_cache: dict[tuple[int, int, int], float] = {}
        fc = fixed_charges(instance)
        self.fixed = fc.active
        self.link_charge = fc.link
        self.node_charge = fc.node
        self.tail, self.head = arcs.tail, arcs.head
        self.link_users = np.zeros(len(instance.links), dtype=np.int64)
        self.node_users = np.zeros(len(instance.nodes), dtype=np.int64)
        pt = provider_table(instance)
        self.prov = pt
        self._tables: dict[int, _RouteTable] = {}  # per request, its candidates' arrays
        # per request: (its candidates' arcs, what was paid, the network route's position)
        self._network_memo: dict[int, tuple[tuple[np.ndarray, ...], tuple[bytes, bytes], int]] = {}
        #: requests each provider serves now; capacity -1 is unlimited
        self.prov_load = np.zeros(len(pt.ids), dtype=np.int64)

    # ---- targets
    def provider_of(self, f: int, i: int) -> int:
        """Provider index of request ``f``'s ``i``-th candidate (``-1``: none).

        Parameters
        ----------
        f : int
            Request position.
        i : int
            Candidate position among ``f``'s candidates.

        Returns
        -------
        int
            Position in ``provider_table(instance).ids``.
        """
        pt = self.prov
        return int(pt.provider[pt.ptr[f] + self.candidates.target_of(f, i)])

    def service_cost(self, f: int, i: int) -> float:
        """Service cost of the target request ``f``'s ``i``-th candidate ends at.

        Parameters
        ----------
        f : int
            Request position.
        i : int
            Candidate position among ``f``'s candidates.

        Returns
        -------
        float
            0 for an ordinary request.
        """
        pt = self.prov
        return float(pt.service_cost[pt.ptr[f] + self.candidates.target_of(f, i)])

    def has_room(self, p: int) -> bool:
        """Whether provider ``p`` can serve one more request (always for ``-1``).

        Parameters
        ----------
        p : int
            Provider position, or ``-1`` for none.

        Returns
        -------
        bool
        """
        if p < 0:
            return True
        cap = int(self.prov.capacity[p])
        return cap < 0 or int(self.prov_load[p]) < cap

    # ---- ladders of one pair
    def _ladder(self, kind: str, p: int) -> tuple[np.ndarray, np.ndarray]:
        return marginals.ladder_of(self.ladders, kind, p)

    def _blocks(self, a: int) -> tuple:
        """The state of arc ``a`` with its reserved blocks: ``(stamp, share y, share z, y, z)``.

        ``y`` and ``z`` are ``(t_len, t_ben, held)``: the benefit blocks of the
        wavelengths reserved now, largest benefit first
        (:func:`~qkdbench.planning.marginals.reserved_blocks`), and what they hold
        (their benefit ``t_len @ t_ben`` with ``rebalance``, else their
        wavelengths). Water-filling gives them with the reservations; otherwise
        they are computed once per state of the arc (its stamp) and reused by
        every :meth:`pair_delta` until the arc changes.
        """
        rec = self._arcs[a]
        if rec[3] is not None:
            return rec
        parts = []
        for kind, q in (("y", rec[1]), ("z", rec[2])):
            live = q > 0
            if not live.any():
                t_len, t_ben = np.zeros(0), np.zeros(0)
            else:
                pairs = np.asarray(self.on_arc[a], dtype=np.int64)[live] * self.n_arcs + a
                t_len, t_ben = marginals.reserved_blocks(self.ladders, kind, pairs, q[live])
            held = float(t_len @ t_ben) if self.rebalance else float(t_len.sum())
            parts.append((t_len, t_ben, held))
        by, bz = parts
        rec = (
            rec[0],
            rec[1],
            rec[2],
            by,
            bz,
            np.concatenate([by[0], bz[0]]),
            np.concatenate([by[1], bz[1]]),
            (by[0].size, bz[0].size, by[2], bz[2]),
        )
        self._arcs[a] = rec
        return rec

    def _taken(self, kind: str, a: int) -> tuple[np.ndarray, np.ndarray]:
        """Benefit blocks of the wavelengths reserved on arc ``a`` now (see :meth:`_blocks`)."""
        t_len, t_ben, _ = self._blocks(a)[3 if kind == "y" else 4]
        return t_len, t_ben

    def pair_delta(self, f: int, a: int) -> float:
        """Expected cost that request ``f`` adds on arc ``a`` in the current state.

        Parameters
        ----------
        f : int
            Request position.
        a : int
            Arc id.

        Returns
        -------
        float
            The pair's cost with nothing reserved less what its reservations save, given the
            wavelengths the requests on the arc hold (shared by water-filling when
            ``rebalance``, else what is left of the capacity); fixed charges aside.
        """
        key = (f, a, self._stamps[a])
        hit = self._delta_cache.get(key)
        if hit is not None:
            return hit
        p = f * self.n_arcs + a
        delta = float(self.ladders.base[p])
        rec = self._blocks(a)
        for kind, (t_len, t_ben, held) in (("y", rec[3]), ("z", rec[4])):
            cap = float(self.cap[kind][a])
            ln, bn = self._ladder(kind, p)
            if self.rebalance:
                gain = union_top(t_len, t_ben, ln, bn, cap) - held
            else:
                gain = union_top(_EMPTY, _EMPTY, ln, bn, cap - held)
            delta -= gain
        self._delta_cache[key] = delta
        return delta

    def _pair_deltas(self, f: int, arcs: list[int]) -> np.ndarray:
        """:meth:`pair_delta` of ``f`` on each of ``arcs`` in one compiled call (cached too)."""
        recs = [self._blocks(a) for a in arcs]
        flat = []
        for k in (3, 4):
            got = [rec[k] for rec in recs]
            flat.append(
                (
                    np.asarray([0, *accumulate(g[0].size for g in got)], dtype=np.int64),
                    np.concatenate([g[0] for g in got]),
                    np.concatenate([g[1] for g in got]),
                    np.asarray([g[2] for g in got]),
                )
            )
        (ty_ptr, ty_len, ty_ben, ty_held), (tz_ptr, tz_len, tz_ben, tz_held) = flat
        lad = self.ladders
        idx = np.asarray(arcs, dtype=np.int64)
        out = marginals.pair_deltas(
            lad.base,
            f * self.n_arcs + idx,
            lad.y_ptr,
            lad.y_len,
            lad.y_ben,
            lad.z_ptr,
            lad.z_len,
            lad.z_ben,
            ty_ptr,
            ty_len,
            ty_ben,
            ty_held,
            tz_ptr,
            tz_len,
            tz_ben,
            tz_held,
            self.cap["y"][idx],
            self.cap["z"][idx],
            self.rebalance,
        )
        cache = self._delta_cache
        for rec, a, d in zip(recs, arcs, out.tolist(), strict=True):
            cache[(f, a, rec[0])] = d
        return out

    def opening_cost(self, arcs: np.ndarray) -> float:
        """Fixed charges a route over ``arcs`` would open in the current state.

        See :func:`~qkdbench.planning.greedy_fixed.opening_cost`.

        Parameters
        ----------
        arcs : ndarray of int
            Arc ids of the route.

        Returns
        -------
        float
            0 without fixed charges.
        """
        return greedy_fixed.opening_cost(self, arcs)

    def path_cost(self, f: int, i: int) -> float:
        """Cost request ``f`` adds on its ``i``-th candidate (with the fixed charges it opens).

        Parameters
        ----------
        f : int
            Request position, not routed now.
        i : int
            Candidate position.

        Returns
        -------
        float
            :meth:`pair_delta` over the candidate's arcs, plus :meth:`opening_cost` and
            :meth:`service_cost`.
        """
        want = np.zeros(len(self.candidates.arcs[f]), dtype=np.bool_)
        want[i] = True
        return float(self._route_costs(f, want)[i])

    def _table(self, f: int) -> _RouteTable:
        """The arrays of ``f``'s candidates, remade when its candidates change."""
        arcs_f = self.candidates.arcs[f]
        hit = self._tables.get(f)
        if hit is not None and hit.arcs is arcs_f:
            return hit
        lens = np.asarray([x.size for x in arcs_f], dtype=np.int64)
        ptr = np.zeros(lens.size + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(lens)
        flat = np.concatenate(arcs_f).astype(np.int64)
        uarcs, inv = np.unique(flat, return_inverse=True)
        node_sets = [np.unique(np.concatenate([self.tail[x], self.head[x]])) for x in arcs_f]
        node_ptr = np.zeros(lens.size + 1, dtype=np.int64)
        node_ptr[1:] = np.cumsum([x.size for x in node_sets])
        providers = [self.provider_of(f, i) for i in range(lens.size)]
        links = flat // 2
        table = _RouteTable(
            arcs_f,
            ptr,
            lens,
            uarcs.tolist(),
            uarcs.astype(np.int64),
            inv.astype(np.int64).ravel(),
            links,
            node_ptr,
            np.concatenate(node_sets).astype(np.int64),
            np.asarray([self.service_cost(f, i) for i in range(lens.size)], dtype=float),
            np.asarray(providers, dtype=np.int64),
            providers,
            [x.tolist() for x in arcs_f],
            [links[ptr[i] : ptr[i + 1]] for i in range(lens.size)],
            [x.astype(np.int64) for x in node_sets],
        )
        self._tables[f] = table
        return table

    def _route_costs(self, f: int, want: np.ndarray) -> np.ndarray:
        """:meth:`path_cost` of every wanted candidate of ``f`` (``inf`` for the others)."""
        t = self._table(f)
        needed: Iterable[int]
        if want.all():
            needed = range(len(t.uarcs))
        else:
            mask = np.zeros(len(t.uarcs), dtype=np.bool_)
            mask[t.inv[np.repeat(want, t.lens)]] = True
            needed = np.flatnonzero(mask).tolist()
        delta = np.zeros(len(t.uarcs))
        uarcs, cache, stamps = t.uarcs, self._delta_cache, self._stamps
        miss: list[int] = []
        for j in needed:
            hit = cache.get((f, uarcs[j], stamps[uarcs[j]]))
            if hit is None:
                miss.append(j)
            else:
                delta[j] = hit
        if len(miss) >= _BATCH:
            delta[miss] = self._pair_deltas(f, [uarcs[j] for j in miss])
        else:
            for j in miss:
                delta[j] = self.pair_delta(f, uarcs[j])
        return greedy_fixed.route_costs(
            t.ptr,
            t.inv,
            delta,
            t.links,
            t.node_ptr,
            t.nodes,
            self.link_users,
            self.node_users,
            self.link_charge,
            self.node_charge,
            t.service,
            want,
            self.fixed,
        )

    def network_candidate(self, f: int) -> int:
        """Add request ``f``'s cheapest route given what is paid; its position.

        See :func:`~qkdbench.planning.greedy_fixed.network_candidate`.

        Parameters
        ----------
        f : int
            Request position, not routed now.

        Returns
        -------
        int
            Position of the route among ``f``'s candidates (the state's ``candidates`` may
            be replaced by a copy with it).
        """
        return greedy_fixed.network_candidate(self, f)

    def best_candidate(
        self,
        f: int,
        prefer: int | None = None,
        avoid_link: int | None = None,
        provider: int | None = None,
    ) -> tuple[int, float]:
        """The cheapest candidate of ``f`` (``prefer`` wins ties) and its cost.

        Candidates whose provider is full are left out. With
        ``avoid_link``, candidates using that link are left out too; with
        ``provider``, only candidates of that provider are considered. The
        result is ``(-1, inf)`` when no candidate is left.

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
        blocks = self._blocks
        recs = [blocks(a) for a in t.uarcs]
        lad = self.ladders
        pt = self.prov
        i, cost = greedy_fixed.cheapest_route(
            f,
            self.n_arcs,
            t.uarcs_array,
            lad.base,
            lad.y_ptr,
            lad.y_len,
            lad.y_ben,
            lad.z_ptr,
            lad.z_len,
            lad.z_ben,
            np.concatenate([rec[5] for rec in recs]),
            np.concatenate([rec[6] for rec in recs]),
            np.fromiter(chain.from_iterable(rec[7] for rec in recs), np.float64, 4 * len(recs)),
            self.cap["y"],
            self.cap["z"],
            self.rebalance,
            t.ptr,
            t.inv,
            t.links,
            t.node_ptr,
            t.nodes,
            self.link_users,
            self.node_users,
            self.link_charge,
            self.node_charge,
            t.service,
            self.fixed,
            t.provider,
            pt.capacity,
            self.prov_load,
            greedy_fixed.NO_PROVIDER_FILTER if provider is None else int(provider),
            -1 if avoid_link is None else int(avoid_link),
            -1 if prefer is None else int(prefer),
        )
        if i < 0:
            return -1, math.inf
        return int(i), float(cost)

    def make_room(self, f: int) -> int:
        """Insert request ``f`` when every provider it could use is full; its candidate.

        See :func:`~qkdbench.planning.greedy_providers.make_room`.

        Parameters
        ----------
        f : int
            Request position, not routed now.

        Returns
        -------
        int
            The candidate ``f`` was inserted on.
        """
        return greedy_providers.make_room(self, f)

    def place(self, f: int) -> int:
        """Insert request ``f`` on its cheapest candidate with room (:meth:`make_room` if none).

        Parameters
        ----------
        f : int
            Request position, not routed now.

        Returns
        -------
        int
            The candidate ``f`` was inserted on.
        """
        i, _ = self.best_candidate(f)
        if i < 0:
            return self.make_room(f)
        self.insert(f, i)
        return i

    # ---- changes
    @property
    def version(self) -> np.ndarray:
        """The stamp of every arc's state (a copy): it changes whenever the arc does.

        Each state of an arc gets a stamp no other state had (a remembered state
        comes back with its own), so equal stamps mean equal states.

        Returns
        -------
        ndarray (A,) int64
        """
        return np.asarray(self._stamps, dtype=np.int64)

    def _new_state(self, a: int, share_y: np.ndarray, share_z: np.ndarray) -> None:
        """Arc ``a``'s reservations set without re-sharing: a new state, a new stamp."""
        self._stamp += 1
        self._arcs[a] = (self._stamp, share_y, share_z, None, None, None, None, None)
        self._stamps[a] = self._stamp

    def _reshare(self, a: int) -> None:
        """Water-fill arc ``a`` for the requests on it (see :meth:`_reshare_arcs`)."""
        self._reshare_arcs([a])

    def _reshare_arcs(self, arcs: Iterable[int]) -> None:
        """Water-fill each arc for the requests on it, or bring back a remembered state.

        The arcs not remembered with their requests are water-filled together
        (:func:`~qkdbench.planning.waterfill.waterfill_arcs`), each kind as
        :func:`~qkdbench.planning.waterfill.waterfill_group` does.
        """
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
        lad = self.ladders
        idx = np.asarray([a for a, _ in miss], dtype=np.int64)
        up = [0, *accumulate(len(key) for _, key in miss)]
        users_ptr = np.asarray(up, dtype=np.int64)
        users = np.fromiter(chain.from_iterable(key for _, key in miss), np.int64, up[-1])
        take, b_ptr, b_len, b_ben = waterfill_arcs(
            lad.y_ptr,
            lad.y_len,
            lad.y_ben,
            lad.z_ptr,
            lad.z_len,
            lad.z_ben,
            self.n_arcs,
            idx,
            users_ptr,
            users,
            self.cap["y"][idx],
            self.cap["z"][idx],
        )
        bp = b_ptr.tolist()
        for j, (a, key) in enumerate(miss):
            blocks = []
            for k in (0, 1):
                lo, hi = bp[2 * j + k], bp[2 * j + k + 1]
                t_len, t_ben = b_len[lo:hi], b_ben[lo:hi]
                blocks.append((t_len, t_ben, float(t_len @ t_ben) if hi > lo else 0.0))
            self._stamp += 1
            lo, hi = bp[2 * j], bp[2 * j + 2]
            by, bz = blocks
            rec = (
                self._stamp,
                take[0, up[j] : up[j + 1]],
                take[1, up[j] : up[j + 1]],
                by,
                bz,
                b_len[lo:hi],
                b_ben[lo:hi],
                (by[0].size, bz[0].size, by[2], bz[2]),
            )
            memo = memos[a]
            if len(memo) >= ARC_MEMO:
                del memo[next(iter(memo))]  # the oldest out
            memo[key] = rec
            states[a] = rec
            stamps[a] = rec[0]

    def _attach(self, f: int, i: int) -> list[int]:
        """Route ``f`` on candidate ``i`` in the counts and the arcs' lists; its arcs.

        The counts are those of :func:`~qkdbench.planning.greedy_fixed.count_users`
        (a route is a simple path: its links, and its nodes once each).
        """
        t = self._table(f)
        self.route[f] = i
        p = t.providers[i]
        if p >= 0:
            self.prov_load[p] += 1
        self.link_users[t.route_links[i]] += 1
        self.node_users[t.route_nodes[i]] += 1
        arcs = t.arc_lists[i]
        on_arc = self.on_arc
        for a in arcs:
            insort(on_arc[a], f)
        return arcs

    def _detach(self, f: int) -> list[int]:
        """Take ``f`` off the counts and the arcs' lists; the arcs of its route."""
        i = self.route[f]
        assert i is not None
        t = self._table(f)
        self.route[f] = None
        p = t.providers[i]
        if p >= 0:
            self.prov_load[p] -= 1
        self.link_users[t.route_links[i]] -= 1
        self.node_users[t.route_nodes[i]] -= 1
        arcs = t.arc_lists[i]
        on_arc = self.on_arc
        for a in arcs:
            on_arc[a].remove(f)
        return arcs

    def insert(self, f: int, i: int) -> None:
        """Route request ``f`` on its ``i``-th candidate.

        Parameters
        ----------
        f : int
            Request position, not routed now.
        i : int
            Candidate position; each arc of the route is then re-shared (``rebalance``) or
            gives ``f`` what is left of its capacity.
        """
        arcs = self._attach(f, i)
        if self.rebalance:
            self._reshare_arcs(arcs)
            return
        for a in arcs:
            pos = self.on_arc[a].index(f)
            shares = []
            for k, kind in ((1, "y"), (2, "z")):
                share = self._arcs[a][k]
                used = sum(share.tolist())  # the others, in request order
                ln, _ = self._ladder(kind, f * self.n_arcs + a)
                q = float(min(ln.sum(), max(0.0, self.cap[kind][a] - used)))
                shares.append(np.insert(share, pos, q))
            self._new_state(a, shares[0], shares[1])

    def remove(self, f: int) -> None:
        """Take request ``f`` off its route.

        Parameters
        ----------
        f : int
            Request position; nothing happens if it is not routed.
        """
        i = self.route[f]
        if i is None:
            return
        if self.rebalance:
            self._reshare_arcs(self._detach(f))
            return
        arcs = self.candidates.arcs[f][i].tolist()
        pos = [bisect_left(self.on_arc[a], f) for a in arcs]
        self._detach(f)
        for j, a in enumerate(arcs):
            rec = self._arcs[a]
            self._new_state(a, np.delete(rec[1], pos[j]), np.delete(rec[2], pos[j]))

    def remove_all(self, requests: Iterable[int]) -> None:
        """Take several requests off their routes: the same state as :meth:`remove` one by one.

        With ``rebalance`` each arc they leave is re-shared once, at the end.

        Parameters
        ----------
        requests : iterable of int
            Request positions; those not routed are skipped.
        """
        if not self.rebalance:
            for f in requests:
                self.remove(f)
            return
        touched: set[int] = set()
        for f in requests:
            if self.route[f] is not None:
                touched.update(self._detach(f))
        self._reshare_arcs(sorted(touched))

    def insert_all(self, routes: Iterable[tuple[int, int]]) -> None:
        """Route several requests: the same state as :meth:`insert` one by one, in order.

        With ``rebalance`` each arc they reach is re-shared once, at the end (the
        water-filling does not depend on the order the requests came in).

        Parameters
        ----------
        routes : iterable of (int, int)
            ``(request, candidate)`` pairs; the requests are not routed now.
        """
        if not self.rebalance:
            for f, i in routes:
                self.insert(f, i)
            return
        touched: set[int] = set()
        for f, i in routes:
            touched.update(self._attach(f, i))
        self._reshare_arcs(sorted(touched))

    def fresh(self) -> GreedyState:
        """An empty state on the same instance, ladders and candidates.

        Returns
        -------
        GreedyState
            No request routed; the same class and ``rebalance``.
        """
        return type(self)(self.instance, self.ladders, self.candidates, self.rebalance)

    def improve(
        self, order: list[int], clock: Stopwatch | None = None, max_passes: int = 20
    ) -> dict:
        """Improvement passes in ``order``; see :func:`~qkdbench.planning.local_search.improve`.

        Parameters
        ----------
        order : list of int
            The requests, in the order they are re-inserted; each must be routed.
        clock : Stopwatch, optional
            Time limit (none by default).
        max_passes : int, optional
            At most this many passes (default 20).

        Returns
        -------
        dict
            ``passes``, ``moves`` and ``stop``.
        """
        return local_search.improve(self, order, clock, max_passes)

    def provider_moves(self, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
        """Ejection moves for full providers.

        See :func:`~qkdbench.planning.local_search.provider_moves`.

        Parameters
        ----------
        clock : Stopwatch, optional
            Time limit (none by default).
        max_rounds : int, optional
            At most this many rounds (default 3).

        Returns
        -------
        dict
            ``moves`` (ejections kept) and ``rounds``.
        """
        return local_search.provider_moves(self, clock, max_rounds)

    def total_cost(self) -> float:
        """Expected cost of the current routes and reservations (evaluator, state's instance).

        Returns
        -------
        float
            Every request must be routed.
        """
        return float(evaluate_arrays(self.instance, self.plan_arrays()).total)

    def plan_arrays(self) -> PlanArrays:
        """The current routes and reservations encoded for the evaluator.

        The arrays :func:`~qkdbench.evaluation.encode_plan` gives for the plan of
        :meth:`routes` (reservations rounded to integers), built from the state's
        own arrays without making the plan.

        Returns
        -------
        PlanArrays
            One plan; every request must be routed.
        """
        inst = self.instance
        F, A = inst.n_requests, self.n_arcs
        route = self.route
        assert None not in route, "every request is routed"
        cand = self.candidates.arcs
        route_arcs = [cand[f][i] for f, i in enumerate(route)]  # type: ignore[index]
        lens = np.fromiter(map(len, route_arcs), dtype=np.int64, count=F)
        ptr = np.zeros(F + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(lens)
        arcs = np.concatenate(route_arcs).astype(np.int64, copy=False) if F else _NO_ARCS
        rows = np.repeat(np.arange(F), lens)
        # every (request, arc) of a route is on the arc's list: the table needs no zeros
        on_lens = np.fromiter(map(len, self.on_arc), dtype=np.int64, count=A)
        users = np.fromiter(chain.from_iterable(self.on_arc), dtype=np.int64)
        cols = np.repeat(np.arange(A), on_lens)
        reserved = []
        table = np.empty((F, A))
        for k in (1, 2):
            if users.size:
                table[users, cols] = np.concatenate([rec[k] for rec in self._arcs])
            reserved.append(np.round(table[rows, arcs]))
        target = None
        if inst.features & {"providers"}:
            target = np.asarray(
                [self.candidates.target_of(f, i) for f, i in enumerate(route)],  # type: ignore[arg-type]
                dtype=np.int64,
            )
        return PlanArrays(ptr, arcs, reserved[0], reserved[1], F, target)

    def close_links(self, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
        """Link-closing local search for fixed charges.

        See :func:`~qkdbench.planning.local_search.close_links`.

        Parameters
        ----------
        clock : Stopwatch, optional
            Time limit (none by default).
        max_rounds : int, optional
            At most this many rounds (default 3).

        Returns
        -------
        dict
            ``closed`` (links closed), ``tried`` (moves evaluated) and ``rounds``.
        """
        return local_search.close_links(self, clock, max_rounds)

    def routes(self, instance: Instance) -> tuple[Route, ...]:
        """The routes with their reservations, for ``instance`` (same requests).

        Parameters
        ----------
        instance : Instance
            An instance with the state's requests in the same order (the state's own, or
            the original of a sampled one).

        Returns
        -------
        tuple of Route
            Reservations rounded to integers; each route names its target's provider.
        """
        out = []
        for f, req in enumerate(instance.requests):
            i = self.route[f]
            assert i is not None, "every request is routed"
            arcs = self.candidates.arcs[f][i].tolist()
            at = [(a, bisect_left(self.on_arc[a], f)) for a in arcs]
            provider = req.sinks[self.candidates.target_of(f, i)].provider
            out.append(
                Route(
                    req.id,
                    self.candidates.paths[f][i],
                    tuple(int(round(float(self._arcs[a][1][j]))) for a, j in at),
                    tuple(int(round(float(self._arcs[a][2][j]))) for a, j in at),
                    provider,
                )
            )
        return tuple(out)


def insertion_order(
    candidates: Candidates, ladders: Ladders, rule: str, instance: Instance | None = None
) -> list[int]:
    """Request order of the greedy: ``"cost-desc"`` or ``"instance"`` (see module notes).

    With ``instance`` given and requests with targets, a candidate's
    stand-alone cost includes its target's service cost.

    Parameters
    ----------
    candidates : Candidates
        The requests' candidate routes.
    ladders : Ladders
        Their stand-alone costs (:meth:`Ladders.best`).
    rule : {"cost-desc", "instance"}
        ``cost-desc``: dearest cheapest stand-alone candidate first (ties by position);
        ``instance``: the instance's order.
    instance : Instance, optional
        The instance, for its targets' service costs.

    Returns
    -------
    list of int
        Every request position once.

    Raises
    ------
    ValueError
        For another ``rule``.
    """
    F = len(candidates.arcs)
    if rule == "instance":
        return list(range(F))
    if rule != "cost-desc":
        raise InputError(f"order must be one of {INSERTION_ORDERS}, got {rule!r}")
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
