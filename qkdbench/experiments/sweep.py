"""Sweeps: a grid of instances and planners, run on Dask, stored one row per run.

The grid (``FORMATS.md``) is the product of topologies, request counts,
key-rate maxima ``K``, seeds and planners. Each run builds its instance with
:func:`qkdbench.topologies.make_instance` (``seed`` seeds the requests and is
also the planner's seed unless ``options.planner_seed`` is given), runs the
planner with :func:`~qkdbench.experiments.runs.run_planner` and becomes one
row of ``DIR/results.csv``, appended (and flushed to disk) the moment it
finishes. A sweep killed at any moment is resumed with ``resume=True``
(``--resume``): every grid point already stored is skipped, nothing stored is
recomputed, and a last line cut short by the kill is dropped and redone.

Gaps: in each instance the *reference planner* (``exact`` if in the grid,
else ``exact-extensive``, else the first planner whose name starts with
``exact``) runs first; every other run of that instance waits for it and
stores its gap to that run's proven optimum (or its proven bound, see
``gap_ref``). Without a reference planner ``gap_pct`` is empty. A claimed
optimum or bound above the run's own feasible total is contradicted and not
used; ``gap_ref`` says so.

Execution: a :class:`dask.distributed.LocalCluster` of worker processes
(default), an existing cluster at a scheduler address (submitted to
unchanged), or in-process and sequential (``scheduler="none"``; for tests
and debugging). The evaluator's Numba kernels are compiled (or loaded from
the cache) in the parent before anything fans out.

Planners registered at run time are found by worker processes if the module
that registers them is named in ``options.modules``: each run imports those
modules first.

Spec example (TOML)::

    [grid]
    topology = ["usnet", "nsfnet"]
    requests = [10, 20]
    max_rate = [10]
    seed     = [1, 2]
    planners = ["coqbn", "exact"]

    [options]
    time_limit = 60          # seconds per run (default 60)
    # planner_seed = 0       # default: the grid seed
    # modules = ["mypkg.planners"]
    # [params.ga]            # constructor keywords of a planner
    # population = 50
"""

from __future__ import annotations

import csv
import gc
import importlib
import io
import itertools
import math
import os
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..exceptions import InputError
from ..topologies import make_instance
from ..utils.registry import proves_optimality
from .runs import (GapReference, add_gaps, gap_reference, instance_hash, output_directory,
                   run_planner, versions, warm_up)

__all__ = [
    "RESULT_COLUMNS",
    "KEY_COLUMNS",
    "IN_PROCESS",
    "SweepSpec",
    "GridPoint",
    "read_spec",
    "spec_from_dict",
    "grid_points",
    "reference_planner",
    "run_point",
    "read_results",
    "run_sweep",
    "summarize",
]

#: Columns of ``results.csv``, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "instance_hash", "topology", "requests", "max_rate", "seed", "planner",
    "total", "first_stage", "second_stage", "gap_pct", "gap_ref", "bound", "feasible",
    "runtime_s", "time_limit_s", "status", "error", "versions")

#: The columns that identify a grid point.
KEY_COLUMNS: tuple[str, ...] = ("topology", "requests", "max_rate", "seed", "planner")

#: ``scheduler`` values that mean "run in this process, one run after another".
IN_PROCESS: tuple[str, ...] = ("none", "inprocess", "in-process", "sync")

_GRID_KEYS = ("topology", "requests", "max_rate", "seed", "planners")
_OPTION_KEYS = ("time_limit", "planner_seed", "modules")
_DEFAULT_TIME_LIMIT = 60.0


