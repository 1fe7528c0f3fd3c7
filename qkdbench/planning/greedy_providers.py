"""Providers in the greedy's state (docs/model.md): re-assignment when full.

A candidate of an anycast request ends at one of its targets
(:attr:`~qkdbench.planning.paths.Candidates.target`); its cost includes that
target's service cost. The state counts the requests each provider serves
(:meth:`~qkdbench.planning.greedy.GreedyState.has_room`), and insertion and the
improvement passes never place a request on a candidate whose provider is full
(so every move, including a change of target, keeps every provider within its
capacity). When greedy insertion leaves a request with no candidate whose
provider has room, :func:`make_room` re-assigns providers by a min-cost flow
(:func:`~qkdbench.planning.providers.assign_providers`) that keeps as many
requests as it can on their current provider, moves the others to their best
candidate of the new provider, and then inserts the request. The ejection move
for full providers is in :mod:`~qkdbench.planning.local_search`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .providers import assign_providers

if TYPE_CHECKING:
    from .greedy import GreedyState

__all__ = ["make_room"]


def make_room(state: GreedyState, f: int) -> int:
    """Insert request ``f`` when every provider it could use is full.

    A min-cost flow re-assigns providers to ``f`` and the requests already
    placed, each keeping its current provider when it can (cost 0, a change
    costs 1); the requests that change provider are moved to their cheapest
    candidate of the new one, then ``f`` is inserted on its cheapest
    candidate with room.

    Parameters
    ----------
    state : GreedyState
        Changed in place.
    f : int
        The request, not routed now.

    Returns
    -------
    int
        The candidate ``f`` was inserted on.

    Raises
    ------
    InputError
        If no assignment within the capacities exists (validation rules it out).
    """
    F = len(state.route)
    options: list[dict[int, float]] = []
    for g in range(F):
        provs = {state.provider_of(g, i) for i in range(len(state.candidates.arcs[g]))}
        provs.discard(-1)
        route_g = state.route[g]
        if g != f and route_g is None:
            options.append({})
            continue
        cur = None if g == f or route_g is None else state.provider_of(g, route_g)
        options.append({p: (0.0 if g == f or p == cur else 1.0) for p in provs})
    new = assign_providers(options, state.prov.capacity)
    moved = [
        g
        for g in range(F)
        if g != f
        and (route_g := state.route[g]) is not None
        and new[g] is not None
        and new[g] != state.provider_of(g, route_g)
    ]
    for g in moved:
        state.remove(g)
    for g in moved:
        i, _ = state.best_candidate(g, provider=new[g])
        state.insert(g, i)
    i, _ = state.best_candidate(f, provider=new[f])
    if i < 0:
        i, _ = state.best_candidate(f)
    state.insert(f, i)
    return i
