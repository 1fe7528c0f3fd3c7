"""One planner run, scored by the evaluator: the unit of every comparison and sweep.

:func:`run_planner` runs a registered planner on an instance, scores the plan
with :func:`qkdbench.evaluation.evaluate` and returns one flat record. It never
raises for a failing planner: the record gets status ``error`` and the
message. :func:`gap_reference` and :func:`add_gaps` turn the records of one
instance into gaps to the exact optimum (or to the best proven bound).

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

import hashlib
import json
import math
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..evaluation import evaluate, evaluate_batch
from ..heuristics import available_planners, get_planner
from ..model import Demand, Instance, Link, Plan, Request, Route, instance_to_dict

__all__ = [
    "RUN_FIELDS",
    "GapReference",
    "run_planner",
    "gap_reference",
    "add_gaps",
    "instance_hash",
    "versions",
    "warm_up",
    "error_text",
]

#: Keys of the record :func:`run_planner` returns, in order.
RUN_FIELDS: tuple[str, ...] = ("planner", "total", "first_stage", "second_stage", "gap_pct",
                               "gap_ref", "bound", "feasible", "runtime_s", "status", "error")

#: Statuses under which a plan's costs are reported.
_SCORED = ("optimal", "feasible", "heuristic")


def error_text(exc: BaseException, limit: int = 300) -> str:
    """One line ``Type: message`` (newlines folded, at most ``limit`` characters)."""
    text = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _finite(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def run_planner(instance: Instance, planner: str, *, seed: int | None = 0,
                time_limit: float | None = None,
                params: Mapping[str, Any] | None = None) -> dict[str, Any]:
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
        ``gap_ref`` are left empty for :func:`add_gaps`.
    """
    row: dict[str, Any] = {"planner": planner, "total": math.nan, "first_stage": math.nan,
                           "second_stage": math.nan, "gap_pct": math.nan, "gap_ref": "",
                           "bound": math.nan, "feasible": False, "runtime_s": math.nan,
                           "status": "error", "error": "", "plan": None}
    t0 = time.perf_counter()
    try:
        obj = get_planner(planner, **dict(params or {}))
        t0 = time.perf_counter()
        plan = obj.plan(instance, seed=seed, time_limit=time_limit)
        row["runtime_s"] = time.perf_counter() - t0
        if not isinstance(plan, Plan):
            raise TypeError(f"plan() returned {type(plan).__name__}, not a Plan")
        row["plan"] = plan
        row["bound"] = _finite(plan.stats.get("bound"))
        status = str(plan.stats.get("status", "heuristic"))
        if not plan.routes and instance.n_requests:
            row["status"] = status if status in ("infeasible", "error") else "infeasible"
            row["error"] = str(plan.stats.get("message", "") or "no plan found")
            return row
        ev = evaluate(instance, plan)
        row["feasible"] = bool(ev.feasible)
        if math.isfinite(ev.total):
            row.update(total=ev.total, first_stage=ev.first_stage, second_stage=ev.second_stage)
        if ev.feasible:
            row["status"] = status if status in _SCORED else "heuristic"
        else:
            row["status"] = "infeasible"
            more = f" (+{len(ev.violations) - 1} more)" if len(ev.violations) > 1 else ""
            row["error"] = (ev.violations[0] + more) if ev.violations else "infeasible plan"
    except Exception as exc:  # a failing planner is a result, not a crash
        if math.isnan(row["runtime_s"]):
            row["runtime_s"] = time.perf_counter() - t0
        row["status"] = "error"
        row["error"] = error_text(exc)
    return row


@dataclass(frozen=True)
class GapReference:
    """What gaps are measured against.

    Attributes
    ----------
    value : float
        The reference cost (``nan`` when there is none).
    label : str
        ``"optimum"`` (a proven optimal plan's cost), ``"bound"`` (the best
        proven lower bound, when no run proved optimality), ``"best found"``
        (the cheapest feasible plan; proves nothing) or ``""``.
    source : str
        The planner the reference comes from.
    """

    value: float
    label: str
    source: str = ""


def gap_reference(rows: Iterable[Mapping[str, Any]], *, allow_best: bool = True) -> GapReference:
    """The gap reference of the runs of one instance.

    A run with status ``optimal`` gives the optimum (the cheapest such, as
    scored by the evaluator); otherwise the largest finite ``bound`` of any
    run; otherwise, if ``allow_best``, the cheapest feasible plan.

    Examples
    --------
    >>> gap_reference([{"planner": "a", "status": "heuristic", "total": 10.0,
    ...                 "bound": float("nan"), "feasible": True}])
    GapReference(value=10.0, label='best found', source='a')
    """
    rows = list(rows)

    def ok(r: Mapping[str, Any]) -> bool:
        return bool(r.get("feasible")) and math.isfinite(_finite(r.get("total")))

    optimal = [r for r in rows if r.get("status") == "optimal" and ok(r)]
    if optimal:
        best = min(optimal, key=lambda r: float(r["total"]))
        return GapReference(float(best["total"]), "optimum", str(best["planner"]))
    bounded = [r for r in rows if math.isfinite(_finite(r.get("bound")))
               and r.get("status") in _SCORED]
    if bounded:
        best = max(bounded, key=lambda r: float(r["bound"]))
        return GapReference(float(best["bound"]), "bound", str(best["planner"]))
    feasible = [r for r in rows if ok(r)]
    if allow_best and feasible:
        best = min(feasible, key=lambda r: float(r["total"]))
        return GapReference(float(best["total"]), "best found", str(best["planner"]))
    return GapReference(math.nan, "", "")


def add_gaps(rows: Sequence[dict[str, Any]], ref: GapReference) -> None:
    """Set ``gap_pct = 100 (total - ref) / ref`` and ``gap_ref`` on each row, in place."""
    for r in rows:
        total = _finite(r.get("total"))
        if math.isfinite(ref.value) and math.isfinite(total) and r.get("feasible"):
            r["gap_pct"] = (100.0 * (total - ref.value) / abs(ref.value)) if ref.value \
                else 0.0
            r["gap_ref"] = ref.label
        else:
            r["gap_pct"] = math.nan
            r["gap_ref"] = ""


def instance_hash(instance: Instance) -> str:
    """A short content hash of an instance (its canonical JSON, SHA-256, 16 hex digits).

    The instance's name is left out, so two identical instances hash alike.
    """
    data = instance_to_dict(instance)
    data.pop("name", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def versions() -> str:
    """``name=version`` of Python and the packages that decide a result, ``;``-separated."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python={platform.python_version()}"]
    for pkg in ("qkdbench", "numpy", "numba", "pulp", "highspy", "deap"):
        try:
            parts.append(f"{pkg}={version(pkg)}")
        except PackageNotFoundError:
            pass
    return ";".join(parts)


def warm_up() -> None:
    """Compile (or load from Numba's cache) the evaluator's kernels on a tiny instance.

    Called before a comparison is timed and before a sweep fans out, so that no
    planner's run time includes the compilation and the worker processes find
    the kernels in the on-disk cache.
    """
    inst = Instance((1, 2), (Link(1, 2, 200.0),),
                    (Request("f0", 1, 2, Demand((0.0, 1.0, 2.0), (0.2, 0.5, 0.3))),),
                    name="warm-up")
    plan = Plan(inst.name, "warm-up", (Route("f0", (1, 2), (3,), (1,)),))
    evaluate(inst, plan)
    evaluate_batch(inst, [plan, plan])
    available_planners()
