"""Score plans: the expected deployment cost of docs/model.md, its breakdown and feasibility.

Every planner, the exact solver and every report reads its costs from here.

Examples
--------
>>> from qkdbench.model import Instance, Link, Request, Demand, Plan, Route
>>> inst = Instance((1, 2), (Link(1, 2, 100.0),), (Request("f0", 1, 2, Demand.point(1.0)),))
>>> plan = Plan(inst.name, "hand", (Route("f0", (1, 2), (3,), (1,)),))
>>> ev = evaluate(inst, plan)
>>> ev.feasible, round(ev.total, 6) == round(ev.first_stage + ev.second_stage, 6)
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..exceptions import InputError
from ..model import COMPONENTS, PHASE_NAMES, PHASES, Instance, Plan
from ..utils.jsonsafe import finite_or_none
from . import coupled_kernels, kernels
from .encoding import PlanArrays, encode_plan, route_violations, stack_plans
from .pricing import arc_table, fixed_charges, provider_table, scenario_table, support_table

__all__ = [
    "Evaluation",
    "plan_fixed_charges",
    "plan_service",
    "BatchScores",
    "evaluate",
    "evaluate_arrays",
    "evaluate_batch",
    "pair_costs",
    "reservation_violations",
]

_WAVELENGTH_KEYS = (
    "reserved_qkd",
    "used_qkd",
    "on_demand_qkd",
    "reserved_km",
    "used_km",
    "on_demand_km",
)


@dataclass(frozen=True)
class Evaluation:
    """The evaluator's verdict on one plan.

    Attributes
    ----------
    total : float
        Expected deployment cost (``inf`` if the plan's routes cannot be costed).
    first_stage : float
        Reservation cost plus route (hop) cost plus fixed charges.
    second_stage : float
        Expected cost of using reserved wavelengths and buying on-demand ones (and, on a
        coupled instance, of the shortfall).
    feasible : bool
    violations : tuple of str
        Each names the place in the plan and the problem.
    components : dict
        Cost per component ``tx, rx, km, si, md, ch, hop`` (all phases), and for
        an instance that uses an extension: ``site`` (link fixed charges),
        ``node`` (node fixed charges), ``unit`` (wavelengths on links priced
        by their ``unit_costs``, all phases), ``service`` (service costs
        of the chosen targets) and ``shortfall`` (on a coupled instance: wavelengths
        neither reserved nor available on demand, at ``shortfall_factor`` times the
        on-demand price).
    phases : dict
        Cost per phase: ``reservation``, ``reserved_use`` (using reserved
        wavelengths, expected) and ``on_demand`` (expected), and ``shortfall`` on a
        coupled instance; ``hop``, ``site``, ``node`` and ``service`` are first-stage
        costs outside the phases.
    phase_components : dict
        ``phase_components[phase][comp]``, phases named as in ``phases``.
    wavelengths : dict
        Totals over arcs: ``reserved_qkd``, ``used_qkd`` (expected),
        ``on_demand_qkd`` (expected), and the same for ``km``; on a coupled instance
        also ``shortfall_qkd`` and ``shortfall_km`` (expected).
    request_costs : tuple of float
        Expected cost per request, in the instance's order, with its service
        cost, without fixed charges (shared by the requests, they belong to no
        single one). On a coupled instance a request's share of an arc's on-demand
        and shortfall cost in a scenario is in proportion to its residual there.
    served : dict
        Requests each provider serves (empty for an instance without targets).
    """

    total: float
    first_stage: float
    second_stage: float
    feasible: bool
    violations: tuple[str, ...]
    components: Mapping[str, float] = field(default_factory=dict)
    phases: Mapping[str, float] = field(default_factory=dict)
    phase_components: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    wavelengths: Mapping[str, float] = field(default_factory=dict)
    request_costs: tuple[float, ...] = ()
    served: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (``inf`` becomes ``None``).

        Returns
        -------
        dict
            Every attribute but ``request_costs``; ``served`` only when not empty.
        """
        num = finite_or_none
        return {
            "total": num(self.total),
            "first_stage": num(self.first_stage),
            "second_stage": num(self.second_stage),
            "feasible": self.feasible,
            "violations": list(self.violations),
            "components": {k: num(v) for k, v in self.components.items()},
            "phases": {k: num(v) for k, v in self.phases.items()},
            "phase_components": {
                ph: {k: num(v) for k, v in d.items()} for ph, d in self.phase_components.items()
            },
            "wavelengths": {k: num(v) for k, v in self.wavelengths.items()},
            **({"served": dict(self.served)} if self.served else {}),
        }


@dataclass(frozen=True, eq=False)
class BatchScores:
    """Scores of a batch of plans.

    Attributes
    ----------
    total, first_stage, second_stage : ndarray (B,)
    excess : ndarray (B,)
        Reserved wavelengths over capacity plus negative reservations; 0 when
        the plan respects every capacity.
    feasible : ndarray (B,) bool
        ``excess == 0`` and all reservations integral.
    """

    total: np.ndarray
    first_stage: np.ndarray
    second_stage: np.ndarray
    excess: np.ndarray
    feasible: np.ndarray


#: The instance's arrays every kernel takes after the plan's own (``lptr`` to ``hop``).
_KernelData = tuple[
    NDArray[np.int64],  # lptr
    NDArray[np.int64],  # links
    NDArray[np.float64],  # survival
    NDArray[np.float64],  # partial_links
    NDArray[np.int64],  # used_ptr
    NDArray[np.float64],  # used_table
    NDArray[np.float64],  # mean_links
    NDArray[np.int64],  # arc_class
    NDArray[np.float64],  # c_y
    NDArray[np.float64],  # c_z
    NDArray[np.float64],  # hop
]


def _kernel_data(instance: Instance) -> _KernelData:
    s = support_table(instance)
    a = arc_table(instance)
    return (
        s.lptr,
        s.links,
        s.survival,
        s.partial_links,
        s.used_ptr,
        s.used_table,
        s.mean_links,
        s.arc_class,
        a.c_y,
        a.c_z,
        a.hop,
    )


#: The coupled kernels' instance arrays after the plan's own (``probs`` to ``phi``).
_CoupledData = tuple[
    NDArray[np.float64],  # probs
    NDArray[np.float64],  # kappa
    NDArray[np.float64],  # rate
    NDArray[np.float64],  # c_y
    NDArray[np.float64],  # c_z
    NDArray[np.float64],  # hop
    NDArray[np.float64],  # cap_y
    NDArray[np.float64],  # cap_z
    NDArray[np.bool_],  # use_y
    NDArray[np.bool_],  # use_z
    float,  # phi
]


def _coupled_data(instance: Instance) -> _CoupledData:
    t = scenario_table(instance)
    a = arc_table(instance)
    return (
        t.probs,
        t.kappa,
        t.rate,
        a.c_y,
        a.c_z,
        a.hop,
        t.cap_y,
        t.cap_z,
        t.use_y,
        t.use_z,
        t.phi,
    )


def plan_fixed_charges(instance: Instance, arcs: np.ndarray) -> tuple[float, float]:
    """Link and node fixed charges of a plan whose routes use the arc ids ``arcs``.

    Parameters
    ----------
    instance : Instance
    arcs : array of int
        Arc ids of every route of the plan (repeats allowed).

    Returns
    -------
    site, node : float
        ``sum F_l`` over links with an arc in ``arcs``; ``sum G_n`` over the
        tails and heads of those arcs (every node a route touches).

    Examples
    --------
    >>> from qkdbench.model import CostTable, Instance, Link
    >>> inst = Instance((1, 2, 3), (Link(1, 2, 200.0), Link(2, 3, 100.0)),
    ...                 costs=CostTable(site=1.0), node_fixed_costs={3: 2.0})
    >>> plan_fixed_charges(inst, np.array([0, 1]))  # both arcs of link 1-2: 3 sites
    (3.0, 0.0)
    """
    fc = fixed_charges(instance)
    used = np.unique(np.asarray(arcs, dtype=np.int64))
    if not fc.active or used.size == 0:
        return 0.0, 0.0
    a = arc_table(instance)
    nodes = np.unique(np.concatenate([a.tail[used], a.head[used]]))
    return float(math.fsum(fc.link[np.unique(used // 2)])), float(math.fsum(fc.node[nodes]))


def _target_positions(instance: Instance, arrays: PlanArrays) -> np.ndarray:
    """Position of every row's chosen target in ``provider_table(instance)``.

    Raises
    ------
    InputError
        If the arrays carry no targets, a target position is out of range, or a
        route does not end at its chosen target's node: encoded plans are
        checked, never scored on a guess.
    """
    pt = provider_table(instance)
    F = instance.n_requests
    if arrays.target is None:
        raise InputError(
            "plan arrays for an instance whose requests have targets must "
            "carry each request's chosen target (PlanArrays.target)"
        )
    rows = arrays.ptr.size - 1
    t = np.asarray(arrays.target, dtype=np.int64)
    if t.shape != (rows,):
        raise InputError(
            f"PlanArrays.target has shape {t.shape}, expected ({rows},): one chosen target per row"
        )
    f = np.arange(rows) % F
    count = np.diff(pt.ptr)[f]
    bad = (t < 0) | (t >= count)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"row {r}: target position {int(t[r])} of request "
            f"{instance.requests[f[r]].id!r}, which has {int(count[r])}"
        )
    pos = pt.ptr[f] + t
    length = np.diff(arrays.ptr)
    end = np.full(rows, -1, dtype=np.int64)
    has = length > 0
    end[has] = arc_table(instance).head[arrays.arcs[arrays.ptr[1:][has] - 1]]
    wrong = end != pt.node[pos]
    if wrong.any():
        r = int(np.flatnonzero(wrong)[0])
        raise InputError(
            f"row {r}: the route of request {instance.requests[f[r]].id!r} does "
            "not end at the node of its chosen target"
        )
    return pos


def plan_service(instance: Instance, arrays: PlanArrays) -> tuple[np.ndarray, np.ndarray]:
    """Service cost per request and requests served per provider, of one encoded plan.

    Parameters
    ----------
    instance : Instance
        An instance whose requests may have targets.
    arrays : PlanArrays
        One encoded plan, with its chosen targets when the instance has targets.

    Returns
    -------
    service : ndarray (F,)
        Service cost of each request's chosen target (0 for an ordinary request).
    served : ndarray (P,) int64
        Requests each provider serves (providers in ``provider_table(instance).ids`` order).

    Raises
    ------
    InputError
        If the arrays carry no chosen targets though the instance has targets, a target
        position is out of range, or a route does not end at its chosen target's node.
    """
    pt = provider_table(instance)
    pos = _target_positions(instance, arrays)[: instance.n_requests]
    prov = pt.provider[pos]
    served = np.bincount(prov[prov >= 0], minlength=len(pt.ids)).astype(np.int64)
    return pt.service_cost[pos], served


def reservation_violations(
    instance: Instance, arrays: PlanArrays, plan: Plan | None = None
) -> list[str]:
    """Reservation problems of one encoded plan: negative, fractional, over capacity.

    Parameters
    ----------
    instance : Instance
        The instance the plan is for.
    arrays : PlanArrays
        One encoded plan.
    plan : Plan, optional
        The plan the arrays encode; with it, places name its route positions
        (``requests[k]``), without it the instance's request positions.

    Returns
    -------
    list of str
        At most 20 per reservation list for negative or fractional values, then one per
        arc over a capacity and one per provider over its capacity.
    """
    out: list[str] = []
    ids = [r.id for r in instance.requests]
    place_of = {}
    if plan is not None:
        place_of = {r.request_id: k for k, r in enumerate(plan.routes)}
    for key, vals in (("reserve_qkd", arrays.yr), ("reserve_km", arrays.zr)):
        bad = np.flatnonzero((vals < 0) | (vals != np.round(vals)))
        for pos in bad[:20]:
            f = int(np.searchsorted(arrays.ptr, pos, side="right") - 1)
            i = int(pos - arrays.ptr[f])
            k = place_of.get(ids[f], f)
            what = "negative" if vals[pos] < 0 else "not an integer"
            out.append(f"requests[{k}].{key}[{i}]: reservation {float(vals[pos]):g} is {what}")
    arcs = arc_table(instance)
    used_y = np.bincount(arrays.arcs, weights=arrays.yr, minlength=arcs.n)
    used_z = np.bincount(arrays.arcs, weights=arrays.zr, minlength=arcs.n)
    for name, used, cap in (("QKD", used_y, arcs.W_qkd), ("KM", used_z, arcs.W_kml)):
        for a in np.flatnonzero(used > cap + 1e-9):
            u, v = instance.nodes[arcs.tail[a]], instance.nodes[arcs.head[a]]
            out.append(
                f"arc {u!r}->{v!r}: {used[a]:g} {name} wavelengths reserved, capacity {int(cap[a])}"
            )
    pt = provider_table(instance)
    if pt.active:
        _, served = plan_service(instance, arrays)
        for j in np.flatnonzero((pt.capacity >= 0) & (served > pt.capacity)):
            out.append(
                f"provider {pt.ids[j]!r}: serves {int(served[j])} requests, "
                f"capacity {int(pt.capacity[j])}"
            )
    return out


def evaluate_arrays(instance: Instance, arrays: PlanArrays, plan: Plan | None = None) -> Evaluation:
    """Score one encoded plan (see :func:`evaluate`).

    Parameters
    ----------
    instance : Instance
        The instance the arrays encode a plan of.
    arrays : PlanArrays
        One plan whose shape is valid (as :func:`~qkdbench.evaluation.encoding.encode_plan`
        gives it).
    plan : Plan, optional
        The plan the arrays encode, to place its violations (see
        :func:`reservation_violations`).

    Returns
    -------
    Evaluation
    """
    a = arc_table(instance)
    if instance.is_coupled:
        q, req_cost = coupled_kernels.coupled_detail(
            arrays.ptr, arrays.arcs, arrays.yr, arrays.zr, a.n, *_coupled_data(instance)
        )
    else:
        q, req_cost = kernels.score_detail(
            arrays.ptr, arrays.arcs, arrays.yr, arrays.zr, a.n, *_kernel_data(instance)
        )
    costs = instance.costs
    # quantity rows per phase: QKD (reserved, used, on-demand) and KM likewise
    qy = {"r": q[kernels.R_Y], "e": q[kernels.E_Y], "o": q[kernels.O_Y]}
    qz = {"r": q[kernels.R_Z], "e": q[kernels.E_Z], "o": q[kernels.O_Z]}
    phase_components: dict[str, dict[str, float]] = {}
    pr = a.priced  # link prices: links priced per wavelength directly (component "unit")
    has_unit = bool(pr.any())
    comp_names = COMPONENTS + (("unit",) if has_unit else ())
    for i, (ph, name) in enumerate(zip(PHASES, PHASE_NAMES, strict=True)):
        table = getattr(costs, ph)
        phase_components[name] = {
            comp: float(table[comp] * (a.coef_y[c] @ qy[ph] + a.coef_z[c] @ qz[ph]))
            for c, comp in enumerate(COMPONENTS)
        }
        if has_unit:
            phase_components[name]["unit"] = float(
                a.c_y[i, pr] @ qy[ph][pr] + a.c_z[i, pr] @ qz[ph][pr]
            )
    hop_cost = float(a.hop @ q[kernels.HOPS])
    phases = {name: math.fsum(phase_components[name].values()) for name in PHASE_NAMES}
    components = {
        comp: math.fsum(phase_components[name][comp] for name in PHASE_NAMES) for comp in comp_names
    }
    components["hop"] = hop_cost
    first = phases["reservation"] + hop_cost
    if instance.uses_extensions:
        site, node = plan_fixed_charges(instance, arrays.arcs)
        components["site"] = site
        components["node"] = node
        first += site + node
    served_by: dict[str, int] = {}
    pt = provider_table(instance)
    if pt.active:  # providers
        service, served = plan_service(instance, arrays)
        components["service"] = math.fsum(service)
        first += components["service"]
        req_cost = req_cost + service
        served_by = {pid: int(n) for pid, n in zip(pt.ids, served, strict=True)}
    second = phases["reserved_use"] + phases["on_demand"]
    wavelengths = {key: float(q[i].sum()) for i, key in enumerate(_WAVELENGTH_KEYS)}
    if instance.is_coupled:  # wavelengths neither reserved nor available on demand
        phi = instance.params.shortfall_factor
        short_y = q[coupled_kernels.S_Y]
        short_z = q[coupled_kernels.S_Z]
        shortfall = float(phi * (a.c_y[2] @ short_y + a.c_z[2] @ short_z))
        components["shortfall"] = shortfall
        phases["shortfall"] = shortfall
        second += shortfall
        wavelengths["shortfall_qkd"] = float(short_y.sum())
        wavelengths["shortfall_km"] = float(short_z.sum())
    viol = tuple(reservation_violations(instance, arrays, plan))
    return Evaluation(
        first + second,
        first,
        second,
        not viol,
        viol,
        components,
        phases,
        phase_components,
        wavelengths,
        tuple(float(x) for x in req_cost),
        served_by,
    )


def evaluate(instance: Instance, plan: Plan) -> Evaluation:
    """Expected cost, breakdown and feasibility of a plan.

    Parameters
    ----------
    instance : Instance
    plan : Plan

    Returns
    -------
    Evaluation
        A plan whose routes are not simple source-target paths over existing
        arcs (or that misses a request) is returned with ``total = inf``,
        ``feasible = False`` and its violations; it is never scored as feasible.

    Examples
    --------
    >>> from qkdbench.topologies import load_topology, sample_requests
    >>> from qkdbench.heuristics import get_planner
    >>> inst = sample_requests(load_topology("usnet"), 5, max_rate=4, seed=0)
    >>> ev = evaluate(inst, get_planner("coqbn").plan(inst))
    >>> ev.feasible
    True
    """
    problems = route_violations(instance, plan)
    if problems:
        inf = math.inf
        return Evaluation(inf, inf, inf, False, tuple(str(p) for p in problems))
    return evaluate_arrays(instance, encode_plan(instance, plan), plan)


def evaluate_batch(
    instance: Instance, plans: PlanArrays | Sequence[Plan | PlanArrays]
) -> BatchScores:
    """Score many plans of one instance in one kernel call.

    Parameters
    ----------
    instance : Instance
    plans : PlanArrays or sequence of Plan / PlanArrays
        A batch already in CSR form (rows ``b * F + f``), or plans to encode.

    Returns
    -------
    BatchScores
        Totals agree with :func:`evaluate` plan by plan.

    Raises
    ------
    InputError
        If a :class:`Plan` in ``plans`` has routes that cannot be costed, or (for
        an instance whose requests have targets) if encoded plans carry no
        chosen targets or a route does not end at its chosen target's node.
    """
    if isinstance(plans, PlanArrays):
        batch = plans
    else:
        batch = stack_plans(
            [p if isinstance(p, PlanArrays) else encode_plan(instance, p) for p in plans]
        )
    F = instance.n_requests
    if F == 0:  # every plan is empty and costs nothing; a CSR batch cannot count them
        n = 0 if isinstance(plans, PlanArrays) else len(plans)
        z = np.zeros(n)
        return BatchScores(z, z, z, z, np.ones(n, bool))
    a = arc_table(instance)
    if instance.is_coupled:
        total, first, excess, fractional = coupled_kernels.coupled_batch(
            batch.ptr, batch.arcs, batch.yr, batch.zr, F, *_coupled_data(instance), a.W_qkd, a.W_kml
        )
    else:
        total, first, excess, fractional = kernels.score_batch(
            batch.ptr, batch.arcs, batch.yr, batch.zr, F, *_kernel_data(instance), a.W_qkd, a.W_kml
        )
    fc = fixed_charges(instance)
    if fc.active:  # fixed charges; the paper's model never pays for the marking
        site, node = kernels.fixed_batch(batch.ptr, batch.arcs, F, a.tail, a.head, fc.link, fc.node)
        total = total + site + node
        first = first + site + node
    pt = provider_table(instance)
    if pt.active:  # providers: service costs, and requests over a provider's capacity as excess
        B = (batch.ptr.size - 1) // F
        pos = _target_positions(instance, batch)
        service = pt.service_cost[pos].reshape(B, F).sum(axis=1)
        total = total + service
        first = first + service
        prov = pt.provider[pos].reshape(B, F)
        for i in np.flatnonzero(pt.capacity >= 0):
            excess = excess + np.maximum(0, (prov == i).sum(axis=1) - pt.capacity[i])
    return BatchScores(total, first, total - first, excess, (excess <= 0) & ~fractional)


def pair_costs(
    instance: Instance,
    requests: np.ndarray,
    arcs: np.ndarray,
    reserve_qkd: np.ndarray,
    reserve_km: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected cost of request ``requests[i]`` on arc ``arcs[i]`` with given reservations.

    Parameters
    ----------
    instance : Instance
    requests, arcs : array of int
        Request positions and arc ids, one pair per entry.
    reserve_qkd, reserve_km : array of float
        Reservations on those pairs.

    Returns
    -------
    qkd, kml : ndarray
        The QKD part (reservation + expected use + expected on-demand + the
        arc's route cost) and the KM part. A route's cost is the sum of both
        over its arcs; a plan's is the sum over its routes.

    Raises
    ------
    InputError
        On a coupled instance, where costs do not separate by (request, arc).
    """
    if instance.is_coupled:
        raise InputError(
            "costs per (request, arc) are not defined when the second stage is coupled: "
            "score whole plans"
        )
    req = np.ascontiguousarray(requests, dtype=np.int64)
    arc = np.ascontiguousarray(arcs, dtype=np.int64)
    y = np.ascontiguousarray(np.broadcast_to(np.asarray(reserve_qkd, float), arc.shape))
    z = np.ascontiguousarray(np.broadcast_to(np.asarray(reserve_km, float), arc.shape))
    req = np.ascontiguousarray(np.broadcast_to(req, arc.shape))
    return kernels.pair_costs(req, arc, y, z, *_kernel_data(instance))
