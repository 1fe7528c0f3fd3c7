"""The Lagrangian bound and the ``lagrangian`` planner, against independent truth.

* The bound never exceeds a proven optimum (MILP solved to a zero gap) on small
  instance families, loose and capacity-binding.
* ``L(0)`` is the capacity-free bound, and with loose capacity it is the optimum.
* ``L(lam)`` from the vectorised code equals a plain-Python evaluation that
  enumerates every simple path (networkx) and scans every integer reservation.
* The planner passes the conformance checks, its cost is the evaluator's, its
  gap is certified and ``optimal`` is claimed only when proven.
* ``qkdbench bound`` run as users run it, in a subprocess.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from numpy.typing import NDArray

from qkdbench.evaluation import arc_table, evaluate, evaluate_batch, pair_costs
from qkdbench.exact import relaxation_bound, solve_sp
from qkdbench.exact.lagrangian import lagrangian_bound, lagrangian_value, priced_curves
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.model import Demand, Instance, Link, Params, Request
from qkdbench.testing import check_planner
from qkdbench.topologies import make_instance
from tests.fixture_types import OneLineError, RunCli

TIGHT_NSF = Params(W_qkd=20, W_kml=6)
TIGHT_US = Params(W_qkd=15, W_kml=4)

#: (topology, requests, K, seed, params); the last five bind (capacity-free bound < optimum).
Family = tuple[str, int, int, int, Params | None]
FAMILIES: list[Family] = [
    ("nsfnet", 5, 4, 1, TIGHT_NSF),
    ("nsfnet", 6, 3, 1, None),
    ("usnet", 6, 4, 2, None),
    ("nsfnet", 7, 4, 3, TIGHT_NSF),
    ("nsfnet", 8, 4, 2, TIGHT_NSF),
    ("nsfnet", 8, 4, 3, TIGHT_NSF),
    ("usnet", 8, 6, 1, TIGHT_US),
    ("cost239", 8, 6, 1, TIGHT_US),
]
BINDING = FAMILIES[3:]


def _inst(case: Family) -> Instance:
    topo, n, k, seed, params = case
    return make_instance(topo, n, k, seed, params=params)


_OPT: dict[str, float] = {}


def _optimum(inst: Instance) -> float:
    """The MILP optimum, solved to a zero relative gap (cached per instance)."""
    key = f"{inst.name}-{inst.params.W_qkd}-{inst.params.W_kml}"
    if key not in _OPT:
        res = solve_sp(inst, gap_rel=0.0)
        assert res.status == "optimal"
        _OPT[key] = res.objective
    return _OPT[key]


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize("case", FAMILIES, ids=lambda c: f"{c[0]}-{c[1]}-s{c[3]}")
def test_bound_never_exceeds_the_proven_optimum(case: Family) -> None:
    inst = _inst(case)
    opt = _optimum(inst)
    res = lagrangian_bound(inst, iterations=150)
    assert res.bound_source == "lagrangian"
    assert res.bound <= opt * (1 + 1e-9)
    # warm start from lam = 0 and the best bound kept: never below the capacity-free bound
    assert res.bound >= relaxation_bound(inst) * (1 - 1e-12)
    # the primal side: a feasible plan no cheaper than the optimum
    assert res.cost >= opt * (1 - 1e-9)
    assert res.gap == pytest.approx((res.cost - res.bound) / res.cost)


def test_binding_families_really_bind() -> None:
    """The capacity-binding families are not vacuous: the capacity-free bound is below the
    optimum on each, and the dual ascent closes most of that gap."""
    for case in BINDING:
        inst = _inst(case)
        opt = _optimum(inst)
        rb = relaxation_bound(inst)
        assert rb < opt * (1 - 1e-4), inst.name
        res = lagrangian_bound(inst, iterations=150)
        assert opt - res.bound < 0.5 * (opt - rb), inst.name


@pytest.mark.parametrize("case", FAMILIES, ids=lambda c: f"{c[0]}-{c[1]}-s{c[3]}")
def test_lam_zero_is_the_capacity_free_bound(case: Family) -> None:
    inst = _inst(case)
    # no single pair's newsvendor reservation exceeds its arc's capacity in these families,
    # so the per-pair cap y <= W of the subproblem is inactive at lam = 0
    assert lagrangian_value(inst).value == pytest.approx(relaxation_bound(inst), rel=1e-12)


@pytest.mark.parametrize("case", FAMILIES[:3], ids=lambda c: f"{c[0]}-{c[1]}-s{c[3]}")
def test_loose_capacity_bound_is_the_optimum_and_the_plan_is_optimal(case: Family) -> None:
    inst = _inst(case)
    opt = _optimum(inst)
    assert lagrangian_value(inst).value == pytest.approx(opt, rel=1e-9)
    plan = get_planner("lagrangian", iterations=20).plan(inst)
    assert plan.stats["status"] == "optimal"
    assert plan.stats["gap"] == pytest.approx(0.0, abs=1e-9)
    assert evaluate(inst, plan).total == pytest.approx(opt, rel=1e-9)


def test_per_pair_cap_makes_lam_zero_stronger_never_invalid() -> None:
    """W_kml = 3 is below some pairs' newsvendor KM reservation (K = 8): L(0) keeps y <= W."""
    inst = make_instance("nsfnet", 8, 8, 2, params=Params(W_qkd=12, W_kml=3))
    l0 = lagrangian_value(inst).value
    rb = relaxation_bound(inst)
    opt = _optimum(inst)
    assert rb < l0 <= opt * (1 + 1e-9)
    assert lagrangian_bound(inst, iterations=150).bound <= opt * (1 + 1e-9)


