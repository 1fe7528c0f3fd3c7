"""Saved agents of the learned baseline: the optional ``rl`` extra and agent files.

Training (:mod:`qkdbench.rl.train`) writes agent files; the policy planner
(:mod:`qkdbench.rl.planners`) and evaluation read them through
:func:`~qkdbench.rl.loading.load_agent`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import InputError, MissingExtraError
from .env import PlanningEnv

__all__ = ["EXTRA_HINT", "MissingExtraError", "require_extra", "Agent"]

#: How to install what training needs, from a checkout and from a package index.
EXTRA_HINT = (
    'pip install ".[rl]" in a checkout of qkdbench, or pip install "qkdbench[rl]" '
    "when qkdbench came from a package index (README: a CPU-only torch first saves "
    "gigabytes)"
)


def require_extra() -> Any:
    """The ``sb3_contrib`` module, or :class:`MissingExtraError` saying how to install it.

    Returns
    -------
    module
        ``sb3_contrib``.

    Raises
    ------
    MissingExtraError
        If it cannot be imported.
    """
    try:
        import sb3_contrib
    except ImportError:
        raise MissingExtraError(
            f"the learned baseline needs the rl extra (sb3-contrib, torch): {EXTRA_HINT}"
        ) from None
    return sb3_contrib


class Agent:
    """A saved MaskablePPO agent and the environment settings it was trained with.

    Use :meth:`bind` (a policy for :class:`~qkdbench.rl.planners.PolicyPlanner`).

    Parameters
    ----------
    model, env_kwargs, meta
        Kept as the attributes below.

    Attributes
    ----------
    model : sb3_contrib.MaskablePPO
    env_kwargs : dict
    meta : dict
        Family, timesteps, seed and training time.
    """

    def __init__(self, model: Any, env_kwargs: dict[str, Any], meta: dict[str, Any]) -> None:
        self.model = model
        self.env_kwargs = env_kwargs
        self.meta = meta

    def bind(self, env: PlanningEnv) -> Callable[[np.ndarray, np.ndarray], int]:
        """A function ``(observation, mask) -> action`` for ``env``.

        Parameters
        ----------
        env : PlanningEnv
            An environment with the observation and action sizes the agent was trained on.

        Returns
        -------
        callable
            Deterministic: the model's most likely valid action.

        Raises
        ------
        ValueError
            If the sizes differ (another topology or other settings).
        """
        n_actions = int(getattr(env.action_space, "n", -1))
        if (
            env.observation_space.shape != self.model.observation_space.shape
            or n_actions != self.model.action_space.n
        ):
            raise InputError(
                f"the agent was trained on observations of shape "
                f"{self.model.observation_space.shape} and "
                f"{self.model.action_space.n} actions; instance "
                f"{env.instance.name!r} gives {env.observation_space.shape} and "
                f"{n_actions} (another topology or settings)"
            )

        def act(obs: np.ndarray, mask: np.ndarray) -> int:
            action, _ = self.model.predict(obs, action_masks=mask, deterministic=True)
            return int(action)

        return act
