"""Constants of the planning model and the number check every part of it uses.

It imports nothing of the package but its exceptions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = [
    "PHASES",
    "PHASE_NAMES",
    "COMPONENTS",
    "QKD_WAVELENGTHS_PER_LINK",
    "KML_WAVELENGTHS_PER_LINK",
    "KM_WAVELENGTHS_PER_LINK",
    "CEIL_TOL",
    "MAX_COUNT",
    "MAX_UNIFORM_RATE",
    "LINK_OVERRIDES",
    "LINK_KINDS",
    "check_number",
]

#: Phases of Table I as the cost table keys them: reservation, use of a reserved
#: wavelength, on-demand.
PHASES: tuple[str, ...] = ("r", "e", "o")
#: The phases in words, in :data:`PHASES` order (as results name them).
PHASE_NAMES: tuple[str, ...] = ("reservation", "reserved_use", "on_demand")
#: Cost components of Table I (``hop`` is the per-arc route cost, kept apart).
COMPONENTS: tuple[str, ...] = ("tx", "rx", "km", "si", "md", "ch")
#: Wavelengths one QKD link occupies (the paper's ``W_f^qkd``).
QKD_WAVELENGTHS_PER_LINK = 3
#: Wavelengths one KM link occupies (the paper's ``W_f^kml``).
KML_WAVELENGTHS_PER_LINK = 1
#: The former name of :data:`KML_WAVELENGTHS_PER_LINK`, kept for existing imports.
KM_WAVELENGTHS_PER_LINK = KML_WAVELENGTHS_PER_LINK
#: Tolerance inside the ceilings of Eqs. 1-2 so that ``1.1 / 0.1`` counts 11.
CEIL_TOL = 1e-9
#: Largest MDI-segment count per arc and QKD-link count per request and arc that an
#: instance may imply; beyond it the input is surely a mistake (and counts lose exactness).
MAX_COUNT = 1e9
#: Largest ``K`` of :meth:`~qkdbench.model.Demand.uniform` (its support has ``K + 1`` values).
MAX_UNIFORM_RATE = 100_000
#: Per-link overrides of the instance's parameters (:class:`~qkdbench.model.Params`).
LINK_OVERRIDES = ("W_qkd", "W_kml", "span_km", "key_rate_kbps")
#: Kinds of link: Eqs. 3-8 (the MDI chain) describe ``fiber`` only.
LINK_KINDS: tuple[str, ...] = ("fiber", "free-space", "satellite")


def check_number(
    value: Any, place: str, *, positive: bool = False, nonneg: bool = False, integer: bool = False
) -> float:
    """``float(value)`` after checking it is a finite number (and the options).

    Parameters
    ----------
    value : Any
        Must be an int or float (NumPy's too), not a bool.
    place : str
        Where the value sits in the input, e.g. ``links[3].length_km``.
    positive : bool, optional
        Also require ``value > 0``.
    nonneg : bool, optional
        Also require ``value >= 0``.
    integer : bool, optional
        Also require a whole number of magnitude at most :data:`MAX_COUNT`.

    Returns
    -------
    float

    Raises
    ------
    InputError
        Naming ``place`` and the problem.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"expected a number, got {value!r}", place)
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"must be finite, got {value!r}", place)
    if positive and v <= 0:
        raise InputError(f"must be positive, got {value!r}", place)
    if nonneg and v < 0:
        raise InputError(f"must be non-negative, got {value!r}", place)
    if integer and abs(v) > MAX_COUNT:  # a count (capacity) beyond this is surely a mistake
        raise InputError(f"must be at most {MAX_COUNT:.0e}, got {value!r}", place)
    if integer and v != int(v):
        raise InputError(f"must be an integer, got {value!r}", place)
    return v
