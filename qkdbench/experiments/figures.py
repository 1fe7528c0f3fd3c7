"""The paper's Fig. 3, reproduced in shape, plus planner quality against time.

Every cost here comes from :func:`qkdbench.evaluation.evaluate`: a figure
changes a plan and scores it, and never prices anything itself.

Panels (``MODEL.md``, last section):

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

Each panel writes ``NAME.png`` and ``NAME.csv`` (the data behind it) into the
output directory; :func:`make_figures` also writes ``figures.json`` with the
numbers that summarise each panel.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..evaluation import evaluate, newsvendor_reservations
from ..utils.registry import available_planners, get_planner, proves_optimality
from ..model import Instance, Plan, Route
from ..exceptions import InputError
from ..topologies import make_instance
from .compare import compare
from .config import EXACT, FIGURES, PAPER_SAVING_PCT, FigureConfig
from .output import output_directory
from ..evaluation.pricing import arc_table, support_table

__all__ = [
    "FIGURES",
    "PAPER_SAVING_PCT",
    "FigureConfig",
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

# --------------------------------------------------------------------------- reference plan


def reference_plan(instance: Instance, *, time_limit: float | None = None, seed: int = 0,
                   planner: str | None = None) -> tuple[Plan, str]:
    """The plan the figures start from, and its label.

    Parameters
    ----------
    instance : Instance
    time_limit : float, optional
    seed : int
    planner : str, optional
        Use this planner; default ``exact``, or, if no exact planner is
        registered, the cheapest feasible plan of all registered planners.

    Returns
    -------
    plan : Plan
    label : str
        ``"exact SP (optimal)"``, ``"exact SP (feasible, gap 0.12%)"``, or
        ``"best available: NAME (exact planner not registered)"``.

    Raises
    ------
    RuntimeError
        If no planner produced a feasible plan.
    """
    names = [planner] if planner else ([EXACT] if EXACT in available_planners() else None)
    if names:
        plan = get_planner(names[0]).plan(instance, seed=seed, time_limit=time_limit)
        ev = evaluate(instance, plan)
        if not ev.feasible:
            raise RuntimeError(f"planner {names[0]!r} gave an infeasible plan: "
                               f"{(ev.violations or ('no routes',))[0]}")
        if names[0] != EXACT:
            return plan, names[0]
        status = plan.stats.get("status", "")
        gap = plan.stats.get("gap")
        if status == "optimal":
            return plan, "exact SP (optimal)"
        return plan, f"exact SP ({status}, gap {100 * float(gap or math.nan):.2f}%)"
    best: tuple[float, Plan, str] | None = None
    for name in sorted(available_planners()):
        try:
            plan = get_planner(name).plan(instance, seed=seed, time_limit=time_limit)
        except Exception:
            continue
        ev = evaluate(instance, plan)
        if ev.feasible and (best is None or ev.total < best[0]):
            best = (ev.total, plan, name)
    if best is None:
        raise RuntimeError("no registered planner produced a feasible plan")
    return best[1], f"best available: {best[2]} (exact planner not registered)"


# --------------------------------------------------------------------------- fig3a / fig3b


def _max_links(instance: Instance) -> int:
    s = support_table(instance)
    return int(s.links.max()) if s.links.size else 0


def _forced(plan: Plan, kind: str, level: int) -> Plan:
    routes = []
    for r in plan.routes:
        forced = (int(level),) * len(r.reserve_qkd)
        routes.append(Route(r.request_id, r.path,
                            forced if kind == "qkd" else r.reserve_qkd,
                            r.reserve_km if kind == "qkd" else forced))
    return Plan(plan.instance, f"{plan.planner}-forced-{kind}", tuple(routes))


def reservation_sweep(instance: Instance, plan: Plan, kind: str = "qkd",
                      levels: Iterable[int] | None = None, reference: str = "") -> pd.DataFrame:
    """Fig. 3a (``kind="qkd"``) / 3b (``kind="km"``): cost against a forced reservation level.

    Parameters
    ----------
    instance : Instance
    plan : Plan
        Its routes and the other kind's reservations are held fixed.
    kind : {"qkd", "km"}
    levels : iterable of int, optional
        Reservation levels ``L`` (wavelengths per arc of every route). Default:
        QKD ``0, 3, ..., 3 (Pmax + 2)``; KM ``0, 1, ..., Pmax + 2``, where
        ``Pmax`` is the largest number of QKD links any request can need.
    reference : str
        Label of the plan (a column of the result).

    Returns
    -------
    pandas.DataFrame
        ``level, total, first_stage, second_stage, feasible, violations,
        reserved, used, on_demand, reference``: costs from the evaluator;
        ``reserved``/``used``/``on_demand`` are the kind's wavelength totals
        (expected for the last two); ``feasible`` is false where the forced
        level exceeds an arc's reservation capacity (the evaluator still
        prices the plan). ``df.attrs`` holds ``argmin`` (the cheapest level),
        ``newsvendor`` (the median over the plan's (request, arc) pairs of
        the cost-minimising reservation of the pair alone), ``plan_median``
        (median reservation of the plan) and ``mean_need`` (mean expected
        wavelength need per pair).
    """
    if kind not in ("qkd", "km"):
        raise ValueError(f"kind must be 'qkd' or 'km', got {kind!r}")
    pmax = _max_links(instance)
    if levels is None:
        levels = range(0, 3 * (pmax + 2) + 1, 3) if kind == "qkd" else range(0, pmax + 3)
    rows = []
    for L in levels:
        ev = evaluate(instance, _forced(plan, kind, int(L)))
        w = ev.wavelengths
        rows.append({"level": int(L), "total": ev.total, "first_stage": ev.first_stage,
                     "second_stage": ev.second_stage, "feasible": ev.feasible,
                     "violations": len(ev.violations), "reserved": w[f"reserved_{kind}"],
                     "used": w[f"used_{kind}"], "on_demand": w[f"on_demand_{kind}"],
                     "reference": reference})
    df = pd.DataFrame(rows)
    req_idx = instance.request_index
    pairs_r, pairs_a, held = [], [], []
    for r in plan.routes:
        arcs = instance.path_arcs(r.path)
        pairs_r += [req_idx[r.request_id]] * len(arcs)
        pairs_a += arcs
        held += list(r.reserve_qkd if kind == "qkd" else r.reserve_km)
    if pairs_a:
        ny, nz = newsvendor_reservations(instance, np.array(pairs_r), np.array(pairs_a))
        news = float(np.median(ny if kind == "qkd" else nz))
    else:
        news = math.nan
    per = 3.0 if kind == "qkd" else 1.0
    needs = [per * support_table(instance).mean_links[support_table(instance).arc_class[a], f]
             for f, a in zip(pairs_r, pairs_a)] if pairs_a else []
    df.attrs.update(
        kind=kind, argmin=int(df.loc[df["total"].idxmin(), "level"]) if len(df) else None,
        newsvendor=news, plan_median=float(np.median(held)) if held else math.nan,
        mean_need=float(np.mean(needs)) if needs else math.nan,
        plan_total=evaluate(instance, plan).total, reference=reference)
    return df


# --------------------------------------------------------------------------- fig3c


def _capacity_used(instance: Instance, plan: Plan) -> dict[str, float]:
    """Capacity of the arcs the routes use, and how many of them the plan fills."""
    arcs = arc_table(instance)
    ry = np.zeros(arcs.n)
    rz = np.zeros(arcs.n)
    used = np.zeros(arcs.n, dtype=bool)
    for r in plan.routes:
        ids = instance.path_arcs(r.path)
        used[ids] = True
        np.add.at(ry, ids, np.asarray(r.reserve_qkd, dtype=float))
        np.add.at(rz, ids, np.asarray(r.reserve_km, dtype=float))
    return {"arcs_used": int(used.sum()),
            "capacity_qkd": float(arcs.W_qkd[used].sum()),
            "capacity_km": float(arcs.W_kml[used].sum()),
            "full_arcs_qkd": int((used & (ry >= arcs.W_qkd - 1e-9)).sum()),
            "full_arcs_km": int((used & (rz >= arcs.W_kml - 1e-9)).sum())}


def rate_sweep(topology: str | Instance, n_requests: int, rates: Iterable[int], *,
               seed: int = 1, time_limit: float | None = None, planner_seed: int = 0,
               planner: str | None = None,
               progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Fig. 3c: wavelengths of the reference plan against the key-rate requirement ``K``.

    The request pairs are the same for every ``K`` (they depend on ``seed``
    only); the key rates are uniform on ``{0..K}``.

    Returns
    -------
    pandas.DataFrame
        ``max_rate, reference, status, gap_pct, total, reserved_qkd, used_qkd,
        on_demand_qkd, reserved_km, used_km, on_demand_km, arcs_used,
        capacity_qkd, capacity_km, full_arcs_qkd, full_arcs_km``; the
        wavelength totals are the evaluator's (used and on-demand are
        expectations), ``capacity_*`` is the reservation capacity of the arcs
        the routes use and ``full_arcs_*`` how many of them are reserved to
        capacity.
    """
    rows = []
    for K in rates:
        inst = make_instance(topology, n_requests, int(K), seed=seed)
        plan, label = reference_plan(inst, time_limit=time_limit, seed=planner_seed,
                                     planner=planner)
        ev = evaluate(inst, plan)
        gap = plan.stats.get("gap")
        rows.append({"max_rate": int(K), "reference": label,
                     "status": plan.stats.get("status", "heuristic"),
                     "gap_pct": 100 * float(gap) if gap is not None else math.nan,
                     "total": ev.total, **{k: float(v) for k, v in ev.wavelengths.items()},
                     **_capacity_used(inst, plan)})
        if progress:
            progress(f"fig3c K={K}: {label}")
    return pd.DataFrame(rows)


