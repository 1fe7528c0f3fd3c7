"""Reinforcement-learning interfaces over the one evaluator.

* :class:`~qkdbench.rl.env.PlanningEnv`, registered with Gymnasium as
  ``qkdbench/Planning-v0`` when this package is imported;
* :class:`~qkdbench.rl.vector.PlanningVectorEnv`, a Gymnasium ``VectorEnv`` stepping
  many episodes of one instance in one Numba call (imported on first use);
* :class:`~qkdbench.rl.multi.PlanningParallelEnv`, a PettingZoo ``ParallelEnv``
  with a router and a reserver agent (imported on first use);
* heuristic policies (:mod:`qkdbench.rl.policies`) and
  :class:`~qkdbench.rl.planners.PolicyPlanner`, which runs any policy as a
  planner (registered: ``rl-coqbn``, ``rl-greedy``);
* a learned baseline (:mod:`qkdbench.rl.train`, MaskablePPO; needs the ``rl``
  extra: ``pip install ".[rl]"`` in a checkout, ``pip install "qkdbench[rl]"`` from a
  package index), and several of its runs (training seeds) on held-out instances
  (:mod:`qkdbench.rl.heldout`).

Examples
--------
>>> import gymnasium as gym
>>> import qkdbench.rl
>>> "qkdbench/Planning-v0" in gym.registry
True
"""

from __future__ import annotations

from typing import Any

import gymnasium

from .env import ObsLayout, PlanningEnv, make_vector_env

__all__ = [
    "ENV_ID",
    "PlanningEnv",
    "ObsLayout",
    "make_vector_env",
    "PlanningParallelEnv",
    "PlanningVectorEnv",
    "PolicyPlanner",
    "CoQBNPolicy",
    "GreedyPolicy",
    "RandomPolicy",
]

#: Gymnasium id of :class:`PlanningEnv`.
ENV_ID = "qkdbench/Planning-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="qkdbench.rl.env:PlanningEnv")

_LAZY = {
    "PlanningParallelEnv": "multi",
    "PlanningVectorEnv": "vector",
    "PolicyPlanner": "planners",
    "CoQBNPolicy": "policies",
    "GreedyPolicy": "policies",
    "RandomPolicy": "policies",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
