"""Stochastic-programming figures over an instance's listed joint scenarios, and MMW intervals.

For an instance with joint ``scenarios`` (``docs/model.md``, coupled second stage) the
figures are exact over the listed scenarios:

- ``RP``: the optimum of the extensive form over all of them;
- ``EV``: the optimum with every key rate and link state at its mean (one scenario,
  caps kept); ``EEV``: the evaluator's cost of that plan over the listed scenarios;
  ``VSS = EEV - RP``;
- ``WS = sum_s p_s v_s`` with ``v_s`` the optimum of scenario ``s`` alone;
  ``EVPI = RP - WS``.

Every solve is :func:`~qkdbench.exact.scenario_program.solve_extensive` of the
scenario program, scored back by the evaluator. When the scenarios are a sample,
:func:`mmw_interval` gives a candidate plan's optimality gap a confidence interval by
multiple replications (Mak, Morton and Wood 1999): on ``M`` fresh samples, the plan's
cost minus the sample problem's optimum; the mean of those gaps is an upper-biased
estimate of the true gap, and its one-sided Student-t bound is the interval. When
the file keeps only the sample, :func:`listed_sampler` takes the listed scenarios as
the distribution and draws the replications' batches from them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..evaluation import evaluate
from ..evaluation.sampling import resample_listed
from ..evaluation.sp_measures import Estimate, mean_ci, t_quantile
from ..exceptions import InputError
from ..model import Demand, Instance, Plan, Scenarios
from ..utils.jsonsafe import finite_or_none
from ..utils.random import check_seed, derive_rng
from .scenario_program import build_scenario_program, decode_program, solve_extensive

__all__ = [
    "JointFigures",
    "joint_sp_figures",
    "one_scenario_instance",
    "solve_joint",
    "mmw_interval",
    "listed_sampler",
    "MMWInterval",
]


def one_scenario_instance(
    instance: Instance,
    key_rates: dict[str, float],
    link_rates: dict[int, float],
    name: str,
) -> Instance:
    """``instance`` with one certain scenario: these key rates and link states.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    key_rates : dict
        Key rate of every request, by id.
    link_rates : dict
        State of every link the scenarios list, by position.
    name : str

    Returns
    -------
    Instance
        On-demand caps and everything else kept.
    """
    sc = Scenarios(
        (1.0,),
        {r: (float(v),) for r, v in key_rates.items()},
        {k: (float(v),) for k, v in link_rates.items()},
    )
    reqs = tuple(replace(r, demand=Demand.point(float(key_rates[r.id]))) for r in instance.requests)
    links = tuple(
        replace(link, key_rate_kbps=Demand((float(link_rates[k]),), (1.0,)))
        if k in link_rates
        else link
        for k, link in enumerate(instance.links)
    )
    return replace(instance, links=links, requests=reqs, scenarios=sc, name=name)


def solve_joint(instance: Instance, time_limit: float | None = None) -> tuple[float, Plan, bool]:
    """Optimum of the extensive form over the instance's scenarios, and its plan.

    Parameters
    ----------
    instance : Instance
    time_limit : float, optional
        Seconds.

    Returns
    -------
    objective : float
        The evaluator's cost of the plan (equal to the solver's objective).
    plan : Plan
    optimal : bool
        Whether HiGHS proved it.

    Raises
    ------
    InputError
        From the scenario program.
    """
    program = build_scenario_program(instance)
    _, first, optimal = solve_extensive(program, time_limit)
    plan = decode_program(program, first, "joint-extensive")
    return evaluate(instance, plan).total, plan, optimal


@dataclass(frozen=True)
class JointFigures:
    """RP, EV/EEV/VSS and WS/EVPI over the listed scenarios (see the module notes).

    Attributes
    ----------
    instance : str
    rp, ev, eev, vss, ws, evpi : float
    n_scenarios : int
    all_optimal : bool
        Every solve was proven optimal.
    runtime_s : float
    details : dict
        ``rp_plan``, ``ev_plan`` and ``ws_values``.
    """

    instance: str
    rp: float
    ev: float
    eev: float
    vss: float
    ws: float
    evpi: float
    n_scenarios: int
    all_optimal: bool
    runtime_s: float
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (without ``details``).

        Returns
        -------
        dict
        """
        out = {k: getattr(self, k) for k in ("instance", "n_scenarios", "all_optimal")}
        for k in ("rp", "ev", "eev", "vss", "ws", "evpi", "runtime_s"):
            out[k] = finite_or_none(getattr(self, k))
        return out

    @property
    def ws_estimate(self) -> Estimate:
        """WS as an :class:`~qkdbench.evaluation.sp_measures.Estimate` of zero width (exact)."""
        return Estimate(self.ws, 0.0, self.n_scenarios, 0.0, self.ws, self.ws, 1.0)