class GridPoint(NamedTuple):
    """One run of a sweep."""

    topology: str
    requests: int
    max_rate: int
    seed: int
    planner: str

    @property
    def instance_key(self) -> tuple[str, int, int, int]:
        return (self.topology, self.requests, self.max_rate, self.seed)


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: the grid and the run options.

    Parameters
    ----------
    topology, requests, max_rate, seed, planners : tuple
        The grid's axes.
    time_limit : float or None
        Seconds per run.
    planner_seed : int or None
        Seed of every planner run; ``None``: the grid point's seed.
    modules : tuple of str
        Modules each run imports first (they register planners).
    params : Mapping
        ``{planner: {constructor keyword: value}}``.
    source : str
        The spec file, for messages.
    """

    topology: tuple[str, ...]
    requests: tuple[int, ...]
    max_rate: tuple[int, ...]
    seed: tuple[int, ...]
    planners: tuple[str, ...]
    time_limit: float | None = _DEFAULT_TIME_LIMIT
    planner_seed: int | None = None
    modules: tuple[str, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""

    def options(self) -> dict[str, Any]:
        """What a run needs besides its grid point (plain data, sent to workers)."""
        return {"time_limit": self.time_limit, "planner_seed": self.planner_seed,
                "modules": list(self.modules),
                "params": {k: dict(v) for k, v in self.params.items()}}


def _list(value: Any, place: str, kind: type, source: str) -> tuple:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InputError("must not be empty", place, source)
    out = []
    for i, v in enumerate(items):
        if kind is int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"expected an integer, got {v!r}", f"{place}[{i}]", source)
            if v < 0:
                raise InputError(f"must be >= 0, got {v}", f"{place}[{i}]", source)
        elif not isinstance(v, str) or not v.strip():
            raise InputError(f"expected a non-empty string, got {v!r}", f"{place}[{i}]", source)
        out.append(v.strip() if isinstance(v, str) else v)
    return tuple(dict.fromkeys(out))


def spec_from_dict(data: Mapping[str, Any], source: str = "") -> SweepSpec:
    """Build a :class:`SweepSpec` from parsed TOML; bad input raises :class:`InputError`."""
    unknown = set(data) - {"grid", "options", "params"}
    if unknown:
        raise InputError(f"unknown table {sorted(unknown)[0]!r}", "", source)
    grid = data.get("grid")
    if not isinstance(grid, Mapping):
        raise InputError("missing [grid] table", "grid", source)
    unknown = set(grid) - set(_GRID_KEYS)
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r}", "grid", source)
    for key in _GRID_KEYS:
        if key not in grid:
            raise InputError(f"missing key {key!r}", "grid", source)
    opts = data.get("options", {})
    if not isinstance(opts, Mapping):
        raise InputError("expected a table", "options", source)
    unknown = set(opts) - set(_OPTION_KEYS)
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r}", "options", source)
    time_limit = opts.get("time_limit", _DEFAULT_TIME_LIMIT)
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) \
            or not math.isfinite(time_limit) or time_limit <= 0:
        raise InputError(f"expected a positive number of seconds, got {time_limit!r}",
                         "options.time_limit", source)
    planner_seed = opts.get("planner_seed")
    if planner_seed is not None and (isinstance(planner_seed, bool)
                                     or not isinstance(planner_seed, int)):
        raise InputError(f"expected an integer, got {planner_seed!r}", "options.planner_seed",
                         source)
    modules = _list(opts["modules"], "options.modules", str, source) \
        if "modules" in opts and opts["modules"] != [] else ()
    params = data.get("params", {})
    if not isinstance(params, Mapping) or not all(isinstance(v, Mapping)
                                                  for v in params.values()):
        raise InputError("expected tables [params.PLANNER]", "params", source)
    return SweepSpec(
        topology=_list(grid["topology"], "grid.topology", str, source),
        requests=_list(grid["requests"], "grid.requests", int, source),
        max_rate=_list(grid["max_rate"], "grid.max_rate", int, source),
        seed=_list(grid["seed"], "grid.seed", int, source),
        planners=_list(grid["planners"], "grid.planners", str, source),
        time_limit=float(time_limit), planner_seed=planner_seed, modules=modules,
        params={k: dict(v) for k, v in params.items()}, source=source)


def read_spec(path: str | os.PathLike) -> SweepSpec:
    """Read a sweep specification (TOML).

    Raises
    ------
    InputError
        For a missing or malformed file (one line naming the file and place).
    """
    src = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise InputError("no such file", "", src) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", "", src) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", "", src) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}): a spec is a UTF-8 TOML file",
                         "", src) from None
    return spec_from_dict(data, src)


def reference_planner(planners: Sequence[str]) -> str | None:
    """The planner whose run gives each instance's gap reference (see the module notes)."""
    for name in ("exact", "exact-extensive"):
        if name in planners:
            return name
    return next((p for p in planners if proves_optimality(p)), None)


def grid_points(spec: SweepSpec) -> list[GridPoint]:
    """Every run of the sweep, instance by instance, the reference planner first in each."""
    ref = reference_planner(spec.planners)
    planners = sorted(spec.planners, key=lambda p: p != ref)
    return [GridPoint(t, n, k, s, p) for t, n, k, s in
            itertools.product(spec.topology, spec.requests, spec.max_rate, spec.seed)
            for p in planners]


# --------------------------------------------------------------------------- one run


def _as_bool(x: Any) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in ("true", "1", "yes")
    return bool(x)


