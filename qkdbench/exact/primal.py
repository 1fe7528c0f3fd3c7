"""The primal side of the Lagrangian method: feasible plans from priced routings.

The dual (:mod:`qkdbench.exact.dual`) routes every request on its priced
shortest path, which may overfill the capacities; the dual ascent
(:mod:`qkdbench.exact.ascent`) turns each new routing into a plan here, and the
``lagrangian`` planner finishes with :func:`improve_with_columns`.

The primal (Lagrangian) heuristic
---------------------------------
At every iteration the priced routing (each request's priced shortest path)
is turned into a feasible plan by the greedy's water-filling
(:func:`~qkdbench.planning.waterfill.waterfill`): with the routes fixed,
each arc's reservation capacity goes to the largest marginal benefits first,
which is the cost-minimal reservation for those routes. When the priced
targets overfill a provider, the targets are chosen again within the
provider capacities by a min-cost assignment on the priced target costs
(:func:`~qkdbench.planning.providers.assign_targets`) before the reservations are
set. The plan is scored
by the evaluator (:func:`~qkdbench.evaluation.evaluate_batch`) and the
cheapest one is kept. Its cost is the Polyak target; its gap to the best
bound is *certified*: ``(cost - bound) / cost``.

Column improvement
------------------
The distinct priced paths of each request (its *columns*) are the candidate
routes of the greedy's improvement passes (:func:`improve_with_columns`).
"""

from __future__ import annotations

import math

import numpy as np

from ..evaluation import PlanArrays, encode_plan, pair_costs, plan_fixed_charges
from ..evaluation.pricing import arc_table, provider_table
from ..model import Instance, Plan
from ..planning import (
    Candidates,
    GreedyState,
    Ladders,
    build_ladders,
    insertion_order,
    standalone_arc_costs,
    waterfill,
)
from ..planning.providers import assign_targets
from ..planning.shortest_paths import trace_paths
from ..utils.timing import Stopwatch
from .dual import DualPoint, _Network

__all__ = ["improve_with_columns"]


# --------------------------------------------------------------------------- repair


def _repair(
    instance: Instance, ladders: Ladders, group: np.ndarray, routing: PlanArrays
) -> PlanArrays:
    """The cost-minimal reservations for the routing's paths (water-filling per arc)."""
    arcs = arc_table(instance)
    A = arcs.n
    if routing.arcs.size == 0:
        return routing
    owner = np.repeat(group, np.diff(routing.ptr))
    pairs = owner * A + routing.arcs
    y = waterfill(
        ladders.y_ptr, ladders.y_len, ladders.y_ben, pairs, routing.arcs, arcs.W_qkd.astype(float)
    )
    z = waterfill(
        ladders.z_ptr, ladders.z_len, ladders.z_ben, pairs, routing.arcs, arcs.W_kml.astype(float)
    )
    return PlanArrays(
        routing.ptr, routing.arcs, np.round(y), np.round(z), routing.n_requests, routing.target
    )


def _fit_providers(instance: Instance, net: _Network, point: DualPoint) -> PlanArrays:
    """The priced routing with targets that respect the provider capacities.

    When a provider serves more requests than its capacity, the targets are
    chosen again by :func:`~qkdbench.planning.providers.assign_targets` on the
    point's priced target costs, and each request follows its priced
    shortest-path tree to its new target (reservations are set by
    :func:`_repair`).
    """
    pt = provider_table(instance)
    capped = pt.capacity >= 0
    if not np.any(capped & (point.load > pt.capacity)):
        return point.routing
    target = assign_targets(instance, point.target_cost)
    ptr, arcs, bad = trace_paths(
        point.pred, net.tail, net.req_job, net.req_source, pt.node[pt.ptr[:-1] + target]
    )
    if bad >= 0:
        raise RuntimeError(f"request {instance.requests[bad].id!r}: no path found")
    zeros = np.zeros(arcs.size)
    return PlanArrays(ptr, arcs, zeros, zeros.copy(), instance.n_requests, target)


