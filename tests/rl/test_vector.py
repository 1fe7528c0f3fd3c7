"""The batched environment against its truth: one ``Planning-v0`` env per sub-episode.

Every sub-environment of :class:`PlanningVectorEnv` must give exactly the observations,
rewards, masks and terminations of a single ``qkdbench/Planning-v0`` env with the same
instance and seed stepping the same actions (next-step autoreset included), and each
episode's return must be minus the evaluator's total of its plan.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import qkdbench.rl  # noqa: F401 - registers qkdbench/Planning-v0
from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.model import Instance
from qkdbench.rl.vector import PlanningVectorEnv, random_masked_actions
from qkdbench.testing import all_features_instance, link_kinds_and_providers_instance
from qkdbench.topologies import make_instance

K = 2


def _instances() -> list[Instance]:
    return [
        all_features_instance(),
        link_kinds_and_providers_instance("nsfnet", 6, 4, seed=3, fixed_charges=True),
        make_instance("nsfnet", 5, 4, seed=1),
    ]


@pytest.fixture(scope="module", params=range(3), ids=["all-features", "kinds-providers", "plain"])
def instance(request: pytest.FixtureRequest) -> Instance:
    return _instances()[request.param]


def _rollout(
    venv: PlanningVectorEnv, seed: int, n_steps: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[Any, ...]], list[list[Any]]]:
    """Step ``venv`` with seeded random masked actions; per step: (actions, step result)."""
    obs, infos = venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    first = [obs, infos["action_mask"]]
    actions, results, plans = [], [], []
    for _ in range(n_steps):
        a = random_masked_actions(infos["action_mask"], rng)
        res = venv.step(a)
        infos = res[4]
        actions.append(a)
        results.append(res)
        plans.append([venv.plan(i) if res[2][i] else None for i in range(venv.num_envs)])
    return first, actions, results, plans


@pytest.mark.parametrize("capacity", ["clip", "strict"])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_each_sub_episode_is_a_single_env(instance: Instance, seed: int, capacity: str) -> None:
    n_envs = 3
    venv = PlanningVectorEnv(instance, n_envs, k=K, capacity=capacity)
    F = instance.n_requests
    n_steps = 2 * (F + 1) + 2  # two whole episodes, their resets and a bit of a third
    first, actions, results, plans = _rollout(venv, seed, n_steps)
    for i in range(n_envs):
        env = gym.make("qkdbench/Planning-v0", instance=instance, k=K, capacity=capacity)
        obs, info = env.reset(seed=seed)
        assert np.array_equal(first[0][i], obs)
        assert np.array_equal(first[1][i], info["action_mask"])
        done, ret, episodes = False, 0.0, 0
        for a, (vobs, vrew, vterm, vtrunc, vinfo), vplans in zip(
            actions, results, plans, strict=True
        ):
            assert not vtrunc[i]
            if done:  # next-step autoreset: the action is ignored
                obs, info = env.reset(seed=seed)
                rew, done = 0.0, False
                ret = 0.0
            else:
                obs, rew_, done, _, info = env.step(int(a[i]))
                rew = float(rew_)
                ret += rew
            assert np.array_equal(vobs[i], obs)
            assert vrew[i] == rew
            assert bool(vterm[i]) == done
            assert np.array_equal(vinfo["action_mask"][i], info["action_mask"])
            assert vinfo["cost"][i] == info["cost"]
            if done:
                episodes += 1
                vplan = vplans[i]
                assert vplan is not None
                assert vplan.routes == info["plan"].routes
                assert abs(ret + evaluate(instance, vplan).total) < 1e-9 * max(1.0, abs(ret))
        assert episodes == 2


def test_same_seed_same_trajectory() -> None:
    inst = all_features_instance()
    runs = [_rollout(PlanningVectorEnv(inst, 4, k=K), 5, 3 * inst.n_requests) for _ in range(2)]
    (f1, a1, r1, _), (f2, a2, r2, _) = runs
    assert all(np.array_equal(x, y) for x, y in zip(f1, f2, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(a1, a2, strict=True))
    for s1, s2 in zip(r1, r2, strict=True):
        for x, y in zip(s1[:4], s2[:4], strict=True):
            assert np.array_equal(x, y)


def test_parallel_kernel_matches_serial() -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=3, fixed_charges=True)
    serial = _rollout(PlanningVectorEnv(inst, 5, k=K), 2, 15)
    par = _rollout(PlanningVectorEnv(inst, 5, k=K, parallel=True), 2, 15)
    for s1, s2 in zip(serial[2], par[2], strict=True):
        for x, y in zip(s1[:4], s2[:4], strict=True):
            assert np.array_equal(x, y)


def test_spaces_masks_and_copies() -> None:
    inst = all_features_instance()
    venv = PlanningVectorEnv(inst, 3, k=K)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, infos = venv.reset(seed=0)
    size = venv.env.layout.size
    assert obs.shape == (3, size)
    assert obs in venv.observation_space
    assert venv.action_space.shape == (3,)
    assert np.array_equal(venv.action_masks(), infos["action_mask"])
    obs2, *_ = venv.step(random_masked_actions(infos["action_mask"], np.random.default_rng(0)))
    assert obs2 in venv.observation_space
    assert not np.array_equal(obs, obs2)  # the first observation was not overwritten
    obs2[:] = -1.0
    assert venv.action_masks().any(axis=1).all()


def test_reset_mask_resets_only_those() -> None:
    inst = make_instance("nsfnet", 5, 4, seed=1)
    venv = PlanningVectorEnv(inst, 2, k=K)
    obs0, infos = venv.reset(seed=0)
    obs1, *_ = venv.step(np.asarray(infos["action_mask"].argmax(axis=1)))
    obs, _ = venv.reset(options={"reset_mask": np.array([True, False])})
    assert np.array_equal(obs[0], obs0[0])
    assert np.array_equal(obs[1], obs1[1])
    with pytest.raises(InputError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.array([True])})


def test_bad_actions_and_arguments() -> None:
    inst = all_features_instance()
    venv = PlanningVectorEnv(inst, 2, k=K)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros(2, dtype=np.int64))
    _, infos = venv.reset(seed=0)
    mask = infos["action_mask"]
    good = mask.argmax(axis=1)
    bad = good.copy()
    bad[1] = mask.shape[1]  # out of range
    with pytest.raises(InputError, match="sub-environment 1"):
        venv.step(bad)
    bad[1] = -1
    with pytest.raises(InputError, match="sub-environment 1"):
        venv.step(bad)
    assert np.array_equal(venv.action_masks(), mask)  # nothing stepped
    with pytest.raises(InputError, match="integers"):
        venv.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(InputError, match="integers"):
        venv.step(np.zeros(2))
    with pytest.raises(RuntimeError, match="not finished"):
        venv.plan(0)
    with pytest.raises(InputError, match="num_envs"):
        PlanningVectorEnv(inst, 0)
    with pytest.raises(InputError, match="one Instance"):
        PlanningVectorEnv([inst], 2)  # type: ignore[arg-type]


def test_random_masked_actions_uniform_over_valid() -> None:
    mask = np.zeros((4000, 5), dtype=bool)
    mask[:, [1, 3, 4]] = True
    mask[0] = False
    mask[0, 2] = True
    a = random_masked_actions(mask, np.random.default_rng(0))
    assert a[0] == 2
    assert mask[np.arange(mask.shape[0]), a].all()
    counts = np.bincount(a[1:], minlength=5)
    assert counts[0] == counts[2] == 0
    assert np.all(np.abs(counts[[1, 3, 4]] / 3999 - 1 / 3) < 0.03)


def test_gymnasium_episode_statistics_wrapper() -> None:
    """Gymnasium's own vector wrapper reads the episodes (next-step autoreset)."""
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    inst = link_kinds_and_providers_instance("nsfnet", 6, 4, seed=3, fixed_charges=True)
    inner = PlanningVectorEnv(inst, 3, k=K)
    venv = RecordEpisodeStatistics(inner)
    _, infos = venv.reset(seed=0)
    rng = np.random.default_rng(0)
    returns = np.zeros(3)
    for _ in range(inst.n_requests):
        _, rew, term, _, infos = venv.step(random_masked_actions(infos["action_mask"], rng))
        returns += rew
    assert term.all()
    assert np.allclose(infos["episode"]["r"], returns, rtol=1e-6)
    assert (infos["episode"]["l"] == inst.n_requests).all()
    assert np.array_equal(inner.action_masks(), infos["action_mask"])
