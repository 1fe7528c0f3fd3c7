"""The data of each figure panel: what the paper's Fig. 3 and the quality plots show.

Every cost here comes from :func:`qkdbench.evaluation.evaluate`: a panel
changes a plan and scores it, and never prices anything itself. Each function
returns a :class:`pandas.DataFrame` (the CSV written beside the panel's
picture); :mod:`~qkdbench.experiments.plotting` draws it and
:mod:`~qkdbench.experiments.figures` runs the panels.

``reservation_sweep``
    Fig. 3a/3b: the reference plan with its QKD (or KM) reservation forced to
    ``L`` wavelengths on every arc of every route.
``rate_sweep``
    Fig. 3c: the reference plan's wavelengths against the key-rate requirement.
``request_sweep``
    Fig. 3d: expected cost against the number of requests, reference and baseline.
``anytime_log`` / ``anytime_runs``
    A planner's best cost against evaluations and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..evaluation import evaluate, newsvendor_reservations
from ..evaluation.pricing import arc_table, support_table
from ..exceptions import InputError
from ..model import Instance, Plan, Route
from ..topologies import make_instance
from ..utils.registry import available_planners, get_planner, proves_optimality
from ..utils.statuses import HEURISTIC, OPTIMAL
from .config import EXACT

__all__ = [
    "EXACT_LABEL",
    "reference_plan",
    "is_exact_reference",
    "reservation_sweep",
    "rate_sweep",
    "request_sweep",
    "anytime_log",
    "anytime_runs",
]


#: How :func:`reference_plan` labels a plan of the ``exact`` planner (its status follows).
EXACT_LABEL = "exact SP"


def reference_plan(
    instance: Instance,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    planner: str | None = None,
) -> tuple[Plan, str]:
    """The plan the figures start from, and its label.

    Parameters
    ----------
    instance : Instance
    time_limit : float, optional
    seed : int
    planner : str, optional
        Use this planner; default ``exact``, or, if no exact planner is
        registered, the cheapest feasible plan of all registered planners.

    Returns
    -------
    plan : Plan
    label : str
        ``"exact SP (optimal)"``, ``"exact SP (feasible, gap 0.12%)"``, or
        ``"best available: NAME (exact planner not registered)"``.

    Raises
    ------
    RuntimeError
        If no planner produced a feasible plan.
    """
    names = [planner] if planner else ([EXACT] if EXACT in available_planners() else None)
    if names:
        plan = get_planner(names[0]).plan(instance, seed=seed, time_limit=time_limit)
        ev = evaluate(instance, plan)
        if not ev.feasible:
            raise RuntimeError(
                f"planner {names[0]!r} gave an infeasible plan: "
                f"{(ev.violations or ('no routes',))[0]}"
            )
        if names[0] != EXACT:
            return plan, names[0]
        status = plan.stats.get("status", "")
        gap = plan.stats.get("gap")
        if status == OPTIMAL:
            return plan, f"{EXACT_LABEL} ({OPTIMAL})"
        return plan, f"{EXACT_LABEL} ({status}, gap {100 * float(gap or math.nan):.2f}%)"
    best: tuple[float, Plan, str] | None = None
    for name in sorted(available_planners()):
        try:
            plan = get_planner(name).plan(instance, seed=seed, time_limit=time_limit)
        except Exception:
            continue
        ev = evaluate(instance, plan)
        if ev.feasible and (best is None or ev.total < best[0]):
            best = (ev.total, plan, name)
    if best is None:
        raise RuntimeError("no registered planner produced a feasible plan")
    return best[1], f"best available: {best[2]} (exact planner not registered)"


def is_exact_reference(label: str) -> bool:
    """Whether a label of :func:`reference_plan` names a plan of a planner that proves optimality.

    Parameters
    ----------
    label : str
        ``"exact SP (...)"``, the name of the planner asked for, or ``"best available: ..."``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_exact_reference("exact SP (optimal)"), is_exact_reference("exact")
    (True, True)
    >>> is_exact_reference("best available: coqbn (exact planner not registered)")
    False
    """
    return label.startswith(EXACT_LABEL) or proves_optimality(label)


# --------------------------------------------------------------------------- fig3a / fig3b


def _max_links(instance: Instance) -> int:
    """The largest number of QKD links any request can need."""
    support = support_table(instance)
    return int(support.links.max()) if support.links.size else 0


def _forced(plan: Plan, kind: str, level: int) -> Plan:
    """``plan`` with its ``kind`` reservation set to ``level`` on every arc of every route."""
    routes = []
    for r in plan.routes:
        forced = (int(level),) * len(r.reserve_qkd)
        routes.append(
            Route(
                r.request_id,
                r.path,
                forced if kind == "qkd" else r.reserve_qkd,
                r.reserve_km if kind == "qkd" else forced,
            )
        )
    return Plan(plan.instance_name, f"{plan.planner}-forced-{kind}", tuple(routes))


def reservation_sweep(
    instance: Instance,
    plan: Plan,
    kind: str = "qkd",
    levels: Iterable[int] | None = None,
    reference: str = "",
) -> pd.DataFrame:
    """Fig. 3a (``kind="qkd"``) / 3b (``kind="km"``): cost against a forced reservation level.

    Parameters
    ----------
    instance : Instance
    plan : Plan
        Its routes and the other kind's reservations are held fixed.
    kind : {"qkd", "km"}
    levels : iterable of int, optional
        Reservation levels ``L`` (wavelengths per arc of every route). Default:
        QKD ``0, 3, ..., 3 (Pmax + 2)``; KM ``0, 1, ..., Pmax + 2``, where
        ``Pmax`` is the largest number of QKD links any request can need.
    reference : str
        Label of the plan (a column of the result).

    Returns
    -------
    pandas.DataFrame
        ``level, total, first_stage, second_stage, feasible, violations,
        reserved, used, on_demand, reference``: costs from the evaluator;
        ``reserved``/``used``/``on_demand`` are the kind's wavelength totals
        (expected for the last two); ``feasible`` is false where the forced
        level exceeds an arc's reservation capacity (the evaluator still
        prices the plan). ``df.attrs`` holds ``argmin`` (the cheapest level),
        ``newsvendor`` (the median over the plan's (request, arc) pairs of
        the cost-minimising reservation of the pair alone), ``plan_median``
        (median reservation of the plan) and ``mean_need`` (mean expected
        wavelength need per pair).

    Raises
    ------
    ValueError
        If ``kind`` is not ``"qkd"`` or ``"km"``.
    """
    if kind not in ("qkd", "km"):
        raise InputError(f"kind must be 'qkd' or 'km', got {kind!r}")
    pmax = _max_links(instance)
    if levels is None:
        levels = range(0, 3 * (pmax + 2) + 1, 3) if kind == "qkd" else range(0, pmax + 3)
    rows = []
    for level in levels:
        ev = evaluate(instance, _forced(plan, kind, int(level)))
        wavelengths = ev.wavelengths
        rows.append(
            {
                "level": int(level),
                "total": ev.total,
                "first_stage": ev.first_stage,
                "second_stage": ev.second_stage,
                "feasible": ev.feasible,
                "violations": len(ev.violations),
                "reserved": wavelengths[f"reserved_{kind}"],
                "used": wavelengths[f"used_{kind}"],
                "on_demand": wavelengths[f"on_demand_{kind}"],
                "reference": reference,
            }
        )
    df = pd.DataFrame(rows)
    request_index = instance.request_index
    pair_requests, pair_arcs, held = [], [], []
    for r in plan.routes:
        arcs = instance.path_arcs(r.path)
        pair_requests += [request_index[r.request_id]] * len(arcs)
        pair_arcs += arcs
        held += list(r.reserve_qkd if kind == "qkd" else r.reserve_km)
    if pair_arcs:
        newsvendor_qkd, newsvendor_kml = newsvendor_reservations(
            instance, np.array(pair_requests), np.array(pair_arcs)
        )
        newsvendor = float(np.median(newsvendor_qkd if kind == "qkd" else newsvendor_kml))
    else:
        newsvendor = math.nan
    wavelengths_per_link = 3.0 if kind == "qkd" else 1.0
    support = support_table(instance)
    needs = (
        [
            wavelengths_per_link * support.mean_links[support.arc_class[a], f]
            for f, a in zip(pair_requests, pair_arcs, strict=True)
        ]
        if pair_arcs
        else []
    )
    df.attrs.update(
        kind=kind,
        argmin=int(df.loc[df["total"].idxmin(), "level"]) if len(df) else None,
        newsvendor=newsvendor,
        plan_median=float(np.median(held)) if held else math.nan,
        mean_need=float(np.mean(needs)) if needs else math.nan,
        plan_total=evaluate(instance, plan).total,
        reference=reference,
    )
    return df


# --------------------------------------------------------------------------- fig3c


def _capacity_used(instance: Instance, plan: Plan) -> dict[str, float]:
    """Capacity of the arcs the routes use, and how many of them the plan fills."""
    arcs = arc_table(instance)
    reserved_qkd = np.zeros(arcs.n)
    reserved_km = np.zeros(arcs.n)
    used = np.zeros(arcs.n, dtype=bool)
    for r in plan.routes:
        ids = instance.path_arcs(r.path)
        used[ids] = True
        np.add.at(reserved_qkd, ids, np.asarray(r.reserve_qkd, dtype=float))
        np.add.at(reserved_km, ids, np.asarray(r.reserve_km, dtype=float))
    return {
        "arcs_used": int(used.sum()),
        "capacity_qkd": float(arcs.W_qkd[used].sum()),
        "capacity_km": float(arcs.W_kml[used].sum()),
        "full_arcs_qkd": int((used & (reserved_qkd >= arcs.W_qkd - 1e-9)).sum()),
        "full_arcs_km": int((used & (reserved_km >= arcs.W_kml - 1e-9)).sum()),
    }


def rate_sweep(
    topology: str | Instance,
    n_requests: int,
    rates: Iterable[int],
    *,
    seed: int = 1,
    time_limit: float | None = None,
    planner_seed: int = 0,
    planner: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Fig. 3c: wavelengths of the reference plan against the key-rate requirement ``K``.

    The request pairs are the same for every ``K`` (they depend on ``seed``
    only); the key rates are uniform on ``{0..K}``.

    Parameters
    ----------
    topology : str or Instance
        As :func:`~qkdbench.topologies.make_instance` takes it.
    n_requests : int
        Requests per instance.
    rates : iterable of int
        The values of ``K``, one row each.
    seed : int, optional
        Seed of the requests (default 1).
    time_limit : float, optional
        Seconds per reference plan.
    planner_seed : int, optional
        Seed passed to the planner.
    planner : str, optional
        The reference planner (see :func:`reference_plan`).
    progress : callable, optional
        Called with one line per ``K``.

    Returns
    -------
    pandas.DataFrame
        ``max_rate, reference, status, gap_pct, total, reserved_qkd, used_qkd,
        on_demand_qkd, reserved_km, used_km, on_demand_km, arcs_used,
        capacity_qkd, capacity_km, full_arcs_qkd, full_arcs_km``; the
        wavelength totals are the evaluator's (used and on-demand are
        expectations), ``capacity_*`` is the reservation capacity of the arcs
        the routes use and ``full_arcs_*`` how many of them are reserved to
        capacity.

    Raises
    ------
    RuntimeError
        If no planner gives a feasible reference plan.
    """
    rows = []
    for max_rate in rates:
        inst = make_instance(topology, n_requests, int(max_rate), seed=seed)
        plan, label = reference_plan(
            inst, time_limit=time_limit, seed=planner_seed, planner=planner
        )
        ev = evaluate(inst, plan)
        gap = plan.stats.get("gap")
        rows.append(
            {
                "max_rate": int(max_rate),
                "reference": label,
                "status": plan.stats.get("status", HEURISTIC),
                "gap_pct": 100 * float(gap) if gap is not None else math.nan,
                "total": ev.total,
                **{k: float(v) for k, v in ev.wavelengths.items()},
                **_capacity_used(inst, plan),
            }
        )
        if progress:
            progress(f"fig3c K={max_rate}: {label}")
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- fig3d


