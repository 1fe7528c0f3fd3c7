"""Shared fixtures: small hand-made instances, and the command line run as users run it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from qkdbench.model import Demand, Instance, Link, Params, Request
from tests.fixture_types import CliResult, OneLineError, RunCli, RunMain, RunPython

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def two_node() -> Instance:
    """One 200 km link (m = 2 segments), one request with P in {0, 1, 2}."""
    return Instance(
        nodes=(1, 2),
        links=(Link(1, 2, 200.0),),
        requests=(Request("f0", 1, 2, Demand((0.0, 1.0, 2.0), (0.2, 0.5, 0.3))),),
        name="two-node",
    )


@pytest.fixture
def triangle() -> Instance:
    """A triangle with a short detour, hop cost 10 and small capacities."""
    return Instance(
        nodes=("a", "b", "c"),
        links=(Link("a", "b", 100.0), Link("b", "c", 100.0), Link("a", "c", 250.0, W_qkd=4)),
        requests=(
            Request("f0", "a", "c", Demand.uniform(2)),
            Request("f1", "c", "b", Demand((0.5, 3.0), (0.75, 0.25))),
        ),
        params=Params(hop_cost=10.0, W_qkd=6, W_kml=2),
        name="triangle",
    )


# --------------------------------------------------------------------------- command line


def _fresh_python(
    argv: list[str], cwd: Path | None, env: Mapping[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGV`` in a fresh interpreter that imports this checkout's qkdbench."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
    )


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """``run_cli(*args, cwd=None, env=None, check=False)``: ``qkdbench ARGS`` as users run it.

    A fresh interpreter (``python -m qkdbench.cli``, arguments through ``str``) with this
    checkout first on ``PYTHONPATH`` and ``env`` added to the environment; its standard
    output and error as text. ``check`` asserts exit status 0.
    """

    def run(
        *args: object,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = False,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        res = _fresh_python(["-m", "qkdbench.cli", *map(str, args)], cwd, env, timeout)
        if check:
            assert res.returncode == 0, res.stderr
        return res

    return run


@pytest.fixture(scope="session")
def run_python() -> RunPython:
    """``run_python(code, *args, cwd=None, env=None)``: ``python -c CODE ARGS``, as ``run_cli``.

    For the command line under a patched import (a missing extra, a failing solver).
    """

    def run(
        code: str,
        *args: object,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        return _fresh_python(["-c", code, *map(str, args)], cwd, env, timeout)

    return run


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> RunMain:
    """``code, out, err = run_main(*args)``: ``qkdbench.cli.main`` in this process."""
    from qkdbench.cli import main

    def run(*args: object) -> CliResult:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def one_line_error() -> OneLineError:
    """``one_line_error(res, *needles, status=2)``: bad input as the command line reports it.

    Exit status ``status``, exactly one line on standard error, no traceback, and every
    needle in that line. ``res`` is a run of ``run_cli``, ``run_python`` or ``run_main``.
    """

    def check(
        res: subprocess.CompletedProcess[str] | CliResult, *needles: str, status: int = 2
    ) -> None:
        assert res.returncode == status, (res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, res.stderr
        assert "Traceback" not in res.stderr, res.stderr
        for needle in needles:
            assert needle in lines[0], lines[0]

    return check
