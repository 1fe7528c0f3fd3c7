"""The strong linking bound: equal to an enumerated LP, below every proven optimum."""

from __future__ import annotations

import itertools
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

from qkdbench.evaluation import decode_plan, evaluate, pair_costs
from qkdbench.exact import solve_sp
from qkdbench.exact.lagrangian import lagrangian_bound
from qkdbench.exact.linking import BOUND_SOURCE, linking_bound, linking_keep, linking_value
from qkdbench.model import CostTable, Demand, Instance, Link, Params, Provider, Request, Target
from qkdbench.testing import link_kinds_and_providers_instance
from qkdbench.topologies import design_instance


def _tiny(seed: int, *, providers: bool = False, states: bool = False) -> Instance:
    """Four nodes, five links with charges, node charges, binding capacities."""
    rng = np.random.default_rng(seed)
    pairs = [(1, 2), (2, 3), (1, 3), (3, 4), (2, 4)]
    links = []
    for k, (u, v) in enumerate(pairs):
        link = Link(
            u,
            v,
            float(rng.choice([60.0, 150.0, 200.0, 330.0])),
            fixed_cost=float(rng.choice([0.0, 3e3, 2e4, 6e4])),
        )
        if states and k == 1:
            link = replace(link, key_rate_kbps=Demand((0.5, 1.0), (0.4, 0.6)))
        links.append(link)
    reqs = [
        Request("f0", 1, 4, Demand((0.0, 1.0), (0.3, 0.7))),
        Request("f1", 2, 3, Demand((0.0, 1.0), (0.5, 0.5))),
        Request("f2", 4, 1, Demand((1.0, 2.0), (0.5, 0.5))),
    ]
    provs: tuple[Provider, ...] = ()
    if providers:
        reqs[1] = Request("f1", 2, None, reqs[1].demand, (Target(3, "A", 900.0), Target(1, "B")))
        reqs[2] = Request("f2", 4, None, reqs[2].demand, (Target(3, "A"), Target(2, "B", 4e3)))
        provs = (Provider("A", 1), Provider("B"))
    return Instance(
        (1, 2, 3, 4),
        tuple(links),
        tuple(reqs),
        Params(W_qkd=3, W_kml=1),
        CostTable(),
        name=f"tiny{seed}",
        node_fixed_costs={2: float(rng.choice([500.0, 5e4])), 3: 7e3},
        providers=provs,
    )


