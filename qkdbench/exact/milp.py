"""A mixed-integer linear program held as NumPy arrays.

The exact planners build their models here, column block by column block and
row block by row block, without one Python object per coefficient; the
solver interfaces (:mod:`qkdbench.exact.solver`) hand the arrays to HiGHS
through highspy's public API, or to PuLP for its CBC interface.

Examples
--------
>>> import numpy as np
>>> b = MilpBuilder()
>>> x = b.add_cols(2, lower=0, upper=1, cost=[1.0, 2.0], integer=True)
>>> rows = b.add_rows(lower=[1.0], upper=[np.inf], row=[0, 0], col=x, value=[1.0, 1.0])
>>> milp = b.build()
>>> milp.num_col, milp.num_row, milp.index.tolist()
(2, 1, [0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Milp", "MilpBuilder"]


@dataclass(frozen=True, eq=False)
class Milp:
    """A minimisation MILP: ``min cost @ x`` s.t. ``row_lower <= A x <= row_upper``.

    Attributes
    ----------
    cost, col_lower, col_upper : ndarray of float, shape (num_col,)
        Objective coefficients and column bounds (``inf`` for none).
    integer : ndarray of bool, shape (num_col,)
        Integer columns.
    row_lower, row_upper : ndarray of float, shape (num_row,)
        Row bounds (``-inf`` / ``inf`` for none).
    start, index, value : ndarray
        The constraint matrix row-wise (CSR): row ``r`` holds the columns
        ``index[start[r]:start[r + 1]]`` with coefficients ``value[...]``.
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray

    @property
    def num_col(self) -> int:
        """Number of columns."""
        return int(self.cost.size)

    @property
    def num_row(self) -> int:
        """Number of rows."""
        return int(self.row_lower.size)

    @property
    def num_nz(self) -> int:
        """Number of nonzero coefficients."""
        return int(self.index.size)

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Columns and coefficients of row ``r``.

        Parameters
        ----------
        r : int
            Row index.

        Returns
        -------
        index : ndarray of int32
            Column indices.
        value : ndarray of float
            Their coefficients (views into the CSR arrays).
        """
        lo, hi = self.start[r], self.start[r + 1]
        return self.index[lo:hi], self.value[lo:hi]

    def with_row(
        self, col: ArrayLike, value: ArrayLike, lower: float = -np.inf, upper: float = np.inf
    ) -> Milp:
        """A copy with one more row ``lower <= sum(value * x[col]) <= upper``.

        Parameters
        ----------
        col : array of int
            Columns of the new row.
        value : float or array of float
            Their coefficients, broadcast to ``col``.
        lower, upper : float, optional
            Row bounds (default none).

        Returns
        -------
        Milp
            The columns shared with this model; the row arrays new.
        """
        col = np.asarray(col, dtype=np.int32)
        value = np.broadcast_to(np.asarray(value, dtype=float), col.shape)
        return Milp(
            self.cost,
            self.col_lower,
            self.col_upper,
            self.integer,
            np.append(self.row_lower, float(lower)),
            np.append(self.row_upper, float(upper)),
            np.append(self.start, self.start[-1] + col.size).astype(np.int32),
            np.concatenate([self.index, col]),
            np.concatenate([self.value, value]),
        )


class MilpBuilder:
    """Collects column and row blocks; :meth:`build` returns the :class:`Milp`.

    Rows and columns keep the order in which their blocks are added;
    :meth:`build` can permute the columns.
    """

    def __init__(self) -> None:
        self._cols: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._n = 0
        self._m = 0

    @property
    def num_col(self) -> int:
        """Columns added so far."""
        return self._n

    def add_cols(
        self,
        n: int,
        *,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = np.inf,
        cost: ArrayLike = 0.0,
        integer: bool = False,
    ) -> np.ndarray:
        """Add ``n`` columns; their indices.

        Parameters
        ----------
        n : int
        lower, upper, cost : float or array of shape (n,)
        integer : bool

        Returns
        -------
        ndarray of int32
        """
        shape = (int(n),)
        block = (
            np.broadcast_to(np.asarray(lower, dtype=float), shape),
            np.broadcast_to(np.asarray(upper, dtype=float), shape),
            np.broadcast_to(np.asarray(cost, dtype=float), shape),
            np.full(shape, bool(integer)),
        )
        self._cols.append(block)
        idx = np.arange(self._n, self._n + int(n), dtype=np.int32)
        self._n += int(n)
        return idx

    def add_rows(
        self,
        *,
        lower: ArrayLike,
        upper: ArrayLike,
        row: ArrayLike,
        col: ArrayLike,
        value: ArrayLike,
    ) -> np.ndarray:
        """Add a block of rows given by coordinates; their indices.

        Parameters
        ----------
        lower, upper : array of shape (m,)
            Row bounds; ``m`` is the number of rows of the block.
        row, col, value : arrays of one length
            Coefficient ``value[k]`` of column ``col[k]`` in the block's row
            ``row[k]`` (``0 <= row[k] < m``). Zero coefficients are dropped;
            within a row, entries keep the order given.

        Returns
        -------
        ndarray of int64
        """
        lower = np.atleast_1d(np.asarray(lower, dtype=float))
        m = lower.size
        upper = np.broadcast_to(np.asarray(upper, dtype=float), (m,))
        row = np.asarray(row, dtype=np.int64)
        col = np.asarray(col, dtype=np.int32)
        value = np.broadcast_to(np.asarray(value, dtype=float), row.shape)
        keep = value != 0
        self._rows.append((lower, upper, row[keep], col[keep], value[keep]))
        out = np.arange(self._m, self._m + m)
        self._m += m
        return out

    def build(self, col_order: np.ndarray | None = None) -> Milp:
        """The MILP.

        Parameters
        ----------
        col_order : ndarray, optional
            A permutation: column ``col_order[j]`` (as added) becomes column
            ``j``. The caller must map its own indices with the inverse.

        Returns
        -------
        Milp
            Rows in the order added, each row's entries in the order given.
        """
        if self._cols:
            lower, upper, cost, integer = (
                np.concatenate(parts) for parts in zip(*self._cols, strict=True)
            )
        else:
            lower = upper = cost = np.zeros(0)
            integer = np.zeros(0, dtype=bool)
        new_of_old = np.arange(self._n, dtype=np.int32)
        if col_order is not None:
            lower, upper, cost, integer = (a[col_order] for a in (lower, upper, cost, integer))
            new_of_old[col_order] = np.arange(self._n, dtype=np.int32)
        m = self._m
        if self._rows:
            rlo = np.concatenate([blk[0] for blk in self._rows])
            rup = np.concatenate([blk[1] for blk in self._rows])
            offsets = np.cumsum([0] + [blk[0].size for blk in self._rows[:-1]])
            r = np.concatenate([blk[2] + off for blk, off in zip(self._rows, offsets, strict=True)])
            c = new_of_old[np.concatenate([blk[3] for blk in self._rows])]
            v = np.concatenate([blk[4] for blk in self._rows])
        else:
            rlo = rup = v = np.zeros(0)
            r = np.zeros(0, np.int64)
            c = np.zeros(0, np.int32)
        entry = np.argsort(r, kind="stable")  # row-wise, entries in the order given
        counts = np.bincount(r, minlength=m)
        start = np.zeros(m + 1, dtype=np.int32)
        np.cumsum(counts, out=start[1:])
        return Milp(
            np.ascontiguousarray(cost),
            np.ascontiguousarray(lower),
            np.ascontiguousarray(upper),
            np.ascontiguousarray(integer),
            rlo,
            rup,
            start,
            c[entry].astype(np.int32),
            v[entry],
        )
