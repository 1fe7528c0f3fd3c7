"""``qkdbench report``: performance profiles, gap distributions and win/tie/loss of a bench.

From a bench ``results.csv`` (:mod:`qkdbench.library.bench`), into a directory:

``profile_cost``
    Dolan-More performance profiles of the cost: for each planner, the share of
    instances on which its cost is within a factor ``tau`` of the best cost any
    planner of the table reached (``tau = 1``: its share of wins, ties counting
    as wins for each), and the same against the best known cost of the set
    (``profile_cost_known``). A run that failed or is infeasible has ratio
    infinity.
``profile_time``
    Profiles of the time to reach the target gap (default 1 %) to the best
    known cost: ratio of a planner's run time to the fastest run that reached
    the target on that instance (infinity if it did not reach it).
``ecdf_gap``
    The empirical distribution of each planner's gap to the best known cost.
``wtl``
    Win/tie/loss matrix: row planner against column planner, instance by instance
    (a tie is a cost equal within :data:`TIE_TOL` relative).
``gap_time``
    Gap to the best known cost against run time, one point per run.
``instances``
    Per instance the best known values and every planner's cost and gap.

Each as PNG and CSV (``instances`` as CSV only), plus ``summary.csv``,
``summary.md`` (Markdown) and ``report.html`` (one page, images embedded).
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiments.output import output_directory
from ..utils.statuses import USABLE_STATUSES
from .bench import read_bench_results

__all__ = [
    "TIE_TOL",
    "DEFAULT_TARGET_PCT",
    "cost_matrix",
    "performance_profile",
    "wins",
    "win_tie_loss",
    "summary_table",
    "make_report",
]

#: Relative difference under which two costs tie.
TIE_TOL = 1e-9
#: Target gap to the best known cost (percent) of the time profile.
DEFAULT_TARGET_PCT = 1.0


def _planners(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["planner"]))


def _instances(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["instance"]))


def cost_matrix(df: pd.DataFrame, column: str = "total") -> pd.DataFrame:
    """Instances x planners of ``column`` for usable feasible runs, ``inf`` otherwise.

    Parameters
    ----------
    df : pandas.DataFrame
        Bench rows.
    column : str

    Returns
    -------
    pandas.DataFrame
    """
    ok = df["feasible"] & df["status"].isin(list(USABLE_STATUSES)) & df[column].notna()
    vals = df[column].where(ok, math.inf)
    m = pd.DataFrame({"instance": df["instance"], "planner": df["planner"], "v": vals})
    m = m.drop_duplicates(["instance", "planner"]).pivot(
        index="instance", columns="planner", values="v"
    )
    return m.reindex(index=_instances(df), columns=_planners(df)).fillna(math.inf)


def _ratios(values: pd.DataFrame, base: pd.Series) -> pd.DataFrame:
    """``values / base`` per row; ``inf`` where the value is; 1 where both are 0."""
    out = values.copy()
    for inst in values.index:
        b = base[inst]
        for p in values.columns:
            v = values.at[inst, p]
            if not math.isfinite(v) or not math.isfinite(b):
                out.at[inst, p] = math.inf
            elif b == 0:
                out.at[inst, p] = 1.0 if v == 0 else math.inf
            else:
                out.at[inst, p] = max(v / b, 1.0) if v <= b * (1 + TIE_TOL) else v / b
    return out


def performance_profile(ratios: pd.DataFrame) -> pd.DataFrame:
    """The Dolan-More profile of a ratio table: ``rho_p(tau)`` at every breakpoint.

    Parameters
    ----------
    ratios : pandas.DataFrame
        Instances x planners, each ``>= 1`` or ``inf``.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, tau, rho``: ``rho`` the share of instances with ratio
        ``<= tau``; the first row of each planner is ``tau = 1``.

    Examples
    --------
    >>> r = pd.DataFrame({"a": [1.0, 2.0], "b": [1.5, 1.0]})
    >>> performance_profile(r).values.tolist()
    [['a', 1.0, 0.5], ['a', 2.0, 1.0], ['b', 1.0, 0.5], ['b', 1.5, 1.0]]
    """
    n = len(ratios)
    rows = []
    for p in ratios.columns:
        r = np.sort(ratios[p].to_numpy(dtype=float))
        taus = [1.0] + [t for t in np.unique(r[np.isfinite(r)]) if t > 1.0]
        for t in taus:
            rows.append((p, float(t), float(np.sum(r <= t)) / n if n else math.nan))
    return pd.DataFrame(rows, columns=["planner", "tau", "rho"])


def wins(costs: pd.DataFrame) -> pd.Series:
    """Per planner, the share of instances on which its cost is the lowest (ties count).

    Examples
    --------
    >>> wins(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 3.0]})).to_dict()
    {'a': 1.0, 'b': 0.5}
    """
    best = costs.min(axis=1)
    won = costs.apply(lambda col: np.isfinite(col) & (col <= best * (1 + TIE_TOL)))
    return won.sum(axis=0) / max(len(costs), 1)


def win_tie_loss(costs: pd.DataFrame) -> pd.DataFrame:
    """Pairwise counts: row planner's wins, ties and losses against the column planner.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, opponent, wins, ties, losses`` (a failed run loses to
        any scored run; two failed runs tie).
    """
    rows = []
    for p in costs.columns:
        for q in costs.columns:
            if p == q:
                continue
            w = t = loss = 0
            for a, b in zip(costs[p], costs[q]):
                if a == b or (
                    math.isfinite(a)
                    and math.isfinite(b)
                    and abs(a - b) <= TIE_TOL * max(abs(a), abs(b))
                ):
                    t += 1
                elif a < b:
                    w += 1
                else:
                    loss += 1
            rows.append((p, q, w, t, loss))
    return pd.DataFrame(rows, columns=["planner", "opponent", "wins", "ties", "losses"])


def summary_table(df: pd.DataFrame, target_pct: float = DEFAULT_TARGET_PCT) -> pd.DataFrame:
    """Per planner: runs, feasible runs, share of wins, median and worst gap, time.

    Returns
    -------
    pandas.DataFrame
        Columns ``planner, runs, feasible, wins_pct, at_best_known_pct,
        within_target_pct, median_gap_pct, worst_gap_pct, median_gap_to_bound_pct,
        mean_runtime_s`` (gaps of feasible runs to the best known cost; a planner with
        a failed run has worst gap ``inf``).
    """
    costs = cost_matrix(df)
    gaps = cost_matrix(df, "gap_to_best_pct")
    bgaps = cost_matrix(df, "gap_to_bound_pct")
    share = wins(costs)
    rows = []
    for p in costs.columns:
        mine = df[df["planner"] == p]
        g = gaps[p].to_numpy(dtype=float)
        n = len(g)
        rows.append(
            {
                "planner": p,
                "runs": len(mine),
                "feasible": int(np.isfinite(costs[p]).sum()),
                "wins_pct": 100.0 * share[p],
                "at_best_known_pct": 100.0 * float(np.sum(g <= 100 * TIE_TOL)) / n,
                "within_target_pct": 100.0 * float(np.sum(g <= target_pct)) / n,
                "median_gap_pct": float(np.median(g)),
                "worst_gap_pct": float(np.max(g)),
                "median_gap_to_bound_pct": float(np.median(bgaps[p].to_numpy(dtype=float))),
                "mean_runtime_s": float(mine["runtime_s"].mean()),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- drawing


def _figure(width: float = 6.4, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _colors(planners: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {p: cmap(i % 10) for i, p in enumerate(planners)}


_STYLES = ("-", "--", "-.", ":")


def _draw_profile(
    prof: pd.DataFrame, planners: Sequence[str], xlabel: str, title: str, log: bool = False
):
    fig = _figure()
    ax = fig.add_subplot()
    colors = _colors(planners)
    finite = [float(t) for t in prof["tau"] if math.isfinite(t)]
    top = max(finite) if finite else 1.0
    tmax = (top * 1.5 if log else 1.0 + (top - 1.0) * 1.08) if top > 1.0 else 1.01
    for k, p in enumerate(planners):
        sub = prof[prof["planner"] == p]
        x = list(sub["tau"]) + [tmax]
        y = list(sub["rho"]) + [sub["rho"].iloc[-1]]
        ax.step(
            x, y, where="post", label=p, color=colors[p], ls=_STYLES[k % 4], lw=2.4 - 0.35 * (k % 4)
        )
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
    fig.tight_layout()
    return fig


def _draw_ecdf(ecdf: pd.DataFrame, planners: Sequence[str], target: float):
    fig = _figure()
    ax = fig.add_subplot()
    colors = _colors(planners)
    finite = ecdf["gap_pct"][np.isfinite(ecdf["gap_pct"])]
    xmax = max(float(finite.max()) if len(finite) else 1.0, target) * 1.1 + 1e-3
    for k, p in enumerate(planners):
        sub = ecdf[ecdf["planner"] == p]
        x = [0.0] + [min(v, xmax) for v in sub["gap_pct"]] + [xmax]
        y = [0.0] + list(sub["share"]) + [sub["share"].iloc[-1] if len(sub) else 0.0]
        ax.step(
            x, y, where="post", label=p, color=colors[p], ls=_STYLES[k % 4], lw=2.4 - 0.35 * (k % 4)
        )
    ax.axvline(target, color="grey", ls="--", lw=1, label=f"target {target:g} %")
    ax.set_xlim(0, xmax)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel("gap to the best known cost (%)")
    ax.set_ylabel("share of instances")
    ax.set_title("Empirical distribution of the gap to the best known cost", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def _draw_wtl(wtl: pd.DataFrame, planners: Sequence[str]):
    n = len(planners)
    fig = _figure(1.6 + 1.3 * n, 1.2 + 0.8 * n)
    ax = fig.add_subplot()
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
    fig.tight_layout()
    return fig


def _draw_gap_time(pts: pd.DataFrame, planners: Sequence[str], target: float):
    fig = _figure()
    ax = fig.add_subplot()
    colors = _colors(planners)
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
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the report


def _fmt(v: Any, digits: int = 2) -> str:
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf"
        return f"{v:,.{digits}f}"
    return str(v)


def _markdown_table(df: pd.DataFrame, digits: int = 2) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v, digits) for v in r) + " |")
    return "\n".join(lines)


def _short(df: pd.DataFrame) -> pd.DataFrame:
    """Column names that break into lines in a narrow table head."""
    return df.rename(
        columns=lambda c: c.replace("_pct", " %").replace("_s", " s").replace("_", " ")
    )


def _html_table(df: pd.DataFrame, digits: int = 2) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v, digits))}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1100px;color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.15em;margin-top:28px;
border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;font-size:.82em;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
td{white-space:nowrap}th{vertical-align:bottom}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;flex:1 1 480px}figure img{width:100%;max-width:620px;border:1px solid #eee}
figcaption{font-size:.85em;color:#444}
.scroll{overflow-x:auto}
"""


