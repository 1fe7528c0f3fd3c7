"""Edge cases of link kinds, key-rate states and providers: each must be refused or right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qkdbench.evaluation import encode_plan, evaluate, evaluate_batch, stack_plans
from qkdbench.exact.lagrangian import lagrangian_bound
from qkdbench.exceptions import InputError
from qkdbench.io import instance_from_dict, write_instance
from qkdbench.model import Plan, Route
from qkdbench.topologies.ntn import ntn_instance
from qkdbench.utils.registry import get_planner
from tests.fixture_types import OneLineError, RunCli

#: The triangle of ``test_link_kinds_and_providers.py``: a satellite link with two
#: weather states and a fiber, one request served by provider A or B.
TRIANGLE = json.loads((Path(__file__).parent / "satellite_provider_triangle.json").read_text())


def _data(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(TRIANGLE))
    data.update(changes)
    return data


@pytest.mark.parametrize("values", [2.0, True, 3, None])
def test_key_rate_values_that_are_not_a_list_are_one_line_errors(
    tmp_path: Path, values: float | bool | None, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    data = _data()
    data["links"][0]["key_rate_kbps"] = {"values": values, "probs": [1]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    out = run_cli("plan", path, "--planner", "coqbn", "-o", tmp_path / "p.json")
    one_line_error(out, "links[0].key_rate_kbps")


def test_an_empty_providers_list_does_not_mean_unlimited() -> None:
    with pytest.raises(
        InputError,
        match=r"requests\[0\]\.targets\[0\]\.provider: unknown "
        r"provider 'A' \(the providers list is empty\)",
    ):
        instance_from_dict(_data(providers=[]))


def test_a_batch_mixing_plans_with_and_without_targets_is_refused() -> None:
    inst = instance_from_dict(_data())
    a = encode_plan(inst, Plan("t", "h", (Route("f0", (1, 2), (3,), (1,), provider="A"),)))
    bare = type(a)(a.ptr, a.arcs, a.yr, a.zr, a.n_requests)
    assert stack_plans([a, bare]).target is None
    with pytest.raises(InputError, match="must carry each request's chosen target"):
        evaluate_batch(inst, [a, bare])
    wrong_shape = type(a)(a.ptr, a.arcs, a.yr, a.zr, a.n_requests, np.zeros(3, np.int64))
    with pytest.raises(InputError, match="target has shape"):
        evaluate_batch(inst, wrong_shape)


def test_rl_planners_take_a_link_kinds_instance_that_lists_providers_but_has_no_targets() -> None:
    inst = ntn_instance("nsfnet", 6, max_rate=4, seed=2, anycast=0.0)
    assert inst.providers
    assert "providers" not in inst.features
    for name in ("rl-coqbn", "rl-greedy"):
        plan = get_planner(name).plan(inst)
        assert evaluate(inst, plan).feasible


def test_lagrangian_says_proven_only_when_the_plan_meets_the_bound_with_fixed_charges() -> None:
    inst = ntn_instance(
        "nsfnet",
        12,
        max_rate=10,
        seed=4,
        anycast=1.0,
        providers=3,
        sites=2,
        provider_capacity=4,
        station_cost=200000.0,
        satellite_fixed_cost=100000.0,
        site=50000.0,
    )
    assert "fixed_charges" in inst.features
    res = lagrangian_bound(inst, iterations=20)
    assert res.plan is not None
    total = float(evaluate_batch(inst, res.plan).total[0])
    assert res.cost == pytest.approx(total, rel=1e-9)  # fixed charges counted
    assert res.bound <= total * (1 + 1e-9)
    if res.stop == "proven":
        assert total - res.bound <= 1e-6 * total


def test_spfigures_flags_vss_and_evpi_of_an_unproven_rp(tmp_path: Path, run_cli: RunCli) -> None:
    inst = ntn_instance(
        "usnet",
        30,
        max_rate=10,
        seed=3,
        site=100000.0,
        station_cost=1000000.0,
        provider_capacity=12,
        anycast=0.7,
    )
    write_instance(inst, tmp_path / "i.json")
    out = run_cli(
        "spfigures",
        tmp_path / "i.json",
        "--time-limit",
        "0.01",
        "--scenarios",
        "2",
        "--oos-scenarios",
        "0",
    )
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    if "(optimal;" not in rows["RP"]:
        assert "a lower bound on the true VSS" in rows["VSS"]
        assert "an upper bound on the true EVPI" in rows["EVPI"]
    else:  # pragma: no cover - a 0 s limit that still proves optimality
        assert "not proven" not in rows["VSS"]
