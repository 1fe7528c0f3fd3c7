"""The restricted master LP of the linking relaxation's column generation (HiGHS).

Rows: one convexity row per request, the QKD and KM capacity of every arc (with
a penalised slack), the provider capacities, and the strong linking rows, added
when a column first uses a charged link or node. Columns: (path, target,
reservations) per request, and the relaxed link and node openings. Used by
:func:`~qkdbench.exact.linking_cg.linking_bound`.
"""

from __future__ import annotations

import numpy as np

from ..evaluation import PlanArrays
from ..evaluation.pricing import provider_table
from ..model import Instance
from .linking_dual import _Data
from .solver import silent_highs

__all__: list[str] = []


class _Master:
    """The restricted master LP in HiGHS, grown by columns and linking rows."""

    def __init__(self, instance: Instance, d: _Data, scale: float) -> None:
        import highspy

        self.inf = highspy.kHighsInf
        self.h = h = silent_highs()
        h.setOptionValue("threads", 1)
        self.d = d
        self.scale = scale  # costs enter the LP divided by it (HiGHS wants them near 1)
        # per wavelength over capacity, in units of the largest request cost; raised
        # by :meth:`raise_penalty` while an optimal master still uses a slack
        self.penalty = penalty = 10.0
        pt = provider_table(instance)
        F, A = instance.n_requests, d.head.size
        self.F, self.A = F, A
        # rows: convexity (F, = 1), QKD capacity (A), KM capacity (A), providers
        self.capped = np.flatnonzero(pt.capacity >= 0)
        n_rows = F + 2 * A + self.capped.size
        lower = np.concatenate((np.ones(F), np.full(2 * A + self.capped.size, -self.inf)))
        upper = np.concatenate(
            (np.ones(F), d.W_qkd, d.W_kml, pt.capacity[self.capped].astype(float))
        )
        h.addRows(
            n_rows, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        self.n_rows = n_rows
        # penalised slacks on the capacity rows keep the master feasible
        n_slack = 2 * A + self.capped.size
        h.addCols(
            n_slack,
            np.full(n_slack, penalty),
            np.zeros(n_slack),
            np.full(n_slack, self.inf),
            n_slack,
            np.arange(n_slack, dtype=np.int32),
            np.arange(F, n_rows, dtype=np.int32),
            np.full(n_slack, -1.0),
        )
        self.n_cols = n_slack
        # design binaries, relaxed: one per charged link and node
        self.u_col: dict[int, int] = {}
        for l_ in np.flatnonzero(d.link_charge > 0):
            self.u_col[int(l_)] = self._add_col(float(d.link_charge[l_]) / scale, 1.0, [], [])
        self.v_col: dict[int, int] = {}
        for n_ in np.flatnonzero(d.node_charge > 0):
            self.v_col[int(n_)] = self._add_col(float(d.node_charge[n_]) / scale, 1.0, [], [])
        self.link_row: dict[tuple[int, int], int] = {}
        self.node_row: dict[tuple[int, int], int] = {}
        self.columns: list[set[tuple[int, bytes, bytes, bytes]]] = [set() for _ in range(F)]
        self.col_info: list[tuple[int, np.ndarray, int, np.ndarray, np.ndarray]] = []
        self.path_col: list[int] = []
        self.pt = pt

    def _add_col(self, cost: float, upper: float, rows: list[int], vals: list[float]) -> int:
        self.h.addCol(
            cost, 0.0, upper, len(rows), np.asarray(rows, np.int32), np.asarray(vals, float)
        )
        self.n_cols += 1
        return self.n_cols - 1

    def _linking(self, key: tuple[int, int], col: int, table: dict[tuple[int, int], int]) -> int:
        row = table.get(key)
        if row is None:
            self.h.addRow(-self.inf, 0.0, 1, np.asarray([col], np.int32), np.asarray([-1.0]))
            row = table[key] = self.n_rows
            self.n_rows += 1
        return row

    def add(
        self, f: int, arcs: np.ndarray, target: int, y: np.ndarray, z: np.ndarray, cost: float
    ) -> bool:
        """Add request ``f``'s column (path ``arcs`` to ``target``, reservations); new or not."""
        key = (
            target,
            arcs.tobytes(),
            np.asarray(y, float).tobytes(),
            np.asarray(z, float).tobytes(),
        )
        if key in self.columns[f]:
            return False
        self.columns[f].add(key)
        d, A = self.d, self.A
        rows = [f]
        vals = [1.0]
        for a, ya, za in zip(arcs.tolist(), y.tolist(), z.tolist(), strict=True):
            if ya:
                rows.append(self.F + a)
                vals.append(ya)
            if za:
                rows.append(self.F + A + a)
                vals.append(za)
            lk = int(d.link_of_arc[a])
            if lk in self.u_col:
                rows.append(self._linking((f, lk), self.u_col[lk], self.link_row))
                vals.append(1.0)
            n = int(d.head[a])
            if n in self.v_col:
                rows.append(self._linking((f, n), self.v_col[n], self.node_row))
                vals.append(1.0)
        prov = int(self.pt.provider[self.pt.ptr[f] + target])
        if prov >= 0:
            pos = np.flatnonzero(self.capped == prov)
            if pos.size:
                rows.append(self.F + 2 * A + int(pos[0]))
                vals.append(1.0)
        self.path_col.append(self._add_col(cost / self.scale, self.inf, rows, vals))
        self.col_info.append(
            (f, np.asarray(arcs, np.int64), target, np.asarray(y, float), np.asarray(z, float))
        )
        return True

    def slack_used(self) -> bool:
        """Whether the last solution puts any capacity row over its capacity."""
        n_slack = 2 * self.A + self.capped.size
        return bool(np.any(np.asarray(self.h.getSolution().col_value)[:n_slack] > 1e-9))

    def raise_penalty(self) -> bool:
        """Multiply the slacks' price by 100; ``False`` once it is past ``1e8``."""
        if self.penalty > 1e8:
            return False
        self.penalty *= 100.0
        n_slack = 2 * self.A + self.capped.size
        idx = np.arange(n_slack, dtype=np.int32)
        self.h.changeColsCost(n_slack, idx, np.full(n_slack, self.penalty))
        return True

    def integer_plan(self, time_limit: float) -> PlanArrays | None:
        """The restricted master as a MIP: one known column per request, links opened whole.

        Slacks are fixed at 0, so a solution is a feasible plan; ``None`` when
        HiGHS finds none within ``time_limit``. The master is changed: call last.
        """
        import highspy

        h = self.h
        n_slack = 2 * self.A + self.capped.size
        idx = np.arange(n_slack, dtype=np.int32)
        h.changeColsBounds(n_slack, idx, np.zeros(n_slack), np.zeros(n_slack))
        ints = np.asarray(
            [*self.u_col.values(), *self.v_col.values(), *self.path_col], dtype=np.int32
        )
        h.changeColsIntegrality(ints.size, ints, np.full(ints.size, highspy.HighsVarType.kInteger))
        h.setOptionValue("time_limit", max(float(time_limit), 1e-3))
        h.setOptionValue("mip_rel_gap", 1e-6)
        h.run()
        if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
            return None
        val = np.asarray(h.getSolution().col_value)
        pick: dict[int, int] = {}
        for k, c in enumerate(self.path_col):
            if val[c] > 0.5:
                pick[self.col_info[k][0]] = k
        if len(pick) != self.F:
            return None
        ptr, arcs, yr, zr, tg = [0], [], [], [], []
        for f in range(self.F):
            _, a, t, y, z = self.col_info[pick[f]]
            arcs.append(a)
            yr.append(y)
            zr.append(z)
            tg.append(t)
            ptr.append(ptr[-1] + a.size)
        return PlanArrays(
            np.asarray(ptr, np.int64),
            np.concatenate(arcs).astype(np.int64),
            np.concatenate(yr),
            np.concatenate(zr),
            self.F,
            np.asarray(tg, np.int64) if self.pt.active else None,
        )

    def solve(self) -> tuple[float, np.ndarray]:
        """Solve; the LP value (charges every plan pays included), the row duals (HiGHS signs)."""
        self.h.run()
        info = self.h.getInfo()
        status = self.h.getModelStatus()
        if status != self.h.getModelStatus().__class__.kOptimal:
            raise RuntimeError(f"the master LP was not solved: {status}")
        sol = self.h.getSolution()
        return (
            float(info.objective_function_value) * self.scale + self.d.constant,
            np.asarray(sol.row_dual) * self.scale,
        )

    def prices(
        self, dual: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Non-negative Lagrangian prices read from the master's duals."""
        F, A, d = self.F, self.A, self.d
        lam_q = np.maximum(0.0, -dual[F : F + A])
        lam_k = np.maximum(0.0, -dual[F + A : F + 2 * A])
        rho = np.zeros(len(self.pt.ids))
        rho[self.capped] = np.maximum(0.0, -dual[F + 2 * A : F + 2 * A + self.capped.size])
        mu = np.zeros((F, d.link_charge.size))
        nu = np.zeros((F, d.n_nodes))
        for (f, lk), row in self.link_row.items():
            mu[f, lk] = max(0.0, -dual[row])
        for (f, n), row in self.node_row.items():
            nu[f, n] = max(0.0, -dual[row])
        return lam_q, lam_k, rho, mu, nu
