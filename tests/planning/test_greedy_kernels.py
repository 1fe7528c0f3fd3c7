"""The greedy's compiled kernels against their plain-Python twins, bit for bit.

``pairwise_sum`` against NumPy's own sum; ``route_costs`` (candidates priced at
once) against pricing them one by one with NumPy; ``pair_deltas`` against its
twin and the state's ``pair_delta``; ``waterfill_arcs`` against its twin and
``waterfill_group`` arc by arc; ``cheapest_route`` (the whole choice of
``best_candidate``) against its twin, with and without each option.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from qkdbench.heuristics.saa_greedy import SAAGreedy, insert_all
from qkdbench.planning.greedy import GreedyState, insertion_order
from qkdbench.planning.greedy_fixed import (
    NO_PROVIDER_FILTER,
    cheapest_route,
    cheapest_route_py,
    pairwise_sum,
    route_costs,
    route_costs_py,
)
from qkdbench.planning.marginals import ladder_arrays, pair_deltas, pair_deltas_py
from qkdbench.planning.waterfill import waterfill_arcs, waterfill_arcs_py, waterfill_group
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.topologies.design import design_instance


def _spread(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """Values over many magnitudes, so that the order of the additions shows."""
    return rng.uniform(0.0, 1.0, n) * 10.0 ** rng.integers(-4, 9, n)


def test_pairwise_sum_is_numpys_sum_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    lengths = list(range(0, 40)) + [127, 128, 129, 255, 256, 257, 1000, 4099]
    for n in lengths:
        for _ in range(20):
            x = _spread(rng, n)
            lo = int(rng.integers(0, 4))
            padded = np.concatenate([rng.uniform(size=lo), x, rng.uniform(size=3)])
            assert pairwise_sum(padded, lo, n) == float(x.sum())
    # the order matters for such values: a plain running sum differs somewhere
    samples = [_spread(rng, 40) for _ in range(50)]
    assert any(pairwise_sum(y, 0, y.size) != sum(y.tolist()) for y in samples)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_route_costs_equal_the_twin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_links, n_nodes, n_routes = 30, 20, 12
    lens = rng.integers(1, 25, n_routes)  # long routes: NumPy's sums go pairwise past 8
    ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    links = rng.integers(0, n_links, int(ptr[-1])).astype(np.int64)
    n_delta = 15
    inv = rng.integers(0, n_delta, int(ptr[-1])).astype(np.int64)
    delta = rng.normal(0.0, 1.0, n_delta) * 10.0 ** rng.integers(0, 7, n_delta)
    node_sets = [np.unique(rng.integers(0, n_nodes, int(k) + 1)) for k in lens]
    node_ptr = np.concatenate([[0], np.cumsum([s.size for s in node_sets])]).astype(np.int64)
    nodes = np.concatenate(node_sets).astype(np.int64)
    link_users = rng.integers(0, 3, n_links).astype(np.int64)
    node_users = rng.integers(0, 3, n_nodes).astype(np.int64)
    link_charge = _spread(rng, n_links)
    node_charge = _spread(rng, n_nodes)
    service = _spread(rng, n_routes)
    want = rng.random(n_routes) < 0.8
    for fixed in (True, False):
        args: tuple[Any, ...] = (ptr, inv, delta, links, node_ptr, nodes, link_users, node_users)
        rest: tuple[Any, ...] = (link_charge, node_charge, service, want, fixed)
        got = route_costs(*args, *rest)
        twin = route_costs_py(*args, *rest)
        assert got.tolist() == twin
        assert all(np.isinf(got[~want]))


def _state(which: str, rebalance: bool = True) -> GreedyState:
    if which == "charged":
        inst = design_instance("usnet", 24, max_rate=8, seed=6, fixed_charge_factor=10.0)
    else:
        inst = link_kinds_and_providers_instance("nsfnet", 14, 5, seed=2, n_targets=2)
    state = SAAGreedy(rebalance=rebalance).prepare(inst)
    order = insertion_order(state.candidates, state.ladders, "cost-desc", state.instance)
    insert_all(state, order[: len(order) - 3])  # three left out, to be priced
    return state


@pytest.mark.parametrize("which", ["charged", "kinds"])
@pytest.mark.parametrize("rebalance", [True, False])
def test_pair_deltas_equal_the_twin_and_pair_delta(which: str, rebalance: bool) -> None:
    state = _state(which, rebalance)
    lad = state.ladders
    A = state.n_arcs
    for f in [g for g, r in enumerate(state.route) if r is None]:
        arcs = list(range(A))
        blocks = [state._blocks(a) for a in arcs]
        flat: list[Any] = []
        for k in (3, 4):
            parts = [b[k] for b in blocks]
            flat += [
                np.concatenate([[0], np.cumsum([g[0].size for g in parts])]).astype(np.int64),
                np.concatenate([g[0] for g in parts]),
                np.concatenate([g[1] for g in parts]),
                np.asarray([g[2] for g in parts]),
            ]
        assert sum(b[3][0].size for b in blocks) > 0  # QKD and KM wavelengths reserved
        assert sum(b[4][0].size for b in blocks) > 0
        idx = np.asarray(arcs, dtype=np.int64)
        args: tuple[Any, ...] = (lad.base, f * A + idx, lad.y_ptr, lad.y_len, lad.y_ben)
        args += (lad.z_ptr, lad.z_len, lad.z_ben, *flat)
        rest: tuple[Any, ...] = (state.cap["y"], state.cap["z"], state.rebalance)
        got = pair_deltas(*args, *rest)
        assert got.tolist() == pair_deltas_py(*args, *rest)
        state._delta_cache.clear()
        assert got.tolist() == [state.pair_delta(f, a) for a in arcs]
        # the state's batch gives the same and caches it
        state._delta_cache.clear()
        assert state._pair_deltas(f, arcs).tolist() == got.tolist()
        assert all(state._delta_cache[(f, a, int(state.version[a]))] == got[a] for a in arcs)


@pytest.mark.parametrize("which", ["charged", "kinds"])
def test_waterfill_arcs_equals_the_twin_and_waterfill_group(which: str) -> None:
    state = _state(which)
    lad = state.ladders
    A = state.n_arcs
    rng = np.random.default_rng(4)
    arcs = np.asarray([a for a in range(A) if state.on_arc[a]] + [0], dtype=np.int64)
    keys = [state.on_arc[a] if j < arcs.size - 1 else [] for j, a in enumerate(arcs.tolist())]
    users_ptr = np.concatenate([[0], np.cumsum([len(k) for k in keys])]).astype(np.int64)
    users = np.asarray([f for k in keys for f in k], dtype=np.int64)
    cap_y = np.floor(state.cap["y"][arcs] * rng.uniform(0.2, 1.2, arcs.size))
    cap_z = np.floor(state.cap["z"][arcs] * rng.uniform(0.2, 1.2, arcs.size))
    args: tuple[Any, ...] = (lad.y_ptr, lad.y_len, lad.y_ben, lad.z_ptr, lad.z_len, lad.z_ben, A)
    args += (arcs, users_ptr, users, cap_y, cap_z)
    take, b_ptr, b_len, b_ben = waterfill_arcs(*args)
    t_take, t_len, t_ben = waterfill_arcs_py(*args)
    for j, a in enumerate(arcs.tolist()):
        lo, hi = users_ptr[j], users_ptr[j + 1]
        pairs = users[lo:hi] * A + a
        for k, (kind, cap) in enumerate((("y", cap_y), ("z", cap_z))):
            seg = b_ptr[2 * j + k], b_ptr[2 * j + k + 1]
            assert take[k, lo:hi].tolist() == t_take[k][j]
            assert b_len[seg[0] : seg[1]].tolist() == t_len[k][j]
            assert b_ben[seg[0] : seg[1]].tolist() == t_ben[k][j]
            ptr, length, ben = ladder_arrays(lad, kind)
            got, g_len, g_ben = waterfill_group(ptr, length, ben, pairs, float(cap[j]))
            assert got.tolist() == t_take[k][j]
            assert g_len.tolist() == t_len[k][j]
            assert g_ben.tolist() == t_ben[k][j]
    assert float(take.sum()) > 0


def _choice_inputs(state: GreedyState, f: int) -> list[Any]:
    """The arguments ``best_candidate`` gives ``cheapest_route`` (before the three options)."""
    t = state._table(f)
    recs = [state._blocks(a) for a in t.uarcs]
    lad = state.ladders
    return [
        f,
        state.n_arcs,
        t.uarcs_array,
        lad.base,
        lad.y_ptr,
        lad.y_len,
        lad.y_ben,
        lad.z_ptr,
        lad.z_len,
        lad.z_ben,
        np.concatenate([r[5] for r in recs]),
        np.concatenate([r[6] for r in recs]),
        np.asarray([v for r in recs for v in r[7]], dtype=float),
        state.cap["y"],
        state.cap["z"],
        state.rebalance,
        t.ptr,
        t.inv,
        t.links,
        t.node_ptr,
        t.nodes,
        state.link_users,
        state.node_users,
        state.link_charge,
        state.node_charge,
        t.service,
        state.fixed,
        t.provider,
        state.prov.capacity,
        state.prov_load,
    ]


@pytest.mark.parametrize("which", ["charged", "kinds"])
@pytest.mark.parametrize("rebalance", [True, False])
def test_cheapest_route_equals_the_twin(which: str, rebalance: bool) -> None:
    state = _state(which, rebalance)
    chosen = 0
    for f in [g for g, r in enumerate(state.route) if r is None]:
        args = _choice_inputs(state, f)
        links = sorted(set(args[18].tolist()))
        n_routes = args[16].size - 1
        options = [(NO_PROVIDER_FILTER, -1, -1), (NO_PROVIDER_FILTER, links[0], n_routes - 1)]
        options += [(p, -1, 0) for p in range(-1, len(state.prov.ids))]
        for opts in options:
            full: list[Any] = [*args, *opts]
            got = cheapest_route(*full)
            twin = cheapest_route_py(*full)
            assert (int(got[0]), float(got[1])) == (int(twin[0]), float(twin[1]))
            chosen += got[0] >= 0
        # and the state's choice is the twin's
        plain: list[Any] = [*args, NO_PROVIDER_FILTER, -1, -1]
        assert state.best_candidate(f) == tuple(cheapest_route_py(*plain))
    assert chosen > 0
