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
