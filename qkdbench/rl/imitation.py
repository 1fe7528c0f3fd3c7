"""Behaviour cloning for the learned baseline: demonstrations of a planner, and the pretraining.

* :func:`collect_demos` records ``(observation, mask, action)`` triples of an expert on
  a pool of instances through the planning environment: ``rl-greedy`` (the priced
  greedy, :class:`~qkdbench.rl.policies.GreedyPolicy`) is read from each observation,
  so its episodes run batched (:class:`~qkdbench.rl.vector.PlanningVectorEnv`) and may
  be perturbed (``noise``: a share of random valid actions, each state still labelled
  with the greedy's action, so the clone sees states off the expert's path); any other
  registered planner (``saa-greedy``, ``exact``, ...) plans each instance and its plan
  is projected on the environment's actions (:func:`project_route`: the candidate slot
  of its route, else the one sharing most arcs, and the levels whose reservations come
  nearest to its own).
* :func:`behaviour_clone` fits an SB3 ``MaskableActorCriticPolicy`` to the demos: cross
  entropy of the demonstrated action under the masked logits, plus the value head
  regressed on the demos' returns to go (so that PPO fine-tuning starts from a critic
  of the cloned policy). Needs the ``rl`` extra (torch), imported inside.

Examples
--------
>>> from qkdbench.topologies import make_instance
>>> pool = [make_instance("nsfnet", 4, 3, seed=1)]
>>> demos = collect_demos(pool, "rl-greedy", {"k": 1})
>>> demos.obs.shape[0], demos.actions.shape, bool(demos.masks[range(4), demos.actions].all())
(4, (4,), True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evaluation import evaluate
from ..exceptions import InputError
from ..model import Instance, Route
from ..utils.registry import get_planner
from .core import N_SLOT_FEATURES
from .env import ObsLayout, PlanningEnv
from .vector import PlanningVectorEnv, random_masked_actions

__all__ = [
    "Demos",
    "POLICY_EXPERTS",
    "greedy_actions",
    "project_route",
    "collect_demos",
    "behaviour_clone",
    "policy_states",
]

#: Experts read from the observation (batched, may be perturbed); others are planners.
POLICY_EXPERTS = ("rl-greedy",)


@dataclass
class Demos:
    """Demonstrations: one row per step.

    Parameters
    ----------
    obs : ndarray (n, obs_size) float32
    masks : ndarray (n, n_actions) bool
    actions : ndarray (n,) int64
        The expert's action in each state.
    returns : ndarray (n,) float64
        Return to go from each state (the rewards over the instance's cost scale, as the
        training reward), of the episode actually run.
    expert_costs : dict
        Evaluator total of the expert's episode (unperturbed, through the environment)
        per instance name.
    """

    obs: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    returns: np.ndarray
    expert_costs: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.actions.size)


def greedy_actions(layout: ObsLayout, obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """:class:`~qkdbench.rl.policies.GreedyPolicy`'s action for each row of a batch.

    Parameters
    ----------
    layout : ObsLayout
    obs : ndarray (n, obs_size)
    masks : ndarray (n, n_actions) bool

    Returns
    -------
    ndarray (n,) int64
        The valid action with the least priced cost, lowest index on ties.

    Examples
    --------
    >>> from qkdbench.rl.policies import GreedyPolicy
    >>> from qkdbench.topologies import make_instance
    >>> env = PlanningEnv(make_instance("nsfnet", 3, 4, seed=1), k=2)
    >>> obs, info = env.reset(seed=0)
    >>> a = greedy_actions(env.layout, obs[None], info["action_mask"][None])
    >>> int(a[0]) == GreedyPolicy().bind(env)(obs, info["action_mask"])
    True
    """
    o = np.asarray(obs, dtype=np.float64)
    n, L = o.shape[0], layout.n_levels
    block = o[:, layout.slots].reshape(n, layout.n_routes, N_SLOT_FEATURES + 2 * L)
    q = block[:, :, N_SLOT_FEATURES : N_SLOT_FEATURES + L]
    k = block[:, :, N_SLOT_FEATURES + L :]
    route = block[:, :, 5] + block[:, :, 6]
    cost = (q[:, :, :, None] + k[:, :, None, :] + route[:, :, None, None]).reshape(n, -1)
    cost = np.where(np.asarray(masks, bool), cost, np.inf)
    return np.argmin(cost, axis=1).astype(np.int64)


def project_route(env: PlanningEnv, route: Route) -> int:
    """The environment's valid action nearest to ``route`` for the current request.

    The route's target; its candidate slot if the route is one, else the valid slot of
    that target sharing most arcs with it; then the QKD and KM levels whose
    reservations on that slot (clipped to what is left, in ``clip`` mode) differ least
    from the route's (summed absolute difference per arc on the same path, of the mean
    per arc otherwise).

    Parameters
    ----------
    env : PlanningEnv
        Mid-episode.
    route : Route
        A route for the current request.

    Returns
    -------
    int
        A flat action the mask allows.

    Raises
    ------
    InputError
        If the route is for another request.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 3, 4, seed=1)
    >>> env = PlanningEnv(inst, k=2)
    >>> _ = env.reset(seed=0)
    >>> f = env.current_request
    >>> plan = get_planner("coqbn").plan(inst)
    >>> a = project_route(env, plan.routes[f])
    >>> bool(env.action_masks()[a]), env.decode_action(a)[1]
    (True, 0)
    """
    t = env.tables
    f = env.current_request
    if f is None:
        raise InputError("the episode has no current request")
    req = t.instance.requests[f]
    if route.request_id != req.id:
        raise InputError(
            f"the current request is {req.id!r}, the route is for {route.request_id!r}"
        )
    S = t.n_slots
    ti = next(
        (
            i
            for i, s in enumerate(req.sinks)
            if s.node == route.path[-1] and s.provider == route.provider
        ),
        0,
    )
    mask = env.action_masks().reshape(env.action_dims)
    slots = [s for s in range(S) if mask[ti, s].any()]
    if not slots:  # the route's target is ruled out: any valid target
        ti = int(np.flatnonzero(mask.any(axis=(1, 2, 3)))[0])
        slots = [s for s in range(S) if mask[ti, s].any()]
    path = tuple(route.path)
    arcs = set(t.instance.path_arcs(path)) if len(path) > 1 else set()

    def overlap(s: int) -> float:
        p = t.paths[f][ti * S + s]
        if p is None:
            return -1.0
        if tuple(p) == path:
            return 2.0
        other = set(t.instance.path_arcs(tuple(p)))
        return len(arcs & other) / max(len(arcs | other), 1)

    s = max(slots, key=lambda x: (overlap(x), -x))
    r = ti * S + s
    n = int(t.hops[f, r])
    ids = t.arc[f, r, :n]
    same = tuple(t.paths[f][r]) == path

    def dists(lev: np.ndarray, free: np.ndarray, want: Sequence[int]) -> np.ndarray:
        res = lev[f, r, :n, :].astype(float)  # (n, L)
        if env.capacity == "clip":
            res = np.minimum(res, free[ids][:, None])
        w = np.asarray(want, dtype=float)
        if same and w.size == n:
            return np.abs(res - w[:, None]).sum(axis=0)
        return np.abs(res.mean(axis=0) - (w.mean() if w.size else 0.0))

    dq = dists(t.ylev, env._free_y, route.reserve_qkd)
    dm = dists(t.zlev, env._free_z, route.reserve_km)
    score = np.where(mask[ti, s], dq[:, None] + dm[None, :], np.inf)
    q, m = np.unravel_index(int(np.argmin(score)), score.shape)
    return env.encode_action(s, int(q), int(m), ti)


def _returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """Per column (an episode), the suffix sums of its rewards (rows: steps)."""
    return np.cumsum(rewards[::-1], axis=0)[::-1]


def _greedy_demos(
    pool: Sequence[Instance],
    kwargs: Mapping[str, Any],
    episodes: int,
    noise: float,
    rng: np.random.Generator,
) -> Demos:
    """Batched greedy episodes: row 0 as is, rows 1.. with random actions at rate ``noise``."""
    obs_l, mask_l, act_l, ret_l = [], [], [], []
    costs: dict[str, float] = {}
    for inst in pool:
        venv = PlanningVectorEnv(inst, episodes, **kwargs)
        layout = venv.env.layout
        scale = venv.env.cost_scale
        obs, infos = venv.reset()
        masks = infos["action_mask"]
        F = inst.n_requests
        o = np.empty((F, episodes, obs.shape[1]), np.float32)
        m = np.empty((F, episodes, masks.shape[1]), bool)
        a = np.empty((F, episodes), np.int64)
        rew = np.empty((F, episodes))
        for step in range(F):
            label = greedy_actions(layout, obs, masks)
            taken = label.copy()
            if episodes > 1 and noise > 0:
                flip = rng.random(episodes) < noise
                flip[0] = False
                if flip.any():
                    taken[flip] = random_masked_actions(masks[flip], rng)
            o[step], m[step], a[step] = obs, masks, label
            obs, r, _, _, infos = venv.step(taken)
            masks = infos["action_mask"]
            rew[step] = r / scale
        costs[inst.name] = evaluate(inst, venv.plan(0)).total
        obs_l.append(o.reshape(F * episodes, -1))
        mask_l.append(m.reshape(F * episodes, -1))
        act_l.append(a.reshape(-1))
        ret_l.append(_returns_to_go(rew).reshape(-1))
    return Demos(
        np.concatenate(obs_l),
        np.concatenate(mask_l),
        np.concatenate(act_l),
        np.concatenate(ret_l),
        costs,
    )


def _plan_demos(
    pool: Sequence[Instance], planner: str, kwargs: Mapping[str, Any], time_limit: float
) -> Demos:
    """One episode per instance: the planner's plan, projected on the actions."""
    expert = get_planner(planner)
    obs_l, mask_l, act_l, ret_l = [], [], [], []
    costs: dict[str, float] = {}
    for inst in pool:
        plan = expert.plan(inst, seed=0, time_limit=time_limit)
        by_id = {r.request_id: r for r in plan.routes}
        env = PlanningEnv(inst, **kwargs)
        obs, info = env.reset(seed=0)
        done = False
        rews = []
        while not done:
            f = env.current_request
            assert f is not None
            rid = inst.requests[f].id
            if rid not in by_id:
                raise InputError(f"plan of {planner} on {inst.name} has no route for {rid!r}")
            a = project_route(env, by_id[rid])
            obs_l.append(obs)
            mask_l.append(info["action_mask"])
            act_l.append(a)
            obs, r, done, _, info = env.step(a)
            rews.append(r / env.cost_scale)
        costs[inst.name] = float(info["cost"])
        ret_l.append(_returns_to_go(np.asarray(rews)))
    return Demos(
        np.asarray(obs_l, np.float32),
        np.asarray(mask_l, bool),
        np.asarray(act_l, np.int64),
        np.concatenate(ret_l),
        costs,
    )


