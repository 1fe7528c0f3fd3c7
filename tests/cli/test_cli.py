"""The command line: the worked example; bad input is status 2, one line naming file and place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import pytest

from qkdbench.cli import main
from qkdbench.io import read_instance, read_plan
from qkdbench.model import Instance, Plan
from tests.fixture_types import RunMain, RunPython

GOOD: dict[str, Any] = {  # a valid instance file
    "format": "qkdbench-instance/1",
    "name": "tiny",
    "nodes": [{"id": 1}, {"id": 2}, {"id": 3}],
    "links": [{"u": 1, "v": 2, "length_km": 100}, {"u": 2, "v": 3, "length_km": 200}],
    "requests": [
        {
            "id": "f0",
            "source": 1,
            "target": 3,
            "demand": {"values": [0, 1, 2], "probs": [0.2, 0.5, 0.3]},
        }
    ],
}


def write(tmp_path: Path, name: str, data: str | dict[str, Any]) -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_instance_plan_evaluate_round(tmp_path: Path, run_main: RunMain) -> None:
    inst = tmp_path / "i.json"
    plan = tmp_path / "p.json"
    assert (
        run_main(
            "instance",
            "--topology",
            "nsfnet",
            "--requests",
            4,
            "--max-rate",
            3,
            "--seed",
            2,
            "-o",
            inst,
        )[0]
        == 0
    )
    assert read_instance(inst).n_requests == 4
    assert run_main("plan", inst, "--planner", "coqbn", "-o", plan)[0] == 0
    assert read_plan(plan).planner == "coqbn"
    code, out, err = run_main("evaluate", inst, plan, "--json")
    assert code == 0
    assert err == ""
    data = json.loads(out)
    assert data["feasible"] is True
    assert data["violations"] == []
    assert data["total"] == pytest.approx(data["first_stage"] + data["second_stage"])
    assert set(data["components"]) == {"tx", "rx", "km", "si", "md", "ch", "hop"}
    code, out, _ = run_main("evaluate", inst, plan)
    assert code == 0
    assert "first stage" in out


def test_infeasible_plan_exits_1_with_violations(tmp_path: Path, run_main: RunMain) -> None:
    inst = write(tmp_path, "i.json", {**GOOD, "params": {"W_qkd": 2}})
    plan = write(
        tmp_path,
        "p.json",
        {
            "format": "qkdbench-plan/1",
            "requests": [
                {"id": "f0", "path": [1, 2, 3], "reserve_qkd": [3, 0], "reserve_km": [0, 0]}
            ],
        },
    )
    code, out, _ = run_main("evaluate", inst, plan, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["feasible"] is False
    assert data["violations"] == ["arc 1->2: 3 QKD wavelengths reserved, capacity 2"]


def test_planners_lists_coqbn(run_main: RunMain) -> None:
    code, out, _ = run_main("planners", "--json")
    assert code == 0
    assert "coqbn" in json.loads(out)


def _variant(path: str, value: object) -> dict[str, Any]:
    """GOOD with the value at a dotted path replaced."""
    data = json.loads(json.dumps(GOOD))
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


BAD_INSTANCES = [
    ("malformed JSON", '{"format": "qkdbench-instance/1", "nodes": [', "line 1 column"),
    ("wrong format", _variant("format", "qkdbench-instance/9"), "format: unsupported format"),
    ("unknown node in a link", _variant("links.1.v", 7), "links[1].v: unknown node 7"),
    (
        "unknown node in a request",
        _variant("requests.0.target", 9),
        "requests[0].target: unknown node 9",
    ),
    (
        "source == target",
        _variant("requests.0.target", 1),
        "requests[0]: source and target are both 1",
    ),
    (
        "unreachable target",
        {
            **GOOD,
            "nodes": GOOD["nodes"] + [{"id": 4}],
            "requests": [{**GOOD["requests"][0], "target": 4}],
        },
        "requests[0]: target 4 is unreachable",
    ),
    ("zero length", _variant("links.0.length_km", 0), "links[0].length_km: must be positive"),
    ("negative length", _variant("links.0.length_km", -3), "links[0].length_km: must be positive"),
    (
        "non-finite length",
        json.dumps(GOOD).replace('"length_km": 100', '"length_km": Infinity'),
        "links[0].length_km: must be finite",
    ),
    (
        "NaN length",
        json.dumps(GOOD).replace('"length_km": 100', '"length_km": NaN'),
        "links[0].length_km: must be finite",
    ),
    (
        "probabilities not summing to 1",
        _variant("requests.0.demand.probs", [0.2, 0.5, 0.2]),
        "requests[0].demand.probs: probabilities sum to",
    ),
    (
        "negative probability",
        _variant("requests.0.demand.probs", [-0.2, 0.9, 0.3]),
        "requests[0].demand.probs[0]: probability must be positive",
    ),
    (
        "negative key rate",
        _variant("requests.0.demand.values", [0, -1, 2]),
        "requests[0].demand.values[1]: must be non-negative",
    ),
    (
        "duplicate link",
        {**GOOD, "links": GOOD["links"] + [{"u": 2, "v": 1, "length_km": 5}]},
        "links[2]: duplicate link 2-1 (also links[0])",
    ),
    (
        "self-loop",
        {**GOOD, "links": GOOD["links"] + [{"u": 3, "v": 3, "length_km": 5}]},
        "links[2]: self-loop at node 3",
    ),
    ("negative capacity", {**GOOD, "params": {"W_kml": -1}}, "params.W_kml: must be non-negative"),
    (
        "negative link capacity",
        _variant("links.0", {"u": 1, "v": 2, "length_km": 100, "W_qkd": -4}),
        "links[0].W_qkd: must be non-negative",
    ),
    ("missing links", {k: v for k, v in GOOD.items() if k != "links"}, "missing key 'links'"),
]


@pytest.mark.parametrize(
    ("label", "content", "message"), BAD_INSTANCES, ids=[b[0] for b in BAD_INSTANCES]
)
def test_bad_instance_exits_2_with_one_line(
    tmp_path: Path,
    run_main: RunMain,
    label: str,
    content: str | dict[str, Any],
    message: str,
) -> None:
    inst = write(tmp_path, "bad.json", content)
    plan = write(tmp_path, "p.json", {"format": "qkdbench-plan/1", "requests": []})
    code, out, err = run_main("evaluate", inst, plan)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(inst) in lines[0]
    assert message in lines[0]
    assert "Traceback" not in err


BAD_PLANS = [
    (
        "path skips an arc",
        [{"id": "f0", "path": [1, 3], "reserve_qkd": [0], "reserve_km": [0]}],
        "requests[0].path[0]: no arc 1->3 in the topology",
    ),
    (
        "path from the wrong node",
        [{"id": "f0", "path": [2, 3], "reserve_qkd": [0], "reserve_km": [0]}],
        "requests[0].path[0]: path starts at 2",
    ),
    ("unknown request", [{"id": "f9", "path": [1, 2, 3]}], "requests[0].id: request 'f9'"),
    ("missing request", [], "requests: request 'f0' has no route"),
    (
        "reservation count",
        [{"id": "f0", "path": [1, 2, 3], "reserve_qkd": [1]}],
        "requests[0].reserve_qkd: expected a list of 2 numbers",
    ),
]


@pytest.mark.parametrize(("label", "routes", "message"), BAD_PLANS, ids=[b[0] for b in BAD_PLANS])
def test_bad_plan_exits_2_with_one_line(
    tmp_path: Path,
    run_main: RunMain,
    label: str,
    routes: list[dict[str, Any]],
    message: str,
) -> None:
    inst = write(tmp_path, "i.json", GOOD)
    plan = write(tmp_path, "plan.json", {"format": "qkdbench-plan/1", "requests": routes})
    code, out, err = run_main("evaluate", inst, plan)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert f"{plan}: {message}" in lines[0]


def test_unknown_planner_and_topology(tmp_path: Path, run_main: RunMain) -> None:
    inst = write(tmp_path, "i.json", GOOD)
    code, _, err = run_main("plan", inst, "--planner", "nope", "-o", tmp_path / "p.json")
    assert code == 2
    assert "unknown planner 'nope'" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_main("instance", "--topology", "atlantis", "-o", tmp_path / "x.json")
    assert code == 2
    assert "unknown topology 'atlantis'" in err


def test_bad_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["plan", "x.json", "--time-limit", "-3", "-o", "y.json"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--time-limit" in err


def test_solver_failure_is_one_line_with_status_3(
    tmp_path: Path, run_main: RunMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qkdbench.exact import solver

    def missing(*args: object, **kwargs: object) -> NoReturn:
        raise solver.SolverUnavailableError("no MILP solver: highspy is not installed")

    monkeypatch.setattr(solver, "solve_milp", missing)
    import qkdbench.exact.solving as solving

    monkeypatch.setattr(solving, "solve_milp", missing)
    inst = write(tmp_path, "i.json", GOOD)
    code, out, err = run_main("plan", inst, "--planner", "exact", "-o", tmp_path / "p.json")
    assert code == 3
    assert out == ""
    assert err.strip().splitlines() == [
        "qkdbench plan: solver error: no MILP solver: highspy is not installed"
    ]


def test_instance_from_an_instance_file_keeps_its_parameters(
    tmp_path: Path, run_main: RunMain
) -> None:
    src = write(
        tmp_path,
        "custom.json",
        {**GOOD, "params": {"span_km": 80, "W_qkd": 10, "hop_cost": 1000, "key_rate_kbps": 0.5}},
    )
    out = tmp_path / "d.json"
    assert run_main("instance", "--topology", src, "--requests", 2, "-o", out)[0] == 0
    p = read_instance(out).params
    assert (p.span_km, p.W_qkd, p.hop_cost, p.key_rate_kbps) == (80.0, 10, 1000.0, 0.5)
    # an option given on the command line overrides that one parameter only
    assert run_main("instance", "--topology", src, "--requests", 2, "--w-qkd", 7, "-o", out)[0] == 0
    p = read_instance(out).params
    assert (p.span_km, p.W_qkd) == (80.0, 7)
    code, _, err = run_main("instance", "--span-km", -1, "-o", out)
    assert code == 2
    assert "--span-km: must be positive" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["instance", "--seed", "-1", "-o", "x.json"],
        ["compare", "--seed", "-3"],
        ["spfigures", "--scenarios", "0"],
        ["sweep", "spec.toml", "--workers", "0"],
    ],
)
def test_negative_seeds_and_zero_counts_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "must be >=" in err


def test_json_output_is_strict(capsys: pytest.CaptureFixture[str]) -> None:
    from qkdbench.cli.options import print_json as _print_json

    _print_json({"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": 2.5}})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [1.0, None], "c": {"d": 2.5}}


def test_a_planner_that_raises_is_one_line_with_status_3(tmp_path: Path, run_main: RunMain) -> None:
    from qkdbench.heuristics import register_planner, unregister_planner

    @register_planner("cli-broken")
    class Broken:
        """Raises."""

        name = "cli-broken"

        def plan(
            self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
        ) -> Plan:
            raise RuntimeError("no route\nat all")

    try:
        inst = write(tmp_path, "i.json", GOOD)
        code, out, err = run_main(
            "plan", inst, "--planner", "cli-broken", "-o", tmp_path / "p.json"
        )
    finally:
        unregister_planner("cli-broken")
    assert code == 3  # no plan: never 1, the code of an infeasible plan
    assert out == ""
    assert err.strip().splitlines() == [
        "qkdbench plan: error: planner 'cli-broken' failed: RuntimeError: no route at all"
    ]
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize(
    ("params", "place"), [({"W_qkd": 1e19}, "params.W_qkd"), ({"W_kml": 2**63}, "params.W_kml")]
)
def test_a_capacity_beyond_any_count_is_one_line(
    tmp_path: Path, run_main: RunMain, params: dict[str, float], place: str
) -> None:
    inst = write(tmp_path, "i.json", {**GOOD, "params": params})
    code, out, err = run_main("bound", inst, "--json")
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [
        f"qkdbench bound: error: {inst}: {place}: must be at most 1e+09, "
        f"got {next(iter(params.values()))!r}"
    ]


def test_an_unwritable_solver_log_is_bad_input(tmp_path: Path, run_main: RunMain) -> None:
    inst = write(tmp_path, "i.json", GOOD)
    log = tmp_path / "no-such-dir" / "solver.log"
    code, out, err = run_main(
        "--solver-log", log, "plan", inst, "--planner", "exact", "-o", tmp_path / "p.json"
    )
    assert code == 2
    assert out == ""
    assert not (tmp_path / "p.json").exists()
    assert len(err.strip().splitlines()) == 1
    assert "cannot write the solver log" in err


def test_an_unknown_planner_in_an_in_process_sweep_is_bad_input(
    tmp_path: Path, run_main: RunMain
) -> None:
    spec = write(
        tmp_path,
        "s.toml",
        '[grid]\ntopology = ["nsfnet"]\nrequests = [3]\n'
        'max_rate = [2]\nseed = [1]\nplanners = ["coqbn", "nosuch"]\n',
    )
    code, out, err = run_main("sweep", spec, "--out", tmp_path / "o", "--scheduler", "none")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "'nosuch'" in err
    assert "grid.planners" in err


_FAILING_SOLVER = """
import sys
from qkdbench.exact import solver, sp_milp

