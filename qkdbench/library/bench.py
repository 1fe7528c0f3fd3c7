"""``qkdbench bench``: planners over a library set, each run scored against the best known.

Runs on the sweep engine (:func:`qkdbench.experiments.sweep.run_jobs`): Dask
LocalCluster by default, a scheduler address, or in-process; one row of
``DIR/results.csv`` per run, appended the moment it finishes; ``resume`` skips
the runs already stored. Each run rebuilds its instance from the set's recipe,
checks the content hash, runs the planner and scores the plan with the
evaluator; the row holds the set's best known cost, its status and bound (from
the solutions file) and the run's gaps to them:

``gap_to_best_pct``
    ``100 (total - best_cost) / best_cost``: signed, negative when the run beats
    the best known cost (``qkdbench library solve`` has work to do then).
``gap_to_bound_pct``
    ``100 (total - best_bound) / total`` (the project's certified gap, never negative).

Repeated runs: with ``repeats=R`` every stochastic planner runs ``R`` times
per instance, run ``r`` (column ``repeat``, from 0) with planner seed ``s + r``,
``s`` the recipe's seed (so run 0 is the run of a bench without repeats, and
the seeds of a pair are ``s, s + 1, ..., s + R - 1``; the planners turn a seed
into independent streams through :mod:`qkdbench.utils.random`). A planner
that declares ``deterministic`` (:func:`~qkdbench.utils.registry.is_deterministic`:
the seed changes nothing) runs once, ``repeat`` 0, column ``deterministic`` true.

Anytime traces: every run with a feasible plan adds its trace to
``DIR/traces.csv`` (:data:`~qkdbench.library.report_anytime.TRACE_COLUMNS`,
the file :func:`~qkdbench.library.report_anytime.read_traces` reads and
``qkdbench report`` finds beside the results), written before its results
row: the records of ``plan.stats["anytime"]`` (``seconds``, ``best``, and
``evaluations`` and ``bound`` where the planner logs them), then the run's
final cost at its run time if the log does not end there; a planner without
a log gets that final point alone (before its first row a run has no
solution, so the final point is the whole trace). A log whose best cost falls
below the evaluator's cost of the returned plan is not used (the final point
stands in). ``trace_points`` counts a run's rows.

Warm-up: before a run is timed, the process (each Dask worker, or this one)
runs the planner once on three requests of the instance, for at most 5 s
(:func:`~qkdbench.experiments.runs.warm_up_planner`), once per planner,
parameters and model features, so that ``runtime_s`` measures the planner, not
Numba's compilation (or loading its cache) and the first imports; ``warm_up``
says ``ran`` (this run's process warmed up just before it, ``warm_up_s``
seconds), ``warm`` (it had before) or ``off`` (``warm_up=False``).

The configuration (set, instances, planners, repeats, time limit, planner
parameters, warm-up) is stored in ``DIR/bench.json``; resuming with another
is refused. Every row carries the set's name and the qkdbench version; results
of another set or version are refused (resume, report).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..exceptions import InputError
from ..experiments.output import output_directory
from ..experiments.provenance import instance_hash, versions
from ..experiments.runs import error_text, run_planner, warm_up_planner
from ..experiments.store import read_results, results_table
from ..experiments.sweep import run_jobs
from ..experiments.values import as_bool
from ..utils.files import read_text
from ..utils.gaps import relative_gap
from ..utils.records import Column, refuse_duplicates
from ..utils.registry import is_deterministic
from ..utils.statuses import ERROR, USABLE_STATUSES
from .report_anytime import TRACE_COLUMNS
from .sets import LibrarySet, instance_from_recipe, load_set
from .solutions import read_solutions

__all__ = [
    "BENCH_COLUMNS",
    "BENCH_CONFIG",
    "BENCH_FORMAT",
    "TRACES_FILE",
    "BENCH_SCHEMA",
    "BENCH_ROW_KEY",
    "BenchPoint",
    "planner_seed",
    "run_trace",
    "run_bench_point",
    "bench",
    "read_bench_results",
    "check_results_rows",
]

#: The configuration file of a bench directory.
BENCH_CONFIG = "bench.json"
#: Its format tag.
BENCH_FORMAT = "qkdbench-bench/1"
#: The anytime traces of a bench directory (``qkdbench report`` reads it beside the results).
TRACES_FILE = "traces.csv"

#: Columns of a bench ``results.csv``, in order.
BENCH_COLUMNS: tuple[str, ...] = (
    "set",
    "instance",
    "planner",
    "repeat",
    "instance_hash",
    "topology",
    "requests",
    "max_rate",
    "seed",
    "deterministic",
    "total",
    "first_stage",
    "second_stage",
    "feasible",
    "status",
    "bound",
    "best_cost",
    "best_status",
    "best_bound",
    "best_bound_source",
    "gap_to_best_pct",
    "gap_to_bound_pct",
    "runtime_s",
    "time_limit_s",
    "warm_up",
    "warm_up_s",
    "trace_points",
    "error",
    "qkdbench_version",
    "versions",
)


#: What the bench's own cells may hold (the shared ones: :data:`RESULT_SCHEMA`).
BENCH_SCHEMA: tuple[Column, ...] = (
    Column("set", required=True),
    Column("instance", required=True),
    Column("best_cost", "number", nonneg=True),
    Column("best_status", "choice", required=True, choices=("opt", "best", "open")),
    Column("best_bound", "number"),
    Column("gap_to_best_pct", "number"),
    Column("gap_to_bound_pct", "number"),
    Column("qkdbench_version", required=True),
)
#: The columns that identify a run of a bench results file: a second row with the same
#: values is a run counted twice, and refused (repeated runs differ in ``seed``).
BENCH_ROW_KEY: tuple[str, ...] = ("set", "instance", "planner", "seed")
#: Relative slack of "a total is not below the proven bound" (rounding of a stored bound).
BOUND_TOL = 1e-6


def _version() -> str:
    from .. import __version__

    return __version__


class BenchPoint(NamedTuple):
    """One run of a bench: a planner on an instance of a set, its ``repeat``-th run."""

    set: str
    instance: str
    planner: str
    repeat: int = 0

    @property
    def instance_key(self) -> tuple[str, str]:
        """Which instance it runs on."""
        return (self.set, self.instance)


def _key(row: Mapping[str, Any]) -> tuple[str, str, str, int] | None:
    try:
        return (str(row["set"]), str(row["instance"]), str(row["planner"]), int(row["repeat"]))
    except (KeyError, TypeError, ValueError):
        return None


def planner_seed(recipe_seed: int, repeat: int) -> int:
    """The planner's seed of a bench run: the recipe's seed plus the repeat.

    Parameters
    ----------
    recipe_seed : int
        The instance recipe's ``seed``.
    repeat : int
        The run's number among the repeats of its (planner, instance), from 0.

    Returns
    -------
    int

    Examples
    --------
    >>> [planner_seed(3, r) for r in range(3)]
    [3, 4, 5]
    """
    return int(recipe_seed) + int(repeat)


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v >= 0 else None


def run_trace(
    stats: Mapping[str, Any], total: float, runtime_s: float, bound: float = math.nan
) -> list[dict[str, Any]]:
    """The trace rows of one run with a feasible plan (see the module notes).

    Parameters
    ----------
    stats : Mapping
        The plan's ``stats``; its ``anytime`` records (``seconds``, ``best``,
        optional ``evaluations`` and ``bound``) are used if consistent.
    total : float
        The evaluator's cost of the plan.
    runtime_s : float
        The run's time.
    bound : float
        The run's lower bound (``nan``: none), on the final point.

    Returns
    -------
    list of dict
        ``seconds, evaluations, best_cost, best_bound`` (empty cells ``""``),
        in time order; empty when ``total`` is not finite.

    Examples
    --------
    >>> [r["best_cost"] for r in run_trace({}, 5.0, 0.25)], run_trace({}, 5.0, 0.25)[0]["seconds"]
    ([5.0], 0.25)
    >>> log = [{"seconds": 0.1, "evaluations": 10, "best": 7.0},
    ...        {"seconds": 0.2, "evaluations": 50, "best": 5.0}]
    >>> [(r["seconds"], r["best_cost"]) for r in run_trace({"anytime": log}, 5.0, 0.3)]
    [(0.1, 7.0), (0.2, 5.0)]
    """
    if not math.isfinite(total):
        return []
    tol = 1e-9 * max(abs(total), 1.0)
    rows: list[dict[str, Any]] = []
    records = stats.get("anytime")
    for rec in records if isinstance(records, list) else []:
        if not isinstance(rec, Mapping):
            continue
        secs, best = _finite(rec.get("seconds")), _finite(rec.get("best"))
        if secs is None or best is None:
            continue
        if best < total - tol:  # cheaper than the plan returned: not this plan's trace
            rows = []
            break
        ev = _finite(rec.get("evaluations"))
        rb = _finite(rec.get("bound"))
        rows.append(
            {
                "seconds": secs,
                "evaluations": int(ev) if ev is not None else "",
                "best_cost": best,
                "best_bound": rb if rb is not None else "",
            }
        )
    rows.sort(key=lambda r: r["seconds"])
    if not rows or min(r["best_cost"] for r in rows) > total + tol:
        end = _finite(runtime_s)
        last = rows[-1]["seconds"] if rows else 0.0
        b = _finite(bound)
        ev = _finite(stats.get("evaluations"))
        evals = int(ev) if ev is not None else (rows[-1]["evaluations"] if rows else "")
        rows.append(
            {
                "seconds": max(end if end is not None else last, last),
                "evaluations": evals,
                "best_cost": float(total),
                "best_bound": b if b is not None and b <= total + tol else "",
            }
        )
    return rows


def run_bench_point(
    point: Sequence[Any], options: Mapping[str, Any], reference: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run one bench point; never raises. Runs in a Dask worker or in-process.

    Parameters
    ----------
    point : BenchPoint or sequence
        ``(set, instance, planner, repeat)``.
    options : Mapping
        ``time_limit``, ``modules``, ``params``, ``warm_up`` (bool),
        ``deterministic`` (per planner) and ``instances``: per instance name
        its ``recipe``, ``hash`` and best known values.
    reference : Mapping, optional
        Unused (the best known values are the reference).

    Returns
    -------
    dict
        One row with the keys of :data:`BENCH_COLUMNS`, and ``_trace``: the
        run's trace rows (:func:`run_trace`, with ``planner``, ``instance``
        and ``seed``) for the bench to store apart.
    """
    p = BenchPoint(*point)
    info = options["instances"][p.instance]
    recipe = info["recipe"]
    seed = planner_seed(int(recipe["seed"]), int(p.repeat))
    params = options.get("params", {}).get(p.planner)
    row: dict[str, Any] = dict.fromkeys(BENCH_COLUMNS, "")
    row.update(
        set=p.set,
        instance=p.instance,
        planner=p.planner,
        repeat=int(p.repeat),
        topology=recipe["topology"],
        requests=recipe["requests"],
        max_rate=recipe["max_rate"],
        seed=seed,
        deterministic=bool(options.get("deterministic", {}).get(p.planner, False)),
        best_cost=info["best_cost"],
        best_status=info["best_status"],
        best_bound=info["best_bound"],
        best_bound_source=info["best_bound_source"] or "",
        time_limit_s=options.get("time_limit"),
        status=ERROR,
        feasible=False,
        warm_up="off",
        trace_points=0,
        qkdbench_version=_version(),
        versions=versions(),
    )
    row["_trace"] = []
    try:
        for mod in options.get("modules", ()):
            importlib.import_module(mod)
        instance = instance_from_recipe(recipe, p.instance)
        row["instance_hash"] = instance_hash(instance)
        if row["instance_hash"] != info["hash"]:
            raise InputError(
                f"rebuilt instance has hash {row['instance_hash']}, the set says {info['hash']}",
                "",
                p.instance,
            )
    except Exception as exc:
        row["error"] = error_text(exc)
        return row
    if options.get("warm_up", True):
        ran, secs = warm_up_planner(
            instance, p.planner, params=params, time_limit=options.get("time_limit")
        )
        row.update(warm_up="ran" if ran else "warm", warm_up_s=secs if ran else "")
    run = run_planner(
        instance, p.planner, seed=seed, time_limit=options.get("time_limit"), params=params
    )
    plan = run.pop("plan", None)
    row.update({k: v for k, v in run.items() if k in row and k not in ("gap_pct", "gap_ref")})
    total = run["total"]
    if run["feasible"] and math.isfinite(total):
        best, bound = info["best_cost"], info["best_bound"]
        if best is not None:
            row["gap_to_best_pct"] = (
                100.0 * (total - best) / abs(best) if best else (0.0 if total == 0 else math.inf)
            )
        if bound is not None:
            row["gap_to_bound_pct"] = 100.0 * relative_gap(total, bound)
        if plan is not None and run["status"] in USABLE_STATUSES:
            trace = run_trace(plan.stats, total, run["runtime_s"], run["bound"])
            head = {"planner": p.planner, "instance": p.instance, "seed": seed}
            row["_trace"] = [{**head, **r} for r in trace]
            row["trace_points"] = len(trace)
    return row


