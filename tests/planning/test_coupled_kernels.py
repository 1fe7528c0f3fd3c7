"""The coupled reservation kernels: their twins, enumeration, convexity and the evaluator.

Independent truths: the plain-Python twins (a scan of every reservation where the
kernels search), enumeration of every reservation vector on one arc, the second
differences of a request's cost, and the evaluator's score of the plans the coupled
greedy's state holds.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from qkdbench.evaluation import evaluate, evaluate_batch
from qkdbench.exceptions import InputError
from qkdbench.heuristics.saa_greedy import SAAGreedy
from qkdbench.model import Instance, Plan, Route, Scenarios
from qkdbench.planning import GreedyState, build_ladders
from qkdbench.planning.coupled import (
    _user_cost_py,
    arc_groups,
    arc_groups_py,
    coupled_arrays,
    marginal_instance,
    need_table,
    newcomer,
    newcomer_py,
    standalone_points,
    standalone_points_py,
)
from qkdbench.planning.coupled_greedy import CoupledState
from qkdbench.planning.paths import candidate_paths
from qkdbench.testing.instances import coupled_instance
from qkdbench.utils.random import check_random_state


def _random_arc(rng: np.random.Generator, n: int, n_sc: int, width: int = 4) -> tuple:
    """Kernel arrays of one arc (arc 0, link 0) shared by ``n`` requests, demands correlated."""
    base = rng.integers(0, 2, n_sc)
    kappa_t = np.minimum(width - 1, rng.integers(0, width - 1, (n, n_sc)) + base[None, :])
    rate_t = rng.choice([0.5, 1.0], size=(1, n_sc))
    probs = rng.dirichlet(np.ones(n_sc))
    c_o = rng.uniform(3.0, 8.0, 2)
    c = np.stack([rng.uniform(1.0, 3.0, 2), rng.uniform(0.0, 1.0, 2) * c_o, c_o])
    cap = rng.integers(0, 8, 2).astype(float)
    cap[rng.random(2) < 0.2] = np.inf
    w = rng.integers(0, 4 * width, 2).astype(float)
    use = np.ones(2, dtype=bool)
    phi = float(rng.uniform(1.0, 5.0))
    return (
        kappa_t.astype(float),
        rate_t,
        probs,
        c[:, :1].copy(),
        (0.5 * c[:, 1:]).copy(),
        cap[:1].copy(),
        cap[1:].copy(),
        use[:1].copy(),
        use[1:].copy(),
        w[:1].copy(),
        w[1:].copy(),
        phi,
    )


def _one_group(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.asarray([0, n], np.int64), np.zeros(1, np.int64), np.arange(n, dtype=np.int64)


@pytest.mark.parametrize("seed", range(40))
def test_arc_groups_equals_its_twin(seed: int) -> None:
    rng = check_random_state(seed)
    n, n_sc = int(rng.integers(1, 6)), int(rng.integers(1, 8))
    data = _random_arc(rng, n, n_sc)
    ptr, arc, users = _one_group(n)
    ask_y = np.where(rng.random(n) < 0.3, rng.integers(0, 6, n), np.inf)
    ask_z = np.full(n, np.inf)
    got = arc_groups(ptr, arc, users, ask_y, ask_z, True, *data)
    want = arc_groups_py(ptr, arc, users, ask_y, ask_z, True, *data)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)
    np.testing.assert_allclose(got[3], want[3])
    np.testing.assert_allclose(got[4], want[4])
    assert got[0].sum() <= data[9][0]
    assert got[1].sum() <= data[10][0]
    assert np.all(got[0] <= ask_y)
    # scoring given reservations: the twin again, and the same cost
    fixed = arc_groups(ptr, arc, users, got[0], got[1], False, *data)
    np.testing.assert_allclose(fixed[2], got[2], rtol=1e-12)
    fixed_py = arc_groups_py(ptr, arc, users, got[0], got[1], False, *data)
    np.testing.assert_allclose(fixed_py[2], got[2], rtol=1e-12)


@pytest.mark.parametrize("seed", range(60))
def test_arc_optimum_matches_enumeration(seed: int) -> None:
    """The reservations chosen on one arc are the cheapest vector (measured: no gap)."""
    rng = check_random_state(1000 + seed)
    n, n_sc = int(rng.integers(2, 5)), int(rng.integers(2, 7))
    data = _random_arc(rng, n, n_sc, width=3)
    ptr, arc, users = _one_group(n)
    inf = np.full(n, np.inf)
    y, z, cost, _, _ = arc_groups(ptr, arc, users, inf, inf, True, *data)
    need = need_table(data[0], data[1])[:, 0]
    best = np.inf
    for kind, top in ((0, 3 * need), (1, need)):
        cap = data[9 + kind][0]
        vecs = [v for v in itertools.product(*(range(t + 1) for t in top)) if sum(v) <= cap]
        part = np.inf
        for v in vecs:
            vv = np.asarray(v, float)
            yy, zz = (vv, np.zeros(n)) if kind == 0 else (np.zeros(n), vv)
            part = min(part, arc_groups(ptr, arc, users, yy, zz, False, *data)[2][0])
        # the other kind at zero contributes a constant: remove it
        yy, zz = (np.zeros(n), np.zeros(n))
        best = (
            part
            if kind == 0
            else best + part - arc_groups(ptr, arc, users, yy, zz, False, *data)[2][0]
        )
    assert cost[0] <= best * (1 + 1e-9) + 1e-9


@pytest.mark.parametrize("seed", range(30))
def test_user_cost_is_convex_and_newcomer_finds_its_minimum(seed: int) -> None:
    rng = check_random_state(2000 + seed)
    n_sc = int(rng.integers(1, 8))
    need = [float(3 * v) for v in rng.integers(0, 4, n_sc)]
    others = [float(v) for v in rng.integers(0, 12, n_sc)]
    probs = [float(p) for p in rng.dirichlet(np.ones(n_sc))]
    c_o = float(rng.uniform(3.0, 8.0))
    c = (float(rng.uniform(0.5, 3.0)), float(rng.uniform(0.0, c_o)), c_o)
    cap = float(rng.integers(0, 10))
    phi = float(rng.uniform(1.0, 5.0))
    vals = [_user_cost_py(float(y), need, others, probs, c, cap, phi, True) for y in range(13)]
    second = np.diff(vals, 2)
    assert np.all(second >= -1e-9 * (1 + max(abs(v) for v in vals)))
    # the newcomer kernel on one arc with that residual
    kappa_t = np.asarray([[v / 3 for v in need]])
    rate_t = np.ones((1, n_sc))
    cy = np.asarray([[c[0]], [c[1]], [c[2]]])
    w = float(rng.integers(0, 14))
    data = (
        kappa_t,
        rate_t,
        np.asarray(probs),
        cy,
        cy.copy(),
        np.asarray([cap]),
        np.asarray([np.inf]),
        np.ones(1, bool),
        np.ones(1, bool),
        np.asarray([w]),
        np.asarray([5.0]),
        phi,
    )
    d_y = np.asarray([others])
    d_z = np.zeros((1, n_sc))
    args = (0, np.zeros(1, np.int64), d_y, d_z, np.zeros(1), np.zeros(1), np.zeros(1), *data)
    y, z, delta = newcomer(*args)
    y2, z2, delta2 = newcomer_py(*args)
    assert (y[0], z[0]) == (y2[0], z2[0])
    assert delta[0] == pytest.approx(delta2[0], rel=1e-12)
    top = int(min(max(need), w))
    assert vals[int(y[0])] == pytest.approx(min(vals[: top + 1]), rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_standalone_points_describe_the_twins_curve(seed: int) -> None:
    inst = coupled_instance(seed, n_requests=3, n_scenarios=4, link_states=seed % 2 == 1)
    arr = coupled_arrays(inst)
    F, A = inst.n_requests, arr.hop.size
    args = (
        F,
        A,
        arr.kappa_t,
        arr.rate_t,
        arr.probs,
        arr.c_y,
        arr.c_z,
        arr.cap_y,
        arr.cap_z,
        arr.use_y,
        arr.use_z,
        arr.phi,
    )
    got = standalone_points(*args)
    want = standalone_points_py(*args)
    for k in (0, 3):
        ptr, width, cost = got[k : k + 3]
        ptr2, width2, cost2 = want[k : k + 3]
        for p in range(F * A):
            x = np.arange(int(width2[ptr2[p + 1] - 1]) + 1)
            a = np.interp(x, width[ptr[p] : ptr[p + 1]], cost[ptr[p] : ptr[p + 1]])
            b = np.interp(x, width2[ptr2[p] : ptr2[p + 1]], cost2[ptr2[p] : ptr2[p + 1]])
            np.testing.assert_allclose(a, b, rtol=1e-12)


def _restricted(inst: Instance, ids: list[str]) -> Instance:
    """The instance with only the requests ``ids`` (and their scenario columns)."""
    sc = inst.scenarios
    assert sc is not None
    keep = Scenarios(sc.probs, {r: sc.key_rates[r] for r in ids}, sc.link_key_rates)
    reqs = tuple(r for r in inst.requests if r.id in ids)
    return replace(inst, requests=reqs, scenarios=keep)


def _partial_cost(inst: Instance, state: CoupledState) -> float:
    """The evaluator's total of the requests routed in ``state``."""
    ids = [r.id for f, r in enumerate(inst.requests) if state.route[f] is not None]
    sub = _restricted(inst, ids)
    routes = []
    for f, req in enumerate(inst.requests):
        i = state.route[f]
        if i is None:
            continue
        arcs = state.candidates.arcs[f][i].tolist()
        routes.append(
            Route(
                req.id,
                state.candidates.paths[f][i],
                tuple(int(state.alloc["y"][(f, a)]) for a in arcs),
                tuple(int(state.alloc["z"][(f, a)]) for a in arcs),
            )
        )
    return float(evaluate_batch(sub, [Plan(sub.name, "t", tuple(routes))]).total[0])


