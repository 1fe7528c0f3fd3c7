"""The paper's Fig. 3, reproduced in shape, plus planner quality against time: the panel table.

Every cost here comes from :func:`qkdbench.evaluation.evaluate`: a figure
changes a plan and scores it, and never prices anything itself.

Panels (``docs/model.md``, last section), each a row of :data:`PANELS`:

``fig3a``
    Routes and KM reservations of the reference plan (the exact SP plan) held
    fixed, the QKD reservation forced to ``L`` wavelengths on every arc of
    every route, ``L`` from 0 to past the largest need: total, first-stage and
    expected second-stage cost against ``L``.
``fig3b``
    The same for the KM reservation (QKD reservations held).
``fig3c``
    The reference plan for each key-rate requirement ``K`` (rates uniform on
    ``{0..K}``, same request pairs): reserved, expected used and expected
    on-demand QKD and KM wavelengths, and the reservation capacity of the
    arcs the routes use.
``fig3d``
    Expected cost against the number of requests, exact SP and CO-QBN, the
    relative saving of SP beside the paper's 7.72%-8.21%.
``quality``
    Gap against runtime of every registered planner on one instance.
``anytime``
    The GA's best cost against evaluations and seconds (its ``plan.stats``
    log), with the exact optimum.

The reference plan is the ``exact`` planner's. If no exact planner is
registered, the cheapest plan of the registered planners stands in and every
figure and CSV says so (``reference`` column / title).

A panel is three functions: its data (:mod:`~qkdbench.experiments.panels`, a
table and the facts the title and summary need), its plot
(:mod:`~qkdbench.experiments.plotting`) and its summary (the numbers that sum it
up). Each panel writes ``NAME.png`` and ``NAME.csv`` (the data behind it) into
the output directory; :func:`make_figures` also writes ``figures.json`` with
every panel's summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from ..evaluation import evaluate
from ..exceptions import InputError, PanelSkipped
from ..model import Instance, Plan
from ..topologies import make_instance
from ..utils.files import read_json, write_json
from ..utils.jsonsafe import json_safe
from ..utils.registry import available_planners
from ..utils.statuses import OPTIMAL
from .compare import compare
from .config import EXACT, FIGURES, PAPER_SAVING_PCT, FigureConfig
from .output import output_directory
from .panels import (
    EXACT_LABEL,
    anytime_log,
    anytime_runs,
    is_exact_reference,
    rate_sweep,
    reference_plan,
    request_sweep,
    reservation_sweep,
)
from .plotting import (
    plot_anytime,
    plot_quality,
    plot_rate_sweep,
    plot_request_sweep,
    plot_reservation_sweep,
)

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "PAPER_SAVING_PCT",
    "FigureConfig",
    "PanelData",
    "Panel",
    "PanelSkipped",
    "PANELS",
    "reference_plan",
    "reservation_sweep",
    "rate_sweep",
    "request_sweep",
    "anytime_log",
    "anytime_runs",
    "plot_reservation_sweep",
    "plot_rate_sweep",
    "plot_request_sweep",
    "plot_quality",
    "plot_anytime",
    "make_figures",
    "json_safe",
]


@dataclass
class _Figures:
    """What the panels of one :func:`make_figures` call share: config, instance, reference plan."""

    config: FigureConfig
    log: Callable[[str], None]
    instance: Instance
    _reference: tuple[Plan, str] | None = field(default=None, repr=False)

    def reference(self) -> tuple[Plan, str]:
        """The reference plan of :attr:`instance` and its label (computed once)."""
        if self._reference is None:
            self._reference = reference_plan(
                self.instance, time_limit=self.config.time_limit, seed=self.config.planner_seed
            )
        return self._reference


class PanelData(NamedTuple):
    """A panel's data: the table written as ``NAME.csv`` and what its title and summary need."""

    table: pd.DataFrame
    facts: dict[str, Any]


class Panel(NamedTuple):
    """A row of :data:`PANELS`: how to compute, draw and sum up one panel."""

    data: Callable[[_Figures], PanelData]
    plot: Callable[[PanelData, _Figures], Figure]
    summary: Callable[[PanelData, _Figures], dict[str, Any]]


# --------------------------------------------------------------------------- fig3a / fig3b


def _reservation_data(figures: _Figures, kind: str) -> PanelData:
    plan, label = figures.reference()
    table = reservation_sweep(figures.instance, plan, kind, reference=label)
    return PanelData(table, {"kind": kind, "reference": label})


def _reservation_plot(data: PanelData, figures: _Figures) -> Figure:
    kind, label = data.facts["kind"], data.facts["reference"]
    what, other = ("QKD", "KM") if kind == "qkd" else ("KM", "QKD")
    return plot_reservation_sweep(
        data.table,
        f"{figures.instance.name}: {what} reservation forced to L\n"
        f"routes and {other} reservations of the {label} plan held",
    )