def joint_sp_figures(instance: Instance, *, time_limit: float | None = None) -> JointFigures:
    """The SP figures of an instance over its listed joint scenarios.

    Parameters
    ----------
    instance : Instance
        With :attr:`~qkdbench.model.Instance.scenarios`.
    time_limit : float, optional
        Seconds per solve.

    Returns
    -------
    JointFigures

    Raises
    ------
    InputError
        For an instance without scenarios.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> fig = joint_sp_figures(feature_instance("coupled"))
    >>> fig.ws <= fig.rp <= fig.eev
    True
    """
    sc = instance.scenarios
    if sc is None:
        raise InputError(f"instance {instance.name!r} lists no joint scenarios")
    t0 = time.perf_counter()
    rp, rp_plan, rp_opt = solve_joint(instance, time_limit)
    means = {r: float(np.dot(v, sc.probs)) for r, v in sc.key_rates.items()}
    link_means = {k: float(np.dot(v, sc.probs)) for k, v in sc.link_key_rates.items()}
    ev_inst = one_scenario_instance(instance, means, link_means, f"{instance.name}-ev")
    ev, ev_plan, ev_opt = solve_joint(ev_inst, time_limit)
    eev = evaluate(instance, replace(ev_plan, instance_name=instance.name)).total
    ws_values = []
    all_opt = rp_opt and ev_opt
    for s in range(sc.n):
        one = one_scenario_instance(
            instance,
            {r: v[s] for r, v in sc.key_rates.items()},
            {k: v[s] for k, v in sc.link_key_rates.items()},
            f"{instance.name}-ws{s}",
        )
        value, _, opt = solve_joint(one, time_limit)
        ws_values.append(value)
        all_opt &= opt
    ws = math.fsum(p * v for p, v in zip(sc.probs, ws_values, strict=True))
    return JointFigures(
        instance.name,
        rp,
        ev,
        eev,
        eev - rp,
        ws,
        rp - ws,
        sc.n,
        all_opt,
        time.perf_counter() - t0,
        {"rp_plan": rp_plan, "ev_plan": ev_plan, "ws_values": ws_values},
    )


@dataclass(frozen=True)
class MMWInterval:
    """The multiple-replication interval of a plan's optimality gap.

    Attributes
    ----------
    gaps : Estimate
        Mean and two-sided interval of the replications' gaps (plan cost minus the
        sample optimum, each on its own fresh sample).
    upper : float
        One-sided ``confidence`` upper bound on the true gap:
        ``mean + t_{confidence, M-1} std / sqrt(M)``.
    relative_upper : float
        ``upper`` over the mean of the plan's sample costs.
    replications : int
    gap_values, cost_values : tuple of float
        Each replication's gap and the plan's cost on its sample.
    """

    gaps: Estimate
    upper: float
    relative_upper: float
    replications: int
    gap_values: tuple[float, ...] = ()
    cost_values: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form.

        Returns
        -------
        dict
        """
        return {
            "gaps": self.gaps.to_dict(),
            "upper": finite_or_none(self.upper),
            "relative_upper": finite_or_none(self.relative_upper),
            "replications": self.replications,
            "gap_values": [finite_or_none(v) for v in self.gap_values],
            "cost_values": [finite_or_none(v) for v in self.cost_values],
        }


def listed_sampler(
    instance: Instance, batch: int, seed: int | None = 0
) -> Callable[[int], Instance]:
    """Batches of the listed scenarios for :func:`mmw_interval`: the listed ones as the law.

    ``sampler(k)`` is ``instance`` with ``batch`` draws (with replacement, by their
    probabilities) of its listed joint scenarios, equal draws merged
    (:func:`~qkdbench.evaluation.sampling.resample_listed`); draw ``k`` uses the
    stream ``derive_rng(seed, k)``, so each batch is the same whatever the others are.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    batch : int
        Draws per batch (at least 1).
    seed : int, optional
        Seed of the batches (``None`` means 0).

    Returns
    -------
    callable
        ``sampler(k) -> Instance``, named ``NAME-mmwK``.

    Raises
    ------
    InputError
        For an instance without scenarios, ``batch < 1`` or a bad seed.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> sampler = listed_sampler(feature_instance("coupled"), 5, seed=3)
    >>> sampler(0) == sampler(0), sampler(1).name
    (True, 'tiny-coupled-mmw1')
    """
    if instance.scenarios is None:
        raise InputError(f"instance {instance.name!r} lists no joint scenarios")
    if batch < 1:
        raise InputError(f"an MMW batch needs at least 1 scenario, got {batch}")
    base = check_seed(seed)

    def sampler(k: int) -> Instance:
        """Batch ``k``.

        Parameters
        ----------
        k : int
            Replication number (>= 0).

        Returns
        -------
        Instance
        """
        out = resample_listed(instance, batch, derive_rng(base, k), merge=True)
        return replace(out, name=f"{instance.name}-mmw{k}")

    return sampler


def mmw_interval(
    plan: Plan,
    sampler: Callable[[int], Instance],
    *,
    replications: int = 10,
    confidence: float = 0.95,
    time_limit: float | None = None,
) -> MMWInterval:
    """Confidence interval of ``plan``'s optimality gap by multiple replications (MMW).

    Parameters
    ----------
    plan : Plan
        The candidate first stage.
    sampler : callable
        ``sampler(k)`` returns the instance with the ``k``-th fresh sample of scenarios
        (``k = 0 .. replications - 1``; seeded, so the interval is reproducible).
    replications : int
        ``M >= 2``.
    confidence : float
        In ``(0, 1)``.
    time_limit : float, optional
        Seconds per sample problem.

    Returns
    -------
    MMWInterval

    Raises
    ------
    InputError
        For ``replications < 2`` or a sample problem not solved to optimality (its
        optimum would not bound the gap).
    """
    if replications < 2:
        raise InputError(f"MMW needs at least 2 replications, got {replications}")
    gaps, costs = [], []
    for k in range(replications):
        inst = sampler(k)
        value, _, optimal = solve_joint(inst, time_limit)
        if not optimal:
            raise InputError(f"sample problem {k} was not solved to optimality")
        cost = evaluate(inst, replace(plan, instance_name=inst.name)).total
        gaps.append(cost - value)
        costs.append(cost)
    est = mean_ci(gaps, confidence)
    upper = est.mean + t_quantile(confidence, replications - 1) * est.std / math.sqrt(replications)
    mean_cost = float(np.mean(costs))
    return MMWInterval(
        est,
        upper,
        upper / mean_cost if mean_cost else math.inf,
        replications,
        tuple(gaps),
        tuple(costs),
    )
