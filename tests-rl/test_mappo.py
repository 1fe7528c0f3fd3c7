"""The hierarchical MAPPO baseline (qkdbench.rl.mappo), trained tiny (tens of steps).

Needs the rl extra (torch), like the MaskablePPO tests beside it; the cross-checks
against TorchRL's GAE and masked categorical run where TorchRL is installed too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from gymnasium.spaces import Discrete

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.rl.env import PlanningEnv
from qkdbench.rl.multi import RESERVER, ROUTER, PlanningParallelEnv
from qkdbench.testing import all_features_instance
from qkdbench.topologies import make_instance

INSTANCES = [make_instance("nsfnet", 3, 3, seed=s) for s in (1, 2)]
TINY: dict[str, Any] = {"n_envs": 2, "n_steps": 8, "epochs": 2, "minibatch": 8, "net": (8,)}


def _train(seed: int, **kw: Any) -> Any:
    from qkdbench.rl.mappo import MappoConfig, train_mappo

    cfg = MappoConfig(**{**TINY, **kw.pop("config", {})})
    return train_mappo(None, kw.pop("instances", INSTANCES), 32, seed, k=1, config=cfg, **kw)


def test_one_seed_gives_the_same_parameters() -> None:
    import torch

    a, b, c = _train(3), _train(3), _train(4)
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_gae_by_hand_and_against_torchrl() -> None:
    from qkdbench.rl.mappo import gae

    # two steps, the second ends the episode; gamma 1, lambda 0.5, values 1 and 2
    r = np.array([[1.0], [3.0]])
    v = np.array([[1.0], [2.0]])
    d = np.array([[False], [True]])
    adv, ret = gae(r, v, d, np.array([5.0]), 1.0, 0.5)
    # delta1 = 3 - 2 = 1 (terminal: no bootstrap); delta0 = 1 + 2 - 1 = 2; adv0 = 2 + 0.5
    assert adv.ravel().tolist() == [2.5, 1.0]
    assert ret.ravel().tolist() == [3.5, 3.0]
    if importlib.util.find_spec("torchrl") is None:
        return
    import torch
    from torchrl.objectives.value.functional import generalized_advantage_estimate

    rng = np.random.default_rng(0)
    T, E = 7, 3
    r, v = rng.normal(size=(T, E)), rng.normal(size=(T, E))
    d = rng.random((T, E)) < 0.3
    last = rng.normal(size=E)
    adv, _ = gae(r, v, d, last, 0.9, 0.8)
    nv = np.vstack([v[1:], last[None]])

    def col(x: np.ndarray) -> Any:  # torchrl: (E, T, 1), time on dim -2
        return torch.as_tensor(x.T[..., None], dtype=torch.float64)

    done = torch.as_tensor(d.T[..., None])
    ref, _ = generalized_advantage_estimate(0.9, 0.8, col(v), col(nv), col(r), done, done)


class _CheckedEnv(PlanningParallelEnv):
    """Records each agent's last mask and fails on an action it rules out."""

    seen = 0

    def _keep(self, obs: dict) -> None:
        self._last = {a: o["action_mask"].copy() for a, o in obs.items()}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, infos = super().reset(seed=seed, options=options)
        self._keep(obs)
        return obs, infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        turn = ROUTER if self.state()[self.env.observation_space.shape[0]] > 0.5 else RESERVER
        assert self._last[turn][int(actions[turn])] == 1, (turn, actions, self._last[turn])
        type(self).seen += 1
        out = super().step(actions)
        self._keep(out[0])
        return out


def test_sampled_actions_respect_the_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    from qkdbench.rl import mappo

    monkeypatch.setattr(mappo, "PlanningParallelEnv", _CheckedEnv)
    _CheckedEnv.seen = 0
    # strict capacity masks reservation levels too; providers mask the router's targets
    for capacity in ("strict", "clip"):
        mappo.train_mappo(
            None,
            [all_features_instance()],
            400,
            0,
            k=2,
            capacity=capacity,
            config=mappo.MappoConfig(**{**TINY, "n_steps": 50, "n_envs": 4}),
        )
    assert _CheckedEnv.seen >= 800


