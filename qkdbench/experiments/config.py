"""Defaults of the figures (kept light: the command line reads them to build its help).

See :mod:`qkdbench.experiments.figures` for what each panel shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Instance

__all__ = ["FIGURES", "PAPER_SAVING_PCT", "EXACT", "FigureConfig"]

#: Panel names :func:`~qkdbench.experiments.figures.make_figures` knows, in the order
#: ``all`` makes them.
FIGURES: tuple[str, ...] = ("fig3a", "fig3b", "fig3c", "fig3d", "quality", "anytime")

#: The paper's reported saving of the SP plan over CO-QBN (Fig. 3d), in percent.
PAPER_SAVING_PCT: tuple[float, float] = (7.72, 8.21)

#: The reference planner of the figures, when registered.
EXACT = "exact"


@dataclass(frozen=True)
class FigureConfig:
    """What the figures are made on.

    Parameters
    ----------
    topology : str
        Topology of every panel (name, file or topohub key).
    requests, max_rate, seed : int
        The instance of ``fig3a``, ``fig3b``, ``quality`` and ``anytime``
        (requests seeded by ``seed``, rates uniform on ``{0..max_rate}``).
    time_limit : float
        Seconds per planner run (an exact solve that hits it reports
        ``feasible`` and its gap, which the CSVs carry).
    planner_seed : int
        Seed of every planner run.
    rate_requests : int
        Requests of ``fig3c`` (more requests share arcs, so the capacity binds
        at a smaller ``K``).
    rates : tuple of int
        The ``K`` values of ``fig3c``.
    counts : tuple of int
        Request counts of ``fig3d``.
    count_seeds : tuple of int
        Request seeds of ``fig3d`` (one instance per count and seed).
    ga : str
        Registry name of the planner whose anytime log ``anytime`` plots.
    anytime_requests : int
        Requests of the ``anytime`` instance (larger than the others, so that
        the search has something to do).
    anytime_variants : tuple of (label, params)
        The GA runs of ``anytime``: a label and constructor keywords each. By
        default the registered GA as it is, and the GA started from CO-QBN
        alone without the greedy's polishing, which shows the search itself.
    """

    topology: str = "usnet"
    requests: int = 20
    max_rate: int = 10
    seed: int = 1
    time_limit: float = 60.0
    planner_seed: int = 0
    rate_requests: int = 40
    rates: tuple[int, ...] = (0, 5, 10, 15, 20, 25, 30, 40, 50, 60)
    counts: tuple[int, ...] = (10, 20, 30, 40, 50, 60)
    count_seeds: tuple[int, ...] = (1, 2, 3)
    ga: str = "ga"
    anytime_requests: int = 60
    anytime_variants: tuple = (
        ("defaults", ()),
        ("CO-QBN seed only, no polish", (("seeds", ("coqbn",)), ("polish", False))),
    )

    def instance(self) -> Instance:
        """The instance of ``fig3a``, ``fig3b``, ``quality`` and ``anytime``.

        Returns
        -------
        Instance
            ``make_instance(topology, requests, max_rate, seed=seed)``.
        """
        from ..topologies import make_instance

        return make_instance(self.topology, self.requests, self.max_rate, seed=self.seed)
