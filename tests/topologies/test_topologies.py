"""Topologies: built-in data, loaders, generators, request sampling."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from qkdbench.evaluation import arc_table
from qkdbench.exceptions import InputError
from qkdbench.topologies import (
    from_networkx,
    load_topology,
    make_instance,
    read_edge_list,
    sample_requests,
    waxman_topology,
)


@pytest.mark.parametrize(
    ("name", "nodes", "links", "km"),
    [("usnet", 24, 43, 42_900), ("nsfnet", 14, 21, 22_700), ("cost239", 11, 26, 30_090)],
)
def test_builtin_topologies(name: str, nodes: int, links: int, km: int) -> None:
    t = load_topology(name)
    assert len(t.nodes) == nodes
    assert len(t.links) == links
    assert sum(link.length_km for link in t.links) == pytest.approx(km)
    assert arc_table(t).n == 2 * links


def test_usnet_shortest_path_is_the_papers_fig2_route() -> None:
    t = load_topology("usnet")
    assert nx.dijkstra_path(t.graph, 1, 23, weight="length_km") == [1, 6, 9, 12, 16, 22, 23]


def test_edge_list_file(tmp_path: Path) -> None:
    p = tmp_path / "tiny.edges"
    p.write_text("# a comment\n1 2 100\n2 3 250.5  # trailing\n\n")
    t = read_edge_list(p)
    assert t.nodes == (1, 2, 3)
    assert t.name == "tiny"
    assert load_topology(str(p)).links == t.links


def test_edge_list_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.edges"
    for line, problem in [
        ("2 3 oops", "not a number: 'oops'"),
        ("2 3 -5", "must be positive"),
        ("2 3 nan", "must be finite"),
        ("2 3 1e400", "must be finite"),
        ("2 3 1e300", "must be at most 1e+15"),
        ("3 3 5", "self-loop at node 3"),
        ("2 1 50", "duplicate link 2-1 (also line 1)"),  # parallel links: refused
    ]:
        p.write_text(f"1 2 100\n{line}\n")
        with pytest.raises(InputError) as info:
            read_edge_list(p)
        assert str(info.value).startswith(f"{p}: line 2"), info.value
        assert problem in str(info.value)


def test_graphml_and_node_link(tmp_path: Path) -> None:
    g = nx.Graph()
    g.add_edge("x", "y", length_km=120.0)
    g.add_edge("y", "z", length_km=80.0)
    nx.write_graphml(g, tmp_path / "g.graphml")
    t = load_topology(str(tmp_path / "g.graphml"))
    assert sorted(t.nodes) == ["x", "y", "z"]
    assert sorted(link.length_km for link in t.links) == [80.0, 120.0]
    (tmp_path / "g.json").write_text(json.dumps(nx.node_link_data(g, edges="links")))
    t2 = load_topology(str(tmp_path / "g.json"))
    assert sorted(link.length_km for link in t2.links) == [80.0, 120.0]


@pytest.mark.parametrize("order", [(50.0, 100.0), (100.0, 50.0)])
def test_graph_files_keep_the_shortest_of_parallel_edges(tmp_path: Path, order: tuple) -> None:
    """docs/formats.md, section 5: whatever the order of the parallel edges."""
    g = nx.MultiGraph()
    for km in order:
        g.add_edge(1, 2, length_km=km)
    g.add_edge(2, 3, length_km=10.0)
    nx.write_graphml(g, tmp_path / "g.graphml")
    (tmp_path / "g.json").write_text(json.dumps(nx.node_link_data(g, edges="links")))
    d = nx.DiGraph()
    d.add_edge(1, 2, length_km=order[0])
    d.add_edge(2, 1, length_km=order[1])
    nx.write_graphml(d, tmp_path / "d.graphml")
    for name, links in (("g.graphml", 2), ("g.json", 2), ("d.graphml", 1)):
        t = load_topology(str(tmp_path / name))
        assert len(t.links) == links
        assert (
            min(link.length_km for link in t.links if {str(link.u), str(link.v)} == {"1", "2"})
            == 50.0
        )
        assert max(link.length_km for link in t.links) <= 50.0


def test_node_link_without_lengths_names_both_attributes(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text(
        '{"nodes": [{"id": 1}, {"id": 2}], "links": [{"source": 1, "target": 2}]}'
    )
    with pytest.raises(
        InputError, match=r"edge 1-2: edge has no 'dist' attribute \(nor 'length_km'\)"
    ):
        load_topology(str(tmp_path / "n.json"))


def test_from_networkx_requires_lengths() -> None:
    g = nx.Graph()
    g.add_edge(1, 2, weight=3)
    with pytest.raises(InputError, match="edge 1-2"):
        from_networkx(g)
    g[1][2]["length_km"] = 0
    with pytest.raises(InputError, match="edge 1-2.*positive"):
        from_networkx(g)


def test_topohub_germany50() -> None:
    t = load_topology("sndlib/germany50")
    assert len(t.nodes) == 50
    assert len(t.links) == 88
    assert all(link.length_km > 0 for link in t.links)


def test_unknown_topology_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="unknown topology 'atlantis'"):
        load_topology("atlantis")
    with pytest.raises(InputError, match="not a topohub key"):
        load_topology("nowhere/none")


def test_waxman_is_seeded_and_connected() -> None:
    a, b = waxman_topology(12, seed=5), waxman_topology(12, seed=5)
    assert a.links == b.links
    assert waxman_topology(12, seed=6).links != a.links
    g = nx.Graph([(link.u, link.v) for link in a.links])
    assert nx.is_connected(g)
    assert g.number_of_nodes() == 12


def test_request_sampling_is_seeded_with_distinct_pairs() -> None:
    topo = load_topology("nsfnet")
    a = sample_requests(topo, 40, max_rate=7, seed=3)
    b = sample_requests(topo, 40, max_rate=7, seed=3)
    assert a.requests == b.requests
    assert sample_requests(topo, 40, max_rate=7, seed=4).requests != a.requests
    pairs = [(r.source, r.target) for r in a.requests]
    assert len(set(pairs)) == 40
    assert all(s != t for s, t in pairs)
    assert all(r.demand.values == tuple(float(k) for k in range(8)) for r in a.requests)
    assert a.name == "nsfnet-r40-k7-s3"


def test_too_many_requests_is_an_error() -> None:
    with pytest.raises(InputError, match="distinct source/target pairs"):
        make_instance("cost239", 11 * 10 + 1, 3, seed=1)


def test_boolean_length_and_binary_files_are_rejected(tmp_path: Path) -> None:
    g = nx.Graph()
    g.add_edge(1, 2, length_km=True)
    with pytest.raises(InputError, match="edge 1-2.length_km: expected a number, got True"):
        from_networkx(g)
    p = tmp_path / "bin.edges"
    p.write_bytes(b"1 2 \xff\n")
    with pytest.raises(InputError, match="bin.edges: not UTF-8"):
        load_topology(str(p))
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(InputError, match="dir.json: cannot read file"):
        load_topology(str(tmp_path / "dir.json"))