def _reservation_summary(data: PanelData, figures: _Figures) -> dict[str, Any]:
    table, attrs = data.table, data.table.attrs
    cheapest = table.loc[table["total"].idxmin()]
    over_capacity = ~table["feasible"]
    return {
        "instance": figures.instance.name,
        "reference": data.facts["reference"],
        "argmin_level": attrs["argmin"],
        "min_total": float(cheapest["total"]),
        "newsvendor_level": attrs["newsvendor"],
        "plan_median_level": attrs["plan_median"],
        "mean_need": attrs["mean_need"],
        "plan_total": attrs["plan_total"],
        "total_at_0": float(table["total"].iloc[0]),
        "total_at_max": float(table["total"].iloc[-1]),
        "max_level": int(table["level"].iloc[-1]),
        "first_feasible_violation_level": (
            int(table.loc[over_capacity, "level"].min()) if over_capacity.any() else None
        ),
    }


# --------------------------------------------------------------------------- fig3c


def _rate_data(figures: _Figures) -> PanelData:
    cfg = figures.config
    return PanelData(
        rate_sweep(
            cfg.topology,
            cfg.rate_requests,
            cfg.rates,
            seed=cfg.seed,
            time_limit=cfg.time_limit,
            planner_seed=cfg.planner_seed,
            progress=figures.log,
        ),
        {},
    )


def _rate_label(table: pd.DataFrame) -> str:
    """E.g. ``exact SP, optimal for K <= 40; time limit hit at K = 50 (gap 0.70%)``."""
    references = table["reference"].astype(str)
    if not references.map(is_exact_reference).all():
        return references.iloc[-1]
    stopped = table[table["status"] != OPTIMAL]
    if stopped.empty:
        return f"{EXACT_LABEL} plans (all optimal)"
    optimal_rates = table[table["status"] == OPTIMAL]["max_rate"]
    head = (
        f"{EXACT_LABEL}, optimal for K <= {optimal_rates.max()}; "
        if len(optimal_rates)
        else f"{EXACT_LABEL}; "
    )
    return (
        head
        + "time limit hit at "
        + ", ".join(f"K = {r['max_rate']} (gap {r['gap_pct']:.2f}%)" for _, r in stopped.iterrows())
    )


def _rate_plot(data: PanelData, figures: _Figures) -> Figure:
    cfg = figures.config
    return plot_rate_sweep(
        data.table,
        f"{cfg.topology}, {cfg.rate_requests} requests, seed {cfg.seed}: {_rate_label(data.table)}",
    )


def _rate_summary(data: PanelData, figures: _Figures) -> dict[str, Any]:
    cfg = figures.config
    return {
        "topology": cfg.topology,
        "requests": cfg.rate_requests,
        "seed": cfg.seed,
        "rows": data.table.drop(columns=["reference"]).to_dict(orient="records"),
    }


# --------------------------------------------------------------------------- fig3d


def _request_data(figures: _Figures) -> PanelData:
    cfg = figures.config
    return PanelData(
        request_sweep(
            cfg.topology,
            cfg.counts,
            max_rate=cfg.max_rate,
            seeds=cfg.count_seeds,
            time_limit=cfg.time_limit,
            planner_seed=cfg.planner_seed,
            progress=figures.log,
        ),
        {},
    )


def _request_plot(data: PanelData, figures: _Figures) -> Figure:
    cfg = figures.config
    return plot_request_sweep(data.table, f"{cfg.topology}, K = {cfg.max_rate}")


def _request_summary(data: PanelData, figures: _Figures) -> dict[str, Any]:
    cfg, table = figures.config, data.table
    savings = table.groupby("requests")["saving_pct"].agg(["mean", "min", "max"])
    return {
        "topology": cfg.topology,
        "max_rate": cfg.max_rate,
        "seeds": list(cfg.count_seeds),
        "reference": str(table["reference"].iloc[0]),
        "saving_pct_by_requests": {int(k): v for k, v in savings.to_dict(orient="index").items()},
        "sp_below_baseline_everywhere": bool((table["sp_total"] < table["baseline_total"]).all()),
        "paper_saving_pct": list(PAPER_SAVING_PCT),
    }


# --------------------------------------------------------------------------- quality


def _quality_data(figures: _Figures) -> PanelData:
    cfg = figures.config
    return PanelData(
        compare(figures.instance, seed=cfg.planner_seed, time_limit=cfg.time_limit), {}
    )


def _quality_plot(data: PanelData, figures: _Figures) -> Figure:
    return plot_quality(data.table, f"{figures.instance.name}: every registered planner")


def _quality_summary(data: PanelData, figures: _Figures) -> dict[str, Any]:
    return {
        "instance": figures.instance.name,
        "gap_reference": data.table.attrs["gap_label"],
        "rows": data.table.to_dict(orient="records"),
    }


# --------------------------------------------------------------------------- anytime


