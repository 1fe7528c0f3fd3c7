"""SP measures that need no solver: scenario samples, EV instances, out-of-sample scores.

The solver-free half of the SP figures (the half that solves problems lives in
:mod:`qkdbench.exact.sp_figures`): seeded samples of *joint* scenarios (one key
rate per request, requests independent), the instances derived from them
(per-request empirical marginals, one scenario's point demands, mean
demands), and out-of-sample scoring of any plan, always through the one
evaluator.

A joint scenario sample scored on its per-request empirical marginals gives
the sample average of the per-scenario costs (docs/model.md, property 2); both
routes are available here and tested against each other.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> from qkdbench.heuristics import get_planner
>>> inst = make_instance("nsfnet", 4, 5, seed=3)
>>> plan = get_planner("coqbn").plan(inst)
>>> est = out_of_sample(inst, plan, n_scenarios=200, seed=1)
>>> est.n, est.lo <= est.mean <= est.hi
(200, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import Demand, Instance, Plan, Request, Route
from ..utils.jsonsafe import finite_or_none
from .evaluator import evaluate
from .sampling import sample_scenarios

__all__ = [
    "Estimate",
    "mean_ci",
    "t_quantile",
    "sample_scenarios",
    "empirical_instance",
    "scenario_instance",
    "mean_value_instance",
    "scenario_costs",
    "out_of_sample",
]


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its two-sided confidence interval (Student t).

    Attributes
    ----------
    mean, std : float
        Sample mean and standard deviation (``ddof=1``; 0 for one value).
    n : int
    half_width : float
        ``t_{(1+confidence)/2, n-1} * std / sqrt(n)`` (``inf`` for ``n = 1``
        unless all values agree).
    lo, hi : float
        ``mean -+ half_width``.
    confidence : float
    """

    mean: float
    std: float
    n: int
    half_width: float
    lo: float
    hi: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        num = finite_or_none
        return {"mean": num(self.mean), "std": num(self.std), "n": self.n,
                "half_width": num(self.half_width), "lo": num(self.lo), "hi": num(self.hi),
                "confidence": self.confidence}


def _t_two_sided(t: float, df: int) -> float:
    """``Pr(|T| <= t)`` for Student's t with integer ``df`` (closed form, A&S 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2:
        term, acc = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            acc += term
        return 2.0 / math.pi * (theta + (math.sin(theta) * math.cos(theta) * acc
                                          if df > 1 else 0.0))
    term, acc = 1.0, 1.0
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        acc += term
    return math.sin(theta) * acc


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom.

    Inverts the closed-form distribution function of integer ``df`` by
    bisection (to ``1e-12``).

    Examples
    --------
    >>> round(t_quantile(0.975, 1), 3), round(t_quantile(0.975, 2), 3)
    (12.706, 4.303)
    >>> round(t_quantile(0.975, 30), 3)
    2.042
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must lie in (0, 1), got {p}")
    if df < 1 or int(df) != df:
        raise ValueError(f"degrees of freedom must be a positive integer, got {df}")
    df = int(df)
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    target = 2.0 * p - 1.0
    lo, hi = 0.0, 1.0
    while _t_two_sided(hi, df) < target:
        hi *= 2.0
    while hi - lo > 1e-12 * max(1.0, hi):
        mid = 0.5 * (lo + hi)
        if _t_two_sided(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Estimate:
    """Mean and two-sided Student-t confidence interval of ``values``.

    Examples
    --------
    >>> e = mean_ci([1.0, 2.0, 3.0])
    >>> e.mean, round(e.half_width, 3)
    (2.0, 2.484)
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if not np.all(np.isfinite(x)):
        mean = float(x.mean()) if not np.any(np.isnan(x)) else math.nan
        return Estimate(mean, math.nan, int(x.size), math.inf, -math.inf, math.inf,
                        confidence)
    mean = float(x.mean())
    if x.size == 1:
        std = 0.0
        half = 0.0 if not math.isfinite(mean) else math.inf
    else:
        std = float(x.std(ddof=1))
        half = t_quantile(0.5 + confidence / 2.0, x.size - 1) * std / math.sqrt(x.size)
    return Estimate(mean, std, int(x.size), half, mean - half, mean + half, confidence)


