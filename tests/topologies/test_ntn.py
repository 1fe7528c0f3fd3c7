"""The TN-NTN generator (qkdbench.topologies.ntn), its CLI options and the library set ``ntn``.

Truth is independent of the generator: ground stations and satellite pairs are checked
against Floyd-Warshall distances and brute force, the provider capacities against a
bipartite matching built here, the requests against the plain request sampler.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from qkdbench.exceptions import InputError
from qkdbench.experiments.provenance import instance_hash
from qkdbench.io import instance_to_dict, read_instance, write_instance
from qkdbench.model import Demand, Instance, Link, Request, UnitCosts
from qkdbench.topologies import load_topology, make_instance, sample_requests
from qkdbench.topologies.ntn import (
    DEFAULT_WEATHER,
    FREE_SPACE_RATES,
    SATELLITE_RATES,
    add_providers,
    ground_station_sites,
    ntn_instance,
    ntn_topology,
)
from tests.fixture_types import OneLineError, RunCli

FEATURES = {"link_prices", "link_states", "providers"}


def fiber_distances(topo: Instance) -> dict:
    """All-pairs shortest fiber distances by Floyd-Warshall (not the generator's Dijkstra)."""
    g = nx.Graph()
    g.add_nodes_from(topo.nodes)
    for ln in topo.links:
        g.add_edge(ln.u, ln.v, weight=float(ln.length_km))
    return {u: dict(row) for u, row in nx.floyd_warshall(g).items()}


def stations(inst: Instance, terra: Instance) -> dict:
    """Ground-station node -> the terrestrial node its access link joins."""
    new = set(inst.nodes) - set(terra.nodes)
    out = {}
    for ln in inst.links:
        if ln.kind == "fiber" and (ln.u in new) != (ln.v in new):
            gs, node = (ln.u, ln.v) if ln.u in new else (ln.v, ln.u)
            assert gs not in out, "a ground station has one access link"
            out[gs] = node
    assert set(out) == new
    return out


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_instance_other_seed_differs() -> None:
    a = instance_to_dict(ntn_instance("usnet", 20, max_rate=10, seed=3))
    b = instance_to_dict(ntn_instance("usnet", 20, max_rate=10, seed=3))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = instance_to_dict(ntn_instance("usnet", 20, max_rate=10, seed=4))
    assert json.dumps(a, sort_keys=True) != json.dumps(c, sort_keys=True)
    # the seed moves the provider sites too, not only the requests
    sites = set()
    for seed in range(1, 6):
        inst = ntn_instance("nsfnet", 6, max_rate=3, seed=seed, anycast=1.0)
        sites.add(frozenset((t.node, t.provider) for r in inst.requests for t in r.targets))
    assert len(sites) > 1


def test_named_family_is_the_generator_with_defaults() -> None:
    by_name = make_instance("usnet-ntn", 20, 10, seed=1)
    direct = ntn_instance("usnet", 20, max_rate=10, seed=1)
    assert by_name == direct
    assert by_name.name == "usnet-ntn-r20-k10-s1"
    assert instance_hash(by_name) == instance_hash(direct)
    with pytest.raises(InputError, match="names TN-NTN instances"):
        load_topology("usnet-ntn")


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("topology", ["usnet", "nsfnet", "cost239"])
def test_features_links_and_weather(topology: str) -> None:
    terra = load_topology(topology)
    inst = ntn_instance(topology, 12, max_rate=6, seed=2)
    assert inst.features >= FEATURES
    assert not terra.features
    extra = [ln for ln in inst.links if ln.kind != "fiber"]
    assert [ln.kind for ln in extra] == ["satellite", "satellite", "free-space"]
    for ln in extra:
        assert isinstance(ln.unit_costs, UnitCosts)
        assert isinstance(ln.key_rate_kbps, Demand)
        rates = ln.key_rate_kbps
        assert all(v > 0 for v in rates.values)
        assert math.fsum(rates.probs) == pytest.approx(1.0, abs=1e-12)
        table = SATELLITE_RATES if ln.kind == "satellite" else FREE_SPACE_RATES
        assert dict(zip(rates.values, rates.probs, strict=True)) == pytest.approx(
            {table[k]: p for k, p in DEFAULT_WEATHER.items()}
        )
        for part in (ln.unit_costs.qkd, ln.unit_costs.km):
            r, e, o = part
            assert r == e
            assert 2.5 * r <= o <= 4 * r  # on demand 2.5-4 times, as Table I
    # the terrestrial part is kept as it was
    assert inst.links[: len(terra.links)] == terra.links
    assert inst.nodes[: len(terra.nodes)] == terra.nodes


def test_ground_stations_by_farthest_point_brute_force() -> None:
    # a path 1-2-3-4-5 of 100 km hops plus a 1000 km spur 3-6: by hand
    path = Instance(
        (1, 2, 3, 4, 5, 6),
        tuple(Link(u, u + 1, 100.0) for u in range(1, 5)) + (Link(3, 6, 1000.0),),
    )
    assert ground_station_sites(path, 2) == (1, 6)  # 1200 km, the diameter (ties: 1 before 5)
    assert ground_station_sites(path, 3) == (1, 6, 5)  # 5 is 400 from 1 and 1200 from 6
    for topology in ("nsfnet", "usnet"):
        topo = load_topology(topology)
        d = fiber_distances(topo)
        order = {n: i for i, n in enumerate(topo.nodes)}
        got = ground_station_sites(topo, 5)
        diam = max(d[u][v] for u in topo.nodes for v in topo.nodes)
        assert d[got[0]][got[1]] == diam
        first = min(
            (order[u], order[v])
            for u in topo.nodes
            for v in topo.nodes
            if order[u] < order[v] and d[u][v] == diam
        )
        assert (order[got[0]], order[got[1]]) == first
        for k in range(2, 5):
            best = max(min(d[c][w] for c in got[:k]) for w in topo.nodes if w not in got[:k])
            assert min(d[c][got[k]] for c in got[:k]) == best


def test_stations_attach_to_the_chosen_nodes_and_links_join_the_farthest_pairs() -> None:
    terra = load_topology("usnet")
    inst = ntn_instance(
        terra,
        10,
        max_rate=4,
        seed=1,
        ground_stations=5,
        satellite_links=3,
        free_space_links=2,
        access_km=25.0,
    )
    gs = stations(inst, terra)
    assert sorted(gs.values()) == sorted(ground_station_sites(terra, 5))
    assert all(
        ln.length_km == 25.0
        for ln in inst.links
        if ln.kind == "fiber" and (ln.u in gs or ln.v in gs)
    )
    d = fiber_distances(terra)
    pairs = sorted((d[gs[a]][gs[b]] for a, b in itertools.combinations(gs, 2)), reverse=True)
    sat = sorted(
        (d[gs[ln.u]][gs[ln.v]] for ln in inst.links if ln.kind == "satellite"), reverse=True
    )
    fso = sorted(
        (d[gs[ln.u]][gs[ln.v]] for ln in inst.links if ln.kind == "free-space"), reverse=True
    )
    assert sat == pairs[:3]
    assert fso == pairs[3:5]
    for ln in inst.links:
        if ln.kind != "fiber":
            assert ln.u in gs
            assert ln.v in gs
            assert ln.length_km == pytest.approx(d[gs[ln.u]][gs[ln.v]], abs=0.05)
    assert all(inst.node_names[g].startswith("GS ") for g in gs)


def test_string_node_ids_get_named_stations() -> None:
    topo = Instance(("a", "b", "c"), (Link("a", "b", 300.0), Link("b", "c", 400.0)))
    t = ntn_topology(topo, ground_stations=2, satellite_links=1, free_space_links=0)
    assert set(t.nodes) - set(topo.nodes) == {"GS-a", "GS-c"}
    assert [(ln.u, ln.v, ln.kind) for ln in t.links if ln.kind != "fiber"] == [
        ("GS-a", "GS-c", "satellite")
    ]


def test_requests_are_the_plain_samplers_and_anycast_targets_every_other_site() -> None:
    terra = load_topology("usnet")
    plain = sample_requests(terra, 20, max_rate=10, seed=5)
    inst = ntn_instance(
        "usnet",
        20,
        max_rate=10,
        seed=5,
        providers=3,
        sites=2,
        anycast=0.4,
        service_cost=1000.0,
        service_spread=0.2,
    )
    assert sum(r.is_anycast for r in inst.requests) == 8
    sites = {(t.node, t.provider, t.service_cost) for r in inst.requests for t in r.targets}
    assert {p for _, p, _ in sites} == {"A", "B", "C"}
    assert all(sum(1 for s in sites if s[1] == p) == 2 for p in "ABC")
    assert all(800.0 <= c <= 1200.0 and c == round(c) for _, _, c in sites)
    assert all(n in terra.node_index for n, _, _ in sites)
    for old, new in zip(plain.requests, inst.requests, strict=True):
        assert (new.id, new.source, new.demand) == (old.id, old.source, old.demand)
        if new.is_anycast:
            assert new.target is None
            assert {(t.node, t.provider, t.service_cost) for t in new.targets} == {
                s for s in sites if s[0] != new.source
            }
        else:
            assert new.target == old.target
            assert not new.targets
    assert {p.id: p.capacity for p in inst.providers} == {"A": None, "B": None, "C": None}


def _max_assignment(inst: Instance) -> int:
    """Anycast requests a matching can serve, providers copied once per unit of capacity."""
    g = nx.Graph()
    reqs = [r for r in inst.requests if r.is_anycast]
    n = len(reqs)
    slots = {p.id: range(n if p.capacity is None else p.capacity) for p in inst.providers}
    for r in reqs:
        g.add_node(("r", r.id), bipartite=0)
        for t in r.targets:
            assert t.provider is not None  # every target of an anycast request has one
            for k in slots[t.provider]:
                g.add_edge(("r", r.id), ("p", t.provider, k))
    return len(nx.bipartite.maximum_matching(g, top_nodes=[("r", r.id) for r in reqs])) // 2


def test_capacities_serve_every_anycast_request_and_too_small_is_refused() -> None:
    inst = ntn_instance("usnet", 20, max_rate=10, seed=1, provider_capacity=5)
    n_any = sum(r.is_anycast for r in inst.requests)
    assert n_any == 10
    assert inst.provider_capacity == {"A": 5, "B": 5}
    assert _max_assignment(inst) == n_any  # binding: every slot is needed
    uneven = ntn_instance("nsfnet", 10, max_rate=4, seed=1, anycast=1.0, provider_capacity=[7, 3])
    assert _max_assignment(uneven) == 10
    assert uneven.provider_capacity == {"A": 7, "B": 3}
    half = ntn_instance("nsfnet", 5, max_rate=3, seed=1)
    assert sum(r.is_anycast for r in half.requests) == 3  # 2.5 rounds half up
    with pytest.raises(InputError) as err:
        ntn_instance("usnet", 20, max_rate=10, seed=1, provider_capacity=4)
    assert err.value.place == "provider_capacity"
    assert "at most 8 of the 10" in str(err.value)
    with pytest.raises(InputError, match="2 capacities for 3 providers"):
        add_providers(
            make_instance("nsfnet", 4, 2, seed=1), seed=1, providers=3, provider_capacity=[1, 2]
        )


def test_weather_parameters() -> None:
    inst = ntn_instance(
        "nsfnet",
        5,
        max_rate=3,
        seed=1,
        ground_stations=2,
        satellite_links=1,
        free_space_links=0,
        weather={"clear": 0.9, "haze": 0.0, "cloud": 0.1},
        satellite_rates={"clear": 2.0, "haze": 0.5, "cloud": 0.02},
    )
    (sat,) = [ln for ln in inst.links if ln.kind == "satellite"]
    assert sat.key_rate_states(1.0) == ((0.02, 2.0), (0.1, 0.9))  # haze, probability 0, dropped
    bad: list[tuple[dict[str, Any], str]] = [
        ({"weather": {"clear": 0.5, "cloud": 0.4}}, "sum to 0.9"),
        ({"weather": {"fog": 1.0}}, "'fog' has no satellite rate"),
        ({"satellite_rates": {"clear": 1.0, "haze": 0.0, "cloud": 0.1}}, "> 0"),
        ({"ground_stations": 2, "satellite_links": 2}, "only 1 pairs"),
        ({"anycast": -0.1}, "anycast"),
        ({"access_km": 0.0}, "access_km"),
        ({"ground_stations": 99}, "largest connected component"),
    ]
    for kwargs, needle in bad:
        with pytest.raises(InputError, match=needle):
            ntn_instance("nsfnet", 5, max_rate=3, seed=1, **kwargs)


def test_file_round_trip(tmp_path: Path) -> None:
    inst = ntn_instance("cost239", 15, max_rate=8, seed=7, provider_capacity=[6, 5])
    path = tmp_path / "ntn.json"
    write_instance(inst, path)
    back = read_instance(path)
    assert back == inst
    assert back.features == inst.features
    assert instance_hash(back) == instance_hash(inst)
    assert json.loads(path.read_text())["format"] == "qkdbench-instance/2"
    # a fiber link's own key rate (a number) reads back too
    fiber = inst.links[0]
    one = Instance(
        inst.nodes,
        (Link(fiber.u, fiber.v, fiber.length_km, key_rate_kbps=2.5),) + inst.links[1:],
        inst.requests,
        providers=inst.providers,
    )
    write_instance(one, path)
    assert read_instance(path).links[0].key_rate_kbps == 2.5


# --------------------------------------------------------------------------- CLI


def test_cli_instance_named_family(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "u.json"
    res = run_cli(
        "instance",
        "--topology",
        "usnet-ntn",
        "--requests",
        "20",
        "--max-rate",
        "10",
        "--seed",
        "1",
        "-o",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert "usnet-ntn-r20-k10-s1, 28 nodes, 50 links, 20 requests" in res.stderr
    back = read_instance(out)
    assert back.features >= FEATURES
    assert back == make_instance("usnet-ntn", 20, 10, seed=1)


def test_cli_instance_ntn_options(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "n.json"
    res = run_cli(
        "instance",
        "--topology",
        "nsfnet",
        "--ntn",
        "--requests",
        "12",
        "--seed",
        "3",
        "--ground-stations",
        "3",
        "--satellite-links",
        "1",
        "--free-space-links",
        "1",
        "--weather",
        "clear=0.7,haze=0.2,cloud=0.1",
        "--satellite-rates",
        "clear=2,haze=0.2,cloud=0.02",
        "--providers",
        "3",
        "--sites",
        "2",
        "--provider-capacity",
        "4",
        "--anycast",
        "1",
        "--service-cost",
        "500",
        "--service-spread",
        "0",
        "--access-km",
        "5",
        "-o",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    inst = read_instance(out)
    assert inst.name == "nsfnet-ntn-r12-k10-s3"
    assert inst.features >= FEATURES
    assert inst.provider_capacity == {"A": 4, "B": 4, "C": 4}
    assert all(
        r.is_anycast and all(t.service_cost == 500.0 for t in r.targets) for r in inst.requests
    )
    (sat,) = [ln for ln in inst.links if ln.kind == "satellite"]
    assert sat.key_rate_states(1.0) == ((0.02, 0.2, 2.0), (0.1, 0.2, 0.7))
    assert [ln.kind for ln in inst.links].count("free-space") == 1
    assert len(inst.nodes) == 14 + 3
    # an option alone turns the generator on
    res = run_cli("instance", "--topology", "cost239", "--providers", "1", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert read_instance(out).provider_capacity == {"A": None}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--anycast", "1.5"], "--anycast: must be a number in [0, 1]"),
        (["--weather", "clear=0.5,haze=0.6"], "--weather: weather probabilities sum to 1.1"),
        (["--weather", "clear"], "--weather: expected name=number"),
        (["--satellite-rates", "clear=1,haze=0,cloud=0.1"], "--satellite-rates"),
        (["--provider-capacity", "1"], "--provider-capacity: provider capacities can serve"),
        (["--satellite-links", "9"], "--satellite-links: 9 satellite"),
        (["--ntn", "--demand", "heavy"], "cannot be combined"),
        (["--sites", "0"], "--sites"),
        (["--service-cost", "-1"], "--service-cost"),
    ],
)
def test_cli_bad_ntn_values_one_line_exit_2(
    tmp_path: Path, args: list[str], needle: str, one_line_error: OneLineError, run_cli: RunCli
) -> None:
    out = tmp_path / "x.json"
    one_line_error(run_cli("instance", "--topology", "nsfnet", *args, "-o", str(out)), needle)
    assert not out.exists()


# --------------------------------------------------------------------------- library


def test_ntn_set_loads_checks_its_hashes_and_has_binding_capacity() -> None:
    from qkdbench.library.sets import load_instance, load_set, recipe_name

    libset = load_set("ntn")
    assert 6 <= len(libset.instances) <= 8 + 6
    binding = fixed = 0
    for item in libset.instances:
        inst = load_instance(item)  # rebuilds from the recipe and checks the hash
        assert instance_hash(inst) == item.hash
        assert inst.name == recipe_name(item.recipe)
        assert inst.features >= FEATURES
        if "fixed_charges" in inst.features:  # the fixed-charge instances: 30-60 requests
            fixed += 1
            assert 30 <= inst.n_requests <= 60
            gs = [
                n
                for n in inst.nodes
                if n not in load_topology(str(item.recipe["topology"])[:-4]).node_index
            ]
            assert sorted(inst.node_fixed_costs) == sorted(gs)
            assert all(inst.link_fixed_cost(k) > 0 for k in range(len(inst.links)))
        else:
            assert 10 <= inst.n_requests <= 30
        n_any = sum(r.is_anycast for r in inst.requests)
        caps = [c for c in inst.provider_capacity.values() if c is not None]
        if caps and sum(caps) == n_any:
            binding += 1
            assert _max_assignment(inst) == n_any
    assert binding >= 1
    assert fixed >= 6
    topologies = {item.recipe["topology"] for item in libset.instances}
    assert "usnet-ntn" in topologies
    assert len(topologies) >= 2


def test_ntn_recipe_knobs_are_checked() -> None:
    from qkdbench.library.sets import instance_from_recipe

    base = {"topology": "nsfnet-ntn", "requests": 5, "max_rate": 3, "seed": 1}
    inst = instance_from_recipe({**base, "cloud": 0.01, "haze": 0.1, "providers": 3})
    (sat, _) = [ln for ln in inst.links if ln.kind == "satellite"]
    assert sat.key_rate_states(1.0)[1] == pytest.approx((0.01, 0.1, 0.89))
    assert inst.name == "nsfnet-ntn-r5-k3-s1-cloud0.01-haze0.1-p3"
    with pytest.raises(InputError, match="needs a topology ending in -ntn"):
        instance_from_recipe({**base, "topology": "nsfnet", "providers": 2})
    with pytest.raises(InputError, match="not a knob of the TN-NTN generator"):
        instance_from_recipe({**base, "hotspots": 2})
    with pytest.raises(InputError, match=r"recipe\.ground_stations: must be an integer"):
        instance_from_recipe({**base, "ground_stations": 2.5})
    with pytest.raises(InputError, match="sum of at most 1"):
        instance_from_recipe({**base, "cloud": 0.9, "haze": 0.2})
    with pytest.raises(InputError, match=r"recipe\.provider_capacity"):
        instance_from_recipe({**base, "provider_capacity": 1})


def test_library_cli_list_and_show_ntn(tmp_path: Path, run_cli: RunCli) -> None:
    from qkdbench.library.sets import load_set
    from qkdbench.library.solutions import read_solutions

    res = run_cli("library", "list", "--json")
    assert res.returncode == 0, res.stderr
    sets = {s["set"]: s for s in json.loads(res.stdout)["sets"]}
    assert sets["ntn"]["instances"] == len(load_set("ntn").instances)
    solved = read_solutions("ntn").entries
    count = {k: sum(e.status == k for e in solved.values()) for k in ("opt", "best")}
    assert (sets["ntn"]["opt"], sets["ntn"]["best"]) == (count["opt"], count["best"])
    assert sets["ntn"]["open"] == sets["ntn"]["instances"] - count["opt"] - count["best"]
    assert count["opt"] >= 8  # the eight instances without fixed charges are proven
    res = run_cli("library", "show", "ntn", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["instances"]
    assert rows[0]["name"] == "usnet-ntn-r20-k10-s1"
    assert [r["status"] for r in rows] == [
        solved[r["name"]].status if r["name"] in solved else "open" for r in rows
    ]
    out = tmp_path / "i.json"
    res = run_cli("library", "write", "ntn", rows[3]["name"], "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert instance_hash(read_instance(out)) == rows[3]["hash"]


# --------------------------------------------------------------------------- fixed charges


def chain() -> Instance:
    """1 - 2 - 3 - 4 with 100, 200 and 400 km of fiber: 1, 2 and 3 MDI segments of 160 km."""
    return Instance(
        (1, 2, 3, 4), (Link(1, 2, 100.0), Link(2, 3, 200.0), Link(3, 4, 400.0)), name="chain"
    )


def test_fixed_charge_knobs_put_the_charges_where_documented() -> None:
    from qkdbench.evaluation import evaluate
    from qkdbench.model import Plan, Route

    terra = chain()
    inst = ntn_instance(
        terra,
        2,
        max_rate=2,
        seed=1,
        ground_stations=3,
        satellite_links=1,
        free_space_links=1,
        providers=0,
        anycast=0.0,
        station_cost=7.0,
        satellite_fixed_cost=11.0,
        free_space_fixed_cost=13.0,
        site=5.0,
    )
    gs = stations(inst, terra)
    assert set(gs.values()) == {1, 3, 4}  # farthest-point: the ends, then node 3
    assert inst.node_fixed_costs == dict.fromkeys(gs, 7.0)
    assert "fixed_charges" in inst.features
    # fiber: site * (2m - 1) by hand; access links are 10 km (m = 1); NTN links their own
    want = {100.0: 5.0, 200.0: 15.0, 400.0: 25.0, 10.0: 5.0}
    for k, ln in enumerate(inst.links):
        if ln.kind == "fiber":
            assert ln.fixed_cost is None
            assert inst.link_fixed_cost(k) == want[ln.length_km]
        else:
            assert inst.link_fixed_cost(k) == {"satellite": 11.0, "free-space": 13.0}[ln.kind]
    assert [ln.kind for ln in inst.links].count("satellite") == 1
    # the evaluator charges them once: a route 1 -> GS(1) -> satellite -> GS(4) -> 4
    (sat,) = [ln for ln in inst.links if ln.kind == "satellite"]
    by_node = {v: g for g, v in gs.items()}
    assert {sat.u, sat.v} == {by_node[1], by_node[4]}
    req = Request("f", 1, 4, Demand((1.0,), (1.0,)))
    one = replace(inst, requests=(req,))
    path = (1, by_node[1], by_node[4], 4)
    plan = Plan(one.name, "hand", (Route("f", path, (0, 0, 0), (0, 0, 0)),))
    ev = evaluate(one, plan)
    assert ev.feasible
    assert ev.components["node"] == pytest.approx(2 * 7.0)
    assert ev.components["site"] == pytest.approx(5.0 + 11.0 + 5.0)


def test_fixed_charge_knobs_default_to_the_plain_instance() -> None:
    plain = instance_to_dict(ntn_instance("nsfnet", 8, max_rate=4, seed=2))
    zero = instance_to_dict(
        ntn_instance(
            "nsfnet",
            8,
            max_rate=4,
            seed=2,
            station_cost=0.0,
            satellite_fixed_cost=0,
            free_space_fixed_cost=0.0,
            site=0.0,
        )
    )
    assert zero == plain
    assert "fixed_charges" not in ntn_instance("nsfnet", 8, max_rate=4, seed=2).features


def test_fixed_charge_knobs_are_deterministic_and_tightness_is_the_load_by_hand() -> None:
    kw: dict[str, Any] = {
        "max_rate": 4,
        "seed": 5,
        "station_cost": 3e5,
        "satellite_fixed_cost": 2e5,
        "site": 1e3,
        "tightness": 0.5,
        "anycast": 1.0,
    }
    a = ntn_instance("usnet", 12, **kw)
    assert instance_to_dict(a) == instance_to_dict(ntn_instance("usnet", 12, **kw))
    # tightness on the chain: every request's shortest path is the unique chain path
    # (an anycast request to its nearest target); it puts 3 ceil(E[kappa]) QKD wavelengths
    # on each arc (key rate 1 on fiber)
    terra = chain()
    inst = ntn_instance(
        terra,
        6,
        max_rate=3,
        seed=2,
        ground_stations=2,
        satellite_links=0,
        free_space_links=0,
        providers=1,
        sites=2,
        anycast=0.5,
        tightness=0.5,
    )
    pos = {1: 0.0, 2: 100.0, 3: 300.0, 4: 700.0}
    load: dict = {}
    for r in inst.requests:
        t = (
            r.target
            if r.target is not None
            else min((s.node for s in r.sinks), key=lambda n: abs(pos[n] - pos[r.source]))
        )
        lo, hi = sorted((pos[r.source], pos[t]))
        need = math.ceil(r.demand.mean - 1e-9)
        for u, v in ((1, 2), (2, 3), (3, 4)):
            if lo <= pos[u] and pos[v] <= hi:
                key = (u, v) if pos[r.source] < pos[t] else (v, u)
                load[key] = load.get(key, 0) + need
    assert any(r.is_anycast for r in inst.requests)
    top = max(load.values())
    assert inst.params.W_qkd == max(1, math.ceil(0.5 * 3 * top - 1e-9))
    assert inst.params.W_kml == max(1, math.ceil(0.5 * top - 1e-9))


@pytest.mark.parametrize(
    ("kw", "place"),
    [
        ({"station_cost": -1.0}, "station_cost"),
        ({"satellite_fixed_cost": math.inf}, "satellite_fixed_cost"),
        ({"free_space_fixed_cost": "5"}, "free_space_fixed_cost"),
        ({"site": -0.5}, "site"),
        ({"tightness": 0.0}, "tightness"),
    ],
)
def test_fixed_charge_knobs_refuse_bad_values(kw: dict[str, Any], place: str) -> None:
    with pytest.raises(InputError) as err:
        ntn_instance("nsfnet", 4, max_rate=2, seed=1, **kw)
    assert err.value.place == place


def test_cli_instance_fixed_charge_options(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "f.json"
    res = run_cli(
        "instance",
        "--topology",
        "nsfnet-ntn",
        "--requests",
        "6",
        "--seed",
        "2",
        "--station-cost",
        "2000000",
        "--satellite-fixed-cost",
        "1000000",
        "--free-space-fixed-cost",
        "250000",
        "--site",
        "50000",
        "--tightness",
        "0.7",
        "-o",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    inst = read_instance(out)
    assert inst == ntn_instance(
        "nsfnet",
        6,
        max_rate=10,
        seed=2,
        station_cost=2e6,
        satellite_fixed_cost=1e6,
        free_space_fixed_cost=2.5e5,
        site=5e4,
        tightness=0.7,
        name=inst.name,
    )
    assert set(inst.node_fixed_costs.values()) == {2e6}
    assert len(inst.node_fixed_costs) == 4
    assert inst.costs.site == 5e4
    assert {ln.kind: ln.fixed_cost for ln in inst.links if ln.kind != "fiber"} == {
        "satellite": 1e6,
        "free-space": 2.5e5,
    }


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--station-cost", "-1"], "--station-cost: must be a number >= 0"),
        (["--satellite-fixed-cost", "nan"], "--satellite-fixed-cost: must be finite"),
        (["--free-space-fixed-cost", "-3"], "--free-space-fixed-cost: must be a number >= 0"),
        (["--free-space-fixed-cost", "x"], "--free-space-fixed-cost: not a number"),
        (["--ntn", "--site", "-2"], "--site: must be a number >= 0"),
        (["--ntn", "--tightness", "0"], "--tightness: must be a number > 0"),
        (["--station-cost", "1", "--fixed-charge-factor", "2"], "cannot be combined"),
    ],
)
def test_cli_bad_fixed_charge_values_one_line_exit_2(
    tmp_path: Path, args: list[str], needle: str, one_line_error: OneLineError, run_cli: RunCli
) -> None:
    out = tmp_path / "x.json"
    one_line_error(run_cli("instance", "--topology", "nsfnet", *args, "-o", str(out)), needle)
    assert not out.exists()


def test_ntn_recipe_fixed_charge_knobs() -> None:
    from qkdbench.library.sets import instance_from_recipe

    base = {"topology": "nsfnet-ntn", "requests": 5, "max_rate": 3, "seed": 1}
    inst = instance_from_recipe(
        {
            **base,
            "station_cost": 1000,
            "satellite_fixed_cost": 30,
            "free_space_fixed_cost": 20,
            "site": 10,
            "tightness": 0.5,
        }
    )
    assert inst.name == "nsfnet-ntn-r5-k3-s1-fsofc20-satfc30-site10-gsc1000-t0.5"
    assert inst == ntn_instance(
        "nsfnet",
        5,
        max_rate=3,
        seed=1,
        station_cost=1000.0,
        satellite_fixed_cost=30.0,
        free_space_fixed_cost=20.0,
        site=10.0,
        tightness=0.5,
        name=inst.name,
    )
    with pytest.raises(InputError, match=r"recipe\.station_cost: must be a number"):
        instance_from_recipe({**base, "station_cost": "big"})
    with pytest.raises(InputError, match=r"recipe\.site"):
        instance_from_recipe({**base, "site": -1})
    with pytest.raises(InputError, match="give tightness or W_qkd"):
        instance_from_recipe({**base, "tightness": 0.5, "W_qkd": 30})
    with pytest.raises(InputError, match="not a knob of the TN-NTN generator"):
        instance_from_recipe({**base, "fixed_charge_factor": 2.0})
