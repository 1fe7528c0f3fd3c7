"""Column generation for the linking bound, and the strongest bound qkdbench computes.

:func:`linking_bound` maximises the linking relaxation's Lagrangian (stated in
:mod:`qkdbench.exact.linking`) by column generation over paths: the master LP
of :mod:`qkdbench.exact.linking_master` gives prices, the pricing of
:mod:`qkdbench.exact.linking_dual` evaluates the Lagrangian there and finds the
columns to add. :func:`best_bound` runs the capacity Lagrangian first and this
one on instances with fixed charges, and keeps the best of both.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evaluation import PlanArrays, evaluate_batch, pair_costs
from ..evaluation.pricing import fixed_charges, provider_table
from ..model import Instance
from ..utils.gaps import relative_gap
from ..utils.jsonsafe import finite_or_none
from ..utils.timing import Stopwatch
from .linking_dual import BOUND_SOURCE, LinkingPrices, _data, _price
from .linking_master import _Master

__all__ = ["BestBound", "LinkingBoundResult", "best_bound", "linking_bound"]


@dataclass(frozen=True, eq=False)
class LinkingBoundResult:
    """The outcome of :func:`linking_bound`.

    Attributes
    ----------
    bound : float
        The best Lagrangian value found: a valid lower bound on the optimum.
    bound_source : str
        ``"linking-lagrangian"``.
    lp_value : float
        The last restricted master's value (the strong LP relaxation once
        ``stop == "converged"``; not itself certified).
    iterations : int
        Pricing rounds.
    columns : int
        Path columns in the final master.
    stop : str
        ``"converged"`` (no column prices out: the bound is the strong LP
        relaxation), ``"infeasible"`` (converged, but even the relaxation
        needs more capacity than the arcs have: no plan exists; the bound
        stays valid), ``"gap"`` (the bound met ``target`` within ``tol``),
        ``"iterations"`` or ``"time_limit"``.
    runtime_s : float
        Seconds in all.
    history : list of tuple
        ``(seconds, iteration, bound, lp_value)`` per round.
    link_open : ndarray (L,)
        The master's last value of each link's relaxed opening (1 for links
        without a charge that some column uses, 0 for unused ones).
    plan : PlanArrays or None
        With ``primal_time``: the best plan of the restricted master solved as
        a MIP (each request one known column, links and nodes opened whole).
    cost : float
        Its expected cost by the evaluator (``inf`` without a plan).
    prices : LinkingPrices or None
        The prices of the best bound (for :func:`linking_keep`).
    """

    bound: float
    bound_source: str
    lp_value: float
    iterations: int
    columns: int
    stop: str
    runtime_s: float
    history: list[tuple[float, int, float, float]] = field(default_factory=list)
    link_open: np.ndarray = field(default_factory=lambda: np.zeros(0))
    plan: PlanArrays | None = None
    cost: float = math.inf
    prices: LinkingPrices | None = None

    def to_dict(self) -> dict[str, Any]:
        """The scalar facts as plain JSON values.

        Returns
        -------
        dict
            ``bound``, ``bound_source``, ``lp_value``, ``iterations``,
            ``columns``, ``stop`` and ``runtime_s``.
        """
        return {
            "bound": self.bound,
            "bound_source": self.bound_source,
            "lp_value": self.lp_value,
            "iterations": self.iterations,
            "columns": self.columns,
            "stop": self.stop,
            "runtime_s": self.runtime_s,
        }


def _plan_columns(
    instance: Instance, plan: PlanArrays
) -> list[tuple[int, np.ndarray, int, np.ndarray, np.ndarray, float]]:
    pt = provider_table(instance)
    F = instance.n_requests
    seg = np.repeat(np.arange(F), np.diff(plan.ptr[: F + 1]))
    n = int(plan.ptr[F])
    cy, cz = pair_costs(instance, seg, plan.arcs[:n], plan.yr[:n], plan.zr[:n])
    per = np.bincount(seg, weights=cy + cz, minlength=F)
    tg = plan.targets()[:F]
    out = []
    for f in range(F):
        sl = slice(plan.ptr[f], plan.ptr[f + 1])
        cost = float(per[f] + pt.service_cost[pt.ptr[f] + tg[f]])
        out.append((f, plan.arcs[sl], int(tg[f]), plan.yr[sl], plan.zr[sl], cost))
    return out


def linking_bound(
    instance: Instance,
    *,
    plans: Sequence[PlanArrays] = (),
    target: float | None = None,
    tol: float = 1e-6,
    iterations: int = 500,
    time_limit: float | None = None,
    clock: Stopwatch | None = None,
    callback: Callable[[float, int, float], None] | None = None,
    primal_time: float | None = None,
    mip_share: float = 1.0,
) -> LinkingBoundResult:
    """Maximise the strong linking relaxation's Lagrangian by column generation.

    Parameters
    ----------
    instance : Instance
        The instance (fixed charges, capacities, providers, link states and
        node charges all allowed).
    plans : sequence of PlanArrays
        Feasible plans whose routes seed the master (optional; speeds it up).
    target : float, optional
        A known plan cost: stop once ``target - bound <= tol * target``.
    tol : float
        Relative tolerance of convergence and of ``target``.
    iterations : int
        Most pricing rounds (at least one always runs).
    time_limit : float, optional
        Seconds for the whole call; read before every round after the first.
    clock : Stopwatch, optional
        A running clock to charge (overrides ``time_limit``).
    callback : callable, optional
        Called as ``callback(seconds, iteration, bound)`` after every round.
    primal_time : float, optional
        Seconds for solving the final restricted master as a MIP (a plan);
        default none (bound only).
    mip_share : float
        With a time limit, the MIP takes at most this share of what is left
        (and at most ``primal_time``).

    Returns
    -------
    LinkingBoundResult

    Raises
    ------
    ValueError
        If ``iterations`` is below 1.

    Examples
    --------
    >>> from qkdbench.topologies import design_instance
    >>> inst = design_instance("nsfnet", 8, max_rate=4, seed=1, fixed_charge_factor=3.0)
    >>> res = linking_bound(inst)
    >>> res.bound_source, res.stop
    ('linking-lagrangian', 'converged')
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    clock = clock or Stopwatch(time_limit)
    start = time.perf_counter()
    d = _data(instance)
    F, A = instance.n_requests, d.head.size
    zero_a = np.zeros(A)
    pt = provider_table(instance)
    rho = np.zeros(len(pt.ids))
    mu = np.zeros((F, d.link_charge.size))
    nu = np.zeros((F, d.n_nodes))
    first = _price(instance, d, zero_a, zero_a, rho, mu, nu)
    best = first.value
    best_prices = LinkingPrices(zero_a, zero_a, rho, mu, nu)
    history: list[tuple[float, int, float, float]] = []
    if F == 0:
        return LinkingBoundResult(
            best, BOUND_SOURCE, best, 1, 0, "converged", time.perf_counter() - start, history
        )
    scale = max(float(first.cost.max()), 1.0)
    master = _Master(instance, d, scale)
    for warm in plans:
        for col in _plan_columns(instance, warm):
            master.add(*col)
    point, it, stop, lp = first, 1, "iterations", math.nan
    while True:
        r = point.routing
        added = 0
        for f in range(F):
            sl = slice(r.ptr[f], r.ptr[f + 1])
            tg = int(r.targets()[f])
            added += master.add(f, r.arcs[sl], tg, r.yr[sl], r.zr[sl], float(point.cost[f]))
        lp, dual = master.solve()
        history.append((time.perf_counter() - start, it, best, lp))
        if callback is not None:
            callback(time.perf_counter() - start, it, best)
        if lp - best <= tol * abs(lp):
            if not (master.slack_used() and master.raise_penalty()):
                stop = "converged" if not master.slack_used() else "infeasible"
                break
            lp, dual = master.solve()
        if target is not None and target - best <= tol * abs(target):
            stop = "gap"
            break
        if it >= iterations:
            break
        if clock.expired():
            stop = "time_limit"
            break
        lam_q, lam_k, rho, mu, nu = master.prices(dual)
        point = _price(instance, d, lam_q, lam_k, rho, mu, nu)
        it += 1
        if point.value > best:
            best = point.value
            best_prices = LinkingPrices(lam_q, lam_k, rho, mu, nu)
    sol = np.asarray(master.h.getSolution().col_value)
    link_open = np.zeros(d.link_charge.size)
    for lk, c in master.u_col.items():
        link_open[lk] = sol[c]
    plan: PlanArrays | None = None
    cost = math.inf
    if primal_time is not None:
        left = clock.remaining
        rest = primal_time if left is None else min(primal_time, mip_share * left)
        if rest > 0:
            plan = master.integer_plan(rest)
        if plan is not None:
            cost = float(evaluate_batch(instance, plan).total[0])
    return LinkingBoundResult(
        best,
        BOUND_SOURCE,
        lp,
        it,
        len(master.col_info),
        stop,
        time.perf_counter() - start,
        history,
        link_open,
        plan,
        cost,
        best_prices,
    )