def failed(milp, options, warm_start=None):
    outcome = solver.SolveOutcome("error", "highs", "kNotset", False,
                                  message="HiGHS ended with status Notset")
    return solver.SolverRun(outcome, None)

solver.run_highs = failed
if sys.argv[1] == "no-warm-start":
    sp_milp._best_start = lambda *args, **kwargs: None  # no warm start, no Lagrangian plan
from qkdbench.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("warm", ["no-warm-start", "warm-start"])
def test_plan_after_a_solver_failure(tmp_path: Path, warm: str, run_python: RunPython) -> None:
    """A failed solve returns its incumbent; with none, `plan` exits 3 and writes nothing."""
    inst = write(tmp_path, "i.json", GOOD)
    out_file = tmp_path / "p.json"
    proc = run_python(_FAILING_SOLVER, warm, "plan", inst, "--planner", "exact", "-o", out_file)
    if warm == "no-warm-start":
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.strip().splitlines() == [
            "qkdbench plan: solver error: planner 'exact' returned no plan: "
            "HiGHS ended with status Notset"
        ]
        assert not out_file.exists()
    else:
        assert proc.returncode == 0, proc.stderr
        plan = read_plan(out_file)
        assert plan.status == "feasible"
        assert plan.routes
        assert plan.stats["native_status"] == "kNotset"
        assert plan.stats["bound"] <= plan.stats["objective"]