def check_results_rows(
    rows: Sequence[Mapping[str, str]], source: str, set_name: str | None = None
) -> str:
    """Check that stored rows come from one set and this qkdbench version.

    Parameters
    ----------
    rows : sequence of Mapping
    source : str
        The results file, for messages.
    set_name : str, optional
        The set the rows must belong to (default: the first row's).

    Returns
    -------
    str
        The set's name.

    Raises
    ------
    InputError
        If a row lacks the bench columns, names another set or another version.
    """
    version = _version()
    for k, row in enumerate(rows):
        place = f"row {k + 2}"
        if "set" not in row or "qkdbench_version" not in row:
            raise InputError(
                "not a bench results file (no set / qkdbench_version column)", "line 1", source
            )
        if set_name is None:
            set_name = row["set"]
        if row["set"] != set_name:
            raise InputError(f"results of set {row['set']!r}, not {set_name!r}", place, source)
        if row["qkdbench_version"] != version:
            raise InputError(
                f"results of qkdbench {row['qkdbench_version']!r}, this is "
                f"{version!r}; rerun the bench",
                place,
                source,
            )
    if set_name is None:
        raise InputError("no results", "", source)
    return set_name


def read_bench_results(path: str | os.PathLike) -> tuple[str, pd.DataFrame]:
    """Read a bench results file, check it and type its columns.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``qkdbench bench``.

    Returns
    -------
    (str, pandas.DataFrame)
        The set's name and the rows (costs, gaps and times as floats).

    Raises
    ------
    InputError
        For a missing or malformed file (every cell is checked:
        :data:`~qkdbench.experiments.store.RESULT_SCHEMA` and :data:`BENCH_SCHEMA`),
        rows of another set or version, a run stored twice (:data:`BENCH_ROW_KEY`), a
        feasible total below the instance's proven bound, or instances the set does not have (or
        of another hash).
    """
    src = os.fspath(path)
    if Path(src).is_dir():
        raise InputError("is a directory, not a results file (give the results.csv in it)", "", src)
    if not Path(src).is_file():
        raise InputError("no such file", "", src)
    rows = read_results(src, columns=BENCH_SCHEMA)
    set_name = check_results_rows(rows, src)
    refuse_duplicates(rows, BENCH_ROW_KEY, src)
    libset = load_set(set_name)
    for k, row in enumerate(rows):
        item = libset.by_name.get(row["instance"])
        if item is None:
            raise InputError(
                f"set {set_name!r} has no instance {row['instance']!r}", f"row {k + 2}", src
            )
        if row["instance_hash"] and row["instance_hash"] != item.hash:
            raise InputError(
                f"instance hash {row['instance_hash']} is not the set's {item.hash}",
                f"row {k + 2}",
                src,
            )
        total, bound = row["total"].strip(), row["best_bound"].strip()
        feasible = row["feasible"].strip().lower() in ("true", "1")
        if (
            feasible
            and total
            and bound
            and float(total) < float(bound) * (1 - BOUND_TOL) - BOUND_TOL
        ):
            raise InputError(
                f"total {total} is below the proven lower bound {bound} of the instance",
                f"row {k + 2}, total",
                src,
            )
    df = results_table(pd.DataFrame(rows, columns=list(rows[0])))
    for c in ("repeat", "trace_points"):
        if c in df:
            df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype("Int64")
    if "deterministic" in df:
        df["deterministic"] = df["deterministic"].map(as_bool).astype(bool)
    order = {i.name: k for k, i in enumerate(libset.instances)}
    by = ["_o", "planner"] + (["repeat"] if "repeat" in df else [])
    df = df.assign(_o=df["instance"].map(order)).sort_values(by, kind="stable")
    df = df.drop(columns="_o").reset_index(drop=True)
    for c in ("best_cost", "best_bound", "gap_to_best_pct", "gap_to_bound_pct", "warm_up_s"):
        if c in df:
            df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype(float)
    return set_name, df


