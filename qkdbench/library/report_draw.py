"""The figures of ``qkdbench report``, each drawn from the table the report writes as CSV.

Every ``draw_*`` function takes a table of :mod:`qkdbench.library.report_stats`
and returns a :class:`matplotlib.figure.Figure` on the Agg canvas
(:func:`qkdbench.experiments.plotting.new_figure`). Nothing here computes a
statistic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..experiments.plotting import new_figure

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = [
    "plain_number",
    "plain_log_axis",
    "planner_colors",
    "draw_profile",
    "draw_ecdf",
    "draw_wtl",
    "draw_gap_time",
    "draw_cd_diagram",
    "draw_fixed_target",
    "draw_fixed_budget",
]

_DPI = 110.0
_STYLES = ("-", "--", "-.", ":")


def _figure(width: float = 6.4, height: float = 4.2) -> tuple[Figure, Axes]:
    fig, (ax,) = new_figure(width=width, height=height, dpi=_DPI, layout="tight")
    return fig, ax


def plain_number(v: float, digits: int = 4) -> str:
    """A tick label in plain decimals: ``0.001``, ``1.002``, ``20``, ``1,000`` (no powers of 10).

    Parameters
    ----------
    v : float
    digits : int
        Significant digits at most.

    Returns
    -------
    str

    Examples
    --------
    >>> [plain_number(v) for v in (0.001, 1.0, 1.002, 2.5, 20.0, 1000.0, 0.30000000000000004)]
    ['0.001', '1', '1.002', '2.5', '20', '1,000', '0.3']
    """
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    text = np.format_float_positional(
        float(v), precision=digits, unique=True, fractional=False, trim="-"
    )
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}"
    return sign + whole + (f".{frac}" if frac else "")


def plain_log_axis(axis: Axis, lo: float, hi: float) -> None:
    """Label a logarithmic axis in plain decimals, with ticks where they read well.

    Spans under a factor 10 get evenly spaced ticks (as on a linear axis, e.g.
    ``1, 1.5, 2``); spans up to 2.5 powers of 10 ticks at 1, 2 and 5 times the
    powers of 10; wider spans the powers of 10 alone. Minor ticks stay unlabelled.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis``, already on a log scale.
    lo, hi : float
        The shown range (positive).
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    span = hi / max(lo, 1e-300)
    if span < 10.0:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    elif span <= 10**2.5:
        axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    else:
        axis.set_major_locator(LogLocator(base=10.0, subs=(1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: plain_number(v)))
    axis.set_minor_formatter(NullFormatter())


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
) -> Figure:
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
    ax.set_xlim(1.0, tmax)
    if log:
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis, 1.0, tmax)
    else:
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of instances")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_ecdf(ecdf: pd.DataFrame, planners: Sequence[str], target: float) -> Figure:
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


def draw_wtl(wtl: pd.DataFrame, planners: Sequence[str]) -> Figure:
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


