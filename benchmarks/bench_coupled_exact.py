"""Benchmark of the exact methods on a coupled instance: the MILP against L-shaped.

USNET, 20 requests, 20 joint scenarios with a common factor (each key rate is the
scenario's common level plus -1, 0 or +1, clipped to ``{0, ..., 4}`` kbps), and
on-demand caps that bind (6 QKD and 2 KM wavelengths per arc and scenario,
shortfall factor 10). Run ``pytest benchmarks/bench_coupled_exact.py
--benchmark-enable`` for timings (each solve once; ``extra_info`` holds the
status, objective, bound and the L-shaped iterations and cuts). With
``--benchmark-disable`` (the project default) the same checks run on 6 requests
and 5 scenarios so that the suite stays fast.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from qkdbench.evaluation import evaluate
from qkdbench.exact import solve_sp
from qkdbench.exact.lshaped import solve_lshaped
from qkdbench.exact.sp_milp import SPResult
from qkdbench.model import Instance, Request, Scenarios
from qkdbench.topologies import make_instance

#: Seconds each solve may take with the benchmark enabled.
TIME_LIMIT = 900.0


def coupled_usnet(
    n_requests: int = 20,
    n_scenarios: int = 20,
    *,
    max_rate: int = 4,
    O_qkd: int = 6,
    O_kml: int = 2,
    phi: float = 10.0,
    seed: int = 1,
) -> Instance:
    """USNET with joint scenarios whose key rates rise together, and binding caps."""
    base = make_instance("usnet", n_requests, max_rate, seed)
    rng = np.random.default_rng(seed)
    common = rng.integers(0, max_rate + 1, n_scenarios)
    rates = {
        r.id: tuple(
            float(v) for v in np.clip(common + rng.integers(-1, 2, n_scenarios), 0, max_rate)
        )
        for r in base.requests
    }
    sc = Scenarios(tuple([1.0 / n_scenarios] * n_scenarios), rates)
    reqs = tuple(Request(r.id, r.source, r.target, sc.marginal(r.id)) for r in base.requests)
    params = replace(base.params, O_qkd=O_qkd, O_kml=O_kml, shortfall_factor=phi)
    return Instance(
        base.nodes,
        base.links,
        reqs,
        params,
        name=f"usnet-coupled-r{n_requests}-s{n_scenarios}",
        scenarios=sc,
    )


def _exact(inst: Instance, form: str) -> SPResult:
    return solve_sp(inst, form, time_limit=TIME_LIMIT)


def _lshaped(inst: Instance, cuts: str) -> SPResult:
    return solve_lshaped(inst, cuts=cuts, time_limit=TIME_LIMIT)


METHODS: dict[str, tuple[Any, str]] = {
    "exact": (_exact, "compact"),
    "exact-extensive": (_exact, "extensive"),
    "l-shaped": (_lshaped, "scenario"),
    "l-shaped-cell": (_lshaped, "cell"),
}

_OPTIMA: dict[str, float] = {}


@pytest.mark.parametrize("method", list(METHODS))
def test_coupled_exact_usnet(benchmark: BenchmarkFixture, method: str) -> None:
    n, s = (6, 5) if benchmark.disabled else (20, 20)
    inst = coupled_usnet(n, s)
    run, arg = METHODS[method]
    res = benchmark.pedantic(run, args=(inst, arg), rounds=1, iterations=1)
    assert res.objective == pytest.approx(evaluate(inst, res.plan).total, rel=1e-6)
    assert res.bound <= res.objective * (1 + 1e-9)
    if res.status == "optimal":
        seen = _OPTIMA.setdefault(inst.name, res.objective)
        assert res.objective == pytest.approx(seen, rel=1e-6)
    else:
        assert res.status == "feasible"
    benchmark.extra_info.update(
        requests=n,
        scenarios=s,
        status=res.status,
        objective=res.objective,
        bound=res.bound,
        gap=res.gap,
        runtime_s=res.runtime_s,
        **{k: res.extra[k] for k in ("iterations", "lp_rounds", "cuts", "pairs") if k in res.extra},
    )
