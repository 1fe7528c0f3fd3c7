"""The sweep specification: a TOML file of grid axes and run options, read and validated.

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

Every problem is one :class:`~qkdbench.exceptions.InputError` naming the file,
the place (``grid.requests[0]``) and what is wrong.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import InputError
from ..model import MAX_UNIFORM_RATE
from ..utils.files import parse_toml
from ..utils.numbers import MAX_COUNT, MAX_MAGNITUDE, check_number

__all__ = [
    "SweepSpec",
    "DEFAULT_TIME_LIMIT",
    "MAX_SEED",
    "GRID_KEYS",
    "OPTION_KEYS",
    "spec_from_dict",
    "read_spec",
]

#: Keys of the ``[grid]`` table (all required).
GRID_KEYS: tuple[str, ...] = ("topology", "requests", "max_rate", "seed", "planners")
#: Keys the ``[options]`` table may hold.
OPTION_KEYS: tuple[str, ...] = ("time_limit", "planner_seed", "modules")
#: Seconds per run unless ``options.time_limit`` says otherwise.
DEFAULT_TIME_LIMIT = 60.0
#: Largest seed of a grid or of ``options.planner_seed``.
MAX_SEED = int(MAX_MAGNITUDE)


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
    time_limit: float | None = DEFAULT_TIME_LIMIT
    planner_seed: int | None = None
    modules: tuple[str, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""

    def options(self) -> dict[str, Any]:
        """What a run needs besides its grid point (plain data, sent to workers).

        Returns
        -------
        dict
            ``time_limit``, ``planner_seed``, ``modules`` and ``params``.
        """
        return {
            "time_limit": self.time_limit,
            "planner_seed": self.planner_seed,
            "modules": list(self.modules),
            "params": {k: dict(v) for k, v in self.params.items()},
        }


def _axis(value: Any, place: str, kind: type, source: str, top: float = MAX_COUNT) -> tuple:
    """One grid axis (or list option): a value or list of ``kind`` (ints: 0..``top``)."""
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
            if v > top:
                raise InputError(f"must be at most {top:,.0f}, got {v:,}", f"{place}[{i}]", source)
        elif not isinstance(v, str) or not v.strip():
            raise InputError(f"expected a non-empty string, got {v!r}", f"{place}[{i}]", source)
        out.append(v.strip() if isinstance(v, str) else v)
    return tuple(dict.fromkeys(out))


def spec_from_dict(data: Mapping[str, Any], source: str = "") -> SweepSpec:
    """Build a :class:`SweepSpec` from parsed TOML.

    Parameters
    ----------
    data : Mapping
        Tables ``grid`` (required), ``options`` and ``params``.
    source : str
        The file it came from, for messages.

    Returns
    -------
    SweepSpec
        The grid's axes with duplicates dropped (first occurrence kept).

    Raises
    ------
    InputError
        For an unknown or missing table or key, a value of the wrong kind or out of
        range (a negative ``planner_seed``, more than 1e9 requests), or a
        ``[params.NAME]`` table that names no planner of the grid.

    Examples
    --------
    >>> spec = spec_from_dict({"grid": {"topology": "nsfnet", "requests": [3, 4],
    ...                                 "max_rate": 2, "seed": [1], "planners": ["coqbn"]}})
    >>> spec.requests, spec.time_limit
    ((3, 4), 60.0)
    """
    unknown = set(data) - {"grid", "options", "params"}
    if unknown:
        raise InputError(f"unknown table {sorted(unknown)[0]!r}", "", source)
    grid = data.get("grid")
    if not isinstance(grid, Mapping):
        raise InputError("missing [grid] table", "grid", source)
    unknown = set(grid) - set(GRID_KEYS)
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r}", "grid", source)
    for key in GRID_KEYS:
        if key not in grid:
            raise InputError(f"missing key {key!r}", "grid", source)
    options = data.get("options", {})
    if not isinstance(options, Mapping):
        raise InputError("expected a table", "options", source)
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r}", "options", source)
    time_limit = options.get("time_limit", DEFAULT_TIME_LIMIT)
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not math.isfinite(time_limit)
        or time_limit <= 0
    ):
        raise InputError(
            f"expected a positive number of seconds, got {time_limit!r}",
            "options.time_limit",
            source,
        )
    check_number(time_limit, "options.time_limit", positive=True, source=source)
    planner_seed = options.get("planner_seed")
    if planner_seed is not None:
        if isinstance(planner_seed, bool) or not isinstance(planner_seed, int):
            raise InputError(
                f"expected an integer, got {planner_seed!r}", "options.planner_seed", source
            )
        if planner_seed < 0:  # as `plan --seed` and `compare --planner-seed`
            raise InputError(f"must be >= 0, got {planner_seed}", "options.planner_seed", source)
        check_number(
            planner_seed, "options.planner_seed", integer=True, maximum=MAX_SEED, source=source
        )
    modules = (
        _axis(options["modules"], "options.modules", str, source)
        if "modules" in options and options["modules"] != []
        else ()
    )
    params = data.get("params", {})
    if not isinstance(params, Mapping) or not all(isinstance(v, Mapping) for v in params.values()):
        raise InputError("expected tables [params.PLANNER]", "params", source)
    planners = _axis(grid["planners"], "grid.planners", str, source)
    for name, table in params.items():
        for key, value in table.items():  # every number through the checked reader
            for i, v in enumerate(value if isinstance(value, list) else [value]):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    where = f"params.{name}.{key}" + (f"[{i}]" if isinstance(value, list) else "")
                    check_number(v, where, source=source)
    for name in params:
        if name not in planners:  # a misspelt table would be ignored
            raise InputError(
                f"[params.{name}] names no planner of the grid (grid.planners: "
                f"{', '.join(planners)})",
                f"params.{name}",
                source,
            )
    return SweepSpec(
        topology=_axis(grid["topology"], "grid.topology", str, source),
        requests=_axis(grid["requests"], "grid.requests", int, source, MAX_COUNT),
        max_rate=_axis(grid["max_rate"], "grid.max_rate", int, source, MAX_UNIFORM_RATE),
        seed=_axis(grid["seed"], "grid.seed", int, source, MAX_SEED),
        planners=planners,
        time_limit=float(time_limit),
        planner_seed=planner_seed,
        modules=modules,
        params={k: dict(v) for k, v in params.items()},
        source=source,
    )


def read_spec(path: str | os.PathLike) -> SweepSpec:
    """Read a sweep specification (TOML).

    Parameters
    ----------
    path : str or path-like
        A UTF-8 TOML file.

    Returns
    -------
    SweepSpec
        With ``source`` the file's path, which every later message names.

    Raises
    ------
    InputError
        For a missing, unreadable (not UTF-8) or malformed file, or a spec
        :func:`spec_from_dict` rejects: one line naming the file and place.
    """
    source = os.fspath(path)
    if not source or not Path(source).exists():  # Path("") is the current directory
        raise InputError("no such file", "", source)
    return spec_from_dict(parse_toml(source), source)
