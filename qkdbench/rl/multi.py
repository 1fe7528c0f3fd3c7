"""A PettingZoo ``ParallelEnv``: a router above a reserver, one shared team reward.

The hierarchy of the TN-NTN MAPPO setting (an assignment agent above a
resource agent) on the planning problem of :class:`~qkdbench.rl.env.PlanningEnv`.
Each request takes two parallel steps:

1. **route phase**: the ``router`` chooses the target and its candidate slot
   (``Discrete(T * S)``, flat ``target * S + slot``: the provider choice of a
   request with targets is the router's; ``T = 1`` without providers);
2. **reserve phase**: the ``reserver`` chooses the QKD and KM levels on that
   route (``Discrete(L * L)``, flat ``qkd_level * L + kml_level``).

The agent whose turn it is not acts a no-op: its mask allows action ``0`` only
and whatever it sends is ignored. Both agents get the same reward: ``0`` after
the route phase and minus the priced cost of the request after the reserve
phase, so each agent's return is the single-agent return, minus the
evaluator's total of the plan (in ``infos[agent]["plan"]`` at the end).

Observations are dicts ``{"observation": Box, "action_mask": int8 Box}`` (the
PettingZoo convention for masks); the observation is the single-agent one
followed by the phase (one-hot, 2) and the chosen route slot (one-hot, ``T * S``). Both
agents see the whole network (the problem is fully observable), so
:meth:`PlanningParallelEnv.state` (for a centralised critic) is that same vector.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> penv = PlanningParallelEnv(make_instance("nsfnet", 3, 3, seed=1), k=1)
>>> obs, infos = penv.reset(seed=0)
>>> penv.agents, penv.state().shape == penv.state_space.shape
(['router', 'reserver'], True)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from ..exceptions import InputError
from .core import OBS_HIGH
from .env import PlanningEnv, as_action

__all__ = ["PlanningParallelEnv", "ROUTER", "RESERVER"]

ROUTER = "router"
RESERVER = "reserver"


class PlanningParallelEnv(ParallelEnv):
    """Router and reserver agents over :class:`~qkdbench.rl.env.PlanningEnv`.

    Parameters
    ----------
    instance : Instance, sequence of Instance, or callable ``rng -> Instance``
    **env_kwargs
        :class:`~qkdbench.rl.env.PlanningEnv` keywords (``k``, ``levels``,
        ``order``, ``capacity``).
    """

    metadata = {"render_modes": [], "name": "qkdbench_planning_v0", "is_parallelizable": True}

    def __init__(self, instance: Any, **env_kwargs: Any) -> None:
        self.env = PlanningEnv(instance, **env_kwargs)
        self.possible_agents = [ROUTER, RESERVER]
        self.agents: list[str] = []
        T, S, L, _ = self.env.action_dims
        self._S, self._L = T * S, L  # the router's actions: target-major route slots
        base = self.env.observation_space.shape[0]
        self._n_obs = base + 2 + T * S
        self.state_space = gym.spaces.Box(0.0, OBS_HIGH, (self._n_obs,), dtype=np.float32)
        self._action_spaces = {
            ROUTER: gym.spaces.Discrete(T * S),
            RESERVER: gym.spaces.Discrete(L * L),
        }
        self._obs_spaces = {
            a: gym.spaces.Dict(
                {
                    "observation": self.state_space,
                    "action_mask": gym.spaces.Box(0, 1, (sp.n,), dtype=np.int8),
                }
            )
            for a, sp in self._action_spaces.items()
        }
        self._phase = 0
        self._slot = -1

    def observation_space(self, agent: str) -> gym.spaces.Space:
        """The agent's observation space.

        Parameters
        ----------
        agent : str
            ``"router"`` or ``"reserver"``.

        Returns
        -------
        gymnasium.spaces.Space
            The space built with the environment, the same object on every call.
        """
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> gym.spaces.Space:
        """The agent's action space.

        Parameters
        ----------
        agent : str
            ``"router"`` or ``"reserver"``.

        Returns
        -------
        gymnasium.spaces.Space
            The space built with the environment, the same object on every call.
        """
        return self._action_spaces[agent]

    # ---- views
    def _flat_mask(self) -> np.ndarray:
        return self.env.action_masks().reshape(self._S, self._L * self._L)

    def _masks(self) -> dict[str, np.ndarray]:
        flat = self._flat_mask()
        router = np.zeros(self._S, dtype=np.int8)
        reserver = np.zeros(self._L * self._L, dtype=np.int8)
        if self._phase == 0:
            router[:] = flat.any(axis=1)
            reserver[0] = 1
        else:
            router[0] = 1
            reserver[:] = flat[self._slot]
        return {ROUTER: router, RESERVER: reserver}

    def state(self) -> np.ndarray:
        """The global state: the single-agent observation, the phase and the chosen slot.

        Returns
        -------
        ndarray of float32
        """
        out = np.zeros(self._n_obs, dtype=np.float32)
        base = self._base.shape[0]
        out[:base] = self._base
        out[base + self._phase] = 1.0
        if self._slot >= 0:
            out[base + 2 + self._slot] = 1.0
        return out

    def _observe(self) -> dict[str, dict[str, np.ndarray]]:
        state = self.state()
        masks = self._masks()
        return {a: {"observation": state.copy(), "action_mask": masks[a]} for a in self.agents}

    # ---- episode
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict, dict]:
        """Start an episode (``options`` as for :meth:`PlanningEnv.reset`).

        Parameters
        ----------
        seed : int, optional
            As for :meth:`PlanningEnv.reset`.
        options : dict, optional
            As for :meth:`PlanningEnv.reset`.

        Returns
        -------
        observations : dict
            Per agent, ``observation`` (the global state) and ``action_mask``.
        infos : dict
            Per agent, ``action_mask`` and ``cost``.
        """
        self._base, info = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        self._phase, self._slot = 0, -1
        obs = self._observe()
        return obs, {
            a: {"action_mask": obs[a]["action_mask"], "cost": info["cost"]} for a in self.agents
        }

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """One phase: the router's slot, or the reserver's levels (see the module docstring).

        Parameters
        ----------
        actions : dict
            The action of each agent; only the one whose phase it is counts.

        Returns
        -------
        observations, rewards, terminations, truncations, infos : dict
            Per agent; the reward is 0 after the router's phase and minus the priced cost
            after the reserver's; at the end ``infos`` hold the ``plan``.

        Raises
        ------
        RuntimeError
            If the episode has not started or is over.
        InputError
            For an agent name that is not ``router`` or ``reserver``, no action of the agent
            whose turn it is, an action that is not an integer, a router slot masked out or
            a reserver action out of range.
        """
        if not self.agents:
            raise RuntimeError("call reset() before step() (the episode is over)")
        if not isinstance(actions, dict):
            raise InputError(f"expected a dict of actions by agent, got {type(actions).__name__}")
        unknown = sorted(map(str, set(actions) - set(self.possible_agents)))
        if unknown:
            raise InputError(
                f"unknown agent {unknown[0]!r}; the agents are {', '.join(self.possible_agents)}"
            )
        turn = ROUTER if self._phase == 0 else RESERVER
        if turn not in actions:
            raise InputError(f"no action for {turn!r}, whose turn it is")
        done = False
        extra: dict[str, Any] = {}
        if self._phase == 0:
            slot = as_action(actions[ROUTER], "router action")
            if not 0 <= slot < self._S or not self._flat_mask()[slot].any():
                raise InputError(f"router action {slot} is masked out")
            self._slot, self._phase = slot, 1
            reward = 0.0
            cost = self.env._cost
        else:
            levels = as_action(actions[RESERVER], "reserver action")
            qi, ki = divmod(levels, self._L)
            if not 0 <= levels < self._L * self._L:
                raise InputError(f"reserver action {levels} is out of range")
            target, slot = divmod(self._slot, self.env.action_dims[1])
            self._base, reward, done, _, info = self.env.step(
                self.env.encode_action(slot, qi, ki, target)
            )
            cost = info["cost"]
            if done:
                extra["plan"] = info["plan"]
            self._slot, self._phase = -1, 0
        obs = self._observe()
        rewards = {a: float(reward) for a in self.agents}
        terms = dict.fromkeys(self.agents, done)
        truncs = dict.fromkeys(self.agents, False)
        infos = {
            a: {"action_mask": obs[a]["action_mask"], "cost": cost, **extra} for a in self.agents
        }
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def close(self) -> None:
        """Close the underlying environment."""
        self.env.close()
