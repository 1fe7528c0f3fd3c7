"""The shared shortest-path kernels against networkx on seeded random graphs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from numpy.typing import NDArray

from qkdbench.evaluation.pricing import arc_table
from qkdbench.planning.shortest_paths import (
    adjacency,
    all_pairs_distances,
    first_found_path,
    first_found_path_py,
    shortest_path_trees,
    trace_paths,
)
from qkdbench.topologies import make_instance


def _random_arcs(
    n: int, p: float, seed: int
) -> tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], np.random.Generator
]:
    """A seeded random digraph as arc arrays, with out-lists in CSR form."""
    rng = np.random.default_rng(seed)
    pairs = [(u, v) for u in range(n) for v in range(n) if u != v and rng.random() < p]
    tail = np.asarray([u for u, _ in pairs], dtype=np.int64)
    head = np.asarray([v for _, v in pairs], dtype=np.int64)
    order = np.argsort(tail, kind="stable").astype(np.int64)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    out_ptr[1:] = np.cumsum(np.bincount(tail, minlength=n))
    return tail, head, out_ptr, order, rng


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trees_and_traced_paths_match_networkx(seed: int) -> None:
    n = 9
    tail, head, out_ptr, out_arc, rng = _random_arcs(n, 0.3, seed)
    weight = rng.integers(0, 6, size=(2, tail.size)).astype(float)  # zeros and ties included
    job_row = np.asarray([0, 1, 1], dtype=np.int64)
    job_source = np.asarray([0, 0, 4], dtype=np.int64)
    pred, dist = shortest_path_trees(n, out_ptr, out_arc, head, weight, job_row, job_source)
    for j in range(job_source.size):
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from(
            zip(tail.tolist(), head.tolist(), weight[job_row[j]].tolist(), strict=True)
        )
        truth = nx.single_source_dijkstra_path_length(g, int(job_source[j]))
        for v in range(n):
            assert dist[j, v] == truth.get(v, math.inf)
            assert (pred[j, v] < 0) == (v == job_source[j] or v not in truth)
    # every reached node: the traced path runs from the source to it and costs its distance
    reached = [(j, v) for j in range(job_source.size) for v in range(n) if np.isfinite(dist[j, v])]
    req_job = np.asarray([j for j, _ in reached], dtype=np.int64)
    req_target = np.asarray([v for _, v in reached], dtype=np.int64)
    ptr, arcs, bad = trace_paths(pred, tail, req_job, job_source[req_job], req_target)
    assert bad == -1
    for f, (j, v) in enumerate(reached):
        path = arcs[ptr[f] : ptr[f + 1]]
        nodes = [int(job_source[j])] + head[path].tolist()
        assert nodes[-1] == v
        assert all(tail[a] == u for a, u in zip(path, nodes[:-1], strict=True))
        assert float(weight[job_row[j], path].sum()) == dist[j, v]


def test_an_unreached_target_is_reported() -> None:
    n = 3
    tail, head = np.asarray([0], dtype=np.int64), np.asarray([1], dtype=np.int64)
    out_ptr, out_arc = np.asarray([0, 1, 1, 1], dtype=np.int64), np.asarray([0], dtype=np.int64)
    one = np.zeros(1, dtype=np.int64)
    pred, dist = shortest_path_trees(n, out_ptr, out_arc, head, np.ones((1, 1)), one, one)
    assert dist[0].tolist() == [0.0, 1.0, math.inf]
    reqs = np.asarray([0, 0], dtype=np.int64)
    _, arcs, bad = trace_paths(pred, tail, reqs, reqs, np.asarray([1, 2], dtype=np.int64))
    assert bad == 1
    assert arcs.size == 0


@pytest.mark.parametrize("seed", [3, 4])
def test_all_pairs_distances_match_networkx(seed: int) -> None:
    n = 8
    tail, head, _, _, rng = _random_arcs(n, 0.35, seed)
    weight = rng.uniform(0.0, 5.0, size=(2, tail.size))
    dist = all_pairs_distances(n, tail, head, weight)
    assert dist.shape == (2, n, n)
    for g in range(2):
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_weighted_edges_from(
            zip(tail.tolist(), head.tolist(), weight[g].tolist(), strict=True)
        )
        truth = dict(nx.all_pairs_dijkstra_path_length(graph))
        for u in range(n):
            for v in range(n):
                assert dist[g, u, v] == pytest.approx(truth[u].get(v, math.inf), rel=1e-12)


def test_adjacency_lists_every_arc_once_under_its_tail() -> None:
    inst = make_instance("nsfnet", 2, 2, seed=1)
    arcs = arc_table(inst)
    out_ptr, out_arc, head, tail = adjacency(inst)
    assert sorted(out_arc.tolist()) == list(range(arcs.n))
    for u in range(len(inst.nodes)):
        mine = out_arc[out_ptr[u] : out_ptr[u + 1]]
        assert (arcs.tail[mine] == u).all()
        assert list(mine) == sorted(mine)
    assert (head == arcs.head).all()
    assert (tail == arcs.tail).all()


@pytest.mark.parametrize("seed", [5, 6, 7, 8])
def test_first_found_path_and_its_twin_match_networkx_ties_included(seed: int) -> None:
    """Small integer weights (zeros, many ties): same distance and same path as networkx."""
    n = 10
    rng = np.random.default_rng(seed)
    pairs = [(u, v) for u in range(n) for v in range(n) if u != v and rng.random() < 0.3]
    perm = rng.permutation(len(pairs))  # arc ids not in tail order
    tail = np.asarray([pairs[k][0] for k in perm], dtype=np.int64)
    head = np.asarray([pairs[k][1] for k in perm], dtype=np.int64)
    out_arc = np.argsort(tail, kind="stable").astype(np.int64)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    out_ptr[1:] = np.cumsum(np.bincount(tail, minlength=n))
    for trial in range(3):
        weight = rng.integers(0, 3 + trial, size=tail.size).astype(float)
        if trial == 2:
            weight = weight * 0.1 + rng.integers(0, 2, size=tail.size) * 0.2  # inexact sums
        g = nx.DiGraph()
        g.add_weighted_edges_from(zip(tail.tolist(), head.tolist(), weight.tolist(), strict=True))
        for s in range(n):
            for t in range(n):
                cost, nodes = first_found_path(out_ptr, out_arc, head, weight, s, t)
                twin_cost, twin_nodes = first_found_path_py(out_ptr, out_arc, head, weight, s, t)
                assert nodes.tolist() == twin_nodes
                assert cost == twin_cost
                try:
                    truth_cost, truth_nodes = nx.single_source_dijkstra(g, s, t)
                except (nx.NetworkXNoPath, nx.NodeNotFound):
                    assert nodes.size == 0
                    assert cost == math.inf
                    continue
                assert nodes.tolist() == truth_nodes
                assert cost == truth_cost


@pytest.mark.parametrize("topology", ["nsfnet", "usnet", "cost239"])
def test_shortest_by_length_is_networkx_dijkstra_path(topology: str) -> None:
    from qkdbench.planning.paths import _by_length, shortest_path

    inst = make_instance(topology, 2, 2, seed=1)
    for s in inst.nodes:
        for t in inst.nodes:
            if s != t:
                truth = tuple(nx.dijkstra_path(inst.graph, s, t, weight="length_km"))
                assert _by_length(inst, s, t) == truth == tuple(shortest_path(inst, s, t))
