"""The PettingZoo router/reserver environment: API and seed tests, shared exact reward."""

from __future__ import annotations

import math

import numpy as np
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