def _state(inst: Instance, rebalance: bool) -> CoupledState:
    lad = build_ladders(inst)
    F, A = inst.n_requests, lad.n_arcs
    cands = candidate_paths(inst, 4, lad.best().reshape(F, A))
    return CoupledState(inst, lad, cands, rebalance)


@pytest.mark.parametrize("rebalance", [True, False])
@pytest.mark.parametrize("seed", range(10))
def test_prices_are_the_evaluators_differences(seed: int, rebalance: bool) -> None:
    inst = coupled_instance(seed, n_requests=4, n_scenarios=5, link_states=seed % 3 == 0)
    state = _state(inst, rebalance)
    rng = check_random_state(seed)
    before = 0.0
    for f in rng.permutation(inst.n_requests).tolist():
        i = int(rng.integers(len(state.candidates.arcs[f])))
        price = state.path_cost(f, i)
        state.insert(f, i)
        after = _partial_cost(inst, state)
        assert price == pytest.approx(after - before, rel=1e-9, abs=1e-6)
        before = after
    assert state.model_cost() == pytest.approx(evaluate(inst, _plan(inst, state)).total, rel=1e-12)
    assert state.model_cost() == pytest.approx(state.total_cost(), rel=1e-12)
    # taking a request off and putting it back: with rebalance the very same state
    f = 0
    kept = state.route[f]
    assert kept is not None
    cost = state.model_cost()
    state.remove(f)
    state.insert(f, kept)
    if rebalance:
        assert state.model_cost() == cost
    else:
        assert state.model_cost() <= cost * (1 + 1e-12)


