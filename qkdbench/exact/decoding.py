"""Between plans and the columns of the exact model: warm-start values and decoding.

:func:`_warm_values` gives every integer variable of an
:class:`~qkdbench.exact.formulation.SPModel` its value in a plan (the warm
start handed to the solver); :func:`_decode` reads the routes of a rounded
solution back. Both are used by :func:`~qkdbench.exact.sp_milp.solve_model`.
:func:`walk_routes` is the path walk they share with the scenario program's
:func:`~qkdbench.exact.scenario_program.decode_program`.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.encoding import route_violations, target_position
from ..evaluation.pricing import arc_table, provider_table
from ..exceptions import InputError
from ..model import Instance, Plan, Route
from .formulation import SPModel
from .solver import SolverError

__all__ = ["walk_routes"]


def walk_routes(
    instance: Instance,
    req: np.ndarray,
    arc: np.ndarray,
    on: np.ndarray,
    reserve: tuple[np.ndarray, np.ndarray],
    choice: tuple[np.ndarray, np.ndarray | None],
    error: type[Exception],
) -> tuple[Route, ...]:
    """The routes of a first-stage solution: each request's path from its source.

    Each request walks from its source along its pairs that are on to its target;
    a request with targets ends at the node of the target whose choice value is the
    largest among its own, and its route names that target's provider. Cycles off
    the path are dropped.

    Parameters
    ----------
    instance : Instance
    req, arc : ndarray of int
        Request position and arc id of each (request, arc) pair of the model.
    on : ndarray of bool
        Whether each pair's route variable is set.
    reserve : (ndarray, ndarray)
        QKD and KM reservations of each pair (integers).
    choice : (ndarray, ndarray or None)
        Target positions (in :func:`~qkdbench.evaluation.pricing.provider_table`) of
        the choice binaries and their values (``None``: none in the solution).
    error : type of Exception
        Raised, with a one-line message, when a request has no path or no target.

    Returns
    -------
    tuple of Route

    Raises
    ------
    Exception
        ``error``, for a request without a path or without a chosen target.

    Examples
    --------
    >>> from qkdbench.model import Instance, Link, Request, Demand
    >>> inst = Instance((1, 2, 3), (Link(1, 2, 100.0), Link(2, 3, 100.0)),
    ...                 (Request("f0", 1, 3, Demand.point(1.0)),))
    >>> ab, bc = inst.arc_index[(1, 2)], inst.arc_index[(2, 3)]
    >>> routes = walk_routes(inst, np.array([0, 0]), np.array([ab, bc]), np.array([True, True]),
    ...                      (np.array([3, 3]), np.array([1, 1])), (np.array([], int), None),
    ...                      ValueError)
    >>> routes[0].path, routes[0].reserve_qkd
    ((1, 2, 3), (3, 3))
    """
    arcs = arc_table(instance)
    pt = provider_table(instance)
    w_pos, w_val = choice
    w_req = np.searchsorted(pt.ptr, w_pos, side="right") - 1
    routes = []
    for f, r in enumerate(instance.requests):
        sel = np.flatnonzero((req == f) & on)
        nxt = {int(arcs.tail[arc[i]]): int(i) for i in sel}
        provider = None
        if r.is_anycast:
            mine = np.flatnonzero(w_req == f)
            if w_val is None or not mine.size:
                raise error(f"the solution chooses no target for request {r.id!r}")
            j = int(w_pos[mine[int(np.argmax(w_val[mine]))]])
            t = int(pt.node[j])
            provider = r.sinks[j - int(pt.ptr[f])].provider
        else:
            t = instance.node_index[r.target]
        v = instance.node_index[r.source]
        path, ys, zs = [r.source], [], []
        while v != t:
            if v not in nxt or len(path) > len(instance.nodes):
                raise error(f"the solution has no path for request {r.id!r}")
            i = nxt[v]
            v = int(arcs.head[arc[i]])
            path.append(instance.nodes[v])
            ys.append(int(reserve[0][i]))
            zs.append(int(reserve[1][i]))
        routes.append(Route(r.id, tuple(path), tuple(ys), tuple(zs), provider))
    return tuple(routes)


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
    return walk_routes(
        model.instance,
        model.req,
        model.arc,
        xv > 0.5,
        (yv, zv),
        (model.w_pos, wv),
        SolverError,
    )