@dataclass(frozen=True, eq=False)
class BestBound:
    """The strongest lower bound qkdbench computes for an instance, and the best plan met.

    Attributes
    ----------
    bound : float
        The larger of the capacity Lagrangian bound and, on instances with
        fixed charges, the linking bound.
    bound_source : str
        Where ``bound`` comes from: ``"lagrangian"`` or ``"linking-lagrangian"``.
    bounds : dict
        Every bound computed, by source.
    plan : PlanArrays or None
        The cheapest feasible plan either method found.
    cost : float
        Its expected cost by the evaluator (``inf`` without one).
    gap : float
        Certified ``(cost - bound) / cost``.
    iterations : int
        Dual iterations plus pricing rounds.
    stop : str
        Why the last method stopped.
    runtime_s : float
        Seconds in all.
    """

    bound: float
    bound_source: str
    bounds: dict[str, float]
    plan: PlanArrays | None
    cost: float
    gap: float
    iterations: int
    stop: str
    runtime_s: float

    def to_dict(self) -> dict[str, Any]:
        """The scalar facts as plain JSON values (``inf`` and ``nan`` become ``None``).

        Returns
        -------
        dict
            ``bound``, ``bound_source``, ``bounds``, ``cost``, ``gap``,
            ``iterations``, ``stop`` and ``runtime_s``.
        """
        num = finite_or_none
        return {
            "bound": num(self.bound),
            "bound_source": self.bound_source,
            "bounds": {k: num(v) for k, v in self.bounds.items()},
            "cost": num(self.cost),
            "gap": num(self.gap),
            "iterations": self.iterations,
            "stop": self.stop,
            "runtime_s": self.runtime_s,
        }