def _as_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _reference_of(row: Mapping[str, Any] | None,
                  evidence: Mapping[str, Any] | None = None) -> GapReference:
    """The reference planner's ``row`` as a gap reference, its claims checked.

    ``evidence`` (another run of the instance) only contributes its feasible
    total, against which the reference's claimed optimum or bound is checked.
    """
    if row is None:
        return GapReference(math.nan, "", "")
    clean = [{"planner": row.get("planner", ""), "status": str(row.get("status", "")),
              "total": _as_float(row.get("total")), "bound": _as_float(row.get("bound")),
              "feasible": _as_bool(row.get("feasible"))}]
    if evidence is not None:
        clean.append({"planner": f"{evidence.get('planner', '')} (evidence)",
                      "status": "heuristic", "total": _as_float(evidence.get("total")),
                      "bound": math.nan, "feasible": _as_bool(evidence.get("feasible"))})
    return gap_reference(clean, allow_best=False)


def run_point(point: Sequence[Any], options: Mapping[str, Any],
              reference: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run one grid point; never raises. Runs in a Dask worker or in-process.

    Parameters
    ----------
    point : GridPoint or sequence
        ``(topology, requests, max_rate, seed, planner)``.
    options : Mapping
        :meth:`SweepSpec.options`.
    reference : Mapping, optional
        The reference planner's row for the same instance; the gap is measured
        against it. The reference planner's own run is its own reference. A
        claimed optimum or bound above this run's feasible total is not used
        (see :func:`~qkdbench.experiments.runs.gap_reference`); ``gap_ref``
        then says so.

    Returns
    -------
    dict
        One row with the keys of :data:`RESULT_COLUMNS`.
    """
    p = GridPoint(*point)
    row: dict[str, Any] = {c: "" for c in RESULT_COLUMNS}
    row.update(topology=p.topology, requests=p.requests, max_rate=p.max_rate, seed=p.seed,
               planner=p.planner, time_limit_s=options.get("time_limit"), status="error",
               feasible=False, versions=versions())
    try:
        for mod in options.get("modules", ()):
            importlib.import_module(mod)
        instance = make_instance(p.topology, p.requests, p.max_rate, seed=p.seed)
        row["instance_hash"] = instance_hash(instance)
    except Exception as exc:
        from .runs import error_text

        row["error"] = error_text(exc)
        return row
    seed = options.get("planner_seed")
    run = run_planner(instance, p.planner, seed=p.seed if seed is None else seed,
                      time_limit=options.get("time_limit"),
                      params=options.get("params", {}).get(p.planner))
    run.pop("plan", None)
    ref = _reference_of(run) if reference is None else _reference_of(reference, run)
    add_gaps([run], ref)
    others = [c for c in ref.contradicted if c != p.planner]
    if others:  # this run's plan disproves the reference planner's claim: say so
        run["gap_ref"] = (f"{run['gap_ref'] or 'none'} ({', '.join(others)}: claimed optimum "
                          "or bound contradicted by this plan)")
    row.update({k: v for k, v in run.items() if k in row})
    return row


# --------------------------------------------------------------------------- the store


def _key(row: Mapping[str, Any]) -> tuple[str, int, int, int, str] | None:
    try:
        return (str(row["topology"]), int(row["requests"]), int(row["max_rate"]),
                int(row["seed"]), str(row["planner"]))
    except (KeyError, TypeError, ValueError):
        return None


def read_results(path: str | os.PathLike, *, repair: bool = False) -> list[dict[str, str]]:
    """The rows of a ``results.csv`` (strings), skipping any line a kill cut short.

    Parameters
    ----------
    path : path-like
    repair : bool
        Rewrite the file without the damaged lines (atomically), if there are any.

    Raises
    ------
    InputError
        If the file cannot be read or is not a results file (not UTF-8 text, or
        no header with the key columns).
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}); not a sweep results file", "",
                         str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", "", str(path)) from None
    if not text.strip():
        return []
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(lines[0]))
    header = next(reader, [])
    if not set(KEY_COLUMNS) <= set(header):
        raise InputError("not a sweep results file (header lacks the key columns)", "line 1",
                         str(path))
    good: list[dict[str, str]] = []
    good_lines = [lines[0] if lines[0].endswith("\n") else lines[0] + "\n"]
    damaged = not lines[0].endswith("\n")
    for line in lines[1:]:
        if not line.endswith("\n"):  # cut short by a kill
            damaged = True
            continue
        try:
            cells = next(csv.reader(io.StringIO(line)))
        except (csv.Error, StopIteration):
            damaged = True
            continue
        if len(cells) != len(header):
            damaged = True
            continue
        row = dict(zip(header, cells))
        if _key(row) is None:
            damaged = True
            continue
        good.append(row)
        good_lines.append(line)
    if damaged and repair:
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text("".join(good_lines), encoding="utf-8")
        os.replace(tmp, path)
    return good


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


