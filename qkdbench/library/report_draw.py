"""The figures of ``qkdbench report``, each drawn from the table the report writes as CSV.

Every ``draw_*`` function takes a table of :mod:`qkdbench.library.report_stats`
and returns a :class:`matplotlib.figure.Figure` on the Agg canvas
(:func:`qkdbench.experiments.plotting.new_figure`). Nothing here computes a
statistic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..experiments.plotting import new_figure

__all__ = [
    "planner_colors",
    "draw_profile",
    "draw_ecdf",
    "draw_wtl",
    "draw_gap_time",
]

_DPI = 110.0
_STYLES = ("-", "--", "-.", ":")


def _figure(width: float = 6.4, height: float = 4.2):
    fig, (ax,) = new_figure(width=width, height=height, dpi=_DPI, layout="tight")
    return fig, ax


def planner_colors(planners: Sequence[str]) -> dict[str, Any]:
    """One colour of matplotlib's ``tab10`` per planner, in order.

    Parameters
    ----------
    planners : sequence of str

    Returns
    -------
    dict
        Planner to an RGBA tuple.
    """
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {p: cmap(i % 10) for i, p in enumerate(planners)}


def _line(k: int) -> dict[str, Any]:
    """Line style and width of the ``k``-th planner (curves that overlap stay visible)."""
    return {"ls": _STYLES[k % 4], "lw": 2.4 - 0.35 * (k % 4)}


def draw_profile(
    prof: pd.DataFrame, planners: Sequence[str], xlabel: str, title: str, log: bool = False
):
    """A performance profile: ``rho`` against ``tau``, one step curve per planner.

    Parameters
    ----------
    prof : pandas.DataFrame
        As :func:`~qkdbench.library.report_stats.performance_profile` returns it.
    planners : sequence of str
        The planners, in the legend's order.
    xlabel, title : str
    log : bool
        A logarithmic ``tau`` axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    colors = planner_colors(planners)
    finite = [float(t) for t in prof["tau"] if math.isfinite(t)]
    top = max(finite) if finite else 1.0
    tmax = (top * 1.5 if log else 1.0 + (top - 1.0) * 1.08) if top > 1.0 else 1.01
    for k, p in enumerate(planners):
        sub = prof[prof["planner"] == p]
        x = list(sub["tau"]) + [tmax]
        y = list(sub["rho"]) + [sub["rho"].iloc[-1]]
        ax.step(x, y, where="post", label=p, color=colors[p], **_line(k))
    if log:
        from matplotlib.ticker import ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlim(1.0, tmax)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of instances")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_ecdf(ecdf: pd.DataFrame, planners: Sequence[str], target: float):
    """The distribution of the gap to the best known cost, the target marked.

    Parameters
    ----------
    ecdf : pandas.DataFrame
        As :func:`~qkdbench.library.report_stats.gap_ecdf` returns it.
    planners : sequence of str
    target : float
        The target gap, percent.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    colors = planner_colors(planners)
    finite = ecdf["gap_pct"][np.isfinite(ecdf["gap_pct"])]
    xmax = max(float(finite.max()) if len(finite) else 1.0, target) * 1.1 + 1e-3
    for k, p in enumerate(planners):
        sub = ecdf[ecdf["planner"] == p]
        x = [0.0] + [min(v, xmax) for v in sub["gap_pct"]] + [xmax]
        y = [0.0] + list(sub["share"]) + [sub["share"].iloc[-1] if len(sub) else 0.0]
        ax.step(x, y, where="post", label=p, color=colors[p], **_line(k))
    ax.axvline(target, color="grey", ls="--", lw=1, label=f"target {target:g} %")
    ax.set_xlim(0, xmax)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel("gap to the best known cost (%)")
    ax.set_ylabel("share of instances")
    ax.set_title("Empirical distribution of the gap to the best known cost", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_wtl(wtl: pd.DataFrame, planners: Sequence[str]):
    """The win/tie/loss matrix, coloured by wins minus losses.

    Parameters
    ----------
    wtl : pandas.DataFrame
        As :func:`~qkdbench.library.report_stats.win_tie_loss` returns it.
    planners : sequence of str

    Returns
    -------
    matplotlib.figure.Figure
    """
    planners = list(planners)
    n = len(planners)
    fig, ax = _figure(1.6 + 1.3 * n, 1.2 + 0.8 * n)
    net = np.zeros((n, n))
    for r in wtl.itertuples():
        i, j = planners.index(r.planner), planners.index(r.opponent)
        net[i, j] = r.wins - r.losses
    lim = max(1.0, float(np.abs(net).max()))
    ax.imshow(net, cmap="RdYlGn", vmin=-lim, vmax=lim)
    for r in wtl.itertuples():
        i, j = planners.index(r.planner), planners.index(r.opponent)
        ax.text(j, i, f"{r.wins}/{r.ties}/{r.losses}", ha="center", va="center", fontsize=9)
    for i in range(n):
        ax.text(i, i, "-", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(n), planners, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(n), planners, fontsize=8)
    ax.set_xlabel("opponent")
    ax.set_title("wins / ties / losses (row vs column)", fontsize=10)
    return fig


def draw_gap_time(pts: pd.DataFrame, planners: Sequence[str], target: float):
    """Gap to the best known cost against run time, one point per run.

    Parameters
    ----------
    pts : pandas.DataFrame
        Columns ``planner, runtime_s, gap_to_best_pct``.
    planners : sequence of str
    target : float
        The target gap, percent.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    colors = planner_colors(planners)
    for p in planners:
        sub = pts[(pts["planner"] == p) & np.isfinite(pts["gap_to_best_pct"])]
        ax.scatter(
            sub["runtime_s"].clip(lower=1e-3),
            sub["gap_to_best_pct"],
            label=p,
            color=colors[p],
            s=22,
            alpha=0.8,
        )
    ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:g} %")
    ax.set_xscale("log")
    ax.set_xlabel("run time (s)")
    ax.set_ylabel("gap to the best known cost (%)")
    ax.set_title("Gap against run time (one point per run)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
