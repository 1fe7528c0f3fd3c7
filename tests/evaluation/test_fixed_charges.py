"""Fixed charges (shared infrastructure): files, the evaluator, its twin and its batch kernel."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qkdbench.evaluation import evaluate, evaluate_batch, fixed_charges
from qkdbench.evaluation.reference import reference_evaluate
from qkdbench.exceptions import InputError
from qkdbench.io import instance_from_dict, instance_to_dict, read_instance, write_instance
from qkdbench.model import CostTable, Demand, Instance, Link, Params, Plan, Request, Route
from qkdbench.topologies import waxman_topology
from tests.fixture_types import OneLineError, RunCli

V2 = {
    "format": "qkdbench-instance/2",
    "name": "fc",
    "costs": {"r": {"site": 10}},
    "nodes": [{"id": 1, "fixed_cost": 7}, {"id": 2, "name": "two"}, {"id": 3}],
    "links": [
        {"u": 1, "v": 2, "length_km": 100},
        {"u": 2, "v": 3, "length_km": 400},
        {"u": 1, "v": 3, "length_km": 50, "fixed_cost": 1000},
    ],
    "requests": [
        {
            "id": "f0",
            "source": 1,
            "target": 3,
            "demand": {"values": [0, 1, 2], "probs": [0.2, 0.5, 0.3]},
        }
    ],
}


def _copy(data: dict[str, Any] = V2, **top: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    out.update(top)
    return out


# ------------------------------------------------------------------ files


def test_v2_file_reads_and_round_trips(tmp_path: Path) -> None:
    inst = instance_from_dict(V2)
    assert inst.costs.site == 10.0
    assert inst.node_fixed_costs == {1: 7.0}
    # m = 1 -> 1 site, m = 3 (400 km / 160) -> 5 sites, given 1000
    assert [inst.link_fixed_cost(k) for k in range(3)] == [10.0, 50.0, 1000.0]
    path = tmp_path / "i.json"
    write_instance(inst, path)
    data = json.loads(path.read_text())
    assert data["format"] == "qkdbench-instance/2"
    assert data["costs"]["r"]["site"] == 10.0
    assert "site" not in data["costs"]["e"]
    back = read_instance(path)
    assert back == inst
    assert back.node_fixed_costs == inst.node_fixed_costs


def test_writer_keeps_format_1_without_extension_keys() -> None:
    plain = _copy(format="qkdbench-instance/1", costs={})
    for n in plain["nodes"]:
        n.pop("fixed_cost", None)
    for ln in plain["links"]:
        ln.pop("fixed_cost", None)
    inst = instance_from_dict(plain)
    assert not inst.uses_extensions
    assert not inst.has_fixed_charges
    assert instance_to_dict(inst)["format"] == "qkdbench-instance/1"
    # a /2 file with no extension key is read, and written back as /1
    assert (
        instance_to_dict(instance_from_dict(_copy(plain, format="qkdbench-instance/2")))["format"]
        == "qkdbench-instance/1"
    )


def _set(
    path: str, value: object, data: dict[str, Any] = V2, delete: bool = False
) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    node = out
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    if delete:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return out


BAD = [
    (
        "v1 with site",
        _set("format", "qkdbench-instance/1"),
        "costs.r.site: extension key 'site' needs format 'qkdbench-instance/2'",
    ),
    (
        "v1 with node fixed_cost",
        _set("costs", {}, _set("format", "qkdbench-instance/1")),
        "nodes[0].fixed_cost: extension key 'fixed_cost' needs format",
    ),
    (
        "v1 with link fixed_cost",
        _set(
            "nodes",
            [{"id": 1}, {"id": 2}, {"id": 3}],
            _set("costs", {}, _set("format", "qkdbench-instance/1")),
        ),
        "links[2].fixed_cost: extension key 'fixed_cost' needs format",
    ),
    (
        "site in phase e",
        _set("costs.e", {"site": 3}),
        "costs.e.site: 'site' is a one-off reservation cost: it belongs to phase 'r' only",
    ),
    ("site in phase o", _set("costs.o", {"site": 0}), "costs.o.site: 'site' is a one-off"),
    (
        "negative link fixed cost",
        _set("links.2.fixed_cost", -1),
        "links[2].fixed_cost: must be non-negative",
    ),
    (
        "string link fixed cost",
        _set("links.2.fixed_cost", "5"),
        "links[2].fixed_cost: expected a number",
    ),
    (
        "negative node fixed cost",
        _set("nodes.0.fixed_cost", -0.5),
        "nodes[0].fixed_cost: must be non-negative",
    ),
    ("negative site", _set("costs.r.site", -2), "costs.r.site: must be non-negative"),
    ("unknown top-level key", _set("tenants", []), "tenants: unknown key 'tenants'"),
    ("unknown params key", _set("params", {"span": 3}), "params: unknown parameter 'span'"),
    (
        "unknown cost component",
        _set("costs.e", {"sites": 3}),
        "costs.e: unknown cost component 'sites'",
    ),
    ("unknown node key", _set("nodes.1.kind", "x"), "nodes[1].kind: unknown key 'kind'"),
    (
        "unknown link key",
        _set("links.0.weather", "clear"),
        "links[0].weather: unknown key 'weather'",
    ),
    (
        "unknown request key",
        _set("requests.0.deadline", 3),
        "requests[0].deadline: unknown key 'deadline'",
    ),
    (
        "unknown demand key",
        _set("requests.0.demand.mean", 1),
        "requests[0].demand.mean: unknown key 'mean'",
    ),
]


@pytest.mark.parametrize(("label", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_fixed_charge_input_is_one_line_naming_the_place(
    tmp_path: Path, label: str, data: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        read_instance(path)
    text = str(err.value)
    assert "\n" not in text, text
    assert text.startswith(str(path)), text
    assert message in text, text


@pytest.mark.parametrize(
    ("label", "data", "message"),
    [BAD[0], BAD[3], BAD[5], BAD[9], BAD[15]],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_cli_rejects_bad_fixed_charge_files_with_status_2(
    tmp_path: Path,
    label: str,
    data: dict[str, Any],
    message: str,
    run_cli: RunCli,
    one_line_error: OneLineError,
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    plan = tmp_path / "p.json"
    one_line_error(run_cli("plan", path, "--planner", "coqbn", "-o", plan), message)
    assert not plan.exists()


def test_non_finite_fixed_cost_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(V2).replace('"fixed_cost": 1000', '"fixed_cost": Infinity'))
    with pytest.raises(InputError, match=r"links\[2\]\.fixed_cost: must be finite"):
        read_instance(path)


# ------------------------------------------------------------------ evaluator


def test_three_node_hand_computed() -> None:
    """Triangle 1-2-3, site 10; link 1-3 given 1000; node 1 costs 7, node 2 costs 3."""
    inst = Instance(
        (1, 2, 3),
        (Link(1, 2, 100.0), Link(2, 3, 400.0), Link(1, 3, 50.0, fixed_cost=1000.0)),
        (
            Request("f0", 1, 3, Demand.point(0.0)),
            Request("f1", 2, 1, Demand.point(0.0)),
            Request("f2", 3, 2, Demand.point(0.0)),
        ),
        costs=CostTable(site=10.0),
        node_fixed_costs={1: 7.0, 2: 3.0},
    )
    none = (0,)
    # f0 1->2->3 and f1 2->1 share link 1-2 (both arcs); f2 3->2 uses the reverse arc of 2-3
    plan = Plan(
        "x",
        "hand",
        (
            Route("f0", (1, 2, 3), (0, 0), (0, 0)),
            Route("f1", (2, 1), none, none),
            Route("f2", (3, 2), none, none),
        ),
    )
    ev = evaluate(inst, plan)
    # links: 1-2 (m = 1, 1 site) 10 + 2-3 (m = 3, 5 sites) 50; nodes 1, 2, 3: 7 + 3 + 0
    assert ev.components["site"] == 60.0
    assert ev.components["node"] == 10.0
    assert ev.total == ev.first_stage == 70.0
    assert ev.second_stage == 0.0
    # f0 on the direct link instead: link 1-3 is paid, 2-3 is not
    plan2 = Plan(
        "x",
        "hand",
        (
            Route("f0", (1, 3), none, none),
            Route("f1", (2, 1), none, none),
            Route("f2", (3, 2), none, none),
        ),
    )
    ev2 = evaluate(inst, plan2)
    assert ev2.components["site"] == 10.0 + 50.0 + 1000.0
    assert ev2.total == 1070.0
    assert evaluate_batch(inst, [plan, plan2]).total.tolist() == [70.0, 1070.0]
    assert reference_evaluate(inst, plan)["total"] == 70.0


def test_paper_instance_reports_no_fixed_components() -> None:
    inst = Instance((1, 2), (Link(1, 2, 100.0),), (Request("f0", 1, 2, Demand.point(1.0)),))
    ev = evaluate(inst, Plan("x", "h", (Route("f0", (1, 2), (3,), (1,)),)))
    assert "site" not in ev.components
    assert not fixed_charges(inst).active


@st.composite
def fixed_charge_cases(draw: st.DrawFn, n_plans: int = 4) -> tuple[Instance, list[Plan]]:
    n = draw(st.integers(3, 7))
    topo = waxman_topology(n, seed=draw(st.integers(0, 10_000)), side_km=600.0)
    links = []
    for link in topo.links:
        over: dict[str, Any] = {}  # Link keyword arguments
        if draw(st.booleans()):
            over["fixed_cost"] = draw(st.sampled_from([0.0, 333.3, 5e4]))
        if draw(st.booleans()):
            over["span_km"] = draw(st.sampled_from([40.0, 75.5, 160.0]))
        links.append(Link(link.u, link.v, link.length_km, **over))
    site = draw(st.sampled_from([0.0, 1.5, 2000.0]))
    node_costs = {
        nd: draw(st.sampled_from([0.0, 10.0, 777.7]))
        for nd in draw(st.lists(st.sampled_from(topo.nodes), unique=True, max_size=n))
    }
    reqs = []
    for i in range(draw(st.integers(1, 4))):
        s, t = draw(st.lists(st.sampled_from(topo.nodes), min_size=2, max_size=2, unique=True))
        reqs.append(Request(f"f{i}", s, t, Demand.uniform(draw(st.integers(0, 4)))))
    inst = Instance(
        topo.nodes,
        tuple(links),
        tuple(reqs),
        Params(W_qkd=12, W_kml=4),
        CostTable(site=site),
        name="fc",
        node_fixed_costs=node_costs,
    )
    plans = []
    for _ in range(n_plans):
        routes = []
        for r in inst.requests:
            path = draw(st.sampled_from(list(nx.all_simple_paths(inst.graph, r.source, r.target))))
            m = len(path) - 1
            ys = draw(st.lists(st.integers(0, 9), min_size=m, max_size=m))
            zs = draw(st.lists(st.integers(0, 3), min_size=m, max_size=m))
            routes.append(Route(r.id, tuple(path), tuple(ys), tuple(zs)))
        plans.append(Plan(inst.name, "random", tuple(routes)))
    return inst, plans


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixed_charge_cases())
def test_twin_single_and_batch_agree_with_fixed_charges(case: tuple[Instance, list[Plan]]) -> None:
    inst, plans = case
    batch = evaluate_batch(inst, plans)
    for b, plan in enumerate(plans):
        ev = evaluate(inst, plan)
        ref = reference_evaluate(inst, plan)
        for key in ("total", "first_stage", "second_stage"):
            assert getattr(ev, key) == pytest.approx(ref[key], rel=1e-9, abs=1e-6), key
        for comp in ("site", "node"):
            assert ev.components.get(comp, 0.0) == pytest.approx(ref["components"][comp], rel=1e-12)
        assert batch.total[b] == pytest.approx(ev.total, rel=1e-12)
        assert batch.first_stage[b] == pytest.approx(ev.first_stage, rel=1e-12)
        fixed = ev.components.get("site", 0.0) + ev.components.get("node", 0.0)
        assert math.isclose(
            ev.total - fixed, math.fsum(ev.request_costs), rel_tol=1e-9, abs_tol=1e-6
        )
    assert np.all(batch.feasible == [evaluate(inst, p).feasible for p in plans])