def make_report(
    results: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    target_pct: float = DEFAULT_TARGET_PCT,
) -> dict[str, Any]:
    """Write the report of a bench results file.

    Parameters
    ----------
    results : path-like
        A bench ``results.csv`` (one set, this qkdbench version).
    out_dir : path-like
        Created if missing.
    target_pct : float
        Target gap (percent) of the time profile.

    Returns
    -------
    dict
        ``set``, ``instances``, ``planners``, ``summary`` (rows of
        :func:`summary_table`) and ``files`` written.

    Raises
    ------
    InputError
        As :func:`qkdbench.library.bench.read_bench_results`; an ``out_dir``
        that is a file.
    """
    set_name, df = read_bench_results(results)
    out = output_directory(out_dir, "-o", "the report")
    planners, instances = _planners(df), _instances(df)
    costs = cost_matrix(df)
    files: list[str] = []

    def save(fig, name: str) -> str:
        path = out / f"{name}.png"
        fig.savefig(path)
        files.append(str(path))
        return str(path)

    def csv(table: pd.DataFrame, name: str) -> None:
        table.to_csv(out / f"{name}.csv", index=False)
        files.append(str(out / f"{name}.csv"))

    best_known = (
        df.drop_duplicates("instance")
        .set_index("instance")["best_cost"]
        .reindex(instances)
        .astype(float)
    )
    prof = performance_profile(_ratios(costs, costs.min(axis=1)))
    base_known = pd.concat([best_known.fillna(math.inf), costs.min(axis=1)], axis=1).min(axis=1)
    prof_known = performance_profile(_ratios(costs, base_known))
    gaps = cost_matrix(df, "gap_to_best_pct")
    times = cost_matrix(df, "runtime_s").where(gaps <= target_pct, math.inf)
    prof_time = performance_profile(_ratios(times, times.min(axis=1)))
    ecdf_rows = []
    for p in planners:
        g = np.sort(gaps[p].to_numpy(dtype=float))
        for k, v in enumerate(g):
            ecdf_rows.append((p, float(v), (k + 1) / len(g)))
    ecdf = pd.DataFrame(ecdf_rows, columns=["planner", "gap_pct", "share"])
    wtl = win_tie_loss(costs)
    pts = df[["instance", "planner", "runtime_s", "gap_to_best_pct", "status"]].copy()
    summary = summary_table(df, target_pct)
    per = (
        df.drop_duplicates("instance")
        .set_index("instance")[["best_cost", "best_status", "best_bound"]]
        .reindex(instances)
    )
    for p in planners:
        per[f"{p} total"] = costs[p].replace(math.inf, math.nan)
        per[f"{p} gap %"] = gaps[p].replace(math.inf, math.nan)
    per = per.reset_index()

    figs = {
        "profile_cost": save(
            _draw_profile(
                prof, planners, "tau: cost / best cost of the planners", "Performance profile: cost"
            ),
            "profile_cost",
        ),
        "profile_cost_known": save(
            _draw_profile(
                prof_known,
                planners,
                "tau: cost / best known cost",
                "Performance profile: cost against the best known",
            ),
            "profile_cost_known",
        ),
        "profile_time": save(
            _draw_profile(
                prof_time,
                planners,
                f"tau: time to reach {target_pct:g} % gap / fastest",
                f"Performance profile: time to a {target_pct:g} % gap",
                log=True,
            ),
            "profile_time",
        ),
        "ecdf_gap": save(_draw_ecdf(ecdf, planners, target_pct), "ecdf_gap"),
        "wtl": save(_draw_wtl(wtl, planners), "wtl"),
        "gap_time": save(_draw_gap_time(pts, planners, target_pct), "gap_time"),
    }
    csv(prof, "profile_cost")
    csv(prof_known, "profile_cost_known")
    csv(prof_time, "profile_time")
    csv(ecdf, "ecdf_gap")
    csv(wtl, "wtl")
    csv(pts, "gap_time")
    csv(per, "instances")
    csv(summary, "summary")

    version = str(df["qkdbench_version"].iloc[0])
    limit = df["time_limit_s"].dropna()
    limit_text = f"{limit.max():g} s per run" if len(limit) else "no time limit"
    head = (
        f"Set `{set_name}`: {len(instances)} instances, planners "
        f"{', '.join(planners)}; qkdbench {version}, {limit_text}. Gaps are to the set's "
        f"best known costs; wins count ties; target gap {target_pct:g} %."
    )
    md = [f"# qkdbench report: set {set_name}", "", head, "", _markdown_table(summary, 3), ""]
    (out / "summary.md").write_text("\n".join(md), encoding="utf-8")
    files.append(str(out / "summary.md"))

    def img(name: str, caption: str) -> str:
        data = base64.b64encode(Path(figs[name]).read_bytes()).decode("ascii")
        return (
            f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>qkdbench report: {html.escape(set_name)}
</title><style>{_CSS}</style></head><body>
<h1>qkdbench report: set {html.escape(set_name)}</h1>
<p class="meta">{html.escape(head.replace("`", ""))}</p>
<h2>Summary</h2><div class="scroll">{_html_table(_short(summary), 3)}</div>
<h2>Performance profiles</h2><div class="grid">
{
        img(
            "profile_cost",
            "Share of instances within a factor tau of the best planner's cost "
            "(at tau = 1: share of wins).",
        )
    }
{img("profile_cost_known", "The same against the set's best known cost.")}
{
        img(
            "profile_time",
            f"Time to reach a {target_pct:g} % gap to the best known cost, "
            "relative to the fastest planner that reached it.",
        )
    }
</div>
<h2>Gaps</h2><div class="grid">
{img("ecdf_gap", "Empirical distribution of each planner's gap to the best known cost.")}
{img("gap_time", "Gap against run time.")}
</div>
<h2>Wins, ties and losses</h2><div class="grid">{
        img(
            "wtl",
            "Row planner against column planner, instance by instance; colour: wins minus losses.",
        )
    }</div>
<h2>Per instance</h2><div class="scroll">{_html_table(per)}</div>
</body></html>
"""
    (out / "report.html").write_text(page, encoding="utf-8")
    files.append(str(out / "report.html"))
    return {
        "set": set_name,
        "instances": len(instances),
        "planners": planners,
        "summary": summary.to_dict(orient="records"),
        "files": files,
    }