def _plan(inst: Instance, state: CoupledState) -> Plan:
    return Plan(inst.name, "t", state.routes(inst))


def test_greedy_state_refuses_a_coupled_instance() -> None:
    inst = coupled_instance(1)
    lad = build_ladders(inst)
    cands = candidate_paths(inst, 2, lad.best().reshape(inst.n_requests, lad.n_arcs))
    with pytest.raises(InputError, match="coupled"):
        GreedyState(inst, lad, cands)


def test_marginal_instance_drops_the_coupling_only() -> None:
    inst = coupled_instance(3, link_states=True)
    free = marginal_instance(inst)
    assert not free.is_coupled
    assert free.scenarios is None
    assert not free.has_on_demand_caps
    assert [r.demand for r in free.requests] == [r.demand for r in inst.requests]
    assert [link.key_rate_kbps for link in free.links] == [
        link.key_rate_kbps for link in inst.links
    ]
    assert marginal_instance(free) is free


def test_uncoupled_scenarios_plan_as_their_marginals() -> None:
    """Scenarios without a cap or a listed link state: not coupled, the marginal plan."""
    inst = coupled_instance(4)
    free = replace(marginal_instance(inst), scenarios=inst.scenarios)
    assert not free.is_coupled
    a = SAAGreedy().plan(free)
    b = SAAGreedy().plan(marginal_instance(inst))
    assert a.routes == b.routes


def test_need_table_is_the_largest_need() -> None:
    inst = coupled_instance(5, link_states=True)
    arr = coupled_arrays(inst)
    want = np.ceil(arr.kappa_t[:, None, :] / arr.rate_t[None, :, :] - 1e-9).max(axis=2)
    np.testing.assert_array_equal(need_table(arr.kappa_t, arr.rate_t), np.maximum(0, want))
