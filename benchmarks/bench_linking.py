"""Benchmark: the linking bound and the ``column-generation`` planner on fixed charges at scale.

The instances are those of ``qkdbench instance --topology sndlib/germany50
--requests N --seed 5 --fixed-charge-factor 10 --tightness 0.5 --hotspots 3
--demand heavy`` for N = 200, 500, 1000. For each, the ``column-generation``
planner (capacity Lagrangian, column generation of the strong linking
relaxation, restricted master as a MIP) reports its plan's cost, the bound,
the certified gap, seconds and the process's peak RSS; the capacity
Lagrangian's own bound is given beside it.

Print the table (one fresh process per size, so each peak RSS is its own)::

    python benchmarks/bench_linking.py            # all sizes
    python benchmarks/bench_linking.py --requests 500

Under pytest with ``--benchmark-disable`` (the project default) the 200-request
instance is checked: the plan is certified within 1%. Smaller instances of the
family are harder for the relaxation (40 requests: 5.1% certified, where the
exact solver's 120 s branch and bound reaches 2.1%): with few requests per
link the fractional openings pay little of the charges.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from typing import Any

from qkdbench.evaluation import evaluate
from qkdbench.heuristics import get_planner
from qkdbench.model import Instance
from qkdbench.topologies import design_instance

KNOBS: dict[str, Any] = {
    "max_rate": 10,
    "demand": "heavy",
    "hotspots": 3,
    "fixed_charge_factor": 10.0,
    "tightness": 0.5,
}
SIZES = (200, 500, 1000)


def instance(n: int) -> Instance:
    """The germany50 design instance with ``n`` requests, seed 5 (as the CLI builds it)."""
    return design_instance("sndlib/germany50", n, seed=5, **KNOBS)


def run(n: int, time_limit: float = 300.0) -> dict[str, Any]:
    """Plan the ``n``-request instance; the row of the table."""
    inst = instance(n)
    start = time.perf_counter()
    plan = get_planner("column-generation").plan(inst, time_limit=time_limit)
    seconds = time.perf_counter() - start
    ev = evaluate(inst, plan)
    s = plan.stats
    return {
        "requests": n,
        "cost": ev.total,
        "feasible": ev.feasible,
        "bound": s["bound"],
        "bound_source": s["bound_source"],
        "capacity_bound": s["bounds"]["lagrangian"],
        "gap_pct": 100.0 * s["gap"],
        "status": s["status"],
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def test_linking_certifies_a_design_instance(benchmark: Any) -> None:
    inst = instance(200)
    plan = benchmark.pedantic(
        lambda: get_planner("column-generation").plan(inst, time_limit=120), rounds=1
    )
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert plan.stats["bound"] <= ev.total * (1 + 1e-12)
    assert plan.stats["gap"] <= 0.01
    assert plan.stats["bound"] > plan.stats["bounds"]["lagrangian"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=None, help="one size (default: all)")
    parser.add_argument("--time-limit", type=float, default=300.0)
    args = parser.parse_args()
    if args.requests is None:
        print("| requests | cost | bound (linking) | capacity bound | gap | status | s | peak MB |")
        print("|---:|---:|---:|---:|---:|---|---:|---:|")
        for n in SIZES:
            cmd = [sys.executable, __file__, "--requests", str(n)]
            cmd += ["--time-limit", str(args.time_limit)]
            print(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout, end="")
        return
    r = run(args.requests, args.time_limit)
    print(
        f"| {r['requests']} | {r['cost']:,.0f} | {r['bound']:,.0f} | {r['capacity_bound']:,.0f} "
        f"| {r['gap_pct']:.2g}% | {r['status']} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |"
    )


if __name__ == "__main__":
    main()
