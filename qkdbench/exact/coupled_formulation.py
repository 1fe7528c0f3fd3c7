"""The coupled deterministic equivalent as a MILP: :func:`build_coupled_model`.

First stage as in :mod:`qkdbench.exact.formulation`: per (request ``f``, arc ``a``)
pair a binary route ``x``, integer reservations ``yr <= ub_y x`` and ``zr <= ub_z x``
priced at ``c[r]`` (and the route cost at ``x``), flow conservation, out-degrees,
reservation capacities, fixed-charge binaries and target choices. Second stage,
over the joint scenarios (``docs/model.md``, "Coupled second stage"): the cells of
:mod:`qkdbench.exact.recourse`, i.e. per (pair, scenario) with a need ``n > 0``
the reserved use ``e <= yr``, ``e <= n x`` (QKD ``n = 3P``, KM ``n = P``; KM the same
with ``zr``), and per (arc, scenario) the on-demand ``0 <= o <= O`` and shortfall
``sh >= 0`` with ``sum_f (n x - e) <= o + sh``, at ``p c[e]``, ``p c[o]`` and
``p phi c[o]``. Where ``c[e] > c[o]`` (never with a finite cap: the model rejects
it) there is no ``e``: the evaluator buys every wavelength there, and the LP would
too.

Two forms, with the same optimum:

``extensive``
    Every (arc, kind) by its cells, one per scenario.
``compact`` (default)
    An (arc, kind) without a cap separates by request (``docs/model.md``, property
    2), so its pairs get the epigraph of their expected cost instead: one variable
    per (pair, kind) above one cut per linear piece of the convex piecewise-linear
    curve of :func:`~qkdbench.exact.coupled.coupled_curves` (property 4, over the
    joint scenarios). On a capped (arc, kind), the scenarios in which every pair
    on the arc needs the same are merged into one cell, a pair's reserved use is
    one variable per value of its need (not per scenario), and ``e <= n x`` is
    left out where it is implied (:func:`cell_rows`).

Reductions in both: the pairs are those of
:func:`~qkdbench.exact.coupled.coupled_pairs` (arcs on a simple path of the
request; with a known plan's cost, those the reduced-cost test keeps), no
variable for a (pair, scenario) without need, and reservations bounded by
``min(W, largest need)`` (by 0 where a reserved wavelength is never used):
reserving more never lowers the cost (reservations are priced ``c[r] >= 0``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..evaluation.curves import CostCurves
from ..evaluation.pricing import arc_table, scenario_table
from ..exceptions import InputError, SolverError
from ..model import KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance
from .coupled import coupled_pairs
from .formulation import FORMS, SPModel, _link_rows, _names, assemble, first_stage_rows
from .milp import MilpBuilder
from .recourse import RecourseCells, scenario_cells
from .sizing import BYTES_PER_NONZERO

__all__ = ["build_coupled_model", "epigraph_rows", "cell_rows", "reservation_bounds"]

_WY = float(QKD_WAVELENGTHS_PER_LINK)
_WZ = float(KML_WAVELENGTHS_PER_LINK)


def reservation_bounds(
    instance: Instance, pairs: CostCurves, use: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of the pairs' reservations: ``min(W, largest need)``, 0 where never used.

    Parameters
    ----------
    instance : Instance
    pairs : CostCurves
        The pairs, with their breakpoints (the largest is the largest ``P``).
    use : (ndarray (A,) bool, ndarray (A,) bool)
        Per arc, whether a reserved QKD / KM wavelength is used (``c[e] <= c[o]``).

    Returns
    -------
    y_ub, z_ub : ndarray (n,)
    """
    arcs = arc_table(instance)
    top = pairs.levels[pairs.ptr[1:] - 1] if pairs.n else np.zeros(0)
    a = pairs.arc
    y_ub = np.where(use[0][a], np.minimum(arcs.W_qkd[a].astype(float), _WY * top), 0.0)
    z_ub = np.where(use[1][a], np.minimum(arcs.W_kml[a].astype(float), _WZ * top), 0.0)
    return y_ub, z_ub


