"""The second stage as *cells*: its extensive form, its closed form and its optimality cuts.

A cell is one (arc, kind, scenario): the QKD or KM wavelengths that the requests
routed over the arc need in one scenario, with the arc's on-demand cap ``O``
(``inf``: none), its prices ``c[e]``, ``c[o]`` and the shortfall factor ``phi``,
weighted by the scenario's probability ``p``. Its members are the pairs
``i = (request, arc)`` with a need ``n_i > 0`` (``3 P`` QKD wavelengths, ``P`` KM).
For first-stage values ``(x, y)`` (route and reservation of each member; ``y`` is
``yr`` or ``zr`` by kind) the cell's second stage is the LP

    min  c[e] sum_i e_i + c[o] o + phi c[o] sh
    s.t. e_i <= y_i,  e_i <= n_i x_i,  sum_i (n_i x_i - e_i) <= o + sh,
         0 <= o <= O,  sh >= 0,  e >= 0

(no ``e`` where ``c[e] > c[o]``: the evaluator never uses a reserved wavelength
there; no ``sh`` where ``O = inf``). The extensive form of the coupled models puts
these variables and rows into the MILP (:func:`~qkdbench.exact.coupled_formulation.cell_rows`);
the L-shaped method solves them in closed form and cuts (:meth:`RecourseCells.evaluate`).

**Closed form.** Every wavelength is worth at least ``c[o] >= c[e]`` once needed, so
using reserved ones first is optimal: ``e_i = min(y_i, n_i x_i)``, residual
``D = sum_i (n_i x_i - e_i)``, ``o = min(D, O)`` and ``sh = D - o``: the evaluator's
cost (:mod:`qkdbench.evaluation.coupled_kernels`). This holds for fractional
``(x, y)`` too, so it is the LP's value function ``Q(x, y)``, which is convex and
piecewise linear in ``(x, y)``. At an integer first stage (and integer caps) the
LP's optimum is this integral point: the second stage's LP relaxation is
integral, and the LP value is the integer recourse (in the model the second
stage is continuous anyway).

**Optimal dual, read off by complementary slackness.** With ``alpha_i, beta_i >= 0``
on ``e_i <= y_i`` and ``e_i <= n_i x_i``, ``pi >= 0`` on the residual row and
``mu >= 0`` on ``o <= O``, dual feasibility is ``alpha_i + beta_i >= pi - c[e]``,
``pi - mu <= c[o]``, ``pi <= phi c[o]``, and the dual objective is

    Q >= - sum_i alpha_i y_i + sum_i (pi - beta_i) n_i x_i - mu O.

An optimal dual: ``pi = c[o]``, ``mu = 0`` if ``D < O``, else ``pi = phi c[o]``,
``mu = (phi - 1) c[o]`` (at ``D = O`` both are optimal; the larger, the right
derivative, is taken); ``alpha_i = pi - c[e]``, ``beta_i = 0`` if ``y_i <= n_i x_i``
(the reservation binds, or ties), else ``alpha_i = 0``, ``beta_i = pi - c[e]``. The
right-hand side at ``(x, y)`` equals ``Q(x, y)`` (checked term by term in the tests),
and for any other point it is a lower bound (weak duality): an optimality cut.

The closed form is preferred to solving the per-scenario LPs with HiGHS and
reading duals: the LPs decompose by arc into these tiny problems, so one vectorised
pass over all cells replaces ``S`` LP solves per iteration, and the dual is chosen
deliberately where the LP is degenerate (a tie ``y_i = n_i x_i``, which every
off-route pair has at ``0 = 0``, or ``D = O``), instead of whichever vertex the
simplex stops at. On a tie the reservation's multiplier is taken, so the cut keeps
the value of reserving (and, off the route, prices a new route at its on-demand
cost).

Cells come from the joint scenarios (:func:`scenario_cells`) or, on an uncoupled
instance, from each pair's own support (:func:`marginal_cells`: one cell per pair,
kind and value of ``P``, never capped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluation.pricing import arc_table, scenario_table, support_table
from ..model import KML_WAVELENGTHS_PER_LINK, QKD_WAVELENGTHS_PER_LINK, Instance
from .coupled import scenario_links

__all__ = ["RecourseCells", "Cuts", "scenario_cells", "marginal_cells"]

_WIDTH = (float(QKD_WAVELENGTHS_PER_LINK), float(KML_WAVELENGTHS_PER_LINK))


@dataclass(frozen=True, eq=False)
class Cuts:
    """One optimality cut per block: ``theta_b >= const_b + sum coef . (x, y, z)``.

    Attributes
    ----------
    value : ndarray (B,)
        The blocks' recourse at the point the cuts were taken (each cut's value there).
    const : ndarray (B,)
    block, pair : ndarray of int64
        The cut's terms: block and pair of each.
    coef_x, coef_y, coef_z : ndarray of float
        Coefficients of the pair's route, QKD- and KM-reservation variables.
    """

    value: np.ndarray
    const: np.ndarray
    block: np.ndarray
    pair: np.ndarray
    coef_x: np.ndarray
    coef_y: np.ndarray
    coef_z: np.ndarray

    def at(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Each block's cut evaluated at a first stage.

        Parameters
        ----------
        x, y, z : ndarray (pairs,)
            Route and reservation values of every pair.

        Returns
        -------
        ndarray (B,)
        """
        terms = self.coef_x * x[self.pair] + self.coef_y * y[self.pair] + self.coef_z * z[self.pair]
        return self.const + np.bincount(self.block, weights=terms, minlength=self.const.size)


