"""Plans: each request's route and reservations, and the run information."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["Route", "Plan"]


@dataclass(frozen=True)
class Route:
    """One request's first-stage decision: its path and per-arc reservations.

    Parameters
    ----------
    request_id : str
    path : tuple
        Node ids from source to target.
    reserve_qkd, reserve_km : tuple of int
        Wavelengths reserved on arc ``path[i] -> path[i+1]`` (the paper's
        ``y^r`` and ``z^r``).
    provider : str, optional
        For an anycast request, the provider of the chosen target; the path
        ends at that target's node.
    """

    request_id: str
    path: tuple
    reserve_qkd: tuple
    reserve_km: tuple
    provider: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.path))
        object.__setattr__(self, "reserve_qkd", tuple(self.reserve_qkd))
        object.__setattr__(self, "reserve_km", tuple(self.reserve_km))


@dataclass(frozen=True)
class Plan:
    """A complete first-stage plan: a route with reservations for every request.

    Parameters
    ----------
    instance_name : str
        Name of the instance the plan is for (the plan file's ``instance`` key).
    planner : str
        Name of the planner that made it.
    routes : tuple of Route
    stats : Mapping
        Free-form run information: ``runtime_s``, ``status`` (one of
        ``optimal``, ``feasible``, ``heuristic``, ``infeasible``, ``error``), and
        for exact plans ``bound`` and ``gap``.
    """

    instance_name: str
    planner: str
    routes: tuple[Route, ...]
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(self.routes))

    @property
    def status(self) -> str:
        """``stats['status']`` (``heuristic`` if absent)."""
        return str(self.stats.get("status", "heuristic"))

    def route_of(self, request_id: str) -> Route:
        """The route of a request id (``KeyError`` if absent).

        Parameters
        ----------
        request_id : str
            A request id of the instance.

        Returns
        -------
        Route
            The first route for that request.

        Raises
        ------
        KeyError
            If the plan has no route for ``request_id``.
        """
        for r in self.routes:
            if r.request_id == request_id:
                return r
        raise KeyError(request_id)

    def with_stats(self, **stats: Any) -> Plan:
        """A copy with ``stats`` updated.

        Parameters
        ----------
        **stats
            Entries added to (or replacing those of) :attr:`stats`.

        Returns
        -------
        Plan
            The same routes; the original plan is unchanged.
        """
        return replace(self, stats={**self.stats, **stats})
