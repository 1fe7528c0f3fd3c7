"""Stored records read back: the one check of every CSV table qkdbench reads.

A results file (a sweep's or a bench's ``results.csv``) and a traces file
(``traces.csv``) are tables the package wrote, but a person may have edited them
and a report trusts every cell. Each reader describes its columns once, as
:class:`Column` s, and :func:`check_records` checks every cell of every row
against them: a number through :func:`~qkdbench.utils.numbers.parse_number`
(finite, in range), a flag ``True`` / ``False``, a choice among the values the
column may hold, a required cell not empty. :func:`refuse_duplicates` refuses a
row whose key another row already has (a run counted twice). :func:`csv_rows`
parses CSV text with the decoder's own errors (an unclosed quote, a field beyond
the field limit) as one-line errors. Every problem is one
:class:`~qkdbench.exceptions.InputError` naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import InputError
from .numbers import parse_number, short_repr

__all__ = ["KINDS", "FLAG_TEXTS", "Column", "check_records", "refuse_duplicates", "csv_rows"]

#: What a column holds: free text, a whole number, a number, a flag, one of ``choices``.
KINDS: tuple[str, ...] = ("text", "count", "number", "flag", "choice")
#: The texts a flag cell may hold (any case); the writers write ``True`` and ``False``.
FLAG_TEXTS: dict[str, bool] = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class Column:
    """One column of a stored table and what its cells may hold.

    Parameters
    ----------
    name : str
        The header's name of the column.
    kind : str
        One of :data:`KINDS`.
    required : bool
        An empty cell is refused (otherwise empty means "none": a failed run has no
        total).
    nonneg, positive : bool
        For ``count`` and ``number``: the range, as
        :func:`~qkdbench.utils.numbers.check_number` takes it.
    choices : tuple of str
        For ``choice``: the values accepted.
    maximum : float, optional
        For ``count`` and ``number``: the largest magnitude (default as
        :func:`~qkdbench.utils.numbers.check_number` has it: 1e9 for a count, 1e15
        for a number).
    """

    name: str
    kind: str = "text"
    required: bool = False
    nonneg: bool = False
    positive: bool = False
    choices: tuple[str, ...] = ()
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    def check(self, text: str, place: str, source: str = "") -> Any:
        """The cell's value, checked.

        Parameters
        ----------
        text : str
            The cell as stored.
        place : str
            Where it is (``row 4, total``).
        source : str, optional
            The file, for the message.

        Returns
        -------
        Any
            ``None`` for an empty cell; else a float (``count``, ``number``), a bool
            (``flag``) or the text.

        Raises
        ------
        InputError
            For a cell the column cannot hold.
        """
        cell = text.strip()
        if not cell:
            if self.required:
                raise InputError("empty cell; a value is needed", place, source)
            return None
        if self.kind in ("count", "number"):
            return parse_number(
                cell,
                place,
                positive=self.positive,
                nonneg=self.nonneg,
                integer=self.kind == "count",
                maximum=self.maximum,
                source=source,
            )
        if self.kind == "flag":
            if cell.lower() not in FLAG_TEXTS:
                raise InputError(f"expected True or False, got {short_repr(cell)}", place, source)
            return FLAG_TEXTS[cell.lower()]
        if self.kind == "choice" and cell not in self.choices:
            raise InputError(
                f"unknown value {short_repr(cell)}; expected one of {', '.join(self.choices)}",
                place,
                source,
            )
        return cell


def check_records(
    rows: Sequence[Mapping[str, str]],
    columns: Iterable[Column],
    source: str = "",
    *,
    first_row: int = 2,
    need: Iterable[str] = (),
) -> None:
    """Check every cell of ``rows`` that a column of ``columns`` describes.

    Parameters
    ----------
    rows : sequence of Mapping
        The rows as read (cells as text), in file order.
    columns : iterable of Column
        What the cells may hold; a column of a row that none describes is not checked
        (a newer writer's extra column).
    source : str, optional
        The file, for the messages.
    first_row : int, optional
        The file's row number of ``rows[0]`` (2: below the header).
    need : iterable of str, optional
        Columns every row must have (the header must name them).

    Raises
    ------
    InputError
        ``FILE: row N, COLUMN: problem`` for the first bad cell, or ``FILE: line 1:
        missing column(s) ...``.

    Examples
    --------
    >>> check_records([{"total": "-5"}], [Column("total", "number", nonneg=True)], "r.csv")
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: r.csv: row 2, total: must be non-negative, got -5.0
    """
    cols = list(columns)
    need = list(need)
    if rows and need:
        missing = [c for c in need if c not in rows[0]]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", "line 1", source)
    for k, row in enumerate(rows):
        for col in cols:
            if col.name in row:
                col.check(row[col.name], f"row {k + first_row}, {col.name}", source)


def refuse_duplicates(
    rows: Sequence[Mapping[str, Any]],
    key: Callable[[Mapping[str, Any]], Any] | Sequence[str],
    source: str = "",
    *,
    first_row: int = 2,
    what: str = "run",
) -> None:
    """Refuse a row whose key an earlier row already has (a run stored twice).

    Parameters
    ----------
    rows : sequence of Mapping
        In file order.
    key : callable or sequence of str
        The key of a row, or the columns that make it.
    source : str, optional
        The file, for the message.
    first_row : int, optional
        The file's row number of ``rows[0]``.
    what : str, optional
        What a row is, for the message.

    Raises
    ------
    InputError
        ``FILE: row N: duplicate run (...), also row M``.

    Examples
    --------
    >>> refuse_duplicates([{"p": "a"}, {"p": "b"}, {"p": "a"}], ["p"], "r.csv")
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: r.csv: row 4: duplicate run (p=a), also row 2
    """
    if callable(key):
        key_of = key
        names: list[str] = []
    else:
        names = list(key)

        def key_of(row: Mapping[str, Any]) -> Any:
            return tuple(str(row.get(c, "")).strip() for c in names)

    seen: dict[Any, int] = {}
    for k, row in enumerate(rows):
        kk = key_of(row)
        if kk in seen:
            shown = (
                ", ".join(f"{c}={v}" for c, v in zip(names, kk, strict=True))
                if names
                else ", ".join(map(str, kk if isinstance(kk, tuple) else (kk,)))
            )
            raise InputError(
                f"duplicate {what} ({shown}), also row {seen[kk]}", f"row {k + first_row}", source
            )
        seen[kk] = k + first_row


def csv_rows(text: str, source: str = "") -> list[tuple[int, list[str]]]:
    """Parse CSV text into ``(line number, cells)`` per record, the decoder's errors as one line.

    Parameters
    ----------
    text : str
        The whole file.
    source : str, optional
        The file, for the message.

    Returns
    -------
    list of (int, list of str)
        The line each record starts on, and its cells; blank lines are left out.

    Raises
    ------
    InputError
        ``FILE: line N: malformed CSV: ...`` (an unclosed quote, a field longer than
        the csv module's limit, a NUL byte).

    Examples
    --------
    >>> csv_rows('a,b\\n1,"x\\n')
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: line 2: malformed CSV: unexpected end of data
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if cells:
                out.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", f"line {start}", source) from None
    return out
