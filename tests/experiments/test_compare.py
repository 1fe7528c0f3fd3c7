"""``compare``: every planner scored by the evaluator, gaps and references, failures, limits."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from qkdbench.evaluation import evaluate
from qkdbench.experiments.compare import (
    DEFAULT_TIME_LIMIT,
    MIN_TIME_LIMIT,
    compare,
    format_table,
    planner_order,
)
from qkdbench.experiments.gaps import GapReference, add_gaps, gap_reference
from qkdbench.experiments.provenance import instance_hash
from qkdbench.experiments.runs import run_planner
from qkdbench.heuristics import get_planner
from qkdbench.model import Instance, Plan, Route
from qkdbench.topologies import make_instance
from qkdbench.utils.registry import register_planner, unregister_planner

#: What the ``planners`` fixture yields: register ``name`` planning with ``plan_fn``.
AddPlanner = Callable[[str, Callable[..., Plan]], str]


@pytest.fixture(scope="module")
def inst() -> Instance:
    return make_instance("nsfnet", 5, 3, seed=2)


@pytest.fixture
def planners() -> Iterator[AddPlanner]:
    """Register run-time planners for one test; all removed afterwards."""
    names = []

    def add(name: str, plan_fn: Callable[..., Plan]) -> str:
        cls = type(
            f"P_{name.replace('-', '_')}",
            (),
            {
                "__doc__": f"test planner {name}",
                "name": name,
                "plan": lambda self, instance, *, seed=None, time_limit=None: plan_fn(
                    instance, seed=seed, time_limit=time_limit
                ),
            },
        )
        register_planner(name, origin="tests")(cls)
        names.append(name)
        return name

    yield add
    for n in names:
        unregister_planner(n)


def coqbn_plan(instance: Instance, **kw: object) -> Plan:
    return get_planner("coqbn").plan(instance)


def test_costs_come_from_the_evaluator_and_gaps_from_the_optimum(inst: Instance) -> None:
    df, plans = compare(inst, planners=["coqbn", "exact"], return_plans=True)
    assert list(df["planner"]) == ["exact", "coqbn"]
    assert df.attrs["gap_label"] == "optimum"
    assert df.attrs["gap_source"] == "exact"
    for _, r in df.iterrows():
        ev = evaluate(inst, plans[r["planner"]])
        assert r["total"] == ev.total
        assert r["first_stage"] == ev.first_stage
        assert r["second_stage"] == ev.second_stage
        assert bool(r["feasible"])
    opt = df.loc[0, "total"]
    assert df.attrs["gap_reference"] == opt
    assert df.loc[0, "gap_pct"] == 0.0
    assert df.loc[0, "status"] == "optimal"
    assert df.loc[1, "gap_pct"] == pytest.approx(100 * (df.loc[1, "total"] - opt) / opt)
    assert df.loc[1, "gap_pct"] > 0  # CO-QBN is not optimal on this instance
    assert (df["gap_ref"] == "optimum").all()


def test_a_planner_that_raises_is_an_error_row_and_the_rest_go_on(
    inst: Instance, faulty_planners: ModuleType
) -> None:
    df = compare(inst, planners=["test-fail", "coqbn", "exact"])
    row = df.set_index("planner").loc["test-fail"]
    assert row["status"] == "error"
    assert row["error"] == "RuntimeError: deliberate failure"
    assert math.isnan(row["total"])
    assert math.isnan(row["gap_pct"])
    assert set(df[df["planner"] != "test-fail"]["status"]) == {"optimal", "heuristic"}
    text = format_table(df, title=inst.name)
    assert "test-fail: error: RuntimeError: deliberate failure" in text
    assert text.splitlines()[0] == inst.name


def test_without_an_exact_planner_the_gap_is_to_the_best_plan_and_says_so(
    inst: Instance, planners: AddPlanner
) -> None:
    planners("test-mean", lambda i, **kw: get_planner("coqbn", level="mean").plan(i))
    planners("test-max", lambda i, **kw: get_planner("coqbn", level="max").plan(i))
    df = compare(inst, planners=["test-mean", "test-max"])
    assert df.attrs["gap_label"] == "best found"
    assert sorted(df["gap_pct"])[0] == 0.0
    assert sorted(df["gap_pct"])[1] > 0
    text = format_table(df)
    assert "gap to best %" in text
    assert "proves nothing" in text


def test_a_bound_without_optimality_is_the_labelled_reference(
    inst: Instance, planners: AddPlanner
) -> None:
    def stopped_early(i: Instance, **kw: object) -> Plan:
        plan = coqbn_plan(i)
        total = evaluate(i, plan).total
        return plan.with_stats(status="feasible", bound=0.9 * total, gap=0.1)

    planners("test-stopped", stopped_early)
    df = compare(inst, planners=["test-stopped", "coqbn"])
    assert df.attrs["gap_label"] == "bound"
    r = df.set_index("planner").loc["test-stopped"]
    assert r["status"] == "feasible"
    assert r["gap_pct"] == pytest.approx(100 * (1 / 0.9 - 1))
    assert "gap to bound %" in format_table(df)


def test_an_infeasible_plan_is_marked_and_names_the_violation(
    inst: Instance, planners: AddPlanner
) -> None:
    def greedy_over_capacity(i: Instance, **kw: object) -> Plan:
        plan = coqbn_plan(i)
        r = plan.routes[0]
        big = (10_000,) * len(r.reserve_qkd)
        return Plan(
            plan.instance_name,
            "test-over",
            (Route(r.request_id, r.path, big, r.reserve_km),) + plan.routes[1:],
        )

    planners("test-over", greedy_over_capacity)
    row = compare(inst, planners=["test-over"]).iloc[0]
    assert row["status"] == "infeasible"
    assert not row["feasible"]
    assert "QKD wavelengths reserved, capacity" in row["error"]
    assert math.isnan(row["gap_pct"])


def test_each_planner_gets_its_share_of_the_budget(inst: Instance, planners: AddPlanner) -> None:
    seen: list[tuple[int | None, float | None]] = []  # (seed, time_limit) per call

    def record(i: Instance, *, seed: int | None = None, time_limit: float | None = None) -> Plan:
        seen.append((seed, time_limit))
        return coqbn_plan(i)

    for k in range(3):
        planners(f"test-rec{k}", record)
    df = compare(
        inst, planners=["test-rec0", "test-rec1", "test-rec2"], seed=7, time_limit=5.0, budget=3.0
    )
    assert [s for s, _ in seen] == [7, 7, 7]
    limits = [t for _, t in seen if t is not None]
    assert len(limits) == len(seen)  # every planner got a time limit
    assert list(df["time_limit_s"]) == limits
    # what is left of 3 s, shared among the planners still to run; at least 1 s each
    assert all(MIN_TIME_LIMIT <= t <= 3.0 / (3 - k) for k, t in enumerate(limits))
    seen.clear()
    compare(inst, planners=["test-rec0"], time_limit=None, budget=None)
    assert seen[0][1] == DEFAULT_TIME_LIMIT


def test_planner_order_puts_exact_first() -> None:
    assert planner_order(["ga", "coqbn", "exact-extensive", "exact", "coqbn"]) == [
        "exact",
        "exact-extensive",
        "coqbn",
        "ga",
    ]


def test_gap_reference_prefers_optimum_then_bound() -> None:
    rows = [
        {
            "planner": "h",
            "status": "heuristic",
            "total": 105.0,
            "bound": math.nan,
            "feasible": True,
        },
        {"planner": "x", "status": "feasible", "total": 103.0, "bound": 95.0, "feasible": True},
    ]
    assert gap_reference(rows).label == "bound"
    assert gap_reference(rows).value == 95.0
    rows.append(
        {"planner": "o", "status": "optimal", "total": 100.0, "bound": 100.0, "feasible": True}
    )
    assert gap_reference(rows).label == "optimum"
    assert gap_reference(rows).value == 100.0
    assert gap_reference(rows[:1], allow_best=False).label == ""


def test_format_table_markdown_and_text(inst: Instance) -> None:
    df = compare(inst, planners=["coqbn", "exact"])
    md = format_table(df, markdown=True, title="T").splitlines()
    assert md[0] == "**T**"
    assert md[2].startswith("| planner | expected cost | first stage |")
    assert sum(line.startswith("| exact ") or line.startswith("| coqbn ") for line in md) == 2
    text = format_table(df).splitlines()
    assert text[0].split()[:3] == ["planner", "expected", "cost"]
    status_col = {text[0].index("status"), text[2].index("optimal"), text[3].index("heuristic")}
    assert len(status_col) == 1  # aligned columns
    assert f"{df.loc[0, 'total']:,.0f}" in text[2]


def test_run_planner_reports_unknown_planner_and_hash_ignores_name(inst: Instance) -> None:
    row = run_planner(inst, "no-such-planner")
    assert row["status"] == "error"
    assert "unknown planner" in row["error"]
    renamed = inst.with_requests(inst.requests, name="other-name")
    assert instance_hash(renamed) == instance_hash(inst)
    assert instance_hash(make_instance("nsfnet", 5, 3, seed=3)) != instance_hash(inst)


# --------------------------------------------------------------------------- claims checked


@pytest.fixture
def liar() -> Iterator[str]:
    """``test-liar``: CO-QBN's plan, reported as optimal with a lower bound of 1e99."""
    from qkdbench.heuristics import register_planner as reg
    from qkdbench.heuristics import unregister_planner as unreg

    @reg("test-liar", origin="tests")
    class Liar:
        """Claims optimality (and an absurd bound) for a heuristic plan."""

        name = "test-liar"

        def plan(
            self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
        ) -> Plan:
            return coqbn_plan(instance).with_stats(status="optimal", bound=1e99, gap=0.0)

    yield "test-liar"
    unreg("test-liar")


