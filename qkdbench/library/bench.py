"""``qkdbench bench``: planners over a library set, each run scored against the best known.

Runs on the sweep engine (:func:`qkdbench.experiments.sweep.run_jobs`): Dask
LocalCluster by default, a scheduler address, or in-process; one row of
``DIR/results.csv`` per run, appended the moment it finishes; ``resume`` skips
the runs already stored. Each run rebuilds its instance from the set's recipe,
checks the content hash, runs the planner (seed: the recipe's seed) and scores
the plan with the evaluator; the row holds the set's best known cost, its status
and bound (from the solutions file) and the run's gaps to them:

``gap_to_best_pct``
    ``100 (total - best_cost) / best_cost``: signed, negative when the run beats
    the best known cost (``qkdbench library solve`` has work to do then).
``gap_to_bound_pct``
    ``100 (total - best_bound) / total`` (the project's certified gap, never negative).

Every row carries the set's name and the qkdbench version; results of another
set or version are refused (resume, report).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd

from ..exceptions import InputError
from ..experiments.provenance import instance_hash, versions
from ..experiments.runs import error_text, run_planner
from ..experiments.store import read_results, results_table
from ..experiments.sweep import run_jobs
from ..utils.gaps import relative_gap
from ..utils.records import Column, refuse_duplicates
from ..utils.statuses import ERROR
from .sets import LibrarySet, instance_from_recipe, load_set
from .solutions import read_solutions

__all__ = [
    "BENCH_COLUMNS",
    "BENCH_SCHEMA",
    "BENCH_ROW_KEY",
    "BenchPoint",
    "run_bench_point",
    "bench",
    "read_bench_results",
    "check_results_rows",
]

#: Columns of a bench ``results.csv``, in order.
BENCH_COLUMNS: tuple[str, ...] = (
    "set",
    "instance",
    "planner",
    "instance_hash",
    "topology",
    "requests",
    "max_rate",
    "seed",
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
    """One run of a bench: a planner on an instance of a set."""

    set: str
    instance: str
    planner: str

    @property
    def instance_key(self) -> tuple[str, str]:
        """Which instance it runs on."""
        return (self.set, self.instance)


def _key(row: Mapping[str, Any]) -> tuple[str, str, str] | None:
    try:
        return (str(row["set"]), str(row["instance"]), str(row["planner"]))
    except KeyError:
        return None


def run_bench_point(
    point: Sequence[Any], options: Mapping[str, Any], reference: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run one bench point; never raises. Runs in a Dask worker or in-process.

    Parameters
    ----------
    point : BenchPoint or sequence
        ``(set, instance, planner)``.
    options : Mapping
        ``time_limit``, ``modules``, ``params`` and ``instances``: per instance
        name its ``recipe``, ``hash`` and best known values.
    reference : Mapping, optional
        Unused (the best known values are the reference).

    Returns
    -------
    dict
        One row with the keys of :data:`BENCH_COLUMNS`.
    """
    import importlib

    p = BenchPoint(*point)
    info = options["instances"][p.instance]
    recipe = info["recipe"]
    row: dict[str, Any] = {c: "" for c in BENCH_COLUMNS}
    row.update(
        set=p.set,
        instance=p.instance,
        planner=p.planner,
        topology=recipe["topology"],
        requests=recipe["requests"],
        max_rate=recipe["max_rate"],
        seed=recipe["seed"],
        best_cost=info["best_cost"],
        best_status=info["best_status"],
        best_bound=info["best_bound"],
        best_bound_source=info["best_bound_source"] or "",
        time_limit_s=options.get("time_limit"),
        status=ERROR,
        feasible=False,
        qkdbench_version=_version(),
        versions=versions(),
    )
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
    run = run_planner(
        instance,
        p.planner,
        seed=int(recipe["seed"]),
        time_limit=options.get("time_limit"),
        params=options.get("params", {}).get(p.planner),
    )
    run.pop("plan", None)
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
    if os.path.isdir(src):
        raise InputError("is a directory, not a results file (give the results.csv in it)", "", src)
    if not os.path.isfile(src):
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
    order = {i.name: k for k, i in enumerate(libset.instances)}
    df = df.assign(_o=df["instance"].map(order)).sort_values(["_o", "planner"], kind="stable")
    df = df.drop(columns="_o").reset_index(drop=True)
    for c in ("best_cost", "best_bound", "gap_to_best_pct", "gap_to_bound_pct"):
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


def bench(
    set_name: str,
    planners: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    time_limit: float = 60.0,
    instances: Sequence[str] = (),
    scheduler: str | None = "local",
    n_workers: int = 2,
    resume: bool = False,
    modules: Sequence[str] = (),
    params: Mapping[str, Mapping[str, Any]] | None = None,
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
    time_limit : float
        Seconds per run.
    instances : sequence of str
        Instance names (default: the whole set).
    scheduler, n_workers, resume, progress, log
        As :func:`qkdbench.experiments.sweep.run_sweep`.
    modules : sequence of str
        Modules every run imports first (they register planners).
    params : Mapping, optional
        ``{planner: {constructor keyword: value}}``.

    Returns
    -------
    pandas.DataFrame
        The stored rows of this bench (instances in set order, planners as given).

    Raises
    ------
    InputError
        Unknown set or instance, no planners, a results directory holding
        another set's or version's results, and what the sweep engine refuses.
    """
    libset = load_set(set_name)
    planners = list(dict.fromkeys(p.strip() for p in planners if p.strip()))
    if not planners:
        raise InputError("no planners given", "--planners")
    names = list(dict.fromkeys(instances)) or [i.name for i in libset.instances]
    table = _instance_table(libset, names)
    points = [BenchPoint(set_name, name, planner) for name in names for planner in planners]
    options = {
        "time_limit": time_limit,
        "modules": list(modules),
        "params": {k: dict(v) for k, v in (params or {}).items()},
        "instances": table,
        "row_defaults": {"set": set_name, "qkdbench_version": _version()},
    }

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
    )
    _, df = read_bench_results(path)
    order = {tuple(p): i for i, p in enumerate(points)}
    keys = [(s, i, p) for s, i, p in zip(df["set"], df["instance"], df["planner"])]
    df = df.assign(_o=[order.get(k, math.inf) for k in keys])
    df = df[df["_o"] < math.inf].sort_values("_o").drop(columns="_o")
    return df.drop_duplicates(["set", "instance", "planner"]).reset_index(drop=True)
