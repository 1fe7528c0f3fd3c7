"""``qkdbench bench`` runs: repeats and seeds, traces, the warm-up, the stored configuration.

The bench runs as users run it, in a subprocess, on two small instances of the
``paper`` set (the GA with a generation budget, so that a run ends by its
budget and not by the clock: same seed, same plan). Truth is read back from
the CSV files with the csv module and from the set's recipes.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qkdbench.library.bench import run_trace
from qkdbench.library.report_anytime import TRACE_COLUMNS, read_traces
from qkdbench.library.sets import load_set

INSTANCES = ["usnet-r10-k10-s1", "usnet-r10-k10-s2"]
GA = json.dumps({"ga": {"generations": 8, "population": 12}})
VOLATILE = {"runtime_s", "warm_up", "warm_up_s", "versions"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qkdbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def one_line_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _rows(path: Path) -> list[dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _bench(out: Path, *extra: str, repeats: int = 3) -> subprocess.CompletedProcess:
    return cli(
        "bench",
        "paper",
        "--planners",
        "coqbn,ga",
        "--instances",
        ",".join(INSTANCES),
        "--repeats",
        str(repeats),
        "--params",
        GA,
        "--time-limit",
        "60",
        "--scheduler",
        "none",
        "--out",
        str(out),
        *extra,
    )


@pytest.fixture(scope="module")
def benched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "b"
    res = _bench(out, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rows"] == 2 * (1 + 3)
    return out


def test_repeats_seeds_and_the_deterministic_mark(benched: Path) -> None:
    rows = _rows(benched / "results.csv")
    recipe_seed = {i.name: int(i.recipe["seed"]) for i in load_set("paper").instances}
    for inst in INSTANCES:
        coqbn = [r for r in rows if r["instance"] == inst and r["planner"] == "coqbn"]
        assert [(r["repeat"], r["deterministic"]) for r in coqbn] == [("0", "True")]
        assert int(coqbn[0]["seed"]) == recipe_seed[inst]
        ga = sorted(
            (r for r in rows if r["instance"] == inst and r["planner"] == "ga"),
            key=lambda r: int(r["repeat"]),
        )
        assert [int(r["repeat"]) for r in ga] == [0, 1, 2]
        assert [int(r["seed"]) for r in ga] == [recipe_seed[inst] + k for k in range(3)]
        assert {r["deterministic"] for r in ga} == {"False"}
        for r in ga + coqbn:
            assert r["status"] == "heuristic", r
            assert r["feasible"] == "True", r
            assert float(r["total"]) >= float(r["best_cost"]) * (1 - 1e-9)


def test_every_run_has_its_trace(benched: Path) -> None:
    rows = _rows(benched / "results.csv")
    raw = _rows(benched / "traces.csv")
    with (benched / "traces.csv").open(encoding="utf-8") as fh:
        assert fh.readline().strip() == ",".join(TRACE_COLUMNS)
    by_run: dict[tuple[str, str, int], list[dict[str, str]]] = {}
    for t in raw:
        by_run.setdefault((t["planner"], t["instance"], int(t["seed"])), []).append(t)
    runs = {(r["planner"], r["instance"], int(r["seed"])): r for r in rows}
    assert set(by_run) == set(runs)  # every run, and nothing else
    for key, trace in by_run.items():
        row = runs[key]
        assert int(row["trace_points"]) == len(trace)
        best = [float(t["best_cost"]) for t in trace]
        seconds = [float(t["seconds"]) for t in trace]
        assert seconds == sorted(seconds)
        assert seconds[-1] <= float(row["runtime_s"]) + 1e-9
        assert min(best) == pytest.approx(float(row["total"]), rel=1e-9)  # ends at the plan
        if key[0] == "coqbn":  # no anytime log: its final cost at its run time
            assert len(trace) == 1
            assert float(trace[0]["seconds"]) == float(row["runtime_s"])
            assert trace[0]["evaluations"] == ""
        else:  # the GA's log: evaluations counted, the best never rising
            evals = [int(t["evaluations"]) for t in trace]
            assert len(trace) >= 2
            assert evals == sorted(evals)
            assert evals[0] > 0
            assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(best))
    assert len(read_traces(benched / "traces.csv")) == len(raw)  # the report's reader takes it


def test_the_warm_up_ran_once_per_planner_before_the_timed_runs(benched: Path) -> None:
    rows = _rows(benched / "results.csv")  # in-process: file order is run order
    for planner in ("coqbn", "ga"):
        mine = [r for r in rows if r["planner"] == planner]
        assert [r["warm_up"] for r in mine] == ["ran"] + ["warm"] * (len(mine) - 1)
        assert float(mine[0]["warm_up_s"]) > 0
        assert all(r["warm_up_s"] == "" for r in mine[1:])


def _stable(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(
        ({k: v for k, v in r.items() if k not in VOLATILE} for r in rows),
        key=lambda r: (r["instance"], r["planner"], r["repeat"]),
    )


def test_same_seeds_same_rows_and_traces(benched: Path, tmp_path: Path) -> None:
    res = _bench(tmp_path / "again")
    assert res.returncode == 0, res.stderr
    assert _stable(_rows(tmp_path / "again" / "results.csv")) == _stable(
        _rows(benched / "results.csv")
    )

    def quality(path: Path) -> list[tuple[str, ...]]:
        return sorted(
            (t["planner"], t["instance"], t["seed"], t["evaluations"], t["best_cost"])
            for t in _rows(path)
        )

    assert quality(tmp_path / "again" / "traces.csv") == quality(benched / "traces.csv")


def test_resume_refuses_another_configuration(benched: Path, tmp_path: Path) -> None:
    stored = json.loads((benched / "bench.json").read_text())
    assert stored["repeats"] == 3
    assert stored["time_limit_s"] == 60.0
    assert stored["planners"] == ["coqbn", "ga"]
    assert stored["instances"] == INSTANCES
    before = (benched / "results.csv").read_text(), (benched / "traces.csv").read_text()
    one_line_error(_bench(benched, "--resume", repeats=2), "repeats 3 stored, 2 given")
    res = cli(
        "bench",
        "paper",
        "--planners",
        "coqbn",
        "--instances",
        ",".join(INSTANCES),
        "--repeats",
        "3",
        "--time-limit",
        "5",
        "--scheduler",
        "none",
        "--resume",
        "--out",
        str(benched),
    )
    one_line_error(res, "bench.json", "planners", "time_limit_s 60.0 stored, 5.0 given", "params")
    same = _bench(benched, "--resume")  # the same configuration: nothing left to run
    assert same.returncode == 0, same.stderr
    assert "0 to run" in same.stderr, same.stderr
    after = (benched / "results.csv").read_text(), (benched / "traces.csv").read_text()
    assert after == before
    # results without a stored configuration (an older bench) are not resumed
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.csv").write_text(before[0])
    one_line_error(_bench(tmp_path / "old", "--resume"), "no bench.json")


def test_a_run_killed_after_its_trace_is_redone_without_a_double_trace(
    benched: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    out.mkdir()
    for name in ("bench.json", "traces.csv"):
        (out / name).write_bytes((benched / name).read_bytes())
    lines = (benched / "results.csv").read_text().splitlines(keepends=True)
    last = next(csv.DictReader(lines[:1] + lines[-1:]))  # the last run's row goes missing
    (out / "results.csv").write_text("".join(lines[:-1]))
    with (out / "traces.csv").open("a", encoding="utf-8") as fh:
        fh.write("ga,usnet-r10-k10-s1,1,0.5,7")  # and a trace line cut short by the kill
    res = _bench(out, "--resume")
    assert res.returncode == 0, res.stderr
    assert "1 to run" in res.stderr, res.stderr
    rows = _rows(out / "results.csv")
    assert _stable(rows) == _stable(_rows(benched / "results.csv"))
    traces = _rows(out / "traces.csv")
    key = (last["planner"], last["instance"], last["seed"])
    mine = [t for t in traces if (t["planner"], t["instance"], t["seed"]) == key]
    assert len(mine) == int(last["trace_points"])  # the run's trace once, not twice
    assert len(traces) == len(_rows(benched / "traces.csv"))
    read_traces(out / "traces.csv")


def test_warm_up_plans_a_small_copy_first_in_each_process(tmp_path: Path) -> None:
    """A planner that logs its calls: the warm-up's call comes first, once per worker."""
    for scheduler, extra in (("none", []), ("local", ["--workers", "2"])):
        log = tmp_path / f"calls-{scheduler}.txt"
        out = tmp_path / f"count-{scheduler}"
        res = cli(
            "bench",
            "paper",
            "--planners",
            "test-count",
            "--instances",
            ",".join(INSTANCES),
            "--repeats",
            "2",
            "--modules",
            "tests.library.counting_planner",
            "--scheduler",
            scheduler,
            *extra,
            "--out",
            str(out),
            env={"QKDBENCH_TEST_CALLS": str(log)},
        )
        assert res.returncode == 0, res.stderr
        calls = [line.split(",") for line in log.read_text().splitlines()]
        rows = _rows(out / "results.csv")
        assert len(rows) == 4
        assert {r["deterministic"] for r in rows} == {"False"}
        pids = list(dict.fromkeys(c[0] for c in calls))
        for pid in pids:
            mine = [c for c in calls if c[0] == pid]
            assert mine[0][1].endswith("-warm-up")
            assert mine[0][2] == "3"  # first, 3 requests
            assert all(not c[1].endswith("-warm-up") for c in mine[1:])  # and only once
        timed = sorted((c[1], int(c[3])) for c in calls if not c[1].endswith("-warm-up"))
        assert timed == sorted((r["instance"], int(r["seed"])) for r in rows)
        assert sum(r["warm_up"] == "ran" for r in rows) == len(pids)
        assert {r["warm_up"] for r in rows} <= {"ran", "warm"}
        if scheduler == "none":
            assert len(pids) == 1
    # switched off: no warm-up call, and the rows say so
    log = tmp_path / "calls-off.txt"
    res = cli(
        "bench",
        "paper",
        "--planners",
        "test-count",
        "--instances",
        INSTANCES[0],
        "--modules",
        "tests.library.counting_planner",
        "--scheduler",
        "none",
        "--no-warm-up",
        "--out",
        str(tmp_path / "off"),
        env={"QKDBENCH_TEST_CALLS": str(log)},
    )
    assert res.returncode == 0, res.stderr
    assert [c.split(",")[1] for c in log.read_text().splitlines()] == [INSTANCES[0]]
    row = _rows(tmp_path / "off" / "results.csv")[0]
    assert row["warm_up"] == "off"
    assert row["warm_up_s"] == ""
    assert json.loads((tmp_path / "off" / "bench.json").read_text())["warm_up"] is False


