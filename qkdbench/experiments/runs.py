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
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..evaluation import evaluate, evaluate_batch
from ..utils.registry import available_planners, get_planner
from ..model import Demand, Instance, Link, Plan, Request, Route
from ..io import instance_to_dict

__all__ = [
    "output_directory",
    "RUN_FIELDS",
    "GapReference",
    "CLAIM_TOLERANCE",
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
        The planner the reference comes from; when some run's claim was
        rejected (see ``contradicted``) followed by a note saying so.
    contradicted : tuple of str
        Planners whose claimed optimum or lower bound lies above the cheapest
        feasible total found (beyond a relative :data:`CLAIM_TOLERANCE`): their
        claims are not used as a reference.
    """

    value: float
    label: str
    source: str = ""
    contradicted: tuple[str, ...] = ()


#: Relative tolerance by which a claimed optimum or bound may exceed the cheapest
#: feasible total found before the claim counts as contradicted.
CLAIM_TOLERANCE = 1e-9


def _contradicted_claim(r: Mapping[str, Any], best: float) -> str:
    """What in row ``r``'s claims a feasible total of ``best`` contradicts (``""``: nothing)."""
    if not math.isfinite(best):
        return ""
    limit = best + CLAIM_TOLERANCE * max(abs(best), 1.0)
    total, bound = _finite(r.get("total")), _finite(r.get("bound"))
    if r.get("status") == "optimal" and math.isfinite(total) and total > limit:
        return f"optimum {total:.10g}"
    if math.isfinite(bound) and bound > limit:
        return f"bound {bound:.10g}"
    return ""


def gap_reference(rows: Iterable[Mapping[str, Any]], *, allow_best: bool = True) -> GapReference:
    """The gap reference of the runs of one instance.

    A run with status ``optimal`` gives the optimum (the cheapest such, as
    scored by the evaluator); otherwise the largest finite ``bound`` of any
    run; otherwise, if ``allow_best``, the cheapest feasible plan.

    A planner's claims are checked against the evaluator's totals: a run
    whose claimed optimum (its total, under status ``optimal``) or ``bound``
    lies above the cheapest feasible total of any run (beyond a relative
    :data:`CLAIM_TOLERANCE`) is contradicted; none of its claims is used, the
    reference falls back to the next kind, and ``source`` and
    ``contradicted`` say so.

    Examples
    --------
    >>> gap_reference([{"planner": "a", "status": "heuristic", "total": 10.0,
    ...                 "bound": float("nan"), "feasible": True}])
    GapReference(value=10.0, label='best found', source='a', contradicted=())
    >>> ref = gap_reference([
    ...     {"planner": "a", "status": "heuristic", "total": 10.0, "feasible": True},
    ...     {"planner": "b", "status": "optimal", "total": 12.0, "feasible": True}])
    >>> ref.label, ref.value, ref.contradicted
    ('best found', 10.0, ('b',))
    """
    rows = list(rows)

    def ok(r: Mapping[str, Any]) -> bool:
        return bool(r.get("feasible")) and math.isfinite(_finite(r.get("total")))

    feasible = [r for r in rows if ok(r)]
    best_total = min((float(r["total"]) for r in feasible), default=math.nan)
    notes = {str(r.get("planner", "")): claim for r in rows
             if (claim := _contradicted_claim(r, best_total))}
    trusted = [r for r in rows if str(r.get("planner", "")) not in notes]
    contradicted = tuple(notes)
    suffix = ""
    if notes:
        suffix = (" (claim contradicted by a cheaper feasible plan: "
                  + ", ".join(f"{p} claimed {c}" for p, c in notes.items()) + ")")

    def found(value: float, label: str, planner: Any) -> GapReference:
        return GapReference(value, label, f"{planner}{suffix}", contradicted)

    optimal = [r for r in trusted if r.get("status") == "optimal" and ok(r)]
    if optimal:
        best = min(optimal, key=lambda r: float(r["total"]))
        return found(float(best["total"]), "optimum", best["planner"])
    bounded = [r for r in trusted if math.isfinite(_finite(r.get("bound")))
               and r.get("status") in _SCORED]
    if bounded:
        best = max(bounded, key=lambda r: float(r["bound"]))
        return found(float(best["bound"]), "bound", best["planner"])
    if allow_best and feasible:
        best = min(feasible, key=lambda r: float(r["total"]))
        return found(float(best["total"]), "best found", best["planner"])
    return GapReference(math.nan, "", suffix.strip(" ()"), contradicted)


def add_gaps(rows: Sequence[dict[str, Any]], ref: GapReference) -> None:
    """Set ``gap_pct = 100 (total - ref) / ref`` and ``gap_ref`` on each row, in place.

    The gap is ``nan`` (and ``gap_ref`` empty) for a row without a feasible
    finite total and for every row when the reference is not a positive
    finite number (a gap relative to zero means nothing). A row of a planner
    in ``ref.contradicted`` loses a status ``optimal`` (it becomes
    ``feasible``: the plan was scored feasible, its optimality is disproved)
    and its ``error`` says what it claimed.
    """
    usable = math.isfinite(ref.value) and ref.value > 0
    for r in rows:
        total = _finite(r.get("total"))
        if usable and math.isfinite(total) and r.get("feasible"):
            r["gap_pct"] = 100.0 * (total - ref.value) / ref.value
            r["gap_ref"] = ref.label
        else:
            r["gap_pct"] = math.nan
            r["gap_ref"] = ""
        if str(r.get("planner", "")) in ref.contradicted:
            bound = _finite(r.get("bound"))
            claim = "optimality" if r.get("status") == "optimal" else "a lower bound"
            if math.isfinite(bound):
                claim += f" (bound {bound:.10g})"
            if r.get("status") == "optimal":
                r["status"] = "feasible"
            note = (f"claimed {claim}, contradicted by a cheaper feasible plan; "
                    "not used as the gap reference")
            r["error"] = f"{r['error']}; {note}" if r.get("error") else note


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


def output_directory(path: str | Path, option: str, holds: str) -> Path:
    """Make sure ``path`` is a directory to write into (created if missing).

    Parameters
    ----------
    path : str or Path
    option : str
        The command-line option that named it (``-o``, ``--out``).
    holds : str
        What goes into it, for the message.

    Raises
    ------
    InputError
        If ``path`` is a file, or cannot be created.
    """
    from ..exceptions import InputError

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"not a directory ({option} names the directory of {holds})", "",
                         str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the directory: {exc.strerror or exc}", "",
                         str(out)) from None
    return out
