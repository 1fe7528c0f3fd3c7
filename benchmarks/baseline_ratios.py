"""A committed baseline that transfers: benchmark times divided by a calibration time.

``benchmarks/baseline_ratios.json`` stores, for a few benchmarks, the ratio of the
benchmark's fastest round to the calibration benchmark's fastest round
(``bench_calibration.py``, fixed pure-Python work) measured in the same pytest
session. Machine speed cancels in the ratio; absolute times do not. The fastest round
(pytest-benchmark's ``min``), not the median, is used because under load a median
includes time spent waiting for a core, the more so the longer a call is, so medians
of a 10 us call and a 3 ms call move apart when the machine gets busy; the fastest of
many rounds of a call of a few milliseconds or less ran without interruption.

Usage (from a checkout, with the package importable)::

    python benchmarks/baseline_ratios.py check             # run the benchmarks, compare
    python benchmarks/baseline_ratios.py check --results run1.json run2.json
    python benchmarks/baseline_ratios.py save              # after a deliberate change

``check`` runs the stored benchmarks and the calibration ``--runs`` times (default
3; ``NUMBA_NUM_THREADS=1``), takes per benchmark the median over runs of the in-run
ratio, and fails (exit 1) if any is more than ``tolerance`` times its stored value. It is a coarse,
cross-machine alarm; a merge is gated by ``compare_revisions.py`` on one machine.
Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["in_run_ratios", "combine_runs", "check_ratios", "main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STORE = HERE / "baseline_ratios.json"
CALIBRATION = "benchmarks/bench_calibration.py::test_calibration_python_loop"
DEFAULT_BENCHMARKS = [
    "benchmarks/bench_evaluator.py::test_kernel_single_plan",
    "benchmarks/bench_evaluator.py::test_evaluate_single_plan_with_breakdown",
    "benchmarks/bench_evaluator.py::test_kernel_batch_1000",
]  # not the plain-Python twin: 16 ms a call, under load even its fastest round waits
DEFAULT_TOLERANCE = 1.5
#: The kernels run on one thread: a ratio must not depend on the number of cores, and a
#: parallel kernel's threads waiting for a busy core make its time meaningless.
THREADS = 1


class InputError(Exception):
    """Bad input: one line, exit status 2."""


def in_run_ratios(run: Mapping[str, Any], calibration: str = CALIBRATION) -> dict[str, float]:
    """Fastest round of every benchmark of one run divided by the calibration's.

    Parameters
    ----------
    run : mapping
        A parsed ``--benchmark-json`` result.
    calibration : str
        ``fullname`` of the calibration benchmark.

    Returns
    -------
    dict
        ``fullname`` -> ratio (the calibration itself is left out).

    Raises
    ------
    ValueError
        If the run is malformed or lacks the calibration.

    Examples
    --------
    >>> run = {"benchmarks": [{"fullname": "c", "stats": {"min": 2.0}},
    ...                       {"fullname": "b", "stats": {"min": 1.0}}]}
    >>> in_run_ratios(run, "c")
    {'b': 0.5}
    """
    try:
        med = {str(b["fullname"]): float(b["stats"]["min"]) for b in run["benchmarks"]}
    except (KeyError, TypeError, ValueError):
        raise ValueError("not a pytest-benchmark JSON result") from None
    if calibration not in med:
        raise ValueError(f"the run lacks the calibration benchmark {calibration}")
    cal = med.pop(calibration)
    if not cal > 0:
        raise ValueError("the calibration time is not positive")
    return {k: v / cal for k, v in med.items()}


def combine_runs(
    runs: Sequence[Mapping[str, Any]], calibration: str = CALIBRATION
) -> dict[str, float]:
    """Per benchmark, the median over runs of the in-run ratio.

    Parameters
    ----------
    runs : sequence of mapping
        Parsed ``--benchmark-json`` results.
    calibration : str
        ``fullname`` of the calibration benchmark.

    Returns
    -------
    dict
        ``fullname`` -> median ratio over the runs that have the benchmark.

    Examples
    --------
    >>> r = lambda c, b: {"benchmarks": [{"fullname": "c", "stats": {"min": c}},
    ...                                  {"fullname": "b", "stats": {"min": b}}]}
    >>> combine_runs([r(1.0, 2.0), r(2.0, 2.0), r(1.0, 3.0)], "c")
    {'b': 2.0}
    """
    per: dict[str, list[float]] = {}
    for run in runs:
        for k, v in in_run_ratios(run, calibration).items():
            per.setdefault(k, []).append(v)
    return {k: float(np.median(v)) for k, v in sorted(per.items())}


def check_ratios(
    stored: Mapping[str, float], measured: Mapping[str, float], tolerance: float
) -> tuple[list[str], bool]:
    """Report lines and whether every stored ratio holds within ``tolerance``.

    A benchmark fails when ``measured / stored > tolerance`` (slower, relative to the
    calibration) or when it was not measured; ``measured / stored < 1 / tolerance``
    (faster) is reported as a reason to save a new baseline, not a failure.

    Parameters
    ----------
    stored, measured : mapping
        ``fullname`` -> ratio to the calibration.
    tolerance : float
        Allowed factor, > 1.

    Returns
    -------
    lines : list of str
    ok : bool

    Examples
    --------
    >>> lines, ok = check_ratios({"a": 1.0, "b": 2.0}, {"a": 1.2, "b": 4.0}, 1.5)
    >>> ok, [ln.split()[-1] for ln in lines]
    (False, ['ok', 'SLOWER'])
    """
    if not tolerance > 1.0:
        raise ValueError(f"tolerance {tolerance} must be above 1")
    lines, ok = [], True
    w = max([len(n.split("::")[-1]) for n in stored] + [9])
    for name, ref in stored.items():
        short = name.split("::")[-1]
        if name not in measured:
            lines.append(f"{short:<{w}}  not measured  MISSING")
            ok = False
            continue
        rel = measured[name] / ref
        verdict = "ok"
        if rel > tolerance:
            verdict, ok = "SLOWER", False
        elif rel < 1.0 / tolerance:
            verdict = "faster (save a new baseline)"
        lines.append(
            f"{short:<{w}}  stored {ref:9.4g}  now {measured[name]:9.4g}  "
            f"now/stored {rel:5.2f}  {verdict}"
        )
    return lines, ok


def _run(names: Sequence[str], runs: int, log: Callable[[str], object]) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            f = Path(tmp) / f"run{i}.json"
            log(f"run {i + 1}/{runs}")
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    *names,
                    CALIBRATION,
                    "-q",
                    "--no-header",
                    "-p",
                    "no:cacheprovider",
                    "--benchmark-enable",
                    "--benchmark-only",
                    f"--benchmark-json={f}",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=dict(os.environ, NUMBA_NUM_THREADS=str(THREADS)),
            )
            if proc.returncode != 0:
                tail = (proc.stdout.strip() or proc.stderr.strip()).splitlines()[-1:]
                raise InputError(
                    f"the benchmarks did not run cleanly (pytest status {proc.returncode}): {tail}"
                )
            out.append(json.loads(f.read_text()))
    return out


def _load(paths: Sequence[Path]) -> list[dict]:
    runs = []
    for p in paths:
        try:
            runs.append(json.loads(Path(p).read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{p}: not a readable JSON result ({e})") from None
    return runs


def _read_store(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        ratios = {str(k): float(v) for k, v in data["ratios"].items()}
        tol = float(data.get("tolerance", DEFAULT_TOLERANCE))
        cal = str(data.get("calibration", CALIBRATION))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable baseline ({e})") from None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: no 'ratios' mapping of benchmark -> number") from None
    if not ratios or any(not v > 0 for v in ratios.values()):
        raise InputError(f"{path}: 'ratios' must hold positive numbers")
    return {"ratios": ratios, "tolerance": tol, "calibration": cal}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``check`` or ``save`` the stored ratios; the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 within tolerance (or saved), 1 a benchmark slower than tolerated, 2 bad input.
    """
    p = _Parser(
        prog="baseline_ratios.py",
        description="Check (or save) benchmark times relative to the calibration.",
    )
    p.add_argument("action", choices=["check", "save"])
    p.add_argument(
        "--results",
        nargs="+",
        type=Path,
        help="use these --benchmark-json results instead of running",
    )
    p.add_argument("--runs", type=int, default=3, help="pytest sessions (default 3)")
    p.add_argument("--tolerance", type=float, help="allowed factor (default: the stored one)")
    p.add_argument("--store", type=Path, default=STORE, help=f"default {STORE.name}")
    a = p.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        if a.runs < 1:
            raise InputError(f"--runs {a.runs}: at least 1")
        if a.action == "check":
            store = _read_store(a.store)
            names = list(store["ratios"])
            cal = store["calibration"]
        else:
            names, cal = DEFAULT_BENCHMARKS, CALIBRATION
        runs = _load(a.results) if a.results else _run(names, a.runs, log)
        try:
            measured = combine_runs(runs, cal)
        except ValueError as e:
            raise InputError(str(e)) from None
        if a.action == "save":
            missing = [n for n in names if n not in measured]
            if missing:
                raise InputError(f"not measured: {missing}")
            tol = a.tolerance or DEFAULT_TOLERANCE
            a.store.write_text(
                json.dumps(
                    {
                        "calibration": cal,
                        "tolerance": tol,
                        "runs": len(runs),
                        "numba_threads": THREADS,
                        "made_on": {
                            "cpu": platform.processor() or platform.machine(),
                            "python": platform.python_version(),
                            "system": platform.system(),
                        },
                        "ratios": {n: float(f"{measured[n]:.4g}") for n in names},
                    },
                    indent=1,
                )
                + "\n"
            )
            print(f"saved {len(names)} ratios to {a.store}")
            return 0
        tol = a.tolerance or store["tolerance"]
        try:
            lines, ok = check_ratios(store["ratios"], measured, tol)
        except ValueError as e:
            raise InputError(str(e)) from None
        print(
            f"fastest round / calibration's fastest round, median over {len(runs)} "
            f"run(s); tolerance x{tol:g}"
        )
        print("\n".join(lines))
        print("OK" if ok else "FAIL")
        return 0 if ok else 1
    except InputError as e:
        print(f"baseline_ratios.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
