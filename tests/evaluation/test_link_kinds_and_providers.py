"""Link kinds, random key rates and providers: files and the evaluator.

The evaluator is checked against hand-computed costs, its plain-Python twin
(which enumerates demand x link state directly) and its batch kernel; bad input
against the command line, as users run it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qkdbench.evaluation import evaluate, evaluate_batch
from qkdbench.evaluation.pricing import support_table
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.exceptions import InputError
from qkdbench.io import (
    instance_from_dict,
    instance_to_dict,
    plan_from_dict,
    plan_to_dict,
    read_instance,
    write_instance,
    write_plan,
)
from qkdbench.model import (
    Demand,
    Instance,
    Link,
    Params,
    Plan,
    Provider,
    Request,
    Route,
    Target,
    UnitCosts,
)
from qkdbench.topologies import waxman_topology
from qkdbench.utils.registry import check_supports
from tests.fixture_types import RunCli

SAT = UnitCosts((10.0, 10.0, 40.0), (5.0, 5.0, 20.0))

#: Three nodes: 1-2 a satellite link with two weather states, 1-3 a 100 km fiber.
#: One request from 1 with demand 0 or 1 kbps, served by provider A at node 2 or B at 3.
#: An instance file, shared with the edge cases of the same features.
TRIANGLE = json.loads((Path(__file__).parent / "satellite_provider_triangle.json").read_text())


def _triangle() -> Instance:
    return instance_from_dict(json.loads(json.dumps(TRIANGLE)))


# ------------------------------------------------------------------ hand-computed


def test_hand_computed_satellite_and_provider_choice() -> None:
    inst = _triangle()
    assert inst.features == {"link_prices", "link_states", "providers"}
    # Via the satellite to provider A, 3 QKD and 1 KM wavelength reserved.
    # P = ceil(kappa / K): kappa 0 -> 0 (1/2); kappa 1, K 2 -> 1 (3/8); K 0.5 -> 2 (1/8).
    # QKD need 0, 3, 6: used 0, 3, 3 -> E 1.5; on demand 0, 0, 3 -> E 0.375.
    # KM need 0, 1, 2: used 0, 1, 1 -> E 0.5; on demand 0, 0, 1 -> E 0.125.
    # reservation 10*3 + 5*1 = 35; use 10*1.5 + 5*0.5 = 17.5; on demand 40*0.375 + 20*0.125
    # = 17.5; service 100.
    sat = Plan("triangle", "hand", (Route("f0", (1, 2), (3,), (1,), provider="A"),))
    ev = evaluate(inst, sat)
    assert ev.feasible
    assert ev.total == pytest.approx(170.0, rel=1e-12)
    assert ev.first_stage == pytest.approx(135.0, rel=1e-12)
    assert ev.second_stage == pytest.approx(35.0, rel=1e-12)
    assert ev.components["service"] == 100.0
    assert ev.components["unit"] == pytest.approx(70.0, rel=1e-12)
    assert ev.phase_components["on_demand"]["unit"] == pytest.approx(17.5, rel=1e-12)
    assert all(ev.components[c] == 0.0 for c in ("tx", "rx", "km", "si", "md", "ch"))
    assert ev.served == {"A": 1, "B": 0}
    assert ev.wavelengths["on_demand_qkd"] == pytest.approx(0.375)
    # Via the 100 km fiber (m = 1, K = 1) to provider B: P = kappa.
    # c_y = (2*1500 + 2250)/3 + 100 = 1850 (r and e); c_z = 2*1200 + 300 + 100 = 2800.
    # reservation 3*1850 + 2800 = 8350; use 1.5*1850 + 0.5*2800 = 4175; service 50.
    fib = Plan("triangle", "hand", (Route("f0", (1, 3), (3,), (1,), provider="B"),))
    ev = evaluate(inst, fib)
    assert ev.total == pytest.approx(8350 + 4175 + 50, rel=1e-12)
    assert ev.components["service"] == 50.0
    assert "unit" in ev.components
    for plan in (sat, fib):
        ref = reference_evaluate(inst, plan)
        assert ref["total"] == pytest.approx(evaluate(inst, plan).total, rel=1e-12)
    batch = evaluate_batch(inst, [sat, fib])
    assert batch.total.tolist() == pytest.approx([170.0, 12575.0], rel=1e-12)
    assert batch.feasible.tolist() == [True, True]


def test_link_state_distribution_is_the_product_with_the_demand() -> None:
    s = support_table(_triangle())
    c = int(s.arc_class[0])
    links, probs = s.link_counts(c, 0)
    assert links.tolist() == [0, 1, 2]
    assert probs.tolist() == pytest.approx([0.5, 0.375, 0.125])
    assert s.mean_links[c, 0] == pytest.approx(0.375 + 0.25)
    assert s.arc_class[0] == s.arc_class[1] != s.arc_class[2]  # both arcs share the state


def test_provider_over_capacity_is_infeasible_and_named() -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["requests"].append({**data["requests"][0], "id": "f1"})
    inst = instance_from_dict(data)
    both_a = Plan(
        "triangle", "hand", tuple(Route(f, (1, 2), (3,), (1,), provider="A") for f in ("f0", "f1"))
    )
    ev = evaluate(inst, both_a)
    assert not ev.feasible
    assert ev.violations == ("provider 'A': serves 2 requests, capacity 1",)
    assert ev.served == {"A": 2, "B": 0}
    split = Plan(
        "triangle",
        "hand",
        (
            Route("f0", (1, 2), (3,), (1,), provider="A"),
            Route("f1", (1, 3), (3,), (1,), provider="B"),
        ),
    )
    batch = evaluate_batch(inst, [both_a, split])
    assert batch.feasible.tolist() == [False, True]
    assert batch.excess.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route("f0", (1, 2), (0,), (0,)), "must name the provider"),
        (Route("f0", (1, 2), (0,), (0,), provider="B"), "not a target of provider 'B'"),
        (Route("f0", (1, 3), (0,), (0,), provider="Z"), "not a target of provider 'Z'"),
    ],
)
def test_a_route_must_end_at_the_target_of_its_provider(route: Route, message: str) -> None:
    ev = evaluate(_triangle(), Plan("triangle", "hand", (route,)))
    assert not ev.feasible
    assert math.isinf(ev.total)
    assert message in ev.violations[0]


def test_files_round_trip_with_every_extension_key(tmp_path: Path) -> None:
    inst = _triangle()
    path = tmp_path / "t.json"
    write_instance(inst, path)
    data = json.loads(path.read_text())
    assert data["format"] == "qkdbench-instance/2"
    assert data["links"][0]["kind"] == "satellite"
    assert data["links"][0]["key_rate_kbps"] == {"values": [2.0, 0.5], "probs": [0.75, 0.25]}
    assert "target" not in data["requests"][0]
    assert len(data["requests"][0]["targets"]) == 2
    assert data["providers"] == [{"id": "A", "capacity": 1}, {"id": "B"}]
    back = read_instance(path)
    assert back == inst
    plan = Plan("triangle", "hand", (Route("f0", (1, 2), (3,), (1,), provider="A"),))
    again = plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))
    assert again.routes == plan.routes


def test_planner_without_provider_support_is_refused() -> None:
    class Plain:
        name = "plain"

    with pytest.raises(InputError, match="does not handle requests with provider targets"):
        check_supports(Plain(), _triangle())
    check_supports(
        type(
            "Declared",
            (),
            {"name": "d", "supports": frozenset({"link_prices", "link_states", "providers"})},
        )(),
        _triangle(),
    )


# ------------------------------------------------------------------ twin, single, batch


@st.composite
def kinds_and_providers_cases(draw: st.DrawFn, n_plans: int = 3) -> tuple[Instance, list[Plan]]:
    n = draw(st.integers(3, 6))
    topo = waxman_topology(n, seed=draw(st.integers(0, 10_000)), side_km=600.0)
    links = []
    for link in topo.links:
        over: dict[str, Any] = {}  # Link keyword arguments
        kind = draw(st.sampled_from(["fiber", "fiber", "satellite", "free-space"]))
        if kind != "fiber" or draw(st.booleans()):
            q0, q1, q2 = (draw(st.sampled_from([0.0, 7.5, 300.0])) for _ in range(3))
            k0, k1, k2 = (draw(st.sampled_from([0.0, 2.0, 90.0])) for _ in range(3))
            over["unit_costs"] = UnitCosts((q0, q1, q2), (k0, k1, k2))
        if kind != "fiber":
            over["kind"] = kind
        if draw(st.booleans()):
            k = draw(st.integers(1, 3))
            vals = draw(
                st.lists(
                    st.sampled_from([0.05, 0.3, 0.5, 1.0, 2.5]), min_size=k, max_size=k, unique=True
                )
            )
            w = np.asarray(draw(st.lists(st.integers(1, 5), min_size=k, max_size=k)), float)
            over["key_rate_kbps"] = Demand(tuple(vals), tuple(w / w.sum()))
        if draw(st.booleans()):
            over["fixed_cost"] = draw(st.sampled_from([0.0, 55.5]))
        links.append(Link(link.u, link.v, link.length_km, **over))
    providers = ["A", "B", "C"][: draw(st.integers(1, 3))]
    reqs = []
    for i in range(draw(st.integers(1, 4))):
        src = draw(st.sampled_from(topo.nodes))
        demand = Demand.uniform(draw(st.integers(0, 3)))
        others = [nd for nd in topo.nodes if nd != src]
        if draw(st.booleans()):
            reqs.append(Request(f"f{i}", src, draw(st.sampled_from(others)), demand))
            continue
        picks = draw(
            st.lists(
                st.tuples(st.sampled_from(others), st.sampled_from(providers)),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        reqs.append(
            Request(
                f"f{i}",
                src,
                None,
                demand,
                tuple(
                    Target(nd, pv, draw(st.sampled_from([0.0, 12.0, 400.0]))) for nd, pv in picks
                ),
            )
        )
    caps = tuple(Provider(p, draw(st.sampled_from([None, 0, 1, 2, 5]))) for p in providers)
    try:
        inst = Instance(
            topo.nodes,
            tuple(links),
            tuple(reqs),
            Params(W_qkd=9, W_kml=3),
            name="kinds-providers",
            providers=caps,
        )
    except InputError:  # capacities that cannot serve every request
        assume(False)
    plans = []
    for _ in range(n_plans):
        routes = []
        for r in inst.requests:
            sink = draw(st.sampled_from(r.sinks))
            path = draw(st.sampled_from(list(nx.all_simple_paths(inst.graph, r.source, sink.node))))
            m = len(path) - 1
            ys = draw(st.lists(st.integers(0, 9), min_size=m, max_size=m))
            zs = draw(st.lists(st.integers(0, 3), min_size=m, max_size=m))
            routes.append(Route(r.id, tuple(path), tuple(ys), tuple(zs), sink.provider))
        plans.append(Plan(inst.name, "random", tuple(routes)))
    return inst, plans


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds_and_providers_cases())
def test_twin_single_and_batch_agree_on_link_kinds_and_providers(
    case: tuple[Instance, list[Plan]],
) -> None:
    inst, plans = case
    batch = evaluate_batch(inst, plans)
    for b, plan in enumerate(plans):
        ev = evaluate(inst, plan)
        ref = reference_evaluate(inst, plan)
        for key in ("total", "first_stage", "second_stage"):
            assert getattr(ev, key) == pytest.approx(ref[key], rel=1e-9, abs=1e-6), key
        for comp in ("unit", "service", "site"):
            assert ev.components.get(comp, 0.0) == pytest.approx(
                ref["components"][comp], rel=1e-9, abs=1e-9
            ), comp
        for ph in ("reservation", "reserved_use", "on_demand"):
            assert ev.phases[ph] == pytest.approx(ref["phases"][ph], rel=1e-9, abs=1e-6)
        for key, val in ref["wavelengths"].items():
            assert ev.wavelengths[key] == pytest.approx(val, rel=1e-9, abs=1e-9), key
        assert batch.total[b] == pytest.approx(ev.total, rel=1e-12)
        assert batch.first_stage[b] == pytest.approx(ev.first_stage, rel=1e-12)
        assert bool(batch.feasible[b]) == ev.feasible
        fixed = ev.components.get("site", 0.0) + ev.components.get("node", 0.0)
        assert math.isclose(
            ev.total - fixed, math.fsum(ev.request_costs), rel_tol=1e-9, abs_tol=1e-6
        )


# ------------------------------------------------------------------ command line


def _edit(path: str, value: object) -> dict[str, Any]:
    data = json.loads(json.dumps(TRIANGLE))
    *head, last = path.split(".")
    node = data
    for key in head:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()

BAD = [
    (
        "non-fiber link without unit_costs",
        _edit("links.0.unit_costs", _DELETE),
        "links[0]: a satellite link needs unit_costs",
    ),
    (
        "key-rate state not positive",
        _edit("links.0.key_rate_kbps", {"values": [2.0, 0.0], "probs": [0.5, 0.5]}),
        "links[0].key_rate_kbps.values[1]: a key-rate state must be positive, got 0.0",
    ),
    (
        "negative key-rate state",
        _edit("links.0.key_rate_kbps", {"values": [-1.0], "probs": [1.0]}),
        "links[0].key_rate_kbps.values[0]: a key-rate state must be positive",
    ),
    (
        "key-rate probabilities",
        _edit("links.0.key_rate_kbps", {"values": [1, 2], "probs": [1, 1]}),
        "links[0].key_rate_kbps.probs: probabilities sum to 2",
    ),
    ("unknown kind", _edit("links.0.kind", "balloon"), "links[0].kind: unknown link kind"),
    (
        "unit_costs missing a phase",
        _edit("links.0.unit_costs", {"qkd": {"r": 1, "e": 1}, "km": {"r": 1, "e": 1, "o": 1}}),
        "links[0].unit_costs.qkd: missing phase 'o'",
    ),
    (
        "negative unit cost",
        _edit(
            "links.0.unit_costs", {"qkd": {"r": -1, "e": 1, "o": 2}, "km": {"r": 1, "e": 1, "o": 1}}
        ),
        "links[0].unit_costs.qkd.r: must be non-negative",
    ),
    (
        "targets include the source",
        _edit("requests.0.targets.1", {"node": 1, "provider": "B", "service_cost": 0}),
        "requests[0].targets[1].node: target node 1 is the request's source",
    ),
    (
        "duplicate (node, provider)",
        _edit("requests.0.targets.1", {"node": 2, "provider": "A", "service_cost": 3}),
        "requests[0].targets[1]: duplicate target (node 2, provider 'A')",
    ),
    (
        "unknown provider",
        _edit("requests.0.targets.1", {"node": 3, "provider": "Q", "service_cost": 0}),
        "requests[0].targets[1].provider: unknown provider 'Q'",
    ),
    (
        "negative service cost",
        _edit("requests.0.targets.1", {"node": 3, "provider": "B", "service_cost": -5}),
        "requests[0].targets[1].service_cost: must be non-negative",
    ),
    (
        "target and targets",
        _edit("requests.0.target", 3),
        "requests[0]: give either 'target' or 'targets', not both",
    ),
    ("empty targets", _edit("requests.0.targets", []), "requests[0].targets: expected a non-empty"),
    (
        "duplicate provider",
        _edit("providers", [{"id": "A"}, {"id": "A"}, {"id": "B"}]),
        "providers[1].id: duplicate provider 'A'",
    ),
    (
        "capacities too small",
        _edit("providers", [{"id": "A", "capacity": 0}, {"id": "B", "capacity": 0}]),
        "providers: provider capacities can serve at most 0 of the 1 requests",
    ),
    (
        "fractional capacity",
        _edit("providers", [{"id": "A", "capacity": 1.5}, {"id": "B"}]),
        "providers[0].capacity: must be an integer",
    ),
    (
        "unknown target key",
        _edit("requests.0.targets.0", {"node": 2, "provider": "A", "price": 3}),
        "requests[0].targets[0].price: unknown key 'price'",
    ),
    (
        "/1 with extension keys",
        _edit("format", "qkdbench-instance/1"),
        "providers: extension key 'providers' needs format 'qkdbench-instance/2'",
    ),
    (
        "/1 with kind",
        {
            "format": "qkdbench-instance/1",
            "nodes": [{"id": 1}, {"id": 2}],
            "links": [{"u": 1, "v": 2, "length_km": 10, "kind": "fiber"}],
        },
        "links[0].kind: extension key 'kind' needs format 'qkdbench-instance/2'",
    ),
]


BAD += [
    (
        "/1 with a key-rate distribution",
        {
            "format": "qkdbench-instance/1",
            "nodes": [{"id": 1}, {"id": 2}],
            "links": [
                {
                    "u": 1,
                    "v": 2,
                    "length_km": 10,
                    "key_rate_kbps": {"values": [1.0], "probs": [1.0]},
                }
            ],
        },
        "links[0].key_rate_kbps: a key-rate distribution needs format 'qkdbench-instance/2'",
    ),
    (
        "/1 with targets",
        {
            "format": "qkdbench-instance/1",
            "nodes": [{"id": 1}, {"id": 2}],
            "links": [{"u": 1, "v": 2, "length_km": 10}],
            "requests": [
                {
                    "id": "f",
                    "source": 1,
                    "targets": [{"node": 2, "provider": "A"}],
                    "demand": {"values": [1], "probs": [1]},
                }
            ],
        },
        "requests[0].targets: extension key 'targets' needs format",
    ),
    (
        "/1 with providers",
        {
            "format": "qkdbench-instance/1",
            "nodes": [{"id": 1}, {"id": 2}],
            "links": [{"u": 1, "v": 2, "length_km": 10}],
            "providers": [],
        },
        "providers: extension key 'providers' needs format",
    ),
]


@pytest.mark.parametrize(("label", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_link_kind_or_provider_input_in_python_names_the_place(
    label: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError) as err:
        instance_from_dict(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("label", "data", "message"),
    [BAD[i] for i in (0, 1, 7, 8, 9, 17, 18, 19)],
    ids=[BAD[i][0] for i in (0, 1, 7, 8, 9, 17, 18, 19)],
)
def test_bad_link_kind_or_provider_input_on_the_command_line_is_one_line_exit_2(
    tmp_path: Path, label: str, data: dict[str, Any], message: str, run_cli: RunCli
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    out = run_cli("plan", path, "--planner", "coqbn", "-o", tmp_path / "plan.json")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert str(path) in lines[0]
    assert message in lines[0]
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
    assert not (tmp_path / "plan.json").exists()


def test_evaluate_prints_service_unit_and_providers(tmp_path: Path, run_cli: RunCli) -> None:
    inst = _triangle()
    write_instance(inst, tmp_path / "t.json")
    write_plan(
        Plan("triangle", "hand", (Route("f0", (1, 2), (3,), (1,), provider="A"),)),
        tmp_path / "p.json",
    )
    out = run_cli("evaluate", tmp_path / "t.json", tmp_path / "p.json")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "170.00" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert rows["service"] == ["100.00"]
    assert rows["unit"] == ["35.00", "17.50", "17.50", "70.00"]
    assert rows["A"] == ["1", "1"]
    assert rows["B"] == ["0", "unlimited"]
    js = run_cli("evaluate", tmp_path / "t.json", tmp_path / "p.json", "--json")
    data = json.loads(js.stdout)
    assert data["components"]["service"] == 100.0
    assert data["served"] == {"A": 1, "B": 0}


def test_evaluate_reports_the_provider_over_capacity(tmp_path: Path, run_cli: RunCli) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["requests"].append({**data["requests"][0], "id": "f1"})
    (tmp_path / "t.json").write_text(json.dumps(data))
    write_plan(
        Plan(
            "triangle",
            "hand",
            tuple(Route(f, (1, 2), (3,), (1,), provider="A") for f in ("f0", "f1")),
        ),
        tmp_path / "p.json",
    )
    out = run_cli("evaluate", tmp_path / "t.json", tmp_path / "p.json")
    assert out.returncode == 1
    assert "provider 'A': serves 2 requests, capacity 1" in out.stdout


def test_plan_command_refuses_a_planner_without_provider_support(
    tmp_path: Path, run_cli: RunCli
) -> None:
    write_instance(_triangle(), tmp_path / "t.json")
    out = run_cli(
        "plan", tmp_path / "t.json", "--planner", "example-minhop", "-o", tmp_path / "p.json"
    )
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "does not handle requests with provider targets" in lines[0]
    assert not (tmp_path / "p.json").exists()


def test_instance_to_dict_is_format_1_for_the_paper_model() -> None:
    inst = Instance(
        (1, 2), (Link(1, 2, 10.0, key_rate_kbps=0.5),), (Request("f", 1, 2, Demand.point(1.0)),)
    )
    assert instance_to_dict(inst)["format"] == "qkdbench-instance/1"
    assert inst.features == frozenset()


def test_encoded_plans_without_or_with_wrong_targets_are_refused_not_guessed() -> None:
    from qkdbench.evaluation import encode_plan
    from qkdbench.evaluation.encoding import PlanArrays

    inst = _triangle()
    good = encode_plan(
        inst, Plan("triangle", "hand", (Route("f0", (1, 3), (3,), (1,), provider="B"),))
    )
    assert good.target is not None
    assert good.target.tolist() == [1]
    assert evaluate_batch(inst, good).total[0] == pytest.approx(12575.0, rel=1e-12)
    bare = PlanArrays(good.ptr, good.arcs, good.yr, good.zr, good.n_requests)
    with pytest.raises(InputError, match="must carry each request's chosen target"):
        evaluate_batch(inst, bare)
    wrong = PlanArrays(
        good.ptr, good.arcs, good.yr, good.zr, good.n_requests, np.array([0])
    )  # target A is at node 2; the route ends at 3
    with pytest.raises(InputError, match="does not end at the node of its chosen target"):
        evaluate_batch(inst, wrong)
    out_of_range = PlanArrays(good.ptr, good.arcs, good.yr, good.zr, good.n_requests, np.array([2]))
    with pytest.raises(InputError, match="target position 2"):
        evaluate_batch(inst, out_of_range)
