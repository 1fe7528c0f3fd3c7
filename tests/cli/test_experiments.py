"""The experiment commands: compare (text, CSV, JSON, Markdown), figure, sweep, spfigures."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pytest

from tests.fixture_types import OneLineError, RunMain


def strict_json(text: str) -> Any:
    """JSON as other tools read it: NaN and Infinity are errors."""

    def bad(name: str) -> NoReturn:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=bad)


SMALL = ["nsfnet", "--requests", 4, "--max-rate", 3, "--seed", 2]


def test_compare_csv(run_main: RunMain) -> None:
    code, out, _ = run_main("compare", *SMALL, "--planners", "coqbn,exact", "--csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert list(df["planner"]) == ["exact", "coqbn"]
    assert {
        "total",
        "first_stage",
        "second_stage",
        "gap_pct",
        "gap_ref",
        "runtime_s",
        "status",
        "error",
    } <= set(df.columns)
    assert df.loc[0, "gap_pct"] == 0
    assert df.loc[1, "gap_pct"] > 0


def test_compare_json_is_strict_json_with_the_reference(run_main: RunMain) -> None:
    code, out, err = run_main(
        "compare", *SMALL, "--planners", "coqbn,exact,exact-extensive", "--json"
    )
    assert code == 0
    assert "Traceback" not in err
    data = strict_json(out)
    assert data["instance"] == "nsfnet-r4-k3-s2"
    assert data["gap_reference"]["label"] == "optimum"
    rows = {r["planner"]: r for r in data["rows"]}
    assert rows["exact"]["total"] == pytest.approx(rows["exact-extensive"]["total"], rel=1e-9)
    assert rows["coqbn"]["bound"] is None  # NaN becomes null


def test_compare_text_and_markdown(run_main: RunMain) -> None:
    code, out, _ = run_main("compare", *SMALL, "--planners", "coqbn")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "nsfnet-r4-k3-s2"
    assert lines[2].startswith("planner")
    assert "no exact planner ran" in out
    code, out, _ = run_main("compare", *SMALL, "--planners", "coqbn", "--markdown")
    assert code == 0
    assert "| coqbn |" in out
    assert "|:--|--:|" in out


def test_compare_unknown_planner_is_one_line_status_2(run_main: RunMain) -> None:
    code, out, err = run_main("compare", *SMALL, "--planners", "coqbn,nope")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "unknown planner 'nope'" in err


def test_figure_command_writes_the_panels(tmp_path: Path, run_main: RunMain) -> None:
    code, out, err = run_main(
        "figure",
        "fig3a",
        "fig3b",
        "-o",
        tmp_path,
        "--topology",
        "nsfnet",
        "--requests",
        5,
        "--max-rate",
        3,
        "--json",
    )
    assert code == 0
    data = strict_json(out)
    assert set(data) == {"fig3a", "fig3b"}
    for name in ("fig3a", "fig3b"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
        df = pd.read_csv(tmp_path / f"{name}.csv")
        assert data[name]["argmin_level"] == int(df.loc[df["total"].idxmin(), "level"])
    assert "figure fig3a" in err


def test_figure_unknown_name_is_status_2(tmp_path: Path, run_main: RunMain) -> None:
    code, _, err = run_main("figure", "fig7", "-o", tmp_path)
    assert code == 2
    assert "unknown figure 'fig7'" in err
    assert err.count("\n") == 1


SPEC = """
[grid]
topology = ["nsfnet"]
requests = [4]
max_rate = [3]
seed = [1, 2]
planners = ["coqbn", "exact"]
"""


def test_sweep_command_in_process_then_resume(tmp_path: Path, run_main: RunMain) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    out_dir = tmp_path / "out"
    code, out, err = run_main("sweep", spec, "--out", out_dir, "--scheduler", "none", "--json")
    assert code == 0, err
    data = strict_json(out)
    assert data["rows"] == 4
    summary = {r["planner"]: r for r in data["summary"]}
    assert summary["exact"]["gap_pct"] == 0
    assert summary["coqbn"]["gap_pct"] > 0
    assert summary["coqbn"]["ok"] == 2
    df = pd.read_csv(out_dir / "results.csv")
    assert len(df) == 4
    assert (df["time_limit_s"] == 60).all()  # the spec's default
    code, _, err = run_main("sweep", spec, "--out", out_dir, "--scheduler", "none")
    assert code == 2
    assert "--resume" in err
    assert err.count("\n") == 1
    code, out, err = run_main("sweep", spec, "--out", out_dir, "--scheduler", "none", "--resume")
    assert code == 0
    assert "0 to run" in err
    assert "4 rows in" in out


def test_sweep_bad_spec_is_one_line_status_2(tmp_path: Path, run_main: RunMain) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(SPEC.replace("requests = [4]", "requests = [-3]"))
    code, out, err = run_main("sweep", spec, "--out", tmp_path / "o", "--scheduler", "none")
    assert code == 2
    assert out == ""
    assert err.strip() == f"qkdbench sweep: error: {spec}: grid.requests[0]: must be >= 0, got -3"
    code, _, err = run_main("sweep", tmp_path / "missing.toml", "--scheduler", "none")
    assert code == 2
    assert "missing.toml: no such file" in err


def test_spfigures_json(run_main: RunMain) -> None:
    code, out, _ = run_main(
        "spfigures",
        "nsfnet",
        "--requests",
        3,
        "--max-rate",
        2,
        "--scenarios",
        4,
        "--oos-scenarios",
        0,
        "--json",
    )
    assert code == 0
    data = strict_json(out)
    assert data["rp_status"] == "optimal"
    assert data["rp"] <= data["eev"] + 1e-6
    assert data["vss"] == pytest.approx(data["eev"] - data["rp"])
    code, out, _ = run_main(
        "spfigures",
        "nsfnet",
        "--requests",
        3,
        "--max-rate",
        2,
        "--scenarios",
        4,
        "--oos-scenarios",
        0,
    )
    assert code == 0
    assert out.startswith("instance   nsfnet-r3-k2-s1")
    assert "VSS" in out


def test_figure_output_that_is_a_file_is_one_line_status_2(
    tmp_path: Path, run_main: RunMain, one_line_error: OneLineError
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x\n")
    res = run_main(
        "figure",
        "fig3a",
        "-o",
        taken,
        "--topology",
        "nsfnet",
        "--requests",
        3,
        "--max-rate",
        2,
    )
    one_line_error(res, str(taken), "not a directory")
    assert res.stdout == "", res.stderr
    assert res.stderr.count("\n") == 1, res.stderr


@pytest.mark.parametrize(
    "case", ["out-file", "scheduler", "module", "latin1-spec", "latin1-results"]
)
def test_sweep_bad_input_is_one_line_status_2(
    tmp_path: Path, run_main: RunMain, one_line_error: OneLineError, case: str
) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.replace('["coqbn", "exact"]', '["coqbn"]').replace("[1, 2]", "[1]"))
    out_dir = tmp_path / "out"
    args = ["--scheduler", "none"]
    needles: tuple[str, ...] = ()
    if case == "out-file":
        out_dir.write_text("x\n")
        needles = (str(out_dir), "not a directory")
    elif case == "scheduler":
        args = ["--scheduler", "bogus"]
        needles = ("bogus", "--scheduler")
    elif case == "module":
        spec.write_text(spec.read_text() + '\n[options]\nmodules = ["no_such_module"]\n')
        needles = (str(spec), "options.modules[0]", "no_such_module")
    elif case == "latin1-spec":
        spec.write_bytes(b"# caf\xe9\n" + spec.read_bytes())
        needles = (str(spec), "UTF-8")
    else:
        out_dir.mkdir()
        (out_dir / "results.csv").write_bytes(
            b"topology,requests,max_rate,seed,planner\nnsf\xe9net,4,3,1,coqbn\n"
        )
        args += ["--resume"]
        needles = (str(out_dir / "results.csv"), "UTF-8")
    res = run_main("sweep", spec, "--out", out_dir, *args)
    one_line_error(res, *needles)
    assert res.stdout == "", res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
