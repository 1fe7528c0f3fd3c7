"""The exact methods on coupled instances: the MILP over the joint scenarios and L-shaped.

Independent truths: the optimum by enumerating every plan (every simple path per
request, every reservation vector up to the largest need on each arc) scored by the
evaluator; the LP value of the cells solved by HiGHS; ``networkx``'s simple paths.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

from qkdbench.evaluation import PlanArrays, decode_plan, encode_plan, evaluate, evaluate_batch
from qkdbench.evaluation.pricing import arc_table, provider_table
from qkdbench.exact import solve_sp
from qkdbench.exact import solver as solver_mod
from qkdbench.exact.coupled import (
    coupled_bound,
    coupled_pairs,
    coupled_relaxed_plan,
    fit_reservations,
    scenario_links,
    simple_path_arcs,
)
from qkdbench.exact.coupled_formulation import build_coupled_model, cell_rows
from qkdbench.exact.formulation import _names
from qkdbench.exact.lshaped import build_master, solve_lshaped
from qkdbench.exact.milp import MilpBuilder
from qkdbench.exact.recourse import scenario_cells
from qkdbench.exact.solver import SolverOptions, run_highs
from qkdbench.exceptions import InputError
from qkdbench.heuristics import get_planner
from qkdbench.model import (
    CostTable,
    Demand,
    Instance,
    Link,
    Plan,
    Provider,
    Request,
    Route,
    Target,
)
from qkdbench.testing.instances import coupled_instance, feature_instance
from qkdbench.topologies import make_instance
from qkdbench.utils.gaps import relative_gap
from qkdbench.utils.random import check_random_state
from qkdbench.utils.registry import planner_supports

REL = 1e-6


# --------------------------------------------------------------------------- instances


def tiny(seed: int) -> Instance:
    """2-3 requests, 2-4 joint scenarios, half of them with a random link state."""
    return coupled_instance(
        seed, n_requests=2 + seed % 2, n_scenarios=2 + seed % 3, link_states=seed % 2 == 1
    )


def with_site_costs(inst: Instance) -> Instance:
    """The instance with fixed charges on every link (a site cost)."""
    return replace(inst, costs=CostTable(site=400.0), name=inst.name + "-fc")


def with_providers(inst: Instance) -> Instance:
    """Requests ``f0`` and ``f1`` served by one of two providers; ``A`` serves one request."""
    r0, r1 = inst.requests[0], inst.requests[1]
    others = [n for n in inst.nodes if n != r0.source]
    targets = (Target(others[0], "A", 500.0), Target(others[-1], "B", 2000.0))
    reqs = (
        Request(r0.id, r0.source, None, r0.demand, targets),
        Request(
            r1.id,
            r1.source,
            None,
            r1.demand,
            (Target(r1.target, "A", 0.0), Target(r1.target, "B", 900.0)),
        ),
        *inst.requests[2:],
    )
    provs = (Provider("A", 1), Provider("B"))
    return replace(inst, requests=reqs, providers=provs, name=inst.name + "-prov")


# --------------------------------------------------------------------------- brute force


def _max_links(inst: Instance, f: int, a: int) -> int:
    """Largest QKD-link count of request ``f`` on arc ``a`` over the scenarios (plain Python)."""
    sc = inst.scenarios
    assert sc is not None
    k = a // 2
    link = inst.links[k]
    rates = (
        sc.link_key_rates[k]
        if k in sc.link_key_rates
        else [float(link.key_rate_kbps or inst.params.key_rate_kbps)] * sc.n  # type: ignore[arg-type]
    )
    rid = inst.requests[f].id
    return max(
        max(0, math.ceil(kap / rate - 1e-9))
        for kap, rate in zip(sc.key_rates[rid], rates, strict=True)
    )


def _options(inst: Instance, f: int) -> list[tuple[list[int], int]]:
    """Every (simple path, target position) of request ``f``."""
    req = inst.requests[f]
    out = []
    for t, sink in enumerate(req.sinks):
        for path in nx.all_simple_paths(inst.graph, req.source, sink.node):
            out.append((inst.path_arcs(path), t))
    return out


def brute_optimum(inst: Instance) -> tuple[float, Plan]:
    """The optimum over every plan, scored by the evaluator.

    For fixed routes the cost is the routes' first stage plus a sum over (arc,
    kind) of a term that depends only on the reservations of that arc and kind,
    so each (arc, kind) is enumerated on its own: every vector of reservations up
    to each request's largest need and within the capacity, scored as the plan with
    that vector there and nothing reserved elsewhere, minus the plan with nothing
    reserved. The returned plan is scored again whole (the sum must agree).
    """
    arcs = arc_table(inst)
    pt = provider_table(inst)
    F = inst.n_requests
    best, best_plan = math.inf, None
    for combo in itertools.product(*(_options(inst, f) for f in range(F))):
        served = [pt.provider[pt.ptr[f] + t] for f, (_, t) in enumerate(combo)]
        if any(cap >= 0 and served.count(j) > cap for j, cap in enumerate(pt.capacity.tolist())):
            continue
        ptr = np.concatenate(([0], np.cumsum([len(p) for p, _ in combo]))).astype(np.int64)
        flat = np.concatenate([np.asarray(p, np.int64) for p, _ in combo])
        owner = np.repeat(np.arange(F), np.diff(ptr))
        target = np.asarray([t for _, t in combo], np.int64) if pt.active else None
        blocks, vecs = [], []
        for a in np.unique(flat):
            pos = np.flatnonzero(flat == a)
            for kind, width, cap in ((0, 3, arcs.W_qkd[a]), (1, 1, arcs.W_kml[a])):
                tops = [min(width * _max_links(inst, int(owner[p]), int(a)), int(cap)) for p in pos]
                v = np.array(
                    [v for v in itertools.product(*(range(t + 1) for t in tops)) if sum(v) <= cap],
                    float,
                )
                blocks.append((kind, pos))
                vecs.append(v)
        B = 1 + sum(len(v) for v in vecs)
        yr, zr = np.zeros((B, flat.size)), np.zeros((B, flat.size))
        row = 1
        for (kind, pos), v in zip(blocks, vecs, strict=True):
            (yr if kind == 0 else zr)[row : row + len(v), pos] = v
            row += len(v)
        batch = PlanArrays(
            np.concatenate(([0], np.cumsum(np.tile(np.diff(ptr), B)))).astype(np.int64),
            np.tile(flat, B),
            yr.ravel(),
            zr.ravel(),
            F,
            None if target is None else np.tile(target, B),
        )
        scores = evaluate_batch(inst, batch)
        assert scores.feasible.all()
        base = float(scores.total[0])
        total, y_best, z_best, row = base, np.zeros(flat.size), np.zeros(flat.size), 1
        for (kind, pos), v in zip(blocks, vecs, strict=True):
            j = int(np.argmin(scores.total[row : row + len(v)]))
            total += float(scores.total[row + j]) - base
            (y_best if kind == 0 else z_best)[pos] = v[j]
            row += len(v)
        if total < best:
            best = total
            best_plan = decode_plan(inst, PlanArrays(ptr, flat, y_best, z_best, F, target))
    assert best_plan is not None
    assert evaluate(inst, best_plan).total == pytest.approx(best, rel=1e-12)
    return best, best_plan


_BRUTE: dict[str, float] = {}


def brute(inst: Instance) -> float:
    if inst.name not in _BRUTE:
        _BRUTE[inst.name] = brute_optimum(inst)[0]
    return _BRUTE[inst.name]


CASES = [tiny(s) for s in range(6)] + [with_site_costs(tiny(6)), with_providers(tiny(7))]
IDS = [inst.name for inst in CASES]


def _check(inst: Instance, plan: Plan, optimum: float) -> None:
    st = plan.stats
    assert st["status"] == "optimal"
    ev = evaluate(inst, plan)
    assert ev.feasible
    assert st["objective"] == pytest.approx(ev.total, rel=REL)
    assert st["objective"] == pytest.approx(optimum, rel=REL)
    assert st["bound"] <= st["objective"] * (1 + 1e-9)


# --------------------------------------------------------------------------- exact


def test_cases_are_coupled_and_caps_bind() -> None:
    assert all(inst.is_coupled for inst in CASES)
    shortfall = [evaluate(inst, coupled_relaxed_plan(inst)).phases["shortfall"] for inst in CASES]
    assert any(s > 0 for s in shortfall)  # some start plan is short somewhere


@pytest.mark.parametrize("inst", CASES, ids=IDS)
@pytest.mark.parametrize("name", ["exact", "exact-extensive"])
def test_exact_reaches_the_brute_force_optimum(inst: Instance, name: str) -> None:
    _check(inst, get_planner(name).plan(inst), brute(inst))


@pytest.mark.parametrize("inst", CASES[:4], ids=IDS[:4])
@pytest.mark.parametrize("form", ["compact", "extensive"])
def test_exact_without_pruning_or_warm_start(inst: Instance, form: str) -> None:
    res = solve_sp(inst, form, prune=False, warm_start=None)
    _check(inst, res.plan, brute(inst))
    assert res.extra["pairs"] <= res.extra["pairs_all"]


@pytest.mark.parametrize("inst", CASES, ids=IDS)
def test_bounds_and_warm_start_are_valid(inst: Instance) -> None:
    opt = brute(inst)
    assert coupled_bound(inst) <= opt * (1 + 1e-12)
    start = coupled_relaxed_plan(inst)
    ev = evaluate(inst, start)
    assert ev.feasible
    assert ev.total >= opt * (1 - 1e-12)
    # fitting the reservations never costs more than reserving nothing on the same routes
    arrays = encode_plan(inst, start)
    zero = PlanArrays(
        arrays.ptr,
        arrays.arcs,
        np.zeros(arrays.arcs.size),
        np.zeros(arrays.arcs.size),
        arrays.n_requests,
        arrays.target,
    )
    fitted = evaluate(inst, decode_plan(inst, fit_reservations(inst, zero)))
    assert fitted.feasible
    assert fitted.total <= evaluate(inst, decode_plan(inst, zero)).total + 1e-9


def test_exact_labels_a_stopped_solve_feasible(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = CASES[0]
    monkeypatch.setattr(solver_mod, "model_status", lambda h: "kTimeLimit")
    res = solve_sp(inst)
    assert res.status == "feasible"
    assert res.bound <= res.objective
    assert res.gap == pytest.approx(relative_gap(res.objective, res.bound))
    assert res.objective == pytest.approx(evaluate(inst, res.plan).total, rel=REL)


def test_extensive_form_has_one_use_variable_per_needed_scenario() -> None:
    inst = CASES[2]
    model = build_coupled_model(inst, "extensive")
    links = scenario_links(inst, model.req, model.arc)  # (S, n)
    arcs = arc_table(inst)
    use_y = arcs.c_y[1, model.arc] <= arcs.c_y[2, model.arc]
    use_z = arcs.c_z[1, model.arc] <= arcs.c_z[2, model.arc]
    expected = int(((links > 0) & use_y).sum() + ((links > 0) & use_z).sum())
    n_cells = scenario_cells(inst, model.req, model.arc).n
    n_short = int(scenario_cells(inst, model.req, model.arc).cap.__lt__(np.inf).sum())
    first = 3 * model.x.size + model.u.size + model.v.size + model.w.size
    assert model.milp.num_col == first + expected + n_cells + n_short
    compact = build_coupled_model(inst, "compact")
    assert compact.milp.num_col <= model.milp.num_col


# --------------------------------------------------------------------------- pairs


def test_simple_path_arcs_keep_every_arc_of_every_simple_path() -> None:
    kept = extra = 0
    for seed in range(30):
        rng = check_random_state(seed)
        n = int(rng.integers(4, 9))
        g = nx.gnp_random_graph(n, 0.45, seed=seed)
        if not nx.is_connected(g):
            continue
        links = tuple(Link(int(u), int(v), 10.0) for u, v in g.edges)
        ends = [tuple(int(v) for v in rng.choice(n, 2, replace=False)) for _ in range(3)]
        reqs = tuple(Request(f"f{i}", s, t, Demand.point(1.0)) for i, (s, t) in enumerate(ends))
        inst = Instance(tuple(range(n)), links, reqs)
        ok = simple_path_arcs(inst)
        for f, r in enumerate(reqs):
            on_path = np.zeros(ok.shape[1], dtype=bool)
            for p in nx.all_simple_paths(inst.graph, r.source, r.target):
                on_path[inst.path_arcs(p)] = True
            assert not (on_path & ~ok[f]).any()
            kept += int(on_path.sum())
            extra += int((ok[f] & ~on_path).sum())
    assert extra < 0.1 * kept  # a necessary test, nearly exact on these graphs


def test_scenario_links_by_hand() -> None:
    inst = feature_instance("coupled")  # link rates 1 kbps; a: (0, 2, 2), b: (0, 1, 2)
    assert scenario_links(inst, np.array([0, 1]), np.array([3, 3])).tolist() == [
        [0.0, 0.0],
        [2.0, 1.0],
        [2.0, 2.0],
    ]


# --------------------------------------------------------------------------- the cells and cuts


def _random_point(inst: Instance, seed: int) -> tuple[np.ndarray, ...]:
    """A random fractional first stage over the pairs of ``inst``."""
    rng = check_random_state(seed)
    pairs = coupled_pairs(inst)
    n = pairs.n
    x = rng.random(n)
    return pairs.req, pairs.arc, x, rng.random(n) * 9 * x, rng.random(n) * 3 * x


@pytest.mark.parametrize("seed", range(6))
def test_closed_form_recourse_is_the_lp_value(seed: int) -> None:
    """The cells' closed form equals HiGHS's optimum of their LP at a fractional point."""
    inst = tiny(seed)
    req, arc, x, y, z = _random_point(inst, seed)
    cells = scenario_cells(inst, req, arc)
    b = MilpBuilder()
    cols = tuple(b.add_cols(x.size, lower=v, upper=v) for v in (x, y, z))
    names: list[np.ndarray] = [_names("c", np.arange(x.size))] * 3
    pairs = coupled_pairs(inst)
    cell_rows(b, cells, pairs, (cols[0], cols[1], cols[2]), names)
    run = run_highs(b.build(), SolverOptions())
    assert run.outcome.status == "optimal"
    value = cells.evaluate(x, y, z).value.sum()
    assert value == pytest.approx(run.outcome.objective, rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_cuts_are_tight_at_their_point_and_below_elsewhere(seed: int) -> None:
    inst = tiny(seed)
    req, arc, *_ = _random_point(inst, seed)
    cells = scenario_cells(inst, req, arc)
    points = [_random_point(inst, 10 * seed + k)[2:] for k in range(6)]
    for p in points:
        cut = cells.evaluate(*p)
        assert cut.at(*p) == pytest.approx(cut.value, rel=1e-9, abs=1e-6)
        for q in points:
            assert np.all(cut.at(*q) <= cells.evaluate(*q).value + 1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_recourse_of_a_plan_is_the_evaluators_second_stage(seed: int) -> None:
    inst = tiny(seed)
    plan = coupled_relaxed_plan(inst)
    master = build_master(inst, decompose="all")
    from qkdbench.exact.lshaped import _plan_point

    value = master.cells.evaluate(*_plan_point(master.model, plan)).value.sum()
    assert value == pytest.approx(evaluate(inst, plan).second_stage, rel=1e-12)


# --------------------------------------------------------------------------- l-shaped


@pytest.mark.parametrize("inst", CASES, ids=IDS)
@pytest.mark.parametrize(
    ("decompose", "cuts"), [("capped", "scenario"), ("all", "scenario"), ("capped", "cell")]
)
def test_lshaped_reaches_the_brute_force_optimum(inst: Instance, decompose: str, cuts: str) -> None:
    res = solve_lshaped(inst, decompose=decompose, cuts=cuts, warm_start=None)
    _check(inst, res.plan, brute(inst))
    assert res.plan.stats["bound_source"] == "l-shaped"
    assert res.extra["cuts"] > 0


def test_lshaped_planner_is_registered_for_every_feature() -> None:
    planner = get_planner("l-shaped")
    assert "coupled" in planner_supports(planner)
    assert "coupled" in planner_supports(get_planner("exact"))
    plan = planner.plan(CASES[1])
    _check(CASES[1], plan, brute(CASES[1]))
    for key in ("iterations", "cuts", "lp_rounds", "blocks", "stop"):
        assert key in plan.stats


def test_iteration_limited_lshaped_is_feasible_with_its_bound() -> None:
    inst = CASES[3]
    res = solve_lshaped(inst, warm_start=None, lp_rounds=0, max_iterations=1, stabilise=0.0)
    assert res.status == "feasible"
    assert res.extra["stop"] == "iterations"
    assert res.bound <= res.objective
    assert res.bound <= brute(inst) * (1 + 1e-9)
    assert res.objective == pytest.approx(evaluate(inst, res.plan).total, rel=REL)
    assert res.gap == pytest.approx(relative_gap(res.objective, res.bound))
    assert res.gap > 0


UNCOUPLED = [feature_instance(f) for f in ("fixed_charges", "link_states", "providers")] + [
    make_instance("nsfnet", 4, 3, seed=s) for s in range(2)
]


@pytest.mark.parametrize("inst", UNCOUPLED, ids=[i.name for i in UNCOUPLED])
@pytest.mark.parametrize(
    ("decompose", "cuts"), [("capped", "scenario"), ("all", "scenario"), ("all", "cell")]
)
def test_lshaped_equals_exact_on_uncoupled_instances(
    inst: Instance, decompose: str, cuts: str
) -> None:
    exact = get_planner("exact").plan(inst)
    res = solve_lshaped(inst, decompose=decompose, cuts=cuts, warm_start=None)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(exact.stats["objective"], rel=REL)
    assert res.objective == pytest.approx(evaluate(inst, res.plan).total, rel=REL)


# --------------------------------------------------------------------------- refusals


def test_unknown_options_are_one_line_errors() -> None:
    inst = feature_instance("coupled")
    with pytest.raises(InputError, match="decompose"):
        solve_lshaped(inst, decompose="some")
    with pytest.raises(InputError, match="cuts"):
        solve_lshaped(inst, cuts="some")
    with pytest.raises(InputError, match="form"):
        build_coupled_model(inst, "dense")
    bad = Plan(inst.name, "x", (Route("a", (1, 4), (0,), (0,)),))
    with pytest.raises(InputError, match="warm-start"):
        solve_lshaped(inst, warm_start=bad)
