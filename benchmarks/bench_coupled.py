"""The greedy on a coupled second stage at a user's size: runtime, memory, and what it saves.

``pytest benchmarks/bench_coupled.py --benchmark-enable`` times ``saa-greedy`` on
germany50 with 200 requests and 50 joint scenarios (correlation 0.8, on-demand caps at
half the load of the plan that ignores them:
:func:`~qkdbench.testing.correlated.correlated_instance`) and records in
``extra_info`` the plan's cost, the peak memory the run allocates (``tracemalloc``),
and the cost of the plan made from the marginals alone (the greedy on the instance
with its scenarios and caps dropped, scored on the coupled instance), of the greedy
that keeps the others' reservations (``rebalance=False``) and of CO-QBN. With
``--benchmark-disable`` (the project default) the same runs on NSFNET with 12
requests and 8 scenarios. The plan made knowing the caps but not the correlation
(the demands made independent, same marginals) is in the printed table.

``python benchmarks/bench_coupled.py`` prints the table of the cases below as
Markdown, each planner's time and the process's peak resident memory.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from qkdbench.evaluation import evaluate
from qkdbench.heuristics import get_planner
from qkdbench.heuristics.saa_greedy import SAAGreedy
from qkdbench.model import Instance, Plan
from qkdbench.planning.coupled import marginal_instance
from qkdbench.testing.correlated import correlated_instance, decorrelated

#: (topology, requests, scenarios, rho, cap share) of the printed table.
CASES = [
    ("usnet", 40, 30, 0.0, 0.5),
    ("usnet", 40, 30, 0.8, 0.5),
    ("sndlib/germany50", 200, 50, 0.0, 0.5),
    ("sndlib/germany50", 200, 50, 0.8, 0.5),
]


def _timed(make: Any) -> tuple[Plan, float]:
    start = time.perf_counter()
    plan = make()
    return plan, time.perf_counter() - start


def compare(inst: Instance) -> dict[str, Any]:
    """Cost and seconds of the coupled greedy, its variants and the marginal-only plan.

    ``caps, independent``: the greedy on the instance with its demands made independent
    (:func:`~qkdbench.testing.correlated.decorrelated`: same marginals and caps), scored
    on the instance itself.
    """
    out: dict[str, Any] = {}
    runs = {
        "coupled": lambda: SAAGreedy().plan(inst),
        "keep-others": lambda: SAAGreedy(rebalance=False).plan(inst),
        "marginal-only": lambda: SAAGreedy().plan(marginal_instance(inst)),
        "caps, independent": lambda: SAAGreedy().plan(decorrelated(inst)),
        "coqbn": lambda: get_planner("coqbn").plan(inst),
    }
    for name, make in runs.items():
        plan, took = _timed(make)
        ev = evaluate(inst, plan)
        assert ev.feasible
        out[name] = {
            "cost": ev.total,
            "shortfall": ev.phases.get("shortfall", 0.0),
            "seconds": took,
        }
    return out


def test_coupled_greedy(benchmark: BenchmarkFixture) -> None:
    if benchmark.disabled:
        inst = correlated_instance("nsfnet", 12, 8, 0.8, 0.5, seed=1)
    else:
        inst = correlated_instance("sndlib/germany50", 200, 50, 0.8, 0.5, seed=1)
    benchmark.group = "coupled-greedy"
    SAAGreedy().plan(inst)  # compiled and warm
    tracemalloc.start()
    plan = SAAGreedy().plan(inst)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    timed = benchmark.pedantic(lambda: SAAGreedy().plan(inst), rounds=3, iterations=1)
    assert timed.routes == plan.routes
    res = compare(inst)
    cost = res["coupled"]["cost"]
    assert cost <= res["coqbn"]["cost"]
    assert cost < res["marginal-only"]["cost"]
    benchmark.extra_info.update(
        instance=inst.name,
        cost=cost,
        peak_traced_mib=peak / 2**20,
        marginal_only_cost=res["marginal-only"]["cost"],
        keep_others_cost=res["keep-others"]["cost"],
        coqbn_cost=res["coqbn"]["cost"],
    )


def main() -> None:
    """Print the comparison of :data:`CASES` as Markdown."""
    correlated_instance("nsfnet", 6, 4, seed=1)  # compile everything once
    SAAGreedy().plan(correlated_instance("nsfnet", 6, 4, seed=1))
    print("| instance | planner | expected cost | shortfall (exp.) | vs marginal-only | s |")
    print("|:--|:--|--:|--:|--:|--:|")
    for topo, n, s, rho, share in CASES:
        inst = correlated_instance(topo, n, s, rho, share, seed=1)
        res = compare(inst)
        ref = res["marginal-only"]["cost"]
        for name, r in res.items():
            gain = 100.0 * (r["cost"] / ref - 1.0)
            print(
                f"| {inst.name} | {name} | {r['cost']:,.0f} | {r['shortfall']:,.0f} | "
                f"{gain:+.1f}% | {r['seconds']:.2f} |"
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
