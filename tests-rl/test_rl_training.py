"""The learned baseline, end to end: needs the ``rl`` extra (sb3-contrib and torch).

Not part of the README's test command (torch is large); run it with
``pip install ".[test,rl]" && python -m pytest tests-rl``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "qkdbench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_train_then_evaluate_a_tiny_agent(tmp_path: Path) -> None:
    """A real, tiny training run and its evaluation against CO-QBN and the exact optimum."""
    out = tmp_path / "agent.zip"
    res = _run(
        [
            "rl",
            "train",
            "--out",
            str(out),
            "--family",
            "nsfnet",
            "--requests",
            "4",
            "--max-rate",
            "3",
            "--timesteps",
            "64",
            "--instances",
            "2",
            "--envs",
            "2",
            "--k",
            "1",
            "--json",
            "--quiet",
        ]
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # --quiet: no progress
    info = json.loads(res.stdout)
    assert info["timesteps"] == 64
    assert out.is_file()
    assert info["env"]["k"] == 1
    assert info["family"]["topology"] == "nsfnet"
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    code = (
        "import sys, json; from qkdbench.rl.train import evaluate_agent, summarize, "
        "load_agent; from qkdbench.exceptions import InputError\n"
        "try:\n    load_agent(sys.argv[2])\nexcept InputError as e:\n    print(e)\n"
        "df = evaluate_agent(sys.argv[1], [1, 2], planners=['coqbn', 'exact'])\n"
        "print(json.dumps(summarize(df).to_dict(orient='records')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", code, str(out), str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert any(str(bad) in line and "not a saved MaskablePPO agent" in line for line in lines)
    summary = {r["planner"]: r for r in json.loads(lines[-1])}
    assert summary["exact"]["mean_gap_to_optimum_pct"] == 0.0
    assert summary["agent"]["mean_gap_to_optimum_pct"] >= 0.0
    assert summary["coqbn"]["mean_vs_coqbn_pct"] == 0.0


def test_train_shows_its_progress_on_standard_error(tmp_path: Path) -> None:
    """Without --quiet: steps, episodes, mean return and cost against CO-QBN, on stderr."""
    out = tmp_path / "agent.zip"
    args = ["rl", "train", "--out", str(out), "--family", "nsfnet", "--requests", "4"]
    args += ["--max-rate", "3", "--timesteps", "200", "--instances", "2", "--envs", "2"]
    res = _run([*args, "--k", "1"])
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""  # the progress goes to standard error only
    steps = [line for line in res.stderr.splitlines() if line.startswith("step ")]
    assert len(steps) >= 10, res.stderr  # about every twentieth of the run
    assert "/1,024 (" in steps[0]  # whole rollouts: 512 steps of 2 environments
    last = steps[-1]
    assert "episodes; last " in last, last
    assert "mean return -" in last, last
    assert "cost vs CO-QBN " in last, last
    assert last.endswith("steps/s"), last
    assert "saved" in res.stderr.splitlines()[-1]


def _train(out: Path, seed: int, requests: int = 4) -> None:
    args = ["rl", "train", "--out", str(out), "--family", "nsfnet", "--requests", str(requests)]
    args += ["--max-rate", "3", "--timesteps", "128", "--instances", "2", "--envs", "2"]
    res = _run([*args, "--k", "1", "--seed", str(seed), "--quiet"])
    assert res.returncode == 0, res.stderr


def test_evaluate_several_seeds_with_intervals_and_curves(tmp_path: Path) -> None:
    """Two training seeds in a directory: the IQM table, P(better than CO-QBN), curves."""
    runs = tmp_path / "runs"
    runs.mkdir()
    for seed in (0, 1):
        _train(runs / f"seed{seed}.zip", seed)
    curves, profile = tmp_path / "curves.csv", tmp_path / "profile.csv"
    args = ["rl", "evaluate", str(runs), "--instances", "3", "--planners", "coqbn,exact"]
    res = _run(
        [*args, "--curves", str(curves), "--profile", str(profile), "--json", "--resamples", "200"]
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    table = {r["planner"]: r for r in out["protocol"]}
    assert table["agent"]["runs"] == 2
    assert table["agent"]["instances"] == 3
    assert table["agent"]["iqm_low_pct"] <= table["agent"]["iqm_gap_pct"]
    assert table["agent"]["iqm_gap_pct"] <= table["agent"]["iqm_high_pct"]
    assert table["exact"]["iqm_gap_pct"] == 0.0
    assert table["coqbn"]["p_better_than_coqbn"] == 0.5
    assert 0.0 <= table["agent"]["p_better_than_coqbn"] <= 1.0
    assert len(out["rows"]) == 3 * (2 + 2)
    assert out["agents"] == [str(runs / "seed0.zip"), str(runs / "seed1.zip")]
    lines = curves.read_text().splitlines()
    assert lines[0] == "agent,run,seed,steps,episodes,mean_return,cost_vs_coqbn_pct"
    assert {line.split(",")[2] for line in lines[1:]} == {"0", "1"}
    prof = profile.read_text().splitlines()
    assert prof[0] == "planner,gap_pct,fraction,low,high"
    assert len(prof) == 1 + 3 * 21
    assert prof[-1].startswith("exact,")
    assert prof[-1].split(",")[2] == "1.0"  # every gap of the optimum is within every threshold
    # the text output: the protocol table, then the summary
    res = _run([*args, "--resamples", "200"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("IQM of the gap to the best known cost (%) over 2 run(s)")
    # an agent of another family among the runs: one line, status 2
    _train(tmp_path / "other.zip", 2, requests=5)
    res = _run(["rl", "evaluate", str(runs), str(tmp_path / "other.zip")])
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1, res.stderr
    assert "other.zip: not a run of the same algorithm as" in res.stderr
    assert "family" in res.stderr


def test_behaviour_cloning_makes_the_policy_reproduce_the_demonstrated_plan() -> None:
    """After cloning rl-greedy on one tiny instance, the agent's greedy plan costs the same."""
    import torch
    from sb3_contrib import MaskablePPO

    from qkdbench.evaluation import evaluate
    from qkdbench.rl.agents import Agent
    from qkdbench.rl.imitation import behaviour_clone, collect_demos
    from qkdbench.rl.planners import PolicyPlanner
    from qkdbench.rl.sb3vec import PoolVecEnv, as_sb3_vec_env
    from qkdbench.topologies import make_instance

    torch.set_num_threads(1)
    inst = make_instance("nsfnet", 6, 4, seed=2)
    kw: dict[str, Any] = {
        "k": 2,
        "levels": ("zero", "mean", "max"),
        "order": "cost-desc",
        "capacity": "clip",
    }
    venv = as_sb3_vec_env(PoolVecEnv([inst], 1, 2, **kw))
    model = MaskablePPO("MlpPolicy", venv, n_steps=8, batch_size=8, seed=0, device="cpu")
    demos = collect_demos([inst], "rl-greedy", kw)
    planner = PolicyPlanner(Agent(model, kw, {}), "agent", kw)
    before = evaluate(inst, planner.plan(inst)).total
    stats = behaviour_clone(model.policy, demos, epochs=300, batch_size=6, learning_rate=3e-3)
    assert stats["accuracy"] == 1.0
    after = evaluate(inst, planner.plan(inst)).total
    assert after == pytest.approx(demos.expert_costs[inst.name], rel=1e-9)
    assert before != pytest.approx(after, rel=1e-9)  # the untrained policy plans otherwise
    # the value head learnt the returns to go of the demonstrated episode
    with torch.no_grad():
        values = model.policy.predict_values(torch.as_tensor(demos.obs)).flatten().numpy()
    assert abs(values - demos.returns).max() < 0.1 * abs(demos.returns).max()