def best_bound(
    instance: Instance,
    *,
    iterations: int = 2000,
    time_limit: float | None = None,
    linking: bool | None = None,
    rounds: int = 500,
    mip_share: float = 0.5,
    mip_seconds: float = 60.0,
) -> BestBound:
    """The capacity Lagrangian bound, then (with fixed charges) the linking bound; the best.

    Parameters
    ----------
    instance : Instance
        The instance.
    iterations : int
        Most dual iterations of the capacity Lagrangian
        (:func:`~qkdbench.exact.ascent.lagrangian_bound`).
    time_limit : float, optional
        Seconds for both together.
    linking : bool, optional
        Whether to run the linking bound (:func:`linking_bound`); default only
        when the instance has fixed charges (without them it equals the best
        capacity Lagrangian bound, but its MIP may still find a better plan).
    rounds : int
        Most pricing rounds of the column generation.
    mip_share : float
        Share of the time left after the column generation for the
        restricted-master MIP.
    mip_seconds : float
        Seconds for that MIP without a time limit.

    Returns
    -------
    BestBound

    Examples
    --------
    >>> from qkdbench.topologies import design_instance
    >>> inst = design_instance("nsfnet", 8, max_rate=4, seed=1, fixed_charge_factor=3.0)
    >>> res = best_bound(inst, iterations=100)
    >>> res.bound_source, res.bound >= res.bounds["lagrangian"]
    ('linking-lagrangian', True)
    """
    from .ascent import lagrangian_bound

    clock = Stopwatch(time_limit)
    first = lagrangian_bound(instance, iterations=iterations, clock=clock)
    bounds = {first.bound_source: first.bound}
    bound, source, plan, cost = first.bound, first.bound_source, first.plan, first.cost
    its, stop = first.iterations, first.stop
    if linking is None:
        linking = fixed_charges(instance).active
    if linking and instance.n_requests and not clock.expired():
        res = linking_bound(
            instance,
            plans=[plan] if plan is not None else [],
            target=cost,
            tol=1e-9,
            iterations=rounds,
            clock=clock,
            primal_time=mip_seconds,
            mip_share=mip_share,
        )
        bounds[res.bound_source] = res.bound
        its, stop = its + res.iterations, res.stop
        if res.bound > bound:
            bound, source = res.bound, res.bound_source
        if res.plan is not None and res.cost < cost:
            plan, cost = res.plan, res.cost
    return BestBound(
        bound, source, bounds, plan, cost, relative_gap(cost, bound), its, stop, clock.elapsed
    )
