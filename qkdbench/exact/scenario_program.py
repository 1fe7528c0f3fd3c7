"""The stochastic program of an instance, one scenario at a time: the form other SP tools read.

:func:`build_scenario_program` states the two-stage program of ``docs/model.md`` (with
the coupled second stage when the instance has one) as one MILP per scenario, every
scenario over the same columns and rows, in the shape stochastic-programming tools
expect: first-stage (nonanticipative) columns first, then second-stage columns; rows
likewise. Scenarios differ only in the coefficients ``n_fa(s)`` (the wavelengths request
``f`` needs on arc ``a`` in scenario ``s``) of the route variables in the second-stage
rows. It feeds the SMPS and per-scenario MPS writers (:mod:`qkdbench.exact.smps`) and the
mpi-sppy scenario creator (:mod:`qkdbench.exact.mpisppy_model`).

Columns, per (request ``f``, arc ``a``) that may lie on its path (not into its source,
not out of its single target):

* first stage: route ``x`` (binary), reservations ``yr <= W_qkd(a) x`` and
  ``zr <= W_kml(a) x`` (integer); per link with a positive fixed charge ``u`` and per
  node with one ``v`` (binary, strong linking rows ``x <= u``, ``x <= v``); per target
  of a request with targets ``w`` (binary, ``sum w = 1``, provider capacity rows);
* second stage, per scenario: reserved use ``ey <= yr``, ``ey <= n x`` (and ``ez``);
  per arc on-demand ``oy <= O_qkd(a)`` and shortfall ``sy >= 0`` with
  ``sum_f (n x - ey) - oy - sy <= 0`` (and ``oz``, ``sz`` for KM).

Each scenario's objective is the first-stage cost plus that scenario's recourse
(unweighted: the tools weight by the scenario probabilities). With the flow
conservation and out-degree rows of the exact solver's extensive form
(:mod:`qkdbench.exact.formulation`), the probability-weighted sum has the same optimum,
and :func:`decode_program` turns a first-stage solution into a plan for the evaluator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..evaluation.pricing import arc_table, fixed_charges, provider_table
from ..exceptions import InputError
from ..model import CEIL_TOL, Instance, Plan
from .decoding import walk_routes

__all__ = [
    "ScenarioProgram",
    "build_scenario_program",
    "decode_program",
    "scenario_needs",
    "solve_extensive",
]


def scenario_needs(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """QKD-link counts ``P_fa(s)`` per scenario, request and link, and the probabilities.

    Parameters
    ----------
    instance : Instance
        With :attr:`~qkdbench.model.Instance.scenarios`, or with per-request demands (then
        the scenarios are the product of the demands' supports, which must be small:
        at most 10,000 scenarios, and no random link state).

    Returns
    -------
    links : ndarray (S, F, L) of float
        ``max(0, ceil(kappa_f(s) / K_l(s) - 1e-9))``.
    probs : ndarray (S,)

    Raises
    ------
    InputError
        For an instance without scenarios whose product of supports is too large or
        that has random link states.
    """
    sc = instance.scenarios
    n_links = len(instance.links)
    if sc is not None:
        kappa = sc.rate_matrix(tuple(r.id for r in instance.requests))
        rate = np.empty((sc.n, n_links))
        for k, link in enumerate(instance.links):
            if k in sc.link_key_rates:
                rate[:, k] = sc.link_key_rates[k]
            else:
                rate[:, k] = link.key_rate_states(instance.params.key_rate_kbps)[0][0]
        probs = np.asarray(sc.probs, float)
    else:
        if any(link.has_random_key_rate for link in instance.links):
            raise InputError(
                "random link states without joint scenarios: give the instance 'scenarios'"
            )
        sizes = [len(r.demand.values) for r in instance.requests]
        if math.prod(sizes) > 10_000:
            raise InputError(
                f"the product of the demands' supports has {math.prod(sizes)} scenarios "
                "(at most 10,000): give the instance joint 'scenarios'"
            )
        grid = np.array(np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij")).reshape(
            len(sizes), -1
        )
        kappa = np.array(
            [np.asarray(r.demand.values)[grid[f]] for f, r in enumerate(instance.requests)]
        ).T.reshape(-1, len(sizes))
        probs = np.prod(
            [np.asarray(r.demand.probs)[grid[f]] for f, r in enumerate(instance.requests)], axis=0
        ).reshape(-1)
        rate = np.tile(
            [ln.key_rate_states(instance.params.key_rate_kbps)[0][0] for ln in instance.links],
            (kappa.shape[0], 1),
        ).reshape(kappa.shape[0], n_links)
    links = np.maximum(0.0, np.ceil(kappa[:, :, None] / rate[:, None, :] - CEIL_TOL))
    return links, probs


@dataclass(frozen=True, eq=False)
class ScenarioProgram:
    """The two-stage program of an instance as one MILP per scenario (see the module notes).

    Attributes
    ----------
    instance : Instance
    names : list of str
        Column names (first stage first); ``stage`` gives each column's stage (1 or 2).
    cost, lower, upper : ndarray
        Objective coefficient and bounds of each column (``inf`` for no bound).
    integer : ndarray of bool
    stage : ndarray of int
    row_names : list of str
    row_lower, row_upper : ndarray
        Row bounds (``-inf`` / ``inf`` for none).
    row_stage : ndarray of int
    matrix : scipy.sparse.csr_matrix
        The rows of scenario 0.
    probs : ndarray (S,)
    coef_rows, coef_cols : ndarray of int
        Entries whose value depends on the scenario (route variables in second-stage rows).
    coef_values : ndarray (S, E)
        Their value in each scenario.
    req, arc : ndarray of int
        Request position and arc id of each pair; the pair's route and reservation
        columns are ``x``, ``y``, ``z``.
    x, y, z, w : ndarray of int
        Columns; ``w_pos`` gives each ``w`` column's target position in
        :func:`~qkdbench.evaluation.pricing.provider_table`.
    w_pos : ndarray of int
    """

    instance: Instance
    names: list[str]
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    stage: np.ndarray
    row_names: list[str]
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_stage: np.ndarray
    matrix: sp.csr_matrix
    probs: np.ndarray
    coef_rows: np.ndarray
    coef_cols: np.ndarray
    coef_values: np.ndarray
    req: np.ndarray
    arc: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    w: np.ndarray
    w_pos: np.ndarray

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.probs.size)

    @property
    def n_first(self) -> int:
        """Number of first-stage columns (they come first)."""
        return int((self.stage == 1).sum())

    def scenario_matrix(self, s: int) -> sp.csr_matrix:
        """The rows of scenario ``s``.

        Parameters
        ----------
        s : int
            Scenario position.

        Returns
        -------
        scipy.sparse.csr_matrix
        """
        m = self.matrix.tolil(copy=True)
        m[self.coef_rows, self.coef_cols] = self.coef_values[s]
        return m.tocsr()


class _Builder:
    """Columns and rows in insertion order."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.stage: list[int] = []
        self.row_names: list[str] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.row_stage: list[int] = []
        self.entries: list[tuple[int, int, float]] = []

    def col(self, name: str, cost: float, lo: float, hi: float, integer: bool, stage: int) -> int:
        self.names.append(name)
        self.cost.append(float(cost))
        self.lower.append(float(lo))
        self.upper.append(float(hi))
        self.integer.append(integer)
        self.stage.append(stage)
        return len(self.names) - 1

    def row(self, name: str, coefs: dict[int, float], lo: float, hi: float, stage: int) -> int:
        r = len(self.row_names)
        self.row_names.append(name)
        self.row_lower.append(float(lo))
        self.row_upper.append(float(hi))
        self.row_stage.append(stage)
        self.entries.extend((r, c, v) for c, v in coefs.items())
        return r


