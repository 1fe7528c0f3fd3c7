"""Fixtures of the benchmark-tracking tests: the two scripts of ``benchmarks/`` as modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _script(name: str) -> ModuleType:
    """Load ``benchmarks/<name>.py`` from its file (a script folder, not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"qkdbench_benchmarks_{name}", BENCH / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while classes are built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ts() -> ModuleType:
    """``benchmarks/tracking_stats.py``: the statistics and the comparison of two revisions."""
    return _script("tracking_stats")


@pytest.fixture(scope="session")
def br() -> ModuleType:
    """``benchmarks/baseline_ratios.py``: the stored-ratio check."""
    return _script("baseline_ratios")
