"""Gaps: what the runs of one instance are measured against, and each run's gap to it.

:func:`gap_reference` picks the reference of a set of runs (a proven optimum,
else the best proven lower bound, else the cheapest plan found), after checking
every planner's claims against the evaluator's totals; :func:`add_gaps` writes
each run's gap to it. :func:`reference_from_run` does the same for one stored
run of the reference planner, as a sweep has it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..utils.statuses import FEASIBLE, HEURISTIC, OPTIMAL, USABLE_STATUSES
from .values import as_bool, float_or_nan

__all__ = ["GapReference", "CLAIM_TOLERANCE", "gap_reference", "add_gaps", "reference_from_run"]


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


def _contradicted_claim(run: Mapping[str, Any], best: float) -> str:
    """What in ``run``'s claims a feasible total of ``best`` contradicts (``""``: nothing)."""
    if not math.isfinite(best):
        return ""
    limit = best + CLAIM_TOLERANCE * max(abs(best), 1.0)
    total, bound = float_or_nan(run.get("total")), float_or_nan(run.get("bound"))
    if run.get("status") == OPTIMAL and math.isfinite(total) and total > limit:
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

    Parameters
    ----------
    rows : iterable of Mapping
        Run records (:func:`~qkdbench.experiments.runs.run_planner`): ``planner``,
        ``status``, ``total``, ``bound`` and ``feasible`` are read.
    allow_best : bool
        Whether the cheapest feasible plan may stand in when nothing is proven.

    Returns
    -------
    GapReference

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

    def scored(run: Mapping[str, Any]) -> bool:
        return bool(run.get("feasible")) and math.isfinite(float_or_nan(run.get("total")))

    feasible = [r for r in rows if scored(r)]
    best_total = min((float(r["total"]) for r in feasible), default=math.nan)
    notes = {
        str(r.get("planner", "")): claim
        for r in rows
        if (claim := _contradicted_claim(r, best_total))
    }
    trusted = [r for r in rows if str(r.get("planner", "")) not in notes]
    contradicted = tuple(notes)
    suffix = ""
    if notes:
        suffix = (
            " (claim contradicted by a cheaper feasible plan: "
            + ", ".join(f"{p} claimed {c}" for p, c in notes.items())
            + ")"
        )

    def found(value: float, label: str, planner: Any) -> GapReference:
        return GapReference(value, label, f"{planner}{suffix}", contradicted)

    optimal = [r for r in trusted if r.get("status") == OPTIMAL and scored(r)]
    if optimal:
        best = min(optimal, key=lambda r: float(r["total"]))
        return found(float(best["total"]), "optimum", best["planner"])
    bounded = [
        r
        for r in trusted
        if math.isfinite(float_or_nan(r.get("bound"))) and r.get("status") in USABLE_STATUSES
    ]
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

    Parameters
    ----------
    rows : sequence of dict
        Run records; changed in place.
    ref : GapReference

    Examples
    --------
    >>> rows = [{"planner": "a", "total": 11.0, "feasible": True, "error": ""}]
    >>> add_gaps(rows, GapReference(10.0, "optimum", "b"))
    >>> rows[0]["gap_pct"], rows[0]["gap_ref"]
    (10.0, 'optimum')
    """
    usable = math.isfinite(ref.value) and ref.value > 0
    for r in rows:
        total = float_or_nan(r.get("total"))
        if usable and math.isfinite(total) and r.get("feasible"):
            r["gap_pct"] = 100.0 * (total - ref.value) / ref.value
            r["gap_ref"] = ref.label
        else:
            r["gap_pct"] = math.nan
            r["gap_ref"] = ""
        if str(r.get("planner", "")) in ref.contradicted:
            bound = float_or_nan(r.get("bound"))
            claim = "optimality" if r.get("status") == OPTIMAL else "a lower bound"
            if math.isfinite(bound):
                claim += f" (bound {bound:.10g})"
            if r.get("status") == OPTIMAL:
                r["status"] = FEASIBLE
            note = (
                f"claimed {claim}, contradicted by a cheaper feasible plan; "
                "not used as the gap reference"
            )
            r["error"] = f"{r['error']}; {note}" if r.get("error") else note


def reference_from_run(
    run: Mapping[str, Any] | None, evidence: Mapping[str, Any] | None = None
) -> GapReference:
    """The reference planner's one ``run`` as a gap reference, its claims checked.

    Parameters
    ----------
    run : Mapping or None
        The reference planner's record (its cells may be strings, as read back
        from a results file). ``None``: no reference.
    evidence : Mapping, optional
        Another run of the same instance; only its feasible total counts,
        against which the reference's claimed optimum or bound is checked.

    Returns
    -------
    GapReference
        Never the cheapest plan found: only a proven optimum or bound.

    Examples
    --------
    >>> ref = reference_from_run({"planner": "exact", "status": "optimal", "total": "12.0",
    ...                           "bound": "", "feasible": "True"})
    >>> ref.value, ref.label
    (12.0, 'optimum')
    >>> reference_from_run(None).label
    ''
    """
    if run is None:
        return GapReference(math.nan, "", "")
    clean = [
        {
            "planner": run.get("planner", ""),
            "status": str(run.get("status", "")),
            "total": float_or_nan(run.get("total")),
            "bound": float_or_nan(run.get("bound")),
            "feasible": as_bool(run.get("feasible")),
        }
    ]
    if evidence is not None:
        clean.append(
            {
                "planner": f"{evidence.get('planner', '')} (evidence)",
                "status": HEURISTIC,
                "total": float_or_nan(evidence.get("total")),
                "bound": math.nan,
                "feasible": as_bool(evidence.get("feasible")),
            }
        )
    return gap_reference(clean, allow_best=False)
