"""The Gymnasium planning environment: API, exact returns, masks, CO-QBN, determinism."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from numpy.typing import NDArray

import qkdbench.rl  # noqa: F401 - registers qkdbench/Planning-v0
from qkdbench.evaluation import arc_table, evaluate, newsvendor_reservations, pair_costs
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.model import Demand, Instance, Link, Params, Plan, Request
from qkdbench.rl.env import PlanningEnv, make_vector_env
from qkdbench.rl.policies import CoQBNPolicy, GreedyPolicy
from qkdbench.testing import check_instances
from qkdbench.topologies import make_instance


def _episode(
    env: PlanningEnv,
    choose: Callable[[NDArray[np.float32], NDArray[np.bool_]], int],
    seed: int | None = 0,
    options: dict[str, Any] | None = None,
) -> tuple[float, Plan]:
    """Run one episode; per step check the reward against pair_costs and the mask."""
    obs, info = env.reset(seed=seed, options=options)
    inst = env.instance
    t = env.tables
    free_y = np.asarray(arc_table(inst).W_qkd, dtype=np.int64).copy()
    free_z = np.asarray(arc_table(inst).W_kml, dtype=np.int64).copy()
    ret, done, step = 0.0, False, 0
    while not done:
        assert env.observation_space.contains(obs)
        mask = info["action_mask"]
        assert np.array_equal(mask, env.action_masks())
        a = choose(obs, mask)
        _, s, qi, ki = env.decode_action(a)
        f = int(t.order[step])
        ids = t.arc[f, s, : t.hops[f, s]]
        want_y, want_z = t.ylev[f, s, : len(ids), qi], t.zlev[f, s, : len(ids), ki]
        obs, r, done, trunc, info = env.step(a)
        assert not trunc
        route_y = np.minimum(want_y, free_y[ids])  # first fit: what fits of the level
        route_z = np.minimum(want_z, free_z[ids])
        if env.capacity == "strict":  # the mask let through only what fits whole
            assert np.array_equal(route_y, want_y)
            assert np.array_equal(route_z, want_z)
        free_y[ids] -= route_y
        free_z[ids] -= route_z
        cy, cz = pair_costs(
            inst, np.full(len(ids), f), ids, route_y.astype(float), route_z.astype(float)
        )
        assert -r == pytest.approx(float(cy.sum() + cz.sum()), rel=1e-9, abs=1e-9)
        ret += r
        step += 1
    assert step == inst.n_requests
    plan = info["plan"]
    for req in inst.requests:  # the plan's reservations are the ones applied
        route = plan.route_of(req.id)
        assert route.path[0] == req.source
        assert route.path[-1] == req.target
    return ret, plan


def _random(seed: int) -> Callable[[NDArray[np.float32], NDArray[np.bool_]], int]:
    rng = np.random.default_rng(seed)
    return lambda obs, mask: int(rng.choice(np.flatnonzero(mask)))


TIGHT = Instance(
    nodes=(1, 2, 3, 4),
    links=(
        Link(1, 2, 300.0, W_qkd=7, W_kml=2),
        Link(2, 3, 90.0),
        Link(3, 4, 170.0, key_rate_kbps=0.5),
        Link(1, 4, 500.0, W_kml=1),
        Link(2, 4, 260.0),
    ),
    requests=(
        Request("a", 1, 3, Demand((0.0, 2.0, 5.0), (0.3, 0.5, 0.2))),
        Request("b", 3, 1, Demand.uniform(4)),
        Request("c", 4, 2, Demand.point(1.5)),
        Request("d", 2, 4, Demand.empirical([0.5, 3.0, 3.0])),
        Request("e", 1, 4, Demand.uniform(6)),
    ),
    params=Params(W_qkd=9, W_kml=3, hop_cost=40.0),
    name="tight-4",
)


def _instances() -> list[Instance]:
    return check_instances() + [
        TIGHT,
        make_instance("usnet", 30, 10, seed=7),
        make_instance("cost239", 12, 6, seed=2, params=Params(W_qkd=12, W_kml=4)),
    ]


@pytest.mark.parametrize("capacity", ["clip", "strict"])
@pytest.mark.parametrize("order", ["instance", "cost-desc"])
def test_return_is_minus_the_evaluator_total(capacity: str, order: str) -> None:
    """Random masked policies: return == -evaluate(plan).total, plans feasible."""
    for i, inst in enumerate(_instances()):
        env = PlanningEnv(inst, k=3, order=order, capacity=capacity)
        for ep in range(3):
            ret, plan = _episode(env, _random(100 * i + ep), seed=ep)
            ev = evaluate(inst, plan)
            assert ev.feasible, ev.violations
            assert math.isclose(ret, -ev.total, rel_tol=1e-9), (inst.name, ret, ev.total)


def test_strict_masks_exactly_what_does_not_fit() -> None:
    """In strict mode an action is valid iff its levels fit on every arc (brute force)."""
    env = PlanningEnv(TIGHT, k=2, capacity="strict")
    obs, info = env.reset(seed=0)
    t = env.tables
    free_y = np.asarray(arc_table(TIGHT).W_qkd).copy()
    free_z = np.asarray(arc_table(TIGHT).W_kml).copy()
    rng = np.random.default_rng(5)
    for step in range(TIGHT.n_requests):
        f = int(t.order[step])
        mask = info["action_mask"]
        for a in range(env.action_space.n):
            _, s, qi, ki = env.decode_action(a)
            if not t.valid[f, s]:
                assert not mask[a]
                continue
            ids = t.arc[f, s, : t.hops[f, s]]
            fits = bool(
                np.all(t.ylev[f, s, : len(ids), qi] <= free_y[ids])
                and np.all(t.zlev[f, s, : len(ids), ki] <= free_z[ids])
            )
            assert mask[a] == fits
            if env.levels[qi] == "zero" and env.levels[ki] == "zero":
                assert mask[a]
        a = int(rng.choice(np.flatnonzero(mask)))
        _, s, qi, ki = env.decode_action(a)
        ids = t.arc[f, s, : t.hops[f, s]]
        free_y[ids] -= t.ylev[f, s, : len(ids), qi]
        free_z[ids] -= t.zlev[f, s, : len(ids), ki]
        obs, _, _, _, info = env.step(a)


def test_masked_action_raises_and_finished_episode_refuses_steps() -> None:
    env = PlanningEnv(TIGHT, k=2, capacity="strict")
    _, info = env.reset(seed=0)
    masked = np.flatnonzero(~info["action_mask"])
    assert masked.size
    with pytest.raises(InputError, match="masked out"):
        env.step(int(masked[0]))
    with pytest.raises(InputError, match="masked out"):
        env.step(env.action_space.n)
    done = False
    while not done:
        _, _, done, _, info = env.step(0)  # slot 0, zero levels: always valid
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


@pytest.mark.parametrize("n", [20, 60])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coqbn_policy_reproduces_the_coqbn_planner(n: int, seed: int) -> None:
    inst = make_instance("usnet", n, 10, seed=seed)
    env = PlanningEnv(inst)
    act = CoQBNPolicy().bind(env)
    ret, plan = _episode(env, act)
    ref = get_planner("coqbn").plan(inst)
    assert plan.routes == ref.routes
    total = evaluate(inst, ref).total
    assert evaluate(inst, plan).total == total
    assert math.isclose(ret, -total, rel_tol=1e-9)


def test_coqbn_policy_refuses_what_it_cannot_express() -> None:
    with pytest.raises(InputError, match="mean"):
        CoQBNPolicy().bind(PlanningEnv(TIGHT, levels=("zero", "max")))
    with pytest.raises(InputError, match="clip"):
        CoQBNPolicy().bind(PlanningEnv(TIGHT, capacity="strict"))


def test_levels_and_candidates_mean_what_the_docs_say() -> None:
    inst = make_instance("nsfnet", 6, 7, seed=4)
    env = PlanningEnv(inst, k=3, levels=("zero", "mean", "newsvendor", 0.5, "max"))
    t = env.tables
    rate = arc_table(inst).key_rate_kbps
    for f, req in enumerate(inst.requests):
        g = inst.graph
        assert t.paths[f][0] == tuple(
            nx.dijkstra_path(g, req.source, req.target, weight="length_km")
        )
        real = [p for p in t.paths[f] if p is not None]
        assert len(set(real)) == len(real)
        for s, p in enumerate(real):
            ids = np.asarray(inst.path_arcs(p))
            assert t.length[f, s] == pytest.approx(arc_table(inst).length_km[ids].sum())
            nv_y, nv_z = newsvendor_reservations(inst, np.full(ids.size, f), ids)
            for i, a in enumerate(ids):
                d = req.demand
                for li, kap in ((1, d.mean), (3, d.quantile(0.5)), (4, d.max)):
                    n_links = math.ceil(kap / rate[a] - 1e-9)
                    assert (t.ylev[f, s, i, li], t.zlev[f, s, i, li]) == (3 * n_links, n_links)
                assert (t.ylev[f, s, i, 0], t.zlev[f, s, i, 0]) == (0, 0)
                assert (t.ylev[f, s, i, 2], t.zlev[f, s, i, 2]) == (nv_y[i], nv_z[i])


def test_greedy_policy_takes_the_cheapest_valid_action() -> None:
    inst = make_instance("usnet", 25, 10, seed=3)
    env = PlanningEnv(inst, k=3)
    act = GreedyPolicy().bind(env)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        q, k = env.priced_costs()
        cost = (q[:, :, None] + k[:, None, :]).ravel()
        cost[~info["action_mask"]] = np.inf
        a = act(obs, info["action_mask"])
        assert cost[a] <= cost.min() * (1 + 1e-6)
        obs, r, done, _, info = env.step(a)
        assert -r == pytest.approx(cost[a], rel=1e-12)


def test_check_env_and_gym_make() -> None:
    inst = make_instance("usnet", 6, 4, seed=1)
    env = gym.make("qkdbench/Planning-v0", instance=inst, k=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not [w for w in caught if "WARN" in str(w.message)], [str(w.message) for w in caught]
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape
    assert obs.dtype == np.float32


def test_determinism_by_seed_over_a_pool() -> None:
    pool = [make_instance("nsfnet", 5, 4, seed=s) for s in range(1, 6)]
    names = []
    for _ in range(2):
        env = PlanningEnv(pool, k=2)
        seq = []
        for ep in range(6):
            ret, plan = _episode(env, _random(ep), seed=None if ep else 11)
            seq.append((env.instance.name, plan.routes, ret))
        names.append(seq)
    assert names[0] == names[1]
    assert len({n for n, _, _ in names[0]}) > 1  # the pool is really sampled


def test_callable_source_and_reset_options() -> None:
    calls = []

    def gen(rng: np.random.Generator) -> Instance:
        calls.append(1)
        return make_instance("cost239", 4, 3, seed=int(rng.integers(1, 1000)))

    env = PlanningEnv(gen, k=1)
    a, _ = _episode(env, _random(0), seed=3)
    b, _ = _episode(env, _random(0), seed=3)
    assert a == b
    assert len(calls) == 3  # one call sizes the spaces, one per episode
    other = make_instance("cost239", 7, 3, seed=9)
    ret, plan = _episode(env, _random(1), options={"instance": other})
    assert plan.instance_name == other.name
    assert math.isclose(ret, -evaluate(other, plan).total, rel_tol=1e-9)
    with pytest.raises(InputError, match="nodes"):
        env.reset(options={"instance": make_instance("nsfnet", 3, 3, seed=1)})


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(InputError, match="unknown level"):
        PlanningEnv(TIGHT, levels=("zero", "median"))
    with pytest.raises(InputError, match="quantile"):
        PlanningEnv(TIGHT, levels=("zero", 1.5))
    with pytest.raises(InputError, match="zero"):
        PlanningEnv(TIGHT, levels=("mean",), capacity="strict")
    with pytest.raises(InputError, match="capacity"):
        PlanningEnv(TIGHT, capacity="loose")
    with pytest.raises(InputError, match="order"):
        PlanningEnv(TIGHT, order="random")
    with pytest.raises(InputError, match="no requests"):
        PlanningEnv(make_instance("nsfnet", 0, 3, seed=1))


def test_vector_env_autoresets_and_stacks_masks() -> None:
    inst = make_instance("nsfnet", 3, 3, seed=2)
    venv = make_vector_env(inst, 3, k=1)
    obs, infos = venv.reset(seed=0)
    single = venv.single_observation_space.shape
    assert single is not None
    assert obs.shape == (3, single[0])
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(10):
        masks = infos["action_mask"]
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs, r, term, trunc, infos = venv.step(acts)
        finished += int(term.sum())
        if term.any():
            assert all(infos["plan"][i] is not None for i in np.flatnonzero(term))
    assert finished >= 6  # 3 requests per episode: every copy finished and restarted
    venv.close()
