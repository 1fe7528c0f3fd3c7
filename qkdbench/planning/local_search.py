"""Local searches on the greedy's state: improvement passes, ejections, link closing.

Each function takes a :class:`~qkdbench.planning.greedy.GreedyState`, changes it
in place and returns what it did; the state's methods of the same names call
them.

:func:`improve` re-inserts each request on its cheapest candidate given the
others, until a pass moves nothing.

Link closing (fixed charges, docs/model.md)
---------------------------------------------------------
Single-request moves cannot close a link used by several requests, so
:func:`close_links` adds the classic *link-closing* move of fixed-charge
network design: take every request off one open link, forbid it, re-insert
them on their best candidates, and keep the change only if the evaluator's
total falls. It is chosen over slope scaling (which needs many re-solves of
the whole routing) because one move costs a handful of insertions plus one
evaluation, and it directly attacks what greedy insertion gets wrong: links
opened early for one or two requests that later requests make unnecessary.

Ejections (providers, docs/model.md)
--------------------------------------------------
Single-request moves cannot exchange two requests' providers when a provider
is full, so :func:`provider_moves` adds an *ejection* move: a request takes a
cheaper candidate of a full provider and one request served by that provider
moves to its best candidate with room, kept only if the two together lower the
cost (priced exactly by the state's insertion costs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..utils.timing import Stopwatch

if TYPE_CHECKING:
    from .greedy import GreedyState

__all__ = ["improve", "provider_moves", "close_links"]


def improve(
    state: GreedyState, order: list[int], clock: Stopwatch | None = None, max_passes: int = 20
) -> dict:
    """Improvement passes: re-insert each request (in ``order``) given the others.

    A request moves only to a strictly cheaper candidate, so the passes end
    when one pass moves nothing, after ``max_passes`` or at the time limit.
    With fixed charges, each request first gets its network route
    (:func:`~qkdbench.planning.greedy_fixed.network_candidate`) as a candidate.

    Parameters
    ----------
    state : GreedyState
        Every request in ``order`` routed; changed in place.
    order : list of int
        The requests, in the order they are re-inserted.
    clock : Stopwatch, optional
        Time limit (none by default).
    max_passes : int
        At most this many passes.

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
            old = state.route[f]
            state.remove(f)
            if state.fixed:
                state.network_candidate(f)
            i, _ = state.best_candidate(f, prefer=old)
            state.insert(f, i)
            changed += int(i != old)
        moves += changed
        if changed == 0:
            break
    return {"passes": passes, "moves": moves, "stop": stop}


