"""Numbers and containers made safe for strict JSON (no NaN, no infinity, no NumPy types)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_safe", "finite_or_none"]


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` if it is finite, else ``None``.

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
