"""Size and memory of the exact model, estimated before it is built.

:func:`estimate_model` counts the columns, rows and nonzeros the builders of
:mod:`qkdbench.exact.formulation` would make over a set of pairs;
:func:`~qkdbench.exact.formulation.build_model` refuses a model above its
memory limit, and :func:`~qkdbench.exact.sp_milp.solve_sp` leaves the solver
the time its setup needs (:data:`SECONDS_PER_NONZERO`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluation.curves import CostCurves
from ..evaluation.pricing import provider_table, support_table
from ..model import Instance
from .solver import SolverError

__all__ = [
    "DEFAULT_MEMORY_LIMIT_GB",
    "SECONDS_PER_NONZERO",
    "BYTES_PER_NONZERO",
    "ModelSize",
    "estimate_model",
]

#: Default most memory (GB) a model may need before
#: :func:`~qkdbench.exact.formulation.build_model` refuses it.
DEFAULT_MEMORY_LIMIT_GB = 4.0

#: Seconds per constraint-matrix nonzero that a HiGHS run takes beyond its own time limit
#: (passing the model, setup, the LP re-solve with the integers fixed). Measured on
#: germany50 with 1000 requests: about 6.5 s for 3.0 M nonzeros, rounded up.
SECONDS_PER_NONZERO = 2.5e-6

#: Bytes of peak memory per constraint-matrix nonzero of a compact model, building and
#: solving (HiGHS: matrix copies, presolve, LP factors, search). Calibrated on
#: germany50 with K = 10 (see :func:`estimate_model`).
BYTES_PER_NONZERO = 1400.0


@dataclass(frozen=True)
class ModelSize:
    """The size of a deterministic-equivalent MILP, estimated before building it.

    Attributes
    ----------
    pairs, columns, rows, nonzeros : int
    gigabytes : float
        ``nonzeros * BYTES_PER_NONZERO / 1e9``: the peak memory expected for
        building and solving the model.
    """

    pairs: int
    columns: int
    rows: int
    nonzeros: int
    gigabytes: float


def estimate_model(instance: Instance, pairs: CostCurves, form: str = "compact") -> ModelSize:
    """Columns, rows and nonzeros of the model over ``pairs``, and its memory, without building.

    The counts follow the builders row block by row block (an upper estimate
    for the routing rows). Memory is ``nonzeros * BYTES_PER_NONZERO``: peak
    memory of HiGHS grows linearly with the matrix; germany50 with 1000
    requests (11.7 M nonzeros unpruned) reached 15.7 GB, about 1340 bytes per
    nonzero, rounded up.

    Parameters
    ----------
    instance : Instance
    pairs : CostCurves
        The (request, arc) pairs that would get variables, with their cost
        curves (all those that may lie on a path, or those left by pruning).
    form : {"compact", "extensive"}

    Returns
    -------
    ModelSize
    """
    n = pairs.n
    counts = np.diff(pairs.ptr)
    per_kind = int(np.maximum(counts - 1, 1).sum()) if n else 0
    cols, rows = 3 * n, 2 * n + 2 * len(instance.nodes) * instance.n_requests
    nnz = 4 * n + 3 * n + 2 * n  # linking, routing (in, out, out-degree), capacity
    if form == "compact":
        cols += 2 * n
        rows += 2 * per_kind
        nnz += 6 * per_kind + 2 * n
    else:
        sup = support_table(instance)
        cls = sup.arc_class[pairs.arc]
        points = int((sup.lptr[cls, pairs.req + 1] - sup.lptr[cls, pairs.req]).sum()) if n else 0
        cols += 4 * points
        rows += 4 * points
        nnz += 10 * points
    pt = provider_table(instance)
    if pt.active:  # providers: a choice binary per target, its choice, flow, out and capacity rows
        n_w = int(sum(np.diff(pt.ptr)[f] for f, r in enumerate(instance.requests) if r.is_anycast))
        cols += n_w
        rows += instance.n_requests + len(pt.ids) + n_w
        nnz += 4 * n_w
    return ModelSize(n, int(cols), int(rows), int(nnz), nnz * BYTES_PER_NONZERO / 1e9)


def _check_memory(
    instance: Instance, pairs: CostCurves, form: str, limit: float | None, n_all: int
) -> None:
    """Raise :class:`SolverError` if the model over ``pairs`` would need more than ``limit`` GB."""
    if limit is None:
        return
    size = estimate_model(instance, pairs, form)
    if size.gigabytes > limit:
        raise SolverError(
            f"the {form} model of {instance.name} would need about {size.gigabytes:.1f} GB "
            f"({size.nonzeros:,} nonzeros, {size.columns:,} columns, {size.pairs:,} of "
            f"{n_all:,} (request, arc) pairs after pruning), above the {limit:g} GB limit "
            "(memory_limit_gb); use a heuristic or the lagrangian planner"
        )