def test_bad_bench_options_exit_2(tmp_path: Path) -> None:
    out = str(tmp_path / "x")
    base = ["bench", "paper", "--planners", "coqbn", "--scheduler", "none", "--out", out]
    one_line_error(cli(*base, "--repeats", "0"), "--repeats", ">= 1")
    one_line_error(cli(*base, "--params", '{"coqbn": 3'), "--params", "not JSON")
    one_line_error(cli(*base, "--params", '{"coqbn": 3}'), "--params", "JSON object")
    one_line_error(cli(*base, "--params", '{"ga": {}}'), "--params", "not benched: ga")
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- run_trace


def test_run_trace_by_hand() -> None:
    log = [
        {"evaluations": 5, "seconds": 0.2, "best": 12.0},
        {"evaluations": 1, "seconds": 0.1, "best": 15.0},
        {"evaluations": 9, "seconds": 0.4, "best": 10.0, "bound": 9.0},
    ]
    rows = run_trace({"anytime": log, "evaluations": 11}, 10.0, 0.5)
    assert [(r["seconds"], r["evaluations"], r["best_cost"]) for r in rows] == [
        (0.1, 1, 15.0),
        (0.2, 5, 12.0),
        (0.4, 9, 10.0),
    ]
    assert [r["best_bound"] for r in rows] == ["", "", 9.0]
    # a log that stops above the plan's cost gets the final point (evaluations of the run)
    short = run_trace({"anytime": log[:2], "evaluations": 11}, 10.0, 0.5, bound=8.0)
    assert [(r["seconds"], r["evaluations"], r["best_cost"], r["best_bound"]) for r in short][
        -1
    ] == (0.5, 11, 10.0, 8.0)
    # a log cheaper than the plan returned is not the plan's: the final point alone
    wrong = run_trace({"anytime": [{"seconds": 0.1, "best": 9.0}]}, 10.0, 0.5)
    assert [(r["seconds"], r["best_cost"]) for r in wrong] == [(0.5, 10.0)]
    # no log: the final point; a bound above the cost is not a bound
    assert run_trace({}, 10.0, 0.3, bound=11.0) == [
        {"seconds": 0.3, "evaluations": "", "best_cost": 10.0, "best_bound": ""}
    ]
    assert run_trace({"anytime": log}, math.inf, 0.3) == []
    junk: dict[str, Any] = {"anytime": ["x", {"seconds": "a", "best": 3.0}, {"seconds": -1}]}
    assert [r["best_cost"] for r in run_trace(junk, 10.0, 0.3)] == [10.0]