def _enumerated_lp(inst: Instance) -> float:
    """The strong LP by brute force: every (target, simple path, integer reservation) column."""
    W_y, W_z = int(inst.params.W_qkd), int(inst.params.W_kml)
    n_arcs = 2 * len(inst.links)
    ends = {r.source for r in inst.requests} | {r.target for r in inst.requests if not r.is_anycast}
    charged_links = [k for k in range(len(inst.links)) if inst.link_fixed_cost(k) > 0]
    charged_nodes = [n for n, g in inst.node_fixed_costs.items() if g > 0 and n not in ends]
    cols: list[tuple[int, float, list[int], list[float], list[float], list[int], list, str | None]]
    cols = []
    for f, r in enumerate(inst.requests):
        for t in r.sinks:
            for path in nx.all_simple_paths(inst.graph, r.source, t.node):
                arcs = inst.path_arcs(path)
                for ys in itertools.product(range(W_y + 1), repeat=len(arcs)):
                    for zs in itertools.product(range(W_z + 1), repeat=len(arcs)):
                        y, z = np.asarray(ys, float), np.asarray(zs, float)
                        cy, cz = pair_costs(inst, np.full(len(arcs), f), np.asarray(arcs), y, z)
                        cost = float(cy.sum() + cz.sum()) + t.service_cost
                        cols.append((f, cost, arcs, list(ys), list(zs), path[1:], path, t.provider))
    F, n_cols = inst.n_requests, len(cols)
    n_u, n_v = len(charged_links), len(charged_nodes)
    link_rows = {(f, k): i for i, (f, k) in enumerate(itertools.product(range(F), charged_links))}
    node_rows = {(f, n): i for i, (f, n) in enumerate(itertools.product(range(F), charged_nodes))}
    caps = {p.id: p.capacity for p in inst.providers if p.capacity is not None}
    prov_row = {p: i for i, p in enumerate(caps)}
    n_ub = 2 * n_arcs + len(link_rows) + len(node_rows) + len(prov_row)
    a_ub = lil_matrix((n_ub, n_cols + n_u + n_v))
    a_eq = lil_matrix((F, n_cols + n_u + n_v))
    b_ub = np.zeros(n_ub)
    b_ub[:n_arcs], b_ub[n_arcs : 2 * n_arcs] = W_y, W_z
    off_l, off_n = 2 * n_arcs, 2 * n_arcs + len(link_rows)
    off_p = off_n + len(node_rows)
    for p, i in prov_row.items():
        b_ub[off_p + i] = caps[p]
    for j, (f, _, arcs, yc, zc, entered, _, prov) in enumerate(cols):
        a_eq[f, j] = 1.0
        for a, ya, za in zip(arcs, yc, zc, strict=True):
            a_ub[a, j] += ya
            a_ub[n_arcs + a, j] += za
            if a // 2 in charged_links:
                a_ub[off_l + link_rows[f, a // 2], j] = 1.0
        for n in entered:
            if n in charged_nodes:
                a_ub[off_n + node_rows[f, n], j] = 1.0
        if prov in prov_row:
            a_ub[off_p + prov_row[prov], j] = 1.0
    for (_, k), i in link_rows.items():
        a_ub[off_l + i, n_cols + charged_links.index(k)] = -1.0
    for (_, n), i in node_rows.items():
        a_ub[off_n + i, n_cols + n_u + charged_nodes.index(n)] = -1.0
    c = np.concatenate(
        (
            [col[1] for col in cols],
            [inst.link_fixed_cost(k) for k in charged_links],
            [inst.node_fixed_costs[n] for n in charged_nodes],
        )
    )
    bounds = [(0, None)] * n_cols + [(0, 1)] * (n_u + n_v)
    res = linprog(
        c, A_ub=a_ub.tocsr(), b_ub=b_ub, A_eq=a_eq.tocsr(), b_eq=np.ones(F), bounds=bounds
    )
    assert res.status == 0, res.message
    return float(res.fun) + sum(inst.node_fixed_costs.get(n, 0.0) for n in ends)


CASES = [
    pytest.param(seed, prov, states, id=f"s{seed}{'-prov' * prov}{'-states' * states}")
    for seed, prov, states in [
        (0, False, False),
        (1, False, False),
        (2, True, False),
        (3, False, True),
        (4, True, True),
    ]
]


@pytest.mark.parametrize(("seed", "providers", "states"), CASES)
def test_bound_equals_the_enumerated_strong_lp_and_stays_below_the_optimum(
    seed: int, providers: bool, states: bool
) -> None:
    inst = _tiny(seed, providers=providers, states=states)
    res = linking_bound(inst)
    assert res.stop == "converged" and res.bound_source == BOUND_SOURCE
    assert res.bound == pytest.approx(_enumerated_lp(inst), rel=1e-7)
    opt = solve_sp(inst, gap_rel=0.0)
    assert opt.status == "optimal"
    assert res.bound <= opt.objective * (1 + 1e-9)


def _charged(inst: Instance, factor: float) -> Instance:
    """``inst`` with every link charged ``factor`` times its length and two node charges."""
    links = tuple(replace(ln, fixed_cost=factor * ln.length_km) for ln in inst.links)
    nodes = {inst.nodes[0]: 3e4, inst.nodes[len(inst.nodes) // 2]: 8e4}
    return replace(inst, links=links, node_fixed_costs=nodes, name=inst.name + "-charged")


FAMILIES = {
    "design-capacity": lambda s: design_instance(
        "nsfnet", 6, max_rate=3, seed=s, fixed_charge_factor=10.0, tightness=0.6, hotspots=2
    ),
    "design-no-capacity": lambda s: design_instance(
        "nsfnet", 6, max_rate=3, seed=s, fixed_charge_factor=10.0
    ),
    "providers-states-nodes": lambda s: _charged(
        link_kinds_and_providers_instance("nsfnet", 5, 3, seed=s), 200.0
    ),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("seed", [1, 2])
def test_bound_never_exceeds_a_proven_optimum(family: str, seed: int) -> None:
    inst = FAMILIES[family](seed)
    res = linking_bound(inst, primal_time=30.0)
    opt = solve_sp(inst, gap_rel=0.0, time_limit=120)
    assert opt.status == "optimal"
    assert res.bound <= opt.objective * (1 + 1e-9)
    # the restricted master's plan is feasible, scored by the evaluator, above the optimum
    assert res.plan is not None
    ev = evaluate(inst, decode_plan(inst, res.plan, "x", {}))
    assert ev.feasible and ev.total == pytest.approx(res.cost, rel=1e-12)
    assert res.cost >= opt.objective * (1 - 1e-9)


def test_stronger_than_the_capacity_lagrangian_on_fixed_charges() -> None:
    inst = FAMILIES["design-capacity"](3)
    strong = linking_bound(inst).bound
    weak = lagrangian_bound(inst, iterations=300).bound
    assert strong >= weak - 1e-9 * abs(weak)
    assert strong > 1.2 * weak  # the charges are most of the cost: the weak bound misses them


def test_value_checks_its_prices() -> None:
    inst = _tiny(0)
    with pytest.raises(ValueError, match="mu must have shape"):
        linking_value(inst, mu=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        linking_value(inst, lam_qkd=-np.ones(2 * len(inst.links)))
    # any non-negative prices give a bound below the optimum
    rng = np.random.default_rng(0)
    opt = solve_sp(inst, gap_rel=0.0).objective
    for _ in range(5):
        mu = rng.uniform(0, 3e4, (inst.n_requests, len(inst.links)))
        nu = rng.uniform(0, 3e4, (inst.n_requests, len(inst.nodes)))
        lam = rng.uniform(0, 2e3, 2 * len(inst.links))
        assert linking_value(inst, lam, lam, mu=mu, nu=nu) <= opt * (1 + 1e-9)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reduced_cost_pruning_keeps_every_pair_of_an_optimal_plan(family: str) -> None:
    inst = FAMILIES[family](3)
    opt = solve_sp(inst, gap_rel=0.0, lagrangian=False, prune=False)
    assert opt.status == "optimal"
    res = linking_bound(inst)
    assert res.prices is not None
    F, A = inst.n_requests, 2 * len(inst.links)
    req, arc = np.repeat(np.arange(F), A), np.tile(np.arange(A), F)
    keep = linking_keep(inst, req, arc, res.prices, opt.objective)
    kept = set(zip(req[keep].tolist(), arc[keep].tolist(), strict=True))
    for f, route in enumerate(opt.plan.routes):
        for a in inst.path_arcs(route.path):
            assert (f, a) in kept
    assert keep.sum() < keep.size  # the test prunes something
    # the exact solver pruned by it finds the same optimum
    pruned = solve_sp(inst, gap_rel=0.0)
    assert pruned.objective == pytest.approx(opt.objective, rel=1e-9)
