"""The standard stochastic-programming figures of an instance (docs/model.md).

- ``RP``: optimal expected cost of the stochastic program (exact solve).
- ``EV``: optimum of the expected-value problem (every random quantity fixed
  at its mean: each request's key rate, and each random link key rate at its
  mean rate, see :func:`~qkdbench.evaluation.sp_measures.mean_value_instance`);
  ``EEV``: the expected cost of the EV plan under the true distribution
  (evaluator); ``VSS = EEV - RP``.
- ``WS``: wait-and-see value, the mean over a seeded sample of joint
  scenarios of the optimum with that scenario known (every request's key
  rate and every link's state), with a Student-t confidence interval;
  ``EVPI = RP - WS``.
- Out of sample: the RP and EV plans scored on a fresh seeded sample of
  joint scenarios.

Requests' key rates are independent in the joint scenarios (the instance
gives only marginals); a link with a random key rate draws one state per
scenario, independent of the demands and of the other links, shared by both
of its arcs and by every request that uses it
(:func:`~qkdbench.evaluation.sampling.sample_joint_scenarios`).
``WS <= RP <= EEV`` holds for the exact values; the sampled WS is an
estimate, so its interval, not its mean, is the claim.

An instance with a model extension the exact solver does not handle (as the
``exact`` planner declares in ``supports``) is refused with a one-line
:class:`~qkdbench.exceptions.InputError`. An instance that lists joint scenarios
gets its figures exactly over them (:mod:`qkdbench.exact.joint_figures`): WS with an
interval of zero width, and no out-of-sample costs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..evaluation import decode_plan, encode_plan, evaluate
from ..evaluation.pricing import arc_table
from ..evaluation.sp_measures import (
    Estimate,
    mean_ci,
    mean_value_instance,
    out_of_sample,
    sample_joint_scenarios,
    scenario_instance,
)
from ..model import Instance, Plan
from ..planning.ladders import build_ladders
from ..planning.waterfill import waterfill
from ..utils.jsonsafe import finite_or_none
from ..utils.registry import check_supports
from .planners import ExactExtensivePlanner, ExactPlanner
from .sp_milp import SPResult, solve_sp

__all__ = ["SPFigures", "sp_figures", "scenario_start"]


def scenario_start(scenario: Instance, plan: Plan) -> Plan | str:
    """A warm start for one WS scenario: ``plan``'s routes, reservations re-optimised.

    The RP plan's routes are feasible in every scenario (same network, same
    requests); with the routes fixed, each arc's capacity is shared by
    water-filling on the scenario's own cost ladders, which is the
    cost-minimal reservation for those routes. Without a usable ``plan``
    (no routes), the relaxed warm start is used.

    Parameters
    ----------
    scenario : Instance
        One scenario's instance (:func:`~qkdbench.evaluation.sp_measures.scenario_instance`).
    plan : Plan
        A plan of the same network and requests, normally the RP plan.

    Returns
    -------
    Plan or str
        The plan with re-optimised reservations, or ``"relaxed"``.
    """
    if not plan.routes or len(plan.routes) != scenario.n_requests:
        return "relaxed"
    arrays = encode_plan(scenario, plan)
    if arrays.arcs.size == 0:
        return "relaxed"
    ladders = build_ladders(scenario)
    arcs = arc_table(scenario)
    owner = np.repeat(np.arange(scenario.n_requests), np.diff(arrays.ptr))
    pairs = owner * arcs.n + arrays.arcs
    y = waterfill(
        ladders.y_ptr, ladders.y_len, ladders.y_ben, pairs, arrays.arcs, arcs.W_qkd.astype(float)
    )
    z = waterfill(
        ladders.z_ptr, ladders.z_len, ladders.z_ben, pairs, arrays.arcs, arcs.W_kml.astype(float)
    )
    # replace() keeps the chosen targets with the routes
    repaired = replace(arrays, yr=np.round(y), zr=np.round(z))
    return decode_plan(scenario, repaired, "rp-repaired")


@dataclass(frozen=True)
class SPFigures:
    """RP, EV/EEV, VSS, WS (with CI), EVPI and out-of-sample costs of one instance.

    Attributes
    ----------
    instance : str
    rp, rp_bound : float
        Optimal expected cost and the solver's bound on it.
    rp_status : str
        Status of the RP solve (``optimal`` unless a limit struck).
    ev : float
        Optimum of the expected-value problem.
    eev : float
        Expected cost of the EV plan (evaluator).
    vss : float
        ``eev - rp``.
    ws : Estimate
        Wait-and-see value over ``n_scenarios`` sampled joint scenarios.
    ws_all_optimal : bool
        Every scenario problem was solved to proven optimality.
    evpi : float
        ``rp - ws.mean``; ``evpi_lo``, ``evpi_hi`` from the WS interval.
    evpi_lo, evpi_hi : float
        ``rp - ws.hi`` and ``rp - ws.lo``.
    rp_out_of_sample, ev_out_of_sample : Estimate or None
        The RP and EV plans on a fresh sample (``None`` when not asked for).
    n_scenarios, seed : int
    runtime_s : float
    details : dict
        ``rp_plan``, ``ev_plan`` and ``ws_values`` (the scenario optima); left out of
        :meth:`to_dict` and of comparisons.
    """

    instance: str
    rp: float
    rp_bound: float
    rp_status: str
    ev: float
    eev: float
    vss: float
    ws: Estimate
    ws_all_optimal: bool
    evpi: float
    evpi_lo: float
    evpi_hi: float
    rp_out_of_sample: Estimate | None
    ev_out_of_sample: Estimate | None
    n_scenarios: int
    seed: int
    runtime_s: float
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (non-finite numbers become ``None``).

        Returns
        -------
        dict
            Every attribute but ``details``, the EVPI interval as ``evpi_ci``.
        """
        return {
            "instance": self.instance,
            "rp": finite_or_none(self.rp),
            "rp_bound": finite_or_none(self.rp_bound),
            "rp_status": self.rp_status,
            "ev": finite_or_none(self.ev),
            "eev": finite_or_none(self.eev),
            "vss": finite_or_none(self.vss),
            "ws": self.ws.to_dict(),
            "ws_all_optimal": self.ws_all_optimal,
            "evpi": finite_or_none(self.evpi),
            "evpi_ci": [finite_or_none(self.evpi_lo), finite_or_none(self.evpi_hi)],
            "rp_out_of_sample": (
                self.rp_out_of_sample.to_dict() if self.rp_out_of_sample else None
            ),
            "ev_out_of_sample": (
                self.ev_out_of_sample.to_dict() if self.ev_out_of_sample else None
            ),
            "n_scenarios": self.n_scenarios,
            "seed": self.seed,
            "runtime_s": self.runtime_s,
        }


