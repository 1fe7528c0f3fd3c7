"""The results file of a sweep: its columns, rows appended durably, read back and repaired.

``DIR/results.csv`` gets one line per finished run, written in one call and
flushed to disk, so that a sweep killed at any moment leaves every finished run
stored and at most one last line cut short. :func:`read_results` skips (and,
when asked, removes) such a line and checks every other cell against
:data:`RESULT_SCHEMA` (a hand-edited file is refused, not half read);
:func:`results_table` types the stored text and :func:`summarize` averages it over seeds.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import InputError
from ..utils.files import read_text
from ..utils.numbers import MAX_MAGNITUDE
from ..utils.records import FLAG_TEXTS, Column, check_records
from ..utils.statuses import ERROR, PLAN_STATUSES, USABLE_STATUSES
from .values import as_bool

__all__ = [
    "RESULT_COLUMNS",
    "KEY_COLUMNS",
    "RESULT_SCHEMA",
    "row_key",
    "read_results",
    "results_header",
    "ResultsWriter",
    "results_table",
    "summarize",
]

#: Columns of ``results.csv``, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "instance_hash",
    "topology",
    "requests",
    "max_rate",
    "seed",
    "planner",
    "total",
    "first_stage",
    "second_stage",
    "gap_pct",
    "gap_ref",
    "bound",
    "feasible",
    "runtime_s",
    "time_limit_s",
    "status",
    "error",
    "versions",
)

#: The columns that identify a grid point.
KEY_COLUMNS: tuple[str, ...] = ("topology", "requests", "max_rate", "seed", "planner")

#: What each cell of a results file may hold (:func:`read_results` checks every row).
RESULT_SCHEMA: tuple[Column, ...] = (
    Column("instance_hash"),
    Column("topology", required=True),
    Column("requests", "count", required=True, nonneg=True),
    Column("max_rate", "count", required=True, nonneg=True),
    Column("seed", "count", required=True, nonneg=True, maximum=MAX_MAGNITUDE),
    Column("planner", required=True),
    Column("total", "number", nonneg=True),
    Column("first_stage", "number", nonneg=True),
    Column("second_stage", "number", nonneg=True),
    Column("gap_pct", "number"),
    Column("bound", "number"),
    Column("feasible", "flag", required=True),
    Column("runtime_s", "number", nonneg=True),
    Column("time_limit_s", "number", positive=True),
    Column("status", "choice", required=True, choices=PLAN_STATUSES),
)


def row_key(row: Mapping[str, Any]) -> tuple[str, int, int, int, str] | None:
    """The grid point of a stored row, ``(topology, requests, max_rate, seed, planner)``.

    Parameters
    ----------
    row : Mapping
        A row as read (strings) or as computed.

    Returns
    -------
    tuple or None
        ``None`` if a key column is missing or not a number where one belongs.

    Examples
    --------
    >>> row_key({"topology": "nsfnet", "requests": "3", "max_rate": "2", "seed": "1",
    ...          "planner": "coqbn"})
    ('nsfnet', 3, 2, 1, 'coqbn')
    >>> row_key({"topology": "nsfnet", "requests": "3"}) is None
    True
    """
    try:
        return (
            str(row["topology"]),
            int(row["requests"]),
            int(row["max_rate"]),
            int(row["seed"]),
            str(row["planner"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def read_results(
    path: str | os.PathLike, *, repair: bool = False, columns: Iterable[Column] = ()
) -> list[dict[str, str]]:
    """The rows of a ``results.csv`` (strings), every cell checked; a last line cut short skipped.

    Only the last line can be cut short by a kill (each row is one write, flushed):
    it is skipped (and, with ``repair``, removed). Any other damage is an error, and so
    is a cell a column cannot hold (:data:`RESULT_SCHEMA`, and ``columns``): a total
    that is not a non-negative finite number, a flag that is not ``True`` or
    ``False``, an unknown status, a key cell that is not a number where one belongs.

    Parameters
    ----------
    path : path-like
    repair : bool
        Rewrite the file without the line cut short (atomically), if there is one.
    columns : iterable of Column, optional
        Further columns to check (a bench's, say); they replace those of
        :data:`RESULT_SCHEMA` of the same name.

    Returns
    -------
    list of dict
        One per intact line, keyed by the header's columns; empty for a
        missing or empty file.

    Raises
    ------
    InputError
        If the file cannot be read or is not a results file (not UTF-8 text, or
        no header with the key columns), a line before the last is damaged, or a cell
        is bad; naming the file, the row and the column.
    """
    path = Path(path)
    src = str(path)
    if not path.exists():
        return []
    text = read_text(path)
    if not text.strip():
        return []
    lines = text.splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0])), [])
    if not set(KEY_COLUMNS) <= set(header):
        raise InputError("not a sweep results file (header lacks the key columns)", "line 1", src)
    good: list[dict[str, str]] = []
    good_lines = [lines[0] if lines[0].endswith("\n") else lines[0] + "\n"]
    damaged = not lines[0].endswith("\n")
    for n, line in enumerate(lines[1:], start=2):
        last = n == len(lines)
        if not line.endswith("\n"):  # cut short by a kill: the last line only
            damaged = True
            continue
        if not line.strip():
            raise InputError("empty line inside the results", f"row {n}", src)
        try:
            cells = next(csv.reader(io.StringIO(line), strict=True))
        except (csv.Error, StopIteration) as exc:
            raise InputError(f"malformed CSV: {exc}", f"row {n}", src) from None
        if len(cells) != len(header):
            if last and len(cells) < len(header):  # a last line cut short at a comma
                damaged = True
                continue
            raise InputError(f"{len(cells)} cells, the header has {len(header)}", f"row {n}", src)
        good.append(dict(zip(header, cells, strict=True)))
        good_lines.append(line)
    schema = {c.name: c for c in RESULT_SCHEMA} | {c.name: c for c in columns}
    check_records(good, schema.values(), src)
    for k, row in enumerate(good):
        if FLAG_TEXTS[row["feasible"].strip().lower()] and not row.get("total", "").strip():
            raise InputError("a feasible run needs its total", f"row {k + 2}, total", src)
    if damaged and repair:
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text("".join(good_lines), encoding="utf-8")
        tmp.replace(path)
    return good


def results_header(path: str | os.PathLike) -> list[str]:
    """The columns of an existing results file (its first line), in order.

    Parameters
    ----------
    path : path-like
        A file :func:`read_results` has accepted.

    Returns
    -------
    list of str
    """
    with Path(path).open(encoding="utf-8") as fh:
        return next(csv.reader(fh))


def _cell(value: Any) -> str:
    """A value as CSV text: ``None`` and non-finite floats empty, floats exact (``repr``)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


class ResultsWriter:
    """Appends rows to a results file, one flushed (and synced) line each.

    Parameters
    ----------
    path : Path
        Created with a header line if missing or empty.
    header : sequence of str
        The columns written, in order (those of the existing file when resuming).

    Raises
    ------
    OSError
        If the file cannot be opened for appending.
    """

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = list(header)
        new = not path.exists() or path.stat().st_size == 0
        self.fh = path.open("a", encoding="utf-8", newline="")
        if new:
            self._write(self.header)

    def _write(self, cells: Sequence[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        self.fh.write(buf.getvalue())  # one write per line
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def append(self, row: Mapping[str, Any]) -> None:
        """Write ``row``'s values of the header's columns as one line (missing: empty).

        Parameters
        ----------
        row : Mapping
            Values by column; columns outside the header are not written.
        """
        self._write([_cell(row.get(c, "")) for c in self.header])

    def close(self) -> None:
        """Close the file."""
        self.fh.close()


def results_table(df: pd.DataFrame) -> pd.DataFrame:
    """Stored rows (strings) with their columns typed, in place.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows as :func:`read_results` gives them.

    Returns
    -------
    pandas.DataFrame
        ``df``: grid integers as ``Int64``, costs and times as floats (empty:
        ``nan``), ``feasible`` as booleans, text columns as strings.
    """
    for c in ("requests", "max_rate", "seed"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in (
        "total",
        "first_stage",
        "second_stage",
        "gap_pct",
        "bound",
        "runtime_s",
        "time_limit_s",
    ):
        if c in df:
            df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype(float)
    if "feasible" in df:
        df["feasible"] = df["feasible"].map(as_bool).astype(bool)
    for c in ("gap_ref", "error", "status", "instance_hash", "versions"):
        if c in df:
            df[c] = df[c].fillna("").astype(str)
    return df


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per (topology, requests, max_rate, planner): runs, errors and means over seeds.

    Parameters
    ----------
    df : pandas.DataFrame
        A typed results table (:func:`results_table`, what ``run_sweep`` returns).

    Returns
    -------
    pandas.DataFrame
        Columns ``topology, requests, max_rate, planner, runs``, ``ok``
        (scored and feasible), ``errors``, ``total`` (mean expected cost),
        ``gap_pct`` (mean), ``runtime_s`` (mean).
    """
    if df.empty:
        return pd.DataFrame(
            columns=[
                "topology",
                "requests",
                "max_rate",
                "planner",
                "runs",
                "ok",
                "errors",
                "total",
                "gap_pct",
                "runtime_s",
            ]
        )
    runs = df.copy()
    runs["ok"] = runs["status"].isin(list(USABLE_STATUSES)) & runs["feasible"]
    runs["errors"] = runs["status"].eq(ERROR)
    groups = runs.groupby(["topology", "requests", "max_rate", "planner"], sort=True)
    out = groups.agg(
        runs=("seed", "size"),
        ok=("ok", "sum"),
        errors=("errors", "sum"),
        total=("total", "mean"),
        gap_pct=("gap_pct", "mean"),
        runtime_s=("runtime_s", "mean"),
    )
    return out.reset_index()
