"""Turning a :class:`~qkdbench.model.Plan` into the arrays the kernels read, and back.

Encoding is also where a plan's *shape* is checked against its instance: one
route per request, each a simple path from the request's source to its
target over existing arcs, one reservation per arc. A plan that fails these
checks cannot be costed; a plan that passes them may still be infeasible for
its reservations (negative, fractional, over capacity), which the evaluator
reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import InputError
from ..model import Instance, Plan, Request, Route
from .pricing import arc_table

__all__ = [
    "PlanArrays",
    "encode_plan",
    "decode_plan",
    "stack_plans",
    "route_violations",
    "target_position",
]


@dataclass(frozen=True, eq=False)
class PlanArrays:
    """A plan (or a batch of plans) in CSR form, in the instance's request order.

    Attributes
    ----------
    ptr : ndarray (B*F+1,) int64
        Row ``b*F + f`` holds request ``f`` of plan ``b``: positions ``ptr[row]:ptr[row+1]``.
    arcs : ndarray int64
        Arc ids along each route, in path order.
    yr, zr : ndarray float64
        Reserved QKD and KM wavelengths on those arcs.
    n_requests : int
        ``F``.
    target : ndarray (B*F,) int64, optional
        Row's chosen target: a position in the request's
        :attr:`~qkdbench.model.Request.sinks` (always 0 for an ordinary request).
        ``None`` means all 0.
    """

    ptr: np.ndarray
    arcs: np.ndarray
    yr: np.ndarray
    zr: np.ndarray
    n_requests: int
    target: np.ndarray | None = None

    def targets(self) -> np.ndarray:
        """The chosen target of every row (zeros when none were recorded).

        Returns
        -------
        ndarray of int64, shape (B*F,)
            :attr:`target`, or zeros when it is ``None``.
        """
        if self.target is None:
            return np.zeros(self.ptr.size - 1, dtype=np.int64)
        return self.target

    @property
    def n_plans(self) -> int:
        """Number of plans in the batch."""
        return (self.ptr.size - 1) // max(self.n_requests, 1) if self.n_requests else 0

    def plan(self, b: int) -> PlanArrays:
        """The ``b``-th plan of a batch.

        Parameters
        ----------
        b : int
            Position of the plan in the batch, ``0 <= b < n_plans``.

        Returns
        -------
        PlanArrays
            A one-plan batch (``ptr`` rebased to 0) viewing this batch's arrays.
        """
        F = self.n_requests
        lo, hi = self.ptr[b * F], self.ptr[(b + 1) * F]
        tgt = None if self.target is None else self.target[b * F : (b + 1) * F]
        return PlanArrays(
            self.ptr[b * F : (b + 1) * F + 1] - lo,
            self.arcs[lo:hi],
            self.yr[lo:hi],
            self.zr[lo:hi],
            F,
            tgt,
        )


def route_violations(instance: Instance, plan: Plan) -> list[InputError]:
    """Shape problems of a plan against an instance, each with its place.

    Returns an empty list when every request has exactly one route that is a
    simple path from its source to its target over existing arcs, with one
    reservation per arc.

    Parameters
    ----------
    instance : Instance
        The instance the plan should be for.
    plan : Plan
        The plan to check.

    Returns
    -------
    list of InputError
        One per problem (unknown or twice-routed request, a path that does not start at
        the source or end at a target, an unknown node, a node visited twice, a missing
        arc, a reservation count that is not one per arc, a request without a route),
        each placed as ``requests[k]...``; not raised.
    """
    problems: list[InputError] = []
    seen: dict[str, int] = {}
    for k, route in enumerate(plan.routes):
        place = f"requests[{k}]"
        f = instance.request_index.get(route.request_id)
        if f is None:
            problems.append(
                InputError(f"request {route.request_id!r} is not in the instance", f"{place}.id")
            )
            continue
        if route.request_id in seen:
            problems.append(
                InputError(f"request {route.request_id!r} is routed twice", f"{place}.id")
            )
            continue
        seen[route.request_id] = k
        req = instance.requests[f]
        path = route.path
        if len(path) < 2:
            problems.append(InputError("path must list at least two nodes", f"{place}.path"))
            continue
        if path[0] != req.source:
            problems.append(
                InputError(
                    f"path starts at {path[0]!r}, not at the request's source {req.source!r}",
                    f"{place}.path[0]",
                )
            )
        if req.targets:
            if route.provider is None:
                problems.append(
                    InputError(
                        "the request has targets: the route must name the provider it chose",
                        f"{place}.provider",
                    )
                )
            elif target_position(req, path[-1], route.provider) is None:
                problems.append(
                    InputError(
                        f"path ends at {path[-1]!r}, which is not a target of provider "
                        f"{route.provider!r} for this request",
                        f"{place}.path[{len(path) - 1}]",
                    )
                )
        else:
            if route.provider is not None:
                problems.append(
                    InputError(
                        f"provider {route.provider!r} given, but the request has a single target",
                        f"{place}.provider",
                    )
                )
            if path[-1] != req.target:
                problems.append(
                    InputError(
                        f"path ends at {path[-1]!r}, not at the request's target {req.target!r}",
                        f"{place}.path[{len(path) - 1}]",
                    )
                )
        firsts: dict = {}
        for i, n in enumerate(path):
            if n not in instance.node_index:
                problems.append(InputError(f"unknown node {n!r}", f"{place}.path[{i}]"))
            elif n in firsts:
                problems.append(
                    InputError(
                        f"node {n!r} visited twice (also path[{firsts[n]}]);"
                        " a route must be a simple path",
                        f"{place}.path[{i}]",
                    )
                )
            else:
                firsts[n] = i
        for i in range(len(path) - 1):
            if (
                (path[i], path[i + 1]) not in instance.arc_index
                and path[i] in instance.node_index
                and path[i + 1] in instance.node_index
            ):
                problems.append(
                    InputError(
                        f"no arc {path[i]!r}->{path[i + 1]!r} in the topology", f"{place}.path[{i}]"
                    )
                )
        for key in ("reserve_qkd", "reserve_km"):
            if len(getattr(route, key)) != len(path) - 1:
                problems.append(
                    InputError(
                        f"{len(getattr(route, key))} reservations for {len(path) - 1} arcs",
                        f"{place}.{key}",
                    )
                )
    for req in instance.requests:
        if req.id not in seen:
            problems.append(InputError(f"request {req.id!r} has no route", "requests"))
    return problems


def target_position(req: Request, node: Any, provider: str | None) -> int | None:
    """Position of target ``(node, provider)`` in ``req.sinks`` (``None`` if absent).

    Parameters
    ----------
    req : Request
        The request whose sinks are searched.
    node : node id
        The node a route ends at.
    provider : str or None
        The provider a route names (``None`` for an ordinary request).

    Returns
    -------
    int or None
    """
    for t, sink in enumerate(req.sinks):
        if sink.node == node and sink.provider == provider:
            return t
    return None


def encode_plan(instance: Instance, plan: Plan) -> PlanArrays:
    """The arrays of one plan, requests in the instance's order.

    Parameters
    ----------
    instance : Instance
        The instance the plan is for.
    plan : Plan
        A plan whose shape :func:`route_violations` accepts.

    Returns
    -------
    PlanArrays
        One plan (``B = 1``); ``target`` only when the instance has requests with targets.

    Raises
    ------
    InputError
        The first of :func:`route_violations`, if any.
    """
    problems = route_violations(instance, plan)
    if problems:
        raise problems[0]
    by_id = {r.request_id: r for r in plan.routes}
    arcs: list[int] = []
    yr: list[float] = []
    zr: list[float] = []
    ptr = np.zeros(instance.n_requests + 1, dtype=np.int64)
    target = np.zeros(instance.n_requests, dtype=np.int64)
    index = instance.arc_index
    for f, req in enumerate(instance.requests):
        route = by_id[req.id]
        p = route.path
        arcs.extend(index[(p[i], p[i + 1])] for i in range(len(p) - 1))
        yr.extend(route.reserve_qkd)
        zr.extend(route.reserve_km)
        ptr[f + 1] = len(arcs)
        if req.targets:
            pos = target_position(req, p[-1], route.provider)
            assert pos is not None  # route_violations checked it
            target[f] = pos
    return PlanArrays(
        ptr,
        np.asarray(arcs, dtype=np.int64),
        np.asarray(yr, dtype=float),
        np.asarray(zr, dtype=float),
        instance.n_requests,
        target if instance.features & {"providers"} else None,
    )


def decode_plan(
    instance: Instance, arrays: PlanArrays, planner: str = "", stats: dict | None = None
) -> Plan:
    """The :class:`Plan` of one plan's arrays (reservations rounded to integers).

    Parameters
    ----------
    instance : Instance
        The instance the arrays encode a plan of.
    arrays : PlanArrays
        One plan (rows in the instance's request order), each row a non-empty route.
    planner : str, optional
        The plan's ``planner``.
    stats : dict, optional
        The plan's ``stats`` (copied).

    Returns
    -------
    Plan
        Routes in the instance's request order, each naming the provider of its chosen target.
    """
    tails = arc_table(instance).tail
    heads = arc_table(instance).head
    tgt = arrays.targets()
    routes = []
    for f, req in enumerate(instance.requests):
        lo, hi = arrays.ptr[f], arrays.ptr[f + 1]
        arcs = arrays.arcs[lo:hi]
        path = [instance.nodes[tails[arcs[0]]]] + [instance.nodes[heads[a]] for a in arcs]
        routes.append(
            Route(
                req.id,
                tuple(path),
                tuple(int(round(v)) for v in arrays.yr[lo:hi]),
                tuple(int(round(v)) for v in arrays.zr[lo:hi]),
                req.sinks[int(tgt[f])].provider,
            )
        )
    return Plan(instance.name, planner, tuple(routes), dict(stats or {}))


def stack_plans(batch: Sequence[PlanArrays]) -> PlanArrays:
    """Concatenate plans (same instance) into one batch.

    Parameters
    ----------
    batch : sequence of PlanArrays
        Plans of one instance (equal ``n_requests``), each possibly a batch itself.

    Returns
    -------
    PlanArrays
        Rows in the order given; ``target`` only when every plan carries one.

    Raises
    ------
    ValueError
        If ``batch`` is empty or its plans have different request counts.
    """
    if not batch:
        raise InputError("an empty batch")
    F = batch[0].n_requests
    ptrs, offset = [np.zeros(1, dtype=np.int64)], 0
    for pa in batch:
        if pa.n_requests != F:
            raise InputError("plans of different instances in one batch")
        ptrs.append(pa.ptr[1:] + offset)
        offset += int(pa.ptr[-1])
    target = None  # chosen targets only when every plan carries them (never filled in)
    if all(p.target is not None for p in batch):
        target = np.concatenate([p.targets() for p in batch])
    return PlanArrays(
        np.concatenate(ptrs),
        np.concatenate([p.arcs for p in batch]),
        np.concatenate([p.yr for p in batch]),
        np.concatenate([p.zr for p in batch]),
        F,
        target,
    )
