"""Fixed charges in both exact forms: brute force on tiny instances; forms and evaluator agree."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from qkdbench.evaluation import PlanArrays, evaluate, evaluate_batch
from qkdbench.exact import build_model, relaxation_bound, solve_sp
from qkdbench.exact.sp_milp import solve_model
from qkdbench.model import CostTable, Demand, Instance, Link, Params, Request


def _tiny(seed: int) -> Instance:
    """Four nodes, five links, two requests, capacity 3 QKD / 1 KM per arc (binding)."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice([60.0, 150.0, 200.0, 330.0], size=5)
    pairs = [(1, 2), (2, 3), (1, 3), (3, 4), (2, 4)]
    links = [
        Link(
            u,
            v,
            float(e),
            fixed_cost=float(rng.choice([0.0, 3e3, 2e4])) if rng.random() < 0.4 else None,
        )
        for (u, v), e in zip(pairs, lengths, strict=True)
    ]
    node_costs = {int(n): float(rng.choice([500.0, 5e3])) for n in rng.choice(4, 2) + 1}
    reqs = (
        Request("f0", 1, 4, Demand((0.0, 1.0), (0.3, 0.7))),
        Request("f1", 2, 3, Demand((0.0, 1.0), (0.5, 0.5))),
    )
    return Instance(
        (1, 2, 3, 4),
        tuple(links),
        reqs,
        Params(W_qkd=3, W_kml=1),
        CostTable(site=float(rng.choice([1e3, 8e3]))),
        name=f"tiny{seed}",
        node_fixed_costs=node_costs if seed % 2 else {},
    )


def _brute_force(inst: Instance) -> float:
    """Enumerate every simple path per request and every reservation 0..3 (QKD), 0..1 (KM)."""
    per_request = []
    for r in inst.requests:
        options = []
        for path in nx.all_simple_paths(inst.graph, r.source, r.target):
            arcs = inst.path_arcs(path)
            for ys in itertools.product(range(4), repeat=len(arcs)):
                for zs in itertools.product(range(2), repeat=len(arcs)):
                    options.append((arcs, ys, zs))
        per_request.append(options)
    best = np.inf
    chunk: list[tuple[tuple[list[int], tuple[int, ...], tuple[int, ...]], ...]] = []

    def flush() -> None:
        nonlocal best, chunk
        if not chunk:
            return
        ptr: list[int] = [0]
        arcs: list[int] = []
        yr: list[int] = []
        zr: list[int] = []
        for combo in chunk:
            for a, y, z in combo:
                arcs += a
                yr += y
                zr += z
                ptr.append(len(arcs))
        batch = PlanArrays(
            np.asarray(ptr, np.int64),
            np.asarray(arcs, np.int64),
            np.asarray(yr, float),
            np.asarray(zr, float),
            inst.n_requests,
        )
        sc = evaluate_batch(inst, batch)
        ok = sc.feasible
        if ok.any():
            best = min(best, float(sc.total[ok].min()))
        chunk = []

    for combo in itertools.product(*per_request):
        chunk.append(combo)
        if len(chunk) >= 50_000:
            flush()
    flush()
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_exact_equals_brute_force_and_forms_agree(seed: int) -> None:
    inst = _tiny(seed)
    truth = _brute_force(inst)
    for form in ("compact", "extensive"):
        res = solve_sp(inst, form, gap_rel=0.0)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(truth, rel=1e-9)
        ev = evaluate(inst, res.plan)
        assert ev.feasible
        assert ev.total == pytest.approx(res.objective, rel=1e-9)
        assert res.bound <= res.objective + 1e-6
    assert relaxation_bound(inst) <= truth + 1e-6


def test_fixed_charges_change_the_optimum_and_the_model_sees_them() -> None:
    inst = _tiny(1)
    paper = Instance(
        inst.nodes,
        tuple(Link(ln.u, ln.v, ln.length_km) for ln in inst.links),
        inst.requests,
        inst.params,
        name="paper",
    )
    model = build_model(inst)
    assert model.u.size > 0
    assert model.v.size > 0
    assert build_model(paper).u.size == 0
    res = solve_model(model)
    # no warm start, no pruning: the same optimum as the brute force
    assert res.objective == pytest.approx(_brute_force(inst), rel=1e-9)
    # the exact plan shares links: fewer links used than requests x path length
    used = {a // 2 for r in res.plan.routes for a in inst.path_arcs(r.path)}
    assert evaluate(inst, res.plan).components["site"] == pytest.approx(
        sum(inst.link_fixed_cost(k) for k in used)
    )


def test_warm_start_sets_the_fixed_charge_binaries() -> None:
    from qkdbench.exact.decoding import _warm_values
    from qkdbench.exact.sp_milp import relaxed_plan

    inst = _tiny(3)
    model = build_model(inst)
    warm = relaxed_plan(inst)
    cols, vals = _warm_values(model, warm)
    n = model.x.size
    uv = vals[3 * n : 3 * n + model.u.size]
    used = {a // 2 for r in warm.routes for a in inst.path_arcs(r.path)}
    assert uv.tolist() == [1.0 if k in used else 0.0 for k in model.u_link]
    vv = vals[3 * n + model.u.size :]
    touched = {inst.node_index[x] for r in warm.routes for x in r.path}
    assert vv.tolist() == [1.0 if int(k) in touched else 0.0 for k in model.v_node]
    # warm-started solve reaches the same optimum
    assert solve_model(model, warm_start=warm).objective == pytest.approx(
        _brute_force(inst), rel=1e-9
    )