@pytest.mark.parametrize(("recipe", "vec"), [("bc+ppo", "pool"), ("ppo", "dummy"), ("bc", "pool")])
def test_each_recipe_trains_and_records_itself(recipe: str, vec: str, tmp_path: Path) -> None:
    out = tmp_path / "agent.zip"
    args = ["rl", "train", "--out", str(out), "--family", "nsfnet", "--requests", "4"]
    args += ["--max-rate", "3", "--timesteps", "64", "--instances", "2", "--envs", "4"]
    args += ["--k", "1", "--n-steps", "16", "--recipe", recipe, "--vec-env", vec]
    args += ["--rows", "2" if vec == "pool" else "1", "--bc-epochs", "2", "--json", "--quiet"]
    res = _run(args)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["recipe"]["name"] == recipe
    assert info["vec_env"] == {"kind": vec, "envs": 4, "rows": 2 if vec == "pool" else 1}
    if recipe == "ppo":
        assert "demos" not in info["recipe"]
        assert info["cloning"] == {}
    else:
        assert 0.0 <= info["cloning"]["accuracy"] <= 1.0
        assert not set(info["cloning"]) & set(info["recipe"])  # outcomes apart from settings
        assert info["recipe"]["demos"] == "rl-greedy"
        assert info["recipe"]["demo_steps"] == 2 * 4 * 8  # instances x requests x episodes
    assert info["timesteps"] == (0 if recipe == "bc" else 64)
    assert out.is_file()


