"""``qkdbench/Planning-v0``: the planning problem as a Gymnasium environment.

An episode plans one instance. Requests arrive one at a time in a documented
order; each step chooses, for the current request, a candidate route and a
QKD and a KM reservation level. The reward is minus the increase of the plan's
expected cost, priced by the evaluator, so the return of an episode is minus
:func:`qkdbench.evaluation.evaluate`'s total of the plan in the final ``info``.

Action
------
``Discrete(T * S * L * L)``: the flat index of ``(target, slot, qkd_level, kml_level)``
(C order, :meth:`PlanningEnv.encode_action` / :meth:`PlanningEnv.decode_action`).
``S = k + 1`` candidate slots (slot 0: shortest path by fiber length, CO-QBN's
route; slots 1..k: the k cheapest stand-alone routes, see
:mod:`qkdbench.rl.core`), ``L`` reservation levels (default
``("zero", 0.25, "mean", "newsvendor", 0.9, "max")``). ``T`` is the number of
provider targets and is 1 today: when requests gain provider targets, the
target becomes the leading action dimension (candidates per target) and the
mask rules out providers at capacity, without changing the rest of the layout.

Capacity
--------
``capacity="clip"`` (default): a level is reserved first fit, on each arc
``min(level, remaining capacity)``, the rest of the demand going on demand
(CO-QBN's rule); every non-padded action is valid and no plan can exceed a
capacity. ``capacity="strict"``: an action whose QKD or KM level does not fit
on every arc of its route is masked out; the ``"zero"`` level (required in
this mode) always fits, so every step has a valid action.

The mask (``action_masks()``, and ``info["action_mask"]``) also rules out
padded slots of requests with fewer than ``S`` routes. Stepping a masked
action raises :class:`~qkdbench.exceptions.InputError` (a ``ValueError``).

Observation
-----------
``Box(float32)`` of length ``3 A + 2 N + 6 + 2 + S (5 + 2 L)``, in this order:
remaining QKD capacity per arc (fraction of ``W_qkd``; 0 where ``W_qkd = 0``),
the same for KM, whether some route already uses the arc (the links to pay for
once fixed charges land), one-hot source and target of the current request,
its demand summary (mean, std, median, 90% quantile, max over the instance's
largest key rate, and ``Pr(kappa = 0)``), progress ``t / F`` and ``log(1 + F) / 5``,
then per slot: valid, length (over the longest candidate), hops (over the
most), least remaining QKD and KM fraction along the route, the priced cost of
each QKD level and of each KM level now (over the instance's mean stand-alone
cost, capped at 100). Every entry lies in ``[0, 100]``. The cost of action
``(s, q, m)`` is ``qkd_cost[s, q] + kml_cost[s, m]``.

Instances
---------
One instance, a sequence of instances (one drawn per episode with the env's
``np_random``), or a callable ``rng -> Instance`` (called once at construction
with ``numpy.random.default_rng(0)`` to size the spaces, then once per episode).
All must have as many nodes and arcs as the first. ``reset(options={"instance":
inst})`` plans a given instance. Tables are built once per instance of a
sequence (the slow part: candidate paths), per episode for a callable.

Examples
--------
>>> import gymnasium as gym
>>> import qkdbench.rl
>>> from qkdbench.topologies import make_instance
>>> from qkdbench.evaluation import evaluate
>>> inst = make_instance("nsfnet", 4, 3, seed=1)
>>> env = gym.make("qkdbench/Planning-v0", instance=inst, k=2)
>>> obs, info = env.reset(seed=0)
>>> ret, done = 0.0, False
>>> while not done:
...     obs, r, done, _, info = env.step(int(info["action_mask"].argmax()))
...     ret += r
>>> abs(ret + evaluate(inst, info["plan"]).total) < 1e-6
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from ..evaluation.pricing import arc_table
from ..exceptions import InputError
from ..model import Instance, Plan, Route
from ..utils.random import check_random_state
from .core import (
    CAPACITY_MODES,
    DEFAULT_LEVELS,
    N_DEMAND_FEATURES,
    N_SLOT_FEATURES,
    OBS_HIGH,
    PlanningTables,
    build_tables,
    check_levels,
    obs_size,
    observe_kernel,
    step_kernel,
)

__all__ = ["PlanningEnv", "ObsLayout", "make_vector_env", "as_action"]

InstanceSource = Instance | Sequence[Instance] | Callable[[np.random.Generator], Instance]


def as_action(value: Any, what: str = "action") -> int:
    """An action as an ``int``: an integer (Python's or NumPy's, or an array holding one).

    Every ``step`` of the environments reads its actions through here: a float (``2.7``,
    even ``3.0``), a string (``"3"``), a boolean or an array of several values is refused,
    not truncated or parsed.

    Parameters
    ----------
    value : Any
        What the agent gave.
    what : str, optional
        What the value is, for the message (``"router action"``).

    Returns
    -------
    int

    Raises
    ------
    InputError
        For a value that is not one integer.

    Examples
    --------
    >>> as_action(np.int64(3)), as_action(np.array([4]))
    (3, 4)
    >>> as_action(2.7)
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: action must be an integer, got 2.7 (float)
    """
    v = value
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.reshape(()).item() if np.issubdtype(v.dtype, np.integer) else v.reshape(())[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        shown = repr(v.item() if isinstance(v, np.generic) else v)
        kind = type(value).__name__
        raise InputError(f"{what} must be an integer, got {shown[:40]} ({kind})")
    return int(v)


class ObsLayout:
    """Slices of the observation vector (see the module docstring).

    Parameters
    ----------
    n_arcs, n_nodes, n_slots, n_levels : int
    """

    def __init__(self, n_arcs: int, n_nodes: int, n_slots: int, n_levels: int) -> None:
        A, N, S, L = n_arcs, n_nodes, n_slots, n_levels
        self.n_arcs, self.n_nodes, self.n_slots, self.n_levels = A, N, S, L
        self.free_qkd = slice(0, A)
        self.free_kml = slice(A, 2 * A)
        self.used = slice(2 * A, 3 * A)
        self.source = slice(3 * A, 3 * A + N)
        self.target = slice(3 * A + N, 3 * A + 2 * N)
        o = 3 * A + 2 * N
        self.demand = slice(o, o + N_DEMAND_FEATURES)
        o += N_DEMAND_FEATURES
        self.progress = slice(o, o + 2)
        self.slots = slice(o + 2, o + 2 + S * (N_SLOT_FEATURES + 2 * L))
        self.size = obs_size(A, N, S, L)

    def slot_block(self, obs: np.ndarray) -> np.ndarray:
        """The per-slot features as an ``(S, 5 + 2 L)`` view.

        Parameters
        ----------
        obs : ndarray
            One observation.

        Returns
        -------
        ndarray
            A view into ``obs``.
        """
        return obs[self.slots].reshape(self.n_slots, N_SLOT_FEATURES + 2 * self.n_levels)

    def priced(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised QKD and KM level costs per slot, each ``(S, L)``.

        Parameters
        ----------
        obs : ndarray
            One observation.

        Returns
        -------
        qkd, km : ndarray (S, L)
            Views into ``obs``: each cost over the instance's cost scale, capped at
            :data:`~qkdbench.rl.core.OBS_HIGH`.
        """
        block = self.slot_block(obs)
        L = self.n_levels
        return (block[:, N_SLOT_FEATURES : N_SLOT_FEATURES + L], block[:, N_SLOT_FEATURES + L :])


