"""RL environment speed: steps per second on USNET, 60 requests, K = 10.

Run with ``python -m pytest benchmarks/bench_rl.py --benchmark-enable``.
Each benchmark runs whole episodes (60 steps plus a reset each) with a fixed
cheap policy, so the mean time per round divided by ``steps`` is the time per
environment step; ``extra_info["steps"]`` records the steps per round. The
target for the single-process environment is at least 2e4 steps per second;
that of the batched :class:`~qkdbench.rl.vector.PlanningVectorEnv` (256 episodes
per call, random masked actions drawn in one compiled call) is 2e5 on 2 cores.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import qkdbench.rl  # noqa: F401 - registers qkdbench/Planning-v0
from qkdbench.model import Instance
from qkdbench.rl.env import PlanningEnv, make_vector_env
from qkdbench.rl.multi import PlanningParallelEnv
from qkdbench.rl.vector import PlanningVectorEnv, random_masked_actions
from qkdbench.topologies import make_instance

EPISODES = 20


@pytest.fixture(scope="module")
def usnet60() -> Instance:
    return make_instance("usnet", 60, 10, seed=1)


def _episodes(env: gym.Env[Any, Any], actions: list[int]) -> int:
    steps = 0
    for ep in range(EPISODES):
        _, info = env.reset(seed=ep)
        done = False
        while not done:
            _, _, done, _, info = env.step(
                actions[steps % len(actions)]
                if info["action_mask"][actions[steps % len(actions)]]
                else 0
            )
            steps += 1
    return steps


def test_env_steps(benchmark: BenchmarkFixture, usnet60: Instance) -> None:
    """The environment class itself, one process (the 2e4 steps/s target)."""
    env = PlanningEnv(usnet60)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=997).tolist()
    steps = benchmark(_episodes, env, actions)
    benchmark.extra_info["steps"] = steps
    assert steps == EPISODES * usnet60.n_requests


def test_env_steps_ntn(benchmark: BenchmarkFixture) -> None:
    """USNET TN-NTN, 60 requests: providers (six targets), weather states, fixed charges."""
    from qkdbench.topologies import ntn_instance

    inst = ntn_instance("usnet", 60, max_rate=10, seed=1, site=2000.0, provider_capacity=(20, None))
    env = PlanningEnv(inst)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=997).tolist()
    steps = benchmark(_episodes, env, actions)
    benchmark.extra_info["steps"] = steps
    assert steps == EPISODES * inst.n_requests


def test_env_steps_through_gym_make(benchmark: BenchmarkFixture, usnet60: Instance) -> None:
    """Through ``gymnasium.make`` (order-enforcing and passive-checker wrappers)."""
    env = gym.make("qkdbench/Planning-v0", instance=usnet60)
    assert isinstance(env.action_space, gym.spaces.Discrete)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=997).tolist()
    steps = benchmark(_episodes, env, actions)
    benchmark.extra_info["steps"] = steps


def test_vector_env_steps(benchmark: BenchmarkFixture, usnet60: Instance) -> None:
    """``SyncVectorEnv`` of 8 copies: ``steps`` counts sub-environment steps."""
    venv = make_vector_env(usnet60, 8)
    venv.reset(seed=0)
    zero = np.zeros(8, dtype=np.int64)

    def run() -> int:
        for _ in range(EPISODES * usnet60.n_requests // 8):
            venv.step(zero)
        return 8 * (EPISODES * usnet60.n_requests // 8)

    benchmark.extra_info["steps"] = benchmark(run)


@pytest.mark.parametrize("parallel", [False, True], ids=["one-thread", "prange"])
def test_batched_vector_env_steps(
    benchmark: BenchmarkFixture, usnet60: Instance, parallel: bool
) -> None:
    """``PlanningVectorEnv`` of 256 episodes, random masked actions: ``steps`` counts
    sub-environment steps (resets included, as in the other benchmarks)."""
    n = 256
    venv = PlanningVectorEnv(usnet60, n, parallel=parallel)
    rng = np.random.default_rng(0)
    _, infos = venv.reset(seed=0)
    venv.step(random_masked_actions(infos["action_mask"], rng))  # compile outside the rounds
    rounds = 2 * (usnet60.n_requests + 1)

    def run() -> int:
        _, infos = venv.reset(seed=0)
        for _ in range(rounds):
            infos = venv.step(random_masked_actions(infos["action_mask"], rng))[4]
        return n * rounds

    benchmark.extra_info["steps"] = benchmark(run)


def test_parallel_env_steps(benchmark: BenchmarkFixture, usnet60: Instance) -> None:
    """The PettingZoo env: two parallel steps (route, reserve) per request."""
    penv = PlanningParallelEnv(usnet60)

    def run() -> int:
        n = 0
        for ep in range(EPISODES):
            penv.reset(seed=ep)
            while penv.agents:
                penv.step({"router": 0, "reserver": 0})
                n += 1
        return n

    benchmark.extra_info["steps"] = benchmark(run)


def test_table_build(benchmark: BenchmarkFixture, usnet60: Instance) -> None:
    """Per-instance precomputation (candidates, levels, priced breakpoints), warm path cache."""
    from qkdbench.rl.core import build_tables

    build_tables(usnet60)
    benchmark(build_tables, usnet60)


@pytest.mark.parametrize("rows", [1, 8], ids=["8x1", "8x8"])
def test_pool_vec_env_steps(benchmark: BenchmarkFixture, rows: int) -> None:
    """``PoolVecEnv`` (SB3's ``VecEnv`` API) of 8 groups over 8 USNET 60 instances, random
    masked actions, instance switches included; ``steps`` counts sub-environment steps."""
    from qkdbench.rl.sb3vec import PoolVecEnv

    pool = [make_instance("usnet", 60, 10, seed=s) for s in range(1, 9)]
    venv = PoolVecEnv(pool, 8, rows, order="cost-desc")
    rng = np.random.default_rng(0)
    venv.seed(0)
    venv.reset()
    for _ in range(2 * 60):  # every instance's tables built outside the rounds
        venv.step(random_masked_actions(venv.action_masks(), rng))
    rounds = 2 * 60

    def run() -> int:
        for _ in range(rounds):
            venv.step(random_masked_actions(venv.action_masks(), rng))
        return venv.num_envs * rounds

    benchmark.extra_info["steps"] = benchmark(run)