def _instance_table(libset: LibrarySet, names: Sequence[str]) -> dict[str, Any]:
    sol = read_solutions(libset.name, missing_ok=True)
    out = {}
    for name in names:
        item = libset.get(name)
        e = sol.entries.get(name)
        out[name] = {
            "recipe": dict(item.recipe),
            "hash": item.hash,
            "best_cost": e.cost if e else None,
            "best_status": e.status if e else "open",
            "best_bound": e.bound if e else None,
            "best_bound_source": e.bound_source if e else None,
        }
    return out


def _config_differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """What differs between two configurations, one phrase each (lists compared as sets)."""
    out = []
    for k, v in given.items():
        if k == "format":
            continue
        w = stored.get(k)
        same = (
            sorted(map(str, w)) == sorted(map(str, v))
            if isinstance(v, list) and isinstance(w, list)
            else w == v
        )
        if not same:
            out.append(f"{k} {json.dumps(w)} stored, {json.dumps(v)} given")
    return out


def _check_config(path: Path, config: dict[str, Any], stored_rows: bool, resume: bool) -> None:
    """Refuse to resume with another configuration than the stored one.

    Raises
    ------
    InputError
        With ``resume`` and stored results: no stored configuration, one that
        cannot be read, or one that differs from ``config`` (every difference named).
    """
    if not (resume and stored_rows):
        return
    if not path.is_file():
        raise InputError(
            "holds results but no bench.json with their configuration; choose another --out",
            "",
            str(path.parent),
        )
    try:
        stored = json.loads(read_text(path))
    except ValueError as exc:
        raise InputError(f"not a bench configuration: {exc}", "", str(path)) from None
    if not isinstance(stored, dict) or stored.get("format") != BENCH_FORMAT:
        raise InputError(f"not a {BENCH_FORMAT} file", "", str(path))
    diff = _config_differences(stored, config)
    if diff:
        raise InputError(
            f"the stored bench has another configuration ({'; '.join(diff)}); resume with "
            "its options or choose another --out",
            "",
            str(path),
        )


