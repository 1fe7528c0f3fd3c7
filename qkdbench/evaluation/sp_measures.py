"""SP measures that need no solver: scenario samples, EV instances, out-of-sample scores.

The solver-free half of the SP figures (the half that solves problems lives in
:mod:`qkdbench.exact.sp_figures`): seeded samples of *joint* scenarios (one key
rate per request and one state per link with a random key rate, all
independent; :mod:`qkdbench.evaluation.sampling`), the instances derived from
them (empirical marginals, one scenario's point demands and link rates, the
expected-value instance), and out-of-sample scoring of any plan, always
through the one evaluator.

Every derived instance copies requests and links with
:func:`dataclasses.replace`, so targets and providers and link kinds,
prices and capacities survive.

A joint scenario sample of an instance without random link key rates, scored
on its per-request empirical marginals, gives the sample average of the
per-scenario costs (docs/model.md, property 2); with random link key rates the
same holds when each (request, link) pair's empirical joint factorises (see
:func:`empirical_instance`).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..exceptions import InputError
from ..model import Demand, Instance, Link, Plan, Request
from ..utils.jsonsafe import finite_or_none
from .encoding import encode_plan
from .evaluator import evaluate, pair_costs
from .sampling import (
    JointScenarios,
    enumerate_scenarios,
    random_links,
    sample_joint_scenarios,
    sample_scenarios,
)

__all__ = [
    "Estimate",
    "mean_ci",
    "t_quantile",
    "JointScenarios",
    "sample_scenarios",
    "sample_joint_scenarios",
    "enumerate_scenarios",
    "empirical_instance",
    "scenario_instance",
    "mean_value_instance",
    "scenario_costs",
    "scenario_mean",
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
        """Plain-JSON form.

        Returns
        -------
        dict
            Every attribute; non-finite numbers become ``None``.
        """
        num = finite_or_none
        return {
            "mean": num(self.mean),
            "std": num(self.std),
            "n": self.n,
            "half_width": num(self.half_width),
            "lo": num(self.lo),
            "hi": num(self.hi),
            "confidence": self.confidence,
        }


def _t_two_sided(t: float, df: int) -> float:
    """``Pr(|T| <= t)`` for Student's t with integer ``df`` (closed form, A&S 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2:
        term, acc = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            acc += term
        return (
            2.0 / math.pi * (theta + (math.sin(theta) * math.cos(theta) * acc if df > 1 else 0.0))
        )
    term, acc = 1.0, 1.0
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        acc += term
    return math.sin(theta) * acc


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom.

    Inverts the closed-form distribution function of integer ``df`` by
    bisection (to ``1e-12``).

    Parameters
    ----------
    p : float
        Probability in ``(0, 1)``.
    df : int
        Degrees of freedom, a positive integer.

    Returns
    -------
    float
        ``t`` with ``Pr(T <= t) = p``; negative for ``p < 0.5``.

    Raises
    ------
    ValueError
        If ``p`` is not in ``(0, 1)`` or ``df`` is not a positive integer.

    Examples
    --------
    >>> round(t_quantile(0.975, 1), 3), round(t_quantile(0.975, 2), 3)
    (12.706, 4.303)
    >>> round(t_quantile(0.975, 30), 3)
    2.042
    """
    if not 0.0 < p < 1.0:
        raise InputError(f"probability must lie in (0, 1), got {p}")
    if df < 1 or int(df) != df:
        raise InputError(f"degrees of freedom must be a positive integer, got {df}")
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

    Parameters
    ----------
    values : sequence of float
        At least one value. With a non-finite one the mean is kept (``nan`` if one
        is ``nan``) and the interval is ``(-inf, inf)``.
    confidence : float, optional
        Level of the interval, in ``(0, 1)`` (default 0.95).

    Returns
    -------
    Estimate

    Raises
    ------
    ValueError
        If ``values`` is empty or ``confidence`` is not in ``(0, 1)``.

    Examples
    --------
    >>> e = mean_ci([1.0, 2.0, 3.0])
    >>> e.mean, round(e.half_width, 3)
    (2.0, 2.484)
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise InputError("no values")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must lie in (0, 1), got {confidence}")
    if not np.all(np.isfinite(x)):
        mean = float(x.mean()) if not np.any(np.isnan(x)) else math.nan
        return Estimate(mean, math.nan, int(x.size), math.inf, -math.inf, math.inf, confidence)
    mean = float(x.mean())
    if x.size == 1:
        std = 0.0
        half = 0.0 if not math.isfinite(mean) else math.inf
    else:
        std = float(x.std(ddof=1))
        half = t_quantile(0.5 + confidence / 2.0, x.size - 1) * std / math.sqrt(x.size)
    return Estimate(mean, std, int(x.size), half, mean - half, mean + half, confidence)


def _as_joint(instance: Instance, scenarios: JointScenarios | np.ndarray) -> JointScenarios:
    """``scenarios`` as joint scenarios of ``instance``, checked against its shape.

    A plain ``(n, F)`` array of key rates is accepted for an instance without
    random link key rates (its links then have their one state).
    """
    if isinstance(scenarios, JointScenarios):
        sc = scenarios
        if (
            sc.demand.ndim != 2
            or sc.demand.shape[1] != instance.n_requests
            or sc.link_rate.shape != (len(sc), len(instance.links))
            or len(sc) == 0
            or sc.random_links != random_links(instance)
        ):
            raise InputError(
                f"joint scenarios of shape {sc.demand.shape} with "
                f"{sc.link_rate.shape[1]} links do not belong to instance "
                f"{instance.name!r} ({instance.n_requests} requests, "
                f"{len(instance.links)} links)"
            )
        return sc
    arr = np.asarray(scenarios, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != instance.n_requests or arr.shape[0] == 0:
        raise InputError(
            f"scenarios must have shape (n >= 1, {instance.n_requests}), got {arr.shape}"
        )
    rnd = random_links(instance)
    if rnd:
        raise InputError(
            f"instance {instance.name!r} has {len(rnd)} links with random key "
            "rates: its scenarios must carry link states "
            "(sample_joint_scenarios), not key rates alone"
        )
    default = instance.params.key_rate_kbps
    fixed = np.asarray([link.key_rate_states(default)[0][0] for link in instance.links], float)
    n = arr.shape[0]
    return JointScenarios(
        arr,
        np.zeros((n, fixed.size), dtype=np.int64),
        np.broadcast_to(fixed, (n, fixed.size)).copy(),
        (),
    )


def _marginal(values: np.ndarray, weights: np.ndarray | None) -> Demand:
    """The (weighted) empirical distribution of ``values``."""
    if weights is None:
        return Demand.empirical(values)
    vals, inverse = np.unique(values, return_inverse=True)
    w = np.bincount(inverse.reshape(-1), weights=weights, minlength=vals.size)
    return Demand(tuple(float(v) for v in vals), tuple(float(x) for x in w / w.sum()))


def _fix_links(instance: Instance, rates: Mapping[int, float]) -> tuple[Link, ...]:
    """The links of ``instance`` with link ``k``'s key rate fixed at ``rates[k]``.

    Every other field of a link (kind, prices, capacities, fixed cost) is kept
    (:func:`dataclasses.replace`).
    """
    return tuple(
        replace(link, key_rate_kbps=float(rates[k])) if k in rates else link
        for k, link in enumerate(instance.links)
    )


def empirical_instance(
    instance: Instance, scenarios: JointScenarios | np.ndarray, name: str | None = None
) -> Instance:
    """The instance whose demands and link states are the empirical marginals of a sample.

    Each request's demand becomes the (weighted, for enumerated scenarios)
    empirical distribution of its key rates in ``scenarios``, and each link with
    a random key rate the empirical distribution of its states; everything
    else (targets, link kinds and prices, providers) is kept.

    Parameters
    ----------
    instance : Instance
        The instance the scenarios belong to.
    scenarios : JointScenarios or ndarray (n, F)
        Joint scenarios, or key rates alone for an instance without random link key rates.
    name : str, optional
        Name of the new instance (default ``NAME-empiricalN``).

    Returns
    -------
    Instance

    Raises
    ------
    ValueError
        If ``scenarios`` do not fit the instance (shape, random links), or are key rates
        alone for an instance with random link key rates.

    Notes
    -----
    The evaluator on this instance gives the scenarios' (weighted) average cost
    exactly when, for every request ``f`` and every random link ``l`` on its
    route, the empirical joint distribution of ``(kappa_f, K_l)`` is the product
    of its two marginals: always without random links (docs/model.md, property
    2), for a full enumeration, and for a crossed sample (every demand row with
    every link-state row). For a plain joint sample of an instance with random
    links the two differ by a sampling error of order ``n ** -0.5``.
    """
    sc = _as_joint(instance, scenarios)
    w = sc.prob
    reqs = [
        replace(r, demand=_marginal(sc.demand[:, f], w)) for f, r in enumerate(instance.requests)
    ]
    links = tuple(
        replace(link, key_rate_kbps=_marginal(sc.link_rate[:, k], w))
        if k in sc.random_links
        else link
        for k, link in enumerate(instance.links)
    )
    return replace(
        instance,
        links=links,
        requests=tuple(reqs),
        name=name or f"{instance.name}-empirical{len(sc)}",
    )


def scenario_instance(
    instance: Instance,
    scenario: JointScenarios | Sequence[float] | np.ndarray,
    name: str | None = None,
) -> Instance:
    """The instance of one joint scenario: every key rate and every link state known.

    Parameters
    ----------
    instance : Instance
    scenario : JointScenarios or array of float
        One joint scenario (``scenarios.scenario(i)``), or the ``F`` key rates of
        one scenario of an instance without random link key rates.
    name : str, optional

    Returns
    -------
    Instance
        Each request's demand is a point at its key rate; each link with a
        random key rate has its state's rate, shared by both arcs and by every
        request. Requests and links are copied with :func:`dataclasses.replace`,
        so targets, link kinds and prices and providers survive.

    Raises
    ------
    ValueError
        If ``scenario`` holds more than one scenario, has not ``F`` key rates, or does not
        fit the instance.
    """
    if isinstance(scenario, JointScenarios):
        if len(scenario) != 1:
            raise InputError(
                f"one scenario needed, got {len(scenario)} (use scenarios.scenario(i))"
            )
        sc = _as_joint(instance, scenario)
    else:
        row = np.asarray(scenario, dtype=float).reshape(-1)
        if row.size != instance.n_requests:
            raise InputError(f"a scenario needs {instance.n_requests} key rates, got {row.size}")
        sc = _as_joint(instance, row.reshape(1, -1))
    reqs = [
        replace(r, demand=Demand.point(float(sc.demand[0, f])))
        for f, r in enumerate(instance.requests)
    ]
    links = _fix_links(instance, {k: float(sc.link_rate[0, k]) for k in sc.random_links})
    return replace(
        instance, links=links, requests=tuple(reqs), name=name or f"{instance.name}-scenario"
    )


def mean_value_instance(instance: Instance, name: str | None = None) -> Instance:
    """The expected-value problem's instance: every random quantity fixed at its mean.

    Each request's key rate becomes its mean ``E[kappa_f]`` and each link whose
    key rate is a distribution gets its mean key rate ``E[K_l]`` (both arcs).
    This is the textbook expected-value problem (Birge and Louveaux): the
    random data replaced by its expectation, for link states exactly as for
    demands. It is *not* the problem with the expected number of QKD links
    ``E[ceil(kappa / K)]``, which is no value the data can take; with the mean
    rate, a rare bad state (cloud) barely lowers ``E[K_l]``, so the EV plan
    ignores it, and that is what ``EEV`` and ``VSS`` measure.
    Targets, link kinds and prices and providers are kept.

    Parameters
    ----------
    instance : Instance
        The instance whose random data are replaced.
    name : str, optional
        Name of the new instance (default ``NAME-ev``).

    Returns
    -------
    Instance
    """
    reqs = [replace(r, demand=Demand.point(r.demand.mean)) for r in instance.requests]
    links = tuple(
        replace(link, key_rate_kbps=link.key_rate_kbps.mean)
        if isinstance(link.key_rate_kbps, Demand)
        else link
        for link in instance.links
    )
    return replace(instance, links=links, requests=tuple(reqs), name=name or f"{instance.name}-ev")


def scenario_costs(
    instance: Instance, plan: Plan, scenarios: JointScenarios | np.ndarray
) -> np.ndarray:
    """Cost of ``plan`` in each joint scenario, shape ``(n,)``.

    With unlimited on-demand wavelengths a scenario's cost is the plan's fixed
    charges and service costs plus, over every (request ``f``, arc
    ``a``) of its routes, a term that depends on ``kappa_f`` and on the state
    of ``a``'s link only. The evaluator's :func:`~qkdbench.evaluation.pair_costs`
    prices every such term once: for each state position ``s``, one instance
    has every random link the plan uses at its ``s``-th state (both arcs) and a
    point-demand copy of each request per distinct key rate in the scenarios
    (provider capacities lifted: the copies are not rival requests); each
    scenario then adds up the terms of its own key rates and link states. A
    plan that does not fit the instance costs ``inf`` in every scenario.

    Parameters
    ----------
    instance : Instance
        The instance the plan is for.
    plan : Plan
        The plan to score.
    scenarios : JointScenarios or ndarray (n, F)
        Joint scenarios, or key rates alone for an instance without random link key rates.

    Returns
    -------
    ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        If ``scenarios`` do not fit the instance.
    """
    sc = _as_joint(instance, scenarios)
    n = len(sc)
    base = evaluate(instance, plan)
    if not math.isfinite(base.total):
        return np.full(n, math.inf)
    comp = base.components
    # fixed charges and service costs depend on the routes and targets only
    out = np.full(n, comp.get("site", 0.0) + comp.get("node", 0.0) + comp.get("service", 0.0))
    if instance.n_requests == 0:
        return out
    arrays = encode_plan(instance, plan)
    owner = np.repeat(np.arange(instance.n_requests), np.diff(arrays.ptr))
    link = arrays.arcs // 2
    states = {
        k: instance.links[k].key_rate_states(instance.params.key_rate_kbps)[0]
        for k in sorted(set(random_links(instance)) & set(link.tolist()))
    }
    n_states = max((len(v) for v in states.values()), default=1)
    # point-demand copies: request f's copy j has its j-th distinct key rate
    reqs: list[Request] = []
    first = np.zeros(instance.n_requests, dtype=np.int64)
    inverse = np.zeros((n, instance.n_requests), dtype=np.int64)
    for f, r in enumerate(instance.requests):
        vals, inv = np.unique(sc.demand[:, f], return_inverse=True)
        first[f], inverse[:, f] = len(reqs), inv.reshape(-1)
        reqs.extend(
            replace(r, id=f"{r.id}@{j}", demand=Demand.point(float(v))) for j, v in enumerate(vals)
        )
    counts = np.diff(np.append(first, len(reqs)))
    # every (copy, position) pair: position p of request f with each copy of f
    pos = np.repeat(np.arange(owner.size), counts[owner])
    start = np.repeat(np.cumsum(counts[owner]) - counts[owner], counts[owner])
    copy = first[owner[pos]] + (np.arange(pos.size) - start)
    terms = np.empty((n_states, pos.size))
    for s in range(n_states):
        links = _fix_links(instance, {k: v[min(s, len(v) - 1)] for k, v in states.items()})
        virtual = replace(
            instance,
            links=links,
            requests=tuple(reqs),
            providers=(),
            name=f"{instance.name}-scenario-costs",
        )
        qkd, kml = pair_costs(virtual, copy, arrays.arcs[pos], arrays.yr[pos], arrays.zr[pos])
        terms[s] = qkd + kml
    # term of position p in scenario i: its link's state, its request's key rate
    offset = np.cumsum(counts[owner]) - counts[owner]  # first pair of each position
    state = sc.link_state[:, link]  # (n, positions)
    idx = offset[None, :] + inverse[:, owner]  # (n, positions)
    out += terms[state, idx].sum(axis=1)
    return out


def scenario_mean(instance: Instance, plan: Plan, scenarios: JointScenarios | np.ndarray) -> float:
    """Average cost of ``plan`` over ``scenarios``, weighted by ``prob`` when enumerated.

    Over :func:`~qkdbench.evaluation.sampling.enumerate_scenarios` this is the
    plan's expected cost, the evaluator's number (up to rounding).

    Parameters
    ----------
    instance : Instance
        The instance the plan is for.
    plan : Plan
        The plan to score.
    scenarios : JointScenarios or ndarray (n, F)
        As :func:`scenario_costs`.

    Returns
    -------
    float
        ``inf`` when any scenario's cost is not finite.
    """
    sc = _as_joint(instance, scenarios)
    costs = scenario_costs(instance, plan, sc)
    if not np.all(np.isfinite(costs)):
        return math.inf
    return float(math.fsum(sc.weights * costs))


def out_of_sample(
    instance: Instance,
    plan: Plan,
    *,
    n_scenarios: int = 1000,
    seed: int | Sequence[int] = 0,
    scenarios: JointScenarios | np.ndarray | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Score a plan on a fresh seeded sample of joint scenarios, or on all of them.

    Parameters
    ----------
    instance : Instance
        Its demands and link states are the true distribution the sample is
        drawn from.
    plan : Plan
        Made by any planner, possibly on another sample.
    n_scenarios, seed : int
        The sample, :func:`~qkdbench.evaluation.sampling.sample_joint_scenarios`
        (ignored when ``scenarios`` is given).
    scenarios : JointScenarios or ndarray (n, F), optional
        Given scenarios (an array of key rates only for an instance without
        random link key rates).
    confidence : float

    Returns
    -------
    Estimate
        For a sample, the mean cost with its Student-t confidence interval; it
        converges to ``evaluate(instance, plan).total``. For enumerated
        scenarios (``prob`` given), the probability-weighted mean, which is the
        expected cost itself, with a zero-width interval.
    """
    if scenarios is None:
        scenarios = sample_joint_scenarios(instance, n_scenarios, seed)
    sc = _as_joint(instance, scenarios)
    costs = scenario_costs(instance, plan, sc)
    if sc.prob is None:
        return mean_ci(costs, confidence)
    mean = scenario_mean(instance, plan, sc)
    if not math.isfinite(mean):
        return Estimate(mean, math.nan, len(sc), math.inf, -math.inf, math.inf, confidence)
    std = math.sqrt(max(0.0, float(sc.prob @ (costs - mean) ** 2)))
    return Estimate(mean, std, len(sc), 0.0, mean, mean, confidence)
