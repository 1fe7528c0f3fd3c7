"""The saved benchmark baseline still describes the benchmarks.

``.benchmarks/baseline/<machine>/NNNN_baseline.json`` is what
``--benchmark-compare='*/0001_baseline' --benchmark-compare-fail=mean:25%`` compares
against (README, "Benchmark tracking"). A benchmark renamed or removed since the
baseline was saved would silently drop out of that comparison; this check fails
instead. A benchmark added since is reported (saved in the next baseline), not failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".benchmarks" / "baseline"


def _baseline() -> dict:
    files = sorted(BASELINE.glob("*/[0-9][0-9][0-9][0-9]_baseline.json"),
                   key=lambda p: p.name)
    if not files:
        pytest.fail(f"no saved baseline under {BASELINE} (see README, Benchmark tracking)")
    return json.loads(files[-1].read_text())


def _collected_benchmarks() -> set[str]:
    """Node ids of the benchmarks as a timing run collects them (they may be parametrised
    differently in correctness-only mode), in a child process."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "--benchmark-enable", "-p", "no:cacheprovider", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line.strip() for line in out.stdout.splitlines() if "::" in line}


def test_baseline_covers_the_current_benchmarks():
    data = _baseline()
    saved = {b["fullname"] for b in data["benchmarks"]}
    assert saved, "the baseline holds no benchmark"
    for b in data["benchmarks"]:
        assert b["stats"]["mean"] > 0 and b["stats"]["rounds"] >= 1
    current = {n for n in _collected_benchmarks() if "bench_tracking.py" not in n}
    gone = sorted(saved - current)
    assert not gone, ("benchmarks in the baseline but no longer collected (renamed or "
                      f"removed; save a new baseline): {gone}")
    new = sorted(current - saved)
    if new:
        warnings.warn(f"benchmarks not in the baseline yet (save a new one): {new}",
                      stacklevel=1)
