"""The L-shaped method (Benders decomposition) for the two-stage program: ``l-shaped``.

**Master.** A MILP over the first stage (routes ``x``, integer reservations ``yr``,
``zr`` within the capacities, fixed-charge binaries, target choices: the rows of
:mod:`qkdbench.exact.formulation`) and one recourse variable ``theta_b >= 0`` per
*block* of the second stage, bounded below by optimality cuts. With
``decompose="capped"`` (default) only the recourse that couples the requests is
decomposed: an (arc, kind) without an on-demand cap separates by request, so its
expected cost is kept in the master exactly, as the epigraph of its convex
piecewise-linear curve (:func:`~qkdbench.exact.coupled_formulation.epigraph_rows`);
with ``decompose="all"`` every (arc, kind) is left to the cuts.

**Blocks and cuts.** The decomposed second stage is the cells of
:mod:`qkdbench.exact.recourse`: on a coupled instance one per (arc, kind,
scenario), grouped by scenario (``cuts="scenario"``: one ``theta_s`` per joint
scenario, the multi-cut L-shaped method) or each its own block
(``cuts="cell"``: one ``theta`` per (arc, kind, scenario)). On an uncoupled
instance with ``decompose="all"`` the cells are each pair's support points,
grouped by request. A block's recourse is solved in closed form and its cut
derived analytically from an optimal dual of its LP (the derivation, and why it is
preferred to solving LPs, is in :mod:`qkdbench.exact.recourse`). The recourse is
the LP value function of the relaxed first stage, convex in ``(x, yr, zr)``, so
every cut is valid for the integer master too; at an integer first stage the
second stage's LP is integral (its optimum is the evaluator's greedy), so a cut is
tight exactly where the plan is scored.

**Iterations.** First ``lp_rounds`` rounds on the master's LP relaxation (cuts at
fractional points are valid and cheap), then the MILP master is solved,
warm-started with the best plan; its solution is decoded into a plan and scored
by the evaluator (the upper bound), and the cuts it violates are added. The
master's proven bound is the lower bound. The run stops when ``upper - lower <=
gap_rel * upper`` (``optimal``), or at ``max_iterations`` master solves or the time
limit (``feasible``, with the bound labelled ``l-shaped`` and the gap). If a
master solution violates no cut while the gap is open (the master's own MIP gap),
the master's gap is tightened tenfold, at most three times.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation import evaluate
from ..evaluation.encoding import route_violations
from ..evaluation.pricing import arc_table, scenario_table
from ..exceptions import InputError
from ..model import Instance, Plan
from ..utils.gaps import relative_gap
from ..utils.registry import FEATURES, check_supports, is_deterministic, register_planner
from ..utils.timing import Stopwatch
from .bounds import _pairs, _pruned
from .coupled import coupled_pairs
from .coupled_formulation import epigraph_rows, reservation_bounds
from .decoding import _decode, _warm_values
from .formulation import SPModel, _link_rows, _names, assemble, first_stage_rows
from .milp import MilpBuilder
from .recourse import Cuts, RecourseCells, marginal_cells, scenario_cells
from .solver import SolverError, SolverOptions, SolverRun, load_highs, read_highs
from .solving import SPResult, quick_bound
from .sp_milp import resolve_warm_start

__all__ = ["LShapedMaster", "build_master", "solve_lshaped", "LShapedPlanner", "DECOMPOSE", "CUTS"]

#: What the cuts approximate: the coupled recourse only, or all of it.
DECOMPOSE: tuple[str, ...] = ("capped", "all")
#: One recourse variable per scenario (request, uncoupled), or per cell.
CUTS: tuple[str, ...] = ("scenario", "cell")


@dataclass(frozen=True, eq=False)
class LShapedMaster:
    """The master problem and the cells its cuts approximate.

    Attributes
    ----------
    model : SPModel
        The master MILP without cuts; ``model.extra["theta"]`` holds the
        columns of the recourse variables, one per block of ``cells``.
    cells : RecourseCells
        The decomposed second stage.
    """

    model: SPModel
    cells: RecourseCells


def build_master(
    instance: Instance,
    decompose: str = "capped",
    cuts: str = "scenario",
    upper_bound: float | None = None,
) -> LShapedMaster:
    """The L-shaped master of ``instance`` (no cuts yet).

    Parameters
    ----------
    instance : Instance
    decompose : {"capped", "all"}
        Which recourse goes to the cuts (see the module notes).
    cuts : {"scenario", "cell"}
        One recourse variable per scenario (per request on an uncoupled instance),
        or per cell.
    upper_bound : float, optional
        The cost of a known feasible plan: pairs no cheaper plan can use are left out.

    Returns
    -------
    LShapedMaster

    Raises
    ------
    InputError
        For an unknown ``decompose`` or ``cuts``.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> master = build_master(feature_instance("coupled"))
    >>> master.cells.n_blocks  # one theta per joint scenario
    3
    """
    if decompose not in DECOMPOSE:
        raise InputError(f"unknown decompose {decompose!r}; use one of {', '.join(DECOMPOSE)}")
    if cuts not in CUTS:
        raise InputError(f"unknown cuts {cuts!r}; use one of {', '.join(CUTS)}")
    t0 = time.perf_counter()
    arcs = arc_table(instance)
    A = arcs.n
    if instance.is_coupled:
        t = scenario_table(instance)
        pairs = coupled_pairs(instance, upper_bound)
        use = (t.use_y, t.use_z)
        capped = np.stack([np.isfinite(t.cap_y), np.isfinite(t.cap_z)], 1)
        include = capped if decompose == "capped" else np.ones((A, 2), dtype=bool)
        cells = scenario_cells(instance, pairs.req, pairs.arc, include, merge=cuts == "cell")
    else:
        pairs = _pairs(instance)
        if upper_bound is not None and math.isfinite(upper_bound):
            pairs = _pruned(instance, pairs, upper_bound, None)
        use = (arcs.c_y[1] <= arcs.c_y[2], arcs.c_z[1] <= arcs.c_z[2])
        include = np.full((A, 2), decompose == "all")
        if decompose == "all":
            cells = marginal_cells(instance, pairs.req, pairs.arc)
        else:
            cells = RecourseCells.empty()
    if cuts == "cell":
        cells = cells.with_blocks(np.arange(cells.n), cells.n)
    n = pairs.n
    a = pairs.arc
    epi_y, epi_z = ~include[a, 0], ~include[a, 1]
    y_ub, z_ub = reservation_bounds(instance, pairs, use)
    b = MilpBuilder()
    x = b.add_cols(n, lower=0.0, upper=1.0, cost=np.where(epi_y, 0.0, arcs.hop[a]), integer=True)
    y = b.add_cols(
        n, lower=0.0, upper=y_ub, cost=np.where(epi_y, 0.0, arcs.c_y[0, a]), integer=True
    )
    z = b.add_cols(
        n, lower=0.0, upper=z_ub, cost=np.where(epi_z, 0.0, arcs.c_z[0, a]), integer=True
    )
    names = [_names(p, pairs.req, pairs.arc) for p in ("x_", "yr_", "zr_")]
    _link_rows(b, x, y, z, y_ub, z_ub)
    if epi_y.any():
        epigraph_rows(b, pairs, np.flatnonzero(epi_y), "qkd", x, y, names)
    if epi_z.any():
        epigraph_rows(b, pairs, np.flatnonzero(epi_z), "km", x, z, names)
    theta = b.add_cols(cells.n_blocks, lower=0.0, cost=1.0)
    names.append(_names("th_", np.arange(cells.n_blocks)))
    first = first_stage_rows(b, instance, pairs, (x, y, z), names)
    model = assemble(
        b,
        names,
        instance,
        "l-shaped",
        pairs,
        (x, y, z),
        (y_ub, z_ub),
        first,
        t0,
        instance.n_requests * A,
        {"theta": theta},
    )
    return LShapedMaster(model, cells)


@dataclass
class _Master:
    """The master's HiGHS object, the cuts added so far and the run's bounds."""

    master: LShapedMaster
    h: Any
    cuts: int = 0
    lower: float = -math.inf

    def point(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = self.master.model
        return values[m.x], values[m.y], values[m.z]

    def add(
        self,
        cuts: Cuts,
        theta: np.ndarray | None,
        at: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        rel: float = 1e-9,
    ) -> int:
        """Add the cuts that ``theta`` violates (all with ``theta=None``); how many.

        ``at``: the master's point, when the cuts were taken elsewhere (default: there).
        """
        m = self.master.model
        th = m.extra["theta"]
        if theta is None:
            viol = np.ones(cuts.value.size, dtype=bool)
        else:
            there = cuts.value if at is None else cuts.at(*at)
            viol = there > theta + rel * np.maximum(1.0, np.abs(there))
        # a block without terms and a non-positive constant says nothing beyond theta >= 0
        has_terms = np.bincount(cuts.block, minlength=viol.size) > 0
        viol &= has_terms | (cuts.const > 0)
        blocks = np.flatnonzero(viol)
        if not blocks.size:
            return 0
        sel = np.flatnonzero(viol[cuts.block])
        sel = sel[np.argsort(cuts.block[sel], kind="stable")]
        rank = np.searchsorted(blocks, cuts.block[sel])
        p = cuts.pair[sel]
        cols = np.stack([m.x[p], m.y[p], m.z[p]], 1)
        vals = -np.stack([cuts.coef_x[sel], cuts.coef_y[sel], cuts.coef_z[sel]], 1)
        row = np.repeat(rank, 3)
        keep = vals.ravel() != 0
        row, col, val = row[keep], cols.ravel()[keep], vals.ravel()[keep]
        row = np.concatenate([np.arange(blocks.size), row])
        col = np.concatenate([th[blocks], col])
        val = np.concatenate([np.ones(blocks.size), val])
        order = np.argsort(row, kind="stable")
        counts = np.bincount(row, minlength=blocks.size)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int32)
        import highspy

        upper = np.full(blocks.size, highspy.kHighsInf)
        self.h.addRows(
            int(blocks.size),
            cuts.const[blocks].astype(float),
            upper,
            int(order.size),
            starts,
            col[order].astype(np.int32),
            val[order].astype(float),
        )
        self.cuts += int(blocks.size)
        return int(blocks.size)

    def run_mip(self) -> SolverRun:
        """Solve the master MILP; re-solved without the warm start if HiGHS mislabels it.

        HiGHS (1.16) may return the warm start given by ``setSolution`` as its
        solution while reporting another one's objective (seen after rows were
        added to a solved model). The solution's cost is checked against the
        reported objective; on a mismatch the master is solved again from scratch.
        """
        self.h.run()
        run = read_highs(self.h, mip=True)
        if run.values is None or not math.isfinite(run.outcome.objective):
            return run
        cost = float(self.master.model.milp.cost @ run.values)
        obj = run.outcome.objective
        if abs(cost - obj) <= 1e-9 * max(1.0, abs(obj)):
            return run
        self.h.clearSolver()
        self.h.run()
        return read_highs(self.h, mip=True)

    def set_integrality(self, integer: bool) -> None:
        import highspy

        ints = self.master.model.integer_cols.astype(np.int32)
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(int(ints.size), ints, np.full(ints.size, kind))


def _plan_point(model: SPModel, plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Route and reservation values of every pair of ``model`` in ``plan``."""
    _, values = _warm_values(model, plan)
    n = model.x.size
    return values[:n], values[n : 2 * n], values[2 * n : 3 * n]