def provider_moves(state: GreedyState, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
    """Ejection moves for full providers; see the module notes.

    For each request with targets (instance order) whose cheapest candidate
    given the others belongs to a full provider ``P``, each request ``g``
    served by ``P`` is tried in turn: ``g`` leaves, the request takes that
    candidate, ``g`` takes its cheapest candidate with room. The first pair
    that lowers the cost is kept. Rounds repeat until one keeps nothing,
    ``max_rounds`` or the time limit.

    Parameters
    ----------
    state : GreedyState
        Changed in place.
    clock : Stopwatch, optional
        Time limit (none by default).
    max_rounds : int
        At most this many rounds.

    Returns
    -------
    dict
        ``moves`` (ejections kept), ``rounds``.

    Examples
    --------
    >>> from qkdbench.heuristics.saa_greedy import SAAGreedy
    >>> from qkdbench.topologies import make_instance
    >>> state, _ = SAAGreedy(improve=False).build(make_instance("nsfnet", 4, 3, seed=1))
    >>> provider_moves(state)["moves"]  # no providers: nothing to move
    0
    """
    clock = clock or Stopwatch(None)
    out = {"moves": 0, "rounds": 0}
    pt = state.prov
    if not pt.active or not np.any(pt.capacity >= 0):
        return out
    anycast = [f for f, req in enumerate(state.instance.requests) if req.is_anycast]
    while out["rounds"] < max_rounds and not clock.expired():
        out["rounds"] += 1
        kept = 0
        for f in anycast:
            if clock.expired():
                break
            cur = state.route[f]
            if cur is None:
                continue
            state.remove(f)
            cost_cur = state.path_cost(f, cur)
            blocked = sorted(
                (state.path_cost(f, i), i)
                for i in range(len(state.candidates.arcs[f]))
                if not state.has_room(state.provider_of(f, i))
            )
            done = False
            for cost_i, i in blocked[:1]:  # the cheapest candidate of a full provider
                if cost_i >= cost_cur - 1e-9 * (1 + abs(cost_cur)):
                    break
                p = state.provider_of(f, i)
                for g in [
                    g
                    for g in anycast
                    if g != f
                    and (route_g := state.route[g]) is not None
                    and state.provider_of(g, route_g) == p
                ]:
                    old = state.route[g]
                    assert old is not None
                    state.remove(g)
                    keep_g = state.path_cost(g, old)
                    state.insert(g, old)
                    before = keep_g + state.path_cost(f, cur)
                    state.remove(g)
                    new_f = state.path_cost(f, i)
                    state.insert(f, i)
                    j, new_g = state.best_candidate(g)
                    if j >= 0 and new_f + new_g < before - 1e-9 * (1 + abs(before)):
                        state.insert(g, j)
                        done = True
                        kept += 1
                        break
                    state.remove(f)
                    state.insert(g, old)
            if not done:
                state.insert(f, cur)
        out["moves"] += kept
        if kept == 0:
            break
    return out


def close_links(state: GreedyState, clock: Stopwatch | None = None, max_rounds: int = 3) -> dict:
    """Link-closing local search for fixed charges.

    For each open link with a positive charge, fewest users first (then
    dearest first), every request using it is taken off, the link is
    forbidden and the requests are re-inserted (dearest first) on their best
    candidates avoiding it. The change is kept if the evaluator's total
    falls, undone otherwise. Rounds repeat until one keeps nothing,
    ``max_rounds`` or the time limit. A link whose move was undone is not tried
    again before some move is kept (the state would be the same, and so would the
    outcome). Taking the users off and putting them back
    goes through :meth:`~qkdbench.planning.greedy.GreedyState.remove_all` and
    :meth:`~qkdbench.planning.greedy.GreedyState.insert_all` (each arc re-shared
    once, the same state as one request at a time).

    Parameters
    ----------
    state : GreedyState
        Every request routed; changed in place.
    clock : Stopwatch, optional
        Time limit (none by default).
    max_rounds : int
        At most this many rounds.

    Returns
    -------
    dict
        ``closed`` (links closed), ``tried`` (moves evaluated), ``rounds``.

    Examples
    --------
    >>> from qkdbench.heuristics.saa_greedy import SAAGreedy
    >>> from qkdbench.topologies import make_instance
    >>> state, _ = SAAGreedy(improve=False).build(make_instance("nsfnet", 4, 3, seed=1))
    >>> close_links(state)["closed"]  # no fixed charges: nothing to close
    0
    """
    clock = clock or Stopwatch(None)
    out = {"closed": 0, "tried": 0, "rounds": 0}
    if not state.fixed or all(r is None for r in state.route):
        return out
    current = state.total_cost()
    # An undone move leaves the state as it was, so the state is a function of the moves
    # kept so far: a link tried again with none kept since would be undone again.
    closed = 0
    last_try: dict[int, tuple[int, bool]] = {}  # link -> (moves kept then, evaluated)
    while out["rounds"] < max_rounds and not clock.expired():
        out["rounds"] += 1
        kept = 0
        links = np.flatnonzero((state.link_users > 0) & (state.link_charge > 0))
        order = sorted(links, key=lambda k: (state.link_users[k], -state.link_charge[k], k))
        for link in order:
            if clock.expired():
                break
            if state.link_users[link] == 0:
                continue
            k = int(link)
            again = last_try.get(k)
            if again is not None and again[0] == closed:  # the same move from the same state
                out["tried"] += int(again[1])
                continue
            # the requests routed over the link (either way), in request order
            users = sorted(set(state.on_arc[2 * k]) | set(state.on_arc[2 * k + 1]))
            # users route on the link, so each has a route
            saved = {f: i for f in users if (i := state.route[f]) is not None}
            state.remove_all(users)
            ok = True
            for f in users:
                i, _ = state.best_candidate(f, avoid_link=int(link))
                if i < 0:
                    ok = False
                    break
                state.insert(f, i)
            if ok:
                out["tried"] += 1
                new = state.total_cost()
                if new < current - 1e-9 * abs(current):
                    current = new
                    kept += 1
                    closed += 1
                    continue
            state.remove_all(users)  # undo: the same state as before the move
            state.insert_all((f, saved[f]) for f in users)
            last_try[k] = (closed, ok)
        out["closed"] += kept
        if kept == 0:
            break
    return out
