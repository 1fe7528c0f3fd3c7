"""Drawing the figure panels with matplotlib: one function per panel, from the panel's table.

Each ``plot_*`` function takes the :class:`pandas.DataFrame` of a panel
(:mod:`~qkdbench.experiments.panels`, or :func:`~qkdbench.experiments.compare.compare`
for the quality panel) and returns a :class:`matplotlib.figure.Figure` drawn on
the Agg canvas (no display needed). Nothing here computes a cost.

:func:`new_figure` is the one figure factory of the package: the report of a
bench (:mod:`qkdbench.library.report_draw`) draws on it too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import pandas as pd

from .config import PAPER_SAVING_PCT
from .panels import EXACT_LABEL, is_exact_reference

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "new_figure",
    "plot_reservation_sweep",
    "plot_rate_sweep",
    "plot_request_sweep",
    "plot_quality",
    "plot_anytime",
]


def new_figure(
    ncols: int = 1,
    width: float = 6.4,
    height: float = 4.2,
    *,
    dpi: float = 100.0,
    layout: Literal["constrained", "tight"] | None = "constrained",
) -> tuple[Figure, list[Axes]]:
    """A figure of ``ncols`` axes side by side on the Agg canvas (no display needed).

    Parameters
    ----------
    ncols : int
        Axes in one row; ``0`` for a figure without axes.
    width, height : float
        Size of each axes' share of the figure, inches.
    dpi : float
        Resolution of the saved PNG.
    layout : {"constrained", "tight"} or None
        Matplotlib's layout engine.

    Returns
    -------
    (matplotlib.figure.Figure, list of matplotlib.axes.Axes)

    Examples
    --------
    >>> fig, (ax,) = new_figure(width=4, height=3)
    >>> [float(v) for v in fig.get_size_inches()], fig.dpi
    ([4.0, 3.0], 100.0)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * max(ncols, 1), height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _millions(ax: Axes) -> None:
    """Label ``ax``'s y axis in millions."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:g}"))


def plot_reservation_sweep(df: pd.DataFrame, title: str = "") -> Figure:
    """Fig. 3a/3b: cost against the forced reservation level, the cheapest level marked.

    Parameters
    ----------
    df : pandas.DataFrame
        As :func:`~qkdbench.experiments.panels.reservation_sweep` returns it.
    title : str
        Axes title; default ``"QKD (or KM) reservation forced to L"``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: total, first-stage and second-stage cost, hollow markers
        where the level exceeds an arc's capacity.
    """
    kind = df.attrs.get("kind", "qkd")
    fig, (ax,) = new_figure()
    feas = df["feasible"].astype(bool)
    for col, label, color in (
        ("total", "total (expected)", "C0"),
        ("first_stage", "first stage (reservation)", "C1"),
        ("second_stage", "second stage (expected)", "C2"),
    ):
        ax.plot(df["level"], df[col], "-", color=color, label=label)
        ax.plot(df["level"][feas], df[col][feas], "o", color=color, ms=4)
        if (~feas).any():
            ax.plot(df["level"][~feas], df[col][~feas], "o", mfc="white", color=color, ms=4)
    amin = df.attrs.get("argmin")
    if amin is not None:
        ax.axvline(
            amin,
            color="0.4",
            ls="--",
            lw=1,
            label=f"minimum at L = {amin} (newsvendor level "
            f"{df.attrs.get('newsvendor', math.nan):g})",
        )
    if (~feas).any():
        ax.plot([], [], "o", mfc="white", color="0.3", label="over an arc's capacity")
    what = "QKD" if kind == "qkd" else "KM"
    ax.set_xlabel(f"{what} wavelengths reserved on every arc of every route (L)")
    ax.set_ylabel("cost (millions)")
    _millions(ax)
    ax.set_title(title or f"{what} reservation forced to L", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_rate_sweep(df: pd.DataFrame, title: str = "") -> Figure:
    """Fig. 3c: reserved, used and on-demand wavelengths against ``K``, QKD and KM side by side.

    Parameters
    ----------
    df : pandas.DataFrame
        As :func:`~qkdbench.experiments.panels.rate_sweep` returns it.
    title : str
        Figure title (none by default).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes, QKD then KM, each with the capacity of the arcs used.
    """
    fig, axes = new_figure(2, width=5.2)
    for ax, kind, name in ((axes[0], "qkd", "QKD"), (axes[1], "km", "KM")):
        ax.plot(df["max_rate"], df[f"reserved_{kind}"], "o-", label="reserved")
        ax.plot(
            df["max_rate"], df[f"used_{kind}"], "s-", ms=4, label="reserved and used (expected)"
        )
        ax.plot(df["max_rate"], df[f"on_demand_{kind}"], "^-", label="on demand (expected)")
        ax.plot(
            df["max_rate"],
            df[f"capacity_{kind}"],
            "k--",
            lw=1,
            label="reservation capacity of the arcs used",
        )
        for _, r in df[df[f"full_arcs_{kind}"] > 0].iterrows():
            ax.annotate(
                f"{int(r[f'full_arcs_{kind}'])}/{int(r['arcs_used'])}",
                (r["max_rate"], r[f"reserved_{kind}"]),
                textcoords="offset points",
                xytext=(-4, 6),
                ha="right",
                fontsize=7,
                color="C0",
            )
        if (df[f"full_arcs_{kind}"] > 0).any():
            ax.plot([], [], " ", label="n/m: arcs reserved to capacity / arcs used")
        ax.set_xlabel("key-rate requirement K (kbps; rates uniform on {0..K})")
        ax.set_ylabel(f"{name} wavelengths (sum over arcs)")
        ax.set_title(f"{name} wavelengths")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_request_sweep(df: pd.DataFrame, title: str = "") -> Figure:
    """Fig. 3d: expected cost against requests, reference and baseline, savings annotated.

    Parameters
    ----------
    df : pandas.DataFrame
        As :func:`~qkdbench.experiments.panels.request_sweep` returns it.
    title : str
        Axes title; default ``"SP against CO-QBN"``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, the saving here and the paper's written in its corner.
    """
    g = (
        df.groupby("requests")
        .agg(
            sp=("sp_total", "mean"), base=("baseline_total", "mean"), saving=("saving_pct", "mean")
        )
        .reset_index()
    )
    ref = str(df["reference"].iloc[0]) if len(df) else "SP"
    label = EXACT_LABEL if is_exact_reference(ref) else ref
    base = str(df["baseline"].iloc[0]) if len(df) else "baseline"
    fig, (ax,) = new_figure()
    ax.plot(g["requests"], g["base"], "s-", color="C3", label="CO-QBN" if base == "coqbn" else base)
    ax.plot(g["requests"], g["sp"], "o-", color="C0", label=label)
    for _, r in g.iterrows():
        ax.annotate(
            f"-{r['saving']:.2f}%",
            (r["requests"], r["sp"]),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8,
            color="C0",
        )
    lo, hi = PAPER_SAVING_PCT
    seeds = df["seed"].nunique() if len(df) else 0
    ax.text(
        0.02,
        0.97,
        f"SP saving here: {g['saving'].min():.2f}%-{g['saving'].max():.2f}%"
        f" (mean over {seeds} seed{'s' if seeds != 1 else ''} per count;\n"
        f"single instances {df['saving_pct'].min():.2f}%-{df['saving_pct'].max():.2f}%)"
        f"\npaper: {lo}%-{hi}%",
        transform=ax.transAxes,
        va="top",
        fontsize=9,
    )
    ax.margins(x=0.08, y=0.1)
    ax.set_xlabel("number of requests")
    ax.set_ylabel("expected deployment cost (millions)")
    _millions(ax)
    ax.set_title(title or "SP against CO-QBN", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_quality(df: pd.DataFrame, title: str = "") -> Figure:
    """Gap against runtime of each planner; planners without a gap are listed, not drawn.

    Parameters
    ----------
    df : pandas.DataFrame
        As :func:`~qkdbench.experiments.compare.compare` returns it.
    title : str
        Axes title; default ``"quality against time"``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, runtime on a log scale.
    """
    fig, (ax,) = new_figure()
    ok = df[df["gap_pct"].notna() & df["runtime_s"].notna()]
    for k, (_, r) in enumerate(ok.iterrows()):
        ax.plot(
            max(float(r["runtime_s"]), 1e-4),
            float(r["gap_pct"]),
            "o",
            color=f"C{k % 10}",
            label=f"{r['planner']} ({r['status']})",
        )
    ax.set_xscale("log")
    ax.set_xlabel("runtime (s, log scale)")
    label = df.attrs.get("gap_label", "")
    ax.set_ylabel(
        {"optimum": "gap to the exact optimum (%)", "bound": "gap to the best bound (%)"}.get(
            label, "gap to the best plan (%)"
        )
    )
    failed = df[df["gap_pct"].isna()]
    note = (
        "not shown: "
        + ", ".join(f"{p} ({s})" for p, s in zip(failed["planner"], failed["status"], strict=True))
        if len(failed)
        else ""
    )
    ax.set_title(title or "quality against time", fontsize=10)
    if note:
        ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_anytime(df: pd.DataFrame, optimum: float | None = None, title: str = "") -> Figure:
    """Best cost against seconds and evaluations: one step curve per ``variant``, if any.

    Parameters
    ----------
    df : pandas.DataFrame
        As :func:`~qkdbench.experiments.panels.anytime_log` or
        :func:`~qkdbench.experiments.panels.anytime_runs` returns it.
    optimum : float, optional
        Drawn as a dashed line when finite.
    title : str
        Title of the figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(2, width=5.2)
    groups = list(df.groupby("variant", sort=False)) if "variant" in df else [("best so far", df)]
    for ax, col, label in (
        (axes[0], "seconds", "seconds"),
        (axes[1], "evaluations", "plans evaluated"),
    ):
        for k, (name, g) in enumerate(groups):
            if g[col].notna().any():
                ax.step(
                    g[col],
                    g["best"],
                    where="post",
                    color=f"C{k}",
                    marker="o",
                    ms=3,
                    label=str(name),
                )
        if optimum is not None and math.isfinite(optimum):
            ax.axhline(optimum, color="k", ls="--", lw=1, label="exact optimum")
        ax.set_xlabel(label)
        ax.set_xscale("symlog", linthresh=1.0 if col == "seconds" else 10.0)
        ax.set_xlim(left=0)
        ax.set_ylabel("best expected cost so far (millions)")
        _millions(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or "anytime curve", fontsize=10)
    return fig