def collect_demos(
    pool: Sequence[Instance],
    expert: str,
    env_kwargs: Mapping[str, Any],
    *,
    episodes: int = 1,
    noise: float = 0.0,
    seed: int = 0,
    time_limit: float = 60.0,
) -> Demos:
    """Demonstrations of ``expert`` on every instance of ``pool``.

    Parameters
    ----------
    pool : sequence of Instance
    expert : str
        ``rl-greedy`` (read from the observations), or a registered planner whose plans
        are projected on the actions (:func:`project_route`).
    env_kwargs : mapping
        :class:`~qkdbench.rl.env.PlanningEnv` settings (``k``, ``levels``, ``order``,
        ``capacity``): those of the agent to be trained.
    episodes : int, optional
        Episodes per instance (``rl-greedy`` only; the first is unperturbed).
    noise : float, optional
        Share of random valid actions in the other episodes (``rl-greedy`` only).
    seed : int, optional
        Seeds the perturbations.
    time_limit : float, optional
        Seconds per plan of a planner expert.

    Returns
    -------
    Demos
        Steps of ``rl-greedy`` ordered instance by instance, then step by step, then
        episode by episode.

    Raises
    ------
    InputError
        For an unknown planner, ``episodes`` below 1, ``noise`` outside ``[0, 1]``, or
        ``episodes``/``noise`` given for a planner expert.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise InputError(f"episodes must be a positive integer, got {episodes!r}")
    if not 0.0 <= float(noise) <= 1.0:
        raise InputError(f"noise must lie in [0, 1], got {noise!r}")
    kwargs = dict(env_kwargs)
    if expert in POLICY_EXPERTS:
        return _greedy_demos(pool, kwargs, int(episodes), float(noise), np.random.default_rng(seed))
    if episodes != 1 or noise:
        raise InputError(
            f"perturbed demonstrations need an expert read from the observations "
            f"({', '.join(POLICY_EXPERTS)}), not {expert!r}"
        )
    return _plan_demos(pool, expert, kwargs, time_limit)


def behaviour_clone(
    policy: Any,
    demos: Demos,
    *,
    epochs: int = 20,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Fit an SB3 maskable actor-critic policy to ``demos`` (needs the rl extra).

    Minimises, over shuffled minibatches, the cross entropy of each demonstrated action
    under the policy's masked logits plus ``value_coef`` times the squared error of the
    value head against the return to go (Adam, a fresh optimiser: the policy's own is
    PPO's).

    Parameters
    ----------
    policy : sb3_contrib.common.maskable.policies.MaskableActorCriticPolicy
        ``model.policy`` of a ``MaskablePPO``; trained in place.
    demos : Demos
    epochs : int, optional
        Passes over the demos.
    batch_size : int, optional
    learning_rate : float, optional
    value_coef : float, optional
        Weight of the value loss (0: the value head is not fitted).
    seed : int, optional
        Seeds the minibatch order.
    log : callable, optional
        Receives one line per epoch (losses and the share of demonstrated actions the
        policy's most likely action matches).

    Returns
    -------
    dict
        ``loss``, ``value_loss`` and ``accuracy`` of the last epoch, ``epochs``.

    Raises
    ------
    InputError
        For empty demos or non-positive ``epochs`` / ``batch_size``.
    """
    import torch

    if len(demos) == 0:
        raise InputError("no demonstrations to clone")
    for what, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"{what} must be a positive integer, got {v!r}")
    obs = torch.as_tensor(demos.obs, dtype=torch.float32)
    acts = torch.as_tensor(demos.actions, dtype=torch.int64)
    masks = torch.as_tensor(demos.masks, dtype=torch.bool)
    rets = torch.as_tensor(demos.returns, dtype=torch.float32)
    opt = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    gen = torch.Generator().manual_seed(int(seed))
    n = len(demos)
    policy.set_training_mode(True)
    stats: dict[str, float] = {}
    for epoch in range(int(epochs)):
        perm = torch.randperm(n, generator=gen)
        tot = vtot = 0.0
        hits = 0
        for lo in range(0, n, int(batch_size)):
            idx = perm[lo : lo + int(batch_size)]
            values, logp, _ = policy.evaluate_actions(obs[idx], acts[idx], action_masks=masks[idx])
            loss = -logp.mean()
            vloss = torch.nn.functional.mse_loss(values.flatten(), rets[idx])
            opt.zero_grad()
            (loss + value_coef * vloss).backward()
            opt.step()
            tot += loss.item() * idx.numel()
            vtot += vloss.item() * idx.numel()
            with torch.no_grad():
                dist = policy.get_distribution(obs[idx], action_masks=masks[idx].numpy())
                hits += int((dist.distribution.probs.argmax(dim=1) == acts[idx]).sum())
        stats = {
            "loss": tot / n,
            "value_loss": vtot / n,
            "accuracy": hits / n,
            "epochs": float(epoch + 1),
        }
        if log is not None:
            log(
                f"bc epoch {epoch + 1}/{epochs}: loss {stats['loss']:.4f}, value loss "
                f"{stats['value_loss']:.4f}, accuracy {100 * stats['accuracy']:.1f}%"
            )
    policy.set_training_mode(False)
    return stats


