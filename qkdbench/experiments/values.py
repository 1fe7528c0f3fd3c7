"""Values of a run record as they come back: a number or ``nan``, a boolean.

A planner's ``stats`` and a results file's cells hold costs, bounds and flags as
whatever their writer chose (``None``, a string, a NumPy scalar); these helpers
read them the one way every comparison, gap and sweep reads them.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["float_or_nan", "as_bool"]


def float_or_nan(value: Any) -> float:
    """``float(value)`` if it is a finite number, else ``nan``.

    Parameters
    ----------
    value : Any
        A number, a numeric string, ``None``, ...

    Returns
    -------
    float

    Examples
    --------
    >>> float_or_nan("2.5"), float_or_nan(None), float_or_nan(float("inf")), float_or_nan("")
    (2.5, nan, nan, nan)
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def as_bool(value: Any) -> bool:
    """A flag as a boolean; strings ``true``, ``1`` and ``yes`` (any case) are true.

    Parameters
    ----------
    value : Any
        A boolean, a number or a cell of a CSV file.

    Returns
    -------
    bool

    Examples
    --------
    >>> as_bool("True"), as_bool("False"), as_bool(""), as_bool(1)
    (True, False, False, True)
    """
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
