"""A wall-clock budget for planner runs."""

from __future__ import annotations

import time

__all__ = ["Stopwatch"]


class Stopwatch:
    """Wall-clock budget for a planner run.

    Parameters
    ----------
    limit : float or None
        Seconds; ``None`` means no limit.

    Examples
    --------
    >>> watch = Stopwatch(None)
    >>> watch.expired(), watch.remaining
    (False, None)
    """

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.start

    def expired(self) -> bool:
        """Whether the limit has passed.

        Returns
        -------
        bool
            ``False`` without a limit.
        """
        return self.limit is not None and self.elapsed >= self.limit

    @property
    def remaining(self) -> float | None:
        """Seconds left (``None`` without a limit)."""
        return None if self.limit is None else max(0.0, self.limit - self.elapsed)
