"""One planner run, scored by the evaluator: the unit of every comparison and sweep.

:func:`run_planner` runs a registered planner on an instance, scores the plan
with :func:`qkdbench.evaluation.evaluate` and returns one flat record. It never
raises for a failing planner: the record gets status ``error`` and the
message (:func:`error_text`). :func:`warm_up` compiles the evaluator before
runs are timed; :func:`warm_up_planner` runs a planner once on a few requests
of an instance, once per process, so that a timed run that follows measures
the planner and not Numba's compilation (or cache loading) and the first
imports. Gaps between the runs of one instance are
:mod:`qkdbench.experiments.gaps`'s.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> row = run_planner(make_instance("nsfnet", 3, 2, seed=1), "coqbn")
>>> row["status"], row["feasible"]
('heuristic', True)
>>> run_planner(make_instance("nsfnet", 3, 2, seed=1), "no-such-planner")["status"]
'error'
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..evaluation import evaluate, evaluate_batch
from ..model import Demand, Instance, Link, Plan, Request, Route
from ..utils.registry import available_planners, check_supports, get_planner
from ..utils.statuses import ERROR, HEURISTIC, INFEASIBLE, USABLE_STATUSES
from .values import float_or_nan

__all__ = [
    "RUN_FIELDS",
    "WARM_UP_REQUESTS",
    "WARM_UP_TIME_LIMIT",
    "run_planner",
    "error_text",
    "warm_up",
    "warm_up_instance",
    "warm_up_planner",
]

#: Keys of the record :func:`run_planner` returns, in order.
RUN_FIELDS: tuple[str, ...] = (
    "planner",
    "total",
    "first_stage",
    "second_stage",
    "gap_pct",
    "gap_ref",
    "bound",
    "feasible",
    "runtime_s",
    "status",
    "error",
)


def error_text(exc: BaseException, limit: int = 300) -> str:
    """One line ``Type: message`` (newlines folded, at most ``limit`` characters).

    Parameters
    ----------
    exc : BaseException
    limit : int
        Longest text returned; a longer one is cut and ends in ``...``.

    Returns
    -------
    str

    Examples
    --------
    >>> error_text(ValueError("bad\\nvalue"))
    'ValueError: bad value'
    """
    text = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_planner(
    instance: Instance,
    planner: str,
    *,
    seed: int | None = 0,
    time_limit: float | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one registered planner on ``instance`` and score its plan.

    Parameters
    ----------
    instance : Instance
    planner : str
        Registry name.
    seed : int, optional
        Passed to the planner.
    time_limit : float, optional
        Seconds, passed to the planner.
    params : Mapping, optional
        Keyword arguments of the planner's constructor.

    Returns
    -------
    dict
        The keys of :data:`RUN_FIELDS` plus ``plan`` (the :class:`Plan`, or
        ``None`` after an error). ``runtime_s`` is the wall time of the
        ``plan()`` call. ``status`` is the plan's own (``optimal``,
        ``feasible``, ``heuristic``), ``infeasible`` when the evaluator finds
        a violation (the first is in ``error``) or the planner found no plan,
        or ``error`` when the planner raised (its message is in ``error``).
        Costs are ``nan`` unless the plan was scored. ``gap_pct`` and
        ``gap_ref`` are left empty for
        :func:`~qkdbench.experiments.gaps.add_gaps`.
    """
    row: dict[str, Any] = {
        "planner": planner,
        "total": math.nan,
        "first_stage": math.nan,
        "second_stage": math.nan,
        "gap_pct": math.nan,
        "gap_ref": "",
        "bound": math.nan,
        "feasible": False,
        "runtime_s": math.nan,
        "status": ERROR,
        "error": "",
        "plan": None,
    }
    t0 = time.perf_counter()
    try:
        runner = get_planner(planner, **dict(params or {}))
        check_supports(runner, instance)
        t0 = time.perf_counter()
        plan = runner.plan(instance, seed=seed, time_limit=time_limit)
        row["runtime_s"] = time.perf_counter() - t0
        if not isinstance(plan, Plan):
            raise TypeError(f"plan() returned {type(plan).__name__}, not a Plan")
        row["plan"] = plan
        row["bound"] = float_or_nan(plan.stats.get("bound"))
        status = str(plan.stats.get("status", HEURISTIC))
        if not plan.routes and instance.n_requests:
            row["status"] = status if status in (INFEASIBLE, ERROR) else INFEASIBLE
            row["error"] = str(plan.stats.get("message", "") or "no plan found")
            return row
        ev = evaluate(instance, plan)
        row["feasible"] = bool(ev.feasible)
        if math.isfinite(ev.total):
            row.update(total=ev.total, first_stage=ev.first_stage, second_stage=ev.second_stage)
        if ev.feasible:
            row["status"] = status if status in USABLE_STATUSES else HEURISTIC
        else:
            row["status"] = INFEASIBLE
            more = f" (+{len(ev.violations) - 1} more)" if len(ev.violations) > 1 else ""
            row["error"] = (ev.violations[0] + more) if ev.violations else "infeasible plan"
    except Exception as exc:  # a failing planner is a result, not a crash
        if math.isnan(row["runtime_s"]):
            row["runtime_s"] = time.perf_counter() - t0
        row["status"] = ERROR
        row["error"] = error_text(exc)
    return row


