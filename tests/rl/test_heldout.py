"""Several runs of an agent on held-out instances, with stand-in agents (no rl extra needed).

A stand-in model has what :class:`~qkdbench.rl.agents.Agent` reads of a MaskablePPO
model (its spaces and ``predict``): it takes the ``seed``-th valid action, so runs of
different seeds plan differently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.experiments.aggregate import iqm
from qkdbench.experiments.protocol import protocol_table
from qkdbench.heuristics import get_planner
from qkdbench.rl.agents import Agent
from qkdbench.rl.env import PlanningEnv
from qkdbench.rl.heldout import check_runs, evaluate_agents, fits, held_out
from qkdbench.rl.train import Family
from qkdbench.topologies import make_instance
from tests.fixture_types import OneLineError, RunCli

FAMILY = Family("nsfnet", 4, 3)
ENV: dict[str, Any] = {
    "k": 1,
    "levels": ("zero", "mean", "max"),
    "order": "cost-desc",
    "capacity": "clip",
}


class StandIn:
    """The ``seed``-th valid action (cyclically) at every step."""

    def __init__(self, env: PlanningEnv, seed: int) -> None:
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self.seed = seed

    def predict(self, obs: Any, action_masks: np.ndarray, deterministic: bool) -> tuple[int, None]:
        valid = np.flatnonzero(action_masks)
        return int(valid[self.seed % valid.size]), None


def _agent(seed: int, family: Family = FAMILY, **meta: Any) -> Agent:
    env = PlanningEnv(family.instances([1])[0], **ENV)
    info = {"family": {"topology": family.topology, "requests": family.requests,
                       "max_rate": family.max_rate}, "seed": seed, "timesteps": 100,
            "train_seeds": [100_000, 100_001], **meta}  # fmt: skip
    return Agent(StandIn(env, seed), dict(ENV), info)


def test_every_run_and_each_planner_once_on_each_instance() -> None:
    runs = [(f"s{s}.zip", _agent(s)) for s in (0, 1, 2)]
    instances = held_out(runs[0][1], [1, 2])
    df = evaluate_agents(runs, instances, planners=["coqbn", "exact"], time_limit=30)
    assert len(df) == 2 * (3 + 2)
    agent = df[df["planner"] == "agent"]
    assert sorted(set(agent["run"])) == [0, 1, 2]
    assert sorted(set(agent["seed"])) == [0, 1, 2]
    for inst in instances:  # the costs are the evaluator's totals of each plan
        mine = df[df["instance"] == inst.name].set_index(["planner", "run"])
        assert mine.loc[("coqbn", 0), "cost"] == pytest.approx(
            evaluate(inst, get_planner("coqbn").plan(inst)).total
        )
        assert mine.loc[("exact", 0), "gap_pct"] == 0.0
    table = protocol_table(df, resamples=300).set_index("planner")
    # the agent's IQM, from the costs: the gap to the proven optimum of each instance
    opt = df[df["planner"] == "exact"].set_index("instance")["cost"]
    gaps = 100.0 * (agent["cost"].to_numpy() / agent["instance"].map(opt).to_numpy() - 1.0)
    assert table.loc["agent", "iqm_gap_pct"] == pytest.approx(iqm(gaps))
    assert table.loc["agent", "runs"] == 3
    assert table.loc["exact", "iqm_gap_pct"] == 0.0


def test_runs_of_one_algorithm_are_checked() -> None:
    a, b = _agent(0), _agent(1)
    check_runs([("a.zip", a), ("b.zip", b)])
    with pytest.raises(InputError, match="b.zip: the same training seed 0 as a.zip"):
        check_runs([("a.zip", a), ("b.zip", _agent(0))])
    with pytest.raises(InputError, match="given twice"):
        check_runs([("a.zip", a), ("./a.zip", b)])
    with pytest.raises(InputError, match="c.zip: not a run of the same algorithm as a.zip: family"):
        check_runs([("a.zip", a), ("c.zip", _agent(2, Family("nsfnet", 5, 3)))])
    with pytest.raises(InputError, match="timesteps 200 there is 100"):
        check_runs([("a.zip", a), ("c.zip", _agent(2, timesteps=200))])
    with pytest.raises(InputError, match="no agent"):
        check_runs([])


def test_held_out_seeds_are_not_training_seeds_and_fit_the_agent() -> None:
    agent = _agent(0)
    with pytest.raises(InputError, match="overlap the agent's training seeds"):
        held_out(agent, [100_001])
    assert fits(agent, make_instance("nsfnet", 7, 3, seed=3))  # other requests: same sizes
    assert not fits(agent, make_instance("usnet", 4, 3, seed=1))


# --------------------------------------------------------------------------- command line


def test_a_missing_file_among_several_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    (tmp_path / "a.zip").write_bytes(b"PK")
    res = run_cli("rl", "evaluate", tmp_path / "a.zip", tmp_path / "missing.zip")
    one_line_error(res, "missing.zip: agent file not found")


def test_a_library_set_takes_no_family_options(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    (tmp_path / "a.zip").write_bytes(b"PK")
    res = run_cli("rl", "evaluate", tmp_path / "a.zip", "--library-set", "ntn", "--requests", 3)
    one_line_error(res, "--library-set takes its instances as they are")


def test_a_directory_without_agents_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    one_line_error(run_cli("rl", "evaluate", tmp_path), str(tmp_path), "without agent files")


@pytest.mark.parametrize("option", ["--curves", "--profile"])
def test_an_unwritable_output_file_is_one_line(
    option: str, tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    (tmp_path / "a.zip").write_bytes(b"PK")
    bad = tmp_path / "no" / "out.csv"
    one_line_error(run_cli("rl", "evaluate", tmp_path / "a.zip", option, bad), str(bad), option)


def test_json_of_the_stand_in_frame_is_strict(tmp_path: Path) -> None:
    """NaN gaps (no proven optimum) become null in the protocol's JSON."""
    from qkdbench.utils.jsonsafe import json_text

    df = evaluate_agents([("s0.zip", _agent(0))], held_out(_agent(0), [1]), planners=["coqbn"])
    text = json_text({"protocol": protocol_table(df, resamples=10).to_dict(orient="records")})
    assert json.loads(text)["protocol"][0]["runs"] == 1
