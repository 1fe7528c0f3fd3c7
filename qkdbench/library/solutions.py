"""Solutions files: per instance of a set, the best known expected cost, bound and plan.

``data/SET.solu.json`` (format ``qkdbench-solu/1``), after MIPLIB's ``.solu`` files.
Per instance:

``status``
    ``opt`` (the bound meets the cost within :data:`OPT_GAP`: proven optimal),
    ``best`` (a feasible cost, maybe a bound below it) or ``open`` (no plan yet).
``cost``, ``planner``, ``version``
    The best known expected cost (confirmed by the evaluator), the planner that
    found it and the qkdbench version that stored it.
``bound``, ``bound_source``
    The best proven lower bound and where it came from (``exact``,
    ``lagrangian``, ``relaxation``).
``plan``
    The plan behind ``cost``: its plan-file JSON (``qkdbench-plan/1``), gzipped
    and base64-encoded, so that anyone can score it again.

A ``checksum`` (SHA-256 of the canonical ``instances`` object) finds a file
edited by hand. :func:`propose` holds the acceptance rules of every update.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..evaluation import evaluate
from ..exceptions import InputError
from ..io import plan_from_dict, plan_to_dict
from ..model import Instance, Plan
from ..utils.files import check_output_file, parse_json, read_json
from ..utils.gaps import relative_gap
from ..utils.numbers import check_number
from .sets import LibrarySet, load_instance, load_set, set_file

__all__ = [
    "SOLU_FORMAT",
    "OPT_GAP",
    "COST_TOL",
    "SOLU_STATUSES",
    "BOUND_SOURCES",
    "SOLVE_METHODS",
    "Entry",
    "Solutions",
    "encode_plan",
    "decode_plan",
    "read_solutions",
    "write_solutions",
    "confirm_entry",
    "propose",
    "solve_set",
    "exact_bound_source",
]

#: Format tag of a solutions file.
SOLU_FORMAT = "qkdbench-solu/1"
#: Relative gap at which a cost counts as proven optimal (the exact solver's default).
OPT_GAP = 1e-6
#: Relative tolerance between a stored cost and the evaluator's.
COST_TOL = 1e-9
#: Statuses of an entry.
SOLU_STATUSES: tuple[str, ...] = ("opt", "best", "open")
#: The methods of :func:`solve_set`.
SOLVE_METHODS: tuple[str, ...] = ("lagrangian", "column-generation", "exact", "coqbn")
#: Where a bound may come from.
BOUND_SOURCES: tuple[str, ...] = ("exact", "lagrangian", "linking-lagrangian", "relaxation")


def _version() -> str:
    from .. import __version__

    return __version__


@dataclass(frozen=True)
class Entry:
    """One instance's best known values (see the module notes).

    Attributes
    ----------
    hash : str
        Content hash of the instance the values are for.
    status : {"open", "best", "opt"}
        As the module notes say.
    cost : float or None
        Best known expected cost.
    planner, version : str or None
        Who found it, and the qkdbench version that stored it.
    bound : float or None
        Best proven lower bound.
    bound_source : str or None
        One of :data:`BOUND_SOURCES`.
    plan : str or None
        The plan behind ``cost`` (:func:`encode_plan`).
    """

    hash: str
    status: str = "open"
    cost: float | None = None
    planner: str | None = None
    version: str | None = None
    bound: float | None = None
    bound_source: str | None = None
    plan: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as the solutions file holds it.

        Returns
        -------
        dict
            Every field, ``None`` where unknown.
        """
        return {
            "hash": self.hash,
            "status": self.status,
            "cost": self.cost,
            "planner": self.planner,
            "version": self.version,
            "bound": self.bound,
            "bound_source": self.bound_source,
            "plan": self.plan,
        }

    @property
    def gap(self) -> float:
        """Certified relative gap ``(cost - bound) / cost`` (``nan`` if either is missing)."""
        if self.cost is None or self.bound is None:
            return math.nan
        return relative_gap(self.cost, self.bound)


def _status(cost: float | None, bound: float | None) -> str:
    if cost is None:
        return "open"
    if bound is not None and relative_gap(cost, bound) <= OPT_GAP:
        return "opt"
    return "best"


