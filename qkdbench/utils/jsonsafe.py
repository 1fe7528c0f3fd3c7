"""Numbers and containers made safe for strict JSON (no NaN, no infinity, no NumPy types)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_safe", "finite_or_none", "json_text"]


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` if it is finite, else ``None``.

    Parameters
    ----------
    value : float-like or None
        Anything :class:`float` accepts (a NumPy scalar, an int), or ``None``.

    Returns
    -------
    float or None

    Examples
    --------
    >>> finite_or_none(2), finite_or_none(float("nan")), finite_or_none(None)
    (2.0, None, None)
    """
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def json_safe(obj: Any) -> Any:
    """``obj`` with NumPy scalars and arrays made plain and non-finite floats made ``None``.

    Mapping keys become strings; tuples become lists.

    Parameters
    ----------
    obj : Any
        Mappings, lists, tuples and arrays are walked; other objects are kept as they are.

    Returns
    -------
    Any
        A copy made of dicts, lists, bools, ints, finite floats, ``None`` and the objects
        kept as they were.

    Examples
    --------
    >>> json_safe({"a": float("nan"), "b": (np.int64(2), np.float64("inf")), 3: True})
    {'a': None, 'b': [2, None], '3': True}
    """
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return finite_or_none(obj)
    return obj


def json_text(obj: Any, indent: int | None = 1) -> str:
    """Strict JSON text of ``obj``: :func:`json_safe` data, other objects as their ``str``.

    Parameters
    ----------
    obj : Any
        Plain data, possibly holding NumPy values, non-finite floats or objects JSON has no
        type for (a path, a status): those become their text.
    indent : int, optional
        As :func:`json.dumps` (default one space per level; ``None``: one line).

    Returns
    -------
    str
        Parsed by any strict JSON reader (no ``NaN``, no ``Infinity``).

    Examples
    --------
    >>> from pathlib import PurePosixPath
    >>> json_text({"a": np.float64("nan"), "b": PurePosixPath("x/y")}, indent=None)
    '{"a": null, "b": "x/y"}'
    """
    return json.dumps(json_safe(obj), indent=indent, default=str, allow_nan=False)
