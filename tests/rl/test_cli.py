"""The ``qkdbench rl`` commands as users run them, with and without the rl extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixture_types import OneLineError, RunCli, RunPython

# runs the CLI with sb3-contrib made unimportable, as on an install without the rl extra
NO_EXTRA = (
    "import sys; sys.modules['sb3_contrib'] = None; "
    "from qkdbench.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    "args",
    [["rl", "train", "--out", "agent.zip", "--timesteps", "10"], ["rl", "evaluate", "agent.zip"]],
)
def test_without_the_extra_the_cli_says_how_to_install_it(
    args: list[str], tmp_path: Path, run_python: RunPython, one_line_error: OneLineError
) -> None:
    if args[1] == "evaluate":  # an agent file that exists: the missing extra is the problem
        (tmp_path / "agent.zip").write_bytes(b"PK")
    res = run_python(NO_EXTRA, *args, cwd=tmp_path)
    one_line_error(res, 'pip install "qkdbench[rl]"', "qkdbench rl: error")
    if args[1] == "train":
        assert not (tmp_path / "agent.zip").exists()


def test_everything_but_training_works_without_the_extra(run_python: RunPython) -> None:
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
    res = run_python(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "rl-greedy"


def test_compare_puts_rl_planners_on_the_table(run_cli: RunCli) -> None:
    res = run_cli(
        "compare",
        "nsfnet",
        "--requests",
        "5",
        "--max-rate",
        "4",
        "--planners",
        "coqbn,rl-coqbn,rl-greedy",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    rows = {r["planner"]: r for r in json.loads(res.stdout)["rows"]}
    assert rows["rl-coqbn"]["total"] == rows["coqbn"]["total"]
    assert rows["rl-greedy"]["feasible"]


def test_missing_agent_file_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    path = str(tmp_path / "missing.zip")
    one_line_error(run_cli("rl", "evaluate", path), path, "not found")
