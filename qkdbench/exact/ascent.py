"""Maximising the Lagrangian dual: the deflected subgradient ascent and its best plan.

Each iteration evaluates the dual (:mod:`qkdbench.exact.dual`) and turns the
priced routing into a feasible plan (:mod:`qkdbench.exact.primal`); the
overview is :mod:`qkdbench.exact.lagrangian`.

Maximising the dual
-------------------
``L`` is concave and piecewise linear; ``g = usage(lam) - W`` (the reserved
wavelengths of the priced solution minus the capacity, per arc) is a
supergradient. We use a **projected, deflected subgradient method with the
Polyak step** ``t = theta (UB - L(lam)) / ||d||^2`` towards the best plan's
cost ``UB``, the direction ``d = g + beta d_prev`` deflected as in
Camerini, Fratta and Maffioli (``beta = -gamma g.d_prev / ||d_prev||^2``
when the two point against each other, else 0) and ``theta`` halved after
``patience`` iterations without a better bound. Why this and not a bundle
method: one evaluation of ``L`` costs milliseconds (a vectorised pricing and
a few dozen shortest-path trees) while a bundle method needs a quadratic
program over up to ``2A`` multipliers per step; the target ``UB`` is
available for free because the primal heuristic below runs at every
iteration, and the deflection removes most of the zig-zag between arcs that
trade load, which is what slows plain subgradient steps here. The method
starts from ``lam = 0`` (the capacity-free solution) and keeps the best
bound seen.

No step is random: ``seed`` is accepted for the planner protocol and changes
nothing. A run stopped by its iteration cap is deterministic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evaluation import PlanArrays, evaluate_batch
from ..evaluation.pricing import arc_table, provider_table
from ..exceptions import InputError
from ..model import Instance
from ..planning import build_ladders
from ..utils.gaps import relative_gap
from ..utils.jsonsafe import finite_or_none
from ..utils.timing import Stopwatch
from .dual import _evaluate_dual, _network, priced_curves
from .primal import _fit_providers, _plan_cost, _repair

__all__ = ["BOUND_SOURCE", "LagrangianResult", "lagrangian_bound"]

#: How a bound from this module is labelled (``plan.stats["bound_source"]``).
BOUND_SOURCE = "lagrangian"


@dataclass(frozen=True, eq=False)
class LagrangianResult:
    """The outcome of :func:`lagrangian_bound`.

    Attributes
    ----------
    bound : float
        The best ``L(lam)`` found: a valid lower bound on the optimum.
    bound_source : str
        ``"lagrangian"``.
    iterations : int
        Evaluations of ``L``.
    lam_qkd, lam_kml : ndarray (A,)
        The prices of the best bound.
    plan : PlanArrays or None
        The cheapest feasible plan found by the primal heuristic.
    cost : float
        Its expected cost (evaluator), ``inf`` without a plan.
    gap : float
        Certified relative gap ``(cost - bound) / cost`` (0 when both are 0).
    stop : str
        ``"proven"`` (plan cost meets the bound), ``"stationary"`` (a zero
        projected supergradient: the dual optimum), ``"step"`` (the step
        size fell below its floor), ``"iterations"`` or ``"time_limit"``.
    runtime_s, setup_s : float
        Seconds in all, and for reading the curves and ladders.
    history : list of tuple
        ``(iteration, L(lam), best bound, best cost)`` per iteration.
    columns : list of tuple
        Per request, the distinct priced paths (arc-id tuples) seen, in order.
    mu : ndarray (providers,)
        The provider prices of the best bound (0 for providers without a
        capacity).
    """

    bound: float
    bound_source: str
    iterations: int
    lam_qkd: np.ndarray
    lam_kml: np.ndarray
    plan: PlanArrays | None
    cost: float
    gap: float
    stop: str
    runtime_s: float
    setup_s: float
    history: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    mu: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def lam_km(self) -> np.ndarray:
        """The former name of :attr:`lam_kml`, kept for existing code."""
        return self.lam_kml

    def to_dict(self) -> dict[str, Any]:
        """The scalar facts, as plain JSON values (``inf`` and ``nan`` become ``None``).

        Returns
        -------
        dict
            ``bound``, ``bound_source``, ``iterations``, ``cost``, ``gap``,
            ``stop``, ``runtime_s`` and ``setup_s``.
        """
        num = finite_or_none
        return {
            "bound": num(self.bound),
            "bound_source": self.bound_source,
            "iterations": self.iterations,
            "cost": num(self.cost),
            "gap": num(self.gap),
            "stop": self.stop,
            "runtime_s": self.runtime_s,
            "setup_s": self.setup_s,
        }


def lagrangian_bound(
    instance: Instance,
    *,
    iterations: int = 2000,
    time_limit: float | None = None,
    theta: float = 1.0,
    patience: int = 20,
    gamma: float = 1.5,
    min_theta: float = 1e-5,
    tol: float = 1e-9,
    callback: Callable[[int, float, float], None] | None = None,
    clock: Stopwatch | None = None,
) -> LagrangianResult:
    """Maximise the Lagrangian dual of the capacity rows; keep the best bound and plan.

    Parameters
    ----------
    instance : Instance
    iterations : int
        Most evaluations of ``L`` (at least one always runs).
    time_limit : float, optional
        Seconds for the whole call, setup included; the clock is read before
        every iteration after the first.
    theta : float
        Initial Polyak step factor (in ``(0, 2]``).
    patience : int
        Iterations without a better bound after which ``theta`` is halved.
    gamma : float
        Deflection strength (0 turns deflection off: plain projected subgradient).
    min_theta : float
        Stop when ``theta`` falls below this.
    tol : float
        Stop (``"proven"``) once ``cost - bound <= tol * cost``.
    callback : callable, optional
        Called as ``callback(iteration, bound, cost)`` after each iteration.
    clock : Stopwatch, optional
        A running clock to charge (overrides ``time_limit``).

    Returns
    -------
    LagrangianResult

    Raises
    ------
    ValueError
        If ``iterations < 1``.

    Examples
    --------
    >>> from qkdbench.model import Params
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 8, 4, seed=1, params=Params(W_qkd=20, W_kml=6))
    >>> res = lagrangian_bound(inst, iterations=200)
    >>> res.bound_source, res.bound <= res.cost, res.gap < 0.05
    ('lagrangian', True, True)
    """
    if iterations < 1:
        raise InputError(f"iterations must be at least 1, got {iterations}")
    clock = clock or Stopwatch(time_limit)
    start = time.perf_counter()
    arcs = arc_table(instance)
    A = arcs.n
    cur = priced_curves(instance)
    net = _network(instance, cur.group)
    reps = instance.with_requests([instance.requests[f] for f in cur.representative])
    ladders = build_ladders(reps)
    setup_s = time.perf_counter() - start
    pt = provider_table(instance)
    capped = np.flatnonzero(pt.capacity >= 0)  # priced provider capacity rows
    mu = np.zeros(len(pt.ids))
    lam = np.zeros(2 * A + capped.size)
    best_bound, best_lam = -math.inf, lam.copy()
    best_cost, best_plan = math.inf, None
    d_prev: np.ndarray | None = None
    last_key: tuple[bytes, bytes] | None = None
    columns: list[dict[tuple, None]] = [{} for _ in range(instance.n_requests)]
    stall, it, stop = 0, 0, "iterations"
    history: list[tuple[int, float, float, float]] = []
    while it < iterations:
        if it > 0 and clock.expired():
            stop = "time_limit"
            break
        it += 1
        mu[capped] = lam[2 * A :]
        point = _evaluate_dual(instance, cur, net, lam[:A], lam[A : 2 * A], mu)
        if it == 1 or point.value > best_bound + 1e-12 * abs(best_bound):
            best_bound, best_lam = point.value, lam.copy()
            stall = 0
        else:
            stall += 1
        routing = _fit_providers(instance, net, point)
        key = (routing.arcs.tobytes(), routing.targets().tobytes())
        if last_key is None or key != last_key:
            last_key, last_arcs = key, routing.arcs  # same paths, same repaired plan
            rptr = routing.ptr
            for f in range(instance.n_requests):
                columns[f].setdefault(tuple(last_arcs[rptr[f] : rptr[f + 1]].tolist()), None)
            plan = _repair(instance, ladders, cur.group, routing)
            cost = _plan_cost(instance, plan)
            if cost < best_cost:
                best_cost, best_plan = cost, plan
        history.append((it, point.value, best_bound, best_cost))
        if callback is not None:
            callback(it, best_bound, best_cost)
        if best_cost - best_bound <= tol * abs(best_cost):
            stop = "proven"
            break
        g = np.concatenate(
            (point.subgradient_qkd, point.subgradient_kml, point.subgradient_provider[capped])
        )
        g[(lam <= 0) & (g < 0)] = 0.0  # projected: these components cannot move
        if not np.any(g):
            stop = "stationary"
            break
        if stall >= patience:
            theta *= 0.5
            stall = 0
            lam = best_lam.copy()  # restart from the best prices with shorter steps
            d_prev = None
            if theta < min_theta:
                stop = "step"
                break
            continue
        d = g
        if gamma > 0 and d_prev is not None:
            dot = float(g @ d_prev)
            if dot < 0:
                d = g - gamma * dot / float(d_prev @ d_prev) * d_prev
        step = theta * (best_cost - point.value) / float(d @ d)
        lam = np.maximum(0.0, lam + step * d)
        d_prev = d
    if best_plan is not None and instance.n_requests:
        best_cost = float(evaluate_batch(instance, best_plan).total[0])  # the evaluator's sum
    runtime = time.perf_counter() - start
    best_mu = np.zeros(len(pt.ids))
    best_mu[capped] = best_lam[2 * A :]
    return LagrangianResult(
        best_bound,
        BOUND_SOURCE,
        it,
        best_lam[:A].copy(),
        best_lam[A : 2 * A].copy(),
        best_plan,
        best_cost,
        relative_gap(best_cost, best_bound),
        stop,
        runtime,
        setup_s,
        history,
        [tuple(c) for c in columns],
        best_mu,
    )
