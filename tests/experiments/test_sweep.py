"""Sweeps: spec reading, the results store, kill-and-resume, LocalCluster = in-process, errors.

Tiny instances (NSFNET, 3-4 requests, K <= 3) and the fast planners only.
The planners ``test-fail`` and ``test-block`` come from ``tests/experiments/faulty_planners.py``,
an importable module named in the spec's ``options.modules`` so that Dask worker
processes and a sweep run as a subprocess register them too.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from qkdbench.exceptions import InputError
from qkdbench.experiments.store import RESULT_COLUMNS, read_results, summarize
from qkdbench.experiments.sweep import (
    GridPoint,
    grid_points,
    reference_planner,
    run_point,
    run_sweep,
)
from qkdbench.experiments.sweep_spec import SweepSpec, read_spec, spec_from_dict

ROOT = Path(__file__).resolve().parents[2]
COSTS = [
    "instance_hash",
    "topology",
    "requests",
    "max_rate",
    "seed",
    "planner",
    "total",
    "first_stage",
    "second_stage",
    "gap_pct",
    "gap_ref",
    "bound",
    "feasible",
    "status",
]


def spec_text(
    planners: Sequence[str],
    seeds: Sequence[int] = (1, 2),
    requests: Sequence[int] = (3, 4),
    modules: bool = True,
) -> str:
    mods = 'modules = ["tests.experiments.faulty_planners"]' if modules else ""
    return f"""
[grid]
topology = ["nsfnet"]
requests = {list(requests)}
max_rate = [2]
seed = {list(seeds)}
planners = {list(planners)!r}

[options]
time_limit = 30
{mods}
""".replace("'", '"')


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --------------------------------------------------------------------------- spec


def test_spec_reads_the_formats_example(tmp_path: Path) -> None:
    spec = read_spec(
        write_spec(
            tmp_path,
            """
[grid]
topology  = ["usnet", "nsfnet"]
requests  = [10, 20, 40]
max_rate  = [10]
seed      = [1, 2, 3]
planners  = ["coqbn", "saa-greedy", "ga", "exact"]