def epigraph_rows(
    b: MilpBuilder,
    pairs: CostCurves,
    sel: np.ndarray,
    kind: str,
    x: np.ndarray,
    var: np.ndarray,
    names: list[np.ndarray],
) -> np.ndarray:
    """One epigraph variable per selected pair and one cut per linear piece of its curve.

    For pair ``i`` with breakpoints ``b_0 = 0 < ... < b_m`` (wavelengths) and costs
    ``R_j`` there, cut ``j`` is ``theta >= (R_j - s_j b_j) x + s_j y`` with
    ``s_j`` the slope of piece ``j``; one breakpoint gives ``theta >= R_0 x``. With
    ``y <= b_m x`` this is ``R(y)`` on the route and 0 off it.

    Parameters
    ----------
    b : MilpBuilder
    pairs : CostCurves
        All the model's pairs.
    sel : ndarray of int
        Positions (in ``pairs``) of the pairs that get the epigraph.
    kind : {"qkd", "km"}
        Which part of the curves (and which reservation ``var``).
    x, var : ndarray of int
        Route and reservation columns of every pair.
    names : list of ndarray
        Column names, extended in place.

    Returns
    -------
    ndarray of int32
        The epigraph columns (one per selected pair).
    """
    width, values = (_WY, pairs.qkd) if kind == "qkd" else (_WZ, pairs.kml)
    counts = np.diff(pairs.ptr)[sel]
    pieces = np.maximum(counts - 1, 1)
    first = np.concatenate(([0], np.cumsum(pieces)))[:-1]
    theta = b.add_cols(sel.size, lower=0.0, cost=1.0)
    names.append(_names(f"t{kind[0]}_", pairs.req[sel], pairs.arc[sel]))
    rows_l, cols_l, vals_l = [], [], []
    # the pieces of multi-breakpoint pairs
    k_of = np.repeat(np.arange(sel.size), pieces)
    j = np.arange(k_of.size) - np.repeat(first, pieces)
    multi = counts[k_of] > 1
    k_m, j_m = k_of[multi], j[multi]
    lo = pairs.ptr[sel[k_m]] + j_m
    b_lo, b_hi = width * pairs.levels[lo], width * pairs.levels[lo + 1]
    slope = (values[lo + 1] - values[lo]) / (b_hi - b_lo)
    r_m = first[k_m] + j_m
    rows_l += [r_m, r_m, r_m]
    cols_l += [theta[k_m], x[sel[k_m]], var[sel[k_m]]]
    vals_l += [np.ones(k_m.size), -(values[lo] - slope * b_lo), -slope]
    one = np.flatnonzero(counts == 1)
    r_1 = first[one]
    rows_l += [r_1, r_1]
    cols_l += [theta[one], x[sel[one]]]
    vals_l += [np.ones(one.size), -values[pairs.ptr[sel[one]]]]
    b.add_rows(
        lower=np.zeros(int(pieces.sum())),
        upper=np.inf,
        row=np.concatenate(rows_l),
        col=np.concatenate(cols_l),
        value=np.concatenate(vals_l),
    )
    return theta


