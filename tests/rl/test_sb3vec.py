"""The SB3 adapter over batched episodes against its truth: one ``PlanningEnv`` per episode.

Every sub-environment of :class:`PoolVecEnv` must give the observations, masks, rewards
(over the instance's cost scale), ``done`` flags and episode returns of a single
:class:`PlanningEnv` on the instance it plans, stepping the same actions, across
episode boundaries (SB3's convention: the next episode's first observation, the last
one in ``terminal_observation``); each return is minus the evaluator's total of the
episode's plan over the cost scale. Runs without the rl extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.model import Instance
from qkdbench.rl.env import PlanningEnv
from qkdbench.rl.sb3vec import PoolVecEnv
from qkdbench.rl.vector import random_masked_actions
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.topologies import make_instance

KW: dict[str, Any] = {"k": 2, "order": "cost-desc", "capacity": "clip"}


def _pool() -> list[Instance]:
    return [make_instance("nsfnet", 5, 4, seed=s) for s in (1, 2, 3)]


@pytest.mark.parametrize(("groups", "rows"), [(2, 3), (4, 1), (1, 2)])
def test_every_episode_is_a_single_env_stepping_the_same_actions(groups: int, rows: int) -> None:
    pool = _pool()
    venv = PoolVecEnv(pool, groups, rows, **KW)
    venv.seed(3)
    obs = venv.reset()
    n = venv.num_envs
    rng = np.random.default_rng(0)
    singles: list[PlanningEnv] = []
    actions_of: list[list[int]] = [[] for _ in range(n)]
    returns = np.zeros(n)
    episodes = 0

    def start(i: int) -> np.ndarray:
        env = PlanningEnv(venv.instance_of(i), **KW)
        first, info = env.reset(seed=0)
        if i < len(singles):
            singles[i] = env
        else:
            singles.append(env)
        np.testing.assert_array_equal(venv.action_masks()[i], info["action_mask"])
        return first

    for i in range(n):
        np.testing.assert_array_equal(obs[i], start(i))
    for _ in range(3 * 5 + 2):  # three episodes of 5 requests and a bit
        masks = np.stack(venv.env_method("action_masks"))
        np.testing.assert_array_equal(masks, venv.action_masks())
        acts = random_masked_actions(masks, rng)
        venv.step_async(acts)
        obs, rewards, dones, infos = venv.step_wait()
        for i in range(n):
            env = singles[i]
            o, r, done, _, info = env.step(int(acts[i]))
            actions_of[i].append(int(acts[i]))
            assert rewards[i] == pytest.approx(r / env.cost_scale, rel=1e-6, abs=1e-9)
            returns[i] += r / env.cost_scale
            assert dones[i] == done
            assert infos[i]["instance"] == env.instance.name
            assert infos[i]["cost"] == pytest.approx(info["cost"])
            if done:
                episodes += 1
                np.testing.assert_array_equal(infos[i]["terminal_observation"], o)
                ep = infos[i]["episode"]
                total = evaluate(env.instance, info["plan"]).total
                assert ep["r"] == pytest.approx(-total / env.cost_scale, rel=1e-6)
                assert ep["r"] == pytest.approx(returns[i], rel=1e-6)
                assert ep["l"] == env.instance.n_requests
                returns[i] = 0.0
                np.testing.assert_array_equal(obs[i], start(i))
            else:
                np.testing.assert_array_equal(obs[i], o)
                np.testing.assert_array_equal(venv.action_masks()[i], info["action_mask"])
    assert episodes == 3 * n


def test_groups_plan_different_instances_and_the_draws_are_seeded() -> None:
    pool = _pool()

    def draws(seed: int) -> list[list[str]]:
        venv = PoolVecEnv(pool, 3, 2, **KW)
        venv.seed(seed)
        venv.reset()
        out = []
        for _ in range(4):
            names = [venv.instance_of(i).name for i in range(venv.num_envs)]
            assert names[0] == names[1]  # a group, one instance
            assert names[2] == names[3]
            assert len({names[0], names[2], names[4]}) == 3  # no two groups share one
            out.append(names)
            for _ in range(5):
                venv.step(random_masked_actions(venv.action_masks(), np.random.default_rng(1)))
        return out

    assert draws(7) == draws(7)


def test_a_pool_smaller_than_the_groups_builds_copies() -> None:
    pool = _pool()[:1]
    venv = PoolVecEnv(pool, 3, 1, **KW)
    venv.seed(0)
    venv.reset()
    for _ in range(10):
        _, _, dones, _ = venv.step(
            random_masked_actions(venv.action_masks(), np.random.default_rng(0))
        )
    assert dones.all()  # two episodes in every group, the same instance


def test_the_adapter_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="at least one instance"):
        PoolVecEnv([], 1, 1)
    with pytest.raises(InputError, match="rows must be a positive integer"):
        PoolVecEnv(_pool(), 1, 0)
    venv = PoolVecEnv(_pool(), 1, 2, **KW)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step_wait()
    venv.reset()
    with pytest.raises(InputError, match="masked out"):
        venv.step(np.array([-1, 0]))
    with pytest.raises(AttributeError, match="no method"):
        venv.env_method("render")
    other = link_kinds_and_providers_instance("nsfnet", 5, 4, seed=1)
    mixed = PoolVecEnv([_pool()[0], other], 2, 1, **KW)
    with pytest.raises(InputError, match="observations of shape"):
        mixed.reset()
