"""Anytime traces: reading, fixed-target ECDFs, fixed-budget curves and the IOHprofiler files.

Truth: small traces worked out by hand, a plain-Python twin of the ECDF
evaluated at arbitrary times, numpy's ``inverted_cdf`` quantiles, and the
IOHprofiler layout parsed back line by line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qkdbench.exceptions import InputError
from qkdbench.library.report_anytime import (
    TARGET_GAPS_PCT,
    fixed_budget,
    fixed_target_ecdf,
    hitting_times,
    read_traces,
    reference_costs,
    trace_gaps,
    write_ioh,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


HAND = """planner,instance,seed,seconds,evaluations,best_cost,best_bound
p,i,1,0.5,10,120,
p,i,1,2.0,40,105,90
p,i,1,8.0,90,100.5,
p,j,1,1.0,5,230,
p,j,1,4.0,20,201,
q,i,1,0.1,1,101,
q,i,2,0.2,2,111,
q,i,2,3.0,30,109,
"""


@pytest.fixture
def hand(tmp_path: Path) -> pd.DataFrame:
    traces = read_traces(_write(tmp_path / "traces.csv", HAND))
    ref = reference_costs(traces, pd.Series({"i": 100.0, "j": 200.0}))
    return trace_gaps(traces, ref)


def test_read_traces_types_and_orders_the_rows(tmp_path: Path) -> None:
    text = "planner,instance,seed,seconds,best_cost\np,i,2,3,9\np,i,1,5,8\np,i,1,1,10\n"
    t = read_traces(_write(tmp_path / "t.csv", text))
    assert t[["seed", "seconds", "best_cost"]].values.tolist() == [[1, 1, 10], [1, 5, 8], [2, 3, 9]]
    assert t["evaluations"].isna().all()
    assert t["best_bound"].isna().all()
    assert list(t.columns) == [
        "planner",
        "instance",
        "seed",
        "seconds",
        "evaluations",
        "best_cost",
        "best_bound",
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("planner,instance,seconds,best_cost\np,i,1,2\n", "line 1: missing column(s) seed"),
        ("planner,instance,seed,seconds,best_cost\np,i,1,x,2\n", "row 2, seconds: not a number"),
        ("planner,instance,seed,seconds,best_cost\np,i,1.5,1,2\n", "row 2, seed: must be an int"),
        ("planner,instance,seed,seconds,best_cost\np,i,1,1,-2\n", "best_cost: must be non-neg"),
        ("planner,instance,seed,seconds,best_cost\np,i,1,1,inf\n", "best_cost: must be finite"),
        ("planner,instance,seed,seconds,best_cost\np,i,1,1,1e300\n", "best_cost: must be at most"),
        ("planner,instance,seed,seconds,best_cost\np,i,1,1,2\np,i,1,1,2\n", "row 3: duplicate row"),
        ('planner,instance,seed,seconds,best_cost\np,"i,1,1,2\n', "line 2: malformed CSV"),
        ("planner,instance,seed,seconds,best_cost\np,i,1,1\n", "row 2: 4 fields, the header"),
        ("planner,instance,seed,seconds,best_cost\n", "no trace rows"),
        (
            "planner,instance,seed,seconds,evaluations,best_cost\np,i,1,1,50,9\np,i,1,2,40,8\n",
            "row 3: evaluations go down",
        ),
    ],
)
def test_bad_traces_name_the_file_and_the_place(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path / "traces.csv", text)
    with pytest.raises(InputError) as err:
        read_traces(path)
    assert str(err.value).startswith(str(path))
    assert needle in str(err.value)


def test_gaps_are_best_so_far_against_the_reference(hand: pd.DataFrame) -> None:
    assert reference_costs(hand, pd.Series({"i": 100.0})).to_dict() == {"i": 100.0, "j": 201.0}
    i1 = hand[(hand.planner == "p") & (hand.instance == "i")]
    assert i1["gap_pct"].tolist() == pytest.approx([20.0, 5.0, 0.5])
    worse_later = pd.DataFrame(
        {
            "planner": ["p", "p"],
            "instance": ["i", "i"],
            "seed": [1, 1],
            "seconds": [1.0, 2.0],
            "best_cost": [101.0, 130.0],
        }
    )
    assert trace_gaps(worse_later, pd.Series({"i": 100.0}))["gap_pct"].tolist() == [1.0, 1.0]


def test_hitting_times_by_hand(hand: pd.DataFrame) -> None:
    h = hitting_times(hand, targets=(10.0, 1.0, 0.1)).set_index(
        ["planner", "instance", "seed", "target_pct"]
    )
    assert h.loc[("p", "i", 1, 10.0), "seconds"] == 2.0  # gap 5 at 2 s
    assert h.loc[("p", "i", 1, 1.0), "seconds"] == 8.0  # gap 0.5 at 8 s
    assert h.loc[("p", "i", 1, 0.1), "seconds"] == math.inf
    assert h.loc[("p", "i", 1, 1.0), "evaluations"] == 90
    assert h.loc[("p", "j", 1, 1.0), "seconds"] == 4.0  # 201 vs 200: gap 0.5
    assert h.loc[("q", "i", 1, 1.0), "seconds"] == 0.1
    assert h.loc[("q", "i", 2, 10.0), "seconds"] == 3.0  # 111 at 0.2 s is 11 %; 109 at 3 s


def test_fixed_target_ecdf_by_hand(hand: pd.DataFrame) -> None:
    e = fixed_target_ecdf(hand, targets=(10.0, 1.0))
    # p: (i,10) at 2, (i,1) at 8, (j,10) at 4, (j,1) at 4; 4 pairs of weight 1/4
    p = e[e.planner == "p"][["seconds", "share"]].values.tolist()
    assert p == [[0.0, 0.0], [2.0, 0.25], [4.0, 0.75], [8.0, 1.0]]
    # q: instance j never run; instance i has seeds 1 (both targets at 0.1 s) and 2
    # (10 % at 3 s, 1 % never): each seed weighs 1/2 of a pair of weight 1/4
    q = e[e.planner == "q"][["seconds", "share"]].values.tolist()
    assert q == [[0.0, 0.0], [0.1, 0.25], [3.0, 0.375]]


def _random_traces(
    rng: np.random.Generator,
    planners: Sequence[str] = ("a", "b"),
    instances: Sequence[str] = ("i", "j", "k"),
    seeds: Sequence[int] = (1, 2, 3),
) -> pd.DataFrame:
    rows = []
    for p in planners:
        for inst in instances:
            for s in seeds:
                if rng.random() < 0.15:
                    continue  # some runs missing altogether
                t, cost = 0.0, 100.0 * (1 + rng.uniform(0.05, 0.3))
                for _ in range(rng.integers(1, 8)):
                    t += float(rng.exponential(1.0))
                    cost = max(100.0, cost * (1 - rng.uniform(0, 0.06)))
                    rows.append((p, inst, s, t, math.nan, cost, math.nan))
    cols = ["planner", "instance", "seed", "seconds", "evaluations", "best_cost", "best_bound"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["planner", "instance", "seed", "seconds"]).reset_index(drop=True)


def _twin_share(df: pd.DataFrame, planner: str, t: float, targets: Sequence[float]) -> float:
    """The share at time ``t``, straight from the definition."""
    instances = list(dict.fromkeys(df["instance"]))
    total = 0.0
    for inst in instances:
        runs = df[(df.planner == planner) & (df.instance == inst)]
        seeds = sorted(set(runs["seed"]))
        for target in targets:
            if not seeds:
                continue
            reached = 0
            for s in seeds:
                run = runs[runs.seed == s]
                best = run["best_cost"].cummin()
                ok = run["seconds"][(100 * (best - 100.0) / 100.0 <= target + 1e-9)]
                reached += bool(len(ok)) and ok.iloc[0] <= t
            total += reached / len(seeds)
    return total / (len(instances) * len(targets))


def test_fixed_target_ecdf_equals_a_plain_twin_at_any_time() -> None:
    rng = np.random.default_rng(9)
    for _ in range(3):
        df = _random_traces(rng)
        gaps = trace_gaps(df, pd.Series({"i": 100.0, "j": 100.0, "k": 100.0}))
        e = fixed_target_ecdf(gaps, TARGET_GAPS_PCT)
        for p in ("a", "b"):
            curve = e[e.planner == p]
            for t in rng.uniform(0, 12, size=15):
                at = curve[curve.seconds <= t]["share"].iloc[-1]
                assert at == pytest.approx(_twin_share(df, p, t, TARGET_GAPS_PCT))


def test_fixed_budget_by_hand(hand: pd.DataFrame) -> None:
    fb = fixed_budget(hand, times=[0.05, 1.0, 2.5, 10.0]).set_index(["planner", "seconds"])
    # p's runs: (i,1) gaps 20 @0.5, 5 @2, 0.5 @8; (j,1) 15 @1, 0.5 @4
    assert fb.loc[("p", 0.05), ["solved", "median_gap_pct"]].tolist() == [0, math.inf]
    assert fb.loc[("p", 1.0), ["solved", "median_gap_pct", "q75_gap_pct"]].tolist() == [
        2,
        15.0,
        20.0,
    ]
    assert fb.loc[("p", 2.5), ["median_gap_pct", "q25_gap_pct", "q75_gap_pct"]].tolist() == [
        5.0,
        5.0,
        15.0,
    ]
    assert fb.loc[("p", 10.0), "median_gap_pct"] == pytest.approx(0.5)
    assert fb.loc[("q", 1.0), ["runs", "solved", "median_gap_pct"]].tolist() == [2, 2, 1.0]


def test_fixed_budget_quantiles_are_numpys_inverted_cdf() -> None:
    rng = np.random.default_rng(4)
    df = _random_traces(rng, planners=("a",), seeds=tuple(range(1, 8)))
    gaps = trace_gaps(df, pd.Series({"i": 100.0, "j": 100.0, "k": 100.0}))
    fb = fixed_budget(gaps, points=25)
    assert fb["seconds"].is_monotonic_increasing
    assert len(fb) == 25
    runs = [g for _, g in gaps.groupby(["instance", "seed"])]
    for r in fb.itertuples():
        vals = []
        for g in runs:
            before = g[g.seconds <= r.seconds]
            vals.append(before["gap_pct"].iloc[-1] if len(before) else 1e300)
        for q, got in ((0.25, r.q25_gap_pct), (0.5, r.median_gap_pct), (0.75, r.q75_gap_pct)):
            want = float(np.quantile(vals, q, method="inverted_cdf"))
            assert got == (math.inf if want == 1e300 else pytest.approx(want))


# --------------------------------------------------------------------------- IOHprofiler

_INFO_HEAD = re.compile(
    r"^suite = '(?P<suite>[^']*)', funcId = (?P<f>\d+), funcName = '(?P<name>[^']*)', "
    r"DIM = (?P<dim>\d+), maximization = 'F', algId = '(?P<alg>[^']*)'$"
)
_HEADER = '"function evaluation" "current f(x)" "best-so-far f(x)"'


def _blocks(dat: Path) -> list[list[list[float]]]:
    blocks: list[list[list[float]]] = []
    for line in dat.read_text().splitlines():
        if line.startswith('"'):
            assert line == _HEADER
            blocks.append([])
        else:
            assert re.fullmatch(r"\d+ \S+ \S+", line), line  # one space between columns
            blocks[-1].append([float(x) for x in line.split(" ")])
    return blocks


def test_ioh_files_have_the_iohprofiler_layout(tmp_path: Path, hand: pd.DataFrame) -> None:
    res = write_ioh(hand, tmp_path, suite="qkdbench-paper", instances=["i", "j"], dims={"i": 10})
    assert res["skipped"] == []
    info = tmp_path / "p" / "IOHprofiler_f1_i.info"
    lines = info.read_text().splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("%")
    m = _INFO_HEAD.match(lines[0])
    assert m
    assert m["suite"] == "qkdbench-paper"
    assert m["f"] == "1"
    assert m["name"] == "i"
    assert m["dim"] == "10"
    assert m["alg"] == "p"
    rel, *runs = [x.strip() for x in lines[2].split(",")]
    assert rel == "data_f1_i/IOHprofiler_f1_DIM10.dat"
    assert runs == ["1:90|1.0050000000e+02"]
    blocks = _blocks(info.parent / rel)
    assert blocks == [[[10, 120, 120], [40, 105, 105], [90, 100.5, 100.5]]]
    # instance j is function 2, DIM 1 by default
    j = (tmp_path / "p" / "IOHprofiler_f2_j.info").read_text().splitlines()
    head = _INFO_HEAD.match(j[0])
    assert head is not None
    assert head["dim"] == "1"
    # q has two runs of i: two blocks, and one summary entry per seed
    q = (tmp_path / "q" / "IOHprofiler_f1_i.info").read_text().splitlines()
    assert [x.strip() for x in q[2].split(",")][1:] == [
        "1:1|1.0100000000e+02",
        "2:30|1.0900000000e+02",
    ]
    assert _blocks(tmp_path / "q" / "data_f1_i" / "IOHprofiler_f1_DIM10.dat") == [
        [[1, 101, 101]],
        [[2, 111, 111], [30, 109, 109]],
    ]
    assert sorted(Path(f).name for f in res["files"]) == sorted(
        [
            "IOHprofiler_f1_i.info",
            "IOHprofiler_f1_DIM10.dat",
            "IOHprofiler_f2_j.info",
            "IOHprofiler_f2_DIM1.dat",
            "IOHprofiler_f1_i.info",
            "IOHprofiler_f1_DIM10.dat",
        ]
    )


def test_ioh_runs_without_evaluations_are_skipped_or_written_in_milliseconds(
    tmp_path: Path,
) -> None:
    text = (
        "planner,instance,seed,seconds,best_cost\n"
        "p,i,1,0.0004,12\np,i,1,0.0011,11\np,i,1,0.0012,10\n"
    )
    traces = read_traces(_write(tmp_path / "t.csv", text))
    res = write_ioh(traces, tmp_path / "e", suite="s")
    assert res == {"files": [], "skipped": ["p/i/1"]}
    res = write_ioh(traces, tmp_path / "m", suite="s", budget="milliseconds")
    dat = tmp_path / "m" / "p" / "data_f1_i" / "IOHprofiler_f1_DIM1.dat"
    # 0.4 ms -> 1; 1.1 and 1.2 ms -> 2 both, the later (better) one kept
    assert _blocks(dat) == [[[1, 12, 12], [2, 10, 10]]]
    assert "ms" in (tmp_path / "m" / "p" / "IOHprofiler_f1_i.info").read_text().splitlines()[1]
    with pytest.raises(InputError):
        write_ioh(traces, tmp_path / "x", suite="s", budget="hours")
