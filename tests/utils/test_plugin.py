"""The example plug-in (examples/qkdbench-example-planner), installed as a package.

CI installs it (``pip install ./examples/qkdbench-example-planner``); these tests
fail, not skip, when it is missing.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import networkx as nx
import pytest

from qkdbench.cli import main
from qkdbench.evaluation import evaluate
from qkdbench.heuristics import available_planners, get_planner
from qkdbench.testing import check_planner
from qkdbench.topologies import make_instance

HOW = "install it: pip install ./examples/qkdbench-example-planner"


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    try:
        distribution("qkdbench-example-planner")
    except PackageNotFoundError:
        pytest.fail(f"the example plug-in is not installed; {HOW}", pytrace=False)


def test_listed_as_a_plug_in() -> None:
    info = available_planners().get("example-minhop")
    assert info is not None, HOW
    assert info.origin == "plug-in (qkdbench-example-planner)"


def test_cli_lists_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["planners"]) == 0
    out = capsys.readouterr().out
    assert "example-minhop" in out
    assert "coqbn" in out


def test_passes_check_planner() -> None:
    check_planner("example-minhop")
    check_planner("example-minhop", params={"order": "reverse"}, checks=["valid_plans"])


def test_routes_have_fewest_hops_and_feasible_reservations() -> None:
    inst = make_instance("usnet", 15, 10, seed=3)
    plan = get_planner("example-minhop").plan(inst)
    undirected = nx.Graph(inst.graph)
    for req, route in zip(inst.requests, plan.routes, strict=True):
        assert len(route.path) - 1 == nx.shortest_path_length(undirected, req.source, req.target)
    assert evaluate(inst, plan).feasible


def test_bad_parameter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="order must be"):
        get_planner("example-minhop", order="sideways").plan(make_instance("nsfnet", 2, 2))