def test_a_claimed_optimum_above_a_cheaper_feasible_plan_is_not_the_reference(
    inst: Instance, liar: str
) -> None:
    df = compare(inst, planners=[liar, "saa-greedy"])
    rows = df.set_index("planner")
    best = rows["total"].min()
    assert rows.loc["saa-greedy", "total"] == best < rows.loc[liar, "total"]
    assert df.attrs["gap_label"] == "best found"
    assert df.attrs["gap_reference"] == best
    assert df.attrs["gap_source"].startswith("saa-greedy")
    assert liar in df.attrs["gap_source"]
    assert df.attrs["gap_contradicted"] == [liar]
    assert rows.loc["saa-greedy", "gap_pct"] == 0.0
    assert rows.loc[liar, "gap_pct"] > 0
    assert rows.loc[liar, "status"] == "feasible"
    assert "contradicted" in rows.loc[liar, "error"]
    assert "contradicted" in format_table(df)


def test_an_absurd_bound_is_rejected_even_from_the_cheapest_plan() -> None:
    rows = [
        {
            "planner": "h",
            "status": "heuristic",
            "total": 105.0,
            "bound": math.nan,
            "feasible": True,
        },
        {"planner": "liar", "status": "optimal", "total": 100.0, "bound": 1e99, "feasible": True},
        {"planner": "x", "status": "feasible", "total": 103.0, "bound": 95.0, "feasible": True},
    ]
    ref = gap_reference(rows)
    assert (ref.label, ref.value, ref.contradicted) == ("bound", 95.0, ("liar",))
    assert ref.source.startswith("x ")
    assert "liar" in ref.source
    rows[2]["bound"] = 100.0 * (1 + 1e-12)  # within the tolerance: still a valid bound
    assert gap_reference(rows).value == rows[2]["bound"]
    rows[2]["bound"] = 100.0 * (1 + 1e-6)
    ref = gap_reference(rows)
    assert (ref.label, ref.value, set(ref.contradicted)) == ("best found", 100.0, {"liar", "x"})
    assert gap_reference(rows, allow_best=False).label == ""


