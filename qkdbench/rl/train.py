"""The learned baseline: MaskablePPO (sb3-contrib) on a generated family of instances.

Needs the ``rl`` extra (``pip install ".[rl]"`` in a checkout, ``pip install
"qkdbench[rl]"`` from a package index: sb3-contrib and torch);
everything else in :mod:`qkdbench.rl` works without it, and this module imports
sb3-contrib only inside its functions.

* :func:`train_agent` trains on ``n_instances`` instances of a family (a
  topology, a number of requests, ``K``) with request seeds
  ``TRAIN_SEED_BASE + i``, one drawn per episode, and saves the agent (its
  environment settings are saved with it).
* :func:`evaluate_agent` scores a saved agent on held-out instances (request
  seeds ``1..n``, disjoint from the training seeds) against other planners
  and the exact optimum, every plan by the evaluator.

The training reward is the environment's reward divided by the instance's
mean stand-alone request cost (:attr:`~qkdbench.rl.env.PlanningEnv.cost_scale`),
so that instances of different sizes give rewards of one scale; evaluation uses
the evaluator's cost of the plan only.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, SupportsFloat, cast

import gymnasium as gym
import numpy as np

from ..evaluation import evaluate
from ..exceptions import InputError
from ..utils.registry import get_planner
from .agents import EXTRA_HINT, Agent, MissingExtraError, require_extra
from .core import DEFAULT_LEVELS, TRAIN_SEED_BASE
from .env import PlanningEnv
from .family import Family
from .imitation import POLICY_EXPERTS
from .loading import load_agent

__all__ = [
    "EXTRA_HINT",
    "MissingExtraError",
    "require_extra",
    "Family",
    "TRAIN_SEED_BASE",
    "RECIPES",
    "DEFAULT_RECIPE",
    "ScaledReward",
    "TrainingProgress",
    "Agent",
    "train_agent",
    "load_agent",
    "evaluate_agent",
    "summarize",
]

#: Training recipes and their PPO settings (see :func:`train_agent`): PPO from scratch,
#: or behaviour cloning first and a gentle PPO fine-tuning (or none).
RECIPES: dict[str, dict[str, float]] = {
    "ppo": {"learning_rate": 3e-4, "ent_coef": 0.01, "clip_range": 0.2},
    "bc+ppo": {"learning_rate": 5e-5, "ent_coef": 0.0, "clip_range": 0.1},
    "bc": {"learning_rate": 5e-5, "ent_coef": 0.0, "clip_range": 0.1},
}

#: The recipe ``rl train`` uses unless told (chosen by the measurements in docs/planners.md).
DEFAULT_RECIPE = "bc+ppo"


class ScaledReward(gym.RewardWrapper):
    """Reward over the instance's mean stand-alone request cost (training only)."""

    def reward(self, reward: SupportsFloat) -> float:
        """The reward scaled by the instance cost scale.

        Parameters
        ----------
        reward : float
            The environment's reward.

        Returns
        -------
        float
        """
        return float(reward) / cast(PlanningEnv, self.env.unwrapped).cost_scale

    def action_masks(self) -> np.ndarray:
        """The action mask of the current step.

        Returns
        -------
        ndarray of bool
        """
        return cast(PlanningEnv, self.env.unwrapped).action_masks()


