"""Constants of the planning model, and the number check every part of it uses.

:func:`check_number`, :data:`MAX_COUNT` and :data:`MAX_MAGNITUDE` are those of
:mod:`qkdbench.utils.numbers`, the one checked reader of every number read.
"""

from __future__ import annotations

from ..utils.numbers import MAX_COUNT, MAX_MAGNITUDE, check_number

__all__ = [
    "PHASES",
    "PHASE_NAMES",
    "COMPONENTS",
    "QKD_WAVELENGTHS_PER_LINK",
    "KML_WAVELENGTHS_PER_LINK",
    "KM_WAVELENGTHS_PER_LINK",
    "CEIL_TOL",
    "MAX_COUNT",
    "MAX_MAGNITUDE",
    "MAX_UNIFORM_RATE",
    "LINK_OVERRIDES",
    "LINK_KINDS",
    "DEFAULT_SHORTFALL_FACTOR",
    "PARAMS_X4",
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
#: Largest ``K`` of :meth:`~qkdbench.model.Demand.uniform` (its support has ``K + 1`` values).
MAX_UNIFORM_RATE = 100_000
#: Per-link overrides of the instance's parameters (:class:`~qkdbench.model.Params`).
LINK_OVERRIDES = ("W_qkd", "W_kml", "span_km", "key_rate_kbps")
#: Kinds of link: Eqs. 3-8 (the MDI chain) describe ``fiber`` only.
LINK_KINDS: tuple[str, ...] = ("fiber", "free-space", "satellite")
#: Default ``params.shortfall_factor``: a missing wavelength costs 10 on-demand prices.
DEFAULT_SHORTFALL_FACTOR = 10.0
#: The ``params`` keys of the coupled second stage (extension keys of format ``/2``).
PARAMS_X4: tuple[str, ...] = ("O_qkd", "O_kml", "shortfall_factor")