def test_the_critic_reads_the_global_state(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from qkdbench.rl import mappo

    states: list[np.ndarray] = []
    seen: list[np.ndarray] = []

    class Spy(PlanningParallelEnv):
        def state(self) -> np.ndarray:
            s = super().state()
            states.append(s.copy())
            return s

    class Record(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            seen.append(x.detach().numpy().copy())
            return x

    build = mappo.build_nets

    def spied(*args: Any) -> Any:
        nets = build(*args)
        nets["critic"] = torch.nn.Sequential(Record(), *nets["critic"])
        return nets

    monkeypatch.setattr(mappo, "PlanningParallelEnv", Spy)
    monkeypatch.setattr(mappo, "build_nets", spied)
    _train(0)
    rows = np.vstack(seen)
    known = {s.tobytes() for s in states}
    assert rows.shape[1] == states[0].shape[0]
    assert all(r.tobytes() in known for r in rows)  # every critic input is a state()
    phases = rows[:, PlanningEnv(INSTANCES[0], k=1).observation_space.shape[0]]
    assert set(phases.tolist()) == {0.0, 1.0}  # both agents' turns are valued


def test_behaviour_cloning_imitates_coqbn_on_a_tiny_instance() -> None:
    import torch

    from qkdbench.rl.mappo import MappoAgent, behaviour_cloning, build_nets, demonstrations
    from qkdbench.rl.planners import PolicyPlanner

    inst = all_features_instance()
    kw = {"k": 2, "order": "instance", "capacity": "clip"}
    demo = demonstrations([inst], "coqbn", kw)
    assert demo.agents.tolist() == [0, 1] * inst.n_requests
    penv = PlanningParallelEnv(inst, **kw)
    n_obs = penv.state_space.shape[0]
    n_r, n_q = (int(cast(Discrete, penv.action_space(a)).n) for a in (ROUTER, RESERVER))
    torch.manual_seed(0)
    nets = build_nets(n_obs, n_r, n_q, (32,))
    losses = behaviour_cloning(nets, demo, 300, learning_rate=3e-3, seed=0)
    assert losses[-1] < 0.05 * losses[0]
    meta = {"n_obs": n_obs, "n_router": n_r, "n_reserver": n_q, "net": [32]}
    agent = MappoAgent(nets, {**kw, "levels": penv.env.levels}, meta)
    plan = PolicyPlanner(agent, "bc", agent.env_kwargs).plan(inst)
    coqbn = get_planner("coqbn").plan(inst)
    assert evaluate(inst, plan).total == pytest.approx(evaluate(inst, coqbn).total, rel=1e-9)
    assert [r.path for r in plan.routes] == [r.path for r in coqbn.routes]


def test_save_load_round_trip_plays_the_same_plan(tmp_path: Path) -> None:
    from qkdbench.rl.loading import load_agent
    from qkdbench.rl.mappo import MappoAgent, save_mappo
    from qkdbench.rl.planners import PolicyPlanner

    agent = _train(1)
    path = tmp_path / "mappo.zip"
    save_mappo(path, agent)
    back = load_agent(path)
    assert isinstance(back, MappoAgent)
    from qkdbench.heuristics import unregister_planner
    from qkdbench.rl.planners import register_policy

    register_policy("test-mappo", str(path))
    try:
        for inst in [*INSTANCES, make_instance("nsfnet", 3, 3, seed=9)]:
            a = PolicyPlanner(agent, "m", agent.env_kwargs).plan(inst)
            b = PolicyPlanner(str(path), "m").plan(inst)
            assert a.routes == b.routes
            assert evaluate(inst, b).feasible
            assert get_planner("test-mappo").plan(inst).routes == a.routes  # the registry
    finally:
        unregister_planner("test-mappo")


def test_the_planner_plays_what_the_two_agents_play_greedily() -> None:
    agent = _train(2)
    inst = INSTANCES[1]
    penv = PlanningParallelEnv(inst, **agent.env_kwargs)
    obs, _ = penv.reset(seed=0)
    infos: dict = {}
    while penv.agents:
        state = penv.state()
        turn = ROUTER if state[penv.env.observation_space.shape[0]] > 0.5 else RESERVER
        action = agent.act(penv, state, obs[turn]["action_mask"])
        obs, _, _, _, infos = penv.step({ROUTER: 0, RESERVER: 0, turn: action})
    from qkdbench.rl.planners import PolicyPlanner

    plan = PolicyPlanner(agent, "m", agent.env_kwargs).plan(inst)
    assert plan.routes == infos[ROUTER]["plan"].routes


def test_an_agent_of_another_topology_and_a_corrupt_file_are_refused(tmp_path: Path) -> None:
    import zipfile

    from qkdbench.rl.loading import load_agent
    from qkdbench.rl.planners import PolicyPlanner

    agent = _train(0)
    with pytest.raises(InputError, match="another topology"):
        PolicyPlanner(agent, "m", agent.env_kwargs).plan(make_instance("usnet", 3, 3, seed=1))
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("mappo.json", "{not json")
    with pytest.raises(InputError, match="not a saved MAPPO agent"):
        load_agent(bad)


def test_selection_keeps_parameters_no_worse_than_the_start() -> None:
    from qkdbench.rl import mappo

    agent = _train(5, config={"select_every": 1, "select_instances": 2})
    assert "selected_at_step" in agent.meta
    # the kept parameters score no worse on the selection instances than the start did
    kept = mappo._greedy_score(agent.model, INSTANCES, agent.env_kwargs, agent.meta)
    import torch

    torch.manual_seed(5)  # the initial parameters of seed 5
    fresh = mappo.build_nets(
        agent.meta["n_obs"], agent.meta["n_router"], agent.meta["n_reserver"], TINY["net"]
    )
    assert kept <= mappo._greedy_score(fresh, INSTANCES, agent.env_kwargs, agent.meta) + 1e-9
