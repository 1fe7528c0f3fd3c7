"""Saved agents of the learned baseline: the optional ``rl`` extra and agent files.

Training (:mod:`qkdbench.rl.train`) writes agent files; the policy planner
(:mod:`qkdbench.rl.planners`) and evaluation read them through :func:`load_agent`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import InputError, MissingExtraError
from .env import PlanningEnv

__all__ = ["EXTRA_HINT", "MissingExtraError", "require_extra", "Agent", "load_agent"]

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


def load_agent(path: str | os.PathLike) -> Agent:
    """Load an agent saved by :func:`~qkdbench.rl.train.train_agent`.

    Parameters
    ----------
    path : str or os.PathLike
        The agent file (``.zip``): MaskablePPO's or MAPPO's.

    Returns
    -------
    Agent
        Loaded on the CPU, with the environment settings and training information
        saved with it: a MaskablePPO agent, or a
        :class:`~qkdbench.rl.mappo.MappoAgent` for a file of ``rl train --algo mappo``.

    Raises
    ------
    MissingExtraError
        Without sb3-contrib.
    InputError
        If the file is missing or is not such an agent.
    """
    path = os.fspath(path)
    if not Path(path).is_file():
        raise InputError("agent file not found", source=path)
    from .mappo import is_mappo_file, load_mappo  # a MAPPO agent needs torch only

    if is_mappo_file(path):
        return load_mappo(path)
    sb3 = require_extra()
    try:
        model = sb3.MaskablePPO.load(path, device="cpu")
    except Exception as exc:  # a corrupt or foreign file: one line
        raise InputError(
            f"not a saved MaskablePPO agent ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]})",
            source=path,
        ) from None
    info = getattr(model, "qkdbench", None)
    if not isinstance(info, dict) or "env_kwargs" not in info:
        raise InputError("not an agent saved by qkdbench (no environment settings)", source=path)
    kwargs = dict(info["env_kwargs"])
    kwargs["levels"] = tuple(kwargs["levels"])
    return Agent(model, kwargs, dict(info.get("meta", {})))