def test_dual_ascent_improves_on_lam_zero_where_capacity_binds() -> None:
    inst = _inst(("nsfnet", 8, 4, 3, TIGHT_NSF))
    l0 = lagrangian_value(inst).value
    res = lagrangian_bound(inst, iterations=100)
    assert res.bound > l0 * (1 + 1e-3)
    assert np.any(res.lam_qkd > 0) or np.any(res.lam_kml > 0)
    # the best bound is the best L seen, and the history says so
    assert res.bound == max(h[1] for h in res.history)


# --------------------------------------------------------------------------- L(lam) brute force


def _brute_force_value(
    inst: Instance, lam_qkd: NDArray[np.float64], lam_kml: NDArray[np.float64]
) -> float:
    """L(lam) by enumeration: every simple path, every integer reservation 0..W."""
    arcs = arc_table(inst)
    total = 0.0
    for f, req in enumerate(inst.requests):
        weight = {}
        for a in range(arcs.n):
            ys = np.arange(int(arcs.W_qkd[a]) + 1, dtype=float)
            zs = np.arange(int(arcs.W_kml[a]) + 1, dtype=float)
            cy, _ = pair_costs(
                inst, np.full(ys.size, f), np.full(ys.size, a), ys, np.zeros(ys.size)
            )
            _, cz = pair_costs(
                inst, np.full(zs.size, f), np.full(zs.size, a), np.zeros(zs.size), zs
            )
            weight[a] = min(float(c + lam_qkd[a] * y) for c, y in zip(cy, ys, strict=True)) + min(
                float(c + lam_kml[a] * z) for c, z in zip(cz, zs, strict=True)
            )
        best = math.inf
        for path in nx.all_simple_paths(inst.graph, req.source, req.target):
            best = min(best, sum(weight[a] for a in inst.path_arcs(path)))
        total += best
    return total - sum(
        float(lam_qkd[a]) * int(arcs.W_qkd[a]) + float(lam_kml[a]) * int(arcs.W_kml[a])
        for a in range(arcs.n)
    )


