"""The environments on the whole model: fixed charges, providers, link kinds and states.

Truth here is the evaluator (``evaluate``, ``pair_costs``), the instance's own charges
(``link_fixed_cost``, ``node_fixed_costs``, ``Target.service_cost``, provider capacities)
and brute force over every action sequence of a tiny instance.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from numpy.typing import NDArray
from pettingzoo.test import parallel_api_test

import qkdbench.rl  # noqa: F401 - registers qkdbench/Planning-v0
from qkdbench.evaluation import arc_table, evaluate, pair_costs
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.model import Demand, Instance, Link, Plan, Provider, Request, Route, Target
from qkdbench.rl.core import SUPPORTED_FEATURES, build_tables
from qkdbench.rl.env import PlanningEnv
from qkdbench.rl.multi import RESERVER, ROUTER, PlanningParallelEnv
from qkdbench.rl.policies import CoQBNPolicy, GreedyPolicy
from qkdbench.testing import (
    all_features_instance,
    feature_instance,
    link_kinds_and_providers_instance,
)
from qkdbench.topologies import ntn_instance

Choose = Callable[[NDArray[np.float32], NDArray[np.bool_]], int]
ALL = frozenset(SUPPORTED_FEATURES)


def _ntn(seed: int, n: int = 12) -> Instance:
    """A TN-NTN instance with fixed charges (relay sites, stations) and tight providers."""
    return ntn_instance(
        "nsfnet",
        n,
        max_rate=4,
        seed=seed,
        provider_capacity=(n // 4, None),
        site=2000.0,
        station_cost=50_000.0,
        satellite_fixed_cost=80_000.0,
    )


def _instances() -> list[Instance]:
    return [
        all_features_instance(),
        link_kinds_and_providers_instance("nsfnet", 10, 4, seed=1, fixed_charges=True),
        link_kinds_and_providers_instance("usnet", 16, 6, seed=4, fixed_charges=True),
        _ntn(3),
    ]


def test_the_instances_use_every_feature() -> None:
    for inst in _instances():
        assert inst.features == ALL, inst.name


def _random(seed: int) -> Choose:
    rng = np.random.default_rng(seed)
    return lambda obs, mask: int(rng.choice(np.flatnonzero(mask)))


def _episode(env: PlanningEnv, choose: Choose, seed: int = 0) -> tuple[float, Plan]:
    """One episode; per step check the reward, the open flags and provider room from scratch."""
    obs, info = env.reset(seed=seed)
    inst, t, lay = env.instance, env.tables, env.layout
    arcs = arc_table(inst)
    free_y = np.asarray(arcs.W_qkd, dtype=np.int64).copy()
    free_z = np.asarray(arcs.W_kml, dtype=np.int64).copy()
    open_links: set[int] = set()
    open_nodes: set[Any] = set()
    served: dict[str, int] = {}
    cap = inst.provider_capacity
    ret, done = 0.0, False
    while not done:
        assert env.observation_space.contains(obs)
        mask = info["action_mask"]
        assert mask.any()  # never a step without a valid action
        a = choose(obs, mask)
        ti, s, qi, ki = env.decode_action(a)
        f = env.current_request
        assert f is not None
        assert inst.requests[f].id == info["request"]
        req = inst.requests[f]
        sink = req.sinks[ti]
        r = ti * t.n_slots + s
        path = t.paths[f][r]
        assert path is not None
        assert path[0] == req.source
        assert path[-1] == sink.node
        ids = np.asarray(inst.path_arcs(path))
        want_y, want_z = t.ylev[f, r, : ids.size, qi], t.zlev[f, r, : ids.size, ki]
        route_y = np.minimum(want_y, free_y[ids])
        route_z = np.minimum(want_z, free_z[ids])
        if env.capacity == "strict":
            assert np.array_equal(route_y, want_y)
            assert np.array_equal(route_z, want_z)
        cy, cz = pair_costs(inst, np.full(ids.size, f), ids, route_y.astype(float), route_z)
        links = {int(x) // 2 for x in ids}
        opening = sum(inst.link_fixed_cost(k) for k in links - open_links)
        opening += sum(inst.node_fixed_costs.get(v, 0.0) for v in set(path) - open_nodes)
        expect = float(cy.sum() + cz.sum()) + opening + float(sink.service_cost)
        assert env.action_costs()[a] == pytest.approx(expect, rel=1e-9, abs=1e-9)
        obs, rew, done, _, info = env.step(a)
        assert -rew == pytest.approx(expect, rel=1e-9, abs=1e-9)
        ret += rew
        free_y[ids] -= route_y
        free_z[ids] -= route_z
        open_links |= links
        open_nodes |= set(path)
        if sink.provider is not None:
            served[sink.provider] = served.get(sink.provider, 0) + 1
            limit = cap[sink.provider]
            assert limit is None or served[sink.provider] <= limit  # never over capacity
        # the observation shows what is open and what each provider has left
        lo = obs[lay.link_open]
        assert {int(a) // 2 for a in np.flatnonzero(lo)} == open_links
        nodes = {inst.nodes[int(n)] for n in np.flatnonzero(obs[lay.node_open])}
        assert nodes == open_nodes
        for p, pid in enumerate(t.provider_ids):
            limit = cap[pid]
            left = 1.0 if limit is None else (limit - served.get(pid, 0)) / limit if limit else 0.0
            assert obs[lay.providers][p] == pytest.approx(left)
    return ret, info["plan"]


@pytest.mark.parametrize("capacity", ["clip", "strict"])
@pytest.mark.parametrize("order", ["instance", "cost-desc"])
def test_return_is_minus_the_evaluator_total(capacity: str, order: str) -> None:
    """Random masked rollouts, several seeds: return == -evaluate(plan).total, feasible."""
    for i, inst in enumerate(_instances()):
        env = PlanningEnv(inst, k=2, order=order, capacity=capacity)
        for ep in range(4):
            ret, plan = _episode(env, _random(1000 * i + ep), seed=ep)
            ev = evaluate(inst, plan)
            assert ev.feasible, (inst.name, ev.violations)
            assert math.isclose(ret, -ev.total, rel_tol=1e-9), (inst.name, ret, ev.total)
            assert ev.components["site"] + ev.components["node"] > 0
            assert ev.components["service"] > 0


def _legal_actions(inst: Instance, env: PlanningEnv, prefix: list[int]) -> set[int]:
    """Brute force: actions after ``prefix`` that some completion turns into a feasible plan.

    The plan of an action sequence is built here from the candidate paths and the level
    reservations (first fit, or whole in strict mode) and judged by the evaluator alone.
    """
    t = env.tables
    S = env.action_dims[1]
    n_actions = env.action_space.n
    F = inst.n_requests
    arcs = arc_table(inst)

    def plan_of(seq: list[int]) -> tuple[Plan, tuple]:
        """The plan of ``seq`` (its first requests), and the capacity it leaves."""
        free_y = np.asarray(arcs.W_qkd, dtype=np.int64).copy()
        free_z = np.asarray(arcs.W_kml, dtype=np.int64).copy()
        routes = []
        for step, a in enumerate(seq):
            f = int(t.order[step])
            ti, s, qi, ki = (int(x) for x in np.unravel_index(a, env.action_dims))
            r = ti * S + s
            path = t.paths[f][r]
            assert path is not None
            ids = np.asarray(inst.path_arcs(path))
            y, z = t.ylev[f, r, : ids.size, qi], t.zlev[f, r, : ids.size, ki]
            if env.capacity == "clip":
                y, z = np.minimum(y, free_y[ids]), np.minimum(z, free_z[ids])
            free_y[ids] -= y
            free_z[ids] -= z
            req = inst.requests[f]
            routes.append(Route(req.id, path, tuple(y), tuple(z), req.sinks[ti].provider))
        served = sorted((r.provider or "") for r in routes)
        return Plan(inst.name, "brute", tuple(routes)), (
            len(seq),
            tuple(free_y),
            tuple(free_z),
            tuple(served),
        )

    def real(f: int) -> list[int]:  # actions naming a candidate that exists
        out = []
        for a in range(n_actions):
            ti, s = (int(x) for x in np.unravel_index(a, env.action_dims)[:2])
            if t.paths[f][ti * S + s] is not None:
                out.append(a)
        return out

    # whether a prefix can be completed (and a whole plan is feasible) depends only on
    # the capacity it leaves
    memo: dict[tuple, bool] = {}

    def exists(seq: list[int]) -> bool:
        plan, left = plan_of(seq)
        if left not in memo:
            if len(seq) == F:
                memo[left] = evaluate(inst, plan).feasible
            elif min(left[1] + left[2]) < 0:  # over an arc's capacity already: no completion
                memo[left] = False
            else:
                memo[left] = any(exists([*seq, a]) for a in real(int(t.order[len(seq)])))
        return memo[left]

    return {a for a in real(int(t.order[len(prefix)])) if exists([*prefix, a])}


@pytest.mark.parametrize("capacity", ["clip", "strict"])
def test_masks_are_exactly_the_legal_actions_by_brute_force(capacity: str) -> None:
    """Every unmasked action has a feasible completion, every such action is unmasked."""
    inst = all_features_instance()
    env = PlanningEnv(inst, k=1, levels=("zero", "max"), capacity=capacity)
    rng = np.random.default_rng(7)
    seen_blocked_with_room = False
    for episode in range(3):
        _, info = env.reset(seed=episode)
        prefix: list[int] = []
        done = False
        while not done:
            legal = _legal_actions(inst, env, prefix)
            assert set(np.flatnonzero(info["action_mask"]).tolist()) == legal, prefix
            f = env.current_request
            assert f is not None
            if inst.requests[f].id == "c" and prefix:
                # A still has room for one, but d needs it: c's target at A is masked
                first = env.decode_action(prefix[0])[0]
                if inst.requests[0].sinks[first].provider == "A":
                    at_a = [a for a in range(env.action_space.n) if env.decode_action(a)[0] == 0]
                    assert not info["action_mask"][at_a].any()
                    seen_blocked_with_room = True
            a = int(rng.choice(sorted(legal)))
            prefix.append(a)
            _, _, done, _, info = env.step(a)
    assert seen_blocked_with_room


def _every_action_valid() -> Instance:
    """``all_features_instance`` with two targets per request and ample provider capacity.

    Gymnasium's ``check_env`` steps unmasked random actions, so it needs an instance on
    which the mask rules out nothing (the masks are tested by brute force above).
    """
    base = all_features_instance()
    d = base.requests[1].demand
    b = Request("b", 2, None, d, (Target(4, "A", 10.0), Target(5, "B", 0.0)))
    reqs = (base.requests[0], b, base.requests[2]) + (
        Request("d", 5, None, base.requests[3].demand, (Target(3, "A", 20.0), Target(1, "B"))),
    )
    return replace(base, requests=reqs, providers=(Provider("A", 4), Provider("B", 4)))


def test_check_env_on_an_instance_with_every_feature() -> None:
    inst = _every_action_valid()
    assert inst.features == ALL
    env = gym.make("qkdbench/Planning-v0", instance=inst, k=1).unwrapped
    assert isinstance(env, PlanningEnv)
    assert env.action_dims[0] == 2
    _, info = env.reset(seed=0)
    for _ in range(inst.n_requests):  # the premise: every action is valid at every step
        assert info["action_mask"].all()
        _, _, _, _, info = env.step(int(np.random.default_rng(0).integers(env.action_space.n)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    assert not [w for w in caught if "WARN" in str(w.message)], [str(w.message) for w in caught]


def test_parallel_api_test_on_instances_with_every_feature() -> None:
    for inst in (all_features_instance(), _ntn(2)):
        parallel_api_test(PlanningParallelEnv(inst, k=2), num_cycles=200)
        parallel_api_test(PlanningParallelEnv(inst, k=1, capacity="strict"), num_cycles=200)


def test_parallel_team_return_is_minus_the_evaluator_total() -> None:
    inst = _ntn(4)
    for seed in range(3):
        penv = PlanningParallelEnv(inst, k=2)
        obs, _ = penv.reset(seed=seed)
        rng = np.random.default_rng(seed)
        ret = 0.0
        infos: dict[str, Any] = {}
        while penv.agents:
            acting = ROUTER if penv._phase == 0 else RESERVER
            a = int(rng.choice(np.flatnonzero(obs[acting]["action_mask"])))
            obs, rew, _, _, infos = penv.step({acting: a})
            ret += rew[ROUTER]
        plan = infos[ROUTER]["plan"]
        ev = evaluate(inst, plan)
        assert ev.feasible
        assert math.isclose(ret, -ev.total, rel_tol=1e-9)
        # the router chose the targets: some request went to each provider
        assert {r.provider for r in plan.routes if r.provider} == {"A", "B"}


@pytest.mark.parametrize(
    "planner", ["coqbn", "saa-greedy", "ga", "rl-greedy", "exact"], ids=lambda p: p
)
def test_replaying_a_planners_plan_gives_minus_its_evaluator_total(planner: str) -> None:
    insts = [all_features_instance(), _ntn(5)]
    if planner != "exact":
        insts.append(link_kinds_and_providers_instance("usnet", 14, 5, seed=2, fixed_charges=True))
    for inst in insts:
        plan = get_planner(planner).plan(inst, seed=0, time_limit=3 if planner == "ga" else 30)
        ev = evaluate(inst, plan)
        assert ev.feasible
        for order in ("instance", "cost-desc"):
            env = PlanningEnv(inst, k=1, order=order)
            ret, info = env.replay(plan)
            assert math.isclose(ret, -ev.total, rel_tol=1e-9), (inst.name, ret, ev.total)
            by_id = {r.request_id: r for r in plan.routes}
            for r in info["plan"].routes:
                mine = by_id[r.request_id]
                assert (r.path, r.provider) == (tuple(mine.path), mine.provider)
                assert list(r.reserve_qkd) == list(mine.reserve_qkd)
                assert list(r.reserve_km) == list(mine.reserve_km)


def test_step_route_refuses_what_is_not_a_route_of_the_current_request() -> None:
    inst = all_features_instance()
    env = PlanningEnv(inst, k=1)
    env.reset(seed=0)
    assert env.current_request == 0  # request "a": 1 -> targets 3 (A) or 5 (B)
    bad = [
        (Route("b", (2, 3, 4), (0, 0), (0, 0)), "the current request is 'a'"),
        (Route("a", (2, 3), (0,), (0,), "A"), "not a simple path"),
        (Route("a", (1, 2, 1, 3), (0, 0, 0), (0, 0, 0), "A"), "not a simple path"),
        (Route("a", (1, 2, 3), (0, 0), (0, 0), "B"), "not a target of provider 'B'"),
        (Route("a", (1, 2, 3), (0,), (0, 0), "A"), "1 values for 2 arcs"),
        (Route("a", (1, 2, 3), (0.5, 0), (0, 0), "A"), "non-negative integers"),
        (Route("a", (1, 2, 3), (13, 0), (0, 0), "A"), "more wavelengths than"),
        (Route("a", (1, 5), (0,), (0,), "B"), "no arc"),
    ]
    for route, problem in bad:
        with pytest.raises(InputError, match=problem):
            env.step_route(route)
    assert env.current_request == 0  # nothing was applied
    # a takes A, then c's target at A is refused: d needs the last place
    env.step_route(Route("a", (1, 3), (0,), (0,), "A"))
    env.step_route(Route("b", (2, 3, 4), (0, 0), (0, 0)))
    with pytest.raises(InputError, match="provider 'A' cannot take it"):
        env.step_route(Route("c", (4, 3), (0,), (0,), "A"))
    with pytest.raises(InputError, match="no route for request"):
        env.replay(Plan(inst.name, "partial", (Route("a", (1, 3), (0,), (0,), "A"),)))


def test_coqbn_policy_reproduces_coqbn_with_providers_and_fixed_charges() -> None:
    line = [Link(1, 2, 100.0), Link(2, 3, 100.0), Link(3, 4, 100.0), Link(4, 5, 150.0)]
    stuck = Instance(  # first fit gets stuck: f takes A, g needs it; coqbn repairs
        (1, 2, 3, 4, 5),
        tuple(line),
        (
            Request("f", 1, None, Demand.uniform(2), (Target(3, "A"), Target(5, "B"))),
            Request("g", 2, None, Demand.uniform(2), (Target(3, "A"),)),
        ),
        providers=(Provider("A", 1), Provider("B")),
    )
    cases = [stuck, all_features_instance(), _ntn(6, 20)]
    cases.append(link_kinds_and_providers_instance("usnet", 20, 8, seed=5, fixed_charges=True))
    for inst in cases:
        ref = get_planner("coqbn").plan(inst)
        env = PlanningEnv(inst)
        ret, plan = _episode(env, CoQBNPolicy().bind(env))
        assert plan.routes == ref.routes, inst.name
        assert math.isclose(ret, -evaluate(inst, ref).total, rel_tol=1e-9)
        assert get_planner("rl-coqbn").plan(inst).routes == ref.routes
    assert get_planner("coqbn").plan(stuck).stats["provider_repairs"] == 1


def test_greedy_policy_counts_opening_and_service_costs() -> None:
    inst = link_kinds_and_providers_instance("nsfnet", 12, 5, seed=3, fixed_charges=True)
    env = PlanningEnv(inst, k=3)
    act = GreedyPolicy().bind(env)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        cost = env.action_costs()
        a = act(obs, info["action_mask"])
        assert cost[a] <= cost.min() * (1 + 1e-5)
        obs, r, done, _, info = env.step(a)
        assert -r == pytest.approx(cost[a], rel=1e-12)


def test_features_outside_the_allow_list_are_refused() -> None:
    inst = feature_instance("providers")
    build_tables(inst)  # every supported feature is accepted
    coupled = Instance(inst.nodes, inst.links, inst.requests, name="coupled-one")
    coupled.__dict__["features"] = frozenset({"coupled", "providers"})  # a future feature
    with pytest.raises(InputError, match="coupled"):
        PlanningEnv(coupled)


def test_a_pool_may_not_outgrow_the_first_instances_targets() -> None:
    plain = feature_instance("link_states")
    env = PlanningEnv([plain], k=1)
    with pytest.raises(InputError, match="targets"):
        env.reset(options={"instance": feature_instance("providers")})
    wide = PlanningEnv(feature_instance("providers"), k=1)
    ret, plan = _episode(wide, _random(0))  # fewer targets than the env's: padded, masked
    wide_plain = PlanningEnv(
        [feature_instance("providers"), plain.with_requests(plain.requests)], k=1
    )
    for ep in range(4):
        ret, plan = _episode(wide_plain, _random(ep), seed=ep)
        assert math.isclose(ret, -evaluate(wide_plain.instance, plan).total, rel_tol=1e-9)
