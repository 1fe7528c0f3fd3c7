"""Unit costs and instance-wide parameters: Table I, the defaults of every arc, direct prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import InputError
from .constants import COMPONENTS, DEFAULT_SHORTFALL_FACTOR, PARAMS_X4, PHASES, check_number

__all__ = ["CostTable", "Params", "UnitCosts"]


@dataclass(frozen=True)
class CostTable:
    """Unit costs of Table I per phase (``r``, ``e``, ``o``) and component.

    Parameters
    ----------
    r, e, o : Mapping[str, float]
        Cost of one MDI-QTx (``tx``), MDI-QRx (``rx``), LKM (``km``), SI
        (``si``), MUX/DEMUX pair (``md``) and wavelength-km of fiber (``ch``)
        in the reservation, reserved-use and on-demand phase.
    site : float, optional
        One-off reservation cost of one site of a link's MDI chain (the fixed charges of
        :meth:`~qkdbench.model.Instance.link_fixed_cost`); default 0.

    Examples
    --------
    >>> CostTable().o["tx"]
    6000.0
    """

    r: Mapping[str, float] = field(
        default_factory=lambda: {
            "tx": 1500.0,
            "rx": 2250.0,
            "km": 1200.0,
            "si": 150.0,
            "md": 300.0,
            "ch": 1.0,
        }
    )
    e: Mapping[str, float] = field(
        default_factory=lambda: {
            "tx": 1500.0,
            "rx": 2250.0,
            "km": 1200.0,
            "si": 150.0,
            "md": 300.0,
            "ch": 1.0,
        }
    )
    o: Mapping[str, float] = field(
        default_factory=lambda: {
            "tx": 6000.0,
            "rx": 9000.0,
            "km": 3000.0,
            "si": 500.0,
            "md": 900.0,
            "ch": 4.0,
        }
    )
    site: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "site", check_number(self.site, "costs.r.site", nonneg=True))
        for ph in PHASES:
            table = getattr(self, ph)
            if not isinstance(table, Mapping):
                raise InputError("expected an object of component costs", f"costs.{ph}")
            unknown = set(table) - set(COMPONENTS)
            if unknown:
                raise InputError(f"unknown cost component {sorted(unknown)[0]!r}", f"costs.{ph}")
            missing = [c for c in COMPONENTS if c not in table]
            if missing:
                raise InputError(f"missing cost component {missing[0]!r}", f"costs.{ph}")
            clean = {c: check_number(table[c], f"costs.{ph}.{c}", nonneg=True) for c in COMPONENTS}
            object.__setattr__(self, ph, clean)

    def matrix(self) -> np.ndarray:
        """Return the costs as a ``(3, 6)`` array, rows ``PHASES``, columns ``COMPONENTS``.

        Returns
        -------
        ndarray of shape (3, 6)
        """
        return np.array([[getattr(self, ph)[c] for c in COMPONENTS] for ph in PHASES])

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{"r": {...}, "e": {...}, "o": {...}}``; ``r`` holds ``site`` when it is not 0.

        Returns
        -------
        dict of str to dict of str to float
        """
        out = {ph: dict(getattr(self, ph)) for ph in PHASES}
        if self.site:
            out["r"]["site"] = self.site
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostTable:
        """Build from ``{"r": {...}, "e": {...}, "o": {...}}``; missing phases default.

        ``r`` may hold ``site``; ``e`` and ``o`` may not.

        Parameters
        ----------
        data : Mapping
            The ``costs`` object of an instance file; a component a phase leaves out keeps its
            Table I default.

        Returns
        -------
        CostTable

        Raises
        ------
        InputError
            For a value that is not an object, an unknown phase or component, ``site``
            outside ``r``, or a cost that is not a non-negative number.
        """
        if not isinstance(data, Mapping):
            raise InputError("expected an object", "costs")
        unknown = set(data) - set(PHASES)
        if unknown:
            raise InputError(f"unknown phase {sorted(unknown)[0]!r}", "costs")
        default = cls()
        tables = {}
        for ph in PHASES:
            given = data.get(ph, {})
            if not isinstance(given, Mapping):
                raise InputError("expected an object of component costs", f"costs.{ph}")
            given = dict(given)
            if "site" in given:
                if ph != "r":
                    raise InputError(
                        "'site' is a one-off reservation cost: it belongs to phase 'r' only",
                        f"costs.{ph}.site",
                    )
                tables["site"] = given.pop("site")
            tables[ph] = {**getattr(default, ph), **given}
        return cls(**tables)


