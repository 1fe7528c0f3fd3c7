"""The cheapest plan of a tiny coupled instance, by enumeration, scored by the evaluator.

Every combination of simple paths (one per request) and, on every arc the routes
use, every vector of integer QKD and KM reservations from 0 up to each request's
largest need there (within the reservation capacity). For fixed routes the model's
expected cost is the route costs plus a sum over arcs and wavelength kinds, each
depending only on that arc's reservations of that kind (``docs/model.md``, "Coupled
second stage"), so each (arc, kind, requests on it) is enumerated once: plans that
differ only there are scored with ``evaluate_batch`` and the cheapest vector is kept.
The best plan of each route combination is scored with ``evaluate_batch`` again.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from qkdbench.evaluation import evaluate_batch
from qkdbench.evaluation.pricing import arc_table, qkd_links_needed, scenario_table
from qkdbench.model import Instance, Plan, Route

__all__ = ["brute_force", "max_need"]


def max_need(inst: Instance, f: int, a: int) -> tuple[int, int]:
    """Largest QKD and KM need of request ``f`` on arc ``a`` over the scenarios."""
    t = scenario_table(inst)
    p = max(int(qkd_links_needed(t.kappa[s, f], t.rate[s, a // 2])) for s in range(t.probs.size))
    return 3 * p, p


def _plan(inst: Instance, paths: tuple, res: dict) -> Plan:
    routes = []
    for f, (req, path) in enumerate(zip(inst.requests, paths, strict=True)):
        arcs = inst.path_arcs(path)
        routes.append(
            Route(
                req.id,
                tuple(path),
                tuple(res.get((f, a), (0, 0))[0] for a in arcs),
                tuple(res.get((f, a), (0, 0))[1] for a in arcs),
            )
        )
    return Plan(inst.name, "brute", tuple(routes))


def brute_force(inst: Instance) -> tuple[float, Plan]:
    """The cheapest plan and its evaluator cost (see the module notes).

    Parameters
    ----------
    inst : Instance
        A tiny coupled instance (ordinary requests).

    Returns
    -------
    cost : float
        ``evaluate_batch`` of the cheapest plan.
    plan : Plan
    """
    arcs = arc_table(inst)
    options = [
        [tuple(p) for p in nx.all_simple_paths(inst.graph, r.source, r.target)]
        for r in inst.requests
    ]
    best_arc: dict[tuple[int, tuple[int, ...]], dict[int, tuple[int, int]]] = {}

    def arc_best(a: int, users: tuple[int, ...], paths: tuple) -> dict[int, tuple[int, int]]:
        key = (a, users)
        if key in best_arc:
            return best_arc[key]
        # only arc a's reservations vary between the plans scored, so only arc a's part
        # of the cost changes, and that part depends on nothing but its users
        chosen: dict[int, tuple[int, int]] = {}
        for kind, cap in ((0, int(arcs.W_qkd[a])), (1, int(arcs.W_kml[a]))):
            tops = [max_need(inst, f, a)[kind] for f in users]
            vecs = [v for v in itertools.product(*(range(t + 1) for t in tops)) if sum(v) <= cap]
            plans = []
            for v in vecs:
                res = {(f, a): ((v[j], 0) if kind == 0 else (0, v[j])) for j, f in enumerate(users)}
                plans.append(_plan(inst, tuple(paths), res))
            total = evaluate_batch(inst, plans).total
            pick = vecs[int(np.argmin(total))]
            for j, f in enumerate(users):
                old = chosen.get(f, (0, 0))
                chosen[f] = (pick[j], old[1]) if kind == 0 else (old[0], pick[j])
        best_arc[key] = chosen
        return chosen

    candidates = []
    for combo in itertools.product(*options):
        on_arc: dict[int, list[int]] = {}
        for f, p in enumerate(combo):
            for a in inst.path_arcs(p):
                on_arc.setdefault(a, []).append(f)
        res = {}
        for a, users in on_arc.items():
            for f, yz in arc_best(a, tuple(users), combo).items():
                res[(f, a)] = yz
        candidates.append(_plan(inst, combo, res))
    scores = evaluate_batch(inst, candidates)
    assert bool(np.all(scores.feasible))
    i = int(np.argmin(scores.total))
    return float(scores.total[i]), candidates[i]
