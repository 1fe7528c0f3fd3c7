"""Key-rate demands: discrete distributions of a request's secret-key rate."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..exceptions import InputError
from .constants import MAX_UNIFORM_RATE, check_number

__all__ = ["Demand"]


@dataclass(frozen=True)
class Demand:
    """A discrete distribution of a request's secret-key rate ``kappa`` (kbps).

    Parameters
    ----------
    values : tuple of float
        Support values (kbps, >= 0).
    probs : tuple of float
        Their probabilities (> 0, summing to 1 within 1e-9).

    Examples
    --------
    >>> d = Demand.uniform(2)
    >>> d.values, round(d.mean, 6)
    ((0.0, 1.0, 2.0), 1.0)
    >>> Demand.empirical([3, 1, 3, 3]).probs
    (0.25, 0.75)
    """

    values: tuple[float, ...]
    probs: tuple[float, ...]

    def __post_init__(self) -> None:
        values = tuple(self.values)
        probs = tuple(self.probs)
        if len(values) == 0:
            raise InputError("a demand needs at least one value", "demand.values")
        if len(values) != len(probs):
            raise InputError(f"{len(values)} values but {len(probs)} probabilities", "demand.probs")
        v = tuple(check_number(x, f"demand.values[{i}]", nonneg=True) for i, x in enumerate(values))
        p = tuple(check_number(x, f"demand.probs[{i}]") for i, x in enumerate(probs))
        for i, x in enumerate(p):
            if x <= 0:
                raise InputError(f"probability must be positive, got {x!r}", f"demand.probs[{i}]")
        total = math.fsum(p)
        if abs(total - 1.0) > 1e-9:
            raise InputError(f"probabilities sum to {total!r}, not 1", "demand.probs")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "probs", p)

    @classmethod
    def uniform(cls, max_rate: int) -> Demand:
        """Key rate uniform on ``{0, 1, ..., max_rate}`` kbps (the paper's ``Omega_f``).

        Parameters
        ----------
        max_rate : int
            ``K``, the largest key rate; at most :data:`~qkdbench.model.constants.MAX_UNIFORM_RATE`.

        Returns
        -------
        Demand
            ``K + 1`` values, each of probability ``1 / (K + 1)``.

        Raises
        ------
        InputError
            If ``max_rate`` is not a non-negative integer or is above the limit.
        """
        if isinstance(max_rate, bool) or int(max_rate) != max_rate or max_rate < 0:
            raise InputError(
                f"max rate must be a non-negative integer, got {max_rate!r}", "max_rate"
            )
        if max_rate > MAX_UNIFORM_RATE:
            raise InputError(
                f"max rate {max_rate} is above {MAX_UNIFORM_RATE:,} (a support of "
                "that many values per request)",
                "max_rate",
            )
        n = int(max_rate) + 1
        return cls(tuple(float(k) for k in range(n)), tuple([1.0 / n] * n))

    @classmethod
    def empirical(cls, samples: Iterable[float]) -> Demand:
        """The empirical distribution of observed key rates (equal weight per sample).

        Parameters
        ----------
        samples : iterable of float
            Observed key rates (kbps, >= 0).

        Returns
        -------
        Demand
            The distinct values, ascending, each with its share of the samples.

        Raises
        ------
        InputError
            If there are no samples (or one is negative or not finite).
        """
        arr = np.asarray(list(samples), dtype=float)
        if arr.size == 0:
            raise InputError("no samples", "samples")
        vals, counts = np.unique(arr, return_counts=True)
        return cls(tuple(float(x) for x in vals), tuple(float(c) / arr.size for c in counts))

    @classmethod
    def point(cls, value: float) -> Demand:
        """A deterministic key rate.

        Parameters
        ----------
        value : float
            The key rate (kbps, >= 0).

        Returns
        -------
        Demand
            One value of probability 1.
        """
        return cls((float(value),), (1.0,))

    @property
    def mean(self) -> float:
        """Expected key rate ``E[kappa]`` in kbps."""
        return math.fsum(v * p for v, p in zip(self.values, self.probs, strict=True))

    @property
    def max(self) -> float:
        """Largest key rate of the support."""
        return max(self.values)

    def quantile(self, q: float) -> float:
        """Smallest support value ``v`` with ``Pr(kappa <= v) >= q``.

        Parameters
        ----------
        q : float
            Level in ``[0, 1]``.

        Returns
        -------
        float
            A support value.

        Raises
        ------
        ValueError
            If ``q`` lies outside ``[0, 1]``.
        """
        if not 0.0 <= q <= 1.0:
            raise InputError(f"quantile level must lie in [0, 1], got {q}")
        order = sorted(zip(self.values, self.probs, strict=True))
        acc = 0.0
        for v, p in order:
            acc += p
            if acc >= q - 1e-12:
                return v
        return order[-1][0]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` key rates with ``rng``.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draws.
        size : int
            Number of draws.

        Returns
        -------
        ndarray of shape (size,)
            Independent draws from the support with its probabilities.
        """
        return rng.choice(np.asarray(self.values), size=size, p=np.asarray(self.probs))

    def to_dict(self) -> dict[str, list[float]]:
        """The ``demand`` object of an instance file.

        Returns
        -------
        dict
            ``{"values": [...], "probs": [...]}``.
        """
        return {"values": list(self.values), "probs": list(self.probs)}
