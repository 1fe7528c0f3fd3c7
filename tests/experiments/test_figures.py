"""The paper's Fig. 3 in shape, on reduced runs: U-shapes, saturation, SP below CO-QBN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.experiments import figures as F
from qkdbench.experiments.config import FigureConfig
from qkdbench.heuristics import get_planner
from qkdbench.model import Instance, Link, Params, Plan, Route
from qkdbench.topologies import make_instance
from qkdbench.utils import registry as base


@pytest.fixture(scope="module")
def inst() -> Instance:
    return make_instance("nsfnet", 6, 4, seed=1)


@pytest.fixture(scope="module")
def exact_plan(inst: Instance) -> Plan:
    plan, label = F.reference_plan(inst)
    assert label == "exact SP (optimal)"
    return plan


def _convex(y: np.ndarray, scale: float) -> bool:
    return bool((np.diff(y, 2) >= -1e-9 * scale).all())


@pytest.mark.parametrize("kind", ["qkd", "km"])
def test_forced_reservation_is_u_shaped_with_its_minimum_at_the_newsvendor_level(
    inst: Instance, exact_plan: Plan, kind: str
) -> None:
    df = F.reservation_sweep(inst, exact_plan, kind)
    total = df["total"].to_numpy()
    scale = float(total.max())
    step = 3 if kind == "qkd" else 1
    assert list(df["level"]) == list(range(0, step * (4 + 2) + 1, step))
    assert _convex(total, scale)
    amin = int(df.loc[df["total"].idxmin(), "level"])
    assert 0 < amin < df["level"].max()  # a U, not a slope
    assert total[0] > total.min()
    assert total[-1] > total.min()
    # the minimum is where reservations meet demand: the newsvendor level of every
    # (request, arc) pair, which is also the exact plan's reservation
    assert amin == df.attrs["argmin"] == df.attrs["newsvendor"] == df.attrs["plan_median"]
    assert df["total"].min() == pytest.approx(evaluate(inst, exact_plan).total, rel=1e-12)
    # first stage rises, second stage falls (until nothing is left on demand)
    assert (np.diff(df["first_stage"]) > 0).all()
    assert (np.diff(df["second_stage"]) <= 1e-9 * scale).all()
    assert df["on_demand"].iloc[-1] == pytest.approx(0, abs=1e-9)
    assert df["on_demand"].iloc[0] > 0
    assert df["total"].to_numpy() == pytest.approx(
        (df["first_stage"] + df["second_stage"]).to_numpy()
    )


def test_forced_levels_are_scored_by_the_evaluator_and_flag_over_capacity(exact_plan: Plan) -> None:
    inst = make_instance("nsfnet", 6, 4, seed=1, params=Params(W_qkd=20))
    df = F.reservation_sweep(inst, exact_plan, "qkd", levels=[0, 9, 21])
    r = exact_plan.routes
    forced = Plan(
        exact_plan.instance_name,
        "x",
        tuple(Route(x.request_id, x.path, (21,) * len(x.reserve_qkd), x.reserve_km) for x in r),
    )
    ev = evaluate(inst, forced)
    assert df["total"].iloc[-1] == ev.total
    assert not ev.feasible
    assert list(df["feasible"]) == [True, True, False]
    assert df["violations"].iloc[-1] == len(ev.violations) > 0


def test_reserved_wavelengths_saturate_at_the_capacity_then_on_demand_takes_over() -> None:
    line = Instance(
        nodes=(1, 2, 3),
        links=(Link(1, 2, 200.0), Link(2, 3, 200.0)),
        params=Params(W_qkd=12, W_kml=4),
        name="line",
    )
    rates = list(range(0, 13, 2))
    df = F.rate_sweep(line, 4, rates, seed=1)
    assert (df["status"] == "optimal").all()
    assert (np.diff(df["reserved_qkd"]) >= 0).all()
    assert (np.diff(df["reserved_km"]) >= 0).all()
    assert (df["reserved_qkd"] <= df["capacity_qkd"]).all()
    assert (df["reserved_km"] <= df["capacity_km"]).all()
    # small K: below the capacity; large K: every arc used is reserved to capacity
    assert df["reserved_qkd"].iloc[1] < df["capacity_qkd"].iloc[1]
    last = df.iloc[-1]
    assert last["reserved_qkd"] == last["capacity_qkd"]
    assert last["reserved_km"] == last["capacity_km"]
    assert last["full_arcs_qkd"] == last["arcs_used"] == last["full_arcs_km"]
    # once saturated, reserved stays put and on-demand grows with K
    sat = df[df["reserved_qkd"] == df["capacity_qkd"]]
    assert len(sat) >= 2
    assert (np.diff(sat["reserved_qkd"]) == 0).all()
    assert (np.diff(sat["on_demand_qkd"]) > 0).all()
    assert (np.diff(sat["on_demand_km"]) >= 0).all()
    assert last["on_demand_qkd"] > df["on_demand_qkd"].iloc[1]


def test_exact_sp_is_below_coqbn_at_every_request_count() -> None:
    df = F.request_sweep("nsfnet", [3, 6, 9], max_rate=4, seeds=[1, 2])
    assert len(df) == 6
    assert (df["status"] == "optimal").all()
    assert (df["sp_total"] < df["baseline_total"]).all()
    assert (df["saving_pct"] > 0).all()
    row = df.iloc[0]
    inst = make_instance("nsfnet", 3, 4, seed=1)
    assert row["baseline_total"] == evaluate(inst, get_planner("coqbn").plan(inst)).total
    assert row["saving_pct"] == pytest.approx(
        100 * (row["baseline_total"] - row["sp_total"]) / row["baseline_total"]
    )


def test_make_figures_writes_png_csv_and_json(tmp_path: Path) -> None:
    cfg = FigureConfig(
        topology="nsfnet",
        requests=5,
        max_rate=3,
        counts=(3, 5),
        count_seeds=(1,),
        rates=(0, 3),
        rate_requests=4,
        time_limit=30,
    )
    summary = F.make_figures(["fig3a", "fig3b", "fig3d"], tmp_path, cfg)
    for name in ("fig3a", "fig3b", "fig3d"):
        png, csv = tmp_path / f"{name}.png", tmp_path / f"{name}.csv"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(pd.read_csv(csv)) > 1
    data = json.loads((tmp_path / "figures.json").read_text())  # strict JSON (no NaN)
    assert data["fig3a"]["argmin_level"] == data["fig3a"]["newsvendor_level"]
    assert data["fig3d"]["sp_below_baseline_everywhere"] is True
    assert data["fig3d"]["paper_saving_pct"] == [7.72, 8.21]
    assert summary["fig3a"]["reference"] == "exact SP (optimal)"
    with pytest.raises(InputError, match="unknown figure"):
        F.make_figures(["fig9"], tmp_path, cfg)


def test_without_an_exact_planner_the_best_available_plan_stands_in(
    inst: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(base._REGISTRY, "exact")
    plan, label = F.reference_plan(inst)
    assert label.startswith("best available: ")
    assert "exact planner not registered" in label
    df = F.reservation_sweep(inst, plan, "qkd", reference=label)
    assert (df["reference"] == label).all()


def test_quality_plot_and_anytime_log() -> None:
    df = pd.DataFrame(
        {
            "planner": ["a", "b", "c"],
            "gap_pct": [0.0, 2.5, np.nan],
            "runtime_s": [1.0, 0.01, 0.2],
            "status": ["optimal", "heuristic", "error"],
        }
    )
    df.attrs["gap_label"] = "optimum"
    fig = F.plot_quality(df)
    assert len(fig.axes[0].lines) == 2  # the failed planner is listed, not plotted
    log = [
        {"evaluations": 10, "seconds": 0.1, "best": 5.0},
        {"evaluations": 20, "seconds": 0.2, "best": 4.0},
    ]
    plan = Plan("i", "ga", (), stats={"anytime": log})
    a = F.anytime_log(plan)
    assert list(a.columns) == ["evaluations", "seconds", "best"]
    assert list(a["best"]) == [5.0, 4.0]
    b = F.anytime_log(
        Plan(
            "i",
            "ga",
            (),
            stats={"history": {"evals": [1, 2], "time_s": [0.1, 0.3], "best_cost": [3.0, 2.0]}},
        )
    )
    assert list(b["evaluations"]) == [1, 2]
    assert list(b["best"]) == [3.0, 2.0]
    with pytest.raises(KeyError, match="no anytime log"):
        F.anytime_log(Plan("i", "x", ()))
    F.plot_anytime(a, optimum=3.5)


def test_anytime_runs_stack_the_logs_and_report_failed_variants() -> None:
    from qkdbench.heuristics import available_planners

    if "ga" not in available_planners():
        pytest.skip("the GA is not registered")
    inst = make_instance("nsfnet", 6, 4, seed=1)
    df, finals = F.anytime_runs(
        inst, "ga", [("short", {"generations": 5}), ("bad", (("no_such_option", 1),))], seed=1
    )
    assert set(df["variant"]) == {"short"}
    assert "error" in finals["bad"]
    assert (np.diff(df["best"]) <= 0).all()
    assert df["best"].iloc[-1] == pytest.approx(finals["short"]["total"], rel=1e-12)
    fig = F.plot_anytime(df, optimum=float(df["best"].min()))
    assert len(fig.axes) == 2


def test_an_output_path_that_is_a_regular_file_is_an_input_error(tmp_path: Path) -> None:
    from qkdbench.exceptions import InputError

    taken = tmp_path / "taken.png"
    taken.write_text("not a directory\n")
    with pytest.raises(InputError, match="not a directory") as err:
        F.make_figures(["fig3a"], taken, FigureConfig(topology="nsfnet", requests=3))
    assert err.value.source == str(taken)
    assert taken.read_text() == "not a directory\n"
    with pytest.raises(InputError) as err:  # a file on the way
        F.make_figures(["fig3a"], taken / "sub", FigureConfig(topology="nsfnet", requests=3))
    assert err.value.source == str(taken / "sub")


def test_the_returned_summary_is_strict_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Non-finite numbers (CO-QBN has no bound, no gap without a reference) are None."""
    real = F.compare
    monkeypatch.setattr(F, "compare", lambda inst, **kw: real(inst, planners=["coqbn"], **kw))
    (tmp_path / "figures.json").write_bytes(b"\xff not json")  # replaced, not a crash
    cfg = FigureConfig(topology="nsfnet", requests=3, max_rate=2, time_limit=10)
    summary = F.make_figures(["quality"], tmp_path, cfg)
    row = summary["quality"]["rows"][0]
    assert row["planner"] == "coqbn"
    assert row["bound"] is None
    text = json.dumps(summary, allow_nan=False)  # raises on NaN or inf
    assert json.loads(text) == summary
    assert json.loads((tmp_path / "figures.json").read_text())["quality"] == summary["quality"]
    assert F.json_safe(
        {"x": np.float64("nan"), "y": [np.int64(1), np.inf], "z": np.bool_(True)}
    ) == {"x": None, "y": [1, None], "z": True}


