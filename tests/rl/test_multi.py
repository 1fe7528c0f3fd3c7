"""The PettingZoo router/reserver environment: API and seed tests, shared exact reward."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from qkdbench.evaluation import evaluate
from qkdbench.rl.env import PlanningEnv
from qkdbench.rl.multi import RESERVER, ROUTER, PlanningParallelEnv
from qkdbench.topologies import make_instance

INST = make_instance("usnet", 8, 5, seed=2)


def test_parallel_api_test_passes() -> None:
    parallel_api_test(PlanningParallelEnv(INST, k=2), num_cycles=200)
    parallel_api_test(PlanningParallelEnv(INST, k=2, capacity="strict"), num_cycles=200)


def test_parallel_seed_test_passes() -> None:
    parallel_seed_test(lambda: PlanningParallelEnv(INST, k=2))


def test_team_reward_is_the_single_agent_reward_and_state_is_global() -> None:
    for seed in range(4):
        penv = PlanningParallelEnv(INST, k=3, capacity="strict")
        single = PlanningEnv(INST, k=3, capacity="strict")
        obs, _ = penv.reset(seed=seed)
        s_obs, s_info = single.reset(seed=seed)
        rng = np.random.default_rng(seed)
        returns = {ROUTER: 0.0, RESERVER: 0.0}
        single_ret = 0.0
        while penv.agents:
            assert np.array_equal(penv.state(), obs[ROUTER]["observation"])
            assert penv.state_space.contains(penv.state())
            phase = int(np.argmax(penv.state()[s_obs.size : s_obs.size + 2]))
            acting = ROUTER if phase == 0 else RESERVER
            idle = RESERVER if phase == 0 else ROUTER
            idle_mask = obs[idle]["action_mask"]
            assert idle_mask.tolist() == [1] + [0] * (idle_mask.size - 1)
            a = int(rng.choice(np.flatnonzero(obs[acting]["action_mask"])))
            if phase == 0:
                slot = a
                assert s_info["action_mask"].reshape(penv._S, -1)[slot].any()
            else:
                flat = single.encode_action(slot, *divmod(a, penv._L))
                assert s_info["action_mask"][flat]
                s_obs, s_r, _, _, s_info = single.step(flat)
                single_ret += s_r
            obs, rew, term, trunc, infos = penv.step({acting: a, idle: 12345})  # idle ignored
            assert rew[ROUTER] == rew[RESERVER]
            for ag in rew:
                returns[ag] += rew[ag]
        plan = infos[ROUTER]["plan"]
        total = evaluate(INST, plan).total
        assert math.isclose(returns[ROUTER], -total, rel_tol=1e-9)
        assert returns[ROUTER] == returns[RESERVER] == single_ret
        assert plan.routes == single.plan().routes


def test_parallel_step_refuses_unknown_and_missing_agents() -> None:
    from qkdbench.exceptions import InputError

    env = PlanningParallelEnv(make_instance("nsfnet", 3, 2, seed=1))
    env.reset(seed=0)
    for actions, problem in [
        ({"router": 0, "routr": 1}, "unknown agent 'routr'"),
        ({"reserver": 0}, "no action for 'router', whose turn it is"),
        ([0], "expected a dict of actions"),
    ]:
        with pytest.raises(InputError, match=problem):
            env.step(actions)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [2.7, 0.0, "0", True, None, np.array([0, 1]), np.float64(0.0)])
def test_every_step_refuses_an_action_that_is_not_one_integer(bad: object) -> None:
    """Both environments read actions through the one check (as_action)."""
    from qkdbench.exceptions import InputError

    inst = make_instance("nsfnet", 3, 2, seed=1)
    single = PlanningEnv(inst)
    single.reset(seed=0)
    with pytest.raises(InputError, match="action must be an integer"):
        single.step(bad)
    multi = PlanningParallelEnv(inst)
    multi.reset(seed=0)
    with pytest.raises(InputError, match="router action must be an integer"):
        multi.step({"router": bad, "reserver": 0})
    ok = int(np.flatnonzero(single.action_masks())[0])
    single.step(np.int64(ok))  # NumPy integers (what SB3 hands over) are integers
