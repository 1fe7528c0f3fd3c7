"""Several saved agents (the training seeds of one algorithm) on held-out instances.

A run is one saved agent; the runs of one algorithm share everything but their
training seed: the family, the environment settings and the training settings
(:func:`check_runs`). :func:`evaluate_agents` plans every held-out instance with
each run and, once, with each other planner, every plan scored by the evaluator;
the aggregate statistics over runs and instances are
:mod:`qkdbench.experiments.protocol`'s.

Needs the ``rl`` extra to load the agents (:func:`~qkdbench.rl.loading.load_agent`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any

from ..evaluation import evaluate
from ..exceptions import InputError
from ..model import Instance
from ..utils.registry import get_planner
from .agents import Agent
from .env import PlanningEnv
from .family import Family
from .loading import load_agent

__all__ = ["RUN_KEYS", "check_runs", "load_runs", "held_out", "fits", "evaluate_agents"]

#: Training settings that runs of one algorithm share (when an agent's metadata has them).
RUN_KEYS = ("family", "timesteps", "n_instances", "train_seeds", "algo", "recipe")


def _setup(agent: Agent) -> dict[str, Any]:
    """What the runs of one algorithm must share: the agent's class and settings."""
    setup: dict[str, Any] = {"agent class": type(agent.model).__name__}
    env = {k: list(v) if isinstance(v, tuple) else v for k, v in agent.env_kwargs.items()}
    setup["environment settings"] = dict(sorted(env.items()))
    setup.update({k: agent.meta[k] for k in RUN_KEYS if k in agent.meta})
    return setup


def check_runs(runs: Sequence[tuple[str, Agent]]) -> None:
    """Check that ``runs`` are training seeds of one algorithm.

    Parameters
    ----------
    runs : sequence of (str, Agent)
        Each agent with the file it came from.

    Raises
    ------
    InputError
        If there is no run, a file is given twice, two agents differ in their
        class, family, environment or training settings (:data:`RUN_KEYS`), or
        two share a training seed; the message names the file and the setting.
    """
    if not runs:
        raise InputError("no agent given", "rl evaluate")
    first_path, first = runs[0]
    base = _setup(first)
    seen: dict[Any, str] = {}
    files: dict[str, str] = {}
    for path, agent in runs:
        real = os.path.realpath(path)
        if real in files:
            raise InputError(f"the same agent file as {files[real]}, given twice", source=path)
        files[real] = path
        setup = _setup(agent)
        for key in sorted(set(base) | set(setup)):
            if base.get(key) != setup.get(key):
                raise InputError(
                    f"not a run of the same algorithm as {first_path}: {key} "
                    f"{setup.get(key)!r} there is {base.get(key)!r}",
                    source=path,
                )
        seed = agent.meta.get("seed")
        if seed is not None and seed in seen:
            raise InputError(
                f"the same training seed {seed} as {seen[seed]}: runs differ in their seed",
                source=path,
            )
        seen[seed] = path


def load_runs(paths: Sequence[str | os.PathLike]) -> list[tuple[str, Agent]]:
    """Load the agent files of one algorithm's runs, checked by :func:`check_runs`.

    Parameters
    ----------
    paths : sequence of path
        Agent files.

    Returns
    -------
    list of (str, Agent)

    Raises
    ------
    MissingExtraError
        Without sb3-contrib.
    InputError
        If a file cannot be loaded, or the agents are not runs of one algorithm.
    """
    runs = [(os.fspath(p), load_agent(p)) for p in paths]
    check_runs(runs)
    return runs


def held_out(agent: Agent, seeds: Sequence[int], family: Any = None) -> list[Instance]:
    """The instances of request seeds ``seeds`` of the agent's family (or of ``family``).

    Parameters
    ----------
    agent : Agent
    seeds : sequence of int
        Request seeds; without ``family`` they must not be the agent's training seeds.
    family : qkdbench.rl.family.Family, optional
        Default: the agent's training family (the same instances as its
        ``Family(...).instances(seeds)``).

    Returns
    -------
    list of Instance

    Raises
    ------
    InputError
        If (without ``family``) ``seeds`` overlap the agent's training seeds.
    """
    if family is not None:
        return list(family.instances(seeds))
    lo, hi = agent.meta.get("train_seeds", [1, 0])
    if any(lo <= s <= hi for s in seeds):
        raise InputError(f"seeds overlap the agent's training seeds {lo}..{hi}", "--seeds")
    return Family.from_meta(agent.meta["family"]).instances(seeds)


def fits(agent: Agent, instance: Instance) -> bool:
    """Whether the agent can plan ``instance``: the observation and action sizes it was trained on.

    Parameters
    ----------
    agent : Agent
    instance : Instance

    Returns
    -------
    bool
        False for another topology, other providers or other environment settings.
    """
    env = PlanningEnv(instance, **agent.env_kwargs)
    return bool(
        env.observation_space.shape == agent.model.observation_space.shape
        and env.action_space.n == agent.model.action_space.n
    )


def evaluate_agents(
    runs: Sequence[tuple[str, Agent]],
    instances: Sequence[Instance],
    *,
    planners: Sequence[str] = ("coqbn", "rl-greedy", "saa-greedy", "exact"),
    time_limit: float = 60.0,
) -> Any:
    """Every run of an agent, and each other planner once, on each instance.

    Parameters
    ----------
    runs : sequence of (str, Agent)
        The runs: agents with their files (:func:`load_runs`).
    instances : sequence of Instance
        Held-out instances.
    planners : sequence of str
        Registry names run beside the agent, with seed 0 (``exact`` gives the reference).
    time_limit : float
        Seconds per planner run.

    Returns
    -------
    pandas.DataFrame
        One row per (instance, planner, run): ``instance``, ``planner`` (``agent``
        for the runs), ``run`` (the agent's index in ``runs``; 0 for the other
        planners), ``seed`` (the agent's training seed; the planners' 0), ``cost``,
        ``status``, ``runtime_s`` and ``gap_pct`` to the exact optimum (``nan`` if
        it was not proven).

    Raises
    ------
    InputError
        If an agent does not fit an instance (another topology or settings), or the
        runs are not of one algorithm.
    RuntimeError
        If a planner returns an infeasible plan.
    """
    import pandas as pd

    from .planners import PolicyPlanner

    loaded = list(runs)
    check_runs(loaded)
    rows: list[dict[str, Any]] = []
    for inst in instances:
        todo: list[tuple[str, int, int, Any]] = [
            ("agent", i, int(a.meta.get("seed", 0)), PolicyPlanner(a, "agent", a.env_kwargs))
            for i, (_, a) in enumerate(loaded)
        ]
        todo += [(name, 0, 0, get_planner(name)) for name in planners]
        mine = []
        for name, run, seed, planner in todo:
            t0 = time.perf_counter()
            plan = planner.plan(inst, seed=0, time_limit=time_limit)
            took = time.perf_counter() - t0
            ev = evaluate(inst, plan)
            if not ev.feasible:
                raise RuntimeError(f"{name} gave an infeasible plan on {inst.name}")
            mine.append(
                {
                    "instance": inst.name,
                    "planner": name,
                    "run": run,
                    "seed": seed,
                    "cost": ev.total,
                    "status": plan.status,
                    "runtime_s": took,
                }
            )
        proven = [r["cost"] for r in mine if r["planner"] == "exact" and r["status"] == "optimal"]
        opt = proven[0] if proven else None
        for r in mine:
            r["gap_pct"] = 100.0 * (r["cost"] / opt - 1.0) if opt else math.nan
        rows += mine
    return pd.DataFrame(rows)
