"""Stable-Baselines3's ``VecEnv`` API over batched planning episodes of a pool of instances.

:class:`PoolVecEnv` steps ``groups x rows`` planning episodes: each group of ``rows``
episodes plans one instance of the pool at a time in one
:class:`~qkdbench.rl.vector.PlanningVectorEnv` (one Numba call per group and step), and
draws a new instance (with the adapter's own generator) when its episodes end. Every
episode of a group starts at the same step and plans the same requests, so a group's
episodes end together; the group then switches to the next instance at once (SB3's
convention: the step that ends an episode returns the next episode's first observation
and puts the last one in ``info["terminal_observation"]``).

The class has SB3's ``VecEnv`` methods (``reset``, ``step_async`` / ``step_wait``,
``env_method("action_masks")`` for sb3-contrib's ``MaskablePPO``, ``get_attr``,
``seed``, ...) but imports nothing from SB3, so it works and is tested without the
``rl`` extra; :func:`as_sb3_vec_env` registers it as a virtual subclass of SB3's
``VecEnv`` (needs the extra), which is what SB3's algorithms check.

Per step and sub-environment it gives what SB3's ``DummyVecEnv`` over
``Monitor(PlanningEnv)`` gives: the reward (divided by the instance's
:attr:`~qkdbench.rl.env.PlanningEnv.cost_scale` when ``scale_rewards``), ``done``, and
an ``info`` with ``cost`` (the plan's cost so far, unscaled), ``instance`` (its name) and,
when an episode ends, ``episode`` (``r``: the return as rewarded, ``l``: its length,
``t``: seconds since the adapter was made) and ``terminal_observation``.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> pool = [make_instance("nsfnet", 3, 3, seed=s) for s in (1, 2)]
>>> venv = PoolVecEnv(pool, groups=2, rows=3, k=1)
>>> venv.seed(0)
[0]
>>> obs = venv.reset()
>>> obs.shape[0], venv.num_envs, np.stack(venv.env_method("action_masks")).shape
(6, 6, (6, 72))
>>> for _ in range(3):
...     venv.step_async(random_masked_actions(venv.action_masks(), np.random.default_rng(0)))
...     obs, rewards, dones, infos = venv.step_wait()
>>> bool(dones.all()), "terminal_observation" in infos[0], infos[0]["episode"]["l"]
(True, True, 3)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import InputError
from ..model import Instance
from .core import DEFAULT_LEVELS
from .vector import PlanningVectorEnv, random_masked_actions

__all__ = ["PoolVecEnv", "as_sb3_vec_env", "random_masked_actions"]


class PoolVecEnv:
    """``groups x rows`` planning episodes over a pool of instances, with SB3's ``VecEnv`` API.

    See the module docstring. Sub-environment ``g * rows + j`` is row ``j`` of group ``g``.

    Parameters
    ----------
    pool : sequence of Instance
        The instances (same nodes, arcs, targets and providers, so that every
        observation has one size); a group draws one uniformly per episode.
    groups : int
        Groups of episodes (each plans one instance at a time).
    rows : int
        Episodes per group, stepped in one Numba call.
    k, levels, order, capacity :
        As for :class:`~qkdbench.rl.env.PlanningEnv`.
    scale_rewards : bool, optional
        Divide each reward by the instance's cost scale (the training reward; default
        ``True``).

    Attributes
    ----------
    num_envs : int
        ``groups * rows``.
    observation_space, action_space : gymnasium.spaces.Space
        Of one sub-environment (SB3's convention).
    render_mode : None
    metadata : dict

    Raises
    ------
    InputError
        For an empty pool, a pool entry that is not an Instance, non-positive ``groups``
        or ``rows``, instances whose observations or actions differ in size, or the
        errors of :class:`~qkdbench.rl.env.PlanningEnv`.

    Notes
    -----
    A group's :class:`~qkdbench.rl.vector.PlanningVectorEnv` of an instance is built on
    first draw (the tables: about 0.15 s on USNET with 60 requests) and kept; an
    instance in use by one group is not drawn by another unless every instance is in
    use (then a second copy is built).
    """

    render_mode = None
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        pool: Sequence[Instance],
        groups: int,
        rows: int,
        *,
        k: int = 4,
        levels: Sequence[Any] = DEFAULT_LEVELS,
        order: str = "instance",
        capacity: str = "clip",
        scale_rewards: bool = True,
    ) -> None:
        self.pool = tuple(pool)
        if not self.pool:
            raise InputError("PoolVecEnv needs at least one instance")
        for inst in self.pool:
            if not isinstance(inst, Instance):
                raise InputError(f"PoolVecEnv plans Instances, got {type(inst).__name__}")
        for what, v in (("groups", groups), ("rows", rows)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{what} must be a positive integer, got {v!r}")
        self.groups, self.rows = int(groups), int(rows)
        self.num_envs = self.groups * self.rows
        self._kwargs: dict[str, Any] = {
            "k": k,
            "levels": tuple(levels),
            "order": order,
            "capacity": capacity,
        }
        self.scale_rewards = bool(scale_rewards)
        self._free: dict[int, list[PlanningVectorEnv]] = {}
        first = self._take(0)
        self._free[0].append(first)
        self.observation_space = first.env.observation_space
        self.action_space = first.env.action_space
        self._rng = np.random.default_rng()
        self._seed: int | None = None
        self._current: list[PlanningVectorEnv | None] = [None] * self.groups
        self._which = np.zeros(self.groups, dtype=np.int64)
        self._scale = np.ones(self.groups)
        self._returns = np.zeros(self.num_envs)
        self._actions: np.ndarray | None = None
        self._start = time.perf_counter()
        self._obs = np.zeros((self.num_envs, *self.observation_space.shape), np.float32)
        self._mask = np.zeros((self.num_envs, int(self.action_space.n)), dtype=bool)
        self.reset_infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]

    # ---- instances
    def _take(self, i: int) -> PlanningVectorEnv:
        """A batched env of instance ``i`` no group is using (built if there is none)."""
        free = self._free.setdefault(i, [])
        if free:
            return free.pop()
        venv = PlanningVectorEnv(self.pool[i], self.rows, **self._kwargs)
        if hasattr(self, "observation_space") and (
            venv.env.observation_space.shape != self.observation_space.shape
            or venv.env.action_space.n != self.action_space.n
        ):
            raise InputError(
                f"instance {self.pool[i].name!r} gives observations of shape "
                f"{venv.env.observation_space.shape} and {venv.env.action_space.n} "
                f"actions; the pool's first gives {self.observation_space.shape} and "
                f"{self.action_space.n}"
            )
        return venv

    def _start_group(self, g: int) -> None:
        """Give group ``g`` a newly drawn instance and start its episodes."""
        old = self._current[g]
        if old is not None:
            self._free[int(self._which[g])].append(old)
        busy = {
            int(self._which[h])
            for h in range(self.groups)
            if h != g and self._current[h] is not None
        }
        choices = [i for i in range(len(self.pool)) if i not in busy or len(busy) >= len(self.pool)]
        i = int(choices[int(self._rng.integers(len(choices)))])
        venv = self._take(i)
        obs, _ = venv.reset()
        rows = slice(g * self.rows, (g + 1) * self.rows)
        self._current[g] = venv
        self._which[g] = i
        self._scale[g] = venv.env.cost_scale if self.scale_rewards else 1.0
        self._obs[rows] = obs
        self._mask[rows] = venv._mask
        self._returns[rows] = 0.0

    def instance_of(self, i: int) -> Instance:
        """The instance sub-environment ``i`` plans now.

        Parameters
        ----------
        i : int
            A sub-environment.

        Returns
        -------
        Instance

        Raises
        ------
        RuntimeError
            Before :meth:`reset`.
        """
        venv = self._current[i // self.rows]
        if venv is None:
            raise RuntimeError("call reset() first")
        return venv.env.instance

    # ---- SB3's VecEnv API
    def seed(self, seed: int | None = None) -> list[int | None]:
        """Seed the instance draws of the next :meth:`reset`.

        Parameters
        ----------
        seed : int, optional

        Returns
        -------
        list
            ``[seed]``.
        """
        self._seed = seed
        return [seed]

    def set_options(self, options: Any = None) -> None:
        """Accepted for SB3's API; the episodes take no options.

        Parameters
        ----------
        options : dict or list, optional
            Ignored.
        """

    def reset(self) -> np.ndarray:
        """Draw an instance per group and start every episode.

        Returns
        -------
        ndarray (num_envs, obs_size) float32
        """
        if self._seed is not None:
            self._rng = np.random.default_rng(self._seed)
            self._seed = None
        for g in range(self.groups):
            if self._current[g] is not None:
                self._free[int(self._which[g])].append(self._current[g])  # type: ignore[arg-type]
                self._current[g] = None
        for g in range(self.groups):
            self._start_group(g)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        """Keep the actions of the next :meth:`step_wait`.

        Parameters
        ----------
        actions : ndarray (num_envs,) int
        """
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step every episode with the kept actions.

        Returns
        -------
        observations : ndarray (num_envs, obs_size) float32
            A finished episode's row holds the next episode's first observation.
        rewards : ndarray (num_envs,) float32
        dones : ndarray (num_envs,) bool
        infos : list of dict
            See the module docstring.

        Raises
        ------
        RuntimeError
            Before :meth:`reset` or without :meth:`step_async`.
        InputError
            For a masked-out action or actions of the wrong shape (then no group after
            the first bad one is stepped).
        """
        if self._actions is None or any(v is None for v in self._current):
            raise RuntimeError("call reset() and step_async() before step_wait()")
        acts = self._actions.reshape(-1)
        if acts.shape != (self.num_envs,):
            raise InputError(f"actions must be {self.num_envs} integers, got shape {acts.shape}")
        self._actions = None
        rewards = np.zeros(self.num_envs)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for g in range(self.groups):
            venv = self._current[g]
            assert venv is not None
            rows = slice(g * self.rows, (g + 1) * self.rows)
            obs, rew, term, _, vinfo = venv.step(acts[rows].astype(np.int64, copy=False))
            r = rew / self._scale[g]
            rewards[rows] = r
            self._returns[rows] += r
            name = venv.env.instance.name
            for j in range(self.rows):
                infos[g * self.rows + j] = {"cost": float(vinfo["cost"][j]), "instance": name}
            if term.all():
                dones[rows] = True
                length = int(venv.env.instance.n_requests)
                elapsed = round(time.perf_counter() - self._start, 6)
                for j in range(self.rows):
                    n = g * self.rows + j
                    infos[n]["terminal_observation"] = obs[j]
                    infos[n]["TimeLimit.truncated"] = False
                    infos[n]["episode"] = {"r": float(self._returns[n]), "l": length, "t": elapsed}
                self._start_group(g)
            else:
                self._obs[rows] = obs
                self._mask[rows] = vinfo["action_mask"]
        return self._obs.copy(), rewards.astype(np.float32), dones, infos

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """:meth:`step_async` then :meth:`step_wait`.

        Parameters
        ----------
        actions : ndarray (num_envs,) int

        Returns
        -------
        observations, rewards, dones, infos
            As :meth:`step_wait`.
        """
        self.step_async(actions)
        return self.step_wait()

    def action_masks(self) -> np.ndarray:
        """Valid actions of every sub-environment's current step.

        Returns
        -------
        ndarray (num_envs, n_actions) bool
            A copy.
        """
        return self._mask.copy()

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return [int(i) for i in indices]

    def env_method(
        self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any
    ) -> list[Any]:
        """Per sub-environment: ``action_masks`` gives its mask (the one method there is).

        Parameters
        ----------
        method_name : str
            ``"action_masks"``.
        *method_args, **method_kwargs
            None taken.
        indices : int or sequence of int, optional
            Sub-environments (default all).

        Returns
        -------
        list of ndarray

        Raises
        ------
        AttributeError
            For another method.
        """
        if method_name != "action_masks":
            raise AttributeError(f"PoolVecEnv sub-environments have no method {method_name!r}")
        return [self._mask[i].copy() for i in self._indices(indices)]

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """An attribute per sub-environment: ``action_masks``, ``render_mode``, ``cost_scale``.

        Parameters
        ----------
        attr_name : str
        indices : int or sequence of int, optional

        Returns
        -------
        list

        Raises
        ------
        AttributeError
            For another attribute.
        """
        idx = self._indices(indices)
        if attr_name == "action_masks":
            return [self.action_masks for _ in idx]
        if attr_name == "render_mode":
            return [None for _ in idx]
        if attr_name == "cost_scale":
            return [float(self._scale[i // self.rows]) for i in idx]
        raise AttributeError(f"PoolVecEnv sub-environments have no attribute {attr_name!r}")

    def has_attr(self, attr_name: str) -> bool:
        """Whether :meth:`get_attr` knows ``attr_name``.

        Parameters
        ----------
        attr_name : str

        Returns
        -------
        bool
        """
        return attr_name in ("action_masks", "render_mode", "cost_scale")

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Not supported (SB3's API).

        Parameters
        ----------
        attr_name : str
        value : Any
        indices : optional

        Raises
        ------
        AttributeError
            Always.
        """
        raise AttributeError(f"PoolVecEnv cannot set {attr_name!r}")

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """No sub-environment is wrapped (SB3's API).

        Parameters
        ----------
        wrapper_class : type
        indices : optional

        Returns
        -------
        list of bool
            All ``False``.
        """
        return [False for _ in self._indices(indices)]

    def getattr_depth_check(self, name: str, already_found: bool) -> str | None:
        """SB3's wrapper-attribute check: no wrapper, so nothing shadows ``name``.

        Parameters
        ----------
        name : str
        already_found : bool

        Returns
        -------
        str or None
            The class name if ``name`` is an attribute and was already found above.
        """
        if hasattr(self, name) and already_found:
            return f"{type(self).__module__}.{type(self).__name__}"
        return None

    @property
    def unwrapped(self) -> PoolVecEnv:
        """The adapter itself."""
        return self

    def get_images(self) -> list[None]:
        """No rendering (SB3's API).

        Returns
        -------
        list
            ``None`` per sub-environment.
        """
        return [None] * self.num_envs

    def render(self, mode: str | None = None) -> None:
        """No rendering (SB3's API).

        Parameters
        ----------
        mode : str, optional
        """

    def close(self) -> None:
        """Nothing to release."""


def as_sb3_vec_env(venv: PoolVecEnv) -> Any:
    """``venv``, registered as a (virtual) subclass of SB3's ``VecEnv`` (needs the rl extra).

    Parameters
    ----------
    venv : PoolVecEnv

    Returns
    -------
    PoolVecEnv
        The same object; ``isinstance(venv, stable_baselines3.common.vec_env.VecEnv)``
        holds after the call.
    """
    from stable_baselines3.common.vec_env import VecEnv

    VecEnv.register(PoolVecEnv)
    return venv
