"""Exit statuses as a script sees them, by class, each command in a subprocess.

Classes: every command that writes a file checks its path before any work; bad
input is status 2 with one line and no traceback; status 1 means an infeasible plan
and nothing else (a planner that raises, an internal error: other statuses); a plan
that names another instance is said to be one; the table of ``docs/formats.md`` is
the one the command line has.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qkdbench.cli import EXIT_STATUSES, build_parser

ROOT = Path(__file__).resolve().parents[2]


def qkdbench(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "qkdbench.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def one_line_error(res: subprocess.CompletedProcess, needle: str, status: int = 2) -> None:
    assert res.returncode == status, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("exit")
    inst, plan = d / "i.json", d / "p.json"
    made = qkdbench(
        "instance", "--topology", "nsfnet", "--requests", 3, "--max-rate", 2, "-o", inst
    )
    assert made.returncode == 0
    assert qkdbench("plan", inst, "-o", plan).returncode == 0
    spec = d / "s.toml"
    spec.write_text(
        '[grid]\ntopology = ["nsfnet"]\nrequests = [3]\nmax_rate = [2]\nseed = [1]\n'
        'planners = ["coqbn"]\n[options]\ntime_limit = 5\n'
    )
    return {"dir": d, "instance": inst, "plan": plan, "spec": spec}


def _writers(files: dict[str, Path], target: Path) -> dict[str, list[object]]:
    """Every command that writes a file, with ``target`` as that file."""
    return {
        "instance": ["instance", "--topology", "nsfnet", "-o", target],
        "plan": ["plan", files["instance"], "-o", target],
        "library write": ["library", "write", "paper", "usnet-r10-k10-s1", "-o", target],
        "library solve": [
            "library",
            "solve",
            "paper",
            "--instances",
            "usnet-r10-k10-s1",
            "--solutions",
            target,
        ],  # fmt: skip
        "rl train": ["rl", "train", "--out", target, "--timesteps", 1],
        "--solver-log": ["--solver-log", target, "planners"],
    }


def _choices(action: Any) -> dict[str, Any]:
    return dict(action.choices or {})


def _commands() -> dict[str, Any]:
    """Every ``qkdbench COMMAND`` and its parser."""
    return _choices(next(a for a in build_parser()._actions if a.dest == "command"))


def test_every_writer_is_listed() -> None:
    """The commands with an option naming a file to write are exactly those tested."""
    writers = set()
    for name, p in _commands().items():
        subs = [a for a in p._actions if a.dest in ("library_command", "rl_command")]
        parsers = {f"{name} {k}": v for a in subs for k, v in _choices(a).items()} or {name: p}
        for full, q in parsers.items():
            for a in q._actions:
                text = (a.help or "").lower()
                if (" file to write" in text or "file to update" in text) and a.option_strings:
                    writers.add(full)
    assert writers == {"instance", "plan", "library write", "library solve", "rl train"}


@pytest.mark.parametrize(
    "case", ["instance", "plan", "library write", "library solve", "rl train", "--solver-log"]
)
def test_every_output_file_is_checked_before_the_work_starts(
    files: dict[str, Path], case: str
) -> None:
    target = files["dir"] / "no-such-dir" / "out.json"
    res = qkdbench(*_writers(files, target)[case])
    one_line_error(res, "no-such-dir")
    assert not target.parent.exists()
    res = qkdbench(*_writers(files, files["dir"])[case])  # a directory, not a file
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_plan_naming_another_instance(files: dict[str, Path]) -> None:
    data = json.loads(files["plan"].read_text())
    data["instance"] = "someone-else"
    renamed = files["dir"] / "renamed.json"
    renamed.write_text(json.dumps(data))
    res = qkdbench("evaluate", files["instance"], renamed, "--json")
    assert res.returncode == 0
    assert json.loads(res.stdout)["feasible"] is True
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "warning" in lines[0]
    assert "'someone-else'" in lines[0]
    other = files["dir"] / "other.json"
    assert (
        qkdbench("instance", "--topology", "cost239", "--requests", 3, "-o", other).returncode == 0
    )
    one_line_error(
        qkdbench("evaluate", other, files["plan"]),
        "the plan names instance 'nsfnet-r3-k2-s1', not 'cost239-r3-k10-s1', and cannot belong",
    )


def test_status_1_is_an_infeasible_plan_and_nothing_else(files: dict[str, Path]) -> None:
    data = json.loads(files["plan"].read_text())
    data["requests"][0]["reserve_qkd"][0] = 10**6  # over any capacity
    bad = files["dir"] / "over.json"
    bad.write_text(json.dumps(data))
    res = qkdbench("evaluate", files["instance"], bad)
    assert res.returncode == 1
    assert "violations" in res.stdout
    assert EXIT_STATUSES[1].startswith("evaluate only")


def test_an_internal_error_is_one_line_with_status_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (here: a handler that raises ZeroDivisionError) is neither 1 nor a traceback."""
    from qkdbench.cli import main, planning

    def broken(args: object) -> int:
        raise ZeroDivisionError("boom\nsecond line")

    monkeypatch.setattr(planning, "cmd_planners", broken)  # bound when the parser is built
    monkeypatch.delenv("QKDBENCH_DEBUG", raising=False)
    assert main(["planners"]) == 4
    assert capsys.readouterr().err.strip().splitlines() == [
        "qkdbench planners: internal error: ZeroDivisionError: boom second line "
        "(a bug; QKDBENCH_DEBUG=1 shows the traceback)"
    ]
    monkeypatch.setenv("QKDBENCH_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["planners"])


def test_the_exit_status_table_of_the_docs_is_the_command_lines() -> None:
    text = (ROOT / "docs" / "formats.md").read_text()
    section = text.split("## 13. Exit statuses")[1].split("\n## ")[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert documented == set(EXIT_STATUSES)
    for command in _commands():  # the table has a row of statuses per command
        assert re.search(rf"^\| `{command}` \|", section, re.MULTILINE), command


def test_sweep_refusals_are_one_line_exit_2(files: dict[str, Path]) -> None:
    out = files["dir"] / "sweep-out"
    ok = qkdbench("sweep", files["spec"], "--out", out, "--scheduler", "none")
    assert ok.returncode == 0, ok.stderr
    rows = (out / "results.csv").read_text()
    other = files["dir"] / "other.toml"
    other.write_text(files["spec"].read_text().replace("requests = [3]", "requests = [4]"))
    res = qkdbench("sweep", other, "--out", out, "--scheduler", "none", "--resume")
    one_line_error(res, "holds the results of another sweep (grid.requests is [3] there, [4] here)")
    assert (out / "results.csv").read_text() == rows
    doomed = files["dir"] / "doomed.toml"
    doomed.write_text(files["spec"].read_text() + "[params.coqnb]\nk = 3\n")
    res = qkdbench("sweep", doomed, "--out", files["dir"] / "never", "--scheduler", "none")
    one_line_error(res, "params.coqnb: [params.coqnb] names no planner of the grid")
    assert not (files["dir"] / "never").exists()