def solve_lshaped(
    instance: Instance,
    *,
    decompose: str = "capped",
    cuts: str = "scenario",
    gap_rel: float = 1e-6,
    max_iterations: int = 100,
    lp_rounds: int = 100,
    stabilise: float = 0.5,
    time_limit: float | None = None,
    warm_start: Plan | str | None = "relaxed",
    prune: bool = True,
    threads: int | None = None,
    msg: bool = False,
    seed: int | None = None,
    planner: str = "l-shaped",
) -> SPResult:
    """Solve ``instance`` by the L-shaped method (see the module notes).

    Parameters
    ----------
    instance : Instance
    decompose : {"capped", "all"}
        ``capped``: only the coupled recourse goes to the cuts; ``all``: every part.
    cuts : {"scenario", "cell"}
        One recourse variable per scenario (request), or per (arc, kind, scenario).
    gap_rel : float
        Stop, ``optimal``, when ``upper - lower <= gap_rel * upper``.
    max_iterations : int
        Most master MILP solves.
    lp_rounds : int
        Most cut rounds on the master's LP relaxation first (0: none).
    stabilise : float
        In-out stabilisation of the LP rounds: cuts are first taken at this mix of
        the best plan (or the first LP point) and the LP point, ``(1 - s) lp + s
        centre``, and at the LP point itself when they cut nothing off there
        (``0``: always at the LP point).
    time_limit : float, optional
        Seconds for the whole run (the master MILP gets what is left).
    warm_start : Plan, str or None
        The first incumbent (see :func:`~qkdbench.exact.sp_milp.resolve_warm_start`);
        it also prunes pairs when ``prune``.
    prune : bool
        Leave out the pairs that no plan cheaper than the warm start can use.
    threads : int, optional
        HiGHS threads.
    msg : bool
        Show the master's solver log.
    seed : int, optional
        Passed to a warm-start planner.
    planner : str
        Name written into the plan.

    Returns
    -------
    SPResult
        ``form`` is ``"l-shaped"``; ``bound`` the master's; ``extra`` holds
        ``iterations`` (master MILP solves), ``lp_rounds``, ``cuts`` (rows added),
        ``blocks``, ``cells``, ``stop`` and ``runtime_s``.

    Raises
    ------
    InputError
        For an unknown ``decompose`` or ``cuts``, or a warm-start plan that does not fit.
    SolverError
        If HiGHS is missing or the master cannot be solved and no plan is known.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> res = solve_lshaped(feature_instance("coupled"))
    >>> res.status, res.extra["blocks"]
    ('optimal', 3)
    """
    t0 = time.perf_counter()
    clock = Stopwatch(time_limit)
    if isinstance(warm_start, Plan):
        problems = route_violations(instance, warm_start)
        if problems:
            raise InputError(f"warm-start plan does not fit the instance: {problems[0]}")
    if instance.n_requests == 0:
        return _result(instance, planner, None, 0.0, 0.0, "optimal", {}, t0)
    best = resolve_warm_start(instance, warm_start, seed)
    upper = math.inf
    if best is not None:
        score = evaluate(instance, best)
        if score.feasible:
            upper = float(score.total)
        else:
            best = None
    lm = build_master(instance, decompose, cuts, upper if prune else None)
    options = SolverOptions(gap_rel=gap_rel, threads=threads, msg=msg)
    st = _Master(lm, load_highs(lm.model.milp, options))
    cells = lm.cells
    info: dict[str, Any] = {"blocks": cells.n_blocks, "cells": cells.n, "lp_rounds": 0}
    n = lm.model.x.size
    zero = np.zeros(n)
    st.add(cells.evaluate(zero, zero, zero), None)
    if best is not None:
        st.add(cells.evaluate(*_plan_point(lm.model, best)), None)
    stop = "iterations"
    # cut rounds on the LP relaxation
    core = _plan_point(lm.model, best) if best is not None else None
    if lp_rounds > 0 and cells.n_blocks:
        st.set_integrality(False)
        for _ in range(lp_rounds):
            if clock.expired():
                break
            _limit(st.h, clock)
            st.h.run()
            run = read_highs(st.h, mip=False)
            if run.outcome.status != "optimal" or run.values is None:
                break
            info["lp_rounds"] += 1
            st.lower = max(st.lower, run.outcome.objective)
            here = st.point(run.values)
            theta = run.values[lm.model.extra["theta"]]
            if core is None:  # without a plan, the first LP point is the stability centre
                core = here
            if stabilise > 0:  # in-out: separate between the LP point and the centre
                mid = tuple(
                    (1 - stabilise) * u + stabilise * v for u, v in zip(here, core, strict=True)
                )
                if st.add(cells.evaluate(*mid), theta, here):
                    continue
            if not st.add(cells.evaluate(*here), theta):
                break
        st.set_integrality(True)
    iterations, tightened, master_gap = 0, 0, gap_rel
    seen: set[bytes] = set()
    status = "feasible"
    message = ""
    while True:
        if upper < math.inf and upper - st.lower <= gap_rel * abs(upper):
            status, stop = "optimal", "gap"
            break
        if iterations >= max_iterations:
            stop = "iterations"
            break
        if clock.expired():
            stop = "time"
            break
        _limit(st.h, clock)
        st.h.setOptionValue("mip_rel_gap", float(master_gap))
        if best is not None:
            cols, vals = _warm_values(lm.model, best)
            st.h.setSolution(int(cols.size), cols.astype(np.int32), vals.astype(float))
        run = st.run_mip()
        iterations += 1
        out = run.outcome
        if math.isfinite(out.bound):
            st.lower = max(st.lower, out.bound)
        if out.status == "infeasible":
            status, stop = "infeasible", "infeasible"
            break
        added = 0
        if run.values is not None:
            ints = lm.model.integer_cols
            values = run.values.copy()
            values[ints] = np.round(values[ints])
            point = st.point(values)
            wv = values[ints][3 * n + lm.model.u.size + lm.model.v.size :]
            try:
                routes = _decode(lm.model, *point, planner, wv)
            except SolverError:
                routes = None
            added += st.add(cells.evaluate(*point), values[lm.model.extra["theta"]])
            if routes is not None:
                plan = Plan(instance.name, planner, routes)
                score = evaluate(instance, plan)
                if score.feasible and score.total < upper:
                    best, upper = plan, float(score.total)
                at = _plan_point(lm.model, plan)
                key = b"".join(v.tobytes() for v in at)
                if (
                    score.feasible
                    and key not in seen
                    and not all(np.array_equal(u, v) for u, v in zip(at, point, strict=True))
                ):  # the plan drops a cycle of the master's solution: its own cuts too
                    seen.add(key)
                    added += st.add(cells.evaluate(*at), None)
        if out.status == "error":
            message = out.message
            stop = "error"
            break
        if out.status == "feasible":  # the master stopped on the clock
            stop = "time"
            break
        if added == 0 and upper - st.lower > gap_rel * abs(upper):
            if tightened >= 3 or master_gap == 0.0:
                stop = "stalled"
                break
            tightened += 1
            master_gap = master_gap / 10.0
    if best is None:
        if status == "infeasible":
            return _result(instance, planner, None, math.nan, st.lower, "infeasible", info, t0)
        raise SolverError(f"l-shaped found no plan for {instance.name} ({stop})")
    if stop != "gap":
        status = "feasible"
    info.update(iterations=iterations, cuts=st.cuts, stop=stop)
    if message:
        info["message"] = message
    bound = st.lower
    source = "l-shaped"
    if status != "optimal":  # the capacity-free bound may be the better one early on
        relaxed = quick_bound(instance)
        if not math.isfinite(bound) or relaxed > bound:
            bound, source = relaxed, "relaxation"
    return _result(instance, planner, best, upper, min(bound, upper), status, info, t0, source)


