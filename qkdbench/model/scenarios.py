"""Joint scenarios: the key rates of every request and random link in N scenarios together.

With unlimited on-demand wavelengths the second stage separates by request and the
expectation needs only each request's marginal distribution. With a cap on on-demand
wavelengths (``O_qkd``, ``O_kml``) requests compete within a scenario, and the
expectation needs the joint distribution: :class:`Scenarios` lists it, in column form,
as the instance file's top-level ``scenarios`` object (``docs/model.md``, "Coupled
second stage").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import InputError
from .constants import check_number
from .demand import Demand

__all__ = ["Scenarios", "marginal"]


def marginal(column: tuple[float, ...], probs: tuple[float, ...]) -> Demand:
    """The distribution of one column of scenario values.

    Parameters
    ----------
    column : tuple of float
        One value per scenario.
    probs : tuple of float
        The scenarios' probabilities.

    Returns
    -------
    Demand
        The distinct values, ascending, with their summed probabilities.

    Examples
    --------
    >>> marginal((2.0, 0.0, 2.0), (0.25, 0.25, 0.5))
    Demand(values=(0.0, 2.0), probs=(0.25, 0.75))
    """
    mass: dict[float, list[float]] = {}
    for v, p in zip(column, probs, strict=True):
        mass.setdefault(float(v), []).append(p)
    values = tuple(sorted(mass))
    return Demand(values, tuple(math.fsum(mass[v]) for v in values))


@dataclass(frozen=True)
class Scenarios:
    """``N`` joint scenarios of the requests' key rates and the random links' states.

    Parameters
    ----------
    probs : tuple of float
        Probability of each scenario (> 0, summing to 1 within 1e-9).
    key_rates : Mapping[str, tuple of float]
        Key rate (kbps, >= 0) of each request in each scenario, by request id.
    link_key_rates : Mapping[int, tuple of float], optional
        State (key rate of one QKD link, kbps, > 0) of each random link in each
        scenario, by the link's position in the instance's ``links``.
    recipe : Mapping, optional
        How the scenarios were made (generator, seed, correlation, ...), kept as given.

    Raises
    ------
    InputError
        For an empty or ragged table, a bad probability or value.

    Examples
    --------
    >>> s = Scenarios((0.5, 0.5), {"f0": (0.0, 2.0), "f1": (2.0, 2.0)})
    >>> s.n, s.marginal("f1").values
    (2, (2.0,))
    """

    probs: tuple[float, ...]
    key_rates: Mapping[str, tuple[float, ...]]
    link_key_rates: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    recipe: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        probs = tuple(
            check_number(p, f"scenarios.probs[{i}]") for i, p in enumerate(tuple(self.probs))
        )
        if not probs:
            raise InputError("at least one scenario is needed", "scenarios.probs")
        for i, p in enumerate(probs):
            if p <= 0:
                raise InputError(
                    f"probability must be positive, got {p!r}", f"scenarios.probs[{i}]"
                )
        total = math.fsum(probs)
        if abs(total - 1.0) > 1e-9:
            raise InputError(f"probabilities sum to {total!r}, not 1", "scenarios.probs")
        n = len(probs)

        def column(raw: Any, place: str, positive: bool) -> tuple[float, ...]:
            vals = tuple(raw)
            if len(vals) != n:
                raise InputError(f"{len(vals)} values for {n} scenarios", place)
            return tuple(
                check_number(v, f"{place}[{i}]", nonneg=not positive, positive=positive)
                for i, v in enumerate(vals)
            )

        rates = {}
        for rid, col in dict(self.key_rates).items():
            rates[rid] = column(col, f"scenarios.key_rates.{rid}", positive=False)
        links = {}
        for k, col in dict(self.link_key_rates).items():
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise InputError(
                    f"a link is named by its 0-based position, got {k!r}",
                    "scenarios.link_key_rates",
                )
            links[k] = column(col, f"scenarios.link_key_rates.{k}", positive=True)
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "key_rates", rates)
        object.__setattr__(self, "link_key_rates", dict(sorted(links.items())))
        object.__setattr__(self, "recipe", dict(self.recipe))

    @property
    def n(self) -> int:
        """Number of scenarios."""
        return len(self.probs)

    def marginal(self, request_id: str) -> Demand:
        """The marginal distribution of one request's key rate.

        Parameters
        ----------
        request_id : str

        Returns
        -------
        Demand
        """
        return marginal(self.key_rates[request_id], self.probs)

    def link_marginal(self, k: int) -> Demand:
        """The marginal distribution of random link ``k``'s state.

        Parameters
        ----------
        k : int
            Link position.

        Returns
        -------
        Demand
        """
        return marginal(self.link_key_rates[k], self.probs)

    def rate_matrix(self, request_ids: tuple[str, ...]) -> np.ndarray:
        """Key rates as an ``(N, F)`` array, columns in ``request_ids`` order.

        Parameters
        ----------
        request_ids : tuple of str

        Returns
        -------
        ndarray of float64
        """
        if not request_ids:
            return np.zeros((self.n, 0))
        return np.ascontiguousarray(
            np.array([self.key_rates[r] for r in request_ids], dtype=float).T
        )

    def to_dict(self) -> dict[str, Any]:
        """The instance file's ``scenarios`` object.

        Returns
        -------
        dict
            ``probs``, ``key_rates``, ``link_key_rates`` (keys as strings) and ``recipe``
            when there is one.
        """
        out: dict[str, Any] = {
            "probs": list(self.probs),
            "key_rates": {r: list(v) for r, v in self.key_rates.items()},
        }
        if self.link_key_rates:
            out["link_key_rates"] = {str(k): list(v) for k, v in self.link_key_rates.items()}
        if self.recipe:
            out["recipe"] = dict(self.recipe)
        return out