def _write_config(path: Path, config: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", "", str(path)) from None


def _trace_key(cells: Mapping[str, str]) -> tuple[str, str, int] | None:
    try:
        return (cells["planner"], cells["instance"], int(cells["seed"]))
    except (KeyError, TypeError, ValueError):
        return None


def _prune_traces(path: Path, keep: set[tuple[str, str, int]]) -> None:
    """Keep the trace rows of the stored runs only (a kill may leave a run's trace, no row).

    Lines cut short, of another header or of runs not in ``keep`` are dropped;
    the file is rewritten (atomically) only if something is.
    """
    if not path.exists():
        return
    text = read_text(path)
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    header = next(csv.reader(io.StringIO(lines[0])), [])
    good = [",".join(TRACE_COLUMNS) + "\n"]
    changed = header != list(TRACE_COLUMNS) or not lines[0].endswith("\n")
    for line in lines[1:]:
        try:
            cells = next(csv.reader(io.StringIO(line)))
        except (csv.Error, StopIteration):
            changed = True
            continue
        ok = line.endswith("\n") and len(cells) == len(header)
        if ok and _trace_key(dict(zip(header, cells, strict=True))) in keep:
            good.append(line)
        else:
            changed = True
    if changed:
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text("".join(good), encoding="utf-8")
        tmp.replace(path)


def _trace_cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


class _TraceWriter:
    """Appends each run's trace rows to ``traces.csv``: one write and one sync per run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, row: dict[str, Any]) -> None:
        trace = row.pop("_trace", None) or []
        if not trace:
            return
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if not self.path.exists() or self.path.stat().st_size == 0:
            w.writerow(TRACE_COLUMNS)
        for r in trace:
            w.writerow([_trace_cell(r.get(c, "")) for c in TRACE_COLUMNS])
        try:
            with Path(self.path).open("a", encoding="utf-8", newline="") as fh:
                fh.write(buf.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", "", str(self.path)) from None


def bench(
    set_name: str,
    planners: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    time_limit: float = 60.0,
    instances: Sequence[str] = (),
    repeats: int = 1,
    scheduler: str | None = "local",
    n_workers: int = 2,
    resume: bool = False,
    modules: Sequence[str] = (),
    params: Mapping[str, Mapping[str, Any]] | None = None,
    warm_up: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run planners over a set (or some of its instances) into ``out_dir/results.csv``.

    Parameters
    ----------
    set_name : str
    planners : sequence of str
        Registry names (plug-ins included).
    out_dir : path-like
        Gets ``results.csv``, ``traces.csv`` and ``bench.json`` (the configuration).
    time_limit : float
        Seconds per run.
    instances : sequence of str
        Instance names (default: the whole set).
    repeats : int
        Runs of each stochastic planner per instance (seeds ``s, s + 1, ...``,
        ``s`` the recipe's); a deterministic planner runs once.
    scheduler, n_workers, resume, progress, log
        As :func:`qkdbench.experiments.sweep.run_sweep`.
    modules : sequence of str
        Modules every run imports first (they register planners).
    params : Mapping, optional
        ``{planner: {constructor keyword: value}}`` (JSON values).
    warm_up : bool
        Warm each process up on each planner before its first timed run
        (:func:`~qkdbench.experiments.runs.warm_up_planner`).

    Returns
    -------
    pandas.DataFrame
        The stored rows of this bench (instances in set order, planners as
        given, repeats in order).

    Raises
    ------
    InputError
        Unknown set or instance, no planners, ``repeats`` below 1, ``params``
        that are not JSON or name a planner not benched, a results directory
        holding another set's or version's results or, when resuming, another
        configuration than the stored one, and what the sweep engine refuses.
    """
    libset = load_set(set_name)
    planners = list(dict.fromkeys(p.strip() for p in planners if p.strip()))
    if not planners:
        raise InputError("no planners given", "--planners")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InputError(f"need at least 1 repeat, got {repeats!r}", "--repeats")
    params = {str(k): dict(v) for k, v in (params or {}).items()}
    stray = sorted(set(params) - set(planners))
    if stray:
        raise InputError(f"parameters for planner(s) not benched: {', '.join(stray)}", "--params")
    names = list(dict.fromkeys(instances)) or [i.name for i in libset.instances]
    table = _instance_table(libset, names)
    config: dict[str, Any] = {
        "format": BENCH_FORMAT,
        "set": set_name,
        "instances": names,
        "planners": planners,
        "repeats": repeats,
        "time_limit_s": float(time_limit),
        "params": params,
        "warm_up": bool(warm_up),
        "seeds": "recipe seed + repeat",
    }
    try:
        config = json.loads(json.dumps(config))  # as stored: tuples become lists
    except (TypeError, ValueError) as exc:
        raise InputError(f"planner parameters must be JSON values: {exc}", "--params") from None
    for mod in modules:  # plug-in planners declare themselves here too
        try:
            importlib.import_module(mod)
        except Exception:  # run_jobs reports it, naming the module
            break
    deterministic = {p: is_deterministic(p, params.get(p)) for p in planners}
    points = [
        BenchPoint(set_name, name, planner, r)
        for name in names
        for planner in planners
        for r in range(1 if deterministic[planner] else repeats)
    ]
    options = {
        "time_limit": time_limit,
        "modules": list(modules),
        "params": params,
        "instances": table,
        "warm_up": bool(warm_up),
        "deterministic": deterministic,
        "row_defaults": {"set": set_name, "qkdbench_version": _version()},
    }
    out = output_directory(out_dir, "--out", "results.csv")
    results_path, traces_path, config_path = (
        out / "results.csv",
        out / TRACES_FILE,
        out / BENCH_CONFIG,
    )
    stored = read_results(results_path) if results_path.is_file() else []
    if stored and resume:
        check_results_rows(stored, str(results_path), set_name)
    _check_config(config_path, config, bool(stored), resume)
    if resume or not stored:  # else run_jobs refuses before anything runs
        runs = {_trace_key(r) for r in stored}
        _prune_traces(traces_path, {k for k in runs if k is not None})
        _write_config(config_path, config)

    def check(path: os.PathLike, rows: list[dict[str, str]]) -> None:
        check_results_rows(rows, str(path), set_name)

    path, header = run_jobs(
        points,
        options,
        out_dir,
        run=run_bench_point,
        key=_key,
        columns=BENCH_COLUMNS,
        scheduler=scheduler,
        n_workers=n_workers,
        resume=resume,
        progress=progress,
        log=log,
        check_stored=check,
        label="bench",
        on_row=_TraceWriter(traces_path),
    )
    _, df = read_bench_results(path)
    order = {tuple(p): i for i, p in enumerate(points)}
    keys = [_key(r) for r in df.to_dict(orient="records")]
    df = df.assign(_o=[order.get(k, math.inf) if k else math.inf for k in keys])
    df = df[df["_o"] < math.inf].sort_values("_o").drop(columns="_o")
    return df.drop_duplicates(["set", "instance", "planner", "repeat"]).reset_index(drop=True)
