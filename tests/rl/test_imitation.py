"""Demonstrations for behaviour cloning, against the planners they come from (no torch).

The batched greedy labels are :class:`GreedyPolicy`'s actions; an unperturbed demo
episode costs what the planner's plan costs (``rl-greedy`` through the same settings;
``coqbn`` projected on the actions with the instance order: the same plan); the returns
to go start at minus the episode's total over the cost scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.rl.env import PlanningEnv
from qkdbench.rl.imitation import collect_demos, greedy_actions
from qkdbench.rl.planners import PolicyPlanner
from qkdbench.rl.policies import GreedyPolicy
from qkdbench.rl.vector import random_masked_actions
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.topologies import make_instance


def test_batched_greedy_labels_are_the_greedy_policys_actions() -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 8, 4, seed=2, fixed_charges=True)
    env = PlanningEnv(inst, k=2)
    act = GreedyPolicy().bind(env)
    rng = np.random.default_rng(0)
    for ep in range(3):
        obs, info = env.reset(seed=ep)
        done = False
        while not done:
            mask = info["action_mask"]
            label = greedy_actions(env.layout, obs[None], mask[None])
            assert int(label[0]) == act(obs, mask)
            a = random_masked_actions(mask[None], rng)[0]  # off the greedy's path too
            obs, _, done, _, info = env.step(int(a))


@pytest.mark.parametrize("order", ["instance", "cost-desc"])
def test_an_unperturbed_greedy_demo_costs_what_rl_greedy_costs(order: str) -> None:
    pool = [make_instance("nsfnet", 6, 4, seed=s) for s in (1, 2)]
    kw: dict[str, Any] = {"k": 2, "order": order, "capacity": "clip"}
    demos = collect_demos(pool, "rl-greedy", kw, episodes=3, noise=0.5, seed=1)
    greedy = PolicyPlanner(GreedyPolicy(), "g", kw)
    F = 6
    assert len(demos) == 2 * F * 3
    for j, inst in enumerate(pool):
        total = evaluate(inst, greedy.plan(inst)).total
        assert demos.expert_costs[inst.name] == pytest.approx(total, rel=1e-9)
        scale = PlanningEnv(inst, **kw).cost_scale
        first = j * F * 3  # step 0 of episode 0 (unperturbed) of instance j
        assert demos.returns[first] == pytest.approx(-total / scale, rel=1e-6)
    # every label is the greedy's action in its state, perturbed episodes included
    env = PlanningEnv(pool[0], **kw)
    np.testing.assert_array_equal(demos.actions, greedy_actions(env.layout, demos.obs, demos.masks))
    assert demos.masks[np.arange(len(demos)), demos.actions].all()


def test_a_projected_coqbn_plan_is_coqbns_plan() -> None:
    pool = [link_kinds_and_providers_instance("nsfnet", 6, 4, seed=s) for s in (3, 4)]
    kw: dict[str, Any] = {"k": 2, "order": "instance", "capacity": "clip"}
    demos = collect_demos(pool, "coqbn", kw)
    for inst in pool:
        total = evaluate(inst, get_planner("coqbn").plan(inst)).total
        assert demos.expert_costs[inst.name] == pytest.approx(total, rel=1e-9)
    assert len(demos) == sum(inst.n_requests for inst in pool)


def test_demo_options_are_checked() -> None:
    pool = [make_instance("nsfnet", 3, 4, seed=1)]
    with pytest.raises(InputError, match="perturbed demonstrations"):
        collect_demos(pool, "coqbn", {"k": 1}, episodes=2)
    with pytest.raises(InputError, match="noise"):
        collect_demos(pool, "rl-greedy", {"k": 1}, noise=1.5)
    with pytest.raises(InputError, match="episodes"):
        collect_demos(pool, "rl-greedy", {"k": 1}, episodes=0)