class TrainingProgress:
    """Progress lines of a training run: steps, episodes, mean return, cost against CO-QBN.

    Fed the step results of the vectorised environments (:meth:`update`), it calls
    ``log`` with one line every ``every`` steps and at the end (:meth:`finish`), as::

      step 512/9,000 (6%): 8 episodes; last 8: mean return -61.3, cost vs CO-QBN +8.1%; 950 steps/s

    The return is the training reward's (over each instance's mean stand-alone request
    cost, :class:`ScaledReward`); the cost is the environment's (the evaluator's total
    of the episode's plan) against CO-QBN's on the same instance.

    Parameters
    ----------
    total : int
        Steps the run will take.
    log : callable
        Receives each line.
    reference : mapping
        CO-QBN's cost of each training instance, by instance name.
    every : int, optional
        Steps between lines (default: a twentieth of ``total``).
    window : int, optional
        Finished episodes the means are taken over (default 50).

    Examples
    --------
    >>> lines = []
    >>> prog = TrainingProgress(4, lines.append, {"i": 100.0}, every=2)
    >>> class P:
    ...     instance_name = "i"
    >>> prog.update(2, [{"episode": {"r": -3.0}, "cost": 110.0, "plan": P()}], [True])
    >>> lines[0].split(":", 1)[1].split(";")[:2]
    [' 1 episodes', ' last 1: mean return -3.00, cost vs CO-QBN +10.0%']
    """

    def __init__(
        self,
        total: int,
        log: Callable[[str], None],
        reference: Mapping[str, float],
        every: int | None = None,
        window: int = 50,
    ) -> None:
        self.total = int(total)
        self.log = log
        self.reference = reference
        self.every = max(1, int(every if every is not None else self.total // 20))
        self.episodes = 0
        self.returns: deque[float] = deque(maxlen=window)
        self.ratios: deque[float] = deque(maxlen=window)
        self._next = self.every
        self._start = time.perf_counter()
        self._steps = 0
        #: The learning curve: one point (:meth:`point`) per line logged.
        self.curve: list[dict[str, float]] = []
        self._logged = -1  # the step count of the last line

    def update(self, num_timesteps: int, infos: Sequence[Mapping[str, Any]], dones: Any) -> None:
        """Record the episodes that ended at this step; log a line when one is due.

        Parameters
        ----------
        num_timesteps : int
            Steps taken so far (over every environment).
        infos : sequence of dict
            The step's ``info`` of each environment (``episode`` from SB3's ``Monitor``,
            ``cost`` and ``plan`` from :class:`~qkdbench.rl.env.PlanningEnv`).
        dones : sequence of bool
            Which environments finished an episode.

        Notes
        -----
        The instance of an episode is ``info["instance"]`` (its name, as
        :class:`~qkdbench.rl.sb3vec.PoolVecEnv` gives it) or that of ``info["plan"]``.
        """
        self._steps = int(num_timesteps)
        for info, done in zip(infos, dones, strict=True):
            if not done:
                continue
            self.episodes += 1
            if "episode" in info:
                self.returns.append(float(info["episode"]["r"]))
            name = str(info.get("instance") or getattr(info.get("plan"), "instance_name", ""))
            ref = self.reference.get(name)
            if ref and "cost" in info:
                self.ratios.append(float(info["cost"]) / ref)
        if self._steps >= self._next:
            self.curve.append(self.point())
            self.log(self.line())
            self._logged = self._steps
            while self._next <= self._steps:
                self._next += self.every

    def line(self) -> str:
        """The progress line of now.

        Returns
        -------
        str
        """
        pct = 100.0 * self._steps / self.total if self.total else 100.0
        rate = self._steps / max(time.perf_counter() - self._start, 1e-9)
        parts = [f"step {self._steps:,}/{self.total:,} ({pct:.0f}%): {self.episodes} episodes"]
        if self.returns:
            stat = f"last {len(self.returns)}: mean return {np.mean(self.returns):.2f}"
            if self.ratios:
                stat += f", cost vs CO-QBN {100.0 * (np.mean(self.ratios) - 1.0):+.1f}%"
            parts.append(stat)
        parts.append(f"{rate:,.0f} steps/s")
        return "; ".join(parts)

    def point(self) -> dict[str, float]:
        """The learning curve's point of now.

        Returns
        -------
        dict
            ``steps``, ``episodes``, ``mean_return`` and ``cost_vs_coqbn_pct`` (the
            means of the progress line; ``nan`` before the first episode).
        """
        return {
            "steps": float(self._steps),
            "episodes": float(self.episodes),
            "mean_return": float(np.mean(self.returns)) if self.returns else math.nan,
            "cost_vs_coqbn_pct": (
                100.0 * (float(np.mean(self.ratios)) - 1.0) if self.ratios else math.nan
            ),
        }

    def finish(self) -> None:
        """Log the last line, unless one was just logged for the same step count."""
        if self._logged != self._steps:
            self.curve.append(self.point())
            self.log(self.line())


def _progress_callback(progress: TrainingProgress) -> Any:
    """An SB3 callback that feeds ``progress`` (sb3-contrib imported by the caller)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class _Progress(BaseCallback):
        def _on_step(self) -> bool:
            progress.update(self.num_timesteps, self.locals["infos"], self.locals["dones"])
            return True

    return _Progress()


def train_agent(
    out: str | os.PathLike,
    family: Family,
    timesteps: int,
    seed: int = 0,
    *,
    n_instances: int = 64,
    k: int = 4,
    levels: Sequence[Any] = DEFAULT_LEVELS,
    order: str = "cost-desc",
    capacity: str = "clip",
    n_envs: int = 4,
    net: Sequence[int] = (256, 256),
    learning_rate: float | None = None,
    n_steps: int = 512,
    batch_size: int = 256,
    ent_coef: float | None = None,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
    recipe: str = DEFAULT_RECIPE,
    demos: str = "rl-greedy",
    demo_episodes: int = 8,
    demo_noise: float = 0.2,
    bc_epochs: int = 15,
    bc_learning_rate: float = 1e-3,
    clip_range: float | None = None,
    vec_env: str = "pool",
    rows: int = 1,
) -> dict[str, Any]:
    """Train MaskablePPO on a family and save it to ``out``.

    Parameters
    ----------
    out : path
        Agent file (``.zip``).
    family : Family
    timesteps : int
        Environment steps (one request each).
    seed : int
        Seeds the policy, the environments and the instance draws.
    n_instances : int
        Training instances (request seeds ``TRAIN_SEED_BASE .. + n_instances - 1``).
    k, levels, order, capacity
        :class:`~qkdbench.rl.env.PlanningEnv` settings (saved with the agent).
    n_envs, net, learning_rate, n_steps, batch_size, ent_coef, clip_range
        PPO settings (undiscounted: ``gamma = 1``, the objective is a sum);
        ``learning_rate``, ``ent_coef`` and ``clip_range`` default to the recipe's
        (:data:`RECIPES`).
    threads : int
        Torch threads.
    log : callable, optional
        Receives progress lines (:class:`TrainingProgress`: steps, episodes, mean
        return and cost against CO-QBN about every twentieth of the run; one line per
        behaviour-cloning epoch).
    recipe : {"bc+ppo", "ppo", "bc"}
        ``ppo``: PPO from a random policy. ``bc+ppo``: behaviour cloning of ``demos``
        on the training instances (:mod:`qkdbench.rl.imitation`: policy and value
        head), then ``timesteps`` of PPO fine-tuning with a small learning rate and
        clip range. ``bc``: the cloning only (``timesteps`` is not used).
    demos : str
        The expert cloned: ``rl-greedy`` (read from the observations; perturbed
        episodes possible) or a registered planner (its plans projected on the actions).
    demo_episodes, demo_noise : int, float
        Episodes per training instance and share of random actions in all but the
        first (``rl-greedy`` only; otherwise 1 and 0).
    bc_epochs, bc_learning_rate : int, float
        Passes over the demos and Adam's step size.
    vec_env : {"pool", "dummy"}
        ``pool``: :class:`~qkdbench.rl.sb3vec.PoolVecEnv`, ``n_envs // rows`` groups of
        ``rows`` episodes, each group one instance stepped in one Numba call;
        ``dummy``: SB3's ``DummyVecEnv`` of ``n_envs`` single environments.
    rows : int
        Episodes per group (``pool``; must divide ``n_envs``; 1 with ``dummy``).

    Returns
    -------
    dict
        ``out``, ``train_seconds``, ``timesteps``, ``episodes``, ``recipe`` (its
        settings), ``cloning`` (the cloning's time, loss and accuracy), the settings
        and ``curve``, the learning curve (:attr:`TrainingProgress.curve`: steps,
        episodes, mean return and cost against CO-QBN on the training instances about
        every twentieth of the PPO steps; empty for the ``bc`` recipe), saved with the
        agent too.

    Raises
    ------
    InputError
        For an unknown recipe or ``vec_env``, ``rows`` not dividing ``n_envs`` (or not 1
        with ``dummy``), or the errors of :func:`~qkdbench.rl.imitation.collect_demos`.
    """
    if recipe not in RECIPES:
        raise InputError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    if vec_env not in ("pool", "dummy"):
        raise InputError(f"unknown vec_env {vec_env!r}; choose pool or dummy")
    if rows < 1 or n_envs % rows or (vec_env == "dummy" and rows != 1):
        raise InputError(
            f"rows ({rows}) must divide the environments ({n_envs})"
            + (" and be 1 with the dummy vec env" if vec_env == "dummy" else "")
        )
    settings = {**RECIPES[recipe]}
    for key, value in (
        ("learning_rate", learning_rate),
        ("ent_coef", ent_coef),
        ("clip_range", clip_range),
    ):
        if value is not None:
            settings[key] = float(value)
    sb3 = require_extra()
    import torch
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from .imitation import behaviour_clone, collect_demos
    from .sb3vec import PoolVecEnv, as_sb3_vec_env

    torch.set_num_threads(int(threads))
    log = log or (lambda msg: None)
    start = time.perf_counter()
    pool = family.instances(range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_instances))
    env_kwargs: dict[str, Any] = {
        "k": int(k),
        "levels": list(levels),
        "order": order,
        "capacity": capacity,
    }

    def make(i: int) -> Callable[[], gym.Env]:
        def thunk() -> gym.Env:
            return Monitor(
                ScaledReward(PlanningEnv(pool, **{**env_kwargs, "levels": tuple(levels)}))
            )

        return thunk

    venv: Any
    if vec_env == "pool":
        venv = as_sb3_vec_env(PoolVecEnv(pool, n_envs // rows, rows, **env_kwargs))
    else:
        venv = DummyVecEnv([make(i) for i in range(n_envs)])
    venv.seed(seed)
    log(
        f"{n_instances} training instances of {family}; building tables "
        f"({time.perf_counter() - start:.1f} s)"
    )
    model = sb3.MaskablePPO(
        "MlpPolicy",
        venv,
        learning_rate=settings["learning_rate"],
        n_steps=n_steps,
        batch_size=batch_size,
        gamma=1.0,
        gae_lambda=0.95,
        ent_coef=settings["ent_coef"],
        clip_range=settings["clip_range"],
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs={"net_arch": list(net)},
    )
    cloned: dict[str, Any] = {}  # the recipe's settings (runs of one algorithm share them)
    cloning: dict[str, Any] = {}  # what the cloning reached (differs by seed)
    if recipe != "ppo":
        t0 = time.perf_counter()
        plain = demos in POLICY_EXPERTS
        demo_set = collect_demos(
            pool,
            demos,
            env_kwargs,
            episodes=demo_episodes if plain else 1,
            noise=demo_noise if plain else 0.0,
            seed=seed,
        )
        log(f"{len(demo_set):,} demonstration steps of {demos} ({time.perf_counter() - t0:.0f} s)")
        stats = behaviour_clone(
            model.policy,
            demo_set,
            epochs=bc_epochs,
            learning_rate=bc_learning_rate,
            seed=seed,
            log=log,
        )
        cloned = {
            "demos": demos,
            "demo_steps": len(demo_set),
            "demo_episodes": demo_episodes if plain else 1,
            "demo_noise": demo_noise if plain else 0.0,
            "bc_epochs": int(bc_epochs),
        }
        cloning = {
            "seconds": time.perf_counter() - t0,
            **{key: value for key, value in stats.items() if key != "epochs"},
        }
    callback = None
    progress = None
    if recipe == "bc":
        timesteps = 0
    else:  # the progress lines' and the learning curve's reference
        coqbn = get_planner("coqbn")
        reference = {inst.name: evaluate(inst, coqbn.plan(inst)).total for inst in pool}
        rollout = int(n_steps) * int(n_envs)  # PPO collects whole rollouts
        planned = math.ceil(int(timesteps) / rollout) * rollout
        if planned != int(timesteps):
            log(f"PPO takes whole rollouts of {n_steps} x {n_envs} steps: {planned:,} steps")
        progress = TrainingProgress(planned, log, reference)
        callback = _progress_callback(progress)
    if timesteps:
        model.learn(total_timesteps=int(timesteps), callback=callback)
    if progress is not None:
        progress.finish()
    seconds = time.perf_counter() - start
    meta = {
        "family": asdict(family),
        "timesteps": int(timesteps),
        "seed": int(seed),
        "n_instances": int(n_instances),
        "train_seconds": seconds,
        "train_seeds": [TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_instances - 1],
        "recipe": {"name": recipe, **settings, **cloned},
        "cloning": cloning,
        "vec_env": {"kind": vec_env, "envs": int(n_envs), "rows": int(rows)},
        "curve": progress.curve if progress is not None else [],
    }
    model.qkdbench = {"env_kwargs": env_kwargs, "meta": meta}
    model.save(os.fspath(out))
    log(f"trained {timesteps} steps in {seconds:.0f} s; saved {os.fspath(out)}")
    return {"out": os.fspath(out), **meta, "env": env_kwargs}


def evaluate_agent(
    path: str | os.PathLike,
    seeds: Sequence[int],
    *,
    family: Family | None = None,
    planners: Sequence[str] = ("coqbn", "rl-greedy", "saa-greedy", "exact"),
    time_limit: float = 60.0,
) -> Any:
    """Score a saved agent on held-out instances against other planners.

    Parameters
    ----------
    path : path
        Agent file.
    seeds : sequence of int
        Request seeds of the held-out instances (must not be training seeds).
    family : Family, optional
        Default: the agent's training family.
    planners : sequence of str
        Registry names run beside the agent (``exact`` gives the reference).
    time_limit : float
        Seconds per planner run.

    Returns
    -------
    pandas.DataFrame
        One row per (instance, planner): ``cost``, ``status``, ``runtime_s`` and
        ``gap_pct`` to the exact optimum (``nan`` if it was not proven); ``run`` and
        ``seed`` as :func:`~qkdbench.rl.heldout.evaluate_agents` has them (several
        agents: that function).

    Raises
    ------
    MissingExtraError
        Without sb3-contrib.
    InputError
        If the agent file cannot be loaded, or (without ``family``) ``seeds`` overlap
        the agent's training seeds.
    RuntimeError
        If a planner returns an infeasible plan.
    """
    from .heldout import evaluate_agents, held_out

    agent = load_agent(path)
    instances = held_out(agent, seeds, family)
    runs = [(os.fspath(path), agent)]
    return evaluate_agents(runs, instances, planners=planners, time_limit=time_limit)


def summarize(df: Any) -> Any:
    """Mean gap to the optimum, mean cost relative to CO-QBN, wins and mean time per planner.

    Means are over every row of the planner: each instance, and each run of an agent
    given several (the interquartile mean with intervals is
    :func:`qkdbench.experiments.protocol.protocol_table`'s).

    Parameters
    ----------
    df : pandas.DataFrame
        The table of :func:`evaluate_agent`.

    Returns
    -------
    pandas.DataFrame
        One row per planner: ``instances``, ``mean_gap_to_optimum_pct``,
        ``max_gap_to_optimum_pct``, ``mean_vs_coqbn_pct`` (``nan`` without a coqbn row)
        and ``mean_runtime_s``.
    """
    import pandas as pd

    out = []
    for name, g in df.groupby("planner", sort=False):
        ref = (
            df[df["planner"] == "coqbn"].set_index("instance")["cost"]
            if "coqbn" in set(df["planner"])
            else None
        )
        vs = (
            (100.0 * (g["cost"] / g["instance"].map(ref) - 1.0)).mean()
            if ref is not None
            else math.nan
        )
        out.append(
            {
                "planner": name,
                "instances": g["instance"].nunique(),
                "mean_gap_to_optimum_pct": g["gap_pct"].mean(),
                "max_gap_to_optimum_pct": g["gap_pct"].max(),
                "mean_vs_coqbn_pct": vs,
                "mean_runtime_s": g["runtime_s"].mean(),
            }
        )
    return pd.DataFrame(out)
