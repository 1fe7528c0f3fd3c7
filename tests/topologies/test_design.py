"""Instance generator knobs (topologies.design) and `qkdbench instance` options."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from qkdbench.exceptions import InputError
from qkdbench.io import read_instance
from qkdbench.model import Instance
from qkdbench.topologies import demand_shape, design_instance, sample_requests
from qkdbench.topologies.loaders import load_topology
from tests.fixture_types import OneLineError, RunCli


def test_no_knob_is_the_paper_instance() -> None:
    topo = load_topology("nsfnet")
    a = design_instance(topo, 8, max_rate=4, seed=5)
    b = sample_requests(topo, 8, max_rate=4, seed=5)
    assert {(r.source, r.target) for r in a.requests}
    assert a.params == b.params
    assert not a.uses_extensions
    assert a.name == b.name


@pytest.mark.parametrize("shape", ["uniform", "binomial", "geometric", "heavy", "empirical"])
def test_demand_shapes_are_distributions_on_the_support(shape: str) -> None:
    d = demand_shape(shape, 6, np.random.default_rng(1))
    assert math.isclose(sum(d.probs), 1.0, abs_tol=1e-9)
    assert min(d.values) >= 0
    assert max(d.values) <= 12


def test_demand_shapes_closed_forms() -> None:
    assert demand_shape("binomial", 3).probs == pytest.approx((1 / 8, 3 / 8, 3 / 8, 1 / 8))
    g = demand_shape("geometric", 2).probs
    assert g == pytest.approx(np.array([1, 0.6, 0.36]) / 1.96)
    h = demand_shape("heavy", 1).probs
    assert h == pytest.approx(np.array([1, 2**-1.5]) / (1 + 2**-1.5))
    with pytest.raises(InputError, match="unknown demand shape"):
        demand_shape("pareto", 3)


def test_same_seed_same_instance_and_seed_matters() -> None:
    kw: dict[str, Any] = {
        "max_rate": 5,
        "demand": "empirical",
        "hotspots": 2,
        "fixed_charge_factor": 2.0,
        "tightness": 0.5,
    }
    a = design_instance("usnet", 15, seed=3, **kw)
    assert a == design_instance("usnet", 15, seed=3, **kw)
    assert a != design_instance("usnet", 15, seed=4, **kw)


def test_hotspots_concentrate_requests() -> None:
    plain = design_instance("usnet", 40, max_rate=2, seed=2)
    hot = design_instance("usnet", 40, max_rate=2, seed=2, hotspots=2)

    def top(inst: Instance) -> int:
        return max(Counter(n for r in inst.requests for n in (r.source, r.target)).values())

    assert top(hot) >= 2 * top(plain)


def test_tightness_scales_the_busiest_shortest_path_load() -> None:
    inst = design_instance("nsfnet", 12, max_rate=4, seed=1, tightness=0.5)
    load: Counter[int] = Counter()  # QKD wavelengths per arc
    for r in inst.requests:
        path = nx.dijkstra_path(inst.graph, r.source, r.target, weight="length_km")
        for a in inst.path_arcs(path):
            load[a] += 3 * math.ceil(r.demand.mean - 1e-9)
    assert inst.params.W_qkd == max(1, math.ceil(0.5 * max(load.values())))
    assert inst.params.W_kml == max(1, math.ceil(0.5 * max(load.values()) / 3))


def test_fixed_charge_factor_is_a_multiple_of_the_expected_wavelength_cost() -> None:
    one = design_instance("nsfnet", 6, max_rate=4, seed=1, fixed_charge_factor=1.0)
    three = design_instance("nsfnet", 6, max_rate=4, seed=1, fixed_charge_factor=3.0)
    link = one.links[0]
    assert link.fixed_cost is not None
    m = math.ceil(link.length_km / 160 - 1e-9)
    c_y = (2 * m * 1500 + m * 2250) / 3 + link.length_km
    c_z = (m + 1) * 1200 + (m - 1) * 150 + (2 * m - 1) * 300 + link.length_km
    mean_p = np.mean([r.demand.mean for r in one.requests])  # K_D = 1, integer supports
    assert link.fixed_cost == pytest.approx(c_y * 3 * mean_p + c_z * mean_p)
    assert three.links[0].fixed_cost == pytest.approx(3 * link.fixed_cost)
    site = design_instance("nsfnet", 6, max_rate=4, seed=1, site=100.0)
    assert site.costs.site == 100.0
    assert site.link_fixed_cost(0) == 100.0 * (2 * m - 1)


def test_cli_instance_knobs(tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError) -> None:
    out = tmp_path / "i.json"
    proc = run_cli(
        "instance",
        "--topology",
        "cost239",
        "--requests",
        "6",
        "--max-rate",
        "3",
        "--seed",
        "2",
        "--demand",
        "binomial",
        "--hotspots",
        "1",
        "--site",
        "500",
        "--tightness",
        "0.8",
        "-o",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["format"] == "qkdbench-instance/2"
    assert data["costs"]["r"]["site"] == 500
    inst = read_instance(out)
    assert inst == design_instance(
        "cost239", 6, max_rate=3, seed=2, demand="binomial", hotspots=1, site=500.0, tightness=0.8
    )
    bad = run_cli(
        "instance", "--requests", "3", "--fixed-charge-factor", "-1", "-o", tmp_path / "b.json"
    )
    one_line_error(bad, "--fixed-charge-factor: must be a finite number >= 0")
