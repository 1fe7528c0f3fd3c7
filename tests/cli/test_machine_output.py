"""Machine-readable output, as a script reads it: every ``--json`` / ``--csv`` command in a
subprocess, its whole standard output parsed.

What a C library (the MILP solver) writes goes to the file descriptors, which pytest's
``capsys`` never sees: only a real subprocess shows it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fixture_types import RunCli

SMALL = ["nsfnet", "--requests", "4", "--max-rate", "3"]

SPEC = """
[grid]
topology = ["nsfnet"]
requests = [4]
max_rate = [3]
seed = [1]
planners = ["coqbn", "exact"]
"""


@pytest.fixture(scope="module")
def files(
    tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli
) -> tuple[Path, Path, Path, Path]:
    d = tmp_path_factory.mktemp("machine")
    inst = d / "i.json"
    plan = d / "p.json"
    spec = d / "s.toml"
    spec.write_text(SPEC)
    assert (
        run_cli(
            "instance", "--topology", "nsfnet", "--requests", 4, "--max-rate", 3, "-o", inst
        ).returncode
        == 0
    )
    assert run_cli("plan", inst, "--planner", "exact", "-o", plan).returncode == 0
    return d, inst, plan, spec


def _json_commands(files: tuple[Path, Path, Path, Path]) -> dict[str, list[object]]:
    d, inst, plan, spec = files
    return {
        "compare": ["compare", *SMALL, "--json"],
        "spfigures": ["spfigures", *SMALL, "--scenarios", 3, "--oos-scenarios", 20, "--json"],
        "evaluate": ["evaluate", inst, plan, "--json"],
        "planners": ["planners", "--json"],
        "figure": [
            "figure",
            "fig3a",
            "-o",
            d / "fig",
            "--topology",
            "nsfnet",
            "--requests",
            4,
            "--max-rate",
            3,
            "--json",
            "--quiet",
        ],
        "sweep-in-process": [
            "sweep",
            spec,
            "--out",
            d / "sw-none",
            "--scheduler",
            "none",
            "--json",
        ],
        "sweep-dask": ["sweep", spec, "--out", d / "sw-local", "--workers", 1, "--json"],
    }


@pytest.mark.parametrize(
    "name",
    ["compare", "spfigures", "evaluate", "planners", "figure", "sweep-in-process", "sweep-dask"],
)
def test_json_stdout_is_exactly_one_json_object(
    files: tuple[Path, Path, Path, Path], name: str, run_cli: RunCli
) -> None:
    res = run_cli(*_json_commands(files)[name])
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)  # the whole of standard output, nothing before or after
    assert isinstance(data, (dict, list))
    assert data
    assert "Running HiGHS" not in res.stdout


def test_compare_csv_is_exactly_a_table(
    files: tuple[Path, Path, Path, Path], run_cli: RunCli
) -> None:
    res = run_cli("compare", *SMALL, "--csv")
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(io.StringIO(res.stdout))
    assert "planner" in df.columns
    assert {"exact", "coqbn"} <= set(df["planner"])
    assert df.loc[df["planner"] == "exact", "status"].item() == "optimal"


def test_human_tables_carry_no_solver_banner(run_cli: RunCli) -> None:
    res = run_cli("compare", *SMALL)
    assert res.returncode == 0, res.stderr
    assert "HiGHS" not in res.stdout
    assert "Running" not in res.stdout


def test_solver_log_goes_to_a_file_or_stderr_never_stdout(
    files: tuple[Path, Path, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    log = tmp_path / "solver.log"
    res = run_cli("--solver-log", log, "compare", *SMALL, "--planners", "exact", "--json")
    assert res.returncode == 0, res.stderr
    json.loads(res.stdout)
    text = log.read_text()
    assert "MIP" in text
    assert "HiGHS" not in res.stdout
    res = run_cli("--solver-log", "-", "compare", *SMALL, "--planners", "exact", "--json")
    assert res.returncode == 0
    json.loads(res.stdout)
    assert "HiGHS" in res.stderr  # the banner and the log, on standard error