def warm_up() -> None:
    """Compile (or load from Numba's cache) the evaluator's kernels on a tiny instance.

    Called before a comparison is timed and before a sweep fans out, so that no
    planner's run time includes the compilation and the worker processes find
    the kernels in the on-disk cache.
    """
    inst = Instance(
        (1, 2),
        (Link(1, 2, 200.0),),
        (Request("f0", 1, 2, Demand((0.0, 1.0, 2.0), (0.2, 0.5, 0.3))),),
        name="warm-up",
    )
    plan = Plan(inst.name, "warm-up", (Route("f0", (1, 2), (3,), (1,)),))
    evaluate(inst, plan)
    evaluate_batch(inst, [plan, plan])
    available_planners()


#: Requests of the instance a planner warms up on (:func:`warm_up_instance`).
WARM_UP_REQUESTS = 3
#: Most seconds a warm-up run may take (a search such as the GA would use its whole
#: time limit even on three requests; its kernels are compiled in its first iterations).
WARM_UP_TIME_LIMIT = 5.0

#: What this process has warmed up: ``(planner, parameters, features)`` -> seconds it took.
_WARMED: dict[tuple[str, str, frozenset[str]], float] = {}


def warm_up_instance(instance: Instance, n: int = WARM_UP_REQUESTS) -> Instance:
    """A small copy of ``instance``: its network and its first ``n`` requests.

    The copy keeps the network (links, fixed charges, link kinds and states,
    providers, joint scenarios and on-demand caps: their columns of the kept
    requests), so a planner takes the same code paths and Numba compiles
    the same kernels (they are specialised on types, not sizes); when the
    instance has requests with targets and none of the first ``n`` has, the
    first one that has is added.

    Parameters
    ----------
    instance : Instance
    n : int
        Requests kept.

    Returns
    -------
    Instance
        Named ``NAME-warm-up``.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> small = warm_up_instance(make_instance("nsfnet", 10, 3, seed=1))
    >>> small.name, small.n_requests
    ('nsfnet-r10-k3-s1-warm-up', 3)
    """
    requests = list(instance.requests[:n])
    if "providers" in instance.features and not any(r.targets for r in requests):
        requests.append(next(r for r in instance.requests if r.targets))
    name = f"{instance.name}-warm-up"
    sc = instance.scenarios
    if sc is None:
        return instance.with_requests(requests, name=name)
    cols = {r.id: sc.key_rates[r.id] for r in requests}  # the kept requests' columns
    return replace(
        instance, requests=tuple(requests), scenarios=replace(sc, key_rates=cols), name=name
    )


def warm_up_planner(
    instance: Instance,
    planner: str,
    *,
    params: Mapping[str, Any] | None = None,
    time_limit: float | None = None,
) -> tuple[bool, float]:
    """Run ``planner`` once on :func:`warm_up_instance` unless this process already has.

    What a first run in a fresh process (or Dask worker) pays besides
    planning, Numba compiling or loading the kernels of its code paths and
    the first imports (the issue measured ``exact`` at 7.8 s first, 0.19 s
    warm), is paid here, before a run is timed. Once per process for each
    planner, its parameters and the instance's :attr:`~qkdbench.model.Instance.features`;
    never raises (a failing warm-up is left to the timed run to report).

    Parameters
    ----------
    instance : Instance
        The instance the timed run plans; the warm-up plans a few of its requests.
    planner : str
        Registry name.
    params : Mapping, optional
        Constructor keywords.
    time_limit : float, optional
        The timed run's limit; the warm-up run gets this or
        :data:`WARM_UP_TIME_LIMIT` seconds, whichever is less (Numba compiles a
        kernel at its first call, which a planner reaches in its first
        iteration; a compilation longer than that stops the search after it).

    Returns
    -------
    (bool, float)
        Whether the warm-up ran now (``False``: this process had warmed this
        planner up before), and the seconds it took (then, or the first time).
    """
    try:
        key_params = json.dumps(dict(params or {}), sort_keys=True, default=repr)
    except (TypeError, ValueError):
        key_params = repr(params)
    key = (planner, key_params, instance.features)
    if key in _WARMED:
        return False, _WARMED[key]
    t0 = time.perf_counter()
    try:
        limit = WARM_UP_TIME_LIMIT if time_limit is None else min(time_limit, WARM_UP_TIME_LIMIT)
        run_planner(warm_up_instance(instance), planner, seed=0, time_limit=limit, params=params)
    except Exception:  # run_planner never raises; building the small copy might
        pass
    _WARMED[key] = time.perf_counter() - t0
    return True, _WARMED[key]