def _plan_cost(instance: Instance, plan: PlanArrays) -> float:
    """Expected cost of one plan: the evaluator's pair costs summed over its routes.

    With the chosen targets' service costs and the fixed charges of the
    links and nodes it uses. Equal to
    :func:`~qkdbench.evaluation.evaluate_batch` up to the order of summation,
    without the batch kernel's thread start-up on every iteration.
    """
    if plan.arcs.size == 0:
        return 0.0
    req = np.repeat(np.arange(plan.n_requests), np.diff(plan.ptr))
    cy, cz = pair_costs(instance, req, plan.arcs, plan.yr, plan.zr)
    pt = provider_table(instance)
    service = pt.service_cost[pt.ptr[:-1] + plan.targets()] if pt.active else np.zeros(0)
    site, node = plan_fixed_charges(instance, plan.arcs)
    return math.fsum(cy) + math.fsum(cz) + math.fsum(service) + site + node


# --------------------------------------------------------------------------- improvement


def improve_with_columns(
    instance: Instance,
    plan: PlanArrays,
    columns: list,
    clock: Stopwatch | None = None,
    max_passes: int = 20,
) -> tuple[PlanArrays, dict]:
    """The greedy's improvement passes from ``plan``, over the priced paths seen.

    Each request's candidate routes are the distinct paths the dual ascent
    priced for it (its *columns*; for a request with targets, those that
    end at the node of the plan's target, so targets and providers stay); the greedy's
    :meth:`~qkdbench.planning.greedy.GreedyState.improve` re-inserts each
    request on its cheapest column given all the others (water-filled
    reservations) until a pass moves nothing, ``max_passes`` or the clock.

    Parameters
    ----------
    instance : Instance
    plan : PlanArrays
        The plan to start from (each request on one of its columns or not).
    columns : list
        Per request, its priced paths as arc-id tuples
        (:attr:`~qkdbench.exact.ascent.LagrangianResult.columns`); the plan's
        own path is added when missing.
    clock : Stopwatch, optional
        No pass starts after it has expired.
    max_passes : int
        At most this many passes.

    Returns
    -------
    plan : PlanArrays
        Never dearer than ``plan`` (a move needs a strictly cheaper plan).
    info : dict
        ``passes``, ``moves``, ``stop`` of the passes.
    """
    F = instance.n_requests
    tails, heads = arc_table(instance).tail, arc_table(instance).head
    arcs_of, paths_of, start, target_of = [], [], [], []
    chosen = plan.targets()
    for f in range(F):
        mine = tuple(plan.arcs[plan.ptr[f] : plan.ptr[f + 1]].tolist())
        cols = list(columns[f]) if f < len(columns) else []
        if instance.requests[f].is_anycast:  # keep the plan's target (and provider)
            cols = [c for c in cols if c and heads[c[-1]] == heads[mine[-1]]]
        if mine not in cols:
            cols.append(mine)
        arcs_of.append(tuple(np.asarray(c, dtype=np.int64) for c in cols))
        paths_of.append(
            tuple(
                tuple([instance.nodes[tails[c[0]]]] + [instance.nodes[heads[a]] for a in c])
                for c in cols
            )
        )
        start.append(cols.index(mine))
        target_of.append((int(chosen[f]),) * len(cols))
    # the greedy's network moves route on the stand-alone arc costs: give the real ones
    cands = Candidates(
        tuple(paths_of), tuple(arcs_of), standalone_arc_costs(instance), tuple(target_of)
    )
    ladders = build_ladders(instance)
    state = GreedyState(instance, ladders, cands)
    for f in range(F):
        state.insert(f, start[f])
    info = state.improve(insertion_order(cands, ladders, "cost-desc"), clock, max_passes)
    better = Plan(instance.name, "", state.routes(instance))
    return encode_plan(instance, better), info
