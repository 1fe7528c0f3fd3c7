"""Sweeps: a grid of instances and planners, each point run once, on Dask or in-process.

The grid (a spec, :mod:`~qkdbench.experiments.sweep_spec`) is the product of
topologies, request counts, key-rate maxima ``K``, seeds and planners. Each
run builds its instance with :func:`qkdbench.topologies.make_instance`
(``seed`` seeds the requests and is also the planner's seed unless
``options.planner_seed`` is given), runs the planner with
:func:`~qkdbench.experiments.runs.run_planner` and becomes one row of
``DIR/results.csv`` (:mod:`~qkdbench.experiments.store`), appended (and
flushed to disk) the moment it finishes. A sweep killed at any moment is
resumed with ``resume=True`` (``--resume``): every grid point already stored is
skipped, nothing stored is recomputed, and a last line cut short by the kill is
dropped and redone.

Gaps: in each instance the *reference planner* (``exact`` if in the grid,
else ``exact-extensive``, else the first planner that proves optimality) runs
first; every other run of that instance waits for it and stores its gap to
that run's proven optimum (or its proven bound, see ``gap_ref``). Without a
reference planner ``gap_pct`` is empty. A claimed optimum or bound above the
run's own feasible total is contradicted and not used; ``gap_ref`` says so.

Execution: a :class:`dask.distributed.LocalCluster` of worker processes
(default), an existing cluster at a scheduler address (submitted to
unchanged), or in-process and sequential (``scheduler="none"``; for tests
and debugging). The evaluator's Numba kernels are compiled (or loaded from
the cache) in the parent before anything fans out.

Planners registered at run time are found by worker processes if the module
that registers them is named in ``options.modules``: each run imports those
modules first.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..exceptions import InputError
from ..topologies import load_topology, make_instance
from ..topologies.ntn import ntn_base
from ..utils.files import read_json, write_json
from ..utils.jsonsafe import json_safe
from ..utils.records import refuse_duplicates
from ..utils.registry import available_planners, get_planner, proves_optimality
from ..utils.statuses import ERROR
from .gaps import add_gaps, reference_from_run
from .output import output_directory
from .provenance import instance_hash, versions
from .runs import error_text, run_planner, warm_up
from .store import (
    RESULT_COLUMNS,
    ResultsWriter,
    read_results,
    results_header,
    results_table,
    row_key,
)
from .sweep_spec import SweepSpec

__all__ = [
    "IN_PROCESS",
    "CONFIG_FILE",
    "CONFIG_FORMAT",
    "check_sweep",
    "sweep_configuration",
    "run_jobs",
    "GridPoint",
    "grid_points",
    "reference_planner",
    "run_point",
    "run_sweep",
]

#: ``scheduler`` values that mean "run in this process, one run after another".
IN_PROCESS: tuple[str, ...] = ("none", "inprocess", "in-process", "sync")


class GridPoint(NamedTuple):
    """One run of a sweep."""

    topology: str
    requests: int
    max_rate: int
    seed: int
    planner: str

    @property
    def instance_key(self) -> tuple[str, int, int, int]:
        """The point without its planner: which instance it runs on."""
        return (self.topology, self.requests, self.max_rate, self.seed)


def reference_planner(planners: Sequence[str]) -> str | None:
    """The planner whose run gives each instance's gap reference (see the module notes).

    Parameters
    ----------
    planners : sequence of str
        The grid's planners.

    Returns
    -------
    str or None
        ``None`` if no planner of the grid proves optimality.

    Examples
    --------
    >>> reference_planner(["coqbn", "exact"]), reference_planner(["coqbn"])
    ('exact', None)
    """
    for name in ("exact", "exact-extensive"):
        if name in planners:
            return name
    return next((p for p in planners if proves_optimality(p)), None)


def grid_points(spec: SweepSpec) -> list[GridPoint]:
    """Every run of the sweep, instance by instance, the reference planner first in each.

    Parameters
    ----------
    spec : SweepSpec

    Returns
    -------
    list of GridPoint
    """
    reference = reference_planner(spec.planners)
    planners = sorted(spec.planners, key=lambda name: name != reference)
    return [
        GridPoint(topology, requests, max_rate, seed, planner)
        for topology, requests, max_rate, seed in itertools.product(
            spec.topology, spec.requests, spec.max_rate, spec.seed
        )
        for planner in planners
    ]


# --------------------------------------------------------------------------- one run


def run_point(
    point: Sequence[Any], options: Mapping[str, Any], reference: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run one grid point; never raises. Runs in a Dask worker or in-process.

    Parameters
    ----------
    point : GridPoint or sequence
        ``(topology, requests, max_rate, seed, planner)``.
    options : Mapping
        :meth:`~qkdbench.experiments.sweep_spec.SweepSpec.options`.
    reference : Mapping, optional
        The reference planner's row for the same instance; the gap is measured
        against it. The reference planner's own run is its own reference. A
        claimed optimum or bound above this run's feasible total is not used
        (see :func:`~qkdbench.experiments.gaps.gap_reference`); ``gap_ref``
        then says so.

    Returns
    -------
    dict
        One row with the keys of :data:`~qkdbench.experiments.store.RESULT_COLUMNS`.
    """
    p = GridPoint(*point)
    row: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS, "")
    row.update(
        topology=p.topology,
        requests=p.requests,
        max_rate=p.max_rate,
        seed=p.seed,
        planner=p.planner,
        time_limit_s=options.get("time_limit"),
        status=ERROR,
        feasible=False,
        versions=versions(),
    )
    try:
        for mod in options.get("modules", ()):
            importlib.import_module(mod)
        instance = make_instance(p.topology, p.requests, p.max_rate, seed=p.seed)
        row["instance_hash"] = instance_hash(instance)
    except Exception as exc:
        row["error"] = error_text(exc)
        return row
    seed = options.get("planner_seed")
    run = run_planner(
        instance,
        p.planner,
        seed=p.seed if seed is None else seed,
        time_limit=options.get("time_limit"),
        params=options.get("params", {}).get(p.planner),
    )
    run.pop("plan", None)
    ref = reference_from_run(run) if reference is None else reference_from_run(reference, run)
    add_gaps([run], ref)
    others = [c for c in ref.contradicted if c != p.planner]
    if others:  # this run's plan disproves the reference planner's claim: say so
        run["gap_ref"] = (
            f"{run['gap_ref'] or 'none'} ({', '.join(others)}: claimed optimum "
            "or bound contradicted by this plan)"
        )
    row.update({k: v for k, v in run.items() if k in row})
    return row