def test_report_of_a_bench_dir_draws_the_anytime_figures(benched: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = cli(
        "report",
        str(benched / "results.csv"),
        "-o",
        str(out),
        "--ioh-budget",
        "milliseconds",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert rep["anytime"]["runs"] == 8
    assert rep["anytime"]["ioh_skipped"] == []
    for name in ("fixed_target", "fixed_budget"):
        assert (out / f"{name}.png").stat().st_size > 1000
    page = (out / "report.html").read_text()
    assert "Anytime behaviour" in page
    assert "Repeated runs" in page
    # at the last budget every run is done: the median gap is that of the final costs
    rows = _rows(benched / "results.csv")
    fb = _rows(out / "fixed_budget.csv")
    for planner in ("coqbn", "ga"):
        last = [r for r in fb if r["planner"] == planner][-1]
        gaps = sorted(
            100 * (float(r["total"]) - float(r["best_cost"])) / float(r["best_cost"])
            for r in rows
            if r["planner"] == planner
        )
        assert int(last["runs"]) == len(gaps) == int(last["solved"])
        k = math.ceil(0.5 * len(gaps)) - 1  # the report's quantile: no interpolation
        assert float(last["median_gap_pct"]) == pytest.approx(gaps[k], abs=1e-9)
    # the IOHprofiler files hold every run, one block per seed
    info = (out / "ioh" / "ga" / "IOHprofiler_f1_usnet-r10-k10-s1.info").read_text()
    assert info.count("|") == 3