@pytest.mark.parametrize("value", [0.0, -5.0, math.inf, math.nan])
def test_a_gap_to_a_reference_that_is_not_positive_and_finite_is_nan(value: float) -> None:
    rows: list[dict[str, Any]] = [
        {"planner": "a", "status": "heuristic", "total": 10.0, "feasible": True, "error": ""}
    ]
    add_gaps(rows, GapReference(value, "bound", "b"))
    assert math.isnan(rows[0]["gap_pct"])
    assert rows[0]["gap_ref"] == ""


def test_best_bound_of_any_source_is_the_reference_and_labelled() -> None:
    from qkdbench.exact.lagrangian import lagrangian_bound
    from qkdbench.experiments.compare import BOUND_ROW, compare
    from qkdbench.model import Params
    from qkdbench.topologies import make_instance

    inst = make_instance("usnet", 30, 10, seed=1, params=Params(W_qkd=45, W_kml=15))
    df = compare(inst, planners=["saa-greedy", "lagrangian"], budget=60, bound_time=2.0)
    rows = df.set_index("planner")
    assert rows.loc["lagrangian", "bound_source"] == "lagrangian"
    assert rows.loc["saa-greedy", "bound_source"] == ""
    assert df.attrs["gap_label"] == "bound"
    best = max(float(rows.loc["lagrangian", "bound"]), df.attrs["lagrangian_bound"])
    assert df.attrs["gap_reference"] == best
    assert "(lagrangian)" in df.attrs["gap_source"]
    assert df.attrs["gap_source"].split(" (")[0] in ("lagrangian", BOUND_ROW)
    # a valid bound: never above any feasible plan, and every gap is non-negative
    assert (df["gap_pct"] >= 0).all()
    assert best <= df["total"].min()
    # the same bound as a standalone run with the same iterations would give is valid too
    assert lagrangian_bound(inst, iterations=5).bound <= df["total"].min()