def _rate_label(df: pd.DataFrame) -> str:
    """E.g. ``exact SP, optimal for K <= 40; stopped at the time limit for K = 50 (gap 0.7%)``."""
    refs = df["reference"].astype(str)
    if not refs.map(proves_optimality).all():
        return refs.iloc[-1]
    stopped = df[df["status"] != "optimal"]
    if stopped.empty:
        return "exact SP plans (all optimal)"
    opt = df[df["status"] == "optimal"]["max_rate"]
    head = f"exact SP, optimal for K <= {opt.max()}; " if len(opt) else "exact SP; "
    return head + "time limit hit at " + ", ".join(
        f"K = {r['max_rate']} (gap {r['gap_pct']:.2f}%)" for _, r in stopped.iterrows())


# --------------------------------------------------------------------------- fig3d


def request_sweep(topology: str | Instance, counts: Iterable[int], *, max_rate: int = 10,
                  seeds: Iterable[int] = (1,), time_limit: float | None = None,
                  planner_seed: int = 0, baseline: str = "coqbn",
                  progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Fig. 3d: expected cost against the number of requests, reference plan and baseline.

    Returns
    -------
    pandas.DataFrame
        One row per (requests, seed): ``requests, seed, reference, status,
        sp_total, baseline, baseline_total, saving_pct`` with
        ``saving_pct = 100 (baseline_total - sp_total) / baseline_total``;
        costs from the evaluator.
    """
    rows = []
    for n in counts:
        for s in seeds:
            inst = make_instance(topology, int(n), max_rate, seed=int(s))
            plan, label = reference_plan(inst, time_limit=time_limit, seed=planner_seed)
            sp = evaluate(inst, plan).total
            base = evaluate(inst, get_planner(baseline).plan(
                inst, seed=planner_seed, time_limit=time_limit)).total
            rows.append({"requests": int(n), "seed": int(s), "reference": label,
                         "status": plan.stats.get("status", "heuristic"), "sp_total": sp,
                         "baseline": baseline, "baseline_total": base,
                         "saving_pct": 100.0 * (base - sp) / base if base else math.nan})
            if progress:
                progress(f"fig3d n={n} seed={s}: saving {rows[-1]['saving_pct']:.2f}%")
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- anytime


def anytime_log(plan: Plan) -> pd.DataFrame:
    """A planner's anytime log as a table ``evaluations, seconds, best``.

    Reads ``plan.stats["anytime"]`` (or ``"history"`` / ``"log"``): a list of
    records or a mapping of equal-length lists, with the best cost under one
    of ``best``, ``best_cost``, ``cost``, ``total``, the evaluation count under
    ``evaluations``/``evals``/``n_evals`` and the time under
    ``seconds``/``time_s``/``elapsed``/``t``. Missing columns are ``nan``.

    Raises
    ------
    KeyError
        If the plan carries no anytime log.
    """
    raw = None
    for key in ("anytime", "history", "log"):
        if key in plan.stats:
            raw = plan.stats[key]
            break
    if raw is None:
        raise KeyError(f"plan of {plan.planner!r} has no anytime log in its stats "
                       f"(keys: {', '.join(sorted(plan.stats))})")
    df = pd.DataFrame(raw if not isinstance(raw, Mapping) else dict(raw))
    if df.shape[1] == 3 and all(isinstance(c, int) for c in df.columns):
        df.columns = ["evaluations", "seconds", "best"]
    names = {"evaluations": ("evaluations", "evals", "n_evals", "n_evaluations"),
             "seconds": ("seconds", "time_s", "elapsed", "elapsed_s", "t", "time"),
             "best": ("best", "best_cost", "best_total", "cost", "total")}
    out = pd.DataFrame(index=df.index)
    for col, options in names.items():
        found = next((c for c in options if c in df.columns), None)
        out[col] = pd.to_numeric(df[found], errors="coerce") if found else math.nan
    return out.reset_index(drop=True)


def anytime_runs(instance: Instance, planner: str, variants: Iterable[tuple[str, Any]], *,
                 seed: int = 0, time_limit: float | None = None,
                 log: Callable[[str], None] | None = None
                 ) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Run ``planner`` once per variant and stack the anytime logs.

    Parameters
    ----------
    instance : Instance
    planner : str
    variants : iterable of (label, params)
        ``params``: constructor keywords, a mapping or ``(key, value)`` pairs.
    seed : int
    time_limit : float, optional
    log : callable, optional

    Returns
    -------
    df : pandas.DataFrame
        ``variant, evaluations, seconds, best``.
    finals : dict
        Per variant: ``total`` (the evaluator's cost of the final plan),
        ``first_best``, ``points``, ``stop``, ``evaluations``, ``seconds``; or
        ``error`` if the run failed (a variant the planner does not accept).
    """
    frames, finals = [], {}
    for label, params in variants:
        try:
            plan = get_planner(planner, **dict(params)).plan(instance, seed=seed,
                                                             time_limit=time_limit)
            one = anytime_log(plan)
        except Exception as exc:
            finals[label] = {"error": f"{type(exc).__name__}: {exc}"}
            if log:
                log(f"figure anytime: variant {label!r} failed: {exc}")
            continue
        one.insert(0, "variant", label)
        frames.append(one)
        finals[label] = {"total": evaluate(instance, plan).total,
                         "first_best": float(one["best"].iloc[0]) if len(one) else None,
                         "points": int(len(one)), "stop": plan.stats.get("stop"),
                         "evaluations": plan.stats.get("evaluations"),
                         "seconds": plan.stats.get("runtime_s")}
    cols = ["variant", "evaluations", "seconds", "best"]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return df, finals


# --------------------------------------------------------------------------- plotting


def _figure(ncols: int = 1, width: float = 6.4, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _millions(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:g}"))


def plot_reservation_sweep(df: pd.DataFrame, title: str = ""):
    """Fig. 3a/3b from :func:`reservation_sweep`'s table; returns a matplotlib Figure."""
    kind = df.attrs.get("kind", "qkd")
    fig, (ax,) = _figure()
    feas = df["feasible"].astype(bool)
    for col, label, color in (("total", "total (expected)", "C0"),
                              ("first_stage", "first stage (reservation)", "C1"),
                              ("second_stage", "second stage (expected)", "C2")):
        ax.plot(df["level"], df[col], "-", color=color, label=label)
        ax.plot(df["level"][feas], df[col][feas], "o", color=color, ms=4)
        if (~feas).any():
            ax.plot(df["level"][~feas], df[col][~feas], "o", mfc="white", color=color, ms=4)
    amin = df.attrs.get("argmin")
    if amin is not None:
        ax.axvline(amin, color="0.4", ls="--", lw=1,
                   label=f"minimum at L = {amin} (newsvendor level "
                         f"{df.attrs.get('newsvendor', math.nan):g})")
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


def plot_rate_sweep(df: pd.DataFrame, title: str = ""):
    """Fig. 3c from :func:`rate_sweep`'s table; returns a matplotlib Figure."""
    fig, axes = _figure(2, width=5.2)
    for ax, kind, name in ((axes[0], "qkd", "QKD"), (axes[1], "km", "KM")):
        ax.plot(df["max_rate"], df[f"reserved_{kind}"], "o-", label="reserved")
        ax.plot(df["max_rate"], df[f"used_{kind}"], "s-", ms=4,
                label="reserved and used (expected)")
        ax.plot(df["max_rate"], df[f"on_demand_{kind}"], "^-", label="on demand (expected)")
        ax.plot(df["max_rate"], df[f"capacity_{kind}"], "k--", lw=1,
                label="reservation capacity of the arcs used")
        for _, r in df[df[f"full_arcs_{kind}"] > 0].iterrows():
            ax.annotate(f"{int(r[f'full_arcs_{kind}'])}/{int(r['arcs_used'])}",
                        (r["max_rate"], r[f"reserved_{kind}"]), textcoords="offset points",
                        xytext=(-4, 6), ha="right", fontsize=7, color="C0")
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


def plot_request_sweep(df: pd.DataFrame, title: str = ""):
    """Fig. 3d from :func:`request_sweep`'s table; returns a matplotlib Figure."""
    g = df.groupby("requests").agg(sp=("sp_total", "mean"), base=("baseline_total", "mean"),
                                   saving=("saving_pct", "mean")).reset_index()
    ref = str(df["reference"].iloc[0]) if len(df) else "SP"
    label = "exact SP" if proves_optimality(ref) else ref
    base = str(df["baseline"].iloc[0]) if len(df) else "baseline"
    fig, (ax,) = _figure()
    ax.plot(g["requests"], g["base"], "s-", color="C3",
            label="CO-QBN" if base == "coqbn" else base)
    ax.plot(g["requests"], g["sp"], "o-", color="C0", label=label)
    for _, r in g.iterrows():
        ax.annotate(f"-{r['saving']:.2f}%", (r["requests"], r["sp"]), textcoords="offset points",
                    xytext=(0, -14), ha="center", fontsize=8, color="C0")
    lo, hi = PAPER_SAVING_PCT
    seeds = df["seed"].nunique() if len(df) else 0
    ax.text(0.02, 0.97, f"SP saving here: {g['saving'].min():.2f}%-{g['saving'].max():.2f}%"
            f" (mean over {seeds} seed{'s' if seeds != 1 else ''} per count;\n"
            f"single instances {df['saving_pct'].min():.2f}%-{df['saving_pct'].max():.2f}%)"
            f"\npaper: {lo}%-{hi}%", transform=ax.transAxes, va="top", fontsize=9)
    ax.margins(x=0.08, y=0.1)
    ax.set_xlabel("number of requests")
    ax.set_ylabel("expected deployment cost (millions)")
    _millions(ax)
    ax.set_title(title or "SP against CO-QBN", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_quality(df: pd.DataFrame, title: str = ""):
    """Gap against runtime of each planner (a :func:`~.compare.compare` table)."""
    fig, (ax,) = _figure()
    ok = df[df["gap_pct"].notna() & df["runtime_s"].notna()]
    for k, (_, r) in enumerate(ok.iterrows()):
        ax.plot(max(float(r["runtime_s"]), 1e-4), float(r["gap_pct"]), "o", color=f"C{k % 10}",
                label=f"{r['planner']} ({r['status']})")
    ax.set_xscale("log")
    ax.set_xlabel("runtime (s, log scale)")
    label = df.attrs.get("gap_label", "")
    ax.set_ylabel({"optimum": "gap to the exact optimum (%)",
                   "bound": "gap to the best bound (%)"}.get(label, "gap to the best plan (%)"))
    failed = df[df["gap_pct"].isna()]
    note = ("not shown: " + ", ".join(f"{p} ({s})" for p, s in
                                      zip(failed["planner"], failed["status"]))
            if len(failed) else "")
    ax.set_title(title or "quality against time", fontsize=10)
    if note:
        ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_anytime(df: pd.DataFrame, optimum: float | None = None, title: str = ""):
    """Best cost against seconds and evaluations (:func:`anytime_log` or :func:`anytime_runs`).

    One step curve per value of the ``variant`` column, if there is one.
    """
    fig, axes = _figure(2, width=5.2)
    groups = list(df.groupby("variant", sort=False)) if "variant" in df else [("best so far",
                                                                               df)]
    for ax, col, label in ((axes[0], "seconds", "seconds"),
                           (axes[1], "evaluations", "plans evaluated")):
        for k, (name, g) in enumerate(groups):
            if g[col].notna().any():
                ax.step(g[col], g["best"], where="post", color=f"C{k}", marker="o", ms=3,
                        label=str(name))
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


# --------------------------------------------------------------------------- driver


def _save(fig, out: Path, name: str, df: pd.DataFrame) -> list[Path]:
    png, csv = out / f"{name}.png", out / f"{name}.csv"
    fig.savefig(png, dpi=120)
    df.to_csv(csv, index=False)
    return [png, csv]


def make_figures(names: Sequence[str], out_dir: str | os.PathLike,
                 config: FigureConfig | None = None,
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
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
        JSON data (:func:`json_safe`): ``nan`` and infinities are ``None``,
        NumPy scalars are Python numbers; ``json.dumps(..., allow_nan=False)``
        takes it as it is.

    Raises
    ------
    InputError
        If ``out_dir`` is not a directory and cannot be created as one.
    ValueError
        For an unknown panel name.
    """
    cfg = config or FigureConfig()
    log = log or (lambda msg: None)
    wanted = list(FIGURES) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; known: {', '.join(FIGURES)}, all")
    out = output_directory(out_dir, "-o", "the figures")
    summary: dict[str, Any] = {}
    inst = cfg.instance()
    ref_cache: dict[str, tuple[Plan, str]] = {}

    def ref() -> tuple[Plan, str]:
        if "plan" not in ref_cache:
            ref_cache["plan"] = reference_plan(inst, time_limit=cfg.time_limit,
                                               seed=cfg.planner_seed)
        return ref_cache["plan"]

    compared: dict[str, Any] = {}
    for name in wanted:
        log(f"figure {name} ...")
        if name in ("fig3a", "fig3b"):
            plan, label = ref()
            kind = "qkd" if name == "fig3a" else "km"
            df = reservation_sweep(inst, plan, kind, reference=label)
            other = "KM" if kind == "qkd" else "QKD"
            fig = plot_reservation_sweep(
                df, f"{inst.name}: {'QKD' if kind == 'qkd' else 'KM'} reservation forced to L\n"
                    f"routes and {other} reservations of the {label} plan held")
            a = df.attrs
            lo = df.loc[df["total"].idxmin()]
            summary[name] = {
                "instance": inst.name, "reference": label, "argmin_level": a["argmin"],
                "min_total": float(lo["total"]), "newsvendor_level": a["newsvendor"],
                "plan_median_level": a["plan_median"], "mean_need": a["mean_need"],
                "plan_total": a["plan_total"],
                "total_at_0": float(df["total"].iloc[0]),
                "total_at_max": float(df["total"].iloc[-1]),
                "max_level": int(df["level"].iloc[-1]),
                "first_feasible_violation_level": (int(df.loc[~df["feasible"], "level"].min())
                                                   if (~df["feasible"]).any() else None)}
        elif name == "fig3c":
            df = rate_sweep(cfg.topology, cfg.rate_requests, cfg.rates, seed=cfg.seed,
                            time_limit=cfg.time_limit, planner_seed=cfg.planner_seed,
                            progress=log)
            fig = plot_rate_sweep(df, f"{cfg.topology}, {cfg.rate_requests} requests, "
                                      f"seed {cfg.seed}: {_rate_label(df)}")
            summary[name] = {"topology": cfg.topology, "requests": cfg.rate_requests,
                             "seed": cfg.seed,
                             "rows": df.drop(columns=["reference"]).to_dict(orient="records")}
        elif name == "fig3d":
            df = request_sweep(cfg.topology, cfg.counts, max_rate=cfg.max_rate,
                               seeds=cfg.count_seeds, time_limit=cfg.time_limit,
                               planner_seed=cfg.planner_seed, progress=log)
            fig = plot_request_sweep(df, f"{cfg.topology}, K = {cfg.max_rate}")
            g = df.groupby("requests")["saving_pct"].agg(["mean", "min", "max"])
            summary[name] = {"topology": cfg.topology, "max_rate": cfg.max_rate,
                             "seeds": list(cfg.count_seeds),
                             "reference": str(df["reference"].iloc[0]),
                             "saving_pct_by_requests": {int(k): v for k, v in
                                                        g.to_dict(orient="index").items()},
                             "sp_below_baseline_everywhere":
                                 bool((df["sp_total"] < df["baseline_total"]).all()),
                             "paper_saving_pct": list(PAPER_SAVING_PCT)}
        elif name == "quality":
            if "df" not in compared:
                compared["df"], compared["plans"] = compare(
                    inst, seed=cfg.planner_seed, time_limit=cfg.time_limit, return_plans=True)
            df = compared["df"]
            fig = plot_quality(df, f"{inst.name}: every registered planner")
            summary[name] = {"instance": inst.name, "gap_reference": df.attrs["gap_label"],
                             "rows": df.to_dict(orient="records")}
        else:  # anytime
            if cfg.ga not in available_planners():
                log(f"figure anytime: planner {cfg.ga!r} is not registered; skipped")
                summary[name] = {"skipped": f"planner {cfg.ga!r} not registered"}
                continue
            big = make_instance(cfg.topology, cfg.anytime_requests, cfg.max_rate,
                                seed=cfg.seed)
            df, finals = anytime_runs(big, cfg.ga, cfg.anytime_variants,
                                      seed=cfg.planner_seed, time_limit=cfg.time_limit,
                                      log=log)
            optimum = None
            if EXACT in available_planners():
                plan, label = reference_plan(big, time_limit=cfg.time_limit,
                                             seed=cfg.planner_seed)
                optimum = evaluate(big, plan).total if label == "exact SP (optimal)" else None
            fig = plot_anytime(df, optimum, f"{big.name}: {cfg.ga} anytime curves "
                                            f"(seed {cfg.planner_seed})")
            summary[name] = {"instance": big.name, "planner": cfg.ga, "optimum": optimum,
                             "variants": finals}
        summary[name]["files"] = [str(p) for p in _save(fig, out, name, df)]
        log(f"figure {name}: wrote {out / (name + '.png')}")
    path = out / "figures.json"
    merged: dict[str, Any] = {}
    if path.is_file():
        try:
            merged = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):  # not JSON, not UTF-8: replaced
            merged = {}
        if not isinstance(merged, dict):
            merged = {}
    merged.update(summary)
    merged["config"] = asdict(cfg)
    summary = json_safe(summary)
    try:
        path.write_text(json.dumps(json_safe(merged), indent=1, allow_nan=False) + "\n",
                        encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", "", str(path)) from None
    return summary


def json_safe(obj: Any) -> Any:
    """``obj`` as plain JSON data: non-finite floats become ``None``.

    Mappings become dicts with string keys, tuples and arrays lists, NumPy
    scalars Python numbers and booleans, paths strings; anything else that is
    not JSON is turned into its ``str``.

    Examples
    --------
    >>> json_safe({"a": float("nan"), "b": (np.int64(2), np.float64("inf")), 3: True})
    {'a': None, 'b': [2, None], '3': True}
    """
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return _json_default(obj)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return str(obj)
