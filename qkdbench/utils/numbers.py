"""The one checked reader of every number qkdbench reads from a file or a command line.

Every number field of every file (instance, plan, topology, solutions, sweep
specification, results and traces) and every number the model takes goes through
:func:`check_number` (a JSON or TOML value) or :func:`parse_number` (the text of a CSV
cell or an edge list). Each checks that the value is a number, that it is finite, that
it lies in the range asked for, and that its magnitude is at most :data:`MAX_MAGNITUDE`
(:data:`MAX_COUNT` for a count). The cap is what keeps the evaluator's sums finite: a
price, a length or a charge of 1e308 is finite, but ``2 * 1e308`` is not, and a sum of
such values would come out as ``inf`` (or ``nan``) with NumPy warnings instead of an
error. With every value at most 1e15 and every count at most 1e9, a total over a
million arcs, scenarios and components stays below 1e40.

Problems are :class:`~qkdbench.exceptions.InputError` s naming the place (a JSON
path such as ``links[3].length_km``, a row and column) and the problem, on one line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["MAX_MAGNITUDE", "MAX_COUNT", "check_number", "parse_number", "short_repr"]

#: Largest magnitude of a number read (a cost, a length, a charge, a key rate, a time):
#: beyond it the input is surely a mistake, and sums of such values could overflow.
MAX_MAGNITUDE = 1e15
#: Largest count (a capacity, an MDI-segment count, a reservation that is an integer
#: count) an input may give or imply; beyond it the input is surely a mistake (and
#: counts lose exactness as floats).
MAX_COUNT = 1e9

#: Characters of a value's ``repr`` an error message quotes at most.
_QUOTE = 40


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to a few dozen characters for an error message.

    Parameters
    ----------
    value : Any
        What the input held.

    Returns
    -------
    str
        The ``repr``, or its start and the number of characters left out.

    Examples
    --------
    >>> short_repr(2.5)
    '2.5'
    >>> short_repr(10**100)
    '1000000000000000000000000000000000000000... (101 digits)'
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**_QUOTE:
        digits = _digits(value)
        if digits >= 4000:  # str() refuses 4,300 digits and more
            return f"an integer of {digits} digits"
        return f"{str(value)[:_QUOTE]}... ({digits} digits)"
    text = repr(value)
    if len(text) <= _QUOTE:
        return text
    return f"{text[:_QUOTE]}... ({len(text)} characters)"


def _digits(value: int) -> int:
    """Decimal digits of ``abs(value)`` (without ``str``, which refuses 4,300 and more)."""
    n = abs(int(value))
    digits = max(1, math.floor(n.bit_length() * math.log10(2)))
    return digits + 1 if n >= 10**digits else digits


def check_number(
    value: Any,
    place: str,
    *,
    positive: bool = False,
    nonneg: bool = False,
    integer: bool = False,
    maximum: float | None = None,
    source: str = "",
) -> float:
    """``float(value)`` after checking it is a finite number in range.

    Parameters
    ----------
    value : Any
        Must be an int or float (NumPy's too), not a bool.
    place : str
        Where the value sits in the input, e.g. ``links[3].length_km``.
    positive : bool, optional
        Also require ``value > 0``.
    nonneg : bool, optional
        Also require ``value >= 0``.
    integer : bool, optional
        Also require a whole number (a count): its magnitude is at most
        :data:`MAX_COUNT` unless ``maximum`` says otherwise.
    maximum : float, optional
        Largest magnitude accepted; default :data:`MAX_MAGNITUDE` (:data:`MAX_COUNT` for
        an ``integer``). It is never above :data:`MAX_MAGNITUDE`.
    source : str, optional
        The file the value came from, for the message.

    Returns
    -------
    float

    Raises
    ------
    InputError
        Naming ``source``, ``place`` and the problem: not a number, an integer too large
        for a float, not finite, out of range, not whole.

    Examples
    --------
    >>> check_number(3, "params.W_qkd", integer=True)
    3.0
    >>> check_number(1e308, "costs.o.ch")
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: costs.o.ch: must be at most 1e+15 in magnitude, got 1e+308
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"expected a number, got {short_repr(value)}", place, source)
    try:
        v = float(value)
    except OverflowError:  # an int beyond the largest float
        raise InputError(
            f"number too large, got an integer of {_digits(int(value))} digits",
            place,
            source,
        ) from None
    if not math.isfinite(v):
        raise InputError(f"must be finite, got {short_repr(value)}", place, source)
    if positive and v <= 0:
        raise InputError(f"must be positive, got {short_repr(value)}", place, source)
    if nonneg and v < 0:
        raise InputError(f"must be non-negative, got {short_repr(value)}", place, source)
    limit = min(
        MAX_MAGNITUDE, maximum if maximum is not None else MAX_COUNT if integer else MAX_MAGNITUDE
    )
    if abs(v) > limit:
        what = "" if integer else " in magnitude"
        raise InputError(
            f"must be at most {limit:.0e}{what}, got {short_repr(value)}", place, source
        )
    if integer and v != int(v):
        raise InputError(f"must be an integer, got {short_repr(value)}", place, source)
    return v


def parse_number(
    text: str,
    place: str,
    *,
    positive: bool = False,
    nonneg: bool = False,
    integer: bool = False,
    maximum: float | None = None,
    source: str = "",
) -> float:
    """The number a text (a CSV cell, an edge-list field) holds, checked as :func:`check_number`.

    Parameters
    ----------
    text : str
        Decimal text; surrounding white space is ignored. ``nan``, ``inf`` and
        ``infinity`` are numbers here, and refused as not finite.
    place : str
        Where the text sits, e.g. ``line 4`` or ``row 3, total``.
    positive, nonneg, integer, maximum, source
        As :func:`check_number`.

    Returns
    -------
    float

    Raises
    ------
    InputError
        For text that is not a number, and as :func:`check_number`.

    Examples
    --------
    >>> parse_number(" 12.5 ", "row 2, total")
    12.5
    >>> parse_number("abc", "row 2, total", source="results.csv")
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: results.csv: row 2, total: not a number: 'abc'
    """
    try:
        value = float(text.strip())
    except (ValueError, AttributeError):
        raise InputError(f"not a number: {short_repr(text)}", place, source) from None
    return check_number(
        value,
        place,
        positive=positive,
        nonneg=nonneg,
        integer=integer,
        maximum=maximum,
        source=source,
    )
