"""The scenario program, its SMPS and per-scenario MPS files, and progressive hedging.

Independent truths: the evaluator's score of the decoded plan, the exact planner's
optimum on instances it solves, and mpi-sppy's own extensive form read back from the
exported files (a solver path that shares nothing with qkdbench's but the files).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exact.ph import ProgressiveHedgingPlanner, mpiexec_path
from qkdbench.exact.scenario_program import (
    build_scenario_program,
    decode_program,
    scenario_needs,
    solve_extensive,
)
from qkdbench.exact.smps import write_scenario_mps, write_smps
from qkdbench.exceptions import InputError, MissingExtraError
from qkdbench.heuristics import get_planner
from qkdbench.io import write_instance
from qkdbench.model import Instance
from qkdbench.testing.instances import coupled_instance, feature_instance
from qkdbench.topologies import load_topology, sample_requests
from tests.fixture_types import OneLineError, RunCli


def _ef(inst: Instance) -> tuple[float, float]:
    """The extensive form's optimum and the evaluator's score of its plan."""
    prog = build_scenario_program(inst)
    obj, first, optimal = solve_extensive(prog)
    assert optimal
    return obj, evaluate(inst, decode_program(prog, first, "ef")).total


@pytest.mark.parametrize("seed", range(6))
def test_extensive_form_objective_is_the_evaluators_score(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=2 + seed % 2, link_states=seed % 3 == 0)
    obj, score = _ef(inst)
    assert obj == pytest.approx(score, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_extensive_form_equals_exact_planner_on_uncoupled_instances(seed: int) -> None:
    inst = sample_requests(load_topology("nsfnet"), 3, max_rate=3, seed=seed)
    obj, score = _ef(inst)  # 4 x 4 x 4 = 64 scenarios from the product of the supports
    assert obj == pytest.approx(score, rel=1e-9)
    exact = get_planner("exact").plan(inst)
    assert exact.stats["status"] == "optimal"
    assert obj == pytest.approx(exact.stats["objective"], rel=1e-6)


@pytest.mark.parametrize("feature", ["fixed_charges", "providers", "link_prices"])
def test_extensive_form_equals_exact_planner_with_extensions(feature: str) -> None:
    inst = feature_instance(feature)
    obj, score = _ef(inst)
    assert obj == pytest.approx(score, rel=1e-9)
    exact = get_planner("exact").plan(inst)
    assert exact.stats["status"] == "optimal"
    assert obj == pytest.approx(exact.stats["objective"], rel=1e-6)


def test_ph_runs_only_when_named() -> None:
    from qkdbench.utils.registry import available_planners

    assert available_planners()["ph"].on_request
    assert not available_planners()["exact"].on_request


def test_scenario_needs_product_of_supports() -> None:
    inst = feature_instance("link_prices")  # three requests, supports of 2, 3 and 1 values
    links, probs = scenario_needs(inst)
    assert links.shape == (6, 3, 4)
    assert probs.sum() == pytest.approx(1.0)
    sc = feature_instance("coupled").scenarios
    assert sc is not None
    links, probs = scenario_needs(feature_instance("coupled"))
    assert links.shape[0] == sc.n
    assert probs.tolist() == list(sc.probs)
    with pytest.raises(InputError, match="random link states"):
        scenario_needs(feature_instance("link_states"))


def _start_mpisppy_ef(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """Start mpi-sppy's extensive form on ``args`` (read back by :func:`_ef_objective`)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mpisppy.generic_cylinders",
            *args,
            "--EF",
            "--EF-solver-name",
            "appsi_highs",
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ef_objective(proc: subprocess.Popen[str]) -> float:
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    found = re.findall(r"EF objective: ([-0-9.eE+]+)", stdout + stderr)
    assert found, stdout[-2000:]
    return float(found[-1])


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_mpisppy_reads_the_exported_files_to_the_same_optimum(seed: int, tmp_path: Path) -> None:
    """mpi-sppy's extensive form of the SMPS, MPS and model-module inputs, the exact planner's."""
    inst = coupled_instance(seed, n_requests=2, link_states=seed == 5)
    assert inst.is_coupled
    obj, _ = _ef(inst)
    write_smps(inst, tmp_path / "smps")
    write_scenario_mps(inst, tmp_path / "mps")
    write_instance(inst, tmp_path / "inst.json")
    module = [
        "--module-name",
        "qkdbench.exact.mpisppy_model",
        "--qkdbench-instance",
        str(tmp_path / "inst.json"),
        "--num-scens",
        str(build_scenario_program(inst).n_scenarios),
    ]
    runs = [
        ["--smps-dir", str(tmp_path / "smps")],
        ["--mps-files-directory", str(tmp_path / "mps")],
        module,
    ]
    procs = [_start_mpisppy_ef(args, tmp_path) for args in runs]  # side by side
    try:
        exact = get_planner("exact").plan(inst)  # the coupled MILP, while mpi-sppy runs
        found = [_ef_objective(proc) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert exact.stats["status"] == "optimal"
    assert exact.stats["objective"] == pytest.approx(evaluate(inst, exact).total, rel=1e-9)
    for value in found:
        assert value == pytest.approx(obj, rel=1e-6)
        assert value == pytest.approx(exact.stats["objective"], rel=1e-6)


def test_smps_files_name_every_scenario_and_stage(tmp_path: Path) -> None:
    inst = feature_instance("coupled")
    cor, tim, sto = write_smps(inst, tmp_path)
    prog = build_scenario_program(inst)
    text = sto.read_text()
    assert text.count(" SC SCEN") == prog.n_scenarios
    assert "SCENARIOS DISCRETE" in text
    periods = tim.read_text().split("\n")
    assert periods[2].split()[2] == "STAGE1"
    assert periods[3].split()[2] == "STAGE2"
    # the second stage starts where the first ends, in columns and rows
    first2 = int(np.flatnonzero(prog.stage == 2)[0])
    assert periods[3].split()[0] == prog.names[first2]
    assert "'INTORG'" in cor.read_text()


def test_ph_with_two_ranks_brackets_the_optimum() -> None:
    inst = coupled_instance(1, n_requests=2)
    obj, _ = _ef(inst)
    plan = ProgressiveHedgingPlanner(ranks=2, iterations=5).plan(inst)
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert plan.stats["objective"] == ev.total
    assert plan.stats["inner_bound"] == pytest.approx(ev.total, rel=1e-9)
    assert plan.stats["bound"] <= obj * (1 + 1e-9)
    assert ev.total >= obj * (1 - 1e-9)
    assert plan.stats["gap"] >= (ev.total - obj) / ev.total - 1e-9


def test_ph_refuses_bad_parameters_and_reports_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inst = feature_instance("coupled")
    with pytest.raises(InputError, match="2 ranks"):
        ProgressiveHedgingPlanner(ranks=1).plan(inst)
    with pytest.raises(InputError, match="rho"):
        ProgressiveHedgingPlanner(rho=0.0).plan(inst)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mpisppy" else real(name, *a)
    )
    with pytest.raises(MissingExtraError, match=r'pip install "\.\[mpi\]"'):
        mpiexec_path()


def test_export_command(run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path) -> None:
    inst = coupled_instance(2)
    write_instance(inst, tmp_path / "inst.json")
    res = run_cli("export", "smps", str(tmp_path / "inst.json"), str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".cor", ".sto", ".tim"]
    res = run_cli("export", "mps", str(tmp_path / "inst.json"), str(tmp_path / "mps"))
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "mps").glob("scen*.mps"))) == 3
    res = run_cli("export", "smps", str(tmp_path / "missing.json"), str(tmp_path / "x"))
    one_line_error(res, "missing.json")
    (tmp_path / "file").write_text("")
    res = run_cli("export", "smps", str(tmp_path / "inst.json"), str(tmp_path / "file"))
    one_line_error(res, "not a directory")
