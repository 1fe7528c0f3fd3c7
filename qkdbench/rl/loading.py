"""Reading an agent file of either kind: MaskablePPO's (:mod:`qkdbench.rl.agents`) or
MAPPO's (:mod:`qkdbench.rl.mappo`).

It sits above both, so that neither imports the other to tell them apart.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import InputError
from .agents import Agent, require_extra
from .mappo import is_mappo_file, load_mappo

__all__ = ["load_agent"]


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