@dataclass(frozen=True)
class Params:
    """Instance-wide defaults for every arc, and the per-arc route cost.

    Parameters
    ----------
    span_km : float
        ``D``, distance between two MDI-QTx (Eq. 2). Paper: 160 km.
    key_rate_kbps : float
        ``K_D``, secret-key rate of one QKD link over ``D`` (Eq. 1). Default 1.0.
    W_qkd, W_kml : int
        QKD and KM wavelengths that may be reserved on an arc (150 and 50).
    hop_cost : float
        Cost per arc a route uses (the paper's energy ``B_eng``); default 0.
    O_qkd, O_kml : int or None
        QKD and KM wavelengths that can be bought on demand on an arc in one scenario,
        shared by the requests routed over it; ``None`` (default): unlimited.
    shortfall_factor : float
        ``phi >= 1``: a wavelength needed but neither reserved nor available on demand
        costs ``phi`` times the on-demand price (default 10).
    """

    span_km: float = 160.0
    key_rate_kbps: float = 1.0
    W_qkd: int = 150
    W_kml: int = 50
    hop_cost: float = 0.0
    O_qkd: int | None = None
    O_kml: int | None = None
    shortfall_factor: float = DEFAULT_SHORTFALL_FACTOR

    def __post_init__(self) -> None:
        check_number(self.span_km, "params.span_km", positive=True)
        check_number(self.key_rate_kbps, "params.key_rate_kbps", positive=True)
        check_number(self.W_qkd, "params.W_qkd", nonneg=True, integer=True)
        check_number(self.W_kml, "params.W_kml", nonneg=True, integer=True)
        check_number(self.hop_cost, "params.hop_cost", nonneg=True)
        object.__setattr__(self, "span_km", float(self.span_km))
        object.__setattr__(self, "key_rate_kbps", float(self.key_rate_kbps))
        object.__setattr__(self, "W_qkd", int(self.W_qkd))
        object.__setattr__(self, "W_kml", int(self.W_kml))
        object.__setattr__(self, "hop_cost", float(self.hop_cost))
        for attr in ("O_qkd", "O_kml"):
            value = getattr(self, attr)
            if value is not None:
                check_number(value, f"params.{attr}", nonneg=True, integer=True)
                object.__setattr__(self, attr, int(value))
        phi = check_number(self.shortfall_factor, "params.shortfall_factor")
        if phi < 1:
            raise InputError(f"must be at least 1, got {phi!r}", "params.shortfall_factor")
        object.__setattr__(self, "shortfall_factor", float(phi))

    @property
    def uses_extensions(self) -> bool:
        """Whether ``O_qkd``, ``O_kml`` or ``shortfall_factor`` (coupled second stage) is set."""
        return (
            self.O_qkd is not None
            or self.O_kml is not None
            or self.shortfall_factor != DEFAULT_SHORTFALL_FACTOR
        )

    def to_dict(self) -> dict[str, float]:
        """The ``params`` object of an instance file.

        Returns
        -------
        dict of str to float
            The paper's parameters, and the on-demand caps and shortfall factor when they
            are not the defaults.
        """
        out: dict[str, float] = {
            "span_km": self.span_km,
            "key_rate_kbps": self.key_rate_kbps,
            "W_qkd": self.W_qkd,
            "W_kml": self.W_kml,
            "hop_cost": self.hop_cost,
        }
        if self.O_qkd is not None:
            out["O_qkd"] = self.O_qkd
        if self.O_kml is not None:
            out["O_kml"] = self.O_kml
        if self.shortfall_factor != DEFAULT_SHORTFALL_FACTOR:
            out["shortfall_factor"] = self.shortfall_factor
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Params:
        """Build from a ``params`` object; unknown keys are an error.

        Parameters
        ----------
        data : Mapping
            The ``params`` object of an instance file; missing keys keep their default.

        Returns
        -------
        Params

        Raises
        ------
        InputError
            For a value that is not an object, an unknown key, or an invalid number.
        """
        if not isinstance(data, Mapping):
            raise InputError("expected an object", "params")
        known = {"span_km", "key_rate_kbps", "W_qkd", "W_kml", "hop_cost", *PARAMS_X4}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown parameter {sorted(unknown)[0]!r}", "params")
        return cls(**dict(data))


