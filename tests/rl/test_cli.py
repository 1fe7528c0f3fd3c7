"""The ``qkdbench rl`` commands as users run them, with and without the rl extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# runs the CLI with sb3-contrib made unimportable, as on an install without the rl extra
NO_EXTRA = (
    "import sys; sys.modules['sb3_contrib'] = None; "
    "from qkdbench.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _run(
    args: list[str], *, no_extra: bool = False, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = (
        [sys.executable, "-c", NO_EXTRA, *args]
        if no_extra
        else [sys.executable, "-m", "qkdbench.cli", *args]
    )
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.parametrize(
    "args",
    [["rl", "train", "--out", "agent.zip", "--timesteps", "10"], ["rl", "evaluate", "agent.zip"]],
)
def test_without_the_extra_the_cli_says_how_to_install_it(args: list[str], tmp_path: Path) -> None:
    if args[1] == "evaluate":  # an agent file that exists: the missing extra is the problem
        (tmp_path / "agent.zip").write_bytes(b"PK")
    res = _run(args, no_extra=True, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert 'pip install "qkdbench[rl]"' in lines[0], res.stderr
    assert "qkdbench rl: error" in lines[0]
    if args[1] == "train":
        assert not (tmp_path / "agent.zip").exists()


def test_everything_but_training_works_without_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['sb3_contrib'] = None; sys.modules['torch'] = None; "
        "from qkdbench.heuristics import get_planner; from qkdbench.topologies import "
        "make_instance; import gymnasium as gym; import qkdbench.rl; "
        "from qkdbench.rl.multi import PlanningParallelEnv; "
        "inst = make_instance('nsfnet', 4, 3, seed=1); "
        "env = gym.make('qkdbench/Planning-v0', instance=inst); env.reset(seed=0); "
        "PlanningParallelEnv(inst).reset(seed=0); "
        "print(get_planner('rl-greedy').plan(inst).planner)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "rl-greedy"


def test_compare_puts_rl_planners_on_the_table() -> None:
    res = _run(
        [
            "compare",
            "nsfnet",
            "--requests",
            "5",
            "--max-rate",
            "4",
            "--planners",
            "coqbn,rl-coqbn,rl-greedy",
            "--json",
        ]
    )
    assert res.returncode == 0, res.stderr
    rows = {r["planner"]: r for r in json.loads(res.stdout)["rows"]}
    assert rows["rl-coqbn"]["total"] == rows["coqbn"]["total"]
    assert rows["rl-greedy"]["feasible"]


def test_missing_agent_file_is_one_line(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.zip")
    res = _run(["rl", "evaluate", path])
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert path in lines[0], res.stderr
    assert "not found" in lines[0], res.stderr