def cell_rows(
    b: MilpBuilder,
    cells: RecourseCells,
    pairs: CostCurves,
    cols: tuple[np.ndarray, np.ndarray, np.ndarray],
    names: list[np.ndarray],
    *,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """The cells' second-stage variables and rows (see :mod:`qkdbench.exact.recourse`).

    Per entry with a used reservation: ``e`` at ``p c[e]``, rows ``e - yr <= 0`` and
    ``e - n x <= 0``. Per cell: ``o`` in ``[0, O]`` at ``p c[o]``, ``sh`` at
    ``p phi c[o]`` when ``O`` is finite, and ``sum n x - sum e - o - sh <= 0``.

    With ``bounds`` (the reservation bounds ``ub`` of the pairs), the entries of one
    (pair, kind) with the same need share one ``e`` (the best reserved use,
    ``min(yr, n x)``, is the same in every scenario where the pair needs ``n``, also
    for a fractional first stage, so the optimum and the LP bound are unchanged),
    priced at the sum of their weights; and ``e - n x <= 0`` is left out where
    ``n >= ub`` (implied by ``e <= yr <= ub x``).

    Parameters
    ----------
    b : MilpBuilder
    cells : RecourseCells
    pairs : CostCurves
        The model's pairs (for the names).
    cols : (x, y, z)
        Route, QKD- and KM-reservation columns of every pair.
    names : list of ndarray
        Column names, extended in place.
    bounds : (y_ub, z_ub), optional
        Share and drop as described.
    """
    x, y, z = cols
    owner = cells.owner
    ent_use = np.flatnonzero(cells.use[owner])
    c_ent, i_ent = owner[ent_use], cells.pair[ent_use]
    k_ent, n_ent = cells.kind[c_ent], cells.need[ent_use]
    w_ent = cells.prob[c_ent] * cells.c_use[c_ent]
    if bounds is not None:  # one variable per (pair, kind, need)
        key = np.stack([i_ent, k_ent, n_ent], 1)
        uniq, var_of = np.unique(key, axis=0, return_inverse=True)
        var_of = np.asarray(var_of).ravel()
        i_e, k_e, n_e = uniq[:, 0].astype(np.int64), uniq[:, 1].astype(np.int64), uniq[:, 2]
        cost_e = np.bincount(var_of, weights=w_ent, minlength=uniq.shape[0])
        ub = np.where(k_e == 0, bounds[0][i_e], bounds[1][i_e])
        tight = np.flatnonzero(n_e < ub)
        tag = np.rint(n_e).astype(np.int64)
    else:
        var_of = np.arange(ent_use.size)
        i_e, k_e, n_e, cost_e = i_ent, k_ent, n_ent, w_ent
        tight = np.arange(ent_use.size)
        tag = cells.block[c_ent] * 2 + k_e
    m = i_e.size
    e = b.add_cols(m, lower=0.0, cost=cost_e)
    names.append(_names("e_", pairs.req[i_e], pairs.arc[i_e], k_e, tag, np.arange(m)))
    res = np.where(k_e == 0, y[i_e], z[i_e])
    r1, r2 = np.arange(m), m + np.arange(tight.size)
    b.add_rows(
        lower=np.full(m + tight.size, -np.inf),
        upper=0.0,
        row=np.concatenate([r1, r1, r2, r2]),
        col=np.concatenate([e, res, e[tight], x[i_e[tight]]]),
        value=np.concatenate([np.ones(m), -np.ones(m), np.ones(tight.size), -n_e[tight]]),
    )
    C = cells.n
    finite = np.isfinite(cells.cap)
    o = b.add_cols(C, lower=0.0, upper=cells.cap, cost=cells.prob * cells.c_buy)
    names.append(_names("o_", cells.kind, cells.arc, cells.block, np.arange(C)))
    capped = np.flatnonzero(finite)
    sh = b.add_cols(capped.size, lower=0.0, cost=(cells.prob * cells.phi * cells.c_buy)[capped])
    names.append(_names("s_", cells.kind[capped], cells.arc[capped], capped))
    b.add_rows(
        lower=np.full(C, -np.inf),
        upper=0.0,
        row=np.concatenate([owner, c_ent, np.arange(C), capped]),
        col=np.concatenate([x[cells.pair], e[var_of], o, sh]),
        value=np.concatenate(
            [cells.need, -np.ones(ent_use.size), -np.ones(C), -np.ones(capped.size)]
        ),
    )


def build_coupled_model(
    instance: Instance,
    form: str = "compact",
    *,
    upper_bound: float | None = None,
    memory_limit_gb: float | None = None,
) -> SPModel:
    """Build the coupled deterministic equivalent of ``instance`` in one of the forms.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    form : {"compact", "extensive"}
    upper_bound : float, optional
        The cost of a known feasible plan: pairs no plan costing at most this can
        use get no variables (:func:`~qkdbench.exact.coupled.coupled_pairs`).
    memory_limit_gb : float, optional
        Refuse a model whose nonzeros (counted before it is built) would need more.

    Returns
    -------
    SPModel
        With ``form`` ``"coupled-compact"`` or ``"coupled-extensive"``.

    Raises
    ------
    InputError
        For an unknown form, or an instance without scenarios.
    SolverError
        If the model would need more than ``memory_limit_gb``.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> model = build_coupled_model(feature_instance("coupled"), "extensive")
    >>> model.form, model.milp.num_col > 0
    ('coupled-extensive', True)
    """
    if form not in FORMS:
        raise InputError(f"unknown form {form!r}; use one of {', '.join(FORMS)}")
    if instance.scenarios is None:
        raise InputError(f"instance {instance.name!r}: the coupled model needs joint scenarios")
    t0 = time.perf_counter()
    arcs = arc_table(instance)
    t = scenario_table(instance)
    n_all = instance.n_requests * arcs.n
    pairs = coupled_pairs(instance, upper_bound)
    n = pairs.n
    capped = np.stack([np.isfinite(t.cap_y), np.isfinite(t.cap_z)], 1)  # (A, 2)
    include = capped if form == "compact" else np.ones_like(capped)
    cells = scenario_cells(instance, pairs.req, pairs.arc, include, merge=form == "compact")
    epi = [np.flatnonzero(~include[pairs.arc, k]) for k in (0, 1)]
    _check_size(instance, pairs, cells, epi, form, memory_limit_gb)
    y_ub, z_ub = reservation_bounds(instance, pairs, (t.use_y, t.use_z))
    a = pairs.arc
    qkd_epi = np.zeros(n, dtype=bool)
    qkd_epi[epi[0]] = True
    km_epi = np.zeros(n, dtype=bool)
    km_epi[epi[1]] = True
    b = MilpBuilder()
    x = b.add_cols(n, lower=0.0, upper=1.0, cost=np.where(qkd_epi, 0.0, arcs.hop[a]), integer=True)
    y = b.add_cols(
        n, lower=0.0, upper=y_ub, cost=np.where(qkd_epi, 0.0, arcs.c_y[0, a]), integer=True
    )
    z = b.add_cols(
        n, lower=0.0, upper=z_ub, cost=np.where(km_epi, 0.0, arcs.c_z[0, a]), integer=True
    )
    names = [_names(p, pairs.req, pairs.arc) for p in ("x_", "yr_", "zr_")]
    _link_rows(b, x, y, z, y_ub, z_ub)
    if epi[0].size:
        epigraph_rows(b, pairs, epi[0], "qkd", x, y, names)
    if epi[1].size:
        epigraph_rows(b, pairs, epi[1], "km", x, z, names)
    shared = (y_ub, z_ub) if form == "compact" else None
    cell_rows(b, cells, pairs, (x, y, z), names, bounds=shared)
    first = first_stage_rows(b, instance, pairs, (x, y, z), names)
    return assemble(
        b, names, instance, f"coupled-{form}", pairs, (x, y, z), (y_ub, z_ub), first, t0, n_all
    )


def _check_size(
    instance: Instance,
    pairs: CostCurves,
    cells: RecourseCells,
    epi: list[np.ndarray],
    form: str,
    limit: float | None,
) -> None:
    """Refuse a model whose nonzeros would need more than ``limit`` GB (one-line message)."""
    if limit is None or not math.isfinite(limit):
        return
    n = pairs.n
    pieces = sum(int(np.maximum(np.diff(pairs.ptr)[e] - 1, 1).sum()) for e in epi)
    entries = int(cells.pair.size)
    nnz = 9 * n + 3 * pieces + 5 * entries + 2 * cells.n
    gb = nnz * BYTES_PER_NONZERO / 1e9
    if gb > limit:
        raise SolverError(
            f"the coupled {form} model of {instance.name} would need about {gb:.1f} GB "
            f"({nnz:,} nonzeros, {n:,} (request, arc) pairs, {cells.n:,} (arc, scenario) "
            f"cells), above the {limit:g} GB limit (memory_limit_gb); use the l-shaped planner "
            "or a heuristic"
        )