def _check_scenarios(instance: Instance, scenarios: np.ndarray) -> np.ndarray:
    sc = np.asarray(scenarios, dtype=float)
    if sc.ndim != 2 or sc.shape[1] != instance.n_requests or sc.shape[0] == 0:
        raise ValueError(f"scenarios must have shape (n >= 1, {instance.n_requests}), "
                         f"got {sc.shape}")
    return sc


def empirical_instance(instance: Instance, scenarios: np.ndarray,
                       name: str | None = None) -> Instance:
    """The instance whose demands are the per-request empirical marginals of a sample."""
    sc = _check_scenarios(instance, scenarios)
    reqs = [Request(r.id, r.source, r.target, Demand.empirical(sc[:, f]))
            for f, r in enumerate(instance.requests)]
    return instance.with_requests(reqs, name or f"{instance.name}-empirical{sc.shape[0]}")


def scenario_instance(instance: Instance, scenario: Sequence[float] | np.ndarray,
                      name: str | None = None) -> Instance:
    """The instance of one joint scenario: every request's key rate known."""
    row = np.asarray(scenario, dtype=float).reshape(-1)
    if row.size != instance.n_requests:
        raise ValueError(f"a scenario needs {instance.n_requests} key rates, got {row.size}")
    reqs = [Request(r.id, r.source, r.target, Demand.point(float(row[f])))
            for f, r in enumerate(instance.requests)]
    return instance.with_requests(reqs, name or f"{instance.name}-scenario")


def mean_value_instance(instance: Instance, name: str | None = None) -> Instance:
    """The expected-value problem's instance: every key rate fixed at its mean."""
    reqs = [Request(r.id, r.source, r.target, Demand.point(r.demand.mean))
            for r in instance.requests]
    return instance.with_requests(reqs, name or f"{instance.name}-ev")


def scenario_costs(instance: Instance, plan: Plan, scenarios: np.ndarray) -> np.ndarray:
    """Cost of ``plan`` in each joint scenario, shape ``(n,)``.

    By separability (docs/model.md, property 2) a scenario's cost is the sum over
    requests of the cost of the request's route at its scenario key rate. The
    evaluator scores every (request, distinct key rate) once: one instance with
    a point-demand copy of each request per distinct rate, and the plan's route
    repeated for each copy. A plan that does not fit the instance costs ``inf``
    in every scenario.
    """
    sc = _check_scenarios(instance, scenarios)
    base = evaluate(instance, plan)
    if not math.isfinite(base.total):
        return np.full(sc.shape[0], math.inf)
    routes = {r.request_id: r for r in plan.routes}
    reqs: list[Request] = []
    copies: list[Any] = []
    where: list[Any] = []
    for f, r in enumerate(instance.requests):
        vals, inverse = np.unique(sc[:, f], return_inverse=True)
        where.append((len(reqs), inverse))
        route = routes[r.id]
        for k, v in enumerate(vals):
            rid = f"{r.id}@{k}"
            reqs.append(Request(rid, r.source, r.target, Demand.point(float(v))))
            copies.append(Route(rid, route.path, route.reserve_qkd, route.reserve_km))
    virtual = instance.with_requests(reqs, f"{instance.name}-scenario-costs")
    ev = evaluate(virtual, Plan(virtual.name, plan.planner, tuple(copies)))
    cost = np.asarray(ev.request_costs)
    # fixed charges (X1) depend on the routes only: the same in every scenario
    out = np.full(sc.shape[0], base.components.get("site", 0.0) + base.components.get("node", 0.0))
    for first, inverse in where:
        out += cost[first + inverse]
    return out


def out_of_sample(instance: Instance, plan: Plan, *, n_scenarios: int = 1000,
                  seed: int | Sequence[int] = 0,
                  scenarios: np.ndarray | None = None, confidence: float = 0.95) -> Estimate:
    """Score a plan on a fresh seeded sample of joint scenarios.

    Parameters
    ----------
    instance : Instance
        Its demands are the true distribution the sample is drawn from.
    plan : Plan
        Made by any planner, possibly on another sample.
    n_scenarios, seed : int
        The sample (ignored when ``scenarios`` is given).
    scenarios : ndarray (n, F), optional
        A given sample.
    confidence : float

    Returns
    -------
    Estimate
        The mean cost over the sample with its confidence interval; the mean
        equals ``evaluate(empirical_instance(instance, sample), plan).total``.
    """
    sc = sample_scenarios(instance, n_scenarios, seed) if scenarios is None else scenarios
    return mean_ci(scenario_costs(instance, plan, sc), confidence)
