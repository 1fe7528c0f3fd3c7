"""Model objects: demands, counting, unit costs, validation, JSON round trips."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import arc_table, mdi_segments, qkd_links_needed, support_table
from qkdbench.exceptions import InputError
from qkdbench.io import (
    instance_from_dict,
    instance_to_dict,
    plan_from_dict,
    plan_to_dict,
    read_instance,
    read_plan,
    write_instance,
    write_plan,
)
from qkdbench.model import CostTable, Demand, Instance, Link, Params, Plan, Request, Route


def test_uniform_demand_is_the_papers_omega() -> None:
    d = Demand.uniform(10)
    assert d.values == tuple(float(k) for k in range(11))
    assert math.isclose(sum(d.probs), 1.0)
    assert d.mean == pytest.approx(5.0)
    assert d.max == 10.0


def test_empirical_demand_counts_samples() -> None:
    d = Demand.empirical([2, 0, 2, 5, 2])
    assert d.values == (0.0, 2.0, 5.0)
    assert d.probs == pytest.approx((0.2, 0.6, 0.2))
    assert d.quantile(0.2) == 0.0
    assert d.quantile(0.5) == 2.0
    assert d.quantile(0.81) == 5.0


@pytest.mark.parametrize(
    ("values", "probs", "message"),
    [
        ((0.0, 1.0), (0.5, 0.6), "sum to"),
        ((0.0, 1.0), (-0.5, 1.5), "positive"),
        ((-1.0, 1.0), (0.5, 0.5), "non-negative"),
        ((0.0,), (0.5, 0.5), "values but"),
        ((float("nan"),), (1.0,), "finite"),
    ],
)
def test_bad_demands_are_rejected(
    values: tuple[float, ...], probs: tuple[float, ...], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        Demand(values, probs)


def test_qkd_link_count_uses_a_tolerance() -> None:
    # Eq. 1 with the tolerance of docs/model.md: 1.1 / 0.1 is 11, not 12
    assert int(qkd_links_needed(1.1, 0.1)) == 11
    assert qkd_links_needed(np.array([0.0, 0.5, 1.0, 1.0001]), 1.0).tolist() == [0, 1, 1, 2]
    assert mdi_segments(np.array([100.0, 160.0, 161.0, 800.0]), 160.0).tolist() == [1, 1, 2, 5]


def test_unit_costs_follow_model_md() -> None:
    # 200 km with D = 160 -> m = 2
    inst = Instance((1, 2), (Link(1, 2, 200.0),))
    a = arc_table(inst)
    assert a.segments.tolist() == [2, 2]
    # QKD wavelength: (2m tx + m rx)/3 + e ch ; KM: (m+1) km + (m-1) si + (2m-1) md + e ch
    assert a.c_y[:, 0].tolist() == pytest.approx(
        [
            (4 * 1500 + 2 * 2250) / 3 + 200,
            (4 * 1500 + 2 * 2250) / 3 + 200,
            (4 * 6000 + 2 * 9000) / 3 + 800,
        ]
    )
    assert a.c_z[:, 0].tolist() == pytest.approx(
        [
            3 * 1200 + 150 + 3 * 300 + 200,
            3 * 1200 + 150 + 3 * 300 + 200,
            3 * 3000 + 500 + 3 * 900 + 800,
        ]
    )
    # both arcs of a link are alike
    assert a.c_y[:, 1].tolist() == a.c_y[:, 0].tolist()


def test_link_overrides_reach_the_arcs() -> None:
    inst = Instance(
        (1, 2, 3),
        (Link(1, 2, 100.0, W_qkd=7, key_rate_kbps=0.5), Link(2, 3, 100.0)),
        params=Params(W_qkd=9),
    )
    assert arc_table(inst).W_qkd.tolist() == [7, 7, 9, 9]
    assert arc_table(inst).key_rate_kbps.tolist() == [0.5, 0.5, 1.0, 1.0]
    s = support_table(inst)
    assert s.n_classes == 2
    assert [s.rates(c)[0].tolist() for c in range(2)] == [[0.5], [1.0]]
    assert s.arc_class.tolist() == [0, 0, 1, 1]


def test_support_arrays_are_sorted_with_prefix_sums() -> None:
    inst = Instance(
        (1, 2),
        (Link(1, 2, 10.0),),
        (Request("f0", 1, 2, Demand((2.0, 0.0, 1.5), (0.5, 0.25, 0.25))),),
    )
    s = support_table(inst)
    assert s.kappa.tolist() == [0.0, 1.5, 2.0]
    # P = ceil(kappa / 1): 0 w.p. 0.25, 2 w.p. 0.75 (1.5 and 2.0 both need 2 links)
    links, probs = s.link_counts(0, 0)
    assert links.tolist() == [0, 2]
    assert probs.tolist() == pytest.approx([0.25, 0.75])
    assert s.survival.tolist() == pytest.approx([0.75, 0.0])
    assert s.mean_links[0, 0] == pytest.approx(0.25 * 2 + 0.5 * 2)


@pytest.mark.parametrize(
    ("build", "place"),
    [
        (lambda: Instance((1, 2), (Link(1, 3, 5.0),)), "links[0].v"),
        (lambda: Instance((1, 2), (Link(1, 1, 5.0),)), "links[0]"),
        (lambda: Instance((1, 2), (Link(1, 2, 5.0), Link(2, 1, 6.0))), "links[1]"),
        (lambda: Instance((1, 2), (Link(1, 2, 0.0),)), "links[0].length_km"),
        (lambda: Instance((1, 2), (Link(1, 2, math.inf),)), "links[0].length_km"),
        (lambda: Instance((1, 2), (Link(1, 2, 5.0, W_qkd=-1),)), "links[0].W_qkd"),
        (
            lambda: Instance((1, 2), (Link(1, 2, 5.0),), (Request("f", 1, 1, Demand.point(1)),)),
            "requests[0]",
        ),
        (
            lambda: Instance((1, 2, 3), (Link(1, 2, 5.0),), (Request("f", 1, 3, Demand.point(1)),)),
            "requests[0]",
        ),
        (
            lambda: Instance((1, 2), (Link(1, 2, 5.0),), (Request("f", 1, 9, Demand.point(1)),)),
            "requests[0].target",
        ),
    ],
)
def test_invalid_instances_name_the_place(build: Callable[[], object], place: str) -> None:
    with pytest.raises(InputError) as info:
        build()
    assert info.value.place == place


def test_instance_json_round_trip(tmp_path: Path, triangle: Instance) -> None:
    path = tmp_path / "inst.json"
    write_instance(triangle, path)
    back = read_instance(path)
    assert back == triangle
    assert instance_to_dict(back) == instance_to_dict(triangle)


def test_partial_costs_and_params_default_to_table_one() -> None:
    data = {
        "format": "qkdbench-instance/1",
        "nodes": [{"id": 1}, {"id": 2}],
        "links": [{"u": 1, "v": 2, "length_km": 50}],
        "costs": {"o": {"tx": 7000}},
        "params": {"span_km": 80},
    }
    inst = instance_from_dict(data)
    assert inst.costs.o["tx"] == 7000.0
    assert inst.costs.o["rx"] == CostTable().o["rx"]
    assert inst.params.span_km == 80.0
    assert inst.params.W_qkd == 150


def test_plan_json_round_trip(tmp_path: Path) -> None:
    plan = Plan(
        "x",
        "hand",
        (Route("f0", (1, 2, 3), (3, 0), (1, 0)),),
        {"status": "heuristic", "runtime_s": np.float64(0.5)},
    )
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    back = read_plan(path)
    assert back == plan
    assert back.stats["runtime_s"] == 0.5
    assert plan_from_dict(plan_to_dict(plan)) == plan


@pytest.mark.parametrize(
    ("data", "place"),
    [
        ({"format": "qkdbench-plan/2", "requests": []}, "format"),
        (
            {"format": "qkdbench-plan/1", "requests": [{"id": "f0", "path": [1]}]},
            "requests[0].path",
        ),
        (
            {
                "format": "qkdbench-plan/1",
                "requests": [{"id": "f0", "path": [1, 2], "reserve_qkd": [1, 2]}],
            },
            "requests[0].reserve_qkd",
        ),
        (
            {"format": "qkdbench-plan/1", "requests": [], "stats": {"status": "great"}},
            "stats.status",
        ),
    ],
)
def test_bad_plans_name_the_place(data: dict[str, Any], place: str) -> None:
    with pytest.raises(InputError) as info:
        plan_from_dict(data)
    assert info.value.place == place


@pytest.mark.parametrize(
    ("build", "place"),
    [
        (lambda: Instance((1, 2), (Link(1, 2, 100.0),), params=Params(span_km=1e-300)), "links[0]"),
        (
            lambda: Instance(
                (1, 2), (Link(1, 2, 100.0),), (Request("f", 1, 2, Demand.point(1e12)),)
            ),
            "requests[0].demand.values[0]",
        ),
        (
            lambda: Instance(
                (1, 2),
                (Link(1, 2, 100.0, key_rate_kbps=1e-300),),
                (Request("f", 1, 2, Demand.point(1.0)),),
            ),
            "requests[0].demand.values[0]",
        ),
        (lambda: Demand.uniform(10**8), "max_rate"),
    ],
)
def test_counts_beyond_any_sense_are_input_errors(build: Callable[[], object], place: str) -> None:
    with pytest.raises(InputError) as info:
        build()
    assert info.value.place == place


@pytest.mark.parametrize("rid", [None, [1], True, {"a": 1}])
def test_request_ids_must_be_strings(rid: object) -> None:
    data = {
        "format": "qkdbench-instance/1",
        "nodes": [{"id": 1}, {"id": 2}],
        "links": [{"u": 1, "v": 2, "length_km": 5}],
        "requests": [
            {"id": rid, "source": 1, "target": 2, "demand": {"values": [1], "probs": [1]}}
        ],
    }
    with pytest.raises(InputError) as info:
        instance_from_dict(data)
    assert info.value.place == "requests[0].id"


def test_unreadable_and_unwritable_files(tmp_path: Path, triangle: Instance) -> None:
    bad = tmp_path / "latin.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InputError, match=r"latin.json: not UTF-8 text"):
        read_instance(bad)
    with pytest.raises(InputError, match=r"cannot write file"):
        write_instance(triangle, tmp_path / "no" / "such" / "dir.json")
    with pytest.raises(InputError, match=r"cannot read file"):
        read_plan(tmp_path)
