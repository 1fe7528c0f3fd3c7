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
``T`` is the most targets of a request (:attr:`~qkdbench.model.Request.sinks`:
an ordinary request has one, its ``target``; a request with provider targets
chooses one of them), so ``T = 1`` on an instance without providers. Each
target has ``S = k + 1`` candidate slots (slot 0: shortest path by fiber
length to the target's node, CO-QBN's route; slots 1..k: the k cheapest
stand-alone routes, see :mod:`qkdbench.rl.core`). ``L`` reservation levels
(default ``("zero", 0.25, "mean", "newsvendor", 0.9, "max")``).

Capacity
--------
``capacity="clip"`` (default): a level is reserved first fit, on each arc
``min(level, remaining capacity)``, the rest of the demand going on demand
(CO-QBN's rule); no plan can exceed an arc's capacity. ``capacity="strict"``:
an action whose QKD or KM level does not fit on every arc of its route is
masked out; the ``"zero"`` level (required in this mode) always fits.

The mask (``action_masks()``, and ``info["action_mask"]``) also rules out
padded slots and targets, and the targets of a provider that cannot take the
request: a full provider, and one whose last places the requests still to
come need (the mask keeps a feasible assignment of those to providers, see
:mod:`qkdbench.rl.kernels`), so every step has a valid action and no
provider ever serves more requests than its capacity. Stepping a masked
action raises :class:`~qkdbench.exceptions.InputError` (a ``ValueError``).

Reward
------
Minus the increase of the plan's expected cost: the evaluator-priced cost
of the route's reservations (with its route cost), the fixed charges of the
links and nodes it is the first of the episode to use (a link is open once
a route uses either of its arcs, a node once a route touches it; each is
paid once), and the service cost of the chosen target. So the return is
minus :func:`~qkdbench.evaluation.evaluate`'s total of the episode's plan.

Observation
-----------
``Box(float32)`` of length ``4 A + 3 N + 6 + 2 + P + T S (8 + 2 L)``
(:class:`ObsLayout`), in this order: remaining QKD capacity per arc
(fraction of ``W_qkd``; 0 where ``W_qkd = 0``), the same for KM, whether
some route already uses the arc, whether the arc's link is open (its fixed
charge paid), whether each node is open; one-hot source of the current
request and its target nodes (one per target); its demand summary (mean,
std, median, 90% quantile, max over the instance's largest key rate, and
``Pr(kappa = 0)``), progress ``t / F`` and ``log(1 + F) / 5``; the room
left on each provider (fraction of its capacity, 1 if unlimited); then per
route slot (target-major): valid, length (over the longest candidate), hops
(over the most), least remaining QKD and KM fraction along the route, its
opening cost (fixed charges it would pay now) and its target's service cost
(both over the instance's mean stand-alone cost), the room left on the
target's provider, then the priced cost of each QKD level and of each KM
level now (over the same scale). Costs are capped at 100, so every entry
lies in ``[0, 100]``. The cost of action ``(t, s, q, m)`` is
``qkd_cost[r, q] + kml_cost[r, m] + opening[r] + service[r]`` with
``r = t S + s`` (:meth:`PlanningEnv.action_costs` gives them exactly).

Replaying a plan
----------------
:meth:`PlanningEnv.step_route` plans the current request with a given route
(any simple path to one of its targets, any reservations that fit) instead
of an action, priced the same way; :meth:`PlanningEnv.replay` runs a whole
episode on a planner's plan, so its return is minus the plan's evaluator
total.

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

from ..evaluation import pair_costs
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
from .kernels import apply_route

__all__ = ["PlanningEnv", "ObsLayout", "make_vector_env", "as_action"]

InstanceSource = Instance | Sequence[Instance] | Callable[[np.random.Generator], Instance]
_NONE = np.zeros(0)  # the charge arrays of an instance without fixed charges


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
        Arcs, nodes, candidate slots per target and reservation levels.
    n_targets : int, optional
        Targets per request ``T`` (1 without providers).
    n_providers : int, optional
        Providers ``P`` (0 without).
    """

    def __init__(
        self,
        n_arcs: int,
        n_nodes: int,
        n_slots: int,
        n_levels: int,
        n_targets: int = 1,
        n_providers: int = 0,
    ) -> None:
        A, N, S, L = n_arcs, n_nodes, n_slots, n_levels
        self.n_arcs, self.n_nodes, self.n_slots, self.n_levels = A, N, S, L
        self.n_targets, self.n_providers = n_targets, n_providers
        #: Route slots per request, ``T * S``.
        self.n_routes = n_targets * n_slots
        self.free_qkd = slice(0, A)
        self.free_kml = slice(A, 2 * A)
        self.used = slice(2 * A, 3 * A)
        self.link_open = slice(3 * A, 4 * A)
        o = 4 * A
        self.node_open = slice(o, o + N)
        self.source = slice(o + N, o + 2 * N)
        self.target = slice(o + 2 * N, o + 3 * N)
        o += 3 * N
        self.demand = slice(o, o + N_DEMAND_FEATURES)
        o += N_DEMAND_FEATURES
        self.progress = slice(o, o + 2)
        o += 2
        self.providers = slice(o, o + n_providers)
        o += n_providers
        self.slots = slice(o, o + self.n_routes * (N_SLOT_FEATURES + 2 * L))
        self.size = obs_size(A, N, S, L, n_targets, n_providers)

    def slot_block(self, obs: np.ndarray) -> np.ndarray:
        """The per-route-slot features as an ``(T * S, N_SLOT_FEATURES + 2 L)`` view.

        Parameters
        ----------
        obs : ndarray
            One observation.

        Returns
        -------
        ndarray
            A view into ``obs``; row ``t * S + s`` is slot ``s`` of target ``t``.
        """
        return obs[self.slots].reshape(self.n_routes, N_SLOT_FEATURES + 2 * self.n_levels)

    def priced(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised QKD and KM level costs per route slot, each ``(T * S, L)``.

        Parameters
        ----------
        obs : ndarray
            One observation.

        Returns
        -------
        qkd, km : ndarray (T * S, L)
            Views into ``obs``: each cost over the instance's cost scale, capped at
            :data:`~qkdbench.rl.core.OBS_HIGH`.
        """
        block = self.slot_block(obs)
        L = self.n_levels
        return (block[:, N_SLOT_FEATURES : N_SLOT_FEATURES + L], block[:, N_SLOT_FEATURES + L :])

    def route_costs(self, obs: np.ndarray) -> np.ndarray:
        """Normalised opening plus service cost per route slot, ``(T * S,)``.

        Parameters
        ----------
        obs : ndarray
            One observation.

        Returns
        -------
        ndarray
            The fixed charges a route slot would pay now plus its target's service cost,
            over the instance's cost scale (each capped at
            :data:`~qkdbench.rl.core.OBS_HIGH`).
        """
        block = self.slot_block(obs)
        return block[:, 5] + block[:, 6]


class PlanningEnv(gym.Env):
    """One episode plans one instance, one request per step (see the module docstring).

    Parameters
    ----------
    instance : Instance, sequence of Instance, or callable ``rng -> Instance``
    k : int
        Candidate routes per target besides the shortest path (default 4).
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
        ``(T, S, L, L)``; ``T`` (targets per request) and the provider count are those
        of the first instance, and later instances may have no more of either.
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
        tables = self._tables_for(first, 0 if self._pool else None)
        self.layout = ObsLayout(
            arc_table(first).n,
            len(first.nodes),
            self.k + 1,
            len(self.levels),
            tables.n_targets,
            tables.n_providers,
        )
        self._set_tables(tables)
        self.action_dims = (tables.n_targets, self.k + 1, len(self.levels), len(self.levels))
        self.observation_space = gym.spaces.Box(
            0.0, OBS_HIGH, (self.layout.size,), dtype=np.float32
        )
        self.action_space = gym.spaces.Discrete(int(np.prod(self.action_dims)))
        self._obs = np.zeros(self.layout.size, dtype=np.float32)  # written by the kernels
        self._mask = np.zeros(self.action_space.n, dtype=bool)
        self._t = -1
        self._n = 0  # requests of the episode (0: none started)

    # ---- instances
    def _tables_for(self, inst: Instance, key: int | None) -> PlanningTables:
        if key is not None and key in self._cache:
            return self._cache[key]
        tables = build_tables(inst, self.k, self.levels, self.order)
        if key is not None:
            self._cache[key] = tables
        return tables

    def _set_tables(self, t: PlanningTables) -> None:
        lay = self.layout
        inst = t.instance
        if arc_table(inst).n != lay.n_arcs or len(inst.nodes) != lay.n_nodes:
            raise InputError(
                f"instance {inst.name!r} has {len(inst.nodes)} nodes "
                f"and {arc_table(inst).n} arcs; this environment was sized for "
                f"{lay.n_nodes} and {lay.n_arcs}"
            )
        if t.n_targets > lay.n_targets or t.n_providers > lay.n_providers:
            raise InputError(
                f"instance {inst.name!r} has requests with up to {t.n_targets} targets "
                f"and {t.n_providers} providers; this environment was sized for "
                f"{lay.n_targets} and {lay.n_providers}"
            )
        self.tables = t
        charged = t.has_fixed_charges
        a = arc_table(inst)
        self._w_qkd = np.asarray(a.W_qkd, dtype=np.int64)
        self._w_kml = np.asarray(a.W_kml, dtype=np.int64)
        self._const: tuple[Any, ...] = (
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
            t.route_nodes,
            t.tgt_node,
            t.tgt_prov,
            t.tgt_cost,
            t.link_fc if charged else _NONE,  # empty: the kernels skip the opening costs
            t.node_fc if charged else _NONE,
            t.prov_cap,
            t.sig,
            t.sig_mask,
            t.n_slots,
            len(inst.nodes),
            lay.n_providers,
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

    @property
    def current_request(self) -> int | None:
        """Position (in the instance's requests) of the request the next step plans.

        ``None`` before ``reset`` and once the episode is over.
        """
        F = self.tables.instance.n_requests
        return int(self.tables.order[self._t]) if 0 <= self._t < F else None

    # ---- actions
    def encode_action(self, slot: int, qkd_level: int, kml_level: int, target: int = 0) -> int:
        """Flat action of ``(target, slot, qkd_level, kml_level)``.

        Parameters
        ----------
        slot : int
            Candidate slot of the target, ``0 .. k``.
        qkd_level, kml_level : int
            Positions in :attr:`levels`.
        target : int, optional
            Position of the target in the request's
            :attr:`~qkdbench.model.Request.sinks` (0 for an ordinary request).

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
        R, L, H = t.arc.shape[1], len(self.levels), t.arc.shape[2]
        self._free_y = self._w_qkd.copy()
        self._free_z = self._w_kml.copy()
        self._used = np.zeros(A)
        self._lopen = np.zeros(len(t.instance.links))
        self._nopen = np.zeros(len(t.instance.nodes))
        self._room = t.room0.copy()
        self._assign = t.assign0.copy()
        self._allowed = np.ones(t.n_providers, dtype=bool)
        self._qcost = np.zeros((R, L))
        self._kcost = np.zeros((R, L))
        self._ocost = np.zeros(R)
        self._chosen = np.full(F, -1, dtype=np.int64)
        self._yres = np.zeros((F, H), dtype=np.int64)
        self._zres = np.zeros((F, H), dtype=np.int64)
        self._given: dict[int, Route] = {}
        self._t = 0
        self._n = F
        self._cost = 0.0
        # the episode's state arrays, updated in place by the kernels
        self._state: tuple[Any, ...] = (
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
        )
        self._step_state: tuple[Any, ...] = (*self._state, self._chosen, self._yres, self._zres)
        self._observe()
        return self._obs.copy(), self._info()

    def _observe(self) -> None:
        observe_kernel(self._t, *self._const, *self._state)

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"action_mask": self._mask.copy(), "cost": self._cost}
        t = self.tables
        if self._t < t.instance.n_requests:
            info["request"] = t.instance.requests[int(t.order[self._t])].id
        return info

    def _check_running(self) -> int:
        F = self.tables.instance.n_requests
        if not 0 <= self._t < F:
            raise RuntimeError("call reset() before step() (the episode is over)")
        return F

    def _advance(self, delta: float) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Close a step whose request is applied and whose next observation is written."""
        self._t += 1
        self._cost += delta
        done = self._t == self._n
        info = self._info()
        if done:
            info["plan"] = self.plan()
        return self._obs.copy(), -float(delta), done, False, info

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
            Minus the action's priced cost (with the fixed charges it opens and its
            target's service cost).
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
        if not 0 <= self._t < self._n:
            self._check_running()
        a = as_action(action)
        if not 0 <= a < self._mask.size or not self._mask[a]:
            where = self.decode_action(a) if 0 <= a < self._mask.size else "out of range"
            raise InputError(f"action {a} {where} is masked out (see action_masks())")
        delta = step_kernel(a, self._t, *self._const, *self._step_state)
        return self._advance(delta)

    def step_route(self, route: Route) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Plan the current request with an explicit route instead of an action.

        The route may be any simple path from the request's source to one of its
        targets (for a request with targets, of the provider it names) with any
        reservations within what its arcs have left; it is priced by the evaluator's
        :func:`~qkdbench.evaluation.pair_costs` with the fixed charges it opens and the
        target's service cost, as :meth:`step` prices an action.

        Parameters
        ----------
        route : Route
            For the current request (``info["request"]``).

        Returns
        -------
        observation, reward, terminated, truncated, info
            As :meth:`step`.

        Raises
        ------
        RuntimeError
            If the episode has not started or is over.
        InputError
            If the route is for another request, is not a simple path from its source to
            one of its targets, reserves a negative, fractional or too large number of
            wavelengths, or names a provider the mask rules out.
        """
        self._check_running()
        t = self.tables
        inst = t.instance
        f = int(t.order[self._t])
        req = inst.requests[f]
        if route.request_id != req.id:
            raise InputError(
                f"the current request is {req.id!r}, the route is for {route.request_id!r}"
            )
        path = tuple(route.path)
        where = f"route of request {req.id!r}"
        if len(path) < 2 or path[0] != req.source or len(set(path)) != len(path):
            raise InputError(f"{where}: not a simple path from its source {req.source!r}")
        ti = next(
            (
                i
                for i, sink in enumerate(req.sinks)
                if sink.node == path[-1] and sink.provider == route.provider
            ),
            None,
        )
        if ti is None:
            raise InputError(
                f"{where}: ends at {path[-1]!r}, not a target of provider {route.provider!r}"
            )
        ids = np.asarray(inst.path_arcs(path), dtype=np.int64)
        ys = _reservations(route.reserve_qkd, ids.size, f"{where}: reserve_qkd")
        zs = _reservations(route.reserve_km, ids.size, f"{where}: reserve_km")
        if (ys > self._free_y[ids]).any() or (zs > self._free_z[ids]).any():
            raise InputError(f"{where}: reserves more wavelengths than its arcs have left")
        prov = int(t.tgt_prov[f, ti])
        if prov >= 0 and not self._allowed[prov]:
            raise InputError(
                f"{where}: provider {route.provider!r} cannot take it (the requests "
                "still to come would not all be served)"
            )
        cy, cz = pair_costs(inst, np.full(ids.size, f), ids, ys.astype(float), zs.astype(float))
        nodes = np.asarray([inst.node_index[v] for v in path], dtype=np.int64)
        links = ids >> 1
        opening = float(t.link_fc[links][self._lopen[links] == 0].sum())
        opening += float(t.node_fc[nodes][self._nopen[nodes] == 0].sum())
        delta = float(cy.sum() + cz.sum()) + opening + float(t.tgt_cost[f, ti])
        S = t.n_slots
        apply_route(
            f,
            ti * S,
            ids,
            nodes,
            ys,
            zs,
            t.tgt_prov,
            t.sig,
            t.sig_mask,
            S,
            self._free_y,
            self._free_z,
            self._used,
            self._lopen,
            self._nopen,
            self._room,
            self._assign,
        )
        self._chosen[f] = ti * S
        self._given[f] = Route(req.id, path, tuple(ys.tolist()), tuple(zs.tolist()), route.provider)
        observe_kernel(self._t + 1, *self._const, *self._state)
        return self._advance(delta)

    def replay(
        self, plan: Plan, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[float, dict]:
        """One episode that plans every request with its route in ``plan``.

        Parameters
        ----------
        plan : Plan
            A plan of the episode's instance (capacity-feasible: each route must fit
            what the routes before it left).
        seed, options :
            As for :meth:`reset`.

        Returns
        -------
        episode_return : float
            The sum of the rewards: minus the plan's evaluator total.
        info : dict
            The final step's ``info`` (with ``plan``: the same routes).

        Raises
        ------
        InputError
            If the plan misses a request or a route cannot be stepped
            (:meth:`step_route`).

        Examples
        --------
        >>> from qkdbench.evaluation import evaluate
        >>> from qkdbench.heuristics import get_planner
        >>> from qkdbench.testing import feature_instance
        >>> inst = feature_instance("providers")
        >>> ret, info = PlanningEnv(inst, k=1).replay(get_planner("saa-greedy").plan(inst))
        >>> abs(ret + evaluate(inst, info["plan"]).total) < 1e-6
        True
        """
        self.reset(seed=seed, options=options)
        by_id = {r.request_id: r for r in plan.routes}
        ret = 0.0
        info: dict[str, Any] = {}
        done = False
        while not done:
            rid = self.tables.instance.requests[int(self.tables.order[self._t])].id
            if rid not in by_id:
                raise InputError(f"plan {plan.planner!r} has no route for request {rid!r}")
            _, r, done, _, info = self.step_route(by_id[rid])
            ret += r
        return ret, info

    def priced_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact QKD and KM cost of each ``(route slot, level)`` for the current request.

        Each ``(T * S, L)``; ``inf`` marks a padded slot, (strict mode) a level that does
        not fit, or a target whose provider cannot take the request.

        Returns
        -------
        qkd, km : ndarray (T * S, L)
            Copies.
        """
        return self._qcost.copy(), self._kcost.copy()

    def action_costs(self) -> np.ndarray:
        """Exact cost of every flat action for the current request (``inf`` where masked).

        The reservations' priced cost plus the fixed charges the route would open and
        its target's service cost: minus the reward :meth:`step` would give.

        Returns
        -------
        ndarray (action_space.n,) float64
        """
        t = self.tables
        R, S = t.arc.shape[1], t.n_slots
        f = self.current_request
        service = np.zeros(R) if f is None else np.repeat(t.tgt_cost[f], S)
        cost = (
            self._qcost[:, :, None]
            + self._kcost[:, None, :]
            + (self._ocost + service)[:, None, None]
        ).ravel()
        out = np.full(self._mask.size, np.inf)
        out[: cost.size] = cost
        out[~self._mask] = np.inf
        return out

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
        S = t.n_slots
        for f, req in enumerate(inst.requests):
            if f in self._given:
                routes.append(self._given[f])
                continue
            r = chosen[f]
            n = hops[f][r]
            path = t.paths[f][r]
            assert path is not None, "the action mask offers no padded slot"
            provider = req.sinks[r // S].provider
            routes.append(Route(req.id, path, tuple(ys[f][:n]), tuple(zs[f][:n]), provider))
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


def _reservations(values: Any, n: int, what: str) -> np.ndarray:
    """Per-arc reservations of a route as int64, checked (non-negative integers, ``n`` of them)."""
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise InputError(f"{what}: {arr.size} values for {n} arcs")
    if not np.all(np.isfinite(arr)) or (arr < 0).any() or (arr != np.round(arr)).any():
        raise InputError(f"{what}: reservations must be non-negative integers")
    return arr.astype(np.int64)


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