def request_sweep(
    topology: str | Instance,
    counts: Iterable[int],
    *,
    max_rate: int = 10,
    seeds: Iterable[int] = (1,),
    time_limit: float | None = None,
    planner_seed: int = 0,
    baseline: str = "coqbn",
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Fig. 3d: expected cost against the number of requests, reference plan and baseline.

    Parameters
    ----------
    topology : str or Instance
        As :func:`~qkdbench.topologies.make_instance` takes it.
    counts : iterable of int
        Numbers of requests.
    max_rate : int, optional
        ``K`` (default 10).
    seeds : iterable of int, optional
        Request seeds, one row each per count (default ``(1,)``).
    time_limit : float, optional
        Seconds per planner run.
    planner_seed : int, optional
        Seed passed to the planners.
    baseline : str, optional
        Registry name of the baseline (default ``coqbn``).
    progress : callable, optional
        Called with one line per (count, seed).

    Returns
    -------
    pandas.DataFrame
        One row per (requests, seed): ``requests, seed, reference, status,
        sp_total, baseline, baseline_total, saving_pct`` with
        ``saving_pct = 100 (baseline_total - sp_total) / baseline_total``;
        costs from the evaluator.

    Raises
    ------
    RuntimeError
        If no planner gives a feasible reference plan.
    """
    rows = []
    for n in counts:
        for s in seeds:
            inst = make_instance(topology, int(n), max_rate, seed=int(s))
            plan, label = reference_plan(inst, time_limit=time_limit, seed=planner_seed)
            sp = evaluate(inst, plan).total
            base = evaluate(
                inst, get_planner(baseline).plan(inst, seed=planner_seed, time_limit=time_limit)
            ).total
            rows.append(
                {
                    "requests": int(n),
                    "seed": int(s),
                    "reference": label,
                    "status": plan.stats.get("status", HEURISTIC),
                    "sp_total": sp,
                    "baseline": baseline,
                    "baseline_total": base,
                    "saving_pct": 100.0 * (base - sp) / base if base else math.nan,
                }
            )
            if progress:
                progress(f"fig3d n={n} seed={s}: saving {rows[-1]['saving_pct']:.2f}%")
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- anytime


def anytime_log(plan: Plan) -> pd.DataFrame:
    """A planner's anytime log as a table ``evaluations, seconds, best``.

    Reads ``plan.stats["anytime"]`` (or ``"history"`` / ``"log"``): a list of
    records or a mapping of equal-length lists, with the best cost under one
    of ``best``, ``best_cost``, ``cost``, ``total``, the evaluation count under
    ``evaluations``/``evals``/``n_evals`` and the time under
    ``seconds``/``time_s``/``elapsed``/``t``. Missing columns are ``nan``.

    Parameters
    ----------
    plan : Plan
        A plan whose ``stats`` hold an anytime log.

    Returns
    -------
    pandas.DataFrame
        Columns ``evaluations``, ``seconds`` and ``best``, numbers (``nan`` where absent).

    Raises
    ------
    KeyError
        If the plan carries no anytime log.
    """
    raw = None
    for key in ("anytime", "history", "log"):
        if key in plan.stats:
            raw = plan.stats[key]
            break
    if raw is None:
        raise KeyError(
            f"plan of {plan.planner!r} has no anytime log in its stats "
            f"(keys: {', '.join(sorted(plan.stats))})"
        )
    df = pd.DataFrame(raw if not isinstance(raw, Mapping) else dict(raw))
    if df.shape[1] == 3 and all(isinstance(c, int) for c in df.columns):
        df.columns = ["evaluations", "seconds", "best"]
    names = {
        "evaluations": ("evaluations", "evals", "n_evals", "n_evaluations"),
        "seconds": ("seconds", "time_s", "elapsed", "elapsed_s", "t", "time"),
        "best": ("best", "best_cost", "best_total", "cost", "total"),
    }
    out = pd.DataFrame(index=df.index)
    for col, options in names.items():
        found = next((c for c in options if c in df.columns), None)
        out[col] = pd.to_numeric(df[found], errors="coerce") if found else math.nan
    return out.reset_index(drop=True)


def anytime_runs(
    instance: Instance,
    planner: str,
    variants: Iterable[tuple[str, Any]],
    *,
    seed: int = 0,
    time_limit: float | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Run ``planner`` once per variant and stack the anytime logs.

    Parameters
    ----------
    instance : Instance
    planner : str
    variants : iterable of (label, params)
        ``params``: constructor keywords, a mapping or ``(key, value)`` pairs.
    seed : int
    time_limit : float, optional
    log : callable, optional

    Returns
    -------
    df : pandas.DataFrame
        ``variant, evaluations, seconds, best``.
    finals : dict
        Per variant: ``total`` (the evaluator's cost of the final plan),
        ``first_best``, ``points``, ``stop``, ``evaluations``, ``seconds``; or
        ``error`` if the run failed (a variant the planner does not accept).
    """
    frames: list[Any] = []
    finals: dict[str, dict[str, Any]] = {}
    for label, params in variants:
        try:
            plan = get_planner(planner, **dict(params)).plan(
                instance, seed=seed, time_limit=time_limit
            )
            one = anytime_log(plan)
        except Exception as exc:
            finals[label] = {"error": f"{type(exc).__name__}: {exc}"}
            if log:
                log(f"figure anytime: variant {label!r} failed: {exc}")
            continue
        one.insert(0, "variant", label)
        frames.append(one)
        finals[label] = {
            "total": evaluate(instance, plan).total,
            "first_best": float(one["best"].iloc[0]) if len(one) else None,
            "points": int(len(one)),
            "stop": plan.stats.get("stop"),
            "evaluations": plan.stats.get("evaluations"),
            "seconds": plan.stats.get("runtime_s"),
        }
    cols = ["variant", "evaluations", "seconds", "best"]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return df, finals
