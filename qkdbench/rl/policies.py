"""Heuristic policies shipped beside the environments.

A *policy* is a callable ``(obs, mask) -> action`` on
:class:`~qkdbench.rl.env.PlanningEnv`'s observations. The heuristic ones need
the environment's layout, so they are *unbound* objects with
``bind(env) -> callable``; :class:`~qkdbench.rl.planners.PolicyPlanner` binds
them to the environment it builds.

* :class:`CoQBNPolicy`: CO-QBN's target
  (:func:`~qkdbench.planning.providers.choose_targets`: the nearest with room),
  slot 0 (shortest path by fiber length) with the ``"mean"`` level for QKD and
  KM, first fit (``capacity="clip"``): CO-QBN's choices, so with
  ``order="instance"`` its plan is the ``coqbn`` planner's.
* :class:`GreedyPolicy`: the action with the least priced cost now (the
  observation's per-slot level costs, opening and service costs), ties to the
  lowest action index.
* :class:`RandomPolicy`: uniform among the valid actions (seeded).

Examples
--------
>>> from qkdbench.rl.env import PlanningEnv
>>> from qkdbench.topologies import make_instance
>>> env = PlanningEnv(make_instance("nsfnet", 3, 4, seed=1), k=2)
>>> act = GreedyPolicy().bind(env)
>>> obs, info = env.reset(seed=0)
>>> bool(info["action_mask"][act(obs, info["action_mask"])])
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import InputError
from ..planning.providers import choose_targets
from ..utils.random import check_random_state

__all__ = ["Policy", "CoQBNPolicy", "GreedyPolicy", "RandomPolicy", "bind_policy"]

#: A bound policy: observation and mask to a flat action.
Policy = Callable[[np.ndarray, np.ndarray], int]


def bind_policy(policy: Any, env: Any) -> Policy:
    """The callable ``(obs, mask) -> action`` of ``policy`` on ``env``.

    ``policy`` may have ``bind(env)`` (the heuristic policies) or be a callable already.

    Parameters
    ----------
    policy : object
        A policy with ``bind(env)`` or a callable ``(obs, mask) -> action``.
    env : PlanningEnv
        The environment the policy acts in.

    Returns
    -------
    callable

    Raises
    ------
    TypeError
        If ``policy`` has no ``bind`` and is not callable.
    """
    if hasattr(policy, "bind"):
        return policy.bind(env)
    if not callable(policy):
        raise TypeError(
            f"a policy must be callable (obs, mask) -> action, got {type(policy).__name__}"
        )
    return policy


class CoQBNPolicy:
    """CO-QBN's choices: its target, the shortest path by fiber length, the mean level, first fit.

    The target of a request with targets is CO-QBN's
    (:func:`~qkdbench.planning.providers.choose_targets`, computed once per instance);
    CO-QBN ignores fixed charges, and so does the policy.

    Raises
    ------
    InputError
        From :meth:`bind`, for an environment without the ``"mean"`` level or in
        ``capacity="strict"`` mode (where first fit is not available).
    """

    name = "coqbn"

    def bind(self, env: Any) -> Policy:
        """A function ``(observation, mask) -> action`` for ``env``.

        Parameters
        ----------
        env : PlanningEnv
            Its levels must include ``"mean"``, its capacity mode be ``"clip"``.

        Returns
        -------
        callable
            Slot 0 of CO-QBN's target at the mean level for QKD and KM.

        Raises
        ------
        ValueError
            Otherwise.
        """
        if "mean" not in env.levels:
            raise InputError('the CO-QBN policy needs the "mean" level among the env levels')
        if env.capacity != "clip":
            raise InputError('the CO-QBN policy reserves first fit: it needs capacity="clip"')
        mean = env.levels.index("mean")
        seen: list[Any] = [None, []]  # the tables CO-QBN's targets were chosen for, and them

        def act(obs: np.ndarray, mask: np.ndarray) -> int:
            if seen[0] is not env.tables:
                seen[0], seen[1] = env.tables, choose_targets(env.instance)[0]
            f = env.current_request
            target = 0 if f is None else int(seen[1][f])
            return int(env.encode_action(0, mean, mean, target))

        return act


class GreedyPolicy:
    """The valid action with the least priced cost now (lowest index on ties).

    The cost is read from the observation (:class:`~qkdbench.rl.env.ObsLayout`): the
    level costs of each route slot plus its opening and service cost.
    """

    name = "greedy"

    def bind(self, env: Any) -> Policy:
        """A function ``(observation, mask) -> action`` for ``env``.

        Parameters
        ----------
        env : PlanningEnv
            The environment whose observation layout is read.

        Returns
        -------
        callable
        """
        layout = env.layout

        def act(obs: np.ndarray, mask: np.ndarray) -> int:
            o = np.asarray(obs, dtype=np.float64)
            q, k = layout.priced(o)
            cost = (q[:, :, None] + k[:, None, :] + layout.route_costs(o)[:, None, None]).ravel()
            cost = np.where(np.asarray(mask, bool), cost, np.inf)
            return int(np.argmin(cost))

        return act


class RandomPolicy:
    """Uniform among the valid actions.

    Parameters
    ----------
    seed : int
        Seed of the policy's own generator (drawn at :meth:`bind`).
    """

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def bind(self, env: Any) -> Policy:
        """A function ``(observation, mask) -> action`` for ``env``.

        Parameters
        ----------
        env : PlanningEnv
            Not read: any environment with masks.

        Returns
        -------
        callable
            A new generator per call, seeded with ``seed``.
        """
        rng = check_random_state(self.seed)

        def act(obs: np.ndarray, mask: np.ndarray) -> int:
            return int(rng.choice(np.flatnonzero(mask)))

        return act
