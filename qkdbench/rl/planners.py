"""Any policy as a planner: :class:`PolicyPlanner`, and the registered ``rl-*`` planners.

A policy planner builds a :class:`~qkdbench.rl.env.PlanningEnv` on the
instance, runs one episode with the policy and returns the plan of the final
``info``, so that ``qkdbench compare`` and the sweeps put a policy (a heuristic,
or a learned agent saved by ``qkdbench rl train``) on the same table as the
exact optimum.

Registered: ``rl-coqbn`` (:class:`~qkdbench.rl.policies.CoQBNPolicy` through the
environment: the ``coqbn`` planner's plan) and ``rl-greedy``
(:class:`~qkdbench.rl.policies.GreedyPolicy`). A saved agent is registered at
run time with :func:`register_policy`.

Examples
--------
>>> from qkdbench.heuristics import get_planner
>>> from qkdbench.topologies import make_instance
>>> inst = make_instance("usnet", 5, 4, seed=1)
>>> get_planner("rl-coqbn").plan(inst).routes == get_planner("coqbn").plan(inst).routes
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..model import Instance, Plan
from ..utils.registry import check_supports, register_planner
from ..utils.timing import Stopwatch
from .core import SUPPORTED_FEATURES
from .env import PlanningEnv
from .policies import CoQBNPolicy, GreedyPolicy, bind_policy

__all__ = ["PolicyPlanner", "RLCoQBN", "RLGreedy", "register_policy"]


class PolicyPlanner:
    """Run a policy through the planning environment as a planner.

    Parameters
    ----------
    policy : callable, policy object with ``bind(env)``, or path
        A callable ``(obs, mask) -> action``, a heuristic policy of
        :mod:`qkdbench.rl.policies`, or the file of an agent saved by
        ``qkdbench rl train`` (needs the ``rl`` extra; the environment
        settings stored with the agent are used).
    name : str
        Planner name written into the plans.
    env_kwargs : Mapping, optional
        :class:`~qkdbench.rl.env.PlanningEnv` keywords (``k``, ``levels``,
        ``order``, ``capacity``).

    Notes
    -----
    One episode, no search: ``time_limit`` is not needed and is ignored. The
    seed is passed to ``reset``; the heuristic policies are deterministic. A
    policy planner is taken to be stochastic (``deterministic`` false: a bench
    repeats it) unless a subclass says otherwise, as ``rl-coqbn`` and
    ``rl-greedy`` do.

    The environment poses every model extension (fixed charges, links priced by
    ``unit_costs``, random link key rates, requests with provider targets):
    :attr:`supports` says so; an instance with a feature outside
    :data:`~qkdbench.rl.core.SUPPORTED_FEATURES` is refused with an
    :class:`~qkdbench.exceptions.InputError`.
    """

    supports = SUPPORTED_FEATURES
    deterministic = False

    def __init__(
        self, policy: Any, name: str = "rl-policy", env_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        self.policy = policy
        self.name = name
        self.env_kwargs = env_kwargs

    def _resolve(self) -> tuple[Any, dict[str, Any]]:
        kwargs = dict(self.env_kwargs or {})
        if isinstance(self.policy, (str, os.PathLike)):
            from .loading import load_agent

            agent = load_agent(self.policy)
            return agent, {**agent.env_kwargs, **kwargs}
        return self.policy, kwargs

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """One episode of the policy on ``instance``; the plan of its final ``info``.

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Passed to the environment's ``reset``.
        time_limit : float, optional
            Ignored (only ``runtime_s`` is measured).

        Returns
        -------
        Plan
            Status ``heuristic``.

        Raises
        ------
        InputError
            If the instance uses a feature the environment does not pose, or the policy
            is an agent file that cannot be loaded.
        """
        check_supports(self, instance)
        clock = Stopwatch(time_limit)
        if instance.n_requests == 0:
            return Plan(instance.name, self.name, (), {"status": "heuristic", "runtime_s": 0.0})
        policy, kwargs = self._resolve()
        env = PlanningEnv(instance, planner_name=self.name, **kwargs)
        act = bind_policy(policy, env)
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, done, _, info = env.step(act(obs, info["action_mask"]))
        plan = info["plan"]
        return plan.with_stats(runtime_s=clock.elapsed, status="heuristic")


@register_planner("rl-coqbn", origin="built-in")
class RLCoQBN(PolicyPlanner):
    """CO-QBN's policy through the RL environment (same plan as coqbn; a check of the env)."""

    deterministic = True

    def __init__(self) -> None:
        super().__init__(CoQBNPolicy(), "rl-coqbn", {"order": "instance", "capacity": "clip"})


@register_planner("rl-greedy", origin="built-in")
class RLGreedy(PolicyPlanner):
    """Greedy by evaluator-priced cost through the RL environment, one request at a time.

    Parameters
    ----------
    k : int
        Candidate routes besides the shortest path.
    order : {"instance", "cost-desc"}
    capacity : {"clip", "strict"}

    Notes
    -----
    Deterministic: the policy draws nothing and the environment plans one
    fixed instance, so ``seed`` changes nothing.
    """

    deterministic = True

    def __init__(self, k: int = 4, order: str = "cost-desc", capacity: str = "clip") -> None:
        super().__init__(
            GreedyPolicy(), "rl-greedy", {"k": k, "order": order, "capacity": capacity}
        )


def register_policy(
    name: str, policy: Any, env_kwargs: Mapping[str, Any] | None = None, origin: str = "registered"
) -> None:
    """Register ``policy`` (callable, heuristic policy or saved agent file) as planner ``name``.

    Parameters
    ----------
    name : str
        Registry name.
    policy : callable, policy object with ``bind(env)``, or path
        As for :class:`PolicyPlanner`.
    env_kwargs : Mapping, optional
        :class:`~qkdbench.rl.env.PlanningEnv` keywords.
    origin : str, optional
        Shown by ``qkdbench planners``.

    Raises
    ------
    ValueError
        If ``name`` is already registered.

    Examples
    --------
    >>> from qkdbench.heuristics import available_planners, unregister_planner
    >>> register_policy("doc-greedy", GreedyPolicy())
    >>> "doc-greedy" in available_planners()
    True
    >>> unregister_planner("doc-greedy")
    """

    def factory() -> PolicyPlanner:
        return PolicyPlanner(policy, name, env_kwargs)

    factory.__doc__ = f"Policy {policy!r} through the RL environment."
    register_planner(name, origin=origin)(factory)
