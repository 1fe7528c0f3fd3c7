"""The stored ratios still describe the benchmarks.

``benchmarks/baseline_ratios.json`` holds, for a few benchmarks, their time divided
by the calibration benchmark's (``docs/benchmarks.md``, "A stored baseline that
transfers"; ``python benchmarks/baseline_ratios.py check``). A benchmark renamed or removed
since the ratios were saved would make that check fail only when someone runs it;
this test, part of the default test run, fails at once instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "benchmarks" / "baseline_ratios.json"


def _collected_benchmarks() -> set[str]:
    """Node ids of the benchmarks as a timing run collects them (they may be parametrised
    differently in correctness-only mode), in a child process."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "--benchmark-enable",
            "-p",
            "no:cacheprovider",
            "benchmarks",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line.strip() for line in out.stdout.splitlines() if "::" in line}


def test_stored_ratios_name_collected_benchmarks() -> None:
    data = json.loads(STORE.read_text())
    named = set(data["ratios"]) | {data["calibration"]}
    gone = sorted(named - _collected_benchmarks())
    assert not gone, (
        "benchmarks in baseline_ratios.json but no longer collected (renamed "
        f"or removed; run 'python benchmarks/baseline_ratios.py save'): {gone}"
    )
