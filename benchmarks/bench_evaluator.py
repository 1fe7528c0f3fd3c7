"""Evaluator speed: USNET, 60 requests, K = 10.

Run with ``python -m pytest benchmarks/bench_evaluator.py --benchmark-enable``.
Each benchmark records ``terms``: request-arc-support terms per call (the
work a direct enumeration does); divide by the mean time for the
"terms per second equivalent". The plain-Python twin runs in the same session
so the ratio is measured on one machine at one time.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from qkdbench.evaluation import encode_plan, evaluate, evaluate_batch, stack_plans, support_table
from qkdbench.evaluation.encoding import PlanArrays
from qkdbench.evaluation.pricing import ProviderArrays, SupportArrays
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.heuristics import get_planner
from qkdbench.model import Instance, Plan
from qkdbench.topologies import make_instance

N_BATCH = 1000


@pytest.fixture(scope="module")
def usnet60() -> Instance:
    return make_instance("usnet", 60, 10, seed=1)


@pytest.fixture(scope="module")
def plan60(usnet60: Instance) -> Plan:
    return get_planner("coqbn").plan(usnet60)


def _terms(inst: Instance, arrays: PlanArrays) -> int:
    s = support_table(inst)
    sizes = np.diff(s.ptr)
    req = np.arange(arrays.ptr.size - 1) % inst.n_requests
    return int((np.diff(arrays.ptr) * sizes[req]).sum())


@pytest.fixture(scope="module")
def batch60(usnet60: Instance) -> PlanArrays:
    """1000 plans: each request on one of its 5 shortest paths, random reservations."""
    rng = np.random.default_rng(7)
    cands = []
    for r in usnet60.requests:
        paths = list(
            itertools.islice(
                nx.shortest_simple_paths(usnet60.graph, r.source, r.target, weight="length_km"), 5
            )
        )
        cands.append([np.asarray(usnet60.path_arcs(p), dtype=np.int64) for p in paths])
    plans = []
    for _ in range(N_BATCH):
        arcs = [c[rng.integers(len(c))] for c in cands]
        ptr = np.concatenate(([0], np.cumsum([a.size for a in arcs])))
        flat = np.concatenate(arcs)
        plans.append(
            PlanArrays(
                ptr,
                flat,
                rng.integers(0, 31, flat.size).astype(float),
                rng.integers(0, 11, flat.size).astype(float),
                usnet60.n_requests,
            )
        )
    return stack_plans(plans)


@pytest.mark.benchmark(group="evaluator")
def test_kernel_single_plan(benchmark: BenchmarkFixture, usnet60: Instance, plan60: Plan) -> None:
    arrays = encode_plan(usnet60, plan60)
    evaluate_batch(usnet60, arrays)  # compile / load the cache outside the timing
    scores = benchmark(evaluate_batch, usnet60, arrays)
    benchmark.extra_info["terms"] = _terms(usnet60, arrays)
    assert scores.total[0] == pytest.approx(evaluate(usnet60, plan60).total, rel=1e-12)


@pytest.mark.benchmark(group="evaluator")
def test_evaluate_single_plan_with_breakdown(
    benchmark: BenchmarkFixture, usnet60: Instance, plan60: Plan
) -> None:
    evaluate(usnet60, plan60)
    ev = benchmark(evaluate, usnet60, plan60)
    benchmark.extra_info["terms"] = _terms(usnet60, encode_plan(usnet60, plan60))
    assert ev.feasible


@pytest.mark.benchmark(group="evaluator")
def test_kernel_batch_1000(
    benchmark: BenchmarkFixture, usnet60: Instance, batch60: PlanArrays
) -> None:
    evaluate_batch(usnet60, batch60.plan(0))
    scores = benchmark(evaluate_batch, usnet60, batch60)
    benchmark.extra_info["terms"] = _terms(usnet60, batch60)
    assert scores.total.size == N_BATCH
    # spot-check against the detailed single-plan path
    for b in (0, N_BATCH // 2, N_BATCH - 1):
        from qkdbench.evaluation import evaluate_arrays

        assert scores.total[b] == pytest.approx(
            evaluate_arrays(usnet60, batch60.plan(b)).total, rel=1e-12
        )


@pytest.mark.benchmark(group="evaluator")
def test_plain_python_twin_single_plan(
    benchmark: BenchmarkFixture, usnet60: Instance, plan60: Plan
) -> None:
    ref = benchmark(reference_evaluate, usnet60, plan60)
    benchmark.extra_info["terms"] = _terms(usnet60, encode_plan(usnet60, plan60))
    assert ref["total"] == pytest.approx(evaluate(usnet60, plan60).total, rel=1e-9)


@pytest.mark.benchmark(group="evaluator")
def test_kernel_batch_1000_fixed_charges(
    benchmark: BenchmarkFixture, usnet60: Instance, batch60: PlanArrays
) -> None:
    """The same batch on the instance with relay-site fixed charges: the marking kernel runs."""
    from dataclasses import replace

    from qkdbench.evaluation import evaluate_arrays
    from qkdbench.model import CostTable

    inst = replace(
        usnet60,
        costs=CostTable(site=1000.0),
        node_fixed_costs=dict.fromkeys(usnet60.nodes[:5], 500.0),
    )
    evaluate_batch(inst, batch60.plan(0))
    scores = benchmark(evaluate_batch, inst, batch60)
    benchmark.extra_info["terms"] = _terms(inst, batch60)
    for b in (0, N_BATCH - 1):
        assert scores.total[b] == pytest.approx(
            evaluate_arrays(inst, batch60.plan(b)).total, rel=1e-12
        )


@pytest.fixture(scope="module")
def ntn1000() -> Instance:
    """germany50 as TN-NTN (link kinds, states, providers): 1000 requests, half anycast."""
    return make_instance("sndlib/germany50-ntn", 1000, 10, seed=1)


@pytest.mark.benchmark(group="evaluator-ntn")
def test_ntn_tables_1000_requests(benchmark: BenchmarkFixture, ntn1000: Instance) -> None:
    """Build the pricing tables of a 1000-request TN-NTN instance (demand x link state)."""
    from dataclasses import replace

    from qkdbench.evaluation.pricing import provider_table

    def build() -> tuple[SupportArrays, ProviderArrays]:
        inst = replace(ntn1000)  # a copy starts without derived tables
        return support_table(inst), provider_table(inst)

    s, _ = benchmark(build)
    benchmark.extra_info["classes"] = s.n_classes
    benchmark.extra_info["table_mb"] = round(
        sum(a.nbytes for a in vars(s).values() if isinstance(a, np.ndarray)) / 1e6, 2
    )
    assert s.n_classes >= 2


@pytest.fixture(scope="module")
def ntn_batch(ntn1000: Instance) -> PlanArrays:
    """100 plans: each request to a random target, on one of its 3 shortest paths there."""
    from qkdbench.evaluation.encoding import target_position

    rng = np.random.default_rng(7)
    cands = []
    for r in ntn1000.requests:
        opts = []
        for sink in r.sinks:
            t = target_position(r, sink.node, sink.provider)
            for p in itertools.islice(
                nx.shortest_simple_paths(ntn1000.graph, r.source, sink.node, weight="length_km"), 3
            ):
                opts.append((t, np.asarray(ntn1000.path_arcs(p), dtype=np.int64)))
        cands.append(opts)
    plans = []
    for _ in range(100):
        picks = [c[rng.integers(len(c))] for c in cands]
        arcs = [a for _, a in picks]
        ptr = np.concatenate(([0], np.cumsum([a.size for a in arcs])))
        flat = np.concatenate(arcs)
        plans.append(
            PlanArrays(
                ptr,
                flat,
                rng.integers(0, 31, flat.size).astype(float),
                rng.integers(0, 11, flat.size).astype(float),
                ntn1000.n_requests,
                np.asarray([t for t, _ in picks], dtype=np.int64),
            )
        )
    return stack_plans(plans)


@pytest.mark.benchmark(group="evaluator-ntn")
def test_kernel_batch_100_ntn_1000_requests(
    benchmark: BenchmarkFixture, ntn1000: Instance, ntn_batch: PlanArrays
) -> None:
    """Score 100 plans of 1000 requests with link states, unit prices and service costs."""
    from qkdbench.evaluation import evaluate_arrays

    evaluate_batch(ntn1000, ntn_batch.plan(0))
    scores = benchmark(evaluate_batch, ntn1000, ntn_batch)
    for b in (0, 99):
        assert scores.total[b] == pytest.approx(
            evaluate_arrays(ntn1000, ntn_batch.plan(b)).total, rel=1e-12
        )