@dataclass(frozen=True)
class Solutions:
    """A set's solutions file: ``entries`` by instance name.

    Attributes
    ----------
    set_name : str
        The set the file belongs to.
    entries : Mapping of str to Entry
        By instance name.
    source : str
        The file read (empty for one not read from a file).
    """

    set_name: str
    entries: Mapping[str, Entry]
    source: str = ""


def encode_plan(plan: Plan) -> str:
    """A plan as base64 text of its gzipped plan-file JSON.

    Parameters
    ----------
    plan : Plan
        The plan to store.

    Returns
    -------
    str
        ASCII text; the same plan always gives the same text (sorted keys, no gzip time).

    Examples
    --------
    >>> from qkdbench.model import Plan
    >>> decode_plan(encode_plan(Plan("i", "p", ()))).planner
    'p'
    """
    raw = json.dumps(plan_to_dict(plan), sort_keys=True, separators=(",", ":"))
    return base64.b64encode(gzip.compress(raw.encode("utf-8"), mtime=0)).decode("ascii")


def decode_plan(text: str, place: str = "plan", source: str = "") -> Plan:
    """The plan :func:`encode_plan` stored.

    Parameters
    ----------
    text : str
        What :func:`encode_plan` returned.
    place : str, optional
        Named in errors (default ``plan``).
    source : str, optional
        The file named in errors.

    Returns
    -------
    Plan

    Raises
    ------
    InputError
        If the text is not a gzipped, base64-encoded plan file.
    """
    try:
        raw = gzip.decompress(base64.b64decode(text, validate=True)).decode("utf-8")
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise InputError(f"stored plan is damaged ({type(exc).__name__})", place, source) from None
    try:
        data = parse_json(raw)
    except InputError as exc:
        raise InputError(f"stored plan is damaged ({exc.problem})", place, source) from None
    try:
        return plan_from_dict(data)
    except InputError as exc:
        raise InputError(f"stored plan: {exc.problem}", place, source) from None