@dataclass(frozen=True)
class UnitCosts:
    """Prices of one wavelength on a link, per phase, given directly.

    They replace the Table I derivation (Eqs. 3-8) for the link they belong to.

    Parameters
    ----------
    qkd, km : tuple of 3 float
        Price of one QKD / KM wavelength in the reservation, reserved-use and
        on-demand phases (``PHASES`` order).

    Examples
    --------
    >>> UnitCosts.from_dict({"qkd": {"r": 1, "e": 1, "o": 3}, "km": {"r": 2, "e": 2, "o": 5}}).km
    (2.0, 2.0, 5.0)
    """

    qkd: tuple[float, float, float]
    km: tuple[float, float, float]

    def __post_init__(self) -> None:
        for part in ("qkd", "km"):
            vals = tuple(getattr(self, part))
            if len(vals) != len(PHASES):
                raise InputError(
                    f"expected {len(PHASES)} phase prices, got {len(vals)}", f"unit_costs.{part}"
                )
            object.__setattr__(
                self,
                part,
                tuple(
                    check_number(v, f"unit_costs.{part}.{ph}", nonneg=True)
                    for ph, v in zip(PHASES, vals, strict=True)
                ),
            )

    @classmethod
    def from_dict(cls, data: Any) -> UnitCosts:
        """Build from ``{"qkd": {"r", "e", "o"}, "km": {"r", "e", "o"}}`` (every key required).

        Parameters
        ----------
        data : Mapping
            A link's ``unit_costs`` object.

        Returns
        -------
        UnitCosts

        Raises
        ------
        InputError
            For an unknown or missing key or phase, or a price that is not a non-negative
            number.
        """
        if not isinstance(data, Mapping):
            raise InputError('expected an object {"qkd": {...}, "km": {...}}', "unit_costs")
        for part in sorted(set(data) - {"qkd", "km"}):
            raise InputError(f"unknown key {part!r}", f"unit_costs.{part}")
        out = {}
        for part in ("qkd", "km"):
            table = data.get(part)
            if not isinstance(table, Mapping):
                raise InputError(
                    'missing or not an object of phase prices {"r", "e", "o"}', f"unit_costs.{part}"
                )
            for key in sorted(set(table) - set(PHASES)):
                raise InputError(f"unknown phase {key!r}", f"unit_costs.{part}.{key}")
            for ph in PHASES:
                if ph not in table:
                    raise InputError(f"missing phase {ph!r}", f"unit_costs.{part}")
            out[part] = tuple(table[ph] for ph in PHASES)
        return cls(out["qkd"], out["km"])

    def to_dict(self) -> dict[str, dict[str, float]]:
        """The link's ``unit_costs`` object.

        Returns
        -------
        dict of str to dict of str to float
            ``{"qkd": {"r": .., "e": .., "o": ..}, "km": {...}}``.
        """
        return {part: dict(zip(PHASES, getattr(self, part), strict=True)) for part in ("qkd", "km")}
