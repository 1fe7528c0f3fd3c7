"""The instance library: set files, solutions files and their acceptance rules, bench, report.

Truth is independent of the code under test: every stored cost is scored again by
the evaluator from its stored plan; ``library solve`` is rerun from an empty file
and must find the shipped optima; the report's numbers are recomputed here from
the results file with the csv module.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.experiments.provenance import instance_hash
from qkdbench.library.report import performance_profile, win_tie_loss, wins
from qkdbench.library.sets import (
    PENDING_SETS,
    SET_TABLE,
    instance_from_recipe,
    load_instance,
    load_set,
    read_set,
    recipe_name,
    set_file,
    set_names,
)
from qkdbench.library.solutions import (
    BOUND_SOURCES,
    OPT_GAP,
    Entry,
    confirm_entry,
    decode_plan,
    propose,
    read_solutions,
)
from qkdbench.model import Plan, Route
from qkdbench.utils.registry import get_planner
from tests.fixture_types import OneLineError, RunCli

SMALL = ["usnet-r10-k10-s1", "usnet-r20-k10-s2", "usnet-r30-k10-s3"]


# --------------------------------------------------------------------------- sets


def test_set_files_are_the_table_and_every_hash_reproduces() -> None:
    assert set_names() == [
        "paper",
        "capacity",
        "design",
        "ntn",
        "large",
        "design-large",
        "coupled",
    ]
    counts = {
        "paper": 18,
        "capacity": 8,
        "design": 11,
        "ntn": 14,
        "large": 4,
        "design-large": 6,
        "coupled": 6,
    }
    for name in set_names():
        libset = load_set(name)
        assert [dict(i.recipe) for i in libset.instances] == SET_TABLE[name]["recipes"]
        assert len(libset.instances) == counts[name]
        for item in libset.instances:
            assert item.name == recipe_name(item.recipe)
            inst = load_instance(item)
            assert inst.name == item.name
            assert instance_hash(inst) == item.hash
            assert inst.n_requests == item.recipe["requests"]
            for key in ("W_qkd", "W_kml"):
                if key in item.recipe:
                    assert getattr(inst.params, key) == item.recipe[key]


def test_paper_set_is_the_papers_grid() -> None:
    recipes = [dict(i.recipe) for i in load_set("paper").instances]
    assert {(r["topology"], r["max_rate"]) for r in recipes} == {("usnet", 10)}
    assert sorted({r["requests"] for r in recipes}) == [10, 20, 30, 40, 50, 60]
    assert sorted({r["seed"] for r in recipes}) == [1, 2, 3]


def test_an_edited_recipe_is_caught_by_its_hash(tmp_path: Path) -> None:
    data = json.loads(set_file("paper").read_text())
    data["instances"][0]["recipe"]["seed"] = 99
    path = tmp_path / "paper.set.json"
    path.write_text(json.dumps(data))
    edited = read_set(path)
    with pytest.raises(InputError, match="hash"):
        load_instance(edited.instances[0], str(path))


def test_unknown_generator_knob_is_refused_and_nothing_is_pending() -> None:
    recipe = {"topology": "nsfnet", "requests": 3, "max_rate": 2, "seed": 1}
    with pytest.raises(InputError, match="'colour'"):
        instance_from_recipe({**recipe, "colour": "red"})
    with pytest.raises(InputError, match="tightness or W_qkd"):
        instance_from_recipe({**recipe, "tightness": 0.5, "W_qkd": 40})
    with pytest.raises(InputError, match=r"recipe\.demand: unknown demand shape"):
        instance_from_recipe({**recipe, "demand": "zipf"})
    with pytest.raises(InputError, match=r"recipe\.hotspots: must be an integer"):
        instance_from_recipe({**recipe, "hotspots": 1.5})
    assert PENDING_SETS == {}
    with pytest.raises(InputError, match="unknown set"):
        load_set("nosuch")


def test_design_set_is_the_generators_family() -> None:
    """Each design instance is the one design_instance builds with the knobs that separate
    the planners (benchmarks/bench_design.py), called directly here."""
    from qkdbench.topologies import design_instance

    libset = load_set("design")
    got = {(i.recipe["topology"], i.recipe["requests"]) for i in libset.instances}
    small = {(t, n) for t in ("usnet", "nsfnet", "cost239") for n in (10, 30, 60)}
    assert got == small | {("sndlib/germany50", 10), ("sndlib/germany50", 30)}
    for item in libset.instances[:4]:
        r = item.recipe
        direct = design_instance(
            r["topology"],
            r["requests"],
            max_rate=10,
            seed=1,
            demand="heavy",
            hotspots=3,
            fixed_charge_factor=10.0,
            tightness=0.5,
            name=item.name,
        )
        assert instance_hash(direct) == item.hash
        assert direct.has_fixed_charges
        assert all(ln.fixed_cost is not None and ln.fixed_cost > 0 for ln in direct.links)


def test_coupled_set_instances_are_coupled_and_read_back(tmp_path: Path, run_cli: RunCli) -> None:
    from qkdbench.io import read_instance
    from qkdbench.library.recipes import SCENARIO_KEYS
    from qkdbench.planning.on_demand import scenario_instance

    libset = load_set("coupled")
    small = 0
    for item in libset.instances:
        r = item.recipe
        inst = load_instance(item)
        assert inst.is_coupled
        assert "coupled" in inst.features
        assert inst.scenarios is not None
        assert inst.scenarios.n == r["scenarios"]
        assert inst.scenarios.recipe == {
            "generator": "gaussian-copula",
            "scenarios": r["scenarios"],
            "correlation": r["correlation"],
            "seed": r["seed"],
            "on_demand_cap": r["on_demand_cap"],
            **({"shortfall_factor": r["shortfall_factor"]} if "shortfall_factor" in r else {}),
        }
        generated = instance_from_recipe({k: v for k, v in r.items() if k not in SCENARIO_KEYS})
        direct = scenario_instance(
            generated,
            r["scenarios"],
            correlation=r["correlation"],
            seed=r["seed"],
            on_demand_cap=r["on_demand_cap"],
            shortfall_factor=r.get("shortfall_factor"),
            name=item.name,
        )
        assert instance_hash(direct) == item.hash  # the generator, called directly
        small += r["requests"] <= 15 and r["scenarios"] <= 30
    assert small >= 4  # for an exact solver of the coupled model
    name = libset.instances[0].name
    out = tmp_path / "c.json"
    run_cli("library", "write", "coupled", name, "-o", out, check=True)
    back = read_instance(out)
    assert back.is_coupled
    assert instance_hash(back) == libset.by_name[name].hash


#: Coupled instances the exact solver proves in about a second.
COUPLED_FAST = ["nsfnet-r5-k10-s1-rho0.5-oc1-sc10", "nsfnet-r10-k10-s2-rho0.7-oc1-sc20-phi2"]


def test_coupled_set_entries_are_what_library_solve_stores(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    """The exact solver's plans over the joint scenarios: rerun the quick ones from scratch."""
    out = tmp_path / "coupled.solu.json"
    refused = run_cli("library", "solve", "coupled", "--solutions", out, "--time-limit", "1")
    one_line_error(refused, "planner 'lagrangian' does not handle a coupled second stage")
    assert not out.exists()  # refused before any solve
    res = run_cli(
        "library",
        "solve",
        "coupled",
        "--instances",
        ",".join(COUPLED_FAST),
        "--methods",
        "coqbn,exact",
        "--time-limit",
        "120",
        "--solutions",
        out,
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["opt"] == len(COUPLED_FAST)
    new, shipped = read_solutions("coupled", out), read_solutions("coupled")
    assert set(shipped.entries) == set(load_set("coupled").by_name)
    for name in COUPLED_FAST:
        assert new.entries[name].status == shipped.entries[name].status == "opt"
        assert new.entries[name].cost == pytest.approx(shipped.entries[name].cost, rel=OPT_GAP)
        assert new.entries[name].planner == "exact"
    from qkdbench.exact import solve_sp
    from qkdbench.planning.on_demand import uncapped

    libset = load_set("coupled")
    for name, e in shipped.entries.items():
        inst = load_instance(libset.by_name[name])
        assert e.planner == "exact"
        assert e.cost is not None
        assert e.bound is not None
        assert e.bound_source in BOUND_SOURCES
        # below CO-QBN's plan (marginals only), above the optimum with the caps lifted
        assert e.cost < evaluate(inst, get_planner("coqbn").plan(inst)).total
        assert solve_sp(uncapped(inst), time_limit=30).bound <= e.cost * (1 + 1e-9)
        if e.status != "opt":
            assert e.gap > OPT_GAP


def test_warm_up_copy_of_a_coupled_instance_keeps_its_scenario_columns() -> None:
    from qkdbench.experiments.runs import warm_up_instance

    inst = load_instance(load_set("coupled").instances[1])
    small = warm_up_instance(inst)
    assert small.n_requests == 3
    assert small.is_coupled
    assert small.scenarios is not None
    assert inst.scenarios is not None
    assert set(small.scenarios.key_rates) == {r.id for r in small.requests}
    for r in small.requests:
        assert small.scenarios.key_rates[r.id] == inst.scenarios.key_rates[r.id]


# --------------------------------------------------------------------------- solutions


@pytest.mark.parametrize(
    "set_name", ["paper", "capacity", "design", "ntn", "large", "design-large", "coupled"]
)
def test_every_stored_cost_is_confirmed_by_the_evaluator(set_name: str) -> None:
    libset = load_set(set_name)
    sol = read_solutions(set_name)
    assert set(sol.entries) <= set(libset.by_name)
    for name, e in sol.entries.items():
        inst = load_instance(libset.by_name[name])
        if e.cost is None:
            assert e.status == "open"
            assert e.plan is None
            continue
        assert e.plan is not None  # a stored cost comes with its plan
        ev = evaluate(inst, decode_plan(e.plan))
        assert ev.feasible
        assert ev.total == pytest.approx(e.cost, rel=1e-9, abs=1e-9)
        assert confirm_entry(inst, e) == pytest.approx(e.cost, rel=1e-9)
        if e.bound is not None:
            assert e.bound <= e.cost * (1 + 1e-9)
            assert e.bound_source in BOUND_SOURCES
        assert (e.status == "opt") == (
            e.bound is not None and (e.cost - e.bound) <= OPT_GAP * abs(e.cost)
        )


def test_paper_and_capacity_are_solved_to_optimality() -> None:
    for name in ("paper", "capacity"):
        sol = read_solutions(name)
        assert len(sol.entries) == len(load_set(name).instances)
        assert all(e.status == "opt" for e in sol.entries.values())


def test_design_has_a_confirmed_cost_and_a_bound_for_every_instance() -> None:
    libset, sol = load_set("design"), read_solutions("design")
    assert set(sol.entries) == set(libset.by_name)
    for name, e in sol.entries.items():
        assert e.cost is not None, name
        assert e.bound is not None, name
        assert e.status in ("opt", "best")
        assert e.bound_source in ("exact", "lagrangian")
        assert confirm_entry(load_instance(libset.by_name[name]), e) == pytest.approx(
            e.cost, rel=1e-9
        )


def test_acceptance_rules_on_hand_made_candidates() -> None:
    inst = instance_from_recipe({"topology": "nsfnet", "requests": 4, "max_rate": 3, "seed": 1})
    h = instance_hash(inst)
    good = get_planner("saa-greedy").plan(inst, seed=0)
    worse = get_planner("coqbn").plan(inst, seed=0)
    c_good, c_worse = evaluate(inst, good).total, evaluate(inst, worse).total
    assert c_good < c_worse
    e, _ = propose(inst, None, h, plan=worse)
    assert (e.status, e.cost, e.planner) == ("best", c_worse, "coqbn")
    e, _ = propose(inst, e, h, plan=good)  # a better plan replaces
    assert e.cost == c_good
    assert e.planner == "saa-greedy"
    e2, notes = propose(inst, e, h, plan=worse)  # a worse one never does
    assert e2.cost == c_good
    assert "not better" in notes[0]
    e3, notes = propose(inst, e, h, bound=c_good * 1.01, bound_source="lagrangian")
    assert e3.bound is None
    assert "above the known cost" in notes[0]  # bound above a cost
    e4, _ = propose(inst, e, h, bound=c_good * 0.9, bound_source="lagrangian")
    assert (e4.status, e4.bound) == ("best", c_good * 0.9)
    e5, _ = propose(inst, e4, h, bound=c_good * 0.8, bound_source="exact")
    assert e5.bound == c_good * 0.9  # a lower bound never replaces a higher one
    e6, _ = propose(inst, e4, h, bound=c_good, bound_source="exact")
    assert e6.status == "opt"  # only a bound that meets the cost proves it
    over = Plan(
        inst.name,
        "bad",
        tuple(
            Route(r.request_id, r.path, tuple(10**6 for _ in r.reserve_qkd), r.reserve_km)
            for r in good.routes
        ),
    )
    e7, notes = propose(inst, None, h, plan=over)
    assert e7.cost is None
    assert e7.status == "open"
    assert "infeasible" in notes[0]


def test_a_stored_cost_the_evaluator_does_not_confirm_is_an_error() -> None:
    libset = load_set("paper")
    e = read_solutions("paper").entries[SMALL[0]]
    inst = load_instance(libset.by_name[SMALL[0]])
    assert e.cost is not None
    with pytest.raises(InputError, match="evaluator scores"):
        confirm_entry(inst, Entry(**{**e.to_dict(), "cost": e.cost * 0.99}))


def test_library_solve_reproduces_the_opt_entries(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "paper.solu.json"
    res = run_cli(
        "library",
        "solve",
        "paper",
        "--instances",
        ",".join(SMALL[:2]),
        "--methods",
        "exact",
        "--time-limit",
        "120",
        "--solutions",
        str(out),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["opt"] == 2
    new, shipped = read_solutions("paper", out), read_solutions("paper")
    for name in SMALL[:2]:
        assert shipped.entries[name].status == "opt"
        assert new.entries[name].status == "opt"
        assert new.entries[name].cost == pytest.approx(shipped.entries[name].cost, rel=OPT_GAP)
        assert new.entries[name].bound_source == "exact"


def _shipped_copy(tmp_path: Path) -> tuple[Path, dict]:
    data = json.loads(set_file("paper", "solu").read_text())
    return tmp_path / "paper.solu.json", data


def test_tampered_solutions_file_exit_2(
    tmp_path: Path, one_line_error: OneLineError, run_cli: RunCli
) -> None:
    path, data = _shipped_copy(tmp_path)
    data["instances"][SMALL[0]]["cost"] *= 0.9  # checksum no longer matches
    path.write_text(json.dumps(data))
    one_line_error(
        run_cli(
            "library",
            "solve",
            "paper",
            "--instances",
            SMALL[0],
            "--solutions",
            str(path),
            "--methods",
            "lagrangian",
        ),
        "checksum",
    )
    path.write_text('{"format": "qkdbench-solu/1", "set": "paper", ')  # cut short
    one_line_error(run_cli("library", "solve", "paper", "--solutions", str(path)), "malformed JSON")


def test_tampered_cost_with_a_fixed_checksum_is_caught_by_the_evaluator(
    tmp_path: Path, one_line_error: OneLineError, run_cli: RunCli
) -> None:
    from qkdbench.library import solutions

    path, data = _shipped_copy(tmp_path)
    data["instances"][SMALL[0]]["cost"] *= 0.9
    data["instances"][SMALL[0]]["bound"] *= 0.9
    data["checksum"] = solutions._checksum(data["instances"])
    path.write_text(json.dumps(data))
    one_line_error(
        run_cli(
            "library",
            "solve",
            "paper",
            "--instances",
            SMALL[0],
            "--solutions",
            str(path),
            "--methods",
            "lagrangian",
        ),
        "evaluator scores",
    )


@pytest.mark.parametrize("name", [SMALL[1], "usnet-r60-k10-s1"])
def test_a_forged_cost_of_an_instance_not_being_solved_is_refused(
    tmp_path: Path, name: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    """Every stored cost is re-scored, not only those of the instances being solved."""
    from qkdbench.library import solutions

    path, data = _shipped_copy(tmp_path)
    entry = data["instances"][name]
    entry["cost"] *= 1.1  # above its bound: the status becomes 'best', consistently
    entry["status"] = solutions._status(entry["cost"], entry["bound"])
    data["checksum"] = solutions._checksum(data["instances"])
    path.write_text(json.dumps(data))
    before = path.read_text()
    res = run_cli(
        "library", "solve", "paper", "--instances", SMALL[0], "--solutions", str(path),
        "--methods", "lagrangian", "--time-limit", "1", "--quiet",
    )  # fmt: skip
    one_line_error(res, f"instances.{name}.plan: stored cost")
    assert path.read_text() == before  # refused before any solve, nothing rewritten


def test_solutions_entries_are_checked_field_by_field(tmp_path: Path) -> None:
    from qkdbench.library import solutions

    for edit, place in [
        (lambda e: e.update(cost=1e300), "cost"),
        (lambda e: e.update(cost=-1.0), "cost"),
        (lambda e: e.update(planner={"x": 1}), "planner"),
        (lambda e: e.update(extra=1), "extra"),
    ]:
        path, data = _shipped_copy(tmp_path)
        edit(data["instances"][SMALL[0]])
        data["checksum"] = solutions._checksum(data["instances"])
        path.write_text(json.dumps(data))
        with pytest.raises(InputError) as err:
            read_solutions("paper", path)
        assert err.value.place == f"instances.{SMALL[0]}.{place}", err.value


def test_library_cli_list_show_write(
    tmp_path: Path, one_line_error: OneLineError, run_cli: RunCli
) -> None:
    res = run_cli("library", "list", "--json")
    assert res.returncode == 0, res.stderr
    sets = {s["set"]: s for s in json.loads(res.stdout)["sets"]}
    assert sets["paper"]["opt"] == 18
    assert sets["capacity"]["instances"] == 8
    assert json.loads(res.stdout)["pending"] == []
    assert sets["design"]["instances"] == 11
    res = run_cli("library", "show", "capacity", "--json")
    rows = json.loads(res.stdout)["instances"]
    assert rows[0]["recipe"]["W_qkd"] == 45
    assert rows[0]["status"] == "opt"
    res = run_cli("library", "write", "paper", SMALL[0], "-o", str(tmp_path / "i.json"))
    assert res.returncode == 0, res.stderr
    from qkdbench.io import read_instance

    assert instance_hash(read_instance(tmp_path / "i.json")) == load_set("paper").get(SMALL[0]).hash
    one_line_error(
        run_cli("library", "write", "paper", "nope", "-o", str(tmp_path / "x.json")),
        "no instance 'nope'",
    )


# --------------------------------------------------------------------------- report pieces


def test_profile_wins_and_win_tie_loss_by_hand() -> None:
    import pandas as pd

    costs = pd.DataFrame({"a": [1.0, 2.0, 5.0, math.inf], "b": [1.0, 3.0, 4.0, 7.0]})
    assert wins(costs).to_dict() == {"a": 0.5, "b": 0.75}
    ratios = pd.DataFrame({"a": [1.0, 1.0, 1.25, math.inf], "b": [1.0, 1.5, 1.0, 1.0]})
    prof = performance_profile(ratios)
    assert prof[prof.planner == "a"].values.tolist() == [["a", 1.0, 0.5], ["a", 1.25, 0.75]]
    assert prof[prof.planner == "b"].values.tolist() == [["b", 1.0, 0.75], ["b", 1.5, 1.0]]
    wtl = win_tie_loss(costs).set_index(["planner", "opponent"])
    assert wtl.loc[("a", "b")].tolist() == [1, 1, 2]
    assert wtl.loc[("b", "a")].tolist() == [2, 1, 1]


# --------------------------------------------------------------------------- bench + report


@pytest.fixture(scope="module")
def bench_run(
    tmp_path_factory: pytest.TempPathFactory,
    run_cli: RunCli,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    res = run_cli(
        "bench",
        "paper",
        "--planners",
        "coqbn,saa-greedy",
        "--instances",
        ",".join(SMALL),
        "--time-limit",
        "30",
        "--scheduler",
        "none",
        "--out",
        str(out / "b"),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    rep = run_cli("report", str(out / "b" / "results.csv"), "-o", str(out / "r"), "--json")
    assert rep.returncode == 0, rep.stderr
    return out, json.loads(res.stdout), json.loads(rep.stdout)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_bench_rows_are_scored_against_the_best_known(
    bench_run: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    out, summary, _ = bench_run
    rows = _rows(out / "b" / "results.csv")
    assert len(rows) == 6
    assert summary["rows"] == 6
    sol = read_solutions("paper")
    from qkdbench import __version__

    for r in rows:
        assert r["set"] == "paper"
        assert r["qkdbench_version"] == __version__
        e = sol.entries[r["instance"]]
        total, best = float(r["total"]), float(r["best_cost"])
        assert best == e.cost
        assert r["best_status"] == "opt"
        assert e.bound is not None
        assert float(r["gap_to_best_pct"]) == pytest.approx(100 * (total - best) / best)
        assert float(r["gap_to_bound_pct"]) == pytest.approx(100 * (total - e.bound) / total)
        assert total >= best * (1 - 1e-9)  # nobody beats a proven optimum


def test_report_numbers_equal_the_results_file(
    bench_run: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    out, _, rep = bench_run
    rows = _rows(out / "b" / "results.csv")
    costs = {(r["instance"], r["planner"]): float(r["total"]) for r in rows}
    planners, insts = ["coqbn", "saa-greedy"], SMALL
    best_run = {i: min(costs[(i, p)] for p in planners) for i in insts}
    share = {
        p: sum(costs[(i, p)] <= best_run[i] * (1 + 1e-9) for i in insts) / len(insts)
        for p in planners
    }
    prof = _rows(out / "r" / "profile_cost.csv")
    for p in planners:  # the profile starts at the planner's share of wins
        first = [r for r in prof if r["planner"] == p][0]
        assert float(first["tau"]) == 1.0
        assert float(first["rho"]) == pytest.approx(share[p])
    summ = {r["planner"]: r for r in _rows(out / "r" / "summary.csv")}
    for p in planners:
        gaps = sorted(float(r["gap_to_best_pct"]) for r in rows if r["planner"] == p)
        assert float(summ[p]["wins_pct"]) == pytest.approx(100 * share[p])
        assert float(summ[p]["median_gap_pct"]) == pytest.approx(gaps[1])
        assert float(summ[p]["worst_gap_pct"]) == pytest.approx(gaps[-1])
    per = _rows(out / "r" / "instances.csv")
    assert [r["instance"] for r in per] == insts
    for r in per:
        for p in planners:
            assert float(r[f"{p} total"]) == pytest.approx(costs[(r["instance"], p)], rel=1e-12)
    page = (out / "r" / "report.html").read_text()
    # 6 figures of the results, 2 of the traces the bench wrote beside them
    assert page.count("data:image/png;base64,") == 8
    assert 'src="http' not in page
    assert rep["anytime"]["runs"] == 6
    for name in (
        "profile_cost",
        "profile_time",
        "ecdf_gap",
        "wtl",
        "gap_time",
        "fixed_target",
        "fixed_budget",
    ):
        assert (out / "r" / f"{name}.png").stat().st_size > 1000
        assert (out / "r" / f"{name}.csv").exists()
    md = (out / "r" / "summary.md").read_text()
    assert "| coqbn |" in md
    assert rep["instances"] == 3


def _rewrite(src: Path, dst: Path, column: str, value: str) -> Path:
    rows = _rows(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, column: value})
    return dst


def test_bench_and_report_bad_input_exit_2(
    bench_run: tuple[Path, dict[str, Any], dict[str, Any]],
    tmp_path: Path,
    one_line_error: OneLineError,
    run_cli: RunCli,
) -> None:
    out, _, _ = bench_run
    results = out / "b" / "results.csv"
    one_line_error(
        run_cli("bench", "nope", "--planners", "coqbn", "--out", str(tmp_path / "x")), "unknown set"
    )
    one_line_error(
        run_cli(
            "bench",
            "paper",
            "--planners",
            "coqbn",
            "--instances",
            "nope",
            "--scheduler",
            "none",
            "--out",
            str(tmp_path / "x"),
        ),
        "no instance",
    )
    other = _rewrite(results, tmp_path / "o" / "results.csv", "set", "capacity")
    one_line_error(run_cli("report", str(other), "-o", str(tmp_path / "r")), "no instance")
    one_line_error(
        run_cli(
            "bench",
            "paper",
            "--planners",
            "coqbn",
            "--scheduler",
            "none",
            "--resume",
            "--out",
            str(other.parent),
        ),
        "results of set 'capacity'",
    )
    old = _rewrite(results, tmp_path / "v" / "results.csv", "qkdbench_version", "0.0.1")
    one_line_error(run_cli("report", str(old), "-o", str(tmp_path / "r")), "qkdbench '0.0.1'")


def test_library_solve_reproduces_a_closed_design_entry(tmp_path: Path, run_cli: RunCli) -> None:
    name = "nsfnet-r10-k10-s1-heavy-fc10-h3-t0.5"
    out = tmp_path / "design.solu.json"
    res = run_cli(
        "library",
        "solve",
        "design",
        "--instances",
        name,
        "--methods",
        "exact",
        "--time-limit",
        "120",
        "--solutions",
        str(out),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    new, shipped = read_solutions("design", out), read_solutions("design")
    assert shipped.entries[name].status == "opt"
    assert new.entries[name].status == "opt"
    assert new.entries[name].cost == pytest.approx(shipped.entries[name].cost, rel=OPT_GAP)
