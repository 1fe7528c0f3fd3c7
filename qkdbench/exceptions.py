"""The exceptions of qkdbench, in one place.

Every exception the package raises on purpose derives from :class:`QkdbenchError`,
and each keeps the built-in base it has always had (``InputError`` is a
``ValueError``, ``SolverError`` a ``RuntimeError``, ...), so ``except ValueError``
still catches bad input. The command line maps them to exit statuses:
:class:`InputError` and :class:`UsageError` are bad input (status 2),
:class:`SolverError` a missing or failing MILP solver (status 3). Every message
is one line.

This module imports nothing of the package.
"""

from __future__ import annotations

__all__ = [
    "QkdbenchError",
    "InputError",
    "UsageError",
    "SolverError",
    "SolverUnavailableError",
    "PlannerCheckError",
    "PanelSkipped",
    "MissingExtraError",
]


class QkdbenchError(Exception):
    """Base of every exception qkdbench raises on purpose.

    ``except QkdbenchError`` catches them all; each subclass also keeps its
    built-in base (see the module notes).
    """


class InputError(QkdbenchError, ValueError):
    """Bad input (a file, a value or a function argument): where, and what is wrong, on one line.

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

    def __init__(self, problem: str, place: str = "", source: str = "") -> None:
        self.problem = problem
        self.place = place
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [p for p in (self.source, self.place) if p]
        return ": ".join(parts + [self.problem])

    def located(self, source: str) -> InputError:
        """Return the same error attributed to ``source`` (a file name).

        Parameters
        ----------
        source : str
            The file (or other origin) the input came from.

        Returns
        -------
        InputError
            A new error with the same problem and place.
        """
        return InputError(self.problem, self.place, source)


class UsageError(QkdbenchError):
    """A bad command line (an option value or combination): exit status 2, one line."""


class SolverError(QkdbenchError, RuntimeError):
    """The MILP solver is missing or failed; the message is one line.

    Parameters
    ----------
    message : str
        What happened; runs of white space (line breaks included) become one space.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class SolverUnavailableError(SolverError):
    """No usable MILP solver is installed.

    Parameters
    ----------
    message : str
        Which solver is missing and what to install; white space is collapsed as in
        :class:`SolverError`.
    """


class PlannerCheckError(QkdbenchError, AssertionError):
    """A planner failed a conformance check (:mod:`qkdbench.testing`).

    Parameters
    ----------
    check : str
        Name of the check (a key of ``qkdbench.testing.CHECKS``).
    planner : str
        Name of the planner.
    problem : str
        What went wrong.
    """

    def __init__(self, check: str, planner: str, problem: str) -> None:
        self.check = check
        self.planner = planner
        self.problem = problem
        super().__init__(f"planner {planner!r} fails check {check!r}: {problem}")


class PanelSkipped(QkdbenchError):
    """Raised by a figure panel's data function when the panel cannot be made here.

    The message is the reason (:mod:`qkdbench.experiments.figures`).
    """


class MissingExtraError(QkdbenchError, ImportError):
    """sb3-contrib (the ``rl`` extra) is not installed (:mod:`qkdbench.rl.agents`)."""
