"""Benchmark of every planner on USNET, K = 10, and the quality table against the exact optimum.

``pytest benchmarks/bench_planners.py --benchmark-enable`` times each planner on
USNET with 60 requests (seed 1; one pytest-benchmark group per planner) and
fills the quality table: USNET with 30 and 60 requests, seeds 1-3, every
planner's cost, gap to the exact optimum and seconds in ``extra_info``
(groups ``quality-<planner>``). With ``--benchmark-disable`` (the project
default) the same checks run on 12 requests, seed 1 only, in a few seconds.

``python benchmarks/bench_planners.py`` prints the full table as Markdown.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from qkdbench.evaluation import evaluate
from qkdbench.heuristics import get_planner
from qkdbench.model import Instance
from qkdbench.topologies import make_instance

PLANNERS = ["coqbn", "saa-greedy", "ga", "exact"]
GAP_LIMIT = {"saa-greedy": 1.0, "ga": 0.3, "exact": 1e-6}  # percent
GA_TIME = 30.0
CASES = [(n, s) for n in (30, 60) for s in (1, 2, 3)]

_OPTIMA: dict[tuple[int, int], float] = {}


def run(name: str, inst: Instance, seed: int) -> tuple[float, float, dict[str, Any]]:
    """Cost, seconds and stats of one planner run (GA: time limit 30 s)."""
    kw = {"time_limit": GA_TIME} if name == "ga" else {}
    start = time.perf_counter()
    plan = get_planner(name).plan(inst, seed=seed, **kw)
    took = time.perf_counter() - start
    ev = evaluate(inst, plan)
    assert ev.feasible
    return ev.total, took, dict(plan.stats)


def optimum(n: int, seed: int) -> float:
    """The exact optimum of USNET with ``n`` requests, K = 10 (cached)."""
    if (n, seed) not in _OPTIMA:
        inst = make_instance("usnet", n, 10, seed)
        plan = get_planner("exact").plan(inst)
        assert plan.stats["status"] == "optimal"
        _OPTIMA[(n, seed)] = evaluate(inst, plan).total
    return _OPTIMA[(n, seed)]


@pytest.mark.parametrize("name", PLANNERS)
def test_planner_usnet60(benchmark: BenchmarkFixture, name: str) -> None:
    n = 12 if benchmark.disabled else 60
    inst = make_instance("usnet", n, 10, 1)
    benchmark.group = name
    kw = {"time_limit": GA_TIME} if name == "ga" else {}
    plan = benchmark.pedantic(
        lambda: get_planner(name).plan(inst, seed=1, **kw), rounds=1, iterations=1
    )
    cost = evaluate(inst, plan).total
    gap = 100.0 * (cost / optimum(n, 1) - 1.0)
    assert gap <= GAP_LIMIT.get(name, 100.0)
    benchmark.extra_info.update(
        instance=inst.name, cost=cost, gap_pct=gap, status=plan.stats.get("status")
    )


def _disabled(config: pytest.Config) -> bool:
    return bool(config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The full table when timing; one small instance in correctness-only mode."""
    if metafunc.function.__name__ == "test_quality_table":
        cases = [(12, 1)] if _disabled(metafunc.config) else CASES
        metafunc.parametrize("n, seed", cases)


@pytest.mark.parametrize("name", PLANNERS)
def test_quality_table(benchmark: BenchmarkFixture, name: str, n: int, seed: int) -> None:
    inst = make_instance("usnet", n, 10, seed)
    benchmark.group = f"quality-{name}"
    cost, took, stats = benchmark.pedantic(run, args=(name, inst, seed), rounds=1, iterations=1)
    opt = optimum(n, seed)
    co = run("coqbn", inst, seed)[0]
    gap = 100.0 * (cost / opt - 1.0)
    assert gap >= -1e-7
    assert gap <= GAP_LIMIT.get(name, 100.0)
    if name != "coqbn":
        assert cost <= co
    benchmark.extra_info.update(instance=inst.name, cost=cost, gap_pct=gap, seconds=took)


def table() -> str:
    """The quality table (instance, planner, cost, gap, seconds) as Markdown."""
    lines = ["| instance | planner | cost | gap to exact | seconds |", "|---|---|---:|---:|---:|"]
    for n, seed in CASES:
        inst = make_instance("usnet", n, 10, seed)
        opt = optimum(n, seed)
        for name in PLANNERS:
            cost, took, _ = run(name, inst, seed)
            lines.append(
                f"| {inst.name} | {name} | {cost:,.0f} | "
                f"{100.0 * (cost / opt - 1.0):.4f}% | {took:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