class _Store:
    """Appends rows to ``results.csv``, one flushed line each."""

    def __init__(self, path: Path, header: Sequence[str]):
        self.path = path
        self.header = list(header)
        new = not path.exists() or path.stat().st_size == 0
        self.fh = open(path, "a", encoding="utf-8", newline="")
        if new:
            self._write(self.header)

    def _write(self, cells: Sequence[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        self.fh.write(buf.getvalue())  # one write per line
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def append(self, row: Mapping[str, Any]) -> None:
        self._write([_cell(row.get(c, "")) for c in self.header])

    def close(self) -> None:
        self.fh.close()


# --------------------------------------------------------------------------- the sweep


def _error_row(point: GridPoint, options: Mapping[str, Any], exc: BaseException
               ) -> dict[str, Any]:
    from .runs import error_text

    row = {c: "" for c in RESULT_COLUMNS}
    row.update(point._asdict(), status="error", feasible=False, error=error_text(exc),
               time_limit_s=options.get("time_limit"), versions=versions())
    return row


def _run_in_process(todo: list[GridPoint], options: dict[str, Any],
                    refs: dict[tuple, Mapping[str, Any]], ref_name: str | None,
                    done: Callable[[dict[str, Any]], None]) -> None:
    for p in todo:
        ref = None if p.planner == ref_name else refs.get(p.instance_key)
        row = run_point(p, options, ref)
        if p.planner == ref_name:
            refs[p.instance_key] = row
        done(row)


def _connect(scheduler: str | None, n_workers: int, timeout: float,
             log: Callable[[str], None]) -> tuple[Any, Any]:
    """A Dask client (and the LocalCluster it owns, or ``None``).

    Raises
    ------
    InputError
        If ``scheduler`` is not an address a scheduler answers at within
        ``timeout`` seconds.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler in (None, "", "local"):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        log(f"sweep: LocalCluster with {n_workers} worker processes")
        return Client(cluster), cluster
    from .runs import error_text

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
        raise InputError(f"cannot connect to a Dask scheduler there ({problem}); "
                         f"give HOST:PORT of a running scheduler, 'local' or 'none'",
                         "--scheduler", str(scheduler))
    log(f"sweep: scheduler {scheduler}")
    return client, None


def _run_dask(todo: list[GridPoint], options: dict[str, Any],
              refs: dict[tuple, Mapping[str, Any]], ref_name: str | None,
              done: Callable[[dict[str, Any]], None], client: Any) -> None:
    from dask.distributed import as_completed

    futures: dict[Any, GridPoint] = {}
    ref_futures: dict[tuple, Any] = {}
    for p in todo:
        if p.planner == ref_name:
            fut = client.submit(run_point, tuple(p), options, None, pure=False, priority=10)
            ref_futures[p.instance_key] = fut
            futures[fut] = p
    for p in todo:
        if p.planner == ref_name:
            continue
        ref = ref_futures.get(p.instance_key, refs.get(p.instance_key))
        fut = client.submit(run_point, tuple(p), options, ref, pure=False)
        futures[fut] = p
    for fut in as_completed(list(futures)):
        p = futures[fut]
        try:
            row = fut.result()
        except Exception as exc:  # a worker died, say: record it and go on
            row = _error_row(p, options, exc)
        done(row)


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, scheduler: str | None = "local",
              n_workers: int = 2, resume: bool = False, progress: bool = False,
              log: Callable[[str], None] | None = None,
              connect_timeout: float = 10.0) -> pd.DataFrame:
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
        If ``n_workers`` is less than 1; if ``out_dir`` is not a directory (or
        cannot be created), holds results and ``resume`` is false, or holds a
        ``results.csv`` that is not one; if a module of ``options.modules``
        cannot be imported; if nothing answers at the ``scheduler`` address.
    """
    from tqdm.auto import tqdm

    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InputError(f"need at least 1 worker, got {n_workers!r}", "--workers")
    log = log or (lambda msg: print(msg, file=sys.stderr))
    out = output_directory(out_dir, "--out", "results.csv")
    path = out / "results.csv"
    if path.exists() and not path.is_file():
        raise InputError("not a regular file", "", str(path))
    stored = read_results(path, repair=resume)
    if stored and not resume:
        raise InputError(f"already holds {len(stored)} results; pass --resume to continue "
                         "this sweep or choose another --out", "", str(path))
    header = list(RESULT_COLUMNS)
    if stored:
        with open(path, encoding="utf-8") as fh:
            header = next(csv.reader(fh))
    points = grid_points(spec)
    have = {}
    for row in stored:
        have.setdefault(_key(row), row)
    todo = [p for p in points if tuple(p) not in have]
    ref_name = reference_planner(spec.planners)
    refs = {GridPoint(*k).instance_key: row for k, row in have.items()
            if k is not None and k[4] == ref_name}
    in_process = scheduler is not None and scheduler.lower() in IN_PROCESS
    client = cluster = None
    if todo:  # bad input is found before anything is logged, run or written
        options = spec.options()
        for i, mod in enumerate(options["modules"]):
            try:
                importlib.import_module(mod)
            except Exception as exc:  # missing, or raising on import
                from .runs import error_text

                raise InputError(f"cannot import module {mod!r}: {error_text(exc)}",
                                 f"options.modules[{i}]", spec.source) from None
        if not in_process:
            client, cluster = _connect(scheduler, n_workers, connect_timeout, log)
    log(f"sweep: {len(points)} grid points, {len(points) - len(todo)} already stored, "
        f"{len(todo)} to run ({'in-process' if in_process else 'Dask'}); results in {path}")
    if todo:
        try:
            warm_up()  # compile or load the Numba kernels before fanning out
            from ..utils.registry import available_planners

            unknown = sorted(set(spec.planners) - set(available_planners()))
            if unknown:
                log(f"sweep: warning: planner(s) {', '.join(unknown)} not registered here; "
                    "their runs will be recorded as errors unless the workers know them")
            try:
                store = _Store(path, header)
            except OSError as exc:
                raise InputError(f"cannot write: {exc.strerror or exc}", "",
                                 str(path)) from None
            bar = tqdm(total=len(todo), desc="sweep", unit="run", file=sys.stderr,
                       disable=not progress)
            t0 = time.perf_counter()

            def done(row: dict[str, Any]) -> None:
                store.append(row)
                bar.update(1)
                if row.get("status") == "error":
                    bar.write(f"sweep: {row['planner']} on {row['topology']} "
                              f"r{row['requests']} k{row['max_rate']} s{row['seed']}: "
                              f"{row['error']}", file=sys.stderr)
            try:
                if in_process:
                    _run_in_process(todo, options, refs, ref_name, done)
                else:
                    _run_dask(todo, options, refs, ref_name, done, client)
            finally:
                bar.close()
                store.close()
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        log(f"sweep: {len(todo)} runs in {time.perf_counter() - t0:.1f} s")
    rows = read_results(path)
    first: dict[tuple, dict[str, str]] = {}
    for row in rows:
        first.setdefault(_key(row), row)
    keep = [first[tuple(p)] for p in points if tuple(p) in first]  # grid order
    return _typed(pd.DataFrame(keep, columns=header))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("requests", "max_rate", "seed"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("total", "first_stage", "second_stage", "gap_pct", "bound", "runtime_s",
              "time_limit_s"):
        if c in df:
            df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype(float)
    if "feasible" in df:
        df["feasible"] = df["feasible"].map(_as_bool).astype(bool)
    for c in ("gap_ref", "error", "status", "instance_hash", "versions"):
        if c in df:
            df[c] = df[c].fillna("").astype(str)
    return df


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per (topology, requests, max_rate, planner): runs, errors and means over seeds.

    Columns: ``runs``, ``ok`` (scored and feasible), ``errors``, ``total``
    (mean expected cost), ``gap_pct`` (mean), ``runtime_s`` (mean).
    """
    if df.empty:
        return pd.DataFrame(columns=["topology", "requests", "max_rate", "planner", "runs",
                                     "ok", "errors", "total", "gap_pct", "runtime_s"])
    d = df.copy()
    d["ok"] = d["status"].isin(["optimal", "feasible", "heuristic"]) & d["feasible"]
    d["errors"] = d["status"].eq("error")
    g = d.groupby(["topology", "requests", "max_rate", "planner"], sort=True)
    out = g.agg(runs=("seed", "size"), ok=("ok", "sum"), errors=("errors", "sum"),
                total=("total", "mean"), gap_pct=("gap_pct", "mean"),
                runtime_s=("runtime_s", "mean"))
    return out.reset_index()
