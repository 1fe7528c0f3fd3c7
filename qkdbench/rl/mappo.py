"""The hierarchical MAPPO baseline: a router and a reserver with one centralised critic.

Two agents play :class:`~qkdbench.rl.multi.PlanningParallelEnv` (the router chooses
the target and the route slot of each request, then the reserver its QKD and KM
levels), each with its own masked categorical actor; one critic reads the
environment's global :meth:`~qkdbench.rl.multi.PlanningParallelEnv.state` (the
centralised critic of MAPPO). The agents share the team reward, so one value
function and one advantage serve both; each actor is trained by the PPO clip loss
on the steps of its own turn, the critic on every step (GAE, ``gamma = 1``: the
objective is a sum). The reward is divided by the instance's mean stand-alone
request cost, as in :mod:`qkdbench.rl.train`.

* :func:`train_mappo` trains on a list of instances (optionally warm-started by
  behaviour cloning from a planner's plans, :func:`demonstrations` and
  :func:`behaviour_cloning`) and saves the agent;
  :func:`train_mappo_family` does so on a :class:`~qkdbench.rl.family.Family` with the
  training seeds of ``qkdbench rl train`` (``--algo mappo``).
* :func:`load_mappo` reads an agent file back as a :class:`MappoAgent`, which
  :func:`~qkdbench.rl.loading.load_agent` returns for such a file, so a saved MAPPO
  agent plays as a planner (:class:`~qkdbench.rl.planners.PolicyPlanner`) and in
  ``qkdbench rl evaluate`` as the MaskablePPO agent does; at evaluation both
  policies act greedily (the most likely valid action).

Plain torch, not TorchRL
------------------------
TorchRL 0.14.1 (with tensordict 0.14.3; 36 MiB installed beside torch 2.13 CPU)
imports and runs on torch 2.13, and its ``PettingZooWrapper`` does run this
turn-alternating environment (the off-turn agent's mask allows action ``0`` only)
once the environment's ``infos`` are reduced to numbers (it fails on the per-agent
``action_mask`` entry of ``infos`` at reset and cannot hold the final ``plan``). But
through the wrapper an episode steps at about 80 steps/s against 8,600 steps/s for the
environment itself (NSFNET, 4 requests, random valid actions), so its collector would
dominate the training time. What remains of TorchRL for this setting (a masked
categorical distribution, GAE, the clip loss) is a few lines each here, while the
dependency adds a second pin (torchrl 0.14 needs tensordict < 0.15) to the ``rl``
extra; so this module uses torch alone and its tests check the masked distribution
and GAE against TorchRL's where TorchRL is installed. BenchMARL 1.5.2 builds on the
same TorchRL environment wrappers and runs its own hydra-configured experiment loop
over registered tasks, so it inherits the collector's cost without the freedom to
feed held-out instance families and a behaviour-cloning warm start.

Determinism: the parameters, the sampled actions, the minibatches and the instance
draws follow the seed alone (CPU, a fixed number of torch threads: the same seed
and threads give the same agent).

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> agent = train_mappo(None, [make_instance("nsfnet", 3, 3, seed=1)], 24, seed=0,
...                     k=1, n_envs=2, n_steps=12, net=(16,))  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import gymnasium as gym
import numpy as np

from ..evaluation import evaluate
from ..exceptions import InputError, MissingExtraError
from ..model import Instance, Plan
from ..utils.registry import get_planner
from .agents import EXTRA_HINT, Agent
from .core import DEFAULT_LEVELS, TRAIN_SEED_BASE
from .env import PlanningEnv
from .multi import RESERVER, ROUTER, PlanningParallelEnv

__all__ = [
    "MAPPO_FORMAT",
    "MappoConfig",
    "MappoAgent",
    "Demonstration",
    "require_torch",
    "build_nets",
    "masked_logits",
    "gae",
    "demonstrations",
    "behaviour_cloning",
    "train_mappo",
    "train_mappo_family",
    "save_mappo",
    "load_mappo",
    "is_mappo_file",
]

#: The format tag of a MAPPO agent file (a zip with ``mappo.json`` and ``weights.pt``).
MAPPO_FORMAT = "qkdbench-mappo/1"
_META = "mappo.json"
_WEIGHTS = "weights.pt"


def require_torch() -> Any:
    """The ``torch`` module, or :class:`MissingExtraError` saying how to install it.

    Returns
    -------
    module
        ``torch``.

    Raises
    ------
    MissingExtraError
        If torch cannot be imported.
    """
    try:
        import torch
    except ImportError:
        raise MissingExtraError(
            f"the MAPPO baseline needs the rl extra (torch): {EXTRA_HINT}"
        ) from None
    return torch


@dataclass(frozen=True)
class MappoConfig:
    """The learning settings of :func:`train_mappo`.

    Parameters
    ----------
    n_envs : int
        Environments stepped side by side (the policies act on all of them at once).
    n_steps : int
        Parallel steps per rollout (each request takes two: the router's, the reserver's).
    epochs : int
        Passes over a rollout.
    minibatch : int
        Samples per gradient step.
    net : tuple of int
        Hidden layers of each actor and of the critic (tanh).
    learning_rate, clip, gae_lambda, ent_coef, vf_coef, max_grad_norm : float
        PPO settings (``gamma = 1``).
    bc_epochs : int
        Behaviour-cloning epochs of the warm start (0: none).
    bc_learning_rate : float
    critic_warmup : int
        First rollouts that train the critic only (the actors keep the warm start
        while the value function learns it).
    select_every : int
        Every this many rollouts (and before the first) the greedy policy plans the
        first ``select_instances`` training instances; the parameters of the lowest
        mean cost are kept (0: keep the last parameters).
    select_instances : int
    """

    n_envs: int = 8
    n_steps: int = 128
    epochs: int = 4
    minibatch: int = 256
    net: tuple[int, ...] = (256, 256)
    learning_rate: float = 3e-4
    clip: float = 0.2
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    bc_epochs: int = 0
    bc_learning_rate: float = 1e-3
    critic_warmup: int = 0
    select_every: int = 0
    select_instances: int = 8

    def __post_init__(self) -> None:
        for name in ("n_envs", "n_steps", "epochs", "minibatch"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"MAPPO setting {name} must be at least 1")
        for name in ("bc_epochs", "critic_warmup", "select_every"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"MAPPO setting {name} must not be negative")


def build_nets(n_obs: int, n_router: int, n_reserver: int, net: Sequence[int]) -> Any:
    """The router and reserver actors and the centralised critic (MLPs with tanh).

    Parameters
    ----------
    n_obs : int
        Size of the global state (each actor's observation is the same vector).
    n_router, n_reserver : int
        Actions of each agent.
    net : sequence of int
        Hidden layers.

    Returns
    -------
    torch.nn.ModuleDict
        ``router`` and ``reserver`` (logits), ``critic`` (one value).
    """
    torch = require_torch()
    nn = torch.nn

    def mlp(n_out: int, gain: float) -> Any:
        layers: list[Any] = []
        width = n_obs
        for h in net:
            layers += [nn.Linear(width, int(h)), nn.Tanh()]
            width = int(h)
        layers.append(nn.Linear(width, n_out))
        for i, layer in enumerate(m for m in layers if isinstance(m, nn.Linear)):
            last = i == len(net)
            nn.init.orthogonal_(layer.weight, gain if last else math.sqrt(2.0))
            nn.init.zeros_(layer.bias)
        return nn.Sequential(*layers)

    return nn.ModuleDict(
        {ROUTER: mlp(n_router, 0.01), RESERVER: mlp(n_reserver, 0.01), "critic": mlp(1, 1.0)}
    )


def masked_logits(logits: Any, mask: Any) -> Any:
    """Logits with the invalid actions at the most negative float (a masked categorical).

    Parameters
    ----------
    logits : torch.Tensor (..., n)
    mask : torch.Tensor of bool (..., n)
        At least one valid action per row.

    Returns
    -------
    torch.Tensor
        ``softmax`` of it puts probability 0 on the invalid actions.
    """
    torch = require_torch()
    return torch.where(mask, logits, torch.finfo(logits.dtype).min)


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_value: np.ndarray,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates of a rollout (time-major, one column per env).

    Parameters
    ----------
    rewards, values, dones : ndarray (T, E)
        ``dones[t]`` is true when the step ``t`` ended its episode (the value after it
        is then 0 and the next step starts a new episode).
    last_value : ndarray (E,)
        The value of the state after the last step.
    gamma, lam : float

    Returns
    -------
    advantages, returns : ndarray (T, E)
        ``returns = advantages + values``.

    Examples
    --------
    >>> adv, ret = gae(np.array([[1.0], [2.0]]), np.zeros((2, 1)), np.array([[0], [1]]),
    ...                np.zeros(1), lam=1.0)
    >>> adv.ravel().tolist()
    [3.0, 2.0]
    """
    T = rewards.shape[0]
    adv = np.zeros_like(values, dtype=np.float64)
    running = np.zeros(values.shape[1])
    for t in range(T - 1, -1, -1):
        nonterminal = 1.0 - dones[t].astype(np.float64)
        nxt = last_value if t == T - 1 else values[t + 1]
        delta = rewards[t] + gamma * nxt * nonterminal - values[t]
        running = delta + gamma * lam * nonterminal * running
        adv[t] = running
    return adv, adv + values


# ---------------------------------------------------------------- agent


def _turn(penv: PlanningParallelEnv, state: np.ndarray) -> int:
    """0 on the router's turn, 1 on the reserver's (read from the state's phase)."""
    return 0 if state[penv.env.observation_space.shape[0]] > 0.5 else 1


class MappoAgent(Agent):
    """A trained router and reserver (and their critic) with their environment settings.

    Parameters
    ----------
    model : torch.nn.ModuleDict
        :func:`build_nets`'s modules.
    env_kwargs : dict
        :class:`~qkdbench.rl.env.PlanningEnv` keywords.
    meta : dict
        Family, timesteps, seed, training time and the sizes the nets were built for
        (``n_obs``, ``n_router``, ``n_reserver``, ``net``).
    """

    algo = "mappo"

    def act(self, penv: PlanningParallelEnv, state: np.ndarray, mask: np.ndarray) -> int:
        """The greedy action of the agent whose turn it is.

        Parameters
        ----------
        penv : PlanningParallelEnv
            The environment ``state`` comes from.
        state : ndarray
            Its global state.
        mask : ndarray
            The action mask of the agent whose turn it is.

        Returns
        -------
        int
            The valid action of highest probability (lowest index on ties).
        """
        torch = require_torch()
        name = ROUTER if _turn(penv, state) == 0 else RESERVER
        with torch.no_grad():
            logits = self.model[name](torch.as_tensor(state[None], dtype=torch.float32))[0]
            m = torch.as_tensor(np.asarray(mask, dtype=bool))
            return int(torch.argmax(masked_logits(logits, m)))

    def bind(self, env: PlanningEnv) -> Callable[[np.ndarray, np.ndarray], int]:
        """A function ``(observation, mask) -> flat action`` for the single-agent ``env``.

        The router's greedy slot, then the reserver's greedy levels on it: the action
        the two agents take in :class:`~qkdbench.rl.multi.PlanningParallelEnv` on the
        same request.

        Parameters
        ----------
        env : PlanningEnv
            An environment with the sizes the agent was trained on.

        Returns
        -------
        callable

        Raises
        ------
        InputError
            If the sizes differ (another topology or other settings).
        """
        torch = require_torch()
        T, S, L, _ = env.action_dims
        base = env.observation_space.shape[0]
        n_obs, n_router, n_res = base + 2 + T * S, T * S, L * L
        want = (self.meta["n_obs"], self.meta["n_router"], self.meta["n_reserver"])
        if (n_obs, n_router, n_res) != tuple(want):
            raise InputError(
                f"the MAPPO agent was trained on states of size {want[0]} with "
                f"{want[1]} router and {want[2]} reserver actions; instance "
                f"{env.instance.name!r} gives {n_obs}, {n_router} and {n_res} "
                "(another topology or settings)"
            )
        nets = self.model

        def act(obs: np.ndarray, mask: np.ndarray) -> int:
            flat = np.asarray(mask, dtype=bool).reshape(n_router, n_res)
            state = np.zeros(n_obs, dtype=np.float32)
            state[:base] = obs
            state[base] = 1.0
            with torch.no_grad():
                x = torch.as_tensor(state[None])
                r = masked_logits(nets[ROUTER](x)[0], torch.as_tensor(flat.any(axis=1)))
                route = int(torch.argmax(r))
                state[base], state[base + 1], state[base + 2 + route] = 0.0, 1.0, 1.0
                x = torch.as_tensor(state[None])
                q = masked_logits(nets[RESERVER](x)[0], torch.as_tensor(flat[route]))
                levels = int(torch.argmax(q))
            return route * n_res + levels

        return act


def save_mappo(path: str | os.PathLike, agent: MappoAgent) -> None:
    """Write ``agent`` to ``path`` (a zip: ``mappo.json`` and the torch ``weights.pt``).

    Parameters
    ----------
    path : path
        The agent file.
    agent : MappoAgent
    """
    torch = require_torch()
    buf = io.BytesIO()
    torch.save(agent.model.state_dict(), buf)
    info = {"format": MAPPO_FORMAT, "env_kwargs": agent.env_kwargs, "meta": agent.meta}
    with zipfile.ZipFile(os.fspath(path), "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META, json.dumps(info, indent=1))
        zf.writestr(_WEIGHTS, buf.getvalue())


def is_mappo_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a MAPPO agent file (read without torch).

    Parameters
    ----------
    path : path

    Returns
    -------
    bool
    """
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            return _META in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def load_mappo(path: str | os.PathLike) -> MappoAgent:
    """Read an agent written by :func:`save_mappo`.

    Parameters
    ----------
    path : path

    Returns
    -------
    MappoAgent
        On the CPU, in evaluation mode.

    Raises
    ------
    InputError
        If the file is not such an agent.
    MissingExtraError
        Without torch.
    """
    torch = require_torch()
    where = os.fspath(path)
    try:
        with zipfile.ZipFile(where) as zf:
            info = json.loads(zf.read(_META))
            weights = zf.read(_WEIGHTS)
        if info.get("format") != MAPPO_FORMAT:
            raise InputError(
                f"not a {MAPPO_FORMAT} agent (format {info.get('format')!r})", source=where
            )
        meta = dict(info["meta"])
        nets = build_nets(meta["n_obs"], meta["n_router"], meta["n_reserver"], meta["net"])
        nets.load_state_dict(torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True))
    except InputError:
        raise
    except Exception as exc:  # a corrupt file: one line
        raise InputError(
            f"not a saved MAPPO agent ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
            source=where,
        ) from None
    nets.eval()
    kwargs = dict(info["env_kwargs"])
    kwargs["levels"] = tuple(kwargs["levels"])
    return MappoAgent(nets, kwargs, meta)


# ---------------------------------------------------------------- behaviour cloning


@dataclass
class Demonstration:
    """States and per-agent actions of planner plans replayed through the environment.

    Attributes
    ----------
    states : ndarray (n, n_obs) float32
        Global states, two per request (the router's turn, then the reserver's).
    agents : ndarray (n,) int64
        0 for the router's turn, 1 for the reserver's.
    actions : ndarray (n,) int64
        The demonstrated action of that agent.
    masks : list of ndarray of bool
        The acting agent's mask at each state.
    """

    states: np.ndarray
    agents: np.ndarray
    actions: np.ndarray
    masks: list[np.ndarray] = field(default_factory=list)


def _route_action(env: Any, route: Any, cost: float) -> int:
    """The valid flat action closest to ``route``: its target and path, then its cost."""
    t = env.tables
    inst = env.instance
    f = int(env.current_request)
    T, S, L, _ = env.action_dims
    costs = env.action_costs().reshape(T * S, L * L)
    req = inst.requests[f]
    ti = next(
        (
            i
            for i, s in enumerate(req.sinks)
            if s.node == route.path[-1] and s.provider == route.provider
        ),
        0,
    )
    nodes = [inst.node_index[v] for v in route.path]
    slots = []
    for s in range(S):
        row = t.route_nodes[f, ti * S + s]
        n = len(nodes)
        if n <= row.size and list(row[:n]) == nodes and (n == row.size or row[n] == -1):
            slots.append(ti * S + s)
    valid = np.isfinite(costs)
    rows = [r for r in slots if valid[r].any()] or [
        r for r in range(ti * S, (ti + 1) * S) if valid[r].any()
    ]
    if not rows:
        rows = [r for r in range(T * S) if valid[r].any()]
    best = min(
        ((abs(costs[r, j] - cost), r, j) for r in rows for j in np.flatnonzero(valid[r])),
        key=lambda x: x[0],
    )
    return int(best[1]) * L * L + int(best[2])


def demonstrations(
    instances: Sequence[Instance], planner: str, env_kwargs: Mapping[str, Any]
) -> Demonstration:
    """Replay a planner's plan of each instance and label each state with the agents' actions.

    Each request is stepped with the plan's own route (as
    :meth:`~qkdbench.rl.env.PlanningEnv.replay` does); the router's label is the
    candidate slot of the route's target and path (the same target's cheapest slot
    if the path is not a candidate), the reserver's the levels on it whose priced
    cost is closest to the route's.

    Parameters
    ----------
    instances : sequence of Instance
    planner : str
        Registry name of the demonstrating planner (e.g. ``coqbn``, ``saa-greedy``).
    env_kwargs : mapping
        :class:`~qkdbench.rl.env.PlanningEnv` keywords.

    Returns
    -------
    Demonstration

    Raises
    ------
    InputError
        If the planner is unknown or its plan cannot be stepped.
    """
    plan_with = get_planner(planner)
    states: list[np.ndarray] = []
    agents: list[int] = []
    actions: list[int] = []
    masks: list[np.ndarray] = []
    for inst in instances:
        plan: Plan = plan_with.plan(inst, seed=0)
        env = PlanningEnv(inst, **dict(env_kwargs))
        obs, _ = env.reset(seed=0)
        by_id = {r.request_id: r for r in plan.routes}
        T, S, L, _ = env.action_dims
        base = env.observation_space.shape[0]
        n_obs = base + 2 + T * S
        done = False
        while not done:
            f = int(env.current_request)  # type: ignore[arg-type]
            route = by_id.get(inst.requests[f].id)
            if route is None:
                raise InputError(
                    f"plan {plan.planner!r} has no route for request {inst.requests[f].id!r}"
                )
            # the costs and the mask before the step; the route's own cost is the step's reward
            flat = env.action_masks().reshape(T * S, L * L)
            snapshot = _Costs(env, env.action_costs())
            obs_next, r, done, _, _ = env.step_route(route)
            action = _route_action(snapshot, route, -float(r))
            slot, levels = divmod(action, L * L)
            s0 = np.zeros(n_obs, dtype=np.float32)
            s0[:base], s0[base] = obs, 1.0
            s1 = s0.copy()
            s1[base], s1[base + 1], s1[base + 2 + slot] = 0.0, 1.0, 1.0
            states += [s0, s1]
            agents += [0, 1]
            actions += [slot, levels]
            masks += [np.asarray(flat.any(axis=1)), flat[slot].copy()]
            obs = obs_next
    return Demonstration(
        np.asarray(states, dtype=np.float32).reshape(len(states), -1),
        np.asarray(agents, dtype=np.int64),
        np.asarray(actions, dtype=np.int64),
        masks,
    )


class _Costs:
    """The parts of an environment :func:`_route_action` reads, frozen before a step."""

    def __init__(self, env: PlanningEnv, costs: np.ndarray) -> None:
        self.tables = env.tables
        self.instance = env.instance
        self.current_request = env.current_request
        self.action_dims = env.action_dims
        self._costs = costs

    def action_costs(self) -> np.ndarray:
        return self._costs


def behaviour_cloning(
    model: Any,
    demo: Demonstration,
    epochs: int,
    *,
    learning_rate: float = 1e-3,
    minibatch: int = 256,
    seed: int = 0,
) -> list[float]:
    """Fit each actor to the demonstrated actions (cross-entropy on masked logits).

    Parameters
    ----------
    model : torch.nn.ModuleDict
        :func:`build_nets`'s modules; the actors are trained in place.
    demo : Demonstration
    epochs : int
        Passes over the demonstrations.
    learning_rate : float
    minibatch : int
    seed : int
        Seeds the minibatch order.

    Returns
    -------
    list of float
        The mean loss of each epoch.
    """
    torch = require_torch()
    if epochs <= 0 or demo.actions.size == 0:
        return []
    params = list(model[ROUTER].parameters()) + list(model[RESERVER].parameters())
    opt = torch.optim.Adam(params, lr=learning_rate)
    gen = torch.Generator().manual_seed(int(seed))
    X = torch.as_tensor(demo.states)
    y = torch.as_tensor(demo.actions)
    who = torch.as_tensor(demo.agents)
    n_r = model[ROUTER][-1].out_features
    n_q = model[RESERVER][-1].out_features
    M = torch.zeros((len(demo.masks), max(n_r, n_q)), dtype=torch.bool)
    for i, m in enumerate(demo.masks):
        M[i, : m.size] = torch.as_tensor(m)
    losses = []
    for _ in range(int(epochs)):
        perm = torch.randperm(X.shape[0], generator=gen)
        total, count = 0.0, 0
        for lo in range(0, X.shape[0], int(minibatch)):
            idx = perm[lo : lo + int(minibatch)]
            loss = X.new_zeros(())
            for a, name, n in ((0, ROUTER, n_r), (1, RESERVER, n_q)):
                sel = idx[who[idx] == a]
                if sel.numel() == 0:
                    continue
                logits = masked_logits(model[name](X[sel]), M[sel, :n])
                loss = loss + torch.nn.functional.cross_entropy(logits, y[sel], reduction="sum")
            loss = loss / idx.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
            count += idx.numel()
        losses.append(total / count)
    return losses


# ---------------------------------------------------------------- training


def train_mappo(
    out: str | os.PathLike | None,
    instances: Sequence[Instance],
    timesteps: int,
    seed: int = 0,
    *,
    k: int = 4,
    levels: Sequence[Any] = DEFAULT_LEVELS,
    order: str = "cost-desc",
    capacity: str = "clip",
    config: MappoConfig | None = None,
    bc_planner: str | None = None,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> MappoAgent:
    """Train the router and the reserver on ``instances`` (one drawn per episode).

    Parameters
    ----------
    out : path, optional
        Agent file to write (``None``: not saved).
    instances : sequence of Instance
        The training instances (of one topology and settings: one state size).
    timesteps : int
        Parallel-environment steps over all environments (two per request); whole
        rollouts of ``n_envs * n_steps`` are taken, at least one.
    seed : int
        Seeds the nets, the sampled actions, the minibatches and the instance draws.
    k, levels, order, capacity
        :class:`~qkdbench.rl.env.PlanningEnv` settings (saved with the agent).
    config : MappoConfig, optional
    bc_planner : str, optional
        Warm start: behaviour cloning (``config.bc_epochs`` epochs) on this planner's
        plans of the training instances.
    threads : int
        Torch threads.
    log : callable, optional
        Receives progress lines.
    meta : mapping, optional
        Extra training information saved with the agent.

    Returns
    -------
    MappoAgent
        ``meta`` holds ``timesteps``, ``seed``, ``train_seconds``, ``steps_per_s``
        (environment steps per second of the rollouts, policy included) and the sizes.

    Raises
    ------
    InputError
        For no instances or bad settings.
    MissingExtraError
        Without torch.
    """
    torch = require_torch()
    cfg = config or MappoConfig()
    if not instances:
        raise InputError("MAPPO needs at least one training instance")
    torch.set_num_threads(int(threads))
    torch.manual_seed(int(seed))
    gen = torch.Generator().manual_seed(int(seed))
    say = log or (lambda msg: None)
    start = time.perf_counter()
    env_kwargs: dict[str, Any] = {
        "k": int(k),
        "levels": list(levels),
        "order": order,
        "capacity": capacity,
    }
    kw = {**env_kwargs, "levels": tuple(levels)}
    pool = list(instances)
    envs = [PlanningParallelEnv(pool, **kw) for _ in range(cfg.n_envs)]
    probe = envs[0]
    n_obs = int(probe.state_space.shape[0])
    n_router = int(cast(gym.spaces.Discrete, probe.action_space(ROUTER)).n)
    n_res = int(cast(gym.spaces.Discrete, probe.action_space(RESERVER)).n)
    nets = build_nets(n_obs, n_router, n_res, cfg.net)
    info_meta: dict[str, Any] = {
        **dict(meta or {}),
        "algo": "mappo",
        "seed": int(seed),
        "n_obs": n_obs,
        "n_router": n_router,
        "n_reserver": n_res,
        "net": [int(h) for h in cfg.net],
        "config": {**asdict(cfg), "net": list(cfg.net)},
        "bc_planner": bc_planner,
    }
    if bc_planner and cfg.bc_epochs > 0:
        demo = demonstrations(pool, bc_planner, kw)
        losses = behaviour_cloning(
            nets,
            demo,
            cfg.bc_epochs,
            learning_rate=cfg.bc_learning_rate,
            minibatch=cfg.minibatch,
            seed=seed,
        )
        say(
            f"behaviour cloning on {bc_planner}'s plans: {demo.actions.size} labelled steps, "
            f"{cfg.bc_epochs} epochs, loss {losses[0]:.3f} -> {losses[-1]:.3f}"
        )
        info_meta["bc_loss"] = losses[-1]

    opt = torch.optim.Adam(nets.parameters(), lr=cfg.learning_rate, eps=1e-5)
    selection = pool[: cfg.select_instances]
    best: tuple[float, Any, int] = (math.inf, None, 0)
    if cfg.select_every:
        best = (
            _greedy_score(nets, selection, env_kwargs, info_meta),
            copy.deepcopy(nets.state_dict()),
            0,
        )
        say(f"greedy policy on {len(selection)} training instances: mean cost {best[0]:.4g}")
    E, N = cfg.n_envs, cfg.n_steps
    n_rollouts = max(1, math.ceil(int(timesteps) / (E * N)))
    states = np.zeros((E, n_obs), dtype=np.float32)
    masks = [np.zeros(0, dtype=bool)] * E
    for i, env in enumerate(envs):
        obs, _ = env.reset(seed=int(seed) * 1000 + i)
        states[i] = env.state()
        turn = ROUTER if _turn(env, states[i]) == 0 else RESERVER
        masks[i] = obs[turn]["action_mask"].astype(bool)
    ep_costs: list[float] = []
    ep_ratio: list[float] = []
    reference: dict[str, float] = {}
    if log is not None:  # CO-QBN's cost of each training instance, for the progress lines
        coqbn = get_planner("coqbn")
        reference = {inst.name: evaluate(inst, coqbn.plan(inst)).total for inst in pool}
    env_steps = 0
    rollout_seconds = 0.0
    B = max(n_router, n_res)
    for it in range(n_rollouts):
        t0 = time.perf_counter()
        S_buf = np.zeros((N, E, n_obs), dtype=np.float32)
        A_buf = np.zeros((N, E), dtype=np.int64)
        W_buf = np.zeros((N, E), dtype=np.int64)  # whose turn
        M_buf = np.zeros((N, E, B), dtype=bool)
        LP_buf = np.zeros((N, E), dtype=np.float32)
        V_buf = np.zeros((N, E), dtype=np.float64)
        R_buf = np.zeros((N, E), dtype=np.float64)
        D_buf = np.zeros((N, E), dtype=bool)
        for t in range(N):
            who = np.array([_turn(envs[i], states[i]) for i in range(E)], dtype=np.int64)
            S_buf[t], W_buf[t] = states, who
            for i in range(E):
                M_buf[t, i, : masks[i].size] = masks[i]
            with torch.no_grad():
                x = torch.as_tensor(states)
                V_buf[t] = nets["critic"](x)[:, 0].double().numpy()
                for a, name, n in ((0, ROUTER, n_router), (1, RESERVER, n_res)):
                    rows = np.flatnonzero(who == a)
                    if rows.size == 0:
                        continue
                    logits = masked_logits(nets[name](x[rows]), torch.as_tensor(M_buf[t, rows, :n]))
                    logp = torch.log_softmax(logits, dim=-1)
                    act = torch.multinomial(logp.exp(), 1, generator=gen)[:, 0]
                    A_buf[t, rows] = act.numpy()
                    LP_buf[t, rows] = logp.gather(1, act[:, None])[:, 0].numpy()
            for i, env in enumerate(envs):
                turn = ROUTER if who[i] == 0 else RESERVER
                scale = env.env.cost_scale
                obs, rew, term, _, infos = env.step(
                    {ROUTER: 0, RESERVER: 0, turn: int(A_buf[t, i])}
                )
                R_buf[t, i] = rew[turn] / scale
                if term[turn]:
                    D_buf[t, i] = True
                    cost = float(infos[turn]["cost"])
                    ep_costs.append(cost)
                    ref = reference.get(env.env.instance.name)
                    if ref:
                        ep_ratio.append(cost / ref)
                    obs, _ = env.reset()
                states[i] = env.state()
                nxt = ROUTER if _turn(env, states[i]) == 0 else RESERVER
                masks[i] = obs[nxt]["action_mask"].astype(bool)
        with torch.no_grad():
            last = nets["critic"](torch.as_tensor(states))[:, 0].double().numpy()
        env_steps += N * E
        rollout_seconds += time.perf_counter() - t0
        adv, ret = gae(R_buf, V_buf, D_buf, last, 1.0, cfg.gae_lambda)
        actors = it >= cfg.critic_warmup
        batch = (S_buf, A_buf, W_buf, M_buf, LP_buf, adv, ret)
        _update(torch, nets, opt, cfg, gen, batch, n_router, n_res, actors)
        if cfg.select_every and actors and (it + 1) % cfg.select_every == 0:
            score = _greedy_score(nets, selection, env_kwargs, info_meta)
            if score < best[0]:
                best = (score, copy.deepcopy(nets.state_dict()), env_steps)
        if (it + 1) % max(1, n_rollouts // 20) == 0 or it + 1 == n_rollouts:
            recent = ep_ratio[-50:]
            vs = f", cost vs CO-QBN {100.0 * (np.mean(recent) - 1.0):+.1f}%" if recent else ""
            say(
                f"step {env_steps:,}/{n_rollouts * N * E:,}: {len(ep_costs)} episodes{vs}; "
                f"{env_steps / max(rollout_seconds, 1e-9):,.0f} steps/s"
            )
    if best[1] is not None:
        nets.load_state_dict(best[1])
        info_meta["selected_at_step"] = best[2]
        say(f"kept the parameters of step {best[2]:,} (greedy mean cost {best[0]:.4g})")
    seconds = time.perf_counter() - start
    info_meta.update(
        {
            "timesteps": int(n_rollouts * N * E),
            "episodes": len(ep_costs),
            "train_seconds": seconds,
            "steps_per_s": env_steps / max(rollout_seconds, 1e-9),
            "threads": int(threads),
        }
    )
    nets.eval()
    agent = MappoAgent(nets, {**env_kwargs}, info_meta)
    if out is not None:
        save_mappo(out, agent)
        say(f"trained {info_meta['timesteps']:,} steps in {seconds:.0f} s; saved {os.fspath(out)}")
    return agent


def _greedy_score(
    nets: Any, instances: Sequence[Instance], env_kwargs: Mapping[str, Any], meta: Mapping[str, Any]
) -> float:
    """Mean evaluator cost of the greedy policy's plans over the instances' cost scales."""
    agent = MappoAgent(nets, dict(env_kwargs), dict(meta))
    kw = {**env_kwargs, "levels": tuple(env_kwargs["levels"])}
    total = 0.0
    for inst in instances:
        env = PlanningEnv(inst, **kw)
        act = agent.bind(env)
        obs, info = env.reset(seed=0)
        done = False
        while not done:
            obs, _, done, _, info = env.step(act(obs, info["action_mask"]))
        total += float(info["cost"]) / env.cost_scale
    return total / max(1, len(instances))


def _update(
    torch: Any,
    nets: Any,
    opt: Any,
    cfg: MappoConfig,
    gen: Any,
    batch: tuple[np.ndarray, ...],
    n_router: int,
    n_res: int,
    actors: bool = True,
) -> None:
    """PPO epochs over one rollout: clip loss per actor on its turns, value loss on all."""
    S_buf, A_buf, W_buf, M_buf, LP_buf, adv, ret = batch
    n = S_buf.shape[0] * S_buf.shape[1]
    X = torch.as_tensor(S_buf.reshape(n, -1))
    A = torch.as_tensor(A_buf.reshape(n))
    W = torch.as_tensor(W_buf.reshape(n))
    M = torch.as_tensor(M_buf.reshape(n, -1))
    LP = torch.as_tensor(LP_buf.reshape(n))
    adv_t = torch.as_tensor(adv.reshape(n), dtype=torch.float32)
    adv_t = (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
    R = torch.as_tensor(ret.reshape(n), dtype=torch.float32)
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for lo in range(0, n, cfg.minibatch):
            idx = perm[lo : lo + cfg.minibatch]
            v = nets["critic"](X[idx])[:, 0]
            loss = cfg.vf_coef * ((v - R[idx]) ** 2).mean()
            for a, name, k in ((0, ROUTER, n_router), (1, RESERVER, n_res)) if actors else ():
                sel = idx[W[idx] == a]
                if sel.numel() == 0:
                    continue
                logits = masked_logits(nets[name](X[sel]), M[sel, :k])
                logp_all = torch.log_softmax(logits, dim=-1)
                logp = logp_all.gather(1, A[sel, None])[:, 0]
                ratio = torch.exp(logp - LP[sel])
                g = adv_t[sel]
                pg = -torch.min(ratio * g, torch.clamp(ratio, 1 - cfg.clip, 1 + cfg.clip) * g)
                p = logp_all.exp()
                ent = -(p * torch.where(p > 0, logp_all, torch.zeros_like(logp_all))).sum(-1)
                share = sel.numel() / idx.numel()
                loss = loss + share * (pg.mean() - cfg.ent_coef * ent.mean())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(nets.parameters(), cfg.max_grad_norm)
            opt.step()


def train_mappo_family(
    out: str | os.PathLike,
    family: Any,
    timesteps: int,
    seed: int = 0,
    *,
    n_instances: int = 64,
    k: int = 4,
    order: str = "cost-desc",
    capacity: str = "clip",
    n_envs: int = 8,
    bc_planner: str | None = None,
    bc_epochs: int = 0,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """:func:`train_mappo` on a family with the training seeds of ``qkdbench rl train``.

    The settings are :class:`MappoConfig`'s with the greedy policy checked every 4
    rollouts on 8 training instances (the best parameters are kept); with a warm start,
    a learning rate of ``1e-4``, no entropy bonus and 4 critic-only rollouts first, so
    that PPO starts from the cloned policy rather than unlearning it.

    Parameters
    ----------
    out : path
        Agent file.
    family : Family
        :class:`~qkdbench.rl.family.Family`.
    timesteps : int
        Parallel-environment steps (two per request).
    seed : int
    n_instances : int
        Training instances (request seeds ``TRAIN_SEED_BASE ..``).
    k, order, capacity
        Environment settings.
    n_envs : int
    bc_planner : str, optional
        Warm start from this planner's plans (with ``bc_epochs``).
    bc_epochs : int
    threads : int
    log : callable, optional

    Returns
    -------
    dict
        ``out``, the training information and the environment settings.
    """
    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    pool = family.instances(range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_instances))
    say(f"{n_instances} training instances of {family} ({time.perf_counter() - t0:.1f} s)")
    meta = {
        "family": asdict(family),
        "n_instances": int(n_instances),
        "train_seeds": [TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_instances - 1],
    }
    warm = bool(bc_planner) and bc_epochs > 0
    base = MappoConfig()
    config = MappoConfig(
        n_envs=n_envs,
        bc_epochs=bc_epochs if warm else 0,
        select_every=4,
        learning_rate=1e-4 if warm else base.learning_rate,
        ent_coef=0.0 if warm else base.ent_coef,
        critic_warmup=4 if warm else 0,
    )
    agent = train_mappo(
        out,
        pool,
        timesteps,
        seed,
        k=k,
        order=order,
        capacity=capacity,
        config=config,
        bc_planner=bc_planner if warm else None,
        threads=threads,
        log=log,
        meta=meta,
    )
    skip = {"config", "n_obs", "n_router", "n_reserver"}
    return {
        "out": os.fspath(out),
        **{k_: v for k_, v in agent.meta.items() if k_ not in skip},
        "env": agent.env_kwargs,
    }