def _anytime_data(figures: _Figures) -> PanelData:
    cfg = figures.config
    if cfg.ga not in available_planners():
        raise PanelSkipped(f"planner {cfg.ga!r} not registered")
    big = make_instance(cfg.topology, cfg.anytime_requests, cfg.max_rate, seed=cfg.seed)
    table, finals = anytime_runs(
        big,
        cfg.ga,
        cfg.anytime_variants,
        seed=cfg.planner_seed,
        time_limit=cfg.time_limit,
        log=figures.log,
    )
    optimum = None
    if EXACT in available_planners():
        plan, label = reference_plan(big, time_limit=cfg.time_limit, seed=cfg.planner_seed)
        optimum = evaluate(big, plan).total if label == f"{EXACT_LABEL} ({OPTIMAL})" else None
    return PanelData(table, {"instance": big.name, "finals": finals, "optimum": optimum})


def _anytime_plot(data: PanelData, figures: _Figures) -> Figure:
    cfg = figures.config
    return plot_anytime(
        data.table,
        data.facts["optimum"],
        f"{data.facts['instance']}: {cfg.ga} anytime curves (seed {cfg.planner_seed})",
    )


def _anytime_summary(data: PanelData, figures: _Figures) -> dict[str, Any]:
    return {
        "instance": data.facts["instance"],
        "planner": figures.config.ga,
        "optimum": data.facts["optimum"],
        "variants": data.facts["finals"],
    }


# --------------------------------------------------------------------------- the table


#: Every panel :func:`make_figures` knows, by name, in the order of :data:`FIGURES`.
PANELS: dict[str, Panel] = {
    "fig3a": Panel(partial(_reservation_data, kind="qkd"), _reservation_plot, _reservation_summary),
    "fig3b": Panel(partial(_reservation_data, kind="km"), _reservation_plot, _reservation_summary),
    "fig3c": Panel(_rate_data, _rate_plot, _rate_summary),
    "fig3d": Panel(_request_data, _request_plot, _request_summary),
    "quality": Panel(_quality_data, _quality_plot, _quality_summary),
    "anytime": Panel(_anytime_data, _anytime_plot, _anytime_summary),
}


def _save(fig: Figure, out: Path, name: str, table: pd.DataFrame) -> list[Path]:
    png, csv = out / f"{name}.png", out / f"{name}.csv"
    fig.savefig(png, dpi=120)
    table.to_csv(csv, index=False)
    return [png, csv]


def _write_summary(path: Path, summary: dict[str, Any], config: FigureConfig) -> None:
    """Merge ``summary`` into the JSON file at ``path`` (replacing one that is not JSON)."""
    merged: dict[str, Any] = {}
    if path.is_file():
        try:
            merged = read_json(path)
        except InputError:  # not UTF-8, not JSON: replaced
            merged = {}
        if not isinstance(merged, dict):
            merged = {}
    merged.update(summary)
    merged["config"] = asdict(config)
    write_json(json_safe(merged), path)


def make_figures(
    names: Sequence[str],
    out_dir: str | os.PathLike,
    config: FigureConfig | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Make the named panels (see :data:`FIGURES`; ``"all"`` for every one).

    Parameters
    ----------
    names : sequence of str
    out_dir : path-like
        Created if needed; gets ``NAME.png``, ``NAME.csv`` and ``figures.json``.
    config : FigureConfig, optional
    log : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    dict
        Per panel, the numbers that summarise it (also written, merged with
        any earlier panels, to ``figures.json``) and the files written. Plain
        JSON data (:func:`~qkdbench.utils.jsonsafe.json_safe`): ``nan`` and
        infinities are ``None``, NumPy scalars are Python numbers;
        ``json.dumps(..., allow_nan=False)`` takes it as it is.

    Raises
    ------
    InputError
        If ``out_dir`` is not a directory and cannot be created as one, or for an
        unknown panel name.
    """
    cfg = config or FigureConfig()
    log = log or (lambda msg: None)
    wanted = list(FIGURES) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in PANELS]
    if unknown:
        raise InputError(f"unknown figure {unknown[0]!r}; known: {', '.join(FIGURES)}, all")
    out = output_directory(out_dir, "-o", "the figures")
    figures = _Figures(cfg, log, cfg.instance())
    summary: dict[str, Any] = {}
    for name in wanted:
        log(f"figure {name} ...")
        panel = PANELS[name]
        try:
            data = panel.data(figures)
        except PanelSkipped as skipped:
            log(f"figure {name}: {skipped}; skipped")
            summary[name] = {"skipped": str(skipped)}
            continue
        fig = panel.plot(data, figures)
        summary[name] = panel.summary(data, figures)
        summary[name]["files"] = [str(p) for p in _save(fig, out, name, data.table)]
        log(f"figure {name}: wrote {out / (name + '.png')}")
    _write_summary(out / "figures.json", summary, cfg)
    return json_safe(summary)
