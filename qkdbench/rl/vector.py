"""A batched planning environment: many episodes of one instance, stepped in one Numba call.

:class:`PlanningVectorEnv` is a Gymnasium ``VectorEnv`` over ``num_envs`` episodes of
:class:`~qkdbench.rl.env.PlanningEnv` on the same instance and settings. Each episode's
state is a row of stacked arrays, and :meth:`PlanningVectorEnv.step` advances every row
in one call of :func:`batch_step_kernel`, which runs the single-episode
:func:`~qkdbench.rl.kernels.step_kernel` on each row (so a sub-episode's observations,
rewards, masks and terminations are those of ``PlanningEnv`` stepping the same actions).

Autoreset
---------
Next-step mode (``metadata["autoreset_mode"]`` is
``gymnasium.vector.AutoresetMode.NEXT_STEP``, Gymnasium's default): the step that ends an
episode returns its terminal observation and ``terminated=True``; the next ``step``
ignores that sub-environment's action and resets it, returning its first observation,
reward 0 and ``terminated=False``. Episodes are never truncated.

Masks
-----
``infos["action_mask"]`` (``(num_envs, n_actions)`` bool, with ``infos["_action_mask"]``)
and :meth:`PlanningVectorEnv.action_masks` (sb3-contrib's ``MaskablePPO`` convention)
give the valid actions of each sub-environment's current step; a terminal step allows
action 0 only (it is ignored by the reset). :func:`random_masked_actions` draws one valid
action per row, uniformly, in one compiled call.

Only one instance is supported (a pool or a callable would give each row its own
tables); the seed of :meth:`~PlanningVectorEnv.reset` only seeds ``np_random``.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> venv = PlanningVectorEnv(make_instance("nsfnet", 3, 3, seed=1), 4, k=1)
>>> obs, infos = venv.reset(seed=0)
>>> obs.shape[0], infos["action_mask"].shape
(4, (4, 72))
>>> rng = np.random.default_rng(0)
>>> for _ in range(3):
...     obs, rew, term, trunc, infos = venv.step(random_masked_actions(infos["action_mask"], rng))
>>> term.tolist()
[True, True, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from numba import njit, prange
from numpy.typing import NDArray

from ..exceptions import InputError
from ..model import Instance, Plan
from .core import DEFAULT_LEVELS
from .env import PlanningEnv, episode_plan
from .kernels import observe_kernel, step_kernel

__all__ = ["PlanningVectorEnv", "batch_step_kernel", "batch_reset_kernel", "random_masked_actions"]

_Floats = NDArray[np.float64]
_Ints = NDArray[np.int64]
_Bools = NDArray[np.bool_]
_Floats32 = NDArray[np.float32]


@njit(cache=True)
def _reset_row(
    i: int,
    const: tuple,
    room0: _Ints,
    assign0: _Ints,
    t: _Ints,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
    allowed: _Bools,
    qcost: _Floats,
    kcost: _Floats,
    ocost: _Floats,
    obs: _Floats32,
    mask: _Bools,
    chosen: _Ints,
    yres: _Ints,
    zres: _Ints,
) -> None:
    """Start row ``i``'s episode (``PlanningEnv.reset``'s state) and observe its first step."""
    t[i] = 0
    free_y[i, :] = const[32]  # w_qkd
    free_z[i, :] = const[33]  # w_kml
    used[i, :] = 0.0
    lopen[i, :] = 0.0
    nopen[i, :] = 0.0
    room[i, :] = room0
    assign[i, :, :] = assign0
    allowed[i, :] = True
    chosen[i, :] = -1
    yres[i, :, :] = 0
    zres[i, :, :] = 0
    observe_kernel(  # type: ignore[call-arg]  # const: the 35 constants
        0,
        *const,
        free_y[i],
        free_z[i],
        used[i],
        lopen[i],
        nopen[i],
        room[i],
        assign[i],
        allowed[i],
        qcost[i],
        kcost[i],
        ocost[i],
        obs[i],
        mask[i],
    )


@njit(cache=True)
def batch_reset_kernel(
    which: _Bools,
    const: tuple,
    room0: _Ints,
    assign0: _Ints,
    t: _Ints,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
    allowed: _Bools,
    qcost: _Floats,
    kcost: _Floats,
    ocost: _Floats,
    obs: _Floats32,
    mask: _Bools,
    chosen: _Ints,
    yres: _Ints,
    zres: _Ints,
) -> None:
    """Start a new episode in every row ``i`` with ``which[i]`` and write its first observation.

    Parameters
    ----------
    which : ndarray (n,) bool
        The rows to reset.
    const : tuple
        The constant arguments of :func:`~qkdbench.rl.kernels.observe_kernel` (``order``
        through ``strict``, as ``PlanningEnv`` passes them; ``const[32]`` and
        ``const[33]`` are the capacities ``w_qkd`` and ``w_kml``).
    room0, assign0 : ndarray
        The tables' starting provider room and assignment.
    t : ndarray (n,) int64
        Step of each row; set to 0.
    free_y, free_z, used, lopen, nopen, room, assign, allowed, qcost, kcost, ocost, obs,
    mask, chosen, yres, zres : ndarray
        The state arrays of :func:`~qkdbench.rl.kernels.step_kernel`, one row per episode.
    """
    for i in range(which.size):
        if which[i]:
            _reset_row(
                i,
                const,
                room0,
                assign0,
                t,
                free_y,
                free_z,
                used,
                lopen,
                nopen,
                room,
                assign,
                allowed,
                qcost,
                kcost,
                ocost,
                obs,
                mask,
                chosen,
                yres,
                zres,
            )


def _batch_step(
    actions: _Ints,
    n_requests: int,
    const: tuple,
    room0: _Ints,
    assign0: _Ints,
    t: _Ints,
    free_y: _Ints,
    free_z: _Ints,
    used: _Floats,
    lopen: _Floats,
    nopen: _Floats,
    room: _Ints,
    assign: _Ints,
    allowed: _Bools,
    qcost: _Floats,
    kcost: _Floats,
    ocost: _Floats,
    obs: _Floats32,
    mask: _Bools,
    chosen: _Ints,
    yres: _Ints,
    zres: _Ints,
    cost: _Floats,
    reward: _Floats,
    terminated: _Bools,
) -> int:
    """Step every row: reset a finished one (next-step autoreset), else apply its action.

    Parameters
    ----------
    actions : ndarray (n,) int64
        One flat action per row (ignored in a row that resets).
    n_requests : int
        Requests of the instance, ``F``.
    const : tuple
        As for :func:`batch_reset_kernel`.
    room0, assign0 : ndarray of int64
        As for :func:`batch_reset_kernel`.
    t, free_y, free_z, room, assign, chosen, yres, zres : ndarray of int64
        As for :func:`batch_reset_kernel`; updated.
    used, lopen, nopen, qcost, kcost, ocost : ndarray of float64
        As for :func:`batch_reset_kernel`; updated.
    obs : ndarray of float32
        As for :func:`batch_reset_kernel`; updated.
    allowed, mask : ndarray of bool
        As for :func:`batch_reset_kernel`; updated.
    cost : ndarray (n,) float64
        Expected cost of each row's plan so far; updated (0 after a reset).
    reward, terminated : ndarray (n,)
        Written: minus the step's cost increase (0 on a reset) and whether the row's
        episode ended with this step.

    Returns
    -------
    int
        ``-1`` if every action was applied; else the first row whose action is out of
        range or masked out (then no row is changed).

    Notes
    -----
    ``PlanningVectorEnv(parallel=True)`` runs a ``parallel=True`` compilation of the same
    function (rows split over Numba's threads).
    """
    n = actions.size
    n_actions = mask.shape[1]
    for i in range(n):
        if t[i] < n_requests:
            a = actions[i]
            if a < 0 or a >= n_actions or not mask[i, a]:
                return i
    for i in prange(n):  # rows are independent
        if t[i] >= n_requests:  # finished last step: reset instead
            cost[i] = 0.0
            reward[i] = 0.0
            terminated[i] = False
            _reset_row(
                i,
                const,
                room0,
                assign0,
                t,
                free_y,
                free_z,
                used,
                lopen,
                nopen,
                room,
                assign,
                allowed,
                qcost,
                kcost,
                ocost,
                obs,
                mask,
                chosen,
                yres,
                zres,
            )
            continue
        delta = step_kernel(  # type: ignore[call-arg]  # const: the 35 constants
            actions[i],
            t[i],
            *const,
            free_y[i],
            free_z[i],
            used[i],
            lopen[i],
            nopen[i],
            room[i],
            assign[i],
            allowed[i],
            qcost[i],
            kcost[i],
            ocost[i],
            obs[i],
            mask[i],
            chosen[i],
            yres[i],
            zres[i],
        )
        t[i] += 1
        cost[i] += delta
        reward[i] = -delta
        terminated[i] = t[i] == n_requests
    return -1


batch_step_kernel = njit(cache=True)(_batch_step)
_batch_step_parallel = njit(cache=True, parallel=True)(_batch_step)


@njit(cache=True)
def _pick_masked(mask: _Bools, u: _Floats, out: _Ints) -> None:
    for i in range(mask.shape[0]):
        count = 0
        for a in range(mask.shape[1]):
            if mask[i, a]:
                count += 1
        k = min(int(u[i] * count), count - 1)
        out[i] = 0
        for a in range(mask.shape[1]):
            if mask[i, a]:
                if k == 0:
                    out[i] = a
                    break
                k -= 1


def random_masked_actions(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row, uniform among the row's valid actions (one compiled call).

    Parameters
    ----------
    masks : ndarray (n, n_actions) bool
        Valid actions per row (each row with at least one).
    rng : numpy.random.Generator
        Draws one uniform number per row.

    Returns
    -------
    ndarray (n,) int64

    Examples
    --------
    >>> m = np.array([[False, True, False], [True, False, True]])
    >>> a = random_masked_actions(m, np.random.default_rng(0))
    >>> bool(m[0, a[0]] and m[1, a[1]])
    True
    """
    masks = np.ascontiguousarray(masks, dtype=np.bool_)
    out = np.empty(masks.shape[0], dtype=np.int64)
    _pick_masked(masks, rng.random((masks.shape[0],)), out)
    return out


class PlanningVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` planning episodes of one instance, stepped in one Numba call.

    See the module docstring (next-step autoreset, masks).

    Parameters
    ----------
    instance : Instance
        The instance every sub-environment plans.
    num_envs : int
        Sub-environments (``>= 1``).
    k, levels, order, capacity, planner_name :
        As for :class:`~qkdbench.rl.env.PlanningEnv`.
    parallel : bool, optional
        Split the rows of a step over Numba's threads (``prange``); pays off only on
        otherwise idle cores. Default ``False``: one thread.

    Attributes
    ----------
    env : PlanningEnv
        A single environment with the same settings (its tables, layout and spaces are
        shared; it is not stepped).
    single_observation_space, single_action_space : gymnasium.spaces.Space
        Those of :attr:`env`.
    observation_space : gymnasium.spaces.Box
        ``(num_envs, obs_size)``.
    action_space : gymnasium.spaces.MultiDiscrete

    Raises
    ------
    InputError
        For a non-positive ``num_envs``, anything else than one instance, or the
        errors of :class:`~qkdbench.rl.env.PlanningEnv`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        instance: Instance,
        num_envs: int,
        *,
        k: int = 4,
        levels: Sequence[Any] = DEFAULT_LEVELS,
        order: str = "instance",
        capacity: str = "clip",
        planner_name: str = "rl-env",
        parallel: bool = False,
    ) -> None:
        if not isinstance(instance, Instance):
            raise InputError(f"PlanningVectorEnv plans one Instance, got {type(instance).__name__}")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)):
            raise InputError(f"num_envs must be a positive integer, got {num_envs!r}")
        if num_envs < 1:
            raise InputError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.env = PlanningEnv(
            instance, k=k, levels=levels, order=order, capacity=capacity, planner_name=planner_name
        )
        self.num_envs = n = int(num_envs)
        self.single_observation_space = self.env.observation_space
        self.single_action_space = self.env.action_space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        tb = self.env.tables
        self.tables = tb
        self._const: tuple[Any, ...] = self.env._const
        F, A = instance.n_requests, self.env._w_qkd.size
        R, L, H = tb.arc.shape[1], len(self.env.levels), tb.arc.shape[2]
        P, G = tb.n_providers, tb.assign0.shape[0]
        n_actions = int(self.single_action_space.n)
        self._F = F
        self._t = np.full(n, F, dtype=np.int64)
        self._free_y = np.zeros((n, A), dtype=np.int64)
        self._free_z = np.zeros((n, A), dtype=np.int64)
        self._used = np.zeros((n, A))
        self._lopen = np.zeros((n, len(instance.links)))
        self._nopen = np.zeros((n, len(instance.nodes)))
        self._room = np.zeros((n, P), dtype=np.int64)
        self._assign = np.zeros((n, G, P), dtype=np.int64)
        self._allowed = np.ones((n, P), dtype=bool)
        self._qcost = np.zeros((n, R, L))
        self._kcost = np.zeros((n, R, L))
        self._ocost = np.zeros((n, R))
        self._obs = np.zeros((n, self.env.layout.size), dtype=np.float32)
        self._mask = np.zeros((n, n_actions), dtype=bool)
        self._chosen = np.full((n, F), -1, dtype=np.int64)
        self._yres = np.zeros((n, F, H), dtype=np.int64)
        self._zres = np.zeros((n, F, H), dtype=np.int64)
        self._cost = np.zeros(n)
        self._reward = np.zeros(n)
        self._terminated = np.zeros(n, dtype=bool)
        self._truncated = np.zeros(n, dtype=bool)
        self._all = np.ones(n, dtype=bool)
        self._state: tuple[Any, ...] = (
            tb.room0,
            tb.assign0,
            self._t,
            self._free_y,
            self._free_z,
            self._used,
            self._lopen,
            self._nopen,
            self._room,
            self._assign,
            self._allowed,
            self._qcost,
            self._kcost,
            self._ocost,
            self._obs,
            self._mask,
            self._chosen,
            self._yres,
            self._zres,
        )
        self._step_args: tuple[Any, ...] = (
            self._F,
            self._const,
            *self._state,
            self._cost,
            self._reward,
            self._terminated,
        )
        self._started = False
        self._kernel = _batch_step_parallel if parallel else batch_step_kernel

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode in every sub-environment.

        Parameters
        ----------
        seed : int or list, optional
            Seeds ``np_random`` (an int, or the first entry of a list); the episodes
            themselves are deterministic.
        options : dict, optional
            ``reset_mask``: a ``(num_envs,)`` bool array, the sub-environments to reset
            (default all; Gymnasium's convention).

        Returns
        -------
        observations : ndarray (num_envs, obs_size) float32
        infos : dict
            ``action_mask`` and ``cost`` (stacked, with their ``_``-prefixed flags).

        Raises
        ------
        InputError
            For a ``reset_mask`` of the wrong shape.
        """
        if isinstance(seed, list):
            seed = seed[0] if seed else None
        super().reset(seed=seed)
        which = self._all
        if options and options.get("reset_mask") is not None:
            which = np.asarray(options["reset_mask"], dtype=bool)
            if which.shape != (self.num_envs,):
                raise InputError(
                    f"options['reset_mask'] has shape {which.shape}, expected ({self.num_envs},)"
                )
        batch_reset_kernel(which, self._const, *self._state)
        self._cost[which] = 0.0
        self._terminated[which] = False
        self._started = True
        return self._obs.copy(), self._infos()

    def _infos(self) -> dict[str, Any]:
        return {
            "action_mask": self._mask.copy(),
            "_action_mask": self._all.copy(),
            "cost": self._cost.copy(),
            "_cost": self._all.copy(),
        }

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-environment (a finished one resets instead; next-step mode).

        Parameters
        ----------
        actions : array-like (num_envs,) of int
            A valid flat action per sub-environment (ignored where it resets).

        Returns
        -------
        observations : ndarray (num_envs, obs_size) float32
        rewards : ndarray (num_envs,) float64
            Minus each action's priced cost (0 where a sub-environment reset).
        terminations : ndarray (num_envs,) bool
        truncations : ndarray (num_envs,) bool
            Always ``False``.
        infos : dict
            As for :meth:`reset` (``cost``: of each plan so far).

        Raises
        ------
        RuntimeError
            Before :meth:`reset`.
        InputError
            For actions of the wrong shape or kind, or an action out of range or masked
            out (then no sub-environment is stepped).
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        acts = np.asarray(actions)
        if acts.shape != (self.num_envs,) or not np.issubdtype(acts.dtype, np.integer):
            raise InputError(
                f"actions must be {self.num_envs} integers, got an array of shape "
                f"{acts.shape} and dtype {acts.dtype}"
            )
        bad = self._kernel(acts.astype(np.int64, copy=False), *self._step_args)
        if bad >= 0:
            raise InputError(
                f"action {int(acts[bad])} of sub-environment {bad} is out of range or masked "
                "out (see action_masks())"
            )
        return (
            self._obs.copy(),
            self._reward.copy(),
            self._terminated.copy(),
            self._truncated.copy(),
            self._infos(),
        )

    def action_masks(self) -> np.ndarray:
        """Valid actions of each sub-environment's current step.

        Returns
        -------
        ndarray (num_envs, n_actions) bool
            A copy.
        """
        return self._mask.copy()

    def plan(self, i: int) -> Plan:
        """The plan of sub-environment ``i``'s episode, just finished.

        Parameters
        ----------
        i : int
            A sub-environment whose last step ended its episode.

        Returns
        -------
        Plan
            As :meth:`PlanningEnv.plan <qkdbench.rl.env.PlanningEnv.plan>`.

        Raises
        ------
        RuntimeError
            If that episode is not finished (or has been reset).
        """
        if not 0 <= i < self.num_envs or self._t[i] != self._F:
            raise RuntimeError(f"the episode of sub-environment {i} is not finished")
        env = self.env
        return episode_plan(
            self.tables,
            self._chosen[i],
            self._yres[i],
            self._zres[i],
            {},
            float(self._cost[i]),
            env.planner_name,
            {"k": env.k, "levels": list(env.levels), "order": env.order, "capacity": env.capacity},
        )