def test_the_panel_table_holds_every_figure_in_order() -> None:
    from qkdbench.experiments.config import FIGURES

    assert tuple(F.PANELS) == FIGURES
    assert all(callable(f) for panel in F.PANELS.values() for f in panel)


def test_an_exact_reference_is_called_exact_sp_in_titles_and_legends() -> None:
    fig3d = pd.DataFrame(
        {
            "requests": [3, 3],
            "seed": [1, 2],
            "reference": ["exact SP (optimal)"] * 2,
            "status": ["optimal"] * 2,
            "sp_total": [90.0, 80.0],
            "baseline": ["coqbn"] * 2,
            "baseline_total": [100.0, 100.0],
            "saving_pct": [10.0, 20.0],
        }
    )
    legend = F.plot_request_sweep(fig3d).axes[0].get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["CO-QBN", "exact SP"]
    fig3c = pd.DataFrame(
        {
            "max_rate": [0, 3, 6],
            "reference": ["exact SP (optimal)"] * 2 + ["exact SP (feasible, gap 0.70%)"],
            "status": ["optimal", "optimal", "feasible"],
            "gap_pct": [0.0, 0.0, 0.7],
        }
    )
    assert F._rate_label(fig3c) == (
        "exact SP, optimal for K <= 3; time limit hit at K = 6 (gap 0.70%)"
    )
    assert F._rate_label(fig3c.iloc[:2]) == "exact SP plans (all optimal)"
    stand_in = fig3c.assign(reference="best available: coqbn (exact planner not registered)")
    assert F._rate_label(stand_in) == "best available: coqbn (exact planner not registered)"
