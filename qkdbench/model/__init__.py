"""The planning model: instances, requests, key-rate demands, costs and plans.

The frozen data objects every other layer reads, and their validation: an
:class:`Instance` that exists is a valid one (see ``docs/model.md``). Pricing
(the per-arc unit costs and the key-rate tables the evaluator reads) lives in
:mod:`qkdbench.evaluation.pricing`; reading and writing files in
:mod:`qkdbench.io`.

Every name is importable from here; the modules hold one topic each:
:mod:`~qkdbench.model.constants` (constants and the number check),
:mod:`~qkdbench.model.costs` (:class:`CostTable`, :class:`Params`,
:class:`UnitCosts`), :mod:`~qkdbench.model.demand` (:class:`Demand`),
:mod:`~qkdbench.model.network` (:class:`Link`, :class:`Target`,
:class:`Provider`, :class:`Request`), :mod:`~qkdbench.model.scenarios`
(:class:`Scenarios`), :mod:`~qkdbench.model.instance`
(:class:`Instance`), :mod:`~qkdbench.model.validation` (what an instance checks
on construction) and :mod:`~qkdbench.model.plans` (:class:`Route`,
:class:`Plan`).

It imports nothing of the package but its exceptions.
"""

from __future__ import annotations

from ..exceptions import InputError as InputError  # importable from here, as it always was
from .constants import (
    CEIL_TOL,
    COMPONENTS,
    DEFAULT_SHORTFALL_FACTOR,
    KM_WAVELENGTHS_PER_LINK,
    KML_WAVELENGTHS_PER_LINK,
    LINK_KINDS,
    LINK_OVERRIDES,
    MAX_COUNT,
    MAX_MAGNITUDE,
    MAX_UNIFORM_RATE,
    PARAMS_X4,
    PHASE_NAMES,
    PHASES,
    QKD_WAVELENGTHS_PER_LINK,
    check_number,
)
from .costs import CostTable, Params, UnitCosts
from .demand import Demand
from .instance import Instance
from .network import Link, Provider, Request, Target
from .plans import Plan, Route
from .scenarios import Scenarios, marginal

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
    "CostTable",
    "UnitCosts",
    "Params",
    "Link",
    "Demand",
    "Target",
    "Provider",
    "Request",
    "Instance",
    "Route",
    "Plan",
    "Scenarios",
    "marginal",
    "DEFAULT_SHORTFALL_FACTOR",
    "PARAMS_X4",
    "check_number",
]