def _mixed_instance() -> Instance:
    """Five nodes, per-link capacities and key rates, hop cost, three demand distributions."""
    links = (
        Link(1, 2, 120.0),
        Link(2, 3, 90.0, W_qkd=7),
        Link(1, 3, 300.0),
        Link(3, 4, 170.0, key_rate_kbps=0.5),
        Link(2, 4, 260.0, W_kml=2),
        Link(4, 5, 80.0),
        Link(1, 5, 410.0),
    )
    reqs = (
        Request("a", 1, 4, Demand.uniform(3)),
        Request("b", 5, 2, Demand((0.5, 2.0, 3.5), (0.3, 0.5, 0.2))),
        Request("c", 1, 3, Demand.uniform(3)),
        Request("d", 3, 5, Demand.point(2.0)),
    )
    return Instance(
        (1, 2, 3, 4, 5), links, reqs, params=Params(W_qkd=9, W_kml=3, hop_cost=25.0), name="mixed"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_matches_brute_force(seed: int, triangle: Instance) -> None:
    rng = np.random.default_rng(seed)
    for inst in (triangle, _mixed_instance()):
        A = arc_table(inst).n
        scale = arc_table(inst).c_y[0].mean()
        lam_qkd = rng.uniform(0, 2 * scale, A) * (rng.random(A) < 0.7)
        lam_kml = rng.uniform(0, 2 * arc_table(inst).c_z[0].mean(), A) * (rng.random(A) < 0.7)
        point = lagrangian_value(inst, lam_qkd, lam_kml)
        assert point.value == pytest.approx(_brute_force_value(inst, lam_qkd, lam_kml), rel=1e-12)
        # the priced solution attains the value: its evaluator cost plus the price terms
        routing = point.routing
        cost = float(evaluate_batch(inst, routing).total[0])
        priced = (
            cost
            + lam_qkd @ (point.usage_qkd - arc_table(inst).W_qkd)
            + lam_kml @ (point.usage_kml - arc_table(inst).W_kml)
        )
        assert priced == pytest.approx(point.value, rel=1e-12)
        assert np.all(routing.yr <= arc_table(inst).W_qkd[routing.arcs])
        assert np.all(routing.zr <= arc_table(inst).W_kml[routing.arcs])


def test_curves_are_shared_by_requests_with_equal_demands() -> None:
    inst = _mixed_instance()
    cur = priced_curves(inst)
    assert cur.n_groups == 3
    assert list(cur.group) == [0, 1, 0, 2]


def test_bad_prices_are_refused(triangle: Instance) -> None:
    with pytest.raises(InputError, match="one price per arc"):
        lagrangian_value(triangle, np.zeros(3))
    with pytest.raises(InputError, match="non-negative"):
        lagrangian_value(triangle, -np.ones(arc_table(triangle).n))


# --------------------------------------------------------------------------- planner


def test_planner_passes_the_conformance_checks() -> None:
    check_planner("lagrangian", params={"iterations": 200})


def test_plan_cost_is_the_evaluators_and_the_gap_is_certified() -> None:
    inst = _inst(("cost239", 8, 6, 1, TIGHT_US))
    plan = get_planner("lagrangian", iterations=60).plan(inst, seed=3)
    ev = evaluate(inst, plan)
    assert ev.feasible
    st = plan.stats
    assert st["objective"] == pytest.approx(ev.total, rel=1e-12)
    assert st["bound_source"] == "lagrangian"
    assert st["bound"] <= _optimum(inst) * (1 + 1e-9) <= ev.total * (1 + 1e-9)
    assert st["gap"] == pytest.approx((ev.total - st["bound"]) / ev.total, rel=1e-12)
    assert st["gap"] > 1e-9
    assert st["status"] == "feasible"  # not proven: not "optimal"
    assert st["iterations"] == 60 or st["stop"] in ("step", "stationary")


def test_improvement_passes_never_make_the_plan_dearer() -> None:
    inst = _inst(("cost239", 8, 6, 1, TIGHT_US))
    plain = get_planner("lagrangian", iterations=15, improve=False).plan(inst)
    better = get_planner("lagrangian", iterations=15).plan(inst)
    assert plain.stats["stop_passes"] == "off"
    assert plain.stats["passes"] == 0
    assert better.stats["passes"] >= 1
    assert evaluate(inst, better).total <= evaluate(inst, plain).total * (1 + 1e-12)
    assert better.stats["bound"] == plain.stats["bound"]  # same dual run


def test_same_iterations_same_result() -> None:
    inst = _inst(("nsfnet", 8, 4, 3, TIGHT_NSF))
    a = get_planner("lagrangian", iterations=40).plan(inst, seed=1)
    b = get_planner("lagrangian", iterations=40).plan(inst, seed=2)
    assert a.routes == b.routes
    assert a.stats["bound"] == b.stats["bound"]


def test_time_limit_is_checked_every_iteration() -> None:
    inst = _inst(("cost239", 8, 6, 1, TIGHT_US))
    res = lagrangian_bound(inst, iterations=10_000, time_limit=1e-6)
    assert res.stop == "time_limit"
    assert res.iterations == 1  # one iteration always runs
    assert res.plan is not None
    assert math.isfinite(res.cost)


# --------------------------------------------------------------------------- CLI


def test_cli_bound_json(tmp_path: Path, run_cli: RunCli) -> None:
    done = run_cli(
        "bound",
        "nsfnet",
        "--requests",
        "8",
        "--max-rate",
        "4",
        "--seed",
        "3",
        "--iterations",
        "50",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["bound_source"] == "lagrangian"
    assert data["iterations"] <= 50
    assert data["bound"] <= data["cost"] * (1 + 1e-12)
    assert data["gap"] == pytest.approx((data["cost"] - data["bound"]) / data["cost"])
    inst = make_instance("nsfnet", 8, 4, 3)
    assert data["instance"] == inst.name
    assert data["bound"] <= _optimum(inst) * (1 + 1e-9)


def test_cli_bound_bad_file_is_one_line_exit_2(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "qkdbench-instance/1", "nodes": [{"id": 1}], "links": []')
    done = run_cli("bound", bad)
    one_line_error(done, str(bad), "malformed JSON")
    assert done.stdout == ""


def test_cli_bound_text_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from qkdbench.cli import main

    assert main(["bound", "nsfnet", "--requests", "5", "--max-rate", "3", "--iterations", "5"]) == 0
    out = capsys.readouterr().out
    assert "bound" in out
    assert "lagrangian" in out
    assert "certified gap" in out
    with pytest.raises(SystemExit) as exc:
        main(["bound", "nsfnet", "--iterations", "0"])
    assert exc.value.code == 2
    assert "--iterations" in capsys.readouterr().err
