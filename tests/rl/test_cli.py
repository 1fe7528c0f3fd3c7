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
    # both ways: from a checkout (the test suite's case) and from a package index
    one_line_error(
        res, 'pip install ".[rl]" in a checkout', 'pip install "qkdbench[rl]"', "qkdbench rl: error"
    )
    if args[1] == "train":
        assert not (tmp_path / "agent.zip").exists()


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--recipe", "dagger"], ["--recipe", "invalid choice", "'dagger'"]),
        (["--demos", "nosuch"], ["--demos: unknown planner 'nosuch'", "rl-greedy"]),
        (["--demo-noise", "1.5"], ["--demo-noise: 1.5 is not a share in [0, 1]"]),
        (["--demo-noise", "-0.1"], ["--demo-noise"]),
        (["--bc-epochs", "0"], ["--bc-epochs"]),
        (["--envs", "8", "--rows", "3"], ["--rows: 3 does not divide --envs 8"]),
        (["--vec-env", "dummy", "--rows", "2"], ["--rows: the dummy vec env", "--rows 1"]),
        (["--knobs", "{site: 1}"], ["--knobs", "not JSON"]),
        (["--knobs", "[1]"], ["--knobs", "expected a JSON object"]),
        (["--knobs", '{"seed": 3}'], ["--knobs: 'seed' is not a family knob"]),
        (["--knobs", '{"on_demand_cap": 2}'], ["--knobs: 'on_demand_cap' is not a family knob"]),
        (["--knobs", '{"nosuch": 1}'], ["--knobs", "'nosuch'"]),
        (["--knobs", '{"site": -1}'], ["--knobs", "site", "-1"]),
    ],
)
def test_bad_recipe_options_are_one_line_before_the_extra_is_looked_for(
    extra: list[str],
    needles: list[str],
    tmp_path: Path,
    run_python: RunPython,
    one_line_error: OneLineError,
) -> None:
    args = ["rl", "train", "--out", "agent.zip", "--timesteps", "10", *extra]
    res = run_python(NO_EXTRA, *args, cwd=tmp_path)
    one_line_error(res, *needles)
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


@pytest.mark.parametrize("option", [["--knobs", "{}"], ["--requests", "5"]])
def test_a_library_set_takes_no_family_options(
    option: list[str], tmp_path: Path, run_python: RunPython, one_line_error: OneLineError
) -> None:
    (tmp_path / "agent.zip").write_bytes(b"PK")  # it exists: the options are the problem
    res = run_python(NO_EXTRA, "rl", "evaluate", "agent.zip", "--library-set", "ntn", *option,
                     cwd=tmp_path)  # fmt: skip
    one_line_error(res, "--library-set takes its instances as they are", f"no {option[0]}")


def test_missing_agent_file_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    path = str(tmp_path / "missing.zip")
    one_line_error(run_cli("rl", "evaluate", path), path, "not found")


def test_training_progress_reports_steps_episodes_return_and_gap() -> None:
    """The progress lines of ``rl train``, fed real episodes of the environment."""
    from qkdbench.evaluation import evaluate
    from qkdbench.heuristics import get_planner
    from qkdbench.rl.env import PlanningEnv
    from qkdbench.rl.policies import GreedyPolicy
    from qkdbench.rl.train import TrainingProgress
    from qkdbench.topologies import make_instance

    inst = make_instance("nsfnet", 5, 3, seed=1)
    coqbn = evaluate(inst, get_planner("coqbn").plan(inst)).total
    lines: list[str] = []
    progress = TrainingProgress(20, lines.append, {inst.name: coqbn}, every=10)
    env = PlanningEnv(inst, k=2)
    act = GreedyPolicy().bind(env)
    steps, costs = 0, []
    for ep in range(4):
        obs, info = env.reset(seed=ep)
        done, ret = False, 0.0
        while not done:
            obs, r, done, _, info = env.step(act(obs, info["action_mask"]))
            ret += r
            steps += 1
            if done:
                info["episode"] = {"r": ret, "l": inst.n_requests}
                costs.append(info["cost"])
            progress.update(steps, [info], [done])
    progress.finish()
    assert len(lines) == 2  # at 10 and at 20 steps; finish() repeats nothing
    assert lines[0].startswith("step 10/20 (50%): 2 episodes; last 2: mean return ")
    gap = 100.0 * (sum(costs) / len(costs) / coqbn - 1.0)
    assert f"cost vs CO-QBN {gap:+.1f}%" in lines[1]
    assert lines[1].startswith("step 20/20 (100%): 4 episodes")
    assert lines[1].endswith("steps/s")