[options]
time_limit = 60
""",
        )
    )
    assert spec.topology == ("usnet", "nsfnet")
    assert spec.requests == (10, 20, 40)
    assert spec.time_limit == 60.0
    assert spec.planner_seed is None
    points = grid_points(spec)
    assert len(points) == 2 * 3 * 1 * 3 * 4
    assert len(set(points)) == len(points)
    # the reference planner comes first in every instance
    assert reference_planner(spec.planners) == "exact"
    assert [p.planner for p in points[:4]] == ["exact", "coqbn", "saa-greedy", "ga"]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("[grid]\ntopology=['usnet']\n", "grid"),
        (
            "[grid]\ntopology=['usnet']\nrequests=[1]\nmax_rate=[1]\nseed=[1]\nplanners=[]\n",
            "grid.planners",
        ),
        (
            "[grid]\ntopology=['usnet']\nrequests=['x']\nmax_rate=[1]\nseed=[1]\nplanners=['a']\n",
            "grid.requests[0]",
        ),
        (
            "[grid]\ntopology=['usnet']\nrequests=[1]\nmax_rate=[1]\nseed=[1]\nplanners=['a']\n"
            "[options]\ntime_limit=-1\n",
            "options.time_limit",
        ),
        (
            "[grid]\ntopology=['usnet']\nrequests=[1]\nmax_rate=[1]\nseed=[1]\nplanners=['a']\n"
            "[options]\ntimelimit=3\n",
            "options",
        ),
        ("[grid\n", ""),
    ],
)
def test_bad_spec_is_one_line_naming_file_and_place(tmp_path: Path, text: str, place: str) -> None:
    path = write_spec(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_spec(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert place in msg


def test_scalars_are_one_element_lists() -> None:
    spec = spec_from_dict(
        {
            "grid": {
                "topology": "nsfnet",
                "requests": 3,
                "max_rate": 2,
                "seed": 1,
                "planners": "coqbn",
            }
        }
    )
    assert grid_points(spec) == [GridPoint("nsfnet", 3, 2, 1, "coqbn")]


# --------------------------------------------------------------------------- one run


def test_run_point_records_costs_gap_and_versions() -> None:
    opts: dict[str, Any] = {"time_limit": 30, "planner_seed": None, "modules": [], "params": {}}
    ref = run_point(("nsfnet", 3, 2, 1, "exact"), opts)
    row = run_point(("nsfnet", 3, 2, 1, "coqbn"), opts, ref)
    assert set(row) == set(RESULT_COLUMNS)
    assert ref["status"] == "optimal"
    assert ref["gap_pct"] == 0.0
    assert ref["gap_ref"] == "optimum"
    assert row["instance_hash"] == ref["instance_hash"]
    assert len(row["instance_hash"]) == 16
    assert row["gap_pct"] == pytest.approx(100 * (row["total"] - ref["total"]) / ref["total"])
    assert row["gap_pct"] >= 0
    assert row["gap_ref"] == "optimum"
    assert "qkdbench=" in row["versions"]
    assert "numba=" in row["versions"]


def test_run_point_never_raises() -> None:
    opts: dict[str, Any] = {"time_limit": 30, "planner_seed": None, "modules": [], "params": {}}
    bad_topology = run_point(("no-such-topology", 3, 2, 1, "coqbn"), opts)
    assert bad_topology["status"] == "error"
    assert bad_topology["error"]
    bad_module = run_point(("nsfnet", 3, 2, 1, "coqbn"), {**opts, "modules": ["no_such_mod"]})
    assert bad_module["status"] == "error"
    assert "no_such_mod" in bad_module["error"]


# --------------------------------------------------------------------------- the store


def test_truncated_last_line_is_dropped_and_redone(tmp_path: Path) -> None:
    spec = read_spec(write_spec(tmp_path, spec_text(["coqbn"], modules=False)))
    out = tmp_path / "out"
    full = run_sweep(spec, out, scheduler="none")
    assert len(full) == 4
    path = out / "results.csv"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # a kill mid-write
    assert len(read_results(path)) == 3
    messages: list[str] = []
    again = run_sweep(spec, out, scheduler="none", resume=True, log=messages.append)
    assert "3 already stored, 1 to run" in messages[0]
    assert len(again) == 4
    assert again[COSTS].equals(full[COSTS])
    # the three whole rows kept byte for byte, the damaged one redone once
    assert path.read_text().startswith("".join(lines[:-1]))
    assert len(path.read_text().splitlines()) == 5


def test_existing_results_need_resume(tmp_path: Path) -> None:
    spec = read_spec(write_spec(tmp_path, spec_text(["coqbn"], modules=False)))
    run_sweep(spec, tmp_path / "out", scheduler="none")
    with pytest.raises(InputError, match="--resume"):
        run_sweep(spec, tmp_path / "out", scheduler="none")
    messages: list[str] = []
    df = run_sweep(spec, tmp_path / "out", scheduler="none", resume=True, log=messages.append)
    assert len(df) == 4
    assert "0 to run" in messages[0]


# --------------------------------------------------------------------------- kill and resume


def _data_rows(path: Path) -> int:
    if not path.exists():
        return 0
    return max(0, sum(1 for line in path.read_text().splitlines() if line) - 1)


def test_killed_sweep_resumes_with_one_row_per_grid_point(tmp_path: Path) -> None:
    """Run the sweep as a process, kill it (SIGKILL) after 5 rows, resume it."""
    spec = write_spec(tmp_path, spec_text(["coqbn", "test-block"], seeds=(1, 2, 3), requests=(3,)))
    out = tmp_path / "out"
    results = out / "results.csv"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [
        sys.executable,
        "-m",
        "qkdbench.cli",
        "sweep",
        str(spec),
        "--out",
        str(out),
        "--scheduler",
        "none",
    ]
    # 6 grid points in the order (seed, planner): the 6th, test-block with seed 3, blocks
    proc = subprocess.Popen(
        cmd,
        env={**env, "QKDBENCH_TEST_BLOCK": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while _data_rows(results) < 5 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it was killed"
        assert _data_rows(results) == 5
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = results.read_text()
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "6 grid points, 5 already stored, 1 to run" in done.stderr
    after = results.read_text()
    assert after.startswith(before)  # nothing stored was recomputed or rewritten
    df = pd.read_csv(results)
    keys = df[["topology", "requests", "max_rate", "seed", "planner"]]
    assert len(df) == 6
    assert not keys.duplicated().any()
    assert set(map(tuple, keys.to_numpy().tolist())) == {
        ("nsfnet", 3, 2, s, p) for s in (1, 2, 3) for p in ("coqbn", "test-block")
    }
    assert (df["status"] == "heuristic").all()
    # test-block plans as CO-QBN does: same costs on every instance
    pivot = df.pivot(index="seed", columns="planner", values="total")
    assert (pivot["coqbn"] == pivot["test-block"]).all()


# --------------------------------------------------------------------------- Dask


@pytest.mark.slow
def test_local_cluster_and_in_process_give_identical_rows(
    tmp_path: Path, faulty_planners: ModuleType
) -> None:
    """Same seeds, same rows; the failing planner is an error row in both and the sweep ends."""
    spec = read_spec(write_spec(tmp_path, spec_text(["coqbn", "exact", "test-fail"])))
    local = run_sweep(spec, tmp_path / "local", scheduler="local", n_workers=2)
    inproc = run_sweep(spec, tmp_path / "inproc", scheduler="none")
    assert len(local) == len(inproc) == len(grid_points(spec)) == 12
    pd.testing.assert_frame_equal(local[COSTS], inproc[COSTS])
    fails = local[local["planner"] == "test-fail"]
    assert (fails["status"] == "error").all()
    assert fails["error"].str.contains("RuntimeError: deliberate failure").all()
    assert fails["total"].isna().all()
    ok = local[local["planner"] != "test-fail"]
    assert ok["status"].isin(["optimal", "heuristic"]).all()
    assert ok["feasible"].all()
    # gaps are measured against the exact run of the same instance
    exact = ok[ok["planner"] == "exact"].set_index("instance_hash")["total"]
    for _, r in ok[ok["planner"] == "coqbn"].iterrows():
        ref = exact[r["instance_hash"]]
        assert r["gap_pct"] == pytest.approx(100 * (r["total"] - ref) / ref)
        assert r["total"] >= ref - 1e-6
    assert (ok[ok["planner"] == "exact"]["gap_pct"] == 0).all()


def test_failing_planner_in_process_is_recorded_and_the_sweep_completes(
    tmp_path: Path, faulty_planners: ModuleType
) -> None:
    spec = read_spec(write_spec(tmp_path, spec_text(["test-fail", "coqbn"], seeds=(1,))))
    df = run_sweep(spec, tmp_path / "out", scheduler="none")
    assert list(df["planner"]) == ["test-fail", "coqbn", "test-fail", "coqbn"]
    assert list(df["status"]) == ["error", "heuristic", "error", "heuristic"]
    assert df.loc[0, "error"] == "RuntimeError: deliberate failure"
    assert math.isnan(df.loc[0, "gap_pct"])  # no exact planner: no gap
    table = summarize(df)
    fails = table[table["planner"] == "test-fail"]
    assert len(fails) == 2  # one line per request count
    assert fails["errors"].sum() == 2
    assert fails["ok"].sum() == 0
    assert table[table["planner"] == "coqbn"]["ok"].sum() == 2


def test_existing_scheduler_is_used_and_left_running(tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    spec = read_spec(write_spec(tmp_path, spec_text(["coqbn", "exact"], seeds=(1,), modules=False)))
    inproc = run_sweep(spec, tmp_path / "inproc", scheduler="none")
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        messages: list[str] = []
        remote = run_sweep(
            spec, tmp_path / "remote", scheduler=cluster.scheduler_address, log=messages.append
        )
        assert any(cluster.scheduler_address in m for m in messages)
        with Client(cluster) as client:  # still up: the sweep closed only its own client
            assert client.submit(lambda: 41 + 1).result() == 42
    pd.testing.assert_frame_equal(remote[COSTS], inproc[COSTS])


# --------------------------------------------------------------------------- bad input


def _tiny_spec(tmp_path: Path, modules: bool = False) -> SweepSpec:
    return read_spec(
        write_spec(tmp_path, spec_text(["coqbn"], seeds=(1,), requests=(3,), modules=modules))
    )


def test_a_spec_that_is_not_utf8_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(spec_text(["coqbn"]).replace("[grid]", "# caf\xe9\n[grid]").encode("latin-1"))
    with pytest.raises(InputError) as err:
        read_spec(path)
    assert str(err.value).startswith(str(path))
    assert "UTF-8" in str(err.value)
    assert "\n" not in str(err.value)


def test_results_that_are_not_utf8_are_an_input_error_under_resume(tmp_path: Path) -> None:
    spec = _tiny_spec(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    results = out / "results.csv"
    results.write_bytes(b"topology,requests,max_rate,seed,planner\nnsf\xe9net,3,2,1,coqbn\n")
    for resume in (True, False):
        with pytest.raises(InputError) as err:
            run_sweep(spec, out, scheduler="none", resume=resume)
        assert err.value.source == str(results)
        assert "UTF-8" in err.value.problem
    with pytest.raises(InputError):
        read_results(results)


def test_out_that_is_a_regular_file_is_not_a_directory(tmp_path: Path) -> None:
    spec = _tiny_spec(tmp_path)
    out = tmp_path / "taken"
    out.write_text("something else\n")
    with pytest.raises(InputError, match="not a directory") as err:
        run_sweep(spec, out, scheduler="none")
    assert err.value.source == str(out)
    assert out.read_text() == "something else\n"
    with pytest.raises(InputError) as err:  # a file on the way to --out
        run_sweep(spec, out / "sub", scheduler="none")
    assert err.value.source == str(out / "sub")


@pytest.mark.parametrize("address", ["bogus", "tcp://127.0.0.1:1"])
def test_a_scheduler_that_does_not_answer_is_an_input_error(tmp_path: Path, address: str) -> None:
    spec = _tiny_spec(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(InputError) as err:
        run_sweep(spec, tmp_path / "out", scheduler=address, connect_timeout=2)
    assert time.monotonic() - t0 < 60
    assert err.value.source == address
    assert err.value.place == "--scheduler"
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out" / "results.csv").exists()  # nothing written


def test_a_module_that_cannot_be_imported_names_its_place(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        spec_text(["coqbn"], seeds=(1,), requests=(3,), modules=False)
        + 'modules = ["no_such_module"]\n',
    )
    spec = read_spec(path)
    with pytest.raises(InputError) as err:
        run_sweep(spec, tmp_path / "out", scheduler="none")
    assert err.value.place == "options.modules[0]"
    assert err.value.source == str(path)
    assert "no_such_module" in err.value.problem


@pytest.mark.parametrize("workers", [0, -1])
def test_zero_workers_is_refused(tmp_path: Path, workers: int) -> None:
    # refused whatever the scheduler (in-process here, so that a regression fails, not hangs)
    with pytest.raises(ValueError, match="worker"):  # InputError is a ValueError
        run_sweep(_tiny_spec(tmp_path), tmp_path / "out", scheduler="none", n_workers=workers)
    assert not (tmp_path / "out").exists()


def test_a_reference_claim_contradicted_by_a_cheaper_run_is_not_used() -> None:
    opts: dict[str, Any] = {"time_limit": 30, "planner_seed": None, "modules": [], "params": {}}
    own = run_point(("nsfnet", 3, 2, 1, "coqbn"), opts)
    liar = {
        "planner": "exact",
        "status": "optimal",
        "total": str(own["total"] * 1.5),
        "bound": "1e99",
        "feasible": "True",
    }
    row = run_point(("nsfnet", 3, 2, 1, "coqbn"), opts, liar)
    assert math.isnan(row["gap_pct"])
    assert "exact" in row["gap_ref"]
    assert "contradicted" in row["gap_ref"]
    honest = {**liar, "total": str(own["total"] * 0.9), "bound": str(own["total"] * 0.9)}
    row = run_point(("nsfnet", 3, 2, 1, "coqbn"), opts, honest)
    assert row["gap_ref"] == "optimum"
    assert row["gap_pct"] == pytest.approx(100 / 0.9 - 100)


# --------------------------------------------------------------------------- refused before any run

#: Specs no run of which could succeed, each refused before anything runs:
#: (replacements in the spec text, place, problem).
GA = ('planners = ["coqbn"]', 'planners = ["coqbn", "ga"]')
DOOMED_SPECS = [
    ((("time_limit = 30", "time_limit = 30\n[params.coqbm]\nx = 1"),), "params.coqbm", "names no"),
    (
        (GA, ("time_limit = 30", "time_limit = 30\n[params.ga]\npopulaton = 4")),
        "params.ga",
        "unexpected keyword argument 'populaton'",
    ),
    ((('topology = ["nsfnet"]', 'topology = ["no/such.edges"]'),), "grid.topology[0]", "unknown"),
    ((("requests = [3]", "requests = [100000]"),), "grid.requests[0]", "source/target pairs"),
    (
        (("time_limit = 30", "time_limit = 30\nplanner_seed = -1"),),
        "options.planner_seed",
        ">= 0",
    ),
    ((("max_rate = [2]", "max_rate = [10000000]"),), "grid.max_rate[0]", "at most"),
    ((("time_limit = 30", "time_limit = 1e300"),), "options.time_limit", "at most"),
    (
        (GA, ("time_limit = 30", "time_limit = 30\n[params.ga]\ncx_prob = nan")),
        "params.ga.cx_prob",
        "must be finite",
    ),
]


@pytest.mark.parametrize(("edits", "place", "problem"), DOOMED_SPECS)
def test_a_spec_whose_runs_could_only_fail_is_refused_before_anything_runs(
    tmp_path: Path, edits: tuple[tuple[str, str], ...], place: str, problem: str
) -> None:
    text = spec_text(["coqbn"], seeds=(1,), requests=(3,), modules=False)
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path = write_spec(tmp_path, text)
    with pytest.raises(InputError) as err:
        run_sweep(read_spec(path), tmp_path / "out", scheduler="none")
    assert err.value.source == str(path), err.value
    assert err.value.place == place, err.value
    assert problem in err.value.problem
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing written, nothing run


# --------------------------------------------------------------------------- --resume


def test_resume_refuses_the_results_of_another_configuration(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = read_spec(write_spec(tmp_path, spec_text(["coqbn"], seeds=(1,), requests=(3,))))
    run_sweep(first, out, scheduler="none")
    rows = (out / "results.csv").read_text()
    for other in (
        spec_text(["coqbn"], seeds=(1,), requests=(4,)),  # another grid
        spec_text(["coqbn"], seeds=(1,), requests=(3,)).replace(
            "time_limit = 30", "time_limit = 7"
        ),
        spec_text(["coqbn"], seeds=(1,), requests=(3,), modules=False),  # other modules
    ):
        spec = read_spec(write_spec(tmp_path, other, "other.toml"))
        with pytest.raises(InputError, match="another sweep") as err:
            run_sweep(spec, out, scheduler="none", resume=True)
        assert "\n" not in str(err.value)
        assert (out / "results.csv").read_text() == rows  # nothing appended
    again = run_sweep(first, out, scheduler="none", resume=True)  # the same spec resumes
    assert len(again) == 1
    assert (out / "results.csv").read_text() == rows


def test_resume_without_a_stored_configuration_checks_the_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sweep(
        read_spec(write_spec(tmp_path, spec_text(["coqbn"], seeds=(1,), requests=(3,)))),
        out,
        scheduler="none",
    )
    (out / "sweep.json").unlink()  # results of a qkdbench that stored no configuration
    other = read_spec(
        write_spec(tmp_path, spec_text(["coqbn"], seeds=(1,), requests=(4,)), "o.toml")
    )
    with pytest.raises(InputError, match="row 2: holds a run of another sweep"):
        run_sweep(other, out, scheduler="none", resume=True)


# --------------------------------------------------------------------------- stored results


#: Hand edits of a stored results file: (column, cell, problem).
BAD_CELLS = [
    ("total", "abc", "not a number"),
    ("total", "nan", "must be finite"),
    ("total", "inf", "must be finite"),
    ("total", "-5", "must be non-negative"),
    ("total", "1e300", "at most"),
    ("runtime_s", "-1", "must be non-negative"),
    ("feasible", "maybe", "expected True or False"),
    ("status", "great", "unknown value"),
    ("requests", "abc", "not a number"),
    ("requests", "2.5", "must be an integer"),
    ("planner", "", "empty cell"),
]


@pytest.mark.parametrize(("column", "cell", "problem"), BAD_CELLS)
def test_every_cell_of_stored_results_is_checked(
    tmp_path: Path, column: str, cell: str, problem: str
) -> None:
    import csv

    out = tmp_path / "out"
    spec = read_spec(write_spec(tmp_path, spec_text(["coqbn"], seeds=(1, 2), requests=(3,))))
    run_sweep(spec, out, scheduler="none")
    path = out / "results.csv"
    rows = list(csv.DictReader(path.open()))
    rows[0][column] = cell  # the first of two rows: not a last line cut short
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(InputError) as err:
        read_results(path)
    assert err.value.place == f"row 2, {column}", err.value
    assert problem in err.value.problem, err.value
    with pytest.raises(InputError):  # and a resume does not run on it
        run_sweep(spec, out, scheduler="none", resume=True)


def test_a_run_stored_twice_or_a_damaged_middle_line_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = read_spec(write_spec(tmp_path, spec_text(["coqbn"], seeds=(1, 2), requests=(3,))))
    run_sweep(spec, out, scheduler="none")
    path = out / "results.csv"
    header, first, second = path.read_text().splitlines(keepends=True)
    path.write_text(header + first + second + first)
    with pytest.raises(InputError, match=r"row 4: duplicate run .* also row 2"):
        run_sweep(spec, out, scheduler="none", resume=True)
    path.write_text(header + first[: len(first) // 2] + "\n" + second)
    with pytest.raises(InputError, match="row 2: .*cells, the header has"):
        read_results(path)
    path.write_text(header + first + second[: len(second) // 2])  # a kill: the last line only
    assert len(read_results(path)) == 1