def _checksum(instances: Mapping[str, Any]) -> str:
    text = json.dumps(instances, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _number(v: Any, place: str, src: str, nonneg: bool = False) -> float | None:
    if v is None:
        return None
    return check_number(v, place, nonneg=nonneg, source=src)


def _text_or_none(item: Mapping[str, Any], key: str, place: str, src: str) -> str | None:
    v = item.get(key)
    if v is not None and (not isinstance(v, str) or not v):
        raise InputError(
            f"expected a non-empty string or null, got {v!r:.40}", f"{place}.{key}", src
        )
    return v


#: The keys of a solutions file's entry.
_ENTRY_KEYS = frozenset(
    ("hash", "status", "cost", "planner", "version", "bound", "bound_source", "plan")
)


def read_solutions(
    set_name: str, path: str | os.PathLike | None = None, *, missing_ok: bool = False
) -> Solutions:
    """Read and check a set's solutions file.

    Parameters
    ----------
    set_name : str
        A shipped set; its instances' hashes must match the file's.
    path : path-like, optional
        Default: the shipped file.
    missing_ok : bool
        A missing file reads as one with no entries.

    Returns
    -------
    Solutions

    Raises
    ------
    InputError
        One line naming the file and place: malformed, another set, a checksum
        that does not match (edited by hand), an instance not in the set or of
        another hash, a bound above the cost, a status that does not follow
        from cost and bound.
    """
    libset = load_set(set_name)
    src = os.fspath(path) if path is not None else str(set_file(set_name, "solu"))
    if not src or not Path(src).exists():  # Path("") is the current directory
        if missing_ok:
            return Solutions(set_name, {}, src)
        raise InputError("no such file", "", src)
    data = read_json(src)
    if not isinstance(data, dict) or data.get("format") != SOLU_FORMAT:
        raise InputError(f"not a solutions file (format must be {SOLU_FORMAT!r})", "format", src)
    for key in sorted(set(data) - {"format", "set", "checksum", "instances"}):
        raise InputError(f"unknown key {key!r}", key, src)
    if data.get("set") != set_name:
        raise InputError(f"solutions of set {data.get('set')!r}, not {set_name!r}", "set", src)
    raw = data.get("instances")
    if not isinstance(raw, dict):
        raise InputError("expected an object", "instances", src)
    if data.get("checksum") != _checksum(raw):
        raise InputError(
            "checksum does not match the instances (file edited by hand or "
            "damaged); restore it or rebuild it with `qkdbench library solve`",
            "checksum",
            src,
        )
    entries = {}
    for name, item in raw.items():
        place = f"instances.{name}"
        if name not in libset.by_name:
            raise InputError(f"set {set_name!r} has no instance {name!r}", place, src)
        if not isinstance(item, dict):
            raise InputError("expected an object", place, src)
        for key in sorted(set(item) - _ENTRY_KEYS):
            raise InputError(f"unknown key {key!r}", f"{place}.{key}", src)
        texts = {
            k: _text_or_none(item, k, place, src)
            for k in ("planner", "version", "bound_source", "plan")
        }
        if item.get("hash") != libset.by_name[name].hash:
            raise InputError(
                f"hash {item.get('hash')!r} is not the set's {libset.by_name[name].hash!r}",
                f"{place}.hash",
                src,
            )
        cost = _number(item.get("cost"), f"{place}.cost", src, nonneg=True)
        bound = _number(item.get("bound"), f"{place}.bound", src)
        if cost is not None and bound is not None and bound > cost + COST_TOL * abs(cost):
            raise InputError(f"bound {bound!r} above cost {cost!r}", f"{place}.bound", src)
        if bound is not None and item.get("bound_source") not in BOUND_SOURCES:
            raise InputError(
                f"bound_source must be one of {', '.join(BOUND_SOURCES)}",
                f"{place}.bound_source",
                src,
            )
        if (cost is None) != (item.get("plan") is None):
            raise InputError("a cost needs its plan and a plan its cost", place, src)
        status = item.get("status")
        if status != _status(cost, bound):
            raise InputError(
                f"status {status!r} does not follow from cost and bound ({_status(cost, bound)!r})",
                f"{place}.status",
                src,
            )
        entries[name] = Entry(
            item["hash"],
            status,
            cost,
            texts["planner"],
            texts["version"],
            bound,
            texts["bound_source"],
            texts["plan"],
        )
    return Solutions(set_name, entries, src)


def write_solutions(sol: Solutions, path: str | os.PathLike | None = None) -> Path:
    """Write a solutions file (instances in the set's order, with their checksum).

    Parameters
    ----------
    sol : Solutions
        The entries to write; those of instances the set does not have are left out.
    path : str or os.PathLike, optional
        Default: the set's package-data solutions file. Written through a temporary file
        beside it, then renamed.

    Returns
    -------
    Path
    """
    libset = load_set(sol.set_name)
    out = Path(path) if path is not None else set_file(sol.set_name, "solu")
    instances = {
        i.name: sol.entries[i.name].to_dict() for i in libset.instances if i.name in sol.entries
    }
    data = {
        "format": SOLU_FORMAT,
        "set": sol.set_name,
        "checksum": _checksum(instances),
        "instances": instances,
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def confirm_entry(instance: Instance, entry: Entry, source: str = "") -> float:
    """Score an entry's stored plan with the evaluator and check its stored cost.

    Parameters
    ----------
    instance : Instance
        The instance the entry is for.
    entry : Entry
        A stored entry.
    source : str, optional
        The solutions file, named in errors.

    Returns
    -------
    float
        The evaluator's expected cost (``nan`` for an entry without a plan).

    Raises
    ------
    InputError
        If the plan is damaged, infeasible, or costs other than stored (beyond
        :data:`COST_TOL` relative).
    """
    if entry.plan is None:
        return math.nan
    place = f"instances.{instance.name}.plan"
    ev = evaluate(instance, decode_plan(entry.plan, place, source))
    if not ev.feasible:
        raise InputError(
            f"stored plan is infeasible: {ev.violations[0] if ev.violations else 'not scored'}",
            place,
            source,
        )
    if entry.cost is None or abs(ev.total - entry.cost) > COST_TOL * max(1.0, abs(ev.total)):
        raise InputError(
            f"stored cost {entry.cost!r} but the evaluator scores its plan {ev.total!r}",
            place,
            source,
        )
    return float(ev.total)


def propose(
    instance: Instance,
    entry: Entry | None,
    hash_: str,
    *,
    plan: Plan | None = None,
    bound: float | None = None,
    bound_source: str | None = None,
) -> tuple[Entry, list[str]]:
    """Apply the acceptance rules to one candidate plan and/or bound.

    Rules: a plan counts only at the cost the evaluator gives it (and only if
    feasible); a cost replaces the stored one only if lower (beyond
    :data:`COST_TOL`); a bound replaces the stored one only if higher, and never
    if it lies above a known feasible cost (stored or new); the status follows
    from cost and bound (``opt`` only when the bound proves the cost).

    Parameters
    ----------
    instance : Instance
    entry : Entry or None
        What is stored (``None``: nothing yet).
    hash_ : str
        The instance's content hash.
    plan : Plan, optional
    bound : float, optional
    bound_source : str, optional
        One of :data:`BOUND_SOURCES` (needed with ``bound``).

    Returns
    -------
    (Entry, list of str)
        The updated entry and one message per decision.

    Raises
    ------
    ValueError
        If a finite ``bound`` comes without a ``bound_source`` of :data:`BOUND_SOURCES`.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> from qkdbench.utils.registry import get_planner
    >>> inst = make_instance("nsfnet", 3, 2, seed=1)
    >>> plan = get_planner("coqbn").plan(inst)
    >>> e, _ = propose(inst, None, "h", plan=plan, bound=1e99, bound_source="lagrangian")
    >>> e.status, e.bound is None
    ('best', True)
    """
    e = entry or Entry(hash_)
    notes: list[str] = []
    if plan is not None:
        ev = evaluate(instance, plan)
        if not ev.feasible:
            notes.append(f"plan of {plan.planner} rejected: infeasible")
        elif e.cost is None or ev.total < e.cost - COST_TOL * abs(e.cost):
            notes.append(
                f"cost {ev.total:.12g} by {plan.planner} accepted"
                + (f" (was {e.cost:.12g})" if e.cost is not None else "")
            )
            e = replace(
                e,
                cost=float(ev.total),
                planner=plan.planner,
                version=_version(),
                plan=encode_plan(plan),
            )
        else:
            notes.append(f"cost {ev.total:.12g} by {plan.planner} not better than {e.cost:.12g}")
    if bound is not None and math.isfinite(bound):
        if bound_source not in BOUND_SOURCES:
            raise InputError(f"bound_source must be one of {BOUND_SOURCES}")
        if e.cost is not None and bound > e.cost + COST_TOL * abs(e.cost):
            notes.append(
                f"{bound_source} bound {bound:.12g} rejected: above the known cost {e.cost:.12g}"
            )
        elif e.bound is None or bound > e.bound:
            notes.append(f"{bound_source} bound {bound:.12g} accepted")
            e = replace(
                e,
                bound=min(float(bound), e.cost) if e.cost is not None else float(bound),
                bound_source=bound_source,
            )
        else:
            notes.append(f"{bound_source} bound {bound:.12g} not above {e.bound:.12g}")
    if e.bound is not None and e.cost is not None and e.bound > e.cost:
        e = replace(e, bound=e.cost)  # a stored bound a new plan undercut (within tolerance)
    return replace(e, status=_status(e.cost, e.bound)), notes


def exact_bound_source(plan: Plan) -> str:
    """The solutions file's name for where the exact solver's bound came from.

    :func:`~qkdbench.exact.solve_sp` reports the better of the MILP solver's dual
    bound (``"solver"``, stored as ``exact``) and the relaxations it knows
    (``"relaxation"``, the capacity-free bound, caps lifted too on a coupled
    instance; ``"lagrangian"``, ``"linking-lagrangian"``), in ``plan.stats``.

    Parameters
    ----------
    plan : Plan
        The plan of a :func:`~qkdbench.exact.solve_sp` result.

    Returns
    -------
    str
        One of :data:`BOUND_SOURCES`.

    Examples
    --------
    >>> from qkdbench.model import Plan
    >>> exact_bound_source(Plan("i", "exact", (), {"bound_source": "relaxation"}))
    'relaxation'
    >>> exact_bound_source(Plan("i", "exact", (), {"bound_source": "solver"}))
    'exact'
    """
    source = str(plan.stats.get("bound_source") or "solver")
    return "exact" if source == "solver" or source not in BOUND_SOURCES else source


def solve_set(
    set_name: str,
    *,
    time_limit: float = 60.0,
    instances: Sequence[str] = (),
    methods: Sequence[str] = ("lagrangian", "exact"),
    path: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = None,
) -> Solutions:
    """Run the Lagrangian planner and/or the exact solver and update the solutions file.

    Parameters
    ----------
    set_name : str
    time_limit : float
        Seconds per method and instance.
    instances : sequence of str
        Instance names (default: all of the set).
    methods : sequence of str
        Of :data:`SOLVE_METHODS`. ``lagrangian``: the ``lagrangian`` planner (a
        plan and its Lagrangian bound); ``column-generation``: that planner (a
        plan and the linking bound); ``exact``: :func:`qkdbench.exact.solve_sp` (a plan and the
        best bound it proves, stored under its source, :func:`exact_bound_source`;
        ``optimal`` proves the plan; on a coupled instance, the model over its joint
        scenarios); ``coqbn``: CO-QBN's plan, no
        bound (a first known cost where no other method handles the instance: the
        coupled second stage).
    path : path-like, optional
        The solutions file (default: the shipped one); a missing file starts empty.
    log : callable, optional

    Returns
    -------
    Solutions
        As written.

    Raises
    ------
    InputError
        Before any solve: an unknown set, instance or method; a method whose planner
        does not handle an instance to solve (``exact``: the ``exact`` planner); a
        solutions file that cannot be written; a damaged solutions file, or one with an
        entry whose stored plan the evaluator scores other than its stored cost (every
        entry is re-scored, not only those of ``instances``).
    """
    from ..exact import solve_sp
    from ..utils.registry import check_supports, get_planner

    log = log or (lambda msg: None)
    bad = sorted(set(methods) - set(SOLVE_METHODS))
    if bad:
        raise InputError(f"unknown method {bad[0]!r} ({', '.join(SOLVE_METHODS)})", "--methods")
    libset: LibrarySet = load_set(set_name)
    for name in instances:
        libset.get(name)
    out = path if path is not None else set_file(set_name, "solu")
    check_output_file(out, "--solutions")  # before any work: a solve is not lost
    sol = read_solutions(set_name, path, missing_ok=True)
    entries = dict(sol.entries)
    todo = [i for i in libset.instances if not instances or i.name in instances]
    loaded: dict[str, Instance] = {}
    for item in libset.instances:  # every stored cost is re-scored, not only those solved
        if item.name in entries and entries[item.name].plan is not None:
            loaded[item.name] = load_instance(item, libset.source)
            confirm_entry(loaded[item.name], entries[item.name], sol.source)
    planners = {m: get_planner(m) for m in methods}
    for item in todo:  # a method that cannot solve an instance is refused before any solve
        inst = loaded.get(item.name) or load_instance(item, libset.source)
        loaded[item.name] = inst
        for planner in planners.values():
            check_supports(planner, inst)
    for item in todo:
        inst = loaded[item.name]
        for method in methods:
            if method != "exact":
                plan = planners[method].plan(inst, seed=0, time_limit=time_limit)
                bound = plan.stats.get("bound")
                e, notes = propose(
                    inst,
                    entries.get(item.name),
                    item.hash,
                    plan=plan if plan.routes or not inst.n_requests else None,
                    bound=bound,
                    bound_source=str(plan.stats.get("bound_source", "lagrangian")),
                )
            else:
                res = solve_sp(inst, time_limit=time_limit)
                e, notes = propose(
                    inst,
                    entries.get(item.name),
                    item.hash,
                    plan=res.plan if res.plan.routes else None,
                    bound=res.bound if math.isfinite(res.bound) else None,
                    bound_source=exact_bound_source(res.plan),
                )
                notes.insert(0, f"exact {res.status} in {res.runtime_s:.1f} s")
            entries[item.name] = e
            log(f"{item.name}: {method}: {'; '.join(notes)} -> {e.status}")
        # write after every instance: an interrupted solve keeps what it found
        sol = Solutions(set_name, entries, sol.source)
        write_solutions(sol, path)
    return sol
