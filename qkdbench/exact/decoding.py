"""Between plans and the columns of the exact model: warm-start values and decoding.

:func:`_warm_values` gives every integer variable of an
:class:`~qkdbench.exact.formulation.SPModel` its value in a plan (the warm
start handed to the solver); :func:`_decode` reads the routes of a rounded
solution back. Both are used by :func:`~qkdbench.exact.sp_milp.solve_model`.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.encoding import route_violations, target_position
from ..evaluation.pricing import arc_table, provider_table
from ..exceptions import InputError
from ..model import Plan, Route
from .formulation import SPModel
from .solver import SolverError

__all__: list[str] = []


def _warm_values(model: SPModel, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of every integer variable for a plan (reservations clipped)."""
    inst = model.instance
    problems = route_violations(inst, plan)
    if problems:
        raise InputError(f"warm-start plan does not fit the instance: {problems[0]}")
    where = {(int(f), int(a)): i for i, (f, a) in enumerate(zip(model.req, model.arc, strict=True))}
    n = model.x.size
    xv, yv, zv = np.zeros(n), np.zeros(n), np.zeros(n)
    for route in plan.routes:
        f = inst.request_index[route.request_id]
        for a, yq, zk in zip(
            inst.path_arcs(route.path), route.reserve_qkd, route.reserve_km, strict=True
        ):
            i = where.get((f, a))
            if i is None:
                raise InputError(
                    f"warm-start route of {route.request_id!r} uses arc {a} "
                    "that cannot lie on a simple path of the request"
                )
            xv[i] = 1.0
            yv[i] = float(min(max(round(yq), 0), model.y_ub[i]))
            zv[i] = float(min(max(round(zk), 0), model.z_ub[i]))
    # fixed charges: a link or node is open iff some route of the plan uses it
    on = model.arc[xv > 0.5]
    uv = np.isin(model.u_link, on // 2).astype(float)
    arcs = arc_table(inst)
    vv = np.isin(model.v_node, np.concatenate([arcs.tail[on], arcs.head[on]])).astype(float)
    # targets: the choice binary of the target each route names
    wv = np.zeros(model.w.size)
    if model.w.size:
        pt = provider_table(inst)
        col_of = {int(j): k for k, j in enumerate(model.w_pos)}
        for route in plan.routes:
            f = inst.request_index[route.request_id]
            req = inst.requests[f]
            if req.is_anycast:
                pos = target_position(req, route.path[-1], route.provider)
                assert pos is not None  # route_violations checked it
                wv[col_of[int(pt.ptr[f]) + pos]] = 1.0
    return model.integer_cols, np.concatenate([xv, yv, zv, uv, vv, wv])


def _decode(
    model: SPModel,
    xv: np.ndarray,
    yv: np.ndarray,
    zv: np.ndarray,
    planner: str,
    wv: np.ndarray | None = None,
) -> tuple[Route, ...]:
    """The routes of a rounded solution: each request's path from its source.

    A request with targets ends at the node of the target whose choice
    binary is set (``wv``), and its route names that target's provider.
    """
    inst = model.instance
    tails, heads = arc_table(inst).tail, arc_table(inst).head
    pt = provider_table(inst)
    w_req = np.searchsorted(pt.ptr, model.w_pos, side="right") - 1
    routes = []
    for f, r in enumerate(inst.requests):
        sel = np.flatnonzero((model.req == f) & (xv > 0.5))
        nxt = {int(tails[model.arc[i]]): i for i in sel}
        provider = None
        if r.is_anycast:
            mine = np.flatnonzero(w_req == f)
            if wv is None or not mine.size:
                raise SolverError(f"solver solution has no target for request {r.id!r}")
            j = int(model.w_pos[mine[int(np.argmax(wv[mine]))]])
            t = int(pt.node[j])
            provider = r.sinks[j - int(pt.ptr[f])].provider
        else:
            t = inst.node_index[r.target]
        v = inst.node_index[r.source]
        path, ys, zs = [r.source], [], []
        while v != t:
            if v not in nxt or len(path) > len(inst.nodes):
                raise SolverError(f"solver solution has no path for request {r.id!r}")
            i = nxt[v]
            v = int(heads[model.arc[i]])
            path.append(inst.nodes[v])
            ys.append(int(yv[i]))
            zs.append(int(zv[i]))
        routes.append(Route(r.id, tuple(path), tuple(ys), tuple(zs), provider))
    return tuple(routes)
