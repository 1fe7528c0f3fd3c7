"""Benchmark of the exact solver: USNET, 60 requests, K = 10, seed 1, proven optimal.

Run ``pytest benchmarks/bench_exact.py --benchmark-enable`` for timings (each
solve once; ``extra_info`` holds build and solve seconds). With
``--benchmark-disable`` (the project default) the same checks run on 12
requests so that the suite stays fast. The unpruned extensive form on 60
requests takes about a minute (marked ``slow``; deselect it with ``-m "not slow"``).
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from qkdbench.evaluation import evaluate
from qkdbench.exact import solve_sp
from qkdbench.topologies import make_instance

_OBJECTIVES: dict[int, list[float]] = {}

CASES = [
    ("compact", True),
    ("extensive", True),
    ("compact", False),
    pytest.param("extensive", False, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("form", "prune"), CASES)
def test_exact_usnet60(benchmark: BenchmarkFixture, form: str, prune: bool) -> None:
    n = 12 if benchmark.disabled else 60
    inst = make_instance("usnet", n, 10, 1)
    res = benchmark.pedantic(
        solve_sp, args=(inst, form), kwargs={"prune": prune}, rounds=1, iterations=1
    )
    assert res.status == "optimal"
    assert evaluate(inst, res.plan).total == pytest.approx(res.objective, rel=1e-9)
    seen = _OBJECTIVES.setdefault(n, [])
    seen.append(res.objective)
    assert seen == pytest.approx([seen[0]] * len(seen), rel=1e-9)
    benchmark.extra_info.update(
        requests=n,
        form=form,
        prune=prune,
        objective=res.objective,
        bound=res.bound,
        gap=res.gap,
        warm_s=res.extra["warm_s"],
        build_s=res.build_s,
        solve_s=res.solve_s,
        runtime_s=res.runtime_s,
        pairs=res.extra["pairs"],
        pairs_all=res.extra["pairs_all"],
        build_share=(res.extra["warm_s"] + res.build_s) / res.runtime_s,
    )