def sp_figures(
    instance: Instance,
    *,
    n_scenarios: int = 30,
    seed: int = 0,
    confidence: float = 0.95,
    oos_scenarios: int = 1000,
    form: str = "compact",
    time_limit: float | None = None,
    gap_rel: float = 1e-6,
    rp: SPResult | None = None,
) -> SPFigures:
    """Compute the SP figures of ``instance``.

    Parameters
    ----------
    instance : Instance
    n_scenarios : int
        Joint scenarios (demands and link states) sampled for WS (one exact
        solve each).
    seed : int
        Seeds the WS sample; the out-of-sample sample uses ``[seed, 1]``.
        Same seed, same figures.
    confidence : float
        Level of the WS and out-of-sample intervals.
    oos_scenarios : int
        Size of the fresh out-of-sample sample (``0``: skip).
    form : {"compact", "extensive"}
    time_limit : float, optional
        Seconds per exact solve.
    gap_rel : float
        Relative gap of every exact solve.
    rp : SPResult, optional
        A finished RP solve of ``instance`` to reuse.

    Returns
    -------
    SPFigures

    Raises
    ------
    InputError
        If ``instance`` uses a model extension the exact solver does not handle.
    SolverError
        If no MILP solver is available.

    Notes
    -----
    Every WS scenario solve starts from the RP plan with its reservations
    re-optimised for the scenario (:func:`scenario_start`) or the Lagrangian
    heuristic's plan, whichever is cheaper, and uses the Lagrangian prices to
    prune the scenario's model (:func:`~qkdbench.exact.solve_sp`).

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> fig = sp_figures(make_instance("nsfnet", 3, 4, seed=1), n_scenarios=5,
    ...                  oos_scenarios=0)  # doctest: +SKIP
    >>> fig.ws.mean <= fig.rp <= fig.eev  # doctest: +SKIP
    True
    """
    t0 = time.perf_counter()
    if instance.scenarios is not None:  # exact over the listed scenarios
        return _listed(instance, time_limit, t0)
    check_supports(ExactExtensivePlanner if form == "extensive" else ExactPlanner, instance)
    opts: dict[str, Any] = {"form": form, "time_limit": time_limit, "gap_rel": gap_rel}
    if rp is None:
        rp = solve_sp(instance, planner="exact", **opts)
    ev_res = solve_sp(mean_value_instance(instance), planner="exact-ev", **opts)
    eev = (
        evaluate(instance, ev_res.plan).total
        if ev_res.status in ("optimal", "feasible")
        else math.nan
    )
    scenarios = sample_joint_scenarios(instance, n_scenarios, seed)
    ws_values, ws_optimal = [], True
    for k in range(n_scenarios):
        scenario = scenario_instance(instance, scenarios.scenario(k), f"{instance.name}-ws{k}")
        res = solve_sp(
            scenario, planner="exact-ws", warm_start=scenario_start(scenario, rp.plan), **opts
        )
        ws_values.append(res.objective)
        ws_optimal &= res.status == "optimal"
    ws = mean_ci(ws_values, confidence)
    rp_oos = ev_oos = None
    if oos_scenarios and instance.n_requests and rp.plan.routes:
        fresh = sample_joint_scenarios(instance, oos_scenarios, [seed, 1])
        rp_oos = out_of_sample(instance, rp.plan, scenarios=fresh, confidence=confidence)
        if ev_res.plan.routes:
            ev_oos = out_of_sample(instance, ev_res.plan, scenarios=fresh, confidence=confidence)
    return SPFigures(
        instance=instance.name,
        rp=rp.objective,
        rp_bound=rp.bound,
        rp_status=rp.status,
        ev=ev_res.objective,
        eev=eev,
        vss=eev - rp.objective,
        ws=ws,
        ws_all_optimal=ws_optimal,
        evpi=rp.objective - ws.mean,
        evpi_lo=rp.objective - ws.hi,
        evpi_hi=rp.objective - ws.lo,
        rp_out_of_sample=rp_oos,
        ev_out_of_sample=ev_oos,
        n_scenarios=n_scenarios,
        seed=seed,
        runtime_s=time.perf_counter() - t0,
        details={"rp_plan": rp.plan, "ev_plan": ev_res.plan, "ws_values": ws_values},
    )


def _listed(instance: Instance, time_limit: float | None, t0: float) -> SPFigures:
    """The figures of an instance with joint scenarios, exact over them."""
    from .joint_figures import joint_sp_figures

    fig = joint_sp_figures(instance, time_limit=time_limit)
    status = "optimal" if fig.all_optimal else "feasible"
    return SPFigures(
        instance=instance.name,
        rp=fig.rp,
        rp_bound=fig.rp if fig.all_optimal else math.nan,
        rp_status=status,
        ev=fig.ev,
        eev=fig.eev,
        vss=fig.vss,
        ws=fig.ws_estimate,
        ws_all_optimal=fig.all_optimal,
        evpi=fig.evpi,
        evpi_lo=fig.evpi,
        evpi_hi=fig.evpi,
        rp_out_of_sample=None,
        ev_out_of_sample=None,
        n_scenarios=fig.n_scenarios,
        seed=0,
        runtime_s=time.perf_counter() - t0,
        details=fig.details,
    )