def draw_gap_time(pts: pd.DataFrame, planners: Sequence[str], target: float) -> Figure:
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
    shown = pts[np.isfinite(pts["gap_to_best_pct"])]
    for p in planners:
        sub = shown[shown["planner"] == p]
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
    t = shown["runtime_s"].clip(lower=1e-3)
    lo, hi = (float(t.min()), float(t.max())) if len(t) else (1e-3, 1.0)
    ax.set_xlim(lo / 1.5, hi * 1.5)
    plain_log_axis(ax.xaxis, lo / 1.5, hi * 1.5)
    ax.set_xlabel("run time (s)")
    ax.set_ylabel("gap to the best known cost (%)")
    ax.set_title("Gap against run time (one point per run)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def draw_cd_diagram(
    ranks: pd.Series,
    cd: float,
    cliques: Sequence[Sequence[str]],
    *,
    marked: Sequence[str] = (),
    title: str = "",
) -> Figure:
    """A critical-difference diagram (Demsar 2006): average ranks on one axis, the CD bar, cliques.

    Parameters
    ----------
    ranks : pandas.Series
        Average rank per planner (1 best).
    cd : float
        The critical difference, drawn as a bar above the axis.
    cliques : sequence of sequence of str
        Groups joined by a thick bar (planners not told apart).
    marked : sequence of str
        Planners whose label gets a ``*`` (e.g. worse than the best by another test).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    r = ranks.sort_values(kind="stable")
    k = len(r)
    left = [str(p) for p in r.index[: (k + 1) // 2]]
    right = [str(p) for p in r.index[(k + 1) // 2 :]][::-1]
    rows = max(len(left), len(right))
    height = 1.6 + 0.32 * rows + 0.22 * len(cliques)
    fig, ax = _figure(7.2, height)
    lo_x, hi_x = 1.0, float(max(k, 2))
    ax.set_xlim(lo_x - 0.9, hi_x + 0.9)
    gap_y = 0.35 * len(cliques) + 0.3
    ax.set_ylim(-(rows + 0.8) * 0.5 - gap_y, 1.2)
    ax.axis("off")
    ax.hlines(0.0, lo_x, hi_x, color="k", lw=1)
    for t in range(1, int(hi_x) + 1):
        ax.vlines(t, 0.0, 0.12, color="k", lw=1)
        ax.text(t, 0.18, str(t), ha="center", va="bottom", fontsize=9)
    for h in np.arange(1.5, hi_x, 1.0):
        ax.vlines(h, 0.0, 0.06, color="k", lw=0.8)
    # the critical difference, top left
    ax.hlines(0.85, lo_x, lo_x + cd, color="k", lw=1.6)
    for x in (lo_x, lo_x + cd):
        ax.vlines(x, 0.78, 0.92, color="k", lw=1.2)
    ax.text(lo_x + cd / 2, 0.95, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    stars = set(marked)

    def label(p: str) -> str:
        return f"{p} ({r[p]:.2f})" + (" *" if p in stars else "")

    for n, p in enumerate(left):
        y = -gap_y - 0.5 * (n + 1)
        ax.plot([r[p], r[p], lo_x - 0.15], [0.0, y, y], color="k", lw=0.9)
        ax.text(lo_x - 0.2, y, label(p), ha="right", va="center", fontsize=9)
    for n, p in enumerate(right):
        y = -gap_y - 0.5 * (n + 1)
        ax.plot([r[p], r[p], hi_x + 0.15], [0.0, y, y], color="k", lw=0.9)
        ax.text(hi_x + 0.2, y, label(p), ha="left", va="center", fontsize=9)
    for n, group in enumerate(cliques):
        y = -0.25 - 0.35 * n
        xs = [float(r[p]) for p in group]
        ax.hlines(y, min(xs) - 0.06, max(xs) + 0.06, color="0.25", lw=4)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _time_limits(seconds: pd.Series) -> tuple[float, float]:
    t = seconds[np.isfinite(seconds) & (seconds > 0)]
    if not len(t):
        return (1e-3, 1.0)
    lo, hi = float(t.min()), float(t.max())
    return (lo / 1.5, hi * 1.5 if hi > lo else lo * 10)


def draw_fixed_target(
    ecdf: pd.DataFrame, planners: Sequence[str], targets: Sequence[float]
) -> Figure:
    """Fixed-target runtime ECDFs: share of (instance, target) pairs reached against time.

    Parameters
    ----------
    ecdf : pandas.DataFrame
        As :func:`~qkdbench.library.report_anytime.fixed_target_ecdf` returns it.
    planners : sequence of str
    targets : sequence of float
        The target gaps (percent), for the title.

    Returns
    -------
    matplotlib.figure.Figure
        Time on a log axis; a pair reached at 0 s shows from the left edge.
    """
    fig, ax = _figure()
    colors = planner_colors(planners)
    lo, hi = _time_limits(ecdf["seconds"])
    for k, p in enumerate(planners):
        sub = ecdf[ecdf["planner"] == p]
        if not len(sub):
            continue
        x = [lo] + [max(float(t), lo) for t in sub["seconds"].iloc[1:]] + [hi]
        y = [float(sub["share"].iloc[0])] + list(sub["share"].iloc[1:]) + [sub["share"].iloc[-1]]
        ax.step(x, y, where="post", label=p, color=colors[p], **_line(k))
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    plain_log_axis(ax.xaxis, lo, hi)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("share of (instance, target) pairs reached")
    ax.set_title(
        "Fixed-target run time: targets " + ", ".join(f"{t:g}" for t in targets) + " % gap",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_fixed_budget(fb: pd.DataFrame, planners: Sequence[str]) -> Figure:
    """Fixed-budget curves: median gap against time, the interquartile band shaded.

    Parameters
    ----------
    fb : pandas.DataFrame
        As :func:`~qkdbench.library.report_anytime.fixed_budget` returns it.
    planners : sequence of str

    Returns
    -------
    matplotlib.figure.Figure
        Time on a log axis; a curve starts once more than half the runs (the
        band: a quarter, three quarters) have a solution.
    """
    fig, ax = _figure()
    colors = planner_colors(planners)
    lo, hi = _time_limits(fb["seconds"])
    top = 0.0
    for k, p in enumerate(planners):
        sub = fb[(fb["planner"] == p) & (fb["seconds"] > 0)]
        if not len(sub):
            continue
        t = sub["seconds"].to_numpy(dtype=float)
        med = sub["median_gap_pct"].to_numpy(dtype=float)
        q1 = sub["q25_gap_pct"].to_numpy(dtype=float)
        q3 = sub["q75_gap_pct"].to_numpy(dtype=float)
        fin = np.isfinite(q3)
        if fin.any():
            ax.fill_between(t[fin], q1[fin], q3[fin], step="post", color=colors[p], alpha=0.18)
            top = max(top, float(q3[fin].max()))
        fin_m = np.isfinite(med)
        if fin_m.any():
            ax.step(t[fin_m], med[fin_m], where="post", label=p, color=colors[p], **_line(k))
            top = max(top, float(med[fin_m].max()))
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    plain_log_axis(ax.xaxis, lo, hi)
    ax.set_ylim(bottom=-0.02 * max(top, 1.0), top=max(top, 1.0) * 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("gap to the reference cost (%)")
    ax.set_title("Fixed budget: median gap over runs, interquartile band", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return fig
