"""The greedy state's pieces: reserved blocks against a plain-Python twin, the local
searches as functions of the state, the state's methods calling them."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from qkdbench.heuristics.saa_greedy import SAAGreedy, insert_all
from qkdbench.model import Instance
from qkdbench.planning import greedy_fixed, local_search
from qkdbench.planning.greedy import GreedyState, insertion_order
from qkdbench.planning.ladders import Ladders, build_ladders
from qkdbench.planning.marginals import ladder_arrays, ladder_of, reserved_blocks
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.topologies import make_instance
from qkdbench.topologies.design import design_instance


def _blocks_twin(
    ladders: Ladders, kind: str, pairs: NDArray[np.int64], q: NDArray[np.float64]
) -> tuple[list[float], list[float]]:
    """Each pair fills its ladder segment by segment; blocks sorted by benefit (stable)."""
    if kind == "y":
        ptr, length, ben = ladders.y_ptr, ladders.y_len, ladders.y_ben
    else:
        ptr, length, ben = ladders.z_ptr, ladders.z_len, ladders.z_ben
    blocks = []
    for p, want in zip(pairs, q, strict=True):
        left = float(want)
        for s in range(int(ptr[p]), int(ptr[p + 1])):
            take = min(max(left, 0.0), float(length[s]))
            blocks.append((take, float(ben[s])))
            left -= float(length[s])
    blocks.sort(key=lambda tb: -tb[1])
    return [t for t, _ in blocks], [b for _, b in blocks]


@pytest.fixture(scope="module")
def ladders() -> Ladders:
    return build_ladders(make_instance("nsfnet", 6, 8, seed=3))


@pytest.mark.parametrize("kind", ["y", "z"])
def test_reserved_blocks_match_the_plain_python_twin(ladders: Ladders, kind: str) -> None:
    rng = np.random.default_rng(5)
    A = ladders.n_arcs
    for a in (0, 3, 7):
        pairs = np.arange(6, dtype=np.int64) * A + a
        ptr, length, _ = ladder_arrays(ladders, kind)
        full = np.array([length[ptr[p] : ptr[p + 1]].sum() for p in pairs])
        q = np.maximum(1.0, np.round(rng.uniform(0.0, 1.3, size=6) * full))
        lens, bens = reserved_blocks(ladders, kind, pairs, q)
        t_len, t_ben = _blocks_twin(ladders, kind, pairs, q)
        assert lens.tolist() == t_len
        assert bens.tolist() == t_ben
        assert float(lens.sum()) == pytest.approx(float(np.minimum(q, full).sum()))


def test_ladder_of_is_the_pair_slice(ladders: Ladders) -> None:
    p = 2 * ladders.n_arcs + 5
    ln, bn = ladder_of(ladders, "z", p)
    lo, hi = int(ladders.z_ptr[p]), int(ladders.z_ptr[p + 1])
    assert ln.tolist() == ladders.z_len[lo:hi].tolist()
    assert bn.tolist() == ladders.z_ben[lo:hi].tolist()


def _built(instance: Instance, improve: bool = False) -> tuple[GreedyState, list[int]]:
    planner = SAAGreedy(improve=improve)
    state = planner.prepare(instance, None, None)
    order = insertion_order(state.candidates, state.ladders, "cost-desc", state.instance)
    insert_all(state, order)
    return state, order


def _snapshot(state: GreedyState) -> tuple[object, ...]:
    return (
        list(state.route),
        {k: dict(v) for k, v in state.alloc.items()},
        state.link_users.tolist(),
        state.node_users.tolist(),
        state.prov_load.tolist(),
    )


def test_improve_function_and_method_give_the_same_state() -> None:
    inst = design_instance("usnet", 16, max_rate=4, seed=3, site=50000.0)
    a, order = _built(inst)
    b, _ = _built(inst)
    assert _snapshot(a) == _snapshot(b)
    out_a = a.improve(order)
    out_b = local_search.improve(b, order)
    assert out_a == out_b
    assert out_a["passes"] >= 1
    assert _snapshot(a) == _snapshot(b)


def test_close_links_lowers_the_evaluated_cost_and_keeps_the_counts() -> None:
    inst = design_instance("nsfnet", 14, max_rate=4, seed=2, fixed_charge_factor=8.0)
    state, order = _built(inst)
    before = state.total_cost()
    out = local_search.close_links(state)
    assert out["closed"] >= 1
    assert out["tried"] >= out["closed"]
    after = state.total_cost()
    assert after < before
    # the link and node counts are those of the routes now held
    links = np.zeros(len(inst.links), dtype=np.int64)
    nodes = np.zeros(len(inst.nodes), dtype=np.int64)
    for f, i in enumerate(state.route):
        assert i is not None  # a built state routes every request
        arcs = state.candidates.arcs[f][i]
        links[np.unique(arcs // 2)] += 1
        touched = set(state.tail[arcs].tolist()) | {int(state.head[arcs[-1]])}
        nodes[sorted(touched)] += 1
    assert state.link_users.tolist() == links.tolist()
    assert state.node_users.tolist() == nodes.tolist()


def test_opening_cost_counts_only_unused_links_and_nodes() -> None:
    inst = design_instance("nsfnet", 6, max_rate=3, seed=1, fixed_charge_factor=2.0)
    state, _ = _built(inst)
    f = 0
    i = state.route[f]
    assert i is not None
    arcs = state.candidates.arcs[f][i]
    state.remove(f)
    links = np.unique(arcs // 2)
    nodes = np.unique(np.concatenate([state.tail[arcs], state.head[arcs]]))
    expected = sum(float(state.link_charge[k]) for k in links if state.link_users[k] == 0) + sum(
        float(state.node_charge[n]) for n in nodes if state.node_users[n] == 0
    )
    assert greedy_fixed.opening_cost(state, arcs) == pytest.approx(expected, rel=1e-12)
    assert state.opening_cost(arcs) == greedy_fixed.opening_cost(state, arcs)


def test_provider_moves_keep_every_provider_within_capacity() -> None:
    inst = link_kinds_and_providers_instance(
        "usnet", 16, 5, seed=3, providers=True, capacity=True, n_targets=3
    )
    state, _ = _built(inst)
    out = local_search.provider_moves(state)
    assert out["moves"] >= 1
    load = np.zeros_like(state.prov_load)
    for f, i in enumerate(state.route):
        assert i is not None  # a built state routes every request
        p = state.provider_of(f, i)
        if p >= 0:
            load[p] += 1
    assert load.tolist() == state.prov_load.tolist()
    cap = state.prov.capacity
    assert all(c < 0 or n <= c for n, c in zip(load.tolist(), cap.tolist(), strict=True))


@pytest.mark.parametrize("which", ["charged", "providers"])
def test_plan_arrays_are_the_encoded_routes(which: str) -> None:
    from qkdbench.evaluation import encode_plan, evaluate
    from qkdbench.model import Plan

    if which == "charged":
        inst = design_instance("usnet", 20, max_rate=6, seed=4, fixed_charge_factor=10.0)
    else:
        inst = link_kinds_and_providers_instance("usnet", 16, 5, seed=3, n_targets=3)
    state, _ = _built(inst, improve=True)
    plan = Plan(inst.name, "state", state.routes(inst))
    want = encode_plan(inst, plan)
    got = state.plan_arrays()
    for field in ("ptr", "arcs", "yr", "zr"):
        assert getattr(got, field).tolist() == getattr(want, field).tolist(), field
    assert got.n_requests == want.n_requests
    assert (got.target is None) == (want.target is None)
    if want.target is not None:
        assert got.target is not None
        assert got.target.tolist() == want.target.tolist()
    assert float(want.yr.sum()) > 0
    assert state.total_cost() == evaluate(inst, plan).total
