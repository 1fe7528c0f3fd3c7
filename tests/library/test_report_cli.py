"""``qkdbench report`` end to end: significance, repeated runs, traces and bad traces.

One real bench (3 planners, 9 instances of the ``paper`` set) runs once; the
report runs as users run it, in a subprocess. Truth is recomputed from the CSV
files with the csv module and plain Python (ranks, medians), SciPy's Friedman
test on those ranks, and exact signed-rank p-values.
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
from pathlib import Path

import pytest
from scipy.stats import friedmanchisquare

from tests.fixture_types import OneLineError, RunCli

PLANNERS = ["coqbn", "saa-greedy", "lagrangian"]
INSTANCES = [f"usnet-r{r}-k10-s{s}" for r in (10, 20, 30) for s in (1, 2, 3)]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Path:
    out = tmp_path_factory.mktemp("bench")
    res = run_cli(
        "bench",
        "paper",
        "--planners",
        ",".join(PLANNERS),
        "--instances",
        ",".join(INSTANCES),
        "--time-limit",
        "30",
        "--scheduler",
        "none",
        "--out",
        str(out / "b"),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    return out / "b" / "results.csv"


def _traces(results: Path) -> list[dict[str, str]]:
    """Two seeds per run: each starts 10 % above the best known cost, then 2 %, then 0.5 %."""
    best = {r["instance"]: float(r["best_cost"]) for r in _rows(results)}
    rows = []
    for p, speed in (("coqbn", 0.01), ("lagrangian", 0.1)):
        for inst in INSTANCES:
            for seed in (1, 2):
                for k, gap in enumerate((10.0, 2.0, 0.5)):
                    rows.append(
                        {
                            "planner": p,
                            "instance": inst,
                            "seed": str(seed),
                            "seconds": repr(speed * seed * (k + 1)),
                            "evaluations": str(10 * (k + 1)),
                            "best_cost": repr(best[inst] * (1 + gap / 100)),
                        }
                    )
    return rows


def _twin_ranks(costs: dict[str, list[float]]) -> dict[str, list[float]]:
    """Ranks per instance, costs within 1e-9 relative tied, by plain Python."""
    out: dict[str, list[float]] = {p: [] for p in costs}
    for i in range(len(next(iter(costs.values())))):
        vals = {p: costs[p][i] for p in costs}
        for p, v in vals.items():
            below = sum(1 for q, w in vals.items() if w < v and abs(w - v) > 1e-9 * v)
            same = sum(1 for q, w in vals.items() if abs(w - v) <= 1e-9 * v)
            out[p].append(below + (same + 1) / 2)
    return out


def test_report_with_tests_and_traces(bench: Path, tmp_path: Path, run_cli: RunCli) -> None:
    d = tmp_path / "with-traces"
    results = d / "results.csv"
    d.mkdir()
    shutil.copy(bench, results)
    _write_rows(d / "traces.csv", _traces(bench))
    res = run_cli("report", str(results), "-o", str(tmp_path / "r"), "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    out = tmp_path / "r"

    # ranks, Friedman and the * against independent truth
    rows = _rows(results)
    costs = {p: [float(next(r["total"] for r in rows if r["planner"] == p and r["instance"] == i))
                 for i in INSTANCES] for p in PLANNERS}  # fmt: skip
    ranks = _twin_ranks(costs)
    fr = _rows(out / "friedman.csv")[0]
    ref = friedmanchisquare(*ranks.values())
    assert float(fr["statistic"]) == pytest.approx(ref.statistic, rel=1e-9)
    assert float(fr["pvalue"]) == pytest.approx(ref.pvalue, rel=1e-9)
    table = {r["planner"]: r for r in _rows(out / "ranks.csv")}
    for p in PLANNERS:
        assert float(table[p]["average_rank"]) == pytest.approx(statistics.mean(ranks[p]))
    # coqbn costs more than the best on all 9 instances: exact p 2 / 2**9, times at most 3
    assert all(c > min(costs[q][i] for q in PLANNERS) for i, c in enumerate(costs["coqbn"]))
    p_coqbn = float(table["coqbn"]["pvalue_holm_vs_best"])
    assert 2 / 2**9 - 1e-12 <= p_coqbn <= 3 * 2 / 2**9 + 1e-12
    assert table["coqbn"]["worse_than_best"] == "True"
    md = (out / "summary.md").read_text()
    assert "| coqbn * |" in md
    assert "Holm" in md
    mean = {r["planner"]: r for r in _rows(out / "mean_gap.csv")}
    gaps = [float(r["gap_to_best_pct"]) for r in rows if r["planner"] == "coqbn"]
    assert float(mean["coqbn"]["mean_gap_pct"]) == pytest.approx(statistics.mean(gaps))
    assert float(mean["coqbn"]["ci_low_pct"]) <= statistics.mean(gaps)
    assert statistics.mean(gaps) <= float(mean["coqbn"]["ci_high_pct"])

    # the anytime part: every (instance, target) pair of coqbn's reached by its slower seed
    ft = [r for r in _rows(out / "fixed_target.csv") if r["planner"] == "coqbn"]
    assert float(ft[-1]["share"]) == pytest.approx(5 / 6)  # 0.1 % is never reached
    assert float(ft[-1]["seconds"]) == pytest.approx(0.06)
    assert rep["anytime"]["runs"] == 2 * 9 * 2
    assert rep["anytime"]["ioh_skipped"] == []
    info = out / "ioh" / "coqbn" / "IOHprofiler_f1_usnet-r10-k10-s1.info"
    assert "DIM = 10" in info.read_text().splitlines()[0]
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 6 + 1 + 2
    for heading in ("Significance", "Anytime behaviour"):
        assert f"<h2>{heading}</h2>" in page
    assert rep["significance"]["tested"]
    assert len(rep["significance"]["ranks"]) == 3


def test_repeated_runs_count_with_their_median(
    bench: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    rows = _rows(bench)
    more = []
    for r in rows:
        for k, factor in enumerate((1.0, 1.002, 1.004)):
            total = float(r["total"]) * factor
            best = float(r["best_cost"])
            more.append(
                {
                    **r,
                    "seed": str(int(r["seed"]) + 100 * k),
                    "total": repr(total),
                    "gap_to_best_pct": repr(100 * (total - best) / best),
                }
            )
    results = _write_rows(tmp_path / "rep" / "results.csv", more)
    res = run_cli("report", str(results), "-o", str(tmp_path / "r"), "--json")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "r"
    per = {r["instance"]: r for r in _rows(out / "instances.csv")}
    for r in rows:
        median = statistics.median(float(r["total"]) * f for f in (1.0, 1.002, 1.004))
        got = float(per[r["instance"]][f"{r['planner']} total"])
        assert got == pytest.approx(median, rel=1e-12)
    spread = _rows(out / "runs.csv")
    assert len(spread) == len(rows)
    assert {s["runs"] for s in spread} == {"3"}
    summ = {r["planner"]: r for r in _rows(out / "summary.csv")}
    assert summ["coqbn"]["runs"] == "27"
    assert summ["coqbn"]["runs_per_instance"] == "3.0"
    assert "<h2>Repeated runs</h2>" in (out / "report.html").read_text()
    assert not (out / "fixed_target.csv").exists()  # no traces beside these results


def test_bad_traces_are_one_line_exit_2(
    bench: Path, tmp_path: Path, one_line_error: OneLineError, run_cli: RunCli
) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    shutil.copy(bench, d / "results.csv")
    rows = _traces(bench)
    rows[3]["seconds"] = "soon"
    _write_rows(d / "traces.csv", rows)
    one_line_error(
        run_cli("report", str(d / "results.csv"), "-o", str(tmp_path / "r")),
        "traces.csv",
        "row 5, seconds: not a number",
    )
    rows = _traces(bench)
    rows[0]["instance"] = "usnet-r60-k10-s3"  # of the set, not of these results
    _write_rows(d / "traces.csv", rows)
    one_line_error(
        run_cli("report", str(d / "results.csv"), "-o", str(tmp_path / "r")),
        "traces.csv",
        "'usnet-r60-k10-s3' is not in the results",
    )
    (d / "traces.csv").write_text("planner,seconds\n", encoding="utf-8")
    one_line_error(
        run_cli("report", str(d / "results.csv"), "-o", str(tmp_path / "r")),
        "line 1: missing column(s) instance, seed, best_cost",
    )


#: Hand edits of a bench results file, each refused: (column, cell, problem).
BAD_BENCH_CELLS = [
    ("total", "abc", "not a number"),
    ("total", "nan", "must be finite"),
    ("total", "inf", "must be finite"),
    ("total", "-5", "must be non-negative"),
    ("total", "0", "below the proven lower bound"),
    ("runtime_s", "-1", "must be non-negative"),
    ("feasible", "maybe", "expected True or False"),
    ("status", "great", "unknown value"),
    ("best_status", "fine", "unknown value"),
    ("requests", "abc", "not a number"),
    ("gap_to_best_pct", "1e400", "must be finite"),
    ("qkdbench_version", "", "empty cell"),
]


@pytest.mark.parametrize(("column", "cell", "problem"), BAD_BENCH_CELLS)
def test_every_cell_of_bench_results_is_checked(
    bench: Path, tmp_path: Path, column: str, cell: str, problem: str
) -> None:
    from qkdbench.exceptions import InputError
    from qkdbench.library.bench import read_bench_results

    rows = _rows(bench)
    rows[2][column] = cell  # a middle row: no kill cuts it short
    results = _write_rows(tmp_path / "x" / "results.csv", rows)
    with pytest.raises(InputError) as err:
        read_bench_results(results)
    assert err.value.source == str(results), err.value
    assert err.value.place.startswith("row 4"), err.value
    assert problem in err.value.problem, err.value


def test_bad_results_and_options_of_report_are_one_line_exit_2(
    bench: Path, tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    rows = _rows(bench)
    twice = _write_rows(tmp_path / "twice" / "results.csv", [*rows, rows[0]])  # a run counted twice
    one_line_error(
        run_cli("report", str(twice), "-o", str(tmp_path / "r")),
        f"row {len(rows) + 2}: duplicate run",
        "also row 2",
    )
    rows[3]["requests"] = "abc"  # a middle row is never dropped silently
    bad = _write_rows(tmp_path / "bad" / "results.csv", rows)
    one_line_error(run_cli("report", str(bad), "-o", str(tmp_path / "r")), "row 5, requests")
    for gap in ("nan", "-1", "inf"):
        res = run_cli("report", str(bench), "-o", str(tmp_path / "r"), "--target-gap", gap)
        assert res.returncode == 2, res.stderr
        assert "--target-gap" in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    one_line_error(
        run_cli("report", str(bench.parent), "-o", str(tmp_path / "r")),
        "is a directory, not a results file",
    )
    assert not (tmp_path / "r").exists()