class PlanningEnv(gym.Env):
    """One episode plans one instance, one request per step (see the module docstring).

    Parameters
    ----------
    instance : Instance, sequence of Instance, or callable ``rng -> Instance``
    k : int
        Candidate routes besides the shortest path (default 4).
    levels : sequence
        Reservation levels (see :mod:`qkdbench.rl.core`).
    order : {"instance", "cost-desc"}
        Request order: the instance's (default, CO-QBN's) or decreasing
        stand-alone cost (saa-greedy's).
    capacity : {"clip", "strict"}
        See "Capacity" in the module docstring.
    planner_name : str
        Name written into the plan of ``info["plan"]``.

    Attributes
    ----------
    layout : ObsLayout
    action_dims : tuple of int
        ``(T, S, L, L)``, ``T = 1`` (provider targets, later).
    tables : PlanningTables
        Of the current episode's instance.
    """

    observation_space: gym.spaces.Box
    action_space: gym.spaces.Discrete

    metadata = {"render_modes": []}

    def __init__(
        self,
        instance: InstanceSource,
        *,
        k: int = 4,
        levels: Sequence[Any] = DEFAULT_LEVELS,
        order: str = "instance",
        capacity: str = "clip",
        planner_name: str = "rl-env",
    ) -> None:
        if capacity not in CAPACITY_MODES:
            raise InputError(
                f"capacity must be one of {', '.join(CAPACITY_MODES)}, got {capacity!r}"
            )
        self.levels = check_levels(levels)
        if capacity == "strict" and "zero" not in self.levels:
            raise InputError(
                'capacity="strict" needs the "zero" level, so that every '
                "step has an action that fits"
            )
        self.k = k
        self.order = order
        self.capacity = capacity
        self.planner_name = planner_name
        if isinstance(instance, Instance):
            self._pool: tuple[Instance, ...] | None = (instance,)
            self._make: Callable[[np.random.Generator], Instance] | None = None
            first = instance
        elif callable(instance):
            self._pool = None
            self._make = instance
            first = instance(check_random_state(0))
        else:
            self._pool = tuple(instance)
            self._make = None
            if not self._pool:
                raise InputError("an empty sequence of instances")
            first = self._pool[0]
        if not isinstance(first, Instance):
            raise TypeError(f"expected an Instance, got {type(first).__name__}")
        self._cache: dict[int, PlanningTables] = {}
        self._set_tables(self._tables_for(first, 0 if self._pool else None))
        self.layout = ObsLayout(arc_table(first).n, len(first.nodes), self.k + 1, len(self.levels))
        self.action_dims = (1, self.k + 1, len(self.levels), len(self.levels))
        self.observation_space = gym.spaces.Box(
            0.0, OBS_HIGH, (self.layout.size,), dtype=np.float32
        )
        self.action_space = gym.spaces.Discrete(int(np.prod(self.action_dims)))
        self._obs = np.zeros(self.layout.size)
        self._mask = np.zeros(self.action_space.n, dtype=bool)
        self._t = -1

    # ---- instances
    def _tables_for(self, inst: Instance, key: int | None) -> PlanningTables:
        if key is not None and key in self._cache:
            return self._cache[key]
        tables = build_tables(inst, self.k, self.levels, self.order)
        if key is not None:
            self._cache[key] = tables
        return tables

    def _set_tables(self, t: PlanningTables) -> None:
        if hasattr(self, "layout") and (
            arc_table(t.instance).n != self.layout.n_arcs
            or len(t.instance.nodes) != self.layout.n_nodes
        ):
            raise InputError(
                f"instance {t.instance.name!r} has {len(t.instance.nodes)} nodes "
                f"and {arc_table(t.instance).n} arcs; this environment was sized for "
                f"{self.layout.n_nodes} and {self.layout.n_arcs}"
            )
        self.tables = t
        a = arc_table(t.instance)
        self._w_qkd = np.asarray(a.W_qkd, dtype=np.int64)
        self._w_kml = np.asarray(a.W_kml, dtype=np.int64)
        self._const = (
            t.order,
            t.arc,
            t.hops,
            t.valid,
            t.length,
            t.pair,
            t.ylev,
            t.zlev,
            t.by_ptr,
            t.by,
            t.bcy,
            t.bz_ptr,
            t.bz,
            t.bcz,
            t.demand,
            t.src,
            t.dst,
            len(t.instance.nodes),
            t.cost_scale,
            t.length_scale,
            self._w_qkd,
            self._w_kml,
            self.capacity == "strict",
        )

    @property
    def instance(self) -> Instance:
        """The instance of the current episode."""
        return self.tables.instance

    @property
    def cost_scale(self) -> float:
        """The current instance's mean stand-alone request cost (the observation's cost unit)."""
        return self.tables.cost_scale

    # ---- actions
    def encode_action(self, slot: int, qkd_level: int, kml_level: int, target: int = 0) -> int:
        """Flat action of ``(target, slot, qkd_level, kml_level)``.

        Parameters
        ----------
        slot : int
            Route slot, ``0 .. k``.
        qkd_level, kml_level : int
            Positions in :attr:`levels`.
        target : int, optional
            Always 0 (no target choice yet).

        Returns
        -------
        int
        """
        return int(np.ravel_multi_index((target, slot, qkd_level, kml_level), self.action_dims))

    def decode_action(self, action: int) -> tuple[int, int, int, int]:
        """``(target, slot, qkd_level, kml_level)`` of a flat action.

        Parameters
        ----------
        action : int
            A flat action in ``0 .. action_space.n - 1``.

        Returns
        -------
        tuple of int
        """
        flat = as_action(action)
        target, slot, qkd, km = (int(x) for x in np.unravel_index(flat, self.action_dims))
        return target, slot, qkd, km

    def action_masks(self) -> np.ndarray:
        """Valid actions of the current step (sb3-contrib's ``MaskablePPO`` convention).

        Returns
        -------
        ndarray of bool
            A copy, one flag per flat action.
        """
        return self._mask.copy()

    # ---- episode
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        """Start an episode; ``options={"instance": inst}`` plans that instance.

        Parameters
        ----------
        seed : int, optional
            Seeds the environment's generator (as Gymnasium's ``reset``), which draws the
            instance from a pool or a callable.
        options : dict, optional
            ``instance``: an instance to plan this episode instead (of the same size).

        Returns
        -------
        observation : ndarray of float32
        info : dict
            ``action_mask``, ``cost`` (0) and ``request`` (the first request's id).
        """
        super().reset(seed=seed)
        options = options or {}
        if options.get("instance") is not None:
            self._set_tables(build_tables(options["instance"], self.k, self.levels, self.order))
        elif self._pool is not None:
            if len(self._pool) > 1 or self.tables.instance is not self._pool[0]:
                i = int(self.np_random.integers(len(self._pool)))
                self._set_tables(self._tables_for(self._pool[i], i))
        else:
            make = self._make
            assert make is not None  # without a pool, instances come from the callable
            self._set_tables(self._tables_for(make(self.np_random), None))
        t = self.tables
        F, A = t.instance.n_requests, arc_table(t.instance).n
        S, L, H = t.n_slots, len(self.levels), t.arc.shape[2]
        self._free_y = self._w_qkd.copy()
        self._free_z = self._w_kml.copy()
        self._used = np.zeros(A)
        self._qcost = np.zeros((S, L))
        self._kcost = np.zeros((S, L))
        self._chosen = np.full(F, -1, dtype=np.int64)
        self._yres = np.zeros((F, H), dtype=np.int64)
        self._zres = np.zeros((F, H), dtype=np.int64)
        self._t = 0
        self._cost = 0.0
        observe_kernel(
            0,
            *self._const,
            self._free_y,
            self._free_z,
            self._used,
            self._qcost,
            self._kcost,
            self._obs,
            self._mask,
        )
        return self._obs.astype(np.float32), self._info()

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"action_mask": self._mask.copy(), "cost": self._cost}
        t = self.tables
        if self._t < t.instance.n_requests:
            info["request"] = t.instance.requests[int(t.order[self._t])].id
        return info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Plan the current request with ``action``; reward = minus its priced cost.

        Parameters
        ----------
        action : int
            A flat action the mask allows.

        Returns
        -------
        observation : ndarray of float32
        reward : float
            Minus the action's priced cost.
        terminated : bool
            Whether every request is planned.
        truncated : bool
            Always ``False``.
        info : dict
            ``action_mask``, ``cost`` (so far), ``request`` (the next one's id), and at the
            end ``plan``.

        Raises
        ------
        RuntimeError
            If the episode has not started or is over.
        InputError
            If ``action`` is not an integer (:func:`as_action`), is out of range or masked
            out.
        """
        F = self.tables.instance.n_requests
        if not 0 <= self._t < F:
            raise RuntimeError("call reset() before step() (the episode is over)")
        a = as_action(action)
        if not 0 <= a < self._mask.size or not self._mask[a]:
            where = self.decode_action(a) if 0 <= a < self._mask.size else "out of range"
            raise InputError(f"action {a} {where} is masked out (see action_masks())")
        delta = step_kernel(
            a,
            self._t,
            *self._const,
            self._free_y,
            self._free_z,
            self._used,
            self._qcost,
            self._kcost,
            self._obs,
            self._mask,
            self._chosen,
            self._yres,
            self._zres,
        )
        self._t += 1
        self._cost += delta
        done = self._t == F
        info = self._info()
        if done:
            info["plan"] = self.plan()
        return self._obs.astype(np.float32), -float(delta), done, False, info

    def priced_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact QKD and KM cost of each ``(slot, level)`` for the current request, ``(S, L)`` each.

        ``inf`` marks a padded slot or (strict mode) a level that does not fit.

        Returns
        -------
        qkd, km : ndarray (S, L)
            Copies.
        """
        return self._qcost.copy(), self._kcost.copy()

    def plan(self) -> Plan:
        """The plan of the finished episode, routes in the instance's request order.

        Returns
        -------
        Plan
            Status ``heuristic``; ``stats`` holds ``expected_cost`` (the sum of the step
            costs) and the environment's settings.

        Raises
        ------
        RuntimeError
            If the episode is not finished.
        """
        t = self.tables
        inst = t.instance
        if self._t != inst.n_requests:
            raise RuntimeError("the episode is not finished")
        routes = []
        ys, zs, chosen = self._yres.tolist(), self._zres.tolist(), self._chosen.tolist()
        hops = t.hops.tolist()
        for f, req in enumerate(inst.requests):
            s = chosen[f]
            n = hops[f][s]
            path = t.paths[f][s]
            assert path is not None, "the action mask offers no padded slot"
            routes.append(Route(req.id, path, tuple(ys[f][:n]), tuple(zs[f][:n])))
        return Plan(
            inst.name,
            self.planner_name,
            tuple(routes),
            {
                "status": "heuristic",
                "expected_cost": self._cost,
                "env": {
                    "k": self.k,
                    "levels": list(self.levels),
                    "order": self.order,
                    "capacity": self.capacity,
                },
            },
        )


def make_vector_env(
    instance: InstanceSource, num_envs: int, **kwargs: Any
) -> gym.vector.SyncVectorEnv:
    """``num_envs`` planning environments in one Gymnasium ``SyncVectorEnv``.

    Masks come back in ``infos["action_mask"]`` (stacked, with ``_action_mask``);
    sub-environments reset automatically when their episode ends (next-step mode).

    Parameters
    ----------
    instance : Instance, sequence or callable
        As for :class:`PlanningEnv` (shared by every copy).
    num_envs : int
    **kwargs
        Passed to :class:`PlanningEnv`.

    Returns
    -------
    gymnasium.vector.SyncVectorEnv

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> venv = make_vector_env(make_instance("nsfnet", 3, 3, seed=1), 2, k=1)
    >>> obs, infos = venv.reset(seed=0)
    >>> obs.shape[0], infos["action_mask"].shape[0]
    (2, 2)
    """
    return gym.vector.SyncVectorEnv(
        [lambda: PlanningEnv(instance, **kwargs) for _ in range(num_envs)]
    )