# --------------------------------------------------------------------------- the sweep


def _error_row(
    point: Any,
    options: Mapping[str, Any],
    exc: BaseException,
    header: Sequence[str] = RESULT_COLUMNS,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(header, "")
    row.update(options.get("row_defaults", {}))
    row.update(
        point._asdict(),
        status=ERROR,
        feasible=False,
        error=error_text(exc),
        time_limit_s=options.get("time_limit"),
        versions=versions(),
    )
    return row


def _run_in_process(
    todo: list[Any],
    options: dict[str, Any],
    reference_rows: dict[tuple, Mapping[str, Any]],
    reference_name: str | None,
    done: Callable[[dict[str, Any]], None],
    run: Callable[..., dict[str, Any]] = run_point,
) -> None:
    for p in todo:
        ref = None if p.planner == reference_name else reference_rows.get(p.instance_key)
        row = run(p, options, ref)
        if p.planner == reference_name:
            reference_rows[p.instance_key] = row
        done(row)


def _connect(
    scheduler: str | None,
    n_workers: int,
    timeout: float,
    log: Callable[[str], None],
    label: str = "sweep",
) -> tuple[Any, Any]:
    """A Dask client (and the LocalCluster it owns, or ``None``); ``label`` starts its messages.

    Raises
    ------
    InputError
        If ``scheduler`` is not an address a scheduler answers at within
        ``timeout`` seconds.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler in (None, "", "local"):
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        log(f"{label}: LocalCluster with {n_workers} worker processes")
        return Client(cluster), cluster
    problem = ""
    try:
        client = Client(scheduler, timeout=timeout)
    except Exception as exc:  # a malformed address, nothing listening, a timeout
        problem = error_text(exc)
    if problem:
        # The half-built Client sits in a reference cycle; collect it now. Left to a
        # later collection, its __del__ can run inside the next Client's start-up and
        # deadlock on Dask's shared event-loop lock.
        gc.collect()
        raise InputError(
            f"cannot connect to a Dask scheduler there ({problem}); "
            f"give HOST:PORT of a running scheduler, 'local' or 'none'",
            "--scheduler",
            str(scheduler),
        )
    log(f"{label}: scheduler {scheduler}")
    return client, None


def _run_dask(
    todo: list[Any],
    options: dict[str, Any],
    reference_rows: dict[tuple, Mapping[str, Any]],
    reference_name: str | None,
    done: Callable[[dict[str, Any]], None],
    client: Any,
    run: Callable[..., dict[str, Any]] = run_point,
    header: Sequence[str] = RESULT_COLUMNS,
) -> None:
    from dask.distributed import as_completed

    futures: dict[Any, GridPoint] = {}
    reference_futures: dict[tuple, Any] = {}
    for p in todo:
        if p.planner == reference_name:
            fut = client.submit(run, tuple(p), options, None, pure=False, priority=10)
            reference_futures[p.instance_key] = fut
            futures[fut] = p
    for p in todo:
        if p.planner == reference_name:
            continue
        ref = reference_futures.get(p.instance_key, reference_rows.get(p.instance_key))
        fut = client.submit(run, tuple(p), options, ref, pure=False)
        futures[fut] = p
    for fut in as_completed(list(futures)):
        p = futures[fut]
        try:
            row = fut.result()
        except Exception as exc:  # a worker died, say: record it and go on
            row = _error_row(p, options, exc, header)
        done(row)


def run_sweep(
    spec: SweepSpec,
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = "local",
    n_workers: int = 2,
    resume: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    connect_timeout: float = 10.0,
) -> pd.DataFrame:
    """Run (or resume) a sweep and return all its stored rows.

    Parameters
    ----------
    spec : SweepSpec
    out_dir : path-like
        Directory of ``results.csv`` (created if needed).
    scheduler : str or None
        ``"local"`` or ``None`` (default): a new :class:`~dask.distributed.LocalCluster`
        of ``n_workers`` processes; ``"none"`` (any of :data:`IN_PROCESS`): run in
        this process; anything else: the address of an existing Dask scheduler.
    n_workers : int
        Worker processes of the LocalCluster (at least 1).
    resume : bool
        Continue a sweep in ``out_dir``: grid points already stored are skipped.
        Without it, an ``out_dir`` that already holds results is an error.
    progress : bool
        A progress bar on standard error.
    log : callable, optional
        Receives one-line messages (default: print to standard error).
    connect_timeout : float
        Seconds to wait for the scheduler at an address.

    Returns
    -------
    pandas.DataFrame
        The rows of ``results.csv`` for this spec's grid, one per grid point.

    Raises
    ------
    InputError
        Before anything runs: what :func:`check_sweep` refuses; if ``n_workers`` is less
        than 1; if ``out_dir`` is not a directory (or cannot be created), holds results
        and ``resume`` is false, holds results of another configuration (``resume``:
        :data:`CONFIG_FILE` says another grid or other options), or holds a
        ``results.csv`` that is not one; if nothing answers at the ``scheduler`` address.
    """
    points = grid_points(spec)
    _check_workers(n_workers)
    check_sweep(spec)
    out = output_directory(out_dir, "--out", "results.csv")
    _check_configuration(spec, out, resume)
    path, header = run_jobs(
        points,
        spec.options(),
        out,
        scheduler=scheduler,
        n_workers=n_workers,
        resume=resume,
        progress=progress,
        log=log,
        connect_timeout=connect_timeout,
        reference_name=reference_planner(spec.planners),
        source=spec.source,
    )
    rows = read_results(path)
    first: dict[tuple[object, ...] | None, dict[str, str]] = {}  # grid point -> first row
    for row in rows:
        first.setdefault(row_key(row), row)
    keep = [first[tuple(p)] for p in points if tuple(p) in first]  # grid order
    return results_table(pd.DataFrame(keep, columns=header))


def _check_workers(n_workers: Any) -> None:
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InputError(f"need at least 1 worker, got {n_workers!r}", "--workers")


def check_sweep(spec: SweepSpec) -> None:
    """Refuse, before anything runs, a spec whose runs could only be ``error`` rows.

    Checked: every module of ``options.modules`` imports; every planner known here
    is built with its ``[params.NAME]`` keywords (a misspelt keyword, a value the
    constructor refuses); every topology loads; every (topology, requests, max_rate)
    of the grid gives an instance (not more requests than the topology has
    source/target pairs, say), sampled with the grid's first seed. A planner only
    the workers know (a module of theirs) is left to them.

    Parameters
    ----------
    spec : SweepSpec

    Raises
    ------
    InputError
        Naming the spec file and the place (``options.modules[0]``, ``params.ga``,
        ``grid.topology[1]``, ``grid.requests[0]``) and the problem.
    """
    for i, mod in enumerate(spec.modules):
        try:
            importlib.import_module(mod)
        except Exception as exc:  # missing, or raising on import
            raise InputError(
                f"cannot import module {mod!r}: {error_text(exc)}",
                f"options.modules[{i}]",
                spec.source,
            ) from None
    known = available_planners()
    for name in spec.planners:
        if name not in known:
            continue
        params = dict(spec.params.get(name, {}))
        where = f"params.{name}" if params else "grid.planners"
        try:
            get_planner(name, **params)
        except Exception as exc:  # a TypeError for a misspelt keyword, a ValueError, ...
            raise InputError(
                f"cannot build planner {name!r}: {error_text(exc)}", where, spec.source
            ) from None
    for t, topology in enumerate(spec.topology):
        try:
            topo = None if ntn_base(topology) is not None else load_topology(topology)
        except InputError as exc:
            raise InputError(str(exc), f"grid.topology[{t}]", spec.source) from None
        for i, requests in enumerate(spec.requests):
            for max_rate in spec.max_rate:
                try:
                    make_instance(topo or topology, requests, max_rate, seed=spec.seed[0])
                except InputError as exc:
                    raise InputError(
                        f"topology {topology!r}, max_rate {max_rate}: {exc.problem}",
                        f"grid.requests[{i}]",
                        spec.source,
                    ) from None


#: The file beside ``results.csv`` that records the configuration of the sweep stored there.
CONFIG_FILE = "sweep.json"
#: Format tag of :data:`CONFIG_FILE`.
CONFIG_FORMAT = "qkdbench-sweep-config/1"


def sweep_configuration(spec: SweepSpec) -> dict[str, Any]:
    """What makes a sweep's rows comparable: its grid and every run option.

    Parameters
    ----------
    spec : SweepSpec

    Returns
    -------
    dict
        Plain JSON data: ``format``, ``grid`` (the five axes as lists) and
        ``options`` (:meth:`~qkdbench.experiments.sweep_spec.SweepSpec.options`).
    """
    return {
        "format": CONFIG_FORMAT,
        "grid": {
            "topology": list(spec.topology),
            "requests": list(spec.requests),
            "max_rate": list(spec.max_rate),
            "seed": list(spec.seed),
            "planners": list(spec.planners),
        },
        "options": json.loads(json.dumps(json_safe(spec.options()), default=str)),
    }


def _first_difference(here: Any, there: Any, place: str = "") -> str:
    """The JSON path of the first difference between two configurations."""
    if isinstance(here, dict) and isinstance(there, dict):
        for key in sorted(set(here) | set(there)):
            if here.get(key) != there.get(key):
                return _first_difference(
                    here.get(key), there.get(key), f"{place}.{key}".lstrip(".")
                )
    return f"{place or 'configuration'} is {json.dumps(there)} there, {json.dumps(here)} here"


def _check_configuration(spec: SweepSpec, out: Path, resume: bool) -> None:
    """Refuse to resume another sweep's results; record this sweep's configuration."""
    config = sweep_configuration(spec)
    cfg_path = out / CONFIG_FILE
    results = out / "results.csv"
    stored = read_results(results) if results.is_file() else []
    if stored and not resume:
        return  # run_jobs refuses: results there and no --resume
    if stored:
        if cfg_path.is_file():
            old = read_json(cfg_path)
            if old != config:
                raise InputError(
                    f"holds the results of another sweep ({_first_difference(config, old)}); "
                    "resume with that spec or choose another --out",
                    "",
                    str(cfg_path),
                )
            return
        # results of a sweep that stored no configuration: their rows must fit this spec
        grid = {tuple(p) for p in grid_points(spec)}
        for k, row in enumerate(stored):
            limit = row.get("time_limit_s", "").strip()
            if row_key(row) not in grid or (limit and float(limit) != spec.time_limit):
                raise InputError(
                    "holds a run of another sweep (not of this grid, or another "
                    "time limit); resume with that spec or choose another --out",
                    f"row {k + 2}",
                    str(results),
                )
    write_json(config, cfg_path)


def run_jobs(
    points: Sequence[Any],
    options: dict[str, Any],
    out_dir: str | os.PathLike,
    *,
    run: Callable[..., dict[str, Any]] = run_point,
    key: Callable[[Mapping[str, Any]], tuple | None] = row_key,
    columns: Sequence[str] = RESULT_COLUMNS,
    reference_name: str | None = None,
    scheduler: str | None = "local",
    n_workers: int = 2,
    resume: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    connect_timeout: float = 10.0,
    source: str = "",
    check_stored: Callable[[Path, list[dict[str, str]]], None] | None = None,
    label: str = "sweep",
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Path, list[str]]:
    """Run (or resume) a list of points into ``out_dir/results.csv``: the sweep's engine.

    :func:`run_sweep` runs grid points with :func:`run_point`; other drivers (the
    library's ``qkdbench bench``) pass their own points, run function and columns.

    Parameters
    ----------
    points : sequence of NamedTuple
        Each has ``planner`` and ``instance_key`` and is sent (as a tuple) to ``run``;
        ``tuple(point)`` is the key of its stored row.
    options : dict
        Plain data sent to every run (``modules``: imported first; ``row_defaults``:
        cells of a row recorded for a run that died).
    out_dir : path-like
    run : callable
        ``run(point_tuple, options, reference_row_or_None) -> row``; must be picklable
        (a module-level function) and never raise.
    key : callable
        The key of a stored row (``None``: a damaged row).
    columns : sequence of str
        Columns of a new results file.
    reference_name : str, optional
        The planner each instance's other runs wait for (see the module notes).
    scheduler, n_workers, resume, progress, log, connect_timeout
        As :func:`run_sweep`.
    source : str
        The spec file, for messages.
    check_stored : callable, optional
        Called with the path and the stored rows before anything runs; raises
        :class:`InputError` for rows that do not belong to these points.
    label : str
        What runs, as the progress bar and the messages name it (``"bench"`` for
        ``qkdbench bench``).
    on_row : callable, optional
        Called with each finished row just before it is stored (it may write a
        side file and remove keys that are not columns); a row is stored only
        after it returns.

    Returns
    -------
    (Path, list of str)
        The results file and its columns.

    Raises
    ------
    InputError
        As :func:`run_sweep`.
    """
    from tqdm.auto import tqdm

    _check_workers(n_workers)
    log = log or (lambda msg: print(msg, file=sys.stderr))
    out = output_directory(out_dir, "--out", "results.csv")
    path = out / "results.csv"
    if path.exists() and not path.is_file():
        raise InputError("not a regular file", "", str(path))
    stored = read_results(path, repair=resume)
    if stored and not resume:
        raise InputError(
            f"already holds {len(stored)} results; pass --resume to continue "
            "this sweep or choose another --out",
            "",
            str(path),
        )
    header = list(columns)
    if stored:
        header = results_header(path)
    if check_stored is not None and stored:
        check_stored(path, stored)
    refuse_duplicates(stored, key, str(path))  # a run stored twice would count twice
    have: dict[Any, dict[str, str]] = {}
    for row in stored:
        have.setdefault(key(row), row)
    todo = [p for p in points if tuple(p) not in have]
    reference_rows: dict[tuple, Mapping[str, Any]] = {
        GridPoint(*k).instance_key: row
        for k, row in have.items()
        if reference_name is not None and k is not None and k[4] == reference_name
    }
    in_process = scheduler is not None and scheduler.lower() in IN_PROCESS
    client = cluster = None
    if todo:  # bad input is found before anything is logged, run or written
        for i, mod in enumerate(options.get("modules", ())):
            try:
                importlib.import_module(mod)
            except Exception as exc:  # missing, or raising on import
                raise InputError(
                    f"cannot import module {mod!r}: {error_text(exc)}",
                    f"options.modules[{i}]",
                    source,
                ) from None
        unknown_here = sorted({p.planner for p in points} - set(available_planners()))
        if unknown_here and in_process:  # in this process nobody else could know them
            raise InputError(
                f"unknown planner(s) {', '.join(map(repr, unknown_here))}; known: "
                f"{', '.join(sorted(available_planners()))}",
                "grid.planners",
                source,
            )
        if not in_process:
            client, cluster = _connect(scheduler, n_workers, connect_timeout, log, label)
    log(
        f"{label}: {len(points)} grid points, {len(points) - len(todo)} already stored, "
        f"{len(todo)} to run ({'in-process' if in_process else 'Dask'}); results in {path}"
    )
    if todo:
        try:
            warm_up()  # compile or load the Numba kernels before fanning out
            unknown = sorted({p.planner for p in points} - set(available_planners()))
            if unknown:
                log(
                    f"{label}: warning: planner(s) {', '.join(unknown)} not registered here; "
                    "their runs will be recorded as errors unless the workers know them"
                )
            try:
                store = ResultsWriter(path, header)
            except OSError as exc:
                raise InputError(f"cannot write: {exc.strerror or exc}", "", str(path)) from None
            bar = tqdm(
                total=len(todo), desc=label, unit="run", file=sys.stderr, disable=not progress
            )
            t0 = time.perf_counter()

            def done(row: dict[str, Any]) -> None:
                if on_row is not None:
                    on_row(row)
                store.append(row)
                bar.update(1)
                if row.get("status") == ERROR:
                    bar.write(
                        f"{label}: {row['planner']} on {row['topology']} "
                        f"r{row['requests']} k{row['max_rate']} s{row['seed']}: "
                        f"{row['error']}",
                        file=sys.stderr,
                    )

            try:
                if in_process:
                    _run_in_process(todo, options, reference_rows, reference_name, done, run)
                else:
                    _run_dask(
                        todo, options, reference_rows, reference_name, done, client, run, header
                    )
            finally:
                bar.close()
                store.close()
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        log(f"{label}: {len(todo)} runs in {time.perf_counter() - t0:.1f} s")
    return path, header