def _pairs(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """(request, arc) pairs that may lie on a request's path."""
    arcs = arc_table(instance)
    idx = instance.node_index
    req, arc = [], []
    for f, r in enumerate(instance.requests):
        s = idx[r.source]
        t = None if r.is_anycast else idx[r.target]
        for a in range(arcs.n):
            if arcs.head[a] == s or (t is not None and arcs.tail[a] == t):
                continue
            req.append(f)
            arc.append(a)
    return np.asarray(req, np.int64), np.asarray(arc, np.int64)


def build_scenario_program(instance: Instance) -> ScenarioProgram:
    """The two-stage program of ``instance`` as one MILP per scenario.

    Parameters
    ----------
    instance : Instance
        Any instance; one with joint scenarios uses them, another the product of its
        requests' supports (see :func:`scenario_needs`).

    Returns
    -------
    ScenarioProgram

    Raises
    ------
    InputError
        From :func:`scenario_needs`.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> prog = build_scenario_program(feature_instance("coupled"))
    >>> prog.n_scenarios, prog.names[0], int(prog.stage[-1])
    (3, 'x_f0_a0', 2)
    """
    links_needed, probs = scenario_needs(instance)
    n_sc = probs.size
    arcs = arc_table(instance)
    fc = fixed_charges(instance)
    pt = provider_table(instance)
    phi = instance.params.shortfall_factor
    caps = [instance.on_demand_cap(a // 2) for a in range(arcs.n)]
    req, arc = _pairs(instance)
    b = _Builder()
    n_pairs = req.size
    x = np.empty(n_pairs, np.int64)
    y = np.empty(n_pairs, np.int64)
    z = np.empty(n_pairs, np.int64)
    for i, (f, a) in enumerate(zip(req, arc, strict=True)):
        x[i] = b.col(f"x_f{f}_a{a}", arcs.hop[a], 0, 1, True, 1)
        y[i] = b.col(f"yr_f{f}_a{a}", arcs.c_y[0, a], 0, arcs.W_qkd[a], True, 1)
        z[i] = b.col(f"zr_f{f}_a{a}", arcs.c_z[0, a], 0, arcs.W_kml[a], True, 1)
    u_col = {}
    for k in map(int, np.flatnonzero(fc.link > 0)):
        u_col[k] = b.col(f"u_l{k}", fc.link[k], 0, 1, True, 1)
    v_col = {}
    for g in map(int, np.flatnonzero(fc.node > 0)):
        v_col[g] = b.col(f"v_n{g}", fc.node[g], 0, 1, True, 1)
    w_cols, w_pos = [], []
    for f, r in enumerate(instance.requests):
        if r.is_anycast:
            for j in range(int(pt.ptr[f]), int(pt.ptr[f + 1])):
                w_cols.append(
                    b.col(f"w_f{f}_t{j - int(pt.ptr[f])}", pt.service_cost[j], 0, 1, True, 1)
                )
                w_pos.append(j)
    w = np.asarray(w_cols, np.int64)
    wp = np.asarray(w_pos, np.int64)
    # ---- first-stage rows
    idx = instance.node_index
    for f, r in enumerate(instance.requests):
        mine = np.flatnonzero(req == f)
        s = idx[r.source]
        sinks: dict[int, list[int]] = {}
        if r.is_anycast:
            for c, j in zip(w, wp, strict=True):
                if int(np.searchsorted(pt.ptr, j, side="right") - 1) == f:
                    sinks.setdefault(int(pt.node[j]), []).append(int(c))
        for n in range(len(instance.nodes)):
            coefs: dict[int, float] = {}
            for i in map(int, mine):
                arc_i = int(arc[i])
                if arcs.tail[arc_i] == n:
                    coefs[int(x[i])] = coefs.get(int(x[i]), 0.0) + 1.0
                if arcs.head[arc_i] == n:
                    coefs[int(x[i])] = coefs.get(int(x[i]), 0.0) - 1.0
            rhs = 1.0 if n == s else 0.0
            if r.is_anycast:
                for c in sinks.get(n, []):
                    coefs[c] = 1.0
            elif n == idx[r.target]:
                rhs = -1.0
            if coefs or rhs:
                b.row(f"flow_f{f}_n{n}", coefs, rhs, rhs, 1)
            out = {int(x[i]): 1.0 for i in mine if arcs.tail[arc[i]] == n}
            if r.is_anycast:
                out.update(dict.fromkeys(sinks.get(n, []), 1.0))
            if len(out) > 1:
                b.row(f"deg_f{f}_n{n}", out, -math.inf, 1.0, 1)
        if r.is_anycast:
            b.row(
                f"choose_f{f}",
                {
                    int(c): 1.0
                    for c, j in zip(w, wp, strict=True)
                    if int(np.searchsorted(pt.ptr, j, side="right") - 1) == f
                },
                1.0,
                1.0,
                1,
            )
    for i in range(n_pairs):
        a = int(arc[i])
        b.row(f"ylink_{i}", {int(y[i]): 1.0, int(x[i]): -float(arcs.W_qkd[a])}, -math.inf, 0.0, 1)
        b.row(f"zlink_{i}", {int(z[i]): 1.0, int(x[i]): -float(arcs.W_kml[a])}, -math.inf, 0.0, 1)
        if int(a // 2) in u_col:
            b.row(f"ulink_{i}", {int(x[i]): 1.0, u_col[int(a // 2)]: -1.0}, -math.inf, 0.0, 1)
        for n in (int(arcs.tail[a]), int(arcs.head[a])):
            if n in v_col:
                b.row(f"vlink_{i}_n{n}", {int(x[i]): 1.0, v_col[n]: -1.0}, -math.inf, 0.0, 1)
    for a in range(arcs.n):
        on = np.flatnonzero(arc == a)
        if on.size:
            b.row(f"capy_a{a}", {int(y[i]): 1.0 for i in on}, -math.inf, float(arcs.W_qkd[a]), 1)
            b.row(f"capz_a{a}", {int(z[i]): 1.0 for i in on}, -math.inf, float(arcs.W_kml[a]), 1)
    for p, cap in enumerate(pt.capacity):
        if cap >= 0:
            cols = {int(c): 1.0 for c, j in zip(w, wp, strict=True) if pt.provider[j] == p}
            if cols:
                b.row(f"provider_{p}", cols, -math.inf, float(cap), 1)
    # ---- second stage: one copy of the recourse, its needs those of scenario 0
    use_y = arcs.c_y[1] <= arcs.c_y[2]
    use_z = arcs.c_z[1] <= arcs.c_z[2]
    coef_rows: list[int] = []
    coef_cols: list[int] = []
    coef_vals: list[np.ndarray] = []
    for kind, c, w_per, use, cap_of in (
        ("y", arcs.c_y, 3.0, use_y, 0),
        ("z", arcs.c_z, 1.0, use_z, 1),
    ):
        res_cols: dict[int, list[tuple[int, int]]] = {}
        reserve = y if kind == "y" else z
        for i in range(n_pairs):
            a, f = int(arc[i]), int(req[i])
            need = w_per * links_needed[:, f, a // 2]
            if not need.any():
                continue
            e = b.col(f"e{kind}_f{f}_a{a}", c[1, a], 0, math.inf if use[a] else 0.0, False, 2)
            b.row(f"use{kind}_{i}", {e: 1.0, int(reserve[i]): -1.0}, -math.inf, 0.0, 2)
            nrow = b.row(f"need{kind}_{i}", {e: 1.0, int(x[i]): -float(need[0])}, -math.inf, 0.0, 2)
            coef_rows.append(nrow)
            coef_cols.append(int(x[i]))
            coef_vals.append(-need)
            res_cols.setdefault(a, []).append((i, e))
        for a, users in res_cols.items():
            cap = caps[a][cap_of]
            o = b.col(f"o{kind}_a{a}", c[2, a], 0, cap, False, 2)
            sh = b.col(f"s{kind}_a{a}", phi * c[2, a], 0, math.inf, False, 2)
            coefs = {o: -1.0, sh: -1.0}
            row = len(b.row_names)
            for i, e in users:
                need = w_per * links_needed[:, int(req[i]), a // 2]
                coefs[int(x[i])] = float(need[0])
                coefs[e] = -1.0
                coef_rows.append(row)
                coef_cols.append(int(x[i]))
                coef_vals.append(need)
            b.row(f"residual{kind}_a{a}", coefs, -math.inf, 0.0, 2)
    # the builder adds stage-2 columns after every stage-1 column; rows are in stage order
    n_rows = len(b.row_names)
    ent = np.asarray(b.entries, float).reshape(-1, 3)
    matrix = sp.csr_matrix(
        (ent[:, 2], (ent[:, 0].astype(np.int64), ent[:, 1].astype(np.int64))),
        shape=(n_rows, len(b.names)),
    )
    matrix.sum_duplicates()
    values = np.array(coef_vals).T if coef_vals else np.zeros((n_sc, 0))
    return ScenarioProgram(
        instance,
        b.names,
        np.asarray(b.cost),
        np.asarray(b.lower),
        np.asarray(b.upper),
        np.asarray(b.integer, bool),
        np.asarray(b.stage, np.int64),
        b.row_names,
        np.asarray(b.row_lower),
        np.asarray(b.row_upper),
        np.asarray(b.row_stage, np.int64),
        matrix,
        probs,
        np.asarray(coef_rows, np.int64),
        np.asarray(coef_cols, np.int64),
        np.ascontiguousarray(values.reshape(n_sc, -1)),
        req,
        arc,
        x,
        y,
        z,
        w,
        wp,
    )


def decode_program(program: ScenarioProgram, first_stage: np.ndarray, planner: str) -> Plan:
    """The plan of a first-stage solution (its first-stage columns' values).

    Parameters
    ----------
    program : ScenarioProgram
    first_stage : ndarray
        Values of the first-stage columns, in column order (rounded here).
    planner : str
        Name recorded in the plan.

    Returns
    -------
    Plan
        Each request's path from its source along the arcs whose route variable is 1,
        with the reservations on them; cycles off the path are dropped.

    Raises
    ------
    InputError
        If a request has no path in the solution.
    """
    vals = np.rint(np.asarray(first_stage, float))
    routes = walk_routes(
        program.instance,
        program.req,
        program.arc,
        vals[program.x] > 0.5,
        (vals[program.y], vals[program.z]),
        (program.w_pos, vals[program.w]),
        InputError,
    )
    return Plan(program.instance.name, planner, routes)


def solve_extensive(
    program: ScenarioProgram, time_limit: float | None = None
) -> tuple[float, np.ndarray, bool]:
    """Solve the extensive form of ``program`` (every scenario's recourse, weighted).

    The first-stage columns are shared; each scenario gets its own copy of the
    second-stage columns and rows, priced at its probability. Solved by SciPy's
    HiGHS (:func:`scipy.optimize.milp`): a solver path independent of the exact
    planner's, for cross-checks and for the SP tools' figures.

    Parameters
    ----------
    program : ScenarioProgram
    time_limit : float, optional
        Seconds.

    Returns
    -------
    objective : float
    first_stage : ndarray
        Values of the first-stage columns.
    optimal : bool
        Whether HiGHS proved optimality.

    Raises
    ------
    InputError
        If HiGHS finds no solution.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n1 = program.n_first
    n2 = len(program.names) - n1
    r1 = int((program.row_stage == 1).sum())
    blocks_cost = [program.cost[:n1]]
    lower = [program.lower[:n1]]
    upper = [program.upper[:n1]]
    integ = [program.integer[:n1]]
    rows = []
    lo = [program.row_lower[:r1]]
    hi = [program.row_upper[:r1]]
    core = program.matrix.tocsr()
    rows.append(sp.hstack([core[:r1, :n1], sp.csr_matrix((r1, n2 * program.n_scenarios))]))
    for s in range(program.n_scenarios):
        m = program.scenario_matrix(s)[r1:]
        left = m[:, :n1]
        mid = m[:, n1:]
        parts = [left]
        if s:
            parts.append(sp.csr_matrix((m.shape[0], n2 * s)))
        parts.append(mid)
        if program.n_scenarios - s - 1:
            parts.append(sp.csr_matrix((m.shape[0], n2 * (program.n_scenarios - s - 1))))
        rows.append(sp.hstack(parts))
        lo.append(program.row_lower[r1:])
        hi.append(program.row_upper[r1:])
        blocks_cost.append(program.probs[s] * program.cost[n1:])
        lower.append(program.lower[n1:])
        upper.append(program.upper[n1:])
        integ.append(program.integer[n1:])
    cost = np.concatenate(blocks_cost)
    a = sp.vstack(rows).tocsr()
    options = {"time_limit": time_limit} if time_limit else {}
    res = milp(
        cost,
        integrality=np.concatenate(integ).astype(int),
        bounds=Bounds(np.concatenate(lower), np.concatenate(upper)),
        constraints=LinearConstraint(a, np.concatenate(lo), np.concatenate(hi)),
        options=options,
    )
    if res.x is None:
        raise InputError(f"HiGHS found no solution of the extensive form: {res.message}")
    # the first stage alone carries no scenario weight; the costs above are exact
    return float(res.fun), np.asarray(res.x[:n1]), res.status == 0