def _limit(h: Any, clock: Stopwatch) -> None:
    """Give the HiGHS run what is left of the clock."""
    import highspy

    left = clock.remaining
    h.setOptionValue("time_limit", highspy.kHighsInf if left is None else max(left, 1e-3))


def _result(
    instance: Instance,
    planner: str,
    plan: Plan | None,
    objective: float,
    bound: float,
    status: str,
    info: dict[str, Any],
    t0: float,
    source: str = "l-shaped",
) -> SPResult:
    runtime = time.perf_counter() - t0
    gap = relative_gap(objective, bound)
    stats = {
        "status": status,
        "objective": objective,
        "bound": bound,
        "bound_source": source,
        "gap": gap,
        "form": "l-shaped",
        "solver": "highs",
        **info,
        "runtime_s": runtime,
    }
    routes = plan.routes if plan is not None else ()
    return SPResult(
        Plan(instance.name, planner, routes, stats),
        status,
        objective,
        bound,
        gap,
        0.0,
        runtime,
        runtime,
        "l-shaped",
        "highs",
        "",
        str(info.get("message", "")),
        {**info, "runtime_s": runtime},
    )


@register_planner("l-shaped", origin="built-in")
class LShapedPlanner:
    """Exact L-shaped method (Benders, multi-cut): optimal, or feasible with its bound.

    Parameters
    ----------
    decompose : {"capped", "all"}
        Which recourse the cuts approximate (the rest is exact in the master).
    cuts : {"scenario", "cell"}
        One recourse variable per scenario, or per (arc, kind, scenario).
    gap_rel : float
        Relative gap at which the run stops and reports ``optimal``.
    max_iterations : int
        Most master MILP solves.
    lp_rounds : int
        Cut rounds on the master's LP relaxation before the MILP iterations.
    warm_start : str or Plan or None
        ``"relaxed"`` (default), a registered planner's name, a plan, or ``None``.
    prune : bool
        Drop (request, arc) pairs that cannot beat the warm start.
    threads : int, optional
        HiGHS threads.

    Notes
    -----
    ``plan.stats`` holds ``status``, ``objective`` (the evaluator's cost of the
    plan), ``bound`` and ``bound_source`` (``"l-shaped"``: the master's proven
    bound), ``gap``, ``iterations``, ``lp_rounds``, ``cuts``, ``blocks``, ``cells``,
    ``stop`` and ``runtime_s``. Every model extension is handled, the coupled
    second stage included. See :mod:`qkdbench.exact.lshaped`.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> plan = LShapedPlanner().plan(feature_instance("coupled"))
    >>> plan.stats["status"], plan.stats["bound_source"]
    ('optimal', 'l-shaped')
    """

    name = "l-shaped"
    proves_optimality = True
    supports = frozenset(FEATURES)

    def __init__(
        self,
        decompose: str = "capped",
        cuts: str = "scenario",
        gap_rel: float = 1e-6,
        max_iterations: int = 100,
        lp_rounds: int = 100,
        warm_start: Any = "relaxed",
        prune: bool = True,
        threads: int | None = None,
    ) -> None:
        self.decompose = decompose
        self.cuts = cuts
        self.gap_rel = gap_rel
        self.max_iterations = max_iterations
        self.lp_rounds = lp_rounds
        self.warm_start = warm_start
        self.prune = prune
        self.threads = threads

    @property
    def deterministic(self) -> bool:
        """Whether ``seed`` changes nothing: unless ``warm_start`` names a seeded planner."""
        ws = self.warm_start
        if ws is None or ws == "relaxed" or not isinstance(ws, str):
            return True
        return is_deterministic(ws)

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Solve ``instance`` by the L-shaped method.

        Parameters
        ----------
        instance : Instance
        seed : int, optional
            Passed to a warm-start planner named by ``warm_start``.
        time_limit : float, optional
            Seconds for the whole run.

        Returns
        -------
        Plan
            ``optimal`` when the gap closed, else ``feasible`` with its bound and gap.

        Raises
        ------
        InputError
            For bad options.
        SolverError
            If HiGHS is missing or no plan was found.
        """
        check_supports(self, instance)
        return solve_lshaped(
            instance,
            decompose=self.decompose,
            cuts=self.cuts,
            gap_rel=self.gap_rel,
            max_iterations=self.max_iterations,
            lp_rounds=self.lp_rounds,
            time_limit=time_limit,
            warm_start=self.warm_start,
            prune=self.prune,
            threads=self.threads,
            seed=seed,
            planner=self.name,
        ).plan
