"""Benchmark tracking: the statistics on synthetic samples, the comparison and the
stored-ratio check on small JSON results, both scripts as users run them.

Nothing here installs an environment or times anything: samples are drawn from
known distributions (seeded), so whether a verdict is right is known in advance.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"


def _noisy(rng: np.random.Generator, centre: float, n: int, sigma: float) -> NDArray[np.float64]:
    """``n`` timings around ``centre`` with log-normal noise of relative size ``sigma``."""
    return centre * np.exp(rng.normal(0.0, sigma, n))


# --- statistics ---------------------------------------------------------------------


def test_mann_whitney_exact_values(ts: ModuleType) -> None:
    # complete separation, 4 against 4: one arrangement of C(8, 4) = 70
    assert ts.mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(1 / 70)
    assert ts.mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8], "less") == pytest.approx(1.0)
    # one swap: U = 15 of 16; P(U >= 15) = 2 / 70
    assert ts.mann_whitney_p([1, 2, 3, 5], [4, 6, 7, 8]) == pytest.approx(2 / 70)


def test_ratio_and_bootstrap_interval(ts: ModuleType) -> None:
    rng = np.random.default_rng(1)
    base = _noisy(rng, 1.0, 8, 0.02)
    head = _noisy(rng, 1.5, 8, 0.02)
    r = ts.ratio_of_medians(base, head)
    assert r == pytest.approx(np.median(head) / np.median(base))
    lo, hi = ts.bootstrap_ratio_ci(base, head, seed=3)
    assert lo <= r <= hi
    assert lo > 1.4
    assert hi < 1.6
    assert (lo, hi) == ts.bootstrap_ratio_ci(base, head, seed=3)  # same seed, same CI
    # a wider level gives a wider interval
    lo99, hi99 = ts.bootstrap_ratio_ci(base, head, level=0.99, seed=3)
    assert lo99 <= lo
    assert hi <= hi99


@pytest.mark.parametrize("bad", [[], [1.0, 0.0], [1.0, -2.0], [1.0, float("nan")]])
def test_bad_samples_are_refused(bad: list[float], ts: ModuleType) -> None:
    with pytest.raises(ValueError, match="head"):
        ts.compare_timings("b", [1.0, 1.0], bad)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"threshold": 1.0}, "threshold 1.0 must be > 1"),
        ({"alpha": 0.0}, r"alpha 0.0 is not in \(0, 1\)"),
        ({"level": 1.0}, r"confidence level 1.0 is not in \(0, 1\)"),
    ],
)
def test_bad_settings_are_refused(kw: dict[str, float], message: str, ts: ModuleType) -> None:
    with pytest.raises(ValueError, match=message):
        ts.compare_timings("b", [1.0, 1.1, 1.2, 1.0], [1.0, 1.1, 1.2, 1.0], **kw)


def test_doubled_work_is_a_regression_with_its_ratio(ts: ModuleType) -> None:
    rng = np.random.default_rng(2)
    v = ts.compare_timings("k", _noisy(rng, 1e-3, 5, 0.05), _noisy(rng, 2e-3, 5, 0.05))
    assert v.verdict == "regression"
    assert v.ci_low > 1.0
    assert v.p_slower < 0.05
    assert v.ci_low <= v.ratio <= v.ci_high
    assert 1.7 < v.ratio < 2.3


def test_improvement_is_not_a_regression(ts: ModuleType) -> None:
    rng = np.random.default_rng(3)
    v = ts.compare_timings("k", _noisy(rng, 2.0, 5, 0.05), _noisy(rng, 1.0, 5, 0.05))
    assert v.verdict == "improvement"
    assert v.ratio < 0.6


def test_significant_but_below_threshold_is_not_flagged(ts: ModuleType) -> None:
    rng = np.random.default_rng(4)
    base, head = _noisy(rng, 1.0, 6, 0.005), _noisy(rng, 1.05, 6, 0.005)
    v = ts.compare_timings("k", base, head)
    assert v.p_slower < 0.01
    assert v.ci_low > 1.0  # a real 5% slowdown ...
    assert v.verdict == "same"  # ... below the 10% threshold
    assert ts.compare_timings("k", base, head, threshold=1.04).verdict == "regression"


def test_outlier_run_alone_is_not_a_regression(ts: ModuleType) -> None:
    # one head run hit by load (3x), the others as base: the median ignores it
    base = [1.00, 1.01, 0.99, 1.00, 1.02]
    head = [1.00, 3.00, 1.01, 0.99, 1.00]
    v = ts.compare_timings("k", base, head)
    assert v.verdict == "same"
    assert v.ratio == pytest.approx(1.0)


def test_two_runs_each_cannot_be_significant(ts: ModuleType) -> None:
    v = ts.compare_timings("k", [1.0, 1.0], [5.0, 5.0])
    assert v.verdict == "too few runs"  # min one-sided p = 1 / C(4, 2) = 1/6


def test_false_alarm_rate_on_identical_distributions(ts: ModuleType) -> None:
    """Same distribution on both sides, 10% noise: the threshold alone would fire
    often; threshold + CI + rank test stays under alpha."""
    rng = np.random.default_rng(5)
    n_trials = 200
    flagged = threshold_only = 0
    for i in range(n_trials):
        base, head = _noisy(rng, 1.0, 5, 0.10), _noisy(rng, 1.0, 5, 0.10)
        v = ts.compare_timings("k", base, head, seed=i)
        flagged += v.verdict == "regression"
        threshold_only += v.ratio >= 1.10
    assert flagged / n_trials <= 0.05
    assert threshold_only > 3 * max(flagged, 1)


def test_power_against_a_20_percent_slowdown(ts: ModuleType) -> None:
    rng = np.random.default_rng(6)
    hits = sum(
        ts.compare_timings(
            "k", _noisy(rng, 1.0, 5, 0.03), _noisy(rng, 1.2, 5, 0.03), seed=i
        ).verdict
        == "regression"
        for i in range(100)
    )
    assert hits >= 95


# --- quality ------------------------------------------------------------------------


def test_quality_fields_leave_out_timings(ts: ModuleType) -> None:
    info = {
        "instance": "usnet-r30-k10-s1",
        "cost": 62449118.18181818,
        "gap_pct": 0.0,
        "seconds": 0.1,
        "warm_s": 0.2,
        "build_s": 0.5,
        "solve_s": 5.7,
        "runtime_s": 6.4,
        "build_share": 0.1,
        "pairs": 1315,
        "status": "optimal",
        "terms": 2222,
    }
    assert ts.quality_fields(info) == {
        "instance": "usnet-r30-k10-s1",
        "cost": 62449118.18181818,
        "gap_pct": 0.0,
        "pairs": 1315,
        "status": "optimal",
        "terms": 2222,
    }


def test_a_last_bit_cost_change_is_a_behaviour_change(ts: ModuleType) -> None:
    base = [{"cost": 62449118.18181818, "seconds": 0.1}] * 3
    head = [{"cost": 62449118.18181819, "seconds": 0.5}] * 3
    changes, unstable = ts.compare_quality("q", base, head)
    assert [(c.field, c.base, c.head) for c in changes] == [
        ("cost", (62449118.18181818,), (62449118.18181819,))
    ]
    assert unstable == []
    assert ts.compare_quality("q", base, [{"cost": 62449118.18181818, "seconds": 9}]) == ([], [])


def test_quality_field_appearing_or_varying_is_reported(ts: ModuleType) -> None:
    changes, unstable = ts.compare_quality(
        "q", [{"cost": 1.0}, {"cost": 2.0}], [{"cost": 1.0, "status": "optimal"}] * 2
    )
    assert {c.field for c in changes} == {"cost", "status"}
    assert [(u.field, u.base) for u in unstable] == [("cost", (1.0, 2.0))]


# --- whole comparisons on pytest-benchmark-shaped results ----------------------------


def _run(times: dict[str, float], extra: dict[str, dict] | None = None) -> dict:
    extra = extra or {}
    return {
        "benchmarks": [
            {
                "fullname": f"benchmarks/bench_x.py::{n}",
                "name": n,
                "stats": {"median": t, "mean": t},
                "extra_info": extra.get(n, {}),
            }
            for n, t in times.items()
        ]
    }


def _runs(
    rng: np.random.Generator,
    centres: dict[str, float],
    n: int = 5,
    sigma: float = 0.03,
    extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    return [
        _run({k: float(_noisy(rng, c, 1, sigma)[0]) for k, c in centres.items()}, extra)
        for _ in range(n)
    ]


QUALITY = {"test_quality[coqbn]": {"cost": 64030863.63636364, "gap_pct": 2.53, "seconds": 0.002}}
CENTRES = {"test_kernel": 1e-3, "test_twin": 16e-3, "test_quality[coqbn]": 3e-3}


def test_compare_runs_unchanged_slowed_and_changed_cost(ts: ModuleType) -> None:
    rng = np.random.default_rng(7)
    base = _runs(rng, CENTRES, extra=QUALITY)
    same = ts.compare_runs(base, _runs(rng, CENTRES, extra=QUALITY))
    assert [t.verdict for t in same.timings] == ["same"] * 3
    assert same.quality == ()
    assert ts.exit_status(same) == 0

    slow = ts.compare_runs(base, _runs(rng, dict(CENTRES, test_kernel=2e-3), extra=QUALITY))
    verdicts = {t.name.split("::")[1]: t.verdict for t in slow.timings}
    assert verdicts == {
        "test_kernel": "regression",
        "test_twin": "same",
        "test_quality[coqbn]": "same",
    }
    assert ts.exit_status(slow) == 1
    assert "REGRESSION" in ts.format_report(slow)

    changed = copy.deepcopy(QUALITY)
    changed["test_quality[coqbn]"]["cost"] = 64131000.0
    behaviour = ts.compare_runs(base, _runs(rng, CENTRES, extra=changed))
    assert [t.verdict for t in behaviour.timings] == ["same"] * 3
    assert [(q.field, q.head) for q in behaviour.quality] == [("cost", (64131000.0,))]
    assert ts.exit_status(behaviour) == 1
    assert "BEHAVIOUR CHANGED" in ts.format_report(behaviour)


def test_benchmarks_in_one_revision_only_are_listed_not_compared(ts: ModuleType) -> None:
    rng = np.random.default_rng(8)
    cmp = ts.compare_runs(_runs(rng, {"a": 1.0, "gone": 1.0}), _runs(rng, {"a": 1.0, "new": 1.0}))
    assert [t.name for t in cmp.timings] == ["benchmarks/bench_x.py::a"]
    assert cmp.only_base == ("benchmarks/bench_x.py::gone",)
    assert cmp.only_head == ("benchmarks/bench_x.py::new",)


def test_malformed_results_are_refused(ts: ModuleType) -> None:
    with pytest.raises(ValueError, match="run 0"):
        ts.collect_runs([{"benchmarks": [{"fullname": "a", "stats": {}}]}])
    with pytest.raises(ValueError, match="not a pytest-benchmark"):
        ts.collect_runs([{"results": []}])


# --- the scripts, as users run them --------------------------------------------------


def _write(folder: Path, role: str, runs: list[dict]) -> None:
    folder.mkdir(exist_ok=True)
    for i, r in enumerate(runs):
        (folder / f"{role}-{i:02d}.json").write_text(json.dumps(r))


def _cli(script: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_compare_cli_on_saved_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    base = _runs(rng, CENTRES, extra=QUALITY)
    cases = {
        "same": (_runs(rng, CENTRES, extra=QUALITY), 0),
        "slow": (_runs(rng, dict(CENTRES, test_twin=32e-3), extra=QUALITY), 1),
    }
    changed = copy.deepcopy(QUALITY)
    changed["test_quality[coqbn]"]["gap_pct"] = 2.6
    cases["cost"] = (_runs(rng, CENTRES, extra=changed), 1)
    for label, (head, status) in cases.items():
        d = tmp_path / label
        _write(d, "base", base)
        _write(d, "head", head)
        out = _cli("compare_revisions.py", "--from-results", str(d), "--json", str(d / "cmp.json"))
        assert out.returncode == status, (label, out.stdout, out.stderr)
        assert out.stdout.strip().splitlines()[-1].endswith("OK" if status == 0 else "FAIL")
        saved = json.loads((d / "cmp.json").read_text())
        assert len(saved["timings"]) == 3
    assert "test_twin" in out.stdout
    assert "gap_pct: base 2.53 -> head 2.6" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-results", "no-such-dir"], "not a directory"),
        (["--from-results", "EMPTY"], "needs base-*.json"),
        (["--from-results", "BROKEN"], "not a JSON result"),
        (["--rounds", "1"], "--rounds 1"),
        (["--threshold", "0.9"], "--threshold 0.9"),
        (["--base", "no-such-revision", "--repo", "REPO"], "'no-such-revision' is not a commit"),
        (["--repo", "NOTREPO"], "not inside a git work tree"),
        (["--rounds", "many"], "invalid int value"),
    ],
)
def test_compare_cli_bad_input_is_one_line_status_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "BROKEN").mkdir()
    (tmp_path / "BROKEN" / "base-00.json").write_text("{not json")
    (tmp_path / "BROKEN" / "head-00.json").write_text("{}")
    (tmp_path / "NOTREPO").mkdir()
    repo = tmp_path / "REPO"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    out = _cli(
        "compare_revisions.py",
        *[str(tmp_path / a) if a.isupper() else a for a in args],
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_stored_ratios_check(tmp_path: Path, br: ModuleType) -> None:
    cal = br.CALIBRATION
    run = {
        "benchmarks": [
            {"fullname": cal, "stats": {"min": 4e-3}},
            {"fullname": "b::kernel", "stats": {"min": 1e-3}},
            {"fullname": "b::twin", "stats": {"min": 16e-3}},
        ]
    }
    assert br.in_run_ratios(run) == {"b::kernel": 0.25, "b::twin": 4.0}
    # the whole machine twice as slow: the ratios do not move
    slow_machine = copy.deepcopy(run)
    for b in slow_machine["benchmarks"]:
        b["stats"]["min"] *= 2
    assert br.combine_runs([run, slow_machine, run]) == {"b::kernel": 0.25, "b::twin": 4.0}
    store = tmp_path / "store.json"
    store.write_text(
        json.dumps(
            {"calibration": cal, "tolerance": 1.5, "ratios": {"b::kernel": 0.25, "b::twin": 4.0}}
        )
    )
    f_ok = tmp_path / "ok.json"
    f_ok.write_text(json.dumps(slow_machine))
    out = _cli("baseline_ratios.py", "check", "--store", str(store), "--results", str(f_ok))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("OK"), out.stdout + out.stderr
    # only the kernel twice as slow relative to the calibration: fails, on that line
    slowed = copy.deepcopy(run)
    slowed["benchmarks"][1]["stats"]["min"] *= 2
    f_bad = tmp_path / "bad.json"
    f_bad.write_text(json.dumps(slowed))
    out = _cli("baseline_ratios.py", "check", "--store", str(store), "--results", str(f_bad))
    assert out.returncode == 1
    assert out.stdout.strip().endswith("FAIL")
    assert [ln.split()[0] for ln in out.stdout.splitlines() if "SLOWER" in ln] == ["kernel"]
    # a generous enough tolerance lets it through
    out = _cli(
        "baseline_ratios.py",
        "check",
        "--store",
        str(store),
        "--results",
        str(f_bad),
        "--tolerance",
        "2.5",
    )
    assert out.returncode == 0
    # bad input
    out = _cli(
        "baseline_ratios.py",
        "check",
        "--store",
        str(tmp_path / "none.json"),
        "--results",
        str(f_ok),
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    no_cal = {"benchmarks": run["benchmarks"][1:]}
    f_nc = tmp_path / "nocal.json"
    f_nc.write_text(json.dumps(no_cal))
    out = _cli("baseline_ratios.py", "check", "--store", str(store), "--results", str(f_nc))
    assert out.returncode == 2
    assert "lacks the calibration" in out.stderr


def test_committed_ratios_are_well_formed(br: ModuleType) -> None:
    data = json.loads((BENCH / "baseline_ratios.json").read_text())
    assert data["calibration"] == br.CALIBRATION
    assert set(data["ratios"]) == set(br.DEFAULT_BENCHMARKS)
    assert all(v > 0 for v in data["ratios"].values())
    assert data["tolerance"] > 1


def test_end_to_end_on_a_real_pytest_benchmark_result(tmp_path: Path, ts: ModuleType) -> None:
    """One real pytest-benchmark run (the calibration, a fraction of a second): its JSON
    goes through the same comparison; the head copies with doubled medians are flagged,
    the unchanged copies are not, the recorded work counter is compared exactly."""
    out = tmp_path / "real.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(BENCH / "bench_calibration.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            "--benchmark-enable",
            "--benchmark-max-time=0.05",
            f"--benchmark-json={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        # a plain run, not a pytest-xdist worker's (pytest-benchmark skips timing in those)
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
    )
    assert proc.returncode == 0, proc.stdout[-1000:]
    real = json.loads(out.read_text())
    rng = np.random.default_rng(10)

    def copies(factor: float) -> list[dict[str, Any]]:
        runs = []
        for _ in range(5):
            r = copy.deepcopy(real)
            r["benchmarks"][0]["stats"]["median"] *= factor * float(np.exp(rng.normal(0, 0.02)))
            runs.append(r)
        return runs

    base = copies(1.0)
    assert ts.exit_status(ts.compare_runs(base, copies(1.0))) == 0
    slow = ts.compare_runs(base, copies(2.0))
    assert [t.verdict for t in slow.timings] == ["regression"]
    assert slow.timings[0].name.endswith("test_calibration_python_loop")
    steps = copies(1.0)
    steps[0]["benchmarks"][0]["extra_info"]["steps"] += 1
    assert [q.field for q in ts.compare_runs(base, steps).quality] == ["steps"]