def test_policy_states_follow_the_agent_and_carry_the_greedys_labels() -> None:
    """A DAgger round: the first episode is the agent's own plan, every label the greedy's."""
    import torch
    from sb3_contrib import MaskablePPO

    from qkdbench.evaluation import evaluate
    from qkdbench.rl.agents import Agent
    from qkdbench.rl.env import PlanningEnv
    from qkdbench.rl.imitation import greedy_actions, policy_states
    from qkdbench.rl.planners import PolicyPlanner
    from qkdbench.rl.sb3vec import PoolVecEnv, as_sb3_vec_env
    from qkdbench.topologies import make_instance

    torch.set_num_threads(1)
    pool = [make_instance("nsfnet", 5, 4, seed=s) for s in (1, 2)]
    kw: dict[str, Any] = {"k": 1, "order": "cost-desc"}
    venv = as_sb3_vec_env(PoolVecEnv(pool, 1, 2, **kw))
    model = MaskablePPO("MlpPolicy", venv, n_steps=8, batch_size=8, seed=0, device="cpu")
    states = policy_states(pool, model.policy, kw, episodes=3)
    assert len(states) == 2 * 5 * 3
    layout = PlanningEnv(pool[0], **kw).layout
    np.testing.assert_array_equal(states.actions, greedy_actions(layout, states.obs, states.masks))
    planner = PolicyPlanner(Agent(model, kw, {}), "agent", kw)
    for inst in pool:
        total = evaluate(inst, planner.plan(inst)).total
        assert states.expert_costs[inst.name] == pytest.approx(total, rel=1e-9)


def test_a_family_with_knobs_trains_and_is_evaluated_on_its_own_instances(tmp_path: Path) -> None:
    """``--knobs``: stored with the agent, the held-out instances carry them by default."""
    out = tmp_path / "agent.zip"
    knobs = {"site": 100000, "ground_stations": 3, "station_cost": 500000}
    args = ["rl", "train", "--out", str(out), "--family", "nsfnet-ntn", "--requests", "4"]
    args += ["--max-rate", "3", "--timesteps", "64", "--instances", "2", "--envs", "2"]
    res = _run([*args, "--k", "1", "--knobs", json.dumps(knobs), "--json", "--quiet"])
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["family"]["knobs"] == knobs
    res = _run(["rl", "evaluate", str(out), "--instances", "2", "--planners", "coqbn", "--json"])
    assert res.returncode == 0, res.stderr
    names = sorted({r["instance"] for r in json.loads(res.stdout)["rows"]})
    assert names == [f"nsfnet-ntn-r4-k3-s{s}-gs3-site100000-gsc500000" for s in (1, 2)]
    # the family without its knobs has other states: one line, status 2
    res = _run(["rl", "evaluate", str(out), "--instances", "1", "--knobs", "{}"])
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1, res.stderr
    assert "nsfnet-ntn-r4-k3-s1" in res.stderr