@dataclass(frozen=True, eq=False)
class RecourseCells:
    """The second stage of a set of pairs as cells (see the module notes).

    Attributes
    ----------
    kind : ndarray (C,) int64
        0 for QKD (members' reservation ``yr``), 1 for KM (``zr``).
    arc : ndarray (C,) int64
    block : ndarray (C,) int64
        The cut block of each cell (its scenario, or its request for
        :func:`marginal_cells`), ``0 <= block < n_blocks``.
    prob : ndarray (C,)
        Weight of the cell in the expectation.
    cap : ndarray (C,)
        On-demand cap ``O`` (``inf``: none).
    c_use, c_buy : ndarray (C,)
        ``c[e]`` and ``c[o]`` of the cell's arc and kind.
    use : ndarray (C,) bool
        Whether a reserved wavelength is used (``c[e] <= c[o]``).
    phi : float
        Shortfall factor.
    ptr : ndarray (C + 1,) int64
        Members of cell ``c``: entries ``ptr[c]:ptr[c + 1]``.
    pair : ndarray (E,) int64
        Pair of each entry (a position in the model's pairs).
    need : ndarray (E,)
        Its need in wavelengths, ``> 0``.
    n_blocks : int
    """

    kind: np.ndarray
    arc: np.ndarray
    block: np.ndarray
    prob: np.ndarray
    cap: np.ndarray
    c_use: np.ndarray
    c_buy: np.ndarray
    use: np.ndarray
    phi: float
    ptr: np.ndarray
    pair: np.ndarray
    need: np.ndarray
    n_blocks: int

    @classmethod
    def empty(cls) -> RecourseCells:
        """No cells and no blocks: nothing decomposed.

        Returns
        -------
        RecourseCells
        """
        i, f = np.zeros(0, np.int64), np.zeros(0)
        return cls(i, i, i, f, f, f, f, np.zeros(0, bool), 1.0, np.zeros(1, np.int64), i, f, 0)

    @property
    def n(self) -> int:
        """Number of cells."""
        return int(self.kind.size)

    @property
    def owner(self) -> np.ndarray:
        """The cell of each entry."""
        return np.repeat(np.arange(self.n), np.diff(self.ptr))

    def with_blocks(self, block: np.ndarray, n_blocks: int) -> RecourseCells:
        """The same cells grouped into other cut blocks.

        Parameters
        ----------
        block : ndarray (C,) int64
            New block of each cell.
        n_blocks : int

        Returns
        -------
        RecourseCells
        """
        return RecourseCells(
            self.kind,
            self.arc,
            np.asarray(block, dtype=np.int64),
            self.prob,
            self.cap,
            self.c_use,
            self.c_buy,
            self.use,
            self.phi,
            self.ptr,
            self.pair,
            self.need,
            int(n_blocks),
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> Cuts:
        """The recourse of every block at a first stage, and a tight optimality cut per block.

        Parameters
        ----------
        x, y, z : ndarray (pairs,)
            Route, QKD- and KM-reservation values of every pair (fractional allowed).

        Returns
        -------
        Cuts
            ``value`` is the closed-form recourse (at an integer first stage, the
            evaluator's second stage of these cells); the cuts equal it there.

        Examples
        --------
        >>> from qkdbench.testing.instances import feature_instance
        >>> inst = feature_instance("coupled")
        >>> cells = scenario_cells(inst, np.array([0]), np.array([0]))
        >>> one = np.ones(1)
        >>> cuts = cells.evaluate(one, 3 * one, one)
        >>> bool(np.allclose(cuts.at(one, 3 * one, one), cuts.value))
        True
        """
        owner = self.owner
        kind = self.kind[owner]
        demand = self.need * x[self.pair]
        res = np.where(kind == 0, y[self.pair], z[self.pair])
        use = self.use[owner]
        used = np.where(use, np.minimum(res, demand), 0.0)
        C = self.n
        resid = np.bincount(owner, weights=demand - used, minlength=C)
        E = np.bincount(owner, weights=used, minlength=C)
        finite = np.isfinite(self.cap)
        cap = np.where(finite, self.cap, 0.0)
        tol = 1e-9 * np.maximum(1.0, np.abs(cap))
        over = finite & (resid >= cap - tol)
        bought = np.where(finite, np.minimum(resid, cap), resid)
        short = np.where(finite, np.maximum(resid - cap, 0.0), 0.0)
        cost = self.c_use * E + self.c_buy * bought + self.phi * self.c_buy * short
        value = np.bincount(self.block, weights=self.prob * cost, minlength=self.n_blocks)
        pi = np.where(over, self.phi * self.c_buy, self.c_buy)
        mu = pi - self.c_buy  # 0 unless over
        spread = np.where(use, pi[owner] - self.c_use[owner], 0.0)
        binds = res <= demand + 1e-9 * np.maximum(1.0, demand)
        alpha = np.where(binds, spread, 0.0)
        beta = spread - alpha
        p = self.prob[owner]
        cx = p * (pi[owner] - beta) * self.need
        cr = -p * alpha
        const = -np.bincount(self.block, weights=self.prob * mu * cap, minlength=self.n_blocks)
        key = self.block[owner] * (int(self.pair.max(initial=0)) + 1) + self.pair
        uniq, inv = np.unique(key, return_inverse=True)
        inv = inv.ravel()
        m = uniq.size
        width = int(self.pair.max(initial=0)) + 1
        return Cuts(
            value,
            const,
            (uniq // width).astype(np.int64),
            (uniq % width).astype(np.int64),
            np.bincount(inv, weights=cx, minlength=m),
            np.bincount(inv, weights=np.where(kind == 0, cr, 0.0), minlength=m),
            np.bincount(inv, weights=np.where(kind == 1, cr, 0.0), minlength=m),
        )


def _cells_from_lists(
    instance: Instance,
    kind: list[np.ndarray],
    arc: list[np.ndarray],
    block: list[np.ndarray],
    prob: list[np.ndarray],
    members: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    caps: tuple[np.ndarray, np.ndarray],
    n_blocks: int,
    phi: float,
) -> RecourseCells:
    """Assemble cells from blocks of cells and blocks of (cell offset, pair, need) entries."""
    arcs = arc_table(instance)
    k = np.concatenate(kind) if kind else np.zeros(0, np.int64)
    a = np.concatenate(arc) if arc else np.zeros(0, np.int64)
    cell_e = np.concatenate([m[0] for m in members]) if members else np.zeros(0, np.int64)
    pair_e = np.concatenate([m[1] for m in members]) if members else np.zeros(0, np.int64)
    need_e = np.concatenate([m[2] for m in members]) if members else np.zeros(0)
    order = np.argsort(cell_e, kind="stable")
    counts = np.bincount(cell_e, minlength=k.size)
    ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    prices = np.stack([arcs.c_y, arcs.c_z])  # (2, 3, A)
    c_use = prices[k, 1, a] if k.size else np.zeros(0)
    c_buy = prices[k, 2, a] if k.size else np.zeros(0)
    cap = np.where(k == 0, caps[0][a], caps[1][a]) if k.size else np.zeros(0)
    return RecourseCells(
        k.astype(np.int64),
        a.astype(np.int64),
        (np.concatenate(block) if block else np.zeros(0)).astype(np.int64),
        np.concatenate(prob) if prob else np.zeros(0),
        cap.astype(float),
        c_use,
        c_buy,
        c_use <= c_buy,
        float(phi),
        ptr,
        pair_e[order].astype(np.int64),
        need_e[order].astype(float),
        int(n_blocks),
    )


def scenario_cells(
    instance: Instance,
    req: np.ndarray,
    arc: np.ndarray,
    include: np.ndarray | None = None,
    *,
    merge: bool = False,
) -> RecourseCells:
    """The cells of a coupled instance's pairs: one per (arc, kind, scenario) with a need.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    req, arc : ndarray of int
        The model's pairs (entry ``pair`` of a cell is a position here).
    include : ndarray (A, 2) of bool, optional
        Which (arc, kind) get cells (default all).
    merge : bool
        Merge the scenarios in which every member of an (arc, kind) needs the same
        (their probabilities add up); blocks are then the merged cells' first
        scenarios, not a partition by scenario.

    Returns
    -------
    RecourseCells
        Blocks are scenarios (``n_blocks = S``).

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> inst = feature_instance("coupled")
    >>> cells = scenario_cells(inst, np.array([0, 1]), np.array([0, 0]))
    >>> cells.n, cells.n_blocks  # arc 0, QKD and KM, in the two scenarios with a need
    (4, 3)
    """
    t = scenario_table(instance)
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    S = t.probs.size
    links = scenario_links(instance, req, arc)  # (S, n)
    A = arc_table(instance).n
    inc = np.ones((A, 2), dtype=bool) if include is None else np.asarray(include, dtype=bool)
    order = np.argsort(arc, kind="stable")
    starts = np.searchsorted(arc[order], np.arange(A + 1))
    kind_l, arc_l, block_l, prob_l, members = [], [], [], [], []
    n_cells = 0
    for a in np.flatnonzero(np.diff(starts) > 0):
        mine = order[starts[a] : starts[a + 1]]
        for k in (0, 1):
            if not inc[a, k]:
                continue
            need = _WIDTH[k] * links[:, mine]  # (S, m)
            live = np.flatnonzero(need.max(axis=1) > 0)
            if not live.size:
                continue
            if merge:
                uniq, first, inv = np.unique(
                    need[live], axis=0, return_index=True, return_inverse=True
                )
                prob: np.ndarray = np.bincount(np.asarray(inv).ravel(), weights=t.probs[live])
                rows, scen = uniq, live[first]
            else:
                rows, scen, prob = need[live], live, np.asarray(t.probs[live], dtype=float)
            c_of, j_of = np.nonzero(rows > 0)
            members.append((n_cells + c_of, mine[j_of], rows[c_of, j_of]))
            kind_l.append(np.full(scen.size, k, np.int64))
            arc_l.append(np.full(scen.size, a, np.int64))
            block_l.append(scen.astype(np.int64))
            prob_l.append(np.asarray(prob, dtype=float))
            n_cells += scen.size
    return _cells_from_lists(
        instance, kind_l, arc_l, block_l, prob_l, members, (t.cap_y, t.cap_z), S, t.phi
    )


def marginal_cells(instance: Instance, req: np.ndarray, arc: np.ndarray) -> RecourseCells:
    """The cells of an uncoupled instance's pairs: one per (pair, kind, value of ``P``).

    A pair's values of ``P`` and their probabilities are those of the product of
    its request's demand and its link's states
    (:func:`~qkdbench.evaluation.pricing.support_table`); nothing is capped, and
    each cell has one member. Blocks are requests.

    Parameters
    ----------
    instance : Instance
    req, arc : ndarray of int
        The model's pairs.

    Returns
    -------
    RecourseCells
        ``n_blocks = F``.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 2, 2, seed=1)  # key rates uniform on {0, 1, 2}
    >>> cells = marginal_cells(inst, np.array([0]), np.array([0]))
    >>> cells.n, cells.need.tolist()  # QKD and KM, P = 1 and P = 2
    (4, [3.0, 6.0, 1.0, 2.0])
    """
    sup = support_table(instance)
    arcs = arc_table(instance)
    req = np.asarray(req, dtype=np.int64)
    arc = np.asarray(arc, dtype=np.int64)
    cls = sup.arc_class[arc]
    start = sup.lptr[cls, req]
    per_pair = sup.lptr[cls, req + 1] - start
    pair_of = np.repeat(np.arange(req.size), per_pair)
    s = start[pair_of] + (
        np.arange(pair_of.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    )
    live = sup.links[s] > 0
    pair_of, s = pair_of[live], s[live]
    m = pair_of.size
    kind_l, arc_l, block_l, prob_l, members = [], [], [], [], []
    for k in (0, 1):
        kind_l.append(np.full(m, k, np.int64))
        arc_l.append(arc[pair_of])
        block_l.append(req[pair_of])
        prob_l.append(sup.link_prob[s].astype(float))
        members.append((k * m + np.arange(m), pair_of, _WIDTH[k] * sup.links[s].astype(float)))
    inf = np.full(arcs.n, np.inf)
    return _cells_from_lists(
        instance, kind_l, arc_l, block_l, prob_l, members, (inf, inf), instance.n_requests, 1.0
    )