def policy_states(
    pool: Sequence[Instance],
    policy: Any,
    env_kwargs: Mapping[str, Any],
    *,
    episodes: int = 1,
) -> Demos:
    """States a learned policy visits, labelled with the greedy's actions (a DAgger round).

    Runs ``episodes`` batched episodes per instance of ``pool``, each step acting with
    the policy's most likely valid action for the first episode and a sampled one for the
    others, and records every state with :func:`greedy_actions`' label (needs the rl
    extra: torch).

    Parameters
    ----------
    pool : sequence of Instance
    policy : sb3_contrib.common.maskable.policies.MaskableActorCriticPolicy
    env_kwargs : mapping
        :class:`~qkdbench.rl.env.PlanningEnv` settings of the agent.
    episodes : int, optional
        Episodes per instance.

    Returns
    -------
    Demos
        ``returns`` are those of the policy's episodes; ``expert_costs`` holds the cost
        of the policy's first (most likely) episode per instance.
    """
    import torch

    obs_l, mask_l, act_l, ret_l = [], [], [], []
    costs: dict[str, float] = {}
    for inst in pool:
        venv = PlanningVectorEnv(inst, episodes, **dict(env_kwargs))
        layout, scale, F = venv.env.layout, venv.env.cost_scale, inst.n_requests
        obs, infos = venv.reset()
        masks = infos["action_mask"]
        rew = np.empty((F, episodes))
        for step in range(F):
            with torch.no_grad():
                dist = policy.get_distribution(torch.as_tensor(obs), action_masks=masks)
                probs = dist.distribution.probs
                taken = probs.argmax(dim=1).numpy()
                if episodes > 1:
                    taken[1:] = dist.distribution.sample().numpy()[1:]
            obs_l.append(obs)
            mask_l.append(masks)
            act_l.append(greedy_actions(layout, obs, masks))
            obs, r, _, _, infos = venv.step(taken.astype(np.int64))
            masks = infos["action_mask"]
            rew[step] = r / scale
        costs[inst.name] = evaluate(inst, venv.plan(0)).total
        ret_l.append(_returns_to_go(rew).reshape(-1))
    return Demos(
        np.concatenate(obs_l),
        np.concatenate(mask_l),
        np.concatenate(act_l),
        np.concatenate(ret_l),
        costs,
    )
