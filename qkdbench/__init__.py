"""qkdbench: planners for QKD network resource allocation and routing, and one evaluator.

The layers import downward: :mod:`qkdbench.model` -> :mod:`qkdbench.evaluation`
-> :mod:`qkdbench.heuristics` / :mod:`qkdbench.exact` -> :mod:`qkdbench.experiments`
-> :mod:`qkdbench.cli`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qkdbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from .exceptions import (
    InputError,
    MissingExtraError,
    PanelSkipped,
    PlannerCheckError,
    QkdbenchError,
    SolverError,
    SolverUnavailableError,
    UsageError,
)
from .io import read_instance, read_plan, write_instance, write_plan
from .model import CostTable, Demand, Instance, Link, Params, Plan, Request, Route

__all__ = [
    "__version__",
    "CostTable",
    "Demand",
    "Instance",
    "Link",
    "Params",
    "Plan",
    "Request",
    "Route",
    "read_instance",
    "read_plan",
    "write_instance",
    "write_plan",
    "QkdbenchError",
    "InputError",
    "UsageError",
    "SolverError",
    "SolverUnavailableError",
    "PlannerCheckError",
    "PanelSkipped",
    "MissingExtraError",
]
