"""The exceptions of qkdbench, in one place.

The command line maps them to exit statuses: :class:`InputError` is bad input
(status 2), :class:`SolverError` a missing or failing MILP solver (status 3).
Every message is one line.

This module imports nothing of the package.
"""

from __future__ import annotations

__all__ = ["InputError", "SolverError", "SolverUnavailableError"]


class InputError(ValueError):
    """Bad input: a file, a place in it and what is wrong, on one line.

    Parameters
    ----------
    problem : str
        What is wrong.
    place : str, optional
        Where, e.g. ``links[3].length_km``.
    source : str, optional
        The file (or other origin) the input came from.

    Examples
    --------
    >>> str(InputError("must be positive, got -3", "links[0].length_km", "net.json"))
    'net.json: links[0].length_km: must be positive, got -3'
    """

    def __init__(self, problem: str, place: str = "", source: str = ""):
        self.problem = problem
        self.place = place
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [p for p in (self.source, self.place) if p]
        return ": ".join(parts + [self.problem])

    def located(self, source: str) -> InputError:
        """Return the same error attributed to ``source`` (a file name)."""
        return InputError(self.problem, self.place, source)


class SolverError(RuntimeError):
    """The MILP solver is missing or failed; the message is one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class SolverUnavailableError(SolverError):
    """No usable MILP solver is installed."""
