"""The ``qkdbench rl`` commands as users run them, with and without the rl extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# runs the CLI with sb3-contrib made unimportable, as on an install without the rl extra
NO_EXTRA = ("import sys; sys.modules['sb3_contrib'] = None; "
            "from qkdbench.cli import main; sys.exit(main(sys.argv[1:]))")


def _run(args, *, no_extra=False, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", NO_EXTRA, *args] if no_extra else \
        [sys.executable, "-m", "qkdbench.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.parametrize("args", [["rl", "train", "--out", "agent.zip", "--timesteps", "10"],
                                  ["rl", "evaluate", "agent.zip"]])
def test_without_the_extra_the_cli_says_how_to_install_it(args, tmp_path):
    res = _run(args, no_extra=True, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "qkdbench[rl]"' in lines[0], res.stderr
    assert "qkdbench rl: error" in lines[0]
    assert not (tmp_path / "agent.zip").exists()


def test_everything_but_training_works_without_the_extra(tmp_path):
    code = ("import sys; sys.modules['sb3_contrib'] = None; sys.modules['torch'] = None; "
            "from qkdbench.heuristics import get_planner; from qkdbench.topologies import "
            "make_instance; import gymnasium as gym; import qkdbench.rl; "
            "from qkdbench.rl.multi import PlanningParallelEnv; "
            "inst = make_instance('nsfnet', 4, 3, seed=1); "
            "env = gym.make('qkdbench/Planning-v0', instance=inst); env.reset(seed=0); "
            "PlanningParallelEnv(inst).reset(seed=0); "
            "print(get_planner('rl-greedy').plan(inst).planner)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "rl-greedy"


def test_compare_puts_rl_planners_on_the_table():
    res = _run(["compare", "nsfnet", "--requests", "5", "--max-rate", "4",
                "--planners", "coqbn,rl-coqbn,rl-greedy", "--json"])
    assert res.returncode == 0, res.stderr
    rows = {r["planner"]: r for r in json.loads(res.stdout)["rows"]}
    assert rows["rl-coqbn"]["total"] == rows["coqbn"]["total"]
    assert rows["rl-greedy"]["feasible"]


def test_missing_agent_file_is_one_line(tmp_path):
    path = str(tmp_path / "missing.zip")
    res = _run(["rl", "evaluate", path])
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and path in lines[0] and "not found" in lines[0], res.stderr


def test_train_then_evaluate_a_tiny_agent(tmp_path):
    """Needs the rl extra (not in the test command's install): a real, tiny run."""
    pytest.importorskip("sb3_contrib")
    out = tmp_path / "agent.zip"
    res = _run(["rl", "train", "--out", str(out), "--family", "nsfnet", "--requests", "4",
                "--max-rate", "3", "--timesteps", "64", "--instances", "2", "--envs", "2",
                "--k", "1", "--json", "--quiet"])
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["timesteps"] == 64 and out.is_file()
    assert info["env"]["k"] == 1 and info["family"]["topology"] == "nsfnet"
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    code = ("import sys, json; from qkdbench.rl.train import evaluate_agent, summarize, "
            "load_agent; from qkdbench.model import InputError\n"
            "try:\n    load_agent(sys.argv[2])\nexcept InputError as e:\n    print(e)\n"
            "df = evaluate_agent(sys.argv[1], [1, 2], planners=['coqbn', 'exact'])\n"
            "print(json.dumps(summarize(df).to_dict(orient='records')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code, str(out), str(bad)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert any(str(bad) in line and "not a saved MaskablePPO agent" in line for line in lines)
    summary = {r["planner"]: r for r in json.loads(lines[-1])}
    assert summary["exact"]["mean_gap_to_optimum_pct"] == 0.0
    assert summary["agent"]["mean_gap_to_optimum_pct"] >= 0.0
    assert summary["coqbn"]["mean_vs_coqbn_pct"] == 0.0
